// SPDX-License-Identifier: GPL-2.0
/*
 * What skiffctl's cluster commands (get, describe, apply, delete, rollout,
 * node) share: the client from the kubeconfig kubectl would read, the kinds
 * and the words users call them by, the apiserver's errors in kubectl's
 * words, and output as kubectl prints it (its tabwriter's columns, AGE,
 * JSON and YAML with sorted keys), so that a user reads the same thing
 * from both.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "ctl.h"
#include "kubeconfig.h"
#include "leader.h"
#include "skiff_yaml.h"
#include "util.h"

#define TABLE_ACCEPT \
	"Accept: application/json;as=Table;g=meta.k8s.io;v=v1, application/json"
#define NO_INFO_FMT \
	"the server responded with the status code %ld but did not return more information"
#define BAD_TIMEOUT_FMT "%s: --timeout '%s': a duration (30s, 2m, 0: none)"
#define NO_CONFIG_FMT \
	"no kubeconfig: give --kubeconfig FILE or set KUBECONFIG (%s does not exist)"

const struct skiff_ctl_kind skiff_ctl_kinds[] = {
	{ &skiff_pods, "pod", "po", "" },
	{ &skiff_nodes, "node", "no", "" },
	{ &skiff_services, "service", "svc", "" },
	{ &skiff_endpoints, "endpoints", "ep", "" },
	{ &skiff_deployments, "deployment", "deploy", "apps" },
	{ &skiff_replicasets, "replicaset", "rs", "apps" },
	{ &skiff_daemonsets, "daemonset", "ds", "apps" },
	{ &skiff_statefulsets, "statefulset", "sts", "apps" },
	{ &skiff_jobs, "job", NULL, "batch" },
	{ &skiff_namespaces, "namespace", "ns", "" },
	{ &skiff_configmaps, "configmap", "cm", "" },
	{ &skiff_secrets, "secret", NULL, "" },
	{ &skiff_events, "event", "ev", "" },
	{ &skiff_leases, "lease", NULL, "coordination.k8s.io" },
	{ NULL },
};

const char skiff_ctl_kind_names[] = SKIFF_CTL_KIND_NAMES;

int skiff_ctl_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", skiff_ctl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return SKIFF_CTL_FAIL;
}

/* @word is @name, or @name.GROUP of @k ("deployments.apps"). */
static bool word_is(const char *word, const char *name, const struct skiff_ctl_kind *k)
{
	size_t len;

	if (!name)
		return false;
	len = strlen(name);
	if (strncasecmp(word, name, len))
		return false;
	if (!word[len])
		return true;
	return word[len] == '.' && k->group[0] && !strcasecmp(word + len + 1, k->group);
}

const struct skiff_ctl_kind *skiff_ctl_kind_find(const char *word)
{
	const struct skiff_ctl_kind *k;

	for (k = skiff_ctl_kinds; k->api; k++)
		if (word_is(word, k->api->plural, k) || word_is(word, k->singular, k) ||
		    word_is(word, k->short_name, k) || word_is(word, k->api->kind, k))
			return k;
	return NULL;
}

const struct skiff_ctl_kind *skiff_ctl_kind_of(const char *api_version, const char *kind)
{
	const struct skiff_ctl_kind *k;

	for (k = skiff_ctl_kinds; k->api; k++)
		if (!strcmp(k->api->api_version, api_version) && !strcmp(k->api->kind, kind))
			return k;
	return NULL;
}

void skiff_ctl_kind_ref(const struct skiff_ctl_kind *k, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s", k->singular, k->group[0] ? "." : "", k->group);
}

int skiff_ctl_split_ref(const char *arg, char *type, size_t size, const char **name)
{
	const char *slash = strchr(arg, '/');

	if (!slash) {
		snprintf(type, size, "%s", arg);
		*name = NULL;
		return 0;
	}
	if (slash == arg || !slash[1] || strchr(slash + 1, '/') ||
	    (size_t)(slash - arg) >= size)
		return -EINVAL;
	snprintf(type, size, "%.*s", (int)(slash - arg), arg);
	*name = slash + 1;
	return 0;
}

