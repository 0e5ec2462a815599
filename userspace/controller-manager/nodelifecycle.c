// SPDX-License-Identifier: GPL-2.0
/*
 * The Node lifecycle controller: notices nodes that stopped talking and
 * moves their pods away, as Kubernetes' does with taint-based eviction.
 *
 * A node's heartbeat is its Lease in kube-node-lease (renewTime) or its
 * Ready condition's lastHeartbeatTime. When neither has changed for
 * --node-monitor-grace-period, measured on this process's own clock from
 * when it last saw a change (so clock skew between nodes and control plane
 * does not matter, and a restart gives every node a full grace period),
 * the node's conditions become Unknown (reason NodeStatusUnknown, "Kubelet
 * stopped posting node status."), its pods are marked Ready=False, and it
 * is tainted node.kubernetes.io/unreachable, NoSchedule (the scheduler
 * places nothing new there) and NoExecute (with timeAdded). A kubelet that
 * reports Ready=False gets node.kubernetes.io/not-ready likewise. When the
 * node is Ready again (its kubelet posts it) the taints go.
 *
 * Pods on a node with a NoExecute taint are deleted once they no longer
 * tolerate it: at once if a matching toleration says tolerationSeconds <=
 * 0, after tolerationSeconds if one gives them, never if a matching
 * toleration has none (DaemonSet pods), and after --pod-eviction-timeout
 * when no toleration matches (the default Kubernetes' DefaultTolerationSeconds
 * admission gives every pod: 5 min). Deleted, they are no longer counted by
 * their controllers, which make replacements elsewhere; they stay
 * terminating until the node comes back or is deleted, as in Kubernetes.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm.h"
#include "nodematch.h"
#include "util.h"

#define LEASE_NS "kube-node-lease"
#define UNREACHABLE "node.kubernetes.io/unreachable"
#define NOT_READY "node.kubernetes.io/not-ready"

struct nl_ctl {
	struct cm *cm;
	struct skiff_informer *nodes, *leases, *pods;
	struct skiff_queue *q;
	json_t *health;		/* node name -> {"hb": text, "probe": ms} */
	int64_t period_ms;	/* how often every node is looked at */
};

static struct nl_ctl nl_ctl;

static const json_t *node_condition(const json_t *node, const char *type)
{
	const json_t *conds = json_object_get(json_object_get(node, "status"),
					      "conditions"), *c;
	size_t i;

	json_array_foreach(conds, i, c)
		if (!strcmp(skiff_str(c, "type") ?: "", type))
			return c;
	return NULL;
}

/* "True", "False", "Unknown", or "" when the node never said. */
static const char *ready_status(const json_t *node)
{
	return skiff_str(node_condition(node, "Ready"), "status") ?: "";
}

/*
 * Records what a heartbeat source says now; a change is a heartbeat, at
 * this process's time.
 */
static void observe(struct nl_ctl *n, const char *name, const char *source,
		    const char *value)
{
	json_t *h = json_object_get(n->health, name);
	const char *was;

	if (!h) {
		h = json_object();
		json_object_set_new(n->health, name, h);
		json_object_set_new(h, "probe", json_integer(skiff_now_ms()));
	}
	was = skiff_str(h, source);
	if (!value || (was && !strcmp(was, value)))
		return;
	if (was)
		json_object_set_new(h, "probe", json_integer(skiff_now_ms()));
	json_object_set_new(h, source, json_string(value));
}

static void node_changed(enum skiff_change change, const json_t *old,
			 const json_t *node, void *arg)
{
	struct nl_ctl *n = arg;
	const char *name = skiff_meta(node, "name");

	(void)old;
	if (!name)
		return;
	if (change == SKIFF_DELETED) {
		json_object_del(n->health, name);
		return;
	}
	observe(n, name, "status",
		skiff_str(node_condition(node, "Ready"), "lastHeartbeatTime"));
	skiff_queue_add(n->q, name);
}

static void lease_changed(enum skiff_change change, const json_t *old,
			  const json_t *lease, void *arg)
{
	struct nl_ctl *n = arg;
	const char *name = skiff_meta(lease, "name");

	(void)old;
	if (change == SKIFF_DELETED || !name ||
	    strcmp(skiff_meta(lease, "namespace") ?: "", LEASE_NS) ||
	    !skiff_informer_get(n->nodes, NULL, name))
		return;
	observe(n, name, "lease", skiff_str(lease, "spec.renewTime"));
}

