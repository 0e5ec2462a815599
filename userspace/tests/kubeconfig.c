// SPDX-License-Identifier: GPL-2.0
/*
 * kubeconfig files (client/kubeconfig.c) and HTTPS with them, against
 * independent tools: certificates made by the openssl command (a CA, a
 * server certificate for 127.0.0.1, client certificates), an HTTPS server
 * of libmicrohttpd's that asks for a client certificate and reads its CN
 * through GnuTLS, and kubectl reading what skiff_kubeconfig_write wrote.
 *
 * Loading: files and -data, paths relative to the kubeconfig, the current
 * or a named context, token and tokenFile, JSON; every error the loader
 * has. Writing: what kubectl reads back, mode 0600, nothing left behind,
 * and a failed write changing nothing. Then real requests: a client made
 * from a kubeconfig is seen by its certificate's CN (through the loop, the
 * synchronous call and an informer's watch), a token is sent, a wrong CA
 * fails with libcurl's TLS words, and skiff-scheduler --kubeconfig talks
 * to the server as its own certificate says.
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "base64.h"
#include "free_port.h"
#include "informer.h"
#include "kubeconfig.h"
#include "tap.h"
#include "util.h"

#define DEADLINE_MS 15000
#define MAX_SEEN 512

static char dir[64];
static char server_url[64];
static char bin_dir[4096];

/* ---- files -------------------------------------------------------------- */

/* @name in the test's directory; a ring of buffers, enough for a test. */
static const char *at(const char *name)
{
	static char paths[32][4096];
	static int next;
	char *p = paths[next++ % 32];

	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	return p;
}

static void put(const char *name, const char *text)
{
	FILE *f = fopen(at(name), "w");

	if (!f || fputs(text, f) < 0 || fclose(f)) {
		printf("Bail out! cannot write %s\n", at(name));
		exit(1);
	}
}

static char *slurp(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define NEW_KEY "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
#define CA_CMD \
	"cd %s && openssl req -x509 -new " NEW_KEY " -keyout %s.key -out %s.crt" \
	" -days 2 -subj /CN=%s 2>/dev/null"
#define CERT_CMD \
	"cd %s && printf '%s' > %s.ext && openssl req -new " NEW_KEY \
	" -keyout %s.key -out %s.csr -subj '%s' 2>/dev/null && openssl x509 -req" \
	" -in %s.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out %s.crt" \
	" -extfile %s.ext 2>/dev/null"
#define SERVER_EXT \
	"subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n" \
	"basicConstraints=critical,CA:FALSE\\nkeyUsage=critical,digitalSignature\\n"
#define CLIENT_EXT \
	"extendedKeyUsage=clientAuth\\nbasicConstraints=critical,CA:FALSE\\n" \
	"keyUsage=critical,digitalSignature\\n"

static void cert(const char *name, const char *subject, const char *ext)
{
	if (sh(CERT_CMD, dir, ext, name, name, name, subject, name, name, name)) {
		printf("Bail out! openssl could not make %s\n", name);
		exit(1);
	}
}

/* The PKI, as skiffctl certs would make it, but by another tool. */
static void make_certs(void)
{
	if (sh(CA_CMD, dir, "ca", "ca", "skiff-test-ca") ||
	    sh(CA_CMD, dir, "other-ca", "other-ca", "another-ca")) {
		printf("Bail out! openssl could not make a CA\n");
		exit(1);
	}
	cert("server", "/CN=kube-apiserver", SERVER_EXT);
	cert("admin", "/O=system:masters/CN=test-user", CLIENT_EXT);
	cert("scheduler", "/CN=system:kube-scheduler", CLIENT_EXT);
	mkdir(at("pki"), 0700);
	sh("cd %s && cp ca.crt admin.crt admin.key pki/", dir);
}

/* ---- the HTTPS server --------------------------------------------------- */

struct seen {
	char path[256];
	char cn[128];
	char auth[256];
	bool watch;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct seen seen[MAX_SEEN];
static int n_seen;

/* The CN of the client's certificate, verified against the trusted CA. */
static void peer_cn(struct MHD_Connection *c, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *certs;
	unsigned int status, n = 0;
	gnutls_x509_crt_t crt;
	gnutls_session_t s;
	size_t len = size;

	out[0] = '\0';
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci)
		return;
	s = ci->tls_session;
	if (gnutls_certificate_verify_peers2(s, &status) || status)
		return;
	certs = gnutls_certificate_get_peers(s, &n);
	if (!certs || !n || gnutls_x509_crt_init(&crt))
		return;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) ||
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0,
					  out, &len))
		out[0] = '\0';
	gnutls_x509_crt_deinit(crt);
}

