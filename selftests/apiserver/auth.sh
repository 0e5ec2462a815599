#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# skiff-apiserver's security as a client meets it: HTTPS (TLS 1.2+ only),
# who a request is (client certificates of the cluster CA, bearer tokens,
# anonymous) and what each identity may do (kube's Node,RBAC with the
# bootstrap roles and NodeRestriction): 401 and 403 Statuses in kube's
# words, kubectl with a certificate kubeconfig, the log proxy talking HTTPS
# to a kubelet, and every flag set-up the server refuses to start with.
#
#   curl / kubectl / openssl ──HTTPS──▶ skiff-apiserver ──HTTPS──▶ "kubelet"
#        (certs of $PKI, tokens)          (127.0.0.1)             (openssl s_server)

source "$(dirname "$0")/../lib-apiserver.sh"

PKI=$API_DIR/pki
OTHER=$API_DIR/other-pki
TOKENS=$API_DIR/tokens.csv
NS=/api/v1/namespaces/default
ADMIN_TOKEN=0123456789abcdef-admin
USER_TOKEN=0123456789abcdef-bob

# ---- certificates --------------------------------------------------------

# pki DIR init | pki DIR issue PROFILE [NAME] [--san X]... [--org G]...:
# the one place certificates are made, by skiffctl certs (kubeadm's file
# names: DIR/ca.crt, DIR/PROFILE.crt, DIR/node-NAME.crt, DIR/user-NAME.crt).
pki() {
	local dir=$1 cmd=$2

	shift 2
	skiffctl certs "$cmd" --dir "$dir" "$@" > /dev/null
}

# A certificate the cluster CA signed but that cannot authenticate a
# client: only serverAuth, or expired. openssl: skiffctl issues no such thing.
bad_cert() { # bad_cert NAME EKU DAYS
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$PKI/$1.key" -subj "/O=system:masters/CN=$1" 2> /dev/null |
		openssl x509 -req -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -days "$3" \
			-out "$PKI/$1.crt" -extfile <(echo "extendedKeyUsage=$2") 2> /dev/null
}

make_pki() {
	pki "$PKI" init
	pki "$PKI" issue apiserver --san 127.0.0.1
	pki "$PKI" issue admin
	pki "$PKI" issue scheduler
	pki "$PKI" issue controller-manager
	pki "$PKI" issue node a --san 127.0.0.1
	pki "$PKI" issue node b
	pki "$PKI" issue user alice --org developers
	pki "$PKI" issue user carol --org developers --org system:masters
	# A node without a name, and a node's name without the nodes group
	# (curl takes a colon in --cert for a passphrase: renamed).
	pki "$PKI" issue user system:node: --org system:nodes
	pki "$PKI" issue user system:node:a
	mv "$PKI/user-system:node:.crt" "$PKI/nameless-node.crt"
	mv "$PKI/user-system:node:.key" "$PKI/nameless-node.key"
	mv "$PKI/user-system:node:a.crt" "$PKI/groupless-node.crt"
	mv "$PKI/user-system:node:a.key" "$PKI/groupless-node.key"
	bad_cert server-only serverAuth 30
	bad_cert expired clientAuth -1
	pki "$OTHER" init
	pki "$OTHER" issue admin
	cat > "$TOKENS" <<-EOF2
	$ADMIN_TOKEN,token-admin,1000,"system:masters,ops"
	$USER_TOKEN,bob,1001
	EOF2
}

# ---- requests ------------------------------------------------------------

# call WHO METHOD PATH [BODY [TYPE]]: one request as WHO (a certificate of
# $PKI such as admin or node-a, other:NAME for $OTHER's, token:TOKEN, or
# none); sets CODE and OUT.
call() {
	local who=$1 method=$2 path=$3 body=${4-} type=${5:-application/json}
	local args=(-sS --cacert "$PKI/ca.crt" -X "$method" -H "Content-Type: $type"
		    -w '\n%{http_code}')

	case $who in
	none) ;;
	token:*) args+=(-H "Authorization: Bearer ${who#token:}") ;;
	other:*) args+=(--cert "$OTHER/${who#other:}.crt" --key "$OTHER/${who#other:}.key") ;;
	*) args+=(--cert "$PKI/$who.crt" --key "$PKI/$who.key") ;;
	esac
	[ -z "$body" ] || args+=(--data-binary "$body")
	OUT=$(curl "${args[@]}" "$API$path") || return 1
	CODE=${OUT##*$'\n'}
	OUT=${OUT%$'\n'*}
}

