// SPDX-License-Identifier: GPL-2.0
/*
 * The "nft" data plane, overlay half: Linux's own vxlan driver, programmed
 * over rtnetlink (libnl-route) exactly as flannel's vxlan backend does it,
 * so that a node without skiff.ko still speaks the same VXLAN and serves as
 * the baseline the kmod is measured against.
 *
 * A device is a vxlan link with no remote or group and learning off: it
 * sends only where the kernel's tables say. A peer, remote pod subnet P/len
 * at node R with VTEP MAC M, is three kernel objects on that link, G being
 * P's first address (its network address, as flannel uses x.y.z.0):
 *
 *   neighbour  G lladdr M nud permanent       (IP -> inner destination MAC)
 *   fdb        M dst R self permanent         (MAC -> outer destination)
 *   route      P/len via G onlink, main table  (what makes it a peer)
 *
 * The route is the peer: peer_list reads the routes and looks the MAC and
 * the remote up in the other two tables. Several peers may share a MAC (one
 * node, several subnets), so a neighbour or fdb entry goes only with the
 * last peer using it. Every change is all or nothing: each step is undone
 * if a later one fails, and nothing is touched before the checks are done.
 *
 * What follows from using the kernel's tables rather than our own:
 *  - an onlink route needs its device up, so peers can be added only once
 *    the device is up, and taking it down drops their routes and neighbour
 *    entries (the kernel flushes them; the fdb entries stay). The owner of
 *    the device adds them again after bringing it up, as flannel does.
 *  - the peer's VTEP MAC is required (a skiff peer would take broadcast;
 *    the vxlan driver needs a real MAC to look up in its fdb).
 *  - there are no per-peer counters.
 *
 * Validation matches skiff.ko's (kmod/netlink.c) rule for rule, so both
 * backends refuse the same requests with the same errno. The kernel's own
 * refusals come back with its extack message (e.g. vxlan's "A VXLAN device
 * with the specified VNI already exists") when it gives one.
 *
 * Tables are read with plain rtnetlink dumps parsed by rtnl_route_parse()
 * and rtnl_neigh_parse(), not libnl caches: a cache keeps one object per
 * key, and its bridge-family key (MAC, master) merges the fdb entries of
 * different vxlan devices.
 */

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/neighbour.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "dataplane.h"
#include "dp_nft.h"
#include "nl.h"
#include "util.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define NFT_VNI_MAX	0xffffff
#define NFT_MTU_MIN	68
/* 65535 less the 50 bytes of VXLAN over IPv4, as skiff.ko allows. */
#define NFT_MTU_MAX	65485
/* A dump the kernel flags as inconsistent is read again, this often. */
#define NFT_DUMP_TRIES	4

/**
 * struct nft_dp - the backend's state, &skiff_dp.priv
 * @sock: rtnetlink socket, in the network namespace of the opener
 * @kerr: the kernel's errno and extack message for the last request, if
 *	it refused it (filled by skiff_nl_on_error)
 */
struct nft_dp {
	struct nl_sock *sock;
	struct skiff_error kerr;
};

/* A growable array of @size-byte items. */
struct nft_vec {
	void *items;
	size_t len;
	size_t cap;
	size_t size;
};

/* A peer route: @prefix/@len via @gw dev @ifindex onlink. */
struct nft_route {
	int ifindex;
	struct in_addr prefix;
	uint8_t len;
	struct in_addr gw;
};

/* An IPv4 neighbour entry of the device. */
struct nft_neigh {
	struct in_addr ip;
	uint8_t mac[ETH_ALEN];
	bool permanent;
};

/* An fdb entry of the device: @mac is sent to @remote. */
struct nft_fdb {
	uint8_t mac[ETH_ALEN];
	struct in_addr remote;
};

/**
 * struct nft_snap - what the kernel holds for the peers of one device
 * @ifindex: the device; 0 for every device (routes only)
 * @routes: &struct nft_route, the peers
 * @neighs: &struct nft_neigh
 * @fdbs: &struct nft_fdb
 */
struct nft_snap {
	int ifindex;
	struct nft_vec routes;
	struct nft_vec neighs;
	struct nft_vec fdbs;
};

/* ---- errors ------------------------------------------------------------ */

static int nft_nomem(struct skiff_error *e)
{
	return skiff_error_set(e, -ENOMEM, "out of memory");
}

/* ---- small helpers ----------------------------------------------------- */

static void *nft_vec_push(struct nft_vec *v)
{
	void *item;

	if (v->len == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 16;
		void *items = reallocarray(v->items, cap, v->size);

		if (!items)
			return NULL;
		v->items = items;
		v->cap = cap;
	}
	item = (char *)v->items + v->len++ * v->size;
	memset(item, 0, v->size);
	return item;
}

static void *nft_vec_at(const struct nft_vec *v, size_t i)
{
	return (char *)v->items + i * v->size;
}

static struct nl_addr *nft_addr4(struct in_addr ip, unsigned int prefix_len)
{
	struct nl_addr *addr = nl_addr_build(AF_INET, &ip, sizeof(ip));

	if (addr)
		nl_addr_set_prefixlen(addr, prefix_len);
	return addr;
}

static struct nl_addr *nft_addr_mac(const uint8_t *mac)
{
	return nl_addr_build(AF_LLC, mac, ETH_ALEN);
}

/* Copies @addr into @ip if it is an IPv4 address (of any libnl family). */
static bool nft_get4(struct nl_addr *addr, struct in_addr *ip)
{
	if (!addr || nl_addr_get_len(addr) != sizeof(*ip))
		return false;
	memcpy(ip, nl_addr_get_binary_addr(addr), sizeof(*ip));
	return true;
}

static bool nft_get_mac(struct nl_addr *addr, uint8_t *mac)
{
	if (!addr || nl_addr_get_len(addr) != ETH_ALEN)
		return false;
	memcpy(mac, nl_addr_get_binary_addr(addr), ETH_ALEN);
	return true;
}

static const char *nft_ntoa(struct in_addr ip, char *buf)
{
	return inet_ntop(AF_INET, &ip, buf, INET_ADDRSTRLEN);
}

