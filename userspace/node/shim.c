// SPDX-License-Identifier: GPL-2.0
/*
 * skiff-shim: the parent of one container, as containerd's shims are.
 *
 *	skiff-shim RUNTIME ROOT ID DIR LOG
 *
 * It forks away from its caller (who reaps the first process at once), so
 * the agent never has a child to reap and can restart without stopping
 * containers. The remaining process is a new session and a child subreaper:
 * `RUNTIME --root ROOT run -d ID` leaves the container's process behind as
 * an orphan, which the kernel hands to the shim, and its exit status comes
 * back here with waitpid() like any child's.
 *
 * What happened is recorded in the bundle DIR, each file written whole to a
 * temporary name and renamed:
 *   shim.pid   this process (for an agent that adopts the container)
 *   started    {"pid": N, "startedAt": SECONDS}
 *   exited     {"exitCode": N, "finishedAt": SECONDS, "reason": "..."};
 *              a start that failed is exit code 128 with the runtime's
 *              error as the reason, a signal N is 128+N, and "OOMKilled"
 *              when the memory cgroup saw an OOM kill
 *
 * The container's stdout and stderr are the runtime's (run -d passes its
 * own through), so both go to LOG, opened O_APPEND. The runtime's own error
 * text is read from its --log file (JSON lines) rather than its stderr,
 * which is the container's.
 *
 * Descriptor 3, when open, is the agent's wake-up: one byte is sent when
 * "started" is on disk, and the agent sees end-of-file when the shim ends,
 * however it ends ("exited" is on disk before that unless it was killed).
 *
 * crun cannot manage a hybrid cgroup v1/v2 mount: for it the shim hides
 * the v2 half (a tmpfs over /sys/fs/cgroup/unified in a private mount
 * namespace) and passes --cgroup-manager=disabled, so such containers have
 * no cgroup limits.
 *
 * Plain libc only: one of these lives beside every container.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define NOTIFY_FD 3
#define START_FAILED 128
#define REASON_MAX 1024

static int notify_fd = -1;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Writes @text to @name whole: a temporary file renamed over it. */
static int write_whole(const char *name, const char *text)
{
	char tmp[64];
	size_t len = strlen(text), done = 0;
	ssize_t n;
	int fd;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (done < len) {
		n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			unlink(tmp);
			return -errno;
		}
		done += n;
	}
	if (close(fd) || rename(tmp, name)) {
		unlink(tmp);
		return -errno;
	}
	return 0;
}

/* @s as a JSON string's contents (quotes excluded) into @out. */
static void json_escape(const char *s, char *out, size_t size)
{
	size_t o = 0;

	for (; *s && o + 7 < size; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = c;
		} else if (c < 0x20) {
			o += snprintf(out + o, size - o, "\\u%04x", c);
		} else {
			out[o++] = c;
		}
	}
	out[o] = '\0';
}

static void notify(void)
{
	if (notify_fd < 0)
		return;
	/* A socket: no SIGPIPE when the agent is gone. */
	if (send(notify_fd, "s", 1, MSG_NOSIGNAL) < 0 && errno == ENOTSOCK)
		(void)!write(notify_fd, "s", 1);
}

static void record_exit(int code, const char *reason)
{
	char esc[REASON_MAX * 6 + 1], text[sizeof(esc) + 128];

	json_escape(reason, esc, sizeof(esc));
	snprintf(text, sizeof(text),
		 "{\"exitCode\": %d, \"finishedAt\": %.6f, \"reason\": \"%s\"}\n", code, now(),
		 esc);
	write_whole("exited", text);
}

/* A start that failed: recorded, then the shim ends. */
static void __attribute__((noreturn)) fail(const char *fmt, const char *arg, int err)
{
	char reason[REASON_MAX];
	int n = snprintf(reason, sizeof(reason), fmt, arg);

	if (err && n > 0 && (size_t)n < sizeof(reason))
		snprintf(reason + n, sizeof(reason) - n, ": %s", strerror(err));
	record_exit(START_FAILED, reason);
	exit(0);
}

