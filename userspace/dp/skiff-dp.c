// SPDX-License-Identifier: GPL-2.0
/*
 * skiff-dp: look at and program the skiff data plane, in the style of ip(8)
 * and wg(8): a table of subcommands, human output by default, -j for JSON,
 * -b to pick the backend (kmod: skiff.ko; nft: Linux vxlan and nftables).
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "info.h"
#include "nl.h"
#include "skiff-dp.h"
#include "util.h"

const char *prog = "skiff-dp";

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s help'.\n", prog);
	return EXIT_USAGE;
}

int print_json(json_t *obj)
{
	int err;

	if (!obj) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return EXIT_FAILURE;
	}
	err = json_dumpf(obj, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (err) {
		fprintf(stderr, "%s: cannot write JSON\n", prog);
		return EXIT_FAILURE;
	}
	putchar('\n');
	return EXIT_SUCCESS;
}

int run_subcommand(const struct subcommand *table, int count,
		   const char *context, const struct options *opts, int argc,
		   char **argv)
{
	int i;

	if (argc < 1)
		return usage_error("%s: missing command", context);
	for (i = 0; i < count; i++)
		if (!strcmp(argv[0], table[i].name))
			return table[i].run(opts, argc, argv);
	if (!context)
		return usage_error("unknown command '%s'", argv[0]);
	return usage_error("%s: unknown command '%s'", context, argv[0]);
}

int report_error(const char *what, const struct skiff_error *e)
{
	char prefix[128];

	snprintf(prefix, sizeof(prefix), "%s: %s", prog, what);
	skiff_error_print(prefix, e);
	return EXIT_FAILURE;
}

struct skiff_dp *open_dataplane(const struct options *opts)
{
	struct skiff_error e;
	struct skiff_dp *dp;

	if (skiff_dp_open(&dp, opts->backend, &e)) {
		report_error(skiff_dp_backend_name(opts->backend), &e);
		return NULL;
	}
	return dp;
}

int show_list(const struct options *opts, const char *what, list_fn list,
	      const char *name)
{
	json_t *json = NULL;
	struct skiff_error e;
	struct skiff_dp *dp;
	int err;

	if (opts->json) {
		json = json_array();
		if (!json)
			return print_json(NULL);
	}
	dp = open_dataplane(opts);
	if (!dp) {
		json_decref(json);
		return EXIT_FAILURE;
	}
	err = list(dp, name, json, &e);
	skiff_dp_close(dp);
	if (err) {
		json_decref(json);
		return report_error(what, &e);
	}
	return json ? print_json(json) : EXIT_SUCCESS;
}

static int cmd_info(const struct options *opts, int argc, char **argv)
{
	struct skiff_error e;
	struct skiff_info info;
	struct skiff_nl *nl;
	int err;

	if (argc > 1)
		return usage_error("info: unexpected argument '%s'", argv[1]);
	if (opts->backend != SKIFF_DP_KMOD)
		return usage_error("info: reports on skiff.ko: use -b kmod");

	if (skiff_nl_open(&nl, &e)) {
		skiff_error_print(prog, &e);
		return EXIT_FAILURE;
	}
	err = skiff_info_get(nl, &info, &e);
	skiff_nl_close(nl);
	if (err)
		return report_error("info", &e);

	if (opts->json)
		return print_json(json_pack("{s:s, s:I, s:I, s:I}",
					    "version", info.version,
					    "genl_version",
					    (json_int_t)info.genl_version,
					    "netns_cookie",
					    (json_int_t)info.netns_cookie,
					    "generation",
					    (json_int_t)info.generation));

	printf("skiff.ko %s\n", info.version);
	printf("  genl family: skiff, version %" PRIu32 "\n", info.genl_version);
	printf("  netns cookie: %" PRIu64 "\n", info.netns_cookie);
	printf("  generation: %" PRIu32 "\n", info.generation);
	return EXIT_SUCCESS;
}

static int cmd_help(const struct options *opts, int argc, char **argv);

static const struct subcommand subcommands[] = {
	{ "info", cmd_info, "info",
	  "skiff.ko's version and this namespace's state" },
	{ "dev", cmd_dev,
	  "dev add NAME [vni N] [port N] [mtu N] [local ADDR] [vtep-mac MAC]\n"
	  "  dev del NAME\n"
	  "  dev show [NAME]",
	  "overlay devices" },
	{ "peer", cmd_peer,
	  "peer add DEV PREFIX/LEN remote ADDR [mac MAC] [replace]\n"
	  "  peer del DEV PREFIX/LEN\n"
	  "  peer show DEV",
	  "remote pod subnets and the nodes that have them" },
	{ "service", cmd_service,
	  "service set VIP:PORT/tcp|udp [affinity SECONDS] [local]\n"
	  "              [backend IP:PORT[@WEIGHT]]...\n"
	  "  service del VIP:PORT/tcp|udp\n"
	  "  service show",
	  "Services: virtual IP (0.0.0.0 for a NodePort) to backends;\n"
	  "      local: externalTrafficPolicy Local, clients keep their\n"
	  "      address (only hairpin is masqueraded)" },
	{ "cluster-cidr", cmd_cluster_cidr, "cluster-cidr PREFIX/LEN",
	  "pod network: clients outside it are masqueraded" },
	{ "apply", cmd_apply, "apply FILE|-",
	  "make the service table exactly FILE's, all at once: one line\n"
	  "      per service, 'service VIP:PORT/PROTO ...' as service set" },
	{ "monitor", cmd_monitor, "monitor [dump]",
	  "print changes of devices, peers and services as they happen,\n"
	  "      as the commands that make them (with dump: what is there\n"
	  "      first); -j: one JSON object per line" },
	{ "help", cmd_help, "help", "this help" },
};

static void print_usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"Usage: %s [-b kmod|nft] [-j] COMMAND [ARGS]\n\n"
		"Options:\n"
		"  -b, --backend kmod|nft  data plane to act on (default kmod:\n"
		"                          skiff.ko; nft: Linux vxlan + nftables)\n"
		"  -j, --json              print JSON\n\n"
		"Commands:\n", prog);
	for (i = 0; i < ARRAY_SIZE(subcommands); i++)
		fprintf(out, "  %s\n      %s\n", subcommands[i].usage,
			subcommands[i].summary);
	fprintf(out,
		"\nExit status: 0 done, 1 failed (the reason is printed, with\n"
		"the kernel's message when it gave one), 2 bad command line.\n");
}

static int cmd_help(const struct options *opts, int argc, char **argv)
{
	(void)opts;
	if (argc > 1)
		return usage_error("help: unexpected argument '%s'", argv[1]);
	print_usage(stdout);
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct options opts = { .backend = SKIFF_DP_KMOD };
	int c;

	/* Stop at the first non-option: the rest belongs to the subcommand. */
	while ((c = getopt_long(argc, argv, "+b:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (skiff_dp_backend_parse(optarg, &opts.backend))
				return usage_error("unknown backend '%s' (kmod or nft)",
						   optarg);
			break;
		case 'j':
			opts.json = true;
			break;
		case 'h':
			print_usage(stdout);
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try '%s help'.\n", prog);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;

	if (argc == 0) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	return run_subcommand(subcommands, ARRAY_SIZE(subcommands), NULL,
			      &opts, argc, argv);
}
