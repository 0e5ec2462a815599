// SPDX-License-Identifier: GPL-2.0
/*
 * k8s_protobuf_to_json(): kubectl 1.32's protobuf request bodies (real
 * ones, in fixtures/k8s_protobuf/, see its README.md) decode to the JSON
 * kubectl writes for the same objects; the special forms (Time, Duration,
 * IntOrString, Quantity, RawExtension, ...) and protobuf's rules (merging,
 * packed lists, field order) on hand-made messages; and every way a body
 * can be wrong gives an error that says what and where.
 */

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "k8s_protobuf.h"
#include "k8s_schema.h"
#include "tap.h"
#include "util.h"

static char fixtures[PATH_MAX + 64];

/* build/tests/k8s_protobuf -> userspace/tests/fixtures/k8s_protobuf */
static void find_fixtures(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int i;

	snprintf(fixtures, sizeof(fixtures),
		 "userspace/tests/fixtures/k8s_protobuf");
	if (n <= 0)
		return;
	exe[n] = '\0';
	for (i = 0; i < 3; i++) {
		char *slash = strrchr(exe, '/');

		if (!slash)
			return;
		*slash = '\0';
	}
	snprintf(fixtures, sizeof(fixtures),
		 "%s/userspace/tests/fixtures/k8s_protobuf", exe);
}

static uint8_t *read_fixture(const char *name, size_t *len)
{
	char path[PATH_MAX + 128];
	uint8_t *buf = NULL;
	long size;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fixtures, name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END))
		goto out;
	size = ftell(f);
	if (size < 0 || fseek(f, 0, SEEK_SET))
		goto out;
	buf = malloc(size ? size : 1);
	if (buf && fread(buf, 1, size, f) != (size_t)size) {
		free(buf);
		buf = NULL;
	}
	*len = size;
out:
	fclose(f);
	return buf;
}

/* ---- a protobuf writer for hand-made messages -------------------------- */

struct pb {
	uint8_t *p;
	size_t len;
	size_t cap;
};

static struct pb *pb_new(void)
{
	struct pb *b = calloc(1, sizeof(*b));

	if (!b)
		abort();
	return b;
}

static void pb_free(struct pb *b)
{
	free(b->p);
	free(b);
}

static struct pb *pb_raw(struct pb *b, const void *p, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	return b;
}

static struct pb *pb_uvarint(struct pb *b, uint64_t v)
{
	uint8_t c;

	do {
		c = v & 0x7f;
		v >>= 7;
		if (v)
			c |= 0x80;
		pb_raw(b, &c, 1);
	} while (v);
	return b;
}

static struct pb *pb_key(struct pb *b, unsigned int number, unsigned int wire)
{
	return pb_uvarint(b, (uint64_t)number << 3 | wire);
}

static struct pb *pb_int(struct pb *b, unsigned int number, int64_t v)
{
	return pb_uvarint(pb_key(b, number, 0), (uint64_t)v);
}

static struct pb *pb_bytes(struct pb *b, unsigned int number, const void *p,
			   size_t len)
{
	return pb_raw(pb_uvarint(pb_key(b, number, 2), len), p, len);
}

static struct pb *pb_str(struct pb *b, unsigned int number, const char *s)
{
	return pb_bytes(b, number, s, strlen(s));
}

/* Appends @sub as field @number and frees it. */
static struct pb *pb_msg(struct pb *b, unsigned int number, struct pb *sub)
{
	pb_bytes(b, number, sub->p, sub->len);
	pb_free(sub);
	return b;
}

/* A map entry {key, value} as field @number. */
static struct pb *pb_entry(struct pb *b, unsigned int number, const char *k,
			   const char *v)
{
	return pb_msg(b, number, pb_str(pb_str(pb_new(), 1, k), 2, v));
}

/* "k8s\0" and a runtime.Unknown around @raw (freed). */
static struct pb *envelope(const char *api_version, const char *kind,
			   struct pb *raw)
{
	struct pb *b = pb_raw(pb_new(), "k8s", 4);

