// SPDX-License-Identifier: GPL-2.0
/*
 * The Endpoints controller: keeps each Service's Endpoints object (same
 * name, same namespace) in step with the pods its selector picks, because
 * that object is what every node proxy programs into its data plane.
 *
 * A pod with an address (status.podIP) that is not being deleted and has
 * not finished is an endpoint: ready pods (or every one, with
 * publishNotReadyAddresses) in addresses, the others in notReadyAddresses,
 * each with its nodeName and a targetRef to the pod. Ports are resolved
 * per pod as Kubernetes does: a numeric targetPort is taken as it is, a
 * named one is the containerPort of that name (and protocol) in the pod,
 * and a pod without it is no endpoint of that port. Pods are grouped into
 * subsets by the ports they resolved, addresses sorted, so that the same
 * pods always give the same object and an unchanged set writes nothing.
 *
 * Services without a selector (or ExternalName ones) are left alone: their
 * Endpoints are the user's. A deleted Service's Endpoints are deleted, and
 * so, once at start, are Endpoints whose Service went while the controller
 * was away (Kubernetes' leftover check).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm.h"
#include "selector.h"

struct ep_ctl {
	struct cm *cm;
	struct skiff_informer *svcs, *pods, *eps;
	struct skiff_queue *q;
	json_t *gone;		/* service keys whose Endpoints are to go */
	bool swept;		/* the leftover check ran */
};

static struct ep_ctl ep_ctl;

/* The Service's selector, or NULL when it has none (or is ExternalName). */
static struct skiff_selector *service_selector(const json_t *svc)
{
	const json_t *spec = json_object_get(svc, "spec");
	const json_t *labels = json_object_get(spec, "selector");
	struct skiff_selector *sel = NULL;
	json_t *wrap;
	char err[128];

	if (!json_is_object(labels) || !json_object_size(labels) ||
	    !strcmp(skiff_str(spec, "type") ?: "", "ExternalName"))
		return NULL;
	wrap = json_pack("{s:O}", "matchLabels", labels);
	if (skiff_label_selector_from_json(wrap, &sel, err, sizeof(err))) {
		fprintf(stderr, "endpoints %s/%s: bad selector: %s\n",
			skiff_meta(svc, "namespace"), skiff_meta(svc, "name"),
			err);
		sel = NULL;
	}
	json_decref(wrap);
	return sel;
}

static const json_t *pod_labels(const json_t *pod)
{
	return json_object_get(json_object_get(pod, "metadata"), "labels");
}

/* Queue every Service of the pod's namespace whose selector picks it. */
static void queue_for_pod(struct ep_ctl *e, const json_t *pod)
{
	const json_t *svcs, *svc;
	struct skiff_selector *sel;
	const char *key;

	svcs = skiff_informer_indexed(e->svcs, CM_BY_NAMESPACE,
				      skiff_meta(pod, "namespace") ?: "");
	json_object_foreach((json_t *)svcs, key, svc) {
		sel = service_selector(svc);
		if (!sel)
			continue;
		if (skiff_selector_match_labels(sel, pod_labels(pod)))
			skiff_queue_add(e->q, key);
		skiff_selector_free(sel);
	}
}

/* What of a pod the Endpoints depend on. */
static json_t *pod_summary(const json_t *pod)
{
	const json_t *meta = json_object_get(pod, "metadata");

	return json_pack("{s:O?, s:O?, s:O?, s:s?, s:s?, s:b, s:s?, s:O?, s:O?, s:O?}",
			 "labels", json_object_get(meta, "labels"),
			 "uid", json_object_get(meta, "uid"),
			 "deleting", json_object_get(meta, "deletionTimestamp"),
			 "ip", skiff_str(pod, "status.podIP"),
			 "phase", skiff_str(pod, "status.phase"),
			 "ready", skiff_pod_ready(pod, NULL),
			 "node", skiff_str(pod, "spec.nodeName"),
			 "hostname", json_object_get(json_object_get(pod, "spec"),
						     "hostname"),
			 "subdomain", json_object_get(json_object_get(pod, "spec"),
						      "subdomain"),
			 "containers", json_object_get(json_object_get(pod, "spec"),
						       "containers"));
}

static void pod_changed(enum skiff_change change, const json_t *old,
			const json_t *pod, void *arg)
{
	struct ep_ctl *e = arg;

	if (change == SKIFF_MODIFIED && old) {
		json_t *a = pod_summary(old), *b = pod_summary(pod);
		bool same = json_equal(a, b);

		json_decref(a);
		json_decref(b);
		if (same)
			return;
		if (!json_equal(pod_labels(old), pod_labels(pod)))
			queue_for_pod(e, old);
	}
	queue_for_pod(e, pod);
}