/* A pod bound to a node that is not Ready: marked and, later, evicted. */
static void pod_changed(enum skiff_change change, const json_t *old,
			const json_t *pod, void *arg)
{
	struct nl_ctl *n = arg;
	const char *node_name = skiff_str(pod, "spec.nodeName");
	const json_t *node;

	(void)old;
	if (change == SKIFF_DELETED || !node_name)
		return;
	node = skiff_informer_get(n->nodes, NULL, node_name);
	if (node && strcmp(ready_status(node), "True"))
		skiff_queue_add(n->q, node_name);
}

/* Every node whose heartbeat is overdue, every period (nodeMonitorPeriod). */
static void sweep(void *arg)
{
	struct nl_ctl *n = arg;
	int64_t now = skiff_now_ms();
	const json_t *node;
	const char *name;

	json_object_foreach((json_t *)skiff_informer_all(n->nodes), name, node) {
		const json_t *h = json_object_get(n->health, name);

		if (!h || now - skiff_int(h, "probe", now) > n->cm->node_monitor_grace_ms)
			skiff_queue_add(n->q, name);
	}
	skiff_loop_after(n->cm->loop, n->period_ms, sweep, n);
}

/* ---- the node ------------------------------------------------------------ */

/* The node's conditions, all Unknown; NULL when they are already. */
static json_t *unknown_conditions(const json_t *node, const char *now)
{
	static const char *const types[] = {
		"Ready", "MemoryPressure", "DiskPressure", "PIDPressure",
	};
	const json_t *conds = json_object_get(json_object_get(node, "status"),
					      "conditions"), *c;
	json_t *out = json_deep_copy(conds), *nc;
	bool changed = false;
	size_t i, t;

	if (!json_is_array(out)) {
		json_decref(out);
		out = json_array();
	}
	for (t = 0; t < ARRAY_SIZE(types); t++) {
		c = node_condition(node, types[t]);
		if (c && !strcmp(skiff_str(c, "status") ?: "", "Unknown"))
			continue;
		if (!c && t)
			continue;	/* only Ready is added when missing */
		changed = true;
		nc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", types[t],
			       "status", "Unknown",
			       "reason", c ? "NodeStatusUnknown" : "NodeStatusNeverUpdated",
			       "message", c ? "Kubelet stopped posting node status." :
			       "Kubelet never posted node status.",
			       "lastTransitionTime", now);
		if (c && json_object_get(c, "lastHeartbeatTime"))
			json_object_set(nc, "lastHeartbeatTime",
					json_object_get(c, "lastHeartbeatTime"));
		else
			json_object_set_new(nc, "lastHeartbeatTime", json_string(now));
		for (i = 0; c && i < json_array_size(out); i++)
			if (!strcmp(skiff_str(json_array_get(out, i), "type") ?: "",
				    types[t]))
				break;
		if (c)
			json_array_set_new(out, i, nc);
		else
			json_array_append_new(out, nc);
	}
	if (!changed) {
		json_decref(out);
		return NULL;
	}
	return out;
}

static bool is_ours(const json_t *taint)
{
	const char *key = skiff_str(taint, "key") ?: "";
	const char *effect = skiff_str(taint, "effect") ?: "";

	return (!strcmp(key, UNREACHABLE) || !strcmp(key, NOT_READY)) &&
	       (!strcmp(effect, "NoSchedule") || !strcmp(effect, "NoExecute"));
}

/* The taints the node should have; NULL when it has them. */
static json_t *wanted_taints(const json_t *node, const char *ready,
			     const char *now)
{
	const json_t *taints = json_object_get(json_object_get(node, "spec"),
					       "taints"), *t;
	const char *key = !strcmp(ready, "Unknown") ? UNREACHABLE :
			  !strcmp(ready, "False") ? NOT_READY : NULL;
	static const char *const effects[] = { "NoSchedule", "NoExecute" };
	json_t *out = json_array();
	bool changed = false, have;
	size_t i, e;

	json_array_foreach(taints, i, t) {
		if (is_ours(t) && (!key || strcmp(skiff_str(t, "key"), key))) {
			changed = true;
			continue;
		}
		json_array_append(out, (json_t *)t);
	}
	for (e = 0; key && e < 2; e++) {
		have = false;
		json_array_foreach(taints, i, t)
			have |= !strcmp(skiff_str(t, "key") ?: "", key) &&
				!strcmp(skiff_str(t, "effect") ?: "", effects[e]);
		if (have)
			continue;
		changed = true;
		if (e)
			json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "key", key,
							     "effect", effects[e],
							     "timeAdded", now));
		else
			json_array_append_new(out, json_pack("{s:s, s:s}", "key", key,
							     "effect", effects[e]));
	}
	if (!changed) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* ---- its pods ------------------------------------------------------------ */

