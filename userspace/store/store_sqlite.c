// SPDX-License-Identifier: GPL-2.0
/*
 * The embedded store: one SQLite database, DIR/skiff.db, in WAL mode with
 * synchronous=FULL, so that COMMIT returns only once the write-ahead log is
 * fsync'd, and an acknowledged write survives kill -9 and power loss.
 *
 * Schema (PRAGMA application_id "skif", PRAGMA user_version 1):
 *
 *   meta(name TEXT PRIMARY KEY, value INTEGER)
 *	"rev": the last revision; "compacted": the compaction point.
 *   log(rev INTEGER PRIMARY KEY, type, key BLOB, value BLOB, create_rev,
 *	 prev_rev), and an index on (key, rev)
 *	One row a write: the value written (NULL for a delete) and the
 *	revision of the key's previous row (0 for a create), where an event
 *	finds its previous value.
 *   kv(key BLOB PRIMARY KEY, rev) WITHOUT ROWID
 *	Each live key and its log row, so that a value is stored once and
 *	reading the current state is a walk of one index.
 *
 * Keys are bound as BLOBs, which SQLite compares with memcmp(): the byte
 * order store.h promises, whatever the bytes.
 *
 * Compaction to revision C deletes the rows that a row at or before C
 * superseded, and the deletes at or before C. What stays of the past is
 * each live key's last row at or before C, which is the state at C: a list
 * at any revision from C on reads it, and every later row's prev_rev still
 * finds its row. It runs in bounded steps inside write batches.
 *
 * Writes go through one committer thread. A writer queues its request and
 * sleeps; the committer takes everything queued, decides each request in
 * order against the state the ones before it left, runs them all in one
 * transaction, commits (one fsync for the whole batch), calls notify for
 * each committed write in revision order, and wakes the writers. While it
 * waits for the disk, the next batch queues up: that is the group commit.
 *
 * Readers use a pool of connections of their own: WAL gives each read a
 * consistent snapshot while the committer writes, and a commit becomes
 * visible to them only once it is durable.
 */

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store_impl.h"
#include "util.h"

#define STORE_APP_ID		0x736b6966	/* "skif" */
#define STORE_SCHEMA		1
#define STORE_DB		"skiff.db"
#define STORE_LOCK		"lock"
#define DEFAULT_HISTORY		10000
/* Writes in one transaction at most, so that one batch stays short. */
#define MAX_BATCH		1024
/* Revisions one batch compacts at most, for the same reason. */
#define COMPACT_STEP		4096
#define MAX_COMPACT_SLACK	1024
/* Events a history replay reads per read transaction. */
#define HISTORY_PAGE		256
#define BUSY_TIMEOUT_MS		10000

/* log.type; not the enum's values, so that the file format stays put. */
enum log_type {
	LOG_CREATE = 1,
	LOG_UPDATE = 2,
	LOG_DELETE = 3,
};

enum wstmt {
	W_BEGIN,
	W_COMMIT,
	W_ROLLBACK,
	W_CUR,
	W_LOG,
	W_PUT,
	W_DEL,
	W_META,
	W_COMPACT_PREV,
	W_COMPACT_DEL,
	NR_WSTMT,
};

static const char *const wsql[NR_WSTMT] = {
	[W_BEGIN] = "BEGIN IMMEDIATE",
	[W_COMMIT] = "COMMIT",
	[W_ROLLBACK] = "ROLLBACK",
	[W_CUR] = "SELECT kv.rev, l.create_rev, l.value\n"
		"FROM kv CROSS JOIN log AS l ON l.rev = kv.rev\n"
		"WHERE kv.key = ?1",
	[W_LOG] = "INSERT INTO log\n"
		"(rev, type, key, value, create_rev, prev_rev)\n"
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[W_PUT] = "INSERT OR REPLACE INTO kv (key, rev) VALUES (?1, ?2)",
	[W_DEL] = "DELETE FROM kv WHERE key = ?1",
	[W_META] = "UPDATE meta SET value = ?2 WHERE name = ?1",
	[W_COMPACT_PREV] = "DELETE FROM log WHERE rev IN\n"
		"(SELECT prev_rev FROM log\n"
		"WHERE rev > ?1 AND rev <= ?2 AND prev_rev > 0)",
	[W_COMPACT_DEL] = "DELETE FROM log\n"
		"WHERE rev > ?1 AND rev <= ?2 AND type = 3",
};

/*
 * ?1 is the lower bound (inclusive), ?2 the upper (exclusive; the _ALL
 * forms have none), ?3 the limit, ?4 the revision of a past read.
 */
enum rstmt {
	R_BEGIN,
	R_END,
	R_META,
	R_GET,
	R_LIST,
	R_LIST_ALL,
	R_PAST,
	R_PAST_ALL,
	R_COUNT,
	R_COUNT_ALL,
	R_HISTORY,
	NR_RSTMT,
};

#define CUR_SQL(where) \
	"SELECT kv.key, l.create_rev, l.rev, l.value\n" \
	"FROM kv CROSS JOIN log AS l ON l.rev = kv.rev\n" \
	"WHERE " where

/* A key's last row at or before ?4, unless that is its deletion. */
#define PAST_SQL(upper) \
	"SELECT l.key, l.create_rev, l.rev, l.value\n" \
	"FROM (SELECT max(rev) AS r FROM log\n" \
	"WHERE key >= ?1" upper " AND rev <= ?4 GROUP BY key) AS m\n" \
	"CROSS JOIN log AS l ON l.rev = m.r\n" \
	"WHERE l.type != 3 ORDER BY l.key LIMIT ?3"

