// SPDX-License-Identifier: GPL-2.0
/*
 * The node's image store (image.h has the layout and the reference rules).
 *
 * Every image is made in a temporary directory of the store, DIR/.tmp-*
 * (names cannot start with '.', so it never looks like an image), and
 * renamed into place, or exchanged with the image it replaces
 * (renameat2 RENAME_EXCHANGE), so a reader sees the old image or the new
 * one, whole. A failure removes the temporary directory and leaves the
 * store as it was.
 *
 * Tarballs are unpacked by GNU tar (it knows gzip, zstd and the rest of
 * the tar dialects), run in a private mount namespace where everything
 * but the temporary directory is read-only: an archive or a layer whose
 * symbolic links point out of the image can then not write on the host.
 *
 * OCI image layouts: index.json names the manifest (the one tagged like
 * the reference, else the one for this machine's architecture, nested
 * indexes followed), every blob is checked against its sha256 digest, and
 * the layers are applied in order. A layer's whiteouts (.wh.NAME removes
 * NAME, .wh..wh..opq empties its directory) are applied to the layers
 * below before it is unpacked, resolved inside the image root (openat2
 * RESOLVE_IN_ROOT). `docker save`'s older format (manifest.json) is read
 * as well.
 */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "files.h"
#include "image.h"
#include "util.h"

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128
#define INDEX_DEPTH 4
#define OUT_MAX (64 << 20)
#define DEFAULT_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define SEARCH_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define WHITEOUT ".wh."
#define OPAQUE ".wh..wh..opq"
#define REF_NAME "org.opencontainers.image.ref.name"

#define HOST_CONFIG_FMT "{s:[s], s:[s]}"

/* A reference taken apart: store names (a '/' in @name becomes '+'). */
struct ref {
	char name[NAME_MAX_LEN + 1];
	char tag[TAG_MAX_LEN + 1];
};

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+ joined by '.', '_', '__' or '-'s. */
static bool valid_component(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (!lower_alnum(s[i]))
			return false;
		while (i < len && lower_alnum(s[i]))
			i++;
		if (i == len)
			return true;
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i += i + 1 < len && s[i + 1] == '_' ? 2 : 1;
		} else if (s[i] == '-') {
			while (i < len && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i == len)
			return false;
	}
	return len > 0;
}

static bool valid_tag(const char *s)
{
	size_t i, len = strlen(s);

	if (!len || len > TAG_MAX_LEN || s[0] == '.' || s[0] == '-')
		return false;
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	}
	return true;
}

/* A registry: host name components joined by '.', then maybe ":PORT". */
static bool valid_host(const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len);
	size_t i, host_len = colon ? (size_t)(colon - s) : len;

	if (!host_len || s[0] == '.' || s[0] == '-' || s[host_len - 1] == '.' ||
	    s[host_len - 1] == '-')
		return false;
	for (i = 0; i < host_len; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    !(s[i] == '.' && s[i + 1] != '.' && s[i + 1] != '-' && s[i - 1] != '-'))
			return false;
	}
	if (colon && colon + 1 == s + len)
		return false;
	for (i = host_len + 1; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

static int parse_ref(const char *ref, struct ref *r, struct skiff_error *e)
{
	const char *path = ref, *slash, *colon, *p, *end;
	size_t len, o = 0;

	if (!ref || !*ref)
		return skiff_error_set(e, -EINVAL, "empty image reference");
	if (strchr(ref, '@'))
		return skiff_error_set(e, -EINVAL,
				       "image reference \"%s\": digests are not supported", ref);
	/* A first component with '.' or ':', or localhost, is a registry. */
	slash = strchr(ref, '/');
	if (slash && (memchr(ref, '.', slash - ref) || memchr(ref, ':', slash - ref) ||
		      (slash - ref == 9 && !strncmp(ref, "localhost", 9)))) {
		if (!valid_host(ref, slash - ref))
			return skiff_error_set(e, -EINVAL,
					       "image reference \"%s\": invalid registry", ref);
		path = slash + 1;
	}
	if (!strncmp(path, "library/", 8) && path[8])
		path += 8;
	slash = strrchr(path, '/');
	colon = strchr(slash ? slash : path, ':');
	end = colon ? colon : path + strlen(path);
	snprintf(r->tag, sizeof(r->tag), "%s", colon ? colon + 1 : "latest");
	if (colon && !valid_tag(colon + 1))
		return skiff_error_set(e, -EINVAL, "image reference \"%s\": invalid tag", ref);
	if (end - path > NAME_MAX_LEN)
		return skiff_error_set(e, -EINVAL, "image reference \"%s\": name too long", ref);
	for (p = path; p <= end; p = slash + 1) {
		slash = memchr(p, '/', end - p);
		if (!slash)
			slash = end;
		len = slash - p;
		if (!valid_component(p, len))
			return skiff_error_set(e, -EINVAL,
					       "image reference \"%s\": invalid name (lower-case letters, digits and separators)",
					       ref);
		if (o)
			r->name[o++] = '+';
		memcpy(r->name + o, p, len);
		o += len;
	}
	r->name[o] = '\0';
	return 0;
}

char *skiff_image_dir(const char *store, const char *ref, struct skiff_error *e)
{
	struct ref r;
	char *dir;

	if (parse_ref(ref, &r, e))
		return NULL;
	if (asprintf(&dir, "%s/%s/%s", store, r.name, r.tag) < 0) {
		skiff_error_set(e, -ENOMEM, "out of memory");
		return NULL;
	}
	return dir;
}

/*
 * In the child: a private mount namespace where only @dir is writable, so
 * a program writing through a symbolic link that leaves @dir fails.
 */
static int confine(const char *dir)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -1;
	if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &attr, sizeof(attr)))
		return -1;
	if (mount(dir, dir, NULL, MS_BIND, NULL) ||
	    mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND, NULL))
		return -1;
	return 0;
}

