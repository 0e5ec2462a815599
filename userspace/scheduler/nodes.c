// SPDX-License-Identifier: GPL-2.0
/*
 * The node cache: one node_info per Node, and what each pod counts for on
 * its node. Every pod change recomputes that pod's share: its old share
 * is taken off the node it was on and its new one added.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"
#include "util.h"

struct node_info *nodes_find(struct sched *s, const char *name)
{
	const json_t *i = json_object_get(s->node_index, name);

	return i ? &s->nodes[json_integer_value(i)] : NULL;
}

static int64_t node_quantity(const json_t *node, const char *name, bool milli)
{
	const json_t *alloc = json_object_get(json_object_get(node, "status"),
					      "allocatable");
	int64_t v = 0;

	if (skiff_parse_quantity(json_string_value(json_object_get(alloc, name)),
				 milli, &v))
		return 0;
	return v;
}

static bool node_ready(const json_t *node)
{
	const json_t *conds = json_object_get(json_object_get(node, "status"),
					      "conditions"), *c;
	size_t i;

	json_array_foreach(conds, i, c)
		if (!strcmp(json_string_value(json_object_get(c, "type")) ?: "",
			    "Ready"))
			return !strcmp(json_string_value(json_object_get(c, "status")) ?: "",
				       "True");
	return false;
}

/* Does the change matter to pods that fit nowhere? */
static bool node_differs(const struct node_info *n, const json_t *node)
{
	return n->alloc_cpu != node_quantity(node, "cpu", true) ||
	       n->alloc_mem != node_quantity(node, "memory", false) ||
	       n->alloc_pods != node_quantity(node, "pods", false) ||
	       n->ready != node_ready(node) ||
	       n->unschedulable != json_is_true(json_object_get(json_object_get(node, "spec"),
								 "unschedulable")) ||
	       !json_equal(json_object_get(json_object_get(n->node, "metadata"), "labels"),
			   json_object_get(json_object_get(node, "metadata"), "labels")) ||
	       !json_equal(json_object_get(json_object_get(n->node, "spec"), "taints"),
			   json_object_get(json_object_get(node, "spec"), "taints"));
}

static void node_set(struct node_info *n, const json_t *node)
{
	n->node = node;
	n->labels = json_object_get(json_object_get(node, "metadata"), "labels");
	n->taints = json_object_get(json_object_get(node, "spec"), "taints");
	if (!json_array_size(n->taints))
		n->taints = NULL;
	n->alloc_cpu = node_quantity(node, "cpu", true);
	n->alloc_mem = node_quantity(node, "memory", false);
	n->alloc_pods = node_quantity(node, "pods", false);
	n->ready = node_ready(node);
	n->unschedulable = json_is_true(json_object_get(json_object_get(node, "spec"),
							"unschedulable"));
}

static void apply_share(struct sched *s, const json_t *share, int sign);
static void wait_for_node(struct sched *s, const char *node, const char *key,
			  json_t *share, int sign);

static void node_added(struct sched *s, const json_t *node)
{
	const char *name = skiff_meta(node, "name"), *key;
	json_t *waiting, *share;
	struct node_info *n;

	if (s->n_nodes == s->cap_nodes) {
		size_t cap = s->cap_nodes ? 2 * s->cap_nodes : 64;

		n = realloc(s->nodes, cap * sizeof(*n));
		if (!n)
			return;
		s->nodes = n;
		s->cap_nodes = cap;
	}
	n = &s->nodes[s->n_nodes];
	memset(n, 0, sizeof(*n));
	n->name = strdup(name);
	n->ports = json_object();
	n->owners = json_object();
	node_set(n, node);
	json_object_set_new(s->node_index, name, json_integer(s->n_nodes));
	s->n_nodes++;
	/* Pods seen on it before it was: they count now. */
	waiting = json_incref(json_object_get(s->waiting, name));
	json_object_del(s->waiting, name);
	json_object_foreach(waiting, key, share)
		apply_share(s, share, 1);
	json_decref(waiting);
}

static void node_removed(struct sched *s, const char *name)
{
	const json_t *idx = json_object_get(s->node_index, name);
	struct node_info *n;
	const char *key;
	json_t *share;
	size_t i;

	if (!idx)
		return;
	/* Its pods wait for a node of that name to come back (or go). */
	json_object_foreach(s->counted, key, share)
		if (!strcmp(json_string_value(json_object_get(share, "node")) ?: "",
			    name))
			wait_for_node(s, name, key, share, 1);
	i = json_integer_value(idx);
	n = &s->nodes[i];
	free(n->name);
	json_decref(n->ports);
	json_decref(n->owners);
	json_object_del(s->node_index, name);
	if (i != s->n_nodes - 1) {
		*n = s->nodes[s->n_nodes - 1];
		json_object_set_new(s->node_index, n->name, json_integer(i));
	}
	s->n_nodes--;
}

static void node_changed(enum skiff_change change, const json_t *old,
			 const json_t *node, void *arg)
{
	struct sched *s = arg;
	struct node_info *n = nodes_find(s, skiff_meta(node, "name"));
	bool retry = true;

	(void)old;
	if (change == SKIFF_DELETED) {
		node_removed(s, skiff_meta(node, "name"));
		return;
	}
	if (n) {
		retry = node_differs(n, node);
		node_set(n, node);
	} else {
		node_added(s, node);
	}
	if (retry)
		schedule_retry_unschedulable(s);
}

