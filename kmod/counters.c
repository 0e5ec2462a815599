// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU packet and byte counters: written lock-free by the CPU handling
 * the packet, summed over CPUs when read.
 */

#include "counters.h"

struct skiff_counters __percpu *skiff_counters_alloc(void)
{
	struct skiff_counters __percpu *stats;
	int cpu;

	stats = alloc_percpu(struct skiff_counters);
	if (!stats)
		return NULL;
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(stats, cpu)->syncp);
	return stats;
}

void skiff_counters_read(struct skiff_counters __percpu *stats, u64 *packets,
			 u64 *bytes)
{
	int cpu;

	*packets = 0;
	*bytes = 0;
	for_each_possible_cpu(cpu) {
		const struct skiff_counters *s = per_cpu_ptr(stats, cpu);
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
