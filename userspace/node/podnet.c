// SPDX-License-Identifier: GPL-2.0
/*
 * The pod network on one node, what the CNI bridge plugin does for the
 * kubelet and what flannel adds around it:
 *
 *   node netns                               pod netns (bind-mounted file)
 *   cni0  10.244.1.1/24, MTU, up             lo up
 *     +-- veth1a2b3c4d  hairpin on  <------> eth0 10.244.1.7/24, MTU, up
 *                                            default via 10.244.1.1
 *   10.96.0.0/12 dev cni0 src 10.244.1.1     (Service virtual IPs)
 *   table ip skiff-node                      (masquerade out of the cluster)
 *
 * Links, addresses and routes are set over rtnetlink with libnl-route, the
 * nftables table with libnftnl over libmnl, in one batch (lib/nftbatch.c).
 *
 * Pod network namespaces are made as `ip netns add` makes them: a thread
 * unshares its network namespace and bind-mounts it onto a file, which
 * keeps it alive once the thread is gone. Work inside one goes through an
 * rtnetlink socket opened there by a short-lived thread that joined it (a
 * socket stays in the namespace it was made in), so that no thread of the
 * agent ever changes namespace for more than that. The pod's eth0 is made
 * inside it directly: the veth pair is created with its peer's namespace
 * given by file descriptor, so no temporary name in the node's namespace
 * can clash. eth0 and the bridge get MACs made of their addresses, so that
 * neither changes under the neighbours' ARP caches.
 *
 * A sandbox is checked and completed rather than made twice, and what a
 * failed create made is removed again.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/if.h>
#include <linux/if_bridge.h>
#include <linux/if_ether.h>
#include <linux/magic.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "nftbatch.h"
#include "nl.h"
#include "podnet.h"
#include "route.h"
#include "util.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define PN_POD_IF	"eth0"
#define PN_MTU_MIN	68
#define PN_MTU_MAX	65535
/* A pod subnet holds a gateway, at least one pod, a network and broadcast. */
#define PN_LEN_MIN	8
#define PN_LEN_MAX	30
/* Mounts stacked on a namespace file that destroy takes off, at most. */
#define PN_UMOUNTS	8

#define PN_NFT_TABLE	"skiff-node"
#define PN_NFT_CHAIN	"postrouting"
#define PN_NFT_PRIO	100	/* srcnat */
#define PN_NFT_COMMENT	"pod traffic leaving the cluster"
/* 224.0.0.0/4: multicast keeps the pod's address, as in flannel. */
#define PN_MCAST_NET	0xe0000000u
#define PN_MCAST_LEN	4

/**
 * struct pn_nl - an rtnetlink socket and what the kernel said last
 * @sk: the socket, in the namespace it was opened in
 * @kerr: the kernel's errno and extack message for the last request, if
 *	it refused it (filled by skiff_nl_on_error)
 */
struct pn_nl {
	struct nl_sock *sk;
	struct skiff_error kerr;
};

/* ---- errors ------------------------------------------------------------ */

static int pn_nomem(struct skiff_error *e)
{
	return skiff_error_set(e, -ENOMEM, "out of memory");
}

/* ---- small helpers ----------------------------------------------------- */

static uint32_t pn_mask(uint8_t len)
{
	return len ? 0xffffffffu << (32 - len) : 0;
}

static struct in_addr pn_in(uint32_t ip)
{
	struct in_addr a = { .s_addr = htonl(ip) };

	return a;
}

static const char *pn_ntoa(struct in_addr ip, char *buf)
{
	return inet_ntop(AF_INET, &ip, buf, INET_ADDRSTRLEN);
}

static struct nl_addr *pn_addr4(struct in_addr ip, uint8_t len)
{
	struct nl_addr *addr = nl_addr_build(AF_INET, &ip, sizeof(ip));

	if (addr)
		nl_addr_set_prefixlen(addr, len);
	return addr;
}

static bool pn_get4(struct nl_addr *addr, struct in_addr *ip)
{
	if (!addr || nl_addr_get_family(addr) != AF_INET ||
	    nl_addr_get_len(addr) != sizeof(*ip))
		return false;
	memcpy(ip, nl_addr_get_binary_addr(addr), sizeof(*ip));
	return true;
}

/*
 * 0a:58 and @ip: the MAC of the bridge (its gateway address) or of a pod.
 * A pod's eth0 made again, or a new pod given a freed address, answers
 * with the MAC its neighbours' ARP caches hold already, so they need not
 * time out first (OVN-Kubernetes derives its pods' MACs the same way).
 */
static struct nl_addr *pn_mac(struct in_addr ip)
{
	uint8_t mac[ETH_ALEN] = { 0x0a, 0x58 };

	memcpy(mac + 2, &ip, sizeof(ip));
	return nl_addr_build(AF_LLC, mac, ETH_ALEN);
}

