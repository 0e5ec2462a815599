// SPDX-License-Identifier: GPL-2.0
/*
 * skiff-dp monitor [dump]: changes of the data plane as they happen.
 *
 * Each change is printed as the skiff-dp command that makes it ("dev add
 * ...", "peer del ...", "service set ..."), so the output reads like a
 * script of what happened; with -j, one JSON object per line:
 * {"event": "add"|"del"|"set", "dev"|"peer"|"service": {...}}, a peer's
 * object carrying its device as "dev".
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_json.h"
#include "monitor.h"
#include "parse.h"
#include "skiff-dp.h"

static void print_dev(const struct skiff_dp_dev *dev)
{
	char mac[SKIFF_MAC_STRLEN];

	printf("dev add %s vni %u port %u mtu %u vtep-mac %s", dev->name,
	       dev->vni, dev->port, dev->mtu,
	       skiff_format_mac(dev->vtep_mac, mac));
	if (dev->local4.s_addr)
		printf(" local %s", inet_ntoa(dev->local4));
	putchar('\n');
}

static void print_peer(const struct skiff_dp_event *ev)
{
	char prefix[INET_ADDRSTRLEN], remote[INET_ADDRSTRLEN];
	char mac[SKIFF_MAC_STRLEN];
	const struct skiff_dp_peer *peer = ev->peer;

	inet_ntop(AF_INET, &peer->prefix4, prefix, sizeof(prefix));
	if (ev->type == SKIFF_DP_EV_PEER_DEL) {
		printf("peer del %s %s/%u\n", ev->dev->name, prefix,
		       peer->prefix_len);
		return;
	}
	inet_ntop(AF_INET, &peer->remote4, remote, sizeof(remote));
	printf("peer add %s %s/%u remote %s", ev->dev->name, prefix,
	       peer->prefix_len, remote);
	if (peer->has_remote_mac)
		printf(" mac %s", skiff_format_mac(peer->remote_mac, mac));
	putchar('\n');
}

static void print_service(const struct skiff_dp_event *ev)
{
	char vip[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN];
	const struct skiff_dp_service *svc = ev->svc;
	unsigned int i;

	inet_ntop(AF_INET, &svc->vip, vip, sizeof(vip));
	printf("service %s %s:%u/%s",
	       ev->type == SKIFF_DP_EV_SERVICE_DEL ? "del" : "set", vip,
	       svc->port, skiff_dp_proto_name(svc->proto));
	if (ev->type == SKIFF_DP_EV_SERVICE_DEL) {
		putchar('\n');
		return;
	}
	if (svc->affinity_timeout)
		printf(" affinity %u", svc->affinity_timeout);
	if (svc->local)
		printf(" local");
	for (i = 0; i < ev->count; i++) {
		const struct skiff_dp_endpoint *b = &ev->backends[i];

		inet_ntop(AF_INET, &b->addr, addr, sizeof(addr));
		printf(" backend %s:%u", addr, b->port);
		if (b->weight > 1)
			printf("@%u", b->weight);
	}
	putchar('\n');
}

static json_t *event_json(const struct skiff_dp_event *ev)
{
	static const char *const verbs[] = {
		[SKIFF_DP_EV_DEV_ADD] = "add",
		[SKIFF_DP_EV_DEV_DEL] = "del",
		[SKIFF_DP_EV_PEER_ADD] = "add",
		[SKIFF_DP_EV_PEER_DEL] = "del",
		[SKIFF_DP_EV_SERVICE_SET] = "set",
		[SKIFF_DP_EV_SERVICE_DEL] = "del",
	};
	const char *what;
	json_t *obj;

	switch (ev->type) {
	case SKIFF_DP_EV_DEV_ADD:
	case SKIFF_DP_EV_DEV_DEL:
		what = "dev";
		obj = skiff_dp_json_dev(ev->dev);
		break;
	case SKIFF_DP_EV_PEER_ADD:
	case SKIFF_DP_EV_PEER_DEL:
		what = "peer";
		obj = skiff_dp_json_peer(ev->peer);
		if (obj)
			json_object_set_new(obj, "dev",
					    json_string(ev->dev->name));
		break;
	default:
		what = "service";
		obj = skiff_dp_json_service(ev->svc, ev->backends, ev->count);
		break;
	}
	return json_pack("{s:s, s:o*}", "event", verbs[ev->type], what, obj);
}

static int on_event(const struct skiff_dp_event *ev, void *arg)
{
	const struct options *opts = arg;
	json_t *obj;
	int err;

	/* End of a batch: let a reader (or a pipe) see it now. */
	if (!ev)
		return fflush(stdout) ? -errno : 0;
	if (opts->json) {
		obj = event_json(ev);
		if (!obj)
			return -ENOMEM;
		err = json_dumpf(obj, stdout, JSON_COMPACT);
		json_decref(obj);
		putchar('\n');
		return err ? -EIO : 0;
	}
	switch (ev->type) {
	case SKIFF_DP_EV_DEV_ADD:
		print_dev(ev->dev);
		break;
	case SKIFF_DP_EV_DEV_DEL:
		printf("dev del %s\n", ev->dev->name);
		break;
	case SKIFF_DP_EV_PEER_ADD:
	case SKIFF_DP_EV_PEER_DEL:
		print_peer(ev);
		break;
	default:
		print_service(ev);
		break;
	}
	return 0;
}

int cmd_monitor(const struct options *opts, int argc, char **argv)
{
	struct skiff_error e;
	struct skiff_dp *dp;
	bool dump = false;
	int err;

	if (argc > 1 && !strcmp(argv[1], "dump")) {
		dump = true;
		argc--;
		argv++;
	}
	if (argc > 1)
		return usage_error("monitor: unexpected argument '%s'", argv[1]);
	dp = open_dataplane(opts);
	if (!dp)
		return EXIT_FAILURE;
	err = skiff_dp_monitor(dp, dump, on_event, (void *)opts, &e);
	skiff_dp_close(dp);
	if (err == -ENOMEM)
		fprintf(stderr, "%s: monitor: out of memory\n", prog);
	else if (err && e.err)
		return report_error("monitor", &e);
	else if (err)
		fprintf(stderr, "%s: monitor: cannot write: %s\n", prog,
			strerror(-err));
	return EXIT_FAILURE;
}
