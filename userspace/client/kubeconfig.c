// SPDX-License-Identifier: GPL-2.0
/*
 * kubeconfig files read, applied to libcurl handles and written
 * (kubeconfig.h). The messages follow client-go's where it has one
 * ("context was not found for specified context: NAME").
 */

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <jansson.h>

#include "base64.h"
#include "buf.h"
#include "kubeconfig.h"
#include "util.h"
#include "skiff_yaml.h"

/* Certificates, keys and tokens are small; this bounds a wrong path. */
#define MAX_PEM (1024 * 1024)

enum { FD_CA, FD_CERT, FD_KEY };

static void cfg_init(struct skiff_kubeconfig *cfg)
{
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < ARRAY_SIZE(cfg->fds); i++)
		cfg->fds[i] = -1;
}

void skiff_kubeconfig_release(struct skiff_kubeconfig *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < ARRAY_SIZE(cfg->fds); i++)
		if (cfg->fds[i] >= 0)
			close(cfg->fds[i]);
	free(cfg->path);
	free(cfg->context);
	free(cfg->cluster);
	free(cfg->user);
	free(cfg->namespace);
	free(cfg->server);
	free(cfg->ca_file);
	free(cfg->cert_file);
	free(cfg->key_file);
	free(cfg->token);
	cfg_init(cfg);
}

static int nomem(struct skiff_error *e)
{
	return skiff_error_set(e, -ENOMEM, "out of memory");
}

/* A whole small file, NUL-terminated: 0 or -errno. */
static int read_small(const char *path, char **out, size_t *len)
{
	struct skiff_buf b = { 0 };
	int err = skiff_buf_read_file(&b, path, MAX_PEM);

	if (err) {
		free(b.data);
		return err;
	}
	*out = b.data;
	*len = b.len;
	return 0;
}

/* ---- reading ------------------------------------------------------------ */

struct reader {
	const char *path;	/* the kubeconfig */
	char *dir;		/* its directory, for relative paths */
	struct skiff_kubeconfig *cfg;
	struct skiff_error *e;
};

static bool valid_server(const char *s)
{
	return (!strncmp(s, "https://", 8) && s[8]) ||
	       (!strncmp(s, "http://", 7) && s[7]);
}

/* @field of @obj: a string, NULL when absent; -EINVAL when another type. */
static int get_string(struct reader *r, const json_t *obj, const char *field,
		      const char *where, const char **out)
{
	const json_t *v = json_object_get(obj, field);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return skiff_error_set(r->e, -EINVAL, "%s: %s: %s: want a string",
				       r->path, where, field);
	*out = json_string_value(v);
	if (!**out)
		*out = NULL;
	return 0;
}

/*
 * The entry of list @list ("clusters") named @name: 0 and *@out its @inner
 * object (NULL when the entry has none: empty), -ENOENT, or -EINVAL.
 */
static int find(struct reader *r, const json_t *doc, const char *list,
		const char *inner, const char *name, const json_t **out)
{
	const json_t *items = json_object_get(doc, list), *item;
	size_t i;

	json_array_foreach(items, i, item) {
		const char *n = json_string_value(json_object_get(item, "name"));
		const json_t *v = json_object_get(item, inner);

		if (!n || strcmp(n, name))
			continue;
		if (v && !json_is_null(v) && !json_is_object(v))
			return skiff_error_set(r->e, -EINVAL, "%s: %s \"%s\": %s: want a mapping",
					       r->path, list, name, inner);
		*out = json_is_object(v) ? v : NULL;
		return 0;
	}
	return -ENOENT;
}

static int check_lists(struct reader *r, const json_t *doc)
{
	static const char *const lists[] = { "clusters", "contexts", "users" };
	size_t i;

	if (!json_is_object(doc))
		return skiff_error_set(r->e, -EINVAL, "%s: not a kubeconfig (want a mapping)",
				       r->path);
	for (i = 0; i < ARRAY_SIZE(lists); i++) {
		const json_t *v = json_object_get(doc, lists[i]);

		if (v && !json_is_null(v) && !json_is_array(v))
			return skiff_error_set(r->e, -EINVAL, "%s: %s: want a list",
					       r->path, lists[i]);
	}
	return 0;
}