struct buf {
	char *p;
	size_t len, cap;
};

/* Reads what @fd has into @b; 0 at its end, 1 for more, -errno. */
static int buf_read(int fd, struct buf *b)
{
	char *np;
	ssize_t n;

	if (b->len + 4096 + 1 > b->cap) {
		if (b->cap >= OUT_MAX)
			return -EFBIG;
		b->cap = b->cap ? 2 * b->cap : 8192;
		np = realloc(b->p, b->cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
	}
	n = read(fd, b->p + b->len, b->cap - b->len - 1);
	if (n < 0)
		return errno == EINTR ? 1 : -errno;
	b->len += n;
	b->p[b->len] = '\0';
	return n > 0;
}

/*
 * Runs @argv (confined to @rw_dir when given) and waits for it: its exit
 * status, its output in *@out (malloc'd) when asked, and the first line
 * of its stderr in @msg; -errno when it could not run.
 */
static int run_cmd(const char *const *argv, const char *rw_dir, char **out, char *msg,
		   size_t msg_size)
{
	struct buf bufs[2] = { { 0 } };
	int pout[2], perr[2], status, i, r;
	struct pollfd pfd[2];
	pid_t pid;

	msg[0] = '\0';
	if (pipe2(pout, O_CLOEXEC))
		return -errno;
	if (pipe2(perr, O_CLOEXEC)) {
		r = -errno;
		close(pout[0]);
		close(pout[1]);
		return r;
	}
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		if (rw_dir && confine(rw_dir)) {
			dprintf(2, "cannot confine to %s: %s\n", rw_dir, strerror(errno));
			_exit(127);
		}
		execvp(argv[0], (char **)argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	r = pid < 0 ? -errno : 0;
	close(pout[1]);
	close(perr[1]);
	pfd[0] = (struct pollfd){ .fd = r ? -1 : pout[0], .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = r ? -1 : perr[0], .events = POLLIN };
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd >= 0 && pfd[i].revents && buf_read(pfd[i].fd, &bufs[i]) <= 0)
				pfd[i].fd = -1;
		}
	}
	close(pout[0]);
	close(perr[0]);
	if (!r) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	if (bufs[1].p)
		snprintf(msg, msg_size, "%.*s", (int)strcspn(bufs[1].p, "\n"), bufs[1].p);
	if (out && r >= 0) {
		*out = bufs[0].p;
		bufs[0].p = NULL;
	}
	free(bufs[0].p);
	free(bufs[1].p);
	return r;
}

/* An image being made: DIR/.tmp-X/{unpack,image/rootfs,image/config.json}. */
struct work {
	const char *store;
	struct ref ref;
	char tmp[PATH_MAX];
	char unpack[PATH_MAX + 16];
	char image[PATH_MAX + 16];
	char rootfs[PATH_MAX + 32];
	json_t *config;
};

static int work_begin(struct work *w, const char *store, const char *ref,
		      struct skiff_error *e)
{
	int err;

