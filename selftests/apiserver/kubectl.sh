#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kubectl against skiff-apiserver, as a user types it, with the kubectl
# 1.32 of /usr/bin and Debian's kubectl 1.20 (kubernetes-client, unpacked
# by scripts/install-deps.sh into /var/cache/skiff/kubectl-1.20): every
# case runs with both.
#
#   kubectl 1.32 ─┐
#                 ├─HTTP──▶ skiff-apiserver (127.0.0.1:free port) ──▶ sqlite
#   kubectl 1.20 ─┘

source "$(dirname "$0")/../lib-apiserver.sh"

KUBECTL_120=/var/cache/skiff/kubectl-1.20/usr/bin/kubectl

manifest() { # manifest NAME IMAGE [SIDECAR]: a Deployment and a ConfigMap
	cat <<-EOF2
	apiVersion: apps/v1
	kind: Deployment
	metadata:
	  name: $1
	spec:
	  replicas: 2
	  selector:
	    matchLabels: {app: $1}
	  template:
	    metadata:
	      labels: {app: $1}
	    spec:
	      containers:
	      - name: web
	        image: $2
	        ports: [{containerPort: 80}]
	EOF2
	[ -z "${3:-}" ] || printf '      - name: side\n        image: %s\n' "$3"
	cat <<-EOF2
	---
	apiVersion: v1
	kind: ConfigMap
	metadata: {name: $1-cfg}
	data: {a: "1"}
	EOF2
}

test_get_namespaces() {
	local out

	out=$(k get namespaces)
	check_match "$out" '^NAME +STATUS +AGE' "columns"
	check_match "$out" '^default +Active ' "default"
	check_match "$out" '^kube-system +Active ' "kube-system"
}

test_apply_create_then_configure() {
	local n=app-$KVER out

	out=$(manifest "$n" nginx:1 busybox | k apply -f - 2>&1)
	check_match "$out" "deployment.apps/$n created" "created"
	check_match "$out" "configmap/$n-cfg created" "configmap created"
	# A second apply with one image changed and the sidecar gone: a
	# strategic merge patch with $setElementOrder.
	out=$(manifest "$n" nginx:2 | k apply -f - 2>&1)
	check_match "$out" "deployment.apps/$n configured" "configured"
	check_match "$out" "configmap/$n-cfg unchanged" "unchanged"
	out=$(k get deploy "$n" -o jsonpath='{range .spec.template.spec.containers[*]}{.name}={.image} {end}{.metadata.generation}')
	check_eq "$out" "web=nginx:2 2" "containers after apply"
	out=$(k get deploy "$n" -o wide)
	check_match "$out" "^$n +0/2 +0 +0 +[0-9]+s +web +nginx:2 +app=$n" "wide columns"
	out=$(k delete -f <(manifest "$n" nginx:2) 2>&1)
	check_match "$out" "deployment.apps \"$n\" deleted" "deleted"
	! out=$(k get deploy "$n" 2>&1) || fail "still there: $out"
	check_match "$out" "NotFound" "gone"
}

test_scale_label_annotate_patch() {
	local n=edit-$KVER out

	manifest "$n" nginx:1 | k apply -f - > /dev/null
	k scale deploy "$n" --replicas=5 > /dev/null
	check_eq "$(k get deploy "$n" -o jsonpath='{.spec.replicas}')" 5 "scaled"
	k label cm "$n-cfg" tier=web > /dev/null
	k annotate cm "$n-cfg" note=hello > /dev/null
	out=$(k get cm -l tier=web --show-labels)
	check_match "$out" "^$n-cfg +1 +.* tier=web" "label selector"
	check_eq "$(k get cm "$n-cfg" -o jsonpath='{.metadata.annotations.note}')" hello "annotation"
	k patch cm "$n-cfg" -p '{"data":{"b":"2"}}' > /dev/null
	k patch cm "$n-cfg" --type=json -p '[{"op":"remove","path":"/data/a"}]' > /dev/null
	k patch cm "$n-cfg" --type=merge -p '{"data":{"c":"3"}}' > /dev/null
	check_eq "$(k get cm "$n-cfg" -o jsonpath='{.data}')" '{"b":"2","c":"3"}' "patched"
	! out=$(k label cm "$n-cfg" 'bad label=x' 2>&1) || fail "bad label accepted: $out"
	out=$(k get cm "$n-cfg" -o json)
	check_eq "$(jq -r '.metadata.labels | keys | join(",")' <<< "$out")" tier "bad label changed nothing"
}

test_get_all_and_output_formats() {
	local n=fmt-$KVER out

	manifest "$n" nginx:1 | k apply -f - > /dev/null
	out=$(k get all)
	check_match "$out" "^deployment.apps/$n +0/2" "get all"
	out=$(k get deploy "$n" -o json)
	check_eq "$(jq -r .kind <<< "$out")" Deployment "-o json"
	check_eq "$(jq -r .spec.strategy.rollingUpdate.maxSurge <<< "$out")" 25% "defaults"
	out=$(k get deploy "$n" -o yaml)
	check_match "$out" "^kind: Deployment" "-o yaml"
	out=$(k get cm --field-selector "metadata.name=$n-cfg" -o name)
	check_eq "$out" "configmap/$n-cfg" "field selector"
	out=$(k get deploy -A --field-selector "metadata.name=$n")
	check_match "$out" "^NAMESPACE +NAME +READY" "-A columns"
	check_match "$out" "^default +$n +0/2" "-A with namespace column"
}

