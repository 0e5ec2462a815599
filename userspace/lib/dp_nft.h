/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "nft" data plane is two files: dp_nft.c, the overlay (Linux's vxlan
 * over rtnetlink), which holds skiff_dp_nft_ops, and dp_nft_services.c,
 * Services in an nftables table of our own. These are the services half's
 * operations, for the ops table; dataplane.h describes what they do.
 */

#ifndef SKIFF_DP_NFT_H
#define SKIFF_DP_NFT_H

#include "dataplane.h"

int skiff_nft_set_cluster_cidr(struct skiff_dp *dp, struct in_addr prefix,
			       uint8_t len, struct skiff_error *e);
int skiff_nft_service_set(struct skiff_dp *dp,
			  const struct skiff_dp_service *svc,
			  const struct skiff_dp_endpoint *backends,
			  unsigned int count, struct skiff_error *e);
int skiff_nft_service_del(struct skiff_dp *dp,
			  const struct skiff_dp_service *svc,
			  struct skiff_error *e);
int skiff_nft_service_sync(struct skiff_dp *dp,
			   const struct skiff_dp_service_spec *specs,
			   unsigned int n, struct skiff_error *e);
int skiff_nft_service_list(struct skiff_dp *dp, skiff_dp_service_cb cb,
			   void *arg, struct skiff_error *e);

#endif /* SKIFF_DP_NFT_H */
