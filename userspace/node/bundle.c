// SPDX-License-Identifier: GPL-2.0
/*
 * A container's OCI bundle: the directory runc is run in.
 *
 *   DIR/rootfs/       overlayfs: the image's rootfs as the lower layer
 *   DIR/upper/        the container's writes
 *   DIR/work/         overlayfs' own
 *   DIR/config.json   OCI runtime spec 1.0, written whole (rename)
 *
 * A read-only root file system is the same overlay with "root.readonly"
 * set, as containerd does it: runc makes the mount points of the bind
 * mounts (/etc/hosts, volumes) in the root before remounting it read-only,
 * which a read-only bind of the image would refuse.
 *
 * config.json follows `runc spec` (mounts, masked and read-only paths)
 * with what Kubernetes gives a container on containerd: its default
 * capability set with securityContext's add and drop, no_new_privs off,
 * the pod's network namespace joined by path, and the CPU and memory
 * limits as cgroup resources.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <jansson.h>

#include "files.h"
#include "image.h"
#include "runtime.h"
#include "util.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_CPU_PERIOD 100000

#define MOUNT_FMT "{s:s, s:s, s:s}"
#define MOUNT_OPTS_FMT "{s:s, s:s, s:s, s:o}"
#define RLIMIT_FMT "[{s:s, s:I, s:I}]"
#define USER_FMT "{s:I, s:I}"
#define DENY_FMT "[{s:b, s:s}]"

/* The kernel's capabilities, in bit order. */
static const char *const all_caps[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

/* What a Kubernetes container gets by default (containerd's set). */
static const char *const default_caps[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
};

static const char *const masked_paths[] = {
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/sys/firmware", "/proc/scsi",
};

static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* @name ("NET_ADMIN", "CAP_NET_ADMIN", any case) as a bit; -1 if unknown. */
static int cap_bit(const char *name)
{
	size_t i;

	if (!strncasecmp(name, "CAP_", 4))
		name += 4;
	for (i = 0; i < ARRAY_SIZE(all_caps); i++) {
		if (!strcasecmp(all_caps[i] + 4, name))
			return i;
	}
	return -1;
}

static bool has_all(const char *const *list)
{
	for (; list && *list; list++) {
		if (!strcasecmp(*list, "ALL"))
			return true;
	}
	return false;
}

/*
 * The capability set: "ALL" in add, then "ALL" in drop, then the named
 * adds and drops, in the order the CRI plugin applies them.
 */
static int caps_mask(const struct skiff_container_spec *spec, uint64_t *mask,
		     struct skiff_error *e)
{
	const char *const *c;
	size_t i;
	int bit;

	*mask = 0;
	for (i = 0; i < ARRAY_SIZE(default_caps); i++)
		*mask |= 1ULL << cap_bit(default_caps[i]);
	if (has_all(spec->cap_add))
		*mask = (1ULL << ARRAY_SIZE(all_caps)) - 1;
	if (has_all(spec->cap_drop))
		*mask = 0;
	for (c = spec->cap_add; c && *c; c++) {
		bit = strcasecmp(*c, "ALL") ? cap_bit(*c) : -2;
		if (bit == -1)
			return skiff_error_set(e, -EINVAL, "unknown capability \"%s\"", *c);
		if (bit >= 0)
			*mask |= 1ULL << bit;
	}
	for (c = spec->cap_drop; c && *c; c++) {
		bit = strcasecmp(*c, "ALL") ? cap_bit(*c) : -2;
		if (bit == -1)
			return skiff_error_set(e, -EINVAL, "unknown capability \"%s\"", *c);
		if (bit >= 0)
			*mask &= ~(1ULL << bit);
	}
	return 0;
}

static json_t *strings(const char *const *list, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && (n == (size_t)-1 ? list && list[i] : i < n); i++)
		json_array_append_new(a, json_string(list[i]));
	return a;
}

static json_t *capabilities(uint64_t mask)
{
	json_t *set = json_array(), *caps;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(all_caps); i++) {
		if (mask & (1ULL << i))
			json_array_append_new(set, json_string(all_caps[i]));
	}
	caps = json_pack("{s:O, s:O, s:O}", "bounding", set, "effective", set,
			 "permitted", set);
	json_decref(set);
	return caps;
}