/* ---- the apiserver -------------------------------------------------------- */

/* kubectl's order: --kubeconfig, $KUBECONFIG (the first file of the list), ~/.kube/config. */
static int config_path(char *out, size_t size, struct skiff_error *e)
{
	const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
	char *list, *p, *save = NULL;

	if (skiff_ctl.kubeconfig) {
		snprintf(out, size, "%s", skiff_ctl.kubeconfig);
		return 0;
	}
	if (env && *env) {
		list = strdup(env);
		if (!list)
			return skiff_error_set(e, -ENOMEM, "out of memory");
		for (p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
			if (!access(p, F_OK)) {
				snprintf(out, size, "%s", p);
				free(list);
				return 0;
			}
		}
		free(list);
		return skiff_error_set(e, -ENOENT, NO_CONFIG_FMT, env);
	}
	snprintf(out, size, "%s/.kube/config", home ? home : "");
	if (access(out, F_OK))
		return skiff_error_set(e, -ENOENT, NO_CONFIG_FMT, out);
	return 0;
}

int skiff_ctl_connect(struct skiff_ctl_conn *conn, const char *ns)
{
	struct skiff_kubeconfig cfg;
	struct skiff_error e;
	char path[4096];

	memset(conn, 0, sizeof(*conn));
	if (config_path(path, sizeof(path), &e))
		return skiff_ctl_fail("kubeconfig", &e);
	if (skiff_kubeconfig_load(&cfg, path, NULL, &e))
		return skiff_ctl_fail("kubeconfig", &e);
	conn->ns_given = !!ns;
	if (!ns)
		ns = cfg.namespace && *cfg.namespace ? cfg.namespace : "default";
	conn->ns = strdup(ns);
	conn->c = skiff_client_new_config(NULL, &cfg);
	skiff_kubeconfig_release(&cfg);
	if (!conn->c || !conn->ns) {
		skiff_ctl_disconnect(conn);
		skiff_error_set(&e, -ENOMEM, "out of memory");
		return skiff_ctl_fail("kubeconfig", &e);
	}
	/* Failures are ours to say, in kubectl's words. */
	skiff_client_set_quiet(conn->c, true);
	return 0;
}

void skiff_ctl_disconnect(struct skiff_ctl_conn *conn)
{
	const json_t *e;
	size_t i;

	fflush(stdout);
	json_array_foreach(conn->errors, i, e) {
		snprintf(conn->error, sizeof(conn->error), "%s",
			 json_string_value(json_array_get(e, 3)) ?: "");
		skiff_ctl_server_error(conn, json_integer_value(json_array_get(e, 0)),
				       json_array_get(e, 1),
				       json_string_value(json_array_get(e, 2)));
	}
	json_decref(conn->errors);
	skiff_client_free(conn->c);
	free(conn->ns);
	memset(conn, 0, sizeof(*conn));
}

long skiff_ctl_call(struct skiff_ctl_conn *conn, const char *method, const char *path,
		    const char *type, const json_t *body, json_t **answer)
{
	long code = skiff_client_call(conn->c, method, path, type, body, answer);

	if (!code)
		snprintf(conn->error, sizeof(conn->error), "%s", skiff_client_error(conn->c));
	return code;
}

/*
 * The client library asks for JSON only; a Table needs its own Accept, on
 * a handle with the same TLS settings and credentials.
 */
