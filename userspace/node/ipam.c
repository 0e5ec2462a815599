// SPDX-License-Identifier: GPL-2.0
/*
 * The node's address book: which pod holds which address of the node's pod
 * subnet, kept as files in one directory so that an agent restart finds
 * every address in use, the way the CNI host-local plugin keeps its store:
 *
 *   DIR/subnet        "10.244.1.0/24": the subnet the book is for
 *   DIR/last          the address handed out last; the search starts after it
 *   DIR/10.244.1.7    one per address in use, holding its owner (a pod uid)
 *
 * An address is claimed by linking a complete file (owner written, fsync'd)
 * to its name: link() refuses a name that exists, so two claims never get
 * one address, and a crash never leaves an address claimed by nobody. The
 * directory is fsync'd before the address is returned.
 *
 * Addresses are handed out round robin from the last one, as host-local
 * does, so that an address just freed is not given to the next pod at once:
 * ARP caches, conntrack entries and Endpoints elsewhere may still name it.
 * The network address, the gateway (the first address, the bridge's) and
 * the broadcast address are never handed out.
 *
 * One process uses a book at a time (the node agent): two getting an
 * address for the same owner at once could give it two.
 */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "podnet.h"

#define IPAM_SUBNET	"subnet"
#define IPAM_LAST	"last"
/* Files being written: ".tmp.PID"; a crash's leftovers go at open. */
#define IPAM_TMP	".tmp."
#define IPAM_OWNER_MAX	253
#define IPAM_LEN_MIN	8
#define IPAM_LEN_MAX	30

/**
 * struct skiff_ipam - an open address book
 * @dir: its directory
 * @dirfd: that directory, open
 * @net: the subnet's network address, host byte order
 * @len: its prefix length
 * @first: the first address handed out (network + 2), host byte order
 * @count: how many addresses can be handed out
 */
struct skiff_ipam {
	char *dir;
	int dirfd;
	uint32_t net;
	uint8_t len;
	uint32_t first;
	uint32_t count;
};

static uint32_t ipam_mask(uint8_t len)
{
	return len ? 0xffffffffu << (32 - len) : 0;
}

static void ipam_ntoa(uint32_t ip, char *buf)
{
	struct in_addr a = { .s_addr = htonl(ip) };

	inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* A name that is an address of the subnet, written as we write them. */
static bool ipam_parse(const struct skiff_ipam *ipam, const char *name,
		       uint32_t *ip)
{
	char canon[INET_ADDRSTRLEN];
	struct in_addr a;

	if (inet_pton(AF_INET, name, &a) != 1)
		return false;
	*ip = ntohl(a.s_addr);
	ipam_ntoa(*ip, canon);
	return !strcmp(canon, name) &&
	       (*ip & ipam_mask(ipam->len)) == ipam->net;
}

static bool ipam_owner_valid(const char *owner)
{
	size_t len = owner ? strnlen(owner, IPAM_OWNER_MAX + 1) : 0;

	return len && len <= IPAM_OWNER_MAX && !strpbrk(owner, "/\n");
}

/* mkdir -p @dir */
static int ipam_mkdirs(const char *dir)
{
	char *path = strdup(dir);
	char *slash;
	int err = 0;

	if (!path)
		return -ENOMEM;
	for (slash = path + 1; !err; slash++) {
		slash = strchr(slash, '/');
		if (slash)
			*slash = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			err = -errno;
		if (!slash)
			break;
		*slash = '/';
	}
	free(path);
	return err;
}

/* Reads file @name of the book, without its trailing newline. */
static int ipam_read(int dirfd, const char *name, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return n;
}

/* Makes a temporary file holding @text, on disk; its name into @tmp. */
static int ipam_tmp_write(int dirfd, const char *text, char *tmp, size_t size)
{
	size_t len = strlen(text);
	int fd, err = 0;

	snprintf(tmp, size, IPAM_TMP "%d", (int)getpid());
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	errno = 0;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		err = errno ? -errno : -EIO;
	close(fd);
	if (err)
		unlinkat(dirfd, tmp, 0);
	return err;
}

/* Replaces file @name with one holding @text, atomically and on disk. */
static int ipam_write(int dirfd, const char *name, const char *text)
{
	char tmp[32];
	int err;

	err = ipam_tmp_write(dirfd, text, tmp, sizeof(tmp));
	if (err)
		return err;
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		err = -errno;
		unlinkat(dirfd, tmp, 0);
		return err;
	}
	return fsync(dirfd) < 0 ? -errno : 0;
}

/*
 * Calls @fn for every address in use, with the name of its file and its
 * owner, until @fn returns nonzero (returned).
 */
