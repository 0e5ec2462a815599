// SPDX-License-Identifier: GPL-2.0
/*
 * The three patch formats of PATCH requests: RFC 7386 JSON merge patch,
 * RFC 6902 JSON patch, and Kubernetes' strategic merge patch, which is
 * what kubectl apply, edit and patch send by default.
 *
 * Each works on a deep copy of the document, so that a patch that fails
 * half way leaves nothing changed, and the caller's JSON is only read.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patch.h"
#include "util.h"

struct perr {
	char *buf;
	size_t len;
	bool set;	/* the innermost failure names the cause: keep it */
};

static int __attribute__((format(printf, 2, 3)))
fail(struct perr *e, const char *fmt, ...)
{
	va_list ap;

	if (e->buf && e->len && !e->set) {
		va_start(ap, fmt);
		vsnprintf(e->buf, e->len, fmt, ap);
		va_end(ap);
	}
	e->set = true;
	return -EINVAL;
}

static int nomem(struct perr *e)
{
	fail(e, "out of memory");
	return -ENOMEM;
}

/*
 * Equality of JSON values as RFC 6902's test defines it, which strategic
 * merge patch also needs for merge keys: numbers by value (80 == 80.0),
 * objects whatever the order of their members.
 */
static bool value_equal(const json_t *a, const json_t *b)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_integer(a) && json_is_integer(b))
		return json_integer_value(a) == json_integer_value(b);
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (!a || !b || json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return false;
		/* json_object_foreach() wants a mutable object: only read */
		json_object_foreach((json_t *)a, key, v)
			if (!value_equal(v, json_object_get(b, key)))
				return false;
		return true;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (i = 0; i < json_array_size(a); i++)
			if (!value_equal(json_array_get(a, i),
					 json_array_get(b, i)))
				return false;
		return true;
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       !memcmp(json_string_value(a), json_string_value(b),
			       json_string_length(a));
	default:
		return true;	/* true, false, null */
	}
}

/* ---- RFC 7386 JSON merge patch ----------------------------------------- */

/* MergePatch(target, patch) of RFC 7386 section 2, into a new value. */
static json_t *merge_patch(const json_t *target, const json_t *patch)
{
	const char *key;
	json_t *res, *v, *merged;

	if (!json_is_object(patch))
		return json_deep_copy(patch);
	res = json_is_object(target) ? json_deep_copy(target) : json_object();
	if (!res)
		return NULL;
	json_object_foreach((json_t *)patch, key, v) {
		if (json_is_null(v)) {
			json_object_del(res, key);
			continue;
		}
		merged = merge_patch(json_object_get(res, key), v);
		if (!merged || json_object_set_new(res, key, merged)) {
			json_decref(res);
			return NULL;
		}
	}
	return res;
}

json_t *skiff_merge_patch(const json_t *doc, const json_t *patch,
			  char *err, size_t err_len)
{
	struct perr e = { err, err_len, false };
	json_t *res;

	if (!patch) {
		fail(&e, "no merge patch");
		return NULL;
	}
	res = merge_patch(doc, patch);
	if (!res)
		nomem(&e);
	return res;
}

/* ---- RFC 6902 JSON patch ------------------------------------------------ */

/* An RFC 6901 JSON pointer, split into its unescaped reference tokens. */
struct pointer {
	const char *text;
	size_t n;
	char **tok;
};

/* One JSON patch being applied: the document, and which operation. */
struct jpatch {
	json_t *root;
	size_t index;
	const char *op;
	struct perr *e;
};

static int __attribute__((format(printf, 2, 3)))
op_fail(struct jpatch *jp, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fail(jp->e, "json patch operation %zu (%s): %s", jp->index,
		    jp->op ? jp->op : "?", msg);
}

static void pointer_free(struct pointer *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->tok[i]);
	free(p->tok);
	p->tok = NULL;
	p->n = 0;
}

/* Copies the token at @s (up to '/' or the end), undoing ~1 and ~0. */
static char *pointer_token(const char *s, const char **end)
{
	size_t len = strcspn(s, "/");
	char *tok = malloc(len + 1);
	char *out = tok;
	size_t i;

	*end = s + len;
	if (!tok)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] != '~') {
			*out++ = s[i];
		} else if (s[i + 1] == '0' || s[i + 1] == '1') {
			*out++ = s[++i] == '0' ? '~' : '/';
		} else {
			free(tok);
			*end = NULL;	/* a bad escape, not a lack of memory */
			return NULL;
		}
	}
	*out = '\0';
	return tok;
}

static int pointer_parse(struct jpatch *jp, const char *member,
			 const char *text, struct pointer *p)
{
	const char *s;
	size_t max;

	p->text = text;
	p->n = 0;
	p->tok = NULL;
	if (!*text)
		return 0;	/* "" is the whole document */
	if (*text != '/')
		return op_fail(jp, "%s \"%s\" must be empty or start with '/'",
			       member, text);
	for (max = 0, s = text; *s; s++)
		max += *s == '/';
	p->tok = calloc(max, sizeof(*p->tok));
	if (!p->tok)
		return nomem(jp->e);
	for (s = text; *s == '/'; p->n++) {
		p->tok[p->n] = pointer_token(s + 1, &s);
		if (!p->tok[p->n]) {
			pointer_free(p);
			if (s)
				return nomem(jp->e);
			return op_fail(jp,
				       "%s \"%s\": '~' must be followed by 0 or 1",
				       member, text);
		}
	}
	return 0;
}

/*
 * An array index token of RFC 6901: "0", or digits without a leading zero,
 * below @size; "-" (past the end) and @size itself only when @append.
 */
