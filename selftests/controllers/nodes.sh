#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The node controllers against a real apiserver: Node IPAM (pod subnets)
# and Node lifecycle (silent nodes), with the controller manager's flag
# checks.
#
#   skiff-apiserver <-- skiff-controller-manager (nodeipam | nodelifecycle)
#          ^
#          '------- skiff-hollow-nodes (Nodes, Lease heartbeats, pods)
#
# IPAM cases make Nodes with curl (many at once); lifecycle cases kill a
# hollow node process to silence its heartbeat.

source "$(dirname "$0")/../lib-controllers.sh"

NODES=/api/v1/nodes
PODS=/api/v1/namespaces/default/pods

node_post() { # node_post NAME [PODCIDR]
	local body

	body=$(jq -nc --arg n "$1" --arg c "${2:-}" '{apiVersion: "v1", kind: "Node",
		metadata: {name: $n}} + (if $c == "" then {} else {spec: {podCIDR: $c}} end)')
	curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
		--data-binary "$body" "$API$NODES"
}

# "NAME CIDR" lines of every node, sorted.
node_cidrs() {
	api GET "$NODES"
	jq -r '.items[] | "\(.metadata.name) \(.spec.podCIDR // "-")"' <<< "$OUT" | sort
}

# ---- Node IPAM ----------------------------------------------------------

test_ipam_concurrent_nodes_distinct() {
	cluster_start
	cm_start --controllers nodeipam
	local i
	for i in $(seq 1 50); do
		node_post "n$i" &
	done
	wait
	wait_json 30 "$NODES" '[.items[] | select(.spec.podCIDR)] | length == 50'
	check_eq "$(jget '[.items[].spec.podCIDR] | unique | length')" 50 "distinct subnets"
	check_eq "$(jget '[.items[] | select(.spec.podCIDRs != [.spec.podCIDR])] | length')" 0 \
		"podCIDRs is [podCIDR]"
	check_eq "$(jget '[.items[].spec.podCIDR | select(test("^10\\.244\\.[0-9]+\\.0/24$") | not)] | length')" \
		0 "/24 subnets of 10.244.0.0/16"
}

test_ipam_keeps_existing_and_survives_restart() {
	cluster_start
	node_post preset 10.244.0.0/24
	node_post outside 192.168.5.0/24
	cm_start --controllers nodeipam
	node_post a
	node_post b
	wait_json 20 "$NODES" '[.items[] | select(.spec.podCIDR)] | length == 4'
	check_eq "$(jget '.items[] | select(.metadata.name == "preset") | .spec.podCIDRs[0]')" \
		10.244.0.0/24 "a node's own subnet is kept (podCIDRs filled in)"
	check_eq "$(jget '.items[] | select(.metadata.name == "outside") | .spec.podCIDR')" \
		192.168.5.0/24 "a subnet outside the range is kept"
	check_eq "$(jget '[.items[].spec.podCIDR] | unique | length')" 4 "distinct"
	local before
	before=$(node_cidrs)
	# A new controller manager learns what is taken before it gives.
	daemon_stop cm
	node_post c
	node_post d
	cm_start --controllers nodeipam
	wait_json 20 "$NODES" '[.items[] | select(.spec.podCIDR)] | length == 6'
	check_eq "$(jget '[.items[].spec.podCIDR] | unique | length')" 6 "distinct after restart"
	check_eq "$(node_cidrs | grep -v '^[cd] ')" "$before" "assignments kept"
}

test_ipam_range_runs_out_and_reuses() {
	cluster_start
	cm_start --controllers nodeipam --cluster-cidr 10.244.0.0/23 --node-cidr-size 24
	node_post a
	node_post b
	wait_json 20 "$NODES" '[.items[] | select(.spec.podCIDR)] | length == 2'
	check_eq "$(jget '[.items[].spec.podCIDR] | sort | join(",")')" \
		"10.244.0.0/24,10.244.1.0/24" "both subnets"
	node_post c
	wait_json 20 "/api/v1/namespaces/default/events" \
		'[.items[] | select(.reason == "CIDRNotAvailable" and .involvedObject.name == "c")] | length == 1'
	api_expect 200 GET "$NODES/c"
	check_eq "$(jget '.spec.podCIDR // "none"')" none "no subnet left for c"
	grep -q "no free /24 in 10.244.0.0/23 for node c" "$API_DIR/cm.log" || fail "not logged"
	kill -0 "$(cat "$API_DIR/cm.pid")" || fail "controller manager died"
	# a goes: its subnet goes to c.
	api_expect 200 GET "$NODES/a"
	local freed
	freed=$(jget .spec.podCIDR)
	api_expect 200 DELETE "$NODES/a"
	wait_json 20 "$NODES/c" ".spec.podCIDR == \"$freed\""
}

