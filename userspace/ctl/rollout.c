// SPDX-License-Identifier: GPL-2.0
/*
 * skiffctl rollout status: waits until a rollout is complete, by kubectl's
 * rules for its kind:
 * - a Deployment: its status has seen the latest spec, every replica is
 *   updated and available, no old one is left; it fails as kubectl does
 *   when the progress deadline passed;
 * - a DaemonSet: every node that should run a pod runs an updated one,
 *   and each is available;
 * - a StatefulSet: every replica is Ready, and every one at or past the
 *   partition is at the update revision.
 * DaemonSets and StatefulSets with the OnDelete strategy have no rollout
 * to follow and are refused, as kubectl refuses them. --timeout fails as
 * kubectl does. On a terminal it draws one live line,
 *
 *	[##########----------] 3/5 updated, 2/5 available
 *
 * elsewhere (logs, pipes, CI) it prints kubectl's progress messages, each
 * once when it changes. The object is polled (4 times a second): for a
 * command that runs for seconds, simpler than a watch and as quick to see.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

#define OPT_TIMEOUT 0x100
#define OPT_WATCH 0x101

#define POLL_US 250000
#define BAR_WIDTH 20

#define UNKNOWN_KIND_FMT \
	"rollout status: %s: no rollout to follow (deployments, daemonsets and statefulsets have one)"
#define ON_DELETE_MSG "rollout status is only available for RollingUpdate strategy type"
#define DEADLINE_FMT "error: deployment \"%s\" exceeded its progress deadline\n"

#define DEP_OBSERVE_MSG "Waiting for deployment spec update to be observed..."
#define DEP_UPDATED_FMT \
	"Waiting for deployment \"%s\" rollout to finish: %lld out of %lld new replicas have been updated..."
#define DEP_OLD_FMT \
	"Waiting for deployment \"%s\" rollout to finish: %lld old replicas are pending termination..."
#define DEP_AVAILABLE_FMT \
	"Waiting for deployment \"%s\" rollout to finish: %lld of %lld updated replicas are available..."
#define DEP_DONE_FMT "deployment \"%s\" successfully rolled out"

#define DS_OBSERVE_MSG "Waiting for daemon set spec update to be observed..."
#define DS_UPDATED_FMT \
	"Waiting for daemon set \"%s\" rollout to finish: %lld out of %lld new pods have been updated..."
#define DS_AVAILABLE_FMT \
	"Waiting for daemon set \"%s\" rollout to finish: %lld of %lld updated pods are available..."
#define DS_DONE_FMT "daemon set \"%s\" successfully rolled out"

#define STS_OBSERVE_MSG "Waiting for statefulset spec update to be observed..."
#define STS_READY_FMT "Waiting for %lld pods to be ready..."
#define STS_PARTITION_FMT \
	"Waiting for partitioned roll out to finish: %lld out of %lld new pods have been updated..."
#define STS_PARTITION_DONE_FMT "partitioned roll out complete: %lld new pods have been updated..."
#define STS_REVISION_FMT \
	"waiting for statefulset rolling update to complete %lld pods at revision %s..."
#define STS_DONE_FMT "statefulset rolling update complete %lld pods at revision %s..."

static const char usage[] =
	"Usage: skiffctl rollout status TYPE/NAME [-n NS] [--timeout D] [--watch=false]\n"
	"\n"
	"Waits until the rollout of a Deployment (deployment/NAME), a DaemonSet\n"
	"(daemonset/NAME) or a StatefulSet (statefulset/NAME) is complete, by\n"
	"kubectl's rules: its controller saw the latest spec and every replica is\n"
	"updated and available (Ready for a StatefulSet). A progress bar on a\n"
	"terminal, kubectl's messages otherwise. Exit status 1 when a Deployment\n"
	"exceeded its progress deadline or --timeout passed.\n"
	"\n"
	"Options:\n"
	"  -n, --namespace NS  the namespace\n"
	"      --timeout D     give up after D (30s, 2m; default 0: no limit)\n"
	"  -w, --watch=false   say where the rollout is, and do not wait\n";

/*
 * Where a rollout is: @want replicas should be @updated and @available
 * (Ready for a StatefulSet); @old are left to remove. @msg is kubectl's
 * message for it: where it waits, or once @done what it says at the end.
 * @refused: a rollout this command cannot follow (OnDelete), said in @msg.
 */
