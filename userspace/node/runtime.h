/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Containers through an OCI runtime command line (runc by default, crun
 * selectable), the way containerd's shims do it:
 *
 *  - skiff_bundle_write() makes the container's bundle directory: its
 *    root file system (an overlay of the image, writable unless asked
 *    otherwise) and config.json (written with jansson from a
 *    struct skiff_container_spec).
 *  - skiff_runtime_start() starts one skiff-shim per container. The shim
 *    (shim.c, its own small program) is a child subreaper: it runs
 *    `RUNTIME run -d` with the container's stdout and stderr going to the
 *    log file, waits for the container's process, and records in the
 *    bundle what happened (files "started" and "exited", written whole
 *    with rename). It outlives skiff-node, so an agent restart neither
 *    stops containers nor loses their exit codes.
 *  - The agent follows each shim on its event loop (a socket the shim
 *    holds when started here, its pidfd when adopted) and reads the files
 *    when it reports. A shim that ended without recording an exit (it was
 *    killed) is reported as exit code 255, its container deleted.
 *
 * Container ids are chosen by the caller and must be unique on the node
 * (letters, digits, '-', '_', '.'; at most 128).
 */

#ifndef SKIFF_RUNTIME_H
#define SKIFF_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "loop.h"

/**
 * struct skiff_mount - a bind mount into the container
 * @source: host path
 * @destination: path in the container
 * @readonly: mounted read-only
 */
struct skiff_mount {
	const char *source;
	const char *destination;
	bool readonly;
};

/**
 * struct skiff_container_spec - what the bundle's config.json says
 * @image_rootfs: the image's root file system (lower layer, never written)
 * @readonly_rootfs: no writable layer (securityContext)
 * @args: the process, NULL-terminated (entrypoint + command resolved)
 * @env: "NAME=value", NULL-terminated
 * @cwd: working directory ("/" when NULL)
 * @uid: user to run as
 * @gid: group to run as
 * @hostname: the pod's hostname (UTS namespace)
 * @netns_path: the pod's network namespace to join
 * @mounts: bind mounts (volumes, /etc/hosts, /etc/resolv.conf, ...)
 * @n_mounts: how many
 * @memory_limit: bytes, 0 for none
 * @cpu_quota: microseconds per @cpu_period, 0 for none
 * @cpu_period: microseconds (100000 when 0)
 * @cpu_shares: relative weight (from the CPU request), 0 for the default
 * @cap_add: capabilities added to the default set ("NET_ADMIN"), NULL-ended
 * @cap_drop: removed ("ALL" drops all), NULL-terminated
 * @cgroups_path: relative cgroup path for the runtime
 */
struct skiff_container_spec {
	const char *image_rootfs;
	bool readonly_rootfs;
	const char *const *args;
	const char *const *env;
	const char *cwd;
	uid_t uid;
	gid_t gid;
	const char *hostname;
	const char *netns_path;
	const struct skiff_mount *mounts;
	unsigned int n_mounts;
	int64_t memory_limit;
	int64_t cpu_quota;
	int64_t cpu_period;
	uint64_t cpu_shares;
	const char *const *cap_add;
	const char *const *cap_drop;
	const char *cgroups_path;
};

/*
 * Makes bundle directory @dir (created; must not hold a bundle already)
 * for @spec: rootfs/ mounted, config.json written. On error nothing is
 * left behind.
 */
int skiff_bundle_write(const char *dir, const struct skiff_container_spec *spec,
		       struct skiff_error *e);
/* Unmounts and removes bundle @dir; 0 also when it is gone. */
int skiff_bundle_remove(const char *dir, struct skiff_error *e);

struct skiff_runtime;

/*
 * @runtime is "runc" or "crun" (or a path to one), @state_dir its --root
 * (one per node, so several nodes share a machine), @shim the skiff-shim
 * program. -ENOENT when the runtime cannot be found.
 */
int skiff_runtime_new(struct skiff_runtime **rtp, const char *runtime,
		      const char *state_dir, const char *shim,
		      struct skiff_error *e);
void skiff_runtime_free(struct skiff_runtime *rt);

/**
 * struct skiff_container_state - what a container's shim recorded
 * @started: the process started (@pid, @started_at valid)
 * @exited: it has ended (@exit_code, @finished_at valid)
 * @pid: its process id, as seen from the node
 * @exit_code: 0..255 as a shell reports it (128+N for signal N)
 * @started_at: seconds since the epoch
 * @finished_at: likewise
 * @reason: why it did not start ("runc: exec: \"x\": not found...")
 *	or "OOMKilled"; empty otherwise
 */
struct skiff_container_state {
	bool started;
	bool exited;
	pid_t pid;
	int exit_code;
	double started_at;
	double finished_at;
	char reason[256];
};

/* Reads what the shim of bundle @dir recorded so far. */
int skiff_container_state_read(const char *dir,
			       struct skiff_container_state *st);

typedef void (*skiff_container_fn)(const char *id,
				   const struct skiff_container_state *st,
				   void *arg);

/*
 * Starts container @id from bundle @dir with its output appended to
 * @log_path. @fn runs on @loop when the container has started (or failed
 * to) and again when it has exited; the first call may already say
 * exited. 0, or -errno when the shim could not be started (@fn not
 * called).
 */
int skiff_runtime_start(struct skiff_runtime *rt, struct skiff_loop *loop,
			const char *id, const char *dir, const char *log_path,
			skiff_container_fn fn, void *arg,
			struct skiff_error *e);

/*
 * Follows a container started by an earlier agent: @fn is called as for
 * skiff_runtime_start() with what its shim recorded, now if it has
 * exited, else when it exits.
 */
int skiff_runtime_adopt(struct skiff_runtime *rt, struct skiff_loop *loop,
			const char *id, const char *dir,
			skiff_container_fn fn, void *arg,
			struct skiff_error *e);
/* Stops following @id (@fn is not called again). */
void skiff_runtime_forget(struct skiff_runtime *rt, const char *id);

/* Sends @sig to the container's process (SIGTERM, SIGKILL). */
int skiff_runtime_kill(struct skiff_runtime *rt, const char *id, int sig,
		       struct skiff_error *e);
/* Removes the runtime's record of an ended container (`delete --force`). */
int skiff_runtime_delete(struct skiff_runtime *rt, const char *id,
			 struct skiff_error *e);

/*
 * The argv prefix that runs a command in container @id (`runc --root R
 * exec ID`), for exec probes: @out gets pointers into @rt (valid while
 * @rt lives) and NULL; at most 8 entries. Returns how many.
 */
int skiff_runtime_exec_argv(struct skiff_runtime *rt, const char *id,
			    const char **out);

/* Calls @fn for every container id the runtime knows of (adoption, GC). */
int skiff_runtime_for_each(struct skiff_runtime *rt,
			   int (*fn)(const char *id, bool running, void *arg),
			   void *arg, struct skiff_error *e);

#endif /* SKIFF_RUNTIME_H */
