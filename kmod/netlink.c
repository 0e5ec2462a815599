// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "skiff"; the protocol is documented at the top of
 * include/uapi/linux/skiff.h.
 *
 * Each command has its own strict policy, with ranges in the policy, so the
 * core rejects malformed requests (with an extack message and the offending
 * attribute) before a handler runs. Handlers then parse into a config,
 * validate what a policy cannot express (each rejection with a message and
 * the attribute), and only then apply: a rejected request changes nothing.
 *
 * DOC: Locking
 *
 * Handlers run under genl_mutex (no parallel_ops). Those touching devices
 * or peers take RTNL for the duration, which orders them against device
 * teardown (ip link del, namespace exit). &skiff_net.generation is bumped
 * under both, and read by dumps to flag a table that changed under them.
 */

#include <linux/bsearch.h>
#include <linux/etherdevice.h>
#include <linux/inetdevice.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/skiff.h>
#include <net/genetlink.h>
#include <net/ip.h>

#include "netlink.h"
#include "netns.h"
#include "overlay.h"
#include "service.h"

static struct genl_family skiff_genl_family;

enum skiff_mcgrp {
	SKIFF_MCGRP_EVENTS_ID,
};

static const struct genl_multicast_group skiff_mcgrps[] = {
	[SKIFF_MCGRP_EVENTS_ID] = { .name = SKIFF_MCGRP_EVENTS },
};

/* Sets an extack message and the blamed attribute; evaluates to -EINVAL. */
#define skiff_reject(extack, attr, msg) ({			\
	NL_SET_ERR_MSG_ATTR((extack), (attr), (msg));		\
	-EINVAL;						\
})

/*
 * True when required attribute @type of @nest is missing; says which, in
 * the extack's missing-attribute fields and as text ("missing TYPE").
 */
#define skiff_missing(extack, nest, tb, type) ({		\
	struct netlink_ext_ack *__sx = (extack);		\
	bool __missing = !(tb)[type];				\
								\
	if (__missing) {					\
		NL_SET_ERR_ATTR_MISS(__sx, (nest), type);	\
		NL_SET_ERR_MSG(__sx, "missing " #type);	\
	}							\
	__missing;						\
})

static void skiff_changed(struct net *net)
{
	struct skiff_net *sn = skiff_net(net);

	WRITE_ONCE(sn->generation, sn->generation + 1);
}

/* ---- SKIFF_CMD_INFO_GET ----------------------------------------------- */

/*
 * Takes no attributes. Types above SKIFF_A_MAX are rejected by the netlink
 * core ("Unknown attribute type"); the others say why they do not belong.
 */
static const struct nla_policy skiff_info_get_policy[SKIFF_A_MAX + 1] = {
	[SKIFF_A_INFO] = {
		.type = NLA_REJECT,
		.reject_message = "SKIFF_A_INFO is filled in by the kernel, not by requests",
	},
	[SKIFF_A_DEV] = {
		.type = NLA_REJECT,
		.reject_message = "SKIFF_CMD_INFO_GET takes no attributes",
	},
	[SKIFF_A_PEER] = {
		.type = NLA_REJECT,
		.reject_message = "SKIFF_CMD_INFO_GET takes no attributes",
	},
	[SKIFF_A_REPLACE] = {
		.type = NLA_REJECT,
		.reject_message = "SKIFF_CMD_INFO_GET takes no attributes",
	},
	[SKIFF_A_SERVICE] = {
		.type = NLA_REJECT,
		.reject_message = "SKIFF_CMD_INFO_GET takes no attributes",
	},
	[SKIFF_A_CONFIG] = {
		.type = NLA_REJECT,
		.reject_message = "SKIFF_CMD_INFO_GET takes no attributes",
	},
};

static int skiff_info_fill(struct sk_buff *msg, const struct skiff_net *sn)
{
	struct nlattr *nest;

	nest = nla_nest_start(msg, SKIFF_A_INFO);
	if (!nest)
		return -EMSGSIZE;

	if (nla_put_string(msg, SKIFF_INFO_A_VERSION, SKIFF_VERSION) ||
	    nla_put_u32(msg, SKIFF_INFO_A_GENL_VERSION, SKIFF_GENL_VERSION) ||
	    nla_put_u32(msg, SKIFF_INFO_A_GENERATION,
			READ_ONCE(sn->generation)) ||
	    nla_put_u64_64bit(msg, SKIFF_INFO_A_NETNS_COOKIE,
			      sn->net->net_cookie, SKIFF_INFO_A_PAD)) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}

	nla_nest_end(msg, nest);
	return 0;
}

static int skiff_nl_info_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct skiff_net *sn = skiff_net(genl_info_net(info));
	struct sk_buff *msg;
	void *hdr;
	int err;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	hdr = genlmsg_put_reply(msg, info, &skiff_genl_family, 0,
				SKIFF_CMD_INFO_GET);
	if (!hdr) {
		err = -EMSGSIZE;
		goto err_free_msg;
	}

	err = skiff_info_fill(msg, sn);
	if (err)
		goto err_free_msg;

	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err_free_msg:
	nlmsg_free(msg);
	return err;
}

/* ---- devices ---------------------------------------------------------- */

static struct netlink_range_validation skiff_vni_range = {
	.max = 0xffffff,
};

/* 65535 less the 50 bytes of VXLAN over IPv4. */
static struct netlink_range_validation skiff_mtu_range = {
	.min = IPV4_MIN_MTU,
	.max = 65485,
};

