// SPDX-License-Identifier: GPL-2.0
/*
 * apibench: what skiff-apiserver does, seen from its clients.
 *
 *   apibench [OPTIONS] -d DIR -- SERVER [ARGS...]
 *   apibench -P
 *
 * Starts SERVER (skiff-apiserver and its arguments) with --listen on a
 * free loopback port, plus --data-dir DIR/NAME (a fresh directory for
 * each start) unless -N says the arguments name the store (etcd). Its
 * stderr goes to DIR/server-N.log. Then, in this order:
 *
 *   start  -k N: N starts into a fresh data directory, then N on the last
 *          one's (a restart; without a data directory only these): the
 *          time from fork() to the first answered GET /healthz, polled
 *          without pause from this process.
 *   write  creates of small pods (POST /api/v1/namespaces/default/pods)
 *          from -c CONNS keep-alive connections, -n WRITES of them (both
 *          lists, "16,64" and "3000,7000": one run per pair): writes/s
 *          and the latency of each, from handing it to libcurl to its 201.
 *   list   GET /api/v1/namespaces/default/pods at once and in limit=500
 *          pages, 3 times each (the median).
 *   watch  -W ?watch=1 streams on configmaps from the resourceVersion of a
 *          list, read by -T client threads, while one client patches -m
 *          configmaps in turn, -e times at -r per second: for every event
 *          and watcher, the time from just before the patch was sent, and
 *          from its acknowledgment, to the event's arrival.
 *   rss    the server's VmRSS after start, after the list, with the
 *          watchers.
 *
 * -p PHASES picks some (default "start,write,list,watch"); -x PID is
 * another process whose CPU time is reported beside the server's (etcd);
 * -D FILE writes when each watch event was sent, acknowledged, and seen by
 * the first and the last watcher.
 * -P prints a free loopback port and exits.
 *
 * Prints "KEY VALUE" lines on stdout (scripts/bench/apiserver.sh makes its
 * table of them), progress on stderr; "skip REASON" and exit status 3 when
 * the server does not start. One thread drives the connections of each
 * phase (libcurl's multi interface on epoll), but for the watchers', split
 * among -T threads; the client's CPU time is reported for each phase
 * beside the server's, since both share the machine's cores.
 *
 * Not a test: nothing here passes or fails on a figure.
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <curl/curl.h>
#include <jansson.h>

#include "buf.h"
#include "util.h"

#define PODS "/api/v1/namespaces/default/pods"
#define CONFIGMAPS "/api/v1/namespaces/default/configmaps"
#define POD_JSON \
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\"}," \
	"\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}"
#define REPEATS 3
#define PAGE 500
#define START_TIMEOUT_MS 20000.0
#define STALL_MS 30000.0

static struct {
	char **cmd;
	int ncmd;
	const char *dir;
	const char *dump;
	bool no_data_dir;
	pid_t extra;
	int logs;
} cfg;

struct server {
	pid_t pid;
	char base[64];
	char log[4096];
	CURL *easy;		/* for one request at a time, kept alive */
	struct skiff_buf body;
};

/* CPU times (ms) at a moment: this process, the server, the extra one. */
struct mark {
	double t;
	double self;
	double server;
	double extra;
};

/* The server running now, for stop() (atomic: read in a signal handler). */
static int running;

static void set_running(pid_t pid)
{
	__atomic_store_n(&running, (int)pid, __ATOMIC_SEQ_CST);
}