	pb_msg(b, 1, pb_str(pb_str(pb_new(), 1, api_version), 2, kind));
	pb_msg(b, 2, raw);
	pb_str(b, 3, "");
	return pb_str(b, 4, "");
}

/* ObjectMeta with a name. */
static struct pb *meta(const char *name)
{
	return pb_str(pb_new(), 1, name);
}

static struct pb *timestamp(int64_t sec, int32_t nsec)
{
	return pb_int(pb_int(pb_new(), 1, sec), 2, nsec);
}

/* ---- checks ------------------------------------------------------------- */

static char err[1024];

static char *dump(const json_t *v)
{
	return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

/* The body decodes to exactly @want (JSON text, same key order). */
static void is_json(json_t *got, const char *want, const char *what)
{
	json_error_t jerr;
	json_t *w = json_loads(want, JSON_DECODE_ANY, &jerr);
	char *gs = dump(got), *ws = dump(w);

	if (!got)
		tap_diag("error: %s", err);
	tap_is_str(gs ? gs : "(null)", ws ? ws : "(bad expectation)", "%s",
		   what);
	free(gs);
	free(ws);
	json_decref(w);
	json_decref(got);
}

static json_t *body(struct pb *b)
{
	json_t *v = k8s_protobuf_to_json(b->p, b->len, err, sizeof(err));

	pb_free(b);
	return v;
}

static json_t *message(const char *name, struct pb *b)
{
	json_t *v = k8s_protobuf_message_to_json(name, b->p, b->len, err,
						 sizeof(err));

	pb_free(b);
	return v;
}

/* Decoding fails with an error that contains @want. */
static void fails(json_t *got, const char *want, const char *what)
{
	bool ok = !got && strstr(err, want);

	tap_ok(ok, "%s", what);
	if (!ok)
		tap_diag("got %s, error \"%s\", want an error with \"%s\"",
			 got ? "an object" : "no object", err, want);
	json_decref(got);
}

/* ---- the cases ------------------------------------------------------------- */

static const char *const captured[] = {
	"create-configmap", "create-configmap-binary", "create-deployment",
	"create-deployment-replicas0", "create-deployment-two-images",
	"create-job", "create-namespace", "create-secret-generic",
	"create-secret-generic-binary", "create-secret-docker-registry",
	"create-service-clusterip", "create-service-clusterip-none",
	"create-service-externalname", "create-service-loadbalancer",
	"create-service-nodeport", "debug-copy-to",
};

static void test_captured(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(captured); i++) {
		char name[128];
		uint8_t *pb, *js;
		size_t pb_len = 0, js_len = 0;
		json_t *got = NULL;
		char *want;

		snprintf(name, sizeof(name), "%s.pb", captured[i]);
		pb = read_fixture(name, &pb_len);
		snprintf(name, sizeof(name), "%s.json", captured[i]);
		js = read_fixture(name, &js_len);
		if (!pb || !js) {
			tap_ok(false, "%s: fixture missing in %s", captured[i],
			       fixtures);
			free(pb);
			free(js);
			continue;
		}
		want = strndup((const char *)js, js_len);
		got = k8s_protobuf_to_json(pb, pb_len, err, sizeof(err));
		is_json(got, want, captured[i]);
		free(want);
		free(pb);
		free(js);
	}
}

/* Every prefix of a real body is refused (or, cut at a field boundary of
 * the envelope, decodes), and nothing crashes or leaks on the way.
 */
static void test_truncated(void)
{
	size_t len = 0, n, refused = 0, whole = 0;
	uint8_t *pb = read_fixture("create-deployment.pb", &len);

	for (n = 0; pb && n < len; n++) {
		json_t *v = k8s_protobuf_to_json(pb, n, err, sizeof(err));

		if (!v && err[0])
			refused++;
		else if (v && n >= len - 4)
			whole++;
		json_decref(v);
	}
	tap_is_int(refused + whole, pb ? len : 1,
		   "every truncation of a body is refused with an error");
	fails(k8s_protobuf_to_json(pb, 60, err, sizeof(err)),
	      "k8s.io.apimachinery.pkg.runtime.Unknown: field 2 (raw): length 184 runs past the end of the message (30 bytes left)",
	      "a truncated body says which length runs past the end");
	free(pb);
}

