// SPDX-License-Identifier: GPL-2.0
/*
 * The scheduling queue and the choice of a node.
 *
 * Pending pods wait in a work queue. For one pod, nodes are filtered
 * starting where the previous search stopped, until enough fit: all of
 * them in a small cluster, at least 100, and a share falling from 50% at
 * 100 nodes to 5% at 5,625 and more (kube-scheduler's
 * percentageOfNodesToScore). The best scored among those is taken, ties
 * broken at random; the pod counts on that node at once (assumed) and its
 * binding is sent while the next pod is scheduled.
 *
 * A pod that fits nowhere gets PodScheduled=False with the reasons counted
 * ("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) ...") and a
 * FailedScheduling event, and waits until a node or a pod changes in a way
 * that may make room.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

#define MIN_FEASIBLE 100
/* A pod that fits nowhere is tried again after this even if nothing moved. */
#define UNSCHEDULABLE_RETRY_MS (5 * 60 * 1000)

static bool wants_scheduling(const struct sched *s, const json_t *pod)
{
	const char *name = skiff_str(pod, "spec.schedulerName");

	return !skiff_str(pod, "spec.nodeName") && !skiff_deleting(pod) &&
	       !skiff_pod_finished(pod) &&
	       !strcmp(name && *name ? name : "default-scheduler", s->name);
}

void schedule_pod_changed(struct sched *s, const json_t *pod, bool gone)
{
	char *key = skiff_object_key(pod);

	if (!key)
		return;
	if (gone || !wants_scheduling(s, pod)) {
		json_object_del(s->unschedulable, key);
	} else if (!json_object_get(s->assumed, key) &&
		   !json_object_get(s->unschedulable, key)) {
		skiff_queue_add(s->q, key);
	}
	free(key);
}

void schedule_retry_unschedulable(struct sched *s)
{
	const char *key;
	json_t *v;

	json_object_foreach(s->unschedulable, key, v)
		skiff_queue_add(s->q, key);
	json_object_clear(s->unschedulable);
}

static int nodes_to_find(const struct sched *s)
{
	size_t n = s->n_nodes, k;
	long pct = s->pct_nodes;

	if (n <= MIN_FEASIBLE)
		return (int)n;
	if (!pct) {
		pct = 50 - (long)n / 125;
		if (pct < 5)
			pct = 5;
	}
	k = n * (size_t)pct / 100;
	return (int)(k < MIN_FEASIBLE ? MIN_FEASIBLE : k);
}

static int reason_order(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "0/N nodes are available: COUNT REASON, ...." sorted as Kubernetes. */
static char *unschedulable_message(const struct sched *s, json_t *reasons)
{
	size_t n = json_object_size(reasons), i = 0, len;
	char **parts, *msg, *p;
	const char *reason;
	json_t *count;

	if (!s->n_nodes)
		return strdup("no nodes available to schedule pods");
	parts = calloc(n, sizeof(*parts));
	if (!parts)
		return NULL;
	len = 64;
	json_object_foreach(reasons, reason, count) {
		if (asprintf(&parts[i], "%lld %s",
			     (long long)json_integer_value(count), reason) < 0)
			parts[i] = NULL;
		len += parts[i] ? strlen(parts[i]) + 2 : 0;
		i++;
	}
	qsort(parts, n, sizeof(*parts), reason_order);
	msg = malloc(len);
	if (msg) {
		p = msg + sprintf(msg, "0/%zu nodes are available: ", s->n_nodes);
		for (i = 0; i < n; i++)
			if (parts[i])
				p += sprintf(p, "%s%s", i ? ", " : "", parts[i]);
		strcpy(p, ".");
	}
	for (i = 0; i < n; i++)
		free(parts[i]);
	free(parts);
	return msg;
}

static void report_unschedulable(struct sched *s, const json_t *pod,
				 const char *msg)
{
	const json_t *conds = json_object_get(json_object_get(pod, "status"),
					      "conditions"), *c;
	json_t *patch;
	char now[40];
	size_t i;

	json_array_foreach(conds, i, c)
		if (!strcmp(json_string_value(json_object_get(c, "type")) ?: "",
			    "PodScheduled") &&
		    !strcmp(json_string_value(json_object_get(c, "message")) ?: "",
			    msg))
			return;	/* said already */
	skiff_time_now(now, sizeof(now));
	patch = json_pack("{s:{s:[{s:s, s:s, s:s, s:s, s:n, s:s}]}}",
			  "status", "conditions", "type", "PodScheduled",
			  "status", "False", "reason", "Unschedulable",
			  "message", msg, "lastProbeTime",
			  "lastTransitionTime", now);
	skiff_client_send(s->c, "PATCH",
			  skiff_path(&skiff_pods, skiff_meta(pod, "namespace"),
				     skiff_meta(pod, "name"), "status"),
			  "application/merge-patch+json", patch, NULL, NULL);
	json_decref(patch);
	skiff_client_event(s->c, pod, "Warning", "FailedScheduling",
			   "default-scheduler", "%s", msg);
}

struct binding {
	struct sched *s;
	char node[256];
	char key[];
};

static void bound(long code, json_t *answer, void *arg)
{
	struct binding *b = arg;
	struct sched *s = b->s;
	const json_t *pod;

	if (code == 201 || code == 200) {
		s->scheduled++;
	} else {
		/* Not there after all: the node is freed of it. */
		json_object_del(s->assumed, b->key);
		pod = json_object_get(skiff_informer_all(s->pods_inf), b->key);
		nodes_count_pod(s, b->key, pod, NULL);
		if (code != 404 && code != 409)
			fprintf(stderr, "skiff-scheduler: binding %s to %s: HTTP %ld: %s\n",
				b->key, b->node, code,
				json_string_value(json_object_get(answer, "message")) ?:
				"no answer");
	}
	skiff_queue_done(s->q, b->key, code != 201 && code != 200 &&
			 code != 404 && code != 409);
	free(b);
}

static void bind_pod(struct sched *s, const char *key, const json_t *pod,
		     const char *node)
{
	struct binding *b = malloc(sizeof(*b) + strlen(key) + 1);
	json_t *body;

	if (!b) {
		skiff_queue_retry(s->q, key);
		return;
	}
	b->s = s;
	snprintf(b->node, sizeof(b->node), "%s", node);
	strcpy(b->key, key);
	json_object_set_new(s->assumed, key, json_string(node));
	nodes_count_pod(s, key, pod, node);
	body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}}",
			 "apiVersion", "v1", "kind", "Binding",
			 "metadata", "name", skiff_meta(pod, "name"),
			 "namespace", skiff_meta(pod, "namespace"),
			 "target", "apiVersion", "v1", "kind", "Node",
			 "name", node);
	skiff_queue_busy(s->q, key);
	if (skiff_client_send(s->c, "POST",
			      skiff_path(&skiff_pods, skiff_meta(pod, "namespace"),
					 skiff_meta(pod, "name"), "binding"),
			      NULL, body, bound, b))
		bound(0, NULL, b);
	json_decref(body);
}

