// SPDX-License-Identifier: GPL-2.0
/*
 * GET pods/NAME/log and nodes/NAME/proxy/PATH: what the kubelet of a node
 * answers, fetched as Kubernetes' apiserver does (pkg/registry/core/pod
 * and core/node); both go through kubelet_get().
 *
 * pods/NAME/log, a container's output:
 *
 *  - the options are checked here (PodLogOptions: follow, previous,
 *    timestamps, tailLines, limitBytes, sinceSeconds, sinceTime, container),
 *    the container defaults to the pod's only one;
 *  - the node's address is its InternalIP (else ExternalIP, else
 *    Hostname: kubeadm's --kubelet-preferred-address-types), its port
 *    status.daemonEndpoints.kubeletEndpoint.Port (10250 when unset);
 *  - the request goes on to http://ADDR:PORT/containerLogs/NS/POD/CTR and
 *    the answer comes back as it arrives: a kubelet error as a Status with
 *    its code and words, output as a text/plain stream;
 *  - with --kubelet-client-certificate/--kubelet-client-key (or
 *    --kubelet-certificate-authority) it is https:// instead, the apiserver
 *    showing that certificate; the kubelet's own is checked against that
 *    CA when one is given, else not at all (kube-apiserver does the same).
 *
 * nodes/NAME/proxy/PATH (GET only; admin-level, see auth.c): the node's
 * kubelet endpoint, found the same way, is asked for /PATH with the
 * request's query, and its answer, whatever its status, comes back as it
 * is, streamed, with the kubelet's status and content type (e.g.
 * /dataplane, /containerLogs/...). Only a kubelet that cannot be reached
 * is a Status of the apiserver's own.
 *
 * Streaming, as watch.c does it: one thread per log request runs the
 * blocking libcurl transfer into a buffer; the connection reads from it
 * and is suspended while it is empty, resumed when data comes. The buffer
 * is bounded: a slow client slows the transfer down. A client that goes
 * away is seen by the thread (its socket hangs up) at curl's progress
 * calls, about once a second, which ends the transfer and the stream.
 *
 * DOC: Locking
 * registry.lock guards the list of streams; each stream's lock its buffer
 * and state. Order: registry.lock, then a stream's lock. A stream is freed
 * by whichever of the thread and the response lets go of it last.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "api.h"
#include "util.h"

#define KUBELET_DEFAULT_PORT 10250
/* The transfer waits while this much is queued for the client. */
#define LOG_MAX_BUFFER (1024 * 1024)
/* What of a kubelet's error answer is kept for the Status. */
#define LOG_MAX_ERROR 4096
#define CONNECT_TIMEOUT_MS 5000
/* A kubelet that took the connection must answer within this. */
#define HEADERS_TIMEOUT_S 30
#define CONTENT_TYPE "Content-Type:"

struct log_stream {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *url;
	const struct apiserver *server;	/* its kubelet TLS files */
	CURL *curl;			/* the transfer's thread's own */
	struct MHD_Connection *conn;	/* NULL until the response is queued */
	int client_fd;			/* a dup of the client's socket, or -1 */
	char *data;			/* for the client, from @off to @len */
	size_t len;
	size_t off;
	bool raw;			/* any answer goes to the client as it is */
	char content_type[128];		/* the kubelet's Content-Type */
	char error[LOG_MAX_ERROR + 1];	/* a kubelet error's body */
	size_t error_len;
	char curl_error[CURL_ERROR_SIZE];
	long code;			/* the kubelet's answer; 0 before it */
	bool done;			/* the transfer ended */
	bool failed;			/* ... without the whole answer */
	bool gone;			/* no one reads any more: stop */
	bool suspended;
	int refs;
	struct log_stream *next;
};

static struct {
	pthread_mutex_t lock;
	struct log_stream *head;
	bool stopping;
} registry = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_setup(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- the stream's life ---- */

static void stream_put(struct log_stream *s)
{
	struct log_stream **pp;
	bool last;

	pthread_mutex_lock(&registry.lock);
	pthread_mutex_lock(&s->lock);
	last = !--s->refs;
	pthread_mutex_unlock(&s->lock);
	if (last) {
		for (pp = &registry.head; *pp; pp = &(*pp)->next) {
			if (*pp == s) {
				*pp = s->next;
				break;
			}
		}
	}
	pthread_mutex_unlock(&registry.lock);
	if (!last)
		return;
	if (s->client_fd >= 0)
		close(s->client_fd);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->data);
	free(s->url);
	free(s);
}