static int hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * The JSON string value after @key in @line, unescaped into @out (\uXXXX
 * beyond ASCII becomes '?': the text is for people). False when absent.
 */
static int json_field(const char *line, const char *key, char *out, size_t size)
{
	const char *p = strstr(line, key);
	size_t o = 0;
	int i, v;

	if (!p)
		return 0;
	p += strlen(key);
	for (; *p && *p != '"' && *p != '\n' && o + 1 < size; p++) {
		if (*p != '\\') {
			out[o++] = *p;
			continue;
		}
		p++;
		switch (*p) {
		case 'n':
			out[o++] = '\n';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case 'u':
			for (i = 1, v = 0; i <= 4 && hex(p[i]) >= 0; i++)
				v = v * 16 + hex(p[i]);
			if (i <= 4)
				return 0;
			out[o++] = v < 0x80 && v >= 0x20 ? v : '?';
			p += 4;
			break;
		case '\0':
			p--;
			break;
		default:
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return 1;
}

/* The last error the runtime logged (its --log-format json file). */
static int runtime_error(const char *log, char *out, size_t size)
{
	static char buf[65536];
	char *line, *end;
	ssize_t n;
	off_t len;
	int fd = open(log, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	len = lseek(fd, 0, SEEK_END);
	if (len > (off_t)sizeof(buf) - 1)
		lseek(fd, len - (off_t)sizeof(buf) + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	end = buf + n;
	while (end > buf) {
		*end = '\0';
		line = memrchr(buf, '\n', end - buf);
		line = line ? line + 1 : buf;
		if (strstr(line, "\"level\":\"error\"") &&
		    json_field(line, "\"msg\":\"", out, size))
			return 1;
		end = line > buf ? line - 1 : buf;
	}
	return 0;
}

/*
 * The file counting OOM kills in @pid's memory cgroup: cgroup v1's
 * memory.oom_control, or v2's memory.events when v2 is all there is.
 */
static void oom_file(pid_t pid, char *out, size_t size)
{
	char path[64], line[4096], *p;
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		p = strstr(line, ":memory:");
		if (p) {
			snprintf(out, size, "/sys/fs/cgroup/memory%s/memory.oom_control",
				 p + strlen(":memory:"));
			break;
		}
		if (!strncmp(line, "0::", 3) &&
		    !access("/sys/fs/cgroup/cgroup.controllers", F_OK))
			snprintf(out, size, "/sys/fs/cgroup%s/memory.events", line + 3);
	}
	fclose(f);
}

static long oom_kills(const char *file)
{
	char line[256];
	long n = 0;
	FILE *f;

	if (!file[0])
		return 0;
	f = fopen(file, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "oom_kill %ld", &n) == 1)
			break;
	}
	fclose(f);
	return n;
}

/*
 * crun refuses a hybrid cgroup mount: a private mount namespace where the
 * v2 half is covered, for the shim, the runtime and the container.
 */
static void hide_hybrid_cgroup2(void)
{
	struct statfs fs;

	if (statfs("/sys/fs/cgroup/unified", &fs) || fs.f_type != CGROUP2_SUPER_MAGIC)
		return;
	if (unshare(CLONE_NEWNS))
		fail("crun: private mount namespace", NULL, errno);
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) ||
	    mount("tmpfs", "/sys/fs/cgroup/unified", "tmpfs", MS_RDONLY, "size=4k"))
		fail("crun: hiding /sys/fs/cgroup/unified", NULL, errno);
}

static int is_crun(const char *runtime)
{
	const char *base = strrchr(runtime, '/');

	base = base ? base + 1 : runtime;
	return !strncmp(base, "crun", 4);
}

