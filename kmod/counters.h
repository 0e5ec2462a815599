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

struct skiff_counters __percpu *skiff_counters_alloc(void);
void skiff_counters_read(struct skiff_counters __percpu *stats, u64 *packets,
			 u64 *bytes);

/* Called with BHs off (the datapath): this CPU's counters only. */
static inline void skiff_counters_add(struct skiff_counters __percpu *stats,
				      unsigned int len)
{
	struct skiff_counters *s = this_cpu_ptr(stats);

	u64_stats_update_begin(&s->syncp);
	s->packets++;
	s->bytes += len;
	u64_stats_update_end(&s->syncp);
}

#endif /* _SKIFF_COUNTERS_H */
