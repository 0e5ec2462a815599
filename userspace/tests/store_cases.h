/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The store's tests that hold whatever the implementation, included by the
 * test of each (store_sqlite.c, store_etcd.c): one body, two stores. A
 * header rather than a .c file because every .c file here is a test
 * program of its own.
 *
 * The test that includes it defines STORE_NEW_REV first, the revision of
 * a new, empty store (0; an empty etcd is at 1), and then:
 *
 *	static char *store_url(const char *name);
 *		the URL (malloc'ed) of the store called @name, a new one the
 *		first time a name is used
 *	static void compacted_check(const char *name, int64_t r, int64_t c);
 *		what more it can see of a compaction to @c at revision @r
 *
 * store_cases_run() runs STORE_CASES tests (and compacted_check()'s, which
 * the includer counts): writes and their revisions, conditional writes
 * that fail without a trace, lists (prefix, order, pages, past revisions),
 * history against the notify stream, concurrent writers, reopening,
 * compaction, and that no acknowledged write is lost when the writing
 * process is killed.
 */

#ifndef SKIFF_STORE_CASES_H
#define SKIFF_STORE_CASES_H

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "tap.h"
#include "util.h"

#define PODS "/registry/pods/"
#define NR_PODS 100
#define NR_THREADS 8
#define WRITES_PER_THREAD 100
#define CRASH_THREADS 4
#define CRASH_ACKS 200
/* The tests store_cases_run() runs, less those of compacted_check(). */
#define STORE_CASES 107

static char *store_url(const char *name);
static void compacted_check(const char *name, int64_t r, int64_t c);

static char tmp[64];

static char *path_in(const char *fmt, const char *name)
{
	char *p;

	if (asprintf(&p, fmt, tmp, name) < 0)
		abort();
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		abort();
	return p;
}

/* ---- the notify stream ------------------------------------------------- */

struct recorder {
	pthread_mutex_t lock;
	struct skiff_store_event *evs;
	size_t n;
	size_t cap;
	int64_t last;
	int gaps;
};

static void kv_copy(struct skiff_kv *dst, const struct skiff_kv *src)
{
	*dst = *src;
	dst->key = src->key ? strdup(src->key) : NULL;
	dst->value = NULL;
	if (src->value) {
		dst->value = malloc(src->value_len + 1);
		if (!dst->value)
			abort();
		memcpy(dst->value, src->value, src->value_len + 1);
	}
}

static void record(const struct skiff_store_event *ev, void *arg)
{
	struct recorder *rec = arg;

	pthread_mutex_lock(&rec->lock);
	if (ev->rev != rec->last + 1)
		rec->gaps++;
	rec->last = ev->rev;
	if (rec->n == rec->cap) {
		rec->cap = rec->cap ? rec->cap * 2 : 64;
		rec->evs = realloc(rec->evs, rec->cap * sizeof(*rec->evs));
		if (!rec->evs)
			abort();
	}
	rec->evs[rec->n] = *ev;
	kv_copy(&rec->evs[rec->n].kv, &ev->kv);
	kv_copy(&rec->evs[rec->n].prev, &ev->prev);
	rec->n++;
	pthread_mutex_unlock(&rec->lock);
}

static void recorder_init(struct recorder *rec, int64_t last)
{
	memset(rec, 0, sizeof(*rec));
	pthread_mutex_init(&rec->lock, NULL);
	rec->last = last;
}

static void recorder_free(struct recorder *rec)
{
	size_t i;

	for (i = 0; i < rec->n; i++)
		skiff_store_event_free(&rec->evs[i]);
	free(rec->evs);
	pthread_mutex_destroy(&rec->lock);
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool kv_eq(const struct skiff_kv *a, const struct skiff_kv *b)
{
	if (!str_eq(a->key, b->key) || !a->value != !b->value)
		return false;
	if (a->value && (a->value_len != b->value_len ||
			 memcmp(a->value, b->value, a->value_len)))
		return false;
	return a->create_rev == b->create_rev && a->mod_rev == b->mod_rev;
}

static bool event_eq(const struct skiff_store_event *a,
		     const struct skiff_store_event *b)
{
	return a->type == b->type && a->rev == b->rev &&
	       kv_eq(&a->kv, &b->kv) && kv_eq(&a->prev, &b->prev);
}

/* ---- helpers ----------------------------------------------------------- */

static int open_url(const char *url, int64_t history, struct recorder *rec,
		    struct skiff_store **store)
{
	struct skiff_store_options opts = {
		.url = url,
		.history = history,
		.notify = rec ? record : NULL,
		.notify_arg = rec,
	};
	char err[512] = "";
	int ret;

	ret = skiff_store_open(&opts, store, err, sizeof(err));
	if (ret)
		tap_diag("open %s: %s (%s)", url, strerror(-ret), err);
	return ret;
}

/* Opens the store called @name: a new one the first time. */
static int open_store(const char *name, int64_t history, struct recorder *rec,
		      struct skiff_store **store)
{
	char *url = store_url(name);
	int ret = open_url(url, history, rec, store);

	free(url);
	return ret;
}

static bool value_is(struct skiff_store *store, const char *key,
		     const char *want)
{
	struct skiff_kv kv;
	bool ok;

	if (skiff_store_get(store, key, &kv))
		return false;
	ok = kv.value_len == strlen(want) && !strcmp(kv.value, want);
	if (!ok)
		tap_diag("%s is \"%s\", want \"%s\"", key, kv.value, want);
	skiff_kv_free(&kv);
	return ok;
}

static int list(struct skiff_store *store, const char *prefix,
		const char *after, size_t limit, int64_t rev,
		struct skiff_kv_list *out, int64_t *rev_out, bool *more)
{
	struct skiff_store_range range = {
		.prefix = prefix,
		.after = after,
		.limit = limit,
		.rev = rev,
	};

	return skiff_store_list(store, &range, out, rev_out, more);
}

static bool sorted(const struct skiff_kv_list *l)
{
	size_t i;

	for (i = 1; i < l->count; i++)
		if (strcmp(l->items[i - 1].key, l->items[i].key) >= 0)
			return false;
	return true;
}

static bool lists_eq(const struct skiff_kv_list *a,
		     const struct skiff_kv_list *b)
{
	size_t i;

	if (a->count != b->count)
		return false;
	for (i = 0; i < a->count; i++)
		if (!kv_eq(&a->items[i], &b->items[i]))
			return false;
	return true;
}

/* Reads all of a list in pages of @limit, as a client with continue does. */
static int list_paged(struct skiff_store *store, const char *prefix,
		      size_t limit, int64_t rev, struct skiff_kv_list *all,
		      int *pages)
{
	struct skiff_kv_list page;
	char *after = NULL;
	bool more = true;
	int64_t got;
	int err = 0;
	size_t i;

	all->items = NULL;
	all->count = 0;
	*pages = 0;
	while (more && !err) {
		err = list(store, prefix, after, limit, rev, &page, &got,
			   &more);
		if (err)
			break;
		(*pages)++;
		all->items = realloc(all->items, (all->count + page.count) *
				     sizeof(*all->items) + 1);
		if (!all->items)
			abort();
		for (i = 0; i < page.count; i++)
			all->items[all->count++] = page.items[i];
		free(page.items);
		free(after);
		after = all->count ?
			strdup(all->items[all->count - 1].key) : NULL;
		if (more && page.count != limit)
			err = -EPROTO;
	}
	free(after);
	return err;
}

/* ---- the tests --------------------------------------------------------- */

static void test_writes(struct skiff_store *store, struct recorder *rec)
{
	const int64_t b = STORE_NEW_REV;
	struct skiff_kv kv, old;
	int64_t rev = -1;

	tap_is_int(skiff_store_revision(store), b, "a new store is at %lld",
		   (long long)b);
	tap_is_int(skiff_store_compacted(store), 0, "and compacted at 0");

	tap_is_int(skiff_store_create(store, "/a", "one", 3, &rev), 0,
		   "create");
	tap_is_int(rev, b + 1, "gets the next revision");
	tap_is_int(skiff_store_get(store, "/a", &kv), 0, "get");
	tap_ok(kv.value_len == 3 && !strcmp(kv.value, "one") &&
	       !strcmp(kv.key, "/a") && kv.create_rev == b + 1 &&
	       kv.mod_rev == b + 1, "reads what was written, at that revision");
	skiff_kv_free(&kv);

	tap_is_int(skiff_store_create(store, "/a", "dup", 3, &rev), -EEXIST,
		   "create of an existing key: -EEXIST");
	tap_is_int(skiff_store_update(store, "/a", "two", 3, b + 1, &rev), 0,
		   "update expecting the right mod_rev");
	tap_is_int(rev, b + 2, "gets the next, not one taken by the failure");
	tap_is_int(skiff_store_update(store, "/a", "three", 5, b + 1, &rev),
		   -ESTALE, "update expecting an old mod_rev: -ESTALE");
	tap_is_int(skiff_store_update(store, "/nope", "x", 1, 0, &rev),
		   -ENOENT, "update of a missing key: -ENOENT");
	tap_is_int(skiff_store_delete(store, "/a", b + 1, &old, &rev), -ESTALE,
		   "delete expecting an old mod_rev: -ESTALE");
	tap_is_int(skiff_store_revision(store), b + 2,
		   "failed writes take no revision");
	tap_ok(value_is(store, "/a", "two"), "and change nothing");

	tap_is_int(skiff_store_delete(store, "/a", b + 2, &old, &rev), 0,
		   "delete expecting the right mod_rev");
	tap_is_int(rev, b + 3, "at the next revision");
	tap_ok(old.value && !strcmp(old.value, "two") &&
	       old.mod_rev == b + 2 && old.create_rev == b + 1 &&
	       !strcmp(old.key, "/a"),
	       "hands back the deleted value and its revisions");
	skiff_kv_free(&old);
	tap_is_int(skiff_store_get(store, "/a", &kv), -ENOENT,
		   "a deleted key is gone");
	tap_is_int(skiff_store_delete(store, "/a", 0, NULL, &rev), -ENOENT,
		   "deleting it again: -ENOENT");

	tap_is_int(skiff_store_create(store, "/a", "again", 5, &rev), 0,
		   "create after delete");
	tap_is_int(skiff_store_get(store, "/a", &kv), 0, "get it");
	tap_ok(kv.create_rev == b + 4 && kv.mod_rev == b + 4,
	       "a new incarnation: a new create_rev");
	skiff_kv_free(&kv);
	tap_is_int(skiff_store_update(store, "/a", "again!", 6, 0, &rev), 0,
		   "update whatever the mod_rev");
	tap_is_int(skiff_store_get(store, "/a", &kv), 0, "get it");
	tap_ok(kv.create_rev == b + 4 && kv.mod_rev == b + 5 &&
	       kv.value_len == 6,
	       "create_rev stays, mod_rev moves");
	skiff_kv_free(&kv);

	tap_is_int(skiff_store_create(store, "/bin", "x\0y", 3, &rev), 0,
		   "a value with a NUL in it");
	tap_is_int(skiff_store_get(store, "/bin", &kv), 0, "get it");
	tap_ok(kv.value_len == 3 && !memcmp(kv.value, "x\0y", 4),
	       "comes back whole");
	skiff_kv_free(&kv);
	tap_is_int(skiff_store_create(store, "/empty", NULL, 0, &rev), 0,
		   "an empty value");
	tap_is_int(skiff_store_get(store, "/empty", &kv), 0, "get it");
	tap_ok(kv.value && kv.value_len == 0 && !kv.value[0],
	       "comes back empty, not NULL");
	skiff_kv_free(&kv);

	tap_is_int(skiff_store_create(store, "", "x", 1, &rev), -EINVAL,
		   "an empty key is refused");
	tap_is_int(skiff_store_create(store, "/x", NULL, 4, &rev), -EINVAL,
		   "a NULL value with a length is refused");
	tap_is_int(skiff_store_update(store, "/a", "x", 1, -3, &rev), -EINVAL,
		   "a negative expected revision is refused");
	tap_is_int(skiff_store_revision(store), b + 7, "7 revisions on");

	tap_is_int(rec->n, 7, "notify saw the 7 writes");
	tap_ok(rec->n == 7 && rec->evs[2].type == SKIFF_STORE_DELETE &&
	       rec->evs[2].rev == b + 3 &&
	       !strcmp(rec->evs[2].kv.value, "two") &&
	       rec->evs[2].kv.mod_rev == b + 3 &&
	       rec->evs[2].kv.create_rev == b + 1 &&
	       rec->evs[2].prev.mod_rev == b + 2 &&
	       rec->evs[1].type == SKIFF_STORE_UPDATE &&
	       !strcmp(rec->evs[1].prev.value, "one") &&
	       rec->evs[0].type == SKIFF_STORE_CREATE && !rec->evs[0].prev.value,
	       "with the values before and after");
}

static void test_lists(struct skiff_store *store)
{
	static const char *const bytes[] = {
		"/b/\xff\xff", "/b/\x80", "/b/a", "/b/\xff\x01", "/b/\xff",
		"/b/\x7f",
	};
	static const char *const byte_order[] = {
		"/b/a", "/b/\x7f", "/b/\x80", "/b/\xff", "/b/\xff\x01",
		"/b/\xff\xff",
	};
	struct skiff_kv_list all, paged, l;
	int order[NR_PODS], i, j, t, pages, bad;
	char key[64], value[64];
	int64_t rev, rev_out;
	size_t count;
	bool more;

	/* Written in a shuffled order, to be read back sorted. */
	for (i = 0; i < NR_PODS; i++)
		order[i] = i;
	srand(42);
	for (i = NR_PODS - 1; i > 0; i--) {
		j = rand() % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	bad = 0;
	for (i = 0; i < NR_PODS; i++) {
		snprintf(key, sizeof(key), PODS "ns/p%03d", order[i]);
		snprintf(value, sizeof(value), "pod-%d", order[i]);
		bad += !!skiff_store_create(store, key, value, strlen(value),
					    &rev);
	}
	bad += !!skiff_store_create(store, "/registry/pods", "x", 1, &rev);
	bad += !!skiff_store_create(store, "/registry/pods0", "x", 1, &rev);
	bad += !!skiff_store_create(store, "/registry/pod", "x", 1, &rev);
	tap_is_int(bad, 0, "%d keys written", NR_PODS + 3);

	tap_is_int(list(store, PODS, NULL, 0, 0, &all, &rev_out, &more), 0,
		   "list a prefix");
	tap_is_int(all.count, NR_PODS, "finds exactly the keys under it");
	tap_ok(sorted(&all), "in order");
	bad = 0;
	for (i = 0; i < (int)all.count; i++) {
		snprintf(key, sizeof(key), PODS "ns/p%03d", i);
		snprintf(value, sizeof(value), "pod-%d", i);
		bad += strcmp(all.items[i].key, key) ||
		       strcmp(all.items[i].value, value);
	}
	tap_is_int(bad, 0, "with their values");
	tap_ok(!more && rev_out == skiff_store_revision(store),
	       "whole, at the current revision");
	tap_is_int(skiff_store_count(store, PODS, &count), 0, "count");
	tap_is_int(count, NR_PODS, "counts them");

	tap_is_int(list_paged(store, PODS, 30, 0, &paged, &pages), 0,
		   "list in pages of 30, continuing after the last key");
	tap_ok(pages == 4 && lists_eq(&all, &paged),
	       "4 pages make the same list (%d pages)", pages);
	skiff_kv_list_free(&paged);
	tap_is_int(list(store, PODS, NULL, NR_PODS, 0, &l, NULL, &more), 0,
		   "limit of exactly the count");
	tap_ok(l.count == NR_PODS && !more, "is not cut short");
	skiff_kv_list_free(&l);
	tap_is_int(list(store, PODS, NULL, NR_PODS - 1, 0, &l, NULL, &more),
		   0, "limit of one less");
	tap_ok(l.count == NR_PODS - 1 && more, "is");
	skiff_kv_list_free(&l);
	tap_is_int(list(store, PODS, "/a", 0, 0, &l, NULL, &more), 0,
		   "after a key before the prefix");
	tap_is_int(l.count, NR_PODS, "lists the whole prefix");
	skiff_kv_list_free(&l);
	tap_is_int(list(store, PODS, PODS "zzz", 0, 0, &l, NULL, &more), 0,
		   "after a key past the prefix");
	tap_is_int(l.count, 0, "lists nothing");
	skiff_kv_list_free(&l);
	tap_is_int(list(store, PODS, PODS "ns/p050", 0, 0, &l, NULL, &more), 0,
		   "after a key in the middle");
	tap_ok(l.count == 49 && !strcmp(l.items[0].key, PODS "ns/p051"),
	       "lists what follows it");
	skiff_kv_list_free(&l);
	skiff_kv_list_free(&all);

	for (i = 0; i < (int)ARRAY_SIZE(bytes); i++)
		skiff_store_create(store, bytes[i], "b", 1, &rev);
	tap_is_int(list(store, "/b/", NULL, 0, 0, &l, NULL, &more), 0,
		   "list keys with bytes over 0x7f");
	bad = l.count != 6;
	for (i = 0; !bad && i < 6; i++)
		bad = strcmp(l.items[i].key, byte_order[i]) != 0;
	tap_ok(!bad, "in unsigned byte order");
	skiff_kv_list_free(&l);
	tap_is_int(list(store, "/b/\xff", NULL, 0, 0, &l, NULL, &more), 0,
		   "list a prefix ending in 0xff");
	tap_is_int(l.count, 3, "finds the keys under it");
	skiff_kv_list_free(&l);
	tap_is_int(skiff_store_count(store, "/b/\xff\xff", &count), 0,
		   "count a prefix of 0xff bytes");
	tap_is_int(count, 1, "counts the key under it");
	tap_is_int(list(store, "", NULL, 0, 0, &l, NULL, &more), 0,
		   "list everything");
	tap_ok(skiff_store_count(store, NULL, &count) == 0 &&
	       count == l.count && l.count == NR_PODS + 3 + 6 + 3 &&
	       sorted(&l), "every key, in order, as many as count says");
	skiff_kv_list_free(&l);
}

static void test_past(struct skiff_store *store, int64_t *r1)
{
	struct skiff_kv_list then, mid, now, paged;
	char key[64], value[64];
	int64_t rev, r_mid, rev_out;
	int i, bad = 0, pages;
	bool more;

	*r1 = skiff_store_revision(store);
	list(store, PODS, NULL, 0, 0, &then, NULL, &more);
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), PODS "ns/p%03d", i);
		snprintf(value, sizeof(value), "pod-%d-v2", i);
		bad += !!skiff_store_update(store, key, value, strlen(value),
					    0, &rev);
	}
	r_mid = skiff_store_revision(store);
	for (i = 10; i < 20; i++) {
		snprintf(key, sizeof(key), PODS "ns/p%03d", i);
		bad += !!skiff_store_delete(store, key, 0, NULL, &rev);
	}
	for (i = 100; i < 105; i++) {
		snprintf(key, sizeof(key), PODS "ns/p%03d", i);
		bad += !!skiff_store_create(store, key, "new", 3, &rev);
	}
	/* Delete and create again: the list at r_mid has the old one. */
	bad += !!skiff_store_delete(store, PODS "ns/p099", 0, NULL, &rev);
	bad += !!skiff_store_create(store, PODS "ns/p099", "reborn", 6, &rev);
	tap_is_int(bad, 0, "updates, deletes and creates");

	tap_is_int(list(store, PODS, NULL, 0, *r1, &now, &rev_out, &more), 0,
		   "list at a past revision");
	tap_ok(lists_eq(&then, &now) && rev_out == *r1 && !more,
	       "is the list as it was then");
	skiff_kv_list_free(&now);
	tap_is_int(list_paged(store, PODS, 7, *r1, &paged, &pages), 0,
		   "in pages of 7");
	tap_ok(lists_eq(&then, &paged), "the same");
	skiff_kv_list_free(&paged);

	tap_is_int(list(store, PODS, NULL, 0, r_mid, &mid, NULL, &more), 0,
		   "list half-way through");
	tap_ok(mid.count == NR_PODS &&
	       !strcmp(mid.items[9].value, "pod-9-v2") &&
	       mid.items[9].mod_rev == r_mid &&
	       !strcmp(mid.items[10].value, "pod-10") &&
	       !strcmp(mid.items[99].value, "pod-99") &&
	       mid.items[99].create_rev == then.items[99].create_rev,
	       "has the updates made by then, not the deletes after");
	skiff_kv_list_free(&mid);
	skiff_kv_list_free(&then);

	tap_is_int(list(store, PODS, NULL, 0, 0, &now, NULL, &more), 0,
		   "list now");
	tap_ok(now.count == NR_PODS - 10 + 5 &&
	       value_is(store, PODS "ns/p099", "reborn"),
	       "has all of them");
	skiff_kv_list_free(&now);
	tap_is_int(list(store, PODS, NULL, 0, skiff_store_revision(store) + 1,
			&now, NULL, &more), -ERANGE,
		   "a revision not written yet: -ERANGE");
}

