// SPDX-License-Identifier: GPL-2.0
/*
 * Per-kind defaults and validation, after Kubernetes' registry strategies:
 * the fields a client may leave out get the values Kubernetes gives them
 * (kubectl and the controllers read them), and an object the controllers
 * could not act on is refused with 422 Invalid naming the field.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "api.h"
#include "util.h"
#include "base64.h"
#include "kinds.h"
#include "selector.h"

/* Where a check failed: the object's kind and name for the message. */
struct check {
	const struct api_resource *res;
	const char *name;
	struct api_fail *fail;
};

static int reject_field(struct check *c, const char *field,
			const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int reject_field(struct check *c, const char *field,
			const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = api_fail_invalidv(c->fail, c->res, c->name, field, fmt, ap);
	va_end(ap);
	return ret;
}

static json_t *object_at(json_t *parent, const char *field)
{
	json_t *v = json_object_get(parent, field);

	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(parent, field, v);
	}
	return v;
}

static void default_int(json_t *obj, const char *field, json_int_t value)
{
	if (!json_object_get(obj, field))
		json_object_set_new(obj, field, json_integer(value));
}

static void default_str(json_t *obj, const char *field, const char *value)
{
	if (!json_object_get(obj, field))
		json_object_set_new(obj, field, json_string(value));
}

/* metadata.labels and annotations: maps of strings. */
static int check_string_map(struct check *c, const json_t *map,
			    const char *field)
{
	const char *k;
	json_t *v;

	if (!map)
		return 0;
	if (!json_is_object(map))
		return reject_field(c, field, "must be a map of strings");
	json_object_foreach((json_t *)map, k, v) {
		if (!json_is_string(v))
			return reject_field(c, field,
				       "Invalid value: the value of \"%s\" must be a string",
				       k);
	}
	return 0;
}

static int check_labels(struct check *c, const json_t *meta,
			const char *path)
{
	const json_t *labels = json_object_get(meta, "labels");
	char field[128], err[256], sel[1024];
	struct skiff_selector *s;
	const char *k;
	json_t *v;

	snprintf(field, sizeof(field), "%slabels", path);
	if (check_string_map(c, labels, field))
		return -1;
	snprintf(field, sizeof(field), "%sannotations", path);
	if (check_string_map(c, json_object_get(meta, "annotations"), field))
		return -1;
	/* Label syntax is the selector parser's: one rule, one place. */
	json_object_foreach((json_t *)labels, k, v) {
		snprintf(sel, sizeof(sel), "%s=%s", k, json_string_value(v));
		if (strchr(k, ',') || strchr(k, '=') ||
		    strchr(json_string_value(v), ',') ||
		    skiff_label_selector_parse(sel, &s, err, sizeof(err)))
			return reject_field(c, field[0] ? "metadata.labels" : "",
				       "Invalid value: \"%s\": %s", k,
				       err[0] ? err : "not a valid label");
		skiff_selector_free(s);
	}
	return 0;
}

/* A pod spec, in a Pod or a template. */
static int check_pod_spec(struct check *c, json_t *spec, const char *path)
{
	json_t *containers = json_object_get(spec, "containers");
	char field[256], err[256];
	size_t i, j;

	snprintf(field, sizeof(field), "%s.containers", path);
	if (!json_is_array(containers) || !json_array_size(containers))
		return reject_field(c, field, "Required value");
	for (i = 0; i < json_array_size(containers); i++) {
		json_t *ctr = json_array_get(containers, i);
		const char *name = json_string_value(json_object_get(ctr,
								     "name"));
		const char *image = json_string_value(json_object_get(ctr,
								      "image"));

		snprintf(field, sizeof(field), "%s.containers[%zu]", path, i);
		if (!json_is_object(ctr))
			return reject_field(c, field, "must be an object");
		if (!name || !meta_valid_name(name, true, err, sizeof(err)))
			return reject_field(c, field, "name: %s",
				       name ? err : "Required value");
		if (!image || !*image)
			return reject_field(c, field, "image: Required value");
		for (j = 0; j < i; j++) {
			json_t *other = json_array_get(containers, j);

			if (!strcmp(name, json_string_value(json_object_get(other, "name")) ?: ""))
				return reject_field(c, field,
					       "name: Duplicate value: \"%s\"",
					       name);
		}
		default_str(ctr, "imagePullPolicy", "IfNotPresent");
		default_str(ctr, "terminationMessagePath",
			    "/dev/termination-log");
	}
	default_str(spec, "restartPolicy", "Always");
	default_int(spec, "terminationGracePeriodSeconds", 30);
	default_str(spec, "dnsPolicy", "ClusterFirst");
	default_str(spec, "schedulerName", "default-scheduler");
	return 0;
}