static json_t *process(const struct skiff_container_spec *spec, uint64_t caps)
{
	json_t *env = strings(spec->env, -1), *p;
	const char *const *v;
	struct rlimit nofile;
	bool has_path = false;

	for (v = spec->env; v && *v; v++)
		has_path |= !strncmp(*v, "PATH=", 5);
	/* runc looks the command up in the container's PATH: give it one. */
	if (!has_path)
		json_array_append_new(env, json_string(DEFAULT_PATH));
	/* Root cannot raise its hard limit here: the agent's is the ceiling. */
	if (getrlimit(RLIMIT_NOFILE, &nofile))
		nofile.rlim_max = 1024;
	p = json_object();
	json_object_set_new(p, "terminal", json_false());
	json_object_set_new(p, "user", json_pack(USER_FMT, "uid", (json_int_t)spec->uid,
						 "gid", (json_int_t)spec->gid));
	json_object_set_new(p, "args", strings(spec->args, -1));
	json_object_set_new(p, "env", env);
	json_object_set_new(p, "cwd", json_string(spec->cwd && *spec->cwd ? spec->cwd : "/"));
	json_object_set_new(p, "capabilities", capabilities(caps));
	json_object_set_new(p, "rlimits", json_pack(RLIMIT_FMT, "type", "RLIMIT_NOFILE",
						    "hard", (json_int_t)nofile.rlim_max,
						    "soft", (json_int_t)nofile.rlim_max));
	json_object_set_new(p, "noNewPrivileges", json_false());
	return p;
}

static json_t *mount_entry(const char *dest, const char *type, const char *source,
			   const char *const *opts)
{
	if (!opts)
		return json_pack(MOUNT_FMT, "destination", dest, "type", type, "source", source);
	return json_pack(MOUNT_OPTS_FMT, "destination", dest, "type", type, "source", source,
			 "options", strings(opts, -1));
}

static json_t *mounts(const struct skiff_container_spec *spec)
{
	static const char *const dev[] = { "nosuid", "strictatime", "mode=755",
					   "size=65536k", NULL };
	static const char *const pts[] = { "nosuid", "noexec", "newinstance",
					   "ptmxmode=0666", "mode=0620", "gid=5", NULL };
	static const char *const shm[] = { "nosuid", "noexec", "nodev", "mode=1777",
					   "size=65536k", NULL };
	static const char *const mq[] = { "nosuid", "noexec", "nodev", NULL };
	static const char *const sys[] = { "nosuid", "noexec", "nodev", "ro", NULL };
	static const char *const cg[] = { "nosuid", "noexec", "nodev", "relatime", "ro",
					  NULL };
	const char *bind[4] = { "rbind", "rprivate", NULL, NULL };
	json_t *m = json_array();
	unsigned int i;

	json_array_append_new(m, mount_entry("/proc", "proc", "proc", NULL));
	json_array_append_new(m, mount_entry("/dev", "tmpfs", "tmpfs", dev));
	json_array_append_new(m, mount_entry("/dev/pts", "devpts", "devpts", pts));
	json_array_append_new(m, mount_entry("/dev/shm", "tmpfs", "shm", shm));
	json_array_append_new(m, mount_entry("/dev/mqueue", "mqueue", "mqueue", mq));
	json_array_append_new(m, mount_entry("/sys", "sysfs", "sysfs", sys));
	json_array_append_new(m, mount_entry("/sys/fs/cgroup", "cgroup", "cgroup", cg));
	for (i = 0; i < spec->n_mounts; i++) {
		bind[2] = spec->mounts[i].readonly ? "ro" : "rw";
		json_array_append_new(m, mount_entry(spec->mounts[i].destination, "bind",
						     spec->mounts[i].source, bind));
	}
	return m;
}

