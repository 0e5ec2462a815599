// SPDX-License-Identifier: GPL-2.0
/*
 * Container probes against real things, in a private network namespace:
 * an HTTP server (libmicrohttpd) on 127.0.0.1 whose answer each path
 * chooses (200, 500, too slow, or what the test says now), a TCP listener,
 * a port that refuses, a listener whose accept queue is full (a connect
 * that never completes), and commands run through `env` as a runtime's
 * exec would run them. The probes all run at once on one loop, so the
 * whole test takes a few seconds; then every bad spec is refused.
 */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <microhttpd.h>

#include "probe.h"
#include "tap.h"

#define MAX_EVENTS 4
#define DEADLINE_MS 15000
/* Long enough for the probes stopped early to show they stay stopped. */
#define MIN_RUN_MS 4500

enum path { P_OK, P_OK2, P_FAIL, P_SLOW, P_SLOW2, P_FLIP, P_NAMED, N_PATHS };

static const char *const paths[N_PATHS] = {
	"/ok", "/ok2", "/fail", "/slow", "/slow2", "/flip", "/named",
};

static int hits[N_PATHS];
static int flip_status = 200;
static char named_agent[128];

static const char *const exec_argv[] = { "env", NULL };
static struct in_addr localhost;
static struct skiff_loop *loop;
static char dir[64];
static int64_t t0;

static int count(enum path p)
{
	return __atomic_load_n(&hits[p], __ATOMIC_SEQ_CST);
}

/* /named?x=1 with X-Probe: yes, as the probe's path and httpHeaders say. */
static bool named_request_ok(struct MHD_Connection *c)
{
	const char *x = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "x");
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Probe");
	const char *ua = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent");

	if (ua && !named_agent[0])
		snprintf(named_agent, sizeof(named_agent), "%s", ua);
	return x && !strcmp(x, "1") && h && !strcmp(h, "yes");
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *c,
			     const char *url, const char *method,
			     const char *version, const char *upload,
			     size_t *upload_size, void **state)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	unsigned int status = 404;
	int i;

	(void)cls;
	(void)method;
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)state;
	for (i = 0; i < N_PATHS; i++)
		if (!strcmp(url, paths[i]))
			break;
	if (i < N_PATHS)
		__atomic_add_fetch(&hits[i], 1, __ATOMIC_SEQ_CST);
	switch (i) {
	case P_OK:
	case P_OK2:
		status = 200;
		break;
	case P_FAIL:
		status = 500;
		break;
	case P_SLOW:
	case P_SLOW2:
		/* Its own thread (one per connection): longer than timeoutSeconds. */
		usleep(1500 * 1000);
		status = 200;
		break;
	case P_FLIP:
		status = __atomic_load_n(&flip_status, __ATOMIC_SEQ_CST);
		break;
	case P_NAMED:
		status = named_request_ok(c) ? 200 : 400;
		break;
	}
	r = MHD_create_response_from_buffer(3, "ok\n", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static int lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr))
		err = -errno;
	close(fd);
	return err;
}

/* A TCP socket on 127.0.0.1 with a port of its own; listening if @backlog >= 0. */
static int tcp_socket(int backlog, int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = localhost };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) ||
	    (backlog >= 0 && listen(fd, backlog))) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

