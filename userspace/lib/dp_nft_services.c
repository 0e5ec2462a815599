// SPDX-License-Identifier: GPL-2.0
/*
 * The "nft" data plane, services half: Services as kube-proxy's nftables
 * mode programs them, in one table that skiff owns, "ip skiff", built with
 * libnftnl and sent over libmnl. Every call is one nftables transaction (a
 * netlink batch), so a packet sees the old service or the new one, never a
 * mix, and a refused change leaves nothing behind.
 *
 *   table ip skiff
 *     set cluster-cidr              the pod CIDR (interval; empty: none set)
 *     map service-ips               vip . l4proto . port : goto svc-S
 *     map service-nodeports         l4proto . port       : goto svc-S
 *     map no-endpoint-services      vip . l4proto . port : goto svc-S
 *     map no-endpoint-nodeports     l4proto . port       : goto svc-S
 *
 *     chain nat-prerouting          type nat hook prerouting priority -100
 *     chain nat-output              type nat hook output priority -100
 *         jump services
 *     chain services
 *         ip daddr . meta l4proto . th dport vmap @service-ips
 *         fib daddr type local ip daddr != 127.0.0.0/8
 *             meta l4proto . th dport vmap @service-nodeports
 *     chain svc-S                   one per service
 *         counter name svc-S ip saddr != @cluster-cidr
 *             meta mark set mark | 0x4000        (a NodePort: always)
 *             comment "affinity SECONDS"         (ClientIP affinity)
 *         counter name svc-S comment "local"     (a Local service instead:
 *                                                 no mark, "affinity N local"
 *                                                 with affinity)
 *         ip saddr @aff-E goto ep-E  (ClientIP affinity: one per backend)
 *         numgen random mod 4 < 3 goto ep-A      one per backend: weights
 *         numgen random mod 1 < 1 goto ep-B      3 and 1 here
 *     chain ep-E                    one per backend
 *         counter name ep-E ip saddr BACKEND
 *             meta mark set mark | 0x4000        (hairpin)
 *         update @aff-E { ip saddr timeout SECONDS }   (affinity)
 *         meta l4proto PROTO dnat to BACKEND:PORT
 *     set aff-E                     ipv4_addr, dynamic, timeout (affinity)
 *     counter svc-S, counter ep-E
 *     chain nat-postrouting         type nat hook postrouting priority 100
 *         meta mark & 0x4000 == 0 return
 *         meta mark set mark ^ 0x4000
 *         masquerade fully-random
 *
 *     chain filter-prerouting       type filter hook prerouting priority -110
 *     chain filter-output           type filter hook output priority -110
 *         ct state new jump no-endpoints
 *     chain no-endpoints            as services, with the no-endpoint maps
 *     chain svc-S                   of a service without backends
 *         counter name svc-S goto reject-chain   (not a DNAT: a refusal)
 *     chain reject-chain
 *         meta l4proto tcp reject with tcp reset
 *         reject with icmp type port-unreachable
 *
 * S names a service, "tcp-10.96.0.10-80", and E one of its backends,
 * "tcp-10.96.0.10-80-10.244.2.2-8080": stable and unique, so that a service
 * is found by name and replaced in place. A service's backends and weights
 * live in the rules of its chain svc-S (the gotos name the backends'
 * chains, the bounds are the weights), its affinity and whether it is
 * Local in the comment of its first rule: every skiff-dp call is a new process, so the kernel's
 * objects are the only state, and service_list reads them back. The
 * services are those the four dispatch maps send to.
 *
 * Why it is built so:
 *  - Weights: a backend's rule takes a connection with the odds of its
 *    weight among the weights of the backends not passed yet (its own and
 *    those after it): so each gets its weight's share of the total, and
 *    the last one takes whatever is left.
 *  - No set or map of its own per service: the kernel finds a set by name
 *    by walking the table's list of sets, so that one per service would
 *    make a large table quadratic to build (30,000 services: minutes).
 *    Chains and counters it finds in hash tables. (An affinity set per
 *    backend is kept, for the services with affinity.)
 *  - Rejection: a service without backends sits in the no-endpoint maps,
 *    looked up from filter chains before DNAT, as kube-proxy does, so that
 *    NAT chains only translate (the kernel checks a reject's hook, not its
 *    chain's type, and would take one there too). Prerouting, not forward
 *    or input as in kube-proxy: a node has no route to a service's virtual
 *    IP, so routing would drop the packet before either hook saw it.
 *  - Masquerade: a mark set where the decision is taken (a client outside
 *    the cluster, a NodePort, a backend reaching itself), masquerade at
 *    postrouting, and the mark cleared there so that it does not leak into
 *    the VXLAN packet that may carry the connection on. A Local service
 *    (externalTrafficPolicy: Local) has no mark rule in its chain svc-S:
 *    only its backends' hairpin rules mark, so other clients keep their
 *    address.
 *  - Counters: NAT chains see the first packet of a connection only, so the
 *    counters count new connections (their first packets and bytes), not
 *    all the traffic of a service.
 *  - Affinity: the ep chain refreshes the client's entry with each new
 *    connection; a client that opens none for the timeout loses it.
 *  - NodePorts answer on the node's addresses but not on 127.0.0.0/8, as in
 *    kube-proxy's nftables mode: DNAT from loopback would need
 *    route_localnet.
 *
 * How a call changes the table, in one batch:
 *  - The fixed part (table, maps, base chains and their rules) is added on
 *    every change, base chains flushed and filled again, as kube-proxy does:
 *    idempotent, and a damaged base repairs itself.
 *  - service_set flushes and refills the service's chain, refills the
 *    chains of backends it keeps (keeping their counters and affinity sets,
 *    so clients keep their backend), deletes those of removed backends and
 *    adds new ones. service_del deletes them all.
 *  - service_sync reads every service, and puts in one batch what
 *    service_set would for each service that is missing or differs, and
 *    what service_del would for each one not wanted; a service already as
 *    wanted is left alone, so a resync that changes one service changes
 *    one service.
 *  - The batch carries the ruleset generation the services were read at;
 *    the kernel refuses it (ERESTART) if another writer changed the ruleset
 *    meanwhile, and the call reads again and retries.
 *  - The kernel takes a transaction from one datagram only: a large batch
 *    (90 MB for 30,000 services from nothing) is built in pages sent by
 *    one sendmsg(), the socket's send buffer raised to take it.
 *  - After the commit, the conntrack entries of connections through the
 *    services to removed backends are deleted (libnetfilter_conntrack, one
 *    dump of the table for the whole change), so that their next packet is
 *    a new connection, balanced again. This is best effort: the change is
 *    made and cannot be undone by then.
 *
 * The overlay half (dp_nft.c) holds an rtnetlink socket; services need a
 * netfilter one, opened for each call. Kernel errors come back with their
 * extended ack message, read by skiff_nl_extack_parse().
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "dataplane.h"
#include "dp_nft.h"
#include "nftbatch.h"
#include "nl.h"
#include "parse.h"
#include "util.h"

#define NFTS_TABLE		"skiff"
/* The masquerade mark, kube-proxy's bit. */
#define NFTS_MARK		0x4000u
/* The comment of a chain svc-S's first rule: its settings, read back. */
#define NFTS_COMMENT_LEN	32
/* Longest name: "aff-" + "tcp-" + 2 * "255.255.255.255-65535" + "-". */
#define NFTS_NAME_LEN		64
/* A read or a batch raced by another writer is tried again, this often. */
#define NFTS_TRIES		4
/* A request (one get or dump, a few names) fits in this. */
#define NFTS_REQ_LEN		1024
/* A dump's messages come in buffers of up to this size. */
#define NFTS_RECV_LEN		32768

/* nft's data types, so that `nft list ruleset` shows our sets as its own. */
#define NFTS_TYPE_IPADDR	7
#define NFTS_TYPE_PROTO		12
#define NFTS_TYPE_SERVICE	13
#define NFTS_TYPE_BITS		6
#define NFTS_TYPE_PROTO_PORT \
	((NFTS_TYPE_PROTO << NFTS_TYPE_BITS) | NFTS_TYPE_SERVICE)
#define NFTS_TYPE_IP_PROTO_PORT \
	((NFTS_TYPE_IPADDR << 2 * NFTS_TYPE_BITS) | NFTS_TYPE_PROTO_PORT)

/* Concatenated keys: each field padded to 32 bits, as nft lays them out. */
#define NFTS_KEY_IP_PROTO_PORT	12
#define NFTS_KEY_PROTO_PORT	8

/**
 * struct nfts - a netfilter netlink socket, for one call
 * @nl: the socket, in the caller's network namespace
 * @portid: its netlink port
 * @seq: the next sequence number
 * @genid: the ruleset generation a service was read at
 */
struct nfts {
	struct mnl_socket *nl;
	unsigned int portid;
	uint32_t seq;
	uint32_t genid;
};

/**
 * struct nfts_svc - a service as the table holds it (or should)
 * @key: vip, port, proto, affinity_timeout and local; counters when listed
 * @exists: the table has it
 * @backends: sorted by address, then port
 * @count: how many
 */
struct nfts_svc {
	struct skiff_dp_service key;
	bool exists;
	struct skiff_dp_endpoint *backends;
	unsigned int count;
};

static int nfts_nomem(struct skiff_error *e)
{
	return skiff_error_set(e, -ENOMEM, "out of memory");
}

/* Whether @err says another writer got in the way: read and try again. */
static bool nfts_raced(int err)
{
	return err == -ERESTART || err == -EINTR;
}

/* ---- names ------------------------------------------------------------- */

/* @kind-tcp-VIP-PORT, and -ADDR-PORT of backend @ep unless NULL. */
static void nfts_name(char *buf, const char *kind,
		      const struct skiff_dp_service *svc,
		      const struct skiff_dp_endpoint *ep)
{
	char vip[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN];
	int n;

	inet_ntop(AF_INET, &svc->vip, vip, sizeof(vip));
	n = snprintf(buf, NFTS_NAME_LEN, "%s-%s-%s-%u", kind,
		     skiff_dp_proto_name(svc->proto), vip, svc->port);
	if (ep && n > 0 && n < NFTS_NAME_LEN) {
		inet_ntop(AF_INET, &ep->addr, addr, sizeof(addr));
		snprintf(buf + n, NFTS_NAME_LEN - n, "-%s-%u", addr, ep->port);
	}
}