/* @file made absolute against the kubeconfig's directory; malloc'd. */
static char *resolve_path(struct reader *r, const char *file)
{
	char *out;

	if (file[0] == '/')
		return strdup(file);
	if (asprintf(&out, "%s/%s", r->dir, file) < 0)
		return NULL;
	return out;
}

/* A file path field: checked readable now, as client-go validates. */
static int file_field(struct reader *r, const char *file, const char *field,
		      const char *owner, char **out)
{
	char *path = resolve_path(r, file);

	if (!path)
		return nomem(r->e);
	if (access(path, R_OK)) {
		int err = -errno;

		skiff_error_set(r->e, err, "%s: unable to read %s %s for %s due to %s",
				r->path, field, path, owner, strerror(-err));
		free(path);
		return err;
	}
	*out = path;
	return 0;
}

/*
 * @pem in a sealed memfd; *@out is its /proc/self/fd/N path. GnuTLS reads
 * CA, certificate and key files by name, so the memfd must stay open.
 */
static int memfd_path(const char *name, const char *pem, size_t len, int *fd,
		      char **out)
{
	size_t done = 0;
	ssize_t n;
	int err;

	*fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (*fd < 0)
		return -errno;
	while (done < len) {
		n = write(*fd, pem + done, len - done);
		if (n < 0) {
			err = -errno;
			goto err_close;
		}
		done += n;
	}
	if (fcntl(*fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
		  F_SEAL_SEAL)) {
		err = -errno;
		goto err_close;
	}
	if (asprintf(out, "/proc/self/fd/%d", *fd) < 0) {
		err = -ENOMEM;
		goto err_close;
	}
	return 0;

err_close:
	close(*fd);
	*fd = -1;
	return err;
}

#define BAD_BASE64 "%s: %s of %s: illegal base64 data"

/* A -data field: base64 of PEM, kept in a memfd. */
static int data_field(struct reader *r, const char *b64, const char *field,
		      const char *owner, int slot, char **out)
{
	size_t len;
	char *pem;
	int err;

	err = skiff_base64_decode(b64, strlen(b64), &pem, &len);
	if (err == -EINVAL)
		return skiff_error_set(r->e, err, BAD_BASE64, r->path, field, owner);
	if (err)
		return nomem(r->e);
	err = memfd_path(field, pem, len, &r->cfg->fds[slot], out);
	free(pem);
	if (err)
		return skiff_error_set(r->e, err, "%s: %s of %s: memfd: %s", r->path,
				       field, owner, strerror(-err));
	return 0;
}

/* The file or the -data form of one PEM field; -data wins. */
static int pem_field(struct reader *r, const json_t *obj, const char *field,
		     const char *owner, int slot, char **out)
{
	const char *file, *data;
	char data_name[64];
	int err;

	snprintf(data_name, sizeof(data_name), "%s-data", field);
	err = get_string(r, obj, field, owner, &file) ?:
	      get_string(r, obj, data_name, owner, &data);
	if (err)
		return err;
	if (data)
		return data_field(r, data, data_name, owner, slot, out);
	if (file)
		return file_field(r, file, field, owner, out);
	return 0;
}

#define NO_SERVER "%s: no server found for cluster \"%s\""
#define BAD_SERVER "%s: server \"%s\" of cluster \"%s\": want an http:// or https:// URL"
#define INSECURE_CA \
	"%s: cluster \"%s\": specifying a root certificates file with the insecure flag is not allowed"

static int read_cluster(struct reader *r, const json_t *cluster)
{
	struct skiff_kubeconfig *cfg = r->cfg;
	const json_t *insecure = json_object_get(cluster, "insecure-skip-tls-verify");
	char owner[300];
	const char *server;
	size_t len;
	int err;

	snprintf(owner, sizeof(owner), "cluster \"%s\"", cfg->cluster);
	err = get_string(r, cluster, "server", owner, &server);
	if (err)
		return err;
	if (!server)
		return skiff_error_set(r->e, -EINVAL, NO_SERVER, r->path, cfg->cluster);
	if (!valid_server(server))
		return skiff_error_set(r->e, -EINVAL, BAD_SERVER, r->path, server,
				       cfg->cluster);
	cfg->server = strdup(server);
	if (!cfg->server)
		return nomem(r->e);
	len = strlen(cfg->server);
	while (len && cfg->server[len - 1] == '/')
		cfg->server[--len] = '\0';
	if (insecure && !json_is_boolean(insecure) && !json_is_null(insecure))
		return skiff_error_set(r->e, -EINVAL,
				       "%s: %s: insecure-skip-tls-verify: want true or false",
				       r->path, owner);
	cfg->insecure = json_is_true(insecure);
	err = pem_field(r, cluster, "certificate-authority", owner, FD_CA, &cfg->ca_file);
	if (err)
		return err;
	if (cfg->insecure && cfg->ca_file)
		return skiff_error_set(r->e, -EINVAL, INSECURE_CA, r->path, cfg->cluster);
	return 0;
}

