#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# skiff-apiserver's store in an etcd that serves https and admits only
# client certificates of the cluster CA (--client-cert-auth), as a real
# control plane runs it: the apiserver keeps its state there with
# --etcd-cafile, --etcd-certfile and --etcd-keyfile; without a certificate,
# with one of another CA, or checking etcd against another CA, it refuses
# to start and says why; TLS flags that make no sense are refused before
# anything is touched. Skipped when etcd is not installed.
#
#   kubectl ──https──▶ skiff-apiserver ──https + client cert──▶ etcd
#                                          (127.0.0.1:free port)
#   curl without a certificate ──────────────────────────────X

source "$(dirname "$0")/../lib-apiserver.sh"

etcd_or_skip

API_TLS=1
ETCD_TLS=1
OTHER=$API_DIR/other-pki
CM=/api/v1/namespaces/default/configmaps

# try_apiserver VAR_OUT VAR_RC ARGS...: a second apiserver with ARGS run to
# its exit (at most 20 s); one that starts serving is a failure.
try_apiserver() {
	local -n __out=$1 __rc=$2

	shift 2
	__rc=0
	__out=$(timeout 20 skiff-apiserver --listen 127.0.0.1:0 "$@" 2>&1) || __rc=$?
	[ "$__rc" != 124 ] || fail "skiff-apiserver $* kept running: $__out"
}

# How many keys etcd holds, asked as the apiserver's etcd client.
etcd_keys() {
	etcd_curl -sf -X POST -d '{"key":"AA==","range_end":"AA==","count_only":true}' \
		"$ETCD/v3/kv/range" | jq -r '.count // "0"'
}

test_state_kept_in_etcd_over_tls() {
	local before

	check_match "$ETCD" '^https://127\.0\.0\.1:[0-9]+$' "etcd's URL"
	before=$(etcd_keys)
	api_expect 201 POST "$CM" \
		'{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"over-tls"},"data":{"k":"v"}}'
	check_eq "$(etcd_keys)" "$((before + 1))" "keys in etcd after a create"
	check_eq "$(k get configmap over-tls -o jsonpath='{.data.k}')" v "read back"
	# What the apiserver wrote is in etcd, under Kubernetes' key.
	check_eq "$(etcd_curl -sf -X POST \
		-d "{\"key\":\"$(printf /registry/configmaps/default/over-tls | base64 -w0)\",\"count_only\":true}" \
		"$ETCD/v3/kv/range" | jq -r '.count')" 1 "the key in etcd"
}

test_etcd_refuses_clients_without_a_certificate() {
	! curl -sf --max-time 5 --cacert "$API_PKI/ca.crt" -X POST -d '{}' \
		"$ETCD/v3/maintenance/status" > /dev/null ||
		fail "etcd answered a client with no certificate"
	! curl -sf --max-time 5 -X POST -d '{}' "${ETCD/https/http}/v3/maintenance/status" \
		> /dev/null || fail "etcd answered plain http"
}

test_no_client_certificate_refused() {
	local out rc

	try_apiserver out rc --etcd-servers "$ETCD" --etcd-cafile "$API_PKI/ca.crt"
	check_eq "$rc" 1 "exit status"
	check_match "$out" "store etcd:$ETCD: cannot reach etcd .*; if etcd asks for client certificates, give --etcd-certfile and --etcd-keyfile" \
		"message"
	api_expect 200 GET "$CM/over-tls"
}

test_etcd_of_another_ca_refused() {
	local out rc

	skiffctl certs init --dir "$OTHER" --cn other-ca > /dev/null
	try_apiserver out rc --etcd-servers "$ETCD" --etcd-cafile "$OTHER/ca.crt" \
		--etcd-certfile "$API_PKI/apiserver-etcd-client.crt" \
		--etcd-keyfile "$API_PKI/apiserver-etcd-client.key"
	check_eq "$rc" 1 "exit status"
	check_match "$out" "TLS: etcd's certificate: .*" "message"
}

test_client_certificate_of_another_ca_refused() {
	local out rc

	[ -e "$OTHER/ca.crt" ] || skiffctl certs init --dir "$OTHER" --cn other-ca > /dev/null
	skiffctl certs issue --dir "$OTHER" apiserver-etcd-client > /dev/null
	try_apiserver out rc --etcd-servers "$ETCD" --etcd-cafile "$API_PKI/ca.crt" \
		--etcd-certfile "$OTHER/apiserver-etcd-client.crt" \
		--etcd-keyfile "$OTHER/apiserver-etcd-client.key"
	check_eq "$rc" 1 "exit status"
	check_match "$out" \
		"store etcd:$ETCD: cannot reach etcd .*; does etcd trust the client certificate's CA" \
		"message"
}

# refused WANT_RC PATTERN ARGS...: the apiserver exits with WANT_RC and a
# message matching PATTERN, before it touches etcd.
refused() {
	local want=$1 pattern=$2 out rc

	shift 2
	try_apiserver out rc "$@"
	check_eq "$rc" "$want" "exit status of $*"
	check_match "$out" "$pattern" "message of $*"
}

test_bad_tls_flags() {
	local ca=$API_PKI/ca.crt crt=$API_PKI/apiserver-etcd-client.crt
	local key=$API_PKI/apiserver-etcd-client.key before

	before=$(etcd_keys)
	refused 2 "need --etcd-servers" --data-dir "$API_DIR/store-x" --etcd-cafile "$ca"
	[ ! -e "$API_DIR/store-x" ] || fail "a store was made"
	refused 1 "needs its key" --etcd-servers "$ETCD" --etcd-certfile "$crt"
	refused 1 "needs its key" --etcd-servers "$ETCD" --etcd-keyfile "$key"
	refused 1 "TLS files given for http:// endpoints; use https://" \
		--etcd-servers "${ETCD/https/http}" --etcd-cafile "$ca"
	refused 1 "use one scheme for all" \
		--etcd-servers "$ETCD,${ETCD/https/http}" --etcd-cafile "$ca"
	refused 1 "CA file $API_DIR/nothing: No such file or directory" \
		--etcd-servers "$ETCD" --etcd-cafile "$API_DIR/nothing"
	refused 1 "key $API_DIR/nothing: No such file or directory" \
		--etcd-servers "$ETCD" --etcd-certfile "$crt" --etcd-keyfile "$API_DIR/nothing"
	echo "not a certificate" > "$API_DIR/junk.crt"
	refused 1 "TLS handshake: error reading X.509 key or certificate file" --etcd-servers "$ETCD" --etcd-cafile "$ca" \
		--etcd-certfile "$API_DIR/junk.crt" --etcd-keyfile "$key"
	refused 1 "want http://HOST:PORT or https://HOST:PORT" --etcd-servers "ftp://127.0.0.1:1"
	check_eq "$(etcd_keys)" "$before" "keys in etcd"
}

etcd_start || exit 1
apiserver_start
run_tests test_state_kept_in_etcd_over_tls \
	test_etcd_refuses_clients_without_a_certificate \
	test_no_client_certificate_refused \
	test_etcd_of_another_ca_refused \
	test_client_certificate_of_another_ca_refused \
	test_bad_tls_flags
