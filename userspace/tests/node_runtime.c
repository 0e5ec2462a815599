// SPDX-License-Identifier: GPL-2.0
/*
 * The node's image store, OCI bundles and containers under runc through
 * skiff-shim, on the real kernel: images built from host programs and
 * imported from tarballs (a root file system, an OCI layout with
 * whiteouts), what is refused, and containers that print, fail, are
 * killed, outlive the runtime object that started them, and run with a
 * read-only root, bind mounts and limits.
 *
 * Runs as root in a private mount and network namespace; everything lives
 * under one temporary directory, removed at the end.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <gnutls/crypto.h>
#include <jansson.h>

#include "image.h"
#include "loop.h"
#include "runtime.h"
#include "tap.h"
#include "util.h"

#define PLAN 124
#define WAIT_MS 15000
#define MEMORY_LIMIT (64 << 20)
#define CPU_QUOTA 50000
#define OOM_LIMIT (16 << 20)

#define LAYER_FMT "{s:s, s:s, s:I}"
#define CONFIG_FMT "{s:s, s:s, s:{s:[s, s], s:[s], s:s}, s:{s:s, s:[s, s]}}"
#define MANIFEST_FMT "{s:i, s:s, s:o, s:[o, o]}"
#define SAVE_MANIFEST "[{\"Config\": \"cfg.json\", \"Layers\": [\"abc/layer.tar\"]}]"
#define INDEX_FMT "{s:i, s:[{s:s, s:s, s:I, s:{s:s}}]}"

static char tmp[PATH_MAX], store[PATH_MAX + 16], netns[PATH_MAX + 16];
static char state_dir[PATH_MAX + 16], shim[PATH_MAX + 32];
static char *busybox_rootfs;
static struct skiff_loop *loop;
static struct skiff_runtime *rt;
static const char *runtime_name = "runc";
static bool crun;

/* ---- small helpers ---- */

static int run(const char *const *argv)
{
	int status;
	pid_t pid;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, (char **)argv, environ))
		return -1;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void path_of(char *out, size_t size, const char *fmt, const char *name)
{
	snprintf(out, size, "%s/", tmp);
	snprintf(out + strlen(out), size - strlen(out), fmt, name);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static char *read_file(const char *path)
{
	static char buf[65536];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool exists(const char *path)
{
	struct stat st;

	return !lstat(path, &st);
}

static void mkdirs(const char *path)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	}
	mkdir(buf, 0755);
}

/* What the store holds, two levels deep, temporary entries included. */
static void store_listing(char *out, size_t size)
{
	const char *argv[7] = { "find", store, "-mindepth", "1", "-maxdepth", "2", NULL };
	char list[PATH_MAX + 32];
	int fd, saved;

	path_of(list, sizeof(list), "%s", "listing");
	fflush(stdout);
	saved = dup(1);
	fd = open(list, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	close(fd);
	run(argv);
	dup2(saved, 1);
	close(saved);
	snprintf(out, size, "%s", read_file(list) ?: "");
}

static int sha256_hex(const char *path, char hex[72])
{
	unsigned char digest[32];
	char *data;
	struct stat st;
	FILE *f = fopen(path, "r");
	int i;

	if (!f || fstat(fileno(f), &st))
		return -1;
	data = malloc(st.st_size + 1);
	if (fread(data, 1, st.st_size, f) != (size_t)st.st_size)
		st.st_size = 0;
	fclose(f);
	gnutls_hash_fast(GNUTLS_DIG_SHA256, data, st.st_size, digest);
	free(data);
	strcpy(hex, "sha256:");
	for (i = 0; i < 32; i++)
		sprintf(hex + 7 + 2 * i, "%02x", digest[i]);
	return 0;
}

static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_size;
}

/* Blob @path into @layout's blobs/sha256, as a descriptor of @type. */
static json_t *add_blob(const char *layout, const char *path, const char *type)
{
	char digest[72], dst[PATH_MAX * 2];
	const char *argv[4] = { "cp", path, dst, NULL };

	sha256_hex(path, digest);
	snprintf(dst, sizeof(dst), "%s/blobs/sha256/%s", layout, digest + 7);
	run(argv);
	return json_pack(LAYER_FMT, "mediaType", type, "digest", digest, "size",
			 (json_int_t)file_size(path));
}

/*
 * An OCI layout tarball at @out: layer 1 @l1 (plain tar), layer 2 @l2
 * (gzip'ed), config for @arch, tagged @tag. @corrupt changes layer 2 after
 * its digest was taken.
 */
