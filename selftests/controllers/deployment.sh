#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Deployment controller against a real apiserver, with the ReplicaSet
# controller and hollow nodes playing the kubelet:
#
#   kubectl / curl --> skiff-apiserver <-- skiff-controller-manager
#                            ^               (replicaset,deployment)
#                            |
#                            '------- skiff-hollow-nodes "node" (runs pods
#                                     bound to it; Ready unless annotated
#                                     hollow.skiff.dev/ready=false)
#
# Pods are bound in the template (spec.nodeName): no scheduler here. A
# rollout is held step by step by templates whose pods start not ready,
# the test then marking them ready one at a time; a watch on the pods
# records every state the cluster went through, which is replayed to check
# the surge and availability bounds at each of them.

source "$(dirname "$0")/../lib-controllers.sh"

D=/apis/apps/v1/namespaces/default/deployments
RS=/apis/apps/v1/namespaces/default/replicasets
PODS=/api/v1/namespaces/default/pods
REV=deployment.kubernetes.io/revision
HOLD='.spec.template.metadata.annotations["hollow.skiff.dev/ready"] = "false"'
COMPLETE='.status.observedGeneration == .metadata.generation and
	.status.updatedReplicas == .spec.replicas and .status.replicas == .spec.replicas and
	.status.availableReplicas == .spec.replicas'

# deploy NAME REPLICAS [JQ]: a Deployment of app=NAME pods on "node", JQ
# applied to it.
deploy() {
	jq -nc --arg n "$1" --argjson r "$2" '{
		apiVersion: "apps/v1", kind: "Deployment",
		metadata: {name: $n},
		spec: {replicas: $r,
		       selector: {matchLabels: {app: $n}},
		       template: {metadata: {labels: {app: $n}},
				  spec: {nodeName: "node",
					 containers: [{name: "c", image: "busybox:1"}]}}}}' |
		jq -c "${3:-.}"
}

setup() {
	cluster_start
	hollow_start node
	cm_start --controllers replicaset,deployment
}

# set_template NAME JQ: changes Deployment NAME's pod template by JQ.
set_template() {
	api GET "$D/$1"
	api_expect 200 PUT "$D/$1" "$(jq -c "$2" <<< "$OUT")"
}

# rs_hash NAME REV: the pod-template-hash of NAME's ReplicaSet at revision REV.
rs_hash() {
	api GET "$RS?labelSelector=app%3D$1"
	jq -r --arg r "$2" '.items[] | select(.metadata.annotations["'$REV'"] == $r) |
		.metadata.labels["pod-template-hash"]' <<< "$OUT"
}

# rs_spec NAME HASH: spec.replicas of that ReplicaSet.
rs_spec() {
	api GET "$RS/$1-$2"
	jget .spec.replicas
}

# ready_pods SELECTOR: marks ready every held pod SELECTOR picks.
ready_pods() {
	local pod

	api GET "$PODS?labelSelector=$1"
	for pod in $(jq -r '.items[] | select(.metadata.deletionTimestamp == null and
			.metadata.annotations["hollow.skiff.dev/ready"] == "false") |
			.metadata.name' <<< "$OUT"); do
		api PATCH "$PODS/$pod" \
			'{"metadata":{"annotations":{"hollow.skiff.dev/ready":"true"}}}' \
			application/merge-patch+json || true
	done
}

# rolled_out NAME: lets NAME's held pods be ready; is its rollout done?
rolled_out() {
	ready_pods "app%3D$1"
	json_holds "$D/$1" "$COMPLETE"
}

# A held pod of template HASH of app=NAME, in UNREADY.
held_pod() {
	api GET "$PODS?labelSelector=app%3D$1,pod-template-hash%3D$2"
	UNREADY=$(jq -r '[.items[] | select(.metadata.deletionTimestamp == null and
		.metadata.annotations["hollow.skiff.dev/ready"] == "false")][0].metadata.name //
		empty' <<< "$OUT")
	[ -n "$UNREADY" ]
}

