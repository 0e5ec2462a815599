#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers of the control-plane tests (scheduler, controller manager), on
# top of lib-apiserver.sh. Each case gets a cluster of its own: a fresh
# apiserver and store, the daemons it asks for, hollow nodes that play the
# kubelet (selftests/tools/skiff-hollow-nodes.c); all stop when the case
# ends.
#
#	cluster_start                 a fresh apiserver (API, KUBECONFIG)
#	daemon_start NAME CMD...      a process for this case, log NAME.log
#	daemon_stop NAME [SIGNAL]     stops it (SIGTERM) and waits
#	cm_start [ARGS...]            skiff-controller-manager, no election
#	sched_start [ARGS...]         skiff-scheduler, no election
#	hollow_start NAME [ARGS...]   skiff-hollow-nodes --prefix NAME,
#	                              running pods, 1 s heartbeats
#	wait_json TIMEOUT PATH JQ     polls GET PATH until JQ (jq -e) holds
#	                              on the answer; leaves it in OUT
#	mark_pod NS NAME KEY VALUE    sets annotation hollow.skiff.dev/KEY
#	                              (ready: "false"; exit: "0" or "1")

source "$(dirname "${BASH_SOURCE[0]}")/lib-apiserver.sh"

CASE_DAEMONS=()

daemon_start() {
	local name=$1

	shift
	("$@" > "$API_DIR/$name.log" 2>&1 &
	 echo $! > "$API_DIR/$name.pid")
	CASE_DAEMONS+=("$name")
}

daemon_stop() {
	local pid

	pid=$(cat "$API_DIR/$1.pid" 2>/dev/null) || return 0
	kill "-${2:-TERM}" "$pid" 2>/dev/null || true
	wait_for 10 apiserver_gone "$pid" || kill -9 "$pid" 2>/dev/null || true
	rm -f "$API_DIR/$1.pid"
}

# Every daemon of the case and its apiserver. A failed case shows the
# daemons' logs first.
case_cleanup() {
	local name

	for name in "${CASE_DAEMONS[@]}"; do
		daemon_stop "$name"
	done
	# What a file adds (lib-node.sh: nodes' containers and mounts).
	if declare -F case_cleanup_more > /dev/null; then
		case_cleanup_more || true
	fi
	if [ -s "$API_DIR/pid" ]; then
		kill "$(cat "$API_DIR/pid")" 2>/dev/null || true
		wait_for 10 apiserver_gone "$(cat "$API_DIR/pid")" || true
		rm -f "$API_DIR/pid"
	fi
}

# Logs of the case's daemons, for a failure message.
daemon_logs() {
	local name

	for name in "${CASE_DAEMONS[@]}"; do
		echo "---- $name.log"
		tail -n 30 "$API_DIR/$name.log"
	done
}

# A second call in one case starts over: what the first started stops.
cluster_start() {
	case_cleanup
	CASE_DAEMONS=()
	rm -rf "$API_DIR/store"
	API_PORT=0
	apiserver_start "$@"
}

# --server URL, or with API_TLS=1 a kubeconfig of certificate $1.
api_client_args() {
	if [ "$API_TLS" = 1 ]; then
		api_kubeconfig "$1" "$API_DIR/$1.conf"
		echo --kubeconfig "$API_DIR/$1.conf"
	else
		echo --server "$API"
	fi
}

cm_start() {
	local client

	read -ra client <<< "$(api_client_args controller-manager)"
	daemon_start cm skiff-controller-manager "${client[@]}" --leader-elect=false "$@"
}

sched_start() {
	local client

	read -ra client <<< "$(api_client_args scheduler)"
	daemon_start scheduler skiff-scheduler "${client[@]}" --leader-elect=false "$@"
}

hollow_start() {
	local name=$1

	shift
	daemon_start "hollow-$name" skiff-hollow-nodes --server "$API" \
		--prefix "$name" --run-pods --heartbeat 1s "$@"
	wait_for 20 grep -qs "up$" "$API_DIR/hollow-$name.log" ||
		fail "hollow nodes $name did not start: $(cat "$API_DIR/hollow-$name.log")"
}

json_holds() {
	api GET "$1" && [ "$CODE" = 200 ] && jq -e "$2" <<< "$OUT" > /dev/null
}

wait_json() {
	wait_for "$1" json_holds "$2" "$3" ||
		fail "timed out waiting for $3 on $2: $(jq -c . <<< "$OUT" | head -c 2000)
$(daemon_logs)"
}

mark_pod() {
	api_expect 200 PATCH "/api/v1/namespaces/$1/pods/$2" \
		"{\"metadata\":{\"annotations\":{\"hollow.skiff.dev/$3\":\"$4\"}}}" \
		application/merge-patch+json
}
