// SPDX-License-Identifier: GPL-2.0
/*
 * The paths that are not objects: API discovery (what kubectl reads to
 * map kinds, short names and categories to paths), /version, the health
 * checks and /metrics.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static json_t *string_list(const char *const *items)
{
	json_t *list = json_array();

	while (items && *items)
		json_array_append_new(list, json_string(*items++));
	return list;
}

static json_t *verbs(void)
{
	static const char *const all[] = {
		"create", "delete", "deletecollection", "get", "list",
		"patch", "update", "watch", NULL,
	};

	return string_list(all);
}

static json_t *resource_entry(const struct api_resource *res,
			      const char *sub, const char *kind,
			      const char *const *sub_verbs)
{
	char name[128];
	json_t *entry;

	snprintf(name, sizeof(name), "%s%s%s", res->plural, sub ? "/" : "",
		 sub ? sub : "");
	entry = json_pack("{s:s, s:s, s:b, s:s, s:o}",
			  "name", name,
			  "singularName", sub ? "" : res->singular,
			  "namespaced", !!(res->flags & RES_NAMESPACED),
			  "kind", kind,
			  "verbs", sub ? string_list(sub_verbs) : verbs());
	if (!sub && res->short_names[0])
		json_object_set_new(entry, "shortNames",
				    string_list(res->short_names));
	if (!sub && res->categories[0])
		json_object_set_new(entry, "categories",
				    string_list(res->categories));
	return entry;
}

/* APIResourceList of one group version. */
static json_t *resource_list(const char *group, const char *version,
			     const char *group_version)
{
	static const char *const rw[] = { "get", "patch", "update", NULL };
	static const char *const create[] = { "create", NULL };
	static const char *const update[] = { "update", NULL };
	static const char *const get[] = { "get", NULL };
	json_t *list = json_array();
	unsigned int i;

	for (i = 0; i < api_resource_count; i++) {
		const struct api_resource *res = &api_resources[i];

		if (strcmp(res->group, group) || strcmp(res->version, version))
			continue;
		json_array_append_new(list, resource_entry(res, NULL,
							   res->kind, NULL));
		if (res->flags & RES_STATUS)
			json_array_append_new(list,
					      resource_entry(res, "status",
							     res->kind, rw));
		if (res->flags & RES_SCALE) {
			json_t *e = resource_entry(res, "scale", "Scale", rw);

			json_object_set_new(e, "group",
					    json_string("autoscaling"));
			json_object_set_new(e, "version", json_string("v1"));
			json_array_append_new(list, e);
		}
		if (!strcmp(res->plural, "pods")) {
			json_array_append_new(list,
					      resource_entry(res, "binding",
							     "Binding",
							     create));
			json_array_append_new(list,
					      resource_entry(res, "log", "Pod",
							     get));
		}
		/* Kubernetes' verbs are every method: here GET only. */
		if (!strcmp(res->plural, "nodes"))
			json_array_append_new(list,
					      resource_entry(res, "proxy",
							     "NodeProxyOptions",
							     get));
		if (!strcmp(res->plural, "namespaces"))
			json_array_append_new(list,
					      resource_entry(res, "finalize",
							     "Namespace",
							     update));
	}
	return json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList",
			 "apiVersion", "v1", "groupVersion", group_version,
			 "resources", list);
}

static json_t *group_entry(const struct api_group_version *gv)
{
	return json_pack("{s:s, s:[{s:s, s:s}], s:{s:s, s:s}}",
			 "name", gv->group,
			 "versions", "groupVersion", gv->group_version,
			 "version", gv->version,
			 "preferredVersion", "groupVersion", gv->group_version,
			 "version", gv->version);
}

static json_t *group_list(void)
{
	json_t *groups = json_array();
	unsigned int i;

	for (i = 0; i < api_group_version_count; i++)
		json_array_append_new(groups,
				      group_entry(&api_group_versions[i]));
	return json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList",
			 "apiVersion", "v1", "groups", groups);
}

static json_t *version_info(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			 "major", "1", "minor", "32",
			 "gitVersion", "v1.32.0-skiff-" SKIFF_VERSION,
			 "gitCommit", "", "gitTreeState", "clean",
			 "buildDate", "1970-01-01T00:00:00Z",
			 "goVersion", "none (C)", "compiler", "gcc",
			 "platform", "linux/amd64");
}

