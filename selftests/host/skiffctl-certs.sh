#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# skiffctl's command line and `skiffctl certs`, checked by an independent
# implementation: OpenSSL verifies the chain and reads every field, and
# proves the certificates in real TLS handshakes (s_server/s_client, server
# name and client certificates), and kubectl uses the kubeconfigs it
# writes. Every refusal exits 1 with a clear message and leaves the PKI
# directory as it was.

source "$(dirname "$0")/../lib.sh"

WORK=$(mktemp -d /tmp/skiffctl-certs-test.XXXXXX)
trap 'cleanup_netns; rm -rf "$WORK"' EXIT

# run VAR_OUT VAR_ERR VAR_RC ARGS...: runs skiffctl, keeping stdout, stderr
# and status apart.
run() {
	local -n __out=$1 __err=$2 __rc=$3

	shift 3
	__rc=0
	__out=$(skiffctl "$@" 2> "$WORK/stderr") || __rc=$?
	__err=$(< "$WORK/stderr")
}

# A directory of its own per case, with a CA unless told "empty".
pki() {
	local dir

	dir=$(mktemp -d "$WORK/pki.XXXXXX")
	[ "${1:-}" = empty ] || skiffctl certs init --dir "$dir" > /dev/null
	echo "$dir"
}

# What a directory holds: names (hidden ones too), inodes, modes, sizes and
# times to the nanosecond; a file written anew or in place changes them.
snapshot() {
	ls -Ali --full-time "$1"
}

# refused DIR MESSAGE_REGEX ARGS...: skiffctl ARGS fails with status 1, says
# MESSAGE on stderr, prints nothing on stdout and changes nothing in DIR.
refused() {
	local dir=$1 msg=$2 before out err rc

	shift 2
	before=$(snapshot "$dir")
	run out err rc "$@"
	check_eq "$rc" 1 "status of skiffctl $*"
	check_eq "$out" "" "stdout of skiffctl $*"
	check_match "$err" "$msg" "message of skiffctl $*"
	check_eq "$(snapshot "$dir")" "$before" "$dir after skiffctl $*"
}

# text FILE: openssl's reading of a certificate.
text() {
	openssl x509 -noout -text -in "$1"
}

test_help_and_version() {
	local out err rc

	run out err rc help
	check_eq "$rc" 0 "help status"
	check_match "$out" "^Usage: skiffctl \[--kubeconfig FILE\] COMMAND" "usage line"
	check_match "$out" "^  certs init\|issue\|show\|verify" "certs listed"
	check_match "$out" "^  version " "version listed"
	run out err rc --help
	check_eq "$rc" 0 "--help status"
	run out err rc certs help
	check_eq "$rc" 0 "certs help status"
	check_match "$out" "^  node NAME +node-NAME.crt: CN system:node:NAME, O system:nodes" \
		"profiles listed"
	run out err rc help certs
	check_eq "$rc" 0 "help certs status"
	check_match "$out" "^Usage: skiffctl certs init" "help certs is certs' help"
	run out err rc version
	check_eq "$rc" 0 "version status"
	check_eq "$out" "skiffctl $(cat "$SKIFF_TOP/VERSION")" "version"
	run out err rc --kubeconfig /nonexistent version
	check_eq "$rc" 0 "--kubeconfig before a command that does not need it"
	run out err rc --kubeconfig=/nonexistent version
	check_eq "$rc" 0 "--kubeconfig=FILE"
}

test_usage_errors() {
	local dir out err rc

	dir=$(pki empty)
	run out err rc
	check_eq "$rc" 1 "no command: status"
	check_match "$err" "^skiffctl: no command given" "no command: message"
	check_match "$err" "^Usage: skiffctl" "no command: usage on stderr"
	refused "$dir" "^skiffctl: unknown command 'frobnicate'" frobnicate
	refused "$dir" "^skiffctl: unknown option '--frobnicate'" --frobnicate version
	refused "$dir" "^skiffctl: option '--kubeconfig' needs a value" --kubeconfig
	refused "$dir" "^skiffctl: version: unexpected argument 'x'" version x
	refused "$dir" "^skiffctl: help: unknown command 'nope'" help nope
	refused "$dir" "^skiffctl: certs: init, issue, show, verify or kubeconfig\?" certs
	refused "$dir" "^skiffctl: certs: unknown command 'sign'" certs sign
	refused "$dir" "^skiffctl: certs init: unknown option '--frob'" \
		certs init --dir "$dir" --frob
	refused "$dir" "^skiffctl: certs init: option '--dir' needs a value" certs init --dir
	refused "$dir" "^skiffctl: certs init: unexpected argument 'extra'" \
		certs init --dir "$dir" extra
	refused "$dir" "^skiffctl: certs init: unknown option '--san'" \
		certs init --dir "$dir" --san x
	refused "$dir" "^skiffctl: certs show: FILE missing" certs show
	refused "$dir" "^skiffctl: certs show: -o 'yaml': text or json" certs show -o yaml x
	refused "$dir" "^skiffctl: certs verify: --usage 'peer': server or client" \
		certs verify --usage peer x
	check_eq "$(ls -A "$dir")" "" "nothing written"
}

