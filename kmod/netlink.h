/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The generic netlink family "skiff"; the protocol is documented in
 * include/uapi/linux/skiff.h.
 */

#ifndef _SKIFF_NETLINK_H
#define _SKIFF_NETLINK_H

int skiff_genl_init(void);
void skiff_genl_exit(void);

#endif /* _SKIFF_NETLINK_H */