static const char *const rsql[NR_RSTMT] = {
	[R_BEGIN] = "BEGIN",
	[R_END] = "COMMIT",
	[R_META] = "SELECT (SELECT value FROM meta WHERE name = 'rev'),\n"
		"(SELECT value FROM meta WHERE name = 'compacted')",
	[R_GET] = CUR_SQL("kv.key = ?1"),
	[R_LIST] = CUR_SQL("kv.key >= ?1 AND kv.key < ?2\n"
			   "ORDER BY kv.key LIMIT ?3"),
	[R_LIST_ALL] = CUR_SQL("kv.key >= ?1 ORDER BY kv.key LIMIT ?3"),
	[R_PAST] = PAST_SQL(" AND key < ?2"),
	[R_PAST_ALL] = PAST_SQL(""),
	[R_COUNT] = "SELECT count(*) FROM kv WHERE key >= ?1 AND key < ?2",
	[R_COUNT_ALL] = "SELECT count(*) FROM kv WHERE key >= ?1",
	[R_HISTORY] = "SELECT l.rev, l.type, l.key, l.value, l.create_rev,\n"
		"p.value, p.rev\n"
		"FROM log AS l LEFT JOIN log AS p ON p.rev = l.prev_rev\n"
		"WHERE l.rev > ?1 AND l.rev <= ?2 ORDER BY l.rev LIMIT ?3",
};

struct reader {
	sqlite3 *db;
	struct sqlite3_stmt *stmt[NR_RSTMT];
	struct reader *next;
};

/*
 * A write, on its writer's stack until the committer marks it done.
 * @err and @rev are the result; @ev is built by the committer inside the
 * transaction, so that nothing needs allocating once the write is durable.
 */
struct write_req {
	enum log_type type;
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
	int64_t expect;
	struct skiff_kv *old;

	int err;
	int64_t rev;
	bool applied;
	bool done;
	struct skiff_store_event ev;
	struct write_req *next;
};

/**
 * struct sqlite_store - an open embedded store
 * @base: what store.c sees; first, so that a pointer to it is one to this
 * @path: the database file
 * @lock_fd: DIR/lock, flock()ed for as long as the store is open
 * @history: revisions of history to keep
 * @slack: how far compaction may lag, so that it runs in steps, not per write
 * @max_len: the largest row SQLite takes, less room for the other columns
 * @notify: the callback for committed writes
 * @notify_arg: its argument
 * @db: the committer's connection; only the committer uses it (and open
 *	and close, when there is no committer)
 * @wstmt: the committer's prepared statements
 * @broken: set when a commit failed: the database may hold what the
 *	writers were told failed, so no further write is accepted
 * @rev: the last committed revision; the committer writes it, anyone reads
 *	it, with __atomic builtins
 * @compacted: the compaction point, likewise
 * @lock: protects @head, @tail, @stopping and the requests' done flags
 * @work: signalled when a request is queued or the store closes
 * @done: broadcast when a batch is done
 * @head: the queue of requests
 * @tail: where the next request goes
 * @stopping: the store is closing: the committer exits when the queue is
 *	empty
 * @committer: the committer thread
 * @pool_lock: protects @pool
 * @pool: reader connections not in use
 */
struct sqlite_store {
	struct skiff_store base;
	char *path;
	int lock_fd;
	int64_t history;
	int64_t slack;
	size_t max_len;
	skiff_store_notify_fn notify;
	void *notify_arg;

	sqlite3 *db;
	struct sqlite3_stmt *wstmt[NR_WSTMT];
	int broken;

	int64_t rev;
	int64_t compacted;

	pthread_mutex_t lock;
	pthread_cond_t work;
	pthread_cond_t done;
	struct write_req *head;
	struct write_req **tail;
	bool stopping;
	pthread_t committer;

	pthread_mutex_t pool_lock;
	struct reader *pool;
};

static struct sqlite_store *to_sqlite(struct skiff_store *store)
{
	return (struct sqlite_store *)store;
}

static int sql_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EUCLEAN;
	default:
		return -EIO;
	}
}

/* A NULL pointer would bind SQL NULL, not an empty BLOB. */
static int bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
	return sqlite3_bind_blob64(st, i, n ? p : "", n, SQLITE_STATIC);
}

static const void *column_blob(sqlite3_stmt *st, int i, size_t *len)
{
	const void *p = sqlite3_column_blob(st, i);

	/* After sqlite3_column_blob(), as its manual wants. */
	*len = sqlite3_column_bytes(st, i);
	return p;
}

/* Runs a statement that returns no row, and makes it ready for reuse. */
static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sql_errno(rc);
}

/* Fills @kv from columns key, create_rev, mod_rev, value. */
static int row_kv(sqlite3_stmt *st, struct skiff_kv *kv)
{
	const void *key, *value;
	size_t key_len, value_len;

	key = column_blob(st, 0, &key_len);
	value = column_blob(st, 3, &value_len);
	return skiff_kv_set(kv, key, key_len, value, value_len,
			    sqlite3_column_int64(st, 1),
			    sqlite3_column_int64(st, 2));
}

/*
 * Builds the event of a write, the same way for notify (from the request
 * and the row it replaced) and for history (from the log), so that the two
 * cannot differ. @prev is the key's value before the write and @prev_rev
 * its mod_rev (none for a create); @value is NULL for a delete.
 */
