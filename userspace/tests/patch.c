// SPDX-License-Identifier: GPL-2.0
/*
 * The three patch formats: the examples of RFC 7386 and RFC 6902 appendix
 * A, the errors of each, and strategic merge patches as kubectl apply,
 * edit and patch send them. Every case also checks that the document it
 * patched is left as it was.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patch.h"
#include "tap.h"
#include "util.h"

typedef json_t *(*patch_fn)(const json_t *doc, const json_t *patch,
			    char *err, size_t err_len);

struct patch_case {
	const char *name;
	const char *doc;
	const char *patch;
	const char *want;	/* or "error: " and a part of the message */
};

#define ERROR_PREFIX "error: "

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

static void diag_json(const char *what, const json_t *v)
{
	char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT |
				 JSON_SORT_KEYS) : NULL;

	tap_diag("%s: %s", what, s ? s : "(none)");
	free(s);
}

static void run(patch_fn fn, const char *kind, const struct patch_case *c)
{
	json_t *doc = json(c->doc), *patch = json(c->patch);
	json_t *before = json(c->doc);
	const char *fails = NULL;
	json_t *want = NULL, *got;
	char err[512] = "";
	bool pass;

	if (!strncmp(c->want, ERROR_PREFIX, strlen(ERROR_PREFIX)))
		fails = c->want + strlen(ERROR_PREFIX);
	else
		want = json(c->want);
	got = fn(doc, patch, err, sizeof(err));
	if (fails)
		pass = !got && strstr(err, fails);
	else
		pass = got && want && json_equal(got, want);
	pass = pass && json_equal(doc, before);
	if (!tap_ok(pass, "%s: %s", kind, c->name)) {
		diag_json("got", got);
		diag_json("want", want);
		tap_diag("error: %s", err);
		if (!json_equal(doc, before))
			diag_json("the document changed", doc);
	}
	json_decref(got);
	json_decref(want);
	json_decref(before);
	json_decref(patch);
	json_decref(doc);
}

/* ---- RFC 7386 ------------------------------------------------------------ */

static const struct patch_case merge_cases[] = {
	/* appendix A, in its order */
	{ "A: replace a member", "{'a':'b'}", "{'a':'c'}", "{'a':'c'}" },
	{ "A: add a member", "{'a':'b'}", "{'b':'c'}", "{'a':'b','b':'c'}" },
	{ "A: null removes", "{'a':'b'}", "{'a':null}", "{}" },
	{ "A: null removes one", "{'a':'b','b':'c'}", "{'a':null}",
	  "{'b':'c'}" },
	{ "A: list to string", "{'a':['b']}", "{'a':'c'}", "{'a':'c'}" },
	{ "A: string to list", "{'a':'c'}", "{'a':['b']}", "{'a':['b']}" },
	{ "A: nested", "{'a':{'b':'c'}}", "{'a':{'b':'d','c':null}}",
	  "{'a':{'b':'d'}}" },
	{ "A: lists are replaced", "{'a':[{'b':'c'}]}", "{'a':[1]}",
	  "{'a':[1]}" },
	{ "A: list for list", "['a','b']", "['c','d']", "['c','d']" },
	{ "A: list for object", "{'a':'b'}", "['c']", "['c']" },
	{ "A: null for object", "{'a':'foo'}", "null", "null" },
	{ "A: string for object", "{'a':'foo'}", "'bar'", "'bar'" },
	{ "A: nulls in the target stay", "{'e':null}", "{'a':1}",
	  "{'e':null,'a':1}" },
	{ "A: object for list", "[1,2]", "{'a':'b','c':null}", "{'a':'b'}" },
	{ "A: nulls in new objects go", "{}", "{'a':{'bb':{'ccc':null}}}",
	  "{'a':{'bb':{}}}" },
	/* section 3 */
	{ "3: the example",
	  "{'title':'Goodbye!','author':{'givenName':'John',\n"
	  " 'familyName':'Doe'},'tags':['example','sample'],\n"
	  " 'content':'This will be unchanged'}",
	  "{'title':'Hello!','phoneNumber':'+01-123-456-7890',\n"
	  " 'author':{'familyName':null},'tags':['example']}",
	  "{'title':'Hello!','author':{'givenName':'John'},\n"
	  " 'tags':['example'],'content':'This will be unchanged',\n"
	  " 'phoneNumber':'+01-123-456-7890'}" },
	/* kubectl patch --type merge */
	{ "labels changed and removed",
	  "{'metadata':{'name':'web','labels':{'app':'web','old':'x'}},\n"
	  " 'spec':{'replicas':1}}",
	  "{'metadata':{'labels':{'old':null,'tier':'front'}},\n"
	  " 'spec':{'replicas':3}}",
	  "{'metadata':{'name':'web','labels':{'app':'web','tier':'front'}},\n"
	  " 'spec':{'replicas':3}}" },
	{ "containers are replaced whole",
	  "{'spec':{'containers':[{'name':'a','image':'x'},\n"
	  " {'name':'b','image':'y'}]}}",
	  "{'spec':{'containers':[{'name':'b','image':'z'}]}}",
	  "{'spec':{'containers':[{'name':'b','image':'z'}]}}" },
};

/* ---- RFC 6902 ------------------------------------------------------------ */

