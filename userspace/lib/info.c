// SPDX-License-Identifier: GPL-2.0
/*
 * SKIFF_CMD_INFO_GET on the client side.
 */

#include <errno.h>
#include <string.h>

#include <linux/skiff.h>
#include <netlink/genl/genl.h>

#include "info.h"

static struct nla_policy info_policy[SKIFF_INFO_A_MAX + 1] = {
	[SKIFF_INFO_A_VERSION] = { .type = NLA_NUL_STRING },
	[SKIFF_INFO_A_GENL_VERSION] = { .type = NLA_U32 },
	[SKIFF_INFO_A_NETNS_COOKIE] = { .type = NLA_U64 },
	[SKIFF_INFO_A_GENERATION] = { .type = NLA_U32 },
};

int skiff_info_parse(struct nl_msg *reply, struct skiff_info *info)
{
	struct nlattr *top[SKIFF_A_MAX + 1];
	struct nlattr *attrs[SKIFF_INFO_A_MAX + 1];
	const char *version;

	if (genlmsg_parse(nlmsg_hdr(reply), 0, top, SKIFF_A_MAX, NULL) < 0 ||
	    !top[SKIFF_A_INFO])
		return -EPROTO;
	if (nla_parse_nested(attrs, SKIFF_INFO_A_MAX, top[SKIFF_A_INFO],
			     info_policy) < 0)
		return -EPROTO;
	if (!attrs[SKIFF_INFO_A_VERSION] || !attrs[SKIFF_INFO_A_GENL_VERSION] ||
	    !attrs[SKIFF_INFO_A_NETNS_COOKIE] ||
	    !attrs[SKIFF_INFO_A_GENERATION])
		return -EPROTO;

	version = nla_get_string(attrs[SKIFF_INFO_A_VERSION]);
	if (strlen(version) >= sizeof(info->version))
		return -EPROTO;
	strcpy(info->version, version);
	info->genl_version = nla_get_u32(attrs[SKIFF_INFO_A_GENL_VERSION]);
	info->netns_cookie = nla_get_u64(attrs[SKIFF_INFO_A_NETNS_COOKIE]);
	info->generation = nla_get_u32(attrs[SKIFF_INFO_A_GENERATION]);
	return 0;
}

static int parse_cb(struct nl_msg *reply, void *arg)
{
	return skiff_info_parse(reply, arg);
}

int skiff_info_get(struct skiff_nl *nl, struct skiff_info *info,
		   struct skiff_error *e)
{
	struct nl_msg *msg;

	memset(info, 0, sizeof(*info));
	msg = skiff_nl_request(nl, SKIFF_CMD_INFO_GET, 0);
	if (!msg)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	if (skiff_nl_call(nl, msg, parse_cb, info, e))
		return e->err;
	if (!info->version[0])
		return skiff_error_set(e, -EPROTO,
				       "kernel acknowledged without a reply");
	return 0;
}
