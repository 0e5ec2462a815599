// SPDX-License-Identifier: GPL-2.0
/*
 * The DaemonSet controller: one pod of the template on every node that
 * should run it, decided as Kubernetes decides it:
 *  - the node matches the template's spec.nodeSelector and required node
 *    affinity (and its spec.nodeName, if it names one);
 *  - the pod tolerates the node's NoSchedule and NoExecute taints, with the
 *    tolerations every daemon pod gets besides its own: not-ready and
 *    unreachable (NoExecute), disk-, memory- and pid-pressure and
 *    unschedulable (NoSchedule), network-unavailable with hostNetwork. So
 *    a cordoned node still runs its daemons. A pod already on a node that
 *    gets an untolerated NoSchedule taint stays; NoExecute takes it away.
 *
 * Pods are made bound to their node: spec.nodeName is set (as Kubernetes
 * did before 1.12, so that they run without a scheduler, and at once),
 * and the required node affinity is replaced by one term matching the
 * node by metadata.name, as Kubernetes writes it now, so that anything
 * placing pods would put it nowhere else.
 *
 * Each look: pods follow the nodes (created where missing, deleted where
 * they should not run, extra ones on a node deleted, the oldest kept;
 * failed ones deleted and made again, with a back-off per node), and pods
 * bound to a node that no longer exists are deleted at once (Kubernetes
 * leaves those to its pod garbage collector; skiff has none). Only when
 * that needed no write, an update: RollingUpdate deletes pods of an older
 * template, no more than maxUnavailable (default 1, of the desired number
 * of nodes) unavailable at a time, counting nodes whose pod is missing or
 * not available (minReadySeconds); the next look makes their new pods.
 * With maxSurge instead, the new pod starts beside the old one, which goes
 * once the new one is available. OnDelete leaves pods until someone
 * deletes them.
 *
 * Templates are ControllerRevisions (cm_revision_sync()); the pods'
 * controller-revision-hash label is the hash of the revision they were
 * made from.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm.h"
#include "nodematch.h"
#include "selector.h"
#include "util.h"

#define HASH_LABEL "controller-revision-hash"
/* At most this many creations or deletions per look (Kubernetes' burst). */
#define BURST 500
/* A node whose daemon pod keeps failing: 1 s, doubling up to 15 min. */
#define BACKOFF_MS_MIN 1000
#define BACKOFF_MS_MAX (15 * 60 * 1000)

struct ds_ctl {
	struct cm *cm;
	struct skiff_informer *sets, *pods, *nodes, *revs;
	struct skiff_queue *q;
	json_t *backoff;	/* "NS/NAME/NODE" -> [delay ms, last ms] */
};

static struct ds_ctl ds_ctl;

/* One look at one DaemonSet. */
struct look {
	struct ds_ctl *d;
	const char *key, *ns;
	const json_t *ds;
	const char *hash;
	json_t *tmpl;		/* the template, with the daemon tolerations */
	json_t *by_node;	/* node -> [claimed pods, the oldest first] */
	json_int_t min_ready;
	double now, wait;
	int desired, max_surge, max_unavail, writes;
	bool rolling;
};

/* ---- which nodes --------------------------------------------------------- */

/* nodeSelector and the required node affinity of pod spec @spec. */
static bool affinity_holds(const json_t *spec, const json_t *node)
{
	const json_t *labels = json_object_get(json_object_get(node, "metadata"),
					       "labels");

	return skiff_node_affinity_matches(json_object_get(spec, "nodeSelector"),
					   skiff_required_node_affinity(spec),
					   labels, skiff_meta(node, "name"));
}

/*
 * Has @node a NoExecute (and, with @no_schedule, NoSchedule) taint that
 * the pod spec @spec does not tolerate?
 */
static bool untolerated(const json_t *node, const json_t *spec,
			bool no_schedule)
{
	return skiff_untolerated_taint(json_object_get(json_object_get(node, "spec"),
						       "taints"),
				       json_object_get(spec, "tolerations"),
				       no_schedule);
}