/* The selector and template of a workload controller. */
static int check_workload(struct check *c, json_t *obj, bool replicas)
{
	json_t *spec = object_at(obj, "spec");
	json_t *selector = json_object_get(spec, "selector");
	json_t *tmpl = json_object_get(spec, "template");
	json_t *tmeta, *labels;
	struct skiff_selector *sel;
	char err[256];
	int ret;

	if (replicas) {
		json_t *r = json_object_get(spec, "replicas");

		default_int(spec, "replicas", 1);
		r = json_object_get(spec, "replicas");
		if (!json_is_integer(r) || json_integer_value(r) < 0)
			return reject_field(c, "spec.replicas",
				       "Invalid value: must be greater than or equal to 0");
	}
	if (!json_is_object(selector) || !json_object_size(selector))
		return reject_field(c, "spec.selector", "Required value");
	if (skiff_label_selector_from_json(selector, &sel, err, sizeof(err)))
		return reject_field(c, "spec.selector", "Invalid value: %s", err);
	if (skiff_selector_empty(sel)) {
		skiff_selector_free(sel);
		return reject_field(c, "spec.selector",
			       "Invalid value: empty selector is invalid for %s",
			       c->res->kind);
	}
	if (!json_is_object(tmpl)) {
		skiff_selector_free(sel);
		return reject_field(c, "spec.template", "Required value");
	}
	tmeta = object_at(tmpl, "metadata");
	labels = json_object_get(tmeta, "labels");
	ret = check_labels(c, tmeta, "spec.template.metadata.");
	if (!ret && !skiff_selector_match_labels(sel, labels))
		ret = reject_field(c, "spec.template.metadata.labels",
				   "Invalid value: `selector` does not match template `labels`");
	skiff_selector_free(sel);
	if (ret)
		return ret;
	return check_pod_spec(c, object_at(tmpl, "spec"),
			      "spec.template.spec");
}

