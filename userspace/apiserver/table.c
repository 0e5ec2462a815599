// SPDX-License-Identifier: GPL-2.0
/*
 * Table output: what `kubectl get` asks for (Accept: ...;as=Table;
 * g=meta.k8s.io;v=v1) and prints as it comes, so the columns of each kind
 * are the server's to choose. They are Kubernetes' own, so that a user
 * reads the same table on skiff as elsewhere.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "util.h"

#define CELL 512

typedef void (*cell_fn)(const json_t *obj, char *out);

struct column {
	const char *name;
	const char *type;	/* string, integer, date */
	int priority;		/* 1: -o wide only */
	cell_fn cell;
};

static const json_t *at(const json_t *obj, const char *a, const char *b)
{
	const json_t *v = json_object_get(obj, a);

	return b ? json_object_get(v, b) : v;
}

static const char *str(const json_t *v, const char *fallback)
{
	return json_is_string(v) && *json_string_value(v) ?
	       json_string_value(v) : fallback;
}

static long long num(const json_t *v)
{
	return json_integer_value(v);
}

/* Kubernetes' duration.HumanDuration: 45s, 3m20s, 5h, 2d3h, 400d, 3y. */
static void human_duration(long long s, char *out)
{
	long long m = s / 60, h = s / 3600, d = s / 86400;

	if (s < 0)
		snprintf(out, CELL, "<invalid>");
	else if (s < 120)
		snprintf(out, CELL, "%llds", s);
	else if (m < 10)
		snprintf(out, CELL, "%lldm%llds", m, s % 60);
	else if (m < 180)
		snprintf(out, CELL, "%lldm", m);
	else if (h < 8)
		snprintf(out, CELL, "%lldh%lldm", h, m % 60);
	else if (h < 48)
		snprintf(out, CELL, "%lldh", h);
	else if (h < 192)
		snprintf(out, CELL, "%lldd%lldh", d, h % 24);
	else if (d < 730)
		snprintf(out, CELL, "%lldd", d);
	else if (d < 3000)
		snprintf(out, CELL, "%lldy%lldd", d / 365, d % 365);
	else
		snprintf(out, CELL, "%lldy", d / 365);
}

