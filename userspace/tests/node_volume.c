// SPDX-License-Identifier: GPL-2.0
/*
 * A pod's volumes and its containers' environment (userspace/node/volume.h),
 * as a container would see them: files, modes, symlinks, the "..data" swap
 * under a concurrent reader, tmpfs mounts (in a private mount namespace),
 * bind-mount lists, environment lists; and every refusal, with nothing
 * written. ConfigMaps and Secrets come from a JSON object in the test.
 */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <jansson.h>

#include "tap.h"
#include "util.h"
#include "volume.h"

#define BIG (64 * 1024)
#define MIB (1024 * 1024)

static char dir[32];
static json_t *store;

/* JSON with ` for " (so that fieldPaths keep their single quotes). */
static json_t *J(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *J(const char *fmt, ...)
{
	char *buf = NULL, *p;
	json_error_t err;
	json_t *j;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&buf, fmt, ap) < 0)
		buf = NULL;
	va_end(ap);
	for (p = buf; p && *p; p++)
		if (*p == '`')
			*p = '"';
	j = buf ? json_loads(buf, JSON_DECODE_ANY, &err) : NULL;
	if (!j) {
		printf("Bail out! bad JSON in the test: %s\n", buf ? err.text : "no memory");
		exit(1);
	}
	free(buf);
	return j;
}

static const json_t *lookup(const char *kind, const char *ns, const char *name, void *arg)
{
	char key[512];

	(void)arg;
	snprintf(key, sizeof(key), "%s/%s/%s", kind, ns, name);
	return json_object_get(store, key);
}

/* Stores ConfigMap or Secret @name in namespace "ns" with @data. */
static void put(const char *kind, const char *name, json_t *data)
{
	char key[512];

	snprintf(key, sizeof(key), "%s/ns/%s", kind, name);
	json_object_set_new(store, key, J("{`metadata`: {`name`: `%s`, `namespace`: `ns`}}",
					  name));
	json_object_set_new(json_object_get(store, key), "data", data);
}

static void drop(const char *kind, const char *name)
{
	char key[512];

	snprintf(key, sizeof(key), "%s/ns/%s", kind, name);
	json_object_del(store, key);
}

/* A pod in namespace "ns" with volumes @vols (taken). */
static json_t *pod_with(json_t *vols)
{
	json_t *pod = J("{`metadata`: {`name`: `p`, `namespace`: `ns`, `uid`: `u-1`}}");

	json_object_set_new(pod, "spec", json_pack("{s:o}", "volumes", vols));
	return pod;
}

static char *path_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *path_of(const char *fmt, ...)
{
	static char bufs[16][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 16];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, PATH_MAX, fmt, ap);
	va_end(ap);
	return b;
}

static char *slurp(const char *path)
{
	static char buf[BIG + 16];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static char *link_of(const char *path)
{
	static char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static int mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (int)(st.st_mode & 07777);
}

static bool exists(const char *path)
{
	struct stat st;

	return !lstat(path, &st);
}

static bool on_tmpfs(const char *path)
{
	struct statfs sf;

	return !statfs(path, &sf) && sf.f_type == TMPFS_MAGIC;
}

/* Whether anything is mounted at or below @prefix. */
static bool mounted_under(const char *prefix)
{
	char line[4096], mp[4096];
	bool found = false;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 &&
		    !strncmp(mp, prefix, strlen(prefix)))
			found = true;
	fclose(f);
	return found;
}

static int setup(const char *pod_dir, json_t *pod, struct skiff_error *e)
{
	int err = skiff_volumes_setup(pod_dir, pod, lookup, NULL, e);

	if (err)
		tap_diag("skiff_volumes_setup: %d %s", err, e->msg);
	return err;
}

/* A fresh pod directory for a refusal: the setup must leave it empty. */
static void refused(json_t *vols, int want, const char *msg_part, const char *what)
{
	char *pod_dir = path_of("%s/rejected", dir);
	struct skiff_error e;
	json_t *pod = pod_with(vols);
	int err;

	mkdir(pod_dir, 0755);
	err = skiff_volumes_setup(pod_dir, pod, lookup, NULL, &e);
	tap_ok(err == want && strstr(e.msg, msg_part) &&
	       !exists(path_of("%s/volumes", pod_dir)),
	       "rejected, nothing written: %s", what);
	if (err != want || !strstr(e.msg, msg_part))
		tap_diag("got %d \"%s\", want %d and \"%s\"", err, e.msg, want, msg_part);
	skiff_volumes_teardown(pod_dir, &e);
	rmdir(pod_dir);
	json_decref(pod);
}

/* Sets @vols up in a fresh pod directory and tears them down. */
static int try_setup(json_t *vols)
{
	char *pod_dir = path_of("%s/tried", dir);
	struct skiff_error e;
	json_t *pod = pod_with(vols);
	int err;

	mkdir(pod_dir, 0755);
	err = skiff_volumes_setup(pod_dir, pod, lookup, NULL, &e);
	if (err)
		tap_diag("skiff_volumes_setup: %d %s", err, e.msg);
	skiff_volumes_teardown(pod_dir, &e);
	rmdir(pod_dir);
	json_decref(pod);
	return err;
}

