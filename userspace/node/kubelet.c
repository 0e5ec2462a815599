// SPDX-License-Identifier: GPL-2.0
/*
 * The kubelet: the pods bound to this node, made real and reported.
 *
 * Each pod has a worker (struct pod) whose sync() compares what the Pod
 * asks with what runs and takes the next steps, never blocking the loop:
 *
 *   sandbox     address from the node's subnet, network namespace wired
 *               to the bridge, /etc/hosts, resolv.conf (podnet.h)
 *   volumes     emptyDir, hostPath, configMap, secret (volume.h)
 *   init        init containers one at a time, in order, each to exit 0
 *   containers  started together; each followed by its shim
 *               (runtime.h) and its probes (probe.h); restarted as the
 *               restartPolicy says, with the kubelet's back-off (10 s
 *               doubling to 5 min, CrashLoopBackOff meanwhile)
 *   status      phase, conditions, container statuses, podIP, sent as a
 *               merge patch of pods/NAME/status when it changes
 *   deletion    SIGTERM to every container, SIGKILL after the grace
 *               period, then the sandbox and address are released and
 *               the Pod is deleted for good (gracePeriodSeconds 0)
 *
 * sync() runs from the idle handler for every pod marked dirty: by the
 * informer, a container event, a probe result or a timer. Work that may
 * fail for a while (an image not imported yet, a ConfigMap not there)
 * is retried every few seconds, as the kubelet's periodic resync would.
 *
 * The state of each pod is kept under ROOT/pods/UID: pod.json (the Pod
 * as first seen, for a restarted agent), netns (the bind-mounted network
 * namespace), etc/, volumes/, containers/NAME-N (the bundle of the Nth
 * run of a container, with what its shim recorded) and logs/NAME/N.log.
 * A restarted agent reads it back and adopts the running containers: no
 * pod is restarted.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include "files.h"
#include "image.h"
#include "node.h"
#include "objref.h"
#include "probe.h"
#include "quantity.h"
#include "volume.h"

#define PROG "skiff-node"
#define BACKOFF_FIRST_MS 10000
#define BACKOFF_MAX_MS 300000
/* A container that ran this long starts its back-off afresh. */
#define BACKOFF_RESET_MS (2 * BACKOFF_MAX_MS)
#define RETRY_MS 2000
/* Work done in one go before the loop gets its turn again. */
#define IDLE_SLICE_MS 20
/* Every pod is looked at again this often even when nothing happened. */
#define RESYNC_MS 60000
#define DEFAULT_GRACE_S 30

struct pod;

struct ctr {
	struct pod *pod;
	char name[64];
	bool init;
	json_t *spec;			/* in pod->spec */
	unsigned int attempt;		/* runs so far; the current is attempt - 1 */
	char id[192];
	char dir[PATH_MAX];
	bool created;			/* a run exists (id, dir) */
	struct skiff_container_state st;
	bool has_last;
	struct skiff_container_state last;
	char waiting[64];		/* reason while not running */
	char waiting_msg[640];
	int64_t backoff_ms;
	int64_t backoff_until;
	bool ready;
	bool started_ok;		/* startup probe passed (or none) */
	struct skiff_probe *liveness, *readiness, *startup;
	bool killing;
	bool respawn;			/* stopped for a new image: starts again at once */
	char kill_reason[128];
	struct skiff_timer *kill_timer;
};

struct pod {
	struct skiff_kubelet *k;
	struct pod *next;
	char uid[64];
	char ns[256];
	char name[256];
	char dir[1024];			/* ROOT/pods/UID (--root-dir is shorter) */
	json_t *obj;			/* the Pod as last heard, NULL once gone */
	json_t *spec;			/* the spec the containers were made from */
	bool seen;			/* the apiserver has it (since our list) */
	bool sandbox;
	bool volumes;
	struct in_addr ip;
	char ip_text[INET_ADDRSTRLEN];
	char start_time[40];
	struct ctr *ctrs;
	unsigned int n_ctrs;
	unsigned int n_init;
	bool terminating;
	int64_t grace_deadline;
	bool torn_down;
	bool delete_sent;
	bool dirty;
	struct skiff_timer *retry;
	int64_t retry_due;
	int64_t volumes_at;		/* when volume contents were last synced */
	json_t *last_status;
	bool status_busy;
	bool status_again;
};

struct skiff_kubelet {
	struct skiff_node *n;
	struct pod *pods;
	struct skiff_objrefs *refs;	/* the ConfigMaps and Secrets pods use */
	bool listed;
	char resolv_conf[4096];
};

static void ctr_event(const char *id, const struct skiff_container_state *st,
		      void *arg);

/* ---- helpers ---- */

static const char *restart_policy(const struct pod *p)
{
	return skiff_str(p->spec, "restartPolicy") ?: "Always";
}

/* A hostNetwork pod shares the node's network namespace: no sandbox. */
static bool host_network(const struct pod *p)
{
	return json_is_true(json_object_get(p->spec, "hostNetwork"));
}

static bool ctr_running(const struct ctr *c)
{
	return c->created && c->st.started && !c->st.exited;
}

static bool ctr_done_ok(const struct ctr *c)
{
	return c->created && c->st.exited && c->st.exit_code == 0;
}

static void mark_dirty(struct pod *p)
{
	p->dirty = true;
}

static void retry_fire(void *arg)
{
	struct pod *p = arg;

	p->retry = NULL;
	mark_dirty(p);
}

/* Looks at @p again in @ms (the earliest of several asks wins). */
static void retry_after(struct pod *p, int64_t ms)
{
	int64_t due = skiff_now_ms() + ms;

	if (p->retry && p->retry_due <= due)
		return;
	if (p->retry)
		skiff_timer_cancel(p->retry);
	p->retry_due = due;
	p->retry = skiff_loop_after(p->k->n->loop, ms, retry_fire, p);
}

static void pod_event(struct pod *p, const char *type, const char *reason,
		      const char *fmt, const char *arg)
{
	if (p->obj)
		skiff_client_event(p->k->n->c, p->obj, type, reason, "kubelet",
				   fmt, arg);
}

/* ---- containers ---- */

static void probes_stop(struct ctr *c)
{
	skiff_probe_stop(c->liveness);
	skiff_probe_stop(c->readiness);
	skiff_probe_stop(c->startup);
	c->liveness = NULL;
	c->readiness = NULL;
	c->startup = NULL;
}

static void kill_timer_fire(void *arg)
{
	struct ctr *c = arg;
	struct skiff_error e;

	c->kill_timer = NULL;
	if (ctr_running(c) && skiff_runtime_kill(c->pod->k->n->rt, c->id,
						 SIGKILL, &e))
		skiff_error_print(PROG ": SIGKILL", &e);
}