struct history_ctx {
	struct skiff_store_event *evs;
	size_t n;
	size_t cap;
	int stop_after;
};

static int collect(const struct skiff_store_event *ev, void *arg)
{
	struct history_ctx *h = arg;

	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->evs = realloc(h->evs, h->cap * sizeof(*h->evs));
		if (!h->evs)
			abort();
	}
	h->evs[h->n] = *ev;
	kv_copy(&h->evs[h->n].kv, &ev->kv);
	kv_copy(&h->evs[h->n].prev, &ev->prev);
	h->n++;
	return h->stop_after && (int)h->n == h->stop_after ? 7 : 0;
}

static void history_free(struct history_ctx *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		skiff_store_event_free(&h->evs[i]);
	free(h->evs);
	memset(h, 0, sizeof(*h));
}

/* Whether history after @after is the tail of what notify saw. */
static bool history_matches(struct skiff_store *store, struct recorder *rec,
			    int64_t after, size_t *n)
{
	struct history_ctx h = { 0 };
	size_t i, skip;
	bool ok;

	ok = !skiff_store_history(store, after, collect, &h);
	skip = rec->n - h.n;
	ok = ok && h.n <= rec->n;
	for (i = 0; ok && i < h.n; i++) {
		ok = event_eq(&h.evs[i], &rec->evs[skip + i]);
		if (!ok)
			tap_diag("event %zu (rev %lld) differs", i,
				 (long long)h.evs[i].rev);
	}
	*n = h.n;
	history_free(&h);
	return ok;
}