static long long since(const char *stamp)
{
	struct tm tm = { 0 };

	if (!stamp || !strptime(stamp, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return -1;
	return (long long)(time(NULL) - timegm(&tm));
}

static void c_name(const json_t *o, char *out)
{
	snprintf(out, CELL, "%s", str(at(o, "metadata", "name"), ""));
}

static void c_age(const json_t *o, char *out)
{
	const char *t = str(at(o, "metadata", "creationTimestamp"), NULL);

	if (!t)
		snprintf(out, CELL, "<unknown>");
	else
		human_duration(since(t), out);
}

static void c_pod_ready(const json_t *o, char *out)
{
	const json_t *cs = at(o, "status", "containerStatuses");
	size_t i, ready = 0;

	for (i = 0; i < json_array_size(cs); i++)
		ready += json_is_true(json_object_get(json_array_get(cs, i),
						      "ready"));
	snprintf(out, CELL, "%zu/%zu", ready,
		 json_array_size(at(o, "spec", "containers")));
}

/*
 * What kubectl shows as a pod's STATUS: a waiting or terminated reason
 * wins over the phase, Terminating over both.
 */
static void c_pod_status(const json_t *o, char *out)
{
	const json_t *cs = at(o, "status", "containerStatuses");
	const char *reason = str(at(o, "status", "reason"), NULL);
	size_t i;

	if (!reason)
		reason = str(at(o, "status", "phase"), "Unknown");
	for (i = 0; i < json_array_size(cs); i++) {
		const json_t *state = json_object_get(json_array_get(cs, i),
						      "state");
		const char *r;

		r = str(at(state, "waiting", "reason"), NULL);
		if (!r)
			r = str(at(state, "terminated", "reason"), NULL);
		if (r)
			reason = r;
	}
	if (at(o, "metadata", "deletionTimestamp"))
		reason = "Terminating";
	snprintf(out, CELL, "%s", reason);
}

static void c_pod_restarts(const json_t *o, char *out)
{
	const json_t *cs = at(o, "status", "containerStatuses");
	long long n = 0;
	size_t i;

	for (i = 0; i < json_array_size(cs); i++)
		n += num(json_object_get(json_array_get(cs, i),
					 "restartCount"));
	snprintf(out, CELL, "%lld", n);
}

static void c_pod_ip(const json_t *o, char *out)
{
	snprintf(out, CELL, "%s", str(at(o, "status", "podIP"), "<none>"));
}

static void c_pod_node(const json_t *o, char *out)
{
	snprintf(out, CELL, "%s", str(at(o, "spec", "nodeName"), "<none>"));
}

static void c_none(const json_t *o, char *out)
{
	(void)o;
	snprintf(out, CELL, "<none>");
}

static void c_ready_of(const json_t *o, char *out)
{
	snprintf(out, CELL, "%lld/%lld",
		 num(at(o, "status", "readyReplicas")),
		 num(at(o, "spec", "replicas")));
}

static void c_updated(const json_t *o, char *out)
{
	snprintf(out, CELL, "%lld", num(at(o, "status", "updatedReplicas")));
}

static void c_available(const json_t *o, char *out)
{
	snprintf(out, CELL, "%lld",
		 num(at(o, "status", "availableReplicas")));
}

static void c_desired(const json_t *o, char *out)
{
	snprintf(out, CELL, "%lld", num(at(o, "spec", "replicas")));
}

static void c_current(const json_t *o, char *out)
{
	snprintf(out, CELL, "%lld", num(at(o, "status", "replicas")));
}

static void c_ready(const json_t *o, char *out)
{
	snprintf(out, CELL, "%lld", num(at(o, "status", "readyReplicas")));
}

/* Joins one field of every template container: names or images. */
static void containers_field(const json_t *o, const char *field, char *out)
{
	const json_t *ctrs = at(at(at(o, "spec", "template"), "spec", NULL),
				"containers", NULL);
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < json_array_size(ctrs) && n < CELL - 1; i++)
		n += snprintf(out + n, CELL - n, "%s%s", i ? "," : "",
			      str(json_object_get(json_array_get(ctrs, i),
						  field), ""));
}

static void c_containers(const json_t *o, char *out)
{
	containers_field(o, "name", out);
}

static void c_images(const json_t *o, char *out)
{
	containers_field(o, "image", out);
}

static void label_map(const json_t *map, char *out)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	out[0] = '\0';
	json_object_foreach((json_t *)map, k, v) {
		if (n >= CELL - 1)
			break;
		n += snprintf(out + n, CELL - n, "%s%s=%s", n ? "," : "", k,
			      str(v, ""));
	}
	if (!n)
		snprintf(out, CELL, "<none>");
}

static void c_selector(const json_t *o, char *out)
{
	label_map(at(at(o, "spec", "selector"), "matchLabels", NULL), out);
}

static void c_ds_desired(const json_t *o, char *out)
{
	snprintf(out, CELL, "%lld",
		 num(at(o, "status", "desiredNumberScheduled")));
}

static void c_ds_current(const json_t *o, char *out)
{
	snprintf(out, CELL, "%lld",
		 num(at(o, "status", "currentNumberScheduled")));
}

static void c_ds_ready(const json_t *o, char *out)
{
	snprintf(out, CELL, "%lld", num(at(o, "status", "numberReady")));
}

static void c_ds_updated(const json_t *o, char *out)
{
	snprintf(out, CELL, "%lld",
		 num(at(o, "status", "updatedNumberScheduled")));
}

