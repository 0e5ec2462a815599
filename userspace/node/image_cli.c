// SPDX-License-Identifier: GPL-2.0
/*
 * `skiff-node image ...`: the image store from the command line, so that a
 * lab puts images on its nodes without a registry (docker load's role).
 * @argv[0] is the subcommand's own name ("image"); options may come
 * anywhere, as GNU getopt permutes them.
 */

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "image.h"

#define DEFAULT_IMAGE_DIR "/var/lib/skiff/images"

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: skiff-node image [--image-dir DIR] import REF TARBALL\n"
		"       skiff-node image [--image-dir DIR] build-from-host REF PROGRAM...\n"
		"       skiff-node image [--image-dir DIR] list\n"
		"       skiff-node image [--image-dir DIR] rm REF\n"
		"\n"
		"TARBALL is an OCI image layout, a `docker save` archive or a root file\n"
		"system, gzip'ed or not. build-from-host copies host programs with their\n"
		"shared libraries (and busybox's applets). The default DIR is\n"
		DEFAULT_IMAGE_DIR ".\n");
}

static int print_ref(const char *ref, void *arg)
{
	(void)arg;
	printf("%s\n", ref);
	return 0;
}

/* @n operands are what @cmd takes: else a usage error. */
static bool check_operands(const char *cmd, int n, int min, int max)
{
	if (n >= min && (max < 0 || n <= max))
		return true;
	fprintf(stderr, "skiff-node image %s: %s operands\n", cmd,
		n < min ? "missing" : "too many");
	print_usage(stderr);
	return false;
}

int skiff_image_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "image-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = DEFAULT_IMAGE_DIR, *cmd;
	struct skiff_error e = { 0 };
	int c, n, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		default:
			print_usage(stderr);
			return 1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "skiff-node image: no command\n");
		print_usage(stderr);
		return 1;
	}
	cmd = argv[optind++];
	n = argc - optind;
	argv += optind;
	if (!strcmp(cmd, "import")) {
		if (!check_operands(cmd, n, 2, 2))
			return 1;
		err = skiff_image_import(dir, argv[0], argv[1], &e);
		if (!err)
			printf("Loaded image: %s\n", argv[0]);
	} else if (!strcmp(cmd, "build-from-host")) {
		if (!check_operands(cmd, n, 2, -1))
			return 1;
		err = skiff_image_build_from_host(dir, argv[0], (const char *const *)argv + 1,
						  n - 1, &e);
		if (!err)
			printf("Built image: %s\n", argv[0]);
	} else if (!strcmp(cmd, "list") || !strcmp(cmd, "ls")) {
		if (!check_operands(cmd, n, 0, 0))
			return 1;
		err = skiff_image_for_each(dir, print_ref, NULL);
		if (err)
			skiff_error_set(&e, err, "cannot read %s", dir);
	} else if (!strcmp(cmd, "rm")) {
		if (!check_operands(cmd, n, 1, 1))
			return 1;
		err = skiff_image_remove(dir, argv[0], &e);
		if (!err)
			printf("Deleted: %s\n", argv[0]);
	} else {
		fprintf(stderr, "skiff-node image: unknown command \"%s\"\n", cmd);
		print_usage(stderr);
		return 1;
	}
	if (err) {
		/* Our messages say what failed and why; strerror() alone otherwise. */
		if (e.msg[0])
			fprintf(stderr, "skiff-node image %s: %s\n", cmd, e.msg);
		else
			skiff_error_print("skiff-node image", &e);
		return 1;
	}
	return 0;
}
