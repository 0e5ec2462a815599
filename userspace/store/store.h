/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The apiserver's storage: a key-value store with one global revision, the
 * etcd v3 model that Kubernetes is built on.
 *
 * Every successful write (create, update, delete) gets the next revision of
 * the whole store. An object's resourceVersion is the revision of its last
 * write (mod_rev); a list's resourceVersion is the store's revision when it
 * was read. The store keeps the history of writes since its compaction
 * point, so that a watch can resume from any revision inside that window;
 * older revisions are gone (-ERANGE, the apiserver's 410 Gone).
 *
 * Keys are opaque byte strings without NUL, ordered bytewise (memcmp); the
 * apiserver uses "/registry/<resource>/<namespace>/<name>". Values are
 * opaque too (the apiserver stores an object's JSON).
 *
 * Implementations (chosen by skiff_store_open()'s URL):
 *   sqlite:DIR   embedded (the default): one SQLite database in WAL mode
 *                under DIR, fsync'd before a write is acknowledged.
 *   etcd:URL,... etcd v3 (several apiservers share it): the store's
 *                revisions are etcd's, and notify sees every apiserver's
 *                writes.
 *
 * Thread safety: every function may be called from any thread at the same
 * time. Errors are negative errnos; functions that can fail for a reason
 * worth telling a user also fill a message.
 */

#ifndef SKIFF_STORE_H
#define SKIFF_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct skiff_store;

/**
 * struct skiff_kv - one key and its value at some revision
 * @key: NUL-terminated key
 * @value: the value, NUL-terminated for convenience (@value_len excludes it)
 * @create_rev: revision that created this incarnation of the key
 * @mod_rev: revision of the last write of the key (for a deleted key in an
 *	event: the revision of the deletion)
 */
struct skiff_kv {
	char *key;
	char *value;
	size_t value_len;
	int64_t create_rev;
	int64_t mod_rev;
};

void skiff_kv_free(struct skiff_kv *kv);

struct skiff_kv_list {
	struct skiff_kv *items;
	size_t count;
};

void skiff_kv_list_free(struct skiff_kv_list *list);

enum skiff_store_event_type {
	SKIFF_STORE_CREATE,
	SKIFF_STORE_UPDATE,
	SKIFF_STORE_DELETE,
};

/**
 * struct skiff_store_event - one committed write
 * @type: what the write did
 * @rev: its revision
 * @kv: the key's value after the write (for DELETE: the value it had
 *	before, with mod_rev = @rev)
 * @prev: the value before the write (UPDATE and DELETE); for CREATE,
 *	prev.value is NULL
 */
struct skiff_store_event {
	enum skiff_store_event_type type;
	int64_t rev;
	struct skiff_kv kv;
	struct skiff_kv prev;
};

void skiff_store_event_free(struct skiff_store_event *ev);

/*
 * Called once for every committed write, in revision order, with no gap,
 * from a thread of the store's choosing. The event belongs to the store:
 * copy what must outlive the call. Must not call back into the store.
 * Writers wait for it (sqlite: it runs on the store's committer thread, once
 * the write is durable and before the writer's call returns; etcd: it runs
 * on the store's watch thread, and a writer returns once its write was
 * notified, or after 10 s), so it must not wait for a lock that a thread
 * may hold while it writes to the store.
 */
typedef void (*skiff_store_notify_fn)(const struct skiff_store_event *ev,
				      void *arg);

/**
 * struct skiff_store_options - how to open a store
 * @url: "sqlite:DIR" or "etcd:URL[,URL...]", each URL http://HOST:PORT or
 *	https://HOST:PORT
 * @history: revisions of history to keep for watches; older ones are
 *	compacted (0: a default of 10000)
 * @notify: called for every write committed from now on, by this process or
 *	(etcd) by any other
 * @notify_arg: passed to @notify
 * @tls: etcd over https: the files that secure it (NULL: http, or https
 *	checked against the system's CAs with no client certificate); the
 *	embedded store refuses it
 */
struct skiff_store_options {
	const char *url;
	int64_t history;
	skiff_store_notify_fn notify;
	void *notify_arg;
	const struct skiff_store_tls *tls;
};

/**
 * struct skiff_store_tls - how the etcd client authenticates, as
 * kube-apiserver's --etcd-cafile, --etcd-certfile and --etcd-keyfile
 * @ca_file: PEM CAs that etcd's serving certificate must chain to (NULL:
 *	the system's)
 * @cert_file: PEM client certificate (NULL: none); needs @key_file
 * @key_file: its PEM private key
 */
struct skiff_store_tls {
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
};

/*
 * Opens (and creates when missing) the store. Returns 0 or a negative errno
 * with @err (size @err_len) saying why.
 */
int skiff_store_open(const struct skiff_store_options *opts,
		     struct skiff_store **store, char *err, size_t err_len);
void skiff_store_close(struct skiff_store *store);

/*
 * The revision of the last committed write this process knows of (0 for a
 * new embedded store; an empty etcd is at 1).
 */
int64_t skiff_store_revision(struct skiff_store *store);

/* The oldest revision a watch may resume after. */
int64_t skiff_store_compacted(struct skiff_store *store);

/* Gets @key's current value: 0, or -ENOENT. */
int skiff_store_get(struct skiff_store *store, const char *key,
		    struct skiff_kv *out);

/**
 * struct skiff_store_range - what skiff_store_list() reads
 * @prefix: keys that start with this
 * @after: only keys strictly greater than this (NULL: from the start); how a
 *	continue token resumes
 * @limit: at most this many (0: no limit)
 * @rev: read as of this revision (0: now); -ERANGE if compacted, or
 *	greater than the store's revision
 */
struct skiff_store_range {
	const char *prefix;
	const char *after;
	size_t limit;
	int64_t rev;
};

/*
 * Lists keys in order. @rev_out is the revision the list was read at; @more
 * is true when @limit cut it short.
 */
int skiff_store_list(struct skiff_store *store,
		     const struct skiff_store_range *range,
		     struct skiff_kv_list *out, int64_t *rev_out, bool *more);

/* Counts the keys under @prefix now. */
int skiff_store_count(struct skiff_store *store, const char *prefix,
		      size_t *count);

/*
 * Creates @key: 0 and *@rev, or -EEXIST. Returns only once the write is
 * durable.
 */
int skiff_store_create(struct skiff_store *store, const char *key,
		       const char *value, size_t value_len, int64_t *rev);

/*
 * Replaces @key's value if its mod_rev is @expect (0: whatever it is):
 * 0 and *@rev, -ENOENT, or -ESTALE when mod_rev differs (a conflict).
 * Durable on return.
 */
int skiff_store_update(struct skiff_store *store, const char *key,
		       const char *value, size_t value_len, int64_t expect,
		       int64_t *rev);

/*
 * Deletes @key if its mod_rev is @expect (0: whatever it is): 0 with the
 * deleted value in @old (may be NULL) and *@rev, -ENOENT or -ESTALE.
 * Durable on return.
 */
int skiff_store_delete(struct skiff_store *store, const char *key,
		       int64_t expect, struct skiff_kv *old, int64_t *rev);

/*
 * Calls @fn for every write with a revision greater than @after, up to now,
 * in order (the same events @notify saw). -ERANGE when @after is older than
 * the compaction point. A non-zero return of @fn stops and is returned.
 */
int skiff_store_history(struct skiff_store *store, int64_t after,
			int (*fn)(const struct skiff_store_event *ev,
				  void *arg),
			void *arg);

#endif /* SKIFF_STORE_H */
