// SPDX-License-Identifier: GPL-2.0
/*
 * Command-line value parsers: what they accept and, as much, what they
 * refuse.
 */

#include <arpa/inet.h>
#include <errno.h>

#include "parse.h"
#include "tap.h"

int main(void)
{
	struct in_addr a;
	uint8_t mac[6], len;
	char buf[SKIFF_MAC_STRLEN];
	uint32_t v;

	tap_plan(27);

	tap_is_int(skiff_parse_u32("42", 0, 100, &v), 0, "u32 parses");
	tap_is_int(v, 42, "u32 value");
	tap_is_int(skiff_parse_u32("0x10", 0, 100, &v), 0, "u32 hex");
	tap_is_int(v, 16, "u32 hex value");
	tap_is_int(skiff_parse_u32("101", 0, 100, &v), -ERANGE, "u32 above max");
	tap_is_int(skiff_parse_u32("0", 1, 100, &v), -ERANGE, "u32 below min");
	tap_is_int(skiff_parse_u32("99999999999999999999", 0, 100, &v),
		   -ERANGE, "u32 overflow");
	tap_is_int(skiff_parse_u32("12a", 0, 100, &v), -EINVAL, "u32 trailing junk");
	tap_is_int(skiff_parse_u32("", 0, 100, &v), -EINVAL, "u32 empty");
	tap_is_int(skiff_parse_u32("-1", 0, 100, &v), -EINVAL, "u32 negative");
	tap_is_int(skiff_parse_u32(" 1", 0, 100, &v), -EINVAL, "u32 leading space");

	tap_is_int(skiff_parse_ipv4("10.1.2.3", &a), 0, "ipv4 parses");
	tap_is_int(a.s_addr, htonl(0x0a010203), "ipv4 value");
	tap_is_int(skiff_parse_ipv4("10.1.2", &a), -EINVAL, "ipv4 three parts");
	tap_is_int(skiff_parse_ipv4("10.1.2.256", &a), -EINVAL, "ipv4 part > 255");
	tap_is_int(skiff_parse_ipv4("10.1.2.3x", &a), -EINVAL, "ipv4 trailing junk");

	tap_is_int(skiff_parse_prefix4("10.244.1.0/24", &a, &len), 0,
		   "prefix parses");
	tap_ok(a.s_addr == htonl(0x0af40100) && len == 24, "prefix value");
	tap_is_int(skiff_parse_prefix4("10.244.1.0", &a, &len), -EINVAL,
		   "prefix without length");
	tap_is_int(skiff_parse_prefix4("10.244.1.0/33", &a, &len), -ERANGE,
		   "prefix length 33");
	tap_is_int(skiff_parse_prefix4("10.244.1.0/", &a, &len), -EINVAL,
		   "prefix empty length");
	tap_is_int(skiff_parse_prefix4("10.244.1.0.0.0.0/24", &a, &len), -EINVAL,
		   "prefix address too long");

	tap_is_int(skiff_parse_mac("02:00:0a:f4:01:FF", mac), 0, "mac parses");
	tap_is_str(skiff_format_mac(mac, buf), "02:00:0a:f4:01:ff",
		   "mac round trip");
	tap_is_int(skiff_parse_mac("02:00:0a:f4:01", mac), -EINVAL, "mac short");
	tap_is_int(skiff_parse_mac("02-00-0a-f4-01-ff", mac), -EINVAL,
		   "mac wrong separator");
	tap_is_int(skiff_parse_mac("02:00:0a:f4:01:fg", mac), -EINVAL,
		   "mac not hex");

	return tap_done();
}