/* "ADDR-PORT" exactly, as nfts_name() writes it. */
static bool nfts_parse_addr_port(const char *s, struct in_addr *addr,
				 uint16_t *port)
{
	char ip[INET_ADDRSTRLEN];
	unsigned int p;
	int end = 0;

	if (sscanf(s, "%15[0-9.]-%5u%n", ip, &p, &end) != 2 || s[end] ||
	    inet_pton(AF_INET, ip, addr) != 1 || !p || p > 65535)
		return false;
	*port = p;
	return true;
}

/* The service a map named svc-S is for; false if it is none of ours. */
static bool nfts_parse_svc(const char *name, struct skiff_dp_service *svc)
{
	char proto[4], check[NFTS_NAME_LEN];
	int end = 0;

	memset(svc, 0, sizeof(*svc));
	if (sscanf(name, "svc-%3[a-z]-%n", proto, &end) != 1 || !end ||
	    skiff_dp_proto_parse(proto, &svc->proto) ||
	    !nfts_parse_addr_port(name + end, &svc->vip, &svc->port))
		return false;
	/* One spelling only: "010.1.1.1" is not ours. */
	nfts_name(check, "svc", svc, NULL);
	return !strcmp(check, name);
}

/* The backend of @svc a chain named ep-E is for. */
static bool nfts_parse_ep(const char *name, const struct skiff_dp_service *svc,
			  struct skiff_dp_endpoint *ep)
{
	char prefix[NFTS_NAME_LEN], check[NFTS_NAME_LEN];
	size_t len;

	nfts_name(prefix, "ep", svc, NULL);
	len = strlen(prefix);
	memset(ep, 0, sizeof(*ep));
	if (strncmp(name, prefix, len) || name[len] != '-' ||
	    !nfts_parse_addr_port(name + len + 1, &ep->addr, &ep->port))
		return false;
	nfts_name(check, "ep", svc, ep);
	return !strcmp(check, name);
}

/* ---- services in memory ------------------------------------------------ */

static int nfts_svc_cmp(const void *a, const void *b)
{
	const struct skiff_dp_service *x = &((const struct nfts_svc *)a)->key;
	const struct skiff_dp_service *y = &((const struct nfts_svc *)b)->key;
	uint32_t vx = ntohl(x->vip.s_addr), vy = ntohl(y->vip.s_addr);

	if (vx != vy)
		return vx < vy ? -1 : 1;
	if (x->port != y->port)
		return (int)x->port - (int)y->port;
	return (int)x->proto - (int)y->proto;
}

static bool nfts_svc_has(const struct nfts_svc *s,
			 const struct skiff_dp_endpoint *ep)
{
	return s->exists && bsearch(ep, s->backends, s->count,
				    sizeof(*ep), skiff_dp_endpoint_cmp);
}

static uint32_t nfts_svc_weight(const struct nfts_svc *s)
{
	uint32_t total = 0;
	unsigned int i;

	for (i = 0; i < s->count; i++)
		total += s->backends[i].weight;
	return total;
}

static void nfts_svc_free(struct nfts_svc *s)
{
	free(s->backends);
	s->backends = NULL;
	s->count = 0;
}

/* The service the caller asks for: backends sorted, weight 0 read as 1. */
static int nfts_svc_want(struct nfts_svc *s, const struct skiff_dp_service *svc,
			 const struct skiff_dp_endpoint *backends,
			 unsigned int count, struct skiff_error *e)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->key = *svc;
	s->exists = true;
	if (!count)
		return 0;
	s->backends = calloc(count, sizeof(*backends));
	if (!s->backends)
		return nfts_nomem(e);
	memcpy(s->backends, backends, count * sizeof(*backends));
	s->count = count;
	for (i = 0; i < count; i++)
		if (!s->backends[i].weight)
			s->backends[i].weight = 1;
	qsort(s->backends, count, sizeof(*backends), skiff_dp_endpoint_cmp);
	return 0;
}

/* ---- the socket and its requests --------------------------------------- */

static int nfts_open(struct nfts *n, struct skiff_error *e)
{
	memset(n, 0, sizeof(*n));
	n->nl = skiff_nftb_socket(e);
	if (!n->nl)
		return e->err;
	n->portid = mnl_socket_get_portid(n->nl);
	n->seq = 1;
	return 0;
}

static void nfts_close(struct nfts *n)
{
	mnl_socket_close(n->nl);
}

/**
 * struct nfts_req - one request's answers
 * @parse: called for each reply but errors and acks; 0 or -errno
 * @arg: its argument
 * @err: what @parse returned, when it failed
 * @kerr: the kernel's error and message, when it refused
 */
struct nfts_req {
	int (*parse)(const struct nlmsghdr *nlh, void *arg);
	void *arg;
	int err;
	struct skiff_error kerr;
};

static int nfts_req_data(const struct nlmsghdr *nlh, void *data)
{
	struct nfts_req *req = data;

	req->err = req->parse ? req->parse(nlh, req->arg) : 0;
	return req->err ? MNL_CB_ERROR : MNL_CB_OK;
}

static int nfts_req_error(const struct nlmsghdr *nlh, void *data)
{
	struct nfts_req *req = data;

	if (skiff_nl_extack_parse(nlh, nlh->nlmsg_len, &req->kerr) < 0)
		skiff_error_set(&req->kerr, -EBADMSG,
				"malformed error message from the kernel");
	return req->kerr.err ? MNL_CB_ERROR : MNL_CB_STOP;
}

/* Why the answers to a request stopped coming: into @e. */
static int nfts_req_fail(const struct nfts_req *req, int err,
			 struct skiff_error *e)
{
	if (req->kerr.err)
		return skiff_error_set(e, req->kerr.err,
				       "cannot read the nftables ruleset%s%s",
				       req->kerr.msg[0] ? ": " : "",
				       req->kerr.msg);
	if (req->err == -ENOMEM)
		return nfts_nomem(e);
	if (req->err)
		return skiff_error_set(e, req->err,
				       "unexpected nftables message");
	if (err == -EINTR)
		return skiff_error_set(e, -EINTR,
				       "the ruleset changed while being read");
	return skiff_error_set(e, err, "cannot read the nftables ruleset");
}

/*
 * Sends the request @nlh, hands each reply to @parse until the kernel is
 * done (a dump's end, or the ack of a get). Returns 0 or -errno with @e
 * set: the kernel's errno (-ENOENT for what does not exist), -EINTR for a
 * dump the ruleset changed under.
 */
static int nfts_talk(struct nfts *n, struct nlmsghdr *nlh,
		     int (*parse)(const struct nlmsghdr *nlh, void *arg),
		     void *arg, struct skiff_error *e)
{
	static mnl_cb_t ctl[NLMSG_ERROR + 1] = {
		[NLMSG_ERROR] = nfts_req_error,
	};
	struct nfts_req req = { .parse = parse, .arg = arg };
	uint32_t seq = nlh->nlmsg_seq;
	char *buf;
	int ret;

	skiff_error_clear(&req.kerr);
	buf = malloc(NFTS_RECV_LEN);
	if (!buf)
		return nfts_nomem(e);
	ret = mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len);
	while (ret > 0) {
		ret = mnl_socket_recvfrom(n->nl, buf, NFTS_RECV_LEN);
		if (ret <= 0)
			break;
		ret = mnl_cb_run2(buf, ret, seq, n->portid, nfts_req_data,
				  &req, ctl, ARRAY_SIZE(ctl));
	}
	free(buf);
	if (ret < 0)
		return nfts_req_fail(&req, -errno, e);
	return 0;
}

/* A request header for @type in our table's family. */
static struct nlmsghdr *nfts_request(struct nfts *n, char *buf, uint16_t type,
				     uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(buf, type, NFPROTO_IPV4,
				     NLM_F_REQUEST | flags, n->seq++);
}

static int nfts_parse_gen(const struct nlmsghdr *nlh, void *arg)
{
	struct nftnl_gen *gen = nftnl_gen_alloc();
	int err = 0;

	if (!gen)
		return -ENOMEM;
	if (nftnl_gen_nlmsg_parse(nlh, gen) < 0)
		err = -EBADMSG;
	else
		*(uint32_t *)arg = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
	nftnl_gen_free(gen);
	return err;
}

/* The ruleset's generation: it changes with every transaction. */
static int nfts_get_gen(struct nfts *n, uint32_t *genid, struct skiff_error *e)
{
	char buf[NFTS_REQ_LEN] = {};
	struct nlmsghdr *nlh;

	nlh = nfts_request(n, buf, NFT_MSG_GETGEN, NLM_F_ACK);
	return nfts_talk(n, nlh, nfts_parse_gen, genid, e);
}

/* ---- reading services back --------------------------------------------- */

/*
 * Set @name of our table, as requests name it: to get, dump, delete or
 * fill with elements. NULL @name: every set of the table, for a dump.
 */
static struct nftnl_set *nfts_set_named(const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
	if (nftnl_set_set_str(s, NFTNL_SET_TABLE, NFTS_TABLE) < 0 ||
	    (name && nftnl_set_set_str(s, NFTNL_SET_NAME, name) < 0)) {
		nftnl_set_free(s);
		return NULL;
	}
	return s;
}

/**
 * struct nfts_table - services read back from the table
 * @svcs: the services, sorted, each with its backends sorted
 * @nsvcs: how many
 * @ctrs: the counters, sorted by name (service_list only)
 * @nctrs: how many
 */
struct nfts_table {
	struct nfts_svc *svcs;
	unsigned int nsvcs;
	struct nfts_counter *ctrs;
	unsigned int nctrs;
};

/*
 * Grows array @items of @n items of @size to hold one more: its capacity is
 * the power of two at or above @n, so it grows when @n reaches one.
 */
static void *nfts_grow(void *items, unsigned int n, size_t size)
{
	if (n & (n - 1))
		return items;
	return reallocarray(items, n ? 2 * n : 1, size);
}

