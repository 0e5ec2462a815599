// SPDX-License-Identifier: GPL-2.0
/*
 * The data plane's objects as JSON (dp_json.h): the shapes skiff-dp -j
 * prints and skiff-node's /dataplane answers, built here only.
 */

#include <arpa/inet.h>
#include <errno.h>

#include "dp_json.h"
#include "parse.h"

#define SERVICE_FORMAT "{s:s, s:i, s:s, s:I, s:b, s:I, s:I, s:o*}"
#define PEER_FORMAT "{s:s, s:i, s:s, s:s, s:I, s:I}"
#define DEV_FORMAT "{s:s, s:i, s:I, s:i, s:I, s:s, s:I}"

json_t *skiff_dp_json_dev(const struct skiff_dp_dev *dev)
{
	char mac[SKIFF_MAC_STRLEN];
	json_t *obj;

	obj = json_pack(DEV_FORMAT,
			"name", dev->name, "ifindex", dev->ifindex,
			"vni", (json_int_t)dev->vni, "port", dev->port,
			"mtu", (json_int_t)dev->mtu,
			"vtep_mac", skiff_format_mac(dev->vtep_mac, mac),
			"peers", (json_int_t)dev->peers);
	if (obj && dev->local4.s_addr)
		json_object_set_new(obj, "local",
				    json_string(inet_ntoa(dev->local4)));
	return obj;
}

json_t *skiff_dp_json_peer(const struct skiff_dp_peer *peer)
{
	char mac[SKIFF_MAC_STRLEN], prefix[INET_ADDRSTRLEN];
	char remote[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &peer->prefix4, prefix, sizeof(prefix));
	inet_ntop(AF_INET, &peer->remote4, remote, sizeof(remote));
	return json_pack(PEER_FORMAT,
			 "prefix", prefix, "prefix_len", peer->prefix_len,
			 "remote", remote,
			 "mac", skiff_format_mac(peer->remote_mac, mac),
			 "tx_packets", (json_int_t)peer->tx_packets,
			 "tx_bytes", (json_int_t)peer->tx_bytes);
}

static json_t *backend_json(const struct skiff_dp_endpoint *b)
{
	char addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &b->addr, addr, sizeof(addr));
	return json_pack("{s:s, s:i, s:i, s:I, s:I}", "addr", addr,
			 "port", b->port, "weight", b->weight,
			 "packets", (json_int_t)b->packets,
			 "bytes", (json_int_t)b->bytes);
}

json_t *skiff_dp_json_service(const struct skiff_dp_service *svc,
			      const struct skiff_dp_endpoint *backends,
			      unsigned int count)
{
	char vip[INET_ADDRSTRLEN];
	json_t *list;
	unsigned int i;

	list = json_array();
	for (i = 0; list && i < count; i++) {
		if (json_array_append_new(list, backend_json(&backends[i]))) {
			json_decref(list);
			return NULL;
		}
	}
	inet_ntop(AF_INET, &svc->vip, vip, sizeof(vip));
	/* Without the list (out of memory) the object is not made either. */
	return json_pack(SERVICE_FORMAT, "vip", vip,
			 "port", svc->port, "proto",
			 skiff_dp_proto_name(svc->proto),
			 "affinity_timeout", (json_int_t)svc->affinity_timeout,
			 "local", svc->local,
			 "packets", (json_int_t)svc->packets,
			 "bytes", (json_int_t)svc->bytes, "backends", list);
}

/* json_array_append_new() takes @obj even when it fails (or is NULL). */
static int append(json_t *list, json_t *obj)
{
	return json_array_append_new(list, obj) ? -ENOMEM : 0;
}

static int dev_one(const struct skiff_dp_dev *dev, void *arg)
{
	return append(arg, skiff_dp_json_dev(dev));
}

static int peer_one(const struct skiff_dp_peer *peer, void *arg)
{
	return append(arg, skiff_dp_json_peer(peer));
}

static int service_one(const struct skiff_dp_service *svc,
		       const struct skiff_dp_endpoint *backends,
		       unsigned int count, void *arg)
{
	return append(arg, skiff_dp_json_service(svc, backends, count));
}

/* A callback's -ENOMEM stops the listing; say so if the backend did not. */
static int listed(int err, struct skiff_error *e)
{
	if (err == -ENOMEM && !e->err)
		return skiff_error_set(e, err, "out of memory");
	return err;
}

int skiff_dp_json_devs(struct skiff_dp *dp, const char *name, json_t *list,
		       struct skiff_error *e)
{
	skiff_error_clear(e);
	return listed(skiff_dp_dev_list(dp, name, dev_one, list, e), e);
}

int skiff_dp_json_peers(struct skiff_dp *dp, const char *dev, json_t *list,
			struct skiff_error *e)
{
	skiff_error_clear(e);
	return listed(skiff_dp_peer_list(dp, dev, peer_one, list, e), e);
}

int skiff_dp_json_services(struct skiff_dp *dp, json_t *list,
			   struct skiff_error *e)
{
	skiff_error_clear(e);
	return listed(skiff_dp_service_list(dp, service_one, list, e), e);
}