static int ipam_scan(struct skiff_ipam *ipam,
		     int (*fn)(uint32_t ip, const char *name,
			       const char *owner, void *arg), void *arg)
{
	char owner[IPAM_OWNER_MAX + 2];
	struct dirent *de;
	uint32_t ip;
	int n, err = 0;
	DIR *d;

	d = skiff_opendir_at(ipam->dirfd, ".", 0);
	if (!d)
		return -errno;
	while (!err) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			err = -errno;
			break;
		}
		if (!ipam_parse(ipam, de->d_name, &ip))
			continue;
		n = ipam_read(ipam->dirfd, de->d_name, owner, sizeof(owner));
		if (n == -ENOENT)
			continue;	/* released meanwhile */
		if (n < 0)
			err = n;
		else
			err = fn(ip, de->d_name, owner, arg);
	}
	closedir(d);
	return err;
}

/* The subnet file: written for a new book, compared for an old one. */
static int ipam_subnet_claim(struct skiff_ipam *ipam, struct skiff_error *e)
{
	char want[INET_ADDRSTRLEN + 8], have[64], net[INET_ADDRSTRLEN];
	int n, err;

	ipam_ntoa(ipam->net, net);
	snprintf(want, sizeof(want), "%s/%u", net, ipam->len);
	n = ipam_read(ipam->dirfd, IPAM_SUBNET, have, sizeof(have));
	if (n >= 0 && !strcmp(have, want))
		return 0;
	if (n >= 0)
		return skiff_error_set(e, -EEXIST,
				       "address book %s is for subnet %s, not %s",
				       ipam->dir, have, want);
	if (n != -ENOENT)
		return skiff_error_set(e, n, "cannot read %s/" IPAM_SUBNET,
				       ipam->dir);
	strcat(want, "\n");
	err = ipam_write(ipam->dirfd, IPAM_SUBNET, want);
	if (err)
		return skiff_error_set(e, err, "cannot write %s/" IPAM_SUBNET,
				       ipam->dir);
	return 0;
}

/* Removes the temporary files a crash left behind. */
static void ipam_tidy(struct skiff_ipam *ipam)
{
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(ipam->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, IPAM_TMP, strlen(IPAM_TMP)))
			unlinkat(ipam->dirfd, de->d_name, 0);
	closedir(d);
}

int skiff_ipam_open(struct skiff_ipam **ipamp, const char *dir,
		    struct in_addr subnet, uint8_t len, struct skiff_error *e)
{
	uint32_t net = ntohl(subnet.s_addr);
	char text[INET_ADDRSTRLEN];
	struct skiff_ipam *ipam;
	int err;

	if (!dir || !dir[0])
		return skiff_error_set(e, -EINVAL,
				       "the address book needs a directory");
	if (len < IPAM_LEN_MIN || len > IPAM_LEN_MAX)
		return skiff_error_set(e, -EINVAL,
				       "pod subnet prefix length %u out of range (%u..%u)",
				       len, IPAM_LEN_MIN, IPAM_LEN_MAX);
	if (net & ~ipam_mask(len)) {
		ipam_ntoa(net, text);
		return skiff_error_set(e, -EINVAL,
				       "pod subnet %s/%u has host bits set",
				       text, len);
	}

	ipam = calloc(1, sizeof(*ipam));
	if (!ipam)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	ipam->dir = strdup(dir);
	if (!ipam->dir) {
		err = skiff_error_set(e, -ENOMEM, "out of memory");
		goto err_free;
	}
	ipam->net = net;
	ipam->len = len;
	ipam->first = net + 2;
	/* All but the network, gateway and broadcast addresses. */
	ipam->count = (1u << (32 - len)) - 3;

	err = ipam_mkdirs(dir);
	if (err) {
		skiff_error_set(e, err, "cannot create %s", dir);
		goto err_free;
	}
	ipam->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ipam->dirfd < 0) {
		err = skiff_error_set(e, -errno, "cannot open %s", dir);
		goto err_free;
	}
	err = ipam_subnet_claim(ipam, e);
	if (err)
		goto err_close;
	ipam_tidy(ipam);
	*ipamp = ipam;
	return 0;

err_close:
	close(ipam->dirfd);
err_free:
	free(ipam->dir);
	free(ipam);
	return err;
}

void skiff_ipam_close(struct skiff_ipam *ipam)
{
	if (!ipam)
		return;
	close(ipam->dirfd);
	free(ipam->dir);
	free(ipam);
}

struct ipam_find {
	const char *owner;
	uint32_t ip;
	bool found;
};

static int ipam_find_owner(uint32_t ip, const char *name, const char *owner,
			   void *arg)
{
	struct ipam_find *f = arg;

	(void)name;
	if (strcmp(owner, f->owner))
		return 0;
	f->ip = ip;
	f->found = true;
	return 1;
}

