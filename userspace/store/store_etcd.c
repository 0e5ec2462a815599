// SPDX-License-Identifier: GPL-2.0
/*
 * The etcd v3 store: "etcd:URL[,URL...]", each URL http://HOST:PORT or
 * https://HOST:PORT, so that several apiservers can share one etcd cluster.
 *
 * etcd already has the store's model, so the mapping is direct: a key is
 * an etcd key, a value an etcd value, the store's revision is etcd's
 * revision (an empty etcd is at revision 1, not 0) and mod_rev and
 * create_rev are etcd's mod_revision and create_revision. It talks to
 * etcd's JSON gateway (grpc-gateway, /v3/...: keys and values in base64,
 * 64-bit numbers as strings, fields at their zero value left out) over
 * HTTP/1.1 with libcurl, rather than gRPC, for which Debian has no C
 * library.
 *
 *   create	txn: if create_revision(key) == 0 then put
 *   update	txn: if mod_revision(key) == expect (or create_revision > 0
 *		for any) then put, else range key: no key is -ENOENT, else
 *		-ESTALE
 *   delete	the same, with a delete that returns the old value
 *   list	range [lower, prefix successor) at a revision, with a limit;
 *		etcd says when the revision is compacted or in the future
 *   history	a watch from after + 1 with prev_kv, read until the revision
 *		its creation reported
 *
 * Notify: a thread keeps one watch on the whole key space, from the
 * revision at open, with the previous values, and calls notify for each
 * event in revision order: the writes of this process and of every other
 * apiserver on the same etcd. When the watch breaks (a member died, the
 * connection dropped) it resumes where it stopped on the next endpoint. A
 * writer returns only once notify has seen its write (or a few seconds
 * passed), as with the embedded store, so that a client that reads its
 * write back from a watch on the same apiserver finds it.
 *
 * Compaction: the same thread compacts etcd to keep the last `history`
 * revisions it has delivered. Every apiserver does so; the first one wins
 * and the others' requests are refused as already done. etcd 3.4 does not
 * report its compaction point, so open finds it by reading at revisions (a
 * read before it fails), and later learns it from its own compactions and
 * from what etcd refuses.
 *
 * Endpoints: requests go to one endpoint until it fails, then to the next.
 * A read goes on to the next endpoint whenever it got no verdict of etcd's
 * (no connection, a broken one, a member without a leader or timing out);
 * a write only when it cannot have reached raft (no connection, or no
 * leader), since a write that timed out may have been applied, and doing
 * it twice would be wrong (a create would fail on itself).
 *
 * Durability is etcd's: it answers a write once a quorum has fsync'd it.
 *
 * TLS: https endpoints are checked against the CA file given (else the
 * system's) and are shown the client certificate given, as kube-apiserver's
 * --etcd-cafile, --etcd-certfile and --etcd-keyfile; etcd with
 * --client-cert-auth then admits only certificates its CA signed. All
 * endpoints use one scheme: a cluster half in the clear is not secured.
 */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "store_impl.h"
#include "base64.h"
#include "buf.h"
#include "util.h"

#define DEFAULT_HISTORY		10000
#define DEFAULT_PORT		"2379"
#define MAX_COMPACT_SLACK	1024
#define CONNECT_TIMEOUT_MS	2000
/* With the TLS handshake, which takes seconds on an emulated CPU. */
#define CONNECT_TLS_TIMEOUT_MS	10000
/* etcd times a proposal out after ~7 s; this is only for a member gone mute. */
#define REQUEST_TIMEOUT_MS	20000
/* A write waits this long at most for notify to see it. */
#define NOTIFY_WAIT_S		10
#define KEEPALIVE_IDLE_S	10
#define KEEPALIVE_INTERVAL_S	5
/* Waits between two rounds of failed watches on every endpoint. */
#define RETRY_MIN_MS		100
#define RETRY_MAX_MS		2000

/* "\0": as a key, the first there is; as a range end, every key from key on. */
#define ALL_KEYS_B64		"AA=="

/**
 * struct conn - a curl handle and its kept-alive connection
 * @curl: the handle
 * @next: next in the pool
 * @errbuf: curl's own words on the last failure (the TLS reason)
 */
struct conn {
	CURL *curl;
	struct conn *next;
	char errbuf[CURL_ERROR_SIZE];
};

/**
 * struct etcd_store - an open etcd store
 * @base: what store.c sees; first, so that a pointer to it is one to this
 * @url: the endpoints as given, for messages
 * @endpoints: "http://HOST:PORT" or "https://HOST:PORT" each
 * @https: the endpoints are https
 * @ca_file: etcd's CA (NULL: the system's)
 * @cert_file: the client certificate (NULL: none)
 * @key_file: its key
 * @nr_endpoints: how many
 * @preferred: the endpoint requests go to first (__atomic)
 * @headers: the HTTP headers of every request
 * @history: revisions of history to keep
 * @slack: how far compaction may lag, so that it runs every so many writes
 * @notify: the callback for writes
 * @notify_arg: its argument
 * @rev: the highest revision this handle has seen (__atomic)
 * @compacted: the compaction point as far as this handle knows (__atomic)
 * @pool_lock: protects @pool
 * @pool: curl handles not in use
 * @lock: protects @delivered (which only the watch thread writes) and
 *	@stopping
 * @notified: broadcast when @delivered grows or the store closes
 * @delivered: the revision of the last event handed to @notify
 * @stopping: the store is closing
 * @multi: the watch thread's multi handle, which close wakes
 * @wcurl: the watch thread's handle
 * @werrbuf: @wcurl's error buffer
 * @watcher: the watch thread
 */
struct etcd_store {
	struct skiff_store base;
	char *url;
	char **endpoints;
	unsigned int nr_endpoints;
	bool https;
	char *ca_file;
	char *cert_file;
	char *key_file;
	unsigned int preferred;
	struct curl_slist *headers;
	int64_t history;
	int64_t slack;
	skiff_store_notify_fn notify;
	void *notify_arg;

	int64_t rev;
	int64_t compacted;

	pthread_mutex_t pool_lock;
	struct conn *pool;

	pthread_mutex_t lock;
	pthread_cond_t notified;
	int64_t delivered;
	bool stopping;
	CURLM *multi;
	CURL *wcurl;
	char werrbuf[CURL_ERROR_SIZE];
	pthread_t watcher;
};

static struct etcd_store *to_etcd(struct skiff_store *store)
{
	return (struct etcd_store *)store;
}

static void atomic_max(int64_t *p, int64_t v)
{
	int64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (v > cur &&
	       !__atomic_compare_exchange_n(p, &cur, v, false, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED))
		;
}

/* ---- JSON and base64 --------------------------------------------------- */

/* Decodes a base64 field; a missing one is empty, as protobuf leaves it. */
static int b64_field(const json_t *obj, const char *name,
		     gnutls_datum_t *out)
{
	const json_t *j = json_object_get(obj, name);
	gnutls_datum_t in;

	out->data = NULL;
	out->size = 0;
	if (!j)
		return 0;
	if (!json_is_string(j))
		return -EIO;
	in.data = (unsigned char *)json_string_value(j);
	in.size = json_string_length(j);
	if (!in.size)
		return 0;
	return gnutls_base64_decode2(&in, out) < 0 ? -EIO : 0;
}