test_flags_rejected() {
	local args out rc
	# Each line: the arguments, then what the message must say.
	while IFS='|' read -r args want; do
		rc=0
		# shellcheck disable=SC2086
		out=$(timeout 10 skiff-controller-manager --server http://127.0.0.1:1 \
			--leader-elect=false $args 2>&1) || rc=$?
		check_eq "$rc" 2 "exit status of '$args'"
		check_match "$out" "$want" "message of '$args'"
	done <<-'EOF'
	--cluster-cidr 10.244.0.0|--cluster-cidr: want A.B.C.D/N
	--cluster-cidr 10.244.0.1/16|host bits zero
	--cluster-cidr 300.1.0.0/16|--cluster-cidr: want
	--cluster-cidr 10.0.0.0/33|--cluster-cidr: want
	--cluster-cidr 10.0.0.0/x|--cluster-cidr: want
	--node-cidr-size 16|--node-cidr-size 16 must be longer than the prefix
	--node-cidr-size 8|--node-cidr-size 8 must be longer than the prefix
	--cluster-cidr 10.0.0.0/8 --node-cidr-size 28|at most 16 more than the prefix
	--node-cidr-size 31|--node-cidr-size: want 1 to 30
	--node-cidr-size abc|--node-cidr-size: want 1 to 30
	--controllers nosuch|no controller "nosuch"
	--controllers replicaset,-nosuch|no controller "nosuch"
	--node-monitor-grace-period 10x|--node-monitor-grace-period: want 1ms to 24h
	--node-monitor-grace-period 0|--node-monitor-grace-period: want
	--node-monitor-grace-period -5s|--node-monitor-grace-period: want
	--pod-eviction-timeout 2000m|--pod-eviction-timeout: want 1ms to 24h
	--pod-eviction-timeout soon|--pod-eviction-timeout: want
	--no-such-flag|Usage
	--controllers nodeipam extra|unexpected argument "extra"
	EOF
	out=$(skiff-controller-manager --help)
	check_match "$out" "the controllers:.* nodeipam" "--help lists the controllers"
}

# ---- Node lifecycle -----------------------------------------------------

LIFECYCLE=(--controllers nodelifecycle --node-monitor-grace-period 3s --pod-eviction-timeout 3s)

# pod NAME NODE [TOLERATIONS_JSON]
pod() {
	api_expect 201 POST "$PODS" "$(jq -nc --arg n "$1" --arg node "$2" --argjson t "${3:-[]}" '{
		apiVersion: "v1", kind: "Pod", metadata: {name: $n, labels: {app: "x"}},
		spec: {nodeName: $node, tolerations: $t,
		       containers: [{name: "c", image: "busybox"}]}}')"
}

unreachable_for() { # toleration of the unreachable NoExecute taint, SECONDS or "" (forever)
	jq -nc --arg s "$1" '[{key: "node.kubernetes.io/unreachable", operator: "Exists",
		effect: "NoExecute"} + (if $s == "" then {} else {tolerationSeconds: ($s | tonumber)} end)]'
}

