#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The garbage collector and the Namespace controller against a real
# apiserver:
#
#   skiff-apiserver <-- skiff-controller-manager (gc | namespace [, ...])
#          ^
#          '------- skiff-hollow-nodes "node" (runs and finishes pods)
#
# Owners and dependents are mostly ConfigMaps and pods made by hand with
# ownerReferences. A pod bound to "ghost" (no hollow node there) never
# finishes its graceful deletion: it holds a foreground deletion until the
# test deletes it with grace 0.

source "$(dirname "$0")/../lib-controllers.sh"

CM=/api/v1/namespaces/default/configmaps
PODS=/api/v1/namespaces/default/pods
RS=/apis/apps/v1/namespaces/default/replicasets
NSS=/api/v1/namespaces

# owned KIND_PATH NAME [OWNER_NAME OWNER_UID [BLOCK [NODE]]]...: creates
# a ConfigMap (KIND_PATH $CM) or a pod ($PODS) owned by ConfigMaps.
owned() {
	local path=$1 name=$2 refs='[]' body

	shift 2
	while [ $# -ge 2 ]; do
		refs=$(jq -c --arg n "$1" --arg u "$2" --argjson b "${3:-true}" \
			'. + [{apiVersion: "v1", kind: "ConfigMap", name: $n, uid: $u,
			       blockOwnerDeletion: $b}]' <<< "$refs")
		shift 3 || shift $#
	done
	if [ "$path" = "$PODS" ]; then
		body=$(jq -nc --arg n "$name" --argjson r "$refs" --arg node "${NODE:-ghost}" '{
			apiVersion: "v1", kind: "Pod",
			metadata: {name: $n, ownerReferences: $r},
			spec: {nodeName: $node, containers: [{name: "c", image: "busybox"}]}}')
	else
		body=$(jq -nc --arg n "$name" --argjson r "$refs" '{apiVersion: "v1",
			kind: "ConfigMap", metadata: {name: $n, ownerReferences: $r}}')
	fi
	api_expect 201 POST "$path" "$body"
}

# cmap NAME: a plain ConfigMap; its uid in UID.
cmap() {
	api_expect 201 POST "$CM" "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$1\"}}"
	UID_=$(jget .metadata.uid)
}

gone() { # gone PATH: 404
	api GET "$1"
	[ "$CODE" = 404 ]
}

wait_gone() {
	wait_for "${2:-20}" gone "$1" || fail "$1 still there: $OUT
$(daemon_logs)"
}

# ---- garbage collector --------------------------------------------------

test_gc_background() {
	cluster_start
	cm_start --controllers gc
	cmap owner
	local uid=$UID_
	owned "$CM" dep1 owner "$uid"
	owned "$CM" dep2 owner "$uid" false
	NODE=node hollow_start node
	NODE=node owned "$PODS" pod1 owner "$uid"
	cmap bystander
	api_expect 200 DELETE "$CM/owner"
	wait_gone "$CM/dep1"
	wait_gone "$CM/dep2"
	wait_gone "$PODS/pod1"
	api_expect 200 GET "$CM/bystander"
}

test_gc_replicaset_with_kubectl() {
	cluster_start
	hollow_start node
	cm_start --controllers replicaset,gc
	api_expect 201 POST "$RS" '{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web"},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"nodeName":"node","containers":[{"name":"c","image":"busybox"}]}}}}'
	wait_json 20 "$RS/web" '.status.readyReplicas == 3'
	k delete rs web --wait=true --timeout=20s > /dev/null
	wait_json 20 "$PODS?labelSelector=app%3Dweb" '.items | length == 0'
}