/* Lets the connection read again. Called with s->lock held. */
static void wake(struct log_stream *s)
{
	if (s->suspended && s->conn) {
		s->suspended = false;
		MHD_resume_connection(s->conn);
	}
}

/* ---- the transfer (its own thread) ---- */

/* "Content-Type:" VALUE (header line @len bytes), trimmed. */
static void keep_content_type(struct log_stream *s, const char *v, size_t len)
{
	while (len && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	if (len >= sizeof(s->content_type))
		len = 0;	/* not one a client could use */
	pthread_mutex_lock(&s->lock);
	memcpy(s->content_type, v, len);
	s->content_type[len] = '\0';
	pthread_mutex_unlock(&s->lock);
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
	struct log_stream *s = arg;
	size_t len = size * n, skip = strlen(CONTENT_TYPE);
	long code = 0;

	if (len > skip && !strncasecmp(line, CONTENT_TYPE, skip))
		keep_content_type(s, line + skip, len - skip);
	/* Else only the blank line that ends a header block matters. */
	if (len > 2 || (len && line[0] != '\r' && line[0] != '\n'))
		return len;
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200)
		return len;	/* 1xx: the answer follows */
	pthread_mutex_lock(&s->lock);
	s->code = code;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return len;
}

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct log_stream *s = arg;
	size_t len = size * n, keep;
	char *grown;

	pthread_mutex_lock(&s->lock);
	if (!s->raw && (s->code < 200 || s->code > 299)) {
		/* An error's words, for the Status. */
		keep = LOG_MAX_ERROR - s->error_len < len ? LOG_MAX_ERROR - s->error_len : len;
		memcpy(s->error + s->error_len, data, keep);
		s->error_len += keep;
		pthread_mutex_unlock(&s->lock);
		return len;
	}
	while (!s->gone && s->len - s->off > LOG_MAX_BUFFER)
		pthread_cond_wait(&s->cond, &s->lock);
	if (s->gone) {
		pthread_mutex_unlock(&s->lock);
		return 0;	/* ends the transfer */
	}
	if (s->off) {
		memmove(s->data, s->data + s->off, s->len - s->off);
		s->len -= s->off;
		s->off = 0;
	}
	grown = realloc(s->data, s->len + len);
	if (!grown) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	memcpy(grown + s->len, data, len);
	s->data = grown;
	s->len += len;
	wake(s);
	pthread_mutex_unlock(&s->lock);
	return len;
}

/* Has the client hung up? Its connection may sleep meanwhile. */
static bool client_left(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };

	return fd >= 0 && poll(&pfd, 1, 0) > 0 &&
	       (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct log_stream *s = arg;
	bool stop;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	pthread_mutex_lock(&s->lock);
	if (!s->gone && s->conn && client_left(s->client_fd)) {
		s->gone = true;
		wake(s);
	}
	stop = s->gone;
	pthread_mutex_unlock(&s->lock);
	return stop;
}

/* The apiserver's identity to the kubelet, and the kubelet's CA. */
static void kubelet_tls(CURL *curl, const struct apiserver *server)
{
	if (server->kubelet_cert) {
		curl_easy_setopt(curl, CURLOPT_SSLCERT, server->kubelet_cert);
		curl_easy_setopt(curl, CURLOPT_SSLKEY, server->kubelet_key);
	}
	if (server->kubelet_ca) {
		curl_easy_setopt(curl, CURLOPT_CAINFO, server->kubelet_ca);
	} else {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

static bool kubelet_https(const struct apiserver *server)
{
	return server->kubelet_cert || server->kubelet_ca;
}

static void *transfer(void *arg)
{
	struct log_stream *s = arg;
	CURLcode rc = CURLE_OUT_OF_MEMORY;
	CURL *curl = curl_easy_init();

	s->curl = curl;
	if (curl) {
		curl_easy_setopt(curl, CURLOPT_URL, s->url);
		curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
		curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
		kubelet_tls(curl, s->server);
		curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, s->curl_error);
		curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(curl, CURLOPT_HEADERDATA, s);
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, s);
		curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(curl, CURLOPT_XFERINFODATA, s);
		rc = curl_easy_perform(curl);
		curl_easy_cleanup(curl);
	}
	pthread_mutex_lock(&s->lock);
	s->done = true;
	s->failed = rc != CURLE_OK;
	if (s->failed && !s->curl_error[0])
		snprintf(s->curl_error, sizeof(s->curl_error), "%s", curl_easy_strerror(rc));
	pthread_cond_broadcast(&s->cond);
	wake(s);
	pthread_mutex_unlock(&s->lock);
	stream_put(s);
	return NULL;
}

