/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Services: (virtual IP, port, protocol) -> backends, DNAT in kernel.
 */

#ifndef _SKIFF_SERVICE_H
#define _SKIFF_SERVICE_H

#include <linux/list.h>
#include <linux/rcupdate.h>
#include <linux/skiff.h>
#include <linux/rhashtable-types.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "counters.h"

struct net;
struct netlink_ext_ack;

struct skiff_service_key {
	__be32 vip;	/* 0: a NodePort, on every local address */
	__be16 port;
	u8 proto;
	u8 pad;		/* zeroed: keys are hashed and compared as bytes */
};

struct skiff_backend {
	__be32 addr;
	__be16 port;
	u16 weight;
	struct skiff_counters_slot stats;
	bool stats_moved;	/* handed to the backend set replacing ours */
};

/**
 * struct skiff_backend_set - the backends of a service, immutable once
 *	published: a change builds a new set and swaps it in under RCU
 * @count: number of backends, sorted by (addr, port)
 * @table_size: Maglev lookup table size (a prime); 0: rendezvous hashing
 * @table: Maglev table: slot -> index in @backends, after them in memory
 * @rcu: frees the set after readers are gone
 * @backends: the backends
 */
struct skiff_backend_set {
	unsigned int count;
	unsigned int table_size;
	u16 *table;
	struct rcu_head rcu;
	struct skiff_backend backends[];
};

struct skiff_service {
	struct rhash_head node;
	struct list_head list;
	struct skiff_service_key key;
	u32 affinity_timeout;		/* seconds, 0: none */
	u32 flags;			/* SKIFF_SERVICE_F_* */
	u32 sync_mark;			/* last skiff_services_set that kept it */
	struct skiff_backend_set __rcu *set;
	struct skiff_counters_slot stats;
	struct rcu_head rcu;
};

/**
 * struct skiff_services - the Services of one network namespace
 * @ht: by &skiff_service_key, read under RCU by the netfilter hooks
 * @list: every service, for dumps
 * @count: number of services
 * @affinity: ClientIP affinity entries, by (service, client)
 * @affinity_gc: drops affinity entries that timed out
 * @cluster_prefix: the cluster CIDR; clients outside it are masqueraded
 * @cluster_mask: its mask; 0 when unset: everything is masqueraded
 * @hash_seed: seed of the flow hash choosing backends
 * @sync_mark: stamps the services a replace_all set keeps
 * @hooks: the netfilter hooks are registered (on the first service)
 */
struct skiff_services {
	struct rhashtable ht;
	struct list_head list;
	unsigned int count;
	struct rhashtable affinity;
	struct delayed_work affinity_gc;
	__be32 cluster_prefix;
	__be32 cluster_mask;
	u32 hash_seed;
	u32 sync_mark;
	bool hooks;
};

/* The backend set of @svc, for writers and dumps: called with genl_mutex. */
static inline struct skiff_backend_set *
skiff_service_set(const struct skiff_service *svc)
{
	return rcu_dereference_protected(svc->set, true);
}

struct skiff_backend_config {
	__be32 addr;
	__be16 port;
	u16 weight;
};

struct skiff_service_config {
	struct skiff_service_key key;
	u32 affinity_timeout;
	u32 flags;
	unsigned int count;
	struct skiff_backend_config *backends;
	const struct nlattr *attr;	/* where it came from, for extack */
};

/*
 * sort() for arrays that are usually in order already: skiff-dp and the
 * library send their services and backends sorted, and checking costs
 * less than sort() does even then.
 */
void skiff_sort_unless_sorted(void *base, size_t num, size_t size,
			      cmp_func_t cmp);

/* Called with genl_mutex held, but for the netns init/exit pair. */
int skiff_services_init(struct net *net, struct skiff_services *svcs);
void skiff_services_exit(struct net *net, struct skiff_services *svcs);
/*
 * Applies @count configs at once: all or none. Backends no longer in their
 * service lose their connections (conntrack entries deleted). With
 * @replace_all, services not in @cfgs are deleted too: the table becomes
 * exactly @cfgs.
 */
int skiff_services_set(struct net *net, struct skiff_services *svcs,
		       const struct skiff_service_config *cfgs,
		       unsigned int count, bool replace_all,
		       struct netlink_ext_ack *extack);
int skiff_service_del(struct net *net, struct skiff_services *svcs,
		      const struct skiff_service_key *key,
		      struct netlink_ext_ack *extack);

#endif /* _SKIFF_SERVICE_H */
