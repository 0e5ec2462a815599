// SPDX-License-Identifier: GPL-2.0
/*
 * The node agent's overlay (flannel's job) end to end at the module
 * level: a real skiff-apiserver, Nodes written through its API, a Node
 * informer and the overlay on an event loop in this process, and the nft
 * data plane (Linux vxlan) in a network namespace of this test's own,
 * read back as `skiff-dp peer show` and `ip route` would.
 *
 * Covered: the device (settings, up, the /32 of the pod subnet); this
 * Node's annotations, and again after someone removed them; other Nodes
 * as peers (underlay from the annotation or InternalIP, their MAC), routed
 * into the device; Nodes without a podCIDR, a MAC or with a bad podCIDR
 * left out until fixed; a changed podCIDR or underlay replacing the peer;
 * a deleted Node's peer removed; an agent restart finding its device and
 * removing a peer no Node explains; configurations refused.
 */

#include <netlink/netlink.h>
#include <netlink/route/route.h>

#include "dataplane.h"
#include "informer.h"
#include "node_apiserver.h"
#include "overlay.h"

#define WAIT_MS 10000
#define NODES "/api/v1/nodes"
#define MERGE "application/merge-patch+json"

/* name, annotations (JSON object text), podCIDR (or ""), InternalIP */
#define NODE_FORMAT "{'apiVersion':'v1','kind':'Node','metadata':{'name':'%s'," \
	"'annotations':%s},'spec':{%s%s%s},'status':{'addresses':[" \
	"{'type':'Hostname','address':'%s'},{'type':'InternalIP','address':'%s'}]}}"

#define MAC2 "02:00:00:00:00:02"
#define MAC3 "02:00:00:00:00:03"
#define MAC4 "02:00:00:00:00:04"
#define MAC5 "02:00:00:00:00:05"
#define MAC6 "02:00:00:00:00:06"

static long node_create(struct skiff_client *c, const char *name,
			const char *annotations, const char *cidr,
			const char *ip)
{
	bool has = cidr && *cidr;

	return api_call(c, "POST", NODES, NULL, NODE_FORMAT, name, annotations,
			has ? "'podCIDR':'" : "", has ? cidr : "",
			has ? "'" : "", name, ip);
}

struct peers {
	struct skiff_dp *dp;
	const char *dev;
	char *want;
	char *got;
};

static int peer_line(const struct skiff_dp_peer *peer, void *arg)
{
	char net[INET_ADDRSTRLEN], remote[INET_ADDRSTRLEN], line[128];
	const uint8_t *m = peer->remote_mac;

	inet_ntop(AF_INET, &peer->prefix4, net, sizeof(net));
	inet_ntop(AF_INET, &peer->remote4, remote, sizeof(remote));
	snprintf(line, sizeof(line), "%s/%u %s %02x:%02x:%02x:%02x:%02x:%02x",
		 net, peer->prefix_len, remote, m[0], m[1], m[2], m[3], m[4], m[5]);
	json_array_append_new(arg, json_string(line));
	return 0;
}

/* The device's peers, "prefix/len remote mac" a line, sorted. */
static char *peers_text(struct skiff_dp *dp, const char *dev)
{
	json_t *list = json_array();
	struct skiff_error e;
	char *out;

	if (skiff_dp_peer_list(dp, dev, peer_line, list, &e)) {
		json_decref(list);
		return strdup(e.msg);
	}
	out = lines_sorted(list);
	json_decref(list);
	return out;
}

/* The main table's routes through @dev: their destinations, sorted. */
static char *routes_text(const char *dev)
{
	unsigned int ifindex = if_nametoindex(dev);
	struct nl_cache *cache = NULL;
	json_t *list = json_array();
	struct nl_sock *sk;
	struct nl_object *o;
	char buf[64], *out;

	sk = nl_socket_alloc();
	if (!sk || nl_connect(sk, NETLINK_ROUTE) ||
	    rtnl_route_alloc_cache(sk, AF_INET, 0, &cache))
		die("rtnetlink");
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);

		if (rtnl_route_get_table(r) != RT_TABLE_MAIN || !nh ||
		    (unsigned int)rtnl_route_nh_get_ifindex(nh) != ifindex)
			continue;
		json_array_append_new(list, json_string(nl_addr2str(rtnl_route_get_dst(r),
								    buf, sizeof(buf))));
	}
	nl_cache_free(cache);
	nl_socket_free(sk);
	out = lines_sorted(list);
	json_decref(list);
	return out;
}

static bool peers_are(void *arg)
{
	struct peers *p = arg;

	free(p->got);
	p->got = peers_text(p->dp, p->dev);
	return !strcmp(p->got, p->want);
}

