// SPDX-License-Identifier: GPL-2.0
/*
 * IPv4 routes into a device, over rtnetlink with libnl-route.
 */

#include <errno.h>
#include <linux/rtnetlink.h>
#include <netlink/route/route.h>

#include "route.h"

static struct rtnl_route *route_build(const struct skiff_route *r)
{
	struct rtnl_nexthop *nh = NULL;
	struct nl_addr *dst = NULL, *gw = NULL;
	struct rtnl_route *route;

	route = rtnl_route_alloc();
	dst = nl_addr_build(AF_INET, &r->dst, sizeof(r->dst));
	nh = rtnl_route_nh_alloc();
	if (!route || !dst || !nh)
		goto err_free;
	nl_addr_set_prefixlen(dst, r->dst_len);
	rtnl_route_set_family(route, AF_INET);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_protocol(route, RTPROT_STATIC);
	if (rtnl_route_set_dst(route, dst) < 0)
		goto err_free;
	rtnl_route_nh_set_ifindex(nh, r->ifindex);
	if (r->gateway.s_addr) {
		gw = nl_addr_build(AF_INET, &r->gateway, sizeof(r->gateway));
		if (!gw)
			goto err_free;
		rtnl_route_nh_set_gateway(nh, gw);
		nl_addr_put(gw);
		rtnl_route_set_scope(route, RT_SCOPE_UNIVERSE);
	} else {
		rtnl_route_set_scope(route, RT_SCOPE_LINK);
	}
	if (r->onlink)
		rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
	rtnl_route_add_nexthop(route, nh);
	nl_addr_put(dst);
	return route;

err_free:
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(dst);
	rtnl_route_put(route);
	return NULL;
}

static int nl_to_errno(int nlerr)
{
	switch (-nlerr) {
	case NLE_EXIST:
		return -EEXIST;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_PERM:
		return -EPERM;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_NOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

int skiff_route_add(struct nl_sock *sk, const struct skiff_route *r,
		    bool replace, struct skiff_error *e)
{
	struct rtnl_route *route = route_build(r);
	int err;

	if (!route)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	err = rtnl_route_add(sk, route,
			     NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL));
	rtnl_route_put(route);
	if (err < 0)
		return skiff_error_set(e, nl_to_errno(err), "route: %s",
				       nl_geterror(err));
	return 0;
}

int skiff_route_del(struct nl_sock *sk, const struct skiff_route *r,
		    struct skiff_error *e)
{
	struct rtnl_route *route = route_build(r);
	int err;

	if (!route)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	err = rtnl_route_delete(sk, route, 0);
	rtnl_route_put(route);
	if (err < 0)
		return skiff_error_set(e, nl_to_errno(err), "route: %s",
				       nl_geterror(err));
	return 0;
}