#define LIST_BODY \
	"{\"kind\": \"List\", \"apiVersion\": \"v1\", \"metadata\": {\"resourceVersion\": \"1\"}," \
	" \"items\": []}"
#define EVENT_BODY \
	"{\"type\": \"ADDED\", \"object\": {\"kind\": \"Pod\", \"apiVersion\": \"v1\"," \
	" \"metadata\": {\"name\": \"p\", \"namespace\": \"default\", \"resourceVersion\": \"2\"," \
	" \"uid\": \"u1\"}}}\n"

static enum MHD_Result serve(void *cls, struct MHD_Connection *c,
			     const char *url, const char *method,
			     const char *version, const char *upload,
			     size_t *upload_size, void **state)
{
	static int marker;
	const char *auth, *watch;
	struct MHD_Response *r;
	struct seen s = { 0 };
	enum MHD_Result ret;
	json_t *hello;
	char *body;

	(void)cls;
	(void)version;
	(void)upload;
	if (!*state) {
		*state = &marker;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	peer_cn(c, s.cn, sizeof(s.cn));
	auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	watch = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "watch");
	snprintf(s.path, sizeof(s.path), "%s %s", method, url);
	snprintf(s.auth, sizeof(s.auth), "%s", auth ?: "");
	s.watch = !!watch;
	pthread_mutex_lock(&lock);
	if (n_seen < MAX_SEEN)
		seen[n_seen++] = s;
	pthread_mutex_unlock(&lock);
	if (!strcmp(url, "/hello")) {
		hello = json_pack("{s:s, s:s}", "cn", s.cn, "auth", s.auth);
		body = json_dumps(hello, 0);
		json_decref(hello);
	} else {
		body = strdup(watch ? EVENT_BODY : LIST_BODY);
	}
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static struct MHD_Daemon *start_server(void)
{
	char *key = slurp(at("server.key")), *crt = slurp(at("server.crt"));
	char *ca = slurp(at("ca.crt"));
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct MHD_Daemon *d;
	int port = free_port();

	sa.sin_port = htons(port);
	d = MHD_start_daemon(MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD, port,
			     NULL, NULL, serve, NULL,
			     MHD_OPTION_SOCK_ADDR, &sa,
			     MHD_OPTION_HTTPS_MEM_KEY, key,
			     MHD_OPTION_HTTPS_MEM_CERT, crt,
			     MHD_OPTION_HTTPS_MEM_TRUST, ca,
			     MHD_OPTION_END);
	if (!d) {
		printf("Bail out! the HTTPS server did not start\n");
		exit(1);
	}
	snprintf(server_url, sizeof(server_url), "https://127.0.0.1:%d", port);
	free(key);
	free(crt);
	free(ca);
	return d;
}

static void forget_seen(void)
{
	pthread_mutex_lock(&lock);
	n_seen = 0;
	pthread_mutex_unlock(&lock);
}

/* Was a request (a watch when @watch) seen from @cn? */
static bool seen_from(const char *cn, bool watch)
{
	bool found = false;
	int i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < n_seen && !found; i++)
		found = !strcmp(seen[i].cn, cn) && (!watch || seen[i].watch);
	pthread_mutex_unlock(&lock);
	return found;
}

/* ---- loading ------------------------------------------------------------ */

#define FILES_KUBECONFIG \
	"apiVersion: v1\n" \
	"kind: Config\n" \
	"clusters:\n" \
	"- name: local\n" \
	"  cluster:\n" \
	"    server: %s/\n" \
	"    certificate-authority: pki/ca.crt\n" \
	"- name: other\n" \
	"  cluster:\n" \
	"    server: http://127.0.0.1:8080\n" \
	"    insecure-skip-tls-verify: true\n" \
	"contexts:\n" \
	"- name: admin@local\n" \
	"  context: {cluster: local, user: admin, namespace: kube-system}\n" \
	"- name: robot@other\n" \
	"  context: {cluster: other, user: robot}\n" \
	"- name: anonymous\n" \
	"  context: {cluster: local}\n" \
	"current-context: admin@local\n" \
	"users:\n" \
	"- name: admin\n" \
	"  user:\n" \
	"    client-certificate: pki/admin.crt\n" \
	"    client-key: %s/pki/admin.key\n" \
	"- name: robot\n" \
	"  user:\n" \
	"    tokenFile: robot.token\n"

