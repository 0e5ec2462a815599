// SPDX-License-Identifier: GPL-2.0
/*
 * The StatefulSet controller: pods with stable names, made and replaced in
 * a stable order. Pod i of set "web" is web-i (i from spec.ordinals.start,
 * 0 by default), labelled statefulset.kubernetes.io/pod-name and
 * apps.kubernetes.io/pod-index, with hostname web-i and subdomain
 * spec.serviceName, so that a headless Service gives each a DNS name of its
 * own. A pod that is deleted or finishes comes back under the same name.
 *
 * Each look is Kubernetes' StatefulSet control loop:
 *  1. pods 0..N-1 by ordinal: a finished one is deleted (and comes back),
 *     a missing one created. With podManagementPolicy OrderedReady (the
 *     default) the look stops at the first pod it creates, or that is
 *     terminating, not Running and Ready, or not yet available for
 *     minReadySeconds: pod i is created only once 0..i-1 run.
 *  2. pods at N and past (scale-down), the highest ordinal first; with
 *     OrderedReady one at a time, each once the previous one is gone, and
 *     only while 0..N-1 are all healthy. Parallel does 1 and 2 at once.
 *  3. RollingUpdate: the pod with the highest ordinal not at the update
 *     revision is deleted, so that step 1 makes it again from the new
 *     template, one at a time, the next once the pod before is Running and
 *     Ready, down to rollingUpdate.partition. OnDelete leaves the pods
 *     until somebody deletes them.
 *
 * Templates are ControllerRevisions (cm_revision_sync()); a pod's
 * controller-revision-hash label names the revision it was made from.
 * status.updateRevision is the template's, status.currentRevision the one
 * the set ran before, until every pod is updated and Ready. Pods below the
 * partition are made from the current revision, as Kubernetes does.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm.h"
#include "selector.h"

#define POD_NAME_LABEL "statefulset.kubernetes.io/pod-name"
#define POD_INDEX_LABEL "apps.kubernetes.io/pod-index"
#define REVISION_LABEL "controller-revision-hash"
#define HASH_LABEL "controller.kubernetes.io/hash"

struct sts_ctl {
	struct cm *cm;
	struct skiff_informer *sets, *pods, *revs;
	struct skiff_queue *q;
};

static struct sts_ctl sts_ctl;

/* One look at one set: its spec, and its pods by place. */
struct look {
	struct sts_ctl *s;
	const char *key;
	const json_t *set;
	const char *ns;
	int replicas, start, partition;
	bool monotonic, on_delete, partitioned;
	json_int_t min_ready;
	double now, wait;	/* wait: seconds until a pod is available */
	const json_t *cur, *upd;
	const json_t **slots;		/* [ordinal - start], or NULL */
	const json_t **condemned;	/* the highest ordinal first */
	int n_condemned;
	const json_t *first_unhealthy;
	/* What status will say: counted before acting, then kept up. */
	int n_pods, ready, avail, current, updated;
};

/* The ordinal of @pod in @set (named SET-N, N as printed), or -1. */
static long ordinal_of(const json_t *set, const json_t *pod)
{
	const char *name = skiff_meta(pod, "name") ?: "";
	const char *set_name = skiff_meta(set, "name") ?: "";
	size_t len = strlen(set_name);
	const char *digits = name + len + 1;
	char *end;
	long n;

	if (strncmp(name, set_name, len) || name[len] != '-' ||
	    !isdigit((unsigned char)digits[0]) ||
	    (digits[0] == '0' && digits[1]))
		return -1;
	n = strtol(digits, &end, 10);
	return *end || n > 0x7fffffff ? -1 : n;
}

/* Only a pod named as one of the set's may join it. */
static bool is_member(const json_t *set, const json_t *pod)
{
	return ordinal_of(set, pod) >= 0;
}

static void pod_changed(enum skiff_change change, const json_t *old,
			const json_t *pod, void *arg)
{
	struct sts_ctl *s = arg;

	(void)change;
	if (old)
		cm_queue_owners(s->q, s->sets, old, is_member);
	cm_queue_owners(s->q, s->sets, pod, is_member);
}

