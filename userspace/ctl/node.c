// SPDX-License-Identifier: GPL-2.0
/*
 * skiffctl node cordon|uncordon|drain: a node out of scheduling and
 * emptied for maintenance, as kubectl cordon, uncordon and drain
 * --ignore-daemonsets. cordon sets spec.unschedulable (a merge patch);
 * drain cordons, then evicts every pod of the node but those a DaemonSet
 * runs (its controller would only put them back) and mirror pods, and
 * waits until they are gone. Evicted through the pods/eviction subresource
 * when the apiserver serves it (disruption budgets then apply), otherwise
 * deleted, as kubectl does on a server without eviction.
 *
 * kubectl's safety rules stay: a pod no controller would recreate (bare,
 * or whose DaemonSet-less owner is gone) is only deleted with --force, a
 * pod with emptyDir data only with --delete-emptydir-data. Those are
 * checked before the node is cordoned: a refused drain changes nothing.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

#define OPT_GRACE 0x100
#define OPT_TIMEOUT 0x101
#define OPT_FORCE 0x102
#define OPT_EMPTYDIR 0x103
#define OPT_IGNORE_DS 0x104

#define MERGE_PATCH "application/merge-patch+json"
#define MIRROR "kubernetes.io/config.mirror"
#define UNMANAGED_MSG \
	"cannot delete Pods that declare no controller (use --force to override)"
#define EMPTYDIR_MSG \
	"cannot delete Pods with local storage (use --delete-emptydir-data to override)"
#define BUDGET_FMT \
	"error when evicting pods/\"%s\" -n \"%s\" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.\n"
#define DRAIN_TIMEOUT_FMT \
	"error: unable to drain node \"%s\": timed out after %s waiting for %zu pod(s) to go:"

static const char usage[] =
	"Usage: skiffctl node cordon NAME\n"
	"       skiffctl node uncordon NAME\n"
	"       skiffctl node drain NAME [--grace-period S] [--timeout D] [--force]\n"
	"                                [--delete-emptydir-data]\n"
	"\n"
	"cordon marks the node unschedulable, uncordon schedulable again. drain\n"
	"cordons it, then evicts its pods (deletes them where the apiserver has no\n"
	"eviction) but DaemonSet-managed and mirror pods, as kubectl drain\n"
	"--ignore-daemonsets, and waits until they are gone.\n"
	"\n"
	"Options of drain:\n"
	"  --grace-period S        seconds each pod has to stop (default: its own)\n"
	"  --timeout D             give up after D (30s, 2m; default 0: no limit)\n"
	"  --force                 also pods no controller would recreate\n"
	"  --delete-emptydir-data  also pods with emptyDir volumes (their data is lost)\n";

struct drain_opts {
	long long grace;
	long long timeout_ms;
	bool force;
	bool emptydir;
};

/* A pod to evict, and how to know it went. */
struct victim {
	char *ns;
	char *name;
	char *uid;
	bool gone;
};

static int set_unschedulable(struct skiff_ctl_conn *conn, const char *name, bool on,
			     bool quiet_same)
{
	char *path = skiff_path(&skiff_nodes, NULL, name, NULL);
	json_t *node = NULL, *patch, *answer = NULL;
	long code = path ? skiff_ctl_call(conn, "GET", path, NULL, NULL, &node) : 0;
	int ret = SKIFF_CTL_OK;

	if (code != 200) {
		ret = skiff_ctl_server_error(conn, code, node, NULL);
		goto out;
	}
	if (json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable")) == on) {
		if (!quiet_same)
			printf("node/%s already %s\n", name, on ? "cordoned" : "uncordoned");
		goto out;
	}
	/* null, not false, on uncordon: the field goes, as kubectl leaves it. */
	patch = json_pack("{s:{s:o}}", "spec", "unschedulable", on ? json_true() : json_null());
	code = patch ? skiff_ctl_call(conn, "PATCH", path, MERGE_PATCH, patch, &answer) : 0;
	json_decref(patch);
	if (code != 200) {
		ret = skiff_ctl_server_error(conn, code, answer, NULL);
		goto out;
	}
	printf("node/%s %s\n", name, on ? "cordoned" : "uncordoned");
out:
	fflush(stdout);
	json_decref(answer);
	json_decref(node);
	free(path);
	return ret;
}

static const json_t *controller_ref(const json_t *pod)
{
	const json_t *refs = json_object_get(json_object_get(pod, "metadata"), "ownerReferences");
	const json_t *ref;
	size_t i;

	json_array_foreach(refs, i, ref)
		if (json_is_true(json_object_get(ref, "controller")))
			return ref;
	return NULL;
}

