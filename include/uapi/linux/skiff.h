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
 *
 * The overlay device
 * ------------------
 * A skiff device is a layer-3 network device that carries the IP packets
 * routed into it to other nodes as standard VXLAN (RFC 7348): outer IP and
 * UDP, the 8-byte VXLAN header with the I flag and the VNI, an inner
 * Ethernet header, the packet. It interoperates with Linux's vxlan driver
 * set up the way flannel sets it up (nolearning, a permanent neighbour and
 * fdb entry per remote node). The device decides where a packet goes from
 * its peer table, "remote pod subnet -> remote node's underlay address":
 * no ARP, no FDB. Route the pod network (e.g. 10.244.0.0/16) into the
 * device; a packet for an address no peer covers is dropped with an ICMP
 * host unreachable.
 *
 * Each device receives on its own UDP socket (port SKIFF_DEV_A_PORT, any
 * local address) and only frames carrying its VNI. Inner frames must be
 * IPv4 or IPv6 over Ethernet; the inner destination MAC is not checked
 * (Linux's vxlan sends the receiver's own MAC, which is SKIFF_DEV_A_VTEP_MAC).
 *
 * SKIFF_CMD_DEV_NEW (CAP_NET_ADMIN)
 *   SKIFF_A_DEV: nest of enum skiff_dev_attr
 *     SKIFF_DEV_A_IFNAME     string   required, a free interface name
 *     SKIFF_DEV_A_VNI        u32      0..16777215, default 1 (flannel's)
 *     SKIFF_DEV_A_PORT       u16      UDP port, host order, 1..65535,
 *                                     default SKIFF_DEFAULT_PORT (8472)
 *     SKIFF_DEV_A_MTU        u32      68..65485, default 1450: a 1500 byte
 *                                     underlay less the 50 bytes of VXLAN
 *                                     over IPv4
 *     SKIFF_DEV_A_LOCAL4     be32     outer source address; default: chosen
 *                                     by the route to each peer
 *     SKIFF_DEV_A_VTEP_MAC   6 bytes  source MAC of the inner frames, what
 *                                     peers running Linux vxlan must use as
 *                                     this node's VTEP MAC; default random
 *   Reply: SKIFF_CMD_DEV_NEW with SKIFF_A_DEV as SKIFF_CMD_DEV_GET gives it.
 *   The device is created down; bring it up with rtnetlink (ip link set up).
 *
 * SKIFF_CMD_DEV_DEL (CAP_NET_ADMIN)
 *   SKIFF_A_DEV: { SKIFF_DEV_A_IFINDEX or SKIFF_DEV_A_IFNAME }
 *
 * SKIFF_CMD_DEV_GET
 *   doit: SKIFF_A_DEV: { SKIFF_DEV_A_IFINDEX or SKIFF_DEV_A_IFNAME }
 *   dump: no attributes; every skiff device of the namespace.
 *   Reply: SKIFF_A_DEV: { IFINDEX, IFNAME, VNI, PORT, MTU, VTEP_MAC,
 *                         [LOCAL4], PEERS (u32, number of peers) }
 *
 * Peers
 * -----
 * SKIFF_CMD_PEER_NEW (CAP_NET_ADMIN)
 *   SKIFF_A_PEER: nest of enum skiff_peer_attr
 *     SKIFF_PEER_A_IFINDEX     u32      required, the skiff device
 *     SKIFF_PEER_A_PREFIX4     be32     required: the remote pod subnet...
 *     SKIFF_PEER_A_PREFIX_LEN  u8       ...and its length, 1..32; host bits
 *                                       must be zero
 *     SKIFF_PEER_A_REMOTE4     be32     required: underlay address of the
 *                                       remote node (unicast)
 *     SKIFF_PEER_A_REMOTE_MAC  6 bytes  inner destination MAC; needed when
 *                                       the remote runs Linux vxlan (its
 *                                       VtepMAC); default: broadcast, which
 *                                       a skiff peer accepts
 *   SKIFF_A_REPLACE: flag, top level: an existing peer of the same prefix
 *   is replaced; without it that is -EEXIST. (Generic netlink reserves
 *   NLM_F_REPLACE's bit for dumps, hence an attribute.) Peers of different
 *   lengths may overlap: the longest prefix wins.
 *
 * SKIFF_CMD_PEER_DEL (CAP_NET_ADMIN)
 *   SKIFF_A_PEER: { IFINDEX, PREFIX4, PREFIX_LEN }
 *
 * SKIFF_CMD_PEER_GET
 *   dump: SKIFF_A_PEER: { IFINDEX } selects the device. One message per peer:
 *   SKIFF_A_PEER: { IFINDEX, PREFIX4, PREFIX_LEN, REMOTE4, REMOTE_MAC,
 *                   TX_PACKETS, TX_BYTES (u64 each) }
 *
 * Services
 * --------
 * A service is (virtual IP, port, protocol); a new connection to it is
 * DNATed to one of its backends (a consistent hash of the flow: rendezvous
 * hashing for up to 8 backends of equal weight, Maglev by weight beyond;
 * or the client's backend under ClientIP affinity), replies are translated
 * back, established connections keep their backend. A NodePort is a
 * service with virtual IP 0.0.0.0: it answers on every local address. A
 * service without backends rejects (TCP RST, ICMP port unreachable).
 * Connections to backends that leave their service are deleted from
 * conntrack at once.
 *
 * SKIFF_CMD_SERVICE_SET (CAP_NET_ADMIN)
 *   SKIFF_A_SERVICE, once or more: nest of enum skiff_service_attr
 *     SKIFF_SERVICE_A_VIP4       be32  virtual IP, unicast, or 0 (NodePort)
 *     SKIFF_SERVICE_A_PORT       u16   host order, 1..65535
 *     SKIFF_SERVICE_A_PROTO      u8    IPPROTO_TCP or IPPROTO_UDP
 *     SKIFF_SERVICE_A_AFFINITY   u32   ClientIP affinity timeout, seconds,
 *                                      0..86400 (0: none, the default)
 *     SKIFF_SERVICE_A_FLAGS      u32   bit mask of SKIFF_SERVICE_F_*,
 *                                      default 0; a bit outside
 *                                      SKIFF_SERVICE_F_ALL is rejected
 *     SKIFF_SERVICE_A_BACKEND    nest, 0 to SKIFF_MAX_BACKENDS times:
 *       SKIFF_BACKEND_A_ADDR4    be32  unicast
 *       SKIFF_BACKEND_A_PORT     u16   host order, 1..65535
 *       SKIFF_BACKEND_A_WEIGHT   u16   1..65535, default 1
 *   SKIFF_A_REPLACE: flag, top level: the request is the whole service
 *   table: services not in it are deleted (it may then hold no service).
 *   Each service is created, or replaced whole (settings and backends).
 *   All services of one request are applied, or none; a request may be
 *   as large as the socket's send buffer allows (SO_SNDBUFFORCE).
 *
 * SKIFF_CMD_SERVICE_DEL (CAP_NET_ADMIN)
 *   SKIFF_A_SERVICE: { VIP4, PORT, PROTO }
 *
 * SKIFF_CMD_SERVICE_GET
 *   dump, no attributes. One or more messages per service (a service with
 *   many backends continues in the next message, with the same key):
 *   SKIFF_A_SERVICE: { VIP4, PORT, PROTO, AFFINITY, FLAGS, PACKETS, BYTES,
 *                      BACKEND: { ADDR4, PORT, WEIGHT, PACKETS, BYTES }... }
 *   FLAGS is always there (0 for none), so a reader can tell a module that
 *   knows flags from one that does not.
 *   Counters count packets in the original direction of connections.
 *
 * SKIFF_CMD_CONFIG_SET (CAP_NET_ADMIN)
 *   SKIFF_A_CONFIG: nest of enum skiff_config_attr
 *     SKIFF_CONFIG_A_CLUSTER_CIDR4     be32  the pod network; host bits 0
 *     SKIFF_CONFIG_A_CLUSTER_CIDR_LEN  u8    0..32; 0 unsets it
 *   Connections to services from clients outside the cluster CIDR are
 *   masqueraded (all of them while it is unset), as are NodePort and
 *   hairpin connections. skiff.ko marks them with conntrack mark bit
 *   0x4000 (SKIFF_CT_MARK_MASQ). A service with SKIFF_SERVICE_F_LOCAL
 *   (Kubernetes' externalTrafficPolicy: Local) masquerades hairpin
 *   connections only: its clients, NodePort and outside ones included,
 *   keep their address. Its backends must then be local to the node, or
 *   their replies would not come back through it.
 *
 * Notifications
 * -------------
 * Every change is multicast to the group SKIFF_MCGRP_EVENTS as a message of
 * the command that made it, in the namespace it was made in:
 *   DEV_NEW, DEV_DEL, PEER_NEW, PEER_DEL  the object as a GET reply has it
 *   SERVICE_SET   one message per service a request set: its key,
 *                 SKIFF_SERVICE_A_AFFINITY, SKIFF_SERVICE_A_FLAGS and every
 *                 backend (address, port, weight; no counters)
 *   SERVICE_DEL   one message per service deleted, its key alone; a
 *                 SKIFF_A_REPLACE request sends these for the services it
 *                 removed, before the SERVICE_SETs of those it set
 *   CONFIG_SET    the SKIFF_A_CONFIG nest as set
 * Notifications are built only while the group has listeners. A listener
 * too slow for a large batch gets ENOBUFS on its socket, as with any
 * netlink multicast: it should dump the tables again.
 */

#ifndef _UAPI_LINUX_SKIFF_H
#define _UAPI_LINUX_SKIFF_H

#define SKIFF_GENL_NAME		"skiff"
#define SKIFF_GENL_VERSION	1
#define SKIFF_MCGRP_EVENTS	"events"

#define SKIFF_DEFAULT_PORT	8472
#define SKIFF_DEFAULT_VNI	1
#define SKIFF_DEFAULT_MTU	1450

enum skiff_cmd {
	SKIFF_CMD_UNSPEC,
	SKIFF_CMD_INFO_GET,
	SKIFF_CMD_DEV_NEW,
	SKIFF_CMD_DEV_DEL,
	SKIFF_CMD_DEV_GET,
	SKIFF_CMD_PEER_NEW,
	SKIFF_CMD_PEER_DEL,
	SKIFF_CMD_PEER_GET,
	SKIFF_CMD_SERVICE_SET,
	SKIFF_CMD_SERVICE_DEL,
	SKIFF_CMD_SERVICE_GET,
	SKIFF_CMD_CONFIG_SET,

	__SKIFF_CMD_MAX,
	SKIFF_CMD_MAX = __SKIFF_CMD_MAX - 1
};

enum skiff_attr {
	SKIFF_A_UNSPEC,
	SKIFF_A_INFO,		/* nest, enum skiff_info_attr */
	SKIFF_A_DEV,		/* nest, enum skiff_dev_attr */
	SKIFF_A_PEER,		/* nest, enum skiff_peer_attr */
	SKIFF_A_REPLACE,	/* flag: a *_NEW may replace an existing object */
	SKIFF_A_SERVICE,	/* nest, enum skiff_service_attr */
	SKIFF_A_CONFIG,		/* nest, enum skiff_config_attr */

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

enum skiff_dev_attr {
	SKIFF_DEV_A_UNSPEC,
	SKIFF_DEV_A_IFINDEX,
	SKIFF_DEV_A_IFNAME,
	SKIFF_DEV_A_VNI,
	SKIFF_DEV_A_PORT,
	SKIFF_DEV_A_MTU,
	SKIFF_DEV_A_LOCAL4,
	SKIFF_DEV_A_VTEP_MAC,
	SKIFF_DEV_A_PEERS,

	__SKIFF_DEV_A_MAX,
	SKIFF_DEV_A_MAX = __SKIFF_DEV_A_MAX - 1
};

enum skiff_peer_attr {
	SKIFF_PEER_A_UNSPEC,
	SKIFF_PEER_A_IFINDEX,
	SKIFF_PEER_A_PREFIX4,
	SKIFF_PEER_A_PREFIX_LEN,
	SKIFF_PEER_A_REMOTE4,
	SKIFF_PEER_A_REMOTE_MAC,
	SKIFF_PEER_A_TX_PACKETS,
	SKIFF_PEER_A_TX_BYTES,
	SKIFF_PEER_A_PAD,

	__SKIFF_PEER_A_MAX,
	SKIFF_PEER_A_MAX = __SKIFF_PEER_A_MAX - 1
};

#define SKIFF_MAX_BACKENDS	1024
#define SKIFF_CT_MARK_MASQ	0x4000

enum skiff_service_attr {
	SKIFF_SERVICE_A_UNSPEC,
	SKIFF_SERVICE_A_VIP4,
	SKIFF_SERVICE_A_PORT,
	SKIFF_SERVICE_A_PROTO,
	SKIFF_SERVICE_A_AFFINITY,
	SKIFF_SERVICE_A_BACKEND,
	SKIFF_SERVICE_A_PACKETS,
	SKIFF_SERVICE_A_BYTES,
	SKIFF_SERVICE_A_PAD,
	SKIFF_SERVICE_A_FLAGS,		/* u32, SKIFF_SERVICE_F_* */

	__SKIFF_SERVICE_A_MAX,
	SKIFF_SERVICE_A_MAX = __SKIFF_SERVICE_A_MAX - 1
};

/*
 * SKIFF_SERVICE_A_FLAGS bits.
 * SKIFF_SERVICE_F_LOCAL: external traffic policy Local: clients keep their
 * address; only hairpin is masqueraded.
 */
#define SKIFF_SERVICE_F_LOCAL	0x1
#define SKIFF_SERVICE_F_ALL	SKIFF_SERVICE_F_LOCAL

enum skiff_backend_attr {
	SKIFF_BACKEND_A_UNSPEC,
	SKIFF_BACKEND_A_ADDR4,
	SKIFF_BACKEND_A_PORT,
	SKIFF_BACKEND_A_WEIGHT,
	SKIFF_BACKEND_A_PACKETS,
	SKIFF_BACKEND_A_BYTES,
	SKIFF_BACKEND_A_PAD,

	__SKIFF_BACKEND_A_MAX,
	SKIFF_BACKEND_A_MAX = __SKIFF_BACKEND_A_MAX - 1
};

enum skiff_config_attr {
	SKIFF_CONFIG_A_UNSPEC,
	SKIFF_CONFIG_A_CLUSTER_CIDR4,
	SKIFF_CONFIG_A_CLUSTER_CIDR_LEN,

	__SKIFF_CONFIG_A_MAX,
	SKIFF_CONFIG_A_MAX = __SKIFF_CONFIG_A_MAX - 1
};

#endif /* _UAPI_LINUX_SKIFF_H */