static json_t *volumes(void)
{
	char *host = path_of("%s/host/sub", dir);
	json_t *v = json_array();

	json_array_append_new(v, J("{`name`: `scratch`, `emptyDir`: {}}"));
	json_array_append_new(v, J("{`name`: `mem`, `emptyDir`: {`medium`: `Memory`,\n"
				   "`sizeLimit`: `16Mi`}}"));
	json_array_append_new(v, J("{`name`: `host`, `hostPath`: {`path`: `%s`,\n"
				   "`type`: `DirectoryOrCreate`}}", host));
	json_array_append_new(v, J("{`name`: `cfg`, `configMap`: {`name`: `app`}}"));
	json_array_append_new(v, J("{`name`: `items`, `configMap`: {`name`: `app`,\n"
				   "`defaultMode`: 416, `items`: [{`key`: `a`,\n"
				   "`path`: `dir/a.txt`, `mode`: 384},\n"
				   "{`key`: `c`, `path`: `c`}]}}"));
	json_array_append_new(v, J("{`name`: `sec`, `secret`: {`secretName`: `creds`}}"));
	json_array_append_new(v, J("{`name`: `sec-mode`, `secret`: {`secretName`: `creds`,\n"
				   "`defaultMode`: 288}}"));
	json_array_append_new(v, J("{`name`: `opt`, `configMap`: {`name`: `nothing`,\n"
				   "`optional`: true}}"));
	json_array_append_new(v, J("{`name`: `opt-key`, `configMap`: {`name`: `app`,\n"
				   "`optional`: true, `items`: [{`key`: `zz`, `path`: `zz`}]}}"));
	return v;
}

static void test_setup(const char *pod_dir, json_t *pod)
{
	char v[PATH_MAX + 16];
	struct skiff_error e;
	struct statfs sf;
	char *data;

	snprintf(v, sizeof(v), "%s/volumes", pod_dir);
	tap_is_int(setup(pod_dir, pod, &e), 0, "volumes set up");

	tap_is_int(mode_of(path_of("%s/scratch", v)), 0777, "emptyDir: a directory, mode 0777");
	tap_ok(!on_tmpfs(path_of("%s/scratch", v)) || on_tmpfs(pod_dir),
	       "emptyDir: on the pod directory's file system");
	tap_ok(!statfs(path_of("%s/mem", v), &sf) && sf.f_type == TMPFS_MAGIC &&
	       (long long)sf.f_blocks * sf.f_bsize == 16LL * MIB,
	       "emptyDir medium Memory: a tmpfs of sizeLimit 16Mi");
	tap_is_int(mode_of(path_of("%s/host/sub", dir)), 0755,
		   "hostPath DirectoryOrCreate: made, mode 0755");
	tap_ok(!exists(path_of("%s/host", v)), "hostPath: nothing under the pod directory");

	tap_is_str(slurp(path_of("%s/cfg/a", v)), "alpha", "configMap: key a as a file");
	tap_is_str(slurp(path_of("%s/cfg/b", v)), "beta", "configMap: key b as a file");
	tap_is_str(slurp(path_of("%s/cfg/bin", v)), "x", "configMap: binaryData decoded");
	tap_is_str(link_of(path_of("%s/cfg/a", v)), "..data/a", "configMap: a -> ..data/a");
	data = link_of(path_of("%s/cfg/..data", v));
	tap_ok(data && !strncmp(data, "..20", 4) && strlen(data) == 31,
	       "configMap: ..data -> a timestamped directory (%s)", data ?: "none");
	tap_is_int(mode_of(path_of("%s/cfg/a", v)), 0644, "configMap: default mode 0644");
	tap_ok(!on_tmpfs(path_of("%s/cfg", v)) || on_tmpfs(pod_dir),
	       "configMap: not on a tmpfs of its own");

	tap_is_str(slurp(path_of("%s/items/dir/a.txt", v)), "alpha", "items: key a at dir/a.txt");
	tap_is_str(link_of(path_of("%s/items/dir", v)), "..data/dir", "items: dir -> ..data/dir");
	tap_is_int(mode_of(path_of("%s/items/dir/a.txt", v)), 0600, "items: the item's mode");
	tap_is_int(mode_of(path_of("%s/items/c", v)), 0640, "items: defaultMode otherwise");
	tap_ok(!exists(path_of("%s/items/a", v)) && !exists(path_of("%s/items/b", v)),
	       "items: keys not listed are left out");

	tap_is_str(slurp(path_of("%s/sec/user", v)), "admin", "secret: base64 data decoded");
	tap_is_int(mode_of(path_of("%s/sec/user", v)), 0400, "secret: files mode 0400");
	tap_ok(on_tmpfs(path_of("%s/sec", v)) && on_tmpfs(path_of("%s/sec/user", v)),
	       "secret: on a tmpfs");
	tap_is_int(mode_of(path_of("%s/sec-mode/pass", v)), 0440, "secret: defaultMode honoured");

	tap_ok(exists(path_of("%s/opt/..data", v)) && !exists(path_of("%s/opt/a", v)),
	       "optional missing configMap: an empty volume");
	tap_ok(exists(path_of("%s/opt-key/..data", v)) && !exists(path_of("%s/opt-key/zz", v)),
	       "optional configMap, missing item key: skipped");
}

