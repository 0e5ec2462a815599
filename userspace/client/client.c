// SPDX-License-Identifier: GPL-2.0
/*
 * Requests to the apiserver through libcurl. Asynchronous ones are easy
 * handles on the loop's multi handle, which keeps the connections alive
 * between them; easy handles are kept for reuse too. Every handle gets the
 * kubeconfig's TLS settings and credentials (kubeconfig.h), and a failure
 * to reach the apiserver is said on stderr once, in libcurl's words, until
 * an answer comes again: a wrong CA must not look like a quiet daemon.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "client.h"
#include "kubeconfig.h"

const struct skiff_kind skiff_pods = {
	"/api/v1", "pods", "Pod", "v1", true,
};

const struct skiff_kind skiff_nodes = {
	"/api/v1", "nodes", "Node", "v1", false,
};

const struct skiff_kind skiff_namespaces = {
	"/api/v1", "namespaces", "Namespace", "v1", false,
};

const struct skiff_kind skiff_services = {
	"/api/v1", "services", "Service", "v1", true,
};

const struct skiff_kind skiff_endpoints = {
	"/api/v1", "endpoints", "Endpoints", "v1", true,
};

const struct skiff_kind skiff_events = {
	"/api/v1", "events", "Event", "v1", true,
};

const struct skiff_kind skiff_configmaps = {
	"/api/v1", "configmaps", "ConfigMap", "v1", true,
};

const struct skiff_kind skiff_secrets = {
	"/api/v1", "secrets", "Secret", "v1", true,
};

const struct skiff_kind skiff_replicasets = {
	"/apis/apps/v1", "replicasets", "ReplicaSet", "apps/v1", true,
};

const struct skiff_kind skiff_deployments = {
	"/apis/apps/v1", "deployments", "Deployment", "apps/v1", true,
};

const struct skiff_kind skiff_daemonsets = {
	"/apis/apps/v1", "daemonsets", "DaemonSet", "apps/v1", true,
};

const struct skiff_kind skiff_statefulsets = {
	"/apis/apps/v1", "statefulsets", "StatefulSet", "apps/v1", true,
};

const struct skiff_kind skiff_controllerrevisions = {
	"/apis/apps/v1", "controllerrevisions", "ControllerRevision", "apps/v1", true,
};

const struct skiff_kind skiff_jobs = {
	"/apis/batch/v1", "jobs", "Job", "batch/v1", true,
};

const struct skiff_kind skiff_leases = {
	"/apis/coordination.k8s.io/v1", "leases", "Lease", "coordination.k8s.io/v1", true,
};

const struct skiff_kind *const skiff_all_kinds[] = {
	&skiff_pods, &skiff_nodes, &skiff_namespaces, &skiff_services,
	&skiff_endpoints, &skiff_events, &skiff_configmaps, &skiff_secrets,
	&skiff_replicasets, &skiff_deployments, &skiff_daemonsets,
	&skiff_statefulsets, &skiff_controllerrevisions, &skiff_jobs,
	&skiff_leases, NULL,
};

#define SPARE_HANDLES 64

struct skiff_client {
	struct skiff_loop *loop;
	struct skiff_kubeconfig cfg;	/* server, TLS, credentials */
	const char *server;		/* cfg.server */
	bool quiet;			/* failures not said on stderr */
	char error[CURL_ERROR_SIZE];	/* the last failure, "" since an answer */
	char sync_error[CURL_ERROR_SIZE];
	CURL *sync;		/* skiff_client_call()'s, reused */
	CURL *spare[SPARE_HANDLES];
	unsigned int n_spare;
};

struct request {
	struct skiff_client *c;
	CURL *easy;
	char *path;
	char *body;
	struct curl_slist *headers;
	struct skiff_buf answer;
	skiff_reply_fn done;
	void *arg;
	char error[CURL_ERROR_SIZE];
};

