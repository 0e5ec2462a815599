#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The StatefulSet controller against a real apiserver, with hollow nodes
# playing the kubelet:
#
#   skiff-apiserver <-- skiff-controller-manager (statefulset)
#          ^    ^
#          |    '-- curl ?watch=1 on pods (the order things happened in)
#          '------- skiff-hollow-nodes "node" (runs pods bound to it)
#
# Pods are bound in the template (spec.nodeName): no scheduler here. The
# hollow node makes a pod Ready unless its annotation
# hollow.skiff.dev/ready is "false"; pods made from one template all start
# alike, so a case that wants web-0 held back starts them not ready and
# lets them go one by one (mark_pod).

source "$(dirname "$0")/../lib-controllers.sh"

STS=/apis/apps/v1/namespaces/default/statefulsets
PODS=/api/v1/namespaces/default/pods
REVS=/apis/apps/v1/namespaces/default/controllerrevisions

# sts NAME REPLICAS [JQ]: a StatefulSet of app=NAME pods on "node", JQ
# applied to it (e.g. '.spec.podManagementPolicy = "Parallel"').
sts() {
	jq -nc --arg n "$1" --argjson r "$2" '{
		apiVersion: "apps/v1", kind: "StatefulSet",
		metadata: {name: $n},
		spec: {replicas: $r, serviceName: $n,
		       selector: {matchLabels: {app: $n}},
		       template: {metadata: {labels: {app: $n}},
				  spec: {nodeName: "node",
					 containers: [{name: "c", image: "busybox"}]}}}}' |
		jq -c "${3:-.}"
}

# Pods start not Ready until marked.
HELD='.spec.template.metadata.annotations = {"hollow.skiff.dev/ready": "false"}'

setup() {
	cluster_start
	hollow_start node
	cm_start --controllers statefulset
}

# watch_pods: records pod events from now on in watch.log.
watch_pods() {
	api_expect 200 GET "$PODS"
	daemon_start watch curl -sN \
		"$API$PODS?watch=1&resourceVersion=$(jget .metadata.resourceVersion)"
}

# events: the watch so far, a line per event: TYPE NAME READY DELETING.
events() {
	jq -Rr 'fromjson? | [.type, .object.metadata.name,
		([.object.status.conditions[]? | select(.type == "Ready") | .status][0] // "-"),
		(if .object.metadata.deletionTimestamp then "deleting" else "-" end)] | @tsv' \
		"$API_DIR/watch.log"
}

# at AWK_COND [AFTER]: the number of the first event past line AFTER where
# AWK_COND holds ($1 type, $2 name, $3 Ready, $4 deleting); 999999 if none.
at() {
	events | awk -F'\t' -v after="${2:-0}" \
		"NR > after && ($1) { print NR; found = 1; exit }
		 END { if (!found) print 999999 }"
}

# before A B WHAT: event line A comes before B, and both happened.
before() {
	[ "$1" -lt 999999 ] && [ "$2" -lt 999999 ] && [ "$1" -lt "$2" ] ||
		fail "$3 (events $1, $2):
$(events)"
}

# seen AWK_COND: some event so far is one.
seen() {
	[ "$(at "$1")" -lt 999999 ]
}

gone() {
	api GET "$PODS/$1"
	[ "$CODE" = 404 ]
}

