// SPDX-License-Identifier: GPL-2.0
/*
 * skiffctl apply and delete: manifests (YAML or JSON, several documents,
 * List objects, directories of them) into the cluster, and objects out of
 * it.
 *
 * apply creates what is missing and updates the rest with a JSON merge
 * patch of the manifest (RFC 7386), in kubectl apply's three-way manner:
 * the manifest as applied is kept in the kubectl.kubernetes.io/
 * last-applied-configuration annotation, and a field it had that the new
 * manifest lacks is deleted (null in the patch), while fields others set
 * (replicas scaled, labels added) and the server's defaults stay. A merge
 * patch rather than a PUT: it changes only what the manifest says, on the
 * server, atomically, so there is no read-modify-write race to retry and
 * nothing of the stored object is lost that the manifest does not name. An
 * object is "unchanged" (and nothing sent) when the manifest is the one
 * last applied and the live object still has every value it sets.
 *
 * Every manifest is read and checked (YAML, apiVersion, kind, name,
 * namespace) before the first request: a bad document changes nothing.
 */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "ctl.h"
#include "skiff_yaml.h"
#include "util.h"

#define OPT_IGNORE_NOT_FOUND 0x100
#define OPT_WAIT 0x101
#define OPT_TIMEOUT 0x102
#define OPT_GRACE 0x103

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"
#define MERGE_PATCH "application/merge-patch+json"
#define NS_MISMATCH_FMT \
	"%s: %s: the namespace from the provided object \"%s\" does not match the namespace \"%s\". You must pass '--namespace=%s' to perform this operation."
#define NO_KIND_FMT \
	"%s: %s: no matches for kind \"%s\" in version \"%s\" (skiffctl knows: %s)"
#define NOT_OBJECT_MSG "not an object (a manifest maps apiVersion, kind, metadata...)"
#define WAIT_TIMEOUT_FMT "error: timed out waiting for the condition on %s/%s\n"

static const char apply_usage[] =
	"Usage: skiffctl apply -f FILE|DIR|- [-f ...] [-n NS]\n"
	"\n"
	"Creates the objects of the manifests that do not exist, and updates those that\n"
	"do with a JSON merge patch of the manifest, as kubectl apply: a field the last\n"
	"applied manifest had and this one lacks is removed; what others set stays.\n"
	"Prints KIND/NAME created, configured or unchanged.\n"
	"\n"
	"Options:\n"
	"  -f, --filename FILE  a YAML or JSON file (several documents, `---`), a\n"
	"                       directory of them (*.yaml, *.yml, *.json), or - for\n"
	"                       standard input; may be repeated\n"
	"  -n, --namespace NS   for objects that name none (default: the kubeconfig\n"
	"                       context's, else default)\n";

static const char delete_usage[] =
	"Usage: skiffctl delete KIND NAME... [-n NS] [OPTIONS]\n"
	"       skiffctl delete KIND/NAME... [-n NS] [OPTIONS]\n"
	"       skiffctl delete -f FILE|DIR|- [-n NS] [OPTIONS]\n"
	"\n"
	"Deletes objects (their dependents in the background, as kubectl) and waits\n"
	"until they are gone.\n"
	"\n"
	"Options:\n"
	"  -f, --filename FILE     the objects of manifests (as apply takes them)\n"
	"  -n, --namespace NS      the namespace\n"
	"      --ignore-not-found  no error for objects that do not exist\n"
	"      --grace-period S    seconds a pod has to stop (default: its own)\n"
	"      --wait=false        return once the deletions are asked for\n"
	"      --timeout D         how long to wait (30s, 2m; default 0: no limit)\n";

/* One object of a manifest, checked. */
struct doc {
	json_t *obj;
	const struct skiff_ctl_kind *k;
	const char *source;	/* the file, "-" for standard input */
	char *ns;		/* NULL for a cluster-scoped kind */
};