static int connect_to(int port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr = localhost,
		.sin_port = htons(port),
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void accept_one(void *arg)
{
	int fd = accept4(*(int *)arg, NULL, NULL, SOCK_CLOEXEC);

	if (fd >= 0)
		close(fd);
}

static int lines_in(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, c;

	if (!f)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static pid_t pid_in(const char *path)
{
	FILE *f = fopen(path, "r");
	int pid = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid;
}

/* Gone, or a zombie waiting for whoever reaps orphans. */
static bool process_dead(pid_t pid)
{
	char path[64], state = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
		state = 0;
	fclose(f);
	return state == 'Z' || state == 'X';
}

/* ---- one probe and what it reported ---- */

struct scen {
	const char *name;
	struct skiff_probe *probe;
	int64_t start;
	int want;		/* reports before it is done */
	int n;
	bool ok[MAX_EVENTS];
	char msg[MAX_EVENTS][512];
	int64_t at[MAX_EVENTS];	/* ms after start */
	int seen[MAX_EVENTS];	/* attempts the other side had seen then */
	int path;		/* whose hits count the attempts, or -1 */
	const char *lines;	/* or: a file with a line per attempt */
	void (*hook)(struct scen *s);
	int seen_at_stop;
	char pid_file[128];	/* a command's process, for the stop tests */
	pid_t pid;
};

static void record(bool ok, const char *message, void *arg)
{
	struct scen *s = arg;
	int i = s->n;

	if (i < MAX_EVENTS) {
		s->ok[i] = ok;
		snprintf(s->msg[i], sizeof(s->msg[i]), "%s", message);
		s->at[i] = skiff_now_ms() - s->start;
		s->seen[i] = s->path >= 0 ? count(s->path) :
			     s->lines ? lines_in(s->lines) : 0;
	}
	s->n++;
	if (s->hook)
		s->hook(s);
}

static int start(struct scen *s, json_t *json, const json_t *ports)
{
	struct skiff_error e;
	int err;

	s->start = skiff_now_ms();
	if (!json)
		return -EINVAL;
	err = skiff_probe_start(&s->probe, loop, json, ports, localhost,
				exec_argv, record, s, &e);
	if (err)
		tap_diag("%s: %s", s->name, e.msg);
	json_decref(json);
	return err;
}

/* The report after which it stops itself, from inside the callback. */
static void stop_self(struct scen *s)
{
	skiff_probe_stop(s->probe);
	s->probe = NULL;
	s->seen_at_stop = s->path >= 0 ? count(s->path) : 0;
}

static void flip(struct scen *s)
{
	if (s->n == 1)
		__atomic_store_n(&flip_status, 500, __ATOMIC_SEQ_CST);
	else if (s->n == 2)
		__atomic_store_n(&flip_status, 200, __ATOMIC_SEQ_CST);
	else
		stop_self(s);
}

/* Stops a probe while its attempt runs (once the command told its pid). */
static void stop_midway(void *arg)
{
	struct scen *s = arg;

	if (s->pid_file[0]) {
		s->pid = pid_in(s->pid_file);
		if (!s->pid && skiff_now_ms() - s->start < 3000) {
			skiff_loop_after(loop, 100, stop_midway, s);
			return;
		}
	}
	s->seen_at_stop = s->path >= 0 ? count(s->path) : 0;
	skiff_probe_stop(s->probe);
	s->probe = NULL;
}

static struct scen scens[] = {
	{ .name = "exec success", .want = 1, .path = -1 },
	{ .name = "exec false", .want = 1, .path = -1 },
	{ .name = "exec output", .want = 1, .path = -1 },
	{ .name = "exec timeout", .want = 1, .path = -1, .hook = stop_self },
	{ .name = "exec threshold", .want = 1, .path = -1 },
	{ .name = "exec stopped midway", .path = -1 },
	{ .name = "http 200", .want = 1, .path = P_OK },
	{ .name = "http 500", .want = 1, .path = P_FAIL },
	{ .name = "http successThreshold", .want = 1, .path = P_OK2 },
	{ .name = "http slow", .want = 1, .path = P_SLOW },
	{ .name = "http flip", .want = 3, .path = P_FLIP, .hook = flip },
	{ .name = "http named port", .want = 1, .path = P_NAMED },
	{ .name = "http stopped midway", .path = P_SLOW2 },
	{ .name = "tcp open", .want = 1, .path = -1 },
	{ .name = "tcp refused", .want = 1, .path = -1 },
	{ .name = "tcp timeout", .want = 1, .path = -1 },
};

enum {
	S_EXEC_OK, S_EXEC_FALSE, S_EXEC_OUTPUT, S_EXEC_TIMEOUT, S_EXEC_THRESHOLD,
	S_EXEC_MIDWAY, S_HTTP_OK, S_HTTP_500, S_HTTP_SUCCESS2, S_HTTP_SLOW, S_HTTP_FLIP,
	S_HTTP_NAMED, S_HTTP_MIDWAY, S_TCP_OK, S_TCP_REFUSED, S_TCP_TIMEOUT, N_SCENS
};

static void check_done(void *arg)
{
	int64_t ran = skiff_now_ms() - t0;
	bool done = ran >= MIN_RUN_MS;
	int i;

	(void)arg;
	for (i = 0; i < N_SCENS; i++)
		done &= scens[i].n >= scens[i].want;
	if (done || ran > DEADLINE_MS)
		skiff_loop_stop(loop);
	else
		skiff_loop_after(loop, 50, check_done, NULL);
}

/* No child of ours is left, running or unreaped. */
static void check_children(void *arg)
{
	siginfo_t info;

	if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) && errno == ECHILD) {
		*(bool *)arg = true;
		skiff_loop_stop(loop);
		return;
	}
	if (skiff_now_ms() - t0 > DEADLINE_MS + 5000)
		skiff_loop_stop(loop);
	else
		skiff_loop_after(loop, 50, check_children, arg);
}

