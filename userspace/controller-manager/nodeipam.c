// SPDX-License-Identifier: GPL-2.0
/*
 * The Node IPAM controller (Kubernetes' range allocator): gives every Node
 * a pod subnet, spec.podCIDR and spec.podCIDRs, cut from --cluster-cidr in
 * blocks of /--node-cidr-size. The node daemon takes its pods' addresses
 * from it and the overlay routes it to the node: a subnet handed out twice
 * is two nodes answering for the same pods, so this is the flannel subnet
 * lease, kept in the API store.
 *
 * Which blocks are taken lives in memory and is rebuilt from the Nodes
 * before the first allocation, so a restart (or a new leader) never hands
 * out a block a node holds. A node that has a podCIDR keeps it (even one
 * outside the range, made before a change of flags). Allocations are
 * marked taken when the write is sent, and the write carries the Node's
 * resourceVersion, so a node another writer changed meanwhile is looked at
 * again rather than overwritten. A deleted node's block is free again;
 * the next block is looked for after the last one given, as Kubernetes
 * does, so a freed subnet is not reused at once while stale routes to its
 * old node may linger. When the range is full a node waits without a
 * subnet, with an Event saying so, until a node goes.
 */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm.h"

/* Kubernetes' cidrset refuses more than 2^16 subnets too. */
#define MAX_BITS 16

struct ipam_ctl {
	struct cm *cm;
	struct skiff_informer *nodes;
	struct skiff_queue *q;
	uint32_t base;		/* the cluster CIDR's first address */
	int prefix;		/* its length */
	int size;		/* each node's prefix length */
	uint32_t n_blocks;
	uint32_t next;		/* where the next search starts */
	uint32_t n_used;
	json_t *owner;		/* block index (text) -> node name */
	json_t *by_node;	/* node name -> block index */
	json_t *starved;	/* node name -> true: told the range is full */
	bool rebuilt;
};

static struct ipam_ctl ipam_ctl;

static void block_text(const struct ipam_ctl *a, uint32_t block, char *out,
		       size_t len)
{
	struct in_addr in = {
		.s_addr = htonl(a->base + (block << (32 - a->size))),
	};
	char addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &in, addr, sizeof(addr));
	snprintf(out, len, "%s/%d", addr, a->size);
}

/* The block @cidr is in the range, or -1 (out of range, other size). */
static long block_of(const struct ipam_ctl *a, const char *cidr)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = cidr ? strchr(cidr, '/') : NULL;
	struct in_addr in;
	uint32_t ip;

	if (!slash || (size_t)(slash - cidr) >= sizeof(addr) ||
	    atoi(slash + 1) != a->size)
		return -1;
	memcpy(addr, cidr, slash - cidr);
	addr[slash - cidr] = '\0';
	if (inet_pton(AF_INET, addr, &in) != 1)
		return -1;
	ip = ntohl(in.s_addr);
	if ((ip & (0xffffffffu >> a->size)) ||
	    (ip & ~(0xffffffffu >> a->prefix)) != a->base)
		return -1;
	return (long)((ip - a->base) >> (32 - a->size));
}

static const char *owner_of(const struct ipam_ctl *a, uint32_t block)
{
	char idx[24];

	snprintf(idx, sizeof(idx), "%u", block);
	return json_string_value(json_object_get(a->owner, idx));
}

static void release(struct ipam_ctl *a, const char *node, long block);

/* @node holds @block now, and no longer what it held before. */
static void take(struct ipam_ctl *a, uint32_t block, const char *node)
{
	const json_t *before = json_object_get(a->by_node, node);
	char idx[24];

	if (before && json_integer_value(before) != block)
		release(a, node, (long)json_integer_value(before));
	snprintf(idx, sizeof(idx), "%u", block);
	if (!json_object_get(a->owner, idx))
		a->n_used++;
	json_object_set_new(a->owner, idx, json_string(node));
	json_object_set_new(a->by_node, node, json_integer(block));
}

/* Frees what @node holds; then nodes waiting for a block look again. */
static void release(struct ipam_ctl *a, const char *node, long block)
{
	const json_t *n;
	const char *key;
	char idx[24];

	if (block < 0)
		return;
	snprintf(idx, sizeof(idx), "%ld", block);
	if (strcmp(json_string_value(json_object_get(a->owner, idx)) ?: "",
		   node))
		return;
	json_object_del(a->owner, idx);
	a->n_used--;
	json_object_foreach(a->starved, key, n)
		skiff_queue_add(a->q, key);
}

/* The first free block from a->next on, or -1. */
static long find_free(struct ipam_ctl *a)
{
	uint32_t i, b;

	if (a->n_used >= a->n_blocks)
		return -1;
	for (i = 0; i < a->n_blocks; i++) {
		b = (a->next + i) % a->n_blocks;
		if (!owner_of(a, b)) {
			a->next = (b + 1) % a->n_blocks;
			return b;
		}
	}
	return -1;
}

/* Marks what a Node holds taken; false when another node holds it. */
static bool occupy(struct ipam_ctl *a, const json_t *node)
{
	const char *name = skiff_meta(node, "name");
	const char *cidr = skiff_str(node, "spec.podCIDR");
	long block = block_of(a, cidr);
	const char *holder;

	if (block < 0) {
		if (!json_object_get(a->by_node, name)) {
			fprintf(stderr,
				"nodeipam: node %s keeps podCIDR %s, outside %s or not a /%d\n",
				name, cidr, a->cm->cluster_cidr, a->size);
			json_object_set_new(a->by_node, name, json_integer(-1));
		}
		return true;
	}
	holder = owner_of(a, (uint32_t)block);
	if (holder && strcmp(holder, name)) {
		fprintf(stderr, "nodeipam: node %s has podCIDR %s, which node %s holds\n",
			name, cidr, holder);
		return false;
	}
	take(a, (uint32_t)block, name);
	return true;
}

