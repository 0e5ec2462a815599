/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The node's image store: container root file systems kept in a local
 * directory, no registry involved. An image is imported from a tarball
 * (an OCI image layout, or a plain root file system) or built from
 * programs of the host (with the libraries they need), for labs.
 *
 * Layout of the store DIR:
 *   DIR/NAME/TAG/rootfs/     the unpacked root file system (read-only use)
 *   DIR/NAME/TAG/config.json the image config (Entrypoint, Cmd, Env,
 *                            WorkingDir, User), as OCI's "config" object
 * A reference "busybox", "busybox:latest", "docker.io/library/busybox"
 * and "library/busybox:latest" all name DIR/busybox/latest; registry hosts
 * and "library/" are dropped, digests are not supported.
 */

#ifndef SKIFF_IMAGE_H
#define SKIFF_IMAGE_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"

/*
 * The directory of image @ref in @store (malloc'd), whether it exists or
 * not; NULL with -EINVAL in @e when @ref is not a valid reference.
 */
char *skiff_image_dir(const char *store, const char *ref,
		      struct skiff_error *e);

/*
 * Looks image @ref up: 0 and *@rootfs (malloc'd path) and *@config (a
 * reference, the image config object, {} when it has none), or -ENOENT
 * when the store does not have it.
 */
int skiff_image_lookup(const char *store, const char *ref, char **rootfs,
		       json_t **config, struct skiff_error *e);

/*
 * Imports @tarball (an OCI image layout tar, or a root file system tar;
 * gzip or not) as image @ref. Unpacked next to the image and renamed into
 * place, so the store never shows half an image; replaces one of the same
 * name.
 */
int skiff_image_import(const char *store, const char *ref,
		       const char *tarball, struct skiff_error *e);

/*
 * Builds image @ref from host programs @programs[0..@n): each copied with
 * the shared libraries it loads (and the loader), plus /bin/sh when
 * busybox is among them (its applets as links). Config Cmd is the first
 * program.
 */
int skiff_image_build_from_host(const char *store, const char *ref,
				const char *const *programs, size_t n,
				struct skiff_error *e);

/* Removes image @ref; -ENOENT when absent. */
int skiff_image_remove(const char *store, const char *ref,
		       struct skiff_error *e);

/* Calls @fn for every image (as "NAME:TAG"). */
int skiff_image_for_each(const char *store,
			 int (*fn)(const char *ref, void *arg), void *arg);

/*
 * `skiff-node image import|build-from-host|list|rm [--image-dir DIR] ...`:
 * the command line over the calls above; returns the exit status.
 */
int skiff_image_main(int argc, char **argv);

#endif /* SKIFF_IMAGE_H */
