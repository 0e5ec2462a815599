// SPDX-License-Identifier: GPL-2.0
/*
 * One nftables transaction as one netlink batch, for whoever keeps a table
 * of its own: the nft data plane (dp_nft_services.c) and the node agent's
 * masquerade table (podnet.c). The messages are written into pages that
 * one sendmsg() sends together, since the kernel takes a transaction from
 * one datagram only. Only the last command asks for an ack; every refused
 * message is answered with an error anyway, and the first one is reported
 * with the name of the object it was about and the kernel's extack text.
 */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "nftbatch.h"
#include "nl.h"
#include "util.h"

/*
 * A batch grows by pages of this size, sent together by one sendmsg(): no
 * copy as it grows.
 */
#define NFTB_PAGE_LEN		(16 * SKIFF_NFTB_MSG_MAX)
/* The kernel's answers come in buffers of up to this size. */
#define NFTB_RECV_LEN		32768

struct mnl_socket *skiff_nftb_socket(struct skiff_error *e)
{
	struct mnl_socket *nl;
	int one = 1;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl) {
		skiff_error_set(e, -errno, "cannot open a netfilter socket");
		return NULL;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one)) < 0) {
		skiff_error_set(e, -errno,
				"cannot set up a netfilter netlink socket");
		mnl_socket_close(nl);
		return NULL;
	}
	/* A capped error is enough: we know what we sent. */
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	return nl;
}

/* Makes room for one more message: where it goes, or NULL. */
static char *nftb_reserve(struct skiff_nftb *b)
{
	struct iovec *page = b->npages ? &b->pages[b->npages - 1] : NULL;
	struct iovec *pages;

	if (page && NFTB_PAGE_LEN - page->iov_len >= SKIFF_NFTB_MSG_MAX)
		return (char *)page->iov_base + page->iov_len;
	pages = reallocarray(b->pages, b->npages + 1, sizeof(*pages));
	if (!pages)
		return NULL;
	b->pages = pages;
	page = &pages[b->npages];
	/* Zeroed: libmnl leaves attribute padding as it finds it. */
	page->iov_base = calloc(1, NFTB_PAGE_LEN);
	if (!page->iov_base)
		return NULL;
	page->iov_len = 0;
	b->npages++;
	return page->iov_base;
}

void skiff_nftb_msg_done(struct skiff_nftb *b, struct nlmsghdr *nlh)
{
	b->last = nlh;
	b->pages[b->npages - 1].iov_len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

int skiff_nftb_begin(struct skiff_nftb *b, const char *table, uint32_t seq,
		     uint32_t genid)
{
	struct nlmsghdr *nlh;
	char *buf;

	memset(b, 0, sizeof(*b));
	b->table = table;
	b->seq = seq;
	b->first = seq;
	buf = nftb_reserve(b);
	if (!buf)
		return -ENOMEM;
	nlh = nftnl_batch_begin(buf, b->seq++);
	if (genid)
		mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(genid));
	skiff_nftb_msg_done(b, nlh);
	return 0;
}

void skiff_nftb_free(struct skiff_nftb *b)
{
	unsigned int i;

	for (i = 0; i < b->npages; i++)
		free(b->pages[i].iov_base);
	free(b->pages);
	b->pages = NULL;
	b->npages = 0;
}

struct nlmsghdr *skiff_nftb_msg(struct skiff_nftb *b, uint16_t type,
				uint16_t flags)
{
	char *buf = nftb_reserve(b);

	if (!buf)
		return NULL;
	return nftnl_nlmsg_build_hdr(buf, type, NFPROTO_IPV4, flags,
				     b->seq++);
}

/* What each kind of message does, and its attribute naming the object. */
static const struct {
	uint16_t type;
	const char *what;
	uint16_t name;
} nftb_msgs[] = {
	{ NFT_MSG_NEWTABLE, "the new table", NFTA_TABLE_NAME },
	{ NFT_MSG_DELTABLE, "the deletion of table", NFTA_TABLE_NAME },
	{ NFT_MSG_NEWCHAIN, "the new chain", NFTA_CHAIN_NAME },
	{ NFT_MSG_DELCHAIN, "the deletion of chain", NFTA_CHAIN_NAME },
	{ NFT_MSG_NEWRULE, "a new rule in chain", NFTA_RULE_CHAIN },
	{ NFT_MSG_DELRULE, "the flush of chain", NFTA_RULE_CHAIN },
	{ NFT_MSG_NEWSET, "the new set", NFTA_SET_NAME },
	{ NFT_MSG_DELSET, "the deletion of set", NFTA_SET_NAME },
	{ NFT_MSG_NEWSETELEM, "new elements in set", NFTA_SET_ELEM_LIST_SET },
	{ NFT_MSG_DELSETELEM, "the deletion of elements in set",
	  NFTA_SET_ELEM_LIST_SET },
	{ NFT_MSG_NEWOBJ, "the new counter", NFTA_OBJ_NAME },
	{ NFT_MSG_DELOBJ, "the deletion of counter", NFTA_OBJ_NAME },
};

