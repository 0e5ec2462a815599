// SPDX-License-Identifier: GPL-2.0
/*
 * nodebench: the node agent's benchmark (issue 6), against a running
 * cluster with a skiff-node agent (scripts/bench/node.sh sets it up).
 *
 *	nodebench pods --server URL --node NAME [--pods N] [--rate R]
 *		[--scheduler] [--root-dir DIR] [--timeout S]
 *		creates N busybox pods (`sleep 100000`) in namespace "bench",
 *		all at once (no --rate) or R a second, bound to NAME through
 *		spec.nodeName (or left to the scheduler with --scheduler), and
 *		times each from the moment its creation is sent to the watch
 *		event that shows it Running with its container running. Then
 *		deletes them and waits until they are gone. With --root-dir
 *		(the agent's), it also says where the time went, from the
 *		times the agent's files of each pod were written.
 *	nodebench endpoints --server URL [--netns PATH] [--dataplane B]
 *		[--services S] [--changes C] [--timeout S]
 *		in the node's network namespace (PATH, or the one it runs in):
 *		S Services without a selector, each with an Endpoints object
 *		written here; then C times, one Endpoints object gains or
 *		loses an address (a merge patch) and the time is taken from
 *		the moment the patch is sent until the data plane holds the
 *		new backend set. The data plane's change notifications (the
 *		sockets skiff_dp_monitor listens on) say when to look; a slow
 *		poll backs them up.
 *	nodebench resync [--dataplane B] [--services S] [--changes C]
 *		the baseline, in a network namespace of its own: S services
 *		in the data plane, and C single-backend changes made once as
 *		one skiff_dp_service_set (what the proxy does) and once as a
 *		skiff_dp_service_sync of the whole table (what a proxy that
 *		resyncs everything on each change would do).
 *
 * Each prints one JSON line. Times are CLOCK_MONOTONIC; the stages of a
 * pod compare CLOCK_REALTIME with file modification times.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "client.h"
#include "dataplane.h"
#include "informer.h"
#include "kubeconfig.h"
#include "util.h"

#define POD_NS "bench"
#define EP_NS "bench-ep"
#define MAX_FDS 4
/* A change not programmed within this long counts as lost. */
#define CHANGE_DEADLINE_MS 5000
/* Between two changes: the previous one's events have settled. */
#define CHANGE_GAP_MS 5
/* The backup poll, should a notification be missed. */
#define BACKUP_POLL_MS 50

#define POD_FORMAT \
	"{s:s, s:s, s:{s:s}, s:{s:i, s:[{s:s, s:s, s:[s, s]}]}}"
#define ENDPOINTS_FORMAT \
	"{\"backend\": \"%s\", \"services\": %ld, \"changes\": %ld, \"programmed\": %ld, \"lost\": %ld, %s, %s, %s, \"initial_s\": %.2f, \"notifications\": %s}\n"
#define RESYNC_FORMAT \
	"{\"backend\": \"%s\", \"services\": %ld, \"changes\": %ld, \"initial_ms\": %.2f, %s, %s, %s}\n"
#define SERVICE_FORMAT \
	"{s:s, s:s, s:{s:s}, s:{s:[{s:i, s:s, s:i}]}}"

struct opts {
	const char *server;
	const char *kubeconfig;	/* wins over server when given */
	const char *node;
	const char *root_dir;
	const char *netns;
	enum skiff_dp_backend backend;
	long pods, rate, services, changes, timeout;
	bool scheduler;
};

/* The apiserver client: from --kubeconfig (HTTPS, a certificate) or --server. */
static struct skiff_client *bench_client(struct skiff_loop *loop, const struct opts *o)
{
	struct skiff_kubeconfig kc;
	struct skiff_client *c;
	struct skiff_error e;