static void c_ds_available(const json_t *o, char *out)
{
	snprintf(out, CELL, "%lld", num(at(o, "status", "numberAvailable")));
}

static void c_node_selector(const json_t *o, char *out)
{
	label_map(at(at(at(o, "spec", "template"), "spec", NULL),
		     "nodeSelector", NULL), out);
}

static void c_job_status(const json_t *o, char *out)
{
	const json_t *conds = at(o, "status", "conditions");
	const char *status = "Running";
	size_t i;

	for (i = 0; i < json_array_size(conds); i++) {
		const json_t *c = json_array_get(conds, i);

		if (strcmp(str(json_object_get(c, "status"), ""), "True"))
			continue;
		if (!strcmp(str(json_object_get(c, "type"), ""), "Complete"))
			status = "Complete";
		else if (!strcmp(str(json_object_get(c, "type"), ""),
				 "Failed"))
			status = "Failed";
	}
	snprintf(out, CELL, "%s", status);
}

static void c_completions(const json_t *o, char *out)
{
	snprintf(out, CELL, "%lld/%lld", num(at(o, "status", "succeeded")),
		 num(at(o, "spec", "completions")));
}

static void c_duration(const json_t *o, char *out)
{
	const char *start = str(at(o, "status", "startTime"), NULL);
	const char *end = str(at(o, "status", "completionTime"), NULL);

	if (!start)
		snprintf(out, CELL, "%s", "");
	else
		human_duration(since(start) - (end ? since(end) : 0), out);
}

static void c_svc_type(const json_t *o, char *out)
{
	snprintf(out, CELL, "%s", str(at(o, "spec", "type"), "ClusterIP"));
}

static void c_cluster_ip(const json_t *o, char *out)
{
	snprintf(out, CELL, "%s", str(at(o, "spec", "clusterIP"), "<none>"));
}

static void c_ports(const json_t *o, char *out)
{
	const json_t *ports = at(o, "spec", "ports");
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < json_array_size(ports) && n < CELL - 1; i++) {
		const json_t *p = json_array_get(ports, i);
		long long node_port = num(json_object_get(p, "nodePort"));
		char np[16] = "";

		if (node_port)
			snprintf(np, sizeof(np), ":%lld", node_port);
		n += snprintf(out + n, CELL - n, "%s%lld%s/%s", i ? "," : "",
			      num(json_object_get(p, "port")), np,
			      str(json_object_get(p, "protocol"), "TCP"));
	}
	if (!n)
		snprintf(out, CELL, "<none>");
}

static void c_svc_selector(const json_t *o, char *out)
{
	label_map(at(o, "spec", "selector"), out);
}

/* "IP:PORT,..." of one subset, or "IP,..." when it has no port. */
static size_t subset_endpoints(const json_t *subset, char *out, size_t n)
{
	const json_t *addrs = json_object_get(subset, "addresses");
	const json_t *ports = json_object_get(subset, "ports");
	size_t i, j, nports = json_array_size(ports);

	for (i = 0; i < json_array_size(addrs); i++) {
		const char *ip = str(json_object_get(json_array_get(addrs, i),
						     "ip"), "");

		for (j = 0; j < (nports ? nports : 1); j++) {
			if (n >= CELL - 32)
				return CELL;
			n += snprintf(out + n, CELL - n, "%s%s", n ? "," : "",
				      ip);
			if (nports)
				n += snprintf(out + n, CELL - n, ":%lld",
					      num(json_object_get(json_array_get(ports, j),
								  "port")));
		}
	}
	return n;
}

static void c_endpoints(const json_t *o, char *out)
{
	const json_t *subsets = json_object_get(o, "subsets");
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < json_array_size(subsets) && n < CELL; i++)
		n = subset_endpoints(json_array_get(subsets, i), out, n);
	if (n >= CELL)
		snprintf(out + CELL - 16, 16, " + more...");
	else if (!n)
		snprintf(out, CELL, "<none>");
}

