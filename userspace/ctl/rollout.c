// SPDX-License-Identifier: GPL-2.0
/*
 * skiffctl rollout status: waits until a Deployment's rollout is complete,
 * by kubectl's rules (its status has seen the latest spec, every replica
 * is updated and available, no old one is left) and fails as kubectl does
 * when the Deployment's progress deadline passed or --timeout did. On a
 * terminal it draws one live line,
 *
 *	[##########----------] 3/5 updated, 2/5 available
 *
 * elsewhere (logs, pipes, CI) it prints kubectl's progress messages, each
 * once when it changes. The Deployment is polled (4 times a second): for a
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

#define OBSERVE_MSG "Waiting for deployment spec update to be observed..."
#define ONLY_DEPLOYMENTS_FMT \
	"rollout status: %s: skiffctl follows Deployments only (kubectl rollout status does %s)"
#define DEADLINE_FMT "error: deployment \"%s\" exceeded its progress deadline\n"
#define UPDATED_FMT \
	"Waiting for deployment \"%s\" rollout to finish: %lld out of %lld new replicas have been updated..."
#define OLD_FMT \
	"Waiting for deployment \"%s\" rollout to finish: %lld old replicas are pending termination..."
#define AVAILABLE_FMT \
	"Waiting for deployment \"%s\" rollout to finish: %lld of %lld updated replicas are available..."

static const char usage[] =
	"Usage: skiffctl rollout status deployment/NAME [-n NS] [--timeout D] [--watch=false]\n"
	"\n"
	"Waits until the Deployment's rollout is complete: its controller saw the\n"
	"latest spec, all replicas are updated and available, no old ones are left.\n"
	"A progress bar on a terminal, kubectl's messages otherwise. Exit status 1\n"
	"when the Deployment exceeded its progress deadline or --timeout passed.\n"
	"\n"
	"Options:\n"
	"  -n, --namespace NS  the namespace\n"
	"      --timeout D     give up after D (30s, 2m; default 0: no limit)\n"
	"  -w, --watch=false   say where the rollout is, and do not wait\n";

/* Where a rollout is, in kubectl's words. */
struct progress {
	long long want, updated, total, available;
	bool observed;
	bool done;
	bool deadline;
	char msg[512];
};

static void progress_of(const json_t *dep, const char *name, struct progress *p)
{
	const json_t *conds = json_object_get(json_object_get(dep, "status"), "conditions"), *c;
	size_t i;

	memset(p, 0, sizeof(*p));
	p->want = skiff_int(dep, "spec.replicas", 1);
	p->updated = skiff_int(dep, "status.updatedReplicas", 0);
	p->total = skiff_int(dep, "status.replicas", 0);
	p->available = skiff_int(dep, "status.availableReplicas", 0);
	p->observed = skiff_int(dep, "metadata.generation", 0) <=
		      skiff_int(dep, "status.observedGeneration", -1);
	if (!p->observed) {
		snprintf(p->msg, sizeof(p->msg), OBSERVE_MSG);
		return;
	}
	json_array_foreach(conds, i, c)
		if (!strcmp(skiff_str(c, "type") ?: "", "Progressing") &&
		    !strcmp(skiff_str(c, "reason") ?: "", "ProgressDeadlineExceeded"))
			p->deadline = true;
	if (p->updated < p->want)
		snprintf(p->msg, sizeof(p->msg), UPDATED_FMT, name, p->updated, p->want);
	else if (p->total > p->updated)
		snprintf(p->msg, sizeof(p->msg), OLD_FMT, name, p->total - p->updated);
	else if (p->available < p->updated)
		snprintf(p->msg, sizeof(p->msg), AVAILABLE_FMT, name, p->available, p->updated);
	else
		p->done = true;
}

static long long clamp(long long v, long long max)
{
	return v < 0 ? 0 : v > max ? max : v;
}

/* The live line: half the bar for updated replicas, half for available ones. */
static void draw_bar(const struct progress *p)
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
	printf("] %lld/%lld updated, %lld/%lld available", p->updated, p->want, p->available,
	       p->want);
	if (p->total > p->updated)
		printf(", %lld old", p->total - p->updated);
	if (!p->observed)
		printf(" (waiting for the new spec to be seen)");
	fflush(stdout);
}

static int parse_target(int argc, char **argv, int first, const char **name)
{
	const struct skiff_ctl_kind *k;
	char type[128];

	if (first >= argc)
		return skiff_ctl_usage_error(usage, "rollout status: deployment/NAME missing");
	if (skiff_ctl_split_ref(argv[first], type, sizeof(type), name))
		return skiff_ctl_usage_error(usage, "rollout status: '%s': deployment/NAME",
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
	if (k->api != &skiff_deployments)
		return skiff_ctl_error(ONLY_DEPLOYMENTS_FMT, type, k->api->plural);
	if (!**name || strchr(*name, '/'))
		return skiff_ctl_usage_error(usage, "rollout status: '%s': a Deployment's name",
					     *name);
	return 0;
}

static int status(struct skiff_ctl_conn *conn, const char *name, long long timeout_ms,
		  bool watch)
{
	char *path = skiff_path(&skiff_deployments, conn->ns, name, NULL);
	long long deadline = skiff_ctl_now_ms() + timeout_ms;
	bool tty = isatty(STDOUT_FILENO), drawn = false;
	char last[512] = "";
	struct progress p;
	json_t *dep;
	long code;

	for (;;) {
		dep = NULL;
		code = path ? skiff_ctl_call(conn, "GET", path, NULL, NULL, &dep) : 0;
		if (code != 200) {
			if (drawn)
				putchar('\n');
			skiff_ctl_server_error(conn, code, dep, NULL);
			json_decref(dep);
			free(path);
			return SKIFF_CTL_FAIL;
		}
		progress_of(dep, name, &p);
		json_decref(dep);
		if (tty && (watch || p.done)) {
			draw_bar(&p);
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
	if (p.deadline && !p.done) {
		fprintf(stderr, DEADLINE_FMT, name);
		return SKIFF_CTL_FAIL;
	}
	if (p.done)
		printf("deployment \"%s\" successfully rolled out\n", name);
	else
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
	ret = parse_target(argc, argv, optind, &name);
	if (ret)
		return ret;
	ret = skiff_ctl_connect(&conn, ns);
	if (ret)
		return ret;
	ret = status(&conn, name, timeout_ms, watch);
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
