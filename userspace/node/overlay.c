// SPDX-License-Identifier: GPL-2.0
/*
 * The overlay, flannel's vxlan backend on skiff's data plane: this node's
 * device, its address and its Node annotations, then one peer per other
 * Node with a pod subnet.
 *
 * The peers the data plane holds are remembered per Node (node name ->
 * {cidr, remote, mac} in canonical text), so that a Node update that does
 * not change them (a status heartbeat) costs a comparison, not a netlink
 * round trip. Changed Nodes are collected and applied after the round of
 * events (a 0 ms timer). After every list of the Node informer (the first,
 * and each after a 410 Gone) the device's peers are read back and made
 * exactly what the cache says: peers no Node explains go, whatever the
 * events said. A data plane error does the same a little later.
 *
 * Both backends route a peer's subnet into the device when the peer is
 * added (nft: "via x.y.z.0 onlink", kmod: a link-scope route); the kmod
 * keeps its peers in its own table, so the full sync also puts back a
 * route someone removed, which the nft backend reads as a missing peer.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include "overlay.h"
#include "route.h"

#define RETRY_MS_MIN 500
#define RETRY_MS_MAX 30000
#define MAC_TEXT 18

#define ANNOTATIONS_PATCH "{s:{s:{s:s, s:s}}}"

/* What a PATCH in flight points to; outlives the overlay if need be. */
struct patch_req {
	struct skiff_overlay *ov;
};

struct skiff_overlay {
	struct skiff_client *c;
	struct skiff_loop *loop;
	struct skiff_dp *dp;
	struct skiff_informer *nodes;
	struct skiff_overlay_config cfg;
	char *node_name;
	struct skiff_dp_dev dev;
	char mac[MAC_TEXT];
	char ip[INET_ADDRSTRLEN];
	struct nl_sock *rtnl;

	json_t *peers;		/* node name -> {cidr, remote, mac?} programmed */
	json_t *dirty;		/* node names changed since the last flush */
	json_t *skipped;	/* node name -> why it is no peer (logged once) */
	bool full;		/* the next flush reads the device back */
	struct skiff_timer *flush_timer;
	int64_t retry_ms;

	struct patch_req *patch;	/* the annotation PATCH in flight */
	struct skiff_timer *patch_timer;
	int64_t patch_retry_ms;
};

static void log_err(const struct skiff_overlay *ov, const char *what,
		    const struct skiff_error *e)
{
	fprintf(stderr, "overlay %s: %s: %s%s%s\n", ov->dev.name, what,
		strerror(-e->err), e->msg[0] ? ": " : "", e->msg);
}

static void mac_text(const uint8_t *m, char *out)
{
	snprintf(out, MAC_TEXT, "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
}

static bool mac_parse(const char *text, uint8_t *m)
{
	unsigned int b[6];
	int n = 0, i;

	if (!text || sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1],
			    &b[2], &b[3], &b[4], &b[5], &n) != 6 || text[n] ||
	    n != MAC_TEXT - 1)
		return false;
	for (i = 0; i < 6; i++)
		m[i] = b[i];
	/* Unicast and not all zeroes, as the data plane wants it. */
	return !(m[0] & 1) && (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]);
}

/* "a.b.c.d/n" with no host bits: 0, else -EINVAL. */
static int cidr_parse(const char *text, struct in_addr *net, uint8_t *len)
{
	char addr[INET_ADDRSTRLEN];
	unsigned int n;
	uint32_t mask;
	int end = 0;

	if (!text || sscanf(text, "%15[0-9.]/%2u%n", addr, &n, &end) != 2 ||
	    text[end] || n < 1 || n > 32 || inet_pton(AF_INET, addr, net) != 1)
		return -EINVAL;
	mask = htonl(~0u << (32 - n));
	if (net->s_addr & ~mask)
		return -EINVAL;
	*len = n;
	return 0;
}

static const char *node_pod_cidr(const json_t *node)
{
	const char *cidr = skiff_str(node, "spec.podCIDR");
	const json_t *list;

	if (cidr && *cidr)
		return cidr;
	list = json_object_get(json_object_get(node, "spec"), "podCIDRs");
	return json_string_value(json_array_get(list, 0));
}

static const char *node_annotation(const json_t *node, const char *name)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(node,
										"metadata"),
								 "annotations"),
						 name));
}

