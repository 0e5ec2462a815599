// SPDX-License-Identifier: GPL-2.0
/*
 * A container's environment, made as the kubelet makes it
 * (makeEnvironmentVariables) and as containerd merges it with the image's:
 *
 *  - the image's Env comes first; a variable the container sets replaces
 *    the image's in place, new ones follow in the order they are set;
 *  - envFrom sources (configMapRef, secretRef, with prefix) come before
 *    env, in order; a key that does not make a valid variable name is
 *    skipped and reported as the kubelet's InvalidEnvironmentVariableNames
 *    event says it;
 *  - env entries in order, a later one replacing an earlier one: value
 *    (with $(VAR) expanded from what is set so far, "$$" for "$", an
 *    unresolved reference left as it is), or valueFrom configMapKeyRef,
 *    secretKeyRef, fieldRef or resourceFieldRef (never expanded).
 *
 * $(VAR) sees the container's own variables only, not the image's, as in
 * Kubernetes where the runtime merges the image's in afterwards. Service
 * link variables (FOO_SERVICE_HOST) are not made.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/statvfs.h>

#include "base64.h"
#include "quantity.h"
#include "volume.h"

#define ENV_NAME_RULE \
	"a valid environment variable name must consist of alphabetic characters, digits, " \
	"'_', '-', or '.', and must not start with a digit"

/**
 * struct env_ctx - what one call works with
 * @pod: the pod
 * @container: the container whose environment this is
 * @cname: its name
 * @ns: the pod's namespace
 * @pod_ip: for status.podIP, "" when not known
 * @host_ip: for status.hostIP, likewise
 * @lookup: finds ConfigMaps and Secrets
 * @arg: for @lookup
 * @vars: the container's variables so far, name -> value, in order
 * @warn: keys skipped from envFrom sources, for the caller's event
 * @e: where errors go
 */
struct env_ctx {
	const json_t *pod;
	const json_t *container;
	const char *cname;
	const char *ns;
	const char *pod_ip;
	const char *host_ip;
	skiff_volume_lookup_fn lookup;
	void *arg;
	json_t *vars;
	char warn[sizeof(((struct skiff_error *)0)->msg)];
	struct skiff_error *e;
};

/* An error about the container: "container "NAME": " and @fmt. */
static int __attribute__((format(printf, 3, 4)))
fail(struct env_ctx *c, int err, const char *fmt, ...)
{
	char msg[sizeof(c->e->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return skiff_error_set(c->e, err, "container \"%s\": %s", c->cname, msg);
}

/*
 * C-identifier-like, as Kubernetes' IsEnvVarName: [-._a-zA-Z][-._a-zA-Z0-9]*,
 * and not ".", ".." or starting with "..".
 */
static bool is_env_name(const char *s)
{
	size_t i;

	if (!*s || (s[0] >= '0' && s[0] <= '9') || !strcmp(s, ".") ||
	    !strncmp(s, "..", 2))
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("-._", s[i])))
			return false;
	return true;
}

typedef const char *(*var_fn)(const char *name, const void *arg);

/*
 * Kubernetes' expansion of $(VAR) in @in (its third_party expansion
 * package): @get gives a variable's value or NULL; malloc'd.
 */
