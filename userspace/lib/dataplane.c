// SPDX-License-Identifier: GPL-2.0
/*
 * The data plane interface: checks what is common to both backends, then
 * hands the call to the backend's ops.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/skiff.h>

#include "dataplane.h"

int skiff_dp_backend_parse(const char *name, enum skiff_dp_backend *backend)
{
	if (!strcmp(name, "kmod"))
		*backend = SKIFF_DP_KMOD;
	else if (!strcmp(name, "nft"))
		*backend = SKIFF_DP_NFT;
	else
		return -EINVAL;
	return 0;
}

const char *skiff_dp_backend_name(enum skiff_dp_backend backend)
{
	return backend == SKIFF_DP_KMOD ? "kmod" : "nft";
}

void skiff_dp_dev_init(struct skiff_dp_dev *dev, const char *name)
{
	memset(dev, 0, sizeof(*dev));
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->vni = SKIFF_DEFAULT_VNI;
	dev->port = SKIFF_DEFAULT_PORT;
	dev->mtu = SKIFF_DEFAULT_MTU;
}

int skiff_dp_open(struct skiff_dp **dpp, enum skiff_dp_backend backend,
		  struct skiff_error *e)
{
	struct skiff_dp *dp;
	int err;

	skiff_error_clear(e);
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	dp->backend = backend;
	dp->ops = backend == SKIFF_DP_KMOD ? &skiff_dp_kmod_ops :
					     &skiff_dp_nft_ops;
	err = dp->ops->open(dp, e);
	if (err) {
		free(dp);
		return err;
	}
	*dpp = dp;
	return 0;
}

void skiff_dp_close(struct skiff_dp *dp)
{
	if (!dp)
		return;
	dp->ops->close(dp);
	free(dp);
}

enum skiff_dp_backend skiff_dp_backend(const struct skiff_dp *dp)
{
	return dp->backend;
}

static int check_name(const char *name, struct skiff_error *e)
{
	if (!name || !name[0] || strlen(name) >= IF_NAMESIZE)
		return skiff_error_set(e, -EINVAL,
				       "interface name must be 1 to %d characters",
				       IF_NAMESIZE - 1);
	return 0;
}

int skiff_dp_dev_add(struct skiff_dp *dp, struct skiff_dp_dev *dev,
		     struct skiff_error *e)
{
	skiff_error_clear(e);
	if (check_name(dev->name, e))
		return e->err;
	return dp->ops->dev_add(dp, dev, e);
}

int skiff_dp_dev_del(struct skiff_dp *dp, const char *name,
		     struct skiff_error *e)
{
	skiff_error_clear(e);
	if (check_name(name, e))
		return e->err;
	return dp->ops->dev_del(dp, name, e);
}

int skiff_dp_dev_list(struct skiff_dp *dp, const char *name,
		      skiff_dp_dev_cb cb, void *arg, struct skiff_error *e)
{
	skiff_error_clear(e);
	if (name && check_name(name, e))
		return e->err;
	return dp->ops->dev_list(dp, name, cb, arg, e);
}

/*
 * Linux refuses routes through a device that is down, and flushes them when
 * it goes down: peers are added to a device that is up, on both backends.
 */
static int check_up(const char *name, struct skiff_error *e)
{
	struct ifreq ifr = {};
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return skiff_error_set(e, -errno, "socket");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		err = -errno;
		skiff_error_set(e, err, "%s", err == -ENODEV ?
				"no such interface" : "cannot read its flags");
	} else if (!(ifr.ifr_flags & IFF_UP))
		err = skiff_error_set(e, -ENETDOWN,
				      "%s is down: bring it up before adding peers",
				      name);
	close(fd);
	return err;
}

int skiff_dp_peer_add(struct skiff_dp *dp, const char *dev,
		      const struct skiff_dp_peer *peer, bool replace,
		      struct skiff_error *e)
{
	skiff_error_clear(e);
	if (check_name(dev, e) || check_up(dev, e))
		return e->err;
	return dp->ops->peer_add(dp, dev, peer, replace, e);
}

int skiff_dp_peer_del(struct skiff_dp *dp, const char *dev,
		      const struct skiff_dp_peer *peer,
		      struct skiff_error *e)
{
	skiff_error_clear(e);
	if (check_name(dev, e))
		return e->err;
	return dp->ops->peer_del(dp, dev, peer, e);
}