struct docs {
	struct doc *v;
	size_t n;
	size_t cap;
	char **files;		/* the names of a directory's files, owned */
	size_t n_files;
};

static void docs_free(struct docs *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		json_decref(d->v[i].obj);
		free(d->v[i].ns);
	}
	free(d->v);
	for (i = 0; i < d->n_files; i++)
		free(d->files[i]);
	free(d->files);
	memset(d, 0, sizeof(*d));
}

static int docs_add(struct docs *d, json_t *obj, const char *source)
{
	struct doc *v;

	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		v = realloc(d->v, d->cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->v = v;
	}
	d->v[d->n++] = (struct doc){ .obj = json_incref(obj), .source = source };
	return 0;
}

static int fail_text(const char *what, const char *msg)
{
	fprintf(stderr, "%s: %s: %s\n", skiff_ctl_prog, what, msg);
	return SKIFF_CTL_FAIL;
}

/* All of standard input, as documents. */
static json_t *load_stdin(struct skiff_error *e)
{
	struct skiff_buf b = { 0 };
	char chunk[65536];
	json_t *v = NULL;
	ssize_t n;

	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) > 0) {
		if (skiff_buf_add(&b, chunk, n)) {
			skiff_error_set(e, -ENOMEM, "standard input: out of memory");
			goto out;
		}
	}
	if (n < 0) {
		skiff_error_set(e, -errno, "standard input: %s", strerror(errno));
		goto out;
	}
	v = skiff_yaml_load_all(b.data ? b.data : "", b.len, e);
	if (!v) {
		char msg[sizeof(e->msg)];

		snprintf(msg, sizeof(msg), "%s", e->msg);
		snprintf(e->msg, sizeof(e->msg), "standard input: %.200s", msg);
	}
out:
	free(b.data);
	return v;
}

/* The documents of one file; a kind "...List" with items is its items. */
static int add_file(struct docs *d, const char *what, const char *path, const char *source)
{
	struct skiff_error e;
	json_t *all, *v, *item;
	size_t i, j;
	int err = 0;

	all = !strcmp(path, "-") ? load_stdin(&e) : skiff_yaml_load_file(path, 1, &e);
	if (!all) {
		fprintf(stderr, "%s: %s: error parsing %s\n", skiff_ctl_prog, what, e.msg);
		return SKIFF_CTL_FAIL;
	}
	json_array_foreach(all, i, v) {
		const char *kind = skiff_str(v, "kind");
		size_t len = kind ? strlen(kind) : 0;

		if (len >= 4 && !strcmp(kind + len - 4, "List") &&
		    json_is_array(json_object_get(v, "items"))) {
			json_array_foreach(json_object_get(v, "items"), j, item)
				if (!err)
					err = docs_add(d, item, source);
		} else if (!err) {
			err = docs_add(d, v, source);
		}
	}
	json_decref(all);
	return err ? fail_text(what, "out of memory") : 0;
}

