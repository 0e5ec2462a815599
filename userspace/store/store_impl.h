/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Between store.c and the store implementations (store_sqlite.c,
 * store_etcd.c): store.c parses the URL, checks every argument once, and calls
 * the chosen implementation through its ops. Not for users of the store.
 */

#ifndef SKIFF_STORE_IMPL_H
#define SKIFF_STORE_IMPL_H

#include "store.h"

/**
 * struct skiff_store_ops - one store implementation
 *
 * The arguments have been checked by store.c: keys are non-empty strings,
 * values are non-NULL (an empty one is ""), revisions are not negative,
 * outputs are non-NULL except where store.h says they may be.
 */
struct skiff_store_ops {
	void (*close)(struct skiff_store *store);
	int64_t (*revision)(struct skiff_store *store);
	int64_t (*compacted)(struct skiff_store *store);
	int (*get)(struct skiff_store *store, const char *key,
		   struct skiff_kv *out);
	int (*list)(struct skiff_store *store,
		    const struct skiff_store_range *range,
		    struct skiff_kv_list *out, int64_t *rev_out, bool *more);
	int (*count)(struct skiff_store *store, const char *prefix,
		     size_t *count);
	int (*create)(struct skiff_store *store, const char *key,
		      const char *value, size_t value_len, int64_t *rev);
	int (*update)(struct skiff_store *store, const char *key,
		      const char *value, size_t value_len, int64_t expect,
		      int64_t *rev);
	int (*del)(struct skiff_store *store, const char *key, int64_t expect,
		   struct skiff_kv *old, int64_t *rev);
	int (*history)(struct skiff_store *store, int64_t after,
		       int (*fn)(const struct skiff_store_event *ev,
				 void *arg),
		       void *arg);
};

/*
 * Every implementation's store starts with this, so that store.c can find
 * the ops; the implementation gets back to its own struct with
 * container_of-style arithmetic.
 */
struct skiff_store {
	const struct skiff_store_ops *ops;
};

/* "sqlite:DIR": @dir is what follows the scheme. */
int skiff_store_sqlite_open(const char *dir,
			    const struct skiff_store_options *opts,
			    struct skiff_store **store, char *err,
			    size_t err_len);

/* "etcd:URL[,URL...]": @urls is what follows the scheme. */
int skiff_store_etcd_open(const char *urls,
			  const struct skiff_store_options *opts,
			  struct skiff_store **store, char *err,
			  size_t err_len);

/* Formats a message into @err (which may be NULL); returns @errnum. */
int skiff_store_seterr(char *err, size_t err_len, int errnum,
		       const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Fills @kv with copies of @key and @value (each NUL-terminated): 0 or
 * -ENOMEM, with @kv untouched on failure. @value may be NULL only when
 * @value_len is 0.
 */
int skiff_kv_set(struct skiff_kv *kv, const void *key, size_t key_len,
		 const void *value, size_t value_len, int64_t create_rev,
		 int64_t mod_rev);

/* The bounds of a list, the same for every implementation (store.c). */
void skiff_store_range_lower(const char *prefix, const char *after,
			     const char **lower, size_t *lower_len);
bool skiff_store_range_upper(const char *prefix, char **upper, size_t *len,
			     int *err);

#endif /* SKIFF_STORE_IMPL_H */