static const struct patch_case json_cases[] = {
	/* appendix A, in its order */
	{ "A.1 adding an object member", "{'foo':'bar'}",
	  "[{'op':'add','path':'/baz','value':'qux'}]",
	  "{'baz':'qux','foo':'bar'}" },
	{ "A.2 adding an array element", "{'foo':['bar','baz']}",
	  "[{'op':'add','path':'/foo/1','value':'qux'}]",
	  "{'foo':['bar','qux','baz']}" },
	{ "A.3 removing an object member", "{'baz':'qux','foo':'bar'}",
	  "[{'op':'remove','path':'/baz'}]", "{'foo':'bar'}" },
	{ "A.4 removing an array element", "{'foo':['bar','qux','baz']}",
	  "[{'op':'remove','path':'/foo/1'}]", "{'foo':['bar','baz']}" },
	{ "A.5 replacing a value", "{'baz':'qux','foo':'bar'}",
	  "[{'op':'replace','path':'/baz','value':'boo'}]",
	  "{'baz':'boo','foo':'bar'}" },
	{ "A.6 moving a value",
	  "{'foo':{'bar':'baz','waldo':'fred'},'qux':{'corge':'grault'}}",
	  "[{'op':'move','from':'/foo/waldo','path':'/qux/thud'}]",
	  "{'foo':{'bar':'baz'},\n"
	  " 'qux':{'corge':'grault','thud':'fred'}}" },
	{ "A.7 moving an array element",
	  "{'foo':['all','grass','cows','eat']}",
	  "[{'op':'move','from':'/foo/1','path':'/foo/3'}]",
	  "{'foo':['all','cows','eat','grass']}" },
	{ "A.8 testing a value: success", "{'baz':'qux','foo':['a',2,'c']}",
	  "[{'op':'test','path':'/baz','value':'qux'},\n"
	  " {'op':'test','path':'/foo/1','value':2}]",
	  "{'baz':'qux','foo':['a',2,'c']}" },
	{ "A.9 testing a value: error", "{'baz':'qux'}",
	  "[{'op':'test','path':'/baz','value':'bar'}]",
	  "error: operation 0 (test): test failed" },
	{ "A.10 adding a nested member object", "{'foo':'bar'}",
	  "[{'op':'add','path':'/child','value':{'grandchild':{}}}]",
	  "{'foo':'bar','child':{'grandchild':{}}}" },
	{ "A.11 ignoring unrecognized elements", "{'foo':'bar'}",
	  "[{'op':'add','path':'/baz','value':'qux','xyz':123}]",
	  "{'foo':'bar','baz':'qux'}" },
	{ "A.12 adding to a nonexistent target", "{'foo':'bar'}",
	  "[{'op':'add','path':'/baz/bat','value':'qux'}]",
	  "error: path \"/baz/bat\" does not exist" },
	/* jansson keeps the last "op": the remove then fails */
	{ "A.13 invalid JSON patch document", "{'foo':'bar'}",
	  "[{'op':'add','path':'/baz','value':'qux','op':'remove'}]",
	  "error: operation 0 (remove): path \"/baz\" does not exist" },
	{ "A.14 ~ escape ordering", "{'/':9,'~1':10}",
	  "[{'op':'test','path':'/~01','value':10}]", "{'/':9,'~1':10}" },
	{ "A.15 comparing strings and numbers", "{'/':9,'~1':10}",
	  "[{'op':'test','path':'/~01','value':'10'}]",
	  "error: test failed" },
	{ "A.16 adding an array value", "{'foo':['bar']}",
	  "[{'op':'add','path':'/foo/-','value':['abc','def']}]",
	  "{'foo':['bar',['abc','def']]}" },
	/* the whole document */
	{ "add at the root replaces all", "{'a':1}",
	  "[{'op':'add','path':'','value':{'b':2}}]", "{'b':2}" },
	{ "replace at the root", "{'a':1}",
	  "[{'op':'replace','path':'','value':[1]}]", "[1]" },
	{ "test at the root", "{'a':1.0}",
	  "[{'op':'test','path':'','value':{'a':1}}]", "{'a':1.0}" },
	{ "remove the root", "{'a':1}", "[{'op':'remove','path':''}]",
	  "error: the whole document cannot be removed" },
	/* tokens */
	{ "'/' is the member named ''", "{'':1,'a':{'':2}}",
	  "[{'op':'replace','path':'/','value':3},\n"
	  " {'op':'remove','path':'/a/'}]", "{'':3,'a':{}}" },
	{ "~1 and ~0 in names", "{}",
	  "[{'op':'add','path':'/a~1b~0c','value':1}]", "{'a/b~c':1}" },
	{ "a bad ~ escape", "{}",
	  "[{'op':'add','path':'/a~2','value':1}]",
	  "error: '~' must be followed by 0 or 1" },
	{ "a path without '/'", "{}",
	  "[{'op':'add','path':'a','value':1}]",
	  "error: \"a\" must be empty or start with '/'" },
	/* arrays */
	{ "add at the end by index", "{'a':[1]}",
	  "[{'op':'add','path':'/a/1','value':2}]", "{'a':[1,2]}" },
	{ "add past the end", "{'a':[1]}",
	  "[{'op':'add','path':'/a/2','value':2}]",
	  "error: array index \"2\" is out of range" },
	{ "an index with a leading zero", "{'a':[1,2]}",
	  "[{'op':'replace','path':'/a/01','value':2}]",
	  "error: \"01\" is not an array index" },
	{ "a negative index", "{'a':[1,2]}",
	  "[{'op':'remove','path':'/a/-1'}]",
	  "error: \"-1\" is not an array index" },
	{ "'-' names nothing to remove", "{'a':[1,2]}",
	  "[{'op':'remove','path':'/a/-'}]",
	  "error: array index \"-\" is out of range" },
	{ "remove past the end", "{'a':[1,2]}",
	  "[{'op':'remove','path':'/a/2'}]",  "error: out of range" },
	{ "replace an element", "{'a':[1,2]}",
	  "[{'op':'replace','path':'/a/0','value':{'x':null}}]",
	  "{'a':[{'x':null},2]}" },
	{ "through an array into an object", "{'a':[{'b':1}]}",
	  "[{'op':'replace','path':'/a/0/b','value':2}]", "{'a':[{'b':2}]}" },
	{ "into a scalar", "{'a':1}",
	  "[{'op':'add','path':'/a/b','value':2}]",
	  "error: its parent is not an object or an array" },
	/* targets that must exist */
	{ "replace a missing member", "{'a':1}",
	  "[{'op':'replace','path':'/b','value':2}]",
	  "error: path \"/b\" does not exist" },
	{ "remove a missing member", "{'a':1}",
	  "[{'op':'remove','path':'/b'}]",
	  "error: path \"/b\" does not exist" },
	{ "test a missing member", "{'a':1}",
	  "[{'op':'test','path':'/b','value':null}]",
	  "error: path \"/b\" does not exist" },
	{ "move from a missing member", "{'a':1}",
	  "[{'op':'move','from':'/b','path':'/c'}]",
	  "error: path \"/b\" does not exist" },
	{ "copy from a missing member", "{'a':1}",
	  "[{'op':'copy','from':'/b','path':'/c'}]",
	  "error: path \"/b\" does not exist" },
	/* move and copy */
	{ "copy", "{'a':{'b':1}}",
	  "[{'op':'copy','from':'/a','path':'/c'}]",
	  "{'a':{'b':1},'c':{'b':1}}" },
	{ "copy into its own child", "{'a':{'b':1}}",
	  "[{'op':'copy','from':'/a','path':'/a/c'}]",
	  "{'a':{'b':1,'c':{'b':1}}}" },
	{ "copies are not shared", "{'a':{'b':1}}",
	  "[{'op':'copy','from':'/a','path':'/c'},\n"
	  " {'op':'replace','path':'/c/b','value':2}]",
	  "{'a':{'b':1},'c':{'b':2}}" },
	{ "move into its own child", "{'a':{'b':1}}",
	  "[{'op':'move','from':'/a','path':'/a/c'}]",
	  "error: cannot be moved into its own child" },
	{ "move onto itself", "{'a':{'b':1}}",
	  "[{'op':'move','from':'/a','path':'/a'}]", "{'a':{'b':1}}" },
	{ "move to a sibling with a longer name", "{'a':1}",
	  "[{'op':'move','from':'/a','path':'/ab'}]", "{'ab':1}" },
	/* values */
	{ "add null", "{}", "[{'op':'add','path':'/a','value':null}]",
	  "{'a':null}" },
	{ "test numbers by value", "{'a':1,'b':[{'x':2.5,'y':1}]}",
	  "[{'op':'test','path':'/a','value':1.0},\n"
	  " {'op':'test','path':'/b','value':[{'y':1,'x':2.5}]}]",
	  "{'a':1,'b':[{'x':2.5,'y':1}]}" },
	{ "test false and null differ", "{'a':false}",
	  "[{'op':'test','path':'/a','value':null}]",  "error: test failed" },
	{ "test list order matters", "{'a':[1,2]}",
	  "[{'op':'test','path':'/a','value':[2,1]}]",  "error: test failed" },
	/* malformed operations */
	{ "not a list", "{}", "{'op':'add','path':'/a','value':1}",
	  "error: must be a list of operations" },
	{ "an operation that is not an object", "{}", "[1]",
	  "error: an operation must be an object" },
	{ "no op", "{}", "[{'path':'/a','value':1}]",
	  "error: \"op\" is missing" },
	{ "op not a string", "{}", "[{'op':1,'path':'/a'}]",
	  "error: \"op\" must be a string" },
	{ "unknown op", "{}", "[{'op':'merge','path':'/a','value':1}]",
	  "error: operation 0 (merge): unknown operation" },
	{ "no path", "{}", "[{'op':'add','value':1}]",
	  "error: \"path\" is missing" },
	{ "no value", "{}", "[{'op':'add','path':'/a'}]",
	  "error: \"value\" is missing" },
	{ "no from", "{'a':1}", "[{'op':'move','path':'/b'}]",
	  "error: \"from\" is missing" },
	{ "the failing operation is named", "{'a':1}",
	  "[{'op':'add','path':'/b','value':2},\n"
	  " {'op':'remove','path':'/c'}]",
	  "error: json patch operation 1 (remove)" },
	{ "an empty patch changes nothing", "{'a':1}", "[]", "{'a':1}" },
};