static void nfts_table_free(struct nfts_table *t)
{
	unsigned int i;

	for (i = 0; i < t->nsvcs; i++)
		nfts_svc_free(&t->svcs[i]);
	free(t->svcs);
	free(t->ctrs);
	memset(t, 0, sizeof(*t));
}

/**
 * struct nfts_choice - what a rule of a chain svc-S says
 * @numgen: it draws a number: it is a backend's choice rule
 * @weight: the bound the number is compared with, the backend's weight
 * @chain: the chain it goes to
 * @affinity: the affinity timeout in its comment
 * @local: its comment says "local"
 */
struct nfts_choice {
	bool numgen;
	uint32_t weight;
	const char *chain;
	uint32_t affinity;
	bool local;
};

static int nfts_choice_expr(struct nftnl_expr *ex, void *data)
{
	struct nfts_choice *c = data;
	const char *name = nftnl_expr_get_str(ex, NFTNL_EXPR_NAME);
	uint32_t len, bound;
	const void *value;

	if (!name)
		return 0;
	if (!strcmp(name, "numgen"))
		c->numgen = true;
	if (!strcmp(name, "cmp")) {
		value = nftnl_expr_get(ex, NFTNL_EXPR_CMP_DATA, &len);
		if (value && len == sizeof(bound)) {
			memcpy(&bound, value, len);
			c->weight = ntohl(bound);
		}
	}
	if (!strcmp(name, "immediate") &&
	    nftnl_expr_is_set(ex, NFTNL_EXPR_IMM_CHAIN))
		c->chain = nftnl_expr_get_str(ex, NFTNL_EXPR_IMM_CHAIN);
	return 0;
}

/*
 * The settings in a comment nfts_svc_comment() wrote: "affinity SECONDS",
 * "local", or both, words apart. Other words are not ours: ignored.
 */
static int nfts_choice_comment(const struct nftnl_udata *attr, void *data)
{
	struct nfts_choice *c = data;
	const char *value = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);
	char copy[NFTS_COMMENT_LEN], *save, *w;
	uint32_t timeout;

	if (nftnl_udata_type(attr) != NFTNL_UDATA_RULE_COMMENT || !len ||
	    value[len - 1] != '\0' || len > sizeof(copy))
		return 0;
	memcpy(copy, value, len);
	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (!strcmp(w, "local")) {
			c->local = true;
			continue;
		}
		if (strcmp(w, "affinity"))
			continue;
		w = strtok_r(NULL, " ", &save);
		if (w && !skiff_parse_u32(w, 1, UINT32_MAX, &timeout))
			c->affinity = timeout;
	}
	return 0;
}

/* Service @key in @t: the last one added if it is that one, else a new one. */
static struct nfts_svc *nfts_table_svc(struct nfts_table *t,
				       const struct skiff_dp_service *key)
{
	struct nfts_svc *svcs, s = { .key = *key, .exists = true };

	if (t->nsvcs && !nfts_svc_cmp(&t->svcs[t->nsvcs - 1], &s))
		return &t->svcs[t->nsvcs - 1];
	svcs = nfts_grow(t->svcs, t->nsvcs, sizeof(*svcs));
	if (!svcs)
		return NULL;
	t->svcs = svcs;
	svcs[t->nsvcs] = s;
	return &svcs[t->nsvcs++];
}

/* Adds backend @ep with @weight to service @s. */
static int nfts_svc_add(struct nfts_svc *s, const struct skiff_dp_endpoint *ep,
			uint32_t weight)
{
	struct skiff_dp_endpoint *eps;

	eps = nfts_grow(s->backends, s->count, sizeof(*eps));
	if (!eps)
		return -ENOMEM;
	s->backends = eps;
	eps[s->count] = *ep;
	eps[s->count++].weight = weight;
	return 0;
}

/*
 * One rule of a dump, into @arg's service if it is in a chain svc-S: a
 * backend's choice rule, or the first rule with the affinity comment.
 */
static int nfts_parse_rule(const struct nlmsghdr *nlh, void *arg)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nfts_choice c = {};
	struct skiff_dp_endpoint ep;
	struct skiff_dp_service key;
	struct nfts_svc *s;
	const char *chain;
	const void *udata;
	uint32_t len;
	int err = 0;

	if (!r)
		return -ENOMEM;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		err = -EBADMSG;
		goto out_free;
	}
	chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	if (!chain || !nfts_parse_svc(chain, &key))
		goto out_free;	/* not a service's */
	nftnl_expr_foreach(r, nfts_choice_expr, &c);
	if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
		udata = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
		nftnl_udata_parse(udata, len, nfts_choice_comment, &c);
	}
	s = nfts_table_svc(arg, &key);
	if (!s) {
		err = -ENOMEM;
		goto out_free;
	}
	if (c.affinity)
		s->key.affinity_timeout = c.affinity;
	if (c.local)
		s->key.local = true;
	/* Not ours unless it has the shape nfts_put_choice() gives. */
	if (c.numgen && c.chain && c.weight && c.weight <= UINT16_MAX &&
	    nfts_parse_ep(c.chain, &s->key, &ep))
		err = nfts_svc_add(s, &ep, c.weight);
out_free:
	nftnl_rule_free(r);
	return err;
}

/* An element of a dispatch map: the service whose chain it goes to. */
static int nfts_dispatch_elem(struct nftnl_set_elem *el, void *arg)
{
	const char *chain = nftnl_set_elem_get_str(el, NFTNL_SET_ELEM_CHAIN);
	struct skiff_dp_service key;

	if (!chain || !nfts_parse_svc(chain, &key))
		return 0;	/* not ours */
	return nfts_table_svc(arg, &key) ? 0 : -ENOMEM;
}

static int nfts_parse_dispatch(const struct nlmsghdr *nlh, void *arg)
{
	struct nftnl_set *s = nftnl_set_alloc();
	int err = -EBADMSG;

	if (!s)
		return -ENOMEM;
	if (nftnl_set_elems_nlmsg_parse(nlh, s) >= 0)
		err = nftnl_set_elem_foreach(s, nfts_dispatch_elem, arg);
	nftnl_set_free(s);
	return err;
}

/* ---- objects ----------------------------------------------------------- */

/* Deletes every rule of chain @name. */
static int nfts_put_flush(struct skiff_nftb *b, const char *name)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int err = -ENOMEM;

	if (!r)
		return -ENOMEM;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	if (nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFTS_TABLE) < 0 ||
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, name) < 0)
		goto out_free;
	nlh = skiff_nftb_msg(b, NFT_MSG_DELRULE, 0);
	if (!nlh)
		goto out_free;
	nftnl_rule_nlmsg_build_payload(nlh, r);
	skiff_nftb_msg_done(b, nlh);
	err = 0;
out_free:
	nftnl_rule_free(r);
	return err;
}

/* NFT_MSG_NEWOBJ or NFT_MSG_DELOBJ for counter @name. */
static int nfts_put_counter(struct skiff_nftb *b, uint16_t type,
			    const char *name)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh;
	int err = -ENOMEM;

	if (!o)
		return -ENOMEM;
	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, NFPROTO_IPV4);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	/* libnftnl 1.2 cannot say that these failed: looked at below. */
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, NFTS_TABLE);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	if (!nftnl_obj_is_set(o, NFTNL_OBJ_TABLE) ||
	    !nftnl_obj_is_set(o, NFTNL_OBJ_NAME))
		goto out_free;
	nlh = skiff_nftb_msg(b, type, type == NFT_MSG_NEWOBJ ? NLM_F_CREATE : 0);
	if (!nlh)
		goto out_free;
	nftnl_obj_nlmsg_build_payload(nlh, o);
	skiff_nftb_msg_done(b, nlh);
	err = 0;
out_free:
	nftnl_obj_free(o);
	return err;
}

/**
 * struct nfts_set_spec - a named set or verdict map
 * @name: its name
 * @flags: NFT_SET_*; NFT_SET_MAP makes it a verdict map
 * @key_type: nft's data type of the key
 * @key_len: bytes
 */
struct nfts_set_spec {
	const char *name;
	uint32_t flags;
	uint32_t key_type;
	uint32_t key_len;
};

/* A new set (or map) @spec. */
static int nfts_put_new_set(struct skiff_nftb *b,
			    const struct nfts_set_spec *spec)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	int err = -ENOMEM;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
	nftnl_set_set_u32(s, NFTNL_SET_ID, ++b->set_id);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, spec->flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, spec->key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, spec->key_len);
	if (spec->flags & NFT_SET_MAP) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
	}
	if (nftnl_set_set_str(s, NFTNL_SET_TABLE, NFTS_TABLE) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, spec->name) < 0)
		goto out_free;
	nlh = skiff_nftb_msg(b, NFT_MSG_NEWSET, NLM_F_CREATE);
	if (!nlh)
		goto out_free;
	nftnl_set_nlmsg_build_payload(nlh, s);
	skiff_nftb_msg_done(b, nlh);
	err = 0;
out_free:
	nftnl_set_free(s);
	return err;
}

/*
 * Message @type about set @s (consumed): NFT_MSG_DELSET, or
 * NFT_MSG_NEWSETELEM / NFT_MSG_DELSETELEM for its elements (none: a flush).
 */
static int nfts_put_set_msg(struct skiff_nftb *b, uint16_t type,
			    struct nftnl_set *s)
{
	struct nlmsghdr *nlh;

	nlh = skiff_nftb_msg(b, type, type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0);
	if (!nlh) {
		nftnl_set_free(s);
		return -ENOMEM;
	}
	if (type == NFT_MSG_DELSET)
		nftnl_set_nlmsg_build_payload(nlh, s);
	else
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
	skiff_nftb_msg_done(b, nlh);
	nftnl_set_free(s);
	return 0;
}

/* NFT_MSG_DELSET, or a flush (NFT_MSG_DELSETELEM) of set @name. */
static int nfts_put_set_del(struct skiff_nftb *b, uint16_t type,
			    const char *name)
{
	struct nftnl_set *s = nfts_set_named(name);

	return s ? nfts_put_set_msg(b, type, s) : -ENOMEM;
}

