// SPDX-License-Identifier: GPL-2.0
/*
 * Filters and scores of one pod on one node, those of kube-scheduler's
 * default profile that skiff implements: NodeReady, NodeUnschedulable,
 * NodeResourcesFit, NodeAffinity (nodeSelector and required terms),
 * TaintToleration, InterPodAffinity (required anti-affinity, both ways),
 * NodePorts; scores NodeResourcesLeastAllocated, BalancedAllocation and a
 * spread of pods of one owner over nodes. The reasons are the words
 * kube-scheduler uses, so that users recognise them.
 */

#include <stdlib.h>
#include <string.h>

#include "sched.h"
#include "nodematch.h"
#include "selector.h"

/* What kube-scheduler counts for a container without requests, to score. */
#define DEFAULT_CPU_MILLI 100
#define DEFAULT_MEM (200 * 1024 * 1024)

static int64_t container_request(const json_t *c, const char *name,
				 bool milli, bool *given)
{
	const json_t *res = json_object_get(c, "resources");
	const char *text;
	int64_t v = 0;

	/* Limits stand for requests not given, as the API defaults them. */
	text = json_string_value(json_object_get(json_object_get(res, "requests"),
						 name));
	if (!text)
		text = json_string_value(json_object_get(json_object_get(res, "limits"),
							 name));
	*given = text && !skiff_parse_quantity(text, milli, &v);
	return *given ? v : 0;
}

static void add_ports(json_t *ports, const json_t *c)
{
	const json_t *p;
	char key[96];
	size_t i;

	json_array_foreach(json_object_get(c, "ports"), i, p) {
		json_int_t port = json_integer_value(json_object_get(p, "hostPort"));
		const char *proto = json_string_value(json_object_get(p, "protocol")) ?: "TCP";
		const char *ip = json_string_value(json_object_get(p, "hostIP"));

		if (port <= 0)
			continue;
		if (!ip || !*ip)
			ip = "0.0.0.0";
		snprintf(key, sizeof(key), "%s/%lld", proto, (long long)port);
		json_object_set_new(ports, key, json_true());
		snprintf(key, sizeof(key), "%s/%lld/%s", proto, (long long)port, ip);
		json_object_set_new(ports, key, json_true());
	}
}

static void sum_requests(struct pod_req *r, const json_t *spec)
{
	int64_t cpu, mem, init_cpu = 0, init_mem = 0;
	const json_t *c;
	bool given;
	size_t i;

	json_array_foreach(json_object_get(spec, "containers"), i, c) {
		cpu = container_request(c, "cpu", true, &given);
		r->cpu += cpu;
		r->score_cpu += given ? cpu : DEFAULT_CPU_MILLI;
		mem = container_request(c, "memory", false, &given);
		r->mem += mem;
		r->score_mem += given ? mem : DEFAULT_MEM;
		add_ports(r->ports, c);
	}
	/* Init containers run one at a time, before: the largest counts. */
	json_array_foreach(json_object_get(spec, "initContainers"), i, c) {
		cpu = container_request(c, "cpu", true, &given);
		if (cpu > init_cpu)
			init_cpu = cpu;
		mem = container_request(c, "memory", false, &given);
		if (mem > init_mem)
			init_mem = mem;
	}
	if (init_cpu > r->cpu)
		r->cpu = init_cpu;
	if (init_mem > r->mem)
		r->mem = init_mem;
}

/* The node a pod is (or is about to be) on. */
static struct node_info *pod_node(struct sched *s, const char *key,
				  const json_t *pod)
{
	const char *node = json_string_value(json_object_get(s->assumed, key));

	return nodes_find(s, node ?: skiff_str(pod, "spec.nodeName") ?: "");
}

static const char *node_label(const struct node_info *n, const char *key)
{
	return json_string_value(json_object_get(n->labels, key));
}