static int array_index(const char *tok, size_t size, bool append,
		       size_t *index)
{
	unsigned long long v;

	if (!strcmp(tok, "-")) {
		*index = size;
		return append ? 0 : -ERANGE;
	}
	if (!*tok || strspn(tok, "0123456789") != strlen(tok) ||
	    (tok[0] == '0' && tok[1]))
		return -EINVAL;
	errno = 0;
	v = strtoull(tok, NULL, 10);
	if (errno || v > size || (v == size && !append))
		return -ERANGE;
	*index = v;
	return 0;
}

static int index_fail(struct jpatch *jp, const struct pointer *p,
		      const char *tok, int ret)
{
	if (ret == -EINVAL)
		return op_fail(jp, "path \"%s\": \"%s\" is not an array index",
			       p->text, tok);
	return op_fail(jp, "path \"%s\": array index \"%s\" is out of range",
		       p->text, tok);
}

/* The value at the first @depth tokens of @p, or NULL having failed. */
static json_t *pointer_walk(struct jpatch *jp, const struct pointer *p,
			    size_t depth)
{
	json_t *cur = jp->root;
	size_t i, index;
	int ret;

	for (i = 0; i < depth; i++) {
		if (json_is_object(cur)) {
			cur = json_object_get(cur, p->tok[i]);
		} else if (json_is_array(cur)) {
			ret = array_index(p->tok[i], json_array_size(cur),
					  false, &index);
			if (ret) {
				index_fail(jp, p, p->tok[i], ret);
				return NULL;
			}
			cur = json_array_get(cur, index);
		} else {
			cur = NULL;
		}
		if (!cur) {
			op_fail(jp, "path \"%s\" does not exist", p->text);
			return NULL;
		}
	}
	return cur;
}

/* The object or array that holds the target of @p. */
static json_t *pointer_parent(struct jpatch *jp, const struct pointer *p)
{
	json_t *parent = pointer_walk(jp, p, p->n - 1);

	if (parent && !json_is_object(parent) && !json_is_array(parent)) {
		op_fail(jp,
			"path \"%s\": its parent is not an object or an array",
			p->text);
		return NULL;
	}
	return parent;
}

/* RFC 6902 4.1: sets a member, inserts into an array, or replaces all. */
static int jp_add(struct jpatch *jp, const struct pointer *p, json_t *value)
{
	const char *last;
	json_t *parent;
	size_t index;
	int ret;

	if (!p->n) {
		json_decref(jp->root);
		jp->root = value;
		return 0;
	}
	parent = pointer_parent(jp, p);
	if (!parent) {
		json_decref(value);
		return -EINVAL;
	}
	last = p->tok[p->n - 1];
	if (json_is_object(parent))
		return json_object_set_new(parent, last, value) ?
		       nomem(jp->e) : 0;
	ret = array_index(last, json_array_size(parent), true, &index);
	if (ret) {
		json_decref(value);
		return index_fail(jp, p, last, ret);
	}
	return json_array_insert_new(parent, index, value) ? nomem(jp->e) : 0;
}

/* RFC 6902 4.2: removes the target, which must exist; returns it. */
static json_t *jp_take(struct jpatch *jp, const struct pointer *p)
{
	const char *last;
	json_t *parent, *v;
	size_t index;
	int ret;

	if (!p->n) {
		op_fail(jp, "the whole document cannot be removed");
		return NULL;
	}
	parent = pointer_parent(jp, p);
	if (!parent)
		return NULL;
	last = p->tok[p->n - 1];
	if (json_is_object(parent)) {
		v = json_incref(json_object_get(parent, last));
		if (!v)
			op_fail(jp, "path \"%s\" does not exist", p->text);
		else
			json_object_del(parent, last);
		return v;
	}
	ret = array_index(last, json_array_size(parent), false, &index);
	if (ret) {
		index_fail(jp, p, last, ret);
		return NULL;
	}
	v = json_incref(json_array_get(parent, index));
	json_array_remove(parent, index);
	return v;
}

/* RFC 6902 4.3: replaces the target, which must exist, in its place. */
static int jp_replace(struct jpatch *jp, const struct pointer *p,
		      json_t *value)
{
	const char *last;
	json_t *parent;
	size_t index;
	int ret;

	if (!p->n)
		return jp_add(jp, p, value);
	parent = pointer_parent(jp, p);
	if (!parent) {
		json_decref(value);
		return -EINVAL;
	}
	last = p->tok[p->n - 1];
	if (json_is_object(parent)) {
		if (!json_object_get(parent, last)) {
			json_decref(value);
			return op_fail(jp, "path \"%s\" does not exist",
				       p->text);
		}
		return json_object_set_new(parent, last, value) ?
		       nomem(jp->e) : 0;
	}
	ret = array_index(last, json_array_size(parent), false, &index);
	if (ret) {
		json_decref(value);
		return index_fail(jp, p, last, ret);
	}
	return json_array_set_new(parent, index, value) ? nomem(jp->e) : 0;
}

/* Is @a a proper prefix of @b, token by token? */
static bool pointer_is_prefix(const struct pointer *a,
			      const struct pointer *b)
{
	size_t i;

	if (a->n >= b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->tok[i], b->tok[i]))
			return false;
	return true;
}

/* RFC 6902 4.4: remove at "from", then add at "path". */
static int jp_move(struct jpatch *jp, const struct pointer *from,
		   const struct pointer *path)
{
	json_t *v;

	if (pointer_is_prefix(from, path))
		return op_fail(jp,
			       "\"%s\" cannot be moved into its own child \"%s\"",
			       from->text, path->text);
	if (!strcmp(from->text, path->text))
		return pointer_walk(jp, from, from->n) ? 0 : -EINVAL;
	v = jp_take(jp, from);
	return v ? jp_add(jp, path, v) : -EINVAL;
}