/* Adds to @s the element @key, a range end or going to chain @chain. */
static int nfts_elem_add(struct nftnl_set *s, const void *key, uint32_t len,
			 bool end, const char *chain)
{
	struct nftnl_set_elem *el = nftnl_set_elem_alloc();

	if (!el)
		return -ENOMEM;
	if (nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, key, len) < 0)
		goto err_free;
	if (end)
		nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_FLAGS,
				       NFT_SET_ELEM_INTERVAL_END);
	if (chain) {
		nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_VERDICT, NFT_GOTO);
		if (nftnl_set_elem_set_str(el, NFTNL_SET_ELEM_CHAIN, chain) < 0)
			goto err_free;
	}
	nftnl_set_elem_add(s, el);
	return 0;

err_free:
	nftnl_set_elem_free(el);
	return -ENOMEM;
}

/* ---- rules ------------------------------------------------------------- */

static void ex_payload(struct skiff_nftb_rule *rb, uint32_t base, uint32_t offset,
		       uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *ex = skiff_nftb_expr(rb, "payload");

	if (!ex)
		return;
	nftnl_expr_set_u32(ex, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_PAYLOAD_DREG, dreg);
}

/* ip saddr (@daddr false) or ip daddr into @dreg */
static void ex_ip_addr(struct skiff_nftb_rule *rb, bool daddr, uint32_t dreg)
{
	ex_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, daddr ? 16 : 12, 4, dreg);
}

/* th dport into @dreg */
static void ex_dport(struct skiff_nftb_rule *rb, uint32_t dreg)
{
	ex_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, dreg);
}

static void ex_meta(struct skiff_nftb_rule *rb, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *ex = skiff_nftb_expr(rb, "meta");

	if (!ex)
		return;
	nftnl_expr_set_u32(ex, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_META_DREG, dreg);
}

static void ex_cmp(struct skiff_nftb_rule *rb, uint32_t op, uint32_t sreg,
		   const void *data, uint32_t len)
{
	struct nftnl_expr *ex = skiff_nftb_expr(rb, "cmp");

	if (!ex)
		return;
	nftnl_expr_set_u32(ex, NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(ex, NFTNL_EXPR_CMP_DATA, data, len);
}

/* meta l4proto @proto */
static void ex_l4proto(struct skiff_nftb_rule *rb, uint8_t proto)
{
	ex_meta(rb, NFT_META_L4PROTO, NFT_REG_1);
	ex_cmp(rb, NFT_CMP_EQ, NFT_REG_1, &proto, sizeof(proto));
}

/* reg = (reg & @mask) ^ @xor, on a 32-bit host-order value */
static void ex_bitwise(struct skiff_nftb_rule *rb, uint32_t reg, uint32_t mask,
		       uint32_t xor)
{
	struct nftnl_expr *ex = skiff_nftb_expr(rb, "bitwise");

	if (!ex)
		return;
	nftnl_expr_set_u32(ex, NFTNL_EXPR_BITWISE_SREG, reg);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_BITWISE_DREG, reg);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_BITWISE_LEN, sizeof(uint32_t));
	nftnl_expr_set(ex, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof(mask));
	nftnl_expr_set(ex, NFTNL_EXPR_BITWISE_XOR, &xor, sizeof(xor));
}

/* meta mark set (mark & @mask) ^ @xor */
static void ex_mark(struct skiff_nftb_rule *rb, uint32_t mask, uint32_t xor)
{
	struct nftnl_expr *ex;

	ex_meta(rb, NFT_META_MARK, NFT_REG_1);
	ex_bitwise(rb, NFT_REG_1, mask, xor);
	ex = skiff_nftb_expr(rb, "meta");
	if (!ex)
		return;
	nftnl_expr_set_u32(ex, NFTNL_EXPR_META_KEY, NFT_META_MARK);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_META_SREG, NFT_REG_1);
}

/* meta mark set mark | 0x4000: masquerade this connection */
static void ex_mark_masq(struct skiff_nftb_rule *rb)
{
	ex_mark(rb, ~NFTS_MARK, NFTS_MARK);
}

/* @sreg in set @set (@flags NFT_LOOKUP_F_INV: not in) */
static void ex_lookup(struct skiff_nftb_rule *rb, uint32_t sreg, const char *set,
		      uint32_t flags)
{
	struct nftnl_expr *ex = skiff_nftb_expr(rb, "lookup");

	if (!ex)
		return;
	nftnl_expr_set_u32(ex, NFTNL_EXPR_LOOKUP_SREG, sreg);
	nftnl_expr_set_str(ex, NFTNL_EXPR_LOOKUP_SET, set);
	if (flags)
		nftnl_expr_set_u32(ex, NFTNL_EXPR_LOOKUP_FLAGS, flags);
}

/* vmap @map on the key in @sreg */
static void ex_vmap(struct skiff_nftb_rule *rb, uint32_t sreg, const char *map)
{
	struct nftnl_expr *ex = skiff_nftb_expr(rb, "lookup");

	if (!ex)
		return;
	nftnl_expr_set_u32(ex, NFTNL_EXPR_LOOKUP_SREG, sreg);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_str(ex, NFTNL_EXPR_LOOKUP_SET, map);
}

/* jump, goto (to @chain) or return */
static void ex_verdict(struct skiff_nftb_rule *rb, int verdict, const char *chain)
{
	struct nftnl_expr *ex = skiff_nftb_expr(rb, "immediate");

	if (!ex)
		return;
	nftnl_expr_set_u32(ex, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_IMM_VERDICT, verdict);
	if (chain)
		nftnl_expr_set_str(ex, NFTNL_EXPR_IMM_CHAIN, chain);
}

static void ex_imm(struct skiff_nftb_rule *rb, uint32_t dreg, const void *data,
		   uint32_t len)
{
	struct nftnl_expr *ex = skiff_nftb_expr(rb, "immediate");

	if (!ex)
		return;
	nftnl_expr_set_u32(ex, NFTNL_EXPR_IMM_DREG, dreg);
	nftnl_expr_set(ex, NFTNL_EXPR_IMM_DATA, data, len);
}

/* counter name @name */
static void ex_counter(struct skiff_nftb_rule *rb, const char *name)
{
	struct nftnl_expr *ex = skiff_nftb_expr(rb, "objref");

	if (!ex)
		return;
	nftnl_expr_set_u32(ex, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
	nftnl_expr_set_str(ex, NFTNL_EXPR_OBJREF_IMM_NAME, name);
}

/*
 * numgen random mod @mod into @dreg, turned to network order: the ranges
 * of an interval map compare as big-endian numbers.
 */
static void ex_numgen(struct skiff_nftb_rule *rb, uint32_t mod, uint32_t dreg)
{
	struct nftnl_expr *ex = skiff_nftb_expr(rb, "numgen");

	if (!ex)
		return;
	nftnl_expr_set_u32(ex, NFTNL_EXPR_NG_DREG, dreg);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_NG_MODULUS, mod);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_NG_OFFSET, 0);
	ex = skiff_nftb_expr(rb, "byteorder");
	if (!ex)
		return;
	nftnl_expr_set_u32(ex, NFTNL_EXPR_BYTEORDER_SREG, dreg);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_BYTEORDER_DREG, dreg);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_BYTEORDER_LEN, sizeof(uint32_t));
	nftnl_expr_set_u32(ex, NFTNL_EXPR_BYTEORDER_SIZE, sizeof(uint32_t));
}