#define NEED_KEY \
	"%s: client-key-data or client-key must be specified for \"%s\" to use the clientCert authentication method"
#define NEED_CERT \
	"%s: client-cert-data or client-cert must be specified for \"%s\" to use the clientCert authentication method"
#define UNSUPPORTED "%s: user \"%s\": %s is not supported (client certificates and tokens are)"

#define NO_TOKEN_FILE "%s: unable to read tokenFile %s for user \"%s\" due to %s"

static int read_token_file(struct reader *r, const char *file)
{
	char *path = resolve_path(r, file), *text = NULL;
	const char *start;
	size_t len;
	int err;

	if (!path)
		return nomem(r->e);
	err = read_small(path, &text, &len);
	if (err) {
		skiff_error_set(r->e, err, NO_TOKEN_FILE, r->path, path, r->cfg->user,
				strerror(-err));
		goto out;
	}
	/* client-go trims the file's white space. */
	while (len && strchr(" \t\r\n", text[len - 1]))
		text[--len] = '\0';
	start = text + strspn(text, " \t\r\n");
	if (!*start || strchr(start, '\n') || strlen(text) != len) {
		err = skiff_error_set(r->e, -EINVAL, "%s: tokenFile %s for user \"%s\": %s",
				      r->path, path, r->cfg->user,
				      *start ? "not one line" : "empty");
		goto out;
	}
	r->cfg->token = strdup(start);
	if (!r->cfg->token)
		err = nomem(r->e);
out:
	free(text);
	free(path);
	return err;
}

static int read_user(struct reader *r, const json_t *user)
{
	static const char *const unsupported[] = {
		"exec", "auth-provider", "username", "password", "as",
	};
	struct skiff_kubeconfig *cfg = r->cfg;
	const char *token, *token_file;
	char owner[300];
	size_t i;
	int err;

	for (i = 0; i < ARRAY_SIZE(unsupported); i++)
		if (json_object_get(user, unsupported[i]))
			return skiff_error_set(r->e, -EOPNOTSUPP, UNSUPPORTED, r->path,
					       cfg->user, unsupported[i]);
	snprintf(owner, sizeof(owner), "user \"%s\"", cfg->user);
	err = pem_field(r, user, "client-certificate", owner, FD_CERT, &cfg->cert_file) ?:
	      pem_field(r, user, "client-key", owner, FD_KEY, &cfg->key_file) ?:
	      get_string(r, user, "token", owner, &token) ?:
	      get_string(r, user, "tokenFile", owner, &token_file);
	if (err)
		return err;
	if (cfg->cert_file && !cfg->key_file)
		return skiff_error_set(r->e, -EINVAL, NEED_KEY, r->path, cfg->user);
	if (cfg->key_file && !cfg->cert_file)
		return skiff_error_set(r->e, -EINVAL, NEED_CERT, r->path, cfg->user);
	if (token) {
		cfg->token = strdup(token);
		return cfg->token ? 0 : nomem(r->e);
	}
	if (token_file)
		return read_token_file(r, token_file);
	return 0;
}

#define NO_CONTEXT "%s: context was not found for specified context: %s"
#define NO_CURRENT "%s: no current-context set; name a context"
#define NO_CLUSTER "%s: cluster \"%s\" was not found for context \"%s\""
#define NO_USER "%s: user \"%s\" was not found for context \"%s\""

