/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the subcommands of skiff-dp share.
 */

#ifndef SKIFF_DP_TOOL_H
#define SKIFF_DP_TOOL_H

#include <stdbool.h>

#include <jansson.h>

#include "dataplane.h"

#define EXIT_USAGE 2

struct options {
	bool json;
	enum skiff_dp_backend backend;
};

/**
 * struct subcommand - one word of the command line and what it does
 * @name: the word
 * @run: called with argv[0] == @name
 * @usage: its arguments, for help
 * @summary: one line for help
 */
struct subcommand {
	const char *name;
	int (*run)(const struct options *opts, int argc, char **argv);
	const char *usage;
	const char *summary;
};

extern const char *prog;

/* Prints "skiff-dp: MESSAGE" and a hint; returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints @obj (consumed) as indented JSON; returns an exit status. */
int print_json(json_t *obj);
/* Runs the subcommand of @table named by argv[0]. */
int run_subcommand(const struct subcommand *table, int count,
		   const char *context, const struct options *opts, int argc,
		   char **argv);
/* Opens the data plane of opts->backend, or says why not (NULL). */
struct skiff_dp *open_dataplane(const struct options *opts);
/* Prints why @what failed, the kernel's words included; returns 1. */
int report_error(const char *what, const struct skiff_error *e);

/*
 * Lists through @list: its callbacks print a line each, or append to the
 * JSON array they are given with -j, which is printed at the end. @name is
 * passed on (a device, or NULL).
 */
typedef int (*list_fn)(struct skiff_dp *dp, const char *name, json_t *json,
		       struct skiff_error *e);
int show_list(const struct options *opts, const char *what, list_fn list,
	      const char *name);

int cmd_dev(const struct options *opts, int argc, char **argv);
int cmd_peer(const struct options *opts, int argc, char **argv);
int cmd_service(const struct options *opts, int argc, char **argv);
int cmd_cluster_cidr(const struct options *opts, int argc, char **argv);
int cmd_apply(const struct options *opts, int argc, char **argv);
int cmd_monitor(const struct options *opts, int argc, char **argv);

#endif /* SKIFF_DP_TOOL_H */