# expect CODE WHO METHOD PATH [BODY [TYPE]]
expect() {
	local want=$1

	shift
	call "$@"
	[ "$CODE" = "$want" ] || fail "$1 $2 $3: HTTP $CODE, want $want: $OUT"
}

# expect_forbidden MESSAGE WHO METHOD PATH [BODY [TYPE]]: a 403 Status saying MESSAGE.
expect_forbidden() {
	local msg=$1

	shift
	expect 403 "$@"
	check_eq "$(jget .kind)/$(jget .reason)/$(jget .code)" Status/Forbidden/403 "403 Status"
	check_eq "$(jget .message)" "$msg" "403 message"
}

expect_unauthorized() {
	expect 401 "$@"
	check_eq "$(jget .kind)/$(jget .reason)/$(jget .message)" Status/Unauthorized/Unauthorized \
		"401 Status"
}

node_json() { # node_json NAME [LABEL]
	printf '{"kind":"Node","apiVersion":"v1","metadata":{"name":"%s","labels":{"l":"%s"}}}' \
		"$1" "${2:-x}"
}

# pod_json NAME NODE [SPEC_EXTRA]: a pod bound to NODE.
pod_json() {
	printf '{"kind":"Pod","apiVersion":"v1","metadata":{"name":"%s"},"spec":{"nodeName":"%s",%s"containers":[{"name":"c","image":"busybox"}]}}' \
		"$1" "$2" "${3-}"
}

status_patch() {
	printf '{"status":{"phase":"%s"}}' "$1"
}

# obj KIND NAME [FIELDS]: a core v1 object.
obj() {
	printf '{"kind":"%s","apiVersion":"v1","metadata":{"name":"%s"}%s}' "$1" "$2" "${3:+,$3}"
}

lease_json() { # lease_json NAME [SPEC_FIELDS]
	printf '{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"%s"},"spec":{"holderIdentity":"%s"%s}}' \
		"$1" "$1" "${2:+,$2}"
}

MERGE=application/merge-patch+json

pod_gone() {
	call admin GET "$NS/pods/$1" && [ "$CODE" = 404 ]
}

# ---- the server ----------------------------------------------------------

tls_start() {
	apiserver_start --tls-cert-file "$PKI/apiserver.crt" \
		--tls-private-key-file "$PKI/apiserver.key" --client-ca-file "$PKI/ca.crt" \
		--token-auth-file "$TOKENS" \
		--kubelet-client-certificate "$PKI/apiserver.crt" \
		--kubelet-client-key "$PKI/apiserver.key" \
		--kubelet-certificate-authority "$PKI/ca.crt"
	API=$(sed -n 's/.*serving on \(https:[^,]*\),.*/\1/p' "$API_DIR/apiserver.log" | tail -n 1)
	[ -n "$API" ] || { cat "$API_DIR/apiserver.log"; fail "no https:// URL said"; }
}

# ---- cases ---------------------------------------------------------------

test_https_with_the_ca() {
	check_match "$API" '^https://127\.0\.0\.1:[0-9]+$' "URL"
	expect 200 none GET /healthz
	check_eq "$OUT" ok "healthz"
	# The server's certificate verifies against the cluster CA only.
	! curl -sS "$API/healthz" 2> "$API_DIR/err" || fail "trusted without the CA"
	check_match "$(cat "$API_DIR/err")" "certificate|issuer" "curl without --cacert"
	! curl -sS --cacert "$OTHER/ca.crt" "$API/healthz" 2> /dev/null ||
		fail "trusted with another CA"
	# Plain HTTP on the HTTPS port is not served.
	! curl -sSf "http://${API#https://}/api/v1/pods" > /dev/null 2>&1 ||
		fail "plain HTTP answered"
}

# handshake ADDR VERSION [ARGS]: openssl s_client's report of one TLS
# handshake; fails when no cipher was agreed on.
handshake() {
	local addr=$1 v=$2

	shift 2
	HS=$(echo | timeout 10 openssl s_client -connect "$addr" "-tls$v" "$@" 2>&1)
	grep -Eq '^New, .*Cipher is [A-Z0-9_-]+$' <<< "$HS"
}