/* The kernel's dev_valid_name(). */
static bool pn_name_valid(const char *name)
{
	const unsigned char *c;

	if (!name || !name[0] || strnlen(name, IFNAMSIZ) >= IFNAMSIZ ||
	    !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (c = (const unsigned char *)name; *c; c++)
		if (*c == '/' || *c == ':' || isspace(*c))
			return false;
	return true;
}

/* @net/@len with @len in @min..@max and no host bits; @what names it. */
static int pn_cidr_check(struct in_addr net, uint8_t len, uint8_t min,
			 uint8_t max, const char *what, struct skiff_error *e)
{
	char buf[INET_ADDRSTRLEN];

	if (len < min || len > max)
		return skiff_error_set(e, -EINVAL,
				       "%s prefix length %u out of range (%u..%u)",
				       what, len, min, max);
	if (ntohl(net.s_addr) & ~pn_mask(len))
		return skiff_error_set(e, -EINVAL, "%s %s/%u has host bits set",
				       what, pn_ntoa(net, buf), len);
	return 0;
}

static int pn_mtu_check(uint32_t mtu, struct skiff_error *e)
{
	if (mtu < PN_MTU_MIN || mtu > PN_MTU_MAX)
		return skiff_error_set(e, -EINVAL, "MTU %u out of range (%u..%u)",
				       mtu, PN_MTU_MIN, PN_MTU_MAX);
	return 0;
}

/* Runs @fn(@arg) on a thread of its own, to its end. */
static int pn_thread_run(void *(*fn)(void *), void *arg)
{
	pthread_t thread;
	int err;

	err = pthread_create(&thread, NULL, fn, arg);
	if (err)
		return -err;
	pthread_join(thread, NULL);
	return 0;
}

/* ---- rtnetlink sockets ------------------------------------------------- */

struct pn_connect {
	struct nl_sock *sk;
	int nsfd;
	int nlerr;
	int err;
};

static void *pn_connect_in(void *arg)
{
	struct pn_connect *c = arg;

	if (setns(c->nsfd, CLONE_NEWNET) < 0)
		c->err = -errno;
	else
		c->nlerr = nl_connect(c->sk, NETLINK_ROUTE);
	return NULL;
}

/*
 * Opens an rtnetlink socket in the caller's network namespace, or with
 * @nsfd >= 0 in that one.
 */
static int pn_nl_open(struct pn_nl *nl, int nsfd, struct skiff_error *e)
{
	struct pn_connect c = { .nsfd = nsfd };
	int one = 1, fd, err;

	skiff_error_clear(&nl->kerr);
	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		return pn_nomem(e);
	c.sk = nl->sk;
	if (nsfd < 0)
		c.nlerr = nl_connect(nl->sk, NETLINK_ROUTE);
	else
		c.err = pn_thread_run(pn_connect_in, &c);
	if (c.err) {
		err = skiff_error_set(e, c.err,
				      "cannot enter the pod's network namespace");
		goto err_free;
	}
	if (c.nlerr < 0) {
		err = skiff_error_set(e, skiff_nl_errno(c.nlerr),
				      "cannot open an rtnetlink socket: %s",
				      nl_geterror(c.nlerr));
		goto err_free;
	}
	fd = nl_socket_get_fd(nl->sk);
	if (setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) < 0) {
		err = skiff_error_set(e, -errno, "cannot enable extended acks");
		goto err_free;
	}
	/* A capped error is enough: we know what we sent. */
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	nl_socket_modify_err_cb(nl->sk, NL_CB_CUSTOM, skiff_nl_on_error,
				&nl->kerr);
	return 0;

err_free:
	nl_socket_free(nl->sk);
	nl->sk = NULL;
	return err;
}

static void pn_nl_close(struct pn_nl *nl)
{
	nl_socket_free(nl->sk);
	nl->sk = NULL;
}

/* ---- links ------------------------------------------------------------- */

/* Finds link @name: *@linkp, or NULL when there is none. */
static int pn_link_find(struct pn_nl *nl, const char *name,
			struct rtnl_link **linkp, struct skiff_error *e)
{
	int err;

	*linkp = NULL;
	skiff_error_clear(&nl->kerr);
	err = rtnl_link_get_kernel(nl->sk, 0, name, linkp);
	if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND) {
		*linkp = NULL;
		return 0;
	}
	if (err < 0)
		return skiff_nl_fail(&nl->kerr, err, e, "cannot read interface %s", name);
	return 0;
}

static int pn_link_del(struct pn_nl *nl, struct rtnl_link *link,
		       struct skiff_error *e)
{
	int err;

	skiff_error_clear(&nl->kerr);
	err = rtnl_link_delete(nl->sk, link);
	if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND)
		return 0;
	if (err < 0)
		return skiff_nl_fail(&nl->kerr, err, e, "cannot delete interface %s",
				     rtnl_link_get_name(link));
	return 0;
}

/*
 * Finds link @name if @is_kind it: *@linkp, or NULL when there is none or
 * when it is of another kind, and then returns 1.
 */
static int pn_link_find_kind(struct pn_nl *nl, const char *name,
			     int (*is_kind)(struct rtnl_link *link),
			     struct rtnl_link **linkp, struct skiff_error *e)
{
	int err;

	err = pn_link_find(nl, name, linkp, e);
	if (err || !*linkp || is_kind(*linkp))
		return err;
	rtnl_link_put(*linkp);
	*linkp = NULL;
	return 1;
}

/* Deletes link @name if there is one and @is_kind it: another stays. */
static int pn_link_del_name(struct pn_nl *nl, const char *name,
			    int (*is_kind)(struct rtnl_link *link),
			    struct skiff_error *e)
{
	struct rtnl_link *link;
	int err;