/* The annotation, else the first IPv4 InternalIP of the status. */
static const char *node_underlay(const json_t *node)
{
	const json_t *addrs, *a;
	const char *ip;
	struct in_addr in;
	size_t i;

	ip = node_annotation(node, SKIFF_ANNOTATION_UNDERLAY_IP);
	if (ip && *ip)
		return ip;
	addrs = json_object_get(json_object_get(node, "status"), "addresses");
	json_array_foreach(addrs, i, a) {
		ip = skiff_str(a, "address");
		if (!strcmp(skiff_str(a, "type") ?: "", "InternalIP") && ip &&
		    inet_pton(AF_INET, ip, &in) == 1)
			return ip;
	}
	return NULL;
}

static bool unicast(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);

	return h && (h >> 24) != 127 && (h >> 28) != 0xe && (h >> 28) != 0xf;
}

/*
 * The peer @node stands for, in canonical text, or NULL and *@why says
 * why it is none (NULL: our own Node, nothing to say).
 */
static json_t *node_peer(const struct skiff_overlay *ov, const json_t *node,
			 const char **why)
{
	const char *cidr = node_pod_cidr(node), *remote = node_underlay(node);
	const char *mac = node_annotation(node, SKIFF_ANNOTATION_VTEP_MAC);
	char net_text[INET_ADDRSTRLEN], cidr_text[INET_ADDRSTRLEN + 4];
	char remote_text[INET_ADDRSTRLEN], mac_out[MAC_TEXT];
	struct in_addr net, ip;
	uint8_t len, m[6];
	bool has_mac;
	json_t *peer;

	*why = NULL;
	if (!strcmp(skiff_meta(node, "name") ?: "", ov->node_name))
		return NULL;
	if (!cidr || !*cidr) {
		*why = "no podCIDR yet";
		return NULL;
	}
	if (cidr_parse(cidr, &net, &len)) {
		*why = "its podCIDR is not an IPv4 CIDR";
		return NULL;
	}
	if (net.s_addr == ov->cfg.pod_cidr.s_addr && len == ov->cfg.pod_len) {
		*why = "it has this node's podCIDR";
		return NULL;
	}
	if (!remote) {
		*why = "no underlay address (annotation or InternalIP) yet";
		return NULL;
	}
	if (inet_pton(AF_INET, remote, &ip) != 1 || !unicast(ip)) {
		*why = "its underlay address is not a unicast IPv4 address";
		return NULL;
	}
	has_mac = mac_parse(mac, m);
	if (mac && *mac && !has_mac) {
		*why = "its " SKIFF_ANNOTATION_VTEP_MAC " is not a unicast MAC";
		return NULL;
	}
	/* Linux vxlan must know the MAC; skiff.ko sends without one. */
	if (!has_mac && skiff_dp_backend(ov->dp) == SKIFF_DP_NFT) {
		*why = "no " SKIFF_ANNOTATION_VTEP_MAC " annotation yet";
		return NULL;
	}
	inet_ntop(AF_INET, &net, net_text, sizeof(net_text));
	snprintf(cidr_text, sizeof(cidr_text), "%s/%u", net_text, len);
	inet_ntop(AF_INET, &ip, remote_text, sizeof(remote_text));
	peer = json_pack("{s:s, s:s}", "cidr", cidr_text, "remote",
			 remote_text);
	if (peer && has_mac) {
		mac_text(m, mac_out);
		json_object_set_new(peer, "mac", json_string(mac_out));
	}
	return peer;
}

/* The data plane's form of a peer node_peer() made (known good). */
static void peer_of(const json_t *p, struct skiff_dp_peer *peer)
{
	memset(peer, 0, sizeof(*peer));
	cidr_parse(skiff_str(p, "cidr"), &peer->prefix4, &peer->prefix_len);
	inet_pton(AF_INET, skiff_str(p, "remote"), &peer->remote4);
	peer->has_remote_mac = mac_parse(skiff_str(p, "mac"),
					 peer->remote_mac);
}