static void rebuild(struct ipam_ctl *a)
{
	const json_t *node;
	const char *key;

	a->rebuilt = true;
	json_object_foreach((json_t *)skiff_informer_all(a->nodes), key, node)
		if (skiff_str(node, "spec.podCIDR"))
			occupy(a, node);
	fprintf(stderr, "nodeipam: %u of %u /%d subnets of %s in use\n",
		a->n_used, a->n_blocks, a->size, a->cm->cluster_cidr);
}

static void node_changed(enum skiff_change change, const json_t *old,
			 const json_t *node, void *arg)
{
	struct ipam_ctl *a = arg;
	const char *name = skiff_meta(node, "name");
	const json_t *mine;

	(void)old;
	if (!name)
		return;
	if (change == SKIFF_DELETED) {
		json_object_del(a->starved, name);
		mine = json_object_get(a->by_node, name);
		if (mine)
			release(a, name, (long)json_integer_value(mine));
		json_object_del(a->by_node, name);
		if (a->rebuilt)
			release(a, name,
				block_of(a, skiff_str(node, "spec.podCIDR")));
		return;
	}
	skiff_queue_add(a->q, name);
}

static void reconcile(const char *key, void *arg)
{
	struct ipam_ctl *a = arg;
	const json_t *node, *mine;
	char cidr[INET_ADDRSTRLEN + 4];
	json_t *patch;
	long block;

	if (!a->rebuilt)
		rebuild(a);
	node = skiff_informer_get(a->nodes, NULL, key);
	if (!node || skiff_deleting(node))
		return;
	if (skiff_str(node, "spec.podCIDR") && *skiff_str(node, "spec.podCIDR")) {
		occupy(a, node);
		json_object_del(a->starved, key);
		/* podCIDRs follows podCIDR (clients that only set the one). */
		if (json_array_size(json_object_get(json_object_get(node, "spec"),
						    "podCIDRs")))
			return;
		snprintf(cidr, sizeof(cidr), "%s", skiff_str(node, "spec.podCIDR"));
	} else {
		/* A write that failed keeps its block for the next try. */
		mine = json_object_get(a->by_node, key);
		block = mine ? (long)json_integer_value(mine) : -1;
		if (block < 0 || strcmp(owner_of(a, (uint32_t)block) ?: "", key))
			block = find_free(a);
		if (block < 0) {
			if (!json_object_get(a->starved, key)) {
				fprintf(stderr,
					"nodeipam: no free /%d in %s for node %s\n",
					a->size, a->cm->cluster_cidr, key);
				skiff_client_event(a->cm->c, node, "Normal",
						   "CIDRNotAvailable", "cidrAllocator",
						   "Node %s status is now: CIDRNotAvailable",
						   key);
				json_object_set_new(a->starved, key, json_true());
			}
			return;
		}
		json_object_del(a->starved, key);
		take(a, (uint32_t)block, key);
		block_text(a, (uint32_t)block, cidr, sizeof(cidr));
	}
	patch = json_pack("{s:{s:s?}, s:{s:s, s:[s]}}", "metadata",
			  "resourceVersion", skiff_meta(node, "resourceVersion"),
			  "spec", "podCIDR", cidr, "podCIDRs", cidr);
	cm_write(a->cm, a->q, key, a->nodes, "PATCH",
		 skiff_path(&skiff_nodes, NULL, key, NULL),
		 "application/merge-patch+json", patch);
	json_decref(patch);
}

static int nodeipam_start(struct cm *cm)
{
	struct ipam_ctl *a = &ipam_ctl;
	char addr[INET_ADDRSTRLEN];
	const char *slash = strchr(cm->cluster_cidr, '/');
	struct in_addr in;

	a->cm = cm;
	if (!slash || (size_t)(slash - cm->cluster_cidr) >= sizeof(addr))
		return -1;
	memcpy(addr, cm->cluster_cidr, slash - cm->cluster_cidr);
	addr[slash - cm->cluster_cidr] = '\0';
	a->prefix = atoi(slash + 1);
	a->size = cm->node_cidr_size;
	if (inet_pton(AF_INET, addr, &in) != 1 || a->prefix < 1 ||
	    a->size <= a->prefix || a->size - a->prefix > MAX_BITS ||
	    a->size > 30) {
		fprintf(stderr, "nodeipam: cannot cut /%d subnets from %s\n",
			a->size, cm->cluster_cidr);
		return -1;
	}
	a->base = ntohl(in.s_addr);
	a->n_blocks = 1u << (a->size - a->prefix);
	a->owner = json_object();
	a->by_node = json_object();
	a->starved = json_object();
	a->nodes = cm_informer(cm, &skiff_nodes);
	a->q = cm_queue(cm, reconcile, a);
	if (!a->owner || !a->by_node || !a->starved || !a->nodes || !a->q ||
	    skiff_informer_on_change(a->nodes, node_changed, a))
		return -1;
	return 0;
}

CM_CONTROLLER(nodeipam, nodeipam_start)
