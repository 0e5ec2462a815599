// SPDX-License-Identifier: GPL-2.0
/*
 * The node agent's proxy (kube-proxy's job) end to end at the module
 * level: a real skiff-apiserver, Services and Endpoints written through
 * its API, informers and the proxy on an event loop in this process, and
 * the nft data plane in a network namespace of this test's own, read back
 * with skiff_dp_service_list() as `skiff-dp service show` would.
 *
 * Covered: the first sync (ready endpoints only, named ports, headless
 * Services skipped, a stale service of an earlier run removed); NodePort
 * with externalTrafficPolicy Local; ClientIP affinity and its timeout; an
 * endpoint and a Service going; what is refused (SCTP, bad endpoint
 * addresses, a bad clusterIP) leaving the rest alone; and a full sync
 * after the watch lost history (410 Gone) removing what no Service
 * explains.
 */

#include "dataplane.h"
#include "informer.h"
#include "node_apiserver.h"
#include "proxy.h"

#define WAIT_MS 10000
#define NS_PATH "/api/v1/namespaces/default"
#define MERGE "application/merge-patch+json"
#define OLD_WATCH "/api/v1/services?watch=1&resourceVersion=2&timeoutSeconds=1"
#define CM_CHURN "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'churn'}}"

#define SVC_WEB "{'apiVersion':'v1','kind':'Service','metadata':{'name':'web'}," \
	"'spec':{'clusterIP':'10.96.0.10','selector':{'app':'web'},'ports':[" \
	"{'name':'http','port':80,'targetPort':8080}," \
	"{'name':'dns','port':53,'protocol':'UDP','targetPort':5353}]}}"
/* Two ready endpoints and one not ready; the ports in another order. */
#define EP_WEB "{'apiVersion':'v1','kind':'Endpoints','metadata':{'name':'web'}," \
	"'subsets':[{'addresses':[{'ip':'10.244.2.2','nodeName':'n2'}," \
	"{'ip':'10.244.1.2','nodeName':'n1'}]," \
	"'notReadyAddresses':[{'ip':'10.244.1.3','nodeName':'n1'}]," \
	"'ports':[{'name':'dns','port':5353,'protocol':'UDP'}," \
	"{'name':'http','port':8080,'protocol':'TCP'}]}]}"
#define SVC_HEADLESS "{'apiVersion':'v1','kind':'Service','metadata':{'name':'db'}," \
	"'spec':{'clusterIP':'None','ports':[{'port':5432}]}}"
#define EP_HEADLESS "{'apiVersion':'v1','kind':'Endpoints','metadata':{'name':'db'}," \
	"'subsets':[{'addresses':[{'ip':'10.244.1.9'}],'ports':[{'port':5432}]}]}"
#define SVC_NODEPORT "{'apiVersion':'v1','kind':'Service','metadata':{'name':'np'}," \
	"'spec':{'type':'NodePort','clusterIP':'10.96.0.20'," \
	"'externalTrafficPolicy':'Local','ports':[{'port':80,'nodePort':30080}]}}"
#define EP_NODEPORT "{'apiVersion':'v1','kind':'Endpoints','metadata':{'name':'np'}," \
	"'subsets':[{'addresses':[{'ip':'10.244.1.5','nodeName':'n1'}," \
	"{'ip':'10.244.2.5','nodeName':'n2'}],'ports':[{'port':9090}]}]}"
#define SVC_STICKY "{'apiVersion':'v1','kind':'Service','metadata':{'name':'sticky'}," \
	"'spec':{'clusterIP':'10.96.0.30','sessionAffinity':'ClientIP'," \
	"'ports':[{'port':80}]}}"
#define EP_STICKY "{'apiVersion':'v1','kind':'Endpoints','metadata':{'name':'sticky'}," \
	"'subsets':[{'addresses':[{'ip':'10.244.2.7'}],'ports':[{'port':80}]}]}"
#define SVC_MIXED "{'apiVersion':'v1','kind':'Service','metadata':{'name':'mixed'}," \
	"'spec':{'clusterIP':'10.96.0.40','ports':[{'name':'tcp','port':8080}," \
	"{'name':'sctp','port':9,'protocol':'SCTP'}]}}"
