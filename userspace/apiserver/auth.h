/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who is asking, and may they: the apiserver's TLS set-up, authentication
 * (client certificates, bearer tokens) and authorization (a fixed policy
 * equal to kube-apiserver's --authorization-mode=Node,RBAC with the
 * bootstrap roles, plus NodeRestriction). See Documentation/apiserver.md,
 * "Security".
 */

#ifndef SKIFF_API_AUTH_H
#define SKIFF_API_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

struct api_request;
struct auth;

/**
 * struct auth_options - the security flags, kube-apiserver's names
 * @tls_cert_file: --tls-cert-file: serve HTTPS with it (NULL: plain HTTP,
 *	loopback only, every request an admin's)
 * @tls_key_file: --tls-private-key-file
 * @client_ca_file: --client-ca-file: client certificates it signed
 *	authenticate
 * @token_file: --token-auth-file: token,user,uid,"group1,group2" lines
 * @kubelet_cert: --kubelet-client-certificate: the log proxy's identity
 * @kubelet_key: --kubelet-client-key
 * @kubelet_ca: --kubelet-certificate-authority: checks the kubelets'
 *	serving certificates
 */
struct auth_options {
	const char *tls_cert_file;
	const char *tls_key_file;
	const char *client_ca_file;
	const char *token_file;
	const char *kubelet_cert;
	const char *kubelet_key;
	const char *kubelet_ca;
};

/**
 * struct auth_user - an authenticated identity, as Kubernetes' user.Info
 * @name: the user name (a certificate's CN)
 * @uid: the uid (tokens), or ""
 * @groups: the groups, NULL-terminated; system:authenticated included
 */
struct auth_user {
	char *name;
	char *uid;
	char **groups;
};

/*
 * Reads and checks every file @opts names: missing or unreadable files, a
 * key that does not match its certificate, a CA file without
 * certificates and a malformed token file line are refused with @err.
 */
int auth_load(const struct auth_options *opts, struct auth **out, char *err,
	      size_t len);
void auth_free(struct auth *a);

/* Serving HTTPS (a --tls-cert-file was given)? */
bool auth_tls(const struct auth *a);

/*
 * Fills @items (at least AUTH_MHD_OPTIONS of them) with the daemon's TLS
 * options, MHD_OPTION_END last; returns the daemon flags to add.
 */
#define AUTH_MHD_OPTIONS 6
unsigned int auth_mhd_options(const struct auth *a,
			      struct MHD_OptionItem *items);

/* MHD_OPTION_NOTIFY_CONNECTION: a connection's cached identity. */
void auth_connection_notify(void *cls, struct MHD_Connection *conn,
			    void **socket_context,
			    enum MHD_ConnectionNotificationCode code);

/*
 * Authenticates and authorizes @req (its path, query, body parsed by
 * nothing else yet). True when it may go on; else the 401 or 403 Status is
 * queued and *ret says how.
 */
bool auth_request(struct api_request *req, enum MHD_Result *ret);

#endif /* SKIFF_API_AUTH_H */
