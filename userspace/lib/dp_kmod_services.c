// SPDX-License-Identifier: GPL-2.0
/*
 * Services on skiff.ko: SKIFF_CMD_SERVICE_SET/DEL/GET and
 * SKIFF_CMD_CONFIG_SET (include/uapi/linux/skiff.h).
 *
 * A dump may split a service with many backends over several messages
 * with the same key: they are merged here before the caller sees them.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/skiff.h>
#include <netlink/genl/genl.h>

#include "dp_kmod.h"

static int no_memory(struct skiff_error *e)
{
	return skiff_error_set(e, -ENOMEM, "out of memory");
}

int kmod_set_cluster_cidr(struct skiff_dp *dp, struct in_addr prefix,
			  uint8_t len, struct skiff_error *e)
{
	struct nlattr *nest;
	struct nl_msg *msg;

	msg = skiff_nl_request(kmod_nl(dp), SKIFF_CMD_CONFIG_SET, 0);
	if (!msg)
		return no_memory(e);
	nest = nla_nest_start(msg, SKIFF_A_CONFIG);
	if (!nest ||
	    nla_put_u32(msg, SKIFF_CONFIG_A_CLUSTER_CIDR4, prefix.s_addr) ||
	    nla_put_u8(msg, SKIFF_CONFIG_A_CLUSTER_CIDR_LEN, len)) {
		nlmsg_free(msg);
		return no_memory(e);
	}
	nla_nest_end(msg, nest);
	return skiff_nl_call(kmod_nl(dp), msg, NULL, NULL, e);
}

/*
 * The service attributes are written with libmnl into libnl's message
 * buffer (nlmsg_hdr(), nlmsg_get_max_size()): a table of 100k services is
 * over a million attributes, and libnl's nla_put() costs about three
 * times libmnl's per attribute. Each put is checked against the buffer's size.
 */
static int put_key(struct nlmsghdr *nlh, size_t room,
		   const struct skiff_dp_service *svc)
{
	return !mnl_attr_put_u32_check(nlh, room, SKIFF_SERVICE_A_VIP4,
				       svc->vip.s_addr) ||
	       !mnl_attr_put_u16_check(nlh, room, SKIFF_SERVICE_A_PORT,
				       svc->port) ||
	       !mnl_attr_put_u8_check(nlh, room, SKIFF_SERVICE_A_PROTO,
				      svc->proto);
}

static int put_backend(struct nlmsghdr *nlh, size_t room,
		       const struct skiff_dp_endpoint *b)
{
	struct nlattr *nest;

	nest = mnl_attr_nest_start_check(nlh, room, SKIFF_SERVICE_A_BACKEND);
	if (!nest ||
	    !mnl_attr_put_u32_check(nlh, room, SKIFF_BACKEND_A_ADDR4,
				    b->addr.s_addr) ||
	    !mnl_attr_put_u16_check(nlh, room, SKIFF_BACKEND_A_PORT, b->port) ||
	    !mnl_attr_put_u16_check(nlh, room, SKIFF_BACKEND_A_WEIGHT,
				    b->weight ? b->weight : 1))
		return -EMSGSIZE;
	mnl_attr_nest_end(nlh, nest);
	return 0;
}

/* Appends SKIFF_A_SERVICE for @svc and its @count backends to @msg. */
static int put_service(struct nl_msg *msg, const struct skiff_dp_service *svc,
		       const struct skiff_dp_endpoint *backends,
		       unsigned int count)
{
	size_t room = nlmsg_get_max_size(msg);
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *nest;
	unsigned int i;

	nest = mnl_attr_nest_start_check(nlh, room, SKIFF_A_SERVICE);
	if (!nest || put_key(nlh, room, svc) ||
	    !mnl_attr_put_u32_check(nlh, room, SKIFF_SERVICE_A_AFFINITY,
				    svc->affinity_timeout))
		return -EMSGSIZE;
	/* Only when set: a module without flags takes the rest. */
	if (svc->local &&
	    !mnl_attr_put_u32_check(nlh, room, SKIFF_SERVICE_A_FLAGS,
				    SKIFF_SERVICE_F_LOCAL))
		return -EMSGSIZE;
	for (i = 0; i < count; i++)
		if (put_backend(nlh, room, &backends[i]))
			return -EMSGSIZE;
	mnl_attr_nest_end(nlh, nest);
	return 0;
}

