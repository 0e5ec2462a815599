// SPDX-License-Identifier: GPL-2.0
/*
 * Label and field selectors: every operator on objects that have the label
 * or not, the text grammar as Kubernetes reads it, LabelSelector objects,
 * and one refused input for each rule of validation.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"
#include "tap.h"
#include "util.h"

/* JSON text with ' for ", which reads better in C. */
static json_t *json(const char *text)
{
	char *s = strdup(text), *c;
	json_error_t error;
	json_t *v;

	if (!s)
		return NULL;
	for (c = s; *c; c++)
		if (*c == '\'')
			*c = '"';
	v = json_loads(s, JSON_DECODE_ANY, &error);
	if (!v)
		tap_diag("bad test JSON %s: %s", text, error.text);
	free(s);
	return v;
}

/* @s on one line, for a test's description. */
static const char *oneline(const char *s)
{
	static char buf[4][512];
	static int next;
	char *out = buf[next++ % 4], *c;

	snprintf(out, sizeof(buf[0]), "%s", s);
	for (c = out; *c; c++)
		if (*c == '\n' || *c == '\t' || *c == '\r')
			*c = ' ';
	return out;
}

static const char web[] = "{'app': 'web', 'tier': 'front', 'env': 'prod'}";
static const char db[] = "{'app': 'db', 'env': 'dev'}";
static const char none[] = "{}";

struct match_case {
	const char *selector;
	const char *labels;	/* NULL: an object without labels */
	bool want;
};

static const struct match_case label_cases[] = {
	{ "", web, true },
	{ "", NULL, true },
	{ "app=web", web, true },
	{ "app=web", db, false },
	{ "app=web", none, false },
	{ "app==web", web, true },
	{ "app==web", db, false },
	{ "app!=web", web, false },
	{ "app!=web", db, true },
	{ "app!=web", none, true },		/* absent: selected */
	{ "app in (web,db)", web, true },
	{ "app in (web,db)", db, true },
	{ "app in (web,db)", none, false },
	{ "app in (cache)", web, false },
	{ "app notin (web)", web, false },
	{ "app notin (web)", db, true },
	{ "app notin (web)", none, true },	/* absent: selected */
	{ "app notin (web,db)", NULL, true },
	{ "app", web, true },
	{ "app", none, false },
	{ "app", NULL, false },
	{ "!app", web, false },
	{ "!app", none, true },
	{ "!tier", db, true },
	{ "app,env=prod", web, true },
	{ "app,env=prod", db, false },
	{ "app=web,tier in (front,back),!canary", web, true },
	{ "app=web,tier in (back)", web, false },
	/* blanks around everything, and none at all */
	{ "  app = web ,  env  in ( prod , dev )  ", web, true },
	{ "\tapp\n==\rweb", web, true },
	{ "app in(web)", web, true },
	{ "app notin(web,db)", none, true },
	{ "app!=db,env", web, true },
	/* empty values: "a=", "(,x)" and "()" hold "" */
	{ "env=", "{'env': ''}", true },
	{ "env=", web, false },
	{ "env=", none, false },
	{ "env!=", none, true },
	{ "env!=", "{'env': ''}", false },
	{ "env in (,dev)", "{'env': ''}", true },
	{ "env in (,dev)", db, true },
	{ "env in (dev,)", "{'env': ''}", true },
	{ "env in ()", "{'env': ''}", true },
	{ "env in ()", db, false },
	/* "in" and "notin" are keywords only where an operator goes */
	{ "in=notin", "{'in': 'notin'}", true },
	{ "notin in (in)", "{'notin': 'in'}", true },
	{ "app=in", "{'app': 'in'}", true },
	/* gt and lt compare integers */
	{ "replicas>5", "{'replicas': '10'}", true },
	{ "replicas>5", "{'replicas': '5'}", false },
	{ "replicas>5", "{'replicas': 'many'}", false },
	{ "replicas>5", none, false },
	{ "replicas<5", "{'replicas': '3'}", true },
	{ "replicas<5", "{'replicas': '7'}", false },
	/* qualified keys */
	{ "example.com/app=web", "{'example.com/app': 'web'}", true },
	{ "k8s.io/app", "{'k8s.io/app': 'x'}", true },
	{ "A_b.c-D9=x.Y_z-0", "{'A_b.c-D9': 'x.Y_z-0'}", true },
	{ "a=b", "{'a': 'B'}", false },		/* values are case sensitive */
};

