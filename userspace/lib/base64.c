// SPDX-License-Identifier: GPL-2.0
/*
 * Base64 through GnuTLS (already linked for TLS), so that the apiserver's
 * Secrets, the protobuf decoder, the etcd store and the node agent share
 * one encoder and one decoder.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "base64.h"

json_t *skiff_base64_json(const void *data, size_t len)
{
	gnutls_datum_t in = { (unsigned char *)data, (unsigned int)len };
	gnutls_datum_t out = { NULL, 0 };
	json_t *j;

	if (!len)
		return json_string("");
	if (len > UINT32_MAX / 2 || gnutls_base64_encode2(&in, &out) < 0)
		return NULL;
	j = json_stringn_nocheck((const char *)out.data, out.size);
	gnutls_free(out.data);
	return j;
}

int skiff_base64_decode(const char *in, size_t len, char **out, size_t *out_len)
{
	gnutls_datum_t src = { (unsigned char *)in, (unsigned int)len };
	gnutls_datum_t dst = { NULL, 0 };
	char *buf;

	if (len > UINT32_MAX / 2)
		return -EINVAL;
	if (len && gnutls_base64_decode2(&src, &dst) < 0)
		return -EINVAL;
	buf = malloc(dst.size + 1);
	if (!buf) {
		gnutls_free(dst.data);
		return -ENOMEM;
	}
	if (dst.size)
		memcpy(buf, dst.data, dst.size);
	buf[dst.size] = '\0';
	gnutls_free(dst.data);
	*out = buf;
	*out_len = dst.size;
	return 0;
}
