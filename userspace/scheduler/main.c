// SPDX-License-Identifier: GPL-2.0
/*
 * skiff-scheduler: places pending pods on nodes (sched.h), as a client of
 * the apiserver.
 *
 *	skiff-scheduler [--server URL] [--scheduler-name NAME]
 *		[--percentage-of-nodes-to-score N] [leader election]
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "sched.h"

#define PROG "skiff-scheduler"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [OPTIONS]\n"
		SKIFF_DAEMON_USAGE
		"  --scheduler-name NAME  pods whose spec.schedulerName is NAME\n"
		"                         (default default-scheduler)\n"
		"  --percentage-of-nodes-to-score N  1-100; 0 (default): from 50%% at\n"
		"                         100 nodes down to 5%% at 5,625 and more\n");
}

static void lead(void *arg)
{
	struct sched *s = arg;

	if (schedule_start(s) || nodes_start(s)) {
		fprintf(stderr, PROG ": out of memory\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "scheduler-name", required_argument, NULL, 'n' },
		{ "percentage-of-nodes-to-score", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct option *longopts = skiff_daemon_longopts(extra);
	struct sched s = { .name = "default-scheduler" };
	struct skiff_daemon d;
	int opt, r;
	char *end;
	long v;

	if (!longopts)
		return 1;
	skiff_daemon_init(&d, PROG, "skiff-scheduler");
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		r = skiff_daemon_option(&d, opt, optarg);
		if (r < 0)
			return 2;
		if (r)
			continue;
		switch (opt) {
		case 'n':
			if (!*optarg) {
				fprintf(stderr, PROG ": --scheduler-name: empty\n");
				return 2;
			}
			s.name = optarg;
			break;
		case 'p':
			v = strtol(optarg, &end, 10);
			if (*end || !*optarg || v < 0 || v > 100) {
				fprintf(stderr, PROG
					": --percentage-of-nodes-to-score: want 0 to 100, not \"%s\"\n",
					optarg);
				return 2;
			}
			s.pct_nodes = (int)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (skiff_daemon_setup(&d))
		return 2;
	srand((unsigned int)time(NULL) ^ (unsigned int)getpid());
	s.c = d.c;
	return skiff_daemon_run(&d, lead, &s);
}
