#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What skiff-node gives a container besides its command: environment and
# files from ConfigMaps and Secrets, the security context, resource limits,
# and images that arrive after the pod. A real control plane and one node
# as a network namespace (topology: selftests/lib-node.sh).

source "$(dirname "$0")/../lib-node.sh"

# The log of the current run of container main of pod $1.
pod_log() {
	local uid

	uid=$(pod_uid default "$1")
	cat "$NODE_ROOTS/a/pods/$uid/logs/main/0.log" 2>/dev/null
}

log_has() {
	pod_log "$1" | grep -q -- "$2"
}

test_configmap_and_secret() {
	node_cluster_start
	node_start a
	api_expect 201 POST /api/v1/namespaces/default/configmaps \
		'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"color":"blue","size":"7"}}'
	api_expect 201 POST /api/v1/namespaces/default/secrets \
		'{"apiVersion":"v1","kind":"Secret","metadata":{"name":"sec"},"data":{"password":"czNjcjN0"}}'
	api_expect 201 POST /api/v1/namespaces/default/pods "$(pod_json cfg \
		'echo "COLOR=$COLOR PW=$PW SIZE=$cfg_size"; cat /etc/cfg/color; echo; cat /etc/sec/password; echo;
		 stat -L -c "mode=%a" /etc/sec/password; df -t tmpfs /etc/sec > /dev/null && echo on-tmpfs;
		 exec sleep 1000' \
		'{"volumes":[{"name":"c","configMap":{"name":"cfg"}},{"name":"s","secret":{"secretName":"sec"}}]}' \
		'{"env":[{"name":"COLOR","valueFrom":{"configMapKeyRef":{"name":"cfg","key":"color"}}},
			 {"name":"PW","valueFrom":{"secretKeyRef":{"name":"sec","key":"password"}}}],
		  "envFrom":[{"prefix":"cfg_","configMapRef":{"name":"cfg"}}],
		  "volumeMounts":[{"name":"c","mountPath":"/etc/cfg"},{"name":"s","mountPath":"/etc/sec"}]}')"
	wait_json 30 /api/v1/namespaces/default/pods/cfg '.status.phase == "Running"'
	wait_for 10 log_has cfg on-tmpfs || fail "output: $(pod_log cfg)"
	local out
	out=$(pod_log cfg)
	check_match "$out" "COLOR=blue PW=s3cr3t SIZE=7" "environment from the ConfigMap and Secret"
	check_match "$out" "^blue$" "the ConfigMap's key as a file"
	check_match "$out" "^s3cr3t$" "the Secret's key as a file"
	check_match "$out" "mode=400" "the secret file's mode"
	# A changed ConfigMap reaches the running pod's files.
	local uid pid
	uid=$(pod_uid default cfg)
	pid=$(jq -r .pid "$NODE_ROOTS/a/pods/$uid/containers/main-0/started")
	api_expect 200 PATCH /api/v1/namespaces/default/configmaps/cfg \
		'{"data":{"color":"green"}}' application/merge-patch+json
	color_is() {
		[ "$(cat "/proc/$pid/root/etc/cfg/color" 2>/dev/null)" = "$1" ]
	}
	# At once when the informer's event comes; at the latest at the
	# kubelet's 60 s resync (the emulator's VM has been seen to need it).
	wait_for 75 color_is green ||
		fail "color is still '$(cat "/proc/$pid/root/etc/cfg/color")'"
}

test_missing_configmap_waits() {
	node_cluster_start
	node_start a
	api_expect 201 POST /api/v1/namespaces/default/pods "$(pod_json late \
		'echo "COLOR=$COLOR"; exec sleep 1000' '{}' \
		'{"env":[{"name":"COLOR","valueFrom":{"configMapKeyRef":{"name":"late","key":"color"}}}]}')"
	wait_json 30 /api/v1/namespaces/default/pods/late '.status.phase == "Pending" and
		.status.containerStatuses[0].state.waiting.reason == "CreateContainerConfigError" and
		(.status.containerStatuses[0].state.waiting.message | contains("late"))'
	# Once it exists the container starts (at the next retry).
	api_expect 201 POST /api/v1/namespaces/default/configmaps \
		'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"late"},"data":{"color":"red"}}'
	wait_json 30 /api/v1/namespaces/default/pods/late '.status.phase == "Running"'
	wait_for 10 log_has late "COLOR=red" || fail "output: $(pod_log late)"
}

