// SPDX-License-Identifier: GPL-2.0
/*
 * skiff_dp_monitor(): snapshots of the data plane, compared. See monitor.h.
 */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "monitor.h"

/* Notification sockets a backend may open (see skiff_dp_ops.watch). */
#define MAX_WATCH_FDS 4
/* After a notification, wait this long for the rest of a burst. */
#define SETTLE_MS 20

struct snap_peer {
	struct skiff_dp_dev dev;	/* name only */
	struct skiff_dp_peer peer;
};

struct snap_service {
	struct skiff_dp_service svc;
	struct skiff_dp_endpoint *backends;
	unsigned int count;
};

struct snapshot {
	struct skiff_dp_dev *devs;
	size_t ndevs;
	struct snap_peer *peers;
	size_t npeers;
	struct snap_service *svcs;
	size_t nsvcs;
};

/* Grows *@vec of @size-byte items, holding @n, so that one more fits. */
static int grow(void *vec, size_t n, size_t size)
{
	void **v = vec;
	void *p;

	/* Capacity is 8, then doubles: full when @n is 8, 16, 32, ... */
	if (n && (n < 8 || (n & (n - 1))))
		return 0;
	p = realloc(*v, (n ? 2 * n : 8) * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	return 0;
}

static void snapshot_free(struct snapshot *s)
{
	size_t i;

	for (i = 0; i < s->nsvcs; i++)
		free(s->svcs[i].backends);
	free(s->svcs);
	free(s->peers);
	free(s->devs);
	memset(s, 0, sizeof(*s));
}

static int add_dev(const struct skiff_dp_dev *dev, void *arg)
{
	struct snapshot *s = arg;

	if (grow(&s->devs, s->ndevs, sizeof(*s->devs)))
		return -ENOMEM;
	s->devs[s->ndevs++] = *dev;
	return 0;
}

struct peer_ctx {
	struct snapshot *s;
	const struct skiff_dp_dev *dev;
};

static int add_peer(const struct skiff_dp_peer *peer, void *arg)
{
	struct peer_ctx *ctx = arg;
	struct snapshot *s = ctx->s;
	struct snap_peer *p;

	if (grow(&s->peers, s->npeers, sizeof(*s->peers)))
		return -ENOMEM;
	p = &s->peers[s->npeers++];
	memset(p, 0, sizeof(*p));
	memcpy(p->dev.name, ctx->dev->name, sizeof(p->dev.name));
	p->peer = *peer;
	return 0;
}

static int add_service(const struct skiff_dp_service *svc,
		       const struct skiff_dp_endpoint *backends,
		       unsigned int count, void *arg)
{
	struct snapshot *s = arg;
	struct snap_service *ss;

	if (grow(&s->svcs, s->nsvcs, sizeof(*s->svcs)))
		return -ENOMEM;
	ss = &s->svcs[s->nsvcs];
	memset(ss, 0, sizeof(*ss));
	ss->svc = *svc;
	if (count) {
		ss->backends = malloc(count * sizeof(*backends));
		if (!ss->backends)
			return -ENOMEM;
		memcpy(ss->backends, backends, count * sizeof(*backends));
		qsort(ss->backends, count, sizeof(*backends), skiff_dp_endpoint_cmp);
	}
	ss->count = count;
	s->nsvcs++;
	return 0;
}

static int dev_cmp(const void *a, const void *b)
{
	return strcmp(((const struct skiff_dp_dev *)a)->name,
		      ((const struct skiff_dp_dev *)b)->name);
}

static int peer_cmp(const void *a, const void *b)
{
	const struct snap_peer *x = a, *y = b;
	uint32_t xp = ntohl(x->peer.prefix4.s_addr);
	uint32_t yp = ntohl(y->peer.prefix4.s_addr);
	int c = strcmp(x->dev.name, y->dev.name);

	if (c)
		return c;
	if (xp != yp)
		return xp < yp ? -1 : 1;
	return x->peer.prefix_len - y->peer.prefix_len;
}

static int service_cmp(const void *a, const void *b)
{
	const struct skiff_dp_service *x = a, *y = b;
	uint32_t xv = ntohl(x->vip.s_addr), yv = ntohl(y->vip.s_addr);

	if (xv != yv)
		return xv < yv ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->proto - y->proto;
}

static int snapshot_take(struct skiff_dp *dp, struct snapshot *s,
			 struct skiff_error *e)
{
	struct peer_ctx ctx = { .s = s };
	size_t i;
	int err;

	memset(s, 0, sizeof(*s));
	err = skiff_dp_dev_list(dp, NULL, add_dev, s, e);
	for (i = 0; !err && i < s->ndevs; i++) {
		ctx.dev = &s->devs[i];
		err = skiff_dp_peer_list(dp, s->devs[i].name, add_peer, &ctx, e);
		/* The device went away meanwhile: the next snapshot says so. */
		if (err == -ENODEV || err == -ENOENT)
			err = 0;
	}
	if (!err)
		err = skiff_dp_service_list(dp, add_service, s, e);
	if (err) {
		snapshot_free(s);
		return err;
	}
	qsort(s->devs, s->ndevs, sizeof(*s->devs), dev_cmp);
	qsort(s->peers, s->npeers, sizeof(*s->peers), peer_cmp);
	qsort(s->svcs, s->nsvcs, sizeof(*s->svcs), service_cmp);
	return 0;
}

/* Equal as configuration: counters and derived fields do not count. */
static bool dev_same(const struct skiff_dp_dev *a, const struct skiff_dp_dev *b)
{
	return a->vni == b->vni && a->port == b->port && a->mtu == b->mtu &&
	       a->local4.s_addr == b->local4.s_addr &&
	       !memcmp(a->vtep_mac, b->vtep_mac, sizeof(a->vtep_mac));
}

static bool peer_same(const struct snap_peer *a, const struct snap_peer *b)
{
	return a->peer.remote4.s_addr == b->peer.remote4.s_addr &&
	       a->peer.has_remote_mac == b->peer.has_remote_mac &&
	       (!a->peer.has_remote_mac ||
		!memcmp(a->peer.remote_mac, b->peer.remote_mac, 6));
}

static bool service_same(const struct snap_service *a,
			 const struct snap_service *b)
{
	return skiff_dp_service_same(&a->svc, a->backends, a->count,
				     &b->svc, b->backends, b->count);
}

/*
 * Two sorted arrays of one kind, walked as a merge: with WALK_REMOVED, @fn
 * gets the items only in @old; with WALK_ADDED, those only in @new or
 * different there (per @same).
 */
struct walk {
	const void *old, *new;
	size_t nold, nnew, size;
	int (*cmp)(const void *a, const void *b);
	bool (*same)(const void *a, const void *b);
};

enum walk_pass { WALK_REMOVED, WALK_ADDED };

typedef int (*walk_fn)(const void *item, void *arg);

static int walk(const struct walk *w, enum walk_pass pass, walk_fn fn,
		void *arg)
{
	size_t i = 0, j = 0;
	int err = 0, c;

	while (!err && (i < w->nold || j < w->nnew)) {
		const char *o = (const char *)w->old + i * w->size;
		const char *n = (const char *)w->new + j * w->size;

		if (i == w->nold)
			c = 1;
		else if (j == w->nnew)
			c = -1;
		else
			c = w->cmp(o, n);
		if (c < 0) {
			if (pass == WALK_REMOVED)
				err = fn(o, arg);
			i++;
		} else if (c > 0) {
			if (pass == WALK_ADDED)
				err = fn(n, arg);
			j++;
		} else {
			if (pass == WALK_ADDED && !w->same(o, n))
				err = fn(n, arg);
			i++;
			j++;
		}
	}
	return err;
}

static bool dev_same_v(const void *a, const void *b)
{
	return dev_same(a, b);
}

static bool peer_same_v(const void *a, const void *b)
{
	return peer_same(a, b);
}

static bool service_same_v(const void *a, const void *b)
{
	return service_same(a, b);
}

struct emit {
	skiff_dp_event_cb cb;
	void *arg;
	enum skiff_dp_event_type type;
};

static int emit_dev(const void *item, void *arg)
{
	struct emit *em = arg;
	struct skiff_dp_event ev = { .type = em->type, .dev = item };

	return em->cb(&ev, em->arg);
}

static int emit_peer(const void *item, void *arg)
{
	const struct snap_peer *p = item;
	struct emit *em = arg;
	struct skiff_dp_event ev = {
		.type = em->type, .dev = &p->dev, .peer = &p->peer,
	};

	return em->cb(&ev, em->arg);
}

static int emit_service(const void *item, void *arg)
{
	const struct snap_service *ss = item;
	struct emit *em = arg;
	struct skiff_dp_event ev = {
		.type = em->type, .svc = &ss->svc,
		.backends = ss->backends, .count = ss->count,
	};

	return em->cb(&ev, em->arg);
}

/* Reports what changed from @old to @new, then the end of the batch. */
static int report(const struct snapshot *old, const struct snapshot *new,
		  skiff_dp_event_cb cb, void *arg)
{
	struct walk devs = {
		old->devs, new->devs, old->ndevs, new->ndevs,
		sizeof(*new->devs), dev_cmp, dev_same_v,
	};
	struct walk peers = {
		old->peers, new->peers, old->npeers, new->npeers,
		sizeof(*new->peers), peer_cmp, peer_same_v,
	};
	struct walk svcs = {
		old->svcs, new->svcs, old->nsvcs, new->nsvcs,
		sizeof(*new->svcs), service_cmp, service_same_v,
	};
	struct emit em = { cb, arg, 0 };
	int err;

	em.type = SKIFF_DP_EV_SERVICE_DEL;
	err = walk(&svcs, WALK_REMOVED, emit_service, &em);
	em.type = SKIFF_DP_EV_PEER_DEL;
	if (!err)
		err = walk(&peers, WALK_REMOVED, emit_peer, &em);
	em.type = SKIFF_DP_EV_DEV_DEL;
	if (!err)
		err = walk(&devs, WALK_REMOVED, emit_dev, &em);
	if (!err) {
		size_t i = 0, j = 0;

		/*
		 * A device deleted and created again, different: reported
		 * removed here, added below.
		 */
		while (!err && i < old->ndevs && j < new->ndevs) {
			int c = dev_cmp(&old->devs[i], &new->devs[j]);

			if (!c && !dev_same(&old->devs[i], &new->devs[j]))
				err = emit_dev(&old->devs[i], &em);
			i += c <= 0;
			j += c >= 0;
		}
	}
	em.type = SKIFF_DP_EV_DEV_ADD;
	if (!err)
		err = walk(&devs, WALK_ADDED, emit_dev, &em);
	em.type = SKIFF_DP_EV_PEER_ADD;
	if (!err)
		err = walk(&peers, WALK_ADDED, emit_peer, &em);
	em.type = SKIFF_DP_EV_SERVICE_SET;
	if (!err)
		err = walk(&svcs, WALK_ADDED, emit_service, &em);
	if (!err)
		err = cb(NULL, arg);
	return err;
}

/* Reads everything queued on @fd; overflow (ENOBUFS) is fine: we resync. */
static void drain(int fd)
{
	char buf[16384];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n >= 0 || errno == ENOBUFS || errno == EINTR)
			continue;
		return;
	}
}

