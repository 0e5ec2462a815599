// SPDX-License-Identifier: GPL-2.0
/*
 * schedbench: how fast pods are bound. Against a running apiserver with
 * nodes and a scheduler (scripts/bench/scheduler.sh sets them up):
 *
 *	schedbench --server URL --pods N [--inflight K]
 *		creates N pods in namespace "bench", K creations in flight,
 *		and watches them get bound: pods/s from the first creation
 *		to the last binding, and each pod's latency from the moment
 *		its creation was sent to the watch event that shows it bound;
 *	schedbench --server URL --deployment R
 *		creates one Deployment of R replicas: the seconds until all
 *		its pods are bound (the controller manager and the scheduler
 *		together).
 *
 * Prints one JSON line. Exit status 1 when it did not finish within
 * --timeout seconds (default 600).
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "informer.h"

#define NS "bench"

struct bench {
	struct skiff_client *c;
	struct skiff_loop *loop;
	struct skiff_informer *pods;
	long n_pods, inflight, replicas;
	long sent, answered, bound, failed;
	int64_t *sent_at;	/* per pod number: when its creation was sent */
	double *latency_ms;
	int64_t started, finished;
	bool go;
};

static void send_more(struct bench *b);

static void created(long code, json_t *answer, void *arg)
{
	struct bench *b = arg;

	(void)answer;
	b->answered++;
	if (code != 201) {
		b->failed++;
		fprintf(stderr, "schedbench: create: HTTP %ld\n", code);
	}
	send_more(b);
}

#define RESULT_FORMAT \
	"{\"pods\": %ld, \"seconds\": %.3f, \"pods_per_s\": %.0f, \"p50_ms\": %.1f, \"p99_ms\": %.1f, \"failed\": %ld}\n"
#define POD_FORMAT \
	"{s:s, s:s, s:{s:s}, s:{s:[{s:s, s:s, s:{s:{s:s, s:s}}}]}}"
#define DEPLOYMENT_FORMAT \
	"{s:s, s:s, s:{s:s}, s:{s:I, s:{s:{s:s}}, s:{s:{s:{s:s}}, s:{s:[{s:s, s:s, s:{s:{s:s, s:s}}}]}}}}"

static void send_more(struct bench *b)
{
	char name[32];
	json_t *pod;

	while (b->sent < b->n_pods && b->sent - b->answered < b->inflight) {
		snprintf(name, sizeof(name), "p-%ld", b->sent);
		pod = json_pack(POD_FORMAT,
				"apiVersion", "v1", "kind", "Pod",
				"metadata", "name", name,
				"spec", "containers", "name", "c",
				"image", "busybox", "resources", "requests",
				"cpu", "10m", "memory", "16Mi");
		b->sent_at[b->sent] = skiff_now_ms();
		skiff_client_send(b->c, "POST",
				  skiff_path(&skiff_pods, NS, NULL, NULL), NULL,
				  pod, created, b);
		json_decref(pod);
		b->sent++;
	}
}

static void pod_changed(enum skiff_change change, const json_t *old,
			const json_t *pod, void *arg)
{
	struct bench *b = arg;
	const char *name = skiff_meta(pod, "name") ?: "";
	long i;

	if (change == SKIFF_DELETED || !skiff_str(pod, "spec.nodeName") ||
	    (old && skiff_str(old, "spec.nodeName")) ||
	    strcmp(skiff_meta(pod, "namespace") ?: "", NS))
		return;
	if (b->n_pods) {
		if (strncmp(name, "p-", 2))
			return;
		i = strtol(name + 2, NULL, 10);
		if (i < 0 || i >= b->n_pods || !b->sent_at[i])
			return;
		b->latency_ms[b->bound] = (double)(skiff_now_ms() - b->sent_at[i]);
	}
	b->bound++;
	if (b->bound == (b->n_pods ?: b->replicas)) {
		b->finished = skiff_now_ms();
		skiff_loop_stop(b->loop);
	}
}