static void test_history(struct skiff_store *store, struct recorder *rec,
			 int64_t r1)
{
	struct history_ctx h = { 0 };
	int64_t now = skiff_store_revision(store);
	size_t n = 0;
	bool ok;

	tap_ok(rec->gaps == 0 && rec->last == now &&
	       (int64_t)rec->n == now - STORE_NEW_REV,
	       "notify saw every revision once, in order (%zu up to %lld)",
	       rec->n, (long long)now);
	ok = history_matches(store, rec, 0, &n) &&
	     (int64_t)n == now - STORE_NEW_REV;
	tap_ok(ok, "history from 0 is what notify saw (%zu events)", n);
	ok = history_matches(store, rec, r1, &n) && (int64_t)n == now - r1;
	tap_ok(ok, "history from a revision is its tail (%zu events)", n);
	h.stop_after = 3;
	tap_is_int(skiff_store_history(store, 0, collect, &h), 7,
		   "a callback's non-zero return stops it and is returned");
	tap_is_int(h.n, 3, "after the third event");
	history_free(&h);
	tap_is_int(skiff_store_history(store, now, collect, &h), 0,
		   "history from now");
	tap_is_int(h.n, 0, "is empty");
	history_free(&h);
}

struct writer {
	struct skiff_store *store;
	int id;
	int64_t revs[WRITES_PER_THREAD];
	int failed;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	char key[64], value[64];
	int i, half = WRITES_PER_THREAD / 2;