	memset(w, 0, sizeof(*w));
	w->store = store;
	err = parse_ref(ref, &w->ref, e);
	if (err)
		return err;
	err = skiff_mkdirs(store);
	if (err)
		return skiff_error_set(e, err, "cannot make %s: %s", store, strerror(-err));
	snprintf(w->tmp, sizeof(w->tmp), "%s/.tmp-XXXXXX", store);
	if (!mkdtemp(w->tmp))
		return skiff_error_set(e, -errno, "cannot make a directory in %s: %s", store,
				       strerror(errno));
	snprintf(w->unpack, sizeof(w->unpack), "%s/unpack", w->tmp);
	snprintf(w->image, sizeof(w->image), "%s/image", w->tmp);
	snprintf(w->rootfs, sizeof(w->rootfs), "%s/rootfs", w->image);
	if (mkdir(w->image, 0755)) {
		err = skiff_error_set(e, -errno, "cannot make %s: %s", w->image, strerror(errno));
		skiff_remove_tree_at(AT_FDCWD, w->tmp);
	}
	return err;
}

static void work_end(struct work *w)
{
	json_decref(w->config);
	skiff_remove_tree_at(AT_FDCWD, w->tmp);
}

/* The image made, with its config, into place (replacing one of its name). */
static int work_install(struct work *w, struct skiff_error *e)
{
	char name_dir[PATH_MAX + NAME_MAX_LEN], final[sizeof(name_dir) + TAG_MAX_LEN + 2];
	char path[PATH_MAX + 32];
	bool made;

	snprintf(path, sizeof(path), "%s/config.json", w->image);
	if (json_dump_file(w->config, path, JSON_INDENT(2)))
		return skiff_error_set(e, -EIO, "cannot write %s", path);
	snprintf(name_dir, sizeof(name_dir), "%s/%s", w->store, w->ref.name);
	snprintf(final, sizeof(final), "%s/%s", name_dir, w->ref.tag);
	made = !mkdir(name_dir, 0755);
	if (!made && errno != EEXIST)
		return skiff_error_set(e, -errno, "cannot make %s: %s", name_dir,
				       strerror(errno));
	if (!rename(w->image, final))
		return 0;
	/* The old image goes where the new one was, and with the work. */
	if ((errno == ENOTEMPTY || errno == EEXIST) &&
	    !renameat2(AT_FDCWD, w->image, AT_FDCWD, final, RENAME_EXCHANGE))
		return 0;
	skiff_error_set(e, -errno, "cannot rename into %s: %s", final, strerror(errno));
	if (made)
		rmdir(name_dir);
	return e->err;
}

/* ---- tarballs ---- */

static int untar(const char *tarball, const char *dest, const char *rw_dir,
		 bool layer, struct skiff_error *e)
{
	const char *argv[12] = { "tar", "-x", "--numeric-owner", "--xattrs",
			       "--xattrs-include=security.capability", "-f", tarball,
			       "-C", dest, layer ? "--exclude=" WHITEOUT "*" : NULL, NULL };
	char msg[512];
	int status = run_cmd(argv, rw_dir, NULL, msg, sizeof(msg));

	if (status < 0)
		return skiff_error_set(e, status, "cannot run tar: %s", strerror(-status));
	if (status)
		return skiff_error_set(e, -EINVAL, "%s: %s", tarball,
				       msg[0] ? msg : "tar failed");
	return 0;
}

static bool dir_empty(const char *path)
{
	struct dirent *ent;
	bool empty = true;
	DIR *d = opendir(path);

	if (!d)
		return true;
	while (empty && (ent = readdir(d)))
		empty = !strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..");
	closedir(d);
	return empty;
}

/* @path inside @rootfd, symbolic links resolved as if @rootfd were "/". */
static int open_in_root(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	return syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
}

/* Member @name of a layer is a whiteout: what it hides goes. */
static int apply_whiteout(int rootfd, char *name, struct skiff_error *e)
{
	char *base = strrchr(name, '/'), *parent = name;
	struct dirent *ent;
	int fd, err = 0;
	DIR *d;

	if (base) {
		*base++ = '\0';
	} else {
		base = name;
		parent = "";
	}
	fd = open_in_root(rootfd, parent);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 :
			skiff_error_set(e, -errno, "whiteout in %s: %s", parent, strerror(errno));
	if (strcmp(base, OPAQUE)) {
		base += strlen(WHITEOUT);
		/* Only a name: "." or ".." would reach the directory or above. */
		if (*base && strcmp(base, ".") && strcmp(base, ".."))
			err = skiff_remove_tree_at(fd, base);
		close(fd);
		goto out;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return skiff_error_set(e, -errno, "opaque %s: %s", parent, strerror(errno));
	}
	while (!err && (ent = readdir(d))) {
		if (strcmp(ent->d_name, ".") && strcmp(ent->d_name, ".."))
			err = skiff_remove_tree_at(dirfd(d), ent->d_name);
	}
	closedir(d);
out:
	if (err)
		skiff_error_set(e, err, "whiteout %s/%s: %s", parent, base, strerror(-err));
	return err;
}

