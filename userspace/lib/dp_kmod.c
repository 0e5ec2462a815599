// SPDX-License-Identifier: GPL-2.0
/*
 * The kmod data plane backend: skiff.ko over the "skiff" generic netlink
 * family (include/uapi/linux/skiff.h). Validation is the kernel's: requests
 * go as given and errors come back with the kernel's extack message.
 *
 * A peer also gets a link-scope route for its prefix into the device, so
 * that "after peer add, the prefix is reached through the peer" holds as
 * it does for the nft backend, whose routes are flannel's.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/rtnetlink.h>

#include <linux/skiff.h>
#include <netlink/genl/genl.h>

#include "dataplane.h"
#include "nl.h"
#include "route.h"
#include "dp_kmod.h"

struct kmod_priv {
	struct skiff_nl *nl;
	struct nl_sock *rtnl;
};

struct skiff_nl *kmod_nl(struct skiff_dp *dp)
{
	return ((struct kmod_priv *)dp->priv)->nl;
}

static struct nl_sock *kmod_rtnl(struct skiff_dp *dp)
{
	return ((struct kmod_priv *)dp->priv)->rtnl;
}

static int kmod_open(struct skiff_dp *dp, struct skiff_error *e)
{
	struct kmod_priv *priv;
	int err;

	priv = calloc(1, sizeof(*priv));
	if (!priv)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	err = skiff_nl_open(&priv->nl, e);
	if (err)
		goto err_free_priv;
	priv->rtnl = nl_socket_alloc();
	if (!priv->rtnl) {
		err = skiff_error_set(e, -ENOMEM, "out of memory");
		goto err_close_nl;
	}
	err = nl_connect(priv->rtnl, NETLINK_ROUTE);
	if (err < 0) {
		err = skiff_error_set(e, -EIO, "rtnetlink: %s", nl_geterror(err));
		goto err_free_rtnl;
	}
	dp->priv = priv;
	return 0;

err_free_rtnl:
	nl_socket_free(priv->rtnl);
err_close_nl:
	skiff_nl_close(priv->nl);
err_free_priv:
	free(priv);
	return err;
}

static void kmod_close(struct skiff_dp *dp)
{
	struct kmod_priv *priv = dp->priv;

	nl_socket_free(priv->rtnl);
	skiff_nl_close(priv->nl);
	free(priv);
}

static int no_memory(struct skiff_error *e)
{
	return skiff_error_set(e, -ENOMEM, "out of memory");
}

/* ---- devices ------------------------------------------------------------ */

static struct nla_policy dev_policy[SKIFF_DEV_A_MAX + 1] = {
	[SKIFF_DEV_A_IFINDEX] = { .type = NLA_U32 },
	[SKIFF_DEV_A_IFNAME] = { .type = NLA_NUL_STRING },
	[SKIFF_DEV_A_VNI] = { .type = NLA_U32 },
	[SKIFF_DEV_A_PORT] = { .type = NLA_U16 },
	[SKIFF_DEV_A_MTU] = { .type = NLA_U32 },
	[SKIFF_DEV_A_LOCAL4] = { .type = NLA_U32 },
	[SKIFF_DEV_A_VTEP_MAC] = { .minlen = 6, .maxlen = 6 },
	[SKIFF_DEV_A_PEERS] = { .type = NLA_U32 },
};

static int dev_parse(struct nl_msg *reply, struct skiff_dp_dev *dev)
{
	struct nlattr *top[SKIFF_A_MAX + 1];
	struct nlattr *tb[SKIFF_DEV_A_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(reply), 0, top, SKIFF_A_MAX, NULL) < 0 ||
	    !top[SKIFF_A_DEV] ||
	    nla_parse_nested(tb, SKIFF_DEV_A_MAX, top[SKIFF_A_DEV],
			     dev_policy) < 0)
		return -EPROTO;
	if (!tb[SKIFF_DEV_A_IFINDEX] || !tb[SKIFF_DEV_A_IFNAME] ||
	    !tb[SKIFF_DEV_A_VNI] || !tb[SKIFF_DEV_A_PORT] ||
	    !tb[SKIFF_DEV_A_MTU] || !tb[SKIFF_DEV_A_VTEP_MAC] ||
	    !tb[SKIFF_DEV_A_PEERS])
		return -EPROTO;

	memset(dev, 0, sizeof(*dev));
	snprintf(dev->name, sizeof(dev->name), "%s",
		 nla_get_string(tb[SKIFF_DEV_A_IFNAME]));
	dev->ifindex = nla_get_u32(tb[SKIFF_DEV_A_IFINDEX]);
	dev->vni = nla_get_u32(tb[SKIFF_DEV_A_VNI]);
	dev->port = nla_get_u16(tb[SKIFF_DEV_A_PORT]);
	dev->mtu = nla_get_u32(tb[SKIFF_DEV_A_MTU]);
	if (tb[SKIFF_DEV_A_LOCAL4])
		dev->local4.s_addr = nla_get_u32(tb[SKIFF_DEV_A_LOCAL4]);
	memcpy(dev->vtep_mac, nla_data(tb[SKIFF_DEV_A_VTEP_MAC]), 6);
	dev->has_vtep_mac = true;
	dev->peers = nla_get_u32(tb[SKIFF_DEV_A_PEERS]);
	return 0;
}