/* Waits until the peers are the lines given (NULL-terminated). */
static bool wait_peers(struct skiff_loop *loop, struct skiff_dp *dp,
		       const char *dev, const char *what, ...)
{
	struct peers p = { .dp = dp, .dev = dev };
	json_t *list = json_array();
	const char *line;
	va_list ap;
	bool ok;

	va_start(ap, what);
	while ((line = va_arg(ap, const char *)))
		json_array_append_new(list, json_string(line));
	va_end(ap);
	p.want = lines_sorted(list);
	json_decref(list);
	loop_until(loop, peers_are, &p, WAIT_MS);
	ok = tap_is_str(p.got, p.want, "%s", what);
	free(p.want);
	free(p.got);
	return ok;
}

static bool check_routes(const char *dev, const char *want, const char *what)
{
	char *got = routes_text(dev);
	bool ok = tap_is_str(got, want, "%s", what);

	free(got);
	return ok;
}

struct annotated {
	struct skiff_informer *nodes;
	struct skiff_client *c;
	const char *mac;
};

static const char *annotation_of(const json_t *node, const char *name)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(node,
										"metadata"),
								 "annotations"),
						 name)) ?: "";
}

/* In the informer's cache. */
static bool own_annotated(void *arg)
{
	struct annotated *a = arg;
	const json_t *n1 = skiff_informer_get(a->nodes, NULL, "n1");

	return !strcmp(annotation_of(n1, SKIFF_ANNOTATION_VTEP_MAC), a->mac);
}

/* As the apiserver has it. */
static bool own_annotated_api(void *arg)
{
	struct annotated *a = arg;
	json_t *n1 = api_get(a->c, NODES "/n1");
	bool ok = !strcmp(annotation_of(n1, SKIFF_ANNOTATION_VTEP_MAC), a->mac);

	json_decref(n1);
	return ok;
}

/* The annotation @name of Node @node as the apiserver has it. */
static char *annotation(struct skiff_client *c, const char *node,
			const char *name)
{
	char path[128];
	json_t *obj;
	char *out;

	snprintf(path, sizeof(path), NODES "/%s", node);
	obj = api_get(c, path);
	out = strdup(annotation_of(obj, name));
	json_decref(obj);
	return out;
}

static int dev_found(const struct skiff_dp_dev *dev, void *arg)
{
	memcpy(arg, dev, sizeof(*dev));
	return 0;
}

/* "vni V port P mtu M local L up|down addr A" of @name. */
static char *dev_text(struct skiff_dp *dp, const char *name)
{
	struct skiff_dp_dev dev = { 0 };
	char local[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN] = "none";
	struct ifreq ifr = { 0 };
	struct skiff_error e;
	bool up;
	char *out;
	int fd;

	if (skiff_dp_dev_list(dp, name, dev_found, &dev, &e))
		return strdup(e.msg);
	inet_ntop(AF_INET, &dev.local4, local, sizeof(local));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr))
		die("SIOCGIFFLAGS");
	up = ifr.ifr_flags & IFF_UP;
	if (!ioctl(fd, SIOCGIFADDR, &ifr))
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr,
			  addr, sizeof(addr));
	close(fd);
	if (asprintf(&out, "vni %u port %u mtu %u local %s %s addr %s", dev.vni,
		     dev.port, dev.mtu, local, up ? "up" : "down", addr) < 0)
		die("asprintf");
	return out;
}

static void dev_mac(struct skiff_dp *dp, const char *name, char *out)
{
	struct skiff_dp_dev dev = { 0 };
	struct skiff_error e;
	const uint8_t *m = dev.vtep_mac;

	skiff_dp_dev_list(dp, name, dev_found, &dev, &e);
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		 m[3], m[4], m[5]);
}

static void config_init(struct skiff_overlay_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->node_name = "n1";
	inet_pton(AF_INET, "192.168.77.1", &cfg->node_ip);
	inet_pton(AF_INET, "10.244.1.0", &cfg->pod_cidr);
	cfg->pod_len = 24;
	cfg->vni = 1;
	cfg->port = 8472;
	cfg->mtu = 1450;
}

#define N3_ANNOTATIONS "{'skiff.dev/vtep-mac':'" MAC3 "'," \
	"'skiff.dev/underlay-ip':'192.168.77.3'}"

#define PEER2 "10.244.2.0/24 192.168.77.2 " MAC2
#define PEER3 "10.244.3.0/24 192.168.77.3 " MAC3
#define PEER4 "10.244.4.0/24 192.168.77.4 " MAC4
#define PEER5 "10.244.5.0/24 192.168.77.5 " MAC5
#define PEER2B "10.244.20.0/24 192.168.77.2 " MAC2
#define PEER3B "10.244.3.0/24 192.168.77.33 " MAC3

