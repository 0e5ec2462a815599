// SPDX-License-Identifier: GPL-2.0
/*
 * The ConfigMaps and Secrets the node's pods reference, one informer each
 * (objref.h says why). A node runs tens to hundreds of pods that share a
 * few such objects, so a list of entries is enough.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "informer.h"
#include "objref.h"

struct objref {
	struct objref *next;
	bool secret;
	char *ns;
	char *name;
	unsigned int refs;
	struct skiff_informer *inf;
	struct skiff_objrefs *owner;
};

struct skiff_objrefs {
	struct skiff_client *c;
	skiff_objref_fn changed;
	void *arg;
	struct objref *list;
};

struct skiff_objrefs *skiff_objrefs_new(struct skiff_client *c,
					skiff_objref_fn changed, void *arg)
{
	struct skiff_objrefs *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->c = c;
	r->changed = changed;
	r->arg = arg;
	return r;
}

static void objref_free(struct objref *o)
{
	skiff_informer_free(o->inf);
	free(o->ns);
	free(o->name);
	free(o);
}

void skiff_objrefs_free(struct skiff_objrefs *r)
{
	struct objref *o;

	if (!r)
		return;
	while (r->list) {
		o = r->list;
		r->list = o->next;
		objref_free(o);
	}
	free(r);
}

static struct objref *find(const struct skiff_objrefs *r, bool secret,
			   const char *ns, const char *name)
{
	struct objref *o;

	for (o = r->list; o; o = o->next)
		if (o->secret == secret && !strcmp(o->ns, ns) && !strcmp(o->name, name))
			return o;
	return NULL;
}

static void object_changed(enum skiff_change change, const json_t *old,
			   const json_t *obj, void *arg)
{
	struct objref *o = arg;

	(void)change;
	(void)old;
	(void)obj;
	if (o->owner->changed)
		o->owner->changed(o->secret, o->ns, o->name, o->owner->arg);
}

static int take(struct skiff_objrefs *r, bool secret, const char *ns,
		const char *name)
{
	struct objref *o = find(r, secret, ns, name);
	char *query = NULL;

	if (o) {
		o->refs++;
		return 0;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->secret = secret;
	o->owner = r;
	o->refs = 1;
	o->ns = strdup(ns);
	o->name = strdup(name);
	/* Names are DNS subdomains (the apiserver checks): nothing to escape. */
	if (!o->ns || !o->name ||
	    asprintf(&query, "fieldSelector=metadata.name%%3D%s", name) < 0)
		goto err_free;
	o->inf = skiff_informer_new_ns(r->c, secret ? &skiff_secrets : &skiff_configmaps,
				       ns, query);
	free(query);
	if (!o->inf || skiff_informer_on_change(o->inf, object_changed, o))
		goto err_free;
	o->next = r->list;
	r->list = o;
	skiff_informer_start(o->inf);
	return 0;

err_free:
	objref_free(o);
	return -ENOMEM;
}

static void drop(struct skiff_objrefs *r, bool secret, const char *ns,
		 const char *name)
{
	struct objref **pp, *o;

	for (pp = &r->list; *pp; pp = &(*pp)->next) {
		o = *pp;
		if (o->secret != secret || strcmp(o->ns, ns) || strcmp(o->name, name))
			continue;
		if (--o->refs)
			return;
		*pp = o->next;
		objref_free(o);
		return;
	}
}

const json_t *skiff_objrefs_get(const struct skiff_objrefs *r, bool secret,
				const char *ns, const char *name)
{
	const struct objref *o = find(r, secret, ns, name);

	return o ? skiff_informer_get(o->inf, ns, name) : NULL;
}

unsigned int skiff_objrefs_count(const struct skiff_objrefs *r)
{
	const struct objref *o;
	unsigned int n = 0;

	for (o = r->list; o; o = o->next)
		n++;
	return n;
}

/* ---- what a pod spec references ---- */

/* One walk over a pod spec's references, taking or dropping each. */
struct walk {
	struct skiff_objrefs *r;
	const char *ns;
	bool take;
	unsigned int done;	/* references handled so far */
	unsigned int limit;	/* stop after this many (drops of a failed take) */
};

static int visit(struct walk *w, bool secret, const json_t *holder, const char *key)
{
	const char *name = json_string_value(json_object_get(holder, key));
	int err;

	if (!name || !*name || w->done >= w->limit)
		return 0;
	if (w->take) {
		err = take(w->r, secret, w->ns, name);
		if (err)
			return err;
	} else {
		drop(w->r, secret, w->ns, name);
	}
	w->done++;
	return 0;
}

static int visit_container(struct walk *w, const json_t *ctr)
{
	const json_t *v, *from;
	size_t i;
	int err = 0;

	json_array_foreach(json_object_get(ctr, "env"), i, v) {
		from = json_object_get(v, "valueFrom");
		err = err ?: visit(w, false, json_object_get(from, "configMapKeyRef"), "name");
		err = err ?: visit(w, true, json_object_get(from, "secretKeyRef"), "name");
	}
	json_array_foreach(json_object_get(ctr, "envFrom"), i, v) {
		err = err ?: visit(w, false, json_object_get(v, "configMapRef"), "name");
		err = err ?: visit(w, true, json_object_get(v, "secretRef"), "name");
	}
	return err;
}

static int visit_pod(struct walk *w, const json_t *spec)
{
	const json_t *v, *src;
	size_t i, j;
	int err = 0;

	json_array_foreach(json_object_get(spec, "volumes"), i, v) {
		err = err ?: visit(w, false, json_object_get(v, "configMap"), "name");
		err = err ?: visit(w, true, json_object_get(v, "secret"), "secretName");
		json_array_foreach(json_object_get(json_object_get(v, "projected"),
						   "sources"), j, src) {
			err = err ?: visit(w, false, json_object_get(src, "configMap"), "name");
			err = err ?: visit(w, true, json_object_get(src, "secret"), "name");
		}
	}
	json_array_foreach(json_object_get(spec, "initContainers"), i, v)
		err = err ?: visit_container(w, v);
	json_array_foreach(json_object_get(spec, "containers"), i, v)
		err = err ?: visit_container(w, v);
	return err;
}

int skiff_objrefs_take_pod(struct skiff_objrefs *r, const char *ns,
			   const json_t *spec)
{
	struct walk w = { .r = r, .ns = ns, .take = true, .limit = ~0u };
	struct walk undo = { .r = r, .ns = ns, .take = false };
	int err = visit_pod(&w, spec);

	/*
	 * A failed take (out of memory) gives back the references it took,
	 * in the same order, and no other: the counts stay as they were.
	 */
	if (err) {
		undo.limit = w.done;
		visit_pod(&undo, spec);
	}
	return err;
}

void skiff_objrefs_drop_pod(struct skiff_objrefs *r, const char *ns,
			    const json_t *spec)
{
	struct walk w = { .r = r, .ns = ns, .take = false, .limit = ~0u };

	visit_pod(&w, spec);
}
