// SPDX-License-Identifier: GPL-2.0
/*
 * YAML to and from JSON (yaml.h says what is read how) on libyaml's event
 * API. Events rather than libyaml's document tree: the tree keeps every
 * node of the stream and shares aliased nodes, while events let us build
 * jansson values at once, give each alias its own copy and count what the
 * aliases expand to.
 */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>		/* libyaml's; ours is skiff_yaml.h */

#include "buf.h"
#include "skiff_yaml.h"

/* Deeper than any manifest; keeps jansson's recursive free off the cliff. */
#define MAX_DEPTH 1000
/* A manifest or kubeconfig is small; this bounds what a typo can read. */
#define MAX_FILE (64 << 20)

#define YAML_STR_TAG "tag:yaml.org,2002:str"
#define YAML_TAG_PREFIX "tag:yaml.org,2002:"

/* One collection being filled. */
struct frame {
	json_t *node;		/* the object or array */
	char *anchor;		/* its anchor: registered once it is complete */
	size_t start;		/* nodes seen before it, to size the anchor */
	json_t *key;		/* an object's pending key (a string) */
	bool merge;		/* the pending key is << */
	json_t *merges;		/* mappings merged in by <<, in order */
	json_t *lines;		/* key -> the line it was written on */
};

struct parser {
	yaml_parser_t yp;
	struct skiff_error *e;
	struct frame stack[MAX_DEPTH];
	size_t depth;
	json_t *anchors;	/* name -> [value, node count], this document's */
	json_t *root;		/* the document's value once complete */
	size_t nodes;		/* written in the text */
	size_t aliased;		/* expanded from aliases */
};

static int fail(struct parser *p, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, const yaml_mark_t *m, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return skiff_error_set(p->e, -EINVAL, "line %zu, column %zu: %s",
			       m->line + 1, m->column + 1, what);
}

static int nomem(struct parser *p)
{
	return skiff_error_set(p->e, -ENOMEM, "out of memory");
}

/* ---- scalars ------------------------------------------------------------ */

static bool word_in(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (!strcmp(s, *words))
			return true;
	return false;
}

static const char *const null_words[] = { "", "~", "null", "Null", "NULL", NULL };
static const char *const true_words[] = { "true", "True", "TRUE", NULL };
static const char *const false_words[] = { "false", "False", "FALSE", NULL };

/* What YAML 1.1 readers (kubectl's) take for booleans: quoted when written. */
static const char *const yaml11_words[] = {
	"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
	"on", "On", "ON", "off", "Off", "OFF", "<<", "=", NULL,
};

static bool all_digits(const char *s, const char *digits)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(digits, *s))
			return false;
	return true;
}

/*
 * Decimal, 0x hex, 0o and leading-0 octal (YAML 1.1 and Go's base 0, as
 * kubectl reads file modes), 0b binary; optional sign. False when @s is
 * not one or does not fit in 64 bits.
 */
static bool parse_int(const char *s, json_int_t *out)
{
	const char *digits = "0123456789";
	unsigned long long mag;
	bool neg = false;
	int base = 10;
	char *end;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		digits = "0123456789abcdefABCDEF";
		s += 2;
	} else if (s[0] == '0' && s[1] == 'o') {
		base = 8;
		s += 2;
	} else if (s[0] == '0' && s[1] == 'b') {
		base = 2;
		s += 2;
	} else if (s[0] == '0' && s[1]) {
		base = 8;
		s++;
	}
	if (base == 8)
		digits = "01234567";
	else if (base == 2)
		digits = "01";
	if (!all_digits(s, digits))
		return false;
	errno = 0;
	mag = strtoull(s, &end, base);
	if (errno || *end)
		return false;
	if (neg) {
		if (mag > (unsigned long long)INT64_MAX + 1)
			return false;
		*out = mag == (unsigned long long)INT64_MAX + 1 ? INT64_MIN :
			-(json_int_t)mag;
	} else {
		if (mag > INT64_MAX)
			return false;
		*out = (json_int_t)mag;
	}
	return true;
}