static int event_build(struct skiff_store_event *ev, int type, int64_t rev,
		       int64_t create_rev, const void *key, size_t key_len,
		       const void *value, size_t value_len, const void *prev,
		       size_t prev_len, int64_t prev_rev)
{
	int err;

	memset(ev, 0, sizeof(*ev));
	ev->rev = rev;
	switch (type) {
	case LOG_CREATE:
		ev->type = SKIFF_STORE_CREATE;
		return skiff_kv_set(&ev->kv, key, key_len, value, value_len,
				    create_rev, rev);
	case LOG_UPDATE:
		ev->type = SKIFF_STORE_UPDATE;
		err = skiff_kv_set(&ev->kv, key, key_len, value, value_len,
				   create_rev, rev);
		break;
	case LOG_DELETE:
		ev->type = SKIFF_STORE_DELETE;
		err = skiff_kv_set(&ev->kv, key, key_len, prev, prev_len,
				   create_rev, rev);
		break;
	default:
		return -EUCLEAN;
	}
	if (!err)
		err = skiff_kv_set(&ev->prev, key, key_len, prev, prev_len,
				   create_rev, prev_rev);
	if (err)
		skiff_store_event_free(ev);
	return err;
}

/* ---- readers ----------------------------------------------------------- */

static void reader_free(struct reader *r)
{
	int i;

	for (i = 0; i < NR_RSTMT; i++)
		sqlite3_finalize(r->stmt[i]);
	sqlite3_close(r->db);
	free(r);
}

static int reader_open(struct sqlite_store *s, struct reader **out)
{
	struct reader *r;
	int rc, err;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	rc = sqlite3_open_v2(s->path, &r->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		goto err_free;
	rc = sqlite3_busy_timeout(r->db, BUSY_TIMEOUT_MS);
	if (rc != SQLITE_OK)
		goto err_free;
	/*
	 * Only the committer writes. Reads copy pages (no mmap): a mapped
	 * reader unmaps its whole mapping after every commit, and that unmap
	 * with its TLB shootdowns was half the server's CPU in a write storm
	 * (make bench-apiserver); lists cost a pread() a page instead.
	 */
	rc = sqlite3_exec(r->db, "PRAGMA query_only = 1;"
			  "PRAGMA mmap_size = 0", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto err_free;
	*out = r;
	return 0;

err_free:
	err = sql_errno(rc);
	reader_free(r);
	return err;
}

static int reader_get(struct sqlite_store *s, struct reader **r)
{
	pthread_mutex_lock(&s->pool_lock);
	*r = s->pool;
	if (*r)
		s->pool = (*r)->next;
	pthread_mutex_unlock(&s->pool_lock);
	if (*r)
		return 0;
	return reader_open(s, r);
}

static void reader_put(struct sqlite_store *s, struct reader *r)
{
	/* A read that failed half-way may have left its transaction open. */
	if (!sqlite3_get_autocommit(r->db) &&
	    sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK) {
		reader_free(r);
		return;
	}
	pthread_mutex_lock(&s->pool_lock);
	r->next = s->pool;
	s->pool = r;
	pthread_mutex_unlock(&s->pool_lock);
}

static int reader_stmt(struct reader *r, enum rstmt which,
		       sqlite3_stmt **st)
{
	int rc;

	if (!r->stmt[which]) {
		rc = sqlite3_prepare_v3(r->db, rsql[which], -1,
					SQLITE_PREPARE_PERSISTENT,
					&r->stmt[which], NULL);
		if (rc != SQLITE_OK)
			return sql_errno(rc);
	}
	*st = r->stmt[which];
	return 0;
}

/*
 * Starts a read transaction and reads the revision and the compaction
 * point of its snapshot.
 */
static int read_begin(struct reader *r, int64_t *rev, int64_t *compacted)
{
	sqlite3_stmt *st = NULL;
	int rc, err;

	err = reader_stmt(r, R_BEGIN, &st);
	if (!err)
		err = step_done(st);
	if (!err)
		err = reader_stmt(r, R_META, &st);
	if (err)
		return err;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER &&
	    sqlite3_column_type(st, 1) == SQLITE_INTEGER) {
		*rev = sqlite3_column_int64(st, 0);
		*compacted = sqlite3_column_int64(st, 1);
		err = 0;
	} else {
		err = rc == SQLITE_ROW ? -EUCLEAN : sql_errno(rc);
	}
	sqlite3_reset(st);
	return err;
}

static int read_end(struct reader *r)
{
	sqlite3_stmt *st = NULL;
	int err;

	err = reader_stmt(r, R_END, &st);
	if (!err)
		err = step_done(st);
	return err;
}

static int sq_get(struct skiff_store *store, const char *key,
		  struct skiff_kv *out)
{
	struct sqlite_store *s = to_sqlite(store);
	struct reader *r;
	sqlite3_stmt *st = NULL;
	int rc, err;

	err = reader_get(s, &r);
	if (err)
		return err;
	err = reader_stmt(r, R_GET, &st);
	if (err)
		goto out_put;
	rc = bind_blob(st, 1, key, strlen(key));
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err = row_kv(st, out);
	else if (rc == SQLITE_DONE)
		err = -ENOENT;
	else
		err = sql_errno(rc);
	sqlite3_reset(st);
out_put:
	reader_put(s, r);
	return err;
}

static int list_append(struct skiff_kv_list *out, size_t *cap,
		       sqlite3_stmt *st)
{
	struct skiff_kv *items;
	size_t n;

	if (out->count == *cap) {
		n = *cap ? *cap * 2 : 16;
		items = reallocarray(out->items, n, sizeof(*items));
		if (!items)
			return -ENOMEM;
		out->items = items;
		*cap = n;
	}
	if (row_kv(st, &out->items[out->count]))
		return -ENOMEM;
	out->count++;
	return 0;
}

static int sq_list(struct skiff_store *store,
		   const struct skiff_store_range *range,
		   struct skiff_kv_list *out, int64_t *rev_out, bool *more)
{
	struct sqlite_store *s = to_sqlite(store);
	const char *lower;
	char *upper;
	size_t lower_len, upper_len = 0, cap = 0;
	int64_t now, compacted, at, limit;
	bool has_upper, past;
	struct reader *r;
	sqlite3_stmt *st = NULL;
	int rc, err;

	skiff_store_range_lower(range->prefix, range->after, &lower,
				&lower_len);
	has_upper = skiff_store_range_upper(range->prefix, &upper, &upper_len,
					    &err);
	if (err)
		return err;
	err = reader_get(s, &r);
	if (err)
		goto out_free;
	err = read_begin(r, &now, &compacted);
	if (err)
		goto out_put;
	at = range->rev ? range->rev : now;
	if (at < compacted || at > now) {
		err = -ERANGE;
		goto out_put;
	}
	past = at != now;
	if (past)
		err = reader_stmt(r, has_upper ? R_PAST : R_PAST_ALL, &st);
	else
		err = reader_stmt(r, has_upper ? R_LIST : R_LIST_ALL, &st);
	if (err)
		goto out_put;

	/* One more than asked for tells whether there is more. */
	limit = range->limit && range->limit < INT64_MAX ?
		(int64_t)range->limit + 1 : -1;
	rc = bind_blob(st, 1, lower, lower_len);
	if (rc == SQLITE_OK && has_upper)
		rc = bind_blob(st, 2, upper, upper_len);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, limit);
	if (rc == SQLITE_OK && past)
		rc = sqlite3_bind_int64(st, 4, at);
	*more = false;
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		if (range->limit && out->count == range->limit) {
			*more = true;
			rc = SQLITE_DONE;
			break;
		}
		err = list_append(out, &cap, st);
		if (err)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = sql_errno(rc);
	sqlite3_reset(st);
	if (!err)
		err = read_end(r);
	if (!err)
		*rev_out = at;
out_put:
	reader_put(s, r);
out_free:
	if (err)
		skiff_kv_list_free(out);
	free(upper);
	return err;
}