/* One layer over @w's rootfs: its whiteouts first, then its files. */
static int apply_layer(struct work *w, int rootfd, const char *blob, struct skiff_error *e)
{
	const char *argv[6] = { "tar", "-t", "--quoting-style=literal", "-f", blob, NULL };
	char msg[512], *list = NULL, *line, *save = NULL, *name, *base;
	int status, err = 0;

	status = run_cmd(argv, NULL, &list, msg, sizeof(msg));
	if (status) {
		free(list);
		if (status < 0)
			return skiff_error_set(e, status, "cannot run tar: %s", strerror(-status));
		return skiff_error_set(e, -EINVAL, "layer %s: %s", blob, msg[0] ? msg : "bad");
	}
	for (line = strtok_r(list, "\n", &save); line && !err;
	     line = strtok_r(NULL, "\n", &save)) {
		name = line;
		while (!strncmp(name, "./", 2) || *name == '/')
			name += *name == '/' ? 1 : 2;
		base = strrchr(name, '/');
		base = base ? base + 1 : name;
		if (!strncmp(base, WHITEOUT, strlen(WHITEOUT)))
			err = apply_whiteout(rootfd, name, e);
	}
	free(list);
	if (!err)
		err = untar(blob, w->rootfs, w->tmp, true, e);
	return err;
}