/* SIGTERM now, SIGKILL after @grace_s seconds if it still runs. */
static void ctr_kill(struct ctr *c, long long grace_s, const char *why)
{
	struct skiff_error e;

	if (!ctr_running(c) || c->killing)
		return;
	c->killing = true;
	snprintf(c->kill_reason, sizeof(c->kill_reason), "%s", why);
	if (skiff_runtime_kill(c->pod->k->n->rt, c->id,
			       grace_s > 0 ? SIGTERM : SIGKILL, &e))
		skiff_error_print(PROG ": stop container", &e);
	if (grace_s > 0)
		c->kill_timer = skiff_loop_after(c->pod->k->n->loop,
						 grace_s * 1000, kill_timer_fire,
						 c);
}

static void liveness_result(bool ok, const char *message, void *arg)
{
	struct ctr *c = arg;
	long long grace = skiff_int(c->pod->spec,
				    "terminationGracePeriodSeconds",
				    DEFAULT_GRACE_S);

	if (ok || !ctr_running(c))
		return;
	pod_event(c->pod, "Warning", "Unhealthy", "Liveness probe failed: %s",
		  message);
	fprintf(stderr, PROG ": %s/%s: %s: liveness probe failed: %s\n",
		c->pod->ns, c->pod->name, c->name, message);
	ctr_kill(c, grace, "liveness probe failed");
	mark_dirty(c->pod);
}

static void readiness_result(bool ok, const char *message, void *arg)
{
	struct ctr *c = arg;

	if (!ok && c->ready)
		pod_event(c->pod, "Warning", "Unhealthy",
			  "Readiness probe failed: %s", message);
	c->ready = ok;
	mark_dirty(c->pod);
}

static int probe_start(struct ctr *c, const char *field,
		       struct skiff_probe **probe, skiff_probe_fn fn)
{
	const json_t *spec = json_object_get(c->spec, field);
	const char *argv[9] = { NULL };
	struct skiff_error e;

	if (!spec)
		return 0;
	if (skiff_runtime_exec_argv(c->pod->k->n->rt, c->id, argv) <= 0)
		return -1;
	if (skiff_probe_start(probe, c->pod->k->n->loop, spec,
			      json_object_get(c->spec, "ports"), c->pod->ip,
			      argv, fn, c, &e)) {
		fprintf(stderr, PROG ": %s/%s: %s: %s: %s\n", c->pod->ns,
			c->pod->name, c->name, field, e.msg);
		return -1;
	}
	return 0;
}

static void startup_result(bool ok, const char *message, void *arg)
{
	struct ctr *c = arg;

	if (!ok) {
		liveness_result(false, message, arg);
		return;
	}
	/* Passed once is enough: now the other probes take over. */
	skiff_probe_stop(c->startup);
	c->startup = NULL;
	c->started_ok = true;
	probe_start(c, "livenessProbe", &c->liveness, liveness_result);
	if (!probe_start(c, "readinessProbe", &c->readiness, readiness_result) &&
	    !c->readiness)
		c->ready = true;
	mark_dirty(c->pod);
}

/* The container's process runs: its probes start. */
static void probes_begin(struct ctr *c)
{
	if (c->init)
		return;
	c->ready = false;
	c->started_ok = false;
	if (json_object_get(c->spec, "startupProbe")) {
		probe_start(c, "startupProbe", &c->startup, startup_result);
		return;
	}
	startup_result(true, "", c);
}

static void ctr_event(const char *id, const struct skiff_container_state *st,
		      void *arg)
{
	struct ctr *c = arg;
	bool was_running = ctr_running(c);

	(void)id;
	c->st = *st;
	if (st->started || st->exited) {
		c->waiting[0] = 0;
		c->waiting_msg[0] = 0;
	}
	if (ctr_running(c) && !was_running)
		probes_begin(c);
	if (st->exited) {
		probes_stop(c);
		c->ready = false;
		if (c->kill_timer) {
			skiff_timer_cancel(c->kill_timer);
			c->kill_timer = NULL;
		}
		/* The back-off starts afresh after a long good run. */
		if (st->started &&
		    (st->finished_at - st->started_at) * 1000 >= BACKOFF_RESET_MS)
			c->backoff_ms = 0;
	}
	mark_dirty(c->pod);
}

static const json_t *lookup_object(const char *kind, const char *ns,
				   const char *name, void *arg)
{
	struct skiff_kubelet *k = arg;

	return skiff_objrefs_get(k->refs, !strcmp(kind, "Secret"), ns, name);
}

static void set_waiting(struct ctr *c, const char *reason, const char *msg)
{
	snprintf(c->waiting, sizeof(c->waiting), "%s", reason);
	snprintf(c->waiting_msg, sizeof(c->waiting_msg), "%.*s",
		 (int)sizeof(c->waiting_msg) - 1, msg ?: "");
}

/* The strings of a JSON array, appended to @out from @at; how many now. */
static size_t add_strings(const char **out, size_t at, size_t max,
			  const json_t *list)
{
	const json_t *v;
	size_t i;

	json_array_foreach(list, i, v) {
		if (at < max && json_is_string(v))
			out[at++] = json_string_value(v);
	}
	return at;
}

static size_t add_caps(const char **out, size_t max, const json_t *list)
{
	return add_strings(out, 0, max, list);
}

#define MAX_ARGS 256
#define MAX_MOUNTS 64

/*
 * Kept: this run and the one before (lastState, logs --previous); the
 * container of two runs ago and the bundle of three runs ago go.
 */
static void ctr_forget_old_runs(struct ctr *c)
{
	struct skiff_node *n = c->pod->k->n;
	char id[PATH_MAX];
	struct skiff_error e;

	if (c->attempt >= 2) {
		snprintf(id, sizeof(id), "%s-%s-%u", c->pod->uid, c->name, c->attempt - 2);
		skiff_runtime_delete(n->rt, id, &e);
	}
	if (c->attempt >= 3) {
		snprintf(id, sizeof(id), "%s/containers/%s-%u", c->pod->dir, c->name,
			 c->attempt - 3);
		skiff_bundle_remove(id, &e);
	}
}

