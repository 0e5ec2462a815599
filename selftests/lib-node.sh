#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A whole cluster on one kernel for the node agent's tests: the control
# plane (apiserver, controller manager, scheduler) and 2-3 skiff-node
# agents, each node a network namespace on an underlay bridge, each pod a
# further namespace inside its node.
#
#   test file's own namespace ("the underlay", made by unshare --net)
#   +-------------------------------------------------------------+
#   | apiserver  controller-manager  scheduler   192.168.77.1/24  |
#   |                        ul0 (bridge)                         |
#   +-------+---------------------+---------------------+---------+
#           | veth                | veth                | veth
#   +-------+--------+    +-------+--------+    +-------+--------+
#   | node a         |    | node b         |    | node c         |
#   | eth0 .77.11    |    | eth0 .77.12    |    | eth0 .77.13    |
#   | skiff-node     |    | skiff-node     |    | skiff-node     |
#   | skiff0 10.244. |    | skiff0 10.244. |    | skiff0 ...     |
#   |  pods (netns)  |    |  pods (netns)  |    |                |
#   +----------------+    +----------------+    +----------------+
#
# The file re-runs itself in a network namespace of its own, so that the
# underlay and the apiserver's address are private to it; mounts stay the
# machine's (skiff-node keeps pod namespaces and rootfs mounts there).
#
#	node_cluster_start [CM_ARGS...]  apiserver, controller manager and
#	                                 scheduler on the underlay
#	node_start NAME [ARGS...]        node NAME (a, b, c) with its agent;
#	                                 waits until it is up; its apiserver
#	                                 is NODE_SERVER[NAME] if set, else $API
#	node_stop NAME [SIGNAL]          stops NAME's agent (containers stay)
#	node_agent NAME [ARGS...]        starts NAME's agent again
#	in_node NAME CMD...              runs CMD in NAME's namespace
#	in_pod NS POD CMD...             runs CMD in the pod's network namespace
#	pod_uid NS POD                   the pod's uid
#	pod_json NAME CMD [SPEC [CTR]]   a busybox Pod running shell command
#	                                 CMD, with SPEC merged into its spec
#	                                 and CTR into its container

if [ -z "${SKIFF_NODE_UNDERLAY:-}" ]; then
	export SKIFF_NODE_UNDERLAY=1
	exec unshare --net -- "$BASH" "$0" "$@"
fi

# Not on loopback: the apiserver speaks HTTPS, and every component has a
# certificate of the test's own CA (node NAME: system:node:NAME).
API_TLS=1
source "$(dirname "${BASH_SOURCE[0]}")/lib-controllers.sh"

UNDERLAY_IP=192.168.77.1
API_LISTEN_ADDR=$UNDERLAY_IP
NODE_IMAGES=$API_DIR/images
NODE_ROOTS=$API_DIR/nodes
declare -A NODE_NS NODE_SERVER

underlay_up() {
	ip link set lo up
	ip link add ul0 type bridge
	ip addr add "$UNDERLAY_IP/24" dev ul0
	ip link set ul0 up
}
underlay_up

# The pods' image: busybox from the host, built once per file.
mkdir -p "$NODE_IMAGES"
skiff-node image build-from-host --image-dir "$NODE_IMAGES" busybox /bin/busybox \
	> "$API_DIR/image.log" 2>&1 || { cat "$API_DIR/image.log"; exit 1; }

node_cluster_start() {
	cluster_start
	cm_start --node-monitor-grace-period 6s --pod-eviction-timeout 2s "$@"
	sched_start
}

node_index() {
	case $1 in
	a) echo 11 ;;
	b) echo 12 ;;
	c) echo 13 ;;
	*) echo 1$(( $(printf '%d' "'$1") % 10 )) ;;
	esac
}

node_agent() {
	local name=$1 ns=${NODE_NS[$1]} ip

	shift
	ip=192.168.77.$(node_index "$name")
	if [ ! -e "$API_PKI/node-$name.crt" ]; then
		skiffctl certs issue --dir "$API_PKI" node "$name" --san "$ip" > /dev/null ||
			fail "cannot issue node $name's certificate"
	fi
	API=${NODE_SERVER[$name]:-$API} api_kubeconfig "node-$name" "$API_DIR/node-$name.conf"
	daemon_start "node-$name" nsenter --net="/run/netns/$ns" \
		skiff-node --kubeconfig "$API_DIR/node-$name.conf" --node-name "$name" \
		--node-ip "$ip" \
		--root-dir "$NODE_ROOTS/$name" --image-dir "$NODE_IMAGES" \
		--dataplane "${SKIFF_BACKEND:-nft}" --heartbeat 1s "$@"
}

node_start() {
	local name=$1 ns

	shift
	ns_create ns
	NODE_NS[$name]=$ns
	ip link add "ul-$name" type veth peer name eth0 netns "$ns"
	ip link set "ul-$name" master ul0 up
	ip -n "$ns" addr add "192.168.77.$(node_index "$name")/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via "$UNDERLAY_IP"
	node_agent "$name" "$@"
	wait_for 30 grep -qs "node $name up" "$API_DIR/node-$name.log" ||
		fail "node $name did not come up: $(daemon_logs)"
}

node_stop() {
	daemon_stop "node-$1" "${2:-TERM}"
}

in_node() {
	local name=$1

	shift
	nsenter --net="/run/netns/${NODE_NS[$name]}" "$@"
}

pod_uid() {
	api GET "/api/v1/namespaces/$1/pods/$2" && jq -r .metadata.uid <<< "$OUT"
}

in_pod() {
	local node uid

	api GET "/api/v1/namespaces/$1/pods/$2"
	node=$(jq -r .spec.nodeName <<< "$OUT")
	uid=$(jq -r .metadata.uid <<< "$OUT")
	shift 2
	nsenter --net="$NODE_ROOTS/$node/pods/$uid/netns" "$@"
}

# Every node's containers, mounts and pod namespaces go with the case.
case_cleanup_more() {
	local dir

	for dir in "$NODE_ROOTS"/*; do
		[ -d "$dir" ] && skiff-node reset --root-dir "$dir"
	done
	for dir in "${!NODE_NS[@]}"; do
		ip link del "ul-$dir" 2>/dev/null || true
	done
	NODE_NS=()
}

# api_code_is CODE METHOD PATH: the request answers CODE.
api_code_is() {
	api "$2" "$3" && [ "$CODE" = "$1" ]
}

pod_json() {
	local name=$1 cmd=$2 spec=${3:-'{}'} ctr=${4:-'{}'}

	jq -nc --arg name "$name" --arg cmd "$cmd" --argjson spec "$spec" \
		--argjson ctr "$ctr" '{
		apiVersion: "v1", kind: "Pod", metadata: {name: $name},
		spec: ({containers: [{name: "main", image: "busybox",
				      command: ["sh", "-c", $cmd]} * $ctr],
			terminationGracePeriodSeconds: 5} * $spec)}'
}