	for (i = 0; i < WRITES_PER_THREAD; i++) {
		snprintf(key, sizeof(key), "/c/%d/%03d", w->id, i % half);
		snprintf(value, sizeof(value), "w%d-%d", w->id, i);
		if (i < half)
			w->failed += !!skiff_store_create(w->store, key, value,
							  strlen(value),
							  &w->revs[i]);
		else
			w->failed += !!skiff_store_update(w->store, key, value,
							  strlen(value),
							  w->revs[i - half],
							  &w->revs[i]);
		if (i && w->revs[i] <= w->revs[i - 1])
			w->failed++;
	}
	return NULL;
}

struct lister {
	struct skiff_store *store;
	bool stop;
	int lists;
	int bad;
};

static void *lister_main(void *arg)
{
	struct lister *l = arg;
	struct skiff_kv_list out;
	int64_t rev, last = 0;
	bool more;

	do {
		if (list(l->store, "/c/", NULL, 0, 0, &out, &rev, &more) ||
		    !sorted(&out) || rev < last)
			l->bad++;
		last = rev;
		l->lists++;
		skiff_kv_list_free(&out);
	} while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE));
	return NULL;
}

static void test_concurrent(struct skiff_store *store, struct recorder *rec)
{
	struct writer *w = xcalloc(NR_THREADS, sizeof(*w));
	int64_t start = skiff_store_revision(store), total, rev;
	struct lister lister = { .store = store };
	size_t base = rec->n, i, k;
	pthread_t threads[NR_THREADS], lt;
	int t, failed = 0, misplaced = 0;
	char key[64], value[64];
	unsigned char *seen;

	total = NR_THREADS * WRITES_PER_THREAD;
	seen = xcalloc(total, 1);
	pthread_create(&lt, NULL, lister_main, &lister);
	for (t = 0; t < NR_THREADS; t++) {
		w[t].store = store;
		w[t].id = t;
		pthread_create(&threads[t], NULL, writer_main, &w[t]);
	}
	for (t = 0; t < NR_THREADS; t++)
		pthread_join(threads[t], NULL);
	__atomic_store_n(&lister.stop, true, __ATOMIC_RELEASE);
	pthread_join(lt, NULL);

	for (t = 0; t < NR_THREADS; t++) {
		failed += w[t].failed;
		for (i = 0; i < WRITES_PER_THREAD; i++) {
			rev = w[t].revs[i];
			if (rev <= start || rev > start + total ||
			    seen[rev - start - 1]++) {
				misplaced++;
				continue;
			}
			/* The event notify saw for it is this write's. */
			k = base + (rev - start - 1);
			snprintf(key, sizeof(key), "/c/%d/%03d", t,
				 (int)i % (WRITES_PER_THREAD / 2));
			snprintf(value, sizeof(value), "w%d-%zu", t, i);
			if (k >= rec->n || rec->evs[k].rev != rev ||
			    strcmp(rec->evs[k].kv.key, key) ||
			    strcmp(rec->evs[k].kv.value, value))
				misplaced++;
		}
	}
	tap_is_int(failed, 0, "%d threads wrote %d keys each, in order",
		   NR_THREADS, WRITES_PER_THREAD);
	tap_is_int(skiff_store_revision(store), start + total,
		   "one revision a write");
	tap_is_int(misplaced, 0,
		   "each write got its own revision, and notify its event");
	tap_ok(rec->gaps == 0 && rec->n == base + total,
	       "notify saw each write once, in revision order, with no gap");
	tap_ok(lister.bad == 0 && lister.lists > 0,
	       "lists while writing were consistent (%d lists)",
	       lister.lists);
	free(seen);
	free(w);
}