/* RFC 6902 4.5: a copy of the value at "from", added at "path". */
static int jp_copy(struct jpatch *jp, const struct pointer *from,
		   const struct pointer *path)
{
	json_t *v = pointer_walk(jp, from, from->n);

	if (!v)
		return -EINVAL;
	v = json_deep_copy(v);
	return v ? jp_add(jp, path, v) : nomem(jp->e);
}

/* RFC 6902 4.6 */
static int jp_test(struct jpatch *jp, const struct pointer *p,
		   const json_t *value)
{
	json_t *v = pointer_walk(jp, p, p->n);

	if (!v)
		return -EINVAL;
	if (!value_equal(v, value))
		return op_fail(jp, "test failed: the value at \"%s\" differs",
			       p->text);
	return 0;
}

/* A member of the operation that must be a string. */
static const char *op_string(struct jpatch *jp, const json_t *op,
			     const char *member)
{
	const json_t *v = json_object_get(op, member);

	if (!json_is_string(v)) {
		op_fail(jp, "\"%s\" %s", member,
			v ? "must be a string" : "is missing");
		return NULL;
	}
	return json_string_value(v);
}

/* The operations that take a "value", and those that take a "from". */
static bool op_has_value(const char *name)
{
	return !strcmp(name, "add") || !strcmp(name, "replace") ||
	       !strcmp(name, "test");
}

static bool op_has_from(const char *name)
{
	return !strcmp(name, "move") || !strcmp(name, "copy");
}

static int jp_dispatch(struct jpatch *jp, const struct pointer *path,
		       const struct pointer *from, const json_t *value)
{
	json_t *copy = NULL;

	if (!strcmp(jp->op, "remove")) {
		copy = jp_take(jp, path);
		json_decref(copy);
		return copy ? 0 : -EINVAL;
	}
	if (!strcmp(jp->op, "move"))
		return jp_move(jp, from, path);
	if (!strcmp(jp->op, "copy"))
		return jp_copy(jp, from, path);
	if (!strcmp(jp->op, "test"))
		return jp_test(jp, path, value);
	copy = json_deep_copy(value);
	if (!copy)
		return nomem(jp->e);
	if (!strcmp(jp->op, "add"))
		return jp_add(jp, path, copy);
	return jp_replace(jp, path, copy);
}

static int jp_apply(struct jpatch *jp, const json_t *op)
{
	struct pointer path = { 0 }, from = { 0 };
	const char *text;
	const json_t *value = NULL;
	int ret;

	jp->op = NULL;
	if (!json_is_object(op))
		return op_fail(jp, "an operation must be an object");
	jp->op = op_string(jp, op, "op");
	if (!jp->op)
		return -EINVAL;
	if (!op_has_value(jp->op) && !op_has_from(jp->op) &&
	    strcmp(jp->op, "remove"))
		return op_fail(jp, "unknown operation");
	text = op_string(jp, op, "path");
	if (!text)
		return -EINVAL;
	if (op_has_value(jp->op)) {
		value = json_object_get(op, "value");
		if (!value)
			return op_fail(jp, "\"value\" is missing");
	}
	ret = pointer_parse(jp, "path", text, &path);
	if (!ret && op_has_from(jp->op)) {
		text = op_string(jp, op, "from");
		ret = text ? pointer_parse(jp, "from", text, &from) : -EINVAL;
	}
	if (!ret)
		ret = jp_dispatch(jp, &path, &from, value);
	pointer_free(&path);
	pointer_free(&from);
	return ret;
}

json_t *skiff_json_patch(const json_t *doc, const json_t *patch,
			 char *err, size_t err_len)
{
	struct perr e = { err, err_len, false };
	struct jpatch jp = { .e = &e };

	if (!json_is_array(patch)) {
		fail(&e, "a json patch must be a list of operations");
		return NULL;
	}
	jp.root = doc ? json_deep_copy(doc) : json_null();
	if (!jp.root) {
		nomem(&e);
		return NULL;
	}
	for (jp.index = 0; jp.index < json_array_size(patch); jp.index++) {
		if (jp_apply(&jp, json_array_get(patch, jp.index))) {
			json_decref(jp.root);
			return NULL;
		}
	}
	return jp.root;
}

/* ---- strategic merge patch ----------------------------------------------
 *
 * As k8s.io/apimachinery/pkg/util/strategicpatch applies it on the server
 * (StrategicMergeMapPatch): maps merge key by key, null deletes, lists are
 * replaced unless their Go type says otherwise. That type information is
 * the table below.
 *
 * Where the Go code leans on its types, a schemaless store cannot: fields
 * that no type knows merge as maps or are replaced as lists, where
 * Kubernetes refuses them; and what a patch adds is merged into nothing
 * rather than stored as sent, since no typed decoding would drop its
 * directives and nulls afterwards. "$patch": "merge", refused there, is
 * taken here for what it names: the default.
 */

/*
 * The lists that Kubernetes merges rather than replaces: the fields with a
 * +patchStrategy=merge marker in k8s.io/api core/v1, apps/v1, batch/v1 and
 * meta/v1, for the kinds skiff serves. A field is named by the end of its
 * path, list elements not counted: "containers.ports" is the ports of any
 * container of any pod spec (spec.containers, spec.template.spec...), and
 * "spec.ports" is a Service's. With a merge key, elements with the same
 * key merge; without, the list is of scalars and merges as a set.
 *
 * Not here, so replaced whole, as in Kubernetes: tolerations, node taints,
 * container envFrom and args, endpoint subsets, matchExpressions...
 * ("merge,retainKeys" fields are here as "merge": retainKeys only tells
 * clients to send $retainKeys, which is applied wherever it is sent.)
 */