static json_t *resources(const struct skiff_container_spec *spec)
{
	json_t *r = json_object(), *cpu = json_object();

	/* Deny all; runc adds the standard devices (null, zero, tty, ...). */
	json_object_set_new(r, "devices", json_pack(DENY_FMT, "allow", 0, "access", "rwm"));
	if (spec->memory_limit > 0)
		json_object_set_new(r, "memory", json_pack("{s:I}", "limit",
							   (json_int_t)spec->memory_limit));
	if (spec->cpu_shares)
		json_object_set_new(cpu, "shares", json_integer(spec->cpu_shares));
	if (spec->cpu_quota > 0) {
		json_object_set_new(cpu, "quota", json_integer(spec->cpu_quota));
		json_object_set_new(cpu, "period",
				    json_integer(spec->cpu_period > 0 ? spec->cpu_period :
						 DEFAULT_CPU_PERIOD));
	}
	if (json_object_size(cpu))
		json_object_set(r, "cpu", cpu);
	json_decref(cpu);
	return r;
}

static json_t *linux_section(const struct skiff_container_spec *spec)
{
	json_t *l = json_object(), *ns = json_array(), *net;

	json_array_append_new(ns, json_pack("{s:s}", "type", "pid"));
	json_array_append_new(ns, json_pack("{s:s}", "type", "ipc"));
	json_array_append_new(ns, json_pack("{s:s}", "type", "uts"));
	json_array_append_new(ns, json_pack("{s:s}", "type", "mount"));
	/*
	 * Its own cgroup namespace, as Kubernetes has on cgroup v2: without
	 * one runc shows the container the machine's whole hierarchy at
	 * /sys/fs/cgroup instead of its own cgroup and limits.
	 */
	json_array_append_new(ns, json_pack("{s:s}", "type", "cgroup"));
	net = json_pack("{s:s}", "type", "network");
	if (spec->netns_path)
		json_object_set_new(net, "path", json_string(spec->netns_path));
	json_array_append_new(ns, net);
	json_object_set_new(l, "namespaces", ns);
	if (spec->cgroups_path)
		json_object_set_new(l, "cgroupsPath", json_string(spec->cgroups_path));
	json_object_set_new(l, "resources", resources(spec));
	json_object_set_new(l, "maskedPaths", strings(masked_paths, ARRAY_SIZE(masked_paths)));
	json_object_set_new(l, "readonlyPaths",
			    strings(readonly_paths, ARRAY_SIZE(readonly_paths)));
	return l;
}

static json_t *config(const struct skiff_container_spec *spec, uint64_t caps)
{
	json_t *c = json_object();

	json_object_set_new(c, "ociVersion", json_string("1.0.2"));
	json_object_set_new(c, "process", process(spec, caps));
	json_object_set_new(c, "root", json_pack("{s:s, s:b}", "path", "rootfs",
						 "readonly", spec->readonly_rootfs));
	if (spec->hostname && *spec->hostname)
		json_object_set_new(c, "hostname", json_string(spec->hostname));
	json_object_set_new(c, "mounts", mounts(spec));
	json_object_set_new(c, "linux", linux_section(spec));
	return c;
}

static int check_spec(const struct skiff_container_spec *spec, struct skiff_error *e)
{
	struct stat st;
	unsigned int i;

	if (!spec->image_rootfs || stat(spec->image_rootfs, &st) || !S_ISDIR(st.st_mode))
		return skiff_error_set(e, -ENOENT, "image root file system %s not found",
				       spec->image_rootfs ?: "(none)");
	if (!spec->args || !spec->args[0] || !spec->args[0][0])
		return skiff_error_set(e, -EINVAL, "no command specified");
	if (spec->cwd && *spec->cwd && spec->cwd[0] != '/')
		return skiff_error_set(e, -EINVAL, "working directory %s is not absolute",
				       spec->cwd);
	if (spec->netns_path && stat(spec->netns_path, &st))
		return skiff_error_set(e, -ENOENT, "network namespace %s: %s",
				       spec->netns_path, strerror(errno));
	if (spec->memory_limit < 0 || spec->cpu_quota < 0 || spec->cpu_period < 0)
		return skiff_error_set(e, -EINVAL, "negative resource limit");
	for (i = 0; i < spec->n_mounts; i++) {
		const struct skiff_mount *m = &spec->mounts[i];

		if (!m->destination || m->destination[0] != '/')
			return skiff_error_set(e, -EINVAL, "mount destination %s is not absolute",
					       m->destination ?: "(none)");
		if (!m->source || stat(m->source, &st))
			return skiff_error_set(e, -ENOENT, "mount source %s: %s",
					       m->source ?: "(none)", strerror(errno));
	}
	return 0;
}