struct skiff_client *skiff_client_new_config(struct skiff_loop *loop,
					     const struct skiff_kubeconfig *cfg)
{
	struct skiff_client *c = calloc(1, sizeof(*c));
	size_t len;

	if (!c)
		return NULL;
	c->loop = loop;
	if (skiff_kubeconfig_copy(&c->cfg, cfg)) {
		free(c);
		return NULL;
	}
	c->server = c->cfg.server;
	if (!c->server) {
		skiff_client_free(c);
		return NULL;
	}
	/* "http://host:port/" and "http://host:port" are the same server. */
	len = strlen(c->server);
	while (len && c->server[len - 1] == '/')
		c->cfg.server[--len] = '\0';
	c->sync = curl_easy_init();
	if (!c->sync) {
		skiff_client_free(c);
		return NULL;
	}
	return c;
}

struct skiff_client *skiff_client_new(struct skiff_loop *loop,
				      const char *server)
{
	struct skiff_kubeconfig cfg = {
		.server = (char *)server,
		.fds = { -1, -1, -1 },
	};

	return skiff_client_new_config(loop, &cfg);
}

void skiff_client_free(struct skiff_client *c)
{
	if (!c)
		return;
	while (c->n_spare)
		curl_easy_cleanup(c->spare[--c->n_spare]);
	curl_easy_cleanup(c->sync);
	skiff_kubeconfig_release(&c->cfg);
	free(c);
}

void skiff_client_apply(struct skiff_client *c, CURL *easy)
{
	skiff_kubeconfig_apply(&c->cfg, easy);
}

const char *skiff_client_error(struct skiff_client *c)
{
	return c->error;
}

void skiff_client_set_quiet(struct skiff_client *c, bool quiet)
{
	c->quiet = quiet;
}

/* A transfer ended: a new failure is remembered and said once. */
static void note_result(struct skiff_client *c, CURLcode result,
			const char *error)
{
	const char *why;

	if (result == CURLE_OK) {
		c->error[0] = '\0';
		return;
	}
	why = *error ? error : curl_easy_strerror(result);
	if (!strcmp(c->error, why))
		return;
	snprintf(c->error, sizeof(c->error), "%s", why);
	if (!c->quiet)
		fprintf(stderr, "%s: apiserver %s: %s\n",
			program_invocation_short_name, c->server, why);
}

struct skiff_loop *skiff_client_loop(struct skiff_client *c)
{
	return c->loop;
}

const char *skiff_client_server(struct skiff_client *c)
{
	return c->server;
}

char *skiff_path(const struct skiff_kind *kind, const char *ns,
		 const char *name, const char *sub)
{
	char *path;
	int n;

	if (!kind->namespaced || !ns)
		n = asprintf(&path, "%s/%s%s%s%s%s", kind->prefix,
			     kind->plural, name ? "/" : "", name ?: "",
			     sub ? "/" : "", sub ?: "");
	else
		n = asprintf(&path, "%s/namespaces/%s/%s%s%s%s%s",
			     kind->prefix, ns, kind->plural, name ? "/" : "",
			     name ?: "", sub ? "/" : "", sub ?: "");
	return n < 0 ? NULL : path;
}

/* Sets up @easy for one request; the headers list is the caller's. */
static int prepare(struct skiff_client *c, CURL *easy, const char *method,
		   const char *path, const char *type, const char *body,
		   struct curl_slist **headers, struct skiff_buf *answer,
		   char *error)
{
	char header[128];
	char *url;

	if (asprintf(&url, "%s%s", c->server, path) < 0)
		return -ENOMEM;
	snprintf(header, sizeof(header), "Content-Type: %s",
		 type ?: "application/json");
	*headers = curl_slist_append(NULL, header);
	*headers = curl_slist_append(*headers, "Accept: application/json");
	curl_easy_setopt(easy, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, *headers);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, skiff_buf_curl_write);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, answer);
	error[0] = '\0';
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
	skiff_kubeconfig_apply(&c->cfg, easy);
	if (body) {
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else {
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
	}
	return 0;
}

