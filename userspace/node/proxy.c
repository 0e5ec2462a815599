// SPDX-License-Identifier: GPL-2.0
/*
 * Services into the data plane, kube-proxy's way: each Service port is a
 * data plane service (virtual IP, port, protocol) whose backends are the
 * ready addresses of the Endpoints of the same name at the endpoint port
 * of the same name.
 *
 * What a Service stands for is computed from the two caches as JSON: a
 * "service port" key ("10.96.0.10:80/tcp") -> {vip, port, proto, affinity,
 * local, backends: [[ip, port]...] sorted}; local (externalTrafficPolicy
 * Local: clients keep their address) is set on NodePorts only. Three maps keep what was done:
 * @programmed (key -> what the data plane holds), @owners (key -> the
 * Service that holds it) and @by_service (Service -> its keys). A changed
 * Service or Endpoints marks its Service dirty; a 0 ms timer then
 * recomputes each dirty one and sends only the keys whose content changed,
 * so a round of events costs one set/del per service port it changed.
 *
 * The first sync, and one after every list of either informer (a 410 Gone
 * lost events), computes everything and hands it to skiff_dp_service_sync,
 * which makes the table exactly that in one atomic step: services of an
 * earlier run or of a Service deleted meanwhile go. A data plane error is
 * followed by such a full sync, later.
 *
 * Nothing the data plane would refuse is sent (one refusal would fail the
 * whole atomic sync): a bad clusterIP skips its Service, a bad endpoint
 * address its backend, each with a log line (once while it lasts).
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "proxy.h"

#define RETRY_MS_MIN 500
#define RETRY_MS_MAX 30000
#define AFFINITY_DEFAULT 10800
#define AFFINITY_MAX 86400

#define SPEC_FORMAT "{s:s, s:I, s:I, s:I, s:b, s:o}"

struct skiff_proxy {
	struct skiff_loop *loop;
	struct skiff_dp *dp;
	struct skiff_informer *services;
	struct skiff_informer *endpoints;
	char *node_name;

	json_t *programmed;	/* service port key -> spec in the data plane */
	json_t *owners;		/* service port key -> Service key */
	json_t *by_service;	/* Service key -> {service port key: true} */
	json_t *dirty;		/* Service keys changed since the last flush */
	json_t *notes;		/* Service key -> {problem logged: true} */
	bool full;
	struct skiff_timer *timer;
	int64_t retry_ms;
	int64_t last_sync_ms;
};

/* The address rules of the data plane (dataplane.c), to never be refused. */
static bool unicast(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);

	return h && (h >> 24) != 0 && (h >> 24) != 127 && (h >> 28) != 0xe &&
	       (h >> 28) != 0xf;
}