static int sq_count(struct skiff_store *store, const char *prefix,
		    size_t *count)
{
	struct sqlite_store *s = to_sqlite(store);
	struct reader *r;
	sqlite3_stmt *st = NULL;
	size_t upper_len = 0;
	bool has_upper;
	char *upper;
	int rc, err;

	has_upper = skiff_store_range_upper(prefix, &upper, &upper_len,
					    &err);
	if (err)
		return err;
	err = reader_get(s, &r);
	if (err)
		goto out_free;
	err = reader_stmt(r, has_upper ? R_COUNT : R_COUNT_ALL, &st);
	if (err)
		goto out_put;
	rc = bind_blob(st, 1, prefix, strlen(prefix));
	if (rc == SQLITE_OK && has_upper)
		rc = bind_blob(st, 2, upper, upper_len);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*count = sqlite3_column_int64(st, 0);
		err = 0;
	} else {
		err = sql_errno(rc);
	}
	sqlite3_reset(st);
out_put:
	reader_put(s, r);
out_free:
	free(upper);
	return err;
}

/* Columns: rev, type, key, value, create_rev, prev value, prev rev. */
static int row_event(sqlite3_stmt *st, struct skiff_store_event *ev)
{
	const void *key, *value, *prev;
	size_t key_len, value_len, prev_len;
	int type = sqlite3_column_int(st, 1);

	/* An update or a delete always has the row it replaced. */
	if (type != LOG_CREATE && sqlite3_column_type(st, 6) == SQLITE_NULL)
		return -EUCLEAN;
	key = column_blob(st, 2, &key_len);
	value = column_blob(st, 3, &value_len);
	prev = column_blob(st, 5, &prev_len);
	return event_build(ev, type, sqlite3_column_int64(st, 0),
			   sqlite3_column_int64(st, 4), key, key_len, value,
			   value_len, prev, prev_len,
			   sqlite3_column_int64(st, 6));
}

/*
 * Reads the events after @pos, up to @end and HISTORY_PAGE of them, in one
 * read transaction.
 */
static int history_page(struct reader *r, int64_t pos, int64_t end,
			struct skiff_store_event *evs, size_t *n)
{
	int64_t now, compacted;
	sqlite3_stmt *st = NULL;
	int rc, err;

	*n = 0;
	err = read_begin(r, &now, &compacted);
	if (err)
		return err;
	if (pos < compacted)
		return -ERANGE;
	err = reader_stmt(r, R_HISTORY, &st);
	if (err)
		return err;
	rc = sqlite3_bind_int64(st, 1, pos);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, end);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, HISTORY_PAGE);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		err = row_event(st, &evs[*n]);
		if (err)
			break;
		(*n)++;
	}
	if (!err && rc != SQLITE_DONE)
		err = sql_errno(rc);
	sqlite3_reset(st);
	if (!err)
		err = read_end(r);
	return err;
}

/*
 * Reads a page at a time rather than in one transaction, so that a slow
 * @fn does not pin a snapshot, and the WAL behind it, for long.
 */
static int sq_history(struct skiff_store *store, int64_t after,
		      int (*fn)(const struct skiff_store_event *ev, void *arg),
		      void *arg)
{
	struct sqlite_store *s = to_sqlite(store);
	struct skiff_store_event *evs;
	int64_t end, compacted;
	struct reader *r;
	size_t n, i;
	int err;

	evs = calloc(HISTORY_PAGE, sizeof(*evs));
	if (!evs)
		return -ENOMEM;
	err = reader_get(s, &r);
	if (err)
		goto out_free;
	err = read_begin(r, &end, &compacted);
	if (!err)
		err = read_end(r);
	if (!err && after < compacted)
		err = -ERANGE;
	while (!err && after < end) {
		err = history_page(r, after, end, evs, &n);
		/* Every revision up to end has its row: none is corruption. */
		if (!err && !n)
			err = -EUCLEAN;
		for (i = 0; i < n; i++) {
			if (!err)
				err = fn(&evs[i], arg);
			skiff_store_event_free(&evs[i]);
		}
		if (n)
			after = evs[n - 1].rev;
	}
	reader_put(s, r);
out_free:
	free(evs);
	return err;
}