/* An integer field, @dflt when missing, -1 when not an integer. */
static json_int_t int_field(const json_t *obj, const char *field,
			    json_int_t dflt)
{
	const json_t *v = json_object_get(obj, field);

	if (!v)
		return dflt;
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/*
 * maxSurge or maxUnavailable: an integer >= 0 or "N%". *@value is N, and
 * *@percent says which it was.
 */
static int check_int_or_percent(struct check *c, const json_t *v,
				const char *field, json_int_t *value,
				bool *percent)
{
	const char *s = json_string_value(v);
	size_t len = s ? strlen(s) : 0;

	*percent = !!s;
	if (json_is_integer(v)) {
		*value = json_integer_value(v);
		if (*value < 0)
			return reject_field(c, field,
				       "Invalid value: %lld: must be greater than or equal to 0",
				       (long long)*value);
		return 0;
	}
	if (!s || len < 2 || len > 10 || s[len - 1] != '%' ||
	    strspn(s, "0123456789") != len - 1)
		return reject_field(c, field,
			       "Invalid value: a valid percent string must be a numeric string followed by an ending '%%' (e.g. '1%%',  or '93%%', regex used for validation is '[0-9]+%%')");
	*value = strtoll(s, NULL, 10);
	return 0;
}

/* Kubernetes' ValidateDeploymentStrategy and the spec's numbers. */
static int check_deployment(struct check *c, json_t *spec)
{
	json_t *strategy = json_object_get(spec, "strategy");
	json_t *ru = json_object_get(strategy, "rollingUpdate");
	json_int_t surge, unavail, min_ready, deadline;
	const char *restart;
	bool surge_pct, unavail_pct;

	restart = json_string_value(json_object_get(json_object_get(json_object_get(spec,
										    "template"),
								    "spec"),
						    "restartPolicy"));
	if (strcmp(restart ?: "", "Always"))
		return reject_field(c, "spec.template.spec.restartPolicy",
			       "Unsupported value: \"%s\": supported values: \"Always\"",
			       restart ?: "");
	if (!strcmp(json_string_value(json_object_get(strategy, "type")) ?: "",
		    "Recreate")) {
		if (ru && !json_is_null(ru))
			return reject_field(c, "spec.strategy.rollingUpdate",
				       "Forbidden: may not be specified when strategy `type` is 'Recreate'");
	} else {
		if (check_int_or_percent(c, json_object_get(ru, "maxUnavailable"),
					 "spec.strategy.rollingUpdate.maxUnavailable",
					 &unavail, &unavail_pct) ||
		    check_int_or_percent(c, json_object_get(ru, "maxSurge"),
					 "spec.strategy.rollingUpdate.maxSurge",
					 &surge, &surge_pct))
			return -1;
		if (!unavail && !surge)
			return reject_field(c, "spec.strategy.rollingUpdate.maxUnavailable",
				       "Invalid value: 0: may not be 0 when `maxSurge` is 0");
		if (unavail_pct && unavail > 100)
			return reject_field(c, "spec.strategy.rollingUpdate.maxUnavailable",
				       "Invalid value: \"%lld%%\": must not be greater than 100%%",
				       (long long)unavail);
	}
	min_ready = int_field(spec, "minReadySeconds", 0);
	if (min_ready < 0)
		return reject_field(c, "spec.minReadySeconds",
			       "Invalid value: must be greater than or equal to 0");
	if (int_field(spec, "revisionHistoryLimit", 0) < 0)
		return reject_field(c, "spec.revisionHistoryLimit",
			       "Invalid value: must be greater than or equal to 0");
	deadline = int_field(spec, "progressDeadlineSeconds", 600);
	if (deadline < 0)
		return reject_field(c, "spec.progressDeadlineSeconds",
			       "Invalid value: must be greater than or equal to 0");
	if (deadline <= min_ready)
		return reject_field(c, "spec.progressDeadlineSeconds",
			       "Invalid value: %lld: must be greater than minReadySeconds",
			       (long long)deadline);
	return 0;
}

static int prepare_deployment(struct check *c, json_t *obj)
{
	json_t *spec = object_at(obj, "spec"), *strategy, *ru;

	if (check_workload(c, obj, true))
		return -1;
	strategy = object_at(spec, "strategy");
	default_str(strategy, "type", "RollingUpdate");
	if (!strcmp(json_string_value(json_object_get(strategy, "type")) ?: "",
		    "RollingUpdate")) {
		ru = object_at(strategy, "rollingUpdate");
		default_str(ru, "maxSurge", "25%");
		default_str(ru, "maxUnavailable", "25%");
	} else if (strcmp(json_string_value(json_object_get(strategy, "type")) ?: "",
			  "Recreate")) {
		return reject_field(c, "spec.strategy.type",
			       "Unsupported value: supported values: \"Recreate\", \"RollingUpdate\"");
	}
	default_int(spec, "revisionHistoryLimit", 10);
	default_int(spec, "progressDeadlineSeconds", 600);
	return check_deployment(c, spec);
}

/* The template of a StatefulSet or DaemonSet restarts its containers. */
static int check_restart_always(struct check *c, const json_t *spec)
{
	const json_t *tspec = json_object_get(json_object_get(spec, "template"),
					      "spec");
	const char *restart = json_string_value(json_object_get(tspec,
								"restartPolicy"));

	if (strcmp(restart ?: "", "Always"))
		return reject_field(c, "spec.template.spec.restartPolicy",
			       "Unsupported value: \"%s\": supported values: \"Always\"",
			       restart ?: "");
	return 0;
}

static int check_nonnegative(struct check *c, const json_t *obj,
			     const char *field, const char *path)
{
	if (int_field(obj, field, 0) < 0)
		return reject_field(c, path,
			       "Invalid value: must be greater than or equal to 0");
	return 0;
}

/* Kubernetes' StatefulSet defaults and ValidateStatefulSetSpec. */
static int prepare_statefulset(struct check *c, json_t *obj)
{
	json_t *spec = object_at(obj, "spec"), *strategy, *ru;
	const char *policy, *type;

	if (check_workload(c, obj, true))
		return -1;
	default_str(spec, "podManagementPolicy", "OrderedReady");
	default_int(spec, "revisionHistoryLimit", 10);
	strategy = object_at(spec, "updateStrategy");
	if (!json_object_get(strategy, "type")) {
		default_str(strategy, "type", "RollingUpdate");
		object_at(strategy, "rollingUpdate");
	}
	type = json_string_value(json_object_get(strategy, "type")) ?: "";
	ru = json_object_get(strategy, "rollingUpdate");
	policy = json_string_value(json_object_get(spec, "podManagementPolicy")) ?: "";
	if (strcmp(policy, "OrderedReady") && strcmp(policy, "Parallel"))
		return reject_field(c, "spec.podManagementPolicy",
			       "Unsupported value: \"%s\": supported values: \"OrderedReady\", \"Parallel\"",
			       policy);
	if (!strcmp(type, "RollingUpdate")) {
		if (json_is_object(ru))
			default_int(ru, "partition", 0);
		if (check_nonnegative(c, ru, "partition",
				      "spec.updateStrategy.rollingUpdate.partition"))
			return -1;
	} else if (!strcmp(type, "OnDelete")) {
		if (ru && !json_is_null(ru))
			return reject_field(c, "spec.updateStrategy.rollingUpdate",
				       "Invalid value: only allowed for updateStrategy 'RollingUpdate'");
	} else {
		return reject_field(c, "spec.updateStrategy",
			       "Invalid value: \"%s\": must be 'RollingUpdate' or 'OnDelete'",
			       type);
	}
	if (check_nonnegative(c, spec, "minReadySeconds", "spec.minReadySeconds") ||
	    check_nonnegative(c, spec, "revisionHistoryLimit",
			      "spec.revisionHistoryLimit") ||
	    check_nonnegative(c, json_object_get(spec, "ordinals"), "start",
			      "spec.ordinals.start"))
		return -1;
	return check_restart_always(c, spec);
}

/* Of a StatefulSet's spec only these fields may change, as in Kubernetes. */
static int check_statefulset_update(struct check *c, const json_t *cur,
				    const json_t *obj)
{
	static const char *const mutable[] = {
		"replicas", "template", "updateStrategy", "minReadySeconds",
		"ordinals", "revisionHistoryLimit",
		"persistentVolumeClaimRetentionPolicy",
	};
	json_t *old_spec = json_deep_copy(json_object_get(cur, "spec"));
	json_t *spec = json_deep_copy(json_object_get(obj, "spec"));
	size_t i;
	bool same;

	if (!old_spec)
		old_spec = json_object();
	default_str(old_spec, "podManagementPolicy", "OrderedReady");
	for (i = 0; i < ARRAY_SIZE(mutable); i++) {
		json_object_del(spec, mutable[i]);
		json_object_del(old_spec, mutable[i]);
	}
	same = json_equal(spec, old_spec);
	json_decref(spec);
	json_decref(old_spec);
	if (!same)
		return reject_field(c, "spec",
			       "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden");
	return 0;
}

/* Kubernetes' DaemonSet defaults and ValidateDaemonSetSpec. */
static int prepare_daemonset(struct check *c, json_t *obj)
{
	json_t *spec = object_at(obj, "spec"), *strategy, *ru;
	json_int_t surge, unavail;
	bool surge_pct, unavail_pct;
	const char *type;

	if (check_workload(c, obj, false))
		return -1;
	default_int(spec, "revisionHistoryLimit", 10);
	strategy = object_at(spec, "updateStrategy");
	default_str(strategy, "type", "RollingUpdate");
	type = json_string_value(json_object_get(strategy, "type")) ?: "";
	if (!strcmp(type, "RollingUpdate")) {
		ru = object_at(strategy, "rollingUpdate");
		default_int(ru, "maxUnavailable", 1);
		default_int(ru, "maxSurge", 0);
		if (check_int_or_percent(c, json_object_get(ru, "maxUnavailable"),
					 "spec.updateStrategy.rollingUpdate.maxUnavailable",
					 &unavail, &unavail_pct) ||
		    check_int_or_percent(c, json_object_get(ru, "maxSurge"),
					 "spec.updateStrategy.rollingUpdate.maxSurge",
					 &surge, &surge_pct))
			return -1;
		if (!unavail && !surge)
			return reject_field(c, "spec.updateStrategy.rollingUpdate.maxUnavailable",
				       "Invalid value: 0: may not be 0 when `maxSurge` is 0");
		if ((unavail_pct && unavail > 100) || (surge_pct && surge > 100))
			return reject_field(c, unavail_pct && unavail > 100 ?
					    "spec.updateStrategy.rollingUpdate.maxUnavailable" :
					    "spec.updateStrategy.rollingUpdate.maxSurge",
				       "Invalid value: must not be greater than 100%%");
	} else if (strcmp(type, "OnDelete")) {
		return reject_field(c, "spec.updateStrategy.type",
			       "Unsupported value: \"%s\": supported values: \"OnDelete\", \"RollingUpdate\"",
			       type);
	}
	if (check_nonnegative(c, spec, "minReadySeconds", "spec.minReadySeconds") ||
	    check_nonnegative(c, spec, "revisionHistoryLimit",
			      "spec.revisionHistoryLimit"))
		return -1;
	return check_restart_always(c, spec);
}

static int prepare_job(struct check *c, json_t *obj)
{
	json_t *spec = object_at(obj, "spec"), *tmpl, *tspec, *labels, *sel;
	const char *uid = json_string_value(json_object_get(json_object_get(obj, "metadata"),
							    "uid"));
	const char *restart;

	tmpl = json_object_get(spec, "template");
	if (!json_is_object(tmpl))
		return reject_field(c, "spec.template", "Required value");
	tspec = object_at(tmpl, "spec");
	restart = json_string_value(json_object_get(tspec, "restartPolicy"));
	if (!restart || (strcmp(restart, "Never") &&
			 strcmp(restart, "OnFailure")))
		return reject_field(c, "spec.template.spec.restartPolicy",
			       "Required value: valid values: \"OnFailure\", \"Never\"");
	/* As Kubernetes does: the Job selects its pods by its own uid. */
	if (!json_object_get(spec, "selector")) {
		labels = object_at(object_at(tmpl, "metadata"), "labels");
		json_object_set_new(labels, "batch.kubernetes.io/controller-uid",
				    json_string(uid));
		json_object_set_new(labels, "batch.kubernetes.io/job-name",
				    json_string(c->name));
		json_object_set_new(labels, "controller-uid", json_string(uid));
		json_object_set_new(labels, "job-name", json_string(c->name));
		sel = json_pack("{s:{s:s}}", "matchLabels",
				"batch.kubernetes.io/controller-uid", uid);
		json_object_set_new(spec, "selector", sel);
	}
	default_int(spec, "parallelism", 1);
	default_int(spec, "completions", 1);
	default_int(spec, "backoffLimit", 6);
	return check_workload(c, obj, false);
}

/* Defaults and checks of a Service's spec, on create and update. */
static int check_service_spec(struct check *c, json_t *obj)
{
	json_t *spec = object_at(obj, "spec");
	json_t *ports = json_object_get(spec, "ports");
	const char *type;
	size_t i;

	default_str(spec, "type", "ClusterIP");
	default_str(spec, "sessionAffinity", "None");
	type = json_string_value(json_object_get(spec, "type"));
	if (!type || (strcmp(type, "ClusterIP") && strcmp(type, "NodePort") &&
		      strcmp(type, "ExternalName")))
		return reject_field(c, "spec.type",
			       "Unsupported value: supported values: \"ClusterIP\", \"NodePort\", \"ExternalName\"");
	if (strcmp(type, "ExternalName") &&
	    (!json_is_array(ports) || !json_array_size(ports)))
		return reject_field(c, "spec.ports", "Required value");
	for (i = 0; i < json_array_size(ports); i++) {
		json_t *p = json_array_get(ports, i);
		json_int_t port = json_integer_value(json_object_get(p,
								     "port"));
		char field[64];

		snprintf(field, sizeof(field), "spec.ports[%zu].port", i);
		if (!json_is_object(p) || port < 1 || port > 65535)
			return reject_field(c, field,
				       "Invalid value: must be between 1 and 65535, inclusive");
		default_str(p, "protocol", "TCP");
		if (!json_object_get(p, "targetPort"))
			json_object_set_new(p, "targetPort",
					    json_integer(port));
	}
	return 0;
}

/*
 * A Secret: type Opaque by default; data values are base64 (Kubernetes'
 * []byte); stringData, a write-only convenience, is folded into data (its
 * keys win) and never stored.
 */
static int prepare_secret(struct check *c, json_t *obj)
{
	json_t *data = json_object_get(obj, "data");
	json_t *strings = json_object_get(obj, "stringData");
	const char *k;
	size_t len;
	json_t *v;
	char *raw;

	default_str(obj, "type", "Opaque");
	if (check_string_map(c, data, "data") ||
	    check_string_map(c, strings, "stringData"))
		return -1;
	json_object_foreach(data, k, v) {
		if (skiff_base64_decode(json_string_value(v), json_string_length(v),
					&raw, &len))
			return reject_field(c, "data",
					    "Invalid value: the value of \"%s\" is not base64", k);
		free(raw);
	}
	if (!strings)
		return 0;
	if (!data) {
		data = json_object();
		json_object_set_new(obj, "data", data);
	}
	json_object_foreach(strings, k, v) {
		json_t *enc = skiff_base64_json(json_string_value(v), json_string_length(v));

		if (!enc)
			return reject_field(c, "stringData",
					    "Invalid value: cannot encode \"%s\"", k);
		json_object_set_new(data, k, enc);
	}
	json_object_del(obj, "stringData");
	return 0;
}

static int prepare_service(struct check *c, json_t *obj)
{
	if (check_service_spec(c, obj))
		return -1;
	json_object_set_new(obj, "status",
			    json_pack("{s:{}}", "loadBalancer"));
	return 0;
}

int kinds_prepare_create(const struct api_resource *res, json_t *obj,
			 struct api_fail *fail)
{
	json_t *meta = json_object_get(obj, "metadata");
	struct check c = {
		.res = res,
		.name = json_string_value(json_object_get(meta, "name")),
		.fail = fail,
	};
	const char *kind = res->kind;

	if (check_labels(&c, meta, "metadata."))
		return -1;
	/* Status is the controllers' to write, except a Node's (kubelet). */
	if ((res->flags & RES_STATUS) && strcmp(kind, "Node"))
		json_object_set_new(obj, "status", json_object());

	if (!strcmp(kind, "Namespace")) {
		json_object_set_new(object_at(meta, "labels"),
				    "kubernetes.io/metadata.name",
				    json_string(c.name));
		if (!json_object_get(object_at(obj, "spec"), "finalizers"))
			json_object_set_new(object_at(obj, "spec"),
					    "finalizers",
					    json_pack("[s]", "kubernetes"));
		json_object_set_new(object_at(obj, "status"), "phase",
				    json_string("Active"));
		return 0;
	}
	if (!strcmp(kind, "Pod")) {
		if (check_pod_spec(&c, object_at(obj, "spec"), "spec"))
			return -1;
		json_object_set_new(object_at(obj, "status"), "phase",
				    json_string("Pending"));
		return 0;
	}
	if (!strcmp(kind, "Deployment"))
		return prepare_deployment(&c, obj);
	if (!strcmp(kind, "ReplicaSet"))
		return check_workload(&c, obj, true);
	if (!strcmp(kind, "StatefulSet"))
		return prepare_statefulset(&c, obj);
	if (!strcmp(kind, "DaemonSet"))
		return prepare_daemonset(&c, obj);
	if (!strcmp(kind, "Job"))
		return prepare_job(&c, obj);
	if (!strcmp(kind, "Service"))
		return prepare_service(&c, obj);
	if (!strcmp(kind, "Secret"))
		return prepare_secret(&c, obj);
	if (!strcmp(kind, "ConfigMap"))
		return check_string_map(&c, json_object_get(obj, "data"),
					"data");
	return 0;
}

/* Fields that never change once set. */
static int check_immutable(struct check *c, const json_t *cur,
			   const json_t *obj, const char *a, const char *b)
{
	const json_t *x = json_object_get(json_object_get(cur, a), b);
	const json_t *y = json_object_get(json_object_get(obj, a), b);
	char field[128];

	if (!x || json_equal(x, y))
		return 0;
	snprintf(field, sizeof(field), "%s.%s", a, b);
	return reject_field(c, field, "Invalid value: field is immutable");
}

/*
 * A running pod's spec is fixed but for container images and a few fields
 * Kubernetes lets change; nodeName is set by binding only.
 */
static int check_pod_update(struct check *c, const json_t *cur,
			    const json_t *obj)
{
	static const char *const mutable[] = {
		"activeDeadlineSeconds", "tolerations",
		"terminationGracePeriodSeconds",
	};
	const json_t *old_spec = json_object_get(cur, "spec");
	json_t *spec = json_deep_copy(json_object_get(obj, "spec"));
	json_t *ctrs = json_object_get(spec, "containers");
	const json_t *old_ctrs = json_object_get(old_spec, "containers");
	bool same;
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(mutable); i++) {
		json_t *v = json_object_get(old_spec, mutable[i]);

		if (v)
			json_object_set(spec, mutable[i], v);
		else
			json_object_del(spec, mutable[i]);
	}
	n = json_array_size(ctrs) < json_array_size(old_ctrs) ?
	    json_array_size(ctrs) : json_array_size(old_ctrs);
	for (i = 0; i < n; i++) {
		json_t *image = json_object_get(json_array_get(old_ctrs, i),
						"image");

		if (json_is_object(json_array_get(ctrs, i)) && image)
			json_object_set(json_array_get(ctrs, i), "image",
					image);
	}
	same = json_equal(spec, old_spec);
	json_decref(spec);
	if (!same)
		return reject_field(c, "spec",
			       "Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations), `spec.terminationGracePeriodSeconds`");
	return 0;
}

