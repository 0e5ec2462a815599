#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# skiff-node runs pods: a real apiserver, controller manager and scheduler,
# and two or three nodes as network namespaces, each with its agent
# (topology: selftests/lib-node.sh). Containers run through runc from a
# busybox image built from the host.

source "$(dirname "$0")/../lib-node.sh"

# A Deployment of web servers answering their pod's name on port 8080.
web_deployment() {
	jq -nc --argjson n "$1" '{apiVersion: "apps/v1", kind: "Deployment",
		metadata: {name: "web"},
		spec: {replicas: $n, selector: {matchLabels: {app: "web"}},
		       template: {metadata: {labels: {app: "web"}},
				  spec: {terminationGracePeriodSeconds: 2,
					 containers: [{name: "web", image: "busybox",
						       command: ["sh", "-c",
								 "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"],
						       ports: [{containerPort: 8080}]}]}}}}'
}

web_service() {
	jq -nc '{apiVersion: "v1", kind: "Service", metadata: {name: "web"},
		spec: {type: "NodePort", selector: {app: "web"},
		       ports: [{port: 80, targetPort: 8080, protocol: "TCP"}]}}'
}

# GET http://$2/ from inside pod $1 of default.
pod_get() {
	in_pod default "$1" timeout 5 busybox wget -qO- "http://$2/" 2> /dev/null
}

test_node_registers() {
	node_cluster_start
	node_start a
	wait_json 20 /api/v1/nodes/a '.spec.podCIDR != null and
		(.status.conditions[] | select(.type == "Ready") | .status) == "True" and
		(.status.addresses[] | select(.type == "InternalIP") | .address) == "192.168.77.11" and
		(.status.capacity.cpu | tonumber) >= 1 and
		.metadata.labels["kubernetes.io/hostname"] == "a" and
		.metadata.annotations["skiff.dev/vtep-mac"] != null'
	wait_json 10 /apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/a \
		'.spec.holderIdentity == "a"'
	local first
	first=$(jq -r .spec.renewTime <<< "$OUT")
	wait_json 10 /apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/a \
		".spec.renewTime != \"$first\""
	# The bridge holds the subnet's first address.
	local cidr
	api GET /api/v1/nodes/a
	cidr=$(jq -r .spec.podCIDR <<< "$OUT")
	in_node a ip -4 -o addr show dev skiff0 | grep -q "${cidr%.0/24}.1/24" ||
		fail "skiff0 lacks ${cidr%.0/24}.1: $(in_node a ip -4 -o addr show)"
}

test_pod_runs_and_reports() {
	node_cluster_start
	node_start a
	api_expect 201 POST /api/v1/namespaces/default/pods \
		"$(pod_json hello 'echo hello from $(hostname); exec sleep 1000')"
	wait_json 30 /api/v1/namespaces/default/pods/hello '.status.phase == "Running" and
		(.status.conditions[] | select(.type == "Ready") | .status) == "True" and
		.status.containerStatuses[0].ready and
		.status.containerStatuses[0].restartCount == 0 and
		(.status.containerStatuses[0].state.running.startedAt != null) and
		.status.hostIP == "192.168.77.11" and .status.podIP != null'
	local ip cidr uid
	ip=$(jq -r .status.podIP <<< "$OUT")
	uid=$(jq -r .metadata.uid <<< "$OUT")
	api GET /api/v1/nodes/a
	cidr=$(jq -r .spec.podCIDR <<< "$OUT")
	check_match "$ip" "^${cidr%.0/24}\.[0-9]+$" "pod address in the node's subnet"
	# Its output is in the log file; its hostname is the pod's name.
	wait_for 10 grep -qs "hello from hello" "$NODE_ROOTS/a/pods/$uid/logs/main/0.log" ||
		fail "no output: $(cat "$NODE_ROOTS"/a/pods/"$uid"/logs/main/* 2>&1)"
	# The node reaches the pod at its address.
	in_node a busybox ping -c 1 -W 2 "$ip" > /dev/null || fail "node cannot reach $ip"
}