struct progress {
	long long want, updated, available, old;
	bool observed;
	bool done;
	bool deadline;
	bool refused;
	char msg[512];
};

/* Its controller has seen the latest spec (Deployments and DaemonSets). */
static bool spec_observed(const json_t *obj)
{
	return skiff_int(obj, "metadata.generation", 0) <=
	       skiff_int(obj, "status.observedGeneration", -1);
}

/* Deployment progress, kubectl's DeploymentStatusViewer. */
static void deployment_progress(const json_t *dep, const char *name, struct progress *p)
{
	const json_t *conds = json_object_get(json_object_get(dep, "status"), "conditions"), *c;
	long long total;
	size_t i;

	p->want = skiff_int(dep, "spec.replicas", 1);
	p->updated = skiff_int(dep, "status.updatedReplicas", 0);
	total = skiff_int(dep, "status.replicas", 0);
	p->old = total > p->updated ? total - p->updated : 0;
	p->available = skiff_int(dep, "status.availableReplicas", 0);
	p->observed = spec_observed(dep);
	if (!p->observed) {
		snprintf(p->msg, sizeof(p->msg), DEP_OBSERVE_MSG);
		return;
	}
	json_array_foreach(conds, i, c)
		if (!strcmp(skiff_str(c, "type") ?: "", "Progressing") &&
		    !strcmp(skiff_str(c, "reason") ?: "", "ProgressDeadlineExceeded"))
			p->deadline = true;
	if (p->updated < p->want)
		snprintf(p->msg, sizeof(p->msg), DEP_UPDATED_FMT, name, p->updated, p->want);
	else if (p->old)
		snprintf(p->msg, sizeof(p->msg), DEP_OLD_FMT, name, p->old);
	else if (p->available < p->updated)
		snprintf(p->msg, sizeof(p->msg), DEP_AVAILABLE_FMT, name, p->available, p->updated);
	else
		p->done = true;
	if (p->done)
		snprintf(p->msg, sizeof(p->msg), DEP_DONE_FMT, name);
}

/* A DaemonSet's or StatefulSet's updateStrategy: OnDelete has no rollout. */
static bool rolling_update(const json_t *obj, struct progress *p)
{
	const char *type = skiff_str(obj, "spec.updateStrategy.type");

	if (!type || !strcmp(type, "RollingUpdate"))
		return true;
	p->refused = true;
	snprintf(p->msg, sizeof(p->msg), ON_DELETE_MSG);
	return false;
}

/* DaemonSet progress, kubectl's DaemonSetStatusViewer. */
static void daemonset_progress(const json_t *ds, const char *name, struct progress *p)
{
	if (!rolling_update(ds, p))
		return;
	p->want = skiff_int(ds, "status.desiredNumberScheduled", 0);
	p->updated = skiff_int(ds, "status.updatedNumberScheduled", 0);
	p->available = skiff_int(ds, "status.numberAvailable", 0);
	p->observed = spec_observed(ds);
	if (!p->observed)
		snprintf(p->msg, sizeof(p->msg), DS_OBSERVE_MSG);
	else if (p->updated < p->want)
		snprintf(p->msg, sizeof(p->msg), DS_UPDATED_FMT, name, p->updated, p->want);
	else if (p->available < p->want)
		snprintf(p->msg, sizeof(p->msg), DS_AVAILABLE_FMT, name, p->available, p->want);
	else
		p->done = true;
	if (p->done)
		snprintf(p->msg, sizeof(p->msg), DS_DONE_FMT, name);
}

/*
 * StatefulSet progress, kubectl's StatefulSetStatusViewer: all replicas
 * Ready first, then with rollingUpdate (which the apiserver defaults, with
 * a partition of 0) the replicas at or past the partition updated, or
 * without it the current revision caught up with the update revision.
 */