/* The canonical text of a peer the data plane listed. */
static json_t *peer_json(const struct skiff_dp_peer *peer)
{
	char net[INET_ADDRSTRLEN], cidr[INET_ADDRSTRLEN + 4];
	char remote[INET_ADDRSTRLEN], mac[MAC_TEXT];
	json_t *p;

	inet_ntop(AF_INET, &peer->prefix4, net, sizeof(net));
	snprintf(cidr, sizeof(cidr), "%s/%u", net, peer->prefix_len);
	inet_ntop(AF_INET, &peer->remote4, remote, sizeof(remote));
	p = json_pack("{s:s, s:s}", "cidr", cidr, "remote", remote);
	if (p && peer->has_remote_mac) {
		mac_text(peer->remote_mac, mac);
		json_object_set_new(p, "mac", json_string(mac));
	}
	return p;
}

/* Logs why @name is no peer, once per reason. */
static void note_skipped(struct skiff_overlay *ov, const char *name,
			 const char *why)
{
	const char *was = json_string_value(json_object_get(ov->skipped, name));

	if (!why) {
		json_object_del(ov->skipped, name);
		return;
	}
	if (was && !strcmp(was, why))
		return;
	fprintf(stderr, "overlay: node %s is not a peer: %s\n", name, why);
	json_object_set_new(ov->skipped, name, json_string(why));
}

/* Another node than @name holds @cidr among the programmed peers. */
static const char *cidr_holder(const struct skiff_overlay *ov,
			       const char *cidr, const char *name)
{
	const char *key;
	json_t *p;

	json_object_foreach(ov->peers, key, p)
		if (strcmp(key, name) && !strcmp(skiff_str(p, "cidr"), cidr))
			return key;
	return NULL;
}

static int peer_add(struct skiff_overlay *ov, const json_t *p,
		    struct skiff_error *e)
{
	struct skiff_dp_peer peer;

	peer_of(p, &peer);
	return skiff_dp_peer_add(ov->dp, ov->dev.name, &peer, true, e);
}

static int peer_del(struct skiff_overlay *ov, const json_t *p,
		    struct skiff_error *e)
{
	struct skiff_dp_peer peer;
	int err;

	peer_of(p, &peer);
	err = skiff_dp_peer_del(ov->dp, ov->dev.name, &peer, e);
	return err == -ENOENT ? 0 : err;
}

/* Brings the peer of one changed (or deleted) node up to date. */
static int apply_node(struct skiff_overlay *ov, const char *name,
		      struct skiff_error *e)
{
	const json_t *node = skiff_informer_get(ov->nodes, NULL, name);
	json_t *want = NULL, *have = json_object_get(ov->peers, name);
	const char *why = NULL, *holder;
	int err = 0;

	if (node)
		want = node_peer(ov, node, &why);
	note_skipped(ov, name, node ? why : NULL);
	if (json_equal(want, have) || (!want && !have))
		goto out;
	holder = want ? cidr_holder(ov, skiff_str(want, "cidr"), name) : NULL;
	if (holder) {
		fprintf(stderr, "overlay: node %s: podCIDR %s is node %s's\n",
			name, skiff_str(want, "cidr"), holder);
		json_decref(want);
		want = NULL;
		/* The holder may be moving too: the full sync will tell. */
		ov->full = true;
		if (!have)
			goto out;
	}
	if (have && (!want || strcmp(skiff_str(want, "cidr"),
				     skiff_str(have, "cidr")))) {
		err = peer_del(ov, have, e);
		if (err)
			goto out;
		json_object_del(ov->peers, name);
	}
	if (want) {
		err = peer_add(ov, want, e);
		if (err)
			goto out;
		fprintf(stderr, "overlay: peer %s: %s via %s\n", name,
			skiff_str(want, "cidr"), skiff_str(want, "remote"));
		json_object_set(ov->peers, name, want);
	}
out:
	json_decref(want);
	return err;
}

static int listed_peer(const struct skiff_dp_peer *peer, void *arg)
{
	json_t *p = peer_json(peer);

	if (!p)
		return -ENOMEM;
	json_object_set_new(arg, skiff_str(p, "cidr"), p);
	return 0;
}

/* kmod keeps peers apart from routes: puts the route back if it went. */
static int route_ensure(struct skiff_overlay *ov, const json_t *p,
			struct skiff_error *e)
{
	struct skiff_dp_peer peer;
	struct skiff_route r = { .ifindex = ov->dev.ifindex };

	if (skiff_dp_backend(ov->dp) != SKIFF_DP_KMOD)
		return 0;
	peer_of(p, &peer);
	r.dst = peer.prefix4;
	r.dst_len = peer.prefix_len;
	return skiff_route_add(ov->rtnl, &r, true, e);
}

