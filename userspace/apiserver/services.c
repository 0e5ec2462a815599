// SPDX-License-Identifier: GPL-2.0
/*
 * ClusterIPs and node ports of Services. Each address in use is a key in
 * the store whose value names its Service (namespace, name, uid); taking
 * one is creating its key, so -EEXIST means someone holds it, whichever
 * apiserver did. Kubernetes keeps bitmaps in etcd with the same effect.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <microhttpd.h>

#include "api.h"
#include "services.h"

#define ALLOC_PREFIX "/registry/allocations/"
#define MAX_TAKEN 64

int service_ranges_parse(struct service_ranges *r, const char *cidr,
			 const char *ports, char *err, size_t len)
{
	char addr[INET_ADDRSTRLEN];
	struct in_addr in;
	unsigned int prefix, lo, hi;
	int n = 0;

	if (sscanf(cidr, "%15[0-9.]/%u%n", addr, &prefix, &n) != 2 ||
	    cidr[n] || inet_pton(AF_INET, addr, &in) != 1 || prefix < 8 ||
	    prefix > 30) {
		snprintf(err, len,
			 "service range '%s' is not an IPv4 CIDR from /8 to /30",
			 cidr);
		return -EINVAL;
	}
	r->prefix = prefix;
	r->net = ntohl(in.s_addr) & ~((1u << (32 - prefix)) - 1);
	n = 0;
	if (sscanf(ports, "%u-%u%n", &lo, &hi, &n) != 2 || ports[n] ||
	    !lo || lo > hi || hi > 65535) {
		snprintf(err, len, "node port range '%s' is not FIRST-LAST",
			 ports);
		return -EINVAL;
	}
	r->port_min = lo;
	r->port_max = hi;
	return 0;
}

/* What a Service holds: its ClusterIP and node ports. */
struct taken {
	char what[16];	/* "clusterips" or "nodeports" */
	char id[INET_ADDRSTRLEN];
};

static char *alloc_key(const struct taken *t)
{
	char *key;

	if (asprintf(&key, ALLOC_PREFIX "%s/%s", t->what, t->id) < 0)
		return NULL;
	return key;
}

static const char *meta_of(const json_t *obj, const char *field)
{
	return json_string_value(json_object_get(json_object_get(obj,
								 "metadata"),
						 field)) ?: "";
}

/* Creates the key of @t for @svc: 0, -EEXIST or another store error. */
static int take(struct apiserver *server, const struct taken *t,
		const json_t *svc)
{
	char *key = alloc_key(t), *value = NULL;
	json_t *owner;
	int64_t rev;
	int err;

	owner = json_pack("{s:s, s:s, s:s}",
			  "namespace", meta_of(svc, "namespace"),
			  "name", meta_of(svc, "name"),
			  "uid", meta_of(svc, "uid"));
	if (owner)
		value = json_dumps(owner, JSON_COMPACT);
	json_decref(owner);
	err = key && value ? skiff_store_create(server->store, key, value,
						strlen(value), &rev) : -ENOMEM;
	free(key);
	free(value);
	return err;
}

/* Deletes the key of @t if it is @uid's. */
static void give_back(struct apiserver *server, const struct taken *t,
		      const char *uid)
{
	char *key = alloc_key(t);
	struct skiff_kv kv;
	json_t *owner;
	int64_t rev;

	if (!key || skiff_store_get(server->store, key, &kv)) {
		free(key);
		return;
	}
	owner = json_loadb(kv.value, kv.value_len, 0, NULL);
	if (!strcmp(json_string_value(json_object_get(owner, "uid")) ?: "",
		    uid))
		skiff_store_delete(server->store, key, kv.mod_rev, NULL,
				   &rev);
	json_decref(owner);
	skiff_kv_free(&kv);
	free(key);
}

/* 422 naming a field of the Service being written. */
#define reject(f, svc, field, ...) \
	api_fail_invalid(f, api_resource_find("", "v1", "services"), \
			 meta_of(svc, "name"), field, __VA_ARGS__)

static uint32_t random_below(uint32_t n)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = 0;
	return n ? r % n : 0;
}

static void ip_text(uint32_t ip, char out[INET_ADDRSTRLEN])
{
	struct in_addr in = { .s_addr = htonl(ip) };

	inet_ntop(AF_INET, &in, out, INET_ADDRSTRLEN);
}

/* Takes the ClusterIP @svc asks for, or a free one. */
static int take_cluster_ip(struct apiserver *server, json_t *svc,
			   struct taken *t, struct api_fail *f)
{
	const struct service_ranges *r = &server->ranges;
	json_t *spec = json_object_get(svc, "spec");
	const char *want = json_string_value(json_object_get(spec,
							     "clusterIP"));
	uint32_t size = 1u << (32 - r->prefix), start, i;
	struct in_addr in;
	int err;