static void test_update(const char *pod_dir, json_t *pod)
{
	char v[PATH_MAX + 16], old[PATH_MAX], buf[32];
	struct skiff_error e;
	ssize_t n;
	int fd;

	snprintf(v, sizeof(v), "%s/volumes", pod_dir);
	snprintf(old, sizeof(old), "%s", link_of(path_of("%s/cfg/..data", v)) ?: "");
	tap_is_int(setup(pod_dir, pod, &e), 0, "set up again, unchanged");
	tap_is_str(link_of(path_of("%s/cfg/..data", v)), old, "unchanged: ..data not swapped");
	tap_ok(mounted_under(path_of("%s/sec", v)) && on_tmpfs(path_of("%s/sec", v)),
	       "unchanged: the secret's tmpfs still mounted");

	fd = open(path_of("%s/cfg/a", v), O_RDONLY);
	put("ConfigMap", "app", J("{`a`: `alpha2`, `c`: `gamma2`, `d`: `delta`}"));
	tap_is_int(setup(pod_dir, pod, &e), 0, "configMap changed: set up again");
	tap_ok(strcmp(link_of(path_of("%s/cfg/..data", v)) ?: old, old),
	       "..data now points to a new directory");
	tap_ok(exists(path_of("%s/cfg/%s", v, old)),
	       "the replaced directory stays a while, for readers that had resolved ..data");
	tap_is_str(slurp(path_of("%s/cfg/a", v)), "alpha2", "a has the new content");
	tap_is_str(slurp(path_of("%s/cfg/d", v)), "delta", "a new key appears");
	tap_ok(!exists(path_of("%s/cfg/b", v)), "a removed key disappears");
	n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n < 0 ? 0 : n] = '\0';
	tap_is_str(buf, "alpha", "a file opened before the swap still reads the old content");
	if (fd >= 0)
		close(fd);
	tap_ok(!setup(pod_dir, pod, &e) && !exists(path_of("%s/cfg/%s", v, old)),
	       "the next setup removes it");
	tap_ok(!strcmp(slurp(path_of("%s/items/c", v)) ?: "", "gamma2") &&
	       !strcmp(slurp(path_of("%s/items/dir/a.txt", v)) ?: "", "alpha2"),
	       "items volume follows the change");
}

static bool all_of(const char *buf, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (buf[i] != buf[0])
			return false;
	return n == BIG && (buf[0] == 'A' || buf[0] == 'B');
}

/* Reads @path until @stop closes: counts whole old/new contents and others. */
static void reader(const char *path, int stop, int out)
{
	static char buf[BIG + 16];
	long counts[2] = { 0, 0 };
	ssize_t n, got;
	char c = 0;
	int fd;

	while (read(stop, &c, 1) < 0 && errno == EAGAIN) {
		fd = open(path, O_RDONLY);
		got = 0;
		while (fd >= 0 && (n = read(fd, buf + got, sizeof(buf) - (size_t)got)) > 0)
			got += n;
		if (fd >= 0)
			close(fd);
		counts[!all_of(buf, (size_t)got)]++;
		if (counts[0] + counts[1] == 1 && write(out, &c, 1) != 1)
			_exit(1);
	}
	_exit(write(out, counts, sizeof(counts)) == sizeof(counts) ? 0 : 1);
}

static void test_atomic(const char *pod_dir, json_t *pod)
{
	static char big[BIG + 1];
	long counts[2] = { -1, -1 };
	int stop[2], out[2], i, fails = 0;
	struct skiff_error e;
	char c;
	pid_t pid;

	memset(big, 'A', BIG);
	put("ConfigMap", "app", J("{`a`: `1`, `c`: `3`, `big`: `%s`}", big));
	setup(pod_dir, pod, &e);
	if (pipe2(stop, O_NONBLOCK) || pipe(out))
		return;
	pid = fork();
	if (!pid) {
		close(stop[1]);
		reader(path_of("%s/volumes/cfg/big", pod_dir), stop[0], out[1]);
	}
	close(stop[0]);
	close(out[1]);
	/* the reader has read once */
	if (read(out[0], &c, 1) != 1)
		fails++;
	for (i = 0; i < 100; i++) {
		memset(big, i % 2 ? 'A' : 'B', BIG);
		put("ConfigMap", "app", J("{`a`: `1`, `c`: `3`, `big`: `%s`}", big));
		fails += !!skiff_volumes_setup(pod_dir, pod, lookup, NULL, &e);
	}
	close(stop[1]);
	if (read(out[0], counts, sizeof(counts)) != sizeof(counts))
		fails++;
	close(out[0]);
	waitpid(pid, NULL, 0);
	tap_is_int(fails, 0, "100 updates of a 64 KiB key under a reader");
	tap_ok(counts[0] > 0 && counts[1] == 0,
	       "the reader saw only whole old or new contents (%ld reads, %ld torn or missing)",
	       counts[0], counts[1]);
	tap_is_str(slurp(path_of("%s/volumes/cfg/..data/big", pod_dir)) ? "ok" : NULL, "ok",
		   "the last content is in place");
}

