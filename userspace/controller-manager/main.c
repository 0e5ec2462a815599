// SPDX-License-Identifier: GPL-2.0
/*
 * skiff-controller-manager: the workload, node and namespace controllers,
 * as a client of the apiserver.
 *
 *	skiff-controller-manager [--server URL] [--cluster-cidr CIDR]
 *		[--node-cidr-size N] [--controllers LIST] [leader election]
 */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm.h"
#include "daemon.h"

#define PROG "skiff-controller-manager"

static struct controller *controllers;

void cm_register(struct controller *ctl)
{
	struct controller **p = &controllers;

	/* Sorted by name: the order they start in does not depend on links. */
	while (*p && strcmp((*p)->name, ctl->name) < 0)
		p = &(*p)->next;
	ctl->next = *p;
	*p = ctl;
}

static void usage(FILE *out)
{
	struct controller *ctl;

	fprintf(out,
		"Usage: " PROG " [OPTIONS]\n"
		SKIFF_DAEMON_USAGE
		"  --cluster-cidr CIDR   pod subnets come from here (default 10.244.0.0/16)\n"
		"  --node-cidr-size N    prefix length of each node's subnet (default 24)\n"
		"  --node-monitor-grace-period D  a silent node is NotReady after (default 40s)\n"
		"  --pod-eviction-timeout D  then its pods are deleted after (default 5m)\n"
		"  --controllers LIST    which run: '*' (all), NAME, -NAME, comma separated\n"
		"                        (default '*'); the controllers:");
	for (ctl = controllers; ctl; ctl = ctl->next)
		fprintf(out, " %s", ctl->name);
	fprintf(out, "\n");
}

/* Kubernetes' syntax: "*", "name", "-name". */
static int selected(const char *list, const char *name, bool *on)
{
	char *copy = strdup(list), *item, *save = NULL;
	struct controller *ctl;
	bool star = false, yes = false, no = false, known;

	if (!copy)
		return -ENOMEM;
	for (item = strtok_r(copy, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		const char *n = item[0] == '-' ? item + 1 : item;

		if (!strcmp(item, "*")) {
			star = true;
			continue;
		}
		known = false;
		for (ctl = controllers; ctl; ctl = ctl->next)
			known |= !strcmp(ctl->name, n);
		if (!known) {
			fprintf(stderr, PROG ": --controllers: no controller \"%s\"\n",
				n);
			free(copy);
			return -EINVAL;
		}
		if (!strcmp(n, name)) {
			if (item[0] == '-')
				no = true;
			else
				yes = true;
		}
	}
	free(copy);
	*on = !no && (yes || star);
	return 0;
}

static int parse_cidr(const char *text, int size)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	struct in_addr in;
	char *end;
	long len;

	if (!slash || (size_t)(slash - text) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, text, slash - text);
	addr[slash - text] = '\0';
	len = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, addr, &in) != 1 || *end || slash[1] == '\0' ||
	    len < 1 || len > 30)
		return -EINVAL;
	if (ntohl(in.s_addr) & (0xffffffffu >> len))
		return -EINVAL;
	if (size <= len)
		return -ERANGE;
	/* At most 2^16 node subnets, as Kubernetes' cidrset. */
	return size - len > 16 ? -E2BIG : 0;
}

struct lead_args {
	struct cm *cm;
	const char *list;
};

static void lead(void *arg)
{
	struct lead_args *a = arg;
	struct controller *ctl;
	unsigned int i;
	bool on;

	for (ctl = controllers; ctl; ctl = ctl->next) {
		if (selected(a->list, ctl->name, &on) || !on)
			continue;
		if (ctl->start(a->cm)) {
			fprintf(stderr, PROG ": controller %s did not start\n",
				ctl->name);
			exit(1);
		}
		fprintf(stderr, PROG ": started controller %s\n", ctl->name);
	}
	a->cm->started = true;
	for (i = 0; i < a->cm->n_informers; i++)
		skiff_informer_start(a->cm->informers[i]);
}

int main(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "cluster-cidr", required_argument, NULL, 'c' },
		{ "node-cidr-size", required_argument, NULL, 's' },
		{ "node-monitor-grace-period", required_argument, NULL, 'g' },
		{ "pod-eviction-timeout", required_argument, NULL, 'e' },
		{ "controllers", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct option *longopts = skiff_daemon_longopts(extra);
	struct skiff_daemon d;
	struct lead_args a = { .list = "*" };
	struct cm cm = {
		.cluster_cidr = "10.244.0.0/16",
		.node_cidr_size = 24,
		.node_monitor_grace_ms = 40000,
		.pod_eviction_timeout_ms = 300000,
	};
	int opt, r;
	int64_t ms;
	bool on;
	char *end;

	if (!longopts)
		return 1;
	skiff_daemon_init(&d, PROG, "skiff-controller-manager");
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		r = skiff_daemon_option(&d, opt, optarg);
		if (r < 0)
			return 2;
		if (r)
			continue;
		switch (opt) {
		case 'c':
			cm.cluster_cidr = optarg;
			break;
		case 's':
			cm.node_cidr_size = (int)strtol(optarg, &end, 10);
			if (*end || !*optarg || cm.node_cidr_size < 1 ||
			    cm.node_cidr_size > 30) {
				fprintf(stderr,
					PROG ": --node-cidr-size: want 1 to 30, not \"%s\"\n",
					optarg);
				return 2;
			}
			break;
		case 'g':
		case 'e':
			ms = skiff_parse_duration(optarg);
			if (ms <= 0 || ms > 24LL * 3600 * 1000) {
				fprintf(stderr,
					PROG ": --%s: want 1ms to 24h (40s, 500ms, 5m): \"%s\"\n",
					opt == 'g' ? "node-monitor-grace-period" :
					"pod-eviction-timeout", optarg);
				return 2;
			}
			if (opt == 'g')
				cm.node_monitor_grace_ms = ms;
			else
				cm.pod_eviction_timeout_ms = ms;
			break;
		case 'C':
			a.list = optarg;
			if (selected(optarg, "", &on))
				return 2;
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
	r = parse_cidr(cm.cluster_cidr, cm.node_cidr_size);
	if (r == -ERANGE) {
		fprintf(stderr, PROG
			": --node-cidr-size %d must be longer than the prefix of --cluster-cidr %s\n",
			cm.node_cidr_size, cm.cluster_cidr);
		return 2;
	}
	if (r == -E2BIG) {
		fprintf(stderr,
			PROG ": --node-cidr-size %d: at most 16 more than the prefix of %s\n",
			cm.node_cidr_size, cm.cluster_cidr);
		return 2;
	}
	if (r) {
		fprintf(stderr,
			PROG ": --cluster-cidr: want A.B.C.D/N, host bits zero, N 1-30: \"%s\"\n",
			cm.cluster_cidr);
		return 2;
	}
	if (skiff_daemon_setup(&d))
		return 2;
	cm.loop = d.loop;
	cm.c = d.c;
	a.cm = &cm;
	return skiff_daemon_run(&d, lead, &a);
}
