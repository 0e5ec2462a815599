// SPDX-License-Identifier: GPL-2.0
/*
 * A pod's volumes, made as the kubelet makes them (see volume.h), under
 * POD_DIR/volumes/NAME:
 *
 *   emptyDir   a directory (mode 0777, as the kubelet's); medium Memory
 *              mounts a tmpfs there, sized by sizeLimit when given
 *   hostPath   nothing under the pod's directory: the host path itself is
 *              the mount source, so tearing a pod down can never reach
 *              into host data; its type is checked (and the path created
 *              for DirectoryOrCreate/FileOrCreate)
 *   configMap  files written by the atomic writer below
 *   secret     the same, on a tmpfs mounted at the volume's directory
 *
 * The atomic writer is the kubelet's: the payload goes whole into a fresh
 * directory named after the time ("..2026_11_02_10_04_05.123456789"), a
 * "..data" symlink to it is made under a temporary name and renamed over
 * the old one (rename(2) is atomic), and every visible top-level name is a
 * symlink through "..data" ("KEY -> ..data/KEY"). A reader therefore sees
 * the old payload or the new one, never a mix. An unchanged payload is not
 * rewritten. Unlike the kubelet, which removes the replaced directory at
 * once, we keep it until the next call: a reader that had resolved
 * "..data" just before the swap would otherwise find its file gone
 * (ENOENT), which the tests saw happen.
 *
 * Setup runs in two passes: the first checks every volume and gathers
 * every payload (lookups, base64) without touching anything, the second
 * writes. A bad spec or a missing ConfigMap changes nothing.
 *
 * Files and directories are reached with *at() calls on descriptors opened
 * with O_NOFOLLOW, and trees are removed without following symlinks or
 * crossing into other mounts, so a container that plants symlinks in a
 * writable volume cannot make us touch host files.
 */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/mount.h>
#include <sys/stat.h>

#include "base64.h"
#include "files.h"
#include "quantity.h"
#include "util.h"
#include "volume.h"

#define DATA_LINK "..data"
#define DATA_TMP "..data_tmp"
#define MODE_MAX 0777
#define CONFIGMAP_MODE 0644
#define SECRET_MODE 0400
#define EMPTYDIR_MODE 0777
#define FILES_DIR_MODE 0755
#define HOSTPATH_DIR_MODE 0755
#define HOSTPATH_FILE_MODE 0644
#define VOLUMES_DIR_MODE 0750

#define SETUP_FAILED "MountVolume.SetUp failed for volume \"%s\" : "
#define MODE_RANGE "must be a number between 0 and 0777 (octal), both inclusive"

/* ---- names and paths ------------------------------------------------------ */

/* "FIELD: Invalid value: "VALUE": WHY", as the apiserver says it. */
static int __attribute__((format(printf, 4, 5)))
invalid(struct skiff_error *e, const char *value, const char *why, const char *fmt, ...)
{
	char field[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(field, sizeof(field), fmt, ap);
	va_end(ap);
	return skiff_error_set(e, -EINVAL, "%s: Invalid value: \"%s\": %s", field, value, why);
}

static bool is_label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* RFC 1123 label: what a volume name must be. */
static bool is_dns_label(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!is_label_char(s[i]))
			return false;
	return true;
}

/* RFC 1123 subdomain: what a ConfigMap or Secret name must be. */
static bool is_dns_subdomain(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (!i || i == n - 1 || s[i - 1] == '-' || s[i + 1] == '-' ||
			    s[i + 1] == '.')
				return false;
		} else if (!is_label_char(s[i])) {
			return false;
		}
	}
	return s[0] != '-' && s[n - 1] != '-';
}

/* A ConfigMap or Secret key, which is also a file name in a volume. */
static bool is_config_key(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || n > 253 || !strncmp(s, "..", 2) || !strcmp(s, "."))
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-._", s[i]))
			return false;
	return true;
}

/*
 * Why relative path @p is refused, or NULL: an absolute path, a ".."
 * element, an empty or "." element. A file path of a configMap or secret
 * volume (@payload) may also not start with "..", the writer's own names.
 */
static const char *bad_path(const char *p, bool payload)
{
	const char *c, *end;
	size_t n;

	if (!*p)
		return "must not be empty";
	if (*p == '/')
		return "must be a relative path";
	if (strlen(p) >= PATH_MAX)
		return "must be shorter than PATH_MAX";
	if (payload && !strncmp(p, "..", 2))
		return "must not start with '..'";
	for (c = p; c; c = *end ? end + 1 : NULL) {
		end = strchrnul(c, '/');
		n = (size_t)(end - c);
		if (n == 2 && !strncmp(c, "..", 2))
			return "must not contain '..'";
		if (!n || (n == 1 && *c == '.'))
			return "must not contain empty or '.' elements";
		if (n > NAME_MAX)
			return "has an element longer than NAME_MAX";
	}
	return NULL;
}

/* ---- the atomic writer ---------------------------------------------------- */

/**
 * struct vfile - one file of a configMap or secret volume
 * @path: relative path in the volume (checked by bad_path())
 * @data: its bytes
 * @len: how many
 * @mode: its permission bits
 */
struct vfile {
	char *path;
	char *data;
	size_t len;
	mode_t mode;
};