static pid_t spawn_runtime(char **argv, int log_fd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t set;
	pid_t pid;
	int err;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
	posix_spawnattr_init(&attr);
	sigfillset(&set);
	posix_spawnattr_setsigdefault(&attr, &set);
	sigemptyset(&set);
	posix_spawnattr_setsigmask(&attr, &set);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	err = posix_spawn(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (err)
		fail("cannot run %s", argv[0], err);
	return pid;
}

static pid_t read_pid(const char *name)
{
	char buf[32] = "";
	ssize_t n;
	int fd = open(name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return atoi(buf);
}

/*
 * The container's process is a child (the runtime left it to us): its
 * status. Should it not be, its end is still seen through a pidfd, with an
 * unknown status.
 */
static int wait_container(pid_t pid)
{
	int status, fd;
	pid_t r;

	for (;;) {
		r = waitpid(-1, &status, 0);
		if (r == pid)
			return status;
		if (r < 0 && errno == ECHILD)
			break;
	}
	fd = syscall(SYS_pidfd_open, pid, 0);
	if (fd >= 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
			;
		close(fd);
	}
	return -1;
}

static void reap_orphans(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(int argc, char **argv)
{
	char text[256], reason[REASON_MAX], oom[4200];
	const char *runtime, *root, *id, *dir, *log;
	char *rargv[16];
	int log_fd, status, code, n = 0;
	long ooms;
	pid_t pid;

	if (argc != 6) {
		fprintf(stderr, "usage: skiff-shim RUNTIME ROOT ID DIR LOG\n");
		return 2;
	}
	runtime = argv[1];
	root = argv[2];
	id = argv[3];
	dir = argv[4];
	log = argv[5];
	if (fcntl(NOTIFY_FD, F_SETFD, FD_CLOEXEC) == 0)
		notify_fd = NOTIFY_FD;
	close_range(NOTIFY_FD + 1, ~0U, 0);

	pid = fork();
	if (pid < 0)
		return 1;
	if (pid > 0)
		_exit(0);
	setsid();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (chdir(dir))
		return 1;
	snprintf(text, sizeof(text), "%d\n", getpid());
	write_whole("shim.pid", text);

	log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (log_fd < 0)
		fail("cannot open log %s", log, errno);
	rargv[n++] = (char *)runtime;
	rargv[n++] = "--root";
	rargv[n++] = (char *)root;
	rargv[n++] = "--log";
	rargv[n++] = "runtime.log";
	rargv[n++] = "--log-format";
	rargv[n++] = "json";
	if (is_crun(runtime)) {
		hide_hybrid_cgroup2();
		rargv[n++] = "--cgroup-manager=disabled";
	}
	rargv[n++] = "run";
	rargv[n++] = "-d";
	rargv[n++] = "--pid-file";
	rargv[n++] = "pid";
	rargv[n++] = (char *)id;
	rargv[n] = NULL;

	pid = spawn_runtime(rargv, log_fd);
	close(log_fd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		if (runtime_error("runtime.log", reason, sizeof(reason)))
			fail("%s", reason, 0);
		snprintf(reason, sizeof(reason), "%s run failed with status %d", runtime,
			 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		fail("%s", reason, 0);
	}
	pid = read_pid("pid");
	if (pid <= 0)
		fail("%s run wrote no pid file", runtime, 0);
	oom_file(pid, oom, sizeof(oom));
	/*
	 * The container's own cgroup starts clean; the one it shares under
	 * crun without cgroups may have a past.
	 */
	ooms = is_crun(runtime) ? oom_kills(oom) : 0;
	snprintf(text, sizeof(text), "{\"pid\": %d, \"startedAt\": %.6f}\n", pid, now());
	if (write_whole("started", text))
		kill(pid, SIGKILL);
	notify();

	status = wait_container(pid);
	reap_orphans();
	if (status < 0)
		code = 255;
	else if (WIFSIGNALED(status))
		code = 128 + WTERMSIG(status);
	else
		code = WEXITSTATUS(status);
	record_exit(code, oom_kills(oom) > ooms ? "OOMKilled" : "");
	return 0;
}