/* Makes the container's next run and starts it; false to try again later. */
static bool ctr_start(struct ctr *c)
{
	struct pod *p = c->pod;
	struct skiff_node *n = p->k->n;
	const json_t *sc = json_object_get(c->spec, "securityContext");
	const json_t *psc = json_object_get(p->spec, "securityContext");
	const json_t *limits = json_object_get(json_object_get(c->spec, "resources"),
					       "limits");
	const json_t *requests = json_object_get(json_object_get(c->spec, "resources"),
						 "requests");
	const char *args[MAX_ARGS + 1], *cap_add[32], *cap_drop[32];
	struct skiff_mount mounts[MAX_MOUNTS], *vol_mounts = NULL;
	struct skiff_container_spec spec = { 0 };
	char **env = NULL, *rootfs = NULL, log_dir[PATH_MAX], log_path[PATH_MAX + 32];
	char hosts[PATH_MAX + 16], resolv[PATH_MAX + 16], hostname_file[PATH_MAX + 16];
	char cgroup[256], msg[600], netns[PATH_MAX + 8], state[PATH_MAX + 200];
	const char *image = skiff_str(c->spec, "image");
	json_t *config = NULL;
	unsigned int n_vol = 0, i;
	size_t n_args = 0, n_mounts = 0;
	struct skiff_error e = { 0 };
	int64_t v;
	bool ok = false;

	if (skiff_image_lookup(n->image_dir, image, &rootfs, &config, &e)) {
		snprintf(msg, sizeof(msg),
			 "Container image \"%s\" is not present with pull policy of Never",
			 image);
		if (strcmp(c->waiting, "ErrImageNeverPull"))
			pod_event(p, "Warning", "ErrImageNeverPull", "%s", msg);
		set_waiting(c, "ErrImageNeverPull", msg);
		return false;
	}
	if (skiff_container_env(p->obj ?: p->spec, c->spec,
				json_object_get(config, "Env"), p->ip_text,
				n->node_ip_text, lookup_object, p->k, &env, &e)) {
		set_waiting(c, "CreateContainerConfigError", e.msg);
		goto out;
	}
	if (skiff_volume_mounts(p->dir, p->spec, c->spec, &vol_mounts, &n_vol, &e)) {
		set_waiting(c, "CreateContainerConfigError", e.msg);
		goto out;
	}
	/* command replaces the entrypoint, args the image's Cmd (Kubernetes). */
	if (json_array_size(json_object_get(c->spec, "command"))) {
		n_args = add_strings(args, 0, MAX_ARGS, json_object_get(c->spec, "command"));
		n_args = add_strings(args, n_args, MAX_ARGS, json_object_get(c->spec, "args"));
	} else {
		n_args = add_strings(args, 0, MAX_ARGS, json_object_get(config, "Entrypoint"));
		n_args = add_strings(args, n_args, MAX_ARGS,
				     json_object_get(c->spec, "args") ?:
				     json_object_get(config, "Cmd"));
	}
	args[n_args] = NULL;
	if (!n_args) {
		set_waiting(c, "CreateContainerError", "no command specified");
		goto out;
	}
	snprintf(hosts, sizeof(hosts), "%s/etc/hosts", p->dir);
	snprintf(resolv, sizeof(resolv), "%s/etc/resolv.conf", p->dir);
	snprintf(hostname_file, sizeof(hostname_file), "%s/etc/hostname", p->dir);
	mounts[n_mounts++] = (struct skiff_mount){ hosts, "/etc/hosts", false };
	mounts[n_mounts++] = (struct skiff_mount){ resolv, "/etc/resolv.conf", false };
	mounts[n_mounts++] = (struct skiff_mount){ hostname_file, "/etc/hostname", false };
	for (i = 0; i < n_vol && n_mounts < MAX_MOUNTS; i++)
		mounts[n_mounts++] = vol_mounts[i];

	spec.image_rootfs = rootfs;
	spec.readonly_rootfs = json_is_true(json_object_get(sc, "readOnlyRootFilesystem"));
	spec.args = args;
	spec.env = (const char *const *)env;
	spec.cwd = skiff_str(c->spec, "workingDir");
	if (!spec.cwd || !*spec.cwd)
		spec.cwd = json_string_value(json_object_get(config, "WorkingDir"));
	spec.uid = skiff_int(sc, "runAsUser", skiff_int(psc, "runAsUser", 0));
	spec.gid = skiff_int(sc, "runAsGroup", skiff_int(psc, "runAsGroup", 0));
	spec.hostname = skiff_str(p->spec, "hostname");
	if (!spec.hostname || !*spec.hostname)
		spec.hostname = p->name;
	/* runc joins it from its own process, which is in the node's namespace. */
	if (host_network(p))
		snprintf(netns, sizeof(netns), "/proc/self/ns/net");
	else
		snprintf(netns, sizeof(netns), "%s/netns", p->dir);
	spec.netns_path = netns;
	spec.mounts = mounts;
	spec.n_mounts = n_mounts;
	if (!skiff_parse_quantity(json_string_value(json_object_get(limits, "memory")),
				  false, &v))
		spec.memory_limit = v;
	if (!skiff_parse_quantity(json_string_value(json_object_get(limits, "cpu")),
				  true, &v) && v > 0) {
		spec.cpu_period = 100000;
		spec.cpu_quota = v * 100 < 1000 ? 1000 : v * 100;
	}
	if (!skiff_parse_quantity(json_string_value(json_object_get(requests, "cpu")),
				  true, &v) && v > 0)
		spec.cpu_shares = v * 1024 / 1000 < 2 ? 2 : v * 1024 / 1000;
	cap_add[add_caps(cap_add, 31, json_object_get(json_object_get(sc, "capabilities"),
						      "add"))] = NULL;
	cap_drop[add_caps(cap_drop, 31, json_object_get(json_object_get(sc, "capabilities"),
							"drop"))] = NULL;
	spec.cap_add = cap_add;
	spec.cap_drop = cap_drop;
	snprintf(cgroup, sizeof(cgroup), "skiff/%s/%s/%s-%u", n->name, p->uid, c->name,
		 c->attempt);
	spec.cgroups_path = cgroup;

	snprintf(c->id, sizeof(c->id), "%s-%s-%u", p->uid, c->name, c->attempt);
	snprintf(c->dir, sizeof(c->dir), "%s/containers/%s-%u", p->dir, c->name,
		 c->attempt);
	snprintf(log_dir, sizeof(log_dir), "%s/logs/%s", p->dir, c->name);
	snprintf(log_path, sizeof(log_path), "%s/%u.log", log_dir, c->attempt);
	skiff_mkdirs(log_dir);
	/*
	 * A leftover of a run that never started (agent killed meanwhile):
	 * only then is there a runtime record to delete (runc delete costs
	 * tens of milliseconds even when there is nothing).
	 */
	snprintf(state, sizeof(state), "%s/runc/%s", n->root_dir, c->id);
	if (!access(state, F_OK))
		skiff_runtime_delete(n->rt, c->id, &e);
	if (!access(c->dir, F_OK))
		skiff_bundle_remove(c->dir, &e);
	if (skiff_bundle_write(c->dir, &spec, &e)) {
		set_waiting(c, "CreateContainerError", e.msg);
		goto out;
	}
	if (c->created) {
		c->has_last = true;
		c->last = c->st;
	}
	memset(&c->st, 0, sizeof(c->st));
	c->created = true;
	c->killing = false;
	c->attempt++;
	set_waiting(c, "ContainerCreating", "");
	if (skiff_runtime_start(n->rt, n->loop, c->id, c->dir, log_path, ctr_event, c,
				&e)) {
		c->st.exited = true;
		c->st.exit_code = 128;
		snprintf(c->st.reason, sizeof(c->st.reason), "%s", e.msg);
		goto out;
	}
	ok = true;
	ctr_forget_old_runs(c);
out:
	if (!ok && e.err && strcmp(c->waiting, "ErrImageNeverPull"))
		fprintf(stderr, PROG ": %s/%s: %s: %s\n", p->ns, p->name, c->name,
			e.msg);
	free(rootfs);
	json_decref(config);
	free(env);
	free(vol_mounts);
	return ok;
}