static int read_context(struct reader *r, const json_t *doc, const char *name)
{
	struct skiff_kubeconfig *cfg = r->cfg;
	const char *cluster_name, *user_name, *ns;
	const json_t *ctx, *cluster, *user = NULL;
	char owner[300];
	int err;

	if (!name)
		return skiff_error_set(r->e, -EINVAL, NO_CURRENT, r->path);
	err = find(r, doc, "contexts", "context", name, &ctx);
	if (err == -ENOENT)
		return skiff_error_set(r->e, err, NO_CONTEXT, r->path, name);
	if (err)
		return err;
	snprintf(owner, sizeof(owner), "context \"%s\"", name);
	err = get_string(r, ctx, "cluster", owner, &cluster_name) ?:
	      get_string(r, ctx, "user", owner, &user_name) ?:
	      get_string(r, ctx, "namespace", owner, &ns);
	if (err)
		return err;
	if (!cluster_name)
		return skiff_error_set(r->e, -EINVAL, "%s: context \"%s\" names no cluster",
				       r->path, name);
	err = find(r, doc, "clusters", "cluster", cluster_name, &cluster);
	if (err == -ENOENT)
		return skiff_error_set(r->e, err, NO_CLUSTER, r->path, cluster_name, name);
	if (err)
		return err;
	err = user_name ? find(r, doc, "users", "user", user_name, &user) : 0;
	if (err == -ENOENT)
		return skiff_error_set(r->e, err, NO_USER, r->path, user_name, name);
	if (err)
		return err;
	cfg->context = strdup(name);
	cfg->cluster = strdup(cluster_name);
	cfg->user = user_name ? strdup(user_name) : NULL;
	cfg->namespace = ns ? strdup(ns) : NULL;
	if (!cfg->context || !cfg->cluster || (user_name && !cfg->user) ||
	    (ns && !cfg->namespace))
		return nomem(r->e);
	err = read_cluster(r, cluster);
	if (!err && user_name)
		err = read_user(r, user);
	return err;
}

/* JSON is read as JSON (jansson's numbers and messages), the rest as YAML. */
static json_t *load_doc(const char *path, struct skiff_error *e)
{
	json_error_t jerr;
	size_t len;
	char *text;
	json_t *doc;
	int err;

	err = read_small(path, &text, &len);
	if (err) {
		skiff_error_set(e, err, "%s: %s", path, strerror(-err));
		return NULL;
	}
	if (text[strspn(text, " \t\r\n")] == '{') {
		doc = json_loadb(text, len, 0, &jerr);
		if (!doc)
			skiff_error_set(e, -EINVAL, "%s: line %d, column %d: %s", path,
					jerr.line, jerr.column, jerr.text);
	} else {
		doc = skiff_yaml_load(text, len, e);
		if (!doc) {
			char what[sizeof(e->msg)];

			snprintf(what, sizeof(what), "%s", e->msg);
			skiff_error_set(e, e->err, "%s: %s", path, what);
		}
	}
	free(text);
	return doc;
}

int skiff_kubeconfig_load(struct skiff_kubeconfig *cfg, const char *path,
			  const char *context, struct skiff_error *e)
{
	struct reader r = { .path = path, .cfg = cfg, .e = e };
	char *copy = strdup(path);
	json_t *doc = NULL;
	int err;

	cfg_init(cfg);
	skiff_error_clear(e);
	if (!copy)
		return nomem(e);
	r.dir = strdup(dirname(copy));
	free(copy);
	cfg->path = strdup(path);
	if (!r.dir || !cfg->path) {
		err = nomem(e);
		goto out;
	}
	doc = load_doc(path, e);
	if (!doc) {
		err = e->err;
		goto out;
	}
	if (!context)
		context = json_string_value(json_object_get(doc, "current-context"));
	err = check_lists(&r, doc) ?: read_context(&r, doc, context);
out:
	json_decref(doc);
	free(r.dir);
	if (err)
		skiff_kubeconfig_release(cfg);
	return err;
}

int skiff_kubeconfig_set_server(struct skiff_kubeconfig *cfg,
				const char *server, struct skiff_error *e)
{
	size_t len;
	char *copy;

	if (!valid_server(server))
		return skiff_error_set(e, -EINVAL, "server \"%s\": want an http:// or https:// URL",
				       server);
	copy = strdup(server);
	if (!copy)
		return nomem(e);
	len = strlen(copy);
	while (len && copy[len - 1] == '/')
		copy[--len] = '\0';
	free(cfg->server);
	cfg->server = copy;
	return 0;
}