/* A revision changed (someone deleted one, say): its set looks again. */
static void rev_changed(enum skiff_change change, const json_t *old,
			const json_t *rev, void *arg)
{
	struct sts_ctl *s = arg;

	(void)change;
	(void)old;
	if (skiff_controller_uid(rev))
		cm_queue_owners(s->q, s->sets, rev, NULL);
}

static const char *pod_revision(const json_t *pod)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(pod, "metadata"),
								 "labels"),
						 REVISION_LABEL)) ?: "";
}

static bool running_ready(const json_t *pod)
{
	return !strcmp(skiff_str(pod, "status.phase") ?: "", "Running") &&
	       skiff_pod_ready(pod, NULL);
}

/* Running and Ready for minReadySeconds; else notes when it will be. */
static bool available(struct look *l, const json_t *pod)
{
	double since = -1, left;

	if (strcmp(skiff_str(pod, "status.phase") ?: "", "Running") ||
	    !skiff_pod_ready(pod, &since))
		return false;
	if (!l->min_ready || since < 0)
		return true;
	left = l->min_ready - (l->now - since);
	if (left <= 0)
		return true;
	if (l->wait < 0 || left < l->wait)
		l->wait = left;
	return false;
}

static bool healthy(const json_t *pod)
{
	return running_ready(pod) && !skiff_deleting(pod);
}

static void write_pod(struct look *l, const char *method, const json_t *pod,
		      const char *type, const json_t *body)
{
	cm_write(l->s->cm, l->s->q, l->key, l->s->pods, method,
		 skiff_path(&skiff_pods, l->ns, skiff_meta(pod, "name"), NULL),
		 type, body);
}

/* Sets the pod's ownerReferences (@refs taken over), by merge patch. */
static void patch_owner(struct look *l, const json_t *pod, json_t *refs)
{
	json_t *patch = json_pack("{s:{s:o, s:s?}}", "metadata",
				  "ownerReferences", refs, "resourceVersion",
				  skiff_meta(pod, "resourceVersion"));

	write_pod(l, "PATCH", pod, "application/merge-patch+json", patch);
	json_decref(patch);
}

static void adopt(struct look *l, const json_t *pod)
{
	json_t *refs = json_deep_copy(json_object_get(json_object_get(pod, "metadata"),
						      "ownerReferences"));

	if (!refs)
		refs = json_array();
	json_array_append_new(refs, cm_owner_ref(l->set));
	patch_owner(l, pod, refs);
}

/* Pod @idx made from its revision: the current one below the partition. */
static void create_pod(struct look *l, int idx)
{
	const json_t *st = json_object_get(l->set, "status");
	const char *service = skiff_str(l->set, "spec.serviceName");
	bool old = !l->on_delete &&
		   idx < (l->partitioned ? l->partition :
			  skiff_int(st, "currentReplicas", 0));
	const json_t *rev = old ? l->cur : l->upd;
	json_t *tmpl = cm_revision_template(rev), *pod, *meta, *labels, *spec;
	char name[300], index[16];

	snprintf(name, sizeof(name), "%s-%d", skiff_meta(l->set, "name"),
		 l->start + idx);
	snprintf(index, sizeof(index), "%d", l->start + idx);
	meta = json_deep_copy(json_object_get(tmpl, "metadata"));
	if (!json_is_object(meta)) {
		json_decref(meta);
		meta = json_object();
	}
	spec = json_deep_copy(json_object_get(tmpl, "spec"));
	if (!json_is_object(spec)) {
		json_decref(spec);
		spec = json_object();
	}
	json_decref(tmpl);
	labels = json_object_get(meta, "labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(meta, "labels", labels);
	}
	json_object_set_new(labels, POD_NAME_LABEL, json_string(name));
	json_object_set_new(labels, POD_INDEX_LABEL, json_string(index));
	json_object_set_new(labels, REVISION_LABEL,
			    json_string(skiff_meta(rev, "name")));
	json_object_del(meta, "generateName");
	json_object_set_new(meta, "name", json_string(name));
	json_object_set_new(meta, "namespace", json_string(l->ns));
	json_object_set_new(meta, "ownerReferences",
			    json_pack("[o]", cm_owner_ref(l->set)));
	json_object_set_new(spec, "hostname", json_string(name));
	if (service && *service)
		json_object_set_new(spec, "subdomain", json_string(service));
	pod = json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1",
			"kind", "Pod", "metadata", meta, "spec", spec);
	cm_write(l->s->cm, l->s->q, l->key, l->s->pods, "POST",
		 skiff_path(&skiff_pods, l->ns, NULL, NULL), NULL, pod);
	json_decref(pod);
}