static const char *nft_mac_ntoa(const uint8_t *m, char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

/* ---- validation, as skiff.ko does it ----------------------------------- */

/* The kernel's dev_valid_name() plus skiff.ko's ban on '%'. */
static bool nft_name_valid(const char *name)
{
	const unsigned char *c;

	if (!name[0] || strnlen(name, IF_NAMESIZE) >= IF_NAMESIZE ||
	    !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (c = (const unsigned char *)name; *c; c++) {
		/* The kernel's isspace() also counts Latin-1's NBSP. */
		if (*c == '/' || *c == ':' || *c == '%' || isspace(*c) ||
		    *c == 0xa0)
			return false;
	}
	return true;
}

/* ipv4_is_zeronet(), ipv4_is_multicast(), ipv4_is_lbcast() */
static bool nft_ip_not_unicast(struct in_addr ip)
{
	uint32_t a = ntohl(ip.s_addr);

	return (a >> 24) == 0 || (a >> 28) == 0xe || a == 0xffffffff;
}

static bool nft_ip_loopback(struct in_addr ip)
{
	return (ntohl(ip.s_addr) >> 24) == 127;
}

/* is_valid_ether_addr(): neither multicast nor all zeroes. */
static bool nft_mac_unicast(const uint8_t *mac)
{
	static const uint8_t zero[ETH_ALEN];

	return !(mac[0] & 1) && memcmp(mac, zero, ETH_ALEN);
}

/*
 * skiff_dev_parse_new(). The ranges are checked by the kernel's policy,
 * whose message ("integer out of range") names no field; ours do.
 */
static int nft_dev_check(const struct skiff_dp_dev *dev, struct skiff_error *e)
{
	if (!nft_name_valid(dev->name))
		return skiff_error_set(e, -EINVAL, "invalid interface name");
	if (dev->vni > NFT_VNI_MAX)
		return skiff_error_set(e, -EINVAL,
				       "VNI out of range (0..%u)", NFT_VNI_MAX);
	if (!dev->port)
		return skiff_error_set(e, -EINVAL,
				       "port out of range (1..65535)");
	if (dev->mtu < NFT_MTU_MIN || dev->mtu > NFT_MTU_MAX)
		return skiff_error_set(e, -EINVAL, "MTU out of range (%u..%u)",
				       NFT_MTU_MIN, NFT_MTU_MAX);
	/* INADDR_ANY means "no local address", which skiff.ko is not sent. */
	if (dev->local4.s_addr && nft_ip_not_unicast(dev->local4))
		return skiff_error_set(e, -EINVAL,
				       "local address must be unicast");
	if (dev->has_vtep_mac && !nft_mac_unicast(dev->vtep_mac))
		return skiff_error_set(e, -EINVAL,
				       "VTEP MAC must be a unicast address");
	return 0;
}

/* skiff_peer_parse(); @full: a peer to add, not just a prefix to delete. */
static int nft_peer_check(const struct skiff_dp_peer *peer, bool full,
			  struct skiff_error *e)
{
	uint32_t mask;

	if (peer->prefix_len < 1 || peer->prefix_len > 32)
		return skiff_error_set(e, -EINVAL,
				       "prefix length out of range (1..32)");
	mask = 0xffffffffu << (32 - peer->prefix_len);
	if (ntohl(peer->prefix4.s_addr) & ~mask)
		return skiff_error_set(e, -EINVAL, "prefix has host bits set");
	if (!full)
		return 0;
	if (nft_ip_not_unicast(peer->remote4) || nft_ip_loopback(peer->remote4))
		return skiff_error_set(e, -EINVAL,
				       "remote must be a unicast underlay address");
	if (!peer->has_remote_mac)
		return skiff_error_set(e, -EINVAL,
				       "the nft backend needs the peer's VTEP MAC");
	if (!nft_mac_unicast(peer->remote_mac))
		return skiff_error_set(e, -EINVAL,
				       "remote MAC must be a unicast address");
	return 0;
}

/* ---- requests ---------------------------------------------------------- */

struct nft_dump_ctx {
	int (*parse)(struct nlmsghdr *nlh, struct nft_snap *s);
	struct nft_snap *snap;
	int err;
};

static int nft_dump_valid(struct nl_msg *msg, void *arg)
{
	struct nft_dump_ctx *ctx = arg;

	if (!ctx->err)
		ctx->err = ctx->parse(nlmsg_hdr(msg), ctx->snap);
	return NL_OK;
}

/*
 * Dumps @type with request header @hdr, handing each message to @parse.
 * Returns 0 or a libnl error (-NLE_DUMP_INTR if the table changed meanwhile).
 */
static int nft_dump(struct nft_dp *nft, int type, void *hdr, size_t len,
		    int (*parse)(struct nlmsghdr *nlh, struct nft_snap *s),
		    struct nft_snap *snap)
{
	struct nft_dump_ctx ctx = { .parse = parse, .snap = snap };
	struct nl_cb *orig, *cb;
	int err;

	/* A copy of the socket's callbacks, so skiff_nl_on_error still runs. */
	orig = nl_socket_get_cb(nft->sock);
	cb = nl_cb_clone(orig);
	nl_cb_put(orig);
	if (!cb)
		return -NLE_NOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, nft_dump_valid, &ctx);

	skiff_error_clear(&nft->kerr);
	err = nl_send_simple(nft->sock, type, NLM_F_DUMP, hdr, len);
	if (err >= 0)
		err = nl_recvmsgs(nft->sock, cb);
	nl_cb_put(cb);
	return err < 0 ? err : ctx.err;
}

/* ---- reading the tables ------------------------------------------------ */

/* A route peer_add makes: main table, one gateway, onlink, on @ifindex. */
static bool nft_route_is_peer(struct rtnl_route *route, int ifindex)
{
	struct rtnl_nexthop *nh;
	struct nl_addr *dst;
	struct in_addr gw;

	if (rtnl_route_get_family(route) != AF_INET ||
	    rtnl_route_get_table(route) != RT_TABLE_MAIN ||
	    rtnl_route_get_type(route) != RTN_UNICAST ||
	    rtnl_route_get_nnexthops(route) != 1)
		return false;
	dst = rtnl_route_get_dst(route);
	if (!dst || !nl_addr_get_prefixlen(dst))
		return false;
	nh = rtnl_route_nexthop_n(route, 0);
	if (ifindex && rtnl_route_nh_get_ifindex(nh) != ifindex)
		return false;
	return (rtnl_route_nh_get_flags(nh) & RTNH_F_ONLINK) &&
	       nft_get4(rtnl_route_nh_get_gateway(nh), &gw);
}

static int nft_snap_route(struct nlmsghdr *nlh, struct nft_snap *s)
{
	struct rtnl_nexthop *nh;
	struct rtnl_route *route;
	struct nl_addr *dst;
	struct nft_route *r;
	int err;

	err = rtnl_route_parse(nlh, &route);
	if (err < 0)
		return err;
	if (!nft_route_is_peer(route, s->ifindex))
		goto out_put;
	r = nft_vec_push(&s->routes);
	if (!r) {
		err = -NLE_NOMEM;
		goto out_put;
	}
	nh = rtnl_route_nexthop_n(route, 0);
	dst = rtnl_route_get_dst(route);
	r->ifindex = rtnl_route_nh_get_ifindex(nh);
	r->len = nl_addr_get_prefixlen(dst);
	nft_get4(dst, &r->prefix);
	nft_get4(rtnl_route_nh_get_gateway(nh), &r->gw);
out_put:
	rtnl_route_put(route);
	return err < 0 ? err : 0;
}

static int nft_snap_neigh(struct nlmsghdr *nlh, struct nft_snap *s)
{
	struct rtnl_neigh *neigh;
	struct nft_neigh *n;
	struct in_addr ip;
	uint8_t mac[ETH_ALEN];
	int err;

	err = rtnl_neigh_parse(nlh, &neigh);
	if (err < 0)
		return err;
	err = 0;
	if (rtnl_neigh_get_family(neigh) != AF_INET ||
	    rtnl_neigh_get_ifindex(neigh) != s->ifindex ||
	    !nft_get4(rtnl_neigh_get_dst(neigh), &ip) ||
	    !nft_get_mac(rtnl_neigh_get_lladdr(neigh), mac))
		goto out_put;
	n = nft_vec_push(&s->neighs);
	if (!n) {
		err = -NLE_NOMEM;
		goto out_put;
	}
	n->ip = ip;
	memcpy(n->mac, mac, ETH_ALEN);
	n->permanent = rtnl_neigh_get_state(neigh) & NUD_PERMANENT;
out_put:
	rtnl_neigh_put(neigh);
	return err;
}

static int nft_snap_fdb(struct nlmsghdr *nlh, struct nft_snap *s)
{
	struct rtnl_neigh *neigh;
	struct in_addr remote;
	uint8_t mac[ETH_ALEN];
	struct nft_fdb *f;
	int err;

	err = rtnl_neigh_parse(nlh, &neigh);
	if (err < 0)
		return err;
	err = 0;
	/* libnl keeps a bridge entry's NDA_DST as an AF_BRIDGE address. */
	if (rtnl_neigh_get_family(neigh) != AF_BRIDGE ||
	    rtnl_neigh_get_ifindex(neigh) != s->ifindex ||
	    !nft_get_mac(rtnl_neigh_get_lladdr(neigh), mac) ||
	    !nft_get4(rtnl_neigh_get_dst(neigh), &remote))
		goto out_put;
	f = nft_vec_push(&s->fdbs);
	if (!f) {
		err = -NLE_NOMEM;
		goto out_put;
	}
	memcpy(f->mac, mac, ETH_ALEN);
	f->remote = remote;
out_put:
	rtnl_neigh_put(neigh);
	return err;
}

static void nft_snap_init(struct nft_snap *s, int ifindex)
{
	memset(s, 0, sizeof(*s));
	s->ifindex = ifindex;
	s->routes.size = sizeof(struct nft_route);
	s->neighs.size = sizeof(struct nft_neigh);
	s->fdbs.size = sizeof(struct nft_fdb);
}

static void nft_snap_free(struct nft_snap *s)
{
	free(s->routes.items);
	free(s->neighs.items);
	free(s->fdbs.items);
}

static int nft_snap_dump(struct nft_dp *nft, struct nft_snap *s, bool neighs)
{
	struct rtmsg rtm = { .rtm_family = AF_INET };
	struct ndmsg ndm = { .ndm_family = AF_INET };
	/* An ifinfomsg with an index makes the kernel dump that port's fdb. */
	struct ifinfomsg ifm = {
		.ifi_family = AF_BRIDGE,
		.ifi_index = s->ifindex,
	};
	int err;

	err = nft_dump(nft, RTM_GETROUTE, &rtm, sizeof(rtm), nft_snap_route, s);
	if (err || !neighs)
		return err;
	err = nft_dump(nft, RTM_GETNEIGH, &ndm, sizeof(ndm), nft_snap_neigh, s);
	if (err)
		return err;
	return nft_dump(nft, RTM_GETNEIGH, &ifm, sizeof(ifm), nft_snap_fdb, s);
}

/*
 * Reads the peer routes of @ifindex (of every device if 0) and, with
 * @neighs, its neighbour and fdb entries.
 */
static int nft_snap_load(struct nft_dp *nft, struct nft_snap *s, int ifindex,
			 bool neighs, struct skiff_error *e)
{
	int tries = 0;
	int err;

	for (;;) {
		nft_snap_init(s, ifindex);
		err = nft_snap_dump(nft, s, neighs);
		if (!err)
			return 0;
		nft_snap_free(s);
		if (err != -NLE_DUMP_INTR || ++tries == NFT_DUMP_TRIES)
			break;
	}
	return skiff_nl_fail(&nft->kerr, err, e, "cannot read the routing tables");
}

static const struct nft_route *nft_snap_route_find(const struct nft_snap *s,
						   struct in_addr prefix,
						   uint8_t len)
{
	const struct nft_route *r;
	size_t i;

	for (i = 0; i < s->routes.len; i++) {
		r = nft_vec_at(&s->routes, i);
		if (r->prefix.s_addr == prefix.s_addr && r->len == len)
			return r;
	}
	return NULL;
}

static const struct nft_neigh *nft_snap_neigh_find(const struct nft_snap *s,
						   struct in_addr ip)
{
	const struct nft_neigh *n;
	size_t i;

	for (i = 0; i < s->neighs.len; i++) {
		n = nft_vec_at(&s->neighs, i);
		if (n->ip.s_addr == ip.s_addr)
			return n;
	}
	return NULL;
}

static const struct nft_fdb *nft_snap_fdb_find(const struct nft_snap *s,
					       const uint8_t *mac)
{
	const struct nft_fdb *f;
	size_t i;

	for (i = 0; i < s->fdbs.len; i++) {
		f = nft_vec_at(&s->fdbs, i);
		if (!memcmp(f->mac, mac, ETH_ALEN))
			return f;
	}
	return NULL;
}

/* How many peers of @ifindex there are. */
static uint32_t nft_snap_count(const struct nft_snap *s, int ifindex)
{
	const struct nft_route *r;
	uint32_t count = 0;
	size_t i;

	for (i = 0; i < s->routes.len; i++) {
		r = nft_vec_at(&s->routes, i);
		count += r->ifindex == ifindex;
	}
	return count;
}

/* How many peers other than @skip route via @gw. */
static size_t nft_snap_gw_users(const struct nft_snap *s, struct in_addr gw,
				const struct nft_route *skip)
{
	const struct nft_route *r;
	size_t i, count = 0;

	for (i = 0; i < s->routes.len; i++) {
		r = nft_vec_at(&s->routes, i);
		count += r != skip && r->gw.s_addr == gw.s_addr;
	}
	return count;
}

/* How many peers other than @skip have @mac as their VTEP MAC. */
static size_t nft_snap_mac_users(const struct nft_snap *s, const uint8_t *mac,
				 const struct nft_route *skip)
{
	const struct nft_route *r;
	const struct nft_neigh *n;
	size_t i, count = 0;

	for (i = 0; i < s->routes.len; i++) {
		r = nft_vec_at(&s->routes, i);
		n = nft_snap_neigh_find(s, r->gw);
		count += r != skip && n && !memcmp(n->mac, mac, ETH_ALEN);
	}
	return count;
}

/* ---- devices ----------------------------------------------------------- */

/* Finds vxlan device @name; the caller puts *@linkp. */
static int nft_vxlan_get(struct nft_dp *nft, const char *name,
			 struct rtnl_link **linkp, struct skiff_error *e)
{
	struct rtnl_link *link;
	int err;

	skiff_error_clear(&nft->kerr);
	err = rtnl_link_get_kernel(nft->sock, 0, name, &link);
	if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND)
		return skiff_error_set(e, -ENODEV, "no such interface");
	if (err < 0)
		return skiff_nl_fail(&nft->kerr, err, e, "%s", name);
	if (!rtnl_link_is_vxlan(link)) {
		rtnl_link_put(link);
		return skiff_error_set(e, -EINVAL,
				       "interface is not a vxlan device");
	}
	*linkp = link;
	return 0;
}