/* SIGINT, SIGTERM: no server outlives apibench. */
static void stop(int sig)
{
	int pid = __atomic_load_n(&running, __ATOMIC_SEQ_CST);

	if (pid > 0)
		kill(pid, SIGTERM);
	signal(sig, SIG_DFL);
	raise(sig);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void result(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* "PREFIX.NAME VALUE" */
static void resultp(const char *prefix, const char *name, const char *fmt,
		    ...)
{
	va_list ap;

	printf("%s.%s ", prefix, name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static size_t to_nowhere(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The nearest-rank percentile @p (0..1) of @v, sorted in place. */
static double percentile(double *v, size_t n, double p, bool sorted)
{
	double rank = p * (double)n;
	size_t i = (size_t)rank;

	if (!n)
		return 0;
	if (!sorted)
		qsort(v, n, sizeof(*v), cmp_double);
	if ((double)i == rank && i > 0)
		i--;
	return v[i < n ? i : n - 1];
}

static double cpu_self_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
	       ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
}

/* utime + stime of @pid from /proc/PID/stat, in ms; 0 if unknown. */
static double cpu_pid_ms(pid_t pid)
{
	unsigned long long ut, st;
	char path[64], line[2048], *p;
	FILE *f;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (!p)
		return 0;
	/* The name may hold spaces and parentheses: fields follow the last. */
	p = strrchr(line, ')');
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return 0;
	return (double)(ut + st) * 1e3 / (double)sysconf(_SC_CLK_TCK);
}

/* A "Field:   N kB" line of /proc/PID/status, in kB; -1 if unknown. */
static long proc_status_kb(pid_t pid, const char *field)
{
	size_t len = strlen(field);
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':') {
			kb = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

static void report_rss(const struct server *s, const char *key)
{
	resultp("rss", key, "%ld", proc_status_kb(s->pid, "VmRSS"));
	resultp("hwm", key, "%ld", proc_status_kb(s->pid, "VmHWM"));
}

static struct mark mark_take(const struct server *s)
{
	struct mark m = {
		.t = now_ms(),
		.self = cpu_self_ms(),
		.server = cpu_pid_ms(s->pid),
		.extra = cpu_pid_ms(cfg.extra),
	};

	return m;
}

/* CPU use between two marks, in % of one core (the machine has nproc). */
static void report_cpu(const char *prefix, const struct mark *a,
		       const struct mark *b)
{
	double wall = b->t - a->t;

	if (wall <= 0)
		return;
	resultp(prefix, "client_cpu_pct", "%.0f",
		(b->self - a->self) / wall * 100);
	resultp(prefix, "server_cpu_pct", "%.0f",
		(b->server - a->server) / wall * 100);
	if (cfg.extra > 0)
		resultp(prefix, "extra_cpu_pct", "%.0f",
			(b->extra - a->extra) / wall * 100);
}

static int free_port(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	int fd, port = -1;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (!bind(fd, (struct sockaddr *)&addr, sizeof(addr)) &&
	    !getsockname(fd, (struct sockaddr *)&addr, &len))
		port = ntohs(addr.sin_port);
	close(fd);
	return port;
}

static CURL *easy_new(const char *url)
{
	CURL *e = curl_easy_init();

	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, to_nowhere);
	return e;
}

/* The last line of the server's log, for a message. */
static void log_tail(const struct server *s, char *out, size_t len)
{
	char line[1024];
	FILE *f = fopen(s->log, "r");

	snprintf(out, len, "it said nothing");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (*line)
			snprintf(out, len, "%s", line);
	}
	fclose(f);
}

static void server_stop(struct server *s)
{
	double until = now_ms() + 10000;
	int status;

	if (s->pid > 0) {
		set_running(0);
		kill(s->pid, SIGTERM);
		while (waitpid(s->pid, &status, WNOHANG) == 0) {
			if (now_ms() > until) {
				fprintf(stderr, "apibench: server %d ignores SIGTERM, killing it\n",
					(int)s->pid);
				kill(s->pid, SIGKILL);
				waitpid(s->pid, &status, 0);
				break;
			}
			usleep(2000);
		}
	}
	s->pid = 0;
	if (s->easy)
		curl_easy_cleanup(s->easy);
	s->easy = NULL;
	free(s->body.data);
	memset(&s->body, 0, sizeof(s->body));
}

/*
 * Starts the server with its data in @data_dir (unless -N) and polls
 * /healthz until it answers 200. @ready_ms: from just before fork().
 * On failure, @err says why (the server's last words).
 */
static int server_start(struct server *s, const char *data_dir,
			double *ready_ms, char *err, size_t err_len)
{
	char listen[64], url[128];
	char **argv;
	double t0;
	long code = 0;
	int status, fd, port, n = 0, i;
	CURL *poll;

	memset(s, 0, sizeof(*s));
	port = free_port();
	if (port < 0) {
		snprintf(err, err_len, "no free port: %s", strerror(errno));
		return -1;
	}
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", port);
	snprintf(s->log, sizeof(s->log), "%s/server-%d.log", cfg.dir,
		 cfg.logs++);
	snprintf(url, sizeof(url), "%s/healthz", s->base);
	argv = calloc(cfg.ncmd + 5, sizeof(*argv));
	poll = easy_new(url);
	fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (!argv || !poll || fd < 0) {
		snprintf(err, err_len, "cannot prepare a start: %s",
			 fd < 0 ? strerror(errno) : "out of memory");
		goto fail;
	}
	for (i = 0; i < cfg.ncmd; i++)
		argv[n++] = cfg.cmd[i];
	argv[n++] = "--listen";
	argv[n++] = listen;
	if (!cfg.no_data_dir) {
		argv[n++] = "--data-dir";
		argv[n++] = (char *)data_dir;
	}
	curl_easy_setopt(poll, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(poll, CURLOPT_TIMEOUT_MS, 5000L);
	/* A new connection each time: the first answer is what counts. */
	curl_easy_setopt(poll, CURLOPT_FORBID_REUSE, 1L);

	t0 = now_ms();
	s->pid = fork();
	if (s->pid < 0) {
		snprintf(err, err_len, "fork: %s", strerror(errno));
		goto fail;
	}
	if (s->pid)
		set_running(s->pid);
	if (!s->pid) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execvp(argv[0], argv);
		fprintf(stderr, "apibench: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	for (;;) {
		if (curl_easy_perform(poll) == CURLE_OK &&
		    !curl_easy_getinfo(poll, CURLINFO_RESPONSE_CODE, &code) &&
		    code == 200)
			break;
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			set_running(0);
			s->pid = 0;
			log_tail(s, err, err_len);
			goto fail;
		}
		if (now_ms() - t0 > START_TIMEOUT_MS) {
			snprintf(err, err_len,
				 "no answer on %s within %.0f s (last status %ld)",
				 url, START_TIMEOUT_MS / 1e3, code);
			goto fail;
		}
	}
	*ready_ms = now_ms() - t0;
	curl_easy_cleanup(poll);
	close(fd);
	free(argv);
	s->easy = easy_new(s->base);
	if (!s->easy) {
		snprintf(err, err_len, "out of memory");
		server_stop(s);
		return -1;
	}
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, skiff_buf_curl_write);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, &s->body);
	return 0;
fail:
	if (poll)
		curl_easy_cleanup(poll);
	if (fd >= 0)
		close(fd);
	free(argv);
	server_stop(s);
	return -1;
}

/*
 * One request on the server's kept-alive connection: the answer's body is
 * in s->body. Returns the HTTP status, or -1.
 */
static long request(struct server *s, const char *method, const char *path,
		    const char *ctype, const char *body)
{
	struct curl_slist *headers = NULL;
	char url[4096], header[128];
	long code = -1;
	CURLcode ret;

	snprintf(url, sizeof(url), "%s%s", s->base, path);
	s->body.len = 0;
	curl_easy_setopt(s->easy, CURLOPT_URL, url);
	curl_easy_setopt(s->easy, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		snprintf(header, sizeof(header), "Content-Type: %s", ctype);
		headers = curl_slist_append(headers, header);
		curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE,
				 (long)strlen(body));
	} else {
		curl_easy_setopt(s->easy, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(s->easy, CURLOPT_CUSTOMREQUEST, NULL);
	}
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, headers);
	ret = curl_easy_perform(s->easy);
	if (ret == CURLE_OK)
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
	else
		fprintf(stderr, "apibench: %s %s: %s\n", method, path,
			curl_easy_strerror(ret));
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	return code;
}

