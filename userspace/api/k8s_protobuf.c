// SPDX-License-Identifier: GPL-2.0
/*
 * Kubernetes protobuf to JSON (see k8s_protobuf.h).
 *
 * The wire format is read here, against the tables of k8s_schema.c,
 * rather than by protobuf-c: the output is not C structs but JSON whose
 * shape depends on facts no .proto file holds (omitempty, pointer or
 * value, inline structs, the special forms of Time, IntOrString and the
 * like), which the tables carry next to the field numbers; and an unknown
 * field must be an error where protobuf-c keeps it aside silently. The
 * reader is small: varints and length-delimited fields, every length
 * checked against what is left of its message, nesting and output size
 * bounded.
 *
 * Protobuf semantics kept: fields in any order; the last of a repeated
 * scalar wins; several occurrences of a message field merge (decoded as
 * the concatenation of their bytes, which is what merging means);
 * repeated scalars packed or not.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "k8s_protobuf.h"
#include "k8s_schema.h"

static const char k8s_magic[4] = { 'k', '8', 's', '\0' };

/* Where the decoder is, for error messages: spec.containers[0].ports. */
struct path_elem {
	const char *name;	/* NULL: the root, or an inline struct */
	long index;		/* in a list or map, else -1 */
};

struct decoder {
	char *err;
	size_t err_len;
	bool failed;
	unsigned int depth;
	/* JSON values still allowed: bounds memory to the body's size. */
	size_t budget;
	struct path_elem path[K8S_PROTOBUF_MAX_DEPTH + 1];
};

/* What the wire held for one field of a message being decoded. */
struct slot {
	bool seen;
	uint64_t num;		/* varint */
	const uint8_t *data;	/* length-delimited: the last, or all merged */
	size_t len;
	uint8_t *own;		/* several occurrences merged */
	size_t cap;
	json_t *list;		/* K8S_REPEATED: array, K8S_MAP: object */
};

struct reader {
	const uint8_t *p;
	const uint8_t *end;
};

static json_t *decode_message(struct decoder *d, const struct k8s_message *m,
			      const uint8_t *buf, size_t len,
			      const char *name, long index);
static json_t *decode_envelope(struct decoder *d, const uint8_t *buf,
			       size_t len);

static void fail(struct decoder *d, const struct k8s_message *m,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(struct decoder *d, const struct k8s_message *m,
		 const char *fmt, ...)
{
	char path[256], text[256];
	size_t n = 0;
	unsigned int i;
	va_list ap;

	if (d->failed)
		return;
	d->failed = true;
	path[0] = '\0';
	for (i = 0; i < d->depth && n < sizeof(path); i++) {
		const struct path_elem *e = &d->path[i];

		if (e->name)
			n += snprintf(path + n, sizeof(path) - n, "%s%s",
				      n ? "." : "", e->name);
		if (e->index >= 0 && n < sizeof(path))
			n += snprintf(path + n, sizeof(path) - n, "[%ld]",
				      e->index);
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!d->err_len)
		return;
	if (m && path[0])
		snprintf(d->err, d->err_len, "%s at %s: %s", m->name, path,
			 text);
	else if (m)
		snprintf(d->err, d->err_len, "%s: %s", m->name, text);
	else
		snprintf(d->err, d->err_len, "%s", text);
}

/* One more JSON value; false (and an error) once the budget is spent. */
static bool spend(struct decoder *d, const struct k8s_message *m)
{
	if (d->budget) {
		d->budget--;
		return true;
	}
	fail(d, m, "the decoded object is too large for a body of this size");
	return false;
}

/* ---- the wire format ------------------------------------------------- */

enum { READ_OK, READ_TRUNCATED, READ_OVERLONG };

/* A varint of at most 10 bytes; bits past the 64th are dropped, as Go does. */
static int read_varint(struct reader *r, uint64_t *v)
{
	uint64_t x = 0;
	unsigned int shift;

	for (shift = 0; shift < 70; shift += 7) {
		uint8_t b;

		if (r->p == r->end)
			return READ_TRUNCATED;
		b = *r->p++;
		if (shift < 64)
			x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return READ_OK;
		}
	}
	return READ_OVERLONG;
}

