// SPDX-License-Identifier: GPL-2.0
/*
 * Security of the apiserver, in three steps per request, as
 * kube-apiserver takes them:
 *
 *  1. TLS (libmicrohttpd over GnuTLS): TLS 1.2 and 1.3 only, the client's
 *     certificate asked for but not required (tokens authenticate too).
 *     Without --tls-cert-file the server speaks plain HTTP on loopback
 *     only and takes every request as an admin's, as kube-apiserver's old
 *     insecure port did.
 *  2. Authentication: a client certificate that verifies against
 *     --client-ca-file (chain, validity, clientAuth usage) names the user
 *     (CN) and its groups (O); else an "Authorization: Bearer" token from
 *     --token-auth-file. A certificate or token that does not authenticate
 *     is 401; a request with neither is anonymous, which only the health
 *     checks take (kube 1.32's anonymous authenticator limited to
 *     /healthz, /livez and /readyz).
 *  3. Authorization: one fixed policy, what --authorization-mode=Node,RBAC
 *     with the bootstrap roles and the NodeRestriction admission plugin
 *     allow the cluster's own identities (see policy_* below and
 *     Documentation/apiserver.md, "Security"). It is decided from the
 *     request as parsed here the way Kubernetes' RequestInfoFactory parses
 *     it, before anything is written.
 *
 * A certificate is verified once per TLS connection: the identity is kept
 * in the connection's socket context (MHD_OPTION_NOTIFY_CONNECTION) for its
 * later requests. Tokens are looked up by their SHA-256 in a sorted table,
 * so the look-up's timing tells nothing of the tokens themselves.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "api.h"
#include "auth.h"
#include "buf.h"
#include "tls_peer.h"
#include "util.h"

/* TLS 1.2 and 1.3 only, as kube-apiserver's default --tls-min-version. */
/* Larger files than this are not what the flags name. */
#define AUTH_MAX_FILE (16 * 1024 * 1024)
#define SHA256_LEN 32
/* The longest token file field (a token, a user, the groups). */
#define TOKEN_FIELD_MAX 4096
#define TOKEN_FIELD_MAX_TEXT "4096"

#define GROUP_MASTERS "system:masters"
#define GROUP_NODES "system:nodes"
#define GROUP_AUTHENTICATED "system:authenticated"
#define USER_NODE_PREFIX "system:node:"
#define USER_SCHEDULER "system:kube-scheduler"
#define USER_CONTROLLER_MANAGER "system:kube-controller-manager"
#define NODE_LEASE_NS "kube-node-lease"
#define COORDINATION "coordination.k8s.io"

#define FORBIDDEN_RESOURCE_NS \
	"User \"%s\" cannot %s resource \"%s%s%s\" in API group \"%s\" in the namespace \"%s\""
#define FORBIDDEN_RESOURCE_CLUSTER \
	"User \"%s\" cannot %s resource \"%s%s%s\" in API group \"%s\" at the cluster scope"
#define NO_RELATIONSHIP "no relationship found between node '%s' and this object"
#define TOKEN_COLUMNS \
	"%s: line %u: want at least 3 columns (token, user name, user uid), found %zu"

struct token {
	unsigned char digest[SHA256_LEN];
	struct auth_user user;
	unsigned int line;
};

struct auth {
	bool tls;
	char *cert_pem;		/* kept: the daemon reads them at start */
	char *key_pem;
	char *ca_pem;
	struct token *tokens;	/* sorted by digest */
	size_t token_count;
};

/* What a TLS connection's client certificate made of it. */
enum cert_state {
	CERT_UNCHECKED,
	CERT_NONE,		/* none given */
	CERT_VALID,		/* @user is who it says */
	CERT_INVALID,		/* given, but does not verify */
};

struct conn_auth {
	enum cert_state state;
	struct auth_user user;
};

static char *unsecured_groups[] = { GROUP_MASTERS, GROUP_AUTHENTICATED, NULL };
/* The identity of every plain HTTP request: kube's insecure port's. */
static const struct auth_user unsecured = {
	.name = "system:unsecured", .uid = "", .groups = unsecured_groups,
};

static char *anonymous_groups[] = { "system:unauthenticated", NULL };
static const struct auth_user anonymous = {
	.name = "system:anonymous", .uid = "", .groups = anonymous_groups,
};

/* ---- users ------------------------------------------------------------- */

static void user_free(struct auth_user *u)
{
	char **g;

	free(u->name);
	free(u->uid);
	for (g = u->groups; g && *g; g++)
		free(*g);
	free(u->groups);
	memset(u, 0, sizeof(*u));
}

