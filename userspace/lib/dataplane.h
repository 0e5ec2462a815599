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
 *
 * Services, the same on both backends (kube-proxy's semantics):
 *   - A service is (virtual IP, port, protocol) -> backends (IP, port,
 *     weight). A virtual IP of 0.0.0.0 is a NodePort: the port on every
 *     local address of the node.
 *   - A new connection (conntrack NEW) to a service is DNATed to one
 *     backend, chosen by weight; replies are translated back; an
 *     established connection keeps its backend while the service changes.
 *   - Removing a backend deletes the conntrack entries of connections to
 *     it through the service at once (UDP too), so no flow sticks to a
 *     backend that is gone.
 *   - A service with no backend rejects: TCP RST, ICMP port unreachable
 *     for UDP. It does not drop silently.
 *   - ClientIP affinity (affinity_timeout > 0): a client keeps the backend
 *     it was given while it keeps talking to the service, until it has
 *     been silent for affinity_timeout seconds (or the backend is removed).
 *   - Masquerade (SNAT to the outgoing interface's address) of connections
 *     to a service when the client is outside the cluster CIDR (NodePort
 *     from the underlay, or a node's own processes), when they come in on
 *     a NodePort, and when a pod reaches itself through its service
 *     (hairpin). Without a cluster CIDR set, every connection to a service
 *     is masqueraded.
 *   - A service with @local (Kubernetes' externalTrafficPolicy: Local)
 *     masquerades hairpin connections only: every other client, NodePort
 *     and outside ones included, keeps its own address, which the backend
 *     sees. Its backends must be on this node (the caller picks them: the
 *     proxy gives such a NodePort only the node's own endpoints), or the
 *     replies would not come back through the node to be translated.
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

enum skiff_dp_proto {
	SKIFF_DP_TCP = 6,
	SKIFF_DP_UDP = 17,
};

/* "tcp"/"udp" <-> protocol number; -EINVAL for any other. */
int skiff_dp_proto_parse(const char *name, uint8_t *proto);
const char *skiff_dp_proto_name(uint8_t proto);

/**
 * struct skiff_dp_service - a service: where it listens and how it balances
 * @vip: virtual IP; INADDR_ANY for a NodePort
 * @port: its port
 * @proto: SKIFF_DP_TCP or SKIFF_DP_UDP
 * @affinity_timeout: ClientIP affinity in seconds; 0 for none (1..86400)
 * @packets: packets to the service (reported where the backend counts)
 * @bytes: likewise
 * @local: externalTrafficPolicy Local: clients keep their address, only
 *	hairpin is masqueraded (see Masquerade above)
 */
struct skiff_dp_service {
	struct in_addr vip;
	uint16_t port;
	uint8_t proto;
	uint32_t affinity_timeout;
	uint64_t packets;
	uint64_t bytes;
	bool local;
};

/**
 * struct skiff_dp_endpoint - one backend (endpoint) of a service
 * @addr: its address (a pod IP)
 * @port: its port
 * @weight: share of new connections, 1..65535 (0 is read as 1)
 * @packets: packets sent to it through the service (where counted)
 * @bytes: likewise
 */
struct skiff_dp_endpoint {
	struct in_addr addr;
	uint16_t port;
	uint16_t weight;
	uint64_t packets;
	uint64_t bytes;
};

#define SKIFF_DP_MAX_BACKENDS 1024

/* Orders endpoints by address, then port (a qsort/bsearch comparator). */
int skiff_dp_endpoint_cmp(const void *a, const void *b);

/*
 * Whether two services (same key) are set alike: affinity, local and
 * backends with their weights, the backends of each sorted by skiff_dp_endpoint_cmp.
 * Counters do not count.
 */
bool skiff_dp_service_same(const struct skiff_dp_service *a,
			   const struct skiff_dp_endpoint *a_backends,
			   unsigned int a_count,
			   const struct skiff_dp_service *b,
			   const struct skiff_dp_endpoint *b_backends,
			   unsigned int b_count);

struct skiff_dp;

typedef int (*skiff_dp_dev_cb)(const struct skiff_dp_dev *dev, void *arg);
typedef int (*skiff_dp_peer_cb)(const struct skiff_dp_peer *peer, void *arg);
typedef int (*skiff_dp_service_cb)(const struct skiff_dp_service *svc,
				   const struct skiff_dp_endpoint *backends,
				   unsigned int count, void *arg);

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

/*
 * The cluster's pod CIDR: connections to services from outside it are
 * masqueraded. @len 0 clears it (masquerade everything).
 */
int skiff_dp_set_cluster_cidr(struct skiff_dp *dp, struct in_addr prefix,
			      uint8_t len, struct skiff_error *e);

/*
 * Creates the service @svc (vip, port, proto) or replaces its settings and
 * whole backend set with @backends[0..@count). Removed backends lose their
 * connections; kept ones keep them. Atomic: on error nothing changed.
 */
int skiff_dp_service_set(struct skiff_dp *dp,
			 const struct skiff_dp_service *svc,
			 const struct skiff_dp_endpoint *backends,
			 unsigned int count, struct skiff_error *e);
/* Deletes the service with @svc's vip, port and proto, and its flows. */
int skiff_dp_service_del(struct skiff_dp *dp,
			 const struct skiff_dp_service *svc,
			 struct skiff_error *e);
/**
 * struct skiff_dp_service_spec - a service with its backends, for a sync
 */
struct skiff_dp_service_spec {
	struct skiff_dp_service svc;
	const struct skiff_dp_endpoint *backends;
	unsigned int count;
};

/*
 * Makes the service table exactly @specs[0..@n): services in it are set
 * as service_set would, services not in it are deleted (with their
 * connections). Atomic on both backends: on error nothing changed. This
 * is what `skiff-dp apply FILE` and a node's full resync use.
 */
int skiff_dp_service_sync(struct skiff_dp *dp,
			  const struct skiff_dp_service_spec *specs,
			  unsigned int n, struct skiff_error *e);

/* Calls @cb for every service, with its backends and counters. */
int skiff_dp_service_list(struct skiff_dp *dp, skiff_dp_service_cb cb,
			  void *arg, struct skiff_error *e);

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
	int (*set_cluster_cidr)(struct skiff_dp *dp, struct in_addr prefix,
				uint8_t len, struct skiff_error *e);
	int (*service_set)(struct skiff_dp *dp,
			   const struct skiff_dp_service *svc,
			   const struct skiff_dp_endpoint *backends,
			   unsigned int count, struct skiff_error *e);
	int (*service_del)(struct skiff_dp *dp,
			   const struct skiff_dp_service *svc,
			   struct skiff_error *e);
	int (*service_list)(struct skiff_dp *dp, skiff_dp_service_cb cb,
			    void *arg, struct skiff_error *e);
	int (*service_sync)(struct skiff_dp *dp,
			    const struct skiff_dp_service_spec *specs,
			    unsigned int n, struct skiff_error *e);
	/*
	 * Opens up to @max nonblocking sockets that turn readable when the
	 * tables may have changed (monitor.c); returns how many, or -errno.
	 */
	int (*watch)(struct skiff_dp *dp, int *fds, int max,
		     struct skiff_error *e);
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