static const struct merge_list {
	const char *suffix;
	const char *key;
} merge_lists[] = {
	/* meta/v1 ObjectMeta, of every object and pod template */
	{ "metadata.finalizers",		NULL },
	{ "metadata.ownerReferences",		"uid" },
	/* core/v1 PodSpec */
	{ "spec.containers",			"name" },
	{ "spec.initContainers",		"name" },
	{ "spec.ephemeralContainers",		"name" },
	{ "spec.volumes",			"name" },
	{ "spec.imagePullSecrets",		"name" },
	{ "spec.hostAliases",			"ip" },
	{ "spec.topologySpreadConstraints",	"topologyKey" },
	{ "spec.schedulingGates",		"name" },
	{ "spec.resourceClaims",		"name" },
	/* core/v1 Container and EphemeralContainer */
	{ "containers.ports",			"containerPort" },
	{ "initContainers.ports",		"containerPort" },
	{ "ephemeralContainers.ports",		"containerPort" },
	{ "containers.env",			"name" },
	{ "initContainers.env",			"name" },
	{ "ephemeralContainers.env",		"name" },
	{ "containers.volumeMounts",		"mountPath" },
	{ "initContainers.volumeMounts",	"mountPath" },
	{ "ephemeralContainers.volumeMounts",	"mountPath" },
	{ "containers.volumeDevices",		"devicePath" },
	{ "initContainers.volumeDevices",	"devicePath" },
	{ "ephemeralContainers.volumeDevices",	"devicePath" },
	/* core/v1 PodStatus */
	{ "status.podIPs",			"ip" },
	{ "status.hostIPs",			"ip" },
	{ "status.resourceClaimStatuses",	"name" },
	/* core/v1 ServiceSpec */
	{ "spec.ports",				"port" },
	/* core/v1 NodeSpec and NodeStatus */
	{ "spec.podCIDRs",			NULL },
	{ "status.addresses",			"type" },
	/*
	 * The conditions of Pod, Node, Namespace and Service (core/v1),
	 * Deployment, ReplicaSet, DaemonSet and StatefulSet (apps/v1) and
	 * Job (batch/v1) all merge by type.
	 */
	{ "status.conditions",			"type" },
};

#define DIRECTIVE		"$patch"
#define RETAIN_KEYS		"$retainKeys"
#define SET_ELEMENT_ORDER	"$setElementOrder/"
#define DELETE_FROM_LIST	"$deleteFromPrimitiveList/"

enum directive {
	DIR_MERGE,
	DIR_REPLACE,
	DIR_DELETE,
};

/* Where a value is: its field name, then its parent's, up to the root. */
struct spath {
	const char *name;
	const struct spath *up;
};

/* Writes "a.b.c" for @p into @buf. */
static size_t path_text(const struct spath *p, char *buf, size_t len)
{
	size_t at = 0;

	if (!p) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	if (p->up) {
		at = path_text(p->up, buf, len);
		if (at + 1 < len)
			buf[at++] = '.';
	}
	snprintf(buf + at, len > at ? len - at : 0, "%s", p->name);
	at += strlen(p->name);
	return at < len ? at : (len ? len - 1 : 0);
}

/* Fails naming the field at @p, if any. */
static int __attribute__((format(printf, 3, 4)))
path_fail(struct perr *e, const struct spath *p, const char *fmt, ...)
{
	char where[256], msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!p)
		return fail(e, "strategic merge patch: %s", msg);
	path_text(p, where, sizeof(where));
	return fail(e, "strategic merge patch: %s: %s", where, msg);
}

static bool path_ends_with(const struct spath *p, const char *suffix)
{
	const char *end = suffix + strlen(suffix);
	const char *seg;
	size_t len;

	while (end > suffix) {
		seg = memrchr(suffix, '.', end - suffix);
		seg = seg ? seg + 1 : suffix;
		len = end - seg;
		if (!p || strlen(p->name) != len || memcmp(p->name, seg, len))
			return false;
		p = p->up;
		end = seg > suffix ? seg - 1 : suffix;
	}
	return true;
}

static const struct merge_list *merge_list_of(const struct spath *p)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(merge_lists); i++)
		if (path_ends_with(p, merge_lists[i].suffix))
			return &merge_lists[i];
	return NULL;
}

/* The field that "$setElementOrder/FIELD" and the like name, or NULL. */
static const char *directive_field(const char *key, const char *prefix)
{
	size_t len = strlen(prefix);

	return strncmp(key, prefix, len) ? NULL : key + len;
}

static bool is_directive(const char *key)
{
	return !strcmp(key, DIRECTIVE) || !strcmp(key, RETAIN_KEYS) ||
	       directive_field(key, SET_ELEMENT_ORDER) ||
	       directive_field(key, DELETE_FROM_LIST);
}

/* The "$patch" of a map: DIR_MERGE when it has none, or -EINVAL. */
static int directive_of(struct perr *e, const json_t *map,
			const struct spath *p)
{
	const json_t *v = json_object_get(map, DIRECTIVE);
	const char *s = json_string_value(v);

	if (!v || (s && !strcmp(s, "merge")))
		return DIR_MERGE;
	if (s && !strcmp(s, "replace"))
		return DIR_REPLACE;
	if (s && !strcmp(s, "delete"))
		return DIR_DELETE;
	if (!s)
		return path_fail(e, p,
				 "unknown $patch directive (not a string)");
	return path_fail(e, p, "unknown $patch directive \"%s\"", s);
}

