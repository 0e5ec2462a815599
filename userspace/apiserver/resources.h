/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kinds the apiserver serves: one table entry per resource, read by the
 * router, discovery, the handlers and the Table printer. Adding a kind is
 * adding an entry here (and its columns in table.c).
 */

#ifndef SKIFF_API_RESOURCES_H
#define SKIFF_API_RESOURCES_H

#include <stdbool.h>

/* Resource flags */
enum {
	RES_NAMESPACED = 1 << 0,
	RES_STATUS = 1 << 1,	/* has a status subresource */
	RES_SCALE = 1 << 2,	/* has a scale subresource */
	RES_GENERATION = 1 << 3, /* metadata.generation follows spec */
	RES_SHORT_NAME = 1 << 4, /* names are DNS-1123 labels (63) */
};

/**
 * struct api_resource - one served resource
 * @group: API group ("" for the core group)
 * @version: its version
 * @api_version: what objects say in apiVersion ("v1", "apps/v1")
 * @plural: the resource name in paths ("pods")
 * @singular: its singular ("pod")
 * @kind: the object kind ("Pod")
 * @list_kind: the kind of its lists ("PodList")
 * @flags: RES_*
 * @short_names: NULL-terminated, for kubectl (po, deploy)
 * @categories: NULL-terminated ("all")
 * @field_selectors: NULL-terminated paths list and watch may select on,
 *	besides metadata.name and metadata.namespace
 */
struct api_resource {
	const char *group;
	const char *version;
	const char *api_version;
	const char *plural;
	const char *singular;
	const char *kind;
	const char *list_kind;
	unsigned int flags;
	const char *const *short_names;
	const char *const *categories;
	const char *const *field_selectors;
};

struct api_group_version {
	const char *group;
	const char *version;
	const char *group_version;
};

extern const struct api_resource api_resources[];
extern const unsigned int api_resource_count;
extern const struct api_group_version api_group_versions[];
extern const unsigned int api_group_version_count;

/* The resource @plural of @group/@version, or NULL. */
const struct api_resource *api_resource_find(const char *group,
					     const char *version,
					     const char *plural);

/* The paths a field selector may name for @res (NULL-terminated). */
const char *const *api_resource_fields(const struct api_resource *res);

#endif /* SKIFF_API_RESOURCES_H */
