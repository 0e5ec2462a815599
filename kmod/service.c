// SPDX-License-Identifier: GPL-2.0
/*
 * Services: DNAT of new connections to a virtual IP and port onto one of
 * the service's backends, through the kernel's own conntrack and NAT.
 *
 * We plug into the NAT core as a NAT table does (nf_nat_ipv4_register_fn):
 * the core asks us only about connections it has not bound yet, that is
 * the first packet of each; we pick a backend and bind the connection with
 * nf_nat_setup_info(). From then on conntrack translates every packet of
 * it, replies included, and the connection keeps its backend whatever
 * happens to the service. A backend removed from its service takes its
 * connections with it: their conntrack entries are deleted at once, so the
 * next packet of a UDP "connection" is balanced anew instead of sticking to
 * a backend that is gone.
 *
 * Backends are chosen by a hash of the flow, consistently: removing one
 * backend moves no flow of the others. Up to SKIFF_RENDEZVOUS_MAX backends
 * of equal weight, the common Service, use rendezvous hashing (Thaler and
 * Ravishankar, 1998): each backend scores the flow, the highest wins.
 * There is nothing to build, and removing a backend moves exactly its own
 * flows. Larger or weighted sets use Maglev (Eisenbud et al., NSDI 2016): a
 * lookup table filled from per-backend permutations, weights giving a
 * backend slots in proportion, one lookup a flow however many backends.
 * Maglev's table is what made small services costly to program: 20 slots
 * a backend, filled in O(m log m), was a fifth of the time of setting 100k
 * services of two backends. With ClientIP affinity the hash is of the
 * client address alone, and an affinity entry keeps the client on its
 * backend until it has been silent for the timeout.
 *
 * Masquerade: a connection to a service is SNATed on the way out (to the
 * outgoing interface's address) when a pod reached itself (hairpin: the
 * reply must come back through us), and, unless the service has
 * SKIFF_SERVICE_F_LOCAL (externalTrafficPolicy: Local, whose clients keep
 * their address), when its client is outside the cluster CIDR or it came
 * in on a NodePort. The decision is taken at DNAT time and carried in the
 * conntrack mark bit SKIFF_CT_MARK_MASQ, as kube-proxy carries its own in
 * the packet mark.
 *
 * DOC: Locking
 *
 * Services change under genl_mutex (the netlink handlers). The hooks read
 * the service table and a service's backend set under RCU (netfilter hooks
 * run in RCU read sections). A backend set is never changed in place: a
 * new one is built, published with rcu_assign_pointer() and the old one
 * freed after a grace period; so is a removed service. Counters are per
 * CPU, and never reset: a service or backend whose packet counter is zero
 * has never had a connection DNATed through it. Affinity entries are
 * inserted from the hooks (GFP_ATOMIC), their backend and last use are
 * single words written with WRITE_ONCE, and a delayed work drops the ones
 * that timed out.
 */

#include <linux/jhash.h>
#include <linux/ip.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netlink.h>
#include <linux/random.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/tcp.h>
#include <net/ip.h>
#include <net/netfilter/ipv4/nf_reject.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_nat.h>
#include <net/netfilter/nf_nat_masquerade.h>
#include <net/route.h>

#include "netns.h"
#include "service.h"

#define SKIFF_AFFINITY_MAX	BIT(20)
#define SKIFF_AFFINITY_GC	(10 * HZ)

static const struct rhashtable_params skiff_service_params = {
	.key_len = sizeof(struct skiff_service_key),
	.key_offset = offsetof(struct skiff_service, key),
	.head_offset = offsetof(struct skiff_service, node),
	.automatic_shrinking = true,
};

struct skiff_affinity_key {
	struct skiff_service_key svc;
	__be32 client;
};

/**
 * struct skiff_affinity - a client's backend for a service
 * @node: in &skiff_services.affinity
 * @key: the service and the client
 * @backend: the backend's address and port, as one word (see affinity_pack)
 * @last_used: jiffies of the client's last new connection
 * @timeout: the service's affinity timeout, in jiffies
 * @rcu: frees the entry after readers are gone
 */
struct skiff_affinity {
	struct rhash_head node;
	struct skiff_affinity_key key;
	u64 backend;
	unsigned long last_used;
	unsigned long timeout;
	struct rcu_head rcu;
};

static const struct rhashtable_params skiff_affinity_params = {
	.key_len = sizeof(struct skiff_affinity_key),
	.key_offset = offsetof(struct skiff_affinity, key),
	.head_offset = offsetof(struct skiff_affinity, node),
	.automatic_shrinking = true,
	.max_size = SKIFF_AFFINITY_MAX,
};

static u64 affinity_pack(__be32 addr, __be16 port)
{
	return (u64)(__force u32)addr << 16 | (__force u16)port;
}