/* An int64 field, which the gateway writes as a string; missing is 0. */
static int int_field(const json_t *obj, const char *name, int64_t *out)
{
	const json_t *j = json_object_get(obj, name);
	const char *text;
	char *end;

	*out = 0;
	if (!j)
		return 0;
	if (json_is_integer(j)) {
		*out = json_integer_value(j);
		return 0;
	}
	if (!json_is_string(j))
		return -EIO;
	text = json_string_value(j);
	errno = 0;
	*out = strtoll(text, &end, 10);
	return errno || end == text || *end ? -EIO : 0;
}

/* The header's revision: every answer of etcd has one. */
static int header_rev(const json_t *resp, int64_t *rev)
{
	const json_t *h = json_object_get(resp, "header");

	if (!json_is_object(h) || int_field(h, "revision", rev) || *rev < 1)
		return -EIO;
	return 0;
}

/* Fills @kv from an etcd mvccpb.KeyValue. */
static int kv_parse(const json_t *j, struct skiff_kv *kv)
{
	gnutls_datum_t key = { 0 }, value = { 0 };
	int64_t create_rev, mod_rev;
	int err;

	if (!json_is_object(j))
		return -EIO;
	err = b64_field(j, "key", &key);
	if (!err)
		err = b64_field(j, "value", &value);
	if (!err)
		err = int_field(j, "create_revision", &create_rev);
	if (!err)
		err = int_field(j, "mod_revision", &mod_rev);
	if (!err && (!key.size || mod_rev < 1))
		err = -EIO;
	if (!err)
		err = skiff_kv_set(kv, key.data, key.size, value.data,
				   value.size, create_rev, mod_rev);
	gnutls_free(key.data);
	gnutls_free(value.data);
	return err;
}

/*
 * Builds a store event from an etcd mvccpb.Event, with the same shape as
 * the embedded store's (see struct skiff_store_event). An update or a
 * delete without its previous value is one whose previous revision was
 * compacted away: -ERANGE.
 */
static int event_parse(const json_t *j, struct skiff_store_event *ev)
{
	const json_t *type = json_object_get(j, "type");
	const json_t *prev = json_object_get(j, "prev_kv");
	struct skiff_kv kv = { 0 };
	int err;

	memset(ev, 0, sizeof(*ev));
	err = kv_parse(json_object_get(j, "kv"), &kv);
	if (err)
		return err;
	ev->rev = kv.mod_rev;
	if (!type || !strcmp(json_string_value(type) ?: "", "PUT")) {
		if (kv.create_rev == kv.mod_rev) {
			ev->type = SKIFF_STORE_CREATE;
			ev->kv = kv;
			return 0;
		}
		ev->type = SKIFF_STORE_UPDATE;
	} else if (!strcmp(json_string_value(type) ?: "", "DELETE")) {
		ev->type = SKIFF_STORE_DELETE;
	} else {
		skiff_kv_free(&kv);
		return -EIO;
	}
	err = prev ? kv_parse(prev, &ev->prev) : -ERANGE;
	if (!err && strcmp(ev->prev.key, kv.key))
		err = -EIO;
	if (err || ev->type == SKIFF_STORE_UPDATE) {
		ev->kv = kv;
	} else {
		/* The value it had, at the revision of the deletion. */
		err = skiff_kv_set(&ev->kv, kv.key, strlen(kv.key),
				   ev->prev.value, ev->prev.value_len,
				   ev->prev.create_rev, kv.mod_rev);
		skiff_kv_free(&kv);
	}
	if (err)
		skiff_store_event_free(ev);
	return err;
}

/* ---- HTTP -------------------------------------------------------------- */

static void conn_free(struct conn *c)
{
	curl_easy_cleanup(c->curl);
	free(c);
}

/* The options every handle of @s has; curl explains failures in @errbuf. */
static void curl_setup(struct etcd_store *s, CURL *curl, char *errbuf)
{
	errbuf[0] = '\0';
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(s->https ? CONNECT_TLS_TIMEOUT_MS : CONNECT_TIMEOUT_MS));
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPIDLE, (long)KEEPALIVE_IDLE_S);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPINTVL,
			 (long)KEEPALIVE_INTERVAL_S);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, s->https ? "https" : "http");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, skiff_buf_curl_write);
	if (!s->https)
		return;
	/* The gateway's HTTP/1.1, as on http, not the HTTP/2 ALPN would pick. */
	curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (s->ca_file)
		curl_easy_setopt(curl, CURLOPT_CAINFO, s->ca_file);
	if (s->cert_file) {
		curl_easy_setopt(curl, CURLOPT_SSLCERT, s->cert_file);
		curl_easy_setopt(curl, CURLOPT_SSLKEY, s->key_file);
	}
}

static int conn_get(struct etcd_store *s, struct conn **out)
{
	struct conn *c;

	pthread_mutex_lock(&s->pool_lock);
	c = s->pool;
	if (c)
		s->pool = c->next;
	pthread_mutex_unlock(&s->pool_lock);
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return -ENOMEM;
		c->curl = curl_easy_init();
		if (!c->curl) {
			free(c);
			return -ENOMEM;
		}
		curl_setup(s, c->curl, c->errbuf);
	}
	*out = c;
	return 0;
}

static void conn_put(struct etcd_store *s, struct conn *c)
{
	pthread_mutex_lock(&s->pool_lock);
	c->next = s->pool;
	s->pool = c;
	pthread_mutex_unlock(&s->pool_lock);
}

/*
 * The errno of a transfer that failed, with what curl says in @why; @errbuf
 * is the handle's error buffer, which has the details (a TLS alert, which
 * certificate check failed).
 */
static int curl_errno(CURL *curl, CURLcode rc, const char *errbuf, char *why,
		      size_t why_len)
{
	const char *what = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	long os = 0;

	curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os);
	switch (rc) {
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		/* Our own files: no member would do better. */
		snprintf(why, why_len, "TLS: %s", what);
		return -EINVAL;
	case CURLE_PEER_FAILED_VERIFICATION:
		snprintf(why, why_len, "TLS: etcd's certificate: %s", what);
		return -EKEYREJECTED;
	case CURLE_SSL_CONNECT_ERROR:
		snprintf(why, why_len, "TLS handshake: %s", what);
		/*
		 * A server that refuses our certificate may close before
		 * we finish writing the handshake: that is the same
		 * refusal as a reset right after it, not a failed connect.
		 */
		return os == EPIPE || os == ECONNRESET ? -ECONNRESET :
							 -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(why, why_len, "cannot resolve the host name");
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		snprintf(why, why_len, "%s",
			 os ? strerror(os) : curl_easy_strerror(rc));
		return os == EHOSTUNREACH || os == ENETUNREACH ||
		       os == ETIMEDOUT ? -(int)os : -ECONNREFUSED;
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		snprintf(why, why_len, "the connection broke (%s)", what);
		return -ECONNRESET;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(why, why_len, "timed out");
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	default:
		snprintf(why, why_len, "%s", what);
		return -EIO;
	}
}

/* Whether a call that failed at one member may go to the next. */
enum retry {
	RETRY_NONE,	/* etcd's verdict, which any member would give */
	RETRY_READ,	/* the member failed; a write may have been applied */
	RETRY_ANY,	/* the member did nothing: a write may go on too */
};

