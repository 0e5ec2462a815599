/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A client of skiff-apiserver for the control-plane daemons: requests run
 * on the event loop (loop.h) and call back with the HTTP code and the
 * decoded JSON answer.
 *
 *	c = skiff_client_new(loop, "http://127.0.0.1:8080");
 *	c = skiff_client_new_config(loop, &kubeconfig);	(HTTPS, credentials)
 *	path = skiff_path(&skiff_pods, "default", "web-0", "binding");
 *	skiff_client_send(c, "POST", path, NULL, body, bound, pod);
 *
 * Network failures are code 0. Objects are JSON (jansson); patches name
 * their content type (application/merge-patch+json...).
 */

#ifndef SKIFF_CLIENT_H
#define SKIFF_CLIENT_H

#include <stdbool.h>

#include <jansson.h>

#include "loop.h"

/* Where a kind lives in the API. */
struct skiff_kind {
	const char *prefix;	/* "/api/v1", "/apis/apps/v1" */
	const char *plural;	/* "pods" */
	const char *kind;	/* "Pod" */
	const char *api_version;	/* "v1", "apps/v1" */
	bool namespaced;
};

extern const struct skiff_kind skiff_pods, skiff_nodes, skiff_namespaces,
	skiff_services, skiff_endpoints, skiff_events, skiff_replicasets,
	skiff_deployments, skiff_daemonsets, skiff_statefulsets, skiff_jobs,
	skiff_leases, skiff_controllerrevisions, skiff_configmaps,
	skiff_secrets;

/* Every kind above, NULL-terminated (the garbage collector's view). */
extern const struct skiff_kind *const skiff_all_kinds[];

struct skiff_client;

/*
 * @answer is the decoded body (NULL if none or not JSON), owned by the
 * client: take a reference to keep it.
 */
typedef void (*skiff_reply_fn)(long code, json_t *answer, void *arg);

struct skiff_client *skiff_client_new(struct skiff_loop *loop,
				      const char *server);
/*
 * A client with a kubeconfig's server, TLS settings and credentials
 * (kubeconfig.h); @cfg is copied. NULL when out of memory.
 */
struct skiff_kubeconfig;
struct skiff_client *skiff_client_new_config(struct skiff_loop *loop,
					     const struct skiff_kubeconfig *cfg);
/* Sets @easy's TLS options and credentials as the client's own requests. */
void skiff_client_apply(struct skiff_client *c, CURL *easy);
/*
 * The last network or TLS failure, in libcurl's words ("SSL certificate
 * problem: ..."); "" since the last answer.
 */
const char *skiff_client_error(struct skiff_client *c);
/* Tools that print skiff_client_error() themselves keep stderr quiet. */
void skiff_client_set_quiet(struct skiff_client *c, bool quiet);
void skiff_client_free(struct skiff_client *c);
struct skiff_loop *skiff_client_loop(struct skiff_client *c);
const char *skiff_client_server(struct skiff_client *c);

/*
 * The path of a collection (@name NULL) or an object, with a subresource
 * (@sub, may be NULL). @ns is ignored for cluster-scoped kinds; NULL for a
 * namespaced kind means all namespaces. Malloc'd.
 */
char *skiff_path(const struct skiff_kind *kind, const char *ns,
		 const char *name, const char *sub);

/*
 * Sends a request on the loop; @path is taken over (freed by the client).
 * @type is the body's content type (NULL: application/json). @body may be
 * NULL. @done may be NULL (fire and forget). 0, or -errno when it could
 * not be started (then @done is not called).
 */
int skiff_client_send(struct skiff_client *c, const char *method,
		      char *path, const char *type, const json_t *body,
		      skiff_reply_fn done, void *arg);

/*
 * The same, waiting for the answer outside the loop (start-up, tools):
 * the HTTP code (0 on a network failure), *@answer the decoded body or
 * NULL (caller's reference). @answer may be NULL.
 */
long skiff_client_call(struct skiff_client *c, const char *method,
		       const char *path, const char *type,
		       const json_t *body, json_t **answer);

/*
 * Records an Event about @object (type "Normal" or "Warning") from
 * @component, fire and forget, as kubectl describe shows them.
 */
void skiff_client_event(struct skiff_client *c, const json_t *object,
			const char *type, const char *reason,
			const char *component, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* The current time as Kubernetes writes it: 2026-11-26T09:00:00Z. */
void skiff_time_now(char *out, size_t len);
/* The same with microseconds (Lease times). */
void skiff_microtime_now(char *out, size_t len);
/* Seconds since the epoch of a Kubernetes time, or -1. */
double skiff_time_parse(const char *text);

/* Small accessors: NULL or "" when missing. */
const char *skiff_meta(const json_t *obj, const char *field);
const char *skiff_str(const json_t *obj, const char *path);	/* "spec.nodeName" */
json_int_t skiff_int(const json_t *obj, const char *path, json_int_t dflt);
/* The metadata.resourceVersion as a number (0 if none). */
long long skiff_rv(const json_t *obj);
/* The uid of the controller ownerReference (controller: true), or NULL. */
const char *skiff_controller_uid(const json_t *obj);

/* Is the pod Ready (condition), and since when (seconds since epoch)? */
bool skiff_pod_ready(const json_t *pod, double *since);
/* Is the pod past running: Succeeded or Failed. */
bool skiff_pod_finished(const json_t *pod);
/*
 * Conditions of @status (an object's status with a "conditions" array)
 * whose status is what it was in @old keep @old's lastTransitionTime.
 */
void skiff_keep_transitions(json_t *status, const json_t *old);

/* Being deleted: has a deletionTimestamp. */
bool skiff_deleting(const json_t *obj);

#endif /* SKIFF_CLIENT_H */