static void statefulset_progress(const json_t *sts, const char *name, struct progress *p)
{
	const json_t *ru = json_object_get(json_object_get(json_object_get(sts, "spec"),
							   "updateStrategy"), "rollingUpdate");
	const char *cur = skiff_str(sts, "status.currentRevision") ?: "";
	const char *upd = skiff_str(sts, "status.updateRevision") ?: "";
	long long gen = skiff_int(sts, "status.observedGeneration", 0);

	(void)name;	/* kubectl's StatefulSet messages do not name it */
	if (!rolling_update(sts, p))
		return;
	p->want = skiff_int(sts, "spec.replicas", 1);
	p->updated = skiff_int(sts, "status.updatedReplicas", 0);
	p->available = skiff_int(sts, "status.readyReplicas", 0);
	p->observed = gen && skiff_int(sts, "metadata.generation", 0) <= gen;
	if (!p->observed) {
		snprintf(p->msg, sizeof(p->msg), STS_OBSERVE_MSG);
	} else if (p->available < p->want) {
		snprintf(p->msg, sizeof(p->msg), STS_READY_FMT, p->want - p->available);
	} else if (json_is_object(ru)) {
		long long todo = p->want - skiff_int(ru, "partition", 0);

		p->done = p->updated >= todo;
		if (p->done)
			snprintf(p->msg, sizeof(p->msg), STS_PARTITION_DONE_FMT, p->updated);
		else
			snprintf(p->msg, sizeof(p->msg), STS_PARTITION_FMT, p->updated, todo);
	} else if (strcmp(cur, upd)) {
		snprintf(p->msg, sizeof(p->msg), STS_REVISION_FMT, p->updated, upd);
	} else {
		p->done = true;
		snprintf(p->msg, sizeof(p->msg), STS_DONE_FMT,
			 skiff_int(sts, "status.currentReplicas", 0), cur);
	}
}

/* A kind with a rollout: where it lives, what its bar calls available. */
static const struct rollout_kind {
	const struct skiff_kind *api;
	const char *available;
	void (*progress)(const json_t *obj, const char *name, struct progress *p);
} rollout_kinds[] = {
	{ &skiff_deployments, "available", deployment_progress },
	{ &skiff_daemonsets, "available", daemonset_progress },
	{ &skiff_statefulsets, "ready", statefulset_progress },
	{ NULL }
};

static long long clamp(long long v, long long max)
{
	return v < 0 ? 0 : v > max ? max : v;
}

/* The live line: half the bar for updated replicas, half for available ones. */
static void draw_bar(const struct rollout_kind *kind, const struct progress *p)
{
	long long filled = BAR_WIDTH, i;

	if (p->want > 0)
		filled = (clamp(p->updated, p->want) + clamp(p->available, p->want)) * BAR_WIDTH /
			 (2 * p->want);
	if (!p->done && filled == BAR_WIDTH)
		filled--;
	printf("\r\033[K[");
	for (i = 0; i < BAR_WIDTH; i++)
		putchar(i < filled ? '#' : '-');
	printf("] %lld/%lld updated, %lld/%lld %s", p->updated, p->want, p->available,
	       p->want, kind->available);
	if (p->old)
		printf(", %lld old", p->old);
	if (!p->observed)
		printf(" (waiting for the new spec to be seen)");
	fflush(stdout);
}

static int parse_target(int argc, char **argv, int first,
			const struct rollout_kind **kind, const char **name)
{
	const struct skiff_ctl_kind *k;
	char type[128];

	if (first >= argc)
		return skiff_ctl_usage_error(usage, "rollout status: TYPE/NAME missing");
	if (skiff_ctl_split_ref(argv[first], type, sizeof(type), name))
		return skiff_ctl_usage_error(usage, "rollout status: '%s': TYPE/NAME",
					     argv[first]);
	if (!*name) {
		if (first + 1 >= argc)
			return skiff_ctl_usage_error(usage, "rollout status: NAME missing");
		*name = argv[++first];
	}
	if (first + 1 < argc)
		return skiff_ctl_usage_error(usage, "rollout status: unexpected argument '%s'",
					     argv[first + 1]);
	k = skiff_ctl_kind_find(type);
	if (!k)
		return skiff_ctl_error("rollout status: unknown kind '%s'", type);
	for (*kind = rollout_kinds; (*kind)->api && (*kind)->api != k->api; (*kind)++)
		;
	if (!(*kind)->api)
		return skiff_ctl_error(UNKNOWN_KIND_FMT, type);
	if (!**name || strchr(*name, '/'))
		return skiff_ctl_usage_error(usage, "rollout status: '%s': a %s's name",
					     *name, k->api->kind);
	return 0;
}