/* ---- writes ------------------------------------------------------------ */

/* Whether the request may go ahead, given the key's current mod_rev. */
static int write_check(const struct write_req *req, bool exists,
		       int64_t mod_rev)
{
	if (req->type == LOG_CREATE)
		return exists ? -EEXIST : 0;
	if (!exists)
		return -ENOENT;
	if (req->expect && req->expect != mod_rev)
		return -ESTALE;
	return 0;
}

/*
 * Decides and runs one request inside the batch's transaction. A request
 * refused (-EEXIST, -ENOENT, -ESTALE, -ENOMEM) is recorded in req->err;
 * the return value is an SQLite failure, which fails the whole batch.
 */
static int write_apply(struct sqlite_store *s, struct write_req *req,
		       int64_t *rev)
{
	sqlite3_stmt *cur = s->wstmt[W_CUR], *st;
	int64_t mod_rev = 0, create_rev = 0, next = *rev + 1;
	const void *prev = NULL;
	size_t prev_len = 0;
	bool exists;
	int rc, err;

	rc = bind_blob(cur, 1, req->key, req->key_len);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(cur);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqlite3_reset(cur);
		return sql_errno(rc);
	}
	exists = rc == SQLITE_ROW;
	if (exists) {
		mod_rev = sqlite3_column_int64(cur, 0);
		create_rev = sqlite3_column_int64(cur, 1);
		prev = column_blob(cur, 2, &prev_len);
	}
	req->err = write_check(req, exists, mod_rev);
	if (!req->err) {
		if (req->type == LOG_CREATE)
			create_rev = next;
		/* Copies prev, which the reset below invalidates. */
		req->err = event_build(&req->ev, req->type, next, create_rev,
				       req->key, req->key_len, req->value,
				       req->value_len, prev, prev_len,
				       mod_rev);
	}
	sqlite3_reset(cur);
	if (req->err)
		return 0;

	st = s->wstmt[W_LOG];
	rc = sqlite3_bind_int64(st, 1, next);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 2, req->type);
	if (rc == SQLITE_OK)
		rc = bind_blob(st, 3, req->key, req->key_len);
	if (rc == SQLITE_OK)
		rc = req->type == LOG_DELETE ? sqlite3_bind_null(st, 4) :
		     bind_blob(st, 4, req->value, req->value_len);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, create_rev);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 6, mod_rev);
	err = rc == SQLITE_OK ? step_done(st) : sql_errno(rc);
	if (err)
		return err;

	st = s->wstmt[req->type == LOG_DELETE ? W_DEL : W_PUT];
	rc = bind_blob(st, 1, req->key, req->key_len);
	if (rc == SQLITE_OK && req->type != LOG_DELETE)
		rc = sqlite3_bind_int64(st, 2, next);
	err = rc == SQLITE_OK ? step_done(st) : sql_errno(rc);
	if (err)
		return err;
	req->applied = true;
	req->rev = next;
	*rev = next;
	return 0;
}

static int meta_set(struct sqlite_store *s, const char *name, int64_t value)
{
	sqlite3_stmt *st = s->wstmt[W_META];
	int rc;

	rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, value);
	return rc == SQLITE_OK ? step_done(st) : sql_errno(rc);
}

/* Where this batch compacts to: @compacted when it is not time yet. */
static int64_t compact_target(struct sqlite_store *s, int64_t rev,
			      int64_t compacted)
{
	int64_t target = rev - s->history;

	if (target - compacted <= s->slack)
		return compacted;
	if (target - compacted > COMPACT_STEP)
		return compacted + COMPACT_STEP;
	return target;
}

static int compact(struct sqlite_store *s, int64_t from, int64_t to)
{
	static const enum wstmt steps[] = { W_COMPACT_PREV, W_COMPACT_DEL };
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc, err;

	/* Rows superseded first: that needs the deletes' prev_rev. */
	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		st = s->wstmt[steps[i]];
		rc = sqlite3_bind_int64(st, 1, from);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(st, 2, to);
		err = rc == SQLITE_OK ? step_done(st) : sql_errno(rc);
		if (err)
			return err;
	}
	return meta_set(s, "compacted", to);
}

/* Hands a finished request its results and frees what it no longer needs. */
static void write_finish(struct write_req *req)
{
	if (req->applied && req->old) {
		*req->old = req->ev.prev;
		memset(&req->ev.prev, 0, sizeof(req->ev.prev));
	}
	skiff_store_event_free(&req->ev);
}

static void batch_commit(struct sqlite_store *s, struct write_req *batch)
{
	int64_t rev = s->rev, compacted = s->compacted, to;
	struct write_req *req;
	int err;

	err = s->broken;
	if (err)
		goto fail;
	err = step_done(s->wstmt[W_BEGIN]);
	if (err)
		goto fail;
	for (req = batch; req && !err; req = req->next)
		err = write_apply(s, req, &rev);
	if (!err && rev != s->rev)
		err = meta_set(s, "rev", rev);
	to = compact_target(s, rev, compacted);
	if (!err && to != compacted)
		err = compact(s, compacted, to);
	if (err)
		goto rollback;
	err = step_done(s->wstmt[W_COMMIT]);
	if (err) {
		/*
		 * The log may hold the batch or not: acknowledging anything
		 * more on top of that would be guessing.
		 */
		s->broken = -EIO;
		goto rollback;
	}

	__atomic_store_n(&s->rev, rev, __ATOMIC_RELEASE);
	__atomic_store_n(&s->compacted, to, __ATOMIC_RELEASE);
	for (req = batch; req; req = req->next) {
		if (req->applied && s->notify)
			s->notify(&req->ev, s->notify_arg);
		write_finish(req);
	}
	return;

rollback:
	if (!sqlite3_get_autocommit(s->db) && step_done(s->wstmt[W_ROLLBACK]))
		s->broken = -EIO;
fail:
	/* Refusals too: they were decided against writes now undone. */
	for (req = batch; req; req = req->next) {
		req->err = err;
		req->applied = false;
		write_finish(req);
	}
}