/* Every "$..." key of a patch map must be a directive this code knows. */
static int check_directives(struct perr *e, const json_t *patch,
			    const struct spath *p)
{
	const char *key, *field;
	json_t *v;

	json_object_foreach((json_t *)patch, key, v) {
		if (key[0] != '$')
			continue;
		field = directive_field(key, SET_ELEMENT_ORDER);
		if (!field)
			field = directive_field(key, DELETE_FROM_LIST);
		if (field && !*field)
			return path_fail(e, p, "directive %s names no field",
					 key);
		if (!is_directive(key))
			return path_fail(e, p, "unknown directive %s", key);
	}
	return 0;
}

static json_t *smp_map(struct perr *e, json_t *res, const json_t *patch,
		       const struct spath *p);
static json_t *smp_list(struct perr *e, const json_t *orig,
			const json_t *patch, const struct spath *p);

/*
 * A patch value that meets nothing in the document: Kubernetes stores it
 * as it is and its typed decoding then drops directives and nulls, so
 * here it is merged into nothing, which does the same.
 */
static json_t *smp_fresh(struct perr *e, const json_t *patch,
			 const struct spath *p)
{
	json_t *res;

	if (json_is_array(patch))
		return smp_list(e, NULL, patch, p);
	res = json_is_object(patch) ? json_object() : json_deep_copy(patch);
	if (!res) {
		nomem(e);
		return NULL;
	}
	return json_is_object(patch) ? smp_map(e, res, patch, p) : res;
}

/* Each element of @list as smp_fresh() makes it. */
static json_t *fresh_elements(struct perr *e, const json_t *list,
			      const struct spath *p)
{
	json_t *res = json_array(), *v;
	size_t i;

	if (!res) {
		nomem(e);
		return NULL;
	}
	for (i = 0; i < json_array_size(list); i++) {
		v = smp_fresh(e, json_array_get(list, i), p);
		if (!v || json_array_append_new(res, v)) {
			if (v)
				nomem(e);
			json_decref(res);
			return NULL;
		}
	}
	return res;
}

/* ---- lists -------------------------------------------------------------- */

/* What an element of a list is, the way Go types them. */
static int element_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_INTEGER:
		return JSON_REAL;
	case JSON_FALSE:
		return JSON_TRUE;
	default:
		return json_typeof(v);
	}
}

/* Adds @list's elements to *@kind: one kind, not lists, not nulls. */
static int add_kinds(struct perr *e, const json_t *list, int *kind,
		     const struct spath *p)
{
	const json_t *v;
	size_t i;

	for (i = 0; i < json_array_size(list); i++) {
		v = json_array_get(list, i);
		if (json_is_array(v) || json_is_null(v))
			return path_fail(e, p,
					 "cannot merge lists of lists or nulls");
		if (*kind >= 0 && element_kind(v) != *kind)
			return path_fail(e, p,
					 "the list elements are not all of one type");
		*kind = element_kind(v);
	}
	return 0;
}

/*
 * The kind of the elements of @a and @b together, as element_kind() says;
 * -1 when both are empty, -EINVAL when they are not all of one kind.
 */
static int list_kind(struct perr *e, const json_t *a, const json_t *b,
		     const struct spath *p)
{
	int kind = -1;

	if (add_kinds(e, a, &kind, p) || add_kinds(e, b, &kind, p))
		return -EINVAL;
	return kind;
}

/* What identifies a list element: its merge key, or itself. */
static const json_t *element_id(const json_t *v, const char *key)
{
	return key ? json_object_get(v, key) : v;
}

/* The index of the first element of @list with the id @id, or -1. */
static long index_of(const json_t *list, const json_t *id, const char *key)
{
	size_t i;

	for (i = 0; id && i < json_array_size(list); i++)
		if (value_equal(element_id(json_array_get(list, i), key), id))
			return i;
	return -1;
}

struct slot {
	json_t *v;
	long rank;	/* index in the list that orders it, or -1 */
	long server;	/* index in the server's list, or -1 */
};

/* Stable, and leaves an element with no rank where it is. */
static void sort_slots(struct slot *s, size_t n)
{
	struct slot cur;
	size_t i, j;

	for (i = 1; i < n; i++) {
		cur = s[i];
		for (j = i; j > 0 && cur.rank >= 0 && s[j - 1].rank >= 0 &&
		     cur.rank < s[j - 1].rank; j--)
			s[j] = s[j - 1];
		s[j] = cur;
	}
}

/* Appends the interleaving of @srv and @pat that mergeSortedSlice makes. */
static int interleave(json_t *res, const struct slot *srv, size_t ns,
		      const struct slot *pat, size_t np)
{
	size_t i = 0, j = 0;
	json_t *v;

	while (i < ns || j < np) {
		/* a server-only element goes first only if it was before */
		if (j == np || (i < ns && srv[i].server >= 0 &&
				pat[j].server >= 0 &&
				srv[i].server < pat[j].server))
			v = srv[i++].v;
		else
			v = pat[j++].v;
		if (json_array_append(res, v))
			return -ENOMEM;
	}
	return 0;
}

/**
 * order_list() - the order Kubernetes gives a merged list
 * @e: error
 * @merged: the merged elements
 * @pref: the list whose order comes first: the patch's, or $setElementOrder
 * @server: the list in the document before the patch
 * @key: the merge key, or NULL for scalars
 * @p: where the list is
 *
 * The elements that @pref names are sorted as there; the others (only on
 * the server) as in @server; then the two are merged, a server-only element
 * coming before a patch element when it came before it in @server.
 *
 * Return: a new list, or NULL having failed.
 */