# The client side can do TLS 1.1 (a control server proves it), the
# apiserver refuses it; 1.2 and 1.3 work.
test_tls_1_2_and_1_3_only() {
	local port v

	port=$((20000 + RANDOM % 10000))
	openssl s_server -accept "127.0.0.1:$port" -cert "$PKI/apiserver.crt" \
		-key "$PKI/apiserver.key" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' -www \
		-naccept 1 < /dev/null > "$API_DIR/control.log" 2>&1 &
	SKIFF_PIDS+=($!)
	wait_for 10 grep -q ACCEPT "$API_DIR/control.log" || fail "control server did not start"
	handshake "127.0.0.1:$port" 1_1 -cipher 'DEFAULT@SECLEVEL=0' ||
		fail "control: openssl does not speak TLS 1.1 here: $HS"
	check_match "$HS" 'Protocol *: TLSv1\.1' "control protocol"
	! handshake "${API#https://}" 1_1 -cipher 'DEFAULT@SECLEVEL=0' ||
		fail "TLS 1.1 accepted: $HS"
	for v in 1_2 1_3; do
		handshake "${API#https://}" "$v" -CAfile "$PKI/ca.crt" ||
			fail "TLS ${v/_/.} refused: $HS"
		check_match "$HS" "^(New, |    Protocol *: )TLSv${v/_/\\.}" "TLS ${v/_/.}"
		check_match "$HS" "Verify return code: 0" "TLS ${v/_/.} verified"
	done
}

test_admin_may_do_everything() {
	expect 201 admin POST "$NS/configmaps" "$(obj ConfigMap adm '"data":{"k":"v"}')"
	expect 200 admin GET "$NS/configmaps/adm"
	expect 201 admin POST "$NS/secrets" "$(obj Secret adm '"data":{"k":"dg=="}')"
	expect 200 admin GET /api/v1/secrets
	expect 200 admin GET /metrics
	expect 201 admin POST /api/v1/nodes "$(node_json adm)"
	expect 200 admin DELETE /api/v1/nodes/adm
	expect 200 admin DELETE "$NS/configmaps/adm"
	expect 200 admin DELETE "$NS/secrets/adm"
	# The controller manager too (kube's per-controller roles, in one).
	expect 201 controller-manager POST "$NS/configmaps" "$(obj ConfigMap kcm)"
	expect 200 controller-manager GET /api/v1/secrets
	expect 200 controller-manager DELETE "$NS/configmaps/kcm"
	# Every O of a certificate is a group: carol's second makes her an admin.
	expect 200 user-carol GET /api/v1/secrets
}

test_anonymous_401_but_health() {
	local p

	expect_unauthorized none GET /api/v1/pods
	expect_unauthorized none GET "$NS/secrets"
	expect_unauthorized none POST "$NS/configmaps" "$(obj ConfigMap anon)"
	expect_unauthorized none GET /api
	expect_unauthorized none GET /version
	for p in /healthz /livez /readyz; do
		expect 200 none GET "$p"
	done
	expect 404 admin GET "$NS/configmaps/anon"
}

test_certificate_not_of_the_ca_401() {
	expect_unauthorized other:admin GET /api/v1/pods
	expect_unauthorized other:admin GET /healthz
	expect_unauthorized server-only GET /api/v1/pods
	expect_unauthorized expired GET /api/v1/pods
	# A token still authenticates the request the certificate did not.
	curl -sS --cacert "$PKI/ca.crt" --cert "$OTHER/admin.crt" --key "$OTHER/admin.key" \
		-H "Authorization: Bearer $ADMIN_TOKEN" -o /dev/null -w '%{http_code}' \
		"$API/api/v1/pods" > "$API_DIR/code"
	check_eq "$(cat "$API_DIR/code")" 200 "foreign certificate plus a good token"
}

test_bearer_tokens() {
	expect 200 "token:$ADMIN_TOKEN" GET /api/v1/pods
	expect 201 "token:$ADMIN_TOKEN" POST "$NS/configmaps" "$(obj ConfigMap tok)"
	expect 200 "token:$ADMIN_TOKEN" DELETE "$NS/configmaps/tok"
	expect_forbidden 'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default"' \
		"token:$USER_TOKEN" GET "$NS/pods"
	expect 200 "token:$USER_TOKEN" GET /api/v1
	expect_unauthorized token:nope GET /api/v1/pods
	expect_unauthorized token:nope GET /healthz
	expect_unauthorized "token:$ADMIN_TOKEN-" GET /api/v1/pods
}

