// SPDX-License-Identifier: GPL-2.0
/*
 * skiff_info_parse(): a SKIFF_CMD_INFO_GET reply, well formed or not.
 */

#include <errno.h>
#include <string.h>

#include <linux/skiff.h>
#include <netlink/genl/genl.h>

#include "info.h"
#include "tap.h"

enum omit {
	OMIT_NONE,
	OMIT_VERSION,
	OMIT_COOKIE,
	OMIT_NEST,
};

static struct nl_msg *reply(enum omit omit, bool short_genl_version,
			    const char *version)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct nlattr *nest;

	genlmsg_put(msg, 0, 0, 42, 0, 0, SKIFF_CMD_INFO_GET, 1);
	if (omit == OMIT_NEST)
		return msg;
	nest = nla_nest_start(msg, SKIFF_A_INFO);
	if (omit != OMIT_VERSION)
		nla_put_string(msg, SKIFF_INFO_A_VERSION, version);
	if (short_genl_version)
		nla_put_u16(msg, SKIFF_INFO_A_GENL_VERSION, 1);
	else
		nla_put_u32(msg, SKIFF_INFO_A_GENL_VERSION, 1);
	if (omit != OMIT_COOKIE)
		nla_put_u64(msg, SKIFF_INFO_A_NETNS_COOKIE, 4097);
	nla_put_u32(msg, SKIFF_INFO_A_GENERATION, 7);
	nla_nest_end(msg, nest);
	return msg;
}

static int parse(struct nl_msg *msg, struct skiff_info *info)
{
	int err;

	memset(info, 0, sizeof(*info));
	err = skiff_info_parse(msg, info);
	nlmsg_free(msg);
	return err;
}

int main(void)
{
	char toolong[64];
	struct skiff_info info;

	tap_plan(10);

	tap_is_int(parse(reply(OMIT_NONE, false, "1.2.3"), &info), 0,
		   "complete reply parses");
	tap_is_str(info.version, "1.2.3", "version");
	tap_is_int(info.genl_version, 1, "genl version");
	tap_is_int((long long)info.netns_cookie, 4097, "netns cookie");
	tap_is_int(info.generation, 7, "generation");

	tap_is_int(parse(reply(OMIT_NEST, false, "1"), &info), -EPROTO,
		   "reply without SKIFF_A_INFO is refused");
	tap_is_int(parse(reply(OMIT_VERSION, false, "1"), &info), -EPROTO,
		   "reply without a version is refused");
	tap_is_int(parse(reply(OMIT_COOKIE, false, "1"), &info), -EPROTO,
		   "reply without a netns cookie is refused");
	tap_is_int(parse(reply(OMIT_NONE, true, "1"), &info), -EPROTO,
		   "genl version of the wrong size is refused");

	memset(toolong, 'v', sizeof(toolong) - 1);
	toolong[sizeof(toolong) - 1] = '\0';
	tap_is_int(parse(reply(OMIT_NONE, false, toolong), &info), -EPROTO,
		   "version longer than the buffer is refused");

	return tap_done();
}