static bool term_namespace(const json_t *term, const json_t *owner,
			   const char *ns)
{
	const json_t *list = json_object_get(term, "namespaces"), *v;
	size_t i;

	if (!json_array_size(list))
		return !strcmp(ns, skiff_meta(owner, "namespace") ?: "");
	json_array_foreach(list, i, v)
		if (!strcmp(json_string_value(v) ?: "", ns))
			return true;
	return false;
}

static bool term_selects(const json_t *term, const json_t *owner,
			 const json_t *pod)
{
	struct skiff_selector *sel;
	char err[128];
	bool match;

	if (!term_namespace(term, owner, skiff_meta(pod, "namespace") ?: ""))
		return false;
	if (!json_object_get(term, "labelSelector"))
		return false;	/* a null selector selects nothing */
	if (skiff_label_selector_from_json(json_object_get(term, "labelSelector"),
					   &sel, err, sizeof(err)))
		return false;
	match = skiff_selector_match_labels(sel,
					    json_object_get(json_object_get(pod, "metadata"),
							    "labels"));
	skiff_selector_free(sel);
	return match;
}

const json_t *pod_anti_terms(const json_t *pod)
{
	return json_object_get(json_object_get(json_object_get(json_object_get(pod, "spec"),
							       "affinity"),
					       "podAntiAffinity"),
			       "requiredDuringSchedulingIgnoredDuringExecution");
}

/* The topology value @n has under @key is taken by @r. */
static void take(struct pod_req *r, const char *key,
		 const struct node_info *n)
{
	const char *value = node_label(n, key);
	json_t *values;

	if (!value)
		return;
	values = json_object_get(r->anti_values, key);
	if (!values) {
		values = json_object();
		json_object_set_new(r->anti_values, key, values);
	}
	json_object_set_new(values, value, json_true());
}

/*
 * Required pod anti-affinity, both ways: the pod's own terms against the
 * pods placed, and the placed pods' terms against the pod. Each becomes a
 * topology value (a hostname...) the pod may not go to.
 */
static void anti_affinity(struct sched *s, struct pod_req *r,
			  const json_t *pod)
{
	const json_t *mine = pod_anti_terms(pod), *term, *other, *all, *theirs;
	const char *key, *topo;
	struct node_info *n;
	size_t i, j;

	all = skiff_informer_all(s->pods_inf);
	if (json_array_size(mine)) {
		json_object_foreach((json_t *)all, key, other) {
			if (other == pod || skiff_pod_finished(other))
				continue;
			n = pod_node(s, key, other);
			if (!n)
				continue;
			json_array_foreach(mine, i, term) {
				topo = json_string_value(json_object_get(term, "topologyKey"));
				if (topo && term_selects(term, pod, other))
					take(r, topo, n);
			}
		}
	}
	json_object_foreach(s->anti_pods, key, other) {
		theirs = pod_anti_terms(other);
		if (!json_array_size(theirs) || other == pod ||
		    skiff_pod_finished(other))
			continue;
		n = pod_node(s, key, other);
		if (!n)
			continue;
		json_array_foreach(theirs, j, term) {
			topo = json_string_value(json_object_get(term, "topologyKey"));
			if (topo && term_selects(term, other, pod))
				take(r, topo, n);
		}
	}
}

int pod_req_init(struct sched *s, struct pod_req *r, const json_t *pod)
{
	const json_t *spec;

	memset(r, 0, sizeof(*r));
	r->pod = pod;
	r->ports = json_object();
	r->anti_values = json_object();
	if (!r->ports || !r->anti_values) {
		pod_req_free(r);
		return -1;
	}
	sum_requests(r, json_object_get(pod, "spec"));
	r->owner = skiff_controller_uid(pod);
	spec = json_object_get(pod, "spec");
	r->node_selector = json_object_get(spec, "nodeSelector");
	if (!json_object_size(r->node_selector))
		r->node_selector = NULL;
	r->node_required = skiff_required_node_affinity(spec);
	r->tolerations = json_object_get(spec, "tolerations");
	/* Only when placing: a placed pod's share needs no anti-affinity. */
	if (!skiff_str(pod, "spec.nodeName") && s)
		anti_affinity(s, r, pod);
	return 0;
}

