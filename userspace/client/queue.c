// SPDX-License-Identifier: GPL-2.0
/*
 * Keys wait in a FIFO; a JSON object marks which are queued (so a key is
 * in the FIFO at most once), another counts writes in flight per key and a
 * third failures in a row. Delayed adds are loop timers.
 */

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "queue.h"

#define BATCH 512
#define BACKOFF_MS_MIN 5
#define BACKOFF_MS_MAX (5 * 60 * 1000)

struct skiff_queue {
	struct skiff_loop *loop;
	skiff_work_fn work;
	void *arg;
	char **fifo;
	size_t head, tail, cap;
	json_t *queued;		/* key -> true: in the FIFO or held */
	json_t *busy;		/* key -> writes in flight */
	json_t *failures;	/* key -> failures in a row */
	json_t *failed;		/* key -> true: a write in flight failed */
	json_t *delayed;	/* key -> when its earliest delayed add is due */
};

struct delayed {
	struct skiff_queue *q;
	char key[];
};

static size_t fifo_len(const struct skiff_queue *q)
{
	return q->tail - q->head;
}

static void fifo_push(struct skiff_queue *q, const char *key)
{
	char *copy = strdup(key);
	char **fifo;

	if (!copy)
		return;
	if (q->tail == q->cap) {
		if (q->head) {
			memmove(q->fifo, q->fifo + q->head,
				fifo_len(q) * sizeof(*q->fifo));
			q->tail -= q->head;
			q->head = 0;
		}
		if (q->tail == q->cap) {
			size_t cap = q->cap ? 2 * q->cap : 256;

			fifo = realloc(q->fifo, cap * sizeof(*fifo));
			if (!fifo) {
				free(copy);
				return;
			}
			q->fifo = fifo;
			q->cap = cap;
		}
	}
	q->fifo[q->tail++] = copy;
}

static bool drain(void *arg)
{
	struct skiff_queue *q = arg;
	unsigned int n;
	char *key;

	for (n = 0; n < BATCH && fifo_len(q); n++) {
		key = q->fifo[q->head++];
		if (json_object_get(q->busy, key)) {
			/* Stays marked queued: done() brings it back. */
			free(key);
			continue;
		}
		json_object_del(q->queued, key);
		q->work(key, q->arg);
		free(key);
	}
	return fifo_len(q) > 0;
}

struct skiff_queue *skiff_queue_new(struct skiff_loop *loop,
				    skiff_work_fn work, void *arg)
{
	struct skiff_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->loop = loop;
	q->work = work;
	q->arg = arg;
	q->queued = json_object();
	q->busy = json_object();
	q->failures = json_object();
	q->failed = json_object();
	q->delayed = json_object();
	if (!q->queued || !q->busy || !q->failures || !q->failed || !q->delayed ||
	    skiff_loop_on_idle(loop, drain, q)) {
		skiff_queue_free(q);
		return NULL;
	}
	return q;
}

void skiff_queue_free(struct skiff_queue *q)
{
	if (!q)
		return;
	while (fifo_len(q))
		free(q->fifo[q->head++]);
	free(q->fifo);
	json_decref(q->queued);
	json_decref(q->busy);
	json_decref(q->failures);
	json_decref(q->failed);
	json_decref(q->delayed);
	free(q);
}

void skiff_queue_add(struct skiff_queue *q, const char *key)
{
	if (json_object_get(q->queued, key))
		return;
	json_object_set_new(q->queued, key, json_true());
	if (!json_object_get(q->busy, key))
		fifo_push(q, key);
}

static void delayed_fire(void *arg)
{
	struct delayed *d = arg;
	const json_t *due = json_object_get(d->q->delayed, d->key);

	/* The key's earliest timer: the later ones were never set. */
	if (due && json_integer_value(due) <= skiff_now_ms())
		json_object_del(d->q->delayed, d->key);
	skiff_queue_add(d->q, d->key);
	free(d);
}

void skiff_queue_add_after(struct skiff_queue *q, const char *key,
			   int64_t ms)
{
	const json_t *pending = json_object_get(q->delayed, key);
	int64_t due = skiff_now_ms() + ms;
	struct delayed *d;

	if (ms <= 0) {
		skiff_queue_add(q, key);
		return;
	}
	/* One timer due sooner covers this add: it looks at the key anyway. */
	if (pending && json_integer_value(pending) <= due)
		return;
	d = malloc(sizeof(*d) + strlen(key) + 1);
	if (!d)
		return;
	d->q = q;
	strcpy(d->key, key);
	if (!skiff_loop_after(q->loop, ms, delayed_fire, d)) {
		free(d);
		return;
	}
	json_object_set_new(q->delayed, key, json_integer(due));
}

void skiff_queue_retry(struct skiff_queue *q, const char *key)
{
	json_int_t n = json_integer_value(json_object_get(q->failures, key));
	int64_t ms = BACKOFF_MS_MIN;

	while (n-- > 0 && ms < BACKOFF_MS_MAX)
		ms *= 2;
	if (ms > BACKOFF_MS_MAX)
		ms = BACKOFF_MS_MAX;
	json_object_set_new(q->failures, key,
			    json_integer(json_integer_value(json_object_get(q->failures,
									    key)) + 1));
	skiff_queue_add_after(q, key, ms);
}

void skiff_queue_forget(struct skiff_queue *q, const char *key)
{
	json_object_del(q->failures, key);
}

void skiff_queue_busy(struct skiff_queue *q, const char *key)
{
	json_int_t n = json_integer_value(json_object_get(q->busy, key));

	json_object_set_new(q->busy, key, json_integer(n + 1));
}

void skiff_queue_done(struct skiff_queue *q, const char *key, bool failed)
{
	json_int_t n = json_integer_value(json_object_get(q->busy, key));

	if (failed)
		json_object_set_new(q->failed, key, json_true());
	if (n > 1) {
		json_object_set_new(q->busy, key, json_integer(n - 1));
		return;
	}
	json_object_del(q->busy, key);
	/* Queued while busy, or not: either way it looks again. */
	json_object_del(q->queued, key);
	if (json_object_get(q->failed, key)) {
		json_object_del(q->failed, key);
		skiff_queue_retry(q, key);
	} else {
		skiff_queue_forget(q, key);
		skiff_queue_add(q, key);
	}
}
