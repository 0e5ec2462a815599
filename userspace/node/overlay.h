/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The overlay, flannel's job: this node's pod subnet reachable from every
 * other node over VXLAN.
 *
 * At start (once the Node has its spec.podCIDR from the controller
 * manager's node IPAM) the overlay device is made on the data plane
 * (kmod or nft backend), named "skiff.VNI", with the node's underlay
 * address as the outer source and the pod subnet's network address as
 * its /32 (as flannel.1 has). The Node is annotated with what the other
 * nodes need to send to it:
 *   skiff.dev/vtep-mac      the device's MAC (Linux vxlan peers need it)
 *   skiff.dev/underlay-ip   the outer address (defaults to InternalIP)
 * Then every other Node with a podCIDR and an underlay address becomes a
 * peer (its podCIDR -> its underlay address and MAC); changed nodes are
 * replaced, deleted nodes removed. Peers on the device that no Node
 * explains are removed at the first sync (left over from a lost node).
 */

#ifndef SKIFF_OVERLAY_H
#define SKIFF_OVERLAY_H

#include <netinet/in.h>
#include <stdint.h>

#include "client.h"
#include "dataplane.h"
#include "informer.h"

#define SKIFF_ANNOTATION_VTEP_MAC "skiff.dev/vtep-mac"
#define SKIFF_ANNOTATION_UNDERLAY_IP "skiff.dev/underlay-ip"

/**
 * struct skiff_overlay_config - how this node joins the overlay
 * @node_name: this node's Node name
 * @node_ip: its underlay address
 * @pod_cidr: its pod subnet
 * @pod_len: the subnet's prefix length
 * @vni: VXLAN network identifier (1, as flannel's default)
 * @port: UDP port (8472)
 * @mtu: the overlay MTU (underlay MTU - 50)
 */
struct skiff_overlay_config {
	const char *node_name;
	struct in_addr node_ip;
	struct in_addr pod_cidr;
	uint8_t pod_len;
	uint32_t vni;
	uint16_t port;
	uint32_t mtu;
};

struct skiff_overlay;

/*
 * Makes (or finds, after an agent restart) the overlay device and
 * annotates the Node; then follows @nodes (an informer of all Nodes,
 * started by the caller) to keep the peers. -errno with @e on failure.
 */
int skiff_overlay_start(struct skiff_overlay **ovp, struct skiff_client *c,
			struct skiff_dp *dp, struct skiff_informer *nodes,
			const struct skiff_overlay_config *cfg,
			struct skiff_error *e);
/* Before @nodes is freed: it forgets its handlers on it. */
void skiff_overlay_free(struct skiff_overlay *ov);
/* The overlay device's name ("skiff.1"). */
const char *skiff_overlay_dev(const struct skiff_overlay *ov);

#endif /* SKIFF_OVERLAY_H */
