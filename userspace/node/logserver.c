// SPDX-License-Identifier: GPL-2.0
/*
 * The kubelet's HTTP endpoint for container logs, which the apiserver's
 * pods/NAME/log proxies to (as Kubernetes' apiserver does to port 10250):
 *
 *	GET /containerLogs/NAMESPACE/POD/CONTAINER
 *		?follow=&previous=&tailLines=&limitBytes=
 *
 * It serves files only: everything it needs is on disk under --root-dir,
 * where the kubelet keeps it (kubelet.c says the layout):
 *
 *	pods/UID/pod.json                 uid, namespace, name, spec
 *	pods/UID/logs/CONTAINER/N.log     the output of the Nth run
 *	pods/UID/containers/CONTAINER-N/  that run's bundle, with the file
 *	                                  "exited" once it has ended
 *
 * so it shares nothing with the agent's event loop: libmicrohttpd runs it
 * in threads of its own, one per connection, and a follower blocks in its
 * own thread (inotify on the directories, and the client's socket to see
 * it leave). The current run is the highest N, the previous one N - 1.
 * With follow, output is streamed as the file grows until that run has
 * ended (its "exited" file, a newer run, or its bundle gone) or the
 * client goes. timestamps and sinceSeconds are accepted and ignored: the
 * log files keep raw output, without times.
 *
 * Errors are plain text, as the kubelet's: 404 for a pod or container the
 * node does not have, 400 for a bad query or a run that does not exist.
 *
 * It also answers GET /dataplane (skiffctl dataplane, through the
 * apiserver's nodes/NAME/proxy): what the node has programmed, with its
 * counters, as one JSON object
 *
 *	{"node": NAME, "backend": "kmod" | "nft", "devices": [...],
 *	 "peers": [...], "services": [...]}
 *
 * whose lists are what `skiff-dp -j dev show`, `peer show DEV` and
 * `service show` print (dp_json.h builds both): the node's overlay device
 * and its peers (none before the node has its subnet), every service.
 * Each request opens a data plane handle of its own, so this thread never
 * shares a netlink socket with the event loop's.
 *
 * When the agent talks to the apiserver with a client certificate (its
 * kubeconfig), the endpoint is HTTPS with that same certificate (the node
 * profile is for serving too, with the node's address among its names)
 * and asks each client for a certificate of the kubeconfig's CA: only the
 * apiserver (CN kube-apiserver, its --kubelet-client-certificate) and
 * cluster admins (O system:masters) may read logs; no certificate is 401,
 * another identity 403, as the kubelet's webhook authorizer would answer.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <microhttpd.h>

#include "certs.h"
#include "dp_json.h"
#include "kubeconfig.h"
#include "node.h"
#include "tls_peer.h"

#define LOG_PREFIX "/containerLogs/"
#define DATAPLANE_PATH "/dataplane"
#define MAX_CONNECTIONS 128
/* Idle keep-alive connections go after this; followers turn it off. */
#define IDLE_TIMEOUT_S 60
/* A follower looks again this often even without an inotify event. */
#define RECHECK_MS 1000
#define READ_BLOCK (64 * 1024)
#define APISERVER_CN "kube-apiserver"
#define MASTERS_GROUP "system:masters"
#define FORBIDDEN_TEXT "Forbidden (user may not read container logs or the data plane)"
#define NOT_TLS_HINT " (or its certificate and key do not serve TLS)"

/**
 * struct skiff_logserver - the endpoint
 * @daemon: libmicrohttpd's
 * @root: the agent's --root-dir
 * @node: the Node's name
 * @tls: HTTPS with @cert_pem, @key_pem, clients of @ca_pem
 * @lock: guards @dp_known, @backend and @dev, set by the event loop
 * @dp_known: the agent has opened its data plane, of @backend
 * @dev: its overlay device, "" until it exists
 */
struct skiff_logserver {
	struct MHD_Daemon *daemon;
	char *root;
	char *node;
	bool tls;
	char *cert_pem, *key_pem, *ca_pem;
	pthread_mutex_t lock;
	bool dp_known;
	enum skiff_dp_backend backend;
	char dev[IF_NAMESIZE];
};