static void make_oci(const char *out, const char *l1, const char *l2, const char *arch,
		     const char *tag, bool corrupt)
{
	char layout[PATH_MAX], blobs[PATH_MAX + 16], path[PATH_MAX + 32], cfg_path[PATH_MAX + 32];
	char gz[PATH_MAX + 8], d1[72], d2[72];
	const char *gzip[6] = { "gzip", "-n", "-k", "-f", l2, NULL };
	const char *rm[4] = { "rm", "-rf", layout, NULL };
	const char *tar[7] = { "tar", "-cf", out, "-C", layout, ".", NULL };
	json_t *cfg, *c, *layer1, *layer2, *manifest, *index;

	path_of(layout, sizeof(layout), "%s", "layout");
	run(rm);
	snprintf(blobs, sizeof(blobs), "%s/blobs/sha256", layout);
	mkdirs(blobs);
	snprintf(path, sizeof(path), "%s/oci-layout", layout);
	write_file(path, "{\"imageLayoutVersion\": \"1.0.0\"}");
	run(gzip);
	snprintf(gz, sizeof(gz), "%s.gz", l2);
	sha256_hex(l1, d1);
	sha256_hex(l2, d2);
	layer1 = add_blob(layout, l1, "application/vnd.oci.image.layer.v1.tar");
	layer2 = add_blob(layout, gz, "application/vnd.oci.image.layer.v1.tar+gzip");
	if (corrupt) {
		snprintf(path, sizeof(path), "%s/%s", blobs,
			 json_string_value(json_object_get(layer2, "digest")) + 7);
		write_file(path, "not what the digest says");
	}
	cfg = json_pack(CONFIG_FMT, "architecture", arch, "os", "linux", "config",
			"Env", "PATH=/bin", "FOO=bar", "Cmd", "/bin/sh", "WorkingDir", "/etc",
			"rootfs", "type", "layers", "diff_ids", d1, d2);
	path_of(cfg_path, sizeof(cfg_path), "%s", "config.json");
	json_dump_file(cfg, cfg_path, 0);
	json_decref(cfg);
	c = add_blob(layout, cfg_path, "application/vnd.oci.image.config.v1+json");
	manifest = json_pack(MANIFEST_FMT, "schemaVersion", 2, "mediaType",
			     "application/vnd.oci.image.manifest.v1+json", "config", c,
			     "layers", layer1, layer2);
	path_of(path, sizeof(path), "%s", "manifest.json");
	json_dump_file(manifest, path, 0);
	json_decref(manifest);
	c = add_blob(layout, path, "application/vnd.oci.image.manifest.v1+json");
	index = json_pack(INDEX_FMT, "schemaVersion", 2, "manifests", "mediaType",
			  "application/vnd.oci.image.manifest.v1+json", "digest",
			  json_string_value(json_object_get(c, "digest")), "size",
			  json_integer_value(json_object_get(c, "size")), "annotations",
			  "org.opencontainers.image.ref.name", tag);
	json_decref(c);
	snprintf(path, sizeof(path), "%s/index.json", layout);
	json_dump_file(index, path, 0);
	json_decref(index);
	run(tar);
}

/* ---- images ---- */

static int lookup_rootfs(const char *ref, char **rootfs, json_t **config)
{
	struct skiff_error e = { 0 };

	return skiff_image_lookup(store, ref, rootfs, config, &e);
}

static int has_ref(const char *ref, void *arg)
{
	if (!strcmp(ref, arg))
		*(char *)arg = '\0';
	return 0;
}

static bool listed(const char *ref)
{
	char want[256];

	snprintf(want, sizeof(want), "%s", ref);
	skiff_image_for_each(store, has_ref, want);
	return !want[0];
}

static void test_build(void)
{
	const char *progs[1] = { "/bin/busybox" };
	const char *dynamic[1] = { "true" };
	struct skiff_error e = { 0 };
	char *a = NULL, *b = NULL, *c = NULL, path[PATH_MAX];
	const char *argv[4];
	json_t *cfg = NULL, *cfg2 = NULL;
	struct stat st;
	int err;

	err = skiff_image_build_from_host(store, "busybox", progs, 1, &e);
	tap_is_int(err, 0, "build busybox from the host (%s)", e.msg);
	lookup_rootfs("busybox", &a, &cfg);
	lookup_rootfs("busybox:latest", &b, &cfg2);
	json_decref(cfg2);
	lookup_rootfs("docker.io/library/busybox", &c, &cfg2);
	json_decref(cfg2);
	tap_ok(a && b && c && !strcmp(a, b) && !strcmp(a, c),
	       "busybox, busybox:latest and docker.io/library/busybox are one image");
	tap_is_str(json_string_value(json_array_get(json_object_get(cfg, "Cmd"), 0)),
		   "/bin/busybox", "its Cmd is the program");
	snprintf(path, sizeof(path), "%s/bin/sh", a ?: "");
	tap_ok(!lstat(path, &st) && S_ISLNK(st.st_mode), "/bin/sh is a busybox applet link");
	snprintf(path, sizeof(path), "%s/tmp", a ?: "");
	tap_ok(!stat(path, &st) && (st.st_mode & 07777) == 01777, "/tmp is there, mode 1777");
	tap_ok(listed("busybox:latest"), "the store lists busybox:latest");
	busybox_rootfs = a;
	free(b);
	free(c);
	json_decref(cfg);

	err = skiff_image_build_from_host(store, "host-true:1", dynamic, 1, &e);
	tap_is_int(err, 0, "build an image of a dynamically linked program (%s)", e.msg);
	a = NULL;
	lookup_rootfs("host-true:1", &a, &cfg);
	json_decref(cfg);
	argv[0] = "chroot";
	argv[1] = a ?: "/nonexistent";
	argv[2] = "/usr/bin/true";
	argv[3] = NULL;
	tap_is_int(run(argv), 0, "it runs in its root: the libraries and loader came along");
	free(a);
	err = skiff_image_build_from_host(store, "nothing", dynamic + 1, 0, &e);
	tap_is_int(err, -EINVAL, "no program refused");
	progs[0] = "/no/such/program";
	err = skiff_image_build_from_host(store, "nothing", progs, 1, &e);
	tap_is_int(err, -ENOENT, "a missing program refused: %s", e.msg);
}