static void test_mounts(const char *pod_dir, json_t *pod)
{
	json_t *ctr = J("{`name`: `app`, `volumeMounts`: [\n"
			"{`name`: `scratch`, `mountPath`: `/scratch`},\n"
			"{`name`: `cfg`, `mountPath`: `/etc/app`},\n"
			"{`name`: `host`, `mountPath`: `/host`, `readOnly`: true},\n"
			"{`name`: `scratch`, `mountPath`: `/logs`, `subPath`: `logs/app`},\n"
			"{`name`: `cfg`, `mountPath`: `/etc/big`, `subPath`: `big`}]}");
	char real[PATH_MAX], v[PATH_MAX + 16];
	struct skiff_mount *m = NULL;
	struct skiff_error e;
	unsigned int n = 0;
	int err;

	snprintf(v, sizeof(v), "%s/volumes", pod_dir);
	err = skiff_volume_mounts(pod_dir, pod, ctr, &m, &n, &e);
	tap_ok(!err && n == 5, "five volume mounts (%d %s)", err, e.msg);
	if (err || n != 5) {
		json_decref(ctr);
		return;
	}
	tap_ok(!strcmp(m[0].source, path_of("%s/scratch", v)) &&
	       !strcmp(m[0].destination, "/scratch") && !m[0].readonly,
	       "emptyDir: the volume directory, writable");
	tap_ok(!strcmp(m[1].source, path_of("%s/cfg", v)) && m[1].readonly,
	       "configMap: read-only even when readOnly is not set");
	tap_ok(!strcmp(m[2].source, path_of("%s/host/sub", dir)) && m[2].readonly,
	       "hostPath: the host path itself, readOnly honoured");
	tap_ok(realpath(path_of("%s/scratch/logs/app", v), real) &&
	       !strcmp(m[3].source, real) && mode_of(real) == 0777,
	       "subPath: made in the volume, the volume's mode");
	tap_ok(realpath(path_of("%s/cfg/big", v), real) && !strcmp(m[4].source, real) &&
	       strstr(m[4].source, "/cfg/..20"),
	       "subPath of a configMap key: the file itself");
	free(m);
	json_decref(ctr);

	symlink("/etc", path_of("%s/scratch/evil", v));
	ctr = J("{`name`: `app`, `volumeMounts`: [{`name`: `scratch`, `mountPath`: `/x`,\n"
		"`subPath`: `evil/passwd`}]}");
	err = skiff_volume_mounts(pod_dir, pod, ctr, &m, &n, &e);
	tap_ok(err == -EPERM && strstr(e.msg, "out of the volume") && !m && !n,
	       "subPath through a symlink out of the volume refused");
	json_decref(ctr);

	ctr = J("{`name`: `app`, `volumeMounts`: [{`name`: `scratch`, `mountPath`: `/x`,\n"
		"`subPath`: `a/../../b`}]}");
	err = skiff_volume_mounts(pod_dir, pod, ctr, &m, &n, &e);
	tap_ok(err == -EINVAL && strstr(e.msg, "'..'"), "subPath with '..' refused");
	json_decref(ctr);

	ctr = J("{`name`: `app`, `volumeMounts`: [{`name`: `nope`, `mountPath`: `/x`}]}");
	err = skiff_volume_mounts(pod_dir, pod, ctr, &m, &n, &e);
	tap_ok(err == -EINVAL && strstr(e.msg, "\"nope\"") && !m,
	       "a mount of an unknown volume: -EINVAL naming it (%s)", e.msg);
	json_decref(ctr);

	ctr = J("{`name`: `app`, `volumeMounts`: [{`name`: `cfg`, `mountPath`: `x`}]}");
	err = skiff_volume_mounts(pod_dir, pod, ctr, &m, &n, &e);
	tap_ok(err == -EINVAL && strstr(e.msg, "absolute"), "a relative mountPath refused");
	json_decref(ctr);

	ctr = J("{`name`: `app`, `volumeMounts`: [{`name`: `cfg`, `mountPath`: `/a`},\n"
		"{`name`: `scratch`, `mountPath`: `/a`}]}");
	err = skiff_volume_mounts(pod_dir, pod, ctr, &m, &n, &e);
	tap_ok(err == -EINVAL && strstr(e.msg, "unique"), "two mounts at one path refused");
	json_decref(ctr);

	ctr = J("{`name`: `app`}");
	err = skiff_volume_mounts(pod_dir, pod, ctr, &m, &n, &e);
	tap_ok(!err && !m && !n, "no volumeMounts: none");
	json_decref(ctr);

	ctr = J("{`name`: `app`, `volumeMounts`: [{`name`: `sec`, `mountPath`: `/s`}]}");
	err = skiff_volume_mounts(pod_dir, json_object_get(pod, "spec"), ctr, &m, &n, &e);
	tap_ok(!err && n == 1 && !strcmp(m[0].source, path_of("%s/sec", v)) && m[0].readonly,
	       "the pod's spec alone will do");
	free(m);
	json_decref(ctr);
}

static void test_teardown(const char *pod_dir)
{
	char v[PATH_MAX + 16];
	struct skiff_error e;
	int fd;

	snprintf(v, sizeof(v), "%s/volumes", pod_dir);
	/* a mount below a volume, as a stray bind would be */
	mount("tmpfs", path_of("%s/scratch/logs", v), "tmpfs", 0, NULL);
	fd = open(path_of("%s/host/sub/keep", dir), O_CREAT | O_WRONLY, 0644);
	if (fd >= 0)
		close(fd);
	tap_ok(mounted_under(v), "before teardown: tmpfs mounts under the volumes");
	tap_is_int(skiff_volumes_teardown(pod_dir, &e), 0, "teardown");
	tap_ok(!mounted_under(v), "teardown: nothing mounted under the volumes any more");
	tap_ok(!exists(v), "teardown: the volumes are gone");
	tap_ok(exists(path_of("%s/host/sub/keep", dir)) && exists("/etc/passwd"),
	       "teardown: host files (hostPath, symlink targets) untouched");
	tap_is_int(skiff_volumes_teardown(pod_dir, &e), 0, "teardown again: none, 0");
}