	err = pn_link_find_kind(nl, name, is_kind, &link, e);
	if (!link)
		return err < 0 ? err : 0;
	err = pn_link_del(nl, link, e);
	rtnl_link_put(link);
	return err;
}

/*
 * ip link set dev @ifindex [mtu @mtu] [master @master] [up]: a zero @mtu
 * or @master leaves that as it is.
 */
static int pn_link_set(struct pn_nl *nl, int ifindex, const char *name,
		       uint32_t mtu, int master, bool up,
		       struct skiff_error *e)
{
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC,
		.ifi_index = ifindex,
		.ifi_flags = up ? IFF_UP : 0,
		.ifi_change = up ? IFF_UP : 0,
	};
	struct nl_msg *msg;
	int err;

	msg = nlmsg_alloc_simple(RTM_SETLINK, 0);
	if (!msg || nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    (mtu && nla_put_u32(msg, IFLA_MTU, mtu) < 0) ||
	    (master && nla_put_u32(msg, IFLA_MASTER, master) < 0)) {
		nlmsg_free(msg);
		return pn_nomem(e);
	}
	err = skiff_nl_send_ack(nl->sk, msg, &nl->kerr);
	if (err < 0)
		return skiff_nl_fail(&nl->kerr, err, e, "cannot configure %s", name);
	return 0;
}

/*
 * bridge link set dev @ifindex hairpin on: a pod reaching itself through
 * a Service gets its own packets back out of the port they came in by.
 * The bridge takes port options nested in IFLA_PROTINFO (flagged nested,
 * or it reads an old binary port state instead).
 */
static int pn_port_hairpin(struct pn_nl *nl, int ifindex, const char *name,
			   struct skiff_error *e)
{
	struct ifinfomsg ifi = {
		.ifi_family = AF_BRIDGE,
		.ifi_index = ifindex,
	};
	struct nlattr *nest;
	struct nl_msg *msg;
	int err;

	msg = nlmsg_alloc_simple(RTM_SETLINK, 0);
	if (!msg || nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
		goto err_nomem;
	nest = nla_nest_start(msg, IFLA_PROTINFO | NLA_F_NESTED);
	if (!nest || nla_put_u8(msg, IFLA_BRPORT_MODE, 1) < 0)
		goto err_nomem;
	nla_nest_end(msg, nest);
	err = skiff_nl_send_ack(nl->sk, msg, &nl->kerr);
	if (err < 0)
		return skiff_nl_fail(&nl->kerr, err, e, "cannot turn hairpin on for %s", name);
	return 0;

err_nomem:
	nlmsg_free(msg);
	return pn_nomem(e);
}

/* ---- addresses --------------------------------------------------------- */

/* ip addr add @ip/@len broadcast + dev @ifindex (or refresh it) */
static int pn_addr_add(struct pn_nl *nl, int ifindex, const char *name,
		       struct in_addr ip, uint8_t len, struct skiff_error *e)
{
	struct in_addr bcast = pn_in(ntohl(ip.s_addr) | ~pn_mask(len));
	struct nl_addr *local, *brd;
	char buf[INET_ADDRSTRLEN];
	struct rtnl_addr *addr;
	int err = -NLE_NOMEM;

	addr = rtnl_addr_alloc();
	local = pn_addr4(ip, len);
	brd = pn_addr4(bcast, 32);
	if (!addr || !local || !brd)
		goto out_put;
	rtnl_addr_set_family(addr, AF_INET);
	rtnl_addr_set_ifindex(addr, ifindex);
	err = rtnl_addr_set_local(addr, local);
	if (!err)
		err = rtnl_addr_set_broadcast(addr, brd);
	if (err)
		goto out_put;
	rtnl_addr_set_prefixlen(addr, len);
	skiff_error_clear(&nl->kerr);
	err = rtnl_addr_add(nl->sk, addr, NLM_F_REPLACE);
out_put:
	nl_addr_put(brd);
	nl_addr_put(local);
	if (addr)
		rtnl_addr_put(addr);
	if (err == -NLE_NOMEM)
		return pn_nomem(e);
	if (err < 0)
		return skiff_nl_fail(&nl->kerr, err, e, "cannot add address %s/%u to %s",
				     pn_ntoa(ip, buf), len, name);
	return 0;
}

/* Makes @ip/@len the only IPv4 address of @ifindex. */
static int pn_addr_sync(struct pn_nl *nl, int ifindex, const char *name,
			struct in_addr ip, uint8_t len, struct skiff_error *e)
{
	struct nl_object *obj;
	struct nl_cache *cache;
	struct in_addr have;
	bool found = false;
	int err;