int skiff_kubeconfig_from_server(struct skiff_kubeconfig *cfg,
				 const char *server, struct skiff_error *e)
{
	int err;

	cfg_init(cfg);
	err = skiff_kubeconfig_set_server(cfg, server, e);
	if (err)
		return err;
	cfg->context = strdup("");
	cfg->cluster = strdup("");
	if (!cfg->context || !cfg->cluster) {
		skiff_kubeconfig_release(cfg);
		return nomem(e);
	}
	return 0;
}

static int copy_str(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return src && !*dst ? -ENOMEM : 0;
}

/* A memfd path of @src re-pointed at @dst's duplicate of that memfd. */
static int copy_file(struct skiff_kubeconfig *dst, const struct skiff_kubeconfig *src,
		     int slot, char **out, const char *file)
{
	if (src->fds[slot] < 0)
		return copy_str(out, file);
	dst->fds[slot] = fcntl(src->fds[slot], F_DUPFD_CLOEXEC, 0);
	if (dst->fds[slot] < 0)
		return -errno;
	return asprintf(out, "/proc/self/fd/%d", dst->fds[slot]) < 0 ? -ENOMEM : 0;
}

int skiff_kubeconfig_copy(struct skiff_kubeconfig *dst,
			  const struct skiff_kubeconfig *src)
{
	int err;

	cfg_init(dst);
	dst->insecure = src->insecure;
	err = copy_str(&dst->path, src->path) ?:
	      copy_str(&dst->context, src->context) ?:
	      copy_str(&dst->cluster, src->cluster) ?:
	      copy_str(&dst->user, src->user) ?:
	      copy_str(&dst->namespace, src->namespace) ?:
	      copy_str(&dst->server, src->server) ?:
	      copy_str(&dst->token, src->token) ?:
	      copy_file(dst, src, FD_CA, &dst->ca_file, src->ca_file) ?:
	      copy_file(dst, src, FD_CERT, &dst->cert_file, src->cert_file) ?:
	      copy_file(dst, src, FD_KEY, &dst->key_file, src->key_file);
	if (err)
		skiff_kubeconfig_release(dst);
	return err;
}

/* ---- using -------------------------------------------------------------- */

