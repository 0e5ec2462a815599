// SPDX-License-Identifier: GPL-2.0
/*
 * The cluster's certificates (see certs.h): a CA and the leaves it signs,
 * made, saved, read, described and verified with GnuTLS. What each
 * certificate of a cluster says (the profiles) lives here too, so that
 * skiffctl and the tests share one definition of it.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "certs.h"
#include "util.h"

#define DAY_S (24 * 60 * 60)
#define SERIAL_BYTES 16
#define KEY_ID_MAX 64
#define DN_MAX 1024
#define MAX_FILE_SIZE (1024 * 1024)

#define SUBDOMAIN_RULE \
	"lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters"
#define CA_MISSING_FMT "%s: no such file: run 'skiffctl certs init --dir %s' first"
#define KEY_MISMATCH_FMT "%s is not the key of %s: their public keys differ"
#define UNSIGNED_FMT "%s is not signed by the CA in %s (it names issuer '%s'; the CA is '%s')"
#define OTHER_CA_FMT \
	"%s is signed by another CA named '%s', not by the one in %s (a CA made again?)"
#define TAMPERED_FMT \
	"%s: its signature does not verify: the certificate was altered after %s signed it"
#define NO_USAGE_FMT "%s is not for %s (its extended key usages: %s)"

static int gnutls_fail(struct skiff_error *e, int ret, const char *what)
{
	int err = ret == GNUTLS_E_MEMORY_ERROR ? -ENOMEM : -EINVAL;

	return skiff_error_set(e, err, "%s: %s", what, gnutls_strerror(ret));
}

/* ---- making certificates ------------------------------------------------ */

static int new_key(gnutls_x509_privkey_t *out, struct skiff_error *e)
{
	gnutls_x509_privkey_t key;
	int ret;

	ret = gnutls_x509_privkey_init(&key);
	if (ret < 0)
		return gnutls_fail(e, ret, "private key");
	ret = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					   GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (ret < 0) {
		gnutls_x509_privkey_deinit(key);
		return gnutls_fail(e, ret, "generating an ECDSA P-256 key");
	}
	*out = key;
	return 0;
}

/*
 * A random positive serial (RFC 5280 wants at most 20 bytes, positive;
 * CA/B rules at least 64 random bits). The top bit is cleared to keep it
 * positive, and the next one set so that the DER has no leading zero.
 */
static int set_serial(gnutls_x509_crt_t crt, struct skiff_error *e)
{
	unsigned char serial[SERIAL_BYTES];
	int ret;

	ret = gnutls_rnd(GNUTLS_RND_RANDOM, serial, sizeof(serial));
	if (ret < 0)
		return gnutls_fail(e, ret, "random serial");
	serial[0] = (serial[0] & 0x7f) | 0x40;
	ret = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
	if (ret < 0)
		return gnutls_fail(e, ret, "serial");
	return 0;
}

/* Kubernetes reads every O as a group, in any order: O first, as Go does. */
static int set_subject(gnutls_x509_crt_t crt, const char *cn, const char *const *orgs,
		       size_t n_orgs, struct skiff_error *e)
{
	size_t i;
	int ret;

	for (i = 0; i < n_orgs; i++) {
		ret = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
						    orgs[i], strlen(orgs[i]));
		if (ret < 0)
			return gnutls_fail(e, ret, "subject organization");
	}
	ret = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn));
	if (ret < 0)
		return gnutls_fail(e, ret, "subject common name");
	return 0;
}

/* The fields every certificate has: version, serial, validity, key, subject. */
static int new_crt(gnutls_x509_crt_t *out, gnutls_x509_privkey_t key, const char *cn,
		   const char *const *orgs, size_t n_orgs, time_t not_after,
		   struct skiff_error *e)
{
	gnutls_x509_crt_t crt;
	int ret, err;

	ret = gnutls_x509_crt_init(&crt);
	if (ret < 0)
		return gnutls_fail(e, ret, "certificate");
	ret = gnutls_x509_crt_set_version(crt, 3);
	if (ret >= 0)
		ret = gnutls_x509_crt_set_activation_time(crt, time(NULL) - SKIFF_CERTS_BACKDATE_S);
	if (ret >= 0)
		ret = gnutls_x509_crt_set_expiration_time(crt, not_after);
	if (ret >= 0)
		ret = gnutls_x509_crt_set_key(crt, key);
	if (ret < 0) {
		err = gnutls_fail(e, ret, "certificate fields");
		goto err_crt;
	}
	err = set_serial(crt, e);
	if (err)
		goto err_crt;
	err = set_subject(crt, cn, orgs, n_orgs, e);
	if (err)
		goto err_crt;
	*out = crt;
	return 0;

err_crt:
	gnutls_x509_crt_deinit(crt);
	return err;
}

static int sign(gnutls_x509_crt_t crt, gnutls_x509_crt_t issuer,
		gnutls_x509_privkey_t issuer_key, struct skiff_error *e)
{
	gnutls_privkey_t pk;
	int ret;

	ret = gnutls_privkey_init(&pk);
	if (ret < 0)
		return gnutls_fail(e, ret, "signing key");
	ret = gnutls_privkey_import_x509(pk, issuer_key, 0);
	if (ret >= 0)
		ret = gnutls_x509_crt_privkey_sign(crt, issuer, pk, GNUTLS_DIG_SHA256, 0);
	gnutls_privkey_deinit(pk);
	if (ret < 0)
		return gnutls_fail(e, ret, "signing the certificate");
	return 0;
}

/*
 * A certificate made in memory, read back from its DER: GnuTLS keeps some
 * fields (the raw DNs its trust lists look issuers up by) only from an
 * import, so a fresh CA would not be found as its own issuer otherwise.
 */
static int reimport(gnutls_x509_crt_t *crt, struct skiff_error *e)
{
	gnutls_x509_crt_t fresh;
	gnutls_datum_t der;
	int ret;

	ret = gnutls_x509_crt_export2(*crt, GNUTLS_X509_FMT_DER, &der);
	if (ret < 0)
		return gnutls_fail(e, ret, "certificate");
	ret = gnutls_x509_crt_init(&fresh);
	if (ret >= 0) {
		ret = gnutls_x509_crt_import(fresh, &der, GNUTLS_X509_FMT_DER);
		if (ret < 0)
			gnutls_x509_crt_deinit(fresh);
	}
	gnutls_free(der.data);
	if (ret < 0)
		return gnutls_fail(e, ret, "certificate");
	gnutls_x509_crt_deinit(*crt);
	*crt = fresh;
	return 0;
}