/* Whether @c, ended, runs again under the pod's restartPolicy. */
static bool should_restart(const struct pod *p, const struct ctr *c)
{
	const char *policy = restart_policy(p);

	if (c->respawn)
		return true;
	if (!strcmp(policy, "Never"))
		return false;
	if (!strcmp(policy, "OnFailure") || c->init)
		return c->st.exit_code != 0;
	return true;
}

/* Starts @c now or when its back-off ends; true when it was started. */
static bool ctr_restart(struct ctr *c)
{
	struct pod *p = c->pod;
	int64_t now = skiff_now_ms();
	char msg[1024];

	if (!c->backoff_until) {
		c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_FIRST_MS;
		if (c->backoff_ms > BACKOFF_MAX_MS)
			c->backoff_ms = BACKOFF_MAX_MS;
		c->backoff_until = now + c->backoff_ms;
		snprintf(msg, sizeof(msg),
			 "back-off %llds restarting failed container=%s pod=%s_%s(%s)",
			 (long long)c->backoff_ms / 1000, c->name, p->name, p->ns, p->uid);
		set_waiting(c, "CrashLoopBackOff", msg);
		pod_event(p, "Warning", "BackOff", "%s",
			  "Back-off restarting failed container");
	}
	if (now < c->backoff_until) {
		retry_after(p, c->backoff_until - now);
		return false;
	}
	c->backoff_until = 0;
	return ctr_start(c);
}

/* ---- the sandbox ---- */

static int write_pod_files(struct pod *p)
{
	char path[PATH_MAX], text[1024];
	const char *host = skiff_str(p->spec, "hostname");
	int err;

	if (!host || !*host)
		host = p->name;
	snprintf(path, sizeof(path), "%s/etc", p->dir);
	err = skiff_mkdirs(path);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/etc/hosts", p->dir);
	snprintf(text, sizeof(text),
		 "# Kubernetes-managed hosts file (skiff-node).\n"
		 "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
		 "%s\t%s\n", p->ip_text, host);
	err = skiff_write_file(path, text, 0644);
	if (!err) {
		snprintf(path, sizeof(path), "%s/etc/resolv.conf", p->dir);
		err = skiff_write_file(path, p->k->resolv_conf, 0644);
	}
	if (!err) {
		snprintf(path, sizeof(path), "%s/etc/hostname", p->dir);
		snprintf(text, sizeof(text), "%s\n", host);
		err = skiff_write_file(path, text, 0644);
	}
	return err;
}

static bool sandbox_up(struct pod *p)
{
	struct skiff_node *n = p->k->n;
	struct skiff_sandbox sb = { 0 };
	char netns[PATH_MAX + 8];
	struct skiff_error e = { 0 };
	struct ctr *c0 = &p->ctrs[0];

	if (p->sandbox)
		return true;
	if (!n->networked) {
		set_waiting(c0, "ContainerCreating", "waiting for the node's network");
		return false;
	}
	if (host_network(p)) {
		p->ip = n->node_ip;
		snprintf(p->ip_text, sizeof(p->ip_text), "%s", n->node_ip_text);
		if (write_pod_files(p)) {
			skiff_error_set(&e, -EIO, "cannot write /etc files of the pod");
			goto fail;
		}
		p->sandbox = true;
		return true;
	}
	if (skiff_ipam_get(n->ipam, p->uid, &p->ip, &e))
		goto fail;
	inet_ntop(AF_INET, &p->ip, p->ip_text, sizeof(p->ip_text));
	snprintf(netns, sizeof(netns), "%s/netns", p->dir);
	sb.netns_path = netns;
	sb.bridge = SKIFF_NODE_BRIDGE;
	skiff_sandbox_veth_name(p->uid, sb.host_veth);
	sb.addr = p->ip;
	sb.prefix_len = n->pod_len;
	sb.gateway.s_addr = htonl(ntohl(n->pod_cidr.s_addr) + 1);
	sb.mtu = n->mtu;
	if (skiff_sandbox_create(&sb, &e))
		goto fail;
	if (write_pod_files(p)) {
		skiff_error_set(&e, -EIO, "cannot write /etc files of the pod");
		goto fail;
	}
	p->sandbox = true;
	return true;
fail:
	fprintf(stderr, PROG ": %s/%s: sandbox: %s\n", p->ns, p->name, e.msg);
	set_waiting(c0, "ContainerCreating", e.msg);
	pod_event(p, "Warning", "FailedCreatePodSandBox", "%s", e.msg);
	retry_after(p, RETRY_MS);
	return false;
}

/* Releases everything but the pod's directory record; idempotent. */
static void pod_teardown(struct pod *p, bool all)
{
	struct skiff_node *n = p->k->n;
	char netns[PATH_MAX + 8], veth[16];
	struct skiff_error e;
	unsigned int i;

	for (i = 0; i < p->n_ctrs; i++) {
		struct ctr *c = &p->ctrs[i];

		if (!c->created)
			continue;
		skiff_runtime_forget(n->rt, c->id);
		skiff_runtime_delete(n->rt, c->id, &e);
		if (all)
			skiff_bundle_remove(c->dir, &e);
	}
	if ((p->sandbox || all) && !host_network(p)) {
		snprintf(netns, sizeof(netns), "%s/netns", p->dir);
		skiff_sandbox_veth_name(p->uid, veth);
		if (skiff_sandbox_destroy(netns, veth, &e))
			skiff_error_print(PROG ": sandbox", &e);
		if (n->ipam)
			skiff_ipam_release(n->ipam, p->uid);
	}
	p->sandbox = false;
	if (all) {
		skiff_volumes_teardown(p->dir, &e);
		skiff_remove_tree(p->dir);
		p->torn_down = true;
	}
}