/* An adopted pod gets the labels of its place. */
static void fix_identity(struct look *l, const json_t *pod, int idx)
{
	const json_t *labels = json_object_get(json_object_get(pod, "metadata"),
					       "labels");
	const char *name = skiff_meta(pod, "name");
	char index[16];
	json_t *patch;

	snprintf(index, sizeof(index), "%d", l->start + idx);
	if (!strcmp(json_string_value(json_object_get(labels, POD_NAME_LABEL)) ?: "",
		    name) &&
	    !strcmp(json_string_value(json_object_get(labels, POD_INDEX_LABEL)) ?: "",
		    index))
		return;
	patch = json_pack("{s:{s:{s:s, s:s}}}", "metadata", "labels",
			  POD_NAME_LABEL, name, POD_INDEX_LABEL, index);
	write_pod(l, "PATCH", pod, "application/merge-patch+json", patch);
	json_decref(patch);
}

static int by_ordinal_down(const void *a, const void *b)
{
	const char *na = skiff_meta(*(const json_t *const *)a, "name");
	const char *nb = skiff_meta(*(const json_t *const *)b, "name");
	long oa = strtol(strrchr(na, '-') + 1, NULL, 10);
	long ob = strtol(strrchr(nb, '-') + 1, NULL, 10);

	return oa < ob ? 1 : oa > ob ? -1 : 0;
}

/* Claims the set's pods (adopting orphans, releasing strays) by place. */
static int claim(struct look *l)
{
	const json_t *pods = skiff_informer_indexed(l->s->pods, CM_BY_NAMESPACE,
						    l->ns), *pod;
	bool deleting = skiff_deleting(l->set);
	const char *pkey;
	long ord;

	l->slots = calloc(l->replicas + 1, sizeof(*l->slots));
	l->condemned = calloc(json_object_size(pods) + 1,
			      sizeof(*l->condemned));
	if (!l->slots || !l->condemned)
		return -1;
	json_object_foreach((json_t *)pods, pkey, pod) {
		const char *owner = skiff_controller_uid(pod);
		bool match;

		if (owner && !cm_controlled_by(pod, l->set))
			continue;
		ord = ordinal_of(l->set, pod);
		match = ord >= 0 && cm_selects(l->set, pod);
		if (owner && !match) {
			patch_owner(l, pod, json_array());
			continue;
		}
		if (!match)
			continue;
		if (!owner) {
			if (deleting || skiff_deleting(pod))
				continue;
			adopt(l, pod);
		}
		if (ord >= l->start && ord - l->start < l->replicas)
			l->slots[ord - l->start] = pod;
		else
			l->condemned[l->n_condemned++] = pod;
	}
	qsort(l->condemned, l->n_condemned, sizeof(*l->condemned),
	      by_ordinal_down);
	return 0;
}

/* Step 1; true when the look stops here. */
static bool process_replicas(struct look *l)
{
	const json_t *pod;
	int i;

	for (i = 0; i < l->replicas; i++) {
		pod = l->slots[i];
		if (pod && skiff_pod_finished(pod)) {
			/* It comes back once this one is gone. */
			if (!skiff_deleting(pod))
				write_pod(l, "DELETE", pod, NULL, NULL);
			if (l->monotonic)
				return true;
			continue;
		}
		if (!pod) {
			create_pod(l, i);
			if (l->monotonic)
				return true;
			continue;
		}
		if (skiff_deleting(pod) || !available(l, pod)) {
			if (l->monotonic)
				return true;
			continue;
		}
		fix_identity(l, pod, i);
	}
	return false;
}