#define EP_MIXED "{'apiVersion':'v1','kind':'Endpoints','metadata':{'name':'mixed'}," \
	"'subsets':[{'addresses':[{'ip':'10.244.1.8'},{'ip':'bogus'}," \
	"{'ip':'127.0.0.1'}],'ports':[{'name':'tcp','port':8080}," \
	"{'name':'sctp','port':9,'protocol':'SCTP'}]}]}"
#define EP_BAD "{'apiVersion':'v1','kind':'Endpoints','metadata':{'name':'bad'}," \
	"'subsets':[{'addresses':[{'ip':'10.244.1.4'}],'ports':[{'port':80}]}]}"
/* What no apiserver would store: only a broken cache could hand it over. */
#define SVC_BAD "{'apiVersion':'v1','kind':'Service','metadata':{'name':'bad'," \
	"'namespace':'default','uid':'u-bad','resourceVersion':'999999999'}," \
	"'spec':{'type':'ClusterIP','clusterIP':'10.96.0.300'," \
	"'ports':[{'port':80,'protocol':'TCP'}]}}"
#define EP_WEB_ONE "{'subsets':[{'addresses':[{'ip':'10.244.2.2','nodeName':'n2'}]," \
	"'ports':[{'name':'dns','port':5353,'protocol':'UDP'}," \
	"{'name':'http','port':8080,'protocol':'TCP'}]}]}"
#define AFFINITY_600 "{'spec':{'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':600}}}}"

#define LINE_WEB_HTTP "10.96.0.10:80/tcp aff=0 10.244.1.2:8080 10.244.2.2:8080"
#define LINE_WEB_DNS "10.96.0.10:53/udp aff=0 10.244.1.2:5353 10.244.2.2:5353"
#define LINE_NP "10.96.0.20:80/tcp aff=0 10.244.1.5:9090 10.244.2.5:9090"
#define LINE_NP_NODE "0.0.0.0:30080/tcp aff=0 10.244.1.5:9090"
#define LINE_MIXED "10.96.0.40:8080/tcp aff=0 10.244.1.8:8080"

struct table {
	struct skiff_dp *dp;
	char *want;
	char *got;
};

static int table_add(const struct skiff_dp_service *svc,
		     const struct skiff_dp_endpoint *backends,
		     unsigned int count, void *arg)
{
	struct skiff_dp_endpoint sorted[64];
	char vip[INET_ADDRSTRLEN], ip[INET_ADDRSTRLEN], line[2048];
	unsigned int i;
	size_t len;

	inet_ntop(AF_INET, &svc->vip, vip, sizeof(vip));
	len = snprintf(line, sizeof(line), "%s:%u/%s aff=%u", vip, svc->port,
		       skiff_dp_proto_name(svc->proto), svc->affinity_timeout);
	if (count > 64)
		count = 64;
	memcpy(sorted, backends, count * sizeof(*backends));
	qsort(sorted, count, sizeof(*sorted), skiff_dp_endpoint_cmp);
	for (i = 0; i < count && len < sizeof(line) - 32; i++) {
		inet_ntop(AF_INET, &sorted[i].addr, ip, sizeof(ip));
		len += snprintf(line + len, sizeof(line) - len, " %s:%u", ip,
				sorted[i].port);
	}
	json_array_append_new(arg, json_string(line));
	return 0;
}

/* The data plane's services, one a line, sorted. */
static char *table_text(struct skiff_dp *dp)
{
	struct skiff_error e;
	json_t *list = json_array();
	char *out;

	if (skiff_dp_service_list(dp, table_add, list, &e)) {
		json_decref(list);
		return strdup(e.msg);
	}
	out = lines_sorted(list);
	json_decref(list);
	return out;
}

static bool table_is(void *arg)
{
	struct table *t = arg;

	free(t->got);
	t->got = table_text(t->dp);
	return !strcmp(t->got, t->want);
}

