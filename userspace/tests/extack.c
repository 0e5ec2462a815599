// SPDX-License-Identifier: GPL-2.0
/*
 * skiff_nl_extack_parse(): reading the kernel's extended ack out of an
 * NLMSG_ERROR message, capped or not, and refusing to read past its end.
 */

#include <errno.h>
#include <string.h>

#include <linux/netlink.h>

#include "nl.h"
#include "tap.h"

static unsigned char buf[4096];

/* Appends one TLV at *off and returns the new offset. */
static size_t put_tlv(size_t off, unsigned short type, const void *data,
		      size_t len)
{
	struct nlattr *nla = (struct nlattr *)(buf + off);

	nla->nla_type = type;
	nla->nla_len = NLA_HDRLEN + len;
	memcpy(buf + off + NLA_HDRLEN, data, len);
	return off + NLA_ALIGN(nla->nla_len);
}

/*
 * An error message for a request of @req_payload bytes. When @capped is
 * false the request is echoed in full, as the kernel does by default.
 */
static size_t put_error(int error, bool capped, size_t req_payload,
			bool tlvs, size_t *tlv_off)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nlmsgerr *nle;
	size_t off;

	memset(buf, 0, sizeof(buf));
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = (capped ? NLM_F_CAPPED : 0) |
			   (tlvs ? NLM_F_ACK_TLVS : 0);
	nle = NLMSG_DATA(nlh);
	nle->error = error;
	nle->msg.nlmsg_len = NLMSG_HDRLEN + req_payload;
	off = NLMSG_HDRLEN + sizeof(*nle);
	if (!capped) {
		memset(buf + off, 0xaa, req_payload);
		off += NLMSG_ALIGN(req_payload);
	}
	*tlv_off = off;
	return off;
}

static void finish(size_t len)
{
	((struct nlmsghdr *)buf)->nlmsg_len = len;
}

int main(void)
{
	struct skiff_error e;
	static const char msg[] = "Unknown attribute type";
	unsigned int offs = 20;
	char longmsg[400];
	size_t off;

	tap_plan(17);

	/* Capped error with a message and an offset. */
	put_error(-EINVAL, true, 24, true, &off);
	off = put_tlv(off, NLMSGERR_ATTR_MSG, msg, sizeof(msg));
	off = put_tlv(off, NLMSGERR_ATTR_OFFS, &offs, sizeof(offs));
	finish(off);
	tap_is_int(skiff_nl_extack_parse((void *)buf, off, &e), 0,
		   "capped: parses");
	tap_is_int(e.err, -EINVAL, "capped: error code");
	tap_is_str(e.msg, msg, "capped: message");
	tap_is_int(e.bad_attr_offset, 20, "capped: bad attribute offset");

	/* Uncapped: the TLVs follow the echoed request. */
	put_error(-ERANGE, false, 30, true, &off);
	off = put_tlv(off, NLMSGERR_ATTR_MSG, msg, sizeof(msg));
	finish(off);
	skiff_nl_extack_parse((void *)buf, off, &e);
	tap_is_int(e.err, -ERANGE, "uncapped: error code");
	tap_is_str(e.msg, msg, "uncapped: message after the echoed request");
	tap_is_int(e.bad_attr_offset, -1, "uncapped: no offset when none sent");

	/* Without NLM_F_ACK_TLVS there is nothing to read. */
	put_error(-EPERM, true, 0, false, &off);
	finish(off);
	skiff_nl_extack_parse((void *)buf, off, &e);
	tap_is_int(e.err, -EPERM, "no TLVs: error code");
	tap_is_str(e.msg, "", "no TLVs: empty message");

	/* A message without its NUL stops at the TLV's end. */
	put_error(-EINVAL, true, 0, true, &off);
	off = put_tlv(off, NLMSGERR_ATTR_MSG, "abcdef", 3);
	finish(off);
	skiff_nl_extack_parse((void *)buf, off, &e);
	tap_is_str(e.msg, "abc", "unterminated message is cut at its TLV");

	/* A message longer than the buffer is truncated, not overrun. */
	memset(longmsg, 'x', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	put_error(-EINVAL, true, 0, true, &off);
	off = put_tlv(off, NLMSGERR_ATTR_MSG, longmsg, sizeof(longmsg));
	finish(off);
	skiff_nl_extack_parse((void *)buf, off, &e);
	tap_is_int((long long)strlen(e.msg), sizeof(e.msg) - 1,
		   "long message truncated to the buffer");

	/* A TLV claiming more bytes than the message has is ignored. */
	put_error(-EINVAL, true, 0, true, &off);
	{
		struct nlattr *nla = (struct nlattr *)(buf + off);

		nla->nla_type = NLMSGERR_ATTR_MSG;
		nla->nla_len = 200;
		memcpy(buf + off + NLA_HDRLEN, "boom", 5);
	}
	finish(off + 8);
	tap_is_int(skiff_nl_extack_parse((void *)buf, off + 8, &e), 0,
		   "overlong TLV: still parses the header");
	tap_is_str(e.msg, "", "overlong TLV: not read");

	/* An offset TLV too short for a u32 is ignored. */
	put_error(-EINVAL, true, 0, true, &off);
	off = put_tlv(off, NLMSGERR_ATTR_OFFS, "\x01\x02", 2);
	finish(off);
	skiff_nl_extack_parse((void *)buf, off, &e);
	tap_is_int(e.bad_attr_offset, -1, "short offset TLV ignored");

	/* Truncated messages are refused. */
	put_error(-EINVAL, true, 0, false, &off);
	finish(off);
	tap_is_int(skiff_nl_extack_parse((void *)buf, NLMSG_HDRLEN + 4, &e),
		   -EBADMSG, "buffer shorter than an error header");
	finish(off + 64);
	tap_is_int(skiff_nl_extack_parse((void *)buf, off, &e), -EBADMSG,
		   "nlmsg_len beyond the buffer");
	finish(NLMSG_HDRLEN);
	tap_is_int(skiff_nl_extack_parse((void *)buf, off, &e), -EBADMSG,
		   "nlmsg_len shorter than an error");

	return tap_done();
}
