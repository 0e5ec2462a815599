// SPDX-License-Identifier: GPL-2.0
/*
 * skiffctl: the cluster's own command line, for what kubectl does not
 * cover. One table of commands in the manner of wg(8) and ip(8); each is a
 * function of its own file (ctl.h says how to add one). The options before
 * the command are skiffctl's own (--kubeconfig); the rest are the
 * command's.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "util.h"

const char *skiff_ctl_prog = "skiffctl";
struct skiff_ctl_options skiff_ctl;

static const struct skiff_ctl_command commands[] = {
	{ "get", skiff_ctl_get, "get KIND [NAME...] [-o FORMAT]",
	  "objects as kubectl get shows them (wide, json, yaml, name)" },
	{ "describe", skiff_ctl_describe, "describe KIND [NAME...] [-n NS]",
	  "an object's details and its Events" },
	{ "apply", skiff_ctl_apply, "apply -f FILE|DIR|- [-n NS]",
	  "creates or updates the objects of YAML or JSON manifests" },
	{ "delete", skiff_ctl_delete, "delete KIND NAME... | -f FILE",
	  "deletes objects and waits until they are gone" },
	{ "rollout", skiff_ctl_rollout, "rollout status TYPE/NAME",
	  "waits for a rollout (Deployment, DaemonSet, StatefulSet), with a bar" },
	{ "node", skiff_ctl_node, "node cordon|uncordon|drain NAME",
	  "takes a node out of scheduling, and empties it" },
	{ "image", skiff_ctl_image, "image import|build-from-host|...",
	  "this machine's node image store (skiff-node image)" },
	{ "dataplane", skiff_ctl_dataplane, "dataplane [NODE...] [-o json]",
	  "what each node has programmed, with counters" },
	{ "certs", skiff_ctl_certs, "certs init|issue|show|verify ...",
	  "make and check the cluster's certificates ('certs help')" },
	{ "version", skiff_ctl_version, "version", "skiffctl's version" },
	{ "help", skiff_ctl_help, "help [COMMAND]", "this help, or a command's" },
};

static void print_usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"Usage: %s [--kubeconfig FILE] COMMAND [ARGS]\n\n"
		"Options:\n"
		"  --kubeconfig FILE  cluster and credentials (default: $KUBECONFIG,\n"
		"                     else ~/.kube/config, as kubectl)\n"
		"  -h, --help         this help\n\n"
		"Commands:\n", skiff_ctl_prog);
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-34s %s\n", commands[i].usage, commands[i].summary);
	fprintf(out, "\nExit status: 0 on success, 1 on any failure (usage errors too).\n");
}

int skiff_ctl_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", skiff_ctl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n\n", stderr);
	if (usage)
		fputs(usage, stderr);
	else
		print_usage(stderr);
	return SKIFF_CTL_FAIL;
}

int skiff_ctl_option_error(const char *usage, const char *cmd, int c, char **argv)
{
	const char *opt = argv[optind - 1];
	const char *sep = cmd ? ": " : "";

	if (!cmd)
		cmd = "";
	if (c == ':')
		return skiff_ctl_usage_error(usage, "%s%soption '%s' needs a value", cmd, sep, opt);
	if (optopt)
		return skiff_ctl_usage_error(usage, "%s%sunknown option '-%c'", cmd, sep, optopt);
	return skiff_ctl_usage_error(usage, "%s%sunknown option '%s'", cmd, sep, opt);
}

int skiff_ctl_fail(const char *what, const struct skiff_error *e)
{
	fprintf(stderr, "%s: %s: %s\n", skiff_ctl_prog, what,
		e->msg[0] ? e->msg : strerror(-e->err));
	return SKIFF_CTL_FAIL;
}

void skiff_ctl_global_option(int c, const char *arg)
{
	if (c == SKIFF_CTL_OPT_KUBECONFIG)
		skiff_ctl.kubeconfig = arg;
}

static const struct skiff_ctl_command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

int skiff_ctl_version(int argc, char **argv)
{
	if (argc > 1)
		return skiff_ctl_usage_error(NULL, "version: unexpected argument '%s'", argv[1]);
	printf("%s %s\n", skiff_ctl_prog, SKIFF_VERSION);
	return SKIFF_CTL_OK;
}

/* help COMMAND is COMMAND --help: each command knows its own usage. */
int skiff_ctl_help(int argc, char **argv)
{
	const struct skiff_ctl_command *cmd;

	if (argc > 2)
		return skiff_ctl_usage_error(NULL, "help: unexpected argument '%s'", argv[2]);
	if (argc < 2 || !strcmp(argv[1], "help")) {
		print_usage(stdout);
		return SKIFF_CTL_OK;
	}
	cmd = find_command(argv[1]);
	if (!cmd)
		return skiff_ctl_usage_error(NULL, "help: unknown command '%s'", argv[1]);
	argv[0] = argv[1];
	argv[1] = "--help";
	optind = 0;
	return cmd->run(2, argv);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		SKIFF_CTL_GLOBAL_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const struct skiff_ctl_command *cmd;
	int c;

	/* Ours only: '+' stops at the command, whose options are its own. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", options, NULL)) != -1) {
		switch (c) {
		case 'h':
			print_usage(stdout);
			return SKIFF_CTL_OK;
		case SKIFF_CTL_OPT_KUBECONFIG:
			skiff_ctl_global_option(c, optarg);
			break;
		default:
			return skiff_ctl_option_error(NULL, NULL, c, argv);
		}
	}
	if (optind >= argc)
		return skiff_ctl_usage_error(NULL, "no command given");
	cmd = find_command(argv[optind]);
	if (!cmd)
		return skiff_ctl_usage_error(NULL, "unknown command '%s'", argv[optind]);
	argc -= optind;
	argv += optind;
	optind = 0;
	return cmd->run(argc, argv);
}
