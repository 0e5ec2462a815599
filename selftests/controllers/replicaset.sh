#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The ReplicaSet controller against a real apiserver, with hollow nodes
# playing the kubelet:
#
#   skiff-apiserver <-- skiff-controller-manager (replicaset)
#          ^
#          '------- skiff-hollow-nodes "node" (runs pods bound to it)
#
# Pods are bound in the template (spec.nodeName): no scheduler here.

source "$(dirname "$0")/../lib-controllers.sh"

RS=/apis/apps/v1/namespaces/default/replicasets
PODS=/api/v1/namespaces/default/pods

# rs NAME REPLICAS [MIN_READY]: a ReplicaSet of app=NAME pods on "node".
rs() {
	jq -nc --arg n "$1" --argjson r "$2" --argjson m "${3:-0}" '{
		apiVersion: "apps/v1", kind: "ReplicaSet",
		metadata: {name: $n},
		spec: {replicas: $r, minReadySeconds: $m,
		       selector: {matchLabels: {app: $n}},
		       template: {metadata: {labels: {app: $n}},
				  spec: {nodeName: "node",
					 containers: [{name: "c", image: "busybox"}]}}}}'
}

owned_pods() { # owned_pods NAME: how many pods app=NAME has, not deleting
	api GET "$PODS?labelSelector=app%3D$1"
	jq '[.items[] | select(.metadata.deletionTimestamp == null)] | length' <<< "$OUT"
}

setup() {
	cluster_start
	hollow_start node
	cm_start --controllers replicaset
}

test_scale_up_and_down() {
	setup
	api_expect 201 POST "$RS" "$(rs web 3)"
	wait_json 20 "$RS/web" '.status.replicas == 3 and .status.readyReplicas == 3 and .status.availableReplicas == 3'
	check_eq "$(jq .status.observedGeneration <<< "$OUT")" 1 "observedGeneration"
	api GET "$PODS?labelSelector=app%3Dweb"
	check_eq "$(jq -r '[.items[].metadata.ownerReferences[0] | select(.controller and .kind == "ReplicaSet" and .name == "web")] | length' <<< "$OUT")" 3 "owned"
	check_match "$(jq -r '.items[0].metadata.name' <<< "$OUT")" "^web-" "named after the set"
	api_expect 200 PATCH "$RS/web" '{"spec":{"replicas":5}}' application/merge-patch+json
	wait_json 20 "$RS/web" '.status.readyReplicas == 5 and .status.observedGeneration == 2'
	api_expect 200 PATCH "$RS/web" '{"spec":{"replicas":1}}' application/merge-patch+json
	wait_json 20 "$RS/web" '.status.replicas == 1 and .status.readyReplicas == 1'
	wait_for 20 eval '[ "$(owned_pods web)" = 1 ]' || fail "$(owned_pods web) pods left"
}

test_not_ready_pods_go_first() {
	setup
	api_expect 201 POST "$RS" "$(rs web 3)"
	wait_json 20 "$RS/web" '.status.readyReplicas == 3'
	api GET "$PODS?labelSelector=app%3Dweb"
	local slow
	slow=$(jq -r '.items[1].metadata.name' <<< "$OUT")
	mark_pod default "$slow" ready false
	wait_json 20 "$RS/web" '.status.readyReplicas == 2'
	api_expect 200 PATCH "$RS/web" '{"spec":{"replicas":2}}' application/merge-patch+json
	wait_json 20 "$RS/web" '.status.replicas == 2 and .status.readyReplicas == 2'
	wait_for 20 eval '! api GET "$PODS/$slow" || [ "$CODE" = 404 ]' || fail "$slow still there"
}

test_replaces_a_deleted_pod() {
	setup
	api_expect 201 POST "$RS" "$(rs web 2)"
	wait_json 20 "$RS/web" '.status.readyReplicas == 2'
	api GET "$PODS?labelSelector=app%3Dweb"
	local gone
	gone=$(jq -r '.items[0].metadata.name' <<< "$OUT")
	api_expect 200 DELETE "$PODS/$gone"
	wait_json 20 "$PODS?labelSelector=app%3Dweb" "[.items[] | select(.metadata.name != \"$gone\" and .status.phase == \"Running\")] | length == 2"
}