static int sha256_file(const char *path, char hex[65])
{
	unsigned char digest[32], buf[65536];
	gnutls_hash_hd_t h;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), i;

	if (fd < 0)
		return -errno;
	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256)) {
		close(fd);
		return -ENOMEM;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		gnutls_hash(h, buf, n);
	gnutls_hash_deinit(h, digest);
	close(fd);
	if (n < 0)
		return -EIO;
	for (i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", digest[i]);
	return 0;
}

/* The blob of descriptor @desc, its digest checked: a path in @out. */
static int oci_blob(struct work *w, const json_t *desc, char *out, size_t size,
		    struct skiff_error *e)
{
	const char *digest = json_string_value(json_object_get(desc, "digest"));
	char hex[65];
	struct stat st;
	size_t i;

	if (!digest || strncmp(digest, "sha256:", 7) || strlen(digest) != 7 + 64)
		return skiff_error_set(e, -EINVAL, "unsupported digest \"%s\"",
				       digest ? digest : "(none)");
	for (i = 7; i < 7 + 64; i++) {
		if (!isxdigit((unsigned char)digest[i]) || isupper((unsigned char)digest[i]))
			return skiff_error_set(e, -EINVAL, "bad digest \"%s\"", digest);
	}
	snprintf(out, size, "%s/blobs/sha256/%s", w->unpack, digest + 7);
	if (lstat(out, &st) || !S_ISREG(st.st_mode))
		return skiff_error_set(e, -EINVAL, "blob %s is missing", digest);
	if (sha256_file(out, hex) || strcmp(hex, digest + 7))
		return skiff_error_set(e, -EINVAL, "blob %s does not match its digest", digest);
	return 0;
}

static json_t *oci_json(struct work *w, const json_t *desc, struct skiff_error *e)
{
	char path[PATH_MAX + 128];
	json_error_t jerr;
	json_t *j;

	if (oci_blob(w, desc, path, sizeof(path), e))
		return NULL;
	j = json_load_file(path, 0, &jerr);
	if (!j)
		skiff_error_set(e, -EINVAL, "blob %s: %s",
				json_string_value(json_object_get(desc, "digest")), jerr.text);
	return j;
}

static const char *host_arch(void)
{
	static struct utsname u;

	uname(&u);
	if (!strcmp(u.machine, "x86_64"))
		return "amd64";
	if (!strcmp(u.machine, "aarch64"))
		return "arm64";
	return u.machine;
}

static bool is_index(const char *media_type)
{
	return media_type && (strstr(media_type, "image.index") ||
			      strstr(media_type, "manifest.list"));
}

/* From an index: the manifest tagged @tag, else this machine's, else one. */
static const json_t *pick(const json_t *index, const char *tag)
{
	const json_t *list = json_object_get(index, "manifests"), *m, *plat;
	const char *name, *colon;
	size_t i;

	json_array_foreach(list, i, m) {
		name = json_string_value(json_object_get(json_object_get(m, "annotations"),
							 REF_NAME));
		colon = name ? strrchr(name, ':') : NULL;
		if (name && (!strcmp(name, tag) || (colon && !strcmp(colon + 1, tag))))
			return m;
	}
	json_array_foreach(list, i, m) {
		plat = json_object_get(m, "platform");
		if (!plat)
			continue;
		if (!strcmp(json_string_value(json_object_get(plat, "os")) ?: "", "linux") &&
		    !strcmp(json_string_value(json_object_get(plat, "architecture")) ?: "",
			    host_arch()))
			return m;
	}
	return json_array_size(list) == 1 || !json_array_size(list) ?
		json_array_get(list, 0) : NULL;
}

static int check_config(const json_t *cfg, struct skiff_error *e)
{
	const char *os = json_string_value(json_object_get(cfg, "os"));
	const char *arch = json_string_value(json_object_get(cfg, "architecture"));

	if (os && strcmp(os, "linux"))
		return skiff_error_set(e, -EINVAL, "image is for %s, not linux", os);
	if (arch && strcmp(arch, host_arch()))
		return skiff_error_set(e, -EINVAL, "image is for %s, this node is %s", arch,
				       host_arch());
	return 0;
}

static bool layer_type_ok(const char *t)
{
	return !t || !strncmp(t, "application/vnd.oci.image.layer.", 32) ||
		!strncmp(t, "application/vnd.docker.image.rootfs.", 36);
}

static int apply_layers(struct work *w, const json_t *layers, bool oci, struct skiff_error *e)
{
	char path[PATH_MAX + 128];
	const json_t *l;
	const char *rel;
	struct stat st;
	int rootfd, err = 0;
	size_t i;

	if (mkdir(w->rootfs, 0755))
		return skiff_error_set(e, -errno, "cannot make %s: %s", w->rootfs,
				       strerror(errno));
	rootfd = open(w->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return skiff_error_set(e, -errno, "%s: %s", w->rootfs, strerror(errno));
	json_array_foreach(layers, i, l) {
		const char *type = json_string_value(json_object_get(l, "mediaType"));

		if (oci && !layer_type_ok(type)) {
			err = skiff_error_set(e, -EINVAL, "unsupported layer type %s", type);
			break;
		}
		if (oci) {
			err = oci_blob(w, l, path, sizeof(path), e);
		} else {
			/* docker save: paths in the archive, which must stay in it. */
			rel = json_string_value(l);
			snprintf(path, sizeof(path), "%s/%s", w->unpack, rel ? rel : "");
			if (!rel || rel[0] == '/' || strstr(rel, "..") || lstat(path, &st) ||
			    !S_ISREG(st.st_mode))
				err = skiff_error_set(e, -EINVAL, "layer %s is missing",
						      rel ? rel : "(none)");
		}
		if (!err)
			err = apply_layer(w, rootfd, path, e);
		if (err)
			break;
	}
	close(rootfd);
	return err;
}

static int import_oci(struct work *w, struct skiff_error *e)
{
	char path[PATH_MAX + 32];
	const json_t *desc;
	json_t *index, *next, *manifest = NULL, *cfg = NULL;
	json_error_t jerr;
	int depth, err;

	snprintf(path, sizeof(path), "%s/index.json", w->unpack);
	index = json_load_file(path, 0, &jerr);
	if (!index)
		return skiff_error_set(e, -EINVAL, "index.json: %s", jerr.text);
	for (depth = 0; depth < INDEX_DEPTH; depth++) {
		desc = pick(index, w->ref.tag);
		if (!desc) {
			err = skiff_error_set(e, -EINVAL, "no manifest for tag %s or for linux/%s",
					      w->ref.tag, host_arch());
			goto out;
		}
		next = oci_json(w, desc, e);
		if (!next) {
			err = e->err;
			goto out;
		}
		if (!is_index(json_string_value(json_object_get(desc, "mediaType"))) &&
		    !json_object_get(next, "manifests")) {
			manifest = next;
			break;
		}
		json_decref(index);
		index = next;
	}
	if (!manifest) {
		err = skiff_error_set(e, -EINVAL, "image indexes nested too deep");
		goto out;
	}
	cfg = oci_json(w, json_object_get(manifest, "config"), e);
	if (!cfg) {
		err = e->err;
		goto out;
	}
	err = check_config(cfg, e);
	if (err)
		goto out;
	if (!json_is_array(json_object_get(manifest, "layers"))) {
		err = skiff_error_set(e, -EINVAL, "manifest has no layers");
		goto out;
	}
	w->config = json_incref(json_object_get(cfg, "config"));
	err = apply_layers(w, json_object_get(manifest, "layers"), true, e);
out:
	json_decref(index);
	json_decref(manifest);
	json_decref(cfg);
	return err;
}

/* `docker save` before OCI layouts: manifest.json [{Config, Layers}]. */
static int import_docker(struct work *w, const json_t *manifests, struct skiff_error *e)
{
	const json_t *m = json_array_get(manifests, 0);
	const char *cfg_name = json_string_value(json_object_get(m, "Config"));
	char path[PATH_MAX + 128];
	json_error_t jerr;
	json_t *cfg;
	int err;

	if (!cfg_name || cfg_name[0] == '/' || strstr(cfg_name, ".."))
		return skiff_error_set(e, -EINVAL, "manifest.json names no config");
	snprintf(path, sizeof(path), "%s/%s", w->unpack, cfg_name);
	cfg = json_load_file(path, 0, &jerr);
	if (!cfg)
		return skiff_error_set(e, -EINVAL, "%s: %s", cfg_name, jerr.text);
	err = check_config(cfg, e);
	if (!err) {
		w->config = json_incref(json_object_get(cfg, "config"));
		err = apply_layers(w, json_object_get(m, "Layers"), false, e);
	}
	json_decref(cfg);
	return err;
}

int skiff_image_import(const char *store, const char *ref,
		       const char *tarball, struct skiff_error *e)
{
	char path[PATH_MAX + 32];
	json_t *docker;
	struct work w;
	int err;

	if (access(tarball, R_OK))
		return skiff_error_set(e, -errno, "%s: %s", tarball, strerror(errno));
	err = work_begin(&w, store, ref, e);
	if (err)
		return err;
	if (mkdir(w.unpack, 0755)) {
		err = skiff_error_set(e, -errno, "cannot make %s: %s", w.unpack, strerror(errno));
		goto out;
	}
	err = untar(tarball, w.unpack, w.tmp, false, e);
	if (err)
		goto out;
	snprintf(path, sizeof(path), "%s/index.json", w.unpack);
	if (!access(path, F_OK)) {
		err = import_oci(&w, e);
		goto install;
	}
	snprintf(path, sizeof(path), "%s/manifest.json", w.unpack);
	docker = json_load_file(path, 0, NULL);
	if (json_is_array(docker)) {
		err = import_docker(&w, docker, e);
		json_decref(docker);
		goto install;
	}
	json_decref(docker);
	/* Neither: the archive is the root file system itself. */
	if (dir_empty(w.unpack)) {
		err = skiff_error_set(e, -EINVAL, "%s holds no files", tarball);
		goto out;
	}
	if (rename(w.unpack, w.rootfs)) {
		err = skiff_error_set(e, -errno, "rename: %s", strerror(errno));
		goto out;
	}
install:
	if (!err && !w.config)
		w.config = json_object();
	if (!err && !json_is_object(w.config))
		err = skiff_error_set(e, -EINVAL, "image config is not an object");
	if (!err)
		err = work_install(&w, e);
out:
	work_end(&w);
	return err;
}

/* ---- images from host programs ---- */

static char *find_program(const char *name)
{
	const char *env = getenv("PATH");
	char *dirs, *dir, *save = NULL, *found = NULL, buf[PATH_MAX];
	struct stat st;

	if (name[0] == '/')
		return stat(name, &st) || !S_ISREG(st.st_mode) ? NULL : strdup(name);
	if (strchr(name, '/'))
		return realpath(name, NULL);
	if (asprintf(&dirs, "%s:%s", env ? env : "", SEARCH_PATH) < 0)
		return NULL;
	for (dir = strtok_r(dirs, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/%s", dir, name);
		if (dir[0] == '/' && !stat(buf, &st) && S_ISREG(st.st_mode) &&
		    !access(buf, X_OK))
			found = strdup(buf);
	}
	free(dirs);
	return found;
}

static int mkdir_parents_in(const char *root, const char *path)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s%s", root, path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	return skiff_mkdir_parents(buf);
}

/* Host file @src (links followed) to @root@src; 1 when it was there. */
static int copy_in(const char *root, const char *src, struct skiff_error *e)
{
	char dst[PATH_MAX * 2], buf[65536];
	struct stat st;
	ssize_t n;
	int in, out, err;

	snprintf(dst, sizeof(dst), "%s%s", root, src);
	if (!lstat(dst, &st))
		return 1;
	err = mkdir_parents_in(root, src);
	if (err)
		return skiff_error_set(e, err, "cannot make the parents of %s: %s", dst,
				       strerror(-err));
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return skiff_error_set(e, -errno, "%s: %s", src, strerror(errno));
	if (fstat(in, &st) || !S_ISREG(st.st_mode)) {
		close(in);
		return skiff_error_set(e, -EINVAL, "%s is not a file", src);
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
	if (out < 0) {
		err = skiff_error_set(e, -errno, "%s: %s", dst, strerror(errno));
		close(in);
		return err;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, n) != n) {
			n = -1;
			break;
		}
	}
	if (n < 0 || fchmod(out, st.st_mode & 07777))
		err = skiff_error_set(e, -EIO, "cannot copy %s: %s", src, strerror(errno));
	close(in);
	if (close(out) && !err)
		err = skiff_error_set(e, -EIO, "cannot copy %s: %s", src, strerror(errno));
	return err;
}

/* The shared libraries @prog loads and its loader, as ldd(1) lists them. */
static int copy_libraries(const char *root, const char *prog, struct skiff_error *e)
{
	const char *argv[3] = { "ldd", prog, NULL };
	char msg[256], *out = NULL, *line, *save = NULL, *path;
	int status, err = 0;

	status = run_cmd(argv, NULL, &out, msg, sizeof(msg));
	/* Static programs and scripts: "not a dynamic executable", status 1. */
	if (status) {
		free(out);
		return status < 0 ? skiff_error_set(e, status, "cannot run ldd: %s",
						    strerror(-status)) : 0;
	}
	for (line = strtok_r(out, "\n", &save); line && !err;
	     line = strtok_r(NULL, "\n", &save)) {
		path = strchr(line, '/');
		if (!path)
			continue;
		path[strcspn(path, " \t")] = '\0';
		err = copy_in(root, path, e);
		if (err > 0)
			err = 0;
	}
	free(out);
	return err;
}

/* A script's interpreter ("#!/bin/sh -e" gives /bin/sh), or NULL. */
static char *interpreter(const char *prog)
{
	char buf[256], *p;
	FILE *f = fopen(prog, "re");

	if (!f)
		return NULL;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!p || strncmp(buf, "#!", 2))
		return NULL;
	p = buf + 2 + strspn(buf + 2, " \t");
	p[strcspn(p, " \t\n")] = '\0';
	return p[0] == '/' ? strdup(p) : NULL;
}

