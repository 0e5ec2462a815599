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
#
# With API_TLS=1 (set before apiserver_start; the node tests, whose
# apiserver is not on loopback, do) the server speaks HTTPS with the
# certificates of a cluster CA in $API_DIR/pki (api_pki makes them with
# skiffctl certs: the server's, admin, scheduler, controller-manager), api
# and kubectl authenticate as the admin, and api_kubeconfig NAME FILE
# writes a kubeconfig for the certificate NAME (a component, node-NAME).
#
# Several apiservers on one etcd (their store then, instead of a directory):
#
#	etcd_or_skip                 skips the file when etcd is not installed
#	etcd_start                   an etcd on free loopback ports; sets ETCD
#	                             (its client URL); servers started after
#	                             it use it. With ETCD_TLS=1 it serves
#	                             https, asks for client certificates of
#	                             $API_PKI's CA (etcd-server and
#	                             apiserver-etcd-client are made), and the
#	                             servers get --etcd-cafile/certfile/keyfile
#	apiserver_spawn VAR NAME [ARGS...]  one more server on the same store,
#	                             its URL in VAR, its log in NAME.log; with
#	                             API_TLS=1 on HTTPS with $API_PKI's
#	                             certificates, as apiserver_start. ARGS
#	                             come last, so that they may replace the
#	                             defaults (--listen 127.0.0.1:0): the last
#	                             of an option counts

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

API_DIR=$(mktemp -d /tmp/skiff-apiserver-test.XXXXXX)
API_ARGS=()
API_STORE=(--data-dir "$API_DIR/store")
export KUBECONFIG=$API_DIR/kubeconfig

# Every process a pid file in API_DIR names: the server, others, etcd.
# They are waited for, so that none still writes in what is removed.
apiserver_cleanup() {
	local file pids=()

	for file in "$API_DIR/pid" "$API_DIR"/*.pid; do
		[ -s "$file" ] && pids+=("$(cat "$file")")
	done
	for file in "${pids[@]}"; do
		kill "$file" 2>/dev/null || true
	done
	for file in "${pids[@]}"; do
		wait_for 10 apiserver_gone "$file" || kill -9 "$file" 2>/dev/null || true
	done
	rm -rf "$API_DIR"
}
trap 'apiserver_cleanup; cleanup_netns' EXIT

API_TLS=${API_TLS:-0}
API_PKI=$API_DIR/pki

# The cluster CA and the certificates the control plane needs, once per file.
api_pki() {
	[ -e "$API_PKI/ca.crt" ] && return 0
	skiffctl certs init --dir "$API_PKI" > /dev/null &&
	skiffctl certs issue --dir "$API_PKI" apiserver \
		--san "${API_LISTEN_ADDR:-127.0.0.1}" > /dev/null &&
	skiffctl certs issue --dir "$API_PKI" admin > /dev/null &&
	skiffctl certs issue --dir "$API_PKI" scheduler > /dev/null &&
	skiffctl certs issue --dir "$API_PKI" controller-manager > /dev/null
}

# api_kubeconfig CERT FILE: a kubeconfig of certificate CERT for $API.
api_kubeconfig() {
	skiffctl certs kubeconfig --dir "$API_PKI" "$1" --server "$API" --out "$2" > /dev/null
}

# api_tls_flags VAR: the server's TLS flags into array VAR (none without
# API_TLS=1), its certificates made first.
api_tls_flags() {
	local -n __flags=$1

	__flags=()
	api_client_tls
	[ "$API_TLS" = 1 ] || return 0
	api_pki || fail "cannot make the certificates"
	__flags=(--tls-cert-file "$API_PKI/apiserver.crt"
		 --tls-private-key-file "$API_PKI/apiserver.key"
		 --client-ca-file "$API_PKI/ca.crt"
		 --kubelet-client-certificate "$API_PKI/apiserver.crt"
		 --kubelet-client-key "$API_PKI/apiserver.key"
		 --kubelet-certificate-authority "$API_PKI/ca.crt")
}

# The server writes "serving on http(s)://ADDR:PORT, ..." once it listens.
apiserver_wait() {
	wait_for 30 grep -q "serving on" "$API_DIR/apiserver.log" ||
		{ cat "$API_DIR/apiserver.log"; fail "apiserver did not start"; }
	API=$(sed -n 's/.*serving on \(https\{0,1\}:[^,]*\),.*/\1/p' "$API_DIR/apiserver.log" |
		tail -n 1)
}

