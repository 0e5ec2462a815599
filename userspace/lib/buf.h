/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A growing byte buffer, always NUL-terminated: what an HTTP answer read
 * through libcurl is collected into.
 */

#ifndef SKIFF_BUF_H
#define SKIFF_BUF_H

#include <stddef.h>

struct skiff_buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Appends @n bytes of @p: 0 or -ENOMEM. */
int skiff_buf_add(struct skiff_buf *b, const void *p, size_t n);

/*
 * Appends the whole file @path (a manifest, a kubeconfig, a PEM file):
 * 0, -EFBIG once it holds more than @max bytes, or -errno. @b->data is
 * set (to "" for an empty file) when it succeeds; the caller frees it.
 */
int skiff_buf_read_file(struct skiff_buf *b, const char *path, size_t max);

/* A CURLOPT_WRITEFUNCTION appending to the skiff_buf in CURLOPT_WRITEDATA. */
size_t skiff_buf_curl_write(char *p, size_t size, size_t n, void *arg);

#endif /* SKIFF_BUF_H */