static void test_compaction(void)
{
	struct skiff_store *store;
	struct skiff_kv_list l;
	struct recorder rec;
	struct history_ctx h = { 0 };
	int64_t rev, r, c;
	int i, bad = 0;
	size_t n;
	bool more;

	recorder_init(&rec, STORE_NEW_REV);
	if (open_store("compact", 5, &rec, &store)) {
		tap_ok(false, "open a store with a history of 5");
		goto out;
	}
	bad += !!skiff_store_create(store, "/k", "0", 1, &rev);
	bad += !!skiff_store_create(store, "/gone", "x", 1, &rev);
	for (i = 0; i < 30; i++)
		bad += !!skiff_store_update(store, "/k", "u", 1, 0, &rev);
	bad += !!skiff_store_delete(store, "/gone", 0, NULL, &rev);
	bad += !!skiff_store_create(store, "/keep", "k", 1, &rev);
	for (i = 0; i < 10; i++)
		bad += !!skiff_store_update(store, "/k", "v", 1, 0, &rev);
	r = skiff_store_revision(store);
	c = skiff_store_compacted(store);
	tap_ok(!bad && r == STORE_NEW_REV + 44, "44 writes with a history of 5");
	tap_ok(c >= r - 6 && c <= r - 5,
	       "compacted to keep the last 5 revisions, give or take 1 (%lld)",
	       (long long)c);
	tap_is_int(list(store, "", NULL, 0, c - 1, &l, NULL, &more), -ERANGE,
		   "a list before the compaction point: -ERANGE");
	tap_is_int(skiff_store_history(store, c - 1, collect, &h), -ERANGE,
		   "history from before it: -ERANGE");
	history_free(&h);
	tap_ok(history_matches(store, &rec, c, &n) && (int64_t)n == r - c,
	       "history from the compaction point is what notify saw");
	tap_is_int(list(store, "", NULL, 0, c, &l, NULL, &more), 0,
		   "a list at the compaction point");
	tap_ok(l.count == 2 && !strcmp(l.items[0].key, "/k") &&
	       l.items[0].mod_rev == c && !strcmp(l.items[1].key, "/keep") &&
	       l.items[1].mod_rev == STORE_NEW_REV + 34,
	       "has the state then, with the deleted key gone");
	skiff_kv_list_free(&l);

	compacted_check("compact", r, c);

	skiff_store_close(store);
	recorder_free(&rec);
	recorder_init(&rec, r);
	if (open_store("compact", 5, &rec, &store)) {
		tap_ok(false, "reopen");
		goto out;
	}
	tap_ok(skiff_store_revision(store) == r &&
	       skiff_store_compacted(store) == c,
	       "reopened: same revision and compaction point");
	tap_is_int(list(store, "", NULL, 0, c, &l, NULL, &more), 0,
		   "a list at the compaction point still works");
	skiff_kv_list_free(&l);
	skiff_store_close(store);
out:
	recorder_free(&rec);
}

