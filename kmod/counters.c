// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU packet and byte counters: written lock-free by the CPU handling
 * the packet, summed over CPUs when read.
 *
 * A table of 100k services with two backends each wants 300k of them, and
 * alloc_percpu() is no allocator for that many small objects: it searches
 * the per-CPU chunks' area maps with interrupts off, and that search grows
 * with the number of areas. Programming 100k services spent more than half
 * its time there. So counters are carved out of blocks of
 * SKIFF_COUNTERS_PER_BLOCK, one alloc_percpu() each, as a slab cache carves
 * objects out of pages: taking or giving back a slot is a bit in a bitmap.
 *
 * The pool is module wide, not per namespace: counters are given back from
 * RCU callbacks, which may run after their namespace has gone. Module exit
 * waits for those (rcu_barrier()) before skiff_counters_exit().
 *
 * DOC: Locking
 *
 * skiff_counters_pool.lock (taken with BHs off: RCU callbacks free slots)
 * protects the partial list and every block's bitmap and count. A block
 * with a free slot is on the partial list; a full one is on no list, and a
 * block whose last slot is given back is freed.
 */

#include <linux/bitmap.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "counters.h"

#define SKIFF_COUNTERS_PER_BLOCK	512

struct skiff_counters_block {
	struct list_head list;
	struct skiff_counters __percpu *slots;
	unsigned int used;
	DECLARE_BITMAP(taken, SKIFF_COUNTERS_PER_BLOCK);
};

static struct {
	spinlock_t lock;		/* see DOC: Locking */
	struct list_head partial;
} skiff_counters_pool = {
	.lock = __SPIN_LOCK_UNLOCKED(skiff_counters_pool.lock),
	.partial = LIST_HEAD_INIT(skiff_counters_pool.partial),
};

static struct skiff_counters_block *skiff_counters_block_new(void)
{
	struct skiff_counters_block *block;

	block = kzalloc(sizeof(*block), GFP_KERNEL);
	if (!block)
		return NULL;
	block->slots = __alloc_percpu(SKIFF_COUNTERS_PER_BLOCK *
				      sizeof(struct skiff_counters),
				      __alignof__(struct skiff_counters));
	if (!block->slots) {
		kfree(block);
		return NULL;
	}
	INIT_LIST_HEAD(&block->list);
	return block;
}

static void skiff_counters_block_free(struct skiff_counters_block *block)
{
	free_percpu(block->slots);
	kfree(block);
}

/* Called with the pool lock: takes a free slot of @block. */
static void skiff_counters_take(struct skiff_counters_block *block,
				struct skiff_counters_slot *slot)
{
	unsigned int i;

	i = find_first_zero_bit(block->taken, SKIFF_COUNTERS_PER_BLOCK);
	__set_bit(i, block->taken);
	if (++block->used == SKIFF_COUNTERS_PER_BLOCK)
		list_del_init(&block->list);
	slot->block = block;
	slot->pcpu = block->slots + i;
}

int skiff_counters_alloc(struct skiff_counters_slot *slot)
{
	struct skiff_counters_block *block, *fresh = NULL;
	int cpu;

	spin_lock_bh(&skiff_counters_pool.lock);
	block = list_first_entry_or_null(&skiff_counters_pool.partial,
					 struct skiff_counters_block, list);
	if (!block) {
		/* alloc_percpu() may sleep: not under the lock. */
		spin_unlock_bh(&skiff_counters_pool.lock);
		fresh = skiff_counters_block_new();
		if (!fresh)
			return -ENOMEM;
		spin_lock_bh(&skiff_counters_pool.lock);
		list_add(&fresh->list, &skiff_counters_pool.partial);
		block = fresh;
	}
	skiff_counters_take(block, slot);
	spin_unlock_bh(&skiff_counters_pool.lock);

	/* A slot given back keeps its old counts: a new object starts at 0. */
	for_each_possible_cpu(cpu) {
		struct skiff_counters *s = per_cpu_ptr(slot->pcpu, cpu);

		s->packets = 0;
		s->bytes = 0;
		u64_stats_init(&s->syncp);
	}
	return 0;
}

void skiff_counters_free(struct skiff_counters_slot *slot)
{
	struct skiff_counters_block *block = slot->block;
	unsigned int i;

	if (!block)
		return;
	i = slot->pcpu - block->slots;
	spin_lock_bh(&skiff_counters_pool.lock);
	__clear_bit(i, block->taken);
	if (block->used-- == SKIFF_COUNTERS_PER_BLOCK)
		list_add(&block->list, &skiff_counters_pool.partial);
	if (!block->used)
		list_del(&block->list);
	else
		block = NULL;
	spin_unlock_bh(&skiff_counters_pool.lock);
	/* free_percpu() may be called from any context. */
	if (block)
		skiff_counters_block_free(block);
	slot->block = NULL;
	slot->pcpu = NULL;
}

void skiff_counters_read(const struct skiff_counters_slot *slot, u64 *packets,
			 u64 *bytes)
{
	int cpu;

	*packets = 0;
	*bytes = 0;
	for_each_possible_cpu(cpu) {
		const struct skiff_counters *s = per_cpu_ptr(slot->pcpu, cpu);
		unsigned int start;
		u64 p, b;

		do {
			start = u64_stats_fetch_begin(&s->syncp);
			p = s->packets;
			b = s->bytes;
		} while (u64_stats_fetch_retry(&s->syncp, start));
		*packets += p;
		*bytes += b;
	}
}

void skiff_counters_exit(void)
{
	WARN_ON(!list_empty(&skiff_counters_pool.partial));
}
