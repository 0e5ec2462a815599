/* SPDX-License-Identifier: GPL-2.0 */
/*
 * YAML in and out of JSON (jansson), on libyaml, for what users write:
 * manifests (`skiffctl apply -f`, several documents split by `---`) and
 * kubeconfigs. The apiserver speaks only JSON; YAML is the clients'.
 *
 * Reading follows what kubectl's YAML reader (sigs.k8s.io/yaml) gives, in
 * the YAML 1.2 core schema's words, for plain (unquoted) scalars:
 *	null, Null, NULL, ~, nothing	null
 *	true, True, TRUE, false, ...	true, false
 *	12, -3, 0x1F, 0o17, 0644	integers (a leading 0 is octal, as
 *					kubectl reads `defaultMode: 0644`)
 *	1.5, -2e3, .5			reals
 *	anything else			a string
 * Quoted scalars are always strings. Unlike kubectl (YAML 1.1), yes, no,
 * on, off, y and n stay strings; the writer quotes them, so what it writes
 * reads the same in both. .inf and .nan are refused: JSON has neither.
 * Integer, real and boolean mapping keys become their text ("1", "true"),
 * as sigs.k8s.io/yaml does; null and collection keys are refused, as are
 * duplicate keys (the YAML spec forbids them). Anchors and aliases are
 * expanded into copies, with a bound against alias bombs; merge keys
 * (`<<: *base`) are applied. Errors say where: "line 4, column 7: mapping
 * values are not allowed in this context".
 */

#ifndef SKIFF_YAML_H
#define SKIFF_YAML_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"

/*
 * Nodes expanded from aliases may exceed the nodes written in the text by
 * this factor, past SKIFF_YAML_ALIAS_FREE of them: room for every sane use
 * of anchors, none for a billion laughs.
 */
#define SKIFF_YAML_ALIAS_RATIO 100
#define SKIFF_YAML_ALIAS_FREE 100000

/*
 * The one document of @text[0..@len): a new reference, or NULL with @e
 * set (-EINVAL and where, or -ENOMEM). No document at all is JSON null; a
 * second non-empty document is an error (use skiff_yaml_load_all).
 */
json_t *skiff_yaml_load(const char *text, size_t len, struct skiff_error *e);

/*
 * Every document of the stream, in order, as a JSON array (new
 * reference); empty (null) documents are left out, as kubectl does.
 */
json_t *skiff_yaml_load_all(const char *text, size_t len,
			    struct skiff_error *e);

/*
 * The file @path read and loaded as above (@all: every document); the
 * error message starts with @path.
 */
json_t *skiff_yaml_load_file(const char *path, int all, struct skiff_error *e);

/*
 * @json as a YAML document in block style (malloc'd, NUL-terminated), or
 * NULL (out of memory, or not a JSON value). Keys keep their order; a
 * string that would read back as something else is quoted, so that
 * skiff_yaml_load (and kubectl) read back the same JSON.
 */
char *skiff_yaml_dump(const json_t *json);

#endif /* SKIFF_YAML_H */
