#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End to end: the cluster `make run` starts (scripts/run.sh), driven as a
# user drives it, with kubectl and the admin's kubeconfig; then `make stop`
# (scripts/stop.sh) must leave nothing behind.
#
#   this file's own network namespace (unshare --net): the underlay
#   +------------------------------------------------------------------+
#   | apiserver https://192.168.77.1:6443  controller-manager scheduler|
#   |                    skiff-ul (bridge)                             |
#   +--------+----------------------+----------------------+-----------+
#            |                      |                      |
#   +--------+--------+    +--------+--------+    +--------+--------+
#   | node1 .77.11    |    | node2 .77.12    |    | node3 .77.13    |
#   | skiff-node      |    | skiff-node      |    | skiff-node      |
#   +-----------------+    +-----------------+    +-----------------+
#
# One cluster serves every case, in order (bringing one up costs about half
# a minute); each case removes what it made. The state directory, the
# network namespace names and the underlay are private to this file, so a
# cluster the user started with `make run` is not touched.

if [ -z "${SKIFF_E2E_UNDERLAY:-}" ]; then
	export SKIFF_E2E_UNDERLAY=1
	exec unshare --net -- "$BASH" "$0" "$@"
fi

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

export SKIFF_DIR
SKIFF_DIR=$(mktemp -d /tmp/skiff-e2e.XXXXXX)
export SKIFF_NETNS_PREFIX=e2e-$$-
# Short node timeouts, so that a lost node's pods move within the test, and
# heartbeats to match (the agents' default, 10 s, is longer than 6 s).
export SKIFF_CM_ARGS="--node-monitor-grace-period 6s --pod-eviction-timeout 2s"
export SKIFF_NODE_ARGS="--heartbeat 1s"
export KUBECONFIG=$SKIFF_DIR/kubeconfig
PKI=$SKIFF_DIR/pki
API_URL=https://192.168.77.1:6443

e2e_cleanup() {
	"$SKIFF_TOP/scripts/stop.sh" > /dev/null 2>&1
	rm -rf "$SKIFF_DIR"
}
trap 'e2e_cleanup; cleanup_netns' EXIT
ip link set lo up

k() {
	kubectl --cache-dir "$SKIFF_DIR/kube-cache" "$@"
}

# as FILE METHOD PATH [BODY]: a request with FILE's certificate (admin,
# node-node1...), or none when FILE is "-"; sets CODE and OUT.
as() {
	local who=$1 method=$2 path=$3 body=${4-}
	local args=(-sS --cacert "$PKI/ca.crt" -X "$method" -w '\n%{http_code}'
		-H 'Content-Type: application/json')

	[ "$who" = - ] || args+=(--cert "$PKI/$who.crt" --key "$PKI/$who.key")
	[ -z "$body" ] || args+=(--data-binary "$body")
	OUT=$(curl "${args[@]}" "$API_URL$path") || return 1
	CODE=${OUT##*$'\n'}
	OUT=${OUT%$'\n'*}
}

pods_of() {
	k get pods -n "${2:-default}" -l "$1" \
		-o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName} {.status.phase}{"\n"}{end}'
}

running_count() {
	pods_of "$1" "${2:-default}" | grep -c ' Running$' || true
}

# The cluster comes up once, before the first case; its output is kept.
"$SKIFF_TOP/scripts/run.sh" > "$SKIFF_DIR/run.out" 2>&1
RUN_STATUS=$?

# Every case after the first needs the cluster up.
need_cluster() {
	[ "$RUN_STATUS" = 0 ] || fail "no cluster: run.sh failed (the first case shows why)"
}

test_make_run_starts_the_cluster() {
	cat "$SKIFF_DIR/run.out"
	[ "$RUN_STATUS" = 0 ] || fail "run.sh failed ($RUN_STATUS)"
	check_match "$(cat "$SKIFF_DIR/run.out")" \
		"demo: the client pod on node[1-3] asked http://10\.[0-9.]+/ \(Service web\) and web-[a-z0-9-]+ on node[1-3] answered" \
		"the demo answered through its ClusterIP from another node"
	check_match "$(cat "$SKIFF_DIR/run.out")" "export KUBECONFIG=$SKIFF_DIR/kubeconfig" \
		"it says how to use the cluster"
	# In the VM (SKIFF_BACKEND=kmod) the kernel is skiff.ko's: the module.
	if [ "${SKIFF_BACKEND:-nft}" = kmod ]; then
		check_match "$(cat "$SKIFF_DIR/run.out")" "^data plane: kmod" "skiff.ko is used"
	fi
	check_eq "$(k get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}')" \
		"node1=True node2=True node3=True " "three Ready nodes"
	check_eq "$(running_count app=web)" 3 "the demo's three web pods run"
	check_eq "$(pods_of app=web | awk '{ print $2 }' | sort -u | wc -l)" 3 \
		"spread over the three nodes"
	# Run again while it runs: it says so and changes nothing.
	"$SKIFF_TOP/scripts/run.sh" > "$SKIFF_DIR/run2.out" 2>&1 || fail "second run.sh failed"
	grep -q "already running" "$SKIFF_DIR/run2.out" || fail "$(cat "$SKIFF_DIR/run2.out")"
	k delete pod client --wait=false > /dev/null
}

