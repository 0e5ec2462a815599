// SPDX-License-Identifier: GPL-2.0
/*
 * The ReplicaSet controller: keeps spec.replicas pods matching the
 * selector, owned by the ReplicaSet (a controller ownerReference). It
 * adopts orphans its selector matches, releases owned pods that no longer
 * match, creates from the template what is missing and deletes the
 * surplus, the least useful first (unscheduled, pending, not ready, newest),
 * as Kubernetes does. Status counts what it saw.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm.h"
#include "selector.h"

/* At most this many creations or deletions per look (Kubernetes' burst). */
#define BURST 500

struct rs_ctl {
	struct cm *cm;
	struct skiff_informer *rs, *pods;
	struct skiff_queue *q;
};

static struct rs_ctl rs_ctl;

static void pod_changed(enum skiff_change change, const json_t *old,
			const json_t *pod, void *arg)
{
	struct rs_ctl *r = arg;

	(void)change;
	if (old)
		cm_queue_owners(r->q, r->rs, old, NULL);
	cm_queue_owners(r->q, r->rs, pod, NULL);
}

/* Higher is a better pod to delete: Kubernetes' ActivePods order. */
static int delete_rank(const json_t *pod)
{
	const char *phase = skiff_str(pod, "status.phase") ?: "";
	int rank = 0;

	if (!skiff_str(pod, "spec.nodeName"))
		rank += 8;
	if (!strcmp(phase, "Pending"))
		rank += 4;
	else if (strcmp(phase, "Running"))
		rank += 2;
	if (!skiff_pod_ready(pod, NULL))
		rank += 1;
	return rank;
}

static int surplus_order(const void *a, const void *b)
{
	const json_t *pa = *(const json_t *const *)a;
	const json_t *pb = *(const json_t *const *)b;
	int ra = delete_rank(pa), rb = delete_rank(pb);
	const char *ta, *tb;

	if (ra != rb)
		return rb - ra;
	/* Then the newest first. */
	ta = skiff_meta(pa, "creationTimestamp") ?: "";
	tb = skiff_meta(pb, "creationTimestamp") ?: "";
	return strcmp(tb, ta) ?: strcmp(skiff_meta(pb, "name") ?: "",
				       skiff_meta(pa, "name") ?: "");
}

static json_t *pod_from_template(const json_t *rs)
{
	const json_t *tmpl = json_object_get(json_object_get(rs, "spec"),
					     "template");
	json_t *pod, *meta;
	char prefix[300];

	pod = json_pack("{s:s, s:s, s:O?, s:O?}", "apiVersion", "v1",
			"kind", "Pod",
			"metadata", json_object_get(tmpl, "metadata"),
			"spec", json_object_get(tmpl, "spec"));
	if (!pod)
		return NULL;
	meta = json_object_get(pod, "metadata");
	if (!meta) {
		meta = json_object();
		json_object_set_new(pod, "metadata", meta);
	} else {
		meta = json_deep_copy(meta);
		json_object_set_new(pod, "metadata", meta);
	}
	snprintf(prefix, sizeof(prefix), "%s-", skiff_meta(rs, "name"));
	json_object_set_new(meta, "generateName", json_string(prefix));
	json_object_set_new(meta, "namespace",
			    json_string(skiff_meta(rs, "namespace")));
	json_object_del(meta, "name");
	json_object_set_new(meta, "ownerReferences",
			    json_pack("[o]", cm_owner_ref(rs)));
	return pod;
}

/* Sets or removes (@ref NULL) the pod's ownerReferences, by merge patch. */
static void patch_owner(struct rs_ctl *r, const char *key, const json_t *pod,
			json_t *refs)
{
	json_t *patch = json_pack("{s:{s:o, s:s?}}", "metadata",
				  "ownerReferences", refs,
				  "resourceVersion",
				  skiff_meta(pod, "resourceVersion"));

	cm_write(r->cm, r->q, key, r->pods, "PATCH",
		 skiff_path(&skiff_pods, skiff_meta(pod, "namespace"),
			    skiff_meta(pod, "name"), NULL),
		 "application/merge-patch+json", patch);
	json_decref(patch);
}

/* The pod gets a controller reference to @rs besides those it has. */
static void adopt(struct rs_ctl *r, const char *key, const json_t *rs,
		  const json_t *pod)
{
	json_t *refs = json_deep_copy(json_object_get(json_object_get(pod, "metadata"),
						      "ownerReferences"));

	if (!refs)
		refs = json_array();
	json_array_append_new(refs, cm_owner_ref(rs));
	patch_owner(r, key, pod, refs);
}