/* @path into overlayfs' option syntax: ',' ':' and '\' escaped. */
static void ovl_escape(const char *path, char *out, size_t size)
{
	size_t o = 0;

	for (; *path && o + 2 < size; path++) {
		if (*path == ',' || *path == ':' || *path == '\\')
			out[o++] = '\\';
		out[o++] = *path;
	}
	out[o] = '\0';
}

static int mount_rootfs(const char *dir, const char *lower, struct skiff_error *e)
{
	char l[PATH_MAX * 2], u[PATH_MAX * 2], w[PATH_MAX * 2], path[PATH_MAX + 16];
	char opts[PATH_MAX * 6 + 64];

	ovl_escape(lower, l, sizeof(l));
	snprintf(path, sizeof(path), "%s/upper", dir);
	ovl_escape(path, u, sizeof(u));
	snprintf(path, sizeof(path), "%s/work", dir);
	ovl_escape(path, w, sizeof(w));
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", l, u, w);
	snprintf(path, sizeof(path), "%s/rootfs", dir);
	if (mount("overlay", path, "overlay", 0, opts))
		return skiff_error_set(e, -errno, "mount overlay on %s: %s", path,
				       strerror(errno));
	return 0;
}

static int write_config(const char *dir, json_t *cfg, struct skiff_error *e)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 16];

	snprintf(tmp, sizeof(tmp), "%s/.config.json.tmp", dir);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	if (json_dump_file(cfg, tmp, JSON_INDENT(2)) || rename(tmp, path)) {
		unlink(tmp);
		return skiff_error_set(e, -EIO, "cannot write %s", path);
	}
	return 0;
}

int skiff_bundle_write(const char *dir, const struct skiff_container_spec *spec,
		       struct skiff_error *e)
{
	static const char *const subdirs[] = { "rootfs", "upper", "work" };
	char path[PATH_MAX + 16];
	uint64_t caps;
	json_t *cfg;
	size_t i;
	int err;

	err = check_spec(spec, e);
	if (!err)
		err = caps_mask(spec, &caps, e);
	if (err)
		return err;
	err = skiff_mkdir_parents(dir);
	if (err)
		return skiff_error_set(e, err, "cannot make the parents of %s: %s", dir,
				       strerror(-err));
	if (mkdir(dir, 0700)) {
		if (errno == EEXIST)
			return skiff_error_set(e, -EEXIST, "bundle %s exists already", dir);
		return skiff_error_set(e, -errno, "cannot make %s: %s", dir, strerror(errno));
	}
	for (i = 0; i < ARRAY_SIZE(subdirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, subdirs[i]);
		if (mkdir(path, 0755)) {
			err = skiff_error_set(e, -errno, "cannot make %s: %s", path,
					      strerror(errno));
			goto err_dir;
		}
	}
	err = mount_rootfs(dir, spec->image_rootfs, e);
	if (err)
		goto err_dir;
	cfg = config(spec, caps);
	if (!cfg) {
		err = skiff_error_set(e, -ENOMEM, "out of memory");
		goto err_mount;
	}
	err = write_config(dir, cfg, e);
	json_decref(cfg);
	if (err)
		goto err_mount;
	return 0;

err_mount:
	snprintf(path, sizeof(path), "%s/rootfs", dir);
	umount2(path, MNT_DETACH);
err_dir:
	skiff_remove_tree_at(AT_FDCWD, dir);
	return err;
}

int skiff_bundle_remove(const char *dir, struct skiff_error *e)
{
	char rootfs[PATH_MAX + 16];
	struct stat st;
	int err;

	if (lstat(dir, &st))
		return errno == ENOENT ? 0 : skiff_error_set(e, -errno, "%s: %s", dir,
							     strerror(errno));
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", dir);
	/* Every overlay stacked there; a busy one is detached, not left. */
	while (!umount2(rootfs, UMOUNT_NOFOLLOW))
		;
	if (errno == EBUSY)
		umount2(rootfs, MNT_DETACH | UMOUNT_NOFOLLOW);
	err = skiff_remove_tree_at(AT_FDCWD, dir);
	if (err)
		return skiff_error_set(e, err, "cannot remove %s: %s", dir, strerror(-err));
	return 0;
}