test_watch() {
	local n=watch-$KVER out=$API_DIR/watch-$KVER

	k create configmap "$n-0" --from-literal=a=b > /dev/null 2>&1 ||
		api_expect 201 POST /api/v1/namespaces/default/configmaps \
			"{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"$n-0\"}}"
	timeout 30 "${KUBECTL:-kubectl}" --cache-dir "$API_DIR/kube-cache" \
		get cm -w --request-timeout=20s > "$out" 2>&1 &
	wait_for 20 grep -q "$n-0" "$out" || fail "no initial list: $(cat "$out")"
	manifest "$n" nginx | k apply -f - > /dev/null
	wait_for 20 grep -q "^$n-cfg " "$out" || fail "no watch event: $(cat "$out")"
}

test_errors_read_as_kubernetes() {
	local out

	! out=$(k get pod nope 2>&1) || fail "found a missing pod"
	check_eq "$out" 'Error from server (NotFound): pods "nope" not found' "not found"
	! out=$(manifest bad nginx | sed 's/labels: {app: bad}/labels: {app: other}/' | k apply -f - 2>&1) ||
		fail "selector mismatch accepted: $out"
	check_match "$out" 'The Deployment "bad" is invalid' "invalid"
	check_match "$out" 'spec.template.metadata.labels: Invalid value: .*does not match template' "cause"
	! out=$(k get widgets 2>&1) || fail "unknown kind: $out"
	check_match "$out" "the server doesn't have a resource type \"widgets\"" "unknown resource"
	! out=$(printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: Bad_NS}\n' | k apply -f - 2>&1) ||
		fail "bad name accepted: $out"
	check_match "$out" 'metadata.name: Invalid value: "Bad_NS"' "bad name"
}

test_create_generators() {
	local n=gen-$KVER out

	# kubectl 1.32 sends these as protobuf, 1.20 (and `run`) as JSON: the
	# objects must come out the same.
	out=$(k create configmap "$n" --from-literal=a=b 2>&1)
	check_match "$out" "configmap/$n created" "configmap"
	check_eq "$(k get cm "$n" -o jsonpath='{.data.a}')" b "configmap data"
	out=$(k create deployment "$n" --image=nginx --replicas=2 --port=80 2>&1)
	check_match "$out" "deployment.apps/$n created" "deployment"
	check_eq "$(k get deploy "$n" -o jsonpath='{.spec.selector.matchLabels.app}')" "$n" "selector"
	check_eq "$(k get deploy "$n" -o jsonpath='{.spec.replicas} {.spec.template.spec.containers[0].ports[0].containerPort}')" \
		"2 80" "replicas and port"
	# replicas 0 is sent (a pointer), not defaulted to 1
	k create deployment "$n-zero" --image=nginx --replicas=0 > /dev/null
	check_eq "$(k get deploy "$n-zero" -o jsonpath='{.spec.replicas}')" 0 "replicas 0"
	out=$(k create namespace "$n" 2>&1)
	check_match "$out" "namespace/$n created" "namespace"
	out=$(k create secret generic "$n" --from-literal=a=b --from-literal=empty= 2>&1)
	check_match "$out" "secret/$n created" "secret"
	check_eq "$(k get secret "$n" -o json | jq -c .data)" '{"a":"Yg==","empty":""}' "secret data (base64)"
	out=$(k create service nodeport "$n" --tcp=80:8080 2>&1)
	check_match "$out" "service/$n created" "service nodeport"
	check_eq "$(k get svc "$n" -o jsonpath='{.spec.type} {.spec.ports[0].port} {.spec.ports[0].targetPort}')" \
		"NodePort 80 8080" "nodeport service"
	out=$(k create service clusterip "$n-ip" --tcp=443:https 2>&1)
	check_match "$out" "service/$n-ip created" "service clusterip"
	check_eq "$(k get svc "$n-ip" -o json | jq -c '.spec.ports[0].targetPort')" '"https"' "named target port"
	out=$(k create job "$n" --image=busybox -- echo hi 2>&1)
	check_match "$out" "job.batch/$n created" "job"
	check_eq "$(k get job "$n" -o jsonpath='{.spec.template.spec.containers[0].command}')" '["echo","hi"]' "job command"
	out=$(k run "$n" --image=busybox --env=A=B --labels=x=y --port=8080 -- sleep 1 2>&1)
	check_match "$out" "pod/$n created" "run"
	check_eq "$(k get pod "$n" -o jsonpath='{.metadata.labels.x} {.spec.containers[0].env[0].value} {.spec.containers[0].ports[0].containerPort}')" \
		"y B 8080" "run: labels, env, port"
}

CASES=(test_get_namespaces test_apply_create_then_configure
	test_scale_label_annotate_patch test_get_all_and_output_formats
	test_watch test_errors_read_as_kubernetes test_create_generators)

# Each case twice: kubectl 1.32 then 1.20.
all=()
for kver in 132 120; do
	for c in "${CASES[@]}"; do
		if [ "$kver" = 132 ]; then
			kubectl_path=kubectl
		else
			kubectl_path=$KUBECTL_120
		fi
		eval "${c}_$kver() { KVER=$kver KUBECTL=$kubectl_path $c; }"
		all+=("${c}_$kver")
	done
done

[ -x "$KUBECTL_120" ] || echo "# $KUBECTL_120 missing: run scripts/install-deps.sh"
apiserver_start
run_tests "${all[@]}"
