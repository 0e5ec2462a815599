#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What a node has programmed, with its counters (skiffctl dataplane): the
# node agent's GET /dataplane on its port 10250, read through the
# apiserver's nodes/NAME/proxy/PATH as Kubernetes proxies to a kubelet.
# Two nodes (topology: selftests/lib-node.sh), a Service with a pod on
# each; on the nft backend (the host) or kmod (the VM).

source "$(dirname "$0")/../lib-node.sh"

BACKEND=${SKIFF_BACKEND:-nft}
KUBELET=https://192.168.77.11:10250
PROXY=/api/v1/nodes/a/proxy

# A pod on node $1 answering its name on port 8080; it says "up" first.
web_pod() {
	pod_json "web-$1" \
		'echo up; mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www' \
		"{\"nodeName\":\"$1\"}" |
		jq -c '.metadata.labels = {app: "web"}'
}

web_service() {
	jq -nc '{apiVersion: "v1", kind: "Service", metadata: {name: "web"},
		spec: {selector: {app: "web"}, ports: [{port: 80, targetPort: 8080}]}}'
}

# GET $PROXY$1 as the admin: sets CODE, OUT, and TYPE (the content type).
proxy_get() {
	api GET "$PROXY$1"
	TYPE=$(acurl -s -o /dev/null -w '%{content_type}' "$API$PROXY$1")
}

# The Service's entry in node a's /dataplane (OUT) holds jq condition $1.
dataplane_holds() {
	api GET $PROXY/dataplane && [ "$CODE" = 200 ] &&
		jq -e --arg vip "$VIP" "[.services[] | select(.vip == \$vip and .port == 80)][0] |
			($1)" <<< "$OUT" > /dev/null
}

# Node a's peer (node b) counts at least $1 packets sent.
peer_counted() {
	api GET $PROXY/dataplane && jq -e ".peers[0].tx_packets >= $1" <<< "$OUT" > /dev/null
}

# Without counters: what skiff-dp and the node both print must agree.
uncounted() {
	jq -S 'del(.. | .packets?, .bytes?, .tx_packets?, .tx_bytes?)'
}

test_dataplane_through_the_apiserver() {
	node_cluster_start
	node_start a
	node_start b
	api_expect 201 POST /api/v1/namespaces/default/pods "$(web_pod a)"
	api_expect 201 POST /api/v1/namespaces/default/pods "$(web_pod b)"
	api_expect 201 POST /api/v1/namespaces/default/services "$(web_service)"
	wait_json 60 /api/v1/namespaces/default/endpoints/web \
		'[.subsets[].addresses[]] | length == 2'
	local ips b_cidr
	ips=$(jq -c '[.subsets[].addresses[].ip] | sort' <<< "$OUT")
	api GET /api/v1/namespaces/default/services/web
	VIP=$(jget .spec.clusterIP)
	api GET /api/v1/nodes/b
	b_cidr=$(jget .spec.podCIDR)

	# The Service with both backends, the peer node b, the overlay device.
	wait_for 20 dataplane_holds "([.backends[].addr] | sort) == $ips and
		all(.backends[]; .port == 8080 and .weight == 1) and .proto == \"tcp\"" ||
		fail "node a's data plane lacks $VIP:80 -> $ips: $OUT"
	proxy_get /dataplane
	check_eq "$TYPE" application/json "content type of /dataplane"
	check_eq "$(jget '.node + " " + .backend')" "a $BACKEND" "node and backend"
	check_eq "$(k get --raw $PROXY/dataplane | jq -r .node)" a "kubectl get --raw"
	check_eq "$(jget '[.devices[] | .name + " " + .local] | join(",")')" \
		"skiff.1 192.168.77.11" "the overlay device"
	check_eq "$(jget '[.peers[] | "\(.prefix)/\(.prefix_len) \(.remote)"] | join(",")')" \
		"$b_cidr 192.168.77.12" "the peer node b"
	# The same shapes as skiff-dp -j prints, built by the same code.
	check_eq "$(jq -c .services <<< "$OUT" | uncounted)" \
		"$(in_node a skiff-dp -b "$BACKEND" -j service show | uncounted)" "services as skiff-dp"
	check_eq "$(jq -c .peers <<< "$OUT" | uncounted)" \
		"$(in_node a skiff-dp -b "$BACKEND" -j peer show skiff.1 | uncounted)" "peers as skiff-dp"
	check_eq "$(jq -c .devices <<< "$OUT" | uncounted)" \
		"$(in_node a skiff-dp -b "$BACKEND" -j dev show skiff.1 | uncounted)" "devices as skiff-dp"

	# Traffic through the Service raises its counters and its backends'
	# (nft counts the first packet of each connection, kmod every one).
	local before
	before=$(jq --arg vip "$VIP" '[.services[] | select(.vip == $vip)][0].packets' <<< "$OUT")
	for _ in 1 2 3 4 5 6; do
		in_node a timeout 5 busybox wget -qO- "http://$VIP:80/" > /dev/null ||
			fail "the Service did not answer"
	done
	wait_for 10 dataplane_holds ".packets >= $before + 6 and
		([.backends[].packets] | add) >= 6 and .bytes > 0" ||
		fail "counters did not rise with 6 connections: $OUT"
	# kmod counts what goes to each peer; nft cannot tell (0).
	local b_ip
	api GET /api/v1/namespaces/default/pods/web-b
	b_ip=$(jget .status.podIP)
	in_node a busybox ping -c 2 -W 2 "$b_ip" > /dev/null || fail "node a cannot reach $b_ip"
	if [ "$BACKEND" = kmod ]; then
		wait_for 10 peer_counted 2 || fail "peer counters did not rise: $OUT"
	fi

	# Any path of the node, with its query: its logs too.
	proxy_get "/containerLogs/default/web-a/main?tailLines=1"
	check_eq "$CODE:$OUT" $'200:up\n' "containerLogs through nodes/proxy"
	check_match "$TYPE" "^text/plain" "containerLogs content type"
}

