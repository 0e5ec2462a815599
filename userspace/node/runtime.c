// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's side of the OCI runtime: one skiff-shim per container
 * (shim.c says what it does and records), followed from the event loop.
 *
 * How a container is followed:
 *  - started here: the shim gets one end of a socketpair as descriptor 3.
 *    It sends a byte once "started" is on disk and the agent sees
 *    end-of-file when the shim ends, so one watched descriptor tells both
 *    and no process of ours is involved: the shim forks away at once (its
 *    first process is reaped here before skiff_runtime_start() returns),
 *    so there is never a child to reap and nothing ties the container to
 *    this process.
 *  - adopted (an earlier agent started it): the shim's pid from shim.pid,
 *    followed through a pidfd, checked to be that shim (its command line
 *    names the container and the bundle) once the pidfd pins it.
 * Either way the shim's files are what the callback is told; a shim that
 * ended without writing "exited" (killed) gets one written here: exit code
 * 255 (128 if the container never started), as containerd reports a lost
 * shim.
 *
 * kill, delete and list run the runtime's command line synchronously with
 * a deadline: they take milliseconds, and the deadline bounds a stuck one.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <jansson.h>

#include "files.h"
#include "runtime.h"

#define ID_MAX 128
#define RUN_TIMEOUT_MS 10000
#define SHIM_FD 3
#define OUT_MAX (16 << 20)
#define LOST_SHIM_CODE 255
#define LOST_START_CODE 128
#define SBIN_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#define STATE_FMT "{s:i, s:f, s:s}"

/**
 * struct follow - a container whose shim is followed
 * @next: the runtime's list
 * @rt: the runtime
 * @loop: where @fn runs
 * @fn: the caller's callback
 * @arg: its argument
 * @sock: the shim's wake-up socket (started here), -1 when adopted
 * @watch: on @sock, or the shim's pidfd
 * @timer: an adopted container found ended: reported on the next round
 * @reported_start: @fn was told it started
 * @dir: the bundle
 * @id: the container
 */
struct follow {
	struct follow *next;
	struct skiff_runtime *rt;
	struct skiff_loop *loop;
	skiff_container_fn fn;
	void *arg;
	int sock;
	struct skiff_watch *watch;
	struct skiff_timer *timer;
	bool reported_start;
	char *dir;
	char id[];
};

struct skiff_runtime {
	char *runtime;
	char *state_dir;
	char *shim;
	bool crun;
	struct follow *follows;
};