/* What etcd says when a call fails, as {"error", "message", "code"}. */
static int etcd_errno(long http, const struct skiff_buf *body, enum retry *retry,
		      char *why, size_t why_len)
{
	json_t *j = json_loadb(body->data ?: "", body->len, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "message"));
	int64_t code = -1;
	int err = -EIO;

	*retry = RETRY_NONE;
	if (!msg) {
		/* Not the gateway: its first line says what it is. */
		snprintf(why, why_len,
			 "HTTP %ld, not an answer of etcd 3.4 or later: %.*s",
			 http, (int)strcspn(body->data ?: "", "\r\n"),
			 body->data ?: "");
		if (http >= 500)
			*retry = RETRY_READ;
		json_decref(j);
		return -EIO;
	}
	int_field(j, "code", &code);
	snprintf(why, why_len, "%s", msg);
	if (strstr(msg, "required revision has been compacted") ||
	    strstr(msg, "required revision is a future revision"))
		err = -ERANGE;
	else if (strstr(msg, "request is too large") ||
		 strstr(msg, "larger than max"))
		err = -E2BIG;
	/* Refused before the request reached raft (the hasleader header). */
	else if (strstr(msg, "no leader"))
		*retry = RETRY_ANY;
	/* Unavailable: timed out, leader changed, stopping: maybe applied. */
	else if (code == 14)
		*retry = RETRY_READ;
	json_decref(j);
	return err;
}

/*
 * One unary call: POSTs @req to @path and parses the answer into *@resp.
 * Starts at the preferred endpoint and moves on to the next when this one
 * did nothing (unreachable, or no leader), or for an @idempotent call,
 * whenever it failed without a verdict of etcd's. @why says what went
 * wrong, endpoint by endpoint (may be NULL).
 */
static int etcd_call(struct etcd_store *s, const char *path, json_t *req,
		     bool idempotent, json_t **resp, char *why,
		     size_t why_len)
{
	unsigned int first, i, ep;
	struct skiff_buf body = { 0 };
	char url[512], msg[256];
	size_t used = 0;
	enum retry retry;
	struct conn *c;
	char *text;
	CURLcode rc;
	long http, sent;
	int err;

	*resp = NULL;
	if (why && why_len)
		why[0] = '\0';
	text = json_dumps(req, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	err = conn_get(s, &c);
	if (err)
		goto out_free;
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)strlen(text));
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, (long)REQUEST_TIMEOUT_MS);

	first = __atomic_load_n(&s->preferred, __ATOMIC_RELAXED);
	for (i = 0; i < s->nr_endpoints; i++) {
		ep = (first + i) % s->nr_endpoints;
		snprintf(url, sizeof(url), "%s%s", s->endpoints[ep], path);
		curl_easy_setopt(c->curl, CURLOPT_URL, url);
		body.len = 0;
		rc = curl_easy_perform(c->curl);
		if (rc == CURLE_OK) {
			http = 0;
			curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE,
					  &http);
			if (http == 200)
				break;
			err = etcd_errno(http, &body, &retry, msg,
					 sizeof(msg));
			if (retry == RETRY_NONE)
				goto out_why;
		} else {
			sent = 0;
			curl_easy_getinfo(c->curl, CURLINFO_REQUEST_SIZE,
					  &sent);
			err = curl_errno(c->curl, rc, c->errbuf, msg,
					 sizeof(msg));
			retry = !sent || rc == CURLE_COULDNT_CONNECT ||
				rc == CURLE_COULDNT_RESOLVE_HOST ?
				RETRY_ANY : RETRY_READ;
			if (err == -ENOMEM)
				goto out_why;
		}
		if (why && used < why_len)
			used += snprintf(why + used, why_len - used, "%s%s: %s",
					 used ? "; " : "", s->endpoints[ep],
					 msg);
		/* The next calls start elsewhere: this member is in trouble. */
		__atomic_store_n(&s->preferred, (ep + 1) % s->nr_endpoints,
				 __ATOMIC_RELAXED);
		if (retry == RETRY_READ && !idempotent)
			goto out_put;
	}
	if (i == s->nr_endpoints)
		goto out_put;
	if (ep != first)
		__atomic_store_n(&s->preferred, ep, __ATOMIC_RELAXED);
	*resp = json_loadb(body.data ?: "", body.len, 0, NULL);
	err = 0;
	if (!json_is_object(*resp)) {
		snprintf(msg, sizeof(msg), "HTTP 200 with no JSON object: %.80s",
			 body.data ?: "");
		err = -EIO;
		json_decref(*resp);
		*resp = NULL;
		goto out_why;
	}
	goto out_put;

out_why:
	if (why && used < why_len)
		snprintf(why + used, why_len - used, "%s%s: %s",
			 used ? "; " : "", s->endpoints[ep], msg);
out_put:
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
	conn_put(s, c);
out_free:
	free(body.data);
	free(text);
	return err;
}

/*
 * A call from an operation, which returns only an errno: what the
 * operation's caller cannot expect is said on stderr, so that an
 * InternalError of the apiserver has its cause in the log.
 */
static int call(struct etcd_store *s, const char *path, json_t *req,
		bool idempotent, json_t **resp)
{
	char why[1024];
	int err;

	if (!req)
		return -ENOMEM;
	err = etcd_call(s, path, req, idempotent, resp, why, sizeof(why));
	json_decref(req);
	if (err && err != -ERANGE && err != -E2BIG && err != -ENOMEM)
		fprintf(stderr, "skiff store etcd:%s: %s %s\n", s->url, path,
			why);
	return err;
}

/* ---- reads ------------------------------------------------------------- */

static int64_t et_revision(struct skiff_store *store)
{
	return __atomic_load_n(&to_etcd(store)->rev, __ATOMIC_ACQUIRE);
}

static int64_t et_compacted(struct skiff_store *store)
{
	return __atomic_load_n(&to_etcd(store)->compacted, __ATOMIC_ACQUIRE);
}

/* A range's answer: its revision (which @s has now seen) and its kvs. */
static int range_answer(struct etcd_store *s, const json_t *resp,
			int64_t *rev, const json_t **kvs)
{
	int err = header_rev(resp, rev);

	if (err)
		return err;
	atomic_max(&s->rev, *rev);
	*kvs = json_object_get(resp, "kvs");
	if (*kvs && !json_is_array(*kvs))
		return -EIO;
	return 0;
}

static int et_get(struct skiff_store *store, const char *key,
		  struct skiff_kv *out)
{
	struct etcd_store *s = to_etcd(store);
	const json_t *kvs;
	json_t *resp;
	int64_t rev;
	int err;

	err = call(s, "/v3/kv/range",
		   json_pack("{s:o}", "key", skiff_base64_json(key, strlen(key))), true,
		   &resp);
	if (err)
		return err;
	err = range_answer(s, resp, &rev, &kvs);
	if (!err)
		err = json_array_size(kvs) ?
		      kv_parse(json_array_get(kvs, 0), out) : -ENOENT;
	json_decref(resp);
	return err;
}

/* A range request of the keys under @prefix, or from @lower on. */
static json_t *range_req(const char *prefix, const char *after)
{
	const char *lower;
	size_t lower_len, upper_len = 0;
	json_t *req;
	char *upper;
	int err;

	skiff_store_range_lower(prefix, after, &lower, &lower_len);
	if (!skiff_store_range_upper(prefix, &upper, &upper_len, &err) && err)
		return NULL;
	/* etcd takes no empty key: "\0" is the first key there can be. */
	req = json_pack("{s:o, s:o}", "key",
			lower_len ? skiff_base64_json(lower, lower_len) :
			json_string(ALL_KEYS_B64), "range_end",
			upper ? skiff_base64_json(upper, upper_len) :
			json_string(ALL_KEYS_B64));
	free(upper);
	return req;
}