/* Waits until the table is the given lines (NULL-terminated). */
static bool wait_table(struct skiff_loop *loop, struct skiff_dp *dp,
		       const char *what, ...)
{
	struct table t = { .dp = dp };
	json_t *list = json_array();
	const char *line;
	va_list ap;
	bool ok;

	va_start(ap, what);
	while ((line = va_arg(ap, const char *)))
		json_array_append_new(list, json_string(line));
	va_end(ap);
	t.want = lines_sorted(list);
	json_decref(list);
	loop_until(loop, table_is, &t, WAIT_MS);
	ok = tap_is_str(t.got, t.want, "%s", what);
	free(t.want);
	free(t.got);
	return ok;
}

static void dp_put(struct skiff_dp *dp, const char *vip, uint16_t port,
		   const char *backend)
{
	struct skiff_dp_service svc = { .port = port, .proto = SKIFF_DP_TCP };
	struct skiff_dp_endpoint b = { .port = 80, .weight = 1 };
	struct skiff_error e;

	inet_pton(AF_INET, vip, &svc.vip);
	inet_pton(AF_INET, backend, &b.addr);
	if (skiff_dp_service_set(dp, &svc, &b, 1, &e)) {
		printf("Bail out! service_set %s: %s\n", vip, e.msg);
		exit(1);
	}
}

static long post(struct skiff_client *c, const char *plural, const char *body)
{
	char path[128];

	snprintf(path, sizeof(path), NS_PATH "/%s", plural);
	return api_call(c, "POST", path, NULL, "%s", body);
}

/* Writes past the server's watch history: the informers' next watch is 410. */
static void churn(struct skiff_client *c, int writes)
{
	int i;

	post(c, "configmaps", CM_CHURN);
	for (i = 0; i < writes; i++)
		api_call(c, "PATCH", NS_PATH "/configmaps/churn", MERGE,
			 "{'data':{'k':'%d'}}", i);
}