/* ---- backend sets, rendezvous hashing and Maglev ------------------- */

/*
 * Rendezvous hashing costs a hash per backend for the first packet of a
 * connection: up to this many, that is less than building a Maglev table.
 */
#define SKIFF_RENDEZVOUS_MAX	8

static const unsigned int skiff_maglev_primes[] = {
	61, 251, 1021, 4093, 16381, 65521,
};

/* At least 20 slots a backend keeps the shares within a few percent. */
static unsigned int skiff_maglev_size(unsigned int count)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(skiff_maglev_primes) - 1; i++)
		if (skiff_maglev_primes[i] >= 20 * count)
			break;
	return skiff_maglev_primes[i];
}

/* Up to this many backends, Maglev's work arrays live on the stack. */
#define SKIFF_MAGLEV_STACK	16

/*
 * Each backend walks its own permutation of the slots, starting at
 * offset and stepping by skip (modulo the table size, a prime): slot j of
 * it is (offset + j * skip) % m, stepped here by one addition.
 */
static void skiff_maglev_fill(struct skiff_backend_set *set)
{
	unsigned int m = set->table_size, n = set->count;
	unsigned int stack[3 * SKIFF_MAGLEV_STACK] = {};
	unsigned int *pos = stack, *skip, *credit;
	unsigned int filled = 0, i, wmax = 1, wmin = U16_MAX;

	if (n > SKIFF_MAGLEV_STACK) {
		pos = kcalloc(3 * n, sizeof(*pos), GFP_KERNEL);
		if (!pos) {
			/* Still correct, only not consistent: round robin. */
			for (i = 0; i < m; i++)
				set->table[i] = i % n;
			return;
		}
	}
	skip = pos + n;
	credit = skip + n;

	for (i = 0; i < n; i++) {
		const struct skiff_backend *b = &set->backends[i];
		u32 a = (__force u32)b->addr, p = (__force u16)b->port;

		pos[i] = jhash_2words(a, p, 0x736b6966) % m;
		skip[i] = jhash_2words(a, p, 0x66696b73) % (m - 1) + 1;
		wmax = max_t(unsigned int, wmax, b->weight);
		wmin = min_t(unsigned int, wmin, b->weight);
	}
	for (i = 0; i < m; i++)
		set->table[i] = U16_MAX;

	/*
	 * Each round the heaviest backend takes one slot and the others
	 * earn credit in proportion to their weight: slots end up shared
	 * by weight, and the loop ends within m rounds. With equal weights,
	 * the common case, every backend takes a slot every round.
	 */
	while (filled < m) {
		for (i = 0; i < n && filled < m; i++) {
			if (wmin != wmax) {
				credit[i] += set->backends[i].weight;
				if (credit[i] < wmax)
					continue;
				credit[i] -= wmax;
			}
			while (set->table[pos[i]] != U16_MAX) {
				pos[i] += skip[i];
				if (pos[i] >= m)
					pos[i] -= m;
			}
			set->table[pos[i]] = i;
			filled++;
		}
	}
	if (pos != stack)
		kfree(pos);
}

void skiff_sort_unless_sorted(void *base, size_t num, size_t size,
			      cmp_func_t cmp)
{
	size_t i;

	for (i = 1; i < num; i++) {
		if (cmp(base + (i - 1) * size, base + i * size) > 0) {
			sort(base, num, size, cmp, NULL);
			return;
		}
	}
}

static int skiff_backend_cmp(const void *a, const void *b)
{
	const struct skiff_backend_config *x = a, *y = b;
	u64 kx = affinity_pack(x->addr, x->port);
	u64 ky = affinity_pack(y->addr, y->port);

	return kx < ky ? -1 : kx > ky;
}

static void skiff_backend_set_free(struct skiff_backend_set *set)
{
	unsigned int i;

	if (!set)
		return;
	for (i = 0; i < set->count; i++)
		if (!set->backends[i].stats_moved)
			skiff_counters_free(&set->backends[i].stats);
	kvfree(set);
}

static void skiff_backend_set_free_rcu(struct rcu_head *rcu)
{
	skiff_backend_set_free(container_of(rcu, struct skiff_backend_set, rcu));
}