test_security_context() {
	node_cluster_start
	node_start a
	api_expect 201 POST /api/v1/namespaces/default/pods "$(pod_json sec \
		'echo "uid=$(id -u) gid=$(id -g)"; touch /x 2> /dev/null || echo read-only;
		 grep CapEff /proc/self/status; exec sleep 1000' \
		'{"securityContext":{"runAsUser":1000,"runAsGroup":3000}}' \
		'{"securityContext":{"readOnlyRootFilesystem":true,"capabilities":{"drop":["ALL"]}}}')"
	wait_json 30 /api/v1/namespaces/default/pods/sec '.status.phase == "Running"'
	wait_for 10 log_has sec CapEff || fail "output: $(pod_log sec)"
	local out
	out=$(pod_log sec)
	check_match "$out" "uid=1000 gid=3000" "runAsUser and runAsGroup"
	check_match "$out" "^read-only$" "readOnlyRootFilesystem"
	check_match "$out" "CapEff:[[:space:]]+0+$" "capabilities dropped"
}

test_memory_limit() {
	node_cluster_start
	node_start a
	api_expect 201 POST /api/v1/namespaces/default/pods "$(pod_json mem \
		'echo "limit=$(cat /sys/fs/cgroup/memory.max 2> /dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"; exec sleep 1000' \
		'{}' '{"resources":{"limits":{"memory":"64Mi","cpu":"500m"}}}')"
	wait_json 30 /api/v1/namespaces/default/pods/mem '.status.phase == "Running" and
		.status.qosClass == "Guaranteed"'
	wait_for 10 log_has mem limit= || fail "output: $(pod_log mem)"
	check_match "$(pod_log mem)" "limit=67108864" "the memory limit in the container's cgroup"
}

test_image_imported_later() {
	node_cluster_start
	node_start a
	api_expect 201 POST /api/v1/namespaces/default/pods "$(pod_json tool \
		'exec sleep 1000' '{}' '{"image":"lab/tools:1.0"}')"
	wait_json 30 /api/v1/namespaces/default/pods/tool \
		'.status.containerStatuses[0].state.waiting.reason == "ErrImageNeverPull"'
	# A root file system tarball, imported by hand: the pod then starts.
	local rootfs=$API_DIR/rootfs
	mkdir -p "$rootfs/bin"
	cp /bin/busybox "$rootfs/bin/busybox"
	ln -s busybox "$rootfs/bin/sh"
	ln -s busybox "$rootfs/bin/sleep"
	tar -C "$rootfs" -czf "$API_DIR/tools.tar.gz" .
	skiff-node image import --image-dir "$NODE_IMAGES" lab/tools:1.0 "$API_DIR/tools.tar.gz"
	skiff-node image list --image-dir "$NODE_IMAGES" | grep -q "lab/tools:1.0" ||
		fail "image list: $(skiff-node image list --image-dir "$NODE_IMAGES")"
	wait_json 30 /api/v1/namespaces/default/pods/tool '.status.phase == "Running"'
	skiff-node image rm --image-dir "$NODE_IMAGES" lab/tools:1.0
}

test_image_update_restarts_container() {
	node_cluster_start
	node_start a
	skiff-node image build-from-host --image-dir "$NODE_IMAGES" busybox:v2 /bin/busybox \
		> /dev/null
	api_expect 201 POST /api/v1/namespaces/default/pods "$(pod_json upd 'exec sleep 1000')"
	wait_json 30 /api/v1/namespaces/default/pods/upd '.status.phase == "Running"'
	api_expect 200 PATCH /api/v1/namespaces/default/pods/upd \
		'{"spec":{"containers":[{"name":"main","image":"busybox:v2"}]}}' \
		application/strategic-merge-patch+json
	wait_json 30 /api/v1/namespaces/default/pods/upd '.status.phase == "Running" and
		.status.containerStatuses[0].image == "busybox:v2" and
		.status.containerStatuses[0].restartCount == 1 and
		.status.containerStatuses[0].state.running != null'
}

# httpGet readiness, tcpSocket liveness, and a startup probe gating both.
test_http_and_tcp_probes() {
	node_cluster_start
	node_start a
	api_expect 201 POST /api/v1/namespaces/default/pods "$(pod_json web \
		'mkdir -p /www && echo ok > /www/healthz && exec httpd -f -p 8080 -h /www' '{}' \
		'{"ports":[{"name":"http","containerPort":8080}],
		  "startupProbe":{"tcpSocket":{"port":8080},"periodSeconds":1,"failureThreshold":30},
		  "livenessProbe":{"tcpSocket":{"port":"http"},"periodSeconds":1},
		  "readinessProbe":{"httpGet":{"path":"/healthz","port":"http"},"periodSeconds":1}}')"
	wait_json 30 /api/v1/namespaces/default/pods/web '.status.phase == "Running" and
		.status.containerStatuses[0].started and .status.containerStatuses[0].ready and
		(.status.conditions[] | select(.type == "Ready") | .status) == "True"'
	# The readiness URL going away makes it unready, not restarted.
	local uid pid
	uid=$(jq -r .metadata.uid <<< "$OUT")
	pid=$(jq -r .pid "$NODE_ROOTS/a/pods/$uid/containers/main-0/started")
	rm "/proc/$pid/root/www/healthz"
	wait_json 20 /api/v1/namespaces/default/pods/web \
		'(.status.conditions[] | select(.type == "Ready") | .status) == "False" and
		 .status.containerStatuses[0].restartCount == 0'
}

