// SPDX-License-Identifier: GPL-2.0
/*
 * YAML to JSON and back (lib/yaml.c): how plain scalars are typed, block
 * and flow collections, several documents, anchors and merge keys, the
 * alias bomb refused, errors that say where, a dump that reads back the
 * same (here, and in a YAML 1.1 reader as kubectl's is, when PyYAML is
 * installed), and files as users have them: a Deployment and the
 * kubeconfig kind writes.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "util.h"
#include "skiff_yaml.h"

/* `v: TEXT` read, the value of v compared with JSON. */
static const struct {
	const char *yaml;
	const char *json;
} typing[] = {
	{ "", "null" }, { "~", "null" }, { "null", "null" }, { "Null", "null" },
	{ "NULL", "null" }, { "true", "true" }, { "True", "true" },
	{ "FALSE", "false" }, { "yes", "\"yes\"" }, { "no", "\"no\"" },
	{ "on", "\"on\"" }, { "Off", "\"Off\"" }, { "y", "\"y\"" },
	{ "12", "12" }, { "-3", "-3" }, { "+7", "7" }, { "0", "0" },
	{ "0x1F", "31" }, { "0o17", "15" }, { "0644", "420" }, { "0b101", "5" },
	{ "9223372036854775807", "9223372036854775807" },
	{ "-9223372036854775808", "-9223372036854775808" },
	{ "99999999999999999999", "1e20" }, { "08", "8.0" },
	{ "1.5", "1.5" }, { "-2e3", "-2000.0" }, { ".5", "0.5" }, { "1.", "1.0" },
	{ "1.20", "1.2" }, { "1e999", "\"1e999\"" }, { "1.2.3", "\"1.2.3\"" },
	{ "1_000", "\"1_000\"" }, { "0x", "\"0x\"" }, { "0xZZ", "\"0xZZ\"" },
	{ "'123'", "\"123\"" }, { "\"true\"", "\"true\"" }, { "'null'", "\"null\"" },
	{ "''", "\"\"" }, { "\"\"", "\"\"" }, { "'0644'", "\"0644\"" },
	{ "!!str 123", "\"123\"" }, { "!!int \"42\"", "42" }, { "!!float 1", "1.0" },
	{ "!!bool true", "true" }, { "! 12", "\"12\"" }, { "!!null ~", "null" },
	{ "hello world", "\"hello world\"" }, { "<<", "\"<<\"" },
	{ "2026-11-26T09:00:00Z", "\"2026-11-26T09:00:00Z\"" },
	{ "\"a\\tb\\u00e9\"", "\"a\\tb\\u00e9\"" }, { "'it''s'", "\"it's\"" },
	{ "|\n  line1\n  line2\n", "\"line1\\nline2\\n\"" },
	{ "|-\n  kept\n", "\"kept\"" },
	{ ">-\n  folded\n  text\n", "\"folded text\"" },
	{ "plain\n  continued", "\"plain continued\"" },
	{ "128Mi", "\"128Mi\"" }, { "500m", "\"500m\"" },
};

#define BAD_MERGE "line 2, column 5: the merge key << wants a mapping or a list of mappings"

/* Bad input: the message, line and column first. */
static const struct {
	const char *yaml;
	const char *msg;	/* the start of the message */
} errors[] = {
	{ "a: 1\nb: 2\n  c: 3\n",
	  "line 3, column 4: mapping values are not allowed in this context" },
	{ "a: [1, 2\nb: 3\n", "line 2, column 2: did not find expected ',' or ']'" },
	{ "a: 1\nb: 2\na: 3\n", "line 3, column 1: mapping key \"a\" already defined at line 1" },
	{ "a: *nope\n", "line 1, column 4: unknown anchor 'nope' referenced" },
	{ "a: &x [1, *x]\n", "line 1, column 11: anchor 'x' value contains itself" },
	{ "~: 1\n", "line 1, column 1: a mapping key must be a string, not null" },
	{ "? [a, b]\n: c\n", "line 1, column 3: a mapping key must be a string, not a collection" },
	{ "a:\n\tb: 1\n", "line 2, column 1: found character that cannot start any token" },
	{ "a: .inf\n", "line 1, column 4: .inf cannot be a JSON number" },
	{ "a: -.Inf\n", "line 1, column 4: -.Inf cannot be a JSON number" },
	{ "a: .nan\n", "line 1, column 4: .nan cannot be a JSON number" },
	{ "a: !foo bar\n", "line 1, column 4: unknown tag !foo" },
	{ "a: !!int abc\n", "line 1, column 4: cannot read \"abc\" as !!int" },
	{ "a: !!set {x}\n", "line 1, column 4: unknown tag tag:yaml.org,2002:set" },
	{ "a: 1\n<<: 5\n", BAD_MERGE },
	{ "a: \"unterminated\n", "line 2, column 1: found unexpected end of stream" },
	{ "a: b\n- c\n", "line 2, column 1: did not find expected key" },
	{ "a: \xff\n", "byte 3: invalid leading UTF-8 octet" },
};