/* A SERVICE_SET request sized for @services services, @backends backends. */
static struct nl_msg *service_set_request(struct skiff_dp *dp,
					  size_t services, size_t backends)
{
	size_t size = 4096 + services * 48 + backends * 32;
	struct nl_msg *msg;

	msg = nlmsg_alloc_size(size);
	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ,
			 skiff_nl_family(kmod_nl(dp)), 0,
			 NLM_F_REQUEST | NLM_F_ACK, SKIFF_CMD_SERVICE_SET,
			 SKIFF_GENL_VERSION) ||
	    skiff_nl_set_sndbuf(kmod_nl(dp), size)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

int kmod_service_set(struct skiff_dp *dp, const struct skiff_dp_service *svc,
		     const struct skiff_dp_endpoint *backends,
		     unsigned int count, struct skiff_error *e)
{
	struct nl_msg *msg;

	msg = service_set_request(dp, 1, count);
	if (!msg || put_service(msg, svc, backends, count)) {
		nlmsg_free(msg);
		return no_memory(e);
	}
	return skiff_nl_call(kmod_nl(dp), msg, NULL, NULL, e);
}

/* The whole table in one request: the kernel applies it all or nothing. */
int kmod_service_sync(struct skiff_dp *dp,
		      const struct skiff_dp_service_spec *specs,
		      unsigned int n, struct skiff_error *e)
{
	size_t backends = 0;
	struct nl_msg *msg;
	unsigned int i;

	for (i = 0; i < n; i++)
		backends += specs[i].count;
	msg = service_set_request(dp, n, backends);
	if (!msg || nla_put_flag(msg, SKIFF_A_REPLACE))
		goto err_free_msg;
	for (i = 0; i < n; i++)
		if (put_service(msg, &specs[i].svc, specs[i].backends,
				specs[i].count))
			goto err_free_msg;
	return skiff_nl_call(kmod_nl(dp), msg, NULL, NULL, e);

err_free_msg:
	nlmsg_free(msg);
	return no_memory(e);
}

int kmod_service_del(struct skiff_dp *dp, const struct skiff_dp_service *svc,
		     struct skiff_error *e)
{
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	struct nl_msg *msg;
	size_t room;

	msg = skiff_nl_request(kmod_nl(dp), SKIFF_CMD_SERVICE_DEL, 0);
	if (!msg)
		return no_memory(e);
	nlh = nlmsg_hdr(msg);
	room = nlmsg_get_max_size(msg);
	nest = mnl_attr_nest_start_check(nlh, room, SKIFF_A_SERVICE);
	if (!nest || put_key(nlh, room, svc)) {
		nlmsg_free(msg);
		return no_memory(e);
	}
	mnl_attr_nest_end(nlh, nest);
	return skiff_nl_call(kmod_nl(dp), msg, NULL, NULL, e);
}

/* The service being assembled from one or more dump messages. */
struct list_ctx {
	skiff_dp_service_cb cb;
	void *arg;
	int stopped;
	bool have;
	struct skiff_dp_service svc;
	struct skiff_dp_endpoint *backends;
	unsigned int count;
};

static struct nla_policy service_policy[SKIFF_SERVICE_A_MAX + 1] = {
	[SKIFF_SERVICE_A_VIP4] = { .type = NLA_U32 },
	[SKIFF_SERVICE_A_PORT] = { .type = NLA_U16 },
	[SKIFF_SERVICE_A_PROTO] = { .type = NLA_U8 },
	[SKIFF_SERVICE_A_AFFINITY] = { .type = NLA_U32 },
	[SKIFF_SERVICE_A_BACKEND] = { .type = NLA_NESTED },
	[SKIFF_SERVICE_A_PACKETS] = { .type = NLA_U64 },
	[SKIFF_SERVICE_A_BYTES] = { .type = NLA_U64 },
	[SKIFF_SERVICE_A_FLAGS] = { .type = NLA_U32 },
};

static struct nla_policy backend_policy[SKIFF_BACKEND_A_MAX + 1] = {
	[SKIFF_BACKEND_A_ADDR4] = { .type = NLA_U32 },
	[SKIFF_BACKEND_A_PORT] = { .type = NLA_U16 },
	[SKIFF_BACKEND_A_WEIGHT] = { .type = NLA_U16 },
	[SKIFF_BACKEND_A_PACKETS] = { .type = NLA_U64 },
	[SKIFF_BACKEND_A_BYTES] = { .type = NLA_U64 },
};

static void flush_service(struct list_ctx *ctx)
{
	if (ctx->have && !ctx->stopped)
		ctx->stopped = ctx->cb(&ctx->svc, ctx->backends, ctx->count,
				       ctx->arg);
	ctx->have = false;
	ctx->count = 0;
}