static char *metrics(struct apiserver *server)
{
	static const char *const verbs[] = {
		"GET", "POST", "PUT", "PATCH", "DELETE", "other",
	};
	unsigned long long from_cache, from_store;
	char *text = NULL, *more;
	unsigned int i;

	watch_hub_catch_ups(server->hub, &from_cache, &from_store);
	if (asprintf(&text,
		     "# HELP apiserver_request_total Requests served, by HTTP method.\n"
		     "# TYPE apiserver_request_total counter\n") < 0)
		return NULL;
	for (i = 0; i < 6; i++) {
		if (asprintf(&more, "%sapiserver_request_total{verb=\"%s\"} %llu\n",
			     text, verbs[i],
			     (unsigned long long)atomic_load(&server->requests[i])) < 0)
			goto fail;
		free(text);
		text = more;
	}
	if (asprintf(&more,
		     "%s# HELP apiserver_registered_watchers Open watch streams.\n"
		     "# TYPE apiserver_registered_watchers gauge\n"
		     "apiserver_registered_watchers %zu\n"
		     "# HELP skiff_watch_catch_ups_total Watches from a resourceVersion, by what replayed the writes after it.\n"
		     "# TYPE skiff_watch_catch_ups_total counter\n"
		     "skiff_watch_catch_ups_total{from=\"cache\"} %llu\n"
		     "skiff_watch_catch_ups_total{from=\"store\"} %llu\n"
		     "# HELP skiff_store_revision The store's last revision.\n"
		     "# TYPE skiff_store_revision gauge\n"
		     "skiff_store_revision %lld\n"
		     "# HELP skiff_store_compacted_revision Oldest revision a watch can resume from.\n"
		     "# TYPE skiff_store_compacted_revision gauge\n"
		     "skiff_store_compacted_revision %lld\n"
		     "# HELP process_start_time_seconds Start time since the epoch.\n"
		     "# TYPE process_start_time_seconds gauge\n"
		     "process_start_time_seconds %lld\n",
		     text, watch_hub_count(server->hub), from_cache, from_store,
		     (long long)skiff_store_revision(server->store),
		     (long long)skiff_store_compacted(server->store),
		     server->started) < 0)
		goto fail;
	free(text);
	return more;
fail:
	free(text);
	return NULL;
}

static bool is_get(const struct api_request *req)
{
	return !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
}

bool discovery_handle(struct api_request *req, enum MHD_Result *ret)
{
	const char *p = req->path;
	char group[256];
	unsigned int i;

	if (!strcmp(p, "/healthz") || !strcmp(p, "/livez") ||
	    !strcmp(p, "/readyz")) {
		*ret = api_reply_text(req, MHD_HTTP_OK, "text/plain", "ok");
		return true;
	}
	if (!is_get(req))
		return false;
	if (!strcmp(p, "/version")) {
		*ret = api_reply_json(req, MHD_HTTP_OK, version_info());
	} else if (!strcmp(p, "/api") || !strcmp(p, "/api/")) {
		*ret = api_reply_json(req, MHD_HTTP_OK,
				      json_pack("{s:s, s:[s], s:[{s:s, s:s}]}",
						"kind", "APIVersions",
						"versions", "v1",
						"serverAddressByClientCIDRs",
						"clientCIDR", "0.0.0.0/0",
						"serverAddress", ""));
	} else if (!strcmp(p, "/api/v1") || !strcmp(p, "/api/v1/")) {
		*ret = api_reply_json(req, MHD_HTTP_OK,
				      resource_list("", "v1", "v1"));
	} else if (!strcmp(p, "/apis") || !strcmp(p, "/apis/")) {
		*ret = api_reply_json(req, MHD_HTTP_OK, group_list());
	} else if (!strcmp(p, "/openapi/v2")) {
		/*
		 * kubectl create and apply fetch the schema to validate
		 * client-side; an empty document means "nothing to check
		 * against" to it. The server validates every object itself.
		 */
		*ret = api_reply_text(req, MHD_HTTP_OK,
				      "application/octet-stream", "");
	} else if (!strcmp(p, "/metrics")) {
		char *text = metrics(req->server);

		*ret = text ? api_reply_text(req, MHD_HTTP_OK,
					     "text/plain; version=0.0.4",
					     text) : MHD_NO;
		free(text);
	} else {
		for (i = 0; i < api_group_version_count; i++) {
			const struct api_group_version *gv =
				&api_group_versions[i];

			snprintf(group, sizeof(group), "/apis/%s",
				 gv->group_version);
			if (!strcmp(p, group)) {
				*ret = api_reply_json(req, MHD_HTTP_OK,
						      resource_list(gv->group,
								    gv->version,
								    gv->group_version));
				return true;
			}
			snprintf(group, sizeof(group), "/apis/%s", gv->group);
			if (!strcmp(p, group)) {
				json_t *g = group_entry(gv);

				json_object_set_new(g, "kind",
						    json_string("APIGroup"));
				json_object_set_new(g, "apiVersion",
						    json_string("v1"));
				*ret = api_reply_json(req, MHD_HTTP_OK, g);
				return true;
			}
		}
		return false;
	}
	return true;
}