static bool has_emptydir(const json_t *pod)
{
	const json_t *vols = json_object_get(json_object_get(pod, "spec"), "volumes"), *v;
	size_t i;

	json_array_foreach(vols, i, v)
		if (json_object_get(v, "emptyDir"))
			return true;
	return false;
}

static bool is_mirror(const json_t *pod)
{
	return json_object_get(json_object_get(json_object_get(pod, "metadata"), "annotations"),
			       MIRROR) != NULL;
}

static bool is_daemonset_pod(const json_t *pod)
{
	const json_t *ref = controller_ref(pod);

	return ref && !strcmp(skiff_str(ref, "kind") ?: "", "DaemonSet");
}

/* The node's pods, or NULL after saying why. */
static json_t *node_pods(struct skiff_ctl_conn *conn, const char *name)
{
	char fields[512], *path;
	json_t *answer = NULL;
	long code;

	snprintf(fields, sizeof(fields), "spec.nodeName=%s", name);
	path = skiff_ctl_list_path(skiff_ctl_kind_of("v1", "Pod"), NULL, NULL, fields);
	code = path ? skiff_ctl_call(conn, "GET", path, NULL, NULL, &answer) : 0;
	free(path);
	if (code != 200) {
		skiff_ctl_server_error(conn, code, answer, NULL);
		json_decref(answer);
		return NULL;
	}
	return answer;
}

/*
 * kubectl drain's filters: 0 and the pods to evict in @out, or an exit
 * status after listing what stops the drain. DaemonSet pods are named in a
 * warning when @warn.
 */
static int select_pods(const json_t *list, const struct drain_opts *o, json_t *out, bool warn)
{
	json_t *unmanaged = json_array(), *local = json_array(), *daemons = json_array(), *pod;
	int ret = SKIFF_CTL_OK;
	size_t i;
	char ref[512];

	json_array_foreach(json_object_get(list, "items"), i, pod) {
		bool finished = skiff_pod_finished(pod);

		snprintf(ref, sizeof(ref), "%s/%s", skiff_meta(pod, "namespace") ?: "",
			 skiff_meta(pod, "name") ?: "");
		if (is_mirror(pod))
			continue;
		if (!finished && is_daemonset_pod(pod)) {
			json_array_append_new(daemons, json_string(ref));
			continue;
		}
		if (!finished && !controller_ref(pod) && !o->force)
			json_array_append_new(unmanaged, json_string(ref));
		else if (!finished && has_emptydir(pod) && !o->emptydir)
			json_array_append_new(local, json_string(ref));
		else
			json_array_append(out, pod);
	}
	if (json_array_size(unmanaged) || json_array_size(local)) {
		fprintf(stderr, "error: unable to drain node: ");
		if (json_array_size(unmanaged)) {
			fprintf(stderr, "%s:", UNMANAGED_MSG);
			json_array_foreach(unmanaged, i, pod)
				fprintf(stderr, "%s %s", i ? "," : "", json_string_value(pod));
		}
		if (json_array_size(local)) {
			fprintf(stderr, "%s%s:", json_array_size(unmanaged) ? "; " : "",
				EMPTYDIR_MSG);
			json_array_foreach(local, i, pod)
				fprintf(stderr, "%s %s", i ? "," : "", json_string_value(pod));
		}
		fputc('\n', stderr);
		ret = SKIFF_CTL_FAIL;
	} else if (warn && json_array_size(daemons)) {
		fprintf(stderr, "Warning: ignoring DaemonSet-managed Pods:");
		json_array_foreach(daemons, i, pod)
			fprintf(stderr, "%s %s", i ? "," : "", json_string_value(pod));
		fputc('\n', stderr);
	}
	json_decref(unmanaged);
	json_decref(local);
	json_decref(daemons);
	return ret;
}

/* Does the apiserver serve pods/eviction? kubectl asks discovery too. */
static bool eviction_served(struct skiff_ctl_conn *conn)
{
	json_t *answer = NULL, *res;
	bool found = false;
	size_t i;

	if (skiff_ctl_call(conn, "GET", "/api/v1", NULL, NULL, &answer) == 200)
		json_array_foreach(json_object_get(answer, "resources"), i, res)
			if (!strcmp(skiff_str(res, "name") ?: "", "pods/eviction"))
				found = true;
	json_decref(answer);
	return found;
}