# Each pod is created only once the one before it is Running and Ready.
test_ordered_ready_start() {
	setup
	watch_pods
	api_expect 201 POST "$STS" "$(sts web 3 "$HELD")"
	wait_json 20 "$PODS/web-0" '.status.phase == "Running"'
	wait_json 20 "$STS/web" '.status.replicas == 1 and .status.observedGeneration == 1'
	api GET "$PODS/web-1"
	check_eq "$CODE" 404 "web-1 while web-0 is not Ready"
	mark_pod default web-0 ready true
	wait_json 20 "$PODS/web-1" '.status.phase == "Running"'
	api GET "$PODS/web-2"
	check_eq "$CODE" 404 "web-2 while web-1 is not Ready"
	mark_pod default web-1 ready true
	wait_json 20 "$PODS/web-2" '.status.phase == "Running"'
	mark_pod default web-2 ready true
	wait_json 20 "$STS/web" '.status.readyReplicas == 3 and .status.availableReplicas == 3 and
		.status.currentReplicas == 3 and .status.updatedReplicas == 3 and
		.status.currentRevision == .status.updateRevision'
	local rev
	rev=$(jget .status.updateRevision)
	check_match "$rev" '^web-[a-z0-9]+$' "revision name"

	check_eq "$(events | awk -F'\t' '$1 == "ADDED" { print $2 }' | paste -sd,)" \
		web-0,web-1,web-2 "pods added"
	before "$(at '$2 == "web-0" && $3 == "True"')" "$(at '$1 == "ADDED" && $2 == "web-1"')" \
		"web-1 added after web-0 was Ready"
	before "$(at '$2 == "web-1" && $3 == "True"')" "$(at '$1 == "ADDED" && $2 == "web-2"')" \
		"web-2 added after web-1 was Ready"

	# Identity: names, labels, hostname, subdomain, owner, revision.
	api_expect 200 GET "$PODS/web-1"
	check_eq "$(jget '.metadata.labels["statefulset.kubernetes.io/pod-name"]')" web-1 "pod-name label"
	check_eq "$(jget '.metadata.labels["apps.kubernetes.io/pod-index"]')" 1 "pod-index label"
	check_eq "$(jget '.metadata.labels["controller-revision-hash"]')" "$rev" "revision label"
	check_eq "$(jget '.spec.hostname + "." + .spec.subdomain')" web-1.web "hostname.subdomain"
	check_eq "$(jget '.metadata.ownerReferences[0] | "\(.kind)/\(.name)/\(.controller)"')" \
		StatefulSet/web/true "owner"
	api_expect 200 GET "$REVS/$rev"
	check_eq "$(jget '.revision')" 1 "revision number"
	check_eq "$(jget '.data.spec.template["$patch"]')" replace "revision data"
	check_eq "$(jget '.metadata.ownerReferences[0].name')" web "revision owner"
	check_eq "$(jget '.metadata.labels.app')" web "revision labels"
}

# Scale-down takes the highest ordinal first, one at a time, each once the
# one before is gone.
test_reverse_scale_down() {
	setup
	api_expect 201 POST "$STS" "$(sts web 4)"
	wait_json 30 "$STS/web" '.status.readyReplicas == 4'
	watch_pods
	api_expect 200 PATCH "$STS/web" '{"spec":{"replicas":1}}' application/merge-patch+json
	wait_json 30 "$STS/web" '.status.replicas == 1 and .status.readyReplicas == 1 and .status.observedGeneration == 2'
	wait_for 20 eval 'gone web-1 && gone web-2 && gone web-3' || fail "pods left"
	wait_for 10 seen '$1 == "DELETED" && $2 == "web-1"' || fail "no DELETED web-1: $(events)"
	local del3 del2
	del3=$(at '$1 == "DELETED" && $2 == "web-3"')
	del2=$(at '$1 == "DELETED" && $2 == "web-2"')
	before "$(at '$2 == "web-3" && $4 == "deleting"')" "$del3" "web-3 terminating, then gone"
	before "$del3" "$(at '$2 == "web-2" && $4 == "deleting"')" "web-2 deleted after web-3 was gone"
	before "$del2" "$(at '$2 == "web-1" && $4 == "deleting"')" "web-1 deleted after web-2 was gone"
	check_eq "$(at '$2 == "web-0" && $4 == "deleting"')" 999999 "web-0 untouched"
}