static void test_reopen(const char *name, struct recorder *old_rec)
{
	struct skiff_store *store;
	struct skiff_kv_list l;
	struct recorder rec;
	int64_t rev;
	size_t n;
	bool more;

	recorder_init(&rec, old_rec->last);
	if (open_store(name, 0, &rec, &store)) {
		tap_ok(false, "reopen the store");
		recorder_free(&rec);
		return;
	}
	tap_is_int(skiff_store_revision(store), old_rec->last,
		   "reopened at the same revision");
	tap_ok(value_is(store, "/a", "again!") && value_is(store, "/empty", ""),
	       "with the same values");
	tap_ok(list(store, PODS, NULL, 0, 0, &l, NULL, &more) == 0 &&
	       l.count == NR_PODS - 10 + 5, "and the same keys");
	skiff_kv_list_free(&l);
	tap_ok(history_matches(store, old_rec, 0, &n) && n == old_rec->n,
	       "and the same history");

	tap_is_int(skiff_store_create(store, "/after-reopen", "x", 1, &rev),
		   0, "write after reopening");
	tap_is_int(rev, old_rec->last + 1, "at the next revision");
	tap_ok(rec.n == 1 && rec.evs[0].rev == rev && !rec.gaps,
	       "notify goes on from there");
	skiff_store_close(store);
	recorder_free(&rec);
}

