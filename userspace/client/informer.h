/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An informer: a local cache of one kind, kept by listing it and then
 * watching from the list's resourceVersion; after a 410 Gone (history
 * compacted away) it lists again and reports the difference. Handlers hear
 * every change; indexes find objects by a key (pods by node, by owner).
 *
 * Writes a daemon makes go into the cache as soon as the apiserver answers
 * them (skiff_informer_wrote()), so that a controller acting again before
 * its own watch event arrives sees what it did. An event older than what
 * the cache holds (by resourceVersion, the store's revision) is dropped,
 * so nothing goes back in time and no handler hears a change twice.
 *
 * Objects in the cache are shared and read-only: copy before changing.
 */

#ifndef SKIFF_INFORMER_H
#define SKIFF_INFORMER_H

#include <stdbool.h>

#include <jansson.h>

#include "client.h"

enum skiff_change { SKIFF_ADDED, SKIFF_MODIFIED, SKIFF_DELETED };

/*
 * ADDED: @old is NULL. MODIFIED: @old is the previous object. DELETED:
 * @obj is the last one known, @old NULL.
 */
typedef void (*skiff_handler_fn)(enum skiff_change change, const json_t *old,
				 const json_t *obj, void *arg);

/* An index key of @obj (malloc'd), or NULL to leave it out of the index. */
typedef char *(*skiff_index_fn)(const json_t *obj);

struct skiff_informer;

/*
 * @query is added to the list and watch URLs ("fieldSelector=..."), may be
 * NULL. Nothing happens until skiff_informer_start().
 */
struct skiff_informer *skiff_informer_new(struct skiff_client *c,
					  const struct skiff_kind *kind,
					  const char *query);
/* The same for one namespace @ns of a namespaced kind. */
struct skiff_informer *skiff_informer_new_ns(struct skiff_client *c,
					     const struct skiff_kind *kind,
					     const char *ns, const char *query);
/* Safe while a list is in flight (its answer then frees the rest). */
void skiff_informer_free(struct skiff_informer *inf);

int skiff_informer_on_change(struct skiff_informer *inf, skiff_handler_fn fn,
			     void *arg);
/*
 * @fn(@arg) runs after every completed list, the first and each one after
 * a 410 Gone, once the cache is the new list and the change handlers have
 * heard the difference: where a consumer that keeps state of its own
 * derived from the whole cache (a data plane) makes all of it match again.
 */
typedef void (*skiff_sync_fn)(void *arg);
int skiff_informer_on_sync(struct skiff_informer *inf, skiff_sync_fn fn,
			   void *arg);
/*
 * Forgets every change and sync handler registered with @arg: a consumer
 * freed before its informers calls it first.
 */
void skiff_informer_forget(struct skiff_informer *inf, void *arg);
/* Adds an index named @name; before start. */
int skiff_informer_add_index(struct skiff_informer *inf, const char *name,
			     skiff_index_fn fn);

void skiff_informer_start(struct skiff_informer *inf);
/* True once the first list is in the cache. */
bool skiff_informer_synced(const struct skiff_informer *inf);

const struct skiff_kind *skiff_informer_kind(const struct skiff_informer *inf);

/* The cached object, or NULL. @ns is ignored for cluster-scoped kinds. */
const json_t *skiff_informer_get(const struct skiff_informer *inf,
				 const char *ns, const char *name);
/* Every cached object: a JSON object of cache key -> object. */
const json_t *skiff_informer_all(const struct skiff_informer *inf);
/* The objects whose index @name key is @key (same shape), or NULL. */
const json_t *skiff_informer_indexed(const struct skiff_informer *inf,
				     const char *name, const char *key);

/*
 * The apiserver answered a write with @obj: a create, update, patch or a
 * delete. A deleted object (a DELETE's answer without deletionTimestamp)
 * leaves the cache; pass @deleted true for DELETE answers.
 */
void skiff_informer_wrote(struct skiff_informer *inf, const json_t *obj,
			  bool deleted);

/* "NS/NAME" or "NAME" (cluster-scoped): the cache key of @obj, malloc'd. */
char *skiff_object_key(const json_t *obj);

/* Index functions many daemons want. */
char *skiff_index_namespace(const json_t *obj);
char *skiff_index_node_name(const json_t *obj);		/* pods: spec.nodeName */
char *skiff_index_controller(const json_t *obj);	/* the controller's uid */

#endif /* SKIFF_INFORMER_H */