static void svc_changed(enum skiff_change change, const json_t *old,
			const json_t *svc, void *arg)
{
	struct ep_ctl *e = arg;
	char *key = skiff_object_key(svc);

	(void)old;
	if (!key)
		return;
	if (change == SKIFF_DELETED)
		json_object_set_new(e->gone, key, json_true());
	else
		json_object_del(e->gone, key);
	skiff_queue_add(e->q, key);
	free(key);
}

/* Endpoints someone else changed or deleted are put back. */
static void ep_changed(enum skiff_change change, const json_t *old,
		       const json_t *ep, void *arg)
{
	struct ep_ctl *e = arg;
	char *key = skiff_object_key(ep);

	(void)change;
	(void)old;
	if (key && skiff_informer_get(e->svcs, skiff_meta(ep, "namespace"),
				      skiff_meta(ep, "name")))
		skiff_queue_add(e->q, key);
	free(key);
}

/*
 * Kubernetes' podutil.FindPort: the port @sport's targetPort means in
 * @pod, or -1.
 */
static json_int_t find_port(const json_t *pod, const json_t *sport)
{
	const json_t *target = json_object_get(sport, "targetPort");
	const char *proto = skiff_str(sport, "protocol") ?: "TCP";
	const json_t *ctrs = json_object_get(json_object_get(pod, "spec"),
					     "containers");
	const json_t *ctr, *ports, *p;
	const char *name;
	size_t i, j;

	if (json_is_integer(target))
		return json_integer_value(target) ?:
		       skiff_int(sport, "port", -1);
	name = json_string_value(target);
	if (!name || !*name)
		return skiff_int(sport, "port", -1);
	json_array_foreach(ctrs, i, ctr) {
		ports = json_object_get(ctr, "ports");
		json_array_foreach(ports, j, p) {
			if (strcmp(skiff_str(p, "name") ?: "", name) ||
			    strcmp(skiff_str(p, "protocol") ?: "TCP", proto))
				continue;
			return skiff_int(p, "containerPort", -1);
		}
	}
	return -1;
}

/* The ports of @svc that @pod serves, in the Service's order. */
static json_t *pod_ports(const json_t *svc, const json_t *pod)
{
	const json_t *sports = json_object_get(json_object_get(svc, "spec"),
					       "ports"), *sp;
	json_t *out = json_array(), *ep;
	json_int_t num;
	size_t i;

	json_array_foreach(sports, i, sp) {
		num = find_port(pod, sp);
		if (num < 1 || num > 65535) {
			fprintf(stderr,
				"endpoints %s/%s: pod %s has no port %s\n",
				skiff_meta(svc, "namespace"),
				skiff_meta(svc, "name"), skiff_meta(pod, "name"),
				json_is_string(json_object_get(sp, "targetPort")) ?
				json_string_value(json_object_get(sp, "targetPort")) :
				"(number)");
			continue;
		}
		ep = json_pack("{s:I, s:s}", "port", num, "protocol",
			       skiff_str(sp, "protocol") ?: "TCP");
		if (skiff_str(sp, "name") && *skiff_str(sp, "name"))
			json_object_set(ep, "name", json_object_get(sp, "name"));
		if (json_object_get(sp, "appProtocol"))
			json_object_set(ep, "appProtocol",
					json_object_get(sp, "appProtocol"));
		json_array_append_new(out, ep);
	}
	return out;
}

/* Kubernetes' ShouldPodBeInEndpoints. */
static bool pod_is_endpoint(const json_t *pod, bool unready_too)
{
	const char *restart = skiff_str(pod, "spec.restartPolicy") ?: "Always";
	const char *phase = skiff_str(pod, "status.phase") ?: "";
	const char *ip = skiff_str(pod, "status.podIP");

	if (!ip || !*ip)
		return false;
	if (!unready_too && skiff_deleting(pod))
		return false;
	if (!strcmp(restart, "Never"))
		return strcmp(phase, "Succeeded") && strcmp(phase, "Failed");
	if (!strcmp(restart, "OnFailure"))
		return strcmp(phase, "Succeeded");
	return true;
}