static int check_days(unsigned int days, struct skiff_error *e)
{
	if (days < 1 || days > SKIFF_CERTS_MAX_DAYS)
		return skiff_error_set(e, -EINVAL, "validity of %u days: must be 1..%d", days,
				       SKIFF_CERTS_MAX_DAYS);
	return 0;
}

/* A name in a subject: not empty, no control characters. */
static int check_dn_value(const char *what, const char *s, struct skiff_error *e)
{
	const unsigned char *p;

	if (!s || !*s)
		return skiff_error_set(e, -EINVAL, "%s is empty", what);
	if (strlen(s) > 253)
		return skiff_error_set(e, -EINVAL, "%s '%.40s...' is longer than 253 bytes", what,
				       s);
	for (p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return skiff_error_set(e, -EINVAL, "%s has a control character", what);
	return 0;
}

void skiff_certs_pair_free(struct skiff_certs_pair *p)
{
	if (p->crt)
		gnutls_x509_crt_deinit(p->crt);
	if (p->key)
		gnutls_x509_privkey_deinit(p->key);
	p->crt = NULL;
	p->key = NULL;
}

int skiff_certs_make_ca(const char *cn, unsigned int days, struct skiff_certs_pair *out,
			struct skiff_error *e)
{
	unsigned char id[KEY_ID_MAX];
	size_t id_size = sizeof(id);
	struct skiff_certs_pair ca = { 0 };
	int ret, err;

	if (!cn)
		cn = SKIFF_CERTS_DEFAULT_CA_CN;
	if (!days)
		days = SKIFF_CERTS_CA_DAYS;
	err = check_days(days, e);
	if (!err)
		err = check_dn_value("CA name", cn, e);
	if (err)
		return err;

	err = new_key(&ca.key, e);
	if (err)
		return err;
	err = new_crt(&ca.crt, ca.key, cn, NULL, 0, time(NULL) + (time_t)days * DAY_S, e);
	if (err)
		goto err_pair;
	ret = gnutls_x509_crt_set_basic_constraints(ca.crt, 1, -1);
	if (ret >= 0)
		ret = gnutls_x509_crt_set_key_usage(ca.crt, GNUTLS_KEY_KEY_CERT_SIGN |
						    GNUTLS_KEY_CRL_SIGN |
						    GNUTLS_KEY_DIGITAL_SIGNATURE);
	if (ret >= 0)
		ret = gnutls_x509_crt_get_key_id(ca.crt, GNUTLS_KEYID_USE_SHA1, id, &id_size);
	if (ret >= 0)
		ret = gnutls_x509_crt_set_subject_key_id(ca.crt, id, id_size);
	if (ret < 0) {
		err = gnutls_fail(e, ret, "CA extensions");
		goto err_pair;
	}
	err = sign(ca.crt, ca.crt, ca.key, e);
	if (!err)
		err = reimport(&ca.crt, e);
	if (err)
		goto err_pair;
	*out = ca;
	return 0;

err_pair:
	skiff_certs_pair_free(&ca);
	return err;
}

/* The CA's subject key id, or one computed from its key if it has none. */
static int ca_key_id(gnutls_x509_crt_t ca, unsigned char *id, size_t *size)
{
	size_t max = *size;
	unsigned int critical;
	int ret;

	ret = gnutls_x509_crt_get_subject_key_id(ca, id, size, &critical);
	if (ret >= 0)
		return ret;
	*size = max;
	return gnutls_x509_crt_get_key_id(ca, GNUTLS_KEYID_USE_SHA1, id, size);
}

static int add_san(gnutls_x509_crt_t crt, const char *san, struct skiff_error *e)
{
	unsigned char addr[16];
	const void *data = san;
	unsigned int size = strlen(san);
	gnutls_x509_subject_alt_name_t type = GNUTLS_SAN_DNSNAME;
	int ret;

	ret = skiff_certs_check_san(san, e);
	if (ret)
		return ret;
	if (inet_pton(AF_INET, san, addr) == 1) {
		type = GNUTLS_SAN_IPADDRESS;
		data = addr;
		size = 4;
	} else if (inet_pton(AF_INET6, san, addr) == 1) {
		type = GNUTLS_SAN_IPADDRESS;
		data = addr;
		size = 16;
	}
	ret = gnutls_x509_crt_set_subject_alt_name(crt, type, data, size, GNUTLS_FSAN_APPEND);
	if (ret < 0)
		return gnutls_fail(e, ret, "subject alternative name");
	return 0;
}

static int set_leaf_extensions(gnutls_x509_crt_t crt, gnutls_x509_crt_t ca,
			       const struct skiff_certs_request *req, struct skiff_error *e)
{
	unsigned char id[KEY_ID_MAX];
	size_t id_size = sizeof(id);
	size_t i;
	int ret, err;

	ret = gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
	if (ret >= 0)
		ret = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
						    GNUTLS_KEY_KEY_ENCIPHERMENT);
	if (ret >= 0 && (req->usages & SKIFF_CERTS_SERVER_AUTH))
		ret = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
	if (ret >= 0 && (req->usages & SKIFF_CERTS_CLIENT_AUTH))
		ret = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0);
	if (ret >= 0)
		ret = ca_key_id(ca, id, &id_size);
	if (ret >= 0)
		ret = gnutls_x509_crt_set_authority_key_id(crt, id, id_size);
	if (ret < 0)
		return gnutls_fail(e, ret, "certificate extensions");
	for (i = 0; i < req->n_sans; i++) {
		err = add_san(crt, req->sans[i], e);
		if (err)
			return err;
	}
	return 0;
}

static int check_request(const struct skiff_certs_request *req, struct skiff_error *e)
{
	size_t i;
	int err;

	err = check_dn_value("common name", req->cn, e);
	if (err)
		return err;
	if (req->n_orgs > SKIFF_CERTS_MAX_ORGS)
		return skiff_error_set(e, -EINVAL, "%zu organizations: at most %d", req->n_orgs,
				       SKIFF_CERTS_MAX_ORGS);
	for (i = 0; i < req->n_orgs; i++) {
		err = check_dn_value("organization", req->orgs[i], e);
		if (err)
			return err;
	}
	if (req->n_sans > SKIFF_CERTS_MAX_SANS)
		return skiff_error_set(e, -EINVAL, "%zu SANs: at most %d", req->n_sans,
				       SKIFF_CERTS_MAX_SANS);
	for (i = 0; i < req->n_sans; i++) {
		err = skiff_certs_check_san(req->sans[i], e);
		if (err)
			return err;
	}
	if (!req->usages || (req->usages & ~(SKIFF_CERTS_SERVER_AUTH | SKIFF_CERTS_CLIENT_AUTH)))
		return skiff_error_set(e, -EINVAL, "usages: server auth and/or client auth");
	return req->days ? check_days(req->days, e) : 0;
}

