// SPDX-License-Identifier: GPL-2.0
/*
 * What the controllers share: informers, queues that wait for the caches,
 * writes whose answers land in the caches.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm.h"

static char *index_uid(const json_t *obj)
{
	const char *uid = skiff_meta(obj, "uid");

	return uid ? strdup(uid) : NULL;
}

struct skiff_informer *cm_informer(struct cm *cm,
				   const struct skiff_kind *kind)
{
	struct skiff_informer *inf, **all;
	unsigned int i;

	for (i = 0; i < cm->n_informers; i++)
		if (skiff_informer_kind(cm->informers[i]) == kind)
			return cm->informers[i];
	inf = skiff_informer_new(cm->c, kind, NULL);
	if (!inf)
		return NULL;
	if (skiff_informer_add_index(inf, CM_BY_NAMESPACE,
				     skiff_index_namespace) ||
	    skiff_informer_add_index(inf, CM_BY_CONTROLLER,
				     skiff_index_controller) ||
	    skiff_informer_add_index(inf, CM_BY_UID, index_uid) ||
	    (kind == &skiff_pods &&
	     skiff_informer_add_index(inf, CM_BY_NODE,
				      skiff_index_node_name)))
		goto err;
	all = realloc(cm->informers, (cm->n_informers + 1) * sizeof(*all));
	if (!all)
		goto err;
	cm->informers = all;
	all[cm->n_informers++] = inf;
	if (cm->started)
		skiff_informer_start(inf);
	return inf;

err:
	skiff_informer_free(inf);
	return NULL;
}

bool cm_synced(const struct cm *cm)
{
	unsigned int i;

	for (i = 0; i < cm->n_informers; i++)
		if (!skiff_informer_synced(cm->informers[i]))
			return false;
	return true;
}

struct synced_work {
	struct cm *cm;
	struct skiff_queue *q;
	skiff_work_fn work;
	void *arg;
};

static void work_when_synced(const char *key, void *arg)
{
	struct synced_work *w = arg;

	if (!cm_synced(w->cm)) {
		skiff_queue_add_after(w->q, key, 100);
		return;
	}
	w->work(key, w->arg);
}

struct skiff_queue *cm_queue(struct cm *cm, skiff_work_fn work, void *arg)
{
	struct synced_work *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->cm = cm;
	w->work = work;
	w->arg = arg;
	w->q = skiff_queue_new(cm->loop, work_when_synced, w);
	if (!w->q) {
		free(w);
		return NULL;
	}
	return w->q;
}

struct write {
	struct skiff_queue *q;
	struct skiff_informer *inf;
	bool delete;
	bool create;
	char what[];	/* "METHOD PATH" then the key */
};

static void written(long code, json_t *answer, void *arg)
{
	struct write *w = arg;
	const char *key = w->what + strlen(w->what) + 1;
	bool ok = code >= 200 && code < 300;

	if (ok && w->inf)
		skiff_informer_wrote(w->inf, answer, w->delete);
	if (!ok && !(w->delete && code == 404) &&
	    !(w->create && code == 409) && code != 409)
		fprintf(stderr, "controller-manager: %s: HTTP %ld: %s\n",
			w->what, code,
			json_string_value(json_object_get(answer, "message")) ?:
			"no answer");
	/* A conflict means the cache was behind: look again at once. */
	skiff_queue_done(w->q, key, !ok && code != 409 &&
			 !(w->delete && code == 404));
	free(w);
}

void cm_write(struct cm *cm, struct skiff_queue *q, const char *key,
	      struct skiff_informer *inf, const char *method, char *path,
	      const char *type, const json_t *body)
{
	size_t what_len;
	struct write *w;

	if (!path) {
		skiff_queue_retry(q, key);
		return;
	}
	what_len = strlen(method) + 1 + strlen(path);
	w = malloc(sizeof(*w) + what_len + 1 + strlen(key) + 1);
	if (!w) {
		free(path);
		skiff_queue_retry(q, key);
		return;
	}
	w->q = q;
	w->inf = inf;
	w->delete = !strcmp(method, "DELETE");
	w->create = !strcmp(method, "POST");
	sprintf(w->what, "%s %s", method, path);
	strcpy(w->what + what_len + 1, key);
	skiff_queue_busy(q, key);
	if (skiff_client_send(cm->c, method, path, type, body, written, w)) {
		skiff_queue_done(q, key, true);
		free(w);
	}
}

json_t *cm_owner_ref(const json_t *owner)
{
	return json_pack("{s:s?, s:s?, s:s?, s:s?, s:b, s:b}",
			 "apiVersion",
			 json_string_value(json_object_get(owner, "apiVersion")),
			 "kind", json_string_value(json_object_get(owner, "kind")),
			 "name", skiff_meta(owner, "name"),
			 "uid", skiff_meta(owner, "uid"),
			 "controller", 1, "blockOwnerDeletion", 1);
}

bool cm_controlled_by(const json_t *obj, const json_t *owner)
{
	const char *uid = skiff_controller_uid(obj);

	return uid && !strcmp(uid, skiff_meta(owner, "uid") ?: "");
}