static int nft_vxlan_ifindex(struct nft_dp *nft, const char *name,
			     int *ifindex, struct skiff_error *e)
{
	struct rtnl_link *link;
	int err;

	err = nft_vxlan_get(nft, name, &link, e);
	if (err)
		return err;
	*ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return 0;
}

/* Fills @dev from vxlan @link, except the peer count. */
static void nft_dev_read(struct rtnl_link *link, struct skiff_dp_dev *dev)
{
	struct nl_addr *local;
	uint32_t val;

	memset(dev, 0, sizeof(*dev));
	snprintf(dev->name, sizeof(dev->name), "%s", rtnl_link_get_name(link));
	dev->ifindex = rtnl_link_get_ifindex(link);
	if (!rtnl_link_vxlan_get_id(link, &val))
		dev->vni = val;
	if (!rtnl_link_vxlan_get_port(link, &val))
		dev->port = val;
	dev->mtu = rtnl_link_get_mtu(link);
	if (!rtnl_link_vxlan_get_local(link, &local)) {
		if (nl_addr_get_family(local) == AF_INET)
			nft_get4(local, &dev->local4);
		nl_addr_put(local);
	}
	dev->has_vtep_mac = nft_get_mac(rtnl_link_get_addr(link),
					dev->vtep_mac);
}

