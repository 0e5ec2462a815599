// SPDX-License-Identifier: GPL-2.0
/*
 * The overlay's peer table.
 *
 * DOC: Locking
 *
 * Changes and dumps run under RTNL (the netlink handlers take it to find the
 * device). The transmit path looks peers up under RCU (ndo_start_xmit runs in
 * an RCU-bh section): the hash table is an rhashtable, @len_mask is read with
 * READ_ONCE, and a peer removed or replaced is freed after a grace period.
 *
 * A lookup is a longest-prefix match done as one exact hash lookup per
 * prefix length in use, longest first. A cluster uses one length for every
 * node's subnet (flannel's /24), so a lookup is one hash probe whatever the
 * number of peers.
 */

#include <linux/etherdevice.h>
#include <linux/inetdevice.h>
#include <linux/netlink.h>
#include <linux/percpu.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>

#include "peer.h"

static const struct rhashtable_params skiff_peer_params = {
	.key_len = sizeof(struct skiff_peer_key),
	.key_offset = offsetof(struct skiff_peer, key),
	.head_offset = offsetof(struct skiff_peer, node),
	.automatic_shrinking = true,
};

static void skiff_peer_free(struct skiff_peer *peer)
{
	dst_cache_destroy(&peer->dst_cache);
	skiff_counters_free(&peer->stats);
	kfree(peer);
}

static void skiff_peer_free_rcu(struct rcu_head *rcu)
{
	skiff_peer_free(container_of(rcu, struct skiff_peer, rcu));
}

int skiff_peer_table_init(struct skiff_peer_table *table)
{
	memset(table, 0, sizeof(*table));
	INIT_LIST_HEAD(&table->list);
	return rhashtable_init(&table->ht, &skiff_peer_params);
}

void skiff_peer_table_destroy(struct skiff_peer_table *table)
{
	struct skiff_peer *peer, *tmp;

	/* The device is unregistered: no reader is left. */
	rhashtable_destroy(&table->ht);
	list_for_each_entry_safe(peer, tmp, &table->list, list)
		skiff_peer_free(peer);
	INIT_LIST_HEAD(&table->list);
	table->count = 0;
}

static void skiff_peer_len_ref(struct skiff_peer_table *table, u8 len)
{
	if (table->len_count[len]++ == 0)
		WRITE_ONCE(table->len_mask, table->len_mask | BIT_ULL(len));
}

static void skiff_peer_len_unref(struct skiff_peer_table *table, u8 len)
{
	if (--table->len_count[len] == 0)
		WRITE_ONCE(table->len_mask, table->len_mask & ~BIT_ULL(len));
}

int skiff_peer_add(struct skiff_peer_table *table,
		   const struct skiff_peer_config *cfg, bool replace,
		   struct netlink_ext_ack *extack)
{
	struct skiff_peer *peer, *old;
	int err;

	old = rhashtable_lookup_fast(&table->ht, &cfg->key, skiff_peer_params);
	if (old && !replace) {
		NL_SET_ERR_MSG(extack, "a peer with this prefix exists (use replace)");
		return -EEXIST;
	}

	peer = kzalloc(sizeof(*peer), GFP_KERNEL);
	if (!peer)
		return -ENOMEM;
	peer->key = cfg->key;
	peer->remote4 = cfg->remote4;
	ether_addr_copy(peer->remote_mac, cfg->remote_mac);
	err = skiff_counters_alloc(&peer->stats);
	if (err)
		goto err_free_peer;
	err = dst_cache_init(&peer->dst_cache, GFP_KERNEL);
	if (err)
		goto err_free_stats;

	if (old) {
		err = rhashtable_replace_fast(&table->ht, &old->node,
					      &peer->node, skiff_peer_params);
		if (err)
			goto err_destroy_cache;
		list_replace(&old->list, &peer->list);
		call_rcu(&old->rcu, skiff_peer_free_rcu);
		return 0;
	}

	err = rhashtable_insert_fast(&table->ht, &peer->node, skiff_peer_params);
	if (err)
		goto err_destroy_cache;
	list_add_tail(&peer->list, &table->list);
	table->count++;
	skiff_peer_len_ref(table, cfg->key.prefix_len);
	return 0;

err_destroy_cache:
	dst_cache_destroy(&peer->dst_cache);
err_free_stats:
	skiff_counters_free(&peer->stats);
err_free_peer:
	kfree(peer);
	return err;
}

int skiff_peer_del(struct skiff_peer_table *table,
		   const struct skiff_peer_key *key,
		   struct netlink_ext_ack *extack)
{
	struct skiff_peer *peer;

	peer = rhashtable_lookup_fast(&table->ht, key, skiff_peer_params);
	if (!peer) {
		NL_SET_ERR_MSG(extack, "no peer with this prefix");
		return -ENOENT;
	}
	rhashtable_remove_fast(&table->ht, &peer->node, skiff_peer_params);
	list_del(&peer->list);
	table->count--;
#ifdef SKIFF_PLANT_UAF
	/*
	 * A bug planted on purpose, built only with SKIFF_PLANT_UAF=y: the
	 * peer is freed at once (readers may still hold it) and then read.
	 * make check-debug must catch it (scripts/check-debug.sh --planted).
	 */
	skiff_peer_free(peer);
	skiff_peer_len_unref(table, peer->key.prefix_len);
#else
	skiff_peer_len_unref(table, key->prefix_len);
	call_rcu(&peer->rcu, skiff_peer_free_rcu);
#endif
	return 0;
}

/* Called under RCU. */
struct skiff_peer *skiff_peer_lookup4(struct skiff_peer_table *table,
				      __be32 daddr)
{
	u64 mask = READ_ONCE(table->len_mask);
	struct skiff_peer_key key = {};
	struct skiff_peer *peer;
	int len;

	while (mask) {
		len = fls64(mask) - 1;
		mask &= ~BIT_ULL(len);
		key.prefix_len = len;
		key.prefix4 = len ? daddr & inet_make_mask(len) : 0;
		peer = rhashtable_lookup(&table->ht, &key, skiff_peer_params);
		if (peer)
			return peer;
	}
	return NULL;
}