/* The directory "..data" points to, in @name (NAME_MAX + 1 bytes). */
static int read_data_link(int dfd, char *name)
{
	ssize_t n = readlinkat(dfd, DATA_LINK, name, NAME_MAX);

	if (n < 0)
		return -errno;
	name[n] = '\0';
	/* only ever one of our own directories, never a path elsewhere */
	if (strncmp(name, "..", 2) || strchr(name, '/') || !strcmp(name, ".."))
		return -EINVAL;
	return 0;
}

static bool file_matches(int dfd, const struct vfile *f)
{
	char buf[8192];
	size_t done = 0;
	struct stat st;
	bool same;
	ssize_t n;
	int fd;

	fd = openat(dfd, f->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	same = !fstat(fd, &st) && S_ISREG(st.st_mode) &&
	       (st.st_mode & 07777) == f->mode && (size_t)st.st_size == f->len;
	while (same && done < f->len) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0 || (size_t)n > f->len - done ||
		    memcmp(buf, f->data + done, (size_t)n))
			same = false;
		else
			done += (size_t)n;
	}
	close(fd);
	return same;
}

/* Regular files under directory @fd; -1 when anything else is there. */
static long count_files(int fd)
{
	struct dirent *de;
	struct stat st;
	long n = 0, sub;
	int dfd, sfd;
	DIR *d;

	dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -1;
	}
	while (n >= 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			n = -1;
		} else if (S_ISREG(st.st_mode)) {
			n++;
		} else if (S_ISDIR(st.st_mode)) {
			sfd = openat(fd, de->d_name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			sub = sfd < 0 ? -1 : count_files(sfd);
			if (sfd >= 0)
				close(sfd);
			n = sub < 0 ? -1 : n + sub;
		} else {
			n = -1;
		}
	}
	closedir(d);
	return n;
}

/* Whether directory @name of @dfd holds exactly @files. */
static bool payload_matches(int dfd, const char *name, const struct vfile *files,
			    unsigned int n)
{
	bool same = true;
	unsigned int i;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	for (i = 0; same && i < n; i++)
		same = file_matches(fd, &files[i]);
	same = same && count_files(fd) == (long)n;
	close(fd);
	return same;
}

/* Makes "..YYYY_MM_DD_HH_MM_SS.NNNNNNNNN" in @dfd; its name in @name (NAME_MAX + 1). */
static int make_ts_dir(int dfd, char *name)
{
	struct timespec ts;
	struct tm tm;
	size_t n;
	int tries;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(name, NAME_MAX + 1, "..%Y_%m_%d_%H_%M_%S.", &tm);
	for (tries = 0; tries < 100; tries++) {
		snprintf(name + n, NAME_MAX + 1 - n, "%09ld", (ts.tv_nsec + tries) % 1000000000);
		if (!mkdirat(dfd, name, FILES_DIR_MODE))
			return fchmodat(dfd, name, FILES_DIR_MODE, 0) ? -errno : 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static int write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes @f into the fresh directory @dfd, making its parents. */
static int write_file(int dfd, const struct vfile *f)
{
	char path[PATH_MAX], *slash;
	int fd, err;

	snprintf(path, sizeof(path), "%s", f->path);
	for (slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdirat(dfd, path, FILES_DIR_MODE) && errno != EEXIST)
			return -errno;
		if (fchmodat(dfd, path, FILES_DIR_MODE, 0))
			return -errno;
		*slash = '/';
	}
	fd = openat(dfd, f->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return -errno;
	err = write_all(fd, f->data, f->len);
	/* the mode asked for, whatever the umask */
	if (!err && fchmod(fd, f->mode))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

/* Whether @name is the first element of one of @files' paths. */
static bool is_top_name(const char *name, const struct vfile *files, unsigned int n)
{
	size_t len = strlen(name);
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!strncmp(files[i].path, name, len) &&
		    (files[i].path[len] == '/' || !files[i].path[len]))
			return true;
	return false;
}

/* Makes "TOP -> ..data/TOP" for every top-level name of @files. */
static int link_visible(int dfd, const struct vfile *files, unsigned int n)
{
	char top[NAME_MAX + 1], target[NAME_MAX + 16], cur[NAME_MAX + 16];
	unsigned int i;
	ssize_t len;
	size_t tl;

	for (i = 0; i < n; i++) {
		tl = strcspn(files[i].path, "/");
		memcpy(top, files[i].path, tl);
		top[tl] = '\0';
		snprintf(target, sizeof(target), DATA_LINK "/%s", top);
		len = readlinkat(dfd, top, cur, sizeof(cur) - 1);
		if (len >= 0) {
			cur[len] = '\0';
			if (!strcmp(cur, target))
				continue;
			if (unlinkat(dfd, top, 0))
				return -errno;
		} else if (errno != ENOENT) {
			/* something not ours is in the way */
			return errno == EINVAL ? -EEXIST : -errno;
		}
		if (symlinkat(target, dfd, top))
			return -errno;
	}
	return 0;
}

/*
 * After the swap: visible links to files gone from the payload, and every
 * timestamped directory but @current and @previous (older ones, and any
 * left by an earlier failure).
 */
static int remove_stale(int dfd, const char *current, const char *previous,
			const struct vfile *files, unsigned int n)
{
	struct dirent *de;
	struct stat st;
	int err = 0;
	DIR *d;

	d = skiff_opendir_at(dfd, ".", 0);
	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, DATA_LINK) || !strcmp(de->d_name, current) ||
		    !strcmp(de->d_name, previous))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (!strncmp(de->d_name, "..", 2)) {
			err = skiff_remove_tree_at(dfd, de->d_name);
		} else if (S_ISLNK(st.st_mode) && !is_top_name(de->d_name, files, n)) {
			if (unlinkat(dfd, de->d_name, 0) && errno != ENOENT)
				err = -errno;
		}
	}
	closedir(d);
	return err;
}