/* update @set { ip saddr timeout @seconds } */
static void ex_affinity_update(struct skiff_nftb_rule *rb, const char *set,
			       uint32_t seconds)
{
	struct nftnl_expr *ex;

	ex_ip_addr(rb, false, NFT_REG_1);
	ex = skiff_nftb_expr(rb, "dynset");
	if (!ex)
		return;
	nftnl_expr_set_u32(ex, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
	nftnl_expr_set_str(ex, NFTNL_EXPR_DYNSET_SET_NAME, set);
	nftnl_expr_set_u64(ex, NFTNL_EXPR_DYNSET_TIMEOUT,
			   (uint64_t)seconds * 1000);
}

/* dnat to @addr:@port */
static void ex_dnat(struct skiff_nftb_rule *rb, struct in_addr addr, uint16_t port)
{
	uint16_t nport = htons(port);
	struct nftnl_expr *ex;

	ex_imm(rb, NFT_REG_1, &addr, sizeof(addr));
	ex_imm(rb, NFT_REG_2, &nport, sizeof(nport));
	ex = skiff_nftb_expr(rb, "nat");
	if (!ex)
		return;
	nftnl_expr_set_u32(ex, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_NAT_FLAGS,
			   NF_NAT_RANGE_PROTO_SPECIFIED);
}

static void ex_reject(struct skiff_nftb_rule *rb, uint32_t type, uint8_t code)
{
	struct nftnl_expr *ex = skiff_nftb_expr(rb, "reject");

	if (!ex)
		return;
	nftnl_expr_set_u32(ex, NFTNL_EXPR_REJECT_TYPE, type);
	nftnl_expr_set_u8(ex, NFTNL_EXPR_REJECT_CODE, code);
}

/* ---- the fixed part of the table --------------------------------------- */

static const struct nfts_set_spec nfts_base_sets[] = {
	{ "cluster-cidr", NFT_SET_INTERVAL, NFTS_TYPE_IPADDR, 4 },
	{ "service-ips", NFT_SET_MAP, NFTS_TYPE_IP_PROTO_PORT,
	  NFTS_KEY_IP_PROTO_PORT },
	{ "service-nodeports", NFT_SET_MAP, NFTS_TYPE_PROTO_PORT,
	  NFTS_KEY_PROTO_PORT },
	{ "no-endpoint-services", NFT_SET_MAP, NFTS_TYPE_IP_PROTO_PORT,
	  NFTS_KEY_IP_PROTO_PORT },
	{ "no-endpoint-nodeports", NFT_SET_MAP, NFTS_TYPE_PROTO_PORT,
	  NFTS_KEY_PROTO_PORT },
};

static const struct {
	const char *name;
	struct skiff_nftb_hook hook;
} nfts_base_chains[] = {
	{ "services", { NULL, 0, 0 } },
	{ "no-endpoints", { NULL, 0, 0 } },
	{ "reject-chain", { NULL, 0, 0 } },
	/* Numeric priorities: a nat output chain refuses "dstnat". */
	{ "nat-prerouting", { "nat", NF_INET_PRE_ROUTING, -100 } },
	{ "nat-output", { "nat", NF_INET_LOCAL_OUT, -100 } },
	{ "nat-postrouting", { "nat", NF_INET_POST_ROUTING, 100 } },
	/* Before DNAT, so that the original destination is seen. */
	{ "filter-prerouting", { "filter", NF_INET_PRE_ROUTING, -110 } },
	{ "filter-output", { "filter", NF_INET_LOCAL_OUT, -110 } },
};

/*
 * ip daddr . meta l4proto . th dport vmap @ips
 * fib daddr type local ip daddr != 127.0.0.0/8
 *	meta l4proto . th dport vmap @nodeports
 */
static int nfts_put_dispatch(struct skiff_nftb *b, const char *chain,
			     const char *ips, const char *nodeports)
{
	uint32_t local = RTN_LOCAL;
	uint8_t loopback = 127;
	struct skiff_nftb_rule rb;
	struct nftnl_expr *ex;
	int err;

	err = skiff_nftb_rule_begin(&rb, NFTS_TABLE, chain);
	if (err)
		return err;
	ex_ip_addr(&rb, true, NFT_REG32_00);
	ex_meta(&rb, NFT_META_L4PROTO, NFT_REG32_01);
	ex_dport(&rb, NFT_REG32_02);
	ex_vmap(&rb, NFT_REG32_00, ips);
	err = skiff_nftb_rule_put(b, &rb) ?:
	      skiff_nftb_rule_begin(&rb, NFTS_TABLE, chain);
	if (err)
		return err;
	ex = skiff_nftb_expr(&rb, "fib");
	if (ex) {
		nftnl_expr_set_u32(ex, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
		nftnl_expr_set_u32(ex, NFTNL_EXPR_FIB_RESULT,
				   NFT_FIB_RESULT_ADDRTYPE);
		nftnl_expr_set_u32(ex, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
	}
	ex_cmp(&rb, NFT_CMP_EQ, NFT_REG_1, &local, sizeof(local));
	ex_payload(&rb, NFT_PAYLOAD_NETWORK_HEADER, 16, 1, NFT_REG_1);
	ex_cmp(&rb, NFT_CMP_NEQ, NFT_REG_1, &loopback, sizeof(loopback));
	ex_meta(&rb, NFT_META_L4PROTO, NFT_REG32_00);
	ex_dport(&rb, NFT_REG32_01);
	ex_vmap(&rb, NFT_REG32_00, nodeports);
	return skiff_nftb_rule_put(b, &rb);
}

/* [ct state new] jump @target, in base chain @chain */
static int nfts_put_jump(struct skiff_nftb *b, const char *chain,
			 bool ct_new, const char *target)
{
	uint32_t zero = 0;
	struct skiff_nftb_rule rb;
	struct nftnl_expr *ex;
	int err;

	err = skiff_nftb_rule_begin(&rb, NFTS_TABLE, chain);
	if (err)
		return err;
	if (ct_new) {
		ex = skiff_nftb_expr(&rb, "ct");
		if (ex) {
			nftnl_expr_set_u32(ex, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
			nftnl_expr_set_u32(ex, NFTNL_EXPR_CT_DREG, NFT_REG_1);
		}
		ex_bitwise(&rb, NFT_REG_1, NF_CT_STATE_BIT(IP_CT_NEW), 0);
		ex_cmp(&rb, NFT_CMP_NEQ, NFT_REG_1, &zero, sizeof(zero));
	}
	ex_verdict(&rb, NFT_JUMP, target);
	return skiff_nftb_rule_put(b, &rb);
}

/*
 * meta l4proto tcp reject with tcp reset
 * reject with icmp type port-unreachable
 */
static int nfts_put_reject(struct skiff_nftb *b)
{
	struct skiff_nftb_rule rb;
	int err;

	err = skiff_nftb_rule_begin(&rb, NFTS_TABLE, "reject-chain");
	if (err)
		return err;
	ex_l4proto(&rb, IPPROTO_TCP);
	ex_reject(&rb, NFT_REJECT_TCP_RST, 0);
	err = skiff_nftb_rule_put(b, &rb) ?:
	      skiff_nftb_rule_begin(&rb, NFTS_TABLE, "reject-chain");
	if (err)
		return err;
	ex_reject(&rb, NFT_REJECT_ICMP_UNREACH, 3 /* port unreachable */);
	return skiff_nftb_rule_put(b, &rb);
}

/*
 * meta mark & 0x4000 == 0 return
 * meta mark set mark ^ 0x4000
 * masquerade fully-random
 */
static int nfts_put_masquerade(struct skiff_nftb *b)
{
	const char *chain = "nat-postrouting";
	uint32_t zero = 0;
	struct skiff_nftb_rule rb;
	struct nftnl_expr *ex;
	int err;

	err = skiff_nftb_rule_begin(&rb, NFTS_TABLE, chain);
	if (err)
		return err;
	ex_meta(&rb, NFT_META_MARK, NFT_REG_1);
	ex_bitwise(&rb, NFT_REG_1, NFTS_MARK, 0);
	ex_cmp(&rb, NFT_CMP_EQ, NFT_REG_1, &zero, sizeof(zero));
	ex_verdict(&rb, NFT_RETURN, NULL);
	err = skiff_nftb_rule_put(b, &rb) ?:
	      skiff_nftb_rule_begin(&rb, NFTS_TABLE, chain);
	if (err)
		return err;
	ex_mark(&rb, ~0u, NFTS_MARK);
	ex = skiff_nftb_expr(&rb, "masq");
	if (ex)
		nftnl_expr_set_u32(ex, NFTNL_EXPR_MASQ_FLAGS,
				   NF_NAT_RANGE_PROTO_RANDOM_FULLY);
	return skiff_nftb_rule_put(b, &rb);
}

static int nfts_put_base_rules(struct skiff_nftb *b)
{
	return nfts_put_dispatch(b, "services", "service-ips",
				 "service-nodeports") ?:
	       nfts_put_dispatch(b, "no-endpoints", "no-endpoint-services",
				 "no-endpoint-nodeports") ?:
	       nfts_put_reject(b) ?:
	       nfts_put_jump(b, "nat-prerouting", false, "services") ?:
	       nfts_put_jump(b, "nat-output", false, "services") ?:
	       nfts_put_masquerade(b) ?:
	       nfts_put_jump(b, "filter-prerouting", true, "no-endpoints") ?:
	       nfts_put_jump(b, "filter-output", true, "no-endpoints");
}

/*
 * The table, its maps and base chains, created if missing; the base
 * chains flushed and filled again, so that this is the same every time.
 */
static int nfts_put_base(struct skiff_nftb *b)
{
	const struct skiff_nftb_hook *hook;
	unsigned int i;
	int err;

	err = skiff_nftb_put_table(b, NFT_MSG_NEWTABLE);
	for (i = 0; !err && i < ARRAY_SIZE(nfts_base_sets); i++)
		err = nfts_put_new_set(b, &nfts_base_sets[i]);
	for (i = 0; !err && i < ARRAY_SIZE(nfts_base_chains); i++) {
		hook = &nfts_base_chains[i].hook;
		err = skiff_nftb_put_chain(b, NFT_MSG_NEWCHAIN,
					   nfts_base_chains[i].name,
					   hook->type ? hook : NULL);
	}
	for (i = 0; !err && i < ARRAY_SIZE(nfts_base_chains); i++)
		err = nfts_put_flush(b, nfts_base_chains[i].name);
	return err ?: nfts_put_base_rules(b);
}

/* The cluster CIDR, the one range of set cluster-cidr; none if @len is 0. */
static int nfts_put_cidr(struct skiff_nftb *b, struct in_addr prefix,
			 uint8_t len)
{
	uint64_t end = (uint64_t)ntohl(prefix.s_addr) + (1ull << (32 - len));
	uint32_t key = htonl(end);
	struct nftnl_set *set;
	int err;

	err = nfts_put_set_del(b, NFT_MSG_DELSETELEM, "cluster-cidr");
	if (err || !len)
		return err;
	set = nfts_set_named("cluster-cidr");
	if (!set)
		return -ENOMEM;
	err = nfts_elem_add(set, &prefix, sizeof(prefix), false, NULL);
	/* A range reaching the top of the address space has no end. */
	if (!err && end <= UINT32_MAX)
		err = nfts_elem_add(set, &key, sizeof(key), true, NULL);
	if (err) {
		nftnl_set_free(set);
		return err;
	}
	return nfts_put_set_msg(b, NFT_MSG_NEWSETELEM, set);
}

/* ---- one service ------------------------------------------------------- */

/*
 * The element that sends service @s to its chain: in the service maps when
 * it has backends, else in the no-endpoint ones.
 */
static int nfts_put_dispatch_elem(struct skiff_nftb *b, uint16_t type,
				  const struct nfts_svc *s)
{
	const struct skiff_dp_service *svc = &s->key;
	uint8_t key[NFTS_KEY_IP_PROTO_PORT] = {};
	uint16_t port = htons(svc->port);
	char chain[NFTS_NAME_LEN];
	struct nftnl_set *set;
	const char *map;
	uint8_t *k = key;

	if (svc->vip.s_addr) {
		map = s->count ? "service-ips" : "no-endpoint-services";
		memcpy(k, &svc->vip, 4);
		k += 4;
	} else {
		map = s->count ? "service-nodeports" : "no-endpoint-nodeports";
	}
	k[0] = svc->proto;
	memcpy(k + 4, &port, sizeof(port));
	nfts_name(chain, "svc", svc, NULL);
	set = nfts_set_named(map);
	if (!set)
		return -ENOMEM;
	if (nfts_elem_add(set, key, k + 8 - key, false,
			  type == NFT_MSG_NEWSETELEM ? chain : NULL)) {
		nftnl_set_free(set);
		return -ENOMEM;
	}
	return nfts_put_set_msg(b, type, set);
}

/*
 * In the chain of service @s, the rule choosing backend @ep: a client it
 * has affinity with if @left is 0, else with the odds of its weight among
 * the @left (its own and the next backends') that the rules before it
 * left: numgen random mod @left < weight.
 */
static int nfts_put_choice(struct skiff_nftb *b, const struct nfts_svc *s,
			   const struct skiff_dp_endpoint *ep, uint32_t left)
{
	char name[NFTS_NAME_LEN], target[NFTS_NAME_LEN];
	uint32_t weight = htonl(ep->weight);
	struct skiff_nftb_rule rb;
	int err;

	nfts_name(name, "svc", &s->key, NULL);
	err = skiff_nftb_rule_begin(&rb, NFTS_TABLE, name);
	if (err)
		return err;
	if (left) {
		ex_numgen(&rb, left, NFT_REG_1);
		ex_cmp(&rb, NFT_CMP_LT, NFT_REG_1, &weight, sizeof(weight));
	} else {
		nfts_name(target, "aff", &s->key, ep);
		ex_ip_addr(&rb, false, NFT_REG_1);
		ex_lookup(&rb, NFT_REG_1, target, 0);
	}
	nfts_name(target, "ep", &s->key, ep);
	ex_verdict(&rb, NFT_GOTO, target);
	return skiff_nftb_rule_put(b, &rb);
}

/*
 * The settings of service @s that its rules do not show, as the comment of
 * its chain's first rule (none when it has none of them), which
 * nfts_choice_comment() reads back.
 */
static void nfts_svc_comment(struct skiff_nftb_rule *rb, const struct nfts_svc *s)
{
	char comment[NFTS_COMMENT_LEN];
	int n = 0;

	if (s->key.affinity_timeout)
		n = snprintf(comment, sizeof(comment), "affinity %u",
			     s->key.affinity_timeout);
	if (s->key.local)
		n += snprintf(comment + n, sizeof(comment) - n, "%slocal",
			      n ? " " : "");
	if (n)
		skiff_nftb_rule_comment(rb, comment);
}

/* The chain of service @s; its backends' chains exist. */
static int nfts_put_svc_rules(struct skiff_nftb *b, const struct nfts_svc *s)
{
	uint32_t left = nfts_svc_weight(s);
	char name[NFTS_NAME_LEN];
	struct skiff_nftb_rule rb;
	unsigned int i;
	int err;

	nfts_name(name, "svc", &s->key, NULL);
	err = skiff_nftb_rule_begin(&rb, NFTS_TABLE, name);
	if (err)
		return err;
	ex_counter(&rb, name);
	nfts_svc_comment(&rb, s);
	if (!s->count) {
		ex_verdict(&rb, NFT_GOTO, "reject-chain");
		return skiff_nftb_rule_put(b, &rb);
	}
	/*
	 * A NodePort's client is outside, or the node itself: always. A
	 * Local service's clients keep their address: only the backends'
	 * hairpin rules mark.
	 */
	if (s->key.vip.s_addr && !s->key.local) {
		ex_ip_addr(&rb, false, NFT_REG_1);
		ex_lookup(&rb, NFT_REG_1, "cluster-cidr", NFT_LOOKUP_F_INV);
	}
	if (!s->key.local)
		ex_mark_masq(&rb);
	err = skiff_nftb_rule_put(b, &rb);
	for (i = 0; !err && s->key.affinity_timeout && i < s->count; i++)
		err = nfts_put_choice(b, s, &s->backends[i], 0);
	/* The last backend's odds are left / left: it takes what is left. */
	for (i = 0; !err && i < s->count; i++) {
		err = nfts_put_choice(b, s, &s->backends[i], left);
		left -= s->backends[i].weight;
	}
	return err;
}

/* The chain of backend @ep of service @s. */
static int nfts_put_ep_rules(struct skiff_nftb *b, const struct nfts_svc *s,
			     const struct skiff_dp_endpoint *ep)
{
	char name[NFTS_NAME_LEN], aff[NFTS_NAME_LEN];
	struct skiff_nftb_rule rb;
	int err;

	nfts_name(name, "ep", &s->key, ep);
	err = skiff_nftb_rule_begin(&rb, NFTS_TABLE, name);
	if (err)
		return err;
	ex_counter(&rb, name);
	/* Hairpin: the backend reaching itself must see the reply come back. */
	ex_ip_addr(&rb, false, NFT_REG_1);
	ex_cmp(&rb, NFT_CMP_EQ, NFT_REG_1, &ep->addr, sizeof(ep->addr));
	ex_mark_masq(&rb);
	err = skiff_nftb_rule_put(b, &rb) ?:
	      skiff_nftb_rule_begin(&rb, NFTS_TABLE, name);
	if (err)
		return err;
	if (s->key.affinity_timeout) {
		nfts_name(aff, "aff", &s->key, ep);
		ex_affinity_update(&rb, aff, s->key.affinity_timeout);
		err = skiff_nftb_rule_put(b, &rb) ?:
		      skiff_nftb_rule_begin(&rb, NFTS_TABLE, name);
		if (err)
			return err;
	}
	/* A transport mapping needs the protocol matched first. */
	ex_l4proto(&rb, s->key.proto);
	ex_dnat(&rb, ep->addr, ep->port);
	return skiff_nftb_rule_put(b, &rb);
}

/* A dynamic set of clients, each with its own timeout, for affinity. */
static int nfts_put_aff_set(struct skiff_nftb *b, const struct nfts_svc *s,
			    const struct skiff_dp_endpoint *ep)
{
	char name[NFTS_NAME_LEN];
	struct nfts_set_spec spec = {
		.name = name,
		.flags = NFT_SET_TIMEOUT | NFT_SET_EVAL,
		.key_type = NFTS_TYPE_IPADDR,
		.key_len = sizeof(struct in_addr),
	};

	nfts_name(name, "aff", &s->key, ep);
	return nfts_put_new_set(b, &spec);
}

/* A new backend's chain and counter. */
static int nfts_put_ep_new(struct skiff_nftb *b, const struct nfts_svc *s,
			   const struct skiff_dp_endpoint *ep)
{
	char name[NFTS_NAME_LEN];

	nfts_name(name, "ep", &s->key, ep);
	return skiff_nftb_put_chain(b, NFT_MSG_NEWCHAIN, name, NULL) ?:
	       nfts_put_counter(b, NFT_MSG_NEWOBJ, name);
}

/*
 * Backend @ep of @old: flushed if @want keeps it (with its affinity set if
 * @want has no affinity), else deleted with its counter and affinity set.
 * Nothing refers to it any more: the service's chain and map went first.
 */
static int nfts_put_ep_unlink(struct skiff_nftb *b, const struct nfts_svc *old,
			      const struct nfts_svc *want,
			      const struct skiff_dp_endpoint *ep)
{
	bool kept = want && nfts_svc_has(want, ep);
	char name[NFTS_NAME_LEN], aff[NFTS_NAME_LEN];
	int err;

	nfts_name(name, "ep", &old->key, ep);
	nfts_name(aff, "aff", &old->key, ep);
	if (kept)
		err = nfts_put_flush(b, name);
	else
		err = skiff_nftb_put_chain(b, NFT_MSG_DELCHAIN, name, NULL) ?:
		      nfts_put_counter(b, NFT_MSG_DELOBJ, name);
	if (!err && old->key.affinity_timeout &&
	    (!kept || !want->key.affinity_timeout))
		err = nfts_put_set_del(b, NFT_MSG_DELSET, aff);
	return err;
}

/*
 * Takes service @old apart: all of it when @want is NULL (a deletion), else
 * what @want does not keep. The references go before what they refer to:
 * the dispatch element, the service's rules, its map, then the backends.
 */
static int nfts_put_unlink(struct skiff_nftb *b, const struct nfts_svc *old,
			   const struct nfts_svc *want)
{
	char name[NFTS_NAME_LEN];
	unsigned int i;
	int err = 0;

	nfts_name(name, "svc", &old->key, NULL);
	if (!want || !old->count != !want->count)
		err = nfts_put_dispatch_elem(b, NFT_MSG_DELSETELEM, old);
	if (!err)
		err = want ? nfts_put_flush(b, name) :
		      skiff_nftb_put_chain(b, NFT_MSG_DELCHAIN, name, NULL);
	for (i = 0; !err && i < old->count; i++)
		err = nfts_put_ep_unlink(b, old, want, &old->backends[i]);
	if (!err && !want)
		err = nfts_put_counter(b, NFT_MSG_DELOBJ, name);
	return err;
}

/* Builds service @want over what is left of @old after nfts_put_unlink(). */
static int nfts_put_link(struct skiff_nftb *b, const struct nfts_svc *old,
			 const struct nfts_svc *want)
{
	const struct skiff_dp_endpoint *ep;
	char name[NFTS_NAME_LEN];
	unsigned int i;
	bool kept;
	int err = 0;

	nfts_name(name, "svc", &want->key, NULL);
	if (!old->exists)
		err = skiff_nftb_put_chain(b, NFT_MSG_NEWCHAIN, name, NULL) ?:
		      nfts_put_counter(b, NFT_MSG_NEWOBJ, name);
	for (i = 0; !err && i < want->count; i++) {
		ep = &want->backends[i];
		kept = nfts_svc_has(old, ep);
		if (!kept)
			err = nfts_put_ep_new(b, want, ep);
		if (!err && want->key.affinity_timeout &&
		    !(kept && old->key.affinity_timeout))
			err = nfts_put_aff_set(b, want, ep);
		if (!err)
			err = nfts_put_ep_rules(b, want, ep);
	}
	if (!err)
		err = nfts_put_svc_rules(b, want);
	if (!err && (!old->exists || !old->count != !want->count))
		err = nfts_put_dispatch_elem(b, NFT_MSG_NEWSETELEM, want);
	return err;
}

/**
 * struct nfts_change - what a transaction does to one service
 * @old: what the table holds of it (->exists false: nothing)
 * @want: what it becomes; NULL to delete it
 */
struct nfts_change {
	const struct nfts_svc *old;
	const struct nfts_svc *want;
};

/* What the table holds of a service it does not have. */
static const struct nfts_svc nfts_absent;

/* Appends to @b what turns service @c->old into @c->want (or deletes it). */
static int nfts_put_service(struct skiff_nftb *b, const struct nfts_change *c)
{
	int err = 0;

	if (c->old->exists)
		err = nfts_put_unlink(b, c->old, c->want);
	if (!err && c->want)
		err = nfts_put_link(b, c->old, c->want);
	return err;
}

/* ---- reading the table back ------------------------------------------ */

/*
 * Dumps the rules of the chain svc-S of service @key and reads the service
 * they make into @t, if any (which the caller frees, even on error). One
 * chain at a time: a dump of the whole table starts each of its parts over
 * from the table's first rule, quadratic in the number of rules.
 */
static int nfts_read_rules(struct nfts *n, const struct skiff_dp_service *key,
			   struct nfts_table *t, struct skiff_error *e)
{
	char buf[NFTS_REQ_LEN] = {}, name[NFTS_NAME_LEN];
	struct nlmsghdr *nlh;
	struct skiff_nftb_rule rb;
	struct nfts_svc *s;
	int err;

	nfts_name(name, "svc", key, NULL);
	if (skiff_nftb_rule_begin(&rb, NFTS_TABLE, name))
		return nfts_nomem(e);
	nlh = nfts_request(n, buf, NFT_MSG_GETRULE, NLM_F_DUMP);
	nftnl_rule_nlmsg_build_payload(nlh, rb.r);
	nftnl_rule_free(rb.r);
	err = nfts_talk(n, nlh, nfts_parse_rule, t, e);
	if (err || !t->nsvcs)
		return err;
	/* The service the rules made, if any, is the last (sorted again). */
	s = &t->svcs[t->nsvcs - 1];
	qsort(s->backends, s->count, sizeof(*s->backends), skiff_dp_endpoint_cmp);
	return 0;
}

/*
 * Every service of the table with its backends into @t (which the caller
 * frees, even on error): the services the dispatch maps go to, then the
 * rules of each one's chain. Not a dump of all chains: a dump's every part
 * walks the table's chains from the first one, quadratic in their number.
 */
static int nfts_read_svcs(struct nfts *n, struct nfts_table *t,
			  struct skiff_error *e)
{
	static const char * const maps[] = {
		"service-ips", "service-nodeports",
		"no-endpoint-services", "no-endpoint-nodeports",
	};
	char buf[NFTS_REQ_LEN] = {};
	struct nfts_table keys = {};
	struct nlmsghdr *nlh;
	struct nftnl_set *s;
	unsigned int i;
	int err = 0;

	for (i = 0; !err && i < ARRAY_SIZE(maps); i++) {
		s = nfts_set_named(maps[i]);
		if (!s) {
			err = nfts_nomem(e);
			break;
		}
		nlh = nfts_request(n, buf, NFT_MSG_GETSETELEM, NLM_F_DUMP);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
		err = nfts_talk(n, nlh, nfts_parse_dispatch, &keys, e);
		if (err == -ENOENT) {
			/* No table, or no such map: no services there. */
			skiff_error_clear(e);
			err = 0;
		}
	}
	qsort(keys.svcs, keys.nsvcs, sizeof(*keys.svcs), nfts_svc_cmp);
	for (i = 0; !err && i < keys.nsvcs; i++)
		/* In two maps, as no change of ours leaves it: read once. */
		if (!i || nfts_svc_cmp(&keys.svcs[i - 1], &keys.svcs[i]))
			err = nfts_read_rules(n, &keys.svcs[i].key, t, e);
	nfts_table_free(&keys);
	return err;
}

/*
 * What the table holds of service @key, and the generation it was read at
 * into @n->genid. @s->exists is false when the service is not there.
 */
static int nfts_read_service(struct nfts *n,
			     const struct skiff_dp_service *key,
			     struct nfts_svc *s, struct skiff_error *e)
{
	struct nfts_table t = {};
	int err;

	memset(s, 0, sizeof(*s));
	s->key = *key;
	err = nfts_get_gen(n, &n->genid, e);
	if (err)
		return err;
	err = nfts_read_rules(n, key, &t, e);
	if (err == -ENOENT) {
		/* No table: no such service. */
		skiff_error_clear(e);
		err = 0;
	}
	if (!err && t.nsvcs) {
		*s = t.svcs[0];
		t.svcs[0].backends = NULL;
	}
	nfts_table_free(&t);
	return err;
}

/* ---- connection tracking ----------------------------------------------- */

/**
 * struct nfts_ct - which connections to forget
 * @gone: services, sorted, each with the backends it lost (sorted)
 * @count: how many
 * @del: a second handle, to delete with while the first one dumps
 */
struct nfts_ct {
	const struct nfts_svc *gone;
	unsigned int count;
	struct nfct_handle *del;
};

/* Whether service @key lost backend @ep. */
static bool nfts_ct_gone(const struct nfts_ct *c,
			 const struct skiff_dp_service *key,
			 const struct skiff_dp_endpoint *ep)
{
	const struct nfts_svc k = { .key = *key }, *s;

	s = bsearch(&k, c->gone, c->count, sizeof(k), nfts_svc_cmp);
	return s && bsearch(ep, s->backends, s->count, sizeof(*ep),
			    skiff_dp_endpoint_cmp);
}

static int nfts_ct_match(enum nf_conntrack_msg_type type,
			 struct nf_conntrack *ct, void *data)
{
	const struct nfts_ct *c = data;
	struct skiff_dp_service key = {};
	struct skiff_dp_endpoint ep = {};

	(void)type;
	if (!(nfct_get_attr_u32(ct, ATTR_STATUS) & IPS_DST_NAT))
		return NFCT_CB_CONTINUE;
	key.vip.s_addr = nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST);
	key.port = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
	key.proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
	ep.addr.s_addr = nfct_get_attr_u32(ct, ATTR_REPL_IPV4_SRC);
	ep.port = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC));
	if (!nfts_ct_gone(c, &key, &ep)) {
		/* A NodePort's connections go to any of the node's addresses. */
		key.vip.s_addr = INADDR_ANY;
		if (!nfts_ct_gone(c, &key, &ep))
			return NFCT_CB_CONTINUE;
	}
	/* One that ended meanwhile is just as good. */
	nfct_query(c->del, NFCT_Q_DESTROY, ct);
	return NFCT_CB_CONTINUE;
}

/*
 * Deletes the conntrack entries of connections through the services @gone
 * to the backends they lost, in one dump of the table. Best effort: it runs
 * once the change is committed.
 */
static void nfts_ct_flush(const struct nfts_svc *gone, unsigned int count)
{
	struct nfct_filter_dump_mark nat = { IPS_DST_NAT, IPS_DST_NAT };
	struct nfts_ct c = { .gone = gone, .count = count };
	struct nfct_filter_dump *filter;
	struct nfct_handle *dump;

	dump = nfct_open(CONNTRACK, 0);
	if (!dump)
		return;
	c.del = nfct_open(CONNTRACK, 0);
	if (!c.del)
		goto out_close_dump;
	filter = nfct_filter_dump_create();
	if (!filter)
		goto out_close_del;
	nfct_filter_dump_set_attr_u8(filter, NFCT_FILTER_DUMP_L3NUM, AF_INET);
	nfct_filter_dump_set_attr(filter, NFCT_FILTER_DUMP_STATUS, &nat);
	nfct_callback_register(dump, NFCT_T_ALL, nfts_ct_match, &c);
	nfct_query(dump, NFCT_Q_DUMP_FILTER, filter);
	nfct_filter_dump_destroy(filter);
out_close_del:
	nfct_close(c.del);
out_close_dump:
	nfct_close(dump);
}

/* Forgets the connections to the backends that the changes @c drop. */
static void nfts_ct_flush_gone(const struct nfts_change *c, unsigned int count)
{
	struct skiff_dp_endpoint *eps, *next;
	unsigned int i, j, ngone = 0;
	size_t neps = 0;
	struct nfts_svc *gone, *s;

	for (i = 0; i < count; i++)
		neps += c[i].old->count;
	if (!neps)
		return;
	gone = calloc(count, sizeof(*gone));
	eps = calloc(neps, sizeof(*eps));
	if (!gone || !eps)
		goto out_free;
	next = eps;
	for (i = 0; i < count; i++) {
		s = &gone[ngone];
		s->key = c[i].old->key;
		s->backends = next;
		/* Still sorted: taken in order from a sorted array. */
		for (j = 0; j < c[i].old->count; j++)
			if (!c[i].want ||
			    !nfts_svc_has(c[i].want, &c[i].old->backends[j]))
				s->backends[s->count++] = c[i].old->backends[j];
		next += s->count;
		ngone += !!s->count;
	}
	qsort(gone, ngone, sizeof(*gone), nfts_svc_cmp);
	if (ngone)
		nfts_ct_flush(gone, ngone);
out_free:
	free(eps);
	free(gone);
}

/* ---- transactions ------------------------------------------------------ */

/*
 * One transaction making the changes @c[0..@count), the fixed part with
 * them when @base, if the ruleset is still at the generation they were read
 * at; then the connections to the backends they drop are forgotten.
 */
static int nfts_commit(struct nfts *n, const struct nfts_change *c,
		       unsigned int count, bool base, struct skiff_error *e)
{
	struct skiff_nftb b;
	unsigned int i;
	int err;

	if (!count && !base)
		return 0;	/* nothing to do: no transaction */
	err = skiff_nftb_begin(&b, NFTS_TABLE, n->seq, n->genid);
	if (!err && base)
		err = nfts_put_base(&b);
	for (i = 0; !err && i < count; i++)
		err = nfts_put_service(&b, &c[i]);
	if (err)
		err = nfts_nomem(e);
	else
		err = skiff_nftb_commit(&b, n->nl, e);
	n->seq = b.seq;
	skiff_nftb_free(&b);
	if (!err)
		nfts_ct_flush_gone(c, count);
	return err;
}

/*
 * Makes service @svc @want, or deletes it (it must exist) when @want is
 * NULL, in one transaction: read, changed, read again if raced.
 */
static int nfts_change_service(const struct skiff_dp_service *svc,
			       const struct nfts_svc *want,
			       struct skiff_error *e)
{
	struct nfts_svc old;
	struct nfts_change c = { .old = &old, .want = want };
	int tries = 0, err;
	struct nfts n;

	err = nfts_open(&n, e);
	if (err)
		return err;
	do {
		err = nfts_read_service(&n, svc, &old, e);
		if (!err && !want && !old.exists)
			err = skiff_error_set(e, -ENOENT, "no such service");
		if (!err)
			err = nfts_commit(&n, &c, 1, !!want, e);
		nfts_svc_free(&old);
	} while (nfts_raced(err) && ++tries < NFTS_TRIES);
	nfts_close(&n);
	return err;
}

/* ---- the operations ---------------------------------------------------- */

int skiff_nft_set_cluster_cidr(struct skiff_dp *dp, struct in_addr prefix,
			       uint8_t len, struct skiff_error *e)
{
	struct skiff_nftb b;
	struct nfts n;
	int err;

	(void)dp;
	err = nfts_open(&n, e);
	if (err)
		return err;
	/* Nothing was read: no generation to hold the batch to. */
	err = skiff_nftb_begin(&b, NFTS_TABLE, n.seq, 0) ?: nfts_put_base(&b) ?:
	      nfts_put_cidr(&b, prefix, len);
	if (err)
		err = nfts_nomem(e);
	else
		err = skiff_nftb_commit(&b, n.nl, e);
	skiff_nftb_free(&b);
	nfts_close(&n);
	return err;
}

int skiff_nft_service_set(struct skiff_dp *dp,
			  const struct skiff_dp_service *svc,
			  const struct skiff_dp_endpoint *backends,
			  unsigned int count, struct skiff_error *e)
{
	struct nfts_svc want;
	int err;

	(void)dp;
	err = nfts_svc_want(&want, svc, backends, count, e);
	if (!err)
		err = nfts_change_service(svc, &want, e);
	nfts_svc_free(&want);
	return err;
}

int skiff_nft_service_del(struct skiff_dp *dp,
			  const struct skiff_dp_service *svc,
			  struct skiff_error *e)
{
	(void)dp;
	return nfts_change_service(svc, NULL, e);
}

/* ---- listing ----------------------------------------------------------- */

/* A named counter's name and values. */
struct nfts_counter {
	char name[NFTS_NAME_LEN];
	uint64_t packets;
	uint64_t bytes;
};

static int nfts_ctr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nfts_counter *)a)->name,
		      ((const struct nfts_counter *)b)->name);
}

