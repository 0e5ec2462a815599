#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The DaemonSet controller against a real apiserver, with hollow nodes
# playing the kubelets, one process per group of nodes (labels and taints
# per process):
#
#   skiff-apiserver <-- skiff-controller-manager (daemonset)
#          ^    ^
#          |    '-- curl ?watch=1 on pods (what happened, in order)
#          '------- skiff-hollow-nodes a   disk=ssd
#                   skiff-hollow-nodes b   disk=hdd
#                   skiff-hollow-nodes c   disk=ssd, taint dedicated=db:NoSchedule
#                   (or n-0..n-3 for the rolling updates)
#
# No scheduler: the controller binds its pods (spec.nodeName).

source "$(dirname "$0")/../lib-controllers.sh"

DS=/apis/apps/v1/namespaces/default/daemonsets
PODS=/api/v1/namespaces/default/pods
REVS=/apis/apps/v1/namespaces/default/controllerrevisions
NODES=/api/v1/nodes

# ds NAME [JQ]: a DaemonSet of app=NAME pods, JQ applied to it.
ds() {
	jq -nc --arg n "$1" '{
		apiVersion: "apps/v1", kind: "DaemonSet",
		metadata: {name: $n},
		spec: {selector: {matchLabels: {app: $n}},
		       updateStrategy: {type: "RollingUpdate"},
		       template: {metadata: {labels: {app: $n}},
				  spec: {containers: [{name: "c", image: "busybox"}]}}}}' |
		jq -c "${2:-.}"
}

# Tolerates the taint of node c.
DB='.spec.template.spec.tolerations = [{key: "dedicated", operator: "Equal", value: "db", effect: "NoSchedule"}]'

setup() {
	cluster_start
	hollow_start a --label disk=ssd
	hollow_start b --label disk=hdd
	hollow_start c --label disk=ssd --taint dedicated=db:NoSchedule
	cm_start --controllers daemonset
}

# nodes_of NAME: the nodes the set's live pods are on, sorted, by commas.
nodes_of() {
	api GET "$PODS?labelSelector=app%3D$1"
	jq -r '[.items[] | select(.metadata.deletionTimestamp == null) | .spec.nodeName] | sort |
		join(",")' <<< "$OUT"
}

pods_on() {
	[ "$(nodes_of "$1")" = "$2" ]
}

# wait_nodes NAME NODES: waits until the set's pods are on exactly NODES.
wait_nodes() {
	wait_for 20 pods_on "$1" "$2" ||
		fail "$1 pods on '$(nodes_of "$1")', want '$2'
$(daemon_logs)"
}

test_a_pod_on_every_node() {
	setup
	# The taint of c is not tolerated: a toleration of another value.
	api_expect 201 POST "$DS" "$(ds log "${DB/db/web}")"
	wait_json 20 "$DS/log" '.status.desiredNumberScheduled == 2 and .status.currentNumberScheduled == 2 and
		.status.numberReady == 2 and .status.numberAvailable == 2 and .status.updatedNumberScheduled == 2 and
		.status.numberMisscheduled == 0 and .status.numberUnavailable == 0 and .status.observedGeneration == 1'
	wait_nodes log a,b

	api_expect 200 GET "$PODS?labelSelector=app%3Dlog"
	local pod hash
	pod=$(jq -c '.items[] | select(.spec.nodeName == "a")' <<< "$OUT")
	hash=$(jq -r '.metadata.labels["controller-revision-hash"]' <<< "$pod")
	check_match "$(jq -r .metadata.name <<< "$pod")" '^log-' "pod name"
	check_eq "$(jq -c '.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution' <<< "$pod")" \
		'{"nodeSelectorTerms":[{"matchFields":[{"key":"metadata.name","operator":"In","values":["a"]}]}]}' \
		"node affinity"
	check_eq "$(jq -r '[.spec.tolerations[] | select(.operator == "Exists") | "\(.key):\(.effect)"] | sort | join(",")' <<< "$pod")" \
		"node.kubernetes.io/disk-pressure:NoSchedule,node.kubernetes.io/memory-pressure:NoSchedule,node.kubernetes.io/not-ready:NoExecute,node.kubernetes.io/pid-pressure:NoSchedule,node.kubernetes.io/unreachable:NoExecute,node.kubernetes.io/unschedulable:NoSchedule" \
		"daemon tolerations"
	check_eq "$(jq -r '.metadata.ownerReferences[0] | "\(.kind)/\(.name)/\(.controller)"' <<< "$pod")" \
		DaemonSet/log/true "owner"
	api_expect 200 GET "$REVS/log-$hash"
	check_eq "$(jget '"\(.revision) \(.metadata.labels["controller-revision-hash"]) \(.metadata.labels.app)"')" \
		"1 $hash log" "revision"

	# Tolerated now: c gets a pod; a and b get the new template.
	api_expect 200 PATCH "$DS/log" "$(ds log "$DB" | jq -c '{spec: {template: .spec.template}}')" \
		application/merge-patch+json
	wait_json 30 "$DS/log" '.status.desiredNumberScheduled == 3 and .status.updatedNumberScheduled == 3 and
		.status.numberAvailable == 3 and .status.observedGeneration == 2'
	wait_nodes log a,b,c
}

