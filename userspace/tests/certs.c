// SPDX-License-Identifier: GPL-2.0
/*
 * The cluster's certificates (lib/certs.c) in a directory of their own: a
 * CA and a leaf of every profile, checked field by field and verified by
 * GnuTLS itself (a trust list, and a TLS handshake with client
 * certificates both ways, as the apiserver and its clients will do); and
 * everything that must be refused: another CA, a tampered certificate, a
 * key that is not the certificate's, expiry, the wrong usage, bad names.
 */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "certs.h"
#include "tap.h"
#include "util.h"

#define DAY_S (24 * 60 * 60)

static char dir[64];
static time_t fake_now;

static time_t fake_time(time_t *t)
{
	if (t)
		*t = fake_now;
	return fake_now;
}

static char *path(const char *name)
{
	static char buf[8][512];
	static int next;
	char *p = buf[next++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static int mode_of(const char *file)
{
	struct stat st;

	return stat(path(file), &st) ? -1 : (int)(st.st_mode & 0777);
}

static char *slurp(const char *file)
{
	static char buf[4][8192];
	static int next;
	char *p = buf[next++ % 4];
	FILE *f = fopen(path(file), "r");
	size_t n = 0;

	p[0] = '\0';
	if (f) {
		n = fread(p, 1, sizeof(buf[0]) - 1, f);
		fclose(f);
	}
	p[n] = '\0';
	return p;
}

/* Files of the directory that are neither a .crt nor a .key. */
static int strays(void)
{
	struct dirent *d;
	int n = 0;
	DIR *dp;

	dp = opendir(dir);
	if (!dp)
		return -1;
	while ((d = readdir(dp))) {
		size_t len = strlen(d->d_name);

		if (d->d_type == DT_DIR || (len > 4 && (!strcmp(d->d_name + len - 4, ".crt") ||
							!strcmp(d->d_name + len - 4, ".key"))))
			continue;
		tap_diag("stray: %s", d->d_name);
		n++;
	}
	closedir(dp);
	return n;
}

static bool has(char *const *list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

/* GnuTLS's own verdict, not ours: @crt against the single CA @ca. */
static unsigned int gnutls_verdict(gnutls_x509_crt_t crt, gnutls_x509_crt_t ca,
				   const char *purpose)
{
	gnutls_typed_vdata_st data = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (unsigned char *)purpose,
	};
	gnutls_x509_trust_list_t list;
	gnutls_x509_crt_t copy;
	gnutls_datum_t der;
	unsigned int status = ~0u;

	/* The list owns what it is given: a copy of the CA. */
	gnutls_x509_crt_export2(ca, GNUTLS_X509_FMT_DER, &der);
	gnutls_x509_crt_init(&copy);
	gnutls_x509_crt_import(copy, &der, GNUTLS_X509_FMT_DER);
	gnutls_free(der.data);
	gnutls_x509_trust_list_init(&list, 0);
	gnutls_x509_trust_list_add_cas(list, &copy, 1, 0);
	if (gnutls_x509_trust_list_verify_crt2(list, &crt, 1, &data, purpose ? 1 : 0, 0,
					       &status, NULL) < 0)
		status = ~0u;
	gnutls_x509_trust_list_deinit(list, 1);
	return status;
}

static void test_ca(struct skiff_certs_pair *ca)
{
	struct skiff_certs_info info;
	struct skiff_error e;
	unsigned int critical = 0, is_ca = 0;
	unsigned char id[64];
	size_t size = sizeof(id);
	time_t now = time(NULL);
	int ret;

	tap_is_int(skiff_certs_make_ca(NULL, 0, ca, &e), 0, "CA made");
	tap_is_int(skiff_certs_describe(ca->crt, &info, &e), 0, "CA described");
	tap_is_str(info.cn, "skiff-ca", "CA CN defaults to skiff-ca");
	tap_is_str(info.issuer, "CN=skiff-ca", "CA is self-signed");
	tap_ok(info.is_ca, "CA:TRUE");
	ret = gnutls_x509_crt_get_basic_constraints(ca->crt, &critical, &is_ca, NULL);
	tap_ok(ret >= 0 && critical, "basicConstraints critical");
	tap_is_int(info.key_usage, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN |
		   GNUTLS_KEY_DIGITAL_SIGNATURE, "CA keyUsage certSign, cRLSign, digitalSignature");
	tap_ok(gnutls_x509_crt_get_subject_key_id(ca->crt, id, &size, &critical) >= 0 &&
	       size == 20, "CA has a subject key id");
	tap_is_str(info.key_algorithm, "ECDSA P-256", "CA key ECDSA P-256");
	tap_ok(info.not_before <= now - 290 && info.not_before >= now - 310,
	       "valid from five minutes ago (clock skew)");
	tap_ok(info.not_after >= now + 3650LL * DAY_S - 5 && info.not_after <= now + 3650LL * DAY_S,
	       "valid ten years");
	tap_ok(strlen(info.serial) == 32 && info.serial[0] >= '4' && info.serial[0] <= '7',
	       "serial: 128 bits, positive, no leading zero (%s)", info.serial);
	tap_is_int(gnutls_verdict(ca->crt, ca->crt, NULL), 0, "GnuTLS verifies the CA by itself");
	skiff_certs_info_free(&info);
}

static void test_ca_files(struct skiff_certs_pair *ca)
{
	struct skiff_certs_pair loaded = { 0 }, other = { 0 };
	struct skiff_error e;
	char *before;

	tap_is_int(skiff_certs_load_ca(dir, &loaded, &e), -ENOENT, "no CA yet: refused");
	tap_ok(strstr(e.msg, "ca.crt: no such file: run 'skiffctl certs init"),
	       "says to run certs init: %s", e.msg);
	tap_is_int(skiff_certs_save(ca, path("ca.crt"), path("ca.key"), false, &e), 0,
		   "CA saved");
	tap_is_int(mode_of("ca.key"), 0600, "ca.key mode 0600");
	tap_is_int(mode_of("ca.crt"), 0644, "ca.crt mode 0644");
	tap_ok(strstr(slurp("ca.key"), "-----BEGIN EC PRIVATE KEY-----"),
	       "key in PEM (SEC 1, as cfssl and kubeadm)");
	tap_is_int(skiff_certs_load_ca(dir, &loaded, &e), 0, "CA loaded back: %s", e.msg);
	tap_ok(loaded.crt && gnutls_x509_crt_equals(loaded.crt, ca->crt), "the same certificate");
	skiff_certs_pair_free(&loaded);

	before = strdup(slurp("ca.key"));
	skiff_certs_make_ca("other", 0, &other, &e);
	tap_is_int(skiff_certs_save(&other, path("ca.crt"), path("ca.key"), false, &e), -EEXIST,
		   "an existing CA is not replaced without force");
	tap_ok(!strcmp(before, slurp("ca.key")), "ca.key untouched");
	tap_is_int(skiff_certs_save(&other, path("x.crt"), path("ca.key"), false, &e), -EEXIST,
		   "an existing key alone is enough to refuse");
	tap_ok(access(path("x.crt"), F_OK) && !strcmp(before, slurp("ca.key")),
	       "and nothing is written");
	tap_is_int(skiff_certs_save(&other, path("o.crt"), path("o.key"), false, &e), 0,
		   "another CA saved elsewhere");
	tap_is_int(skiff_certs_save(&other, path("o.crt"), path("o.key"), true, &e), 0,
		   "replaced with force");
	tap_is_int(skiff_certs_write_file(path("w.conf"), "one\n", 4, 0600, false, &e), 0,
		   "a file written");
	tap_is_int(mode_of("w.conf"), 0600, "with its mode");
	tap_is_int(skiff_certs_write_file(path("w.conf"), "two\n", 4, 0600, false, &e), -EEXIST,
		   "not replaced unless asked");
	tap_is_str(slurp("w.conf"), "one\n", "the first content kept");
	tap_is_int(skiff_certs_write_file(path("w.conf"), "two\n", 4, 0644, true, &e), 0,
		   "replaced when asked");
	tap_ok(!strcmp(slurp("w.conf"), "two\n") && mode_of("w.conf") == 0644, "new content, mode");
	unlink(path("w.conf"));
	tap_is_int(strays(), 0, "no temporary file left behind");
	skiff_certs_pair_free(&other);
	free(before);
}

/* A profile's certificate, issued, saved, read back and described. */
static int issue(const struct skiff_certs_pair *ca, const char *profile,
		 const struct skiff_certs_profile_args *args, struct skiff_certs_info *info,
		 gnutls_x509_crt_t *crt)
{
	struct skiff_certs_pair leaf = { 0 }, loaded = { 0 };
	struct skiff_certs_plan plan;
	char crt_name[320], key_name[320];
	struct skiff_error e;
	int err;

	err = skiff_certs_plan_profile(profile, args, &plan, &e);
	if (err) {
		tap_diag("%s: %s", profile, e.msg);
		return err;
	}
	err = skiff_certs_issue(ca, &plan.req, &leaf, &e);
	if (!err) {
		snprintf(crt_name, sizeof(crt_name), "%s.crt", plan.file);
		snprintf(key_name, sizeof(key_name), "%s.key", plan.file);
		err = skiff_certs_save(&leaf, path(crt_name), path(key_name), false, &e);
	}
	if (!err)
		err = skiff_certs_load(path(crt_name), path(key_name), &loaded, &e);
	if (!err)
		err = skiff_certs_describe(loaded.crt, info, &e);
	if (err)
		tap_diag("%s: %s", profile, e.msg);
	if (!err && crt) {
		*crt = loaded.crt;
		loaded.crt = NULL;
	}
	skiff_certs_plan_free(&plan);
	skiff_certs_pair_free(&leaf);
	skiff_certs_pair_free(&loaded);
	return err;
}

static void test_apiserver(const struct skiff_certs_pair *ca)
{
	static const char *const sans[] = { "192.168.1.10", "api.example.com", "localhost" };
	static const char *const dns[] = {
		"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local", "master-1.example", "api.example.com",
	};
	static const char *const ips[] = {
		"127.0.0.1", "10.96.0.1", "fd00:10:96::1", "192.168.1.10",
	};
	struct skiff_certs_profile_args args = {
		.sans = sans, .n_sans = ARRAY_SIZE(sans), .hostname = "Master-1.Example",
		.service_cidr = "10.96.0.0/12,fd00:10:96::/108",
	};
	struct skiff_certs_info info;
	gnutls_x509_crt_t crt = NULL;
	size_t i;
	bool all = true;

	tap_is_int(issue(ca, "apiserver", &args, &info, &crt), 0, "apiserver issued");
	tap_is_str(info.cn, "kube-apiserver", "apiserver CN");
	tap_is_int(info.n_orgs, 0, "apiserver: no groups");
	tap_is_int(info.usages, SKIFF_CERTS_SERVER_AUTH | SKIFF_CERTS_CLIENT_AUTH,
		   "apiserver: server and client auth");
	tap_is_int(info.key_usage, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT,
		   "leaf keyUsage digitalSignature, keyEncipherment");
	tap_ok(!info.is_ca, "leaf CA:FALSE");
	for (i = 0; i < ARRAY_SIZE(dns); i++)
		all &= tap_ok(has(info.dns, info.n_dns, dns[i]), "apiserver SAN %s", dns[i]);
	for (i = 0; i < ARRAY_SIZE(ips); i++)
		all &= tap_ok(has(info.ips, info.n_ips, ips[i]), "apiserver SAN %s", ips[i]);
	tap_is_int(info.n_dns + info.n_ips, ARRAY_SIZE(dns) + ARRAY_SIZE(ips),
		   "nothing else, nothing twice");
	tap_is_int(gnutls_verdict(crt, ca->crt, GNUTLS_KP_TLS_WWW_SERVER), 0,
		   "GnuTLS: chain and server usage verify");
	tap_ok(gnutls_x509_crt_check_hostname(crt, "kubernetes.default.svc"),
	       "GnuTLS: matches kubernetes.default.svc");
	tap_ok(gnutls_x509_crt_check_hostname(crt, "10.96.0.1"), "GnuTLS: matches 10.96.0.1");
	tap_ok(!gnutls_x509_crt_check_hostname(crt, "evil.example.com"),
	       "GnuTLS: no other name");
	skiff_certs_info_free(&info);
	gnutls_x509_crt_deinit(crt);
}

static void test_node(const struct skiff_certs_pair *ca)
{
	static const char *const sans[] = { "10.0.0.11", "fd00::11" };
	struct skiff_certs_profile_args args = {
		.name = "node-1", .sans = sans, .n_sans = ARRAY_SIZE(sans), .days = 30,
	};
	unsigned char aki[64], ski[64];
	size_t aki_size = sizeof(aki), ski_size = sizeof(ski);
	struct skiff_certs_info info;
	gnutls_x509_crt_t crt = NULL;
	struct skiff_error e;
	unsigned int critical;

	tap_is_int(issue(ca, "node", &args, &info, &crt), 0, "node issued");
	tap_is_str(info.cn, "system:node:node-1", "node CN system:node:NAME");
	tap_ok(info.n_orgs == 1 && !strcmp(info.orgs[0], "system:nodes"), "node O system:nodes");
	tap_ok(info.n_dns == 1 && !strcmp(info.dns[0], "node-1") && info.n_ips == 2 &&
	       !strcmp(info.ips[0], "10.0.0.11") && !strcmp(info.ips[1], "fd00::11"),
	       "node SANs: its name and its addresses");
	tap_is_int(info.usages, SKIFF_CERTS_SERVER_AUTH | SKIFF_CERTS_CLIENT_AUTH,
		   "node: server (:10250) and client auth");
	tap_ok(info.not_after - time(NULL) <= 30 * DAY_S &&
	       info.not_after - time(NULL) > 30 * DAY_S - 10, "--days 30");
	tap_is_str(info.issuer, "CN=skiff-ca", "issuer is the CA");
	gnutls_x509_crt_get_authority_key_id(crt, aki, &aki_size, &critical);
	gnutls_x509_crt_get_subject_key_id(ca->crt, ski, &ski_size, &critical);
	tap_ok(aki_size == ski_size && !memcmp(aki, ski, aki_size),
	       "authority key id is the CA's subject key id");
	tap_is_int(gnutls_verdict(crt, ca->crt, GNUTLS_KP_TLS_WWW_CLIENT), 0,
		   "GnuTLS: chain and client usage verify");
	tap_is_int(skiff_certs_verify(path("node-node-1.crt"), path("ca.crt"),
				      SKIFF_CERTS_SERVER_AUTH, &e), 0,
		   "skiff_certs_verify agrees");
	skiff_certs_info_free(&info);
	gnutls_x509_crt_deinit(crt);
}

/* etcd's: its clients and peers reach it by loopback or by --san. */
static void test_etcd_server(const struct skiff_certs_pair *ca)
{
	static const char *const sans[] = { "10.0.0.5", "localhost", "etcd-1.example" };
	struct skiff_certs_profile_args args = { .sans = sans, .n_sans = ARRAY_SIZE(sans) };
	struct skiff_certs_info info;
	gnutls_x509_crt_t crt = NULL;

	tap_is_int(issue(ca, "etcd-server", &args, &info, &crt), 0, "etcd-server issued");
	tap_is_str(info.cn, "kube-etcd", "etcd-server CN");
	tap_is_int(info.usages, SKIFF_CERTS_SERVER_AUTH | SKIFF_CERTS_CLIENT_AUTH,
		   "etcd-server: server and client (peer) auth");
	tap_ok(info.n_dns == 2 && !strcmp(info.dns[0], "localhost") &&
	       !strcmp(info.dns[1], "etcd-1.example") && info.n_ips == 3 &&
	       !strcmp(info.ips[0], "127.0.0.1") && !strcmp(info.ips[1], "::1") &&
	       !strcmp(info.ips[2], "10.0.0.5"),
	       "etcd-server SANs: localhost, 127.0.0.1, ::1, then each --san once");
	tap_is_int(gnutls_verdict(crt, ca->crt, GNUTLS_KP_TLS_WWW_SERVER), 0,
		   "GnuTLS: chain and server usage verify");
	skiff_certs_info_free(&info);
	gnutls_x509_crt_deinit(crt);
}

static void test_clients(const struct skiff_certs_pair *ca)
{
	static const char *const groups[] = { "dev", "system:authenticated-ish" };
	static const struct {
		const char *profile, *name, *cn, *org;
	} want[] = {
		{ "scheduler", NULL, "system:kube-scheduler", NULL },
		{ "controller-manager", NULL, "system:kube-controller-manager", NULL },
		{ "admin", NULL, "kubernetes-admin", "system:masters" },
		{ "apiserver-etcd-client", NULL, "kube-apiserver-etcd-client", NULL },
	};
	struct skiff_certs_profile_args args = { 0 };
	struct skiff_certs_info info;
	struct skiff_error e;
	gnutls_x509_crt_t crt;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		tap_is_int(issue(ca, want[i].profile, &args, &info, &crt), 0, "%s issued",
			   want[i].profile);
		tap_is_str(info.cn, want[i].cn, "%s CN", want[i].profile);
		tap_ok(want[i].org ? info.n_orgs == 1 && !strcmp(info.orgs[0], want[i].org) :
		       !info.n_orgs, "%s groups", want[i].profile);
		tap_ok(info.usages == SKIFF_CERTS_CLIENT_AUTH && !info.n_dns && !info.n_ips,
		       "%s: client auth only, no SANs", want[i].profile);
		tap_ok(gnutls_verdict(crt, ca->crt, GNUTLS_KP_TLS_WWW_SERVER) &
		       GNUTLS_CERT_PURPOSE_MISMATCH, "%s: GnuTLS refuses it as a server",
		       want[i].profile);
		skiff_certs_info_free(&info);
		gnutls_x509_crt_deinit(crt);
	}
	args.name = "jane@example.com";
	args.orgs = groups;
	args.n_orgs = ARRAY_SIZE(groups);
	tap_is_int(issue(ca, "user", &args, &info, NULL), 0, "user issued");
	tap_ok(!strcmp(info.cn, "jane@example.com") && info.n_orgs == 2 &&
	       !strcmp(info.orgs[0], "dev") && !strcmp(info.orgs[1], groups[1]),
	       "user: CN NAME, O each group in order");
	skiff_certs_info_free(&info);
	tap_is_int(skiff_certs_verify(path("admin.crt"), path("ca.crt"), SKIFF_CERTS_SERVER_AUTH,
				      &e), -EKEYREJECTED, "admin is not a server certificate");
	tap_ok(strstr(e.msg, "not for server authentication (its extended key usages: client"),
	       "says so: %s", e.msg);
}

/* A leaf from another CA of the same name; a tampered one; a wrong key. */
static void test_refusals(const struct skiff_certs_pair *ca)
{
	const char *const n1[] = { "n1" };
	struct skiff_certs_request req = { .cn = "system:node:n1", .sans = n1, .n_sans = 1,
					   .usages = SKIFF_CERTS_CLIENT_AUTH };
	struct skiff_certs_pair other = { 0 }, leaf = { 0 }, mixed = { 0 };
	gnutls_datum_t der, pem;
	struct skiff_error e;
	unsigned char *at;
	FILE *f;

	skiff_certs_make_ca(NULL, 0, &other, &e);
	skiff_certs_issue(&other, &req, &leaf, &e);
	skiff_certs_save(&leaf, path("foreign.crt"), path("foreign.key"), false, &e);
	tap_is_int(skiff_certs_verify(path("foreign.crt"), path("ca.crt"), 0, &e), -EKEYREJECTED,
		   "a leaf of another CA is refused");
	tap_ok(strstr(e.msg, "signed by another CA named 'CN=skiff-ca'"), "says so: %s",
	       e.msg);
	tap_ok(gnutls_verdict(leaf.crt, ca->crt, NULL) & GNUTLS_CERT_INVALID,
	       "GnuTLS agrees");

	/* A node claiming another node's name: same length, DER still valid. */
	gnutls_x509_crt_export2(leaf.crt, GNUTLS_X509_FMT_DER, &der);
	skiff_certs_pair_free(&leaf);
	skiff_certs_issue(ca, &req, &leaf, &e);
	gnutls_free(der.data);
	gnutls_x509_crt_export2(leaf.crt, GNUTLS_X509_FMT_DER, &der);
	at = memmem(der.data, der.size, "system:node:n1", 14);
	tap_ok(at, "CN found in the DER");
	if (at)
		at[13] = '2';
	gnutls_pem_base64_encode2("CERTIFICATE", &der, &pem);
	f = fopen(path("tampered.crt"), "w");
	fwrite(pem.data, 1, pem.size, f);
	fclose(f);
	tap_is_int(skiff_certs_verify(path("tampered.crt"), path("ca.crt"), 0, &e), -EBADMSG,
		   "a tampered certificate is refused");
	tap_ok(strstr(e.msg, "signature does not verify"), "says so: %s", e.msg);
	gnutls_free(der.data);
	gnutls_free(pem.data);

	skiff_certs_save(&leaf, path("mine.crt"), path("mine.key"), false, &e);
	tap_is_int(skiff_certs_load(path("mine.crt"), path("foreign.key"), &mixed, &e),
		   -EKEYREJECTED, "a key that is not the certificate's is refused");
	tap_ok(strstr(e.msg, "foreign.key is not the key of"), "says so: %s", e.msg);
	tap_ok(!mixed.crt && !mixed.key, "nothing returned");
	tap_is_int(skiff_certs_load(path("mine.crt"), path("mine.key"), &mixed, &e), 0,
		   "its own key is accepted");
	skiff_certs_pair_free(&mixed);
	tap_is_int(skiff_certs_load_crt(path("mine.key"), &mixed.crt, &e), -EINVAL,
		   "a key is not a certificate");
	tap_ok(strstr(e.msg, "not a PEM certificate"), "says so: %s", e.msg);

	/* A leaf as ca.crt of a directory. */
	mkdir(path("notca"), 0755);
	skiff_certs_save(&leaf, path("notca/ca.crt"), path("notca/ca.key"), false, &e);
	tap_is_int(skiff_certs_load_ca(path("notca"), &mixed, &e), -EINVAL,
		   "a leaf is not taken for a CA");
	tap_ok(strstr(e.msg, "is not a CA certificate"), "says so: %s", e.msg);
	skiff_certs_pair_free(&leaf);
	skiff_certs_pair_free(&other);
}

/* GnuTLS's clock moved: a year and a month on, then a day back. */
static void test_time(void)
{
	struct skiff_certs_request req = { .cn = "short", .usages = SKIFF_CERTS_CLIENT_AUTH,
					   .days = 10 };
	struct skiff_certs_pair shortca = { 0 }, leaf = { 0 };
	struct skiff_certs_info info;
	struct skiff_error e;

	fake_now = time(NULL) + 400LL * DAY_S;
	gnutls_global_set_time_function(fake_time);
	tap_is_int(skiff_certs_verify(path("admin.crt"), path("ca.crt"), 0, &e), -EKEYEXPIRED,
		   "expired a year on");
	tap_ok(strstr(e.msg, "admin.crt expired on "), "says so: %s", e.msg);
	fake_now = time(NULL) - DAY_S;
	tap_is_int(skiff_certs_verify(path("admin.crt"), path("ca.crt"), 0, &e), -EKEYEXPIRED,
		   "not yet valid a day back");
	tap_ok(strstr(e.msg, "is not valid before "), "says so: %s", e.msg);
	gnutls_global_set_time_function(time);
	tap_is_int(skiff_certs_verify(path("admin.crt"), path("ca.crt"), 0, &e), 0,
		   "valid now");

	/* A leaf never outlives its CA. */
	skiff_certs_make_ca(NULL, 5, &shortca, &e);
	req.days = 365;
	tap_is_int(skiff_certs_issue(&shortca, &req, &leaf, &e), 0, "leaf of a 5-day CA");
	skiff_certs_describe(leaf.crt, &info, &e);
	tap_is_int(info.not_after, gnutls_x509_crt_get_expiration_time(shortca.crt),
		   "ends with its CA");
	skiff_certs_info_free(&info);
	skiff_certs_pair_free(&leaf);
	skiff_certs_pair_free(&shortca);
}

static void test_sans(void)
{
	static const char *const good[] = {
		"a", "kubernetes.default.svc", "*.example.com", "node-1", "10.0.0.1", "::1",
		"fd00:10:96::1", "1.example", "x1",
	};
	static const char *const bad[] = {
		"", "Node-1", "-a", "a-", "a..b", ".a", "a.", "a_b", "999.1.1.1", "1.2.3",
		"10.0.0.1/24", "fe80::zz", "*.", "*", "*.*.example", "a b", "x.example.0",
		"http://a",
	};
	char long_name[300];
	struct skiff_error e;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		tap_is_int(skiff_certs_check_san(good[i], &e), 0, "SAN '%s' accepted", good[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		tap_is_int(skiff_certs_check_san(bad[i], &e), -EINVAL, "SAN '%s' refused: %s",
			   bad[i], e.msg);
	memset(long_name, 'a', 254);
	long_name[254] = '\0';
	tap_is_int(skiff_certs_check_san(long_name, &e), -EINVAL, "a 254-character SAN refused");
	tap_ok(strstr(e.msg, "neither an IP address nor a DNS name"), "says why");
	long_name[253] = '\0';
	tap_is_int(skiff_certs_check_san(long_name, &e), 0, "253 characters accepted");
}

static void expect_plan_error(const char *profile, const struct skiff_certs_profile_args *args,
			      const char *msg, const char *what)
{
	struct skiff_certs_plan plan;
	struct skiff_error e;
	int err;

	err = skiff_certs_plan_profile(profile, args, &plan, &e);
	tap_ok(err == -EINVAL && strstr(e.msg, msg), "%s refused: %s", what,
	       err ? e.msg : "(accepted)");
	if (!err)
		skiff_certs_plan_free(&plan);
}

static void test_plan_refusals(void)
{
	static const char *const bad_san[] = { "10.0.0.1", "Bad_Name" };
	static const char *const one[] = { "x" };
	struct skiff_certs_profile_args a = { 0 };

	expect_plan_error("kubelet", &a,
			  "unknown profile 'kubelet' (profiles: apiserver, node NAME, scheduler",
			  "unknown profile");
	expect_plan_error("node", &a, "node: NAME missing", "node without NAME");
	a.name = "Node_1";
	expect_plan_error("node", &a, "node name 'Node_1': not a DNS-1123 subdomain",
			  "bad node name");
	a.name = "x";
	expect_plan_error("scheduler", &a, "scheduler takes no NAME", "a NAME where none goes");
	a.name = NULL;
	a.sans = bad_san;
	a.n_sans = 2;
	expect_plan_error("apiserver", &a, "SAN 'Bad_Name': neither", "a bad SAN");
	a.sans = one;
	a.n_sans = 1;
	expect_plan_error("admin", &a, "--san is for apiserver and node", "--san on a client");
	a.n_sans = 0;
	a.orgs = one;
	a.n_orgs = 1;
	a.name = "n1";
	expect_plan_error("node", &a, "--org is for user", "--org on a node");
	a.n_orgs = 0;
	a.days = 36501;
	expect_plan_error("node", &a, "must be 1..36500", "36501 days");
	a.days = 0;
	a.name = "a/b";
	expect_plan_error("user", &a, "no '/'", "a user name with '/'");
	a.name = "..";
	expect_plan_error("user", &a, "no '/'", "a user name '..'");
	a.name = NULL;
	a.service_cidr = "10.96.0.0";
	expect_plan_error("apiserver", &a, "service CIDR '10.96.0.0'", "a CIDR without length");
	a.service_cidr = "10.96.0.0/32";
	expect_plan_error("apiserver", &a, "room for Services", "a /32 service CIDR");
	a.service_cidr = "10.96.0.0/12";
	expect_plan_error("scheduler", &a, "--service-cidr is for the apiserver",
			  "--service-cidr on another profile");
}

/* One side of a TLS handshake over @fd, each side requiring the other's cert. */
static int handshake(int fd, bool server, const char *crt, const char *key, char *peer,
		     size_t size)
{
	gnutls_certificate_credentials_t cred;
	const gnutls_datum_t *chain;
	gnutls_x509_crt_t cert;
	gnutls_session_t s;
	unsigned int n, status = ~0u;
	int ret;

	gnutls_certificate_allocate_credentials(&cred);
	ret = gnutls_certificate_set_x509_trust_file(cred, path("ca.crt"), GNUTLS_X509_FMT_PEM);
	if (ret == 1)
		ret = gnutls_certificate_set_x509_key_file(cred, path(crt), path(key),
							   GNUTLS_X509_FMT_PEM);
	else if (ret >= 0)
		ret = GNUTLS_E_FILE_ERROR;
	if (ret < 0)
		return ret;
	gnutls_init(&s, server ? GNUTLS_SERVER : GNUTLS_CLIENT);
	gnutls_set_default_priority(s);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	if (server)
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
	else
		gnutls_session_set_verify_cert(s, "kubernetes.default.svc", 0);
	gnutls_transport_set_int(s, fd);
	do {
		ret = gnutls_handshake(s);
	} while (ret < 0 && !gnutls_error_is_fatal(ret));
	/* The client verified during the handshake, the server asks after it. */
	if (ret >= 0 && server)
		ret = gnutls_certificate_verify_peers3(s, NULL, &status);
	else if (ret >= 0 || ret == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
		status = gnutls_session_get_verify_cert_status(s);
	if (ret >= 0 && !status) {
		chain = gnutls_certificate_get_peers(s, &n);
		gnutls_x509_crt_init(&cert);
		gnutls_x509_crt_import(cert, &chain[0], GNUTLS_X509_FMT_DER);
		gnutls_x509_crt_get_dn_by_oid(cert, GNUTLS_OID_X520_COMMON_NAME, 0, 0, peer,
					      &size);
		gnutls_x509_crt_deinit(cert);
	}
	if (ret >= 0 && status)
		ret = GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
	if (ret < 0)
		tap_diag("%s: %s (status %#x)", server ? "server" : "client", gnutls_strerror(ret),
			 status);
	gnutls_bye(s, GNUTLS_SHUT_WR);
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	return ret;
}

static void test_handshake(void)
{
	char server_saw[128] = "", client_saw[128] = "";
	int sv[2], status, ret;
	pid_t pid;

	/* Whichever side ends first, the other's goodbye must not kill it. */
	signal(SIGPIPE, SIG_IGN);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pid = fork();
	if (!pid) {
		close(sv[0]);
		ret = handshake(sv[1], true, "apiserver.crt", "apiserver.key", server_saw,
				sizeof(server_saw));
		_exit(ret < 0 ? 1 : !strcmp(server_saw, "kubernetes-admin") ? 0 : 2);
	}
	close(sv[1]);
	ret = handshake(sv[0], false, "admin.crt", "admin.key", client_saw, sizeof(client_saw));
	close(sv[0]);
	waitpid(pid, &status, 0);
	tap_is_int(ret < 0 ? ret : 0, 0,
		   "GnuTLS client: the apiserver verified as kubernetes.default.svc");
	tap_is_str(client_saw, "kube-apiserver", "client saw the apiserver");
	tap_is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0,
		   "GnuTLS server: the admin's client certificate verified (CN kubernetes-admin)");
}

int main(void)
{
	struct skiff_certs_pair ca = { 0 };
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/skiff-certs-test.XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	setenv("SKIFF_CERTS_DIR", dir, 1);
	tap_plan(162);
	test_ca(&ca);
	test_ca_files(&ca);
	test_apiserver(&ca);
	test_node(&ca);
	test_clients(&ca);
	test_etcd_server(&ca);
	test_handshake();
	test_refusals(&ca);
	test_time();
	test_sans();
	test_plan_refusals();

	skiff_certs_pair_free(&ca);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		tap_diag("could not remove %s", dir);
	return tap_done();
}