# A template change replaces pods from the highest ordinal down, each once
# the one replaced before is Ready; kubectl follows it and rolls it back.
test_rolling_update() {
	setup
	api_expect 201 POST "$STS" "$(sts web 3)"
	wait_json 30 "$STS/web" '.status.readyReplicas == 3 and .status.currentRevision == .status.updateRevision'
	local r1 r2
	r1=$(jget .status.currentRevision)
	watch_pods
	api_expect 200 PATCH "$STS/web" \
		'{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"busybox:1.37"}]}}}}' \
		application/merge-patch+json
	wait_json 40 "$STS/web" '.status.updateRevision != "'"$r1"'" and
		.status.currentRevision == .status.updateRevision and
		.status.updatedReplicas == 3 and .status.readyReplicas == 3 and .status.observedGeneration == 2'
	r2=$(jget .status.updateRevision)
	api_expect 200 GET "$PODS?labelSelector=app%3Dweb"
	check_eq "$(jget '[.items[] | select(.metadata.labels["controller-revision-hash"] == "'"$r2"'" and
		.spec.containers[0].image == "busybox:1.37")] | length')" 3 "pods at the new revision"

	local d2 a2 r2ready d1 a1 r1ready d0
	d2=$(at '$2 == "web-2" && $4 == "deleting"')
	a2=$(at '$1 == "ADDED" && $2 == "web-2"' "$d2")
	r2ready=$(at '$2 == "web-2" && $3 == "True"' "$a2")
	d1=$(at '$2 == "web-1" && $4 == "deleting"')
	a1=$(at '$1 == "ADDED" && $2 == "web-1"' "$d1")
	r1ready=$(at '$2 == "web-1" && $3 == "True"' "$a1")
	d0=$(at '$2 == "web-0" && $4 == "deleting"')
	before "$a2" "$r2ready" "new web-2 Ready"
	before "$r2ready" "$d1" "web-1 replaced after the new web-2 was Ready"
	before "$r1ready" "$d0" "web-0 replaced after the new web-1 was Ready"

	k rollout status statefulset/web --timeout=20s > "$API_DIR/out" 2>&1 ||
		fail "rollout status: $(cat "$API_DIR/out")"
	# What kubectl says of a (defaulted) partition of 0.
	check_match "$(cat "$API_DIR/out")" "partitioned roll out complete: 3 new pods have been updated" \
		"rollout status"
	rollout_as_kubectl statefulset/web "rolled out"

	# Undo: the first revision's template, raised to revision 3.
	k rollout undo statefulset/web > "$API_DIR/out" 2>&1 || fail "rollout undo: $(cat "$API_DIR/out")"
	wait_json 40 "$STS/web" '.status.updateRevision == "'"$r1"'" and
		.status.currentRevision == "'"$r1"'" and .status.updatedReplicas == 3 and
		.status.readyReplicas == 3'
	wait_json 10 "$REVS/$r1" '.revision == 3'
	api_expect 200 GET "$PODS/web-0"
	check_eq "$(jget '.spec.containers[0].image')" busybox "web-0 image after undo"
	k rollout history statefulset/web > "$API_DIR/out" 2>&1 || fail "history: $(cat "$API_DIR/out")"
	check_match "$(tr -s ' \n' ' ' < "$API_DIR/out")" "REVISION CHANGE-CAUSE 2 <none> 3 <none> $" \
		"rollout history"
}

# With a partition only ordinals at or past it are updated; a pod below it
# that is deleted comes back at the current revision.
test_partition() {
	setup
	api_expect 201 POST "$STS" "$(sts web 3)"
	wait_json 30 "$STS/web" '.status.readyReplicas == 3 and .status.currentRevision == .status.updateRevision'
	local r1 r2
	r1=$(jget .status.currentRevision)
	api_expect 200 PATCH "$STS/web" \
		'{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}},
		  "template":{"spec":{"containers":[{"name":"c","image":"busybox:1.37"}]}}}}' \
		application/merge-patch+json
	wait_json 30 "$STS/web" '.status.updatedReplicas == 1 and .status.readyReplicas == 3 and
		.status.currentRevision == "'"$r1"'" and .status.currentReplicas == 2'
	r2=$(jget .status.updateRevision)
	wait_json 20 "$PODS/web-2" '.metadata.labels["controller-revision-hash"] == "'"$r2"'" and .status.phase == "Running"'
	k rollout status statefulset/web --timeout=20s > "$API_DIR/out" 2>&1 ||
		fail "rollout status: $(cat "$API_DIR/out")"
	check_match "$(cat "$API_DIR/out")" "partitioned roll out complete: 1 new pods have been updated" \
		"rollout status"
	rollout_as_kubectl sts/web "partitioned"
	local uid
	api_expect 200 GET "$PODS/web-0"
	uid=$(jget .metadata.uid)
	api_expect 200 DELETE "$PODS/web-0"
	wait_json 30 "$PODS/web-0" '.metadata.uid != "'"$uid"'" and .status.phase == "Running" and
		.metadata.labels["controller-revision-hash"] == "'"$r1"'"'
	api_expect 200 GET "$PODS/web-1"
	check_eq "$(jget '.metadata.labels["controller-revision-hash"]')" "$r1" "web-1 below the partition"
	api_expect 200 PATCH "$STS/web" '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}' \
		application/merge-patch+json
	wait_json 40 "$STS/web" '.status.updatedReplicas == 3 and .status.readyReplicas == 3 and
		.status.currentRevision == "'"$r2"'"'
}