static int manifest_file(const struct dirent *de)
{
	const char *dot = strrchr(de->d_name, '.');

	return de->d_name[0] != '.' && dot &&
	       (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml") || !strcmp(dot, ".json"));
}

/*
 * -f PATH: a file, standard input, or a directory's manifests in name
 * order (not its subdirectories, as kubectl without -R).
 */
static int add_source(struct docs *d, const char *what, char *path)
{
	struct dirent **list;
	char *file, **files;
	struct stat st;
	int n, i, ret = 0;

	if (strcmp(path, "-") && stat(path, &st)) {
		fprintf(stderr, "%s: %s: %s: %s\n", skiff_ctl_prog, what, path, strerror(errno));
		return SKIFF_CTL_FAIL;
	}
	if (!strcmp(path, "-"))
		return add_file(d, what, path, "STDIN");
	if (!S_ISDIR(st.st_mode))
		return add_file(d, what, path, path);
	n = scandir(path, &list, manifest_file, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: %s: %s: %s\n", skiff_ctl_prog, what, path, strerror(errno));
		return SKIFF_CTL_FAIL;
	}
	for (i = 0; i < n; i++) {
		/* The docs name their file: @d keeps the names. */
		files = ret ? NULL : realloc(d->files, (d->n_files + 1) * sizeof(*files));
		if (!ret && (!files || asprintf(&file, "%s/%s", path, list[i]->d_name) < 0)) {
			if (files)
				d->files = files;
			ret = fail_text(what, "out of memory");
		} else if (!ret) {
			d->files = files;
			d->files[d->n_files++] = file;
			ret = add_file(d, what, file, file);
		}
		free(list[i]);
	}
	free(list);
	if (!n)
		fprintf(stderr, "%s: %s: %s: no *.yaml, *.yml or *.json in it\n", skiff_ctl_prog,
			what, path);
	return n ? ret : SKIFF_CTL_FAIL;
}

/* What every document must be before anything is sent. */
static int check_doc(const char *what, struct doc *doc, size_t index, const char *ns,
		     bool ns_given)
{
	const char *api_version = skiff_str(doc->obj, "apiVersion");
	const char *kind = skiff_str(doc->obj, "kind");
	const char *name = skiff_meta(doc->obj, "name"), *obj_ns;
	char where[4200];

	snprintf(where, sizeof(where), "%.4000s: document %zu", doc->source, index + 1);
	if (!json_is_object(doc->obj)) {
		fprintf(stderr, "%s: %s: %s: " NOT_OBJECT_MSG "\n", skiff_ctl_prog, what, where);
		return SKIFF_CTL_FAIL;
	}
	if (!api_version || !*api_version || !kind || !*kind) {
		fprintf(stderr, "%s: %s: %s: %s not set\n", skiff_ctl_prog, what, where,
			!api_version || !*api_version ? "apiVersion" : "kind");
		return SKIFF_CTL_FAIL;
	}
	doc->k = skiff_ctl_kind_of(api_version, kind);
	if (!doc->k) {
		fprintf(stderr, "%s: " NO_KIND_FMT "\n", skiff_ctl_prog, what, where, kind,
			api_version, skiff_ctl_kind_names);
		return SKIFF_CTL_FAIL;
	}
	if (!name || !*name) {
		fprintf(stderr, "%s: %s: %s: %s: metadata.name is required\n", skiff_ctl_prog, what,
			where, kind);
		return SKIFF_CTL_FAIL;
	}
	if (!doc->k->api->namespaced)
		return 0;
	obj_ns = skiff_meta(doc->obj, "namespace");
	if (obj_ns && *obj_ns && ns_given && strcmp(obj_ns, ns)) {
		fprintf(stderr, "%s: " NS_MISMATCH_FMT "\n", skiff_ctl_prog, what, where, obj_ns,
			ns, obj_ns);
		return SKIFF_CTL_FAIL;
	}
	doc->ns = strdup(obj_ns && *obj_ns ? obj_ns : ns);
	return doc->ns ? 0 : fail_text(what, "out of memory");
}

/*
 * Reads and checks every -f: 0, or an exit status after saying what is
 * wrong (nothing sent yet).
 */
static int load_docs(struct docs *d, const char *what, char **files, int n_files,
		     const struct skiff_ctl_conn *conn)
{
	size_t i, first;
	int f, ret;

	for (f = 0; f < n_files; f++) {
		first = d->n;
		ret = add_source(d, what, files[f]);
		for (i = first; !ret && i < d->n; i++)
			ret = check_doc(what, &d->v[i], i - first, conn->ns, conn->ns_given);
		if (ret)
			return ret;
	}
	if (!d->n)
		return skiff_ctl_error("%s: no objects passed to %s", what, what);
	return 0;
}

static void doc_ref(const struct doc *doc, char *out, size_t size)
{
	char kind[128];

	skiff_ctl_kind_ref(doc->k, kind, sizeof(kind));
	snprintf(out, size, "%s/%s", kind, skiff_meta(doc->obj, "name"));
}

/* ---- apply ------------------------------------------------------------------ */

/*
 * The manifest as it is applied: its namespace set, without the
 * annotation but with an annotations map, as kubectl records it.
 */
static json_t *applied_config(const struct doc *doc)
{
	json_t *config = json_deep_copy(doc->obj), *meta, *annotations;

	if (!config)
		return NULL;
	meta = json_object_get(config, "metadata");
	if (doc->ns)
		json_object_set_new(meta, "namespace", json_string(doc->ns));
	annotations = json_object_get(meta, "annotations");
	if (!json_is_object(annotations)) {
		annotations = json_object();
		json_object_set_new(meta, "annotations", annotations);
	}
	json_object_del(annotations, LAST_APPLIED);
	return config;
}

/*
 * @config as Go's encoding/json writes it (keys sorted, compact, <, > and
 * & escaped), a newline after: kubectl's annotation, byte for byte, so
 * that kubectl apply and skiffctl apply take each other's as their own.
 */
static char *go_json(const json_t *config)
{
	char *text = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS), *out, *p;
	const char *s;

	if (!text)
		return NULL;
	out = malloc(strlen(text) * 6 + 2);
	for (s = text, p = out; out && *s; s++) {
		if (*s == '<' || *s == '>' || *s == '&')
			p += sprintf(p, "\\u%04x", *s);
		else
			*p++ = *s;
	}
	if (out)
		strcpy(p, "\n");
	free(text);
	return out;
}