/* Flipped bytes in real bodies: errors or objects, never a crash. */
static void test_mutations(void)
{
	size_t len = 0, i, decoded = 0;
	uint8_t *pb = read_fixture("debug-copy-to.pb", &len);
	uint32_t seed = 1;

	for (i = 0; pb && i < 3000; i++) {
		uint8_t *copy = malloc(len);
		json_t *v;
		int k;

		memcpy(copy, pb, len);
		for (k = 0; k < 3; k++) {
			seed = seed * 1103515245 + 12345;
			copy[4 + (seed >> 8) % (len - 4)] ^= 1 << ((seed >> 4) & 7);
		}
		v = k8s_protobuf_to_json(copy, len, err, sizeof(err));
		if (v)
			decoded++;
		json_decref(v);
		free(copy);
	}
	tap_ok(pb && i == 3000, "3000 mutated bodies: no crash (%zu decoded)",
	       decoded);
	free(pb);
}

static void test_special_forms(void)
{
	const char *t = "k8s.io.apimachinery.pkg.apis.meta.v1.Time";
	const char *mt = "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime";
	const char *d = "k8s.io.apimachinery.pkg.apis.meta.v1.Duration";
	const char *ios = "k8s.io.apimachinery.pkg.util.intstr.IntOrString";
	const char *q = "k8s.io.apimachinery.pkg.api.resource.Quantity";
	const char *raw = "k8s.io.apimachinery.pkg.runtime.RawExtension";

	is_json(message(t, timestamp(1700000000, 999)),
		"\"2023-11-14T22:13:20Z\"", "Time: RFC 3339 in seconds");
	is_json(message(t, pb_new()), "null", "Time: empty is null");
	is_json(message(t, pb_int(pb_new(), 1, 0)),
		"\"1970-01-01T00:00:00Z\"", "Time: 0 is the epoch, not null");
	fails(message(t, pb_int(pb_new(), 1, 300000000000LL)),
	      "seconds 300000000000 are out of range", "Time: out of range");
	is_json(message(mt, timestamp(1700000000, 123456789)),
		"\"2023-11-14T22:13:20.123456Z\"", "MicroTime: microseconds");
	is_json(message(mt, timestamp(1700000000, -1)),
		"\"2023-11-14T22:13:19.999999Z\"",
		"MicroTime: negative nanos normalized");

	is_json(message(d, pb_new()), "\"0s\"", "Duration 0");
	is_json(message(d, pb_int(pb_new(), 1, 1500)), "\"1.5\xc2\xb5s\"",
		"Duration 1.5us");
	is_json(message(d, pb_int(pb_new(), 1, -1000000)), "\"-1ms\"",
		"Duration -1ms");
	is_json(message(d, pb_int(pb_new(), 1, 90000000000LL)), "\"1m30s\"",
		"Duration 90s");
	is_json(message(d, pb_int(pb_new(), 1, 3723500000000LL)),
		"\"1h2m3.5s\"", "Duration 1h2m3.5s");
	is_json(message(d, pb_int(pb_new(), 1, INT64_MIN)),
		"\"-2562047h47m16.854775808s\"", "Duration min");

	is_json(message(ios, pb_int(pb_int(pb_new(), 1, 0), 2, 8080)), "8080",
		"IntOrString int");
	is_json(message(ios, pb_int(pb_int(pb_new(), 1, 0), 2, -1)), "-1",
		"IntOrString negative int (10-byte varint)");
	is_json(message(ios, pb_str(pb_int(pb_new(), 1, 1), 3, "http")),
		"\"http\"", "IntOrString string");
	is_json(message(ios, pb_new()), "0", "IntOrString empty is 0");
	fails(message(ios, pb_int(pb_new(), 1, 2)),
	      "type 2 is neither 0 (int) nor 1 (string)", "IntOrString type 2");

	is_json(message(q, pb_str(pb_new(), 1, "100m")), "\"100m\"",
		"Quantity");
	is_json(message(q, pb_new()), "\"0\"", "Quantity empty is 0");
	fails(message(q, pb_str(pb_new(), 1, "")), "an empty quantity",
	      "Quantity with an empty string");

	is_json(message(raw, pb_str(pb_new(), 1, "{\"a\": [1, true]}")),
		"{\"a\":[1,true]}", "RawExtension holding JSON");
	is_json(message(raw, pb_new()), "null", "RawExtension empty is null");
	fails(message(raw, pb_str(pb_new(), 1, "{nope")),
	      "raw data that is not JSON", "RawExtension holding garbage");
	{
		struct pb *cm = envelope("v1", "ConfigMap",
					 pb_entry(pb_msg(pb_new(), 1, meta("in")),
						  2, "k", "v"));

		is_json(message(raw, pb_bytes(pb_new(), 1, cm->p, cm->len)),
			"{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"in\",\"creationTimestamp\":null},\"data\":{\"k\":\"v\"}}",
			"RawExtension holding an object in protobuf");
		pb_free(cm);
	}
}

