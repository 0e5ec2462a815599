#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Endpoints controller against a real apiserver, with hollow nodes
# playing the kubelet:
#
#   skiff-apiserver <-- skiff-controller-manager (endpoints)
#          ^
#          '------- skiff-hollow-nodes "node" (runs pods bound to it)
#
# Pods are bound by spec.nodeName. A pod on "ghost" (no hollow node) is
# given its status by the test itself, to hold it in states a hollow node
# leaves at once (terminating).

source "$(dirname "$0")/../lib-controllers.sh"

SVC=/api/v1/namespaces/default/services
EP=/api/v1/namespaces/default/endpoints
PODS=/api/v1/namespaces/default/pods

# pod NAME APP [PORT_NAME PORT] [NODE]: a pod app=APP with one named port.
pod() {
	jq -nc --arg n "$1" --arg a "$2" --arg pn "${3:-web}" \
		--argjson p "${4:-8080}" --arg node "${5:-node}" '{
		apiVersion: "v1", kind: "Pod",
		metadata: {name: $n, labels: {app: $a}},
		spec: {nodeName: $node, containers: [{name: "c", image: "busybox",
			ports: [{name: $pn, containerPort: $p}]}]}}'
}

# svc NAME SELECTOR_JSON PORTS_JSON
svc() {
	jq -nc --arg n "$1" --argjson s "$2" --argjson p "$3" '{
		apiVersion: "v1", kind: "Service", metadata: {name: $n, labels: {tier: "front"}},
		spec: {selector: $s, ports: $p}}'
}

web_svc() {
	api_expect 201 POST "$SVC" "$(svc web '{"app":"web"}' \
		'[{"name":"http","port":80,"targetPort":"web"},{"name":"metrics","port":9090,"targetPort":9100}]')"
}

setup() {
	cluster_start
	hollow_start node
	cm_start --controllers endpoints
}

# All addresses' pod names of the subsets in OUT, sorted, comma separated.
ready_names() {
	jq -r '[.subsets[]?.addresses[]?.targetRef.name] | sort | join(",")' <<< "$OUT"
}

test_ready_and_not_ready() {
	setup
	web_svc
	api_expect 201 POST "$PODS" "$(pod web-a web)"
	api_expect 201 POST "$PODS" "$(pod web-b web)"
	api_expect 201 POST "$PODS" "$(pod other other)"
	wait_json 20 "$EP/web" '[.subsets[]?.addresses[]?] | length == 2'
	check_eq "$(ready_names)" "web-a,web-b" "ready addresses"
	check_eq "$(jget '.metadata.labels.tier')" front "labels of the Service"
	check_eq "$(jget '.subsets | length')" 1 "one subset"
	check_eq "$(jget '[.subsets[0].ports[] | "\(.name):\(.port)/\(.protocol)"] | sort | join(",")')" \
		"http:8080/TCP,metrics:9100/TCP" "ports resolved by name and number"
	check_eq "$(jget '[.subsets[0].addresses[] | .nodeName] | unique | join(",")')" node "nodeName"
	check_eq "$(jget '.subsets[0].addresses[0].targetRef.kind')" Pod "targetRef kind"
	api_expect 200 GET "$PODS/web-a"
	local ip uid
	ip=$(jget .status.podIP)
	uid=$(jget .metadata.uid)
	api_expect 200 GET "$EP/web"
	check_eq "$(jget ".subsets[0].addresses[] | select(.targetRef.name == \"web-a\") | \"\(.ip) \(.targetRef.uid) \(.targetRef.namespace)\"")" \
		"$ip $uid default" "address of web-a"

	mark_pod default web-b ready false
	wait_json 20 "$EP/web" '[.subsets[]?.notReadyAddresses[]?.targetRef.name] == ["web-b"]'
	check_eq "$(ready_names)" "web-a" "web-b is not ready"
	mark_pod default web-b ready true
	wait_json 20 "$EP/web" '([.subsets[]?.addresses[]?] | length == 2) and ([.subsets[]?.notReadyAddresses[]?] | length == 0)'
	# A label change moves a pod out of the Service, and back in.
	api_expect 200 PATCH "$PODS/web-a" '{"metadata":{"labels":{"app":"gone"}}}' application/merge-patch+json
	wait_json 20 "$EP/web" '[.subsets[]?.addresses[]?.targetRef.name] == ["web-b"]'
	api_expect 200 PATCH "$PODS/other" '{"metadata":{"labels":{"app":"web"}}}' application/merge-patch+json
	wait_json 20 "$EP/web" '[.subsets[]?.addresses[]?.targetRef.name] | sort == ["other","web-b"]'
	# "other" names its port "web" too: only the port name counts.
	k get endpoints web > "$API_DIR/k.out"
	check_match "$(cat "$API_DIR/k.out")" "^web +10\\." "kubectl get endpoints"
}