/* ---- strategic merge patch ---------------------------------------------- */

/* A Deployment as the apiserver holds it, and kubectl apply's patches. */
#define DEPLOYMENT(CONTAINERS)						\
	"{'apiVersion':'apps/v1','kind':'Deployment',\n"		\
	" 'metadata':{'name':'web','namespace':'default',\n"		\
	"  'annotations':{'deployment.kubernetes.io/revision':'1'}},\n"	\
	" 'spec':{'replicas':2,\n"					\
	"  'selector':{'matchLabels':{'app':'web'}},\n"		\
	"  'template':{'metadata':{'labels':{'app':'web'}},\n"		\
	"   'spec':{'containers':" CONTAINERS "}}}}"

#define TEMPLATE_SPEC(SPEC)						\
	"{'spec':{'template':{'spec':" SPEC "}}}"

static const struct patch_case smp_cases[] = {
	/* maps and nulls */
	{ "maps merge", "{'a':1,'b':{'c':2}}", "{'b':{'d':3}}",
	  "{'a':1,'b':{'c':2,'d':3}}" },
	{ "null deletes", "{'a':1,'b':{'c':2}}", "{'b':null}", "{'a':1}" },
	{ "null for a missing field is dropped", "{'a':1}", "{'x':null}",
	  "{'a':1}" },
	{ "nulls in a new subtree are dropped", "{}",
	  "{'metadata':{'labels':{'a':'1','b':null}}}",
	  "{'metadata':{'labels':{'a':'1'}}}" },
	{ "kubectl edit: labels and annotations",
	  "{'metadata':{'name':'x','labels':{'app':'web'},\n"
	  " 'annotations':{'old':'1','keep':'2'}}}",
	  "{'metadata':{'labels':{'tier':'backend'},\n"
	  " 'annotations':{'old':null}}}",
	  "{'metadata':{'name':'x','labels':{'app':'web','tier':'backend'},\n"
	  " 'annotations':{'keep':'2'}}}" },
	{ "a map replaced by a scalar", "{'a':{'b':1}}", "{'a':'x'}",
	  "{'a':'x'}" },
	{ "a scalar replaced by a map", "{'a':'x'}",
	  "{'a':{'b':1,'c':null}}", "{'a':{'b':1}}" },
	{ "fields of unknown types merge too", "{'x':{'y':1}}",
	  "{'x':{'z':2}}", "{'x':{'y':1,'z':2}}" },
	{ "null deletes a merging list",
	  "{'spec':{'containers':[{'name':'a'}]}}",
	  "{'spec':{'containers':null}}", "{'spec':{}}" },
	/* lists without a merge key are replaced */
	{ "container args are replaced",
	  "{'spec':{'containers':[{'name':'a','image':'i',\n"
	  " 'args':['x','y']}]}}",
	  "{'spec':{'containers':[{'name':'a','args':['z']}]}}",
	  "{'spec':{'containers':[{'name':'a','image':'i','args':['z']}]}}" },
	{ "tolerations are replaced",
	  "{'spec':{'tolerations':[{'key':'a','operator':'Exists'}]}}",
	  "{'spec':{'tolerations':[{'key':'b','operator':'Exists'}]}}",
	  "{'spec':{'tolerations':[{'key':'b','operator':'Exists'}]}}" },
	{ "node taints are replaced",
	  "{'spec':{'taints':[{'key':'a','effect':'NoSchedule'}]}}",
	  "{'spec':{'taints':[{'key':'b','effect':'NoExecute'}]}}",
	  "{'spec':{'taints':[{'key':'b','effect':'NoExecute'}]}}" },
	{ "endpoint subsets are replaced",
	  "{'subsets':[{'addresses':[{'ip':'10.0.0.1'}],\n"
	  " 'ports':[{'port':80}]}]}",
	  "{'subsets':[{'addresses':[{'ip':'10.0.0.2'}],\n"
	  " 'ports':[{'port':80,'name':'http'}]}]}",
	  "{'subsets':[{'addresses':[{'ip':'10.0.0.2'}],\n"
	  " 'ports':[{'port':80,'name':'http'}]}]}" },
	/* lists with a merge key */
	{ "containers merge by name",
	  "{'spec':{'containers':[{'name':'a','image':'x'},\n"
	  " {'name':'b','image':'y'}]}}",
	  "{'spec':{'containers':[{'name':'b','image':'z'}]}}",
	  "{'spec':{'containers':[{'name':'a','image':'x'},\n"
	  " {'name':'b','image':'z'}]}}" },
	{ "new elements come before the server's (no $setElementOrder)",
	  "{'spec':{'containers':[{'name':'a'}]}}",
	  "{'spec':{'containers':[{'name':'c'},{'name':'b'}]}}",
	  "{'spec':{'containers':[{'name':'c'},{'name':'b'},{'name':'a'}]}}" },
	{ "an empty patch list changes nothing",
	  "{'spec':{'containers':[{'name':'a'}]}}",
	  "{'spec':{'containers':[]}}",
	  "{'spec':{'containers':[{'name':'a'}]}}" },
	{ "Service ports merge by port",
	  "{'spec':{'ports':[{'name':'http','port':80,'targetPort':8080,\n"
	  " 'protocol':'TCP'},{'name':'https','port':443}]}}",
	  "{'spec':{'ports':[{'port':80,'targetPort':9090}]}}",
	  "{'spec':{'ports':[{'name':'http','port':80,'targetPort':9090,\n"
	  " 'protocol':'TCP'},{'name':'https','port':443}]}}" },
	{ "container ports merge by containerPort",
	  "{'spec':{'containers':[{'name':'a','ports':[\n"
	  " {'containerPort':80,'protocol':'TCP'}]}]}}",
	  "{'spec':{'containers':[{'name':'a','ports':[\n"
	  " {'containerPort':80,'name':'http'}]}]}}",
	  "{'spec':{'containers':[{'name':'a','ports':[\n"
	  " {'containerPort':80,'protocol':'TCP','name':'http'}]}]}}" },
	{ "conditions merge by type",
	  "{'status':{'conditions':[{'type':'Ready','status':'False'},\n"
	  " {'type':'PodScheduled','status':'True'}]}}",
	  "{'status':{'conditions':[{'type':'Ready','status':'True'}]}}",
	  "{'status':{'conditions':[{'type':'Ready','status':'True'},\n"
	  " {'type':'PodScheduled','status':'True'}]}}" },
	{ "ownerReferences merge by uid",
	  "{'metadata':{'ownerReferences':[{'uid':'1','name':'a'}]}}",
	  "{'metadata':{'ownerReferences':[{'uid':'2','name':'b'},\n"
	  " {'uid':'1','controller':true}]}}",
	  "{'metadata':{'ownerReferences':[{'uid':'2','name':'b'},\n"
	  " {'uid':'1','name':'a','controller':true}]}}" },
	{ "node addresses merge by type",
	  "{'status':{'addresses':[{'type':'InternalIP','address':'10.0.0.1'},\n"
	  " {'type':'Hostname','address':'n1'}]}}",
	  "{'status':{'addresses':[{'type':'InternalIP',\n"
	  " 'address':'10.0.0.2'}]}}",
	  "{'status':{'addresses':[{'type':'InternalIP','address':'10.0.0.2'},\n"
	  " {'type':'Hostname','address':'n1'}]}}" },
	{ "pod template volumes and mounts merge",
	  TEMPLATE_SPEC("{'volumes':[{'name':'a','emptyDir':{}}],\n"
			" 'containers':[{'name':'c','volumeMounts':[\n"
			"  {'name':'a','mountPath':'/a'}]}]}"),
	  TEMPLATE_SPEC("{'volumes':[{'name':'b','emptyDir':{}}],\n"
			" 'containers':[{'name':'c','volumeMounts':[\n"
			"  {'name':'b','mountPath':'/a'}]}]}"),
	  TEMPLATE_SPEC("{'volumes':[{'name':'b','emptyDir':{}},\n"
			" {'name':'a','emptyDir':{}}],\n"
			" 'containers':[{'name':'c','volumeMounts':[\n"
			"  {'name':'b','mountPath':'/a'}]}]}") },
	/* $patch */
	{ "$patch: delete removes an element",
	  "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
	  "{'spec':{'containers':[{'$patch':'delete','name':'a'}]}}",
	  "{'spec':{'containers':[{'name':'b'}]}}" },
	{ "$patch: delete of a missing element",
	  "{'spec':{'containers':[{'name':'a'}]}}",
	  "{'spec':{'containers':[{'$patch':'delete','name':'x'}]}}",
	  "{'spec':{'containers':[{'name':'a'}]}}" },
	{ "$patch: replace in a list",
	  "{'spec':{'containers':[{'name':'a','image':'x'},{'name':'b'}]}}",
	  "{'spec':{'containers':[{'$patch':'replace'},\n"
	  " {'name':'c','image':'z'}]}}",
	  "{'spec':{'containers':[{'name':'c','image':'z'}]}}" },
	{ "$patch: replace of a map",
	  "{'spec':{'selector':{'app':'a','tier':'t'},'x':1}}",
	  "{'spec':{'selector':{'$patch':'replace','app':'b'}}}",
	  "{'spec':{'selector':{'app':'b'},'x':1}}" },
	{ "$patch: replace of the document", "{'a':1,'b':2}",
	  "{'$patch':'replace','c':3}", "{'c':3}" },
	{ "$patch: delete of a map",
	  "{'spec':{'selector':{'app':'a'}},'x':1}",
	  "{'spec':{'selector':{'$patch':'delete'}}}",
	  "{'spec':{'selector':{}},'x':1}" },
	{ "$patch: merge of a map", "{'a':{'b':1}}",
	  "{'a':{'$patch':'merge','c':2}}", "{'a':{'b':1,'c':2}}" },
	{ "$patch: merge of an element",
	  "{'spec':{'containers':[{'name':'a','image':'x','tty':true}]}}",
	  "{'spec':{'containers':[{'$patch':'merge','name':'a',\n"
	  " 'image':'y'}]}}",
	  "{'spec':{'containers':[{'name':'a','image':'y','tty':true}]}}" },
	/* lists of scalars with a merge strategy */
	{ "finalizers merge as a set",
	  "{'metadata':{'finalizers':['a','b']}}",
	  "{'metadata':{'finalizers':['b','c']}}",
	  "{'metadata':{'finalizers':['a','b','c']}}" },
	{ "a new finalizer comes first (no $setElementOrder)",
	  "{'metadata':{'finalizers':['a','b']}}",
	  "{'metadata':{'finalizers':['c']}}",
	  "{'metadata':{'finalizers':['c','a','b']}}" },
	{ "$deleteFromPrimitiveList",
	  "{'metadata':{'finalizers':['a','b','c']}}",
	  "{'metadata':{'$deleteFromPrimitiveList/finalizers':['b','x']}}",
	  "{'metadata':{'finalizers':['a','c']}}" },
	{ "$deleteFromPrimitiveList and an addition",
	  "{'metadata':{'finalizers':['a','b']}}",
	  "{'metadata':{'$deleteFromPrimitiveList/finalizers':['a'],\n"
	  " 'finalizers':['c']}}",
	  "{'metadata':{'finalizers':['c','b']}}" },
	{ "$deleteFromPrimitiveList of a missing list", "{'metadata':{}}",
	  "{'metadata':{'$deleteFromPrimitiveList/finalizers':['a']}}",
	  "{'metadata':{}}" },
	{ "$setElementOrder of scalars",
	  "{'metadata':{'finalizers':['a','b']}}",
	  "{'metadata':{'$setElementOrder/finalizers':['b','a','c'],\n"
	  " 'finalizers':['c']}}",
	  "{'metadata':{'finalizers':['b','a','c']}}" },
	{ "node podCIDRs merge as a set",
	  "{'spec':{'podCIDRs':['10.0.0.0/24']}}",
	  "{'spec':{'podCIDRs':['10.0.0.0/24','fd00::/64']}}",
	  "{'spec':{'podCIDRs':['10.0.0.0/24','fd00::/64']}}" },
	{ "namespace spec.finalizers are replaced",
	  "{'spec':{'finalizers':['kubernetes']}}",
	  "{'spec':{'finalizers':['other']}}",
	  "{'spec':{'finalizers':['other']}}" },
	/* kubectl apply */
	{ "apply: new image for one container, another deleted",
	  DEPLOYMENT("[{'name':'app','image':'nginx:1.24',\n"
		     " 'ports':[{'containerPort':80,'protocol':'TCP'}]},\n"
		     " {'name':'sidecar','image':'busybox',\n"
		     "  'args':['sleep','1d']}]"),
	  TEMPLATE_SPEC("{'$setElementOrder/containers':[{'name':'app'}],\n"
			" 'containers':[{'image':'nginx:1.25','name':'app'},\n"
			"  {'$patch':'delete','name':'sidecar'}]}"),
	  DEPLOYMENT("[{'name':'app','image':'nginx:1.25',\n"
		     " 'ports':[{'containerPort':80,'protocol':'TCP'}]}]") },
	{ "apply: env changed, added and removed",
	  DEPLOYMENT("[{'name':'app','image':'i','env':[\n"
		     " {'name':'A','value':'1'},{'name':'B','value':'2'},\n"
		     " {'name':'C','value':'3'}]}]"),
	  TEMPLATE_SPEC("{'$setElementOrder/containers':[{'name':'app'}],\n"
			" 'containers':[{'name':'app',\n"
			"  '$setElementOrder/env':[{'name':'A'},{'name':'C'},\n"
			"   {'name':'D'}],\n"
			"  'env':[{'name':'C','value':'30'},\n"
			"   {'name':'D','value':'4'},\n"
			"   {'$patch':'delete','name':'B'}]}]}"),
	  DEPLOYMENT("[{'name':'app','image':'i','env':[\n"
		     " {'name':'A','value':'1'},{'name':'C','value':'30'},\n"
		     " {'name':'D','value':'4'}]}]") },
	{ "apply: a port added",
	  DEPLOYMENT("[{'name':'app','image':'i','ports':[\n"
		     " {'containerPort':80,'name':'http','protocol':'TCP'}]}]"),
	  TEMPLATE_SPEC("{'$setElementOrder/containers':[{'name':'app'}],\n"
			" 'containers':[{'name':'app',\n"
			"  '$setElementOrder/ports':[{'containerPort':80},\n"
			"   {'containerPort':443}],\n"
			"  'ports':[{'containerPort':443,'name':'https',\n"
			"   'protocol':'TCP'}]}]}"),
	  DEPLOYMENT("[{'name':'app','image':'i','ports':[\n"
		     " {'containerPort':80,'name':'http','protocol':'TCP'},\n"
		     " {'containerPort':443,'name':'https',\n"
		     "  'protocol':'TCP'}]}]") },
	{ "apply: a container added in front",
	  DEPLOYMENT("[{'name':'app','image':'i'}]"),
	  TEMPLATE_SPEC("{'$setElementOrder/containers':[{'name':'init'},\n"
			" {'name':'app'}],\n"
			" 'containers':[{'name':'init','image':'j'}]}"),
	  DEPLOYMENT("[{'name':'init','image':'j'},\n"
		     " {'name':'app','image':'i'}]") },
	{ "apply: a container added at the end",
	  DEPLOYMENT("[{'name':'app','image':'i'}]"),
	  TEMPLATE_SPEC("{'$setElementOrder/containers':[{'name':'app'},\n"
			" {'name':'log'}],\n"
			" 'containers':[{'name':'log','image':'j'}]}"),
	  DEPLOYMENT("[{'name':'app','image':'i'},\n"
		     " {'name':'log','image':'j'}]") },
	{ "apply: elements only the server has keep their place",
	  "{'spec':{'containers':[{'name':'a'},{'name':'s'},{'name':'b'}]}}",
	  "{'spec':{'$setElementOrder/containers':[{'name':'b'},\n"
	  " {'name':'a'}],'containers':[{'name':'b','image':'x'}]}}",
	  "{'spec':{'containers':[{'name':'s'},{'name':'b','image':'x'},\n"
	  " {'name':'a'}]}}" },
	{ "apply: $setElementOrder alone reorders",
	  "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
	  "{'spec':{'$setElementOrder/containers':[{'name':'b'},\n"
	  " {'name':'a'}]}}",
	  "{'spec':{'containers':[{'name':'b'},{'name':'a'}]}}" },
	{ "apply: $setElementOrder of a list nobody has", "{'spec':{}}",
	  "{'spec':{'$setElementOrder/containers':[]}}", "{'spec':{}}" },
	{ "apply: directives do not leak into new fields", "{}",
	  TEMPLATE_SPEC("{'$setElementOrder/containers':[{'name':'a'}],\n"
			" 'containers':[{'name':'a','image':'x'},\n"
			"  {'$patch':'delete','name':'b'}]}"),
	  TEMPLATE_SPEC("{'containers':[{'name':'a','image':'x'}]}") },
	{ "apply: Deployment strategy with $retainKeys",
	  "{'spec':{'replicas':1,'strategy':{'type':'RollingUpdate',\n"
	  " 'rollingUpdate':{'maxSurge':1}}}}",
	  "{'spec':{'strategy':{'$retainKeys':['type'],'type':'Recreate',\n"
	  " 'rollingUpdate':null}}}",
	  "{'spec':{'replicas':1,'strategy':{'type':'Recreate'}}}" },
	{ "apply: volume source changed with $retainKeys",
	  TEMPLATE_SPEC("{'volumes':[{'name':'data','emptyDir':{}}]}"),
	  TEMPLATE_SPEC("{'volumes':[{'$retainKeys':['configMap','name'],\n"
			" 'name':'data','configMap':{'name':'cm'}}]}"),
	  TEMPLATE_SPEC("{'volumes':[{'name':'data',\n"
			" 'configMap':{'name':'cm'}}]}") },
	/* vectors of Kubernetes' own strategicpatch tests, as containers */
	{ "k8s: patch order, server-only element first",
	  "{'spec':{'containers':[{'name':'1'},{'name':'2','image':'b'},\n"
	  " {'name':'3'}]}}",
	  "{'spec':{'containers':[{'name':'3','image':'c'},\n"
	  " {'name':'1','image':'a'}]}}",
	  "{'spec':{'containers':[{'name':'2','image':'b'},\n"
	  " {'name':'3','image':'c'},{'name':'1','image':'a'}]}}" },
	{ "k8s: $setElementOrder with server-only elements",
	  "{'spec':{'containers':[{'name':'1','tty':true},{'name':'2'},\n"
	  " {'name':'9'},{'name':'3'},{'name':'4'}]}}",
	  "{'spec':{'$setElementOrder/containers':[{'name':'2'},\n"
	  " {'name':'1'},{'name':'4'},{'name':'3'}]}}",
	  "{'spec':{'containers':[{'name':'2'},{'name':'1','tty':true},\n"
	  " {'name':'9'},{'name':'4'},{'name':'3'}]}}" },
	{ "k8s: add and delete beside a server-only element",
	  "{'spec':{'containers':[{'name':'1'},{'name':'2','image':'b'},\n"
	  " {'name':'4','image':'c'}]}}",
	  "{'spec':{'$setElementOrder/containers':[{'name':'2'},\n"
	  " {'name':'3'}],'containers':[{'name':'3'},\n"
	  " {'name':'1','$patch':'delete'}]}}",
	  "{'spec':{'containers':[{'name':'2','image':'b'},\n"
	  " {'name':'4','image':'c'},{'name':'3'}]}}" },
	{ "k8s: add and delete, the server-only element first",
	  "{'spec':{'containers':[{'name':'1','image':'a'},\n"
	  " {'name':'4','image':'c'}]}}",
	  "{'spec':{'$setElementOrder/containers':[{'name':'2'},\n"
	  " {'name':'3'}],'containers':[{'name':'2'},{'name':'3'},\n"
	  " {'name':'1','$patch':'delete'}]}}",
	  "{'spec':{'containers':[{'name':'4','image':'c'},{'name':'2'},\n"
	  " {'name':'3'}]}}" },
	{ "k8s: $setElementOrder names an element nobody has",
	  "{'spec':{'containers':[{'name':'1'},{'name':'3'}]}}",
	  "{'spec':{'$setElementOrder/containers':[{'name':'3'},\n"
	  " {'name':'2'},{'name':'1'}],'containers':[\n"
	  " {'name':'3','image':'x'},{'name':'1','image':'y'}]}}",
	  "{'spec':{'containers':[{'name':'3','image':'x'},\n"
	  " {'name':'1','image':'y'}]}}" },
	{ "k8s: duplicates keep their order",
	  "{'spec':{'containers':[{'name':'1'},{'name':'2','image':'a'},\n"
	  " {'name':'3'},{'name':'2','image':'b'},{'name':'4'}]}}",
	  "{'spec':{'$setElementOrder/containers':[{'name':'2'},\n"
	  " {'name':'1'},{'name':'4'},{'name':'3'},{'name':'2'}]}}",
	  "{'spec':{'containers':[{'name':'2','image':'a'},\n"
	  " {'name':'2','image':'b'},{'name':'1'},{'name':'4'},\n"
	  " {'name':'3'}]}}" },
	{ "k8s: $patch: delete removes every duplicate",
	  "{'spec':{'containers':[{'name':'1'},{'name':'1'},\n"
	  " {'name':'2','image':'a'},{'name':'3'},{'name':'3'}]}}",
	  "{'spec':{'containers':[{'name':'1','$patch':'delete'},\n"
	  " {'name':'3','$patch':'delete'}]}}",
	  "{'spec':{'containers':[{'name':'2','image':'a'}]}}" },
	{ "k8s: a scalar added in order among server-only ones",
	  "{'metadata':{'finalizers':['1','4','2']}}",
	  "{'metadata':{'$setElementOrder/finalizers':['3','1','2'],\n"
	  " 'finalizers':['3']}}",
	  "{'metadata':{'finalizers':['3','1','4','2']}}" },
	{ "k8s: scalars reordered and deleted",
	  "{'metadata':{'finalizers':['1','2','3','4']}}",
	  "{'metadata':{'$setElementOrder/finalizers':['2','1'],\n"
	  " '$deleteFromPrimitiveList/finalizers':['3']}}",
	  "{'metadata':{'finalizers':['2','1','4']}}" },
	{ "k8s: $deleteFromPrimitiveList on a list that is replaced",
	  "{'spec':{'containers':[{'name':'a','args':['1','2','3']}]}}",
	  "{'spec':{'containers':[{'name':'a',\n"
	  " '$deleteFromPrimitiveList/args':['2']}]}}",
	  "{'spec':{'containers':[{'name':'a','args':['1','3']}]}}" },
	{ "k8s: $retainKeys clears a defaulted field",
	  "{'spec':{'strategy':{'type':'RollingUpdate',\n"
	  " 'rollingUpdate':{'maxSurge':'25%'}}}}",
	  "{'spec':{'strategy':{'$retainKeys':['type'],'type':'Recreate'}}}",
	  "{'spec':{'strategy':{'type':'Recreate'}}}" },
	/* errors */
	{ "the patch must be an object", "{}", "[]",
	  "error: must be a JSON object" },
	{ "the document must be an object", "[1]", "{}",
	  "error: applies to a JSON object" },
	{ "unknown $patch", "{'a':{}}", "{'a':{'$patch':'drop'}}",
	  "error: a: unknown $patch directive \"drop\"" },
	{ "$patch that is not a string", "{}", "{'$patch':1}",
	  "error: unknown $patch directive (not a string)" },
	{ "unknown $patch in a list",
	  "{'spec':{'containers':[{'name':'a'}]}}",
	  "{'spec':{'containers':[{'$patch':'remove','name':'a'}]}}",
	  "error: spec.containers: unknown $patch directive \"remove\"" },
	{ "unknown directive", "{}", "{'metadata':{'$foo':1}}",
	  "error: metadata: unknown directive $foo" },
	{ "unknown directive in an element",
	  "{'spec':{'containers':[{'name':'a'}]}}",
	  "{'spec':{'containers':[{'name':'a','$keep':true}]}}",
	  "error: unknown directive $keep" },
	{ "$setElementOrder without a field", "{}",
	  "{'$setElementOrder/':[]}",  "error: names no field" },
	{ "$setElementOrder that is not a list",
	  "{'metadata':{'finalizers':['a']}}",
	  "{'metadata':{'$setElementOrder/finalizers':'a'}}",
	  "error: metadata.finalizers: $setElementOrder must be a list" },
	{ "$setElementOrder of a map", "{'spec':{'containers':{}}}",
	  "{'spec':{'$setElementOrder/containers':[]}}",
	  "error: names a field that is not a list" },
	{ "$setElementOrder against the patch's order",
	  "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
	  "{'spec':{'$setElementOrder/containers':[{'name':'a'},\n"
	  " {'name':'b'}],'containers':[{'name':'b'},{'name':'a'}]}}",
	  "error: list not in $setElementOrder's order" },
	{ "an element without its merge key",
	  DEPLOYMENT("[{'name':'app'}]"),
	  TEMPLATE_SPEC("{'containers':[{'image':'x'}]}"),
	  "error: spec.template.spec.containers: an element has no merge key" },
	{ "$patch: delete without the merge key",
	  "{'spec':{'containers':[{'name':'a'}]}}",
	  "{'spec':{'containers':[{'$patch':'delete'}]}}",
	  "error: no merge key \"name\"" },
	{ "container ports need containerPort",
	  "{'spec':{'containers':[{'name':'a','ports':[\n"
	  " {'containerPort':80}]}]}}",
	  "{'spec':{'containers':[{'name':'a','ports':[{'port':80}]}]}}",
	   "error: no merge key \"containerPort\"" },
	{ "$retainKeys that is not a list", "{}",
	  "{'spec':{'$retainKeys':'type'}}",
	  "error: spec: $retainKeys must be a list" },
	{ "$retainKeys without a field the patch sets",
	  "{'spec':{'strategy':{}}}",
	  "{'spec':{'strategy':{'$retainKeys':['type'],'type':'Recreate',\n"
	  " 'rollingUpdate':{}}}}",
	  "error: \"rollingUpdate\" is not in $retainKeys" },
	{ "$deleteFromPrimitiveList that is not a list",
	  "{'metadata':{'finalizers':['a']}}",
	  "{'metadata':{'$deleteFromPrimitiveList/finalizers':'a'}}",
	  "error: $deleteFromPrimitiveList must be a list" },
	{ "elements of two types",
	  "{'metadata':{'finalizers':['a']}}",
	  "{'metadata':{'finalizers':[1]}}",
	  "error: metadata.finalizers: the list elements are not all of one" },
	{ "lists of lists", "{'metadata':{'finalizers':[]}}",
	  "{'metadata':{'finalizers':[['a']]}}",
	  "error: cannot merge lists of lists or nulls" },
	{ "maps in a list of scalars",
	  "{'metadata':{'finalizers':[{'a':1}]}}",
	  "{'metadata':{'finalizers':[{'b':1}]}}",
	  "error: cannot merge without a merge key" },
};

