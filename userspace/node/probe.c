// SPDX-License-Identifier: GPL-2.0
/*
 * Container probes on the agent's event loop, as the kubelet's prober
 * workers run them: a timer ticks every periodSeconds (the first tick
 * after initialDelaySeconds), each tick starts one attempt unless one is
 * still in flight, and the result is reported when a run of equal
 * attempts reaches its threshold and differs from what was reported.
 *
 * Nothing here waits. An exec attempt is a posix_spawn()ed child (the
 * runtime's exec command line plus the probe's command) whose output is
 * read from a pipe as it comes and whose exit is a pidfd on the loop; on
 * timeout its process group gets SIGKILL and the loop reaps it later. An
 * httpGet attempt is a libcurl transfer with the probe's timeout; a
 * tcpSocket attempt is a libcurl CONNECT_ONLY transfer, which gives a
 * non-blocking connect (and name lookup) without a writability watch.
 *
 * Messages are the kubelet's ("HTTP probe failed with statuscode: 500",
 * "dial tcp 10.0.0.1:80: connect: connection refused", the command's
 * output) without the "Liveness probe failed: " that the caller adds.
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/wait.h>

#include "probe.h"
#include "util.h"

/* What the kubelet reads of a command's output or a response body. */
#define PROBE_OUTPUT_MAX (10 * 1024)
#define PROBE_USER_AGENT "kube-probe/1.32"
/* More is a mistake in the caller, not a runtime's command line. */
#define EXEC_ARGV_MAX 64

/* The API server's words for a bad field (field.Invalid and friends). */
#define MSG_NEGATIVE "%s: Invalid value: %lld: must be greater than or equal to 0"
#define MSG_TOO_BIG "%s: Invalid value: %lld: must be less than or equal to %d"
#define MSG_PORT_RANGE "%s.port: Invalid value: %lld: must be between 1 and 65535, inclusive"
#define MSG_HEADER_NAME "httpGet.httpHeaders[%zu].name: Invalid value: must be [-A-Za-z0-9]+"
#define MSG_HEADER_TYPE "httpGet.httpHeaders[%zu].value: Invalid value: must be a string"
#define MSG_HEADER_BREAK "httpGet.httpHeaders[%zu].value: Invalid value: has a line break"
#define MSG_SCHEME \
	"httpGet.scheme: Unsupported value: \"%.32s\": supported values: \"HTTP\", \"HTTPS\""
#define MSG_TWO_HANDLERS "%s: Forbidden: may not specify more than 1 handler type"
/* Go's net/http when the client's timeout ends a request. */
#define GO_TIMEOUT "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"

enum probe_kind {
	PROBE_EXEC,
	PROBE_HTTP,
	PROBE_TCP,
};

struct skiff_probe {
	struct skiff_loop *loop;
	skiff_probe_fn fn;
	void *arg;
	enum probe_kind kind;
	int64_t period_ms;
	int64_t timeout_ms;
	long long success_threshold;
	long long failure_threshold;

	char **argv;		/* exec: the runtime's prefix, then the command */
	char *command;		/* exec: the command alone, for messages */
	char *url;		/* http: what is fetched; tcp: http://HOST:PORT */
	char *host;		/* http, tcp: as given, or the pod IP */
	char *hostport;		/* "HOST:PORT" as Go's net.JoinHostPort writes it */
	bool https;
	struct curl_slist *headers;

	struct skiff_timer *tick;
	int64_t due;		/* when @tick fires */
	bool busy;		/* an attempt is in flight */
	bool tick_missed;	/* a tick came while busy: attempt right after */
	bool last;		/* the result of the last attempts... */
	long long run;		/* ...and how many in a row */
	int reported;		/* -1 before the first report, else 0 or 1 */
	bool in_callback;
	bool stopped;
	struct skiff_timer *free_later;