/* @config with the annotation holding @config itself, as kubectl writes it. */
static json_t *with_annotation(const json_t *config)
{
	json_t *obj = json_deep_copy(config), *meta, *annotations;
	char *line = go_json(config);

	if (!obj || !line) {
		free(line);
		json_decref(obj);
		return NULL;
	}
	meta = json_object_get(obj, "metadata");
	annotations = json_object_get(meta, "annotations");
	if (!json_is_object(annotations)) {
		annotations = json_object();
		json_object_set_new(meta, "annotations", annotations);
	}
	json_object_set_new(annotations, LAST_APPLIED, json_string(line));
	free(line);
	return obj;
}

/*
 * Fields of @old (the last applied) that the manifest no longer has: null
 * in @patch (the manifest and its annotation), so that they go.
 */
static void add_deletions(json_t *patch, const json_t *old)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)old, key, v) {
		json_t *now = json_object_get(patch, key);

		if (!now)
			json_object_set_new(patch, key, json_null());
		else if (json_is_object(v) && json_is_object(now))
			add_deletions(now, v);
	}
}

static bool same_value(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	return json_equal(a, b);
}

/*
 * Does @live already say all @patch would set? Objects: every key of the
 * patch (null: absent from @live); lists: as long, each element covered
 * (the server's defaults in list elements, such as a container's
 * imagePullPolicy, are not a change).
 */
static bool covered(const json_t *patch, const json_t *live)
{
	const char *key;
	json_t *v, *l;
	size_t i;

	if (json_is_object(patch)) {
		if (!json_is_object(live))
			return false;
		json_object_foreach((json_t *)patch, key, v) {
			l = json_object_get(live, key);
			if (json_is_null(v) ? !!l : !covered(v, l))
				return false;
		}
		return true;
	}
	if (json_is_array(patch)) {
		if (!json_is_array(live) || json_array_size(live) != json_array_size(patch))
			return false;
		json_array_foreach(patch, i, v)
			if (!covered(v, json_array_get(live, i)))
				return false;
		return true;
	}
	return live && same_value(patch, live);
}

/*
 * What the server makes of @patch: a Secret's stringData is stored as
 * base64 in data, so that is what the live object is compared with.
 */