static void test_refusals(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char sock[64];
	int fd;

	snprintf(sock, sizeof(sock), "%s/host/sock", dir);
	refused(J("[{`name`: `a`, `emptyDir`: {}}, {`name`: `b`, `configMap`: {`name`: `gone`}}]"),
		-ENOENT, "configmap \"gone\" not found", "required configMap missing");
	refused(J("[{`name`: `a`, `secret`: {`secretName`: `gone`}}]"),
		-ENOENT, "secret \"gone\" not found", "required secret missing");
	refused(J("[{`name`: `a`, `configMap`: {`name`: `app`, `items`: [{`key`: `zz`,\n"
		  "`path`: `zz`}]}}]"),
		-ENOENT, "non-existent config key: zz", "item of a missing key");
	refused(J("[{`name`: `a`, `configMap`: {`name`: `app`, `items`: [{`key`: `c`,\n"
		  "`path`: `../x`}]}}]"),
		-EINVAL, "'..'", "item path with '..'");
	refused(J("[{`name`: `a`, `configMap`: {`name`: `app`, `items`: [{`key`: `c`,\n"
		  "`path`: `/etc/x`}]}}]"),
		-EINVAL, "relative", "absolute item path");
	refused(J("[{`name`: `a`, `configMap`: {`name`: `app`, `items`: [{`key`: `c`,\n"
		  "`path`: `..data/x`}]}}]"),
		-EINVAL, "must not start with '..'", "item path starting with '..'");
	refused(J("[{`name`: `a`, `configMap`: {`name`: `app`, `items`: [{`key`: `c`,\n"
		  "`path`: `x`}, {`key`: `a`, `path`: `x/y`}]}}]"),
		-EINVAL, "both a file and a directory", "item paths in conflict");
	refused(J("[{`name`: `a`, `configMap`: {`name`: `app`, `items`: [{`key`: `c`,\n"
		  "`path`: `x`}, {`key`: `a`, `path`: `x`}]}}]"),
		-EINVAL, "Duplicate", "two items at one path");
	refused(J("[{`name`: `a`, `configMap`: {`name`: `app`, `defaultMode`: 512}}]"),
		-EINVAL, "0777", "defaultMode 01000");
	refused(J("[{`name`: `a`, `secret`: {`secretName`: `creds`, `items`: [{`key`: `user`,\n"
		  "`path`: `u`, `mode`: -1}]}}]"),
		-EINVAL, "0777", "item mode -1");
	refused(J("[{`name`: `Bad_Name`, `emptyDir`: {}}]"),
		-EINVAL, "DNS label", "volume name not a DNS label");
	refused(J("[{`name`: `a`, `emptyDir`: {}}, {`name`: `a`, `emptyDir`: {}}]"),
		-EINVAL, "Duplicate", "two volumes of one name");
	refused(J("[{`name`: `a`, `persistentVolumeClaim`: {`claimName`: `c`}}]"),
		-EINVAL, "persistentVolumeClaim", "an unsupported volume type");
	refused(J("[{`name`: `a`}]"), -EINVAL, "exactly one", "a volume without a type");
	refused(J("[{`name`: `a`, `emptyDir`: {`medium`: `HugePages`}}]"),
		-EINVAL, "HugePages", "emptyDir medium HugePages");
	refused(J("[{`name`: `a`, `emptyDir`: {`medium`: `Memory`, `sizeLimit`: `lots`}}]"),
		-EINVAL, "sizeLimit", "a sizeLimit that is no quantity");
	refused(J("[{`name`: `a`, `hostPath`: {`path`: `%s/none`, `type`: `Directory`}}]", dir),
		-ENOENT, "is not a directory", "hostPath Directory missing");
	refused(J("[{`name`: `a`, `hostPath`: {`path`: `%s`, `type`: `File`}}]", dir),
		-EINVAL, "is not a file", "hostPath File that is a directory");
	refused(J("[{`name`: `a`, `hostPath`: {`path`: `%s`, `type`: `Socket`}}]", dir),
		-EINVAL, "is not a socket file", "hostPath Socket that is a directory");
	refused(J("[{`name`: `a`, `hostPath`: {`path`: `%s`, `type`: `Dir`}}]", dir),
		-EINVAL, "Unsupported value", "hostPath of an unknown type");
	refused(J("[{`name`: `a`, `hostPath`: {`path`: `tmp/x`}}]"),
		-EINVAL, "absolute", "relative hostPath");
	refused(J("[{`name`: `a`, `hostPath`: {`path`: `/tmp/../etc`}}]"),
		-EINVAL, "'..'", "hostPath with '..'");
	put("Secret", "bad64", J("{`k`: `not base64!`}"));
	refused(J("[{`name`: `a`, `secret`: {`secretName`: `bad64`}}]"),
		-EINVAL, "base64", "secret data that is not base64");
	drop("Secret", "bad64");

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	tap_ok(fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	       !try_setup(J("[{`name`: `a`, `hostPath`: {`path`: `%s`, `type`: `Socket`}}]",
			    sock)),
	       "hostPath Socket that is a socket: accepted");
	if (fd >= 0)
		close(fd);
}