/* Waits for a notification, then for the end of its burst. */
static int wait_change(struct pollfd *pfd, int nfds, struct skiff_error *e)
{
	int timeout = -1, i, n;

	for (;;) {
		n = poll(pfd, nfds, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return skiff_error_set(e, -errno, "poll: %s",
					       strerror(errno));
		if (n == 0)
			return 0;
		for (i = 0; i < nfds; i++)
			if (pfd[i].revents)
				drain(pfd[i].fd);
		timeout = SETTLE_MS;
	}
}

int skiff_dp_monitor(struct skiff_dp *dp, bool dump, skiff_dp_event_cb cb,
		     void *arg, struct skiff_error *e)
{
	struct snapshot cur = {}, next;
	struct pollfd pfd[MAX_WATCH_FDS];
	int fds[MAX_WATCH_FDS];
	int nfds, i, err;

	skiff_error_clear(e);
	if (!dp->ops->watch)
		return skiff_error_set(e, -EOPNOTSUPP,
				       "the %s backend cannot be monitored",
				       skiff_dp_backend_name(dp->backend));
	/* Listen first, then look: no change falls between the two. */
	nfds = dp->ops->watch(dp, fds, MAX_WATCH_FDS, e);
	if (nfds < 0)
		return nfds;
	for (i = 0; i < nfds; i++)
		pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };

	err = snapshot_take(dp, &next, e);
	if (err)
		goto out_close;
	/* Without @dump, the first batch is only the end-of-batch call. */
	if (dump)
		err = report(&cur, &next, cb, arg);
	else
		err = cb(NULL, arg);
	cur = next;
	while (!err) {
		err = wait_change(pfd, nfds, e);
		if (err)
			break;
		err = snapshot_take(dp, &next, e);
		if (err)
			break;
		err = report(&cur, &next, cb, arg);
		snapshot_free(&cur);
		cur = next;
	}
	snapshot_free(&cur);
out_close:
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return err;
}
