// SPDX-License-Identifier: GPL-2.0
/*
 * Watch streams: ?watch=1 answers with a chunked stream of
 * {"type": ADDED|MODIFIED|DELETED|BOOKMARK, "object": ...} lines.
 *
 * The store tells the hub of every committed write, in revision order
 * (watch_hub_notify). The hub decodes the objects once and appends the
 * event to the buffer of every watcher it concerns; a watcher's
 * connection, suspended while its buffer is empty, is resumed. So a
 * thousand idle watchers cost a thousand buffers, not threads.
 *
 * Starting a watch: a watcher registers (taking the hub's revision R at
 * that moment), then catches up from the store (the objects as of R for a
 * watch without resourceVersion, or the history after the one given, up
 * to R) while the hub queues live events after R aside; then the two are
 * joined and the stream starts. No event is lost or sent twice.
 *
 * Watch cache: the hub keeps the last events it fanned out, decoded, as
 * kube-apiserver's watch cache does. A watch from a resourceVersion they
 * cover (every reconnecting informer's) catches up from them under the
 * hub's lock instead of asking the store for its history: with etcd, that
 * is a connection, a TLS handshake and an etcd watch saved per watch.
 *
 * DOC: Locking
 * hub->lock protects the watcher list, hub->rev and the cache (the
 * decoded events' lines are made under it too); watcher->lock its
 * buffer and state. Order: hub->lock, then watcher->lock. The stream's
 * free callback unlinks the watcher under hub->lock, after which nothing
 * else can reach it.
 */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "selector.h"

/* A watcher that falls this far behind is cut off; it relists. */
#define WATCH_MAX_BUFFER (128u << 20)
#define WATCH_BOOKMARK_SECONDS 60
#define WATCH_HEARTBEAT_SECONDS 30
/* Kubernetes' default: between one and two times its min request timeout. */
#define WATCH_MIN_TIMEOUT 1800

struct buffer {
	char *data;
	size_t len;
	size_t off;
};

struct watcher {
	struct watch_hub *hub;
	struct MHD_Connection *conn;
	const struct api_resource *res;
	char *prefix;
	char *name;
	struct list_filter filter;
	bool bookmarks;
	int64_t until;		/* catching up to here */

	pthread_mutex_t lock;
	struct buffer out;
	struct buffer aside;	/* live events while catching up */
	bool catching_up;
	bool suspended;
	bool done;
	int64_t since;		/* events up to here are not sent */
	time_t deadline;
	time_t last_write;
	time_t last_bookmark;

	struct watcher *next;
	struct watcher *prev;
};

/* One write, decoded once for every watcher. */
struct decoded {
	int64_t rev;
	enum skiff_store_event_type type;
	char *key;
	json_t *obj;	/* the object after (before, for a delete) */
	json_t *prev;
	char *lines[3];	/* ADDED, MODIFIED, DELETED, made when needed */
};

/**
 * struct watch_hub - the watchers of one apiserver and its watch cache
 * @cache: the last @cache_size events, a ring; @cache_len of them held,
 *	the oldest at @cache_first
 * @cache_base: the cache holds every event after this revision; -1 until
 *	the hub starts
 * @from_cache: watches with a resourceVersion caught up from the cache
 * @from_store: the others, from the store's history
 */
struct watch_hub {
	struct apiserver *server;
	pthread_mutex_t lock;
	struct watcher *head;
	size_t count;
	int64_t rev;
	bool stopping;
	pthread_t ticker;
	pthread_cond_t tick;
	struct decoded *cache;
	size_t cache_size;
	size_t cache_len;
	size_t cache_first;
	int64_t cache_base;
	unsigned long long from_cache;
	unsigned long long from_store;
};

static int buffer_add(struct buffer *b, const char *text, size_t len)
{
	char *grown;

	if (b->off && b->off >= b->len / 2) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->len - b->off + len > WATCH_MAX_BUFFER)
		return -ENOBUFS;
	grown = realloc(b->data, b->len + len);
	if (!grown)
		return -ENOMEM;
	memcpy(grown + b->len, text, len);
	b->data = grown;
	b->len += len;
	return 0;
}

