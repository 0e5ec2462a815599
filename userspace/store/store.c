// SPDX-License-Identifier: GPL-2.0
/*
 * The store interface: picks an implementation from the URL, checks
 * arguments once for all implementations, and frees what they return.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"
#include "util.h"

int skiff_store_seterr(char *err, size_t err_len, int errnum,
		       const char *fmt, ...)
{
	va_list ap;

	if (err && err_len) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return errnum;
}

int skiff_kv_set(struct skiff_kv *kv, const void *key, size_t key_len,
		 const void *value, size_t value_len, int64_t create_rev,
		 int64_t mod_rev)
{
	char *k, *v;

	k = malloc(key_len + 1);
	if (!k)
		return -ENOMEM;
	v = malloc(value_len + 1);
	if (!v) {
		free(k);
		return -ENOMEM;
	}
	if (key_len)
		memcpy(k, key, key_len);
	k[key_len] = '\0';
	if (value_len)
		memcpy(v, value, value_len);
	v[value_len] = '\0';
	kv->key = k;
	kv->value = v;
	kv->value_len = value_len;
	kv->create_rev = create_rev;
	kv->mod_rev = mod_rev;
	return 0;
}

/**
 * skiff_kv_free() - free what a struct skiff_kv holds
 * @kv: the key-value; may be NULL
 *
 * Frees the key and the value, not @kv itself, and clears it so that a
 * second call does nothing.
 */