/* Finds backend (addr, port) in @set, sorted: binary search. */
static struct skiff_backend *skiff_backend_find(struct skiff_backend_set *set,
						__be32 addr, __be16 port)
{
	u64 key = affinity_pack(addr, port);
	unsigned int lo = 0, hi = set->count;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		struct skiff_backend *b = &set->backends[mid];
		u64 k = affinity_pack(b->addr, b->port);

		if (k == key)
			return b;
		if (k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Whether @cfg's backends are chosen with Maglev (else: rendezvous). */
static bool skiff_wants_maglev(const struct skiff_service_config *cfg)
{
	unsigned int i;

	if (cfg->count > SKIFF_RENDEZVOUS_MAX)
		return true;
	for (i = 1; i < cfg->count; i++)
		if (cfg->backends[i].weight != cfg->backends[0].weight)
			return true;
	return false;
}

/*
 * Builds the backend set for @cfg (its backends array is sorted here). A
 * backend already in @old keeps its counters: they move to the new set
 * when it is published.
 */
static struct skiff_backend_set *
skiff_backend_set_build(struct skiff_service_config *cfg)
{
	unsigned int table_size = 0, i;
	struct skiff_backend_set *set;

	skiff_sort_unless_sorted(cfg->backends, cfg->count,
				 sizeof(*cfg->backends), skiff_backend_cmp);
	if (skiff_wants_maglev(cfg))
		table_size = skiff_maglev_size(cfg->count);
	/* One allocation: the set, then its Maglev table. */
	set = kvzalloc(struct_size(set, backends, cfg->count) +
		       table_size * sizeof(*set->table), GFP_KERNEL);
	if (!set)
		return NULL;
	set->count = cfg->count;
	for (i = 0; i < cfg->count; i++) {
		set->backends[i].addr = cfg->backends[i].addr;
		set->backends[i].port = cfg->backends[i].port;
		set->backends[i].weight = cfg->backends[i].weight;
	}
	if (table_size) {
		set->table_size = table_size;
		set->table = (u16 *)&set->backends[cfg->count];
		skiff_maglev_fill(set);
	}
	return set;
}

/* Gives every backend of @set counters: moved from @old, or new. */
static int skiff_backend_set_stats(struct skiff_backend_set *set,
				   struct skiff_backend_set *old)
{
	unsigned int i;
	int err;

	for (i = 0; i < set->count; i++) {
		struct skiff_backend *b = &set->backends[i];
		struct skiff_backend *prev = NULL;

		if (old)
			prev = skiff_backend_find(old, b->addr, b->port);
		if (prev) {
			b->stats = prev->stats;
			continue;
		}
		err = skiff_counters_alloc(&b->stats);
		if (err)
			return err;
	}
	return 0;
}

/* After publishing @set over @old: @old no longer owns moved counters. */
static void skiff_backend_set_retire(struct skiff_backend_set *set,
				     struct skiff_backend_set *old)
{
	unsigned int i;

	for (i = 0; i < old->count; i++) {
		struct skiff_backend *b = &old->backends[i];

		b->stats_moved = !!skiff_backend_find(set, b->addr, b->port);
	}
	call_rcu(&old->rcu, skiff_backend_set_free_rcu);
}

/* Before publishing over a failed build: undo skiff_backend_set_stats. */
static void skiff_backend_set_abort(struct skiff_backend_set *set,
				    struct skiff_backend_set *old)
{
	unsigned int i;

	for (i = 0; set && i < set->count; i++) {
		struct skiff_backend *b = &set->backends[i];

		b->stats_moved = old && b->stats.pcpu &&
				 skiff_backend_find(old, b->addr, b->port);
	}
	skiff_backend_set_free(set);
}

/* ---- conntrack cleanup ----------------------------------------------- */

/*
 * Deleting the flows of a removed service or backend is a walk of the
 * whole conntrack table: milliseconds with a large one, whatever the
 * number of services. It is skipped for those that never translated a
 * connection (their packet counter is zero), which is what most removals
 * in a large cluster are: a Service nobody used, a backend that was never
 * chosen. The counter is read a grace period after the service or backend
 * was unpublished, when no hook that could still choose it is running;
 * that is why the old objects are freed only after skiff_flush_settle().
 */
struct skiff_flush_entry {
	struct skiff_service_key key;
	__be32 addr;	/* 0 with port 0: every backend */
	__be16 port;
	/* The removed service's or backend's, alive until settled. */
	struct skiff_counters_slot stats;
};

struct skiff_flush {
	struct skiff_flush_entry *entries;
	unsigned int count;
	unsigned int size;
};

static int skiff_flush_add(struct skiff_flush *f,
			   const struct skiff_service_key *key, __be32 addr,
			   __be16 port, const struct skiff_counters_slot *stats)
{
	if (f->count == f->size) {
		unsigned int size = f->size ? 2 * f->size : 16;
		struct skiff_flush_entry *e;

		e = krealloc_array(f->entries, size, sizeof(*e), GFP_KERNEL);
		if (!e)
			return -ENOMEM;
		f->entries = e;
		f->size = size;
	}
	f->entries[f->count].key = *key;
	f->entries[f->count].addr = addr;
	f->entries[f->count].port = port;
	f->entries[f->count].stats = *stats;
	f->count++;
	return 0;
}

static bool skiff_flush_entry_used(const struct skiff_flush_entry *e)
{
	u64 packets, bytes;

	skiff_counters_read(&e->stats, &packets, &bytes);
	return packets;
}

/*
 * Drops the entries whose service or backend never translated a
 * connection, unless the walk is needed anyway. Called with genl_mutex,
 * after the entries' services and backends were unpublished and before
 * they are freed.
 */
static void skiff_flush_settle(struct skiff_flush *f)
{
	unsigned int i, kept = 0;

	for (i = 0; i < f->count; i++)
		if (skiff_flush_entry_used(&f->entries[i]))
			return;
	if (!f->count)
		return;
	/* A hook that chose one of them has now finished counting it. */
	synchronize_rcu_expedited();
	for (i = 0; i < f->count; i++)
		if (skiff_flush_entry_used(&f->entries[i]))
			f->entries[kept++] = f->entries[i];
	f->count = kept;
}

static int skiff_flush_match(struct nf_conn *ct, void *data)
{
	const struct nf_conntrack_tuple *orig, *reply;
	const struct skiff_flush *f = data;
	unsigned int i;

	if (nf_ct_l3num(ct) != NFPROTO_IPV4 || !(ct->status & IPS_DST_NAT))
		return 0;
	orig = &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	reply = &ct->tuplehash[IP_CT_DIR_REPLY].tuple;
	for (i = 0; i < f->count; i++) {
		const struct skiff_flush_entry *e = &f->entries[i];

		if (orig->dst.protonum != e->key.proto ||
		    orig->dst.u.all != e->key.port ||
		    (e->key.vip && orig->dst.u3.ip != e->key.vip))
			continue;
		if (!e->addr ||
		    (reply->src.u3.ip == e->addr && reply->src.u.all == e->port))
			return 1;
	}
	return 0;
}

/* Deletes the conntrack entries of the flows @f lists. */
static void skiff_flush_run(struct net *net, struct skiff_flush *f)
{
	struct nf_ct_iter_data iter = { .net = net, .data = f };

	if (f->count)
		nf_ct_iterate_cleanup_net(skiff_flush_match, &iter);
	kfree(f->entries);
}

/* ---- the hooks --------------------------------------------------------- */

static struct skiff_service *skiff_service_lookup(struct skiff_services *svcs,
						  __be32 vip, __be16 port,
						  u8 proto)
{
	struct skiff_service_key key = {
		.vip = vip, .port = port, .proto = proto,
	};

	return rhashtable_lookup(&svcs->ht, &key, skiff_service_params);
}

/* The backend of the flow that hashes to @hash; @set is not empty. */
static struct skiff_backend *skiff_backend_pick(struct skiff_backend_set *set,
						u32 hash)
{
	struct skiff_backend *b, *best = &set->backends[0];
	u32 score, top = 0;

	if (set->table_size)
		return &set->backends[set->table[hash % set->table_size]];
	if (set->count == 1)
		return best;
	for (b = set->backends; b < set->backends + set->count; b++) {
		score = jhash_3words(hash, (__force u32)b->addr,
				     (__force u16)b->port, 0x72656e64);
		if (score > top) {
			top = score;
			best = b;
		}
	}
	return best;
}

static u32 skiff_flow_hash(const struct skiff_services *svcs,
			   const struct iphdr *iph, const __be16 *ports)
{
	u32 ports_word = (__force u32)ports[0] << 16 | (__force u16)ports[1];

	return jhash_3words((__force u32)iph->saddr, (__force u32)iph->daddr,
			    ports_word, svcs->hash_seed ^ iph->protocol);
}

static struct skiff_backend *
skiff_affinity_pick(struct skiff_services *svcs, struct skiff_service *svc,
		    struct skiff_backend_set *set, __be32 client)
{
	struct skiff_affinity_key key = { .svc = svc->key, .client = client };
	unsigned long timeout = svc->affinity_timeout * HZ;
	struct skiff_backend *b = NULL;
	struct skiff_affinity *a;
	u64 packed;

	a = rhashtable_lookup(&svcs->affinity, &key, skiff_affinity_params);
	if (a && time_before(jiffies, READ_ONCE(a->last_used) + timeout)) {
		packed = READ_ONCE(a->backend);
		b = skiff_backend_find(set, (__force __be32)(u32)(packed >> 16),
				       (__force __be16)(u16)packed);
	}
	if (!b)
		b = skiff_backend_pick(set, jhash_1word((__force u32)client,
							svcs->hash_seed));
	packed = affinity_pack(b->addr, b->port);
	if (a) {
		WRITE_ONCE(a->backend, packed);
		WRITE_ONCE(a->timeout, timeout);
		WRITE_ONCE(a->last_used, jiffies);
		return b;
	}

	a = kzalloc(sizeof(*a), GFP_ATOMIC);
	if (!a)
		return b;
	a->key = key;
	a->backend = packed;
	a->timeout = timeout;
	a->last_used = jiffies;
	/* Lost a race or the table is full: the choice stands anyway. */
	if (rhashtable_lookup_insert_fast(&svcs->affinity, &a->node,
					  skiff_affinity_params))
		kfree(a);
	return b;
}

static unsigned int skiff_reject(struct sk_buff *skb,
				 const struct nf_hook_state *state, u8 proto)
{
	if (proto == IPPROTO_TCP)
		nf_send_reset(state->net, state->sk, skb, state->hook);
	else
		nf_send_unreach(skb, ICMP_PORT_UNREACH, state->hook);
	return NF_DROP;
}

static bool skiff_in_cluster(struct skiff_services *svcs, __be32 addr)
{
	__be32 mask = READ_ONCE(svcs->cluster_mask);

	return mask && (addr & mask) == READ_ONCE(svcs->cluster_prefix);
}

/* Whether a new connection from @client to @svc, given @b, is SNATed. */
static bool skiff_masquerade(struct skiff_services *svcs,
			     const struct skiff_service *svc,
			     const struct skiff_backend *b, __be32 client,
			     bool nodeport)
{
	if (b->addr == client)
		return true;
	if (READ_ONCE(svc->flags) & SKIFF_SERVICE_F_LOCAL)
		return false;
	return nodeport || !skiff_in_cluster(svcs, client);
}

/* NAT lookup for new connections, PRE_ROUTING and LOCAL_OUT. */
static unsigned int skiff_dnat_hook(void *priv, struct sk_buff *skb,
				    const struct nf_hook_state *state)
{
	struct skiff_services *svcs = &skiff_net(state->net)->services;
	struct nf_nat_range2 range = {};
	enum ip_conntrack_info ctinfo;
	struct skiff_backend_set *set;
	struct skiff_service *svc;
	const struct iphdr *iph;
	struct skiff_backend *b;
	__be16 _ports[2];
	const __be16 *ports;
	struct nf_conn *ct;
	bool nodeport = false;

	ct = nf_ct_get(skb, &ctinfo);
	if (!ct || ctinfo != IP_CT_NEW)
		return NF_ACCEPT;
	iph = ip_hdr(skb);
	if (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP)
		return NF_ACCEPT;
	ports = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(_ports), _ports);
	if (!ports)
		return NF_ACCEPT;

	svc = skiff_service_lookup(svcs, iph->daddr, ports[1], iph->protocol);
	if (!svc) {
		svc = skiff_service_lookup(svcs, 0, ports[1], iph->protocol);
		if (!svc || inet_addr_type(state->net, iph->daddr) != RTN_LOCAL)
			return NF_ACCEPT;
		nodeport = true;
	}

	skiff_counters_add(&svc->stats, skb->len);
	set = rcu_dereference(svc->set);
	if (!set->count)
		return skiff_reject(skb, state, iph->protocol);

	if (svc->affinity_timeout)
		b = skiff_affinity_pick(svcs, svc, set, iph->saddr);
	else
		b = skiff_backend_pick(set, skiff_flow_hash(svcs, iph, ports));
	skiff_counters_add(&b->stats, skb->len);

	if (skiff_masquerade(svcs, svc, b, iph->saddr, nodeport))
		WRITE_ONCE(ct->mark, READ_ONCE(ct->mark) | SKIFF_CT_MARK_MASQ);

	range.flags = NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED;
	range.min_addr.ip = b->addr;
	range.max_addr.ip = b->addr;
	range.min_proto.all = b->port;
	range.max_proto.all = b->port;
	return nf_nat_setup_info(ct, &range, NF_NAT_MANIP_DST);
}

/* NAT lookup for new connections, POST_ROUTING: masquerade if marked. */
static unsigned int skiff_snat_hook(void *priv, struct sk_buff *skb,
				    const struct nf_hook_state *state)
{
	struct nf_nat_range2 range = {};
	enum ip_conntrack_info ctinfo;
	struct nf_conn *ct;

	ct = nf_ct_get(skb, &ctinfo);
	if (!ct || ctinfo != IP_CT_NEW ||
	    !(READ_ONCE(ct->mark) & SKIFF_CT_MARK_MASQ))
		return NF_ACCEPT;
	return nf_nat_masquerade_ipv4(skb, state->hook, &range, state->out);
}

/*
 * Counts the packets after the first of each connection to a service (the
 * first is counted when the backend is chosen), in the original direction.
 */
static unsigned int skiff_count_hook(void *priv, struct sk_buff *skb,
				     const struct nf_hook_state *state)
{
	struct skiff_services *svcs = &skiff_net(state->net)->services;
	const struct nf_conntrack_tuple *orig, *reply;
	enum ip_conntrack_info ctinfo;
	struct skiff_backend_set *set;
	struct skiff_service *svc;
	struct skiff_backend *b;
	struct nf_conn *ct;

	ct = nf_ct_get(skb, &ctinfo);
	if (!ct || ctinfo == IP_CT_NEW || !(ct->status & IPS_DST_NAT) ||
	    CTINFO2DIR(ctinfo) != IP_CT_DIR_ORIGINAL)
		return NF_ACCEPT;
	orig = &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	reply = &ct->tuplehash[IP_CT_DIR_REPLY].tuple;
	svc = skiff_service_lookup(svcs, orig->dst.u3.ip, orig->dst.u.all,
				   orig->dst.protonum);
	if (!svc)
		svc = skiff_service_lookup(svcs, 0, orig->dst.u.all,
					   orig->dst.protonum);
	if (!svc)
		return NF_ACCEPT;
	skiff_counters_add(&svc->stats, skb->len);
	set = rcu_dereference(svc->set);
	b = skiff_backend_find(set, reply->src.u3.ip, reply->src.u.all);
	if (b)
		skiff_counters_add(&b->stats, skb->len);
	return NF_ACCEPT;
}

static const struct nf_hook_ops skiff_nat_ops[] = {
	{
		.hook = skiff_dnat_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP_PRI_NAT_DST,
	},
	{
		.hook = skiff_dnat_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = NF_IP_PRI_NAT_DST,
	},
	{
		.hook = skiff_snat_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_POST_ROUTING,
		.priority = NF_IP_PRI_NAT_SRC,
	},
};

static const struct nf_hook_ops skiff_count_ops[] = {
	{
		.hook = skiff_count_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP_PRI_NAT_DST + 1,
	},
	{
		.hook = skiff_count_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = NF_IP_PRI_NAT_DST + 1,
	},
};

static void skiff_nat_unregister(struct net *net, unsigned int count)
{
	while (count--)
		nf_nat_ipv4_unregister_fn(net, &skiff_nat_ops[count]);
}

/* Conntrack, NAT and our hooks in @net: only once it has a service. */
static int skiff_hooks_register(struct net *net, struct skiff_services *svcs,
				struct netlink_ext_ack *extack)
{
	unsigned int i;
	int err;

	if (svcs->hooks)
		return 0;
	err = nf_ct_netns_get(net, NFPROTO_IPV4);
	if (err)
		goto err_msg;
	for (i = 0; i < ARRAY_SIZE(skiff_nat_ops); i++) {
		err = nf_nat_ipv4_register_fn(net, &skiff_nat_ops[i]);
		if (err)
			goto err_unregister_nat;
	}
	err = nf_register_net_hooks(net, skiff_count_ops,
				    ARRAY_SIZE(skiff_count_ops));
	if (err)
		goto err_unregister_nat;
	svcs->hooks = true;
	return 0;

err_unregister_nat:
	skiff_nat_unregister(net, i);
	nf_ct_netns_put(net, NFPROTO_IPV4);
err_msg:
	NL_SET_ERR_MSG(extack, "cannot register the netfilter hooks");
	return err;
}

static void skiff_hooks_unregister(struct net *net,
				   struct skiff_services *svcs)
{
	if (!svcs->hooks)
		return;
	nf_unregister_net_hooks(net, skiff_count_ops,
				ARRAY_SIZE(skiff_count_ops));
	skiff_nat_unregister(net, ARRAY_SIZE(skiff_nat_ops));
	nf_ct_netns_put(net, NFPROTO_IPV4);
	svcs->hooks = false;
}

/* ---- services ---------------------------------------------------------- */

static void skiff_service_free(struct skiff_service *svc)
{
	skiff_backend_set_free(skiff_service_set(svc));
	skiff_counters_free(&svc->stats);
	kfree(svc);
}

static void skiff_service_free_rcu(struct rcu_head *rcu)
{
	skiff_service_free(container_of(rcu, struct skiff_service, rcu));
}

/* What applying one config needs, allocated before anything changes. */
struct skiff_service_change {
	struct skiff_service *svc;	/* existing, or new (not yet in) */
	struct skiff_backend_set *set;
	struct skiff_backend_set *old;	/* NULL for a new service */
	bool created;
	bool inserted;
};

static int skiff_service_prepare(struct skiff_services *svcs,
				 struct skiff_service_config *cfg,
				 struct skiff_service_change *ch)
{
	int err;

	memset(ch, 0, sizeof(*ch));
	ch->svc = rhashtable_lookup_fast(&svcs->ht, &cfg->key,
					 skiff_service_params);
	if (ch->svc) {
		ch->old = skiff_service_set(ch->svc);
	} else {
		ch->svc = kzalloc(sizeof(*ch->svc), GFP_KERNEL);
		if (!ch->svc)
			return -ENOMEM;
		ch->created = true;
		ch->svc->key = cfg->key;
		err = skiff_counters_alloc(&ch->svc->stats);
		if (err)
			return err;
	}
	ch->set = skiff_backend_set_build(cfg);
	if (!ch->set)
		return -ENOMEM;
	return skiff_backend_set_stats(ch->set, ch->old);
}

static void skiff_service_unprepare(struct skiff_service_change *ch)
{
	skiff_backend_set_abort(ch->set, ch->old);
	if (ch->created && ch->svc) {
		skiff_counters_free(&ch->svc->stats);
		kfree(ch->svc);
	}
}

/* Queues the flows of backends in @old but not in @set for deletion. */
static int skiff_flush_removed(struct skiff_flush *f,
			       const struct skiff_service_key *key,
			       struct skiff_backend_set *old,
			       struct skiff_backend_set *set)
{
	unsigned int i;
	int err;

	for (i = 0; old && i < old->count; i++) {
		struct skiff_backend *b = &old->backends[i];

		if (skiff_backend_find(set, b->addr, b->port))
			continue;
		err = skiff_flush_add(f, key, b->addr, b->port, &b->stats);
		if (err)
			return err;
	}
	return 0;
}

/* Unpublishes @svc onto @gone, to be freed once its flows are settled. */
static void skiff_service_unlink(struct skiff_services *svcs,
				 struct skiff_service *svc,
				 struct list_head *gone)
{
	rhashtable_remove_fast(&svcs->ht, &svc->node, skiff_service_params);
	list_move_tail(&svc->list, gone);
	svcs->count--;
}

static void skiff_services_free_gone(struct list_head *gone)
{
	struct skiff_service *svc, *tmp;

	list_for_each_entry_safe(svc, tmp, gone, list) {
		list_del(&svc->list);
		call_rcu(&svc->rcu, skiff_service_free_rcu);
	}
}

/*
 * With replace_all: queues the flows of every service that @changes do not
 * keep (their sync_mark is not the new one) for deletion.
 */
static int skiff_flush_unkept(struct skiff_services *svcs,
			      struct skiff_flush *f)
{
	struct skiff_service *svc;
	int err;

	list_for_each_entry(svc, &svcs->list, list) {
		if (svc->sync_mark == svcs->sync_mark)
			continue;
		err = skiff_flush_add(f, &svc->key, 0, 0, &svc->stats);
		if (err)
			return err;
	}
	return 0;
}

int skiff_services_set(struct net *net, struct skiff_services *svcs,
		       const struct skiff_service_config *cfgs,
		       unsigned int count, bool replace_all,
		       struct netlink_ext_ack *extack)
{
	struct skiff_service_change *changes;
	struct skiff_service *svc, *tmp;
	struct skiff_flush flush = {};
	unsigned int i, prepared;
	LIST_HEAD(gone);
	int err;

	err = skiff_hooks_register(net, svcs, extack);
	if (err)
		return err;

	changes = kvcalloc(count, sizeof(*changes), GFP_KERNEL);
	if (count && !changes)
		return -ENOMEM;

	/* Allocate everything first: past this loop nothing can fail ... */
	svcs->sync_mark++;
	for (i = 0; i < count; i++) {
		struct skiff_service_change *ch = &changes[i];

		err = skiff_service_prepare(svcs,
					    (struct skiff_service_config *)&cfgs[i],
					    ch);
		if (!err)
			err = skiff_flush_removed(&flush, &cfgs[i].key,
						  ch->old, ch->set);
		if (err) {
			prepared = i + 1;
			goto err_unprepare;
		}
		ch->svc->sync_mark = svcs->sync_mark;
		cond_resched();
	}
	prepared = count;
	if (replace_all) {
		err = skiff_flush_unkept(svcs, &flush);
		if (err)
			goto err_unprepare;
	}

	/* ... but inserting new services, which is undone on failure. */
	for (i = 0; i < count; i++) {
		struct skiff_service_change *ch = &changes[i];

		if (!ch->created)
			continue;
		ch->svc->affinity_timeout = cfgs[i].affinity_timeout;
		ch->svc->flags = cfgs[i].flags;
		rcu_assign_pointer(ch->svc->set, ch->set);
		err = rhashtable_insert_fast(&svcs->ht, &ch->svc->node,
					     skiff_service_params);
		if (err)
			goto err_remove_inserted;
		ch->inserted = true;
		/*
		 * Lets the table's resize worker run: while a resize is
		 * pending every insert takes rhashtable's slow path.
		 */
		cond_resched();
	}

	if (replace_all)
		list_for_each_entry_safe(svc, tmp, &svcs->list, list)
			if (svc->sync_mark != svcs->sync_mark)
				skiff_service_unlink(svcs, svc, &gone);

	for (i = 0; i < count; i++) {
		struct skiff_service_change *ch = &changes[i];

		if (ch->created) {
			list_add_tail(&ch->svc->list, &svcs->list);
			svcs->count++;
			continue;
		}
		WRITE_ONCE(ch->svc->affinity_timeout, cfgs[i].affinity_timeout);
		WRITE_ONCE(ch->svc->flags, cfgs[i].flags);
		rcu_assign_pointer(ch->svc->set, ch->set);
	}
	skiff_flush_settle(&flush);
	for (i = 0; i < count; i++)
		if (!changes[i].created)
			skiff_backend_set_retire(changes[i].set, changes[i].old);
	skiff_services_free_gone(&gone);
	kvfree(changes);
	skiff_flush_run(net, &flush);
	return 0;

err_remove_inserted:
	for (i = 0; i < count; i++)
		if (changes[i].inserted)
			rhashtable_remove_fast(&svcs->ht, &changes[i].svc->node,
					       skiff_service_params);
	/* Packets may have found the new services meanwhile. */
	synchronize_net();
err_unprepare:
	for (i = 0; i < prepared; i++)
		skiff_service_unprepare(&changes[i]);
	kvfree(changes);
	kfree(flush.entries);
	NL_SET_ERR_MSG(extack, "cannot apply the services");
	return err;
}

int skiff_service_del(struct net *net, struct skiff_services *svcs,
		      const struct skiff_service_key *key,
		      struct netlink_ext_ack *extack)
{
	struct skiff_flush flush = {};
	struct skiff_service *svc;
	LIST_HEAD(gone);
	int err;

	svc = rhashtable_lookup_fast(&svcs->ht, key, skiff_service_params);
	if (!svc) {
		NL_SET_ERR_MSG(extack, "no such service");
		return -ENOENT;
	}
	err = skiff_flush_add(&flush, key, 0, 0, &svc->stats);
	if (err)
		return err;
	skiff_service_unlink(svcs, svc, &gone);
	skiff_flush_settle(&flush);
	skiff_services_free_gone(&gone);
	skiff_flush_run(net, &flush);
	return 0;
}

/* ---- affinity garbage collection ------------------------------------- */

static void skiff_affinity_gc(struct work_struct *work)
{
	struct skiff_services *svcs =
		container_of(to_delayed_work(work), struct skiff_services,
			     affinity_gc);
	struct rhashtable_iter iter;
	struct skiff_affinity *a;

	rhashtable_walk_enter(&svcs->affinity, &iter);
	rhashtable_walk_start(&iter);
	while ((a = rhashtable_walk_next(&iter))) {
		if (IS_ERR(a))
			continue;
		if (time_before(jiffies, READ_ONCE(a->last_used) +
				READ_ONCE(a->timeout)))
			continue;
		if (!rhashtable_remove_fast(&svcs->affinity, &a->node,
					    skiff_affinity_params))
			kfree_rcu(a, rcu);
	}
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);
	schedule_delayed_work(&svcs->affinity_gc, SKIFF_AFFINITY_GC);
}