static const char *const wire_names[8] = {
	"varint", "64-bit", "length-delimited", "group start", "group end",
	"32-bit", "6 (invalid)", "7 (invalid)",
};

static const char *field_name(const struct k8s_field *f)
{
	return f->json ? f->json : "(inline)";
}

static bool is_varint_type(const struct k8s_field *f)
{
	return f->type == K8S_BOOL || f->type == K8S_INT32 ||
	       f->type == K8S_INT64;
}

static const struct k8s_field *find_field(const struct k8s_message *m,
					  uint64_t number)
{
	unsigned int i;

	for (i = 0; i < m->nfields; i++)
		if (m->fields[i].number == number)
			return &m->fields[i];
	return NULL;
}

static bool utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		uint32_t cp;
		size_t n, k;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* overlong forms, surrogates, past U+10FFFF */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += n + 1;
	}
	return true;
}

/* ---- JSON values ------------------------------------------------------- */

static json_t *string_json(struct decoder *d, const struct k8s_message *m,
			   const struct k8s_field *f, const uint8_t *p,
			   size_t len)
{
	json_t *v;

	if (!p)
		p = (const uint8_t *)"";
	if (!utf8_valid(p, len)) {
		fail(d, m, "field %u (%s) is not valid UTF-8", f->number,
		     field_name(f));
		return NULL;
	}
	v = json_stringn_nocheck((const char *)p, len);
	if (!v)
		fail(d, m, "out of memory");
	return v;
}

static json_t *base64_json(struct decoder *d, const struct k8s_message *m,
			   const uint8_t *p, size_t len)
{
	json_t *v = skiff_base64_json(p, len);

	if (!v)
		fail(d, m, "cannot encode %zu bytes in base64", len);
	return v;
}

/* A scalar field's value, or its zero value when it was not on the wire. */
static json_t *scalar_json(struct decoder *d, const struct k8s_message *m,
			   const struct k8s_field *f, const struct slot *s)
{
	json_t *v = NULL;

	if (!spend(d, m))
		return NULL;
	switch (f->type) {
	case K8S_BOOL:
		v = json_boolean(s->seen && s->num);
		break;
	case K8S_INT32:
		v = json_integer(s->seen ? (int32_t)(uint32_t)s->num : 0);
		break;
	case K8S_INT64:
		v = json_integer(s->seen ? (int64_t)s->num : 0);
		break;
	case K8S_STRING:
		return string_json(d, m, f, s->seen ? s->data : NULL,
				   s->seen ? s->len : 0);
	case K8S_BYTES:
		return base64_json(d, m, s->data, s->seen ? s->len : 0);
	}
	if (!v)
		fail(d, m, "out of memory");
	return v;
}

static bool scalar_is_zero(const struct k8s_field *f, const struct slot *s)
{
	if (!s->seen)
		return true;
	switch (f->type) {
	case K8S_INT32:
		return (uint32_t)s->num == 0;
	case K8S_BOOL:
	case K8S_INT64:
		return s->num == 0;
	default:
		return s->len == 0;
	}
}

static bool put(struct decoder *d, const struct k8s_message *m, json_t *obj,
		const char *key, json_t *v)
{
	if (json_object_set_new(obj, key, v)) {
		fail(d, m, "out of memory");
		return false;
	}
	return true;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Go writes map keys sorted: the same object with its keys in that order. */
static json_t *sorted_object(json_t *obj)
{
	size_t n = json_object_size(obj), i = 0;
	const char **keys;
	const char *key;
	json_t *out, *v;

	if (n < 2)
		return json_incref(obj);
	keys = calloc(n, sizeof(*keys));
	out = json_object();
	if (!keys || !out)
		goto fail;
	json_object_foreach(obj, key, v)
		keys[i++] = key;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 0; i < n; i++)
		if (json_object_set(out, keys[i], json_object_get(obj, keys[i])))
			goto fail;
	free(keys);
	return out;
fail:
	free(keys);
	json_decref(out);
	return NULL;
}

