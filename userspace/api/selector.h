/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kubernetes label and field selectors: parsed once, matched against many
 * objects (the apiserver's list and watch filters, and every controller
 * that owns pods by a selector).
 *
 * Label selector text (the ?labelSelector= syntax, as kubectl sends it):
 *	a=b  a==b  a!=b  a in (x,y)  a notin (x,y)  a  !a
 * joined by commas; all must hold. An empty text selects everything.
 * A LabelSelector object (matchLabels + matchExpressions with operators
 * In, NotIn, Exists, DoesNotExist) parses into the same thing.
 *
 * Field selector text: path=value, path==value, path!=value joined by
 * commas, where path names a field by dots (metadata.name, spec.nodeName,
 * status.phase, involvedObject.kind). A missing field reads as "", and
 * non-string scalars as their JSON text (true, 3).
 */

#ifndef SKIFF_SELECTOR_H
#define SKIFF_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct skiff_selector;

/*
 * Parses a label selector's text. 0, or -EINVAL with @err saying what is
 * wrong and where (label keys and values are checked as Kubernetes does:
 * optional DNS-subdomain prefix and '/', name of at most 63 characters of
 * [A-Za-z0-9._-] starting and ending alphanumeric; values likewise, may be
 * empty).
 */
int skiff_label_selector_parse(const char *text, struct skiff_selector **sel,
			       char *err, size_t err_len);

/*
 * Parses a LabelSelector object ({"matchLabels": {...},
 * "matchExpressions": [...]}). NULL or {} selects everything (as a
 * ReplicaSet's selector must not be empty, the caller checks that).
 */
int skiff_label_selector_from_json(const json_t *obj,
				   struct skiff_selector **sel,
				   char *err, size_t err_len);

/*
 * Parses a field selector's text. When @fields is not NULL it is a
 * NULL-terminated list of the paths allowed; another path is -EINVAL with
 * @err naming it ("field label not supported: spec.foo").
 */
int skiff_field_selector_parse(const char *text, const char *const *fields,
			       struct skiff_selector **sel,
			       char *err, size_t err_len);

/* True when @sel selects everything. */
bool skiff_selector_empty(const struct skiff_selector *sel);

/* Label selector: does it select an object with @labels (object or NULL)? */
bool skiff_selector_match_labels(const struct skiff_selector *sel,
				 const json_t *labels);

/* Field selector: does it select @object? */
bool skiff_selector_match_fields(const struct skiff_selector *sel,
				 const json_t *object);

void skiff_selector_free(struct skiff_selector *sel);

#endif /* SKIFF_SELECTOR_H */