static void test_load_files(void)
{
	struct skiff_kubeconfig kc;
	struct skiff_error e;
	char text[4096];
	int err;

	snprintf(text, sizeof(text), FILES_KUBECONFIG, server_url, dir);
	mkdir(at("conf"), 0700);
	sh("cd %s && mv pki conf/ && ln -s conf/pki pki", dir);
	put("conf/config", text);
	put("conf/robot.token", "  s3cret-token\n\n");

	err = skiff_kubeconfig_load(&kc, at("conf/config"), NULL, &e);
	if (err)
		tap_diag("%s", e.msg);
	tap_ok(!err && !strcmp(kc.context, "admin@local") && !strcmp(kc.cluster, "local") &&
	       !strcmp(kc.user, "admin") && !strcmp(kc.namespace, "kube-system"),
	       "current-context picks the context, its cluster and user");
	tap_is_str(err ? NULL : kc.server, server_url, "server, without the trailing /");
	tap_is_str(err ? NULL : kc.ca_file, at("conf/pki/ca.crt"),
		   "a relative certificate-authority is relative to the kubeconfig");
	tap_ok(!err && !strcmp(kc.cert_file, at("conf/pki/admin.crt")) &&
	       !strcmp(kc.key_file, at("pki/admin.key")) && !kc.token && !kc.insecure,
	       "client certificate (relative) and key (absolute)");
	if (!err)
		skiff_kubeconfig_release(&kc);

	err = skiff_kubeconfig_load(&kc, at("conf/config"), "robot@other", &e);
	if (err)
		tap_diag("%s", e.msg);
	tap_ok(!err && !strcmp(kc.server, "http://127.0.0.1:8080") && kc.insecure &&
	       !kc.ca_file && !kc.cert_file && kc.token && !strcmp(kc.token, "s3cret-token") &&
	       !kc.namespace,
	       "a named context; tokenFile read relative to the kubeconfig and trimmed");
	if (!err)
		skiff_kubeconfig_release(&kc);

	err = skiff_kubeconfig_load(&kc, at("conf/config"), "anonymous", &e);
	tap_ok(!err && !kc.user && !kc.cert_file && !kc.token,
	       "a context without a user has no credentials");
	if (!err)
		skiff_kubeconfig_release(&kc);
}

#define DATA_KUBECONFIG \
	"{\"apiVersion\": \"v1\", \"kind\": \"Config\", \"current-context\": \"c\"," \
	" \"clusters\": [{\"name\": \"k\", \"cluster\": {\"server\": \"%s\"," \
	" \"certificate-authority\": \"/nonexistent/ignored.crt\"," \
	" \"certificate-authority-data\": \"%s\"}}]," \
	" \"contexts\": [{\"name\": \"c\", \"context\": {\"cluster\": \"k\", \"user\": \"u\"}}]," \
	" \"users\": [{\"name\": \"u\", \"user\": {\"client-certificate-data\": \"%s\"," \
	" \"client-key-data\": \"%s\", \"token\": \"tok\", \"tokenFile\": \"/nonexistent\"}}]}\n"

static char *b64_file(const char *name)
{
	char *pem = slurp(at(name)), *out;
	json_t *j = skiff_base64_json(pem, strlen(pem));

	out = strdup(json_string_value(j));
	json_decref(j);
	free(pem);
	return out;
}

static bool same_file(const char *a, const char *b)
{
	char *x = slurp(a), *y = slurp(b);
	bool same = x && y && !strcmp(x, y);

	free(x);
	free(y);
	return same;
}

static void test_load_data(void)
{
	char *ca = b64_file("ca.crt"), *crt = b64_file("admin.crt"), *key = b64_file("admin.key");
	struct skiff_kubeconfig kc, copy;
	struct stat st;
	char text[8192], fd_path[64];
	struct skiff_error e;
	int err;

	snprintf(text, sizeof(text), DATA_KUBECONFIG, server_url, ca, crt, key);
	put("data.json", text);
	err = skiff_kubeconfig_load(&kc, at("data.json"), NULL, &e);
	if (err)
		tap_diag("%s", e.msg);
	tap_ok(!err && !strncmp(kc.ca_file, "/proc/self/fd/", 14) &&
	       same_file(kc.ca_file, at("ca.crt")) && same_file(kc.cert_file, at("admin.crt")) &&
	       same_file(kc.key_file, at("admin.key")),
	       "JSON; -data fields win over files and are readable at /proc/self/fd/N");
	tap_ok(!err && !strcmp(kc.token, "tok"), "token wins over tokenFile");
	if (!err) {
		tap_ok(!skiff_kubeconfig_copy(&copy, &kc) && strcmp(copy.ca_file, kc.ca_file) &&
		       same_file(copy.ca_file, at("ca.crt")),
		       "a copy has memfds of its own");
		snprintf(fd_path, sizeof(fd_path), "%s", kc.key_file);
		skiff_kubeconfig_release(&kc);
		tap_ok(same_file(copy.key_file, at("admin.key")) && stat(fd_path, &st),
		       "the copy outlives the original, whose memfds are closed");
		skiff_kubeconfig_release(&copy);
	} else {
		tap_ok(false, "a copy has memfds of its own");
		tap_ok(false, "the copy outlives the original");
	}
	free(ca);
	free(crt);
	free(key);
}

