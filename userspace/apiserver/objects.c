// SPDX-License-Identifier: GPL-2.0
/*
 * The verbs on every kind: get, list, create, update (PUT), patch, delete,
 * deletecollection, and the subresources status, scale, binding and
 * finalize. Objects are stored as their JSON without resourceVersion; the
 * store's mod_rev becomes resourceVersion on the way out, as Kubernetes
 * does on etcd.
 *
 * Every write goes through one path, write_object(): load the current
 * object, compute the new one (the body of a PUT, the patched object, the
 * object with a new status...), enforce the rules that do not depend on
 * the verb (immutable metadata, status only through its subresource,
 * generation, finalizers) and store it if nothing changed meanwhile. A
 * conflict with a concurrent writer retries unless the client named the
 * resourceVersion it expects.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "api.h"
#include "util.h"
#include "kinds.h"
#include "k8s_protobuf.h"
#include "services.h"
#include "patch.h"
#include "selector.h"

/*
 * A write that lost a compare-and-swap to another writer is tried again on
 * the newer object. Each round has a winner, so N writers racing on one
 * object need up to N rounds: bound the retries by time, as Kubernetes'
 * GuaranteedUpdate is bounded only by the request's deadline.
 */
#define WRITE_RETRY_SECONDS 10

/* Called before each attempt; the first always runs. */
static bool write_again(int tries, struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!tries) {
		*start = now;
		return true;
	}
	return now.tv_sec - start->tv_sec < WRITE_RETRY_SECONDS;
}

char *object_key(const struct api_resource *res, const char *ns,
		 const char *name)
{
	char *key;

	if (ns && (res->flags & RES_NAMESPACED)) {
		if (asprintf(&key, "/registry/%s/%s/%s", res->plural, ns,
			     name) < 0)
			return NULL;
	} else if (asprintf(&key, "/registry/%s/%s", res->plural, name) < 0) {
		return NULL;
	}
	return key;
}

char *object_prefix(const struct api_resource *res, const char *ns)
{
	char *prefix;

	if (ns && (res->flags & RES_NAMESPACED)) {
		if (asprintf(&prefix, "/registry/%s/%s/", res->plural, ns) < 0)
			return NULL;
	} else if (asprintf(&prefix, "/registry/%s/", res->plural) < 0) {
		return NULL;
	}
	return prefix;
}

static void set_rv(json_t *obj, int64_t rev)
{
	json_t *meta = json_object_get(obj, "metadata");
	char text[24];

	if (!json_is_object(meta)) {
		meta = json_object();
		json_object_set_new(obj, "metadata", meta);
	}
	snprintf(text, sizeof(text), "%lld", (long long)rev);
	json_object_set_new(meta, "resourceVersion", json_string(text));
}

json_t *object_decode(const char *value, size_t len, int64_t mod_rev)
{
	json_t *obj = json_loadb(value, len, 0, NULL);

	if (obj)
		set_rv(obj, mod_rev);
	return obj;
}

/* The stored form: compact JSON without resourceVersion. */
static char *object_encode(json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	json_t *rv = json_incref(json_object_get(meta, "resourceVersion"));
	char *text;

	json_object_del(meta, "resourceVersion");
	text = json_dumps(obj, JSON_COMPACT);
	if (rv)
		json_object_set_new(meta, "resourceVersion", rv);
	return text;
}

static const char *meta_str(const json_t *obj, const char *field)
{
	return json_string_value(json_object_get(json_object_get(obj,
								  "metadata"),
						 field));
}