long skiff_ctl_get_table(struct skiff_ctl_conn *conn, const char *path, json_t **answer)
{
	struct curl_slist *headers = NULL;
	struct skiff_buf got = { 0 };
	CURLcode result;
	CURL *easy;
	char *url;
	long code = 0;

	*answer = NULL;
	conn->error[0] = '\0';
	easy = curl_easy_init();
	if (!easy || asprintf(&url, "%s%s", skiff_client_server(conn->c), path) < 0) {
		curl_easy_cleanup(easy);
		snprintf(conn->error, sizeof(conn->error), "out of memory");
		return 0;
	}
	headers = curl_slist_append(NULL, TABLE_ACCEPT);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, skiff_buf_curl_write);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &got);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, conn->error);
	skiff_client_apply(conn->c, easy);
	result = curl_easy_perform(easy);
	if (result == CURLE_OK) {
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
		conn->error[0] = '\0';
		if (got.len)
			*answer = json_loadb(got.data, got.len, 0, NULL);
	} else if (!conn->error[0]) {
		snprintf(conn->error, sizeof(conn->error), "%s", curl_easy_strerror(result));
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(easy);
	free(got.data);
	free(url);
	return code;
}

/* "field: message" of each cause, "[a, b]" for several, as kubectl. */
static void print_causes(const json_t *causes)
{
	const json_t *c;
	size_t i, n = json_array_size(causes);

	if (n > 1)
		fputc('[', stderr);
	json_array_foreach(causes, i, c) {
		const char *field = skiff_str(c, "field");

		fprintf(stderr, "%s%s%s%s", i ? ", " : "", field && *field ? field : "",
			field && *field ? ": " : "", skiff_str(c, "message") ?: "");
	}
	if (n > 1)
		fputc(']', stderr);
}

int skiff_ctl_server_error(struct skiff_ctl_conn *conn, long code, const json_t *answer,
			   const char *when)
{
	const char *reason = skiff_str(answer, "reason");
	const char *message = skiff_str(answer, "message");
	const json_t *details;

	if (!code) {
		fprintf(stderr, "Unable to connect to the server: %s\n",
			conn->error[0] ? conn->error : "no answer");
		return SKIFF_CTL_FAIL;
	}
	if (!message || !*message) {
		fprintf(stderr, "error: %s%s" NO_INFO_FMT "\n", when ? when : "",
			when ? ": " : "", code);
		return SKIFF_CTL_FAIL;
	}
	/* kubectl's StandardErrorMessage: Invalid said by its causes. */
	details = json_object_get(answer, "details");
	if (reason && !strcmp(reason, "Invalid") && skiff_str(details, "kind") &&
	    skiff_str(details, "name") && json_array_size(json_object_get(details, "causes"))) {
		fprintf(stderr, "The %s \"%s\" is invalid: ", skiff_str(details, "kind"),
			skiff_str(details, "name"));
		print_causes(json_object_get(details, "causes"));
		fputc('\n', stderr);
		return SKIFF_CTL_FAIL;
	}
	fprintf(stderr, "Error from server%s%s%s: %s%s%s\n", reason && *reason ? " (" : "",
		reason ? reason : "", reason && *reason ? ")" : "", when ? when : "",
		when ? ": " : "", message);
	return SKIFF_CTL_FAIL;
}

int skiff_ctl_defer_error(struct skiff_ctl_conn *conn, long code, const json_t *answer,
			  const char *when)
{
	json_t *e = json_pack("[I, O, s?, s]", (json_int_t)code, answer ? answer : json_null(),
			      when, conn->error);

	if (!conn->errors)
		conn->errors = json_array();
	if (!e || json_array_append_new(conn->errors, e))
		return skiff_ctl_server_error(conn, code, answer, when);
	return SKIFF_CTL_FAIL;
}

char *skiff_ctl_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *p = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char c = *s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c)) {
			*p++ = c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return out;
}

char *skiff_ctl_list_path(const struct skiff_ctl_kind *k, const char *ns,
			  const char *labels, const char *fields)
{
	char *base = skiff_path(k->api, ns, NULL, NULL), *l, *f, *path = NULL;

	if (!base)
		return NULL;
	l = labels ? skiff_ctl_escape(labels) : NULL;
	f = fields ? skiff_ctl_escape(fields) : NULL;
	if ((!labels || l) && (!fields || f) &&
	    asprintf(&path, "%s%s%s%s%s%s%s", base, l || f ? "?" : "",
		     l ? "labelSelector=" : "", l ? l : "", l && f ? "&" : "",
		     f ? "fieldSelector=" : "", f ? f : "") < 0)
		path = NULL;
	free(base);
	free(l);
	free(f);
	return path;
}