static void test_kinds(void)
{
	struct pb *b;

	/* A Lease: MicroTime, pointers. */
	b = pb_new();
	pb_msg(b, 1, meta("l"));
	pb_msg(b, 2, pb_msg(pb_msg(pb_int(pb_str(pb_new(), 1, "node-1"), 2, 0),
				   3, timestamp(1700000000, 5000)),
			    4, timestamp(1700000001, 0)));
	is_json(body(envelope("coordination.k8s.io/v1", "Lease", b)),
		"{\"kind\":\"Lease\",\"apiVersion\":\"coordination.k8s.io/v1\",\"metadata\":{\"name\":\"l\",\"creationTimestamp\":null},\"spec\":{\"holderIdentity\":\"node-1\",\"leaseDurationSeconds\":0,\"acquireTime\":\"2023-11-14T22:13:20.000005Z\",\"renewTime\":\"2023-11-14T22:13:21.000000Z\"}}",
		"Lease: MicroTime, a pointer 0 kept");

	/* A StatefulSet with a volumeClaimTemplate (a PersistentVolumeClaim). */
	b = pb_new();
	pb_msg(b, 1, meta("db"));
	pb_msg(b, 2, pb_msg(pb_str(pb_int(pb_new(), 1, 3), 5, "db"), 4,
			    pb_msg(pb_msg(pb_new(), 1, meta("data")), 2,
				   pb_msg(pb_str(pb_new(), 1, "ReadWriteOnce"), 2,
					  pb_msg(pb_new(), 2,
						 pb_msg(pb_str(pb_new(), 1, "storage"),
							2, pb_str(pb_new(), 1, "1Gi")))))));
	is_json(body(envelope("apps/v1", "StatefulSet", b)),
		"{\"kind\":\"StatefulSet\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"db\",\"creationTimestamp\":null},\"spec\":{\"replicas\":3,\"selector\":null,\"template\":{\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"containers\":null}},\"volumeClaimTemplates\":[{\"metadata\":{\"name\":\"data\",\"creationTimestamp\":null},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":\"1Gi\"}}},\"status\":{}}],\"serviceName\":\"db\",\"updateStrategy\":{}},\"status\":{\"replicas\":0,\"availableReplicas\":0}}",
		"StatefulSet: volumeClaimTemplates, Quantity map, Go's zero values");

	/* A Binding, a Scale, DeleteOptions in any group. */
	b = pb_new();
	pb_msg(b, 1, meta("p"));
	pb_msg(b, 2, pb_str(pb_str(pb_new(), 1, "Node"), 3, "n1"));
	is_json(body(envelope("v1", "Binding", b)),
		"{\"kind\":\"Binding\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"p\",\"creationTimestamp\":null},\"target\":{\"kind\":\"Node\",\"name\":\"n1\"}}",
		"Binding");
	b = pb_new();
	pb_msg(b, 1, meta("web"));
	pb_msg(b, 2, pb_int(pb_new(), 1, 0));
	is_json(body(envelope("autoscaling/v1", "Scale", b)),
		"{\"kind\":\"Scale\",\"apiVersion\":\"autoscaling/v1\",\"metadata\":{\"name\":\"web\",\"creationTimestamp\":null},\"spec\":{},\"status\":{\"replicas\":0}}",
		"Scale: replicas 0 left out of spec (omitempty), kept in status");
	b = pb_str(pb_int(pb_new(), 1, 0), 4, "Foreground");
	is_json(body(envelope("apps/v1", "DeleteOptions", b)),
		"{\"kind\":\"DeleteOptions\",\"apiVersion\":\"apps/v1\",\"gracePeriodSeconds\":0,\"propagationPolicy\":\"Foreground\"}",
		"DeleteOptions: a pointer 0 kept");

	/* ManagedFields: Time pointer, FieldsV1 as JSON. */
	b = pb_new();
	pb_msg(b, 1, pb_msg(meta("c"), 17,
			    pb_msg(pb_msg(pb_str(pb_str(pb_new(), 1, "kubectl"),
						 2, "Update"),
					  4, timestamp(1700000000, 0)),
				   7, pb_str(pb_new(), 1, "{\"f:data\":{}}"))));
	is_json(body(envelope("v1", "ConfigMap", b)),
		"{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"c\",\"creationTimestamp\":null,\"managedFields\":[{\"manager\":\"kubectl\",\"operation\":\"Update\",\"time\":\"2023-11-14T22:13:20Z\",\"fieldsV1\":{\"f:data\":{}}}]}}",
		"managedFields: Time and FieldsV1");
}