void pod_req_free(struct pod_req *r)
{
	json_decref(r->ports);
	json_decref(r->anti_values);
}

static bool ports_conflict(const struct pod_req *r, const struct node_info *n)
{
	const char *key, *second, *ip;
	char wild[96];
	json_t *v;

	json_object_foreach(r->ports, key, v) {
		second = strchr(key, '/');
		ip = second ? strchr(second + 1, '/') : NULL;
		if (!ip)
			continue;	/* "PROTO/PORT": its IP form is checked */
		ip++;
		if (!strcmp(ip, "0.0.0.0")) {
			snprintf(wild, sizeof(wild), "%.*s", (int)(ip - 1 - key), key);
			if (json_object_get(n->ports, wild))
				return true;
			continue;
		}
		snprintf(wild, sizeof(wild), "%.*s/0.0.0.0", (int)(ip - 1 - key), key);
		if (json_object_get(n->ports, wild) || json_object_get(n->ports, key))
			return true;
	}
	return false;
}

static bool anti_conflict(const struct pod_req *r, const struct node_info *n)
{
	const char *key, *value;
	json_t *values;

	json_object_foreach(r->anti_values, key, values) {
		value = node_label(n, key);
		if (value && json_object_get(values, value))
			return true;
	}
	return false;
}

const char *node_filter(const struct pod_req *r, const struct node_info *n)
{
	static char taint_reason[320];
	const json_t *taint;

	if (n->unschedulable)
		return "node(s) were unschedulable";
	if (!n->ready)
		return "node(s) were not ready";
	taint = n->taints ?
		skiff_untolerated_taint(n->taints, r->tolerations, true) : NULL;
	if (taint) {
		snprintf(taint_reason, sizeof(taint_reason),
			 "node(s) had untolerated taint {%s: %s}",
			 json_string_value(json_object_get(taint, "key")) ?: "",
			 json_string_value(json_object_get(taint, "value")) ?: "");
		return taint_reason;
	}
	if ((r->node_selector || r->node_required) &&
	    !skiff_node_affinity_matches(r->node_selector, r->node_required,
					 n->labels, n->name))
		return "node(s) didn't match Pod's node affinity/selector";
	if (n->pods + 1 > n->alloc_pods)
		return "Too many pods";
	if (r->cpu && n->req_cpu + r->cpu > n->alloc_cpu)
		return "Insufficient cpu";
	if (r->mem && n->req_mem + r->mem > n->alloc_mem)
		return "Insufficient memory";
	if (json_object_size(r->ports) && ports_conflict(r, n))
		return "node(s) didn't have free ports for the requested pod ports";
	if (json_object_size(r->anti_values) && anti_conflict(r, n))
		return "node(s) didn't match pod anti-affinity rules";
	return NULL;
}

static int64_t free_share(int64_t used, int64_t alloc)
{
	if (alloc <= 0 || used >= alloc)
		return 0;
	return (alloc - used) * 100 / alloc;
}

int64_t node_score(const struct pod_req *r, const struct node_info *n,
		   int64_t max_owned)
{
	int64_t cpu = n->score_cpu + r->score_cpu, mem = n->score_mem + r->score_mem;
	int64_t least, balanced, spread = 100, owned;
	double fc, fm, diff;

	least = (free_share(cpu, n->alloc_cpu) + free_share(mem, n->alloc_mem)) / 2;
	fc = n->alloc_cpu > 0 ? (double)cpu / n->alloc_cpu : 1;
	fm = n->alloc_mem > 0 ? (double)mem / n->alloc_mem : 1;
	if (fc > 1)
		fc = 1;
	if (fm > 1)
		fm = 1;
	diff = fc > fm ? fc - fm : fm - fc;
	balanced = (int64_t)((1 - diff / 2) * 100);
	if (r->owner && max_owned > 0) {
		owned = json_integer_value(json_object_get(n->owners, r->owner));
		spread = (max_owned - owned) * 100 / max_owned;
	}
	return least + balanced + spread;
}