/* Makes volume directory @dfd hold exactly @files, swapped in whole. */
static int atomic_write(int dfd, const char *vol, const struct vfile *files,
			unsigned int n, struct skiff_error *e)
{
	char old[NAME_MAX + 1], name[NAME_MAX + 1];
	unsigned int i;
	int fd, err;

	if (read_data_link(dfd, old)) {
		old[0] = '\0';
	} else if (payload_matches(dfd, old, files, n)) {
		snprintf(name, sizeof(name), "%s", old);
		/* the directory replaced last time has had its grace */
		old[0] = '\0';
		goto visible;
	}
	err = make_ts_dir(dfd, name);
	if (err)
		return skiff_error_set(e, err, "volume \"%s\": cannot make a directory: %s",
				       vol, strerror(-err));
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto err_remove;
	}
	for (i = 0; !err && i < n; i++)
		err = write_file(fd, &files[i]);
	close(fd);
	if (err)
		goto err_remove;
	if (unlinkat(dfd, DATA_TMP, 0) && errno != ENOENT) {
		err = -errno;
		goto err_remove;
	}
	if (symlinkat(name, dfd, DATA_TMP)) {
		err = -errno;
		goto err_remove;
	}
	/* the swap: readers see the old payload or the new one */
	if (renameat(dfd, DATA_TMP, dfd, DATA_LINK)) {
		err = -errno;
		goto err_unlink_tmp;
	}
visible:
	err = link_visible(dfd, files, n);
	if (!err)
		err = remove_stale(dfd, name, old, files, n);
	if (err)
		return skiff_error_set(e, err, "volume \"%s\": cannot link its files: %s",
				       vol, strerror(-err));
	return 0;

err_unlink_tmp:
	unlinkat(dfd, DATA_TMP, 0);
err_remove:
	skiff_remove_tree_at(dfd, name);
	return skiff_error_set(e, err, "volume \"%s\": cannot write its files: %s", vol,
			       strerror(-err));
}

/* ---- planning: checks and payloads, nothing written ------------------------ */

enum vol_kind {
	VOL_EMPTY_DIR,
	VOL_HOST_PATH,
	VOL_CONFIG_MAP,
	VOL_SECRET,
};

/**
 * struct vplan - one volume, checked, with what is to be written
 * @name: the volume's name
 * @kind: its type
 * @memory: emptyDir on a tmpfs
 * @size: that tmpfs' size in bytes, 0 for the kernel's default
 * @host_path: hostPath's path
 * @host_type: hostPath's type, "" for no check
 * @host_create: the hostPath is missing and its type says to create it
 * @files: configMap or secret files, sorted by path
 * @n_files: how many
 */
struct vplan {
	const char *name;
	enum vol_kind kind;
	bool memory;
	int64_t size;
	const char *host_path;
	const char *host_type;
	bool host_create;
	struct vfile *files;
	unsigned int n_files;
};

static void plan_free(struct vplan *p)
{
	unsigned int i;

	for (i = 0; i < p->n_files; i++) {
		free(p->files[i].path);
		free(p->files[i].data);
	}
	free(p->files);
	p->files = NULL;
	p->n_files = 0;
}

/* The bytes of @key: a ConfigMap's data or binaryData, a Secret's data. */
static int object_value(const json_t *obj, bool secret, const char *key, char **data,
			size_t *len)
{
	const json_t *v = json_object_get(json_object_get(obj, "data"), key);
	bool encoded = secret;

	if (!v && !secret) {
		v = json_object_get(json_object_get(obj, "binaryData"), key);
		encoded = true;
	}
	if (!v)
		return -ENOENT;
	if (!json_is_string(v))
		return -EINVAL;
	if (encoded)
		return skiff_base64_decode(json_string_value(v), json_string_length(v),
					   data, len);
	*len = json_string_length(v);
	*data = malloc(*len + 1);
	if (!*data)
		return -ENOMEM;
	memcpy(*data, json_string_value(v), *len + 1);
	return 0;
}

/* A mode field: absent gives @def; else an integer in 0..0777. */
static int get_mode(const json_t *v, mode_t def, mode_t *mode)
{
	if (!v) {
		*mode = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > MODE_MAX)
		return -EINVAL;
	*mode = (mode_t)json_integer_value(v);
	return 0;
}

/* A mode as the user wrote it, for a message; @buf of 32 bytes. */
static const char *mode_text(const json_t *v, char *buf)
{
	if (json_is_integer(v))
		snprintf(buf, 32, "%lld", (long long)json_integer_value(v));
	else
		snprintf(buf, 32, "(not a number)");
	return buf;
}

static int add_file(struct vplan *p, const char *path, const json_t *obj, bool secret,
		    const char *key, mode_t mode, const char *what, struct skiff_error *e)
{
	struct vfile *f = &p->files[p->n_files];
	int err;

	err = object_value(obj, secret, key, &f->data, &f->len);
	if (err == -EINVAL)
		return skiff_error_set(e, err, "%s key \"%s\": value is not valid %s", what,
				       key, secret ? "base64" : "base64 or a string");
	if (err)
		return err;
	f->path = strdup(path);
	if (!f->path) {
		free(f->data);
		return -ENOMEM;
	}
	f->mode = mode;
	p->n_files++;
	return 0;
}