/* [-+]? ( \.[0-9]+ | [0-9]+ (\.[0-9]*)? ) ([eE][-+]?[0-9]+)?, the core schema's. */
static bool float_syntax(const char *s)
{
	size_t n;

	if (*s == '-' || *s == '+')
		s++;
	n = strspn(s, "0123456789");
	s += n;
	if (*s == '.') {
		s++;
		if (!n && !isdigit((unsigned char)*s))
			return false;
		s += strspn(s, "0123456789");
	} else if (!n) {
		return false;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!isdigit((unsigned char)*s))
			return false;
		s += strspn(s, "0123456789");
	}
	return !*s;
}

static bool inf_or_nan(const char *s)
{
	static const char *const words[] = {
		".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN", NULL,
	};

	if ((*s == '-' || *s == '+') && s[1] == '.' && tolower(s[2]) == 'i')
		s++;
	return word_in(s, words);
}

/*
 * The JSON value of a plain scalar: *@out, a new reference (NULL when out
 * of memory); -ERANGE for .inf and .nan, which JSON cannot hold.
 */
static int resolve_plain(const char *s, json_t **out)
{
	json_int_t i;
	double d;
	char *end;

	if (word_in(s, null_words)) {
		*out = json_null();
	} else if (word_in(s, true_words)) {
		*out = json_true();
	} else if (word_in(s, false_words)) {
		*out = json_false();
	} else if (parse_int(s, &i)) {
		*out = json_integer(i);
	} else if (inf_or_nan(s)) {
		return -ERANGE;
	} else if (float_syntax(s)) {
		errno = 0;
		d = strtod(s, &end);
		/* Too big to be a number, as Go's ParseFloat says: a string. */
		*out = errno == ERANGE && isinf(d) ? json_string(s) : json_real(d);
	} else {
		*out = json_string(s);
	}
	return 0;
}

/* A scalar with an explicit tag: !!str "1" is a string, !!int "1" is 1. */
static json_t *tagged_scalar(struct parser *p, const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *want;
	json_t *v = NULL;

	if (!strcmp(tag, "!") || !strcmp(tag, YAML_STR_TAG) ||
	    !strcmp(tag, YAML_TAG_PREFIX "binary") ||
	    !strcmp(tag, YAML_TAG_PREFIX "timestamp")) {
		v = json_stringn(text, len);
		if (!v)
			nomem(p);
		return v;
	}
	if (strncmp(tag, YAML_TAG_PREFIX, strlen(YAML_TAG_PREFIX))) {
		fail(p, &ev->start_mark, "unknown tag %s", tag);
		return NULL;
	}
	want = tag + strlen(YAML_TAG_PREFIX);
	if (strlen(text) != len || resolve_plain(text, &v)) {
		v = NULL;
	} else if (!strcmp(want, "float") && json_is_integer(v)) {
		json_t *r = json_real((double)json_integer_value(v));

		json_decref(v);
		v = r;
	}
	if (v && ((!strcmp(want, "null") && json_is_null(v)) ||
		  (!strcmp(want, "bool") && json_is_boolean(v)) ||
		  (!strcmp(want, "int") && json_is_integer(v)) ||
		  (!strcmp(want, "float") && json_is_real(v))))
		return v;
	json_decref(v);
	fail(p, &ev->start_mark, "cannot read \"%.60s\" as !!%s", text, want);
	return NULL;
}

static json_t *scalar_value(struct parser *p, const yaml_event_t *ev)
{
	const char *text = (const char *)ev->data.scalar.value;
	json_t *v = NULL;

	if (ev->data.scalar.tag)
		return tagged_scalar(p, ev);
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		v = json_stringn(text, ev->data.scalar.length);
	} else if (resolve_plain(text, &v)) {
		fail(p, &ev->start_mark, "%s cannot be a JSON number", text);
		return NULL;
	}
	if (!v)
		nomem(p);
	return v;
}

/* ---- building ----------------------------------------------------------- */

static struct frame *top(struct parser *p)
{
	return p->depth ? &p->stack[p->depth - 1] : NULL;
}

/* A scalar key's text: "1", "true" for numbers and booleans, as kubectl. */
static json_t *key_text(json_t *v)
{
	char num[40];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_incref(v);
	case JSON_INTEGER:
		return json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		return json_string(num);
	case JSON_TRUE:
		return json_string("true");
	case JSON_FALSE:
		return json_string("false");
	default:
		return NULL;
	}
}