#define K_HEAD "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
#define K_CTX "contexts:\n- name: c\n  context: {cluster: k, user: u}\n"
#define K_CLUSTER "clusters:\n- name: k\n  cluster: {server: 'https://127.0.0.1:1'}\n"
#define K_USER "users:\n- name: u\n  user: {token: t}\n"
#define INSECURE_CA \
	"clusters:\n- name: k\n  cluster:\n    server: 'https://x'\n" \
	"    insecure-skip-tls-verify: true\n    certificate-authority: ca.crt\n"

/* A kubeconfig that must be refused, and what the message must say. */
static const struct {
	const char *name;
	const char *text;	/* NULL: no file at all */
	const char *context;
	const char *msg;
} bad[] = {
	{ "missing", NULL, NULL, "No such file or directory" },
	{ "syntax", "clusters:\n- name: k\n  cluster: [\n", NULL, "line 4, column 1: " },
	{ "json", "{\"clusters\": [}\n", NULL, "line 1, column 15: " },
	{ "list", "- a\n- b\n", NULL, "not a kubeconfig (want a mapping)" },
	{ "clusters", K_HEAD K_CTX "clusters: {k: 1}\n" K_USER, NULL, "clusters: want a list" },
	{ "no-current", "apiVersion: v1\n" K_CTX K_CLUSTER K_USER, NULL,
	  "no current-context set; name a context" },
	{ "no-context", K_HEAD K_CTX K_CLUSTER K_USER, "nope",
	  "context was not found for specified context: nope" },
	{ "ctx-cluster", K_HEAD "contexts:\n- name: c\n  context: {user: u}\n" K_CLUSTER K_USER,
	  NULL, "context \"c\" names no cluster" },
	{ "no-cluster", K_HEAD K_CTX "clusters: []\n" K_USER, NULL,
	  "cluster \"k\" was not found for context \"c\"" },
	{ "no-user", K_HEAD K_CTX K_CLUSTER "users:\n- name: someone-else\n", NULL,
	  "user \"u\" was not found for context \"c\"" },
	{ "no-server", K_HEAD K_CTX "clusters:\n- name: k\n  cluster: {}\n" K_USER, NULL,
	  "no server found for cluster \"k\"" },
	{ "ftp", K_HEAD K_CTX "clusters:\n- name: k\n  cluster: {server: 'ftp://x'}\n" K_USER,
	  NULL, "server \"ftp://x\" of cluster \"k\": want an http:// or https:// URL" },
	{ "no-scheme", K_HEAD K_CTX "clusters:\n- name: k\n  cluster: {server: '127.0.0.1:6443'}\n"
	  K_USER, NULL, "want an http:// or https:// URL" },
	{ "server-type", K_HEAD K_CTX "clusters:\n- name: k\n  cluster: {server: 5}\n" K_USER,
	  NULL, "cluster \"k\": server: want a string" },
	{ "insecure-type", K_HEAD K_CTX
	  "clusters:\n- name: k\n  cluster: {server: 'https://x', insecure-skip-tls-verify: yes}\n"
	  K_USER, NULL, "insecure-skip-tls-verify: want true or false" },
	{ "insecure-ca", K_HEAD K_CTX INSECURE_CA K_USER, NULL,
	  "specifying a root certificates file with the insecure flag is not allowed" },
	{ "ca-missing", K_HEAD K_CTX
	  "clusters:\n- name: k\n  cluster: {server: 'https://x', certificate-authority: nope.crt}\n"
	  K_USER, NULL, "unable to read certificate-authority " },
	{ "ca-base64", K_HEAD K_CTX
	  "clusters:\n- name: k\n  cluster: {server: 'https://x', certificate-authority-data: '%%%'}\n"
	  K_USER, NULL, "certificate-authority-data of cluster \"k\": illegal base64 data" },
	{ "cert-no-key", K_HEAD K_CTX K_CLUSTER
	  "users:\n- name: u\n  user: {client-certificate: admin.crt}\n", NULL,
	  "client-key-data or client-key must be specified for \"u\"" },
	{ "key-no-cert", K_HEAD K_CTX K_CLUSTER
	  "users:\n- name: u\n  user: {client-key: admin.key}\n", NULL,
	  "client-cert-data or client-cert must be specified for \"u\"" },
	{ "cert-missing", K_HEAD K_CTX K_CLUSTER
	  "users:\n- name: u\n  user: {client-certificate: gone.crt, client-key: admin.key}\n",
	  NULL, "unable to read client-certificate " },
	{ "key-base64", K_HEAD K_CTX K_CLUSTER
	  "users:\n- name: u\n  user: {client-certificate: admin.crt, client-key-data: 'not base64!'}\n",
	  NULL, "client-key-data of user \"u\": illegal base64 data" },
	{ "token-missing", K_HEAD K_CTX K_CLUSTER "users:\n- name: u\n  user: {tokenFile: gone}\n",
	  NULL, "unable to read tokenFile " },
	{ "token-empty", K_HEAD K_CTX K_CLUSTER "users:\n- name: u\n  user: {tokenFile: empty}\n",
	  NULL, "empty" },
	{ "exec", K_HEAD K_CTX K_CLUSTER
	  "users:\n- name: u\n  user:\n    exec: {command: aws}\n", NULL,
	  "user \"u\": exec is not supported" },
};

