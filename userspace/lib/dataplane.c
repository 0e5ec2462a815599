// SPDX-License-Identifier: GPL-2.0
/*
 * The data plane interface: checks what is common to both backends, then
 * hands the call to the backend's ops.
 */

#include <errno.h>
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