static bool valid_id(const char *id)
{
	size_t i, len = strlen(id);

	if (!len || len > ID_MAX || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	for (i = 0; i < len; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

/* @name as an executable path: itself when it has a '/', else from PATH. */
static char *find_program(const char *name)
{
	const char *path = getenv("PATH");
	char *dirs, *dir, *save = NULL, *found = NULL, buf[PATH_MAX];

	if (strchr(name, '/'))
		return access(name, X_OK) ? NULL : realpath(name, NULL);
	if (asprintf(&dirs, "%s:%s", path ? path : "", SBIN_PATH) < 0)
		return NULL;
	for (dir = strtok_r(dirs, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		if (!*dir)
			continue;
		snprintf(buf, sizeof(buf), "%s/%s", dir, name);
		if (!access(buf, X_OK))
			found = strdup(buf);
	}
	free(dirs);
	return found;
}

int skiff_runtime_new(struct skiff_runtime **rtp, const char *runtime,
		      const char *state_dir, const char *shim,
		      struct skiff_error *e)
{
	struct skiff_runtime *rt = calloc(1, sizeof(*rt));
	const char *base;
	int err;

	*rtp = NULL;
	if (!rt)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	rt->runtime = find_program(runtime);
	if (!rt->runtime) {
		err = skiff_error_set(e, -ENOENT, "OCI runtime %s not found", runtime);
		goto err_free;
	}
	rt->shim = find_program(shim);
	if (!rt->shim) {
		err = skiff_error_set(e, -ENOENT, "%s not found", shim);
		goto err_free;
	}
	err = skiff_mkdirs_mode(state_dir, 0700);
	if (err) {
		skiff_error_set(e, err, "cannot make %s: %s", state_dir, strerror(-err));
		goto err_free;
	}
	rt->state_dir = realpath(state_dir, NULL);
	if (!rt->state_dir) {
		err = skiff_error_set(e, -errno, "%s: %s", state_dir, strerror(errno));
		goto err_free;
	}
	base = strrchr(rt->runtime, '/');
	rt->crun = !strncmp(base ? base + 1 : rt->runtime, "crun", 4);
	*rtp = rt;
	return 0;

err_free:
	skiff_runtime_free(rt);
	return err;
}

static struct follow *find_follow(struct skiff_runtime *rt, const char *id,
				  struct follow ***prevp)
{
	struct follow **p;

	for (p = &rt->follows; *p; p = &(*p)->next) {
		if (!strcmp((*p)->id, id)) {
			if (prevp)
				*prevp = p;
			return *p;
		}
	}
	return NULL;
}

/* Stops every watch of @f and frees it; it must be off the list. */
static void follow_free(struct follow *f)
{
	if (f->watch)
		skiff_loop_unwatch(f->loop, f->watch);
	if (f->sock >= 0)
		close(f->sock);
	skiff_timer_cancel(f->timer);
	free(f->dir);
	free(f);
}

static void follow_unlink(struct follow *f)
{
	struct follow **p;

	for (p = &f->rt->follows; *p; p = &(*p)->next) {
		if (*p == f) {
			*p = f->next;
			return;
		}
	}
}

void skiff_runtime_forget(struct skiff_runtime *rt, const char *id)
{
	struct follow **prev, *f = find_follow(rt, id, &prev);

	if (!f)
		return;
	*prev = f->next;
	follow_free(f);
}

void skiff_runtime_free(struct skiff_runtime *rt)
{
	struct follow *f;

	if (!rt)
		return;
	while ((f = rt->follows)) {
		rt->follows = f->next;
		follow_free(f);
	}
	free(rt->runtime);
	free(rt->state_dir);
	free(rt->shim);
	free(rt);
}

static int read_json(const char *dir, const char *name, json_t **out)
{
	char path[PATH_MAX];

	*out = NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (access(path, F_OK))
		return errno == ENOENT ? 0 : -errno;
	*out = json_load_file(path, 0, NULL);
	return *out ? 0 : -EIO;
}

int skiff_container_state_read(const char *dir,
			       struct skiff_container_state *st)
{
	json_t *started, *exited;
	struct stat sb;
	int err;

	memset(st, 0, sizeof(*st));
	if (stat(dir, &sb))
		return -errno;
	err = read_json(dir, "started", &started);
	if (!err)
		err = read_json(dir, "exited", &exited);
	if (err) {
		json_decref(started);
		return err;
	}
	if (started) {
		st->started = true;
		st->pid = json_integer_value(json_object_get(started, "pid"));
		st->started_at = json_number_value(json_object_get(started, "startedAt"));
	}
	if (exited) {
		st->exited = true;
		st->exit_code = json_integer_value(json_object_get(exited, "exitCode"));
		st->finished_at = json_number_value(json_object_get(exited, "finishedAt"));
		snprintf(st->reason, sizeof(st->reason), "%s",
			 json_string_value(json_object_get(exited, "reason")) ?: "");
	}
	json_decref(started);
	json_decref(exited);
	return 0;
}

/* The shim ended without saying how the container did: say it for it. */
static void record_lost(const char *dir, struct skiff_container_state *st)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	struct timespec ts;
	json_t *obj;

	clock_gettime(CLOCK_REALTIME, &ts);
	st->exited = true;
	st->exit_code = st->started ? LOST_SHIM_CODE : LOST_START_CODE;
	st->finished_at = ts.tv_sec + ts.tv_nsec / 1e9;
	snprintf(st->reason, sizeof(st->reason), "%s",
		 "skiff-shim ended without recording the container's exit");
	obj = json_pack(STATE_FMT, "exitCode", st->exit_code, "finishedAt", st->finished_at,
			"reason", st->reason);
	snprintf(path, sizeof(path), "%s/exited", dir);
	snprintf(tmp, sizeof(tmp), "%s/.exited.tmp", dir);
	if (obj && !json_dump_file(obj, tmp, 0) && rename(tmp, path))
		unlink(tmp);
	json_decref(obj);
}

/* The last word on @f: off the list, then @fn, then freed. */
static void report_exit(struct follow *f, const struct skiff_container_state *st)
{
	follow_unlink(f);
	if (f->watch) {
		skiff_loop_unwatch(f->loop, f->watch);
		f->watch = NULL;
	}
	skiff_timer_cancel(f->timer);
	f->timer = NULL;
	/* @fn may forget @f's id or free the runtime: @f is no longer theirs. */
	f->fn(f->id, st, f->arg);
	f->rt = NULL;
	follow_free(f);
}

static void shim_gone(struct follow *f)
{
	struct skiff_container_state st;
	struct skiff_error e;

	if (skiff_container_state_read(f->dir, &st) == -ENOENT) {
		memset(&st, 0, sizeof(st));
		st.exited = true;
		st.exit_code = LOST_START_CODE;
		snprintf(st.reason, sizeof(st.reason), "bundle %s is gone", f->dir);
	} else if (!st.exited) {
		/* Nobody would see it end: it ends now, as reported. */
		if (st.started)
			skiff_runtime_delete(f->rt, f->id, &e);
		record_lost(f->dir, &st);
	}
	report_exit(f, &st);
}

static void sock_ready(void *arg)
{
	struct follow *f = arg;
	struct skiff_container_state st;
	char buf[64];
	ssize_t n;

	for (;;) {
		n = read(f->sock, buf, sizeof(buf));
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		shim_gone(f);
		return;
	}
	if (skiff_container_state_read(f->dir, &st))
		return;
	if (st.exited) {
		report_exit(f, &st);
	} else if (st.started && !f->reported_start) {
		f->reported_start = true;
		f->fn(f->id, &st, f->arg);
	}
}

static void shim_exited(int status, void *arg)
{
	struct follow *f = arg;

	(void)status;
	f->watch = NULL;	/* the loop unwatched it */
	shim_gone(f);
}

static void adopted_gone(void *arg)
{
	struct follow *f = arg;

	f->timer = NULL;
	shim_gone(f);
}

static struct follow *follow_new(struct skiff_runtime *rt, struct skiff_loop *loop,
				 const char *id, const char *dir,
				 skiff_container_fn fn, void *arg,
				 struct skiff_error *e)
{
	struct follow *f;

	if (!valid_id(id)) {
		skiff_error_set(e, -EINVAL,
				"invalid container id \"%s\" (letters, digits, '-', '_', '.')",
				id);
		return NULL;
	}
	if (find_follow(rt, id, NULL)) {
		skiff_error_set(e, -EEXIST, "container %s is already followed", id);
		return NULL;
	}
	f = calloc(1, sizeof(*f) + strlen(id) + 1);
	if (!f) {
		skiff_error_set(e, -ENOMEM, "out of memory");
		return NULL;
	}
	strcpy(f->id, id);
	f->dir = realpath(dir, NULL);
	if (!f->dir) {
		skiff_error_set(e, -errno, "bundle %s: %s", dir, strerror(errno));
		free(f);
		return NULL;
	}
	f->rt = rt;
	f->loop = loop;
	f->fn = fn;
	f->arg = arg;
	f->sock = -1;
	return f;
}

/* Children start with no signal blocked or ignored (the loop blocks some). */
static void spawnattr_init(posix_spawnattr_t *attr)
{
	sigset_t set;

	posix_spawnattr_init(attr);
	sigfillset(&set);
	posix_spawnattr_setsigdefault(attr, &set);
	sigemptyset(&set);
	posix_spawnattr_setsigmask(attr, &set);
	posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
}

/* Runs the shim; it forks away, and its first process ends here. */
static int spawn_shim(struct skiff_runtime *rt, struct follow *f, const char *log,
		      int sock, struct skiff_error *e)
{
	char *argv[7] = { rt->shim, rt->runtime, rt->state_dir, f->id, f->dir,
			 (char *)log, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int err, status;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sock, SHIM_FD);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	spawnattr_init(&attr);
	err = posix_spawn(&pid, rt->shim, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (err)
		return skiff_error_set(e, -err, "cannot run %s: %s", rt->shim, strerror(err));
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return skiff_error_set(e, -errno, "waitpid: %s", strerror(errno));
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return skiff_error_set(e, -EIO, "%s failed to start (status %d)", rt->shim,
				       status);
	return 0;
}

int skiff_runtime_start(struct skiff_runtime *rt, struct skiff_loop *loop,
			const char *id, const char *dir, const char *log_path,
			skiff_container_fn fn, void *arg,
			struct skiff_error *e)
{
	char log[PATH_MAX * 2], cwd[PATH_MAX];
	struct follow *f;
	int sv[2], fd, err;

	f = follow_new(rt, loop, id, dir, fn, arg, e);
	if (!f)
		return e->err;
	/* The shim chdirs into the bundle: its log path must not be relative. */
	if (log_path[0] != '/' && getcwd(cwd, sizeof(cwd)))
		snprintf(log, sizeof(log), "%s/%s", cwd, log_path);
	else
		snprintf(log, sizeof(log), "%s", log_path);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv)) {
		err = skiff_error_set(e, -errno, "socketpair: %s", strerror(errno));
		goto err_free;
	}
	f->sock = sv[0];
	/* Above the standard descriptors and SHIM_FD, so the dup2s never clash. */
	if (sv[1] <= SHIM_FD) {
		fd = fcntl(sv[1], F_DUPFD_CLOEXEC, SHIM_FD + 1);
		if (fd < 0) {
			err = skiff_error_set(e, -errno, "fcntl: %s", strerror(errno));
			goto err_close;
		}
		close(sv[1]);
		sv[1] = fd;
	}
	f->watch = skiff_loop_watch_fd(loop, f->sock, sock_ready, f);
	if (!f->watch) {
		err = skiff_error_set(e, -ENOMEM, "cannot watch the shim");
		goto err_close;
	}
	err = spawn_shim(rt, f, log, sv[1], e);
	if (err)
		goto err_close;
	close(sv[1]);
	f->next = rt->follows;
	rt->follows = f;
	return 0;

err_close:
	close(sv[1]);
err_free:
	follow_free(f);
	return err;
}

/* Whether process @pid is the shim of container @id in bundle @dir. */
static bool is_shim_of(pid_t pid, const char *id, const char *dir)
{
	char path[64], buf[8192], *arg[6];
	ssize_t n;
	size_t at = 0;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (i = 0; i < 6; i++) {
		if (at >= (size_t)n)
			return false;
		arg[i] = buf + at;
		at += strlen(arg[i]) + 1;
	}
	return !strcmp(arg[3], id) && !strcmp(arg[4], dir);
}

static pid_t read_shim_pid(const char *dir)
{
	char path[PATH_MAX];
	long pid = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/shim.pid", dir);
	fp = fopen(path, "re");
	if (!fp)
		return -1;
	if (fscanf(fp, "%ld", &pid) != 1)
		pid = -1;
	fclose(fp);
	return pid > 0 && pid <= INT_MAX ? (pid_t)pid : -1;
}

int skiff_runtime_adopt(struct skiff_runtime *rt, struct skiff_loop *loop,
			const char *id, const char *dir,
			skiff_container_fn fn, void *arg,
			struct skiff_error *e)
{
	struct skiff_container_state st;
	struct follow *f;
	pid_t pid;
	int err;

	f = follow_new(rt, loop, id, dir, fn, arg, e);
	if (!f)
		return e->err;
	err = skiff_container_state_read(f->dir, &st);
	if (err) {
		skiff_error_set(e, err, "bundle %s: %s", f->dir, strerror(-err));
		follow_free(f);
		return err;
	}
	pid = st.exited ? -1 : read_shim_pid(f->dir);
	if (pid > 0)
		f->watch = skiff_loop_watch_pid(loop, pid, shim_exited, f);
	/* The pidfd pins the pid: this check cannot race its reuse. */
	if (f->watch && !is_shim_of(pid, f->id, f->dir)) {
		skiff_loop_unwatch(loop, f->watch);
		f->watch = NULL;
	}
	if (!f->watch) {
		f->timer = skiff_loop_after(loop, 0, adopted_gone, f);
		if (!f->timer) {
			follow_free(f);
			return skiff_error_set(e, -ENOMEM, "out of memory");
		}
	}
	f->next = rt->follows;
	rt->follows = f;
	return 0;
}

/* The message of runc's `level=error msg="..."` line, else the text. */
static void runtime_message(const char *text, char *out, size_t size)
{
	const char *p = strstr(text, "msg=\"");
	size_t o = 0;

	if (!p) {
		snprintf(out, size, "%.*s", (int)strcspn(text, "\n"), text);
		return;
	}
	for (p += 5; *p && *p != '"' && o + 1 < size; p++) {
		if (*p == '\\' && p[1])
			p++;
		out[o++] = *p;
	}
	out[o] = '\0';
}

static int read_into(int fd, char **buf, size_t *len, size_t *cap)
{
	char *nb;
	ssize_t n;

	if (*len + 4096 + 1 > *cap) {
		if (*cap >= OUT_MAX)
			return -EFBIG;
		*cap = *cap ? 2 * *cap : 8192;
		nb = realloc(*buf, *cap);
		if (!nb)
			return -ENOMEM;
		*buf = nb;
	}
	n = read(fd, *buf + *len, *cap - *len - 1);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -errno;
	*len += n;
	(*buf)[*len] = '\0';
	return n > 0;
}

/*
 * Runs `RUNTIME --root R [crun's option] @args...` and waits at most
 * RUN_TIMEOUT_MS. Its exit status, its stdout in *@out (malloc'd) when
 * @out is given, and its first error line in @msg; -errno when it could
 * not be run or took too long.
 */
static int run_runtime(struct skiff_runtime *rt, const char *const *args, char **out,
		       char *msg, size_t msg_size)
{
	const char *argv[16];
	int pout[2], perr[2], pidfd, status = 0, err = 0, i = 0, n;
	char *bufs[2] = { NULL, NULL };
	size_t lens[2] = { 0, 0 }, caps[2] = { 0, 0 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	struct pollfd pfd[3];
	bool exited = false;
	int64_t deadline;
	pid_t pid;

	argv[i++] = rt->runtime;
	argv[i++] = "--root";
	argv[i++] = rt->state_dir;
	if (rt->crun)
		argv[i++] = "--cgroup-manager=disabled";
	while (*args && i < 15)
		argv[i++] = *args++;
	argv[i] = NULL;
	msg[0] = '\0';
	if (pipe2(pout, O_CLOEXEC))
		return -errno;
	if (pipe2(perr, O_CLOEXEC)) {
		err = -errno;
		goto err_out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
	spawnattr_init(&attr);
	err = -posix_spawn(&pid, rt->runtime, &fa, &attr, (char **)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pout[1]);
	close(perr[1]);
	pout[1] = -1;
	perr[1] = -1;
	if (err)
		goto err_err;
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	deadline = skiff_now_ms() + RUN_TIMEOUT_MS;
	pfd[0] = (struct pollfd){ .fd = pout[0], .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = perr[0], .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	/*
	 * Until both pipes end, or the process has ended and they hold nothing
	 * more (a process it left behind may keep them open).
	 */
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		int64_t left = deadline - skiff_now_ms();

		if (left <= 0) {
			err = -ETIMEDOUT;
			kill(pid, SIGKILL);
			break;
		}
		n = poll(pfd, 3, exited ? 0 : left);
		if (n < 0 && errno != EINTR) {
			err = -errno;
			kill(pid, SIGKILL);
			break;
		}
		if (exited && n == 0)
			break;
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd >= 0 && pfd[i].revents &&
			    read_into(pfd[i].fd, &bufs[i], &lens[i], &caps[i]) <= 0)
				pfd[i].fd = -1;
		}
		if (pfd[2].fd >= 0 && pfd[2].revents) {
			pfd[2].fd = -1;
			exited = true;
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!err && bufs[1])
		runtime_message(bufs[1], msg, msg_size);
	if (!err)
		err = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (out && err >= 0) {
		*out = bufs[0];
		bufs[0] = NULL;
	}
	free(bufs[0]);
	free(bufs[1]);
err_err:
	close(perr[0]);
	if (perr[1] >= 0)
		close(perr[1]);
err_out:
	close(pout[0]);
	if (pout[1] >= 0)
		close(pout[1]);
	return err;
}

static int runtime_failed(struct skiff_runtime *rt, const char *what, const char *id,
			  int status, const char *msg, struct skiff_error *e)
{
	if (status < 0)
		return skiff_error_set(e, status, "%s %s %s: %s", rt->runtime, what, id,
				       strerror(-status));
	/* runc's words, then crun's ("error opening file `R/ID/status`: ..."). */
	if (strstr(msg, "does not exist") || strstr(msg, "not found") ||
	    (strstr(msg, "/status`") && strcasestr(msg, "no such file")))
		return skiff_error_set(e, -ENOENT, "%s %s %s: %s", rt->runtime, what, id, msg);
	if (strstr(msg, "not running") || strstr(msg, "already finished") ||
	    strcasestr(msg, "no such process"))
		return skiff_error_set(e, -ESRCH, "%s %s %s: %s", rt->runtime, what, id, msg);
	return skiff_error_set(e, -EIO, "%s %s %s: %s", rt->runtime, what, id,
			       msg[0] ? msg : "failed");
}

int skiff_runtime_kill(struct skiff_runtime *rt, const char *id, int sig,
		       struct skiff_error *e)
{
	char signum[16], msg[512];
	const char *args[4] = { "kill", id, signum, NULL };
	int status;

	if (!valid_id(id))
		return skiff_error_set(e, -EINVAL, "invalid container id \"%s\"", id);
	snprintf(signum, sizeof(signum), "%d", sig);
	status = run_runtime(rt, args, NULL, msg, sizeof(msg));
	if (status)
		return runtime_failed(rt, "kill", id, status, msg, e);
	return 0;
}

int skiff_runtime_delete(struct skiff_runtime *rt, const char *id,
			 struct skiff_error *e)
{
	const char *args[4] = { "delete", "--force", id, NULL };
	char msg[512];
	int status;

	if (!valid_id(id))
		return skiff_error_set(e, -EINVAL, "invalid container id \"%s\"", id);
	status = run_runtime(rt, args, NULL, msg, sizeof(msg));
	if (!status)
		return 0;
	status = runtime_failed(rt, "delete", id, status, msg, e);
	/* Gone already is what was asked for. */
	return status == -ENOENT ? 0 : status;
}

int skiff_runtime_exec_argv(struct skiff_runtime *rt, const char *id,
			    const char **out)
{
	int n = 0;

	out[n++] = rt->runtime;
	out[n++] = "--root";
	out[n++] = rt->state_dir;
	if (rt->crun)
		out[n++] = "--cgroup-manager=disabled";
	out[n++] = "exec";
	out[n++] = id;
	out[n] = NULL;
	return n;
}

int skiff_runtime_for_each(struct skiff_runtime *rt,
			   int (*fn)(const char *id, bool running, void *arg),
			   void *arg, struct skiff_error *e)
{
	const char *args[4] = { "list", "--format", "json", NULL };
	const char *id, *status;
	char msg[512], *out = NULL;
	json_error_t jerr;
	json_t *list, *c;
	size_t i;
	int err = 0;

	err = run_runtime(rt, args, &out, msg, sizeof(msg));
	if (err) {
		free(out);
		return runtime_failed(rt, "list", "", err, msg, e);
	}
	list = json_loads(out ? out : "null", JSON_DECODE_ANY, &jerr);
	free(out);
	if (!list)
		return skiff_error_set(e, -EIO, "%s list: %s", rt->runtime, jerr.text);
	json_array_foreach(list, i, c) {
		id = json_string_value(json_object_get(c, "id"));
		status = json_string_value(json_object_get(c, "status"));
		if (!id)
			continue;
		err = fn(id, status && strcmp(status, "stopped"), arg);
		if (err)
			break;
	}
	json_decref(list);
	return err;
}
