/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Leader election through a Lease (coordination.k8s.io/v1), as Kubernetes'
 * components do it: the leader renews the lease every retry period;
 * another candidate takes it over once it has seen no renewal for a lease
 * duration (timed on its own monotonic clock, so clocks need not agree);
 * writes carry the resourceVersion read, so two candidates never both win.
 * A leader that cannot renew within the renew deadline stops leading by
 * exiting: whatever it was doing may already be someone else's.
 */

#ifndef SKIFF_LEADER_H
#define SKIFF_LEADER_H

#include <stdint.h>

#include "client.h"

struct skiff_leader_config {
	const char *ns;		/* "kube-system" */
	const char *name;	/* "skiff-scheduler" */
	const char *identity;	/* NULL: hostname_pid */
	int64_t lease_ms;	/* 15 s */
	int64_t renew_ms;	/* 10 s */
	int64_t retry_ms;	/* 2 s */
};

struct skiff_leader;

/*
 * Campaigns on the loop; @lead(@arg) runs once, when this process becomes
 * the leader.
 */
struct skiff_leader *skiff_leader_start(struct skiff_client *c,
					const struct skiff_leader_config *cfg,
					void (*lead)(void *arg), void *arg);

/* Gives the lease up if held (outside the loop, at exit), and frees. */
void skiff_leader_release(struct skiff_leader *l);

/*
 * Parses a duration as Kubernetes' flags take it (Go's ParseDuration, units
 * ms, s, m, h: "15s", "500ms", "1m30s", "1.5h") or plain seconds ("15").
 * Milliseconds, or -1.
 */
int64_t skiff_parse_duration(const char *text);

#endif /* SKIFF_LEADER_H */
