// SPDX-License-Identifier: GPL-2.0
/*
 * The garbage collector: ownerReferences cascade, as Kubernetes' does.
 *
 * It watches every kind (skiff_all_kinds) and keeps a graph: which objects
 * name which owner uid. An object whose owners are all gone is deleted
 * (background: it goes, its own dependents after it). An owner is gone
 * when the caches say its uid was deleted, or when the apiserver, asked
 * directly, has no object of that name with that uid: a dependent made
 * just after its owner may be seen before the owner is, so a cache miss
 * alone never deletes anything. A reference to an owner in another
 * namespace is to an absent owner, as Kubernetes says; one to a kind the
 * collector does not know is taken as present (nothing is deleted on a
 * guess).
 *
 * Deletion with propagationPolicy (the apiserver sets the finalizers):
 *  - Foreground: the owner, marked deleting with the finalizer
 *    foregroundDeletion, waits; its dependents are deleted (those that
 *    have dependents of their own in the foreground too); once none with
 *    blockOwnerDeletion is left, the finalizer goes and so does the owner.
 *    A dependent with another owner still present only loses its
 *    reference to the one going.
 *  - Orphan: the finalizer orphan; the owner's references are removed
 *    from its dependents, then the finalizer.
 *
 * Not done: breaking ownership cycles in the foreground (Kubernetes sets
 * blockOwnerDeletion false on such references).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm.h"

#define FOREGROUND "foregroundDeletion"
#define ORPHAN "orphan"
/* Confirmed-absent uids remembered; forgotten all at once past this. */
#define ABSENT_MAX 100000

struct gc_kind {
	struct gc_ctl *gc;
	unsigned int idx;	/* in skiff_all_kinds */
	struct skiff_informer *inf;
};

struct gc_ctl {
	struct cm *cm;
	struct skiff_queue *q;
	struct gc_kind *kinds;
	unsigned int n_kinds;
	json_t *by_uid;		/* uid -> item key */
	json_t *dependents;	/* owner uid -> { item key -> true } */
	json_t *absent;		/* uid -> true: known deleted */
	json_t *told;		/* item key -> true: bad reference reported */
	json_t *asking;		/* owner uid -> { item key -> true }: a GET out */
};

static struct gc_ctl gc_ctl;

/* Item keys: "KIND|NS/NAME" or "KIND|NAME", KIND the index of the kind. */
static char *item_key(const struct gc_kind *k, const json_t *obj)
{
	char *okey = skiff_object_key(obj), *key;

	if (!okey)
		return NULL;
	if (asprintf(&key, "%u|%s", k->idx, okey) < 0)
		key = NULL;
	free(okey);
	return key;
}

static const json_t *item_get(struct gc_ctl *gc, const char *key,
			      struct gc_kind **kind)
{
	char *bar;
	unsigned long idx = strtoul(key, &bar, 10);

	if (*bar != '|' || idx >= gc->n_kinds)
		return NULL;
	*kind = &gc->kinds[idx];
	return json_object_get(skiff_informer_all(gc->kinds[idx].inf), bar + 1);
}

static const json_t *owner_refs(const json_t *obj)
{
	return json_object_get(json_object_get(obj, "metadata"),
			       "ownerReferences");
}

static bool has_finalizer(const json_t *obj, const char *name)
{
	const json_t *fins = json_object_get(json_object_get(obj, "metadata"),
					     "finalizers"), *f;
	size_t i;

	json_array_foreach(fins, i, f)
		if (!strcmp(json_string_value(f) ?: "", name))
			return true;
	return false;
}

/* The kind an ownerReference names (group and kind; any version), or NULL. */
static struct gc_kind *ref_kind(struct gc_ctl *gc, const json_t *ref)
{
	const char *av = skiff_str(ref, "apiVersion") ?: "";
	const char *kind = skiff_str(ref, "kind") ?: "";
	const char *slash = strchr(av, '/');
	size_t glen = slash ? (size_t)(slash - av) : 0;
	const struct skiff_kind *k;
	const char *kslash;
	unsigned int i;

