// SPDX-License-Identifier: GPL-2.0
/*
 * The Deployment controller: runs a Deployment's pods through ReplicaSets,
 * one per pod template, as kube-controller-manager does, so that kubectl's
 * rollout commands work unchanged.
 *
 * - ReplicaSets are named DEPLOYMENT-HASH, HASH from the pod template (and
 *   status.collisionCount), and carry the label pod-template-hash=HASH on
 *   their selector, template and metadata. The ReplicaSet whose template
 *   equals the Deployment's (ignoring that label, and null/empty fields as
 *   Go's types do) is the new one; the others are old. It adopts orphan
 *   ReplicaSets its selector matches and releases owned ones it does not.
 * - RollingUpdate: the new ReplicaSet grows while all ReplicaSets together
 *   stay within replicas + maxSurge (rounded up from a percentage); old ones
 *   shrink while the available pods stay at least replicas - maxUnavailable
 *   (rounded down); if both round to 0, maxUnavailable is 1. Unhealthy old
 *   pods go first. One deviation, on the safe side: a ReplicaSet counts as
 *   the larger of its spec and its status.replicas, so the surge bound holds
 *   for the pods themselves, not only for the ReplicaSets' specs, and an old
 *   ReplicaSet's availability is capped at its spec.
 * - Recreate: old ReplicaSets go to 0, and only once their pods are gone
 *   (deleted, not just terminating) is the new one created at full size.
 * - Revisions: deployment.kubernetes.io/revision on each ReplicaSet and on
 *   the Deployment; a template that goes back to an old ReplicaSet's (what
 *   `kubectl rollout undo` patches in) makes that ReplicaSet the new one
 *   again, with the next revision (its old ones in revision-history).
 *   Beyond spec.revisionHistoryLimit, the oldest empty ReplicaSets go.
 * - spec.paused: no rollout (no new ReplicaSet, no step), but scaling and
 *   the history cleanup still happen. A change of spec.replicas while pods
 *   of several ReplicaSets run is spread over them in proportion to their
 *   sizes (deployment.kubernetes.io/desired-replicas and max-replicas on
 *   each ReplicaSet record the size it was scaled for).
 * - Status: the counters kubectl reads, and the conditions Available and
 *   Progressing (NewReplicaSetCreated, FoundNewReplicaSet,
 *   ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded when
 *   nothing moved for progressDeadlineSeconds, DeploymentPaused/Resumed).
 *
 * A look at a Deployment sends the writes of one step and ends; the key
 * rests until they are answered, and the next look, on caches that hold
 * their results, takes the next step.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm.h"
#include "selector.h"

#define ANN_REVISION "deployment.kubernetes.io/revision"
#define ANN_HISTORY "deployment.kubernetes.io/revision-history"
#define ANN_DESIRED "deployment.kubernetes.io/desired-replicas"
#define ANN_MAX "deployment.kubernetes.io/max-replicas"
#define HASH_LABEL "pod-template-hash"
#define HISTORY_MAX_CHARS 2000
#define COMPONENT "deployment-controller"

#define PROGRESSING "Progressing"
#define AVAILABLE "Available"
#define NEW_RS_AVAILABLE "NewReplicaSetAvailable"
#define TIMED_OUT "ProgressDeadlineExceeded"
#define PAUSED "DeploymentPaused"

struct deploy_ctl {
	struct cm *cm;
	struct skiff_informer *deploys, *rs, *pods;
	struct skiff_queue *q;
	json_t *timers;		/* key -> when a deadline look is due (ms) */
};

static struct deploy_ctl deploy_ctl;

/* One look at one Deployment. */
struct pass {
	struct deploy_ctl *c;
	const char *key;
	const json_t *d, *spec;
	const char *ns, *name;
	int replicas, surge, unavail;
	bool rolling;
	json_t *tmpl;		/* the template as compared (normalized) */
	const json_t **rs;	/* owned ReplicaSets, oldest first */
	int *plan;		/* spec.replicas each is to have */
	bool *touch;		/* and rewrite its size annotations anyway */
	size_t n;
	int new_rs;		/* index in rs, or -1 */
	json_t *status;		/* the status being made */
	bool wrote;		/* ReplicaSet writes sent: the rest waits */
	bool growing;		/* scale(): replicas are added */
	char now[40];
};

/* ---- small readers --------------------------------------------------- */

static const char *annotation(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(obj,
										 "metadata"),
								 "annotations"),
						 key));
}

/* An annotation as a number: *@value, true if it is one. */
static bool annotation_int(const json_t *obj, const char *key, long *value)
{
	const char *s = annotation(obj, key);
	char *end;

	if (!s || !*s)
		return false;
	*value = strtol(s, &end, 10);
	return !*end;
}

static long revision(const json_t *rs)
{
	long rev;

	return annotation_int(rs, ANN_REVISION, &rev) ? rev : 0;
}

static int rs_spec(const json_t *rs)
{
	return (int)skiff_int(rs, "spec.replicas", 1);
}

static int rs_status(const json_t *rs, const char *field)
{
	return (int)skiff_int(json_object_get(rs, "status"), field, 0);
}

/* The pods a ReplicaSet may have: its spec, or more while they go. */
static int rs_pods(const json_t *rs)
{
	int spec = rs_spec(rs), have = rs_status(rs, "replicas");

	return spec > have ? spec : have;
}

/* Available pods, never more than the spec (a status may lag a scale-down). */
static int rs_available(const json_t *rs, int spec)
{
	int avail = rs_status(rs, "availableReplicas");

	return avail < spec ? avail : spec;
}

/* An intstr (3 or "25%") of @total; -1 if malformed. */
static int scaled_value(const json_t *v, const char *dflt, int total, bool up)
{
	const char *s = json_is_string(v) ? json_string_value(v) : dflt;
	size_t len;
	long long pct;

	if (json_is_integer(v))
		return (int)json_integer_value(v);
	len = strlen(s);
	if (len < 2 || len > 10 || s[len - 1] != '%' ||
	    strspn(s, "0123456789") != len - 1)
		return -1;
	pct = strtoll(s, NULL, 10) * total;
	return (int)(up ? (pct + 99) / 100 : pct / 100);
}