static int et_list(struct skiff_store *store,
		   const struct skiff_store_range *range,
		   struct skiff_kv_list *out, int64_t *rev_out, bool *more)
{
	struct etcd_store *s = to_etcd(store);
	const json_t *kvs, *m;
	json_t *req, *resp;
	int64_t rev;
	size_t i, n;
	int err;

	req = range_req(range->prefix, range->after);
	if (req && range->limit &&
	    json_object_set_new(req, "limit",
				json_integer(range->limit < INT64_MAX ?
					     (json_int_t)range->limit :
					     INT64_MAX))) {
		json_decref(req);
		req = NULL;
	}
	if (req && range->rev &&
	    json_object_set_new(req, "revision", json_integer(range->rev))) {
		json_decref(req);
		req = NULL;
	}
	err = call(s, "/v3/kv/range", req, true, &resp);
	if (err)
		return err;
	err = range_answer(s, resp, &rev, &kvs);
	if (err)
		goto out;
	n = json_array_size(kvs);
	if (n) {
		out->items = calloc(n, sizeof(*out->items));
		if (!out->items) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < n && !err; i++) {
		err = kv_parse(json_array_get(kvs, i), &out->items[i]);
		if (!err)
			out->count++;
	}
	m = json_object_get(resp, "more");
	*more = json_is_true(m);
	*rev_out = range->rev ? range->rev : rev;
out:
	if (err)
		skiff_kv_list_free(out);
	json_decref(resp);
	return err;
}

static int et_count(struct skiff_store *store, const char *prefix,
		    size_t *count)
{
	struct etcd_store *s = to_etcd(store);
	const json_t *kvs;
	json_t *req, *resp;
	int64_t rev, n;
	int err;

	req = range_req(prefix, NULL);
	if (req && json_object_set_new(req, "count_only", json_true())) {
		json_decref(req);
		req = NULL;
	}
	err = call(s, "/v3/kv/range", req, true, &resp);
	if (err)
		return err;
	err = range_answer(s, resp, &rev, &kvs);
	if (!err)
		err = int_field(resp, "count", &n);
	if (!err)
		*count = n;
	json_decref(resp);
	return err;
}

/* ---- writes ------------------------------------------------------------ */

/*
 * Waits until notify has seen @rev, so that a writer returns after its
 * event was handed out, as with the embedded store. Not forever: the
 * write itself is done, and a watch that is reconnecting will catch up.
 */
static void wait_delivered(struct etcd_store *s, int64_t rev)
{
	struct timespec until;

	if (!s->notify)
		return;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += NOTIFY_WAIT_S;
	pthread_mutex_lock(&s->lock);
	while (s->delivered < rev && !s->stopping)
		if (pthread_cond_timedwait(&s->notified, &s->lock, &until))
			break;
	pthread_mutex_unlock(&s->lock);
}

enum write_kind {
	WRITE_CREATE,
	WRITE_UPDATE,
	WRITE_DELETE,
};

/* What a write requires of the key: missing, at @expect, or there. */
static json_t *write_cmp(enum write_kind kind, json_t *key, int64_t expect)
{
	if (kind == WRITE_CREATE)
		return json_pack("{s:s, s:O, s:s, s:I}", "target", "CREATE",
				 "key", key, "result", "EQUAL",
				 "create_revision", (json_int_t)0);
	if (expect)
		return json_pack("{s:s, s:O, s:s, s:I}", "target", "MOD",
				 "key", key, "result", "EQUAL",
				 "mod_revision", (json_int_t)expect);
	return json_pack("{s:s, s:O, s:s, s:I}", "target", "CREATE", "key",
			 key, "result", "GREATER", "create_revision",
			 (json_int_t)0);
}

static json_t *write_req(enum write_kind kind, const char *key,
			 const char *value, size_t value_len, int64_t expect)
{
	json_t *k = skiff_base64_json(key, strlen(key)), *op, *req = NULL;

	if (!k)
		return NULL;
	if (kind == WRITE_DELETE)
		op = json_pack("{s:{s:O, s:b}}", "request_delete_range", "key",
			       k, "prev_kv", 1);
	else
		op = json_pack("{s:{s:O, s:o}}", "request_put", "key", k,
			       "value", skiff_base64_json(value, value_len));
	/* When the comparison fails, the key's read tells why. */
	if (op)
		req = json_pack("{s:[o], s:[o], s:[{s:{s:O}}]}", "compare",
				write_cmp(kind, k, expect), "success", op,
				"failure", "request_range", "key", k);
	json_decref(k);
	return req;
}

/*
 * One write as one etcd transaction: if the key is as the write requires,
 * put or delete it, else read it. Returns 0 with etcd's answer in *@resp
 * and the write's revision in *@rev; -EEXIST, -ENOENT or -ESTALE when the
 * key is not as required; or an error.
 */
static int write_txn(struct etcd_store *s, enum write_kind kind,
		     const char *key, const char *value, size_t value_len,
		     int64_t expect, json_t **resp, int64_t *rev)
{
	const json_t *r, *kvs;
	int64_t now;
	int err;

	err = call(s, "/v3/kv/txn",
		   write_req(kind, key, value, value_len, expect), false, resp);
	if (err)
		return err;
	err = header_rev(*resp, &now);
	if (err)
		goto err_free;
	atomic_max(&s->rev, now);
	r = json_array_get(json_object_get(*resp, "responses"), 0);
	if (!json_is_true(json_object_get(*resp, "succeeded"))) {
		kvs = json_object_get(json_object_get(r, "response_range"),
				      "kvs");
		if (kind == WRITE_CREATE)
			err = -EEXIST;
		else
			err = expect && json_array_size(kvs) ? -ESTALE :
			      -ENOENT;
		goto err_free;
	}
	*rev = now;
	return 0;

err_free:
	json_decref(*resp);
	*resp = NULL;
	return err;
}

static int et_create(struct skiff_store *store, const char *key,
		     const char *value, size_t value_len, int64_t *rev)
{
	struct etcd_store *s = to_etcd(store);
	json_t *resp;
	int err;

	err = write_txn(s, WRITE_CREATE, key, value, value_len, 0, &resp, rev);
	if (err)
		return err;
	json_decref(resp);
	wait_delivered(s, *rev);
	return 0;
}

static int et_update(struct skiff_store *store, const char *key,
		     const char *value, size_t value_len, int64_t expect,
		     int64_t *rev)
{
	struct etcd_store *s = to_etcd(store);
	json_t *resp;
	int err;

	err = write_txn(s, WRITE_UPDATE, key, value, value_len, expect, &resp,
			rev);
	if (err)
		return err;
	json_decref(resp);
	wait_delivered(s, *rev);
	return 0;
}

static int et_del(struct skiff_store *store, const char *key, int64_t expect,
		  struct skiff_kv *old, int64_t *rev)
{
	struct etcd_store *s = to_etcd(store);
	const json_t *r, *prev;
	json_t *resp;
	int err;

	err = write_txn(s, WRITE_DELETE, key, NULL, 0, expect, &resp, rev);
	if (err)
		return err;
	r = json_array_get(json_object_get(resp, "responses"), 0);
	r = json_object_get(r, "response_delete_range");
	prev = json_array_get(json_object_get(r, "prev_kvs"), 0);
	err = prev ? 0 : -EIO;
	if (!err && old)
		err = kv_parse(prev, old);
	json_decref(resp);
	/* The key is deleted whatever the answer held. */
	wait_delivered(s, *rev);
	return err;
}