#define DUPLICATE_KEY "mapping key \"%.60s\" already defined at line %" JSON_INTEGER_FORMAT

/* @v (taken) is the key of the next pair of @f. */
static int set_key(struct parser *p, struct frame *f, json_t *v,
		   const yaml_mark_t *m, bool merge_key)
{
	const json_t *line;
	json_t *key;

	if (merge_key) {
		json_decref(v);
		f->merge = true;
		f->key = json_string("<<");
		return f->key ? 0 : nomem(p);
	}
	if (json_is_null(v) || json_is_object(v) || json_is_array(v)) {
		json_decref(v);
		return fail(p, m, "a mapping key must be a string, not %s",
			    json_is_null(v) ? "null" : "a collection");
	}
	key = key_text(v);
	json_decref(v);
	if (!key)
		return nomem(p);
	line = json_object_getn(f->lines, json_string_value(key),
				json_string_length(key));
	if (line) {
		fail(p, m, DUPLICATE_KEY, json_string_value(key),
		     json_integer_value(line));
		json_decref(key);
		return -EINVAL;
	}
	if (json_object_setn_new(f->lines, json_string_value(key),
				 json_string_length(key),
				 json_integer((json_int_t)m->line + 1))) {
		json_decref(key);
		return nomem(p);
	}
	f->key = key;
	return 0;
}

/* `<<: *base` or `<<: [*a, *b]`: remembered, applied when the mapping ends. */
static int add_merge(struct parser *p, struct frame *f, json_t *v,
		     const yaml_mark_t *m)
{
	json_t *item;
	size_t i;
	int err = 0;

	if (json_is_object(v)) {
		err = json_array_append(f->merges, v);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item) {
			if (!json_is_object(item))
				break;
			err |= json_array_append(f->merges, item);
		}
		if (i < json_array_size(v))
			err = 1;
	} else {
		err = 1;
	}
	json_decref(v);
	if (err)
		return fail(p, m, "the merge key << wants a mapping or a list of mappings");
	return 0;
}

/* @v (taken) goes into the collection being built, or is the document. */
static int add(struct parser *p, json_t *v, const yaml_mark_t *m,
	       bool merge_key)
{
	struct frame *f = top(p);
	json_t *key;
	int err;

	if (!f) {
		p->root = v;
		return 0;
	}
	if (json_is_array(f->node))
		return json_array_append_new(f->node, v) ? nomem(p) : 0;
	if (!f->key)
		return set_key(p, f, v, m, merge_key);
	key = f->key;
	f->key = NULL;
	if (f->merge) {
		f->merge = false;
		json_decref(key);
		return add_merge(p, f, v, m);
	}
	err = json_object_setn_new(f->node, json_string_value(key),
				   json_string_length(key), v);
	json_decref(key);
	return err ? nomem(p) : 0;
}

static int push(struct parser *p, json_t *node, const yaml_char_t *anchor,
		const yaml_mark_t *m)
{
	struct frame *f = top(p);

	if (!node)
		return nomem(p);
	if (f && json_is_object(f->node) && !f->key) {
		json_decref(node);
		return fail(p, m, "a mapping key must be a string, not a collection");
	}
	if (p->depth == MAX_DEPTH) {
		json_decref(node);
		return fail(p, m, "nested deeper than %d levels", MAX_DEPTH);
	}
	f = &p->stack[p->depth++];
	memset(f, 0, sizeof(*f));
	f->node = node;
	f->start = p->nodes + p->aliased;
	p->nodes++;
	f->anchor = anchor ? strdup((const char *)anchor) : NULL;
	if (json_is_object(node)) {
		f->merges = json_array();
		f->lines = json_object();
	}
	if ((anchor && !f->anchor) ||
	    (json_is_object(node) && (!f->merges || !f->lines)))
		return nomem(p);
	return 0;
}

static void frame_free(struct frame *f)
{
	json_decref(f->node);
	json_decref(f->key);
	json_decref(f->merges);
	json_decref(f->lines);
	free(f->anchor);
}