/* Kubernetes' ResolveFenceposts, MaxSurge and MaxUnavailable. */
static int fenceposts(struct pass *p)
{
	const json_t *ru = json_object_get(json_object_get(p->spec, "strategy"),
					   "rollingUpdate");

	p->surge = 0;
	p->unavail = 0;
	if (!p->rolling)
		return 0;
	p->surge = scaled_value(json_object_get(ru, "maxSurge"), "25%",
				p->replicas, true);
	p->unavail = scaled_value(json_object_get(ru, "maxUnavailable"), "25%",
				  p->replicas, false);
	if (p->surge < 0 || p->unavail < 0)
		return -1;
	if (!p->surge && !p->unavail)
		p->unavail = 1;
	if (p->unavail > p->replicas)
		p->unavail = p->replicas;
	return 0;
}

/*
 * A template as Go's types see it: null, {} and [] are as good as absent
 * (kubectl's round trip through them adds "creationTimestamp": null and
 * "resources": {}). NULL when nothing is left.
 */
static json_t *normalized(const json_t *v)
{
	json_t *out, *item, *n;
	const char *k;
	size_t i;

	if (json_is_null(v))
		return NULL;
	if (json_is_object(v)) {
		out = json_object();
		json_object_foreach((json_t *)v, k, item) {
			n = normalized(item);
			if (n)
				json_object_set_new(out, k, n);
		}
	} else if (json_is_array(v)) {
		out = json_array();
		json_array_foreach(v, i, item)
			json_array_append_new(out, normalized(item) ?: json_null());
	} else {
		return json_incref((json_t *)v);
	}
	if (json_is_object(out) ? json_object_size(out) : json_array_size(out))
		return out;
	json_decref(out);
	return NULL;
}

/* The template compared with others: normalized, without the hash label. */
static json_t *template_key(const json_t *tmpl)
{
	json_t *copy = json_deep_copy(tmpl), *n;

	json_object_del(json_object_get(json_object_get(copy, "metadata"),
					"labels"), HASH_LABEL);
	n = normalized(copy);
	json_decref(copy);
	return n ?: json_object();
}

static bool same_template(const json_t *rs, const json_t *key)
{
	json_t *k = template_key(json_object_get(json_object_get(rs, "spec"),
						 "template"));
	bool same = json_equal(k, key);

	json_decref(k);
	return same;
}

/*
 * The pod-template-hash: FNV-1a (32 bits) of the template and the
 * collision count, its decimal digits spelled in Kubernetes' safe alphabet
 * (no vowels, no look-alikes), as ComputeHash does.
 */
static void template_hash(const json_t *key, const json_t *collisions,
			  char *out, size_t len)
{
	static const char safe[] = "bcdfghjklmnpqrstvwxz2456789";
	char *text = json_dumps(key, JSON_COMPACT | JSON_SORT_KEYS);
	uint32_t h = 2166136261u, cc;
	char digits[16];
	size_t i;

	for (i = 0; text && text[i]; i++)
		h = (h ^ (unsigned char)text[i]) * 16777619u;
	free(text);
	if (json_is_integer(collisions)) {
		cc = (uint32_t)json_integer_value(collisions);
		for (i = 0; i < 4; i++)
			h = (h ^ ((cc >> (8 * i)) & 0xff)) * 16777619u;
	}
	snprintf(digits, sizeof(digits), "%u", h);
	for (i = 0; digits[i] && i + 1 < len; i++)
		out[i] = safe[(unsigned char)digits[i] % (sizeof(safe) - 1)];
	out[i] = '\0';
}

/* ---- conditions -------------------------------------------------------- */

static json_t *condition(const json_t *status, const char *type)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(status, "conditions"), i, c)
		if (!strcmp(json_string_value(json_object_get(c, "type")) ?: "",
			    type))
			return c;
	return NULL;
}

static const char *cond_str(const json_t *c, const char *field)
{
	return json_string_value(json_object_get(c, field)) ?: "";
}

static void remove_condition(json_t *status, const char *type)
{
	json_t *conds = json_object_get(status, "conditions"), *c;
	size_t i;

	json_array_foreach(conds, i, c)
		if (!strcmp(cond_str(c, "type"), type)) {
			json_array_remove(conds, i);
			return;
		}
}

/*
 * Kubernetes' SetDeploymentCondition: nothing changes when status and
 * reason are the same (unless @force); lastTransitionTime stays while the
 * status does.
 */
static void set_condition(struct pass *p, const char *type, const char *st,
			  const char *reason, const char *msg, bool force)
{
	json_t *cur = condition(p->status, type), *conds;
	const char *since = p->now;
	json_t *c;

	if (cur && !force && !strcmp(cond_str(cur, "status"), st) &&
	    !strcmp(cond_str(cur, "reason"), reason))
		return;
	if (cur && !strcmp(cond_str(cur, "status"), st) &&
	    *cond_str(cur, "lastTransitionTime"))
		since = cond_str(cur, "lastTransitionTime");
	c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type,
		      "status", st, "lastUpdateTime", p->now,
		      "lastTransitionTime", since, "reason", reason,
		      "message", msg);
	remove_condition(p->status, type);
	conds = json_object_get(p->status, "conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(p->status, "conditions", conds);
	}
	json_array_append_new(conds, c);
}

static bool has_deadline(const struct pass *p)
{
	const json_t *v = json_object_get(p->spec, "progressDeadlineSeconds");

	return json_is_integer(v) && json_integer_value(v) < 2147483647;
}

/* ---- writes ------------------------------------------------------------ */

