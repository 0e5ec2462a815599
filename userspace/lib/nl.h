/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small client of the "skiff" generic netlink family over libnl-genl:
 * open a socket in the caller's network namespace, send one request, collect
 * the reply and, on failure, the kernel's extended ack.
 */

#ifndef SKIFF_NL_H
#define SKIFF_NL_H

#include <stddef.h>
#include <stdint.h>

struct nl_msg;
struct nlmsgerr;
struct nlmsghdr;
struct nl_sock;
struct sockaddr_nl;
struct skiff_nl;

#include "error.h"

/*
 * Reads the extended ack of an NLMSG_ERROR message of @len bytes into @e.
 * Returns 0, or -EBADMSG when the message is too short to be an error.
 */
int skiff_nl_extack_parse(const struct nlmsghdr *nlh, size_t len,
			  struct skiff_error *e);

/* libnl's error code @nlerr (either sign) as a negative errno; -EIO if none fits. */
int skiff_nl_errno(int nlerr);

/*
 * A libnl error callback (nl_cb_err(), nl_socket_modify_err_cb()) that keeps
 * the kernel's own errno and extack message, which libnl drops, in the
 * struct skiff_error @arg. It returns NL_STOP, so libnl fails the call as it
 * would have. Clear @arg before each request.
 */
int skiff_nl_on_error(struct sockaddr_nl *who, struct nlmsgerr *nle,
		      void *arg);

/*
 * Fills @e for libnl error @nlerr of a request about what @fmt says: the
 * kernel's errno and words (@kerr, kept by skiff_nl_on_error) if it refused
 * the request, libnl's otherwise. Returns the negative errno.
 */
int skiff_nl_fail(const struct skiff_error *kerr, int nlerr,
		  struct skiff_error *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Clears @kerr, sends @msg (consumed) on @sk and waits for the kernel's
 * answer: 0 or a negative libnl error code, for skiff_nl_fail().
 */
int skiff_nl_send_ack(struct nl_sock *sk, struct nl_msg *msg,
		      struct skiff_error *kerr);

int skiff_nl_open(struct skiff_nl **nlp, struct skiff_error *e);
void skiff_nl_close(struct skiff_nl *nl);

/* Lets one request be up to @bytes long (root: past rmem/wmem_max). */
int skiff_nl_set_sndbuf(struct skiff_nl *nl, size_t bytes);

/* The generic netlink id of the skiff family. */
int skiff_nl_family(struct skiff_nl *nl);

/* A request for @cmd of the skiff family, to be filled and passed on. */
struct nl_msg *skiff_nl_request(struct skiff_nl *nl, uint8_t cmd, int flags);

/*
 * Sends @msg (consumed) and waits for the answer. Each reply message is
 * handed to @parse (may be NULL); a negative return from @parse stops and
 * fails the call. Returns 0 or a negative errno, with @e filled in.
 */
int skiff_nl_call(struct skiff_nl *nl, struct nl_msg *msg,
		  int (*parse)(struct nl_msg *reply, void *arg), void *arg,
		  struct skiff_error *e);

/* The id of the skiff family's multicast group @name, or -ENOENT. */
int skiff_nl_mcgrp(struct skiff_nl *nl, const char *name);

/*
 * Opens a nonblocking netlink socket of @protocol in the caller's network
 * namespace that receives multicast groups @groups[0..@n) (group numbers,
 * as NETLINK_ADD_MEMBERSHIP takes them). Returns the descriptor or -errno.
 */
int skiff_nl_listen(int protocol, const unsigned int *groups, unsigned int n,
		    struct skiff_error *e);

#endif /* SKIFF_NL_H */