# watch_pods SELECTOR: records pod events from now on (the pods as they
# are in watch-start.json, then the events in watch.log).
watch_pods() {
	api_expect 200 GET "$PODS?labelSelector=$1"
	echo "$OUT" > "$API_DIR/watch-start.json"
	daemon_start watch curl -sN \
		"$API$PODS?watch=1&labelSelector=$1&resourceVersion=$(jget .metadata.resourceVersion)"
}

# replay: stops the watch; one line per state it saw, in states.json:
# {live: pods not terminating, ready: of those Ready, hashes: the
# pod-template-hash of every pod there, terminating ones included}.
replay() {
	daemon_stop watch
	jq -cn --slurpfile s "$API_DIR/watch-start.json" '
		def ready: (.status.conditions // []) |
			any(.type == "Ready" and .status == "True");
		foreach (inputs | select(.type == "ADDED" or .type == "MODIFIED" or
					 .type == "DELETED")) as $e (
			($s[0].items | map({key: .metadata.name, value: .}) | from_entries);
			if $e.type == "DELETED" then del(.[$e.object.metadata.name])
			else .[$e.object.metadata.name] = $e.object end;
			{live: [.[] | select(.metadata.deletionTimestamp == null)] | length,
			 ready: [.[] | select(.metadata.deletionTimestamp == null and ready)] |
				length,
			 hashes: [.[].metadata.labels["pod-template-hash"]] | unique})' \
		"$API_DIR/watch.log" > "$API_DIR/states.json"
	[ -s "$API_DIR/states.json" ] || fail "the watch saw nothing"
}

# states JQ: JQ over all the states (an array).
states() {
	jq -cs "$1" "$API_DIR/states.json"
}

test_create() {
	setup
	api_expect 201 POST "$D" "$(deploy web 3)"
	wait_json 20 "$D/web" "$COMPLETE"
	check_eq "$(jq -c '[.status | .observedGeneration, .replicas, .updatedReplicas,
		.readyReplicas, .availableReplicas, .unavailableReplicas]' <<< "$OUT")" \
		"[1,3,3,3,3,0]" "status counters"
	check_eq "$(jq -r '.metadata.annotations["'$REV'"]' <<< "$OUT")" 1 "revision"
	check_eq "$(jq -r '[.status.conditions[] | "\(.type)=\(.status)/\(.reason)"] | sort |
		join(" ")' <<< "$OUT")" \
		"Available=True/MinimumReplicasAvailable Progressing=True/NewReplicaSetAvailable" \
		"conditions"
	local hash
	hash=$(rs_hash web 1)
	check_match "$hash" '^[bcdfghjklmnpqrstvwxz2456789]{6,10}$' "pod-template-hash"
	api_expect 200 GET "$RS/web-$hash"
	check_eq "$(jq -r '[.metadata.labels, .spec.selector.matchLabels,
		.spec.template.metadata.labels][]["pod-template-hash"]' <<< "$OUT" | sort -u)" \
		"$hash" "hash label on labels, selector and template"
	check_eq "$(jq -r '.metadata.ownerReferences[] | select(.controller) |
		"\(.kind)/\(.name)"' <<< "$OUT")" Deployment/web "owner"
	check_eq "$(jq -r '.metadata.annotations | [.["deployment.kubernetes.io/desired-replicas"],
		.["deployment.kubernetes.io/max-replicas"]] | join(" ")' <<< "$OUT")" "3 4" \
		"sizes recorded (3 + 25% rounded up)"
	api GET "$PODS?labelSelector=app%3Dweb,pod-template-hash%3D$hash"
	check_eq "$(jq '.items | length' <<< "$OUT")" 3 "pods"
	check_match "$(k rollout status deployment/web --timeout=10s)" \
		'deployment "web" successfully rolled out' "kubectl rollout status"
	check_match "$(k get deployment web --no-headers)" 'web +3/3 +3 +3' "kubectl get"
	api GET "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dweb"
	check_eq "$(jq -r '.items[] | select(.reason == "ScalingReplicaSet") | .message' \
		<<< "$OUT")" "Scaled up replica set web-$hash from 0 to 3" "event"
}

