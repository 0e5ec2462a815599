/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the node agent's module tests share: a network namespace of their
 * own (the data plane is programmed there, never on the host), a real
 * skiff-apiserver on its loopback with a store under /tmp, requests to
 * it, and running the event loop until a condition holds or a deadline
 * passes.
 *
 *	netns_private();
 *	api_start(&api, "--history", "20", NULL);
 *	c = skiff_client_new(loop, api.url);
 *	...
 *	tap_ok(loop_until(loop, cond, arg, 10000), "what it waited for");
 *	api_stop(&api);
 */

#ifndef SKIFF_TESTS_NODE_APISERVER_H
#define SKIFF_TESTS_NODE_APISERVER_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>

#include "client.h"
#include "free_port.h"
#include "loop.h"
#include "tap.h"

#define API_START_MS 20000
#define API_MAX_ARGS 16

/**
 * struct api - a skiff-apiserver this test runs
 * @pid: its process, 0 when stopped
 * @port: its loopback port (kept over restarts)
 * @dir: temporary directory: store/ and apiserver.log
 * @url: http://127.0.0.1:PORT
 * @args: extra arguments, NULL-terminated
 */
struct api {
	pid_t pid;
	int port;
	char dir[64];
	char url[64];
	const char *args[API_MAX_ARGS];
};

static inline void die(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* This process in a new network namespace, its loopback up. */
static inline void netns_private(void)
{
	struct ifreq ifr = { 0 };
	int fd;

	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET)");
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		die("SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr))
		die("SIOCSIFFLAGS lo");
	close(fd);
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* build/bin/skiff-apiserver, next to this test's build/tests/. */
static inline void api_binary(char *out, size_t len)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n < 0)
		die("readlink /proc/self/exe");
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(out, len, "%s/../bin/skiff-apiserver", self);
}