static void count(json_t *map, const char *key, int delta)
{
	json_int_t n = json_integer_value(json_object_get(map, key)) + delta;

	if (n > 0)
		json_object_set_new(map, key, json_integer(n));
	else
		json_object_del(map, key);
}

/* A share whose node is unknown is kept (@sign 1) or dropped (-1). */
static void wait_for_node(struct sched *s, const char *node, const char *key,
			  json_t *share, int sign)
{
	json_t *bucket = json_object_get(s->waiting, node);

	if (sign > 0) {
		if (!bucket) {
			bucket = json_object();
			json_object_set_new(s->waiting, node, bucket);
		}
		json_object_set(bucket, key, share);
		return;
	}
	json_object_del(bucket, key);
	if (bucket && !json_object_size(bucket))
		json_object_del(s->waiting, node);
}

/* Adds (@sign 1) or takes off (-1) a share to its node. */
static void apply_share(struct sched *s, const json_t *share, int sign)
{
	const char *node = json_string_value(json_object_get(share, "node"));
	struct node_info *n = nodes_find(s, node);
	const json_t *port;
	const char *owner;
	size_t i;

	if (!n)
		return;
	n->req_cpu += sign * json_integer_value(json_object_get(share, "cpu"));
	n->req_mem += sign * json_integer_value(json_object_get(share, "mem"));
	n->score_cpu += sign * json_integer_value(json_object_get(share, "scpu"));
	n->score_mem += sign * json_integer_value(json_object_get(share, "smem"));
	n->pods += sign;
	json_array_foreach(json_object_get(share, "ports"), i, port)
		count(n->ports, json_string_value(port), sign);
	owner = json_string_value(json_object_get(share, "owner"));
	if (owner)
		count(n->owners, owner, sign);
}

/* On its node, or waiting for it. */
static void count_share(struct sched *s, const char *key, json_t *share,
			int sign)
{
	const char *node = json_string_value(json_object_get(share, "node"));

	if (nodes_find(s, node))
		apply_share(s, share, sign);
	else
		wait_for_node(s, node, key, share, sign);
}

void nodes_count_pod(struct sched *s, const char *key, const json_t *pod,
		     const char *node)
{
	json_t *old = json_object_get(s->counted, key), *share = NULL, *ports;
	struct pod_req r;
	const char *port;
	json_t *v;

	if (!node)
		node = json_string_value(json_object_get(s->assumed, key));
	if (!node && pod)
		node = skiff_str(pod, "spec.nodeName");
	if (pod && node && !skiff_pod_finished(pod) &&
	    !pod_req_init(s, &r, pod)) {
		ports = json_array();
		json_object_foreach(r.ports, port, v)
			json_array_append_new(ports, json_string(port));
		share = json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:s?}",
				  "node", node, "cpu", (json_int_t)r.cpu,
				  "mem", (json_int_t)r.mem,
				  "scpu", (json_int_t)r.score_cpu,
				  "smem", (json_int_t)r.score_mem,
				  "ports", ports, "owner", r.owner);
		pod_req_free(&r);
	}
	if (old && share && json_equal(old, share)) {
		json_decref(share);
		return;
	}
	if (old) {
		count_share(s, key, old, -1);
		json_object_del(s->counted, key);
	}
	if (share) {
		count_share(s, key, share, 1);
		json_object_set_new(s->counted, key, share);
	}
}

static void pod_changed(enum skiff_change change, const json_t *old,
			const json_t *pod, void *arg)
{
	struct sched *s = arg;
	char *key = skiff_object_key(pod);
	bool freed;

	(void)old;
	if (!key)
		return;
	if (change == SKIFF_DELETED || skiff_str(pod, "spec.nodeName"))
		json_object_del(s->assumed, key);
	if (change != SKIFF_DELETED && json_array_size(pod_anti_terms(pod)))
		json_object_set(s->anti_pods, key, (json_t *)pod);
	else
		json_object_del(s->anti_pods, key);
	freed = json_object_get(s->counted, key) &&
		(change == SKIFF_DELETED || skiff_pod_finished(pod));
	nodes_count_pod(s, key, change == SKIFF_DELETED ? NULL : pod, NULL);
	schedule_pod_changed(s, pod, change == SKIFF_DELETED);
	/* Room was made: what did not fit may now. */
	if (freed)
		schedule_retry_unschedulable(s);
	free(key);
}

int nodes_start(struct sched *s)
{
	s->node_index = json_object();
	s->counted = json_object();
	s->waiting = json_object();
	s->assumed = json_object();
	s->unschedulable = json_object();
	s->anti_pods = json_object();
	s->nodes_inf = skiff_informer_new(s->c, &skiff_nodes, NULL);
	s->pods_inf = skiff_informer_new(s->c, &skiff_pods, NULL);
	if (!s->node_index || !s->counted || !s->waiting || !s->assumed ||
	    !s->unschedulable || !s->anti_pods || !s->nodes_inf || !s->pods_inf ||
	    skiff_informer_on_change(s->nodes_inf, node_changed, s) ||
	    skiff_informer_on_change(s->pods_inf, pod_changed, s))
		return -1;
	skiff_informer_start(s->nodes_inf);
	skiff_informer_start(s->pods_inf);
	return 0;
}