	for (i = 0; i < gc->n_kinds; i++) {
		k = skiff_all_kinds[gc->kinds[i].idx];
		kslash = strchr(k->api_version, '/');
		if (strcmp(k->kind, kind))
			continue;
		if ((kslash ? (size_t)(kslash - k->api_version) : 0) == glen &&
		    !strncmp(k->api_version, av, glen))
			return &gc->kinds[i];
	}
	return NULL;
}

/* ---- the graph ----------------------------------------------------------- */

static void queue_uid(struct gc_ctl *gc, const char *uid)
{
	const char *key = json_string_value(json_object_get(gc->by_uid, uid));

	if (key)
		skiff_queue_add(gc->q, key);
}

static void link_refs(struct gc_ctl *gc, const char *key, const json_t *obj,
		      bool add)
{
	const json_t *ref;
	json_t *deps;
	const char *uid;
	size_t i;

	json_array_foreach(owner_refs(obj), i, ref) {
		uid = skiff_str(ref, "uid");
		if (!uid)
			continue;
		deps = json_object_get(gc->dependents, uid);
		if (add) {
			if (!deps) {
				deps = json_object();
				json_object_set_new(gc->dependents, uid, deps);
			}
			json_object_set_new(deps, key, json_true());
		} else if (deps) {
			json_object_del(deps, key);
			if (!json_object_size(deps))
				json_object_del(gc->dependents, uid);
		}
	}
}

/* What of an object the collector acts on. */
static bool gc_relevant_change(const json_t *old, const json_t *obj)
{
	const json_t *m1 = json_object_get(old, "metadata");
	const json_t *m2 = json_object_get(obj, "metadata");

	return !json_equal(json_object_get(m1, "ownerReferences"),
			   json_object_get(m2, "ownerReferences")) ||
	       !json_equal(json_object_get(m1, "finalizers"),
			   json_object_get(m2, "finalizers")) ||
	       !json_equal(json_object_get(m1, "deletionTimestamp"),
			   json_object_get(m2, "deletionTimestamp"));
}

static void obj_changed(enum skiff_change change, const json_t *old,
			const json_t *obj, void *arg)
{
	struct gc_kind *k = arg;
	struct gc_ctl *gc = k->gc;
	const char *uid = skiff_meta(obj, "uid");
	char *key = item_key(k, obj);
	const json_t *deps, *ref;
	const char *dkey;
	void *tmp;
	json_t *v;
	size_t i;

	if (!key || !uid) {
		free(key);
		return;
	}
	if (change == SKIFF_DELETED) {
		json_object_del(gc->by_uid, uid);
		if (json_object_size(gc->absent) >= ABSENT_MAX)
			json_object_clear(gc->absent);
		json_object_set_new(gc->absent, uid, json_true());
		link_refs(gc, key, obj, false);
		/* Owners waiting for it, dependents left without it. */
		json_array_foreach(owner_refs(obj), i, ref)
			queue_uid(gc, skiff_str(ref, "uid") ?: "");
		deps = json_object_get(gc->dependents, uid);
		json_object_foreach_safe((json_t *)deps, tmp, dkey, v)
			skiff_queue_add(gc->q, dkey);
		json_object_del(gc->told, key);
		free(key);
		return;
	}
	json_object_set_new(gc->by_uid, uid, json_string(key));
	if (old) {
		if (!gc_relevant_change(old, obj)) {
			free(key);
			return;
		}
		link_refs(gc, key, old, false);
		/* An owner whose reference went may be done waiting. */
		json_array_foreach(owner_refs(old), i, ref)
			queue_uid(gc, skiff_str(ref, "uid") ?: "");
	}
	link_refs(gc, key, obj, true);
	if (json_array_size(owner_refs(obj)) ||
	    (skiff_deleting(obj) && (has_finalizer(obj, FOREGROUND) ||
				     has_finalizer(obj, ORPHAN))))
		skiff_queue_add(gc->q, key);
	free(key);
}

