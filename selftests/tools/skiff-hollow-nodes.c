// SPDX-License-Identifier: GPL-2.0
/*
 * skiff-hollow-nodes: nodes without containers, for the control plane's
 * tests and benchmarks (kubemark's hollow nodes). Registers Nodes, keeps
 * their heartbeat Leases fresh, and, with --run-pods, plays the kubelet
 * for pods bound to them: marks them Running and Ready with an address,
 * and finishes their deletion. A pod's annotations steer it:
 *
 *	hollow.skiff.dev/ready: "false"   Running, not Ready
 *	hollow.skiff.dev/exit: "0" | "1"  Succeeded | Failed (a Job's pod)
 *
 *	skiff-hollow-nodes --server URL [--nodes N] [--prefix NAME]
 *		[--cpu MILLI] [--memory BYTES] [--pods N] [--label K=V]...
 *		[--taint K=V:EFFECT]... [--run-pods] [--heartbeat D]
 *
 * One node is named PREFIX (--nodes 1), several PREFIX-0..N-1.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "informer.h"
#include "leader.h"

#define PROG "skiff-hollow-nodes"
#define NODE_LEASE_NS "kube-node-lease"

struct hollow {
	struct skiff_client *c;
	struct skiff_informer *pods;
	const char *prefix;
	int n_nodes;
	long cpu_milli;
	long long memory;
	int max_pods;
	json_t *labels;
	json_t *taints;
	int64_t heartbeat_ms;
	unsigned int next_ip;
	unsigned long beats;
	int first_round;	/* first Lease writes not answered yet */
	json_t *mine;		/* node name -> index */
	json_t *busy;		/* pod key -> true: a write in flight */
};

static void node_name(const struct hollow *h, int i, char *out, size_t len)
{
	if (h->n_nodes == 1)
		snprintf(out, len, "%s", h->prefix);
	else
		snprintf(out, len, "%s-%d", h->prefix, i);
}

#define NODE_FORMAT \
	"{s:s, s:s, s:{s:s, s:o}, s:{s:O}, s:{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:s, s:s, s:s, s:s}], s:[{s:s, s:s}]}}"

static json_t *node_object(const struct hollow *h, int i)
{
	char name[256], cpu[32], mem[32], pods[16], addr[32], now[40];
	json_t *node, *labels;

	node_name(h, i, name, sizeof(name));
	snprintf(cpu, sizeof(cpu), "%ldm", h->cpu_milli);
	snprintf(mem, sizeof(mem), "%lld", h->memory);
	snprintf(pods, sizeof(pods), "%d", h->max_pods);
	snprintf(addr, sizeof(addr), "192.0.%d.%d", (i / 250) % 256, i % 250 + 1);
	skiff_time_now(now, sizeof(now));
	labels = json_deep_copy(h->labels);
	json_object_set_new(labels, "kubernetes.io/hostname", json_string(name));
	json_object_set_new(labels, "kubernetes.io/os", json_string("linux"));
	node = json_pack(NODE_FORMAT,
			 "apiVersion", "v1", "kind", "Node",
			 "metadata", "name", name, "labels", labels,
			 "spec", "taints", h->taints,
			 "status",
			 "capacity", "cpu", cpu, "memory", mem, "pods", pods,
			 "allocatable", "cpu", cpu, "memory", mem, "pods", pods,
			 "conditions", "type", "Ready", "status", "True",
			 "reason", "KubeletReady",
			 "message", "hollow node is posting ready status",
			 "lastHeartbeatTime", now, "lastTransitionTime", now,
			 "addresses", "type", "InternalIP", "address", addr);
	return node;
}

static void renew_done(long code, json_t *answer, void *arg)
{
	struct hollow *h = arg;

	(void)answer;
	if (code != 200 && code != 201 && code != 409)
		fprintf(stderr, PROG ": lease renewal: HTTP %ld\n", code);
	/* Up once every node has its Lease: a test can start from there. */
	if (h->first_round && !--h->first_round)
		fprintf(stderr, PROG ": %d node(s) %s up\n", h->n_nodes,
			h->prefix);
}

/* Every node's Lease, created or replaced, with a fresh renewTime. */
static void heartbeat(void *arg)
{
	struct hollow *h = arg;
	char name[256], now[40];
	json_t *lease;
	int i;

	skiff_microtime_now(now, sizeof(now));
	for (i = 0; i < h->n_nodes; i++) {
		node_name(h, i, name, sizeof(name));
		lease = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i, s:s}}",
				  "apiVersion", "coordination.k8s.io/v1",
				  "kind", "Lease", "metadata", "name", name,
				  "namespace", NODE_LEASE_NS, "spec",
				  "holderIdentity", name,
				  "leaseDurationSeconds", 40, "renewTime", now);
		/* Created the first time, renewed after. */
		if (!h->beats)
			skiff_client_send(h->c, "POST",
					  skiff_path(&skiff_leases, NODE_LEASE_NS,
						     NULL, NULL),
					  NULL, lease, renew_done, h);
		else
			skiff_client_send(h->c, "PATCH",
					  skiff_path(&skiff_leases, NODE_LEASE_NS,
						     name, NULL),
					  "application/merge-patch+json", lease,
					  renew_done, h);
		json_decref(lease);
	}
	h->beats++;
	skiff_loop_after(skiff_client_loop(h->c), h->heartbeat_ms, heartbeat, h);
}