/* ---- status ---- */

static void fmt_time(double t, char *out, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *terminated(const struct ctr *c, const struct skiff_container_state *st)
{
	char started[40], finished[40], id[220];
	const char *reason = st->exit_code ? "Error" : "Completed";
	json_t *t;

	if (!st->started)
		reason = "StartError";
	else if (!strcmp(st->reason, "OOMKilled"))
		reason = "OOMKilled";
	fmt_time(st->started_at, started, sizeof(started));
	fmt_time(st->finished_at, finished, sizeof(finished));
	snprintf(id, sizeof(id), "%s://%s", c->pod->k->n->runtime_name, c->id);
	t = json_pack("{s:i, s:s, s:s, s:s}", "exitCode", st->exit_code,
		      "reason", reason, "finishedAt", finished, "containerID", id);
	if (st->started)
		json_object_set_new(t, "startedAt", json_string(started));
	if (st->reason[0] && strcmp(st->reason, "OOMKilled"))
		json_object_set_new(t, "message", json_string(st->reason));
	return json_pack("{s:o}", "terminated", t);
}

static json_t *ctr_status(const struct ctr *c)
{
	char id[220], started[40];
	json_t *s, *state, *last;
	bool running = ctr_running(c);

	snprintf(id, sizeof(id), "%s://%s", c->pod->k->n->runtime_name, c->id);
	if (running) {
		fmt_time(c->st.started_at, started, sizeof(started));
		state = json_pack("{s:{s:s}}", "running", "startedAt", started);
		last = c->has_last ? terminated(c, &c->last) : json_object();
	} else if (c->created && c->st.exited && !c->waiting[0]) {
		state = terminated(c, &c->st);
		last = c->has_last ? terminated(c, &c->last) : json_object();
	} else {
		state = json_pack("{s:{s:s}}", "waiting", "reason",
				  c->waiting[0] ? c->waiting :
				  c->init ? "PodInitializing" : "ContainerCreating");
		if (c->waiting_msg[0])
			json_object_set_new(json_object_get(state, "waiting"), "message",
					    json_string(c->waiting_msg));
		last = c->created && c->st.exited ? terminated(c, &c->st) :
			c->has_last ? terminated(c, &c->last) : json_object();
	}
	s = json_pack("{s:s, s:s, s:s, s:b, s:i, s:b, s:o, s:o}",
		      "name", c->name, "image", skiff_str(c->spec, "image") ?: "",
		      "imageID", "", "ready", c->ready && running,
		      "restartCount", c->attempt ? c->attempt - 1 : 0,
		      "started", running && c->started_ok,
		      "state", state, "lastState", last);
	if (c->created)
		json_object_set_new(s, "containerID", json_string(id));
	return s;
}

/* Pending, Running, Succeeded or Failed, as the kubelet decides. */
static const char *pod_phase(const struct pod *p, bool *initialized)
{
	bool all_ended = true, all_ok = true, any_started = false;
	unsigned int i;

	*initialized = true;
	for (i = 0; i < p->n_init; i++) {
		const struct ctr *c = &p->ctrs[i];

		if (ctr_done_ok(c))
			continue;
		*initialized = false;
		if (c->created && c->st.exited && !should_restart(p, c))
			return "Failed";
		return "Pending";
	}
	for (i = p->n_init; i < p->n_ctrs; i++) {
		const struct ctr *c = &p->ctrs[i];

		if (c->created && (c->st.started || c->st.exited))
			any_started = true;
		if (!c->created || !c->st.exited || should_restart(p, c))
			all_ended = false;
		else if (c->st.exit_code)
			all_ok = false;
	}
	if (all_ended)
		return all_ok ? "Succeeded" : "Failed";
	for (i = p->n_init; i < p->n_ctrs; i++)
		if (!p->ctrs[i].created)
			return "Pending";
	return any_started ? "Running" : "Pending";
}

static json_t *pod_condition(const char *type, bool ok, const char *reason)
{
	char now[40];
	json_t *c;

	skiff_time_now(now, sizeof(now));
	c = json_pack("{s:s, s:s, s:n, s:s}", "type", type, "status",
		      ok ? "True" : "False", "lastProbeTime", "lastTransitionTime", now);
	if (reason)
		json_object_set_new(c, "reason", json_string(reason));
	return c;
}

static const char *qos_class(const struct pod *p)
{
	bool any = false, guaranteed = true;
	const json_t *c, *res;
	size_t i;

	json_array_foreach(json_object_get(p->spec, "containers"), i, c) {
		res = json_object_get(c, "resources");
		if (json_object_size(json_object_get(res, "requests")) ||
		    json_object_size(json_object_get(res, "limits")))
			any = true;
		if (!json_object_get(json_object_get(res, "limits"), "cpu") ||
		    !json_object_get(json_object_get(res, "limits"), "memory"))
			guaranteed = false;
	}
	return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

static json_t *pod_status(struct pod *p)
{
	bool initialized, ready = true;
	const char *phase = pod_phase(p, &initialized);
	bool terminal = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
	json_t *st, *conds, *inits = json_array(), *ctrs = json_array();
	unsigned int i;

	for (i = 0; i < p->n_ctrs; i++) {
		json_array_append_new(i < p->n_init ? inits : ctrs, ctr_status(&p->ctrs[i]));
		if (i >= p->n_init && !(p->ctrs[i].ready && ctr_running(&p->ctrs[i])))
			ready = false;
	}
	if (terminal || p->terminating)
		ready = false;
	conds = json_array();
	json_array_append_new(conds, pod_condition("PodReadyToStartContainers",
						   p->sandbox, NULL));
	json_array_append_new(conds, pod_condition("Initialized", initialized,
						   initialized ? NULL :
						   "ContainersNotInitialized"));
	json_array_append_new(conds, pod_condition("Ready", ready, ready ? NULL :
						   terminal ? "PodCompleted" :
						   "ContainersNotReady"));
	json_array_append_new(conds, pod_condition("ContainersReady", ready, ready ? NULL :
						   terminal ? "PodCompleted" :
						   "ContainersNotReady"));
	json_array_append_new(conds, pod_condition("PodScheduled", true, NULL));
	st = json_pack("{s:s, s:o, s:s, s:[{s:s}], s:s, s:s, s:o}",
		       "phase", phase, "conditions", conds,
		       "hostIP", p->k->n->node_ip_text,
		       "hostIPs", "ip", p->k->n->node_ip_text,
		       "startTime", p->start_time, "qosClass", qos_class(p),
		       "containerStatuses", ctrs);
	if (p->n_init)
		json_object_set_new(st, "initContainerStatuses", inits);
	else
		json_decref(inits);
	if (p->ip_text[0]) {
		json_object_set_new(st, "podIP", json_string(p->ip_text));
		json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", p->ip_text));
	}
	return st;
}

static void status_update(struct pod *p);

static void status_sent(long code, json_t *answer, void *arg)
{
	struct pod *p = arg;

	p->status_busy = false;
	if (code == 200) {
		skiff_informer_wrote(p->k->n->pods, answer, false);
	} else if (code != 404) {
		fprintf(stderr, PROG ": %s/%s: status: HTTP %ld\n", p->ns, p->name, code);
		json_decref(p->last_status);
		p->last_status = NULL;
		retry_after(p, RETRY_MS);
	}
	if (p->status_again) {
		p->status_again = false;
		status_update(p);
	}
}

static void status_update(struct pod *p)
{
	json_t *status, *patch;

	if (!p->obj || p->torn_down)
		return;
	if (p->status_busy) {
		p->status_again = true;
		return;
	}
	status = pod_status(p);
	skiff_keep_transitions(status, p->last_status ?: json_object_get(p->obj, "status"));
	if (p->last_status && json_equal(status, p->last_status)) {
		json_decref(status);
		return;
	}
	patch = json_pack("{s:O}", "status", status);
	json_decref(p->last_status);
	p->last_status = status;
	p->status_busy = true;
	if (skiff_client_send(p->k->n->c, "PATCH",
			      skiff_path(&skiff_pods, p->ns, p->name, "status"),
			      "application/merge-patch+json", patch, status_sent, p))
		p->status_busy = false;
	json_decref(patch);
}

/* ---- the pod worker ---- */

static long long grace_period(const struct pod *p)
{
	const json_t *meta = json_object_get(p->obj, "metadata");

	if (json_is_integer(json_object_get(meta, "deletionGracePeriodSeconds")))
		return json_integer_value(json_object_get(meta, "deletionGracePeriodSeconds"));
	return skiff_int(p->spec, "terminationGracePeriodSeconds", DEFAULT_GRACE_S);
}

static void deleted(long code, json_t *answer, void *arg)
{
	struct pod *p = arg;

	(void)answer;
	if (code != 200 && code != 404 && code != 409) {
		fprintf(stderr, PROG ": %s/%s: delete: HTTP %ld\n", p->ns, p->name, code);
		p->delete_sent = false;
		retry_after(p, RETRY_MS);
	}
}

/* Deleted or gone: stop everything, then release it. True when done. */
static bool terminate(struct pod *p)
{
	long long grace = grace_period(p);
	bool waiting = false;
	unsigned int i;
	json_t *body;

	if (!p->terminating) {
		p->terminating = true;
		for (i = 0; i < p->n_ctrs; i++) {
			if (ctr_running(&p->ctrs[i]))
				pod_event(p, "Normal", "Killing", "Stopping container %s",
					  p->ctrs[i].name);
		}
	}
	for (i = 0; i < p->n_ctrs; i++) {
		struct ctr *c = &p->ctrs[i];

		probes_stop(c);
		if (ctr_running(c))
			ctr_kill(c, grace, "pod deleted");
		/* Started by a shim that has not reported yet: wait for it. */
		if (ctr_running(c) || (c->created && !c->st.started && !c->st.exited))
			waiting = true;
	}
	if (waiting) {
		status_update(p);
		return false;
	}
	if (!p->torn_down)
		pod_teardown(p, true);
	if (p->obj && skiff_deleting(p->obj) && !p->delete_sent) {
		p->delete_sent = true;
		body = json_pack("{s:s, s:s, s:i, s:{s:s}}", "apiVersion", "v1",
				 "kind", "DeleteOptions", "gracePeriodSeconds", 0,
				 "preconditions", "uid", p->uid);
		skiff_client_send(p->k->n->c, "DELETE",
				  skiff_path(&skiff_pods, p->ns, p->name, NULL),
				  NULL, body, deleted, p);
		json_decref(body);
	}
	return !p->obj;
}

/* Ended for good (Succeeded or Failed): the network goes back. */
static void finish(struct pod *p)
{
	unsigned int i;

	for (i = 0; i < p->n_ctrs; i++)
		probes_stop(&p->ctrs[i]);
	status_update(p);
	if (p->sandbox)
		pod_teardown(p, false);
}

static void run_init(struct pod *p, bool *done)
{
	unsigned int i;

	*done = false;
	for (i = 0; i < p->n_init; i++) {
		struct ctr *c = &p->ctrs[i];

		if (ctr_done_ok(c))
			continue;
		if (!c->created) {
			if (!ctr_start(c))
				retry_after(p, RETRY_MS);
		} else if (c->st.exited && should_restart(p, c)) {
			ctr_restart(c);
		}
		return;
	}
	*done = true;
}

static void run_containers(struct pod *p)
{
	unsigned int i;

	for (i = p->n_init; i < p->n_ctrs; i++) {
		struct ctr *c = &p->ctrs[i];

		if (!c->created) {
			if (!ctr_start(c))
				retry_after(p, RETRY_MS);
		} else if (c->st.exited && c->respawn) {
			c->respawn = false;
			c->backoff_until = 0;
			if (!ctr_start(c))
				c->respawn = true;
		} else if (c->st.exited && should_restart(p, c)) {
			ctr_restart(c);
		}
	}
}

/* One step of @p towards what its Pod asks; true when @p can be freed. */
static bool pod_sync(struct pod *p)
{
	struct skiff_error e = { 0 };
	bool initialized;
	const char *phase;

	if (!p->obj && !p->k->listed)
		return false;	/* adopted, not heard of yet */
	if (!p->obj || skiff_deleting(p->obj))
		return terminate(p);
	phase = pod_phase(p, &initialized);
	if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")) {
		finish(p);
		return false;
	}
	if (!sandbox_up(p))
		goto out;
	/*
	 * ConfigMap and Secret contents are written again when they change
	 * (config_changed) and at every resync (a no-op when nothing did).
	 */
	if (!p->volumes || skiff_now_ms() - p->volumes_at >= RESYNC_MS) {
		p->volumes_at = skiff_now_ms();
		if (skiff_volumes_setup(p->dir, p->obj, lookup_object, p->k, &e)) {
			set_waiting(&p->ctrs[p->n_init < p->n_ctrs ? p->n_init : 0],
				    "ContainerCreating", e.msg);
			pod_event(p, "Warning", "FailedMount", "%s", e.msg);
			retry_after(p, RETRY_MS);
			goto out;
		}
		p->volumes = true;
	}
	run_init(p, &initialized);
	if (initialized)
		run_containers(p);
	retry_after(p, RESYNC_MS);
out:
	status_update(p);
	return false;
}

/* ---- pods come and go ---- */

static struct pod *pod_find(struct skiff_kubelet *k, const char *uid)
{
	struct pod *p;

	for (p = k->pods; p; p = p->next)
		if (!strcmp(p->uid, uid))
			return p;
	return NULL;
}

static int ctrs_init(struct pod *p)
{
	json_t *inits = json_object_get(p->spec, "initContainers");
	json_t *ctrs = json_object_get(p->spec, "containers");
	json_t *c;
	size_t i;

	p->n_init = json_array_size(inits);
	p->n_ctrs = p->n_init + json_array_size(ctrs);
	if (!p->n_ctrs)
		return -EINVAL;
	p->ctrs = calloc(p->n_ctrs, sizeof(*p->ctrs));
	if (!p->ctrs)
		return -ENOMEM;
	for (i = 0; i < p->n_ctrs; i++) {
		c = i < p->n_init ? json_array_get(inits, i) :
			json_array_get(ctrs, i - p->n_init);
		p->ctrs[i].pod = p;
		p->ctrs[i].init = i < p->n_init;
		p->ctrs[i].spec = c;
		snprintf(p->ctrs[i].name, sizeof(p->ctrs[i].name), "%s",
			 json_string_value(json_object_get(c, "name")) ?: "");
	}
	return 0;
}

static struct pod *pod_new(struct skiff_kubelet *k, const char *uid, const char *ns,
			   const char *name, const json_t *spec, const char *start_time)
{
	struct pod *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->k = k;
	snprintf(p->uid, sizeof(p->uid), "%s", uid);
	snprintf(p->ns, sizeof(p->ns), "%s", ns);
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->dir, sizeof(p->dir), "%s/pods/%s", k->n->root_dir, uid);
	snprintf(p->start_time, sizeof(p->start_time), "%s", start_time);
	p->spec = json_deep_copy(spec);
	if (!p->spec || ctrs_init(p))
		goto err_free;
	if (skiff_objrefs_take_pod(k->refs, p->ns, p->spec))
		goto err_free_ctrs;
	p->next = k->pods;
	k->pods = p;
	return p;

err_free_ctrs:
	free(p->ctrs);
err_free:
	json_decref(p->spec);
	free(p);
	return NULL;
}

