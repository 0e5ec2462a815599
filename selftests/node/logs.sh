#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Container logs: kubectl logs through the apiserver's pods/NAME/log, which
# proxies to the node agent's endpoint (port 10250, /containerLogs/...), as
# Kubernetes does; and that endpoint on its own, from the underlay. One
# node (topology: selftests/lib-node.sh), busybox pods through runc.

source "$(dirname "$0")/../lib-node.sh"

P=/api/v1/namespaces/default/pods
KUBELET=https://192.168.77.11:10250

logs_match() {
	[ "$(k logs "${@:2}" 2>&1)" = "$1" ]
}

# logs_are WANT ARGS...: kubectl logs ARGS prints WANT (soon: output may
# lag the container's start).
logs_are() {
	wait_for 10 logs_match "$@" ||
		fail "kubectl logs ${*:2}: got '$(k logs "${@:2}" 2>&1)', want '$1'"
}

# The pods both cases read: "one" wrote four lines (one on stderr) and
# sleeps; "two" has two containers.
logs_pods() {
	api_expect 201 POST $P "$(pod_json one \
		'echo line 1; echo line 2; echo line 3; echo oops >&2; exec sleep 1000')"
	api_expect 201 POST $P "$(pod_json two '' '{"containers":[
		{"name":"a","image":"busybox","command":["sh","-c","echo from a; exec sleep 1000"]},
		{"name":"b","image":"busybox","command":["sh","-c","echo from b; exec sleep 1000"]}]}')"
	wait_json 30 $P/one '.status.phase == "Running"'
	wait_json 30 $P/two '.status.phase == "Running"'
	# Output may lag the container's start a little.
	logs_are $'line 1\nline 2\nline 3\noops' one
	logs_are "from a" two -c a
	logs_are "from b" two -c b
}

# The container of pod $1 runs: its process (for files in its root).
ctr_pid() {
	local uid

	uid=$(pod_uid default "$1")
	jq -r .pid "$NODE_ROOTS/a/pods/$uid/containers/${2:-main}-${3:-0}/started"
}

gone() {
	! kill -0 "$1" 2>/dev/null
}

# Connections to node a's log endpoint.
kubelet_streams() {
	in_node a ss -Htn state established '( sport = :10250 )' | grep -q .
}

test_kubectl_logs() {
	node_cluster_start
	node_start a
	# Counts its runs in a volume: the first fails, the second stays.
	# shellcheck disable=SC2016 # for the container's shell
	api_expect 201 POST $P "$(pod_json crash \
		'n=$(($(cat /data/n 2>/dev/null || echo 0) + 1)); echo $n > /data/n
		 echo run $n; [ $n -ge 2 ] && exec sleep 1000; exit 1' \
		'{"volumes":[{"name":"data","emptyDir":{}}]}' |
		jq -c '.spec.containers[0].volumeMounts = [{name: "data", mountPath: "/data"}]')"
	api_expect 201 POST $P "$(pod_json follow \
		'echo first; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo later' \
		'{"restartPolicy":"Never"}')"
	logs_pods

	logs_are $'line 3\noops' one --tail 2
	logs_are "" one --tail 0
	logs_are "line 1" one --limit-bytes 6
	# kubectl 1.32 picks the first container itself and says so; the
	# apiserver, asked without one, refuses as Kubernetes' does.
	check_match "$(k logs two 2>&1)" 'Defaulted container "a" out of: a, b' \
		"kubectl logs without -c"
	api_expect 400 GET $P/two/log
	check_eq "$(jget .message)" "a container name must be specified for pod two, choose one of: [a b]" \
		"no container named"
	check_match "$(k logs one -c nope 2>&1)" "container nope is not valid for pod one" \
		"kubectl logs -c nope"
	check_match "$(k logs nope 2>&1)" 'pods "nope" not found' "kubectl logs nope"
	check_match "$(k logs one --previous 2>&1)" \
		'previous terminated container "main" in pod "one" not found' "no earlier run"

	# -f: the stream carries what is written later, and ends with the run.
	wait_json 30 $P/follow '.status.phase == "Running"'
	k logs -f follow > "$API_DIR/follow.out" 2>&1 &
	local follower=$!
	wait_for 10 grep -qx first "$API_DIR/follow.out" ||
		fail "kubectl logs -f: $(cat "$API_DIR/follow.out")"
	! grep -q later "$API_DIR/follow.out" || fail "'later' came before it was written"
	touch "/proc/$(ctr_pid follow)/root/tmp/go"
	wait_for 10 grep -qx later "$API_DIR/follow.out" ||
		fail "kubectl logs -f missed a later line: $(cat "$API_DIR/follow.out")"
	wait_for 10 gone $follower || { kill $follower; fail "kubectl logs -f did not end with its container"; }
	wait $follower || fail "kubectl logs -f failed: $(cat "$API_DIR/follow.out")"
	check_eq "$(cat "$API_DIR/follow.out")" $'first\nlater' "what kubectl logs -f printed"

	# --previous: the run before the current one (after the 10 s back-off).
	wait_json 40 $P/crash '.status.containerStatuses[0].restartCount == 1 and
		.status.containerStatuses[0].state.running != null'
	logs_are "run 2" crash
	logs_are "run 1" crash --previous
}

