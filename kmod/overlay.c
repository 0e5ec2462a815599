// SPDX-License-Identifier: GPL-2.0
/*
 * The overlay device.
 *
 * Transmit: a packet routed into the device finds its peer by longest prefix
 * match on the inner destination, gets an inner Ethernet header (our VTEP
 * MAC to the peer's), a VXLAN header with our VNI, and leaves through
 * udp_tunnel_xmit_skb(), which keeps GSO and checksum offload working for
 * the inner packet. Receive: the UDP tunnel socket hands us VXLAN frames
 * (GRO-merged when possible); we check the VNI, strip the headers and feed
 * the inner IP packet to the stack through gro_cells.
 *
 * DOC: Locking
 *
 * Devices are created and destroyed under RTNL and listed in
 * &skiff_net.devs under RTNL. The datapath runs under RCU: transmit from
 * ndo_start_xmit, receive from the socket's encap_rcv, which finds the
 * device through the socket's sk_user_data. The socket is released in
 * ndo_uninit, after the device is closed and synchronize_net() has run, and
 * the device memory outlives any receiver that still holds it (netdev_run_todo
 * waits for an RCU grace period before freeing it).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/icmp.h>
#include <linux/if_arp.h>
#include <linux/ip.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <linux/skiff.h>
#include <linux/udp.h>
#include <net/dsfield.h>
#include <net/gro.h>
#include <net/icmp.h>
#include <net/ip.h>
#include <net/inet_ecn.h>
#include <net/ip_tunnels.h>
#include <net/rtnetlink.h>
#include <net/udp_tunnel.h>
#include <net/vxlan.h>

#include "netns.h"
#include "overlay.h"

/* Outer IPv4 + UDP + VXLAN + inner Ethernet. */
#define SKIFF_V4_OVERHEAD (sizeof(struct iphdr) + sizeof(struct udphdr) + \
			   sizeof(struct vxlanhdr) + ETH_HLEN)

static struct rtnl_link_ops skiff_link_ops;

/* ---- receive --------------------------------------------------------- */

static int skiff_udp_encap_recv(struct sock *sk, struct sk_buff *skb)
{
	struct skiff_dev *sd = rcu_dereference_sk_user_data(sk);
	struct vxlanhdr *vxh;
	struct ethhdr *eth;
	unsigned int len;
	u8 outer_tos, inner_tos;
	__be16 proto;

	if (unlikely(!sd || !netif_running(sd->dev)))
		goto drop;

	/* skb->data is at the UDP header. */
	if (!pskb_may_pull(skb, VXLAN_HLEN))
		goto drop;
	vxh = (struct vxlanhdr *)(udp_hdr(skb) + 1);
	/* RFC 7348: the I flag must be set; reserved bits are ignored. */
	if (!(vxh->vx_flags & VXLAN_HF_VNI) ||
	    vxlan_vni(vxh->vx_vni) != cpu_to_be32(sd->vni))
		goto drop;

	if (iptunnel_pull_header(skb, VXLAN_HLEN, htons(ETH_P_TEB), false))
		goto drop_counted;
	if (!pskb_may_pull(skb, ETH_HLEN))
		goto drop_counted;

	eth = (struct ethhdr *)skb->data;
	proto = eth->h_proto;
	if (proto != htons(ETH_P_IP) && proto != htons(ETH_P_IPV6))
		goto drop_counted;
	/* A frame we sent ourselves, looped back: never deliver it. */
	if (ether_addr_equal(eth->h_source, sd->vtep_mac))
		goto drop_counted;

	outer_tos = ip_hdr(skb)->tos;
	skb_pull_rcsum(skb, ETH_HLEN);
	skb_reset_mac_header(skb);
	skb_reset_network_header(skb);
	skb->protocol = proto;
	skb->dev = sd->dev;
	skb->pkt_type = PACKET_HOST;
	if (!pskb_inet_may_pull(skb))
		goto drop_counted;

	inner_tos = proto == htons(ETH_P_IP) ? ipv4_get_dsfield(ip_hdr(skb)) :
					       ipv6_get_dsfield(ipv6_hdr(skb));
	if (INET_ECN_decapsulate(skb, outer_tos, inner_tos) > 1)
		goto drop_counted;

	len = skb->len;
	if (likely(gro_cells_receive(&sd->gro_cells, skb) == NET_RX_SUCCESS))
		dev_sw_netstats_rx_add(sd->dev, len);
	return 0;

drop_counted:
	DEV_STATS_INC(sd->dev, rx_dropped);
drop:
	kfree_skb(skb);
	return 0;
}

