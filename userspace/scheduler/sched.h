/* SPDX-License-Identifier: GPL-2.0 */
/*
 * skiff-scheduler: binds every pending pod to a node, as kube-scheduler
 * does, from two informers (nodes, pods).
 *
 * The node cache (nodes.c) keeps per node what scheduling asks many times:
 * allocatable and requested cpu, memory and pods, host ports in use, pods
 * per owner. A pod counts on its node from the moment its binding is sent
 * (assumed, as kube-scheduler assumes) until it finishes or goes.
 * predicates.c filters and scores one pod against one node; schedule.c
 * runs the queue of pending pods, picks and binds.
 */

#ifndef SKIFF_SCHED_H
#define SKIFF_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "informer.h"
#include "quantity.h"
#include "queue.h"

struct node_info {
	char *name;
	const json_t *node;		/* the cached Node */
	int64_t alloc_cpu;		/* millicores */
	int64_t alloc_mem;		/* bytes */
	int64_t alloc_pods;
	int64_t req_cpu, req_mem;	/* of the pods counted on it */
	int64_t score_cpu, score_mem;	/* the same with defaults for none */
	int64_t pods;
	bool ready, unschedulable;
	const json_t *labels;		/* of the cached Node */
	const json_t *taints;
	json_t *ports;			/* "TCP/80" (and "TCP/1.2.3.4/80") -> count */
	json_t *owners;			/* controller uid -> pods */
};

/* What a pod asks of a node, computed once per attempt. */
struct pod_req {
	const json_t *pod;
	int64_t cpu, mem;		/* requests (init containers: max) */
	int64_t score_cpu, score_mem;	/* with defaults for none */
	const char *owner;		/* controller uid or NULL */
	const json_t *node_selector;	/* spec.nodeSelector */
	const json_t *node_required;	/* required node affinity */
	const json_t *tolerations;
	json_t *ports;			/* host ports asked, keys as above */
	json_t *anti_values;		/* per anti-affinity term: values taken */
	json_t *anti_keys;		/* the terms' topology keys */
};

struct sched {
	struct skiff_client *c;
	struct skiff_informer *nodes_inf, *pods_inf;
	struct skiff_queue *q;
	const char *name;		/* spec.schedulerName we serve */
	struct node_info *nodes;
	size_t n_nodes, cap_nodes;
	json_t *node_index;		/* node name -> index in nodes */
	json_t *counted;		/* pod key -> {node, cpu, mem, ...} */
	json_t *waiting;		/* node -> {pod key: share}, unknown node */
	json_t *assumed;		/* pod key -> node (binding sent/done) */
	json_t *unschedulable;		/* pod key -> message */
	json_t *anti_pods;		/* pod key -> pod with anti-affinity */
	size_t next_start;		/* where the next search starts */
	int pct_nodes;			/* percentage of nodes to score, 0: adaptive */
	uint64_t scheduled, failed;
};

/* nodes.c */
int nodes_start(struct sched *s);
struct node_info *nodes_find(struct sched *s, const char *name);
/* The pod is counted on @node (assumed) or, @node NULL, as its object says. */
void nodes_count_pod(struct sched *s, const char *key, const json_t *pod,
		     const char *node);

/* predicates.c */
int pod_req_init(struct sched *s, struct pod_req *r, const json_t *pod);
void pod_req_free(struct pod_req *r);
/* The pod's required anti-affinity terms (a JSON array or NULL). */
const json_t *pod_anti_terms(const json_t *pod);
/* NULL when @n fits @r, else why not ("Insufficient cpu"...). */
const char *node_filter(const struct pod_req *r, const struct node_info *n);
/* 0-300: least allocated + balanced + spread, higher is better. */
int64_t node_score(const struct pod_req *r, const struct node_info *n,
		   int64_t max_owned);

/* schedule.c */
int schedule_start(struct sched *s);
/* The cluster changed: pods that fit nowhere get another try. */
void schedule_retry_unschedulable(struct sched *s);
/* A pending pod appeared or changed. */
void schedule_pod_changed(struct sched *s, const json_t *pod, bool gone);

#endif /* SKIFF_SCHED_H */