static void send_patch(struct pass *p, struct skiff_informer *inf,
		       const struct skiff_kind *kind, const json_t *obj,
		       const char *sub, json_t *body)
{
	cm_write(p->c->cm, p->c->q, p->key, inf, "PATCH",
		 skiff_path(kind, skiff_meta(obj, "namespace"),
			    skiff_meta(obj, "name"), sub),
		 "application/merge-patch+json", body);
	json_decref(body);
}

static void set_owner_refs(struct pass *p, const json_t *rs, json_t *refs)
{
	json_t *body = json_pack("{s:{s:o, s:s?}}", "metadata",
				 "ownerReferences", refs, "resourceVersion",
				 skiff_meta(rs, "resourceVersion"));

	send_patch(p, p->c->rs, &skiff_replicasets, rs, NULL, body);
}

/* The ReplicaSet's ownerReferences, without those to @uid. */
static json_t *refs_without(const json_t *rs, const char *uid)
{
	const json_t *refs = json_object_get(json_object_get(rs, "metadata"),
					     "ownerReferences"), *ref;
	json_t *out = json_array();
	size_t i;

	json_array_foreach(refs, i, ref)
		if (strcmp(cond_str(ref, "uid"), uid))
			json_array_append(out, (json_t *)ref);
	return out;
}

static void set_deployment_revision(struct pass *p, long rev)
{
	char text[24];

	snprintf(text, sizeof(text), "%ld", rev);
	if (!strcmp(annotation(p->d, ANN_REVISION) ?: "", text))
		return;
	send_patch(p, p->c->deploys, &skiff_deployments, p->d, NULL,
		   json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
			     ANN_REVISION, text));
}

/* Writes the ReplicaSets whose plan differs from what they have. */
static void apply_plan(struct pass *p)
{
	char desired[16], max[16];
	const json_t *rs;
	json_t *body;
	long have_d, have_m;
	bool stale;
	int cur, n;
	size_t i;

	snprintf(desired, sizeof(desired), "%d", p->replicas);
	snprintf(max, sizeof(max), "%d", p->replicas + p->surge);
	for (i = 0; i < p->n; i++) {
		rs = p->rs[i];
		cur = rs_spec(rs);
		n = p->plan[i];
		stale = !annotation_int(rs, ANN_DESIRED, &have_d) ||
			have_d != p->replicas ||
			!annotation_int(rs, ANN_MAX, &have_m) ||
			have_m != p->replicas + p->surge;
		if (n == cur && !(p->touch[i] && stale))
			continue;
		body = json_pack("{s:{s:{s:s, s:s}, s:s?}, s:{s:i}}", "metadata",
				 "annotations", ANN_DESIRED, desired, ANN_MAX, max,
				 "resourceVersion", skiff_meta(rs, "resourceVersion"),
				 "spec", "replicas", n);
		send_patch(p, p->c->rs, &skiff_replicasets, rs, NULL, body);
		if (n != cur)
			skiff_client_event(p->c->cm->c, p->d, "Normal",
					   "ScalingReplicaSet", COMPONENT,
					   "Scaled %s replica set %s from %d to %d",
					   n > cur ? "up" : "down",
					   skiff_meta(rs, "name"), cur, n);
		p->wrote = true;
	}
}

/* ---- the ReplicaSets ----------------------------------------------------- */

static int by_creation(const void *a, const void *b)
{
	const json_t *ra = *(const json_t *const *)a;
	const json_t *rb = *(const json_t *const *)b;

	return strcmp(skiff_meta(ra, "creationTimestamp") ?: "",
		      skiff_meta(rb, "creationTimestamp") ?: "") ?:
	       strcmp(skiff_meta(ra, "name") ?: "", skiff_meta(rb, "name") ?: "");
}

/*
 * The ReplicaSets of the Deployment: owned ones its selector matches,
 * orphans it matches (adopted), owned ones it no longer matches
 * (released). The number of adoptions and releases sent, or -1.
 */
static int claim(struct pass *p, const struct skiff_selector *sel)
{
	const json_t *all = skiff_informer_indexed(p->c->rs, CM_BY_NAMESPACE,
						   p->ns), *rs;
	const char *uid = skiff_meta(p->d, "uid") ?: "", *key, *owner;
	size_t size = json_object_size(all) + 1;
	json_t *refs;
	int sent = 0;
	bool match;
	size_t i;

	p->rs = calloc(size, sizeof(*p->rs));
	p->plan = calloc(size, sizeof(*p->plan));
	p->touch = calloc(size, sizeof(*p->touch));
	if (!p->rs || !p->plan || !p->touch)
		return -1;
	json_object_foreach((json_t *)all, key, rs) {
		owner = skiff_controller_uid(rs);
		match = skiff_selector_match_labels(sel,
						    json_object_get(json_object_get(rs, "metadata"),
								    "labels"));
		if (owner && strcmp(owner, uid))
			continue;
		if (owner && match) {
			p->rs[p->n++] = rs;
		} else if (owner && !skiff_deleting(rs)) {
			set_owner_refs(p, rs, refs_without(rs, uid));
			sent++;
		} else if (!owner && match && !skiff_deleting(rs) &&
			   !skiff_deleting(p->d)) {
			refs = refs_without(rs, uid);
			json_array_append_new(refs, cm_owner_ref(p->d));
			set_owner_refs(p, rs, refs);
			sent++;
		}
	}
	qsort(p->rs, p->n, sizeof(*p->rs), by_creation);
	for (i = 0; i < p->n; i++)
		p->plan[i] = rs_spec(p->rs[i]);
	return sent;
}

/* The oldest ReplicaSet with the Deployment's template. */
static int find_new(const struct pass *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (same_template(p->rs[i], p->tmpl))
			return (int)i;
	return -1;
}

static long max_old_revision(const struct pass *p)
{
	long max = 0;
	size_t i;

	for (i = 0; i < p->n; i++)
		if ((int)i != p->new_rs && revision(p->rs[i]) > max)
			max = revision(p->rs[i]);
	return max;
}

