// SPDX-License-Identifier: GPL-2.0
/*
 * skiff-dp peer add|del|show: remote pod subnets and their nodes.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_json.h"
#include "parse.h"
#include "skiff-dp.h"
#include "util.h"

/* argv[1] is DEV, argv[2] PREFIX/LEN. */
static int parse_dev_prefix(const char *cmd, int argc, char **argv,
			    struct skiff_dp_peer *peer)
{
	int err;

	memset(peer, 0, sizeof(*peer));
	if (argc < 2)
		return usage_error("%s: missing DEV", cmd);
	if (argc < 3)
		return usage_error("%s: missing PREFIX/LEN", cmd);
	err = skiff_parse_prefix4(argv[2], &peer->prefix4, &peer->prefix_len);
	if (err)
		return usage_error("%s: invalid prefix '%s' (A.B.C.D/LEN)", cmd,
				   argv[2]);
	return 0;
}

static int peer_add(const struct options *opts, int argc, char **argv)
{
	struct skiff_dp_peer peer;
	bool replace = false, has_remote = false;
	struct skiff_error e;
	struct skiff_dp *dp;
	int i, err;

	err = parse_dev_prefix("peer add", argc, argv, &peer);
	if (err)
		return err;
	for (i = 3; i < argc; i++) {
		const char *key = argv[i], *val = argv[i + 1];

		if (!strcmp(key, "replace")) {
			replace = true;
			continue;
		}
		if (strcmp(key, "remote") && strcmp(key, "mac"))
			return usage_error("peer add: unknown argument '%s'", key);
		if (!val)
			return usage_error("peer add: '%s' needs a value", key);
		i++;
		if (!strcmp(key, "remote")) {
			if (skiff_parse_ipv4(val, &peer.remote4))
				return usage_error("peer add: invalid address '%s'",
						   val);
			has_remote = true;
		} else {
			if (skiff_parse_mac(val, peer.remote_mac))
				return usage_error("peer add: invalid MAC '%s'", val);
			peer.has_remote_mac = true;
		}
	}
	if (!has_remote)
		return usage_error("peer add: missing 'remote ADDR'");

	dp = open_dataplane(opts);
	if (!dp)
		return EXIT_FAILURE;
	err = skiff_dp_peer_add(dp, argv[1], &peer, replace, &e);
	skiff_dp_close(dp);
	if (err)
		return report_error("peer add", &e);
	return EXIT_SUCCESS;
}

static int peer_del(const struct options *opts, int argc, char **argv)
{
	struct skiff_dp_peer peer;
	struct skiff_error e;
	struct skiff_dp *dp;
	int err;

	err = parse_dev_prefix("peer del", argc, argv, &peer);
	if (err)
		return err;
	if (argc > 3)
		return usage_error("peer del: unexpected argument '%s'", argv[3]);

	dp = open_dataplane(opts);
	if (!dp)
		return EXIT_FAILURE;
	err = skiff_dp_peer_del(dp, argv[1], &peer, &e);
	skiff_dp_close(dp);
	if (err)
		return report_error("peer del", &e);
	return EXIT_SUCCESS;
}

static int peer_show_one(const struct skiff_dp_peer *peer, void *arg)
{
	char mac[SKIFF_MAC_STRLEN], prefix[INET_ADDRSTRLEN];
	char remote[INET_ADDRSTRLEN];

	(void)arg;
	inet_ntop(AF_INET, &peer->prefix4, prefix, sizeof(prefix));
	inet_ntop(AF_INET, &peer->remote4, remote, sizeof(remote));
	printf("%s/%u remote %s mac %s tx %" PRIu64 " packets %" PRIu64
	       " bytes\n", prefix, peer->prefix_len, remote,
	       skiff_format_mac(peer->remote_mac, mac), peer->tx_packets,
	       peer->tx_bytes);
	return 0;
}

static int peer_list(struct skiff_dp *dp, const char *name, json_t *json,
		     struct skiff_error *e)
{
	if (json)
		return skiff_dp_json_peers(dp, name, json, e);
	return skiff_dp_peer_list(dp, name, peer_show_one, NULL, e);
}

static int peer_show(const struct options *opts, int argc, char **argv)
{
	if (argc < 2)
		return usage_error("peer show: missing DEV");
	if (argc > 2)
		return usage_error("peer show: unexpected argument '%s'", argv[2]);
	return show_list(opts, "peer show", peer_list, argv[1]);
}

static const struct subcommand peer_commands[] = {
	{ "add", peer_add, NULL, NULL },
	{ "del", peer_del, NULL, NULL },
	{ "show", peer_show, NULL, NULL },
};

int cmd_peer(const struct options *opts, int argc, char **argv)
{
	return run_subcommand(peer_commands, ARRAY_SIZE(peer_commands), "peer",
			      opts, argc - 1, argv + 1);
}
