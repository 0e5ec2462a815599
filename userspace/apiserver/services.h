/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Service addresses: a ClusterIP from the service range and node ports
 * from the node port range, each taken by creating one key in the store
 * (/registry/allocations/clusterips/IP, .../nodeports/PORT), so that two
 * apiservers on one store never hand out the same one: the store's create
 * is the lock.
 */

#ifndef SKIFF_API_SERVICES_H
#define SKIFF_API_SERVICES_H

#include <stdint.h>

#include <jansson.h>

struct apiserver;
struct api_fail;

/**
 * struct service_ranges - where Service addresses come from
 * @net: the service CIDR's network address (host order)
 * @prefix: its prefix length
 * @port_min: the first node port
 * @port_max: the last node port
 */
struct service_ranges {
	uint32_t net;
	unsigned int prefix;
	unsigned int port_min;
	unsigned int port_max;
};

/* Parses "10.96.0.0/12" and "30000-32767"; -EINVAL with @err. */
int service_ranges_parse(struct service_ranges *r, const char *cidr,
			 const char *ports, char *err, size_t len);

/*
 * Takes the addresses a Service about to be created or updated needs
 * (@old is NULL on create): its ClusterIP on create, node ports of a
 * NodePort Service's new ports. Fills them into @svc. On failure takes
 * nothing and fills @f (422 naming the field).
 */
int services_allocate(struct apiserver *server, const json_t *old,
		      json_t *svc, struct api_fail *f);

/* Gives back what @svc holds and @kept does not (NULL: all of it). */
void services_release(struct apiserver *server, const json_t *svc,
		      const json_t *kept);

/* At start: frees allocations whose Service is gone (a crash between). */
int services_repair(struct apiserver *server);

#endif /* SKIFF_API_SERVICES_H */
