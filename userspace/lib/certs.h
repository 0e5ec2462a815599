/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cluster's certificates, as cfssl and kubeadm make them: a CA, and
 * leaf certificates it signs for the components and users, with GnuTLS
 * (libmicrohttpd's own TLS library), never our own crypto.
 *
 * Files follow kubeadm: a directory holding ca.crt/ca.key and NAME.crt/
 * NAME.key, PEM, keys ECDSA P-256 (cfssl's default) and mode 0600. The
 * identity a certificate carries is Kubernetes': user = CN, groups = O.
 *
 *	struct skiff_certs_pair ca, leaf;
 *	struct skiff_certs_plan plan;
 *
 *	skiff_certs_load_ca("/etc/skiff/pki", &ca, &e);
 *	skiff_certs_plan_profile("node", &args, &plan, &e);
 *	skiff_certs_issue(&ca, &plan.req, &leaf, &e);
 *	skiff_certs_save(&leaf, crt_path, key_path, false, &e);
 */

#ifndef SKIFF_CERTS_H
#define SKIFF_CERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <gnutls/x509.h>

#include "error.h"

#define SKIFF_CERTS_DEFAULT_DIR "/etc/skiff/pki"
#define SKIFF_CERTS_DEFAULT_CA_CN "skiff-ca"
/* kubeadm's: the CA ten years, what it signs one year. */
#define SKIFF_CERTS_CA_DAYS 3650
#define SKIFF_CERTS_LEAF_DAYS 365
#define SKIFF_CERTS_MAX_DAYS 36500
/* cfssl's backdate: a peer whose clock is a little behind still accepts. */
#define SKIFF_CERTS_BACKDATE_S 300
#define SKIFF_CERTS_DEFAULT_SERVICE_CIDR "10.96.0.0/12"
#define SKIFF_CERTS_MAX_SANS 64
#define SKIFF_CERTS_MAX_ORGS 16

/* Extended key usages: what a leaf may be used for in TLS. */
enum skiff_certs_usage {
	SKIFF_CERTS_SERVER_AUTH = 1 << 0,
	SKIFF_CERTS_CLIENT_AUTH = 1 << 1,
};

/**
 * struct skiff_certs_pair - a certificate and its private key
 * @crt: the certificate
 * @key: its private key; NULL when only the certificate was loaded
 */
struct skiff_certs_pair {
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
};

/**
 * struct skiff_certs_request - what a leaf certificate says
 * @cn: subject common name: the Kubernetes user
 * @orgs: subject organizations: the user's groups
 * @n_orgs: how many
 * @sans: subject alternative names, each a DNS name or an IPv4/IPv6 address
 * @n_sans: how many
 * @usages: SKIFF_CERTS_SERVER_AUTH and/or SKIFF_CERTS_CLIENT_AUTH
 * @days: validity from now (0: SKIFF_CERTS_LEAF_DAYS), at most the CA's
 */
struct skiff_certs_request {
	const char *cn;
	const char *const *orgs;
	size_t n_orgs;
	const char *const *sans;
	size_t n_sans;
	unsigned int usages;
	unsigned int days;
};

/* Frees what @p holds and empties it (safe on an empty pair). */
void skiff_certs_pair_free(struct skiff_certs_pair *p);

/*
 * Makes a self-signed CA: ECDSA P-256, subject CN @cn (NULL: skiff-ca),
 * basicConstraints CA:TRUE critical, keyUsage keyCertSign, cRLSign and
 * digitalSignature, a subject key id, valid @days (0: ten years) from a
 * few minutes ago, a random positive 128-bit serial.
 */
int skiff_certs_make_ca(const char *cn, unsigned int days, struct skiff_certs_pair *out,
			struct skiff_error *e);

/*
 * Makes a leaf as @req says, signed by @ca: ECDSA P-256, keyUsage
 * digitalSignature and keyEncipherment, basicConstraints CA:FALSE, the
 * CA's key id as authority key id. A validity beyond the CA's end stops
 * at the CA's end (the leaf could not be verified after it anyway).
 */
int skiff_certs_issue(const struct skiff_certs_pair *ca, const struct skiff_certs_request *req,
		      struct skiff_certs_pair *out, struct skiff_error *e);

/*
 * Writes @p's certificate (0644) and key (0600) as PEM, each through a
 * temporary file renamed into place, so that a reader never sees half a
 * file. Without @force an existing file is left alone and the call fails
 * with -EEXIST, having written neither file.
 */
int skiff_certs_save(const struct skiff_certs_pair *p, const char *crt_path,
		     const char *key_path, bool force, struct skiff_error *e);

/*
 * Writes @data to @path as skiff_certs_save() does (a temporary file
 * renamed into place), mode @mode; without @replace an existing @path is
 * left alone (-EEXIST). For what holds keys or their paths: kubeconfigs.
 */
int skiff_certs_write_file(const char *path, const void *data, size_t len, mode_t mode,
			   bool replace, struct skiff_error *e);

/* Reads @path (at most 1 MiB) whole into a malloc'd, NUL-terminated buffer. */
int skiff_certs_read_file(const char *path, char **data, size_t *len, struct skiff_error *e);

/* Reads the first certificate of the PEM file @path. */
int skiff_certs_load_crt(const char *path, gnutls_x509_crt_t *out, struct skiff_error *e);

/*
 * Reads a certificate and its key (@key_path NULL: the certificate only),
 * and checks that the key is the certificate's.
 */
int skiff_certs_load(const char *crt_path, const char *key_path, struct skiff_certs_pair *out,
		     struct skiff_error *e);

/*
 * Reads @dir/ca.crt and @dir/ca.key, checks they belong together and that
 * the certificate is a CA; a missing file says to run `skiffctl certs init`.
 */
int skiff_certs_load_ca(const char *dir, struct skiff_certs_pair *ca, struct skiff_error *e);

/*
 * Verifies @crt_path against the CA certificates in @ca_path: the
 * signature chain, the validity period at this moment and, when @usage is
 * not 0, that the certificate is for that use (one SKIFF_CERTS_*_AUTH).
 * The error message says what is wrong in words.
 */
int skiff_certs_verify(const char *crt_path, const char *ca_path, unsigned int usage,
		       struct skiff_error *e);

/**
 * struct skiff_certs_info - what a certificate says, for people and tests
 * @subject: the subject DN, RFC 4514 ("CN=...,O=...")
 * @cn: the subject common name ("" when none)
 * @orgs: the subject organizations, in certificate order
 * @n_orgs: how many
 * @dns: DNS names among the subject alternative names
 * @n_dns: how many
 * @ips: IP addresses among them, as inet_ntop writes them
 * @n_ips: how many
 * @issuer: the issuer DN
 * @issuer_cn: the issuer common name
 * @not_before: start of validity
 * @not_after: end of validity
 * @is_ca: basicConstraints CA:TRUE
 * @key_usage: GNUTLS_KEY_* bits (0 when absent)
 * @usages: SKIFF_CERTS_*_AUTH from extKeyUsage
 * @serial: the serial number, upper-case hex as `openssl x509 -serial`
 * @key_algorithm: "ECDSA P-256", "RSA 2048", ...
 * @sha256: the SHA-256 fingerprint of the DER, colon-separated hex
 */
struct skiff_certs_info {
	char *subject;
	char *cn;
	char *orgs[SKIFF_CERTS_MAX_ORGS];
	size_t n_orgs;
	char *dns[SKIFF_CERTS_MAX_SANS];
	size_t n_dns;
	char *ips[SKIFF_CERTS_MAX_SANS];
	size_t n_ips;
	char *issuer;
	char *issuer_cn;
	time_t not_before;
	time_t not_after;
	bool is_ca;
	unsigned int key_usage;
	unsigned int usages;
	char serial[2 * 20 + 1];
	char key_algorithm[32];
	char sha256[3 * 32];
};

int skiff_certs_describe(gnutls_x509_crt_t crt, struct skiff_certs_info *info,
			 struct skiff_error *e);
void skiff_certs_info_free(struct skiff_certs_info *info);

/* "2026-11-01T10:00:00Z" into @buf (at least 21 bytes). */
char *skiff_certs_format_time(time_t t, char *buf, size_t size);

/*
 * Checks one subject alternative name: an IPv4 or IPv6 address, or a DNS
 * name as kubeadm takes them (a lowercase RFC 1123 subdomain, or one
 * under a "*." wildcard).
 */
int skiff_certs_check_san(const char *san, struct skiff_error *e);

/* Checks a Kubernetes object name of the DNS-1123 subdomain kind (nodes). */
int skiff_certs_check_subdomain(const char *what, const char *name, struct skiff_error *e);

/*
 * Profiles: the certificates of a cluster, by the names `skiffctl certs
 * issue` takes (apiserver, node NAME, scheduler, controller-manager, admin,
 * user NAME). Documentation/certificates.md has the table.
 */

/**
 * struct skiff_certs_profile_args - what the command line adds to a profile
 * @name: NAME of the node and user profiles, NULL for the others
 * @sans: extra SANs (apiserver and node only)
 * @n_sans: how many
 * @orgs: groups (user only)
 * @n_orgs: how many
 * @service_cidr: apiserver: the Service CIDR(s), comma-separated, whose
 *	first address is a SAN (NULL: 10.96.0.0/12, so 10.96.0.1)
 * @hostname: apiserver: this machine's name (NULL: gethostname())
 * @days: validity (0: one year)
 */
struct skiff_certs_profile_args {
	const char *name;
	const char *const *sans;
	size_t n_sans;
	const char *const *orgs;
	size_t n_orgs;
	const char *service_cidr;
	const char *hostname;
	unsigned int days;
};

/**
 * struct skiff_certs_plan - a profile made concrete: what to issue, where
 * @file: the file name base in the PKI directory ("node-n1")
 * @req: the request, pointing into the storage below
 * @note: something the user should hear (a hostname left out), or ""
 */
struct skiff_certs_plan {
	char file[300];
	struct skiff_certs_request req;
	char note[256];
	/* private */
	char *cn;
	char *orgs[SKIFF_CERTS_MAX_ORGS];
	char *sans[SKIFF_CERTS_MAX_SANS];
};

/* The profiles' names, for help and error messages ("apiserver, node, ..."). */
extern const char skiff_certs_profile_names[];

/*
 * Fills @plan from profile @profile and @args, or says what is wrong with
 * them (unknown profile, NAME missing or not allowed, a bad SAN or name,
 * --san or --org where the profile takes none, days out of range).
 */
int skiff_certs_plan_profile(const char *profile, const struct skiff_certs_profile_args *args,
			     struct skiff_certs_plan *plan, struct skiff_error *e);
void skiff_certs_plan_free(struct skiff_certs_plan *plan);

#endif /* SKIFF_CERTS_H */