test_dataplane_refusals() {
	node_cluster_start
	node_start a
	# Discovery lists the subresource, as Kubernetes does.
	api_expect 200 GET /api/v1
	check_eq "$(jget '.resources[] | select(.name == "nodes/proxy") | .kind + " " + (.verbs | join(","))')" \
		"NodeProxyOptions get" "nodes/proxy in discovery"

	# What the node does not serve is its 404, passed on as it is.
	proxy_get /nope
	check_eq "$CODE:$OUT" "404:404 page not found" "a path the node does not serve"
	check_match "$TYPE" "^text/plain" "the node's 404 is its own text"
	proxy_get /dataplane/x
	check_eq "$CODE" 404 "/dataplane/x"
	proxy_get ""
	check_eq "$CODE" 404 "the node's /"
	# A node that does not exist.
	api_expect 404 GET /api/v1/nodes/zz/proxy/dataplane
	check_eq "$(jget .reason):$(jget .message)" 'NotFound:nodes "zz" not found' "unknown node"
	# GET only.
	api_expect 405 POST $PROXY/dataplane '{}'
	api_expect 404 GET /api/v1/nodes/a/proxyx/dataplane

	# nodes/proxy is admin-level: a node's own certificate is refused.
	local code
	code=$(curl -s --cacert "$API_PKI/ca.crt" --cert "$API_PKI/node-a.crt" \
		--key "$API_PKI/node-a.key" -o "$API_DIR/out" -w '%{http_code}' \
		"$API$PROXY/dataplane")
	check_eq "$code" 403 "nodes/proxy with node a's certificate"
	check_eq "$(jq -r .message "$API_DIR/out")" \
		'nodes "a" is forbidden: User "system:node:a" cannot get resource "nodes/proxy" in API group "" at the cluster scope' \
		"the refusal's words"
	# ... though the node reads its Node.
	code=$(curl -s --cacert "$API_PKI/ca.crt" --cert "$API_PKI/node-a.crt" \
		--key "$API_PKI/node-a.key" -o /dev/null -w '%{http_code}' "$API/api/v1/nodes/a")
	check_eq "$code" 200 "node a reads its Node"

	# The node's endpoint itself: admins yes, a node no, GET only.
	check_eq "$(acurl -sS "$KUBELET/dataplane" | jq -r .node)" a "node endpoint as admin"
	code=$(curl -s --cacert "$API_PKI/ca.crt" --cert "$API_PKI/node-a.crt" \
		--key "$API_PKI/node-a.key" -o /dev/null -w '%{http_code}' "$KUBELET/dataplane")
	check_eq "$code" 403 "node endpoint with a node's certificate"
	code=$(curl -s --cacert "$API_PKI/ca.crt" -o /dev/null -w '%{http_code}' \
		"$KUBELET/dataplane")
	check_eq "$code" 401 "node endpoint without a certificate"
	code=$(acurl -s -X POST -o /dev/null -w '%{http_code}' "$KUBELET/dataplane")
	check_eq "$code" 405 "POST /dataplane on the node"
}

run_tests test_dataplane_through_the_apiserver test_dataplane_refusals