# replicas 5, maxSurge 30% (2, rounded up), maxUnavailable 30% (1, down).
test_rolling_update_bounds() {
	setup
	api_expect 201 POST "$D" "$(deploy web 5 '.spec.strategy.rollingUpdate =
		{maxSurge: "30%", maxUnavailable: "30%"}')"
	wait_json 20 "$D/web" "$COMPLETE"
	watch_pods "app%3Dweb"
	set_template web "$HOLD"' | .spec.template.spec.containers[0].image = "busybox:2"'
	wait_json 20 "$D/web" '.metadata.annotations["'$REV'"] == "2"'
	local new old i
	new=$(rs_hash web 2)
	old=$(rs_hash web 1)
	# Held: old 4 + new 3 (surge used up), and no more can go.
	wait_json 20 "$RS/web-$new" '.spec.replicas == 3 and .status.replicas == 3'
	wait_json 20 "$RS/web-$old" '.spec.replicas == 4 and .status.replicas == 4'
	wait_json 20 "$D/web" '.status.updatedReplicas == 3 and .status.availableReplicas == 4 and
		.status.unavailableReplicas == 3'
	for i in 1 2 3 4 5; do
		wait_for 20 held_pod web "$new" || fail "no held pod of the new template ($i)"
		mark_pod default "$UNREADY" ready true
		wait_json 20 "$PODS/$UNREADY" 'any(.status.conditions[]; .type == "Ready" and
			.status == "True")'
	done
	wait_json 20 "$D/web" "$COMPLETE"
	wait_json 20 "$RS/web-$old" '.spec.replicas == 0 and .status.replicas == 0'
	check_match "$(k rollout status deployment/web --timeout=10s)" "successfully rolled out" \
		"kubectl rollout status"
	replay
	check_eq "$(states 'map(.live) | max')" 7 "most pods at once (5 + maxSurge 2)"
	check_eq "$(states 'map(.ready) | min')" 4 "fewest ready at once (5 - maxUnavailable 1)"
	check_eq "$(states '[.[] | select(.live > 7 or .ready < 4)] | length')" 0 \
		"states out of bounds"
	check_eq "$(states 'length > 20')" true "the watch saw the rollout's steps"
}

# Scaled mid-rollout, the ReplicaSets grow in proportion, within the bounds.
test_scale_mid_rollout() {
	setup
	api_expect 201 POST "$D" "$(deploy web 4)"
	wait_json 20 "$D/web" "$COMPLETE"
	watch_pods "app%3Dweb"
	set_template web "$HOLD"' | .spec.template.spec.containers[0].image = "busybox:2"'
	wait_json 20 "$D/web" '.metadata.annotations["'$REV'"] == "2"'
	local new old
	new=$(rs_hash web 2)
	old=$(rs_hash web 1)
	# 4 with 25%/25%: held at old 3 + new 2.
	wait_json 20 "$RS/web-$new" '.spec.replicas == 2 and .status.replicas == 2'
	wait_json 20 "$RS/web-$old" '.spec.replicas == 3 and .status.replicas == 3'
	k scale deployment/web --replicas=8 > /dev/null
	# 10 allowed (8 + 2): the 5 more go 3 to the old, 2 to the new (6:4 as 3:2).
	wait_json 20 "$RS/web-$old" '.spec.replicas == 6 and .status.readyReplicas == 6'
	wait_json 20 "$RS/web-$new" '.spec.replicas == 4 and .status.replicas == 4'
	check_eq "$(jq -r '.metadata.annotations["deployment.kubernetes.io/desired-replicas"]' \
		<<< "$OUT")" 8 "desired-replicas"
	wait_for 60 rolled_out web || fail "rollout did not end: $(jq -c .status <<< "$OUT")"
	check_eq "$(rs_spec web "$new")/$(rs_spec web "$old")" 8/0 "all on the new template"
	replay
	check_eq "$(states '[.[] | select(.live > 10)] | length')" 0 "never more than 8 + 2"
	check_eq "$(states '[.[] | select(.ready < 3)] | length')" 0 "never fewer than 4 - 1 ready"
}