static int cmp_vfile(const void *a, const void *b)
{
	return strcmp(((const struct vfile *)a)->path, ((const struct vfile *)b)->path);
}

/* Two files at one path, or a file where another needs a directory. */
static int check_conflicts(const struct vplan *p, const char *fld, struct skiff_error *e)
{
	const char *a, *b;
	unsigned int i, j;
	size_t la;

	for (i = 0; i < p->n_files; i++) {
		for (j = 0; j < p->n_files; j++) {
			a = p->files[i].path;
			b = p->files[j].path;
			la = strlen(a);
			if (i < j && !strcmp(a, b))
				return skiff_error_set(e, -EINVAL,
						       "%s: Duplicate value: \"%s\"", fld, a);
			if (i != j && !strncmp(a, b, la) && b[la] == '/')
				return invalid(e, a, "is both a file and a directory", "%s", fld);
		}
	}
	return 0;
}

static int plan_items(struct vplan *p, const json_t *items, const json_t *obj,
		      bool secret, bool optional, mode_t def, const char *fld,
		      struct skiff_error *e)
{
	const char *what = secret ? "secret" : "configmap";
	const char *key, *path, *why;
	const json_t *item;
	char num[32];
	size_t i;
	mode_t mode;
	int err;

	p->files = calloc(json_array_size(items) + 1, sizeof(*p->files));
	if (!p->files)
		return -ENOMEM;
	json_array_foreach(items, i, item) {
		key = json_string_value(json_object_get(item, "key"));
		path = json_string_value(json_object_get(item, "path"));
		if (!key || !is_config_key(key))
			return invalid(e, key ?: "", "not a valid key", "%s.items[%zu].key", fld,
				       i);
		if (!path)
			return skiff_error_set(e, -EINVAL, "%s.items[%zu].path: Required value",
					       fld, i);
		why = bad_path(path, true);
		if (why)
			return invalid(e, path, why, "%s.items[%zu].path", fld, i);
		if (get_mode(json_object_get(item, "mode"), def, &mode))
			return invalid(e, mode_text(json_object_get(item, "mode"), num),
				       MODE_RANGE, "%s.items[%zu].mode", fld, i);
		if (!obj)
			continue;
		err = add_file(p, path, obj, secret, key, mode, what, e);
		if (err == -ENOENT && optional)
			continue;
		if (err == -ENOENT)
			return skiff_error_set(e, err,
					       SETUP_FAILED "%s references non-existent %s key: %s",
					       p->name, what, secret ? "secret" : "config", key);
		if (err)
			return err;
	}
	return 0;
}

static int plan_keys(struct vplan *p, const json_t *obj, bool secret, const char *name,
		     mode_t def, struct skiff_error *e)
{
	const char *what = secret ? "secret" : "configmap";
	const json_t *data = json_object_get(obj, "data");
	const json_t *binary = secret ? NULL : json_object_get(obj, "binaryData");
	const json_t *v;
	const char *key;
	int err;

	p->files = calloc(json_object_size(data) + json_object_size(binary) + 1,
			  sizeof(*p->files));
	if (!p->files)
		return -ENOMEM;
	json_object_foreach((json_t *)data, key, v) {
		if (!is_config_key(key))
			return skiff_error_set(e, -EINVAL,
					       "%s \"%s\": key \"%s\" is not a valid file name",
					       what, name, key);
		err = add_file(p, key, obj, secret, key, def, what, e);
		if (err)
			return err;
	}
	json_object_foreach((json_t *)binary, key, v) {
		if (!is_config_key(key) || json_object_get(data, key))
			return skiff_error_set(e, -EINVAL,
					       "%s \"%s\": bad binaryData key \"%s\"", what,
					       name, key);
		err = add_file(p, key, obj, secret, key, def, what, e);
		if (err)
			return err;
	}
	return 0;
}

static int plan_files(struct vplan *p, const json_t *src, bool secret, const char *ns,
		      unsigned int idx, skiff_volume_lookup_fn lookup, void *arg,
		      struct skiff_error *e)
{
	const char *field = secret ? "secret" : "configMap";
	const char *name_field = secret ? "secretName" : "name";
	const char *name = json_string_value(json_object_get(src, name_field));
	bool optional = json_is_true(json_object_get(src, "optional"));
	const json_t *items = json_object_get(src, "items");
	const json_t *obj;
	char fld[64], num[32];
	mode_t def;
	int err;

	snprintf(fld, sizeof(fld), "spec.volumes[%u].%s", idx, field);
	if (!name || !is_dns_subdomain(name))
		return skiff_error_set(e, -EINVAL,
				       "%s.%s: Invalid value: \"%s\": must be a DNS subdomain",
				       fld, name_field, name ?: "");
	if (get_mode(json_object_get(src, "defaultMode"),
		     secret ? SECRET_MODE : CONFIGMAP_MODE, &def))
		return invalid(e, mode_text(json_object_get(src, "defaultMode"), num), MODE_RANGE,
			       "%s.defaultMode", fld);
	if (items && !json_is_array(items))
		return skiff_error_set(e, -EINVAL, "%s.items: must be a list", fld);
	obj = lookup(secret ? "Secret" : "ConfigMap", ns, name, arg);
	if (!obj && !optional)
		return skiff_error_set(e, -ENOENT, SETUP_FAILED "%s \"%s\" not found",
				       p->name, secret ? "secret" : "configmap", name);
	if (json_array_size(items))
		err = plan_items(p, items, obj, secret, optional, def, fld, e);
	else if (obj)
		err = plan_keys(p, obj, secret, name, def, e);
	else
		err = 0;
	if (err == -ENOMEM)
		return skiff_error_set(e, err, "volume \"%s\": out of memory", p->name);
	if (err)
		return err;
	qsort(p->files, p->n_files, sizeof(*p->files), cmp_vfile);
	return check_conflicts(p, fld, e);
}