static bool skip_annotation(const char *k)
{
	return !strcmp(k, "kubectl.kubernetes.io/last-applied-configuration") ||
	       !strcmp(k, ANN_REVISION) || !strcmp(k, ANN_HISTORY) ||
	       !strcmp(k, ANN_DESIRED) || !strcmp(k, ANN_MAX) ||
	       !strcmp(k, "deprecated.deployment.rollback.to");
}

/* @old appended to the revision history @hist, the oldest dropped to fit. */
static char *history_with(const char *hist, const char *old)
{
	size_t len = strlen(hist) + strlen(old) + 2;
	char *out = malloc(len), *start;

	if (!out)
		return NULL;
	snprintf(out, len, "%s%s%s", hist, *hist ? "," : "", old);
	start = out;
	while (strlen(start) > HISTORY_MAX_CHARS && strchr(start, ','))
		start = strchr(start, ',') + 1;
	memmove(out, start, strlen(start) + 1);
	return out;
}

/*
 * What the new ReplicaSet's annotations lack (Kubernetes'
 * SetNewReplicaSetAnnotations): the Deployment's own annotations, the
 * revision @rev if it is behind (its old one into the history), and, for
 * one being made, the sizes. NULL if nothing.
 */
static json_t *new_rs_annotations(const struct pass *p, const json_t *rs,
				  long rev, bool exists)
{
	const json_t *have = json_object_get(json_object_get(rs, "metadata"),
					     "annotations");
	const json_t *mine = json_object_get(json_object_get(p->d, "metadata"),
					     "annotations");
	const char *k, *old = json_string_value(json_object_get(have, ANN_REVISION));
	json_t *want = json_object(), *v;
	long old_rev = 0;
	char text[24], *hist;

	json_object_foreach((json_t *)mine, k, v)
		if (!skip_annotation(k) && !json_equal(json_object_get(have, k), v))
			json_object_set(want, k, v);
	if (old && *old && !annotation_int(rs, ANN_REVISION, &old_rev)) {
		old_rev = rev;	/* not a number: left alone */
		old = NULL;
	}
	if (old_rev < rev) {
		snprintf(text, sizeof(text), "%ld", rev);
		json_object_set_new(want, ANN_REVISION, json_string(text));
		if (old && *old) {
			hist = history_with(json_string_value(json_object_get(have,
									      ANN_HISTORY)) ?: "",
					    old);
			if (hist)
				json_object_set_new(want, ANN_HISTORY, json_string(hist));
			free(hist);
		}
	}
	if (!exists) {
		snprintf(text, sizeof(text), "%d", p->replicas);
		json_object_set_new(want, ANN_DESIRED, json_string(text));
		snprintf(text, sizeof(text), "%d", p->replicas + p->surge);
		json_object_set_new(want, ANN_MAX, json_string(text));
	}
	if (json_object_size(want))
		return want;
	json_decref(want);
	return NULL;
}

/* Kubernetes' NewRSNewReplicas: what a new ReplicaSet of @cur may grow to. */
static int new_rs_size(const struct pass *p, int cur)
{
	int total = 0, max_total, up;
	size_t i;

	if (!p->rolling)
		return p->replicas;
	for (i = 0; i < p->n; i++)
		total += (int)i == p->new_rs ? (rs_pods(p->rs[i]) > cur ?
						rs_pods(p->rs[i]) : cur) :
			 rs_pods(p->rs[i]);
	max_total = p->replicas + p->surge;
	if (total >= max_total)
		return cur;
	up = max_total - total;
	if (up > p->replicas - cur)
		up = p->replicas - cur;
	return cur + up;
}

static void create_new_rs(struct pass *p, long rev)
{
	const json_t *collisions = json_object_get(p->status, "collisionCount");
	json_t *tmpl, *sel, *labels, *ann, *rs;
	char hash[16], name[320];
	const json_t *existing;
	int size;

	template_hash(p->tmpl, collisions, hash, sizeof(hash));
	snprintf(name, sizeof(name), "%s-%s", p->name, hash);
	existing = skiff_informer_get(p->c->rs, p->ns, name);
	if (existing) {
		if (cm_controlled_by(existing, p->d) &&
		    same_template(existing, p->tmpl))
			return;	/* ours, not claimable yet (being deleted?) */
		/* Another template has this name: the next hash. */
		json_object_set_new(p->status, "collisionCount",
				    json_integer(json_integer_value(collisions) + 1));
		p->wrote = true;
		return;
	}
	tmpl = json_deep_copy(json_object_get(p->spec, "template"));
	if (!json_is_object(json_object_get(tmpl, "metadata")))
		json_object_set_new(tmpl, "metadata", json_object());
	labels = json_object_get(json_object_get(tmpl, "metadata"), "labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(json_object_get(tmpl, "metadata"), "labels", labels);
	}
	json_object_set_new(labels, HASH_LABEL, json_string(hash));
	sel = json_deep_copy(json_object_get(p->spec, "selector"));
	if (!json_is_object(json_object_get(sel, "matchLabels")))
		json_object_set_new(sel, "matchLabels", json_object());
	json_object_set_new(json_object_get(sel, "matchLabels"), HASH_LABEL,
			    json_string(hash));
	size = new_rs_size(p, 0);
	rs = json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:[o]}, s:{s:i, s:I, s:o, s:o}}",
		       "apiVersion", "apps/v1", "kind", "ReplicaSet",
		       "metadata", "name", name, "namespace", p->ns,
		       "labels", json_deep_copy(labels),
		       "ownerReferences", cm_owner_ref(p->d),
		       "spec", "replicas", size,
		       "minReadySeconds", skiff_int(p->spec, "minReadySeconds", 0),
		       "selector", sel, "template", tmpl);
	ann = new_rs_annotations(p, rs, rev, false);
	json_object_set_new(json_object_get(rs, "metadata"), "annotations", ann);
	cm_write(p->c->cm, p->c->q, p->key, p->c->rs, "POST",
		 skiff_path(&skiff_replicasets, p->ns, NULL, NULL), NULL, rs);
	json_decref(rs);
	p->wrote = true;
	if (size > 0)
		skiff_client_event(p->c->cm->c, p->d, "Normal", "ScalingReplicaSet",
				   COMPONENT, "Scaled up replica set %s from 0 to %d",
				   name, size);
	set_deployment_revision(p, rev);
	if (has_deadline(p)) {
		char msg[400];

		snprintf(msg, sizeof(msg), "Created new replica set \"%s\"", name);
		set_condition(p, PROGRESSING, "True", "NewReplicaSetCreated", msg,
			      false);
	}
}