/* ---- environment ---------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	umount2(p, MNT_DETACH);
	remove(p);
	return 0;
}

static json_t *env_pod(void)
{
	json_t *pod = J("{`metadata`: {`name`: `web-0`, `namespace`: `ns`, `uid`: `u-1`,\n"
			"`labels`: {`app`: `web`}, `annotations`: {`team`: `net`}}}");

	json_object_set_new(pod, "spec",
			    J("{`nodeName`: `node-1`, `serviceAccountName`: `sa`,\n"
			      "`containers`: [{`name`: `app`}, {`name`: `side`}]}"));
	return pod;
}

static const char *env_get(char **env, const char *name)
{
	size_t n = strlen(name);
	const char *found = NULL;

	for (; env && *env; env++)
		if (!strncmp(*env, name, n) && (*env)[n] == '=')
			found = found ? "(twice)" : *env + n + 1;
	return found;
}

static int env_index(char **env, const char *name)
{
	size_t n = strlen(name);
	int i;

	for (i = 0; env && env[i]; i++)
		if (!strncmp(env[i], name, n) && env[i][n] == '=')
			return i;
	return -1;
}

/* A container named app with @env and @env_from (taken, may be NULL). */
static json_t *ctr_with(json_t *env, json_t *env_from)
{
	json_t *c = J("{`name`: `app`, `resources`: {`limits`: {`cpu`: `500m`,\n"
		      "`memory`: `64Mi`}, `requests`: {`cpu`: `250m`}}}");

	if (env)
		json_object_set_new(c, "env", env);
	if (env_from)
		json_object_set_new(c, "envFrom", env_from);
	return c;
}

static json_t *env_list(void)
{
	json_t *v = json_array();

	json_array_append_new(v, J("{`name`: `A`, `value`: `override`}"));
	json_array_append_new(v, J("{`name`: `GREETING`, `value`:\n"
				   "`hi $(A) $$(A) $(LATER) $(FROM_IMAGE) $$ $x $(`}"));
	json_array_append_new(v, J("{`name`: `LATER`, `value`: `late`}"));
	json_array_append_new(v, J("{`name`: `EMPTY`}"));
	json_array_append_new(v, J("{`name`: `DUP`, `value`: `first`}"));
	json_array_append_new(v, J("{`name`: `DUP`, `value`: `second`}"));
	json_array_append_new(v, J("{`name`: `REF`, `value`: `$(DUP)-$(S_TOKEN)`}"));
	json_array_append_new(v, J("{`name`: `CMK`, `valueFrom`: {`configMapKeyRef`:\n"
				   "{`name`: `env-cm`, `key`: `A`}}}"));
	json_array_append_new(v, J("{`name`: `SK`, `valueFrom`: {`secretKeyRef`:\n"
				   "{`name`: `env-sec`, `key`: `TOKEN`}}}"));
	json_array_append_new(v, J("{`name`: `OPT_KEY`, `valueFrom`: {`configMapKeyRef`:\n"
				   "{`name`: `env-cm`, `key`: `nope`, `optional`: true}}}"));
	json_array_append_new(v, J("{`name`: `OPT_CM`, `valueFrom`: {`secretKeyRef`:\n"
				   "{`name`: `none`, `key`: `x`, `optional`: true}}}"));
	json_array_append_new(v, J("{`name`: `NOEXPAND`, `valueFrom`: {`configMapKeyRef`:\n"
				   "{`name`: `env-cm`, `key`: `REFS`}}}"));
	return v;
}

static const char *const fields[][2] = {
	{ "metadata.name", "web-0" }, { "metadata.namespace", "ns" },
	{ "metadata.uid", "u-1" }, { "metadata.labels['app']", "web" },
	{ "metadata.annotations['team']", "net" }, { "metadata.labels['none']", "" },
	{ "spec.nodeName", "node-1" }, { "spec.serviceAccountName", "sa" },
	{ "status.podIP", "10.244.1.5" }, { "status.hostIP", "192.168.0.10" },
};

static const char *const resources[][4] = {
	/* container, resource, divisor, value */
	{ "", "limits.cpu", "1", "1" },
	{ "", "limits.cpu", "1m", "500" },
	{ "", "limits.memory", "1Mi", "64" },
	{ "", "limits.memory", "1", "67108864" },
	{ "", "requests.cpu", "1m", "250" },
	{ "", "requests.memory", "1Ki", "65536" },
	{ "side", "requests.cpu", "1m", "0" },
};

