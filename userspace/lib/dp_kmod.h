/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the two halves of the kmod backend share: dp_kmod.c (overlay) and
 * dp_kmod_services.c (Services).
 */

#ifndef SKIFF_DP_KMOD_H
#define SKIFF_DP_KMOD_H

#include "dataplane.h"
#include "nl.h"

struct skiff_nl *kmod_nl(struct skiff_dp *dp);

int kmod_set_cluster_cidr(struct skiff_dp *dp, struct in_addr prefix,
			  uint8_t len, struct skiff_error *e);
int kmod_service_set(struct skiff_dp *dp, const struct skiff_dp_service *svc,
		     const struct skiff_dp_endpoint *backends,
		     unsigned int count, struct skiff_error *e);
int kmod_service_sync(struct skiff_dp *dp,
		      const struct skiff_dp_service_spec *specs,
		      unsigned int n, struct skiff_error *e);
int kmod_service_del(struct skiff_dp *dp, const struct skiff_dp_service *svc,
		     struct skiff_error *e);
int kmod_service_list(struct skiff_dp *dp, skiff_dp_service_cb cb, void *arg,
		      struct skiff_error *e);

#endif /* SKIFF_DP_KMOD_H */