static int remember(struct parser *p, const char *anchor, json_t *v,
		    size_t count)
{
	json_t *entry = json_pack("[O,I]", v, (json_int_t)count);

	if (!entry || json_object_set_new(p->anchors, anchor, entry))
		return nomem(p);
	return 0;
}

/* The length of a key json_object_foreach gave (keys may hold a NUL). */
static size_t key_len(const char *k)
{
	return json_object_iter_key_len(json_object_key_to_iter(k));
}

static void apply_merges(json_t *node, const json_t *merges)
{
	const json_t *src;
	const char *k;
	json_t *v;
	size_t i;

	/* Keys written in the mapping win, then earlier merged mappings. */
	json_array_foreach(merges, i, src) {
		json_object_foreach((json_t *)src, k, v)
			if (!json_object_getn(node, k, key_len(k)))
				json_object_setn(node, k, key_len(k), v);
	}
}

static int pop(struct parser *p, const yaml_mark_t *m)
{
	struct frame f = p->stack[--p->depth];
	json_t *node = f.node;
	int err = 0;

	if (json_is_object(node))
		apply_merges(node, f.merges);
	if (f.anchor)
		err = remember(p, f.anchor, node, p->nodes + p->aliased - f.start);
	f.node = NULL;
	frame_free(&f);
	if (err) {
		json_decref(node);
		return err;
	}
	return add(p, node, m, false);
}

static bool anchor_open(struct parser *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->depth; i++)
		if (p->stack[i].anchor && !strcmp(p->stack[i].anchor, name))
			return true;
	return false;
}

static int on_alias(struct parser *p, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const json_t *entry = json_object_get(p->anchors, name);
	json_t *copy;

	if (!entry && anchor_open(p, name))
		return fail(p, &ev->start_mark, "anchor '%.60s' value contains itself", name);
	if (!entry)
		return fail(p, &ev->start_mark, "unknown anchor '%.60s' referenced", name);
	p->aliased += json_integer_value(json_array_get(entry, 1));
	if (p->aliased > SKIFF_YAML_ALIAS_FREE &&
	    p->aliased > SKIFF_YAML_ALIAS_RATIO * p->nodes)
		return fail(p, &ev->start_mark, "document contains excessive aliasing");
	copy = json_deep_copy(json_array_get(entry, 0));
	if (!copy)
		return nomem(p);
	return add(p, copy, &ev->start_mark, false);
}

static int on_scalar(struct parser *p, const yaml_event_t *ev)
{
	const char *anchor = (const char *)ev->data.scalar.anchor;
	bool merge_key;
	json_t *v;

	v = scalar_value(p, ev);
	if (!v)
		return p->e->err;
	p->nodes++;
	if (anchor && remember(p, anchor, v, 1)) {
		json_decref(v);
		return -ENOMEM;
	}
	merge_key = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    !ev->data.scalar.tag && !strcmp((const char *)ev->data.scalar.value, "<<");
	return add(p, v, &ev->start_mark, merge_key);
}

static int parse_error(struct parser *p)
{
	const yaml_parser_t *yp = &p->yp;
	char context[120] = "";

	if (yp->error == YAML_MEMORY_ERROR)
		return nomem(p);
	if (yp->error == YAML_READER_ERROR)
		return skiff_error_set(p->e, -EINVAL, "byte %zu: %s",
				       yp->problem_offset, yp->problem ?: "unreadable");
	if (yp->context)
		snprintf(context, sizeof(context), " (%s at line %zu, column %zu)",
			 yp->context, yp->context_mark.line + 1,
			 yp->context_mark.column + 1);
	return fail(p, &yp->problem_mark, "%s%s", yp->problem ?: "not YAML", context);
}