static void test_rootfs_tar(void)
{
	char dir[PATH_MAX], tarball[PATH_MAX], path[PATH_MAX * 2], *rootfs = NULL;
	const char *tar[7] = { "tar", "-czf", tarball, "-C", dir, ".", NULL };
	struct skiff_error e = { 0 };
	json_t *cfg = NULL;
	int err;

	path_of(dir, sizeof(dir), "%s", "rootfs-src/etc");
	mkdirs(dir);
	path_of(path, sizeof(path), "%s", "rootfs-src/etc/hello");
	write_file(path, "hello v1\n");
	path_of(dir, sizeof(dir), "%s", "rootfs-src");
	path_of(tarball, sizeof(tarball), "%s", "rootfs.tar.gz");
	run(tar);
	err = skiff_image_import(store, "myorg/rootfs:v1", tarball, &e);
	tap_is_int(err, 0, "import a gzip'ed root file system tarball (%s)", e.msg);
	lookup_rootfs("myorg/rootfs:v1", &rootfs, &cfg);
	snprintf(path, sizeof(path), "%s/etc/hello", rootfs ?: "");
	tap_is_str(read_file(path), "hello v1\n", "its files are there");
	tap_ok(json_is_object(cfg) && !json_object_size(cfg), "its config is {}");
	tap_ok(listed("myorg/rootfs:v1"), "the store lists myorg/rootfs:v1");
	json_decref(cfg);
	free(rootfs);

	path_of(path, sizeof(path), "%s", "rootfs-src/etc/hello");
	write_file(path, "hello v2\n");
	run(tar);
	err = skiff_image_import(store, "myorg/rootfs:v1", tarball, &e);
	tap_is_int(err, 0, "import it again over the first (%s)", e.msg);
	rootfs = NULL;
	lookup_rootfs("myorg/rootfs:v1", &rootfs, &cfg);
	snprintf(path, sizeof(path), "%s/etc/hello", rootfs ?: "");
	tap_is_str(read_file(path), "hello v2\n", "the new image replaced the old");
	json_decref(cfg);
	free(rootfs);
}

static void make_layers(char *l1, char *l2, size_t size)
{
	char d1[PATH_MAX], d2[PATH_MAX], path[PATH_MAX + 32];
	const char *t1[7] = { "tar", "-cf", l1, "-C", d1, ".", NULL };
	const char *t2[7] = { "tar", "-cf", l2, "-C", d2, ".", NULL };
	static const char *const files1[] = { "etc/a", "etc/b", "gone/y", "keep/x", "sub/dir/f" };
	static const char *const files2[] = { "etc/.wh.a", "gone/.wh..wh..opq", "gone/z", "etc/c",
					      ".wh.sub" };
	size_t i;

	path_of(d1, sizeof(d1), "%s", "l1");
	path_of(d2, sizeof(d2), "%s", "l2");
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/%s", d1, files1[i]);
		*strrchr(path, '/') = '\0';
		mkdirs(path);
		snprintf(path, sizeof(path), "%s/%s", d1, files1[i]);
		write_file(path, files1[i]);
		snprintf(path, sizeof(path), "%s/%s", d2, files2[i]);
		*strrchr(path, '/') = '\0';
		mkdirs(path);
		snprintf(path, sizeof(path), "%s/%s", d2, files2[i]);
		write_file(path, files2[i]);
	}
	path_of(l1, size, "%s", "l1.tar");
	path_of(l2, size, "%s", "l2.tar");
	run(t1);
	run(t2);
}

static void test_oci(void)
{
	char l1[PATH_MAX], l2[PATH_MAX], tarball[PATH_MAX], path[PATH_MAX * 2], *rootfs = NULL;
	struct skiff_error e = { 0 };
	json_t *cfg = NULL;
	const char *env;
	int err;

	make_layers(l1, l2, sizeof(l1));
	path_of(tarball, sizeof(tarball), "%s", "oci.tar");
	make_oci(tarball, l1, l2, "amd64", "v2", false);
	err = skiff_image_import(store, "example.com:5000/team/app:v2", tarball, &e);
	tap_is_int(err, 0, "import an OCI image layout of two layers (%s)", e.msg);
	lookup_rootfs("team/app:v2", &rootfs, &cfg);
	tap_ok(rootfs, "found as team/app:v2, the registry dropped");
	snprintf(path, sizeof(path), "%s/etc/b", rootfs ?: "");
	tap_is_str(read_file(path), "etc/b", "a file of layer 1 is there");
	snprintf(path, sizeof(path), "%s/etc/c", rootfs ?: "");
	tap_is_str(read_file(path), "etc/c", "a file of layer 2 is there");
	snprintf(path, sizeof(path), "%s/etc/a", rootfs ?: "");
	tap_ok(!exists(path), "layer 2's whiteout removed etc/a");
	snprintf(path, sizeof(path), "%s/etc/.wh.a", rootfs ?: "");
	tap_ok(!exists(path), "whiteout files are not in the image");
	snprintf(path, sizeof(path), "%s/gone/y", rootfs ?: "");
	tap_ok(!exists(path), "an opaque directory hides what was below it");
	snprintf(path, sizeof(path), "%s/gone/z", rootfs ?: "");
	tap_is_str(read_file(path), "gone/z", "and keeps its own layer's files");
	snprintf(path, sizeof(path), "%s/sub", rootfs ?: "");
	tap_ok(!exists(path), "a whiteout removes a whole directory");
	snprintf(path, sizeof(path), "%s/keep/x", rootfs ?: "");
	tap_ok(exists(path), "untouched files stay");
	env = json_string_value(json_array_get(json_object_get(cfg, "Env"), 1));
	tap_is_str(env, "FOO=bar", "the config's Env");
	tap_is_str(json_string_value(json_object_get(cfg, "WorkingDir")), "/etc",
		   "the config's WorkingDir");
	json_decref(cfg);
	free(rootfs);
}