test_deployment_across_nodes() {
	node_cluster_start
	node_start a
	node_start b
	api_expect 201 POST /apis/apps/v1/namespaces/default/deployments "$(web_deployment 4)"
	api_expect 201 POST /api/v1/namespaces/default/services "$(web_service)"
	wait_json 60 '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb' \
		'[.items[] | select(.status.phase == "Running" and
			(.status.conditions[] | select(.type == "Ready") | .status) == "True")] |
		 length == 4 and ([.[].spec.nodeName] | unique | length) == 2'
	local pods a_pod b_pod b_ip
	pods=$OUT
	a_pod=$(jq -r '[.items[] | select(.spec.nodeName == "a")][0].metadata.name' <<< "$pods")
	b_pod=$(jq -r '[.items[] | select(.spec.nodeName == "b")][0].metadata.name' <<< "$pods")
	b_ip=$(jq -r '[.items[] | select(.spec.nodeName == "b")][0].status.podIP' <<< "$pods")
	# Pod to pod across nodes, over the overlay.
	check_eq "$(pod_get "$a_pod" "$b_ip:8080")" "$b_pod" "pod on a -> pod on b"
	# Through the ClusterIP: every answer is one of the pods.
	local vip port seen=" " i got
	wait_json 20 /api/v1/namespaces/default/endpoints/web \
		'[.subsets[].addresses[]] | length == 4'
	api GET /api/v1/namespaces/default/services/web
	vip=$(jq -r .spec.clusterIP <<< "$OUT")
	port=$(jq -r '.spec.ports[0].nodePort' <<< "$OUT")
	for i in $(seq 1 12); do
		got=$(pod_get "$a_pod" "$vip:80") || fail "ClusterIP $vip did not answer"
		jq -e --arg n "$got" '[.items[].metadata.name] | index($n)' <<< "$pods" > /dev/null ||
			fail "ClusterIP answered '$got'"
		seen="$seen$got "
	done
	[ "$(tr ' ' '\n' <<< "$seen" | sort -u | grep -c .)" -ge 2 ] ||
		fail "ClusterIP always went to the same pod: $seen"
	# NodePort from the underlay, on either node.
	got=$(timeout 5 busybox wget -qO- "http://192.168.77.12:$port/") ||
		fail "NodePort $port on b did not answer"
	jq -e --arg n "$got" '[.items[].metadata.name] | index($n)' <<< "$pods" > /dev/null ||
		fail "NodePort answered '$got'"
	# The node itself reaches the ClusterIP.
	got=$(in_node b timeout 5 busybox wget -qO- "http://$vip:80/") ||
		fail "node b cannot reach the ClusterIP"
}

test_scale_updates_backends() {
	node_cluster_start
	node_start a
	api_expect 201 POST /apis/apps/v1/namespaces/default/deployments "$(web_deployment 3)"
	api_expect 201 POST /api/v1/namespaces/default/services "$(web_service)"
	api GET /api/v1/namespaces/default/services/web
	local vip
	vip=$(jq -r .spec.clusterIP <<< "$OUT")
	backends() {
		in_node a skiff-dp -b "${SKIFF_BACKEND:-nft}" -j service show |
			jq -e --arg vip "$vip" --argjson n "$1" \
				'[.[] | select(.vip == $vip and .port == 80)][0].backends |
				 length == $n' > /dev/null
	}
	wait_for 60 backends 3 || fail "3 backends never programmed: $(in_node a skiff-dp -b "${SKIFF_BACKEND:-nft}" -j service show)"
	api_expect 200 PATCH /apis/apps/v1/namespaces/default/deployments/web/scale \
		'{"spec":{"replicas":1}}' application/merge-patch+json
	wait_for 30 backends 1 || fail "scaled to 1, backends: $(in_node a skiff-dp -b "${SKIFF_BACKEND:-nft}" -j service show)"
	# externalTrafficPolicy Local: the NodePort keeps clients' addresses.
	local port
	api GET /api/v1/namespaces/default/services/web
	port=$(jq -r '.spec.ports[0].nodePort' <<< "$OUT")
	api_expect 200 PATCH /api/v1/namespaces/default/services/web \
		'{"spec":{"externalTrafficPolicy":"Local"}}' application/merge-patch+json
	nodeport_local() {
		in_node a skiff-dp -b "${SKIFF_BACKEND:-nft}" -j service show |
			jq -e --argjson port "$port" '[.[] | select(.vip == "0.0.0.0" and
				.port == $port)][0].local == true' > /dev/null
	}
	wait_for 20 nodeport_local || fail "NodePort $port not local: $(in_node a skiff-dp -b "${SKIFF_BACKEND:-nft}" -j service show)"
}