/* ---- the event loop: libcurl's multi socket interface on epoll ---- */

struct loop {
	CURLM *multi;
	int epfd;
	double deadline;	/* libcurl's timer, < 0: none */
};

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *arg,
		     void *sockp)
{
	struct loop *l = arg;
	struct epoll_event ev = { .data.fd = fd };

	(void)easy;
	(void)sockp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) && errno == ENOENT)
		epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

static int on_timer(CURLM *multi, long ms, void *arg)
{
	struct loop *l = arg;

	(void)multi;
	l->deadline = ms < 0 ? -1 : now_ms() + ms;
	return 0;
}

static int loop_init(struct loop *l, long connections)
{
	l->deadline = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->multi = curl_multi_init();
	if (l->epfd < 0 || !l->multi)
		return -1;
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, connections);
	return 0;
}

static void loop_fini(struct loop *l)
{
	if (l->multi)
		curl_multi_cleanup(l->multi);
	/* Never 0 when made: stdin is open. */
	if (l->epfd > 0)
		close(l->epfd);
}

/*
 * Waits up to @wait_ms for a socket or libcurl's timer, lets libcurl act.
 * Returns how many sockets were ready.
 */
static int loop_step(struct loop *l, double wait_ms)
{
	struct epoll_event ev[256];
	double now = now_ms();
	int i, n, flags, running;

	if (l->deadline >= 0 && l->deadline - now < wait_ms)
		wait_ms = l->deadline - now;
	if (wait_ms < 0)
		wait_ms = 0;
	n = epoll_wait(l->epfd, ev, ARRAY_SIZE(ev), (int)(wait_ms + 0.999));
	for (i = 0; i < n; i++) {
		flags = 0;
		if (ev[i].events & (EPOLLIN | EPOLLHUP))
			flags |= CURL_CSELECT_IN;
		if (ev[i].events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (ev[i].events & EPOLLERR)
			flags |= CURL_CSELECT_ERR;
		curl_multi_socket_action(l->multi, ev[i].data.fd, flags,
					 &running);
	}
	if (l->deadline >= 0 && now_ms() >= l->deadline) {
		l->deadline = -1;
		curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0,
					 &running);
	}
	return n > 0 ? n : 0;
}

/* ---- start ---- */

static void report_starts(const char *key, double *ms, int n)
{
	char prefix[64];

	qsort(ms, n, sizeof(*ms), cmp_double);
	snprintf(prefix, sizeof(prefix), "start.%s", key);
	resultp(prefix, "best_ms", "%.1f", ms[0]);
	resultp(prefix, "median_ms", "%.1f", percentile(ms, n, 0.5, true));
	resultp(prefix, "worst_ms", "%.1f", ms[n - 1]);
	resultp(prefix, "runs", "%d", n);
}

static int phase_start(int starts)
{
	double *fresh = calloc(starts, sizeof(*fresh));
	double *again = calloc(starts, sizeof(*again));
	char dir[4096] = "", err[1024];
	struct server s;
	int i, ret = -1;

	if (!fresh || !again)
		goto out;
	for (i = 0; !cfg.no_data_dir && i < starts; i++) {
		snprintf(dir, sizeof(dir), "%s/start-%d", cfg.dir, i);
		if (server_start(&s, dir, &fresh[i], err, sizeof(err))) {
			fprintf(stderr, "apibench: start: %s\n", err);
			goto out;
		}
		server_stop(&s);
	}
	for (i = 0; i < starts; i++) {
		if (server_start(&s, dir, &again[i], err, sizeof(err))) {
			fprintf(stderr, "apibench: start: %s\n", err);
			goto out;
		}
		server_stop(&s);
	}
	if (!cfg.no_data_dir)
		report_starts("fresh", fresh, starts);
	report_starts("restart", again, starts);
	ret = 0;
out:
	free(fresh);
	free(again);
	return ret;
}

/* ---- write ---- */

struct xfer {
	CURL *easy;
	size_t index;
	double start;
	char body[512];
	struct skiff_buf answer;
};

static void write_submit(struct loop *l, struct xfer *x, size_t index,
			 const char *tag)
{
	char name[64];

	snprintf(name, sizeof(name), "bench-%s-%06zu", tag, index);
	snprintf(x->body, sizeof(x->body), POD_JSON, name);
	x->index = index;
	x->answer.len = 0;
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(x->body));
	x->start = now_ms();
	curl_multi_add_handle(l->multi, x->easy);
}

