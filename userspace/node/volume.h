/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A pod's volumes and its containers' environment, as the kubelet makes
 * them from the Pod spec:
 *   emptyDir   a directory under the pod's directory (medium Memory: a
 *              tmpfs), gone with the pod
 *   hostPath   a host path bound in (type DirectoryOrCreate/Directory/
 *              FileOrCreate/File/Socket checked, "" no check)
 *   configMap  the ConfigMap's keys as files (items/key->path, defaultMode)
 *   secret     the Secret's keys (base64 data decoded) as files, mode 0400
 *              unless defaultMode says otherwise, on a tmpfs so that they
 *              never reach the disk
 * Files of configMap and secret volumes are written whole and swapped in
 * (a new directory renamed over a "..data" link, as the kubelet does), so
 * a container never reads half an update.
 *
 * Environment: env (value, valueFrom configMapKeyRef / secretKeyRef /
 * fieldRef metadata.name, metadata.namespace, metadata.uid,
 * metadata.labels['k'], metadata.annotations['k'], spec.nodeName,
 * status.podIP, status.hostIP, spec.serviceAccountName / resourceFieldRef
 * limits.* and requests.* of cpu, memory, ephemeral-storage with divisor),
 * envFrom (configMapRef, secretRef, prefix), $(VAR) references expanded as
 * Kubernetes does ($$ for a literal $).
 */

#ifndef SKIFF_VOLUME_H
#define SKIFF_VOLUME_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"
#include "runtime.h"

/*
 * Where ConfigMaps and Secrets come from: the object @name of @kind
 * ("ConfigMap" or "Secret") in @ns, a reference the caller keeps, or NULL
 * when it does not exist.
 */
typedef const json_t *(*skiff_volume_lookup_fn)(const char *kind,
						const char *ns,
						const char *name, void *arg);

/*
 * Makes every volume of @pod under @pod_dir/volumes/NAME (configMap and
 * secret contents written, tmpfs mounted). Idempotent, and run again it
 * updates configMap and secret contents. A missing ConfigMap or Secret
 * not marked optional is -ENOENT with @e naming it (the kubelet's
 * "configmap "x" not found"), and the pod does not start.
 */
int skiff_volumes_setup(const char *pod_dir, const json_t *pod,
			skiff_volume_lookup_fn lookup, void *arg,
			struct skiff_error *e);
/* Unmounts and removes every volume under @pod_dir; 0 when none. */
int skiff_volumes_teardown(const char *pod_dir, struct skiff_error *e);

/*
 * The bind mounts for @container's volumeMounts (readOnly, subPath), as a
 * malloc'd array of *@n entries whose strings live in one allocation with
 * it (free() the array alone). -EINVAL when a mount names no volume.
 * @pod may also be the pod's spec alone. A subPath is resolved (it may not
 * lead out of its volume) and made when missing, as the kubelet does.
 */
int skiff_volume_mounts(const char *pod_dir, const json_t *pod,
			const json_t *container, struct skiff_mount **mounts,
			unsigned int *n, struct skiff_error *e);

/*
 * The environment of @container ("NAME=value" strings, NULL-terminated,
 * malloc'd in one allocation: free() it alone), with @image_env (the
 * image's Env, may be NULL) first and overridden. @pod_ip and @host_ip
 * feed fieldRef. -ENOENT when a referenced ConfigMap/Secret or key is
 * missing and not optional (CreateContainerConfigError). On success @e is
 * clear, or holds (err 0) the warning the kubelet makes an event of: keys
 * of an envFrom source skipped as invalid variable names.
 */
int skiff_container_env(const json_t *pod, const json_t *container,
			const json_t *image_env, const char *pod_ip,
			const char *host_ip, skiff_volume_lookup_fn lookup,
			void *arg, char ***env, struct skiff_error *e);

/*
 * @in with $(VAR) references expanded from @env ("NAME=value", NULL-ended,
 * the last of a name counting), "$$" as "$", unresolved ones left as they
 * are: what the kubelet does to a container's command and args with its
 * environment. malloc'd; NULL when out of memory.
 */
char *skiff_env_expand(const char *in, char *const *env);

#endif /* SKIFF_VOLUME_H */