int main(void)
{
	struct skiff_overlay_config cfg;
	struct skiff_overlay *ov, *bad;
	struct skiff_informer *nodes;
	struct annotated own;
	struct skiff_loop *loop;
	struct skiff_client *c;
	struct skiff_dp_peer stale = { .prefix_len = 24, .has_remote_mac = true,
				       .remote_mac = { 2, 0, 0, 0, 0, 0x99 } };
	struct skiff_error e;
	struct skiff_dp *dp;
	char mac[18], mac_again[18], *text, *want;
	struct api api;

	tap_plan(32);
	netns_private();
	api_start(&api, NULL);
	loop = skiff_loop_new();
	c = skiff_client_new(loop, api.url);
	if (!loop || !c)
		die("loop");
	if (skiff_dp_open(&dp, SKIFF_DP_NFT, &e)) {
		printf("Bail out! nft data plane: %s\n", e.msg);
		return 1;
	}

	tap_is_int(node_create(c, "n1", "{}", "10.244.1.0/24", "192.168.77.1"), 201,
		   "Node n1 (this one) created");
	node_create(c, "n2", "{'skiff.dev/vtep-mac':'" MAC2 "'}", "10.244.2.0/24",
		    "192.168.77.2");
	/* The annotation says where to send, not the InternalIP. */
	node_create(c, "n3", N3_ANNOTATIONS, "10.244.3.0/24", "10.0.0.3");
	node_create(c, "n4", "{'skiff.dev/vtep-mac':'" MAC4 "'}", "", "192.168.77.4");
	node_create(c, "n5", "{}", "10.244.5.0/24", "192.168.77.5");
	node_create(c, "n6", "{'skiff.dev/vtep-mac':'" MAC6 "'}", "10.244.6.0/33",
		    "192.168.77.6");

	nodes = skiff_informer_new(c, &skiff_nodes, NULL);
	if (!nodes)
		die("informer");
	skiff_informer_start(nodes);
	config_init(&cfg);
	if (!tap_is_int(skiff_overlay_start(&ov, c, dp, nodes, &cfg, &e), 0,
			"overlay started")) {
		printf("Bail out! %s\n", e.msg);
		return 1;
	}
	tap_is_str(skiff_overlay_dev(ov), "skiff.1", "device named skiff.VNI");
	text = dev_text(dp, "skiff.1");
	tap_is_str(text, "vni 1 port 8472 mtu 1450 local 192.168.77.1 up addr 10.244.1.0",
		   "device: flannel's settings, up, the subnet's network address on it");
	free(text);
	dev_mac(dp, "skiff.1", mac);

	/* Not n1 (this node), n4 (no podCIDR), n5 (no MAC), n6 (bad podCIDR). */
	wait_peers(loop, dp, "skiff.1", "peers: nodes with a podCIDR, an underlay and a MAC",
		   PEER2, PEER3, NULL);
	check_routes("skiff.1", "10.244.2.0/24\n10.244.3.0/24",
		     "each peer subnet routed into the device");
	own.nodes = nodes;
	own.mac = mac;
	tap_ok(loop_until(loop, own_annotated, &own, WAIT_MS),
	       "this Node's annotation seen by the informer");
	text = annotation(c, "n1", SKIFF_ANNOTATION_VTEP_MAC);
	tap_is_str(text, mac, "Node n1 annotated with the device's MAC");
	free(text);
	text = annotation(c, "n1", SKIFF_ANNOTATION_UNDERLAY_IP);
	tap_is_str(text, "192.168.77.1", "Node n1 annotated with its underlay address");
	free(text);

	tap_is_int(api_call(c, "PATCH", NODES "/n4", MERGE,
			    "{'spec':{'podCIDR':'10.244.4.0/24'}}"), 200,
		   "n4 given a podCIDR");
	api_call(c, "PATCH", NODES "/n5", MERGE,
		 "{'metadata':{'annotations':{'skiff.dev/vtep-mac':'" MAC5 "'}}}");
	wait_peers(loop, dp, "skiff.1", "nodes become peers once they have a podCIDR and MAC",
		   PEER2, PEER3, PEER4, PEER5, NULL);

	api_call(c, "PATCH", NODES "/n2", MERGE,
		 "{'spec':{'podCIDR':'10.244.20.0/24'}}");
	api_call(c, "PATCH", NODES "/n3", MERGE,
		 "{'metadata':{'annotations':{'skiff.dev/underlay-ip':'192.168.77.33'}}}");
	wait_peers(loop, dp, "skiff.1", "a changed podCIDR and a changed underlay replace the peer",
		   PEER2B, PEER3B, PEER4, PEER5, NULL);
	check_routes("skiff.1", "10.244.20.0/24\n10.244.3.0/24\n10.244.4.0/24\n10.244.5.0/24",
		     "the old subnet's route went with it");

	tap_is_int(api_call(c, "DELETE", NODES "/n3", NULL, NULL), 200, "Node n3 deleted");
	wait_peers(loop, dp, "skiff.1", "a deleted Node's peer removed",
		   PEER2B, PEER4, PEER5, NULL);
	check_routes("skiff.1", "10.244.20.0/24\n10.244.4.0/24\n10.244.5.0/24",
		     "and its route");

	/* Node n6's podCIDR fixed: */
	api_call(c, "PATCH", NODES "/n6", MERGE, "{'spec':{'podCIDR':'10.244.6.0/24'}}");
	wait_peers(loop, dp, "skiff.1", "a bad podCIDR fixed: a peer",
		   PEER2B, PEER4, PEER5, "10.244.6.0/24 192.168.77.6 " MAC6, NULL);

	/* Someone removes our annotations (a Node registered again). */
	tap_is_int(api_call(c, "PATCH", NODES "/n1", MERGE,
			    "{'metadata':{'annotations':{'skiff.dev/vtep-mac':null}}}"),
		   200, "someone removed this Node's MAC annotation");
	own.c = c;
	tap_ok(loop_until(loop, own_annotated_api, &own, WAIT_MS),
	       "the overlay annotated its Node again");

	/* Refused configurations touch nothing. */
	cfg.pod_len = 16;
	tap_is_int(skiff_overlay_start(&bad, c, dp, nodes, &cfg, &e), -EINVAL,
		   "a pod subnet with host bits refused: %s", e.msg);
	config_init(&cfg);
	cfg.node_ip.s_addr = 0;
	tap_is_int(skiff_overlay_start(&bad, c, dp, nodes, &cfg, &e), -EINVAL,
		   "no underlay address refused: %s", e.msg);
	config_init(&cfg);
	cfg.vni = 1 << 24;
	tap_is_int(skiff_overlay_start(&bad, c, dp, nodes, &cfg, &e), -EINVAL,
		   "a VNI beyond 24 bits refused: %s", e.msg);
	want = lines(PEER2B, PEER4, PEER5, "10.244.6.0/24 192.168.77.6 " MAC6, NULL);
	text = peers_text(dp, "skiff.1");
	tap_is_str(text, want, "peers untouched by what was refused");
	free(text);

	/* The agent restarts; meanwhile a peer of a lost node was left. */
	skiff_overlay_free(ov);
	inet_pton(AF_INET, "10.244.99.0", &stale.prefix4);
	inet_pton(AF_INET, "192.168.77.99", &stale.remote4);
	tap_is_int(skiff_dp_peer_add(dp, "skiff.1", &stale, false, &e), 0,
		   "a peer no Node explains added by hand");
	config_init(&cfg);
	if (!tap_is_int(skiff_overlay_start(&ov, c, dp, nodes, &cfg, &e), 0,
			"overlay started again")) {
		printf("Bail out! %s\n", e.msg);
		return 1;
	}
	dev_mac(dp, "skiff.1", mac_again);
	tap_is_str(mac_again, mac, "the device found again: same MAC");
	wait_peers(loop, dp, "skiff.1", "the restart's first sync removed the stray peer",
		   PEER2B, PEER4, PEER5, "10.244.6.0/24 192.168.77.6 " MAC6, NULL);
	check_routes("skiff.1", "10.244.20.0/24\n10.244.4.0/24\n10.244.5.0/24\n10.244.6.0/24",
		     "routes: one per Node's subnet");

	/* Started with another MTU: the device is made again, same MAC. */
	skiff_overlay_free(ov);
	cfg.mtu = 1400;
	tap_is_int(skiff_overlay_start(&ov, c, dp, nodes, &cfg, &e), 0,
		   "overlay started with another MTU");
	text = dev_text(dp, "skiff.1");
	tap_is_str(text, "vni 1 port 8472 mtu 1400 local 192.168.77.1 up addr 10.244.1.0",
		   "device made again with the new MTU, up, its address back");
	free(text);
	dev_mac(dp, "skiff.1", mac_again);
	tap_is_str(mac_again, mac, "the MAC the other nodes know is kept");
	wait_peers(loop, dp, "skiff.1", "every peer added to the new device",
		   PEER2B, PEER4, PEER5, "10.244.6.0/24 192.168.77.6 " MAC6, NULL);

	free(want);
	skiff_overlay_free(ov);
	skiff_informer_free(nodes);
	skiff_client_free(c);
	skiff_loop_free(loop);
	skiff_dp_close(dp);
	api_stop(&api);
	return tap_done();
}