/*
 * Kubernetes' getNewReplicaSet: brings the new ReplicaSet's annotations up
 * to date (a write: the pass ends), records its revision on the
 * Deployment, or makes it when @create.
 */
static void sync_new_rs(struct pass *p, bool create)
{
	long rev = max_old_revision(p) + 1;
	const json_t *rs;
	json_t *ann, *body;
	json_int_t min_ready = skiff_int(p->spec, "minReadySeconds", 0);
	char msg[400];

	if (p->new_rs < 0) {
		if (create)
			create_new_rs(p, rev);
		return;
	}
	rs = p->rs[p->new_rs];
	ann = new_rs_annotations(p, rs, rev, true);
	if (ann || skiff_int(rs, "spec.minReadySeconds", 0) != min_ready) {
		body = json_pack("{s:{s:o?, s:s?}, s:{s:I}}", "metadata",
				 "annotations", ann, "resourceVersion",
				 skiff_meta(rs, "resourceVersion"),
				 "spec", "minReadySeconds", min_ready);
		send_patch(p, p->c->rs, &skiff_replicasets, rs, NULL, body);
		p->wrote = true;
		return;
	}
	set_deployment_revision(p, revision(rs));
	if (has_deadline(p) && !condition(p->status, PROGRESSING)) {
		snprintf(msg, sizeof(msg), "Found new replica set \"%s\"",
			 skiff_meta(rs, "name"));
		set_condition(p, PROGRESSING, "True", "FoundNewReplicaSet", msg, false);
	}
}

/* ---- scaling ------------------------------------------------------------- */

static int sum_spec(const struct pass *p, bool old_only)
{
	int sum = 0;
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!old_only || (int)i != p->new_rs)
			sum += p->plan[i];
	return sum;
}

/*
 * Larger first; between equals, newer first when growing, else older
 * first (p->rs is oldest first, so indexes order by age).
 */
static int by_size(const void *a, const void *b, void *arg)
{
	const struct pass *p = arg;
	int ia = *(const int *)a, ib = *(const int *)b;
	int sa = p->plan[ia], sb = p->plan[ib];

	if (sa != sb)
		return sb - sa;
	return p->growing ? ib - ia : ia - ib;
}

/* Kubernetes' getReplicaSetFraction. */
static int fraction(const struct pass *p, int i)
{
	const json_t *rs = p->rs[i];
	long annotated;
	double size;

	if (!p->replicas)
		return -p->plan[i];
	if (!annotation_int(rs, ANN_MAX, &annotated) || !annotated)
		annotated = skiff_int(p->d, "status.replicas", 0);
	if (!annotated)
		return 0;
	size = (double)p->plan[i] * (p->replicas + p->surge) / annotated;
	return (int)(size + 0.5) - p->plan[i];	/* never negative: rounds as Go */
}

/* Kubernetes' scale(): a size change, on paused or not. */
static void scale(struct pass *p)
{
	int active = 0, last = -1, to_add, added = 0, prop, allowed, i;
	int *order;
	const json_t *new = p->new_rs >= 0 ? p->rs[p->new_rs] : NULL;
	long desired;

	for (i = 0; i < (int)p->n; i++)
		if (p->plan[i] > 0) {
			active++;
			last = i;
		}
	/* One active ReplicaSet (or none: the newest) takes it all. */
	if (active <= 1 && p->n) {
		if (!active)
			last = p->new_rs >= 0 ? p->new_rs : (int)p->n - 1;
		if (p->plan[last] != p->replicas) {
			p->plan[last] = p->replicas;
			p->touch[last] = true;
		}
		apply_plan(p);
		return;
	}
	if (!p->n)
		return;
	/* A saturated new ReplicaSet: the old ones go. */
	if (new && rs_spec(new) == p->replicas &&
	    annotation_int(new, ANN_DESIRED, &desired) && desired == p->replicas &&
	    rs_status(new, "availableReplicas") == p->replicas) {
		for (i = 0; i < (int)p->n; i++)
			if (i != p->new_rs)
				p->plan[i] = 0;
		apply_plan(p);
		return;
	}
	if (!p->rolling)
		return;
	/* Spread the change over the active ReplicaSets by their sizes. */
	order = calloc(p->n, sizeof(*order));
	if (!order)
		return;
	active = 0;
	for (i = 0; i < (int)p->n; i++)
		if (p->plan[i] > 0)
			order[active++] = i;
	to_add = (p->replicas > 0 ? p->replicas + p->surge : 0) - sum_spec(p, false);
	p->growing = to_add > 0;
	qsort_r(order, active, sizeof(*order), by_size, p);
	for (i = 0; i < active && to_add; i++) {
		allowed = to_add - added;
		if (!allowed)
			break;
		prop = fraction(p, order[i]);
		if (to_add > 0)
			prop = prop < allowed ? prop : allowed;
		else
			prop = prop > allowed ? prop : allowed;
		p->plan[order[i]] += prop;
		added += prop;
	}
	if (active && to_add) {
		p->plan[order[0]] += to_add - added;
		if (p->plan[order[0]] < 0)
			p->plan[order[0]] = 0;
	}
	for (i = 0; i < active; i++)
		p->touch[order[i]] = true;
	free(order);
	apply_plan(p);
}

