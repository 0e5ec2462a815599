/* SPDX-License-Identifier: GPL-2.0 */
/*
 * skiff-node: the agent of one node. One process, one event loop
 * (client/loop.h), three jobs that share the loop and the apiserver
 * connection:
 *
 *   node.c     the Node object (addresses, capacity, conditions) and its
 *              heartbeat Lease in kube-node-lease
 *   kubelet.c  the pods bound to this node: sandboxes (podnet.h),
 *              containers (runtime.h, image.h, volume.h), probes
 *              (probe.h), status
 *   overlay.c  other nodes' pod subnets over VXLAN, flannel's job
 *   proxy.c    Services into the data plane, kube-proxy's job
 *
 * The agent works in the network namespace it is started in (a machine's
 * own, or one a test made to stand for a node) and keeps its state under
 * --root-dir, so several agents share one kernel. It must run in the
 * machine's mount namespace: pod network namespaces and volumes are
 * mounts that outlive the agent (a restart adopts them).
 */

#ifndef SKIFF_NODE_H
#define SKIFF_NODE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "dataplane.h"
#include "informer.h"
#include "overlay.h"
#include "podnet.h"
#include "proxy.h"
#include "runtime.h"

#define SKIFF_NODE_LEASE_NS "kube-node-lease"
#define SKIFF_NODE_BRIDGE "skiff0"

struct skiff_kubelet;
struct skiff_logserver;
struct skiff_kubeconfig;

/**
 * struct skiff_node - the agent
 * @name: the Node's name
 * @node_ip: its underlay address (--node-ip, else the address of the
 *	default route's device)
 * @node_ip_text: the same as text
 * @root_dir: state (pods, addresses, runtime state)
 * @image_dir: the image store
 * @runtime_name: "runc" or "crun"
 * @dp_choice: "auto", "kmod" or "nft"
 * @service_cidr: Service virtual IPs (routed into the node)
 * @cluster_cidr: every node's pod subnet is in it (masquerade outside)
 * @mtu: pod and overlay MTU (underlay MTU - 50)
 * @heartbeat_ms: Lease renewal period
 * @pod_cidr: this node's subnet, once the controller manager gave one
 * @pod_len: its prefix length
 * @networked: the bridge and overlay are up (pods may start)
 * @kubelet_port: the container log endpoint's port on @node_ip
 *	(--kubelet-port, 10250; 0: none), in the Node's daemonEndpoints
 * @logserver: that endpoint (logserver.c)
 */
struct skiff_node {
	const char *name;
	struct in_addr node_ip;
	char node_ip_text[INET_ADDRSTRLEN];
	const char *root_dir;
	const char *image_dir;
	const char *runtime_name;
	const char *dp_choice;
	struct in_addr service_cidr;
	uint8_t service_len;
	struct in_addr cluster_cidr;
	uint8_t cluster_len;
	uint32_t mtu;
	int64_t heartbeat_ms;
	/* the apiserver and this node's credentials (its log endpoint's too) */
	const struct skiff_kubeconfig *kc;
	int64_t status_reported_ms;	/* the last Node status sent */
	bool heartbeat_started;

	struct skiff_loop *loop;
	struct skiff_client *c;
	struct skiff_dp *dp;
	struct skiff_runtime *rt;
	struct skiff_ipam *ipam;
	struct skiff_informer *nodes;
	struct skiff_informer *pods;
	struct skiff_informer *services;
	struct skiff_informer *endpoints;
	struct skiff_overlay *overlay;
	struct skiff_proxy *proxy;
	struct skiff_kubelet *kubelet;

	struct in_addr pod_cidr;
	uint8_t pod_len;
	bool networked;
	unsigned long beats;
	json_t *last_status;	/* the Node status last sent */
	uint16_t kubelet_port;
	struct skiff_logserver *logserver;
};

/* node.c: registers the Node and starts the heartbeat. 0 or -1. */
int skiff_node_register(struct skiff_node *n);
/* The Node's conditions and capacity are sent again when they change. */
void skiff_node_status_tick(void *arg);

/* kubelet.c */
int skiff_kubelet_start(struct skiff_node *n, struct skiff_error *e);
void skiff_kubelet_free(struct skiff_kubelet *k);
/* Pods running on the node, for the Node's status. */
unsigned int skiff_kubelet_pods(const struct skiff_kubelet *k);

/*
 * logserver.c: GET /containerLogs/NS/POD/CONTAINER and /dataplane on
 * @n->node_ip port @n->kubelet_port (nothing when 0), served from the
 * files under @n->root_dir and data plane handles of its own, by threads
 * of its own that touch nothing else of the agent. Sets @n->logserver.
 */
int skiff_logserver_start(struct skiff_node *n, struct skiff_error *e);
void skiff_logserver_stop(struct skiff_logserver *ls);
/*
 * What its GET /dataplane reports: the data plane the agent opened
 * (@backend), and its overlay device @dev once it exists (NULL before).
 * Called from the event loop; nothing when @ls is NULL.
 */
void skiff_logserver_set_dataplane(struct skiff_logserver *ls, enum skiff_dp_backend backend,
				   const char *dev);

#endif /* SKIFF_NODE_H */
