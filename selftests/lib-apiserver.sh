#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers of the apiserver tests, on top of ../lib.sh: a real
# skiff-apiserver on a free loopback port with a store of its own, curl
# for raw requests, a kubeconfig for kubectl.
#
#	apiserver_start [ARGS...]    starts it; sets API (URL) and KUBECONFIG
#	apiserver_restart [--kill]   stops (SIGTERM or SIGKILL) and starts it
#	                             again on the same port and store
#	api METHOD PATH [BODY [TYPE]]  one request: CODE and OUT

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

API_DIR=$(mktemp -d /tmp/skiff-apiserver-test.XXXXXX)
API_ARGS=()
export KUBECONFIG=$API_DIR/kubeconfig

apiserver_cleanup() {
	if [ -s "$API_DIR/pid" ]; then
		kill "$(cat "$API_DIR/pid")" 2>/dev/null || true
	fi
	rm -rf "$API_DIR"
}
trap 'apiserver_cleanup; cleanup_netns' EXIT

# The server writes "serving on http://ADDR:PORT, ..." once it listens.
apiserver_wait() {
	wait_for 30 grep -q "serving on" "$API_DIR/apiserver.log" ||
		{ cat "$API_DIR/apiserver.log"; fail "apiserver did not start"; }
	API=$(sed -n 's/.*serving on \(http:[^,]*\),.*/\1/p' "$API_DIR/apiserver.log" | tail -n 1)
}

apiserver_run() {
	: > "$API_DIR/apiserver.log"
	# Started from a subshell: a case (itself a subshell) may restart it,
	# and the file's exit trap still finds it by its pid file.
	(skiff-apiserver --listen "127.0.0.1:${API_PORT:-0}" \
		--store "sqlite:$API_DIR/store" "${API_ARGS[@]}" \
		> "$API_DIR/apiserver.log" 2>&1 &
	 echo $! > "$API_DIR/pid")
	apiserver_wait
	API_PORT=${API##*:}
}

apiserver_start() {
	API_ARGS=("$@")
	apiserver_run
	cat > "$KUBECONFIG" <<-EOF2
	apiVersion: v1
	kind: Config
	clusters:
	- name: test
	  cluster:
	    server: $API
	contexts:
	- name: test
	  context:
	    cluster: test
	    user: test
	    namespace: default
	current-context: test
	users:
	- name: test
	  user: {}
	EOF2
}

# Gone, or a zombie nobody reaps yet (its files and port are released).
apiserver_gone() {
	! grep -qs '^State:[[:space:]]*[^Z]' "/proc/$1/status"
}

apiserver_restart() {
	local pid

	pid=$(cat "$API_DIR/pid")
	if [ "${1:-}" = --kill ]; then
		kill -9 "$pid"
	else
		kill "$pid"
	fi
	wait_for 30 apiserver_gone "$pid" || fail "apiserver $pid does not stop"
	apiserver_run
}

# api METHOD PATH [BODY [CONTENT_TYPE]]: sets CODE (HTTP status) and OUT.
# A BODY of @FILE sends the file.
api() {
	local method=$1 path=$2 body=${3-} type=${4:-application/json}
	local args=(-sS -X "$method" -H "Content-Type: $type" -w '\n%{http_code}')

	[ -z "$body" ] || args+=(--data-binary "$body")
	OUT=$(curl "${args[@]}" "$API$path") || return 1
	CODE=${OUT##*$'\n'}
	OUT=${OUT%$'\n'*}
}

# api_ok METHOD PATH [BODY [TYPE]] WANT_CODE: api, and fails unless CODE is it.
api_expect() {
	local want=$1

	shift
	api "$@"
	[ "$CODE" = "$want" ] || fail "$1 $2: HTTP $CODE, want $want: $OUT"
}

# jget JQ: a field of OUT
jget() {
	jq -r "$1" <<< "$OUT"
}

# kubectl, with a discovery cache of its own (the cache outlives servers).
k() {
	"${KUBECTL:-kubectl}" --cache-dir "$API_DIR/kube-cache" "$@"
}
