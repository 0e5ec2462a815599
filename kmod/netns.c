// SPDX-License-Identifier: GPL-2.0
/*
 * Per network namespace state: every node of a cluster built on one kernel
 * lives in its own namespace, so nothing in skiff.ko is global but the
 * allocator of per-CPU counters (counters.c).
 */

#include "netns.h"

unsigned int skiff_net_id __read_mostly;

static int __net_init skiff_net_init(struct net *net)
{
	struct skiff_net *sn = skiff_net(net);

	sn->net = net;
	INIT_LIST_HEAD(&sn->devs);
	sn->generation = 0;
	return skiff_services_init(net, &sn->services);
}

static void __net_exit skiff_net_exit(struct net *net)
{
	/*
	 * Devices go before subsystems: default_device_exit_batch() has
	 * deleted every skiff device through its rtnl_link_ops by now.
	 */
	WARN_ON_ONCE(!list_empty(&skiff_net(net)->devs));
	skiff_services_exit(net, &skiff_net(net)->services);
}

static struct pernet_operations skiff_net_ops = {
	.init = skiff_net_init,
	.exit = skiff_net_exit,
	.id = &skiff_net_id,
	.size = sizeof(struct skiff_net),
};

int __init skiff_netns_init(void)
{
	return register_pernet_subsys(&skiff_net_ops);
}

void skiff_netns_exit(void)
{
	unregister_pernet_subsys(&skiff_net_ops);
}