/* Sets the options of the new vxlan device @link from @dev. */
static int nft_link_config(struct rtnl_link *link,
			   const struct skiff_dp_dev *dev)
{
	struct nl_addr *addr;
	int err;

	rtnl_link_set_name(link, dev->name);
	rtnl_link_set_mtu(link, dev->mtu);
	err = rtnl_link_vxlan_set_id(link, dev->vni);
	if (!err)
		err = rtnl_link_vxlan_set_port(link, dev->port);
	/* No remote, no group, no learning: only our fdb entries count. */
	if (!err)
		err = rtnl_link_vxlan_set_learning(link, 0);
	if (!err && dev->local4.s_addr) {
		addr = nft_addr4(dev->local4, 32);
		err = addr ? rtnl_link_vxlan_set_local(link, addr) : -NLE_NOMEM;
		nl_addr_put(addr);
	}
	if (!err && dev->has_vtep_mac) {
		addr = nft_addr_mac(dev->vtep_mac);
		if (addr)
			rtnl_link_set_addr(link, addr);
		else
			err = -NLE_NOMEM;
		nl_addr_put(addr);
	}
	return err;
}

/* Creates the vxlan device @dev, down. */
static int nft_link_create(struct nft_dp *nft, const struct skiff_dp_dev *dev,
			   struct skiff_error *e)
{
	struct rtnl_link *link;
	int err;

	link = rtnl_link_vxlan_alloc();
	if (!link)
		return nft_nomem(e);
	err = nft_link_config(link, dev);
	if (!err) {
		skiff_error_clear(&nft->kerr);
		err = rtnl_link_add(nft->sock, link,
				    NLM_F_CREATE | NLM_F_EXCL);
	}
	rtnl_link_put(link);
	if (err == -NLE_EXIST && !nft->kerr.msg[0])
		return skiff_error_set(e, -EEXIST,
				       "an interface with this name exists");
	if (err < 0)
		return skiff_nl_fail(&nft->kerr, err, e, "cannot create the vxlan device");
	return 0;
}

static int nft_link_delete(struct nft_dp *nft, struct rtnl_link *link,
			   struct skiff_error *e)
{
	int err;