int skiff_dp_peer_list(struct skiff_dp *dp, const char *dev,
		       skiff_dp_peer_cb cb, void *arg, struct skiff_error *e)
{
	skiff_error_clear(e);
	if (check_name(dev, e))
		return e->err;
	return dp->ops->peer_list(dp, dev, cb, arg, e);
}

int skiff_dp_proto_parse(const char *name, uint8_t *proto)
{
	if (!strcmp(name, "tcp"))
		*proto = SKIFF_DP_TCP;
	else if (!strcmp(name, "udp"))
		*proto = SKIFF_DP_UDP;
	else
		return -EINVAL;
	return 0;
}

const char *skiff_dp_proto_name(uint8_t proto)
{
	switch (proto) {
	case SKIFF_DP_TCP:
		return "tcp";
	case SKIFF_DP_UDP:
		return "udp";
	default:
		return "?";
	}
}

static int unsupported(struct skiff_dp *dp, struct skiff_error *e)
{
	return skiff_error_set(e, -EOPNOTSUPP,
			       "services are not supported by the %s backend",
			       skiff_dp_backend_name(dp->backend));
}

static bool ipv4_unicast(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);

	return h && (h >> 24) != 0 && (h >> 24) != 127 && (h >> 28) != 0xe &&
	       (h >> 28) != 0xf;
}

/* The rules skiff.ko applies, so that both backends refuse the same. */
static int check_service_key(const struct skiff_dp_service *svc,
			     struct skiff_error *e)
{
	if (svc->proto != SKIFF_DP_TCP && svc->proto != SKIFF_DP_UDP)
		return skiff_error_set(e, -EINVAL,
				       "protocol must be TCP or UDP");
	if (!svc->port)
		return skiff_error_set(e, -EINVAL, "port must be 1..65535");
	if (svc->vip.s_addr && !ipv4_unicast(svc->vip))
		return skiff_error_set(e, -EINVAL,
				       "virtual IP must be unicast (0.0.0.0 for a NodePort)");
	return 0;
}

static int check_service(const struct skiff_dp_service *svc,
			 const struct skiff_dp_endpoint *backends,
			 unsigned int count, struct skiff_error *e)
{
	unsigned int i, j;

	if (check_service_key(svc, e))
		return e->err;
	if (svc->affinity_timeout > 86400)
		return skiff_error_set(e, -ERANGE,
				       "affinity timeout must be 0..86400 seconds");
	if (count > SKIFF_DP_MAX_BACKENDS)
		return skiff_error_set(e, -E2BIG, "at most %d backends",
				       SKIFF_DP_MAX_BACKENDS);
	for (i = 0; i < count; i++) {
		if (!ipv4_unicast(backends[i].addr))
			return skiff_error_set(e, -EINVAL,
					       "backend address must be unicast");
		if (!backends[i].port)
			return skiff_error_set(e, -EINVAL,
					       "backend port must be 1..65535");
		for (j = 0; j < i; j++)
			if (backends[j].addr.s_addr == backends[i].addr.s_addr &&
			    backends[j].port == backends[i].port)
				return skiff_error_set(e, -EINVAL,
						       "duplicate backend");
	}
	return 0;
}

int skiff_dp_set_cluster_cidr(struct skiff_dp *dp, struct in_addr prefix,
			      uint8_t len, struct skiff_error *e)
{
	uint32_t mask = len ? htonl(~0u << (32 - len)) : 0;

	skiff_error_clear(e);
	if (len > 32)
		return skiff_error_set(e, -ERANGE,
				       "prefix length must be 0..32");
	if (prefix.s_addr & ~mask)
		return skiff_error_set(e, -EINVAL,
				       "cluster CIDR has host bits set");
	if (!dp->ops->set_cluster_cidr)
		return unsupported(dp, e);
	return dp->ops->set_cluster_cidr(dp, prefix, len, e);
}

int skiff_dp_service_set(struct skiff_dp *dp,
			 const struct skiff_dp_service *svc,
			 const struct skiff_dp_endpoint *backends,
			 unsigned int count, struct skiff_error *e)
{
	skiff_error_clear(e);
	if (check_service(svc, backends, count, e))
		return e->err;
	if (!dp->ops->service_set)
		return unsupported(dp, e);
	return dp->ops->service_set(dp, svc, backends, count, e);
}

