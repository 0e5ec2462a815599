#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# skiff-scheduler against a real apiserver, each filter and score with a
# case, the unschedulable message, leader failover:
#
#   skiff-apiserver <-- skiff-scheduler (binds pods)
#          ^
#          '------- skiff-hollow-nodes a, b, c (one process per node,
#                   its capacity, labels and taints as the case wants)

source "$(dirname "$0")/../lib-controllers.sh"

PODS=/api/v1/namespaces/default/pods

# pod NAME [SPEC_JQ]: a pod; SPEC_JQ edits it (e.g. '.spec.nodeSelector = {...}').
pod() {
	jq -nc --arg n "$1" "{apiVersion: \"v1\", kind: \"Pod\",
		metadata: {name: \$n, labels: {app: \"x\"}},
		spec: {containers: [{name: \"c\", image: \"busybox\"}]}} | ${2:-.}"
}

# asks CPU MEM: a jq edit giving the container these requests.
asks() {
	echo ".spec.containers[0].resources.requests = {cpu: \"$1\", memory: \"$2\"}"
}

node_of() {
	api GET "$PODS/$1"
	jq -r '.spec.nodeName // ""' <<< "$OUT"
}

bound_to() { # bound_to POD NODE: waits until POD is bound there
	wait_json 20 "$PODS/$1" ".spec.nodeName == \"$2\""
}

pending_with() { # pending_with POD MESSAGE
	wait_json 20 "$PODS/$1" ".status.conditions[]? | select(.type == \"PodScheduled\" and .status == \"False\" and .reason == \"Unschedulable\") | .message == \"$2\""
	check_eq "$(node_of "$1")" "" "$1 stays unbound"
}

test_resources_and_the_unschedulable_message() {
	cluster_start
	hollow_start a --cpu 1000 --memory 2147483648
	hollow_start b --cpu 1000 --memory 2147483648
	sched_start
	api_expect 201 POST "$PODS" "$(pod p1 "$(asks 600m 1Gi)")"
	api_expect 201 POST "$PODS" "$(pod p2 "$(asks 600m 1Gi)")"
	wait_json 20 "$PODS/p1" '.spec.nodeName != null'
	wait_json 20 "$PODS/p2" '.spec.nodeName != null'
	[ "$(node_of p1)" != "$(node_of p2)" ] || fail "both on $(node_of p1)"
	api_expect 201 POST "$PODS" "$(pod p3 "$(asks 600m 1Gi)")"
	pending_with p3 "0/2 nodes are available: 2 Insufficient cpu."
	api GET "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dp3"
	check_eq "$(jq -r '.items[0].reason + " " + .items[0].type' <<< "$OUT")" \
		"FailedScheduling Warning" "event"
	api_expect 201 POST "$PODS" "$(pod p4 "$(asks 100m 3Gi)")"
	pending_with p4 "0/2 nodes are available: 2 Insufficient memory."
	# Room made: deleting p1 lets p3 in (retried when the cluster changes).
	local freed
	freed=$(node_of p1)
	api_expect 200 DELETE "$PODS/p1?gracePeriodSeconds=0"
	bound_to p3 "$freed"
	# A new node is room too: p4 (3Gi) needs one with more memory.
	hollow_start c --cpu 1000 --memory 8589934592
	bound_to p4 c
}

test_too_many_pods() {
	cluster_start
	hollow_start a --pods 2
	sched_start
	api_expect 201 POST "$PODS" "$(pod p1)"
	api_expect 201 POST "$PODS" "$(pod p2)"
	bound_to p1 a
	bound_to p2 a
	api_expect 201 POST "$PODS" "$(pod p3)"
	pending_with p3 "0/1 nodes are available: 1 Too many pods."
}

test_node_selector_and_affinity() {
	cluster_start
	hollow_start a --label disk=ssd --label zone=1
	hollow_start b --label disk=hdd --label zone=2
	hollow_start c --label zone=3
	sched_start
	api_expect 201 POST "$PODS" "$(pod sel '.spec.nodeSelector = {disk: "ssd"}')"
	bound_to sel a
	api_expect 201 POST "$PODS" "$(pod aff '.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms = [{matchExpressions: [{key: "disk", operator: "NotIn", values: ["ssd"]}, {key: "zone", operator: "Gt", values: ["1"]}, {key: "disk", operator: "Exists"}]}]')"
	bound_to aff b
	api_expect 201 POST "$PODS" "$(pod or '.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms = [{matchExpressions: [{key: "disk", operator: "DoesNotExist"}]}, {matchFields: [{key: "metadata.name", operator: "In", values: ["zzz"]}]}]')"
	bound_to or c
	api_expect 201 POST "$PODS" "$(pod none '.spec.nodeSelector = {disk: "nvme"}')"
	pending_with none "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
	# A node labelled to match later takes it.
	api_expect 200 PATCH /api/v1/nodes/c '{"metadata":{"labels":{"disk":"nvme"}}}' application/merge-patch+json
	bound_to none c
}

test_taints_and_tolerations() {
	cluster_start
	hollow_start a --taint dedicated=gpu:NoSchedule
	hollow_start b --taint maint=yes:NoExecute --taint soft=x:PreferNoSchedule
	sched_start
	api_expect 201 POST "$PODS" "$(pod plain)"
	pending_with plain "0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {maint: yes}."
	api_expect 201 POST "$PODS" "$(pod gpu '.spec.tolerations = [{key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule"}]')"
	bound_to gpu a
	api_expect 201 POST "$PODS" "$(pod any '.spec.tolerations = [{key: "maint", operator: "Exists"}]')"
	bound_to any b
	api_expect 201 POST "$PODS" "$(pod wrong '.spec.tolerations = [{key: "dedicated", value: "cpu"}, {key: "maint", operator: "Exists", effect: "NoSchedule"}]')"
	pending_with wrong "0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {maint: yes}."
	# The taint lifted: the plain pod goes.
	api_expect 200 PATCH /api/v1/nodes/a '{"spec":{"taints":null}}' application/merge-patch+json
	bound_to plain a
}

test_cordon_and_not_ready() {
	cluster_start
	hollow_start a
	hollow_start b
	sched_start
	api_expect 200 PATCH /api/v1/nodes/a '{"spec":{"unschedulable":true}}' application/merge-patch+json
	api_expect 200 PATCH /api/v1/nodes/b/status '{"status":{"conditions":[{"type":"Ready","status":"False","reason":"KubeletNotReady"}]}}' application/merge-patch+json
	api_expect 201 POST "$PODS" "$(pod p)"
	pending_with p "0/2 nodes are available: 1 node(s) were not ready, 1 node(s) were unschedulable."
	k uncordon a > /dev/null
	bound_to p a
}

test_pod_anti_affinity_on_hostname() {
	cluster_start
	hollow_start a
	hollow_start b
	sched_start
	local anti='.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution = [{topologyKey: "kubernetes.io/hostname", labelSelector: {matchLabels: {app: "x"}}}]'
	api_expect 201 POST "$PODS" "$(pod x1 "$anti")"
	wait_json 20 "$PODS/x1" '.spec.nodeName != null'
	api_expect 201 POST "$PODS" "$(pod x2 "$anti")"
	wait_json 20 "$PODS/x2" '.spec.nodeName != null'
	[ "$(node_of x1)" != "$(node_of x2)" ] || fail "x1 and x2 share $(node_of x1)"
	api_expect 201 POST "$PODS" "$(pod x3 "$anti")"
	pending_with x3 "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules."
	# The other way: a pod without terms may not join pods whose terms exclude it.
	api_expect 201 POST "$PODS" "$(pod plain)"
	pending_with plain "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules."
	api_expect 201 POST "$PODS" "$(pod other '.metadata.labels.app = "y"')"
	wait_json 20 "$PODS/other" '.spec.nodeName != null'
}

test_host_ports() {
	cluster_start
	hollow_start a
	sched_start
	local port='.spec.containers[0].ports = [{containerPort: 80, hostPort: 8080}]'
	api_expect 201 POST "$PODS" "$(pod h1 "$port")"
	bound_to h1 a
	api_expect 201 POST "$PODS" "$(pod h2 "$port")"
	pending_with h2 "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."
	api_expect 201 POST "$PODS" "$(pod udp '.spec.containers[0].ports = [{containerPort: 80, hostPort: 8080, protocol: "UDP"}]')"
	bound_to udp a
}

test_least_allocated_and_balanced_scores() {
	cluster_start
	hollow_start a --cpu 4000 --memory 8589934592
	hollow_start b --cpu 4000 --memory 8589934592
	# Placed by hand: a busy a, an idle b.
	api_expect 201 POST "$PODS" "$(pod busy "$(asks 3 6Gi) | .spec.nodeName = \"a\"")"
	sched_start
	api_expect 201 POST "$PODS" "$(pod new "$(asks 500m 1Gi)")"
	bound_to new b
	# Equal free shares, but b would be lopsided (cpu full, memory not).
	cluster_start
	hollow_start a --cpu 4000 --memory 8589934592
	hollow_start b --cpu 4000 --memory 8589934592
	api_expect 201 POST "$PODS" "$(pod lop-a "$(asks 2 1Gi) | .spec.nodeName = \"a\"")"
	api_expect 201 POST "$PODS" "$(pod lop-b "$(asks 1 3Gi) | .spec.nodeName = \"b\"")"
	sched_start
	api_expect 201 POST "$PODS" "$(pod bal "$(asks 1 1Gi)")"
	bound_to bal b
}