/* Kubernetes' isScalingEvent: a ReplicaSet sized for another replicas. */
static bool scaling_event(const struct pass *p)
{
	long desired;
	size_t i;

	for (i = 0; i < p->n; i++)
		if (rs_spec(p->rs[i]) > 0 &&
		    annotation_int(p->rs[i], ANN_DESIRED, &desired) &&
		    desired != p->replicas)
			return true;
	return false;
}

/* ---- cleanup ------------------------------------------------------------- */

static int by_revision(const void *a, const void *b)
{
	const json_t *ra = *(const json_t *const *)a;
	const json_t *rb = *(const json_t *const *)b;
	long va = revision(ra), vb = revision(rb);

	if (va != vb)
		return va < vb ? -1 : 1;
	return by_creation(a, b);
}

/* Old ReplicaSets beyond revisionHistoryLimit go, the oldest first. */
static void cleanup(struct pass *p)
{
	const json_t *limit = json_object_get(p->spec, "revisionHistoryLimit");
	const json_t **old, *rs;
	int n = 0, diff, i;
	size_t j;

	if (!json_is_integer(limit))
		return;
	old = calloc(p->n + 1, sizeof(*old));
	if (!old)
		return;
	for (j = 0; j < p->n; j++)
		if ((int)j != p->new_rs && !skiff_deleting(p->rs[j]))
			old[n++] = p->rs[j];
	diff = n - (int)json_integer_value(limit);
	qsort(old, n, sizeof(*old), by_revision);
	for (i = 0; i < diff; i++) {
		rs = old[i];
		if (rs_status(rs, "replicas") || rs_spec(rs) ||
		    skiff_int(rs, "metadata.generation", 0) >
		    skiff_int(rs, "status.observedGeneration", 0))
			continue;
		cm_write(p->c->cm, p->c->q, p->key, p->c->rs, "DELETE",
			 skiff_path(&skiff_replicasets, p->ns,
				    skiff_meta(rs, "name"), NULL), NULL, NULL);
	}
	free(old);
}

/* ---- rollouts ------------------------------------------------------------ */

/* Kubernetes' reconcileNewReplicaSet. */
static bool grow_new(struct pass *p)
{
	int i = p->new_rs, cur = p->plan[i];

	if (cur == p->replicas)
		return false;
	p->plan[i] = cur > p->replicas ? p->replicas : new_rs_size(p, cur);
	return p->plan[i] != cur;
}

/* Kubernetes' reconcileOldReplicaSets: shrink what availability allows. */
static bool shrink_old(struct pass *p)
{
	const json_t *new = p->rs[p->new_rs];
	int min_avail = p->replicas - p->unavail, max_down, done = 0;
	int avail = 0, n, i, k;

	if (!sum_spec(p, true))
		return false;
	max_down = sum_spec(p, false) - min_avail -
		   (p->plan[p->new_rs] - rs_status(new, "availableReplicas"));
	if (max_down <= 0)
		return false;
	/* Unhealthy pods first, oldest ReplicaSets first. */
	for (i = 0; i < (int)p->n && done < max_down; i++) {
		if (i == p->new_rs || !p->plan[i])
			continue;
		k = p->plan[i] - rs_available(p->rs[i], p->plan[i]);
		if (k <= 0)
			continue;
		if (k > max_down - done)
			k = max_down - done;
		p->plan[i] -= k;
		done += k;
	}
	/* Then what the available pods allow. */
	for (i = 0; i < (int)p->n; i++)
		avail += rs_available(p->rs[i], p->plan[i]);
	n = avail - min_avail;
	for (i = 0; i < (int)p->n && n > 0; i++) {
		if (i == p->new_rs || !p->plan[i])
			continue;
		k = p->plan[i] < n ? p->plan[i] : n;
		p->plan[i] -= k;
		n -= k;
		done += k;
	}
	return done > 0;
}

static bool stored_complete(const struct pass *p, const json_t *st)
{
	return skiff_int(st, "updatedReplicas", 0) == p->replicas &&
	       skiff_int(st, "replicas", 0) == p->replicas &&
	       skiff_int(st, "availableReplicas", 0) == p->replicas &&
	       skiff_int(st, "observedGeneration", 0) >=
	       skiff_int(p->d, "metadata.generation", 0);
}

static void rollout_rolling(struct pass *p)
{
	sync_new_rs(p, true);
	if (p->wrote || p->new_rs < 0)
		return;
	if (grow_new(p) || shrink_old(p)) {
		apply_plan(p);
		return;
	}
	if (stored_complete(p, json_object_get(p->d, "status")))
		cleanup(p);
}

/* Pods of old ReplicaSets still there, terminating ones included. */
static bool old_pods_running(const struct pass *p)
{
	const json_t *pods, *pod;
	const char *k;
	size_t i;

	for (i = 0; i < p->n; i++) {
		if ((int)i == p->new_rs)
			continue;
		if (rs_status(p->rs[i], "replicas") > 0)
			return true;
		pods = skiff_informer_indexed(p->c->pods, CM_BY_CONTROLLER,
					      skiff_meta(p->rs[i], "uid") ?: "");
		json_object_foreach((json_t *)pods, k, pod)
			if (!skiff_pod_finished(pod))
				return true;
	}
	return false;
}

static void rollout_recreate(struct pass *p)
{
	size_t i;

	sync_new_rs(p, false);
	if (p->wrote)
		return;
	for (i = 0; i < p->n; i++)
		if ((int)i != p->new_rs)
			p->plan[i] = 0;
	apply_plan(p);
	if (p->wrote || old_pods_running(p))
		return;
	if (p->new_rs < 0) {
		sync_new_rs(p, true);
		return;
	}
	p->plan[p->new_rs] = p->replicas;
	apply_plan(p);
	if (!p->wrote && stored_complete(p, json_object_get(p->d, "status")))
		cleanup(p);
}

/* ---- status -------------------------------------------------------------- */

