/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A TCP port on loopback that nothing listens on now, the kernel's pick,
 * for the servers a test starts (an apiserver, etcd). A test that cannot
 * have one cannot go on: it bails out.
 */

#ifndef SKIFF_TESTS_FREE_PORT_H
#define SKIFF_TESTS_FREE_PORT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static inline int free_port(void)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(sa);
	int fd, port = -1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(fd, (struct sockaddr *)&sa, &len))
		port = ntohs(sa.sin_port);
	if (port < 0) {
		printf("Bail out! no free port on loopback: %s\n", strerror(errno));
		exit(1);
	}
	close(fd);
	return port;
}

#endif /* SKIFF_TESTS_FREE_PORT_H */