test_node_selector() {
	setup
	api_expect 201 POST "$DS" "$(ds ssd "$DB | .spec.template.spec.nodeSelector = {disk: \"ssd\"}")"
	api_expect 201 POST "$DS" "$(ds notssd '.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms = [{matchExpressions: [{key: "disk", operator: "NotIn", values: ["ssd"]}]}]')"
	wait_json 20 "$DS/ssd" '.status.desiredNumberScheduled == 2 and .status.numberReady == 2'
	wait_nodes ssd a,c
	wait_json 20 "$DS/notssd" '.status.desiredNumberScheduled == 1 and .status.numberReady == 1'
	wait_nodes notssd b
	# Labels change: b joins the ssd set, a leaves it.
	api_expect 200 PATCH "$NODES/b" '{"metadata":{"labels":{"disk":"ssd"}}}' application/merge-patch+json
	api_expect 200 PATCH "$NODES/a" '{"metadata":{"labels":{"disk":"hdd"}}}' application/merge-patch+json
	wait_nodes ssd b,c
	wait_nodes notssd a
	wait_json 20 "$DS/ssd" '.status.desiredNumberScheduled == 2 and .status.currentNumberScheduled == 2 and
		.status.numberMisscheduled == 0'
}

test_nodes_join_and_leave() {
	setup
	api_expect 201 POST "$DS" "$(ds log)"
	wait_nodes log a,b
	hollow_start d --label disk=ssd
	wait_nodes log a,b,d
	wait_json 20 "$DS/log" '.status.desiredNumberScheduled == 3 and .status.numberAvailable == 3'
	api_expect 200 DELETE "$NODES/b"
	wait_nodes log a,d
	wait_json 20 "$DS/log" '.status.desiredNumberScheduled == 2 and .status.currentNumberScheduled == 2'
	wait_json 20 "$PODS?labelSelector=app%3Dlog" '[.items[] | select(.spec.nodeName == "b")] | length == 0'
}

# NoSchedule added later: the pod stays (misscheduled); NoExecute: it goes.
test_taints_added_later() {
	setup
	api_expect 201 POST "$DS" "$(ds log)"
	wait_nodes log a,b
	api_expect 200 PATCH "$NODES/a" '{"spec":{"taints":[{"key":"k","value":"v","effect":"NoSchedule"}]}}' \
		application/merge-patch+json
	wait_json 20 "$DS/log" '.status.desiredNumberScheduled == 1 and .status.numberMisscheduled == 1'
	check_eq "$(nodes_of log)" a,b "pods after NoSchedule"
	api_expect 200 PATCH "$NODES/a" '{"spec":{"taints":[{"key":"k","value":"v","effect":"NoExecute"}]}}' \
		application/merge-patch+json
	wait_nodes log b
	wait_json 20 "$DS/log" '.status.numberMisscheduled == 0 and .status.currentNumberScheduled == 1'
	# Cordoned (unschedulable): daemon pods still go there.
	api_expect 200 PATCH "$NODES/a" '{"spec":{"taints":null,"unschedulable":true}}' \
		application/merge-patch+json
	wait_nodes log a,b
}

test_failed_pod_replaced() {
	setup
	api_expect 201 POST "$DS" "$(ds log)"
	wait_json 20 "$DS/log" '.status.numberReady == 2'
	local pod
	api_expect 200 GET "$PODS?labelSelector=app%3Dlog"
	pod=$(jget '.items[] | select(.spec.nodeName == "a") | .metadata.name')
	mark_pod default "$pod" exit 1
	wait_json 20 "$PODS?labelSelector=app%3Dlog" '[.items[] | select(.spec.nodeName == "a")] |
		length == 1 and .[0].metadata.name != "'"$pod"'" and .[0].status.phase == "Running"'
}