static json_t *order_list(struct perr *e, const json_t *merged,
			  const json_t *pref, const json_t *server,
			  const char *key, const struct spath *p)
{
	size_t i, n = json_array_size(merged), np = 0, ns = 0;
	struct slot *pat, *srv;
	const json_t *id;
	json_t *res;

	pat = calloc(n + 1, sizeof(*pat));
	srv = calloc(n + 1, sizeof(*srv));
	res = json_array();
	if (!pat || !srv || !res)
		goto oom;
	for (i = 0; i < n; i++) {
		json_t *v = json_array_get(merged, i);
		long rank;

		id = element_id(v, key);
		if (!id) {
			path_fail(e, p, "an element has no merge key \"%s\"",
				  key);
			goto out;
		}
		rank = index_of(pref, id, key);
		if (rank >= 0) {
			pat[np].v = v;
			pat[np].rank = rank;
			pat[np++].server = index_of(server, id, key);
		} else {
			srv[ns].v = v;
			srv[ns].server = index_of(server, id, key);
			srv[ns].rank = srv[ns].server;
			ns++;
		}
	}
	sort_slots(pat, np);
	sort_slots(srv, ns);
	if (interleave(res, srv, ns, pat, np))
		goto oom;
	free(pat);
	free(srv);
	return res;
oom:
	nomem(e);
out:
	free(pat);
	free(srv);
	json_decref(res);
	return NULL;
}

/* Scalars with a merge strategy (finalizers): the union, ordered. */
static json_t *merge_scalars(struct perr *e, const json_t *orig,
			     const json_t *patch, const struct spath *p)
{
	const json_t *lists[] = { orig, patch };
	json_t *all, *res, *v;
	size_t i, j;

	all = json_array();
	if (!all)
		goto oom;
	for (i = 0; i < ARRAY_SIZE(lists); i++) {
		for (j = 0; j < json_array_size(lists[i]); j++) {
			v = json_array_get(lists[i], j);
			if (index_of(all, v, NULL) >= 0)
				continue;
			/* copies: the result shares nothing with the patch */
			if (json_array_append_new(all, json_deep_copy(v)))
				goto oom;
		}
	}
	res = order_list(e, all, patch, orig, NULL, p);
	json_decref(all);
	return res;
oom:
	json_decref(all);
	nomem(e);
	return NULL;
}

/*
 * Kubernetes merges a list of maps in place, in the Go slice that holds
 * the document's list: a deletion moves the elements after it down one,
 * leaving the last slot as it was, and the first additions fill the slots
 * that deletions freed. Its $setElementOrder step then orders by that
 * array (as long as the document's list was) instead of by the list as it
 * came, which decides where elements that only the server has end up. So
 * the same array is kept here, to order alike.
 */
struct go_slice {
	json_t *slots;	/* as many as the document's list had */
	size_t len;	/* the slice's length over them */
};

static void go_slice_delete(struct go_slice *gs, size_t at)
{
	size_t i;

	if (!gs)
		return;
	for (i = at; i + 1 < gs->len; i++)
		json_array_set(gs->slots, i, json_array_get(gs->slots, i + 1));
	gs->len--;
}

static void go_slice_append(struct go_slice *gs, json_t *v)
{
	if (!gs)
		return;
	if (gs->len < json_array_size(gs->slots))
		json_array_set(gs->slots, gs->len, v);
	gs->len++;
}

/* Removes from @list every element whose merge key is @id. */
static void delete_matching(json_t *list, const json_t *id, const char *key,
			    struct go_slice *gs)
{
	long i;

	while ((i = index_of(list, id, key)) >= 0) {
		json_array_remove(list, i);
		go_slice_delete(gs, i);
	}
}

struct list_merge {
	json_t *work;		/* the list being merged */
	json_t *plain;		/* the patch elements to merge into it */
	const char *key;
	bool replace;		/* a "$patch": "replace" element was seen */
	struct go_slice *gs;	/* NULL, or see struct go_slice */
	const struct spath *p;
};

/*
 * First pass over a patch list of maps: "$patch": "delete" elements delete
 * from the list, a "$patch": "replace" element makes the others the list,
 * the others are gathered to be merged.
 */
static int list_directives(struct perr *e, struct list_merge *lm,
			   const json_t *patch)
{
	const json_t *id;
	json_t *v;
	size_t i;
	int d;

	for (i = 0; i < json_array_size(patch); i++) {
		v = json_array_get(patch, i);
		d = directive_of(e, v, lm->p);
		if (d < 0)
			return d;
		if (d == DIR_REPLACE) {
			lm->replace = true;
			continue;
		}
		id = element_id(v, lm->key);
		if (!id)
			return path_fail(e, lm->p,
					 "an element has no merge key \"%s\"",
					 lm->key);
		if (d == DIR_DELETE)
			delete_matching(lm->work, id, lm->key, lm->gs);
		else if (json_array_append(lm->plain, v))
			return nomem(e);
	}
	return 0;
}

/* Merges each patch element into its namesake in the list, or appends. */
static int merge_elements(struct perr *e, struct list_merge *lm)
{
	json_t *v, *old, *merged;
	size_t i;
	long at;

	for (i = 0; i < json_array_size(lm->plain); i++) {
		v = json_array_get(lm->plain, i);
		at = index_of(lm->work, element_id(v, lm->key), lm->key);
		if (at >= 0) {
			old = json_array_get(lm->work, at);
			/* smp_map() takes a reference: the list keeps one */
			merged = smp_map(e, json_incref(old), v, lm->p);
		} else {
			merged = smp_fresh(e, v, lm->p);
		}
		if (!merged)
			return -EINVAL;
		if (at < 0)
			go_slice_append(lm->gs, merged);
		if (at >= 0 ? json_array_set_new(lm->work, at, merged) :
		    json_array_append_new(lm->work, merged))
			return nomem(e);
	}
	return 0;
}