/* The message of batch @b with sequence number @seq; NULL if none. */
static const struct nlmsghdr *nftb_find(const struct skiff_nftb *b,
					uint32_t seq)
{
	const struct nlmsghdr *nlh;
	unsigned int i;
	int len;

	for (i = 0; i < b->npages; i++) {
		len = b->pages[i].iov_len;
		for (nlh = b->pages[i].iov_base; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len))
			if (nlh->nlmsg_seq == seq)
				return nlh;
	}
	return NULL;
}

/*
 * Says in @e which message of batch @b the kernel refused with @kerr: the
 * one with sequence number @seq, found again in the batch.
 */
static void nftb_refused(const struct skiff_nftb *b, uint32_t seq,
			 const struct skiff_error *kerr, struct skiff_error *e)
{
	const struct nlmsghdr *nlh = nftb_find(b, seq);
	const char *what = "the transaction", *name = "";
	const struct nlattr *attr;
	unsigned int i;

	for (i = 0; nlh && i < ARRAY_SIZE(nftb_msgs); i++) {
		if (NFNL_MSG_TYPE(nlh->nlmsg_type) != nftb_msgs[i].type)
			continue;
		what = nftb_msgs[i].what;
		mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg))
			if (mnl_attr_get_type(attr) == nftb_msgs[i].name)
				name = mnl_attr_get_str(attr);
	}
	skiff_error_set(e, kerr->err, "nftables refused %s%s%s%s%s", what,
			name[0] ? " " : "", name, kerr->msg[0] ? ": " : "",
			kerr->msg);
}

/* Notes the error @nlh, if about batch @b, in @e (the first one only). */
static void nftb_error(const struct skiff_nftb *b, const struct nlmsghdr *nlh,
		       uint32_t acked, struct skiff_error *e, bool *done)
{
	struct skiff_error kerr;

	if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_seq < b->first ||
	    nlh->nlmsg_seq > acked ||
	    skiff_nl_extack_parse(nlh, nlh->nlmsg_len, &kerr) < 0)
		return;
	if (nlh->nlmsg_seq == acked)
		*done = true;
	if (kerr.err && !e->err)
		nftb_refused(b, nlh->nlmsg_seq, &kerr, e);
}

/*
 * Reads the kernel's answers to batch @b. It handles a batch while we send
 * it, so every answer is queued when sendmsg returns: errors, one for each
 * refused message, then the ack of the last command (sequence @acked).
 */
static int nftb_answers(const struct skiff_nftb *b, int fd, uint32_t acked,
			struct skiff_error *e)
{
	struct nlmsghdr *nlh;
	bool done = false;
	char *buf;
	int len;

	buf = malloc(NFTB_RECV_LEN);
	if (!buf)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	for (;;) {
		len = recv(fd, buf, NFTB_RECV_LEN, MSG_DONTWAIT);
		/*
		 * ENOBUFS: answers beyond the socket's room were dropped;
		 * the first ones are still queued.
		 */
		if (len < 0 && (errno == EINTR || errno == ENOBUFS))
			continue;
		if (len <= 0)
			break;
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len))
			nftb_error(b, nlh, acked, e, &done);
	}
	if (len < 0 && errno != EAGAIN && !e->err)
		skiff_error_set(e, -errno, "cannot read what nftables said");
	free(buf);
	if (!e->err && !done)
		skiff_error_set(e, -EIO, "nftables did not answer the batch");
	return e->err;
}