test_node_writes_only_its_own_node() {
	expect 201 node-a POST /api/v1/nodes "$(node_json a)"
	expect 200 node-a PUT /api/v1/nodes/a "$(node_json a changed)"
	check_eq "$(jget .metadata.labels.l)" changed "own Node updated"
	expect 200 node-a PATCH /api/v1/nodes/a/status '{"status":{"phase":"Running"}}' "$MERGE"
	expect 200 node-a PUT /api/v1/nodes/a/status "$OUT"
	expect 201 admin POST /api/v1/nodes "$(node_json b)"
	expect_forbidden 'nodes "b" is forbidden: User "system:node:a" cannot update resource "nodes" in API group "" at the cluster scope' \
		node-a PUT /api/v1/nodes/b "$(node_json b hacked)"
	expect_forbidden 'nodes "b" is forbidden: User "system:node:a" cannot patch resource "nodes/status" in API group "" at the cluster scope' \
		node-a PATCH /api/v1/nodes/b/status '{"status":{"phase":"x"}}' "$MERGE"
	expect 200 admin GET /api/v1/nodes/b
	check_eq "$(jget .metadata.labels.l)" x "Node b unchanged"
	expect 200 admin DELETE /api/v1/nodes/b
	expect_forbidden 'nodes is forbidden: User "system:node:a" cannot create resource "nodes" in API group "" at the cluster scope: node "a" is not allowed to modify node "b"' \
		node-a POST /api/v1/nodes "$(node_json b)"
	expect 404 admin GET /api/v1/nodes/b
	expect 403 node-a DELETE /api/v1/nodes/a
	expect 403 node-a DELETE /api/v1/nodes
	# What a kubelet reads.
	expect 200 node-a GET /api/v1/nodes
	expect 200 node-a GET /api/v1/nodes/a
	expect 200 node-a GET "/api/v1/pods?fieldSelector=spec.nodeName%3Da"
	expect 200 node-a GET /api/v1/services
	expect 200 node-a GET /api/v1/endpoints
	expect 200 node-a GET /api/v1/namespaces/default
	expect_forbidden 'deployments.apps is forbidden: User "system:node:a" cannot list resource "deployments" in API group "apps" in the namespace "default"' \
		node-a GET /apis/apps/v1/namespaces/default/deployments
	expect 200 admin DELETE /api/v1/nodes/a
}

test_node_pods_bound_to_it() {
	expect 201 admin POST "$NS/pods" "$(pod_json pa a)"
	expect 201 admin POST "$NS/pods" "$(pod_json pb b)"
	expect 200 node-a PATCH "$NS/pods/pa/status" "$(status_patch Running)" "$MERGE"
	check_eq "$(jget .status.phase)" Running "own pod's status"
	expect 200 node-a PUT "$NS/pods/pa/status" "$OUT"
	expect_forbidden 'pods "pb" is forbidden: User "system:node:a" cannot patch resource "pods/status" in API group "" in the namespace "default"' \
		node-a PATCH "$NS/pods/pb/status" "$(status_patch Failed)" "$MERGE"
	expect 200 admin GET "$NS/pods/pb"
	[ "$(jget '.status.phase // "none"')" != Failed ] || fail "pb's status changed"
	expect 403 node-a PUT "$NS/pods/pa" "$(pod_json pa a)"
	expect 403 node-a POST "$NS/pods" "$(pod_json pc a)"
	expect_forbidden 'pods "pb" is forbidden: User "system:node:a" cannot delete resource "pods" in API group "" in the namespace "default"' \
		node-a DELETE "$NS/pods/pb"
	expect 200 admin GET "$NS/pods/pb"
	expect 200 node-a DELETE "$NS/pods/pa"
	expect 404 node-a PATCH "$NS/pods/gone/status" "$(status_patch Running)" "$MERGE"
	expect 201 node-a POST "$NS/events" \
		"$(obj Event ev-a '"involvedObject":{"kind":"Pod","name":"pa"},"reason":"Started"')"
	expect 403 node-a DELETE "$NS/events/ev-a"
	expect 200 admin DELETE "$NS/pods/pb"
}