static json_t *decode(const struct skiff_buf *b)
{
	return b->len ? json_loadb(b->data, b->len, 0, NULL) : NULL;
}

static void request_free(struct request *r)
{
	struct skiff_client *c = r->c;

	curl_slist_free_all(r->headers);
	if (c->n_spare < SPARE_HANDLES) {
		curl_easy_reset(r->easy);
		c->spare[c->n_spare++] = r->easy;
	} else {
		curl_easy_cleanup(r->easy);
	}
	free(r->answer.data);
	free(r->body);
	free(r->path);
	free(r);
}

static void request_done(CURL *easy, CURLcode result, void *arg)
{
	struct request *r = arg;
	long code = 0;
	json_t *answer;

	note_result(r->c, result, r->error);
	if (result == CURLE_OK)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	answer = code ? decode(&r->answer) : NULL;
	if (r->done)
		r->done(code, answer, r->arg);
	json_decref(answer);
	request_free(r);
}

int skiff_client_send(struct skiff_client *c, const char *method,
		      char *path, const char *type, const json_t *body,
		      skiff_reply_fn done, void *arg)
{
	struct request *r;
	int err = -ENOMEM;

	if (!path)
		return -ENOMEM;
	r = calloc(1, sizeof(*r));
	if (!r) {
		free(path);
		return -ENOMEM;
	}
	r->c = c;
	r->path = path;
	r->done = done;
	r->arg = arg;
	r->easy = c->n_spare ? c->spare[--c->n_spare] : curl_easy_init();
	if (!r->easy)
		goto err_free;
	if (body) {
		r->body = json_dumps(body, JSON_COMPACT);
		if (!r->body)
			goto err_free;
	}
	err = prepare(c, r->easy, method, path, type, r->body, &r->headers,
		      &r->answer, r->error);
	if (err)
		goto err_free;
	err = skiff_loop_transfer(c->loop, r->easy, request_done, r);
	if (err)
		goto err_free;
	return 0;

err_free:
	if (r->easy) {
		request_free(r);
	} else {
		free(r->path);
		free(r);
	}
	return err;
}

long skiff_client_call(struct skiff_client *c, const char *method,
		       const char *path, const char *type,
		       const json_t *body, json_t **answer)
{
	struct curl_slist *headers = NULL;
	struct skiff_buf got = { 0 };
	char *text = NULL;
	long code = 0;

	if (answer)
		*answer = NULL;
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			return 0;
	}
	curl_easy_reset(c->sync);
	if (!prepare(c, c->sync, method, path, type, text, &headers, &got,
		     c->sync_error)) {
		CURLcode result = curl_easy_perform(c->sync);

		note_result(c, result, c->sync_error);
		if (result == CURLE_OK)
			curl_easy_getinfo(c->sync, CURLINFO_RESPONSE_CODE, &code);
	}
	if (code && answer)
		*answer = decode(&got);
	curl_slist_free_all(headers);
	free(got.data);
	free(text);
	return code;
}