/* ---- messages ------------------------------------------------------------ */

static void release_slots(struct slot *slots, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		free(slots[i].own);
		json_decref(slots[i].list);
	}
	free(slots);
}

/* A message field seen again: protobuf merges, i.e. concatenates. */
static bool merge_segment(struct decoder *d, const struct k8s_message *m,
			  struct slot *s, const uint8_t *p, size_t len)
{
	if (!s->seen) {
		s->seen = true;
		s->data = p;
		s->len = len;
		return true;
	}
	if (!len)
		return true;
	if (s->len + len > s->cap) {
		size_t cap = s->cap ? s->cap : 64;
		uint8_t *own;

		while (cap < s->len + len)
			cap *= 2;
		own = realloc(s->own, cap);
		if (!own) {
			fail(d, m, "out of memory");
			return false;
		}
		if (!s->own && s->len)
			memcpy(own, s->data, s->len);
		s->own = own;
		s->cap = cap;
	}
	memcpy(s->own + s->len, p, len);
	s->len += len;
	s->data = s->own;
	return true;
}

static json_t *entry_value(struct decoder *d, const struct k8s_message *em,
			   const struct k8s_field *f, const struct slot *s,
			   const char *name, long index)
{
	if (f->type == K8S_MESSAGE)
		return decode_message(d, &k8s_messages[f->message],
				      s->seen ? s->data : NULL,
				      s->seen ? s->len : 0, name, index);
	return scalar_json(d, em, f, s);
}

static bool scan(struct decoder *d, const struct k8s_message *m,
		 const uint8_t *buf, size_t len, struct slot *slots);

/* One entry of a map field: key 1, value 2. */
static bool map_entry(struct decoder *d, const struct k8s_message *m,
		      const struct k8s_field *f, const uint8_t *p, size_t len,
		      json_t *obj)
{
	const struct k8s_message *em = &k8s_messages[f->message];
	const struct k8s_field *kf = find_field(em, 1), *vf = find_field(em, 2);
	long index = (long)json_object_size(obj);
	struct slot *slots;
	json_t *v = NULL;
	char *key = NULL;
	bool ok = false;

	if (!kf || !vf || kf->type != K8S_STRING) {
		fail(d, m, "field %u (%s): a map without string keys",
		     f->number, field_name(f));
		return false;
	}
	if (d->depth >= K8S_PROTOBUF_MAX_DEPTH) {
		fail(d, m, "nested deeper than %d messages",
		     K8S_PROTOBUF_MAX_DEPTH);
		return false;
	}
	slots = calloc(em->nfields, sizeof(*slots));
	if (!slots) {
		fail(d, m, "out of memory");
		return false;
	}
	d->path[d->depth++] = (struct path_elem){ f->json, index };
	if (!scan(d, em, p, len, slots))
		goto out;
	{
		const struct slot *ks = &slots[kf - em->fields];
		const struct slot *vs = &slots[vf - em->fields];
		size_t klen = ks->seen ? ks->len : 0;

		if (klen && (!utf8_valid(ks->data, klen) ||
			     memchr(ks->data, '\0', klen))) {
			fail(d, em, "a key that is not UTF-8 text");
			goto out;
		}
		key = strndup(ks->seen ? (const char *)ks->data : "", klen);
		if (!key) {
			fail(d, em, "out of memory");
			goto out;
		}
		v = entry_value(d, em, vf, vs, NULL, -1);
		if (!v)
			goto out;
	}
	d->depth--;
	ok = put(d, m, obj, key, v);
	free(key);
	release_slots(slots, em->nfields);
	return ok;
out:
	d->depth--;
	free(key);
	release_slots(slots, em->nfields);
	return false;
}