# A secret or configmap is readable by a node only while a pod bound to it
# uses it: by name, or listed or watched by a metadata.name field selector.
test_node_secrets_of_its_pods() {
	local s

	for s in vol proj env from pull other; do
		expect 201 admin POST "$NS/secrets" "$(obj Secret "s-$s" '"data":{"k":"dg=="}')"
	done
	for s in vol env other; do
		expect 201 admin POST "$NS/configmaps" "$(obj ConfigMap "cm-$s" '"data":{"k":"v"}')"
	done
	expect 201 admin POST "$NS/pods" "$(pod_json sa1 a \
		'"volumes":[{"name":"v","secret":{"secretName":"s-vol"}},{"name":"c","configMap":{"name":"cm-vol"}},{"name":"p","projected":{"sources":[{"secret":{"name":"s-proj"}}]}}],"imagePullSecrets":[{"name":"s-pull"}],')"
	expect 201 admin POST "$NS/pods" "$(pod_json sa2 a \
		'"initContainers":[{"name":"i","image":"busybox","env":[{"name":"E","valueFrom":{"secretKeyRef":{"name":"s-env","key":"k"}}},{"name":"F","valueFrom":{"configMapKeyRef":{"name":"cm-env","key":"k"}}}],"envFrom":[{"secretRef":{"name":"s-from"}}]}],')"
	# Node b's pod uses s-other: that gives node a nothing.
	expect 201 admin POST "$NS/pods" "$(pod_json sb b \
		'"volumes":[{"name":"v","secret":{"secretName":"s-other"}},{"name":"c","configMap":{"name":"cm-other"}}],')"

	for s in vol proj env from pull; do
		expect 200 node-a GET "$NS/secrets/s-$s"
		check_eq "$(jget .data.k)" dg== "secret s-$s"
	done
	expect 200 node-a GET "$NS/configmaps/cm-vol"
	expect 200 node-a GET "$NS/configmaps/cm-env"
	expect 200 node-a GET "$NS/secrets?fieldSelector=metadata.name%3Ds-vol"
	check_eq "$(jget '[.items[].metadata.name] | join(",")')" s-vol "list by name"
	expect 200 node-a GET "$NS/configmaps?fieldSelector=metadata.name%3D%3Dcm-env"
	check_eq "$(jget '[.items[].metadata.name] | join(",")')" cm-env "list by name (==)"
	# A watch by name: its first event is the secret.
	curl -sS -N --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/node-a.crt" \
		--key "$PKI/node-a.key" \
		"$API$NS/secrets?watch=1&fieldSelector=metadata.name%3Ds-env" > "$API_DIR/watch" || true
	check_eq "$(head -n 1 "$API_DIR/watch" | jq -r '.type + " " + .object.metadata.name')" \
		"ADDED s-env" "watch by name"

	expect_forbidden 'secrets "s-other" is forbidden: User "system:node:a" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node '"'a'"' and this object' \
		node-a GET "$NS/secrets/s-other"
	expect 403 node-a GET "$NS/configmaps/cm-other"
	expect 403 node-a GET "$NS/secrets?fieldSelector=metadata.name%3Ds-other"
	expect_forbidden 'secrets is forbidden: User "system:node:a" cannot list resource "secrets" in API group "" in the namespace "default": no relationship found between node '"'a'"' and this object' \
		node-a GET "$NS/secrets"
	expect 403 node-a GET /api/v1/secrets
	expect 403 node-a GET "/api/v1/secrets?fieldSelector=metadata.name%3Ds-vol"
	expect 403 node-a GET "$NS/secrets?fieldSelector=metadata.name%3Ds-vol,type%3DOpaque"
	expect 403 node-a GET "$NS/secrets?watch=1"
	expect 403 node-a GET "$NS/secrets/nope"
	expect 403 node-a PUT "$NS/secrets/s-vol" "$(obj Secret s-vol)"
	expect 403 node-a DELETE "$NS/secrets/s-vol"
	expect 200 node-b GET "$NS/secrets/s-other"
	expect 403 node-b GET "$NS/secrets/s-vol"
	# The pod gone, the secret is out of reach again.
	expect 200 admin DELETE "$NS/pods/sa1?gracePeriodSeconds=0"
	wait_for 10 pod_gone sa1 || fail "pod sa1 not gone"
	expect 403 node-a GET "$NS/secrets/s-vol"
	expect 200 node-a GET "$NS/secrets/s-env"
}

test_node_lease() {
	local lease=/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases

	expect 201 node-a POST "$lease" "$(lease_json a '"leaseDurationSeconds":40')"
	expect 200 node-a GET "$lease/a"
	expect 200 node-a PUT "$lease/a" "$OUT"
	expect 200 node-a PATCH "$lease/a" '{"spec":{"leaseDurationSeconds":41}}' "$MERGE"
	expect 200 node-a GET "$lease"
	expect_forbidden 'leases.coordination.k8s.io is forbidden: User "system:node:a" cannot create resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease"' \
		node-a POST "$lease" "$(lease_json b)"
	expect 201 node-b POST "$lease" "$(lease_json b)"
	expect 403 node-a PATCH "$lease/b" '{"spec":{"holderIdentity":"a"}}' "$MERGE"
	expect 403 node-a DELETE "$lease/b"
	expect 403 node-a POST /apis/coordination.k8s.io/v1/namespaces/default/leases \
		"$(lease_json a)"
	expect 200 node-a DELETE "$lease/a"
	expect 200 node-b DELETE "$lease/b"
}

test_node_identity_needs_group_and_name() {
	expect_forbidden 'nodes is forbidden: User "system:node:" cannot list resource "nodes" in API group "" at the cluster scope' \
		nameless-node GET /api/v1/nodes
	expect 403 groupless-node GET /api/v1/nodes
	expect 403 groupless-node PATCH /api/v1/nodes/a/status '{}' "$MERGE"
}

