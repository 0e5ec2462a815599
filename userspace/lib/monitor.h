/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Watching a data plane change: devices, peers and services appearing,
 * changing and going away, on either backend.
 *
 * The monitor keeps a snapshot of the tables (without counters) and, each
 * time the backend's notification sockets say something may have changed
 * (the skiff genl group for kmod; rtnetlink and nf_tables events for nft),
 * takes a new one and reports the difference. So a burst of changes that
 * overflows a socket (ENOBUFS) loses nothing: the next snapshot has them.
 * Changes that cancel out between two snapshots are not reported.
 */

#ifndef SKIFF_MONITOR_H
#define SKIFF_MONITOR_H

#include "dataplane.h"

enum skiff_dp_event_type {
	SKIFF_DP_EV_DEV_ADD,
	SKIFF_DP_EV_DEV_DEL,
	SKIFF_DP_EV_PEER_ADD,		/* new, or changed */
	SKIFF_DP_EV_PEER_DEL,
	SKIFF_DP_EV_SERVICE_SET,	/* new, or changed */
	SKIFF_DP_EV_SERVICE_DEL,
};

/**
 * struct skiff_dp_event - one change
 * @type: what happened
 * @dev: DEV_*: the device; PEER_*: the device the peer is on (name only
 *	is meaningful)
 * @peer: PEER_*: the peer
 * @svc: SERVICE_*: the service
 * @backends: SERVICE_SET: its backends, sorted by address and port
 * @count: number of @backends
 */
struct skiff_dp_event {
	enum skiff_dp_event_type type;
	const struct skiff_dp_dev *dev;
	const struct skiff_dp_peer *peer;
	const struct skiff_dp_service *svc;
	const struct skiff_dp_endpoint *backends;
	unsigned int count;
};

/* Return nonzero to stop the monitor; skiff_dp_monitor returns it. */
typedef int (*skiff_dp_event_cb)(const struct skiff_dp_event *ev, void *arg);

/*
 * Calls @cb for every change of @dp's tables, in order: removals (services,
 * peers, devices) before additions (devices, peers, services). With @dump,
 * reports what is there at the start as additions first. Each batch ends
 * with a call @cb(NULL, @arg) (time to flush output). Runs until @cb
 * returns nonzero, or an error (negative errno, @e filled in).
 */
int skiff_dp_monitor(struct skiff_dp *dp, bool dump, skiff_dp_event_cb cb,
		     void *arg, struct skiff_error *e);

#endif /* SKIFF_MONITOR_H */