/*
 * Kubernetes' NodeShouldRunDaemonPod: should a new pod go to @node
 * (*@run), may one there stay (*@keep)?
 */
static void should_run(const json_t *spec, const json_t *node, bool *run,
		       bool *keep)
{
	const char *name = skiff_str(spec, "nodeName");

	*run = *keep = false;
	if ((name && *name && strcmp(name, skiff_meta(node, "name") ?: "")) ||
	    !affinity_holds(spec, node))
		return;
	if (untolerated(node, spec, true)) {
		*keep = !untolerated(node, spec, false);
		return;
	}
	*run = *keep = true;
}

/* The tolerations Kubernetes gives every daemon pod, added to @spec. */
static void add_daemon_tolerations(json_t *spec)
{
	static const char *const add[][2] = {
		{ "node.kubernetes.io/not-ready", "NoExecute" },
		{ "node.kubernetes.io/unreachable", "NoExecute" },
		{ "node.kubernetes.io/disk-pressure", "NoSchedule" },
		{ "node.kubernetes.io/memory-pressure", "NoSchedule" },
		{ "node.kubernetes.io/pid-pressure", "NoSchedule" },
		{ "node.kubernetes.io/unschedulable", "NoSchedule" },
		{ "node.kubernetes.io/network-unavailable", "NoSchedule" },
	};
	json_t *tols = json_object_get(spec, "tolerations"), *t;
	size_t i, j, n = ARRAY_SIZE(add);
	bool have;

	if (!json_is_true(json_object_get(spec, "hostNetwork")))
		n--;
	if (!json_is_array(tols)) {
		tols = json_array();
		json_object_set_new(spec, "tolerations", tols);
	}
	for (i = 0; i < n; i++) {
		have = false;
		json_array_foreach(tols, j, t)
			have |= !strcmp(skiff_str(t, "key") ?: "", add[i][0]) &&
				!strcmp(skiff_str(t, "effect") ?: "", add[i][1]) &&
				!strcmp(skiff_str(t, "operator") ?: "", "Exists");
		if (!have)
			json_array_append_new(tols,
					      json_pack("{s:s, s:s, s:s}",
							"key", add[i][0],
							"operator", "Exists",
							"effect", add[i][1]));
	}
}

/* The node a daemon pod is for: spec.nodeName, or its affinity's. */
static const char *target_node(const json_t *pod)
{
	const char *name = skiff_str(pod, "spec.nodeName");
	const json_t *terms, *req;

	if (name && *name)
		return name;
	terms = json_object_get(json_object_get(json_object_get(pod, "spec"),
						"affinity"), "nodeAffinity");
	terms = json_object_get(json_object_get(terms,
						"requiredDuringSchedulingIgnoredDuringExecution"),
				"nodeSelectorTerms");
	req = json_array_get(json_object_get(json_array_get(terms, 0), "matchFields"), 0);
	if (json_array_size(terms) != 1 ||
	    strcmp(skiff_str(req, "key") ?: "", "metadata.name") ||
	    strcmp(skiff_str(req, "operator") ?: "", "In") ||
	    json_array_size(json_object_get(req, "values")) != 1)
		return NULL;
	return json_string_value(json_array_get(json_object_get(req, "values"), 0));
}

/* ---- handlers ------------------------------------------------------------ */

static void pod_changed(enum skiff_change change, const json_t *old,
			const json_t *pod, void *arg)
{
	struct ds_ctl *d = arg;

	(void)change;
	if (old)
		cm_queue_owners(d->q, d->sets, old, NULL);
	cm_queue_owners(d->q, d->sets, pod, NULL);
}

static void queue_all(struct ds_ctl *d)
{
	const json_t *ds;
	const char *key;

	json_object_foreach((json_t *)skiff_informer_all(d->sets), key, ds)
		skiff_queue_add(d->q, key);
}