struct ack {
	int thread;
	int seq;
};

struct crash_writer {
	struct skiff_store *store;
	int thread;
	int fd;
};

static void crash_value(char *buf, size_t size, int thread, int seq)
{
	int n = snprintf(buf, size, "value-%d-%d-", thread, seq);
	int pad = seq % 300;

	/* Of varied length, so that pages split and the WAL grows. */
	if (n + pad >= (int)size)
		pad = size - n - 1;
	memset(buf + n, '.', pad);
	buf[n + pad] = '\0';
}

static void *crash_writer_main(void *arg)
{
	struct crash_writer *w = arg;
	char key[64], value[512];
	struct ack ack = { .thread = w->thread };
	int64_t rev;

	for (ack.seq = 0; ack.seq < 100000; ack.seq++) {
		snprintf(key, sizeof(key), "/crash/%d/%d", w->thread, ack.seq);
		crash_value(value, sizeof(value), w->thread, ack.seq);
		if (skiff_store_create(w->store, key, value, strlen(value),
				       &rev))
			break;
		/* Acknowledged: the parent may count on it from here. */
		if (write(w->fd, &ack, sizeof(ack)) != sizeof(ack))
			break;
	}
	return NULL;
}

static void crash_child(const char *url, int fd)
{
	struct crash_writer w[CRASH_THREADS];
	pthread_t threads[CRASH_THREADS];
	struct skiff_store *store;
	int t;

	if (open_url(url, 0, NULL, &store))
		_exit(1);
	for (t = 0; t < CRASH_THREADS; t++) {
		w[t].store = store;
		w[t].thread = t;
		w[t].fd = fd;
		pthread_create(&threads[t], NULL, crash_writer_main, &w[t]);
	}
	for (t = 0; t < CRASH_THREADS; t++)
		pthread_join(threads[t], NULL);
	_exit(2);
}