test_init_makes_a_ca() {
	local dir out err rc txt year start

	dir=$(mktemp -d "$WORK/pki.XXXXXX")/new/pki
	run out err rc certs init --dir "$dir"
	check_eq "$rc" 0 "init status: $err"
	check_match "$out" "^wrote $dir/ca.crt and $dir/ca.key: CN skiff-ca, valid until " "said"
	check_eq "$(stat -c %a "$dir/ca.key")" 600 "ca.key mode"
	check_eq "$(stat -c %a "$dir/ca.crt")" 644 "ca.crt mode"
	check_eq "$(stat -c %a "$dir")" 755 "directory made, mode"
	check_match "$(head -n 1 "$dir/ca.key")" "^-----BEGIN EC PRIVATE KEY-----$" "key PEM"
	openssl ec -in "$dir/ca.key" -noout -check 2>&1 | grep -q "EC Key valid" ||
		fail "openssl: the key is not valid"
	txt=$(text "$dir/ca.crt")
	check_match "$txt" "Subject: CN ?= ?skiff-ca$" "subject"
	check_match "$txt" "Issuer: CN ?= ?skiff-ca$" "self-signed"
	check_match "$txt" "ASN1 OID: prime256v1" "ECDSA P-256"
	check_match "$txt" "Signature Algorithm: ecdsa-with-SHA256" "signed with SHA-256"
	grep -A1 "Basic Constraints: critical" <<< "$txt" | grep -q "CA:TRUE" ||
		fail "basicConstraints CA:TRUE critical: $txt"
	grep -A1 "Key Usage: critical" <<< "$txt" |
		grep -q "Digital Signature, Certificate Sign, CRL Sign" ||
		fail "keyUsage: $txt"
	check_match "$txt" "Subject Key Identifier" "subject key id"
	year=$(openssl x509 -noout -enddate -in "$dir/ca.crt" | awk '{ print $4 }')
	check_eq "$year" "$(($(date -u +%Y) + 10))" "valid ten years"
	# Backdated five minutes for clock skew, as cfssl.
	start=$(date -u -d "$(openssl x509 -noout -startdate -in "$dir/ca.crt" | cut -d= -f2)" +%s)
	[ $(($(date +%s) - start)) -ge 290 ] && [ $(($(date +%s) - start)) -le 400 ] ||
		fail "notBefore $start is not five minutes ago"
	openssl verify -CAfile "$dir/ca.crt" "$dir/ca.crt" > /dev/null || fail "CA does not verify"

	dir=$(pki empty)
	run out err rc certs init --dir "$dir" --cn "Example Cluster CA" --days 30
	check_eq "$rc" 0 "init --cn --days: $err"
	check_match "$(text "$dir/ca.crt")" "Subject: CN ?= ?Example Cluster CA$" "--cn"
	openssl x509 -noout -checkend $((29 * 86400)) -in "$dir/ca.crt" > /dev/null ||
		fail "--days 30 ends before 29 days"
	! openssl x509 -noout -checkend $((31 * 86400)) -in "$dir/ca.crt" > /dev/null ||
		fail "--days 30 ends after 31 days"
	# What it signs ends with it, and the user is told.
	run out err rc certs issue --dir "$dir" admin
	check_eq "$rc" 0 "issue under a short CA: $err"
	check_match "$err" "note: valid only until the CA's own end, not 365 days" "note"
	check_eq "$(openssl x509 -noout -enddate -in "$dir/admin.crt")" \
		"$(openssl x509 -noout -enddate -in "$dir/ca.crt")" "ends with the CA"
}