/* Collects a problem of the Service being computed (logged if new). */
static void note(json_t *notes, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(json_t *notes, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_set_new(notes, msg, json_true());
}

/* Logs the problems of @key not logged before; forgets those gone. */
static void notes_report(struct skiff_proxy *p, const char *key,
			 json_t *notes)
{
	const json_t *old = json_object_get(p->notes, key);
	const char *msg;
	json_t *v;

	json_object_foreach(notes, msg, v)
		if (!json_object_get(old, msg))
			fprintf(stderr, "proxy: service %s: %s\n", key, msg);
	if (json_object_size(notes))
		json_object_set(p->notes, key, notes);
	else
		json_object_del(p->notes, key);
}

static int backend_cmp(const void *a, const void *b)
{
	return skiff_dp_endpoint_cmp(a, b);
}

struct backends {
	struct skiff_dp_endpoint *items;
	unsigned int n;
	unsigned int cap;
};

static int backends_push(struct backends *b, struct in_addr addr,
			 uint16_t port)
{
	struct skiff_dp_endpoint *items;

	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 16;
		items = realloc(b->items, b->cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		b->items = items;
	}
	memset(&b->items[b->n], 0, sizeof(b->items[b->n]));
	b->items[b->n].addr = addr;
	b->items[b->n].port = port;
	b->items[b->n++].weight = 1;
	return 0;
}

/* The port of @subset named @name for @proto, or 0. */
static uint16_t subset_port(const json_t *subset, const char *name,
			    const char *proto, json_t *notes)
{
	const json_t *ports = json_object_get(subset, "ports"), *ep;
	json_int_t num;
	size_t i;

	json_array_foreach(ports, i, ep) {
		if (strcmp(skiff_str(ep, "name") ?: "", name) ||
		    strcmp(skiff_str(ep, "protocol") ?: "TCP", proto))
			continue;
		num = skiff_int(ep, "port", 0);
		if (num >= 1 && num <= 65535)
			return num;
		note(notes, "endpoint port %s is not 1..65535", *name ? name : "(unnamed)");
		return 0;
	}
	return 0;
}

/*
 * The ready addresses of @eps at the port named @name, sorted, without
 * duplicates; only those on this node if @local.
 */
static int collect(const struct skiff_proxy *p, const json_t *eps,
		   const char *name, const char *proto, bool local,
		   struct backends *b, json_t *notes)
{
	const json_t *subsets = json_object_get(eps, "subsets"), *ss, *a;
	struct in_addr addr;
	unsigned int i, n;
	uint16_t port;
	size_t s, k;
	const char *ip;

	json_array_foreach(subsets, s, ss) {
		port = subset_port(ss, name, proto, notes);
		if (!port)
			continue;
		/* notReadyAddresses get no traffic. */
		json_array_foreach(json_object_get(ss, "addresses"), k, a) {
			ip = skiff_str(a, "ip") ?: "";
			if (inet_pton(AF_INET, ip, &addr) != 1 || !unicast(addr)) {
				note(notes, "endpoint address \"%s\" is not a unicast IPv4 address",
				     ip);
				continue;
			}
			if (local && strcmp(skiff_str(a, "nodeName") ?: "",
					    p->node_name))
				continue;
			if (backends_push(b, addr, port))
				return -ENOMEM;
		}
	}
	if (b->n > 1)
		qsort(b->items, b->n, sizeof(*b->items), backend_cmp);
	for (i = 1, n = b->n ? 1 : 0; i < b->n; i++)
		if (backend_cmp(&b->items[i], &b->items[n - 1]))
			b->items[n++] = b->items[i];
	b->n = n;
	if (b->n > SKIFF_DP_MAX_BACKENDS) {
		note(notes, "port %s has more than %d endpoints: the first %d serve",
		     *name ? name : "(unnamed)", SKIFF_DP_MAX_BACKENDS,
		     SKIFF_DP_MAX_BACKENDS);
		b->n = SKIFF_DP_MAX_BACKENDS;
	}
	return 0;
}

static void key_text(struct in_addr vip, uint16_t port, uint8_t proto,
		     char *out, size_t len)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &vip, ip, sizeof(ip));
	snprintf(out, len, "%s:%u/%s", ip, port, skiff_dp_proto_name(proto));
}

/* Adds one data plane service to @out: key -> spec. */
static int put_spec(json_t *out, struct in_addr vip, uint16_t port,
		    uint8_t proto, uint32_t affinity, bool local,
		    const struct backends *b)
{
	char ip[INET_ADDRSTRLEN], key[64];
	json_t *list = json_array(), *spec;
	unsigned int i;

	if (!list)
		return -ENOMEM;
	for (i = 0; i < b->n; i++) {
		inet_ntop(AF_INET, &b->items[i].addr, ip, sizeof(ip));
		if (json_array_append_new(list, json_pack("[s, I]", ip,
							  (json_int_t)b->items[i].port))) {
			json_decref(list);
			return -ENOMEM;
		}
	}
	inet_ntop(AF_INET, &vip, ip, sizeof(ip));
	spec = json_pack(SPEC_FORMAT, "vip", ip, "port", (json_int_t)port,
			 "proto", (json_int_t)proto, "affinity",
			 (json_int_t)affinity, "local", local, "backends", list);
	if (!spec)
		return -ENOMEM;
	key_text(vip, port, proto, key, sizeof(key));
	json_object_set_new(out, key, spec);
	return 0;
}