static json_t *pod_address(const json_t *svc, const json_t *pod)
{
	const json_t *spec = json_object_get(pod, "spec");
	json_t *addr;

	addr = json_pack("{s:s, s:{s:s, s:s?, s:s?, s:s?}}",
			 "ip", skiff_str(pod, "status.podIP"),
			 "targetRef", "kind", "Pod",
			 "namespace", skiff_meta(pod, "namespace"),
			 "name", skiff_meta(pod, "name"),
			 "uid", skiff_meta(pod, "uid"));
	if (!addr)
		return NULL;
	if (skiff_str(pod, "spec.nodeName") && *skiff_str(pod, "spec.nodeName"))
		json_object_set(addr, "nodeName",
				json_object_get(spec, "nodeName"));
	/* A pod of a headless subdomain is known by its hostname. */
	if (skiff_str(pod, "spec.hostname") &&
	    !strcmp(skiff_str(pod, "spec.subdomain") ?: "",
		    skiff_meta(svc, "name")))
		json_object_set(addr, "hostname",
				json_object_get(spec, "hostname"));
	return addr;
}

static int address_order(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a;
	const json_t *y = *(const json_t *const *)b;

	return strcmp(skiff_str(x, "ip") ?: "", skiff_str(y, "ip") ?: "") ?:
	       strcmp(skiff_str(x, "targetRef.name") ?: "",
		      skiff_str(y, "targetRef.name") ?: "");
}