static json_t *as_stored(const struct doc *doc, const json_t *patch)
{
	json_t *out = json_deep_copy(patch), *strings, *data, *v;
	const char *key;

	strings = json_object_get(out, "stringData");
	if (!out || doc->k->api != &skiff_secrets || !json_is_object(strings))
		return out;
	data = json_object_get(out, "data");
	if (!json_is_object(data)) {
		data = json_object();
		json_object_set_new(out, "data", data);
	}
	json_object_foreach(strings, key, v)
		if (json_is_string(v))
			json_object_set_new(data, key,
					    skiff_base64_json(json_string_value(v),
							      json_string_length(v)));
	json_object_del(out, "stringData");
	return out;
}

/* The configuration last applied to @live, or NULL. */
static json_t *last_applied(const json_t *live)
{
	const json_t *annotations = json_object_get(json_object_get(live, "metadata"),
						    "annotations");
	const char *text = json_string_value(json_object_get(annotations, LAST_APPLIED));

	return text ? json_loads(text, 0, NULL) : NULL;
}

static int apply_error(struct skiff_ctl_conn *conn, const struct doc *doc, long code,
		       const json_t *answer, const char *verb)
{
	char when[4200];

	snprintf(when, sizeof(when), "error when %s \"%.4000s\"", verb, doc->source);
	return skiff_ctl_defer_error(conn, code, answer, when);
}

static int apply_create(struct skiff_ctl_conn *conn, const struct doc *doc, const json_t *body)
{
	char ref[512], *path = skiff_path(doc->k->api, doc->ns, NULL, NULL);
	json_t *answer = NULL;
	long code = path ? skiff_ctl_call(conn, "POST", path, NULL, body, &answer) : 0;
	int ret = SKIFF_CTL_OK;

	free(path);
	if (code == 200 || code == 201) {
		doc_ref(doc, ref, sizeof(ref));
		printf("%s created\n", ref);
	} else {
		ret = apply_error(conn, doc, code, answer, "creating");
	}
	json_decref(answer);
	return ret;
}

static int apply_one(struct skiff_ctl_conn *conn, const struct doc *doc)
{
	char ref[512], *path = skiff_path(doc->k->api, doc->ns, skiff_meta(doc->obj, "name"), NULL);
	json_t *config = applied_config(doc), *patch = NULL, *live = NULL, *old = NULL;
	json_t *answer = NULL, *stored = NULL;
	int ret = SKIFF_CTL_FAIL;
	long code;

	patch = config ? with_annotation(config) : NULL;
	if (!path || !patch) {
		fail_text("apply", "out of memory");
		goto out;
	}
	code = skiff_ctl_call(conn, "GET", path, NULL, NULL, &live);
	if (code == 404) {
		ret = apply_create(conn, doc, patch);
		goto out;
	}
	if (code != 200) {
		ret = apply_error(conn, doc, code, live, "retrieving current configuration of");
		goto out;
	}
	old = last_applied(live);
	if (json_is_object(old))
		add_deletions(patch, old);
	doc_ref(doc, ref, sizeof(ref));
	stored = as_stored(doc, patch);
	if (old && json_equal(old, config) && covered(stored, live)) {
		printf("%s unchanged\n", ref);
		ret = SKIFF_CTL_OK;
		goto out;
	}
	code = skiff_ctl_call(conn, "PATCH", path, MERGE_PATCH, patch, &answer);
	if (code != 200) {
		ret = apply_error(conn, doc, code, answer, "patching");
		goto out;
	}
	printf("%s configured\n", ref);
	ret = SKIFF_CTL_OK;
out:
	json_decref(stored);
	json_decref(answer);
	json_decref(old);
	json_decref(live);
	json_decref(patch);
	json_decref(config);
	free(path);
	return ret;
}

/* Options of apply and delete; -1 after --help, an exit status, or 0. */
struct apply_opts {
	char *files[64];
	int n_files;
	const char *ns;
	bool ignore_not_found;
	bool wait;
	long long timeout_ms;
	long long grace;
	char **args;
	int n_args;
};