static void test_load_errors(void)
{
	struct skiff_kubeconfig kc;
	struct skiff_error e;
	char name[64];
	size_t i;
	int err;

	put("empty", "\n\t\n");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(name, sizeof(name), "bad-%s", bad[i].name);
		if (bad[i].text)
			put(name, bad[i].text);
		err = skiff_kubeconfig_load(&kc, at(name), bad[i].context, &e);
		tap_ok(err < 0 && strstr(e.msg, bad[i].msg) &&
		       !strncmp(e.msg, at(name), strlen(at(name))),
		       "%s refused: %s", bad[i].name, bad[i].msg);
		if (!err) {
			skiff_kubeconfig_release(&kc);
			tap_diag("loaded");
		} else if (!strstr(e.msg, bad[i].msg)) {
			tap_diag("got: %s", e.msg);
		}
	}
}

/* ---- writing ------------------------------------------------------------ */

#define KUBECTL_VIEW "kubectl --kubeconfig %s config view --raw -o json 2>&1"

static json_t *kubectl_view(const char *path)
{
	char cmd[4096], out[65536];
	json_error_t jerr;
	size_t n = 0;
	json_t *j;
	FILE *p;

	snprintf(cmd, sizeof(cmd), KUBECTL_VIEW, path);
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	n = fread(out, 1, sizeof(out) - 1, p);
	pclose(p);
	out[n] = '\0';
	j = json_loads(out, 0, &jerr);
	if (!j)
		tap_diag("kubectl said: %.500s", out);
	return j;
}

static void test_write(void)
{
	const char *admin = at("admin.conf");
	struct skiff_kubeconfig kc;
	struct skiff_error e;
	char *ca64 = b64_file("ca.crt"), *before, *after, want[4200];
	json_t *view;
	struct stat st;
	int err, leftovers;

	err = skiff_kubeconfig_write(admin, "kubernetes", server_url, at("ca.crt"),
				     "kubernetes-admin", at("admin.crt"), at("admin.key"),
				     NULL, &e);
	if (err)
		tap_diag("%s", e.msg);
	tap_ok(!err && !stat(admin, &st) && (st.st_mode & 0777) == 0600,
	       "written with mode 0600");
	leftovers = sh("ls %s | grep -q tmp", dir);
	tap_ok(leftovers == 1, "no temporary file left behind");

	err = skiff_kubeconfig_load(&kc, admin, NULL, &e);
	tap_ok(!err && !strcmp(kc.server, server_url) &&
	       !strcmp(kc.context, "kubernetes-admin@kubernetes") &&
	       !strcmp(kc.user, "kubernetes-admin") && same_file(kc.ca_file, at("ca.crt")) &&
	       same_file(kc.cert_file, at("admin.crt")) && same_file(kc.key_file, at("admin.key")),
	       "what was written loads back: server, context user@cluster, embedded PEMs");
	if (!err)
		skiff_kubeconfig_release(&kc);

	view = kubectl_view(admin);
	tap_ok(view &&
	       !strcmp(json_string_value(json_object_get(view, "current-context")) ?: "",
		       "kubernetes-admin@kubernetes") &&
	       !strcmp(skiff_str(json_array_get(json_object_get(view, "clusters"), 0),
				 "cluster.server") ?: "", server_url) &&
	       !strcmp(skiff_str(json_array_get(json_object_get(view, "clusters"), 0),
				 "cluster.certificate-authority-data") ?: "", ca64) &&
	       !strcmp(skiff_str(json_array_get(json_object_get(view, "users"), 0), "name") ?: "",
		       "kubernetes-admin") &&
	       skiff_str(json_array_get(json_object_get(view, "users"), 0),
			 "user.client-key-data"),
	       "kubectl config view reads the same server, CA, user and context");
	json_decref(view);

	err = skiff_kubeconfig_write(at("token.conf"), "c", "http://127.0.0.1:8080/", NULL,
				     "robot", NULL, NULL, "abc.def", &e);
	view = err ? NULL : kubectl_view(at("token.conf"));
	tap_ok(view && !strcmp(skiff_str(json_array_get(json_object_get(view, "users"), 0),
					 "user.token") ?: "", "abc.def") &&
	       !skiff_str(json_array_get(json_object_get(view, "clusters"), 0),
			  "cluster.certificate-authority-data"),
	       "a token and no CA: kubectl reads the token");
	json_decref(view);

	/* Failed writes leave the old file as it was. */
	before = slurp(admin);
	err = skiff_kubeconfig_write(admin, "k", server_url, at("nope.crt"), "u",
				     NULL, NULL, NULL, &e);
	tap_ok(err == -ENOENT && strstr(e.msg, "nope.crt"),
	       "a missing CA file refused: %s", e.msg);
	err = skiff_kubeconfig_write(admin, "k", server_url, at("conf/robot.token"), "u",
				     NULL, NULL, NULL, &e);
	tap_ok(err == -EINVAL && strstr(e.msg, "not a PEM file"),
	       "a CA file that is not PEM refused: %s", e.msg);
	err = skiff_kubeconfig_write(admin, "k", server_url, NULL, "u", at("admin.crt"),
				     NULL, NULL, &e);
	tap_ok(err == -EINVAL && strstr(e.msg, "go together"),
	       "a certificate without its key refused: %s", e.msg);
	err = skiff_kubeconfig_write(admin, "k", "127.0.0.1:6443", NULL, "u", NULL, NULL,
				     NULL, &e);
	tap_ok(err == -EINVAL && strstr(e.msg, "want an http:// or https:// URL"),
	       "a server without a scheme refused: %s", e.msg);
	err = skiff_kubeconfig_write(at("no-such-dir/config"), "k", server_url, NULL, "u",
				     NULL, NULL, NULL, &e);
	snprintf(want, sizeof(want), "%s: No such file or directory", at("no-such-dir/config"));
	tap_ok(err == -ENOENT && !strcmp(e.msg, want), "a missing directory refused: %s", e.msg);
	after = slurp(admin);
	tap_ok(before && after && !strcmp(before, after), "the refused writes changed nothing");
	free(before);
	free(after);
	free(ca64);
}

