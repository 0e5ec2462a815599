// SPDX-License-Identifier: GPL-2.0
/*
 * skiffctl get and describe: objects as kubectl shows them. get asks the
 * apiserver for a Table (the columns kubectl prints are the server's to
 * choose, so both print the same) and lays it out as kubectl's tabwriter
 * does; -o json|yaml|name print the objects. describe writes kubectl
 * describe's text for pods, nodes, deployments and services, and a
 * generic one (metadata, then the object's fields) for the other kinds,
 * each with the object's Events.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ctl.h"
#include "skiff_yaml.h"
#include "util.h"

#define OPT_FIELDS 0x100
#define OPT_NO_HEADERS 0x101

#define REPLICAS_FMT \
	"Replicas:\t%lld desired | %lld updated | %lld total | %lld available | %lld unavailable\n"
#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"
#define NO_NAME_ACROSS_FMT \
	"%s: a resource cannot be retrieved by name across all namespaces"

static const char get_usage[] =
	"Usage: skiffctl get KIND [NAME...] [-n NS | -A] [-l SELECTOR] [-o FORMAT]\n"
	"       skiffctl get KIND/NAME... [-n NS] [-o FORMAT]\n"
	"\n"
	"Objects of a kind, or those named, as kubectl get prints them.\n"
	"\n"
	"Options:\n"
	"  -n, --namespace NS        the namespace (default: the kubeconfig context's,\n"
	"                            else default)\n"
	"  -A, --all-namespaces      every namespace (a NAMESPACE column)\n"
	"  -l, --selector SELECTOR   by labels, as kubectl (app=web,tier!=db)\n"
	"      --field-selector SEL  by fields the apiserver knows (spec.nodeName=n1)\n"
	"  -o, --output FORMAT       wide (more columns), json, yaml or name\n"
	"      --no-headers          tables without their header line\n"
	"\n"
	"Kinds (plural, singular, short name or Kind; case does not matter):\n"
	SKIFF_CTL_KIND_NAMES "\n";

static const char describe_usage[] =
	"Usage: skiffctl describe KIND [NAME...] [-n NS | -A] [-l SELECTOR]\n"
	"       skiffctl describe KIND/NAME... [-n NS]\n"
	"\n"
	"What kubectl describe says of pods, nodes, deployments and services: the\n"
	"important fields, conditions and the object's Events; of other kinds their\n"
	"metadata and fields. Without NAME, every object of KIND.\n"
	"\n"
	"Options:\n"
	"  -n, --namespace NS        the namespace\n"
	"  -A, --all-namespaces      every namespace (without NAME)\n"
	"  -l, --selector SELECTOR   by labels (without NAME)\n"
	"\n"
	"Kinds:\n" SKIFF_CTL_KIND_NAMES "\n";

enum output { OUT_TABLE, OUT_WIDE, OUT_JSON, OUT_YAML, OUT_NAME };

struct get_opts {
	const char *ns;
	bool all_ns;
	const char *labels;
	const char *fields;
	enum output output;
	bool no_headers;
	char **args;
	int n_args;
};

/* One thing asked for: every object of @k (@name NULL), or one. */
struct target {
	const struct skiff_ctl_kind *k;
	const char *name;
};

static int parse_output(const char *usage, const char *what, const char *text,
			enum output *out)
{
	static const char *const names[] = {
		[OUT_WIDE] = "wide", [OUT_JSON] = "json", [OUT_YAML] = "yaml", [OUT_NAME] = "name",
	};
	size_t i;

	for (i = OUT_WIDE; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(text, names[i])) {
			*out = i;
			return 0;
		}
	}
	return skiff_ctl_usage_error(usage, "%s: -o '%s': wide, json, yaml or name", what, text);
}

/* Returns -1 after --help, an exit status after an error, 0 to go on. */
static int parse(const char *what, const char *usage, bool get, int argc, char **argv,
		 struct get_opts *o)
{
	static const struct option table[] = {
		{ "namespace", required_argument, NULL, 'n' },
		{ "all-namespaces", no_argument, NULL, 'A' },
		{ "selector", required_argument, NULL, 'l' },
		{ "field-selector", required_argument, NULL, OPT_FIELDS },
		{ "output", required_argument, NULL, 'o' },
		{ "no-headers", no_argument, NULL, OPT_NO_HEADERS },
		{ "help", no_argument, NULL, 'h' },
		SKIFF_CTL_GLOBAL_OPTIONS,
		{ 0 }
	};
	int c, ret;

