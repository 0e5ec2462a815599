// SPDX-License-Identifier: GPL-2.0
/*
 * The cache is a JSON object (jansson's hash table) of cache key ->
 * object; each index one more of index key -> {cache key -> object}.
 * Deleted objects the daemon deleted itself leave a tombstone (their
 * deletion revision) until the watch confirms, so that an older event
 * cannot bring them back.
 *
 * The watch is a streaming GET on the loop: each line of the answer is an
 * event. It is restarted from the last revision seen when it ends (the
 * server's timeout, a restart of the apiserver) and replaced by a new
 * list after 410 Gone.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "informer.h"

#define WATCH_SECONDS 300
#define RETRY_MS_MIN 200
#define RETRY_MS_MAX 5000

struct handler {
	skiff_handler_fn fn;
	void *arg;
};

struct sync_handler {
	skiff_sync_fn fn;
	void *arg;
};

struct index {
	char *name;
	skiff_index_fn fn;
	json_t *map;		/* index key -> { cache key -> object } */
};

struct skiff_informer {
	struct skiff_client *c;
	const struct skiff_kind *kind;
	char *ns;		/* one namespace only, or NULL: all */
	char *query;
	json_t *items;
	json_t *tombstones;	/* cache key -> {rv: deletion revision, at: ms} */
	int64_t pruned_ms;	/* when old tombstones were last dropped */
	struct handler *handlers;
	size_t n_handlers;
	struct sync_handler *syncs;
	size_t n_syncs;
	struct index *indexes;
	size_t n_indexes;
	long long rv;		/* the newest revision seen */
	bool synced;
	bool listing;
	bool doomed;		/* freed while listing: the answer frees it */
	int64_t retry_ms;
	CURL *watch;
	struct skiff_buf line;	/* the watch's unfinished line */
	bool watch_gone;	/* the watch said 410 */
	struct skiff_timer *timer;
};

static void list_start(struct skiff_informer *inf);
static void watch_start(struct skiff_informer *inf);

char *skiff_object_key(const json_t *obj)
{
	const char *ns = skiff_meta(obj, "namespace");
	const char *name = skiff_meta(obj, "name");
	char *key;

	if (!name)
		return NULL;
	if (ns && *ns)
		return asprintf(&key, "%s/%s", ns, name) < 0 ? NULL : key;
	return strdup(name);
}

char *skiff_index_namespace(const json_t *obj)
{
	const char *ns = skiff_meta(obj, "namespace");

	return ns ? strdup(ns) : NULL;
}

char *skiff_index_node_name(const json_t *obj)
{
	const char *node = skiff_str(obj, "spec.nodeName");

	return node && *node ? strdup(node) : NULL;
}

char *skiff_index_controller(const json_t *obj)
{
	const char *uid = skiff_controller_uid(obj);

	return uid ? strdup(uid) : NULL;
}

struct skiff_informer *skiff_informer_new_ns(struct skiff_client *c,
					     const struct skiff_kind *kind,
					     const char *ns, const char *query)
{
	struct skiff_informer *inf = calloc(1, sizeof(*inf));

	if (!inf)
		return NULL;
	inf->c = c;
	inf->kind = kind;
	inf->ns = ns ? strdup(ns) : NULL;
	if (ns && !inf->ns) {
		free(inf);
		return NULL;
	}
	inf->query = query ? strdup(query) : NULL;
	inf->items = json_object();
	inf->tombstones = json_object();
	inf->watch = curl_easy_init();
	inf->retry_ms = RETRY_MS_MIN;
	if ((query && !inf->query) || !inf->items || !inf->tombstones ||
	    !inf->watch) {
		skiff_informer_free(inf);
		return NULL;
	}
	return inf;
}

struct skiff_informer *skiff_informer_new(struct skiff_client *c,
					  const struct skiff_kind *kind,
					  const char *query)
{
	return skiff_informer_new_ns(c, kind, NULL, query);
}

