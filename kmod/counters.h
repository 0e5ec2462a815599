/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-CPU packet and byte counters, for peers, services and backends.
 */

#ifndef _SKIFF_COUNTERS_H
#define _SKIFF_COUNTERS_H

#include <linux/percpu.h>
#include <linux/types.h>
#include <linux/u64_stats_sync.h>

struct skiff_counters {
	u64 packets;
	u64 bytes;
	struct u64_stats_sync syncp;
};

struct skiff_counters_block;

/**
 * struct skiff_counters_slot - one object's counters, taken from a block
 * @pcpu: the counters, one copy per CPU
 * @block: the block @pcpu is a slot of, to give it back
 */
struct skiff_counters_slot {
	struct skiff_counters __percpu *pcpu;
	struct skiff_counters_block *block;
};

/* Process context: zeroed counters in @slot, or -ENOMEM. */
int skiff_counters_alloc(struct skiff_counters_slot *slot);
/* Any context; once no reader or writer of @slot is left. */
void skiff_counters_free(struct skiff_counters_slot *slot);
void skiff_counters_read(const struct skiff_counters_slot *slot, u64 *packets,
			 u64 *bytes);
/* Module exit, after rcu_barrier(): every slot was freed by now. */
void skiff_counters_exit(void);

/* Called with BHs off (the datapath): this CPU's counters only. */
static inline void skiff_counters_add(const struct skiff_counters_slot *slot,
				      unsigned int len)
{
	struct skiff_counters *s = this_cpu_ptr(slot->pcpu);

	u64_stats_update_begin(&s->syncp);
	s->packets++;
	s->bytes += len;
	u64_stats_update_end(&s->syncp);
}

#endif /* _SKIFF_COUNTERS_H */