/* ---- the client's side (libmicrohttpd's threads) ---- */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct log_stream *s = cls;
	ssize_t end;
	size_t n;

	(void)pos;
	pthread_mutex_lock(&s->lock);
	n = s->len - s->off;
	if (n) {
		if (n > max)
			n = max;
		memcpy(buf, s->data + s->off, n);
		s->off += n;
		pthread_cond_broadcast(&s->cond);	/* room for the transfer */
		pthread_mutex_unlock(&s->lock);
		return (ssize_t)n;
	}
	if (s->gone || s->done) {
		/* A transfer cut short is not made to look whole. */
		end = !s->gone && s->failed ? MHD_CONTENT_READER_END_WITH_ERROR :
					      MHD_CONTENT_READER_END_OF_STREAM;
		pthread_mutex_unlock(&s->lock);
		return end;
	}
	/* Nothing yet: sleep until the transfer brings some. */
	s->suspended = true;
	MHD_suspend_connection(s->conn);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void stream_free(void *cls)
{
	struct log_stream *s = cls;

	pthread_mutex_lock(&s->lock);
	s->gone = true;
	s->conn = NULL;
	s->suspended = false;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	stream_put(s);
}

void logs_shutdown(void)
{
	struct log_stream *s;

	pthread_mutex_lock(&registry.lock);
	registry.stopping = true;
	for (s = registry.head; s; s = s->next) {
		pthread_mutex_lock(&s->lock);
		s->gone = true;
		pthread_cond_broadcast(&s->cond);
		wake(s);
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_unlock(&registry.lock);
}

/* ---- the request ---- */

/**
 * struct log_options - PodLogOptions from the query
 * @container: the container named, or NULL
 * @tail: tailLines, -1 when not given (likewise @limit, @since)
 * @limit: limitBytes
 * @since: sinceSeconds
 * @since_time: sinceTime, or NULL
 */
struct log_options {
	const char *container;
	bool follow;
	bool previous;
	bool timestamps;
	long long tail;
	long long limit;
	long long since;
	const char *since_time;
};

/* As Kubernetes converts a query bool: anything but 0, f, false is true. */
static bool query_bool(struct api_request *req, const char *key)
{
	const char *v = api_query(req, key);

	return v && strcmp(v, "0") && strcasecmp(v, "f") && strcasecmp(v, "false");
}

/* An int64 option into @out (-1 when absent); -EINVAL when not one. */
static int query_int(struct api_request *req, const char *key, long long *out)
{
	const char *v = api_query(req, key);
	char *end;

	*out = -1;
	if (!v)
		return 0;
	errno = 0;
	*out = strtoll(v, &end, 10);
	return errno || !*v || *end ? -EINVAL : 0;
}

#define INVALID_FORMAT \
	"{s:s, s:s, s:{}, s:s, s:s, s:s, s:{s:s, s:s, s:[{s:s, s:s, s:s}]}, s:i}"

/* 422 as ValidatePodLogOptions words it: PodLogOptions "NAME" is invalid. */
static enum MHD_Result reply_invalid(struct api_request *req, const char *field,
				     long long value, const char *why)
{
	char cause[256], msg[768];

	snprintf(cause, sizeof(cause), "Invalid value: %lld: %s", value, why);
	snprintf(msg, sizeof(msg), "PodLogOptions \"%.200s\" is invalid: %s: %s", req->name,
		 field, cause);
	return api_reply_json(req, MHD_HTTP_UNPROCESSABLE_CONTENT,
			      json_pack(INVALID_FORMAT,
					"kind", "Status", "apiVersion", "v1", "metadata",
					"status", "Failure", "message", msg, "reason", "Invalid",
					"details", "name", req->name, "kind", "PodLogOptions",
					"causes", "reason", "FieldValueInvalid", "message", cause,
					"field", field, "code", MHD_HTTP_UNPROCESSABLE_CONTENT));
}

/* Reads the options; answers and returns false when they are wrong. */
static bool parse_options(struct api_request *req, struct log_options *o,
			  enum MHD_Result *ret)
{
	static const char *const keys[] = { "tailLines", "limitBytes", "sinceSeconds" };
	long long *vals[] = { &o->tail, &o->limit, &o->since };
	unsigned int i;

	o->container = api_query(req, "container");
	o->follow = query_bool(req, "follow");
	o->previous = query_bool(req, "previous");
	o->timestamps = query_bool(req, "timestamps");
	o->since_time = api_query(req, "sinceTime");
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		if (query_int(req, keys[i], vals[i])) {
			*ret = api_reply_error(req, MHD_HTTP_BAD_REQUEST, "BadRequest",
					       "%s: invalid value \"%s\": want an integer",
					       keys[i], api_query(req, keys[i]));
			return false;
		}
	}
	if (api_query(req, "tailLines") && o->tail < 0)
		*ret = reply_invalid(req, "tailLines", o->tail,
				     "must be greater than or equal to 0");
	else if (api_query(req, "limitBytes") && o->limit < 1)
		*ret = reply_invalid(req, "limitBytes", o->limit, "must be greater than 0");
	else if (api_query(req, "sinceSeconds") && o->since < 1)
		*ret = reply_invalid(req, "sinceSeconds", o->since, "must be greater than 0");
	else if (api_query(req, "sinceSeconds") && o->since_time)
		*ret = api_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "Invalid",
				       "PodLogOptions \"%s\" is invalid: : Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified",
				       req->name);
	else
		return true;
	return false;
}

