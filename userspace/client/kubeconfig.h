/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kubeconfig files, as kubectl and client-go read them and kubeadm writes
 * them: where the apiserver is, how to trust it, who we are to it.
 *
 *	struct skiff_kubeconfig kc;
 *
 *	if (skiff_kubeconfig_load(&kc, ".skiff/kubeconfig", NULL, &e))
 *		fail(e.msg);
 *	c = skiff_client_new_config(loop, &kc);
 *	skiff_kubeconfig_release(&kc);
 *
 * YAML or JSON. The context is current-context or the one named; from it
 * the cluster (server, certificate-authority[-data],
 * insecure-skip-tls-verify) and the user (client-certificate[-data],
 * client-key[-data], token, tokenFile). Relative paths are relative to the
 * kubeconfig's directory; a -data field wins over its file, token over
 * tokenFile, as in client-go.
 *
 * libcurl here is built on GnuTLS, which has no CURLOPT_*_BLOB options:
 * -data fields are handed to it as files. Each is kept in a sealed memfd
 * and named /proc/self/fd/N: a key never lands on a disk, nothing is left
 * behind if the process dies, and no temporary file needs removing (libcurl
 * opens the files again on each new connection, so they must live as long
 * as the configuration). The memfds are close-on-exec: the node agent's
 * children do not inherit them.
 */

#ifndef SKIFF_KUBECONFIG_H
#define SKIFF_KUBECONFIG_H

#include <stdbool.h>

#include <curl/curl.h>

#include "error.h"

/**
 * struct skiff_kubeconfig - one context of a kubeconfig, resolved
 * @path: the file read (NULL when made from a server URL alone)
 * @context: the context's name
 * @cluster: its cluster's name
 * @user: its user's name, NULL when the context names none (anonymous)
 * @namespace: the context's namespace, NULL when it names none
 * @server: "https://127.0.0.1:6443", without a trailing /
 * @ca_file: PEM CA bundle the server is checked against; NULL: the
 *	system's
 * @insecure: insecure-skip-tls-verify: the server is not checked
 * @cert_file: PEM client certificate, NULL: none
 * @key_file: its PEM private key
 * @token: bearer token, NULL: none
 * @fds: the memfds behind /proc/self/fd/N paths above, -1 when unused
 */
struct skiff_kubeconfig {
	char *path;
	char *context;
	char *cluster;
	char *user;
	char *namespace;
	char *server;
	char *ca_file;
	bool insecure;
	char *cert_file;
	char *key_file;
	char *token;
	int fds[3];
};

/*
 * Reads @path and resolves @context (NULL: current-context) into @cfg:
 * 0, or -errno with @e's message naming the file and what is wrong. @cfg
 * is released by the caller only after a 0.
 */
int skiff_kubeconfig_load(struct skiff_kubeconfig *cfg, const char *path,
			  const char *context, struct skiff_error *e);

/* A configuration with @server alone (no TLS settings, no credentials). */
int skiff_kubeconfig_from_server(struct skiff_kubeconfig *cfg,
				 const char *server, struct skiff_error *e);

/* @server replaces @cfg's (a --server flag over a kubeconfig): 0 or -errno. */
int skiff_kubeconfig_set_server(struct skiff_kubeconfig *cfg,
				const char *server, struct skiff_error *e);

/* @dst becomes an independent copy of @src (own memfds): 0 or -errno. */
int skiff_kubeconfig_copy(struct skiff_kubeconfig *dst,
			  const struct skiff_kubeconfig *src);

void skiff_kubeconfig_release(struct skiff_kubeconfig *cfg);

/*
 * Sets @easy's TLS options (CA, client certificate and key, verification,
 * TLS 1.2 or later) and the Authorization: Bearer header from @cfg; again
 * after each curl_easy_reset().
 */
void skiff_kubeconfig_apply(const struct skiff_kubeconfig *cfg, CURL *easy);

/*
 * Writes a kubeconfig as kubeadm does (one cluster, one user, the context
 * "USER@CLUSTER" current, the CA, certificate and key embedded as -data)
 * to @path: mode 0600, atomically (a temporary file renamed over it).
 * @ca_file may be NULL (the system's CAs, or plain http); @cert_file and
 * @key_file go together; @token may be NULL. 0, or -errno with @e set.
 */
int skiff_kubeconfig_write(const char *path, const char *cluster,
			   const char *server, const char *ca_file,
			   const char *user, const char *cert_file,
			   const char *key_file, const char *token,
			   struct skiff_error *e);

#endif /* SKIFF_KUBECONFIG_H */