int skiff_certs_issue(const struct skiff_certs_pair *ca, const struct skiff_certs_request *req,
		      struct skiff_certs_pair *out, struct skiff_error *e)
{
	struct skiff_certs_pair leaf = { 0 };
	unsigned int days = req->days ? req->days : SKIFF_CERTS_LEAF_DAYS;
	time_t now = time(NULL), not_after, ca_end;
	char when[32];
	int err;

	err = check_request(req, e);
	if (err)
		return err;
	ca_end = gnutls_x509_crt_get_expiration_time(ca->crt);
	if (ca_end <= now)
		return skiff_error_set(e, -EKEYEXPIRED,
				       "the CA expired on %s: make a new one (certs init --force)",
				       skiff_certs_format_time(ca_end, when, sizeof(when)));
	not_after = now + (time_t)days * DAY_S;
	if (not_after > ca_end)
		not_after = ca_end;

	err = new_key(&leaf.key, e);
	if (err)
		return err;
	err = new_crt(&leaf.crt, leaf.key, req->cn, req->orgs, req->n_orgs, not_after, e);
	if (err)
		goto err_pair;
	err = set_leaf_extensions(leaf.crt, ca->crt, req, e);
	if (err)
		goto err_pair;
	err = sign(leaf.crt, ca->crt, ca->key, e);
	if (!err)
		err = reimport(&leaf.crt, e);
	if (err)
		goto err_pair;
	*out = leaf;
	return 0;

err_pair:
	skiff_certs_pair_free(&leaf);
	return err;
}

/* ---- files -------------------------------------------------------------- */

static int file_error(struct skiff_error *e, int err, const char *path)
{
	if (err == -ENOENT)
		return skiff_error_set(e, err, "%s: no such file", path);
	if (err == -EACCES)
		return skiff_error_set(e, err, "%s: permission denied", path);
	return skiff_error_set(e, err, "%s: %s", path, strerror(-err));
}

/* Reads @path whole; the caller frees (and, for a key, wipes) d->data. */
static int read_file(const char *path, gnutls_datum_t *d, struct skiff_error *e)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return file_error(e, -errno, path);
	if (fstat(fd, &st)) {
		err = file_error(e, -errno, path);
		goto err_fd;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > MAX_FILE_SIZE) {
		err = skiff_error_set(e, -EINVAL, "%s: not a PEM file (%s)", path,
				      S_ISREG(st.st_mode) ? "too large" : "not a regular file");
		goto err_fd;
	}
	d->data = malloc(st.st_size + 1);
	if (!d->data) {
		err = skiff_error_set(e, -ENOMEM, "%s: out of memory", path);
		goto err_fd;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, d->data + got, st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	if (got != (size_t)st.st_size) {
		err = file_error(e, -EIO, path);
		goto err_data;
	}
	d->data[got] = '\0';
	d->size = got;
	close(fd);
	return 0;

err_data:
	free(d->data);
	d->data = NULL;
err_fd:
	close(fd);
	return err;
}

static void wipe_free(gnutls_datum_t *d)
{
	if (!d->data)
		return;
	gnutls_memset(d->data, 0, d->size);
	free(d->data);
	d->data = NULL;
}

int skiff_certs_load_crt(const char *path, gnutls_x509_crt_t *out, struct skiff_error *e)
{
	gnutls_datum_t d = { 0 };
	gnutls_x509_crt_t crt;
	int ret, err;

	err = read_file(path, &d, e);
	if (err)
		return err;
	ret = gnutls_x509_crt_init(&crt);
	if (ret < 0) {
		err = gnutls_fail(e, ret, path);
		goto err_data;
	}
	ret = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM);
	if (ret < 0) {
		err = skiff_error_set(e, -EINVAL, "%s: not a PEM certificate (%s)", path,
				      gnutls_strerror(ret));
		gnutls_x509_crt_deinit(crt);
		goto err_data;
	}
	free(d.data);
	*out = crt;
	return 0;

err_data:
	free(d.data);
	return err;
}

static int load_key(const char *path, gnutls_x509_privkey_t *out, struct skiff_error *e)
{
	gnutls_datum_t d = { 0 };
	gnutls_x509_privkey_t key;
	int ret, err;

	err = read_file(path, &d, e);
	if (err)
		return err;
	ret = gnutls_x509_privkey_init(&key);
	if (ret < 0) {
		err = gnutls_fail(e, ret, path);
		goto err_data;
	}
	ret = gnutls_x509_privkey_import2(key, &d, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN);
	if (ret < 0) {
		err = skiff_error_set(e, -EINVAL, "%s: not a PEM private key (%s)", path,
				      gnutls_strerror(ret));
		gnutls_x509_privkey_deinit(key);
		goto err_data;
	}
	wipe_free(&d);
	*out = key;
	return 0;

err_data:
	wipe_free(&d);
	return err;
}

static int check_key_matches(const struct skiff_certs_pair *p, const char *crt_path,
			     const char *key_path, struct skiff_error *e)
{
	unsigned char crt_id[KEY_ID_MAX], key_id[KEY_ID_MAX];
	size_t crt_size = sizeof(crt_id), key_size = sizeof(key_id);
	int ret;

	ret = gnutls_x509_crt_get_key_id(p->crt, GNUTLS_KEYID_USE_SHA256, crt_id, &crt_size);
	if (ret < 0)
		return gnutls_fail(e, ret, crt_path);
	ret = gnutls_x509_privkey_get_key_id(p->key, GNUTLS_KEYID_USE_SHA256, key_id, &key_size);
	if (ret < 0)
		return gnutls_fail(e, ret, key_path);
	if (crt_size != key_size || memcmp(crt_id, key_id, crt_size))
		return skiff_error_set(e, -EKEYREJECTED, KEY_MISMATCH_FMT, key_path, crt_path);
	return 0;
}

int skiff_certs_load(const char *crt_path, const char *key_path, struct skiff_certs_pair *out,
		     struct skiff_error *e)
{
	struct skiff_certs_pair p = { 0 };
	int err;

	err = skiff_certs_load_crt(crt_path, &p.crt, e);
	if (err)
		return err;
	if (key_path) {
		err = load_key(key_path, &p.key, e);
		if (!err)
			err = check_key_matches(&p, crt_path, key_path, e);
		if (err)
			goto err_pair;
	}
	*out = p;
	return 0;

err_pair:
	skiff_certs_pair_free(&p);
	return err;
}