	memset(o, 0, sizeof(*o));
	optind = 0;
	while ((c = getopt_long(argc, argv, ":hn:Al:o:", table, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->ns = optarg;
			break;
		case 'A':
			o->all_ns = true;
			break;
		case 'l':
			o->labels = optarg;
			break;
		case OPT_FIELDS:
			o->fields = optarg;
			break;
		case 'o':
			if (!get)
				return skiff_ctl_usage_error(usage, "%s: unknown option '-o'",
							     what);
			ret = parse_output(usage, what, optarg, &o->output);
			if (ret)
				return ret;
			break;
		case OPT_NO_HEADERS:
			o->no_headers = true;
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
	if (!get && (o->fields || o->no_headers))
		return skiff_ctl_usage_error(usage,
					     "%s: --field-selector and --no-headers are get's",
					     what);
	if (o->ns && !*o->ns)
		return skiff_ctl_usage_error(usage, "%s: -n: an empty namespace", what);
	return 0;
}

/* How many kinds "pods,svc" names: 0 when a name is empty. */
static int kinds_in(const char *list)
{
	int n = 1;

	if (!*list || *list == ',')
		return 0;
	for (; *list; list++) {
		if (*list != ',')
			continue;
		if (!list[1] || list[1] == ',')
			return 0;
		n++;
	}
	return n;
}

#define MAX_KINDS 64

/*
 * kubectl's category "all" (`get all`), in the order kubectl prints it
 * from skiff's discovery.
 */
static const char *const category_all[] = {
	"pods", "services", "deployments", "replicasets", "daemonsets", "statefulsets", "jobs",
};

/* The kinds of "pods,svc" or "all" into @out: how many, or -1 after saying why. */
static int kinds_of(const char *what, const char *usage, const char *list,
		    const struct skiff_ctl_kind **out)
{
	char *copy, *word, *save = NULL;
	int n = 0, ret = -1;
	size_t i;

	if (!kinds_in(list)) {
		skiff_ctl_usage_error(usage, "%s: '%s': KIND[,KIND...]", what, list);
		return -1;
	}
	copy = strdup(list);
	if (!copy) {
		skiff_ctl_error("%s: out of memory", what);
		return -1;
	}
	for (word = strtok_r(copy, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
		if (n + ARRAY_SIZE(category_all) > MAX_KINDS) {
			skiff_ctl_error("%s: more than %d kinds", what, MAX_KINDS);
			goto out;
		}
		if (!strcasecmp(word, "all")) {
			for (i = 0; i < ARRAY_SIZE(category_all); i++)
				out[n++] = skiff_ctl_kind_find(category_all[i]);
			continue;
		}
		out[n] = skiff_ctl_kind_find(word);
		if (!out[n]) {
			skiff_ctl_error("%s: unknown kind '%s'; one of:\n%s\n(or all)", what, word,
					skiff_ctl_kind_names);
			goto out;
		}
		n++;
	}
	ret = n;
out:
	free(copy);
	return ret;
}

/*
 * KIND[,KIND...] [NAME...] or KIND/NAME...: 0 and the targets (malloc'd),
 * or an exit status after saying what is wrong.
 */
static int resolve(const char *what, const char *usage, const struct get_opts *o,
		   struct target **out, int *count)
{
	const struct skiff_ctl_kind *kinds[MAX_KINDS];
	int i, j, k, n, n_kinds = 0;
	char type[128];
	struct target *t;
	const char *name;

	*out = NULL;
	*count = 0;
	if (!o->n_args)
		return skiff_ctl_usage_error(usage, "%s: KIND missing", what);
	if (strchr(o->args[0], '/')) {
		n = o->n_args;
	} else {
		n_kinds = kinds_of(what, usage, o->args[0], kinds);
		if (n_kinds < 0)
			return SKIFF_CTL_FAIL;
		n = n_kinds * (o->n_args > 1 ? o->n_args - 1 : 1);
	}
	t = calloc(n, sizeof(*t));
	if (!t)
		return skiff_ctl_error("%s: out of memory", what);
	if (!strchr(o->args[0], '/')) {
		for (j = 0, k = 0; k < n_kinds; k++) {
			for (i = 1; i < o->n_args || i == 1; i++) {
				t[j].k = kinds[k];
				t[j++].name = o->n_args > 1 ? o->args[i] : NULL;
			}
		}
		for (i = 1; i < o->n_args; i++) {
			if (strchr(o->args[i], '/')) {
				free(t);
				return skiff_ctl_usage_error(usage,
							     "%s: '%s': there is a KIND already (%s); a NAME has no '/'",
							     what, o->args[i], o->args[0]);
			}
		}
	} else {
		for (i = 0; i < o->n_args; i++) {
			if (skiff_ctl_split_ref(o->args[i], type, sizeof(type), &name) || !name) {
				free(t);
				return skiff_ctl_usage_error(usage,
							     "%s: '%s': KIND/NAME, or KIND NAME...",
							     what, o->args[i]);
			}
			t[i].k = skiff_ctl_kind_find(type);
			t[i].name = name;
			if (!t[i].k) {
				free(t);
				return skiff_ctl_error("%s: unknown kind '%s'; one of:\n%s", what,
						       type, skiff_ctl_kind_names);
			}
		}
	}
	for (i = 0; i < n; i++) {
		if (t[i].name && !*t[i].name) {
			free(t);
			return skiff_ctl_usage_error(usage, "%s: an empty NAME", what);
		}
		if (t[i].name && o->all_ns) {
			free(t);
			return skiff_ctl_error(NO_NAME_ACROSS_FMT, what);
		}
		if (t[i].name && (o->labels || o->fields)) {
			free(t);
			return skiff_ctl_error("%s: selectors cannot be used with names", what);
		}
	}
	*out = t;
	*count = n;
	return 0;
}

/* The namespace to ask in: NULL for every one (-A) or a cluster-scoped kind. */
static const char *target_ns(const struct skiff_ctl_conn *conn, const struct get_opts *o,
			     const struct skiff_ctl_kind *k)
{
	if (!k->api->namespaced || o->all_ns)
		return NULL;
	return conn->ns;
}

static char *target_path(const struct skiff_ctl_conn *conn, const struct get_opts *o,
			 const struct target *t)
{
	if (t->name)
		return skiff_path(t->k->api, target_ns(conn, o, t->k), t->name, NULL);
	return skiff_ctl_list_path(t->k, target_ns(conn, o, t->k), o->labels, o->fields);
}

/* ---- get: tables ---------------------------------------------------------- */

static void print_cell(struct skiff_ctl_tab *tab, const json_t *cell)
{
	if (json_is_string(cell))
		skiff_ctl_tab_printf(tab, "%s", json_string_value(cell));
	else if (json_is_integer(cell))
		skiff_ctl_tab_printf(tab, "%" JSON_INTEGER_FORMAT, json_integer_value(cell));
	else if (json_is_real(cell))
		skiff_ctl_tab_printf(tab, "%g", json_real_value(cell));
	else if (json_is_boolean(cell))
		skiff_ctl_tab_printf(tab, "%s", json_is_true(cell) ? "true" : "false");
	else
		skiff_ctl_tab_printf(tab, "<none>");
}

static bool column_shown(const json_t *def, bool wide)
{
	return wide || !json_integer_value(json_object_get(def, "priority"));
}

/*
 * The rows of @table as kubectl prints a Table: upper-case headers,
 * tabwriter columns; names as KIND/NAME (@kind) when several kinds are
 * printed.
 */
static void print_table(const json_t *table, const struct get_opts *o, bool with_ns,
			const char *kind)
{
	const json_t *defs = json_object_get(table, "columnDefinitions");
	const json_t *rows = json_object_get(table, "rows"), *def, *row;
	bool wide = o->output == OUT_WIDE;
	struct skiff_ctl_tab *tab = skiff_ctl_tab_new(6, 3);
	const char *sep, *p;
	size_t i, j;

	if (!o->no_headers) {
		sep = "";
		if (with_ns) {
			skiff_ctl_tab_printf(tab, "NAMESPACE");
			sep = "\t";
		}
		json_array_foreach(defs, i, def) {
			if (!column_shown(def, wide))
				continue;
			skiff_ctl_tab_printf(tab, "%s", sep);
			for (p = skiff_str(def, "name"); p && *p; p++)
				skiff_ctl_tab_printf(tab, "%c", toupper((unsigned char)*p));
			sep = "\t";
		}
		skiff_ctl_tab_printf(tab, "\n");
	}
	json_array_foreach(rows, i, row) {
		const json_t *cells = json_object_get(row, "cells");

		sep = "";
		if (with_ns) {
			skiff_ctl_tab_printf(tab, "%s",
					     skiff_str(row, "object.metadata.namespace") ?: "");
			sep = "\t";
		}
		json_array_foreach(defs, j, def) {
			if (!column_shown(def, wide))
				continue;
			skiff_ctl_tab_printf(tab, "%s", sep);
			if (kind && !strcmp(skiff_str(def, "format") ?: "", "name"))
				skiff_ctl_tab_printf(tab, "%s/", kind);
			print_cell(tab, json_array_get(cells, j));
			sep = "\t";
		}
		skiff_ctl_tab_printf(tab, "\n");
	}
	skiff_ctl_tab_flush(tab, stdout);
}

/*
 * The objects of targets [@from, @to) (one kind) as one table: a list, or
 * each name in turn, NotFound kept for the end as kubectl does.
 */
static int get_tables(struct skiff_ctl_conn *conn, const struct get_opts *o,
		      const struct target *t, int from, int to, bool with_kind, bool *printed)
{
	json_t *all = NULL, *answer = NULL;
	char kind[128];
	int ret = SKIFF_CTL_OK, i;
	char *path;
	long code;

	for (i = from; i < to; i++) {
		path = target_path(conn, o, &t[i]);
		code = path ? skiff_ctl_get_table(conn, path, &answer) : 0;
		free(path);
		if (code != 200 || !json_is_array(json_object_get(answer, "rows"))) {
			ret = skiff_ctl_defer_error(conn, code, answer, NULL);
			json_decref(answer);
			continue;
		}
		if (!all) {
			all = answer;
			continue;
		}
		json_array_extend(json_object_get(all, "rows"), json_object_get(answer, "rows"));
		json_decref(answer);
	}
	/* Empty: nothing (skiff_ctl_get says it once if all were). */
	if (all && json_array_size(json_object_get(all, "rows"))) {
		if (*printed)
			putchar('\n');
		skiff_ctl_kind_ref(t[from].k, kind, sizeof(kind));
		print_table(all, o, t[from].k->api->namespaced && o->all_ns,
			    with_kind ? kind : NULL);
		*printed = true;
	}
	json_decref(all);
	return ret;
}

/* kubectl's words when a listing found nothing of any kind asked. */
static void no_resources(const struct skiff_ctl_conn *conn, const struct get_opts *o,
			 const struct target *t, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (target_ns(conn, o, t[i].k)) {
			fprintf(stderr, "No resources found in %s namespace.\n", conn->ns);
			return;
		}
	}
	fprintf(stderr, "No resources found\n");
}

/* ---- get: objects ----------------------------------------------------------- */

/* kind and apiVersion, which list items lack (kubectl adds them too). */
static json_t *typed(const json_t *obj, const struct skiff_ctl_kind *k)
{
	json_t *copy = json_deep_copy(obj);

	if (copy && !json_object_get(copy, "kind"))
		json_object_set_new(copy, "kind", json_string(k->api->kind));
	if (copy && !json_object_get(copy, "apiVersion"))
		json_object_set_new(copy, "apiVersion", json_string(k->api->api_version));
	return copy;
}

/* The objects of @t appended to @items; an exit status. */
static int get_objects(struct skiff_ctl_conn *conn, const struct get_opts *o,
		       const struct target *t, json_t *items)
{
	json_t *answer = NULL, *item;
	char *path = target_path(conn, o, t);
	long code = path ? skiff_ctl_call(conn, "GET", path, NULL, NULL, &answer) : 0;
	size_t i;

	free(path);
	if (code != 200) {
		skiff_ctl_defer_error(conn, code, answer, NULL);
		json_decref(answer);
		return SKIFF_CTL_FAIL;
	}
	if (t->name)
		json_array_append_new(items, typed(answer, t->k));
	else
		json_array_foreach(json_object_get(answer, "items"), i, item)
			json_array_append_new(items, typed(item, t->k));
	json_decref(answer);
	return SKIFF_CTL_OK;
}

static void print_name(const json_t *obj)
{
	const struct skiff_ctl_kind *k = skiff_ctl_kind_of(skiff_str(obj, "apiVersion") ?: "",
							   skiff_str(obj, "kind") ?: "");
	char ref[128];

	if (!k)
		return;
	skiff_ctl_kind_ref(k, ref, sizeof(ref));
	printf("%s/%s\n", ref, skiff_meta(obj, "name") ?: "");
}

static int print_objects(const struct get_opts *o, int n_targets, const struct target *t,
			 json_t *items)
{
	json_t *list, *item;
	size_t i;
	int ret;

	if (o->output == OUT_NAME) {
		json_array_foreach(items, i, item)
			print_name(item);
		return SKIFF_CTL_OK;
	}
	/* One object asked for by name is printed alone, as kubectl. */
	if (n_targets == 1 && t[0].name && json_array_size(items) == 1)
		return skiff_ctl_print(json_array_get(items, 0), o->output == OUT_YAML);
	list = json_pack("{s:s, s:O, s:s, s:{s:s}}", "apiVersion", "v1", "items", items,
			 "kind", "List", "metadata", "resourceVersion", "");
	ret = skiff_ctl_print(list, o->output == OUT_YAML);
	json_decref(list);
	return ret;
}

int skiff_ctl_get(int argc, char **argv)
{
	struct skiff_ctl_conn conn;
	struct target *t;
	struct get_opts o;
	bool printed = false, with_kind = false;
	json_t *items;
	int ret, n, i, from;

	ret = parse("get", get_usage, true, argc, argv, &o);
	if (ret)
		return ret < 0 ? SKIFF_CTL_OK : ret;
	ret = resolve("get", get_usage, &o, &t, &n);
	if (ret)
		return ret;
	ret = skiff_ctl_connect(&conn, o.ns);
	if (ret) {
		free(t);
		return ret;
	}
	for (i = 1; i < n; i++)
		if (t[i].k != t[0].k)
			with_kind = true;
	if (o.output == OUT_TABLE || o.output == OUT_WIDE) {
		for (from = 0; from < n; from = i) {
			for (i = from + 1; i < n && t[i].k == t[from].k; i++)
				;
			if (get_tables(&conn, &o, t, from, i, with_kind, &printed))
				ret = SKIFF_CTL_FAIL;
		}
		if (!printed && !conn.errors && !t[0].name)
			no_resources(&conn, &o, t, n);
	} else {
		items = json_array();
		for (i = 0; i < n; i++)
			if (get_objects(&conn, &o, &t[i], items))
				ret = SKIFF_CTL_FAIL;
		/* kubectl prints what it found, and the rest's errors. */
		if (json_array_size(items) || !ret)
			if (print_objects(&o, n, t, items))
				ret = SKIFF_CTL_FAIL;
		json_decref(items);
	}
	skiff_ctl_disconnect(&conn);
	free(t);
	return ret;
}

/* ---- describe --------------------------------------------------------------- */

struct desc {
	struct skiff_ctl_conn *conn;
	struct skiff_ctl_tab *tab;
	const json_t *obj;
};

#define W(d, ...) skiff_ctl_tab_printf((d)->tab, __VA_ARGS__)

/* kubectl describe's time: RFC 1123 with the numeric zone, local time. */
static const char *when(const char *stamp, char *out, size_t size)
{
	double t = stamp && *stamp ? skiff_time_parse(stamp) : -1;
	time_t secs = (time_t)t;
	struct tm tm;

	if (t < 0 || !localtime_r(&secs, &tm) ||
	    !strftime(out, size, "%a, %d %b %Y %H:%M:%S %z", &tm))
		snprintf(out, size, "<unset>");
	return out;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of @map in order (malloc'd array, *@n of them), or NULL. */
static const char **sorted_keys(const json_t *map, size_t *n)
{
	const char **keys, *key;
	json_t *v;
	size_t i = 0;

	*n = json_object_size(map);
	keys = malloc((*n ? *n : 1) * sizeof(*keys));
	if (!keys) {
		*n = 0;
		return NULL;
	}
	json_object_foreach((json_t *)map, key, v)
		keys[i++] = key;
	qsort(keys, *n, sizeof(*keys), key_cmp);
	return keys;
}

/* "Labels:  a=b" and the others below it, kubectl's printLabelsMultiline. */
static void d_map(struct desc *d, const char *indent, const char *title, const json_t *map,
		  const char *sep)
{
	const char **keys;
	size_t n, i, shown = 0;

	W(d, "%s%s:\t", indent, title);
	keys = sorted_keys(map, &n);
	for (i = 0; i < n; i++) {
		const json_t *v = json_object_get(map, keys[i]);

		if (!strcmp(keys[i], LAST_APPLIED))
			continue;
		if (shown++)
			W(d, "%s\t", indent);
		W(d, "%s%s%s\n", keys[i], sep, json_is_string(v) ? json_string_value(v) : "");
	}
	if (!shown)
		W(d, "<none>\n");
	free(keys);
}

static void d_labels(struct desc *d, const char *indent, const char *title, const json_t *map)
{
	d_map(d, indent, title, map, "=");
}

/* "app=web,tier=db" of a selector's matchLabels (or a plain map). */
static void selector_text(const json_t *sel, char *out, size_t size)
{
	const json_t *map = json_object_get(sel, "matchLabels") ?: sel;
	const char **keys;
	size_t n, i, len = 0;

	out[0] = '\0';
	keys = sorted_keys(map, &n);
	for (i = 0; i < n && len < size; i++) {
		const char *v = json_string_value(json_object_get(map, keys[i]));

		if (!v)
			continue;
		len += snprintf(out + len, size - len, "%s%s=%s", len ? "," : "", keys[i], v);
	}
	free(keys);
	if (!out[0])
		snprintf(out, size, "<none>");
}

static const char *or_none(const char *s)
{
	return s && *s ? s : "<none>";
}

/* A controller's ownerReference as "Kind/name". */
static void d_controlled_by(struct desc *d)
{
	const json_t *refs = json_object_get(json_object_get(d->obj, "metadata"),
					     "ownerReferences"), *ref;
	size_t i;

	json_array_foreach(refs, i, ref)
		if (json_is_true(json_object_get(ref, "controller")))
			W(d, "Controlled By:\t%s/%s\n", skiff_str(ref, "kind") ?: "",
			  skiff_str(ref, "name") ?: "");
}

static void d_conditions(struct desc *d, const json_t *conds, bool reason)
{
	const json_t *c;
	size_t i;

	if (!json_array_size(conds))
		return;
	W(d, "Conditions:\n  Type\tStatus%s\n", reason ? "\tReason" : "");
	if (reason)
		W(d, "  ----\t------\t------\n");
	json_array_foreach(conds, i, c) {
		W(d, "  %s\t%s", skiff_str(c, "type") ?: "", skiff_str(c, "status") ?: "");
		if (reason)
			W(d, "\t%s", skiff_str(c, "reason") ?: "");
		W(d, "\n");
	}
}

static int event_cmp(const void *a, const void *b)
{
	const char *x = skiff_str(*(json_t *const *)a, "lastTimestamp") ?: "";
	const char *y = skiff_str(*(json_t *const *)b, "lastTimestamp") ?: "";

	return strcmp(x, y);
}

/*
 * The object's Events, oldest first, as kubectl: "2m (x3 over 10m)" when
 * one happened several times. Nodes' events are found by kind and name in
 * every namespace (their uid is the node's name in kubelet's, its uid in
 * ours); the others' by name, namespace, kind and uid.
 */
static void d_events(struct desc *d, const struct skiff_ctl_kind *k)
{
	const char *name = skiff_meta(d->obj, "name") ?: "", *ns = skiff_meta(d->obj, "namespace");
	char fields[1024], age[160], first[64], last[64];
	json_t *answer = NULL, *items, **sorted_items;
	struct skiff_ctl_tab *tab;
	char *path;
	size_t i, n;
	long code;

	if (k->api->namespaced)
		snprintf(fields, sizeof(fields),
			 "involvedObject.name=%s,involvedObject.namespace=%s,involvedObject.kind=%s,involvedObject.uid=%s",
			 name, ns ?: "", k->api->kind, skiff_meta(d->obj, "uid") ?: "");
	else
		snprintf(fields, sizeof(fields), "involvedObject.name=%s,involvedObject.kind=%s",
			 name, k->api->kind);
	path = skiff_ctl_list_path(skiff_ctl_kind_of("v1", "Event"),
				   k->api->namespaced ? ns : NULL, NULL, fields);
	code = path ? skiff_ctl_call(d->conn, "GET", path, NULL, NULL, &answer) : 0;
	free(path);
	items = json_object_get(answer, "items");
	n = json_array_size(items);
	if (code != 200 || !n) {
		W(d, "Events:\t%s\n", code == 200 ? "<none>" : "<unknown: cannot list events>");
		json_decref(answer);
		return;
	}
	sorted_items = malloc(n * sizeof(*sorted_items));
	if (!sorted_items) {
		json_decref(answer);
		return;
	}
	for (i = 0; i < n; i++)
		sorted_items[i] = json_array_get(items, i);
	qsort(sorted_items, n, sizeof(*sorted_items), event_cmp);
	/* A table of its own, as kubectl flushes before it. */
	skiff_ctl_tab_flush(d->tab, stdout);
	d->tab = skiff_ctl_tab_new(0, 2);
	tab = d->tab;
	skiff_ctl_tab_printf(tab, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
	skiff_ctl_tab_printf(tab, "  ----\t------\t----\t----\t-------\n");
	for (i = 0; i < n; i++) {
		const json_t *e = sorted_items[i];
		json_int_t count = skiff_int(e, "count", 1);
		const char *from = skiff_str(e, "source.component");

		skiff_ctl_age(skiff_str(e, "firstTimestamp") ?: skiff_str(e, "eventTime"), first,
			      sizeof(first));
		if (count > 1) {
			skiff_ctl_age(skiff_str(e, "lastTimestamp"), last, sizeof(last));
			snprintf(age, sizeof(age), "%s (x%lld over %s)", last, (long long)count,
				 first);
		} else {
			snprintf(age, sizeof(age), "%s", first);
		}
		if (!from || !*from)
			from = skiff_str(e, "reportingComponent") ?: "";
		skiff_ctl_tab_printf(tab, "  %s\t%s\t%s\t%s\t%s\n", skiff_str(e, "type") ?: "",
				     skiff_str(e, "reason") ?: "", age, from,
				     skiff_str(e, "message") ?: "");
	}
	free(sorted_items);
	json_decref(answer);
}

/* Name, Namespace, Labels, Annotations, CreationTimestamp: what every kind has. */
static void d_meta(struct desc *d, bool created)
{
	const json_t *meta = json_object_get(d->obj, "metadata");
	const char *ns = skiff_meta(d->obj, "namespace");
	char buf[64];

	W(d, "Name:\t%s\n", skiff_meta(d->obj, "name") ?: "");
	if (ns && *ns)
		W(d, "Namespace:\t%s\n", ns);
	if (created)
		W(d, "CreationTimestamp:\t%s\n",
		  when(skiff_meta(d->obj, "creationTimestamp"), buf, sizeof(buf)));
	d_labels(d, "", "Labels", json_object_get(meta, "labels"));
	d_map(d, "", "Annotations", json_object_get(meta, "annotations"), ": ");
}

/* A container's state, kubectl's describeContainerState. */
static void d_state(struct desc *d, const char *title, const json_t *state)
{
	const json_t *s;
	char buf[64];

	s = json_object_get(state, "running");
	if (s) {
		W(d, "    %s:\tRunning\n      Started:\t%s\n", title,
		  when(skiff_str(s, "startedAt"), buf, sizeof(buf)));
		return;
	}
	s = json_object_get(state, "waiting");
	if (s) {
		W(d, "    %s:\tWaiting\n", title);
		if (skiff_str(s, "reason"))
			W(d, "      Reason:\t%s\n", skiff_str(s, "reason"));
		return;
	}
	s = json_object_get(state, "terminated");
	if (s) {
		W(d, "    %s:\tTerminated\n", title);
		if (skiff_str(s, "reason"))
			W(d, "      Reason:\t%s\n", skiff_str(s, "reason"));
		if (skiff_str(s, "message"))
			W(d, "      Message:\t%s\n", skiff_str(s, "message"));
		W(d, "      Exit Code:\t%lld\n", (long long)skiff_int(s, "exitCode", 0));
		W(d, "      Started:\t%s\n", when(skiff_str(s, "startedAt"), buf, sizeof(buf)));
		W(d, "      Finished:\t%s\n", when(skiff_str(s, "finishedAt"), buf, sizeof(buf)));
		return;
	}
	if (!strcmp(title, "State"))
		W(d, "    %s:\tWaiting\n", title);
}

static void d_strings(struct desc *d, const char *title, const json_t *list)
{
	const json_t *v;
	size_t i;

	if (!json_array_size(list))
		return;
	W(d, "    %s:\n", title);
	json_array_foreach(list, i, v)
		W(d, "      %s\n", json_string_value(v) ?: "");
}

static void d_ports(struct desc *d, const json_t *c)
{
	const json_t *ports = json_object_get(c, "ports"), *p;
	size_t i;

	if (!json_array_size(ports)) {
		W(d, "    Port:\t<none>\n    Host Port:\t<none>\n");
		return;
	}
	/* The protocol as stored (the server defaults it), as kubectl prints it. */
	W(d, "    Port%s:\t", json_array_size(ports) > 1 ? "s" : "");
	json_array_foreach(ports, i, p)
		W(d, "%s%lld/%s", i ? ", " : "", (long long)skiff_int(p, "containerPort", 0),
		  skiff_str(p, "protocol") ?: "");
	W(d, "\n    Host Port%s:\t", json_array_size(ports) > 1 ? "s" : "");
	json_array_foreach(ports, i, p)
		W(d, "%s%lld/%s", i ? ", " : "", (long long)skiff_int(p, "hostPort", 0),
		  skiff_str(p, "protocol") ?: "");
	W(d, "\n");
}

static void d_resources(struct desc *d, const char *title, const json_t *map)
{
	const char **keys;
	size_t n, i;

	if (!json_object_size(map))
		return;
	W(d, "    %s:\n", title);
	keys = sorted_keys(map, &n);
	for (i = 0; i < n; i++)
		W(d, "      %s:\t%s\n", keys[i],
		  json_string_value(json_object_get(map, keys[i])) ?: "");
	free(keys);
}

static void d_env(struct desc *d, const json_t *c)
{
	const json_t *env = json_object_get(c, "env"), *e, *from;
	size_t i;

	if (!json_array_size(env)) {
		W(d, "    Environment:\t<none>\n");
		return;
	}
	W(d, "    Environment:\n");
	json_array_foreach(env, i, e) {
		from = json_object_get(e, "valueFrom");
		if (!from) {
			W(d, "      %s:\t%s\n", skiff_str(e, "name") ?: "",
			  skiff_str(e, "value") ?: "");
			continue;
		}
		if (json_object_get(from, "secretKeyRef"))
			W(d, "      %s:\t<set to the key '%s' in secret '%s'>\n",
			  skiff_str(e, "name") ?: "", skiff_str(from, "secretKeyRef.key") ?: "",
			  skiff_str(from, "secretKeyRef.name") ?: "");
		else if (json_object_get(from, "configMapKeyRef"))
			W(d, "      %s:\t<set to the key '%s' of config map '%s'>\n",
			  skiff_str(e, "name") ?: "", skiff_str(from, "configMapKeyRef.key") ?: "",
			  skiff_str(from, "configMapKeyRef.name") ?: "");
		else
			W(d, "      %s:\t (%s)\n", skiff_str(e, "name") ?: "",
			  skiff_str(from, "fieldRef.fieldPath") ?: "from a source");
	}
}

static void d_mounts(struct desc *d, const json_t *c)
{
	const json_t *mounts = json_object_get(c, "volumeMounts"), *m;
	size_t i;

	if (!json_array_size(mounts)) {
		W(d, "    Mounts:\t<none>\n");
		return;
	}
	W(d, "    Mounts:\n");
	json_array_foreach(mounts, i, m)
		W(d, "      %s from %s (%s)\n", skiff_str(m, "mountPath") ?: "",
		  skiff_str(m, "name") ?: "",
		  json_is_true(json_object_get(m, "readOnly")) ? "ro" : "rw");
}

static const json_t *container_status(const json_t *pod, const char *name)
{
	const json_t *list = json_object_get(json_object_get(pod, "status"),
					     "containerStatuses"), *s;
	size_t i;

	json_array_foreach(list, i, s)
		if (!strcmp(skiff_str(s, "name") ?: "", name))
			return s;
	return NULL;
}

/* Containers of a pod (@pod set) or of a template (statuses then unknown). */
static void d_containers(struct desc *d, const char *title, const json_t *spec,
			 const json_t *pod, const char *indent)
{
	const json_t *list = json_object_get(spec, title[0] == 'I' ? "initContainers" :
					     "containers"), *c, *st, *res;
	size_t i;

	if (!json_array_size(list))
		return;
	W(d, "%s%s:\n", indent, title);
	json_array_foreach(list, i, c) {
		const char *name = skiff_str(c, "name") ?: "";

		W(d, "%s %s:\n", indent, name);
		st = pod ? container_status(pod, name) : NULL;
		if (st)
			W(d, "    Container ID:\t%s\n", skiff_str(st, "containerID") ?: "");
		W(d, "    Image:\t%s\n", skiff_str(c, "image") ?: "");
		if (st)
			W(d, "    Image ID:\t%s\n", skiff_str(st, "imageID") ?: "");
		d_ports(d, c);
		d_strings(d, "Command", json_object_get(c, "command"));
		d_strings(d, "Args", json_object_get(c, "args"));
		if (pod) {
			d_state(d, "State", st ? json_object_get(st, "state") : NULL);
			if (st && json_object_size(json_object_get(st, "lastState")))
				d_state(d, "Last State", json_object_get(st, "lastState"));
			W(d, "    Ready:\t%s\n",
			  st && json_is_true(json_object_get(st, "ready")) ? "True" : "False");
			W(d, "    Restart Count:\t%lld\n",
			  st ? (long long)skiff_int(st, "restartCount", 0) : 0LL);
		}
		res = json_object_get(c, "resources");
		d_resources(d, "Limits", json_object_get(res, "limits"));
		d_resources(d, "Requests", json_object_get(res, "requests"));
		d_env(d, c);
		d_mounts(d, c);
	}
}

static void d_volumes(struct desc *d, const json_t *spec, const char *indent)
{
	const json_t *vols = json_object_get(spec, "volumes"), *v;
	const char *key, *type;
	json_t *src;
	size_t i;

	if (!json_array_size(vols)) {
		W(d, "%sVolumes:\t<none>\n", indent);
		return;
	}
	W(d, "%sVolumes:\n", indent);
	json_array_foreach(vols, i, v) {
		W(d, "%s  %s:\n", indent, skiff_str(v, "name") ?: "");
		type = "";
		json_object_foreach((json_t *)v, key, src)
			if (strcmp(key, "name"))
				type = key;
		W(d, "%s    Type:\t%s\n", indent, type);
		if (!strcmp(type, "configMap") || !strcmp(type, "persistentVolumeClaim"))
			W(d, "%s    Name:\t%s\n", indent,
			  skiff_str(json_object_get(v, type), "name") ?:
			  skiff_str(json_object_get(v, type), "claimName") ?: "");
		else if (!strcmp(type, "secret"))
			W(d, "%s    SecretName:\t%s\n", indent,
			  skiff_str(json_object_get(v, type), "secretName") ?: "");
		else if (!strcmp(type, "hostPath"))
			W(d, "%s    Path:\t%s\n", indent,
			  skiff_str(json_object_get(v, type), "path") ?: "");
	}
}

/* kubectl's QoS class: Guaranteed, Burstable or BestEffort. */
static const char *qos_class(const json_t *spec)
{
	const json_t *list = json_object_get(spec, "containers"), *c, *res;
	bool any = false, all = true;
	size_t i;

	json_array_foreach(list, i, c) {
		const json_t *req, *lim;

		res = json_object_get(c, "resources");
		req = json_object_get(res, "requests");
		lim = json_object_get(res, "limits");
		if (json_object_size(req) || json_object_size(lim))
			any = true;
		if (!json_object_get(lim, "cpu") || !json_object_get(lim, "memory"))
			all = false;
		if (json_object_get(req, "cpu") &&
		    !json_equal(json_object_get(req, "cpu"), json_object_get(lim, "cpu")))
			all = false;
		if (json_object_get(req, "memory") &&
		    !json_equal(json_object_get(req, "memory"), json_object_get(lim, "memory")))
			all = false;
	}
	if (!any)
		return "BestEffort";
	return all ? "Guaranteed" : "Burstable";
}

static void d_tolerations(struct desc *d, const char *indent, const json_t *spec)
{
	const json_t *list = json_object_get(spec, "tolerations"), *t;
	size_t i;

	W(d, "%sTolerations:\t", indent);
	if (!json_array_size(list))
		W(d, "<none>\n");
	json_array_foreach(list, i, t) {
		const char *key = skiff_str(t, "key"), *value = skiff_str(t, "value");
		const char *effect = skiff_str(t, "effect");
		json_int_t secs = skiff_int(t, "tolerationSeconds", -1);

		if (i)
			W(d, "%s\t", indent);
		W(d, "%s%s%s", key ? key : "", value && *value ? "=" : "",
		  value ? value : "");
		if (!strcmp(skiff_str(t, "operator") ?: "", "Exists") && !key)
			W(d, "op=Exists");
		else if (!strcmp(skiff_str(t, "operator") ?: "", "Exists"))
			W(d, ":op=Exists");
		if (effect && *effect)
			W(d, ":%s", effect);
		if (secs >= 0)
			W(d, " for %llds", (long long)secs);
		W(d, "\n");
	}
}

static void describe_pod(struct desc *d)
{
	const json_t *pod = d->obj, *spec = json_object_get(pod, "spec"), *ip;
	const json_t *ips = json_object_get(json_object_get(pod, "status"), "podIPs");
	const char *node = skiff_str(pod, "spec.nodeName"), *host = skiff_str(pod, "status.hostIP");
	char buf[64];
	size_t i;

	W(d, "Name:\t%s\n", skiff_meta(pod, "name") ?: "");
	W(d, "Namespace:\t%s\n", skiff_meta(pod, "namespace") ?: "");
	if (json_object_get(spec, "priority"))
		W(d, "Priority:\t%lld\n", (long long)skiff_int(spec, "priority", 0));
	if (skiff_str(spec, "serviceAccountName"))
		W(d, "Service Account:\t%s\n", skiff_str(spec, "serviceAccountName"));
	if (node && *node)
		W(d, "Node:\t%s/%s\n", node, host ? host : "");
	else
		W(d, "Node:\t<none>\n");
	if (skiff_str(pod, "status.startTime"))
		W(d, "Start Time:\t%s\n", when(skiff_str(pod, "status.startTime"), buf,
					       sizeof(buf)));
	d_labels(d, "", "Labels", json_object_get(json_object_get(pod, "metadata"), "labels"));
	d_map(d, "", "Annotations",
	      json_object_get(json_object_get(pod, "metadata"), "annotations"), ": ");
	if (skiff_deleting(pod)) {
		skiff_ctl_age(skiff_meta(pod, "deletionTimestamp"), buf, sizeof(buf));
		W(d, "Status:\tTerminating (lasts %s)\n", buf);
	} else {
		W(d, "Status:\t%s\n", skiff_str(pod, "status.phase") ?: "Pending");
	}
	if (skiff_str(pod, "status.reason"))
		W(d, "Reason:\t%s\n", skiff_str(pod, "status.reason"));
	if (skiff_str(pod, "status.message"))
		W(d, "Message:\t%s\n", skiff_str(pod, "status.message"));
	W(d, "IP:\t%s\n", skiff_str(pod, "status.podIP") ?: "");
	if (!json_array_size(ips)) {
		W(d, "IPs:\t<none>\n");
	} else {
		W(d, "IPs:\n");
		json_array_foreach(ips, i, ip)
			W(d, "  IP:\t%s\n", skiff_str(ip, "ip") ?: "");
	}
	d_controlled_by(d);
	d_containers(d, "Init Containers", spec, pod, "");
	d_containers(d, "Containers", spec, pod, "");
	d_conditions(d, json_object_get(json_object_get(pod, "status"), "conditions"), false);
	d_volumes(d, spec, "");
	W(d, "QoS Class:\t%s\n", qos_class(spec));
	d_labels(d, "", "Node-Selectors", json_object_get(spec, "nodeSelector"));
	d_tolerations(d, "", spec);
}

static void d_quantities(struct desc *d, const char *title, const json_t *map)
{
	const char **keys;
	size_t n, i;

	W(d, "%s:\n", title);
	keys = sorted_keys(map, &n);
	for (i = 0; i < n; i++)
		W(d, "  %s:\t%s\n", keys[i],
		  json_string_value(json_object_get(map, keys[i])) ?: "");
	free(keys);
}

/* The node's pods that are not finished, as kubectl's "Non-terminated Pods". */
static void d_node_pods(struct desc *d, const char *name)
{
	char fields[512], age[64];
	json_t *answer = NULL, *pod;
	size_t i, n = 0;
	char *path;
	long code;

	snprintf(fields, sizeof(fields), "spec.nodeName=%s", name);
	path = skiff_ctl_list_path(skiff_ctl_kind_of("v1", "Pod"), NULL, NULL, fields);
	code = path ? skiff_ctl_call(d->conn, "GET", path, NULL, NULL, &answer) : 0;
	free(path);
	if (code != 200) {
		json_decref(answer);
		return;
	}
	json_array_foreach(json_object_get(answer, "items"), i, pod)
		n += !skiff_pod_finished(pod);
	W(d, "Non-terminated Pods:\t(%zu in total)\n", n);
	if (n)
		W(d, "  Namespace\tName\tAge\n  ---------\t----\t---\n");
	json_array_foreach(json_object_get(answer, "items"), i, pod) {
		if (skiff_pod_finished(pod))
			continue;
		skiff_ctl_age(skiff_meta(pod, "creationTimestamp"), age, sizeof(age));
		W(d, "  %s\t%s\t%s\n", skiff_meta(pod, "namespace") ?: "",
		  skiff_meta(pod, "name") ?: "", age);
	}
	json_decref(answer);
}

static void describe_node(struct desc *d)
{
	const json_t *node = d->obj, *spec = json_object_get(node, "spec"), *t, *c, *a;
	const json_t *status = json_object_get(node, "status");
	const char *name = skiff_meta(node, "name") ?: "";
	json_t *lease = NULL;
	char buf[64], buf2[64], *path;
	size_t i;

	W(d, "Name:\t%s\n", name);
	W(d, "Roles:\t<none>\n");
	d_labels(d, "", "Labels", json_object_get(json_object_get(node, "metadata"), "labels"));
	d_map(d, "", "Annotations",
	      json_object_get(json_object_get(node, "metadata"), "annotations"), ": ");
	W(d, "CreationTimestamp:\t%s\n",
	  when(skiff_meta(node, "creationTimestamp"), buf, sizeof(buf)));
	W(d, "Taints:\t");
	if (!json_array_size(json_object_get(spec, "taints")))
		W(d, "<none>\n");
	json_array_foreach(json_object_get(spec, "taints"), i, t) {
		const char *value = skiff_str(t, "value");

		W(d, "%s%s%s%s:%s\n", i ? "\t" : "", skiff_str(t, "key") ?: "",
		  value && *value ? "=" : "", value ? value : "", skiff_str(t, "effect") ?: "");
	}
	W(d, "Unschedulable:\t%s\n",
	  json_is_true(json_object_get(spec, "unschedulable")) ? "true" : "false");
	path = skiff_path(&skiff_leases, "kube-node-lease", name, NULL);
	if (path && skiff_ctl_call(d->conn, "GET", path, NULL, NULL, &lease) == 200) {
		W(d, "Lease:\n  HolderIdentity:\t%s\n",
		  or_none(skiff_str(lease, "spec.holderIdentity")));
		W(d, "  AcquireTime:\t%s\n",
		  when(skiff_str(lease, "spec.acquireTime"), buf, sizeof(buf)));
		W(d, "  RenewTime:\t%s\n", when(skiff_str(lease, "spec.renewTime"), buf,
						sizeof(buf)));
	}
	free(path);
	json_decref(lease);
	W(d, "Conditions:\n");
	W(d, "  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n");
	W(d, "  ----\t------\t-----------------\t------------------\t------\t-------\n");
	json_array_foreach(json_object_get(status, "conditions"), i, c)
		W(d, "  %s\t%s\t%s\t%s\t%s\t%s\n", skiff_str(c, "type") ?: "",
		  skiff_str(c, "status") ?: "",
		  when(skiff_str(c, "lastHeartbeatTime"), buf, sizeof(buf)),
		  when(skiff_str(c, "lastTransitionTime"), buf2, sizeof(buf2)),
		  skiff_str(c, "reason") ?: "", skiff_str(c, "message") ?: "");
	W(d, "Addresses:\n");
	json_array_foreach(json_object_get(status, "addresses"), i, a)
		W(d, "  %s:\t%s\n", skiff_str(a, "type") ?: "", skiff_str(a, "address") ?: "");
	if (json_object_size(json_object_get(status, "capacity")))
		d_quantities(d, "Capacity", json_object_get(status, "capacity"));
	if (json_object_size(json_object_get(status, "allocatable")))
		d_quantities(d, "Allocatable", json_object_get(status, "allocatable"));
	if (json_object_size(json_object_get(status, "nodeInfo"))) {
		W(d, "System Info:\n");
		W(d, "  Kernel Version:\t%s\n", skiff_str(status, "nodeInfo.kernelVersion") ?: "");
		W(d, "  OS Image:\t%s\n", skiff_str(status, "nodeInfo.osImage") ?: "");
		W(d, "  Operating System:\t%s\n",
		  skiff_str(status, "nodeInfo.operatingSystem") ?: "");
		W(d, "  Architecture:\t%s\n", skiff_str(status, "nodeInfo.architecture") ?: "");
		W(d, "  Container Runtime Version:\t%s\n",
		  skiff_str(status, "nodeInfo.containerRuntimeVersion") ?: "");
		W(d, "  Kubelet Version:\t%s\n",
		  skiff_str(status, "nodeInfo.kubeletVersion") ?: "");
	}
	W(d, "PodCIDR:\t%s\n", skiff_str(spec, "podCIDR") ?: "");
	W(d, "PodCIDRs:\t");
	json_array_foreach(json_object_get(spec, "podCIDRs"), i, a)
		W(d, "%s%s", i ? "," : "", json_string_value(a) ?: "");
	W(d, "\n");
	d_node_pods(d, name);
}

#define REVISION "deployment.kubernetes.io/revision"

static const char *revision(const json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"),
								 "annotations"), REVISION));
}

/*
 * The Deployment's ReplicaSets, "web-abc (3/3 replicas created)": the new
 * one has the Deployment's revision, the others are old.
 */
static void d_replicasets(struct desc *d)
{
	const char *uid = skiff_meta(d->obj, "uid") ?: "", *rev = revision(d->obj), *r;
	char old[2048] = "", new[512] = "";
	size_t i, len = 0;
	json_t *answer = NULL, *rs;
	char *path;
	long code;

	path = skiff_path(&skiff_replicasets, skiff_meta(d->obj, "namespace"), NULL, NULL);
	code = path ? skiff_ctl_call(d->conn, "GET", path, NULL, NULL, &answer) : 0;
	free(path);
	json_array_foreach(json_object_get(answer, "items"), i, rs) {
		if (code != 200 || strcmp(skiff_controller_uid(rs) ?: "", uid))
			continue;
		r = revision(rs);
		if (rev && r && !strcmp(rev, r))
			snprintf(new, sizeof(new), "%s (%lld/%lld replicas created)",
				 skiff_meta(rs, "name") ?: "",
				 (long long)skiff_int(rs, "status.replicas", 0),
				 (long long)skiff_int(rs, "spec.replicas", 1));
		else if (len < sizeof(old))
			len += snprintf(old + len, sizeof(old) - len,
					"%s%s (%lld/%lld replicas created)", len ? ", " : "",
					skiff_meta(rs, "name") ?: "",
					(long long)skiff_int(rs, "status.replicas", 0),
					(long long)skiff_int(rs, "spec.replicas", 1));
	}
	json_decref(answer);
	W(d, "OldReplicaSets:\t%s\n", or_none(old));
	W(d, "NewReplicaSet:\t%s\n", or_none(new));
}

static void describe_deployment(struct desc *d)
{
	const json_t *dep = d->obj, *spec = json_object_get(dep, "spec");
	const json_t *tmpl = json_object_get(spec, "template");
	const char *type = skiff_str(spec, "strategy.type") ?: "RollingUpdate";
	json_int_t want = skiff_int(spec, "replicas", 1);
	char sel[1024];
	json_t *v;

	d_meta(d, true);
	selector_text(json_object_get(spec, "selector"), sel, sizeof(sel));
	W(d, "Selector:\t%s\n", sel);
	W(d, REPLICAS_FMT,
	  (long long)want, (long long)skiff_int(dep, "status.updatedReplicas", 0),
	  (long long)skiff_int(dep, "status.replicas", 0),
	  (long long)skiff_int(dep, "status.availableReplicas", 0),
	  (long long)skiff_int(dep, "status.unavailableReplicas", 0));
	W(d, "StrategyType:\t%s\n", type);
	W(d, "MinReadySeconds:\t%lld\n", (long long)skiff_int(spec, "minReadySeconds", 0));
	if (!strcmp(type, "RollingUpdate")) {
		const json_t *ru = json_object_get(json_object_get(spec, "strategy"),
						   "rollingUpdate");
		char unavail[32] = "25%", surge[32] = "25%";

		v = json_object_get(ru, "maxUnavailable");
		if (json_is_integer(v))
			snprintf(unavail, sizeof(unavail), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
		else if (json_is_string(v))
			snprintf(unavail, sizeof(unavail), "%s", json_string_value(v));
		v = json_object_get(ru, "maxSurge");
		if (json_is_integer(v))
			snprintf(surge, sizeof(surge), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
		else if (json_is_string(v))
			snprintf(surge, sizeof(surge), "%s", json_string_value(v));
		W(d, "RollingUpdateStrategy:\t%s max unavailable, %s max surge\n", unavail, surge);
	}
	W(d, "Pod Template:\n");
	d_labels(d, "  ", "Labels",
		 json_object_get(json_object_get(tmpl, "metadata"), "labels"));
	if (json_object_size(json_object_get(json_object_get(tmpl, "metadata"), "annotations")))
		d_map(d, "  ", "Annotations",
		      json_object_get(json_object_get(tmpl, "metadata"), "annotations"), ": ");
	d_containers(d, "Init Containers", json_object_get(tmpl, "spec"), NULL, "  ");
	d_containers(d, "Containers", json_object_get(tmpl, "spec"), NULL, "  ");
	d_volumes(d, json_object_get(tmpl, "spec"), "  ");
	d_labels(d, "  ", "Node-Selectors",
		 json_object_get(json_object_get(tmpl, "spec"), "nodeSelector"));
	d_tolerations(d, "  ", json_object_get(tmpl, "spec"));
	d_conditions(d, json_object_get(json_object_get(dep, "status"), "conditions"), true);
	d_replicasets(d);
}

static void port_text(const json_t *v, char *out, size_t size)
{
	if (json_is_integer(v))
		snprintf(out, size, "%lld", (long long)json_integer_value(v));
	else
		snprintf(out, size, "%s", json_string_value(v) ?: "");
}

/* The addresses of the Endpoints behind port @name, "<none>" when none. */
static void endpoints_text(const json_t *ep, const char *name, char *out, size_t size)
{
	const json_t *subset, *addr, *port;
	size_t i, j, k, len = 0;

	out[0] = '\0';
	json_array_foreach(json_object_get(ep, "subsets"), i, subset)
		json_array_foreach(json_object_get(subset, "ports"), j, port) {
			if (strcmp(skiff_str(port, "name") ?: "", name))
				continue;
			json_array_foreach(json_object_get(subset, "addresses"), k, addr)
				if (len < size)
					len += snprintf(out + len, size - len, "%s%s:%lld",
							len ? "," : "",
							skiff_str(addr, "ip") ?: "",
							(long long)skiff_int(port, "port", 0));
		}
	if (!out[0])
		snprintf(out, size, "<none>");
}

static void describe_service(struct desc *d)
{
	const json_t *svc = d->obj, *spec = json_object_get(svc, "spec"), *p, *v;
	json_t *ep = NULL;
	char sel[1024], target[64], eps[2048], *path;
	const char *type = skiff_str(spec, "type") ?: "ClusterIP";
	size_t i;

	path = skiff_path(&skiff_endpoints, skiff_meta(svc, "namespace"),
			  skiff_meta(svc, "name") ?: "", NULL);
	if (!path || skiff_ctl_call(d->conn, "GET", path, NULL, NULL, &ep) != 200) {
		json_decref(ep);
		ep = NULL;
	}
	free(path);
	d_meta(d, false);
	selector_text(json_object_get(spec, "selector"), sel, sizeof(sel));
	W(d, "Selector:\t%s\n", sel);
	W(d, "Type:\t%s\n", type);
	if (skiff_str(spec, "ipFamilyPolicy"))
		W(d, "IP Family Policy:\t%s\n", skiff_str(spec, "ipFamilyPolicy"));
	if (json_array_size(json_object_get(spec, "ipFamilies"))) {
		W(d, "IP Families:\t");
		json_array_foreach(json_object_get(spec, "ipFamilies"), i, v)
			W(d, "%s%s", i ? "," : "", json_string_value(v) ?: "");
		W(d, "\n");
	}
	W(d, "IP:\t%s\n", skiff_str(spec, "clusterIP") ?: "");
	if (json_array_size(json_object_get(spec, "clusterIPs"))) {
		W(d, "IPs:\t");
		json_array_foreach(json_object_get(spec, "clusterIPs"), i, v)
			W(d, "%s%s", i ? "," : "", json_string_value(v) ?: "");
		W(d, "\n");
	}
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		const char *name = skiff_str(p, "name") ?: "";
		const char *proto = skiff_str(p, "protocol") ?: "TCP";

		W(d, "Port:\t%s\t%lld/%s\n", *name ? name : "<unset>",
		  (long long)skiff_int(p, "port", 0), proto);
		port_text(json_object_get(p, "targetPort") ?: json_object_get(p, "port"), target,
			  sizeof(target));
		W(d, "TargetPort:\t%s/%s\n", target, proto);
		if (json_object_get(p, "nodePort"))
			W(d, "NodePort:\t%s\t%lld/%s\n", *name ? name : "<unset>",
			  (long long)skiff_int(p, "nodePort", 0), proto);
		endpoints_text(ep, name, eps, sizeof(eps));
		W(d, "Endpoints:\t%s\n", eps);
	}
	W(d, "Session Affinity:\t%s\n", skiff_str(spec, "sessionAffinity") ?: "None");
	json_decref(ep);
}

/* Another kind: its metadata, then its other fields as YAML, indented. */
static void describe_generic(struct desc *d)
{
	const char *key;
	json_t *v;
	char *yaml, *line, *next;

	d_meta(d, true);
	W(d, "API Version:\t%s\n", skiff_str(d->obj, "apiVersion") ?: "");
	W(d, "Kind:\t%s\n", skiff_str(d->obj, "kind") ?: "");
	json_object_foreach((json_t *)d->obj, key, v) {
		if (!strcmp(key, "metadata") || !strcmp(key, "apiVersion") || !strcmp(key, "kind"))
			continue;
		W(d, "%c%s:", toupper((unsigned char)key[0]), key + 1);
		if (!json_is_object(v) && !json_is_array(v)) {
			yaml = skiff_yaml_dump(v);
			W(d, "\t%s", yaml ? yaml : "\n");
			free(yaml);
			continue;
		}
		W(d, "\n");
		yaml = skiff_yaml_dump(v);
		for (line = yaml; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			else
				next = line + strlen(line);
			W(d, "  %s\n", line);
		}
		free(yaml);
	}
}

static void describe_one(struct skiff_ctl_conn *conn, const struct skiff_ctl_kind *k,
			 const json_t *obj)
{
	struct desc d = { .conn = conn, .obj = obj, .tab = skiff_ctl_tab_new(0, 2) };

	if (k->api == &skiff_pods)
		describe_pod(&d);
	else if (k->api == &skiff_nodes)
		describe_node(&d);
	else if (k->api == &skiff_deployments)
		describe_deployment(&d);
	else if (k->api == &skiff_services)
		describe_service(&d);
	else
		describe_generic(&d);
	d_events(&d, k);
	skiff_ctl_tab_flush(d.tab, stdout);
}

int skiff_ctl_describe(int argc, char **argv)
{
	struct skiff_ctl_conn conn;
	json_t *items, *obj;
	struct target *t;
	struct get_opts o;
	int ret, n, i;
	size_t j;

	ret = parse("describe", describe_usage, false, argc, argv, &o);
	if (ret)
		return ret < 0 ? SKIFF_CTL_OK : ret;
	ret = resolve("describe", describe_usage, &o, &t, &n);
	if (ret)
		return ret;
	ret = skiff_ctl_connect(&conn, o.ns);
	if (ret) {
		free(t);
		return ret;
	}
	items = json_array();
	for (i = 0; i < n; i++)
		if (get_objects(&conn, &o, &t[i], items))
			ret = SKIFF_CTL_FAIL;
	if (!json_array_size(items) && !ret)
		no_resources(&conn, &o, t, n);
	json_array_foreach(items, j, obj) {
		if (j)
			printf("\n\n");
		describe_one(&conn, skiff_ctl_kind_of(skiff_str(obj, "apiVersion") ?: "",
						      skiff_str(obj, "kind") ?: ""), obj);
	}
	json_decref(items);
	skiff_ctl_disconnect(&conn);
	free(t);
	return ret;
}
