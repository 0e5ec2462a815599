/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One nftables transaction, built with libnftnl and sent over libmnl as one
 * netlink batch: the messages, the objects every table needs (the table,
 * its chains, rules), and the kernel's answers read back with their extack
 * message, naming the object it refused. Shared by the nft data plane and
 * the node agent's masquerade table. Everything is in family ip.
 */
#ifndef SKIFF_NFTBATCH_H
#define SKIFF_NFTBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/uio.h>
#include <linux/netlink.h>

#include "error.h"

struct mnl_socket;
struct nftnl_expr;
struct nftnl_rule;

/* Room kept free in a batch for the next message: no message is larger. */
#define SKIFF_NFTB_MSG_MAX	(64 * 1024)

/**
 * struct skiff_nftb - one transaction being built
 * @table: the table its objects go in
 * @pages: the messages, back to back in pages (iov_len: bytes used), none
 *	split across two
 * @npages: how many
 * @len: bytes used in all
 * @first: sequence number of the batch begin message
 * @last: the last command, the one asked to be acked
 * @seq: next sequence number
 * @set_id: next set ID (the kernel wants one per new set, unique in a batch)
 */
struct skiff_nftb {
	const char *table;
	struct iovec *pages;
	unsigned int npages;
	size_t len;
	uint32_t first;
	struct nlmsghdr *last;
	uint32_t seq;
	uint32_t set_id;
};

/* A base chain's hook, or none for a regular chain. */
struct skiff_nftb_hook {
	const char *type;
	uint32_t hooknum;
	int32_t prio;
};

/* A rule being built: the first allocation failure sticks. */
struct skiff_nftb_rule {
	struct nftnl_rule *r;
	bool nomem;
};

/*
 * A netfilter netlink socket, bound, with extended acks; NULL with @e set
 * if it cannot be had.
 */
struct mnl_socket *skiff_nftb_socket(struct skiff_error *e);

/*
 * Starts a batch for table @table whose first message has sequence @seq.
 * With @genid, the kernel applies it only if the ruleset is still at that
 * generation (else ERESTART). 0 or -ENOMEM.
 */
int skiff_nftb_begin(struct skiff_nftb *b, const char *table, uint32_t seq,
		     uint32_t genid);
void skiff_nftb_free(struct skiff_nftb *b);

/* The header of the next message; its payload is written after it. */
struct nlmsghdr *skiff_nftb_msg(struct skiff_nftb *b, uint16_t type,
				uint16_t flags);
/* Counts in the message @nlh that skiff_nftb_msg() gave, once filled. */
void skiff_nftb_msg_done(struct skiff_nftb *b, struct nlmsghdr *nlh);

/*
 * Ends batch @b, sends it on @nl, and returns what the kernel made of it:
 * 0, or -errno with @e saying which message it refused and why. The next
 * free sequence number is left in b->seq.
 */
int skiff_nftb_commit(struct skiff_nftb *b, struct mnl_socket *nl,
		      struct skiff_error *e);

/* NFT_MSG_NEWTABLE or NFT_MSG_DELTABLE for the batch's table. */
int skiff_nftb_put_table(struct skiff_nftb *b, uint16_t type);
/*
 * NFT_MSG_NEWCHAIN or NFT_MSG_DELCHAIN for chain @name; @hook for a new
 * base chain (policy accept).
 */
int skiff_nftb_put_chain(struct skiff_nftb *b, uint16_t type, const char *name,
			 const struct skiff_nftb_hook *hook);

/* A new rule for chain @chain of table @table. 0 or -ENOMEM. */
int skiff_nftb_rule_begin(struct skiff_nftb_rule *rb, const char *table,
			  const char *chain);
/* Appends the rule @rb (consumed) to its chain. 0 or -ENOMEM. */
int skiff_nftb_rule_put(struct skiff_nftb *b, struct skiff_nftb_rule *rb);
/* The comment of rule @rb, where nft shows it. */
void skiff_nftb_rule_comment(struct skiff_nftb_rule *rb, const char *comment);
/* A new expression @name at the end of rule @rb; NULL once out of memory. */
struct nftnl_expr *skiff_nftb_expr(struct skiff_nftb_rule *rb,
				   const char *name);

#endif