static void pod_free(struct pod *p)
{
	struct pod **pp;
	unsigned int i;

	for (pp = &p->k->pods; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	for (i = 0; i < p->n_ctrs; i++) {
		probes_stop(&p->ctrs[i]);
		if (p->ctrs[i].kill_timer)
			skiff_timer_cancel(p->ctrs[i].kill_timer);
		if (p->ctrs[i].created)
			skiff_runtime_forget(p->k->n->rt, p->ctrs[i].id);
	}
	if (p->retry)
		skiff_timer_cancel(p->retry);
	free(p->ctrs);
	skiff_objrefs_drop_pod(p->k->refs, p->ns, p->spec);
	json_decref(p->obj);
	json_decref(p->spec);
	json_decref(p->last_status);
	free(p);
}

/* What a restarted agent needs to find the pod again. */
static int pod_record(struct pod *p)
{
	char path[PATH_MAX + 16];
	json_t *rec;
	char *text;
	int err;

	err = skiff_mkdirs(p->dir);
	if (err)
		return err;
	rec = json_pack("{s:s, s:s, s:s, s:s, s:O}", "uid", p->uid, "namespace", p->ns,
			"name", p->name, "startTime", p->start_time, "spec", p->spec);
	text = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	if (!text)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/pod.json", p->dir);
	err = skiff_write_file(path, text, 0600);
	free(text);
	return err;
}

/*
 * A container's image is the one field of a running Pod that may change:
 * the container is stopped and started again with the new one, as the
 * kubelet does when a container's definition changes.
 */
static void image_changes(struct pod *p)
{
	const json_t *ctrs = json_object_get(json_object_get(p->obj, "spec"), "containers");
	const char *image;
	unsigned int i;
	bool changed = false;

	for (i = p->n_init; i < p->n_ctrs; i++) {
		struct ctr *c = &p->ctrs[i];

		image = skiff_str(json_array_get(ctrs, i - p->n_init), "image");
		if (!image || !strcmp(image, skiff_str(c->spec, "image") ?: ""))
			continue;
		json_object_set_new(c->spec, "image", json_string(image));
		changed = true;
		c->respawn = true;
		c->backoff_until = 0;
		c->backoff_ms = 0;
		if (ctr_running(c)) {
			pod_event(p, "Normal", "Killing",
				  "Container %s definition changed, will be restarted", c->name);
			probes_stop(c);
			ctr_kill(c, skiff_int(p->spec, "terminationGracePeriodSeconds",
					      DEFAULT_GRACE_S), "definition changed");
		}
	}
	if (changed && pod_record(p))
		fprintf(stderr, PROG ": pod %s/%s: cannot record it\n", p->ns, p->name);
}

static void pod_changed(enum skiff_change change, const json_t *old,
			const json_t *obj, void *arg)
{
	struct skiff_kubelet *k = arg;
	const char *uid = skiff_meta(obj, "uid");
	char now[40];
	struct pod *p;

	(void)old;
	if (!uid || !*uid)
		return;
	p = pod_find(k, uid);
	if (change == SKIFF_DELETED) {
		if (p) {
			json_decref(p->obj);
			p->obj = NULL;
			mark_dirty(p);
		}
		return;
	}
	if (!p) {
		/* A pod that ended before we saw it needs nothing from us. */
		if (skiff_pod_finished(obj))
			return;
		skiff_time_now(now, sizeof(now));
		p = pod_new(k, uid, skiff_meta(obj, "namespace"), skiff_meta(obj, "name"),
			    json_object_get(obj, "spec"), now);
		if (!p) {
			fprintf(stderr, PROG ": pod %s/%s: cannot track it\n",
				skiff_meta(obj, "namespace"), skiff_meta(obj, "name"));
			return;
		}
		if (pod_record(p))
			fprintf(stderr, PROG ": pod %s/%s: cannot record it under %s\n",
				p->ns, p->name, p->dir);
	}
	json_decref(p->obj);
	p->obj = json_deep_copy(obj);
	p->seen = true;
	image_changes(p);
	mark_dirty(p);
}

/* Reads back the runs of every container of @p an earlier agent made. */
static void adopt_containers(struct pod *p)
{
	char path[1100], prev[PATH_MAX];
	struct skiff_error e;
	struct dirent *d;
	unsigned int i, n;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/containers", p->dir);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		char *dash = strrchr(d->d_name, '-');

		if (!dash || sscanf(dash + 1, "%u", &n) != 1)
			continue;
		for (i = 0; i < p->n_ctrs; i++) {
			if (strlen(p->ctrs[i].name) == (size_t)(dash - d->d_name) &&
			    !strncmp(p->ctrs[i].name, d->d_name, dash - d->d_name) &&
			    n + 1 > p->ctrs[i].attempt)
				p->ctrs[i].attempt = n + 1;
		}
	}
	closedir(dir);
	for (i = 0; i < p->n_ctrs; i++) {
		struct ctr *c = &p->ctrs[i];

		if (!c->attempt)
			continue;
		snprintf(c->id, sizeof(c->id), "%s-%s-%u", p->uid, c->name, c->attempt - 1);
		snprintf(c->dir, sizeof(c->dir), "%s/%s-%u", path, c->name, c->attempt - 1);
		if (skiff_container_state_read(c->dir, &c->st))
			continue;
		c->created = true;
		if (c->attempt > 1) {
			snprintf(prev, sizeof(prev), "%s/%s-%u", path, c->name, c->attempt - 2);
			c->has_last = !skiff_container_state_read(prev, &c->last);
		}
		if (c->st.started && !c->st.exited) {
			if (skiff_runtime_adopt(p->k->n->rt, p->k->n->loop, c->id, c->dir,
						ctr_event, c, &e))
				skiff_error_print(PROG ": adopt", &e);
			else
				probes_begin(c);
		}
	}
}