static char *expand(const char *in, var_fn get, const void *arg)
{
	const char *p, *end, *v;
	size_t len = 0;
	char *buf = NULL, *name;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	for (p = in; *p; p++) {
		if (p[0] != '$' || !p[1]) {
			fputc(*p, f);
			continue;
		}
		p++;
		if (*p == '$') {
			/* "$$" is an escaped "$" */
			fputc('$', f);
			continue;
		}
		end = *p == '(' ? strchr(p, ')') : NULL;
		if (!end) {
			/* not a reference, or one never closed: kept as written */
			fputc('$', f);
			fputc(*p, f);
			continue;
		}
		name = strndup(p + 1, (size_t)(end - p - 1));
		v = name ? get(name, arg) : NULL;
		free(name);
		if (v)
			fputs(v, f);
		else
			fwrite(p - 1, 1, (size_t)(end - p + 2), f);
		p = end;
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static const char *json_var(const char *name, const void *vars)
{
	return json_string_value(json_object_get(vars, name));
}

static const char *list_var(const char *name, const void *arg)
{
	char *const *env = arg;
	size_t n = strlen(name);
	const char *v = NULL;

	for (; env && *env; env++)
		if (!strncmp(*env, name, n) && (*env)[n] == '=')
			v = *env + n + 1;
	return v;
}

char *skiff_env_expand(const char *in, char *const *env)
{
	return expand(in, list_var, env);
}

/* Sets @name (replacing an earlier one in place) to @len bytes at @val. */
static int set_var(struct env_ctx *c, const char *name, const char *val, size_t len)
{
	if (memchr(val, '\0', len))
		return fail(c, -EINVAL, "the value of %s holds a NUL byte", name);
	if (json_object_set_new_nocheck(c->vars, name, json_stringn_nocheck(val, len)))
		return skiff_error_set(c->e, -ENOMEM, "out of memory");
	return 0;
}

/* Key @key of @obj: a ConfigMap's data, or a Secret's data decoded. */
static int object_key(const json_t *obj, bool secret, const char *key, char **val,
		      size_t *len)
{
	const json_t *v = json_object_get(json_object_get(obj, "data"), key);

	if (!v)
		return -ENOENT;
	if (!json_is_string(v))
		return -EINVAL;
	if (secret)
		return skiff_base64_decode(json_string_value(v), json_string_length(v), val,
					   len);
	*len = json_string_length(v);
	*val = malloc(*len + 1);
	if (!*val)
		return -ENOMEM;
	memcpy(*val, json_string_value(v), *len + 1);
	return 0;
}

static void warn_skipped(struct env_ctx *c, const char *keys, bool secret,
			 const char *name)
{
	size_t n = strlen(c->warn);

	/* the kubelet's InvalidEnvironmentVariableNames event */
	snprintf(c->warn + n, sizeof(c->warn) - n, "%sKeys [%s] from the EnvFrom %s %s/%s %s",
		 n ? " " : "", keys, secret ? "secret" : "configMap", c->ns, name,
		 "were skipped since they are considered invalid environment variable names.");
}

static int env_from(struct env_ctx *c, const json_t *src, size_t idx)
{
	const char *prefix = json_string_value(json_object_get(src, "prefix")) ?: "";
	const json_t *cm = json_object_get(src, "configMapRef");
	const json_t *sec = json_object_get(src, "secretRef");
	const json_t *ref = cm ?: sec, *obj, *v;
	const char *name, *key, *kind = cm ? "configmap" : "secret";
	char full[512], skipped[200] = "", *val;
	size_t len, n;
	int err = 0;

	if (!cm == !sec)
		return fail(c, -EINVAL, "envFrom[%zu]: must have one of configMapRef or secretRef",
			    idx);
	name = json_string_value(json_object_get(ref, "name"));
	if (!name || !*name)
		return fail(c, -EINVAL, "envFrom[%zu]: name: Required value", idx);
	obj = c->lookup(cm ? "ConfigMap" : "Secret", c->ns, name, c->arg);
	if (!obj) {
		if (json_is_true(json_object_get(ref, "optional")))
			return 0;
		return skiff_error_set(c->e, -ENOENT, "%s \"%s\" not found", kind, name);
	}
	json_object_foreach((json_t *)json_object_get(obj, "data"), key, v) {
		snprintf(full, sizeof(full), "%s%s", prefix, key);
		if (strlen(prefix) + strlen(key) >= sizeof(full) || !is_env_name(full)) {
			n = strlen(skipped);
			snprintf(skipped + n, sizeof(skipped) - n, "%s%s", n ? ", " : "", key);
			continue;
		}
		err = object_key(obj, !cm, key, &val, &len);
		if (err == -EINVAL)
			return skiff_error_set(c->e, err, "%s \"%s\": key %s is not valid %s",
					       kind, name, key, cm ? "text" : "base64");
		if (err)
			return skiff_error_set(c->e, err, "out of memory");
		err = set_var(c, full, val, len);
		free(val);
		if (err)
			return err;
	}
	if (skipped[0])
		warn_skipped(c, skipped, !cm, name);
	return 0;
}

/* Value of @key of metadata.labels or .annotations, "" when absent. */
static int subscripted(const json_t *map, const char *sub, const char **out)
{
	size_t n = strlen(sub);
	char *key;

	/* "['key']", as Kubernetes' fieldpath.SplitMaybeSubscriptedPath */
	if (n < 5 || strncmp(sub, "['", 2) || strcmp(sub + n - 2, "']"))
		return -EINVAL;
	key = strndup(sub + 2, n - 4);
	if (!key)
		return -ENOMEM;
	*out = json_string_value(json_object_get(map, key)) ?: "";
	free(key);
	return 0;
}

static int field_value(struct env_ctx *c, const char *path, const char **out)
{
	const json_t *meta = json_object_get(c->pod, "metadata");
	const json_t *spec = json_object_get(c->pod, "spec");
	const char *v = NULL;
	int err = 0;

	if (!strcmp(path, "metadata.name"))
		v = json_string_value(json_object_get(meta, "name"));
	else if (!strcmp(path, "metadata.namespace"))
		v = c->ns;
	else if (!strcmp(path, "metadata.uid"))
		v = json_string_value(json_object_get(meta, "uid"));
	else if (!strcmp(path, "spec.nodeName"))
		v = json_string_value(json_object_get(spec, "nodeName"));
	else if (!strcmp(path, "spec.serviceAccountName"))
		v = json_string_value(json_object_get(spec, "serviceAccountName"));
	else if (!strcmp(path, "status.podIP") || !strcmp(path, "status.podIPs"))
		v = c->pod_ip;
	else if (!strcmp(path, "status.hostIP") || !strcmp(path, "status.hostIPs"))
		v = c->host_ip;
	else if (!strncmp(path, "metadata.labels[", 16))
		err = subscripted(json_object_get(meta, "labels"), path + 15, &v);
	else if (!strncmp(path, "metadata.annotations[", 21))
		err = subscripted(json_object_get(meta, "annotations"), path + 20, &v);
	else
		err = -EINVAL;
	*out = v ?: "";
	return err;
}

static const json_t *find_container(const json_t *pod, const char *name)
{
	static const char *const lists[] = { "containers", "initContainers" };
	const json_t *spec = json_object_get(pod, "spec") ?: pod, *ctr;
	unsigned int l;
	size_t i;

	for (l = 0; l < 2; l++)
		json_array_foreach(json_object_get(spec, lists[l]), i, ctr)
			if (!strcmp(json_string_value(json_object_get(ctr, "name")) ?: "",
				    name))
				return ctr;
	return NULL;
}

/*
 * What the node has of @res (cpu in thousandths, else bytes) for a limit
 * the container does not set: the kubelet puts the node's allocatable
 * there; this is the machine's capacity.
 */
static int64_t node_allocatable(const char *res)
{
	struct statvfs sv;

	if (!strcmp(res, "cpu"))
		return sysconf(_SC_NPROCESSORS_ONLN) * 1000LL;
	if (!strcmp(res, "memory"))
		return (int64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
	if (statvfs("/", &sv))
		return 0;
	return (int64_t)(sv.f_blocks * sv.f_frsize);
}

/* Ceiling of @a / @b, both positive or zero. */
static int64_t div_up(int64_t a, int64_t b)
{
	return a / b + (a % b != 0);
}

static int resource_value(struct env_ctx *c, const json_t *ref, size_t idx, char *out,
			  size_t size)
{
	const char *cname = json_string_value(json_object_get(ref, "containerName"));
	const char *resource = json_string_value(json_object_get(ref, "resource"));
	const char *divisor = json_string_value(json_object_get(ref, "divisor")) ?: "1";
	const json_t *ctr = c->container, *res, *q;
	int64_t value, div;
	const char *name;
	bool limits, cpu;

	if (cname && *cname)
		ctr = find_container(c->pod, cname);
	if (!ctr)
		return fail(c, -EINVAL, "env[%zu]: resourceFieldRef: no container \"%s\"", idx,
			    cname);
	limits = resource && !strncmp(resource, "limits.", 7);
	if (!resource || (!limits && strncmp(resource, "requests.", 9)))
		goto unsupported;
	name = resource + (limits ? 7 : 9);
	if (strcmp(name, "cpu") && strcmp(name, "memory") && strcmp(name, "ephemeral-storage"))
		goto unsupported;
	cpu = !strcmp(name, "cpu");
	/* cpu in thousandths of a core; memory and storage in bytes (Value()) */
	if (skiff_parse_quantity(divisor, cpu, &div) || div <= 0)
		return fail(c, -EINVAL, "env[%zu]: resourceFieldRef: bad divisor \"%s\"", idx,
			    divisor);
	res = json_object_get(ctr, "resources");
	q = json_object_get(json_object_get(res, limits ? "limits" : "requests"), name);
	/* requests default to limits, as the apiserver defaults them */
	if (!q && !limits)
		q = json_object_get(json_object_get(res, "limits"), name);
	if (q && (!json_is_string(q) || skiff_parse_quantity(json_string_value(q), cpu, &value)))
		return fail(c, -EINVAL, "resources: %s is not a quantity", resource);
	if (!q)
		value = limits ? node_allocatable(name) : 0;
	snprintf(out, size, "%lld", (long long)div_up(value, div));
	return 0;

unsupported:
	return fail(c, -EINVAL, "env[%zu]: resourceFieldRef: unsupported resource \"%s\"", idx,
		    resource ?: "");
}

/* configMapKeyRef or secretKeyRef; *@skip when optional and missing. */
static int key_ref(struct env_ctx *c, const json_t *ref, bool secret, char **val,
		   size_t *len, bool *skip)
{
	const char *name = json_string_value(json_object_get(ref, "name"));
	const char *key = json_string_value(json_object_get(ref, "key"));
	bool optional = json_is_true(json_object_get(ref, "optional"));
	const char *kind = secret ? "Secret" : "ConfigMap";
	const json_t *obj;
	int err;

	if (!name || !*name || !key || !*key)
		return fail(c, -EINVAL, "%sKeyRef needs a name and a key",
			    secret ? "secret" : "configMap");
	obj = c->lookup(kind, c->ns, name, c->arg);
	if (!obj && optional) {
		*skip = true;
		return 0;
	}
	if (!obj)
		return skiff_error_set(c->e, -ENOENT, "%s \"%s\" not found",
				       secret ? "secret" : "configmap", name);
	err = object_key(obj, secret, key, val, len);
	if (err == -ENOENT && optional) {
		*skip = true;
		return 0;
	}
	if (err == -ENOENT)
		return skiff_error_set(c->e, err, "couldn't find key %s in %s %s/%s", key, kind,
				       c->ns, name);
	if (err == -EINVAL)
		return skiff_error_set(c->e, err, "key %s in %s %s/%s is not valid %s", key,
				       kind, c->ns, name, secret ? "base64" : "text");
	if (err)
		return skiff_error_set(c->e, err, "out of memory");
	return 0;
}

static int env_var(struct env_ctx *c, const json_t *ev, size_t idx)
{
	const char *name = json_string_value(json_object_get(ev, "name"));
	const char *value = json_string_value(json_object_get(ev, "value"));
	const json_t *from = json_object_get(ev, "valueFrom");
	const json_t *field_ref = json_object_get(from, "fieldRef");
	const json_t *res_ref = json_object_get(from, "resourceFieldRef");
	const json_t *cm_ref = json_object_get(from, "configMapKeyRef");
	const json_t *sec_ref = json_object_get(from, "secretKeyRef");
	const char *field, *fval;
	char *val = NULL, num[32];
	bool skip = false;
	size_t len;
	int err;

	if (!name || !is_env_name(name))
		return fail(c, -EINVAL, "env[%zu].name: Invalid value: \"%s\": %s", idx,
			    name ?: "", ENV_NAME_RULE);
	if ((value && *value) || !from) {
		val = expand(value ?: "", json_var, c->vars);
		if (!val)
			return skiff_error_set(c->e, -ENOMEM, "out of memory");
		err = set_var(c, name, val, strlen(val));
		free(val);
		return err;
	}
	if (field_ref) {
		field = json_string_value(json_object_get(field_ref, "fieldPath"));
		if (!field || field_value(c, field, &fval))
			return fail(c, -EINVAL, "env[%zu] %s: unsupported fieldPath: %s", idx,
				    name, field ?: "");
		return set_var(c, name, fval, strlen(fval));
	}
	if (res_ref) {
		err = resource_value(c, res_ref, idx, num, sizeof(num));
		return err ?: set_var(c, name, num, strlen(num));
	}
	if (!cm_ref && !sec_ref)
		return fail(c, -EINVAL, "env[%zu] %s: valueFrom has no supported source", idx,
			    name);
	err = key_ref(c, cm_ref ?: sec_ref, !cm_ref, &val, &len, &skip);
	if (!err && !skip)
		err = set_var(c, name, val, len);
	free(val);
	return err;
}

/* The image's "NAME=value" strings into @out, in order. */
static int image_vars(json_t *out, const json_t *image_env, struct skiff_error *e)
{
	const char *s, *eq;
	const json_t *v;
	char *name;
	size_t i;
	int err;

	if (image_env && !json_is_array(image_env))
		return skiff_error_set(e, -EINVAL, "the image's Env is not a list");
	json_array_foreach((json_t *)image_env, i, v) {
		s = json_string_value(v);
		eq = s ? strchr(s, '=') : NULL;
		/* "NAME" alone means nothing to a process: left out */
		if (!eq || eq == s)
			continue;
		name = strndup(s, (size_t)(eq - s));
		err = !name || json_object_set_new_nocheck(out, name, json_string_nocheck(eq + 1));
		free(name);
		if (err)
			return skiff_error_set(e, -ENOMEM, "out of memory");
	}
	return 0;
}

/* @out as "NAME=value" strings, NULL-terminated, in one allocation. */
static char **flatten(json_t *out)
{
	size_t n = json_object_size(out), size = 0, i = 0;
	const char *key;
	char **env, *w;
	json_t *v;

	json_object_foreach(out, key, v)
		size += strlen(key) + strlen(json_string_value(v)) + 2;
	env = malloc((n + 1) * sizeof(*env) + size);
	if (!env)
		return NULL;
	w = (char *)(env + n + 1);
	json_object_foreach(out, key, v) {
		env[i++] = w;
		w += sprintf(w, "%s=%s", key, json_string_value(v)) + 1;
	}
	env[i] = NULL;
	return env;
}

int skiff_container_env(const json_t *pod, const json_t *container,
			const json_t *image_env, const char *pod_ip,
			const char *host_ip, skiff_volume_lookup_fn lookup,
			void *arg, char ***env, struct skiff_error *e)
{
	const char *ns = json_string_value(json_object_get(json_object_get(pod, "metadata"),
							   "namespace"));
	const json_t *from = json_object_get(container, "envFrom");
	const json_t *vars = json_object_get(container, "env"), *v;
	struct env_ctx c = {
		.pod = pod,
		.container = container,
		.cname = json_string_value(json_object_get(container, "name")) ?: "",
		.ns = ns && *ns ? ns : "default",
		.pod_ip = pod_ip ?: "",
		.host_ip = host_ip ?: "",
		.lookup = lookup,
		.arg = arg,
		.e = e,
	};
	json_t *out, *jv;
	const char *key;
	size_t i;
	int err = 0;

	skiff_error_clear(e);
	*env = NULL;
	if ((from && !json_is_array(from)) || (vars && !json_is_array(vars)))
		return fail(&c, -EINVAL, "env and envFrom must be lists");
	out = json_object();
	c.vars = json_object();
	if (!out || !c.vars) {
		err = skiff_error_set(e, -ENOMEM, "out of memory");
		goto out_free;
	}
	err = image_vars(out, image_env, e);
	json_array_foreach(from, i, v)
		if (!err)
			err = env_from(&c, v, i);
	json_array_foreach(vars, i, v)
		if (!err)
			err = env_var(&c, v, i);
	if (err)
		goto out_free;
	/* the container's replace the image's in place */
	json_object_foreach(c.vars, key, jv)
		if (json_object_set_nocheck(out, key, jv))
			err = skiff_error_set(e, -ENOMEM, "out of memory");
	if (!err) {
		*env = flatten(out);
		if (!*env)
			err = skiff_error_set(e, -ENOMEM, "out of memory");
	}
	if (!err && c.warn[0])
		snprintf(e->msg, sizeof(e->msg), "%s", c.warn);
out_free:
	json_decref(out);
	json_decref(c.vars);
	return err;
}