static uint32_t affinity_of(const json_t *spec, json_t *notes)
{
	json_int_t t;

	if (strcmp(skiff_str(spec, "sessionAffinity") ?: "None", "ClientIP"))
		return 0;
	t = skiff_int(spec, "sessionAffinityConfig.clientIP.timeoutSeconds",
		      AFFINITY_DEFAULT);
	if (t < 1 || t > AFFINITY_MAX) {
		note(notes, "affinity timeoutSeconds %lld is not 1..%d: using %d",
		     (long long)t, AFFINITY_MAX, AFFINITY_DEFAULT);
		t = AFFINITY_DEFAULT;
	}
	return t;
}

/* One port of a Service: its ClusterIP service and its NodePort. */
static int service_port(const struct skiff_proxy *p, const json_t *spec,
			const json_t *sp, struct in_addr vip, uint32_t affinity,
			const json_t *eps, json_t *out, json_t *notes)
{
	const char *type = skiff_str(spec, "type") ?: "ClusterIP";
	const char *name = skiff_str(sp, "name") ?: "";
	const char *proto_name = skiff_str(sp, "protocol") ?: "TCP";
	json_int_t port = skiff_int(sp, "port", 0);
	json_int_t node_port = skiff_int(sp, "nodePort", 0);
	bool ext_local, int_local;
	struct backends all = { 0 }, mine = { 0 };
	struct in_addr any = { 0 };
	uint8_t proto;
	int err;

	if (!strcmp(proto_name, "TCP")) {
		proto = SKIFF_DP_TCP;
	} else if (!strcmp(proto_name, "UDP")) {
		proto = SKIFF_DP_UDP;
	} else {
		note(notes, "port %s: protocol %s is not supported (TCP and UDP are)",
		     *name ? name : "(unnamed)", proto_name);
		return 0;
	}
	if (port < 1 || port > 65535) {
		note(notes, "port %s: %lld is not 1..65535",
		     *name ? name : "(unnamed)", (long long)port);
		return 0;
	}
	int_local = !strcmp(skiff_str(spec, "internalTrafficPolicy") ?: "",
			    "Local");
	ext_local = !strcmp(skiff_str(spec, "externalTrafficPolicy") ?: "",
			    "Local");
	err = collect(p, eps, name, proto_name, false, &all, notes);
	if (!err && (int_local || ext_local))
		err = collect(p, eps, name, proto_name, true, &mine, notes);
	if (err)
		goto out;
	err = put_spec(out, vip, port, proto, affinity, false,
		       int_local ? &mine : &all);
	if (err || (strcmp(type, "NodePort") && strcmp(type, "LoadBalancer")))
		goto out;
	if (node_port < 1 || node_port > 65535) {
		note(notes, "port %s: no nodePort", *name ? name : "(unnamed)");
		goto out;
	}
	err = put_spec(out, any, node_port, proto, affinity, ext_local,
		       ext_local ? &mine : &all);
out:
	free(all.items);
	free(mine.items);
	return err;
}

/*
 * What @svc (with Endpoints @eps, may be NULL) stands for: a new object
 * of service port key -> spec, empty for a Service that is not proxied.
 */