static const struct nla_policy skiff_dev_new_policy[SKIFF_DEV_A_MAX + 1] = {
	[SKIFF_DEV_A_IFINDEX] = {
		.type = NLA_REJECT,
		.reject_message = "the kernel picks the ifindex",
	},
	[SKIFF_DEV_A_IFNAME] = { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
	[SKIFF_DEV_A_VNI] = NLA_POLICY_FULL_RANGE(NLA_U32, &skiff_vni_range),
	[SKIFF_DEV_A_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[SKIFF_DEV_A_MTU] = NLA_POLICY_FULL_RANGE(NLA_U32, &skiff_mtu_range),
	[SKIFF_DEV_A_LOCAL4] = { .type = NLA_BE32 },
	[SKIFF_DEV_A_VTEP_MAC] = NLA_POLICY_ETH_ADDR,
	[SKIFF_DEV_A_PEERS] = {
		.type = NLA_REJECT,
		.reject_message = "SKIFF_DEV_A_PEERS is filled in by the kernel",
	},
};

/* Names a device: DEV_DEL, DEV_GET. */
static const struct nla_policy skiff_dev_select_policy[SKIFF_DEV_A_MAX + 1] = {
	[SKIFF_DEV_A_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[SKIFF_DEV_A_IFNAME] = { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
};

static const struct nla_policy skiff_dev_new_top_policy[SKIFF_A_MAX + 1] = {
	[SKIFF_A_DEV] = NLA_POLICY_NESTED(skiff_dev_new_policy),
};

static const struct nla_policy skiff_dev_select_top_policy[SKIFF_A_MAX + 1] = {
	[SKIFF_A_DEV] = NLA_POLICY_NESTED(skiff_dev_select_policy),
};

static int skiff_dev_fill(struct sk_buff *msg, const struct skiff_dev *sd,
			  u32 portid, u32 seq, int flags, u8 cmd)
{
	struct nlattr *nest;
	void *hdr;

	hdr = genlmsg_put(msg, portid, seq, &skiff_genl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;

	nest = nla_nest_start(msg, SKIFF_A_DEV);
	if (!nest)
		goto err_cancel;
	if (nla_put_u32(msg, SKIFF_DEV_A_IFINDEX, sd->dev->ifindex) ||
	    nla_put_string(msg, SKIFF_DEV_A_IFNAME, sd->dev->name) ||
	    nla_put_u32(msg, SKIFF_DEV_A_VNI, sd->vni) ||
	    nla_put_u16(msg, SKIFF_DEV_A_PORT, ntohs(sd->port)) ||
	    nla_put_u32(msg, SKIFF_DEV_A_MTU, sd->dev->mtu) ||
	    nla_put(msg, SKIFF_DEV_A_VTEP_MAC, ETH_ALEN, sd->vtep_mac) ||
	    nla_put_u32(msg, SKIFF_DEV_A_PEERS, sd->peers.count) ||
	    (sd->local4 && nla_put_in_addr(msg, SKIFF_DEV_A_LOCAL4, sd->local4)))
		goto err_cancel;
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return 0;

err_cancel:
	genlmsg_cancel(msg, hdr);
	return -EMSGSIZE;
}

/* Sends @sd as @cmd to the requester (if @info) and to listeners. */
static int skiff_dev_notify(struct skiff_dev *sd, struct genl_info *info,
			    u8 cmd, bool reply)
{
	struct sk_buff *msg, *copy;
	int err;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	err = skiff_dev_fill(msg, sd, reply ? info->snd_portid : 0,
			     reply ? info->snd_seq : 0, 0, cmd);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	copy = skb_clone(msg, GFP_KERNEL);
	if (copy)
		genlmsg_multicast_netns(&skiff_genl_family, sd->net, copy, 0,
					SKIFF_MCGRP_EVENTS_ID, GFP_KERNEL);
	if (reply)
		return genlmsg_reply(msg, info);
	nlmsg_free(msg);
	return 0;
}

static int skiff_dev_parse_new(struct genl_info *info,
			       struct skiff_dev_config *cfg)
{
	struct nlattr *tb[SKIFF_DEV_A_MAX + 1];
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *nest = info->attrs[SKIFF_A_DEV];
	struct nlattr *attr;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, SKIFF_A_DEV)) {
		NL_SET_ERR_MSG(extack, "missing SKIFF_A_DEV");
		return -EINVAL;
	}
	err = nla_parse_nested(tb, SKIFF_DEV_A_MAX, nest, skiff_dev_new_policy,
			       extack);
	if (err)
		return err;
	if (skiff_missing(extack, nest, tb, SKIFF_DEV_A_IFNAME))
		return -EINVAL;

	memset(cfg, 0, sizeof(*cfg));
	attr = tb[SKIFF_DEV_A_IFNAME];
	cfg->ifname = nla_data(attr);
	if (!dev_valid_name(cfg->ifname) || strchr(cfg->ifname, '%'))
		return skiff_reject(extack, attr, "invalid interface name");

	cfg->vni = tb[SKIFF_DEV_A_VNI] ? nla_get_u32(tb[SKIFF_DEV_A_VNI]) :
					 SKIFF_DEFAULT_VNI;
	cfg->port = tb[SKIFF_DEV_A_PORT] ? nla_get_u16(tb[SKIFF_DEV_A_PORT]) :
					   SKIFF_DEFAULT_PORT;
	cfg->mtu = tb[SKIFF_DEV_A_MTU] ? nla_get_u32(tb[SKIFF_DEV_A_MTU]) :
					 SKIFF_DEFAULT_MTU;

	attr = tb[SKIFF_DEV_A_LOCAL4];
	if (attr) {
		cfg->local4 = nla_get_in_addr(attr);
		if (ipv4_is_zeronet(cfg->local4) ||
		    ipv4_is_multicast(cfg->local4) ||
		    ipv4_is_lbcast(cfg->local4))
			return skiff_reject(extack, attr,
					    "local address must be unicast");
	}

	attr = tb[SKIFF_DEV_A_VTEP_MAC];
	if (attr) {
		memcpy(cfg->vtep_mac, nla_data(attr), ETH_ALEN);
		if (!is_valid_ether_addr(cfg->vtep_mac))
			return skiff_reject(extack, attr,
					    "VTEP MAC must be a unicast address");
		cfg->has_vtep_mac = true;
	}
	return 0;
}

static int skiff_nl_dev_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct skiff_dev_config cfg;
	struct skiff_dev *sd;
	int err;

	err = skiff_dev_parse_new(info, &cfg);
	if (err)
		return err;

	rtnl_lock();
	sd = skiff_dev_create(net, &cfg, info->extack);
	if (IS_ERR(sd)) {
		err = PTR_ERR(sd);
		goto out_unlock;
	}
	skiff_changed(net);
	err = skiff_dev_notify(sd, info, SKIFF_CMD_DEV_NEW, true);
out_unlock:
	rtnl_unlock();
	return err;
}

/* Finds the device named by SKIFF_A_DEV. Called with RTNL held. */
static struct skiff_dev *skiff_dev_select(struct genl_info *info)
{
	struct nlattr *tb[SKIFF_DEV_A_MAX + 1];
	struct nlattr *nest = info->attrs[SKIFF_A_DEV];
	int err;

	if (GENL_REQ_ATTR_CHECK(info, SKIFF_A_DEV)) {
		NL_SET_ERR_MSG(info->extack, "missing SKIFF_A_DEV");
		return ERR_PTR(-EINVAL);
	}
	err = nla_parse_nested(tb, SKIFF_DEV_A_MAX, nest,
			       skiff_dev_select_policy, info->extack);
	if (err)
		return ERR_PTR(err);
	if (!tb[SKIFF_DEV_A_IFINDEX] && !tb[SKIFF_DEV_A_IFNAME]) {
		NL_SET_ERR_MSG_ATTR(info->extack, nest,
				    "name the device by SKIFF_DEV_A_IFINDEX or SKIFF_DEV_A_IFNAME");
		return ERR_PTR(-EINVAL);
	}
	if (tb[SKIFF_DEV_A_IFINDEX] && tb[SKIFF_DEV_A_IFNAME]) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[SKIFF_DEV_A_IFNAME],
				    "give SKIFF_DEV_A_IFINDEX or SKIFF_DEV_A_IFNAME, not both");
		return ERR_PTR(-EINVAL);
	}
	if (tb[SKIFF_DEV_A_IFINDEX])
		return skiff_dev_find(genl_info_net(info),
				      nla_get_u32(tb[SKIFF_DEV_A_IFINDEX]), NULL,
				      info->extack);
	return skiff_dev_find(genl_info_net(info), 0,
			      nla_data(tb[SKIFF_DEV_A_IFNAME]), info->extack);
}