static char attempts_file[128];

#define EXEC_FORMAT "{s:{s:[sss]}, s:i, s:i, s:i}"
#define HTTP_FORMAT "{s:{s:i, s:s}, s:i, s:i, s:i, s:i}"
#define NAMED_FORMAT "{s:{s:s, s:s, s:[{s:s, s:s}]}, s:i, s:i}"

/* sh -c @script; 0 for the defaults' timeout and failureThreshold. */
static json_t *exec_spec(const char *script, int timeout, int failures)
{
	return json_pack(EXEC_FORMAT, "exec", "command", "sh", "-c", script,
			 "periodSeconds", 1, "timeoutSeconds", timeout,
			 "failureThreshold", failures);
}

static json_t *http_spec(int port, const char *path, int timeout, int successes,
			 int failures)
{
	return json_pack(HTTP_FORMAT, "httpGet", "port", port, "path", path,
			 "periodSeconds", 1, "timeoutSeconds", timeout,
			 "successThreshold", successes, "failureThreshold", failures);
}

static void start_all(int http_port, int tcp_port, int closed_port, int full_port)
{
	json_t *ports = json_pack("[{s:s, s:i}, {s:s, s:i}]", "name", "metrics",
				  "containerPort", 9, "name", "http", "containerPort", http_port);
	char script[256], port[16];
	struct scen *s;

	start(&scens[S_EXEC_OK], exec_spec("echo fine; exit 0", 0, 0), NULL);
	start(&scens[S_EXEC_FALSE], json_pack("{s:{s:[s]}, s:i, s:i}", "exec", "command",
					      "false", "periodSeconds", 1, "failureThreshold", 1),
	      NULL);
	start(&scens[S_EXEC_OUTPUT], exec_spec("echo boom >&2; exit 3", 0, 1), NULL);
	start(&scens[S_EXEC_TIMEOUT], json_pack("{s:{s:[ss]}, s:i, s:i, s:i}", "exec", "command",
						"sleep", "5", "periodSeconds", 1,
						"timeoutSeconds", 1, "failureThreshold", 1), NULL);
	s = &scens[S_EXEC_THRESHOLD];
	snprintf(attempts_file, sizeof(attempts_file), "%s/attempts", dir);
	s->lines = attempts_file;
	snprintf(script, sizeof(script), "echo x >> %s; exit 1", attempts_file);
	start(s, exec_spec(script, 0, 3), NULL);
	s = &scens[S_EXEC_MIDWAY];
	snprintf(s->pid_file, sizeof(s->pid_file), "%s/sleeper", dir);
	snprintf(script, sizeof(script), "sleep 5 & echo $! > %s; wait", s->pid_file);
	start(s, exec_spec(script, 10, 0), NULL);
	skiff_loop_after(loop, 500, stop_midway, s);

	/* The defaults: periodSeconds 10, thresholds 1 and 3, timeout 1. */
	start(&scens[S_HTTP_OK], json_pack("{s:{s:i, s:s}}", "httpGet", "port", http_port,
					   "path", "/ok"), NULL);
	start(&scens[S_HTTP_500], http_spec(http_port, "/fail", 0, 0, 0), NULL);
	start(&scens[S_HTTP_SUCCESS2], http_spec(http_port, "/ok2", 0, 2, 0), NULL);
	start(&scens[S_HTTP_SLOW], json_pack("{s:{s:i, s:s, s:s, s:s}, s:i, s:i}", "httpGet",
					     "port", http_port, "path", "/slow",
					     "host", "127.0.0.1", "scheme", "HTTP",
					     "periodSeconds", 1, "failureThreshold", 1), NULL);
	start(&scens[S_HTTP_FLIP], http_spec(http_port, "/flip", 0, 1, 2), NULL);
	start(&scens[S_HTTP_NAMED], json_pack(NAMED_FORMAT, "httpGet", "port", "http",
					      "path", "named?x=1", "httpHeaders", "name",
					      "X-Probe", "value", "yes", "periodSeconds", 1,
					      "initialDelaySeconds", 1), ports);
	s = &scens[S_HTTP_MIDWAY];
	start(s, http_spec(http_port, "/slow2", 5, 0, 0), NULL);
	skiff_loop_after(loop, 500, stop_midway, s);

	/* A port number in a string is a number, as for the kubelet. */
	snprintf(port, sizeof(port), "%d", tcp_port);
	start(&scens[S_TCP_OK], json_pack("{s:{s:s}, s:i}", "tcpSocket", "port", port,
					  "periodSeconds", 1), NULL);
	start(&scens[S_TCP_REFUSED], json_pack("{s:{s:i}, s:i, s:i}", "tcpSocket",
					       "port", closed_port, "periodSeconds", 1,
					       "failureThreshold", 1), NULL);
	start(&scens[S_TCP_TIMEOUT], json_pack("{s:{s:i, s:s}, s:i, s:i}", "tcpSocket",
					       "port", full_port, "host", "127.0.0.1",
					       "periodSeconds", 1, "failureThreshold", 1), NULL);
	json_decref(ports);
}

