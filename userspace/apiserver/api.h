/* SPDX-License-Identifier: GPL-2.0 */
/*
 * skiff-apiserver's insides: the server, one request, and the functions
 * each part exports to the others.
 *
 *	server.c     libmicrohttpd: connections, bodies, routing by path
 *	discovery.c  /api, /apis, /version, /openapi, /healthz, /metrics
 *	objects.c    create, get, list, update, patch, delete of any kind
 *	meta.c       metadata rules: names, uid, timestamps, generation
 *	watch.c      ?watch=1 streams fed by the store's notifications
 *	logs.c       pods/NAME/log and nodes/NAME/proxy, from the kubelets
 *	auth.c       TLS, authentication, authorization (auth.h)
 *	table.c      the Table rendering kubectl get asks for
 *	status.c     Status objects for every error
 */

#ifndef SKIFF_API_H
#define SKIFF_API_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "resources.h"
#include "services.h"
#include "store.h"

struct auth;
struct auth_user;
struct skiff_selector;
struct watch_hub;

/* Largest request body accepted (Kubernetes' limit too): 413 above. */
#define API_MAX_BODY (3 * 1024 * 1024)

/**
 * struct apiserver - one running server
 * @store: where objects live
 * @hub: the watch streams
 * @daemon: the HTTP server
 * @port: the port it listens on
 * @ranges: where Service ClusterIPs and node ports come from
 * @requests: requests served, by verb class, for /metrics
 * @started: when it started (CLOCK_REALTIME seconds)
 * @auth: TLS and who may do what (auth.h)
 * @kubelet_cert: the log proxy's client certificate for the kubelets
 *	(--kubelet-client-certificate), or NULL: plain HTTP to them
 * @kubelet_key: its key (--kubelet-client-key)
 * @kubelet_ca: the CA of the kubelets' serving certificates
 *	(--kubelet-certificate-authority), or NULL: not checked
 */
struct apiserver {
	struct skiff_store *store;
	struct watch_hub *hub;
	struct MHD_Daemon *daemon;
	unsigned int port;
	struct service_ranges ranges;
	atomic_ullong requests[8];
	long long started;
	struct auth *auth;
	const char *kubelet_cert;
	const char *kubelet_key;
	const char *kubelet_ca;
};

/**
 * struct api_request - one HTTP request being answered
 * @server: the server
 * @conn: its connection
 * @method: GET, POST, ...
 * @path: the URL path (no query)
 * @body: the request body (NUL-terminated), @body_len bytes
 * @too_large: the body went over API_MAX_BODY (413)
 * @res: the resource the path names (NULL: not a resource path)
 * @namespace: the namespace in the path, or NULL
 * @name: the object name in the path, or NULL
 * @subresource: status, scale, binding, log, finalize, proxy, or NULL
 * @subpath: for nodes/NAME/proxy/PATH, "/PATH" (URL-decoded), else NULL
 * @user: who sent it (set before it is dispatched)
 */
struct api_request {
	struct apiserver *server;
	struct MHD_Connection *conn;
	const char *method;
	char *path;
	char *body;
	size_t body_len;
	bool too_large;
	const struct api_resource *res;
	char *namespace;
	char *name;
	char *subresource;
	char *subpath;
	const struct auth_user *user;
};

/* A query parameter (URL-decoded), or NULL. */
const char *api_query(const struct api_request *req, const char *key);
/* A request header, or NULL. */
const char *api_header(const struct api_request *req, const char *key);

/* Queues @obj (reference taken over) as the answer with HTTP @code. */
enum MHD_Result api_reply_json(struct api_request *req, unsigned int code,
			       json_t *obj);
/* Queues @text with @content_type. */
enum MHD_Result api_reply_text(struct api_request *req, unsigned int code,
			       const char *content_type, const char *text);

/*
 * Queues a Status failure: @code 400..500, @reason as Kubernetes names it
 * (BadRequest, NotFound, AlreadyExists, Conflict, Gone, Invalid,
 * RequestEntityTooLarge, UnsupportedMediaType, MethodNotAllowed,
 * NotAcceptable, Forbidden, InternalError), a printf message.
 */