static void c_phase(const json_t *o, char *out)
{
	snprintf(out, CELL, "%s", str(at(o, "status", "phase"), ""));
}

static void c_node_status(const json_t *o, char *out)
{
	const json_t *conds = at(o, "status", "conditions");
	const char *ready = "Unknown";
	size_t i;

	for (i = 0; i < json_array_size(conds); i++) {
		const json_t *c = json_array_get(conds, i);

		if (!strcmp(str(json_object_get(c, "type"), ""), "Ready"))
			ready = !strcmp(str(json_object_get(c, "status"), ""),
					"True") ? "Ready" : "NotReady";
	}
	snprintf(out, CELL, "%s%s", ready,
		 json_is_true(at(o, "spec", "unschedulable")) ?
		 ",SchedulingDisabled" : "");
}

static void c_node_version(const json_t *o, char *out)
{
	snprintf(out, CELL, "%s",
		 str(at(at(o, "status", "nodeInfo"), "kubeletVersion", NULL),
		     ""));
}

static void c_node_ip(const json_t *o, char *out)
{
	const json_t *addrs = at(o, "status", "addresses");
	size_t i;

	snprintf(out, CELL, "<none>");
	for (i = 0; i < json_array_size(addrs); i++) {
		const json_t *a = json_array_get(addrs, i);

		if (!strcmp(str(json_object_get(a, "type"), ""), "InternalIP"))
			snprintf(out, CELL, "%s",
				 str(json_object_get(a, "address"), ""));
	}
}

static void c_data(const json_t *o, char *out)
{
	snprintf(out, CELL, "%zu",
		 json_object_size(json_object_get(o, "data")) +
		 json_object_size(json_object_get(o, "binaryData")));
}

static void c_secret_type(const json_t *o, char *out)
{
	snprintf(out, CELL, "%s", str(json_object_get(o, "type"), "Opaque"));
}

static void c_holder(const json_t *o, char *out)
{
	snprintf(out, CELL, "%s",
		 str(at(o, "spec", "holderIdentity"), "<none>"));
}

static void c_ev_last(const json_t *o, char *out)
{
	const char *t = str(json_object_get(o, "lastTimestamp"), NULL);

	if (!t)
		t = str(json_object_get(o, "eventTime"), NULL);
	if (!t)
		t = str(at(o, "metadata", "creationTimestamp"), NULL);
	human_duration(since(t), out);
}

static void c_ev_type(const json_t *o, char *out)
{
	snprintf(out, CELL, "%s", str(json_object_get(o, "type"), ""));
}

static void c_ev_reason(const json_t *o, char *out)
{
	snprintf(out, CELL, "%s", str(json_object_get(o, "reason"), ""));
}

static void c_ev_object(const json_t *o, char *out)
{
	const json_t *io = json_object_get(o, "involvedObject");
	const char *kind = str(json_object_get(io, "kind"), "");
	char lower[64];
	size_t i;

	for (i = 0; kind[i] && i < sizeof(lower) - 1; i++)
		lower[i] = (char)(kind[i] >= 'A' && kind[i] <= 'Z' ?
				  kind[i] - 'A' + 'a' : kind[i]);
	lower[i] = '\0';
	snprintf(out, CELL, "%s/%s", lower,
		 str(json_object_get(io, "name"), ""));
}

static void c_ev_message(const json_t *o, char *out)
{
	snprintf(out, CELL, "%s", str(json_object_get(o, "message"), ""));
}

static void c_ev_subobject(const json_t *o, char *out)
{
	snprintf(out, CELL, "%s",
		 str(at(o, "involvedObject", "fieldPath"), ""));
}

static void c_ev_source(const json_t *o, char *out)
{
	const char *host = str(at(o, "source", "host"), NULL);

	snprintf(out, CELL, "%s%s%s", str(at(o, "source", "component"), ""),
		 host ? ", " : "", host ? host : "");
}