/* One answer being streamed: a log file from an offset. */
struct log_stream {
	struct MHD_Connection *conn;
	int fd;				/* -1 until the file exists */
	int ino;			/* inotify, followers only */
	bool follow;
	int64_t left;			/* limitBytes still to send, -1: no limit */
	char log[PATH_MAX];
	char run[PATH_MAX];		/* containers/NAME-N */
	char exited[PATH_MAX + 8];	/* containers/NAME-N/exited */
	char next[PATH_MAX];		/* containers/NAME-(N+1) */
};

/* ---- answers ---- */

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int code,
				  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int code,
				  const char *fmt, ...)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- the query ---- */

/* Go's strconv.ParseBool, as the kubelet decodes its query; absent: false. */
static int parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
	unsigned int i;

	*out = false;
	if (!text || !*text)
		return 0;
	for (i = 0; i < 6; i++) {
		if (!strcmp(text, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(text, no[i]))
			return 0;
	}
	return -EINVAL;
}

/* A non-negative decimal integer; absent: -1. */
static int parse_count(const char *text, int64_t *out)
{
	char *end;
	long long v;

	*out = -1;
	if (!text)
		return 0;
	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* A path segment that names something (no "/", not "." or ".."). */
static bool good_segment(const char *s, size_t len)
{
	if (!len || len >= 254 || memchr(s, '/', len))
		return false;
	return !(len == 1 && s[0] == '.') && !(len == 2 && !strncmp(s, "..", 2));
}

/* ---- what is on disk ---- */

/* snprintf into a path buffer; -ENAMETOOLONG rather than a cut path. */
static int path_fmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int path_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static bool has_container(const json_t *spec, const char *name)
{
	static const char *const lists[] = { "containers", "initContainers",
					     "ephemeralContainers" };
	const json_t *c;
	unsigned int i;
	size_t j;

	for (i = 0; i < 3; i++) {
		json_array_foreach(json_object_get(spec, lists[i]), j, c) {
			if (json_is_string(json_object_get(c, "name")) &&
			    !strcmp(json_string_value(json_object_get(c, "name")), name))
				return true;
		}
	}
	return false;
}

/*
 * The record of pod @ns/@name under @root, and its directory. Should a
 * deleted pod's directory still be there beside a new pod of the same
 * name, the one started last wins.
 */
static json_t *find_pod(const char *root, const char *ns, const char *name,
			char *dir, size_t dir_len)
{
	char path[PATH_MAX], file[PATH_MAX + 16], cand[PATH_MAX];
	const char *start, *best_start = "";
	json_t *rec, *best = NULL;
	struct dirent *d;
	DIR *pods;

	snprintf(path, sizeof(path), "%s/pods", root);
	pods = opendir(path);
	if (!pods)
		return NULL;
	while ((d = readdir(pods))) {
		if (d->d_name[0] == '.')
			continue;
		if (path_fmt(file, sizeof(file), "%s/%s/pod.json", path, d->d_name))
			continue;
		rec = json_load_file(file, 0, NULL);
		if (!rec || strcmp(json_string_value(json_object_get(rec, "namespace")) ?: "",
				   ns) ||
		    strcmp(json_string_value(json_object_get(rec, "name")) ?: "", name)) {
			json_decref(rec);
			continue;
		}
		start = json_string_value(json_object_get(rec, "startTime")) ?: "";
		if ((best && strcmp(start, best_start) < 0) ||
		    path_fmt(cand, sizeof(cand), "%s/%s", path, d->d_name) ||
		    strlen(cand) >= dir_len) {
			json_decref(rec);
			continue;
		}
		json_decref(best);
		best = rec;
		best_start = start;
		strcpy(dir, cand);
	}
	closedir(pods);
	return best;
}

/* The highest N of entries PREFIX-N (bundles) or N.log (logs) in @dir. */
static void highest_run(const char *dir, const char *prefix, const char *suffix,
			long *high)
{
	size_t plen = strlen(prefix), slen = strlen(suffix), len;
	struct dirent *d;
	char *end;
	DIR *dp;
	long n;

	dp = opendir(dir);
	if (!dp)
		return;
	while ((d = readdir(dp))) {
		len = strlen(d->d_name);
		if (len <= plen + slen || strncmp(d->d_name, prefix, plen) ||
		    strcmp(d->d_name + len - slen, suffix) ||
		    d->d_name[plen] < '0' || d->d_name[plen] > '9')
			continue;
		errno = 0;
		n = strtol(d->d_name + plen, &end, 10);
		if (!errno && end == d->d_name + len - slen && n > *high)
			*high = n;
	}
	closedir(dp);
}

/* The number of the container's current run; -1 when none began. */
static long current_run(const char *pod_dir, const char *ctr)
{
	char path[PATH_MAX + 300], prefix[300];
	long high = -1;

	snprintf(path, sizeof(path), "%s/containers", pod_dir);
	snprintf(prefix, sizeof(prefix), "%s-", ctr);
	highest_run(path, prefix, "", &high);
	snprintf(path, sizeof(path), "%s/logs/%s", pod_dir, ctr);
	highest_run(path, "", ".log", &high);
	return high;
}

/* Where the last @lines lines of @fd begin (a last line without "\n" counts). */
static off_t tail_start(int fd, int64_t lines)
{
	off_t end = lseek(fd, 0, SEEK_END), pos = end;
	int64_t seen = 0;
	char buf[8192];
	ssize_t n, i;

	if (end <= 0 || !lines)
		return end < 0 ? 0 : end;
	while (pos > 0) {
		n = pos < (off_t)sizeof(buf) ? pos : (off_t)sizeof(buf);
		pos -= n;
		if (pread(fd, buf, n, pos) != n)
			return 0;
		for (i = n - 1; i >= 0; i--) {
			if (buf[i] != '\n' || pos + i == end - 1)
				continue;
			if (++seen == lines)
				return pos + i + 1;
		}
	}
	return 0;
}

/* ---- streaming ---- */

/* The run followed is over: it exited, a newer one began, or it is gone. */
static bool run_ended(const struct log_stream *s)
{
	struct stat st;

	return !stat(s->exited, &st) || stat(s->run, &st) || !stat(s->next, &st);
}

/* Sleeps until something may have changed; -1 when the client left. */
static int wait_for_more(struct log_stream *s)
{
	const union MHD_ConnectionInfo *ci;
	struct pollfd pfd[2] = { { .fd = s->ino, .events = POLLIN },
				 { .fd = -1, .events = POLLRDHUP } };
	char drain[4096];

	ci = MHD_get_connection_info(s->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci)
		pfd[1].fd = ci->connect_fd;
	if (poll(pfd, 2, RECHECK_MS) < 0 && errno != EINTR)
		return -1;
	if (pfd[1].revents & (POLLRDHUP | POLLHUP | POLLERR))
		return -1;
	while (s->ino >= 0 && read(s->ino, drain, sizeof(drain)) > 0)
		;
	return 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct log_stream *s = cls;
	bool ended;
	ssize_t n;

	(void)pos;
	if (!s->left)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (s->left > 0 && (int64_t)max > s->left)
		max = s->left;
	for (;;) {
		/* Looked at before reading: what a finished run wrote is all in. */
		ended = !s->follow || run_ended(s);
		if (s->fd < 0)
			s->fd = open(s->log, O_RDONLY | O_CLOEXEC);
		n = s->fd < 0 ? 0 : read(s->fd, buf, max);
		if (n > 0) {
			if (s->left > 0)
				s->left -= n;
			return n;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (ended)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (wait_for_more(s))
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
}

static void stream_free(void *cls)
{
	struct log_stream *s = cls;

	if (s->fd >= 0)
		close(s->fd);
	if (s->ino >= 0)
		close(s->ino);
	free(s);
}

/* Inotify on what tells a follower to look again. */
static void watch_paths(struct log_stream *s, const char *pod_dir, const char *ctr)
{
	char path[PATH_MAX + 300];

	s->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ino < 0)
		return;		/* the periodic look is enough */
	snprintf(path, sizeof(path), "%s/logs/%s", pod_dir, ctr);
	inotify_add_watch(s->ino, path, IN_MODIFY | IN_CREATE | IN_MOVED_TO);
	snprintf(path, sizeof(path), "%s/containers", pod_dir);
	inotify_add_watch(s->ino, path, IN_CREATE | IN_DELETE | IN_MOVED_TO);
	inotify_add_watch(s->ino, s->run, IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF);
}

struct log_query {
	bool follow;
	bool previous;
	int64_t tail;
	int64_t limit;
};

/* Fills @q from the query; -EINVAL with @msg when a value is wrong. */
static int parse_query(struct MHD_Connection *conn, struct log_query *q, char *msg,
		       size_t len)
{
	static const char *const bools[] = { "follow", "previous", "timestamps" };
	static const char *const counts[] = { "tailLines", "limitBytes", "sinceSeconds" };
	int64_t n[3];
	bool b[3];
	const char *v;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, bools[i]);
		if (parse_bool(v, &b[i])) {
			snprintf(msg, len, "invalid %s \"%.200s\": want true or false",
				 bools[i], v);
			return -EINVAL;
		}
		v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, counts[i]);
		if (parse_count(v, &n[i])) {
			snprintf(msg, len, "invalid %s \"%.200s\": want a non-negative integer",
				 counts[i], v);
			return -EINVAL;
		}
	}
	q->follow = b[0];
	q->previous = b[1];
	q->tail = n[0];
	q->limit = n[1];
	return 0;
}