/* `docker save`'s format before OCI layouts: manifest.json and layer.tar. */
static void test_docker_save(void)
{
	char l1[PATH_MAX], l2[PATH_MAX], dir[PATH_MAX], tarball[PATH_MAX];
	char path[PATH_MAX * 2], *rootfs = NULL;
	const char *cp[4] = { "cp", l1, path, NULL };
	const char *tar[7] = { "tar", "-czf", tarball, "-C", dir, ".", NULL };
	struct skiff_error e = { 0 };
	json_t *cfg = NULL;
	int err;

	make_layers(l1, l2, sizeof(l1));
	path_of(dir, sizeof(dir), "%s", "docker-save/abc");
	mkdirs(dir);
	snprintf(path, sizeof(path), "%s/layer.tar", dir);
	run(cp);
	path_of(dir, sizeof(dir), "%s", "docker-save");
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	write_file(path, SAVE_MANIFEST);
	snprintf(path, sizeof(path), "%s/cfg.json", dir);
	write_file(path, "{\"os\": \"linux\", \"config\": {\"Cmd\": [\"/bin/true\"]}}");
	path_of(tarball, sizeof(tarball), "%s", "docker-save.tar.gz");
	run(tar);
	err = skiff_image_import(store, "saved:1", tarball, &e);
	tap_is_int(err, 0, "import a docker save archive (%s)", e.msg);
	lookup_rootfs("saved:1", &rootfs, &cfg);
	snprintf(path, sizeof(path), "%s/etc/a", rootfs ?: "");
	tap_is_str(read_file(path), "etc/a", "its layer is unpacked");
	tap_is_str(json_string_value(json_array_get(json_object_get(cfg, "Cmd"), 0)),
		   "/bin/true", "its config is kept");
	json_decref(cfg);
	free(rootfs);
}

/* @ref from @tarball must fail with @want and leave the store unchanged. */
static void expect_refusal(const char *ref, const char *tarball, int want, const char *what)
{
	static char before[65536], after[65536];
	struct skiff_error e = { 0 };
	int err;

	store_listing(before, sizeof(before));
	err = skiff_image_import(store, ref, tarball, &e);
	store_listing(after, sizeof(after));
	tap_ok(err == want && !strcmp(before, after), "%s refused: %s", what, e.msg);
	if (err != want)
		tap_diag("got %d, want %d", err, want);
	if (strcmp(before, after))
		tap_diag("store changed: before\n%s\nafter\n%s", before, after);
}

static void test_refused(void)
{
	static const char *const bad_refs[] = {
		"", "UPPER", "busybox@sha256:0123", "a//b", "busybox:", "-x", "a/../b",
		"busybox:-tag", "docker.io/", "x:a/b", "bad..host/x", "localhost:/x",
	};
	char l1[PATH_MAX], l2[PATH_MAX], tarball[PATH_MAX], garbage[PATH_MAX];
	char empty[PATH_MAX], outside[PATH_MAX], path[PATH_MAX * 2], dir[PATH_MAX];
	const char *empty_tar[6] = { "tar", "-cf", empty, "-T", "/dev/null", NULL };
	const char *t2[8] = { "tar", "-cf", l2, "-C", dir, "evil/planted", "evil/.wh.victim",
			     NULL };
	const char *t1[7] = { "tar", "-cf", l1, "-C", dir, "evil", NULL };
	struct skiff_error e = { 0 };
	size_t i;
	char *d;

	path_of(tarball, sizeof(tarball), "%s", "rootfs.tar.gz");
	for (i = 0; i < ARRAY_SIZE(bad_refs); i++) {
		expect_refusal(bad_refs[i], tarball, -EINVAL, "a bad reference");
		tap_diag("reference \"%s\"", bad_refs[i]);
	}
	d = skiff_image_dir(store, "Bad", &e);
	tap_ok(!d && e.err == -EINVAL, "skiff_image_dir refuses a bad reference too");
	free(d);

	path_of(garbage, sizeof(garbage), "%s", "garbage.tar");
	write_file(garbage, "this is not a tar archive at all, not even close\n");
	expect_refusal("garbage", garbage, -EINVAL, "a file that is no tarball");
	path_of(empty, sizeof(empty), "%s", "empty.tar");
	run(empty_tar);
	expect_refusal("empty", empty, -EINVAL, "an empty tarball");
	path_of(path, sizeof(path), "%s", "no-such.tar");
	expect_refusal("missing", path, -ENOENT, "a missing tarball");

	make_layers(l1, l2, sizeof(l1));
	path_of(tarball, sizeof(tarball), "%s", "oci-bad.tar");
	make_oci(tarball, l1, l2, "amd64", "v1", true);
	expect_refusal("corrupt", tarball, -EINVAL, "a blob that does not match its digest");
	make_oci(tarball, l1, l2, "arm64", "v1", false);
	expect_refusal("foreign", tarball, -EINVAL, "an image of another architecture");

	/* A layer's symlink to the host, written through by the next layer. */
	path_of(outside, sizeof(outside), "%s", "outside");
	mkdirs(outside);
	snprintf(path, sizeof(path), "%s/victim", outside);
	write_file(path, "keep me\n");
	path_of(dir, sizeof(dir), "%s", "evil-src");
	mkdirs(dir);
	snprintf(path, sizeof(path), "%s/evil", dir);
	symlink(outside, path);
	run(t1);
	unlink(path);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/evil/planted", dir);
	write_file(path, "planted\n");
	snprintf(path, sizeof(path), "%s/evil/.wh.victim", dir);
	write_file(path, "");
	run(t2);
	make_oci(tarball, l1, l2, "amd64", "v1", false);
	skiff_image_import(store, "evil", tarball, &e);
	tap_diag("importing the escaping layers: %s", e.msg);
	snprintf(path, sizeof(path), "%s/victim", outside);
	tap_ok(exists(path), "a whiteout through a symlink does not reach the host");
	snprintf(path, sizeof(path), "%s/planted", outside);
	tap_ok(!exists(path), "a layer writing through a symlink does not reach the host");
	skiff_image_remove(store, "evil", &e);
}