int kinds_validate_update(const struct api_resource *res, const json_t *cur,
			  json_t *obj, struct api_fail *fail)
{
	json_t *meta = json_object_get(obj, "metadata");
	struct check c = {
		.res = res,
		.name = json_string_value(json_object_get(meta, "name")),
		.fail = fail,
	};
	const char *kind = res->kind;

	if (check_labels(&c, meta, "metadata."))
		return -1;
	if (!strcmp(kind, "Pod"))
		return check_pod_update(&c, cur, obj);
	if (!strcmp(kind, "Deployment") || !strcmp(kind, "ReplicaSet") ||
	    !strcmp(kind, "DaemonSet") || !strcmp(kind, "StatefulSet") ||
	    !strcmp(kind, "Job")) {
		if (check_immutable(&c, cur, obj, "spec", "selector"))
			return -1;
		if (!strcmp(kind, "Job") &&
		    check_immutable(&c, cur, obj, "spec", "template"))
			return -1;
		if (!strcmp(kind, "Deployment"))
			return prepare_deployment(&c, obj);
		if (!strcmp(kind, "Job"))
			return 0;
		if (!strcmp(kind, "StatefulSet"))
			return prepare_statefulset(&c, obj) ||
			       check_statefulset_update(&c, cur, obj) ? -1 : 0;
		if (!strcmp(kind, "DaemonSet"))
			return prepare_daemonset(&c, obj);
		return check_workload(&c, obj, true);
	}
	if (!strcmp(kind, "Service"))
		return check_service_spec(&c, obj) ||
		       check_immutable(&c, cur, obj, "spec", "clusterIP") ?
		       -1 : 0;
	if (!strcmp(kind, "Secret"))
		return prepare_secret(&c, obj);
	if (!strcmp(kind, "ConfigMap"))
		return check_string_map(&c, json_object_get(obj, "data"), "data");
	return 0;
}