	if (!o->kubeconfig)
		return skiff_client_new(loop, o->server);
	if (skiff_kubeconfig_load(&kc, o->kubeconfig, NULL, &e)) {
		fprintf(stderr, "nodebench: %s\n", e.msg);
		return NULL;
	}
	c = skiff_client_new_config(loop, &kc);
	skiff_kubeconfig_release(&kc);
	return c;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double ms_of(int64_t ns)
{
	return (double)ns / 1e6;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least @p of them at or below. */
static double pct(const double *sorted, long n, double p)
{
	long i = (long)ceil(p * n) - 1;

	if (n <= 0)
		return -1;
	return sorted[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/* "p50_ms": x, "p90_ms": ..., of @v[0..@n) (sorted here), into @out. */
static void summary(char *out, size_t len, const char *prefix, double *v,
		    long n)
{
	qsort(v, n, sizeof(*v), by_value);
	snprintf(out, len,
		 "\"%sp50_ms\": %.2f, \"%sp90_ms\": %.2f, \"%sp99_ms\": %.2f, \"%smax_ms\": %.2f",
		 prefix, pct(v, n, 0.5), prefix, pct(v, n, 0.9), prefix,
		 pct(v, n, 0.99), prefix, pct(v, n, 1.0));
}

/* ---- pods ---- */

/*
 * The agent's files of a pod, in the order it writes them: each one's
 * modification time is when that step ended.
 */
static const char *const stage_files[] = {
	"pod.json",			/* the agent took the pod up */
	"etc/hostname",			/* sandbox: netns, veth, address */
	"containers/c-0/config.json",	/* rootfs mounted, bundle written */
	"containers/c-0/shim.pid",	/* the shim runs */
	"containers/c-0/started",	/* runc run -d returned */
};

static const char *const stage_names[] = {
	"agent", "sandbox", "bundle", "shim", "runc",
};

#define N_STAGES ARRAY_SIZE(stage_files)
#define STAGE_AGENT 0
#define STAGE_SHIM 3

struct pod_rec {
	int64_t sent;		/* monotonic */
	int64_t sent_real;
	int64_t bound;		/* monotonic: spec.nodeName seen, 0 until then */
	int64_t running;	/* monotonic, 0 until seen */
	int64_t running_real;
	double stage_ms[N_STAGES];	/* after sent_real; -1 unknown */
	char uid[64];
	bool gone;
};

enum pod_phase { PODS_WAIT, PODS_CREATE, PODS_DELETE, PODS_DONE };

struct podbench {
	const struct opts *o;
	struct skiff_client *c;
	struct skiff_loop *loop;
	struct skiff_informer *pods;
	struct skiff_informer *lease;	/* the node's heartbeat */
	int64_t lease_at, lease_gap;	/* last renewal seen, longest gap */
	struct skiff_timer *pacer;
	enum pod_phase phase;
	struct pod_rec *rec;
	long sent, running, gone, failed;
	int64_t deleting_at, done_at;
	bool timed_out;
};

static void pod_created(long code, json_t *answer, void *arg)
{
	struct podbench *b = arg;

	if (code != 201) {
		b->failed++;
		fprintf(stderr, "nodebench: create: HTTP %ld: %s\n", code,
			skiff_str(answer, "message") ?: "");
	}
}

static void send_pod(struct podbench *b)
{
	char name[32];
	json_t *pod;

	snprintf(name, sizeof(name), "p-%ld", b->sent);
	pod = json_pack(POD_FORMAT, "apiVersion", "v1", "kind", "Pod",
			"metadata", "name", name,
			"spec", "terminationGracePeriodSeconds", 1,
			"containers", "name", "c", "image", "busybox",
			"command", "sleep", "100000");
	if (!pod)
		return;
	if (!b->o->scheduler)
		json_object_set_new(json_object_get(pod, "spec"), "nodeName",
				    json_string(b->o->node));
	b->rec[b->sent].sent = mono_ns();
	b->rec[b->sent].sent_real = real_ns();
	if (skiff_client_send(b->c, "POST",
			      skiff_path(&skiff_pods, POD_NS, NULL, NULL),
			      NULL, pod, pod_created, b))
		b->failed++;
	json_decref(pod);
	b->sent++;
}

static void pace(void *arg)
{
	struct podbench *b = arg;

	b->pacer = NULL;
	if (b->phase != PODS_CREATE || b->sent >= b->o->pods)
		return;
	send_pod(b);
	if (b->sent < b->o->pods)
		b->pacer = skiff_loop_after(b->loop, 1000 / b->o->rate, pace, b);
}

/* Where the time of each pod went: its files' times, before they go. */
static void read_stages(struct podbench *b)
{
	char path[4096];
	struct stat st;
	size_t s;
	long i;

	for (i = 0; i < b->sent; i++) {
		struct pod_rec *r = &b->rec[i];

		for (s = 0; s < N_STAGES; s++) {
			r->stage_ms[s] = -1;
			if (!b->o->root_dir || !r->uid[0])
				continue;
			snprintf(path, sizeof(path), "%s/pods/%s/%s",
				 b->o->root_dir, r->uid, stage_files[s]);
			if (stat(path, &st))
				continue;
			r->stage_ms[s] = ms_of((int64_t)st.st_mtim.tv_sec * 1000000000 +
					       st.st_mtim.tv_nsec - r->sent_real);
		}
	}
}

/* Each pod's figures on stderr (the log): where a slow one lost its time. */
static void print_detail(const struct podbench *b)
{
	int64_t first = b->sent ? b->rec[0].sent : 0;
	size_t s;
	long i;

	for (i = 0; i < b->sent; i++) {
		const struct pod_rec *r = &b->rec[i];

		fprintf(stderr, "nodebench: p-%ld sent +%.1f", i, ms_of(r->sent - first));
		for (s = 0; s < N_STAGES; s++)
			fprintf(stderr, " %s %.1f", stage_names[s], r->stage_ms[s]);
		fprintf(stderr, " running %.1f ms\n",
			r->running ? ms_of(r->running - r->sent) : -1.0);
	}
}

static void delete_pod_done(long code, json_t *answer, void *arg)
{
	(void)answer;
	(void)arg;
	if (code != 200 && code != 202 && code != 404)
		fprintf(stderr, "nodebench: delete: HTTP %ld\n", code);
}

static void delete_all(struct podbench *b)
{
	char name[32];
	long i;

	if (b->phase == PODS_DELETE)
		return;
	if (b->pacer)
		skiff_timer_cancel(b->pacer);
	b->pacer = NULL;
	read_stages(b);
	print_detail(b);
	b->phase = PODS_DELETE;
	b->deleting_at = mono_ns();
	for (i = 0; i < b->sent; i++) {
		snprintf(name, sizeof(name), "p-%ld", i);
		skiff_client_send(b->c, "DELETE",
				  skiff_path(&skiff_pods, POD_NS, name, NULL),
				  NULL, NULL, delete_pod_done, b);
	}
	if (!b->sent)
		skiff_loop_stop(b->loop);
}

static bool container_running(const json_t *pod)
{
	const json_t *cs = json_object_get(json_object_get(pod, "status"),
					   "containerStatuses");
	const json_t *state = json_object_get(json_array_get(cs, 0), "state");

	return !strcmp(skiff_str(pod, "status.phase") ?: "", "Running") &&
	       json_is_object(json_object_get(state, "running"));
}

static void pod_changed(enum skiff_change change, const json_t *old,
			const json_t *pod, void *arg)
{
	struct podbench *b = arg;
	const char *name = skiff_meta(pod, "name") ?: "";
	struct pod_rec *r;
	char *end;
	long i;

	(void)old;
	if (strncmp(name, "p-", 2))
		return;
	i = strtol(name + 2, &end, 10);
	if (*end || i < 0 || i >= b->sent)
		return;
	r = &b->rec[i];
	if (change == SKIFF_DELETED) {
		if (!r->gone) {
			r->gone = true;
			b->gone++;
		}
		if (b->phase == PODS_DELETE && b->gone == b->sent) {
			b->done_at = mono_ns();
			b->phase = PODS_DONE;
			skiff_loop_stop(b->loop);
		}
		return;
	}
	snprintf(r->uid, sizeof(r->uid), "%s", skiff_meta(pod, "uid") ?: "");
	if (!r->bound && *(skiff_str(pod, "spec.nodeName") ?: ""))
		r->bound = mono_ns();
	if (r->running || !container_running(pod))
		return;
	r->running = mono_ns();
	r->running_real = real_ns();
	b->running++;
	if (b->running == b->o->pods)
		delete_all(b);
}

/*
 * The node's Lease renewals as the watch delivers them: the longest gap
 * while the round runs is how long the agent went without a heartbeat.
 */
static void lease_changed(enum skiff_change change, const json_t *old,
			  const json_t *lease, void *arg)
{
	struct podbench *b = arg;
	int64_t now = mono_ns();

	(void)old;
	if (change == SKIFF_DELETED ||
	    strcmp(skiff_meta(lease, "namespace") ?: "", "kube-node-lease"))
		return;
	if (b->phase != PODS_WAIT && b->lease_at && now - b->lease_at > b->lease_gap)
		b->lease_gap = now - b->lease_at;
	b->lease_at = now;
}

static bool pods_start(void *arg)
{
	struct podbench *b = arg;

	if (b->phase != PODS_WAIT || !skiff_informer_synced(b->pods))
		return false;
	if (json_object_size(skiff_informer_all(b->pods))) {
		fprintf(stderr, "nodebench: namespace " POD_NS " has pods already\n");
		skiff_loop_stop(b->loop);
		return false;
	}
	b->phase = PODS_CREATE;
	if (b->o->rate > 0) {
		pace(b);
		return false;
	}
	while (b->sent < b->o->pods)
		send_pod(b);
	return false;
}

static void pods_too_late(void *arg)
{
	struct podbench *b = arg;

	b->timed_out = true;
	if (b->phase == PODS_CREATE || b->phase == PODS_WAIT) {
		fprintf(stderr, "nodebench: %ld of %ld pods running at the deadline\n",
			b->running, b->o->pods);
		delete_all(b);
		skiff_loop_after(b->loop, b->o->timeout * 1000, pods_too_late, b);
		return;
	}
	fprintf(stderr, "nodebench: %ld of %ld pods gone at the deadline\n",
		b->gone, b->sent);
	skiff_loop_stop(b->loop);
}

/* One stage: its p50 and p99 over @v[0..@n), in ms. */
static void print_stage(const char *name, double *v, long n, bool first)
{
	qsort(v, n, sizeof(*v), by_value);
	printf("%s\"%s\": [%.1f, %.1f]", first ? "" : ", ", name, pct(v, n, 0.5),
	       pct(v, n, 0.99));
}

/*
 * The stages as offsets from creation, and how far apart the agent's
 * steps of the first and of the last pod were: the span from the first
 * pod taken up to the last shim started, per pod.
 */
static void print_stages(struct podbench *b, double *v)
{
	int64_t from = INT64_MAX, to = 0, t;
	const struct pod_rec *r;
	size_t s;
	long i, n;

	printf(", \"stages\": {");
	for (i = n = 0; i < b->sent; i++)
		if (b->rec[i].running && b->rec[i].bound)
			v[n++] = ms_of(b->rec[i].bound - b->rec[i].sent);
	print_stage("bound", v, n, true);
	for (s = 0; s < N_STAGES; s++) {
		for (i = n = 0; i < b->sent; i++)
			if (b->rec[i].running && b->rec[i].stage_ms[s] >= 0)
				v[n++] = b->rec[i].stage_ms[s];
		print_stage(stage_names[s], v, n, false);
	}
	for (i = n = 0; i < b->sent; i++)
		if (b->rec[i].running)
			v[n++] = ms_of(b->rec[i].running_real - b->rec[i].sent_real);
	print_stage("running", v, n, false);
	printf("}");
	for (i = n = 0; i < b->sent; i++) {
		r = &b->rec[i];
		if (!r->running || r->stage_ms[STAGE_AGENT] < 0 || r->stage_ms[STAGE_SHIM] < 0)
			continue;
		t = r->sent_real + (int64_t)(r->stage_ms[STAGE_AGENT] * 1e6);
		from = t < from ? t : from;
		t = r->sent_real + (int64_t)(r->stage_ms[STAGE_SHIM] * 1e6);
		to = t > to ? t : to;
		n++;
	}
	printf(", \"agent_span_ms_per_pod\": %.1f", n ? ms_of(to - from) / n : -1.0);
}

static int run_pods(const struct opts *o)
{
	struct podbench b = { .o = o };
	char text[256];
	int64_t first = 0, last = 0;
	double *v;
	json_t *ns;
	long i, n;

	b.loop = skiff_loop_new();
	b.c = b.loop ? bench_client(b.loop, o) : NULL;
	b.rec = calloc(o->pods, sizeof(*b.rec));
	v = calloc(o->pods, sizeof(*v));
	if (!b.c || !b.rec || !v)
		return 1;
	ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1",
		       "kind", "Namespace", "metadata", "name", POD_NS);
	skiff_client_call(b.c, "POST", "/api/v1/namespaces", NULL, ns, NULL);
	json_decref(ns);
	b.pods = skiff_informer_new(b.c, &skiff_pods,
				    "fieldSelector=metadata.namespace%3D" POD_NS);
	if (!b.pods || skiff_informer_on_change(b.pods, pod_changed, &b) ||
	    skiff_loop_on_idle(b.loop, pods_start, &b))
		return 1;
	if (o->node) {
		snprintf(text, sizeof(text), "fieldSelector=metadata.name%%3D%s", o->node);
		b.lease = skiff_informer_new(b.c, &skiff_leases, text);
		if (!b.lease || skiff_informer_on_change(b.lease, lease_changed, &b))
			return 1;
		skiff_informer_start(b.lease);
	}
	skiff_informer_start(b.pods);
	skiff_loop_after(b.loop, o->timeout * 1000, pods_too_late, &b);
	skiff_loop_run(b.loop);

	for (i = n = 0; i < b.sent; i++) {
		if (!b.rec[i].running)
			continue;
		v[n++] = ms_of(b.rec[i].running - b.rec[i].sent);
		if (!first || b.rec[i].sent < first)
			first = b.rec[i].sent;
		if (b.rec[i].running > last)
			last = b.rec[i].running;
	}
	summary(text, sizeof(text), "", v, n);
	printf("{\"pattern\": \"%s\", \"scheduler\": %s, \"pods\": %ld, \"running\": %ld, %s",
	       o->rate > 0 ? "paced" : "burst", o->scheduler ? "true" : "false",
	       o->pods, n, text);
	printf(", \"rate\": %ld, \"all_running_s\": %.2f, \"delete_s\": %.2f, \"failed\": %ld",
	       o->rate, n ? ms_of(last - first) / 1000 : -1,
	       b.done_at ? ms_of(b.done_at - b.deleting_at) / 1000 : -1, b.failed);
	printf(", \"heartbeat_gap_s\": %.2f", ms_of(b.lease_gap) / 1000);
	if (o->root_dir)
		print_stages(&b, v);
	printf("}\n");
	return b.phase == PODS_DONE && !b.timed_out && n == o->pods ? 0 : 1;
}

/* ---- endpoints ---- */

struct ep_svc {
	char name[32];
	struct in_addr vip;
	bool third;		/* has its third backend */
};

struct epbench {
	const struct opts *o;
	struct skiff_client *c;
	struct skiff_loop *loop;
	struct skiff_dp *dp;
	int fds[MAX_FDS];
	int nfds;
	struct skiff_watch *watches[MAX_FDS];
	struct skiff_timer *deadline, *backup, *next;
	struct ep_svc *svcs;
	long done, lost, lists;
	struct ep_svc *cur;	/* the service being changed */
	int64_t sent, notified;
	double *lat_ms, *notify_ms, *list_ms;
	bool waiting;
};

/* Backend @k (0..2) of service @i: 10.(200+k).(i/250).(i%250+1). */
static struct in_addr backend_addr(long i, int k)
{
	struct in_addr a;

	a.s_addr = htonl((10U << 24) | ((200U + k) << 16) |
			 ((uint32_t)(i / 250) << 8) | (uint32_t)(i % 250 + 1));
	return a;
}

/* The Endpoints' subsets of service @i, with or without its third address. */
static json_t *subsets(long i, bool third)
{
	json_t *addrs = json_array();
	char ip[INET_ADDRSTRLEN];
	struct in_addr a;
	int k;

	for (k = 0; k < (third ? 3 : 2); k++) {
		a = backend_addr(i, k);
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		json_array_append_new(addrs, json_pack("{s:s}", "ip", ip));
	}
	return json_pack("[{s:o, s:[{s:i, s:s}]}]", "addresses", addrs,
			 "ports", "port", 8080, "protocol", "TCP");
}

/* Reads all that is queued on @fd: only "something changed" matters. */
static void drain(int fd)
{
	char buf[16384];
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n >= 0 || errno == ENOBUFS || errno == EINTR)
			continue;
		return;
	}
}

struct find {
	const struct ep_svc *svc;
	long index;
	int count;		/* backends it has, -1 when absent */
	bool right;		/* they are the ones it should have */
};

static int find_service(const struct skiff_dp_service *svc,
			const struct skiff_dp_endpoint *backends,
			unsigned int count, void *arg)
{
	struct find *f = arg;
	unsigned int j;
	int k, want = f->svc->third ? 3 : 2;

	if (svc->vip.s_addr != f->svc->vip.s_addr || svc->port != 80 ||
	    svc->proto != SKIFF_DP_TCP)
		return 0;
	f->count = count;
	f->right = (int)count == want;
	for (k = 0; f->right && k < want; k++) {
		struct in_addr a = backend_addr(f->index, k);

		for (j = 0; j < count; j++)
			if (backends[j].addr.s_addr == a.s_addr && backends[j].port == 8080)
				break;
		f->right = j < count;
	}
	return 0;
}

/* Whether the data plane holds service @i as it should now be. */
static bool programmed(struct epbench *b, struct ep_svc *svc, double *list_ms)
{
	struct find f = { svc, svc - b->svcs, -1, false };
	struct skiff_error e = { 0 };
	int64_t t = mono_ns();

	if (skiff_dp_service_list(b->dp, find_service, &f, &e))
		fprintf(stderr, "nodebench: service list: %s\n", e.msg);
	if (list_ms)
		*list_ms = ms_of(mono_ns() - t);
	return f.right;
}

static void next_change(void *arg);

static void change_ended(struct epbench *b, bool seen)
{
	int64_t now = mono_ns();

	b->waiting = false;
	if (b->deadline)
		skiff_timer_cancel(b->deadline);
	if (b->backup)
		skiff_timer_cancel(b->backup);
	b->deadline = NULL;
	b->backup = NULL;
	if (seen) {
		b->lat_ms[b->done] = ms_of(now - b->sent);
		b->notify_ms[b->done] = ms_of((b->notified ?: now) - b->sent);
		b->done++;
	} else {
		b->lost++;
	}
	if (b->done + b->lost >= b->o->changes) {
		skiff_loop_stop(b->loop);
		return;
	}
	b->next = skiff_loop_after(b->loop, CHANGE_GAP_MS, next_change, b);
}

static void look(struct epbench *b)
{
	double ms;

	if (!b->waiting)
		return;
	if (programmed(b, b->cur, &ms)) {
		b->list_ms[b->lists++] = ms;
		change_ended(b, true);
	}
}

static void notified(void *arg)
{
	struct epbench *b = arg;
	int i;

	for (i = 0; i < b->nfds; i++)
		drain(b->fds[i]);
	if (!b->waiting)
		return;
	b->notified = mono_ns();
	look(b);
}

static void backup_poll(void *arg)
{
	struct epbench *b = arg;

	b->backup = NULL;
	if (!b->waiting)
		return;
	b->backup = skiff_loop_after(b->loop, BACKUP_POLL_MS, backup_poll, b);
	look(b);
}

static void change_lost(void *arg)
{
	struct epbench *b = arg;

	b->deadline = NULL;
	fprintf(stderr, "nodebench: %s not programmed within %d ms\n",
		b->cur->name, CHANGE_DEADLINE_MS);
	change_ended(b, false);
}

static void patched(long code, json_t *answer, void *arg)
{
	(void)answer;
	(void)arg;
	if (code != 200)
		fprintf(stderr, "nodebench: patch: HTTP %ld\n", code);
}

/* One service gains or loses its third address; the clock starts. */
static void next_change(void *arg)
{
	struct epbench *b = arg;
	long n = b->done + b->lost, i;
	json_t *patch;

	b->next = NULL;
	/* A stride prime to any count: every service in turn, scattered. */
	i = (n * 7919) % b->o->services;
	b->cur = &b->svcs[i];
	b->cur->third = !b->cur->third;
	patch = json_pack("{s:o}", "subsets", subsets(i, b->cur->third));
	b->waiting = true;
	b->notified = 0;
	b->sent = mono_ns();
	skiff_client_send(b->c, "PATCH",
			  skiff_path(&skiff_endpoints, EP_NS, b->cur->name, NULL),
			  "application/merge-patch+json", patch, patched, b);
	json_decref(patch);
	b->deadline = skiff_loop_after(b->loop, CHANGE_DEADLINE_MS, change_lost, b);
	b->backup = skiff_loop_after(b->loop, BACKUP_POLL_MS, backup_poll, b);
}

static int enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		fprintf(stderr, "nodebench: cannot enter %s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Creates the Services and their Endpoints; fills in the virtual IPs. */
static int make_services(struct epbench *b)
{
	json_t *obj, *answer = NULL;
	const char *vip;
	long code, i;

	obj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1",
			"kind", "Namespace", "metadata", "name", EP_NS);
	skiff_client_call(b->c, "POST", "/api/v1/namespaces", NULL, obj, NULL);
	json_decref(obj);
	for (i = 0; i < b->o->services; i++) {
		struct ep_svc *s = &b->svcs[i];
		char *path;

		snprintf(s->name, sizeof(s->name), "svc-%ld", i);
		obj = json_pack(SERVICE_FORMAT, "apiVersion", "v1", "kind", "Service",
				"metadata", "name", s->name, "spec", "ports",
				"port", 80, "protocol", "TCP", "targetPort", 8080);
		path = skiff_path(&skiff_services, EP_NS, NULL, NULL);
		code = skiff_client_call(b->c, "POST", path, NULL, obj, &answer);
		free(path);
		json_decref(obj);
		vip = skiff_str(answer, "spec.clusterIP");
		if (code != 201 || !vip || inet_pton(AF_INET, vip, &s->vip) != 1) {
			fprintf(stderr, "nodebench: service %s: HTTP %ld %s\n", s->name,
				code, skiff_str(answer, "message") ?: "");
			json_decref(answer);
			return -1;
		}
		json_decref(answer);
		answer = NULL;
		obj = json_pack("{s:s, s:s, s:{s:s}, s:o}", "apiVersion", "v1",
				"kind", "Endpoints", "metadata", "name", s->name,
				"subsets", subsets(i, false));
		path = skiff_path(&skiff_endpoints, EP_NS, NULL, NULL);
		code = skiff_client_call(b->c, "POST", path, NULL, obj, NULL);
		free(path);
		json_decref(obj);
		if (code != 201) {
			fprintf(stderr, "nodebench: endpoints %s: HTTP %ld\n", s->name, code);
			return -1;
		}
	}
	return 0;
}

static void delete_services(struct epbench *b)
{
	char *path;

	path = skiff_path(&skiff_namespaces, NULL, EP_NS, NULL);
	skiff_client_call(b->c, "DELETE", path, NULL, NULL, NULL);
	free(path);
}

/* Waits until every service is in the data plane: seconds, or -1. */
static double wait_programmed(struct epbench *b, int64_t since)
{
	int64_t limit = since + (int64_t)b->o->timeout * 1000000000;
	struct timespec pause = { 0, 10000000 };
	long i = 0;

	while (mono_ns() < limit) {
		while (i < b->o->services && programmed(b, &b->svcs[i], NULL))
			i++;
		if (i == b->o->services)
			return ms_of(mono_ns() - since) / 1000;
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "nodebench: %ld of %ld services programmed at the deadline\n",
		i, b->o->services);
	return -1;
}

static void stop_loop(void *arg)
{
	skiff_loop_stop(arg);
}

static int run_endpoints(const struct opts *o)
{
	struct epbench b = { .o = o };
	struct skiff_error e = { 0 };
	char lat[256], notify[256], list[256];
	double initial;
	int64_t t0;
	int i, err = 1;

	if (o->netns && enter_netns(o->netns))
		return 1;
	if (skiff_dp_open(&b.dp, o->backend, &e)) {
		fprintf(stderr, "nodebench: data plane: %s\n", e.msg);
		return 1;
	}
	b.loop = skiff_loop_new();
	b.c = b.loop ? bench_client(b.loop, o) : NULL;
	b.svcs = calloc(o->services, sizeof(*b.svcs));
	b.lat_ms = calloc(o->changes, sizeof(double));
	b.notify_ms = calloc(o->changes, sizeof(double));
	b.list_ms = calloc(o->changes, sizeof(double));
	if (!b.c || !b.svcs || !b.lat_ms || !b.notify_ms || !b.list_ms)
		goto out;
	/* Listen first: no change falls between listening and looking. */
	b.nfds = b.dp->ops->watch ? b.dp->ops->watch(b.dp, b.fds, MAX_FDS, &e) : 0;
	if (b.nfds < 0) {
		fprintf(stderr, "nodebench: data plane notifications: %s\n", e.msg);
		goto out;
	}
	for (i = 0; i < b.nfds; i++)
		b.watches[i] = skiff_loop_watch_fd(b.loop, b.fds[i], notified, &b);
	t0 = mono_ns();
	if (make_services(&b))
		goto out_delete;
	initial = wait_programmed(&b, t0);
	if (initial < 0)
		goto out_delete;
	for (i = 0; i < b.nfds; i++)
		drain(b.fds[i]);
	b.next = skiff_loop_after(b.loop, CHANGE_GAP_MS, next_change, &b);
	skiff_loop_after(b.loop, (int64_t)o->timeout * 1000, stop_loop, b.loop);
	skiff_loop_run(b.loop);
	summary(lat, sizeof(lat), "", b.lat_ms, b.done);
	summary(notify, sizeof(notify), "notified_", b.notify_ms, b.done);
	summary(list, sizeof(list), "list_", b.list_ms, b.lists);
	printf(ENDPOINTS_FORMAT, skiff_dp_backend_name(o->backend), o->services, o->changes, b.done,
	       b.lost, lat, notify, list, initial, b.nfds ? "true" : "false");
	err = b.done == o->changes ? 0 : 1;
out_delete:
	delete_services(&b);
out:
	for (i = 0; i < b.nfds; i++) {
		if (b.watches[i])
			skiff_loop_unwatch(b.loop, b.watches[i]);
		close(b.fds[i]);
	}
	skiff_dp_close(b.dp);
	return err;
}

/* ---- resync baseline ---- */

static void spec_fill(struct skiff_dp_service_spec *spec,
		      struct skiff_dp_endpoint *bk, long i, bool third)
{
	int k;