/* Answers GET /containerLogs/NS/POD/CONTAINER. */
static enum MHD_Result container_logs(struct skiff_logserver *ls, struct MHD_Connection *conn,
				      const char *ns, const char *pod, const char *ctr)
{
	struct log_query q = { 0 };
	char dir[PATH_MAX], msg[512];
	struct MHD_Response *resp;
	struct log_stream *s;
	enum MHD_Result ret;
	json_t *rec;
	long run;

	if (parse_query(conn, &q, msg, sizeof(msg)))
		return reply_text(conn, MHD_HTTP_BAD_REQUEST, "%s", msg);
	rec = find_pod(ls->root, ns, pod, dir, sizeof(dir));
	if (!rec)
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "pod \"%s\" does not exist", pod);
	if (!has_container(json_object_get(rec, "spec"), ctr)) {
		json_decref(rec);
		return reply_text(conn, MHD_HTTP_NOT_FOUND,
				  "container \"%s\" not found in pod \"%s\"", ctr, pod);
	}
	json_decref(rec);
	run = current_run(dir, ctr);
	if (q.previous)
		run--;
	if (run < 0)
		return reply_text(conn, MHD_HTTP_BAD_REQUEST, q.previous ?
				  "previous terminated container \"%s\" in pod \"%s\" not found" :
				  "container \"%s\" in pod \"%s\" is waiting to start: ContainerCreating",
				  ctr, pod);
	s = calloc(1, sizeof(*s));
	if (!s)
		return MHD_NO;
	s->conn = conn;
	s->ino = -1;
	s->follow = q.follow;
	s->left = q.limit;
	if (path_fmt(s->log, sizeof(s->log), "%s/logs/%s/%ld.log", dir, ctr, run) ||
	    path_fmt(s->run, sizeof(s->run), "%s/containers/%s-%ld", dir, ctr, run) ||
	    path_fmt(s->exited, sizeof(s->exited), "%s/exited", s->run) ||
	    path_fmt(s->next, sizeof(s->next), "%s/containers/%s-%ld", dir, ctr, run + 1)) {
		free(s);
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "path too long");
	}
	s->fd = open(s->log, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0 && q.previous) {
		free(s);
		return reply_text(conn, MHD_HTTP_BAD_REQUEST,
				  "previous terminated container \"%s\" in pod \"%s\" not found",
				  ctr, pod);
	}
	if (s->fd >= 0 && q.tail >= 0)
		lseek(s->fd, tail_start(s->fd, q.tail), SEEK_SET);
	if (s->follow) {
		watch_paths(s, dir, ctr);
		/* A quiet container is no idle connection. */
		MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0U);
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, READ_BLOCK, stream_read, s,
						 stream_free);
	if (!resp) {
		stream_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- the data plane ---- */

#define DP_FORMAT "{s:s, s:s, s:[], s:[], s:[]}"

/* Fills @obj's lists from a handle of this thread's own; -errno with @e. */
static int dataplane_lists(enum skiff_dp_backend backend, const char *dev, json_t *obj,
			   struct skiff_error *e)
{
	json_t *devices = json_object_get(obj, "devices");
	struct skiff_dp *dp;
	int err;

	err = skiff_dp_open(&dp, backend, e);
	if (err)
		return err;
	if (*dev) {
		err = skiff_dp_json_devs(dp, dev, devices, e);
		/* Not made yet (or gone): no device, no peers. */
		if (err == -ENODEV)
			err = 0;
		if (!err && json_array_size(devices))
			err = skiff_dp_json_peers(dp, dev, json_object_get(obj, "peers"), e);
	}
	if (!err)
		err = skiff_dp_json_services(dp, json_object_get(obj, "services"), e);
	skiff_dp_close(dp);
	return err;
}

/* Answers GET /dataplane. */
static enum MHD_Result dataplane(struct skiff_logserver *ls, struct MHD_Connection *conn)
{
	enum skiff_dp_backend backend;
	struct skiff_error e = { 0 };
	struct MHD_Response *resp;
	char dev[IF_NAMESIZE];
	enum MHD_Result ret;
	bool known;
	json_t *obj;
	char *text;

	pthread_mutex_lock(&ls->lock);
	known = ls->dp_known;
	backend = ls->backend;
	memcpy(dev, ls->dev, sizeof(dev));
	pthread_mutex_unlock(&ls->lock);
	if (!known)
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "the node has not opened its data plane yet");
	obj = json_pack(DP_FORMAT, "node", ls->node, "backend", skiff_dp_backend_name(backend),
			"devices", "peers", "services");
	if (!obj)
		return MHD_NO;
	if (dataplane_lists(backend, dev, obj, &e)) {
		json_decref(obj);
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "data plane (%s): %s%s%s",
				  skiff_dp_backend_name(backend), strerror(-e.err),
				  e.msg[0] ? ": " : "", e.msg);
	}
	text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (!text)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

