// SPDX-License-Identifier: GPL-2.0
/*
 * Small file-system chores of the node agent: directories made whole,
 * files replaced whole (a reader or a crash never sees half of one), and
 * trees removed without reaching into anything still mounted below them.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "files.h"

/* mkdir -p of @path with @mode, or of its parents only unless @leaf. */
static int make_dirs(const char *path, mode_t mode, bool leaf)
{
	char tmp[PATH_MAX], *s;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (leaf && mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int skiff_mkdirs(const char *path)
{
	return make_dirs(path, 0755, true);
}

int skiff_mkdirs_mode(const char *path, mode_t mode)
{
	return make_dirs(path, mode, true);
}

int skiff_mkdir_parents(const char *path)
{
	return make_dirs(path, 0755, false);
}

int skiff_write_file(const char *path, const char *text, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t len = strlen(text);
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd))
		err = -EIO;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

DIR *skiff_opendir_at(int dfd, const char *path, int flags)
{
	int fd, err;
	DIR *d;

	fd = openat(dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags);
	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d) {
		err = errno;
		close(fd);
		errno = err;
	}
	return d;
}

int skiff_remove_tree_at(int dfd, const char *path)
{
	struct statx stx;
	struct dirent *ent;
	int err = 0, r;
	DIR *d;

	if (statx(dfd, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(stx.stx_mode))
		return unlinkat(dfd, path, 0) && errno != ENOENT ? -errno : 0;
	/* A mount point: its contents are someone else's, leave them. */
	if (stx.stx_attributes_mask & stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)
		return -EBUSY;
	d = skiff_opendir_at(dfd, path, O_NOFOLLOW);
	if (!d)
		return -errno;
	while ((ent = readdir(d))) {
		if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, ".."))
			continue;
		r = skiff_remove_tree_at(dirfd(d), ent->d_name);
		if (r && !err)
			err = r;
	}
	closedir(d);
	if (!err && unlinkat(dfd, path, AT_REMOVEDIR) && errno != ENOENT)
		err = -errno;
	return err;
}

int skiff_remove_tree(const char *path)
{
	return skiff_remove_tree_at(AT_FDCWD, path);
}
