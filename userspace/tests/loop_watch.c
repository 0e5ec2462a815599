// SPDX-License-Identifier: GPL-2.0
/*
 * The event loop's watches: a readable descriptor calls back until it is
 * unwatched (also from inside its own callback), a child's exit comes
 * with its status and the child reaped, a process that is not a child is
 * reported ended with an unknown status.
 */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

#include "loop.h"
#include "tap.h"

struct seen {
	struct skiff_loop *loop;
	struct skiff_watch *w;
	int fd;
	int calls;
	int status;
	int exits;
};

static void readable(void *arg)
{
	struct seen *s = arg;
	char c;

	if (read(s->fd, &c, 1) == 1)
		s->calls++;
	/* Unwatching itself from its own callback is allowed. */
	if (s->calls == 2) {
		skiff_loop_unwatch(s->loop, s->w);
		skiff_loop_stop(s->loop);
	}
}

static void feed(void *arg)
{
	int *fd = arg;

	if (write(*fd, "xy", 2) != 2)
		abort();
}

static void stop(void *arg)
{
	skiff_loop_stop(arg);
}

static void exited(int status, void *arg)
{
	struct seen *s = arg;

	s->status = status;
	s->exits++;
	skiff_loop_stop(s->loop);
}

static pid_t child(int code, int sleep_ms)
{
	pid_t pid = fork();

	if (!pid) {
		usleep(sleep_ms * 1000);
		_exit(code);
	}
	return pid;
}

int main(void)
{
	struct skiff_loop *loop = skiff_loop_new();
	struct seen s = { .loop = loop };
	int fds[2], status;
	pid_t pid, grandchild;

	tap_plan(10);
	if (!loop || pipe(fds))
		return 1;
	s.fd = fds[0];
	s.w = skiff_loop_watch_fd(loop, fds[0], readable, &s);
	tap_ok(!!s.w, "a pipe is watched");
	skiff_loop_after(loop, 10, feed, &fds[1]);
	skiff_loop_after(loop, 5000, stop, loop);
	skiff_loop_run(loop);
	tap_is_int(s.calls, 2, "two bytes, two calls, then unwatched from the callback");

	pid = child(7, 50);
	tap_ok(!!skiff_loop_watch_pid(loop, pid, exited, &s), "a child is watched");
	skiff_loop_after(loop, 5000, stop, loop);
	skiff_loop_run(loop);
	tap_is_int(s.exits, 1, "its exit is reported once");
	tap_ok(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 7,
	       "with its exit status 7 (got %#x)", s.status);
	tap_ok(waitpid(pid, &status, WNOHANG) < 0 && errno == ECHILD, "and it was reaped");

	pid = child(0, 5000);
	kill(pid, SIGKILL);
	s.exits = 0;
	skiff_loop_watch_pid(loop, pid, exited, &s);
	skiff_loop_after(loop, 5000, stop, loop);
	skiff_loop_run(loop);
	tap_ok(s.exits == 1 && WIFSIGNALED(s.status) && WTERMSIG(s.status) == SIGKILL,
	       "a killed child: its signal (got %#x)", s.status);

	/* A grandchild: not ours to reap, its end is still seen. */
	if (pipe(fds))
		return 1;
	pid = fork();
	if (!pid) {
		grandchild = child(0, 200);
		if (write(fds[1], &grandchild, sizeof(grandchild)) != sizeof(grandchild))
			_exit(1);
		_exit(0);
	}
	if (read(fds[0], &grandchild, sizeof(grandchild)) != sizeof(grandchild))
		return 1;
	waitpid(pid, &status, 0);
	s.exits = 0;
	tap_ok(!!skiff_loop_watch_pid(loop, grandchild, exited, &s),
	       "another's process is watched");
	skiff_loop_after(loop, 5000, stop, loop);
	skiff_loop_run(loop);
	tap_ok(s.exits == 1 && s.status == -1, "its end is seen, status unknown (got %d)",
	       s.status);
	tap_ok(!skiff_loop_watch_pid(loop, pid, exited, &s) && errno == ESRCH,
	       "a process already reaped cannot be watched");
	skiff_loop_free(loop);
	return tap_done();
}