static void adopt_pod(struct skiff_kubelet *k, const char *uid)
{
	char path[PATH_MAX + 32], netns[PATH_MAX + 16];
	struct skiff_error e;
	json_error_t jerr;
	struct pod *p;
	json_t *rec;

	snprintf(path, sizeof(path), "%s/pods/%s/pod.json", k->n->root_dir, uid);
	rec = json_load_file(path, 0, &jerr);
	if (!rec || strcmp(skiff_str(rec, "uid") ?: "", uid)) {
		json_decref(rec);
		return;
	}
	p = pod_new(k, uid, skiff_str(rec, "namespace") ?: "", skiff_str(rec, "name") ?: "",
		    json_object_get(rec, "spec"), skiff_str(rec, "startTime") ?: "");
	json_decref(rec);
	if (!p)
		return;
	snprintf(netns, sizeof(netns), "%s/netns", p->dir);
	if (host_network(p)) {
		p->ip = k->n->node_ip;
		p->sandbox = true;
		p->volumes = true;
		inet_ntop(AF_INET, &p->ip, p->ip_text, sizeof(p->ip_text));
	} else if (skiff_sandbox_exists(netns) &&
		   !skiff_ipam_get(k->n->ipam, p->uid, &p->ip, &e)) {
		p->sandbox = true;
		p->volumes = true;
		inet_ntop(AF_INET, &p->ip, p->ip_text, sizeof(p->ip_text));
	}
	adopt_containers(p);
}

