// SPDX-License-Identifier: GPL-2.0
/*
 * A growing byte buffer (buf.h).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

int skiff_buf_add(struct skiff_buf *b, const void *p, size_t n)
{
	char *grown;
	size_t cap;

	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		grown = realloc(b->data, cap);
		if (!grown)
			return -ENOMEM;
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int skiff_buf_read_file(struct skiff_buf *b, const char *path, size_t max)
{
	char chunk[65536];
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (b->len + n > max) {
			err = -EFBIG;
			break;
		}
		if (skiff_buf_add(b, chunk, n)) {
			err = -ENOMEM;
			break;
		}
	}
	if (n < 0)
		err = -errno;
	close(fd);
	if (!err && !b->data && skiff_buf_add(b, "", 0))
		err = -ENOMEM;
	return err;
}

size_t skiff_buf_curl_write(char *p, size_t size, size_t n, void *arg)
{
	return skiff_buf_add(arg, p, size * n) ? 0 : size * n;
}
