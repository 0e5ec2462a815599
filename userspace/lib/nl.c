// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink client for skiff.ko, over libnl-genl.
 *
 * libnl does the socket, sequence numbers and message building; what it does
 * not do is hand us the kernel's extended ack, so the error callback reads it
 * from the NLMSG_ERROR message itself.
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <linux/skiff.h>
#include <netlink/genl/ctrl.h>
#include <netlink/errno.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "nl.h"
#include "util.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct skiff_nl {
	struct nl_sock *sock;
	int family;
};

int skiff_nl_extack_parse(const struct nlmsghdr *nlh, size_t len,
			  struct skiff_error *e)
{
	const struct nlmsgerr *nle;
	const struct nlattr *attr;
	size_t off, skip;

	skiff_error_clear(e);
	if (len < NLMSG_HDRLEN + sizeof(*nle) || nlh->nlmsg_len > len ||
	    nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*nle))
		return -EBADMSG;
	len = nlh->nlmsg_len;
	nle = NLMSG_DATA(nlh);
	e->err = nle->error;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return 0;

	/*
	 * Unless capped, the kernel echoes the whole request after the error
	 * code; the TLVs follow it.
	 */
	skip = sizeof(*nle);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		skip += NLMSG_ALIGN(nle->msg.nlmsg_len) - sizeof(nle->msg);
	off = NLMSG_HDRLEN + NLMSG_ALIGN(skip);

	while (off + NLA_HDRLEN <= len) {
		size_t alen, plen;
		const char *payload;

		attr = (const struct nlattr *)((const char *)nlh + off);
		alen = attr->nla_len;
		if (alen < NLA_HDRLEN || off + alen > len)
			break;
		payload = (const char *)attr + NLA_HDRLEN;
		plen = alen - NLA_HDRLEN;

		switch (attr->nla_type & NLA_TYPE_MASK) {
		case NLMSGERR_ATTR_MSG:
			/* The kernel sends it NUL-terminated; trust only plen. */
			plen = strnlen(payload, plen);
			if (plen >= sizeof(e->msg))
				plen = sizeof(e->msg) - 1;
			memcpy(e->msg, payload, plen);
			e->msg[plen] = '\0';
			break;
		case NLMSGERR_ATTR_MISS_TYPE:
			if (plen >= sizeof(uint32_t))
				memcpy(&e->missing_type, payload,
				       sizeof(e->missing_type));
			break;
		case NLMSGERR_ATTR_OFFS:
			if (plen >= sizeof(uint32_t)) {
				uint32_t offs;

				memcpy(&offs, payload, sizeof(offs));
				if (offs <= INT32_MAX)
					e->bad_attr_offset = (int32_t)offs;
			}
			break;
		}
		off += NLA_ALIGN(alen);
	}
	return 0;
}

/* libnl's codes for what the kernel (or libnl) refused, back to errno. */
static const struct {
	int nlerr;
	int err;
} nl_errors[] = {
	{ NLE_EXIST, EEXIST },
	{ NLE_OBJ_NOTFOUND, ENOENT },
	{ NLE_NODEV, ENODEV },
	{ NLE_PERM, EPERM },
	{ NLE_NOACCESS, EACCES },
	{ NLE_INVAL, EINVAL },
	{ NLE_BUSY, EBUSY },
	{ NLE_NOMEM, ENOMEM },
	{ NLE_RANGE, ERANGE },
	{ NLE_AGAIN, EAGAIN },
	{ NLE_OPNOTSUPP, EOPNOTSUPP },
	{ NLE_AF_NOSUPPORT, EAFNOSUPPORT },
	{ NLE_NOADDR, EADDRNOTAVAIL },
	{ NLE_MSGSIZE, EMSGSIZE },
};

int skiff_nl_errno(int nlerr)
{
	size_t i;

	nlerr = abs(nlerr);
	for (i = 0; i < ARRAY_SIZE(nl_errors); i++)
		if (nl_errors[i].nlerr == nlerr)
			return -nl_errors[i].err;
	return -EIO;
}

int skiff_nl_on_error(struct sockaddr_nl *who, struct nlmsgerr *nle,
		      void *arg)
{
	const struct nlmsghdr *nlh = (const void *)((char *)nle - NLMSG_HDRLEN);
	struct skiff_error *kerr = arg;

	(void)who;
	if (skiff_nl_extack_parse(nlh, nlh->nlmsg_len, kerr) < 0)
		skiff_error_set(kerr, nle->error, "%s", "");
	return NL_STOP;
}

int skiff_nl_fail(const struct skiff_error *kerr, int nlerr,
		  struct skiff_error *e, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (kerr->err && kerr->msg[0])
		return skiff_error_set(e, kerr->err, "%s: %s", what, kerr->msg);
	if (kerr->err)
		return skiff_error_set(e, kerr->err, "%s: %s", what,
				       strerror(-kerr->err));
	return skiff_error_set(e, skiff_nl_errno(nlerr), "%s: %s", what,
			       nl_geterror(nlerr));
}

int skiff_nl_send_ack(struct nl_sock *sk, struct nl_msg *msg,
		      struct skiff_error *kerr)
{
	int err;

	skiff_error_clear(kerr);
	err = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (err < 0)
		return err;
	return nl_wait_for_ack(sk);
}