struct pod_write {
	struct hollow *h;
	char uid[64];		/* a deletion's pod */
	char key[];
};

static void pod_changed(enum skiff_change change, const json_t *old,
			const json_t *pod, void *arg);

static void pod_written(long code, json_t *answer, void *arg)
{
	struct pod_write *w = arg;
	const json_t *pod;

	if (code == 200 || code == 201)
		skiff_informer_wrote(w->h->pods, answer, false);
	else if (code != 404 && code != 409)
		fprintf(stderr, PROG ": pod %s: HTTP %ld\n", w->key, code);
	json_object_del(w->h->busy, w->key);
	/*
	 * Changes heard while the write was in flight were passed over: look
	 * at the pod again (after a deletion, only at a new pod of that name).
	 */
	pod = json_object_get(skiff_informer_all(w->h->pods), w->key);
	if ((code == 200 || code == 201) && pod &&
	    strcmp(skiff_meta(pod, "uid") ?: "", w->uid))
		pod_changed(SKIFF_MODIFIED, NULL, pod, w->h);
	free(w);
}

static void pod_send(struct hollow *h, const char *key, const char *method,
		     char *path, const char *type, const json_t *body,
		     const json_t *pod)
{
	struct pod_write *w = malloc(sizeof(*w) + strlen(key) + 1);

	if (!w) {
		free(path);
		return;
	}
	w->h = h;
	snprintf(w->uid, sizeof(w->uid), "%s",
		 strcmp(method, "DELETE") ? "" : skiff_meta(pod, "uid") ?: "");
	strcpy(w->key, key);
	json_object_set_new(h->busy, key, json_true());
	if (skiff_client_send(h->c, method, path, type, body, pod_written, w)) {
		json_object_del(h->busy, key);
		free(w);
	}
}

static const char *annotation(const json_t *pod, const char *name)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(pod, "metadata"),
								 "annotations"),
						 name));
}

#define STATUS_FORMAT \
	"{s:{s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}]}}"

/* The status a kubelet would report for @pod now; NULL if it has it. */
static json_t *wanted_status(struct hollow *h, const json_t *pod)
{
	const char *ready = annotation(pod, "hollow.skiff.dev/ready");
	const char *exit_code = annotation(pod, "hollow.skiff.dev/exit");
	const char *phase = "Running", *ip;
	bool is_ready = !ready || strcmp(ready, "false");
	char addr[32], now[40];

	if (exit_code) {
		phase = strcmp(exit_code, "0") ? "Failed" : "Succeeded";
		is_ready = false;
	}
	if (!strcmp(skiff_str(pod, "status.phase") ?: "", phase) &&
	    skiff_pod_ready(pod, NULL) == is_ready)
		return NULL;
	ip = skiff_str(pod, "status.podIP");
	if (!ip) {
		/* Unique among the pods this process ran. */
		h->next_ip++;
		snprintf(addr, sizeof(addr), "10.%u.%u.%u",
			 200 + (h->next_ip >> 16) % 50,
			 (h->next_ip >> 8) & 0xff, h->next_ip & 0xff);
		ip = addr;
	}
	skiff_time_now(now, sizeof(now));
	return json_pack(STATUS_FORMAT,
			 "status", "phase", phase, "podIP", ip,
			 "hostIP", "192.0.0.1", "startTime", now,
			 "conditions",
			 "type", "PodScheduled", "status", "True",
			 "lastTransitionTime", now,
			 "type", "Ready", "status", is_ready ? "True" : "False",
			 "lastTransitionTime", now,
			 "type", "ContainersReady", "status",
			 is_ready ? "True" : "False",
			 "lastTransitionTime", now);
}

static void pod_changed(enum skiff_change change, const json_t *old,
			const json_t *pod, void *arg)
{
	struct hollow *h = arg;
	const char *node = skiff_str(pod, "spec.nodeName");
	json_t *status;
	char *key;

	(void)old;
	if (change == SKIFF_DELETED || !node || !json_object_get(h->mine, node))
		return;
	key = skiff_object_key(pod);
	if (!key || json_object_get(h->busy, key)) {
		free(key);
		return;
	}
	status = skiff_deleting(pod) ? NULL : wanted_status(h, pod);
	if (skiff_deleting(pod)) {
		/* The containers are gone at once: finish the deletion. */
		pod_send(h, key, "DELETE",
			 skiff_path(&skiff_pods, skiff_meta(pod, "namespace"),
				    skiff_meta(pod, "name"), NULL),
			 NULL, json_pack("{s:s, s:s, s:i}", "apiVersion", "v1",
					 "kind", "DeleteOptions",
					 "gracePeriodSeconds", 0), pod);
	} else if (status) {
		pod_send(h, key, "PATCH",
			 skiff_path(&skiff_pods, skiff_meta(pod, "namespace"),
				    skiff_meta(pod, "name"), "status"),
			 "application/merge-patch+json", status, pod);
		json_decref(status);
	}
	free(key);
}