test_scheduler() {
	expect 201 admin POST "$NS/pods" \
		"$(obj Pod unbound '"spec":{"containers":[{"name":"c","image":"busybox"}]}')"
	expect 201 admin POST "$NS/secrets" "$(obj Secret sched)"
	expect 200 scheduler GET "$NS/pods"
	expect 200 scheduler GET "/api/v1/pods?watch=1&timeoutSeconds=1"
	expect 200 scheduler GET /api/v1/nodes
	expect 201 scheduler POST "$NS/pods/unbound/binding" \
		'{"kind":"Binding","apiVersion":"v1","metadata":{"name":"unbound"},"target":{"kind":"Node","name":"a"}}'
	expect 200 admin GET "$NS/pods/unbound"
	check_eq "$(jget .spec.nodeName)" a "bound"
	expect 200 scheduler PATCH "$NS/pods/unbound/status" \
		'{"status":{"nominatedNodeName":"a"}}' "$MERGE"
	expect 201 scheduler POST "$NS/events" \
		"$(obj Event ev-s '"involvedObject":{"kind":"Pod","name":"unbound"},"reason":"Scheduled"')"
	expect 201 scheduler POST /apis/coordination.k8s.io/v1/namespaces/kube-system/leases \
		"$(lease_json kube-scheduler)"
	expect_forbidden 'secrets "sched" is forbidden: User "system:kube-scheduler" cannot get resource "secrets" in API group "" in the namespace "default"' \
		scheduler GET "$NS/secrets/sched"
	expect 403 scheduler GET /api/v1/secrets
	expect 403 scheduler POST "$NS/configmaps" "$(obj ConfigMap sched)"
	expect 403 scheduler PUT "$NS/pods/unbound" "$(pod_json unbound b)"
	expect 200 admin DELETE "$NS/pods/unbound?gracePeriodSeconds=0"
	expect 200 admin DELETE "$NS/secrets/sched"
}

test_plain_user_discovery_only() {
	expect_forbidden 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"' \
		user-alice GET "$NS/pods"
	expect_forbidden 'pods "x" is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "default"' \
		user-alice GET "$NS/pods/x"
	expect_forbidden 'pods is forbidden: User "alice" cannot create resource "pods" in API group "" in the namespace "default"' \
		user-alice POST "$NS/pods" "$(pod_json x a)"
	expect_forbidden 'deployments.apps "web" is forbidden: User "alice" cannot delete resource "deployments" in API group "apps" in the namespace "default"' \
		user-alice DELETE /apis/apps/v1/namespaces/default/deployments/web
	expect_forbidden 'namespaces is forbidden: User "alice" cannot list resource "namespaces" in API group "" at the cluster scope' \
		user-alice GET /api/v1/namespaces
	expect_forbidden 'forbidden: User "alice" cannot get path "/metrics"' user-alice GET /metrics
	check_eq "$(jget .details)" "{}" "path 403 details"
	expect 200 user-alice GET /api
	expect 200 user-alice GET /api/v1
	expect 200 user-alice GET /apis
	expect 200 user-alice GET /apis/apps/v1
	expect 200 user-alice GET /version
	expect 200 user-alice GET /openapi/v2
	expect 200 user-alice GET /healthz
	expect_forbidden 'forbidden: User "alice" cannot post path "/healthz"' \
		user-alice POST /healthz '{}'
}

kubeconfig() { # kubeconfig FILE CERT
	cat > "$1" <<-EOF2
	apiVersion: v1
	kind: Config
	clusters:
	- name: skiff
	  cluster:
	    server: $API
	    certificate-authority: $PKI/ca.crt
	users:
	- name: $2
	  user:
	    client-certificate: $PKI/$2.crt
	    client-key: $PKI/$2.key
	contexts:
	- name: $2@skiff
	  context:
	    cluster: skiff
	    user: $2
	    namespace: default
	current-context: $2@skiff
	EOF2
}

test_kubectl_admin_certificate() {
	local out

	kubeconfig "$API_DIR/admin.conf" admin
	out=$(k --kubeconfig "$API_DIR/admin.conf" get namespaces 2>&1) || fail "$out"
	check_match "$out" "kube-node-lease" "get namespaces"
	out=$(k --kubeconfig "$API_DIR/admin.conf" create configmap kc --from-literal=a=b 2>&1) ||
		fail "$out"
	check_match "$out" "configmap/kc created" "create"
	out=$(k --kubeconfig "$API_DIR/admin.conf" get configmap kc -o jsonpath='{.data.a}' 2>&1)
	check_eq "$out" b "get"
	out=$(k --kubeconfig "$API_DIR/admin.conf" delete configmap kc 2>&1) || fail "$out"
	# Without the CA kubectl does not trust the server.
	sed -i '/certificate-authority/d' "$API_DIR/admin.conf"
	out=$(k --kubeconfig "$API_DIR/admin.conf" get namespaces 2>&1) && fail "trusted: $out"
	check_match "$out" "certificate signed by unknown authority" "kubectl without the CA"
}

