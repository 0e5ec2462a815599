// SPDX-License-Identifier: GPL-2.0
/*
 * The embedded store (sqlite:DIR), for real, in directories under /tmp:
 * the cases every store passes (store_cases.h), then what is the embedded
 * store's own: bad URLs and directories, the rows compaction leaves in the
 * file, the lock that keeps a second process out, and files that are not
 * a store.
 */

#include <fcntl.h>

#include <sqlite3.h>

#define STORE_NEW_REV 0
#include "store_cases.h"

static char *store_url(const char *name)
{
	return path_in("sqlite:%s/%s", name);
}

/* What compaction is for: the old rows are gone from the file. */
static void compacted_check(const char *name, int64_t r, int64_t c)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t rows = -1;
	char *file, *rel;

	if (asprintf(&rel, "%s/skiff.db", name) < 0)
		abort();
	file = path_in("%s/%s", rel);
	if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM log", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		rows = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(file);
	free(rel);
	tap_is_int(rows, r - c + 2,
		   "the log keeps the window and each live key's last row");
}

static void test_urls(void)
{
	struct skiff_store_options opts = { 0 };
	struct skiff_store *store = (void *)1;
	struct skiff_store_tls tls = { .ca_file = "/etc/ssl/certs/ca-certificates.crt" };
	char err[256] = "", *path;
	int fd;

	tap_is_int(skiff_store_open(&opts, &store, err, sizeof(err)), -EINVAL,
		   "no URL is refused");
	tap_ok(!store, "and leaves no store");
	opts.url = "mysql:/var/lib/x";
	tap_is_int(skiff_store_open(&opts, &store, err, sizeof(err)), -EINVAL,
		   "an unknown scheme is refused");
	tap_ok(strstr(err, "mysql:/var/lib/x") && strstr(err, "sqlite:DIR"),
	       "with a message naming the URL and what works: %s", err);
	opts.url = "sqlite:";
	tap_is_int(skiff_store_open(&opts, &store, err, sizeof(err)), -EINVAL,
		   "sqlite: without a directory is refused");
	path = path_in("sqlite:%s/%s", "missing/parent");
	opts.url = path;
	tap_is_int(skiff_store_open(&opts, &store, err, sizeof(err)), -ENOENT,
		   "a directory whose parent is missing is refused");
	tap_ok(strstr(err, "missing/parent"), "naming it: %s", err);
	free(path);
	path = path_in("%s/%s", "file");
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	close(fd);
	free(path);
	path = path_in("sqlite:%s/%s", "file");
	opts.url = path;
	tap_is_int(skiff_store_open(&opts, &store, err, sizeof(err)),
		   -ENOTDIR, "a file for a directory is refused");
	free(path);
	opts.url = "sqlite:/tmp/skiff-never";
	opts.history = -1;
	tap_is_int(skiff_store_open(&opts, &store, err, sizeof(err)), -EINVAL,
		   "a negative history is refused");
	opts.history = 0;
	opts.tls = &tls;
	tap_is_int(skiff_store_open(&opts, &store, err, sizeof(err)), -EINVAL,
		   "TLS files for the embedded store are refused");
	tap_ok(strstr(err, "for etcd") && access("/tmp/skiff-never", F_OK),
	       "saying they are for etcd, making nothing: %s", err);
}

/* One process at a time: a second open of a store in use is refused. */
static void test_lock(const char *name)
{
	struct skiff_store_options opts = { 0 };
	struct skiff_store *store, *second;
	char err[256] = "";

	if (open_store(name, 0, NULL, &store)) {
		tap_ok(false, "open %s", name);
		return;
	}
	opts.url = store_url(name);
	second = (void *)1;
	tap_is_int(skiff_store_open(&opts, &second, err, sizeof(err)), -EBUSY,
		   "a second open of the same store: -EBUSY");
	tap_ok(strstr(err, "in use") && !second, "saying it is in use: %s",
	       err);
	free((char *)opts.url);
	skiff_store_close(store);
}

static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	FILE *f = fopen(path, "r");
	long n = -1;

	*len = 0;
	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END))
		n = ftell(f);
	if (n >= 0 && !fseek(f, 0, SEEK_SET)) {
		buf = xcalloc(n + 1, 1);
		*len = fread(buf, 1, n, f);
	}
	fclose(f);
	return buf;
}

/* Opens a store over a file that is not one; checks it is untouched. */
static void not_a_store(const char *name, const char *want_msg)
{
	struct skiff_store *store = (void *)1;
	struct skiff_store_options opts = { 0 };
	char url[512], err[256] = "", *file, *wal;
	size_t before_len, after_len;
	char *before, *after;
	int ret;

	snprintf(url, sizeof(url), "sqlite:%s/%s", tmp, name);
	opts.url = url;
	file = path_in("%s/%s/skiff.db", name);
	wal = path_in("%s/%s/skiff.db-wal", name);
	before = slurp(file, &before_len);
	ret = skiff_store_open(&opts, &store, err, sizeof(err));
	tap_ok(ret == -EINVAL && !store, "%s: refused (%d)", name, ret);
	tap_ok(strstr(err, want_msg) && strstr(err, file),
	       "%s: says why: %s", name, err);
	after = slurp(file, &after_len);
	tap_ok(before && after && before_len == after_len &&
	       !memcmp(before, after, before_len) && access(wal, F_OK),
	       "%s: the file is left as it was", name);
	if (!ret)
		skiff_store_close(store);
	free(before);
	free(after);
	free(file);
	free(wal);
}

static void test_not_a_store(void)
{
	sqlite3 *db = NULL;
	char *dir, *file;
	FILE *f;
	int i, ok;

	dir = path_in("%s/%s", "garbage");
	file = path_in("%s/%s", "garbage/skiff.db");
	mkdir(dir, 0700);
	f = fopen(file, "w");
	for (i = 0; f && i < 200; i++)
		fputs("this is not a database, only some text\n", f);
	if (f)
		fclose(f);
	free(dir);
	free(file);
	not_a_store("garbage", "not a SQLite database");

	dir = path_in("%s/%s", "foreign");
	file = path_in("%s/%s", "foreign/skiff.db");
	mkdir(dir, 0700);
	ok = sqlite3_open(file, &db) == SQLITE_OK &&
	     sqlite3_exec(db, "CREATE TABLE t (x); INSERT INTO t VALUES (1)",
			  NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(db);
	tap_ok(ok, "made a SQLite database of another kind");
	free(dir);
	free(file);
	not_a_store("foreign", "not a skiff store");
}

int main(void)
{
	tap_plan(STORE_CASES + 21);
	strcpy(tmp, "/tmp/skiff-store-test-XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}

	test_urls();
	store_cases_run();
	test_lock("main");
	test_not_a_store();

	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