/* ---- watch streams ----------------------------------------------------- */

/**
 * struct stream - one watch's answer, a JSON object a line
 * @s: the store
 * @in: what has come and is not parsed yet
 * @event: called for each event, in order; a non-zero return stops
 * @arg: for @event
 * @created: etcd created the watch
 * @start: the store's revision when it did
 * @last: the revision of the last event handed to @event
 * @done: @event wants no more
 * @why: what ended the stream, when etcd did
 */
struct stream {
	struct etcd_store *s;
	struct skiff_buf in;
	int (*event)(struct stream *st, const struct skiff_store_event *ev);
	void *arg;
	bool created;
	int64_t start;
	int64_t last;
	bool done;
	char why[256];
};

static int stream_message(struct stream *st, const json_t *msg)
{
	const json_t *res = json_object_get(msg, "result"), *events, *e;
	const json_t *error = json_object_get(msg, "error");
	struct skiff_store_event ev;
	int64_t compact = 0;
	const char *reason;
	size_t i;
	int err;

	if (!json_is_object(res)) {
		reason = json_string_value(json_object_get(error, "message"));
		snprintf(st->why, sizeof(st->why), "watch error: %.200s",
			 reason ?: "no result");
		return -ECONNRESET;
	}
	if (json_is_true(json_object_get(res, "created"))) {
		err = header_rev(res, &st->start);
		if (err)
			return err;
		st->created = true;
	}
	if (json_is_true(json_object_get(res, "canceled"))) {
		if (!int_field(res, "compact_revision", &compact) && compact) {
			atomic_max(&st->s->compacted, compact);
			snprintf(st->why, sizeof(st->why),
				 "compacted up to revision %lld",
				 (long long)compact);
			return -ERANGE;
		}
		reason = json_string_value(json_object_get(res,
							   "cancel_reason"));
		snprintf(st->why, sizeof(st->why), "watch canceled: %.200s",
			 reason ?: "no reason given");
		return -ECONNRESET;
	}
	events = json_object_get(res, "events");
	for (i = 0; i < json_array_size(events) && !st->done; i++) {
		e = json_array_get(events, i);
		err = event_parse(e, &ev);
		if (err == -ERANGE)
			snprintf(st->why, sizeof(st->why),
				 "the value before revision %lld was compacted",
				 (long long)ev.rev);
		else if (err)
			snprintf(st->why, sizeof(st->why),
				 "a malformed event at revision %lld",
				 (long long)ev.rev);
		if (err)
			return err;
		err = st->event(st, &ev);
		st->last = ev.rev;
		skiff_store_event_free(&ev);
		if (err)
			return err;
	}
	return 0;
}

/* Handles the complete lines that have come; keeps the rest. */
static int stream_feed(struct stream *st)
{
	char *line = st->in.data, *nl;
	json_t *msg;
	size_t left = st->in.len;
	int err = 0;

	while (!err && !st->done && left &&
	       (nl = memchr(line, '\n', left))) {
		msg = json_loadb(line, nl - line, 0, NULL);
		if (msg) {
			err = stream_message(st, msg);
			json_decref(msg);
		} else if (nl != line) {
			snprintf(st->why, sizeof(st->why),
				 "not JSON in the watch stream: %.80s", line);
			err = -EIO;
		}
		left -= nl + 1 - line;
		line = nl + 1;
	}
	memmove(st->in.data, line, left);
	st->in.len = left;
	return err;
}

static json_t *watch_req(int64_t start)
{
	return json_pack("{s:{s:s, s:s, s:I, s:b}}", "create_request", "key",
			 ALL_KEYS_B64, "range_end", ALL_KEYS_B64,
			 "start_revision", (json_int_t)start, "prev_kv", 1);
}

/* ---- history ----------------------------------------------------------- */

struct replay {
	int (*fn)(const struct skiff_store_event *ev, void *arg);
	void *arg;
	int err;
};

static int replay_event(struct stream *st, const struct skiff_store_event *ev)
{
	struct replay *r = st->arg;
	int err = 0;

	if (ev->rev <= st->start)
		err = r->fn(ev, r->arg);
	if (ev->rev >= st->start)
		st->done = true;
	/* Kept apart from the store's own errors, whatever its value. */
	if (err) {
		r->err = err;
		st->done = true;
	}
	return 0;
}

struct replay_feed {
	struct stream *st;
	int err;
};

static size_t replay_write(char *p, size_t size, size_t n, void *arg)
{
	struct replay_feed *f = arg;
	struct stream *st = f->st;

	if (skiff_buf_add(&st->in, p, size * n)) {
		f->err = -ENOMEM;
		return 0;
	}
	f->err = stream_feed(st);
	if (!f->err && st->created && !st->done &&
	    st->start <= st->last)
		st->done = true;
	return f->err || st->done ? 0 : size * n;
}

/*
 * A watch from @after + 1, read up to the revision current when etcd
 * created it. On the caller's thread, at one endpoint after the other like
 * a read, on a connection of its own: one left mid-stream is not reused.
 */
static int et_history(struct skiff_store *store, int64_t after,
		      int (*fn)(const struct skiff_store_event *ev, void *arg),
		      void *arg)
{
	struct etcd_store *s = to_etcd(store);
	struct replay r = { .fn = fn, .arg = arg };
	struct stream st = {
		.s = s, .event = replay_event, .arg = &r, .last = after,
	};
	struct replay_feed f = { .st = &st };
	unsigned int first, i, ep;
	char url[512], why[256], errbuf[CURL_ERROR_SIZE];
	json_t *req;
	char *text;
	CURLcode rc;
	CURL *curl;
	long http;
	int err = -ENOMEM;

	if (after < __atomic_load_n(&s->compacted, __ATOMIC_ACQUIRE))
		return -ERANGE;
	req = watch_req(after + 1);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!text)
		return -ENOMEM;
	curl = curl_easy_init();
	if (!curl)
		goto out_free;
	curl_setup(s, curl, errbuf);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, replay_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &f);
	/* Events up to now come at once; a stream that stalls is a failure. */
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
			 (long)REQUEST_TIMEOUT_MS / 1000);

	first = __atomic_load_n(&s->preferred, __ATOMIC_RELAXED);
	for (i = 0; i < s->nr_endpoints; i++) {
		ep = (first + i) % s->nr_endpoints;
		snprintf(url, sizeof(url), "%s/v3/watch", s->endpoints[ep]);
		curl_easy_setopt(curl, CURLOPT_URL, url);
		st.in.len = 0;
		rc = curl_easy_perform(curl);
		if (st.done || f.err)
			break;
		if (rc == CURLE_OK) {
			http = 0;
			curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
			snprintf(why, sizeof(why),
				 "the watch ended early (HTTP %ld)", http);
			err = -EIO;
		} else {
			err = curl_errno(curl, rc, errbuf, why, sizeof(why));
		}
		fprintf(stderr, "skiff store etcd:%s: history at %s: %s\n",
			s->url, s->endpoints[ep], why);
		/* What was replayed is not replayed again: the caller retries. */
		if (st.last > after)
			break;
	}
	if (st.done) {
		err = r.err;
	} else if (f.err) {
		err = f.err;
		if (err != -ERANGE && err != -ENOMEM)
			fprintf(stderr, "skiff store etcd:%s: history: %s\n",
				s->url, st.why);
	}
	curl_easy_cleanup(curl);