static struct sk_buff *skiff_gro_receive(struct sock *sk,
					 struct list_head *head,
					 struct sk_buff *skb)
{
	struct sk_buff *pp = NULL;
	struct vxlanhdr *vh, *vh2;
	unsigned int hlen, off;
	struct sk_buff *p;
	int flush = 1;

	off = skb_gro_offset(skb);
	hlen = off + sizeof(*vh);
	vh = skb_gro_header(skb, hlen, off);
	if (unlikely(!vh))
		goto out;

	skb_gro_postpull_rcsum(skb, vh, sizeof(*vh));
	skb_gro_pull(skb, sizeof(*vh));

	list_for_each_entry(p, head, list) {
		if (!NAPI_GRO_CB(p)->same_flow)
			continue;
		vh2 = (struct vxlanhdr *)(p->data + off);
		if (vh->vx_flags != vh2->vx_flags ||
		    vh->vx_vni != vh2->vx_vni)
			NAPI_GRO_CB(p)->same_flow = 0;
	}

	pp = call_gro_receive(eth_gro_receive, head, skb);
	flush = 0;
out:
	skb_gro_flush_final(skb, pp, flush);
	return pp;
}

static int skiff_gro_complete(struct sock *sk, struct sk_buff *skb, int nhoff)
{
	/* skb->encapsulation is set: this sets the inner MAC header too. */
	return eth_gro_complete(skb, nhoff + sizeof(struct vxlanhdr));
}

static struct socket *skiff_sock_create(struct skiff_dev *sd, u16 port,
					struct netlink_ext_ack *extack)
{
	struct udp_tunnel_sock_cfg tunnel_cfg = {};
	struct udp_port_cfg udp_conf = {};
	struct socket *sock;
	int err;

	udp_conf.family = AF_INET;
	udp_conf.local_ip.s_addr = htonl(INADDR_ANY);
	udp_conf.local_udp_port = htons(port);
	err = udp_sock_create(sd->net, &udp_conf, &sock);
	if (err) {
		if (err == -EADDRINUSE)
			NL_SET_ERR_MSG(extack, "UDP port in use in this network namespace");
		else
			NL_SET_ERR_MSG(extack, "cannot create the UDP tunnel socket");
		return ERR_PTR(err);
	}
	udp_allow_gso(sock->sk);

	tunnel_cfg.sk_user_data = sd;
	tunnel_cfg.encap_type = 1;
	tunnel_cfg.encap_rcv = skiff_udp_encap_recv;
	tunnel_cfg.gro_receive = skiff_gro_receive;
	tunnel_cfg.gro_complete = skiff_gro_complete;
	setup_udp_tunnel_sock(sd->net, sock, &tunnel_cfg);
	/* Lets NICs that parse VXLAN on this port offload for us. */
	udp_tunnel_notify_add_rx_port(sock, UDP_TUNNEL_TYPE_VXLAN);
	return sock;
}

/* ---- transmit -------------------------------------------------------- */

