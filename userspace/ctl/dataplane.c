// SPDX-License-Identifier: GPL-2.0
/*
 * skiffctl dataplane: what each node has programmed into its data plane
 * (skiff.ko or nftables), with the counters, read from the node itself:
 * GET /api/v1/nodes/NAME/proxy/dataplane, which the apiserver passes to
 * the node agent's endpoint (port 10250). The JSON is what `skiff-dp -j`
 * prints on that node (userspace/lib/dp_json.c builds both), so this is
 * `skiff-dp show` for the whole cluster, without logging in to each node.
 *
 * Default output: one table of the overlay peers and one of the Services,
 * a line per backend, each row naming its node; -o json gives the nodes'
 * answers as they are, in a List. A node that does not answer is said at
 * the end, after what the others answered (exit status 1), as kubectl does.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const char usage[] =
	"Usage: skiffctl dataplane [NODE...] [-o json]\n"
	"\n"
	"What each node (default: every node) has programmed into its data plane:\n"
	"the overlay's peers (pod subnet -> node address) and the Services with\n"
	"their backends, with packet and byte counters where the backend counts\n"
	"them, read from the node agent through the apiserver (nodes/NAME/proxy).\n";

/* The names of every Node, in a JSON array (caller's), or NULL. */
static json_t *all_nodes(struct skiff_ctl_conn *conn)
{
	json_t *answer = NULL, *names, *item;
	long code;
	size_t i;

	code = skiff_ctl_call(conn, "GET", "/api/v1/nodes", NULL, NULL, &answer);
	if (code != 200) {
		skiff_ctl_server_error(conn, code, answer, NULL);
		json_decref(answer);
		return NULL;
	}
	names = json_array();
	json_array_foreach(json_object_get(answer, "items"), i, item)
		json_array_append_new(names, json_string(skiff_meta(item, "name")));
	json_decref(answer);
	return names;
}

static json_t *node_dataplane(struct skiff_ctl_conn *conn, const char *node)
{
	char *escaped = skiff_ctl_escape(node), *path = NULL, when[320];
	json_t *answer = NULL;
	long code = 0;

	if (escaped && asprintf(&path, "/api/v1/nodes/%s/proxy/dataplane", escaped) >= 0)
		code = skiff_ctl_call(conn, "GET", path, NULL, NULL, &answer);
	free(escaped);
	free(path);
	if (code == 200 && json_is_object(answer))
		return answer;
	snprintf(when, sizeof(when), "node %s", node);
	skiff_ctl_defer_error(conn, code, answer, when);
	json_decref(answer);
	return NULL;
}

static void print_peers(struct skiff_ctl_tab *t, const json_t *dp)
{
	const char *node = json_string_value(json_object_get(dp, "node"));
	const json_t *p;
	size_t i;

	json_array_foreach(json_object_get(dp, "peers"), i, p)
		skiff_ctl_tab_printf(t, "%s\t%s/%lld\t%s\t%lld\t%lld\n", node ?: "",
				     skiff_str(p, "prefix") ?: "",
				     (long long)skiff_int(p, "prefix_len", 0),
				     skiff_str(p, "remote") ?: "",
				     (long long)skiff_int(p, "tx_packets", 0),
				     (long long)skiff_int(p, "tx_bytes", 0));
}

static void print_services(struct skiff_ctl_tab *t, const json_t *dp)
{
	const char *node = json_string_value(json_object_get(dp, "node"));
	const json_t *s, *b;
	char service[64], backend[64];
	size_t i, j;

	json_array_foreach(json_object_get(dp, "services"), i, s) {
		snprintf(service, sizeof(service), "%s:%lld", skiff_str(s, "vip") ?: "",
			 (long long)skiff_int(s, "port", 0));
		if (!json_array_size(json_object_get(s, "backends")))
			skiff_ctl_tab_printf(t, "%s\t%s\t%s\t<none>\t\t%lld\t%lld\n", node ?: "",
					     service, skiff_str(s, "proto") ?: "",
					     (long long)skiff_int(s, "packets", 0),
					     (long long)skiff_int(s, "bytes", 0));
		json_array_foreach(json_object_get(s, "backends"), j, b) {
			snprintf(backend, sizeof(backend), "%s:%lld", skiff_str(b, "addr") ?: "",
				 (long long)skiff_int(b, "port", 0));
			skiff_ctl_tab_printf(t, "%s\t%s\t%s\t%s\t%lld\t%lld\t%lld\n", node ?: "",
					     service, skiff_str(s, "proto") ?: "", backend,
					     (long long)skiff_int(b, "weight", 0),
					     (long long)skiff_int(b, "packets", 0),
					     (long long)skiff_int(b, "bytes", 0));
		}
	}
}