/* ---- output --------------------------------------------------------------- */

struct skiff_ctl_tab {
	FILE *mem;
	char *text;
	size_t len;
	int minwidth;
	int padding;
};

struct tab_line {
	char **cells;
	int n;
};

struct tab_ctx {
	struct tab_line *lines;
	int *widths;
	int minwidth;
	int padding;
	FILE *out;
};

struct skiff_ctl_tab *skiff_ctl_tab_new(int minwidth, int padding)
{
	struct skiff_ctl_tab *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->mem = open_memstream(&t->text, &t->len);
	if (!t->mem) {
		free(t);
		return NULL;
	}
	t->minwidth = minwidth;
	t->padding = padding;
	return t;
}

void skiff_ctl_tab_printf(struct skiff_ctl_tab *t, const char *fmt, ...)
{
	va_list ap;

	if (!t)
		return;
	va_start(ap, fmt);
	vfprintf(t->mem, fmt, ap);
	va_end(ap);
}

/* Characters, not bytes: UTF-8 continuation bytes take no room. */
static int text_width(const char *s)
{
	int w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static void tab_write_lines(struct tab_ctx *t, int line0, int line1, int depth)
{
	int i, j;

	for (i = line0; i < line1; i++) {
		const struct tab_line *l = &t->lines[i];

		for (j = 0; j < l->n; j++) {
			fputs(l->cells[j], t->out);
			if (j < depth)
				fprintf(t->out, "%*s", t->widths[j] - text_width(l->cells[j]), "");
		}
		fputc('\n', t->out);
	}
}

/*
 * Go's text/tabwriter, which kubectl prints through: a column is a block
 * of consecutive lines that have a cell there (the last cell of a line,
 * ended by the newline, is no column), as wide as its widest cell plus
 * the padding, and no narrower than minwidth.
 */
static void tab_format(struct tab_ctx *t, int line0, int line1, int depth)
{
	int this, width, w;

	for (this = line0; this < line1; this++) {
		if (depth >= t->lines[this].n - 1)
			continue;
		tab_write_lines(t, line0, this, depth);
		line0 = this;
		width = t->minwidth;
		for (; this < line1; this++) {
			if (depth >= t->lines[this].n - 1)
				break;
			w = text_width(t->lines[this].cells[depth]) + t->padding;
			if (w > width)
				width = w;
		}
		t->widths[depth] = width;
		tab_format(t, line0, this, depth + 1);
		line0 = this;
	}
	tab_write_lines(t, line0, line1, depth);
}

/* Splits @text in place into lines of cells; the number of lines, or -1. */
static int tab_split(char *text, struct tab_line **lines, int *most)
{
	int n = 0, cap = 0, cells;
	char *line, *next, *p;
	struct tab_line *l;

	*lines = NULL;
	*most = 0;
	for (line = text; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			l = realloc(*lines, cap * sizeof(**lines));
			if (!l)
				return -1;
			*lines = l;
		}
		for (cells = 1, p = line; *p; p++)
			cells += *p == '\t';
		l = &(*lines)[n++];
		l->n = 0;
		l->cells = malloc(cells * sizeof(*l->cells));
		if (!l->cells)
			return -1;
		for (p = line;; p++) {
			if (*p && *p != '\t')
				continue;
			l->cells[l->n++] = line;
			if (!*p)
				break;
			*p = '\0';
			line = p + 1;
		}
		if (l->n > *most)
			*most = l->n;
	}
	return n;
}