/* ---- what they reported ---- */

static void expect_one(int i, bool ok, const char *message)
{
	struct scen *s = &scens[i];

	tap_is_int(s->n, 1, "%s: one report", s->name);
	tap_ok(s->n && s->ok[0] == ok, "%s: reports %s", s->name, ok ? "success" : "failure");
	tap_is_str(s->n ? s->msg[0] : NULL, message, "%s: message", s->name);
}

static void expect_at(int i, int64_t from, int64_t to)
{
	struct scen *s = &scens[i];

	tap_ok(s->n && s->at[0] >= from && s->at[0] <= to,
	       "%s: reported after %lld ms (%lld..%lld)", s->name,
	       (long long)s->at[0], (long long)from, (long long)to);
}

static void check_exec(void)
{
	struct scen *s;

	expect_one(S_EXEC_OK, true, "fine\n");
	expect_one(S_EXEC_FALSE, false, "");
	expect_one(S_EXEC_OUTPUT, false, "boom\n");
	expect_one(S_EXEC_TIMEOUT, false, "command \"sleep 5\" timed out");
	expect_at(S_EXEC_TIMEOUT, 900, 2500);

	s = &scens[S_EXEC_THRESHOLD];
	expect_one(S_EXEC_THRESHOLD, false, "");
	tap_is_int(s->seen[0], 3, "failureThreshold 3: reported at the third failure");
	expect_at(S_EXEC_THRESHOLD, 1900, 3500);
	tap_ok(lines_in(attempts_file) > 3, "failing on: no second report (%d attempts)",
	       lines_in(attempts_file));

	s = &scens[S_EXEC_MIDWAY];
	tap_is_int(s->n, 0, "exec stopped midway: never reported");
	tap_ok(s->pid > 0, "exec stopped midway: the command had started (pid %d)", s->pid);
}