/* One length-delimited field of @m: a list element, map entry or value. */
static bool scan_bytes(struct decoder *d, const struct k8s_message *m,
		       const struct k8s_field *f, struct slot *s,
		       const uint8_t *p, size_t len)
{
	json_t *v;

	if (f->flags & K8S_MAP) {
		if (!s->list)
			s->list = json_object();
		if (!s->list) {
			fail(d, m, "out of memory");
			return false;
		}
		return map_entry(d, m, f, p, len, s->list);
	}
	if (!(f->flags & K8S_REPEATED)) {
		if (f->type == K8S_MESSAGE)
			return merge_segment(d, m, s, p, len);
		s->seen = true;
		s->data = p;
		s->len = len;
		return true;
	}
	if (!s->list) {
		s->list = json_array();
		if (!s->list) {
			fail(d, m, "out of memory");
			return false;
		}
	}
	if (f->type == K8S_MESSAGE) {
		v = decode_message(d, &k8s_messages[f->message], p, len,
				   f->json, (long)json_array_size(s->list));
	} else {
		struct slot one = { .seen = true, .data = p, .len = len };

		v = scalar_json(d, m, f, &one);
	}
	if (!v)
		return false;
	if (json_array_append_new(s->list, v)) {
		fail(d, m, "out of memory");
		return false;
	}
	return true;
}

/* A varint of a scalar field: the value, or one more element of a list. */
static bool scan_varint(struct decoder *d, const struct k8s_message *m,
			const struct k8s_field *f, struct slot *s, uint64_t v)
{
	struct slot one = { .seen = true, .num = v };
	json_t *jv;

	if (!(f->flags & K8S_REPEATED)) {
		s->seen = true;
		s->num = v;
		return true;
	}
	if (!s->list) {
		s->list = json_array();
		if (!s->list) {
			fail(d, m, "out of memory");
			return false;
		}
	}
	jv = scalar_json(d, m, f, &one);
	if (!jv)
		return false;
	if (json_array_append_new(s->list, jv)) {
		fail(d, m, "out of memory");
		return false;
	}
	return true;
}

/* Reads every field of one message into @slots (one per schema field). */
static bool scan(struct decoder *d, const struct k8s_message *m,
		 const uint8_t *buf, size_t len, struct slot *slots)
{
	struct reader r = { buf, buf + len };

	while (r.p < r.end) {
		const struct k8s_field *f;
		uint64_t key, v;
		unsigned int wire;
		int ret;

		ret = read_varint(&r, &key);
		if (ret != READ_OK) {
			fail(d, m, "%s field key",
			     ret == READ_TRUNCATED ? "truncated" : "overlong");
			return false;
		}
		wire = key & 7;
		f = find_field(m, key >> 3);
		if (!f) {
			fail(d, m, "unknown field %llu (wire type %s)",
			     (unsigned long long)(key >> 3), wire_names[wire]);
			return false;
		}
		if (wire != 0 && wire != 2)
			goto bad_wire;
		if (wire == 0 && !is_varint_type(f))
			goto bad_wire;
		if (wire == 2 && is_varint_type(f) &&
		    !(f->flags & K8S_REPEATED))
			goto bad_wire;
		ret = read_varint(&r, &v);
		if (ret != READ_OK) {
			fail(d, m, "field %u (%s): %s %s", f->number,
			     field_name(f),
			     ret == READ_TRUNCATED ? "truncated" : "overlong",
			     wire ? "length" : "varint");
			return false;
		}
		if (wire == 0) {
			if (!scan_varint(d, m, f, &slots[f - m->fields], v))
				return false;
			continue;
		}
		if (v > (uint64_t)(r.end - r.p)) {
			fail(d, m,
			     "field %u (%s): length %llu runs past the end of the message (%zu bytes left)",
			     f->number, field_name(f), (unsigned long long)v,
			     (size_t)(r.end - r.p));
			return false;
		}
		if (is_varint_type(f)) {
			/* a packed list of varints */
			struct reader packed = { r.p, r.p + v };

			while (packed.p < packed.end) {
				uint64_t e;

				ret = read_varint(&packed, &e);
				if (ret != READ_OK) {
					fail(d, m, "field %u (%s): %s packed varint",
					     f->number, field_name(f),
					     ret == READ_TRUNCATED ?
					     "truncated" : "overlong");
					return false;
				}
				if (!scan_varint(d, m, f, &slots[f - m->fields],
						 e))
					return false;
			}
		} else if (!scan_bytes(d, m, f, &slots[f - m->fields], r.p,
				       v)) {
			return false;
		}
		r.p += v;
		continue;
bad_wire:
		fail(d, m, "field %u (%s) has wire type %s, expected %s",
		     f->number, field_name(f), wire_names[wire],
		     is_varint_type(f) ? "varint" : "length-delimited");
		return false;
	}
	return true;
}