/* ---- requests ----------------------------------------------------------- */

struct reply {
	struct skiff_loop *loop;
	long code;
	json_t *answer;
	bool done;
};

static void replied(long code, json_t *answer, void *arg)
{
	struct reply *r = arg;

	r->code = code;
	r->answer = json_incref(answer);
	r->done = true;
	skiff_loop_stop(r->loop);
}

static void too_late(void *arg)
{
	skiff_loop_stop(arg);
}

/* GET @path through the loop, as the daemons send. */
static long get_async(struct skiff_client *c, struct skiff_loop *loop, json_t **answer)
{
	struct reply r = { .loop = loop };
	struct skiff_timer *t = skiff_loop_after(loop, DEADLINE_MS, too_late, loop);

	if (skiff_client_send(c, "GET", strdup("/hello"), NULL, NULL, replied, &r))
		return -1;
	skiff_loop_run(loop);
	if (r.done)
		skiff_timer_cancel(t);
	*answer = r.answer;
	return r.done ? r.code : -1;
}

static struct skiff_client *client_from(struct skiff_loop *loop, const char *path)
{
	struct skiff_kubeconfig kc;
	struct skiff_client *c;
	struct skiff_error e;

	if (skiff_kubeconfig_load(&kc, path, NULL, &e)) {
		tap_diag("%s", e.msg);
		return NULL;
	}
	c = skiff_client_new_config(loop, &kc);
	skiff_kubeconfig_release(&kc);
	if (c)
		skiff_client_set_quiet(c, true);
	return c;
}

static bool answer_is(const json_t *a, const char *cn, const char *auth)
{
	return a && !strcmp(json_string_value(json_object_get(a, "cn")) ?: "?", cn) &&
	       !strcmp(json_string_value(json_object_get(a, "auth")) ?: "?", auth);
}

static void on_pod(enum skiff_change change, const json_t *old, const json_t *obj,
		   void *arg)
{
	struct reply *r = arg;

	(void)change;
	(void)old;
	(void)obj;
	r->done = true;
	skiff_loop_stop(r->loop);
}