/* Evicts (or deletes) one pod; 0, 1 to retry later (a budget said no), -1. */
static int evict(struct skiff_ctl_conn *conn, const struct victim *v, const struct drain_opts *o,
		 bool eviction)
{
	char *path = skiff_path(&skiff_pods, v->ns, v->name, eviction ? "eviction" : NULL);
	json_t *options = json_object(), *body, *answer = NULL;
	long code;

	if (o->grace >= 0)
		json_object_set_new(options, "gracePeriodSeconds", json_integer(o->grace));
	json_object_set_new(options, "preconditions", json_pack("{s:s}", "uid", v->uid));
	if (eviction)
		body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:O}", "apiVersion", "policy/v1",
				 "kind", "Eviction", "metadata", "name", v->name, "namespace",
				 v->ns, "deleteOptions", options);
	else
		body = json_incref(options);
	code = path && body ? skiff_ctl_call(conn, eviction ? "POST" : "DELETE", path, NULL, body,
					     &answer) : 0;
	json_decref(body);
	json_decref(options);
	free(path);
	if (code == 429) {
		json_decref(answer);
		return 1;
	}
	/* Gone already, or another pod of that name now: nothing to do. */
	if (code == 404 || code == 409 || code == 200 || code == 201 || code == 202) {
		json_decref(answer);
		return 0;
	}
	skiff_ctl_server_error(conn, code, answer, NULL);
	json_decref(answer);
	return -1;
}

static bool victim_gone(struct skiff_ctl_conn *conn, const struct victim *v)
{
	char *path = skiff_path(&skiff_pods, v->ns, v->name, NULL);
	json_t *answer = NULL;
	long code = path ? skiff_ctl_call(conn, "GET", path, NULL, NULL, &answer) : 0;
	bool gone = code == 404 || (code == 200 && strcmp(skiff_meta(answer, "uid") ?: "",
							  v->uid));

	free(path);
	json_decref(answer);
	return gone;
}

static void victims_free(struct victim *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].ns);
		free(v[i].name);
		free(v[i].uid);
	}
	free(v);
}

/* Evicts every pod of @pods and waits until they are gone: an exit status. */
static int evict_all(struct skiff_ctl_conn *conn, const char *node, const json_t *pods,
		     const struct drain_opts *o)
{
	long long deadline = skiff_ctl_now_ms() + o->timeout_ms;
	size_t n = json_array_size(pods), i, left = n;
	bool eviction = eviction_served(conn);
	struct victim *v = calloc(n ? n : 1, sizeof(*v));
	const char *verb = eviction ? "evicted" : "deleted";
	json_t *pod;
	char took[64];
	int r, ret = SKIFF_CTL_OK;

	if (!v)
		return SKIFF_CTL_FAIL;
	json_array_foreach(pods, i, pod) {
		v[i].ns = strdup(skiff_meta(pod, "namespace") ?: "");
		v[i].name = strdup(skiff_meta(pod, "name") ?: "");
		v[i].uid = strdup(skiff_meta(pod, "uid") ?: "");
		if (!v[i].ns || !v[i].name || !v[i].uid) {
			victims_free(v, n);
			return SKIFF_CTL_FAIL;
		}
		printf("%s pod %s/%s\n", eviction ? "evicting" : "deleting", v[i].ns, v[i].name);
		fflush(stdout);
		while ((r = evict(conn, &v[i], o, eviction)) == 1) {
			if (o->timeout_ms && skiff_ctl_now_ms() >= deadline)
				break;
			fprintf(stderr, BUDGET_FMT, v[i].name, v[i].ns);
			sleep(5);
		}
		if (r < 0)
			ret = SKIFF_CTL_FAIL;
	}
	while (!ret && left) {
		for (i = 0; i < n; i++) {
			if (v[i].gone || !victim_gone(conn, &v[i]))
				continue;
			v[i].gone = true;
			left--;
			printf("pod/%s %s\n", v[i].name, verb);
			fflush(stdout);
		}
		if (!left)
			break;
		if (o->timeout_ms && skiff_ctl_now_ms() >= deadline) {
			skiff_ctl_human_duration(o->timeout_ms / 1000, took, sizeof(took));
			fprintf(stderr, DRAIN_TIMEOUT_FMT, node, took, left);
			for (i = 0; i < n; i++)
				if (!v[i].gone)
					fprintf(stderr, " %s/%s", v[i].ns, v[i].name);
			fputc('\n', stderr);
			ret = SKIFF_CTL_FAIL;
			break;
		}
		usleep(200000);
	}
	victims_free(v, n);
	return ret;
}