	/* The attempt in flight: a transfer... */
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
	size_t body;
	bool body_cut;
	/* ...or a process. */
	pid_t pid;
	struct skiff_watch *pid_watch;
	int out_fd;
	struct skiff_watch *out_watch;
	struct skiff_timer *deadline;
	size_t out_len;
	char out[PROBE_OUTPUT_MAX + 1];
};

static void attempt_start(struct skiff_probe *p);

/* ---- the spec ---- */

/*
 * A timing field: @def when absent, null or 0 (the API's defaulting turns
 * a 0 into the default, so a 0 that reaches us means the same).
 */
static int spec_seconds(const json_t *spec, const char *field, long long def,
			long long *out, struct skiff_error *e)
{
	const json_t *v = json_object_get(spec, field);
	long long n;

	*out = def;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return skiff_error_set(e, -EINVAL, "%s: Invalid value: must be an integer",
				       field);
	n = json_integer_value(v);
	if (n < 0)
		return skiff_error_set(e, -EINVAL, MSG_NEGATIVE, field, n);
	if (n > INT32_MAX)
		return skiff_error_set(e, -EINVAL, MSG_TOO_BIG, field, n, INT32_MAX);
	if (n)
		*out = n;
	return 0;
}

static int parse_timing(struct skiff_probe *p, const json_t *spec,
			long long *delay_s, struct skiff_error *e)
{
	long long period, timeout;
	int err;

	err = spec_seconds(spec, "initialDelaySeconds", 0, delay_s, e);
	if (!err)
		err = spec_seconds(spec, "periodSeconds", 10, &period, e);
	if (!err)
		err = spec_seconds(spec, "timeoutSeconds", 1, &timeout, e);
	if (!err)
		err = spec_seconds(spec, "successThreshold", 1,
				   &p->success_threshold, e);
	if (!err)
		err = spec_seconds(spec, "failureThreshold", 3,
				   &p->failure_threshold, e);
	if (err)
		return err;
	p->period_ms = period * 1000;
	p->timeout_ms = timeout * 1000;
	return 0;
}

static bool port_in_range(long long n)
{
	return n >= 1 && n <= 65535;
}

static int port_range_error(const char *field, long long n,
			    struct skiff_error *e)
{
	return skiff_error_set(e, -EINVAL, MSG_PORT_RANGE, field, n);
}

/* The containerPort of the container's port called @name, or 0. */
static long long named_port(const json_t *ports, const char *name)
{
	const json_t *port, *v;
	size_t i;

	json_array_foreach(ports, i, port) {
		v = json_object_get(port, "name");
		if (json_is_string(v) && !strcmp(json_string_value(v), name))
			return json_integer_value(json_object_get(port,
								  "containerPort"));
	}
	return 0;
}

/*
 * @field's port: a number, or a name from the container's ports; like the
 * kubelet, a name that is not there but is all digits is a number.
 */
static int resolve_port(const char *field, const json_t *handler,
			const json_t *ports, int *out, struct skiff_error *e)
{
	const json_t *v = json_object_get(handler, "port");
	const char *name;
	long long n;

	if (!v || json_is_null(v))
		return skiff_error_set(e, -EINVAL, "%s.port: Required value", field);
	if (json_is_integer(v)) {
		n = json_integer_value(v);
		if (!port_in_range(n))
			return port_range_error(field, n, e);
		*out = n;
		return 0;
	}
	if (!json_is_string(v))
		return skiff_error_set(e, -EINVAL,
				       "%s.port: Invalid value: must be a number or a port name",
				       field);
	name = json_string_value(v);
	n = named_port(ports, name);
	if (n) {
		if (!port_in_range(n))
			return port_range_error(field, n, e);
		*out = n;
		return 0;
	}
	if (name[0] && strlen(name) <= 5 && strspn(name, "0123456789") == strlen(name)) {
		n = atoll(name);
		if (!port_in_range(n))
			return port_range_error(field, n, e);
		*out = n;
		return 0;
	}
	return skiff_error_set(e, -EINVAL,
			       "%s.port: Invalid value: \"%.64s\": no container port of that name",
			       field, name);
}

