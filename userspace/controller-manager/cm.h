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
 * An informer handler that queues the changed object's own key in the
 * work queue passed as its argument: register it with the queue,
 * skiff_informer_on_change(inf, cm_queue_object, q).
 */
void cm_queue_object(enum skiff_change change, const json_t *old,
		     const json_t *obj, void *queue);

/*
 * A work queue whose work function runs only once the caches are synced.
 */
struct skiff_queue *cm_queue(struct cm *cm, skiff_work_fn work, void *arg);

/*
 * Sends a write on behalf of @key of @q (which rests until the answer).
 * The answered object goes into @inf's cache (may be NULL); @path is taken
 * over; @type NULL is application/json. An answer of 404 (gone) or 409
 * (conflict, or created already) means the cache was behind: the key looks
 * again at once. Any other error backs the key off and is logged.
 */
void cm_write(struct cm *cm, struct skiff_queue *q, const char *key,
	      struct skiff_informer *inf, const char *method, char *path,
	      const char *type, const json_t *body);

/*
 * cm_write of a merge patch (@patch, {"status": {...}}) to the status
 * subresource of @obj, a cached object of @inf.
 */
void cm_patch_status(struct cm *cm, struct skiff_queue *q, const char *key,
		     struct skiff_informer *inf, const json_t *obj,
		     const json_t *patch);

/* One more status.collisionCount: the next revision name hashes anew. */
void cm_bump_collisions(struct cm *cm, struct skiff_queue *q,
			const char *key, struct skiff_informer *inf,
			const json_t *obj);

/*
 * @owner's spec.selector, parsed, or NULL when it is invalid or empty (said
 * on stderr as "@what @key: bad selector"); free with skiff_selector_free.
 */
struct skiff_selector *cm_selector(const json_t *owner, const char *what,
				   const char *key);

/* The object's controller ownerReference to @owner. */
json_t *cm_owner_ref(const json_t *owner);

/* Does @obj have a controller ownerReference to @owner's uid? */
bool cm_controlled_by(const json_t *obj, const json_t *owner);

/* Does @owner's spec.selector, not empty, select @obj by its labels? */
bool cm_selects(const json_t *owner, const json_t *obj);

/*
 * Queues in @q what in @owners controls @obj (by uid), or, when @obj has no
 * controller, those of its namespace that may adopt it: their selector
 * selects it and @may_adopt (NULL: no more) agrees.
 */
void cm_queue_owners(struct skiff_queue *q, struct skiff_informer *owners,
		     const json_t *obj,
		     bool (*may_adopt)(const json_t *owner, const json_t *obj));

/*
 * ControllerRevisions: the pod template history of DaemonSets and
 * StatefulSets (what kubectl rollout history and undo read). Each holds
 * {"spec": {"template": {..., "$patch": "replace"}}}, the strategic merge
 * patch that puts its template back, and a revision number; it is named
 * SET-HASH and owned by its set (a controller ownerReference).
 */

/*
 * Kubernetes' short hash of @obj: FNV-1a of its JSON (keys sorted),
 * then of @collisions when it is not 0, written as the decimal number in
 * Kubernetes' "safe" alphabet (no vowels, no 0, 1, 3). @out: 16 bytes.
 */
void cm_hash(const json_t *obj, json_int_t collisions, char *out,
	     size_t len);

/* The template a revision holds (its data without "$patch"): new ref. */
json_t *cm_revision_template(const json_t *rev);

/*
 * The revision of @set's current template: the newest revision of @set
 * holding it. NULL after sending the write that makes one (a new revision,
 * or an equal older one raised to the next number, as a rollback does):
 * @key rests until the answer. NULL and *@collision when the name the hash
 * gives is another object's: the caller raises status.collisionCount.
 * The hash is in the revision's label @label.
 */
const json_t *cm_revision_sync(struct cm *cm, struct skiff_queue *q,
			       const char *key, struct skiff_informer *revs,
			       const json_t *set, const char *label,
			       bool *collision);

/*
 * Deletes the oldest revisions of @set beyond its
 * spec.revisionHistoryLimit (default 10), but none named in @live.
 */
void cm_revision_truncate(struct cm *cm, struct skiff_queue *q,
			  const char *key, struct skiff_informer *revs,
			  const json_t *set, const json_t *live);

#endif /* SKIFF_CM_H */