static int drain(struct skiff_ctl_conn *conn, const char *name, const struct drain_opts *o)
{
	json_t *list, *pods;
	int ret;

	/* The rules first: a refused drain leaves the node as it was. */
	list = node_pods(conn, name);
	if (!list)
		return SKIFF_CTL_FAIL;
	pods = json_array();
	ret = select_pods(list, o, pods, false);
	json_decref(list);
	json_decref(pods);
	if (ret)
		return ret;
	ret = set_unschedulable(conn, name, true, false);
	if (ret)
		return ret;
	/* Again, cordoned: no new pod can come now. */
	list = node_pods(conn, name);
	if (!list)
		return SKIFF_CTL_FAIL;
	pods = json_array();
	ret = select_pods(list, o, pods, true);
	json_decref(list);
	if (!ret)
		ret = evict_all(conn, name, pods, o);
	json_decref(pods);
	if (!ret)
		printf("node/%s drained\n", name);
	return ret;
}

/* The node must exist before anything: "Error from server (NotFound)". */
static int node_exists(struct skiff_ctl_conn *conn, const char *name)
{
	char *path = skiff_path(&skiff_nodes, NULL, name, NULL);
	json_t *answer = NULL;
	long code = path ? skiff_ctl_call(conn, "GET", path, NULL, NULL, &answer) : 0;
	int ret = code == 200 ? 0 : skiff_ctl_server_error(conn, code, answer, NULL);

	json_decref(answer);
	free(path);
	return ret;
}

int skiff_ctl_node(int argc, char **argv)
{
	static const struct option table[] = {
		{ "grace-period", required_argument, NULL, OPT_GRACE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "delete-emptydir-data", no_argument, NULL, OPT_EMPTYDIR },
		{ "ignore-daemonsets", no_argument, NULL, OPT_IGNORE_DS },
		{ "help", no_argument, NULL, 'h' },
		SKIFF_CTL_GLOBAL_OPTIONS,
		{ 0 }
	};
	struct drain_opts o = { .grace = -1 };
	struct skiff_ctl_conn conn;
	const char *cmd, *what;
	bool is_drain;
	char *end;
	int c, ret;

	if (argc < 2)
		return skiff_ctl_usage_error(usage, "node: cordon, uncordon or drain?");
	cmd = argv[1];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(usage, stdout);
		return SKIFF_CTL_OK;
	}
	if (!strcmp(cmd, "cordon"))
		what = "node cordon";
	else if (!strcmp(cmd, "uncordon"))
		what = "node uncordon";
	else if (!strcmp(cmd, "drain"))
		what = "node drain";
	else
		return skiff_ctl_usage_error(usage, "node: unknown command '%s'", cmd);
	is_drain = !strcmp(cmd, "drain");
	argc--;
	argv++;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", table, NULL)) != -1) {
		if (!is_drain && c != 'h' && c != SKIFF_CTL_OPT_KUBECONFIG && c != '?' && c != ':')
			return skiff_ctl_usage_error(usage, "%s: unknown option '%s'", what,
						     argv[optind - 1]);
		switch (c) {
		case OPT_GRACE:
			o.grace = strtoll(optarg, &end, 10);
			if (end == optarg || *end || o.grace < 0 || o.grace > 1000000)
				return skiff_ctl_usage_error(usage,
							     "%s: --grace-period '%s': seconds, 0 or more",
							     what, optarg);
			break;
		case OPT_TIMEOUT:
			if (skiff_ctl_parse_timeout(usage, what, optarg, &o.timeout_ms))
				return SKIFF_CTL_FAIL;
			break;
		case OPT_FORCE:
			o.force = true;
			break;
		case OPT_EMPTYDIR:
			o.emptydir = true;
			break;
		case OPT_IGNORE_DS:
			break;	/* always so: kubectl's spelling is taken */
		case SKIFF_CTL_OPT_KUBECONFIG:
			skiff_ctl_global_option(c, optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			return SKIFF_CTL_OK;
		default:
			return skiff_ctl_option_error(usage, what, c, argv);
		}
	}
	if (optind >= argc)
		return skiff_ctl_usage_error(usage, "%s: NAME missing", what);
	if (optind + 1 < argc)
		return skiff_ctl_usage_error(usage, "%s: unexpected argument '%s'", what,
					     argv[optind + 1]);
	if (!*argv[optind] || strchr(argv[optind], '/'))
		return skiff_ctl_usage_error(usage, "%s: '%s': a node's name", what, argv[optind]);
	ret = skiff_ctl_connect(&conn, NULL);
	if (ret)
		return ret;
	ret = node_exists(&conn, argv[optind]);
	if (!ret && is_drain)
		ret = drain(&conn, argv[optind], &o);
	else if (!ret)
		ret = set_unschedulable(&conn, argv[optind], !strcmp(cmd, "cordon"), false);
	skiff_ctl_disconnect(&conn);
	return ret;
}