static int nfts_parse_counter(const struct nlmsghdr *nlh, void *arg)
{
	struct nfts_table *t = arg;
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nfts_counter *ctrs, *c;
	const char *name;
	int err = -ENOMEM;

	if (!o)
		return -ENOMEM;
	if (nftnl_obj_nlmsg_parse(nlh, o) < 0) {
		err = -EBADMSG;
		goto out_free;
	}
	ctrs = nfts_grow(t->ctrs, t->nctrs, sizeof(*ctrs));
	if (!ctrs)
		goto out_free;
	t->ctrs = ctrs;
	c = &ctrs[t->nctrs++];
	name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME);
	snprintf(c->name, sizeof(c->name), "%s", name ? name : "");
	c->packets = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS);
	c->bytes = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_BYTES);
	err = 0;
out_free:
	nftnl_obj_free(o);
	return err;
}

/* Dumps the table's counters. */
static int nfts_read_counters(struct nfts *n, struct nfts_table *t,
			      struct skiff_error *e)
{
	char buf[NFTS_REQ_LEN] = {};
	struct nlmsghdr *nlh;
	struct nftnl_obj *o;
	int err;

	o = nftnl_obj_alloc();
	if (!o)
		return nfts_nomem(e);
	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, NFPROTO_IPV4);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, NFTS_TABLE);
	if (!nftnl_obj_is_set(o, NFTNL_OBJ_TABLE)) {
		nftnl_obj_free(o);
		return nfts_nomem(e);
	}
	nlh = nfts_request(n, buf, NFT_MSG_GETOBJ, NLM_F_DUMP);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	err = nfts_talk(n, nlh, nfts_parse_counter, t, e);
	if (!err)
		qsort(t->ctrs, t->nctrs, sizeof(*t->ctrs), nfts_ctr_cmp);
	return err;
}

