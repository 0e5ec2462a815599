/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A work queue of object keys ("NS/NAME") on the event loop, as
 * Kubernetes' controllers have: a key added many times before it is worked
 * on is worked on once; a key whose writes are still in flight waits for
 * their answers (so a controller never acts twice on the same view), then
 * runs again; failures back off per key.
 */

#ifndef SKIFF_QUEUE_H
#define SKIFF_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"

struct skiff_queue;

/* @work(@key, @arg) reconciles one key; called only from the loop. */
typedef void (*skiff_work_fn)(const char *key, void *arg);

struct skiff_queue *skiff_queue_new(struct skiff_loop *loop,
				    skiff_work_fn work, void *arg);
void skiff_queue_free(struct skiff_queue *q);

void skiff_queue_add(struct skiff_queue *q, const char *key);
void skiff_queue_add_after(struct skiff_queue *q, const char *key,
			   int64_t ms);
/* Again later, 5 ms doubling up to 5 min with each failure in a row. */
void skiff_queue_retry(struct skiff_queue *q, const char *key);
/* The key succeeded: its back-off starts over. */
void skiff_queue_forget(struct skiff_queue *q, const char *key);

/*
 * A write for @key was sent / answered. While any is in flight the key is
 * not worked on; the last answer queues it again: at once, or after the
 * key's back-off when a write @failed.
 */
void skiff_queue_busy(struct skiff_queue *q, const char *key);
void skiff_queue_done(struct skiff_queue *q, const char *key, bool failed);

#endif /* SKIFF_QUEUE_H */