test_ports_by_name_per_pod() {
	setup
	api_expect 201 POST "$SVC" "$(svc web '{"app":"web"}' '[{"name":"http","port":80,"targetPort":"web"}]')"
	api_expect 201 POST "$PODS" "$(pod a web web 8080)"
	api_expect 201 POST "$PODS" "$(pod b web web 8081)"
	api_expect 201 POST "$PODS" "$(pod c web admin 8080)"
	wait_json 20 "$EP/web" '[.subsets[]?.addresses[]?] | length == 2'
	check_eq "$(jget '[.subsets[] | "\(.ports[0].port)=\([.addresses[].targetRef.name] | join("+"))"] | sort | join(",")')" \
		"8080=a,8081=b" "one subset per resolved port"
	# A UDP Service port does not match a TCP container port of that name.
	api_expect 201 POST "$SVC" "$(svc dns '{"app":"web"}' '[{"name":"dns","port":53,"protocol":"UDP","targetPort":"web"},{"name":"tcp","port":54,"targetPort":"web"}]')"
	wait_json 20 "$EP/dns" '[.subsets[]?.addresses[]?] | length == 2'
	check_eq "$(jget '[.subsets[].ports[] | .protocol] | unique | join(",")')" TCP "only TCP resolved"
}

test_skips_pods_without_ip_finished_and_terminating() {
	setup
	web_svc
	api_expect 201 POST "$PODS" "$(pod a web)"
	api_expect 201 POST "$PODS" "$(pod ghost web web 8080 ghost)"
	wait_json 20 "$EP/web" '[.subsets[]?.addresses[]?] | length == 1'
	check_eq "$(ready_names)" a "a pod without podIP is no endpoint"
	# Its kubelet (the test) reports it running: it joins.
	api_expect 200 PATCH "$PODS/ghost/status" '{"status":{"phase":"Running","podIP":"10.99.0.7","conditions":[{"type":"Ready","status":"True"}]}}' application/merge-patch+json
	wait_json 20 "$EP/web" '[.subsets[]?.addresses[]?.ip] | index("10.99.0.7") != null'
	# Terminating (its kubelet never finishes): it leaves at once.
	api_expect 200 DELETE "$PODS/ghost"
	check_eq "$(jget '.metadata.deletionTimestamp != null')" true "ghost terminating"
	wait_json 20 "$EP/web" '[.subsets[]?.addresses[]?.targetRef.name] == ["a"]'
	# A finished pod (restartPolicy Never, exited 0) leaves too.
	api_expect 201 POST "$PODS" "$(pod job web | jq -c '.spec.restartPolicy = "Never"')"
	wait_json 20 "$EP/web" '[.subsets[]?.addresses[]?] | length == 2'
	mark_pod default job exit 0
	wait_json 20 "$EP/web" '[.subsets[]?.addresses[]?.targetRef.name] == ["a"] and ([.subsets[]?.notReadyAddresses[]?] | length == 0)'
}