static int load_object(struct api_request *req, const char *plural, const char *ns,
		       const char *name, json_t **obj)
{
	const struct api_resource *res = api_resource_find("", "v1", plural);
	char *key = res ? object_key(res, ns, name) : NULL;
	struct skiff_kv kv;
	int err;

	if (!key)
		return -ENOMEM;
	err = skiff_store_get(req->server->store, key, &kv);
	free(key);
	if (err)
		return err;
	*obj = object_decode(kv.value, kv.value_len, kv.mod_rev);
	skiff_kv_free(&kv);
	return *obj ? 0 : -EIO;
}

/* Every container name of @spec, init containers first, as "a b c". */
static void container_names(const json_t *spec, char *out, size_t len)
{
	static const char *const lists[] = { "initContainers", "containers",
					     "ephemeralContainers" };
	const json_t *c;
	size_t at = 0, j;
	unsigned int i;

	out[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(lists); i++) {
		json_array_foreach(json_object_get(spec, lists[i]), j, c) {
			if (at < len)
				at += snprintf(out + at, len - at, "%s%s", at ? " " : "",
					       json_string_value(json_object_get(c, "name")) ?: "");
		}
	}
}

static bool has_container(const json_t *spec, const char *name)
{
	char names[4096], *tok, *save;

	container_names(spec, names, sizeof(names));
	for (tok = strtok_r(names, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (!strcmp(tok, name))
			return true;
	return false;
}

/* The container asked for, or the only one; answers and NULL if neither. */
static const char *pick_container(struct api_request *req, const json_t *pod,
				  const char *asked, enum MHD_Result *ret)
{
	const json_t *spec = json_object_get(pod, "spec");
	const json_t *ctrs = json_object_get(spec, "containers");
	char names[4096];

	if (asked && *asked) {
		if (has_container(spec, asked))
			return asked;
		*ret = api_reply_error(req, MHD_HTTP_BAD_REQUEST, "BadRequest",
				       "container %s is not valid for pod %s", asked, req->name);
		return NULL;
	}
	if (json_array_size(ctrs) == 1)
		return json_string_value(json_object_get(json_array_get(ctrs, 0), "name")) ?: "";
	container_names(spec, names, sizeof(names));
	if (!json_array_size(ctrs))
		*ret = api_reply_error(req, MHD_HTTP_BAD_REQUEST, "BadRequest",
				       "a container name must be specified for pod %s", req->name);
	else
		*ret = api_reply_error(req, MHD_HTTP_BAD_REQUEST, "BadRequest",
				       "a container name must be specified for pod %s, choose one of: [%s]",
				       req->name, names);
	return NULL;
}

/* The node's address for the apiserver, kubeadm's order of preference. */
static const char *node_address(const json_t *node)
{
	static const char *const types[] = { "InternalIP", "ExternalIP", "Hostname" };
	const json_t *addrs = json_object_get(json_object_get(node, "status"), "addresses");
	const json_t *a;
	unsigned int i;
	size_t j;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		json_array_foreach(addrs, j, a) {
			const char *type = json_string_value(json_object_get(a, "type"));
			const char *addr = json_string_value(json_object_get(a, "address"));

			if (type && addr && *addr && !strcmp(type, types[i]))
				return addr;
		}
	}
	return NULL;
}

static long node_port(const json_t *node)
{
	const json_t *st = json_object_get(node, "status");
	const json_t *ep = json_object_get(json_object_get(st, "daemonEndpoints"),
					   "kubeletEndpoint");
	json_int_t v = json_integer_value(json_object_get(ep, "Port"));

	return v > 0 && v < 65536 ? (long)v : KUBELET_DEFAULT_PORT;
}

/* /containerLogs/NS/POD/CTR?... on the kubelet. */
static char *log_path(const char *ns, const char *pod, const char *ctr,
		      const struct log_options *o)
{
	char *e_ns = curl_easy_escape(NULL, ns, 0), *e_pod = curl_easy_escape(NULL, pod, 0);
	char *e_ctr = curl_easy_escape(NULL, ctr, 0);
	char *e_time = o->since_time ? curl_easy_escape(NULL, o->since_time, 0) : NULL;
	char query[512] = "", *path = NULL;
	size_t at = 0;

	if (o->follow)
		at += snprintf(query + at, sizeof(query) - at, "&follow=true");
	if (o->previous)
		at += snprintf(query + at, sizeof(query) - at, "&previous=true");
	if (o->timestamps)
		at += snprintf(query + at, sizeof(query) - at, "&timestamps=true");
	if (o->since > 0)
		at += snprintf(query + at, sizeof(query) - at, "&sinceSeconds=%lld", o->since);
	if (o->tail >= 0)
		at += snprintf(query + at, sizeof(query) - at, "&tailLines=%lld", o->tail);
	if (o->limit > 0)
		at += snprintf(query + at, sizeof(query) - at, "&limitBytes=%lld", o->limit);
	if (e_time)
		at += snprintf(query + at, sizeof(query) - at, "&sinceTime=%.200s", e_time);
	if (e_ns && e_pod && e_ctr && (!o->since_time || e_time) &&
	    asprintf(&path, "/containerLogs/%s/%s/%s%s%s", e_ns, e_pod, e_ctr, at ? "?" : "",
		     at ? query + 1 : "") < 0)
		path = NULL;
	curl_free(e_ns);
	curl_free(e_pod);
	curl_free(e_ctr);
	curl_free(e_time);
	return path;
}

/* A kubelet's refusal, or no answer at all, as a Status. */
static enum MHD_Result reply_kubelet_error(struct api_request *req, struct log_stream *s)
{
	char *text = s->error;
	size_t len = s->error_len;

	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		len--;
	text[len] = '\0';
	switch (s->code) {
	case 0:
		return api_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "InternalError",
				       "Get \"%s\": %s", s->url,
				       s->curl_error[0] ? s->curl_error : "no answer");
	case MHD_HTTP_BAD_REQUEST:
		return api_reply_error(req, MHD_HTTP_BAD_REQUEST, "BadRequest", "%s", text);
	case MHD_HTTP_NOT_FOUND:
		return api_reply_error_for(req, MHD_HTTP_NOT_FOUND, "NotFound", req->name, "%s",
					   len ? text :
					   "the server could not find the requested resource");
	default:
		return api_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "InternalError",
				       "the kubelet answered %ld: %s", s->code, text);
	}
}