int skiff_certs_load_ca(const char *dir, struct skiff_certs_pair *ca, struct skiff_error *e)
{
	char crt_path[PATH_MAX], key_path[PATH_MAX];
	unsigned int critical, is_ca = 0;
	int ret, err;

	snprintf(crt_path, sizeof(crt_path), "%s/ca.crt", dir);
	snprintf(key_path, sizeof(key_path), "%s/ca.key", dir);
	if (access(crt_path, F_OK))
		return skiff_error_set(e, -ENOENT, CA_MISSING_FMT, crt_path, dir);
	if (access(key_path, F_OK))
		return skiff_error_set(e, -ENOENT, CA_MISSING_FMT, key_path, dir);
	err = skiff_certs_load(crt_path, key_path, ca, e);
	if (err)
		return err;
	ret = gnutls_x509_crt_get_basic_constraints(ca->crt, &critical, &is_ca, NULL);
	if (ret < 0 || !is_ca) {
		skiff_certs_pair_free(ca);
		return skiff_error_set(e, -EINVAL, "%s is not a CA certificate (no CA:TRUE)",
				       crt_path);
	}
	return 0;
}

/* A temporary file next to @path holding @data, mode @mode, on disk. */
static int write_temp(const char *path, const void *data, size_t len, mode_t mode, char *tmp,
		      size_t tmp_size, struct skiff_error *e)
{
	size_t done = 0;
	ssize_t n;
	int fd, err;

	snprintf(tmp, tmp_size, "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		tmp[0] = '\0';
		return skiff_error_set(e, err, "cannot write %s: %s", path, strerror(-err));
	}
	if (fchmod(fd, mode))
		goto err_errno;
	while (done < len) {
		n = write(fd, (const char *)data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto err_errno;
		done += n;
	}
	if (fsync(fd))
		goto err_errno;
	if (close(fd)) {
		fd = -1;
		goto err_errno;
	}
	return 0;

err_errno:
	err = -errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	tmp[0] = '\0';
	return file_error(e, err, path);
}

static void sync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	fsync(fd);
	close(fd);
}

/*
 * Without @force, link(2) puts the file in place only where no file is:
 * no window in which another writer's file could be replaced.
 */
static int place(const char *tmp, const char *path, bool force, struct skiff_error *e)
{
	if (force ? rename(tmp, path) : link(tmp, path)) {
		if (errno == EEXIST)
			return skiff_error_set(e, -EEXIST, "%s already exists", path);
		return file_error(e, -errno, path);
	}
	return 0;
}

int skiff_certs_save(const struct skiff_certs_pair *p, const char *crt_path,
		     const char *key_path, bool force, struct skiff_error *e)
{
	char crt_tmp[PATH_MAX + 8], key_tmp[PATH_MAX + 8];
	gnutls_datum_t crt = { 0 }, key = { 0 };
	int ret, err;

	crt_tmp[0] = '\0';
	key_tmp[0] = '\0';
	ret = gnutls_x509_crt_export2(p->crt, GNUTLS_X509_FMT_PEM, &crt);
	if (ret < 0)
		return gnutls_fail(e, ret, crt_path);
	ret = gnutls_x509_privkey_export2(p->key, GNUTLS_X509_FMT_PEM, &key);
	if (ret < 0) {
		err = gnutls_fail(e, ret, key_path);
		goto out;
	}
	err = write_temp(key_path, key.data, key.size, 0600, key_tmp, sizeof(key_tmp), e);
	if (!err)
		err = write_temp(crt_path, crt.data, crt.size, 0644, crt_tmp, sizeof(crt_tmp), e);
	if (err)
		goto out;

	if (force) {
		/* The key first: a new certificate is never seen with its old key. */
		err = place(key_tmp, key_path, true, e);
		if (!err)
			err = place(crt_tmp, crt_path, true, e);
	} else {
		err = place(crt_tmp, crt_path, false, e);
		if (!err) {
			err = place(key_tmp, key_path, false, e);
			if (err)
				unlink(crt_path);
		}
	}
	if (!err)
		sync_dir(crt_path);
out:
	if (crt_tmp[0])
		unlink(crt_tmp);
	if (key_tmp[0])
		unlink(key_tmp);
	if (key.data) {
		gnutls_memset(key.data, 0, key.size);
		gnutls_free(key.data);
	}
	gnutls_free(crt.data);
	return err;
}

int skiff_certs_write_file(const char *path, const void *data, size_t len, mode_t mode,
			   bool replace, struct skiff_error *e)
{
	char tmp[PATH_MAX + 8];
	int err;

	err = write_temp(path, data, len, mode, tmp, sizeof(tmp), e);
	if (err)
		return err;
	err = place(tmp, path, replace, e);
	unlink(tmp);
	if (!err)
		sync_dir(path);
	return err;
}

int skiff_certs_read_file(const char *path, char **data, size_t *len, struct skiff_error *e)
{
	gnutls_datum_t d = { 0 };
	int err;

	err = read_file(path, &d, e);
	if (err)
		return err;
	*data = (char *)d.data;
	*len = d.size;
	return 0;
}

/* ---- describing --------------------------------------------------------- */

char *skiff_certs_format_time(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "@%lld", (long long)t);
	return buf;
}

/* The @idx-th value of @oid in the subject (or issuer), NULL when none. */
static int dn_value(gnutls_x509_crt_t crt, bool issuer, const char *oid, unsigned int idx,
		    char **out)
{
	char buf[DN_MAX];
	size_t size = sizeof(buf) - 1;
	int ret;

	*out = NULL;
	if (issuer)
		ret = gnutls_x509_crt_get_issuer_dn_by_oid(crt, oid, idx, 0, buf, &size);
	else
		ret = gnutls_x509_crt_get_dn_by_oid(crt, oid, idx, 0, buf, &size);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return 0;
	if (ret < 0)
		return ret;
	buf[size] = '\0';
	*out = strdup(buf);
	return *out ? 0 : GNUTLS_E_MEMORY_ERROR;
}

static int dn_string(gnutls_x509_crt_t crt, bool issuer, char **out)
{
	gnutls_datum_t dn = { 0 };
	int ret;

	ret = issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0) :
		gnutls_x509_crt_get_dn3(crt, &dn, 0);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		*out = strdup("");
		return *out ? 0 : GNUTLS_E_MEMORY_ERROR;
	}
	if (ret < 0)
		return ret;
	*out = strndup((const char *)dn.data, dn.size);
	gnutls_free(dn.data);
	return *out ? 0 : GNUTLS_E_MEMORY_ERROR;
}