static const struct slot *slot_of(const struct k8s_message *m,
				  const struct slot *slots, unsigned int number)
{
	const struct k8s_field *f = find_field(m, number);
	static const struct slot none;

	return f ? &slots[f - m->fields] : &none;
}

/* ---- the special forms ------------------------------------------------ */

/* 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z: what RFC 3339 can write */
#define TIME_MIN (-62167219200LL)
#define TIME_MAX 253402300799LL

static json_t *time_json(struct decoder *d, const struct k8s_message *m,
			 const struct slot *slots, size_t len, bool micro)
{
	int64_t sec = (int64_t)slot_of(m, slots, 1)->num;
	int64_t nsec = (int32_t)(uint32_t)slot_of(m, slots, 2)->num;
	char buf[64];
	struct tm tm;
	time_t t;

	/* An empty message is Go's zero time, which is written as null. */
	if (!len)
		return json_null();
	if (sec < TIME_MIN || sec > TIME_MAX) {
		fail(d, m, "seconds %lld are out of range", (long long)sec);
		return NULL;
	}
	/* Time keeps whole seconds; MicroTime normalizes, then truncates. */
	if (micro && (nsec < 0 || nsec >= 1000000000)) {
		sec += nsec / 1000000000;
		nsec %= 1000000000;
		if (nsec < 0) {
			nsec += 1000000000;
			sec--;
		}
		if (sec < TIME_MIN || sec > TIME_MAX) {
			fail(d, m, "seconds %lld are out of range",
			     (long long)sec);
			return NULL;
		}
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm)) {
		fail(d, m, "seconds %lld are out of range", (long long)sec);
		return NULL;
	}
	if (micro)
		snprintf(buf, sizeof(buf),
			 "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (long long)(nsec / 1000));
	else
		snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
	return json_string(buf);
}

/* The digits of v % 10^prec before @w, without trailing zeros, and a '.'. */
static int fmt_frac(char *buf, int w, uint64_t *v, int prec)
{
	bool print = false;
	int i;

	for (i = 0; i < prec; i++) {
		unsigned int digit = *v % 10;

		print = print || digit;
		if (print)
			buf[--w] = (char)('0' + digit);
		*v /= 10;
	}
	if (print)
		buf[--w] = '.';
	return w;
}