static void informer_release(struct skiff_informer *inf)
{
	size_t i;

	for (i = 0; i < inf->n_indexes; i++) {
		free(inf->indexes[i].name);
		json_decref(inf->indexes[i].map);
	}
	free(inf->indexes);
	free(inf->handlers);
	free(inf->syncs);
	free(inf->line.data);
	json_decref(inf->items);
	json_decref(inf->tombstones);
	free(inf->query);
	free(inf->ns);
	free(inf);
}

void skiff_informer_free(struct skiff_informer *inf)
{
	if (!inf)
		return;
	if (inf->watch) {
		skiff_loop_transfer_cancel(skiff_client_loop(inf->c), inf->watch);
		curl_easy_cleanup(inf->watch);
		inf->watch = NULL;
	}
	skiff_timer_cancel(inf->timer);
	inf->timer = NULL;
	/*
	 * A list in flight cannot be called back: its answer comes to
	 * listed(), which frees what is left (informers that come and go with
	 * what they follow, such as a node's referenced Secrets).
	 */
	if (inf->listing) {
		inf->doomed = true;
		return;
	}
	informer_release(inf);
}

int skiff_informer_on_change(struct skiff_informer *inf, skiff_handler_fn fn,
			     void *arg)
{
	struct handler *h;

	h = realloc(inf->handlers, (inf->n_handlers + 1) * sizeof(*h));
	if (!h)
		return -ENOMEM;
	inf->handlers = h;
	h[inf->n_handlers].fn = fn;
	h[inf->n_handlers++].arg = arg;
	return 0;
}

int skiff_informer_on_sync(struct skiff_informer *inf, skiff_sync_fn fn,
			   void *arg)
{
	struct sync_handler *h;

	h = realloc(inf->syncs, (inf->n_syncs + 1) * sizeof(*h));
	if (!h)
		return -ENOMEM;
	inf->syncs = h;
	h[inf->n_syncs].fn = fn;
	h[inf->n_syncs++].arg = arg;
	return 0;
}

void skiff_informer_forget(struct skiff_informer *inf, void *arg)
{
	size_t i, n;

	for (i = 0, n = 0; i < inf->n_handlers; i++)
		if (inf->handlers[i].arg != arg)
			inf->handlers[n++] = inf->handlers[i];
	inf->n_handlers = n;
	for (i = 0, n = 0; i < inf->n_syncs; i++)
		if (inf->syncs[i].arg != arg)
			inf->syncs[n++] = inf->syncs[i];
	inf->n_syncs = n;
}