/* Strings that must be quoted (or not) to read back as themselves. */
static const char *const tricky[] = {
	"true", "false", "True", "yes", "no", "Yes", "NO", "on", "Off", "y", "n",
	"null", "Null", "~", "", " ", "123", "-7", "+1", "0x1F", "0o7", "0644", "08",
	"1.5", "1.", ".5", "1e3", ".inf", "-.inf", ".nan", "1_000", "1:30",
	"2026-01-01", "2026-11-26T09:00:00Z", "- a", "-", "a: b", "a:b", "# x",
	"x #y", "&a", "*a", "!t", "|", ">", "@x", "`x", "%x", "{", "}", "[", "]",
	",", "?", "? x", "'q'", "\"dq\"", "a\nb", "trailing\n", "two\n\n",
	"  leading", "trailing  ", "tab\there", "\x01 control", "caf\xc3\xa9",
	"snow \xe2\x98\x83", "\xf0\x9f\x98\x80", "<<", "=", "spaces  \x0aat end",
	"back\\slash", "line\xe2\x80\xa8sep", "---", "...", "--- x", "a\r\nb",
	"128Mi", "nginx:1.14.2", "http://x:80/a?b=c#d", "system:masters",
};

#define BOMB \
	"a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" \
	"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" \
	"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n" \
	"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n" \
	"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n" \
	"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n" \
	"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n" \
	"h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n" \
	"i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n"

static const char deployment[] =
	"# from the Kubernetes documentation, with a few additions\n"
	"apiVersion: apps/v1\n"
	"kind: Deployment\n"
	"metadata:\n"
	"  name: nginx-deployment\n"
	"  labels:\n"
	"    app: nginx\n"
	"  annotations:\n"
	"    kubernetes.io/change-cause: \"image updated to 1.14.2\"\n"
	"spec:\n"
	"  replicas: 3\n"
	"  selector:\n"
	"    matchLabels:\n"
	"      app: nginx\n"
	"  strategy:\n"
	"    type: RollingUpdate\n"
	"    rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}\n"
	"  template:\n"
	"    metadata:\n"
	"      labels:\n"
	"        app: nginx\n"
	"    spec:\n"
	"      containers:\n"
	"      - name: nginx\n"
	"        image: nginx:1.14.2\n"
	"        args: [\"--port\", \"80\"]\n"
	"        ports:\n"
	"        - containerPort: 80\n"
	"          protocol: TCP\n"
	"        env:\n"
	"        - name: ENABLED\n"
	"          value: \"true\"\n"
	"        - name: PORT\n"
	"          value: '8080'\n"
	"        resources:\n"
	"          limits:\n"
	"            memory: 128Mi\n"
	"            cpu: 500m\n"
	"        readinessProbe:\n"
	"          httpGet: {path: /healthz, port: 80}\n"
	"          periodSeconds: 5\n"
	"        command:\n"
	"        - /bin/sh\n"
	"        - -c\n"
	"        - |\n"
	"          echo start\n"
	"          exec nginx -g 'daemon off;'\n"
	"      volumes:\n"
	"      - name: config\n"
	"        configMap:\n"
	"          name: nginx-config\n"
	"          defaultMode: 0644\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Service\n"
	"metadata: {name: nginx}\n"
	"spec:\n"
	"  selector: {app: nginx}\n"
	"  ports:\n"
	"  - port: 80\n"
	"    targetPort: 80\n";