static struct rtable *skiff_route4(struct skiff_dev *sd,
				   struct skiff_peer *peer,
				   struct sk_buff *skb, __be16 sport,
				   __be32 *saddr)
{
	bool use_cache = !skb->mark;
	struct flowi4 fl4 = {};
	struct rtable *rt;

	if (use_cache) {
		rt = dst_cache_get_ip4(&peer->dst_cache, saddr);
		if (rt)
			return rt;
	}

	fl4.flowi4_proto = IPPROTO_UDP;
	fl4.flowi4_mark = skb->mark;
	fl4.daddr = peer->remote4;
	fl4.saddr = sd->local4;
	fl4.fl4_dport = sd->port;
	fl4.fl4_sport = sport;
	rt = ip_route_output_key(sd->net, &fl4);
	if (IS_ERR(rt))
		return rt;
	if (rt->dst.dev == sd->dev) {
		/* The underlay route leads back into the overlay. */
		ip_rt_put(rt);
		return ERR_PTR(-ELOOP);
	}
	*saddr = fl4.saddr;
	if (use_cache)
		dst_cache_set_ip4(&peer->dst_cache, &rt->dst, fl4.saddr);
	return rt;
}

/*
 * A packet too big for the path to the peer: lower the inner route's PMTU
 * and, when the sender asked not to fragment, tell it (ICMP frag needed)
 * instead of sending. Returns true when the packet must be dropped.
 */
static bool skiff_pmtu_exceeded4(struct sk_buff *skb, struct rtable *rt)
{
	u32 mtu = dst_mtu(&rt->dst) - SKIFF_V4_OVERHEAD;

	if (skb_is_gso(skb) ? skb_gso_validate_network_len(skb, mtu) :
			      skb->len <= mtu)
		return false;

	skb_dst_update_pmtu_no_confirm(skb, mtu);
	if (!(ip_hdr(skb)->frag_off & htons(IP_DF)))
		return false;
	icmp_ndo_send(skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, htonl(mtu));
	return true;
}

static int skiff_xmit4(struct skiff_dev *sd, struct skiff_peer *peer,
		       struct sk_buff *skb)
{
	unsigned int len = skb->len;
	struct vxlanhdr *vxh;
	struct ethhdr *eth;
	struct rtable *rt;
	__be32 saddr;
	__be16 sport;
	u8 tos, ttl;
	int err;

	sport = udp_flow_src_port(sd->net, skb, 0, 0, true);
	rt = skiff_route4(sd, peer, skb, sport, &saddr);
	if (IS_ERR(rt)) {
		DEV_STATS_INC(sd->dev, tx_carrier_errors);
		return PTR_ERR(rt);
	}

	if (skiff_pmtu_exceeded4(skb, rt)) {
		err = -EMSGSIZE;
		goto err_put_rt;
	}

	tos = ip_tunnel_ecn_encap(ip_hdr(skb)->tos, ip_hdr(skb), skb);
	ttl = ip4_dst_hoplimit(&rt->dst);

	skb_scrub_packet(skb, false);
	err = skb_cow_head(skb, LL_RESERVED_SPACE(rt->dst.dev) +
			   rt->dst.header_len + SKIFF_V4_OVERHEAD);
	if (unlikely(err))
		goto err_put_rt;

	eth = skb_push(skb, ETH_HLEN);
	skb_reset_mac_header(skb);
	ether_addr_copy(eth->h_dest, peer->remote_mac);
	ether_addr_copy(eth->h_source, sd->vtep_mac);
	eth->h_proto = skb->protocol;

	/* Marks the inner headers where they are now: Ethernet, then IP. */
	err = udp_tunnel_handle_offloads(skb, false);
	if (unlikely(err))
		goto err_put_rt;

	vxh = __skb_push(skb, sizeof(*vxh));
	vxh->vx_flags = VXLAN_HF_VNI;
	vxh->vx_vni = vxlan_vni_field(cpu_to_be32(sd->vni));
	skb_set_inner_protocol(skb, htons(ETH_P_TEB));

	skiff_counters_add(&peer->stats, len);