/* Does the one toleration @tol tolerate @taint (Kubernetes' ToleratesTaint)? */
static bool tolerates(const json_t *tol, const json_t *taint)
{
	json_t *one = json_pack("[O]", tol);
	bool yes = skiff_tolerates(one, taint);

	json_decref(one);
	return yes;
}

/*
 * When (seconds since the epoch) the pod must go for the node's NoExecute
 * taints, or -1 for never.
 */
static double evict_at(const json_t *pod, const json_t *node,
		       int64_t default_ms)
{
	const json_t *taints = json_object_get(json_object_get(node, "spec"),
					       "taints"), *t, *tol;
	const json_t *tols = json_object_get(json_object_get(pod, "spec"),
					     "tolerations");
	double at = -1, added, secs, best;
	bool matched, forever;
	size_t i, j;

	json_array_foreach(taints, i, t) {
		if (strcmp(skiff_str(t, "effect") ?: "", "NoExecute"))
			continue;
		added = skiff_time_parse(skiff_str(t, "timeAdded"));
		if (added < 0)
			added = (double)time(NULL);
		matched = false;
		forever = false;
		best = -1;
		json_array_foreach(tols, j, tol) {
			if (!tolerates(tol, t))
				continue;
			matched = true;
			if (!json_is_integer(json_object_get(tol, "tolerationSeconds"))) {
				forever = true;
				continue;
			}
			secs = (double)skiff_int(tol, "tolerationSeconds", 0);
			if (secs < 0)
				secs = 0;
			if (best < 0 || secs < best)
				best = secs;
		}
		if (!matched)
			best = (double)default_ms / 1000;
		else if (forever && best < 0)
			continue;
		if (at < 0 || added + best < at)
			at = added + best;
	}
	return at;
}

/* The pod's status with condition Ready False; NULL when it is not Ready. */
static json_t *not_ready_status(const json_t *pod, const char *now)
{
	json_t *conds = json_deep_copy(json_object_get(json_object_get(pod, "status"),
						       "conditions")), *c;
	size_t i;

	json_array_foreach(conds, i, c) {
		if (strcmp(skiff_str(c, "type") ?: "", "Ready") ||
		    strcmp(skiff_str(c, "status") ?: "", "True"))
			continue;
		json_object_set_new(c, "status", json_string("False"));
		json_object_set_new(c, "lastTransitionTime", json_string(now));
		json_object_set_new(c, "reason", json_string("NodeNotReady"));
		json_object_set_new(c, "message",
				    json_string("the node is not ready"));
		return json_pack("{s:{s:o}}", "status", "conditions", conds);
	}
	json_decref(conds);
	return NULL;
}

/* Marks and evicts the pods of a node not Ready; seconds to wait, or -1. */
static double handle_pods(struct nl_ctl *n, const char *key,
			  const json_t *node, const char *ready,
			  const char *now)
{
	const json_t *pods = skiff_informer_indexed(n->pods, CM_BY_NODE, key), *pod;
	double t = (double)time(NULL), at, wait = -1;
	const char *pkey;
	json_t *body;

	json_object_foreach((json_t *)pods, pkey, pod) {
		if (skiff_deleting(pod) || skiff_pod_finished(pod))
			continue;
		at = evict_at(pod, node, n->cm->pod_eviction_timeout_ms);
		if (at >= 0 && at <= t) {
			skiff_client_event(n->cm->c, pod, "Normal",
					   "TaintManagerEviction",
					   "taint-eviction-controller",
					   "Marking for deletion Pod %s", pkey);
			cm_write(n->cm, n->q, key, n->pods, "DELETE",
				 skiff_path(&skiff_pods, skiff_meta(pod, "namespace"),
					    skiff_meta(pod, "name"), NULL), NULL, NULL);
			continue;
		}
		if (at >= 0 && (wait < 0 || at - t < wait))
			wait = at - t;
		/* Nobody else will say it: a silent node's pods are not ready. */
		if (strcmp(ready, "Unknown"))
			continue;
		body = not_ready_status(pod, now);
		if (!body)
			continue;
		json_object_set_new(body, "metadata",
				    json_pack("{s:s?}", "resourceVersion",
					      skiff_meta(pod, "resourceVersion")));
		cm_write(n->cm, n->q, key, n->pods, "PATCH",
			 skiff_path(&skiff_pods, skiff_meta(pod, "namespace"),
				    skiff_meta(pod, "name"), "status"),
			 "application/merge-patch+json", body);
		json_decref(body);
	}
	return wait;
}