static void adopt_all(struct skiff_kubelet *k)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/pods", k->n->root_dir);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			adopt_pod(k, d->d_name);
	closedir(dir);
}

static bool kubelet_idle(void *arg)
{
	struct skiff_kubelet *k = arg;
	int64_t start = skiff_now_ms();
	struct pod *p, *next;
	bool more = false;

	if (!k->listed && skiff_informer_synced(k->n->pods)) {
		k->listed = true;
		for (p = k->pods; p; p = p->next)
			mark_dirty(p);
	}
	/*
	 * A pod's first sync costs tens of milliseconds of work on this
	 * thread (namespace, mounts, runtime calls): a burst of new pods is
	 * taken a slice at a time so that status writes, heartbeats and
	 * container events go on in between.
	 */
	for (p = k->pods; p && skiff_now_ms() - start < IDLE_SLICE_MS; p = next) {
		next = p->next;
		if (!p->dirty)
			continue;
		p->dirty = false;
		if (pod_sync(p))
			pod_free(p);
	}
	for (p = k->pods; p; p = p->next)
		more |= p->dirty;
	return more;
}

unsigned int skiff_kubelet_pods(const struct skiff_kubelet *k)
{
	const struct pod *p;
	unsigned int n = 0;

	for (p = k ? k->pods : NULL; p; p = p->next)
		n++;
	return n;
}

/* Does @p mount the ConfigMap (@secret false) or Secret @name? */
static bool mounts_object(const struct pod *p, bool secret, const char *name)
{
	const json_t *v;
	size_t i;

	json_array_foreach(json_object_get(p->spec, "volumes"), i, v) {
		const char *ref = secret ?
			skiff_str(json_object_get(v, "secret"), "secretName") :
			skiff_str(json_object_get(v, "configMap"), "name");

		if (ref && !strcmp(ref, name))
			return true;
	}
	return false;
}

/*
 * A ConfigMap or Secret some pods reference changed, appeared or went: the
 * pods of its namespace look again now, not at their next retry or resync
 * (a pod waiting for it starts, one mounting it gets the new contents).
 */
static void object_changed(bool secret, const char *ns, const char *name, void *arg)
{
	struct skiff_kubelet *k = arg;
	struct pod *p;

	if (!k->listed)
		return;
	for (p = k->pods; p; p = p->next) {
		if (strcmp(p->ns, ns))
			continue;
		if (mounts_object(p, secret, name))
			p->volumes_at = 0;
		mark_dirty(p);
	}
}

static void read_resolv_conf(struct skiff_kubelet *k)
{
	int fd = open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, k->resolv_conf, sizeof(k->resolv_conf) - 1);

	if (fd >= 0)
		close(fd);
	k->resolv_conf[n > 0 ? n : 0] = 0;
}

int skiff_kubelet_start(struct skiff_node *n, struct skiff_error *e)
{
	struct skiff_kubelet *k = calloc(1, sizeof(*k));
	char query[512];

	if (!k)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	k->n = n;
	n->kubelet = k;
	k->refs = skiff_objrefs_new(n->c, object_changed, k);
	if (!k->refs)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	read_resolv_conf(k);
	adopt_all(k);
	snprintf(query, sizeof(query), "fieldSelector=spec.nodeName%%3D%s", n->name);
	n->pods = skiff_informer_new(n->c, &skiff_pods, query);
	if (!n->pods)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	skiff_informer_on_change(n->pods, pod_changed, k);
	skiff_loop_on_idle(n->loop, kubelet_idle, k);
	skiff_informer_start(n->pods);
	return 0;
}

void skiff_kubelet_free(struct skiff_kubelet *k)
{
	if (!k)
		return;
	skiff_informer_forget(k->n->pods, k);
	while (k->pods)
		pod_free(k->pods);
	skiff_objrefs_free(k->refs);
	free(k);
}