/* The peers of every Node the cache has, by node and by subnet. */
static void desired_peers(struct skiff_overlay *ov, json_t *by_node,
			  json_t *by_cidr)
{
	const char *key, *why, *cidr;
	const json_t *node;
	json_t *p;

	json_object_foreach((json_t *)skiff_informer_all(ov->nodes), key, node) {
		p = node_peer(ov, node, &why);
		note_skipped(ov, key, why);
		if (!p)
			continue;
		cidr = skiff_str(p, "cidr");
		if (json_object_get(by_cidr, cidr)) {
			fprintf(stderr, "overlay: node %s: podCIDR %s is another node's\n",
				key, cidr);
			json_decref(p);
			continue;
		}
		json_object_set(by_cidr, cidr, p);
		json_object_set_new(by_node, key, p);
	}
}

/* Makes the device's peers exactly those of the cache. */
static int full_sync(struct skiff_overlay *ov, struct skiff_error *e)
{
	json_t *by_node = json_object(), *by_cidr = json_object();
	json_t *listed = json_object(), *p, *cur;
	const char *cidr, *key;
	void *tmp;
	int err;

	if (!by_node || !by_cidr || !listed) {
		err = skiff_error_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	json_object_foreach_safe(ov->skipped, tmp, key, p)
		if (!skiff_informer_get(ov->nodes, NULL, key))
			json_object_del(ov->skipped, key);
	desired_peers(ov, by_node, by_cidr);
	err = skiff_dp_peer_list(ov->dp, ov->dev.name, listed_peer, listed, e);
	if (err)
		goto out;
	json_object_foreach(listed, cidr, cur) {
		if (json_object_get(by_cidr, cidr))
			continue;
		err = peer_del(ov, cur, e);
		if (err)
			goto out;
		fprintf(stderr, "overlay: removed peer %s (no node has it)\n",
			cidr);
	}
	json_object_foreach(by_node, key, p) {
		cur = json_object_get(listed, skiff_str(p, "cidr"));
		if (json_equal(cur, p))
			err = route_ensure(ov, p, e);
		else
			err = peer_add(ov, p, e);
		if (err)
			goto out;
		if (!json_equal(cur, p))
			fprintf(stderr, "overlay: peer %s: %s via %s\n", key,
				skiff_str(p, "cidr"), skiff_str(p, "remote"));
	}
	json_decref(ov->peers);
	ov->peers = json_incref(by_node);
out:
	json_decref(by_node);
	json_decref(by_cidr);
	json_decref(listed);
	return err;
}

static void flush(void *arg);

static void flush_soon(struct skiff_overlay *ov, int64_t ms)
{
	if (ov->flush_timer)
		return;
	ov->flush_timer = skiff_loop_after(ov->loop, ms, flush, ov);
}

static void flush(void *arg)
{
	struct skiff_overlay *ov = arg;
	struct skiff_error e = { 0 };
	const char *name;
	json_t *v;
	void *tmp;
	int err = 0;

	ov->flush_timer = NULL;
	if (!skiff_informer_synced(ov->nodes))
		return;
	if (ov->full) {
		err = full_sync(ov, &e);
		if (!err) {
			ov->full = false;
			json_object_clear(ov->dirty);
		}
	}
	json_object_foreach_safe(ov->dirty, tmp, name, v) {
		if (err)
			break;
		err = apply_node(ov, name, &e);
		json_object_del(ov->dirty, name);
	}
	if (!err && ov->full) {
		flush_soon(ov, 0);
		return;
	}
	if (!err) {
		ov->retry_ms = RETRY_MS_MIN;
		return;
	}
	log_err(ov, "peers", &e);
	/* What failed is unknown now: read the device back, later. */
	ov->full = true;
	flush_soon(ov, ov->retry_ms);
	ov->retry_ms = ov->retry_ms * 2 > RETRY_MS_MAX ? RETRY_MS_MAX :
			ov->retry_ms * 2;
}

/* ---- this node's annotations ------------------------------------------- */

static void patch_send(struct skiff_overlay *ov);

static void patch_again(void *arg)
{
	struct skiff_overlay *ov = arg;

	ov->patch_timer = NULL;
	patch_send(ov);
}

static void patched(long code, json_t *answer, void *arg)
{
	struct patch_req *req = arg;
	struct skiff_overlay *ov = req->ov;

	free(req);
	if (!ov)
		return;
	ov->patch = NULL;
	if (code == 200) {
		ov->patch_retry_ms = RETRY_MS_MIN;
		skiff_informer_wrote(ov->nodes, answer, false);
		return;
	}
	fprintf(stderr, "overlay: annotating node %s: HTTP %ld%s%s\n",
		ov->node_name, code, answer ? ": " : "",
		answer ? skiff_str(answer, "message") ?: "" : "");
	ov->patch_timer = skiff_loop_after(ov->loop, ov->patch_retry_ms,
					   patch_again, ov);
	ov->patch_retry_ms = ov->patch_retry_ms * 2 > RETRY_MS_MAX ?
			     RETRY_MS_MAX : ov->patch_retry_ms * 2;
}

/* Tells the other nodes our MAC and underlay address (merge PATCH). */
static void patch_send(struct skiff_overlay *ov)
{
	struct patch_req *req;
	json_t *body;
	char *path;

	if (ov->patch)
		return;
	skiff_timer_cancel(ov->patch_timer);
	ov->patch_timer = NULL;
	req = calloc(1, sizeof(*req));
	body = json_pack(ANNOTATIONS_PATCH, "metadata", "annotations",
			 SKIFF_ANNOTATION_VTEP_MAC, ov->mac,
			 SKIFF_ANNOTATION_UNDERLAY_IP, ov->ip);
	path = skiff_path(&skiff_nodes, NULL, ov->node_name, NULL);
	if (!req || !body || !path) {
		free(req);
		free(path);
		json_decref(body);
		ov->patch_timer = skiff_loop_after(ov->loop, RETRY_MS_MAX,
						   patch_again, ov);
		return;
	}
	req->ov = ov;
	ov->patch = req;
	if (skiff_client_send(ov->c, "PATCH", path,
			      "application/merge-patch+json", body, patched,
			      req)) {
		ov->patch = NULL;
		free(req);
		ov->patch_timer = skiff_loop_after(ov->loop, ov->patch_retry_ms,
						   patch_again, ov);
	}
	json_decref(body);
}

/* Our Node lost (or never had) the annotations: a re-registered Node. */
static void check_own(struct skiff_overlay *ov, const json_t *node)
{
	if (strcmp(node_annotation(node, SKIFF_ANNOTATION_VTEP_MAC) ?: "",
		   ov->mac) ||
	    strcmp(node_annotation(node, SKIFF_ANNOTATION_UNDERLAY_IP) ?: "",
		   ov->ip))
		patch_send(ov);
}

static void node_changed(enum skiff_change change, const json_t *old,
			 const json_t *obj, void *arg)
{
	struct skiff_overlay *ov = arg;
	const char *name = skiff_meta(obj, "name");

	(void)old;
	if (!name)
		return;
	if (!strcmp(name, ov->node_name)) {
		if (change != SKIFF_DELETED)
			check_own(ov, obj);
		return;
	}
	json_object_set_new(ov->dirty, name, json_true());
	flush_soon(ov, 0);
}

static void nodes_listed(void *arg)
{
	struct skiff_overlay *ov = arg;

	ov->full = true;
	flush_soon(ov, 0);
}

/* ---- the device -------------------------------------------------------- */

static int dev_found(const struct skiff_dp_dev *dev, void *arg)
{
	memcpy(arg, dev, sizeof(*dev));
	return 0;
}

/*
 * Finds the device an earlier run made, or makes it. One made with other
 * settings is made again, with the MAC the cluster already knows.
 */
static int dev_ensure(struct skiff_overlay *ov, struct skiff_error *e)
{
	struct skiff_dp_dev cur, *want = &ov->dev;
	int err;

	err = skiff_dp_dev_list(ov->dp, want->name, dev_found, &cur, e);
	if (!err && (cur.vni != want->vni || cur.port != want->port ||
		     cur.mtu != want->mtu ||
		     cur.local4.s_addr != want->local4.s_addr)) {
		fprintf(stderr, "overlay: %s has other settings: making it again\n",
			want->name);
		err = skiff_dp_dev_del(ov->dp, want->name, e);
		if (err)
			return err;
		if (cur.has_vtep_mac) {
			memcpy(want->vtep_mac, cur.vtep_mac, sizeof(cur.vtep_mac));
			want->has_vtep_mac = true;
		}
		err = -ENODEV;
	}
	if (err == -ENODEV || err == -ENOENT) {
		err = skiff_dp_dev_add(ov->dp, want, e);
		/* What the backend chose (MAC, ifindex), as it reports it. */
		if (!err)
			err = skiff_dp_dev_list(ov->dp, want->name, dev_found,
						&cur, e);
	}
	if (err)
		return err;
	*want = cur;
	return 0;
}

static int nl_fail(struct skiff_error *e, int nlerr, const char *what)
{
	return skiff_error_set(e, nlerr == -NLE_EXIST ? -EEXIST : -EIO,
			       "%s: %s", what, nl_geterror(nlerr));
}

/* The subnet's network address as the device's only IPv4 address (/32). */
static int addr_ensure(struct skiff_overlay *ov, struct skiff_error *e)
{
	struct nl_addr *local = nl_addr_build(AF_INET, &ov->cfg.pod_cidr,
					      sizeof(ov->cfg.pod_cidr));
	struct rtnl_addr *addr = NULL;
	struct nl_cache *cache = NULL;
	struct nl_object *obj;
	bool found = false;
	int err;

	if (!local)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	nl_addr_set_prefixlen(local, 32);
	err = rtnl_addr_alloc_cache(ov->rtnl, &cache);
	if (err < 0) {
		err = nl_fail(e, err, "cannot list addresses");
		goto out;
	}
	for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_addr *a = (struct rtnl_addr *)obj;

		if (rtnl_addr_get_ifindex(a) != ov->dev.ifindex ||
		    rtnl_addr_get_family(a) != AF_INET)
			continue;
		if (!nl_addr_cmp(rtnl_addr_get_local(a), local)) {
			found = true;
			continue;
		}
		/* A subnet this node had before: it is not ours now. */
		err = rtnl_addr_delete(ov->rtnl, a, 0);
		if (err < 0) {
			err = nl_fail(e, err, "cannot remove an old address");
			goto out;
		}
	}
	err = 0;
	if (found)
		goto out;
	addr = rtnl_addr_alloc();
	if (!addr) {
		err = skiff_error_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	rtnl_addr_set_ifindex(addr, ov->dev.ifindex);
	rtnl_addr_set_family(addr, AF_INET);
	err = rtnl_addr_set_local(addr, local);
	if (!err)
		err = rtnl_addr_add(ov->rtnl, addr, 0);
	if (err < 0 && err != -NLE_EXIST)
		err = nl_fail(e, err, "cannot add the device's address");
	else
		err = 0;
out:
	rtnl_addr_put(addr);
	nl_cache_free(cache);
	nl_addr_put(local);
	return err;
}

static int link_up(struct skiff_overlay *ov, struct skiff_error *e)
{
	struct rtnl_link *link = NULL, *change;
	int err;

	err = rtnl_link_get_kernel(ov->rtnl, ov->dev.ifindex, NULL, &link);
	if (err < 0)
		return nl_fail(e, err, "cannot read the device");
	if (rtnl_link_get_flags(link) & IFF_UP) {
		rtnl_link_put(link);
		return 0;
	}
	change = rtnl_link_alloc();
	if (!change) {
		rtnl_link_put(link);
		return skiff_error_set(e, -ENOMEM, "out of memory");
	}
	rtnl_link_set_flags(change, IFF_UP);
	err = rtnl_link_change(ov->rtnl, link, change, 0);
	rtnl_link_put(change);
	rtnl_link_put(link);
	return err < 0 ? nl_fail(e, err, "cannot bring the device up") : 0;
}

static int rtnl_open(struct skiff_overlay *ov, struct skiff_error *e)
{
	int err;

	ov->rtnl = nl_socket_alloc();
	if (!ov->rtnl)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	err = nl_connect(ov->rtnl, NETLINK_ROUTE);
	if (err < 0)
		return nl_fail(e, err, "rtnetlink");
	return 0;
}

static int config_check(const struct skiff_overlay_config *cfg,
			struct skiff_error *e)
{
	uint32_t mask;

	if (!cfg->node_name || !*cfg->node_name)
		return skiff_error_set(e, -EINVAL, "no node name");
	if (!unicast(cfg->node_ip))
		return skiff_error_set(e, -EINVAL,
				       "the node address must be unicast IPv4");
	if (cfg->pod_len < 1 || cfg->pod_len > 32)
		return skiff_error_set(e, -EINVAL,
				       "the pod subnet's length must be 1..32");
	mask = htonl(~0u << (32 - cfg->pod_len));
	if (cfg->pod_cidr.s_addr & ~mask || !cfg->pod_cidr.s_addr)
		return skiff_error_set(e, -EINVAL,
				       "the pod subnet is not a network address");
	if (!cfg->vni || cfg->vni > 0xffffff)
		return skiff_error_set(e, -EINVAL, "VNI must be 1..16777215");
	return 0;
}

int skiff_overlay_start(struct skiff_overlay **ovp, struct skiff_client *c,
			struct skiff_dp *dp, struct skiff_informer *nodes,
			const struct skiff_overlay_config *cfg,
			struct skiff_error *e)
{
	struct skiff_overlay *ov;
	char name[IF_NAMESIZE];
	int err;

	skiff_error_clear(e);
	err = config_check(cfg, e);
	if (err)
		return err;
	ov = calloc(1, sizeof(*ov));
	if (!ov)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	ov->c = c;
	ov->loop = skiff_client_loop(c);
	ov->dp = dp;
	ov->nodes = nodes;
	ov->cfg = *cfg;
	ov->node_name = strdup(cfg->node_name);
	ov->cfg.node_name = ov->node_name;
	ov->peers = json_object();
	ov->dirty = json_object();
	ov->skipped = json_object();
	ov->retry_ms = RETRY_MS_MIN;
	ov->patch_retry_ms = RETRY_MS_MIN;
	ov->full = true;
	if (!ov->node_name || !ov->peers || !ov->dirty || !ov->skipped) {
		err = skiff_error_set(e, -ENOMEM, "out of memory");
		goto err_free;
	}
	snprintf(name, sizeof(name), "skiff.%u", cfg->vni);
	skiff_dp_dev_init(&ov->dev, name);
	ov->dev.vni = cfg->vni;
	if (cfg->port)
		ov->dev.port = cfg->port;
	if (cfg->mtu)
		ov->dev.mtu = cfg->mtu;
	ov->dev.local4 = cfg->node_ip;
	inet_ntop(AF_INET, &cfg->node_ip, ov->ip, sizeof(ov->ip));

	err = rtnl_open(ov, e);
	if (!err)
		err = dev_ensure(ov, e);
	if (!err)
		err = addr_ensure(ov, e);
	if (!err)
		err = link_up(ov, e);
	if (err)
		goto err_free;
	if (!ov->dev.has_vtep_mac) {
		err = skiff_error_set(e, -EIO, "%s has no MAC", ov->dev.name);
		goto err_free;
	}
	mac_text(ov->dev.vtep_mac, ov->mac);

	err = skiff_informer_on_change(nodes, node_changed, ov);
	if (!err)
		err = skiff_informer_on_sync(nodes, nodes_listed, ov);
	if (err) {
		skiff_informer_forget(nodes, ov);
		err = skiff_error_set(e, err, "out of memory");
		goto err_free;
	}
	fprintf(stderr, "overlay: %s vni %u port %u mtu %u vtep-mac %s local %s\n",
		ov->dev.name, ov->dev.vni, ov->dev.port, ov->dev.mtu, ov->mac,
		ov->ip);
	patch_send(ov);
	/* Informer synced before us: its first list is not coming again. */
	if (skiff_informer_synced(nodes))
		flush_soon(ov, 0);
	*ovp = ov;
	return 0;

err_free:
	nl_socket_free(ov->rtnl);
	json_decref(ov->peers);
	json_decref(ov->dirty);
	json_decref(ov->skipped);
	free(ov->node_name);
	free(ov);
	return err;
}

void skiff_overlay_free(struct skiff_overlay *ov)
{
	if (!ov)
		return;
	skiff_informer_forget(ov->nodes, ov);
	skiff_timer_cancel(ov->flush_timer);
	skiff_timer_cancel(ov->patch_timer);
	if (ov->patch)
		ov->patch->ov = NULL;
	nl_socket_free(ov->rtnl);
	json_decref(ov->peers);
	json_decref(ov->dirty);
	json_decref(ov->skipped);
	free(ov->node_name);
	free(ov);
}

const char *skiff_overlay_dev(const struct skiff_overlay *ov)
{
	return ov->dev.name;
}