# A pod deleted, or one that finished, comes back under its name.
test_pod_comes_back() {
	setup
	api_expect 201 POST "$STS" "$(sts web 2)"
	wait_json 30 "$STS/web" '.status.readyReplicas == 2'
	local uid
	api_expect 200 GET "$PODS/web-1"
	uid=$(jget .metadata.uid)
	api_expect 200 DELETE "$PODS/web-1"
	wait_json 20 "$PODS/web-1" '.metadata.uid != "'"$uid"'" and .status.phase == "Running"'
	wait_json 20 "$STS/web" '.status.readyReplicas == 2'
	api_expect 200 GET "$PODS/web-0"
	uid=$(jget .metadata.uid)
	mark_pod default web-0 exit 1
	wait_json 20 "$PODS/web-0" '.metadata.uid != "'"$uid"'" and .status.phase == "Running"'
	wait_json 20 "$STS/web" '.status.readyReplicas == 2 and .status.replicas == 2'
}

# Parallel: every pod at once, Ready or not, and all go at once.
test_parallel() {
	setup
	api_expect 201 POST "$STS" "$(sts web 3 "$HELD | .spec.podManagementPolicy = \"Parallel\"")"
	wait_json 20 "$STS/web" '.status.replicas == 3'
	check_eq "$(jget .status.readyReplicas)" 0 "none Ready"
	api_expect 200 GET "$PODS?labelSelector=app%3Dweb"
	check_eq "$(jget '[.items[].metadata.name] | sort | join(",")')" web-0,web-1,web-2 "pods"
	api_expect 200 PATCH "$STS/web" '{"spec":{"replicas":0}}' application/merge-patch+json
	wait_json 20 "$STS/web" '.status.replicas == 0'
	wait_json 20 "$PODS?labelSelector=app%3Dweb" '.items | length == 0'
}

# OnDelete: a new template waits until a pod is deleted by someone.
test_on_delete() {
	setup
	api_expect 201 POST "$STS" "$(sts web 2 '.spec.updateStrategy = {type: "OnDelete"}')"
	wait_json 30 "$STS/web" '.status.readyReplicas == 2 and .status.currentRevision == .status.updateRevision'
	local r1
	r1=$(jget .status.currentRevision)
	api_expect 200 PATCH "$STS/web" \
		'{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"busybox:1.37"}]}}}}' \
		application/merge-patch+json
	wait_json 20 "$STS/web" '.status.observedGeneration == 2 and .status.updateRevision != "'"$r1"'"'
	check_eq "$(jget .status.updatedReplicas)" 0 "updated before any deletion"
	check_eq "$(jget .status.currentReplicas)" 2 "current before any deletion"
	rollout_as_kubectl statefulset/web "OnDelete has no rollout"
	api_expect 200 DELETE "$PODS/web-0"
	wait_json 20 "$STS/web" '.status.updatedReplicas == 1 and .status.readyReplicas == 2'
	api_expect 200 GET "$PODS/web-1"
	check_eq "$(jget '.metadata.labels["controller-revision-hash"]')" "$r1" "web-1 untouched"
	api_expect 200 DELETE "$PODS/web-1"
	wait_json 20 "$STS/web" '.status.updatedReplicas == 2 and .status.readyReplicas == 2 and
		.status.currentRevision == .status.updateRevision'
}