test_init_refuses_to_replace_a_ca() {
	local dir out err rc old

	dir=$(pki)
	refused "$dir" "$dir/ca.crt exists: a new CA would leave every certificate .* untrusted; use --force" \
		certs init --dir "$dir"
	rm "$dir/ca.crt"
	refused "$dir" "$dir/ca.key exists: .*use --force" certs init --dir "$dir"
	dir=$(pki)
	old=$(openssl x509 -noout -fingerprint -sha256 -in "$dir/ca.crt")
	run out err rc certs init --dir "$dir" --force
	check_eq "$rc" 0 "--force: $err"
	[ "$(openssl x509 -noout -fingerprint -sha256 -in "$dir/ca.crt")" != "$old" ] ||
		fail "--force kept the old CA"
	check_eq "$(stat -c %a "$dir/ca.key")" 600 "replaced key mode"
	check_eq "$(ls -A "$dir" | sort | tr '\n' ' ')" "ca.crt ca.key " "no temporary file left"
}

test_init_refusals() {
	local dir

	dir=$(pki empty)
	refused "$dir" "certs init: --days '0': a number of days, 1..36500" \
		certs init --dir "$dir" --days 0
	refused "$dir" "certs init: --days '36501': a number of days, 1..36500" \
		certs init --dir "$dir" --days 36501
	refused "$dir" "certs init: --days 'ten': a number of days" certs init --dir "$dir" --days ten
	refused "$dir" "certs init: CA name is empty" certs init --dir "$dir" --cn ""
	check_eq "$(ls -A "$dir")" "" "nothing written"
	touch "$dir/file"
	refused "$dir" "certs init: cannot make $dir/file/pki: Not a directory" \
		certs init --dir "$dir/file/pki"
}

# issue_all DIR: one certificate of each profile.
issue_all() {
	skiffctl certs issue --dir "$1" apiserver --san 192.168.50.10 --san fd00::10 \
		--san api.example.com > /dev/null &&
	skiffctl certs issue --dir "$1" node n1 --san 10.0.0.11 --san fd00::11 > /dev/null &&
	skiffctl certs issue --dir "$1" scheduler > /dev/null &&
	skiffctl certs issue --dir "$1" controller-manager > /dev/null &&
	skiffctl certs issue --dir "$1" admin > /dev/null &&
	skiffctl certs issue --dir "$1" user jane --org dev --org ops > /dev/null
}

# sans FILE: the SANs as openssl prints them, one line.
sans() {
	openssl x509 -noout -ext subjectAltName -in "$1" | tail -n +2 | sed 's/^ *//'
}

# eku FILE: the extended key usages as openssl prints them.
eku() {
	openssl x509 -noout -ext extendedKeyUsage -in "$1" | tail -n +2 | sed 's/^ *//'
}