/* busybox's applets as links to it, where nothing else is. */
static int busybox_applets(const char *root, const char *busybox, struct skiff_error *e)
{
	const char *argv[3] = { busybox, "--list-full", NULL };
	char msg[256], *out = NULL, *line, *save = NULL, dst[PATH_MAX * 2];
	struct stat st;
	int status, err = 0;

	status = run_cmd(argv, NULL, &out, msg, sizeof(msg));
	if (status) {
		free(out);
		return skiff_error_set(e, -EINVAL, "%s --list-full failed: %s", busybox, msg);
	}
	for (line = strtok_r(out, "\n", &save); line && !err;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '/' || strstr(line, ".."))
			continue;
		snprintf(dst, sizeof(dst), "%s/%s", root, line);
		if (!lstat(dst, &st))
			continue;
		snprintf(dst, sizeof(dst), "/%s", line);
		err = mkdir_parents_in(root, dst);
		snprintf(dst, sizeof(dst), "%s/%s", root, line);
		if (!err && symlink(busybox, dst))
			err = -errno;
		if (err)
			skiff_error_set(e, err, "%s: %s", dst, strerror(-err));
	}
	free(out);
	return err;
}

static int write_text(const char *root, const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX * 2];
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, name);
	if (!lstat(path, &st))
		return 0;
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fputs(text, f);
	if (fclose(f))
		return -EIO;
	return chmod(path, mode) ? -errno : 0;
}