static void update_status(struct rs_ctl *r, const char *key, const json_t *rs,
			  int replicas, int labeled, int ready, int available)
{
	const json_t *st = json_object_get(rs, "status");
	json_int_t gen = skiff_int(rs, "metadata.generation", 0);
	json_t *patch;

	if (skiff_int(st, "replicas", 0) == replicas &&
	    skiff_int(st, "fullyLabeledReplicas", 0) == labeled &&
	    skiff_int(st, "readyReplicas", 0) == ready &&
	    skiff_int(st, "availableReplicas", 0) == available &&
	    skiff_int(st, "observedGeneration", -1) == gen)
		return;
	patch = json_pack("{s:{s:i, s:i, s:i, s:i, s:I}}", "status",
			  "replicas", replicas, "fullyLabeledReplicas", labeled,
			  "readyReplicas", ready, "availableReplicas", available,
			  "observedGeneration", gen);
	cm_patch_status(r->cm, r->q, key, r->rs, rs, patch);
	json_decref(patch);
}

static void reconcile(const char *key, void *arg)
{
	struct rs_ctl *r = arg;
	const char *slash = strchr(key, '/');
	const json_t *rs, *pods, *pod, *spec;
	int want, have = 0, ready = 0, available = 0, n_surplus = 0, i;
	const json_t **active = NULL;
	struct skiff_selector *sel;
	json_int_t min_ready;
	double since, now = (double)time(NULL), wait = -1;
	const char *pkey;

	if (!slash)
		return;
	rs = json_object_get(skiff_informer_all(r->rs), key);
	if (!rs || skiff_deleting(rs))
		return;
	spec = json_object_get(rs, "spec");
	want = (int)skiff_int(spec, "replicas", 1);
	min_ready = skiff_int(spec, "minReadySeconds", 0);
	sel = cm_selector(rs, "replicaset", key);
	if (!sel)
		return;
	pods = skiff_informer_indexed(r->pods, CM_BY_NAMESPACE,
				      skiff_meta(rs, "namespace"));
	active = calloc(json_object_size(pods) + 1, sizeof(*active));
	if (!active) {
		skiff_selector_free(sel);
		skiff_queue_retry(r->q, key);
		return;
	}
	json_object_foreach((json_t *)pods, pkey, pod) {
		const json_t *labels = json_object_get(json_object_get(pod, "metadata"),
						       "labels");
		bool match = skiff_selector_match_labels(sel, labels);
		const char *owner = skiff_controller_uid(pod);

		if (owner && !cm_controlled_by(pod, rs))
			continue;
		if (owner && !match) {
			/* Released: the controller reference goes. */
			patch_owner(r, key, pod, json_array());
			continue;
		}
		if (!match || skiff_pod_finished(pod))
			continue;
		if (skiff_deleting(pod))
			continue;
		if (!owner)
			adopt(r, key, rs, pod);
		active[have++] = pod;
		if (skiff_pod_ready(pod, &since)) {
			ready++;
			if (since >= 0 && now - since < min_ready) {
				if (wait < 0 || min_ready - (now - since) < wait)
					wait = min_ready - (now - since);
			} else {
				available++;
			}
		}
	}
	skiff_selector_free(sel);
	if (have < want) {
		json_t *pod_new = pod_from_template(rs);

		for (i = 0; pod_new && i < want - have && i < BURST; i++)
			cm_write(r->cm, r->q, key, r->pods, "POST",
				 skiff_path(&skiff_pods, skiff_meta(rs, "namespace"),
					    NULL, NULL), NULL, pod_new);
		json_decref(pod_new);
	} else if (have > want) {
		qsort(active, have, sizeof(*active), surplus_order);
		n_surplus = have - want;
		for (i = 0; i < n_surplus && i < BURST; i++)
			cm_write(r->cm, r->q, key, r->pods, "DELETE",
				 skiff_path(&skiff_pods, skiff_meta(active[i], "namespace"),
					    skiff_meta(active[i], "name"), NULL),
				 NULL, NULL);
	}
	update_status(r, key, rs, have, have, ready, available);
	if (wait >= 0)
		skiff_queue_add_after(r->q, key, (int64_t)(wait * 1000) + 100);
	free(active);
}

static int replicaset_start(struct cm *cm)
{
	struct rs_ctl *r = &rs_ctl;

	r->cm = cm;
	r->rs = cm_informer(cm, &skiff_replicasets);
	r->pods = cm_informer(cm, &skiff_pods);
	r->q = cm_queue(cm, reconcile, r);
	if (!r->rs || !r->pods || !r->q ||
	    skiff_informer_on_change(r->rs, cm_queue_object, r->q) ||
	    skiff_informer_on_change(r->pods, pod_changed, r))
		return -1;
	return 0;
}

CM_CONTROLLER(replicaset, replicaset_start)