	snprintf(t->what, sizeof(t->what), "clusterips");
	if (want && *want) {
		uint32_t ip;

		if (inet_pton(AF_INET, want, &in) != 1)
			return reject(f, svc, "spec.clusterIP",
				       "Invalid value: \"%s\": must be a valid IP address",
				       want);
		ip = ntohl(in.s_addr);
		if ((ip & ~(size - 1)) != r->net || ip == r->net ||
		    ip == r->net + size - 1) {
			ip_text(r->net, t->id);
			return reject(f, svc, "spec.clusterIP",
				       "Invalid value: \"%s\": provided IP is not in the valid range. The range of valid IPs is %s/%u",
				       want, t->id, r->prefix);
		}
		snprintf(t->id, sizeof(t->id), "%s", want);
		err = take(server, t, svc);
		if (err == -EEXIST)
			return reject(f, svc, "spec.clusterIP",
				       "Invalid value: \"%s\": provided IP is already allocated",
				       want);
		goto taken;
	}
	/* A random start spreads addresses as Kubernetes does. */
	start = random_below(size - 2);
	for (i = 0, err = -EEXIST; i < size - 2 && err == -EEXIST; i++) {
		ip_text(r->net + 1 + (start + i) % (size - 2), t->id);
		err = take(server, t, svc);
	}
	if (err == -EEXIST)
		return reject(f, svc, "spec.clusterIP",
			       "Internal error: the service IP range is full");
taken:
	if (err)
		return reject(f, svc, "spec.clusterIP",
			       "Internal error: cannot allocate: %s",
			       strerror(-err));
	json_object_set_new(spec, "clusterIP", json_string(t->id));
	json_object_set_new(spec, "clusterIPs", json_pack("[s]", t->id));
	json_object_set_new(spec, "ipFamilies", json_pack("[s]", "IPv4"));
	json_object_set_new(spec, "ipFamilyPolicy",
			    json_string("SingleStack"));
	return 0;
}

/* The node port @old gave the same port and protocol, or 0. */
static json_int_t old_node_port(const json_t *old, const json_t *port)
{
	const json_t *ports = json_object_get(json_object_get(old, "spec"),
					      "ports");
	size_t i;

	for (i = 0; i < json_array_size(ports); i++) {
		const json_t *p = json_array_get(ports, i);

		if (json_equal(json_object_get(p, "port"),
			       json_object_get(port, "port")) &&
		    json_equal(json_object_get(p, "protocol"),
			       json_object_get(port, "protocol")))
			return json_integer_value(json_object_get(p,
								  "nodePort"));
	}
	return 0;
}

/* Does @old hold node port @np already? */
static bool holds_node_port(const json_t *old, json_int_t np)
{
	const json_t *ports = json_object_get(json_object_get(old, "spec"),
					      "ports");
	size_t i;

	for (i = 0; i < json_array_size(ports); i++)
		if (json_integer_value(json_object_get(json_array_get(ports, i),
						       "nodePort")) == np)
			return true;
	return false;
}

static int take_node_port(struct apiserver *server, const json_t *old,
			  json_t *svc, json_t *port, size_t index,
			  struct taken *t, int *ntaken, struct api_fail *f)
{
	const struct service_ranges *r = &server->ranges;
	json_int_t np = json_integer_value(json_object_get(port, "nodePort"));
	unsigned int span = r->port_max - r->port_min + 1, start, i;
	char field[64];
	int err;

	snprintf(field, sizeof(field), "spec.ports[%zu].nodePort", index);
	if (!np && old)
		np = old_node_port(old, port);
	if (np && old && holds_node_port(old, np)) {
		json_object_set_new(port, "nodePort", json_integer(np));
		return 0;
	}
	if (*ntaken == MAX_TAKEN)
		return reject(f, svc, "spec.ports", "Too many: more than %d ports",
			       MAX_TAKEN - 1);
	snprintf(t->what, sizeof(t->what), "nodeports");
	if (np) {
		if (np < r->port_min || np > r->port_max)
			return reject(f, svc, field,
				       "Invalid value: %lld: provided port is not in the valid range. The range of valid ports is %u-%u",
				       (long long)np, r->port_min, r->port_max);
		snprintf(t->id, sizeof(t->id), "%lld", (long long)np);
		err = take(server, t, svc);
		if (err == -EEXIST)
			return reject(f, svc, field,
				       "Invalid value: %lld: provided port is already allocated",
				       (long long)np);
	} else {
		start = random_below(span);
		for (i = 0, err = -EEXIST; i < span && err == -EEXIST; i++) {
			np = r->port_min + (start + i) % span;
			snprintf(t->id, sizeof(t->id), "%lld", (long long)np);
			err = take(server, t, svc);
		}
		if (err == -EEXIST)
			return reject(f, svc, field,
				       "Internal error: the node port range is full");
	}
	if (err)
		return reject(f, svc, field, "Internal error: %s",
			       strerror(-err));
	json_object_set_new(port, "nodePort", json_integer(np));
	(*ntaken)++;
	return 0;
}