int skiff_nftb_commit(struct skiff_nftb *b, struct mnl_socket *nl,
		      struct skiff_error *e)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct msghdr msg = {
		.msg_name = &kernel,
		.msg_namelen = sizeof(kernel),
	};
	int fd = mnl_socket_get_fd(nl);
	struct nlmsghdr *nlh;
	uint32_t acked;
	char *buf;
	int size;

	buf = nftb_reserve(b);
	if (!buf)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	/* Only the last command is acked: errors come whatever the flags. */
	b->last->nlmsg_flags |= NLM_F_ACK;
	acked = b->last->nlmsg_seq;
	nlh = nftnl_batch_end(buf, b->seq++);
	skiff_nftb_msg_done(b, nlh);

	/*
	 * The kernel takes a transaction from one datagram only (a batch
	 * without its end is aborted): the socket must take it whole.
	 */
	size = b->len > INT_MAX - SKIFF_NFTB_MSG_MAX ? INT_MAX :
	       b->len + SKIFF_NFTB_MSG_MAX;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	msg.msg_iov = b->pages;
	msg.msg_iovlen = b->npages;
	skiff_error_clear(e);
	if (sendmsg(fd, &msg, 0) < 0)
		return skiff_error_set(e, -errno,
				       "cannot send the nftables batch");
	return nftb_answers(b, fd, acked, e);
}

/* ---- objects ----------------------------------------------------------- */

int skiff_nftb_put_table(struct skiff_nftb *b, uint16_t type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int err = -ENOMEM;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
	if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, b->table) < 0)
		goto out_free;
	nlh = skiff_nftb_msg(b, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0);
	if (!nlh)
		goto out_free;
	nftnl_table_nlmsg_build_payload(nlh, t);
	skiff_nftb_msg_done(b, nlh);
	err = 0;
out_free:
	nftnl_table_free(t);
	return err;
}

int skiff_nftb_put_chain(struct skiff_nftb *b, uint16_t type, const char *name,
			 const struct skiff_nftb_hook *hook)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	int err = -ENOMEM;

	if (!c)
		return -ENOMEM;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
	if (nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, b->table) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name) < 0)
		goto out_free;
	if (hook) {
		if (nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, hook->type) < 0)
			goto out_free;
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook->hooknum);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, hook->prio);
		/* What the kernel takes when none is given. */
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nlh = skiff_nftb_msg(b, type, type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0);
	if (!nlh)
		goto out_free;
	nftnl_chain_nlmsg_build_payload(nlh, c);
	skiff_nftb_msg_done(b, nlh);
	err = 0;
out_free:
	nftnl_chain_free(c);
	return err;
}

/* ---- rules ------------------------------------------------------------- */

int skiff_nftb_rule_begin(struct skiff_nftb_rule *rb, const char *table,
			  const char *chain)
{
	rb->nomem = false;
	rb->r = nftnl_rule_alloc();
	if (!rb->r)
		return -ENOMEM;
	nftnl_rule_set_u32(rb->r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	if (nftnl_rule_set_str(rb->r, NFTNL_RULE_TABLE, table) < 0 ||
	    nftnl_rule_set_str(rb->r, NFTNL_RULE_CHAIN, chain) < 0) {
		nftnl_rule_free(rb->r);
		return -ENOMEM;
	}
	return 0;
}

int skiff_nftb_rule_put(struct skiff_nftb *b, struct skiff_nftb_rule *rb)
{
	struct nlmsghdr *nlh = NULL;

	if (!rb->nomem)
		nlh = skiff_nftb_msg(b, NFT_MSG_NEWRULE,
				     NLM_F_CREATE | NLM_F_APPEND);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, rb->r);
		skiff_nftb_msg_done(b, nlh);
	}
	nftnl_rule_free(rb->r);
	return nlh ? 0 : -ENOMEM;
}

void skiff_nftb_rule_comment(struct skiff_nftb_rule *rb, const char *comment)
{
	struct nftnl_udata_buf *udata;

	udata = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	if (!udata ||
	    !nftnl_udata_put_strz(udata, NFTNL_UDATA_RULE_COMMENT, comment) ||
	    nftnl_rule_set_data(rb->r, NFTNL_RULE_USERDATA,
				nftnl_udata_buf_data(udata),
				nftnl_udata_buf_len(udata)) < 0)
		rb->nomem = true;
	nftnl_udata_buf_free(udata);
}

struct nftnl_expr *skiff_nftb_expr(struct skiff_nftb_rule *rb,
				   const char *name)
{
	struct nftnl_expr *ex;

	if (rb->nomem)
		return NULL;
	ex = nftnl_expr_alloc(name);
	if (!ex) {
		rb->nomem = true;
		return NULL;
	}
	nftnl_rule_add_expr(rb->r, ex);
	return ex;
}