static int describe_names(gnutls_x509_crt_t crt, struct skiff_certs_info *info)
{
	char *org;
	int ret;

	ret = dn_string(crt, false, &info->subject);
	if (ret >= 0)
		ret = dn_string(crt, true, &info->issuer);
	if (ret >= 0)
		ret = dn_value(crt, false, GNUTLS_OID_X520_COMMON_NAME, 0, &info->cn);
	if (ret >= 0)
		ret = dn_value(crt, true, GNUTLS_OID_X520_COMMON_NAME, 0, &info->issuer_cn);
	if (ret < 0)
		return ret;
	if (!info->cn)
		info->cn = strdup("");
	if (!info->issuer_cn)
		info->issuer_cn = strdup("");
	if (!info->cn || !info->issuer_cn)
		return GNUTLS_E_MEMORY_ERROR;
	while (info->n_orgs < SKIFF_CERTS_MAX_ORGS) {
		ret = dn_value(crt, false, GNUTLS_OID_X520_ORGANIZATION_NAME, info->n_orgs, &org);
		if (ret < 0)
			return ret;
		if (!org)
			break;
		info->orgs[info->n_orgs++] = org;
	}
	return 0;
}

static int describe_sans(gnutls_x509_crt_t crt, struct skiff_certs_info *info)
{
	char buf[DN_MAX], text[INET6_ADDRSTRLEN];
	unsigned int seq, critical;
	size_t size;
	char *copy;
	int ret;

	for (seq = 0;; seq++) {
		size = sizeof(buf) - 1;
		ret = gnutls_x509_crt_get_subject_alt_name(crt, seq, buf, &size, &critical);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			return 0;
		if (ret < 0)
			return ret;
		copy = NULL;
		if (ret == GNUTLS_SAN_DNSNAME && info->n_dns < SKIFF_CERTS_MAX_SANS) {
			buf[size] = '\0';
			copy = strdup(buf);
			info->dns[info->n_dns++] = copy;
		} else if (ret == GNUTLS_SAN_IPADDRESS && info->n_ips < SKIFF_CERTS_MAX_SANS &&
			   (size == 4 || size == 16)) {
			inet_ntop(size == 4 ? AF_INET : AF_INET6, buf, text, sizeof(text));
			copy = strdup(text);
			info->ips[info->n_ips++] = copy;
		} else {
			continue;
		}
		if (!copy)
			return GNUTLS_E_MEMORY_ERROR;
	}
}

static void describe_usages(gnutls_x509_crt_t crt, struct skiff_certs_info *info)
{
	unsigned int critical, is_ca = 0, idx;
	char oid[128];
	size_t size;

	if (gnutls_x509_crt_get_basic_constraints(crt, &critical, &is_ca, NULL) >= 0)
		info->is_ca = is_ca;
	if (gnutls_x509_crt_get_key_usage(crt, &info->key_usage, &critical) < 0)
		info->key_usage = 0;
	for (idx = 0;; idx++) {
		size = sizeof(oid);
		if (gnutls_x509_crt_get_key_purpose_oid(crt, idx, oid, &size, &critical) < 0)
			break;
		if (!strcmp(oid, GNUTLS_KP_TLS_WWW_SERVER))
			info->usages |= SKIFF_CERTS_SERVER_AUTH;
		else if (!strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT))
			info->usages |= SKIFF_CERTS_CLIENT_AUTH;
	}
}

static void describe_key(gnutls_x509_crt_t crt, struct skiff_certs_info *info)
{
	gnutls_ecc_curve_t curve;
	unsigned int bits = 0;
	const char *name;
	int algo;

	algo = gnutls_x509_crt_get_pk_algorithm(crt, &bits);
	name = gnutls_pk_algorithm_get_name(algo);
	if (algo == GNUTLS_PK_ECDSA &&
	    gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, NULL, NULL) >= 0) {
		if (curve == GNUTLS_ECC_CURVE_SECP256R1)
			snprintf(info->key_algorithm, sizeof(info->key_algorithm), "ECDSA P-256");
		else if (curve == GNUTLS_ECC_CURVE_SECP384R1)
			snprintf(info->key_algorithm, sizeof(info->key_algorithm), "ECDSA P-384");
		else
			snprintf(info->key_algorithm, sizeof(info->key_algorithm), "ECDSA %s",
				 gnutls_ecc_curve_get_name(curve));
		return;
	}
	snprintf(info->key_algorithm, sizeof(info->key_algorithm), "%s %u",
		 name ? name : "unknown", bits);
}

static void hex(const unsigned char *in, size_t n, const char *sep, char *out, size_t size)
{
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < n && used + 3 < size; i++)
		used += snprintf(out + used, size - used, "%s%02X", i ? sep : "", in[i]);
}

static int describe_ids(gnutls_x509_crt_t crt, struct skiff_certs_info *info)
{
	unsigned char buf[32];
	size_t size = sizeof(buf);
	int ret;

	ret = gnutls_x509_crt_get_serial(crt, buf, &size);
	if (ret < 0)
		return ret;
	hex(buf, size, "", info->serial, sizeof(info->serial));
	size = sizeof(buf);
	ret = gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, buf, &size);
	if (ret < 0)
		return ret;
	hex(buf, size, ":", info->sha256, sizeof(info->sha256));
	return 0;
}

int skiff_certs_describe(gnutls_x509_crt_t crt, struct skiff_certs_info *info,
			 struct skiff_error *e)
{
	int ret;

	memset(info, 0, sizeof(*info));
	ret = describe_names(crt, info);
	if (ret >= 0)
		ret = describe_sans(crt, info);
	if (ret >= 0)
		ret = describe_ids(crt, info);
	if (ret < 0) {
		skiff_certs_info_free(info);
		return gnutls_fail(e, ret, "reading the certificate");
	}
	describe_usages(crt, info);
	describe_key(crt, info);
	info->not_before = gnutls_x509_crt_get_activation_time(crt);
	info->not_after = gnutls_x509_crt_get_expiration_time(crt);
	return 0;
}

void skiff_certs_info_free(struct skiff_certs_info *info)
{
	size_t i;

	free(info->subject);
	free(info->cn);
	free(info->issuer);
	free(info->issuer_cn);
	for (i = 0; i < info->n_orgs; i++)
		free(info->orgs[i]);
	for (i = 0; i < info->n_dns; i++)
		free(info->dns[i]);
	for (i = 0; i < info->n_ips; i++)
		free(info->ips[i]);
	memset(info, 0, sizeof(*info));
}

/* ---- verifying ---------------------------------------------------------- */

static const char *usage_name(unsigned int usage)
{
	return usage == SKIFF_CERTS_SERVER_AUTH ? "server authentication" :
		"client authentication";
}