static int skiff_nl_dev_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct skiff_dev *sd;
	int err = 0;

	rtnl_lock();
	sd = skiff_dev_select(info);
	if (IS_ERR(sd)) {
		err = PTR_ERR(sd);
		goto out_unlock;
	}
	skiff_dev_notify(sd, info, SKIFF_CMD_DEV_DEL, false);
	skiff_changed(sd->net);
	skiff_dev_destroy(sd);
out_unlock:
	rtnl_unlock();
	return err;
}

static int skiff_nl_dev_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	struct skiff_dev *sd;
	int err;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	rtnl_lock();
	sd = skiff_dev_select(info);
	if (IS_ERR(sd)) {
		err = PTR_ERR(sd);
		goto err_unlock;
	}
	err = skiff_dev_fill(msg, sd, info->snd_portid, info->snd_seq, 0,
			     SKIFF_CMD_DEV_GET);
	if (err)
		goto err_unlock;
	rtnl_unlock();
	return genlmsg_reply(msg, info);

err_unlock:
	rtnl_unlock();
	nlmsg_free(msg);
	return err;
}

/* cb->args[0]: how many devices were sent already. */
static int skiff_nl_dev_get_dumpit(struct sk_buff *skb,
				   struct netlink_callback *cb)
{
	struct skiff_net *sn = skiff_net(sock_net(skb->sk));
	struct skiff_dev *sd;
	long idx = 0;
	int err = 0;

	rtnl_lock();
	cb->seq = READ_ONCE(sn->generation);
	list_for_each_entry(sd, &sn->devs, list) {
		if (idx++ < cb->args[0])
			continue;
		err = skiff_dev_fill(skb, sd, NETLINK_CB(cb->skb).portid,
				     cb->nlh->nlmsg_seq, NLM_F_MULTI,
				     SKIFF_CMD_DEV_GET);
		if (err) {
			idx--;
			break;
		}
		genl_dump_check_consistent(cb, nlmsg_data(nlmsg_hdr(skb)));
	}
	rtnl_unlock();
	cb->args[0] = idx;
	return err && !skb->len ? err : skb->len;
}

/* ---- peers ------------------------------------------------------------ */

static const struct nla_policy skiff_peer_policy[SKIFF_PEER_A_MAX + 1] = {
	[SKIFF_PEER_A_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[SKIFF_PEER_A_PREFIX4] = { .type = NLA_BE32 },
	[SKIFF_PEER_A_PREFIX_LEN] = NLA_POLICY_RANGE(NLA_U8, 1, 32),
	[SKIFF_PEER_A_REMOTE4] = { .type = NLA_BE32 },
	[SKIFF_PEER_A_REMOTE_MAC] = NLA_POLICY_ETH_ADDR,
	[SKIFF_PEER_A_TX_PACKETS] = {
		.type = NLA_REJECT,
		.reject_message = "counters are filled in by the kernel",
	},
	[SKIFF_PEER_A_TX_BYTES] = {
		.type = NLA_REJECT,
		.reject_message = "counters are filled in by the kernel",
	},
};

static const struct nla_policy skiff_peer_top_policy[SKIFF_A_MAX + 1] = {
	[SKIFF_A_PEER] = NLA_POLICY_NESTED(skiff_peer_policy),
};

static const struct nla_policy skiff_peer_new_top_policy[SKIFF_A_MAX + 1] = {
	[SKIFF_A_PEER] = NLA_POLICY_NESTED(skiff_peer_policy),
	[SKIFF_A_REPLACE] = { .type = NLA_FLAG },
};

struct skiff_peer_request {
	struct skiff_dev *sd;
	struct skiff_peer_config cfg;
};

/*
 * Parses SKIFF_A_PEER into @req, finding the device (RTNL held). @full:
 * a new peer (remote and MAC) rather than one named by its prefix.
 */
static int skiff_peer_parse(struct genl_info *info,
			    struct skiff_peer_request *req, bool full)
{
	struct nlattr *tb[SKIFF_PEER_A_MAX + 1];
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *nest = info->attrs[SKIFF_A_PEER];
	struct nlattr *attr;
	__be32 prefix;
	u8 len;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, SKIFF_A_PEER)) {
		NL_SET_ERR_MSG(extack, "missing SKIFF_A_PEER");
		return -EINVAL;
	}
	err = nla_parse_nested(tb, SKIFF_PEER_A_MAX, nest, skiff_peer_policy,
			       extack);
	if (err)
		return err;
	if (skiff_missing(extack, nest, tb, SKIFF_PEER_A_IFINDEX) ||
	    skiff_missing(extack, nest, tb, SKIFF_PEER_A_PREFIX4) ||
	    skiff_missing(extack, nest, tb, SKIFF_PEER_A_PREFIX_LEN))
		return -EINVAL;
	if (full && skiff_missing(extack, nest, tb, SKIFF_PEER_A_REMOTE4))
		return -EINVAL;
	if (!full && (tb[SKIFF_PEER_A_REMOTE4] || tb[SKIFF_PEER_A_REMOTE_MAC]))
		return skiff_reject(extack, tb[SKIFF_PEER_A_REMOTE4] ?:
				    tb[SKIFF_PEER_A_REMOTE_MAC],
				    "a peer is deleted by its prefix alone");

	memset(&req->cfg, 0, sizeof(req->cfg));
	prefix = nla_get_in_addr(tb[SKIFF_PEER_A_PREFIX4]);
	len = nla_get_u8(tb[SKIFF_PEER_A_PREFIX_LEN]);
	if (prefix & ~inet_make_mask(len))
		return skiff_reject(extack, tb[SKIFF_PEER_A_PREFIX4],
				    "prefix has host bits set");
	req->cfg.key.prefix4 = prefix;
	req->cfg.key.prefix_len = len;

	if (full) {
		attr = tb[SKIFF_PEER_A_REMOTE4];
		req->cfg.remote4 = nla_get_in_addr(attr);
		if (ipv4_is_zeronet(req->cfg.remote4) ||
		    ipv4_is_multicast(req->cfg.remote4) ||
		    ipv4_is_lbcast(req->cfg.remote4) ||
		    ipv4_is_loopback(req->cfg.remote4))
			return skiff_reject(extack, attr,
					    "remote must be a unicast underlay address");
		attr = tb[SKIFF_PEER_A_REMOTE_MAC];
		if (attr) {
			memcpy(req->cfg.remote_mac, nla_data(attr), ETH_ALEN);
			if (!is_valid_ether_addr(req->cfg.remote_mac))
				return skiff_reject(extack, attr,
						    "remote MAC must be a unicast address");
		} else {
			eth_broadcast_addr(req->cfg.remote_mac);
		}
	}

	req->sd = skiff_dev_find(genl_info_net(info),
				 nla_get_u32(tb[SKIFF_PEER_A_IFINDEX]), NULL,
				 extack);
	if (IS_ERR(req->sd)) {
		NL_SET_BAD_ATTR(extack, tb[SKIFF_PEER_A_IFINDEX]);
		return PTR_ERR(req->sd);
	}
	return 0;
}

