// SPDX-License-Identifier: GPL-2.0
/*
 * connrate: new TCP connections per second, the figure that service DNAT
 * is judged by (every new connection is one lookup of its service).
 *
 *   connrate server [-a ADDR] -p PORT
 *	accepts connections (epoll, non-blocking), writes a few bytes to
 *	each and closes it at once; runs until killed.
 *
 *   connrate client [-d SECONDS] [-c PARALLEL] [-q] ADDR:PORT
 *	for SECONDS (default 5), opens a connection to ADDR:PORT, reads
 *	until end of file and closes it, as fast as it can, with PARALLEL
 *	(default 1) connections in flight at any time (non-blocking sockets
 *	on one epoll). A connection counts when it delivered the server's
 *	bytes and then end of file; one refused, reset or still open at the
 *	end does not. Prints
 *
 *	connrate: N connections, F failed, S s, parallel P: R conn/s
 *
 *	or, with -q, R alone. Exit status 1 when no connection completed.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PARALLEL	1024
#define MAX_EVENTS	64

static const char greeting[] = "connrate\n";

static void usage(void)
{
	fprintf(stderr,
		"Usage: connrate server [-a ADDR] -p PORT\n"
		"       connrate client [-d SECONDS] [-c PARALLEL] [-q] ADDR:PORT\n");
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max,
		      unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || end == s || *end || *out < min || *out > max)
		return -1;
	return 0;
}

/* ---- server ------------------------------------------------------- */

static int server(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned long port = 0;
	int one = 1, fd, ep, opt;

	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	while ((opt = getopt(argc, argv, "a:p:")) != -1) {
		switch (opt) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &sin.sin_addr) != 1)
				usage();
			break;
		case 'p':
			if (parse_uint(optarg, 1, 65535, &port))
				usage();
			break;
		default:
			usage();
		}
	}
	if (!port || optind != argc)
		usage();
	sin.sin_port = htons(port);

	signal(SIGPIPE, SIG_IGN);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("connrate: socket");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(fd, 4096)) {
		perror("connrate: bind/listen");
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		perror("connrate: epoll");
		return 1;
	}
	for (;;) {
		struct epoll_event out;
		int c;

		if (epoll_wait(ep, &out, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("connrate: epoll_wait");
			return 1;
		}
		/* Drain the queue: one wakeup, many connections. */
		while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
			/* A client that went away gets nothing: no matter. */
			ssize_t w = write(c, greeting, sizeof(greeting) - 1);

			(void)w;
			close(c);
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != ECONNABORTED && errno != EINTR &&
		    errno != EMFILE && errno != ENFILE) {
			perror("connrate: accept");
			return 1;
		}
	}
}

/* ---- client ------------------------------------------------------- */

/**
 * struct conn - one connection in flight
 * @fd: its socket, or -1
 * @bytes: bytes read from it so far
 */
struct conn {
	int fd;
	size_t bytes;
};

/**
 * struct client - the client's state
 * @addr: where to connect
 * @ep: the epoll instance
 * @done: connections that completed
 * @failed: connections that did not
 */
struct client {
	struct sockaddr_in addr;
	int ep;
	unsigned long done;
	unsigned long failed;
};

/* Opens a connection for slot @c; the event carries the slot's address. */
static int conn_start(struct client *cl, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };

	c->bytes = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		perror("connrate: socket");
		return -1;
	}
	if (connect(c->fd, (struct sockaddr *)&cl->addr, sizeof(cl->addr)) &&
	    errno != EINPROGRESS) {
		/* Refused at once (e.g. no route): count it, try again. */
		close(c->fd);
		c->fd = -1;
		cl->failed++;
		return 0;
	}
	ev.data.ptr = c;
	if (epoll_ctl(cl->ep, EPOLL_CTL_ADD, c->fd, &ev)) {
		perror("connrate: epoll_ctl");
		return -1;
	}
	return 0;
}

/* Reads what is there; true when the connection is over. */
static bool conn_read(struct client *cl, struct conn *c)
{
	char buf[512];
	ssize_t n;

	for (;;) {
		n = read(c->fd, buf, sizeof(buf));
		if (n > 0) {
			c->bytes += n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	if (n == 0 && c->bytes > 0)
		cl->done++;
	else
		cl->failed++;
	close(c->fd);	/* also takes it out of the epoll set */
	c->fd = -1;
	return true;
}

static int parse_addr_port(const char *s, struct sockaddr_in *sin)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	unsigned long port;

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 ||
	    parse_uint(colon + 1, 1, 65535, &port))
		return -1;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	return 0;
}

static int client(int argc, char **argv)
{
	struct epoll_event events[MAX_EVENTS];
	unsigned long seconds = 5, parallel = 1, i;
	struct client cl = { .done = 0 };
	double start, end, t;
	struct conn *conns;
	bool quiet = false;
	int opt;

	while ((opt = getopt(argc, argv, "d:c:q")) != -1) {
		switch (opt) {
		case 'd':
			if (parse_uint(optarg, 1, 86400, &seconds))
				usage();
			break;
		case 'c':
			if (parse_uint(optarg, 1, MAX_PARALLEL, &parallel))
				usage();
			break;
		case 'q':
			quiet = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || parse_addr_port(argv[optind], &cl.addr))
		usage();

	signal(SIGPIPE, SIG_IGN);
	conns = calloc(parallel, sizeof(*conns));
	cl.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!conns || cl.ep < 0) {
		perror("connrate: setup");
		return 1;
	}
	start = now();
	end = start + seconds;
	for (i = 0; i < parallel; i++)
		if (conn_start(&cl, &conns[i]))
			return 1;
	for (t = start; t < end; t = now()) {
		int n, k;

		n = epoll_wait(cl.ep, events, MAX_EVENTS, 100);
		if (n < 0 && errno != EINTR) {
			perror("connrate: epoll_wait");
			return 1;
		}
		for (k = 0; k < n; k++) {
			struct conn *c = events[k].data.ptr;

			if (conn_read(&cl, c) && conn_start(&cl, c))
				return 1;
		}
		/* A slot whose connect failed at once is started again. */
		for (i = 0; i < parallel; i++)
			if (conns[i].fd < 0 && conn_start(&cl, &conns[i]))
				return 1;
	}
	t -= start;
	if (quiet)
		printf("%.1f\n", cl.done / t);
	else
		printf("connrate: %lu connections, %lu failed, %.2f s, parallel %lu: %.1f conn/s\n",
		       cl.done, cl.failed, t, parallel, cl.done / t);
	for (i = 0; i < parallel; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	free(conns);
	close(cl.ep);
	return cl.done ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "server"))
		return server(argc - 1, argv + 1);
	if (!strcmp(argv[1], "client"))
		return client(argc - 1, argv + 1);
	usage();
	return 2;
}
