// SPDX-License-Identifier: GPL-2.0
/*
 * What the controllers share: informers, queues that wait for the caches,
 * writes whose answers land in the caches.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm.h"
#include "selector.h"

static char *index_uid(const json_t *obj)
{
	const char *uid = skiff_meta(obj, "uid");

	return uid ? strdup(uid) : NULL;
}

struct skiff_informer *cm_informer(struct cm *cm,
				   const struct skiff_kind *kind)
{
	struct skiff_informer *inf, **all;
	unsigned int i;

	for (i = 0; i < cm->n_informers; i++)
		if (skiff_informer_kind(cm->informers[i]) == kind)
			return cm->informers[i];
	inf = skiff_informer_new(cm->c, kind, NULL);
	if (!inf)
		return NULL;
	if (skiff_informer_add_index(inf, CM_BY_NAMESPACE,
				     skiff_index_namespace) ||
	    skiff_informer_add_index(inf, CM_BY_CONTROLLER,
				     skiff_index_controller) ||
	    skiff_informer_add_index(inf, CM_BY_UID, index_uid) ||
	    (kind == &skiff_pods &&
	     skiff_informer_add_index(inf, CM_BY_NODE,
				      skiff_index_node_name)))
		goto err;
	all = realloc(cm->informers, (cm->n_informers + 1) * sizeof(*all));
	if (!all)
		goto err;
	cm->informers = all;
	all[cm->n_informers++] = inf;
	if (cm->started)
		skiff_informer_start(inf);
	return inf;

err:
	skiff_informer_free(inf);
	return NULL;
}

bool cm_synced(const struct cm *cm)
{
	unsigned int i;

	for (i = 0; i < cm->n_informers; i++)
		if (!skiff_informer_synced(cm->informers[i]))
			return false;
	return true;
}

struct synced_work {
	struct cm *cm;
	struct skiff_queue *q;
	skiff_work_fn work;
	void *arg;
};

static void work_when_synced(const char *key, void *arg)
{
	struct synced_work *w = arg;

	if (!cm_synced(w->cm)) {
		skiff_queue_add_after(w->q, key, 100);
		return;
	}
	w->work(key, w->arg);
}

struct skiff_queue *cm_queue(struct cm *cm, skiff_work_fn work, void *arg)
{
	struct synced_work *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->cm = cm;
	w->work = work;
	w->arg = arg;
	w->q = skiff_queue_new(cm->loop, work_when_synced, w);
	if (!w->q) {
		free(w);
		return NULL;
	}
	return w->q;
}

void cm_queue_object(enum skiff_change change, const json_t *old,
		     const json_t *obj, void *queue)
{
	char *key = skiff_object_key(obj);

	(void)change;
	(void)old;
	if (key)
		skiff_queue_add(queue, key);
	free(key);
}

struct write {
	struct skiff_queue *q;
	struct skiff_informer *inf;
	bool delete;
	char what[];	/* "METHOD PATH" then the key */
};

static void written(long code, json_t *answer, void *arg)
{
	struct write *w = arg;
	const char *key = w->what + strlen(w->what) + 1;
	bool ok = code >= 200 && code < 300;
	/*
	 * 409 (a stale resourceVersion, or created meanwhile) and 404 (gone
	 * meanwhile) say the cache was behind: the key looks again at once,
	 * with what the watch brings. Anything else backs off.
	 */
	bool behind = code == 409 || code == 404;

	if (ok && w->inf)
		skiff_informer_wrote(w->inf, answer, w->delete);
	if (!ok && !behind)
		fprintf(stderr, "controller-manager: %s: HTTP %ld: %s\n",
			w->what, code,
			json_string_value(json_object_get(answer, "message")) ?:
			"no answer");
	skiff_queue_done(w->q, key, !ok && !behind);
	free(w);
}

void cm_write(struct cm *cm, struct skiff_queue *q, const char *key,
	      struct skiff_informer *inf, const char *method, char *path,
	      const char *type, const json_t *body)
{
	size_t what_len;
	struct write *w;

	if (!path) {
		skiff_queue_retry(q, key);
		return;
	}
	what_len = strlen(method) + 1 + strlen(path);
	w = malloc(sizeof(*w) + what_len + 1 + strlen(key) + 1);
	if (!w) {
		free(path);
		skiff_queue_retry(q, key);
		return;
	}
	w->q = q;
	w->inf = inf;
	w->delete = !strcmp(method, "DELETE");
	sprintf(w->what, "%s %s", method, path);
	strcpy(w->what + what_len + 1, key);
	skiff_queue_busy(q, key);
	if (skiff_client_send(cm->c, method, path, type, body, written, w)) {
		skiff_queue_done(q, key, true);
		free(w);
	}
}