void skiff_time_now(char *out, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void skiff_microtime_now(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char sec[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%06ldZ", sec, ts.tv_nsec / 1000);
}

double skiff_time_parse(const char *text)
{
	struct tm tm = { 0 };
	const char *rest;
	double frac = 0;

	if (!text)
		return -1;
	rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return -1;
	if (*rest == '.')
		frac = strtod(rest, NULL);
	return (double)timegm(&tm) + frac;
}

const char *skiff_meta(const json_t *obj, const char *field)
{
	return json_string_value(json_object_get(json_object_get(obj,
								 "metadata"),
						 field));
}

static const json_t *walk(const json_t *obj, const char *path)
{
	char part[64];
	const char *dot;
	size_t n;

	while (obj && *path) {
		dot = strchr(path, '.');
		n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		obj = json_object_get(obj, part);
		path += n + (dot ? 1 : 0);
	}
	return obj;
}

const char *skiff_str(const json_t *obj, const char *path)
{
	return json_string_value(walk(obj, path));
}

json_int_t skiff_int(const json_t *obj, const char *path, json_int_t dflt)
{
	const json_t *v = walk(obj, path);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

long long skiff_rv(const json_t *obj)
{
	const char *rv = skiff_meta(obj, "resourceVersion");

	return rv ? strtoll(rv, NULL, 10) : 0;
}

const char *skiff_controller_uid(const json_t *obj)
{
	const json_t *refs = json_object_get(json_object_get(obj, "metadata"),
					     "ownerReferences");
	const json_t *ref;
	size_t i;

	json_array_foreach(refs, i, ref)
		if (json_is_true(json_object_get(ref, "controller")))
			return json_string_value(json_object_get(ref, "uid"));
	return NULL;
}

#define EVENT_FORMAT \
	"{s:s, s:s, s:{s:s, s:s}, s:{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:i, s:s}"

void skiff_client_event(struct skiff_client *c, const json_t *object,
			const char *type, const char *reason,
			const char *component, const char *fmt, ...)
{
	const char *ns = skiff_meta(object, "namespace") ?: "default";
	char message[1024], now[40], prefix[300];
	json_t *event;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	skiff_time_now(now, sizeof(now));
	/* Named NAME.<random>, as Kubernetes names events. */
	snprintf(prefix, sizeof(prefix), "%s.",
		 skiff_meta(object, "name") ?: "event");
	event = json_pack(EVENT_FORMAT,
			  "apiVersion", "v1", "kind", "Event",
			  "metadata", "generateName", prefix,
			  "namespace", ns,
			  "involvedObject",
			  "kind", json_string_value(json_object_get(object, "kind")),
			  "apiVersion", json_string_value(json_object_get(object, "apiVersion")),
			  "namespace", skiff_meta(object, "namespace"),
			  "name", skiff_meta(object, "name"),
			  "uid", skiff_meta(object, "uid"),
			  "resourceVersion", skiff_meta(object, "resourceVersion"),
			  "type", type, "reason", reason, "message", message,
			  "source", "component", component,
			  "firstTimestamp", now, "lastTimestamp", now,
			  "count", 1, "reportingComponent", component);
	if (!event)
		return;
	skiff_client_send(c, "POST", skiff_path(&skiff_events, ns, NULL, NULL),
			  NULL, event, NULL, NULL);
	json_decref(event);
}

bool skiff_pod_ready(const json_t *pod, double *since)
{
	const json_t *conds = json_object_get(json_object_get(pod, "status"),
					      "conditions"), *c;
	size_t i;

	json_array_foreach(conds, i, c) {
		if (strcmp(json_string_value(json_object_get(c, "type")) ?: "",
			   "Ready"))
			continue;
		if (strcmp(json_string_value(json_object_get(c, "status")) ?: "",
			   "True"))
			return false;
		if (since) {
			const json_t *t = json_object_get(c, "lastTransitionTime");

			*since = skiff_time_parse(json_string_value(t));
		}
		return true;
	}
	return false;
}

bool skiff_pod_finished(const json_t *pod)
{
	const char *phase = skiff_str(pod, "status.phase") ?: "";

	return !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
}

bool skiff_deleting(const json_t *obj)
{
	return !!skiff_meta(obj, "deletionTimestamp");
}

void skiff_keep_transitions(json_t *status, const json_t *old)
{
	const json_t *prev = json_object_get(old, "conditions");
	json_t *c, *o;
	size_t i, j;

	json_array_foreach(json_object_get(status, "conditions"), i, c) {
		json_array_foreach(prev, j, o) {
			if (json_equal(json_object_get(o, "type"), json_object_get(c, "type")) &&
			    json_equal(json_object_get(o, "status"), json_object_get(c, "status")))
				json_object_set(c, "lastTransitionTime",
						json_object_get(o, "lastTransitionTime"));
		}
	}
}