/* Is the kubelet's answer (s->code) one for the client as it is? */
static bool passed_on(const struct log_stream *s)
{
	return s->raw ? s->code >= 200 : s->code >= 200 && s->code <= 299;
}

/*
 * Waits for the kubelet's answer: its headers if it is passed on, else
 * all of it.
 */
static void wait_answer(struct log_stream *s)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += HEADERS_TIMEOUT_S;
	while (!s->done && !s->gone && !passed_on(s)) {
		if (pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == ETIMEDOUT) {
			if (!s->code)
				snprintf(s->curl_error, sizeof(s->curl_error),
					 "no answer in %d s", HEADERS_TIMEOUT_S);
			break;
		}
	}
}

static struct log_stream *stream_new(char *url)
{
	struct log_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->url = url;
	s->client_fd = -1;
	s->refs = 1;
	return s;
}

/* Starts the transfer's thread; false when it could not be. */
static bool stream_start(struct log_stream *s)
{
	pthread_attr_t attr;
	pthread_t thread;
	bool ok = false;

	pthread_once(&curl_once, curl_setup);
	pthread_mutex_lock(&registry.lock);
	if (!registry.stopping && !pthread_attr_init(&attr)) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		s->refs++;
		ok = !pthread_create(&thread, &attr, transfer, s);
		if (ok) {
			s->next = registry.head;
			registry.head = s;
		} else {
			s->refs--;
		}
		pthread_attr_destroy(&attr);
	}
	pthread_mutex_unlock(&registry.lock);
	return ok;
}