void cm_patch_status(struct cm *cm, struct skiff_queue *q, const char *key,
		     struct skiff_informer *inf, const json_t *obj,
		     const json_t *patch)
{
	cm_write(cm, q, key, inf, "PATCH",
		 skiff_path(skiff_informer_kind(inf), skiff_meta(obj, "namespace"),
			    skiff_meta(obj, "name"), "status"),
		 "application/merge-patch+json", patch);
}

void cm_bump_collisions(struct cm *cm, struct skiff_queue *q,
			const char *key, struct skiff_informer *inf,
			const json_t *obj)
{
	json_t *patch = json_pack("{s:{s:I}}", "status", "collisionCount",
				  skiff_int(obj, "status.collisionCount", 0) + 1);

	cm_patch_status(cm, q, key, inf, obj, patch);
	json_decref(patch);
}

struct skiff_selector *cm_selector(const json_t *owner, const char *what,
				   const char *key)
{
	struct skiff_selector *sel;
	char err[128];

	if (skiff_label_selector_from_json(json_object_get(json_object_get(owner, "spec"),
							   "selector"),
					   &sel, err, sizeof(err))) {
		fprintf(stderr, "%s %s: bad selector: %s\n", what, key, err);
		return NULL;
	}
	if (skiff_selector_empty(sel)) {
		fprintf(stderr, "%s %s: bad selector: empty\n", what, key);
		skiff_selector_free(sel);
		return NULL;
	}
	return sel;
}

json_t *cm_owner_ref(const json_t *owner)
{
	return json_pack("{s:s?, s:s?, s:s?, s:s?, s:b, s:b}",
			 "apiVersion",
			 json_string_value(json_object_get(owner, "apiVersion")),
			 "kind", json_string_value(json_object_get(owner, "kind")),
			 "name", skiff_meta(owner, "name"),
			 "uid", skiff_meta(owner, "uid"),
			 "controller", 1, "blockOwnerDeletion", 1);
}

bool cm_controlled_by(const json_t *obj, const json_t *owner)
{
	const char *uid = skiff_controller_uid(obj);

	return uid && !strcmp(uid, skiff_meta(owner, "uid") ?: "");
}

bool cm_selects(const json_t *owner, const json_t *obj)
{
	const json_t *labels = json_object_get(json_object_get(obj, "metadata"),
					       "labels");
	struct skiff_selector *sel;
	char err[128];
	bool match;

	if (skiff_label_selector_from_json(json_object_get(json_object_get(owner, "spec"),
							   "selector"),
					   &sel, err, sizeof(err)))
		return false;
	match = !skiff_selector_empty(sel) &&
		skiff_selector_match_labels(sel, labels);
	skiff_selector_free(sel);
	return match;
}

void cm_queue_owners(struct skiff_queue *q, struct skiff_informer *owners,
		     const json_t *obj,
		     bool (*may_adopt)(const json_t *owner, const json_t *obj))
{
	const char *uid = skiff_controller_uid(obj), *key;
	const json_t *found, *owner;

	if (uid) {
		found = skiff_informer_indexed(owners, CM_BY_UID, uid);
		json_object_foreach((json_t *)found, key, owner)
			skiff_queue_add(q, key);
		return;
	}
	found = skiff_informer_indexed(owners, CM_BY_NAMESPACE,
				       skiff_meta(obj, "namespace") ?: "");
	json_object_foreach((json_t *)found, key, owner)
		if (cm_selects(owner, obj) && (!may_adopt || may_adopt(owner, obj)))
			skiff_queue_add(q, key);
}

/* ---- ControllerRevisions ------------------------------------------------ */

void cm_hash(const json_t *obj, json_int_t collisions, char *out, size_t len)
{
	static const char safe[] = "bcdfghjklmnpqrstvwxz2456789";
	char *text = json_dumps(obj, JSON_SORT_KEYS | JSON_COMPACT);
	uint32_t h = 2166136261u;
	char num[16];
	size_t i;

	for (i = 0; text && text[i]; i++)
		h = (h ^ (unsigned char)text[i]) * 16777619u;
	free(text);
	for (i = 0; collisions && i < 4; i++)
		h = (h ^ ((uint64_t)collisions >> (8 * i) & 0xff)) * 16777619u;
	snprintf(num, sizeof(num), "%u", h);
	for (i = 0; num[i] && i + 1 < len; i++)
		out[i] = safe[(unsigned char)num[i] % (sizeof(safe) - 1)];
	if (len)
		out[i] = '\0';
}

/* What a revision of @set holds: its template, to be put back whole. */
static json_t *revision_data(const json_t *set)
{
	json_t *tmpl = json_deep_copy(json_object_get(json_object_get(set, "spec"),
						      "template"));

	if (!json_is_object(tmpl)) {
		json_decref(tmpl);
		tmpl = json_object();
	}
	json_object_set_new(tmpl, "$patch", json_string("replace"));
	return json_pack("{s:{s:o}}", "spec", "template", tmpl);
}