/* Kubernetes' calculateStatus: counters and the Available condition. */
static void count(struct pass *p)
{
	int replicas = 0, ready = 0, avail = 0, spec = 0;
	size_t i;

	for (i = 0; i < p->n; i++) {
		replicas += rs_status(p->rs[i], "replicas");
		ready += rs_status(p->rs[i], "readyReplicas");
		avail += rs_status(p->rs[i], "availableReplicas");
		spec += rs_spec(p->rs[i]);
	}
	json_object_set_new(p->status, "observedGeneration",
			    json_integer(skiff_int(p->d, "metadata.generation", 0)));
	json_object_set_new(p->status, "replicas", json_integer(replicas));
	json_object_set_new(p->status, "updatedReplicas",
			    json_integer(p->new_rs >= 0 ?
					 rs_status(p->rs[p->new_rs], "replicas") : 0));
	json_object_set_new(p->status, "readyReplicas", json_integer(ready));
	json_object_set_new(p->status, "availableReplicas", json_integer(avail));
	json_object_set_new(p->status, "unavailableReplicas",
			    json_integer(spec > avail ? spec - avail : 0));
	if (avail >= p->replicas - p->unavail)
		set_condition(p, AVAILABLE, "True", "MinimumReplicasAvailable",
			      "Deployment has minimum availability.", false);
	else
		set_condition(p, AVAILABLE, "False", "MinimumReplicasUnavailable",
			      "Deployment does not have minimum availability.", false);
}

/* Kubernetes' DeploymentProgressing: more updated, ready or available. */
static bool progressed(const struct pass *p)
{
	const json_t *was = json_object_get(p->d, "status"), *now = p->status;
	int old_was = skiff_int(was, "replicas", 0) - skiff_int(was, "updatedReplicas", 0);
	int old_now = skiff_int(now, "replicas", 0) - skiff_int(now, "updatedReplicas", 0);

	return skiff_int(now, "updatedReplicas", 0) > skiff_int(was, "updatedReplicas", 0) ||
	       old_now < old_was ||
	       skiff_int(now, "readyReplicas", 0) > skiff_int(was, "readyReplicas", 0) ||
	       skiff_int(now, "availableReplicas", 0) > skiff_int(was, "availableReplicas", 0);
}

/* Seconds until the Progressing condition's deadline (< 0: past it). */
static double deadline_in(const struct pass *p, const json_t *cond)
{
	double from = skiff_time_parse(cond_str(cond, "lastUpdateTime"));

	return from + (double)skiff_int(p->spec, "progressDeadlineSeconds", 600) -
	       (double)time(NULL);
}

/* Kubernetes' syncRolloutStatus: the Progressing condition. */
static void progress(struct pass *p)
{
	const json_t *cur = condition(p->status, PROGRESSING);
	const char *rs_name = p->new_rs >= 0 ? skiff_meta(p->rs[p->new_rs], "name") : NULL;
	char msg[400];
	bool done_before;

	count(p);
	if (!has_deadline(p)) {
		remove_condition(p->status, PROGRESSING);
		return;
	}
	done_before = skiff_int(p->status, "replicas", 0) ==
		      skiff_int(p->status, "updatedReplicas", 0) &&
		      cur && !strcmp(cond_str(cur, "reason"), NEW_RS_AVAILABLE);
	if (done_before)
		return;
	if (stored_complete(p, p->status)) {
		if (rs_name)
			snprintf(msg, sizeof(msg),
				 "ReplicaSet \"%s\" has successfully progressed.", rs_name);
		else
			snprintf(msg, sizeof(msg),
				 "Deployment \"%s\" has successfully progressed.", p->name);
		set_condition(p, PROGRESSING, "True", NEW_RS_AVAILABLE, msg, false);
	} else if (progressed(p)) {
		if (rs_name)
			snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" is progressing.",
				 rs_name);
		else
			snprintf(msg, sizeof(msg), "Deployment \"%s\" is progressing.",
				 p->name);
		if (cur && strcmp(cond_str(cur, "status"), "True"))
			remove_condition(p->status, PROGRESSING);
		set_condition(p, PROGRESSING, "True", "ReplicaSetUpdated", msg, true);
	} else if (cur && strcmp(cond_str(cur, "reason"), NEW_RS_AVAILABLE) &&
		   (!strcmp(cond_str(cur, "reason"), TIMED_OUT) ||
		    deadline_in(p, cur) < 0)) {
		if (rs_name)
			snprintf(msg, sizeof(msg),
				 "ReplicaSet \"%s\" has timed out progressing.", rs_name);
		else
			snprintf(msg, sizeof(msg),
				 "Deployment \"%s\" has timed out progressing.", p->name);
		set_condition(p, PROGRESSING, "False", TIMED_OUT, msg, false);
	}
}

/* Kubernetes' requeueStuckDeployment: look again at the deadline. */
static void requeue_stuck(struct pass *p)
{
	const json_t *cur = condition(p->status, PROGRESSING);
	int64_t ms, at;
	double after;

	if (!has_deadline(p) || !cur || stored_complete(p, p->status) ||
	    !strcmp(cond_str(cur, "reason"), TIMED_OUT))
		return;
	after = deadline_in(p, cur);
	if (after < 0)
		after = 0;
	/* One timer per key: a later one waits for the earlier. */
	ms = (int64_t)(after * 1000) + 1000;
	at = json_integer_value(json_object_get(p->c->timers, p->key));
	if (at > skiff_now_ms() && at <= skiff_now_ms() + ms)
		return;
	json_object_set_new(p->c->timers, p->key, json_integer(skiff_now_ms() + ms));
	skiff_queue_add_after(p->c->q, p->key, ms);
}

