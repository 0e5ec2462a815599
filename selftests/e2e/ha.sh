#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End to end, high availability: two masters on one etcd, each with its
# apiserver, controller manager and scheduler (these two elect a leader
# through a Lease), and two nodes, all on TLS with a certificate per
# component; driven with kubectl as a user drives it. One master's
# apiserver is killed, then the scheduler leader, then the controller
# manager leader: each time the cluster goes on through what is left, and
# the pods that ran keep running where they ran.
#
#   this file's own network namespace (lib-node.sh): the underlay
#   +----------------------------------------------------------------------+
#   | etcd https://127.0.0.1 (client certificates of the cluster CA)        |
#   | master 1: apiserver https://192.168.77.1:6443, cm-1, sched-1 ─┐       |
#   | master 2: apiserver https://192.168.77.2:6443, cm-2, sched-2 ─┴ etcd  |
#   |                            ul0 (bridge)                              |
#   +-----------------+----------------------------------+-----------------+
#                     |                                  |
#            +--------+--------+                +--------+--------+
#            | node a .77.11   |                | node b .77.12   |
#            | skiff-node ──▶ apiserver 1       | skiff-node ──▶ apiserver 2
#            +-----------------+                +-----------------+
#
# Master 2 is made as kubeadm joins a control-plane node: the cluster CA is
# copied to its own PKI directory, where its apiserver (SAN 192.168.77.2),
# etcd client, admin, scheduler and controller-manager certificates are
# issued.
#
# One cluster serves every case, in order; it goes when the file exits.

source "$(dirname "$0")/../lib-node.sh"

etcd_or_skip

# Short leader election, so that a failover takes seconds: the survivor
# takes a lease once it has seen no renewal for LEASE_MS.
# etcd on https, with client certificates (lib-apiserver.sh's etcd_start).
ETCD_TLS=1
# They grow with SKIFF_TIME_SCALE: in the emulated VM a leader renewing
# every second still misses 3 s deadlines, and the leaders keep changing.
LEASE_MS=$(t 4000)
RETRY_MS=$(t 1000)
ELECT=(--leader-elect --leader-elect-lease-duration "$(t 4)s"
       --leader-elect-renew-deadline "$(t 3)s" --leader-elect-retry-period "$(t 1)s")
A2_IP=192.168.77.2
PKI2=$API_DIR/pki-2
K1=$KUBECONFIG
K2=$API_DIR/admin-2.conf
CONTROL=(sched-1 sched-2 cm-1 cm-2)

k1() {
	k --kubeconfig "$K1" --request-timeout=10s "$@"
}