test_kubectl_node_certificate_forbidden() {
	local out

	kubeconfig "$API_DIR/node.conf" node-a
	out=$(k --kubeconfig "$API_DIR/node.conf" get secrets 2>&1) && fail "listed: $out"
	check_eq "$out" 'Error from server (Forbidden): secrets is forbidden: User "system:node:a" cannot list resource "secrets" in API group "" in the namespace "default": no relationship found between node '"'a'"' and this object' \
		"kubectl get secrets as node a"
	out=$(k --kubeconfig "$API_DIR/node.conf" create configmap kn 2>&1) && fail "created: $out"
	check_match "$out" 'configmaps is forbidden: User "system:node:a" cannot create resource "configmaps"' \
		"kubectl create as node a"
	out=$(k --kubeconfig "$API_DIR/node.conf" get pods 2>&1) || fail "$out"
}

# The log proxy talks HTTPS to the kubelet, showing the apiserver's
# certificate, and checks the kubelet's against the CA: a stand-in kubelet
# (openssl s_server) that requires a client certificate of the CA serves
# the log file.
test_logs_over_https_to_the_kubelet() {
	local port dir=$API_DIR/kubelet node

	mkdir -p "$dir/containerLogs/default/logged"
	echo "hello over TLS" > "$dir/containerLogs/default/logged/c"
	port=$((20000 + RANDOM % 10000))
	(cd "$dir" && exec openssl s_server -accept "127.0.0.1:$port" -WWW \
		-cert "$PKI/node-a.crt" -key "$PKI/node-a.key" -CAfile "$PKI/ca.crt" \
		-Verify 1 -verify_return_error > "$dir/log" 2>&1) &
	SKIFF_PIDS+=($!)
	wait_for 10 grep -q ACCEPT "$dir/log" || fail "s_server: $(cat "$dir/log")"
	node='{"kind":"Node","apiVersion":"v1","metadata":{"name":"logs"}}'
	expect 201 admin POST /api/v1/nodes "$node"
	expect 200 admin PATCH /api/v1/nodes/logs/status \
		"{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"127.0.0.1\"}],\"daemonEndpoints\":{\"kubeletEndpoint\":{\"Port\":$port}}}}" \
		"$MERGE"
	expect 201 admin POST "$NS/pods" "$(pod_json logged logs)"
	expect 200 admin GET "$NS/pods/logged/log"
	check_eq "$OUT" $'hello over TLS\n' "log through HTTPS"
	expect 403 node-a GET "$NS/pods/logged/log"
	expect 200 admin DELETE "$NS/pods/logged?gracePeriodSeconds=0"
	expect 200 admin DELETE /api/v1/nodes/logs
}

# refused WHAT MESSAGE ARGS...: the server exits non-zero at once, says
# MESSAGE and never listens.
refused() {
	local what=$1 msg=$2 out rc=0

	shift 2
	out=$(timeout 10 skiff-apiserver --listen 127.0.0.1:0 --data-dir "$API_DIR/refused" \
		"$@" 2>&1) || rc=$?
	case $rc in 0 | 124) fail "$what: exit $rc: $out" ;; esac
	! grep -q "serving on" <<< "$out" || fail "$what: served: $out"
	check_match "$out" "$msg" "$what"
}

