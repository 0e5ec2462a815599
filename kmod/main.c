// SPDX-License-Identifier: GPL-2.0
/*
 * skiff.ko: the node data plane of the skiff cluster system.
 *
 * Module init registers the per-namespace state, then the device type, then
 * the netlink family, so that no request can reach what is not set up yet;
 * exit undoes the same steps in reverse (unregistering the device type
 * deletes every skiff device in every namespace).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/skiff.h>
#include <net/genetlink.h>

#include "counters.h"
#include "netlink.h"
#include "netns.h"
#include "overlay.h"
#include "test_triggers.h"

static int __init skiff_mod_init(void)
{
	int err;

	err = skiff_netns_init();
	if (err)
		goto err_out;

	err = skiff_overlay_init();
	if (err)
		goto err_unregister_netns;

	err = skiff_genl_init();
	if (err)
		goto err_unregister_overlay;

	err = skiff_test_triggers_init();
	if (err)
		goto err_unregister_genl;

	pr_info("version %s loaded\n", SKIFF_VERSION);
	return 0;

err_unregister_genl:
	skiff_genl_exit();
err_unregister_overlay:
	skiff_overlay_exit();
err_unregister_netns:
	skiff_netns_exit();
err_out:
	return err;
}

static void __exit skiff_mod_exit(void)
{
	skiff_test_triggers_exit();
	skiff_genl_exit();
	skiff_overlay_exit();
	skiff_netns_exit();
	/* Backend sets, services, peers still waiting for a grace period. */
	rcu_barrier();
	skiff_counters_exit();
	pr_info("unloaded\n");
}

module_init(skiff_mod_init);
module_exit(skiff_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("skiff node data plane: VXLAN overlay and Service DNAT");
MODULE_AUTHOR("The skiff developers");
MODULE_VERSION(SKIFF_VERSION);
MODULE_ALIAS_GENL_FAMILY(SKIFF_GENL_NAME);