# watch_pods: records pod events from now on in watch.log, and the pods
# as they are in list.json.
watch_pods() {
	api_expect 200 GET "$PODS"
	echo "$OUT" > "$API_DIR/list.json"
	daemon_start watch curl -sN \
		"$API$PODS?watch=1&resourceVersion=$(jget .metadata.resourceVersion)"
}

# replay: after each event, how many nodes had a Ready pod not being
# deleted, how many live pods one node had, how many live pods there were;
# prints the least of the first, the most of the others.
replay() {
	jq -Rrn --slurpfile list "$API_DIR/list.json" '
		def state: {node: .spec.nodeName, live: (.metadata.deletionTimestamp == null),
			    ready: ([.status.conditions[]? | select(.type == "Ready") | .status][0] == "True")};
		def nodes_up: [.[] | select(.live and .ready) | .node] | unique | length;
		def most: [group_by(.node)[] | map(select(.live)) | length] | max // 0;
		def live: map(select(.live)) | length;
		def note: (.pods | [.[]]) as $p
			| .least = ([.least, ($p | nodes_up)] | min)
			| .most = ([.most, ($p | most)] | max)
			| .total = ([.total, ($p | live)] | max);
		reduce (inputs | fromjson? | select(.type != "BOOKMARK")) as $e
			({pods: ($list[0].items | map({key: .metadata.name, value: state}) | from_entries),
			  least: 99, most: 0, total: 0} | note;
			 .pods[$e.object.metadata.name] = ($e.object | state)
			 | if $e.type == "DELETED" then del(.pods[$e.object.metadata.name]) else . end
			 | note)
		| "\(.least) \(.most) \(.total)"' "$API_DIR/watch.log"
}

# rolling MAX_UNAVAILABLE MAX_SURGE: a template change over four nodes,
# checked after every event: at most MAX_UNAVAILABLE nodes without a Ready
# pod, at most 1 pod per node and MAX_SURGE more in all; and the bounds
# were used.
rolling() {
	cluster_start
	hollow_start n --nodes 4
	cm_start --controllers daemonset
	api_expect 201 POST "$DS" "$(ds log ".spec.updateStrategy.rollingUpdate = {maxUnavailable: $1, maxSurge: $2}")"
	wait_json 20 "$DS/log" '.status.numberAvailable == 4 and .status.updatedNumberScheduled == 4'
	local hash1
	api_expect 200 GET "$PODS?labelSelector=app%3Dlog"
	hash1=$(jget '.items[0].metadata.labels["controller-revision-hash"]')
	watch_pods
	api_expect 200 PATCH "$DS/log" \
		'{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"busybox:1.37"}]}}}}' \
		application/merge-patch+json
	wait_json 60 "$DS/log" '.status.observedGeneration == 2 and .status.updatedNumberScheduled == 4 and
		.status.numberAvailable == 4 and .status.desiredNumberScheduled == 4'
	wait_json 20 "$PODS?labelSelector=app%3Dlog" '[.items[] | select(.spec.containers[0].image == "busybox:1.37" and
		.metadata.deletionTimestamp == null and .status.phase == "Running")] | length == 4'
	wait_json 10 "$PODS?labelSelector=app%3Dlog" '.items | length == 4'
	local least most total
	read -r least most total <<< "$(replay)"
	check_eq "$least" $((4 - $1)) "fewest nodes with a Ready pod during the update"
	check_eq "$most" $(($2 ? 2 : 1)) "most pods on one node during the update"
	check_eq "$total" $((4 + $2)) "most pods during the update"

	k rollout status daemonset/log --timeout=20s > "$API_DIR/out" 2>&1 ||
		fail "rollout status: $(cat "$API_DIR/out")"
	check_match "$(cat "$API_DIR/out")" 'daemon set "log" successfully rolled out' "rollout status"
	rollout_as_kubectl daemonset/log "rolled out"
	k rollout undo daemonset/log > "$API_DIR/out" 2>&1 || fail "rollout undo: $(cat "$API_DIR/out")"
	wait_json 60 "$PODS?labelSelector=app%3Dlog" '[.items[] | select(.metadata.labels["controller-revision-hash"] == "'"$hash1"'" and
		.spec.containers[0].image == "busybox" and .status.phase == "Running")] | length == 4'
	wait_json 20 "$REVS/log-$hash1" '.revision == 3'
	k rollout history daemonset/log > "$API_DIR/out" 2>&1 || fail "history: $(cat "$API_DIR/out")"
	check_match "$(tr -s ' \n' ' ' < "$API_DIR/out")" "REVISION CHANGE-CAUSE 2 <none> 3 <none> $" \
		"rollout history"
	wait_json 20 "$DS/log" '.status.updatedNumberScheduled == 4 and .status.numberAvailable == 4'
}