static inline void api_exec(const struct api *a)
{
	char bin[4200], listen[64], store[96], log[96];
	const char *argv[API_MAX_ARGS + 8];
	sigset_t none;
	int fd, i, n = 0;

	/* Dies with this test; the loop's blocked signals are not its. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	api_binary(bin, sizeof(bin));
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", a->port);
	snprintf(store, sizeof(store), "%s/store", a->dir);
	snprintf(log, sizeof(log), "%s/apiserver.log", a->dir);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		_exit(127);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	argv[n++] = bin;
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--data-dir";
	argv[n++] = store;
	for (i = 0; a->args[i]; i++)
		argv[n++] = a->args[i];
	argv[n] = NULL;
	execv(bin, (char *const *)argv);
	_exit(127);
}

/* How many times the log says "serving on": one per start. */
static inline int api_started(const struct api *a)
{
	char path[96], line[512];
	int count = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/apiserver.log", a->dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		count += !!strstr(line, "serving on");
	fclose(f);
	return count;
}

/* Its log, as TAP comments (the directory goes at exit). */
static inline void api_log(const struct api *a)
{
	char path[96], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/apiserver.log", a->dir);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		printf("# %s", line);
	if (f)
		fclose(f);
}

/* Starts it (again) and waits for its ready line. */
static inline void api_run(struct api *a)
{
	int before = api_started(a), waited, status;

	fflush(stdout);
	a->pid = fork();
	if (a->pid < 0)
		die("fork");
	if (!a->pid)
		api_exec(a);
	for (waited = 0; waited < API_START_MS; waited += 20) {
		if (api_started(a) > before)
			return;
		if (waitpid(a->pid, &status, WNOHANG) == a->pid) {
			a->pid = 0;
			break;
		}
		sleep_ms(20);
	}
	api_log(a);
	printf("Bail out! skiff-apiserver did not start\n");
	exit(1);
}

/* SIGTERM, and waits until it is gone. */
static inline void api_kill(struct api *a)
{
	if (!a->pid)
		return;
	kill(a->pid, SIGTERM);
	waitpid(a->pid, NULL, 0);
	a->pid = 0;
}

static inline int rm_entry(const char *path, const struct stat *st, int flag,
			   struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static struct api *api_running;

/* Stops it and removes its directory. */
static inline void api_stop(struct api *a)
{
	/* main()'s struct api is gone by the time exit handlers run. */
	if (api_running == a)
		api_running = NULL;
	api_kill(a);
	if (a->dir[0])
		nftw(a->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	a->dir[0] = '\0';
}

/* A test that bails out leaves nothing behind either. */
static inline void api_at_exit(void)
{
	if (api_running)
		api_stop(api_running);
}

/* @... the extra arguments, NULL-terminated. */
static inline void api_start(struct api *a, ...)
{
	const char *arg;
	va_list ap;
	int n = 0;

	memset(a, 0, sizeof(*a));
	va_start(ap, a);
	while ((arg = va_arg(ap, const char *)) && n < API_MAX_ARGS - 1)
		a->args[n++] = arg;
	va_end(ap);
	snprintf(a->dir, sizeof(a->dir), "/tmp/skiff-node-test.XXXXXX");
	if (!mkdtemp(a->dir))
		die("mkdtemp");
	a->port = free_port();
	snprintf(a->url, sizeof(a->url), "http://127.0.0.1:%d", a->port);
	api_running = a;
	atexit(api_at_exit);
	api_run(a);
}

/* JSON written with ' for " (the tests' JSON has no apostrophe): parsed. */
static inline json_t *json_q(const char *text)
{
	char *copy = strdup(text), *p;
	json_error_t jerr;
	json_t *obj;

	if (!copy)
		die("strdup");
	for (p = copy; *p; p++)
		if (*p == '\'')
			*p = '"';
	obj = json_loads(copy, 0, &jerr);
	if (!obj) {
		printf("Bail out! bad JSON in the test: %s: %s\n", jerr.text,
		       copy);
		exit(1);
	}
	free(copy);
	return obj;
}

/*
 * A request with a body from a JSON text (printf format, ' for "), or
 * none if @fmt is NULL: the HTTP code.
 */
static inline long api_call(struct skiff_client *c, const char *method,
			    const char *path, const char *type,
			    const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static inline long api_call(struct skiff_client *c, const char *method,
			    const char *path, const char *type,
			    const char *fmt, ...)
{
	json_t *body = NULL, *answer = NULL;
	char *text = NULL;
	va_list ap;
	long code;

	if (fmt) {
		va_start(ap, fmt);
		if (vasprintf(&text, fmt, ap) < 0)
			die("vasprintf");
		va_end(ap);
		body = json_q(text);
	}
	code = skiff_client_call(c, method, path, type, body, &answer);
	if (code < 200 || code > 299)
		tap_diag("%s %s: HTTP %ld: %s", method, path, code,
			 answer ? skiff_str(answer, "message") ?: "" : "");
	free(text);
	json_decref(body);
	json_decref(answer);
	return code;
}

/* The object at @path (caller's reference), or NULL. */
static inline json_t *api_get(struct skiff_client *c, const char *path)
{
	json_t *answer = NULL;

	if (skiff_client_call(c, "GET", path, NULL, NULL, &answer) != 200) {
		json_decref(answer);
		return NULL;
	}
	return answer;
}

static inline int text_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The strings of @list (a JSON array), sorted, one a line: malloc'd. */
static inline char *lines_sorted(const json_t *list)
{
	size_t n = json_array_size(list), i, len = 1;
	const char **items = calloc(n + 1, sizeof(*items));
	char *out;

	if (!items)
		die("calloc");
	for (i = 0; i < n; i++) {
		items[i] = json_string_value(json_array_get(list, i)) ?: "";
		len += strlen(items[i]) + 1;
	}
	qsort(items, n, sizeof(*items), text_cmp);
	out = calloc(1, len);
	if (!out)
		die("calloc");
	for (i = 0; i < n; i++) {
		strcat(out, items[i]);
		if (i + 1 < n)
			strcat(out, "\n");
	}
	free(items);
	return out;
}

/* The lines given (NULL-terminated), sorted as lines_sorted() does. */
static inline char *lines(const char *first, ...)
{
	json_t *list = json_array();
	const char *line;
	va_list ap;
	char *out;

	va_start(ap, first);
	for (line = first; line; line = va_arg(ap, const char *))
		json_array_append_new(list, json_string(line));
	va_end(ap);
	out = lines_sorted(list);
	json_decref(list);
	return out;
}

struct until {
	struct skiff_loop *loop;
	bool (*cond)(void *arg);
	void *arg;
	int64_t deadline;
	bool met;
};

static inline void until_check(void *arg)
{
	struct until *u = arg;

	if (u->cond(u->arg)) {
		u->met = true;
		skiff_loop_stop(u->loop);
	} else if (skiff_now_ms() >= u->deadline) {
		skiff_loop_stop(u->loop);
	} else {
		skiff_loop_after(u->loop, 20, until_check, u);
	}
}

/* Runs @loop until @cond holds (true) or @ms pass (false). */
static inline bool loop_until(struct skiff_loop *loop, bool (*cond)(void *),
			      void *arg, int ms)
{
	struct until u = {
		.loop = loop,
		.cond = cond,
		.arg = arg,
		.deadline = skiff_now_ms() + ms,
	};

	skiff_loop_after(loop, 0, until_check, &u);
	skiff_loop_run(loop);
	return u.met;
}

#endif /* SKIFF_TESTS_NODE_APISERVER_H */
