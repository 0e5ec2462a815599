// SPDX-License-Identifier: GPL-2.0
/*
 * The pod network of one node against the real kernel, in a private
 * network and mount namespace: the bridge and its address, the address
 * book on disk, pod sandboxes that reach each other, the gateway and,
 * masqueraded, a network outside the cluster (a second bridge with a
 * "host" namespace on it), the masquerade table as nft lists it, and the
 * Service route. What it checks, it reads back the way a user would: with
 * ip(8), bridge(8), nft(8) and UDP packets.
 */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "podnet.h"
#include "tap.h"

#define BRIDGE		"skb0"
#define EXT_BRIDGE	"skext"
#define MTU		1450
#define PORT		7777
#define DEADLINE_MS	5000
#define OUT_LEN		8192
#define MAX_ARGS	16

static char dir[32];
static char out[OUT_LEN];

static struct in_addr ip(const char *s)
{
	struct in_addr a = { 0 };

	inet_pton(AF_INET, s, &a);
	return a;
}

static const char *ntoa(struct in_addr a)
{
	static char buf[4][INET_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 4;
	return inet_ntop(AF_INET, &a, buf[i], INET_ADDRSTRLEN);
}

static const char *path(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static bool exists(const char *p)
{
	struct stat st;

	return !lstat(p, &st);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs @argv, its output into out: its exit status, or -1. */
static int runv(char **argv)
{
	posix_spawn_file_actions_t fa;
	int fds[2], status = -1;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	/* What a refusal prints is not the test's output. */
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ))
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	while ((n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += n;
	out[len] = '\0';
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Appends the arguments up to NULL to @argv, from @i: the new count. */
static int args(char **argv, int i, va_list ap)
{
	while (i < MAX_ARGS - 1 && (argv[i] = va_arg(ap, char *)))
		i++;
	argv[i] = NULL;
	return i;
}

/* Runs a program with the arguments up to NULL. */
static int run(const char *prog, ...)
{
	char *argv[MAX_ARGS] = { (char *)prog };
	va_list ap;

	va_start(ap, prog);
	args(argv, 1, ap);
	va_end(ap);
	return runv(argv);
}

/* `ip -o ARGS...` in the network namespace at @ns (NULL: the node's). */
static int ip_in(const char *ns, ...)
{
	char *argv[MAX_ARGS], net[300];
	va_list ap;
	int i = 0;

	if (ns) {
		snprintf(net, sizeof(net), "--net=%s", ns);
		argv[i++] = "nsenter";
		argv[i++] = net;
	}
	argv[i++] = "ip";
	argv[i++] = "-o";
	va_start(ap, ns);
	args(argv, i, ap);
	va_end(ap);
	return runv(argv);
}

static int count(const char *s, const char *what)
{
	int n = 0;

	for (s = strstr(s, what); s; s = strstr(s + 1, what))
		n++;
	return n;
}

static int lines(const char *s)
{
	return count(s, "\n");
}

static bool link_exists(const char *ns, const char *name)
{
	return ip_in(ns, "link", "show", "dev", name, NULL) == 0;
}

static int link_index(const char *ns, const char *name)
{
	if (ip_in(ns, "link", "show", "dev", name, NULL))
		return -1;
	return atoi(out);
}

/* ---- UDP both ways ----------------------------------------------------- */

static int ns_open(const char *ns)
{
	return ns ? open(ns, O_RDONLY | O_CLOEXEC) : open("/proc/self/ns/net",
							  O_RDONLY | O_CLOEXEC);
}

static void child_exchange(const char *from_ns, const char *to_ns,
			   struct in_addr to, int report)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(PORT),
				   .sin_addr = to };
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	int from = ns_open(from_ns), tons = ns_open(to_ns);
	int64_t deadline = now_ms() + DEADLINE_MS;
	struct pollfd pfd;
	char buf[16];
	int rs, ss;

	if (from < 0 || tons < 0 || setns(tons, CLONE_NEWNET) < 0)
		_exit(2);
	rs = socket(AF_INET, SOCK_DGRAM, 0);
	if (rs < 0 || bind(rs, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		_exit(3);
	if (setns(from, CLONE_NEWNET) < 0)
		_exit(4);
	ss = socket(AF_INET, SOCK_DGRAM, 0);
	if (ss < 0)
		_exit(5);
	/* Sent again until it arrives: the first may wait on ARP. */
	pfd.fd = rs;
	pfd.events = POLLIN;
	do {
		sendto(ss, "ping", 4, 0, (struct sockaddr *)&dst, sizeof(dst));
		if (now_ms() > deadline)
			_exit(6);
	} while (poll(&pfd, 1, 200) != 1);
	if (recvfrom(rs, buf, sizeof(buf), 0, (struct sockaddr *)&peer,
		     &plen) != 4)
		_exit(7);
	if (sendto(rs, "pong", 4, 0, (struct sockaddr *)&peer, plen) != 4)
		_exit(8);
	pfd.fd = ss;
	if (poll(&pfd, 1, DEADLINE_MS) != 1 || recv(ss, buf, sizeof(buf), 0) != 4 ||
	    memcmp(buf, "pong", 4))
		_exit(9);
	if (write(report, &peer.sin_addr, sizeof(peer.sin_addr)) != 4)
		_exit(10);
	_exit(0);
}

/*
 * A datagram from a socket in @from_ns to @to (a socket in @to_ns) and
 * an answer back; the source address the receiver saw into *@seen.
 * Returns the child's status: 0 when both ways worked.
 */
static int udp_exchange(const char *from_ns, const char *to_ns,
			struct in_addr to, struct in_addr *seen)
{
	int fds[2], status;
	pid_t pid;

	seen->s_addr = 0;
	if (pipe(fds) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		child_exchange(from_ns, to_ns, to, fds[1]);
	}
	close(fds[1]);
	if (pid < 0)
		return -1;
	if (read(fds[0], seen, sizeof(*seen)) != sizeof(*seen))
		seen->s_addr = 0;
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- the bridge -------------------------------------------------------- */

static void test_bridge(void)
{
	struct skiff_error e;
	int idx, err;

	err = skiff_bridge_setup(BRIDGE, ip("10.244.1.0"), 24, MTU, &e);
	if (!tap_is_int(err, 0, "bridge set up"))
		skiff_error_print("bridge", &e);
	ip_in(NULL, "-d", "link", "show", "dev", BRIDGE, NULL);
	tap_ok(strstr(out, "mtu 1450") && strstr(out, ",UP") &&
	       strstr(out, "bridge "), "it is a bridge, up, with the MTU");
	ip_in(NULL, "-4", "addr", "show", "dev", BRIDGE, NULL);
	tap_ok(lines(out) == 1 && strstr(out, "inet 10.244.1.1/24 brd 10.244.1.255"),
	       "it holds the subnet's first address");

	idx = link_index(NULL, BRIDGE);
	err = skiff_bridge_setup(BRIDGE, ip("10.244.1.0"), 24, MTU, &e);
	tap_is_int(err, 0, "set up again");
	tap_is_int(link_index(NULL, BRIDGE), idx, "same bridge, not made again");
	ip_in(NULL, "-4", "addr", "show", "dev", BRIDGE, NULL);
	tap_is_int(lines(out), 1, "still one address");

	run("ip", "addr", "add", "10.9.9.1/16", "dev", BRIDGE, NULL);
	run("ip", "addr", "add", "10.244.1.1/16", "dev", BRIDGE, NULL);
	err = skiff_bridge_setup(BRIDGE, ip("10.244.1.0"), 24, MTU, &e);
	tap_is_int(err, 0, "set up over stale addresses");
	ip_in(NULL, "-4", "addr", "show", "dev", BRIDGE, NULL);
	tap_ok(lines(out) == 1 && strstr(out, "inet 10.244.1.1/24 "),
	       "stale addresses replaced by the subnet's");

	err = skiff_bridge_setup("bad/name", ip("10.244.1.0"), 24, MTU, &e);
	tap_is_int(err, -EINVAL, "invalid bridge name refused (%s)", e.msg);
	err = skiff_bridge_setup("skb9", ip("10.244.1.5"), 24, MTU, &e);
	tap_is_int(err, -EINVAL, "subnet with host bits refused (%s)", e.msg);
	err = skiff_bridge_setup("skb9", ip("10.244.1.0"), 31, MTU, &e);
	tap_is_int(err, -EINVAL, "a /31 refused (%s)", e.msg);
	err = skiff_bridge_setup("skb9", ip("10.244.1.0"), 24, 20, &e);
	tap_is_int(err, -EINVAL, "MTU 20 refused (%s)", e.msg);
	tap_ok(!link_exists(NULL, "skb9"), "no bridge made by refused calls");
	err = skiff_bridge_setup("lo", ip("10.244.1.0"), 24, MTU, &e);
	tap_is_int(err, -EEXIST, "a device that is not a bridge refused (%s)",
		   e.msg);
	ip_in(NULL, "-4", "addr", "show", "dev", "lo", NULL);
	tap_ok(!strstr(out, "10.244.1.1"), "and left as it was");
}

/* ---- the address book -------------------------------------------------- */

struct owners {
	int count;
	char list[8][64];
};

static int collect(struct in_addr addr, const char *owner, void *arg)
{
	struct owners *o = arg;

	if (o->count < 8)
		snprintf(o->list[o->count], 64, "%s=%s", ntoa(addr), owner);
	o->count++;
	return 0;
}

static bool owned(const struct owners *o, const char *entry)
{
	int i;

	for (i = 0; i < o->count && i < 8; i++)
		if (!strcmp(o->list[i], entry))
			return true;
	return false;
}

static const char *addr_of(struct skiff_ipam *ipam, const char *owner, int *err)
{
	struct skiff_error e;
	struct in_addr a = { 0 };

	*err = skiff_ipam_get(ipam, owner, &a, &e);
	if (*err)
		tap_diag("get %s: %s", owner, e.msg);
	return *err ? "" : ntoa(a);
}

static void test_ipam(void)
{
	const char *book = path("ipam/book");
	struct skiff_ipam *ipam = NULL, *other = NULL;
	struct owners o = { 0 };
	char text[64], long_owner[255];
	struct skiff_error e;
	struct in_addr a;
	int err, fd;
	ssize_t n;

	err = skiff_ipam_open(&ipam, book, ip("10.244.1.0"), 29, &e);
	if (!tap_is_int(err, 0, "book opened (directories made)"))
		return;
	tap_is_str(addr_of(ipam, "uid-a", &err), "10.244.1.2", "first address after the gateway");
	tap_is_str(addr_of(ipam, "uid-b", &err), "10.244.1.3", "the next for another pod");
	tap_is_str(addr_of(ipam, "uid-c", &err), "10.244.1.4", "and the next");
	tap_is_str(addr_of(ipam, "uid-a", &err), "10.244.1.2", "same owner, same address");

	fd = open(path("ipam/book/10.244.1.2"), O_RDONLY);
	n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	text[n < 0 ? 0 : n] = '\0';
	if (fd >= 0)
		close(fd);
	tap_is_str(text, "uid-a\n", "the address's file names its owner");

	skiff_ipam_close(ipam);
	err = skiff_ipam_open(&ipam, book, ip("10.244.1.0"), 29, &e);
	tap_is_int(err, 0, "reopened");
	tap_is_str(addr_of(ipam, "uid-b", &err), "10.244.1.3",
		   "addresses persist across close and open");
	skiff_ipam_for_each(ipam, collect, &o);
	tap_ok(o.count == 3 && owned(&o, "10.244.1.2=uid-a") &&
	       owned(&o, "10.244.1.3=uid-b") && owned(&o, "10.244.1.4=uid-c"),
	       "for_each lists the three with their owners");

	tap_is_int(skiff_ipam_release(ipam, "uid-b"), 0, "release");
	tap_is_int(skiff_ipam_release(ipam, "uid-b"), 0, "release again");
	tap_is_int(skiff_ipam_release(ipam, "nobody"), 0, "release of an owner without one");
	tap_ok(!exists(path("ipam/book/10.244.1.3")), "its file is gone");
	tap_is_str(addr_of(ipam, "uid-d", &err), "10.244.1.5",
		   "round robin: the address just freed is not next");
	tap_is_str(addr_of(ipam, "uid-e", &err), "10.244.1.6", "the last of the /29");
	tap_is_str(addr_of(ipam, "uid-f", &err), "10.244.1.3", "wraps to the freed one");
	err = skiff_ipam_get(ipam, "uid-g", &a, &e);
	tap_is_int(err, -ENOSPC, "a full /29 says so (%s)", e.msg);
	tap_is_str(addr_of(ipam, "uid-e", &err), "10.244.1.6", "a full book still answers owners");

	err = skiff_ipam_get(ipam, "", &a, &e);
	tap_is_int(err, -EINVAL, "empty owner refused (%s)", e.msg);
	err = skiff_ipam_get(ipam, "a/b", &a, &e);
	tap_is_int(err, -EINVAL, "owner with a slash refused");
	err = skiff_ipam_get(ipam, "a\nb", &a, &e);
	tap_is_int(err, -EINVAL, "owner with a newline refused");
	memset(long_owner, 'x', sizeof(long_owner) - 1);
	long_owner[sizeof(long_owner) - 1] = '\0';
	err = skiff_ipam_get(ipam, long_owner, &a, &e);
	tap_is_int(err, -EINVAL, "owner of 254 characters refused");
	tap_is_int(skiff_ipam_release(ipam, "../x"), -EINVAL, "release of a bad owner refused");
	skiff_ipam_close(ipam);

	err = skiff_ipam_open(&other, book, ip("10.244.2.0"), 29, &e);
	tap_ok(err == -EEXIST && strstr(e.msg, "10.244.1.0/29") &&
	       strstr(e.msg, "10.244.2.0/29"), "a book of another subnet refused (%s)", e.msg);
	err = skiff_ipam_open(&other, path("ipam/x"), ip("10.244.1.0"), 31, &e);
	tap_is_int(err, -EINVAL, "a /31 refused (%s)", e.msg);
	err = skiff_ipam_open(&other, path("ipam/x"), ip("10.0.0.0"), 7, &e);
	tap_is_int(err, -EINVAL, "a /7 refused");
	err = skiff_ipam_open(&other, path("ipam/x"), ip("10.244.1.8"), 24, &e);
	tap_is_int(err, -EINVAL, "host bits refused (%s)", e.msg);
	err = skiff_ipam_open(&other, "", ip("10.244.1.0"), 24, &e);
	tap_is_int(err, -EINVAL, "no directory refused (%s)", e.msg);
	tap_ok(!exists(path("ipam/x")), "no directory made by refused opens");
}

/* ---- sandboxes --------------------------------------------------------- */

static void sandbox(struct skiff_sandbox *sb, const char *uid, const char *ns,
		    const char *bridge, const char *addr, const char *gw)
{
	memset(sb, 0, sizeof(*sb));
	sb->netns_path = path(ns);
	sb->bridge = bridge;
	skiff_sandbox_veth_name(uid, sb->host_veth);
	sb->addr = ip(addr);
	sb->prefix_len = 24;
	sb->gateway = ip(gw);
	sb->mtu = MTU;
}

static char ns_a[256], ns_b[256];

static void test_veth_name(void)
{
	char a[16], a2[16], b[16];

	skiff_sandbox_veth_name("0b5c9a3e-1111-2222-3333-444455556666", a);
	skiff_sandbox_veth_name("0b5c9a3e-1111-2222-3333-444455556666", a2);
	skiff_sandbox_veth_name("0b5c9a3e-1111-2222-3333-444455556667", b);
	tap_ok(!strcmp(a, a2) && strcmp(a, b) && strlen(a) == 12 &&
	       !strncmp(a, "veth", 4) && strspn(a + 4, "0123456789abcdef") == 8,
	       "veth names: veth + 8 hex digits, stable, per pod (%s)", a);
}

static void test_sandbox(void)
{
	struct skiff_sandbox a, b, c;
	struct skiff_error e;
	struct in_addr seen;
	int err, idx;

	mkdir(path("netns"), 0755);
	sandbox(&a, "pod-a", "netns/a", BRIDGE, "10.244.1.10", "10.244.1.1");
	sandbox(&b, "pod-b", "netns/b", BRIDGE, "10.244.1.11", "10.244.1.1");
	snprintf(ns_a, sizeof(ns_a), "%s", a.netns_path);
	snprintf(ns_b, sizeof(ns_b), "%s", b.netns_path);
	a.netns_path = ns_a;
	b.netns_path = ns_b;

	err = skiff_sandbox_create(&a, &e);
	if (!tap_is_int(err, 0, "sandbox a created"))
		skiff_error_print("a", &e);
	err = skiff_sandbox_create(&b, &e);
	if (!tap_is_int(err, 0, "sandbox b created"))
		skiff_error_print("b", &e);
	tap_ok(skiff_sandbox_exists(ns_a) && skiff_sandbox_exists(ns_b),
	       "both are mounted network namespaces");
	tap_ok(!skiff_sandbox_exists(path("ipam")) && !skiff_sandbox_exists("/nonexistent"),
	       "a directory or nothing is not one");

	ip_in(ns_a, "link", "show", "dev", "eth0", NULL);
	tap_ok(strstr(out, "mtu 1450") && strstr(out, ",UP") &&
	       strstr(out, "link/ether 0a:58:0a:f4:01:0a"),
	       "a: eth0 up with the MTU and a MAC made of its address");
	ip_in(ns_a, "-4", "addr", "show", "dev", "eth0", NULL);
	tap_ok(lines(out) == 1 && strstr(out, "inet 10.244.1.10/24 brd 10.244.1.255"),
	       "a: eth0 has the pod's address");
	ip_in(ns_a, "link", "show", "dev", "lo", NULL);
	tap_ok(strstr(out, "<LOOPBACK,UP"), "a: lo up");
	ip_in(ns_a, "route", "show", "default", NULL);
	tap_ok(strstr(out, "default via 10.244.1.1 dev eth0"), "a: default route via the gateway");
	ip_in(NULL, "link", "show", "dev", a.host_veth, NULL);
	tap_ok(strstr(out, "mtu 1450") && strstr(out, "master " BRIDGE) &&
	       strstr(out, ",UP"), "host side on the bridge, up, with the MTU");
	run("bridge", "-d", "link", "show", "dev", a.host_veth, NULL);
	tap_ok(strstr(out, "hairpin on"), "hairpin on for the host side");

	err = udp_exchange(ns_a, ns_b, b.addr, &seen);
	tap_ok(!err && seen.s_addr == a.addr.s_addr,
	       "a and b talk, b sees a's own address (status %d, seen %s)", err, ntoa(seen));
	err = udp_exchange(ns_b, NULL, b.gateway, &seen);
	tap_ok(!err && seen.s_addr == b.addr.s_addr, "b reaches the gateway (status %d)", err);

	idx = link_index(ns_a, "eth0");
	err = skiff_sandbox_create(&a, &e);
	tap_is_int(err, 0, "create again");
	tap_is_int(link_index(ns_a, "eth0"), idx, "the same eth0, not made again");

	run("ip", "link", "del", a.host_veth, NULL);
	tap_ok(!link_exists(ns_a, "eth0"), "pair of a deleted behind our back");
	err = skiff_sandbox_create(&a, &e);
	tap_is_int(err, 0, "create again completes it");
	err = udp_exchange(ns_b, ns_a, a.addr, &seen);
	tap_ok(!err && seen.s_addr == b.addr.s_addr, "b reaches a again (status %d)", err);

	/* c's host side is taken by a device that is not ours. */
	sandbox(&c, "pod-c", "netns/c", BRIDGE, "10.244.1.12", "10.244.1.1");
	run("ip", "link", "add", c.host_veth, "type", "bridge", NULL);
	err = skiff_sandbox_create(&c, &e);
	tap_is_int(err, -EEXIST, "create failing halfway (%s)", e.msg);
	tap_ok(!exists(c.netns_path), "leaves no namespace file behind");
	run("ip", "link", "del", c.host_veth, NULL);

	c.addr = ip("10.245.0.5");
	err = skiff_sandbox_create(&c, &e);
	tap_is_int(err, -EINVAL, "an address outside the subnet refused (%s)", e.msg);
	c.addr = ip("10.244.1.255");
	err = skiff_sandbox_create(&c, &e);
	tap_is_int(err, -EINVAL, "the broadcast address refused");
	c.addr = ip("10.244.1.1");
	err = skiff_sandbox_create(&c, &e);
	tap_is_int(err, -EINVAL, "the gateway's address refused");
	c.addr = ip("10.244.1.12");
	c.bridge = "no/such";
	err = skiff_sandbox_create(&c, &e);
	tap_is_int(err, -EINVAL, "an invalid bridge name refused (%s)", e.msg);
	c.bridge = "nosuchbr";
	err = skiff_sandbox_create(&c, &e);
	tap_is_int(err, -ENODEV, "a missing bridge refused (%s)", e.msg);
	c.bridge = "lo";
	err = skiff_sandbox_create(&c, &e);
	tap_is_int(err, -EEXIST, "a device that is not a bridge refused (%s)", e.msg);
	c.bridge = BRIDGE;
	c.mtu = 30;
	err = skiff_sandbox_create(&c, &e);
	tap_is_int(err, -EINVAL, "MTU 30 refused (%s)", e.msg);
	c.mtu = MTU;
	c.prefix_len = 31;
	err = skiff_sandbox_create(&c, &e);
	tap_is_int(err, -EINVAL, "a /31 refused (%s)", e.msg);
	c.prefix_len = 24;
	c.gateway = ip("10.244.1.0");
	err = skiff_sandbox_create(&c, &e);
	tap_is_int(err, -EINVAL, "a gateway that is the network address refused (%s)", e.msg);
	c.gateway = ip("10.244.1.1");
	snprintf(c.host_veth, sizeof(c.host_veth), "bad veth");
	err = skiff_sandbox_create(&c, &e);
	tap_is_int(err, -EINVAL, "an invalid host veth name refused (%s)", e.msg);
	skiff_sandbox_veth_name("pod-c", c.host_veth);
	c.netns_path = "netns/c";
	err = skiff_sandbox_create(&c, &e);
	tap_is_int(err, -EINVAL, "a relative namespace path refused (%s)", e.msg);
	c.netns_path = path("netns/c");
	tap_ok(!exists(c.netns_path) && !link_exists(NULL, c.host_veth),
	       "refused creates leave no namespace file and no veth");

	err = skiff_sandbox_destroy(ns_a, a.host_veth, &e);
	tap_is_int(err, 0, "a destroyed");
	tap_ok(!exists(ns_a) && !link_exists(NULL, a.host_veth),
	       "its namespace file and host veth are gone");
	err = skiff_sandbox_destroy(ns_a, a.host_veth, &e);
	tap_is_int(err, 0, "destroy again is fine");
	err = skiff_sandbox_destroy("relative", NULL, &e);
	tap_is_int(err, -EINVAL, "destroy of a relative path refused");
	err = skiff_sandbox_destroy(ns_b, "bad/name", &e);
	tap_ok(err == -EINVAL && skiff_sandbox_exists(ns_b),
	       "destroy with an invalid veth name refused, b left as it was");
}

/* ---- node-wide rules --------------------------------------------------- */

#define MASQ_RULE(pod) \
	"ip saddr " pod " ip daddr != 10.244.0.0/16 ip daddr != 224.0.0.0/4 " \
	"masquerade fully-random"

static void test_masquerade(void)
{
	struct skiff_sandbox ext;
	struct skiff_error e;
	struct in_addr seen;
	char fwd[8] = "";
	int err, fd;

	err = skiff_podnet_masquerade(ip("10.244.1.0"), 24, ip("10.244.0.0"), 16, &e);
	if (!tap_is_int(err, 0, "masquerade set"))
		skiff_error_print("masquerade", &e);
	run("nft", "list", "table", "ip", "skiff-node", NULL);
	tap_ok(strstr(out, "type nat hook postrouting priority srcnat") &&
	       strstr(out, MASQ_RULE("10.244.1.0/24")), "nft lists the chain and rule");
	fd = open("/proc/sys/net/ipv4/ip_forward", O_RDONLY);
	if (fd >= 0 && read(fd, fwd, sizeof(fwd) - 1) < 0)
		fwd[0] = '\0';
	if (fd >= 0)
		close(fd);
	tap_is_str(fwd, "1\n", "IP forwarding on");

	/* Outside the cluster: a network on a second bridge, "the internet". */
	skiff_bridge_setup(EXT_BRIDGE, ip("192.168.50.0"), 24, 1500, &e);
	sandbox(&ext, "ext", "netns/ext", EXT_BRIDGE, "192.168.50.2", "192.168.50.1");
	err = skiff_sandbox_create(&ext, &e);
	tap_is_int(err, 0, "a host outside the cluster");
	err = udp_exchange(ns_b, ext.netns_path, ext.addr, &seen);
	tap_ok(!err && seen.s_addr == ip("192.168.50.1").s_addr,
	       "pod to outside: masqueraded to the node's address (status %d, seen %s)",
	       err, ntoa(seen));
	err = udp_exchange(ext.netns_path, ns_b, ip("10.244.1.11"), &seen);
	tap_ok(!err && seen.s_addr == ext.addr.s_addr,
	       "outside to pod: the source is kept (status %d, seen %s)", err, ntoa(seen));

	err = skiff_podnet_masquerade(ip("10.244.2.0"), 24, ip("10.244.0.0"), 16, &e);
	tap_is_int(err, 0, "masquerade set for another subnet");
	run("nft", "list", "table", "ip", "skiff-node", NULL);
	tap_ok(strstr(out, MASQ_RULE("10.244.2.0/24")) && !strstr(out, "10.244.1.0/24"),
	       "the table is replaced, not added to");
	err = skiff_podnet_masquerade(ip("10.244.2.0"), 24, ip("10.244.0.0"), 16, &e);
	run("nft", "list", "table", "ip", "skiff-node", NULL);
	tap_ok(!err && count(out, "masquerade") == 1, "the same again: still one rule");

	err = skiff_podnet_masquerade(ip("10.245.1.0"), 24, ip("10.244.0.0"), 16, &e);
	tap_is_int(err, -EINVAL, "a pod CIDR outside the cluster CIDR refused (%s)", e.msg);
	err = skiff_podnet_masquerade(ip("10.244.1.1"), 24, ip("10.244.0.0"), 16, &e);
	tap_is_int(err, -EINVAL, "host bits refused (%s)", e.msg);
	err = skiff_podnet_masquerade(ip("10.244.1.0"), 24, ip("0.0.0.0"), 0, &e);
	tap_is_int(err, -EINVAL, "a cluster CIDR of length 0 refused (%s)", e.msg);
	run("nft", "list", "table", "ip", "skiff-node", NULL);
	tap_ok(strstr(out, MASQ_RULE("10.244.2.0/24")),
	       "refused calls leave the table as it was");

	tap_is_int(skiff_podnet_masquerade_del(&e), 0, "masquerade removed");
	tap_ok(run("nft", "list", "table", "ip", "skiff-node", NULL) != 0, "the table is gone");
	tap_is_int(skiff_podnet_masquerade_del(&e), 0, "removed again: fine");

	skiff_sandbox_destroy(ext.netns_path, ext.host_veth, &e);
}

static void test_service_route(void)
{
	struct sockaddr_in vip = { .sin_family = AF_INET, .sin_port = htons(53),
				   .sin_addr = ip("10.96.0.10") };
	struct sockaddr_in src;
	socklen_t len = sizeof(src);
	struct skiff_error e;
	int err, s;

	err = skiff_podnet_service_route(BRIDGE, ip("10.96.0.0"), 12, ip("10.244.1.1"), &e);
	if (!tap_is_int(err, 0, "service route set"))
		skiff_error_print("route", &e);
	err = skiff_podnet_service_route(BRIDGE, ip("10.96.0.0"), 12, ip("10.244.1.1"), &e);
	tap_is_int(err, 0, "set again");
	ip_in(NULL, "route", "show", "10.96.0.0/12", NULL);
	tap_ok(lines(out) == 1 && strstr(out, "dev " BRIDGE) &&
	       strstr(out, "src 10.244.1.1"), "one route through the bridge, from its address");
	s = socket(AF_INET, SOCK_DGRAM, 0);
	err = connect(s, (struct sockaddr *)&vip, sizeof(vip));
	getsockname(s, (struct sockaddr *)&src, &len);
	close(s);
	tap_ok(!err && src.sin_addr.s_addr == ip("10.244.1.1").s_addr,
	       "the node reaches a Service IP from the bridge's address");

	err = skiff_podnet_service_route("nosuch", ip("10.96.0.0"), 12, ip("10.244.1.1"), &e);
	tap_is_int(err, -ENODEV, "a missing device refused (%s)", e.msg);
	err = skiff_podnet_service_route(BRIDGE, ip("10.96.0.1"), 12, ip("10.244.1.1"), &e);
	tap_is_int(err, -EINVAL, "host bits refused (%s)", e.msg);
	err = skiff_podnet_service_route(BRIDGE, ip("10.96.0.0"), 12, ip("0.0.0.0"), &e);
	tap_is_int(err, -EINVAL, "no source refused (%s)", e.msg);
	err = skiff_podnet_service_route(BRIDGE, ip("10.96.0.0"), 33, ip("10.244.1.1"), &e);
	tap_is_int(err, -EINVAL, "prefix length 33 refused (%s)", e.msg);
	err = skiff_podnet_service_route("bad/name", ip("10.96.0.0"), 12, ip("10.244.1.1"), &e);
	tap_is_int(err, -EINVAL, "an invalid device name refused (%s)", e.msg);
	ip_in(NULL, "route", "show", "10.96.0.0/12", NULL);
	tap_is_int(lines(out), 1, "refused calls leave the route as it was");
}

/* ---- setup ------------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	umount2(p, MNT_DETACH);
	remove(p);
	return 0;
}

int main(void)
{
	struct skiff_error e;

	if (geteuid()) {
		printf("1..0 # SKIP needs root (network namespaces)\n");
		return 0;
	}
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0 ||
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		printf("1..0 # SKIP cannot make private namespaces: %s\n", strerror(errno));
		return 0;
	}
	snprintf(dir, sizeof(dir), "/tmp/skiff-podnet-XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	run("ip", "link", "set", "lo", "up", NULL);

	tap_plan(107);
	test_bridge();
	test_ipam();
	test_veth_name();
	test_sandbox();
	test_masquerade();
	test_service_route();

	skiff_sandbox_destroy(ns_b, NULL, &e);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
