/* SPDX-License-Identifier: GPL-2.0 */
/* Small file-system chores of the node agent. */

#ifndef SKIFF_FILES_H
#define SKIFF_FILES_H

#include <sys/types.h>

/* mkdir -p; 0 or -errno. */
int skiff_mkdirs(const char *path);
/* Writes @text whole: to PATH.tmp, fsync, rename over @path. */
int skiff_write_file(const char *path, const char *text, mode_t mode);
/* rm -rf without crossing mounts' contents (mounted dirs are not emptied). */
int skiff_remove_tree(const char *path);

#endif /* SKIFF_FILES_H */