json_t *cm_revision_template(const json_t *rev)
{
	json_t *tmpl = json_deep_copy(json_object_get(json_object_get(json_object_get(rev, "data"),
								      "spec"),
						      "template"));

	if (!json_is_object(tmpl)) {
		json_decref(tmpl);
		return json_object();
	}
	json_object_del(tmpl, "$patch");
	return tmpl;
}

const json_t *cm_revision_sync(struct cm *cm, struct skiff_queue *q,
			       const char *key, struct skiff_informer *revs,
			       const json_t *set, const char *label,
			       bool *collision)
{
	const json_t *owned = skiff_informer_indexed(revs, CM_BY_CONTROLLER,
						     skiff_meta(set, "uid") ?: "");
	const char *ns = skiff_meta(set, "namespace"), *k;
	const json_t *rev, *equal = NULL;
	json_int_t max = 0, n, collisions;
	json_t *data = revision_data(set), *obj, *labels;
	char hash[16], name[300];

	*collision = false;
	json_object_foreach((json_t *)owned, k, rev) {
		n = skiff_int(rev, "revision", 0);
		if (n > max)
			max = n;
		if (json_equal(json_object_get(rev, "data"), data) &&
		    (!equal || n > skiff_int(equal, "revision", 0)))
			equal = rev;
	}
	if (equal && skiff_int(equal, "revision", 0) == max) {
		json_decref(data);
		return equal;
	}
	if (equal) {
		/* Back to an older template: it becomes the newest. */
		obj = json_pack("{s:I, s:{s:s?}}", "revision", max + 1,
				"metadata", "resourceVersion",
				skiff_meta(equal, "resourceVersion"));
		cm_write(cm, q, key, revs, "PATCH",
			 skiff_path(&skiff_controllerrevisions, ns,
				    skiff_meta(equal, "name"), NULL),
			 "application/merge-patch+json", obj);
		json_decref(obj);
		json_decref(data);
		return NULL;
	}
	collisions = skiff_int(set, "status.collisionCount", 0);
	cm_hash(data, collisions, hash, sizeof(hash));
	snprintf(name, sizeof(name), "%.240s-%s", skiff_meta(set, "name"), hash);
	if (skiff_informer_get(revs, ns, name)) {
		*collision = true;
		json_decref(data);
		return NULL;
	}
	labels = json_object_get(json_object_get(json_object_get(set, "spec"),
						 "template"), "metadata");
	labels = json_deep_copy(json_object_get(labels, "labels"));
	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	json_object_set_new(labels, label, json_string(hash));
	obj = json_pack("{s:s, s:s, s:{s:s, s:s?, s:o, s:[o]}, s:o, s:I}",
			"apiVersion", "apps/v1", "kind", "ControllerRevision",
			"metadata", "name", name, "namespace", ns,
			"labels", labels, "ownerReferences", cm_owner_ref(set),
			"data", data, "revision", max + 1);
	cm_write(cm, q, key, revs, "POST",
		 skiff_path(&skiff_controllerrevisions, ns, NULL, NULL), NULL,
		 obj);
	json_decref(obj);
	return NULL;
}

static int revision_order(const void *a, const void *b)
{
	json_int_t ra = skiff_int(*(const json_t *const *)a, "revision", 0);
	json_int_t rb = skiff_int(*(const json_t *const *)b, "revision", 0);

	return ra < rb ? -1 : ra > rb;
}

void cm_revision_truncate(struct cm *cm, struct skiff_queue *q,
			  const char *key, struct skiff_informer *revs,
			  const json_t *set, const json_t *live)
{
	const json_t *owned = skiff_informer_indexed(revs, CM_BY_CONTROLLER,
						     skiff_meta(set, "uid") ?: "");
	json_int_t limit = skiff_int(set, "spec.revisionHistoryLimit", 10);
	const json_t **old, *rev;
	size_t n = 0, i;
	const char *k;

	old = calloc(json_object_size(owned) + 1, sizeof(*old));
	if (!old)
		return;
	json_object_foreach((json_t *)owned, k, rev)
		if (!json_object_get(live, skiff_meta(rev, "name") ?: "") &&
		    !skiff_deleting(rev))
			old[n++] = rev;
	qsort(old, n, sizeof(*old), revision_order);
	for (i = 0; limit >= 0 && i + (size_t)limit < n; i++)
		cm_write(cm, q, key, revs, "DELETE",
			 skiff_path(&skiff_controllerrevisions,
				    skiff_meta(old[i], "namespace"),
				    skiff_meta(old[i], "name"), NULL),
			 NULL, NULL);
	free(old);
}