static json_t *service_specs(const struct skiff_proxy *p, const json_t *svc,
			     const json_t *eps, json_t *notes)
{
	const json_t *spec = json_object_get(svc, "spec"), *sp;
	const char *type = skiff_str(spec, "type") ?: "ClusterIP";
	const char *ip = skiff_str(spec, "clusterIP") ?: "";
	json_t *out = json_object();
	struct in_addr vip;
	uint32_t affinity;
	size_t i;

	if (!out)
		return NULL;
	if (!strcmp(type, "ExternalName") || !strcmp(ip, "None"))
		return out;
	if (inet_pton(AF_INET, ip, &vip) != 1 || !unicast(vip)) {
		note(notes, "clusterIP \"%s\" is not a unicast IPv4 address: not proxied",
		     ip);
		return out;
	}
	affinity = affinity_of(spec, notes);
	json_array_foreach(json_object_get(spec, "ports"), i, sp) {
		if (service_port(p, spec, sp, vip, affinity, eps, out, notes)) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* The specs of the Service with cache key @key ("ns/name"), or none. */
static json_t *specs_of(struct skiff_proxy *p, const char *key)
{
	const json_t *svc, *eps = NULL;
	json_t *notes = json_object(), *out;
	const char *slash = strchr(key, '/');
	char ns[256];

	if (!notes || !slash || (size_t)(slash - key) >= sizeof(ns)) {
		json_decref(notes);
		return json_object();
	}
	memcpy(ns, key, slash - key);
	ns[slash - key] = '\0';
	svc = skiff_informer_get(p->services, ns, slash + 1);
	if (svc)
		eps = skiff_informer_get(p->endpoints, ns, slash + 1);
	out = svc ? service_specs(p, svc, eps, notes) : json_object();
	if (out)
		notes_report(p, key, notes);
	json_decref(notes);
	return out;
}

/* ---- to the data plane -------------------------------------------------- */

/* Fills @svc and a malloc'd @backends from a spec put_spec() made. */
static int spec_parse(const json_t *spec, struct skiff_dp_service *svc,
		      struct skiff_dp_endpoint **backends, unsigned int *n)
{
	const json_t *list = json_object_get(spec, "backends"), *b;
	struct skiff_dp_endpoint *items;
	size_t i;

	memset(svc, 0, sizeof(*svc));
	inet_pton(AF_INET, skiff_str(spec, "vip"), &svc->vip);
	svc->port = skiff_int(spec, "port", 0);
	svc->proto = skiff_int(spec, "proto", 0);
	svc->affinity_timeout = skiff_int(spec, "affinity", 0);
	svc->local = json_is_true(json_object_get(spec, "local"));
	items = calloc(json_array_size(list) + 1, sizeof(*items));
	if (!items)
		return -ENOMEM;
	json_array_foreach(list, i, b) {
		inet_pton(AF_INET, json_string_value(json_array_get(b, 0)) ?: "",
			  &items[i].addr);
		items[i].port = json_integer_value(json_array_get(b, 1));
		items[i].weight = 1;
	}
	*backends = items;
	*n = json_array_size(list);
	return 0;
}

static int dp_set(struct skiff_proxy *p, const char *key, const json_t *spec,
		  struct skiff_error *e)
{
	struct skiff_dp_endpoint *backends;
	struct skiff_dp_service svc;
	unsigned int n;
	int err;

	if (spec_parse(spec, &svc, &backends, &n))
		return skiff_error_set(e, -ENOMEM, "out of memory");
	err = skiff_dp_service_set(p->dp, &svc, backends, n, e);
	free(backends);
	if (!err)
		json_object_set(p->programmed, key, (json_t *)spec);
	return err;
}

static int dp_del(struct skiff_proxy *p, const char *key,
		  struct skiff_error *e)
{
	const json_t *spec = json_object_get(p->programmed, key);
	struct skiff_dp_service svc = { 0 };
	int err;

	if (!spec)
		return 0;
	inet_pton(AF_INET, skiff_str(spec, "vip"), &svc.vip);
	svc.port = skiff_int(spec, "port", 0);
	svc.proto = skiff_int(spec, "proto", 0);
	err = skiff_dp_service_del(p->dp, &svc, e);
	if (err == -ENOENT)
		err = 0;
	if (!err)
		json_object_del(p->programmed, key);
	return err;
}

/* ---- full sync ---------------------------------------------------------- */

/* The whole table from the caches: key -> spec, and who owns each key. */
static int desired_all(struct skiff_proxy *p, json_t *want, json_t *owners,
		       json_t *by_service)
{
	const json_t *all = skiff_informer_all(p->services), *svc;
	const char *key, *skey;
	json_t *specs, *spec, *mine;
	void *tmp;

	json_object_foreach_safe(p->notes, tmp, key, spec)
		if (!json_object_get(all, key))
			json_object_del(p->notes, key);
	json_object_foreach((json_t *)all, key, svc) {
		specs = specs_of(p, key);
		mine = json_object();
		if (!specs || !mine) {
			json_decref(specs);
			json_decref(mine);
			return -ENOMEM;
		}
		json_object_foreach(specs, skey, spec) {
			if (json_object_get(want, skey)) {
				fprintf(stderr, "proxy: service %s: %s is service %s's\n",
					key, skey,
					json_string_value(json_object_get(owners, skey)));
				continue;
			}
			json_object_set(want, skey, spec);
			json_object_set_new(owners, skey, json_string(key));
			json_object_set_new(mine, skey, json_true());
		}
		json_object_set_new(by_service, key, mine);
		json_decref(specs);
	}
	return 0;
}

static int full_sync(struct skiff_proxy *p, struct skiff_error *e)
{
	json_t *want = json_object(), *owners = json_object();
	json_t *by_service = json_object(), *spec;
	struct skiff_dp_service_spec *specs = NULL;
	struct skiff_dp_endpoint *backends;
	unsigned int n = 0, i;
	const char *key;
	int err = -ENOMEM;

	if (!want || !owners || !by_service ||
	    desired_all(p, want, owners, by_service))
		goto out;
	specs = calloc(json_object_size(want) + 1, sizeof(*specs));
	if (!specs)
		goto out;
	json_object_foreach(want, key, spec) {
		if (spec_parse(spec, &specs[n].svc, &backends, &specs[n].count))
			goto out;
		specs[n++].backends = backends;
	}
	err = skiff_dp_service_sync(p->dp, specs, n, e);
	if (err)
		goto out;
	json_decref(p->programmed);
	json_decref(p->owners);
	json_decref(p->by_service);
	p->programmed = json_incref(want);
	p->owners = json_incref(owners);
	p->by_service = json_incref(by_service);
out:
	if (err == -ENOMEM && !e->err)
		skiff_error_set(e, err, "out of memory");
	for (i = 0; i < n; i++)
		free((void *)specs[i].backends);
	free(specs);
	json_decref(want);
	json_decref(owners);
	json_decref(by_service);
	return err;
}

/* ---- incremental -------------------------------------------------------- */

/*
 * The dirty Services, in three steps so that a key one of them gives up
 * can be taken by another in the same round: give up keys, take keys,
 * then send what changed.
 */
static int apply_dirty(struct skiff_proxy *p, struct skiff_error *e)
{
	json_t *specs = json_object(), *touched = json_object(), *want, *mine;
	const char *key, *skey, *owner;
	json_t *v, *held, *spec, *old;
	int err = -ENOMEM;

	if (!specs || !touched)
		goto out;
	json_object_foreach(p->dirty, key, v) {
		want = specs_of(p, key);
		if (!want)
			goto out;
		json_object_set_new(specs, key, want);
		old = json_object_get(p->by_service, key);
		json_object_foreach(old, skey, held) {
			owner = json_string_value(json_object_get(p->owners, skey));
			if (json_object_get(want, skey) || !owner || strcmp(owner, key))
				continue;
			json_object_del(p->owners, skey);
			json_object_set_new(touched, skey, json_true());
		}
	}
	json_object_foreach(specs, key, want) {
		mine = json_object();
		if (!mine)
			goto out;
		json_object_foreach(want, skey, spec) {
			owner = json_string_value(json_object_get(p->owners, skey));
			if (owner && strcmp(owner, key)) {
				fprintf(stderr, "proxy: service %s: %s is service %s's\n",
					key, skey, owner);
				continue;
			}
			json_object_set_new(p->owners, skey, json_string(key));
			json_object_set_new(mine, skey, json_true());
			json_object_set_new(touched, skey, json_true());
		}
		if (json_object_size(mine))
			json_object_set(p->by_service, key, mine);
		else
			json_object_del(p->by_service, key);
		json_decref(mine);
	}
	err = 0;
	json_object_foreach(touched, skey, v) {
		owner = json_string_value(json_object_get(p->owners, skey));
		if (!owner) {
			err = dp_del(p, skey, e);
		} else {
			spec = json_object_get(json_object_get(specs, owner), skey);
			if (!json_equal(spec, json_object_get(p->programmed, skey)))
				err = dp_set(p, skey, spec, e);
		}
		if (err)
			break;
	}
out:
	if (err == -ENOMEM && !e->err)
		skiff_error_set(e, err, "out of memory");
	json_decref(specs);
	json_decref(touched);
	return err;
}

/* ---- the loop ----------------------------------------------------------- */

static void flush(void *arg);

static void flush_soon(struct skiff_proxy *p, int64_t ms)
{
	if (!p->timer)
		p->timer = skiff_loop_after(p->loop, ms, flush, p);
}

static void flush(void *arg)
{
	struct skiff_proxy *p = arg;
	struct skiff_error e = { 0 };
	int64_t start = skiff_now_ms();
	unsigned int dirty = json_object_size(p->dirty);
	bool full = p->full;
	int err;

	p->timer = NULL;
	if (!skiff_informer_synced(p->services) ||
	    !skiff_informer_synced(p->endpoints))
		return;
	err = full ? full_sync(p, &e) : apply_dirty(p, &e);
	if (!err) {
		p->full = false;
		json_object_clear(p->dirty);
		p->retry_ms = RETRY_MS_MIN;
		p->last_sync_ms = skiff_now_ms() - start;
		if (full)
			fprintf(stderr, "proxy: synced %zu service ports in %lld ms\n",
				json_object_size(p->programmed),
				(long long)p->last_sync_ms);
		return;
	}
	fprintf(stderr, "proxy: %s (%u services): %s%s%s\n",
		full ? "full sync" : "update", dirty, strerror(-e.err),
		e.msg[0] ? ": " : "", e.msg);
	/* Whatever half happened, the next try makes all of it right. */
	p->full = true;
	flush_soon(p, p->retry_ms);
	p->retry_ms = p->retry_ms * 2 > RETRY_MS_MAX ? RETRY_MS_MAX :
		      p->retry_ms * 2;
}

static void changed(enum skiff_change change, const json_t *old,
		    const json_t *obj, void *arg)
{
	struct skiff_proxy *p = arg;
	char *key = skiff_object_key(obj);

	(void)change;
	(void)old;
	if (!key)
		return;
	json_object_set_new(p->dirty, key, json_true());
	free(key);
	flush_soon(p, 0);
}

static void listed(void *arg)
{
	struct skiff_proxy *p = arg;

	p->full = true;
	flush_soon(p, 0);
}

int skiff_proxy_start(struct skiff_proxy **pp, struct skiff_loop *loop,
		      struct skiff_dp *dp, struct skiff_informer *services,
		      struct skiff_informer *endpoints, const char *node_name,
		      struct in_addr cluster_cidr, uint8_t cluster_len,
		      struct skiff_error *e)
{
	struct skiff_proxy *p;
	int err;

	skiff_error_clear(e);
	if (!node_name || !*node_name)
		return skiff_error_set(e, -EINVAL, "no node name");
	err = skiff_dp_set_cluster_cidr(dp, cluster_cidr, cluster_len, e);
	if (err)
		return err;
	p = calloc(1, sizeof(*p));
	if (!p)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	p->loop = loop;
	p->dp = dp;
	p->services = services;
	p->endpoints = endpoints;
	p->node_name = strdup(node_name);
	p->programmed = json_object();
	p->owners = json_object();
	p->by_service = json_object();
	p->dirty = json_object();
	p->notes = json_object();
	p->full = true;
	p->retry_ms = RETRY_MS_MIN;
	if (!p->node_name || !p->programmed || !p->owners || !p->by_service ||
	    !p->dirty || !p->notes)
		goto err_free;
	if (skiff_informer_on_change(services, changed, p) ||
	    skiff_informer_on_change(endpoints, changed, p) ||
	    skiff_informer_on_sync(services, listed, p) ||
	    skiff_informer_on_sync(endpoints, listed, p))
		goto err_forget;
	/* Both synced before us: no first list is coming to start it. */
	flush_soon(p, 0);
	*pp = p;
	return 0;

err_forget:
	skiff_informer_forget(services, p);
	skiff_informer_forget(endpoints, p);
err_free:
	skiff_proxy_free(p);
	return skiff_error_set(e, -ENOMEM, "out of memory");
}

void skiff_proxy_free(struct skiff_proxy *p)
{
	if (!p)
		return;
	skiff_informer_forget(p->services, p);
	skiff_informer_forget(p->endpoints, p);
	skiff_timer_cancel(p->timer);
	json_decref(p->programmed);
	json_decref(p->owners);
	json_decref(p->by_service);
	json_decref(p->dirty);
	json_decref(p->notes);
	free(p->node_name);
	free(p);
}

unsigned int skiff_proxy_services(const struct skiff_proxy *p)
{
	return json_object_size(p->programmed);
}

int64_t skiff_proxy_last_sync_ms(const struct skiff_proxy *p)
{
	return p->last_sync_ms;
}