out_free:
	free(st.in.data);
	free(text);
	return err;
}

/* ---- the watch thread -------------------------------------------------- */

static bool stopping(struct etcd_store *s)
{
	bool stop;

	pthread_mutex_lock(&s->lock);
	stop = s->stopping;
	pthread_mutex_unlock(&s->lock);
	return stop;
}

static int notify_event(struct stream *st, const struct skiff_store_event *ev)
{
	struct etcd_store *s = st->s;

	if (s->notify)
		s->notify(ev, s->notify_arg);
	return 0;
}

/*
 * Compacts etcd to keep the last @history revisions before @rev, once
 * that is @slack revisions further than the last compaction. Another
 * apiserver may have got there first: etcd then says it is compacted.
 */
static void compact(struct etcd_store *s, int64_t rev)
{
	int64_t target = rev - s->history;
	json_t *resp;
	int err;

	if (target - __atomic_load_n(&s->compacted, __ATOMIC_ACQUIRE) <=
	    s->slack)
		return;
	err = call(s, "/v3/kv/compaction",
		   json_pack("{s:I}", "revision", (json_int_t)target), true,
		   &resp);
	if (!err)
		json_decref(resp);
	if (!err || err == -ERANGE)
		atomic_max(&s->compacted, target);
}

/* Hands out what the events so far delivered: compacts, wakes writers. */
static void delivered(struct etcd_store *s, int64_t rev)
{
	if (rev <= s->delivered)
		return;
	atomic_max(&s->rev, rev);
	/* Before writers wake: their return finds the store compacted. */
	compact(s, rev);
	pthread_mutex_lock(&s->lock);
	s->delivered = rev;
	pthread_cond_broadcast(&s->notified);
	pthread_mutex_unlock(&s->lock);
}

static size_t watch_write(char *p, size_t size, size_t n, void *arg)
{
	struct stream *st = arg;

	/* Parsed outside curl's callbacks: notify may take its time. */
	return skiff_buf_add(&st->in, p, size * n) ? 0 : size * n;
}

/*
 * One watch at endpoint @ep, from the revision after the last delivered,
 * until it fails or the store closes. Returns 0 when it closes, else why
 * it ended, with @why saying so; *@progress tells whether it got anywhere.
 * After a failure (@broken), says when it works again.
 */
static int watch_once(struct etcd_store *s, unsigned int ep, bool broken,
		      bool *progress, char *why, size_t why_len)
{
	struct stream st = { .s = s, .event = notify_event };
	struct CURLMsg *m;
	char url[512], *text;
	int running = 1, left, err = 0;
	CURLcode rc = CURLE_OK;
	json_t *req;

	*progress = false;
	why[0] = '\0';
	req = watch_req(s->delivered + 1);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!text) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	snprintf(url, sizeof(url), "%s/v3/watch", s->endpoints[ep]);
	curl_easy_setopt(s->wcurl, CURLOPT_URL, url);
	curl_easy_setopt(s->wcurl, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(s->wcurl, CURLOPT_WRITEFUNCTION, watch_write);
	curl_easy_setopt(s->wcurl, CURLOPT_WRITEDATA, &st);
	curl_multi_add_handle(s->multi, s->wcurl);
	st.last = s->delivered;
	while (!stopping(s)) {
		if (curl_multi_perform(s->multi, &running) != CURLM_OK) {
			snprintf(why, why_len, "curl multi failed");
			err = -EIO;
			break;
		}
		err = stream_feed(&st);
		if (st.created && !*progress && broken)
			fprintf(stderr,
				"skiff store etcd:%s: watch resumed at %s after revision %lld\n",
				s->url, s->endpoints[ep],
				(long long)s->delivered);
		if (st.created)
			*progress = true;
		delivered(s, st.last);
		if (err) {
			snprintf(why, why_len, "%s", st.why);
			break;
		}
		if (!running) {
			while ((m = curl_multi_info_read(s->multi, &left)))
				if (m->msg == CURLMSG_DONE)
					rc = m->data.result;
			if (rc != CURLE_OK)
				err = curl_errno(s->wcurl, rc, s->werrbuf, why,
						 why_len);
			else
				snprintf(why, why_len, "the stream ended");
			err = err ?: -ECONNRESET;
			break;
		}
		curl_multi_poll(s->multi, NULL, 0, 1000, NULL);
	}
	curl_multi_remove_handle(s->multi, s->wcurl);
	free(st.in.data);
	free(text);
	return err;
}

/*
 * The resume point was compacted: the events in between are gone, and
 * notify cannot go on without a gap that would leave every watcher of
 * this process silently wrong. Better stop the process the way an
 * operator would, loudly: its clients move to another apiserver and
 * resume there, or relist (410 Gone), as Kubernetes' own clients do.
 */
static void watch_lost(struct etcd_store *s, const char *why)
{
	fprintf(stderr,
		"skiff store etcd:%s: FATAL: the watch cannot resume after revision %lld (%s): writes made while this process was cut off from etcd are gone, and its watchers would miss them; stopping the process (SIGTERM)\n",
		s->url, (long long)s->delivered, why);
	fflush(stderr);
	kill(getpid(), SIGTERM);
}

/* Sleeps for @ms, or until the store closes. */
static void watch_pause(struct etcd_store *s, int ms)
{
	struct timespec now, until;
	long left;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += (long)ms * 1000000;
	until.tv_sec += until.tv_nsec / 1000000000;
	until.tv_nsec %= 1000000000;
	while (!stopping(s)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (until.tv_sec - now.tv_sec) * 1000 +
		       (until.tv_nsec - now.tv_nsec) / 1000000;
		if (left <= 0)
			break;
		curl_multi_poll(s->multi, NULL, 0, left, NULL);
	}
}

static void *watch_main(void *arg)
{
	struct etcd_store *s = arg;
	unsigned int ep = __atomic_load_n(&s->preferred, __ATOMIC_RELAXED);
	unsigned int failed = 0;
	int err, pause = RETRY_MIN_MS;
	bool progress, broken = false;
	char why[256];

	while (!stopping(s)) {
		err = watch_once(s, ep, broken, &progress, why, sizeof(why));
		if (!err)
			break;
		if (err == -ERANGE) {
			watch_lost(s, why);
			break;
		}
		if (progress) {
			failed = 0;
			pause = RETRY_MIN_MS;
			broken = false;
		}
		/* Said once a time it breaks, not once a retry. */
		if (!broken)
			fprintf(stderr,
				"skiff store etcd:%s: watch at %s: %s; resuming after revision %lld\n",
				s->url, s->endpoints[ep], why,
				(long long)s->delivered);
		broken = true;
		ep = (ep + 1) % s->nr_endpoints;
		if (++failed % s->nr_endpoints == 0) {
			watch_pause(s, pause);
			pause = pause * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
			       pause * 2;
		}
	}
	return NULL;
}

/* ---- open and close ---------------------------------------------------- */

/*
 * Checks one endpoint URL and adds its "SCHEME://HOST:PORT"; the first
 * sets the scheme of all (@s->https).
 */