test_publish_not_ready_addresses() {
	setup
	api_expect 201 POST "$SVC" "$(svc peers '{"app":"web"}' '[{"port":80}]' | jq -c '.spec.publishNotReadyAddresses = true | .spec.clusterIP = "None"')"
	api_expect 201 POST "$PODS" "$(pod a web | jq -c '.metadata.annotations = {"hollow.skiff.dev/ready":"false"} | .spec.hostname = "a" | .spec.subdomain = "peers"')"
	wait_json 20 "$EP/peers" '[.subsets[]?.addresses[]?] | length == 1'
	check_eq "$(jget '.subsets[0].addresses[0].hostname')" a "hostname of a pod in the subdomain"
	check_eq "$(jget '.metadata.labels["service.kubernetes.io/headless"]')" "" "headless label"
	check_eq "$(jget '.subsets[0].ports[0] | "\(.port) \(.name // "-")"')" "80 -" "unnamed port"
}

test_selectorless_service_left_alone() {
	setup
	api_expect 201 POST "$SVC" "$(svc ext null '[{"port":80}]' | jq -c 'del(.spec.selector)')"
	api_expect 201 POST "$EP" '{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"ext"},"subsets":[{"addresses":[{"ip":"192.0.2.1"}],"ports":[{"port":80}]}]}'
	local rv
	rv=$(jget .metadata.resourceVersion)
	api_expect 201 POST "$PODS" "$(pod a web)"
	# An ExternalName Service is a DNS name: no Endpoints, selector or not.
	api_expect 201 POST "$SVC" '{"apiVersion":"v1","kind":"Service","metadata":{"name":"alias"},"spec":{"type":"ExternalName","externalName":"example.com","selector":{"app":"web"}}}'
	# A Service with a selector created after: once its Endpoints are
	# written, the controller has seen everything before it.
	web_svc
	wait_json 20 "$EP/web" '[.subsets[]?.addresses[]?] | length == 1'
	api_expect 200 GET "$EP/ext"
	check_eq "$(jget .metadata.resourceVersion)" "$rv" "user's Endpoints untouched"
	check_eq "$(jget '.subsets[0].addresses[0].ip')" 192.0.2.1 "user's address"
	api_expect 404 GET "$EP/alias"
}

test_follows_tampering_and_deletion() {
	setup
	web_svc
	api_expect 201 POST "$PODS" "$(pod a web)"
	wait_json 20 "$EP/web" '[.subsets[]?.addresses[]?] | length == 1'
	# Someone else's write is undone, a deleted object comes back.
	api_expect 200 PATCH "$EP/web" '{"subsets":[{"addresses":[{"ip":"192.0.2.9"}],"ports":[{"port":1}]}]}' application/merge-patch+json
	wait_json 20 "$EP/web" '[.subsets[]?.addresses[]?.targetRef.name] == ["a"]'
	api_expect 200 DELETE "$EP/web"
	wait_json 20 "$EP/web" '[.subsets[]?.addresses[]?.targetRef.name] == ["a"]'
	# The Service goes: its Endpoints go.
	api_expect 200 DELETE "$SVC/web"
	wait_for 20 eval 'api GET "$EP/web"; [ "$CODE" = 404 ]' || fail "Endpoints outlive their Service"
	# A Service with no ready pod still has (empty) Endpoints.
	api_expect 201 POST "$SVC" "$(svc empty '{"app":"none"}' '[{"port":80}]')"
	wait_json 20 "$EP/empty" '(.subsets // []) | length == 0'
}

test_leftovers_cleaned_at_start() {
	setup
	web_svc
	api_expect 201 POST "$PODS" "$(pod a web)"
	wait_json 20 "$EP/web" '[.subsets[]?.addresses[]?] | length == 1'
	daemon_stop cm
	api_expect 200 DELETE "$SVC/web"
	api_expect 200 GET "$EP/web"
	cm_start --controllers endpoints
	wait_for 20 eval 'api GET "$EP/web"; [ "$CODE" = 404 ]' || fail "leftover Endpoints stay: $(daemon_logs)"
}

test_many_pods() {
	setup
	web_svc
	local i
	for i in $(seq 1 60); do
		pod "p$i" web | curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
			--data-binary @- "$API$PODS" &
	done
	wait
	wait_json 30 "$EP/web" '[.subsets[]?.addresses[]?] | length == 60'
	check_eq "$(jget '[.subsets[].addresses[].ip] | unique | length')" 60 "distinct addresses"
	check_eq "$(jget '[.subsets[].addresses[].ip] == ([.subsets[].addresses[].ip] | sort_by(.))')" true "sorted"
}

run_tests test_ready_and_not_ready test_ports_by_name_per_pod \
	test_skips_pods_without_ip_finished_and_terminating \
	test_publish_not_ready_addresses test_selectorless_service_left_alone \
	test_follows_tampering_and_deletion test_leftovers_cleaned_at_start \
	test_many_pods