test_rolling_update_max_unavailable_1() {
	rolling 1 0
}

test_rolling_update_max_unavailable_2() {
	rolling 2 0
}

test_rolling_update_max_surge_1() {
	rolling 0 1
}

test_on_delete() {
	setup
	api_expect 201 POST "$DS" "$(ds log '.spec.updateStrategy = {type: "OnDelete"}')"
	wait_json 20 "$DS/log" '.status.numberAvailable == 2'
	api_expect 200 PATCH "$DS/log" \
		'{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"busybox:1.37"}]}}}}' \
		application/merge-patch+json
	wait_json 20 "$DS/log" '.status.observedGeneration == 2'
	check_eq "$(jget .status.updatedNumberScheduled)" 0 "updated before a deletion"
	rollout_as_kubectl ds/log "OnDelete has no rollout"
	local pod
	api_expect 200 GET "$PODS?labelSelector=app%3Dlog"
	pod=$(jget '.items[] | select(.spec.nodeName == "a") | .metadata.name')
	api_expect 200 DELETE "$PODS/$pod"
	wait_json 20 "$DS/log" '.status.updatedNumberScheduled == 1 and .status.numberAvailable == 2'
	api_expect 200 GET "$PODS?labelSelector=app%3Dlog"
	check_eq "$(jget '[.items[] | select(.spec.nodeName == "b") | .spec.containers[0].image] | join(",")')" \
		busybox "b's pod untouched"
}

# The apiserver defaults a DaemonSet as Kubernetes does and refuses what
# the controller could not run.
test_defaults_and_validation() {
	cluster_start
	api_expect 201 POST "$DS" "$(ds log 'del(.spec.updateStrategy)')"
	check_eq "$(jget '.spec | [(.updateStrategy | tojson), .revisionHistoryLimit] | join(" ")')" \
		'{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":1,"maxSurge":0}} 10' "defaults"
	local bad ru=.spec.updateStrategy.rollingUpdate
	for bad in '.spec.updateStrategy.type = "Bogus"|spec.updateStrategy.type: Unsupported value: "Bogus"' \
		"$ru = {maxUnavailable: 0, maxSurge: 0}|$ru.maxUnavailable: Invalid value: 0: may not be 0 when \`maxSurge\` is 0" \
		"$ru.maxUnavailable = \"150%\"|$ru.maxUnavailable: Invalid value: must not be greater than 100%" \
		"$ru.maxSurge = -1|$ru.maxSurge: Invalid value: -1" \
		"$ru.maxUnavailable = \"x\"|$ru.maxUnavailable: Invalid value: a valid percent string" \
		'.spec.template.spec.restartPolicy = "OnFailure"|spec.template.spec.restartPolicy: Unsupported value: "OnFailure"' \
		'.spec.minReadySeconds = -1|spec.minReadySeconds: Invalid value'; do
		api_expect 422 POST "$DS" "$(ds bad "${bad%%|*}")"
		check_match "$(jget .message)" "${bad#*|}" "${bad%%|*}"
	done
	api_expect 200 PATCH "$DS/log" '{"spec":{"updateStrategy":{"rollingUpdate":{"maxUnavailable":"50%"}}}}' \
		application/merge-patch+json
	api_expect 422 PATCH "$DS/log" '{"spec":{"updateStrategy":{"rollingUpdate":{"maxUnavailable":0}}}}' \
		application/merge-patch+json
}

run_tests test_a_pod_on_every_node test_node_selector test_nodes_join_and_leave \
	test_taints_added_later test_failed_pod_replaced \
	test_rolling_update_max_unavailable_1 test_rolling_update_max_unavailable_2 \
	test_rolling_update_max_surge_1 test_on_delete test_defaults_and_validation