static void check_http(int http_port)
{
	char message[256];
	struct scen *s;

	expect_one(S_HTTP_OK, true, "");
	expect_one(S_HTTP_500, false, "HTTP probe failed with statuscode: 500");
	tap_is_int(scens[S_HTTP_500].seen[0], 3,
		   "failureThreshold 3 (default): no result before the third failure");
	expect_at(S_HTTP_500, 1900, 3500);
	expect_one(S_HTTP_SUCCESS2, true, "");
	tap_is_int(scens[S_HTTP_SUCCESS2].seen[0], 2,
		   "successThreshold 2: no result before the second success");
	expect_at(S_HTTP_SUCCESS2, 900, 2500);

	snprintf(message, sizeof(message), "Get \"http://127.0.0.1:%d/slow\": %s", http_port,
		 "context deadline exceeded (Client.Timeout exceeded while awaiting headers)");
	expect_one(S_HTTP_SLOW, false, message);
	expect_at(S_HTTP_SLOW, 900, 2500);

	s = &scens[S_HTTP_FLIP];
	tap_is_int(s->n, 3, "http flip: three reports");
	tap_ok(s->n == 3 && s->ok[0] && !s->ok[1] && s->ok[2],
	       "http flip: success, failure, success");
	tap_is_str(s->msg[1], "HTTP probe failed with statuscode: 500", "http flip: why it failed");
	tap_diag("http flip: reports after %lld, %lld, %lld ms at requests %d, %d, %d",
		 (long long)s->at[0], (long long)s->at[1], (long long)s->at[2], s->seen[0],
		 s->seen[1], s->seen[2]);
	tap_is_int(s->seen[1] - s->seen[0], 2, "http flip: failureThreshold 2 from a success");
	tap_is_int(s->seen[2] - s->seen[1], 1, "http flip: one success turns it back");
	tap_is_int(count(P_FLIP), s->seen_at_stop, "stopped in its callback: no attempt after");

	expect_one(S_HTTP_NAMED, true, "");
	expect_at(S_HTTP_NAMED, 950, 2500);
	tap_is_int(scens[S_HTTP_NAMED].seen[0], 1,
		   "named port, path, query and header right the first time");
	tap_is_str(named_agent, "kube-probe/1.32", "User-Agent as the kubelet's");

	s = &scens[S_HTTP_MIDWAY];
	tap_is_int(s->n, 0, "http stopped midway: never reported");
	tap_ok(s->seen_at_stop == 1 && count(P_SLOW2) == 1,
	       "http stopped midway: one request, none after (%d, %d)", s->seen_at_stop,
	       count(P_SLOW2));
}

static void check_tcp(int closed_port, int full_port)
{
	char message[256];

	expect_one(S_TCP_OK, true, "");
	snprintf(message, sizeof(message), "dial tcp 127.0.0.1:%d: connect: connection refused",
		 closed_port);
	expect_one(S_TCP_REFUSED, false, message);
	snprintf(message, sizeof(message), "dial tcp 127.0.0.1:%d: i/o timeout", full_port);
	expect_one(S_TCP_TIMEOUT, false, message);
	expect_at(S_TCP_TIMEOUT, 900, 2500);
}

/* ---- bad specs ---- */

static struct scen never = { .name = "never", .path = -1 };

static void refused(const char *what, json_t *json, const json_t *ports,
		    struct in_addr ip, const char *const *argv, const char *want)
{
	struct skiff_probe *p = (struct skiff_probe *)&never;
	struct skiff_error e = { 0 };
	int err;

	err = skiff_probe_start(&p, loop, json, ports, ip, argv, record, &never, &e);
	tap_ok(err == -EINVAL && e.err == -EINVAL && !p && strstr(e.msg, want),
	       "%s: rejected (%s)", what, e.msg);
	if (!err)
		skiff_probe_stop(p);
	json_decref(json);
}

/* {"tcpSocket": {"port": 80}, @field: @value} */
static json_t *tcp_with(const char *field, json_t *value)
{
	return json_pack("{s:{s:i}, s:o}", "tcpSocket", "port", 80, field, value);
}