static void test_remove_and_cli(void)
{
	char dir[PATH_MAX * 2], out[PATH_MAX], *rootfs = NULL;
	char *list[5] = { "image", "--image-dir", store, "list", NULL };
	char *bad[6] = { "image", "--image-dir", store, "import", "x", NULL };
	char *unknown[3] = { "image", "frobnicate", NULL };
	char *rm[6] = { "image", "rm", "--image-dir", store, "myorg/rootfs:v1", NULL };
	struct skiff_error e = { 0 };
	json_t *cfg = NULL;
	int fd, saved, status[4];

	path_of(out, sizeof(out), "%s", "cli.out");
	fflush(stdout);
	fflush(stderr);
	saved = dup(1);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
	status[0] = skiff_image_main(4, list);
	status[1] = skiff_image_main(5, bad);
	status[2] = skiff_image_main(2, unknown);
	status[3] = skiff_image_main(5, rm);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, 1);
	dup2(saved, 2);
	close(saved);
	tap_is_int(status[0], 0, "skiff-node image list");
	tap_ok(strstr(read_file(out) ?: "", "busybox:latest\n") &&
	       strstr(read_file(out) ?: "", "team/app:v2\n"), "lists the images");
	tap_is_int(status[1], 1, "import with an operand missing is a usage error");
	tap_is_int(status[2], 1, "an unknown command is a usage error");
	tap_is_int(status[3], 0, "skiff-node image rm");
	tap_is_int(lookup_rootfs("myorg/rootfs:v1", &rootfs, &cfg), -ENOENT,
		   "the removed image is gone");
	snprintf(dir, sizeof(dir), "%s/myorg+rootfs", store);
	tap_ok(!exists(dir), "and its name's directory with it");
	tap_is_int(skiff_image_remove(store, "myorg/rootfs:v1", &e), -ENOENT,
		   "removing it again: -ENOENT");
}

/* ---- containers ---- */

struct events {
	int calls;
	struct skiff_container_state first, last;
};

static void on_event(const char *id, const struct skiff_container_state *st, void *arg)
{
	struct events *ev = arg;

	(void)id;
	if (!ev->calls)
		ev->first = *st;
	ev->last = *st;
	ev->calls++;
	skiff_loop_stop(loop);
}

static void on_timeout(void *arg)
{
	*(bool *)arg = true;
	skiff_loop_stop(loop);
}

/* Runs the loop until @ev heard of a start (or of the exit, @exited). */
static bool wait_event(struct events *ev, bool exited)
{
	struct skiff_timer *t;
	bool late = false;

	t = skiff_loop_after(loop, WAIT_MS, on_timeout, &late);
	while (!late && !(ev->calls && (!exited || ev->last.exited)))
		skiff_loop_run(loop);
	if (!late)
		skiff_timer_cancel(t);
	return !late;
}

struct ctr {
	char id[64];
	char dir[PATH_MAX];
	char log[PATH_MAX];
	char cgroup[128];
	struct skiff_container_spec spec;
	struct events ev;
};

static const char *const default_env[] = { "FOO=bar", NULL };

static void ctr_init(struct ctr *c, const char *id, const char *const *args)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s-%d", id, getpid());
	path_of(c->dir, sizeof(c->dir), "bundles/%s", c->id);
	path_of(c->log, sizeof(c->log), "logs/%s.log", c->id);
	snprintf(c->cgroup, sizeof(c->cgroup), "skiff-test-%d/%s", getpid(), id);
	c->spec.image_rootfs = busybox_rootfs;
	c->spec.args = args;
	c->spec.env = default_env;
	c->spec.hostname = "testpod";
	c->spec.netns_path = netns;
	c->spec.cgroups_path = c->cgroup;
}

static int ctr_start(struct ctr *c)
{
	struct skiff_error e = { 0 };
	int err;

	err = skiff_bundle_write(c->dir, &c->spec, &e);
	if (!err)
		err = skiff_runtime_start(rt, loop, c->id, c->dir, c->log, on_event, &c->ev, &e);
	if (err)
		tap_diag("%s: %s", c->id, e.msg);
	return err;
}

static void ctr_cleanup(struct ctr *c)
{
	struct skiff_error e = { 0 };

	skiff_runtime_forget(rt, c->id);
	skiff_runtime_kill(rt, c->id, SIGKILL, &e);
	skiff_runtime_delete(rt, c->id, &e);
	skiff_bundle_remove(c->dir, &e);
}

static bool mounted(const char *path)
{
	char *info = read_file("/proc/self/mountinfo");

	return info && strstr(info, path);
}

/* A cgroup v1 controller's file for process @pid, e.g. memory.limit_in_bytes. */
static long long cgroup_value(pid_t pid, const char *ctrl, const char *file)
{
	char path[PATH_MAX], want[64], *info, *line, *save = NULL, *v;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	info = read_file(path);
	snprintf(want, sizeof(want), ":%s:", ctrl);
	for (line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		v = strstr(line, want);
		if (!v)
			continue;
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s%s/%s", ctrl, v + strlen(want),
			 file);
		v = read_file(path);
		return v ? atoll(v) : -1;
	}
	return -1;
}

static unsigned long long cap_eff(pid_t pid)
{
	char path[64], *s;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	s = read_file(path);
	s = s ? strstr(s, "CapEff:") : NULL;
	return s ? strtoull(s + 7, NULL, 16) : 0;
}

static bool same_netns(pid_t pid)
{
	struct stat a, b;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	return !stat(path, &a) && !stat(netns, &b) && a.st_ino == b.st_ino;
}

static int count_running;

static int find_id(const char *id, bool running, void *arg)
{
	if (!strcmp(id, arg))
		count_running += running ? 1 : 100;
	return 0;
}