test_lifecycle_silent_node() {
	cluster_start
	hollow_start good
	hollow_start bad
	cm_start "${LIFECYCLE[@]}"
	pod p-good good
	pod p-bad bad
	pod p-forever bad "$(unreachable_for "")"
	pod p-soon bad "$(unreachable_for 0)"
	pod p-later bad "$(unreachable_for 600)"
	wait_json 20 "$PODS" '[.items[] | select(.status.phase == "Running")] | length == 5'
	daemon_stop hollow-bad KILL
	wait_json 20 "$NODES/bad" '.status.conditions[] | select(.type == "Ready") | .status == "Unknown"'
	check_eq "$(jget '.status.conditions[] | select(.type == "Ready") | "\(.reason): \(.message)"')" \
		"NodeStatusUnknown: Kubelet stopped posting node status." "Ready condition"
	wait_json 20 "$NODES/bad" '[.spec.taints[]? | select(.key == "node.kubernetes.io/unreachable")] | length == 2'
	check_eq "$(jget '[.spec.taints[] | .effect] | sort | join(",")')" "NoExecute,NoSchedule" "taint effects"
	check_match "$(jget '.spec.taints[] | select(.effect == "NoExecute") | .timeAdded')" "^20" "timeAdded"
	wait_json 20 "$PODS/p-forever" '.status.conditions[] | select(.type == "Ready") | .status == "False"'
	wait_json 20 "$PODS/p-soon" '.metadata.deletionTimestamp != null'
	# After --pod-eviction-timeout: evicted, and Kubernetes' event says so.
	wait_json 20 "$PODS/p-bad" '.metadata.deletionTimestamp != null'
	wait_json 20 /api/v1/namespaces/default/events \
		'[.items[] | select(.reason == "TaintManagerEviction" and .involvedObject.name == "p-bad")] | length == 1'
	for p in p-forever p-later p-good; do
		api_expect 200 GET "$PODS/$p"
		check_eq "$(jget .metadata.deletionTimestamp)" null "$p is kept"
	done
	check_eq "$(jget '.status.conditions[] | select(.type == "Ready") | .status')" True "p-good Ready"
	api_expect 200 GET "$NODES/good"
	check_eq "$(jget '"\(.status.conditions[] | select(.type == "Ready") | .status) \(.spec.taints // [] | length)"')" \
		"True 0" "the live node is untouched"
	# The kubelet comes back: Ready, and the taints go.
	hollow_start bad
	wait_json 20 "$NODES/bad" '(.status.conditions[] | select(.type == "Ready") | .status == "True") and ((.spec.taints // []) | length == 0)'
	wait_json 20 "$PODS/p-forever" '.status.conditions[] | select(.type == "Ready") | .status == "True"'
}

test_lifecycle_nodes_that_never_beat() {
	cluster_start
	hollow_start a
	cm_start "${LIFECYCLE[@]}"
	# A node that never heartbeats: no Lease, status posted once, by hand.
	api_expect 201 POST "$NODES" '{"apiVersion":"v1","kind":"Node","metadata":{"name":"mute"},"status":{"conditions":[{"type":"Ready","status":"True","lastHeartbeatTime":"2020-01-01T00:00:00Z"}]}}'
	wait_json 20 "$NODES/mute" '.status.conditions[] | select(.type == "Ready") | .status == "Unknown"'
	# A node that never posted a status gets a Ready condition that says so.
	api_expect 201 POST "$NODES" '{"apiVersion":"v1","kind":"Node","metadata":{"name":"blank"}}'
	wait_json 20 "$NODES/blank" '.status.conditions[] | select(.type == "Ready") | .reason == "NodeStatusNeverUpdated"'
	api_expect 200 GET "$NODES/a"
	check_eq "$(jget '.status.conditions[] | select(.type == "Ready") | .status')" True "a heartbeating node stays Ready"
}

test_lifecycle_replaced_elsewhere() {
	cluster_start
	hollow_start bad
	sched_start
	cm_start --controllers nodelifecycle,replicaset --node-monitor-grace-period 3s \
		--pod-eviction-timeout 2s
	api_expect 201 POST /apis/apps/v1/namespaces/default/replicasets '{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}}}'
	wait_json 30 "$PODS?labelSelector=app%3Dweb" '[.items[] | select(.status.phase == "Running" and .spec.nodeName == "bad")] | length == 2'
	hollow_start good
	daemon_stop hollow-bad KILL
	wait_json 40 "$PODS?labelSelector=app%3Dweb" \
		'[.items[] | select(.metadata.deletionTimestamp == null and .status.phase == "Running" and .spec.nodeName == "good")] | length == 2'
}

run_tests test_ipam_concurrent_nodes_distinct \
	test_ipam_keeps_existing_and_survives_restart \
	test_ipam_range_runs_out_and_reuses test_flags_rejected \
	test_lifecycle_silent_node test_lifecycle_nodes_that_never_beat \
	test_lifecycle_replaced_elsewhere