	skiff_error_clear(&nft->kerr);
	err = rtnl_link_delete(nft->sock, link);
	if (err < 0)
		return skiff_nl_fail(&nft->kerr, err, e, "cannot delete the vxlan device");
	return 0;
}

/*
 * Deletes the device we just made, by name: all we know of it when reading
 * it back failed.
 */
static void nft_link_delete_name(struct nft_dp *nft, const char *name)
{
	struct skiff_error ignored;
	struct rtnl_link *link;

	link = rtnl_link_alloc();
	if (!link)
		return;
	rtnl_link_set_name(link, name);
	nft_link_delete(nft, link, &ignored);
	rtnl_link_put(link);
}

static int nft_dev_add(struct skiff_dp *dp, struct skiff_dp_dev *dev,
		       struct skiff_error *e)
{
	struct nft_dp *nft = dp->priv;
	struct skiff_dp_dev made;
	struct rtnl_link *link;
	int err;

	err = nft_dev_check(dev, e);
	if (err)
		return err;
	/* Our own words for the common case; the kernel catches a race. */
	if (!rtnl_link_get_kernel(nft->sock, 0, dev->name, &link)) {
		rtnl_link_put(link);
		return skiff_error_set(e, -EEXIST,
				       "an interface with this name exists");
	}
	err = nft_link_create(nft, dev, e);
	if (err)
		return err;

	/* What the kernel chose: the ifindex and, unless given, the MAC. */
	err = nft_vxlan_get(nft, dev->name, &link, e);
	if (err)
		goto err_delete_link;
	nft_dev_read(link, &made);
	rtnl_link_put(link);
	if (!made.has_vtep_mac) {
		err = skiff_error_set(e, -EIO, "the new device has no MAC");
		goto err_delete_link;
	}
	dev->ifindex = made.ifindex;
	memcpy(dev->vtep_mac, made.vtep_mac, ETH_ALEN);
	dev->peers = 0;
	return 0;

err_delete_link:
	nft_link_delete_name(nft, dev->name);
	return err;
}

static int nft_dev_del(struct skiff_dp *dp, const char *name,
		       struct skiff_error *e)
{
	struct nft_dp *nft = dp->priv;
	struct rtnl_link *link;
	int err;

	err = nft_vxlan_get(nft, name, &link, e);
	if (err)
		return err;
	/* The kernel takes the device's routes, neighbours and fdb along. */
	err = nft_link_delete(nft, link, e);
	rtnl_link_put(link);
	return err;
}

static int nft_dev_list_one(struct nft_dp *nft, const char *name,
			    skiff_dp_dev_cb cb, void *arg,
			    struct skiff_error *e)
{
	struct skiff_dp_dev dev;
	struct rtnl_link *link;
	struct nft_snap snap;
	int err;

	err = nft_vxlan_get(nft, name, &link, e);
	if (err)
		return err;
	nft_dev_read(link, &dev);
	rtnl_link_put(link);
	err = nft_snap_load(nft, &snap, dev.ifindex, false, e);
	if (err)
		return err;
	dev.peers = nft_snap_count(&snap, dev.ifindex);
	nft_snap_free(&snap);
	return cb(&dev, arg);
}

static int nft_dev_list(struct skiff_dp *dp, const char *name,
			skiff_dp_dev_cb cb, void *arg, struct skiff_error *e)
{
	struct nft_dp *nft = dp->priv;
	struct skiff_dp_dev dev;
	struct nl_object *obj;
	struct nl_cache *links;
	struct nft_snap snap;
	int err;

	if (name)
		return nft_dev_list_one(nft, name, cb, arg, e);

	skiff_error_clear(&nft->kerr);
	err = rtnl_link_alloc_cache(nft->sock, AF_UNSPEC, &links);
	if (err < 0)
		return skiff_nl_fail(&nft->kerr, err, e, "cannot list the interfaces");
	err = nft_snap_load(nft, &snap, 0, false, e);
	if (err)
		goto out_free_links;

	for (obj = nl_cache_get_first(links); obj;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_link *link = (struct rtnl_link *)obj;

		if (!rtnl_link_is_vxlan(link))
			continue;
		nft_dev_read(link, &dev);
		dev.peers = nft_snap_count(&snap, dev.ifindex);
		err = cb(&dev, arg);
		if (err)
			break;
	}
	nft_snap_free(&snap);
out_free_links:
	nl_cache_free(links);
	return err;
}

/* ---- neighbour, fdb and route entries ---------------------------------- */

/* A neighbour entry @ip on @ifindex, with lladdr @mac unless NULL. */
static struct rtnl_neigh *nft_neigh_new(int ifindex, struct in_addr ip,
					const uint8_t *mac)
{
	struct nl_addr *dst, *lladdr = NULL;
	struct rtnl_neigh *neigh;

	neigh = rtnl_neigh_alloc();
	dst = nft_addr4(ip, 32);
	if (mac)
		lladdr = nft_addr_mac(mac);
	if (!neigh || !dst || (mac && !lladdr))
		goto err_put;
	rtnl_neigh_set_ifindex(neigh, ifindex);
	if (rtnl_neigh_set_dst(neigh, dst) < 0)
		goto err_put;
	if (lladdr)
		rtnl_neigh_set_lladdr(neigh, lladdr);
	rtnl_neigh_set_state(neigh, NUD_PERMANENT);
	nl_addr_put(lladdr);
	nl_addr_put(dst);
	return neigh;

err_put:
	nl_addr_put(lladdr);
	nl_addr_put(dst);
	if (neigh)
		rtnl_neigh_put(neigh);
	return NULL;
}

/* ip neigh replace @ip lladdr @mac nud permanent dev @ifindex */
static int nft_neigh_set(struct nft_dp *nft, int ifindex, struct in_addr ip,
			 const uint8_t *mac, struct skiff_error *e)
{
	struct rtnl_neigh *neigh;
	int err;

	neigh = nft_neigh_new(ifindex, ip, mac);
	if (!neigh)
		return nft_nomem(e);
	skiff_error_clear(&nft->kerr);
	err = rtnl_neigh_add(nft->sock, neigh, NLM_F_CREATE | NLM_F_REPLACE);
	rtnl_neigh_put(neigh);
	if (err < 0)
		return skiff_nl_fail(&nft->kerr, err, e, "cannot add the neighbour entry");
	return 0;
}