test_log_errors_and_node_endpoint() {
	node_cluster_start
	node_start a
	api_expect 201 POST $P "$(pod_json nowhere 'true' '{"nodeSelector":{"no":"such-node"}}')"
	logs_pods

	# The node says where its endpoint is.
	api_expect 200 GET /api/v1/nodes/a
	check_eq "$(jget .status.daemonEndpoints.kubeletEndpoint.Port)" 10250 "daemonEndpoints"

	# Refusals of the apiserver, as Kubernetes words them.
	api_expect 404 GET $P/nope/log
	check_eq "$(jget .message)" 'pods "nope" not found' "unknown pod"
	api_expect 400 GET "$P/one/log?container=zz"
	check_eq "$(jget .reason):$(jget .message)" "BadRequest:container zz is not valid for pod one" \
		"unknown container"
	api_expect 400 GET "$P/one/log?tailLines=abc"
	check_eq "$(jget .reason)" BadRequest "tailLines=abc"
	api_expect 400 GET "$P/one/log?limitBytes=1x"
	api_expect 422 GET "$P/one/log?tailLines=-1"
	check_eq "$(jget .message)" \
		'PodLogOptions "one" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0' \
		"tailLines=-1"
	api_expect 422 GET "$P/one/log?limitBytes=0"
	api_expect 400 GET $P/nowhere/log
	check_eq "$(jget .message)" "pod nowhere does not have a host assigned" "unscheduled pod"
	api_expect 405 POST $P/one/log '{}'
	# What the kubelet refuses comes back with its code and words.
	api_expect 400 GET "$P/one/log?previous=true"
	check_eq "$(jget .message)" 'previous terminated container "main" in pod "one" not found' \
		"previous of a first run"
	# Through the apiserver: plain text, tail and limit applied by the node.
	check_eq "$(acurl -sS "$API$P/one/log?tailLines=1")" oops "tailLines=1"
	check_eq "$(acurl -sS "$API$P/two/log?container=b")" "from b" "container=b"
	check_match "$(acurl -sS -D - -o /dev/null "$API$P/one/log" | tr -d '\r')" "Content-Type: text/plain" \
		"content type"

	# A client that leaves a follow ends the node's stream too.
	curl "${API_CURL_ARGS[@]}" -sN "$API$P/one/log?follow=true" > "$API_DIR/af.out" &
	local c=$!
	wait_for 10 grep -q oops "$API_DIR/af.out" || fail "follow: $(cat "$API_DIR/af.out")"
	kubelet_streams || fail "no stream from the node while following"
	kill $c
	wait $c || true
	wait_for 10 eval '! kubelet_streams' ||
		fail "the node still streams: $(in_node a ss -tn state established)"

	# A node whose kubelet does not answer: a Status that says so.
	api_expect 201 POST /api/v1/nodes '{"apiVersion":"v1","kind":"Node","metadata":{"name":"ghost"}}'
	api_expect 200 PATCH /api/v1/nodes/ghost/status \
		'{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"}],"daemonEndpoints":{"kubeletEndpoint":{"Port":1}}}}' \
		application/merge-patch+json
	api_expect 201 POST $P "$(pod_json haunted 'true' '{"nodeName":"ghost"}')"
	api_expect 500 GET $P/haunted/log
	check_match "$(jget .message)" '^Get "https://127.0.0.1:1/containerLogs/default/haunted/main": .*(onnect|refused)' \
		"unreachable kubelet"

	# The node's endpoint itself, from the underlay.
	check_eq "$(acurl -sS "$KUBELET/containerLogs/default/one/main")" \
		$'line 1\nline 2\nline 3\noops' "node: whole log"
	check_eq "$(acurl -sS "$KUBELET/containerLogs/default/one/main?tailLines=3&limitBytes=9")" \
		$'line 2\nli' "node: tail then limit"
	check_eq "$(acurl -sS "$KUBELET/containerLogs/default/two/a")" "from a" "node: container a"
	local code
	node_code() {
		code=$(acurl -s --path-as-is -o "$API_DIR/node.out" -w '%{http_code}' "$KUBELET$1")
		[ "$code" = "$2" ] || fail "node $1: HTTP $code, want $2: $(cat "$API_DIR/node.out")"
	}
	node_code /containerLogs/default/nope/main 404
	check_eq "$(cat "$API_DIR/node.out")" 'pod "nope" does not exist' "node: unknown pod"
	node_code /containerLogs/default/one/zz 404
	check_eq "$(cat "$API_DIR/node.out")" 'container "zz" not found in pod "one"' \
		"node: unknown container"
	node_code "/containerLogs/default/one/main?tailLines=x" 400
	node_code "/containerLogs/default/one/main?tailLines=-2" 400
	node_code "/containerLogs/default/one/main?follow=maybe" 400
	node_code "/containerLogs/default/one/main?previous=true" 400
	node_code /containerLogs/default/one 404
	node_code /containerLogs/default/../one/main 404
	node_code /pods 404
	# Only the apiserver and admins read logs on the node: no certificate
	# is 401, a node's own 403, one of another CA 401.
	code=$(curl -s --cacert "$API_PKI/ca.crt" -o /dev/null -w '%{http_code}' \
		"$KUBELET/containerLogs/default/one/main")
	check_eq "$code" 401 "node endpoint without a certificate"
	code=$(curl -s --cacert "$API_PKI/ca.crt" --cert "$API_PKI/node-a.crt" \
		--key "$API_PKI/node-a.key" -o "$API_DIR/node.out" -w '%{http_code}' \
		"$KUBELET/containerLogs/default/one/main")
	check_eq "$code" 403 "node endpoint with a node's certificate"
	skiffctl certs init --dir "$API_DIR/other-ca" > /dev/null
	skiffctl certs issue --dir "$API_DIR/other-ca" admin > /dev/null
	code=$(curl -s --cacert "$API_PKI/ca.crt" --cert "$API_DIR/other-ca/admin.crt" \
		--key "$API_DIR/other-ca/admin.key" -o /dev/null -w '%{http_code}' \
		"$KUBELET/containerLogs/default/one/main")
	check_eq "$code" 401 "node endpoint with another CA's admin certificate"

	# follow on the node: a client that leaves ends the stream, not the node.
	curl "${API_CURL_ARGS[@]}" -sN "$KUBELET/containerLogs/default/one/main?follow=true" \
		> "$API_DIR/f.out" &
	c=$!
	wait_for 10 grep -q oops "$API_DIR/f.out" || fail "node follow: $(cat "$API_DIR/f.out")"
	kill $c
	wait $c || true
	check_eq "$(acurl -sS "$KUBELET/containerLogs/default/one/main?tailLines=1")" oops \
		"node answers after a follower left"
	# The port is a flag; a bad one is refused.
	local out
	if out=$(skiff-node --node-name x --kubelet-port 70000 --root-dir "$API_DIR/flags" 2>&1); then
		fail "--kubelet-port 70000 accepted"
	fi
	check_match "$out" "skiff-node: --kubelet-port" "bad --kubelet-port"
}

run_tests test_kubectl_logs test_log_errors_and_node_endpoint