# minReadySeconds 2: an old pod goes only while 2 others have been ready
# that long (maxUnavailable 0).
test_min_ready_seconds() {
	setup
	api_expect 201 POST "$D" "$(deploy web 2 '.spec.minReadySeconds = 2 |
		.spec.strategy.rollingUpdate = {maxSurge: 1, maxUnavailable: 0}')"
	wait_json 20 "$D/web" "$COMPLETE"
	watch_pods "app%3Dweb"
	k set image deployment/web c=busybox:2 > /dev/null
	wait_json 20 "$RS/web-$(rs_hash web 2)" '.spec.minReadySeconds == 2'
	wait_json 30 "$D/web" "$COMPLETE"' and .metadata.annotations["'$REV'"] == "2"'
	replay
	# When each old pod was deleted (deletionTimestamp less its grace),
	# how many others had been Ready for 2 s (1 s for the timestamps'
	# truncation to seconds)?
	jq -cn --slurpfile s "$API_DIR/watch-start.json" '
		def ready_since: [(.status.conditions // [])[] |
			select(.type == "Ready" and .status == "True") |
			.lastTransitionTime | fromdateiso8601][0];
		foreach (inputs | select(.type == "MODIFIED" or .type == "ADDED")) as $e (
			{pods: ($s[0].items | map({key: .metadata.name, value: .}) | from_entries)};
			.deleted = ($e.object.metadata.deletionTimestamp != null and
				    .pods[$e.object.metadata.name].metadata.deletionTimestamp == null) |
			.pods[$e.object.metadata.name] = $e.object;
			select(.deleted) |
			($e.object.metadata | (.deletionTimestamp | fromdateiso8601) -
				.deletionGracePeriodSeconds) as $t |
			[.pods[] | select(.metadata.deletionTimestamp == null) | ready_since |
				select(. != null and . + 2 <= $t + 1)] | length)' \
		"$API_DIR/watch.log" > "$API_DIR/deletions.json"
	check_eq "$(jq -cs . "$API_DIR/deletions.json")" "[2,2]" \
		"available pods left at each of the 2 deletions"
}

test_recreate() {
	setup
	api_expect 201 POST "$D" "$(deploy web 3 '.spec.strategy = {type: "Recreate"}')"
	wait_json 20 "$D/web" "$COMPLETE"
	check_eq "$(jq -c .spec.strategy <<< "$OUT")" '{"type":"Recreate"}' "no rollingUpdate"
	watch_pods "app%3Dweb"
	set_template web '.spec.template.spec.containers[0].image = "busybox:2"'
	wait_json 30 "$D/web" "$COMPLETE"' and .metadata.annotations["'$REV'"] == "2"'
	local new old
	new=$(rs_hash web 2)
	old=$(rs_hash web 1)
	wait_json 20 "$RS/web-$old" '.spec.replicas == 0 and .status.replicas == 0'
	check_eq "$(rs_spec web "$new")" 3 "new ReplicaSet"
	replay
	check_eq "$(states "[.[] | select(.hashes == [\"$new\", \"$old\"] or
		.hashes == [\"$old\", \"$new\"])] | length")" 0 \
		"old and new pods never together (terminating ones counted)"
	check_eq "$(states "[.[] | select(.hashes == [])] | length > 0")" true \
		"all old pods gone before the new ones"
	check_eq "$(states "last.hashes")" "[\"$new\"]" "only new pods at the end"
}

test_rollback() {
	setup
	api_expect 201 POST "$D" "$(deploy web 3)"
	wait_json 20 "$D/web" "$COMPLETE"
	local v1 v2
	v1=$(rs_hash web 1)
	api_expect 200 PATCH "$D/web" \
		'{"metadata":{"annotations":{"kubernetes.io/change-cause":"to busybox:2"}}}' \
		application/merge-patch+json
	k set image deployment/web c=busybox:2 > /dev/null
	wait_json 20 "$D/web" "$COMPLETE"' and .metadata.annotations["'$REV'"] == "2"'
	v2=$(rs_hash web 2)
	check_match "$(k rollout history deployment/web)" '2 +to busybox:2' \
		"change-cause copied to the ReplicaSet, shown by history"

	check_match "$(k rollout undo deployment/web)" "deployment.apps/web rolled back" "undo"
	# The old ReplicaSet is the new one again, at revision 3.
	wait_json 20 "$RS/web-$v1" '.metadata.annotations["'$REV'"] == "3" and
		.metadata.annotations["deployment.kubernetes.io/revision-history"] == "1" and
		.spec.replicas == 3'
	check_match "$(k rollout status deployment/web --timeout=30s)" \
		'deployment "web" successfully rolled out' "rollout status after undo"
	wait_json 20 "$D/web" "$COMPLETE"' and .metadata.annotations["'$REV'"] == "3"'
	check_eq "$(jq -r '.spec.template.spec.containers[0].image' <<< "$OUT")" busybox:1 \
		"template back"
	wait_json 20 "$RS/web-$v2" '.spec.replicas == 0 and .status.replicas == 0'
	api GET "$RS?labelSelector=app%3Dweb"
	check_eq "$(jq '.items | length' <<< "$OUT")" 2 "no third ReplicaSet"

	k rollout undo deployment/web --to-revision=2 > /dev/null
	wait_json 20 "$RS/web-$v2" '.metadata.annotations["'$REV'"] == "4" and
		.metadata.annotations["deployment.kubernetes.io/revision-history"] == "2"'
	check_match "$(k rollout status deployment/web --timeout=30s)" "successfully rolled out" \
		"rollout status after undo to 2"
	check_eq "$(k rollout history deployment/web | awk '$1 ~ /^[0-9]+$/ {print $1}' |
		tr '\n' ' ')" "3 4 " "history: revisions 3 and 4"
	if out=$(k rollout undo deployment/web --to-revision=9 2>&1); then
		fail "undo to a revision that never was: $out"
	fi
	check_match "$out" "unable to find specified revision 9" "undo to revision 9"
}

test_pause_resume() {
	setup
	api_expect 201 POST "$D" "$(deploy web 3)"
	wait_json 20 "$D/web" "$COMPLETE"
	local old
	old=$(rs_hash web 1)
	k rollout pause deployment/web > /dev/null
	wait_json 20 "$D/web" '.status.conditions[] | select(.type == "Progressing") |
		.status == "Unknown" and .reason == "DeploymentPaused"'
	k set image deployment/web c=busybox:2 > /dev/null
	k scale deployment/web --replicas=4 > /dev/null
	# Scaling applies while paused; the new template does not.
	wait_json 20 "$D/web" '.status.observedGeneration == .metadata.generation and
		.status.availableReplicas == 4'
	check_eq "$(rs_spec web "$old")" 4 "paused: scaled"
	api GET "$RS?labelSelector=app%3Dweb"
	check_eq "$(jq '.items | length' <<< "$OUT")" 1 "paused: no new ReplicaSet"
	k rollout resume deployment/web > /dev/null
	check_match "$(k rollout status deployment/web --timeout=30s)" "successfully rolled out" \
		"rollout status after resume"
	wait_json 20 "$D/web" "$COMPLETE"' and .metadata.annotations["'$REV'"] == "2"'
	api GET "$PODS?labelSelector=app%3Dweb"
	check_eq "$(jq -r '[.items[] | select(.metadata.deletionTimestamp == null) |
		.spec.containers[0].image] | unique | join(" ")' <<< "$OUT")" busybox:2 "new pods"
	check_eq "$(rs_spec web "$old")" 0 "old ReplicaSet"
}

# A canary by pausing: maxUnavailable 0, the first new pod up, paused.
test_paused_canary() {
	setup
	api_expect 201 POST "$D" "$(deploy web 4 '.spec.strategy.rollingUpdate =
		{maxSurge: 1, maxUnavailable: 0}')"
	wait_json 20 "$D/web" "$COMPLETE"
	local old new
	old=$(rs_hash web 1)
	set_template web "$HOLD"' | .spec.template.spec.containers[0].image = "busybox:2"'
	wait_json 20 "$D/web" '.status.updatedReplicas == 1'
	new=$(rs_hash web 2)
	k rollout pause deployment/web > /dev/null
	wait_json 20 "$D/web" '.status.conditions[] | select(.type == "Progressing") |
		.reason == "DeploymentPaused"'
	ready_pods "app%3Dweb"
	# The canary serves next to the 4 old pods; the rollout stays put.
	wait_json 20 "$D/web" '.status.readyReplicas == 5 and .status.availableReplicas == 5'
	check_eq "$(rs_spec web "$old")/$(rs_spec web "$new")" 4/1 "paused: no step"
	if out=$(k rollout undo deployment/web 2>&1); then
		fail "undo of a paused deployment: $out"
	fi
	check_match "$out" "cannot rollback a paused deployment" "undo while paused"
	api GET "$PODS?labelSelector=app%3Dweb"
	check_eq "$(jq -r '[.items[] | select(any(.status.conditions[]; .type == "Ready" and
		.status == "True")) | .spec.containers[0].image] | sort | join(" ")' <<< "$OUT")" \
		"busybox:1 busybox:1 busybox:1 busybox:1 busybox:2" "pods a Service would pick"
	k rollout resume deployment/web > /dev/null
	wait_for 60 rolled_out web || fail "rollout did not end: $(jq -c .status <<< "$OUT")"
	check_eq "$(rs_spec web "$old")/$(rs_spec web "$new")" 0/4 "promoted"
}