/* @field's host, or the pod's IP; "HOST:PORT" with brackets for IPv6. */
static int resolve_host(struct skiff_probe *p, const char *field,
			const json_t *handler, struct in_addr pod_ip, int port,
			struct skiff_error *e)
{
	const json_t *v = json_object_get(handler, "host");
	char ip[INET_ADDRSTRLEN];
	const char *host;
	bool v6;
	int n;

	if (v && !json_is_null(v) && !json_is_string(v))
		return skiff_error_set(e, -EINVAL, "%s.host: Invalid value: must be a string",
				       field);
	host = json_string_value(v);
	if (!host || !host[0]) {
		if (pod_ip.s_addr == htonl(INADDR_ANY))
			return skiff_error_set(e, -EINVAL,
					       "%s.host: none given and the pod has no IP", field);
		inet_ntop(AF_INET, &pod_ip, ip, sizeof(ip));
		host = ip;
	}
	/* It goes into a URL: nothing that would change what the URL means. */
	if (strpbrk(host, "/?#@[] \t\r\n\\") || strlen(host) > 253)
		return skiff_error_set(e, -EINVAL, "%s.host: Invalid value: \"%.64s\"",
				       field, host);
	p->host = strdup(host);
	if (!p->host)
		return -ENOMEM;
	v6 = strchr(host, ':');
	n = asprintf(&p->hostport, v6 ? "[%s]:%d" : "%s:%d", host, port);
	if (n < 0) {
		p->hostport = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* k8s accepts header names of [-A-Za-z0-9]+ only. */
static bool header_name_ok(const char *name)
{
	const char *c;

	if (!name[0])
		return false;
	for (c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-')
			return false;
	return true;
}

static int add_header(struct skiff_probe *p, const char *name,
		      const char *value)
{
	struct curl_slist *l;
	char *line;

	/* "Name;" is how libcurl sends a header with an empty value. */
	if (value[0]) {
		if (asprintf(&line, "%s: %s", name, value) < 0)
			return -ENOMEM;
	} else {
		if (asprintf(&line, "%s;", name) < 0)
			return -ENOMEM;
	}
	l = curl_slist_append(p->headers, line);
	free(line);
	if (!l)
		return -ENOMEM;
	p->headers = l;
	return 0;
}

static int parse_headers(struct skiff_probe *p, const json_t *handler,
			 struct skiff_error *e)
{
	const json_t *list = json_object_get(handler, "httpHeaders");
	const json_t *h, *name, *value;
	const char *val;
	size_t i;
	int err;

	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return skiff_error_set(e, -EINVAL,
				       "httpGet.httpHeaders: Invalid value: must be a list");
	json_array_foreach(list, i, h) {
		name = json_object_get(h, "name");
		value = json_object_get(h, "value");
		if (!json_is_string(name) || !header_name_ok(json_string_value(name)))
			return skiff_error_set(e, -EINVAL, MSG_HEADER_NAME, i);
		if (value && !json_is_null(value) && !json_is_string(value))
			return skiff_error_set(e, -EINVAL, MSG_HEADER_TYPE, i);
		val = json_is_string(value) ? json_string_value(value) : "";
		if (strpbrk(val, "\r\n"))
			return skiff_error_set(e, -EINVAL, MSG_HEADER_BREAK, i);
		err = add_header(p, json_string_value(name), val);
		if (err)
			return err;
	}
	return 0;
}

/* The path as the request line carries it: bytes a URL cannot hold escaped. */
static char *url_path(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out, *o;
	const unsigned char *c;

	out = malloc(3 * strlen(path) + 2);
	if (!out)
		return NULL;
	o = out;
	if (path[0] != '/')
		*o++ = '/';
	for (c = (const unsigned char *)path; *c; c++) {
		if (*c <= ' ' || *c >= 0x7f) {
			*o++ = '%';
			*o++ = hex[*c >> 4];
			*o++ = hex[*c & 15];
		} else {
			*o++ = *c;
		}
	}
	*o = '\0';
	return out;
}

static int parse_http(struct skiff_probe *p, const json_t *h,
		      const json_t *ports, struct in_addr pod_ip,
		      struct skiff_error *e)
{
	const json_t *scheme = json_object_get(h, "scheme");
	const json_t *path = json_object_get(h, "path");
	char *escaped;
	int port, err;

	p->kind = PROBE_HTTP;
	if (scheme && !json_is_null(scheme)) {
		if (!json_is_string(scheme))
			return skiff_error_set(e, -EINVAL,
					       "httpGet.scheme: Invalid value: must be a string");
		if (!strcmp(json_string_value(scheme), "HTTPS"))
			p->https = true;
		else if (strcmp(json_string_value(scheme), "HTTP"))
			return skiff_error_set(e, -EINVAL, MSG_SCHEME,
					       json_string_value(scheme));
	}
	if (path && !json_is_null(path) && !json_is_string(path))
		return skiff_error_set(e, -EINVAL, "httpGet.path: Invalid value: must be a string");
	err = resolve_port("httpGet", h, ports, &port, e);
	if (!err)
		err = resolve_host(p, "httpGet", h, pod_ip, port, e);
	if (!err)
		err = parse_headers(p, h, e);
	if (err)
		return err;
	escaped = url_path(json_is_string(path) ? json_string_value(path) : "");
	if (!escaped)
		return -ENOMEM;
	err = asprintf(&p->url, "%s://%s%s", p->https ? "https" : "http",
		       p->hostport, escaped);
	free(escaped);
	if (err < 0) {
		p->url = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int parse_tcp(struct skiff_probe *p, const json_t *h,
		     const json_t *ports, struct in_addr pod_ip,
		     struct skiff_error *e)
{
	int port, err;

	p->kind = PROBE_TCP;
	err = resolve_port("tcpSocket", h, ports, &port, e);
	if (!err)
		err = resolve_host(p, "tcpSocket", h, pod_ip, port, e);
	if (err)
		return err;
	if (asprintf(&p->url, "http://%s/", p->hostport) < 0) {
		p->url = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* @s quoted as Go's %q would for plain text. */
static int append_quoted(char **out, size_t *len, const char *s)
{
	size_t need = *len + 2 * strlen(s) + 3;
	char *buf = realloc(*out, need);

	if (!buf)
		return -ENOMEM;
	*out = buf;
	buf[(*len)++] = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf[(*len)++] = '\\';
		buf[(*len)++] = *s;
	}
	buf[(*len)++] = '"';
	buf[*len] = '\0';
	return 0;
}

static int parse_exec(struct skiff_probe *p, const json_t *h,
		      const char *const *exec_argv, struct skiff_error *e)
{
	const json_t *cmd = json_object_get(h, "command");
	size_t n_prefix = 0, n_cmd, i, len = 0;
	const json_t *arg;
	char *joined;

	p->kind = PROBE_EXEC;
	if (!json_is_array(cmd) || !json_array_size(cmd))
		return skiff_error_set(e, -EINVAL, "exec.command: Required value");
	n_cmd = json_array_size(cmd);
	json_array_foreach(cmd, i, arg)
		if (!json_is_string(arg))
			return skiff_error_set(e, -EINVAL,
					       "exec.command[%zu]: Invalid value: must be a string",
					       i);
	while (exec_argv && n_prefix < EXEC_ARGV_MAX && exec_argv[n_prefix])
		n_prefix++;
	if (!n_prefix || n_prefix == EXEC_ARGV_MAX)
		return skiff_error_set(e, -EINVAL,
				       "exec: no command line runs a command in the container");
	p->argv = calloc(n_prefix + n_cmd + 1, sizeof(*p->argv));
	if (!p->argv)
		return -ENOMEM;
	for (i = 0; i < n_prefix; i++) {
		p->argv[i] = strdup(exec_argv[i]);
		if (!p->argv[i])
			return -ENOMEM;
	}
	/* The command, and it again joined by spaces for the timeout message. */
	joined = strdup("");
	if (!joined)
		return -ENOMEM;
	p->command = joined;
	json_array_foreach(cmd, i, arg) {
		p->argv[n_prefix + i] = strdup(json_string_value(arg));
		if (!p->argv[n_prefix + i])
			return -ENOMEM;
		joined = realloc(p->command, len + strlen(json_string_value(arg)) + 2);
		if (!joined)
			return -ENOMEM;
		p->command = joined;
		len += sprintf(joined + len, "%s%s", i ? " " : "", json_string_value(arg));
	}
	joined = NULL;
	len = 0;
	if (append_quoted(&joined, &len, p->command))
		return -ENOMEM;
	free(p->command);
	p->command = joined;
	return 0;
}

static int parse_handler(struct skiff_probe *p, const json_t *spec,
			 const json_t *ports, struct in_addr pod_ip,
			 const char *const *exec_argv, struct skiff_error *e)
{
	static const char *const handlers[] = { "exec", "httpGet", "tcpSocket", "grpc" };
	const json_t *h = NULL, *v;
	const char *name = NULL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(handlers); i++) {
		v = json_object_get(spec, handlers[i]);
		if (!v || json_is_null(v))
			continue;
		if (h)
			return skiff_error_set(e, -EINVAL, MSG_TWO_HANDLERS, handlers[i]);
		h = v;
		name = handlers[i];
	}
	if (!h)
		return skiff_error_set(e, -EINVAL, "Required value: must specify a handler type");
	if (!strcmp(name, "grpc"))
		return skiff_error_set(e, -EINVAL, "grpc probes are not supported");
	if (!json_is_object(h))
		return skiff_error_set(e, -EINVAL, "%s: Invalid value: must be an object", name);
	if (!strcmp(name, "exec"))
		return parse_exec(p, h, exec_argv, e);
	if (!strcmp(name, "httpGet"))
		return parse_http(p, h, ports, pod_ip, e);
	return parse_tcp(p, h, ports, pod_ip, e);
}

/* ---- results ---- */

static void probe_free(struct skiff_probe *p)
{
	char **a;

	for (a = p->argv; a && *a; a++)
		free(*a);
	free(p->argv);
	free(p->command);
	free(p->url);
	free(p->host);
	free(p->hostport);
	curl_slist_free_all(p->headers);
	free(p);
}

/*
 * An attempt ended. Reports when the run of equal results reaches its
 * threshold and says something new; nothing may touch @p after the
 * callback has stopped it, so this is always the last thing its callers do.
 */
static void attempt_done(struct skiff_probe *p, bool ok, const char *message)
{
	long long threshold = ok ? p->success_threshold : p->failure_threshold;

	p->busy = false;
	if (p->run && p->last == ok) {
		if (p->run < threshold)
			p->run++;
	} else {
		p->last = ok;
		p->run = 1;
	}
	if (p->run >= threshold && p->reported != ok) {
		p->reported = ok;
		p->in_callback = true;
		p->fn(ok, message, p->arg);
		p->in_callback = false;
		if (p->stopped) {
			probe_free(p);
			return;
		}
	}
	if (p->tick_missed) {
		p->tick_missed = false;
		attempt_start(p);
	}
}

/* ---- exec ---- */

static void reaped(int status, void *arg)
{
	(void)status;
	(void)arg;
}

/* The process, its pipe and its timer go; the loop reaps it when it dies. */
static void exec_abort(struct skiff_probe *p)
{
	skiff_timer_cancel(p->deadline);
	p->deadline = NULL;
	skiff_loop_unwatch(p->loop, p->out_watch);
	p->out_watch = NULL;
	if (p->out_fd >= 0)
		close(p->out_fd);
	p->out_fd = -1;
	if (!p->pid)
		return;
	/* Its own process group: a shell's children go with it. */
	kill(-p->pid, SIGKILL);
	kill(p->pid, SIGKILL);
	skiff_loop_unwatch(p->loop, p->pid_watch);
	p->pid_watch = NULL;
	if (!skiff_loop_watch_pid(p->loop, p->pid, reaped, NULL))
		waitpid(p->pid, NULL, WNOHANG);
	p->pid = 0;
}

/* Reads what the pipe holds now; keeps the first PROBE_OUTPUT_MAX bytes. */
static void exec_read(struct skiff_probe *p)
{
	char sink[4096];
	ssize_t n;

	while (p->out_fd >= 0) {
		if (p->out_len < PROBE_OUTPUT_MAX)
			n = read(p->out_fd, p->out + p->out_len, PROBE_OUTPUT_MAX - p->out_len);
		else
			n = read(p->out_fd, sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n > 0) {
			if (p->out_len < PROBE_OUTPUT_MAX)
				p->out_len += n;
			continue;
		}
		/* End of file (or an error): the watch would fire forever. */
		skiff_loop_unwatch(p->loop, p->out_watch);
		p->out_watch = NULL;
		close(p->out_fd);
		p->out_fd = -1;
	}
}

static void exec_output(void *arg)
{
	exec_read(arg);
}

static void exec_exited(int status, void *arg)
{
	struct skiff_probe *p = arg;
	bool ok;

	/* The loop unwatched it and reaped the child. */
	p->pid_watch = NULL;
	p->pid = 0;
	exec_read(p);
	exec_abort(p);
	p->out[p->out_len] = '\0';
	ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	attempt_done(p, ok, p->out);
}

static void exec_timeout(void *arg)
{
	struct skiff_probe *p = arg;
	char message[PROBE_OUTPUT_MAX];

	p->deadline = NULL;
	exec_abort(p);
	snprintf(message, sizeof(message), "command %s timed out", p->command);
	attempt_done(p, false, message);
}

static int exec_spawn(struct skiff_probe *p, int out)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	int err;

	sigemptyset(&none);
	sigemptyset(&dfl);
	/* The loop blocks and ignores these; the command must not inherit that. */
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	err = posix_spawn_file_actions_init(&actions);
	if (err)
		return -err;
	err = posix_spawnattr_init(&attr);
	if (err)
		goto err_actions;
	err = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
	if (!err)
		err = posix_spawn_file_actions_adddup2(&actions, out, 1);
	if (!err)
		err = posix_spawn_file_actions_adddup2(&actions, out, 2);
	if (!err)
		err = posix_spawnattr_setsigmask(&attr, &none);
	if (!err)
		err = posix_spawnattr_setsigdefault(&attr, &dfl);
	if (!err)
		err = posix_spawnattr_setpgroup(&attr, 0);
	if (!err)
		err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
					       POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	if (!err)
		err = posix_spawnp(&p->pid, p->argv[0], &actions, &attr, p->argv, environ);
	if (err)
		p->pid = 0;
	posix_spawnattr_destroy(&attr);
err_actions:
	posix_spawn_file_actions_destroy(&actions);
	return -err;
}

static int exec_begin(struct skiff_probe *p)
{
	int fds[2], err;

	p->out_len = 0;
	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	err = exec_spawn(p, fds[1]);
	close(fds[1]);
	if (err) {
		close(fds[0]);
		return err;
	}
	p->out_fd = fds[0];
	err = -ENOMEM;
	if (fcntl(p->out_fd, F_SETFL, O_NONBLOCK)) {
		err = -errno;
		goto err_abort;
	}
	p->pid_watch = skiff_loop_watch_pid(p->loop, p->pid, exec_exited, p);
	if (!p->pid_watch) {
		err = errno ? -errno : -ENOMEM;
		goto err_abort;
	}
	p->out_watch = skiff_loop_watch_fd(p->loop, p->out_fd, exec_output, p);
	p->deadline = skiff_loop_after(p->loop, p->timeout_ms, exec_timeout, p);
	if (!p->out_watch || !p->deadline)
		goto err_abort;
	return 0;

err_abort:
	exec_abort(p);
	return err;
}

/* ---- httpGet and tcpSocket ---- */

static size_t http_body(char *data, size_t size, size_t n, void *arg)
{
	struct skiff_probe *p = arg;

	(void)data;
	/* Like the kubelet, read a little of the body and no more. */
	p->body += size * n;
	if (p->body > PROBE_OUTPUT_MAX) {
		p->body_cut = true;
		return 0;
	}
	return size * n;
}

static void curl_abort(struct skiff_probe *p)
{
	if (!p->easy)
		return;
	skiff_loop_transfer_cancel(p->loop, p->easy);
	curl_easy_cleanup(p->easy);
	p->easy = NULL;
}

/* Go's words for a failed connect ("connect: connection refused"). */
static void dial_error(struct skiff_probe *p, CURL *easy, CURLcode result,
		       char *buf, size_t size)
{
	const char *what;
	long os_errno = 0;
	int n;

	curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
	if (result == CURLE_COULDNT_RESOLVE_HOST) {
		snprintf(buf, size, "dial tcp: lookup %s: no such host", p->host);
		return;
	}
	if (result == CURLE_OPERATION_TIMEDOUT) {
		snprintf(buf, size, "dial tcp %s: i/o timeout", p->hostport);
		return;
	}
	if (result == CURLE_COULDNT_CONNECT && os_errno) {
		n = snprintf(buf, size, "dial tcp %s: connect: ", p->hostport);
		if (n < 0 || (size_t)n >= size)
			return;
		what = strerror(os_errno);
		snprintf(buf + n, size - n, "%c%s", tolower((unsigned char)what[0]), what + 1);
		return;
	}
	what = p->errbuf[0] ? p->errbuf : curl_easy_strerror(result);
	snprintf(buf, size, "dial tcp %s: %s", p->hostport, what);
}

static bool http_result(struct skiff_probe *p, CURL *easy, CURLcode result,
			char *buf, size_t size)
{
	long status = 0;
	int n;

	if (result == CURLE_OK || (result == CURLE_WRITE_ERROR && p->body_cut)) {
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status < 400) {
			buf[0] = '\0';
			return true;
		}
		snprintf(buf, size, "HTTP probe failed with statuscode: %ld", status);
		return false;
	}
	n = snprintf(buf, size, "Get \"%s\": ", p->url);
	if (n < 0 || (size_t)n >= size)
		return false;
	if (result == CURLE_OPERATION_TIMEDOUT)
		snprintf(buf + n, size - n, GO_TIMEOUT);
	else
		dial_error(p, easy, result, buf + n, size - n);
	return false;
}

static void curl_done(CURL *easy, CURLcode result, void *arg)
{
	struct skiff_probe *p = arg;
	char message[1024];
	bool ok;

	p->easy = NULL;
	if (p->stopped) {
		/* Stopped while it ran: the timer that frees @p comes next. */
		curl_easy_cleanup(easy);
		return;
	}
	if (p->kind == PROBE_HTTP) {
		ok = http_result(p, easy, result, message, sizeof(message));
	} else {
		ok = result == CURLE_OK;
		if (ok)
			message[0] = '\0';
		else
			dial_error(p, easy, result, message, sizeof(message));
	}
	curl_easy_cleanup(easy);
	attempt_done(p, ok, message);
}

static int curl_begin(struct skiff_probe *p)
{
	CURL *easy = curl_easy_init();
	int err;

	if (!easy)
		return -ENOMEM;
	p->errbuf[0] = '\0';
	p->body = 0;
	p->body_cut = false;
	curl_easy_setopt(easy, CURLOPT_URL, p->url);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	/* The kubelet's prober uses no proxy and no kept-alive connections. */
	curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)p->timeout_ms);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, p->errbuf);
	if (p->kind == PROBE_TCP) {
		curl_easy_setopt(easy, CURLOPT_CONNECT_ONLY, 1L);
	} else {
		curl_easy_setopt(easy, CURLOPT_USERAGENT, PROBE_USER_AGENT);
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, p->headers);
		curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, http_body);
		curl_easy_setopt(easy, CURLOPT_WRITEDATA, p);
		/* As the kubelet: HTTPS probes do not verify the certificate. */
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	err = skiff_loop_transfer(p->loop, easy, curl_done, p);
	if (err) {
		curl_easy_cleanup(easy);
		return err;
	}
	p->easy = easy;
	return 0;
}

