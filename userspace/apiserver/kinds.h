/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs by kind: defaults and validation on create and update, and
 * how a kind is deleted (pods wait for their kubelet, namespaces for their
 * contents). The verbs themselves are in objects.c.
 *
 * The checking functions return 0, or -1 with @fail filled (422 Invalid,
 * naming the field).
 */

#ifndef SKIFF_API_KINDS_H
#define SKIFF_API_KINDS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "resources.h"

struct api_fail;

/* Defaults and checks a new object; metadata (uid, times) is already set. */
int kinds_prepare_create(const struct api_resource *res, json_t *obj,
			 struct api_fail *fail);
/* Checks @obj as the next version of @cur (immutable fields and the rest). */
int kinds_validate_update(const struct api_resource *res, const json_t *cur,
			  json_t *obj, struct api_fail *fail);
/* The grace period a delete gets, from the one asked (-1: none asked). */
long long kinds_grace_period(const struct api_resource *res,
			     const json_t *obj, long long asked);
/* Marks an object whose deletion waits (a namespace: Terminating). */
void kinds_prepare_delete(const struct api_resource *res, json_t *obj);
/* May the object, its finalizers gone, leave the store? */
bool kinds_deletable(const struct api_resource *res, const json_t *obj);
/* A pod just bound to a node: its PodScheduled condition. */
void kinds_bound(json_t *pod);

#endif /* SKIFF_API_KINDS_H */
