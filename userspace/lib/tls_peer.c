// SPDX-License-Identifier: GPL-2.0
/*
 * A TLS client's identity from its certificate (tls_peer.h).
 */

#include <errno.h>

#include <gnutls/x509.h>

#include "tls_peer.h"

/* The CN, then every O value of @crt's subject, to @fn. */
static int read_subject(gnutls_x509_crt_t crt, skiff_tls_subject_fn fn, void *arg)
{
	char buf[1024];
	size_t size = sizeof(buf);
	unsigned int i;
	int rc;

	rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &size);
	if (rc < 0 || !size)
		return -EACCES;	/* no user name: no user (kube's x509 authenticator) */
	rc = fn(buf, size, true, arg);
	for (i = 0; !rc; i++) {
		size = sizeof(buf);
		rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, i, 0,
						   buf, &size);
		if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			return 0;
		if (rc < 0)
			return -EACCES;	/* not all of its groups: not this user */
		rc = size ? fn(buf, size, false, arg) : 0;
	}
	return rc;
}

enum skiff_tls_peer skiff_tls_peer(gnutls_session_t session, skiff_tls_subject_fn fn,
				   void *arg)
{
	gnutls_typed_vdata_st purpose = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT,
	};
	const gnutls_datum_t *peers;
	unsigned int count = 0, status = 0;
	gnutls_x509_crt_t crt;
	int rc;

	peers = gnutls_certificate_get_peers(session, &count);
	if (!peers || !count || gnutls_certificate_type_get(session) != GNUTLS_CRT_X509)
		return SKIFF_TLS_PEER_NONE;
	rc = gnutls_certificate_verify_peers(session, &purpose, 1, &status);
	if (rc < 0 || status)
		return SKIFF_TLS_PEER_INVALID;
	if (gnutls_x509_crt_init(&crt) < 0)
		return SKIFF_TLS_PEER_INVALID;
	rc = gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER);
	if (rc >= 0)
		rc = read_subject(crt, fn, arg);
	gnutls_x509_crt_deinit(crt);
	return rc < 0 ? SKIFF_TLS_PEER_INVALID : SKIFF_TLS_PEER_VALID;
}