/*
 * Every service with its backends, and their counters if @counters, read
 * at one generation of the ruleset, kept in @n->genid: read again if it
 * changed meanwhile.
 */
static int nfts_read_table(struct nfts *n, struct nfts_table *t,
			   bool counters, struct skiff_error *e)
{
	uint32_t after;
	int err;

	memset(t, 0, sizeof(*t));
	err = nfts_get_gen(n, &n->genid, e) ?: nfts_read_svcs(n, t, e);
	if (!err && counters)
		err = nfts_read_counters(n, t, e);
	if (err == -ENOENT) {
		/* No table yet: no services. */
		nfts_table_free(t);
		skiff_error_clear(e);
		return 0;
	}
	if (!err)
		err = nfts_get_gen(n, &after, e);
	if (!err && n->genid != after)
		err = skiff_error_set(e, -EINTR,
				      "the ruleset changed while being read");
	if (err)
		nfts_table_free(t);
	return err;
}

/* Fills in the counters named @name into @packets and @bytes. */
static void nfts_count(const struct nfts_table *t, const char *name,
		       uint64_t *packets, uint64_t *bytes)
{
	struct nfts_counter key, *c;

	snprintf(key.name, sizeof(key.name), "%s", name);
	c = bsearch(&key, t->ctrs, t->nctrs, sizeof(key), nfts_ctr_cmp);
	*packets = c ? c->packets : 0;
	*bytes = c ? c->bytes : 0;
}