static int dev_reply_cb(struct nl_msg *reply, void *arg)
{
	return dev_parse(reply, arg);
}

static int kmod_dev_add(struct skiff_dp *dp, struct skiff_dp_dev *dev,
			struct skiff_error *e)
{
	struct nl_msg *msg;
	struct nlattr *nest;

	msg = skiff_nl_request(kmod_nl(dp), SKIFF_CMD_DEV_NEW, 0);
	if (!msg)
		return no_memory(e);
	nest = nla_nest_start(msg, SKIFF_A_DEV);
	if (!nest ||
	    nla_put_string(msg, SKIFF_DEV_A_IFNAME, dev->name) ||
	    nla_put_u32(msg, SKIFF_DEV_A_VNI, dev->vni) ||
	    nla_put_u16(msg, SKIFF_DEV_A_PORT, dev->port) ||
	    nla_put_u32(msg, SKIFF_DEV_A_MTU, dev->mtu) ||
	    (dev->local4.s_addr &&
	     nla_put_u32(msg, SKIFF_DEV_A_LOCAL4, dev->local4.s_addr)) ||
	    (dev->has_vtep_mac &&
	     nla_put(msg, SKIFF_DEV_A_VTEP_MAC, 6, dev->vtep_mac))) {
		nlmsg_free(msg);
		return no_memory(e);
	}
	nla_nest_end(msg, nest);
	return skiff_nl_call(kmod_nl(dp), msg, dev_reply_cb, dev, e);
}

static struct nl_msg *dev_select(struct skiff_dp *dp, uint8_t cmd,
				 const char *name)
{
	struct nl_msg *msg;
	struct nlattr *nest;

	msg = skiff_nl_request(kmod_nl(dp), cmd, 0);
	if (!msg)
		return NULL;
	nest = nla_nest_start(msg, SKIFF_A_DEV);
	if (!nest || nla_put_string(msg, SKIFF_DEV_A_IFNAME, name)) {
		nlmsg_free(msg);
		return NULL;
	}
	nla_nest_end(msg, nest);
	return msg;
}

static int kmod_dev_del(struct skiff_dp *dp, const char *name,
			struct skiff_error *e)
{
	struct nl_msg *msg = dev_select(dp, SKIFF_CMD_DEV_DEL, name);

	if (!msg)
		return no_memory(e);
	return skiff_nl_call(kmod_nl(dp), msg, NULL, NULL, e);
}

struct list_ctx {
	skiff_dp_dev_cb dev_cb;
	skiff_dp_peer_cb peer_cb;
	void *arg;
	int stopped;
};

static int dev_list_cb(struct nl_msg *reply, void *arg)
{
	struct list_ctx *ctx = arg;
	struct skiff_dp_dev dev;
	int err;

	if (ctx->stopped)
		return 0;
	err = dev_parse(reply, &dev);
	if (err)
		return err;
	ctx->stopped = ctx->dev_cb(&dev, ctx->arg);
	return 0;
}

static int kmod_dev_list(struct skiff_dp *dp, const char *name,
			 skiff_dp_dev_cb cb, void *arg, struct skiff_error *e)
{
	struct list_ctx ctx = { .dev_cb = cb, .arg = arg };
	struct nl_msg *msg;
	int err;

	if (name)
		msg = dev_select(dp, SKIFF_CMD_DEV_GET, name);
	else
		msg = skiff_nl_request(kmod_nl(dp), SKIFF_CMD_DEV_GET,
				       NLM_F_DUMP);
	if (!msg)
		return no_memory(e);
	err = skiff_nl_call(kmod_nl(dp), msg, dev_list_cb, &ctx, e);
	return err ? err : ctx.stopped;
}

/* ---- peers -------------------------------------------------------------- */