static json_t *http_header(const char *name, const char *value)
{
	return json_pack("{s:{s:i, s:[{s:s, s:s}]}}", "httpGet", "port", 80, "httpHeaders",
			 "name", name, "value", value);
}

static void check_refused(void)
{
	json_t *ports = json_pack("[{s:s, s:i}]", "name", "http", "containerPort", 8080);
	struct in_addr none = { 0 };
	siginfo_t info;

	refused("no handler", json_pack("{s:i}", "periodSeconds", 1), NULL, localhost,
		exec_argv, "Required value: must specify a handler type");
	refused("two handlers", json_pack("{s:{s:[s]}, s:{s:i}}", "exec", "command", "true",
					  "httpGet", "port", 80), NULL, localhost, exec_argv,
		"httpGet: Forbidden: may not specify more than 1 handler type");
	refused("port 0", json_pack("{s:{s:i}}", "httpGet", "port", 0), NULL, localhost,
		exec_argv, "httpGet.port: Invalid value: 0: must be between 1 and 65535");
	refused("port 65536", json_pack("{s:{s:i}}", "tcpSocket", "port", 65536), NULL,
		localhost, exec_argv,
		"tcpSocket.port: Invalid value: 65536: must be between 1 and 65535");
	refused("port \"99999\"", json_pack("{s:{s:s}}", "tcpSocket", "port", "99999"), NULL,
		localhost, exec_argv,
		"tcpSocket.port: Invalid value: 99999: must be between 1 and 65535");
	refused("missing port", json_pack("{s:{s:s}}", "httpGet", "path", "/"), NULL, localhost,
		exec_argv, "httpGet.port: Required value");
	refused("unknown named port", json_pack("{s:{s:s}}", "httpGet", "port", "web"), ports,
		localhost, exec_argv,
		"httpGet.port: Invalid value: \"web\": no container port of that name");
	refused("named port, no ports", json_pack("{s:{s:s}}", "tcpSocket", "port", "http"),
		NULL, localhost, exec_argv,
		"tcpSocket.port: Invalid value: \"http\": no container port of that name");
	refused("negative delay", tcp_with("initialDelaySeconds", json_integer(-1)), NULL,
		localhost, exec_argv,
		"initialDelaySeconds: Invalid value: -1: must be greater than or equal to 0");
	refused("negative period", tcp_with("periodSeconds", json_integer(-10)), NULL,
		localhost, exec_argv,
		"periodSeconds: Invalid value: -10: must be greater than or equal to 0");
	refused("negative timeout", tcp_with("timeoutSeconds", json_integer(-1)), NULL,
		localhost, exec_argv,
		"timeoutSeconds: Invalid value: -1: must be greater than or equal to 0");
	refused("negative failureThreshold", tcp_with("failureThreshold", json_integer(-3)),
		NULL, localhost, exec_argv,
		"failureThreshold: Invalid value: -3: must be greater than or equal to 0");
	refused("timeout as text", tcp_with("timeoutSeconds", json_string("1")), NULL,
		localhost, exec_argv, "timeoutSeconds: Invalid value: must be an integer");
	refused("grpc", json_pack("{s:{s:i}}", "grpc", "port", 9090), NULL, localhost,
		exec_argv, "grpc probes are not supported");
	refused("lower-case scheme", json_pack("{s:{s:i, s:s}}", "httpGet", "port", 80,
					       "scheme", "http"), NULL, localhost, exec_argv,
		"httpGet.scheme: Unsupported value: \"http\": supported values: \"HTTP\"");
	refused("header name", http_header("Bad Name", "x"), NULL, localhost, exec_argv,
		"httpGet.httpHeaders[0].name: Invalid value");
	refused("header value", http_header("X-A", "x\r\nX-B: 1"), NULL, localhost, exec_argv,
		"httpGet.httpHeaders[0].value: Invalid value: has a line break");
	refused("empty command", json_pack("{s:{s:[]}}", "exec", "command"), NULL, localhost,
		exec_argv, "exec.command: Required value");
	refused("command of numbers", json_pack("{s:{s:[s, i]}}", "exec", "command", "sh", 1),
		NULL, localhost, exec_argv, "exec.command[1]: Invalid value: must be a string");
	refused("exec without the runtime's exec",
		json_pack("{s:{s:[s]}}", "exec", "command", "true"), NULL, localhost, NULL,
		"exec: no command line runs a command in the container");
	refused("no host, no pod IP", json_pack("{s:{s:i}}", "tcpSocket", "port", 80), NULL,
		none, exec_argv, "tcpSocket.host: none given and the pod has no IP");
	refused("host that is a URL", json_pack("{s:{s:i, s:s}}", "httpGet", "port", 80,
						"host", "a/b@c"), NULL, localhost, exec_argv,
		"httpGet.host: Invalid value: \"a/b@c\"");
	refused("not an object", json_pack("[i]", 1), NULL, localhost, exec_argv,
		"a probe must be an object");
	json_decref(ports);

	tap_ok(waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) && errno == ECHILD,
	       "refused specs started nothing");
}

