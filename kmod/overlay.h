/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The overlay device: a layer-3 device that sends what is routed into it to
 * the node owning the destination's pod subnet, as VXLAN.
 */

#ifndef _SKIFF_OVERLAY_H
#define _SKIFF_OVERLAY_H

#include <linux/if_ether.h>
#include <linux/list.h>
#include <linux/netdevice.h>
#include <net/gro_cells.h>

#include "peer.h"

struct netlink_ext_ack;

/**
 * struct skiff_dev - private part of a skiff net_device
 * @dev: the device
 * @net: its namespace (devices cannot move: NETIF_F_NETNS_LOCAL)
 * @list: in &skiff_net.devs (RTNL)
 * @sock: the UDP tunnel socket receiving for this device
 * @vni: VXLAN network identifier, 24 bits
 * @port: UDP port, network order
 * @local4: outer source address, 0 to let routing choose
 * @vtep_mac: source MAC of the inner frames
 * @peers: where packets go
 * @gro_cells: receive path, per CPU
 */
struct skiff_dev {
	struct net_device *dev;
	struct net *net;
	struct list_head list;
	struct socket *sock;
	u32 vni;
	__be16 port;
	__be32 local4;
	u8 vtep_mac[ETH_ALEN];
	struct skiff_peer_table peers;
	struct gro_cells gro_cells;
};

struct skiff_dev_config {
	const char *ifname;
	u32 vni;
	u16 port;
	u32 mtu;
	__be32 local4;
	u8 vtep_mac[ETH_ALEN];
	bool has_vtep_mac;
};

int skiff_overlay_init(void);
void skiff_overlay_exit(void);

/* Called with RTNL held. */
struct skiff_dev *skiff_dev_create(struct net *net,
				   const struct skiff_dev_config *cfg,
				   struct netlink_ext_ack *extack);
void skiff_dev_destroy(struct skiff_dev *sd);
struct skiff_dev *skiff_dev_find(struct net *net, int ifindex,
				 const char *ifname,
				 struct netlink_ext_ack *extack);

#endif /* _SKIFF_OVERLAY_H */