static const char *const host_types[] = {
	"", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
	"CharDevice", "BlockDevice",
};

/* What hostPath type @type wants of a file of mode @m, or NULL when it has it. */
static const char *host_type_mismatch(const char *type, mode_t m)
{
	if (strstr(type, "Directory"))
		return S_ISDIR(m) ? NULL : "a directory";
	if (strstr(type, "File"))
		return S_ISREG(m) ? NULL : "a file";
	if (!strcmp(type, "Socket"))
		return S_ISSOCK(m) ? NULL : "a socket file";
	if (!strcmp(type, "CharDevice"))
		return S_ISCHR(m) ? NULL : "a character device";
	if (!strcmp(type, "BlockDevice"))
		return S_ISBLK(m) ? NULL : "a block device";
	return NULL;
}

static int plan_host_path(struct vplan *p, const json_t *src, unsigned int idx,
			  struct skiff_error *e)
{
	const json_t *type = json_object_get(src, "type");
	const char *path = json_string_value(json_object_get(src, "path"));
	const char *why;
	struct stat st;
	size_t i;

	if (!path || path[0] != '/' || (path[1] && bad_path(path + 1, false)))
		return invalid(e, path ?: "", "must be an absolute path without '..'",
			       "spec.volumes[%u].hostPath.path", idx);
	p->host_path = path;
	p->host_type = type ? json_string_value(type) : "";
	for (i = 0; p->host_type && i < ARRAY_SIZE(host_types); i++)
		if (!strcmp(p->host_type, host_types[i]))
			break;
	if (!p->host_type || i == ARRAY_SIZE(host_types))
		return skiff_error_set(e, -EINVAL,
				       "spec.volumes[%u].hostPath.type: Unsupported value: \"%s\"",
				       idx, p->host_type ?: "");
	if (!p->host_type[0])
		return 0;
	if (stat(path, &st)) {
		if (errno == ENOENT && strstr(p->host_type, "OrCreate")) {
			p->host_create = true;
			return 0;
		}
		if (errno != ENOENT)
			return skiff_error_set(e, -errno, "volume \"%s\": %s: %s", p->name,
					       path, strerror(errno));
		why = host_type_mismatch(p->host_type, 0);
		return skiff_error_set(e, -ENOENT,
				       SETUP_FAILED "hostPath type check failed: %s is not %s",
				       p->name, path, why);
	}
	why = host_type_mismatch(p->host_type, st.st_mode);
	if (why)
		return skiff_error_set(e, -EINVAL,
				       SETUP_FAILED "hostPath type check failed: %s is not %s",
				       p->name, path, why);
	return 0;
}

static int plan_empty_dir(struct vplan *p, const json_t *src, unsigned int idx,
			  struct skiff_error *e)
{
	const char *medium = json_string_value(json_object_get(src, "medium"));
	const json_t *limit = json_object_get(src, "sizeLimit");

	if (medium && *medium && strcmp(medium, "Memory"))
		return invalid(e, medium, "supported values: \"\", \"Memory\"",
			       "spec.volumes[%u].emptyDir.medium", idx);
	p->memory = medium && *medium;
	if (!limit)
		return 0;
	if (!json_is_string(limit) ||
	    skiff_parse_quantity(json_string_value(limit), false, &p->size) || !p->size)
		return invalid(e, json_string_value(limit) ?: "", "must be a positive quantity",
			       "spec.volumes[%u].emptyDir.sizeLimit", idx);
	/* enforced for the tmpfs only; on disk the kubelet evicts, we do not */
	if (!p->memory)
		p->size = 0;
	return 0;
}

static int plan_volume(struct vplan *p, const json_t *vol, unsigned int idx,
		       const char *ns, skiff_volume_lookup_fn lookup, void *arg,
		       struct skiff_error *e)
{
	static const char *const kinds[] = { "emptyDir", "hostPath", "configMap", "secret" };
	const json_t *src = NULL, *v;
	unsigned int k, found = 0;
	const char *key;

	p->name = json_string_value(json_object_get(vol, "name"));
	if (!p->name || !is_dns_label(p->name))
		return invalid(e, p->name ?: "", "must be a DNS label", "spec.volumes[%u].name",
			       idx);
	json_object_foreach((json_t *)vol, key, v) {
		if (!strcmp(key, "name"))
			continue;
		for (k = 0; k < ARRAY_SIZE(kinds); k++)
			if (!strcmp(key, kinds[k]))
				break;
		if (k == ARRAY_SIZE(kinds))
			return skiff_error_set(e, -EINVAL,
					       "volume \"%s\": %s volumes are not supported",
					       p->name, key);
		p->kind = (enum vol_kind)k;
		src = v;
		found++;
	}
	if (found != 1 || !json_is_object(src))
		return skiff_error_set(e, -EINVAL,
				       "spec.volumes[%u]: must specify exactly one volume type",
				       idx);
	switch (p->kind) {
	case VOL_EMPTY_DIR:
		return plan_empty_dir(p, src, idx, e);
	case VOL_HOST_PATH:
		return plan_host_path(p, src, idx, e);
	case VOL_CONFIG_MAP:
		return plan_files(p, src, false, ns, idx, lookup, arg, e);
	case VOL_SECRET:
		return plan_files(p, src, true, ns, idx, lookup, arg, e);
	}
	return -EINVAL;
}

