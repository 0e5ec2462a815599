// SPDX-License-Identifier: GPL-2.0
/*
 * One thread: curl_multi_poll() waits for transfers, the nearest timer and
 * the stop signals (a signalfd), then transfers progress, ended transfers
 * call back, due timers fire and idle work runs.
 *
 * File descriptors the daemon watches (skiff_loop_watch_fd, and pidfds
 * for processes) sit in one epoll set, itself one more descriptor for
 * curl_multi_poll(), so any number of them costs one slot there.
 *
 * Timers are a binary heap ordered by deadline. A cancelled timer stays in
 * the heap with no function and is freed when it comes to the top.
 */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "loop.h"

struct skiff_timer {
	int64_t due;
	uint64_t seq;		/* equal deadlines fire in order of setting */
	skiff_loop_fn fn;
	void *arg;
};

struct idle_fn {
	bool (*fn)(void *arg);
	void *arg;
};

struct transfer {
	skiff_transfer_fn done;
	void *arg;
	CURL *easy;
	struct transfer *next_pending;
};

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct skiff_watch {
	int fd;
	skiff_loop_fn fn;
	void *arg;
	/* A process: @fd is its pidfd, owned here. */
	skiff_exit_fn exit_fn;
	struct skiff_watch *next_dead;
};

struct skiff_loop {
	CURLM *multi;
	int signal_fd;
	int epoll_fd;
	/* Unwatched during a round: freed after it, as events may name them. */
	struct skiff_watch *dead;
	bool stop;
	struct skiff_timer **heap;
	size_t n_timers, cap_timers;
	uint64_t seq;
	struct idle_fn *idle;
	size_t n_idle;
	/*
	 * libcurl refuses new transfers from its own callbacks (a watch's
	 * data handler that sends a write): they wait here for
	 * curl_multi_perform() to return.
	 */
	bool in_perform;
	struct transfer *pending;
};

int64_t skiff_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct skiff_loop *skiff_loop_new(void)
{
	struct skiff_loop *loop = calloc(1, sizeof(*loop));
	sigset_t mask;

	if (!loop)
		return NULL;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	loop->multi = curl_multi_init();
	if (!loop->multi)
		goto err_free;
	/* Idle connections kept for reuse; requests beyond wait their turn. */
	curl_multi_setopt(loop->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 64L);
	curl_multi_setopt(loop->multi, CURLMOPT_MAXCONNECTS, 96L);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		goto err_multi;
	loop->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (loop->signal_fd < 0)
		goto err_multi;
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epoll_fd < 0)
		goto err_signal;
	signal(SIGPIPE, SIG_IGN);
	return loop;

err_signal:
	close(loop->signal_fd);
err_multi:
	curl_multi_cleanup(loop->multi);
err_free:
	free(loop);
	return NULL;
}

static void free_dead(struct skiff_loop *loop)
{
	struct skiff_watch *w;

	while ((w = loop->dead)) {
		loop->dead = w->next_dead;
		free(w);
	}
}

void skiff_loop_free(struct skiff_loop *loop)
{
	CURLMsg *msg;
	int left;

	if (!loop)
		return;
	/* Transfers still running belong to their owners: only detach them. */
	while ((msg = curl_multi_info_read(loop->multi, &left)))
		;
	while (loop->n_timers)
		free(loop->heap[--loop->n_timers]);
	free(loop->heap);
	free(loop->idle);
	free_dead(loop);
	close(loop->epoll_fd);
	close(loop->signal_fd);
	curl_multi_cleanup(loop->multi);
	free(loop);
}

void skiff_loop_stop(struct skiff_loop *loop)
{
	loop->stop = true;
}