static int skiff_peer_fill(struct sk_buff *msg, const struct skiff_dev *sd,
			   const struct skiff_peer_config *cfg,
			   const struct skiff_peer *peer, u32 portid, u32 seq,
			   int flags, u8 cmd)
{
	struct nlattr *nest;
	u64 packets, bytes;
	void *hdr;

	hdr = genlmsg_put(msg, portid, seq, &skiff_genl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	nest = nla_nest_start(msg, SKIFF_A_PEER);
	if (!nest)
		goto err_cancel;
	if (nla_put_u32(msg, SKIFF_PEER_A_IFINDEX, sd->dev->ifindex) ||
	    nla_put_in_addr(msg, SKIFF_PEER_A_PREFIX4, cfg->key.prefix4) ||
	    nla_put_u8(msg, SKIFF_PEER_A_PREFIX_LEN, cfg->key.prefix_len))
		goto err_cancel;
	if (cmd != SKIFF_CMD_PEER_DEL &&
	    (nla_put_in_addr(msg, SKIFF_PEER_A_REMOTE4, cfg->remote4) ||
	     nla_put(msg, SKIFF_PEER_A_REMOTE_MAC, ETH_ALEN, cfg->remote_mac)))
		goto err_cancel;
	if (peer) {
		skiff_counters_read(&peer->stats, &packets, &bytes);
		if (nla_put_u64_64bit(msg, SKIFF_PEER_A_TX_PACKETS, packets,
				      SKIFF_PEER_A_PAD) ||
		    nla_put_u64_64bit(msg, SKIFF_PEER_A_TX_BYTES, bytes,
				      SKIFF_PEER_A_PAD))
			goto err_cancel;
	}
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return 0;

err_cancel:
	genlmsg_cancel(msg, hdr);
	return -EMSGSIZE;
}

static void skiff_peer_notify(const struct skiff_peer_request *req, u8 cmd)
{
	struct sk_buff *msg;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return;
	if (skiff_peer_fill(msg, req->sd, &req->cfg, NULL, 0, 0, 0, cmd)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_multicast_netns(&skiff_genl_family, req->sd->net, msg, 0,
				SKIFF_MCGRP_EVENTS_ID, GFP_KERNEL);
}

static int skiff_nl_peer_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	bool replace = nla_get_flag(info->attrs[SKIFF_A_REPLACE]);
	struct skiff_peer_request req;
	int err;

	rtnl_lock();
	err = skiff_peer_parse(info, &req, true);
	if (err)
		goto out_unlock;
	err = skiff_peer_add(&req.sd->peers, &req.cfg, replace, info->extack);
	if (err)
		goto out_unlock;
	skiff_changed(req.sd->net);
	skiff_peer_notify(&req, SKIFF_CMD_PEER_NEW);
out_unlock:
	rtnl_unlock();
	return err;
}

static int skiff_nl_peer_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct skiff_peer_request req;
	int err;

	rtnl_lock();
	err = skiff_peer_parse(info, &req, false);
	if (err)
		goto out_unlock;
	err = skiff_peer_del(&req.sd->peers, &req.cfg.key, info->extack);
	if (err)
		goto out_unlock;
	skiff_changed(req.sd->net);
	skiff_peer_notify(&req, SKIFF_CMD_PEER_DEL);
out_unlock:
	rtnl_unlock();
	return err;
}

/*
 * Dumps the peers of the device SKIFF_A_PEER { IFINDEX } names.
 * cb->args[0]: that ifindex, cb->args[1]: peers sent already.
 */
static int skiff_nl_peer_get_dumpit(struct sk_buff *skb,
				    struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct skiff_net *sn = skiff_net(sock_net(skb->sk));
	struct nlattr *tb[SKIFF_PEER_A_MAX + 1];
	struct skiff_peer_config cfg;
	struct skiff_peer *peer;
	struct skiff_dev *sd;
	long idx = 0;
	int err = 0;

	if (!cb->args[0]) {
		struct nlattr *nest = info->attrs[SKIFF_A_PEER];

		if (!nest) {
			NL_SET_ERR_MSG(cb->extack,
				       "name the device: SKIFF_A_PEER { SKIFF_PEER_A_IFINDEX }");
			return -EINVAL;
		}
		err = nla_parse_nested(tb, SKIFF_PEER_A_MAX, nest,
				       skiff_peer_policy, cb->extack);
		if (err)
			return err;
		if (!tb[SKIFF_PEER_A_IFINDEX]) {
			NL_SET_ERR_ATTR_MISS(cb->extack, nest,
					     SKIFF_PEER_A_IFINDEX);
			NL_SET_ERR_MSG(cb->extack, "missing SKIFF_PEER_A_IFINDEX");
			return -EINVAL;
		}
		cb->args[0] = nla_get_u32(tb[SKIFF_PEER_A_IFINDEX]);
	}

	rtnl_lock();
	sd = skiff_dev_find(sock_net(skb->sk), cb->args[0], NULL, cb->extack);
	if (IS_ERR(sd)) {
		err = PTR_ERR(sd);
		goto out_unlock;
	}
	cb->seq = READ_ONCE(sn->generation);
	list_for_each_entry(peer, &sd->peers.list, list) {
		if (idx++ < cb->args[1])
			continue;
		cfg.key = peer->key;
		cfg.remote4 = peer->remote4;
		ether_addr_copy(cfg.remote_mac, peer->remote_mac);
		err = skiff_peer_fill(skb, sd, &cfg, peer,
				      NETLINK_CB(cb->skb).portid,
				      cb->nlh->nlmsg_seq, NLM_F_MULTI,
				      SKIFF_CMD_PEER_GET);
		if (err) {
			idx--;
			break;
		}
		genl_dump_check_consistent(cb, nlmsg_data(nlmsg_hdr(skb)));
	}
	cb->args[1] = idx;
out_unlock:
	rtnl_unlock();
	if (err && !skb->len)
		return err;
	return skb->len;
}

/* ---- services ---------------------------------------------------------- */

static struct netlink_range_validation skiff_affinity_range = {
	.max = 86400,
};

