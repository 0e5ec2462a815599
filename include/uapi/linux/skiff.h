/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * skiff: the node data plane of the skiff cluster system.
 *
 * DOC: skiff generic netlink protocol
 *
 * skiff.ko is programmed over one generic netlink family, SKIFF_GENL_NAME
 * ("skiff"), version SKIFF_GENL_VERSION. Resolve the family id with the
 * generic netlink controller (CTRL_CMD_GETFAMILY) as for any family.
 *
 * Every request is validated strictly: attributes of an unknown type, of the
 * wrong size or out of range, trailing data and attributes a command does not
 * take are rejected with -EINVAL (-ERANGE for ranges). Every rejection carries
 * an extended ack (NETLINK_EXT_ACK): a message saying what is wrong and, where
 * an attribute is at fault, the offset of that attribute. Set NETLINK_EXT_ACK
 * on the socket to receive them.
 *
 * All state is per network namespace: a request acts on the namespace of the
 * socket it arrives on. Commands that change state need CAP_NET_ADMIN in the
 * user namespace owning that network namespace; reading needs no privilege.
 *
 * Attributes are grouped: the top level (enum skiff_attr) holds one nest per
 * object, and each object has its own attribute space.
 *
 * SKIFF_CMD_INFO_GET
 * ------------------
 * Request: no attributes. Any attribute is rejected.
 * Reply (same command):
 *   SKIFF_A_INFO: nest of enum skiff_info_attr
 *     SKIFF_INFO_A_VERSION        NLA_NUL_STRING  module version, "MAJOR.MINOR.PATCH"
 *     SKIFF_INFO_A_GENL_VERSION   NLA_U32         SKIFF_GENL_VERSION of the module
 *     SKIFF_INFO_A_NETNS_COOKIE   NLA_U64         cookie of the network namespace
 *                                                 answering, as SO_NETNS_COOKIE
 *                                                 reports it for a socket there
 *     SKIFF_INFO_A_GENERATION     NLA_U32         configuration generation of that
 *                                                 namespace: bumped by every change,
 *                                                 0 in a namespace never configured
 */

#ifndef _UAPI_LINUX_SKIFF_H
#define _UAPI_LINUX_SKIFF_H

#define SKIFF_GENL_NAME		"skiff"
#define SKIFF_GENL_VERSION	1

enum skiff_cmd {
	SKIFF_CMD_UNSPEC,
	SKIFF_CMD_INFO_GET,

	__SKIFF_CMD_MAX,
	SKIFF_CMD_MAX = __SKIFF_CMD_MAX - 1
};

enum skiff_attr {
	SKIFF_A_UNSPEC,
	SKIFF_A_INFO,		/* nest, enum skiff_info_attr */

	__SKIFF_A_MAX,
	SKIFF_A_MAX = __SKIFF_A_MAX - 1
};

enum skiff_info_attr {
	SKIFF_INFO_A_UNSPEC,
	SKIFF_INFO_A_VERSION,
	SKIFF_INFO_A_GENL_VERSION,
	SKIFF_INFO_A_NETNS_COOKIE,
	SKIFF_INFO_A_PAD,
	SKIFF_INFO_A_GENERATION,

	__SKIFF_INFO_A_MAX,
	SKIFF_INFO_A_MAX = __SKIFF_INFO_A_MAX - 1
};

#endif /* _UAPI_LINUX_SKIFF_H */