static int fmt_int(char *buf, int w, uint64_t v)
{
	do {
		buf[--w] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return w;
}

/* Nanoseconds as Go's time.Duration.String(): 1h2m3.5s, 1.5ms, 0s. */
static json_t *duration_json(int64_t ns)
{
	char buf[32];
	int w = sizeof(buf) - 1;
	uint64_t u = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;

	buf[w] = '\0';
	buf[--w] = 's';
	if (u < 1000000000) {
		int prec;

		if (!u) {
			buf[--w] = '0';
			return json_string(buf + w);
		} else if (u < 1000) {
			prec = 0;
			buf[--w] = 'n';
		} else if (u < 1000000) {
			prec = 3;
			w -= 2;
			memcpy(buf + w, "\xc2\xb5", 2);	/* µ */
		} else {
			prec = 6;
			buf[--w] = 'm';
		}
		w = fmt_frac(buf, w, &u, prec);
		w = fmt_int(buf, w, u);
	} else {
		w = fmt_frac(buf, w, &u, 9);
		w = fmt_int(buf, w, u % 60);
		u /= 60;
		if (u) {
			buf[--w] = 'm';
			w = fmt_int(buf, w, u % 60);
			u /= 60;
			if (u) {
				buf[--w] = 'h';
				w = fmt_int(buf, w, u);
			}
		}
	}
	if (ns < 0)
		buf[--w] = '-';
	return json_string(buf + w);
}

/* RawExtension and FieldsV1: the JSON they hold (or, in a RawExtension, an
 * object in protobuf with its own envelope).
 */
static json_t *raw_json(struct decoder *d, const struct k8s_message *m,
			const struct slot *s, bool nested)
{
	json_error_t jerr;
	json_t *v;

	if (!s->seen)
		return json_null();
	if (nested && s->len >= sizeof(k8s_magic) &&
	    !memcmp(s->data, k8s_magic, sizeof(k8s_magic)))
		return decode_envelope(d, s->data + sizeof(k8s_magic),
				       s->len - sizeof(k8s_magic));
	v = json_loadb((const char *)s->data, s->len, JSON_DECODE_ANY, &jerr);
	if (!v)
		fail(d, m, "raw data that is not JSON: %s", jerr.text);
	return v;
}

static json_t *special_json(struct decoder *d, const struct k8s_message *m,
			    const struct slot *slots, size_t len)
{
	const struct slot *s = slot_of(m, slots, 1);
	int64_t type;

	switch (m->special) {
	case K8S_TIME:
		return time_json(d, m, slots, len, false);
	case K8S_MICRO_TIME:
		return time_json(d, m, slots, len, true);
	case K8S_DURATION:
		return duration_json((int64_t)s->num);
	case K8S_FIELDS_V1:
		return raw_json(d, m, s, false);
	case K8S_RAW_EXTENSION:
		return raw_json(d, m, s, true);
	case K8S_QUANTITY:
		if (!s->seen)
			return json_string("0");
		if (!s->len) {
			fail(d, m, "an empty quantity");
			return NULL;
		}
		return string_json(d, m, &m->fields[0], s->data, s->len);
	case K8S_INT_OR_STRING:
		type = (int64_t)s->num;
		if (type == 0)
			return json_integer((int32_t)(uint32_t)slot_of(m, slots, 2)->num);
		if (type == 1) {
			s = slot_of(m, slots, 3);
			return string_json(d, m, find_field(m, 3), s->data,
					   s->seen ? s->len : 0);
		}
		fail(d, m, "type %lld is neither 0 (int) nor 1 (string)",
		     (long long)type);
		return NULL;
	}
	fail(d, m, "no JSON form for this message");
	return NULL;
}

/* ---- plain messages ------------------------------------------------------- */

static json_t *plain_json(struct decoder *d, const struct k8s_message *m,
			  struct slot *slots)
{
	json_t *obj = json_object(), *v;
	unsigned int i;

	if (!obj) {
		fail(d, m, "out of memory");
		return NULL;
	}
	for (i = 0; i < m->nfields; i++) {
		const struct k8s_field *f = &m->fields[i];
		struct slot *s = &slots[i];

		if (f->flags & (K8S_REPEATED | K8S_MAP)) {
			v = s->list;
			s->list = NULL;
			if (v && (json_array_size(v) || json_object_size(v))) {
				if (json_is_object(v)) {
					json_t *sorted = sorted_object(v);

					json_decref(v);
					v = sorted;
				}
			} else {
				json_decref(v);
				if (f->flags & K8S_OMITEMPTY)
					continue;
				v = json_null();
			}
		} else if (!s->seen && (f->flags & K8S_POINTER)) {
			if (f->flags & K8S_OMITEMPTY)
				continue;
			v = json_null();
		} else if (f->type == K8S_MESSAGE) {
			v = decode_message(d, &k8s_messages[f->message],
					   s->seen ? s->data : NULL,
					   s->seen ? s->len : 0, f->json, -1);
			if (v && (f->flags & K8S_INLINE)) {
				if (!json_is_object(v) || json_object_update(obj, v)) {
					fail(d, m, "field %u: cannot inline", f->number);
					json_decref(v);
					goto fail;
				}
				json_decref(v);
				continue;
			}
		} else if (f->type == K8S_BYTES && !s->seen) {
			/* a nil []byte */
			if (f->flags & K8S_OMITEMPTY)
				continue;
			v = json_null();
		} else {
			if (!(f->flags & K8S_POINTER) &&
			    (f->flags & K8S_OMITEMPTY) && scalar_is_zero(f, s))
				continue;
			v = scalar_json(d, m, f, s);
		}
		if (!v) {
			fail(d, m, "out of memory");
			goto fail;
		}
		if (!put(d, m, obj, f->json, v))
			goto fail;
	}
	return obj;
fail:
	json_decref(obj);
	return NULL;
}

static json_t *decode_message(struct decoder *d, const struct k8s_message *m,
			      const uint8_t *buf, size_t len,
			      const char *name, long index)
{
	struct slot *slots;
	json_t *v = NULL;

	if (d->depth >= K8S_PROTOBUF_MAX_DEPTH) {
		fail(d, m, "nested deeper than %d messages",
		     K8S_PROTOBUF_MAX_DEPTH);
		return NULL;
	}
	if (!spend(d, m))
		return NULL;
	slots = calloc(m->nfields ? m->nfields : 1, sizeof(*slots));
	if (!slots) {
		fail(d, m, "out of memory");
		return NULL;
	}
	d->path[d->depth++] = (struct path_elem){ name, index };
	if (scan(d, m, buf, len, slots)) {
		if (m->special == K8S_PLAIN)
			v = plain_json(d, m, slots);
		else
			v = special_json(d, m, slots, len);
		if (!v)
			fail(d, m, "out of memory");
	}
	d->depth--;
	release_slots(slots, m->nfields);
	return v;
}

/* ---- the envelope --------------------------------------------------------- */

static const struct k8s_message *find_kind(const char *api_version,
					   const char *kind)
{
	size_t i;

	for (i = 0; i < k8s_kinds_count; i++) {
		const struct k8s_kind *k = &k8s_kinds[i];

		if (!strcmp(k->kind, kind) &&
		    (!k->api_version || !strcmp(k->api_version, api_version)))
			return &k8s_messages[k->message];
	}
	return NULL;
}

/* A string field of an envelope message, as a C string (NUL-free). */
static char *envelope_string(struct decoder *d, const struct k8s_message *m,
			     const struct slot *slots, unsigned int number)
{
	const struct slot *s = slot_of(m, slots, number);
	size_t len = s->seen ? s->len : 0;
	char *str;

	if (len > 256 ||
	    (len && (!utf8_valid(s->data, len) || memchr(s->data, '\0', len)))) {
		fail(d, m, "field %u is not a short text", number);
		return NULL;
	}
	str = strndup(s->seen ? (const char *)s->data : "", len);
	if (!str)
		fail(d, m, "out of memory");
	return str;
}

static json_t *decode_envelope(struct decoder *d, const uint8_t *buf,
			       size_t len)
{
	const struct k8s_message *um = k8s_envelope, *tm, *om;
	struct slot *uslots = NULL, *tslots = NULL;
	char *api_version = NULL, *kind = NULL, *encoding = NULL, *type = NULL;
	const struct slot *ts, *raw;
	json_t *obj = NULL, *v;

	tm = &k8s_messages[find_field(um, 1)->message];
	if (d->depth >= K8S_PROTOBUF_MAX_DEPTH) {
		fail(d, um, "nested deeper than %d messages",
		     K8S_PROTOBUF_MAX_DEPTH);
		return NULL;
	}
	uslots = calloc(um->nfields, sizeof(*uslots));
	tslots = calloc(tm->nfields, sizeof(*tslots));
	if (!uslots || !tslots) {
		fail(d, um, "out of memory");
		goto out;
	}
	if (!scan(d, um, buf, len, uslots))
		goto out;
	ts = slot_of(um, uslots, 1);
	if (!scan(d, tm, ts->data, ts->seen ? ts->len : 0, tslots))
		goto out;
	api_version = envelope_string(d, tm, tslots, 1);
	kind = envelope_string(d, tm, tslots, 2);
	encoding = envelope_string(d, um, uslots, 3);
	type = envelope_string(d, um, uslots, 4);
	if (!api_version || !kind || !encoding || !type)
		goto out;
	if (!kind[0] || !api_version[0]) {
		fail(d, um, "the envelope names no kind or apiVersion");
		goto out;
	}
	if (encoding[0]) {
		fail(d, um, "content encoding \"%s\" is not supported",
		     encoding);
		goto out;
	}
	if (type[0] && strcmp(type, K8S_PROTOBUF_MEDIA_TYPE)) {
		fail(d, um, "content type \"%s\" is not supported", type);
		goto out;
	}
	om = find_kind(api_version, kind);
	if (!om) {
		fail(d, um, "no protobuf schema for kind %s of %s", kind,
		     api_version);
		goto out;
	}
	raw = slot_of(um, uslots, 2);
	if (!raw->seen) {
		fail(d, um, "the envelope holds no object");
		goto out;
	}
	obj = json_pack("{s:s, s:s}", "kind", kind, "apiVersion", api_version);
	if (!obj) {
		fail(d, um, "out of memory");
		goto out;
	}
	v = decode_message(d, om, raw->data, raw->len, NULL, -1);
	if (!v || json_object_update(obj, v)) {
		fail(d, om, "out of memory");
		json_decref(obj);
		obj = NULL;
	}
	json_decref(v);
out:
	free(api_version);
	free(kind);
	free(encoding);
	free(type);
	if (uslots)
		release_slots(uslots, um->nfields);
	if (tslots)
		release_slots(tslots, tm->nfields);
	return obj;
}

/* ---- entry points ------------------------------------------------------------ */

/* Room for what a legitimate body writes beyond one value per byte. */
#define BUDGET_SLACK 4096

json_t *k8s_protobuf_to_json(const void *body, size_t len, char *err,
			     size_t err_len)
{
	struct decoder d = {
		.err = err, .err_len = err_len, .budget = len + BUDGET_SLACK,
	};

	if (err_len)
		err[0] = '\0';
	if (len < sizeof(k8s_magic) || memcmp(body, k8s_magic, sizeof(k8s_magic))) {
		fail(&d, NULL, "not Kubernetes protobuf: the body does not start with \"k8s\\0\"");
		return NULL;
	}
	return decode_envelope(&d, (const uint8_t *)body + sizeof(k8s_magic),
			       len - sizeof(k8s_magic));
}

json_t *k8s_protobuf_message_to_json(const char *message, const void *buf,
				     size_t len, char *err, size_t err_len)
{
	struct decoder d = {
		.err = err, .err_len = err_len, .budget = len + BUDGET_SLACK,
	};
	size_t i;

	if (err_len)
		err[0] = '\0';
	for (i = 0; i < k8s_messages_count; i++)
		if (!strcmp(k8s_messages[i].name, message))
			return decode_message(&d, &k8s_messages[i], buf, len,
					      NULL, -1);
	fail(&d, NULL, "no protobuf schema for message %s", message);
	return NULL;
}