int services_allocate(struct apiserver *server, const json_t *old,
		      json_t *svc, struct api_fail *f)
{
	json_t *spec = json_object_get(svc, "spec");
	json_t *ports = json_object_get(spec, "ports");
	const char *type = json_string_value(json_object_get(spec, "type"));
	const char *ip = json_string_value(json_object_get(spec, "clusterIP"));
	struct taken taken[MAX_TAKEN];
	int n = 0, i;
	size_t p;

	if (!type || !strcmp(type, "ExternalName"))
		return 0;
	if (!old && !(ip && !strcmp(ip, "None"))) {
		if (take_cluster_ip(server, svc, &taken[0], f))
			return -1;
		n = 1;
	}
	for (p = 0; p < json_array_size(ports); p++) {
		json_t *port = json_array_get(ports, p);

		if (strcmp(type, "NodePort")) {
			json_int_t np = json_integer_value(json_object_get(port,
									   "nodePort"));
			char field[64];

			if (!np || (old && holds_node_port(old, np)))
				continue;
			snprintf(field, sizeof(field),
				 "spec.ports[%zu].nodePort", p);
			reject(f, svc, field,
			       "Forbidden: may not be used when `type` is '%s'",
			       type);
			goto undo;
		}
		if (take_node_port(server, old, svc, port, p, &taken[n], &n,
				   f))
			goto undo;
	}
	/* Leaving NodePort: the ports it held go with the type. */
	for (p = 0; strcmp(type, "NodePort") && p < json_array_size(ports);
	     p++)
		json_object_del(json_array_get(ports, p), "nodePort");
	return 0;
undo:
	for (i = 0; i < n; i++)
		give_back(server, &taken[i], meta_of(svc, "uid"));
	return -1;
}

void services_release(struct apiserver *server, const json_t *svc,
		      const json_t *kept)
{
	const json_t *ports = json_object_get(json_object_get(svc, "spec"),
					      "ports");
	const char *ip = json_string_value(json_object_get(json_object_get(svc, "spec"),
							   "clusterIP"));
	const char *uid = meta_of(svc, "uid");
	struct in_addr in;
	struct taken t;
	size_t i;

	if (!kept && ip && inet_pton(AF_INET, ip, &in) == 1) {
		snprintf(t.what, sizeof(t.what), "clusterips");
		snprintf(t.id, sizeof(t.id), "%s", ip);
		give_back(server, &t, uid);
	}
	for (i = 0; i < json_array_size(ports); i++) {
		json_int_t np = json_integer_value(json_object_get(json_array_get(ports, i),
								   "nodePort"));

		if (!np || (kept && holds_node_port(kept, np)))
			continue;
		snprintf(t.what, sizeof(t.what), "nodeports");
		snprintf(t.id, sizeof(t.id), "%lld", (long long)np);
		give_back(server, &t, uid);
	}
}

int services_repair(struct apiserver *server)
{
	const struct api_resource *res = api_resource_find("", "v1",
							   "services");
	struct skiff_store_range range = { .prefix = ALLOC_PREFIX };
	struct skiff_kv_list list;
	int64_t rev;
	bool more;
	size_t i;
	int err;

	err = skiff_store_list(server->store, &range, &list, &rev, &more);
	if (err)
		return err;
	for (i = 0; i < list.count; i++) {
		json_t *owner = json_loadb(list.items[i].value,
					   list.items[i].value_len, 0, NULL);
		const char *ns = json_string_value(json_object_get(owner,
								   "namespace"));
		const char *name = json_string_value(json_object_get(owner,
								     "name"));
		const char *uid = json_string_value(json_object_get(owner,
								    "uid"));
		char *key = ns && name ? object_key(res, ns, name) : NULL;
		struct skiff_kv svc;
		bool held = false;

		if (key && !skiff_store_get(server->store, key, &svc)) {
			json_t *obj = json_loadb(svc.value, svc.value_len, 0,
						 NULL);

			held = uid && !strcmp(meta_of(obj, "uid"), uid);
			json_decref(obj);
			skiff_kv_free(&svc);
		}
		if (!held)
			skiff_store_delete(server->store, list.items[i].key,
					   list.items[i].mod_rev, NULL, &rev);
		free(key);
		json_decref(owner);
	}
	skiff_kv_list_free(&list);
	return 0;
}
