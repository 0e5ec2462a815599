/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The data plane interface: what skiff-node and skiff-dp program, whichever
 * backend does the work.
 *
 *   kmod  skiff.ko over generic netlink: a skiff overlay device with its
 *         peer table in kernel.
 *   nft   what Linux has without skiff.ko, set up the way flannel does it:
 *         a vxlan device (nolearning) and, per peer, an onlink route via
 *         the subnet's first address, a permanent neighbour entry for that
 *         address with the peer's VTEP MAC and a permanent fdb entry
 *         sending that MAC to the peer's underlay address.
 *
 * Both give the same semantics: packets routed into the device for an
 * address inside a peer's prefix go to that peer as VXLAN with the device's
 * VNI and port. Every call acts on the caller's network namespace.
 */

#ifndef SKIFF_DATAPLANE_H
#define SKIFF_DATAPLANE_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

enum skiff_dp_backend {
	SKIFF_DP_KMOD,
	SKIFF_DP_NFT,
};

/* Parses "kmod" or "nft"; -EINVAL otherwise. */
int skiff_dp_backend_parse(const char *name, enum skiff_dp_backend *backend);
const char *skiff_dp_backend_name(enum skiff_dp_backend backend);

/**
 * struct skiff_dp_dev - an overlay device
 * @name: interface name
 * @ifindex: set by the backend
 * @vni: VXLAN network identifier
 * @port: UDP port
 * @mtu: device MTU
 * @local4: outer source address; INADDR_ANY lets routing choose
 * @vtep_mac: the MAC remote Linux vxlan peers must send to
 * @has_vtep_mac: on add, @vtep_mac was given (else the backend picks one)
 * @peers: number of peers (reported by dev_list)
 */
struct skiff_dp_dev {
	char name[IF_NAMESIZE];
	int ifindex;
	uint32_t vni;
	uint16_t port;
	uint32_t mtu;
	struct in_addr local4;
	uint8_t vtep_mac[6];
	bool has_vtep_mac;
	uint32_t peers;
};

/* Fills @dev with the defaults: VNI 1, port 8472, MTU 1450. */
void skiff_dp_dev_init(struct skiff_dp_dev *dev, const char *name);

/**
 * struct skiff_dp_peer - a remote pod subnet and the node that has it
 * @prefix4: the subnet, host bits zero
 * @prefix_len: 1..32
 * @remote4: the node's underlay address
 * @remote_mac: the node's VTEP MAC
 * @has_remote_mac: @remote_mac is known; the kmod backend can do without
 *	it when the peer runs skiff.ko, the nft backend cannot
 * @tx_packets: sent to this peer (kmod; 0 where the backend cannot tell)
 * @tx_bytes: likewise
 */
struct skiff_dp_peer {
	struct in_addr prefix4;
	uint8_t prefix_len;
	struct in_addr remote4;
	uint8_t remote_mac[6];
	bool has_remote_mac;
	uint64_t tx_packets;
	uint64_t tx_bytes;
};

struct skiff_dp;

typedef int (*skiff_dp_dev_cb)(const struct skiff_dp_dev *dev, void *arg);
typedef int (*skiff_dp_peer_cb)(const struct skiff_dp_peer *peer, void *arg);

int skiff_dp_open(struct skiff_dp **dpp, enum skiff_dp_backend backend,
		  struct skiff_error *e);
void skiff_dp_close(struct skiff_dp *dp);
enum skiff_dp_backend skiff_dp_backend(const struct skiff_dp *dp);

/* Creates @dev (down) and fills in what the backend chose. */
int skiff_dp_dev_add(struct skiff_dp *dp, struct skiff_dp_dev *dev,
		     struct skiff_error *e);
int skiff_dp_dev_del(struct skiff_dp *dp, const char *name,
		     struct skiff_error *e);
/* Calls @cb for the device @name, or for every overlay device if NULL. */
int skiff_dp_dev_list(struct skiff_dp *dp, const char *name,
		      skiff_dp_dev_cb cb, void *arg, struct skiff_error *e);

/* Adds @peer to device @dev; with @replace an existing one is replaced. */
int skiff_dp_peer_add(struct skiff_dp *dp, const char *dev,
		      const struct skiff_dp_peer *peer, bool replace,
		      struct skiff_error *e);
/* Deletes the peer of @dev with @peer's prefix. */
int skiff_dp_peer_del(struct skiff_dp *dp, const char *dev,
		      const struct skiff_dp_peer *peer,
		      struct skiff_error *e);
int skiff_dp_peer_list(struct skiff_dp *dp, const char *dev,
		       skiff_dp_peer_cb cb, void *arg, struct skiff_error *e);

/* ---- backends (dataplane.c dispatches to them) ---- */

struct skiff_dp_ops {
	int (*open)(struct skiff_dp *dp, struct skiff_error *e);
	void (*close)(struct skiff_dp *dp);
	int (*dev_add)(struct skiff_dp *dp, struct skiff_dp_dev *dev,
		       struct skiff_error *e);
	int (*dev_del)(struct skiff_dp *dp, const char *name,
		       struct skiff_error *e);
	int (*dev_list)(struct skiff_dp *dp, const char *name,
			skiff_dp_dev_cb cb, void *arg, struct skiff_error *e);
	int (*peer_add)(struct skiff_dp *dp, const char *dev,
			const struct skiff_dp_peer *peer, bool replace,
			struct skiff_error *e);
	int (*peer_del)(struct skiff_dp *dp, const char *dev,
			const struct skiff_dp_peer *peer,
			struct skiff_error *e);
	int (*peer_list)(struct skiff_dp *dp, const char *dev,
			 skiff_dp_peer_cb cb, void *arg, struct skiff_error *e);
};

/**
 * struct skiff_dp - an open data plane
 * @backend: which one
 * @ops: its operations
 * @priv: the backend's own state
 */
struct skiff_dp {
	enum skiff_dp_backend backend;
	const struct skiff_dp_ops *ops;
	void *priv;
};

extern const struct skiff_dp_ops skiff_dp_kmod_ops;
extern const struct skiff_dp_ops skiff_dp_nft_ops;

#endif /* SKIFF_DATAPLANE_H */