	/* IPv4 underlay, no outer UDP checksum: what Linux vxlan does too. */
	udp_tunnel_xmit_skb(rt, sd->sock->sk, skb, saddr, peer->remote4, tos,
			    ttl, 0, sport, sd->port, false, true);
	dev_sw_netstats_tx_add(sd->dev, 1, len);
	return 0;

err_put_rt:
	ip_rt_put(rt);
	return err;
}

static netdev_tx_t skiff_dev_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct skiff_dev *sd = netdev_priv(dev);
	struct skiff_peer *peer;

	if (!pskb_inet_may_pull(skb))
		goto drop;

	if (skb->protocol != htons(ETH_P_IP)) {
		/* IPv6 pod networks: the peer table is designed for them. */
		goto drop;
	}

	peer = skiff_peer_lookup4(&sd->peers, ip_hdr(skb)->daddr);
	if (!peer) {
		icmp_ndo_send(skb, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0);
		goto drop;
	}
	if (skiff_xmit4(sd, peer, skb))
		goto drop;
	return NETDEV_TX_OK;

drop:
	DEV_STATS_INC(dev, tx_errors);
	DEV_STATS_INC(dev, tx_dropped);
	kfree_skb(skb);
	return NETDEV_TX_OK;
}

/* ---- device ---------------------------------------------------------- */

static int skiff_dev_init(struct net_device *dev)
{
	struct skiff_dev *sd = netdev_priv(dev);
	int err;

	dev->tstats = netdev_alloc_pcpu_stats(struct pcpu_sw_netstats);
	if (!dev->tstats)
		return -ENOMEM;

	err = gro_cells_init(&sd->gro_cells, dev);
	if (err)
		goto err_free_tstats;

	err = skiff_peer_table_init(&sd->peers);
	if (err)
		goto err_destroy_gro_cells;
	return 0;

err_destroy_gro_cells:
	gro_cells_destroy(&sd->gro_cells);
err_free_tstats:
	free_percpu(dev->tstats);
	return err;
}

static void skiff_dev_uninit(struct net_device *dev)
{
	struct skiff_dev *sd = netdev_priv(dev);

	if (sd->sock) {
		udp_tunnel_notify_del_rx_port(sd->sock, UDP_TUNNEL_TYPE_VXLAN);
		udp_tunnel_sock_release(sd->sock);
		sd->sock = NULL;
	}
	list_del(&sd->list);
	skiff_peer_table_destroy(&sd->peers);
	gro_cells_destroy(&sd->gro_cells);
	free_percpu(dev->tstats);
}

static const struct net_device_ops skiff_netdev_ops = {
	.ndo_init = skiff_dev_init,
	.ndo_uninit = skiff_dev_uninit,
	.ndo_start_xmit = skiff_dev_xmit,
	.ndo_get_stats64 = dev_get_tstats64,
};

#define SKIFF_DEV_FEATURES (NETIF_F_SG | NETIF_F_HW_CSUM | NETIF_F_RXCSUM | \
			    NETIF_F_FRAGLIST | NETIF_F_HIGHDMA | \
			    NETIF_F_GSO_SOFTWARE)

static void skiff_dev_setup(struct net_device *dev)
{
	dev->netdev_ops = &skiff_netdev_ops;
	dev->rtnl_link_ops = &skiff_link_ops;
	dev->type = ARPHRD_NONE;
	dev->flags = IFF_POINTOPOINT | IFF_NOARP;
	dev->priv_flags |= IFF_NO_QUEUE;
	dev->hard_header_len = 0;
	dev->addr_len = 0;
	dev->needed_headroom = LL_MAX_HEADER + SKIFF_V4_OVERHEAD;
	dev->mtu = SKIFF_DEFAULT_MTU;
	dev->min_mtu = IPV4_MIN_MTU;
	dev->max_mtu = IP_MAX_MTU - SKIFF_V4_OVERHEAD;
	/* The socket belongs to this namespace: the device stays in it. */
	dev->features |= NETIF_F_LLTX | NETIF_F_NETNS_LOCAL | SKIFF_DEV_FEATURES;
	dev->hw_features |= SKIFF_DEV_FEATURES;
	dev->hw_enc_features |= SKIFF_DEV_FEATURES;
	dev->needs_free_netdev = true;
	/* Keep the route on the skb: PMTU updates need it. */
	netif_keep_dst(dev);
}