static void reconcile(const char *key, void *arg)
{
	struct nl_ctl *n = arg;
	const json_t *node = skiff_informer_get(n->nodes, NULL, key), *h;
	const char *ready;
	json_t *conds, *taints, *patch;
	double wait = -1;
	char now[40];

	if (!node || skiff_deleting(node))
		return;
	skiff_time_now(now, sizeof(now));
	h = json_object_get(n->health, key);
	if (!h) {
		observe(n, key, "status", NULL);
		h = json_object_get(n->health, key);
	}
	ready = ready_status(node);
	if (skiff_now_ms() - skiff_int(h, "probe", 0) > n->cm->node_monitor_grace_ms) {
		conds = unknown_conditions(node, now);
		if (conds) {
			fprintf(stderr, "nodelifecycle: node %s: silent for %lld ms: Unknown\n",
				key, (long long)(skiff_now_ms() - skiff_int(h, "probe", 0)));
			skiff_client_event(n->cm->c, node, "Normal", "NodeNotReady",
					   "node-controller",
					   "Node %s status is now: NodeNotReady", key);
			patch = json_pack("{s:{s:s?}, s:{s:o}}", "metadata",
					  "resourceVersion",
					  skiff_meta(node, "resourceVersion"),
					  "status", "conditions", conds);
			/* The taints follow once this is answered. */
			cm_write(n->cm, n->q, key, n->nodes, "PATCH",
				 skiff_path(&skiff_nodes, NULL, key, "status"),
				 "application/merge-patch+json", patch);
			json_decref(patch);
			return;
		}
	}
	taints = wanted_taints(node, ready, now);
	if (taints) {
		patch = json_pack("{s:{s:s?}, s:{s:o}}", "metadata",
				  "resourceVersion", skiff_meta(node, "resourceVersion"),
				  "spec", "taints", taints);
		cm_write(n->cm, n->q, key, n->nodes, "PATCH",
			 skiff_path(&skiff_nodes, NULL, key, NULL),
			 "application/merge-patch+json", patch);
		json_decref(patch);
		return;
	}
	if (strcmp(ready, "True") && *ready)
		wait = handle_pods(n, key, node, ready, now);
	if (wait >= 0)
		skiff_queue_add_after(n->q, key, (int64_t)(wait * 1000) + 100);
}

static int nodelifecycle_start(struct cm *cm)
{
	struct nl_ctl *n = &nl_ctl;

	n->cm = cm;
	n->health = json_object();
	n->nodes = cm_informer(cm, &skiff_nodes);
	n->leases = cm_informer(cm, &skiff_leases);
	n->pods = cm_informer(cm, &skiff_pods);
	n->q = cm_queue(cm, reconcile, n);
	if (!n->health || !n->nodes || !n->leases || !n->pods || !n->q ||
	    skiff_informer_on_change(n->nodes, node_changed, n) ||
	    skiff_informer_on_change(n->leases, lease_changed, n) ||
	    skiff_informer_on_change(n->pods, pod_changed, n))
		return -1;
	/* Kubernetes looks every 5 s with a 40 s grace: an eighth of it. */
	n->period_ms = cm->node_monitor_grace_ms / 8;
	if (n->period_ms > 5000)
		n->period_ms = 5000;
	if (n->period_ms < 100)
		n->period_ms = 100;
	skiff_loop_after(cm->loop, n->period_ms, sweep, n);
	return 0;
}

CM_CONTROLLER(nodelifecycle, nodelifecycle_start)