static void buffer_free(struct buffer *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* Wakes the stream if it sleeps. Called with w->lock held. */
static void wake(struct watcher *w)
{
	if (w->suspended) {
		w->suspended = false;
		MHD_resume_connection(w->conn);
	}
}

/* Queues one line for the client. Called with w->lock held. */
static void send_line(struct watcher *w, const char *line, size_t len,
		      bool live)
{
	struct buffer *b = live && w->catching_up ? &w->aside : &w->out;

	if (w->done)
		return;
	if (buffer_add(b, line, len)) {
		/* Too far behind (or no memory): end it, the client relists */
		w->done = true;
	}
	w->last_write = time(NULL);
	if (!w->catching_up)
		wake(w);
}

static char *event_line(const char *type, const json_t *obj)
{
	json_t *ev = json_pack("{s:s, s:O}", "type", type, "object", obj);
	char *text = NULL, *line = NULL;

	if (ev)
		text = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (text && asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	free(text);
	return line;
}

/* Does the watcher see objects with this key at all? */
static bool watches_key(const struct watcher *w, const char *key)
{
	const char *slash;

	if (strncmp(key, w->prefix, strlen(w->prefix)))
		return false;
	if (!w->name)
		return true;
	slash = strrchr(key, '/');
	return slash && !strcmp(slash + 1, w->name);
}

static bool matches(const struct watcher *w, const json_t *obj)
{
	return obj && list_filter_match(&w->filter, obj);
}

/*
 * The event @w sees for a write, if any: an update that moves an object
 * out of a selector is DELETED for it, into it ADDED.
 */
static const char *event_type(const struct watcher *w,
			      enum skiff_store_event_type type,
			      const json_t *obj, const json_t *prev)
{
	bool now = type != SKIFF_STORE_DELETE && matches(w, obj);
	bool before = type != SKIFF_STORE_CREATE && matches(w, prev);

	if (now && before)
		return "MODIFIED";
	if (now)
		return "ADDED";
	if (before)
		return "DELETED";
	return NULL;
}

static void decode_event(struct decoded *d, const struct skiff_store_event *ev)
{
	memset(d, 0, sizeof(*d));
	d->rev = ev->rev;
	d->type = ev->type;
	d->key = strdup(ev->kv.key);
	d->obj = object_decode(ev->kv.value, ev->kv.value_len, ev->rev);
	if (ev->prev.value)
		d->prev = object_decode(ev->prev.value, ev->prev.value_len,
					ev->prev.mod_rev);
}

static void decoded_free(struct decoded *d)
{
	int i;

	free(d->key);
	json_decref(d->obj);
	json_decref(d->prev);
	for (i = 0; i < 3; i++)
		free(d->lines[i]);
}

/* Queues @d for @w if it concerns it. Called with w->lock held. */
static void deliver(struct watcher *w, struct decoded *d, bool live)
{
	static const char *const types[] = { "ADDED", "MODIFIED", "DELETED" };
	const char *type;
	int i;

	if (d->rev <= w->since || !d->key || !watches_key(w, d->key))
		return;
	type = event_type(w, d->type,
			  d->type == SKIFF_STORE_DELETE ? NULL : d->obj,
			  d->type == SKIFF_STORE_DELETE ? d->obj : d->prev);
	if (!type)
		return;
	for (i = 0; strcmp(types[i], type); i++)
		;
	if (!d->lines[i])
		d->lines[i] = event_line(type, d->obj);
	if (d->lines[i])
		send_line(w, d->lines[i], strlen(d->lines[i]), live);
}

/* The @i-th oldest event in the cache. Called with hub->lock held. */
static struct decoded *cache_at(struct watch_hub *hub, size_t i)
{
	return &hub->cache[(hub->cache_first + i) % hub->cache_size];
}

/*
 * Keeps @d, the newest event, in the cache; the oldest makes room. Called
 * with hub->lock held. Return: whether the cache took @d.
 */
static bool cache_add(struct watch_hub *hub, struct decoded *d)
{
	struct decoded *slot;

	if (!hub->cache_size)
		return false;
	if (hub->cache_len == hub->cache_size) {
		slot = cache_at(hub, 0);
		/* Its revision is no longer covered: what came after it is. */
		hub->cache_base = slot->rev;
		decoded_free(slot);
		hub->cache_first = (hub->cache_first + 1) % hub->cache_size;
		hub->cache_len--;
	}
	*cache_at(hub, hub->cache_len) = *d;
	hub->cache_len++;
	return true;
}

/*
 * Catches @w up from the cache when it holds every event after @since.
 * Called with hub->lock held. Return: whether it did.
 */
static bool cache_replay(struct watch_hub *hub, struct watcher *w,
			 int64_t since)
{
	size_t i;

	if (hub->cache_base < 0 || since < hub->cache_base || since > hub->rev)
		return false;
	for (i = 0; i < hub->cache_len; i++) {
		pthread_mutex_lock(&w->lock);
		deliver(w, cache_at(hub, i), false);
		pthread_mutex_unlock(&w->lock);
	}
	return true;
}

void watch_hub_notify(const struct skiff_store_event *ev, void *arg)
{
	struct watch_hub *hub = arg;
	struct decoded d;
	struct watcher *w;
	bool kept;

	decode_event(&d, ev);
	pthread_mutex_lock(&hub->lock);
	hub->rev = ev->rev;
	for (w = hub->head; w; w = w->next) {
		pthread_mutex_lock(&w->lock);
		deliver(w, &d, true);
		pthread_mutex_unlock(&w->lock);
	}
	kept = cache_add(hub, &d);
	pthread_mutex_unlock(&hub->lock);
	if (!kept)
		decoded_free(&d);
}

static int replay_one(const struct skiff_store_event *ev, void *arg)
{
	struct watcher *w = arg;
	struct decoded d;

	/* Later events come live: stop here (1 is not an error). */
	if (ev->rev > w->until)
		return 1;
	decode_event(&d, ev);
	pthread_mutex_lock(&w->lock);
	deliver(w, &d, false);
	pthread_mutex_unlock(&w->lock);
	decoded_free(&d);
	return 0;
}

/* ADDED for every object as of @rev: a watch without resourceVersion. */
static int send_initial(struct watcher *w, int64_t rev)
{
	struct skiff_store_range range = { .prefix = w->prefix, .rev = rev };
	struct skiff_kv_list list;
	int64_t read_rev;
	bool more;
	size_t i;
	int err;

	err = skiff_store_list(w->hub->server->store, &range, &list,
			       &read_rev, &more);
	if (err)
		return err;
	for (i = 0; i < list.count; i++) {
		json_t *obj;
		char *line;

		if (!watches_key(w, list.items[i].key))
			continue;
		obj = object_decode(list.items[i].value,
				    list.items[i].value_len,
				    list.items[i].mod_rev);
		if (!matches(w, obj)) {
			json_decref(obj);
			continue;
		}
		line = event_line("ADDED", obj);
		json_decref(obj);
		pthread_mutex_lock(&w->lock);
		if (line)
			send_line(w, line, strlen(line), false);
		pthread_mutex_unlock(&w->lock);
		free(line);
	}
	skiff_kv_list_free(&list);
	return 0;
}

static void bookmark(struct watcher *w, int64_t rev)
{
	char *line = NULL;

	if (asprintf(&line,
		     "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{\"resourceVersion\":\"%lld\"}}}\n",
		     w->res->kind, w->res->api_version, (long long)rev) < 0)
		return;
	send_line(w, line, strlen(line), true);
	w->last_bookmark = time(NULL);
	free(line);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct watcher *w = cls;
	size_t n;

	(void)pos;
	pthread_mutex_lock(&w->lock);
	n = w->out.len - w->out.off;
	if (n) {
		if (n > max)
			n = max;
		memcpy(buf, w->out.data + w->out.off, n);
		w->out.off += n;
		pthread_mutex_unlock(&w->lock);
		return (ssize_t)n;
	}
	if (w->done) {
		pthread_mutex_unlock(&w->lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	/* Nothing to send: sleep until an event (or the ticker) wakes us. */
	w->suspended = true;
	MHD_suspend_connection(w->conn);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

static void unlink_watcher(struct watcher *w)
{
	struct watch_hub *hub = w->hub;

	pthread_mutex_lock(&hub->lock);
	if (w->prev)
		w->prev->next = w->next;
	else if (hub->head == w)
		hub->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->next = NULL;
	w->prev = NULL;
	hub->count--;
	pthread_mutex_unlock(&hub->lock);
}

static void watcher_free(struct watcher *w)
{
	list_filter_free(&w->filter);
	buffer_free(&w->out);
	buffer_free(&w->aside);
	pthread_mutex_destroy(&w->lock);
	free(w->prefix);
	free(w->name);
	free(w);
}

static void stream_free(void *cls)
{
	struct watcher *w = cls;

	unlink_watcher(w);
	watcher_free(w);
}

static time_t watch_deadline(struct api_request *req)
{
	const char *t = api_query(req, "timeoutSeconds");
	unsigned int r = 0;
	long secs;

	secs = t ? strtol(t, NULL, 10) : 0;
	if (secs > 0)
		return time(NULL) + secs;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = 0;
	return time(NULL) + WATCH_MIN_TIMEOUT + r % WATCH_MIN_TIMEOUT;
}

enum MHD_Result watch_handle(struct api_request *req)
{
	struct watch_hub *hub = req->server->hub;
	const char *rv_text = api_query(req, "resourceVersion");
	const char *bm = api_query(req, "allowWatchBookmarks");
	struct MHD_Response *resp;
	struct watcher *w;
	enum MHD_Result ret;
	int64_t since = 0, rev;
	bool cached;
	char err[512];
	int e;

	if (rv_text && *rv_text && strcmp(rv_text, "0") &&
	    !meta_parse_rv(rv_text, &since))
		return api_reply_error(req, MHD_HTTP_BAD_REQUEST, "BadRequest",
				       "resourceVersion: invalid value '%s'",
				       rv_text);
	w = calloc(1, sizeof(*w));
	if (!w)
		return MHD_NO;
	w->hub = hub;
	w->conn = req->conn;
	w->res = req->res;
	w->bookmarks = bm && (!strcmp(bm, "true") || !strcmp(bm, "1"));
	w->deadline = watch_deadline(req);
	w->last_write = time(NULL);
	w->last_bookmark = w->last_write;
	w->catching_up = true;
	pthread_mutex_init(&w->lock, NULL);
	w->prefix = object_prefix(req->res, req->namespace);
	if (req->name)
		w->name = strdup(req->name);
	w->since = since;
	if (list_filter_parse(req, &w->filter, err, sizeof(err))) {
		watcher_free(w);
		return api_reply_error(req, MHD_HTTP_BAD_REQUEST, "BadRequest",
				       "%s", err);
	}
	if (!w->prefix || (req->name && !w->name)) {
		watcher_free(w);
		return MHD_NO;
	}

	pthread_mutex_lock(&hub->lock);
	if (since && since < skiff_store_compacted(hub->server->store)) {
		pthread_mutex_unlock(&hub->lock);
		watcher_free(w);
		return api_reply_error(req, MHD_HTTP_GONE, "Expired",
				       "too old resource version: %lld (%lld)",
				       (long long)since,
				       (long long)skiff_store_compacted(hub->server->store));
	}
	rev = hub->rev;
	w->until = rev;
	cached = since && cache_replay(hub, w, since);
	if (cached)
		hub->from_cache++;
	else if (since)
		hub->from_store++;
	/*
	 * A watch begun after shutdown started ends at once: its stream must
	 * never sleep suspended, as MHD_stop_daemon() aborts on one that does.
	 */
	if (hub->stopping)
		w->done = true;
	w->next = hub->head;
	if (hub->head)
		hub->head->prev = w;
	hub->head = w;
	hub->count++;
	pthread_mutex_unlock(&hub->lock);

	/* Catch up to @rev; live events after it wait aside meanwhile. */
	if (cached) {
		e = 0;
	} else if (!since) {
		e = send_initial(w, rev);
	} else {
		e = skiff_store_history(hub->server->store, since, replay_one,
					w);
		if (e == 1)
			e = 0;
	}
	if (e) {
		unlink_watcher(w);
		watcher_free(w);
		return api_reply_store_error(req, e, NULL);
	}
	pthread_mutex_lock(&w->lock);
	if (w->aside.len)
		buffer_add(&w->out, w->aside.data + w->aside.off,
			   w->aside.len - w->aside.off);
	buffer_free(&w->aside);
	w->catching_up = false;
	pthread_mutex_unlock(&w->lock);

	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
						 stream_read, w, stream_free);
	if (!resp) {
		stream_free(w);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
	ret = MHD_queue_response(req->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * Once a second: ends streams past their timeout, sends bookmarks to those
 * that asked, and a newline to idle ones (a client that went away is
 * noticed only when a write fails).
 */
static void *ticker(void *arg)
{
	struct watch_hub *hub = arg;
	struct timespec ts;
	struct watcher *w;

	pthread_mutex_lock(&hub->lock);
	while (!hub->stopping) {
		time_t now = time(NULL);

		for (w = hub->head; w; w = w->next) {
			pthread_mutex_lock(&w->lock);
			if (w->catching_up) {
				pthread_mutex_unlock(&w->lock);
				continue;
			}
			if (now >= w->deadline) {
				w->done = true;
				wake(w);
			} else if (w->bookmarks &&
				   now - w->last_bookmark >=
				   WATCH_BOOKMARK_SECONDS) {
				bookmark(w, hub->rev);
			} else if (now - w->last_write >=
				   WATCH_HEARTBEAT_SECONDS) {
				send_line(w, "\n", 1, true);
			}
			pthread_mutex_unlock(&w->lock);
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&hub->tick, &hub->lock, &ts);
	}
	pthread_mutex_unlock(&hub->lock);
	return NULL;
}

int watch_hub_create(struct apiserver *server, size_t cache_size,
		     struct watch_hub **out)
{
	struct watch_hub *hub = calloc(1, sizeof(*hub));
	int err;

	if (!hub)
		return -ENOMEM;
	hub->server = server;
	hub->cache_base = -1;
	hub->cache_size = cache_size;
	hub->cache = cache_size ? calloc(cache_size, sizeof(*hub->cache)) : NULL;
	if (cache_size && !hub->cache) {
		free(hub);
		return -ENOMEM;
	}
	pthread_mutex_init(&hub->lock, NULL);
	pthread_cond_init(&hub->tick, NULL);
	err = -pthread_create(&hub->ticker, NULL, ticker, hub);
	if (err) {
		pthread_cond_destroy(&hub->tick);
		pthread_mutex_destroy(&hub->lock);
		free(hub->cache);
		free(hub);
		return err;
	}
	*out = hub;
	return 0;
}

void watch_hub_start(struct watch_hub *hub, int64_t rev)
{
	pthread_mutex_lock(&hub->lock);
	if (rev > hub->rev)
		hub->rev = rev;
	/* Notifications came from @rev on: any already here are after it. */
	if (rev > hub->cache_base)
		hub->cache_base = rev;
	pthread_mutex_unlock(&hub->lock);
}

void watch_hub_shutdown(struct watch_hub *hub)
{
	struct watcher *w;

	pthread_mutex_lock(&hub->lock);
	hub->stopping = true;
	for (w = hub->head; w; w = w->next) {
		pthread_mutex_lock(&w->lock);
		w->done = true;
		wake(w);
		pthread_mutex_unlock(&w->lock);
	}
	pthread_cond_signal(&hub->tick);
	pthread_mutex_unlock(&hub->lock);
}

void watch_hub_destroy(struct watch_hub *hub)
{
	size_t i;

	if (!hub)
		return;
	pthread_mutex_lock(&hub->lock);
	hub->stopping = true;
	pthread_cond_signal(&hub->tick);
	pthread_mutex_unlock(&hub->lock);
	pthread_join(hub->ticker, NULL);
	for (i = 0; i < hub->cache_len; i++)
		decoded_free(cache_at(hub, i));
	free(hub->cache);
	pthread_cond_destroy(&hub->tick);
	pthread_mutex_destroy(&hub->lock);
	free(hub);
}

void watch_hub_catch_ups(struct watch_hub *hub, unsigned long long *cache,
			 unsigned long long *store)
{
	pthread_mutex_lock(&hub->lock);
	*cache = hub->from_cache;
	*store = hub->from_store;
	pthread_mutex_unlock(&hub->lock);
}

size_t watch_hub_count(struct watch_hub *hub)
{
	size_t n;

	pthread_mutex_lock(&hub->lock);
	n = hub->count;
	pthread_mutex_unlock(&hub->lock);
	return n;
}