long long kinds_grace_period(const struct api_resource *res,
			     const json_t *obj, long long asked)
{
	const json_t *spec = json_object_get(obj, "spec");
	const char *node, *phase;

	if (strcmp(res->kind, "Pod"))
		return 0;
	/* A pod no kubelet runs has nothing to stop: it goes at once. */
	node = json_string_value(json_object_get(spec, "nodeName"));
	phase = json_string_value(json_object_get(json_object_get(obj,
								  "status"),
						  "phase"));
	if (!node || !*node ||
	    (phase && (!strcmp(phase, "Succeeded") ||
		       !strcmp(phase, "Failed"))))
		return 0;
	if (asked >= 0)
		return asked;
	if (json_is_integer(json_object_get(spec,
					    "terminationGracePeriodSeconds")))
		return json_integer_value(json_object_get(spec,
							  "terminationGracePeriodSeconds"));
	return 30;
}

void kinds_prepare_delete(const struct api_resource *res, json_t *obj)
{
	if (!strcmp(res->kind, "Namespace"))
		json_object_set_new(object_at(obj, "status"), "phase",
				    json_string("Terminating"));
}

bool kinds_deletable(const struct api_resource *res, const json_t *obj)
{
	/* A namespace goes when its controller emptied spec.finalizers. */
	if (!strcmp(res->kind, "Namespace"))
		return json_array_size(json_object_get(json_object_get(obj, "spec"),
						       "finalizers")) == 0;
	return true;
}

void kinds_bound(json_t *pod)
{
	json_t *status = object_at(pod, "status");
	json_t *conds = json_object_get(status, "conditions");
	char now[32];
	size_t i;

	meta_now(now);
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(status, "conditions", conds);
	}
	for (i = 0; i < json_array_size(conds); i++) {
		const char *type = json_string_value(json_object_get(json_array_get(conds, i),
								     "type"));

		if (type && !strcmp(type, "PodScheduled")) {
			json_array_remove(conds, i);
			break;
		}
	}
	json_array_append_new(conds,
			      json_pack("{s:s, s:s, s:n, s:s}",
					"type", "PodScheduled",
					"status", "True",
					"lastProbeTime",
					"lastTransitionTime", now));
}