test_gc_foreground() {
	cluster_start
	cm_start --controllers gc
	cmap owner
	local uid=$UID_
	owned "$CM" dep owner "$uid"
	owned "$PODS" slow owner "$uid"
	api_expect 200 DELETE "$CM/owner" '{"propagationPolicy":"Foreground"}'
	wait_gone "$CM/dep"
	wait_json 20 "$PODS/slow" '.metadata.deletionTimestamp != null'
	# The pod is still terminating: the owner waits for it.
	api_expect 200 GET "$CM/owner"
	check_eq "$(jget '.metadata.finalizers | join(",")')" foregroundDeletion "owner waits"
	check_match "$(jget .metadata.deletionTimestamp)" "^20" "owner is being deleted"
	api_expect 200 DELETE "$PODS/slow" '{"gracePeriodSeconds":0}'
	wait_gone "$CM/owner"
}

test_gc_foreground_chain_and_unblocking_refs() {
	cluster_start
	cm_start --controllers gc
	cmap top
	local top=$UID_
	owned "$CM" middle top "$top"
	local middle
	middle=$(jget .metadata.uid)
	owned "$PODS" leaf middle "$middle"
	# Not blocking: deleted too, but nobody waits for it.
	owned "$PODS" loose top "$top" false
	k delete configmap top --cascade=foreground --wait=false > /dev/null
	# middle has a dependent: it goes in the foreground too.
	wait_json 20 "$CM/middle" '.metadata.finalizers == ["foregroundDeletion"]'
	wait_json 20 "$PODS/leaf" '.metadata.deletionTimestamp != null'
	wait_json 20 "$PODS/loose" '.metadata.deletionTimestamp != null'
	api_expect 200 GET "$CM/top"
	api_expect 200 DELETE "$PODS/leaf" '{"gracePeriodSeconds":0}'
	wait_gone "$CM/middle"
	wait_gone "$CM/top"
	api_expect 200 GET "$PODS/loose"
}

test_gc_orphan() {
	cluster_start
	cm_start --controllers gc
	cmap owner
	local uid=$UID_
	cmap other
	local other=$UID_
	owned "$CM" dep owner "$uid" true other "$other" true
	owned "$CM" dep2 owner "$uid"
	k delete configmap owner --cascade=orphan --wait=true --timeout=20s > /dev/null
	wait_gone "$CM/owner"
	api_expect 200 GET "$CM/dep"
	check_eq "$(jget '[.metadata.ownerReferences[].name] | join(",")')" other "only the orphaning owner's reference goes"
	api_expect 200 GET "$CM/dep2"
	check_eq "$(jget '.metadata.ownerReferences // [] | length')" 0 "dep2 has no owner"
}

test_gc_other_owner_keeps_dependent() {
	cluster_start
	cm_start --controllers gc
	cmap a
	local a=$UID_
	cmap b
	local b=$UID_
	owned "$CM" shared a "$a" true b "$b" true
	api_expect 200 DELETE "$CM/a"
	wait_json 20 "$CM/shared" '[.metadata.ownerReferences[].name] == ["b"]'
	api_expect 200 DELETE "$CM/b"
	wait_gone "$CM/shared"
}

test_gc_absent_owners_verified() {
	cluster_start
	cm_start --controllers gc
	cmap real
	local uid=$UID_
	# An owner uid that never was, a name whose uid is another's.
	owned "$CM" fake nosuch 00000000-0000-0000-0000-000000000000
	owned "$CM" wronguid real 11111111-1111-1111-1111-111111111111
	# In another namespace, the owner's uid is no owner.
	api_expect 201 POST "$NSS" '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"other"}}'
	api_expect 201 POST "$NSS/other/configmaps" "$(jq -nc --arg u "$uid" '{apiVersion: "v1",
		kind: "ConfigMap", metadata: {name: "far", ownerReferences: [{apiVersion: "v1",
		kind: "ConfigMap", name: "real", uid: $u}]}}')"
	owned "$CM" good real "$uid"
	wait_gone "$CM/fake"
	wait_gone "$CM/wronguid"
	wait_gone "$NSS/other/configmaps/far"
	api_expect 200 GET "$CM/good"
	# A cluster-scoped object cannot have a namespaced owner: kept, and said.
	api_expect 201 POST "$NSS" "$(jq -nc --arg u "$uid" '{apiVersion: "v1", kind: "Namespace",
		metadata: {name: "odd", ownerReferences: [{apiVersion: "v1", kind: "ConfigMap",
		name: "real", uid: $u}]}}')"
	wait_json 20 /api/v1/namespaces/default/events \
		'[.items[] | select(.reason == "OwnerRefInvalidNamespace" and .involvedObject.name == "odd")] | length == 1'
	api_expect 200 GET "$NSS/odd"
	check_eq "$(jget .metadata.deletionTimestamp)" null "odd kept"
}