static void test_env_sources(json_t *pod)
{
	json_t *image = J("[`PATH=/usr/bin`, `HOME=/root`, `FROM_IMAGE=1`]");
	json_t *from = J("[{`configMapRef`: {`name`: `env-cm`}},\n"
			 "{`prefix`: `S_`, `secretRef`: {`name`: `env-sec`}},\n"
			 "{`configMapRef`: {`name`: `none`, `optional`: true}}]");
	json_t *env = env_list(), *ctr;
	struct skiff_error e;
	char **out = NULL, name[32], want[64], *cmd;
	size_t i;
	int err;

	for (i = 0; i < ARRAY_SIZE(fields); i++)
		json_array_append_new(env, J("{`name`: `F%zu`, `valueFrom`: {`fieldRef`:\n"
					     "{`fieldPath`: `%s`}}}", i, fields[i][0]));
	for (i = 0; i < ARRAY_SIZE(resources); i++)
		json_array_append_new(env, J("{`name`: `R%zu`, `valueFrom`: {`resourceFieldRef`:\n"
					     "{`containerName`: `%s`, `resource`: `%s`,\n"
					     "`divisor`: `%s`}}}", i, resources[i][0],
					     resources[i][1], resources[i][2]));
	json_array_append_new(env, J("{`name`: `NODE_MEM`, `valueFrom`: {`resourceFieldRef`:\n"
				     "{`containerName`: `side`, `resource`: `limits.memory`}}}"));
	ctr = ctr_with(env, from);
	err = skiff_container_env(pod, ctr, image, "10.244.1.5", "192.168.0.10", lookup, NULL,
				  &out, &e);
	tap_ok(!err && out, "environment made (%d %s)", err, e.msg);
	if (err || !out)
		goto out;
	tap_ok(env_index(out, "PATH") == 0 && env_index(out, "HOME") == 1 &&
	       env_index(out, "FROM_IMAGE") == 2, "the image's variables first, in order");
	tap_is_str(env_get(out, "HOME"), "/home/app", "envFrom replaces the image's HOME");
	tap_is_str(env_get(out, "FROM_IMAGE"), "1", "the image's own stay");
	tap_is_str(env_get(out, "A"), "override", "env replaces an envFrom variable");
	tap_ok(env_index(out, "A") < env_index(out, "GREETING"), "in place, in order");
	tap_is_str(env_get(out, "OK.dot"), "y", "envFrom: a dotted key is a valid name");
	tap_is_str(env_get(out, "S_TOKEN"), "s3cret", "envFrom secretRef: prefix, decoded");
	tap_is_str(env_get(out, "S_-dash"), "d", "envFrom: a prefixed key that becomes valid");
	tap_ok(!env_get(out, "1BAD") && !env_get(out, "bad key") && !env_get(out, "S_x=y"),
	       "envFrom: keys that are no valid names skipped");
	tap_ok(e.err == 0 && strstr(e.msg, "Keys [1BAD, bad key]") &&
	       strstr(e.msg, "configMap ns/env-cm were skipped"),
	       "the skipped keys reported as the kubelet's event (%s)", e.msg);
	tap_is_str(env_get(out, "GREETING"), "hi override $(A) $(LATER) $(FROM_IMAGE) $ $x $(",
		   "$(VAR) expanded, $$ escaped, unresolved and later ones left as is");
	tap_is_str(env_get(out, "EMPTY"), "", "a variable without a value is empty");
	tap_is_str(env_get(out, "DUP"), "second", "a later entry replaces an earlier one");
	tap_is_str(env_get(out, "REF"), "second-s3cret", "references see envFrom and env");
	tap_is_str(env_get(out, "CMK"), "1", "configMapKeyRef");
	tap_is_str(env_get(out, "SK"), "s3cret", "secretKeyRef, decoded");
	tap_ok(!env_get(out, "OPT_KEY") && !env_get(out, "OPT_CM"),
	       "optional key or object missing: not set");
	tap_is_str(env_get(out, "NOEXPAND"), "$(A)", "valueFrom is never expanded");
	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		snprintf(name, sizeof(name), "F%zu", i);
		tap_is_str(env_get(out, name), fields[i][1], "fieldRef %s", fields[i][0]);
	}
	for (i = 0; i < ARRAY_SIZE(resources); i++) {
		snprintf(name, sizeof(name), "R%zu", i);
		tap_is_str(env_get(out, name), resources[i][3], "resourceFieldRef %s%s%s/%s",
			   resources[i][0], resources[i][0][0] ? ": " : "", resources[i][1],
			   resources[i][2]);
	}
	snprintf(want, sizeof(want), "%lld",
		 (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE));
	tap_is_str(env_get(out, "NODE_MEM"), want,
		   "resourceFieldRef limits.memory without a limit: the node's memory");
	cmd = skiff_env_expand("run $(A) $(S_TOKEN) $$(A) $(NONE) $(PATH)", out);
	tap_is_str(cmd, "run override s3cret $(A) $(NONE) /usr/bin",
		   "command and args expanded from the environment");
	free(cmd);
out:
	free(out);
	json_decref(ctr);
	json_decref(image);
}

/* One env entry (or envFrom when @from) that must be refused. */
static void env_refused(json_t *pod, json_t *entry, bool from, int want, const char *part,
			const char *what)
{
	json_t *ctr = from ? ctr_with(NULL, json_pack("[o]", entry)) :
			     ctr_with(json_pack("[o]", entry), NULL);
	char **out = (char **)1;
	struct skiff_error e;
	int err;

	err = skiff_container_env(pod, ctr, NULL, NULL, NULL, lookup, NULL, &out, &e);
	tap_ok(err == want && !out && strstr(e.msg, part), "rejected: %s", what);
	if (err != want || !strstr(e.msg, part))
		tap_diag("got %d \"%s\", want %d and \"%s\"", err, e.msg, want, part);
	json_decref(ctr);
}