/* One event: 0, 1 at the end of the stream, or -errno. */
static int on_event(struct parser *p, const yaml_event_t *ev, json_t *docs,
		    bool one)
{
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		json_object_clear(p->anchors);
		p->nodes = 0;
		p->aliased = 0;
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		if (!p->root || json_is_null(p->root)) {
			json_decref(p->root);
			p->root = NULL;
			return 0;
		}
		if (one && json_array_size(docs)) {
			json_decref(p->root);
			p->root = NULL;
			return fail(p, &ev->start_mark,
				    "more than one document where one was expected");
		}
		if (json_array_append_new(docs, p->root)) {
			p->root = NULL;
			return nomem(p);
		}
		p->root = NULL;
		return 0;
	case YAML_SCALAR_EVENT:
		return on_scalar(p, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(p, ev);
	case YAML_SEQUENCE_START_EVENT:
		if (ev->data.sequence_start.tag &&
		    strcmp((const char *)ev->data.sequence_start.tag, YAML_TAG_PREFIX "seq"))
			return fail(p, &ev->start_mark, "unknown tag %s",
				    ev->data.sequence_start.tag);
		return push(p, json_array(), ev->data.sequence_start.anchor,
			    &ev->start_mark);
	case YAML_MAPPING_START_EVENT:
		if (ev->data.mapping_start.tag &&
		    strcmp((const char *)ev->data.mapping_start.tag, YAML_TAG_PREFIX "map"))
			return fail(p, &ev->start_mark, "unknown tag %s",
				    ev->data.mapping_start.tag);
		return push(p, json_object(), ev->data.mapping_start.anchor,
			    &ev->start_mark);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return pop(p, &ev->start_mark);
	default:
		return 0;
	}
}

static json_t *load(const char *text, size_t len, bool one,
		    struct skiff_error *e)
{
	struct parser *p = calloc(1, sizeof(*p));
	json_t *docs = json_array();
	yaml_event_t ev;
	int r = 0;

	skiff_error_clear(e);
	if (!p || !docs || !yaml_parser_initialize(&p->yp)) {
		free(p);
		json_decref(docs);
		skiff_error_set(e, -ENOMEM, "out of memory");
		return NULL;
	}
	p->e = e;
	p->anchors = json_object();
	if (!p->anchors)
		r = nomem(p);
	yaml_parser_set_input_string(&p->yp, (const unsigned char *)text, len);
	while (!r) {
		if (!yaml_parser_parse(&p->yp, &ev)) {
			r = parse_error(p);
			break;
		}
		r = on_event(p, &ev, docs, one);
		yaml_event_delete(&ev);
	}
	while (p->depth)
		frame_free(&p->stack[--p->depth]);
	json_decref(p->root);
	json_decref(p->anchors);
	yaml_parser_delete(&p->yp);
	free(p);
	if (r < 0) {
		json_decref(docs);
		return NULL;
	}
	return docs;
}

json_t *skiff_yaml_load(const char *text, size_t len, struct skiff_error *e)
{
	json_t *docs = load(text, len, true, e), *doc;

	if (!docs)
		return NULL;
	doc = json_array_size(docs) ? json_incref(json_array_get(docs, 0)) : json_null();
	json_decref(docs);
	return doc;
}

json_t *skiff_yaml_load_all(const char *text, size_t len,
			    struct skiff_error *e)
{
	return load(text, len, false, e);
}

json_t *skiff_yaml_load_file(const char *path, int all, struct skiff_error *e)
{
	struct skiff_buf b = { 0 };
	char what[sizeof(e->msg)];
	json_t *v = NULL;
	int err;

	err = skiff_buf_read_file(&b, path, MAX_FILE);
	if (err == -EFBIG)
		skiff_error_set(e, err, "%s: larger than %d MiB", path, MAX_FILE >> 20);
	else if (err == -ENOMEM)
		skiff_error_set(e, err, "%s: out of memory", path);
	else if (err)
		skiff_error_set(e, err, "%s: %s", path, strerror(-err));
	if (err)
		goto out;
	v = all ? skiff_yaml_load_all(b.data, b.len, e) : skiff_yaml_load(b.data, b.len, e);
	if (!v) {
		snprintf(what, sizeof(what), "%s", e->msg);
		skiff_error_set(e, e->err, "%s: %s", path, what);
	}
out:
	free(b.data);
	return v;
}

/* ---- writing ------------------------------------------------------------ */

/* Would @s, written plain, read as anything but this string here or in kubectl? */
static bool needs_quotes(const char *s, size_t len)
{
	json_t *v = NULL;
	bool string;

	if (!len || strlen(s) != len || word_in(s, yaml11_words))
		return true;
	/* Numbers in any YAML's words (1_000, 1:30, 012, 2026-01-01...). */
	if (isdigit((unsigned char)s[0]) ||
	    (strchr("+-.", s[0]) && (isdigit((unsigned char)s[1]) || s[1] == '.')))
		return true;
	if (resolve_plain(s, &v))
		return true;
	string = json_is_string(v);
	json_decref(v);
	return !string;
}