static int failf(struct api_fail *f, unsigned int code, const char *reason,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int failf(struct api_fail *f, unsigned int code, const char *reason,
		 const char *fmt, ...)
{
	va_list ap;

	f->code = code;
	f->reason = reason;
	f->field[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static enum MHD_Result reply_fail(struct api_request *req,
				  const struct api_fail *f)
{
	return api_reply_fail(req, f);
}

static int load(struct api_request *req, const char *key, json_t **obj,
		int64_t *mod_rev)
{
	struct skiff_kv kv;
	int err;

	err = skiff_store_get(req->server->store, key, &kv);
	if (err)
		return err;
	*obj = object_decode(kv.value, kv.value_len, kv.mod_rev);
	*mod_rev = kv.mod_rev;
	skiff_kv_free(&kv);
	return *obj ? 0 : -EIO;
}

/* Wants a Table? Then one object becomes a one-row Table. */
static enum MHD_Result reply_object(struct api_request *req,
				    unsigned int code, json_t *obj)
{
	json_t *items;

	if (!table_wanted(api_header(req, "Accept")))
		return api_reply_json(req, code, obj);
	items = json_array();
	json_array_append_new(items, obj);
	obj = table_render(req->res, items, meta_str(obj, "resourceVersion"),
			   NULL, true);
	json_decref(items);
	return api_reply_json(req, code, obj);
}

/* ---- reading the body ------------------------------------------------ */

static bool content_type_is(const char *type, const char *want)
{
	size_t n = strlen(want);

	return type && !strncasecmp(type, want, n) &&
	       (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

/*
 * Parses the body as an object of the request's kind: JSON, or Kubernetes
 * protobuf (kubectl 1.32's typed commands) decoded into the JSON the same
 * client would have sent (k8s_protobuf.h); YAML is the client's business.
 * kind and apiVersion as the path says.
 */
static json_t *body_object(struct api_request *req, const char *kind,
			   const char *api_version, struct api_fail *f)
{
	const char *type = api_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
	bool protobuf = content_type_is(type, K8S_PROTOBUF_MEDIA_TYPE);
	const char *got_kind, *got_version;
	char perr[512];
	json_error_t jerr;
	json_t *obj;

	if (type && !protobuf && !content_type_is(type, "application/json")) {
		failf(f, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
		      "UnsupportedMediaType",
		      "the body of the request was in an unknown format - accepted media types include: application/json, application/vnd.kubernetes.protobuf");
		return NULL;
	}
	if (!req->body_len) {
		failf(f, MHD_HTTP_BAD_REQUEST, "BadRequest",
		      "the request has no body: an object of kind %s is expected",
		      kind);
		return NULL;
	}
	if (protobuf) {
		obj = k8s_protobuf_to_json(req->body, req->body_len, perr,
					   sizeof(perr));
		if (!obj) {
			failf(f, MHD_HTTP_BAD_REQUEST, "BadRequest",
			      "the protobuf body cannot be decoded: %s", perr);
			return NULL;
		}
	} else {
		obj = json_loadb(req->body, req->body_len, 0, &jerr);
		if (!obj) {
			failf(f, MHD_HTTP_BAD_REQUEST, "BadRequest",
			      "the body is not JSON: %s at line %d column %d",
			      jerr.text, jerr.line, jerr.column);
			return NULL;
		}
	}
	if (!json_is_object(obj)) {
		failf(f, MHD_HTTP_BAD_REQUEST, "BadRequest",
		      "the object provided is unrecognized (must be of type %s)",
		      kind);
		goto bad;
	}
	got_kind = json_string_value(json_object_get(obj, "kind"));
	got_version = json_string_value(json_object_get(obj, "apiVersion"));
	if (!got_kind || !got_version) {
		failf(f, MHD_HTTP_BAD_REQUEST, "BadRequest",
		      "Object 'Kind' or 'apiVersion' is missing: an object of kind %s, apiVersion %s is expected",
		      kind, api_version);
		goto bad;
	}
	if (strcmp(got_kind, kind) || strcmp(got_version, api_version)) {
		failf(f, MHD_HTTP_BAD_REQUEST, "BadRequest",
		      "the object is %s %s but this path takes %s %s",
		      got_version, got_kind, api_version, kind);
		goto bad;
	}
	if (json_object_get(obj, "metadata") &&
	    !json_is_object(json_object_get(obj, "metadata"))) {
		failf(f, MHD_HTTP_BAD_REQUEST, "BadRequest",
		      "metadata must be an object");
		goto bad;
	}
	if (!json_object_get(obj, "metadata"))
		json_object_set_new(obj, "metadata", json_object());
	return obj;
bad:
	json_decref(obj);
	return NULL;
}

/* ---- get and list ------------------------------------------------------ */

static enum MHD_Result do_get(struct api_request *req)
{
	char *key = object_key(req->res, req->namespace, req->name);
	int64_t rev;
	json_t *obj;
	int err;

	err = key ? load(req, key, &obj, &rev) : -ENOMEM;
	free(key);
	if (err)
		return api_reply_store_error(req, err, req->name);
	return reply_object(req, MHD_HTTP_OK, obj);
}

/*
 * A continue token: where the next page starts and the revision the list
 * is read at, hex-encoded so it is opaque and URL-safe.
 */
static char *continue_encode(int64_t rev, const char *key)
{
	char *plain, *hex;
	size_t i, n;

	if (asprintf(&plain, "%lld|%s", (long long)rev, key) < 0)
		return NULL;
	n = strlen(plain);
	hex = malloc(2 * n + 1);
	for (i = 0; hex && i < n; i++)
		sprintf(hex + 2 * i, "%02x", (unsigned char)plain[i]);
	if (hex)
		hex[2 * n] = '\0';
	free(plain);
	return hex;
}

static int continue_decode(const char *token, const char *prefix,
			   int64_t *rev, char **key)
{
	size_t n = strlen(token), i;
	char *plain, *bar;
	long long r;

	if (!n || n % 2 || n > 4096)
		return -EINVAL;
	plain = malloc(n / 2 + 1);
	if (!plain)
		return -ENOMEM;
	for (i = 0; i < n / 2; i++) {
		unsigned int byte;

		if (sscanf(token + 2 * i, "%2x", &byte) != 1 || !byte)
			goto bad;
		plain[i] = (char)byte;
	}
	plain[n / 2] = '\0';
	bar = strchr(plain, '|');
	if (!bar || sscanf(plain, "%lld|", &r) != 1 || r <= 0 ||
	    strncmp(bar + 1, prefix, strlen(prefix)))
		goto bad;
	*rev = r;
	*key = strdup(bar + 1);
	free(plain);
	return *key ? 0 : -ENOMEM;
bad:
	free(plain);
	return -EINVAL;
}

int list_filter_parse(struct api_request *req, struct list_filter *lf,
		      char *err, size_t len)
{
	const char *labels = api_query(req, "labelSelector");
	const char *fields = api_query(req, "fieldSelector");
	int ret;

	memset(lf, 0, sizeof(*lf));
	ret = skiff_label_selector_parse(labels ? labels : "", &lf->labels,
					 err, len);
	if (ret)
		return ret;
	ret = skiff_field_selector_parse(fields ? fields : "",
					 api_resource_fields(req->res),
					 &lf->fields, err, len);
	if (ret) {
		skiff_selector_free(lf->labels);
		lf->labels = NULL;
	}
	return ret;
}

bool list_filter_match(const struct list_filter *lf, const json_t *obj)
{
	return skiff_selector_match_labels(lf->labels,
					   json_object_get(json_object_get(obj, "metadata"),
							   "labels")) &&
	       skiff_selector_match_fields(lf->fields, obj);
}

void list_filter_free(struct list_filter *lf)
{
	skiff_selector_free(lf->labels);
	skiff_selector_free(lf->fields);
}

static enum MHD_Result do_list(struct api_request *req)
{
	struct skiff_store_range range = { 0 };
	const char *limit_text = api_query(req, "limit");
	const char *token = api_query(req, "continue");
	char *prefix, *after = NULL, *next = NULL, err[512];
	struct list_filter lf;
	unsigned long limit = 0;
	json_t *items, *list;
	int64_t rev = 0;
	bool more = false;
	enum MHD_Result ret;
	int e;

	if (limit_text) {
		char *end;

		limit = strtoul(limit_text, &end, 10);
		if (*end || limit_text[0] == '-')
			return api_reply_error(req, MHD_HTTP_BAD_REQUEST,
					       "BadRequest",
					       "limit: invalid value '%s'",
					       limit_text);
	}
	prefix = object_prefix(req->res, req->namespace);
	if (!prefix)
		return MHD_NO;
	if (token && *token &&
	    continue_decode(token, prefix, &rev, &after)) {
		free(prefix);
		return api_reply_error(req, MHD_HTTP_BAD_REQUEST, "BadRequest",
				       "continue key is not valid");
	}
	if (list_filter_parse(req, &lf, err, sizeof(err))) {
		free(prefix);
		free(after);
		return api_reply_error(req, MHD_HTTP_BAD_REQUEST, "BadRequest",
				       "%s", err);
	}

	items = json_array();
	range.prefix = prefix;
	range.rev = rev;
	/*
	 * Read pages until @limit objects passed the filter: a selector that
	 * matches few objects must not return short pages.
	 */
	do {
		struct skiff_kv_list page;
		size_t i;

		range.after = after;
		range.limit = limit ? limit - json_array_size(items) : 0;
		e = skiff_store_list(req->server->store, &range, &page, &rev,
				     &more);
		if (e)
			break;
		range.rev = rev;
		for (i = 0; i < page.count; i++) {
			json_t *obj = object_decode(page.items[i].value,
						    page.items[i].value_len,
						    page.items[i].mod_rev);

			if (obj && list_filter_match(&lf, obj))
				json_array_append(items, obj);
			json_decref(obj);
		}
		if (page.count) {
			free(after);
			after = strdup(page.items[page.count - 1].key);
		}
		skiff_kv_list_free(&page);
	} while (more && limit && json_array_size(items) < limit);
	list_filter_free(&lf);
	free(prefix);
	if (e) {
		free(after);
		json_decref(items);
		return api_reply_store_error(req, e, NULL);
	}
	if (more && after)
		next = continue_encode(rev, after);
	free(after);

	if (table_wanted(api_header(req, "Accept"))) {
		char rv[24];

		snprintf(rv, sizeof(rv), "%lld", (long long)rev);
		list = table_render(req->res, items, rv, next,
				    api_query(req, "includeObject") &&
				    !strcmp(api_query(req, "includeObject"),
					    "Object"));
		json_decref(items);
	} else {
		list = json_pack("{s:s, s:s, s:{s:s+}, s:o}",
				 "kind", req->res->list_kind,
				 "apiVersion", req->res->api_version,
				 "metadata", "resourceVersion", "", "",
				 "items", items);
		if (list) {
			char rv[24];

			snprintf(rv, sizeof(rv), "%lld", (long long)rev);
			json_object_set_new(json_object_get(list, "metadata"),
					    "resourceVersion", json_string(rv));
			if (next)
				json_object_set_new(json_object_get(list,
								    "metadata"),
						    "continue",
						    json_string(next));
		}
	}
	free(next);
	ret = api_reply_json(req, MHD_HTTP_OK, list);
	return ret;
}

/* ---- create ------------------------------------------------------------ */

static bool is_service(const struct api_resource *res)
{
	return !strcmp(res->plural, "services");
}

/* Kubernetes' generateName suffix: 5 of these, no vowels, no 0/1/3. */
static void random_suffix(char out[6])
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	unsigned char b[5];
	int i;

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		abort();
	for (i = 0; i < 5; i++)
		out[i] = alphabet[b[i] % (sizeof(alphabet) - 1)];
	out[5] = '\0';
}

/* Checks the name and namespace of a new or replacing object. */
static int check_identity(struct api_request *req, json_t *obj,
			  struct api_fail *f)
{
	json_t *meta = json_object_get(obj, "metadata");
	const char *name = meta_str(obj, "name");
	const char *ns = meta_str(obj, "namespace");
	char err[512];

	if (req->res->flags & RES_NAMESPACED) {
		if (ns && strcmp(ns, req->namespace))
			return failf(f, MHD_HTTP_BAD_REQUEST, "BadRequest",
				     "the namespace of the provided object does not match the namespace sent on the request");
		if (!ns)
			json_object_set_new(meta, "namespace",
					    json_string(req->namespace));
	} else {
		json_object_del(meta, "namespace");
	}
	if (!name || !meta_valid_name(name, req->res->flags & RES_SHORT_NAME,
				      err, sizeof(err))) {
		return api_fail_invalid(f, req->res, name, "metadata.name", "%s",
					name ? err :
					"Required value: name or generateName is required");
	}
	return 0;
}

static enum MHD_Result do_create(struct api_request *req)
{
	const char *gen, *name;
	char *key, uid[37], now[32], suffix[6];
	json_t *obj, *meta;
	struct api_fail f;
	int64_t rev;
	char *text;
	int err, tries;

	obj = body_object(req, req->res->kind, req->res->api_version, &f);
	if (!obj)
		return reply_fail(req, &f);
	meta = json_object_get(obj, "metadata");
	if (meta_str(obj, "resourceVersion") &&
	    *meta_str(obj, "resourceVersion")) {
		json_decref(obj);
		return api_reply_error(req, MHD_HTTP_BAD_REQUEST, "BadRequest",
				       "resourceVersion should not be set on objects to be created");
	}
	gen = meta_str(obj, "generateName");
	if (!meta_str(obj, "name") && gen) {
		char *generated;

		random_suffix(suffix);
		if (asprintf(&generated, "%.57s%s", gen, suffix) < 0)
			generated = NULL;
		json_object_set_new(meta, "name", json_string(generated));
		free(generated);
	}
	if (check_identity(req, obj, &f)) {
		json_decref(obj);
		return reply_fail(req, &f);
	}
	name = meta_str(obj, "name");
	meta_new_uid(uid);
	meta_now(now);
	json_object_set_new(meta, "uid", json_string(uid));
	json_object_set_new(meta, "creationTimestamp", json_string(now));
	json_object_del(meta, "deletionTimestamp");
	json_object_del(meta, "deletionGracePeriodSeconds");
	json_object_del(meta, "managedFields");
	json_object_del(meta, "selfLink");
	if (req->res->flags & RES_GENERATION)
		json_object_set_new(meta, "generation", json_integer(1));
	else
		json_object_del(meta, "generation");
	if (kinds_prepare_create(req->res, obj, &f) ||
	    (is_service(req->res) &&
	     services_allocate(req->server, NULL, obj, &f))) {
		json_decref(obj);
		return reply_fail(req, &f);
	}

	/* A namespaced object needs its namespace, and one not going away. */
	if (req->res->flags & RES_NAMESPACED) {
		const struct api_resource *ns_res =
			api_resource_find("", "v1", "namespaces");
		char *ns_key = object_key(ns_res, NULL, req->namespace);
		json_t *ns = NULL;
		int64_t ns_rev;

		err = ns_key ? load(req, ns_key, &ns, &ns_rev) : -ENOMEM;
		free(ns_key);
		if (err == -ENOENT) {
			json_decref(obj);
			return api_reply_error_for(req, MHD_HTTP_NOT_FOUND,
						   "NotFound", req->namespace,
						   "namespaces \"%s\" not found",
						   req->namespace);
		}
		if (!err && meta_str(ns, "deletionTimestamp")) {
			enum MHD_Result ret;

			ret = api_reply_error(req, MHD_HTTP_FORBIDDEN,
					      "Forbidden",
					      "%s \"%s\" is forbidden: unable to create new content in namespace %s because it is being terminated",
					      req->res->plural, name,
					      req->namespace);
			json_decref(ns);
			json_decref(obj);
			return ret;
		}
		json_decref(ns);
	}

	/* A generated name may collide: Kubernetes retries too. */
	for (tries = 0;; tries++) {
		key = object_key(req->res, req->namespace, name);
		text = key ? object_encode(obj) : NULL;
		err = text ? skiff_store_create(req->server->store, key, text,
						strlen(text), &rev) : -ENOMEM;
		free(key);
		free(text);
		if (err != -EEXIST || !gen || !meta_str(obj, "name") ||
		    tries == 4)
			break;
		random_suffix(suffix);
		{
			char *generated;

			if (asprintf(&generated, "%.57s%s", gen, suffix) < 0)
				break;
			json_object_set_new(meta, "name",
					    json_string(generated));
			free(generated);
			name = meta_str(obj, "name");
		}
	}
	if (err) {
		enum MHD_Result ret = api_reply_store_error(req, err, name);

		if (is_service(req->res))
			services_release(req->server, obj, NULL);
		json_decref(obj);
		return ret;
	}
	set_rv(obj, rev);
	return reply_object(req, MHD_HTTP_CREATED, obj);
}

/* ---- the write path ---------------------------------------------------- */

/*
 * Computes the object a write wants from the current one. Returns the new
 * object (a new reference) or NULL with @f filled.
 */
typedef json_t *(*mutate_fn)(struct api_request *req, const json_t *cur,
			     void *arg, struct api_fail *f);

static bool finalizers_empty(const json_t *obj)
{
	return json_array_size(json_object_get(json_object_get(obj,
							       "metadata"),
					       "finalizers")) == 0;
}

/*
 * The rules every update obeys, whatever the verb: identity and creation
 * metadata cannot change, status changes only through the status
 * subresource (and only status does), generation counts spec changes.
 */
static int update_rules(struct api_request *req, const json_t *cur,
			json_t *obj, struct api_fail *f)
{
	static const char *const kept[] = {
		"uid", "creationTimestamp", "deletionTimestamp",
		"deletionGracePeriodSeconds", "generation", "namespace",
	};
	json_t *meta = json_object_get(obj, "metadata");
	json_t *cur_meta = json_object_get(cur, "metadata");
	const char *uid = meta_str(obj, "uid");
	bool status_sub = req->subresource &&
			  !strcmp(req->subresource, "status");
	unsigned int i;

	if (!json_is_object(meta))
		return failf(f, MHD_HTTP_BAD_REQUEST, "BadRequest",
			     "metadata must be an object");
	if (meta_str(obj, "name") && strcmp(meta_str(obj, "name"), req->name))
		return failf(f, MHD_HTTP_BAD_REQUEST, "BadRequest",
			     "the name of the object (%s) does not match the name on the URL (%s)",
			     meta_str(obj, "name"), req->name);
	if (uid && *uid && strcmp(uid, meta_str(cur, "uid")))
		return failf(f, MHD_HTTP_CONFLICT, "Conflict",
			     "Precondition failed: UID in precondition: %s, UID in object meta: %s",
			     uid, meta_str(cur, "uid"));
	json_object_set_new(meta, "name", json_string(req->name));
	for (i = 0; i < ARRAY_SIZE(kept); i++) {
		json_t *v = json_object_get(cur_meta, kept[i]);

		if (v)
			json_object_set(meta, kept[i], v);
		else
			json_object_del(meta, kept[i]);
	}
	json_object_del(meta, "managedFields");

	if (status_sub) {
		/* Only status changes through the status subresource. */
		json_t *status = json_incref(json_object_get(obj, "status"));
		const char *rv = meta_str(obj, "resourceVersion");
		char *rv_copy = rv ? strdup(rv) : NULL;

		json_object_clear(obj);
		json_object_update(obj, (json_t *)cur);
		json_object_set_new(obj, "metadata",
				    json_deep_copy(cur_meta));
		if (status)
			json_object_set_new(obj, "status", status);
		else
			json_object_del(obj, "status");
		if (rv_copy)
			json_object_set_new(json_object_get(obj, "metadata"),
					    "resourceVersion",
					    json_string(rv_copy));
		free(rv_copy);
		return 0;
	}
	if ((req->res->flags & RES_STATUS) &&
	    !(req->subresource && !strcmp(req->subresource, "finalize"))) {
		json_t *status = json_object_get(cur, "status");

		if (status)
			json_object_set(obj, "status", status);
		else
			json_object_del(obj, "status");
	}
	if ((req->res->flags & RES_GENERATION) &&
	    !json_equal(json_object_get(obj, "spec"),
			json_object_get(cur, "spec"))) {
		json_int_t gen = json_integer_value(json_object_get(cur_meta,
								    "generation"));

		json_object_set_new(meta, "generation",
				    json_integer(gen + 1));
	}
	return kinds_validate_update(req->res, cur, obj, f);
}

/* Equal but for resourceVersion? Then an update writes nothing. */
static bool same_object(const json_t *a, const json_t *b)
{
	json_t *ca = json_deep_copy(a), *cb = json_deep_copy(b);
	bool same;

	json_object_del(json_object_get(ca, "metadata"), "resourceVersion");
	json_object_del(json_object_get(cb, "metadata"), "resourceVersion");
	same = json_equal(ca, cb);
	json_decref(ca);
	json_decref(cb);
	return same;
}

/*
 * An update ends an object's deletion when it makes it deletable: it
 * took away the last finalizer (or, for a Namespace, the last of its
 * spec.finalizers). An object merely updated while it waits (a pod's
 * status written by its kubelet during its grace period) stays: its
 * deletion is finished by whoever holds it, as in Kubernetes.
 */
static bool completes_deletion(struct api_request *req, const json_t *cur,
			       const json_t *obj)
{
	return meta_str(obj, "deletionTimestamp") && finalizers_empty(obj) &&
	       kinds_deletable(req->res, obj) &&
	       (!finalizers_empty(cur) || !kinds_deletable(req->res, cur));
}

/*
 * Loads the object, applies @mutate and the update rules, and stores the
 * result if the object did not change meanwhile. An object being deleted
 * whose last finalizer goes is deleted. Answers the request.
 */
static enum MHD_Result write_object(struct api_request *req, mutate_fn mutate,
				    void *arg, json_t *(*present)(const json_t *))
{
	char *key = object_key(req->res, req->namespace, req->name);
	json_t *cur = NULL, *obj = NULL;
	int64_t cur_rev, want_rev, rev;
	struct api_fail f;
	int err = -ENOMEM, tries;
	struct timespec start;
	char *text;

	for (tries = 0; key && write_again(tries, &start); tries++) {
		bool precondition = false;

		json_decref(cur);
		json_decref(obj);
		cur = NULL;
		obj = NULL;
		err = load(req, key, &cur, &cur_rev);
		if (err)
			break;
		obj = mutate(req, cur, arg, &f);
		if (!obj)
			goto fail;
		if (meta_str(obj, "resourceVersion") &&
		    *meta_str(obj, "resourceVersion")) {
			if (!meta_parse_rv(meta_str(obj, "resourceVersion"),
					   &want_rev)) {
				failf(&f, MHD_HTTP_BAD_REQUEST, "BadRequest",
				      "metadata.resourceVersion: Invalid value: \"%s\": must be a number",
				      meta_str(obj, "resourceVersion"));
				goto fail;
			}
			precondition = true;
			if (want_rev != cur_rev) {
				err = -ESTALE;
				break;
			}
		}
		if (update_rules(req, cur, obj, &f))
			goto fail;
		if (same_object(cur, obj)) {
			json_decref(cur);
			free(key);
			set_rv(obj, cur_rev);
			goto done;
		}
		if (completes_deletion(req, cur, obj)) {
			err = skiff_store_delete(req->server->store, key,
						 cur_rev, NULL, &rev);
			if (!err && is_service(req->res))
				services_release(req->server, cur, NULL);
		} else {
			bool addresses = is_service(req->res) &&
					 !req->subresource;

			if (addresses &&
			    services_allocate(req->server, cur, obj, &f))
				goto fail;
			text = object_encode(obj);
			err = text ? skiff_store_update(req->server->store,
							key, text,
							strlen(text), cur_rev,
							&rev) : -ENOMEM;
			free(text);
			/* Give back what the loser of a race took, or what
			 * the winner no longer holds.
			 */
			if (addresses && err)
				services_release(req->server, obj, cur);
			else if (addresses)
				services_release(req->server, cur, obj);
		}
		if (err != -ESTALE || precondition)
			break;
	}
	free(key);
	json_decref(cur);
	if (err) {
		json_decref(obj);
		return api_reply_store_error(req, err, req->name);
	}
	set_rv(obj, rev);
done:
	if (present) {
		json_t *shown = present(obj);

		json_decref(obj);
		return api_reply_json(req, MHD_HTTP_OK, shown);
	}
	return reply_object(req, MHD_HTTP_OK, obj);
fail:
	free(key);
	json_decref(cur);
	json_decref(obj);
	return reply_fail(req, &f);
}

/* PUT: the body is the new object. */
static json_t *mutate_put(struct api_request *req, const json_t *cur,
			  void *arg, struct api_fail *f)
{
	(void)req;
	(void)cur;
	(void)f;
	return json_deep_copy(arg);
}

static enum MHD_Result do_put(struct api_request *req)
{
	enum MHD_Result ret;
	struct api_fail f;
	json_t *obj;

	obj = body_object(req, req->res->kind, req->res->api_version, &f);
	if (!obj)
		return reply_fail(req, &f);
	ret = write_object(req, mutate_put, obj, NULL);
	json_decref(obj);
	return ret;
}

/* ---- patch ------------------------------------------------------------- */

enum patch_type { PATCH_MERGE, PATCH_JSON, PATCH_STRATEGIC };

struct patch_args {
	enum patch_type type;
	json_t *patch;
};

static json_t *apply_patch(const struct patch_args *p, const json_t *doc,
			   struct api_fail *f)
{
	char err[512] = "";
	json_t *out = NULL;

	switch (p->type) {
	case PATCH_MERGE:
		out = skiff_merge_patch(doc, p->patch, err, sizeof(err));
		break;
	case PATCH_JSON:
		out = skiff_json_patch(doc, p->patch, err, sizeof(err));
		break;
	case PATCH_STRATEGIC:
		out = skiff_strategic_merge_patch(doc, p->patch, err,
						  sizeof(err));
		break;
	}
	if (!out)
		failf(f, MHD_HTTP_UNPROCESSABLE_CONTENT, "Invalid",
		      "the patch cannot be applied: %s", err);
	else if (!json_is_object(out) ||
		 !json_is_object(json_object_get(out, "metadata"))) {
		json_decref(out);
		out = NULL;
		failf(f, MHD_HTTP_UNPROCESSABLE_CONTENT, "Invalid",
		      "the patched object is not an object with metadata");
	}
	return out;
}

/*
 * The patched object carries the resourceVersion it was loaded with; only
 * one the patch itself set is the client's precondition (a conflict then
 * is 409). Otherwise the write is retried on a newer object, as
 * Kubernetes does for patches.
 */
static void unless_changed_drop_rv(json_t *out, const json_t *cur)
{
	const char *rv = meta_str(out, "resourceVersion");

	if (rv && !strcmp(rv, meta_str(cur, "resourceVersion") ?: ""))
		json_object_del(json_object_get(out, "metadata"),
				"resourceVersion");
}

static json_t *mutate_patch(struct api_request *req, const json_t *cur,
			    void *arg, struct api_fail *f)
{
	struct patch_args *p = arg;
	const char *kind, *version;
	json_t *out;

	(void)req;
	out = apply_patch(p, cur, f);
	if (!out)
		return NULL;
	kind = json_string_value(json_object_get(out, "kind"));
	version = json_string_value(json_object_get(out, "apiVersion"));
	if (!kind || strcmp(kind, json_string_value(json_object_get(cur, "kind"))) ||
	    !version ||
	    strcmp(version, json_string_value(json_object_get(cur,
							      "apiVersion")))) {
		json_decref(out);
		failf(f, MHD_HTTP_BAD_REQUEST, "BadRequest",
		      "a patch cannot change kind or apiVersion");
		return NULL;
	}
	unless_changed_drop_rv(out, cur);
	return out;
}

/* The patch in the body, by Content-Type. */
static int parse_patch(struct api_request *req, struct patch_args *p,
		       struct api_fail *f)
{
	const char *type = api_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
	json_error_t jerr;

	if (content_type_is(type, "application/merge-patch+json")) {
		p->type = PATCH_MERGE;
	} else if (content_type_is(type, "application/json-patch+json")) {
		p->type = PATCH_JSON;
	} else if (content_type_is(type,
				   "application/strategic-merge-patch+json")) {
		p->type = PATCH_STRATEGIC;
	} else {
		return failf(f, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
			     "UnsupportedMediaType",
			     "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json");
	}
	p->patch = json_loadb(req->body ? req->body : "", req->body_len, 0,
			      &jerr);
	if (!p->patch)
		return failf(f, MHD_HTTP_BAD_REQUEST, "BadRequest",
			     "the patch is not JSON: %s", jerr.text);
	if (p->type == PATCH_JSON ? !json_is_array(p->patch) :
				    !json_is_object(p->patch)) {
		json_decref(p->patch);
		return failf(f, MHD_HTTP_BAD_REQUEST, "BadRequest",
			     "a %s must be a JSON %s",
			     p->type == PATCH_JSON ? "JSON patch" : "merge patch",
			     p->type == PATCH_JSON ? "array" : "object");
	}
	return 0;
}

static enum MHD_Result do_patch(struct api_request *req)
{
	struct patch_args p;
	enum MHD_Result ret;
	struct api_fail f;

	if (parse_patch(req, &p, &f))
		return reply_fail(req, &f);
	ret = write_object(req, mutate_patch, &p, NULL);
	json_decref(p.patch);
	return ret;
}

/* ---- scale ------------------------------------------------------------- */

/* The autoscaling/v1 Scale of a Deployment, ReplicaSet or StatefulSet. */
static json_t *scale_of(const json_t *obj)
{
	const json_t *meta = json_object_get(obj, "metadata");
	const json_t *labels = json_object_get(json_object_get(json_object_get(obj, "spec"),
							       "selector"),
					       "matchLabels");
	json_t *spec = json_object_get(obj, "spec");
	json_t *status = json_object_get(obj, "status");
	json_t *scale;
	char *selector = NULL;
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)labels, k, v) {
		char *more;

		if (asprintf(&more, "%s%s%s=%s", selector ? selector : "",
			     selector ? "," : "", k,
			     json_string_value(v) ? json_string_value(v) : "") < 0)
			break;
		free(selector);
		selector = more;
	}
	scale = json_pack("{s:s, s:s, s:{s:O*, s:O*, s:O*, s:O*, s:O*}, s:{s:I}, s:{s:I, s:s}}",
			  "kind", "Scale", "apiVersion", "autoscaling/v1",
			  "metadata",
			  "name", json_object_get(meta, "name"),
			  "namespace", json_object_get(meta, "namespace"),
			  "uid", json_object_get(meta, "uid"),
			  "resourceVersion",
			  json_object_get(meta, "resourceVersion"),
			  "creationTimestamp",
			  json_object_get(meta, "creationTimestamp"),
			  "spec", "replicas",
			  json_integer_value(json_object_get(spec, "replicas")),
			  "status", "replicas",
			  json_integer_value(json_object_get(status, "replicas")),
			  "selector", selector ? selector : "");
	free(selector);
	return scale;
}

/* A PUT or PATCH of scale: the new Scale's replicas into the object. */
static json_t *mutate_scale(struct api_request *req, const json_t *cur,
			    void *arg, struct api_fail *f)
{
	json_t *scale = scale_of(cur), *next, *replicas, *out;
	const char *rv;

	next = apply_patch(arg, scale, f);
	json_decref(scale);
	if (!next)
		return NULL;
	replicas = json_object_get(json_object_get(next, "spec"), "replicas");
	if (!json_is_integer(replicas) || json_integer_value(replicas) < 0) {
		json_decref(next);
		failf(f, MHD_HTTP_UNPROCESSABLE_CONTENT, "Invalid",
		      "Scale.autoscaling \"%s\" is invalid: spec.replicas: Invalid value: must be greater than or equal to 0",
		      req->name);
		return NULL;
	}
	out = json_deep_copy(cur);
	json_object_set(json_object_get(out, "spec"), "replicas", replicas);
	/* A Scale naming an older resourceVersion is a conflict. */
	rv = meta_str(next, "resourceVersion");
	json_object_set_new(json_object_get(out, "metadata"),
			    "resourceVersion", json_string(rv ? rv : ""));
	json_decref(next);
	return out;
}

static enum MHD_Result do_scale(struct api_request *req)
{
	struct patch_args p = { .type = PATCH_MERGE };
	enum MHD_Result ret;
	json_t *obj, *scale;
	struct api_fail f;
	int64_t rev;
	char *key;
	int err;

	if (!strcmp(req->method, "GET")) {
		key = object_key(req->res, req->namespace, req->name);
		err = key ? load(req, key, &obj, &rev) : -ENOMEM;
		free(key);
		if (err)
			return api_reply_store_error(req, err, req->name);
		scale = scale_of(obj);
		json_decref(obj);
		return api_reply_json(req, MHD_HTTP_OK, scale);
	}
	if (!strcmp(req->method, "PATCH")) {
		if (parse_patch(req, &p, &f))
			return reply_fail(req, &f);
	} else {
		/* PUT: the whole Scale, merged over the current one */
		p.patch = body_object(req, "Scale", "autoscaling/v1", &f);
		if (!p.patch)
			return reply_fail(req, &f);
	}
	ret = write_object(req, mutate_scale, &p, scale_of);
	json_decref(p.patch);
	return ret;
}

/* ---- delete ------------------------------------------------------------ */

/**
 * struct delete_options - a DeleteOptions body and query, parsed
 * @policy: Orphan, Background or Foreground
 * @grace: gracePeriodSeconds, or -1 when not given
 * @uid: preconditions.uid, or NULL
 * @rv: preconditions.resourceVersion, or 0
 */
struct delete_options {
	const char *policy;
	long long grace;
	char uid[64];
	int64_t rv;
};

static int parse_delete_options(struct api_request *req,
				struct delete_options *o, struct api_fail *f)
{
	const char *q_policy = api_query(req, "propagationPolicy");
	const char *q_grace = api_query(req, "gracePeriodSeconds");
	json_t *body = NULL, *v;
	json_error_t jerr;
	static char policy[16];

	memset(o, 0, sizeof(*o));
	o->grace = -1;
	o->policy = q_policy;
	if (q_grace) {
		char *end;

		o->grace = strtoll(q_grace, &end, 10);
		if (*end || !*q_grace)
			return failf(f, MHD_HTTP_BAD_REQUEST, "BadRequest",
				     "gracePeriodSeconds: invalid value '%s'",
				     q_grace);
	}
	if (req->body_len) {
		body = json_loadb(req->body, req->body_len, 0, &jerr);
		if (!json_is_object(body)) {
			json_decref(body);
			return failf(f, MHD_HTTP_BAD_REQUEST, "BadRequest",
				     "the body of a delete must be DeleteOptions");
		}
		v = json_object_get(body, "propagationPolicy");
		if (json_is_string(v)) {
			snprintf(policy, sizeof(policy), "%s",
				 json_string_value(v));
			o->policy = policy;
		}
		if (json_is_true(json_object_get(body, "orphanDependents")))
			o->policy = "Orphan";
		v = json_object_get(body, "gracePeriodSeconds");
		if (json_is_integer(v))
			o->grace = json_integer_value(v);
		v = json_object_get(json_object_get(body, "preconditions"),
				    "uid");
		if (json_is_string(v))
			snprintf(o->uid, sizeof(o->uid), "%s",
				 json_string_value(v));
		v = json_object_get(json_object_get(body, "preconditions"),
				    "resourceVersion");
		if (json_is_string(v) &&
		    !meta_parse_rv(json_string_value(v), &o->rv)) {
			json_decref(body);
			return failf(f, MHD_HTTP_BAD_REQUEST, "BadRequest",
				     "preconditions.resourceVersion must be a number");
		}
		json_decref(body);
	}
	if (o->policy && strcmp(o->policy, "Orphan") &&
	    strcmp(o->policy, "Background") &&
	    strcmp(o->policy, "Foreground"))
		return failf(f, MHD_HTTP_UNPROCESSABLE_CONTENT, "Invalid",
			     "propagationPolicy: Unsupported value: \"%s\": supported values: \"Orphan\", \"Background\", \"Foreground\"",
			     o->policy);
	if (o->grace < -1)
		return failf(f, MHD_HTTP_UNPROCESSABLE_CONTENT, "Invalid",
			     "gracePeriodSeconds: must be non-negative");
	return 0;
}

static void add_finalizer(json_t *obj, const char *name)
{
	json_t *meta = json_object_get(obj, "metadata");
	json_t *list = json_object_get(meta, "finalizers");
	size_t i;

	if (!json_is_array(list)) {
		list = json_array();
		json_object_set_new(meta, "finalizers", list);
	}
	for (i = 0; i < json_array_size(list); i++)
		if (!strcmp(json_string_value(json_array_get(list, i)) ?: "",
			    name))
			return;
	json_array_append_new(list, json_string(name));
}

/*
 * The deletion that stays in the store: the object gets a
 * deletionTimestamp and waits for its finalizers (the garbage collector's
 * orphan and foregroundDeletion, the namespace controller's kubernetes) or
 * for its kubelet (a pod bound to a node stops its containers, then
 * deletes it with grace 0).
 */
static bool delete_in_stages(struct api_request *req, json_t *obj,
			     const struct delete_options *o)
{
	json_t *meta = json_object_get(obj, "metadata");
	long long grace = kinds_grace_period(req->res, obj, o->grace);
	char now[32];

	if (o->policy && !strcmp(o->policy, "Orphan"))
		add_finalizer(obj, "orphan");
	else if (o->policy && !strcmp(o->policy, "Foreground"))
		add_finalizer(obj, "foregroundDeletion");
	if (finalizers_empty(obj) && grace <= 0 &&
	    kinds_deletable(req->res, obj))
		return false;
	if (!json_object_get(meta, "deletionTimestamp")) {
		time_t when = time(NULL) + (grace > 0 ? grace : 0);
		struct tm tm;

		gmtime_r(&when, &tm);
		strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_set_new(meta, "deletionTimestamp",
				    json_string(now));
		json_object_set_new(meta, "deletionGracePeriodSeconds",
				    json_integer(grace > 0 ? grace : 0));
	} else if (grace >= 0 &&
		   grace < json_integer_value(json_object_get(meta,
							      "deletionGracePeriodSeconds"))) {
		/* A shorter grace period than the one running wins. */
		json_object_set_new(meta, "deletionGracePeriodSeconds",
				    json_integer(grace));
	}
	kinds_prepare_delete(req->res, obj);
	return true;
}

static int check_preconditions(const struct delete_options *o,
			       const json_t *obj, int64_t rev, struct api_fail *f)
{
	const char *uid = meta_str(obj, "uid") ?: "";

	if (o->uid[0] && strcmp(o->uid, uid))
		return failf(f, MHD_HTTP_CONFLICT, "Conflict",
			     "Precondition failed: UID in precondition: %s, UID in object meta: %s",
			     o->uid, uid);
	if (o->rv && o->rv != rev)
		return failf(f, MHD_HTTP_CONFLICT, "Conflict",
			     "Precondition failed: ResourceVersion in precondition: %lld, ResourceVersion in object meta: %lld",
			     (long long)o->rv, (long long)rev);
	return 0;
}

/*
 * Deletes (or starts deleting) the object at @key. Returns 0 with the
 * object as it was or is now in @out, or a negative errno; -EPERM with @f
 * filled for a failed precondition.
 */
static int delete_one(struct api_request *req, const char *key,
		      const struct delete_options *o, json_t **out,
		      struct api_fail *f)
{
	json_t *obj = NULL, *before;
	int64_t cur_rev, rev = 0;
	int err = 0, tries;
	struct timespec start;
	bool unchanged;
	char *text;

	for (tries = 0; write_again(tries, &start); tries++) {
		json_decref(obj);
		err = load(req, key, &obj, &cur_rev);
		if (err)
			return err;
		if (check_preconditions(o, obj, cur_rev, f)) {
			json_decref(obj);
			return -EPERM;
		}
		before = json_deep_copy(obj);
		if (!delete_in_stages(req, obj, o)) {
			json_decref(before);
			err = skiff_store_delete(req->server->store, key,
						 cur_rev, NULL, &rev);
			if (!err && is_service(req->res))
				services_release(req->server, obj, NULL);
		} else {
			/* Asked again what is already under way: no write. */
			unchanged = same_object(obj, before);
			json_decref(before);
			if (unchanged) {
				*out = obj;
				return 0;
			}
			text = object_encode(obj);
			err = text ? skiff_store_update(req->server->store,
							key, text,
							strlen(text), cur_rev,
							&rev) : -ENOMEM;
			free(text);
		}
		if (err != -ESTALE)
			break;
	}
	if (err) {
		json_decref(obj);
		return err;
	}
	set_rv(obj, rev);
	*out = obj;
	return 0;
}

static enum MHD_Result do_delete(struct api_request *req)
{
	struct delete_options o;
	struct api_fail f;
	json_t *obj;
	char *key;
	int err;

	if (parse_delete_options(req, &o, &f))
		return reply_fail(req, &f);
	key = object_key(req->res, req->namespace, req->name);
	err = key ? delete_one(req, key, &o, &obj, &f) : -ENOMEM;
	free(key);
	if (err == -EPERM)
		return reply_fail(req, &f);
	if (err)
		return api_reply_store_error(req, err, req->name);
	return api_reply_json(req, MHD_HTTP_OK, obj);
}

/* DELETE on a collection: every object the selectors pick, one by one. */
static enum MHD_Result do_delete_collection(struct api_request *req)
{
	struct skiff_store_range range = { 0 };
	struct skiff_kv_list page;
	struct delete_options o;
	struct list_filter lf;
	char err_text[512];
	json_t *items;
	struct api_fail f;
	int64_t rev;
	bool more;
	size_t i;
	int err;

	if (parse_delete_options(req, &o, &f))
		return reply_fail(req, &f);
	if (list_filter_parse(req, &lf, err_text, sizeof(err_text)))
		return api_reply_error(req, MHD_HTTP_BAD_REQUEST, "BadRequest",
				       "%s", err_text);
	range.prefix = object_prefix(req->res, req->namespace);
	err = range.prefix ? skiff_store_list(req->server->store, &range,
					      &page, &rev, &more) : -ENOMEM;
	if (err) {
		free((char *)range.prefix);
		list_filter_free(&lf);
		return api_reply_store_error(req, err, NULL);
	}
	items = json_array();
	for (i = 0; i < page.count; i++) {
		json_t *obj = object_decode(page.items[i].value,
					    page.items[i].value_len,
					    page.items[i].mod_rev);
		json_t *gone;

		if (obj && list_filter_match(&lf, obj) &&
		    !delete_one(req, page.items[i].key, &o, &gone, &f))
			json_array_append_new(items, gone);
		json_decref(obj);
	}
	skiff_kv_list_free(&page);
	list_filter_free(&lf);
	free((char *)range.prefix);
	return api_reply_json(req, MHD_HTTP_OK,
			      json_pack("{s:s, s:s, s:{}, s:o}",
					"kind", req->res->list_kind,
					"apiVersion", req->res->api_version,
					"metadata", "items", items));
}

/* ---- binding and finalize ---------------------------------------------- */

static json_t *mutate_bind(struct api_request *req, const json_t *cur,
			   void *arg, struct api_fail *f)
{
	const char *node = arg;
	const char *bound;
	json_t *out, *spec;

	(void)req;
	if (meta_str(cur, "deletionTimestamp")) {
		failf(f, MHD_HTTP_CONFLICT, "Conflict",
		      "pod %s is being deleted, cannot be assigned to a host",
		      req->name);
		return NULL;
	}
	spec = json_object_get(cur, "spec");
	bound = json_string_value(json_object_get(spec, "nodeName"));
	if (bound && *bound) {
		failf(f, MHD_HTTP_CONFLICT, "Conflict",
		      "pod %s is already assigned to node \"%s\"", req->name,
		      bound);
		return NULL;
	}
	out = json_deep_copy(cur);
	json_object_set_new(json_object_get(out, "spec"), "nodeName",
			    json_string(node));
	return out;
}

/* POST pods/NAME/binding: the scheduler's answer. */
static enum MHD_Result do_binding(struct api_request *req)
{
	const char *node;
	json_t *binding;
	struct api_fail f;
	char *key, *text;
	int64_t cur_rev, rev;
	json_t *cur = NULL, *obj;
	int err = 0, tries;
	struct timespec start;

	binding = body_object(req, "Binding", "v1", &f);
	if (!binding)
		return reply_fail(req, &f);
	node = json_string_value(json_object_get(json_object_get(binding,
								 "target"),
						 "name"));
	if (!node || !*node) {
		json_decref(binding);
		return api_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT,
				       "Invalid",
				       "Binding.v1 \"%s\" is invalid: target.name: Required value",
				       req->name);
	}
	key = object_key(req->res, req->namespace, req->name);
	for (tries = 0; key && write_again(tries, &start); tries++) {
		json_decref(cur);
		err = load(req, key, &cur, &cur_rev);
		if (err)
			break;
		obj = mutate_bind(req, cur, (void *)node, &f);
		if (!obj) {
			json_decref(cur);
			json_decref(binding);
			free(key);
			return reply_fail(req, &f);
		}
		kinds_bound(obj);
		text = object_encode(obj);
		json_decref(obj);
		err = text ? skiff_store_update(req->server->store, key, text,
						strlen(text), cur_rev, &rev) :
			     -ENOMEM;
		free(text);
		if (err != -ESTALE)
			break;
	}
	json_decref(cur);
	json_decref(binding);
	free(key);
	if (err)
		return api_reply_store_error(req, err, req->name);
	return api_reply_json(req, MHD_HTTP_CREATED,
			      json_pack("{s:s, s:s, s:{}, s:s, s:i}",
					"kind", "Status", "apiVersion", "v1",
					"metadata", "status", "Success",
					"code", 201));
}

/* PUT namespaces/NAME/finalize: only spec.finalizers changes. */
static json_t *mutate_finalize(struct api_request *req, const json_t *cur,
			       void *arg, struct api_fail *f)
{
	json_t *body = arg, *out;
	json_t *fin = json_object_get(json_object_get(body, "spec"),
				      "finalizers");

	(void)req;
	(void)f;
	out = json_deep_copy(cur);
	if (!json_is_object(json_object_get(out, "spec")))
		json_object_set_new(out, "spec", json_object());
	json_object_set_new(json_object_get(out, "spec"), "finalizers",
			    json_is_array(fin) ? json_deep_copy(fin) :
						 json_array());
	/* The body's resourceVersion, if any, is the precondition. */
	json_object_del(json_object_get(out, "metadata"), "resourceVersion");
	if (json_is_string(json_object_get(json_object_get(body, "metadata"),
					   "resourceVersion")))
		json_object_set(json_object_get(out, "metadata"),
				"resourceVersion",
				json_object_get(json_object_get(body,
								"metadata"),
						"resourceVersion"));
	return out;
}

/* ---- routing ----------------------------------------------------------- */

static bool is_true(const char *v)
{
	return v && (!strcmp(v, "1") || !strcmp(v, "true"));
}

static enum MHD_Result method_not_allowed(struct api_request *req)
{
	return api_reply_error(req, MHD_HTTP_METHOD_NOT_ALLOWED,
			       "MethodNotAllowed",
			       "the server does not allow this method on the requested resource");
}

static enum MHD_Result subresource(struct api_request *req)
{
	const char *sub = req->subresource, *m = req->method;
	const struct api_resource *res = req->res;

	if (!strcmp(sub, "status") && (res->flags & RES_STATUS)) {
		if (!strcmp(m, "GET"))
			return do_get(req);
		if (!strcmp(m, "PUT"))
			return do_put(req);
		if (!strcmp(m, "PATCH"))
			return do_patch(req);
		return method_not_allowed(req);
	}
	if (!strcmp(sub, "scale") && (res->flags & RES_SCALE)) {
		if (!strcmp(m, "GET") || !strcmp(m, "PUT") ||
		    !strcmp(m, "PATCH"))
			return do_scale(req);
		return method_not_allowed(req);
	}
	if (!strcmp(sub, "binding") && !strcmp(res->plural, "pods")) {
		if (!strcmp(m, "POST"))
			return do_binding(req);
		return method_not_allowed(req);
	}
	if (!strcmp(sub, "log") && !strcmp(res->plural, "pods")) {
		if (!strcmp(m, "GET"))
			return logs_handle(req);
		return method_not_allowed(req);
	}
	if (!strcmp(sub, "proxy") && !strcmp(res->plural, "nodes")) {
		if (!strcmp(m, "GET"))
			return node_proxy_handle(req);
		return method_not_allowed(req);
	}
	if (!strcmp(sub, "finalize") && !strcmp(res->plural, "namespaces")) {
		enum MHD_Result ret;
		struct api_fail f;
		json_t *body;

		if (strcmp(m, "PUT"))
			return method_not_allowed(req);
		body = body_object(req, "Namespace", "v1", &f);
		if (!body)
			return reply_fail(req, &f);
		ret = write_object(req, mutate_finalize, body, NULL);
		json_decref(body);
		return ret;
	}
	return api_reply_error(req, MHD_HTTP_NOT_FOUND, "NotFound",
			       "the server could not find the requested resource");
}

enum MHD_Result objects_handle(struct api_request *req)
{
	const char *m = req->method;

	if (req->name && !req->name[0])
		return api_reply_error(req, MHD_HTTP_NOT_FOUND, "NotFound",
				       "the server could not find the requested resource");
	if (req->subresource)
		return subresource(req);
	if (!req->name) {
		if (!strcmp(m, "GET"))
			return is_true(api_query(req, "watch")) ?
			       watch_handle(req) : do_list(req);
		if (!strcmp(m, "POST"))
			return do_create(req);
		if (!strcmp(m, "DELETE"))
			return do_delete_collection(req);
		return method_not_allowed(req);
	}
	if (!strcmp(m, "GET"))
		return is_true(api_query(req, "watch")) ? watch_handle(req) :
							 do_get(req);
	if (!strcmp(m, "PUT"))
		return do_put(req);
	if (!strcmp(m, "PATCH"))
		return do_patch(req);
	if (!strcmp(m, "DELETE"))
		return do_delete(req);
	return method_not_allowed(req);
}

/* ---- bootstrap --------------------------------------------------------- */

/* The namespaces every cluster has from its first start. */
int objects_bootstrap(struct apiserver *server)
{
	static const char *const names[] = {
		"default", "kube-system", "kube-public", "kube-node-lease",
	};
	const struct api_resource *res = api_resource_find("", "v1",
							   "namespaces");
	char uid[37], now[32], *key, *text;
	unsigned int i;
	int64_t rev;
	int err;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		json_t *ns;

		meta_new_uid(uid);
		meta_now(now);
		ns = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:{s:s}}, s:{s:[s]}, s:{s:s}}",
			       "kind", "Namespace", "apiVersion", "v1",
			       "metadata", "name", names[i], "uid", uid,
			       "creationTimestamp", now, "labels",
			       "kubernetes.io/metadata.name", names[i],
			       "spec", "finalizers", "kubernetes",
			       "status", "phase", "Active");
		key = object_key(res, NULL, names[i]);
		text = ns && key ? json_dumps(ns, JSON_COMPACT) : NULL;
		json_decref(ns);
		err = text ? skiff_store_create(server->store, key, text,
						strlen(text), &rev) : -ENOMEM;
		free(key);
		free(text);
		if (err && err != -EEXIST)
			return err;
	}
	return 0;
}