/* As kind (kubeadm's writer) makes it, keys abbreviated. */
static const char kind_kubeconfig[] =
	"apiVersion: v1\n"
	"clusters:\n"
	"- cluster:\n"
	"    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=\n"
	"    server: https://127.0.0.1:41263\n"
	"  name: kind-kind\n"
	"contexts:\n"
	"- context:\n"
	"    cluster: kind-kind\n"
	"    user: kind-kind\n"
	"  name: kind-kind\n"
	"current-context: kind-kind\n"
	"kind: Config\n"
	"preferences: {}\n"
	"users:\n"
	"- name: kind-kind\n"
	"  user:\n"
	"    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t\n"
	"    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=\n";

static bool json_is(const json_t *got, const char *want_text)
{
	json_t *want = json_loads(want_text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	bool same = got && want && json_equal(got, want);

	if (!same) {
		char *g = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

		tap_diag("got %s, want %s", g ?: "(null)", want_text);
		free(g);
	}
	json_decref(want);
	return same;
}

static json_t *load(const char *text, struct skiff_error *e)
{
	return skiff_yaml_load(text, strlen(text), e);
}

/* @s on one line, for a test's name. */
static const char *oneline(const char *s)
{
	static char out[256];
	size_t n = 0;

	for (; *s && n < sizeof(out) - 3; s++) {
		if (*s == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else {
			out[n++] = *s;
		}
	}
	out[n] = '\0';
	return out;
}

static void test_typing(void)
{
	struct skiff_error e;
	char text[256];
	json_t *doc;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(typing); i++) {
		snprintf(text, sizeof(text), "v: %s\n", typing[i].yaml);
		doc = load(text, &e);
		if (!doc)
			tap_diag("%s", e.msg);
		tap_ok(json_is(json_object_get(doc, "v"), typing[i].json),
		       "v: %s reads as %s", oneline(typing[i].yaml), typing[i].json);
		json_decref(doc);
	}
}

#define NESTED_YAML \
	"# a comment\n" \
	"top:\n" \
	"  list:\n" \
	"  - 1\n" \
	"  - name: a\n" \
	"    tags: [x, y]\n" \
	"  -\n" \
	"    - nested\n" \
	"    - 2.5\n" \
	"  empty_map: {}\n" \
	"  empty_list: []\n" \
	"  nothing:\n" \
	"\"quoted key\": 'v'\n" \
	"1: one\n" \
	"true: yes\n"

#define NESTED_JSON \
	"{\"top\": {\"list\": [1, {\"name\": \"a\", \"tags\": [\"x\", \"y\"]}," \
	" [\"nested\", 2.5]]," \
	" \"empty_map\": {}, \"empty_list\": [], \"nothing\": null}," \
	" \"quoted key\": \"v\", \"1\": \"one\", \"true\": \"yes\"}"

#define FLOW_YAML "{a: [1, 2, {b: c}], d: \"x\", e: [], f: {g: null}, 'h i': -1}"
#define FLOW_JSON "{\"a\": [1, 2, {\"b\": \"c\"}], \"d\": \"x\", \"e\": [], \"f\": {\"g\": null}, \"h i\": -1}"

#define JSON_DOC "{\"a\": [1, 2.5, null, true, \"s\"], \"b\": {\"c\": \"d\"}, \"e\": \"\"}"

static void test_collections(void)
{
	struct skiff_error e;
	json_t *doc;

	doc = load(NESTED_YAML, &e);
	tap_ok(json_is(doc, NESTED_JSON),
	       "block maps and lists nest; number and boolean keys become strings");
	json_decref(doc);
	doc = load(FLOW_YAML, &e);
	tap_ok(json_is(doc, FLOW_JSON), "flow style");
	json_decref(doc);
	doc = load(JSON_DOC, &e);
	tap_ok(json_is(doc, JSON_DOC), "JSON reads as itself");
	json_decref(doc);
	doc = load("- a\n- b\n", &e);
	tap_ok(json_is(doc, "[\"a\", \"b\"]"), "a list at the top");
	json_decref(doc);
	doc = load("just text\n", &e);
	tap_ok(json_is(doc, "\"just text\""), "a scalar at the top");
	json_decref(doc);
}

#define MULTI \
	"a: 1\n---\n---\n# only a comment\n---\nb: 2\n...\n---\nnull\n--- c\n"

static void test_documents(void)
{
	struct skiff_error e;
	json_t *docs, *doc;

	docs = skiff_yaml_load_all(MULTI, strlen(MULTI), &e);
	tap_ok(json_is(docs, "[{\"a\": 1}, {\"b\": 2}, \"c\"]"),
	       "documents split at ---, empty and null ones left out");
	json_decref(docs);
	doc = load(MULTI, &e);
	tap_ok(!doc && e.err == -EINVAL && strstr(e.msg, "more than one document"),
	       "one document wanted, several refused: %s", e.msg);
	json_decref(doc);
	doc = load("---\na: 1\n---\n---\n", &e);
	tap_ok(json_is(doc, "{\"a\": 1}"), "one document with empty ones around it");
	json_decref(doc);
	doc = load("", &e);
	tap_ok(json_is_null(doc), "nothing at all is null");
	json_decref(doc);
	docs = skiff_yaml_load_all("# nothing\n", 10, &e);
	tap_ok(json_is(docs, "[]"), "a stream of comments has no documents");
	json_decref(docs);
}

#define ANCHORS \
	"base: &base\n" \
	"  image: nginx\n" \
	"  ports: [80]\n" \
	"m1: &m1 {x: 1, y: 1}\n" \
	"m2: &m2 {y: 2, z: 2}\n" \
	"a:\n" \
	"  image: httpd\n" \
	"  <<: *base\n" \
	"list: [*base, *base]\n" \
	"b:\n" \
	"  <<: [*m1, *m2]\n" \
	"  z: 3\n" \
	"s: &s text\n" \
	"t: *s\n" \
	"\"<<\": quoted is a plain key\n"

#define ANCHORS_JSON \
	"{\"base\": {\"image\": \"nginx\", \"ports\": [80]}," \
	" \"m1\": {\"x\": 1, \"y\": 1}, \"m2\": {\"y\": 2, \"z\": 2}," \
	" \"a\": {\"image\": \"httpd\", \"ports\": [80]}," \
	" \"list\": [{\"image\": \"nginx\", \"ports\": [80]}," \
	" {\"image\": \"nginx\", \"ports\": [80]}]," \
	" \"b\": {\"x\": 1, \"y\": 1, \"z\": 3}, \"s\": \"text\", \"t\": \"text\"," \
	" \"<<\": \"quoted is a plain key\"}"

static void test_aliases(void)
{
	struct skiff_error e;
	json_t *doc, *list;
	char *text;
	size_t i;

	doc = load(ANCHORS, &e);
	if (!doc)
		tap_diag("%s", e.msg);
	tap_ok(json_is(doc, ANCHORS_JSON),
	       "aliases expand; << merges, written keys and earlier merges win");
	list = json_object_get(doc, "list");
	tap_ok(json_array_get(list, 0) != json_array_get(list, 1) &&
	       json_array_get(list, 0) != json_object_get(doc, "base"),
	       "each alias is a copy of its own");
	json_decref(doc);

	doc = load(BOMB, &e);
	tap_ok(!doc && e.err == -EINVAL && strstr(e.msg, "excessive aliasing"),
	       "a billion laughs refused: %s", e.msg);
	json_decref(doc);

	/* Fair use: one 50-node anchor used 150 times. */
	text = strdup("base: &b {");
	for (i = 0; i < 50; i++) {
		char *next;

		if (asprintf(&next, "%sk%zu: v, ", text, i) < 0)
			abort();
		free(text);
		text = next;
	}
	for (i = 0; i < 150; i++) {
		char *next;

		if (asprintf(&next, "%s%s%zu: *b\n", text, i ? "" : "}\n", i) < 0)
			abort();
		free(text);
		text = next;
	}
	doc = load(text, &e);
	tap_ok(doc && json_object_size(doc) == 151,
	       "an anchor used 150 times is fine%s%s", doc ? "" : ": ", doc ? "" : e.msg);
	json_decref(doc);
	free(text);
}

static void test_errors(void)
{
	struct skiff_error e;
	json_t *doc;
	char *deep;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(errors); i++) {
		doc = load(errors[i].yaml, &e);
		tap_ok(!doc && e.err == -EINVAL &&
		       !strncmp(e.msg, errors[i].msg, strlen(errors[i].msg)),
		       "refused: %s", errors[i].msg);
		if (doc || strncmp(e.msg, errors[i].msg, strlen(errors[i].msg)))
			tap_diag("got: %s", doc ? "a document" : e.msg);
		json_decref(doc);
	}
	deep = malloc(4002);
	memset(deep, '[', 2000);
	memset(deep + 2000, ']', 2000);
	deep[4000] = '\0';
	doc = load(deep, &e);
	tap_ok(!doc && strstr(e.msg, "nested deeper than 1000 levels"),
	       "2000 levels of nesting refused: %s", e.msg);
	free(deep);
}