static struct nla_policy peer_policy[SKIFF_PEER_A_MAX + 1] = {
	[SKIFF_PEER_A_IFINDEX] = { .type = NLA_U32 },
	[SKIFF_PEER_A_PREFIX4] = { .type = NLA_U32 },
	[SKIFF_PEER_A_PREFIX_LEN] = { .type = NLA_U8 },
	[SKIFF_PEER_A_REMOTE4] = { .type = NLA_U32 },
	[SKIFF_PEER_A_REMOTE_MAC] = { .minlen = 6, .maxlen = 6 },
	[SKIFF_PEER_A_TX_PACKETS] = { .type = NLA_U64 },
	[SKIFF_PEER_A_TX_BYTES] = { .type = NLA_U64 },
};

static int peer_parse(struct nl_msg *reply, struct skiff_dp_peer *peer)
{
	struct nlattr *top[SKIFF_A_MAX + 1];
	struct nlattr *tb[SKIFF_PEER_A_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(reply), 0, top, SKIFF_A_MAX, NULL) < 0 ||
	    !top[SKIFF_A_PEER] ||
	    nla_parse_nested(tb, SKIFF_PEER_A_MAX, top[SKIFF_A_PEER],
			     peer_policy) < 0)
		return -EPROTO;
	if (!tb[SKIFF_PEER_A_PREFIX4] || !tb[SKIFF_PEER_A_PREFIX_LEN] ||
	    !tb[SKIFF_PEER_A_REMOTE4] || !tb[SKIFF_PEER_A_REMOTE_MAC])
		return -EPROTO;

	memset(peer, 0, sizeof(*peer));
	peer->prefix4.s_addr = nla_get_u32(tb[SKIFF_PEER_A_PREFIX4]);
	peer->prefix_len = nla_get_u8(tb[SKIFF_PEER_A_PREFIX_LEN]);
	peer->remote4.s_addr = nla_get_u32(tb[SKIFF_PEER_A_REMOTE4]);
	memcpy(peer->remote_mac, nla_data(tb[SKIFF_PEER_A_REMOTE_MAC]), 6);
	peer->has_remote_mac = true;
	if (tb[SKIFF_PEER_A_TX_PACKETS])
		peer->tx_packets = nla_get_u64(tb[SKIFF_PEER_A_TX_PACKETS]);
	if (tb[SKIFF_PEER_A_TX_BYTES])
		peer->tx_bytes = nla_get_u64(tb[SKIFF_PEER_A_TX_BYTES]);
	return 0;
}

static int dev_ifindex(struct skiff_dp *dp, const char *name,
		       struct skiff_error *e)
{
	struct skiff_dp_dev dev;
	struct nl_msg *msg;
	int err;

	msg = dev_select(dp, SKIFF_CMD_DEV_GET, name);
	if (!msg)
		return no_memory(e);
	dev.ifindex = 0;
	err = skiff_nl_call(kmod_nl(dp), msg, dev_reply_cb, &dev, e);
	return err ? err : dev.ifindex;
}

static struct nl_msg *peer_request(struct skiff_dp *dp, uint8_t cmd, int flags,
				   int ifindex,
				   const struct skiff_dp_peer *peer, bool full)
{
	struct nl_msg *msg;
	struct nlattr *nest;

	msg = skiff_nl_request(kmod_nl(dp), cmd, flags);
	if (!msg)
		return NULL;
	nest = nla_nest_start(msg, SKIFF_A_PEER);
	if (!nest || nla_put_u32(msg, SKIFF_PEER_A_IFINDEX, ifindex))
		goto err_free_msg;
	if (peer &&
	    (nla_put_u32(msg, SKIFF_PEER_A_PREFIX4, peer->prefix4.s_addr) ||
	     nla_put_u8(msg, SKIFF_PEER_A_PREFIX_LEN, peer->prefix_len)))
		goto err_free_msg;
	if (full &&
	    (nla_put_u32(msg, SKIFF_PEER_A_REMOTE4, peer->remote4.s_addr) ||
	     (peer->has_remote_mac &&
	      nla_put(msg, SKIFF_PEER_A_REMOTE_MAC, 6, peer->remote_mac))))
		goto err_free_msg;
	nla_nest_end(msg, nest);
	return msg;

err_free_msg:
	nlmsg_free(msg);
	return NULL;
}

static void peer_route(const struct skiff_dp_peer *peer, int ifindex,
		       struct skiff_route *r)
{
	memset(r, 0, sizeof(*r));
	r->dst = peer->prefix4;
	r->dst_len = peer->prefix_len;
	r->ifindex = ifindex;
}

static int peer_del_request(struct skiff_dp *dp, int ifindex,
			    const struct skiff_dp_peer *peer,
			    struct skiff_error *e)
{
	struct nl_msg *msg;