static const char *option_name(const struct option *table, int c)
{
	for (; table->name; table++)
		if (table->val == c)
			return table->name;
	return "?";
}

static int parse(const char *what, const char *usage, bool del, int argc, char **argv,
		 struct apply_opts *o)
{
	static const struct option table[] = {
		{ "filename", required_argument, NULL, 'f' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "ignore-not-found", no_argument, NULL, OPT_IGNORE_NOT_FOUND },
		{ "wait", optional_argument, NULL, OPT_WAIT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "grace-period", required_argument, NULL, OPT_GRACE },
		{ "help", no_argument, NULL, 'h' },
		SKIFF_CTL_GLOBAL_OPTIONS,
		{ 0 }
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->wait = true;
	o->grace = -1;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":hf:n:", table, NULL)) != -1) {
		if (!del && c >= OPT_IGNORE_NOT_FOUND && c <= OPT_GRACE)
			return skiff_ctl_usage_error(usage, "%s: unknown option '--%s'", what,
						     option_name(table, c));
		switch (c) {
		case 'f':
			if (o->n_files == (int)ARRAY_SIZE(o->files))
				return skiff_ctl_usage_error(usage, "%s: more than %zu -f", what,
							     ARRAY_SIZE(o->files));
			o->files[o->n_files++] = optarg;
			break;
		case 'n':
			if (!*optarg)
				return skiff_ctl_usage_error(usage, "%s: -n: an empty namespace",
							     what);
			o->ns = optarg;
			break;
		case OPT_IGNORE_NOT_FOUND:
			o->ignore_not_found = true;
			break;
		case OPT_WAIT:
			if (optarg && strcmp(optarg, "true") && strcmp(optarg, "false"))
				return skiff_ctl_usage_error(usage,
							     "%s: --wait='%s': true or false",
							     what, optarg);
			o->wait = !optarg || !strcmp(optarg, "true");
			break;
		case OPT_TIMEOUT:
			if (skiff_ctl_parse_timeout(usage, what, optarg, &o->timeout_ms))
				return SKIFF_CTL_FAIL;
			break;
		case OPT_GRACE:
			errno = 0;
			o->grace = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end || o->grace < 0 || o->grace > 1000000)
				return skiff_ctl_usage_error(usage,
							     "%s: --grace-period '%s': seconds, 0 or more",
							     what, optarg);
			break;
		case SKIFF_CTL_OPT_KUBECONFIG:
			skiff_ctl_global_option(c, optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			return -1;
		default:
			return skiff_ctl_option_error(usage, what, c, argv);
		}
	}
	o->args = argv + optind;
	o->n_args = argc - optind;
	return 0;
}

int skiff_ctl_apply(int argc, char **argv)
{
	struct skiff_ctl_conn conn;
	struct apply_opts o;
	struct docs d = { 0 };
	size_t i;
	int ret;

	ret = parse("apply", apply_usage, false, argc, argv, &o);
	if (ret)
		return ret < 0 ? SKIFF_CTL_OK : ret;
	if (o.n_args)
		return skiff_ctl_usage_error(apply_usage, "apply: unexpected argument '%s'",
					     o.args[0]);
	if (!o.n_files)
		return skiff_ctl_usage_error(apply_usage, "apply: -f FILE is required");
	ret = skiff_ctl_connect(&conn, o.ns);
	if (ret)
		return ret;
	ret = load_docs(&d, "apply", o.files, o.n_files, &conn);
	if (!ret)
		for (i = 0; i < d.n; i++)
			if (apply_one(&conn, &d.v[i]))
				ret = SKIFF_CTL_FAIL;
	docs_free(&d);
	skiff_ctl_disconnect(&conn);
	return ret;
}

/* ---- delete ----------------------------------------------------------------- */