test_startup_refusals() {
	local t=(--tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key")
	local bad=$API_DIR/bad

	mkdir -p "$bad"
	echo garbage > "$bad/garbage.pem"
	refused "plain HTTP off loopback" \
		"plain HTTP is only served on loopback; give --tls-cert-file" \
		--listen 0.0.0.0:0
	refused "missing certificate" "--tls-cert-file $bad/nope.crt: No such file or directory" \
		--tls-cert-file "$bad/nope.crt" --tls-private-key-file "$PKI/apiserver.key"
	refused "unreadable key" "--tls-private-key-file $bad: Is a directory" \
		--tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$bad"
	refused "certificate without key" "--tls-cert-file and --tls-private-key-file go together" \
		--tls-cert-file "$PKI/apiserver.crt"
	refused "not a certificate" "--tls-cert-file $bad/garbage.pem: no PEM certificate" \
		--tls-cert-file "$bad/garbage.pem" --tls-private-key-file "$PKI/apiserver.key"
	refused "not a key" "--tls-private-key-file $bad/garbage.pem: not a PEM private key" \
		--tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$bad/garbage.pem"
	refused "key of another certificate" \
		"--tls-private-key-file $PKI/admin.key does not match the certificate of --tls-cert-file $PKI/apiserver.crt" \
		--tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/admin.key"
	refused "bad CA file" "--client-ca-file $bad/garbage.pem: no PEM certificate" \
		"${t[@]}" --client-ca-file "$bad/garbage.pem"
	refused "missing CA file" "--client-ca-file $bad/nope: No such file" \
		"${t[@]}" --client-ca-file "$bad/nope"
	refused "CA without TLS" "--client-ca-file needs --tls-cert-file" \
		--client-ca-file "$PKI/ca.crt"
	refused "tokens without TLS" "--token-auth-file needs --tls-cert-file" \
		--token-auth-file "$TOKENS"
	printf 'good,u,1\n\nshort,u\n' > "$bad/short.csv"
	refused "token line with 2 columns" \
		"$bad/short.csv: line 3: want at least 3 columns \\(token, user name, user uid\\), found 2" \
		"${t[@]}" --token-auth-file "$bad/short.csv"
	printf 'good,u,1,"g1,g2"\nt"x,u,1\n' > "$bad/quote.csv"
	refused "token line with a bare quote" "$bad/quote.csv: line 2: bare \" in non-quoted-field" \
		"${t[@]}" --token-auth-file "$bad/quote.csv"
	printf 'a,u,1,"g1\n' > "$bad/open.csv"
	refused "token line with an open quote" "$bad/open.csv: line 1: extraneous or missing \"" \
		"${t[@]}" --token-auth-file "$bad/open.csv"
	printf ',u,1\n' > "$bad/empty.csv"
	refused "empty token" "$bad/empty.csv: line 1: empty token" \
		"${t[@]}" --token-auth-file "$bad/empty.csv"
	printf 'same,u,1\nother,v,2\nsame,w,3\n' > "$bad/twice.csv"
	refused "a token twice" "$bad/twice.csv: line 3: the token of line 1 again" \
		"${t[@]}" --token-auth-file "$bad/twice.csv"
	refused "missing token file" "--token-auth-file $bad/nope.csv: No such file" \
		"${t[@]}" --token-auth-file "$bad/nope.csv"
	refused "kubelet certificate without key" \
		"--kubelet-client-certificate and --kubelet-client-key go together" \
		--kubelet-client-certificate "$PKI/apiserver.crt"
	refused "kubelet key of another certificate" \
		"--kubelet-client-key $PKI/node-a.key does not match the certificate of --kubelet-client-certificate $PKI/apiserver.crt" \
		--kubelet-client-certificate "$PKI/apiserver.crt" --kubelet-client-key "$PKI/node-a.key"
	refused "bad kubelet CA" "--kubelet-certificate-authority $bad/garbage.pem: no PEM certificate" \
		--kubelet-certificate-authority "$bad/garbage.pem"
}

# Without a certificate: plain HTTP on loopback, every request an admin's
# (the old insecure port, what the other suites use).
test_plain_http_on_loopback_is_admin() {
	local url log=$API_DIR/plain.log

	(skiff-apiserver --listen 127.0.0.1:0 --data-dir "$API_DIR/plain" > "$log" 2>&1 &
	 echo $! > "$API_DIR/plain.pid")
	wait_for 30 grep -qs "serving on" "$log" || fail "plain: $(cat "$log")"
	url=$(sed -n 's/.*serving on \(http:[^,]*\),.*/\1/p' "$log")
	check_match "$url" '^http://127\.0\.0\.1:' "plain URL"
	check_eq "$(curl -sS -o /dev/null -w '%{http_code}' "$url/api/v1/secrets")" 200 \
		"no credentials over plain HTTP"
	kill "$(cat "$API_DIR/plain.pid")"
}

make_pki
tls_start
run_tests test_https_with_the_ca test_tls_1_2_and_1_3_only test_admin_may_do_everything \
	test_anonymous_401_but_health test_certificate_not_of_the_ca_401 test_bearer_tokens \
	test_node_writes_only_its_own_node test_node_pods_bound_to_it \
	test_node_secrets_of_its_pods test_node_lease test_node_identity_needs_group_and_name \
	test_scheduler test_plain_user_discovery_only test_kubectl_admin_certificate \
	test_kubectl_node_certificate_forbidden test_logs_over_https_to_the_kubelet \
	test_startup_refusals test_plain_http_on_loopback_is_admin