static const struct nla_policy skiff_backend_policy[SKIFF_BACKEND_A_MAX + 1] = {
	[SKIFF_BACKEND_A_ADDR4] = { .type = NLA_BE32 },
	[SKIFF_BACKEND_A_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[SKIFF_BACKEND_A_WEIGHT] = NLA_POLICY_MIN(NLA_U16, 1),
	[SKIFF_BACKEND_A_PACKETS] = {
		.type = NLA_REJECT,
		.reject_message = "counters are filled in by the kernel",
	},
	[SKIFF_BACKEND_A_BYTES] = {
		.type = NLA_REJECT,
		.reject_message = "counters are filled in by the kernel",
	},
};

static const struct nla_policy skiff_service_policy[SKIFF_SERVICE_A_MAX + 1] = {
	[SKIFF_SERVICE_A_VIP4] = { .type = NLA_BE32 },
	[SKIFF_SERVICE_A_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[SKIFF_SERVICE_A_PROTO] = { .type = NLA_U8 },
	[SKIFF_SERVICE_A_AFFINITY] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &skiff_affinity_range),
	[SKIFF_SERVICE_A_BACKEND] = NLA_POLICY_NESTED(skiff_backend_policy),
	/* Unknown bits are refused ("reserved bit set"), not ignored. */
	[SKIFF_SERVICE_A_FLAGS] = NLA_POLICY_MASK(NLA_U32, SKIFF_SERVICE_F_ALL),
	[SKIFF_SERVICE_A_PACKETS] = {
		.type = NLA_REJECT,
		.reject_message = "counters are filled in by the kernel",
	},
	[SKIFF_SERVICE_A_BYTES] = {
		.type = NLA_REJECT,
		.reject_message = "counters are filled in by the kernel",
	},
};

static const struct nla_policy skiff_service_top_policy[SKIFF_A_MAX + 1] = {
	[SKIFF_A_SERVICE] = NLA_POLICY_NESTED(skiff_service_policy),
};

static const struct nla_policy skiff_service_set_top_policy[SKIFF_A_MAX + 1] = {
	[SKIFF_A_SERVICE] = NLA_POLICY_NESTED(skiff_service_policy),
	[SKIFF_A_REPLACE] = { .type = NLA_FLAG },
};

static const struct nla_policy skiff_config_policy[SKIFF_CONFIG_A_MAX + 1] = {
	[SKIFF_CONFIG_A_CLUSTER_CIDR4] = { .type = NLA_BE32 },
	[SKIFF_CONFIG_A_CLUSTER_CIDR_LEN] = NLA_POLICY_MAX(NLA_U8, 32),
};

static const struct nla_policy skiff_config_top_policy[SKIFF_A_MAX + 1] = {
	[SKIFF_A_CONFIG] = NLA_POLICY_NESTED(skiff_config_policy),
};

static bool skiff_unicast4(__be32 a)
{
	return !ipv4_is_zeronet(a) && !ipv4_is_multicast(a) &&
	       !ipv4_is_lbcast(a) && !ipv4_is_loopback(a);
}

/* Parses the key of a service nest: VIP4, PORT, PROTO, all required. */
static int skiff_service_parse_key(struct netlink_ext_ack *extack,
				   struct nlattr *nest, struct nlattr **tb,
				   struct skiff_service_key *key)
{
	u8 proto;

	if (skiff_missing(extack, nest, tb, SKIFF_SERVICE_A_VIP4) ||
	    skiff_missing(extack, nest, tb, SKIFF_SERVICE_A_PORT) ||
	    skiff_missing(extack, nest, tb, SKIFF_SERVICE_A_PROTO))
		return -EINVAL;
	memset(key, 0, sizeof(*key));
	key->vip = nla_get_in_addr(tb[SKIFF_SERVICE_A_VIP4]);
	if (key->vip && !skiff_unicast4(key->vip))
		return skiff_reject(extack, tb[SKIFF_SERVICE_A_VIP4],
				    "virtual IP must be unicast (0.0.0.0 for a NodePort)");
	key->port = htons(nla_get_u16(tb[SKIFF_SERVICE_A_PORT]));
	proto = nla_get_u8(tb[SKIFF_SERVICE_A_PROTO]);
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return skiff_reject(extack, tb[SKIFF_SERVICE_A_PROTO],
				    "protocol must be TCP or UDP");
	key->proto = proto;
	return 0;
}

static int skiff_backend_parse(struct netlink_ext_ack *extack,
			       struct nlattr *nest,
			       struct skiff_backend_config *b)
{
	struct nlattr *tb[SKIFF_BACKEND_A_MAX + 1];
	int err;

	/* Validated with the request (skiff_service_set_top_policy). */
	err = nla_parse_nested(tb, SKIFF_BACKEND_A_MAX, nest, NULL, extack);
	if (err)
		return err;
	if (skiff_missing(extack, nest, tb, SKIFF_BACKEND_A_ADDR4) ||
	    skiff_missing(extack, nest, tb, SKIFF_BACKEND_A_PORT))
		return -EINVAL;
	b->addr = nla_get_in_addr(tb[SKIFF_BACKEND_A_ADDR4]);
	if (!skiff_unicast4(b->addr))
		return skiff_reject(extack, tb[SKIFF_BACKEND_A_ADDR4],
				    "backend address must be unicast");
	b->port = htons(nla_get_u16(tb[SKIFF_BACKEND_A_PORT]));
	b->weight = tb[SKIFF_BACKEND_A_WEIGHT] ?
		    nla_get_u16(tb[SKIFF_BACKEND_A_WEIGHT]) : 1;
	return 0;
}

/*
 * Parses service @nest into @cfg, its backends into @backends: room for
 * every SKIFF_SERVICE_A_BACKEND of @nest, counted (and bounded) by the
 * caller.
 */
static int skiff_service_parse(struct netlink_ext_ack *extack,
			       struct nlattr *nest,
			       struct skiff_service_config *cfg,
			       struct skiff_backend_config *backends)
{
	struct nlattr *tb[SKIFF_SERVICE_A_MAX + 1];
	struct nlattr *attr;
	unsigned int i;
	int rem, err;

	/*
	 * genl validated the whole request against
	 * skiff_service_set_top_policy, nests included: with 100k services
	 * a second pass of the same policies would cost a tenth of the
	 * request, so this only indexes the attributes.
	 */
	err = nla_parse_nested(tb, SKIFF_SERVICE_A_MAX, nest, NULL, extack);
	if (err)
		return err;
	err = skiff_service_parse_key(extack, nest, tb, &cfg->key);
	if (err)
		return err;
	cfg->affinity_timeout = tb[SKIFF_SERVICE_A_AFFINITY] ?
				nla_get_u32(tb[SKIFF_SERVICE_A_AFFINITY]) : 0;
	cfg->flags = tb[SKIFF_SERVICE_A_FLAGS] ?
		     nla_get_u32(tb[SKIFF_SERVICE_A_FLAGS]) : 0;

	cfg->backends = backends;

	nla_for_each_nested(attr, nest, rem) {
		struct skiff_backend_config *b = &cfg->backends[cfg->count];

		if (nla_type(attr) != SKIFF_SERVICE_A_BACKEND)
			continue;
		err = skiff_backend_parse(extack, attr, b);
		if (err)
			return err;
		for (i = 0; i < cfg->count; i++)
			if (cfg->backends[i].addr == b->addr &&
			    cfg->backends[i].port == b->port)
				return skiff_reject(extack, attr,
						    "duplicate backend");
		cfg->count++;
	}
	return 0;
}

static int skiff_service_config_cmp(const void *a, const void *b)
{
	const struct skiff_service_config *x = a, *y = b;

	return memcmp(&x->key, &y->key, sizeof(x->key));
}

static bool skiff_has_listeners(struct net *net)
{
	return genl_has_listeners(&skiff_genl_family, net,
				  SKIFF_MCGRP_EVENTS_ID);
}

/* Closes @msg's top nest @nest and header @hdr, and multicasts it. */
static void skiff_multicast(struct net *net, struct sk_buff *msg, void *hdr,
			    struct nlattr *nest)
{
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	genlmsg_multicast_netns(&skiff_genl_family, net, msg, 0,
				SKIFF_MCGRP_EVENTS_ID, GFP_KERNEL);
}

static int skiff_service_key_put(struct sk_buff *msg,
				 const struct skiff_service_key *key)
{
	if (nla_put_in_addr(msg, SKIFF_SERVICE_A_VIP4, key->vip) ||
	    nla_put_u16(msg, SKIFF_SERVICE_A_PORT, ntohs(key->port)) ||
	    nla_put_u8(msg, SKIFF_SERVICE_A_PROTO, key->proto))
		return -EMSGSIZE;
	return 0;
}

/* Room for a SKIFF_A_SERVICE nest of @backends backends, no counters. */
static size_t skiff_service_event_size(unsigned int backends)
{
	size_t backend = nla_total_size(0) + nla_total_size(sizeof(__be32)) +
			 2 * nla_total_size(sizeof(u16));

	return nla_total_size(0) + nla_total_size(sizeof(__be32)) +
	       nla_total_size(sizeof(u16)) + nla_total_size(sizeof(u8)) +
	       2 * nla_total_size(sizeof(u32)) + backends * backend;
}

/*
 * Multicasts one service change: SKIFF_CMD_SERVICE_SET with the service as
 * set (@cfg), or SKIFF_CMD_SERVICE_DEL with its key alone (@cfg NULL).
 */
static void skiff_service_notify(struct net *net,
				 const struct skiff_service_key *key,
				 const struct skiff_service_config *cfg)
{
	u8 cmd = cfg ? SKIFF_CMD_SERVICE_SET : SKIFF_CMD_SERVICE_DEL;
	struct sk_buff *msg;
	struct nlattr *nest, *b;
	unsigned int i;
	void *hdr;

	msg = genlmsg_new(skiff_service_event_size(cfg ? cfg->count : 0),
			  GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &skiff_genl_family, 0, cmd);
	if (!hdr)
		goto err_free;
	nest = nla_nest_start(msg, SKIFF_A_SERVICE);
	if (!nest || skiff_service_key_put(msg, key))
		goto err_free;
	if (cfg && (nla_put_u32(msg, SKIFF_SERVICE_A_AFFINITY,
				cfg->affinity_timeout) ||
		    nla_put_u32(msg, SKIFF_SERVICE_A_FLAGS, cfg->flags)))
		goto err_free;
	for (i = 0; cfg && i < cfg->count; i++) {
		const struct skiff_backend_config *bc = &cfg->backends[i];

		b = nla_nest_start(msg, SKIFF_SERVICE_A_BACKEND);
		if (!b || nla_put_in_addr(msg, SKIFF_BACKEND_A_ADDR4, bc->addr) ||
		    nla_put_u16(msg, SKIFF_BACKEND_A_PORT, ntohs(bc->port)) ||
		    nla_put_u16(msg, SKIFF_BACKEND_A_WEIGHT, bc->weight))
			goto err_free;
		nla_nest_end(msg, b);
	}
	skiff_multicast(net, msg, hdr, nest);
	return;

err_free:
	nlmsg_free(msg);
}

/*
 * The keys of the services a whole-table replace with @cfgs (sorted) will
 * delete, for their SERVICE_DEL notifications. NULL with *@count 0 when
 * there are none; ERR_PTR on allocation failure.
 */
static struct skiff_service_key *
skiff_services_unkept(struct skiff_services *svcs,
		      const struct skiff_service_config *cfgs,
		      unsigned int ncfgs, unsigned int *count)
{
	struct skiff_service_key *keys;
	struct skiff_service_config probe;
	struct skiff_service *svc;
	unsigned int n = 0;

	*count = 0;
	if (!svcs->count)
		return NULL;
	keys = kvmalloc_array(svcs->count, sizeof(*keys), GFP_KERNEL);
	if (!keys)
		return ERR_PTR(-ENOMEM);
	list_for_each_entry(svc, &svcs->list, list) {
		probe.key = svc->key;
		if (!bsearch(&probe, cfgs, ncfgs, sizeof(*cfgs),
			     skiff_service_config_cmp))
			keys[n++] = svc->key;
	}
	*count = n;
	return keys;
}

static int skiff_nl_service_set_doit(struct sk_buff *skb,
				     struct genl_info *info)
{
	struct skiff_net *sn = skiff_net(genl_info_net(info));
	bool replace_all = nla_get_flag(info->attrs[SKIFF_A_REPLACE]);
	struct skiff_backend_config *backends = NULL, *next;
	unsigned int count = 0, nbackends = 0, ngone = 0, nsvc, i;
	struct skiff_service_key *gone = NULL;
	struct skiff_service_config *cfgs;
	struct nlattr *attr, *battr;
	int rem, brem, err;
	bool notify;

	/* With SKIFF_A_REPLACE, no service at all is a valid table. */
	if (!replace_all && GENL_REQ_ATTR_CHECK(info, SKIFF_A_SERVICE)) {
		NL_SET_ERR_MSG(info->extack, "missing SKIFF_A_SERVICE");
		return -EINVAL;
	}
	/* One array for the backends of every service: 100k allocations less. */
	nlmsg_for_each_attr(attr, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(attr) != SKIFF_A_SERVICE)
			continue;
		count++;
		nsvc = 0;
		nla_for_each_nested(battr, attr, brem)
			if (nla_type(battr) == SKIFF_SERVICE_A_BACKEND)
				nsvc++;
		if (nsvc > SKIFF_MAX_BACKENDS)
			return skiff_reject(info->extack, attr,
					    "at most 1024 backends");
		nbackends += nsvc;
	}
	cfgs = kvcalloc(count, sizeof(*cfgs), GFP_KERNEL);
	backends = kvmalloc_array(nbackends, sizeof(*backends), GFP_KERNEL);
	if ((count && !cfgs) || (nbackends && !backends)) {
		err = -ENOMEM;
		goto out_free;
	}

	/* Parse and validate every service before changing any. */
	i = 0;
	next = backends;
	nlmsg_for_each_attr(attr, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(attr) != SKIFF_A_SERVICE)
			continue;
		cfgs[i].attr = attr;
		err = skiff_service_parse(info->extack, attr, &cfgs[i], next);
		if (err)
			goto out_free;
		next += cfgs[i++].count;
	}
	/* Sorted, a service listed twice sits next to itself. */
	skiff_sort_unless_sorted(cfgs, count, sizeof(*cfgs),
				 skiff_service_config_cmp);
	for (i = 1; i < count; i++) {
		if (!skiff_service_config_cmp(&cfgs[i - 1], &cfgs[i])) {
			err = skiff_reject(info->extack, cfgs[i].attr,
					   "service listed twice in one request");
			goto out_free;
		}
	}

	notify = skiff_has_listeners(genl_info_net(info));
	if (notify && replace_all) {
		gone = skiff_services_unkept(&sn->services, cfgs, count,
					     &ngone);
		if (IS_ERR(gone)) {
			err = PTR_ERR(gone);
			gone = NULL;
			goto out_free;
		}
	}

	err = skiff_services_set(genl_info_net(info), &sn->services, cfgs,
				 count, replace_all, info->extack);
	if (err)
		goto out_free;
	skiff_changed(genl_info_net(info));
	for (i = 0; i < ngone; i++)
		skiff_service_notify(genl_info_net(info), &gone[i], NULL);
	for (i = 0; notify && i < count; i++)
		skiff_service_notify(genl_info_net(info), &cfgs[i].key,
				     &cfgs[i]);
