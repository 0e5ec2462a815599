/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The data plane as JSON: one place that says what a device, a peer and a
 * service look like, for everything that shows them (`skiff-dp -j ... show`
 * and monitor, skiff-node's GET /dataplane), so the shapes cannot drift
 * apart.
 *
 *   device   {"name", "ifindex", "vni", "port", "mtu", "vtep_mac", "peers",
 *             "local" (only when set)}
 *   peer     {"prefix", "prefix_len", "remote", "mac", "tx_packets",
 *             "tx_bytes"}
 *   service  {"vip", "port", "proto", "affinity_timeout", "local",
 *             "packets", "bytes", "backends": [{"addr", "port", "weight",
 *             "packets", "bytes"}]}
 *
 * Counters are 0 where the backend does not count (dataplane.h says which).
 */

#ifndef SKIFF_DP_JSON_H
#define SKIFF_DP_JSON_H

#include <jansson.h>

#include "dataplane.h"

/* One object each (NULL: out of memory). */
json_t *skiff_dp_json_dev(const struct skiff_dp_dev *dev);
json_t *skiff_dp_json_peer(const struct skiff_dp_peer *peer);
json_t *skiff_dp_json_service(const struct skiff_dp_service *svc,
			      const struct skiff_dp_endpoint *backends,
			      unsigned int count);

/*
 * Appends to the array @list the device @name (every overlay device when
 * NULL), the peers of device @dev, or every service, as listed by @dp.
 * -errno with @e on failure (-ENOMEM: out of memory).
 */
int skiff_dp_json_devs(struct skiff_dp *dp, const char *name, json_t *list,
		       struct skiff_error *e);
int skiff_dp_json_peers(struct skiff_dp *dp, const char *dev, json_t *list,
			struct skiff_error *e);
int skiff_dp_json_services(struct skiff_dp *dp, json_t *list,
			   struct skiff_error *e);

#endif /* SKIFF_DP_JSON_H */