static int skiff_link_validate(struct nlattr *tb[], struct nlattr *data[],
			       struct netlink_ext_ack *extack)
{
	NL_SET_ERR_MSG(extack,
		       "skiff devices are created over the skiff generic netlink family (skiff-dp dev add)");
	return -EOPNOTSUPP;
}

static void skiff_link_dellink(struct net_device *dev, struct list_head *head)
{
	unregister_netdevice_queue(dev, head);
}

static struct rtnl_link_ops skiff_link_ops __read_mostly = {
	.kind = "skiff",
	.priv_size = sizeof(struct skiff_dev),
	.setup = skiff_dev_setup,
	.validate = skiff_link_validate,
	.dellink = skiff_link_dellink,
};

struct skiff_dev *skiff_dev_create(struct net *net,
				   const struct skiff_dev_config *cfg,
				   struct netlink_ext_ack *extack)
{
	struct net_device *dev;
	struct skiff_dev *sd;
	struct socket *sock;
	int err;

	ASSERT_RTNL();
	if (__dev_get_by_name(net, cfg->ifname)) {
		NL_SET_ERR_MSG(extack, "an interface with this name exists");
		return ERR_PTR(-EEXIST);
	}

	dev = alloc_netdev(sizeof(*sd), cfg->ifname, NET_NAME_USER,
			   skiff_dev_setup);
	if (!dev)
		return ERR_PTR(-ENOMEM);
	dev_net_set(dev, net);
	dev->mtu = cfg->mtu;

	sd = netdev_priv(dev);
	sd->dev = dev;
	sd->net = net;
	INIT_LIST_HEAD(&sd->list);
	sd->vni = cfg->vni;
	sd->port = htons(cfg->port);
	sd->local4 = cfg->local4;
	if (cfg->has_vtep_mac)
		ether_addr_copy(sd->vtep_mac, cfg->vtep_mac);
	else
		eth_random_addr(sd->vtep_mac);

	err = register_netdevice(dev);
	if (err) {
		NL_SET_ERR_MSG(extack, "cannot register the device");
		goto err_free_netdev;
	}
	list_add_tail(&sd->list, &skiff_net(net)->devs);

	/*
	 * After registering, so that ndo_uninit is the one place that
	 * releases the socket, whichever way the device goes.
	 */
	sock = skiff_sock_create(sd, cfg->port, extack);
	if (IS_ERR(sock)) {
		unregister_netdevice(dev);
		return ERR_CAST(sock);
	}
	sd->sock = sock;
	return sd;

err_free_netdev:
	free_netdev(dev);
	return ERR_PTR(err);
}

void skiff_dev_destroy(struct skiff_dev *sd)
{
	ASSERT_RTNL();
	unregister_netdevice(sd->dev);
}

struct skiff_dev *skiff_dev_find(struct net *net, int ifindex,
				 const char *ifname,
				 struct netlink_ext_ack *extack)
{
	struct net_device *dev;

	ASSERT_RTNL();
	dev = ifindex ? __dev_get_by_index(net, ifindex) :
			__dev_get_by_name(net, ifname);
	if (!dev) {
		NL_SET_ERR_MSG(extack, "no such interface");
		return ERR_PTR(-ENODEV);
	}
	if (dev->rtnl_link_ops != &skiff_link_ops) {
		NL_SET_ERR_MSG(extack, "interface is not a skiff device");
		return ERR_PTR(-EINVAL);
	}
	return netdev_priv(dev);
}

int __init skiff_overlay_init(void)
{
	return rtnl_link_register(&skiff_link_ops);
}

void skiff_overlay_exit(void)
{
	rtnl_link_unregister(&skiff_link_ops);
}