test_revision_history_limit() {
	setup
	api_expect 201 POST "$D" "$(deploy web 1 '.spec.revisionHistoryLimit = 2')"
	wait_json 20 "$D/web" "$COMPLETE"
	local v first
	first=$(rs_hash web 1)
	for v in 2 3 4; do
		k set image deployment/web "c=busybox:$v" > /dev/null
		wait_json 20 "$D/web" "$COMPLETE"' and .metadata.annotations["'$REV'"] == "'$v'"'
	done
	wait_json 20 "$RS?labelSelector=app%3Dweb" '[.items[].metadata.annotations["'$REV'"]] |
		sort == ["2", "3", "4"]'
	api_expect 404 GET "$RS/web-$first"
	check_eq "$(k rollout history deployment/web | awk '$1 ~ /^[0-9]+$/ {print $1}' |
		tr '\n' ' ')" "2 3 4 " "history"
}

test_progress_deadline() {
	setup
	api_expect 201 POST "$D" "$(deploy web 2 "$HOLD"' | .spec.progressDeadlineSeconds = 2')"
	wait_json 20 "$D/web" '.status.conditions[] | select(.type == "Progressing") |
		.status == "False" and .reason == "ProgressDeadlineExceeded"'
	check_match "$(jq -r '.status.conditions[] | select(.type == "Progressing") | .message' \
		<<< "$OUT")" 'ReplicaSet "web-[a-z0-9]+" has timed out progressing.' "message"
	check_eq "$(jq -r '.status.conditions[] | select(.type == "Available") |
		"\(.status)/\(.reason)"' <<< "$OUT")" False/MinimumReplicasUnavailable "Available"
	if out=$(k rollout status deployment/web --timeout=20s 2>&1); then
		fail "rollout status of a stuck rollout: $out"
	fi
	check_match "$out" 'deployment "web" exceeded its progress deadline' "rollout status"
	# Ready at last, it completes.
	ready_pods "app%3Dweb"
	wait_json 20 "$D/web" '.status.conditions[] | select(.type == "Progressing") |
		.status == "True" and .reason == "NewReplicaSetAvailable"'
}