static void test_protobuf_rules(void)
{
	const char *psc = "k8s.io.api.core.v1.PodSecurityContext";
	struct pb *b, *packed;

	/* ObjectMeta twice: merged; labels in any order: sorted, last wins. */
	b = pb_new();
	pb_msg(b, 1, pb_entry(meta("first"), 11, "b", "1"));
	pb_msg(b, 1, pb_entry(pb_entry(pb_str(pb_new(), 3, "ns"), 11, "a", "2"),
			      11, "b", "3"));
	is_json(body(envelope("v1", "ConfigMap", b)),
		"{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"first\",\"namespace\":\"ns\",\"creationTimestamp\":null,\"labels\":{\"a\":\"2\",\"b\":\"3\"}}}",
		"a message field twice merges; map keys sorted, the last wins");

	/* Scalars: the last wins; fields in any order. */
	b = pb_new();
	pb_msg(b, 2, pb_str(pb_str(pb_new(), 1, "x"), 1, "y"));
	pb_msg(b, 1, meta("order"));
	is_json(body(envelope("v1", "Secret", b)),
		"{\"kind\":\"Secret\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"order\",\"creationTimestamp\":null},\"data\":{\"y\":\"\"}}",
		"fields in any order, the last scalar wins, a missing map value is empty");

	/* Repeated int64, packed and not. */
	packed = pb_uvarint(pb_uvarint(pb_new(), 2), 300);
	b = pb_int(pb_new(), 4, 1);
	pb_bytes(b, 4, packed->p, packed->len);
	pb_free(packed);
	is_json(message(psc, b), "{\"supplementalGroups\":[1,2,300]}",
		"a repeated int64 packed and not");

	/* An inline struct: Volume's VolumeSource, and explicit zeros. */
	b = pb_msg(pb_str(pb_new(), 1, "v"), 2,
		   pb_msg(pb_new(), 6, pb_int(pb_str(pb_new(), 1, "cm"), 3, 0)));
	is_json(message("k8s.io.api.core.v1.Volume", b),
		"{\"name\":\"v\",\"secret\":{\"secretName\":\"cm\",\"defaultMode\":0}}",
		"an inline struct, a pointer 0 kept");

	/* Non-pointer zero values: left out when omitempty. */
	b = pb_str(pb_int(pb_int(pb_str(pb_new(), 1, ""), 2, 0), 3, 0), 4, "");
	is_json(message("k8s.io.api.core.v1.ContainerPort", b),
		"{\"containerPort\":0}",
		"zero values left out, but not a field without omitempty");
}