static bool timer_before(const struct skiff_timer *a,
			 const struct skiff_timer *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_swap(struct skiff_timer **heap, size_t i, size_t j)
{
	struct skiff_timer *t = heap[i];

	heap[i] = heap[j];
	heap[j] = t;
}

static void heap_up(struct skiff_loop *loop, size_t i)
{
	while (i && timer_before(loop->heap[i], loop->heap[(i - 1) / 2])) {
		heap_swap(loop->heap, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct skiff_timer *heap_pop(struct skiff_loop *loop)
{
	struct skiff_timer *top = loop->heap[0];
	size_t i = 0, child;

	loop->heap[0] = loop->heap[--loop->n_timers];
	for (;;) {
		child = 2 * i + 1;
		if (child >= loop->n_timers)
			break;
		if (child + 1 < loop->n_timers &&
		    timer_before(loop->heap[child + 1], loop->heap[child]))
			child++;
		if (!timer_before(loop->heap[child], loop->heap[i]))
			break;
		heap_swap(loop->heap, i, child);
		i = child;
	}
	return top;
}

struct skiff_timer *skiff_loop_after(struct skiff_loop *loop, int64_t ms,
				     skiff_loop_fn fn, void *arg)
{
	struct skiff_timer *t, **heap;

	if (loop->n_timers == loop->cap_timers) {
		size_t cap = loop->cap_timers ? 2 * loop->cap_timers : 64;

		heap = realloc(loop->heap, cap * sizeof(*heap));
		if (!heap)
			return NULL;
		loop->heap = heap;
		loop->cap_timers = cap;
	}
	t = malloc(sizeof(*t));
	if (!t)
		return NULL;
	t->due = skiff_now_ms() + (ms > 0 ? ms : 0);
	t->seq = loop->seq++;
	t->fn = fn;
	t->arg = arg;
	loop->heap[loop->n_timers] = t;
	heap_up(loop, loop->n_timers++);
	return t;
}

void skiff_timer_cancel(struct skiff_timer *timer)
{
	if (timer)
		timer->fn = NULL;
}

int skiff_loop_on_idle(struct skiff_loop *loop, bool (*fn)(void *arg),
		       void *arg)
{
	struct idle_fn *idle;

	idle = realloc(loop->idle, (loop->n_idle + 1) * sizeof(*idle));
	if (!idle)
		return -ENOMEM;
	loop->idle = idle;
	idle[loop->n_idle].fn = fn;
	idle[loop->n_idle++].arg = arg;
	return 0;
}

int skiff_loop_transfer(struct skiff_loop *loop, CURL *easy,
			skiff_transfer_fn done, void *arg)
{
	struct transfer *t = malloc(sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->done = done;
	t->arg = arg;
	t->easy = easy;
	t->next_pending = NULL;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
	if (loop->in_perform) {
		struct transfer **p = &loop->pending;

		while (*p)
			p = &(*p)->next_pending;
		*p = t;
		return 0;
	}
	if (curl_multi_add_handle(loop->multi, easy) != CURLM_OK) {
		free(t);
		return -EIO;
	}
	return 0;
}

void skiff_loop_transfer_cancel(struct skiff_loop *loop, CURL *easy)
{
	struct transfer *t = NULL, **p;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
	for (p = &loop->pending; *p; p = &(*p)->next_pending) {
		if (*p == t) {
			*p = t->next_pending;
			curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
			free(t);
			return;
		}
	}
	curl_multi_remove_handle(loop->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	free(t);
}

/* Fires the due timers; the milliseconds until the next one, or -1. */
static int64_t run_timers(struct skiff_loop *loop)
{
	struct skiff_timer *t;
	int64_t now = skiff_now_ms();

	while (loop->n_timers && !loop->stop) {
		t = loop->heap[0];
		if (t->fn && t->due > now)
			return t->due - now;
		heap_pop(loop);
		if (t->fn)
			t->fn(t->arg);
		free(t);
		now = skiff_now_ms();
	}
	return -1;
}

/* Transfers started from libcurl's callbacks; one that cannot start ends. */
static void add_pending(struct skiff_loop *loop)
{
	struct transfer *t;

	while ((t = loop->pending)) {
		loop->pending = t->next_pending;
		if (curl_multi_add_handle(loop->multi, t->easy) != CURLM_OK) {
			curl_easy_setopt(t->easy, CURLOPT_PRIVATE, NULL);
			t->done(t->easy, CURLE_FAILED_INIT, t->arg);
			free(t);
		}
	}
}

static void finish_transfers(struct skiff_loop *loop)
{
	struct transfer *t;
	CURLMsg *msg;
	CURLcode result;
	CURL *easy;
	int left;

	while ((msg = curl_multi_info_read(loop->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		result = msg->data.result;
		t = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
		curl_multi_remove_handle(loop->multi, easy);
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		if (t) {
			t->done(easy, result, t->arg);
			free(t);
		}
	}
}

struct skiff_watch *skiff_loop_watch_fd(struct skiff_loop *loop, int fd,
					skiff_loop_fn fn, void *arg)
{
	struct skiff_watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!w)
		return NULL;
	w->fd = fd;
	w->fn = fn;
	w->arg = arg;
	ev.data.ptr = w;
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev)) {
		free(w);
		return NULL;
	}
	return w;
}

void skiff_loop_unwatch(struct skiff_loop *loop, struct skiff_watch *w)
{
	if (!w)
		return;
	epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, w->fd, NULL);
	if (w->exit_fn)
		close(w->fd);
	w->fn = NULL;
	w->exit_fn = NULL;
	w->next_dead = loop->dead;
	loop->dead = w;
}

struct skiff_watch *skiff_loop_watch_pid(struct skiff_loop *loop, pid_t pid,
					 skiff_exit_fn fn, void *arg)
{
	struct skiff_watch *w;
	int fd = syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		return NULL;
	w = skiff_loop_watch_fd(loop, fd, NULL, arg);
	if (!w) {
		close(fd);
		return NULL;
	}
	w->exit_fn = fn;
	return w;
}

/* A watched process ended: its status if it was our child, else -1. */
static int pidfd_status(int fd)
{
	siginfo_t info = { 0 };

	if (waitid(P_PIDFD, fd, &info, WEXITED | WNOHANG))
		return -1;
	if (info.si_code == CLD_EXITED)
		return (info.si_status & 0xff) << 8;
	if (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED)
		return info.si_status & 0x7f;
	return -1;
}

static void run_watches(struct skiff_loop *loop)
{
	struct epoll_event ev[64];
	struct skiff_watch *w;
	skiff_exit_fn exit_fn;
	int i, n, status;

	n = epoll_wait(loop->epoll_fd, ev, 64, 0);
	for (i = 0; i < n && !loop->stop; i++) {
		w = ev[i].data.ptr;
		if (w->exit_fn) {
			exit_fn = w->exit_fn;
			status = pidfd_status(w->fd);
			skiff_loop_unwatch(loop, w);
			exit_fn(status, w->arg);
		} else if (w->fn) {
			w->fn(w->arg);
		}
	}
	free_dead(loop);
}

static bool run_idle(struct skiff_loop *loop)
{
	bool more = false;
	size_t i;

	for (i = 0; i < loop->n_idle && !loop->stop; i++)
		more |= loop->idle[i].fn(loop->idle[i].arg);
	return more;
}

static void read_signals(struct skiff_loop *loop)
{
	struct signalfd_siginfo si;

	while (read(loop->signal_fd, &si, sizeof(si)) == sizeof(si))
		loop->stop = true;
}

int skiff_loop_run(struct skiff_loop *loop)
{
	struct curl_waitfd fds[2] = {
		{ .fd = loop->signal_fd, .events = CURL_WAIT_POLLIN },
		{ .fd = loop->epoll_fd, .events = CURL_WAIT_POLLIN },
	};
	int64_t next;
	bool more = true;
	int running;
	long curl_ms;
	int wait_ms;

	loop->stop = false;
	while (!loop->stop) {
		loop->in_perform = true;
		if (curl_multi_perform(loop->multi, &running) != CURLM_OK)
			return -EIO;
		loop->in_perform = false;
		add_pending(loop);
		finish_transfers(loop);
		run_watches(loop);
		next = run_timers(loop);
		more = run_idle(loop);
		if (loop->stop)
			break;
		wait_ms = more ? 0 : 1000;
		if (next >= 0 && next < wait_ms)
			wait_ms = next;
		curl_multi_timeout(loop->multi, &curl_ms);
		if (curl_ms >= 0 && curl_ms < wait_ms)
			wait_ms = curl_ms;
		if (curl_multi_poll(loop->multi, fds, 2, wait_ms,
				    NULL) != CURLM_OK)
			return -EIO;
		read_signals(loop);
	}
	return 0;
}