/* A node came, went, or changed what decides where daemons run. */
static void node_changed(enum skiff_change change, const json_t *old,
			 const json_t *node, void *arg)
{
	struct ds_ctl *d = arg;

	if (change == SKIFF_MODIFIED &&
	    json_equal(json_object_get(json_object_get(old, "metadata"), "labels"),
		       json_object_get(json_object_get(node, "metadata"), "labels")) &&
	    json_equal(json_object_get(json_object_get(old, "spec"), "taints"),
		       json_object_get(json_object_get(node, "spec"), "taints")))
		return;
	queue_all(d);
}

static void rev_changed(enum skiff_change change, const json_t *old,
			const json_t *rev, void *arg)
{
	struct ds_ctl *d = arg;

	(void)change;
	(void)old;
	/* Only its owner's; a revision without one is no set's business. */
	if (skiff_controller_uid(rev))
		cm_queue_owners(d->q, d->sets, rev, NULL);
}

/* ---- writes -------------------------------------------------------------- */

static void delete_pod(struct look *l, const json_t *pod, bool force)
{
	json_t *opts = force ? json_pack("{s:s, s:s, s:i}", "apiVersion", "v1",
					 "kind", "DeleteOptions",
					 "gracePeriodSeconds", 0) : NULL;

	if (l->writes++ >= BURST)
		return;
	cm_write(l->d->cm, l->d->q, l->key, l->d->pods, "DELETE",
		 skiff_path(&skiff_pods, l->ns, skiff_meta(pod, "name"), NULL),
		 NULL, opts);
	json_decref(opts);
}

/* A pod of the template bound to @node. */
static void create_pod(struct look *l, const char *node)
{
	json_t *meta = json_deep_copy(json_object_get(l->tmpl, "metadata"));
	json_t *spec = json_deep_copy(json_object_get(l->tmpl, "spec"));
	json_t *labels, *affinity, *pod;
	char prefix[300];

	if (l->writes++ >= BURST)
		goto out;
	if (!json_is_object(meta)) {
		json_decref(meta);
		meta = json_object();
	}
	labels = json_object_get(meta, "labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(meta, "labels", labels);
	}
	json_object_set_new(labels, HASH_LABEL, json_string(l->hash));
	snprintf(prefix, sizeof(prefix), "%s-", skiff_meta(l->ds, "name"));
	json_object_del(meta, "name");
	json_object_set_new(meta, "generateName", json_string(prefix));
	json_object_set_new(meta, "namespace", json_string(l->ns));
	json_object_set_new(meta, "ownerReferences",
			    json_pack("[o]", cm_owner_ref(l->ds)));
	json_object_set_new(spec, "nodeName", json_string(node));
	affinity = json_object_get(spec, "affinity");
	if (!json_is_object(affinity)) {
		affinity = json_object();
		json_object_set_new(spec, "affinity", affinity);
	}
	if (!json_is_object(json_object_get(affinity, "nodeAffinity")))
		json_object_set_new(affinity, "nodeAffinity", json_object());
	json_object_set_new(json_object_get(affinity, "nodeAffinity"),
			    "requiredDuringSchedulingIgnoredDuringExecution",
			    json_pack("{s:[{s:[{s:s, s:s, s:[s]}]}]}",
				      "nodeSelectorTerms", "matchFields",
				      "key", "metadata.name", "operator", "In",
				      "values", node));
	pod = json_pack("{s:s, s:s, s:O, s:O}", "apiVersion", "v1",
			"kind", "Pod", "metadata", meta, "spec", spec);
	cm_write(l->d->cm, l->d->q, l->key, l->d->pods, "POST",
		 skiff_path(&skiff_pods, l->ns, NULL, NULL), NULL, pod);
	json_decref(pod);
out:
	json_decref(meta);
	json_decref(spec);
}

static void patch_owner(struct look *l, const json_t *pod, json_t *refs)
{
	json_t *patch = json_pack("{s:{s:o, s:s?}}", "metadata",
				  "ownerReferences", refs, "resourceVersion",
				  skiff_meta(pod, "resourceVersion"));

	l->writes++;
	cm_write(l->d->cm, l->d->q, l->key, l->d->pods, "PATCH",
		 skiff_path(&skiff_pods, l->ns, skiff_meta(pod, "name"), NULL),
		 "application/merge-patch+json", patch);
	json_decref(patch);
}

