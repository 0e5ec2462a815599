// SPDX-License-Identifier: GPL-2.0
/*
 * Answers: JSON bodies and the Status object every failure carries, shaped
 * as Kubernetes writes them so that kubectl prints its usual messages
 * (Error from server (NotFound): pods "x" not found).
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

enum MHD_Result api_reply_text(struct api_request *req, unsigned int code,
			       const char *content_type, const char *text)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				content_type);
	MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
	ret = MHD_queue_response(req->conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result api_reply_json(struct api_request *req, unsigned int code,
			       json_t *obj)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text;

	text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (!text)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text,
					       MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
	ret = MHD_queue_response(req->conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static json_t *status_failure(unsigned int code, const char *reason,
			      const char *message, json_t *details)
{
	json_t *status;

	status = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:i}",
			   "kind", "Status", "apiVersion", "v1",
			   "metadata", "status", "Failure",
			   "message", message, "code", (int)code);
	if (status && reason[0])
		json_object_set_new(status, "reason", json_string(reason));
	if (status && details)
		json_object_set(status, "details", details);
	json_decref(details);
	return status;
}

static enum MHD_Result reply_error(struct api_request *req, unsigned int code,
				   const char *reason, const char *name,
				   const char *fmt, va_list ap)
{
	json_t *details = NULL;
	char message[1024];

	vsnprintf(message, sizeof(message), fmt, ap);
	if (name && req->res) {
		details = json_pack("{s:s, s:s}", "name", name,
				    "kind", req->res->plural);
		if (details && req->res->group[0])
			json_object_set_new(details, "group",
					    json_string(req->res->group));
	}
	return api_reply_json(req, code,
			      status_failure(code, reason, message, details));
}

enum MHD_Result api_reply_error(struct api_request *req, unsigned int code,
				const char *reason, const char *fmt, ...)
{
	enum MHD_Result ret;
	va_list ap;

	va_start(ap, fmt);
	ret = reply_error(req, code, reason, NULL, fmt, ap);
	va_end(ap);
	return ret;
}

enum MHD_Result api_reply_error_for(struct api_request *req,
				    unsigned int code, const char *reason,
				    const char *name, const char *fmt, ...)
{
	enum MHD_Result ret;
	va_list ap;

	va_start(ap, fmt);
	ret = reply_error(req, code, reason, name, fmt, ap);
	va_end(ap);
	return ret;
}

/* "pods" or "deployments.apps": how Kubernetes names a resource in errors */
static void resource_name(const struct api_resource *res, char *out,
			  size_t len)
{
	if (res->group[0])
		snprintf(out, len, "%s.%s", res->plural, res->group);
	else
		snprintf(out, len, "%s", res->plural);
}

enum MHD_Result api_reply_store_error(struct api_request *req, int err,
				      const char *name)
{
	char what[128] = "object";

	if (req->res)
		resource_name(req->res, what, sizeof(what));
	switch (err) {
	case -ENOENT:
		return api_reply_error_for(req, MHD_HTTP_NOT_FOUND, "NotFound",
					   name, "%s \"%s\" not found", what,
					   name);
	case -EEXIST:
		return api_reply_error_for(req, MHD_HTTP_CONFLICT,
					   "AlreadyExists", name,
					   "%s \"%s\" already exists", what,
					   name);
	case -ESTALE:
		return api_reply_error_for(req, MHD_HTTP_CONFLICT, "Conflict",
					   name,
					   "Operation cannot be fulfilled on %s \"%s\": the object has been modified; please apply your changes to the latest version and try again",
					   what, name);
	case -ERANGE:
		return api_reply_error(req, MHD_HTTP_GONE, "Expired",
				       "The resourceVersion for the provided list is too old.");
	default:
		return api_reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
				       "InternalError",
				       "Internal error occurred: store: %s",
				       strerror(-err));
	}
}

int api_fail_invalid(struct api_fail *f, const struct api_resource *res,
		     const char *name, const char *field, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = api_fail_invalidv(f, res, name, field, fmt, ap);
	va_end(ap);
	return ret;
}

int api_fail_invalidv(struct api_fail *f, const struct api_resource *res,
		      const char *name, const char *field, const char *fmt,
		      va_list ap)
{
	vsnprintf(f->cause, sizeof(f->cause), fmt, ap);
	f->code = MHD_HTTP_UNPROCESSABLE_CONTENT;
	f->reason = "Invalid";
	snprintf(f->field, sizeof(f->field), "%s", field);
	snprintf(f->name, sizeof(f->name), "%s", name ? name : "");
	/* Kubernetes' words: Deployment.apps "web" is invalid: FIELD: ... */
	snprintf(f->msg, sizeof(f->msg), "%s%s%s \"%.200s\" is invalid: %.100s: %.400s",
		 res->kind, res->group[0] ? "." : "", res->group, f->name,
		 field, f->cause);
	return -1;
}

enum MHD_Result api_reply_fail(struct api_request *req,
			       const struct api_fail *f)
{
	json_t *details = NULL;

	if (!f->field[0] || !req->res)
		return api_reply_error_for(req, f->code, f->reason, req->name,
					   "%s", f->msg);
	/* kubectl lists the causes of an Invalid object, field by field. */
	details = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s}]}",
			    "name", f->name,
			    "group", req->res->group, "kind", req->res->kind,
			    "causes", "reason", "FieldValueInvalid",
			    "message", f->cause, "field", f->field);
	return api_reply_json(req, f->code,
			      status_failure(f->code, f->reason, f->msg,
					     details));
}