static void print_tables(const json_t *answers)
{
	struct skiff_ctl_tab *t;
	const json_t *dp;
	size_t i;

	t = skiff_ctl_tab_new(6, 3);
	skiff_ctl_tab_printf(t, "NODE\tBACKEND\tDEVICES\tPEERS\tSERVICES\n");
	json_array_foreach(answers, i, dp)
		skiff_ctl_tab_printf(t, "%s\t%s\t%zu\t%zu\t%zu\n",
				     skiff_str(dp, "node") ?: "", skiff_str(dp, "backend") ?: "",
				     json_array_size(json_object_get(dp, "devices")),
				     json_array_size(json_object_get(dp, "peers")),
				     json_array_size(json_object_get(dp, "services")));
	skiff_ctl_tab_flush(t, stdout);

	t = skiff_ctl_tab_new(6, 3);
	skiff_ctl_tab_printf(t, "\nNODE\tPEER SUBNET\tVIA\tTX PACKETS\tTX BYTES\n");
	json_array_foreach(answers, i, dp)
		print_peers(t, dp);
	skiff_ctl_tab_flush(t, stdout);

	t = skiff_ctl_tab_new(6, 3);
	skiff_ctl_tab_printf(t, "\nNODE\tSERVICE\tPROTO\tBACKEND\tWEIGHT\tPACKETS\tBYTES\n");
	json_array_foreach(answers, i, dp)
		print_services(t, dp);
	skiff_ctl_tab_flush(t, stdout);
}

int skiff_ctl_dataplane(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		SKIFF_CTL_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct skiff_ctl_conn conn;
	json_t *nodes = NULL, *answers, *dp, *list;
	const json_t *name;
	bool json = false;
	size_t i;
	int c, ret;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (strcmp(optarg, "json"))
				return skiff_ctl_usage_error(usage,
							     "dataplane: -o: want json, not \"%s\"",
							     optarg);
			json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return SKIFF_CTL_OK;
		case SKIFF_CTL_OPT_KUBECONFIG:
			skiff_ctl_global_option(c, optarg);
			break;
		default:
			return skiff_ctl_option_error(usage, "dataplane", c, argv);
		}
	}
	if (skiff_ctl_connect(&conn, NULL))
		return SKIFF_CTL_FAIL;
	if (optind < argc) {
		nodes = json_array();
		for (i = optind; i < (size_t)argc; i++)
			json_array_append_new(nodes, json_string(argv[i]));
	} else {
		nodes = all_nodes(&conn);
		if (!nodes) {
			skiff_ctl_disconnect(&conn);
			return SKIFF_CTL_FAIL;
		}
	}
	answers = json_array();
	json_array_foreach(nodes, i, name) {
		dp = node_dataplane(&conn, json_string_value(name));
		if (dp)
			json_array_append_new(answers, dp);
	}
	ret = SKIFF_CTL_OK;
	if (json) {
		list = json_pack("{s:s, s:s, s:O}", "apiVersion", "v1", "kind", "List",
				 "items", answers);
		ret = skiff_ctl_print(list, false);
		json_decref(list);
	} else if (json_array_size(answers)) {
		print_tables(answers);
	}
	if (conn.errors && json_array_size(conn.errors))
		ret = SKIFF_CTL_FAIL;
	skiff_ctl_disconnect(&conn);
	json_decref(answers);
	json_decref(nodes);
	return ret;
}