/* ---- writes -------------------------------------------------------------- */

static char *obj_path(const struct gc_kind *k, const json_t *obj)
{
	return skiff_path(skiff_all_kinds[k->idx], skiff_meta(obj, "namespace"),
			  skiff_meta(obj, "name"), NULL);
}

/* Merge patch of the metadata list @field, at the object's version. */
static void patch_list(struct gc_ctl *gc, const char *key,
		       const struct gc_kind *k, const json_t *obj,
		       const char *field, json_t *list)
{
	json_t *patch = json_pack("{s:{s:o, s:s?}}", "metadata", field, list,
				  "resourceVersion",
				  skiff_meta(obj, "resourceVersion"));

	cm_write(gc->cm, gc->q, key, k->inf, "PATCH", obj_path(k, obj),
		 "application/merge-patch+json", patch);
	json_decref(patch);
}

static void remove_finalizer(struct gc_ctl *gc, const char *key,
			     const struct gc_kind *k, const json_t *obj,
			     const char *name)
{
	const json_t *fins = json_object_get(json_object_get(obj, "metadata"),
					     "finalizers"), *f;
	json_t *keep = json_array();
	size_t i;

	json_array_foreach(fins, i, f)
		if (strcmp(json_string_value(f) ?: "", name))
			json_array_append(keep, (json_t *)f);
	patch_list(gc, key, k, obj, "finalizers", keep);
}

/* Removes the references to the owners in @uids (an object uid -> true). */
static void remove_refs(struct gc_ctl *gc, const char *key,
			const struct gc_kind *k, const json_t *obj,
			const json_t *uids)
{
	const json_t *ref;
	json_t *keep = json_array();
	size_t i;

	json_array_foreach(owner_refs(obj), i, ref)
		if (!json_object_get(uids, skiff_str(ref, "uid") ?: ""))
			json_array_append(keep, (json_t *)ref);
	patch_list(gc, key, k, obj, "ownerReferences", keep);
}

static void delete_item(struct gc_ctl *gc, const char *key,
			const struct gc_kind *k, const json_t *obj,
			const char *policy)
{
	json_t *opts = json_pack("{s:s, s:s, s:s, s:{s:s}}", "apiVersion", "v1",
				 "kind", "DeleteOptions",
				 "propagationPolicy", policy,
				 "preconditions", "uid", skiff_meta(obj, "uid"));

	cm_write(gc->cm, gc->q, key, k->inf, "DELETE", obj_path(k, obj), NULL,
		 opts);
	json_decref(opts);
}

/* ---- owners being deleted -------------------------------------------------- */

/* Foreground: dependents go first. Orphan: they lose the reference. */
static void reconcile_owner(struct gc_ctl *gc, const char *key,
			    struct gc_kind *k, const json_t *obj)
{
	const char *uid = skiff_meta(obj, "uid") ?: "";
	const json_t *deps = json_object_get(gc->dependents, uid), *dep, *ref;
	bool orphan = has_finalizer(obj, ORPHAN);
	bool waiting = false, linked;
	struct gc_kind *dk;
	json_t *uids;
	const char *dkey;
	json_t *v;
	size_t i;

	uids = json_pack("{s:b}", uid, 1);
	json_object_foreach((json_t *)deps, dkey, v) {
		dep = item_get(gc, dkey, &dk);
		if (!dep)
			continue;
		linked = false;
		json_array_foreach(owner_refs(dep), i, ref) {
			if (strcmp(skiff_str(ref, "uid") ?: "", uid))
				continue;
			linked = true;
			if (json_is_true(json_object_get(ref, "blockOwnerDeletion")))
				waiting = true;
		}
		if (!linked)
			continue;
		if (orphan) {
			remove_refs(gc, key, dk, dep, uids);
			waiting = true;
		} else {
			/* Its own look deletes it, or drops the reference. */
			skiff_queue_add(gc->q, dkey);
		}
	}
	json_decref(uids);
	if (waiting)
		return;
	remove_finalizer(gc, key, k, obj, orphan ? ORPHAN : FOREGROUND);
}