out_free:
	kvfree(gone);
	kvfree(backends);
	kvfree(cfgs);
	return err;
}

static int skiff_nl_service_del_doit(struct sk_buff *skb,
				     struct genl_info *info)
{
	struct skiff_net *sn = skiff_net(genl_info_net(info));
	struct nlattr *tb[SKIFF_SERVICE_A_MAX + 1];
	struct nlattr *nest = info->attrs[SKIFF_A_SERVICE];
	struct skiff_service_key key;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, SKIFF_A_SERVICE)) {
		NL_SET_ERR_MSG(info->extack, "missing SKIFF_A_SERVICE");
		return -EINVAL;
	}
	err = nla_parse_nested(tb, SKIFF_SERVICE_A_MAX, nest,
			       skiff_service_policy, info->extack);
	if (err)
		return err;
	err = skiff_service_parse_key(info->extack, nest, tb, &key);
	if (err)
		return err;
	if (tb[SKIFF_SERVICE_A_BACKEND] || tb[SKIFF_SERVICE_A_AFFINITY] ||
	    tb[SKIFF_SERVICE_A_FLAGS])
		return skiff_reject(info->extack,
				    tb[SKIFF_SERVICE_A_BACKEND] ?:
				    tb[SKIFF_SERVICE_A_AFFINITY] ?:
				    tb[SKIFF_SERVICE_A_FLAGS],
				    "a service is deleted by its key alone");
	err = skiff_service_del(genl_info_net(info), &sn->services, &key,
				info->extack);
	if (err)
		return err;
	skiff_changed(genl_info_net(info));
	if (skiff_has_listeners(genl_info_net(info)))
		skiff_service_notify(genl_info_net(info), &key, NULL);
	return 0;
}