int skiff_nft_service_list(struct skiff_dp *dp, skiff_dp_service_cb cb,
			   void *arg, struct skiff_error *e)
{
	char name[NFTS_NAME_LEN];
	struct nfts_table t;
	struct nfts_svc *s;
	unsigned int i, j;
	int tries = 0, err;
	struct nfts n;

	(void)dp;
	err = nfts_open(&n, e);
	if (err)
		return err;
	do {
		err = nfts_read_table(&n, &t, true, e);
	} while (nfts_raced(err) && ++tries < NFTS_TRIES);
	nfts_close(&n);
	if (err)
		return err;
	for (i = 0; !err && i < t.nsvcs; i++) {
		s = &t.svcs[i];
		nfts_name(name, "svc", &s->key, NULL);
		nfts_count(&t, name, &s->key.packets, &s->key.bytes);
		for (j = 0; j < s->count; j++) {
			nfts_name(name, "ep", &s->key, &s->backends[j]);
			nfts_count(&t, name, &s->backends[j].packets,
				   &s->backends[j].bytes);
		}
		err = cb(&s->key, s->backends, s->count, arg);
	}
	nfts_table_free(&t);
	return err;
}

/* ---- sync -------------------------------------------------------------- */

/* Whether the table's service @old is @want already: nothing to change. */
static bool nfts_svc_same(const struct nfts_svc *old,
			  const struct nfts_svc *want)
{
	return skiff_dp_service_same(&old->key, old->backends, old->count,
				     &want->key, want->backends, want->count);
}

/*
 * Into @c, the changes that turn the services of @t into @wants[0..@n)
 * (sorted); @c has room for both. Those already as wanted are left alone.
 */
static unsigned int nfts_sync_changes(const struct nfts_table *t,
				      const struct nfts_svc *wants,
				      unsigned int n, struct nfts_change *c)
{
	unsigned int i = 0, j = 0, count = 0;
	int cmp;

	while (i < t->nsvcs || j < n) {
		if (i == t->nsvcs)
			cmp = 1;
		else if (j == n)
			cmp = -1;
		else
			cmp = nfts_svc_cmp(&t->svcs[i], &wants[j]);
		if (cmp < 0) {
			c[count].old = &t->svcs[i++];
			c[count++].want = NULL;
		} else if (cmp > 0) {
			c[count].old = &nfts_absent;
			c[count++].want = &wants[j++];
		} else {
			if (!nfts_svc_same(&t->svcs[i], &wants[j])) {
				c[count].old = &t->svcs[i];
				c[count++].want = &wants[j];
			}
			i++;
			j++;
		}
	}
	return count;
}

/* One try of a sync to @wants[0..@n): read the table, change it. */
static int nfts_sync_once(struct nfts *nl, const struct nfts_svc *wants,
			  unsigned int n, struct skiff_error *e)
{
	struct nfts_change *c;
	struct nfts_table t;
	unsigned int count;
	int err;

	err = nfts_read_table(nl, &t, false, e);
	if (err)
		return err;
	c = calloc((size_t)t.nsvcs + n + 1, sizeof(*c));
	if (!c) {
		nfts_table_free(&t);
		return nfts_nomem(e);
	}
	count = nfts_sync_changes(&t, wants, n, c);
	/* The fixed part goes with any service, to repair it as set does. */
	err = nfts_commit(nl, c, count, n > 0, e);
	free(c);
	nfts_table_free(&t);
	return err;
}

int skiff_nft_service_sync(struct skiff_dp *dp,
			   const struct skiff_dp_service_spec *specs,
			   unsigned int n, struct skiff_error *e)
{
	struct nfts_svc *wants;
	unsigned int i;
	int tries = 0, err = 0;
	struct nfts nl;

	(void)dp;
	wants = calloc((size_t)n + 1, sizeof(*wants));
	if (!wants)
		return nfts_nomem(e);
	for (i = 0; !err && i < n; i++)
		err = nfts_svc_want(&wants[i], &specs[i].svc, specs[i].backends,
				    specs[i].count, e);
	if (err)
		goto out_free;
	qsort(wants, n, sizeof(*wants), nfts_svc_cmp);
	err = nfts_open(&nl, e);
	if (err)
		goto out_free;
	do {
		err = nfts_sync_once(&nl, wants, n, e);
	} while (nfts_raced(err) && ++tries < NFTS_TRIES);
	nfts_close(&nl);
out_free:
	for (i = 0; i < n; i++)
		nfts_svc_free(&wants[i]);
	free(wants);
	return err;
}