static void test_requests(struct skiff_loop *loop)
{
	struct reply watched = { .loop = loop };
	struct skiff_informer *inf;
	struct skiff_client *c;
	struct skiff_timer *t;
	json_t *a = NULL;
	char text[4096];
	long code;

	/* Files, relative to the kubeconfig: the admin certificate. */
	c = client_from(loop, at("conf/config"));
	code = c ? get_async(c, loop, &a) : -1;
	tap_ok(code == 200 && answer_is(a, "test-user", ""),
	       "through the loop, the server sees the client certificate's CN test-user");
	if (code != 200)
		tap_diag("code %ld: %s", code, c ? skiff_client_error(c) : "no client");
	json_decref(a);
	a = NULL;

	forget_seen();
	inf = c ? skiff_informer_new(c, &skiff_pods, NULL) : NULL;
	if (inf) {
		skiff_informer_on_change(inf, on_pod, &watched);
		t = skiff_loop_after(loop, DEADLINE_MS, too_late, loop);
		skiff_informer_start(inf);
		skiff_loop_run(loop);
		if (watched.done)
			skiff_timer_cancel(t);
	}
	tap_ok(watched.done && seen_from("test-user", false) && seen_from("test-user", true),
	       "an informer lists and watches with the client certificate");
	skiff_informer_free(inf);
	skiff_client_free(c);

	/* Embedded -data, as skiff_kubeconfig_write makes it; the sync call. */
	c = client_from(loop, at("admin.conf"));
	code = c ? skiff_client_call(c, "GET", "/hello", NULL, NULL, &a) : -1;
	tap_ok(code == 200 && answer_is(a, "test-user", ""),
	       "from embedded -data, skiff_client_call is seen as test-user");
	json_decref(a);
	a = NULL;
	skiff_client_free(c);

	/* A token over TLS, no client certificate. */
	snprintf(text, sizeof(text),
		 "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
		 "clusters:\n- name: k\n  cluster: {server: '%s', certificate-authority: ca.crt}\n"
		 "contexts:\n- name: t\n  context: {cluster: k, user: bot}\n"
		 "users:\n- name: bot\n  user: {token: tok-123}\n", server_url);
	put("token-tls.conf", text);
	c = client_from(loop, at("token-tls.conf"));
	code = c ? get_async(c, loop, &a) : -1;
	tap_ok(code == 200 && answer_is(a, "", "Bearer tok-123"),
	       "the token is sent as Authorization: Bearer, no certificate");
	json_decref(a);
	a = NULL;
	code = c ? skiff_client_call(c, "GET", "/hello", NULL, NULL, &a) : -1;
	tap_ok(code == 200 && answer_is(a, "", "Bearer tok-123"),
	       "the synchronous call sends it too");
	json_decref(a);
	a = NULL;
	skiff_client_free(c);

	/* The server's certificate is not signed by the CA we trust. */
	snprintf(text, sizeof(text),
		 "apiVersion: v1\nkind: Config\ncurrent-context: w\n"
		 "clusters:\n- name: k\n  cluster: {server: '%s', certificate-authority: other-ca.crt}\n"
		 "contexts:\n- name: w\n  context: {cluster: k, user: u}\n"
		 "users:\n- name: u\n  user: {client-certificate: admin.crt, client-key: admin.key}\n",
		 server_url);
	put("wrong-ca.conf", text);
	c = client_from(loop, at("wrong-ca.conf"));
	code = c ? get_async(c, loop, &a) : -1;
	tap_ok(code == 0 && c && strstr(skiff_client_error(c), "certificate") &&
	       strstr(skiff_client_error(c), "other-ca.crt"),
	       "a wrong CA fails (code 0) with a TLS error: %s", c ? skiff_client_error(c) : "");
	json_decref(a);
	a = NULL;
	skiff_client_free(c);

	/* No CA given: the system's CAs do not know ours. */
	c = skiff_client_new(loop, server_url);
	if (c)
		skiff_client_set_quiet(c, true);
	code = c ? get_async(c, loop, &a) : -1;
	tap_ok(code == 0 && c && strstr(skiff_client_error(c), "certificate"),
	       "without the CA the system's do not know the server: %s",
	       c ? skiff_client_error(c) : "");
	json_decref(a);
	skiff_client_free(c);
}

/* kubectl, with the kubeconfig skiff wrote, through the same TLS. */
static void test_kubectl_request(void)
{
	char cmd[4096], out[4096];
	json_t *a = NULL;
	size_t n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "kubectl --kubeconfig %s --request-timeout=10s get --raw /hello 2>&1",
		 at("admin.conf"));
	p = popen(cmd, "r");
	if (p) {
		n = fread(out, 1, sizeof(out) - 1, p);
		pclose(p);
	}
	out[n] = '\0';
	a = json_loads(out, 0, NULL);
	tap_ok(answer_is(a, "test-user", ""),
	       "kubectl with the written kubeconfig is seen as test-user");
	if (!a)
		tap_diag("kubectl said: %.500s", out);
	json_decref(a);
}

