/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parsing and printing of command-line values: numbers with ranges, IPv4
 * addresses and prefixes, MAC addresses. Each parser accepts the whole
 * string or nothing, and returns 0 or -EINVAL/-ERANGE.
 */

#ifndef SKIFF_PARSE_H
#define SKIFF_PARSE_H

#include <netinet/in.h>
#include <stdint.h>

/* Decimal (or 0x hex) in [min, max]. */
int skiff_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
/* Dotted quad, exactly four parts. */
int skiff_parse_ipv4(const char *s, struct in_addr *out);
/* "A.B.C.D/LEN", LEN 0..32; host bits are kept for the caller to judge. */
int skiff_parse_prefix4(const char *s, struct in_addr *addr, uint8_t *len);
/* "aa:bb:cc:dd:ee:ff", hex pairs. */
int skiff_parse_mac(const char *s, uint8_t mac[6]);

/* "A.B.C.D:PORT", PORT 1..65535. */
int skiff_parse_endpoint4(const char *s, struct in_addr *addr, uint16_t *port);

#define SKIFF_MAC_STRLEN 18
/* Writes "aa:bb:cc:dd:ee:ff" to @buf (SKIFF_MAC_STRLEN bytes). */
char *skiff_format_mac(const uint8_t mac[6], char *buf);

#endif /* SKIFF_PARSE_H */