struct error_case {
	const char *selector;
	const char *want;	/* a part of the message */
};

static const struct error_case label_errors[] = {
	{ "app in (web", "found end of selector, expected ',' or ')'" },
	{ "app in web", "found 'web', expected '('" },
	{ "app web", "found 'web', expected one of in, notin" },
	{ "app!", "found '!', expected one of" },
	{ ",app", "found ',', expected '!', an identifier" },
	{ "app,", "found end of selector, expected an identifier after ','" },
	{ "app,,env", "found ',', expected an identifier after ','" },
	{ "app=web=x", "found '=', expected ',' or end of selector" },
	{ "app=web x", "found 'x', expected ',' or end of selector" },
	{ "!app=web", "found '=', expected ',' or end of selector" },
	{ "=web", "found '=', expected '!', an identifier" },
	{ "!", "found end of selector, expected an identifier" },
	{ "app in (a b)", "found 'b', expected ',' or ')'" },
	{ "app in (a,=)", "found '=', expected ',' or an identifier" },
	{ "app in (a)x", "found 'x', expected ',' or end of selector" },
	{ "app notin", "found end of selector, expected '('" },
	{ "app==(x)", "found '(', expected an identifier" },
	{ "replicas>many", "'gt' and 'lt' take one integer value" },
	{ "replicas<", "'gt' and 'lt' take one integer value" },
	{ "a/b/c=x", "more than one '/'" },
	{ "/a=x", "empty prefix" },
	{ "a/=x", "empty name" },
	{ "Example.com/a=x", "the prefix must be a DNS subdomain" },
	{ "a..b/x=y", "the prefix must be a DNS subdomain" },
	{ "a-.b/x=y", "the prefix must be a DNS subdomain" },
	{ "-a.b/x=y", "the prefix must be a DNS subdomain" },
	{ "a_b/x=y", "the prefix must be a DNS subdomain" },
	{ "-app=x", "must be alphanumerics" },
	{ "app-=x", "must be alphanumerics" },
	{ "a%b=x", "must be alphanumerics" },
	{ "app=-x", "invalid value \"-x\" for label \"app\"" },
	{ "app=x_", "invalid value \"x_\"" },
	{ "app in (ok,bad$)", "invalid value \"bad$\"" },
	{ "app=a/b", "invalid value \"a/b\"" },
};

static void test_label_text(void)
{
	const struct match_case *c;
	const struct error_case *x;
	struct skiff_selector *sel;
	char err[256];
	json_t *labels;
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(label_cases); i++) {
		c = &label_cases[i];
		labels = c->labels ? json(c->labels) : NULL;
		ret = skiff_label_selector_parse(c->selector, &sel, err,
						 sizeof(err));
		if (!tap_ok(!ret && skiff_selector_match_labels(sel, labels) ==
			    c->want, "\"%s\" %s %s", oneline(c->selector),
			    c->want ? "selects" : "does not select",
			    c->labels ? c->labels : "no labels") && ret)
			tap_diag("parse error: %s", err);
		skiff_selector_free(sel);
		json_decref(labels);
	}

	for (i = 0; i < ARRAY_SIZE(label_errors); i++) {
		x = &label_errors[i];
		err[0] = '\0';
		sel = (void *)1;
		ret = skiff_label_selector_parse(x->selector, &sel, err,
						 sizeof(err));
		if (!tap_ok(ret == -EINVAL && !sel && strstr(err, x->want),
			    "\"%s\" is refused: %s", x->selector, x->want))
			tap_diag("returned %d, error \"%s\"", ret, err);
		if (!ret)
			skiff_selector_free(sel);
	}
}