# The canary as users do it: two Deployments behind one Service selector.
test_canary_two_deployments() {
	setup
	api_expect 201 POST /api/v1/namespaces/default/services \
		'{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},
		  "spec":{"selector":{"app":"web"},"ports":[{"port":80}]}}'
	local track
	for track in stable canary; do
		api_expect 201 POST "$D" "$(deploy "web-$track" 1 '
			.spec.selector.matchLabels = {app: "web", track: "'$track'"} |
			.spec.template.metadata.labels = {app: "web", track: "'$track'"}')"
	done
	k scale deployment/web-stable --replicas=3 > /dev/null
	k set image deployment/web-canary c=busybox:2 > /dev/null
	wait_json 20 "$D/web-stable" "$COMPLETE"' and .status.replicas == 3'
	wait_json 20 "$D/web-canary" "$COMPLETE"' and .metadata.annotations["'$REV'"] == "2"'
	check_eq "$(serving)" "busybox:1 busybox:1 busybox:1 busybox:2" "1 canary pod of 4"
	# More canary, less stable.
	k scale deployment/web-canary --replicas=3 > /dev/null
	k scale deployment/web-stable --replicas=1 > /dev/null
	wait_json 20 "$D/web-canary" "$COMPLETE"' and .status.replicas == 3'
	wait_json 20 "$D/web-stable" "$COMPLETE"' and .status.replicas == 1'
	wait_for 20 eval '[ "$(serving)" = "busybox:1 busybox:2 busybox:2 busybox:2" ]' ||
		fail "serving: $(serving)"
	# Each Deployment kept to its own ReplicaSets and pods.
	api GET "$RS?labelSelector=app%3Dweb"
	check_eq "$(jq -r '[.items[] | "\(.metadata.ownerReferences[0].name):\(.metadata.labels.track)"] |
		unique | join(" ")' <<< "$OUT")" "web-canary:canary web-stable:stable" "owners"
}