	skiff_error_clear(&nl->kerr);
	err = rtnl_addr_alloc_cache(nl->sk, &cache);
	if (err < 0)
		return skiff_nl_fail(&nl->kerr, err, e, "cannot read the addresses of %s", name);
	err = 0;
	for (obj = nl_cache_get_first(cache); obj && !err;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_addr *addr = (struct rtnl_addr *)obj;

		if (rtnl_addr_get_family(addr) != AF_INET ||
		    rtnl_addr_get_ifindex(addr) != ifindex)
			continue;
		if (pn_get4(rtnl_addr_get_local(addr), &have) &&
		    have.s_addr == ip.s_addr &&
		    rtnl_addr_get_prefixlen(addr) == len) {
			found = true;
			continue;
		}
		/* Another subnet's: stale, and in the way of the new one. */
		skiff_error_clear(&nl->kerr);
		err = rtnl_addr_delete(nl->sk, addr, 0);
		if (err == -NLE_NOADDR || err == -NLE_OBJ_NOTFOUND)
			err = 0;	/* went with a primary before it */
		if (err < 0)
			err = skiff_nl_fail(&nl->kerr, err, e,
					    "cannot remove a stale address of %s", name);
	}
	nl_cache_free(cache);
	if (!err && !found)
		err = pn_addr_add(nl, ifindex, name, ip, len, e);
	return err;
}

/* ---- the bridge -------------------------------------------------------- */

/*
 * Creates bridge @name. Its MAC is fixed (pn_mac() of the gateway): a
 * bridge left to choose its own takes the lowest of its ports' and changes
 * as pods come and go, which leaves stale gateway entries in the pods' ARP
 * caches.
 */
static int pn_bridge_create(struct pn_nl *nl, const char *name,
			    struct in_addr gw, uint32_t mtu,
			    struct skiff_error *e)
{
	struct rtnl_link *link;
	struct nl_addr *lladdr;
	int err;

	link = rtnl_link_bridge_alloc();
	lladdr = pn_mac(gw);
	if (!link || !lladdr) {
		nl_addr_put(lladdr);
		if (link)
			rtnl_link_put(link);
		return pn_nomem(e);
	}
	rtnl_link_set_name(link, name);
	rtnl_link_set_mtu(link, mtu);
	rtnl_link_set_addr(link, lladdr);
	skiff_error_clear(&nl->kerr);
	err = rtnl_link_add(nl->sk, link, NLM_F_CREATE | NLM_F_EXCL);
	nl_addr_put(lladdr);
	rtnl_link_put(link);
	if (err < 0)
		return skiff_nl_fail(&nl->kerr, err, e, "cannot create bridge %s", name);
	return 0;
}

/* Finds bridge @name: its index into *@ifindex, 0 if there is none. */
static int pn_bridge_find(struct pn_nl *nl, const char *name, int *ifindex,
			  struct skiff_error *e)
{
	struct rtnl_link *link;
	int err;