/* Appends a copy of @group; -ENOMEM. */
static int user_add_group(struct auth_user *u, const char *group, size_t len)
{
	size_t n = 0;
	char **grown;

	while (u->groups && u->groups[n])
		n++;
	grown = realloc(u->groups, (n + 2) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	u->groups = grown;
	grown[n] = strndup(group, len);
	grown[n + 1] = NULL;
	return grown[n] ? 0 : -ENOMEM;
}

static bool in_group(const struct auth_user *u, const char *group)
{
	char **g;

	for (g = u->groups; g && *g; g++)
		if (!strcmp(*g, group))
			return true;
	return false;
}

/* ---- files ------------------------------------------------------------- */

/* The whole of @path, NUL-terminated, in *@out. */
static int read_file(const char *flag, const char *path, char **out,
		     char *err, size_t len)
{
	struct skiff_buf b = { 0 };
	int ret;

	ret = skiff_buf_read_file(&b, path, AUTH_MAX_FILE);
	if (ret) {
		snprintf(err, len, "%s %s: %s", flag, path, strerror(-ret));
		free(b.data);
		return ret;
	}
	*out = b.data;
	return 0;
}

static gnutls_datum_t datum(const char *text)
{
	return (gnutls_datum_t){ .data = (unsigned char *)text,
				 .size = (unsigned int)strlen(text) };
}

/* The PEM certificates of @pem: at least one, each parsing. */
static int check_certs(const char *flag, const char *path, const char *pem,
		       char *err, size_t len)
{
	gnutls_datum_t d = datum(pem);
	gnutls_x509_crt_t *certs = NULL;
	unsigned int n = 0, i;
	int rc;

	rc = gnutls_x509_crt_list_import2(&certs, &n, &d, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || !n) {
		snprintf(err, len, "%s %s: no PEM certificate in it (%s)", flag, path,
			 rc < 0 ? gnutls_strerror(rc) : "empty");
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(certs[i]);
	gnutls_free(certs);
	return 0;
}

/*
 * A certificate and its key: both parse and the key is the certificate's.
 * Reads both files into *@cert_pem and *@key_pem.
 */
static int load_pair(const char *cert_flag, const char *cert_path,
		     const char *key_flag, const char *key_path,
		     char **cert_pem, char **key_pem, char *err, size_t len)
{
	gnutls_certificate_credentials_t cred;
	gnutls_x509_privkey_t key;
	gnutls_datum_t c, k;
	int ret, rc;

	ret = read_file(cert_flag, cert_path, cert_pem, err, len);
	if (ret)
		return ret;
	ret = read_file(key_flag, key_path, key_pem, err, len);
	if (ret)
		goto free_cert;
	ret = check_certs(cert_flag, cert_path, *cert_pem, err, len);
	if (ret)
		goto free_key;
	c = datum(*cert_pem);
	k = datum(*key_pem);
	ret = -EINVAL;
	if (gnutls_x509_privkey_init(&key) < 0)
		goto free_key;
	rc = gnutls_x509_privkey_import2(key, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_x509_privkey_deinit(key);
	if (rc < 0) {
		snprintf(err, len, "%s %s: not a PEM private key (%s)", key_flag, key_path,
			 gnutls_strerror(rc));
		goto free_key;
	}
	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		goto free_key;
	rc = gnutls_certificate_set_x509_key_mem(cred, &c, &k, GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(cred);
	if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
		snprintf(err, len, "%s %s does not match the certificate of %s %s", key_flag,
			 key_path, cert_flag, cert_path);
		goto free_key;
	}
	if (rc < 0) {
		snprintf(err, len, "%s %s, %s %s: %s", cert_flag, cert_path, key_flag, key_path,
			 gnutls_strerror(rc));
		goto free_key;
	}
	return 0;
free_key:
	free(*key_pem);
	*key_pem = NULL;
free_cert:
	free(*cert_pem);
	*cert_pem = NULL;
	return ret;
}

/* ---- the token file ---------------------------------------------------- */

/*
 * One CSV field (RFC 4180, as Go's encoding/csv reads it) from *@at into
 * @out (@out_len bytes); *@at moves past it and its comma. -EINVAL with
 * @why on a quote out of place.
 */
static int csv_field(const char **at, char *out, size_t out_len, const char **why)
{
	const char *p = *at;
	size_t n = 0;

	if (*p == '"') {
		for (p++;; p++) {
			if (!*p) {
				*why = "extraneous or missing \" in quoted-field";
				return -EINVAL;
			}
			if (*p == '"' && p[1] == '"') {
				p++;
			} else if (*p == '"') {
				p++;
				break;
			}
			if (n + 1 == out_len)
				goto too_long;
			out[n++] = *p;
		}
		if (*p && *p != ',') {
			*why = "extraneous or missing \" in quoted-field";
			return -EINVAL;
		}
	} else {
		for (; *p && *p != ','; p++) {
			if (*p == '"') {
				*why = "bare \" in non-quoted-field";
				return -EINVAL;
			}
			if (n + 1 == out_len)
				goto too_long;
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	*at = *p ? p + 1 : p;
	return *p ? 1 : 0;	/* 1: another field follows */
too_long:
	*why = "a field longer than " TOKEN_FIELD_MAX_TEXT " bytes";
	return -EINVAL;
}

static int token_cmp(const void *a, const void *b)
{
	return memcmp(((const struct token *)a)->digest,
		      ((const struct token *)b)->digest, SHA256_LEN);
}

/* token,user,uid[,"group1,group2"] into @t. */
static int parse_token_line(const char *path, unsigned int lineno, const char *line,
			    struct token *t, char *err, size_t len)
{
	char fields[4][TOKEN_FIELD_MAX + 1], extra[TOKEN_FIELD_MAX + 1];
	const char *at = line, *why = NULL, *g, *comma;
	size_t count = 0;
	int more = 1;

	while (more > 0) {
		more = csv_field(&at, count < 4 ? fields[count] : extra, sizeof(extra), &why);
		if (more < 0) {
			snprintf(err, len, "%s: line %u: %s", path, lineno, why);
			return -EINVAL;
		}
		count++;
	}
	if (count < 3) {
		snprintf(err, len, TOKEN_COLUMNS, path, lineno, count);
		return -EINVAL;
	}
	if (!fields[0][0] || !fields[1][0]) {
		snprintf(err, len, "%s: line %u: empty %s", path, lineno,
			 fields[0][0] ? "user name" : "token");
		return -EINVAL;
	}
	gnutls_hash_fast(GNUTLS_DIG_SHA256, fields[0], strlen(fields[0]), t->digest);
	t->line = lineno;
	t->user.name = strdup(fields[1]);
	t->user.uid = strdup(fields[2]);
	if (!t->user.name || !t->user.uid)
		return -ENOMEM;
	for (g = count > 3 ? fields[3] : ""; *g; g = *comma ? comma + 1 : comma) {
		comma = strchrnul(g, ',');
		if (comma > g && user_add_group(&t->user, g, comma - g))
			return -ENOMEM;
	}
	return user_add_group(&t->user, GROUP_AUTHENTICATED, strlen(GROUP_AUTHENTICATED));
}

static int load_tokens(struct auth *a, const char *path, char *err, size_t len)
{
	char *text, *line, *save, *end;
	unsigned int lineno = 0;
	struct token *grown;
	size_t i;
	int ret;

	ret = read_file("--token-auth-file", path, &text, err, len);
	if (ret)
		return ret;
	for (line = text; line; line = save) {
		end = strchr(line, '\n');
		save = end ? end + 1 : NULL;
		if (end)
			*end = '\0';
		lineno++;
		if (end > line && end[-1] == '\r')
			end[-1] = '\0';
		if (!*line)
			continue;	/* encoding/csv skips empty lines */
		grown = realloc(a->tokens, (a->token_count + 1) * sizeof(*grown));
		if (!grown) {
			ret = -ENOMEM;
			break;
		}
		a->tokens = grown;
		memset(&grown[a->token_count], 0, sizeof(*grown));
		a->token_count++;
		ret = parse_token_line(path, lineno, line, &grown[a->token_count - 1], err, len);
		if (ret)
			break;
	}
	free(text);
	if (ret == -ENOMEM)
		snprintf(err, len, "--token-auth-file %s: %s", path, strerror(ENOMEM));
	if (ret)
		return ret;
	qsort(a->tokens, a->token_count, sizeof(*a->tokens), token_cmp);
	for (i = 1; i < a->token_count; i++) {
		unsigned int one = a->tokens[i - 1].line, other = a->tokens[i].line;

		if (!token_cmp(&a->tokens[i - 1], &a->tokens[i])) {
			snprintf(err, len, "%s: line %u: the token of line %u again", path,
				 one > other ? one : other, one > other ? other : one);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- set-up ------------------------------------------------------------ */

void auth_free(struct auth *a)
{
	size_t i;

	if (!a)
		return;
	free(a->cert_pem);
	free(a->key_pem);
	free(a->ca_pem);
	for (i = 0; i < a->token_count; i++)
		user_free(&a->tokens[i].user);
	free(a->tokens);
	free(a);
}

/* The flags that only make sense together, or with TLS. */
static int check_flags(const struct auth_options *o, char *err, size_t len)
{
	if (!o->tls_cert_file != !o->tls_key_file) {
		snprintf(err, len, "--tls-cert-file and --tls-private-key-file go together");
		return -EINVAL;
	}
	if (!o->tls_cert_file && (o->client_ca_file || o->token_file)) {
		snprintf(err, len, "%s needs --tls-cert-file: plain HTTP authenticates no one",
			 o->client_ca_file ? "--client-ca-file" : "--token-auth-file");
		return -EINVAL;
	}
	if (!o->kubelet_cert != !o->kubelet_key) {
		snprintf(err, len,
			 "--kubelet-client-certificate and --kubelet-client-key go together");
		return -EINVAL;
	}
	return 0;
}

int auth_load(const struct auth_options *o, struct auth **out, char *err, size_t len)
{
	char *cert = NULL, *key = NULL;
	struct auth *a;
	int ret;

	ret = check_flags(o, err, len);
	if (ret)
		return ret;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->tls = o->tls_cert_file;
	if (a->tls) {
		ret = load_pair("--tls-cert-file", o->tls_cert_file, "--tls-private-key-file",
				o->tls_key_file, &a->cert_pem, &a->key_pem, err, len);
		if (ret)
			goto free_auth;
	}
	if (o->client_ca_file) {
		ret = read_file("--client-ca-file", o->client_ca_file, &a->ca_pem, err, len);
		if (!ret)
			ret = check_certs("--client-ca-file", o->client_ca_file, a->ca_pem, err,
					  len);
		if (ret)
			goto free_auth;
	}
	if (o->token_file) {
		ret = load_tokens(a, o->token_file, err, len);
		if (ret)
			goto free_auth;
	}
	/* The log proxy's files: checked now, read by libcurl when used. */
	if (o->kubelet_cert) {
		ret = load_pair("--kubelet-client-certificate", o->kubelet_cert,
				"--kubelet-client-key", o->kubelet_key, &cert, &key, err, len);
		free(cert);
		free(key);
		if (ret)
			goto free_auth;
	}
	if (o->kubelet_ca) {
		ret = read_file("--kubelet-certificate-authority", o->kubelet_ca, &cert, err,
				len);
		if (!ret)
			ret = check_certs("--kubelet-certificate-authority", o->kubelet_ca, cert,
					  err, len);
		free(cert);
		if (ret)
			goto free_auth;
	}
	*out = a;
	return 0;
free_auth:
	auth_free(a);
	return ret;
}

bool auth_tls(const struct auth *a)
{
	return a && a->tls;
}

unsigned int auth_mhd_options(const struct auth *a, struct MHD_OptionItem *items)
{
	unsigned int n = 0;

	if (auth_tls(a)) {
		items[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, a->cert_pem };
		items[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, a->key_pem };
		items[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
						      SKIFF_TLS_PRIORITIES };
		/* A trust list makes libmicrohttpd ask for (not require) a certificate. */
		if (a->ca_pem)
			items[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0,
							      a->ca_pem };
	}
	items[n] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	return auth_tls(a) ? MHD_USE_TLS : 0;
}

/* ---- authentication ---------------------------------------------------- */

void auth_connection_notify(void *cls, struct MHD_Connection *conn,
			    void **socket_context,
			    enum MHD_ConnectionNotificationCode code)
{
	struct conn_auth *c = *socket_context;

	(void)conn;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = auth_tls(cls) ? calloc(1, sizeof(*c)) : NULL;
		return;
	}
	if (c) {
		user_free(&c->user);
		free(c);
		*socket_context = NULL;
	}
}

/* The certificate's subject into @arg, a struct auth_user (CN: the name). */
static int subject_into_user(const char *value, size_t len, bool is_cn, void *arg)
{
	struct auth_user *u = arg;

	if (!is_cn)
		return user_add_group(u, value, len);
	u->name = strndup(value, len);
	u->uid = strdup("");
	return u->name && u->uid ? 0 : -ENOMEM;
}

/* The client certificate of the TLS session (tls_peer.h), as a user. */
static enum cert_state check_certificate(gnutls_session_t session, struct auth_user *u)
{
	switch (skiff_tls_peer(session, subject_into_user, u)) {
	case SKIFF_TLS_PEER_NONE:
		return CERT_NONE;
	case SKIFF_TLS_PEER_VALID:
		if (!user_add_group(u, GROUP_AUTHENTICATED, strlen(GROUP_AUTHENTICATED)))
			return CERT_VALID;
		break;
	case SKIFF_TLS_PEER_INVALID:
		break;
	}
	user_free(u);
	return CERT_INVALID;
}

/* The connection's certificate identity, verified on its first request. */
static struct conn_auth *connection_identity(struct api_request *req)
{
	const union MHD_ConnectionInfo *info;
	struct conn_auth *c;

	info = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	c = info ? info->socket_context : NULL;
	if (!c || c->state != CERT_UNCHECKED)
		return c;
	info = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	c->state = info && info->tls_session ?
		   check_certificate(info->tls_session, &c->user) : CERT_NONE;
	return c;
}

static const struct token *find_token(const struct auth *a, const char *token)
{
	struct token key;

	gnutls_hash_fast(GNUTLS_DIG_SHA256, token, strlen(token), key.digest);
	return bsearch(&key, a->tokens, a->token_count, sizeof(key), token_cmp);
}

/* "Bearer TOKEN" (the scheme in any case, as Kubernetes reads it). */
static const char *bearer_token(struct api_request *req)
{
	const char *h = api_header(req, MHD_HTTP_HEADER_AUTHORIZATION);

	if (!h || strncasecmp(h, "Bearer ", 7))
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h ? h : NULL;
}

static bool health_path(const char *p)
{
	return !strcmp(p, "/healthz") || !strcmp(p, "/livez") || !strcmp(p, "/readyz");
}

/*
 * Who sent @req: NULL when it does not authenticate (401). A certificate
 * or token that does not verify ends in 401 unless the other one
 * authenticates (kube's union of authenticators, failing on error); no
 * credentials at all is the anonymous user, for the health checks only.
 */
static const struct auth_user *authenticate(struct api_request *req)
{
	const struct auth *a = req->server->auth;
	struct conn_auth *c;
	const struct token *t;
	const char *token;

	if (!auth_tls(a))
		return &unsecured;
	c = connection_identity(req);
	if (c && c->state == CERT_VALID)
		return &c->user;
	token = bearer_token(req);
	if (token) {
		t = find_token(a, token);
		return t ? &t->user : NULL;
	}
	if (c && c->state == CERT_INVALID)
		return NULL;
	return health_path(req->path) ? &anonymous : NULL;
}

/* ---- the request's attributes (Kubernetes' RequestInfo) ---------------- */

enum {
	V_GET = 1 << 0,
	V_LIST = 1 << 1,
	V_WATCH = 1 << 2,
	V_CREATE = 1 << 3,
	V_UPDATE = 1 << 4,
	V_PATCH = 1 << 5,
	V_DELETE = 1 << 6,
	V_DELETECOLLECTION = 1 << 7,
	V_OTHER = 1 << 8,
	V_READ = V_GET | V_LIST | V_WATCH,
};

/**
 * struct attrs - what a request asks, as an authorizer sees it
 * @resource_request: a resource path (else a path such as /version)
 * @verb: V_*, and its name for messages in @verb_name
 * @group: the API group ("" for the core group)
 * @resource: the resource ("pods"), @subresource ("status") or ""
 * @ns: the namespace, or ""
 * @name: the object's name: from the path, or for a list or a watch from a
 *	fieldSelector metadata.name=NAME; or ""
 */
struct attrs {
	bool resource_request;
	unsigned int verb;
	char verb_name[32];
	const char *group;
	const char *resource;
	const char *subresource;
	const char *ns;
	const char *name;
	char buf[1024];
	char selected[256];
};

static bool is_true(const char *v)
{
	return v && (!strcmp(v, "1") || !strcmp(v, "true"));
}

/*
 * The name a field selector requires exactly, when it is the selector's
 * only term: metadata.name=X or metadata.name==X, X plain (no escapes,
 * commas or operators), so that it selects what the list then returns.
 */
static bool selected_name(const char *sel, char *out, size_t len)
{
	const char *v;

	if (!sel || strncmp(sel, "metadata.name=", 14))
		return false;
	v = sel + 14;
	if (*v == '=')
		v++;
	if (!*v || strpbrk(v, "\\,=!") || strlen(v) >= len)
		return false;
	strcpy(out, v);
	return true;
}

static void set_verb(struct attrs *a, unsigned int verb, const char *name)
{
	a->verb = verb;
	snprintf(a->verb_name, sizeof(a->verb_name), "%s", name);
}

static void method_verb(struct attrs *a, const char *method)
{
	static const struct {
		const char *method, *verb;
		unsigned int bit;
	} verbs[] = {
		{ "POST", "create", V_CREATE }, { "GET", "get", V_GET },
		{ "HEAD", "get", V_GET }, { "PUT", "update", V_UPDATE },
		{ "PATCH", "patch", V_PATCH }, { "DELETE", "delete", V_DELETE },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(verbs); i++) {
		if (!strcmp(method, verbs[i].method)) {
			set_verb(a, verbs[i].bit, verbs[i].verb);
			return;
		}
	}
	set_verb(a, V_OTHER, "");
}

/*
 * Kubernetes' RequestInfoFactory: /api/VERSION/... and
 * /apis/GROUP/VERSION/... with something after the version are resource
 * requests: [namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]]; all else is a
 * path. A GET without a name is a list or a watch, a DELETE a
 * deletecollection.
 */
static void parse_attrs(struct api_request *req, struct attrs *a)
{
	char *parts[8], *save, *tok;
	int n = 0, i = 0;

	memset(a, 0, sizeof(*a));
	a->group = "";
	a->resource = "";
	a->subresource = "";
	a->ns = "";
	a->name = "";
	if (strlen(req->path) >= sizeof(a->buf)) {
		/* Longer than any path a name allows: nothing to allow. */
		a->resource_request = true;
		set_verb(a, V_OTHER, "");
		return;
	}
	snprintf(a->buf, sizeof(a->buf), "%s", req->path);
	for (tok = strtok_r(a->buf, "/", &save); tok && n < 8; tok = strtok_r(NULL, "/", &save))
		parts[n++] = tok;
	if (n >= 3 && !strcmp(parts[0], "api")) {
		i = 2;
	} else if (n >= 4 && !strcmp(parts[0], "apis")) {
		a->group = parts[1];
		i = 3;
	} else {
		/* A path: its verb is the method's name, lowercase. */
		set_verb(a, V_OTHER, req->method);
		for (tok = a->verb_name; *tok; tok++)
			*tok = (char)(*tok >= 'A' && *tok <= 'Z' ? *tok + 32 : *tok);
		if (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"))
			a->verb = V_GET;
		return;
	}
	a->resource_request = true;
	method_verb(a, req->method);
	if (!strcmp(parts[i], "namespaces") && n - i > 1) {
		a->ns = parts[i + 1];
		if (n - i > 2 && strcmp(parts[i + 2], "status") && strcmp(parts[i + 2], "finalize"))
			i += 2;
	}
	a->resource = parts[i];
	if (n - i > 1)
		a->name = parts[i + 1];
	if (n - i > 2)
		a->subresource = parts[i + 2];
	if (!*a->name && a->verb == V_GET) {
		if (is_true(api_query(req, "watch")))
			set_verb(a, V_WATCH, "watch");
		else
			set_verb(a, V_LIST, "list");
		if (selected_name(api_query(req, "fieldSelector"), a->selected,
				  sizeof(a->selected)))
			a->name = a->selected;
	}
	if (!*a->name && a->verb == V_DELETE)
		set_verb(a, V_DELETECOLLECTION, "deletecollection");
}

/* ---- authorization ----------------------------------------------------- */

static bool is(const struct attrs *a, const char *group, const char *resource,
	       const char *subresource)
{
	return !strcmp(a->group, group) && !strcmp(a->resource, resource) &&
	       !strcmp(a->subresource, subresource);
}

/* The metadata.name of the request's body (a create), or NULL. */
static char *body_name(struct api_request *req)
{
	json_t *body, *name;
	char *out = NULL;

	if (!req->body || req->too_large)
		return NULL;
	body = json_loadb(req->body, req->body_len, 0, NULL);
	name = json_object_get(json_object_get(body, "metadata"), "name");
	if (json_is_string(name))
		out = strdup(json_string_value(name));
	json_decref(body);
	return out;
}

static bool body_named(struct api_request *req, const char *want)
{
	char *name = body_name(req);
	bool same = name && !strcmp(name, want);

	free(name);
	return same;
}

/* A node may create its own Node only (NodeRestriction's words if not). */
static bool node_creates_itself(struct api_request *req, const char *node, char *reason,
				size_t len)
{
	char *name = body_name(req);
	bool same = name && !strcmp(name, node);

	if (!same)
		snprintf(reason, len, "node \"%s\" is not allowed to modify node \"%s\"", node,
			 name ?: "");
	free(name);
	return same;
}

static json_t *load_pod(struct api_request *req, const char *ns, const char *name, int *err)
{
	const struct api_resource *res = api_resource_find("", "v1", "pods");
	char *key = object_key(res, ns, name);
	struct skiff_kv kv;
	json_t *pod;

	*err = key ? skiff_store_get(req->server->store, key, &kv) : -ENOMEM;
	free(key);
	if (*err)
		return NULL;
	pod = object_decode(kv.value, kv.value_len, kv.mod_rev);
	skiff_kv_free(&kv);
	*err = pod ? 0 : -EIO;
	return pod;
}

static bool bound_to(const json_t *pod, const char *node)
{
	const char *on = json_string_value(json_object_get(json_object_get(pod, "spec"),
							   "nodeName"));

	return on && !strcmp(on, node);
}

/*
 * May @node change the pod of @a (its status, or delete it)? Only when the
 * pod is bound to it (NodeRestriction). A pod that does not exist is left
 * to the handler's 404, as Kubernetes answers: a node may read every pod.
 */
static bool pod_of_node(struct api_request *req, const struct attrs *a, const char *node)
{
	json_t *pod;
	bool ok;
	int err;

	pod = load_pod(req, a->ns, a->name, &err);
	if (err == -ENOENT)
		return true;
	ok = pod && bound_to(pod, node);
	json_decref(pod);
	return ok;
}

static bool named(const json_t *obj, const char *field, const char *name)
{
	const char *v = json_string_value(json_object_get(obj, field));

	return v && !strcmp(v, name);
}

/* Does a container's env or envFrom name the object? */
static bool container_refers(const json_t *c, bool secret, const char *name)
{
	const char *key_ref = secret ? "secretKeyRef" : "configMapKeyRef";
	const char *from_ref = secret ? "secretRef" : "configMapRef";
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(c, "env"), i, e) {
		if (named(json_object_get(json_object_get(e, "valueFrom"), key_ref), "name",
			  name))
			return true;
	}
	json_array_foreach(json_object_get(c, "envFrom"), i, e) {
		if (named(json_object_get(e, from_ref), "name", name))
			return true;
	}
	return false;
}

/* Does a volume name the object, itself or among its projected sources? */
static bool volume_refers(const json_t *v, bool secret, const char *name)
{
	const json_t *sources = json_object_get(json_object_get(v, "projected"), "sources");
	const json_t *s;
	size_t i;

	if (secret ? named(json_object_get(v, "secret"), "secretName", name) :
		     named(json_object_get(v, "configMap"), "name", name))
		return true;
	json_array_foreach(sources, i, s) {
		if (named(json_object_get(s, secret ? "secret" : "configMap"), "name", name))
			return true;
	}
	return false;
}

/* Does @pod use the secret (or configmap) @name, as the node authorizer's graph has it? */
static bool pod_refers(const json_t *pod, bool secret, const char *name)
{
	static const char *const lists[] = { "initContainers", "containers",
					     "ephemeralContainers" };
	const json_t *spec = json_object_get(pod, "spec"), *x;
	unsigned int l;
	size_t i;

	json_array_foreach(json_object_get(spec, "volumes"), i, x) {
		if (volume_refers(x, secret, name))
			return true;
	}
	for (l = 0; l < ARRAY_SIZE(lists); l++) {
		json_array_foreach(json_object_get(spec, lists[l]), i, x) {
			if (container_refers(x, secret, name))
				return true;
		}
	}
	if (secret) {
		json_array_foreach(json_object_get(spec, "imagePullSecrets"), i, x) {
			if (named(x, "name", name))
				return true;
		}
	}
	return false;
}

/*
 * Is the secret or configmap of @a used by a pod bound to @node? A secret
 * is only ever used by pods of its own namespace, so this reads that
 * namespace's pods: O(pods in the namespace) decodes per request, the one
 * check here that is not O(1). Kubernetes' node authorizer keeps a graph
 * for it; kubelets read each object once per watch, so this costs little
 * in practice.
 */
static bool referenced_by_node(struct api_request *req, const struct attrs *a,
			       const char *node)
{
	const struct api_resource *pods = api_resource_find("", "v1", "pods");
	struct skiff_store_range range = { 0 };
	bool secret = !strcmp(a->resource, "secrets"), found = false, more;
	struct skiff_kv_list page;
	char *prefix, *after = NULL;
	int64_t rev;
	size_t i;

	prefix = object_prefix(pods, a->ns);
	range.prefix = prefix;
	range.limit = 500;
	do {
		range.after = after;
		if (!prefix || skiff_store_list(req->server->store, &range, &page, &rev, &more))
			break;
		range.rev = rev;
		for (i = 0; i < page.count && !found; i++) {
			json_t *pod = object_decode(page.items[i].value, page.items[i].value_len,
						    page.items[i].mod_rev);

			found = pod && bound_to(pod, node) && pod_refers(pod, secret, a->name);
			json_decref(pod);
		}
		free(after);
		after = page.count ? strdup(page.items[page.count - 1].key) : NULL;
		skiff_kv_list_free(&page);
	} while (!found && more && after);
	free(after);
	free(prefix);
	return found;
}

/*
 * The Node authorizer with NodeRestriction, for system:node:@node: read
 * what a kubelet needs, write its own Node, its Lease and the pods bound
 * to it. @reason gets the node authorizer's words when it has some.
 */
static bool policy_node(struct api_request *req, const struct attrs *a, const char *node,
			char *reason, size_t len)
{
	static const char *const readable[] = {
		"nodes", "pods", "services", "endpoints", "namespaces",
	};
	bool status = !strcmp(a->subresource, "status");
	unsigned int i;

	if (is(a, "", "secrets", "") || is(a, "", "configmaps", "")) {
		if ((a->verb & V_READ) && *a->ns && *a->name &&
		    referenced_by_node(req, a, node))
			return true;
		snprintf(reason, len, NO_RELATIONSHIP, node);
		return false;
	}
	for (i = 0; i < ARRAY_SIZE(readable); i++) {
		if ((a->verb & V_READ) && !a->group[0] && !strcmp(a->resource, readable[i]) &&
		    (!a->subresource[0] || status))
			return true;
	}
	if (is(a, COORDINATION, "leases", "") && !strcmp(a->ns, NODE_LEASE_NS)) {
		if (a->verb & V_READ)
			return true;
		if (a->verb == V_CREATE)
			return body_named(req, node);
		return (a->verb & (V_UPDATE | V_PATCH | V_DELETE)) && !strcmp(a->name, node);
	}
	if (!a->group[0] && !strcmp(a->resource, "nodes") && (!a->subresource[0] || status)) {
		if (a->verb == V_CREATE && !status)
			return node_creates_itself(req, node, reason, len);
		return (a->verb & (V_UPDATE | V_PATCH)) && !strcmp(a->name, node);
	}
	if (is(a, "", "pods", "status") && (a->verb & (V_UPDATE | V_PATCH)))
		return pod_of_node(req, a, node);
	if (is(a, "", "pods", "") && a->verb == V_DELETE)
		return pod_of_node(req, a, node);
	return is(a, "", "events", "") && (a->verb & (V_CREATE | V_PATCH));
}

/* The bootstrap role system:kube-scheduler (and its lease in kube-system). */
static bool policy_scheduler(const struct attrs *a)
{
	if ((a->verb & V_READ) && !is(a, "", "secrets", "") &&
	    (!a->subresource[0] || !strcmp(a->subresource, "status")))
		return true;
	if (is(a, "", "pods", "binding"))
		return a->verb == V_CREATE;
	if (is(a, "", "pods", "status"))
		return a->verb & (V_UPDATE | V_PATCH);
	/* Preemption deletes the pods it evicts. */
	if (is(a, "", "pods", ""))
		return a->verb == V_DELETE;
	if (is(a, "", "events", ""))
		return a->verb & (V_CREATE | V_UPDATE | V_PATCH);
	return is(a, COORDINATION, "leases", "") && !strcmp(a->ns, "kube-system") &&
	       (a->verb & (V_GET | V_CREATE | V_UPDATE));
}

/* system:discovery, system:public-info-viewer and system:monitoring. */
static bool policy_path(const struct auth_user *u, const struct attrs *a, const char *path)
{
	static const char *const exact[] = {
		"/api", "/apis", "/openapi", "/version", "/version/", "/healthz", "/livez",
		"/readyz",
	};
	static const char *const prefixes[] = { "/api/", "/apis/", "/openapi/" };
	bool authenticated = in_group(u, GROUP_AUTHENTICATED);
	unsigned int i;

	if (a->verb != V_GET)
		return false;
	if (health_path(path))
		return true;
	if (!strcmp(path, "/metrics"))
		return in_group(u, "system:monitoring");
	for (i = 0; authenticated && i < ARRAY_SIZE(exact); i++)
		if (!strcmp(path, exact[i]))
			return true;
	for (i = 0; authenticated && i < ARRAY_SIZE(prefixes); i++)
		if (!strncmp(path, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/* The node's name, for a member of system:nodes named system:node:NAME. */
static const char *node_name(const struct auth_user *u)
{
	if (!in_group(u, GROUP_NODES) || strncmp(u->name, USER_NODE_PREFIX,
						 strlen(USER_NODE_PREFIX)))
		return NULL;
	return u->name + strlen(USER_NODE_PREFIX);
}

static bool authorize(struct api_request *req, const struct auth_user *u,
		      const struct attrs *a, char *reason, size_t len)
{
	const char *node;

	/*
	 * Everything, nodes/proxy included: that one is admin-level (a node's
	 * whole kubelet API), which no other policy below grants.
	 */
	if (in_group(u, GROUP_MASTERS) || !strcmp(u->name, USER_CONTROLLER_MANAGER))
		return true;
	if (!a->resource_request)
		return policy_path(u, a, req->path);
	if (a->verb == V_OTHER)
		return false;
	if (!strcmp(u->name, USER_SCHEDULER))
		return policy_scheduler(a);
	node = node_name(u);
	if (node && *node)
		return policy_node(req, a, node, reason, len);
	return false;
}

/* ---- answers ----------------------------------------------------------- */

static enum MHD_Result reply_unauthorized(struct api_request *req)
{
	return api_reply_json(req, MHD_HTTP_UNAUTHORIZED,
			      json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}",
					"kind", "Status", "apiVersion", "v1", "metadata",
					"status", "Failure", "message", "Unauthorized",
					"reason", "Unauthorized", "code", MHD_HTTP_UNAUTHORIZED));
}

/*
 * 403 in kube-apiserver's words (responsewriters.Forbidden):
 * pods "x" is forbidden: User "u" cannot get resource "pods" in API group
 * "" in the namespace "default"[: reason].
 */
static enum MHD_Result reply_forbidden(struct api_request *req, const struct auth_user *u,
				       const struct attrs *a, const char *reason)
{
	char what[1536], qualified[320], msg[2048];
	json_t *details;

	if (!a->resource_request)
		snprintf(what, sizeof(what), "User \"%s\" cannot %s path \"%s\"", u->name,
			 a->verb_name, req->path);
	else
		snprintf(what, sizeof(what),
			 *a->ns ? FORBIDDEN_RESOURCE_NS : FORBIDDEN_RESOURCE_CLUSTER, u->name,
			 a->verb_name, a->resource, *a->subresource ? "/" : "", a->subresource,
			 a->group, a->ns);
	snprintf(qualified, sizeof(qualified), "%s%s%s", a->resource, *a->group ? "." : "",
		 a->group);
	details = json_object();
	if (!a->resource_request)
		snprintf(msg, sizeof(msg), "forbidden: %s", what);
	else if (*a->name)
		snprintf(msg, sizeof(msg), "%s \"%s\" is forbidden: %s", qualified, a->name,
			 what);
	else
		snprintf(msg, sizeof(msg), "%s is forbidden: %s", qualified, what);
	if (reason && *reason)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), ": %s", reason);
	if (a->resource_request && *a->name)
		json_object_set_new(details, "name", json_string(a->name));
	if (a->resource_request && *a->group)
		json_object_set_new(details, "group", json_string(a->group));
	if (a->resource_request)
		json_object_set_new(details, "kind", json_string(a->resource));
	return api_reply_json(req, MHD_HTTP_FORBIDDEN,
			      json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:o, s:i}",
					"kind", "Status", "apiVersion", "v1", "metadata",
					"status", "Failure", "message", msg, "reason",
					"Forbidden", "details", details, "code",
					MHD_HTTP_FORBIDDEN));
}

bool auth_request(struct api_request *req, enum MHD_Result *ret)
{
	const struct auth_user *u;
	char reason[256] = "";
	struct attrs a;

	u = authenticate(req);
	if (!u) {
		*ret = reply_unauthorized(req);
		return false;
	}
	req->user = u;
	if (u == &unsecured)
		return true;
	parse_attrs(req, &a);
	if (authorize(req, u, &a, reason, sizeof(reason)))
		return true;
	*ret = reply_forbidden(req, u, &a, reason);
	return false;
}
