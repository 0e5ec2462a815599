// SPDX-License-Identifier: GPL-2.0
/*
 * The node's references to ConfigMaps and Secrets (objref.h) against a
 * real skiff-apiserver: a pod's references start one watch each, shared
 * between pods and dropped with the last pod; only referenced objects are
 * cached, in their own namespace; changes, late creations and deletions
 * are heard.
 */

#include "informer.h"
#include "node_apiserver.h"
#include "objref.h"

#define WAIT_MS 10000
#define CM(ns, name, val) "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'" \
	name "','namespace':'" ns "'},'data':{'k':'" val "'}}"
#define SECRET(ns, name) "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'" \
	name "','namespace':'" ns "'},'stringData':{'k':'v'}}"
#define NS_OTHER "{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'other'}}"

/* Volumes (configMap, secret, projected), env valueFrom and envFrom. */
#define POD_A "{'volumes':[{'name':'c','configMap':{'name':'conf'}}," \
	"{'name':'s','secret':{'secretName':'creds'}}," \
	"{'name':'p','projected':{'sources':[{'configMap':{'name':'proj'}}]}}]," \
	"'initContainers':[{'name':'i','envFrom':[{'secretRef':{'name':'init-env'}}]}]," \
	"'containers':[{'name':'m','env':[{'name':'X','valueFrom':" \
	"{'configMapKeyRef':{'name':'conf','key':'k'}}}]}]}"
#define POD_B "{'containers':[{'name':'m','envFrom':[{'configMapRef':{'name':'conf'}}," \
	"{'secretRef':{'name':'late'}}]}]}"

struct seen {
	int changes;
	char last[128];
};

static void changed(bool secret, const char *ns, const char *name, void *arg)
{
	struct seen *s = arg;

	s->changes++;
	snprintf(s->last, sizeof(s->last), "%s %s/%s", secret ? "Secret" : "ConfigMap",
		 ns, name);
}

struct want {
	struct skiff_objrefs *r;
	bool secret;
	const char *ns, *name, *value;	/* value NULL: want it absent */
};

static bool has(void *arg)
{
	struct want *w = arg;
	const json_t *obj = skiff_objrefs_get(w->r, w->secret, w->ns, w->name);
	const char *v = json_string_value(json_object_get(json_object_get(obj, "data"), "k"));

	if (!w->value)
		return !obj;
	return v && !strcmp(v, w->value);
}

static bool wait_for(struct skiff_loop *loop, struct skiff_objrefs *r, bool secret,
		     const char *ns, const char *name, const char *value)
{
	struct want w = { r, secret, ns, name, value };

	return loop_until(loop, has, &w, WAIT_MS);
}

static bool heard(void *arg)
{
	struct seen *s = arg;

	return s->changes > 0;
}

int main(void)
{
	struct skiff_objrefs *r;
	struct skiff_loop *loop;
	struct skiff_client *c;
	struct seen seen = { 0 };
	json_t *pod_a, *pod_b;
	struct api api;

	tap_plan(18);
	netns_private();
	api_start(&api, NULL);
	loop = skiff_loop_new();
	c = skiff_client_new(loop, api.url);
	r = skiff_objrefs_new(c, changed, &seen);
	pod_a = json_q(POD_A);
	pod_b = json_q(POD_B);
	if (!loop || !c || !r || !pod_a || !pod_b)
		die("setup");

	api_call(c, "POST", "/api/v1/namespaces", NULL, NS_OTHER);
	api_call(c, "POST", "/api/v1/namespaces/default/configmaps", NULL,
		 CM("default", "conf", "one"));
	api_call(c, "POST", "/api/v1/namespaces/other/configmaps", NULL,
		 CM("other", "conf", "elsewhere"));
	api_call(c, "POST", "/api/v1/namespaces/default/configmaps", NULL,
		 CM("default", "proj", "p"));
	api_call(c, "POST", "/api/v1/namespaces/default/configmaps", NULL,
		 CM("default", "unreferenced", "u"));
	api_call(c, "POST", "/api/v1/namespaces/default/secrets", NULL,
		 SECRET("default", "creds"));

	tap_is_int(skiff_objrefs_take_pod(r, "default", pod_a), 0, "pod a's references taken");
	tap_is_int(skiff_objrefs_count(r), 4,
		   "one watch per object: conf (twice), creds, proj, init-env");
	tap_ok(wait_for(loop, r, false, "default", "conf", "one"),
	       "the referenced ConfigMap is cached, from the pod's namespace");
	tap_ok(wait_for(loop, r, false, "default", "proj", "p"),
	       "so is one named by a projected volume");
	tap_ok(wait_for(loop, r, true, "default", "creds", "dg=="),
	       "and the Secret of the secret volume");
	tap_ok(!skiff_objrefs_get(r, false, "default", "unreferenced") &&
	       !skiff_objrefs_get(r, true, "default", "conf") &&
	       !skiff_objrefs_get(r, false, "other", "conf"),
	       "nothing unreferenced is there: other names, kinds or namespaces");
	tap_ok(!skiff_objrefs_get(r, true, "default", "init-env"),
	       "a referenced Secret that does not exist yet is absent");

	tap_is_int(skiff_objrefs_take_pod(r, "default", pod_b), 0, "pod b's references taken");
	tap_is_int(skiff_objrefs_count(r), 5, "conf is shared; late is new");

	seen.changes = 0;
	api_call(c, "PUT", "/api/v1/namespaces/default/configmaps/conf", NULL,
		 CM("default", "conf", "two"));
	tap_ok(wait_for(loop, r, false, "default", "conf", "two"), "a change reaches the cache");
	tap_is_str(seen.last, "ConfigMap default/conf", "and the callback names it");

	seen.changes = 0;
	api_call(c, "POST", "/api/v1/namespaces/default/secrets", NULL,
		 SECRET("default", "late"));
	loop_until(loop, heard, &seen, WAIT_MS);
	tap_ok(skiff_objrefs_get(r, true, "default", "late"),
	       "a Secret created after the pod referenced it is heard of");

	api_call(c, "DELETE", "/api/v1/namespaces/default/secrets/creds", NULL, NULL);
	tap_ok(wait_for(loop, r, true, "default", "creds", NULL), "a deletion is heard too");

	skiff_objrefs_drop_pod(r, "default", pod_a);
	tap_is_int(skiff_objrefs_count(r), 2, "pod a gone: only pod b's conf and late remain");
	tap_ok(skiff_objrefs_get(r, false, "default", "conf"),
	       "conf stays for pod b");
	skiff_objrefs_drop_pod(r, "default", pod_b);
	tap_is_int(skiff_objrefs_count(r), 0, "the last pod gone: no watch left");
	tap_ok(!skiff_objrefs_get(r, false, "default", "conf"), "and nothing cached");

	/* A pod gone before its references' first lists came back. */
	skiff_objrefs_take_pod(r, "default", pod_a);
	skiff_objrefs_drop_pod(r, "default", pod_a);
	seen.changes = 0;
	tap_ok(!loop_until(loop, heard, &seen, 500) && skiff_objrefs_count(r) == 0,
	       "references dropped while their lists were in flight: nothing heard, none left");

	skiff_objrefs_free(r);
	json_decref(pod_a);
	json_decref(pod_b);
	skiff_client_free(c);
	skiff_loop_free(loop);
	api_stop(&api);
	return tap_done();
}