/* What every root file system needs: mount points, /tmp, passwd, group. */
static int skeleton(const char *root)
{
	static const struct {
		const char *path;
		mode_t mode;
	} dirs[] = {
		{ "/bin", 0755 }, { "/dev", 0755 }, { "/etc", 0755 }, { "/proc", 0555 },
		{ "/sys", 0555 }, { "/tmp", 01777 }, { "/root", 0700 }, { "/var", 0755 },
	};
	char path[PATH_MAX * 2];
	size_t i;
	int err;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s%s", root, dirs[i].path);
		if (mkdir(path, dirs[i].mode) && errno != EEXIST)
			return -errno;
		chmod(path, dirs[i].mode);
	}
	err = write_text(root, "/etc/passwd",
			 "root:x:0:0:root:/root:/bin/sh\n"
			 "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", 0644);
	if (!err)
		err = write_text(root, "/etc/group", "root:x:0:\nnogroup:x:65534:\n", 0644);
	return err;
}

static bool is_busybox(const char *path)
{
	const char *base = strrchr(path, '/');

	return !strcmp(base ? base + 1 : path, "busybox");
}

int skiff_image_build_from_host(const char *store, const char *ref,
				const char *const *programs, size_t n,
				struct skiff_error *e)
{
	char **queue = NULL, *interp, *first = NULL;
	size_t i, len = 0;
	struct work w;
	int err;