test_nodeport_from_the_underlay() {
	local i reply

	need_cluster
	for i in 11 12 13; do
		reply=$(curl -sS --max-time 5 "http://192.168.77.$i:30080/") ||
			fail "NodePort 30080 on node .$i did not answer"
		check_match "$reply" "^hello from web-" "NodePort on .$i"
	done
}

test_skiffctl() {
	local out vip

	need_cluster
	vip=$(k get service web -o jsonpath='{.spec.clusterIP}')
	skiffctl rollout status deployment/web > "$SKIFF_DIR/rollout.out" ||
		fail "rollout status: $(cat "$SKIFF_DIR/rollout.out")"
	check_match "$(cat "$SKIFF_DIR/rollout.out")" 'deployment "web" successfully rolled out' \
		"rollout status"
	check_eq "$(skiffctl get pods -l app=web -o name | sort)" \
		"$(k get pods -l app=web -o name | sort)" "skiffctl get agrees with kubectl"
	# What each node programmed: the demo's ClusterIP with its 3 backends.
	out=$(skiffctl dataplane) || fail "skiffctl dataplane: $out"
	check_eq "$(grep -c "^node[1-3] .* $vip:80 .*tcp .*:8080 " <<< "$out")" 9 \
		"3 nodes x 3 backends of the demo's ClusterIP: $out"
	check_eq "$(skiffctl dataplane -o json | jq '[.items[] | .peers | length] | add')" 6 \
		"each node has the other two as overlay peers"
	if out=$(skiffctl dataplane nosuch 2>&1); then
		fail "a node that does not exist"
	fi
	check_match "$out" 'NotFound' "an unknown node said as kubectl would"
}

test_workloads() {
	need_cluster
	k create namespace work > /dev/null
	k -n work apply -f - > /dev/null <<-EOF
	apiVersion: apps/v1
	kind: DaemonSet
	metadata: {name: agent}
	spec:
	  selector: {matchLabels: {app: agent}}
	  template:
	    metadata: {labels: {app: agent}}
	    spec:
	      terminationGracePeriodSeconds: 1
	      containers: [{name: c, image: busybox, command: [sleep, "100000"]}]
	---
	apiVersion: apps/v1
	kind: StatefulSet
	metadata: {name: db}
	spec:
	  serviceName: db
	  replicas: 2
	  selector: {matchLabels: {app: db}}
	  template:
	    metadata: {labels: {app: db}}
	    spec:
	      terminationGracePeriodSeconds: 1
	      containers: [{name: c, image: busybox, command: [sleep, "100000"]}]
	---
	apiVersion: batch/v1
	kind: Job
	metadata: {name: once}
	spec:
	  completions: 2
	  template:
	    spec:
	      restartPolicy: Never
	      containers: [{name: c, image: busybox, command: [sh, -c, "echo done"]}]
	EOF
	wait_for 60 eval '[ "$(running_count app=agent work)" = 3 ]' ||
		fail "DaemonSet: $(pods_of app=agent work)"
	check_eq "$(pods_of app=agent work | awk '{ print $2 }' | sort | tr '\n' ' ')" \
		"node1 node2 node3 " "one DaemonSet pod per node"
	wait_for 60 eval '[ "$(running_count app=db work)" = 2 ]' ||
		fail "StatefulSet: $(pods_of app=db work)"
	check_eq "$(pods_of app=db work | awk '{ print $1 }' | sort | tr '\n' ' ')" \
		"db-0 db-1 " "StatefulSet pods by ordinal"
	k -n work wait --for=condition=complete job/once --timeout=60s > /dev/null ||
		fail "Job: $(k -n work get job once -o json)"
	check_eq "$(k -n work get job once -o jsonpath='{.status.succeeded}')" 2 \
		"the Job's two completions"
	k -n work logs job/once | grep -q "done" || fail "the Job's log"
	k scale deployment web --replicas=5 > /dev/null
	wait_for 60 eval '[ "$(running_count app=web)" = 5 ]' || fail "scale up: $(pods_of app=web)"
	k scale deployment web --replicas=3 > /dev/null
	wait_for 60 eval '[ "$(pods_of app=web | wc -l)" = 3 ]' || fail "scale down: $(pods_of app=web)"
	k delete namespace work --wait=false > /dev/null
}