void skiff_kv_free(struct skiff_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

/**
 * skiff_kv_list_free() - free a list's items
 * @list: the list; may be NULL
 *
 * Frees every item and the array, not @list itself, and empties it.
 */
void skiff_kv_list_free(struct skiff_kv_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->count; i++)
		skiff_kv_free(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

/**
 * skiff_store_event_free() - free what an event holds
 * @ev: the event; may be NULL
 *
 * For a copy the caller made of an event: frees both key-values, not @ev
 * itself.
 */
void skiff_store_event_free(struct skiff_store_event *ev)
{
	if (!ev)
		return;
	skiff_kv_free(&ev->kv);
	skiff_kv_free(&ev->prev);
}

/**
 * skiff_store_range_lower() - where a list starts
 * @prefix: the keys listed start with this
 * @after: only keys greater than this (NULL: none)
 * @lower: set to the inclusive lower bound, @prefix or @after
 * @lower_len: set to its length in bytes
 *
 * @prefix, or just past @after when that is further. No key holds a NUL,
 * so the first key greater than @after is at least @after followed by a
 * zero byte: an inclusive bound of strlen(@after) + 1 bytes, the last one
 * the terminator.
 */
void skiff_store_range_lower(const char *prefix, const char *after,
			     const char **lower, size_t *lower_len)
{
	size_t plen = strlen(prefix), alen;
	int cmp;

	*lower = prefix;
	*lower_len = plen;
	if (!after)
		return;
	alen = strlen(after);
	cmp = memcmp(after, prefix, alen < plen ? alen : plen);
	if (cmp < 0 || (cmp == 0 && alen < plen))
		return;
	*lower = after;
	*lower_len = alen + 1;
}

/**
 * skiff_store_range_upper() - where the keys under a prefix end
 * @prefix: the prefix
 * @upper: set to a malloc'ed exclusive upper bound, or NULL
 * @len: set to its length in bytes (it is not NUL-terminated)
 * @err: set to 0, or -ENOMEM
 *
 * The prefix with its last byte below 0xff incremented and the rest cut.
 *
 * Return: false when there is none (an empty prefix, or one of 0xff bytes
 * only: every key from the prefix on then starts with it), or on -ENOMEM.
 */
bool skiff_store_range_upper(const char *prefix, char **upper, size_t *len,
			     int *err)
{
	size_t n = strlen(prefix);

	*upper = NULL;
	*err = 0;
	while (n && (unsigned char)prefix[n - 1] == 0xff)
		n--;
	if (!n)
		return false;
	*upper = malloc(n);
	if (!*upper) {
		*err = -ENOMEM;
		return false;
	}
	memcpy(*upper, prefix, n);
	(*upper)[n - 1]++;
	*len = n;
	return true;
}

static const struct {
	const char *scheme;
	int (*open)(const char *arg, const struct skiff_store_options *opts,
		    struct skiff_store **store, char *err, size_t err_len);
} schemes[] = {
	{ "sqlite:", skiff_store_sqlite_open },
	{ "etcd:", skiff_store_etcd_open },
};

/**
 * skiff_store_open() - open the store a URL names
 * @opts: the URL and what to do with writes (see struct
 *	skiff_store_options)
 * @store: set to the open store on success, NULL otherwise
 * @err: filled with the reason on failure (may be NULL)
 * @err_len: size of @err
 *
 * Return: 0; -EINVAL for a URL of no known scheme or a bad option; or
 * what the implementation says (sqlite: -EBUSY when another process has
 * the store open; etcd: -ECONNREFUSED, -EHOSTUNREACH or -ETIMEDOUT when no
 * endpoint answers, -ECONNRESET when it refuses our TLS client certificate,
 * -EIO when what answers is not etcd).
 */
int skiff_store_open(const struct skiff_store_options *opts,
		     struct skiff_store **store, char *err, size_t err_len)
{
	size_t i, n;

	if (err && err_len)
		err[0] = '\0';
	if (!store)
		return skiff_store_seterr(err, err_len, -EINVAL,
					  "no place for the store");
	*store = NULL;
	if (!opts || !opts->url)
		return skiff_store_seterr(err, err_len, -EINVAL,
					  "no store URL");
	if (opts->history < 0)
		return skiff_store_seterr(err, err_len, -EINVAL,
					  "history of %lld revisions",
					  (long long)opts->history);
	for (i = 0; i < ARRAY_SIZE(schemes); i++) {
		n = strlen(schemes[i].scheme);
		if (!strncmp(opts->url, schemes[i].scheme, n))
			return schemes[i].open(opts->url + n, opts, store, err,
					       err_len);
	}
	return skiff_store_seterr(err, err_len, -EINVAL,
				  "store URL \"%s\": want sqlite:DIR or etcd:http://HOST:PORT",
				  opts->url);
}

/**
 * skiff_store_close() - close a store
 * @store: the store; may be NULL
 *
 * Every write that was acknowledged is durable; the caller must have no
 * other call in flight.
 */
void skiff_store_close(struct skiff_store *store)
{
	if (store)
		store->ops->close(store);
}

/**
 * skiff_store_revision() - the store's current revision
 * @store: the store
 *
 * Return: the revision of the last committed write, 0 for a new store.
 */
int64_t skiff_store_revision(struct skiff_store *store)
{
	return store->ops->revision(store);
}

/**
 * skiff_store_compacted() - the compaction point
 * @store: the store
 *
 * Return: the oldest revision that skiff_store_history() may start after
 * and skiff_store_list() may read at.
 */
int64_t skiff_store_compacted(struct skiff_store *store)
{
	return store->ops->compacted(store);
}

static bool key_ok(const char *key)
{
	return key && key[0];
}

/**
 * skiff_store_get() - read a key's current value
 * @store: the store
 * @key: the key
 * @out: filled on success; free with skiff_kv_free()
 *
 * Return: 0, -ENOENT, -EINVAL for an empty key, or an I/O error.
 */
int skiff_store_get(struct skiff_store *store, const char *key,
		    struct skiff_kv *out)
{
	if (!key_ok(key) || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	return store->ops->get(store, key, out);
}

/**
 * skiff_store_list() - read keys under a prefix, in order
 * @store: the store
 * @range: which keys, how many, and as of which revision
 * @out: filled on success; free with skiff_kv_list_free()
 * @rev_out: the revision the list was read at (may be NULL)
 * @more: whether @range->limit cut the list short (may be NULL)
 *
 * Return: 0; -ERANGE when @range->rev was compacted or is not written yet;
 * -EINVAL; or an I/O error.
 */
int skiff_store_list(struct skiff_store *store,
		     const struct skiff_store_range *range,
		     struct skiff_kv_list *out, int64_t *rev_out, bool *more)
{
	struct skiff_store_range r;
	int64_t rev;
	bool m;
	int err;

	if (!range || !out || range->rev < 0)
		return -EINVAL;
	out->items = NULL;
	out->count = 0;
	r = *range;
	if (!r.prefix)
		r.prefix = "";
	err = store->ops->list(store, &r, out, &rev, &m);
	if (err)
		return err;
	if (rev_out)
		*rev_out = rev;
	if (more)
		*more = m;
	return 0;
}

/**
 * skiff_store_count() - count the keys under a prefix now
 * @store: the store
 * @prefix: the prefix ("" or NULL: every key)
 * @count: set to the count
 *
 * Return: 0 or a negative errno.
 */
int skiff_store_count(struct skiff_store *store, const char *prefix,
		      size_t *count)
{
	if (!count)
		return -EINVAL;
	return store->ops->count(store, prefix ? prefix : "", count);
}

/**
 * skiff_store_create() - create a key
 * @store: the store
 * @key: the key (not empty)
 * @value: its value, @value_len bytes (may be NULL when @value_len is 0)
 * @value_len: length of @value
 * @rev: set to the write's revision (may be NULL)
 *
 * Return: 0 once the write is durable; -EEXIST; -EINVAL; -E2BIG for a key
 * or value larger than the store takes; or an I/O error.
 */
int skiff_store_create(struct skiff_store *store, const char *key,
		       const char *value, size_t value_len, int64_t *rev)
{
	int64_t r;
	int err;

	if (!key_ok(key) || (!value && value_len))
		return -EINVAL;
	err = store->ops->create(store, key, value ? value : "", value_len,
				 &r);
	if (!err && rev)
		*rev = r;
	return err;
}

/**
 * skiff_store_update() - replace a key's value
 * @store: the store
 * @key: the key
 * @value: the new value, @value_len bytes (may be NULL when @value_len is 0)
 * @value_len: length of @value
 * @expect: the key's mod_rev the caller saw (0: any)
 * @rev: set to the write's revision (may be NULL)
 *
 * Return: 0 once the write is durable; -ENOENT; -ESTALE when the key's
 * mod_rev is not @expect; -EINVAL; -E2BIG; or an I/O error.
 */
int skiff_store_update(struct skiff_store *store, const char *key,
		       const char *value, size_t value_len, int64_t expect,
		       int64_t *rev)
{
	int64_t r;
	int err;

	if (!key_ok(key) || (!value && value_len) || expect < 0)
		return -EINVAL;
	err = store->ops->update(store, key, value ? value : "", value_len,
				 expect, &r);
	if (!err && rev)
		*rev = r;
	return err;
}

/**
 * skiff_store_delete() - delete a key
 * @store: the store
 * @key: the key
 * @expect: the key's mod_rev the caller saw (0: any)
 * @old: set to the deleted value, with its create_rev and mod_rev (may be
 *	NULL); free with skiff_kv_free()
 * @rev: set to the deletion's revision (may be NULL)
 *
 * Return: 0 once the write is durable; -ENOENT; -ESTALE; -EINVAL; or an I/O
 * error.
 */
int skiff_store_delete(struct skiff_store *store, const char *key,
		       int64_t expect, struct skiff_kv *old, int64_t *rev)
{
	int64_t r;
	int err;

	if (!key_ok(key) || expect < 0)
		return -EINVAL;
	if (old)
		memset(old, 0, sizeof(*old));
	err = store->ops->del(store, key, expect, old, &r);
	if (!err && rev)
		*rev = r;
	return err;
}

/**
 * skiff_store_history() - replay the writes after a revision
 * @store: the store
 * @after: replay the writes with a greater revision
 * @fn: called for each, in order; the event is only valid during the call
 * @arg: passed to @fn
 *
 * Replays up to the revision current when called. The events are those
 * the notify callback saw.
 *
 * Return: 0; -ERANGE when @after is older than the compaction point (also
 * when compaction overtakes a slow replay); @fn's non-zero return; or a
 * negative errno.
 */
int skiff_store_history(struct skiff_store *store, int64_t after,
			int (*fn)(const struct skiff_store_event *ev,
				  void *arg),
			void *arg)
{
	if (after < 0 || !fn)
		return -EINVAL;
	return store->ops->history(store, after, fn, arg);
}