/* One object asked to go, and how to tell it went: its uid. */
struct gone {
	const struct skiff_ctl_kind *k;
	const char *name;
	char *ns;
	char *uid;
};

static json_t *delete_options(const struct apply_opts *o)
{
	json_t *body = json_pack("{s:s}", "propagationPolicy", "Background");

	if (body && o->grace >= 0)
		json_object_set_new(body, "gracePeriodSeconds", json_integer(o->grace));
	return body;
}

/*
 * DELETE one object: 0 and @g filled (uid NULL when it went at once), 1
 * after an error, 2 when it was not there and that is fine.
 */
static int delete_one(struct skiff_ctl_conn *conn, const struct apply_opts *o,
		      const struct skiff_ctl_kind *k, const char *ns, const char *name,
		      const char *source, struct gone *g)
{
	char kind[128], when[4200], *path = skiff_path(k->api, ns, name, NULL);
	json_t *body = delete_options(o), *answer = NULL;
	long code = path && body ? skiff_ctl_call(conn, "DELETE", path, NULL, body, &answer) : 0;
	const char *uid;

	free(path);
	json_decref(body);
	if (code == 404 && o->ignore_not_found) {
		json_decref(answer);
		return 2;
	}
	if (code != 200 && code != 202) {
		snprintf(when, sizeof(when), "error when deleting \"%.4000s\"",
			 source ? source : "");
		skiff_ctl_defer_error(conn, code, answer, source ? when : NULL);
		json_decref(answer);
		return 1;
	}
	skiff_ctl_kind_ref(k, kind, sizeof(kind));
	printf("%s \"%s\" deleted\n", kind, name);
	fflush(stdout);
	/* A Status answer: gone already. The object: still finishing. */
	uid = strcmp(skiff_str(answer, "kind") ?: "", "Status") ? skiff_meta(answer, "uid") : NULL;
	*g = (struct gone){ .k = k, .name = name, .ns = ns ? strdup(ns) : NULL,
			    .uid = uid ? strdup(uid) : NULL };
	json_decref(answer);
	return 0;
}

/* Gone: not found, or another object of that name now. */
static bool is_gone(struct skiff_ctl_conn *conn, const struct gone *g, bool *error)
{
	char *path = skiff_path(g->k->api, g->ns, g->name, NULL);
	json_t *answer = NULL;
	long code = path ? skiff_ctl_call(conn, "GET", path, NULL, NULL, &answer) : 0;
	bool gone = code == 404 || (code == 200 && strcmp(skiff_meta(answer, "uid") ?: "",
							  g->uid));

	*error = code != 200 && code != 404;
	free(path);
	json_decref(answer);
	return gone;
}

/* Waits for each in turn, as kubectl; SKIFF_CTL_FAIL on the timeout. */
static int wait_gone(struct skiff_ctl_conn *conn, const struct apply_opts *o, struct gone *g,
		     size_t n)
{
	long long deadline = skiff_ctl_now_ms() + o->timeout_ms;
	bool error;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!g[i].uid)
			continue;
		while (!is_gone(conn, &g[i], &error)) {
			if (o->timeout_ms && skiff_ctl_now_ms() >= deadline) {
				fprintf(stderr, WAIT_TIMEOUT_FMT, g[i].k->api->plural, g[i].name);
				return SKIFF_CTL_FAIL;
			}
			usleep(error ? 1000000 : 200000);
		}
	}
	return SKIFF_CTL_OK;
}

/* The targets of KIND NAME... or KIND/NAME...; an exit status. */
static int delete_args(struct skiff_ctl_conn *conn, const struct apply_opts *o,
		       struct gone *g, size_t *n)
{
	const struct skiff_ctl_kind *k = NULL;
	const char *name;
	char type[128];
	int i, ret = SKIFF_CTL_OK, r;