static int status(struct skiff_ctl_conn *conn, const struct rollout_kind *kind,
		  const char *name, long long timeout_ms, bool watch)
{
	char *path = skiff_path(kind->api, conn->ns, name, NULL);
	long long deadline = skiff_ctl_now_ms() + timeout_ms;
	bool tty = isatty(STDOUT_FILENO), drawn = false;
	char last[512] = "";
	struct progress p;
	json_t *obj;
	long code;

	for (;;) {
		obj = NULL;
		code = path ? skiff_ctl_call(conn, "GET", path, NULL, NULL, &obj) : 0;
		if (code != 200) {
			if (drawn)
				putchar('\n');
			skiff_ctl_server_error(conn, code, obj, NULL);
			json_decref(obj);
			free(path);
			return SKIFF_CTL_FAIL;
		}
		memset(&p, 0, sizeof(p));
		kind->progress(obj, name, &p);
		json_decref(obj);
		if (p.refused)
			break;
		if (tty && (watch || p.done)) {
			draw_bar(kind, &p);
			drawn = true;
		}
		if (p.done || p.deadline || !watch)
			break;
		if (!tty && strcmp(p.msg, last)) {
			printf("%s\n", p.msg);
			fflush(stdout);
			snprintf(last, sizeof(last), "%s", p.msg);
		}
		if (timeout_ms && skiff_ctl_now_ms() >= deadline) {
			if (drawn)
				putchar('\n');
			fprintf(stderr, "error: timed out waiting for the condition\n");
			free(path);
			return SKIFF_CTL_FAIL;
		}
		usleep(POLL_US);
	}
	free(path);
	if (drawn)
		putchar('\n');
	if (p.refused) {
		fprintf(stderr, "error: %s\n", p.msg);
		return SKIFF_CTL_FAIL;
	}
	if (p.deadline && !p.done) {
		fprintf(stderr, DEADLINE_FMT, name);
		return SKIFF_CTL_FAIL;
	}
	printf("%s\n", p.msg);
	return SKIFF_CTL_OK;
}

static int rollout_status(int argc, char **argv)
{
	static const struct option table[] = {
		{ "namespace", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "watch", optional_argument, NULL, OPT_WATCH },
		{ "help", no_argument, NULL, 'h' },
		SKIFF_CTL_GLOBAL_OPTIONS,
		{ 0 }
	};
	const struct rollout_kind *kind = NULL;
	const char *ns = NULL, *name;
	struct skiff_ctl_conn conn;
	long long timeout_ms = 0;
	bool watch = true;
	int c, ret;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":hn:w", table, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!*optarg)
				return skiff_ctl_usage_error(usage,
							     "rollout status: -n: an empty namespace");
			ns = optarg;
			break;
		case OPT_TIMEOUT:
			if (skiff_ctl_parse_timeout(usage, "rollout status", optarg, &timeout_ms))
				return SKIFF_CTL_FAIL;
			break;
		case 'w':
			watch = true;
			break;
		case OPT_WATCH:
			if (optarg && strcmp(optarg, "true") && strcmp(optarg, "false"))
				return skiff_ctl_usage_error(usage,
							     "rollout status: --watch='%s': true or false",
							     optarg);
			watch = !optarg || !strcmp(optarg, "true");
			break;
		case SKIFF_CTL_OPT_KUBECONFIG:
			skiff_ctl_global_option(c, optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			return SKIFF_CTL_OK;
		default:
			return skiff_ctl_option_error(usage, "rollout status", c, argv);
		}
	}
	ret = parse_target(argc, argv, optind, &kind, &name);
	if (ret)
		return ret;
	ret = skiff_ctl_connect(&conn, ns);
	if (ret)
		return ret;
	ret = status(&conn, kind, name, timeout_ms, watch);
	skiff_ctl_disconnect(&conn);
	return ret;
}

int skiff_ctl_rollout(int argc, char **argv)
{
	if (argc < 2)
		return skiff_ctl_usage_error(usage, "rollout: status?");
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, stdout);
		return SKIFF_CTL_OK;
	}
	if (!strcmp(argv[1], "status"))
		return rollout_status(argc - 1, argv + 1);
	return skiff_ctl_usage_error(usage,
				     "rollout: unknown command '%s' (skiffctl has status; kubectl rollout has the others)",
				     argv[1]);
}