static void test_exit_code(struct ctr *a)
{
	static const char *const args[] = {
		"sh", "-c",
		"echo out:$(hostname):$FOO:$(pwd); echo err-line >&2; touch /written; exit 3",
		NULL
	};
	char path[PATH_MAX * 2];
	const char *log;

	ctr_init(a, "exit3", args);
	a->spec.cwd = "/tmp";
	tap_is_int(ctr_start(a), 0, "start a container that exits 3");
	wait_event(&a->ev, true);
	tap_ok(a->ev.calls >= 1 && a->ev.calls <= 2 && a->ev.last.exited,
	       "told it ended (%d calls)", a->ev.calls);
	tap_ok(a->ev.last.started && a->ev.last.pid > 0, "it had started, pid %d",
	       a->ev.last.pid);
	tap_is_int(a->ev.last.exit_code, 3, "exit code 3");
	tap_ok(a->ev.last.finished_at >= a->ev.last.started_at && a->ev.last.started_at > 0,
	       "start and finish times");
	log = read_file(a->log) ?: "";
	tap_ok(strstr(log, "out:testpod:bar:/tmp\n"),
	       "stdout in the log, with hostname, env and cwd");
	tap_ok(strstr(log, "err-line\n"), "stderr in the log");
	snprintf(path, sizeof(path), "%s/upper/written", a->dir);
	tap_ok(exists(path), "its writes went to the bundle's upper layer");
	snprintf(path, sizeof(path), "%s/written", busybox_rootfs);
	tap_ok(!exists(path), "and not to the image");
}

static void test_killed(struct ctr *k)
{
	static const char *const args[] = { "sleep", "100", NULL };
	static const char *const add[] = { "NET_ADMIN", NULL };
	static const char *const drop[] = { "chown", NULL };
	struct skiff_error e = { 0 };
	unsigned long long caps;
	const char *argv[12];
	long long v;
	pid_t pid;
	int err, n;

	ctr_init(k, "killed", args);
	k->spec.memory_limit = MEMORY_LIMIT;
	k->spec.cpu_quota = CPU_QUOTA;
	k->spec.cap_add = add;
	k->spec.cap_drop = drop;
	tap_is_int(ctr_start(k), 0, "start a container that sleeps");
	wait_event(&k->ev, false);
	tap_ok(k->ev.calls == 1 && k->ev.first.started && !k->ev.first.exited,
	       "told it started");
	pid = k->ev.first.pid;
	tap_ok(same_netns(pid), "it is in the pod's network namespace");
	v = crun ? -1 : cgroup_value(pid, "memory", "memory.limit_in_bytes");
	tap_ok(v == MEMORY_LIMIT || v == -1, "memory limit in its cgroup: %lld%s", v,
	       v == -1 ? " # SKIP no cgroup v1 memory controller, or crun" : "");
	v = crun ? -1 : cgroup_value(pid, "cpu", "cpu.cfs_quota_us");
	tap_ok(v == CPU_QUOTA || v == -1, "CPU quota in its cgroup: %lld%s", v,
	       v == -1 ? " # SKIP no cgroup v1 cpu controller, or crun" : "");
	n = skiff_runtime_exec_argv(rt, k->id, argv);
	argv[n++] = "sh";
	argv[n++] = "-c";
	argv[n++] = "test -d /proc/1 && exit 5";
	argv[n] = NULL;
	tap_is_int(run(argv), 5, "a command run in it with skiff_runtime_exec_argv()");
	caps = cap_eff(pid);
	tap_ok((caps & (1ULL << 12)) && !(caps & 1) && (caps & (1ULL << 5)) &&
	       !(caps & (1ULL << 21)),
	       "capabilities: NET_ADMIN added, CHOWN dropped, KILL kept, no SYS_ADMIN (%llx)",
	       caps);
	count_running = 0;
	skiff_runtime_for_each(rt, find_id, k->id, &e);
	tap_is_int(count_running, 1, "the runtime lists it as running");
	err = skiff_runtime_kill(rt, k->id, SIGKILL, &e);
	tap_is_int(err, 0, "SIGKILL it (%s)", e.msg);
	wait_event(&k->ev, true);
	tap_ok(k->ev.last.exited, "told it ended");
	tap_is_int(k->ev.last.exit_code, 137, "exit code 137");
	err = skiff_runtime_kill(rt, k->id, SIGKILL, &e);
	tap_is_int(err, -ESRCH, "killing it again: -ESRCH (%s)", e.msg);
	err = skiff_runtime_delete(rt, k->id, &e);
	tap_is_int(err, 0, "delete it (%s)", e.msg);
	tap_is_int(skiff_runtime_delete(rt, k->id, &e), 0, "delete it again: 0");
	count_running = 0;
	skiff_runtime_for_each(rt, find_id, k->id, &e);
	tap_is_int(count_running, 0, "the runtime no longer lists it");
	err = skiff_runtime_kill(rt, k->id, SIGKILL, &e);
	tap_is_int(err, -ENOENT, "killing a deleted container: -ENOENT");
}

static void test_not_found(struct ctr *n)
{
	static const char *const args[] = { "no-such-command", "arg", NULL };

	ctr_init(n, "notfound", args);
	tap_is_int(ctr_start(n), 0, "start a container whose command does not exist");
	wait_event(&n->ev, true);
	tap_ok(n->ev.calls == 1 && n->ev.first.exited && !n->ev.first.started,
	       "told once: it ended without starting");
	tap_is_int(n->ev.last.exit_code, 128, "exit code 128");
	tap_ok(strstr(n->ev.last.reason, "no-such-command"),
	       "the reason names the command: %s", n->ev.last.reason);
}