#define N_TESTS 88

int main(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int tcp_port, closed_port, full_port, tcp_fd, closed_fd, full_fd, filler_fd;
	const union MHD_DaemonInfo *info;
	struct skiff_watch *acceptor;
	struct MHD_Daemon *httpd;
	bool no_children = false;
	int i, http_port;

	tap_plan(N_TESTS);
	if (unshare(CLONE_NEWNET) || lo_up()) {
		tap_diag("a network namespace of our own: %s", strerror(errno));
		return 1;
	}
	inet_pton(AF_INET, "127.0.0.1", &localhost);
	sin.sin_addr = localhost;
	snprintf(dir, sizeof(dir), "/tmp/skiff-probe-XXXXXX");
	if (!mkdtemp(dir)) {
		tap_diag("mkdtemp: %s", strerror(errno));
		return 1;
	}
	loop = skiff_loop_new();
	httpd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
				 0, NULL, NULL, serve, NULL,
				 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin, MHD_OPTION_END);
	info = httpd ? MHD_get_daemon_info(httpd, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	tcp_fd = tcp_socket(16, &tcp_port);
	closed_fd = tcp_socket(-1, &closed_port);
	/* Backlog 0 holds one connection; the kernel drops the SYNs after it. */
	full_fd = tcp_socket(0, &full_port);
	filler_fd = full_fd >= 0 ? connect_to(full_port) : -1;
	if (!loop || !info || tcp_fd < 0 || closed_fd < 0 || filler_fd < 0) {
		tap_diag("test setup failed: %s", strerror(errno));
		return 1;
	}
	http_port = info->port;
	acceptor = skiff_loop_watch_fd(loop, tcp_fd, accept_one, &tcp_fd);

	check_refused();

	t0 = skiff_now_ms();
	start_all(http_port, tcp_port, closed_port, full_port);
	skiff_loop_after(loop, 50, check_done, NULL);
	skiff_loop_run(loop);
	tap_diag("probes ran for %lld ms", (long long)(skiff_now_ms() - t0));

	check_exec();
	check_http(http_port);
	check_tcp(closed_port, full_port);

	for (i = 0; i < N_SCENS; i++)
		skiff_probe_stop(scens[i].probe);
	skiff_loop_after(loop, 0, check_children, &no_children);
	skiff_loop_run(loop);
	tap_ok(no_children, "every command was killed and reaped");
	for (i = 0; i < 100 && !process_dead(scens[S_EXEC_MIDWAY].pid); i++)
		usleep(30 * 1000);
	tap_ok(process_dead(scens[S_EXEC_MIDWAY].pid),
	       "stopped midway: the command's own child was killed too");

	skiff_loop_unwatch(loop, acceptor);
	skiff_loop_free(loop);
	MHD_stop_daemon(httpd);
	close(tcp_fd);
	close(closed_fd);
	close(filler_fd);
	close(full_fd);
	unlink(attempts_file);
	unlink(scens[S_EXEC_MIDWAY].pid_file);
	rmdir(dir);
	return tap_done();
}