	if (!n)
		return skiff_error_set(e, -EINVAL, "no program to build an image from");
	err = work_begin(&w, store, ref, e);
	if (err)
		return err;
	queue = calloc(2 * n, sizeof(*queue));
	if (!queue) {
		err = skiff_error_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		queue[len] = find_program(programs[i]);
		if (!queue[len]) {
			err = skiff_error_set(e, -ENOENT, "program %s not found", programs[i]);
			goto out;
		}
		/* A script brings its interpreter. */
		interp = interpreter(queue[len++]);
		if (interp)
			queue[len++] = interp;
	}
	if (mkdir(w.rootfs, 0755) || skeleton(w.rootfs)) {
		err = skiff_error_set(e, -errno, "cannot make %s: %s", w.rootfs, strerror(errno));
		goto out;
	}
	for (i = 0; i < len && !err; i++) {
		err = copy_in(w.rootfs, queue[i], e);
		if (err > 0)
			err = 0;
		if (!err)
			err = copy_libraries(w.rootfs, queue[i], e);
	}
	for (i = 0; i < len && !err; i++) {
		if (is_busybox(queue[i]))
			err = busybox_applets(w.rootfs, queue[i], e);
	}
	if (err)
		goto out;
	first = queue[0];
	w.config = json_pack(HOST_CONFIG_FMT, "Cmd", first, "Env", DEFAULT_ENV);
	if (!w.config) {
		err = skiff_error_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	err = work_install(&w, e);
out:
	for (i = 0; queue && i < len; i++)
		free(queue[i]);
	free(queue);
	work_end(&w);
	return err;
}

/* ---- the store ---- */

int skiff_image_lookup(const char *store, const char *ref, char **rootfs,
		       json_t **config, struct skiff_error *e)
{
	char *dir = skiff_image_dir(store, ref, e), path[PATH_MAX + 32];
	json_error_t jerr;
	struct stat st;

	*rootfs = NULL;
	*config = NULL;
	if (!dir)
		return e->err;
	snprintf(path, sizeof(path), "%s/rootfs", dir);
	if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
		free(dir);
		return skiff_error_set(e, -ENOENT, "image %s not found", ref);
	}
	*rootfs = strdup(path);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	free(dir);
	*config = access(path, F_OK) ? json_object() : json_load_file(path, 0, &jerr);
	if (!*rootfs || !*config) {
		free(*rootfs);
		*rootfs = NULL;
		json_decref(*config);
		*config = NULL;
		return skiff_error_set(e, -EIO, "image %s: bad config", ref);
	}
	return 0;
}

int skiff_image_remove(const char *store, const char *ref, struct skiff_error *e)
{
	char *dir = skiff_image_dir(store, ref, e), tmp[PATH_MAX], *slash;
	struct stat st;
	int err;

	if (!dir)
		return e->err;
	if (lstat(dir, &st) || !S_ISDIR(st.st_mode)) {
		free(dir);
		return skiff_error_set(e, -ENOENT, "image %s not found", ref);
	}
	/* Out of sight at once, then removed. */
	snprintf(tmp, sizeof(tmp), "%s/.tmp-rm-XXXXXX", store);
	if (!mkdtemp(tmp) || rename(dir, tmp)) {
		err = skiff_error_set(e, -errno, "cannot remove %s: %s", dir, strerror(errno));
		rmdir(tmp);
		free(dir);
		return err;
	}
	skiff_remove_tree_at(AT_FDCWD, tmp);
	slash = strrchr(dir, '/');
	*slash = '\0';
	rmdir(dir);	/* the name's last tag */
	free(dir);
	return 0;
}

static int skip_dots(const struct dirent *ent)
{
	return ent->d_name[0] != '.';
}

int skiff_image_for_each(const char *store,
			 int (*fn)(const char *ref, void *arg), void *arg)
{
	struct dirent **names = NULL, **tags;
	char path[PATH_MAX], ref[2 * NAME_MAX + 2], *p;
	int n_names, n_tags, i, j, err = 0;
	struct stat st;

	n_names = scandir(store, &names, skip_dots, alphasort);
	if (n_names < 0)
		return errno == ENOENT ? 0 : -errno;
	for (i = 0; i < n_names; i++) {
		snprintf(path, sizeof(path), "%s/%s", store, names[i]->d_name);
		n_tags = scandir(path, &tags, skip_dots, alphasort);
		for (j = 0; j < n_tags; j++) {
			snprintf(path, sizeof(path), "%s/%s/%s/rootfs", store,
				 names[i]->d_name, tags[j]->d_name);
			snprintf(ref, sizeof(ref), "%s:%s", names[i]->d_name, tags[j]->d_name);
			for (p = ref; *p != ':'; p++) {
				if (*p == '+')
					*p = '/';
			}
			if (!err && !stat(path, &st) && S_ISDIR(st.st_mode))
				err = fn(ref, arg);
			free(tags[j]);
		}
		if (n_tags >= 0)
			free(tags);
		free(names[i]);
	}
	free(names);
	return err;
}