/*
 * The kubelet's answer goes to the client as it comes, with its status and
 * (raw) its content type, else as text (a log). Called with s->lock held.
 */
static enum MHD_Result stream_answer(struct api_request *req, struct log_stream *s)
{
	const union MHD_ConnectionInfo *ci;
	char type[sizeof(s->content_type)];
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned int code;

	ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	s->client_fd = ci ? fcntl(ci->connect_fd, F_DUPFD_CLOEXEC, 0) : -1;
	s->conn = req->conn;
	code = (unsigned int)s->code;
	snprintf(type, sizeof(type), "%s", s->raw ? s->content_type : "text/plain");
	pthread_mutex_unlock(&s->lock);
	/* A quiet container is no idle client: the thread sees hang-ups. */
	MHD_set_connection_option(req->conn, MHD_CONNECTION_OPTION_TIMEOUT, 0U);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, s,
						 stream_free);
	if (!resp) {
		stream_free(s);
		return MHD_NO;
	}
	if (type[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
	ret = MHD_queue_response(req->conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * GETs @path (escaped, with its query) from the kubelet of @node (named
 * @node_name) and answers @req with what comes back, as it comes: with
 * @raw any answer as the kubelet gave it, else a 2xx as text and an error
 * as a Status.
 */
static enum MHD_Result kubelet_get(struct api_request *req, const json_t *node,
				   const char *node_name, const char *path, bool raw)
{
	const char *addr = node_address(node);
	enum MHD_Result ret = MHD_NO;
	struct log_stream *s;
	char *url = NULL;
	bool v6;

	if (!addr)
		return api_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "InternalError",
				       "node %s has no address to reach its kubelet at",
				       node_name);
	v6 = strchr(addr, ':');
	if (asprintf(&url, "%s://%s%s%s:%ld%s", kubelet_https(req->server) ? "https" : "http",
		     v6 ? "[" : "", addr, v6 ? "]" : "", node_port(node), path) < 0)
		return MHD_NO;
	s = stream_new(url);
	if (!s) {
		free(url);
		return MHD_NO;
	}
	s->server = req->server;
	s->raw = raw;
	if (!stream_start(s)) {
		stream_put(s);
		return api_reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "ServiceUnavailable",
				       "cannot start a stream from the node now");
	}
	pthread_mutex_lock(&s->lock);
	wait_answer(s);
	if (passed_on(s))
		return stream_answer(req, s);	/* unlocks */
	s->gone = true;
	pthread_cond_broadcast(&s->cond);
	ret = reply_kubelet_error(req, s);
	pthread_mutex_unlock(&s->lock);
	stream_put(s);
	return ret;
}

/* The Node @name, or an answer (and NULL) when there is none to read. */
static json_t *find_node(struct api_request *req, const char *name, enum MHD_Result *ret)
{
	json_t *node = NULL;
	int err;

	err = load_object(req, "nodes", NULL, name, &node);
	if (err == -ENOENT)
		*ret = api_reply_error(req, MHD_HTTP_NOT_FOUND, "NotFound",
				       "nodes \"%s\" not found", name);
	else if (err)
		*ret = api_reply_store_error(req, err, name);
	return err ? NULL : node;
}

enum MHD_Result logs_handle(struct api_request *req)
{
	struct log_options o;
	enum MHD_Result ret = MHD_NO;
	json_t *pod = NULL, *node = NULL;
	const char *ctr, *node_name;
	char *path;
	int err;

	if (!parse_options(req, &o, &ret))
		return ret;
	err = load_object(req, "pods", req->namespace, req->name, &pod);
	if (err)
		return api_reply_store_error(req, err, req->name);
	ctr = pick_container(req, pod, o.container, &ret);
	if (!ctr)
		goto out;
	node_name = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
	if (!node_name || !*node_name) {
		ret = api_reply_error(req, MHD_HTTP_BAD_REQUEST, "BadRequest",
				      "pod %s does not have a host assigned", req->name);
		goto out;
	}
	node = find_node(req, node_name, &ret);
	if (!node)
		goto out;
	path = log_path(req->namespace, req->name, ctr, &o);
	if (path)
		ret = kubelet_get(req, node, node_name, path, false);
	free(path);
out:
	json_decref(pod);
	json_decref(node);
	return ret;
}

/* Appends "&KEY=VALUE" (escaped) for each query parameter. */
static enum MHD_Result add_param(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	char **query = cls, *e_key, *e_value = NULL, *grown = NULL;

	(void)kind;
	if (!*query)
		return MHD_NO;
	e_key = curl_easy_escape(NULL, key, 0);
	if (value)
		e_value = curl_easy_escape(NULL, value, 0);
	if (!e_key || (value && !e_value) ||
	    asprintf(&grown, "%s&%s%s%s", *query, e_key, value ? "=" : "",
		     value ? e_value : "") < 0)
		grown = NULL;
	curl_free(e_key);
	curl_free(e_value);
	free(*query);
	*query = grown;
	return grown ? MHD_YES : MHD_NO;
}

/*
 * @subpath escaped again segment by segment (libmicrohttpd decoded it),
 * then the request's query: what the kubelet is asked for.
 */
static char *proxy_path(struct api_request *req, const char *subpath)
{
	char *path = strdup(""), *query = strdup(""), *seg, *grown, *out = NULL;
	const char *p = subpath, *end;

	while (path && query && *p) {
		p++;	/* the '/' */
		end = strchrnul(p, '/');
		seg = curl_easy_escape(NULL, p, (int)(end - p));
		if (!seg || asprintf(&grown, "%s/%s", path, seg) < 0)
			grown = NULL;
		curl_free(seg);
		free(path);
		path = grown;
		p = end;
	}
	if (path && query)
		MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, add_param, &query);
	if (path && query &&
	    asprintf(&out, "%s%s%s", *path ? path : "/", *query ? "?" : "",
		     *query ? query + 1 : "") < 0)
		out = NULL;
	free(path);
	free(query);
	return out;
}

enum MHD_Result node_proxy_handle(struct api_request *req)
{
	enum MHD_Result ret = MHD_NO;
	json_t *node = NULL;
	char *path;
	int err;

	/* Here the node is the object asked for: its 404 names it. */
	err = load_object(req, "nodes", NULL, req->name, &node);
	if (err)
		return api_reply_store_error(req, err, req->name);
	path = proxy_path(req, req->subpath ?: "/");
	if (path)
		ret = kubelet_get(req, node, req->name, path, true);
	free(path);
	json_decref(node);
	return ret;
}