test_adopts_orphans_releases_strays() {
	setup
	api_expect 201 POST "$PODS" '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"orphan","labels":{"app":"web"}},"spec":{"nodeName":"node","containers":[{"name":"c","image":"busybox"}]}}'
	api_expect 201 POST "$RS" "$(rs web 2)"
	wait_json 20 "$PODS/orphan" '.metadata.ownerReferences[0].name == "web"'
	wait_json 20 "$RS/web" '.status.replicas == 2'
	# Relabelled, a pod leaves the set (released) and is replaced.
	api GET "$PODS?labelSelector=app%3Dweb"
	local stray
	stray=$(jq -r '.items[] | select(.metadata.name != "orphan") | .metadata.name' <<< "$OUT" | head -n 1)
	api_expect 200 PATCH "$PODS/$stray" '{"metadata":{"labels":{"app":"other"}}}' application/merge-patch+json
	wait_json 20 "$PODS/$stray" '(.metadata.ownerReferences // []) | length == 0'
	wait_json 20 "$PODS?labelSelector=app%3Dweb" '.items | length == 2'
}

test_min_ready_seconds() {
	setup
	api_expect 201 POST "$RS" "$(rs web 2 2)"
	wait_json 20 "$RS/web" '.status.readyReplicas == 2'
	check_eq "$(jq .status.availableReplicas <<< "$OUT")" 0 "ready is not yet available"
	wait_json 20 "$RS/web" '.status.availableReplicas == 2'
}

# A controller manager that missed more than the server's history (its
# watch answered 410 Gone) lists again and acts on what changed meanwhile.
test_resync_after_gone() {
	local i

	cluster_start --history 20
	hollow_start node
	cm_start --controllers replicaset
	api_expect 201 POST "$RS" "$(rs web 2)"
	wait_json 20 "$RS/web" '.status.readyReplicas == 2'
	kill -STOP "$(cat "$API_DIR/cm.pid")"
	apiserver_restart
	api_expect 200 PATCH "$RS/web" '{"spec":{"replicas":3}}' application/merge-patch+json
	api_expect 201 POST /api/v1/namespaces/default/configmaps '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"churn"}}'
	for i in $(seq 1 40); do
		api PATCH /api/v1/namespaces/default/configmaps/churn \
			"{\"data\":{\"k\":\"$i\"}}" application/merge-patch+json
	done
	api_expect 410 GET "$RS?watch=1&resourceVersion=2"
	kill -CONT "$(cat "$API_DIR/cm.pid")"
	wait_json 30 "$RS/web" '.status.readyReplicas == 3 and .status.observedGeneration == 2'
}

# Two controller managers: one leads; killed, the other takes over.
test_leader_failover() {
	cluster_start
	hollow_start node
	local fast=(--controllers replicaset --leader-elect-lease-duration 2s
		    --leader-elect-renew-deadline 1500ms --leader-elect-retry-period 300ms)
	local lease=/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/skiff-controller-manager
	daemon_start cm1 skiff-controller-manager --server "$API" --leader-elect-identity cm1 "${fast[@]}"
	wait_json 20 "$lease" '.spec.holderIdentity == "cm1"'
	daemon_start cm2 skiff-controller-manager --server "$API" --leader-elect-identity cm2 "${fast[@]}"
	api_expect 201 POST "$RS" "$(rs one 2)"
	wait_json 20 "$RS/one" '.status.readyReplicas == 2'
	grep -q "started controller" "$API_DIR/cm2.log" && fail "cm2 runs controllers while cm1 leads"
	daemon_stop cm1 KILL
	wait_json 20 "$lease" '.spec.holderIdentity == "cm2"'
	api_expect 201 POST "$RS" "$(rs two 2)"
	wait_json 20 "$RS/two" '.status.readyReplicas == 2'
	check_eq "$(owned_pods one)" 2 "nothing doubled by the new leader"
}

test_bad_flags() {
	local args out

	for args in "--cluster-cidr 10.244.0.0" "--cluster-cidr 10.244.1.0/16" \
		"--cluster-cidr 300.1.0.0/16" "--node-cidr-size 16" "--node-cidr-size 31" \
		"--controllers nosuch" "--controllers replicaset,-what" \
		"--node-monitor-grace-period soon" "--pod-eviction-timeout -1s" \
		"--leader-elect-renew-deadline 20s" "--server localhost:8080" "--nope" "extra"; do
		# shellcheck disable=SC2086
		out=$(skiff-controller-manager $args 2>&1) && fail "accepted $args"
		[ $? = 2 ] || fail "$args: exit $?, want 2"
		check_match "$out" "skiff-controller-manager" "$args: says who"
	done
}

run_tests test_scale_up_and_down test_not_ready_pods_go_first \
	test_replaces_a_deleted_pod test_adopts_orphans_releases_strays \
	test_min_ready_seconds test_resync_after_gone test_leader_failover \
	test_bad_flags