test_namespaces_are_separate() {
	local ns

	need_cluster
	for ns in team-a team-b; do
		k create namespace "$ns" > /dev/null
		k -n "$ns" create deployment app --image=busybox --replicas=1 \
			-- sleep 100000 > /dev/null
	done
	wait_for 60 eval '[ "$(running_count app=app team-a)" = 1 ] &&
		[ "$(running_count app=app team-b)" = 1 ]' ||
		fail "$(k get pods -A -o wide)"
	k delete namespace team-a > /dev/null
	wait_for 60 eval '! k get namespace team-a > /dev/null 2>&1' ||
		fail "team-a was not removed"
	check_eq "$(running_count app=app team-b)" 1 "team-b's pod is untouched"
	k get deployment -n team-b app > /dev/null || fail "team-b's Deployment is gone"
	k delete namespace team-b --wait=false > /dev/null
}

test_identities_are_enforced() {
	need_cluster
	as - GET /api/v1/pods
	check_eq "$CODE" 401 "anonymous"
	as - GET /healthz
	check_eq "$CODE" 200 "health checks need no identity"
	as node-node1 GET /api/v1/secrets
	check_eq "$CODE" 403 "a node listing every Secret"
	as node-node1 PATCH /api/v1/nodes/node2/status '{"status":{}}'
	check_eq "$CODE" 403 "a node writing another node's status"
	as node-node1 GET /api/v1/nodes/node2
	check_eq "$CODE" 200 "a node reading another Node"
	as admin POST /api/v1/namespaces/default/configmaps '{"kind": "ConfigMap",'
	check_eq "$CODE" 400 "malformed JSON"
	if KUBECONFIG=$SKIFF_DIR/etc/node1.conf k get secrets > "$SKIFF_DIR/k.out" 2>&1; then
		fail "kubectl as node1 listed secrets"
	fi
	grep -q 'forbidden: User "system:node:node1" cannot list resource "secrets"' \
		"$SKIFF_DIR/k.out" || fail "kubectl's message: $(cat "$SKIFF_DIR/k.out")"
	curl -sS --max-time 5 -o /dev/null "http://192.168.77.1:6443/" &&
		fail "plain HTTP answered on the apiserver's address"
	true
}

test_apiserver_restart_loses_nothing() {
	local pid cmd

	need_cluster
	k create configmap keep --from-literal=k=v > /dev/null
	pid=$(cat "$SKIFF_DIR/run/apiserver.pid")
	mapfile -d '' cmd < "/proc/$pid/cmdline"
	kill -9 "$pid"
	wait_for 10 eval '! kill -0 '"$pid"' 2>/dev/null'
	setsid "${cmd[@]}" >> "$SKIFF_DIR/logs/apiserver.log" 2>&1 < /dev/null &
	echo $! > "$SKIFF_DIR/run/apiserver.pid"
	wait_for 30 eval 'k get configmap keep > /dev/null 2>&1' ||
		fail "the apiserver did not come back: $(tail "$SKIFF_DIR/logs/apiserver.log")"
	check_eq "$(k get configmap keep -o jsonpath='{.data.k}')" v "the ConfigMap survived"
	check_eq "$(running_count app=web)" 3 "the demo still runs"
	wait_for 30 eval '[ "$(curl -sS --max-time 5 http://192.168.77.12:30080/ | cut -c1-14)" = "hello from web" ]' ||
		fail "the demo's NodePort after the restart"
	k delete configmap keep > /dev/null
}

test_lost_node_pods_replaced() {
	local lost

	need_cluster
	lost=$(pods_of app=web | awk 'NR == 1 { print $2 }')
	kill -KILL "$(cat "$SKIFF_DIR/run/node-$lost.pid")"
	wait_for 40 eval '[ "$(k get node '"$lost"' -o jsonpath="{.status.conditions[?(@.type==\"Ready\")].status}")" = Unknown ]' ||
		fail "$lost was not marked NotReady"
	wait_for 90 eval '[ "$(pods_of app=web | grep -v " $lost " | grep -c " Running$")" = 3 ]' ||
		fail "the web pods were not replaced off $lost: $(pods_of app=web)"
}

test_make_stop_leaves_nothing() {
	local out

	need_cluster
	out=$("$SKIFF_TOP/scripts/stop.sh" 2>&1) || fail "stop.sh: $out"
	check_match "$out" "the cluster is gone" "stop.sh says it"
	check_eq "$(ip netns list | grep -c "^$SKIFF_NETNS_PREFIX" || true)" 0 "no network namespace"
	check_eq "$(grep -c "$SKIFF_DIR" /proc/self/mounts || true)" 0 "no mount"
	ip link show skiff-ul > /dev/null 2>&1 && fail "the underlay bridge stays"
	check_eq "$(pgrep -f -- "$SKIFF_DIR" | wc -l)" 0 "no process"
	[ ! -e "$SKIFF_DIR/run" ] || fail "run/ stays"
	"$SKIFF_TOP/scripts/stop.sh" > /dev/null || fail "a second stop.sh fails"
}

run_tests test_make_run_starts_the_cluster test_nodeport_from_the_underlay test_skiffctl \
	test_workloads \
	test_namespaces_are_separate test_identities_are_enforced \
	test_apiserver_restart_loses_nothing test_lost_node_pods_replaced \
	test_make_stop_leaves_nothing
