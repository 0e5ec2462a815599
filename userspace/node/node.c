// SPDX-License-Identifier: GPL-2.0
/*
 * The Node object and its heartbeat, as the kubelet keeps them:
 *
 *  - At start the Node is created with its addresses, capacity, labels
 *    and conditions; if it exists (an agent restart, or a node that comes
 *    back) only its labels and status are brought up to date: spec is the
 *    cluster's (podCIDR from node IPAM, unschedulable from a cordon).
 *  - A Lease in kube-node-lease is renewed every heartbeat (10 s, lease
 *    40 s): the cheap signal the node lifecycle controller watches.
 *  - The status (conditions, capacity, nodeInfo) is sent again when it
 *    changes and at least every minute, as kubelets do
 *    (nodeStatusReportFrequency), with lastHeartbeatTime updated.
 *
 * Conditions: Ready when the agent has its network (bridge and overlay
 * up once the node has a podCIDR) and its runtime; MemoryPressure when
 * less than 100 MiB is available; DiskPressure when the root directory's
 * file system has less than 10% free; PIDPressure never.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>

#include "node.h"

#define PROG "skiff-node"
#define STATUS_REPORT_MS 60000
#define LEASE_SECONDS 40
#define MEMORY_PRESSURE_BYTES (100LL << 20)
#define MAX_PODS 110

static long long read_meminfo(const char *field)
{
	char line[256];
	long long kib = -1;
	size_t len = strlen(field);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, len) && line[len] == ':') {
			kib = strtoll(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib < 0 ? -1 : kib * 1024;
}

static json_t *condition(const char *type, bool status, const char *reason,
			 const char *message, const char *now)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type,
			 "status", status ? "True" : "False", "reason", reason,
			 "message", message, "lastHeartbeatTime", now,
			 "lastTransitionTime", now);
}

#define STATUS_FORMAT \
	"{s:{s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, s:o, s:[{s:s, s:s}, {s:s, s:s}], s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}, s:{s:{s:i}}}"

/* What the Node's status is now; lastTransitionTime is fixed up later. */
static json_t *node_status(struct skiff_node *n)
{
	char cpu[16], mem[32], storage[32], pods[16], now[40], runtime[64];
	long long total = read_meminfo("MemTotal"), avail = read_meminfo("MemAvailable");
	struct statvfs vfs;
	struct utsname uts;
	bool disk_low = false;
	json_t *conds;

	skiff_time_now(now, sizeof(now));
	snprintf(cpu, sizeof(cpu), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	snprintf(mem, sizeof(mem), "%lldKi", total / 1024);
	snprintf(pods, sizeof(pods), "%d", MAX_PODS);
	storage[0] = '0';
	storage[1] = 0;
	if (!statvfs(n->root_dir, &vfs)) {
		snprintf(storage, sizeof(storage), "%lluKi",
			 (unsigned long long)vfs.f_blocks * vfs.f_frsize / 1024);
		disk_low = vfs.f_bavail * 10 < vfs.f_blocks;
	}
	uname(&uts);
	snprintf(runtime, sizeof(runtime), "%s://", n->runtime_name);
	conds = json_array();
	json_array_append_new(conds, condition("MemoryPressure",
					       avail >= 0 && avail < MEMORY_PRESSURE_BYTES,
					       avail >= 0 && avail < MEMORY_PRESSURE_BYTES ?
					       "KubeletHasInsufficientMemory" :
					       "KubeletHasSufficientMemory",
					       "kubelet has sufficient memory available",
					       now));
	json_array_append_new(conds, condition("DiskPressure", disk_low,
					       disk_low ? "KubeletHasDiskPressure" :
					       "KubeletHasNoDiskPressure",
					       disk_low ? "less than 10% of the disk is free" :
					       "kubelet has no disk pressure", now));
	json_array_append_new(conds, condition("PIDPressure", false,
					       "KubeletHasSufficientPID",
					       "kubelet has sufficient PID available",
					       now));
	json_array_append_new(conds, condition("Ready", n->networked,
					       n->networked ? "KubeletReady" :
					       "KubeletNotReady",
					       n->networked ?
					       "skiff-node is posting ready status" :
					       "network not ready: waiting for the node's podCIDR",
					       now));
	return json_pack(STATUS_FORMAT,
			 "capacity", "cpu", cpu, "memory", mem,
			 "ephemeral-storage", storage, "pods", pods,
			 "hugepages-2Mi", "0",
			 "allocatable", "cpu", cpu, "memory", mem,
			 "ephemeral-storage", storage, "pods", pods,
			 "hugepages-2Mi", "0",
			 "conditions", conds,
			 "addresses", "type", "InternalIP", "address", n->node_ip_text,
			 "type", "Hostname", "address", n->name,
			 "nodeInfo", "kubeletVersion", "v" SKIFF_VERSION "-skiff",
			 "kubeProxyVersion", "v" SKIFF_VERSION "-skiff",
			 "containerRuntimeVersion", runtime,
			 "kernelVersion", uts.release,
			 "osImage", "skiff-node", "operatingSystem", "linux",
			 "architecture", "amd64", "machineID", n->name,
			 /* Where the apiserver finds container logs. */
			 "daemonEndpoints", "kubeletEndpoint", "Port", (int)n->kubelet_port);
}

/* Equal but for the heartbeat times. */
static bool same_status(const json_t *a, const json_t *b)
{
	json_t *x = json_deep_copy(a), *y = json_deep_copy(b), *c;
	size_t i;
	bool same;

	json_array_foreach(json_object_get(x, "conditions"), i, c)
		json_object_del(c, "lastHeartbeatTime");
	json_array_foreach(json_object_get(y, "conditions"), i, c)
		json_object_del(c, "lastHeartbeatTime");
	same = json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return same;
}

static void status_sent(long code, json_t *answer, void *arg)
{
	struct skiff_node *n = arg;

	(void)answer;
	if (code != 200)
		fprintf(stderr, PROG ": node status: HTTP %ld\n", code);
	if (code == 404) {
		/* Deleted under us (a node that came back): register again. */
		json_decref(n->last_status);
		n->last_status = NULL;
		skiff_node_register(n);
	}
}

void skiff_node_status_tick(void *arg)
{
	struct skiff_node *n = arg;
	json_t *status = node_status(n), *patch;
	int64_t now = skiff_now_ms();

	if (n->last_status)
		skiff_keep_transitions(status, n->last_status);
	if (!n->last_status || !same_status(status, n->last_status) ||
	    now - n->status_reported_ms >= STATUS_REPORT_MS) {
		n->status_reported_ms = now;
		patch = json_pack("{s:O}", "status", status);
		skiff_client_send(n->c, "PATCH",
				  skiff_path(&skiff_nodes, NULL, n->name, "status"),
				  "application/merge-patch+json", patch,
				  status_sent, n);
		json_decref(patch);
		json_decref(n->last_status);
		n->last_status = status;
	} else {
		json_decref(status);
	}
}

static void lease_done(long code, json_t *answer, void *arg)
{
	struct skiff_node *n = arg;

	(void)answer;
	if (code == 404)
		n->beats = 0;	/* created again at the next beat */
	else if (code != 200 && code != 201 && code != 409)
		fprintf(stderr, PROG ": lease renewal: HTTP %ld\n", code);
}

static void heartbeat(void *arg)
{
	struct skiff_node *n = arg;
	char now[40];
	json_t *lease;

	skiff_microtime_now(now, sizeof(now));
	lease = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i, s:s}}",
			  "apiVersion", "coordination.k8s.io/v1", "kind", "Lease",
			  "metadata", "name", n->name,
			  "namespace", SKIFF_NODE_LEASE_NS, "spec",
			  "holderIdentity", n->name,
			  "leaseDurationSeconds", LEASE_SECONDS, "renewTime", now);
	if (!n->beats)
		skiff_client_send(n->c, "POST",
				  skiff_path(&skiff_leases, SKIFF_NODE_LEASE_NS,
					     NULL, NULL),
				  NULL, lease, lease_done, n);
	else
		skiff_client_send(n->c, "PATCH",
				  skiff_path(&skiff_leases, SKIFF_NODE_LEASE_NS,
					     n->name, NULL),
				  "application/merge-patch+json", lease,
				  lease_done, n);
	json_decref(lease);
	n->beats++;
	skiff_node_status_tick(n);
	skiff_loop_after(n->loop, n->heartbeat_ms, heartbeat, n);
}