static void test_errors(void)
{
	uint8_t huge[] = { 'k', '8', 's', 0, 0x12,
			   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	uint8_t overlong[] = { 'k', '8', 's', 0, 0x08,
			       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			       0x01 };
	uint8_t bad_utf8[] = { 0xc3, 0x28 };
	struct pb *b, *inner;
	int i;

	fails(k8s_protobuf_to_json("", 0, err, sizeof(err)),
	      "the body does not start with \"k8s\\0\"", "an empty body");
	fails(k8s_protobuf_to_json("{\"kind\":\"Pod\"}", 14, err, sizeof(err)),
	      "not Kubernetes protobuf", "JSON is not protobuf");
	fails(k8s_protobuf_to_json(huge, sizeof(huge), err, sizeof(err)),
	      "field 2 (raw): length 18446744073709551615 runs past the end of the message (0 bytes left)",
	      "a huge length");
	fails(k8s_protobuf_to_json(overlong, sizeof(overlong), err, sizeof(err)),
	      "k8s.io.apimachinery.pkg.runtime.Unknown: field 1 (typeMeta) has wire type varint, expected length-delimited",
	      "a message field sent as a varint");
	overlong[4] = 0x0a;
	fails(k8s_protobuf_to_json(overlong, sizeof(overlong), err, sizeof(err)),
	      "field 1 (typeMeta): overlong length", "an overlong varint");

	b = pb_new();
	pb_int(b, 127, 1);
	fails(body(envelope("v1", "Secret", b)),
	      "k8s.io.api.core.v1.Secret: unknown field 127 (wire type varint)",
	      "an unknown field number names the message and the number");

	b = pb_new();
	pb_msg(b, 2, pb_msg(pb_new(), 3,
			    pb_msg(pb_new(), 2,
				   pb_msg(pb_new(), 2,
					  pb_msg(pb_str(pb_new(), 1, "c"), 99,
						 pb_new())))));
	fails(body(envelope("apps/v1", "Deployment", b)),
	      "k8s.io.api.core.v1.Container at spec.template.spec.containers[0]: unknown field 99 (wire type length-delimited)",
	      "an unknown field deep down says where");

	b = pb_int(pb_new(), 1, 5);
	fails(body(envelope("v1", "Namespace", b)),
	      "field 1 (metadata) has wire type varint, expected length-delimited",
	      "a message field as a varint");
	b = pb_msg(pb_new(), 2, pb_str(pb_new(), 1, "x"));
	fails(body(envelope("apps/v1", "Deployment", b)),
	      "k8s.io.api.apps.v1.DeploymentSpec at spec: field 1 (replicas) has wire type length-delimited, expected varint",
	      "a varint field as bytes");
	b = pb_key(pb_new(), 1, 5);
	pb_raw(b, "abcd", 4);
	fails(body(envelope("v1", "Namespace", b)),
	      "field 1 (metadata) has wire type 32-bit", "a 32-bit field");
	b = pb_key(pb_new(), 1, 3);
	fails(body(envelope("v1", "Namespace", b)),
	      "field 1 (metadata) has wire type group start", "a group");

	b = pb_msg(pb_new(), 1, pb_bytes(pb_new(), 1, bad_utf8, 2));
	fails(body(envelope("v1", "Namespace", b)),
	      "at metadata: field 1 (name) is not valid UTF-8", "invalid UTF-8");
	b = pb_msg(pb_new(), 1, meta("x"));
	fails(body(envelope("v1", "Widget", b)),
	      "no protobuf schema for kind Widget of v1", "an unknown kind");
	b = pb_raw(pb_new(), "k8s", 4);
	pb_msg(b, 2, meta("x"));
	fails(body(b), "the envelope names no kind", "an envelope without a kind");
	b = pb_raw(pb_new(), "k8s", 4);
	pb_msg(b, 1, pb_str(pb_str(pb_new(), 1, "v1"), 2, "Namespace"));
	fails(body(b), "the envelope holds no object", "an envelope without an object");
	b = pb_raw(pb_new(), "k8s", 4);
	pb_msg(b, 1, pb_str(pb_str(pb_new(), 1, "v1"), 2, "Namespace"));
	pb_msg(b, 2, pb_new());
	pb_str(b, 3, "gzip");
	fails(body(b), "content encoding \"gzip\" is not supported",
	      "a content encoding");

	/* ControllerRevisions nested in each other's data, 40 deep. */
	inner = envelope("apps/v1", "ControllerRevision", pb_new());
	for (i = 0; i < 40; i++) {
		b = pb_msg(pb_new(), 2, pb_bytes(pb_new(), 1, inner->p, inner->len));
		pb_free(inner);
		inner = envelope("apps/v1", "ControllerRevision", b);
	}
	fails(body(inner), "nested deeper than 32 messages", "nesting too deep");

	/* 100000 empty container statuses: 200 kB that would make ~1M values. */
	b = pb_new();
	for (i = 0; i < 100000; i++)
		pb_bytes(b, 8, "", 0);
	fails(body(envelope("v1", "Pod", pb_msg(pb_new(), 3, b))),
	      "the decoded object is too large for a body of this size",
	      "memory amplification is refused");

	fails(k8s_protobuf_message_to_json("nope.Nope", "", 0, err, sizeof(err)),
	      "no protobuf schema for message nope.Nope", "an unknown message");
}

/* The tables are whole: references in range, names where needed. */
static void test_schema(void)
{
	static const char *const served[][2] = {
		{ "v1", "Pod" }, { "v1", "Service" }, { "v1", "Endpoints" },
		{ "v1", "ConfigMap" }, { "v1", "Secret" }, { "v1", "Namespace" },
		{ "v1", "Node" }, { "v1", "Event" }, { "v1", "Binding" },
		{ "apps/v1", "Deployment" }, { "apps/v1", "ReplicaSet" },
		{ "apps/v1", "DaemonSet" }, { "apps/v1", "StatefulSet" },
		{ "apps/v1", "ControllerRevision" }, { "batch/v1", "Job" },
		{ "coordination.k8s.io/v1", "Lease" },
		{ "autoscaling/v1", "Scale" },
	};
	size_t i, j, k, bad = 0, missing = 0;

	for (i = 0; i < k8s_messages_count; i++) {
		const struct k8s_message *m = &k8s_messages[i];

		for (j = 0; j < m->nfields; j++) {
			const struct k8s_field *f = &m->fields[j];

			if (!f->number || (f->type == K8S_MESSAGE &&
					   f->message >= k8s_messages_count) ||
			    (!f->json && !(f->flags & K8S_INLINE)) ||
			    ((f->flags & K8S_MAP) &&
			     k8s_messages[f->message].special != K8S_MAP_ENTRY))
				bad++;
			for (k = 0; k < j; k++)
				bad += m->fields[k].number == f->number;
		}
	}
	tap_is_int(bad, 0, "%zu messages: fields well formed",
		   k8s_messages_count);
	for (i = 0; i < ARRAY_SIZE(served); i++) {
		for (j = 0; j < k8s_kinds_count; j++)
			if (!strcmp(k8s_kinds[j].kind, served[i][1]) &&
			    !strcmp(k8s_kinds[j].api_version, served[i][0]))
				break;
		if (j == k8s_kinds_count) {
			tap_diag("no schema for %s %s", served[i][0],
				 served[i][1]);
			missing++;
		}
	}
	tap_is_int(missing, 0, "every served kind has a schema");
}

int main(void)
{
	find_fixtures();
	/* captured, truncated and mutated, special forms, kinds, rules, errors, schema */
	tap_plan(ARRAY_SIZE(captured) + 3 + 24 + 6 + 5 + 19 + 2);
	test_captured();
	test_truncated();
	test_mutations();
	test_special_forms();
	test_kinds();
	test_protobuf_rules();
	test_errors();
	test_schema();
	return tap_done();
}