test_liveness_failure_restarts() {
	node_cluster_start
	node_start a
	api_expect 201 POST /api/v1/namespaces/default/pods "$(pod_json live \
		'touch /tmp/alive; exec sleep 1000' \
		'{"containers":[{"name":"main","image":"busybox","command":["sh","-c","touch /tmp/alive; exec sleep 1000"],"livenessProbe":{"exec":{"command":["test","-f","/tmp/alive"]},"periodSeconds":1,"timeoutSeconds":5,"failureThreshold":1}}]}')"
	wait_json 30 /api/v1/namespaces/default/pods/live '.status.phase == "Running" and
		.status.containerStatuses[0].restartCount == 0'
	in_pod default live true
	local uid pid
	uid=$(pod_uid default live)
	pid=$(jq -r .pid "$NODE_ROOTS/a/pods/$uid/containers/main-0/started")
	rm "/proc/$pid/root/tmp/alive"
	wait_json 40 /api/v1/namespaces/default/pods/live \
		'.status.containerStatuses[0].restartCount >= 1 and
		 .status.containerStatuses[0].lastState.terminated != null'
	api GET '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dlive'
	jq -e '[.items[] | select(.reason == "Unhealthy")] | length >= 1' <<< "$OUT" > /dev/null ||
		fail "no Unhealthy event: $OUT"
}

test_crash_backs_off() {
	node_cluster_start
	node_start a
	api_expect 201 POST /api/v1/namespaces/default/pods "$(pod_json crash 'echo crashing; exit 3')"
	wait_json 30 /api/v1/namespaces/default/pods/crash \
		'.status.containerStatuses[0].state.waiting.reason == "CrashLoopBackOff" and
		 .status.containerStatuses[0].lastState.terminated.exitCode == 3'
	# The back-off holds it: no restart within the first 10 s.
	local count
	count=$(jq '.status.containerStatuses[0].restartCount' <<< "$OUT")
	[ "$count" -le 1 ] || fail "restarted $count times at once"
	wait_json 30 /api/v1/namespaces/default/pods/crash \
		'.status.containerStatuses[0].restartCount >= 1'
}

test_restart_policy_never_and_onfailure() {
	node_cluster_start
	node_start a
	api_expect 201 POST /api/v1/namespaces/default/pods \
		"$(pod_json ok 'exit 0' '{"restartPolicy":"Never"}')"
	api_expect 201 POST /api/v1/namespaces/default/pods \
		"$(pod_json bad 'exit 2' '{"restartPolicy":"Never"}')"
	api_expect 201 POST /api/v1/namespaces/default/pods \
		"$(pod_json once 'exit 0' '{"restartPolicy":"OnFailure"}')"
	wait_json 30 /api/v1/namespaces/default/pods/ok '.status.phase == "Succeeded" and
		.status.containerStatuses[0].state.terminated.reason == "Completed"'
	wait_json 30 /api/v1/namespaces/default/pods/bad '.status.phase == "Failed" and
		.status.containerStatuses[0].state.terminated.exitCode == 2'
	wait_json 30 /api/v1/namespaces/default/pods/once '.status.phase == "Succeeded" and
		.status.containerStatuses[0].restartCount == 0'
}

test_init_containers_in_order() {
	node_cluster_start
	node_start a
	api_expect 201 POST /api/v1/namespaces/default/pods "$(pod_json init \
		'cat /data/order; exec sleep 1000' \
		'{"volumes":[{"name":"data","emptyDir":{}}],
		  "initContainers":[
		    {"name":"one","image":"busybox","command":["sh","-c","echo one >> /data/order"],
		     "volumeMounts":[{"name":"data","mountPath":"/data"}]},
		    {"name":"two","image":"busybox","command":["sh","-c","echo two >> /data/order"],
		     "volumeMounts":[{"name":"data","mountPath":"/data"}]}],
		  "containers":[{"name":"main","image":"busybox",
		    "command":["sh","-c","cat /data/order; exec sleep 1000"],
		    "volumeMounts":[{"name":"data","mountPath":"/data"}]}]}')"
	wait_json 40 /api/v1/namespaces/default/pods/init '.status.phase == "Running" and
		([.status.initContainerStatuses[].state.terminated.reason] == ["Completed","Completed"]) and
		(.status.conditions[] | select(.type == "Initialized") | .status) == "True"'
	local uid
	uid=$(jq -r .metadata.uid <<< "$OUT")
	wait_for 10 grep -qs two "$NODE_ROOTS/a/pods/$uid/logs/main/0.log"
	check_eq "$(tr '\n' ' ' < "$NODE_ROOTS/a/pods/$uid/logs/main/0.log")" "one two " \
		"what the init containers wrote, in order"
}