#define NODE_FORMAT "{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s}}, s:{}, s:o}"

/* Creates the Node, or updates the one there; waits for the apiserver. */
int skiff_node_register(struct skiff_node *n)
{
	json_t *node, *answer = NULL, *patch;
	char *path;
	long code;
	int tries = 0;

	node = json_pack(NODE_FORMAT, "apiVersion", "v1", "kind", "Node",
			 "metadata", "name", n->name, "labels",
			 "kubernetes.io/hostname", n->name,
			 "kubernetes.io/os", "linux", "kubernetes.io/arch", "amd64",
			 "spec", "status", node_status(n));
	json_decref(n->last_status);
	n->last_status = json_incref(json_object_get(node, "status"));
	path = skiff_path(&skiff_nodes, NULL, NULL, NULL);
	for (;;) {
		code = skiff_client_call(n->c, "POST", path, NULL, node, &answer);
		json_decref(answer);
		answer = NULL;
		if (code)
			break;
		if (!(tries++ % 10))
			fprintf(stderr, PROG ": waiting for the apiserver at %s\n",
				skiff_client_server(n->c));
		usleep(500000);
	}
	free(path);
	if (code == 409) {
		/* It exists: labels and status are ours, spec the cluster's. */
		patch = json_pack("{s:{s:O}}", "metadata", "labels",
				  json_object_get(json_object_get(node, "metadata"),
						  "labels"));
		path = skiff_path(&skiff_nodes, NULL, n->name, NULL);
		code = skiff_client_call(n->c, "PATCH", path,
					 "application/merge-patch+json", patch, NULL);
		free(path);
		json_decref(patch);
		if (code == 200) {
			patch = json_pack("{s:O}", "status", n->last_status);
			path = skiff_path(&skiff_nodes, NULL, n->name, "status");
			code = skiff_client_call(n->c, "PATCH", path,
						 "application/merge-patch+json",
						 patch, NULL);
			free(path);
			json_decref(patch);
		}
	}
	json_decref(node);
	if (code != 200 && code != 201) {
		fprintf(stderr, PROG ": cannot register node %s: HTTP %ld\n",
			n->name, code);
		return -1;
	}
	n->status_reported_ms = skiff_now_ms();
	if (!n->heartbeat_started) {
		n->heartbeat_started = true;
		heartbeat(n);
	}
	return 0;
}