/* ip neigh del @ip dev @ifindex; one already gone is fine. */
static int nft_neigh_del(struct nft_dp *nft, int ifindex, struct in_addr ip,
			 struct skiff_error *e)
{
	struct rtnl_neigh *neigh;
	int err;

	neigh = nft_neigh_new(ifindex, ip, NULL);
	if (!neigh)
		return nft_nomem(e);
	skiff_error_clear(&nft->kerr);
	err = rtnl_neigh_delete(nft->sock, neigh, 0);
	rtnl_neigh_put(neigh);
	if (err < 0 && err != -NLE_OBJ_NOTFOUND)
		return skiff_nl_fail(&nft->kerr, err, e, "cannot delete the neighbour entry");
	return 0;
}

/* The bridge-family entry for @mac on @ifindex: self, permanent. */
static struct rtnl_neigh *nft_fdb_new(int ifindex, const uint8_t *mac)
{
	struct rtnl_neigh *fdb;
	struct nl_addr *lladdr;

	fdb = rtnl_neigh_alloc();
	lladdr = nft_addr_mac(mac);
	if (!fdb || !lladdr) {
		nl_addr_put(lladdr);
		if (fdb)
			rtnl_neigh_put(fdb);
		return NULL;
	}
	rtnl_neigh_set_family(fdb, AF_BRIDGE);
	rtnl_neigh_set_ifindex(fdb, ifindex);
	rtnl_neigh_set_lladdr(fdb, lladdr);
	/* NTF_SELF: the vxlan device's own fdb, not a bridge's. */
	rtnl_neigh_set_flags(fdb, NTF_SELF);
	rtnl_neigh_set_state(fdb, NUD_PERMANENT);
	nl_addr_put(lladdr);
	return fdb;
}

/*
 * bridge fdb replace @mac dev @ifindex dst @remote self permanent
 *
 * libnl-route 3.7 cannot say "dst" for a bridge-family entry: it refuses an
 * IPv4 destination on one (family mismatch) and leaves NDA_DST out of the
 * request. So libnl builds the request and we append NDA_DST to it.
 */
static int nft_fdb_set(struct nft_dp *nft, int ifindex, const uint8_t *mac,
		       struct in_addr remote, struct skiff_error *e)
{
	struct rtnl_neigh *fdb;
	struct nl_msg *msg;
	int err;

	fdb = nft_fdb_new(ifindex, mac);
	if (!fdb)
		return nft_nomem(e);
	err = rtnl_neigh_build_add_request(fdb, NLM_F_CREATE | NLM_F_REPLACE,
					   &msg);
	rtnl_neigh_put(fdb);
	if (err < 0)
		return skiff_nl_fail(&nft->kerr, err, e, "cannot add the fdb entry");
	err = nla_put(msg, NDA_DST, sizeof(remote), &remote);
	if (err < 0) {
		nlmsg_free(msg);
		return nft_nomem(e);
	}
	err = skiff_nl_send_ack(nft->sock, msg, &nft->kerr);
	if (err < 0)
		return skiff_nl_fail(&nft->kerr, err, e, "cannot add the fdb entry");
	return 0;
}

/* bridge fdb del @mac dev @ifindex self: every remote of @mac. */
static int nft_fdb_del(struct nft_dp *nft, int ifindex, const uint8_t *mac,
		       struct skiff_error *e)
{
	struct rtnl_neigh *fdb;
	int err;

	fdb = nft_fdb_new(ifindex, mac);
	if (!fdb)
		return nft_nomem(e);
	skiff_error_clear(&nft->kerr);
	err = rtnl_neigh_delete(nft->sock, fdb, 0);
	rtnl_neigh_put(fdb);
	if (err < 0 && err != -NLE_OBJ_NOTFOUND)
		return skiff_nl_fail(&nft->kerr, err, e, "cannot delete the fdb entry");
	return 0;
}

/*
 * @prefix/@len via @gw dev @ifindex onlink, main table. libnl-route has no
 * route-level "onlink", but a lone nexthop's flags go into rtm_flags.
 */
static struct rtnl_route *nft_route_new(int ifindex, struct in_addr prefix,
					uint8_t len, struct in_addr gw)
{
	struct nl_addr *dst, *via;
	struct rtnl_nexthop *nh;
	struct rtnl_route *route;

	route = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	dst = nft_addr4(prefix, len);
	via = nft_addr4(gw, 32);
	if (!route || !nh || !dst || !via || rtnl_route_set_dst(route, dst))
		goto err_put;
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_nh_set_gateway(nh, via);
	rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
	rtnl_route_add_nexthop(route, nh);
	nl_addr_put(via);
	nl_addr_put(dst);
	return route;

err_put:
	nl_addr_put(via);
	nl_addr_put(dst);
	if (nh)
		rtnl_route_nh_free(nh);
	if (route)
		rtnl_route_put(route);
	return NULL;
}

/* Adds the route of @peer; @flags: NLM_F_EXCL or NLM_F_REPLACE. */
static int nft_route_add(struct nft_dp *nft, int ifindex,
			 const struct nft_route *peer, int flags,
			 struct skiff_error *e)
{
	struct rtnl_route *route;
	int err;

	route = nft_route_new(ifindex, peer->prefix, peer->len, peer->gw);
	if (!route)
		return nft_nomem(e);
	skiff_error_clear(&nft->kerr);
	err = rtnl_route_add(nft->sock, route, flags);
	rtnl_route_put(route);
	/* Not a peer of this device (we looked), but a route all the same. */
	if (err == -NLE_EXIST && !nft->kerr.msg[0])
		return skiff_error_set(e, -EEXIST,
				       "a route for this prefix exists");
	if (err < 0)
		return skiff_nl_fail(&nft->kerr, err, e, "cannot add the route");
	return 0;
}

static int nft_route_del(struct nft_dp *nft, const struct nft_route *peer,
			 struct skiff_error *e)
{
	struct rtnl_route *route;
	int err;