static void *committer_main(void *arg)
{
	struct sqlite_store *s = arg;
	struct write_req *batch, *req, *next;
	size_t n;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->head && !s->stopping)
			pthread_cond_wait(&s->work, &s->lock);
		if (!s->head)
			break;
		batch = s->head;
		for (req = batch, n = 1; req->next && n < MAX_BATCH; n++)
			req = req->next;
		s->head = req->next;
		req->next = NULL;
		if (!s->head)
			s->tail = &s->head;
		pthread_mutex_unlock(&s->lock);

		batch_commit(s, batch);

		pthread_mutex_lock(&s->lock);
		for (req = batch; req; req = next) {
			next = req->next;
			req->done = true;
		}
		pthread_cond_broadcast(&s->done);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static int write_submit(struct sqlite_store *s, struct write_req *req)
{
	req->key_len = strlen(req->key);
	if (req->key_len > s->max_len || req->value_len > s->max_len ||
	    req->key_len + req->value_len > s->max_len)
		return -E2BIG;
	pthread_mutex_lock(&s->lock);
	if (s->stopping) {
		pthread_mutex_unlock(&s->lock);
		return -ESHUTDOWN;
	}
	*s->tail = req;
	s->tail = &req->next;
	pthread_cond_signal(&s->work);
	while (!req->done)
		pthread_cond_wait(&s->done, &s->lock);
	pthread_mutex_unlock(&s->lock);
	return req->err;
}

static int sq_create(struct skiff_store *store, const char *key,
		     const char *value, size_t value_len, int64_t *rev)
{
	struct write_req req = {
		.type = LOG_CREATE,
		.key = key,
		.value = value,
		.value_len = value_len,
	};
	int err = write_submit(to_sqlite(store), &req);

	*rev = req.rev;
	return err;
}

static int sq_update(struct skiff_store *store, const char *key,
		     const char *value, size_t value_len, int64_t expect,
		     int64_t *rev)
{
	struct write_req req = {
		.type = LOG_UPDATE,
		.key = key,
		.value = value,
		.value_len = value_len,
		.expect = expect,
	};
	int err = write_submit(to_sqlite(store), &req);

	*rev = req.rev;
	return err;
}

static int sq_del(struct skiff_store *store, const char *key, int64_t expect,
		  struct skiff_kv *old, int64_t *rev)
{
	struct write_req req = {
		.type = LOG_DELETE,
		.key = key,
		.expect = expect,
		.old = old,
	};
	int err = write_submit(to_sqlite(store), &req);

	*rev = req.rev;
	return err;
}

static int64_t sq_revision(struct skiff_store *store)
{
	return __atomic_load_n(&to_sqlite(store)->rev, __ATOMIC_ACQUIRE);
}

static int64_t sq_compacted(struct skiff_store *store)
{
	return __atomic_load_n(&to_sqlite(store)->compacted, __ATOMIC_ACQUIRE);
}

/* ---- open and close ---------------------------------------------------- */

static int fsync_dir(const char *dir)
{
	int fd, ret = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

/* Creates @dir when missing; its entry in its parent is made durable. */
static int dir_prepare(const char *dir, char *err, size_t err_len)
{
	char *copy;
	struct stat st;
	int ret;

	if (!mkdir(dir, 0700)) {
		copy = strdup(dir);
		if (!copy)
			return skiff_store_seterr(err, err_len, -ENOMEM,
						  "out of memory");
		ret = fsync_dir(dirname(copy));
		free(copy);
		if (ret)
			return skiff_store_seterr(err, err_len, ret,
						  "cannot sync the parent of %s: %s",
						  dir, strerror(-ret));
	} else if (errno != EEXIST) {
		ret = -errno;
		return skiff_store_seterr(err, err_len, ret,
					  "cannot create %s: %s", dir,
					  strerror(-ret));
	}
	if (stat(dir, &st)) {
		ret = -errno;
		return skiff_store_seterr(err, err_len, ret, "%s: %s", dir,
					  strerror(-ret));
	}
	if (!S_ISDIR(st.st_mode))
		return skiff_store_seterr(err, err_len, -ENOTDIR,
					  "%s is not a directory", dir);
	return 0;
}

/* One process at a time: SQLite's own locks would let two interleave. */
static int dir_lock(struct sqlite_store *s, const char *dir, char *err,
		    size_t err_len)
{
	char *path;
	int ret;

	if (asprintf(&path, "%s/%s", dir, STORE_LOCK) < 0)
		return skiff_store_seterr(err, err_len, -ENOMEM,
					  "out of memory");
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		ret = -errno;
		skiff_store_seterr(err, err_len, ret, "cannot open %s: %s",
				   path, strerror(-ret));
		goto out_free;
	}
	ret = 0;
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB)) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (ret == -EBUSY)
			skiff_store_seterr(err, err_len, ret,
					   "store %s is in use by another process (%s is locked)",
					   dir, path);
		else
			skiff_store_seterr(err, err_len, ret,
					   "cannot lock %s: %s", path,
					   strerror(-ret));
		close(s->lock_fd);
		s->lock_fd = -1;
	}
