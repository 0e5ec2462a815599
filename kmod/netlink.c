// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "skiff": parse and validate requests (strictly, with
 * an extack message for every rejection), then apply them to the per-netns
 * state of the socket's namespace.
 */

#include <linux/skiff.h>
#include <net/genetlink.h>

#include "netlink.h"
#include "netns.h"

static struct genl_family skiff_genl_family;

/*
 * SKIFF_CMD_INFO_GET takes no attributes. Types above SKIFF_A_MAX are
 * rejected by the netlink core ("Unknown attribute type"); the reply-only
 * nest gets a message of its own so the caller learns why.
 */
static const struct nla_policy skiff_info_get_policy[SKIFF_A_MAX + 1] = {
	[SKIFF_A_INFO] = {
		.type = NLA_REJECT,
		.reject_message = "SKIFF_A_INFO is filled in by the kernel, not by requests",
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
	    nla_put_u32(msg, SKIFF_INFO_A_GENERATION, sn->generation) ||
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

/* One policy per command, so that a command rejects what it does not take. */
static const struct genl_ops skiff_genl_ops[] = {
	{
		.cmd = SKIFF_CMD_INFO_GET,
		.doit = skiff_nl_info_get_doit,
		.policy = skiff_info_get_policy,
		.maxattr = ARRAY_SIZE(skiff_info_get_policy) - 1,
	},
};

static struct genl_family skiff_genl_family __ro_after_init = {
	.name = SKIFF_GENL_NAME,
	.version = SKIFF_GENL_VERSION,
	.netnsok = true,
	.module = THIS_MODULE,
	.ops = skiff_genl_ops,
	.n_ops = ARRAY_SIZE(skiff_genl_ops),
};

int __init skiff_genl_init(void)
{
	return genl_register_family(&skiff_genl_family);
}

void skiff_genl_exit(void)
{
	genl_unregister_family(&skiff_genl_family);
}