	*ifindex = 0;
	err = pn_link_find_kind(nl, name, rtnl_link_is_bridge, &link, e);
	if (err > 0)
		return skiff_error_set(e, -EEXIST,
				       "interface %s exists and is not a bridge",
				       name);
	if (!link)
		return err;
	*ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return 0;
}

int skiff_bridge_setup(const char *name, struct in_addr subnet, uint8_t len,
		       uint32_t mtu, struct skiff_error *e)
{
	struct in_addr gw = pn_in(ntohl(subnet.s_addr) + 1);
	struct skiff_error ignored;
	bool made = false;
	struct pn_nl nl;
	int ifindex, err;

	if (!pn_name_valid(name))
		return skiff_error_set(e, -EINVAL, "invalid bridge name");
	err = pn_cidr_check(subnet, len, PN_LEN_MIN, PN_LEN_MAX, "pod subnet",
			    e);
	if (!err)
		err = pn_mtu_check(mtu, e);
	if (err)
		return err;

	err = pn_nl_open(&nl, -1, e);
	if (err)
		return err;
	err = pn_bridge_find(&nl, name, &ifindex, e);
	if (!err && !ifindex) {
		err = pn_bridge_create(&nl, name, gw, mtu, e);
		made = !err;
		if (!err)
			err = pn_bridge_find(&nl, name, &ifindex, e);
		if (!err && !ifindex)
			err = skiff_error_set(e, -ENODEV,
					      "bridge %s vanished", name);
	}
	if (!err)
		err = pn_addr_sync(&nl, ifindex, name, gw, len, e);
	if (!err)
		err = pn_link_set(&nl, ifindex, name, mtu, 0, true, e);
	if (err && made)
		pn_link_del_name(&nl, name, rtnl_link_is_bridge, &ignored);
	pn_nl_close(&nl);
	return err;
}

/* ---- network namespaces ------------------------------------------------ */

bool skiff_sandbox_exists(const char *netns_path)
{
	struct statfs st;
	bool netns;
	int fd;

	if (!netns_path)
		return false;
	fd = open(netns_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	netns = !fstatfs(fd, &st) && st.f_type == NSFS_MAGIC &&
		ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET;
	close(fd);
	return netns;
}

struct pn_unshare {
	const char *path;
	int err;
	const char *what;
};

/* On a thread of its own: the namespace is this thread's only. */
static void *pn_unshare_net(void *arg)
{
	struct pn_unshare *u = arg;

	if (unshare(CLONE_NEWNET) < 0) {
		u->err = -errno;
		u->what = "cannot make a network namespace";
	} else if (mount("/proc/thread-self/ns/net", u->path, "none", MS_BIND,
			 NULL) < 0) {
		u->err = -errno;
		u->what = "cannot bind-mount the network namespace on";
	}
	return NULL;
}

/* ip netns add: a new network namespace, mounted on @path. */
static int pn_netns_make(const char *path, struct skiff_error *e)
{
	struct pn_unshare u = { .path = path };
	int fd, err;

	/* The mount point; one a crash left unmounted is used again. */
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
	if (fd < 0)
		return skiff_error_set(e, -errno, "cannot create %s", path);
	close(fd);
	err = pn_thread_run(pn_unshare_net, &u);
	if (err)
		u.what = "cannot start a thread for";
	else
		err = u.err;
	if (err) {
		unlink(path);
		return skiff_error_set(e, err, "%s %s", u.what, path);
	}
	return 0;
}

/* ip netns del: the namespace goes with its last user. */
static int pn_netns_remove(const char *path, struct skiff_error *e)
{
	int i;

	for (i = 0; i < PN_UMOUNTS && skiff_sandbox_exists(path); i++)
		if (umount2(path, MNT_DETACH) < 0)
			return skiff_error_set(e, -errno, "cannot unmount %s",
					       path);
	if (skiff_sandbox_exists(path))
		return skiff_error_set(e, -EBUSY, "%s is still mounted", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return skiff_error_set(e, -errno, "cannot remove %s", path);
	return 0;
}

/* ---- sandboxes --------------------------------------------------------- */

void skiff_sandbox_veth_name(const char *pod_uid, char out[16])
{
	const unsigned char *c;
	uint32_t hash = 2166136261u;	/* FNV-1a */

	for (c = (const unsigned char *)pod_uid; c && *c; c++)
		hash = (hash ^ *c) * 16777619u;
	snprintf(out, 16, "veth%08x", hash);
}

static int pn_sandbox_check(const struct skiff_sandbox *sb,
			    struct skiff_error *e)
{
	uint32_t mask = pn_mask(sb->prefix_len);
	uint32_t ip = ntohl(sb->addr.s_addr);
	uint32_t gw = ntohl(sb->gateway.s_addr);
	char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
	uint32_t net = gw & mask;

	if (!sb->netns_path || sb->netns_path[0] != '/')
		return skiff_error_set(e, -EINVAL,
				       "the pod's network namespace needs an absolute path");
	if (!pn_name_valid(sb->bridge))
		return skiff_error_set(e, -EINVAL, "invalid bridge name");
	if (strnlen(sb->host_veth, sizeof(sb->host_veth)) == sizeof(sb->host_veth) ||
	    !pn_name_valid(sb->host_veth) || !strcmp(sb->host_veth, sb->bridge))
		return skiff_error_set(e, -EINVAL, "invalid host veth name");
	if (sb->prefix_len < PN_LEN_MIN || sb->prefix_len > PN_LEN_MAX)
		return skiff_error_set(e, -EINVAL,
				       "pod prefix length %u out of range (%u..%u)",
				       sb->prefix_len, PN_LEN_MIN, PN_LEN_MAX);
	pn_ntoa(sb->addr, a);
	pn_ntoa(sb->gateway, g);
	if (gw == net || gw == (net | ~mask))
		return skiff_error_set(e, -EINVAL,
				       "gateway %s is not a host address of its /%u",
				       g, sb->prefix_len);
	if ((ip & mask) != net)
		return skiff_error_set(e, -EINVAL,
				       "pod address %s is outside the subnet of gateway %s/%u",
				       a, g, sb->prefix_len);
	if (ip == net || ip == (net | ~mask) || ip == gw)
		return skiff_error_set(e, -EINVAL,
				       "pod address %s is the subnet's network, broadcast or gateway address",
				       a);
	return pn_mtu_check(sb->mtu, e);
}

/* The host side and eth0 are the two ends of one veth pair. */
static bool pn_veth_paired(struct rtnl_link *host, struct rtnl_link *pod)
{
	return rtnl_link_is_veth(host) && rtnl_link_is_veth(pod) &&
	       rtnl_link_get_link(host) == rtnl_link_get_ifindex(pod) &&
	       rtnl_link_get_link(pod) == rtnl_link_get_ifindex(host);
}

/* ip link add HOST mtu M type veth peer eth0 address MAC mtu M netns NSFD */
static int pn_veth_add(struct pn_nl *host, const struct skiff_sandbox *sb,
		       int nsfd, struct skiff_error *e)
{
	struct rtnl_link *link, *peer;
	struct nl_addr *mac;
	int err;

	link = rtnl_link_veth_alloc();
	mac = pn_mac(sb->addr);
	if (!link || !mac) {
		nl_addr_put(mac);
		if (link)
			rtnl_link_put(link);
		return pn_nomem(e);
	}
	peer = rtnl_link_veth_get_peer(link);
	rtnl_link_set_name(link, sb->host_veth);
	rtnl_link_set_mtu(link, sb->mtu);
	rtnl_link_set_name(peer, PN_POD_IF);
	rtnl_link_set_mtu(peer, sb->mtu);
	rtnl_link_set_addr(peer, mac);
	rtnl_link_set_ns_fd(peer, nsfd);
	skiff_error_clear(&host->kerr);
	err = rtnl_link_add(host->sk, link, NLM_F_CREATE | NLM_F_EXCL);
	nl_addr_put(mac);
	rtnl_link_put(peer);
	rtnl_link_put(link);
	if (err < 0)
		return skiff_nl_fail(&host->kerr, err, e, "cannot create veth pair %s",
				     sb->host_veth);
	return 0;
}

/**
 * struct pn_pair - the two ends of a pod's veth pair
 * @host: index of the host side, in the node's namespace
 * @pod: index of eth0, in the pod's
 * @made: this call created them
 */
struct pn_pair {
	int host;
	int pod;
	bool made;
};

static int pn_pair_find(struct pn_nl *host, struct pn_nl *pod,
			const struct skiff_sandbox *sb, struct pn_pair *pair,
			struct rtnl_link **hostl, struct rtnl_link **podl,
			struct skiff_error *e)
{
	int err;

	*podl = NULL;
	err = pn_link_find(host, sb->host_veth, hostl, e);
	if (err)
		return err;
	err = pn_link_find(pod, PN_POD_IF, podl, e);
	if (err) {
		if (*hostl)
			rtnl_link_put(*hostl);
		*hostl = NULL;
		return err;
	}
	if (*hostl && *podl && pn_veth_paired(*hostl, *podl)) {
		pair->host = rtnl_link_get_ifindex(*hostl);
		pair->pod = rtnl_link_get_ifindex(*podl);
	}
	return 0;
}

static void pn_links_put(struct rtnl_link *a, struct rtnl_link *b)
{
	if (a)
		rtnl_link_put(a);
	if (b)
		rtnl_link_put(b);
}

/*
 * The pod's veth pair: found if whole, else made (again). Half a pair is
 * what a create cut short leaves: its remains go first. A host-side name
 * taken by a device of another kind is not ours to delete.
 */
static int pn_pair_ensure(struct pn_nl *host, struct pn_nl *pod,
			  const struct skiff_sandbox *sb, int nsfd,
			  struct pn_pair *pair, struct skiff_error *e)
{
	struct rtnl_link *hostl, *podl;
	int err;

	memset(pair, 0, sizeof(*pair));
	err = pn_pair_find(host, pod, sb, pair, &hostl, &podl, e);
	if (err || pair->host)
		goto out_put;
	if (hostl && !rtnl_link_is_veth(hostl)) {
		err = skiff_error_set(e, -EEXIST,
				      "interface %s exists and is not a veth",
				      sb->host_veth);
		goto out_put;
	}
	if (podl)
		err = pn_link_del(pod, podl, e);
	if (!err && hostl)
		err = pn_link_del(host, hostl, e);
	pn_links_put(hostl, podl);
	if (err)
		return err;

	err = pn_veth_add(host, sb, nsfd, e);
	if (err)
		return err;
	pair->made = true;
	err = pn_pair_find(host, pod, sb, pair, &hostl, &podl, e);
	if (!err && !pair->host)
		err = skiff_error_set(e, -EIO, "the new veth pair %s is not whole",
				      sb->host_veth);
out_put:
	pn_links_put(hostl, podl);
	return err;
}

/* Inside the pod: lo up; eth0 with its MTU, address, up; default route. */
static int pn_pod_config(struct pn_nl *pod, int eth0,
			 const struct skiff_sandbox *sb, struct skiff_error *e)
{
	struct skiff_route def = {
		.ifindex = eth0,
		.gateway = sb->gateway,
	};
	struct rtnl_link *lo;
	int err;

	err = pn_link_find(pod, "lo", &lo, e);
	if (err)
		return err;
	if (lo) {
		err = pn_link_set(pod, rtnl_link_get_ifindex(lo), "lo", 0, 0,
				  true, e);
		rtnl_link_put(lo);
		if (err)
			return err;
	}
	/* Up first: the kernel adds the subnet's route on an up device. */
	err = pn_link_set(pod, eth0, PN_POD_IF, sb->mtu, 0, true, e);
	if (!err)
		err = pn_addr_sync(pod, eth0, PN_POD_IF, sb->addr,
				   sb->prefix_len, e);
	if (err)
		return err;
	skiff_error_clear(&pod->kerr);
	err = skiff_route_add(pod->sk, &def, true, e);
	if (err && pod->kerr.msg[0])
		skiff_error_set(e, pod->kerr.err,
				"cannot add the pod's default route: %s",
				pod->kerr.msg);
	return err;
}

/* The host side: its MTU, on the bridge, hairpin on, up. */
static int pn_port_config(struct pn_nl *host, int port, int bridge,
			  const struct skiff_sandbox *sb,
			  struct skiff_error *e)
{
	int err;

	err = pn_link_set(host, port, sb->host_veth, sb->mtu, bridge, false, e);
	if (!err)
		err = pn_port_hairpin(host, port, sb->host_veth, e);
	if (!err)
		err = pn_link_set(host, port, sb->host_veth, 0, 0, true, e);
	return err;
}

/* Wires up the namespace at @nsfd; @pair says what it made, if it fails. */
static int pn_sandbox_wire(struct pn_nl *host, int bridge, int nsfd,
			   const struct skiff_sandbox *sb, struct pn_pair *pair,
			   struct skiff_error *e)
{
	struct pn_nl pod;
	int err;

	err = pn_nl_open(&pod, nsfd, e);
	if (err)
		return err;
	err = pn_pair_ensure(host, &pod, sb, nsfd, pair, e);
	if (!err)
		err = pn_pod_config(&pod, pair->pod, sb, e);
	if (!err)
		err = pn_port_config(host, pair->host, bridge, sb, e);
	pn_nl_close(&pod);
	return err;
}

int skiff_sandbox_create(const struct skiff_sandbox *sb,
			 struct skiff_error *e)
{
	struct pn_pair pair = { 0 };
	struct skiff_error ignored;
	int bridge, nsfd, err;
	struct pn_nl host;
	bool made_ns;

	err = pn_sandbox_check(sb, e);
	if (err)
		return err;
	err = pn_nl_open(&host, -1, e);
	if (err)
		return err;
	err = pn_bridge_find(&host, sb->bridge, &bridge, e);
	if (!err && !bridge)
		err = skiff_error_set(e, -ENODEV, "no bridge %s", sb->bridge);
	if (err)
		goto out_close;

	made_ns = !skiff_sandbox_exists(sb->netns_path);
	if (made_ns) {
		err = pn_netns_make(sb->netns_path, e);
		if (err)
			goto out_close;
	}
	nsfd = open(sb->netns_path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		err = skiff_error_set(e, -errno, "cannot open %s",
				      sb->netns_path);
		goto err_remove_ns;
	}
	err = pn_sandbox_wire(&host, bridge, nsfd, sb, &pair, e);
	close(nsfd);
	if (err)
		goto err_remove_veth;
	goto out_close;

err_remove_veth:
	/* Deleting the host side takes eth0 along. */
	if (pair.made || made_ns)
		pn_link_del_name(&host, sb->host_veth, rtnl_link_is_veth,
				 &ignored);
err_remove_ns:
	if (made_ns)
		pn_netns_remove(sb->netns_path, &ignored);
out_close:
	pn_nl_close(&host);
	return err;
}

int skiff_sandbox_destroy(const char *netns_path, const char *host_veth,
			  struct skiff_error *e)
{
	struct pn_nl host;
	int err;

	if (!netns_path || netns_path[0] != '/')
		return skiff_error_set(e, -EINVAL,
				       "the pod's network namespace needs an absolute path");
	if (host_veth && !pn_name_valid(host_veth))
		return skiff_error_set(e, -EINVAL, "invalid host veth name");
	err = pn_netns_remove(netns_path, e);
	if (err || !host_veth)
		return err;
	/*
	 * The namespace goes when its last user does, and the kernel takes
	 * it apart later still: the pair goes now, with its host side.
	 */
	err = pn_nl_open(&host, -1, e);
	if (err)
		return err;
	err = pn_link_del_name(&host, host_veth, rtnl_link_is_veth, e);
	pn_nl_close(&host);
	return err;
}

/* ---- masquerade -------------------------------------------------------- */

/* ip saddr|daddr [!=] @net/@len, as nft writes it. */
static void pn_ex_ip(struct skiff_nftb_rule *rb, bool daddr, bool neq,
		     uint32_t net, uint8_t len)
{
	uint32_t mask = htonl(pn_mask(len)), xor = 0, val = htonl(net);
	struct nftnl_expr *ex;

	ex = skiff_nftb_expr(rb, "payload");
	if (!ex)
		return;
	nftnl_expr_set_u32(ex, NFTNL_EXPR_PAYLOAD_BASE,
			   NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_PAYLOAD_OFFSET, daddr ? 16 : 12);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_PAYLOAD_LEN, sizeof(uint32_t));
	nftnl_expr_set_u32(ex, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	if (len < 32) {
		ex = skiff_nftb_expr(rb, "bitwise");
		if (!ex)
			return;
		nftnl_expr_set_u32(ex, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(ex, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(ex, NFTNL_EXPR_BITWISE_LEN, sizeof(mask));
		nftnl_expr_set(ex, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof(mask));
		nftnl_expr_set(ex, NFTNL_EXPR_BITWISE_XOR, &xor, sizeof(xor));
	}
	ex = skiff_nftb_expr(rb, "cmp");
	if (!ex)
		return;
	nftnl_expr_set_u32(ex, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(ex, NFTNL_EXPR_CMP_OP, neq ? NFT_CMP_NEQ : NFT_CMP_EQ);
	nftnl_expr_set(ex, NFTNL_EXPR_CMP_DATA, &val, sizeof(val));
}

/*
 * ip saddr POD ip daddr != CLUSTER ip daddr != 224.0.0.0/4
 *	masquerade fully-random comment "..."
 */
static int pn_nft_rule(struct skiff_nftb *b, uint32_t pod, uint8_t pod_len,
		       uint32_t cluster, uint8_t cluster_len)
{
	struct skiff_nftb_rule rb;
	struct nftnl_expr *ex;
	int err;

	err = skiff_nftb_rule_begin(&rb, PN_NFT_TABLE, PN_NFT_CHAIN);
	if (err)
		return err;
	pn_ex_ip(&rb, false, false, pod, pod_len);
	pn_ex_ip(&rb, true, true, cluster, cluster_len);
	pn_ex_ip(&rb, true, true, PN_MCAST_NET, PN_MCAST_LEN);
	skiff_nftb_rule_comment(&rb, PN_NFT_COMMENT);
	ex = skiff_nftb_expr(&rb, "masq");
	if (ex)
		nftnl_expr_set_u32(ex, NFTNL_EXPR_MASQ_FLAGS,
				   NF_NAT_RANGE_PROTO_RANDOM_FULLY);
	return skiff_nftb_rule_put(b, &rb);
}

static int pn_ip_forward(struct skiff_error *e)
{
	static const char path[] = "/proc/sys/net/ipv4/ip_forward";
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return skiff_error_set(e, -errno, "cannot open %s", path);
	if (write(fd, "1\n", 2) != 2)
		err = skiff_error_set(e, -errno,
				      "cannot switch IP forwarding on");
	close(fd);
	return err;
}

/*
 * Replaces table skiff-node in one transaction: by one that masquerades
 * pod subnet @pod/@pod_len leaving cluster @cluster/@cluster_len, or by
 * none when @pod_len is 0.
 */
static int pn_nft_replace(uint32_t pod, uint8_t pod_len, uint32_t cluster,
			  uint8_t cluster_len, struct skiff_error *e)
{
	/* chain postrouting { type nat hook postrouting priority srcnat; } */
	static const struct skiff_nftb_hook hook = {
		"nat", NF_INET_POST_ROUTING, PN_NFT_PRIO
	};
	struct mnl_socket *nl;
	struct skiff_nftb b;
	int err;

	nl = skiff_nftb_socket(e);
	if (!nl)
		return e->err;
	/* Created first, so that deleting it works whether it was there. */
	err = skiff_nftb_begin(&b, PN_NFT_TABLE, 1, 0);
	if (!err)
		err = skiff_nftb_put_table(&b, NFT_MSG_NEWTABLE);
	if (!err)
		err = skiff_nftb_put_table(&b, NFT_MSG_DELTABLE);
	if (!err && pod_len)
		err = skiff_nftb_put_table(&b, NFT_MSG_NEWTABLE);
	if (!err && pod_len)
		err = skiff_nftb_put_chain(&b, NFT_MSG_NEWCHAIN, PN_NFT_CHAIN,
					   &hook);
	if (!err && pod_len)
		err = pn_nft_rule(&b, pod, pod_len, cluster, cluster_len);
	if (err)
		skiff_error_set(e, err, "cannot build the nftables batch");
	else
		err = skiff_nftb_commit(&b, nl, e);
	skiff_nftb_free(&b);
	mnl_socket_close(nl);
	return err;
}

int skiff_podnet_masquerade(struct in_addr pod_cidr, uint8_t pod_len,
			    struct in_addr cluster_cidr, uint8_t cluster_len,
			    struct skiff_error *e)
{
	uint32_t pod = ntohl(pod_cidr.s_addr);
	uint32_t cluster = ntohl(cluster_cidr.s_addr);
	char p[INET_ADDRSTRLEN], c[INET_ADDRSTRLEN];
	int err;

	err = pn_cidr_check(pod_cidr, pod_len, 1, 32, "pod CIDR", e);
	if (!err)
		err = pn_cidr_check(cluster_cidr, cluster_len, 1, 32,
				    "cluster CIDR", e);
	if (err)
		return err;
	if (pod_len < cluster_len || (pod & pn_mask(cluster_len)) != cluster)
		return skiff_error_set(e, -EINVAL,
				       "pod CIDR %s/%u is not inside the cluster CIDR %s/%u",
				       pn_ntoa(pod_cidr, p), pod_len,
				       pn_ntoa(cluster_cidr, c), cluster_len);
	err = pn_ip_forward(e);
	if (err)
		return err;

	return pn_nft_replace(pod, pod_len, cluster, cluster_len, e);
}

int skiff_podnet_masquerade_del(struct skiff_error *e)
{
	return pn_nft_replace(0, 0, 0, 0, e);
}

/* ---- the Service route ------------------------------------------------- */

int skiff_podnet_service_route(const char *dev, struct in_addr service_cidr,
			       uint8_t len, struct in_addr src,
			       struct skiff_error *e)
{
	struct nl_addr *dst = NULL, *pref = NULL;
	struct rtnl_nexthop *nh = NULL;
	struct rtnl_route *route;
	struct rtnl_link *link;
	char buf[INET_ADDRSTRLEN];
	struct pn_nl nl;
	int ifindex, err;

	if (!pn_name_valid(dev))
		return skiff_error_set(e, -EINVAL, "invalid interface name");
	err = pn_cidr_check(service_cidr, len, 1, 32, "service CIDR", e);
	if (err)
		return err;
	if (!src.s_addr)
		return skiff_error_set(e, -EINVAL,
				       "the service route needs a source address");

	err = pn_nl_open(&nl, -1, e);
	if (err)
		return err;
	err = pn_link_find(&nl, dev, &link, e);
	if (!err && !link)
		err = skiff_error_set(e, -ENODEV, "no interface %s", dev);
	if (err)
		goto out_close;
	ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);

	route = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	dst = pn_addr4(service_cidr, len);
	pref = pn_addr4(src, 32);
	if (!route || !nh || !dst || !pref || rtnl_route_set_dst(route, dst) ||
	    rtnl_route_set_pref_src(route, pref)) {
		err = pn_nomem(e);
		goto out_put;
	}
	rtnl_route_set_family(route, AF_INET);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_protocol(route, RTPROT_STATIC);
	rtnl_route_set_scope(route, RT_SCOPE_LINK);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_add_nexthop(route, nh);
	nh = NULL;
	skiff_error_clear(&nl.kerr);
	err = rtnl_route_add(nl.sk, route, NLM_F_CREATE | NLM_F_REPLACE);
	if (err < 0)
		err = skiff_nl_fail(&nl.kerr, err, e, "cannot route %s/%u to %s",
				    pn_ntoa(service_cidr, buf), len, dev);
out_put:
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(pref);
	nl_addr_put(dst);
	if (route)
		rtnl_route_put(route);
out_close:
	pn_nl_close(&nl);
	return err;
}