	/* Every argument checked before the first deletion. */
	for (i = 0; i < o->n_args; i++) {
		if (!strchr(o->args[0], '/')) {
			if (!i)
				continue;
			if (strchr(o->args[i], '/') || !*o->args[i])
				return skiff_ctl_usage_error(delete_usage,
							     "delete: '%s': a NAME of kind %s",
							     o->args[i], o->args[0]);
			continue;
		}
		if (skiff_ctl_split_ref(o->args[i], type, sizeof(type), &name) || !name)
			return skiff_ctl_usage_error(delete_usage,
						     "delete: '%s': KIND/NAME, or KIND NAME...",
						     o->args[i]);
		if (!skiff_ctl_kind_find(type))
			return skiff_ctl_error("delete: unknown kind '%s'; one of:\n%s", type,
					       skiff_ctl_kind_names);
	}
	if (!strchr(o->args[0], '/')) {
		k = skiff_ctl_kind_find(o->args[0]);
		if (!k)
			return skiff_ctl_error("delete: unknown kind '%s'; one of:\n%s", o->args[0],
					       skiff_ctl_kind_names);
		if (o->n_args < 2)
			return skiff_ctl_usage_error(delete_usage,
						     "delete: resource(s) were provided, but no name was specified");
	}
	for (i = k ? 1 : 0; i < o->n_args; i++) {
		name = o->args[i];
		if (!k) {
			skiff_ctl_split_ref(o->args[i], type, sizeof(type), &name);
			r = delete_one(conn, o, skiff_ctl_kind_find(type),
				       skiff_ctl_kind_find(type)->api->namespaced ? conn->ns : NULL,
				       name, NULL, &g[*n]);
		} else {
			r = delete_one(conn, o, k, k->api->namespaced ? conn->ns : NULL, name, NULL,
				       &g[*n]);
		}
		if (!r)
			(*n)++;
		else if (r == 1)
			ret = SKIFF_CTL_FAIL;
	}
	return ret;
}

int skiff_ctl_delete(int argc, char **argv)
{
	struct skiff_ctl_conn conn;
	struct apply_opts o;
	struct docs d = { 0 };
	struct gone *g = NULL;
	size_t i, n = 0;
	int ret, r;

	ret = parse("delete", delete_usage, true, argc, argv, &o);
	if (ret)
		return ret < 0 ? SKIFF_CTL_OK : ret;
	if (o.n_files && o.n_args)
		return skiff_ctl_usage_error(delete_usage,
					     "delete: KIND NAME or -f FILE, not both ('%s')",
					     o.args[0]);
	if (!o.n_files && !o.n_args)
		return skiff_ctl_usage_error(delete_usage, "delete: KIND NAME... or -f FILE");
	ret = skiff_ctl_connect(&conn, o.ns);
	if (ret)
		return ret;
	if (o.n_files) {
		ret = load_docs(&d, "delete", o.files, o.n_files, &conn);
		g = ret ? NULL : calloc(d.n, sizeof(*g));
		if (!ret && !g)
			ret = fail_text("delete", "out of memory");
		/* A failure of one is said; the others still go, as kubectl. */
		for (i = 0; g && i < d.n; i++) {
			r = delete_one(&conn, &o, d.v[i].k, d.v[i].ns,
				       skiff_meta(d.v[i].obj, "name"), d.v[i].source, &g[n]);
			if (!r)
				n++;
			else if (r == 1)
				ret = SKIFF_CTL_FAIL;
		}
	} else {
		g = calloc(o.n_args, sizeof(*g));
		ret = g ? delete_args(&conn, &o, g, &n) : fail_text("delete", "out of memory");
	}
	if (o.wait && n && wait_gone(&conn, &o, g, n))
		ret = SKIFF_CTL_FAIL;
	for (i = 0; i < n; i++) {
		free(g[i].ns);
		free(g[i].uid);
	}
	free(g);
	docs_free(&d);
	skiff_ctl_disconnect(&conn);
	return ret;
}