static int skiff_counters_put(struct sk_buff *msg,
			      const struct skiff_counters_slot *stats,
			      int packets_type, int bytes_type, int pad)
{
	u64 packets, bytes;

	skiff_counters_read(stats, &packets, &bytes);
	if (nla_put_u64_64bit(msg, packets_type, packets, pad) ||
	    nla_put_u64_64bit(msg, bytes_type, bytes, pad))
		return -EMSGSIZE;
	return 0;
}

static int skiff_backend_put(struct sk_buff *msg, const struct skiff_backend *b)
{
	struct nlattr *nest;

	nest = nla_nest_start(msg, SKIFF_SERVICE_A_BACKEND);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_in_addr(msg, SKIFF_BACKEND_A_ADDR4, b->addr) ||
	    nla_put_u16(msg, SKIFF_BACKEND_A_PORT, ntohs(b->port)) ||
	    nla_put_u16(msg, SKIFF_BACKEND_A_WEIGHT, b->weight) ||
	    skiff_counters_put(msg, &b->stats, SKIFF_BACKEND_A_PACKETS,
			       SKIFF_BACKEND_A_BYTES, SKIFF_BACKEND_A_PAD)) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

/*
 * One message for @svc with its backends from *@first on; sets *@first
 * to the first backend that did not fit (set->count when all did).
 */
static int skiff_service_fill(struct sk_buff *msg, struct skiff_service *svc,
			      unsigned int *first,
			      struct netlink_callback *cb)
{
	struct skiff_backend_set *set;
	struct nlattr *nest;
	unsigned int i;
	void *hdr;

	hdr = genlmsg_put(msg, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &skiff_genl_family, NLM_F_MULTI,
			  SKIFF_CMD_SERVICE_GET);
	if (!hdr)
		return -EMSGSIZE;
	nest = nla_nest_start(msg, SKIFF_A_SERVICE);
	if (!nest ||
	    nla_put_in_addr(msg, SKIFF_SERVICE_A_VIP4, svc->key.vip) ||
	    nla_put_u16(msg, SKIFF_SERVICE_A_PORT, ntohs(svc->key.port)) ||
	    nla_put_u8(msg, SKIFF_SERVICE_A_PROTO, svc->key.proto) ||
	    nla_put_u32(msg, SKIFF_SERVICE_A_AFFINITY, svc->affinity_timeout) ||
	    nla_put_u32(msg, SKIFF_SERVICE_A_FLAGS, svc->flags) ||
	    skiff_counters_put(msg, &svc->stats, SKIFF_SERVICE_A_PACKETS,
			       SKIFF_SERVICE_A_BYTES, SKIFF_SERVICE_A_PAD))
		goto err_cancel;

	set = skiff_service_set(svc);
	for (i = *first; i < set->count; i++)
		if (skiff_backend_put(msg, &set->backends[i]))
			break;
	/* Not even one backend fit in an empty message: give up. */
	if (i == *first && i < set->count && *first != 0)
		goto err_cancel;
	*first = i;
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return 0;

err_cancel:
	genlmsg_cancel(msg, hdr);
	return -EMSGSIZE;
}

/* cb->args[0]: services sent whole; cb->args[1]: backends of the next. */
static int skiff_nl_service_get_dumpit(struct sk_buff *skb,
				       struct netlink_callback *cb)
{
	struct skiff_net *sn = skiff_net(sock_net(skb->sk));
	struct skiff_service *svc;
	long idx = 0;
	int err = 0;