/* ---- dependents ---------------------------------------------------------- */

struct lookup {
	struct gc_ctl *gc;
	char *uid;
	struct gc_kind *kind;
};

/*
 * The apiserver's word on an owner the caches do not have; the items that
 * wait for it look again.
 */
static void looked_up(long code, json_t *answer, void *arg)
{
	struct lookup *l = arg;
	bool failed = code != 200 && code != 404;
	json_t *keys = json_incref(json_object_get(l->gc->asking, l->uid)), *v;
	const char *key;

	if (code == 404 || (code == 200 &&
			    strcmp(skiff_meta(answer, "uid") ?: "", l->uid))) {
		if (json_object_size(l->gc->absent) >= ABSENT_MAX)
			json_object_clear(l->gc->absent);
		json_object_set_new(l->gc->absent, l->uid, json_true());
	} else if (code == 200) {
		/* There after all: the cache was behind. */
		skiff_informer_wrote(l->kind->inf, answer, false);
	} else {
		fprintf(stderr, "garbage collector: looking up owner %s: HTTP %ld\n",
			l->uid, code);
	}
	json_object_del(l->gc->asking, l->uid);
	json_object_foreach(keys, key, v)
		skiff_queue_done(l->gc->q, key, failed);
	json_decref(keys);
	free(l->uid);
	free(l);
}