test_readiness_gates_endpoints() {
	node_cluster_start
	node_start a
	api_expect 201 POST /api/v1/namespaces/default/pods "$(pod_json ready 'exec sleep 1000' \
		'{"containers":[{"name":"main","image":"busybox","command":["sh","-c","exec httpd -f -p 8080 -h /tmp"],
		  "readinessProbe":{"exec":{"command":["test","-f","/tmp/ready"]},"periodSeconds":1,"timeoutSeconds":5}}]}' |
		jq -c '.metadata.labels = {app: "r"}')"
	api_expect 201 POST /api/v1/namespaces/default/services \
		'{"apiVersion":"v1","kind":"Service","metadata":{"name":"r"},"spec":{"selector":{"app":"r"},"ports":[{"port":80,"targetPort":8080}]}}'
	wait_json 30 /api/v1/namespaces/default/pods/ready '.status.phase == "Running" and
		(.status.conditions[] | select(.type == "Ready") | .status) == "False"'
	wait_json 20 /api/v1/namespaces/default/endpoints/r \
		'[.subsets[]?.notReadyAddresses[]?] | length == 1'
	in_pod default ready true
	local uid pid
	uid=$(pod_uid default ready)
	pid=$(jq -r .pid "$NODE_ROOTS/a/pods/$uid/containers/main-0/started")
	touch "/proc/$pid/root/tmp/ready"
	wait_json 20 /api/v1/namespaces/default/endpoints/r \
		'[.subsets[]?.addresses[]?] | length == 1'
	wait_json 10 /api/v1/namespaces/default/pods/ready \
		'(.status.conditions[] | select(.type == "Ready") | .status) == "True"'
}

test_delete_is_graceful() {
	node_cluster_start
	node_start a
	api_expect 201 POST /api/v1/namespaces/default/pods "$(pod_json bye \
		'trap "echo got TERM; exit 0" TERM; echo started; while true; do sleep 0.1; done')"
	wait_json 30 /api/v1/namespaces/default/pods/bye '.status.phase == "Running"'
	local uid ip
	uid=$(jq -r .metadata.uid <<< "$OUT")
	ip=$(jq -r .status.podIP <<< "$OUT")
	wait_for 10 grep -qs started "$NODE_ROOTS/a/pods/$uid/logs/main/0.log"
	tail -f "$NODE_ROOTS/a/pods/$uid/logs/main/0.log" > "$API_DIR/bye.log" 2>/dev/null &
	local tailer=$!
	api_expect 200 DELETE /api/v1/namespaces/default/pods/bye
	wait_for 20 api_code_is 404 GET /api/v1/namespaces/default/pods/bye ||
		fail "pod not gone: $OUT"
	# tail -f reads what was appended before the file went.
	wait_for 5 grep -q "got TERM" "$API_DIR/bye.log" || true
	kill $tailer 2>/dev/null || true
	grep -q "got TERM" "$API_DIR/bye.log" || fail "no SIGTERM seen: $(cat "$API_DIR/bye.log")"
	# Its namespace, address and directory are released.
	[ ! -e "$NODE_ROOTS/a/pods/$uid" ] || fail "pod directory left: $(ls -R "$NODE_ROOTS/a/pods/$uid")"
	! grep -rqs "$uid" "$NODE_ROOTS/a/ipam" || fail "address $ip still held"
}