/* Step 2. */
static bool process_condemned(struct look *l)
{
	const json_t *pod;
	int i;

	for (i = 0; i < l->n_condemned; i++) {
		pod = l->condemned[i];
		if (skiff_deleting(pod)) {
			if (l->monotonic)
				return true;
			continue;
		}
		if (l->monotonic && pod != l->first_unhealthy &&
		    !available(l, pod))
			return true;
		write_pod(l, "DELETE", pod, NULL, NULL);
		if (l->monotonic)
			return true;
	}
	return false;
}

/* Step 3. */
static void process_update(struct look *l)
{
	const char *upd = skiff_meta(l->upd, "name");
	const json_t *pod;
	int i;

	if (l->on_delete)
		return;
	for (i = l->replicas - 1; i >= l->partition; i--) {
		pod = l->slots[i];
		if (!pod)
			return;
		if (strcmp(pod_revision(pod), upd) && !skiff_deleting(pod)) {
			write_pod(l, "DELETE", pod, NULL, NULL);
			/* Its place is made again at the update revision. */
			l->current -= !strcmp(pod_revision(pod),
					      skiff_meta(l->cur, "name"));
			return;
		}
		if (!healthy(pod))
			return;
	}
}

/* Counts the pods, and finds the first unhealthy one. */
static void count(struct look *l)
{
	const char *cur = skiff_meta(l->cur, "name");
	const char *upd = skiff_meta(l->upd, "name");
	const json_t *pod;
	int i;

	for (i = 0; i < l->replicas + l->n_condemned; i++) {
		pod = i < l->replicas ? l->slots[i] :
		      l->condemned[i - l->replicas];
		if (!pod)
			continue;
		if (!l->first_unhealthy && !healthy(pod))
			l->first_unhealthy = pod;
		l->n_pods++;
		if (running_ready(pod)) {
			l->ready++;
			l->avail += available(l, pod);
		}
		if (skiff_deleting(pod))
			continue;
		l->current += !strcmp(pod_revision(pod), cur);
		l->updated += !strcmp(pod_revision(pod), upd);
	}
}

static void update_status(struct look *l)
{
	const json_t *st = json_object_get(l->set, "status");
	const char *cur = skiff_meta(l->cur, "name");
	const char *upd = skiff_meta(l->upd, "name");
	json_int_t gen = skiff_int(l->set, "metadata.generation", 0);
	int replicas = l->n_pods, ready = l->ready, avail = l->avail;
	int current = l->current, updated = l->updated;
	json_t *patch;

	/* Every pod updated and Ready: the update is done. */
	if (updated == replicas && ready == replicas) {
		current = updated;
		cur = upd;
	}
	if (skiff_int(st, "replicas", -1) == replicas &&
	    skiff_int(st, "readyReplicas", 0) == ready &&
	    skiff_int(st, "availableReplicas", 0) == avail &&
	    skiff_int(st, "currentReplicas", 0) == current &&
	    skiff_int(st, "updatedReplicas", 0) == updated &&
	    !strcmp(skiff_str(st, "currentRevision") ?: "", cur) &&
	    !strcmp(skiff_str(st, "updateRevision") ?: "", upd) &&
	    skiff_int(st, "observedGeneration", -1) == gen)
		return;
	patch = json_pack("{s:{s:I, s:i, s:i, s:i, s:i, s:i, s:s, s:s, s:I}}",
			  "status", "observedGeneration", gen,
			  "replicas", replicas, "readyReplicas", ready,
			  "availableReplicas", avail,
			  "currentReplicas", current, "updatedReplicas", updated,
			  "currentRevision", cur, "updateRevision", upd,
			  "collisionCount", skiff_int(st, "collisionCount", 0));
	cm_patch_status(l->s->cm, l->s->q, l->key, l->s->sets, l->set, patch);
	json_decref(patch);
}

