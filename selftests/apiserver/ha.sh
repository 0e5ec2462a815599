#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Two skiff-apiservers on one etcd, as a highly available control plane
# runs them: what is written through one is read and watched through the
# other, their writes conflict as one server's would, and when one dies
# kubectl goes on through the other, which the dead one finds again when it
# comes back. Skipped when etcd is not installed.
#
#   curl, kubectl ──▶ apiserver A ─┐
#                                  ├──▶ etcd (127.0.0.1:free port)
#   curl, kubectl ──▶ apiserver B ─┘

source "$(dirname "$0")/../lib-apiserver.sh"

etcd_or_skip

CM=/api/v1/namespaces/default/configmaps

cm() { # cm NAME [VALUE]
	printf '{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"%s","labels":{"ha":"1"}},"data":{"k":"%s"}}' \
		"$1" "${2:-v}"
}

# at SERVER WANT_CODE METHOD PATH [BODY [TYPE]]: api_expect on SERVER.
at() {
	local API=$1

	shift
	api_expect "$@"
}

# watch SERVER QUERY FILE: a watch of default's configmaps into FILE,
# ended with the case (it must not hold the case's output open).
watch() {
	curl -sN --max-time 60 "$1$CM?watch=1&$2" > "$3" 2> /dev/null &
	SKIFF_PIDS+=($!)
}

events() {
	jq -r 'select(.type) | .type + " " + (.object.metadata.name // "")' < "$1" 2>/dev/null | tr '\n' ' '
}

test_written_on_one_read_on_the_other() {
	local rv uid

	at "$A" 201 POST "$CM" "$(cm one)"
	rv=$(jget .metadata.resourceVersion)
	uid=$(jget .metadata.uid)
	at "$B" 200 GET "$CM/one"
	check_eq "$(jget .metadata.resourceVersion)" "$rv" "resourceVersion on B"
	check_eq "$(jget .metadata.uid)" "$uid" "uid on B"
	check_eq "$(jget .data.k)" v "data on B"
	at "$B" 200 GET "$CM?labelSelector=ha"
	check_match "$(jget '[.items[].metadata.name] | join(",")')" '(^|,)one(,|$)' "list on B"
	[ "$(jget .metadata.resourceVersion)" -ge "$rv" ] || fail "B lists at an older version"
	# The first namespaces: each server made sure of them, once.
	at "$B" 200 GET /api/v1/namespaces
	check_eq "$(jget '[.items[].metadata.name] | sort | join(",")')" \
		"default,kube-node-lease,kube-public,kube-system" "namespaces"
}

test_watch_on_one_sees_writes_on_the_other() {
	local rv w1=$API_DIR/watch-rv w2=$API_DIR/watch-live

	at "$A" 201 POST "$CM" "$(cm w-a)"
	rv=$(jget .metadata.resourceVersion)
	# From a version: B replays what A wrote after it, then goes on.
	watch "$B" "labelSelector=ha&resourceVersion=$rv" "$w1"
	# From now: once its first ADDED came, it is live.
	watch "$B" "labelSelector=ha" "$w2"
	wait_for 10 grep -q '"ADDED".*"w-a"' "$w2" || fail "no initial ADDED on B"
	at "$A" 200 PATCH "$CM/w-a" '{"data":{"k":"x"}}' application/merge-patch+json
	at "$A" 201 POST "$CM" "$(cm w-b)"
	at "$A" 200 DELETE "$CM/w-a"
	wait_for 10 grep -q '"DELETED".*"w-a"' "$w1" || fail "B's watch from $rv: $(events "$w1")"
	wait_for 10 grep -q '"DELETED".*"w-a"' "$w2" || fail "B's live watch: $(events "$w2")"
	check_eq "$(events "$w1")" "MODIFIED w-a ADDED w-b DELETED w-a " "events on B from a version"
	check_match "$(events "$w2")" "ADDED w-a MODIFIED w-a ADDED w-b DELETED w-a $" "events on B, live"
	check_eq "$(grep -c '"name":"w-a"' "$w2")" 3 "each write once"
}

test_conflicts_between_servers() {
	local obj rv i

	at "$A" 201 POST "$CM" "$(cm c)"
	obj=$OUT
	rv=$(jget .metadata.resourceVersion)
	at "$B" 200 PUT "$CM/c" "$(jq -c '.data.k = "from-b"' <<< "$obj")"
	[ "$(jget .metadata.resourceVersion)" -gt "$rv" ] || fail "no new version"
	# A's update names the version it read, which B's write replaced.
	at "$A" 409 PUT "$CM/c" "$(jq -c '.data.k = "from-a"' <<< "$obj")"
	check_eq "$(jget .reason)" Conflict "stale update on A"
	at "$B" 409 POST "$CM" "$(cm c)"
	check_eq "$(jget .reason)" AlreadyExists "create on B of what A made"
	at "$A" 200 GET "$CM/c"
	check_eq "$(jget .data.k)" from-b "B's write stands"
	# Patches through one then the other: each patches what the other left.
	for i in 1 2 3 4; do
		at "$A" 200 PATCH "$CM/c" "{\"data\":{\"a$i\":\"$i\"}}" application/merge-patch+json
		at "$B" 200 PATCH "$CM/c" "{\"data\":{\"b$i\":\"$i\"}}" application/merge-patch+json
	done
	check_eq "$(jget '.data | keys | join(",")')" "a1,a2,a3,a4,b1,b2,b3,b4,k" \
		"alternate patches through both, none lost"
}

test_kubectl_goes_on_through_the_other() {
	local pid file=$API_DIR/made-on-b.json

	command -v kubectl > /dev/null || { echo "kubectl is not installed"; return "$ksft_skip"; }
	at "$A" 201 POST "$CM" "$(cm k-kept)"
	at "$A" 201 POST "$CM" "$(cm k-gone)"
	check_eq "$(k get configmap k-kept -o jsonpath='{.data.k}')" v "kubectl through A"
	pid=$(cat "$API_DIR/pid")
	kill -9 "$pid"
	wait_for 30 apiserver_gone "$pid" || fail "A does not die"
	! k get configmap k-kept --request-timeout=5s > /dev/null 2>&1 || fail "A still answers"
	check_eq "$(k --server "$B" get configmap k-kept -o jsonpath='{.data.k}')" v "kubectl through B"
	cm k-made b > "$file"
	k --server "$B" create -f "$file"
	k --server "$B" label configmap k-kept after=kill
	k --server "$B" delete configmap k-gone
	check_eq "$(k --server "$B" get configmaps -l ha -o name | grep /k- | tr '\n' ' ')" \
		"configmap/k-kept configmap/k-made " "what B serves"
	# A comes back on its port, and serves what was written without it.
	apiserver_run
	check_eq "$(k get configmap k-made -o jsonpath='{.data.k}')" b "A back, with B's write"
	check_eq "$(k get configmap k-kept -o jsonpath='{.metadata.labels.after}')" kill "and B's label"
	! k get configmap k-gone > /dev/null 2>&1 || fail "A serves what B deleted"
}

etcd_start || exit 1
apiserver_start
A=$API
apiserver_spawn B b || exit 1
run_tests test_written_on_one_read_on_the_other \
	test_watch_on_one_sees_writes_on_the_other \
	test_conflicts_between_servers \
	test_kubectl_goes_on_through_the_other