int skiff_dp_service_del(struct skiff_dp *dp,
			 const struct skiff_dp_service *svc,
			 struct skiff_error *e)
{
	skiff_error_clear(e);
	if (check_service_key(svc, e))
		return e->err;
	if (!dp->ops->service_del)
		return unsupported(dp, e);
	return dp->ops->service_del(dp, svc, e);
}

int skiff_dp_service_list(struct skiff_dp *dp, skiff_dp_service_cb cb,
			  void *arg, struct skiff_error *e)
{
	skiff_error_clear(e);
	if (!dp->ops->service_list)
		return unsupported(dp, e);
	return dp->ops->service_list(dp, cb, arg, e);
}

int skiff_dp_endpoint_cmp(const void *a, const void *b)
{
	const struct skiff_dp_endpoint *x = a, *y = b;
	uint32_t ax = ntohl(x->addr.s_addr), ay = ntohl(y->addr.s_addr);

	if (ax != ay)
		return ax < ay ? -1 : 1;
	return (int)x->port - (int)y->port;
}

bool skiff_dp_service_same(const struct skiff_dp_service *a,
			   const struct skiff_dp_endpoint *a_backends,
			   unsigned int a_count,
			   const struct skiff_dp_service *b,
			   const struct skiff_dp_endpoint *b_backends,
			   unsigned int b_count)
{
	unsigned int i;

	if (a->affinity_timeout != b->affinity_timeout ||
	    a->local != b->local || a_count != b_count)
		return false;
	for (i = 0; i < a_count; i++)
		if (skiff_dp_endpoint_cmp(&a_backends[i], &b_backends[i]) ||
		    a_backends[i].weight != b_backends[i].weight)
			return false;
	return true;
}

static uint64_t service_key(const struct skiff_dp_service *svc)
{
	return (uint64_t)ntohl(svc->vip.s_addr) << 24 |
	       (uint64_t)svc->port << 8 | svc->proto;
}

struct keyed_spec {
	uint64_t key;
	unsigned int index;
};

static int keyed_spec_cmp(const void *a, const void *b)
{
	const struct keyed_spec *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

/*
 * The backends get the table sorted by key: a service listed twice sits
 * next to itself, and skiff.ko, which wants it sorted too, need not sort
 * it again. A table already in order, as callers that keep theirs sorted
 * send it, costs one pass and no copy: *@sorted stays NULL. Otherwise the
 * keys are sorted (with their index: a cheap compare), then the specs.
 */
static int sort_services(const struct skiff_dp_service_spec *specs,
			 unsigned int n, struct skiff_dp_service_spec **sorted,
			 struct skiff_error *e)
{
	struct skiff_dp_service_spec *s = NULL;
	struct keyed_spec *keys;
	unsigned int i;
	int err = 0;

	*sorted = NULL;
	for (i = 1; i < n; i++)
		if (service_key(&specs[i - 1].svc) >= service_key(&specs[i].svc))
			break;
	if (i >= n)
		return 0;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		keys[i].key = service_key(&specs[i].svc);
		keys[i].index = i;
	}
	qsort(keys, n, sizeof(*keys), keyed_spec_cmp);
	for (i = 1; i < n && !err; i++)
		if (keys[i].key == keys[i - 1].key)
			err = skiff_error_set(e, -EINVAL, "service listed twice");
	if (!err) {
		s = malloc(n * sizeof(*s));
		if (!s)
			err = skiff_error_set(e, -ENOMEM, "out of memory");
	}
	for (i = 0; !err && i < n; i++)
		s[i] = specs[keys[i].index];
	free(keys);
	*sorted = s;
	return err;
}

int skiff_dp_service_sync(struct skiff_dp *dp,
			  const struct skiff_dp_service_spec *specs,
			  unsigned int n, struct skiff_error *e)
{
	struct skiff_dp_service_spec *sorted;
	unsigned int i;
	int err;

	skiff_error_clear(e);
	for (i = 0; i < n; i++)
		if (check_service(&specs[i].svc, specs[i].backends,
				  specs[i].count, e))
			return e->err;
	if (!dp->ops->service_sync)
		return unsupported(dp, e);
	if (sort_services(specs, n, &sorted, e))
		return e->err;
	err = dp->ops->service_sync(dp, sorted ? sorted : specs, n, e);
	free(sorted);
	return err;
}
