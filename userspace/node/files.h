/* SPDX-License-Identifier: GPL-2.0 */
/* Small file-system chores of the node agent. */

#ifndef SKIFF_FILES_H
#define SKIFF_FILES_H

#include <dirent.h>
#include <sys/types.h>

/* mkdir -p; 0 or -errno. */
int skiff_mkdirs(const char *path);
/* mkdir -p making each missing directory with @mode; 0 or -errno. */
int skiff_mkdirs_mode(const char *path, mode_t mode);
/* mkdir -p of @path's parents (0755), not of @path itself; 0 or -errno. */
int skiff_mkdir_parents(const char *path);
/* Writes @text whole: to PATH.tmp, fsync, rename over @path. */
int skiff_write_file(const char *path, const char *text, mode_t mode);
/* rm -rf without crossing mounts' contents (mounted dirs are not emptied). */
int skiff_remove_tree(const char *path);
/*
 * Removes @path (relative to @dfd, or AT_FDCWD) and all under it, never
 * following a symbolic link nor entering another mount (-EBUSY then, the
 * rest is still removed); 0 when it does not exist.
 */
int skiff_remove_tree_at(int dfd, const char *path);
/*
 * Opens directory @path (relative to @dfd; "." for @dfd itself, on a
 * descriptor of its own) for readdir(), with open flags @flags added, such
 * as O_NOFOLLOW. NULL with errno set on failure.
 */
DIR *skiff_opendir_at(int dfd, const char *path, int flags);

#endif /* SKIFF_FILES_H */