	route = nft_route_new(peer->ifindex, peer->prefix, peer->len, peer->gw);
	if (!route)
		return nft_nomem(e);
	/* Whoever added it: match any protocol. */
	rtnl_route_set_protocol(route, RTPROT_UNSPEC);
	skiff_error_clear(&nft->kerr);
	err = rtnl_route_delete(nft->sock, route, 0);
	rtnl_route_put(route);
	if (err < 0)
		return skiff_nl_fail(&nft->kerr, err, e, "cannot delete the route");
	return 0;
}

/* ---- peers ------------------------------------------------------------- */

/*
 * One neighbour entry per gateway and one fdb entry per MAC serve every
 * peer using them: refuse a peer that would change them under another.
 */
static int nft_peer_conflicts(const struct nft_snap *s,
			      const struct skiff_dp_peer *peer,
			      struct skiff_error *e)
{
	const struct nft_route *self;
	const struct nft_neigh *n;
	const struct nft_fdb *f;
	char ip[INET_ADDRSTRLEN], mac[18];

	self = nft_snap_route_find(s, peer->prefix4, peer->prefix_len);
	n = nft_snap_neigh_find(s, peer->prefix4);
	if (n && memcmp(n->mac, peer->remote_mac, ETH_ALEN) &&
	    nft_snap_gw_users(s, peer->prefix4, self))
		return skiff_error_set(e, -EEXIST,
				       "another peer routes via %s with another VTEP MAC",
				       nft_ntoa(peer->prefix4, ip));
	f = nft_snap_fdb_find(s, peer->remote_mac);
	if (f && f->remote.s_addr != peer->remote4.s_addr &&
	    nft_snap_mac_users(s, peer->remote_mac, self))
		return skiff_error_set(e, -EEXIST,
				       "another peer has VTEP MAC %s at %s",
				       nft_mac_ntoa(peer->remote_mac, mac),
				       nft_ntoa(f->remote, ip));
	return 0;
}

/*
 * The three steps of peer_add, each undone if a later one fails: back to
 * the entries the snapshot @s saw, or none.
 */
static int nft_peer_apply(struct nft_dp *nft, const struct nft_snap *s,
			  const struct nft_route *want, const uint8_t *mac,
			  struct in_addr remote, bool replace,
			  struct skiff_error *e)
{
	const struct nft_neigh *old_neigh = nft_snap_neigh_find(s, want->gw);
	const struct nft_fdb *old_fdb = nft_snap_fdb_find(s, mac);
	int ifindex = want->ifindex;
	struct skiff_error ignored;
	int err;

	err = nft_neigh_set(nft, ifindex, want->gw, mac, e);
	if (err)
		return err;
	err = nft_fdb_set(nft, ifindex, mac, remote, e);
	if (err)
		goto err_restore_neigh;
	err = nft_route_add(nft, ifindex, want,
			    replace ? NLM_F_REPLACE : NLM_F_EXCL, e);
	if (err)
		goto err_restore_fdb;
	return 0;

err_restore_fdb:
	if (old_fdb)
		nft_fdb_set(nft, ifindex, mac, old_fdb->remote, &ignored);
	else
		nft_fdb_del(nft, ifindex, mac, &ignored);
err_restore_neigh:
	if (old_neigh && old_neigh->permanent)
		nft_neigh_set(nft, ifindex, want->gw, old_neigh->mac, &ignored);
	else
		nft_neigh_del(nft, ifindex, want->gw, &ignored);
	return err;
}

/*
 * After @old was replaced by @want: drops the entries only @old used. Best
 * effort: the new peer works either way, and a leftover is never used.
 */
static void nft_peer_tidy(struct nft_dp *nft, const struct nft_snap *s,
			  const struct nft_route *old,
			  const struct nft_route *want, const uint8_t *mac)
{
	const struct nft_neigh *n = nft_snap_neigh_find(s, old->gw);
	struct skiff_error ignored;

	if (old->gw.s_addr != want->gw.s_addr &&
	    !nft_snap_gw_users(s, old->gw, old))
		nft_neigh_del(nft, old->ifindex, old->gw, &ignored);
	if (n && memcmp(n->mac, mac, ETH_ALEN) &&
	    !nft_snap_mac_users(s, n->mac, old))
		nft_fdb_del(nft, old->ifindex, n->mac, &ignored);
}

static int nft_peer_add(struct skiff_dp *dp, const char *dev,
			const struct skiff_dp_peer *peer, bool replace,
			struct skiff_error *e)
{
	struct nft_dp *nft = dp->priv;
	const struct nft_route *old;
	struct nft_route want;
	struct nft_snap snap;
	int err;

	err = nft_peer_check(peer, true, e);
	if (err)
		return err;
	memset(&want, 0, sizeof(want));
	err = nft_vxlan_ifindex(nft, dev, &want.ifindex, e);
	if (err)
		return err;
	want.prefix = peer->prefix4;
	want.len = peer->prefix_len;
	want.gw = peer->prefix4;	/* the subnet's first address */

	err = nft_snap_load(nft, &snap, want.ifindex, true, e);
	if (err)
		return err;
	old = nft_snap_route_find(&snap, want.prefix, want.len);
	if (old && !replace) {
		err = skiff_error_set(e, -EEXIST,
				      "a peer with this prefix exists (use replace)");
		goto out_free_snap;
	}
	err = nft_peer_conflicts(&snap, peer, e);
	if (err)
		goto out_free_snap;
	err = nft_peer_apply(nft, &snap, &want, peer->remote_mac,
			     peer->remote4, replace, e);
	if (!err && old)
		nft_peer_tidy(nft, &snap, old, &want, peer->remote_mac);
out_free_snap:
	nft_snap_free(&snap);
	return err;
}

/*
 * Removes peer @r: its route, then the neighbour and fdb entries no other
 * peer uses. Each step is undone if a later one fails.
 */