test_host_network_pod() {
	node_cluster_start
	node_start a
	api_expect 201 POST /api/v1/namespaces/default/pods "$(pod_json hostnet \
		'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 9090 -h /www' \
		'{"hostNetwork":true}')"
	wait_json 30 /api/v1/namespaces/default/pods/hostnet '.status.phase == "Running" and
		.status.podIP == "192.168.77.11"'
	# It listens in the node's own namespace: reachable on the node's address.
	local got
	wait_for 10 timeout 3 busybox wget -qO- http://192.168.77.11:9090/ > /dev/null ||
		fail "nothing on 192.168.77.11:9090"
	got=$(timeout 3 busybox wget -qO- http://192.168.77.11:9090/)
	check_eq "$got" hostnet "the hostNetwork pod's answer"
	api_expect 200 DELETE /api/v1/namespaces/default/pods/hostnet
	wait_for 20 api_code_is 404 GET /api/v1/namespaces/default/pods/hostnet ||
		fail "pod not gone"
	! timeout 3 busybox wget -qO- http://192.168.77.11:9090/ > /dev/null 2>&1 ||
		fail "still answering after deletion"
}

test_bad_image_commands_refused() {
	local out
	if out=$(skiff-node image import --image-dir "$API_DIR/img" 'Bad Ref' /etc/hostname 2>&1); then
		fail "a bad reference was imported"
	fi
	check_match "$out" "skiff-node" "a message"
	if out=$(skiff-node image import --image-dir "$API_DIR/img" ok:1 /etc/hostname 2>&1); then
		fail "a file that is no tarball was imported"
	fi
	if out=$(skiff-node image frobnicate 2>&1); then
		fail "an unknown image command ran"
	fi
	[ -z "$(ls -A "$API_DIR/img" 2>/dev/null | grep -v '^\.')" ] ||
		fail "refused imports left $(ls -A "$API_DIR/img")"
}

run_tests test_configmap_and_secret test_missing_configmap_waits test_security_context \
	test_memory_limit test_image_imported_later test_image_update_restarts_container \
	test_http_and_tcp_probes test_host_network_pod test_bad_image_commands_refused