test_pods_of_one_owner_spread() {
	cluster_start
	hollow_start a
	hollow_start b
	hollow_start c
	sched_start
	local i owned='.metadata.ownerReferences = [{apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "1111", controller: true}]'
	for i in 1 2 3 4 5 6; do
		api_expect 201 POST "$PODS" "$(pod "s$i" "$owned")"
	done
	wait_json 20 "$PODS" '[.items[] | select(.spec.nodeName != null)] | length == 6'
	check_eq "$(jq -c '[.items[].spec.nodeName] | group_by(.) | map(length)' <<< "$OUT")" "[2,2,2]" "spread"
}

test_leader_failover() {
	cluster_start
	hollow_start a
	local fast=(--leader-elect-lease-duration 2s --leader-elect-renew-deadline 1500ms
		    --leader-elect-retry-period 300ms)
	daemon_start s1 skiff-scheduler --server "$API" --leader-elect-identity s1 "${fast[@]}"
	wait_json 20 /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/skiff-scheduler '.spec.holderIdentity == "s1"'
	daemon_start s2 skiff-scheduler --server "$API" --leader-elect-identity s2 "${fast[@]}"
	api_expect 201 POST "$PODS" "$(pod p1)"
	bound_to p1 a
	daemon_stop s1 KILL
	wait_json 20 /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/skiff-scheduler '.spec.holderIdentity == "s2" and .spec.leaseTransitions == 1'
	api_expect 201 POST "$PODS" "$(pod p2)"
	bound_to p2 a
	# A leader stopped cleanly hands the lease over at once.
	daemon_start s3 skiff-scheduler --server "$API" --leader-elect-identity s3 "${fast[@]}"
	daemon_stop s2
	wait_json 20 /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/skiff-scheduler '.spec.holderIdentity == "s3"'
}

test_bad_flags() {
	local args out

	for args in "--percentage-of-nodes-to-score 101" "--percentage-of-nodes-to-score x" \
		"--server ftp://x" "--leader-elect=maybe" "--leader-elect-lease-duration 0s" \
		"--leader-elect-retry-period 20s" "--scheduler-name=" "--nope" "extra"; do
		# shellcheck disable=SC2086
		out=$(skiff-scheduler $args 2>&1) && fail "accepted $args"
		[ $? = 2 ] || fail "$args: exit $?, want 2"
		check_match "$out" "skiff-scheduler" "$args: says who"
	done
}

run_tests test_resources_and_the_unschedulable_message test_too_many_pods \
	test_node_selector_and_affinity test_taints_and_tolerations \
	test_cordon_and_not_ready test_pod_anti_affinity_on_hostname \
	test_host_ports test_least_allocated_and_balanced_scores \
	test_pods_of_one_owner_spread test_leader_failover test_bad_flags