	memset(spec, 0, sizeof(*spec));
	spec->svc.vip.s_addr = htonl((10U << 24) | (96U << 16) | (uint32_t)(i + 1));
	spec->svc.port = 80;
	spec->svc.proto = SKIFF_DP_TCP;
	for (k = 0; k < 3; k++) {
		memset(&bk[k], 0, sizeof(bk[k]));
		bk[k].addr = backend_addr(i, k);
		bk[k].port = 8080;
		bk[k].weight = 1;
	}
	spec->backends = bk;
	spec->count = third ? 3 : 2;
}

static int count_services(const struct skiff_dp_service *svc,
			  const struct skiff_dp_endpoint *backends,
			  unsigned int count, void *arg)
{
	(void)svc;
	(void)backends;
	(void)count;
	++*(long *)arg;
	return 0;
}

static int run_resync(const struct opts *o)
{
	struct skiff_dp_service_spec *specs;
	struct skiff_dp_endpoint *bks;
	struct skiff_error e = { 0 };
	double *set_ms, *sync_ms, *list_ms, initial;
	char set[256], sync[256], list[256];
	struct skiff_dp *dp;
	long i, j, listed;
	int64_t t;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "nodebench: unshare: %s\n", strerror(errno));
		return 1;
	}
	if (skiff_dp_open(&dp, o->backend, &e)) {
		fprintf(stderr, "nodebench: data plane: %s\n", e.msg);
		return 1;
	}
	specs = calloc(o->services, sizeof(*specs));
	bks = calloc(o->services * 3, sizeof(*bks));
	set_ms = calloc(o->changes, sizeof(double));
	sync_ms = calloc(o->changes, sizeof(double));
	list_ms = calloc(o->changes, sizeof(double));
	if (!specs || !bks || !set_ms || !sync_ms || !list_ms)
		return 1;
	for (i = 0; i < o->services; i++)
		spec_fill(&specs[i], &bks[i * 3], i, false);
	t = mono_ns();
	if (skiff_dp_service_sync(dp, specs, o->services, &e))
		goto fail;
	initial = ms_of(mono_ns() - t);
	for (j = 0; j < o->changes; j++) {
		i = (j * 7919) % o->services;
		/* The proxy's way: the one service that changed. */
		specs[i].count = specs[i].count == 2 ? 3 : 2;
		t = mono_ns();
		if (skiff_dp_service_set(dp, &specs[i].svc, specs[i].backends,
					 specs[i].count, &e))
			goto fail;
		set_ms[j] = ms_of(mono_ns() - t);
		/* The whole table for one change (and back). */
		specs[i].count = specs[i].count == 2 ? 3 : 2;
		t = mono_ns();
		if (skiff_dp_service_sync(dp, specs, o->services, &e))
			goto fail;
		sync_ms[j] = ms_of(mono_ns() - t);
		listed = 0;
		t = mono_ns();
		if (skiff_dp_service_list(dp, count_services, &listed, &e))
			goto fail;
		list_ms[j] = ms_of(mono_ns() - t);
		if (listed != o->services) {
			fprintf(stderr, "nodebench: %ld services listed, not %ld\n",
				listed, o->services);
			return 1;
		}
	}
	summary(set, sizeof(set), "set_", set_ms, o->changes);
	summary(sync, sizeof(sync), "sync_", sync_ms, o->changes);
	summary(list, sizeof(list), "list_", list_ms, o->changes);
	printf(RESYNC_FORMAT, skiff_dp_backend_name(o->backend), o->services, o->changes, initial,
	       set, sync, list);
	skiff_dp_close(dp);
	return 0;