#define LONG_LINE \
	"a long line with spaces that goes on and on and on, well past eighty columns, " \
	"so that a writer that folds lines would fold it"
#define NUMBERS \
	"[0, -1, 9223372036854775807, -9223372036854775808," \
	" 1.0, 0.1, 1e100, -0.0, 123456789.123, 2.5e-300]"
#define OTHER "[true, false, null, {}, [], [[1, [2]], []], {\"a\": [{\"b\": {}}]}]"

static json_t *tricky_doc(void)
{
	json_t *doc = json_object(), *strings = json_array(), *keys = json_object();
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tricky); i++) {
		json_array_append_new(strings, json_string(tricky[i]));
		json_object_set_new(keys, tricky[i], json_integer(i));
	}
	json_array_append_new(strings, json_stringn("nul\0inside", 10));
	json_array_append_new(strings, json_string(LONG_LINE));
	json_object_set_new(doc, "strings", strings);
	json_object_set_new(doc, "keys", keys);
	json_object_set_new(doc, "numbers", json_loads(NUMBERS, 0, NULL));
	json_object_set_new(doc, "other", json_loads(OTHER, 0, NULL));
	return doc;
}

/* PyYAML reads YAML 1.1 as kubectl's go-yaml v2 does: yes is a boolean. */
#define PYYAML \
	"python3 -c 'import json, sys, yaml; " \
	"json.dump(yaml.safe_load(sys.stdin), sys.stdout)' < %s 2>/dev/null"