/*
 * The node was there (a restart): its status is posted again, Ready, as a
 * kubelet does when it starts (the node lifecycle controller may have set
 * it Unknown while this process was away). 409 when done, as the POST.
 */
static long restart_status(struct hollow *h, const char *name,
			   const json_t *node)
{
	json_t *patch = json_pack("{s:O}", "status", json_object_get(node, "status"));
	char *path = skiff_path(&skiff_nodes, NULL, name, "status");
	long code;

	code = path ? skiff_client_call(h->c, "PATCH", path,
					"application/merge-patch+json", patch,
					NULL) : 0;
	free(path);
	json_decref(patch);
	return code == 200 ? 409 : code;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " --server URL [--nodes N] [--prefix NAME] [--cpu MILLI]\n"
		"       [--memory BYTES] [--pods N] [--label K=V]... [--taint K=V:EFFECT]...\n"
		"       [--run-pods] [--heartbeat D]\n");
}

static int add_taint(json_t *taints, const char *text)
{
	const char *eq = strchr(text, '='), *colon = strrchr(text, ':');

	if (!eq || !colon || colon < eq || eq == text)
		return -1;
	json_array_append_new(taints,
			      json_pack("{s:s%, s:s%, s:s}",
					"key", text, (size_t)(eq - text),
					"value", eq + 1, (size_t)(colon - eq - 1),
					"effect", colon + 1));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "nodes", required_argument, NULL, 'n' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "pods", required_argument, NULL, 'P' },
		{ "label", required_argument, NULL, 'l' },
		{ "taint", required_argument, NULL, 't' },
		{ "run-pods", no_argument, NULL, 'r' },
		{ "heartbeat", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hollow h = {
		.prefix = "hollow", .n_nodes = 1, .cpu_milli = 4000,
		.memory = 8LL << 30, .max_pods = 110, .heartbeat_ms = 10000,
	};
	const char *server = "http://127.0.0.1:8080";
	bool run_pods = false;
	struct skiff_loop *loop;
	char name[256], *eq;
	json_t *node, *ns;
	long code;
	int opt, i;

	h.labels = json_object();
	h.taints = json_array();
	h.mine = json_object();
	h.busy = json_object();
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			server = optarg;
			break;
		case 'n':
			h.n_nodes = atoi(optarg);
			break;
		case 'p':
			h.prefix = optarg;
			break;
		case 'c':
			h.cpu_milli = atol(optarg);
			break;
		case 'm':
			h.memory = atoll(optarg);
			break;
		case 'P':
			h.max_pods = atoi(optarg);
			break;
		case 'l':
			eq = strchr(optarg, '=');
			if (!eq) {
				fprintf(stderr, PROG ": --label: want K=V\n");
				return 2;
			}
			json_object_set_new(h.labels,
					    strndup(optarg, eq - optarg),
					    json_string(eq + 1));
			break;
		case 't':
			if (add_taint(h.taints, optarg)) {
				fprintf(stderr, PROG ": --taint: want K=V:EFFECT\n");
				return 2;
			}
			break;
		case 'r':
			run_pods = true;
			break;
		case 'b':
			h.heartbeat_ms = skiff_parse_duration(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (h.n_nodes < 1 || h.cpu_milli < 1 || h.memory < 1 ||
	    h.max_pods < 1 || h.heartbeat_ms <= 0) {
		usage(stderr);
		return 2;
	}
	loop = skiff_loop_new();
	h.c = loop ? skiff_client_new(loop, server) : NULL;
	if (!h.c)
		return 1;
	ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1",
		       "kind", "Namespace", "metadata", "name", NODE_LEASE_NS);
	code = skiff_client_call(h.c, "POST", "/api/v1/namespaces", NULL, ns,
				 NULL);
	json_decref(ns);
	if (code != 201 && code != 409) {
		fprintf(stderr, PROG ": %s: HTTP %ld\n", server, code);
		return 1;
	}
	for (i = 0; i < h.n_nodes; i++) {
		node = node_object(&h, i);
		code = skiff_client_call(h.c, "POST", "/api/v1/nodes", NULL,
					 node, NULL);
		node_name(&h, i, name, sizeof(name));
		if (code == 409)
			code = restart_status(&h, name, node);
		json_decref(node);
		if (code != 201 && code != 409) {
			fprintf(stderr, PROG ": node %s: HTTP %ld\n", name, code);
			return 1;
		}
		json_object_set_new(h.mine, name, json_integer(i));
	}
	h.first_round = h.n_nodes;
	heartbeat(&h);
	if (run_pods) {
		h.pods = skiff_informer_new(h.c, &skiff_pods, NULL);
		if (!h.pods || skiff_informer_on_change(h.pods, pod_changed, &h))
			return 1;
		skiff_informer_start(h.pods);
	}
	return skiff_loop_run(loop) ? 1 : 0;
}