/*
 * Maps with a merge key (containers by name...): mergeSlice of Kubernetes.
 * When @slots is not NULL, it gets the array of struct go_slice.
 */
static json_t *merge_maps(struct perr *e, const json_t *orig,
			  const json_t *patch, const char *key,
			  const struct spath *p, json_t **slots)
{
	struct list_merge lm = { .key = key, .p = p };
	struct go_slice gs = { 0 };
	json_t *base = NULL, *res = NULL;

	lm.work = orig ? json_copy((json_t *)orig) : json_array();
	lm.plain = json_array();
	if (slots) {
		gs.slots = orig ? json_copy((json_t *)orig) : json_array();
		gs.len = json_array_size(gs.slots);
		lm.gs = &gs;
	}
	if (!lm.work || !lm.plain || (slots && !gs.slots)) {
		nomem(e);
		goto out;
	}
	if (list_directives(e, &lm, patch))
		goto out;
	if (lm.replace) {
		/* the patch's other elements are the list */
		res = fresh_elements(e, lm.plain, p);
		goto out;
	}
	/* the server's order, deletions done, before anything is added */
	base = json_copy(lm.work);
	if (!base) {
		nomem(e);
		goto out;
	}
	if (!merge_elements(e, &lm))
		res = order_list(e, lm.work, lm.plain, base, key, p);
out:
	if (res && slots) {
		*slots = gs.slots;
		gs.slots = NULL;
	}
	json_decref(gs.slots);
	json_decref(base);
	json_decref(lm.plain);
	json_decref(lm.work);
	return res;
}

static json_t *merge_list(struct perr *e, const json_t *orig,
			  const json_t *patch, const char *key,
			  const struct spath *p)
{
	int kind = list_kind(e, orig, patch, p);
	json_t *res;

	if (kind == -EINVAL)
		return NULL;
	if (kind < 0) {
		res = json_array();	/* both empty */
		if (!res)
			nomem(e);
		return res;
	}
	if (kind != JSON_OBJECT)
		return merge_scalars(e, orig, patch, p);
	if (!key) {
		path_fail(e, p,
			  "a list of maps cannot merge without a merge key");
		return NULL;
	}
	return merge_maps(e, orig, patch, key, p, NULL);
}

/* Two lists meet (@orig may be NULL): merged if the table says so. */
static json_t *smp_list(struct perr *e, const json_t *orig,
			const json_t *patch, const struct spath *p)
{
	const struct merge_list *ml = merge_list_of(p);

	if (!ml)
		return fresh_elements(e, patch, p);
	return merge_list(e, orig, patch, ml->key, p);
}

/* ---- maps --------------------------------------------------------------- */

static bool in_list(const json_t *list, const char *key)
{
	size_t i;

	for (i = 0; i < json_array_size(list); i++) {
		const char *s = json_string_value(json_array_get(list, i));

		if (s && !strcmp(s, key))
			return true;
	}
	return false;
}

/*
 * "$retainKeys": the fields of @res not listed are cleared (a Deployment's
 * strategy losing rollingUpdate when its type becomes Recreate). Every
 * field that the patch sets must be listed.
 */
static int apply_retain_keys(struct perr *e, json_t *res, const json_t *patch,
			     const struct spath *p)
{
	const json_t *list = json_object_get(patch, RETAIN_KEYS);
	const char *key;
	json_t *v;
	void *tmp;

	if (!list)
		return 0;
	if (!json_is_array(list))
		return path_fail(e, p, "$retainKeys must be a list");
	json_object_foreach((json_t *)patch, key, v) {
		if (json_is_null(v) || is_directive(key))
			continue;
		if (!in_list(list, key))
			return path_fail(e, p, "\"%s\" is not in $retainKeys",
					 key);
	}
	json_object_foreach_safe(res, tmp, key, v)
		if (!in_list(list, key))
			json_object_del(res, key);
	return 0;
}

/*
 * Checks that the patch list @pv names its elements (deletions and other
 * directives aside) in the order of the "$setElementOrder" list @order,
 * as validatePatchWithSetOrderList does.
 */
static int check_element_order(struct perr *e, const json_t *pv,
			       const json_t *order, const char *key,
			       const struct spath *p)
{
	size_t i = 0, j = 0, n = json_array_size(pv);
	const json_t *v, *o;

	while (i < n && j < json_array_size(order)) {
		v = json_array_get(pv, i);
		o = json_array_get(order, j);
		if (json_is_object(v) && json_object_get(v, DIRECTIVE)) {
			i++;
			continue;
		}
		if (key && (!element_id(v, key) || !element_id(o, key)))
			return path_fail(e, p,
					 "an element has no merge key \"%s\"",
					 key);
		if (value_equal(element_id(v, key), element_id(o, key)))
			i++;
		j++;
	}
	/* what is left must be directives: $patch elements go anywhere */
	for (; i < n; i++) {
		v = json_array_get(pv, i);
		if (!json_is_object(v) || !json_object_get(v, DIRECTIVE))
			return path_fail(e, p,
					 "list not in $setElementOrder's order");
	}
	return 0;
}

/*
 * "$setElementOrder/FIELD": FIELD is merged (if the patch has it) and then
 * ordered as the directive lists its elements, the elements that only the
 * document has keeping their place among them.
 */