static void test_yaml11(const char *text, const json_t *doc)
{
	char path[] = "/tmp/skiff-yaml-XXXXXX", cmd[256], got[65536];
	json_t *back = NULL;
	size_t n = 0;
	FILE *p;
	int fd;

	if (system("python3 -c 'import yaml' 2>/dev/null")) {
		tap_ok(true, "# SKIP PyYAML (a YAML 1.1 reader) not installed");
		return;
	}
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	snprintf(cmd, sizeof(cmd), PYYAML, path);
	p = popen(cmd, "r");
	if (p) {
		n = fread(got, 1, sizeof(got) - 1, p);
		pclose(p);
	}
	got[n] = '\0';
	unlink(path);
	back = json_loads(got, JSON_ALLOW_NUL, NULL);
	tap_ok(back && json_equal(back, doc),
	       "a YAML 1.1 reader (PyYAML, as kubectl's go-yaml v2) reads the dump the same");
	if (!back || !json_equal(back, doc))
		tap_diag("PyYAML read: %.2000s", got);
	json_decref(back);
}

static void test_dump(void)
{
	json_t *doc = tricky_doc(), *back, *small;
	struct skiff_error e;
	char *text;

	text = skiff_yaml_dump(doc);
	back = text ? load(text, &e) : NULL;
	tap_ok(back && json_equal(back, doc), "dump then load gives the same JSON");
	if (!back || !json_equal(back, doc))
		tap_diag("dump:\n%s\nload: %s", text ?: "(null)", back ? "differs" : e.msg);
	json_decref(back);
	test_yaml11(text ?: "", doc);
	free(text);
	json_decref(doc);

	small = json_pack("{s:s, s:s, s:s, s:i, s:[s], s:{}, s:s}", "name", "web",
			  "enabled", "true", "mode", "0644", "replicas", 3,
			  "args", "--port", "labels", "empty", "");
	text = skiff_yaml_dump(small);
	tap_is_str(text,
		   "name: web\n"
		   "enabled: \"true\"\n"
		   "mode: \"0644\"\n"
		   "replicas: 3\n"
		   "args:\n"
		   "- --port\n"
		   "labels: {}\n"
		   "empty: \"\"\n",
		   "block style as kubectl writes it, quotes only where needed");
	free(text);
	json_decref(small);
}

