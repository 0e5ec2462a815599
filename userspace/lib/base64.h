/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Standard base64 (RFC 4648, padded), as Kubernetes writes []byte fields
 * and etcd's gateway writes keys and values, over GnuTLS.
 */

#ifndef SKIFF_BASE64_H
#define SKIFF_BASE64_H

#include <stddef.h>

#include <jansson.h>

/* @data[0..@len) encoded as a JSON string; NULL when it cannot be. */
json_t *skiff_base64_json(const void *data, size_t len);

/*
 * @in[0..@len) decoded into a malloc'd buffer of *@out_len bytes and a
 * NUL; -EINVAL when it is not base64, -ENOMEM.
 */
int skiff_base64_decode(const char *in, size_t len, char **out, size_t *out_len);

#endif /* SKIFF_BASE64_H */