/* Keys and values at the length limits, and one past them. */
static void test_label_lengths(void)
{
	char name[64 + 1], text[400], err[1024];
	char prefix[254 + 1];
	struct skiff_selector *sel;
	json_t *labels;
	int ret;

	memset(name, 'n', 63);
	name[63] = '\0';
	snprintf(text, sizeof(text), "%s=%s", name, name);
	labels = json_pack("{ss}", name, name);
	ret = skiff_label_selector_parse(text, &sel, err, sizeof(err));
	tap_ok(!ret && skiff_selector_match_labels(sel, labels),
	       "63-character key name and value are valid");
	skiff_selector_free(sel);
	json_decref(labels);

	memset(name, 'n', 64);
	name[64] = '\0';
	snprintf(text, sizeof(text), "%s=x", name);
	ret = skiff_label_selector_parse(text, &sel, err, sizeof(err));
	tap_ok(ret == -EINVAL && strstr(err, "longer than 63"),
	       "64-character key name is refused");
	snprintf(text, sizeof(text), "x=%s", name);
	ret = skiff_label_selector_parse(text, &sel, err, sizeof(err));
	tap_ok(ret == -EINVAL && strstr(err, "longer than 63"),
	       "64-character value is refused");

	/* a 253-character prefix: DNS labels of 62 and dots */
	memset(prefix, 'p', 253);
	prefix[62] = '.';
	prefix[125] = '.';
	prefix[188] = '.';
	prefix[253] = '\0';
	snprintf(text, sizeof(text), "%s/app", prefix);
	ret = skiff_label_selector_parse(text, &sel, err, sizeof(err));
	tap_ok(!ret, "253-character prefix is valid");
	skiff_selector_free(sel);
	prefix[253] = 'p';
	prefix[254] = '\0';
	snprintf(text, sizeof(text), "%s/app", prefix);
	ret = skiff_label_selector_parse(text, &sel, err, sizeof(err));
	tap_ok(ret == -EINVAL && strstr(err, "DNS subdomain"),
	       "254-character prefix is refused");
}

struct object_case {
	const char *selector;	/* a LabelSelector, NULL for none */
	const char *labels;
	bool want;
};

static const struct object_case object_cases[] = {
	{ NULL, web, true },
	{ "null", web, true },
	{ "{}", none, true },
	{ "{'matchLabels': {}, 'matchExpressions': []}", web, true },
	{ "{'matchLabels': {'app': 'web'}}", web, true },
	{ "{'matchLabels': {'app': 'web'}}", db, false },
	{ "{'matchLabels': {'app': 'web', 'env': 'dev'}}", web, false },
	{ "{'matchExpressions': [{'key': 'app', 'operator': 'In',\n"
	  " 'values': ['db', 'cache']}]}", db, true },
	{ "{'matchExpressions': [{'key': 'app', 'operator': 'In',\n"
	  " 'values': ['db', 'cache']}]}", web, false },
	{ "{'matchExpressions': [{'key': 'app', 'operator': 'NotIn',\n"
	  " 'values': ['db']}]}", none, true },
	{ "{'matchExpressions': [{'key': 'app', 'operator': 'NotIn',\n"
	  " 'values': ['db']}]}", db, false },
	{ "{'matchExpressions': [{'key': 'tier',\n"
	  " 'operator': 'Exists'}]}", web, true },
	{ "{'matchExpressions': [{'key': 'tier',\n"
	  " 'operator': 'Exists'}]}", db, false },
	{ "{'matchExpressions': [{'key': 'tier',\n"
	  " 'operator': 'DoesNotExist', 'values': []}]}", db, true },
	{ "{'matchExpressions': [{'key': 'tier',\n"
	  " 'operator': 'DoesNotExist'}]}", web, false },
	{ "{'matchLabels': {'env': 'prod'}, 'matchExpressions': [\n"
	  " {'key': 'app', 'operator': 'In', 'values': ['web']},\n"
	  " {'key': 'canary', 'operator': 'DoesNotExist'}]}", web, true },
	{ "{'matchLabels': {'env': 'dev'}, 'matchExpressions': [\n"
	  " {'key': 'app', 'operator': 'In', 'values': ['web']}]}", db, false },
};