int main(void)
{
	struct skiff_informer *services, *endpoints;
	struct in_addr cluster;
	struct skiff_proxy *p;
	struct skiff_loop *loop;
	struct skiff_client *c;
	struct skiff_error e;
	struct skiff_dp *dp;
	json_t *bad;
	struct api api;

	tap_plan(18);
	netns_private();
	api_start(&api, "--history", "20", NULL);
	loop = skiff_loop_new();
	c = skiff_client_new(loop, api.url);
	if (!loop || !c)
		die("loop");
	if (skiff_dp_open(&dp, SKIFF_DP_NFT, &e)) {
		printf("Bail out! nft data plane: %s\n", e.msg);
		return 1;
	}

	/* Before the proxy: a service of an earlier run, and the cluster. */
	dp_put(dp, "10.96.99.99", 80, "10.244.9.9");
	tap_is_int(post(c, "services", SVC_WEB), 201, "Service web created");
	post(c, "endpoints", EP_WEB);
	post(c, "services", SVC_HEADLESS);
	post(c, "endpoints", EP_HEADLESS);

	services = skiff_informer_new(c, &skiff_services, NULL);
	endpoints = skiff_informer_new(c, &skiff_endpoints, NULL);
	if (!services || !endpoints)
		die("informer");
	inet_pton(AF_INET, "10.244.0.0", &cluster);
	tap_is_int(skiff_proxy_start(&p, loop, dp, services, endpoints, "n1",
				     cluster, 16, &e), 0, "proxy started");
	skiff_informer_start(services);
	skiff_informer_start(endpoints);
	wait_table(loop, dp, "first sync: 2 of 3 endpoints (ready ones) on each named port; "
		   "headless skipped; the stale service removed",
		   LINE_WEB_HTTP, LINE_WEB_DNS, NULL);
	tap_is_int(skiff_proxy_services(p), 2, "2 service ports programmed");

	post(c, "services", SVC_NODEPORT);
	post(c, "endpoints", EP_NODEPORT);
	/* externalTrafficPolicy Local: the node port has only n1's. */
	wait_table(loop, dp, "NodePort: every endpoint on the ClusterIP, local ones on the port",
		   LINE_WEB_HTTP, LINE_WEB_DNS, LINE_NP, LINE_NP_NODE, NULL);

	post(c, "services", SVC_STICKY);
	post(c, "endpoints", EP_STICKY);
	wait_table(loop, dp, "ClientIP affinity: 10800 s by default",
		   LINE_WEB_HTTP, LINE_WEB_DNS, LINE_NP, LINE_NP_NODE,
		   "10.96.0.30:80/tcp aff=10800 10.244.2.7:80", NULL);
	api_call(c, "PATCH", NS_PATH "/services/sticky", MERGE, AFFINITY_600);
	wait_table(loop, dp, "ClientIP affinity: timeoutSeconds",
		   LINE_WEB_HTTP, LINE_WEB_DNS, LINE_NP, LINE_NP_NODE,
		   "10.96.0.30:80/tcp aff=600 10.244.2.7:80", NULL);

	post(c, "services", SVC_MIXED);
	post(c, "endpoints", EP_MIXED);
	wait_table(loop, dp, "SCTP port and bad endpoint addresses skipped, the rest served",
		   LINE_WEB_HTTP, LINE_WEB_DNS, LINE_NP, LINE_NP_NODE,
		   "10.96.0.30:80/tcp aff=600 10.244.2.7:80", LINE_MIXED, NULL);

	api_call(c, "PATCH", NS_PATH "/endpoints/web", MERGE, EP_WEB_ONE);
	wait_table(loop, dp, "an endpoint removed: its backend gone from both ports",
		   "10.96.0.10:80/tcp aff=0 10.244.2.2:8080",
		   "10.96.0.10:53/udp aff=0 10.244.2.2:5353", LINE_NP, LINE_NP_NODE,
		   "10.96.0.30:80/tcp aff=600 10.244.2.7:80", LINE_MIXED, NULL);

	/* A Service the apiserver would refuse, as if a watch brought it. */
	post(c, "endpoints", EP_BAD);
	bad = json_q(SVC_BAD);
	skiff_informer_wrote(services, bad, false);
	json_decref(bad);
	tap_is_int(api_call(c, "DELETE", NS_PATH "/services/np", NULL, NULL), 200,
		   "Service np deleted");
	wait_table(loop, dp, "deleted Service gone (both ports); a bad clusterIP skipped",
		   "10.96.0.10:80/tcp aff=0 10.244.2.2:8080",
		   "10.96.0.10:53/udp aff=0 10.244.2.2:5353",
		   "10.96.0.30:80/tcp aff=600 10.244.2.7:80", LINE_MIXED, NULL);
	tap_ok(skiff_informer_get(services, "default", "bad"),
	       "the bad Service is in the cache the proxy read");
	tap_is_int(skiff_proxy_services(p), 4, "4 service ports programmed");

	/*
	 * The informers lose history: the server restarts while they are not
	 * reading and more than --history writes happen, among them a
	 * deletion; someone adds a service by hand. Their watch then gets
	 * 410 Gone, they list again, and the proxy syncs everything.
	 */
	api_kill(&api);
	api_run(&api);
	dp_put(dp, "10.96.99.98", 80, "10.244.9.8");
	tap_is_int(api_call(c, "DELETE", NS_PATH "/services/sticky", NULL, NULL), 200,
		   "Service sticky deleted while the proxy does not watch");
	churn(c, 30);
	tap_is_int(api_call(c, "GET", OLD_WATCH, NULL, NULL), 410,
		   "the history is gone (410)");
	/* Both the service added by hand and the one deleted meanwhile go. */
	wait_table(loop, dp, "after the relist: a full sync",
		   "10.96.0.10:80/tcp aff=0 10.244.2.2:8080",
		   "10.96.0.10:53/udp aff=0 10.244.2.2:5353", LINE_MIXED, NULL);
	tap_ok(!skiff_informer_get(services, "default", "bad"),
	       "the relist dropped the bad Service from the cache");

	/* Still incremental after the full sync (Endpoints np stayed). */
	post(c, "services", SVC_NODEPORT);
	wait_table(loop, dp, "a Service created after the relist is served",
		   "10.96.0.10:80/tcp aff=0 10.244.2.2:8080",
		   "10.96.0.10:53/udp aff=0 10.244.2.2:5353", LINE_MIXED, LINE_NP,
		   LINE_NP_NODE, NULL);

	skiff_proxy_free(p);
	skiff_informer_free(services);
	skiff_informer_free(endpoints);
	skiff_client_free(c);
	skiff_loop_free(loop);
	skiff_dp_close(dp);
	api_stop(&api);
	return tap_done();
}