/* ---- pods ---------------------------------------------------------------- */

static const char *hash_of(const json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"),
								 "labels"),
						 HASH_LABEL));
}

static bool is_new(struct look *l, const json_t *pod)
{
	return !strcmp(hash_of(pod) ?: "", l->hash);
}

/* Ready for minReadySeconds (Kubernetes' IsPodAvailable). */
static bool available(struct look *l, const json_t *pod)
{
	double since = -1, left;

	if (!skiff_pod_ready(pod, &since))
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

/* Oldest first; by name when created in the same second. */
static int older(const json_t *a, const json_t *b)
{
	return strcmp(skiff_meta(a, "creationTimestamp") ?: "",
		      skiff_meta(b, "creationTimestamp") ?: "") ?:
	       strcmp(skiff_meta(a, "name") ?: "", skiff_meta(b, "name") ?: "");
}

static void add_to_node(struct look *l, const char *node, const json_t *pod)
{
	json_t *list = json_object_get(l->by_node, node);
	size_t i;

	if (!list) {
		list = json_array();
		json_object_set_new(l->by_node, node, list);
	}
	for (i = 0; i < json_array_size(list); i++)
		if (older(pod, json_array_get(list, i)) < 0)
			break;
	json_array_insert(list, i, (json_t *)pod);
}

/*
 * The set's pods by node, adopting orphans and releasing strays; those
 * bound to nodes that are gone are deleted.
 */
static void claim(struct look *l)
{
	const json_t *pods = skiff_informer_indexed(l->d->pods, CM_BY_NAMESPACE,
						    l->ns), *pod;
	const char *pkey, *node;

	json_object_foreach((json_t *)pods, pkey, pod) {
		const char *owner = skiff_controller_uid(pod);
		bool match = cm_selects(l->ds, pod);
		json_t *refs;

		if (owner && !cm_controlled_by(pod, l->ds))
			continue;
		if (owner && !match) {
			patch_owner(l, pod, json_array());
			continue;
		}
		if (!match)
			continue;
		if (!owner) {
			if (skiff_deleting(pod))
				continue;
			refs = json_deep_copy(json_object_get(json_object_get(pod, "metadata"),
							      "ownerReferences"));
			if (!refs)
				refs = json_array();
			json_array_append_new(refs, cm_owner_ref(l->ds));
			patch_owner(l, pod, refs);
		}
		node = target_node(pod);
		if (!node)
			continue;
		if (!skiff_informer_get(l->d->nodes, NULL, node)) {
			delete_pod(l, pod, true);
			continue;
		}
		if (skiff_deleting(pod) && skiff_pod_finished(pod))
			continue;
		add_to_node(l, node, pod);
	}
}

/* A failed pod on @node may be replaced now; else when to look again. */
static bool backoff_over(struct look *l, const char *node)
{
	char key[600];
	const json_t *b;
	int64_t now = skiff_now_ms(), delay = BACKOFF_MS_MIN, last, left;

	snprintf(key, sizeof(key), "%s/%s", l->key, node);
	b = json_object_get(l->d->backoff, key);
	if (b) {
		delay = json_integer_value(json_array_get(b, 0));
		last = json_integer_value(json_array_get(b, 1));
		left = last + delay - now;
		if (left > 0) {
			skiff_queue_add_after(l->d->q, l->key, left);
			return false;
		}
		/* Quiet for long: starts over. */
		delay = now - last > 2 * BACKOFF_MS_MAX ? BACKOFF_MS_MIN :
			delay * 2 > BACKOFF_MS_MAX ? BACKOFF_MS_MAX : delay * 2;
	}
	json_object_set_new(l->d->backoff, key,
			    json_pack("[I, I]", (json_int_t)delay,
				      (json_int_t)now));
	return true;
}

/* Kubernetes' podsShouldBeOnNode, for one node. */
static void manage_node(struct look *l, const json_t *node, bool run,
			bool keep)
{
	const char *name = skiff_meta(node, "name");
	const json_t *pods = json_object_get(l->by_node, name), *pod;
	const json_t *oldest_new = NULL, *oldest_old = NULL;
	json_t *running = json_array();
	size_t i;

	if (run && !pods) {
		create_pod(l, name);
	} else if (keep) {
		json_array_foreach(pods, i, pod) {
			const char *phase = skiff_str(pod, "status.phase") ?: "";

			if (skiff_deleting(pod))
				continue;
			if (!strcmp(phase, "Failed")) {
				if (backoff_over(l, name))
					delete_pod(l, pod, false);
			} else if (!strcmp(phase, "Succeeded")) {
				delete_pod(l, pod, false);
			} else {
				json_array_append(running, (json_t *)pod);
			}
		}
		/*
		 * One pod per node, the oldest; while surging, the oldest new
		 * one and, until it is available, the oldest old one.
		 */
		json_array_foreach(running, i, pod) {
			if (!l->max_surge) {
				if (i)
					delete_pod(l, pod, false);
			} else if (is_new(l, pod) && !oldest_new) {
				oldest_new = pod;
			} else if (!is_new(l, pod) && !oldest_old) {
				oldest_old = pod;
			} else {
				delete_pod(l, pod, false);
			}
		}
		if (oldest_new && oldest_old &&
		    (!skiff_pod_ready(oldest_old, NULL) ||
		     available(l, oldest_new)))
			delete_pod(l, oldest_old, false);
	} else {
		json_array_foreach(pods, i, pod)
			if (!skiff_deleting(pod))
				delete_pod(l, pod, false);
	}
	json_decref(running);
}

/* The node's pod of the current template and its older one. */
static bool pods_on_node(struct look *l, const json_t *pods,
			 const json_t **new_pod, const json_t **old_pod)
{
	const json_t *pod;
	size_t i;

	*new_pod = *old_pod = NULL;
	json_array_foreach(pods, i, pod) {
		const json_t **slot = is_new(l, pod) ? new_pod : old_pod;

		if (skiff_deleting(pod))
			continue;
		if (*slot)
			return false;	/* two: the next look cleans up */
		*slot = pod;
	}
	return true;
}

/*
 * Kubernetes' rollingUpdate, over the nodes that have pods of the set or
 * should (@want: name -> true).
 */
static void rolling_update(struct look *l, const json_t *want)
{
	json_t *cands = json_array(), *now = json_array();
	json_t *nodes = json_deep_copy(want);
	const json_t *new_pod, *old_pod, *v;
	int unavailable = 0, surging = 0, budget;
	const char *name;
	size_t i;

	json_object_foreach(l->by_node, name, v)
		json_object_set_new(nodes, name, json_true());
	json_object_foreach(nodes, name, v) {
		const json_t *pods = json_object_get(l->by_node, name);

		if (!pods_on_node(l, pods, &new_pod, &old_pod)) {
			unavailable++;
			surging++;
			continue;
		}
		if (!l->max_surge) {
			if (!new_pod == !old_pod)
				unavailable++;	/* missing, or being replaced */
			else if (new_pod)
				unavailable += !available(l, new_pod);
			else if (!available(l, old_pod))
				json_array_append(now, (json_t *)old_pod);
			else if (unavailable < l->max_unavail)
				json_array_append(cands, (json_t *)old_pod);
			continue;
		}
		if (!old_pod)
			continue;
		if (!new_pod) {
			/* An old pod not available is replaced at once. */
			if (!available(l, old_pod))
				json_array_append_new(now, json_string(name));
			else if (surging < l->max_surge)
				json_array_append_new(cands, json_string(name));
		} else if (!available(l, new_pod)) {
			surging++;
		} else {
			delete_pod(l, old_pod, false);
		}
	}
	budget = (l->max_surge ? l->max_surge - surging :
		  l->max_unavail - unavailable);
	for (i = 0; (int)i < budget && i < json_array_size(cands); i++)
		json_array_append(now, json_array_get(cands, i));
	json_array_foreach(now, i, v) {
		if (l->max_surge)
			create_pod(l, json_string_value(v));
		else
			delete_pod(l, v, false);
	}
	json_decref(cands);
	json_decref(now);
	json_decref(nodes);
}

/* ---- status -------------------------------------------------------------- */

static void update_status(struct look *l, const json_t *want)
{
	const json_t *st = json_object_get(l->ds, "status"), *pods, *pod;
	json_int_t gen = skiff_int(l->ds, "metadata.generation", 0);
	int current = 0, misscheduled = 0, ready = 0, avail = 0, updated = 0;
	const char *name;
	json_t *patch;

	json_object_foreach(l->by_node, name, pods) {
		if (!json_array_size(pods))
			continue;
		if (!json_object_get(want, name)) {
			misscheduled++;
			continue;
		}
		current++;
		pod = json_array_get(pods, 0);
		if (skiff_pod_ready(pod, NULL)) {
			ready++;
			avail += available(l, pod);
		}
		updated += is_new(l, pod);
	}
	if (skiff_int(st, "desiredNumberScheduled", -1) == l->desired &&
	    skiff_int(st, "currentNumberScheduled", 0) == current &&
	    skiff_int(st, "numberMisscheduled", 0) == misscheduled &&
	    skiff_int(st, "numberReady", 0) == ready &&
	    skiff_int(st, "numberAvailable", 0) == avail &&
	    skiff_int(st, "numberUnavailable", 0) == l->desired - avail &&
	    skiff_int(st, "updatedNumberScheduled", 0) == updated &&
	    skiff_int(st, "observedGeneration", -1) == gen)
		return;
	patch = json_pack("{s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:I, s:I}}",
			  "status", "desiredNumberScheduled", l->desired,
			  "currentNumberScheduled", current,
			  "numberMisscheduled", misscheduled,
			  "numberReady", ready, "numberAvailable", avail,
			  "numberUnavailable", l->desired - avail,
			  "updatedNumberScheduled", updated,
			  "observedGeneration", gen,
			  "collisionCount", skiff_int(st, "collisionCount", 0));
	cm_patch_status(l->d->cm, l->d->q, l->key, l->d->sets, l->ds, patch);
	json_decref(patch);
}

/* Revisions whose hash a pod carries are kept, and the current one. */
static void truncate_history(struct look *l, const json_t *upd)
{
	const json_t *owned = skiff_informer_indexed(l->d->revs, CM_BY_CONTROLLER,
						     skiff_meta(l->ds, "uid") ?: "");
	json_t *hashes = json_object(), *live = json_object();
	const json_t *pods, *pod, *rev;
	const char *name, *hash;
	size_t i;

	json_object_foreach(l->by_node, name, pods)
		json_array_foreach(pods, i, pod) {
			hash = hash_of(pod);
			if (hash)
				json_object_set_new(hashes, hash, json_true());
		}
	json_object_set_new(live, skiff_meta(upd, "name"), json_true());
	json_object_foreach((json_t *)owned, name, rev) {
		hash = hash_of(rev);
		if (hash && json_object_get(hashes, hash))
			json_object_set_new(live, skiff_meta(rev, "name"),
					    json_true());
	}
	cm_revision_truncate(l->d->cm, l->d->q, l->key, l->d->revs, l->ds,
			     live);
	json_decref(hashes);
	json_decref(live);
}

/* ---- reconcile ----------------------------------------------------------- */

/* An int-or-percent of @total (rounded up), @dflt when absent or bad. */
static int scaled(const json_t *v, int total, int dflt)
{
	const char *s = json_string_value(v);
	char *end;
	long pct;

	if (json_is_integer(v))
		return (int)json_integer_value(v);
	if (!s)
		return dflt;
	pct = strtol(s, &end, 10);
	if (end == s || strcmp(end, "%") || pct < 0)
		return dflt;
	return (int)((pct * total + 99) / 100);
}

static int look_init(struct look *l, const json_t *ds)
{
	const json_t *spec = json_object_get(ds, "spec");
	struct skiff_selector *sel = cm_selector(ds, "daemonset", l->key);

	if (!sel)
		return -1;
	skiff_selector_free(sel);
	l->ds = ds;
	l->ns = skiff_meta(ds, "namespace");
	l->min_ready = skiff_int(spec, "minReadySeconds", 0);
	l->now = (double)time(NULL);
	l->wait = -1;
	l->rolling = strcmp(skiff_str(spec, "updateStrategy.type") ?: "",
			    "OnDelete");
	l->by_node = json_object();
	return l->by_node ? 0 : -1;
}

static void reconcile(const char *key, void *arg)
{
	struct ds_ctl *d = arg;
	const json_t *ds = json_object_get(skiff_informer_all(d->sets), key);
	const json_t *upd, *node, *ru;
	struct look l = { .d = d, .key = key };
	json_t *want = NULL, *runs = NULL;
	const char *name;
	bool collision, run, keep;

	/* A DaemonSet being deleted is the garbage collector's. */
	if (!ds || skiff_deleting(ds) || look_init(&l, ds))
		return;
	upd = cm_revision_sync(d->cm, d->q, key, d->revs, ds, HASH_LABEL,
			       &collision);
	if (!upd) {
		if (collision)
			cm_bump_collisions(d->cm, d->q, key, d->sets, ds);
		goto out;
	}
	l.hash = hash_of(upd) ?: "";
	l.tmpl = cm_revision_template(upd);
	if (!json_is_object(json_object_get(l.tmpl, "spec")))
		json_object_set_new(l.tmpl, "spec", json_object());
	add_daemon_tolerations(json_object_get(l.tmpl, "spec"));
	claim(&l);

	want = json_object();
	runs = json_object();
	json_object_foreach((json_t *)skiff_informer_all(d->nodes), name, node) {
		should_run(json_object_get(l.tmpl, "spec"), node, &run, &keep);
		if (run)
			json_object_set_new(want, name, json_true());
		json_object_set_new(runs, name, json_pack("[b, b]", run, keep));
	}
	l.desired = (int)json_object_size(want);
	ru = json_object_get(json_object_get(json_object_get(ds, "spec"),
					     "updateStrategy"),
			     "rollingUpdate");
	if (l.rolling) {
		l.max_surge = scaled(json_object_get(ru, "maxSurge"), l.desired, 0);
		l.max_unavail = scaled(json_object_get(ru, "maxUnavailable"),
				       l.desired, 1);
		if (l.desired && !l.max_surge && !l.max_unavail)
			l.max_unavail = 1;
	}
	json_object_foreach((json_t *)skiff_informer_all(d->nodes), name, node)
		manage_node(&l, node,
			    json_is_true(json_array_get(json_object_get(runs, name), 0)),
			    json_is_true(json_array_get(json_object_get(runs, name), 1)));
	/* Updates once the pods follow the nodes (their writes answered). */
	if (!l.writes && l.rolling)
		rolling_update(&l, want);
	update_status(&l, want);
	truncate_history(&l, upd);
	if (l.wait >= 0)
		skiff_queue_add_after(d->q, key, (int64_t)(l.wait * 1000) + 100);
out:
	json_decref(l.tmpl);
	json_decref(l.by_node);
	json_decref(want);
	json_decref(runs);
}

static int daemonset_start(struct cm *cm)
{
	struct ds_ctl *d = &ds_ctl;

	d->cm = cm;
	d->sets = cm_informer(cm, &skiff_daemonsets);
	d->pods = cm_informer(cm, &skiff_pods);
	d->nodes = cm_informer(cm, &skiff_nodes);
	d->revs = cm_informer(cm, &skiff_controllerrevisions);
	d->q = cm_queue(cm, reconcile, d);
	d->backoff = json_object();
	if (!d->sets || !d->pods || !d->nodes || !d->revs || !d->q ||
	    !d->backoff ||
	    skiff_informer_on_change(d->sets, cm_queue_object, d->q) ||
	    skiff_informer_on_change(d->pods, pod_changed, d) ||
	    skiff_informer_on_change(d->nodes, node_changed, d) ||
	    skiff_informer_on_change(d->revs, rev_changed, d))
		return -1;
	return 0;
}

CM_CONTROLLER(daemonset, daemonset_start)