static bool start_when_synced(void *arg)
{
	struct bench *b = arg;
	json_t *deploy;

	if (b->go || !skiff_informer_synced(b->pods))
		return false;
	b->go = true;
	b->started = skiff_now_ms();
	if (b->n_pods) {
		send_more(b);
		return false;
	}
	deploy = json_pack(DEPLOYMENT_FORMAT,
			   "apiVersion", "apps/v1", "kind", "Deployment",
			   "metadata", "name", "bench",
			   "spec", "replicas", (json_int_t)b->replicas,
			   "selector", "matchLabels", "app", "bench",
			   "template", "metadata", "labels", "app", "bench",
			   "spec", "containers", "name", "c", "image", "busybox",
			   "resources", "requests", "cpu", "10m",
			   "memory", "16Mi");
	skiff_client_send(b->c, "POST",
			  skiff_path(&skiff_deployments, NS, NULL, NULL), NULL,
			  deploy, NULL, NULL);
	json_decref(deploy);
	return false;
}

static void too_late(void *arg)
{
	struct bench *b = arg;

	fprintf(stderr, "schedbench: timed out with %ld of %ld bound\n",
		b->bound, b->n_pods ?: b->replicas);
	skiff_loop_stop(b->loop);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "pods", required_argument, NULL, 'p' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "deployment", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b = { .inflight = 64 };
	const char *server = "http://127.0.0.1:8080";
	long timeout = 600;
	bool one_mode;
	double secs;
	json_t *ns;
	int opt;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			server = optarg;
			break;
		case 'p':
			b.n_pods = atol(optarg);
			break;
		case 'i':
			b.inflight = atol(optarg);
			break;
		case 'd':
			b.replicas = atol(optarg);
			break;
		case 't':
			timeout = atol(optarg);
			break;
		default:
			return 2;
		}
	}
	one_mode = b.n_pods > 0 ? b.replicas <= 0 : b.replicas > 0;
	if (!one_mode || b.inflight <= 0 ||
	    timeout <= 0) {
		fprintf(stderr,
			"usage: schedbench --server URL (--pods N [--inflight K] | --deployment R) [--timeout S]\n");
		return 2;
	}
	b.loop = skiff_loop_new();
	b.c = b.loop ? skiff_client_new(b.loop, server) : NULL;
	b.sent_at = calloc(b.n_pods + 1, sizeof(*b.sent_at));
	b.latency_ms = calloc(b.n_pods + 1, sizeof(*b.latency_ms));
	if (!b.c || !b.sent_at || !b.latency_ms)
		return 1;
	ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1",
		       "kind", "Namespace", "metadata", "name", NS);
	skiff_client_call(b.c, "POST", "/api/v1/namespaces", NULL, ns, NULL);
	json_decref(ns);
	b.pods = skiff_informer_new(b.c, &skiff_pods,
				    "fieldSelector=metadata.namespace%3D" NS);
	if (!b.pods || skiff_informer_on_change(b.pods, pod_changed, &b) ||
	    skiff_loop_on_idle(b.loop, start_when_synced, &b))
		return 1;
	skiff_informer_start(b.pods);
	skiff_loop_after(b.loop, timeout * 1000, too_late, &b);
	skiff_loop_run(b.loop);
	if (!b.finished)
		return 1;
	secs = (double)(b.finished - b.started) / 1000;
	if (b.n_pods) {
		qsort(b.latency_ms, b.bound, sizeof(double), by_value);
		printf(RESULT_FORMAT,
		       b.n_pods, secs, b.n_pods / secs,
		       b.latency_ms[b.bound / 2],
		       b.latency_ms[(b.bound * 99) / 100], b.failed);
	} else {
		printf("{\"replicas\": %ld, \"seconds\": %.3f}\n", b.replicas,
		       secs);
	}
	return 0;
}
