// SPDX-License-Identifier: GPL-2.0
/*
 * skiffctl image import|build-from-host|list|rm: this machine's node image
 * store, exactly as `skiff-node image` handles it (userspace/node/image.c).
 * skiffctl runs that command rather than linking the node agent's library:
 * one implementation, one set of messages, and skiffctl keeps to the
 * client library (no runc, mount or netlink code in a cluster client).
 * skiff-node is looked for next to skiffctl first (a build tree, or one
 * installed directory), then on $PATH.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

static const char usage[] =
	"Usage: skiffctl image [--image-dir DIR] import REF TARBALL\n"
	"       skiffctl image [--image-dir DIR] build-from-host REF PROGRAM...\n"
	"       skiffctl image [--image-dir DIR] list\n"
	"       skiffctl image [--image-dir DIR] rm REF\n"
	"\n"
	"The node image store of this machine, as `skiff-node image`: TARBALL is an OCI\n"
	"image layout, a `docker save` archive or a root file system, gzip'ed or not;\n"
	"build-from-host copies host programs with their shared libraries. DIR is the\n"
	"node agents' --image-dir (default /var/lib/skiff/images; `make run`'s nodes\n"
	"use .skiff/images).\n";

/* skiff-node in skiffctl's own directory, or NULL. */
static char *sibling(void)
{
	char self[PATH_MAX], *slash, *path;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	if (asprintf(&path, "%s/skiff-node", self) < 0)
		return NULL;
	if (access(path, X_OK)) {
		free(path);
		return NULL;
	}
	return path;
}

int skiff_ctl_image(int argc, char **argv)
{
	char **args, *path;
	int i;

	if (argc < 2)
		return skiff_ctl_usage_error(usage, "image: import, build-from-host, list or rm?");
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, stdout);
		return SKIFF_CTL_OK;
	}
	/* skiff-node image ARGS...: its argv[0] is "image". */
	args = calloc(argc + 2, sizeof(*args));
	if (!args)
		return SKIFF_CTL_FAIL;
	path = sibling();
	args[0] = "skiff-node";
	for (i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	fflush(stdout);
	if (path)
		execv(path, args);
	else
		execvp("skiff-node", args);
	fprintf(stderr, "%s: image: cannot run %s: %s\n", skiff_ctl_prog,
		path ? path : "skiff-node (not next to skiffctl, nor on $PATH)", strerror(errno));
	free(path);
	free(args);
	return SKIFF_CTL_FAIL;
}