out_free:
	free(path);
	return ret;
}

/* Runs a statement that returns one integer: an SQLite result code. */
static int query_int(sqlite3 *db, const char *sql, int64_t *value)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
			*value = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		} else {
			rc = SQLITE_CORRUPT;
		}
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_CORRUPT;
	}
	sqlite3_finalize(st);
	return rc;
}

static int db_fail(struct sqlite_store *s, int rc, const char *what,
		   char *err, size_t err_len)
{
	return skiff_store_seterr(err, err_len, sql_errno(rc), "%s: %s: %s",
				  s->path, what, sqlite3_errmsg(s->db));
}

/*
 * Whether the file is a skiff store, a new database, or something else,
 * found by reading only: a file that is not ours is left as it was.
 */
static int db_identify(struct sqlite_store *s, bool *fresh, char *err,
		       size_t err_len)
{
	int64_t tables, app_id, version;
	int rc;

	rc = query_int(s->db, "SELECT count(*) FROM sqlite_master", &tables);
	if ((rc & 0xff) == SQLITE_NOTADB)
		return skiff_store_seterr(err, err_len, -EINVAL,
					  "%s is not a SQLite database (not a skiff store; move it away)",
					  s->path);
	if (rc == SQLITE_OK)
		rc = query_int(s->db, "PRAGMA application_id", &app_id);
	if (rc == SQLITE_OK)
		rc = query_int(s->db, "PRAGMA user_version", &version);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, "cannot read", err, err_len);
	*fresh = false;
	if (app_id == STORE_APP_ID) {
		if (version != STORE_SCHEMA)
			return skiff_store_seterr(err, err_len, -EPROTO,
						  "%s has store schema version %lld; this skiff knows version %d",
						  s->path, (long long)version,
						  STORE_SCHEMA);
		return 0;
	}
	if (app_id || tables)
		return skiff_store_seterr(err, err_len, -EINVAL,
					  "%s is a SQLite database, but not a skiff store",
					  s->path);
	*fresh = true;
	return 0;
}

static int db_create(struct sqlite_store *s, char *err, size_t err_len)
{
	char *sql;
	int rc, ret;

	sql = sqlite3_mprintf("BEGIN IMMEDIATE;"
		"CREATE TABLE meta (name TEXT PRIMARY KEY,\n"
		"value INTEGER NOT NULL);"
		"INSERT INTO meta VALUES ('rev', 0), ('compacted', 0);"
		"CREATE TABLE log (rev INTEGER PRIMARY KEY,\n"
		"type INTEGER NOT NULL, key BLOB NOT NULL, value BLOB,\n"
		"create_rev INTEGER NOT NULL, prev_rev INTEGER NOT NULL);"
		"CREATE INDEX log_key ON log (key, rev);"
		"CREATE TABLE kv (key BLOB PRIMARY KEY,\n"
		"rev INTEGER NOT NULL) WITHOUT ROWID;"
		"PRAGMA application_id = %d;"
		"PRAGMA user_version = %d;"
		"COMMIT;", STORE_APP_ID, STORE_SCHEMA);
	if (!sql)
		return skiff_store_seterr(err, err_len, -ENOMEM,
					  "out of memory");
	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	sqlite3_free(sql);
	if (rc == SQLITE_OK)
		return 0;
	ret = db_fail(s, rc, "cannot create the store", err, err_len);
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

static int db_open(struct sqlite_store *s, char *err, size_t err_len)
{
	sqlite3_stmt *st = NULL;
	int rc, ret, i, limit;
	bool fresh;

	rc = sqlite3_open_v2(s->path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		ret = skiff_store_seterr(err, err_len, sql_errno(rc),
					 "cannot open %s: %s", s->path,
					 s->db ? sqlite3_errmsg(s->db) :
					 sqlite3_errstr(rc));
		goto err_close;
	}
	rc = sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	if (rc != SQLITE_OK) {
		ret = db_fail(s, rc, "busy timeout", err, err_len);
		goto err_close;
	}
	ret = db_identify(s, &fresh, err, err_len);
	if (ret)
		goto err_close;

	/* Outside any transaction: the journal mode cannot change in one. */
	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st,
				NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			rc = strcmp((const char *)sqlite3_column_text(st, 0) ?:
				    "", "wal") ? SQLITE_CANTOPEN : SQLITE_OK;
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_OK) {
		ret = db_fail(s, rc, "cannot switch to WAL mode", err,
			      err_len);
		goto err_close;
	}
	/* FULL: COMMIT fsyncs the WAL before it returns. */
	rc = sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL,
			  NULL);
	if (rc != SQLITE_OK) {
		ret = db_fail(s, rc, "synchronous", err, err_len);
		goto err_close;
	}
	if (fresh) {
		ret = db_create(s, err, err_len);
		if (ret)
			goto err_close;
	}
	rc = query_int(s->db, "SELECT value FROM meta WHERE name = 'rev'",
		       &s->rev);
	if (rc == SQLITE_OK)
		rc = query_int(s->db,
			       "SELECT value FROM meta WHERE name = 'compacted'",
			       &s->compacted);
	if (rc != SQLITE_OK) {
		ret = db_fail(s, rc, "cannot read the revision", err, err_len);
		goto err_close;
	}
	for (i = 0; i < NR_WSTMT; i++) {
		rc = sqlite3_prepare_v3(s->db, wsql[i], -1,
					SQLITE_PREPARE_PERSISTENT,
					&s->wstmt[i], NULL);
		if (rc != SQLITE_OK) {
			ret = db_fail(s, rc, "not a skiff store schema", err,
				      err_len);
			goto err_finalize;
		}
	}
	/* Room in a row for the key and the value, with the rest. */
	limit = sqlite3_limit(s->db, SQLITE_LIMIT_LENGTH, -1);
	s->max_len = limit > 1024 ? limit - 256 : 0;
	return 0;