apiserver_run() {
	local tls

	: > "$API_DIR/apiserver.log"
	api_tls_flags tls
	# Started from a subshell: a case (itself a subshell) may restart it,
	# and the file's exit trap still finds it by its pid file.
	(skiff-apiserver --listen "${API_LISTEN_ADDR:-127.0.0.1}:${API_PORT:-0}" \
		"${API_STORE[@]}" "${tls[@]}" "${API_ARGS[@]}" \
		> "$API_DIR/apiserver.log" 2>&1 &
	 echo $! > "$API_DIR/pid")
	apiserver_wait
	API_PORT=${API##*:}
}

apiserver_start() {
	API_ARGS=("$@")
	apiserver_run
	if [ "$API_TLS" = 1 ]; then
		api_kubeconfig admin "$KUBECONFIG"
		return
	fi
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
	! grep -qs '^State:[[:space:]]*[^Z[:space:]]' "/proc/$1/status"
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

ETCD_TLS=${ETCD_TLS:-0}

# etcd_or_skip: a file that needs etcd, where it is not installed, reports
# its one case skipped and exits.
etcd_or_skip() {
	command -v etcd > /dev/null && return 0
	# shellcheck disable=SC2317 # run by run_tests
	test_etcd() {
		echo "etcd is not installed (Debian: etcd-server)"
		return "$ksft_skip"
	}
	run_tests test_etcd
	exit 0
}

# etcd_curl ARGS...: curl to etcd, as the apiserver's etcd client when
# ETCD_TLS=1.
etcd_curl() {
	if [ "$ETCD_TLS" = 1 ]; then
		curl --cacert "$API_PKI/ca.crt" --cert "$API_PKI/apiserver-etcd-client.crt" \
			--key "$API_PKI/apiserver-etcd-client.key" "$@"
	else
		curl "$@"
	fi
}

# Answers as etcd, and is ours: a port another process took leaves ours dead.
etcd_up() {
	kill -0 "$(cat "$API_DIR/etcd.pid")" 2>/dev/null &&
		etcd_curl -sf -X POST -d '{}' "$ETCD/v3/maintenance/status" > /dev/null
}

# The certificates of ETCD_TLS=1, and etcd's flags for them in array VAR.
etcd_tls_flags() {
	local -n __eflags=$1

	__eflags=()
	[ "$ETCD_TLS" = 1 ] || return 0
	api_pki && skiffctl certs issue --dir "$API_PKI" etcd-server > /dev/null &&
		skiffctl certs issue --dir "$API_PKI" apiserver-etcd-client > /dev/null ||
		fail "cannot make etcd's certificates"
	__eflags=(--cert-file "$API_PKI/etcd-server.crt" --key-file "$API_PKI/etcd-server.key"
		  --client-cert-auth --trusted-ca-file "$API_PKI/ca.crt")
}

etcd_gone() {
	apiserver_gone "$(cat "$API_DIR/etcd.pid")"
}

# Ports from outside the kernel's ephemeral range, tried until one is free.
etcd_start() {
	local _ client peer scheme=http tls

	etcd_tls_flags tls
	[ "$ETCD_TLS" = 1 ] && scheme=https
	for _ in 1 2 3 4 5; do
		client=$((20000 + RANDOM % 12000))
		peer=$((client + 1))
		ETCD=$scheme://127.0.0.1:$client
		rm -rf "$API_DIR/etcd"
		(etcd --name default --data-dir "$API_DIR/etcd" "${tls[@]}" \
			--listen-client-urls "$ETCD" --advertise-client-urls "$ETCD" \
			--listen-peer-urls "http://127.0.0.1:$peer" \
			--initial-advertise-peer-urls "http://127.0.0.1:$peer" \
			--initial-cluster "default=http://127.0.0.1:$peer" \
			> "$API_DIR/etcd.log" 2>&1 &
		 echo $! > "$API_DIR/etcd.pid")
		wait_for 30 eval 'etcd_up || etcd_gone'
		if etcd_up; then
			API_STORE=(--etcd-servers "$ETCD")
			[ "$ETCD_TLS" = 1 ] &&
				API_STORE+=(--etcd-cafile "$API_PKI/ca.crt"
					    --etcd-certfile "$API_PKI/apiserver-etcd-client.crt"
					    --etcd-keyfile "$API_PKI/apiserver-etcd-client.key")
			return 0
		fi
		kill "$(cat "$API_DIR/etcd.pid")" 2>/dev/null || true
		wait_for 10 etcd_gone
	done
	cat "$API_DIR/etcd.log"
	fail "etcd did not start"
}

apiserver_spawn() {
	local -n __url=$1
	local name=$2 log=$API_DIR/$2.log tls

	shift 2
	api_tls_flags tls
	(skiff-apiserver --listen 127.0.0.1:0 "${API_STORE[@]}" "${tls[@]}" "$@" > "$log" 2>&1 &
	 echo $! > "$API_DIR/$name.pid")
	wait_for 30 grep -qs "serving on" "$log" ||
		{ cat "$log"; fail "apiserver $name did not start"; }
	__url=$(sed -n 's/.*serving on \(https\{0,1\}:[^,]*\),.*/\1/p' "$log" | tail -n 1)
}

# acurl ARGS...: curl as the admin (with API_TLS=1: the test CA and the
# admin's certificate), for what api does not cover (streams, headers).
# In the background, where $! must be curl's own pid, write
# curl "${API_CURL_ARGS[@]}" ARGS... & instead. Set again by every
# apiserver start, for a case that turns API_TLS on itself.
api_client_tls() {
	API_CURL_ARGS=()
	if [ "$API_TLS" = 1 ]; then
		API_CURL_ARGS=(--cacert "$API_PKI/ca.crt" --cert "$API_PKI/admin.crt"
			       --key "$API_PKI/admin.key")
	fi
}
api_client_tls

acurl() {
	curl "${API_CURL_ARGS[@]}" "$@"
}

# api METHOD PATH [BODY [CONTENT_TYPE]]: sets CODE (HTTP status) and OUT.
# A BODY of @FILE sends the file.
api() {
	local method=$1 path=$2 body=${3-} type=${4:-application/json}
	local args=(-sS -X "$method" -H "Content-Type: $type" -w '\n%{http_code}'
		    "${API_CURL_ARGS[@]}")

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

# rollout_as_kubectl TYPE/NAME WHAT: skiffctl rollout status says what
# kubectl rollout status says of the same object, with the same exit
# status (neither waits: both with --watch=false).
rollout_as_kubectl() {
	local want got want_rc=0 got_rc=0

	want=$(k rollout status "$1" --watch=false 2>&1) || want_rc=$?
	got=$(skiffctl rollout status "$1" --watch=false 2>&1) || got_rc=$?
	check_eq "$got" "$want" "skiffctl rollout status $1: $2"
	check_eq "$got_rc" "$want_rc" "exit status of skiffctl rollout status $1: $2"
}

# run_kubectl_tests CASE...: runs each case twice, with kubectl 1.32
# (/usr/bin) and 1.20 (Debian's kubernetes-client, unpacked by
# scripts/install-deps.sh); a case sees KVER (132, 120) and KUBECTL.
KUBECTL_120=/var/cache/skiff/kubectl-1.20/usr/bin/kubectl

run_kubectl_tests() {
	local all=() kver c path

	for kver in 132 120; do
		path=kubectl
		[ "$kver" = 132 ] || path=$KUBECTL_120
		for c in "$@"; do
			eval "${c}_$kver() { KVER=$kver KUBECTL=$path $c; }"
			all+=("${c}_$kver")
		done
	done
	[ -x "$KUBECTL_120" ] || echo "# $KUBECTL_120 missing: run scripts/install-deps.sh"
	run_tests "${all[@]}"
}