static int parse_backend(struct nlattr *nest, struct skiff_dp_endpoint *b)
{
	struct nlattr *tb[SKIFF_BACKEND_A_MAX + 1];

	if (nla_parse_nested(tb, SKIFF_BACKEND_A_MAX, nest, backend_policy) < 0 ||
	    !tb[SKIFF_BACKEND_A_ADDR4] || !tb[SKIFF_BACKEND_A_PORT] ||
	    !tb[SKIFF_BACKEND_A_WEIGHT] || !tb[SKIFF_BACKEND_A_PACKETS] ||
	    !tb[SKIFF_BACKEND_A_BYTES])
		return -EPROTO;
	b->addr.s_addr = nla_get_u32(tb[SKIFF_BACKEND_A_ADDR4]);
	b->port = nla_get_u16(tb[SKIFF_BACKEND_A_PORT]);
	b->weight = nla_get_u16(tb[SKIFF_BACKEND_A_WEIGHT]);
	b->packets = nla_get_u64(tb[SKIFF_BACKEND_A_PACKETS]);
	b->bytes = nla_get_u64(tb[SKIFF_BACKEND_A_BYTES]);
	return 0;
}

static int service_list_cb(struct nl_msg *reply, void *arg)
{
	struct nlattr *top[SKIFF_A_MAX + 1], *tb[SKIFF_SERVICE_A_MAX + 1];
	struct list_ctx *ctx = arg;
	struct skiff_dp_service svc = {};
	struct nlattr *attr;
	int rem;

	if (genlmsg_parse(nlmsg_hdr(reply), 0, top, SKIFF_A_MAX, NULL) < 0 ||
	    !top[SKIFF_A_SERVICE] ||
	    nla_parse_nested(tb, SKIFF_SERVICE_A_MAX, top[SKIFF_A_SERVICE],
			     service_policy) < 0 ||
	    !tb[SKIFF_SERVICE_A_VIP4] || !tb[SKIFF_SERVICE_A_PORT] ||
	    !tb[SKIFF_SERVICE_A_PROTO] || !tb[SKIFF_SERVICE_A_AFFINITY] ||
	    !tb[SKIFF_SERVICE_A_PACKETS] || !tb[SKIFF_SERVICE_A_BYTES])
		return -EPROTO;
	svc.vip.s_addr = nla_get_u32(tb[SKIFF_SERVICE_A_VIP4]);
	svc.port = nla_get_u16(tb[SKIFF_SERVICE_A_PORT]);
	svc.proto = nla_get_u8(tb[SKIFF_SERVICE_A_PROTO]);
	svc.affinity_timeout = nla_get_u32(tb[SKIFF_SERVICE_A_AFFINITY]);
	svc.packets = nla_get_u64(tb[SKIFF_SERVICE_A_PACKETS]);
	svc.bytes = nla_get_u64(tb[SKIFF_SERVICE_A_BYTES]);
	/* Absent from a module older than flags: none set. */
	if (tb[SKIFF_SERVICE_A_FLAGS])
		svc.local = nla_get_u32(tb[SKIFF_SERVICE_A_FLAGS]) &
			    SKIFF_SERVICE_F_LOCAL;

	/* A continuation of the service before it, or a new one. */
	if (ctx->have && (ctx->svc.vip.s_addr != svc.vip.s_addr ||
			  ctx->svc.port != svc.port ||
			  ctx->svc.proto != svc.proto))
		flush_service(ctx);
	ctx->svc = svc;
	ctx->have = true;

	nla_for_each_nested(attr, top[SKIFF_A_SERVICE], rem) {
		if (nla_type(attr) != SKIFF_SERVICE_A_BACKEND)
			continue;
		if (ctx->count >= SKIFF_DP_MAX_BACKENDS ||
		    parse_backend(attr, &ctx->backends[ctx->count]))
			return -EPROTO;
		ctx->count++;
	}
	return 0;
}

int kmod_service_list(struct skiff_dp *dp, skiff_dp_service_cb cb, void *arg,
		      struct skiff_error *e)
{
	struct list_ctx ctx = { .cb = cb, .arg = arg };
	struct nl_msg *msg;
	int err;

	ctx.backends = calloc(SKIFF_DP_MAX_BACKENDS, sizeof(*ctx.backends));
	if (!ctx.backends)
		return no_memory(e);
	msg = skiff_nl_request(kmod_nl(dp), SKIFF_CMD_SERVICE_GET, NLM_F_DUMP);
	if (!msg) {
		free(ctx.backends);
		return no_memory(e);
	}
	err = skiff_nl_call(kmod_nl(dp), msg, service_list_cb, &ctx, e);
	if (!err)
		flush_service(&ctx);
	free(ctx.backends);
	return err ? err : ctx.stopped;
}