void skiff_logserver_set_dataplane(struct skiff_logserver *ls, enum skiff_dp_backend backend,
				   const char *dev)
{
	if (!ls)
		return;
	pthread_mutex_lock(&ls->lock);
	ls->dp_known = true;
	ls->backend = backend;
	snprintf(ls->dev, sizeof(ls->dev), "%s", dev ?: "");
	pthread_mutex_unlock(&ls->lock);
}

struct peer {
	bool allowed;
};

static int peer_field(const char *value, size_t len, bool is_cn, void *arg)
{
	struct peer *who = arg;

	if (is_cn ? len == strlen(APISERVER_CN) && !memcmp(value, APISERVER_CN, len) :
		    len == strlen(MASTERS_GROUP) && !memcmp(value, MASTERS_GROUP, len))
		who->allowed = true;
	return 0;
}

/*
 * The client's certificate: none or not the CA's (SKIFF_TLS_PEER_NONE or
 * _INVALID), the apiserver's or an admin's (_VALID), or another valid one
 * (-1).
 */
static int client_allowed(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info;
	struct peer who = { false };
	enum skiff_tls_peer got;

	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!info || !info->tls_session)
		return SKIFF_TLS_PEER_NONE;
	got = skiff_tls_peer(info->tls_session, peer_field, &who);
	if (got == SKIFF_TLS_PEER_VALID && !who.allowed)
		return -1;
	return got;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct skiff_logserver *ls = cls;
	static int seen;
	const char *seg[3], *p;
	char part[3][256];
	size_t len;
	int i;

	(void)version;
	(void)upload_data;
	if (!*con_cls) {
		*con_cls = &seen;	/* headers only: answered on the next call */
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;	/* a GET has no body: dropped */
		return MHD_YES;
	}
	if (ls->tls) {
		switch (client_allowed(conn)) {
		case SKIFF_TLS_PEER_NONE:
		case SKIFF_TLS_PEER_INVALID:
			return reply_text(conn, MHD_HTTP_UNAUTHORIZED, "Unauthorized");
		case SKIFF_TLS_PEER_VALID:
			break;
		default:
			return reply_text(conn, MHD_HTTP_FORBIDDEN, FORBIDDEN_TEXT);
		}
	}
	if (!strcmp(url, DATAPLANE_PATH)) {
		if (strcmp(method, "GET"))
			return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "405: Method Not Allowed");
		return dataplane(ls, conn);
	}
	if (strncmp(url, LOG_PREFIX, strlen(LOG_PREFIX)))
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "404 page not found");
	if (strcmp(method, "GET"))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "405: Method Not Allowed");
	p = url + strlen(LOG_PREFIX);
	for (i = 0; i < 3; i++) {
		seg[i] = p;
		p = strchrnul(p, '/');
		len = p - seg[i];
		if (!good_segment(seg[i], len) || (i < 2 && !*p) || (i == 2 && *p))
			return reply_text(conn, MHD_HTTP_NOT_FOUND, "404 page not found");
		memcpy(part[i], seg[i], len);
		part[i][len] = 0;
		if (*p)
			p++;
	}
	return container_logs(ls, conn, part[0], part[1], part[2]);
}