/* ---- the schedule ---- */

static void attempt_start(struct skiff_probe *p)
{
	char message[256];
	int err;

	p->busy = true;
	if (p->kind == PROBE_EXEC)
		err = exec_begin(p);
	else
		err = curl_begin(p);
	if (!err)
		return;
	if (p->kind == PROBE_EXEC)
		snprintf(message, sizeof(message), "exec %s: %s", p->argv[0], strerror(-err));
	else
		snprintf(message, sizeof(message), "probe: %s", strerror(-err));
	attempt_done(p, false, message);
}

/* Ticks keep their period whatever an attempt takes, as Go's ticker. */
static void tick(void *arg)
{
	struct skiff_probe *p = arg;
	int64_t now = skiff_now_ms();

	do
		p->due += p->period_ms;
	while (p->due <= now);
	p->tick = skiff_loop_after(p->loop, p->due - now, tick, p);
	if (p->busy) {
		p->tick_missed = true;
		return;
	}
	attempt_start(p);
}

int skiff_probe_start(struct skiff_probe **probep, struct skiff_loop *loop,
		      const json_t *spec, const json_t *ports,
		      struct in_addr pod_ip, const char *const *exec_argv,
		      skiff_probe_fn fn, void *arg, struct skiff_error *e)
{
	struct skiff_probe *p;
	long long delay_s;
	int err;

	skiff_error_clear(e);
	*probep = NULL;
	if (!json_is_object(spec))
		return skiff_error_set(e, -EINVAL, "a probe must be an object");
	p = calloc(1, sizeof(*p));
	if (!p)
		return skiff_error_set(e, -ENOMEM, "probe: out of memory");
	p->loop = loop;
	p->fn = fn;
	p->arg = arg;
	p->reported = -1;
	p->out_fd = -1;
	err = parse_timing(p, spec, &delay_s, e);
	if (!err)
		err = parse_handler(p, spec, ports, pod_ip, exec_argv, e);
	if (err)
		goto err_free;
	p->due = skiff_now_ms() + delay_s * 1000;
	p->tick = skiff_loop_after(loop, delay_s * 1000, tick, p);
	if (!p->tick) {
		err = -ENOMEM;
		goto err_free;
	}
	*probep = p;
	return 0;

err_free:
	probe_free(p);
	if (!e->err)
		skiff_error_set(e, err, "probe: %s", strerror(-err));
	return err;
}

static void free_later(void *arg)
{
	struct skiff_probe *p = arg;

	curl_abort(p);
	probe_free(p);
}

void skiff_probe_stop(struct skiff_probe *p)
{
	if (!p || p->stopped)
		return;
	p->stopped = true;
	skiff_timer_cancel(p->tick);
	p->tick = NULL;
	exec_abort(p);
	if (p->in_callback) {
		/* attempt_done() frees it when the callback returns. */
		curl_abort(p);
		return;
	}
	/*
	 * A stop from a libcurl callback (an informer's event handler) runs
	 * inside curl_multi_perform(), where libcurl refuses to let go of a
	 * transfer: the transfer is let go of, and @p freed, from a timer.
	 */
	if (p->easy) {
		p->free_later = skiff_loop_after(p->loop, 0, free_later, p);
		if (p->free_later)
			return;
		curl_abort(p);
	}
	probe_free(p);
}