static const struct error_case object_errors[] = {
	{ "[]", "must be an object" },
	{ "{'matchLabels': []}", "matchLabels must be an object" },
	{ "{'matchLabels': {'app': 1}}",
	  "the value of \"app\" must be a string" },
	{ "{'matchLabels': {'a b': 'x'}}", "invalid label key \"a b\"" },
	{ "{'matchLabels': {'app': 'x y'}}", "invalid value \"x y\"" },
	{ "{'matchExpressions': {}}", "matchExpressions must be a list" },
	{ "{'matchExpressions': ['app']}",
	  "matchExpressions[0] must be an object" },
	{ "{'matchExpressions': [{'operator': 'Exists'}]}",
	  "matchExpressions[0].key must be a string" },
	{ "{'matchExpressions': [{'key': 'a', 'operator': 'Exists'},\n"
	  " {'key': 'b', 'operator': 'in', 'values': ['x']}]}",
	  "matchExpressions[1].operator must be one of" },
	{ "{'matchExpressions': [{'key': 'a', 'operator': 'Gt',\n"
	  " 'values': ['1']}]}", "operator must be one of" },
	{ "{'matchExpressions': [{'key': 'a'}]}", "operator must be one of" },
	{ "{'matchExpressions': [{'key': 'a', 'operator': 'In',\n"
	  " 'values': []}]}", "must not be empty" },
	{ "{'matchExpressions': [{'key': 'a', 'operator': 'NotIn'}]}",
	  "must not be empty" },
	{ "{'matchExpressions': [{'key': 'a', 'operator': 'Exists',\n"
	  " 'values': ['x']}]}", "take no values" },
	{ "{'matchExpressions': [{'key': 'a', 'operator': 'DoesNotExist',\n"
	  " 'values': ['x']}]}", "take no values" },
	{ "{'matchExpressions': [{'key': 'a', 'operator': 'In',\n"
	  " 'values': 'x'}]}", "values must be a list" },
	{ "{'matchExpressions': [{'key': 'a', 'operator': 'In',\n"
	  " 'values': [1]}]}", "values[0] must be a string" },
	{ "{'matchExpressions': [{'key': '-a', 'operator': 'Exists'}]}",
	  "invalid label key \"-a\"" },
	{ "{'matchExpressions': [{'key': 'a', 'operator': 'In',\n"
	  " 'values': ['ok', '-bad']}]}", "invalid value \"-bad\"" },
};

static void test_label_objects(void)
{
	const struct object_case *c;
	const struct error_case *x;
	struct skiff_selector *sel;
	json_t *obj, *labels;
	char err[256];
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(object_cases); i++) {
		c = &object_cases[i];
		obj = c->selector ? json(c->selector) : NULL;
		labels = json(c->labels);
		ret = skiff_label_selector_from_json(obj, &sel, err,
						     sizeof(err));
		if (!tap_ok(!ret && skiff_selector_match_labels(sel, labels) ==
			    c->want, "LabelSelector %s %s %s",
			    oneline(c->selector ? c->selector : "(none)"),
			    c->want ? "selects" : "does not select",
			    c->labels) && ret)
			tap_diag("error: %s", err);
		skiff_selector_free(sel);
		json_decref(obj);
		json_decref(labels);
	}

	for (i = 0; i < ARRAY_SIZE(object_errors); i++) {
		x = &object_errors[i];
		obj = json(x->selector);
		err[0] = '\0';
		ret = skiff_label_selector_from_json(obj, &sel, err,
						     sizeof(err));
		if (!tap_ok(ret == -EINVAL && !sel && strstr(err, x->want),
			    "LabelSelector %s is refused: %s",
			    oneline(x->selector),
			    x->want))
			tap_diag("returned %d, error \"%s\"", ret, err);
		if (!ret)
			skiff_selector_free(sel);
		json_decref(obj);
	}
}

static const char pod[] =
	"{'metadata': {'name': 'web-1', 'namespace': 'default'},\n"
	" 'spec': {'nodeName': 'n1', 'hostNetwork': true, 'priority': 3},\n"
	" 'status': {'phase': 'Running'}}";
static const char odd_pod[] = "{'metadata': {'name': 'a,b=c\\\\d'}}";

static const struct match_case field_cases[] = {
	{ "", pod, true },
	{ "metadata.name=web-1", pod, true },
	{ "metadata.name==web-1", pod, true },
	{ "metadata.name!=web-1", pod, false },
	{ "metadata.name=web-2", pod, false },
	{ "metadata.name!=web-2", pod, true },
	{ "status.phase=Running,spec.nodeName=n1", pod, true },
	{ "status.phase=Running,spec.nodeName=n2", pod, false },
	{ "status.phase!=Pending,status.phase!=Failed", pod, true },
	/* a missing field reads as "" */
	{ "spec.schedulerName=", pod, true },
	{ "spec.schedulerName!=", pod, false },
	{ "spec.schedulerName!=default", pod, true },
	{ "spec.nodeName=", pod, false },
	{ "metadata.name.first=", pod, true },
	/* other scalars as their JSON text */
	{ "spec.hostNetwork=true", pod, true },
	{ "spec.priority=3", pod, true },
	{ "spec.priority!=3", pod, false },
	/* empty terms are skipped, escapes undone in values */
	{ "metadata.name=web-1,,", pod, true },
	{ ",metadata.namespace=default", pod, true },
	{ "metadata.name=a\\,b\\=c\\\\d", odd_pod, true },
	{ "metadata.name=a\\,b", odd_pod, false },
	/* blanks belong to the name and the value: no trimming */
	{ "metadata.name= web-1", pod, false },
	{ "metadata.name =web-1", pod, false },
};