static int apply_element_order(struct perr *e, json_t *res,
			       const json_t *patch, const char *field,
			       const json_t *order, const struct spath *up)
{
	const struct spath p = { field, up };
	const json_t *pv = json_object_get(patch, field);
	json_t *ov = json_object_get(res, field);
	const struct merge_list *ml = merge_list_of(&p);
	const char *key = ml ? ml->key : NULL;
	json_t *merged, *sorted, *server = NULL;
	int kind;

	if (!json_is_array(order))
		return path_fail(e, &p, "$setElementOrder must be a list");
	if ((ov && !json_is_array(ov)) || (pv && !json_is_array(pv)))
		return path_fail(e, &p,
				 "$setElementOrder names a field that is not a list");
	kind = list_kind(e, ov, pv, &p);
	if (kind == -EINVAL || check_element_order(e, pv, order, key, &p))
		return -EINVAL;
	if (!ov && !pv)
		return 0;
	if (pv && ov && key && kind == JSON_OBJECT) {
		merged = merge_maps(e, ov, pv, key, &p, &server);
	} else {
		merged = pv ? smp_list(e, ov, pv, &p) : json_incref(ov);
		server = json_incref(ov);
	}
	if (!merged)
		return -EINVAL;
	sorted = order_list(e, merged, order, server, key, &p);
	json_decref(server);
	json_decref(merged);
	if (!sorted)
		return -EINVAL;
	return json_object_set_new(res, field, sorted) ? nomem(e) : 0;
}

/* Lists that a "$setElementOrder/FIELD" took care of are done. */
static bool has_element_order(const json_t *patch, const char *field)
{
	const char *key, *f;
	json_t *v;

	json_object_foreach((json_t *)patch, key, v) {
		f = directive_field(key, SET_ELEMENT_ORDER);
		if (f && !strcmp(f, field))
			return true;
	}
	return false;
}

/* "$deleteFromPrimitiveList/FIELD": these values leave the list FIELD. */
static int delete_from_list(struct perr *e, json_t *res, const char *field,
			    const json_t *values, const struct spath *up)
{
	const struct spath p = { field, up };
	json_t *list = json_object_get(res, field), *kept, *v;
	size_t i;

	if (!json_is_array(values))
		return path_fail(e, &p,
				 "$deleteFromPrimitiveList must be a list");
	if (!json_is_array(list))
		return 0;	/* nothing to delete from */
	if (list_kind(e, list, values, &p) == -EINVAL)
		return -EINVAL;
	kept = json_array();
	if (!kept)
		return nomem(e);
	for (i = 0; i < json_array_size(list); i++) {
		v = json_array_get(list, i);
		if (index_of(values, v, NULL) >= 0)
			continue;
		if (json_array_append(kept, v)) {
			json_decref(kept);
			return nomem(e);
		}
	}
	return json_object_set_new(res, field, kept) ? nomem(e) : 0;
}

/* One member of a patch map, merged into the map @res. */
static int merge_member(struct perr *e, json_t *res, const json_t *patch,
			const char *key, const json_t *v,
			const struct spath *up)
{
	const struct spath p = { key, up };
	const char *field;
	json_t *cur, *merged;

	field = directive_field(key, DELETE_FROM_LIST);
	if (field)
		return delete_from_list(e, res, field, v, up);
	if (is_directive(key) || has_element_order(patch, key))
		return 0;
	if (json_is_null(v)) {
		json_object_del(res, key);
		return 0;
	}
	cur = json_object_get(res, key);
	if (json_is_object(cur) && json_is_object(v))
		merged = smp_map(e, json_incref(cur), v, &p);
	else if (json_is_array(cur) && json_is_array(v))
		merged = smp_list(e, cur, v, &p);
	else
		merged = smp_fresh(e, v, &p);
	if (!merged)
		return -EINVAL;
	return json_object_set_new(res, key, merged) ? nomem(e) : 0;
}

/**
 * smp_map() - merge a patch map into a map, mergeMap of Kubernetes
 * @e: error
 * @res: the map to merge into, a reference that this takes
 * @patch: the patch map
 * @p: where the map is (NULL: the document)
 *
 * "$patch": "delete" makes the map empty, "$patch": "replace" makes it the
 * patch's; else "$retainKeys" first clears what it does not list, then the
 * "$setElementOrder" lists are merged and ordered, then every other member.
 *
 * Return: the merged map (@res, or a new one), or NULL having failed.
 */
static json_t *smp_map(struct perr *e, json_t *res, const json_t *patch,
		       const struct spath *p)
{
	int d = directive_of(e, patch, p);
	const char *key, *field;
	json_t *v;

	if (d == DIR_REPLACE || d == DIR_DELETE) {
		json_decref(res);
		res = json_object();
		if (!res) {
			nomem(e);
			return NULL;
		}
		if (d == DIR_DELETE)
			return res;
	}
	if (d < 0 || check_directives(e, patch, p) ||
	    apply_retain_keys(e, res, patch, p))
		goto fail;
	json_object_foreach((json_t *)patch, key, v) {
		field = directive_field(key, SET_ELEMENT_ORDER);
		if (field && apply_element_order(e, res, patch, field, v, p))
			goto fail;
	}
	json_object_foreach((json_t *)patch, key, v)
		if (merge_member(e, res, patch, key, v, p))
			goto fail;
	return res;
fail:
	json_decref(res);
	return NULL;
}

json_t *skiff_strategic_merge_patch(const json_t *doc, const json_t *patch,
				    char *err, size_t err_len)
{
	struct perr e = { err, err_len, false };
	json_t *res;

	if (!json_is_object(patch)) {
		fail(&e, "a strategic merge patch must be a JSON object");
		return NULL;
	}
	if (doc && !json_is_null(doc) && !json_is_object(doc)) {
		fail(&e, "a strategic merge patch applies to a JSON object");
		return NULL;
	}
	res = json_is_object(doc) ? json_deep_copy(doc) : json_object();
	if (!res) {
		nomem(&e);
		return NULL;
	}
	return smp_map(&e, res, patch, NULL);
}