/* Revisions in use are kept whatever the history limit. */
static void truncate_history(struct look *l)
{
	json_t *live = json_object();
	int i;

	json_object_set_new(live, skiff_meta(l->cur, "name"), json_true());
	json_object_set_new(live, skiff_meta(l->upd, "name"), json_true());
	for (i = 0; i < l->replicas; i++)
		if (l->slots[i])
			json_object_set_new(live, pod_revision(l->slots[i]),
					    json_true());
	for (i = 0; i < l->n_condemned; i++)
		json_object_set_new(live, pod_revision(l->condemned[i]),
				    json_true());
	cm_revision_truncate(l->s->cm, l->s->q, l->key, l->s->revs, l->set,
			     live);
	json_decref(live);
}

static int look_init(struct look *l, const json_t *set)
{
	const json_t *spec = json_object_get(set, "spec");
	const char *policy = skiff_str(spec, "podManagementPolicy") ?: "";
	const char *strategy = skiff_str(spec, "updateStrategy.type") ?: "";
	const json_t *ru = json_object_get(json_object_get(spec, "updateStrategy"),
					   "rollingUpdate");
	struct skiff_selector *sel = cm_selector(set, "statefulset", l->key);

	if (!sel)
		return -1;
	skiff_selector_free(sel);
	l->set = set;
	l->ns = skiff_meta(set, "namespace");
	l->replicas = (int)skiff_int(spec, "replicas", 1);
	l->start = (int)skiff_int(spec, "ordinals.start", 0);
	if (l->replicas < 0 || l->start < 0)
		return -1;
	l->monotonic = strcmp(policy, "Parallel");
	l->on_delete = !strcmp(strategy, "OnDelete");
	l->partitioned = json_is_object(ru);
	l->partition = (int)skiff_int(ru, "partition", 0);
	l->min_ready = skiff_int(spec, "minReadySeconds", 0);
	l->now = (double)time(NULL);
	l->wait = -1;
	return 0;
}

static void reconcile(const char *key, void *arg)
{
	struct sts_ctl *s = arg;
	const json_t *set = json_object_get(skiff_informer_all(s->sets), key);
	struct look l = { .s = s, .key = key };
	const json_t *cur;
	bool collision;

	if (!set || look_init(&l, set))
		return;
	l.upd = cm_revision_sync(s->cm, s->q, key, s->revs, set, HASH_LABEL,
				 &collision);
	if (!l.upd) {
		if (collision)
			cm_bump_collisions(s->cm, s->q, key, s->sets, set);
		return;
	}
	cur = skiff_informer_get(s->revs, l.ns,
				 skiff_str(set, "status.currentRevision") ?: "");
	l.cur = cur && cm_controlled_by(cur, set) ? cur : l.upd;
	if (claim(&l)) {
		skiff_queue_retry(s->q, key);
		goto out;
	}
	count(&l);
	/* A set being deleted only reports; the garbage collector acts. */
	if (!skiff_deleting(set) && !process_replicas(&l) &&
	    !process_condemned(&l))
		process_update(&l);
	update_status(&l);
	truncate_history(&l);
	if (l.wait >= 0)
		skiff_queue_add_after(s->q, key, (int64_t)(l.wait * 1000) + 100);
out:
	free(l.slots);
	free(l.condemned);
}

static int statefulset_start(struct cm *cm)
{
	struct sts_ctl *s = &sts_ctl;

	s->cm = cm;
	s->sets = cm_informer(cm, &skiff_statefulsets);
	s->pods = cm_informer(cm, &skiff_pods);
	s->revs = cm_informer(cm, &skiff_controllerrevisions);
	s->q = cm_queue(cm, reconcile, s);
	if (!s->sets || !s->pods || !s->revs || !s->q ||
	    skiff_informer_on_change(s->sets, cm_queue_object, s->q) ||
	    skiff_informer_on_change(s->pods, pod_changed, s) ||
	    skiff_informer_on_change(s->revs, rev_changed, s))
		return -1;
	return 0;
}

CM_CONTROLLER(statefulset, statefulset_start)