k2() {
	k --kubeconfig "$K2" --request-timeout=10s "$@"
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# pods_of SELECTOR: "NAME UID NODE PHASE RESTARTS" a line, "-" for what
# is not set yet, through apiserver 2.
pods_of() {
	k2 get pods -l "$1" -o json | jq -r '.items | sort_by(.metadata.name)[] |
		[.metadata.name, .metadata.uid, .spec.nodeName // "-", .status.phase // "-",
		 (.status.containerStatuses[0].restartCount // "-" | tostring)] | join(" ")'
}

running_count() {
	pods_of "$1" | awk '$4 == "Running"' | wc -l
}

# running_is SELECTOR N: N pods of SELECTOR run.
running_is() {
	[ "$(running_count "$1")" = "$2" ]
}

# all_scheduled SELECTOR N: N pods, each on a node.
all_scheduled() {
	local pods

	pods=$(pods_of "$1")
	[ "$(awk '$3 != "-"' <<< "$pods" | wc -l)" = "$2" ] && [ "$(wc -l <<< "$pods")" = "$2" ]
}

# running_on SELECTOR NODE: every pod on NODE runs.
running_on() {
	! pods_of "$1" | awk -v node="$2" '$3 == node && $4 != "Running"' | grep -q .
}

# control_start NAME: sched-N or cm-N of master N, on master N's
# apiserver with master N's certificate; its identity is NAME.
control_start() {
	local name=$1 n=${1##*-} server=$A1 pki=$API_PKI cert=scheduler
	local prog=skiff-scheduler

	if [ "$n" = 2 ]; then
		server=$A2
		pki=$PKI2
	fi
	if [ "${name%-*}" = cm ]; then
		cert=controller-manager
		prog=skiff-controller-manager
	fi
	API=$server API_PKI=$pki api_kubeconfig "$cert" "$API_DIR/$name.conf"
	daemon_start "$name" "$prog" --kubeconfig "$API_DIR/$name.conf" \
		--leader-elect-identity "$name" "${ELECT[@]}"
}

pid_of() {
	cat "$API_DIR/$1.pid"
}

alive() {
	[ -s "$API_DIR/$1.pid" ] && ! apiserver_gone "$(pid_of "$1")"
}

# What systemd's Restart=always does for a daemon that exited (a leader
# that cannot renew its lease exits, as Kubernetes' do): says so, and
# starts it again.
control_restart_exited() {
	local name

	for name in "${CONTROL[@]}"; do
		alive "$name" && continue
		echo "$name is gone (its log ends: $(tail -n 1 "$API_DIR/$name.log"));" \
			"started again"
		mv "$API_DIR/$name.log" "$API_DIR/$name.log.1"
		control_start "$name"
	done
}

# holder LEASE: its holder, read through apiserver 2.
holder() {
	k2 get lease -n kube-system "$1" -o jsonpath='{.spec.holderIdentity}'
}

holder_is() {
	[ "$(holder "$1")" = "$2" ]
}

transitions() {
	k2 get lease -n kube-system "$1" -o jsonpath='{.spec.leaseTransitions}'
}

# leader_of LEASE: the daemon of the holder, checked against the
# --leader-elect-identity on its command line.
leader_of() {
	local who pid

	who=$(holder "$1")
	[ -n "$who" ] || fail "lease $1 has no holder"
	pid=$(pid_of "$who")
	tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "--leader-elect-identity $who " ||
		fail "$who (pid $pid) is not the process with identity $who"
	echo "$who"
}

other_of() {
	case $1 in
	*-1) echo "${1%-1}-2" ;;
	*) echo "${1%-2}-1" ;;
	esac
}

# leader_failover LEASE: SIGKILLs its holder, and waits for the other
# candidate to hold it; says how long it took. Leaves the new leader in
# NEW_LEADER. The candidate sees the last renewal at its next retry (at
# most a retry period after it), takes the lease at its first retry a
# lease duration after that: at most a lease and two retry periods after
# the kill (client-go's bound too); one more second for kubectl's polls.
leader_failover() {
	local lease=$1 old new before t0 ms limit=$((LEASE_MS + 2 * RETRY_MS + 1000))

	old=$(leader_of "$lease")
	new=$(other_of "$old")
	alive "$new" || fail "$new, the other candidate, is not running"
	before=$(transitions "$lease")
	t0=$(now_ms)
	kill -KILL "$(pid_of "$old")"
	wait_for 30 holder_is "$lease" "$new" ||
		fail "$new did not take $lease: holder $(holder "$lease") $(daemon_logs)"
	ms=$(($(now_ms) - t0))
	echo "$lease: $old killed, $new took over after $ms ms"
	[ "$ms" -le "$limit" ] ||
		fail "$new took $lease after $ms ms, more than $limit ms"
	check_eq "$(transitions "$lease")" "$((before + 1))" "$lease's leaseTransitions"
	NEW_LEADER=$new
}

ha_setup() {
	local cert name

	etcd_start || return 1
	# shellcheck disable=SC2034 # apiserver_run's, kept for its restarts
	API_PORT=6443
	apiserver_start || return 1
	A1=$API
	ip addr add "$A2_IP/24" dev ul0 || return 1
	mkdir -m 0700 "$PKI2" || return 1
	cp -p "$API_PKI/ca.crt" "$API_PKI/ca.key" "$PKI2/" || return 1
	skiffctl certs issue --dir "$PKI2" apiserver --san "$A2_IP" > /dev/null || return 1
	for cert in admin scheduler controller-manager apiserver-etcd-client; do
		skiffctl certs issue --dir "$PKI2" "$cert" > /dev/null || return 1
	done
	API_PKI=$PKI2 apiserver_spawn A2 apiserver-2 --listen "$A2_IP:6443" \
		--etcd-certfile "$PKI2/apiserver-etcd-client.crt" \
		--etcd-keyfile "$PKI2/apiserver-etcd-client.key" || return 1
	check_eq "$A2" "https://$A2_IP:6443" "apiserver 2's URL" || return 1
	API=$A2 API_PKI=$PKI2 api_kubeconfig admin "$K2" || return 1
	for name in "${CONTROL[@]}"; do
		control_start "$name"
	done
	NODE_SERVER[b]=$A2
	node_start a || return 1
	node_start b || return 1
	echo "$(pid_of node-a) $(pid_of node-b)" > "$API_DIR/agents"
}

ha_teardown() {
	local file name

	# The agents (while their apiservers answer) and the control plane
	# first, then what the nodes hold, then (apiserver_cleanup) the
	# apiservers and etcd.
	for file in "$API_DIR"/node-*.pid "$API_DIR"/*.pid; do
		name=$(basename "$file" .pid)
		[ "$name" = etcd ] || daemon_stop "$name"
	done
	case_cleanup_more
}
trap 'ha_teardown; apiserver_cleanup; cleanup_netns' EXIT

# The cluster outlives each case (lib.sh would tear it down with each).
case_exit() {
	:
}

SETUP_START=$SECONDS
ha_setup > "$API_DIR/setup.log" 2>&1
SETUP_STATUS=$?
SETUP_TIME=$((SECONDS - SETUP_START))

need_cluster() {
	[ "$SETUP_STATUS" = 0 ] || fail "no cluster (the first case says why)"
}

# Each Node's NAME=READY, through apiserver 1.
ready_nodes() {
	k1 get nodes -o json |
		jq -r '[.items[] | .metadata.name + "=" +
			(.status.conditions[] | select(.type == "Ready") | .status)] | join(" ")'
}

both_led() {
	! holder_is skiff-scheduler "" && ! holder_is skiff-controller-manager ""
}

test_cluster_up() {
	cat "$API_DIR/setup.log"
	[ "$SETUP_STATUS" = 0 ] || fail "setup failed: $(daemon_logs)"
	echo "two masters and two nodes up in $SETUP_TIME s"
	wait_for 30 both_led ||
		fail "no leaders: $(daemon_logs)"
	echo "leaders: $(leader_of skiff-scheduler), $(leader_of skiff-controller-manager)"
	check_eq "$(ready_nodes)" \
		"a=True b=True" "two Ready nodes through apiserver 1"
}

test_deployment_through_one_seen_through_the_other() {
	local pod

	need_cluster
	k1 apply -f - > /dev/null <<-EOF
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: web}
	spec:
	  replicas: 2
	  selector: {matchLabels: {app: web}}
	  template:
	    metadata: {labels: {app: web}}
	    spec:
	      terminationGracePeriodSeconds: 1
	      containers:
	      - {name: c, image: busybox, command: [sh, -c, "echo web started; exec sleep 100000"]}
	EOF
	check_eq "$(k2 get deployment web -o jsonpath='{.spec.replicas}')" 2 \
		"the Deployment through apiserver 2"
	wait_for 60 running_is app=web 2 ||
		fail "web: $(pods_of app=web) $(daemon_logs)"
	check_eq "$(pods_of app=web | awk '{ print $3 }' | sort | tr '\n' ' ')" "a b " \
		"one web pod on each node"
	check_eq "$(k1 get pods -l app=web -o name | sort | tr '\n' ' ')" \
		"$(k2 get pods -l app=web -o name | sort | tr '\n' ' ')" \
		"the same pods through both"
	# Logs through apiserver 2 from both nodes, node a's agent being a
	# client of apiserver 1: apiserver 2 reaches it on :10250 with its own
	# certificate.
	for pod in $(pods_of app=web | awk '{ print $1 }'); do
		wait_for 20 eval 'k2 logs '"$pod"' 2> /dev/null | grep -q "web started"' ||
			fail "kubectl logs $pod through apiserver 2: $(k2 logs "$pod" 2>&1)"
	done
	pods_of app=web > "$API_DIR/web-pods"
}

# writer FILE: creates ConfigMaps through apiserver 1 as fast as it
# answers, each one it acknowledged (201) a line of FILE, until it fails
# (the last answer in FILE.body, curl's errors in FILE.err).
writer() {
	local i=0 code

	while :; do
		i=$((i + 1))
		code=$(acurl -sS -o "$1.body" -w '%{http_code}' --max-time 5 -X POST \
			-H 'Content-Type: application/json' \
			--data-binary "$(writer_cm "$i")" \
			"$A1/api/v1/namespaces/default/configmaps" 2>> "$1.err") || break
		[ "$code" = 201 ] || break
		echo "w-$i" >> "$1"
	done
}

writer_cm() {
	jq -nc --arg i "$1" '{kind: "ConfigMap", apiVersion: "v1",
		metadata: {name: ("w-" + $i), labels: {writer: "1"}}, data: {i: $i}}' 
}

lines_at_least() {
	[ "$(wc -l < "$1")" -ge "$2" ]
}

test_apiserver_killed_kubectl_goes_on() {
	local acked=$API_DIR/acked pid wpid n t0 name missing pod

	need_cluster
	k1 create configmap before --from-literal=k=v > /dev/null
	: > "$acked"
	# Not on the case's output: run_tests reads that to its end, which a
	# writer left running (a failure below) would never give it.
	writer "$acked" > /dev/null 2>&1 &
	wpid=$!
	if ! wait_for 20 lines_at_least "$acked" 30; then
		kill "$wpid"
		fail "the writer is slow: $(wc -l < "$acked") acknowledged," \
			"then $(cat "$acked.body" "$acked.err")"
	fi
	pid=$(cat "$API_DIR/pid")
	kill -KILL "$pid"
	t0=$SECONDS
	wait_for 10 apiserver_gone "$pid" || fail "apiserver 1 did not die"
	wait "$wpid" || true
	n=$(wc -l < "$acked")
	echo "$n ConfigMaps acknowledged by apiserver 1 before its SIGKILL," \
		"then: $(cat "$acked.err")"
	! k1 get configmap before --request-timeout=3s > /dev/null 2>&1 ||
		fail "apiserver 1 still answers"
	# Everything acknowledged is there, through apiserver 2.
	k2 get configmaps -l writer=1 -o name | sed 's,^configmap/,,' | sort > "$API_DIR/seen"
	missing=$(sort "$acked" | comm -23 - "$API_DIR/seen")
	[ -z "$missing" ] || fail "acknowledged but lost: $missing"
	check_eq "$(k2 get configmap before -o jsonpath='{.data.k}')" v "kubectl's ConfigMap"
	k2 delete configmap before > /dev/null
	for name in $(shuf -n 5 "$acked"); do
		check_eq "$(k2 get configmap "$name" -o jsonpath='{.data.i}')" "${name#w-}" \
			"$name's data"
	done
	# kubectl through apiserver 2: create, scale, get.
	k2 create deployment side --image=busybox --replicas=2 -- sleep 100000 > /dev/null
	k2 scale deployment side --replicas=3 > /dev/null
	check_eq "$(k2 get deployment side -o jsonpath='{.spec.replicas}')" 3 "side's replicas"
	k2 create configmap during --from-literal=k=down > /dev/null
	# The control plane goes on on apiserver 2 (a leader on apiserver 1
	# cannot renew: it exits, and its rival on apiserver 2 takes over).
	wait_for 40 all_scheduled app=side 3 ||
		fail "side's pods: $(pods_of app=side) $(daemon_logs)"
	wait_for 30 running_on app=side b ||
		fail "side's pods on node b (apiserver 2's): $(pods_of app=side)"
	echo "side scheduled and running on b $((SECONDS - t0)) s after the kill:" \
		"$(pods_of app=side | awk '{ print $3 "/" $4 }' | tr '\n' ' ')"
	# Apiserver 1 again, on its port: it serves what was written without it.
	apiserver_run
	check_eq "$API" "$A1" "apiserver 1's URL"
	check_eq "$(k1 get configmap during -o jsonpath='{.data.k}')" down \
		"apiserver 1 back: during"
	check_eq "$(k1 get deployment side -o jsonpath='{.spec.replicas}')" 3 \
		"apiserver 1 back: side"
	! k1 get configmap before > /dev/null 2>&1 || fail "apiserver 1 serves what 2 deleted"
	pod=$(pods_of app=web | awk '$3 == "b" { print $1 }')
	k1 logs "$pod" | grep -q "web started" || fail "kubectl logs $pod through apiserver 1"
	check_eq "$(k1 get configmaps -l writer=1 -o name | wc -l)" "$(wc -l < "$API_DIR/seen")" \
		"apiserver 1 back: the writer's ConfigMaps"
	# Node a, a client of apiserver 1, runs its share too.
	wait_for 60 running_is app=side 3 ||
		fail "side: $(pods_of app=side) $(daemon_logs)"
	control_restart_exited
}

test_scheduler_leader_killed() {
	need_cluster
	control_restart_exited
	leader_failover skiff-scheduler
	k2 create deployment after-sched --image=busybox --replicas=2 -- sleep 100000 > /dev/null
	wait_for 30 running_is app=after-sched 2 ||
		fail "after-sched: $(pods_of app=after-sched) $(daemon_logs)"
	check_eq "$(holder skiff-scheduler)" "$NEW_LEADER" "the new leader keeps the lease"
}

test_controller_manager_leader_killed() {
	need_cluster
	control_restart_exited
	leader_failover skiff-controller-manager
	k2 scale deployment side --replicas=4 > /dev/null
	wait_for 30 running_is app=side 4 ||
		fail "side after the scale-up: $(pods_of app=side) $(daemon_logs)"
	check_eq "$(k2 get deployment side -o jsonpath='{.status.readyReplicas}')" 4 \
		"side's status, kept by the new leader"
}

test_agents_kept_their_pods() {
	local restarts

	need_cluster
	check_eq "$(pid_of node-a) $(pid_of node-b)" "$(cat "$API_DIR/agents")" "the agents' pids"
	alive node-a || fail "node a's agent is gone"
	alive node-b || fail "node b's agent is gone"
	check_eq "$(pods_of app=web)" "$(cat "$API_DIR/web-pods")" \
		"the web pods: same names, uids, nodes, Running, no restart"
	restarts=$(k2 get pods -o json | jq -r '.items[] | .metadata.name + "=" +
		([.status.containerStatuses[]?.restartCount] | add // "none" | tostring)')
	check_match "$(tr '\n' ' ' <<< "$restarts")" '^([a-z0-9-]+=0 )+$' "no container restarted"
	check_eq "$(ready_nodes)" \
		"a=True b=True" "both nodes Ready"
}

run_tests test_cluster_up test_deployment_through_one_seen_through_the_other \
	test_apiserver_killed_kubectl_goes_on test_scheduler_leader_killed \
	test_controller_manager_leader_killed test_agents_kept_their_pods