/* The value at "spec.containers.0.image": numbers index lists. */
static const json_t *dig(const json_t *j, const char *path)
{
	char part[64];
	size_t n;

	while (j && *path) {
		n = strcspn(path, ".");
		snprintf(part, sizeof(part), "%.*s", (int)n, path);
		j = json_is_array(j) ? json_array_get(j, strtoul(part, NULL, 10)) :
			json_object_get(j, part);
		path += n + !!path[n];
	}
	return j;
}

#define CONTAINER "spec.template.spec.containers.0."
#define SERVICE_SPEC \
	"{\"selector\": {\"app\": \"nginx\"}," \
	" \"ports\": [{\"port\": 80, \"targetPort\": 80}]}"

static void test_manifests(void)
{
	struct skiff_error e;
	json_t *docs, *d, *k;

	docs = skiff_yaml_load_all(deployment, strlen(deployment), &e);
	if (!docs)
		tap_diag("%s", e.msg);
	tap_is_int(json_array_size(docs), 2, "a Deployment and a Service");
	d = json_array_get(docs, 0);
	tap_ok(json_is(dig(d, "spec.replicas"), "3") &&
	       json_is(dig(d, CONTAINER "ports.0.containerPort"), "80") &&
	       json_is(dig(d, CONTAINER "image"), "\"nginx:1.14.2\"") &&
	       json_is(dig(d, CONTAINER "args"), "[\"--port\", \"80\"]") &&
	       json_is(dig(d, CONTAINER "env.0.value"), "\"true\"") &&
	       json_is(dig(d, CONTAINER "env.1.value"), "\"8080\"") &&
	       json_is(dig(d, CONTAINER "resources.limits.memory"), "\"128Mi\"") &&
	       json_is(dig(d, CONTAINER "command.2"),
		       "\"echo start\\nexec nginx -g 'daemon off;'\\n\"") &&
	       json_is(dig(d, "spec.strategy.rollingUpdate"),
		       "{\"maxSurge\": \"25%\", \"maxUnavailable\": 0}"),
	       "the Deployment's fields have their types");
	tap_ok(json_is(dig(d, "spec.template.spec.volumes.0.configMap.defaultMode"), "420"),
	       "defaultMode: 0644 is octal, as kubectl reads it");
	tap_ok(json_is(dig(docs, "1.spec"), SERVICE_SPEC), "the Service after ---");
	json_decref(docs);

	k = load(kind_kubeconfig, &e);
	tap_ok(json_is(dig(k, "current-context"), "\"kind-kind\"") &&
	       json_is(dig(k, "clusters.0.cluster.server"), "\"https://127.0.0.1:41263\"") &&
	       json_is(dig(k, "preferences"), "{}") &&
	       json_is_string(dig(k, "users.0.user.client-key-data")),
	       "a kubeconfig as kind writes it");
	json_decref(k);
}

static void test_file(void)
{
	char path[] = "/tmp/skiff-yaml-XXXXXX";
	struct skiff_error e;
	json_t *doc;
	int fd;

	fd = mkstemp(path);
	if (fd < 0 || write(fd, "a: 1\nb: [\n", 10) != 10)
		abort();
	close(fd);
	doc = skiff_yaml_load_file(path, 0, &e);
	tap_ok(!doc && !strncmp(e.msg, path, strlen(path)) && strstr(e.msg, "line 3"),
	       "a file's error names the file and the line: %s", e.msg);
	unlink(path);
	doc = skiff_yaml_load_file(path, 0, &e);
	tap_ok(!doc && e.err == -ENOENT && strstr(e.msg, "No such file"),
	       "a missing file: %s", e.msg);
}

int main(void)
{
	tap_plan(ARRAY_SIZE(typing) + 5 + 5 + 4 + ARRAY_SIZE(errors) + 1 + 3 + 5 + 2);
	test_typing();
	test_collections();
	test_documents();
	test_aliases();
	test_errors();
	test_dump();
	test_manifests();
	test_file();
	return tap_done();
}
