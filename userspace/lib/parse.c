// SPDX-License-Identifier: GPL-2.0
/*
 * Command-line value parsing, strict: "10.0.0.1x", "1e3" or "" are errors,
 * not prefixes of valid values.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

int skiff_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

int skiff_parse_ipv4(const char *s, struct in_addr *out)
{
	/* inet_pton accepts only the four-part dotted decimal form. */
	return inet_pton(AF_INET, s, out) == 1 ? 0 : -EINVAL;
}

/* "A.B.C.D" SEP NUMBER, NUMBER in [min, max]: a prefix or an endpoint. */
static int parse_addr_number(const char *s, char sep, uint32_t min,
			     uint32_t max, struct in_addr *addr, uint32_t *num)
{
	char buf[INET_ADDRSTRLEN];
	const char *at;

	at = strchr(s, sep);
	if (!at || (size_t)(at - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, at - s);
	buf[at - s] = '\0';
	if (skiff_parse_ipv4(buf, addr))
		return -EINVAL;
	return skiff_parse_u32(at + 1, min, max, num);
}

int skiff_parse_prefix4(const char *s, struct in_addr *addr, uint8_t *len)
{
	uint32_t n;
	int err;

	err = parse_addr_number(s, '/', 0, 32, addr, &n);
	if (!err)
		*len = n;
	return err;
}

int skiff_parse_endpoint4(const char *s, struct in_addr *addr, uint16_t *port)
{
	uint32_t n;
	int err;

	err = parse_addr_number(s, ':', 1, 65535, addr, &n);
	if (!err)
		*port = n;
	return err;
}

int skiff_parse_mac(const char *s, uint8_t mac[6])
{
	int i;

	if (strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		const char *p = s + 3 * i;

		if (!isxdigit((unsigned char)p[0]) ||
		    !isxdigit((unsigned char)p[1]) ||
		    (i < 5 && p[2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)strtoul((char[]){ p[0], p[1], '\0' }, NULL,
					  16);
	}
	return 0;
}

char *skiff_format_mac(const uint8_t mac[6], char *buf)
{
	snprintf(buf, SKIFF_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}