test_agent_restart_keeps_pods() {
	node_cluster_start
	node_start a
	api_expect 201 POST /api/v1/namespaces/default/pods "$(pod_json keep \
		'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www' |
		jq -c '.metadata.labels = {app: "web"}')"
	api_expect 201 POST /api/v1/namespaces/default/services "$(web_service)"
	wait_json 30 /api/v1/namespaces/default/pods/keep '.status.phase == "Running"'
	local uid ip pid vip
	uid=$(jq -r .metadata.uid <<< "$OUT")
	ip=$(jq -r .status.podIP <<< "$OUT")
	pid=$(jq -r .pid "$NODE_ROOTS/a/pods/$uid/containers/main-0/started")
	api GET /api/v1/namespaces/default/services/web
	vip=$(jq -r .spec.clusterIP <<< "$OUT")
	wait_for 20 in_node a timeout 5 busybox wget -qO- "http://$vip:80/" > /dev/null ||
		fail "the Service never answered"
	node_stop a KILL
	check_eq "$(in_node a timeout 5 busybox wget -qO- "http://$ip:8080/")" keep \
		"the pod answers while its agent is down"
	check_eq "$(in_node a timeout 5 busybox wget -qO- "http://$vip:80/")" keep \
		"so does its Service"
	node_agent a
	wait_for 30 grep -qs "node a up" "$API_DIR/node-a.log"
	wait_json 20 /api/v1/namespaces/default/pods/keep '.status.phase == "Running" and
		.status.containerStatuses[0].restartCount == 0 and
		(.status.conditions[] | select(.type == "Ready") | .status) == "True"'
	kill -0 "$pid" || fail "the container's process $pid is gone"
	check_eq "$(jq -r .status.podIP <<< "$OUT")" "$ip" "address kept"
	check_eq "$(in_node a timeout 5 busybox wget -qO- "http://$vip:80/")" keep \
		"the Service answers after the restart"
	# Exit codes of adopted containers still reach the status (SIGKILL:
	# httpd is its namespace's init, which ignores SIGTERM).
	kill -KILL "$pid"
	wait_json 30 /api/v1/namespaces/default/pods/keep \
		'.status.containerStatuses[0].restartCount >= 1 or
		 .status.containerStatuses[0].lastState.terminated != null'
}

test_node_lost_pods_replaced() {
	node_cluster_start
	node_start a
	node_start b
	api_expect 201 POST /apis/apps/v1/namespaces/default/deployments "$(web_deployment 2)"
	wait_json 60 '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb' \
		'[.items[] | select(.status.phase == "Running")] | length == 2'
	node_stop b KILL
	wait_json 30 /api/v1/nodes/b \
		'(.status.conditions[] | select(.type == "Ready") | .status) != "True"'
	wait_json 60 '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb' \
		'[.items[] | select(.status.phase == "Running" and .spec.nodeName == "a" and
			.metadata.deletionTimestamp == null)] | length == 2'
}

test_missing_image_said_clearly() {
	node_cluster_start
	node_start a
	api_expect 201 POST /api/v1/namespaces/default/pods \
		"$(pod_json noimg 'true' '{"containers":[{"name":"main","image":"example.com/nope:1.0"}]}')"
	wait_json 30 /api/v1/namespaces/default/pods/noimg '.status.phase == "Pending" and
		.status.containerStatuses[0].state.waiting.reason == "ErrImageNeverPull" and
		(.status.containerStatuses[0].state.waiting.message | contains("example.com/nope:1.0"))'
}

test_bad_flags_refused() {
	local out
	for args in "--node-name Bad_Name" "--node-name a --service-cidr 10.96.0.1/12" \
		"--node-name a --cluster-cidr nope" "--node-name a --node-ip 1.2.3" \
		"--node-name a --dataplane fast" "--node-name a --runtime docker" \
		"--node-name a --mtu 100" "--node-name a --heartbeat 0s" "" "--node-name a extra"; do
		# shellcheck disable=SC2086
		if out=$(skiff-node $args --root-dir "$API_DIR/flags" 2>&1); then
			fail "skiff-node $args started"
		fi
		check_match "$out" "skiff-node: " "a message for '$args'"
	done
	[ ! -e "$API_DIR/flags" ] || fail "a refused start left $API_DIR/flags"
}

run_tests test_node_registers test_pod_runs_and_reports test_deployment_across_nodes \
	test_scale_updates_backends test_liveness_failure_restarts test_crash_backs_off \
	test_restart_policy_never_and_onfailure test_init_containers_in_order \
	test_readiness_gates_endpoints test_delete_is_graceful test_agent_restart_keeps_pods \
	test_node_lost_pods_replaced test_missing_image_said_clearly test_bad_flags_refused