static void test_oom(struct ctr *o)
{
	static const char *const args[] = {
		"sh", "-c", "a=0123456789abcdef; while :; do a=$a$a; done", NULL
	};

	ctr_init(o, "oom", args);
	/* Without a limit it would eat the machine's memory. */
	if (crun) {
		tap_ok(true, "# SKIP crun runs without cgroup management here");
		tap_ok(true, "# SKIP crun runs without cgroup management here");
		tap_ok(true, "# SKIP crun runs without cgroup management here");
		return;
	}
	o->spec.memory_limit = OOM_LIMIT;
	tap_is_int(ctr_start(o), 0, "start a container that outgrows its memory limit");
	wait_event(&o->ev, true);
	tap_is_int(o->ev.last.exit_code, 137, "killed");
	tap_is_str(o->ev.last.reason, "OOMKilled", "reason OOMKilled");
}

static void test_readonly(struct ctr *r)
{
	static const char *const args[] = {
		"sh", "-c", "echo hi > /data/f; touch /ro/g 2>/dev/null && exit 9; touch /x", NULL
	};
	static struct skiff_mount mounts[2];
	static char vol[PATH_MAX];
	char path[PATH_MAX * 2];

	path_of(vol, sizeof(vol), "%s", "volume");
	mkdirs(vol);
	mounts[0] = (struct skiff_mount){ vol, "/data", false };
	mounts[1] = (struct skiff_mount){ vol, "/ro", true };
	ctr_init(r, "readonly", args);
	r->spec.readonly_rootfs = true;
	r->spec.mounts = mounts;
	r->spec.n_mounts = 2;
	tap_is_int(ctr_start(r), 0, "start a container with a read-only root");
	wait_event(&r->ev, true);
	tap_is_int(r->ev.last.exit_code, 1, "writing to its root failed");
	tap_ok(strstr(read_file(r->log) ?: "", "Read-only file system"),
	       "with EROFS");
	snprintf(path, sizeof(path), "%s/f", vol);
	tap_is_str(read_file(path), "hi\n", "a read-write bind mount takes writes");
	snprintf(path, sizeof(path), "%s/g", vol);
	tap_ok(!exists(path), "a read-only bind mount refuses them");
}

static void test_adopt(struct ctr *d, struct ctr *a)
{
	static const char *const args[] = { "sleep", "100", NULL };
	struct skiff_error e = { 0 };
	struct events old = { 0 };
	char missing[PATH_MAX];
	int err;

	ctr_init(d, "adopted", args);
	tap_is_int(ctr_start(d), 0, "start a container to adopt");
	wait_event(&d->ev, false);
	tap_ok(d->ev.last.started, "it started");
	/* The agent restarts: a new runtime object knows nothing. */
	skiff_runtime_free(rt);
	rt = NULL;
	err = skiff_runtime_new(&rt, runtime_name, state_dir, shim, &e);
	tap_is_int(err, 0, "a new runtime (%s)", e.msg);
	memset(&d->ev, 0, sizeof(d->ev));
	err = skiff_runtime_adopt(rt, loop, d->id, d->dir, on_event, &d->ev, &e);
	tap_is_int(err, 0, "adopt the running container (%s)", e.msg);
	tap_is_int(skiff_runtime_adopt(rt, loop, d->id, d->dir, on_event, &d->ev, &e), -EEXIST,
		   "adopting it twice: -EEXIST");
	err = skiff_runtime_kill(rt, d->id, SIGKILL, &e);
	tap_is_int(err, 0, "kill it through the new runtime (%s)", e.msg);
	wait_event(&d->ev, true);
	tap_ok(d->ev.calls == 1 && d->ev.last.exited, "its end is reported");
	tap_is_int(d->ev.last.exit_code, 137, "exit code 137");

	err = skiff_runtime_adopt(rt, loop, a->id, a->dir, on_event, &old, &e);
	tap_is_int(err, 0, "adopt a container that ended before");
	wait_event(&old, true);
	tap_ok(old.calls == 1 && old.last.exited && old.last.exit_code == 3,
	       "told at once how it ended (%d)", old.last.exit_code);
	path_of(missing, sizeof(missing), "%s", "no-such-bundle");
	tap_is_int(skiff_runtime_adopt(rt, loop, "gone", missing, on_event, &old, &e), -ENOENT,
		   "adopting a missing bundle: -ENOENT");
}

static void test_lost_shim(struct ctr *l)
{
	static const char *const args[] = { "sleep", "100", NULL };
	struct skiff_error e = { 0 };
	char path[PATH_MAX * 2];
	pid_t pid;

	ctr_init(l, "lostshim", args);
	tap_is_int(ctr_start(l), 0, "start a container whose shim will be killed");
	wait_event(&l->ev, false);
	snprintf(path, sizeof(path), "%s/shim.pid", l->dir);
	pid = atoi(read_file(path) ?: "0");
	tap_ok(pid > 0 && !kill(pid, SIGKILL), "kill its shim, pid %d", pid);
	wait_event(&l->ev, true);
	tap_ok(l->ev.last.exited && l->ev.last.exit_code == 255,
	       "reported as ended, 255: %s", l->ev.last.reason);
	snprintf(path, sizeof(path), "%s/exited", l->dir);
	tap_ok(exists(path), "and recorded in the bundle");
	count_running = 0;
	skiff_runtime_for_each(rt, find_id, l->id, &e);
	tap_is_int(count_running, 0, "and the orphaned container deleted");
}