fail:
	fprintf(stderr, "nodebench: %s\n", e.msg);
	skiff_dp_close(dp);
	return 1;
}

static void help(void)
{
	fprintf(stderr,
		"usage: nodebench pods --server URL|--kubeconfig FILE --node NAME [--pods N] [--rate R] [--scheduler]\n"
		"                 [--root-dir DIR] [--timeout S]\n"
		"       nodebench endpoints --server URL|--kubeconfig FILE [--netns PATH] [--dataplane nft|kmod]\n"
		"                 [--services S] [--changes C] [--timeout S]\n"
		"       nodebench resync [--dataplane nft|kmod] [--services S] [--changes C]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "kubeconfig", required_argument, NULL, 'K' },
		{ "node", required_argument, NULL, 'n' },
		{ "pods", required_argument, NULL, 'p' },
		{ "rate", required_argument, NULL, 'r' },
		{ "scheduler", no_argument, NULL, 'S' },
		{ "root-dir", required_argument, NULL, 'R' },
		{ "netns", required_argument, NULL, 'N' },
		{ "dataplane", required_argument, NULL, 'b' },
		{ "services", required_argument, NULL, 'v' },
		{ "changes", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = {
		.server = "http://127.0.0.1:8080", .backend = SKIFF_DP_NFT,
		.pods = 100, .services = 100, .changes = 200, .timeout = 120,
	};
	const char *mode;
	int opt;

	if (argc < 2) {
		help();
		return 2;
	}
	mode = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			o.server = optarg;
			break;
		case 'K':
			o.kubeconfig = optarg;
			break;
		case 'n':
			o.node = optarg;
			break;
		case 'p':
			o.pods = atol(optarg);
			break;
		case 'r':
			o.rate = atol(optarg);
			break;
		case 'S':
			o.scheduler = true;
			break;
		case 'R':
			o.root_dir = optarg;
			break;
		case 'N':
			o.netns = optarg;
			break;
		case 'b':
			if (skiff_dp_backend_parse(optarg, &o.backend)) {
				fprintf(stderr, "nodebench: --dataplane: kmod or nft\n");
				return 2;
			}
			break;
		case 'v':
			o.services = atol(optarg);
			break;
		case 'c':
			o.changes = atol(optarg);
			break;
		case 't':
			o.timeout = atol(optarg);
			break;
		default:
			help();
			return 2;
		}
	}
	if (o.pods <= 0 || o.rate < 0 || o.rate > 1000 || o.services <= 0 ||
	    o.services > 60000 || o.changes <= 0 || o.timeout <= 0 || optind != argc) {
		help();
		return 2;
	}
	if (!strcmp(mode, "pods") && (o.node || o.scheduler))
		return run_pods(&o);
	if (!strcmp(mode, "endpoints"))
		return run_endpoints(&o);
	if (!strcmp(mode, "resync"))
		return run_resync(&o);
	help();
	return 2;
}
