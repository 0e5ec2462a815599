// SPDX-License-Identifier: GPL-2.0
/*
 * The HTTP side: libmicrohttpd calls us for every request, we collect the
 * body, check who sent it and whether they may (auth.c), work out what
 * the path names (a resource and maybe a namespace, name and subresource,
 * or one of the fixed paths), and hand it on.
 *
 * Threads: a small pool of libmicrohttpd threads polls all connections
 * (epoll); a request is answered on the thread that read it. Watch streams
 * are suspended connections resumed when an event is queued for them, so
 * thousands of watchers cost no thread each.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "auth.h"
#include "server.h"

const char *api_query(const struct api_request *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND,
					   key);
}

const char *api_header(const struct api_request *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, key);
}

/* The path segments after the group version, at most @max of them. */
static int split_path(char *rest, char **parts, int max)
{
	int n = 0;
	char *save, *tok;

	for (tok = strtok_r(rest, "/", &save); tok;
	     tok = strtok_r(NULL, "/", &save)) {
		if (n == max)
			return -1;
		parts[n++] = tok;
	}
	return n;
}

/*
 * Fills req->res, namespace, name, subresource from a path under
 * /api/v1 or /apis/GROUP/VERSION. Returns false when the path names no
 * resource (404).
 */
static bool route_resource(struct api_request *req, const char *group,
			   const char *version, char *rest)
{
	char *parts[6], *proxy;
	int n, i = 0;

	/*
	 * nodes/NAME/proxy/PATH: PATH is the node's, as it is (any depth,
	 * slashes kept); "/" when there is none.
	 */
	proxy = !*group && !strncmp(rest, "nodes/", 6) ? strchr(rest + 6, '/') : NULL;
	if (proxy && !strncmp(proxy, "/proxy", 6) && (!proxy[6] || proxy[6] == '/')) {
		req->subpath = strdup(proxy[6] ? proxy + 6 : "/");
		if (!req->subpath)
			return false;
		proxy[6] = '\0';
	}
	n = split_path(rest, parts, 6);
	if (n < 1)
		return false;
	/*
	 * namespaces/NS/PLURAL... is a namespaced path, but namespaces/NS and
	 * namespaces/NS/status|finalize are the Namespace itself.
	 */
	if (n >= 3 && !strcmp(parts[0], "namespaces") &&
	    strcmp(parts[2], "status") && strcmp(parts[2], "finalize")) {
		req->namespace = strdup(parts[1]);
		i = 2;
	}
	if (n - i > 3)
		return false;
	req->res = api_resource_find(group, version, parts[i]);
	if (!req->res)
		return false;
	if (!(req->res->flags & RES_NAMESPACED) && req->namespace)
		return false;
	if (n - i >= 2)
		req->name = strdup(parts[i + 1]);
	if (n - i == 3)
		req->subresource = strdup(parts[i + 2]);
	return true;
}

static enum MHD_Result dispatch(struct api_request *req)
{
	char group[256], version[64], *rest = NULL;
	enum MHD_Result ret;
	const char *p = req->path;
	bool found = false;
	int consumed = 0;

	/* Before anything else: an anonymous client learns nothing. */
	if (!auth_request(req, &ret))
		return ret;
	if (req->too_large)
		return api_reply_error(req, MHD_HTTP_CONTENT_TOO_LARGE,
				       "RequestEntityTooLarge",
				       "the request body is larger than %d bytes",
				       API_MAX_BODY);
	if (discovery_handle(req, &ret))
		return ret;

	if (sscanf(p, "/api/%63[^/]/%n", version, &consumed) == 1 &&
	    consumed) {
		group[0] = '\0';
		rest = strdup(p + consumed);
	} else if (sscanf(p, "/apis/%255[^/]/%63[^/]/%n", group, version,
			  &consumed) == 2 && consumed) {
		rest = strdup(p + consumed);
	}
	if (rest) {
		found = route_resource(req, group, version, rest);
		free(rest);
	}
	if (!found)
		return api_reply_error(req, MHD_HTTP_NOT_FOUND, "NotFound",
				       "the server could not find the requested resource");
	return objects_handle(req);
}

static void count_request(struct apiserver *server, const char *method)
{
	static const char *const methods[] = {
		"GET", "POST", "PUT", "PATCH", "DELETE",
	};
	unsigned int i;

	for (i = 0; i < 5; i++)
		if (!strcmp(method, methods[i]))
			break;
	atomic_fetch_add(&server->requests[i], 1);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct api_request *req = *con_cls;
	char *grown;

	(void)version;
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		req->server = cls;
		req->conn = conn;
		req->method = method;
		req->path = strdup(url);
		if (!req->path) {
			free(req);
			return MHD_NO;
		}
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* Past the limit, read and drop the rest: 413 at the end. */
		if (req->too_large ||
		    req->body_len + *upload_data_size > API_MAX_BODY) {
			req->too_large = true;
			*upload_data_size = 0;
			return MHD_YES;
		}
		grown = realloc(req->body, req->body_len + *upload_data_size + 1);
		if (!grown)
			return MHD_NO;
		memcpy(grown + req->body_len, upload_data, *upload_data_size);
		req->body = grown;
		req->body_len += *upload_data_size;
		req->body[req->body_len] = '\0';
		*upload_data_size = 0;
		return MHD_YES;
	}
	count_request(req->server, method);
	return dispatch(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct api_request *req = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!req)
		return;
	free(req->path);
	free(req->body);
	free(req->namespace);
	free(req->name);
	free(req->subresource);
	free(req->subpath);
	free(req);
	*con_cls = NULL;
}

int server_start(struct apiserver *server, const struct server_options *opts,
		 char *err, size_t err_len)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(opts->port),
	};
	struct MHD_OptionItem tls[AUTH_MHD_OPTIONS];
	const union MHD_DaemonInfo *info;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

	if (inet_pton(AF_INET, opts->address, &addr.sin_addr) != 1) {
		snprintf(err, err_len, "bad listen address '%s'",
			 opts->address);
		return -EINVAL;
	}
	flags |= auth_mhd_options(server->auth, tls);
	server->daemon = MHD_start_daemon(flags, 0, NULL, NULL,
					  on_request, server,
					  MHD_OPTION_SOCK_ADDR, &addr,
					  MHD_OPTION_THREAD_POOL_SIZE,
					  (unsigned int)opts->threads,
					  MHD_OPTION_NOTIFY_COMPLETED,
					  on_completed, server,
					  MHD_OPTION_CONNECTION_LIMIT,
					  (unsigned int)opts->max_connections,
					  MHD_OPTION_CONNECTION_TIMEOUT,
					  120U,
					  MHD_OPTION_NOTIFY_CONNECTION,
					  auth_connection_notify, server->auth,
					  MHD_OPTION_ARRAY, tls,
					  MHD_OPTION_END);
	if (!server->daemon) {
		snprintf(err, err_len, "cannot listen on %s:%u",
			 opts->address, opts->port);
		return -EADDRINUSE;
	}
	/* Port 0 asks the kernel for a free port: say which. */
	info = MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
	server->port = info ? info->port : opts->port;
	return 0;
}

void server_stop(struct apiserver *server)
{
	if (!server->daemon)
		return;
	MHD_quiesce_daemon(server->daemon);
	watch_hub_shutdown(server->hub);
	logs_shutdown();
	MHD_stop_daemon(server->daemon);
	server->daemon = NULL;
}
