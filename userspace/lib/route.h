/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IPv4 routes into a device, over rtnetlink (libnl-route): what both data
 * plane backends need to steer a peer's pod subnet into the overlay.
 */

#ifndef SKIFF_ROUTE_H
#define SKIFF_ROUTE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct nl_sock;

/**
 * struct skiff_route - a route in the main table
 * @dst: destination prefix (host bits zero)
 * @dst_len: its length
 * @ifindex: the device
 * @gateway: next hop; INADDR_ANY for a link-scope route
 * @onlink: the gateway is on the link without a route to it (flannel's way)
 */
struct skiff_route {
	struct in_addr dst;
	uint8_t dst_len;
	int ifindex;
	struct in_addr gateway;
	bool onlink;
};

/* Adds @r; an existing route to the same prefix is replaced if @replace. */
int skiff_route_add(struct nl_sock *sk, const struct skiff_route *r,
		    bool replace, struct skiff_error *e);
/* Deletes the route to @r's prefix through @r's device. */
int skiff_route_del(struct nl_sock *sk, const struct skiff_route *r,
		    struct skiff_error *e);

#endif /* SKIFF_ROUTE_H */
