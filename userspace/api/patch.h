/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The three patch formats of the Kubernetes API (PATCH's Content-Type):
 *
 *   application/merge-patch+json            RFC 7386 JSON merge patch
 *   application/json-patch+json             RFC 6902 JSON patch
 *   application/strategic-merge-patch+json  Kubernetes' strategic merge
 *                                           patch (what kubectl apply sends)
 *
 * Each takes the current object and the patch and returns a new object, or
 * NULL with @err saying why the patch cannot apply (the apiserver answers
 * 422 or 400 with it). The inputs are never modified.
 */

#ifndef SKIFF_PATCH_H
#define SKIFF_PATCH_H

#include <stddef.h>

#include <jansson.h>

json_t *skiff_merge_patch(const json_t *doc, const json_t *patch,
			  char *err, size_t err_len);

json_t *skiff_json_patch(const json_t *doc, const json_t *patch,
			 char *err, size_t err_len);

/*
 * Strategic merge patch. Lists whose Kubernetes type declares a patch merge
 * key (containers by name, env by name, volumes by name, volumeMounts by
 * mountPath, container ports by containerPort, Service ports by port,
 * ownerReferences by uid, conditions by type, tolerations and the like) are
 * merged element by element; lists of scalars with a merge strategy
 * (finalizers) merge as sets; other lists are replaced. Directives:
 * null deletes a field, {"$patch": "replace"|"delete"|"merge"},
 * "$setElementOrder/FIELD", "$retainKeys", "$deleteFromPrimitiveList/FIELD".
 */
json_t *skiff_strategic_merge_patch(const json_t *doc, const json_t *patch,
				    char *err, size_t err_len);

#endif /* SKIFF_PATCH_H */