static void usages_text(unsigned int usages, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", usages & SKIFF_CERTS_SERVER_AUTH ? "server auth" : "",
		 usages == (SKIFF_CERTS_SERVER_AUTH | SKIFF_CERTS_CLIENT_AUTH) ? ", " : "",
		 usages & SKIFF_CERTS_CLIENT_AUTH ? "client auth" : "");
	if (!usages)
		snprintf(buf, size, "none");
}

/* GnuTLS's verdict in words, the most telling reason first. */
static int explain(unsigned int status, const char *crt_path, const char *ca_path,
		   gnutls_x509_crt_t crt, gnutls_x509_crt_t ca, unsigned int usage,
		   struct skiff_error *e)
{
	struct skiff_certs_info info, ca_info = { 0 };
	gnutls_datum_t text = { 0 };
	char when[32], usages[64];
	int err;

	err = skiff_certs_describe(crt, &info, e);
	if (err)
		return err;
	if (ca && skiff_certs_describe(ca, &ca_info, e))
		ca = NULL;
	if (status & GNUTLS_CERT_SIGNATURE_FAILURE) {
		err = skiff_error_set(e, -EBADMSG, TAMPERED_FMT, crt_path, info.issuer);
	} else if ((status & GNUTLS_CERT_SIGNER_NOT_FOUND) && ca &&
		   !strcmp(info.issuer, ca_info.subject)) {
		err = skiff_error_set(e, -EKEYREJECTED, OTHER_CA_FMT, crt_path, info.issuer,
				      ca_path);
	} else if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
		err = skiff_error_set(e, -EKEYREJECTED, UNSIGNED_FMT, crt_path, ca_path,
				      info.issuer, ca ? ca_info.subject : "?");
	} else if (status & GNUTLS_CERT_EXPIRED) {
		err = skiff_error_set(e, -EKEYEXPIRED, "%s expired on %s", crt_path,
				      skiff_certs_format_time(info.not_after, when, sizeof(when)));
	} else if (status & GNUTLS_CERT_NOT_ACTIVATED) {
		err = skiff_error_set(e, -EKEYEXPIRED, "%s is not valid before %s", crt_path,
				      skiff_certs_format_time(info.not_before, when, sizeof(when)));
	} else if (status & GNUTLS_CERT_PURPOSE_MISMATCH) {
		usages_text(info.usages, usages, sizeof(usages));
		err = skiff_error_set(e, -EKEYREJECTED, NO_USAGE_FMT, crt_path, usage_name(usage),
				      usages);
	} else if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text,
								  0) >= 0) {
		err = skiff_error_set(e, -EKEYREJECTED, "%s: %s", crt_path, text.data);
		gnutls_free(text.data);
	} else {
		err = skiff_error_set(e, -EKEYREJECTED, "%s does not verify (status %#x)",
				      crt_path, status);
	}
	skiff_certs_info_free(&info);
	skiff_certs_info_free(&ca_info);
	return err;
}

int skiff_certs_verify(const char *crt_path, const char *ca_path, unsigned int usage,
		       struct skiff_error *e)
{
	gnutls_typed_vdata_st purpose = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (unsigned char *)(usage == SKIFF_CERTS_SERVER_AUTH ?
					  GNUTLS_KP_TLS_WWW_SERVER : GNUTLS_KP_TLS_WWW_CLIENT),
	};
	gnutls_x509_trust_list_t list;
	gnutls_x509_crt_t crt, ca;
	unsigned int status = 0;
	int ret, err;

	err = skiff_certs_load_crt(crt_path, &crt, e);
	if (err)
		return err;
	/* The CA file read ourselves first: its errors in our words. */
	err = skiff_certs_load_crt(ca_path, &ca, e);
	if (err)
		goto err_crt;
	ret = gnutls_x509_trust_list_init(&list, 0);
	if (ret < 0) {
		err = gnutls_fail(e, ret, ca_path);
		goto err_ca;
	}
	/* Every certificate of the file: during a rotation it holds two CAs. */
	ret = gnutls_x509_trust_list_add_trust_file(list, ca_path, NULL, GNUTLS_X509_FMT_PEM, 0,
						    0);
	if (ret <= 0) {
		err = skiff_error_set(e, -EINVAL, "%s: no CA certificate in it", ca_path);
		goto err_list;
	}
	ret = gnutls_x509_trust_list_verify_crt2(list, &crt, 1, &purpose, usage ? 1 : 0, 0,
						 &status, NULL);
	if (ret < 0)
		err = gnutls_fail(e, ret, crt_path);
	else if (status)
		err = explain(status, crt_path, ca_path, crt, ca, usage, e);

err_list:
	gnutls_x509_trust_list_deinit(list, 1);
err_ca:
	gnutls_x509_crt_deinit(ca);
err_crt:
	gnutls_x509_crt_deinit(crt);
	return err;
}

/* ---- names -------------------------------------------------------------- */

static bool is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Kubernetes' IsDNS1123Subdomain: labels of [a-z0-9-], alnum at both ends. */
static bool is_subdomain(const char *s)
{
	size_t len = strlen(s), i;

	if (!len || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		if (is_alnum_lower(s[i]))
			continue;
		if (s[i] != '-' && s[i] != '.')
			return false;
		/* '-' or '.' neither first nor last, and a '.' next to neither. */
		if (i == 0 || i == len - 1)
			return false;
		if (s[i] == '.' && (!is_alnum_lower(s[i - 1]) || !is_alnum_lower(s[i + 1])))
			return false;
	}
	return true;
}

int skiff_certs_check_subdomain(const char *what, const char *name, struct skiff_error *e)
{
	if (is_subdomain(name))
		return 0;
	return skiff_error_set(e, -EINVAL, "%s '%.80s': not a DNS-1123 subdomain (" SUBDOMAIN_RULE
			       ")", what, name);
}

/* The last label of a DNS name is never all digits: that is an IPv4 address. */
static bool looks_numeric(const char *s)
{
	const char *last = strrchr(s, '.');

	last = last ? last + 1 : s;
	return *last && strspn(last, "0123456789") == strlen(last);
}

int skiff_certs_check_san(const char *san, struct skiff_error *e)
{
	unsigned char addr[16];
	const char *name = san;

	if (inet_pton(AF_INET, san, addr) == 1 || inet_pton(AF_INET6, san, addr) == 1)
		return 0;
	if (strchr(san, ':') || looks_numeric(san))
		return skiff_error_set(e, -EINVAL, "SAN '%.80s': not a valid IP address", san);
	if (!strncmp(name, "*.", 2))
		name += 2;
	if (is_subdomain(name))
		return 0;
	return skiff_error_set(e, -EINVAL, "SAN '%.80s': neither an IP address nor a DNS name (%s)",
			       san, SUBDOMAIN_RULE);
}