static void test_null_arguments(void)
{
	json_t *doc = json("{'a':1}"), *empty = json_array(), *got;
	char err[128] = "";

	got = skiff_merge_patch(doc, NULL, err, sizeof(err));
	tap_ok(!got && strstr(err, "no merge patch"),
	       "merge patch: no patch is an error");
	got = skiff_json_patch(NULL, empty, err, sizeof(err));
	tap_ok(json_is_null(got), "json patch: no document reads as null");
	json_decref(got);
	got = skiff_strategic_merge_patch(NULL, doc, err, sizeof(err));
	tap_ok(got && json_equal(got, doc),
	       "strategic merge patch: no document reads as {}");
	json_decref(got);
	got = skiff_strategic_merge_patch(doc, doc, NULL, 0);
	tap_ok(got && json_equal(got, doc), "no error buffer is fine");
	json_decref(got);
	json_decref(empty);
	json_decref(doc);
}

int main(void)
{
	size_t i;

	tap_plan(ARRAY_SIZE(merge_cases) + ARRAY_SIZE(json_cases) +
		 ARRAY_SIZE(smp_cases) + 4);
	for (i = 0; i < ARRAY_SIZE(merge_cases); i++)
		run(skiff_merge_patch, "merge patch", &merge_cases[i]);
	for (i = 0; i < ARRAY_SIZE(json_cases); i++)
		run(skiff_json_patch, "json patch", &json_cases[i]);
	for (i = 0; i < ARRAY_SIZE(smp_cases); i++)
		run(skiff_strategic_merge_patch, "strategic merge patch",
		    &smp_cases[i]);
	test_null_arguments();
	return tap_done();
}