/* Kubernetes' checkPausedConditions. */
static void paused_condition(struct pass *p, bool paused)
{
	const json_t *cur = condition(p->status, PROGRESSING);
	bool shown;

	if (!has_deadline(p) || (cur && !strcmp(cond_str(cur, "reason"), TIMED_OUT)))
		return;
	shown = cur && !strcmp(cond_str(cur, "reason"), PAUSED);
	if (paused && !shown)
		set_condition(p, PROGRESSING, "Unknown", PAUSED, "Deployment is paused",
			      false);
	else if (!paused && shown)
		set_condition(p, PROGRESSING, "Unknown", "DeploymentResumed",
			      "Deployment is resumed", false);
}

static bool write_status(struct pass *p)
{
	if (json_equal(p->status, json_object_get(p->d, "status")))
		return false;
	send_patch(p, p->c->deploys, &skiff_deployments, p->d, "status",
		   json_pack("{s:O}", "status", p->status));
	return true;
}

/* ---- the look ------------------------------------------------------------ */

static void pass_free(struct pass *p)
{
	free(p->rs);
	free(p->plan);
	free(p->touch);
	json_decref(p->tmpl);
	json_decref(p->status);
}

static void reconcile(const char *key, void *arg)
{
	struct deploy_ctl *c = arg;
	struct pass p = { .c = c, .key = key, .new_rs = -1 };
	struct skiff_selector *sel;
	const char *type;
	bool paused;
	char err[128];
	int sent;

	p.d = json_object_get(skiff_informer_all(c->deploys), key);
	if (!p.d) {
		json_object_del(c->timers, key);
		return;
	}
	p.spec = json_object_get(p.d, "spec");
	p.ns = skiff_meta(p.d, "namespace") ?: "default";
	p.name = skiff_meta(p.d, "name") ?: "";
	if (skiff_label_selector_from_json(json_object_get(p.spec, "selector"),
					   &sel, err, sizeof(err)) ||
	    skiff_selector_empty(sel)) {
		fprintf(stderr, "deployment %s: bad selector: %s\n", key, err);
		return;
	}
	sent = claim(&p, sel);
	skiff_selector_free(sel);
	if (sent) {
		if (sent < 0)
			skiff_queue_retry(c->q, key);
		pass_free(&p);
		return;
	}
	type = skiff_str(p.spec, "strategy.type") ?: "RollingUpdate";
	p.rolling = strcmp(type, "Recreate");
	p.replicas = (int)skiff_int(p.spec, "replicas", 1);
	paused = json_is_true(json_object_get(p.spec, "paused"));
	skiff_time_now(p.now, sizeof(p.now));
	p.tmpl = template_key(json_object_get(p.spec, "template"));
	p.status = json_deep_copy(json_object_get(p.d, "status"));
	if (!json_is_object(p.status)) {
		json_decref(p.status);
		p.status = json_object();
	}
	if (fenceposts(&p)) {
		fprintf(stderr, "deployment %s: bad maxSurge or maxUnavailable\n", key);
		pass_free(&p);
		return;
	}
	p.new_rs = find_new(&p);

	if (!skiff_deleting(p.d))
		paused_condition(&p, paused);
	if (skiff_deleting(p.d) || paused || scaling_event(&p)) {
		/* Kubernetes' sync(): sizes and status, no rollout. */
		sync_new_rs(&p, false);
		if (!p.wrote && !skiff_deleting(p.d))
			scale(&p);
		if (paused)
			cleanup(&p);
		count(&p);
		write_status(&p);
	} else {
		if (p.rolling)
			rollout_rolling(&p);
		else
			rollout_recreate(&p);
		progress(&p);
		if (!write_status(&p))
			requeue_stuck(&p);
	}
	pass_free(&p);
}

/* ---- events -------------------------------------------------------------- */

/* An orphan being deleted is adopted by nobody. */
static bool rs_adoptable(const json_t *deploy, const json_t *rs)
{
	(void)deploy;
	return !skiff_deleting(rs);
}

/* Queue the Deployment owning @rs, or those that may adopt it. */
static void queue_for_rs(struct deploy_ctl *c, const json_t *rs)
{
	cm_queue_owners(c->q, c->deploys, rs, rs_adoptable);
}

static void rs_changed(enum skiff_change change, const json_t *old,
		       const json_t *rs, void *arg)
{
	struct deploy_ctl *c = arg;

	(void)change;
	if (old)
		queue_for_rs(c, old);
	queue_for_rs(c, rs);
}

/* A Recreate rollout waits for the old pods to be gone. */
static void pod_changed(enum skiff_change change, const json_t *old,
			const json_t *pod, void *arg)
{
	struct deploy_ctl *c = arg;
	const char *uid = skiff_controller_uid(pod), *key, *dkey;
	const json_t *sets, *rs, *deps, *d;

	(void)old;
	if (change != SKIFF_DELETED || !uid)
		return;
	sets = skiff_informer_indexed(c->rs, CM_BY_UID, uid);
	json_object_foreach((json_t *)sets, key, rs) {
		uid = skiff_controller_uid(rs);
		if (!uid)
			continue;
		deps = skiff_informer_indexed(c->deploys, CM_BY_UID, uid);
		json_object_foreach((json_t *)deps, dkey, d)
			if (!strcmp(skiff_str(d, "spec.strategy.type") ?: "", "Recreate"))
				skiff_queue_add(c->q, dkey);
	}
}

static int deployment_start(struct cm *cm)
{
	struct deploy_ctl *c = &deploy_ctl;

	c->cm = cm;
	c->deploys = cm_informer(cm, &skiff_deployments);
	c->rs = cm_informer(cm, &skiff_replicasets);
	c->pods = cm_informer(cm, &skiff_pods);
	c->q = cm_queue(cm, reconcile, c);
	c->timers = json_object();
	if (!c->deploys || !c->rs || !c->pods || !c->q || !c->timers ||
	    skiff_informer_on_change(c->deploys, cm_queue_object, c->q) ||
	    skiff_informer_on_change(c->rs, rs_changed, c) ||
	    skiff_informer_on_change(c->pods, pod_changed, c))
		return -1;
	return 0;
}

CM_CONTROLLER(deployment, deployment_start)