# The images of the ready, not terminating pods the Service "web" selects.
serving() {
	local sel

	api_expect 200 GET /api/v1/namespaces/default/services/web
	sel=$(jq -r '.spec.selector | to_entries | map("\(.key)%3D\(.value)") | join(",")' \
		<<< "$OUT")
	api_expect 200 GET "$PODS?labelSelector=$sel"
	jq -r '[.items[] | select(.metadata.deletionTimestamp == null and
		any(.status.conditions[]?; .type == "Ready" and .status == "True")) |
		.spec.containers[0].image] | sort | join(" ")' <<< "$OUT"
}

test_adopts_and_releases_replicasets() {
	setup
	# An orphan ReplicaSet with the Deployment's template is adopted as its
	# new one: no other is made.
	api_expect 201 POST "$RS" "$(deploy web 1 '.kind = "ReplicaSet" |
		.metadata = {name: "web-orphan", labels: {app: "web"}}')"
	wait_json 20 "$RS/web-orphan" '.status.readyReplicas == 1'
	api_expect 201 POST "$D" "$(deploy web 2)"
	wait_json 20 "$RS/web-orphan" '.metadata.ownerReferences[0] |
		.kind == "Deployment" and .name == "web" and .controller'
	wait_json 20 "$D/web" "$COMPLETE"
	api GET "$RS?labelSelector=app%3Dweb"
	check_eq "$(jq -r '[.items[].metadata.name] | join(" ")' <<< "$OUT")" web-orphan \
		"no new ReplicaSet"
	check_eq "$(rs_spec web orphan)" 2 "scaled by the Deployment"
	# Relabelled out of the selector, it is released and replaced.
	api_expect 200 PATCH "$RS/web-orphan" '{"metadata":{"labels":{"app":"other"}}}' \
		application/merge-patch+json
	wait_json 20 "$RS/web-orphan" '(.metadata.ownerReferences // []) | length == 0'
	wait_json 20 "$RS?labelSelector=app%3Dweb" '(.items | length) == 1 and
		(.items[0].metadata.name | test("^web-[a-z0-9]+$")) and
		.items[0].metadata.name != "web-orphan"'
}

