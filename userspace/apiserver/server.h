/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Starting and stopping the HTTP server.
 */

#ifndef SKIFF_API_SERVER_H
#define SKIFF_API_SERVER_H

#include <arpa/inet.h>
#include <stdio.h>

struct apiserver;

struct server_options {
	const char *address;
	unsigned int port;
	unsigned int threads;
	unsigned int max_connections;
};

int server_start(struct apiserver *server, const struct server_options *opts,
		 char *err, size_t err_len);
void server_stop(struct apiserver *server);

#endif /* SKIFF_API_SERVER_H */
