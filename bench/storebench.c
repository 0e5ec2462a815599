// SPDX-License-Identifier: GPL-2.0
/*
 * storebench: what the embedded store does per second, in a fresh store
 * under a temporary directory (or DIR, which must not hold a store yet).
 *
 *   storebench [-w WRITES] [-v VALUE_BYTES] [DIR]
 *	For 1, 4 and 16 concurrent writers: WRITES creates in all (default
 *	4000), each durable on return, and the writes per second. Then a
 *	list of the 10000 keys under one prefix and a count of them, timed.
 *
 * Not a test: the figures depend on the disk's fsync.
 */

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "util.h"

#define LIST_KEYS 10000

struct writer {
	struct skiff_store *store;
	int round;
	int id;
	int writes;
	const char *value;
	size_t value_len;
	int failed;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	char key[64];
	int64_t rev;
	int i;

	for (i = 0; i < w->writes; i++) {
		snprintf(key, sizeof(key), "/bench/%d/%d/%d", w->round, w->id,
			 i);
		if (skiff_store_create(w->store, key, w->value, w->value_len,
				       &rev))
			w->failed++;
	}
	return NULL;
}

static int run_writers(struct skiff_store *store, int round, int threads,
		       int writes, const char *value, size_t value_len)
{
	struct writer *w = calloc(threads, sizeof(*w));
	pthread_t *tids = calloc(threads, sizeof(*tids));
	int t, failed = 0;
	double start, ms;

	if (!w || !tids) {
		free(w);
		free(tids);
		return -ENOMEM;
	}
	start = now_ms();
	for (t = 0; t < threads; t++) {
		w[t].store = store;
		w[t].round = round;
		w[t].id = t;
		w[t].writes = writes / threads;
		w[t].value = value;
		w[t].value_len = value_len;
		if (pthread_create(&tids[t], NULL, writer_main, &w[t])) {
			/* Waits for those started, and counts as failed. */
			threads = t;
			failed = 1;
			break;
		}
	}
	for (t = 0; t < threads; t++) {
		pthread_join(tids[t], NULL);
		failed += w[t].failed;
	}
	ms = now_ms() - start;
	printf("%2d writer%s %6d writes %8.1f ms %8.0f writes/s%s\n",
	       threads, threads == 1 ? " " : "s", writes / threads * threads,
	       ms, writes / threads * threads / ms * 1e3,
	       failed ? " (some failed)" : "");
	free(w);
	free(tids);
	return failed ? -EIO : 0;
}

static int bench_list(struct skiff_store *store, const char *value,
		      size_t value_len)
{
	struct skiff_store_range range = { .prefix = "/list/" };
	struct skiff_kv_list out;
	char key[64];
	double start;
	size_t count;
	int64_t rev;
	int i, err;

	for (i = 0; i < LIST_KEYS; i++) {
		snprintf(key, sizeof(key), "/list/ns%d/obj%05d", i % 10, i);
		err = skiff_store_create(store, key, value, value_len, &rev);
		if (err)
			return err;
	}
	/* Twice: the first read fills the reader's page cache. */
	for (i = 0; i < 2; i++) {
		start = now_ms();
		err = skiff_store_list(store, &range, &out, &rev, NULL);
		if (err)
			return err;
		printf("list of %zu keys: %.1f ms\n", out.count,
		       now_ms() - start);
		skiff_kv_list_free(&out);
	}
	start = now_ms();
	err = skiff_store_count(store, "/list/", &count);
	if (err)
		return err;
	printf("count of %zu keys: %.1f ms\n", count, now_ms() - start);
	return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(int argc, char **argv)
{
	static const int threads[] = { 1, 4, 16 };
	char tmp[] = "/tmp/storebench-XXXXXX", url[4096], err[256] = "";
	struct skiff_store_options opts = { .url = url };
	size_t value_len = 512;
	struct skiff_store *store;
	const char *dir = NULL;
	int opt, writes = 4000, ret = 0;
	unsigned int i;
	char *value;

	while ((opt = getopt(argc, argv, "w:v:")) != -1) {
		switch (opt) {
		case 'w':
			writes = atoi(optarg);
			break;
		case 'v':
			value_len = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr,
				"usage: storebench [-w WRITES] [-v VALUE_BYTES] [DIR]\n");
			return 2;
		}
	}
	if (optind < argc) {
		dir = argv[optind];
	} else {
		if (!mkdtemp(tmp)) {
			perror("mkdtemp");
			return 1;
		}
		dir = tmp;
	}
	snprintf(url, sizeof(url), "sqlite:%s/store", dir);
	value = malloc(value_len + 1);
	if (!value || writes < 16)
		return 1;
	memset(value, 'v', value_len);
	value[value_len] = '\0';

	ret = skiff_store_open(&opts, &store, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "storebench: %s: %s\n", strerror(-ret), err);
		goto out;
	}
	printf("%s, %zu-byte values\n", url, value_len);
	for (i = 0; !ret && i < ARRAY_SIZE(threads); i++)
		ret = run_writers(store, i, threads[i], writes, value,
				  value_len);
	if (!ret)
		ret = bench_list(store, value, value_len);
	if (ret)
		fprintf(stderr, "storebench: %s\n", strerror(-ret));
	skiff_store_close(store);
out:
	if (dir == tmp)
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(value);
	return ret ? 1 : 0;
}
