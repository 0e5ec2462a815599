// SPDX-License-Identifier: GPL-2.0
/*
 * The Namespace controller: empties a namespace being deleted, then lets
 * it go. `kubectl delete namespace X` marks X deleting (phase
 * Terminating); X carries the finalizer "kubernetes" in spec.finalizers,
 * which is this controller's: it deletes every object in X, kind by kind
 * (one delete-collection request per kind, propagationPolicy Background),
 * waits until none is left (pods finish their graceful deletion, objects
 * with finalizers wait for them), then removes its finalizer through
 * PUT /api/v1/namespaces/X/finalize, and the apiserver deletes X.
 *
 * While content remains, the namespace's status says why, with
 * Kubernetes' conditions NamespaceContentRemaining and
 * NamespaceFinalizersRemaining (and the three discovery and deletion
 * conditions, False), so that `kubectl describe namespace` explains a
 * namespace stuck Terminating.
 *
 * The kinds it empties are those the controller manager knows
 * (skiff_all_kinds), which are those the apiserver serves.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm.h"

#define FINALIZER "kubernetes"
#define CONTENT_DELETED \
	"All content successfully deleted, may be waiting on finalization"
/* Looked at again this often while content remains (events do it sooner). */
#define RECHECK_MS 5000

struct ns_ctl {
	struct cm *cm;
	struct skiff_informer *nss;
	struct skiff_informer **content;	/* every namespaced kind */
	unsigned int n_content;
	struct skiff_queue *q;
};

static struct ns_ctl ns_ctl;

static bool has_spec_finalizer(const json_t *ns)
{
	const json_t *fins = json_object_get(json_object_get(ns, "spec"),
					     "finalizers"), *f;
	size_t i;

	json_array_foreach(fins, i, f)
		if (!strcmp(json_string_value(f) ?: "", FINALIZER))
			return true;
	return false;
}

static void ns_changed(enum skiff_change change, const json_t *old,
		       const json_t *ns, void *arg)
{
	struct ns_ctl *n = arg;

	(void)old;
	if (change != SKIFF_DELETED && skiff_deleting(ns))
		skiff_queue_add(n->q, skiff_meta(ns, "name") ?: "");
}

/* Content that changes in a namespace being deleted: look at it again. */
static void content_changed(enum skiff_change change, const json_t *old,
			    const json_t *obj, void *arg)
{
	struct ns_ctl *n = arg;
	const char *name = skiff_meta(obj, "namespace");
	const json_t *ns;

	(void)change;
	(void)old;
	if (!name)
		return;
	ns = skiff_informer_get(n->nss, NULL, name);
	if (ns && skiff_deleting(ns))
		skiff_queue_add(n->q, name);
}

static json_t *cond(const char *type, bool on, const char *reason,
		    const char *message, const json_t *old_conds,
		    const char *now)
{
	const json_t *c, *was = NULL;
	const char *status = on ? "True" : "False";
	size_t i;

	json_array_foreach(old_conds, i, c)
		if (!strcmp(skiff_str(c, "type") ?: "", type))
			was = c;
	/* The transition time moves only when the status does. */
	if (was && !strcmp(skiff_str(was, "status") ?: "", status) &&
	    !strcmp(skiff_str(was, "reason") ?: "", reason) &&
	    !strcmp(skiff_str(was, "message") ?: "", message))
		return json_deep_copy(was);
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", type,
			 "status", status, "reason", reason,
			 "message", message, "lastTransitionTime",
			 was && !strcmp(skiff_str(was, "status") ?: "", status) ?
			 skiff_str(was, "lastTransitionTime") ?: now : now);
}

/* Appends @part to the comma separated list in @buf. */
static void add_part(char *buf, size_t len, const char *part)
{
	size_t used = strlen(buf);

	if (used < len - 1)
		snprintf(buf + used, len - used, "%s%s", used ? ", " : "", part);
}

static void update_status(struct ns_ctl *n, const char *key, const json_t *ns,
			  const char *remaining, const char *finalizers)
{
	const json_t *status = json_object_get(ns, "status");
	const json_t *old = json_object_get(status, "conditions");
	json_t *conds, *patch;
	char now[40], text[1200];

	skiff_time_now(now, sizeof(now));
	conds = json_array();
	json_array_append_new(conds, cond("NamespaceDeletionDiscoveryFailure", false,
					  "ResourcesDiscovered",
					  "All resources successfully discovered",
					  old, now));
	json_array_append_new(conds, cond("NamespaceDeletionGroupVersionParsingFailure",
					  false, "ParsedGroupVersions",
					  "All legacy kube types successfully parsed",
					  old, now));
	json_array_append_new(conds, cond("NamespaceDeletionContentFailure", false,
					  "ContentDeleted", CONTENT_DELETED, old, now));
	snprintf(text, sizeof(text), "Some resources are remaining: %s", remaining);
	json_array_append_new(conds, cond("NamespaceContentRemaining", *remaining,
					  *remaining ? "SomeResourcesRemain" :
					  "ContentRemoved",
					  *remaining ? text :
					  "All content successfully removed",
					  old, now));
	snprintf(text, sizeof(text),
		 "Some content in the namespace has finalizers remaining: %s",
		 finalizers);
	json_array_append_new(conds, cond("NamespaceFinalizersRemaining", *finalizers,
					  *finalizers ? "SomeFinalizersRemain" :
					  "ContentHasNoFinalizers",
					  *finalizers ? text :
					  "All content-preserving finalizers finished",
					  old, now));
	if (json_equal(conds, old) &&
	    !strcmp(skiff_str(status, "phase") ?: "", "Terminating")) {
		json_decref(conds);
		return;
	}
	patch = json_pack("{s:{s:s, s:o}}", "status", "phase", "Terminating",
			  "conditions", conds);
	cm_write(n->cm, n->q, key, n->nss, "PATCH",
		 skiff_path(&skiff_namespaces, NULL, skiff_meta(ns, "name"), "status"),
		 "application/merge-patch+json", patch);
	json_decref(patch);
}