enum MHD_Result api_reply_error(struct api_request *req, unsigned int code,
				const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same, with details naming the object (name, group, kind). */
enum MHD_Result api_reply_error_for(struct api_request *req,
				    unsigned int code, const char *reason,
				    const char *name, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* A Status for a store error (-ENOENT 404, -EEXIST 409, -ESTALE 409...). */
enum MHD_Result api_reply_store_error(struct api_request *req, int err,
				      const char *name);

/**
 * struct api_fail - why a request is refused, for the Status
 * @code: HTTP status
 * @reason: Kubernetes' reason (Invalid, Conflict, ...)
 * @msg: the message
 * @field: for Invalid, the field at fault ("spec.replicas"), else empty
 * @cause: for Invalid, what is wrong with it
 * @name: for Invalid, the object's name
 */
struct api_fail {
	unsigned int code;
	const char *reason;
	char msg[768];
	char field[128];
	char cause[512];
	char name[256];
};

/*
 * Fills @f as 422 Invalid: @field of the @res object @name, and why (a
 * printf format). Returns -1.
 */
int api_fail_invalid(struct api_fail *f, const struct api_resource *res,
		     const char *name, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
int api_fail_invalidv(struct api_fail *f, const struct api_resource *res,
		      const char *name, const char *field, const char *fmt,
		      va_list ap) __attribute__((format(printf, 5, 0)));

/* Queues the Status of @f; Invalid ones carry details.causes. */
enum MHD_Result api_reply_fail(struct api_request *req,
			       const struct api_fail *f);

/* discovery.c: answers a non-resource path, or returns MHD_NO-like false */
bool discovery_handle(struct api_request *req, enum MHD_Result *ret);

/* objects.c: answers a request for a resource path. */
enum MHD_Result objects_handle(struct api_request *req);
/* Creates the namespaces a cluster starts with, if missing. */
int objects_bootstrap(struct apiserver *server);

/* Store keys: "/registry/PLURAL/NS/NAME", "/registry/PLURAL/NAME". */
char *object_key(const struct api_resource *res, const char *ns,
		 const char *name);
/* The prefix a list of @res in @ns (NULL: all) reads. */
char *object_prefix(const struct api_resource *res, const char *ns);
/* Decodes a stored value: the object with resourceVersion set. */
json_t *object_decode(const char *value, size_t len, int64_t mod_rev);

/* meta.c */
bool meta_valid_name(const char *name, bool label, char *err, size_t len);
void meta_new_uid(char out[37]);
void meta_now(char out[32]);
/* resourceVersion strings */
bool meta_parse_rv(const char *text, int64_t *rv);

/**
 * struct list_filter - what a list or a watch selects
 * @labels: from ?labelSelector=
 * @fields: from ?fieldSelector= (the paths the resource allows)
 */
struct list_filter {
	struct skiff_selector *labels;
	struct skiff_selector *fields;
};

/* objects.c: parses the request's selectors; -EINVAL with @err. */
int list_filter_parse(struct api_request *req, struct list_filter *lf,
		      char *err, size_t len);
bool list_filter_match(const struct list_filter *lf, const json_t *obj);
void list_filter_free(struct list_filter *lf);

/* watch.c */
int watch_hub_create(struct apiserver *server, size_t cache_size,
		     struct watch_hub **hub);
void watch_hub_destroy(struct watch_hub *hub);
/* The store's revision when the hub starts taking its notifications. */
void watch_hub_start(struct watch_hub *hub, int64_t rev);
/* The store's notify callback: fans an event out to the watchers. */
void watch_hub_notify(const struct skiff_store_event *ev, void *arg);
/* Answers ?watch=1 on a resource path. */
enum MHD_Result watch_handle(struct api_request *req);
/* Resumes and ends every stream (before the daemon stops). */
void watch_hub_shutdown(struct watch_hub *hub);
size_t watch_hub_count(struct watch_hub *hub);
/* Watches with a resourceVersion so far, by where they caught up from. */
void watch_hub_catch_ups(struct watch_hub *hub, unsigned long long *cache,
			 unsigned long long *store);

/* logs.c: GET pods/NAME/log, from the kubelet of the pod's node. */
enum MHD_Result logs_handle(struct api_request *req);
/* Ends every log stream (before the daemon stops). */
void logs_shutdown(void);
/* GET nodes/NAME/proxy/PATH: the node's PATH, as its kubelet answers. */
enum MHD_Result node_proxy_handle(struct api_request *req);

/* table.c: a Table of @list's items (or one object) for kubectl get. */
json_t *table_render(const struct api_resource *res, json_t *items,
		     const char *rv, const char *cont, bool include_object);
/* Does the Accept header ask for a Table? */
bool table_wanted(const char *accept);

#endif /* SKIFF_API_H */
