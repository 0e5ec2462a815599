/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The overlay's peer table: remote pod subnet -> remote node.
 */

#ifndef _SKIFF_PEER_H
#define _SKIFF_PEER_H

#include <linux/if_ether.h>
#include <linux/list.h>
#include <linux/rhashtable-types.h>
#include <linux/types.h>
#include <net/dst_cache.h>

#include "counters.h"

struct netlink_ext_ack;

struct skiff_peer_key {
	__be32 prefix4;
	u8 prefix_len;
	u8 pad[3];	/* zeroed: keys are hashed and compared as bytes */
};

/**
 * struct skiff_peer - one remote pod subnet and the node that has it
 * @node: in &skiff_peer_table.ht
 * @list: in &skiff_peer_table.list, for dumps (rtnl)
 * @key: the subnet
 * @remote4: the remote node's underlay address
 * @remote_mac: inner destination MAC (the remote VTEP's, or broadcast)
 * @dst_cache: route to @remote4, per CPU
 * @stats: per CPU counters of what was sent to this peer
 * @rcu: frees the peer after readers are gone
 */
struct skiff_peer {
	struct rhash_head node;
	struct list_head list;
	struct skiff_peer_key key;
	__be32 remote4;
	u8 remote_mac[ETH_ALEN];
	struct dst_cache dst_cache;
	struct skiff_counters_slot stats;
	struct rcu_head rcu;
};

/**
 * struct skiff_peer_table - the peers of one skiff device
 * @ht: by &skiff_peer_key, read under RCU on the transmit path
 * @list: every peer, in insertion order, for dumps
 * @len_count: how many peers have each prefix length
 * @len_mask: bit N set when some peer has prefix length N; lookups try only
 *	these lengths, longest first
 * @count: number of peers
 */
struct skiff_peer_table {
	struct rhashtable ht;
	struct list_head list;
	unsigned int len_count[33];
	u64 len_mask;
	unsigned int count;
};

/**
 * struct skiff_peer_config - a peer as requested, validated by the caller
 */
struct skiff_peer_config {
	struct skiff_peer_key key;
	__be32 remote4;
	u8 remote_mac[ETH_ALEN];
};

/* Called with RTNL held, for all but skiff_peer_lookup4 (RCU). */
int skiff_peer_table_init(struct skiff_peer_table *table);
void skiff_peer_table_destroy(struct skiff_peer_table *table);
int skiff_peer_add(struct skiff_peer_table *table,
		   const struct skiff_peer_config *cfg, bool replace,
		   struct netlink_ext_ack *extack);
int skiff_peer_del(struct skiff_peer_table *table,
		   const struct skiff_peer_key *key,
		   struct netlink_ext_ack *extack);
struct skiff_peer *skiff_peer_lookup4(struct skiff_peer_table *table,
				      __be32 daddr);

#endif /* _SKIFF_PEER_H */