	cb->seq = READ_ONCE(sn->generation);
	list_for_each_entry(svc, &sn->services.list, list) {
		struct skiff_backend_set *set;
		unsigned int first;

		if (idx < cb->args[0]) {
			idx++;
			continue;
		}
		set = skiff_service_set(svc);
		first = cb->args[1];
		err = skiff_service_fill(skb, svc, &first, cb);
		if (err)
			break;
		genl_dump_check_consistent(cb, nlmsg_data(nlmsg_hdr(skb)));
		if (first < set->count) {
			cb->args[1] = first;
			break;
		}
		cb->args[1] = 0;
		idx++;
	}
	cb->args[0] = idx;
	if (err && !skb->len)
		return err;
	return skb->len;
}

static void skiff_config_notify(struct net *net, __be32 prefix, u8 len)
{
	struct sk_buff *msg;
	struct nlattr *nest;
	void *hdr;

	if (!skiff_has_listeners(net))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &skiff_genl_family, 0,
			  SKIFF_CMD_CONFIG_SET);
	if (!hdr)
		goto err_free;
	nest = nla_nest_start(msg, SKIFF_A_CONFIG);
	if (!nest ||
	    nla_put_in_addr(msg, SKIFF_CONFIG_A_CLUSTER_CIDR4, prefix) ||
	    nla_put_u8(msg, SKIFF_CONFIG_A_CLUSTER_CIDR_LEN, len))
		goto err_free;
	skiff_multicast(net, msg, hdr, nest);
	return;

err_free:
	nlmsg_free(msg);
}

static int skiff_nl_config_set_doit(struct sk_buff *skb,
				    struct genl_info *info)
{
	struct skiff_net *sn = skiff_net(genl_info_net(info));
	struct nlattr *tb[SKIFF_CONFIG_A_MAX + 1];
	struct nlattr *nest = info->attrs[SKIFF_A_CONFIG];
	__be32 prefix, mask;
	u8 len;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, SKIFF_A_CONFIG)) {
		NL_SET_ERR_MSG(info->extack, "missing SKIFF_A_CONFIG");
		return -EINVAL;
	}
	err = nla_parse_nested(tb, SKIFF_CONFIG_A_MAX, nest,
			       skiff_config_policy, info->extack);
	if (err)
		return err;
	if (skiff_missing(info->extack, nest, tb,
			  SKIFF_CONFIG_A_CLUSTER_CIDR4) ||
	    skiff_missing(info->extack, nest, tb,
			  SKIFF_CONFIG_A_CLUSTER_CIDR_LEN))
		return -EINVAL;
	prefix = nla_get_in_addr(tb[SKIFF_CONFIG_A_CLUSTER_CIDR4]);
	len = nla_get_u8(tb[SKIFF_CONFIG_A_CLUSTER_CIDR_LEN]);
	mask = len ? inet_make_mask(len) : 0;
	if (prefix & ~mask)
		return skiff_reject(info->extack,
				    tb[SKIFF_CONFIG_A_CLUSTER_CIDR4],
				    "cluster CIDR has host bits set");
	/* Readers see the old or the new prefix with the new mask: harmless. */
	WRITE_ONCE(sn->services.cluster_prefix, prefix);
	WRITE_ONCE(sn->services.cluster_mask, mask);
	skiff_changed(genl_info_net(info));
	skiff_config_notify(genl_info_net(info), prefix, len);
	return 0;
}

/* ---- the family ------------------------------------------------------- */

/* One policy per command, so that a command rejects what it does not take. */
static const struct genl_ops skiff_genl_ops[] = {
	{
		.cmd = SKIFF_CMD_INFO_GET,
		.doit = skiff_nl_info_get_doit,
		.policy = skiff_info_get_policy,
		.maxattr = ARRAY_SIZE(skiff_info_get_policy) - 1,
	},
	{
		.cmd = SKIFF_CMD_DEV_NEW,
		.doit = skiff_nl_dev_new_doit,
		.policy = skiff_dev_new_top_policy,
		.maxattr = ARRAY_SIZE(skiff_dev_new_top_policy) - 1,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = SKIFF_CMD_DEV_DEL,
		.doit = skiff_nl_dev_del_doit,
		.policy = skiff_dev_select_top_policy,
		.maxattr = ARRAY_SIZE(skiff_dev_select_top_policy) - 1,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = SKIFF_CMD_DEV_GET,
		.doit = skiff_nl_dev_get_doit,
		.dumpit = skiff_nl_dev_get_dumpit,
		.policy = skiff_dev_select_top_policy,
		.maxattr = ARRAY_SIZE(skiff_dev_select_top_policy) - 1,
	},
	{
		.cmd = SKIFF_CMD_PEER_NEW,
		.doit = skiff_nl_peer_new_doit,
		.policy = skiff_peer_new_top_policy,
		.maxattr = ARRAY_SIZE(skiff_peer_new_top_policy) - 1,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = SKIFF_CMD_PEER_DEL,
		.doit = skiff_nl_peer_del_doit,
		.policy = skiff_peer_top_policy,
		.maxattr = ARRAY_SIZE(skiff_peer_top_policy) - 1,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = SKIFF_CMD_PEER_GET,
		.dumpit = skiff_nl_peer_get_dumpit,
		.policy = skiff_peer_top_policy,
		.maxattr = ARRAY_SIZE(skiff_peer_top_policy) - 1,
	},
	{
		.cmd = SKIFF_CMD_SERVICE_SET,
		.doit = skiff_nl_service_set_doit,
		.policy = skiff_service_set_top_policy,
		.maxattr = ARRAY_SIZE(skiff_service_set_top_policy) - 1,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = SKIFF_CMD_SERVICE_DEL,
		.doit = skiff_nl_service_del_doit,
		.policy = skiff_service_top_policy,
		.maxattr = ARRAY_SIZE(skiff_service_top_policy) - 1,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = SKIFF_CMD_SERVICE_GET,
		.dumpit = skiff_nl_service_get_dumpit,
		.policy = skiff_service_top_policy,
		.maxattr = ARRAY_SIZE(skiff_service_top_policy) - 1,
	},
	{
		.cmd = SKIFF_CMD_CONFIG_SET,
		.doit = skiff_nl_config_set_doit,
		.policy = skiff_config_top_policy,
		.maxattr = ARRAY_SIZE(skiff_config_top_policy) - 1,
		.flags = GENL_UNS_ADMIN_PERM,
	},
};

static struct genl_family skiff_genl_family __ro_after_init = {
	.name = SKIFF_GENL_NAME,
	.version = SKIFF_GENL_VERSION,
	.netnsok = true,
	.module = THIS_MODULE,
	.ops = skiff_genl_ops,
	.n_ops = ARRAY_SIZE(skiff_genl_ops),
	.mcgrps = skiff_mcgrps,
	.n_mcgrps = ARRAY_SIZE(skiff_mcgrps),
};

int __init skiff_genl_init(void)
{
	return genl_register_family(&skiff_genl_family);
}

void skiff_genl_exit(void)
{
	genl_unregister_family(&skiff_genl_family);
}