# A ReplicaSet of another owner has the name the template hashes to: the
# hash moves on (status.collisionCount).
test_hash_collision() {
	setup
	api_expect 201 POST "$D" "$(deploy web 1)"
	wait_json 20 "$D/web" "$COMPLETE"
	local first
	first=$(rs_hash web 1)
	# No garbage collector here: the ReplicaSet outlives its Deployment.
	api_expect 200 DELETE "$D/web"
	wait_for 20 eval 'api GET "$D/web"; [ "$CODE" = 404 ]' || fail "web not deleted"
	api_expect 201 POST "$D" "$(deploy web 1)"
	wait_json 20 "$D/web" "$COMPLETE"' and .status.collisionCount == 1'
	api GET "$RS?labelSelector=app%3Dweb"
	check_eq "$(jq '.items | length' <<< "$OUT")" 2 "ReplicaSets"
	check_eq "$(jq -r --arg f "web-$first" '.items[] | select(.metadata.name != $f) |
		.metadata.ownerReferences[0].uid' <<< "$OUT")" \
		"$(api GET "$D/web"; jget .metadata.uid)" "the new one is the new Deployment's"
	api_expect 200 GET "$RS/web-$first"
	check_eq "$(jget .spec.replicas)" 1 "the other owner's ReplicaSet left alone"
}

# What the apiserver refuses, as Kubernetes' validation does.
test_invalid_specs() {
	cluster_start
	local line bad want
	while read -r line; do
		bad=${line%% => *}
		want=${line#* => }
		api_expect 422 POST "$D" "$(deploy web 1 "$bad")"
		check_match "$(jget .message)" "$want" "$bad"
	done <<-'EOF'
	.spec.strategy.rollingUpdate = {maxSurge: 0, maxUnavailable: 0} => maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0
	.spec.strategy.rollingUpdate = {maxSurge: "0%", maxUnavailable: 0} => may not be 0 when `maxSurge` is 0
	.spec.strategy.rollingUpdate = {maxUnavailable: "150%"} => maxUnavailable: Invalid value: "150%": must not be greater than 100%
	.spec.strategy.rollingUpdate = {maxSurge: "abc"} => maxSurge: Invalid value: a valid percent string
	.spec.strategy.rollingUpdate = {maxSurge: "5"} => maxSurge: Invalid value: a valid percent string
	.spec.strategy.rollingUpdate = {maxSurge: -1} => maxSurge: Invalid value: -1: must be greater than or equal to 0
	.spec.strategy = {type: "Recreate", rollingUpdate: {maxSurge: 1}} => rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'
	.spec.strategy = {type: "Blue"} => strategy.type: Unsupported value
	.spec.minReadySeconds = 10 | .spec.progressDeadlineSeconds = 10 => progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds
	.spec.minReadySeconds = -1 => minReadySeconds: Invalid value
	.spec.revisionHistoryLimit = -1 => revisionHistoryLimit: Invalid value
	.spec.template.spec.restartPolicy = "Never" => restartPolicy: Unsupported value: "Never"
	EOF
	# Zero for one of the two is fine, and an update is checked too.
	api_expect 201 POST "$D" "$(deploy web 1 '.spec.strategy.rollingUpdate =
		{maxSurge: 0, maxUnavailable: "10%"}')"
	api_expect 422 PATCH "$D/web" '{"spec":{"strategy":{"rollingUpdate":{"maxUnavailable":0}}}}' \
		application/merge-patch+json
	check_match "$(k patch deployment web -p '{"spec":{"strategy":{"rollingUpdate":{"maxUnavailable":"0%"}}}}' 2>&1 || true)" \
		"may not be 0 when .maxSurge. is 0" "kubectl patch"
}

run_tests test_create test_rolling_update_bounds test_scale_mid_rollout \
	test_min_ready_seconds test_recreate test_rollback test_pause_resume test_paused_canary test_revision_history_limit \
	test_progress_deadline test_canary_two_deployments test_adopts_and_releases_replicasets \
	test_hash_collision test_invalid_specs