/* @argv[0] from build/bin, stdout and stderr into @log; its pid. */
static pid_t spawn(const char *const argv[], const char *log)
{
	posix_spawn_file_actions_t fa;
	char path[4200];
	pid_t pid = -1;

	snprintf(path, sizeof(path), "%s/%s", bin_dir, argv[0]);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (posix_spawn(&pid, path, &fa, NULL, (char *const *)argv, NULL)) {
		tap_diag("cannot run %s", path);
		pid = -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* Its exit status within the deadline, else killed and -1. */
static int wait_exit(pid_t pid, int64_t ms)
{
	int64_t end = skiff_now_ms() + ms;
	int status;

	/* Never kill(-1, ...): that is every process we may signal. */
	if (pid <= 0)
		return -1;
	while (skiff_now_ms() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static bool quiet_log_has(const char *log, const char *what)
{
	char *text = slurp(log);
	bool has = text && strstr(text, what);

	free(text);
	return has;
}

static bool log_has(const char *log, const char *what)
{
	char *text = slurp(log);
	bool has = text && strstr(text, what);

	if (!has)
		tap_diag("%s: %s", log, text ?: "(none)");
	free(text);
	return has;
}

static void test_daemons(void)
{
	const char *const sched_bad[] = {
		"skiff-scheduler", "--kubeconfig", at("bad-no-user"), "--leader-elect=false",
		NULL,
	};
	const char *const node_bad[] = {
		"skiff-node", "--kubeconfig", at("nope.conf"), "--node-name", "n1",
		"--node-ip", "127.0.0.1", "--root-dir", at("node-root"), NULL,
	};
	const char *const sched[] = {
		"skiff-scheduler", "--kubeconfig", at("scheduler.conf"), "--leader-elect=false",
		NULL,
	};
	const char *const override[] = {
		"skiff-scheduler", "--server", "http://127.0.0.1:1/", "--kubeconfig",
		at("scheduler.conf"), "--leader-elect=false", NULL,
	};
	const char *log = at("daemon.log");
	struct skiff_error e;
	int64_t end;
	pid_t pid;
	int status;

	pid = spawn(sched_bad, log);
	status = wait_exit(pid, DEADLINE_MS);
	tap_ok(status > 0 && log_has(log, "--kubeconfig: ") &&
	       log_has(log, "user \"u\" was not found for context \"c\""),
	       "skiff-scheduler with a bad kubeconfig exits %d with the reason", status);

	pid = spawn(node_bad, log);
	status = wait_exit(pid, DEADLINE_MS);
	tap_ok(status > 0 && log_has(log, "nope.conf: No such file or directory") &&
	       access(at("node-root"), F_OK),
	       "skiff-node with a missing kubeconfig exits %d before doing anything", status);

	if (skiff_kubeconfig_write(at("scheduler.conf"), "kubernetes", server_url, at("ca.crt"),
				   "system:kube-scheduler", at("scheduler.crt"),
				   at("scheduler.key"), NULL, &e))
		tap_diag("%s", e.msg);
	forget_seen();
	pid = spawn(sched, log);
	end = skiff_now_ms() + DEADLINE_MS;
	while (skiff_now_ms() < end && !seen_from("system:kube-scheduler", true))
		usleep(20000);
	tap_ok(seen_from("system:kube-scheduler", true),
	       "skiff-scheduler --kubeconfig lists and watches as system:kube-scheduler");
	if (pid > 0)
		kill(pid, SIGTERM);
	status = wait_exit(pid, DEADLINE_MS);
	tap_ok(status == 0 && log_has(log, server_url), "and stops cleanly, having said where");

	pid = spawn(override, log);
	end = skiff_now_ms() + DEADLINE_MS;
	while (skiff_now_ms() < end && !quiet_log_has(log, "talking to http://127.0.0.1:1\n"))
		usleep(20000);
	if (pid > 0)
		kill(pid, SIGTERM);
	status = wait_exit(pid, DEADLINE_MS);
	tap_ok(status == 0 && log_has(log, "talking to http://127.0.0.1:1\n"),
	       "--server given too wins over the kubeconfig's server");
}

static void find_bin_dir(void)
{
	ssize_t n = readlink("/proc/self/exe", bin_dir, sizeof(bin_dir) - 16);
	char *slash;

	if (n < 0)
		exit(1);
	bin_dir[n] = '\0';
	slash = strrchr(bin_dir, '/');
	strcpy(slash, "/../bin");
}

int main(void)
{
	struct skiff_loop *loop;
	struct MHD_Daemon *d;

	tap_plan(6 + 4 + ARRAY_SIZE(bad) + 11 + 7 + 1 + 5);
	find_bin_dir();
	snprintf(dir, sizeof(dir), "/tmp/skiff-kubeconfig-XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	make_certs();
	d = start_server();
	loop = skiff_loop_new();

	test_load_files();
	test_load_data();
	test_load_errors();
	test_write();
	test_requests(loop);
	test_kubectl_request();
	test_daemons();

	skiff_loop_free(loop);
	MHD_stop_daemon(d);
	sh("rm -rf %s", dir);
	return tap_done();
}