static int emit(yaml_emitter_t *em, yaml_event_t *ev, int ok)
{
	return ok && yaml_emitter_emit(em, ev) ? 0 : -1;
}

static int emit_scalar(yaml_emitter_t *em, const char *text, size_t len,
		       yaml_scalar_style_t style)
{
	yaml_event_t ev;

	if (len > INT_MAX)
		return -1;
	return emit(em, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL,
							  (yaml_char_t *)text, (int)len,
							  1, 1, style));
}

static int emit_string(yaml_emitter_t *em, const char *s, size_t len)
{
	yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;

	/* libyaml falls back to double quotes where a block cannot say it. */
	if (memchr(s, '\n', len))
		style = YAML_LITERAL_SCALAR_STYLE;
	else if (needs_quotes(s, len))
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	return emit_scalar(em, s, len, style);
}

/* The shortest text strtod reads back as @d, always with a . or an e. */
static void format_real(double d, char *out, size_t size)
{
	char *e;
	int prec;

	for (prec = 15; prec <= 17; prec++) {
		snprintf(out, size, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			break;
	}
	/* 1.0e+100, not 1e+100: a YAML 1.1 float needs its point. */
	e = strchr(out, 'e');
	if (!strchr(out, '.') && strlen(out) + 3 <= size) {
		if (e) {
			memmove(e + 2, e, strlen(e) + 1);
			memcpy(e, ".0", 2);
		} else {
			strcat(out, ".0");
		}
	}
}

static int emit_value(yaml_emitter_t *em, const json_t *v)
{
	char num[48];
	yaml_event_t ev;
	const char *k;
	json_t *item;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (emit(em, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
								      YAML_BLOCK_MAPPING_STYLE)))
			return -1;
		json_object_foreach((json_t *)v, k, item) {
			if (emit_string(em, k, key_len(k)) || emit_value(em, item))
				return -1;
		}
		return emit(em, &ev, yaml_mapping_end_event_initialize(&ev));
	case JSON_ARRAY:
		if (emit(em, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
								       YAML_BLOCK_SEQUENCE_STYLE)))
			return -1;
		json_array_foreach(v, i, item)
			if (emit_value(em, item))
				return -1;
		return emit(em, &ev, yaml_sequence_end_event_initialize(&ev));
	case JSON_STRING:
		return emit_string(em, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return emit_scalar(em, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
	case JSON_REAL:
		format_real(json_real_value(v), num, sizeof(num));
		return emit_scalar(em, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
	case JSON_TRUE:
		return emit_scalar(em, "true", 4, YAML_PLAIN_SCALAR_STYLE);
	case JSON_FALSE:
		return emit_scalar(em, "false", 5, YAML_PLAIN_SCALAR_STYLE);
	case JSON_NULL:
		return emit_scalar(em, "null", 4, YAML_PLAIN_SCALAR_STYLE);
	}
	return -1;
}

static int write_out(void *arg, unsigned char *data, size_t size)
{
	return skiff_buf_add(arg, data, size) ? 0 : 1;
}

char *skiff_yaml_dump(const json_t *json)
{
	struct skiff_buf out = { 0 };
	yaml_emitter_t em;
	yaml_event_t ev;
	int err;

	if (!json || !yaml_emitter_initialize(&em))
		return NULL;
	yaml_emitter_set_output(&em, write_out, &out);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_indent(&em, 2);
	/* No folding of long lines: a certificate's base64 stays one line. */
	yaml_emitter_set_width(&em, -1);
	yaml_emitter_set_break(&em, YAML_LN_BREAK);
	err = emit(&em, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING)) ||
	      emit(&em, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1)) ||
	      emit_value(&em, json) ||
	      emit(&em, &ev, yaml_document_end_event_initialize(&ev, 1)) ||
	      emit(&em, &ev, yaml_stream_end_event_initialize(&ev));
	yaml_emitter_delete(&em);
	if (err) {
		free(out.data);
		return NULL;
	}
	return out.data;
}