test_gc_owner_deleted_while_down() {
	cluster_start
	cmap owner
	owned "$CM" dep owner "$UID_"
	api_expect 200 DELETE "$CM/owner"
	cm_start --controllers gc
	wait_gone "$CM/dep"
}

# ---- namespace ----------------------------------------------------------

ns_create() { # ns_create NAME
	api_expect 201 POST "$NSS" "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$1\"}}"
}

test_namespace_deleted_with_content() {
	cluster_start
	hollow_start node
	cm_start --controllers namespace,replicaset,gc
	ns_create team
	local t=$NSS/team i
	api_expect 201 POST "$t/configmaps" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"conf"}}'
	api_expect 201 POST "$t/secrets" '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"key"},"data":{}}'
	api_expect 201 POST "$t/services" '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ports":[{"port":80}]}}'
	for i in 1 2 3; do
		api_expect 201 POST "$t/pods" "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p$i\"},\"spec\":{\"nodeName\":\"node\",\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}"
	done
	api_expect 201 POST "/apis/apps/v1/namespaces/team/replicasets" '{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"nodeName":"node","containers":[{"name":"c","image":"busybox"}]}}}}'
	wait_json 20 "$t/pods" '[.items[] | select(.status.phase == "Running")] | length == 5'
	cmap stays
	k delete namespace team --timeout=30s > /dev/null
	gone "$t" || fail "namespace team still there: $OUT"
	for i in pods configmaps secrets services; do
		api_expect 200 GET "$t/$i"
		check_eq "$(jget '.items | length')" 0 "$i left in team"
	done
	api_expect 200 GET "$CM/stays"
	api_expect 200 GET "$NSS/default"
}

test_namespace_waits_for_finalizers() {
	cluster_start
	cm_start --controllers namespace
	ns_create held
	api_expect 201 POST "$NSS/held/configmaps" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"pinned","finalizers":["example.com/hold"]}}'
	api_expect 201 POST "$NSS/held/configmaps" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"free"}}'
	api_expect 200 DELETE "$NSS/held"
	check_eq "$(jget .status.phase)" Terminating "phase"
	wait_json 20 "$NSS/held" '.status.conditions[]? | select(.type == "NamespaceFinalizersRemaining") | .status == "True"'
	check_eq "$(jget '.status.conditions[] | select(.type == "NamespaceFinalizersRemaining") | "\(.reason): \(.message)"')" \
		"SomeFinalizersRemain: Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances" \
		"finalizers condition"
	check_eq "$(jget '.status.conditions[] | select(.type == "NamespaceContentRemaining") | "\(.reason): \(.message)"')" \
		"SomeResourcesRemain: Some resources are remaining: configmaps has 1 resource instances" \
		"content condition"
	check_eq "$(jget '.spec.finalizers | join(",")')" kubernetes "still ours"
	wait_gone "$NSS/held/configmaps/free"
	# A restarted controller manager finishes the job.
	daemon_stop cm
	api_expect 200 PATCH "$NSS/held/configmaps/pinned" '{"metadata":{"finalizers":null}}' application/merge-patch+json
	cm_start --controllers namespace
	wait_gone "$NSS/held"
}

run_tests test_gc_background test_gc_replicaset_with_kubectl test_gc_foreground \
	test_gc_foreground_chain_and_unblocking_refs test_gc_orphan \
	test_gc_other_owner_keeps_dependent test_gc_absent_owners_verified \
	test_gc_owner_deleted_while_down test_namespace_deleted_with_content \
	test_namespace_waits_for_finalizers