/* PUT .../finalize with spec.finalizers less ours, at the version seen. */
static void finalize(struct ns_ctl *n, const char *key, const json_t *ns)
{
	const json_t *fins = json_object_get(json_object_get(ns, "spec"),
					     "finalizers"), *f;
	json_t *keep = json_array(), *body;
	size_t i;

	json_array_foreach(fins, i, f)
		if (strcmp(json_string_value(f) ?: "", FINALIZER))
			json_array_append(keep, (json_t *)f);
	body = json_pack("{s:s, s:s, s:{s:s, s:s?}, s:{s:o}}",
			 "apiVersion", "v1", "kind", "Namespace",
			 "metadata", "name", skiff_meta(ns, "name"),
			 "resourceVersion", skiff_meta(ns, "resourceVersion"),
			 "spec", "finalizers", keep);
	cm_write(n->cm, n->q, key, n->nss, "PUT",
		 skiff_path(&skiff_namespaces, NULL, skiff_meta(ns, "name"),
			    "finalize"),
		 NULL, body);
	json_decref(body);
}

/* Adds the object's finalizers to the count per finalizer in @seen. */
static void count_finalizers(json_t *seen, const json_t *obj)
{
	const json_t *fins = json_object_get(json_object_get(obj, "metadata"),
					     "finalizers"), *v;
	const char *name;
	json_int_t n;
	size_t i;

	json_array_foreach(fins, i, v) {
		name = json_string_value(v) ?: "";
		n = json_integer_value(json_object_get(seen, name));
		json_object_set_new(seen, name, json_integer(n + 1));
	}
}

static void reconcile(const char *key, void *arg)
{
	struct ns_ctl *n = arg;
	const json_t *ns = skiff_informer_get(n->nss, NULL, key), *objs, *obj;
	char remaining[1024] = "", finalizers[1024] = "", part[400];
	const char *slash;
	const struct skiff_kind *kind;
	json_t *fins_seen, *opts, *v;
	size_t left = 0, count;
	const char *okey, *fname;
	bool to_delete;
	unsigned int k;

	if (!ns || !skiff_deleting(ns) || !has_spec_finalizer(ns))
		return;
	fins_seen = json_object();
	opts = json_pack("{s:s, s:s, s:s}", "apiVersion", "v1",
			 "kind", "DeleteOptions", "propagationPolicy", "Background");
	for (k = 0; k < n->n_content; k++) {
		kind = skiff_informer_kind(n->content[k]);
		objs = skiff_informer_indexed(n->content[k], CM_BY_NAMESPACE, key);
		count = json_object_size(objs);
		if (!count)
			continue;
		left += count;
		/* As Kubernetes names them: pods, deployments.apps. */
		slash = strchr(kind->api_version, '/');
		snprintf(part, sizeof(part), "%s%s%.*s has %zu resource instances",
			 kind->plural, slash ? "." : "",
			 slash ? (int)(slash - kind->api_version) : 0,
			 kind->api_version, count);
		add_part(remaining, sizeof(remaining), part);
		to_delete = false;
		json_object_foreach((json_t *)objs, okey, obj) {
			to_delete |= !skiff_deleting(obj);
			count_finalizers(fins_seen, obj);
		}
		/* One request for the kind; what is already going is left to go. */
		if (to_delete)
			cm_write(n->cm, n->q, key, NULL, "DELETE",
				 skiff_path(kind, key, NULL, NULL), NULL, opts);
	}
	json_decref(opts);
	json_object_foreach(fins_seen, fname, v) {
		snprintf(part, sizeof(part), "%s in %lld resource instances", fname,
			 (long long)json_integer_value(v));
		add_part(finalizers, sizeof(finalizers), part);
	}
	json_decref(fins_seen);
	/* Empty: the status would only be written to a namespace going. */
	if (!left) {
		finalize(n, key, ns);
		return;
	}
	update_status(n, key, ns, remaining, finalizers);
	skiff_queue_add_after(n->q, key, RECHECK_MS);
}

static int namespace_start(struct cm *cm)
{
	struct ns_ctl *n = &ns_ctl;
	unsigned int i, count = 0;

	n->cm = cm;
	for (i = 0; skiff_all_kinds[i]; i++)
		count += skiff_all_kinds[i]->namespaced;
	n->content = calloc(count, sizeof(*n->content));
	n->nss = cm_informer(cm, &skiff_namespaces);
	n->q = cm_queue(cm, reconcile, n);
	if (!n->content || !n->nss || !n->q ||
	    skiff_informer_on_change(n->nss, ns_changed, n))
		return -1;
	for (i = 0; skiff_all_kinds[i]; i++) {
		if (!skiff_all_kinds[i]->namespaced)
			continue;
		n->content[n->n_content] = cm_informer(cm, skiff_all_kinds[i]);
		if (!n->content[n->n_content] ||
		    skiff_informer_on_change(n->content[n->n_content],
					     content_changed, n))
			return -1;
		n->n_content++;
	}
	return 0;
}

CM_CONTROLLER(namespace, namespace_start)