static void c_ev_first(const json_t *o, char *out)
{
	const char *t = str(json_object_get(o, "firstTimestamp"), NULL);

	if (!t)
		t = str(at(o, "metadata", "creationTimestamp"), NULL);
	human_duration(since(t), out);
}

static void c_ev_count(const json_t *o, char *out)
{
	long long n = num(json_object_get(o, "count"));

	snprintf(out, CELL, "%lld", n ? n : 1);
}

#define NAME { "Name", "string", 0, c_name }
#define AGE { "Age", "string", 0, c_age }
#define END { NULL, NULL, 0, NULL }

static const struct column pod_cols[] = {
	NAME, { "Ready", "string", 0, c_pod_ready },
	{ "Status", "string", 0, c_pod_status },
	{ "Restarts", "string", 0, c_pod_restarts }, AGE,
	{ "IP", "string", 1, c_pod_ip }, { "Node", "string", 1, c_pod_node },
	{ "Nominated Node", "string", 1, c_none },
	{ "Readiness Gates", "string", 1, c_none }, END,
};

static const struct column deploy_cols[] = {
	NAME, { "Ready", "string", 0, c_ready_of },
	{ "Up-to-date", "integer", 0, c_updated },
	{ "Available", "integer", 0, c_available }, AGE,
	{ "Containers", "string", 1, c_containers },
	{ "Images", "string", 1, c_images },
	{ "Selector", "string", 1, c_selector }, END,
};

static const struct column rs_cols[] = {
	NAME, { "Desired", "integer", 0, c_desired },
	{ "Current", "integer", 0, c_current },
	{ "Ready", "integer", 0, c_ready }, AGE,
	{ "Containers", "string", 1, c_containers },
	{ "Images", "string", 1, c_images },
	{ "Selector", "string", 1, c_selector }, END,
};

static const struct column sts_cols[] = {
	NAME, { "Ready", "string", 0, c_ready_of }, AGE,
	{ "Containers", "string", 1, c_containers },
	{ "Images", "string", 1, c_images }, END,
};

static const struct column ds_cols[] = {
	NAME, { "Desired", "integer", 0, c_ds_desired },
	{ "Current", "integer", 0, c_ds_current },
	{ "Ready", "integer", 0, c_ds_ready },
	{ "Up-to-date", "integer", 0, c_ds_updated },
	{ "Available", "integer", 0, c_ds_available },
	{ "Node Selector", "string", 0, c_node_selector }, AGE,
	{ "Containers", "string", 1, c_containers },
	{ "Images", "string", 1, c_images },
	{ "Selector", "string", 1, c_selector }, END,
};

static const struct column job_cols[] = {
	NAME, { "Status", "string", 0, c_job_status },
	{ "Completions", "string", 0, c_completions },
	{ "Duration", "string", 0, c_duration }, AGE,
	{ "Containers", "string", 1, c_containers },
	{ "Images", "string", 1, c_images },
	{ "Selector", "string", 1, c_selector }, END,
};

static const struct column svc_cols[] = {
	NAME, { "Type", "string", 0, c_svc_type },
	{ "Cluster-IP", "string", 0, c_cluster_ip },
	{ "External-IP", "string", 0, c_none },
	{ "Port(s)", "string", 0, c_ports }, AGE,
	{ "Selector", "string", 1, c_svc_selector }, END,
};

static const struct column ep_cols[] = {
	NAME, { "Endpoints", "string", 0, c_endpoints }, AGE, END,
};

static const struct column ns_cols[] = {
	NAME, { "Status", "string", 0, c_phase }, AGE, END,
};

static const struct column node_cols[] = {
	NAME, { "Status", "string", 0, c_node_status },
	{ "Roles", "string", 0, c_none }, AGE,
	{ "Version", "string", 0, c_node_version },
	{ "Internal-IP", "string", 1, c_node_ip }, END,
};