static int key_order(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts a JSON array of addresses in place. */
static void sort_addresses(json_t *list)
{
	size_t n = json_array_size(list), i;
	json_t **items;

	if (n < 2)
		return;
	items = malloc(n * sizeof(*items));
	if (!items)
		return;
	for (i = 0; i < n; i++)
		items[i] = json_incref(json_array_get(list, i));
	qsort(items, n, sizeof(*items), address_order);
	json_array_clear(list);
	for (i = 0; i < n; i++)
		json_array_append_new(list, items[i]);
	free(items);
}

/*
 * The subsets of @svc: one per distinct set of resolved ports, in the
 * order of that set's text, addresses sorted by IP.
 */
static json_t *build_subsets(struct ep_ctl *e, const json_t *svc,
			     const struct skiff_selector *sel)
{
	const json_t *spec = json_object_get(svc, "spec");
	bool unready_too = json_is_true(json_object_get(spec,
							"publishNotReadyAddresses"));
	bool headless = !strcmp(skiff_str(spec, "clusterIP") ?: "", "None");
	const json_t *pods, *pod;
	json_t *groups = json_object(), *subsets = json_array(), *g, *ports;
	const char *pkey, *gkey;
	const char **keys;
	size_t n = 0, i;
	char *text;

	pods = skiff_informer_indexed(e->pods, CM_BY_NAMESPACE,
				      skiff_meta(svc, "namespace"));
	json_object_foreach((json_t *)pods, pkey, pod) {
		bool ready;

		if (!skiff_selector_match_labels(sel, pod_labels(pod)) ||
		    !pod_is_endpoint(pod, unready_too))
			continue;
		ports = pod_ports(svc, pod);
		/* No port resolved: no endpoint, unless headless and portless. */
		if (!json_array_size(ports) &&
		    (json_array_size(json_object_get(spec, "ports")) || !headless)) {
			json_decref(ports);
			continue;
		}
		text = json_dumps(ports, JSON_COMPACT | JSON_SORT_KEYS);
		g = text ? json_object_get(groups, text) : NULL;
		if (text && !g) {
			g = json_pack("{s:o, s:[], s:[]}", "ports", ports,
				      "addresses", "notReadyAddresses");
			json_object_set_new(groups, text, g);
		} else {
			json_decref(ports);
		}
		free(text);
		if (!g)
			continue;
		ready = unready_too || skiff_pod_ready(pod, NULL);
		json_array_append_new(json_object_get(g, ready ? "addresses" :
						      "notReadyAddresses"),
				      pod_address(svc, pod));
	}
	keys = calloc(json_object_size(groups) + 1, sizeof(*keys));
	json_object_foreach(groups, gkey, g)
		if (keys)
			keys[n++] = gkey;
	if (keys)
		qsort(keys, n, sizeof(*keys), key_order);
	for (i = 0; i < n; i++) {
		g = json_deep_copy(json_object_get(groups, keys[i]));
		sort_addresses(json_object_get(g, "addresses"));
		sort_addresses(json_object_get(g, "notReadyAddresses"));
		/* Empty lists are left out, as Kubernetes writes them. */
		if (!json_array_size(json_object_get(g, "addresses")))
			json_object_del(g, "addresses");
		if (!json_array_size(json_object_get(g, "notReadyAddresses")))
			json_object_del(g, "notReadyAddresses");
		if (!json_array_size(json_object_get(g, "ports")))
			json_object_del(g, "ports");
		json_array_append_new(subsets, g);
	}
	free(keys);
	json_decref(groups);
	return subsets;
}

/* The Service's labels, and Kubernetes' mark of a headless one. */
static json_t *endpoints_labels(const json_t *svc)
{
	json_t *labels = json_deep_copy(json_object_get(json_object_get(svc, "metadata"),
							"labels"));

	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	if (!strcmp(skiff_str(svc, "spec.clusterIP") ?: "", "None"))
		json_object_set_new(labels, "service.kubernetes.io/headless",
				    json_string(""));
	else
		json_object_del(labels, "service.kubernetes.io/headless");
	return labels;
}

static bool same_or_empty(const json_t *a, const json_t *b, bool array)
{
	size_t na = array ? json_array_size(a) : json_object_size(a);
	size_t nb = array ? json_array_size(b) : json_object_size(b);

	return (!na && !nb) || json_equal(a, b);
}

/* Deletes the Endpoints of a Service that is gone. */
static void delete_leftover(struct ep_ctl *e, const char *key,
			    const json_t *ep)
{
	if (!ep) {
		json_object_del(e->gone, key);
		return;
	}
	cm_write(e->cm, e->q, key, e->eps, "DELETE",
		 skiff_path(&skiff_endpoints, skiff_meta(ep, "namespace"),
			    skiff_meta(ep, "name"), NULL), NULL, NULL);
}

/* Once, when the caches are first complete: Endpoints without a Service. */
static void sweep(struct ep_ctl *e)
{
	const json_t *ep;
	const char *key;

	e->swept = true;
	json_object_foreach((json_t *)skiff_informer_all(e->eps), key, ep) {
		if (json_object_get(skiff_informer_all(e->svcs), key))
			continue;
		json_object_set_new(e->gone, key, json_true());
		skiff_queue_add(e->q, key);
	}
}

static void reconcile(const char *key, void *arg)
{
	struct ep_ctl *e = arg;
	const json_t *svc, *ep;
	struct skiff_selector *sel;
	json_t *subsets, *labels, *body;
	const char *ns, *name;

	if (!e->swept)
		sweep(e);
	if (!strchr(key, '/'))
		return;
	svc = json_object_get(skiff_informer_all(e->svcs), key);
	ep = json_object_get(skiff_informer_all(e->eps), key);
	if (!svc) {
		if (json_object_get(e->gone, key))
			delete_leftover(e, key, ep);
		return;
	}
	sel = service_selector(svc);
	if (!sel)
		return;
	ns = skiff_meta(svc, "namespace");
	name = skiff_meta(svc, "name");
	subsets = build_subsets(e, svc, sel);
	skiff_selector_free(sel);
	labels = endpoints_labels(svc);
	if (ep && same_or_empty(json_object_get(ep, "subsets"), subsets, true) &&
	    same_or_empty(json_object_get(json_object_get(ep, "metadata"), "labels"),
			  labels, false)) {
		json_decref(subsets);
		json_decref(labels);
		return;
	}
	if (ep) {
		/* The whole object, at the version seen: a race is a 409. */
		body = json_deep_copy(ep);
		json_object_set_new(json_object_get(body, "metadata"), "labels",
				    labels);
		json_object_set_new(body, "subsets", subsets);
		cm_write(e->cm, e->q, key, e->eps, "PUT",
			 skiff_path(&skiff_endpoints, ns, name, NULL), NULL,
			 body);
	} else {
		body = json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:o}",
				 "apiVersion", "v1", "kind", "Endpoints",
				 "metadata", "name", name, "namespace", ns,
				 "labels", labels, "subsets", subsets);
		cm_write(e->cm, e->q, key, e->eps, "POST",
			 skiff_path(&skiff_endpoints, ns, NULL, NULL), NULL,
			 body);
	}
	json_decref(body);
}

static int endpoints_start(struct cm *cm)
{
	struct ep_ctl *e = &ep_ctl;

	e->cm = cm;
	e->svcs = cm_informer(cm, &skiff_services);
	e->pods = cm_informer(cm, &skiff_pods);
	e->eps = cm_informer(cm, &skiff_endpoints);
	e->q = cm_queue(cm, reconcile, e);
	e->gone = json_object();
	if (!e->svcs || !e->pods || !e->eps || !e->q || !e->gone ||
	    skiff_informer_on_change(e->svcs, svc_changed, e) ||
	    skiff_informer_on_change(e->pods, pod_changed, e) ||
	    skiff_informer_on_change(e->eps, ep_changed, e))
		return -1;
	/* A key that is no Service's: the leftover check, once synced. */
	skiff_queue_add(e->q, "");
	return 0;
}

CM_CONTROLLER(endpoints, endpoints_start)