# Orphans named like a member and matching are adopted; others are not.
test_adopts_members_only() {
	setup
	local pod='{"apiVersion":"v1","kind":"Pod","metadata":{"name":"NAME","labels":{"app":"web"}},
		"spec":{"nodeName":"node","containers":[{"name":"c","image":"busybox"}]}}'
	api_expect 201 POST "$PODS" "${pod/NAME/web-1}"
	api_expect 201 POST "$PODS" "${pod/NAME/web-x}"
	api_expect 201 POST "$PODS" "${pod/NAME/web-01}"
	api_expect 201 POST "$STS" "$(sts web 2)"
	wait_json 30 "$STS/web" '.status.readyReplicas == 2'
	wait_json 20 "$PODS/web-1" '.metadata.ownerReferences[0].name == "web" and
		.metadata.labels["statefulset.kubernetes.io/pod-name"] == "web-1"'
	api_expect 200 GET "$PODS/web-x"
	check_eq "$(jget '.metadata.ownerReferences // [] | length')" 0 "web-x adopted"
	api_expect 200 GET "$PODS/web-01"
	check_eq "$(jget '.metadata.ownerReferences // [] | length')" 0 "web-01 adopted"
}

# Old templates beyond revisionHistoryLimit go; those in use stay.
test_history_limit() {
	setup
	api_expect 201 POST "$STS" "$(sts web 1 '.spec.revisionHistoryLimit = 1')"
	wait_json 20 "$STS/web" '.status.readyReplicas == 1'
	local v
	for v in 1 2 3; do
		api_expect 200 PATCH "$STS/web" \
			'{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"busybox:'$v'"}]}}}}' \
			application/merge-patch+json
		wait_json 20 "$STS/web" '.status.observedGeneration == '$((v + 1))' and
			.status.currentRevision == .status.updateRevision and .status.readyReplicas == 1'
	done
	wait_json 20 "$REVS" '[.items[] | .revision] | sort == [3, 4]'
	api_expect 200 GET "$STS/web"
	api_expect 200 GET "$REVS/$(jget .status.updateRevision)"
	check_eq "$(jget .revision)" 4 "the current revision"
}

# The apiserver defaults a StatefulSet as Kubernetes does and refuses what
# the controller could not run.
test_defaults_and_validation() {
	cluster_start
	api_expect 201 POST "$STS" "$(sts web 1)"
	check_eq "$(jget '.spec | [.podManagementPolicy, (.updateStrategy | tojson), .revisionHistoryLimit] | join(" ")')" \
		'OrderedReady {"type":"RollingUpdate","rollingUpdate":{"partition":0}} 10' "defaults"
	local bad
	for bad in '.spec.podManagementPolicy = "Sometimes"|spec.podManagementPolicy: Unsupported value: "Sometimes"' \
		'.spec.updateStrategy = {type: "Bogus"}|spec.updateStrategy: Invalid value: "Bogus"' \
		'.spec.updateStrategy.rollingUpdate.partition = -1|spec.updateStrategy.rollingUpdate.partition: Invalid value' \
		'.spec.updateStrategy = {type: "OnDelete", rollingUpdate: {partition: 1}}|spec.updateStrategy.rollingUpdate: Invalid value: only allowed' \
		'.spec.template.spec.restartPolicy = "Never"|spec.template.spec.restartPolicy: Unsupported value: "Never"' \
		'.spec.ordinals.start = -1|spec.ordinals.start: Invalid value' \
		'.spec.minReadySeconds = -1|spec.minReadySeconds: Invalid value'; do
		api_expect 422 POST "$STS" "$(sts bad 1 "${bad%%|*}")"
		check_match "$(jget .message)" "${bad#*|}" "${bad%%|*}"
	done
	api_expect 422 PATCH "$STS/web" '{"spec":{"podManagementPolicy":"Parallel"}}' application/merge-patch+json
	check_match "$(jget .message)" "spec: Forbidden: updates to statefulset spec for fields other than" "policy change"
	api_expect 422 PATCH "$STS/web" '{"spec":{"serviceName":"other"}}' application/merge-patch+json
	api_expect 200 PATCH "$STS/web" '{"spec":{"replicas":2,"minReadySeconds":1,"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}' \
		application/merge-patch+json
}

run_tests test_ordered_ready_start test_reverse_scale_down test_rolling_update \
	test_partition test_pod_comes_back test_parallel test_on_delete \
	test_adopts_members_only test_history_limit test_defaults_and_validation