static void test_crash(void)
{
	struct ack *acks = xcalloc(CRASH_THREADS * 100000, sizeof(*acks));
	size_t n = 0, i, missing = 0;
	struct skiff_store *store;
	char key[64], value[512];
	int fds[2], status;
	struct skiff_kv kv;
	ssize_t got;
	char *url;
	pid_t pid;

	/* Here: an etcd the name needs is started by this process. */
	url = store_url("crash");
	if (pipe(fds))
		abort();
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		crash_child(url, fds[1]);
	}
	close(fds[1]);
	while (n < CRASH_ACKS &&
	       read(fds[0], &acks[n], sizeof(*acks)) == sizeof(*acks))
		n++;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	/* Acks written before the kill count too. */
	while ((got = read(fds[0], &acks[n], sizeof(*acks))) ==
	       sizeof(*acks))
		n++;
	close(fds[0]);
	tap_ok(n >= CRASH_ACKS && WIFSIGNALED(status) &&
	       WTERMSIG(status) == SIGKILL,
	       "a child acknowledged %zu writes and was killed by SIGKILL", n);

	if (open_url(url, 0, NULL, &store)) {
		tap_ok(false, "reopen after the kill");
		goto out;
	}
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "/crash/%d/%d", acks[i].thread,
			 acks[i].seq);
		crash_value(value, sizeof(value), acks[i].thread, acks[i].seq);
		if (skiff_store_get(store, key, &kv)) {
			missing++;
			continue;
		}
		if (strcmp(kv.value, value))
			missing++;
		skiff_kv_free(&kv);
	}
	tap_is_int(missing, 0,
		   "every acknowledged write is there after the kill");
	tap_ok(skiff_store_revision(store) >= (int64_t)n,
	       "the revision covers them (%lld)",
	       (long long)skiff_store_revision(store));
	skiff_store_close(store);
out:
	free(acks);
	free(url);
}

static int rm_one(const char *path, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Every shared case, on the stores called "main", "compact" and "crash". */
static void store_cases_run(void)
{
	struct skiff_store *store;
	struct recorder rec;
	int64_t r1 = 0;

	recorder_init(&rec, STORE_NEW_REV);
	if (!tap_is_int(open_store("main", 0, &rec, &store), 0,
			"open a new store")) {
		recorder_free(&rec);
		return;
	}
	test_writes(store, &rec);
	test_lists(store);
	test_past(store, &r1);
	test_history(store, &rec, r1);
	test_concurrent(store, &rec);
	skiff_store_close(store);
	test_reopen("main", &rec);
	recorder_free(&rec);

	test_compaction();
	test_crash();
}

#endif /* SKIFF_STORE_CASES_H */
