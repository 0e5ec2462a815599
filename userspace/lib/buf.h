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

/* A CURLOPT_WRITEFUNCTION appending to the skiff_buf in CURLOPT_WRITEDATA. */
size_t skiff_buf_curl_write(char *p, size_t size, size_t n, void *arg);

#endif /* SKIFF_BUF_H */
