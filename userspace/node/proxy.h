/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Services, kube-proxy's job: every Service port and its ready endpoints
 * programmed into the data plane (kmod or nft backend).
 *
 *  - ClusterIP: (spec.clusterIP, port, protocol) -> the ready addresses of
 *    the Endpoints object of the same name, at the endpoint port of the
 *    same port name (or the only port).
 *  - NodePort (and LoadBalancer): also (0.0.0.0, nodePort, protocol).
 *    With externalTrafficPolicy Local only this node's endpoints
 *    (Endpoints addresses' nodeName) serve the NodePort.
 *  - sessionAffinity ClientIP: the timeout from
 *    sessionAffinityConfig.clientIP.timeoutSeconds (default 10800).
 *  - Headless services (clusterIP None) and ExternalName are not proxied.
 *
 * At start, and after every relist of either informer (410 Gone), the
 * whole table is made exactly what the cache says in one atomic sync
 * (skiff_dp_service_sync). Otherwise a change to one Service or Endpoints
 * costs one skiff_dp_service_set/del per affected service port, done
 * after the round of events that caused it (changes coalesce).
 */

#ifndef SKIFF_PROXY_H
#define SKIFF_PROXY_H

#include <netinet/in.h>
#include <stdint.h>

#include "client.h"
#include "dataplane.h"
#include "informer.h"

struct skiff_proxy;

/*
 * Follows @services and @endpoints (informers of all namespaces, started
 * by the caller) and programs @dp. @cluster_cidr/@cluster_len is the pod
 * network of the whole cluster (for the masquerade rule of the data
 * plane; 0 length for none).
 */
int skiff_proxy_start(struct skiff_proxy **pp, struct skiff_loop *loop,
		      struct skiff_dp *dp, struct skiff_informer *services,
		      struct skiff_informer *endpoints, const char *node_name,
		      struct in_addr cluster_cidr, uint8_t cluster_len,
		      struct skiff_error *e);
/* Before the informers are freed: it forgets its handlers on them. */
void skiff_proxy_free(struct skiff_proxy *p);

/* Programmed service ports and the last sync's latency, for metrics. */
unsigned int skiff_proxy_services(const struct skiff_proxy *p);
/* Milliseconds the last full sync or round of updates took. */
int64_t skiff_proxy_last_sync_ms(const struct skiff_proxy *p);

#endif /* SKIFF_PROXY_H */
