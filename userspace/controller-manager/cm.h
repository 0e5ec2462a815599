/* SPDX-License-Identifier: GPL-2.0 */
/*
 * skiff-controller-manager: one controller per kind on one event loop,
 * sharing one informer (cache) per kind.
 *
 * A controller, in its own file, is a struct controller whose start()
 * registers informer handlers that queue keys, and a work function that
 * reconciles one key from the caches: it compares what is with what should
 * be and sends the writes that close the gap through cm_write(). The key
 * rests until those writes are answered (their results are in the caches
 * by then), then is looked at again; a failed write backs off.
 */

#ifndef SKIFF_CM_H
#define SKIFF_CM_H

#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "informer.h"
#include "queue.h"

/* Index names every informer of the controller manager has. */
#define CM_BY_NAMESPACE "namespace"
#define CM_BY_CONTROLLER "controller"	/* the owner's uid */
#define CM_BY_NODE "node"		/* pods only: spec.nodeName */
#define CM_BY_UID "uid"

struct cm {
	struct skiff_loop *loop;
	struct skiff_client *c;
	struct skiff_informer **informers;
	unsigned int n_informers;
	bool started;

	/* Flags. */
	const char *cluster_cidr;		/* 10.244.0.0/16 */
	int node_cidr_size;			/* 24 */
	int64_t node_monitor_grace_ms;		/* 40 s */
	int64_t pod_eviction_timeout_ms;	/* 5 min */
};

struct controller {
	const char *name;	/* as --controllers names it */
	int (*start)(struct cm *cm);
	struct controller *next;
};

/*
 * Each controller's file registers it: CM_CONTROLLER(replicaset,
 * replicaset_start). The controller manager runs those --controllers
 * selects (all by default).
 */
void cm_register(struct controller *ctl);
#define CM_CONTROLLER(id, start_fn)					\
	static struct controller id##_controller = {			\
		.name = #id, .start = start_fn,				\
	};								\
	static void __attribute__((constructor)) id##_register(void)	\
	{								\
		cm_register(&id##_controller);				\
	}

/*
 * The shared informer of @kind, made on first use (controllers ask in
 * their start(); all start together after).
 */
struct skiff_informer *cm_informer(struct cm *cm,
				   const struct skiff_kind *kind);

/* Every informer has listed once: caches are complete. */
bool cm_synced(const struct cm *cm);

/*
 * A work queue whose work function runs only once the caches are synced.
 */
struct skiff_queue *cm_queue(struct cm *cm, skiff_work_fn work, void *arg);

/*
 * Sends a write on behalf of @key of @q (which rests until the answer).
 * The answered object goes into @inf's cache (may be NULL); @path is taken
 * over; @type NULL is application/json. A DELETE answered 404, or a
 * create answered 409 AlreadyExists, is not a failure (someone did it);
 * any other error backs the key off and is logged.
 */
void cm_write(struct cm *cm, struct skiff_queue *q, const char *key,
	      struct skiff_informer *inf, const char *method, char *path,
	      const char *type, const json_t *body);

/* The object's controller ownerReference to @owner. */
json_t *cm_owner_ref(const json_t *owner);

/* Does @obj have a controller ownerReference to @owner's uid? */
bool cm_controlled_by(const json_t *obj, const json_t *owner);

#endif /* SKIFF_CM_H */