static void test_env_refusals(json_t *pod)
{
	env_refused(pod, J("{`name`: `X`, `valueFrom`: {`configMapKeyRef`:\n"
			   "{`name`: `nope`, `key`: `A`}}}"), false,
		    -ENOENT, "configmap \"nope\" not found", "configMapKeyRef of a missing map");
	env_refused(pod, J("{`name`: `X`, `valueFrom`: {`configMapKeyRef`:\n"
			   "{`name`: `env-cm`, `key`: `nope`}}}"), false,
		    -ENOENT, "couldn't find key nope in ConfigMap ns/env-cm", "a missing key");
	env_refused(pod, J("{`name`: `X`, `valueFrom`: {`secretKeyRef`:\n"
			   "{`name`: `nope`, `key`: `A`}}}"), false,
		    -ENOENT, "secret \"nope\" not found", "secretKeyRef of a missing secret");
	env_refused(pod, J("{`name`: `X`, `valueFrom`: {`secretKeyRef`:\n"
			   "{`name`: `env-sec`, `key`: `nope`}}}"), false,
		    -ENOENT, "couldn't find key nope in Secret ns/env-sec", "a missing secret key");
	env_refused(pod, J("{`configMapRef`: {`name`: `nope`}}"), true,
		    -ENOENT, "configmap \"nope\" not found", "envFrom of a missing map");
	env_refused(pod, J("{`secretRef`: {`name`: `nope`}}"), true,
		    -ENOENT, "secret \"nope\" not found", "envFrom of a missing secret");
	env_refused(pod, J("{`name`: `1X`, `value`: `v`}"), false,
		    -EINVAL, "env[0].name", "a name starting with a digit");
	env_refused(pod, J("{`name`: `X`, `valueFrom`: {`fieldRef`:\n"
			   "{`fieldPath`: `spec.containers`}}}"), false,
		    -EINVAL, "unsupported fieldPath: spec.containers", "an unsupported fieldPath");
	env_refused(pod, J("{`name`: `X`, `valueFrom`: {`resourceFieldRef`:\n"
			   "{`resource`: `limits.nvidia.com/gpu`}}}"), false,
		    -EINVAL, "unsupported resource", "an unsupported resource");
	env_refused(pod, J("{`name`: `X`, `valueFrom`: {`resourceFieldRef`:\n"
			   "{`resource`: `limits.cpu`, `divisor`: `0`}}}"), false,
		    -EINVAL, "divisor", "a zero divisor");
	env_refused(pod, J("{`name`: `X`, `valueFrom`: {`resourceFieldRef`:\n"
			   "{`containerName`: `ghost`, `resource`: `limits.cpu`}}}"), false,
		    -EINVAL, "ghost", "resourceFieldRef of an unknown container");
	env_refused(pod, J("{`name`: `X`, `valueFrom`: {`secretKeyRef`:\n"
			   "{`name`: `nul-sec`, `key`: `NUL`}}}"), false,
		    -EINVAL, "NUL", "a secret value with a NUL byte");
	env_refused(pod, J("{`prefix`: `P`}"), true,
		    -EINVAL, "configMapRef or secretRef", "envFrom without a source");
}

int main(void)
{
	char pod_dir[PATH_MAX];
	struct skiff_error e;
	json_t *pod;

	if (geteuid()) {
		printf("1..0 # SKIP needs root (mount namespaces, tmpfs)\n");
		return 0;
	}
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		printf("1..0 # SKIP cannot make a private mount namespace: %s\n", strerror(errno));
		return 0;
	}
	snprintf(dir, sizeof(dir), "/tmp/skiff-volume-XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	umask(022);
	store = json_object();
	put("ConfigMap", "app", J("{`a`: `alpha`, `b`: `beta`, `c`: `gamma`}"));
	json_object_set_new(json_object_get(store, "ConfigMap/ns/app"), "binaryData",
			    J("{`bin`: `eA==`}"));
	put("Secret", "creds", J("{`user`: `YWRtaW4=`, `pass`: `cEBzcw==`}"));
	put("ConfigMap", "env-cm", J("{`A`: `1`, `HOME`: `/home/app`, `1BAD`: `x`,\n"
				     "`bad key`: `x`, `OK.dot`: `y`, `REFS`: `$(A)`}"));
	put("Secret", "env-sec", J("{`TOKEN`: `czNjcmV0`, `-dash`: `ZA==`, `x=y`: `eA==`}"));
	put("Secret", "nul-sec", J("{`NUL`: `YQBi`}"));

	tap_plan(133);

	snprintf(pod_dir, sizeof(pod_dir), "%s/pod", dir);
	mkdir(pod_dir, 0755);
	pod = pod_with(volumes());
	test_setup(pod_dir, pod);
	test_update(pod_dir, pod);
	test_atomic(pod_dir, pod);
	test_mounts(pod_dir, pod);
	test_teardown(pod_dir);
	json_decref(pod);
	test_refusals();

	pod = env_pod();
	test_env_sources(pod);
	test_env_refusals(pod);
	json_decref(pod);

	skiff_volumes_teardown(pod_dir, &e);
	umount2(dir, MNT_DETACH);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	json_decref(store);
	return tap_done();
}
