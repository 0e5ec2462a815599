/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per network namespace state of skiff.ko.
 */

#ifndef _SKIFF_NETNS_H
#define _SKIFF_NETNS_H

#include <linux/list.h>
#include <linux/types.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "service.h"

/**
 * struct skiff_net - what skiff.ko keeps for one network namespace
 * @net: the namespace this state belongs to
 * @devs: the skiff devices of @net (&skiff_dev.list), under RTNL
 * @services: the Services programmed in @net
 * @generation: bumped on every configuration change in @net, so that a dump
 *	spanning several messages can tell it saw a consistent table; called
 *	with genl_mutex held (the family does not set parallel_ops)
 */
struct skiff_net {
	struct net *net;
	struct list_head devs;
	struct skiff_services services;
	u32 generation;
};

extern unsigned int skiff_net_id;

static inline struct skiff_net *skiff_net(const struct net *net)
{
	return net_generic(net, skiff_net_id);
}

int skiff_netns_init(void);
void skiff_netns_exit(void);

#endif /* _SKIFF_NETNS_H */
