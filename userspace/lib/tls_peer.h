/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who is at the other end of a TLS session, from its client certificate,
 * for the servers that authenticate them (skiff-apiserver, skiff-node's
 * :10250): verified against the trust list of the session's credentials
 * (chain, validity period, the clientAuth purpose), then read as
 * Kubernetes reads it: the subject's CN is the user, each O a group.
 */

#ifndef SKIFF_TLS_PEER_H
#define SKIFF_TLS_PEER_H

#include <stdbool.h>
#include <stddef.h>

#include <gnutls/gnutls.h>

/* TLS 1.2 and 1.3 only, GnuTLS's defaults otherwise. */
#define SKIFF_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

enum skiff_tls_peer {
	SKIFF_TLS_PEER_NONE,	/* no client certificate */
	SKIFF_TLS_PEER_INVALID,	/* one that does not verify, or has no CN */
	SKIFF_TLS_PEER_VALID,
};

/*
 * Called with the CN first (@is_cn), then each O in order; a non-zero
 * return (-ENOMEM) makes the peer invalid.
 */
typedef int (*skiff_tls_subject_fn)(const char *value, size_t len, bool is_cn, void *arg);

enum skiff_tls_peer skiff_tls_peer(gnutls_session_t session, skiff_tls_subject_fn fn,
				   void *arg);

#endif /* SKIFF_TLS_PEER_H */