struct call_ctx {
	int (*parse)(struct nl_msg *reply, void *arg);
	void *arg;
	struct skiff_error *e;
	int done;
};

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *nle, void *arg)
{
	const struct nlmsghdr *nlh = (const void *)((char *)nle - NLMSG_HDRLEN);
	struct call_ctx *ctx = arg;

	(void)who;
	if (skiff_nl_extack_parse(nlh, nlh->nlmsg_len, ctx->e) < 0)
		skiff_error_set(ctx->e, -EBADMSG, "malformed error message from kernel");
	ctx->done = 1;
	return NL_STOP;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct call_ctx *ctx = arg;
	int err;

	if (!ctx->parse)
		return NL_OK;
	err = ctx->parse(msg, ctx->arg);
	if (err < 0) {
		skiff_error_set(ctx->e, err, "unexpected reply from kernel");
		return NL_STOP;
	}
	return NL_OK;
}

static int on_done(struct nl_msg *msg, void *arg)
{
	struct call_ctx *ctx = arg;

	(void)msg;
	ctx->done = 1;
	return NL_STOP;
}

int skiff_nl_open(struct skiff_nl **nlp, struct skiff_error *e)
{
	struct skiff_nl *nl;
	int one = 1;
	int err;

	skiff_error_clear(e);
	nl = calloc(1, sizeof(*nl));
	if (!nl) {
		skiff_error_set(e, -ENOMEM, "out of memory");
		return -ENOMEM;
	}

	nl->sock = nl_socket_alloc();
	if (!nl->sock) {
		skiff_error_set(e, -ENOMEM, "out of memory");
		goto err_free_nl;
	}

	err = genl_connect(nl->sock);
	if (err < 0) {
		skiff_error_set(e, -EIO, "%s", nl_geterror(err));
		goto err_free_sock;
	}

	if (setsockopt(nl_socket_get_fd(nl->sock), SOL_NETLINK,
		       NETLINK_EXT_ACK, &one, sizeof(one)) < 0) {
		skiff_error_set(e, -errno, "cannot enable extended acks");
		goto err_free_sock;
	}
	/* Dumps come in skbs larger than a page: size reads to fit. */
	nl_socket_enable_msg_peek(nl->sock);
	/* A capped error is enough: we know what we sent. */
	setsockopt(nl_socket_get_fd(nl->sock), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));

	nl->family = genl_ctrl_resolve(nl->sock, SKIFF_GENL_NAME);
	if (nl->family < 0) {
		skiff_error_set(e, -ENOENT,
				"skiff.ko is not loaded (generic netlink family \""
				SKIFF_GENL_NAME "\" not found)");
		goto err_free_sock;
	}

	*nlp = nl;
	return 0;

err_free_sock:
	nl_socket_free(nl->sock);
err_free_nl:
	free(nl);
	return e->err;
}

void skiff_nl_close(struct skiff_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sock);
	free(nl);
}

int skiff_nl_set_sndbuf(struct skiff_nl *nl, size_t bytes)
{
	int fd = nl_socket_get_fd(nl->sock);
	int size = bytes > INT_MAX / 2 ? INT_MAX / 2 : (int)bytes;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)))
		return -errno;
	return 0;
}

int skiff_nl_family(struct skiff_nl *nl)
{
	return nl->family;
}

int skiff_nl_mcgrp(struct skiff_nl *nl, const char *name)
{
	int id = genl_ctrl_resolve_grp(nl->sock, SKIFF_GENL_NAME, name);

	return id < 0 ? -ENOENT : id;
}

int skiff_nl_listen(int protocol, const unsigned int *groups, unsigned int n,
		    struct skiff_error *e)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	unsigned int i;
	int fd;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    protocol);
	if (fd < 0)
		return skiff_error_set(e, -errno, "netlink socket: %s",
				       strerror(errno));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		goto err_close;
	for (i = 0; i < n; i++)
		if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
			       &groups[i], sizeof(groups[i])) < 0)
			goto err_close;
	return fd;

err_close:
	skiff_error_set(e, -errno, "cannot listen to netlink group: %s",
			strerror(errno));
	close(fd);
	return e->err;
}

struct nl_msg *skiff_nl_request(struct skiff_nl *nl, uint8_t cmd, int flags)
{
	struct nl_msg *msg;

	msg = nlmsg_alloc();
	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 flags | NLM_F_REQUEST | NLM_F_ACK, cmd,
			 SKIFF_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

int skiff_nl_call(struct skiff_nl *nl, struct nl_msg *msg,
		  int (*parse)(struct nl_msg *reply, void *arg), void *arg,
		  struct skiff_error *e)
{
	struct call_ctx ctx = { .parse = parse, .arg = arg, .e = e };
	struct nl_cb *cb;
	int err;

	skiff_error_clear(e);
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nlmsg_free(msg);
		skiff_error_set(e, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, &ctx);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &ctx);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_done, &ctx);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_done, &ctx);

	err = nl_send_auto(nl->sock, msg);
	nlmsg_free(msg);
	if (err < 0) {
		skiff_error_set(e, -EIO, "%s", nl_geterror(err));
		goto out_put_cb;
	}

	while (!ctx.done && !e->err) {
		err = nl_recvmsgs(nl->sock, cb);
		if (err < 0 && !e->err) {
			skiff_error_set(e, -EIO, "%s", nl_geterror(err));
			break;
		}
	}

out_put_cb:
	nl_cb_put(cb);
	return e->err;
}