void skiff_kubeconfig_apply(const struct skiff_kubeconfig *cfg, CURL *easy)
{
	if (!cfg)
		return;
	curl_easy_setopt(easy, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (cfg->ca_file) {
		/* Only this CA, as client-go: not the system's as well. */
		curl_easy_setopt(easy, CURLOPT_CAINFO, cfg->ca_file);
		curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);
	}
	if (cfg->insecure) {
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (cfg->cert_file) {
		curl_easy_setopt(easy, CURLOPT_SSLCERT, cfg->cert_file);
		curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(easy, CURLOPT_SSLKEY, cfg->key_file);
		curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (cfg->token) {
		/* Sent with the first request: bearer is the only scheme allowed. */
		curl_easy_setopt(easy, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(easy, CURLOPT_XOAUTH2_BEARER, cfg->token);
	}
}

/* ---- writing ------------------------------------------------------------ */

/* The base64 of a PEM file, as a JSON string. */
static json_t *embed(const char *file, const char *what, struct skiff_error *e)
{
	size_t len;
	char *pem;
	json_t *v;
	int err;

	err = read_small(file, &pem, &len);
	if (err) {
		skiff_error_set(e, err, "%s %s: %s", what, file, strerror(-err));
		return NULL;
	}
	if (!strstr(pem, "-----BEGIN ")) {
		free(pem);
		skiff_error_set(e, -EINVAL, "%s %s: not a PEM file", what, file);
		return NULL;
	}
	v = skiff_base64_json(pem, len);
	free(pem);
	if (!v)
		nomem(e);
	return v;
}

static int check_write_args(const char *cluster, const char *server,
			    const char *user, const char *cert_file,
			    const char *key_file, struct skiff_error *e)
{
	if (!cluster || !*cluster)
		return skiff_error_set(e, -EINVAL, "a kubeconfig needs a cluster name");
	if (!user || !*user)
		return skiff_error_set(e, -EINVAL, "a kubeconfig needs a user name");
	if (!server || !valid_server(server))
		return skiff_error_set(e, -EINVAL, "server \"%s\": want an http:// or https:// URL",
				       server ?: "");
	if (!cert_file != !key_file)
		return skiff_error_set(e, -EINVAL,
				       "a client certificate and its key go together");
	return 0;
}

#define KUBECONFIG_FORMAT \
	"{s:s, s:[{s:o, s:s}], s:[{s:{s:s, s:s}, s:s}], s:s, s:s, s:{}, s:[{s:s, s:o}]}"

/* The PEM files embedded: 0 or -errno with @e set. */
static int embed_all(const char *ca_file, const char *cert_file,
		     const char *key_file, json_t **ca, json_t **cert,
		     json_t **key, struct skiff_error *e)
{
	*ca = NULL;
	*cert = NULL;
	*key = NULL;
	if (ca_file) {
		*ca = embed(ca_file, "certificate authority", e);
		if (!*ca)
			return e->err;
	}
	if (cert_file) {
		*cert = embed(cert_file, "client certificate", e);
		if (!*cert)
			goto err_ca;
		*key = embed(key_file, "client key", e);
		if (!*key)
			goto err_cert;
	}
	return 0;

err_cert:
	json_decref(*cert);
err_ca:
	json_decref(*ca);
	return e->err;
}

/* What kubeadm writes, keys in its (sorted) order. */
static json_t *kubeconfig_json(const char *cluster, const char *server,
			       const char *ca_file, const char *user,
			       const char *cert_file, const char *key_file,
			       const char *token, struct skiff_error *e)
{
	json_t *doc, *c, *u, *ca, *cert, *key;
	char *context;

	if (embed_all(ca_file, cert_file, key_file, &ca, &cert, &key, e))
		return NULL;
	if (asprintf(&context, "%s@%s", user, cluster) < 0) {
		json_decref(ca);
		json_decref(cert);
		json_decref(key);
		nomem(e);
		return NULL;
	}
	/* json_pack takes the references, also when it fails. */
	c = json_pack("{s:o*, s:s}", "certificate-authority-data", ca, "server", server);
	u = json_pack("{s:o*, s:o*, s:s*}", "client-certificate-data", cert,
		      "client-key-data", key, "token", token);
	doc = json_pack(KUBECONFIG_FORMAT,
			"apiVersion", "v1",
			"clusters", "cluster", c, "name", cluster,
			"contexts", "context", "cluster", cluster, "user", user,
			"name", context,
			"current-context", context,
			"kind", "Config",
			"preferences",
			"users", "name", user, "user", u);
	if (!doc)
		nomem(e);
	free(context);
	return doc;
}

static int write_all(int fd, const char *text, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, text, len);
		if (n < 0)
			return -errno;
		text += n;
		len -= n;
	}
	return 0;
}

/* @text to @path through a temporary file in the same directory. */
static int replace_file(const char *path, const char *text, struct skiff_error *e)
{
	char *tmp, *dir_copy;
	int fd, dfd, err;

	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
		return nomem(e);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = skiff_error_set(e, -errno, "%s: %s", path, strerror(errno));
		goto out_free;
	}
	err = fchmod(fd, 0600) ? -errno : 0;
	err = err ?: write_all(fd, text, strlen(text));
	err = err ?: (fsync(fd) ? -errno : 0);
	if (close(fd) && !err)
		err = -errno;
	err = err ?: (rename(tmp, path) ? -errno : 0);
	if (err) {
		skiff_error_set(e, err, "%s: %s", path, strerror(-err));
		goto out_unlink;
	}
	/* The rename itself lasts once the directory is on disk. */
	dir_copy = strdup(path);
	if (dir_copy) {
		dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		free(dir_copy);
	}
	goto out_free;

out_unlink:
	unlink(tmp);
out_free:
	free(tmp);
	return err;
}

int skiff_kubeconfig_write(const char *path, const char *cluster,
			   const char *server, const char *ca_file,
			   const char *user, const char *cert_file,
			   const char *key_file, const char *token,
			   struct skiff_error *e)
{
	json_t *doc;
	char *text;
	int err;

	skiff_error_clear(e);
	err = check_write_args(cluster, server, user, cert_file, key_file, e);
	if (err)
		return err;
	doc = kubeconfig_json(cluster, server, ca_file, user, cert_file, key_file,
			      token, e);
	if (!doc)
		return e->err;
	text = skiff_yaml_dump(doc);
	json_decref(doc);
	if (!text)
		return nomem(e);
	err = replace_file(path, text, e);
	free(text);
	return err;
}