/* ---- profiles ----------------------------------------------------------- */

/**
 * struct profile - one kind of certificate of the cluster
 * @name: the word `skiffctl certs issue` takes
 * @file: file name base, or its prefix ("node-") when @takes_name
 * @cn: common name, or its prefix when @takes_name
 * @org: the group it is in, or NULL
 * @usages: SKIFF_CERTS_*_AUTH
 * @takes_name: NAME is required (and completes @file and @cn)
 * @takes_sans: --san is allowed (a server certificate)
 * @takes_orgs: --org is allowed
 * @apiserver: the apiserver's default SANs
 * @local_sans: localhost, 127.0.0.1 and ::1 (etcd's server, as kubeadm's)
 */
struct profile {
	const char *name;
	const char *file;
	const char *cn;
	const char *org;
	unsigned int usages;
	bool takes_name;
	bool takes_sans;
	bool takes_orgs;
	bool apiserver;
	bool local_sans;
};

#define SERVER_CLIENT (SKIFF_CERTS_SERVER_AUTH | SKIFF_CERTS_CLIENT_AUTH)

static const struct profile profiles[] = {
	{ .name = "apiserver", .file = "apiserver", .cn = "kube-apiserver",
	  .usages = SERVER_CLIENT, .takes_sans = true, .apiserver = true },
	{ .name = "node", .file = "node-", .cn = "system:node:", .org = "system:nodes",
	  .usages = SERVER_CLIENT, .takes_name = true, .takes_sans = true },
	{ .name = "scheduler", .file = "scheduler", .cn = "system:kube-scheduler",
	  .usages = SKIFF_CERTS_CLIENT_AUTH },
	{ .name = "controller-manager", .file = "controller-manager",
	  .cn = "system:kube-controller-manager", .usages = SKIFF_CERTS_CLIENT_AUTH },
	{ .name = "admin", .file = "admin", .cn = "kubernetes-admin", .org = "system:masters",
	  .usages = SKIFF_CERTS_CLIENT_AUTH },
	{ .name = "user", .file = "user-", .cn = "", .usages = SKIFF_CERTS_CLIENT_AUTH,
	  .takes_name = true, .takes_orgs = true },
	/* etcd serves the apiservers and its peers with the same certificate. */
	{ .name = "etcd-server", .file = "etcd-server", .cn = "kube-etcd",
	  .usages = SERVER_CLIENT, .takes_sans = true, .local_sans = true },
	{ .name = "apiserver-etcd-client", .file = "apiserver-etcd-client",
	  .cn = "kube-apiserver-etcd-client", .usages = SKIFF_CERTS_CLIENT_AUTH },
};

const char skiff_certs_profile_names[] = {
	"apiserver, node NAME, scheduler, controller-manager, admin, user NAME, etcd-server, apiserver-etcd-client"
};

static const char *const local_names[] = { "localhost", "127.0.0.1", "::1" };

static const char *const apiserver_names[] = {
	"localhost",
	"kubernetes",
	"kubernetes.default",
	"kubernetes.default.svc",
	"kubernetes.default.svc.cluster.local",
	"127.0.0.1",
};

/* Adds @san once (addresses compared in their canonical form). */
static int plan_add_san(struct skiff_certs_plan *plan, const char *san, struct skiff_error *e)
{
	char canon[INET6_ADDRSTRLEN];
	unsigned char addr[16];
	size_t i;
	int err;

	err = skiff_certs_check_san(san, e);
	if (err)
		return err;
	if (inet_pton(AF_INET, san, addr) == 1)
		san = inet_ntop(AF_INET, addr, canon, sizeof(canon));
	else if (inet_pton(AF_INET6, san, addr) == 1)
		san = inet_ntop(AF_INET6, addr, canon, sizeof(canon));
	for (i = 0; i < plan->req.n_sans; i++)
		if (!strcmp(plan->sans[i], san))
			return 0;
	if (plan->req.n_sans == SKIFF_CERTS_MAX_SANS)
		return skiff_error_set(e, -EINVAL, "too many SANs: at most %d",
				       SKIFF_CERTS_MAX_SANS);
	plan->sans[plan->req.n_sans] = strdup(san);
	if (!plan->sans[plan->req.n_sans])
		return skiff_error_set(e, -ENOMEM, "out of memory");
	plan->req.n_sans++;
	return 0;
}

/* The first address of one CIDR: kube-apiserver's own ClusterIP. */
static int first_service_ip(const char *cidr, char *out, size_t size, struct skiff_error *e)
{
	unsigned char addr[16];
	char copy[64], *slash, *end;
	int family, bits, i;
	long len;

	snprintf(copy, sizeof(copy), "%s", cidr);
	slash = strchr(copy, '/');
	if (!slash || strlen(cidr) >= sizeof(copy))
		goto bad;
	*slash = '\0';
	family = strchr(copy, ':') ? AF_INET6 : AF_INET;
	bits = family == AF_INET ? 32 : 128;
	if (inet_pton(family, copy, addr) != 1)
		goto bad;
	errno = 0;
	len = strtol(slash + 1, &end, 10);
	if (errno || *end || end == slash + 1 || !isdigit((unsigned char)slash[1]) ||
	    len < 1 || len > bits - 2)
		goto bad;
	for (i = len; i < bits; i++)
		addr[i / 8] &= ~(0x80 >> (i % 8));
	addr[bits / 8 - 1] |= 1;
	inet_ntop(family, addr, out, size);
	return 0;
bad:
	return skiff_error_set(e, -EINVAL,
			       "service CIDR '%s': not an address/prefix-length with room for Services (like 10.96.0.0/12 or fd00::/108)",
			       cidr);
}

static int plan_service_ips(struct skiff_certs_plan *plan, const char *cidrs,
			    struct skiff_error *e)
{
	char ip[INET6_ADDRSTRLEN], *list, *cidr, *save = NULL;
	int err = 0, n = 0;

	list = strdup(cidrs);
	if (!list)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	/* Dual stack, as kube-apiserver's --service-cluster-ip-range: "v4,v6". */
	for (cidr = strtok_r(list, ",", &save); cidr && !err; cidr = strtok_r(NULL, ",", &save)) {
		err = first_service_ip(cidr, ip, sizeof(ip), e);
		if (!err)
			err = plan_add_san(plan, ip, e);
		n++;
	}
	if (!err && !n)
		err = skiff_error_set(e, -EINVAL, "service CIDR '%s' is empty", cidrs);
	free(list);
	return err;
}

/* The machine's name, as a SAN where it is one (lower-cased). */
static int plan_hostname(struct skiff_certs_plan *plan, const char *hostname,
			 struct skiff_error *e)
{
	char name[256];
	size_t i;