err_finalize:
	for (i = 0; i < NR_WSTMT; i++) {
		sqlite3_finalize(s->wstmt[i]);
		s->wstmt[i] = NULL;
	}
err_close:
	sqlite3_close(s->db);
	s->db = NULL;
	return ret;
}

static void db_close(struct sqlite_store *s)
{
	int i;

	for (i = 0; i < NR_WSTMT; i++)
		sqlite3_finalize(s->wstmt[i]);
	/* The last connection out checkpoints the WAL into the database. */
	sqlite3_close(s->db);
}

static int sync_init(struct sqlite_store *s)
{
	int ret;

	ret = pthread_mutex_init(&s->lock, NULL);
	if (ret)
		return -ret;
	ret = pthread_mutex_init(&s->pool_lock, NULL);
	if (ret)
		goto err_lock;
	ret = pthread_cond_init(&s->work, NULL);
	if (ret)
		goto err_pool_lock;
	ret = pthread_cond_init(&s->done, NULL);
	if (ret)
		goto err_work;
	return 0;

err_work:
	pthread_cond_destroy(&s->work);
err_pool_lock:
	pthread_mutex_destroy(&s->pool_lock);
err_lock:
	pthread_mutex_destroy(&s->lock);
	return -ret;
}

static void sync_destroy(struct sqlite_store *s)
{
	pthread_cond_destroy(&s->done);
	pthread_cond_destroy(&s->work);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_mutex_destroy(&s->lock);
}

static void sq_close(struct skiff_store *store)
{
	struct sqlite_store *s = to_sqlite(store);
	struct reader *r;

	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->committer, NULL);

	while (s->pool) {
		r = s->pool;
		s->pool = r->next;
		reader_free(r);
	}
	db_close(s);
	sync_destroy(s);
	close(s->lock_fd);
	free(s->path);
	free(s);
}

static const struct skiff_store_ops sqlite_ops = {
	.close = sq_close,
	.revision = sq_revision,
	.compacted = sq_compacted,
	.get = sq_get,
	.list = sq_list,
	.count = sq_count,
	.create = sq_create,
	.update = sq_update,
	.del = sq_del,
	.history = sq_history,
};

/**
 * skiff_store_sqlite_open() - open the embedded store in a directory
 * @dir: the directory, created (mode 0700) when missing
 * @opts: history and notify; the URL is not looked at
 * @store: set to the store on success
 * @err: the reason on failure
 * @err_len: size of @err
 *
 * Return: 0; -EBUSY when another process has the store open; -EINVAL when
 * DIR/skiff.db is not a SQLite database or not a skiff store; -EPROTO for
 * a skiff store of another schema version; or an I/O error.
 */
int skiff_store_sqlite_open(const char *dir,
			    const struct skiff_store_options *opts,
			    struct skiff_store **store, char *err,
			    size_t err_len)
{
	struct sqlite_store *s;
	int ret;

	if (!dir[0])
		return skiff_store_seterr(err, err_len, -EINVAL,
					  "sqlite: wants a directory, as in sqlite:/var/lib/skiff");
	if (opts->tls)
		return skiff_store_seterr(err, err_len, -EINVAL,
					  "sqlite: the TLS files are for etcd; the embedded store has no connection to secure");
	s = calloc(1, sizeof(*s));
	if (!s)
		return skiff_store_seterr(err, err_len, -ENOMEM,
					  "out of memory");
	s->base.ops = &sqlite_ops;
	s->lock_fd = -1;
	s->history = opts->history ? opts->history : DEFAULT_HISTORY;
	s->slack = s->history / 8;
	if (s->slack < 1)
		s->slack = 1;
	if (s->slack > MAX_COMPACT_SLACK)
		s->slack = MAX_COMPACT_SLACK;
	s->notify = opts->notify;
	s->notify_arg = opts->notify_arg;
	s->tail = &s->head;

	ret = dir_prepare(dir, err, err_len);
	if (ret)
		goto err_free;
	ret = dir_lock(s, dir, err, err_len);
	if (ret)
		goto err_free;
	if (asprintf(&s->path, "%s/%s", dir, STORE_DB) < 0) {
		s->path = NULL;
		ret = skiff_store_seterr(err, err_len, -ENOMEM,
					 "out of memory");
		goto err_unlock;
	}
	ret = db_open(s, err, err_len);
	if (ret)
		goto err_free_path;
	/* The database and WAL files' entries, when just created. */
	ret = fsync_dir(dir);
	if (ret) {
		skiff_store_seterr(err, err_len, ret, "cannot sync %s: %s",
				   dir, strerror(-ret));
		goto err_db_close;
	}
	ret = sync_init(s);
	if (ret) {
		skiff_store_seterr(err, err_len, ret, "%s", strerror(-ret));
		goto err_db_close;
	}
	ret = -pthread_create(&s->committer, NULL, committer_main, s);
	if (ret) {
		skiff_store_seterr(err, err_len, ret,
				   "cannot start the committer thread: %s",
				   strerror(-ret));
		goto err_sync_destroy;
	}
	*store = &s->base;
	return 0;

err_sync_destroy:
	sync_destroy(s);
err_db_close:
	db_close(s);
err_free_path:
	free(s->path);
err_unlock:
	close(s->lock_fd);
err_free:
	free(s);
	return ret;
}