static int phase_write(struct server *s, int conns, size_t count)
{
	struct curl_slist *headers = NULL;
	struct xfer *xs = calloc(conns, sizeof(*xs));
	double *lat = calloc(count, sizeof(*lat));
	size_t next = 0, done = 0, errors = 0;
	double last = now_ms(), wall;
	char url[128], tag[32];
	struct loop l = { .epfd = -1 };
	struct mark a, b;
	struct xfer *x;
	CURLMsg *msg;
	int i, left, ret = -1;
	long code;

	snprintf(url, sizeof(url), "%s" PODS, s->base);
	snprintf(tag, sizeof(tag), "c%d", conns);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Expect:");
	if (!xs || !lat || !headers || loop_init(&l, conns + 8))
		goto out;
	for (i = 0; i < conns; i++) {
		xs[i].easy = easy_new(url);
		if (!xs[i].easy)
			goto out;
		curl_easy_setopt(xs[i].easy, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(xs[i].easy, CURLOPT_POST, 1L);
		curl_easy_setopt(xs[i].easy, CURLOPT_WRITEFUNCTION, skiff_buf_curl_write);
		curl_easy_setopt(xs[i].easy, CURLOPT_WRITEDATA, &xs[i].answer);
		curl_easy_setopt(xs[i].easy, CURLOPT_PRIVATE, &xs[i]);
	}
	fprintf(stderr, "apibench: %zu creates from %d connections\n", count,
		conns);
	a = mark_take(s);
	for (i = 0; i < conns && next < count; i++)
		write_submit(&l, &xs[i], next++, tag);
	while (done < count) {
		loop_step(&l, 1000);
		while ((msg = curl_multi_info_read(l.multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
					  (char **)&x);
			last = now_ms();
			lat[done++] = last - x->start;
			code = 0;
			curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE,
					  &code);
			if (msg->data.result != CURLE_OK || code != 201) {
				if (!errors++)
					fprintf(stderr,
						"apibench: create %zu: %s, HTTP %ld: %.200s\n",
						x->index,
						curl_easy_strerror(msg->data.result),
						code, x->answer.data ?: "");
			}
			curl_multi_remove_handle(l.multi, x->easy);
			if (next < count)
				write_submit(&l, x, next++, tag);
		}
		if (now_ms() - last > STALL_MS) {
			fprintf(stderr, "apibench: writes stalled, %zu of %zu done\n",
				done, count);
			goto out;
		}
	}
	b = mark_take(s);
	wall = b.t - a.t;
	snprintf(tag, sizeof(tag), "write.%d", conns);
	resultp(tag, "writes", "%zu", count);
	resultp(tag, "errors", "%zu", errors);
	resultp(tag, "seconds", "%.2f", wall / 1e3);
	resultp(tag, "rate", "%.0f", count / wall * 1e3);
	resultp(tag, "p50_ms", "%.1f", percentile(lat, count, 0.5, false));
	resultp(tag, "p99_ms", "%.1f", percentile(lat, count, 0.99, true));
	resultp(tag, "max_ms", "%.1f", lat[count - 1]);
	report_cpu(tag, &a, &b);
	ret = errors ? -1 : 0;
out:
	for (i = 0; xs && i < conns; i++) {
		if (!xs[i].easy)
			continue;
		curl_multi_remove_handle(l.multi, xs[i].easy);
		curl_easy_cleanup(xs[i].easy);
		free(xs[i].answer.data);
	}
	loop_fini(&l);
	curl_slist_free_all(headers);
	free(xs);
	free(lat);
	return ret;
}

/* ---- list ---- */

static int list_items(const struct skiff_buf *b, size_t *items, char **cont)
{
	json_error_t jerr;
	json_t *root = json_loadb(b->data, b->len, 0, &jerr);
	json_t *list;
	const char *c;

	if (!root) {
		fprintf(stderr, "apibench: list: %s\n", jerr.text);
		return -1;
	}
	list = json_object_get(root, "items");
	*items = json_array_size(list);
	if (cont) {
		c = json_string_value(json_object_get(json_object_get(root,
								      "metadata"),
						      "continue"));
		*cont = c && *c ? strdup(c) : NULL;
	}
	json_decref(root);
	return 0;
}

static int phase_list(struct server *s)
{
	double full[REPEATS], paged[REPEATS], parse[REPEATS], t, tp;
	size_t items = 0, page_items, paged_items = 0, bytes = 0;
	char path[4096], *cont, *esc;
	int i, pages = 0;
	long code;

	fprintf(stderr, "apibench: lists\n");
	for (i = 0; i < REPEATS; i++) {
		t = now_ms();
		code = request(s, "GET", PODS, NULL, NULL);
		full[i] = now_ms() - t;
		if (code != 200) {
			fprintf(stderr, "apibench: list: HTTP %ld\n", code);
			return -1;
		}
		bytes = s->body.len;
	}
	if (list_items(&s->body, &items, NULL))
		return -1;
	for (i = 0; i < REPEATS; i++) {
		parse[i] = 0;
		pages = 0;
		paged_items = 0;
		cont = NULL;
		t = now_ms();
		do {
			esc = cont ? curl_easy_escape(s->easy, cont, 0) : NULL;
			snprintf(path, sizeof(path), PODS "?limit=%d%s%s", PAGE,
				 esc ? "&continue=" : "", esc ?: "");
			curl_free(esc);
			free(cont);
			cont = NULL;
			code = request(s, "GET", path, NULL, NULL);
			if (code != 200) {
				fprintf(stderr, "apibench: list page: HTTP %ld\n",
					code);
				return -1;
			}
			tp = now_ms();
			if (list_items(&s->body, &page_items, &cont))
				return -1;
			parse[i] += now_ms() - tp;
			paged_items += page_items;
			pages++;
		} while (cont);
		paged[i] = now_ms() - t;
	}
	result("list.items", "%zu", items);
	result("list.bytes", "%zu", bytes);
	result("list.full_ms", "%.1f", percentile(full, REPEATS, 0.5, false));
	result("list.full_best_ms", "%.1f", full[0]);
	result("list.paged_items", "%zu", paged_items);
	result("list.pages", "%d", pages);
	result("list.paged_ms", "%.1f",
	       percentile(paged, REPEATS, 0.5, false));
	result("list.paged_parse_ms", "%.1f",
	       percentile(parse, REPEATS, 0.5, false));
	return 0;
}

/* ---- watch ---- */

struct watch_run;
struct shard;

struct watcher {
	struct watch_run *run;
	struct shard *shard;
	CURL *easy;
	int id;
	long status;
	struct skiff_buf in;		/* received, not yet parsed */
	double *line_t;		/* arrival of each complete line in @in */
	size_t lines;
	size_t lines_cap;
	struct watcher *next_dirty;
	bool dirty;
	bool ended;
	int warm;		/* warm-up events seen */
	int got;		/* measured events seen */
};

/* The watchers one client thread reads, on its own event loop. */
struct shard {
	struct watch_run *run;
	struct loop l;
	struct watcher *dirty;
	int first;
	int count;
	pthread_t thread;
	bool started;
};

/*
 * The counters are updated by the shards' threads and read by the
 * writer's: atomics. The rest of the shared state is written by one side
 * and read by the other only after the threads are joined.
 */
struct watch_run {
	struct watcher *ws;
	int n;
	int events;
	double *recv;		/* [watcher * events + seq], 0: not yet */
	double *sent;
	double *acked;
	char mark[32];
	int headers;
	int ended;
	int warm_all;		/* watchers that saw a warm-up event */
	int complete;		/* watchers that saw every event */
	size_t bad;
	size_t dup;
	bool stop;
};

static void count(int *counter)
{
	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

static int counted(int *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static size_t on_watch_header(char *p, size_t size, size_t n, void *arg)
{
	struct watcher *w = arg;
	size_t len = size * n;

	if (len > 9 && !strncmp(p, "HTTP/", 5) && !w->status) {
		w->status = strtol(memchr(p, ' ', len) ?: p, NULL, 10);
		count(&w->run->headers);
	}
	return len;
}

/*
 * Only notes when each line arrived: parsing waits until the loop has
 * read every socket that was ready, so that one watcher's parsing does
 * not delay the next one's arrival time.
 */
static size_t on_watch_data(char *p, size_t size, size_t n, void *arg)
{
	struct watcher *w = arg;
	size_t len = size * n;
	double t = now_ms(), *grown;
	const char *nl = p, *end = p + len;

	if (skiff_buf_add(&w->in, p, len))
		return 0;
	while ((nl = memchr(nl, '\n', end - nl))) {
		if (w->lines == w->lines_cap) {
			w->lines_cap = w->lines_cap ? 2 * w->lines_cap : 16;
			grown = realloc(w->line_t,
					w->lines_cap * sizeof(*grown));
			if (!grown)
				return 0;
			w->line_t = grown;
		}
		w->line_t[w->lines++] = t;
		nl++;
	}
	if (!w->dirty) {
		w->dirty = true;
		w->next_dirty = w->shard->dirty;
		w->shard->dirty = w;
	}
	return len;
}

static void watch_line(struct watch_run *r, struct watcher *w,
		       const char *line, size_t len, double t)
{
	json_t *ev = json_loadb(line, len, 0, NULL);
	json_t *data = json_object_get(json_object_get(ev, "object"), "data");
	const char *type = json_string_value(json_object_get(ev, "type"));
	const char *seq = json_string_value(json_object_get(data, "seq"));
	char *end;
	long i;

	if (!type || !seq || strcmp(type, "MODIFIED")) {
		__atomic_add_fetch(&r->bad, 1, __ATOMIC_RELAXED);
		goto out;
	}
	i = strtol(seq, &end, 10);
	if (end == seq || *end) {
		__atomic_add_fetch(&r->bad, 1, __ATOMIC_RELAXED);
	} else if (i < 0) {
		if (!w->warm++)
			count(&r->warm_all);
	} else if (i < r->events) {
		if (r->recv[(size_t)w->id * r->events + i]) {
			__atomic_add_fetch(&r->dup, 1, __ATOMIC_RELAXED);
		} else {
			r->recv[(size_t)w->id * r->events + i] = t;
			if (++w->got == r->events)
				count(&r->complete);
		}
	}
out:
	json_decref(ev);
}

static void watch_parse(struct shard *sh)
{
	struct watcher *w;
	size_t off, k, len;
	char *nl;

	while ((w = sh->dirty)) {
		sh->dirty = w->next_dirty;
		w->dirty = false;
		off = 0;
		k = 0;
		while ((nl = memchr(w->in.data + off, '\n', w->in.len - off))) {
			len = nl - (w->in.data + off);
			/* Empty lines are the server's keep-alives. */
			if (len)
				watch_line(sh->run, w, w->in.data + off, len,
					   w->line_t[k]);
			k++;
			off += len + 1;
		}
		memmove(w->in.data, w->in.data + off, w->in.len - off);
		w->in.len -= off;
		w->lines = 0;
	}
}

/* A watch that ended: it should not, before the run is over. */
static void shard_done(struct shard *sh)
{
	struct watcher *w;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(sh->l.multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
				  (char **)&w);
		if (w->ended)
			continue;
		w->ended = true;
		if (counted(&sh->run->ended) < 3)
			fprintf(stderr, "apibench: watch %d ended: %s, HTTP %ld\n",
				w->id, curl_easy_strerror(msg->data.result),
				w->status);
		count(&sh->run->ended);
	}
}

/*
 * A client thread: reads every socket that is ready, and parses the
 * lines only when none is, so that parsing never delays the reading of
 * another socket.
 */
static void *shard_main(void *arg)
{
	struct shard *sh = arg;
	int i;

	for (i = sh->first; i < sh->first + sh->count; i++)
		curl_multi_add_handle(sh->l.multi, sh->run->ws[i].easy);
	while (!__atomic_load_n(&sh->run->stop, __ATOMIC_ACQUIRE)) {
		if (!loop_step(&sh->l, sh->dirty ? 0 : 50))
			watch_parse(sh);
		shard_done(sh);
	}
	watch_parse(sh);
	return NULL;
}

struct writer {
	struct loop l;
	CURL *easy;
	struct curl_slist *headers;
	char body[256];
	int seq;
	bool busy;
};

static void writer_send(struct watch_run *r, struct writer *wr, int seq,
			int configmaps, const char *base)
{
	char url[256];
	int cm = seq < 0 ? -seq % configmaps : seq % configmaps;

	snprintf(url, sizeof(url), "%s" CONFIGMAPS "/bench-cm-%d", base, cm);
	/* The run's mark: no patch repeats what an earlier run wrote. */
	snprintf(wr->body, sizeof(wr->body),
		 "{\"data\":{\"seq\":\"%d\",\"run\":\"%s\"}}", seq, r->mark);
	curl_easy_setopt(wr->easy, CURLOPT_URL, url);
	curl_easy_setopt(wr->easy, CURLOPT_POSTFIELDS, wr->body);
	curl_easy_setopt(wr->easy, CURLOPT_POSTFIELDSIZE,
			 (long)strlen(wr->body));
	wr->seq = seq;
	wr->busy = true;
	if (seq >= 0)
		r->sent[seq] = now_ms();
	curl_multi_add_handle(wr->l.multi, wr->easy);
}

/* Lets the writer's transfer go on for up to @wait_ms. */
static void writer_step(struct watch_run *r, struct writer *wr,
			double wait_ms)
{
	CURLMsg *msg;
	long code = 0;
	int left;

	loop_step(&wr->l, wait_ms);
	while ((msg = curl_multi_info_read(wr->l.multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		if (wr->seq >= 0)
			r->acked[wr->seq] = now_ms();
		curl_easy_getinfo(wr->easy, CURLINFO_RESPONSE_CODE, &code);
		if (msg->data.result != CURLE_OK || code != 200)
			fprintf(stderr, "apibench: patch %d: %s, HTTP %ld\n",
				wr->seq, curl_easy_strerror(msg->data.result),
				code);
		curl_multi_remove_handle(wr->l.multi, wr->easy);
		wr->busy = false;
	}
}

/* Prints the figures; returns the number of deliveries. */
static size_t watch_results(struct watch_run *r)
{
	size_t total = (size_t)r->n * r->events, n = 0;
	double *from_send = calloc(total, sizeof(double));
	double *from_ack = calloc(total, sizeof(double));
	double *spread = calloc(r->events, sizeof(double));
	double *write = calloc(r->events, sizeof(double));
	double lo, hi, t;
	int s, w;

	FILE *dump = NULL;

	if (!from_send || !from_ack || !spread || !write)
		goto out;
	if (cfg.dump) {
		dump = fopen(cfg.dump, "w");
		if (dump)
			fprintf(dump,
				"# seq sent ack first last received (ms)\n");
	}
	for (s = 0; s < r->events; s++) {
		size_t got = 0;

		lo = 0;
		hi = 0;
		for (w = 0; w < r->n; w++) {
			t = r->recv[(size_t)w * r->events + s];
			if (!t)
				continue;
			from_send[n] = t - r->sent[s];
			from_ack[n] = t - r->acked[s];
			n++;
			got++;
			if (!lo || t < lo)
				lo = t;
			if (t > hi)
				hi = t;
		}
		spread[s] = hi - lo;
		write[s] = r->acked[s] - r->sent[s];
		if (dump)
			fprintf(dump, "%d %.1f %.1f %.1f %.1f %zu\n", s,
				r->sent[s] - r->sent[0], r->acked[s] - r->sent[0],
				lo ? lo - r->sent[0] : -1, hi ? hi - r->sent[0] : -1,
				got);
	}
	if (dump)
		fclose(dump);
	result("watch.deliveries", "%zu", n);
	result("watch.missing", "%zu", total - n);
	result("watch.duplicates", "%zu", r->dup);
	result("watch.other_lines", "%zu", r->bad);
	result("watch.send_p50_ms", "%.1f",
	       percentile(from_send, n, 0.5, false));
	result("watch.send_p99_ms", "%.1f",
	       percentile(from_send, n, 0.99, true));
	result("watch.send_max_ms", "%.1f", n ? from_send[n - 1] : 0);
	result("watch.ack_p50_ms", "%.1f",
	       percentile(from_ack, n, 0.5, false));
	result("watch.ack_p99_ms", "%.1f",
	       percentile(from_ack, n, 0.99, true));
	result("watch.ack_max_ms", "%.1f", n ? from_ack[n - 1] : 0);
	result("watch.write_p50_ms", "%.1f",
	       percentile(write, r->events, 0.5, false));
	result("watch.write_p99_ms", "%.1f",
	       percentile(write, r->events, 0.99, true));
	result("watch.spread_p50_ms", "%.1f",
	       percentile(spread, r->events, 0.5, false));
	result("watch.spread_max_ms", "%.1f",
	       percentile(spread, r->events, 1, true));
out:
	free(from_send);
	free(from_ack);
	free(spread);
	free(write);
	return n;
}

/* The configmaps to patch, and the resourceVersion to watch from. */
static int watch_prepare(struct server *s, int configmaps, char *rv,
			 size_t rv_len)
{
	char body[256];
	json_t *root;
	long code;
	int i;

	for (i = 0; i < configmaps; i++) {
		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"bench-cm-%d\"},\"data\":{\"seq\":\"none\"}}",
			 i);
		code = request(s, "POST", CONFIGMAPS, "application/json", body);
		if (code != 201 && code != 409) {
			fprintf(stderr, "apibench: configmap: HTTP %ld: %.200s\n",
				code, s->body.data ?: "");
			return -1;
		}
	}
	code = request(s, "GET", CONFIGMAPS, NULL, NULL);
	root = code == 200 ? json_loadb(s->body.data, s->body.len, 0, NULL) :
			     NULL;
	snprintf(rv, rv_len, "%s",
		 json_string_value(json_object_get(json_object_get(root,
								   "metadata"),
						   "resourceVersion")) ?: "");
	json_decref(root);
	if (!*rv) {
		fprintf(stderr, "apibench: no resourceVersion from the list\n");
		return -1;
	}
	return 0;
}

static int phase_watch(struct server *s, int watchers, int threads,
		       int events, double rate, int configmaps)
{
	struct watch_run r = { .n = watchers, .events = events };
	struct shard *shards = calloc(threads, sizeof(*shards));
	struct writer wr = { .l.epfd = -1 };
	double t0, next, until, last_ack = 0;
	char path[512], rv[64];
	struct mark a, b;
	int i, seq, ret = -1;
	size_t n;

	fprintf(stderr, "apibench: %d watchers (%d client threads), %d events at %.0f/s\n",
		watchers, threads, events, rate);
	snprintf(r.mark, sizeof(r.mark), "%d-%.0f", (int)getpid(), now_ms());
	if (!shards || watch_prepare(s, configmaps, rv, sizeof(rv)))
		goto out;
	r.ws = calloc(watchers, sizeof(*r.ws));
	r.recv = calloc((size_t)watchers * events, sizeof(double));
	r.sent = calloc(events, sizeof(double));
	r.acked = calloc(events, sizeof(double));
	wr.headers = curl_slist_append(wr.headers,
				       "Content-Type: application/merge-patch+json");
	wr.headers = curl_slist_append(wr.headers, "Expect:");
	wr.easy = easy_new(s->base);
	if (!r.ws || !r.recv || !r.sent || !r.acked || !wr.headers ||
	    !wr.easy || loop_init(&wr.l, 4))
		goto out;
	curl_easy_setopt(wr.easy, CURLOPT_CUSTOMREQUEST, "PATCH");
	curl_easy_setopt(wr.easy, CURLOPT_HTTPHEADER, wr.headers);

	snprintf(path, sizeof(path),
		 "%s" CONFIGMAPS "?watch=1&resourceVersion=%s", s->base, rv);
	for (i = 0; i < threads; i++) {
		shards[i].run = &r;
		shards[i].l.epfd = -1;
		shards[i].first = (int)((long)watchers * i / threads);
		shards[i].count = (int)((long)watchers * (i + 1) / threads) -
				  shards[i].first;
		if (loop_init(&shards[i].l, shards[i].count + 8))
			goto out;
	}
	for (i = 0; i < watchers; i++) {
		struct watcher *w = &r.ws[i];

		w->run = &r;
		w->shard = &shards[(int)((long)i * threads / watchers)];
		while (i >= w->shard->first + w->shard->count)
			w->shard++;
		w->id = i;
		w->easy = easy_new(path);
		if (!w->easy)
			goto out;
		curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, on_watch_data);
		curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w);
		curl_easy_setopt(w->easy, CURLOPT_HEADERFUNCTION,
				 on_watch_header);
		curl_easy_setopt(w->easy, CURLOPT_HEADERDATA, w);
		curl_easy_setopt(w->easy, CURLOPT_PRIVATE, w);
	}

	/* Every stream open (its headers came), then one event seen by all. */
	t0 = now_ms();
	for (i = 0; i < threads; i++) {
		if (pthread_create(&shards[i].thread, NULL, shard_main,
				   &shards[i]))
			goto out;
		shards[i].started = true;
	}
	until = t0 + 60000;
	while (counted(&r.headers) + counted(&r.ended) < watchers &&
	       now_ms() < until)
		usleep(10000);
	result("watch.open_ms", "%.0f", now_ms() - t0);
	if (counted(&r.headers) < watchers || counted(&r.ended)) {
		fprintf(stderr, "apibench: %d of %d watches open, %d ended\n",
			counted(&r.headers), watchers, counted(&r.ended));
		goto out;
	}
	until = now_ms() + 20000;
	seq = -1;
	while (counted(&r.warm_all) < watchers && now_ms() < until) {
		if (!wr.busy)
			writer_send(&r, &wr, seq--, configmaps, s->base);
		writer_step(&r, &wr, 200);
	}
	while (wr.busy)
		writer_step(&r, &wr, 100);
	if (counted(&r.warm_all) < watchers) {
		fprintf(stderr, "apibench: only %d of %d watchers saw the warm-up writes\n",
			counted(&r.warm_all), watchers);
		goto out;
	}

	a = mark_take(s);
	t0 = a.t;
	seq = 0;
	until = 0;
	for (;;) {
		next = t0 + seq * 1e3 / rate;
		if (!wr.busy && seq < events && now_ms() >= next) {
			writer_send(&r, &wr, seq++, configmaps, s->base);
			next = t0 + seq * 1e3 / rate;
		}
		writer_step(&r, &wr,
			    seq < events && !wr.busy ? next - now_ms() : 20);
		if (seq < events || wr.busy)
			continue;
		if (!last_ack) {
			last_ack = now_ms();
			until = last_ack + 5000;
		}
		if (counted(&r.complete) == watchers || now_ms() > until ||
		    counted(&r.ended))
			break;
	}
	b = mark_take(s);
	report_rss(s, "watch_kb");
	__atomic_store_n(&r.stop, true, __ATOMIC_RELEASE);
	for (i = 0; i < threads; i++)
		if (shards[i].started)
			pthread_join(shards[i].thread, NULL);
	result("watch.watchers", "%d", watchers);
	result("watch.client_threads", "%d", threads);
	result("watch.events", "%d", events);
	result("watch.rate", "%.0f", rate);
	result("watch.ended", "%d", r.ended);
	n = watch_results(&r);
	report_cpu("watch", &a, &b);
	/* The client's share of a fan-out: its CPU time per delivery. */
	if (n)
		result("watch.client_us_per_delivery", "%.1f",
		       (b.self - a.self) * 1e3 / n);
	ret = 0;
out:
	__atomic_store_n(&r.stop, true, __ATOMIC_RELEASE);
	for (i = 0; shards && i < threads; i++)
		if (shards[i].started)
			pthread_join(shards[i].thread, NULL);
	for (i = 0; r.ws && i < watchers; i++) {
		if (!r.ws[i].easy)
			continue;
		curl_multi_remove_handle(r.ws[i].shard->l.multi,
					 r.ws[i].easy);
		curl_easy_cleanup(r.ws[i].easy);
		free(r.ws[i].in.data);
		free(r.ws[i].line_t);
	}
	for (i = 0; shards && i < threads; i++)
		loop_fini(&shards[i].l);
	if (wr.easy) {
		curl_multi_remove_handle(wr.l.multi, wr.easy);
		curl_easy_cleanup(wr.easy);
	}
	loop_fini(&wr.l);
	curl_slist_free_all(wr.headers);
	free(shards);
	free(r.ws);
	free(r.recv);
	free(r.sent);
	free(r.acked);
	return ret;
}

/* ---- main ---- */

static int parse_list(const char *text, long *out, int max)
{
	char *end;
	int n = 0;

	while (*text && n < max) {
		out[n++] = strtol(text, &end, 10);
		if (end == text || out[n - 1] < 1)
			return -1;
		text = *end == ',' ? end + 1 : end;
	}
	return *text ? -1 : n;
}

static void usage(void)
{
	fprintf(stderr,
		"Usage: apibench [-p PHASES] [-k STARTS] [-c CONNS,...] [-n WRITES,...]\n"
		"                [-W WATCHERS] [-T THREADS] [-e EVENTS] [-r RATE] [-m CONFIGMAPS]\n"
		"                [-x PID] [-N] [-D WATCH_DUMP] -d DIR -- SERVER [ARGS...]\n"
		"       apibench -P\n");
}

int main(int argc, char **argv)
{
	const char *phases = "start,write,list,watch";
	long conns[8] = { 16, 64 }, writes[8] = { 3000, 7000 };
	int nconns = 2, nwrites = 2, starts = 7, watchers = 1000, events = 200;
	int threads = 2;
	int configmaps = 10, opt, i, ret = 0;
	double rate = 20, ready;
	char dir[4096], err[1024];
	struct server s = { 0 };
	struct rlimit rl;

	while ((opt = getopt(argc, argv, "p:k:c:n:W:T:e:r:m:x:Nd:D:P")) != -1) {
		switch (opt) {
		case 'p':
			phases = optarg;
			break;
		case 'k':
			starts = atoi(optarg);
			break;
		case 'c':
			nconns = parse_list(optarg, conns, ARRAY_SIZE(conns));
			break;
		case 'n':
			nwrites = parse_list(optarg, writes, ARRAY_SIZE(writes));
			break;
		case 'W':
			watchers = atoi(optarg);
			break;
		case 'T':
			threads = atoi(optarg);
			break;
		case 'e':
			events = atoi(optarg);
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 'm':
			configmaps = atoi(optarg);
			break;
		case 'x':
			cfg.extra = atoi(optarg);
			break;
		case 'N':
			cfg.no_data_dir = true;
			break;
		case 'd':
			cfg.dir = optarg;
			break;
		case 'D':
			cfg.dump = optarg;
			break;
		case 'P':
			i = free_port();
			if (i < 0)
				return 1;
			printf("%d\n", i);
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (!cfg.dir || optind >= argc || nconns < 1 || nconns != nwrites ||
	    starts < 0 || watchers < 0 || threads < 1 || threads > watchers ||
	    events < 1 || rate <= 0 ||
	    configmaps < 1) {
		usage();
		return 2;
	}
	cfg.cmd = argv + optind;
	cfg.ncmd = argc - optind;
	if (mkdir(cfg.dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "apibench: %s: %s\n", cfg.dir, strerror(errno));
		return 1;
	}
	/* A thousand watches: as many descriptors, here and in the server. */
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, stop);
	signal(SIGTERM, stop);
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return 1;

	if (strstr(phases, "start") && starts > 0) {
		fprintf(stderr, "apibench: %d starts\n", starts);
		if (phase_start(starts)) {
			result("skip", "the server does not start (see %s)",
			       cfg.dir);
			ret = 3;
			goto out;
		}
	}
	if (!strstr(phases, "write") && !strstr(phases, "list") &&
	    !strstr(phases, "watch"))
		goto out;
	snprintf(dir, sizeof(dir), "%s/server", cfg.dir);
	if (server_start(&s, dir, &ready, err, sizeof(err))) {
		fprintf(stderr, "apibench: %s\n", err);
		result("skip", "%s", err);
		ret = 3;
		goto out;
	}
	/* Idle: what start-up allocated, once its threads settled. */
	usleep(1000 * 1000);
	report_rss(&s, "idle_kb");
	for (i = 0; strstr(phases, "write") && i < nconns; i++)
		if (phase_write(&s, conns[i], writes[i]))
			ret = 1;
	if (strstr(phases, "list")) {
		if (phase_list(&s))
			ret = 1;
		report_rss(&s, "list_kb");
	}
	if (strstr(phases, "watch") && watchers > 0 &&
	    phase_watch(&s, watchers, threads, events, rate, configmaps))
		ret = 1;
	server_stop(&s);
out:
	curl_global_cleanup();
	return ret;
}