/* The kubeconfig's certificate, key and CA in memory, as libmicrohttpd wants. */
static int load_tls(struct skiff_logserver *ls, const struct skiff_kubeconfig *kc,
		    struct skiff_error *e)
{
	size_t len;

	if (!kc || !kc->cert_file || !kc->key_file || !kc->ca_file)
		return 0;
	if (skiff_certs_read_file(kc->cert_file, &ls->cert_pem, &len, e) ||
	    skiff_certs_read_file(kc->key_file, &ls->key_pem, &len, e) ||
	    skiff_certs_read_file(kc->ca_file, &ls->ca_pem, &len, e))
		return e->err ?: -EINVAL;
	ls->tls = true;
	return 0;
}

static void logserver_free(struct skiff_logserver *ls)
{
	pthread_mutex_destroy(&ls->lock);
	free(ls->root);
	free(ls->node);
	free(ls->cert_pem);
	free(ls->key_pem);
	free(ls->ca_pem);
	free(ls);
}

int skiff_logserver_start(struct skiff_node *n, struct skiff_error *e)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(n->kubelet_port),
		.sin_addr = n->node_ip,
	};
	struct MHD_OptionItem tls[5] = { { MHD_OPTION_END, 0, NULL } };
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			     MHD_USE_ERROR_LOG;
	struct skiff_logserver *ls;
	sigset_t all, old;
	int err;

	if (!n->kubelet_port)
		return 0;
	ls = calloc(1, sizeof(*ls));
	if (!ls)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	pthread_mutex_init(&ls->lock, NULL);
	ls->root = strdup(n->root_dir);
	ls->node = strdup(n->name);
	if (!ls->root || !ls->node) {
		err = skiff_error_set(e, -ENOMEM, "out of memory");
		goto err_free;
	}
	err = load_tls(ls, n->kc, e);
	if (err)
		goto err_free;
	if (ls->tls) {
		flags |= MHD_USE_TLS;
		tls[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, ls->cert_pem };
		tls[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, ls->key_pem };
		/* A trust list makes libmicrohttpd ask clients for a certificate. */
		tls[2] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, ls->ca_pem };
		tls[3] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
						  SKIFF_TLS_PRIORITIES };
	}
	/*
	 * Its threads take no signal: the loop's signalfd must get SIGTERM,
	 * whichever thread the kernel would pick.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ls->daemon = MHD_start_daemon(flags, n->kubelet_port, NULL, NULL, on_request, ls,
				      MHD_OPTION_SOCK_ADDR, &addr,
				      MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS,
				      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)IDLE_TIMEOUT_S,
				      MHD_OPTION_ARRAY, tls,
				      MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!ls->daemon) {
		err = skiff_error_set(e, -EADDRINUSE, "cannot listen on %s:%u%s",
				      n->node_ip_text, n->kubelet_port,
				      ls->tls ? NOT_TLS_HINT : "");
		goto err_free;
	}
	n->logserver = ls;
	return 0;

err_free:
	logserver_free(ls);
	return err;
}

void skiff_logserver_stop(struct skiff_logserver *ls)
{
	if (!ls)
		return;
	MHD_stop_daemon(ls->daemon);
	logserver_free(ls);
}