static int nft_peer_remove(struct nft_dp *nft, const struct nft_snap *s,
			   const struct nft_route *r, struct skiff_error *e)
{
	const struct nft_neigh *n = nft_snap_neigh_find(s, r->gw);
	const struct nft_fdb *f = n ? nft_snap_fdb_find(s, n->mac) : NULL;
	bool del_neigh = n && !nft_snap_gw_users(s, r->gw, r);
	bool del_fdb = f && !nft_snap_mac_users(s, f->mac, r);
	struct skiff_error ignored;
	int err;

	err = nft_route_del(nft, r, e);
	if (err)
		return err;
	if (del_neigh) {
		err = nft_neigh_del(nft, r->ifindex, r->gw, e);
		if (err)
			goto err_restore_route;
	}
	if (del_fdb) {
		err = nft_fdb_del(nft, r->ifindex, f->mac, e);
		if (err)
			goto err_restore_neigh;
	}
	return 0;

err_restore_neigh:
	if (del_neigh)
		nft_neigh_set(nft, r->ifindex, r->gw, n->mac, &ignored);
err_restore_route:
	nft_route_add(nft, r->ifindex, r, NLM_F_EXCL, &ignored);
	return err;
}

static int nft_peer_del(struct skiff_dp *dp, const char *dev,
			const struct skiff_dp_peer *peer,
			struct skiff_error *e)
{
	struct nft_dp *nft = dp->priv;
	const struct nft_route *r;
	struct nft_snap snap;
	int ifindex, err;

	err = nft_peer_check(peer, false, e);
	if (err)
		return err;
	err = nft_vxlan_ifindex(nft, dev, &ifindex, e);
	if (err)
		return err;
	err = nft_snap_load(nft, &snap, ifindex, true, e);
	if (err)
		return err;
	r = nft_snap_route_find(&snap, peer->prefix4, peer->prefix_len);
	if (r)
		err = nft_peer_remove(nft, &snap, r, e);
	else
		err = skiff_error_set(e, -ENOENT, "no peer with this prefix");
	nft_snap_free(&snap);
	return err;
}

static int nft_peer_list(struct skiff_dp *dp, const char *dev,
			 skiff_dp_peer_cb cb, void *arg, struct skiff_error *e)
{
	struct nft_dp *nft = dp->priv;
	const struct nft_neigh *n;
	const struct nft_route *r;
	const struct nft_fdb *f;
	struct skiff_dp_peer peer;
	struct nft_snap snap;
	int ifindex, err;
	size_t i;

	err = nft_vxlan_ifindex(nft, dev, &ifindex, e);
	if (err)
		return err;
	err = nft_snap_load(nft, &snap, ifindex, true, e);
	if (err)
		return err;
	for (i = 0; i < snap.routes.len && !err; i++) {
		r = nft_vec_at(&snap.routes, i);
		memset(&peer, 0, sizeof(peer));
		peer.prefix4 = r->prefix;
		peer.prefix_len = r->len;
		n = nft_snap_neigh_find(&snap, r->gw);
		f = n ? nft_snap_fdb_find(&snap, n->mac) : NULL;
		if (n) {
			memcpy(peer.remote_mac, n->mac, ETH_ALEN);
			peer.has_remote_mac = true;
		}
		if (f)
			peer.remote4 = f->remote;
		err = cb(&peer, arg);
	}
	nft_snap_free(&snap);
	return err;
}

/* ---- open, close ------------------------------------------------------- */

static int nft_open(struct skiff_dp *dp, struct skiff_error *e)
{
	struct nft_dp *nft;
	int one = 1;
	int err;

	nft = calloc(1, sizeof(*nft));
	if (!nft)
		return nft_nomem(e);
	nft->sock = nl_socket_alloc();
	if (!nft->sock) {
		err = nft_nomem(e);
		goto err_free_nft;
	}
	err = nl_connect(nft->sock, NETLINK_ROUTE);
	if (err < 0) {
		err = skiff_error_set(e, skiff_nl_errno(err),
				      "cannot open an rtnetlink socket: %s",
				      nl_geterror(err));
		goto err_free_sock;
	}
	if (setsockopt(nl_socket_get_fd(nft->sock), SOL_NETLINK,
		       NETLINK_EXT_ACK, &one, sizeof(one)) < 0) {
		err = skiff_error_set(e, -errno,
				      "cannot enable extended acks");
		goto err_free_sock;
	}
	/* A capped error is enough: we know what we sent. */
	setsockopt(nl_socket_get_fd(nft->sock), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	nl_socket_modify_err_cb(nft->sock, NL_CB_CUSTOM, skiff_nl_on_error,
				&nft->kerr);
	dp->priv = nft;
	return 0;

err_free_sock:
	nl_socket_free(nft->sock);
err_free_nft:
	free(nft);
	return err;
}

static void nft_close(struct skiff_dp *dp)
{
	struct nft_dp *nft = dp->priv;

	if (!nft)
		return;
	nl_socket_free(nft->sock);
	free(nft);
	dp->priv = NULL;
}

/*
 * What the nft backend's tables are made of: links (the vxlan devices),
 * neighbours and fdb entries, routes, and nf_tables objects.
 */
static int nft_watch(struct skiff_dp *dp, int *fds, int max,
		     struct skiff_error *e)
{
	static const unsigned int rtnl_groups[] = {
		RTNLGRP_LINK, RTNLGRP_NEIGH, RTNLGRP_IPV4_ROUTE,
	};
	unsigned int nft_group = NFNLGRP_NFTABLES;

	(void)dp;
	if (max < 2)
		return skiff_error_set(e, -EINVAL, "nft needs two sockets");
	fds[0] = skiff_nl_listen(NETLINK_ROUTE, rtnl_groups,
				 ARRAY_SIZE(rtnl_groups), e);
	if (fds[0] < 0)
		return fds[0];
	fds[1] = skiff_nl_listen(NETLINK_NETFILTER, &nft_group, 1, e);
	if (fds[1] < 0) {
		close(fds[0]);
		return fds[1];
	}
	return 2;
}

const struct skiff_dp_ops skiff_dp_nft_ops = {
	.open = nft_open,
	.close = nft_close,
	.dev_add = nft_dev_add,
	.dev_del = nft_dev_del,
	.dev_list = nft_dev_list,
	.peer_add = nft_peer_add,
	.peer_del = nft_peer_del,
	.peer_list = nft_peer_list,
	.set_cluster_cidr = skiff_nft_set_cluster_cidr,
	.service_set = skiff_nft_service_set,
	.service_del = skiff_nft_service_del,
	.service_list = skiff_nft_service_list,
	.service_sync = skiff_nft_service_sync,
	.watch = nft_watch,
};
