/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ConfigMaps and Secrets the node's pods reference, each watched on its
 * own, as the kubelet's watch-based manager does.
 *
 * Why not one informer of every Secret: the apiserver's node authorizer
 * lets a node read only the Secrets and ConfigMaps its own pods reference,
 * by name (get, or list/watch with fieldSelector metadata.name=NAME in the
 * object's namespace). A node that could read every Secret of the cluster
 * would hand all of them to whoever owns one node. So each referenced
 * object gets a small informer of its own, started with its first
 * reference and freed with its last.
 */

#ifndef SKIFF_NODE_OBJREF_H
#define SKIFF_NODE_OBJREF_H

#include <stdbool.h>

#include <jansson.h>

#include "client.h"

struct skiff_objrefs;

/* A referenced object was added, changed or deleted (or first listed). */
typedef void (*skiff_objref_fn)(bool secret, const char *ns, const char *name,
				void *arg);

struct skiff_objrefs *skiff_objrefs_new(struct skiff_client *c,
					skiff_objref_fn changed, void *arg);
void skiff_objrefs_free(struct skiff_objrefs *r);

/*
 * Takes (or drops) one reference of every ConfigMap and Secret the pod
 * spec @spec of namespace @ns names: volumes (configMap, secret, projected
 * sources), env valueFrom and envFrom of every container and init
 * container. A pod takes its references once and drops them once.
 */
int skiff_objrefs_take_pod(struct skiff_objrefs *r, const char *ns,
			   const json_t *spec);
void skiff_objrefs_drop_pod(struct skiff_objrefs *r, const char *ns,
			    const json_t *spec);

/* The object if referenced and known, else NULL. */
const json_t *skiff_objrefs_get(const struct skiff_objrefs *r, bool secret,
				const char *ns, const char *name);

/* How many objects are watched now (for tests and logs). */
unsigned int skiff_objrefs_count(const struct skiff_objrefs *r);

#endif /* SKIFF_NODE_OBJREF_H */