	if (hostname) {
		snprintf(name, sizeof(name), "%s", hostname);
	} else if (gethostname(name, sizeof(name))) {
		snprintf(plan->note, sizeof(plan->note), "no hostname: left out of the SANs");
		return 0;
	}
	name[sizeof(name) - 1] = '\0';
	for (i = 0; name[i]; i++)
		name[i] = tolower((unsigned char)name[i]);
	if (!is_subdomain(name) || looks_numeric(name)) {
		snprintf(plan->note, sizeof(plan->note),
			 "hostname '%.200s' is not a DNS name: left out of the SANs", name);
		return 0;
	}
	return plan_add_san(plan, name, e);
}

static int plan_apiserver_sans(struct skiff_certs_plan *plan,
			       const struct skiff_certs_profile_args *args, struct skiff_error *e)
{
	size_t i;
	int err;

	for (i = 0; i < ARRAY_SIZE(apiserver_names); i++) {
		err = plan_add_san(plan, apiserver_names[i], e);
		if (err)
			return err;
	}
	err = plan_service_ips(plan, args->service_cidr ? args->service_cidr :
			       SKIFF_CERTS_DEFAULT_SERVICE_CIDR, e);
	if (!err)
		err = plan_hostname(plan, args->hostname, e);
	return err;
}

/* A user's NAME is a file name too: no '/', not "." or "..". */
static int check_user_name(const char *name, struct skiff_error *e)
{
	int err;

	err = check_dn_value("user name", name, e);
	if (err)
		return err;
	if (strchr(name, '/') || name[0] == '.' || name[0] == '-' || name[0] == ' ')
		return skiff_error_set(e, -EINVAL,
				       "user name '%.80s': no '/', and no '.', '-' or space first",
				       name);
	return 0;
}

static int plan_check_args(const struct profile *p, const struct skiff_certs_profile_args *args,
			   struct skiff_error *e)
{
	if (p->takes_name && !args->name)
		return skiff_error_set(e, -EINVAL, "%s: NAME missing (%s NAME)", p->name, p->name);
	if (!p->takes_name && args->name)
		return skiff_error_set(e, -EINVAL, "%s takes no NAME (got '%s')", p->name,
				       args->name);
	if (!p->takes_sans && args->n_sans)
		return skiff_error_set(e, -EINVAL,
				       "%s is a client certificate: --san is for apiserver and node",
				       p->name);
	if (!p->takes_orgs && args->n_orgs)
		return skiff_error_set(e, -EINVAL,
				       "%s has its groups set: --org is for user certificates",
				       p->name);
	if (!p->apiserver && args->service_cidr)
		return skiff_error_set(e, -EINVAL, "--service-cidr is for the apiserver only");
	if (args->n_orgs > SKIFF_CERTS_MAX_ORGS)
		return skiff_error_set(e, -EINVAL, "too many groups: at most %d",
				       SKIFF_CERTS_MAX_ORGS);
	if (args->days)
		return check_days(args->days, e);
	return 0;
}

static int plan_names(struct skiff_certs_plan *plan, const struct profile *p,
		      const struct skiff_certs_profile_args *args, struct skiff_error *e)
{
	const char *name = p->takes_name ? args->name : "";
	int err;

	if (!strcmp(p->name, "node"))
		err = skiff_certs_check_subdomain("node name", name, e);
	else if (p->takes_name)
		err = check_user_name(name, e);
	else
		err = 0;
	if (err)
		return err;
	snprintf(plan->file, sizeof(plan->file), "%s%s", p->file, name);
	if (asprintf(&plan->cn, "%s%s", p->cn, name) < 0) {
		plan->cn = NULL;
		return skiff_error_set(e, -ENOMEM, "out of memory");
	}
	plan->req.cn = plan->cn;
	return 0;
}

static int plan_orgs(struct skiff_certs_plan *plan, const struct profile *p,
		     const struct skiff_certs_profile_args *args, struct skiff_error *e)
{
	size_t i;
	int err;

	if (p->org) {
		plan->orgs[0] = strdup(p->org);
		if (!plan->orgs[0])
			return skiff_error_set(e, -ENOMEM, "out of memory");
		plan->req.n_orgs = 1;
		return 0;
	}
	for (i = 0; i < args->n_orgs; i++) {
		err = check_dn_value("group (--org)", args->orgs[i], e);
		if (err)
			return err;
		plan->orgs[i] = strdup(args->orgs[i]);
		if (!plan->orgs[i])
			return skiff_error_set(e, -ENOMEM, "out of memory");
		plan->req.n_orgs++;
	}
	return 0;
}

int skiff_certs_plan_profile(const char *profile, const struct skiff_certs_profile_args *args,
			     struct skiff_certs_plan *plan, struct skiff_error *e)
{
	const struct profile *p = NULL;
	size_t i;
	int err;

	memset(plan, 0, sizeof(*plan));
	plan->req.orgs = (const char *const *)plan->orgs;
	plan->req.sans = (const char *const *)plan->sans;
	for (i = 0; i < ARRAY_SIZE(profiles); i++)
		if (!strcmp(profile, profiles[i].name))
			p = &profiles[i];
	if (!p)
		return skiff_error_set(e, -EINVAL, "unknown profile '%s' (profiles: %s)", profile,
				       skiff_certs_profile_names);
	err = plan_check_args(p, args, e);
	if (err)
		return err;
	plan->req.usages = p->usages;
	plan->req.days = args->days ? args->days : SKIFF_CERTS_LEAF_DAYS;

	err = plan_names(plan, p, args, e);
	if (!err)
		err = plan_orgs(plan, p, args, e);
	if (!err && p->apiserver)
		err = plan_apiserver_sans(plan, args, e);
	if (!err && !strcmp(p->name, "node"))
		err = plan_add_san(plan, args->name, e);
	for (i = 0; !err && p->local_sans && i < ARRAY_SIZE(local_names); i++)
		err = plan_add_san(plan, local_names[i], e);
	for (i = 0; !err && i < args->n_sans; i++)
		err = plan_add_san(plan, args->sans[i], e);
	if (err)
		skiff_certs_plan_free(plan);
	return err;
}

void skiff_certs_plan_free(struct skiff_certs_plan *plan)
{
	size_t i;

	free(plan->cn);
	for (i = 0; i < SKIFF_CERTS_MAX_ORGS; i++)
		free(plan->orgs[i]);
	for (i = 0; i < SKIFF_CERTS_MAX_SANS; i++)
		free(plan->sans[i]);
	memset(plan, 0, sizeof(*plan));
}