/* One GET per owner uid however many items ask; @key rests until it ends. */
static void look_up(struct gc_ctl *gc, const char *key, struct gc_kind *k,
		    const char *ns, const json_t *ref)
{
	const char *uid = skiff_str(ref, "uid") ?: "";
	json_t *keys = json_object_get(gc->asking, uid);
	struct lookup *l;

	if (keys) {
		if (!json_object_get(keys, key)) {
			json_object_set_new(keys, key, json_true());
			skiff_queue_busy(gc->q, key);
		}
		return;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return;
	l->gc = gc;
	l->kind = k;
	l->uid = strdup(uid);
	if (!l->uid) {
		free(l);
		return;
	}
	json_object_set_new(gc->asking, uid, json_pack("{s:b}", key, 1));
	skiff_queue_busy(gc->q, key);
	if (!skiff_client_send(gc->cm->c, "GET",
			       skiff_path(skiff_all_kinds[k->idx], ns,
					  skiff_str(ref, "name"), NULL),
			       NULL, NULL, looked_up, l))
		return;
	json_object_del(gc->asking, uid);
	skiff_queue_done(gc->q, key, true);
	free(l->uid);
	free(l);
}

enum owner_state { SOLID, DANGLING, WAITING, UNKNOWN };

/* Once per object: a reference that can never resolve. */
static void tell_invalid(struct gc_ctl *gc, const char *key, const json_t *dep,
			 const json_t *ref)
{
	skiff_client_event(gc->cm->c, dep, "Warning", "OwnerRefInvalidNamespace",
			   "garbage-collector-controller",
			   "ownerRef [%s %s, uid: %s]: namespaced owner of a cluster-scoped object",
			   skiff_str(ref, "kind"), skiff_str(ref, "name"),
			   skiff_str(ref, "uid"));
	json_object_set_new(gc->told, key, json_true());
}

static enum owner_state owner_state(struct gc_ctl *gc, const char *key,
				    const struct gc_kind *dk, const json_t *dep,
				    const json_t *ref, struct gc_kind **kind)
{
	const char *uid = skiff_str(ref, "uid") ?: "";
	const char *ns = skiff_meta(dep, "namespace") ?: "";
	struct gc_kind *k = ref_kind(gc, ref);
	const json_t *owners, *owner = NULL, *o;
	const char *okey;

	*kind = k;
	if (!k)
		return SOLID;	/* a kind not watched: nothing on a guess */
	if (skiff_all_kinds[k->idx]->namespaced &&
	    !skiff_all_kinds[dk->idx]->namespaced) {
		if (!json_object_get(gc->told, key))
			tell_invalid(gc, key, dep, ref);
		return SOLID;	/* unresolvable: never collected */
	}
	owners = skiff_informer_indexed(k->inf, CM_BY_UID, uid);
	json_object_foreach((json_t *)owners, okey, o)
		owner = o;
	if (owner && skiff_all_kinds[k->idx]->namespaced &&
	    strcmp(skiff_meta(owner, "namespace") ?: "", ns))
		owner = NULL;	/* another namespace's: absent here */
	if (owner)
		return skiff_deleting(owner) && has_finalizer(owner, FOREGROUND) ?
		       WAITING : SOLID;
	return json_object_get(gc->absent, uid) ? DANGLING : UNKNOWN;
}

static void reconcile_dependent(struct gc_ctl *gc, const char *key,
				struct gc_kind *k, const json_t *obj)
{
	const char *ns = skiff_meta(obj, "namespace");
	json_t *gone = json_object();
	int solid = 0, waiting = 0, unknown = 0;
	struct gc_kind *ok;
	const json_t *ref;
	size_t i;

	json_array_foreach(owner_refs(obj), i, ref) {
		switch (owner_state(gc, key, k, obj, ref, &ok)) {
		case SOLID:
			solid++;
			break;
		case WAITING:
			waiting++;
			json_object_set_new(gone, skiff_str(ref, "uid") ?: "",
					    json_true());
			break;
		case DANGLING:
			json_object_set_new(gone, skiff_str(ref, "uid") ?: "",
					    json_true());
			break;
		case UNKNOWN:
			unknown++;
			look_up(gc, key, ok, ns, ref);
			break;
		}
	}
	/* Asked the apiserver: the answers bring the key back. */
	if (unknown || !json_object_size(gone)) {
		json_decref(gone);
		return;
	}
	if (solid) {
		/* It stays with its other owners, without the ones going. */
		remove_refs(gc, key, k, obj, gone);
	} else if (waiting && json_object_size(json_object_get(gc->dependents,
							       skiff_meta(obj, "uid") ?: ""))) {
		delete_item(gc, key, k, obj, "Foreground");
	} else {
		delete_item(gc, key, k, obj,
			    has_finalizer(obj, ORPHAN) ? "Orphan" :
			    has_finalizer(obj, FOREGROUND) ? "Foreground" :
			    "Background");
	}
	json_decref(gone);
}

static void reconcile(const char *key, void *arg)
{
	struct gc_ctl *gc = arg;
	struct gc_kind *k;
	const json_t *obj = item_get(gc, key, &k);

	if (!obj)
		return;
	if (skiff_deleting(obj)) {
		if (has_finalizer(obj, ORPHAN) || has_finalizer(obj, FOREGROUND))
			reconcile_owner(gc, key, k, obj);
		return;
	}
	if (json_array_size(owner_refs(obj)))
		reconcile_dependent(gc, key, k, obj);
}

static int gc_start(struct cm *cm)
{
	struct gc_ctl *gc = &gc_ctl;
	unsigned int n = 0, i;

	while (skiff_all_kinds[n])
		n++;
	gc->cm = cm;
	gc->kinds = calloc(n, sizeof(*gc->kinds));
	gc->n_kinds = n;
	gc->by_uid = json_object();
	gc->dependents = json_object();
	gc->absent = json_object();
	gc->told = json_object();
	gc->asking = json_object();
	gc->q = cm_queue(cm, reconcile, gc);
	if (!gc->kinds || !gc->by_uid || !gc->dependents || !gc->absent ||
	    !gc->told || !gc->asking || !gc->q)
		return -1;
	for (i = 0; i < n; i++) {
		gc->kinds[i].gc = gc;
		gc->kinds[i].idx = i;
		gc->kinds[i].inf = cm_informer(cm, skiff_all_kinds[i]);
		if (!gc->kinds[i].inf ||
		    skiff_informer_on_change(gc->kinds[i].inf, obj_changed,
					     &gc->kinds[i]))
			return -1;
	}
	return 0;
}

CM_CONTROLLER(gc, gc_start)
