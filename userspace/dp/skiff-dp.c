// SPDX-License-Identifier: GPL-2.0
/*
 * skiff-dp: look at and program the skiff data plane, in the style of ip(8)
 * and wg(8): a table of subcommands, human output by default, -j for JSON.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "info.h"
#include "nl.h"
#include "util.h"

#define EXIT_USAGE 2

struct options {
	bool json;
};

struct subcommand {
	const char *name;
	int (*run)(const struct options *opts, int argc, char **argv);
	const char *usage;
	const char *summary;
};

static const char *prog = "skiff-dp";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '%s help'.\n", prog);
	return EXIT_USAGE;
}

static int print_json(json_t *obj)
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

static int cmd_info(const struct options *opts, int argc, char **argv)
{
	struct skiff_nl_error e;
	struct skiff_info info;
	struct skiff_nl *nl;
	int err;

	if (argc > 1)
		return usage_error("info: unexpected argument '%s'", argv[1]);

	if (skiff_nl_open(&nl, &e)) {
		skiff_nl_error_print(prog, &e);
		return EXIT_FAILURE;
	}
	err = skiff_info_get(nl, &info, &e);
	skiff_nl_close(nl);
	if (err) {
		skiff_nl_error_print("skiff-dp: info", &e);
		return EXIT_FAILURE;
	}

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
	{ "info", cmd_info, "info", "show the module's version and this netns" },
	{ "help", cmd_help, "help", "show this help" },
};

static void print_usage(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: %s [-j] COMMAND [ARGS]\n\n", prog);
	fprintf(out, "Options:\n  -j, --json   print JSON\n\nCommands:\n");
	for (i = 0; i < ARRAY_SIZE(subcommands); i++)
		fprintf(out, "  %-10s %s\n", subcommands[i].usage,
			subcommands[i].summary);
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
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct options opts = { 0 };
	size_t i;
	int c;

	/* Stop at the first non-option: the rest belongs to the subcommand. */
	while ((c = getopt_long(argc, argv, "+jh", longopts, NULL)) != -1) {
		switch (c) {
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
	for (i = 0; i < ARRAY_SIZE(subcommands); i++)
		if (!strcmp(argv[0], subcommands[i].name))
			return subcommands[i].run(&opts, argc, argv);
	return usage_error("unknown command '%s'", argv[0]);
}