static const char *const pod_fields[] = {
	"metadata.name", "metadata.namespace", "spec.nodeName",
	"status.phase", NULL,
};

static const struct error_case field_errors[] = {
	{ "metadata.name", "can't understand 'metadata.name'" },
	{ "metadata.name=web,phase", "can't understand 'phase'" },
	{ "=web", "no field name" },
	{ "!=web", "no field name" },
	{ "metadata.name=a=b", "unescaped '=' in value" },
	{ "metadata.name=a\\x", "invalid escape sequence" },
	{ "metadata.name=a\\", "invalid escape sequence" },
	{ "spec.restartPolicy=Always",
	  "field label not supported: spec.restartPolicy" },
	{ "metadata.name =web-1", "field label not supported: metadata.name " },
};

static void test_fields(void)
{
	const struct match_case *c;
	const struct error_case *x;
	struct skiff_selector *sel;
	char err[256];
	json_t *obj;
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(field_cases); i++) {
		c = &field_cases[i];
		obj = json(c->labels);
		ret = skiff_field_selector_parse(c->selector, NULL, &sel, err,
						 sizeof(err));
		if (!tap_ok(!ret && skiff_selector_match_fields(sel, obj) ==
			    c->want, "field selector \"%s\" %s", c->selector,
			    c->want ? "selects" : "does not select") && ret)
			tap_diag("parse error: %s", err);
		skiff_selector_free(sel);
		json_decref(obj);
	}

	for (i = 0; i < ARRAY_SIZE(field_errors); i++) {
		x = &field_errors[i];
		err[0] = '\0';
		ret = skiff_field_selector_parse(x->selector, pod_fields, &sel,
						 err, sizeof(err));
		if (!tap_ok(ret == -EINVAL && !sel && strstr(err, x->want),
			    "field selector \"%s\" is refused: %s",
			    x->selector, x->want))
			tap_diag("returned %d, error \"%s\"", ret, err);
		if (!ret)
			skiff_selector_free(sel);
	}

	ret = skiff_field_selector_parse("spec.nodeName=n1,status.phase=Ready",
					 pod_fields, &sel, err, sizeof(err));
	tap_ok(!ret, "allowed fields parse");
	skiff_selector_free(sel);
}

static void test_empty(void)
{
	struct skiff_selector *sel;
	char err[64];

	skiff_label_selector_parse("  ", &sel, err, sizeof(err));
	tap_ok(sel && skiff_selector_empty(sel),
	       "blank label selector is empty");
	skiff_selector_free(sel);
	skiff_label_selector_parse("a", &sel, err, sizeof(err));
	tap_ok(sel && !skiff_selector_empty(sel), "\"a\" is not empty");
	skiff_selector_free(sel);
	skiff_field_selector_parse(",,", NULL, &sel, err, sizeof(err));
	tap_ok(sel && skiff_selector_empty(sel),
	       "\",,\" field selector is empty");
	skiff_selector_free(sel);
	skiff_label_selector_from_json(NULL, &sel, err, sizeof(err));
	tap_ok(sel && skiff_selector_empty(sel), "no LabelSelector is empty");
	skiff_selector_free(sel);
	tap_ok(skiff_selector_empty(NULL), "NULL selector is empty");
}

int main(void)
{
	tap_plan(ARRAY_SIZE(label_cases) + ARRAY_SIZE(label_errors) + 5 +
		 ARRAY_SIZE(object_cases) + ARRAY_SIZE(object_errors) +
		 ARRAY_SIZE(field_cases) + ARRAY_SIZE(field_errors) + 1 + 5);
	test_label_text();
	test_label_lengths();
	test_label_objects();
	test_fields();
	test_empty();
	return tap_done();
}