static int endpoint_add(struct etcd_store *s, const char *text, char *err,
			size_t err_len)
{
	char *host = NULL, *port = NULL, *path = NULL;
	char *query = NULL, *user = NULL, **grown;
	bool https = !strncmp(text, "https://", 8);
	const char *scheme = https ? "https" : "http";
	CURLU *u;
	int ret = -EINVAL;

	u = curl_url();
	if (!u)
		return skiff_store_seterr(err, err_len, -ENOMEM,
					  "out of memory");
	if (!https && strncmp(text, "http://", 7)) {
		skiff_store_seterr(err, err_len, -EINVAL,
				   "etcd endpoint \"%s\": want http://HOST:PORT or https://HOST:PORT",
				   text);
		goto out;
	}
	if (s->nr_endpoints && https != s->https) {
		skiff_store_seterr(err, err_len, -EINVAL,
				   "etcd endpoint \"%s\": %s among %s endpoints; use one scheme for all",
				   text, scheme, s->https ? "https" : "http");
		goto out;
	}
	s->https = https;
	if (curl_url_set(u, CURLUPART_URL, text, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) || !host[0]) {
		skiff_store_seterr(err, err_len, -EINVAL,
				   "etcd endpoint \"%s\": not a URL of the form %s://HOST:PORT",
				   text, scheme);
		goto out;
	}
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	if ((path && strcmp(path, "/")) || query || user) {
		skiff_store_seterr(err, err_len, -EINVAL,
				   "etcd endpoint \"%s\": want only %s://HOST:PORT, no path, query or user",
				   text, scheme);
		goto out;
	}
	grown = reallocarray(s->endpoints, s->nr_endpoints + 1,
			     sizeof(*grown));
	if (!grown)
		goto out_nomem;
	s->endpoints = grown;
	if (asprintf(&s->endpoints[s->nr_endpoints], "%s://%s:%s", scheme,
		     host, port ?: DEFAULT_PORT) < 0)
		goto out_nomem;
	s->nr_endpoints++;
	ret = 0;
	goto out;

out_nomem:
	ret = skiff_store_seterr(err, err_len, -ENOMEM, "out of memory");
out:
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_free(user);
	curl_url_cleanup(u);
	return ret;
}

/* Copies @path into *@out once it is known to be readable. */
static int tls_file(const char *flag, const char *path, char **out, char *err,
		    size_t err_len)
{
	FILE *f;

	if (!path)
		return 0;
	f = fopen(path, "r");
	if (!f)
		return skiff_store_seterr(err, err_len, -EINVAL,
					  "etcd: %s %s: %s", flag, path,
					  strerror(errno));
	fclose(f);
	*out = strdup(path);
	return *out ? 0 : skiff_store_seterr(err, err_len, -ENOMEM,
					     "out of memory");
}

/*
 * Takes @tls's files; they go with https endpoints only, and a client
 * certificate with its key. curl checks their contents at the first
 * connection, which open makes.
 */
static int tls_init(struct etcd_store *s, const struct skiff_store_tls *tls,
		    char *err, size_t err_len)
{
	int ret;

	if (!tls || (!tls->ca_file && !tls->cert_file && !tls->key_file))
		return 0;
	if (!s->https)
		return skiff_store_seterr(err, err_len, -EINVAL,
					  "etcd: TLS files given for http:// endpoints; use https://");
	if (!tls->cert_file != !tls->key_file)
		return skiff_store_seterr(err, err_len, -EINVAL,
					  "etcd: a client certificate (--etcd-certfile) needs its key (--etcd-keyfile), and a key its certificate");
	ret = tls_file("CA file", tls->ca_file, &s->ca_file, err, err_len);
	if (!ret)
		ret = tls_file("certificate", tls->cert_file, &s->cert_file,
			       err, err_len);
	if (!ret)
		ret = tls_file("key", tls->key_file, &s->key_file, err,
			       err_len);
	return ret;
}

static int endpoints_parse(struct etcd_store *s, const char *urls,
			   char *err, size_t err_len)
{
	const char *p = urls, *comma;
	char *one;
	int ret;

	if (!urls[0])
		return skiff_store_seterr(err, err_len, -EINVAL,
					  "etcd: wants endpoints, as in etcd:https://127.0.0.1:2379[,https://HOST:PORT...]");
	for (;;) {
		comma = strchr(p, ',');
		one = strndup(p, comma ? (size_t)(comma - p) : strlen(p));
		if (!one)
			return skiff_store_seterr(err, err_len, -ENOMEM,
						  "out of memory");
		ret = endpoint_add(s, one, err, err_len);
		free(one);
		if (ret)
			return ret;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

/* Whether etcd still has revision @rev: a read at a compacted one fails. */
static int readable_at(struct etcd_store *s, int64_t rev, bool *ok, char *err,
		       size_t err_len)
{
	json_t *req, *resp;
	char why[512];
	int ret;

	/* Of one key nobody writes, from the member's own state. */
	req = json_pack("{s:s, s:I, s:b, s:b}", "key", ALL_KEYS_B64,
			"revision", (json_int_t)rev, "serializable", 1,
			"count_only", 1);
	if (!req)
		return skiff_store_seterr(err, err_len, -ENOMEM,
					  "out of memory");
	ret = etcd_call(s, "/v3/kv/range", req, true, &resp, why,
			sizeof(why));
	json_decref(req);
	json_decref(resp);
	*ok = !ret;
	if (ret == -ERANGE)
		return 0;
	if (ret)
		skiff_store_seterr(err, err_len, ret,
				   "cannot find the compaction point (%s)",
				   why);
	return ret;
}

/*
 * etcd's compaction point C, as the store's (a list may read at C and a
 * history start after it): the lowest revision still readable, found by
 * bisection since etcd 3.4 does not say. 0 when nothing was compacted.
 */
static int find_compacted(struct etcd_store *s, int64_t now, char *err,
			  size_t err_len)
{
	int64_t lo = 0, hi = now, mid;
	bool ok;
	int ret;

	/* lo is not readable (0: none known), hi is. */
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		ret = readable_at(s, mid, &ok, err, err_len);
		if (ret)
			return ret;
		if (ok)
			hi = mid;
		else
			lo = mid;
	}
	s->compacted = lo ? hi : 0;
	return 0;
}

/* Asks etcd for its status: is it one, which version, which revision. */
static int connect_check(struct etcd_store *s, char *err, size_t err_len)
{
	char why[768];
	const char *version;
	json_t *req, *resp;
	int ret, major = 0, minor = 0;

	req = json_object();
	if (!req)
		return skiff_store_seterr(err, err_len, -ENOMEM,
					  "out of memory");
	ret = etcd_call(s, "/v3/maintenance/status", req, true, &resp, why,
			sizeof(why));
	json_decref(req);
	if (ret == -EIO)
		return skiff_store_seterr(err, err_len, ret,
					  "not etcd, or a bad answer (%s)", why);
	/*
	 * With TLS 1.3 a server that wants a client certificate refuses one
	 * after the handshake, so the client sees its connection break.
	 */
	if (ret == -ECONNRESET && s->https && s->cert_file)
		return skiff_store_seterr(err, err_len, ret,
					  "cannot reach etcd (%s); does etcd trust the client certificate's CA (its --trusted-ca-file)?",
					  why);
	if (ret == -ECONNRESET && s->https)
		return skiff_store_seterr(err, err_len, ret,
					  "cannot reach etcd (%s); if etcd asks for client certificates, give --etcd-certfile and --etcd-keyfile",
					  why);
	if (ret)
		return skiff_store_seterr(err, err_len, ret,
					  "cannot reach etcd (%s)", why);
	version = json_string_value(json_object_get(resp, "version"));
	if (!version || sscanf(version, "%d.%d", &major, &minor) != 2 ||
	    header_rev(resp, &s->rev)) {
		ret = skiff_store_seterr(err, err_len, -EIO,
					 "%s: a status without a version or a revision: not etcd?",
					 s->endpoints[s->preferred]);
	} else if (major < 3 || (major == 3 && minor < 4)) {
		ret = skiff_store_seterr(err, err_len, -EPROTONOSUPPORT,
					 "%s: etcd %s; the store needs 3.4 or later",
					 s->endpoints[s->preferred], version);
	}
	json_decref(resp);
	return ret;
}

/* Frees what open parsed and copied, and @s itself. */
static void config_free(struct etcd_store *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_endpoints; i++)
		free(s->endpoints[i]);
	free(s->endpoints);
	free(s->url);
	free(s->ca_file);
	free(s->cert_file);
	free(s->key_file);
	free(s);
}