static void skiff_affinity_free(void *ptr, void *arg)
{
	kfree(ptr);
}

/* ---- per namespace ----------------------------------------------------- */

int skiff_services_init(struct net *net, struct skiff_services *svcs)
{
	int err;

	INIT_LIST_HEAD(&svcs->list);
	svcs->hash_seed = get_random_u32();
	err = rhashtable_init(&svcs->ht, &skiff_service_params);
	if (err)
		return err;
	err = rhashtable_init(&svcs->affinity, &skiff_affinity_params);
	if (err)
		goto err_destroy_ht;
	INIT_DELAYED_WORK(&svcs->affinity_gc, skiff_affinity_gc);
	schedule_delayed_work(&svcs->affinity_gc, SKIFF_AFFINITY_GC);
	return 0;

err_destroy_ht:
	rhashtable_destroy(&svcs->ht);
	return err;
}

void skiff_services_exit(struct net *net, struct skiff_services *svcs)
{
	struct skiff_service *svc, *tmp;

	skiff_hooks_unregister(net, svcs);
	cancel_delayed_work_sync(&svcs->affinity_gc);
	/* No hook runs any more; wait for those that were running. */
	synchronize_net();
	rhashtable_destroy(&svcs->ht);
	list_for_each_entry_safe(svc, tmp, &svcs->list, list)
		skiff_service_free(svc);
	rhashtable_free_and_destroy(&svcs->affinity, skiff_affinity_free, NULL);
}