/* ---- applying ------------------------------------------------------------- */

/* Whether @name in @dfd is the root of a mount. */
static bool is_mounted(int dfd, const char *name)
{
	struct stat st, pst;

	return !fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) && !fstat(dfd, &pst) &&
	       st.st_dev != pst.st_dev;
}

static int mount_tmpfs(const char *path, mode_t mode, int64_t size)
{
	char opts[64];

	if (size)
		snprintf(opts, sizeof(opts), "mode=%04o,size=%lld", mode, (long long)size);
	else
		snprintf(opts, sizeof(opts), "mode=%04o", mode);
	return mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, opts) ? -errno : 0;
}

/*
 * Makes the volume's directory @p->name in @vfd (path @path), with a
 * tmpfs when @tmpfs; *@created when it made it. Returns a descriptor.
 */
static int volume_dir(int vfd, const char *path, const struct vplan *p, mode_t mode,
		      bool tmpfs, bool *created, struct skiff_error *e)
{
	int fd, err;

	*created = false;
	if (!mkdirat(vfd, p->name, mode)) {
		*created = true;
		if (fchmodat(vfd, p->name, mode, 0)) {
			err = -errno;
			goto err_remove;
		}
	} else if (errno != EEXIST) {
		return skiff_error_set(e, -errno, "volume \"%s\": cannot make %s: %s", p->name,
				       path, strerror(errno));
	}
	if (tmpfs && !is_mounted(vfd, p->name)) {
		err = mount_tmpfs(path, mode, p->size);
		if (err)
			goto err_remove;
	}
	fd = openat(vfd, p->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto err_unmount;
	}
	return fd;

err_unmount:
	if (*created && tmpfs)
		umount2(path, MNT_DETACH);
err_remove:
	if (*created)
		unlinkat(vfd, p->name, AT_REMOVEDIR);
	return skiff_error_set(e, err, "volume \"%s\": cannot set up %s: %s", p->name, path,
			       strerror(-err));
}

static int make_dirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *slash;

	snprintf(buf, sizeof(buf), "%s", path);
	for (slash = strchr(buf + 1, '/'); ; slash = strchr(slash + 1, '/')) {
		if (slash)
			*slash = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		if (!slash)
			return 0;
		*slash = '/';
	}
}

static int apply_host_path(const struct vplan *p, struct skiff_error *e)
{
	int fd, err = 0;

	if (!p->host_create)
		return 0;
	if (!strcmp(p->host_type, "DirectoryOrCreate")) {
		err = make_dirs(p->host_path, HOSTPATH_DIR_MODE);
	} else {
		/* as the kubelet: FileOrCreate does not make the parents */
		fd = open(p->host_path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
			  HOSTPATH_FILE_MODE);
		if (fd < 0)
			err = -errno;
		else
			close(fd);
	}
	if (err)
		return skiff_error_set(e, err, "volume \"%s\": cannot create %s: %s", p->name,
				       p->host_path, strerror(-err));
	return 0;
}

static int apply_volume(const char *vdir, int vfd, const struct vplan *p,
			struct skiff_error *e)
{
	bool files = p->kind == VOL_CONFIG_MAP || p->kind == VOL_SECRET;
	bool tmpfs = p->kind == VOL_SECRET || (p->kind == VOL_EMPTY_DIR && p->memory);
	char path[PATH_MAX + NAME_MAX + 2];
	bool created;
	int fd, err;

	if (p->kind == VOL_HOST_PATH)
		return apply_host_path(p, e);
	snprintf(path, sizeof(path), "%s/%s", vdir, p->name);
	fd = volume_dir(vfd, path, p, files ? FILES_DIR_MODE : EMPTYDIR_MODE, tmpfs,
			&created, e);
	if (fd < 0)
		return fd;
	err = files ? atomic_write(fd, p->name, p->files, p->n_files, e) : 0;
	close(fd);
	if (err && created) {
		if (tmpfs)
			umount2(path, MNT_DETACH);
		skiff_remove_tree_at(vfd, p->name);
	}
	return err;
}

static int duplicate_name(struct skiff_error *e, unsigned int i, const char *name)
{
	return skiff_error_set(e, -EINVAL, "spec.volumes[%u].name: Duplicate value: \"%s\"", i,
			       name);
}

static const char *pod_namespace(const json_t *pod)
{
	const char *ns = json_string_value(json_object_get(json_object_get(pod, "metadata"),
							   "namespace"));

	return ns && *ns ? ns : "default";
}

int skiff_volumes_setup(const char *pod_dir, const json_t *pod,
			skiff_volume_lookup_fn lookup, void *arg,
			struct skiff_error *e)
{
	const json_t *vols = json_object_get(json_object_get(pod, "spec"), "volumes");
	const char *ns = pod_namespace(pod);
	unsigned int n = (unsigned int)json_array_size(vols), i, j;
	char vdir[PATH_MAX];
	struct vplan *plans;
	int vfd, err = 0;