void skiff_ctl_tab_flush(struct skiff_ctl_tab *t, FILE *out)
{
	struct tab_ctx ctx = { .minwidth = t ? t->minwidth : 0, .out = out };
	int n = 0, i, most;

	if (!t)
		return;
	fclose(t->mem);
	if (t->text) {
		n = tab_split(t->text, &ctx.lines, &most);
		ctx.widths = n > 0 ? calloc(most, sizeof(*ctx.widths)) : NULL;
	}
	ctx.padding = t->padding;
	if (n > 0 && ctx.widths)
		tab_format(&ctx, 0, n, 0);
	else if (t->text)
		fputs(t->text, out);	/* out of memory: unaligned beats nothing */
	for (i = 0; ctx.lines && i < n; i++)
		free(ctx.lines[i].cells);
	free(ctx.lines);
	free(ctx.widths);
	free(t->text);
	free(t);
}

/* Kubernetes' duration.HumanDuration: 45s, 3m20s, 5h, 2d3h, 400d, 3y. */
void skiff_ctl_human_duration(long long s, char *out, size_t size)
{
	long long m = s / 60, h = s / 3600, d = s / 86400;

	if (s < 0)
		snprintf(out, size, "<invalid>");
	else if (s < 120)
		snprintf(out, size, "%llds", s);
	else if (m < 10)
		snprintf(out, size, "%lldm%llds", m, s % 60);
	else if (m < 180)
		snprintf(out, size, "%lldm", m);
	else if (h < 8)
		snprintf(out, size, "%lldh%lldm", h, m % 60);
	else if (h < 48)
		snprintf(out, size, "%lldh", h);
	else if (h < 192)
		snprintf(out, size, "%lldd%lldh", d, h % 24);
	else if (d < 730)
		snprintf(out, size, "%lldd", d);
	else if (d < 3000)
		snprintf(out, size, "%lldy%lldd", d / 365, d % 365);
	else
		snprintf(out, size, "%lldy", d / 365);
}

void skiff_ctl_age(const char *stamp, char *out, size_t size)
{
	double t = stamp && *stamp ? skiff_time_parse(stamp) : -1;

	if (t < 0)
		snprintf(out, size, "<unknown>");
	else
		skiff_ctl_human_duration((long long)(time(NULL) - t), out, size);
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys in order, as Go's encoders write maps: kubectl's output. */
static json_t *sorted(const json_t *v)
{
	const char **keys;
	const char *key;
	json_t *out, *item;
	size_t n, i;

	if (json_is_array(v)) {
		out = json_array();
		json_array_foreach(v, i, item)
			json_array_append_new(out, sorted(item));
		return out;
	}
	if (!json_is_object(v))
		return json_deep_copy(v);
	n = json_object_size(v);
	keys = malloc((n ? n : 1) * sizeof(*keys));
	out = json_object();
	if (!keys || !out) {
		free(keys);
		json_decref(out);
		return NULL;
	}
	i = 0;
	json_object_foreach((json_t *)v, key, item)
		keys[i++] = key;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 0; i < n; i++)
		json_object_set_new(out, keys[i], sorted(json_object_get(v, keys[i])));
	free(keys);
	return out;
}

int skiff_ctl_print(const json_t *obj, bool yaml)
{
	json_t *s = sorted(obj);
	char *text;
	int ret = SKIFF_CTL_FAIL;

	if (!s)
		return ret;
	if (yaml) {
		text = skiff_yaml_dump(s);
		if (text) {
			fputs(text, stdout);
			ret = SKIFF_CTL_OK;
		}
		free(text);
	} else if (!json_dumpf(s, stdout, JSON_INDENT(4) | JSON_PRESERVE_ORDER)) {
		putchar('\n');
		ret = SKIFF_CTL_OK;
	}
	json_decref(s);
	if (ret)
		fprintf(stderr, "%s: out of memory\n", skiff_ctl_prog);
	return ret;
}

long long skiff_ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int skiff_ctl_parse_timeout(const char *usage, const char *what, const char *text,
			    long long *ms)
{
	int64_t v = skiff_parse_duration(text);

	if (v < 0)
		return skiff_ctl_usage_error(usage, BAD_TIMEOUT_FMT, what, text);
	*ms = v;
	return 0;
}