int skiff_informer_add_index(struct skiff_informer *inf, const char *name,
			     skiff_index_fn fn)
{
	struct index *idx;

	idx = realloc(inf->indexes, (inf->n_indexes + 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	inf->indexes = idx;
	idx += inf->n_indexes;
	idx->name = strdup(name);
	idx->fn = fn;
	idx->map = json_object();
	if (!idx->name || !idx->map) {
		free(idx->name);
		json_decref(idx->map);
		return -ENOMEM;
	}
	inf->n_indexes++;
	return 0;
}

bool skiff_informer_synced(const struct skiff_informer *inf)
{
	return inf->synced;
}

const struct skiff_kind *skiff_informer_kind(const struct skiff_informer *inf)
{
	return inf->kind;
}

const json_t *skiff_informer_get(const struct skiff_informer *inf,
				 const char *ns, const char *name)
{
	char key[512];

	if (inf->kind->namespaced)
		snprintf(key, sizeof(key), "%s/%s", ns ?: "", name);
	else
		snprintf(key, sizeof(key), "%s", name);
	return json_object_get(inf->items, key);
}

const json_t *skiff_informer_all(const struct skiff_informer *inf)
{
	return inf->items;
}

const json_t *skiff_informer_indexed(const struct skiff_informer *inf,
				     const char *name, const char *key)
{
	size_t i;

	for (i = 0; i < inf->n_indexes; i++)
		if (!strcmp(inf->indexes[i].name, name))
			return json_object_get(inf->indexes[i].map, key);
	return NULL;
}

static void index_remove(struct skiff_informer *inf, const char *key,
			 const json_t *obj)
{
	json_t *bucket;
	char *ikey;
	size_t i;

	for (i = 0; i < inf->n_indexes; i++) {
		ikey = inf->indexes[i].fn(obj);
		if (!ikey)
			continue;
		bucket = json_object_get(inf->indexes[i].map, ikey);
		json_object_del(bucket, key);
		if (bucket && !json_object_size(bucket))
			json_object_del(inf->indexes[i].map, ikey);
		free(ikey);
	}
}

static void index_add(struct skiff_informer *inf, const char *key,
		      json_t *obj)
{
	json_t *bucket;
	char *ikey;
	size_t i;

	for (i = 0; i < inf->n_indexes; i++) {
		ikey = inf->indexes[i].fn(obj);
		if (!ikey)
			continue;
		bucket = json_object_get(inf->indexes[i].map, ikey);
		if (!bucket) {
			bucket = json_object();
			json_object_set_new(inf->indexes[i].map, ikey, bucket);
		}
		json_object_set(bucket, key, obj);
		free(ikey);
	}
}

static void notify(struct skiff_informer *inf, enum skiff_change change,
		   const json_t *old, const json_t *obj)
{
	size_t i;

	for (i = 0; i < inf->n_handlers; i++)
		inf->handlers[i].fn(change, old, obj, inf->handlers[i].arg);
}

/* Items of a list lack kind and apiVersion: give them back. */
static void complete(struct skiff_informer *inf, json_t *obj)
{
	if (!json_object_get(obj, "kind"))
		json_object_set_new(obj, "kind", json_string(inf->kind->kind));
	if (!json_object_get(obj, "apiVersion"))
		json_object_set_new(obj, "apiVersion",
				    json_string(inf->kind->api_version));
}

/* Puts @obj (a new reference is taken) in the cache under @key. */
static void store(struct skiff_informer *inf, const char *key, json_t *obj)
{
	json_t *old = json_object_get(inf->items, key);

	complete(inf, obj);
	json_incref(old);
	if (old)
		index_remove(inf, key, old);
	json_object_set(inf->items, key, obj);
	index_add(inf, key, obj);
	notify(inf, old ? SKIFF_MODIFIED : SKIFF_ADDED, old, obj);
	json_decref(old);
}

static void drop(struct skiff_informer *inf, const char *key)
{
	json_t *old = json_object_get(inf->items, key);

	if (!old)
		return;
	json_incref(old);
	index_remove(inf, key, old);
	json_object_del(inf->items, key);
	notify(inf, SKIFF_DELETED, NULL, old);
	json_decref(old);
}

/*
 * A deleted object leaves a tombstone for a while, whoever saw the deletion
 * first: a write's answer that arrives after the watch's DELETED (say a
 * PATCH that removed the last finalizer, so the apiserver deleted it) must
 * not bring the object back. Tombstones older than TOMB_MS go.
 */
#define TOMB_MS 30000

static void tombstone(struct skiff_informer *inf, const char *key,
		      long long rv)
{
	int64_t now = skiff_now_ms();
	json_t *t;
	const char *k;
	void *tmp;

	if (now - inf->pruned_ms > 1000) {
		inf->pruned_ms = now;
		json_object_foreach_safe(inf->tombstones, tmp, k, t)
			if (json_integer_value(json_object_get(t, "at")) < now - TOMB_MS)
				json_object_del(inf->tombstones, k);
	}
	json_object_set_new(inf->tombstones, key,
			    json_pack("{s:I, s:I}", "rv", (json_int_t)rv,
				      "at", (json_int_t)now));
}

/* One change, from the watch or from a write's answer. */
static void apply(struct skiff_informer *inf, enum skiff_change change,
		  json_t *obj)
{
	char *key = skiff_object_key(obj);
	const json_t *cur, *tomb;
	long long rv = skiff_rv(obj);

	if (!key)
		return;
	cur = json_object_get(inf->items, key);
	tomb = json_object_get(inf->tombstones, key);
	if (change == SKIFF_DELETED) {
		if (!tomb || json_integer_value(json_object_get(tomb, "rv")) < rv)
			tombstone(inf, key, rv);
		if (cur && skiff_rv(cur) <= rv)
			drop(inf, key);
	} else if (tomb && rv <= json_integer_value(json_object_get(tomb, "rv"))) {
		/* Deleted: an event or an answer older than the deletion. */
	} else if (!cur || skiff_rv(cur) < rv) {
		json_object_del(inf->tombstones, key);
		store(inf, key, obj);
	}
	free(key);
}

void skiff_informer_wrote(struct skiff_informer *inf, const json_t *obj,
			  bool deleted)
{
	json_t *copy;
	char *key;

	if (!json_is_object(obj) || !skiff_meta(obj, "name"))
		return;
	if (deleted && !skiff_meta(obj, "deletionTimestamp")) {
		key = skiff_object_key(obj);
		if (!key)
			return;
		tombstone(inf, key, skiff_rv(obj));
		drop(inf, key);
		free(key);
		return;
	}
	copy = json_deep_copy(obj);
	if (copy)
		apply(inf, SKIFF_MODIFIED, copy);
	json_decref(copy);
}

/* ---- list ---------------------------------------------------------------- */

static void retry_later(struct skiff_informer *inf, void (*fn)(void *))
{
	inf->timer = skiff_loop_after(skiff_client_loop(inf->c), inf->retry_ms,
				      fn, inf);
	inf->retry_ms *= 2;
	if (inf->retry_ms > RETRY_MS_MAX)
		inf->retry_ms = RETRY_MS_MAX;
}

static void list_again(void *arg)
{
	struct skiff_informer *inf = arg;

	inf->timer = NULL;
	list_start(inf);
}

/* The new list replaces the cache: what is gone is DELETED, the rest set. */
static void listed(long code, json_t *answer, void *arg)
{
	struct skiff_informer *inf = arg;
	json_t *items = json_object_get(answer, "items"), *obj, *fresh;
	const char *rv = skiff_meta(answer, "resourceVersion");
	const char *key;
	size_t i;
	void *tmp;

	inf->listing = false;
	if (inf->doomed) {
		informer_release(inf);
		return;
	}
	if (code != 200 || !json_is_array(items) || !rv) {
		if (code)
			fprintf(stderr, "informer: list %s: HTTP %ld\n",
				inf->kind->plural, code);
		retry_later(inf, list_again);
		return;
	}
	fresh = json_object();
	json_array_foreach(items, i, obj) {
		char *k = skiff_object_key(obj);

		if (k)
			json_object_set(fresh, k, obj);
		free(k);
	}
	json_object_foreach_safe(inf->items, tmp, key, obj)
		if (!json_object_get(fresh, key))
			drop(inf, key);
	json_object_clear(inf->tombstones);
	json_object_foreach(fresh, key, obj) {
		const json_t *cur = json_object_get(inf->items, key);

		if (!cur || skiff_rv(cur) != skiff_rv(obj) ||
		    strcmp(skiff_meta(cur, "uid") ?: "",
			   skiff_meta(obj, "uid") ?: ""))
			store(inf, key, obj);
	}
	json_decref(fresh);
	inf->rv = strtoll(rv, NULL, 10);
	inf->synced = true;
	inf->retry_ms = RETRY_MS_MIN;
	watch_start(inf);
	for (i = 0; i < inf->n_syncs; i++)
		inf->syncs[i].fn(inf->syncs[i].arg);
}

static void list_start(struct skiff_informer *inf)
{
	char *path = skiff_path(inf->kind, inf->ns, NULL, NULL), *url = NULL;

	if (path && asprintf(&url, "%s%s%s", path, inf->query ? "?" : "",
			     inf->query ?: "") < 0)
		url = NULL;
	free(path);
	inf->listing = true;
	if (!url || skiff_client_send(inf->c, "GET", url, NULL, NULL, listed,
				      inf)) {
		inf->listing = false;
		retry_later(inf, list_again);
	}
}

/* ---- watch --------------------------------------------------------------- */

static void watch_event(struct skiff_informer *inf, const char *text,
			size_t len)
{
	json_t *ev = json_loadb(text, len, 0, NULL);
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	long long rv = skiff_rv(obj);

	if (!type || !json_is_object(obj)) {
		json_decref(ev);
		return;
	}
	if (!strcmp(type, "ERROR")) {
		if (json_integer_value(json_object_get(obj, "code")) == 410)
			inf->watch_gone = true;
	} else {
		if (!strcmp(type, "ADDED"))
			apply(inf, SKIFF_ADDED, obj);
		else if (!strcmp(type, "MODIFIED"))
			apply(inf, SKIFF_MODIFIED, obj);
		else if (!strcmp(type, "DELETED"))
			apply(inf, SKIFF_DELETED, obj);
		if (rv > inf->rv)
			inf->rv = rv;
	}
	json_decref(ev);
}

static size_t watch_data(char *p, size_t size, size_t n, void *arg)
{
	struct skiff_informer *inf = arg;
	size_t len = size * n, start = 0, i;
	long code = 0;

	curl_easy_getinfo(inf->watch, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200)
		return len;	/* a Status; the code says enough */
	for (i = 0; i < len; i++) {
		if (p[i] != '\n')
			continue;
		if (inf->line.len) {
			if (skiff_buf_add(&inf->line, p + start, i - start))
				return 0;
			watch_event(inf, inf->line.data, inf->line.len);
			inf->line.len = 0;
		} else if (i > start) {
			watch_event(inf, p + start, i - start);
		}
		start = i + 1;
	}
	if (start < len && skiff_buf_add(&inf->line, p + start, len - start))
		return 0;
	return len;
}

static void watch_again(void *arg)
{
	struct skiff_informer *inf = arg;

	inf->timer = NULL;
	watch_start(inf);
}

static void watch_ended(CURL *easy, CURLcode result, void *arg)
{
	struct skiff_informer *inf = arg;
	long code = 0;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	inf->line.len = 0;
	if (code == 410 || inf->watch_gone) {
		inf->watch_gone = false;
		list_start(inf);
	} else if (result == CURLE_OK && code == 200) {
		inf->retry_ms = RETRY_MS_MIN;
		watch_start(inf);
	} else {
		retry_later(inf, watch_again);
	}
}

static void watch_start(struct skiff_informer *inf)
{
	char *path = skiff_path(inf->kind, inf->ns, NULL, NULL), *url = NULL;
	int n;

	n = path ? asprintf(&url,
			    "%s%s?watch=1&allowWatchBookmarks=true&resourceVersion=%lld&timeoutSeconds=%d%s%s",
			    skiff_client_server(inf->c), path, inf->rv,
			    WATCH_SECONDS, inf->query ? "&" : "",
			    inf->query ?: "") : -1;
	free(path);
	if (n < 0) {
		retry_later(inf, watch_again);
		return;
	}
	curl_easy_reset(inf->watch);
	curl_easy_setopt(inf->watch, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(inf->watch, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(inf->watch, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	/* The server ends the watch; a silent dead one is dropped here. */
	curl_easy_setopt(inf->watch, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(inf->watch, CURLOPT_LOW_SPEED_TIME, 90L);
	curl_easy_setopt(inf->watch, CURLOPT_WRITEFUNCTION, watch_data);
	curl_easy_setopt(inf->watch, CURLOPT_WRITEDATA, inf);
	skiff_client_apply(inf->c, inf->watch);
	if (skiff_loop_transfer(skiff_client_loop(inf->c), inf->watch,
				watch_ended, inf))
		retry_later(inf, watch_again);
}

void skiff_informer_start(struct skiff_informer *inf)
{
	list_start(inf);
}