	msg = peer_request(dp, SKIFF_CMD_PEER_DEL, 0, ifindex, peer, false);
	if (!msg)
		return no_memory(e);
	return skiff_nl_call(kmod_nl(dp), msg, NULL, NULL, e);
}

static int kmod_peer_add(struct skiff_dp *dp, const char *dev,
			 const struct skiff_dp_peer *peer, bool replace,
			 struct skiff_error *e)
{
	struct skiff_error ignored;
	struct skiff_route route;
	struct nl_msg *msg;
	int ifindex, err;

	ifindex = dev_ifindex(dp, dev, e);
	if (ifindex < 0)
		return ifindex;
	msg = peer_request(dp, SKIFF_CMD_PEER_NEW, 0, ifindex, peer, true);
	if (!msg || (replace && nla_put_flag(msg, SKIFF_A_REPLACE))) {
		nlmsg_free(msg);
		return no_memory(e);
	}
	err = skiff_nl_call(kmod_nl(dp), msg, NULL, NULL, e);
	if (err)
		return err;

	peer_route(peer, ifindex, &route);
	err = skiff_route_add(kmod_rtnl(dp), &route, true, e);
	if (err && !replace)
		peer_del_request(dp, ifindex, peer, &ignored);
	return err;
}

static int kmod_peer_del(struct skiff_dp *dp, const char *dev,
			 const struct skiff_dp_peer *peer,
			 struct skiff_error *e)
{
	struct skiff_error ignored;
	struct skiff_route route;
	int ifindex, err;

	ifindex = dev_ifindex(dp, dev, e);
	if (ifindex < 0)
		return ifindex;
	err = peer_del_request(dp, ifindex, peer, e);
	if (err)
		return err;
	/* Gone already if someone deleted it by hand: that is fine. */
	peer_route(peer, ifindex, &route);
	skiff_route_del(kmod_rtnl(dp), &route, &ignored);
	return 0;
}

static int peer_list_cb(struct nl_msg *reply, void *arg)
{
	struct list_ctx *ctx = arg;
	struct skiff_dp_peer peer;
	int err;

	if (ctx->stopped)
		return 0;
	err = peer_parse(reply, &peer);
	if (err)
		return err;
	ctx->stopped = ctx->peer_cb(&peer, ctx->arg);
	return 0;
}

static int kmod_peer_list(struct skiff_dp *dp, const char *dev,
			  skiff_dp_peer_cb cb, void *arg,
			  struct skiff_error *e)
{
	struct list_ctx ctx = { .peer_cb = cb, .arg = arg };
	struct nl_msg *msg;
	int ifindex, err;

	ifindex = dev_ifindex(dp, dev, e);
	if (ifindex < 0)
		return ifindex;
	msg = peer_request(dp, SKIFF_CMD_PEER_GET, NLM_F_DUMP, ifindex, NULL,
			   false);
	if (!msg)
		return no_memory(e);
	err = skiff_nl_call(kmod_nl(dp), msg, peer_list_cb, &ctx, e);
	return err ? err : ctx.stopped;
}

/* skiff.ko's events, and links for devices deleted behind its back. */
static int kmod_watch(struct skiff_dp *dp, int *fds, int max,
		      struct skiff_error *e)
{
	unsigned int links = RTNLGRP_LINK;
	unsigned int group;
	int id;

	if (max < 2)
		return skiff_error_set(e, -EINVAL, "kmod needs two sockets");
	id = skiff_nl_mcgrp(kmod_nl(dp), SKIFF_MCGRP_EVENTS);
	if (id < 0)
		return skiff_error_set(e, id, "skiff.ko has no \"%s\" group",
				       SKIFF_MCGRP_EVENTS);
	group = id;
	fds[0] = skiff_nl_listen(NETLINK_GENERIC, &group, 1, e);
	if (fds[0] < 0)
		return fds[0];
	fds[1] = skiff_nl_listen(NETLINK_ROUTE, &links, 1, e);
	if (fds[1] < 0) {
		close(fds[0]);
		return fds[1];
	}
	return 2;
}

const struct skiff_dp_ops skiff_dp_kmod_ops = {
	.open = kmod_open,
	.close = kmod_close,
	.dev_add = kmod_dev_add,
	.dev_del = kmod_dev_del,
	.dev_list = kmod_dev_list,
	.peer_add = kmod_peer_add,
	.peer_del = kmod_peer_del,
	.peer_list = kmod_peer_list,
	.set_cluster_cidr = kmod_set_cluster_cidr,
	.service_set = kmod_service_set,
	.service_del = kmod_service_del,
	.service_list = kmod_service_list,
	.service_sync = kmod_service_sync,
	.watch = kmod_watch,
};
