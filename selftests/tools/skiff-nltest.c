// SPDX-License-Identifier: GPL-2.0
/*
 * skiff-nltest: sends requests that skiff-dp never would, for the selftests.
 *
 *   skiff-nltest raw CMD [TYPE HEX]...  send command CMD with the given raw
 *                                       top-level attributes (TYPE may carry
 *                                       NLA_F_NESTED, 0x8000); prints "ok", or
 *                                       "error: STRERROR: EXTACK [offset N]
 *                                       [missing TYPE]" and exits 1
 *   skiff-nltest netns-cookie           print SO_NETNS_COOKIE of this netns
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/genl/genl.h>

#include "nl.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static int parse_u32(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	return (errno || end == s || *end || *out > max) ? -1 : 0;
}

static int parse_hex(const char *s, unsigned char *out, size_t max,
		     size_t *len)
{
	size_t n = strlen(s);
	size_t i;

	if (n % 2 || n / 2 > max)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned int byte;

		if (sscanf(s + 2 * i, "%2x", &byte) != 1)
			return -1;
		out[i] = byte;
	}
	*len = n / 2;
	return 0;
}

struct raw_attr {
	unsigned long type;
	size_t len;
	unsigned char data[65536];
};

static int cmd_raw(int argc, char **argv)
{
	static struct raw_attr attrs[16];
	struct skiff_error e;
	struct skiff_nl *nl;
	struct nl_msg *msg;
	unsigned long cmd;
	size_t total = 0;
	int i, count;

	count = (argc - 1) / 2;
	if (argc < 1 || argc % 2 != 1 || count > 16 ||
	    parse_u32(argv[0], 255, &cmd)) {
		fprintf(stderr, "usage: skiff-nltest raw CMD [TYPE HEX]... (at most 16)\n");
		return 2;
	}
	/* Parse everything before talking to the kernel. */
	for (i = 0; i < count; i++) {
		struct raw_attr *a = &attrs[i];

		if (parse_u32(argv[1 + 2 * i], 0xffff, &a->type) ||
		    parse_hex(argv[2 + 2 * i], a->data, sizeof(a->data),
			      &a->len)) {
			fprintf(stderr, "skiff-nltest: bad attribute %s %s\n",
				argv[1 + 2 * i], argv[2 + 2 * i]);
			return 2;
		}
	}

	if (skiff_nl_open(&nl, &e)) {
		skiff_error_print("skiff-nltest", &e);
		return 1;
	}
	/* Room for every attribute (libnl's default is a page). */
	for (i = 0; i < count; i++)
		total += NLA_ALIGN(attrs[i].len) + NLA_HDRLEN;
	nlmsg_set_default_size(total + 4096);
	skiff_nl_set_sndbuf(nl, total + 4096);
	msg = skiff_nl_request(nl, cmd, 0);
	for (i = 0; msg && i < count; i++) {
		if (nla_put(msg, attrs[i].type, attrs[i].len,
			    attrs[i].data) < 0) {
			nlmsg_free(msg);
			msg = NULL;
		}
	}
	if (!msg) {
		fprintf(stderr, "skiff-nltest: cannot build the request\n");
		skiff_nl_close(nl);
		return 1;
	}
	skiff_nl_call(nl, msg, NULL, NULL, &e);
	skiff_nl_close(nl);
	if (!e.err) {
		printf("ok\n");
		return 0;
	}
	printf("error: %s: %s", strerror(-e.err), e.msg);
	if (e.bad_attr_offset >= 0)
		printf(" [offset %" PRId32 "]", e.bad_attr_offset);
	if (e.missing_type)
		printf(" [missing %" PRIu32 "]", e.missing_type);
	printf("\n");
	return 1;
}

static int cmd_netns_cookie(void)
{
	uint64_t cookie;
	socklen_t len = sizeof(cookie);
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0) {
		perror("skiff-nltest: SO_NETNS_COOKIE");
		return 1;
	}
	printf("%" PRIu64 "\n", cookie);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "raw"))
		return cmd_raw(argc - 2, argv + 2);
	if (argc == 2 && !strcmp(argv[1], "netns-cookie"))
		return cmd_netns_cookie();
	fprintf(stderr, "usage: skiff-nltest raw CMD [TYPE HEX]... | netns-cookie\n");
	return 2;
}