/* Where the search for a free address starts: after the last one. */
static uint32_t ipam_start(struct skiff_ipam *ipam)
{
	char last[64];
	uint32_t ip;

	if (ipam_read(ipam->dirfd, IPAM_LAST, last, sizeof(last)) < 0 ||
	    !ipam_parse(ipam, last, &ip) || ip < ipam->first ||
	    ip - ipam->first >= ipam->count)
		return 0;
	return (ip - ipam->first + 1) % ipam->count;
}

/*
 * Links the complete file @tmp to the first free address from the start;
 * the address into *@ip. -ENOSPC when every one is taken.
 */
static int ipam_claim(struct skiff_ipam *ipam, const char *tmp, uint32_t *ip)
{
	char name[INET_ADDRSTRLEN];
	uint32_t start = ipam_start(ipam);
	uint32_t i;

	for (i = 0; i < ipam->count; i++) {
		*ip = ipam->first + (start + i) % ipam->count;
		ipam_ntoa(*ip, name);
		if (!linkat(ipam->dirfd, tmp, ipam->dirfd, name, 0))
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -ENOSPC;
}

int skiff_ipam_get(struct skiff_ipam *ipam, const char *owner,
		   struct in_addr *addr, struct skiff_error *e)
{
	struct ipam_find f = { .owner = owner };
	char text[IPAM_OWNER_MAX + 2], tmp[32], ip[INET_ADDRSTRLEN];
	char net[INET_ADDRSTRLEN];
	int err;

	if (!ipam_owner_valid(owner))
		return skiff_error_set(e, -EINVAL,
				       "invalid address owner: must be 1..%u characters without '/' or newline",
				       IPAM_OWNER_MAX);
	err = ipam_scan(ipam, ipam_find_owner, &f);
	if (err < 0)
		return skiff_error_set(e, err, "cannot read the address book %s",
				       ipam->dir);
	if (f.found) {
		addr->s_addr = htonl(f.ip);
		return 0;
	}

	snprintf(text, sizeof(text), "%s\n", owner);
	err = ipam_tmp_write(ipam->dirfd, text, tmp, sizeof(tmp));
	if (err)
		return skiff_error_set(e, err, "cannot write to %s", ipam->dir);
	err = ipam_claim(ipam, tmp, &f.ip);
	unlinkat(ipam->dirfd, tmp, 0);
	ipam_ntoa(ipam->net, net);
	if (err == -ENOSPC)
		return skiff_error_set(e, err, "no free address left in %s/%u",
				       net, ipam->len);
	if (err)
		return skiff_error_set(e, err, "cannot write to %s", ipam->dir);
	ipam_ntoa(f.ip, ip);
	if (fsync(ipam->dirfd) < 0) {
		err = skiff_error_set(e, -errno, "cannot sync %s", ipam->dir);
		unlinkat(ipam->dirfd, ip, 0);
		return err;
	}
	/* Only a hint for the next search: its loss costs nothing. */
	strcat(ip, "\n");
	ipam_write(ipam->dirfd, IPAM_LAST, ip);
	addr->s_addr = htonl(f.ip);
	return 0;
}

struct ipam_release {
	struct skiff_ipam *ipam;
	const char *owner;
	int released;
};

static int ipam_release_one(uint32_t ip, const char *name, const char *owner,
			    void *arg)
{
	struct ipam_release *r = arg;

	(void)ip;
	if (strcmp(owner, r->owner))
		return 0;
	if (unlinkat(r->ipam->dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	r->released++;
	return 0;
}

int skiff_ipam_release(struct skiff_ipam *ipam, const char *owner)
{
	struct ipam_release r = { .ipam = ipam, .owner = owner };
	int err;

	if (!ipam_owner_valid(owner))
		return -EINVAL;
	err = ipam_scan(ipam, ipam_release_one, &r);
	if (err)
		return err;
	if (r.released && fsync(ipam->dirfd) < 0)
		return -errno;
	return 0;
}

struct ipam_each {
	int (*fn)(struct in_addr addr, const char *owner, void *arg);
	void *arg;
};

static int ipam_each_one(uint32_t ip, const char *name, const char *owner,
			 void *arg)
{
	struct ipam_each *each = arg;
	struct in_addr a = { .s_addr = htonl(ip) };

	(void)name;
	return each->fn(a, owner, each->arg);
}

int skiff_ipam_for_each(struct skiff_ipam *ipam,
			int (*fn)(struct in_addr addr, const char *owner,
				  void *arg), void *arg)
{
	struct ipam_each each = { .fn = fn, .arg = arg };

	return ipam_scan(ipam, ipam_each_one, &each);
}