static const struct column cm_cols[] = {
	NAME, { "Data", "integer", 0, c_data }, AGE, END,
};

static const struct column secret_cols[] = {
	NAME, { "Type", "string", 0, c_secret_type },
	{ "Data", "integer", 0, c_data }, AGE, END,
};

static const struct column lease_cols[] = {
	NAME, { "Holder", "string", 0, c_holder }, AGE, END,
};

static const struct column event_cols[] = {
	{ "Last Seen", "string", 0, c_ev_last },
	{ "Type", "string", 0, c_ev_type },
	{ "Reason", "string", 0, c_ev_reason },
	{ "Object", "string", 0, c_ev_object },
	{ "Subobject", "string", 1, c_ev_subobject },
	{ "Source", "string", 1, c_ev_source },
	{ "Message", "string", 0, c_ev_message },
	{ "First Seen", "string", 1, c_ev_first },
	{ "Count", "integer", 1, c_ev_count },
	{ "Name", "string", 1, c_name }, END,
};

static const struct column default_cols[] = { NAME, AGE, END };

static const struct {
	const char *kind;
	const struct column *cols;
} kind_columns[] = {
	{ "Pod", pod_cols }, { "Deployment", deploy_cols },
	{ "ReplicaSet", rs_cols }, { "StatefulSet", sts_cols },
	{ "DaemonSet", ds_cols }, { "Job", job_cols },
	{ "Service", svc_cols }, { "Endpoints", ep_cols },
	{ "Namespace", ns_cols }, { "Node", node_cols },
	{ "ConfigMap", cm_cols }, { "Secret", secret_cols },
	{ "Lease", lease_cols }, { "Event", event_cols },
};

static const struct column *columns_of(const struct api_resource *res)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kind_columns); i++)
		if (!strcmp(kind_columns[i].kind, res->kind))
			return kind_columns[i].cols;
	return default_cols;
}

bool table_wanted(const char *accept)
{
	return accept && strstr(accept, "as=Table") &&
	       strstr(accept, "g=meta.k8s.io");
}

/* The object behind a row: its metadata, or all of it when asked. */
static json_t *row_object(const json_t *obj, bool include_object)
{
	if (include_object)
		return json_deep_copy(obj);
	return json_pack("{s:s, s:s, s:O}", "kind", "PartialObjectMetadata",
			 "apiVersion", "meta.k8s.io/v1", "metadata",
			 json_object_get(obj, "metadata"));
}

json_t *table_render(const struct api_resource *res, json_t *items,
		     const char *rv, const char *cont, bool include_object)
{
	const struct column *cols = columns_of(res), *c;
	json_t *defs = json_array(), *rows = json_array(), *table;
	char cell[CELL];
	size_t i;

	for (c = cols; c->name; c++)
		json_array_append_new(defs,
				      json_pack("{s:s, s:s, s:s, s:s, s:i}",
						"name", c->name,
						"type", c->type,
						"format", c == cols ? "name" : "",
						"description", "",
						"priority", c->priority));
	for (i = 0; i < json_array_size(items); i++) {
		const json_t *obj = json_array_get(items, i);
		json_t *cells = json_array();

		for (c = cols; c->name; c++) {
			c->cell(obj, cell);
			json_array_append_new(cells, json_string(cell));
		}
		json_array_append_new(rows,
				      json_pack("{s:o, s:o}", "cells", cells,
						"object",
						row_object(obj,
							   include_object)));
	}
	table = json_pack("{s:s, s:s, s:{s:s}, s:o, s:o}",
			  "kind", "Table", "apiVersion", "meta.k8s.io/v1",
			  "metadata", "resourceVersion", rv ? rv : "",
			  "columnDefinitions", defs, "rows", rows);
	if (table && cont)
		json_object_set_new(json_object_get(table, "metadata"),
				    "continue", json_string(cont));
	return table;
}