static void test_bundles(struct ctr *a)
{
	static const char *const args[] = { "true", NULL };
	static const char *const bad_cap[] = { "NOT_A_CAP", NULL };
	struct skiff_container_spec spec = { 0 };
	struct skiff_error e = { 0 };
	char dir[PATH_MAX], path[PATH_MAX * 2];
	json_t *cfg, *caps;
	int err;

	snprintf(path, sizeof(path), "%s/config.json", a->dir);
	cfg = json_load_file(path, 0, NULL);
	caps = json_object_get(json_object_get(json_object_get(cfg, "process"),
					       "capabilities"), "bounding");
	tap_ok(json_array_size(caps) == 14, "the default capability set (%zu)",
	       json_array_size(caps));
	tap_ok(json_is_true(json_object_get(json_object_get(cfg, "root"), "readonly")) == false,
	       "root is writable unless asked");
	json_decref(cfg);

	err = skiff_bundle_write(a->dir, &a->spec, &e);
	tap_is_int(err, -EEXIST, "a bundle where one is: -EEXIST");
	path_of(dir, sizeof(dir), "%s", "bundles/bad");
	spec = a->spec;
	spec.cap_add = bad_cap;
	err = skiff_bundle_write(dir, &spec, &e);
	tap_ok(err == -EINVAL && !exists(dir), "an unknown capability refused, nothing made: %s",
	       e.msg);
	spec = a->spec;
	spec.image_rootfs = "/no/such/rootfs";
	err = skiff_bundle_write(dir, &spec, &e);
	tap_ok(err == -ENOENT && !exists(dir), "a missing image refused, nothing made: %s",
	       e.msg);
	spec = a->spec;
	spec.args = args + 1;
	err = skiff_bundle_write(dir, &spec, &e);
	tap_ok(err == -EINVAL && !exists(dir), "no command refused: %s", e.msg);

	tap_ok(mounted(a->dir), "the bundle's rootfs is mounted");
	skiff_runtime_delete(rt, a->id, &e);
	err = skiff_bundle_remove(a->dir, &e);
	tap_is_int(err, 0, "remove the bundle (%s)", e.msg);
	tap_ok(!mounted(a->dir) && !exists(a->dir), "no mount and no directory left");
	tap_is_int(skiff_bundle_remove(a->dir, &e), 0, "removing it again: 0");
}

/* ---- setup ---- */

/* The cgroups runc made for the test's containers' parents. */
static void remove_cgroups(void)
{
	char *info = read_file("/proc/self/cgroup"), *line, *save = NULL, *ctrl, *path;
	char dir[PATH_MAX * 2], *comma;

	for (line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		ctrl = strchr(line, ':');
		if (!ctrl)
			continue;
		ctrl++;
		path = strchr(ctrl, ':');
		if (!path)
			continue;
		*path++ = '\0';
		if (!strcmp(path, "/"))
			path = "";
		if (!*ctrl)
			ctrl = "unified";
		else if (!strncmp(ctrl, "name=", 5))
			ctrl += 5;
		comma = strchr(ctrl, ',');
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s%s/skiff-test-%d", ctrl, path,
			 getpid());
		if (rmdir(dir) && comma) {
			*comma = '\0';
			snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s%s/skiff-test-%d", ctrl,
				 path, getpid());
			rmdir(dir);
		}
	}
}

static int setup(void)
{
	char exe[PATH_MAX], *slash;
	ssize_t n;
	int self, fd;

	if (unshare(CLONE_NEWNS | CLONE_NEWNET) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -1;
	strcpy(tmp, "/tmp/skiff-node-runtime-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(store, sizeof(store), "%s/images", tmp);
	snprintf(state_dir, sizeof(state_dir), "%s/runc", tmp);
	snprintf(netns, sizeof(netns), "%s/netns", tmp);
	path_of(exe, sizeof(exe), "%s", "logs");
	mkdirs(exe);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0';
	snprintf(shim, sizeof(shim), "%s/../bin/skiff-shim", exe);
	/* The pod's network namespace: a new one, kept by a bind mount. */
	self = open("/proc/self/ns/net", O_RDONLY);
	fd = open(netns, O_WRONLY | O_CREAT, 0644);
	close(fd);
	if (self < 0 || unshare(CLONE_NEWNET) ||
	    mount("/proc/self/ns/net", netns, NULL, MS_BIND, NULL) || setns(self, CLONE_NEWNET))
		return -1;
	close(self);
	return 0;
}

int main(void)
{
	struct ctr a, k, n, r, d, l, o;
	struct skiff_error e = { 0 };
	const char *rm[4] = { "rm", "-rf", tmp, NULL };
	int err;

	if (geteuid()) {
		printf("1..0 # SKIP needs root\n");
		return 0;
	}
	/* SKIFF_TEST_RUNTIME=crun tries crun (no cgroup limits with it). */
	if (getenv("SKIFF_TEST_RUNTIME"))
		runtime_name = getenv("SKIFF_TEST_RUNTIME");
	crun = strstr(runtime_name, "crun");
	tap_plan(PLAN);
	if (setup()) {
		tap_diag("setup: %s", strerror(errno));
		return tap_done();
	}
	test_build();
	test_rootfs_tar();
	test_oci();
	test_docker_save();
	test_refused();
	test_remove_and_cli();

	loop = skiff_loop_new();
	err = skiff_runtime_new(&rt, "no-such-runtime", state_dir, shim, &e);
	tap_is_int(err, -ENOENT, "a missing runtime: %s", e.msg);
	err = skiff_runtime_new(&rt, runtime_name, state_dir, shim, &e);
	tap_is_int(err, 0, "runc with skiff-shim (%s)", e.msg);
	if (!err && busybox_rootfs) {
		test_exit_code(&a);
		test_killed(&k);
		test_not_found(&n);
		test_oom(&o);
		test_readonly(&r);
		test_adopt(&d, &a);
		test_lost_shim(&l);
		test_bundles(&a);
		ctr_cleanup(&a);
		ctr_cleanup(&k);
		ctr_cleanup(&n);
		ctr_cleanup(&r);
		ctr_cleanup(&d);
		ctr_cleanup(&l);
		ctr_cleanup(&o);
	}
	skiff_runtime_free(rt);
	skiff_loop_free(loop);
	free(busybox_rootfs);
	remove_cgroups();
	umount2(netns, MNT_DETACH);
	run(rm);
	return tap_done();
}