static void schedule_one(const char *key, void *arg)
{
	struct sched *s = arg;
	const json_t *pod = json_object_get(skiff_informer_all(s->pods_inf), key);
	size_t *feasible, n_feasible = 0, examined, i, best = 0, ties = 0;
	int64_t score, best_score = -1, owned, max_owned = 0;
	json_t *reasons;
	struct pod_req r;
	const char *why;
	char *msg;
	int want;

	if (!pod || !wants_scheduling(s, pod) ||
	    json_object_get(s->assumed, key))
		return;
	if (!skiff_informer_synced(s->nodes_inf) ||
	    !skiff_informer_synced(s->pods_inf)) {
		skiff_queue_add_after(s->q, key, 100);
		return;
	}
	feasible = malloc((s->n_nodes + 1) * sizeof(*feasible));
	reasons = json_object();
	if (!feasible || !reasons || pod_req_init(s, &r, pod)) {
		free(feasible);
		json_decref(reasons);
		skiff_queue_retry(s->q, key);
		return;
	}
	want = nodes_to_find(s);
	for (examined = 0; examined < s->n_nodes && (int)n_feasible < want;
	     examined++) {
		i = (s->next_start + examined) % s->n_nodes;
		why = node_filter(&r, &s->nodes[i]);
		if (!why) {
			feasible[n_feasible++] = i;
			continue;
		}
		json_object_set_new(reasons, why,
				    json_integer(json_integer_value(json_object_get(reasons,
										    why)) + 1));
	}
	if (s->n_nodes)
		s->next_start = (s->next_start + examined) % s->n_nodes;
	if (!n_feasible) {
		msg = unschedulable_message(s, reasons);
		s->failed++;
		json_object_set_new(s->unschedulable, key, json_true());
		if (msg)
			report_unschedulable(s, pod, msg);
		free(msg);
		skiff_queue_add_after(s->q, key, UNSCHEDULABLE_RETRY_MS);
		goto out;
	}
	if (r.owner)
		for (i = 0; i < n_feasible; i++) {
			owned = json_integer_value(json_object_get(s->nodes[feasible[i]].owners,
								   r.owner));
			if (owned > max_owned)
				max_owned = owned;
		}
	for (i = 0; i < n_feasible; i++) {
		score = node_score(&r, &s->nodes[feasible[i]], max_owned);
		if (score > best_score) {
			best_score = score;
			best = feasible[i];
			ties = 1;
		} else if (score == best_score && rand() % ++ties == 0) {
			best = feasible[i];
		}
	}
	bind_pod(s, key, pod, s->nodes[best].name);
out:
	pod_req_free(&r);
	json_decref(reasons);
	free(feasible);
}

int schedule_start(struct sched *s)
{
	s->q = skiff_queue_new(skiff_client_loop(s->c), schedule_one, s);
	return s->q ? 0 : -1;
}
