/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pod network on one node, the part a CNI bridge plugin does: the
 * node's bridge holding the first address of its pod subnet, addresses for
 * pods from that subnet (persisted, never handed out twice while in use),
 * one network namespace per pod wired to the bridge by a veth pair, and
 * the node-wide rules around them (masquerade of pod traffic leaving the
 * cluster, the route that lets the node reach Service virtual IPs).
 *
 * Every call acts in the caller's network namespace (the node's) and
 * mount namespace (where pod network namespaces are bind-mounted).
 */

#ifndef SKIFF_PODNET_H
#define SKIFF_PODNET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/*
 * Creates bridge @name if missing (idempotent), gives it the first address
 * of @subnet/@len (10.244.1.1/24 for 10.244.1.0/24), sets @mtu and brings
 * it up. Addresses of other subnets on it are removed (the node's podCIDR
 * never changes while pods run; a new one means a new node).
 */
int skiff_bridge_setup(const char *name, struct in_addr subnet, uint8_t len,
		       uint32_t mtu, struct skiff_error *e);

/* ---- addresses ---- */

struct skiff_ipam;

/*
 * Opens the address book of @subnet/@len kept in directory @dir (created
 * if missing): one file per address in use naming its owner, so that an
 * agent restart finds them all. A book made for another subnet is refused
 * (-EEXIST) rather than mixed.
 */
int skiff_ipam_open(struct skiff_ipam **ipamp, const char *dir,
		    struct in_addr subnet, uint8_t len, struct skiff_error *e);
void skiff_ipam_close(struct skiff_ipam *ipam);
/*
 * The address of @owner (a pod uid): the one it has, else the next free
 * one after the last handed out (not the network, gateway or broadcast
 * address), written to disk (fsync) before it is returned. -ENOSPC when
 * the subnet is full.
 */
int skiff_ipam_get(struct skiff_ipam *ipam, const char *owner,
		   struct in_addr *addr, struct skiff_error *e);
/* Frees the address of @owner; 0 also when it had none. */
int skiff_ipam_release(struct skiff_ipam *ipam, const char *owner);
/* Calls @fn for every address in use, with its owner. */
int skiff_ipam_for_each(struct skiff_ipam *ipam,
			int (*fn)(struct in_addr addr, const char *owner,
				  void *arg), void *arg);

/* ---- sandboxes ---- */

/**
 * struct skiff_sandbox - the network of one pod
 * @netns_path: where its network namespace is bind-mounted
 * @bridge: the node bridge its host-side veth joins
 * @host_veth: the host-side veth's name (skiff_sandbox_veth_name())
 * @addr: the pod's address
 * @prefix_len: of the node's pod subnet
 * @gateway: the bridge's address, the pod's default route
 * @mtu: of the pod's eth0 (the overlay's)
 */
struct skiff_sandbox {
	const char *netns_path;
	const char *bridge;
	char host_veth[16];
	struct in_addr addr;
	uint8_t prefix_len;
	struct in_addr gateway;
	uint32_t mtu;
};

/* "veth" and 8 hex digits of a hash of @pod_uid: stable across restarts. */
void skiff_sandbox_veth_name(const char *pod_uid, char out[16]);

/*
 * Creates the pod's network namespace at @sb->netns_path and wires it:
 * eth0 with @sb->addr, lo up, default route via the gateway, the host side
 * on the bridge with hairpin on. Idempotent: a sandbox that exists is
 * checked and completed, not made twice. On error nothing is left behind.
 */
int skiff_sandbox_create(const struct skiff_sandbox *sb,
			 struct skiff_error *e);
/* True when @netns_path is a mounted network namespace. */
bool skiff_sandbox_exists(const char *netns_path);
/* Deletes the namespace (and so its veth pair); 0 also when it is gone. */
int skiff_sandbox_destroy(const char *netns_path, const char *host_veth,
			  struct skiff_error *e);

/* ---- node-wide rules ---- */

/*
 * Traffic from pods (@pod_cidr, the node's subnet) to anywhere outside
 * @cluster_cidr is masqueraded, as flannel does; traffic inside the
 * cluster keeps the pod's address. One nftables table of our own
 * ("skiff-node"), replaced as a whole in one batch. IP forwarding is
 * switched on in the node's namespace.
 */
int skiff_podnet_masquerade(struct in_addr pod_cidr, uint8_t pod_len,
			    struct in_addr cluster_cidr, uint8_t cluster_len,
			    struct skiff_error *e);
/* Removes that table; 0 also when there is none. */
int skiff_podnet_masquerade_del(struct skiff_error *e);

/*
 * Routes @service_cidr through the bridge @dev with source @src (the
 * bridge's address), so that the node's own processes reach Service
 * virtual IPs (the data plane translates them on the way). Idempotent.
 */
int skiff_podnet_service_route(const char *dev, struct in_addr service_cidr,
			       uint8_t len, struct in_addr src,
			       struct skiff_error *e);

#endif /* SKIFF_PODNET_H */
