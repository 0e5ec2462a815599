#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End to end: `make run VM=1` (scripts/vm/cluster.sh) starts make run's
# cluster inside the QEMU VM on skiff.ko and returns while it runs; from
# this machine kubectl reaches its apiserver and curl its demo, through
# qemu's forwarded loopback ports; `make stop` ends the VM and leaves
# nothing running.
#
#   this file's own network namespace (unshare --net)
#   +---------------------------------+     +-----------------------------+
#   | kubectl ─▶ 127.0.0.1:6443 ──────┼qemu▶| apiserver, 2 nodes on       |
#   | curl    ─▶ 127.0.0.1:30080 ─────┼qemu▶| skiff.ko, the demo          |
#   | $SKIFF_DIR (pki, logs) ◀────────┼─9p──| scripts/vm/cluster-guest.sh |
#   +---------------------------------+     +-----------------------------+
#
# Two nodes rather than make run's three: the emulator is slow, and the
# demo's check (a client on one node answered from the other) needs two.
# One cluster serves every case, in order.

if [ -z "${SKIFF_E2E_UNDERLAY:-}" ]; then
	export SKIFF_E2E_UNDERLAY=1
	exec unshare --net -- "$BASH" "$0" "$@"
fi

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

export SKIFF_DIR NODES=2
SKIFF_DIR=$(mktemp -d /tmp/skiff-run-vm.XXXXXX)
export KUBECONFIG=$SKIFF_DIR/kubeconfig

run_vm_cleanup() {
	"$SKIFF_TOP/scripts/stop.sh" > /dev/null 2>&1
	rm -rf "$SKIFF_DIR"
}
trap 'run_vm_cleanup; cleanup_netns' EXIT
ip link set lo up

k() {
	kubectl --cache-dir "$SKIFF_DIR/kube-cache" --request-timeout=60s "$@"
}

# The VM of this file: its harness (run.sh), and the qemu it started.
vm_pid() {
	cat "$SKIFF_DIR/vm.pid" 2>/dev/null
}

qemu_of_this_file() {
	pgrep -f "qemu-system-x86_64.*path=$SKIFF_DIR,"
}

"$SKIFF_TOP/scripts/vm/cluster.sh" > "$SKIFF_DIR/run.out" 2>&1
RUN_STATUS=$?

test_make_run_vm_returns_with_the_cluster_up() {
	cat "$SKIFF_DIR/run.out"
	check_eq "$RUN_STATUS" 0 "make run VM=1's exit status"
	check_match "$(cat "$SKIFF_DIR/run.out")" "data plane: kmod \(skiff.ko is loaded\)" \
		"the data plane, said"
	check_match "$(cat "$SKIFF_DIR/run.out")" "demo: http://127.0.0.1:30080/ answered from this machine" \
		"the demo checked from here"
	check_match "$(cat "$SKIFF_DIR/run.out")" "export KUBECONFIG=$SKIFF_DIR/kubeconfig" \
		"what to type next"
	kill -0 "$(vm_pid)" || fail "the VM is not running after make run VM=1 returned"
	qemu_of_this_file > /dev/null || fail "no qemu runs"
}

test_kubectl_from_this_machine() {
	local nodes

	nodes=$(k get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}')
	check_eq "$nodes" "node1=True node2=True " "nodes, Ready"
	check_match "$(k get deployment web -o jsonpath='{.status.availableReplicas}')" '^3$' \
		"the demo's web servers available"
	check_eq "$(k get pods -o jsonpath='{.items[*].status.podIP}' | tr ' ' '\n' | grep -c '^10\.244\.')" \
		4 "pod addresses from the pod network (3 web, 1 client)"
}

test_skiffctl_sees_skiff_ko() {
	local out

	out=$(skiffctl dataplane -o json) || fail "skiffctl dataplane: $out"
	check_eq "$(jq -r '[.items[].backend] | join(" ")' <<< "$out")" "kmod kmod" \
		"each node's data plane"
	check_eq "$(jq '[.items[] | .peers | length] | add' <<< "$out")" 2 \
		"each node has the other as its overlay peer"
}

test_demo_through_its_nodeport() {
	local reply

	reply=$(curl -sf --max-time 20 http://127.0.0.1:30080/) || fail "no answer on 127.0.0.1:30080"
	check_match "$reply" "web-" "a web pod answered"
}

test_second_make_run_vm_says_it_runs() {
	local out rc=0

	out=$("$SKIFF_TOP/scripts/vm/cluster.sh" 2>&1) || rc=$?
	check_eq "$rc" 0 "exit status"
	check_match "$out" "already running in the VM" "message"
	check_eq "$(qemu_of_this_file | wc -l)" 1 "still one VM"
}

test_make_stop_ends_the_vm() {
	local pid out

	pid=$(vm_pid)
	out=$("$SKIFF_TOP/scripts/stop.sh" 2>&1) || fail "make stop failed: $out"
	check_match "$out" "the VM is gone" "make stop's words"
	! kill -0 "$pid" 2>/dev/null || fail "the harness $pid still runs"
	! qemu_of_this_file > /dev/null || fail "qemu still runs"
	[ ! -e "$SKIFF_DIR/vm.pid" ] || fail "vm.pid is left"
	[ -e "$SKIFF_DIR/pki/ca.crt" ] || fail "the CA went with the cluster"
	! ss -Htln | grep -q . || fail "something still listens: $(ss -Htln)"
	check_match "$(cat "$SKIFF_DIR/logs/vm.log")" "vm: make stop asked for the end" \
		"the guest tore its cluster down"
	check_match "$(cat "$SKIFF_DIR/logs/vm.log")" "skiff-vm: result 0" \
		"and the VM ended clean (no kernel warning)"
}

run_tests test_make_run_vm_returns_with_the_cluster_up \
	test_kubectl_from_this_machine \
	test_skiffctl_sees_skiff_ko \
	test_demo_through_its_nodeport \
	test_second_make_run_vm_says_it_runs \
	test_make_stop_ends_the_vm