	skiff_error_clear(e);
	if (vols && !json_is_array(vols))
		return skiff_error_set(e, -EINVAL, "spec.volumes: must be a list");
	plans = calloc(n + 1, sizeof(*plans));
	if (!plans)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	for (i = 0; !err && i < n; i++) {
		err = plan_volume(&plans[i], json_array_get(vols, i), i, ns, lookup, arg, e);
		for (j = 0; !err && j < i; j++)
			if (!strcmp(plans[i].name, plans[j].name))
				err = duplicate_name(e, i, plans[i].name);
	}
	if (err)
		goto out_free;
	snprintf(vdir, sizeof(vdir), "%s/volumes", pod_dir);
	if (mkdir(vdir, VOLUMES_DIR_MODE) && errno != EEXIST) {
		err = skiff_error_set(e, -errno, "cannot make %s: %s", vdir, strerror(errno));
		goto out_free;
	}
	vfd = open(vdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (vfd < 0) {
		err = skiff_error_set(e, -errno, "cannot open %s: %s", vdir, strerror(errno));
		goto out_free;
	}
	for (i = 0; !err && i < n; i++)
		err = apply_volume(vdir, vfd, &plans[i], e);
	close(vfd);
out_free:
	for (i = 0; i < n; i++)
		plan_free(&plans[i]);
	free(plans);
	return err;
}

/* ---- teardown ------------------------------------------------------------- */

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

static int cmp_longer_first(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Unmounts every mount at or below @root, deepest first. */
static int unmount_under(const char *root, struct skiff_error *e)
{
	size_t cap = 0, n = 0, len = strlen(root), i;
	char *line = NULL, **points = NULL, **grown;
	char *field, *save;
	int err = 0, f;
	FILE *fp;

	fp = fopen("/proc/self/mountinfo", "re");
	if (!fp)
		return skiff_error_set(e, -errno, "cannot read /proc/self/mountinfo: %s",
				       strerror(errno));
	while (!err && getline(&line, &cap, fp) > 0) {
		field = strtok_r(line, " ", &save);
		for (f = 0; field && f < 4; f++)
			field = strtok_r(NULL, " ", &save);
		if (!field)
			continue;
		unescape(field);
		if (strncmp(field, root, len) || (field[len] && field[len] != '/'))
			continue;
		grown = realloc(points, (n + 1) * sizeof(*points));
		if (grown)
			points = grown;
		if (grown)
			points[n] = strdup(field);
		if (!grown || !points[n]) {
			err = skiff_error_set(e, -ENOMEM, "out of memory");
			break;
		}
		n++;
	}
	free(line);
	fclose(fp);
	if (points)
		qsort(points, n, sizeof(*points), cmp_longer_first);
	for (i = 0; i < n; i++) {
		/* EINVAL: already gone with a mount it was under */
		if (!err && umount2(points[i], MNT_DETACH) && errno != EINVAL &&
		    errno != ENOENT)
			err = skiff_error_set(e, -errno, "cannot unmount %s: %s", points[i],
					      strerror(errno));
		free(points[i]);
	}
	free(points);
	return err;
}

int skiff_volumes_teardown(const char *pod_dir, struct skiff_error *e)
{
	char real[PATH_MAX], vdir[PATH_MAX + 16];
	int pfd, err;

	skiff_error_clear(e);
	if (!realpath(pod_dir, real))
		return errno == ENOENT ? 0 :
		       skiff_error_set(e, -errno, "%s: %s", pod_dir, strerror(errno));
	snprintf(vdir, sizeof(vdir), "%s/volumes", real);
	if (access(vdir, F_OK))
		return errno == ENOENT ? 0 :
		       skiff_error_set(e, -errno, "%s: %s", vdir, strerror(errno));
	err = unmount_under(vdir, e);
	if (err)
		return err;
	pfd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return skiff_error_set(e, -errno, "%s: %s", real, strerror(errno));
	err = skiff_remove_tree_at(pfd, "volumes");
	close(pfd);
	if (err == -EBUSY)
		return skiff_error_set(e, err, "%s: something is still mounted below it", vdir);
	if (err)
		return skiff_error_set(e, err, "cannot remove %s: %s", vdir, strerror(-err));
	return 0;
}

/* ---- the containers' mounts --------------------------------------------- */

static const json_t *find_volume(const json_t *pod, const char *name)
{
	/* the pod, or its spec alone */
	const json_t *spec = json_object_get(pod, "spec") ?: pod;
	const json_t *vols = json_object_get(spec, "volumes");
	const json_t *v;
	size_t i;

	json_array_foreach(vols, i, v)
		if (!strcmp(json_string_value(json_object_get(v, "name")) ?: "", name))
			return v;
	return NULL;
}

static bool is_within(const char *path, const char *root)
{
	size_t n = strlen(root);

	return !strncmp(path, root, n) && (!path[n] || path[n] == '/' || !strcmp(root, "/"));
}

/*
 * @sub of volume directory @base, resolved, as a malloc'd path that does not
 * leave @base (its symlinks are followed, but must stay inside, as the
 * kubelet checks); missing directories are made, as the kubelet does.
 */
static char *resolve_subpath(const char *base, const char *sub, int *err)
{
	char cur[PATH_MAX], next[PATH_MAX * 2], root[PATH_MAX];
	const char *c, *end;
	struct stat st;

	if (!realpath(base, root) || stat(root, &st)) {
		*err = -errno;
		return NULL;
	}
	snprintf(cur, sizeof(cur), "%s", root);
	for (c = sub; c; c = *end ? end + 1 : NULL) {
		end = strchrnul(c, '/');
		snprintf(next, sizeof(next), "%s/%.*s", strcmp(cur, "/") ? cur : "",
			 (int)(end - c), c);
		/* made with the volume's mode, whatever the umask, as the kubelet */
		if (!realpath(next, cur) &&
		    (errno != ENOENT || mkdir(next, 0700) || chmod(next, st.st_mode & 07777) ||
		     !realpath(next, cur))) {
			*err = -errno;
			return NULL;
		}
		if (!is_within(cur, root)) {
			*err = -EPERM;
			return NULL;
		}
	}
	return strdup(cur);
}

/* The source of volumeMount @vm (a malloc'd path) and whether it is read-only. */
static int mount_source(const char *pod_dir, const json_t *pod, const char *cname,
			const json_t *vm, unsigned int idx, char **src, bool *ro,
			struct skiff_error *e)
{
	const char *name = json_string_value(json_object_get(vm, "name"));
	const char *sub = json_string_value(json_object_get(vm, "subPath"));
	const json_t *vol, *hp;
	char base[PATH_MAX];
	const char *why;
	int err = 0;

	if (!name)
		return skiff_error_set(e, -EINVAL,
				       "container \"%s\": volumeMounts[%u].name: Required value",
				       cname, idx);
	vol = find_volume(pod, name);
	if (!vol)
		return skiff_error_set(e, -EINVAL,
				       "cannot find volume \"%s\" to mount into container \"%s\"",
				       name, cname);
	if (json_object_get(vm, "subPathExpr"))
		return skiff_error_set(e, -EINVAL,
				       "container \"%s\": volumeMounts[%u]: no subPathExpr support",
				       cname, idx);
	hp = json_object_get(vol, "hostPath");
	/* configMap and secret volumes are always read-only, as since Kubernetes 1.10 */
	*ro = json_is_true(json_object_get(vm, "readOnly")) ||
	      json_object_get(vol, "configMap") || json_object_get(vol, "secret");
	if (hp)
		snprintf(base, sizeof(base), "%s",
			 json_string_value(json_object_get(hp, "path")) ?: "");
	else
		snprintf(base, sizeof(base), "%s/volumes/%s", pod_dir, name);
	if (!base[0])
		return skiff_error_set(e, -EINVAL, "volume \"%s\": hostPath.path: Required value",
				       name);
	if (!sub || !*sub) {
		*src = strdup(base);
		return *src ? 0 : skiff_error_set(e, -ENOMEM, "out of memory");
	}
	why = bad_path(sub, false);
	if (why)
		return invalid(e, sub, why, "container \"%s\": volumeMounts[%u].subPath", cname,
			       idx);
	*src = resolve_subpath(base, sub, &err);
	if (err == -EPERM)
		return skiff_error_set(e, err,
				       "subPath \"%s\" of volume \"%s\" leads out of the volume",
				       sub, name);
	if (err)
		return skiff_error_set(e, err, "subPath \"%s\" of volume \"%s\": %s", sub, name,
				       strerror(-err));
	return 0;
}

int skiff_volume_mounts(const char *pod_dir, const json_t *pod,
			const json_t *container, struct skiff_mount **mounts,
			unsigned int *n, struct skiff_error *e)
{
	const char *cname = json_string_value(json_object_get(container, "name")) ?: "";
	const json_t *vms = json_object_get(container, "volumeMounts");
	unsigned int cnt = (unsigned int)json_array_size(vms), i, j;
	struct skiff_mount *out;
	const char *dst, *dj;
	size_t size = 0;
	char **srcs, *w;
	bool *ro;
	int err = 0;

	skiff_error_clear(e);
	*mounts = NULL;
	*n = 0;
	if (!cnt)
		return 0;
	srcs = calloc(cnt, sizeof(*srcs));
	ro = calloc(cnt, sizeof(*ro));
	if (!srcs || !ro) {
		err = skiff_error_set(e, -ENOMEM, "out of memory");
		goto out_free;
	}
	for (i = 0; !err && i < cnt; i++) {
		dst = json_string_value(json_object_get(json_array_get(vms, i), "mountPath"));
		if (!dst || dst[0] != '/') {
			err = invalid(e, dst ?: "", "must be an absolute path",
				      "container \"%s\": volumeMounts[%u].mountPath", cname, i);
			break;
		}
		for (j = 0; j < i; j++) {
			dj = json_string_value(json_object_get(json_array_get(vms, j),
							       "mountPath"));
			if (!strcmp(dst, dj))
				err = invalid(e, dst, "must be unique",
					      "container \"%s\": volumeMounts[%u].mountPath",
					      cname, i);
		}
		if (!err)
			err = mount_source(pod_dir, pod, cname, json_array_get(vms, i), i,
					   &srcs[i], &ro[i], e);
		if (!err)
			size += strlen(srcs[i]) + strlen(dst) + 2;
	}
	if (err)
		goto out_free;
	out = malloc(cnt * sizeof(*out) + size);
	if (!out) {
		err = skiff_error_set(e, -ENOMEM, "out of memory");
		goto out_free;
	}
	w = (char *)(out + cnt);
	for (i = 0; i < cnt; i++) {
		dst = json_string_value(json_object_get(json_array_get(vms, i), "mountPath"));
		out[i].source = strcpy(w, srcs[i]);
		w += strlen(w) + 1;
		out[i].destination = strcpy(w, dst);
		w += strlen(w) + 1;
		out[i].readonly = ro[i];
	}
	*mounts = out;
	*n = cnt;
out_free:
	for (i = 0; srcs && i < cnt; i++)
		free(srcs[i]);
	free(srcs);
	free(ro);
	return err;
}