static void et_close(struct skiff_store *store)
{
	struct etcd_store *s = to_etcd(store);
	struct conn *c;

	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->notified);
	pthread_mutex_unlock(&s->lock);
	curl_multi_wakeup(s->multi);
	pthread_join(s->watcher, NULL);

	curl_easy_cleanup(s->wcurl);
	curl_multi_cleanup(s->multi);
	while (s->pool) {
		c = s->pool;
		s->pool = c->next;
		conn_free(c);
	}
	pthread_cond_destroy(&s->notified);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->pool_lock);
	curl_slist_free_all(s->headers);
	config_free(s);
	curl_global_cleanup();
}

static const struct skiff_store_ops etcd_ops = {
	.close = et_close,
	.revision = et_revision,
	.compacted = et_compacted,
	.get = et_get,
	.list = et_list,
	.count = et_count,
	.create = et_create,
	.update = et_update,
	.del = et_del,
	.history = et_history,
};

static int sync_init(struct etcd_store *s)
{
	pthread_condattr_t attr;
	int ret;

	ret = pthread_mutex_init(&s->pool_lock, NULL);
	if (ret)
		return -ret;
	ret = pthread_mutex_init(&s->lock, NULL);
	if (ret)
		goto err_pool_lock;
	ret = pthread_condattr_init(&attr);
	if (ret)
		goto err_lock;
	/* wait_delivered() counts on a clock that does not jump. */
	ret = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!ret)
		ret = pthread_cond_init(&s->notified, &attr);
	pthread_condattr_destroy(&attr);
	if (ret)
		goto err_lock;
	return 0;

err_lock:
	pthread_mutex_destroy(&s->lock);
err_pool_lock:
	pthread_mutex_destroy(&s->pool_lock);
	return -ret;
}

static int headers_init(struct etcd_store *s)
{
	static const char *const lines[] = {
		"Content-Type: application/json",
		/* No "100 Continue" round trip before a large body. */
		"Expect:",
		/*
		 * gRPC metadata through the gateway: a member without a
		 * leader refuses at once (nothing applied, so any call may
		 * go on to the next member) and ends its watches, rather
		 * than keep them open with nothing ever coming.
		 */
		"Grpc-Metadata-hasleader: true",
	};
	struct curl_slist *l;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(lines); i++) {
		l = curl_slist_append(s->headers, lines[i]);
		if (!l)
			return -ENOMEM;
		s->headers = l;
	}
	return 0;
}

static int watch_init(struct etcd_store *s, char *err, size_t err_len)
{
	int ret;

	s->multi = curl_multi_init();
	if (!s->multi)
		return skiff_store_seterr(err, err_len, -ENOMEM,
					  "out of memory");
	s->wcurl = curl_easy_init();
	if (!s->wcurl) {
		ret = skiff_store_seterr(err, err_len, -ENOMEM,
					 "out of memory");
		goto err_multi;
	}
	curl_setup(s, s->wcurl, s->werrbuf);
	s->delivered = s->rev;
	ret = -pthread_create(&s->watcher, NULL, watch_main, s);
	if (ret) {
		skiff_store_seterr(err, err_len, ret,
				   "cannot start the watch thread: %s",
				   strerror(-ret));
		goto err_easy;
	}
	return 0;

err_easy:
	curl_easy_cleanup(s->wcurl);
err_multi:
	curl_multi_cleanup(s->multi);
	return ret;
}

/**
 * skiff_store_etcd_open() - open a store in etcd
 * @urls: "SCHEME://HOST:PORT[,SCHEME://HOST:PORT...]", the client URLs of
 *	the cluster's members, all http or all https (a missing port is 2379)
 * @opts: history, notify and tls; the URL is not looked at
 * @store: set to the store on success
 * @err: the reason on failure
 * @err_len: size of @err
 *
 * Return: 0; -EINVAL for a bad URL, TLS files that cannot be read or TLS
 * files with http endpoints; -ECONNREFUSED, -EHOSTUNREACH or -ETIMEDOUT when
 * no endpoint answers (a TLS handshake refused counts as no answer);
 * -ECONNRESET when an https etcd breaks the connection in or right after the
 * handshake (it refused our certificate, or wanted one);
 * -EKEYREJECTED when etcd's certificate does not verify; -EIO when what
 * answers is not etcd or says something unexpected; -EPROTONOSUPPORT for an
 * etcd before 3.4.
 */
int skiff_store_etcd_open(const char *urls,
			  const struct skiff_store_options *opts,
			  struct skiff_store **store, char *err,
			  size_t err_len)
{
	struct etcd_store *s;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return skiff_store_seterr(err, err_len, -ENOMEM,
					  "out of memory");
	s->base.ops = &etcd_ops;
	s->history = opts->history ? opts->history : DEFAULT_HISTORY;
	s->slack = s->history / 8;
	if (s->slack < 1)
		s->slack = 1;
	if (s->slack > MAX_COMPACT_SLACK)
		s->slack = MAX_COMPACT_SLACK;
	s->notify = opts->notify;
	s->notify_arg = opts->notify_arg;
	s->url = strdup(urls);
	if (!s->url) {
		ret = skiff_store_seterr(err, err_len, -ENOMEM,
					 "out of memory");
		goto err_free;
	}
	ret = endpoints_parse(s, urls, err, err_len);
	if (ret)
		goto err_free;
	ret = tls_init(s, opts->tls, err, err_len);
	if (ret)
		goto err_free;
	/* Reference-counted: one per open store, undone by its close. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		ret = skiff_store_seterr(err, err_len, -ENOMEM,
					 "cannot initialize libcurl");
		goto err_free;
	}
	ret = headers_init(s);
	if (ret) {
		skiff_store_seterr(err, err_len, ret, "out of memory");
		goto err_curl;
	}
	ret = sync_init(s);
	if (ret) {
		skiff_store_seterr(err, err_len, ret, "%s", strerror(-ret));
		goto err_curl;
	}
	ret = connect_check(s, err, err_len);
	if (ret)
		goto err_sync;
	ret = find_compacted(s, s->rev, err, err_len);
	if (ret)
		goto err_sync;
	ret = watch_init(s, err, err_len);
	if (ret)
		goto err_sync;
	*store = &s->base;
	return 0;

err_sync:
	while (s->pool) {
		struct conn *c = s->pool;

		s->pool = c->next;
		conn_free(c);
	}
	pthread_cond_destroy(&s->notified);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->pool_lock);
err_curl:
	curl_slist_free_all(s->headers);
	curl_global_cleanup();
err_free:
	config_free(s);
	return ret;
}