test_issue_every_profile() {
	local dir f out txt ca_ski host

	dir=$(pki)
	issue_all "$dir" || fail "issue failed"
	check_eq "$(ls "$dir" | tr '\n' ' ')" \
		"admin.crt admin.key apiserver.crt apiserver.key ca.crt ca.key controller-manager.crt controller-manager.key node-n1.crt node-n1.key scheduler.crt scheduler.key user-jane.crt user-jane.key " \
		"files"
	out=$(openssl verify -CAfile "$dir/ca.crt" "$dir"/*.crt) || fail "openssl verify: $out"
	ca_ski=$(openssl x509 -noout -ext subjectKeyIdentifier -in "$dir/ca.crt" | tail -n 1 |
		 tr -d ' ')
	for f in "$dir"/*.key; do
		check_eq "$(stat -c %a "$f")" 600 "$f mode"
		check_match "$(head -n 1 "$f")" "BEGIN EC PRIVATE KEY" "$f is an EC key"
		# The key is the certificate's: the same public key.
		check_eq "$(openssl pkey -in "$f" -pubout)" \
			"$(openssl x509 -noout -pubkey -in "${f%.key}.crt")" "${f%.key} pair"
	done
	for f in "$dir"/*.crt; do
		[ "$f" != "$dir/ca.crt" ] || continue
		check_eq "$(stat -c %a "$f")" 644 "$f mode"
		txt=$(text "$f")
		check_match "$txt" "Issuer: CN ?= ?skiff-ca$" "$f issuer"
		check_match "$txt" "ASN1 OID: prime256v1" "$f ECDSA P-256"
		grep -A1 "Basic Constraints: critical" <<< "$txt" | grep -q "CA:FALSE" ||
			fail "$f: CA:FALSE critical"
		grep -A1 "Key Usage: critical" <<< "$txt" |
			grep -q "Digital Signature, Key Encipherment" || fail "$f keyUsage"
		grep -A1 "Authority Key Identifier" <<< "$txt" | tail -n 1 | tr -d ' ' |
			grep -q "$ca_ski" || fail "$f: authority key id is not the CA's $ca_ski"
		openssl x509 -noout -checkend $((364 * 86400)) -in "$f" > /dev/null &&
			! openssl x509 -noout -checkend $((366 * 86400)) -in "$f" > /dev/null ||
			fail "$f is not valid one year"
	done

	host=$(hostname | tr '[:upper:]' '[:lower:]')
	check_match "$(openssl x509 -noout -subject -in "$dir/apiserver.crt")" \
		"^subject=CN ?= ?kube-apiserver$" "apiserver subject"
	check_eq "$(sans "$dir/apiserver.crt")" \
		"DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local, IP Address:127.0.0.1, IP Address:10.96.0.1, DNS:$host, IP Address:192.168.50.10, IP Address:FD00:0:0:0:0:0:0:10, DNS:api.example.com" \
		"apiserver SANs"
	check_eq "$(eku "$dir/apiserver.crt")" \
		"TLS Web Server Authentication, TLS Web Client Authentication" "apiserver usages"
	check_match "$(openssl x509 -noout -subject -in "$dir/node-n1.crt")" \
		"^subject=O ?= ?system:nodes, ?CN ?= ?system:node:n1$" "node subject"
	check_eq "$(sans "$dir/node-n1.crt")" \
		"DNS:n1, IP Address:10.0.0.11, IP Address:FD00:0:0:0:0:0:0:11" "node SANs"
	check_eq "$(eku "$dir/node-n1.crt")" \
		"TLS Web Server Authentication, TLS Web Client Authentication" "node usages"
	check_match "$(openssl x509 -noout -subject -in "$dir/scheduler.crt")" \
		"^subject=CN ?= ?system:kube-scheduler$" "scheduler subject"
	check_match "$(openssl x509 -noout -subject -in "$dir/controller-manager.crt")" \
		"^subject=CN ?= ?system:kube-controller-manager$" "controller-manager subject"
	check_match "$(openssl x509 -noout -subject -in "$dir/admin.crt")" \
		"^subject=O ?= ?system:masters, ?CN ?= ?kubernetes-admin$" "admin subject"
	check_match "$(openssl x509 -noout -subject -in "$dir/user-jane.crt")" \
		"^subject=O ?= ?dev, ?O ?= ?ops, ?CN ?= ?jane$" "user subject"
	for f in scheduler controller-manager admin user-jane; do
		check_eq "$(eku "$dir/$f.crt")" "TLS Web Client Authentication" "$f usages"
		check_eq "$(sans "$dir/$f.crt")" "" "$f has no SANs"
	done
}

test_service_cidr_and_days() {
	local dir out err rc

	dir=$(pki)
	run out err rc certs issue --dir "$dir" apiserver --service-cidr 10.100.0.0/16,fd00:10:96::/108 \
		--days 30
	check_eq "$rc" 0 "issue: $err"
	check_match "$(sans "$dir/apiserver.crt")" "IP Address:10.100.0.1, IP Address:FD00:10:96:0:0:0:0:1" \
		"first address of each Service CIDR"
	! grep -q "10.96.0.1" <<< "$(sans "$dir/apiserver.crt")" || fail "default CIDR still there"
	openssl x509 -noout -checkend $((29 * 86400)) -in "$dir/apiserver.crt" > /dev/null &&
		! openssl x509 -noout -checkend $((31 * 86400)) -in "$dir/apiserver.crt" > /dev/null ||
		fail "--days 30"
}

# show and openssl agree on every field.
test_show_agrees_with_openssl() {
	local dir json out err rc serial fp end

	dir=$(pki)
	issue_all "$dir" || fail "issue failed"
	run json err rc certs show -o json "$dir/node-n1.crt"
	check_eq "$rc" 0 "show -o json: $err"
	check_eq "$(jq -r .user <<< "$json")" system:node:n1 "user"
	check_eq "$(jq -c .groups <<< "$json")" '["system:nodes"]' "groups"
	check_eq "$(jq -c .sans <<< "$json")" '["n1","10.0.0.11","fd00::11"]' "sans"
	check_eq "$(jq -c .usages <<< "$json")" \
		'["digital signature","key encipherment","server auth","client auth"]' "usages"
	check_eq "$(jq -r .issuer.common_name <<< "$json")" skiff-ca "issuer"
	check_eq "$(jq -r .is_ca <<< "$json")" false "is_ca"
	check_eq "$(jq -r .key_algorithm <<< "$json")" "ECDSA P-256" "key"
	serial=$(openssl x509 -noout -serial -in "$dir/node-n1.crt" | cut -d= -f2)
	check_eq "$(jq -r .serial_number <<< "$json")" "$serial" "serial as openssl"
	fp=$(openssl x509 -noout -fingerprint -sha256 -in "$dir/node-n1.crt" | cut -d= -f2)
	check_eq "$(jq -r .sha256_fingerprint <<< "$json")" "$fp" "fingerprint as openssl"
	end=$(openssl x509 -noout -enddate -in "$dir/node-n1.crt" | cut -d= -f2)
	check_eq "$(jq -r .not_after <<< "$json")" "$(date -u -d "$end" +%Y-%m-%dT%H:%M:%SZ)" \
		"not_after as openssl"

	run out err rc certs show "$dir/admin.crt"
	check_eq "$rc" 0 "show: $err"
	check_match "$out" "^User: +kubernetes-admin$" "text user"
	check_match "$out" "^Groups: +system:masters$" "text groups"
	check_match "$out" "^SANs: +\(none\)$" "text SANs"
	check_match "$out" "^Usages: +digital signature, key encipherment, client auth$" "text usages"
	check_match "$out" "^Not after: .* \(36[45] days left\)$" "text validity"
	check_match "$out" "^Issuer: +CN=skiff-ca$" "text issuer"
	run out err rc certs show --kubeconfig /nonexistent "$dir/admin.crt"
	check_eq "$rc" 0 "--kubeconfig after the command: $err"
	run out err rc certs show "$dir/ca.crt"
	check_match "$out" "^CA: +yes$" "CA shown as one"
	check_match "$out" "^Usages: +digital signature, cert sign, crl sign$" "CA usages"

	refused "$dir" "certs show: $dir/admin.key: not a PEM certificate" certs show "$dir/admin.key"
	refused "$dir" "certs show: $dir/nope.crt: no such file" certs show "$dir/nope.crt"
}

# s_server with the apiserver's certificate, asking for a client's; the
# port is the kernel's pick, read from what s_server prints.
tls_server() {
	local dir=$1 log=$WORK/s_server.log

	: > "$log"
	openssl s_server -accept 127.0.0.1:0 -cert "$dir/apiserver.crt" -key "$dir/apiserver.key" \
		-CAfile "$dir/ca.crt" -Verify 1 -verify_return_error -www < /dev/null > "$log" 2>&1 &
	SKIFF_PIDS+=($!)
	wait_for 10 grep -q "^ACCEPT" "$log" || { cat "$log"; fail "s_server did not start"; }
	PORT=$(sed -n 's/^ACCEPT 127.0.0.1:\([0-9]*\)$/\1/p' "$log")
}

# tls_client DIR NAME CERT: a request as CERT to the server known as NAME
# (a host name or an address); prints s_client's report.
tls_client() {
	local check=-verify_hostname

	[[ ! $2 =~ ^[0-9.]+$|: ]] || check=-verify_ip
	printf 'GET / HTTP/1.0\r\n\r\n' |
		timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$1/ca.crt" \
			-verify_return_error "$check" "$2" \
			-cert "$1/$3.crt" -key "$1/$3.key" -ign_eof 2>&1
}

test_tls_handshake() {
	local dir other out

	dir=$(pki)
	issue_all "$dir" || fail "issue failed"
	tls_server "$dir"
	out=$(tls_client "$dir" kubernetes.default.svc admin) || fail "handshake failed: $out"
	check_match "$out" "Verification: OK" "server verified"
	check_match "$out" "Verified peername: kubernetes.default.svc" "by name"
	check_match "$out" "Peer signature type: ECDSA" "ECDSA"
	# s_server logs the client certificate it verified.
	grep -A1 "depth=0 O = system:masters, CN = kubernetes-admin" "$WORK/s_server.log" |
		grep -q "verify return:1" || fail "server did not verify the admin: $(cat "$WORK/s_server.log")"
	out=$(tls_client "$dir" 10.96.0.1 node-n1) || fail "by ClusterIP: $out"
	check_match "$out" "Verification: OK" "by the Service address"
	out=$(tls_client "$dir" 10.96.0.2 node-n1) && fail "another address passed: $out"
	check_match "$out" "IP address mismatch" "another address is refused"

	out=$(tls_client "$dir" evil.example.com admin) && fail "a wrong name passed: $out"
	check_match "$out" "hostname mismatch" "a wrong name is refused"

	# A client certificate from another CA is refused by the server.
	other=$(pki)
	skiffctl certs issue --dir "$other" admin > /dev/null
	cp "$dir/ca.crt" "$other/ca.crt"
	out=$(tls_client "$other" kubernetes.default.svc admin) && fail "foreign client passed: $out"
	check_match "$out" "alert unknown ca" "the server refused the foreign client"
}

# kubectl reads the kubeconfig, trusts the CA and presents the certificate.
test_kubeconfig() {
	local dir other conf out err rc

	dir=$(pki)
	issue_all "$dir" || fail "issue failed"
	tls_server "$dir"
	conf=$WORK/admin.conf
	run out err rc certs kubeconfig --dir "$dir" admin --server "https://127.0.0.1:$PORT" \
		--out "$conf"
	check_eq "$rc" 0 "kubeconfig: $err"
	check_eq "$(stat -c %a "$conf")" 600 "mode"
	out=$(kubectl --kubeconfig "$conf" config view -o json)
	check_eq "$(jq -r '."current-context"' <<< "$out")" "kubernetes-admin@skiff" "context"
	check_eq "$(jq -r '.users[0].name' <<< "$out")" kubernetes-admin "user"
	check_eq "$(jq -r '.clusters[0].cluster.server' <<< "$out")" "https://127.0.0.1:$PORT" \
		"server"
	check_eq "$(jq -r '.clusters[0].cluster."certificate-authority"' <<< "$out")" \
		"$dir/ca.crt" "CA by path"
	out=$(timeout 20 kubectl --kubeconfig "$conf" --cache-dir "$WORK/kube-cache" \
		get --raw / 2>&1 < /dev/null) || fail "kubectl: $out"
	check_match "$out" "<HTML>" "kubectl got s_server's page"
	grep -A1 "depth=0 O = system:masters, CN = kubernetes-admin" "$WORK/s_server.log" |
		grep -q "verify return:1" || fail "s_server did not see the admin"

	# Embedded: the same bytes, and it works alone.
	run out err rc certs kubeconfig --dir "$dir" node-n1 --server "https://127.0.0.1:$PORT" \
		--out "$conf" --embed-certs
	check_eq "$rc" 0 "replaced without --force: $err"
	out=$(kubectl --kubeconfig "$conf" config view --raw -o json)
	check_eq "$(jq -r '.users[0].user."client-key-data"' <<< "$out" | base64 -d | sha256sum)" \
		"$(sha256sum < "$dir/node-n1.key")" "key embedded"
	check_eq "$(jq -r '.clusters[0].cluster."certificate-authority-data"' <<< "$out" |
		    base64 -d | sha256sum)" "$(sha256sum < "$dir/ca.crt")" "CA embedded"
	mv "$dir" "$dir.moved"
	out=$(timeout 20 kubectl --kubeconfig "$conf" --cache-dir "$WORK/kube-cache" \
		get --raw / 2>&1 < /dev/null) || fail "kubectl with embedded certs: $out"
	mv "$dir.moved" "$dir"
	grep -A1 "depth=0 O = system:nodes, CN = system:node:n1" "$WORK/s_server.log" |
		grep -q "verify return:1" || fail "s_server did not see the node"

	run out err rc certs kubeconfig --dir "$dir" scheduler --server https://10.0.0.1:6443
	check_eq "$rc" 0 "to stdout: $err"
	check_match "$out" "^current-context: \"system:kube-scheduler@skiff\"$" "stdout"

	other=$(pki)
	skiffctl certs issue --dir "$other" admin > /dev/null
	cp "$other/admin.crt" "$dir/stranger.crt"
	cp "$other/admin.key" "$dir/stranger.key"
	refused "$dir" "certs kubeconfig: --server URL missing" certs kubeconfig --dir "$dir" admin
	refused "$dir" "--server 'http://127.0.0.1:8080': an https:// URL" \
		certs kubeconfig --dir "$dir" admin --server http://127.0.0.1:8080
	refused "$dir" "certs kubeconfig: NAME missing" certs kubeconfig --dir "$dir" --server https://x
	refused "$dir" "$dir/nobody.crt: no such file" \
		certs kubeconfig --dir "$dir" nobody --server https://x --out "$WORK/nobody.conf"
	refused "$dir" "$dir/ca.crt is no client certificate" \
		certs kubeconfig --dir "$dir" ca --server https://x --out "$WORK/nobody.conf"
	refused "$dir" "stranger.crt is signed by another CA" \
		certs kubeconfig --dir "$dir" stranger --server https://x --out "$WORK/nobody.conf"
	refused "$dir" "NAME '../admin': a file name of the PKI directory" \
		certs kubeconfig --dir "$dir" ../admin --server https://x --out "$WORK/nobody.conf"
	[ ! -e "$WORK/nobody.conf" ] || fail "a refused kubeconfig was written"
}

test_issue_refusals() {
	local dir empty

	empty=$(pki empty)
	refused "$empty" "certs issue: $empty/ca.crt: no such file: run 'skiffctl certs init --dir $empty' first" \
		certs issue --dir "$empty" admin
	touch "$empty/ca.crt"
	refused "$empty" "certs issue: $empty/ca.key: no such file: run 'skiffctl certs init" \
		certs issue --dir "$empty" admin

	dir=$(pki)
	skiffctl certs issue --dir "$dir" node n1 > /dev/null
	refused "$dir" "certs issue: $dir/node-n1.crt exists: use --force to reissue it" \
		certs issue --dir "$dir" node n1
	refused "$dir" "unknown profile 'kubelet' \(profiles: apiserver, node NAME, scheduler, controller-manager, admin, user NAME, etcd-server, apiserver-etcd-client\)" \
		certs issue --dir "$dir" kubelet
	refused "$dir" "certs issue: PROFILE missing" certs issue --dir "$dir"
	refused "$dir" "node: NAME missing" certs issue --dir "$dir" node
	refused "$dir" "node name 'Node_1': not a DNS-1123 subdomain" certs issue --dir "$dir" node Node_1
	refused "$dir" "node name 'n1.': not a DNS-1123 subdomain" certs issue --dir "$dir" node n1.
	refused "$dir" "admin takes no NAME \(got 'x'\)" certs issue --dir "$dir" admin x
	refused "$dir" "certs issue: unexpected argument 'extra'" certs issue --dir "$dir" node n2 extra
	refused "$dir" "SAN 'bad_name': neither an IP address nor a DNS name" \
		certs issue --dir "$dir" node n2 --san bad_name
	refused "$dir" "SAN '10.0.0.256': not a valid IP address" \
		certs issue --dir "$dir" node n2 --san 10.0.0.256
	refused "$dir" "SAN 'fd00::zz': not a valid IP address" \
		certs issue --dir "$dir" apiserver --san fd00::zz
	refused "$dir" "SAN 'Upper.Example': neither" certs issue --dir "$dir" apiserver --san Upper.Example
	refused "$dir" "--san is for apiserver and node" certs issue --dir "$dir" admin --san a.example
	refused "$dir" "--org is for user certificates" certs issue --dir "$dir" node n2 --org x
	refused "$dir" "user name 'a/b': no '/'" certs issue --dir "$dir" user a/b
	refused "$dir" "--days '0': a number of days, 1..36500" certs issue --dir "$dir" admin --days 0
	refused "$dir" "--days '36501'" certs issue --dir "$dir" admin --days 36501
	refused "$dir" "--days '-1'" certs issue --dir "$dir" admin --days -1
	refused "$dir" "service CIDR '10.96.0.0/33'" certs issue --dir "$dir" apiserver \
		--service-cidr 10.96.0.0/33
	refused "$dir" "--service-cidr is for the apiserver only" certs issue --dir "$dir" admin \
		--service-cidr 10.96.0.0/12
	refused "$dir" "certs issue: unknown option '--cn'" certs issue --dir "$dir" admin --cn x
	refused "$dir" "certs issue: option '--san' needs a value" certs issue --dir "$dir" node n2 --san
}

test_reissue_with_force() {
	local dir out err rc old

	dir=$(pki)
	skiffctl certs issue --dir "$dir" node n1 > /dev/null
	old=$(openssl x509 -noout -fingerprint -sha256 -in "$dir/node-n1.crt")
	run out err rc certs issue --dir "$dir" node n1 --san 10.0.0.12 --force
	check_eq "$rc" 0 "--force: $err"
	[ "$(openssl x509 -noout -fingerprint -sha256 -in "$dir/node-n1.crt")" != "$old" ] ||
		fail "not reissued"
	check_eq "$(sans "$dir/node-n1.crt")" "DNS:n1, IP Address:10.0.0.12" "new SANs"
	openssl verify -CAfile "$dir/ca.crt" "$dir/node-n1.crt" > /dev/null || fail "verify"
	check_eq "$(openssl pkey -in "$dir/node-n1.key" -pubout)" \
		"$(openssl x509 -noout -pubkey -in "$dir/node-n1.crt")" "the new key with it"
	check_eq "$(ls -A "$dir" | tr '\n' ' ')" "ca.crt ca.key node-n1.crt node-n1.key " \
		"no temporary file left"
}

test_verify() {
	local dir other out err rc

	dir=$(pki)
	issue_all "$dir" || fail "issue failed"
	run out err rc certs verify --dir "$dir" "$dir/node-n1.crt"
	check_eq "$rc" 0 "verify: $err"
	check_match "$out" "^$dir/node-n1.crt: OK: signed by $dir/ca.crt, valid until .*, key $dir/node-n1.key matches$" \
		"verify says OK"
	run out err rc certs verify --dir "$dir" --usage server "$dir/apiserver.crt"
	check_eq "$rc" 0 "--usage server: $err"
	run out err rc certs verify --dir "$dir" --usage client "$dir/admin.crt"
	check_eq "$rc" 0 "--usage client: $err"
	refused "$dir" "certs verify: $dir/admin.crt is not for server authentication \(its extended key usages: client auth\)" \
		certs verify --dir "$dir" --usage server "$dir/admin.crt"

	# Another CA of the same name: openssl refuses too.
	other=$(pki)
	skiffctl certs issue --dir "$other" admin > /dev/null
	refused "$dir" "is signed by another CA named 'CN=skiff-ca', not by the one in $dir/ca.crt" \
		certs verify --dir "$dir" "$other/admin.crt"
	! openssl verify -CAfile "$dir/ca.crt" "$other/admin.crt" > /dev/null 2>&1 ||
		fail "openssl accepts the other CA's"

	# A node that renames itself: the same length, so the DER stays valid.
	openssl x509 -in "$dir/node-n1.crt" -outform DER |
		perl -pe 's/system:node:n1/system:node:n2/' |
		openssl x509 -inform DER -out "$WORK/forged.crt"
	check_match "$(openssl x509 -noout -subject -in "$WORK/forged.crt")" "system:node:n2" \
		"forged"
	refused "$dir" "$WORK/forged.crt: its signature does not verify: the certificate was altered" \
		certs verify --dir "$dir" "$WORK/forged.crt"
	! openssl verify -CAfile "$dir/ca.crt" "$WORK/forged.crt" > /dev/null 2>&1 ||
		fail "openssl accepts the forged one"

	# A key that is not the certificate's, next to it.
	cp "$dir/admin.crt" "$WORK/swapped.crt"
	cp "$dir/scheduler.key" "$WORK/swapped.key"
	refused "$dir" "$WORK/swapped.key is not the key of $WORK/swapped.crt: their public keys differ" \
		certs verify --dir "$dir" "$WORK/swapped.crt"
	refused "$dir" "certs verify: $WORK/none/ca.crt: no such file" \
		certs verify --dir "$WORK/none" "$dir/admin.crt"
}

run_tests test_help_and_version test_usage_errors test_init_makes_a_ca \
	test_init_refuses_to_replace_a_ca test_init_refusals test_issue_every_profile \
	test_service_cidr_and_days test_show_agrees_with_openssl test_tls_handshake test_kubeconfig \
	test_issue_refusals test_reissue_with_force test_verify
