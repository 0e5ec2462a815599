/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SKIFF_CMD_INFO_GET: what skiff.ko reports about itself and the network
 * namespace answering.
 */

#ifndef SKIFF_INFO_H
#define SKIFF_INFO_H

#include <stdint.h>

#include "nl.h"

struct skiff_info {
	char version[32];
	uint32_t genl_version;
	uint32_t generation;
	uint64_t netns_cookie;
};

int skiff_info_get(struct skiff_nl *nl, struct skiff_info *info,
		   struct skiff_error *e);

/* Fills @info from one SKIFF_CMD_INFO_GET reply; -EPROTO if malformed. */
int skiff_info_parse(struct nl_msg *reply, struct skiff_info *info);

#endif /* SKIFF_INFO_H */
