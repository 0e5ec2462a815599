#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run VM=1`: the cluster of `make run`, inside the QEMU VM of the
# tests (scripts/vm/run.sh: Debian's kernel, the host's root read-only over
# 9p), on skiff.ko, left running. The host reaches it on loopback:
#
#   this machine                          the VM (qemu, software emulation)
#   +-----------------------------+       +------------------------------+
#   | kubectl, skiffctl           |       | scripts/run.sh's cluster:    |
#   |   KUBECONFIG=.skiff/kubeconfig      |   skiff-apiserver .77.1:6443 |
#   |   https://127.0.0.1:6443 ───┼─qemu─▶|   3 nodes as netns, skiff.ko |
#   | curl 127.0.0.1:30080 ───────┼─qemu─▶|   the demo's NodePort 30080  |
#   | .skiff/pki, logs/ ◀─────────┼─9p────|   (scripts/vm/cluster-guest.sh)
#   +-----------------------------+       +------------------------------+
#
# It returns once the guest said the cluster is up and the host checked it
# answers there: the API through the forwarded port, the demo through its
# NodePort. `make stop` (scripts/stop.sh) asks the guest to tear the cluster
# down and waits for the VM to power off.
#
# Files in .skiff/: vm.pid (the harness, whose end kills qemu), logs/vm.log
# (the VM's console), vm-ready, vm-failed and vm-stop (see cluster-guest.sh).
# Environment: NODES, SKIFF_DIR as for make run; SKIFF_VM_API_PORT (6443)
# and SKIFF_VM_WEB_PORT (30080), the host's ports; SKIFF_VM_WAIT (900), how
# long the cluster may take to come up (the emulator is slow).

set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
SKIFF_DIR=${SKIFF_DIR:-$top/.skiff}
NODES=${NODES:-3}
api_port=${SKIFF_VM_API_PORT:-6443}
web_port=${SKIFF_VM_WEB_PORT:-30080}
wait_s=${SKIFF_VM_WAIT:-900}
console=$SKIFF_DIR/logs/vm.log
export PATH=$top/build/bin:$PATH

say() {
	printf '%s\n' "$*"
}

die() {
	printf 'make run VM=1: %s\n' "$*" >&2
	exit 1
}

vm_alive() {
	[ -s "$SKIFF_DIR/vm.pid" ] && kill -0 "$(cat "$SKIFF_DIR/vm.pid")" 2>/dev/null
}

print_next() {
	local kubectl=kubectl

	command -v kubectl > /dev/null || kubectl=/var/cache/skiff/kubectl-1.20/usr/bin/kubectl
	say ""
	say "The cluster runs in the VM: $NODES nodes, data plane $(cat "$SKIFF_DIR/vm-ready")."
	say "Next:"
	say "  export KUBECONFIG=$SKIFF_DIR/kubeconfig"
	say "  $kubectl get pods -A -o wide"
	say "  $kubectl get nodes,services,deployments"
	say "  curl http://127.0.0.1:$web_port/   # the demo, through its NodePort"
	say "  $top/build/bin/skiffctl dataplane"
	say "Logs of every component: $SKIFF_DIR/logs (the VM's console: $console)"
	say "Tear it all down: make stop"
}

[ "$(id -u)" = 0 ] || die "must run as root"
case $NODES in
[1-9]) ;;
*) die "NODES=$NODES: want 1 to 9" ;;
esac
for port in "$api_port" "$web_port"; do
	[[ "$port" =~ ^[0-9]{1,5}$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] ||
		die "port '$port': want 1 to 65535"
done
[ -e "$top/skiff.ko" ] || die "skiff.ko is not built (make all)"

if vm_alive && [ -e "$SKIFF_DIR/vm-ready" ]; then
	say "A cluster is already running in the VM (make stop ends it)."
	print_next
	exit 0
fi
vm_alive && die "a VM of make run VM=1 is still starting (pid $(cat "$SKIFF_DIR/vm.pid")); make stop ends it"
if [ -s "$SKIFF_DIR/run/apiserver.pid" ] &&
   kill -0 "$(cat "$SKIFF_DIR/run/apiserver.pid")" 2>/dev/null; then
	die "a cluster of make run runs on this machine; make stop first"
fi
# What an earlier run left (a cluster on the host, a VM that died).
"$top/scripts/stop.sh" > /dev/null 2>&1
for port in "$api_port" "$web_port"; do
	! ss -Htln "sport = :$port" | grep -q . ||
		die "port $port is taken on this machine (set SKIFF_VM_API_PORT or SKIFF_VM_WEB_PORT)"
done

mkdir -p "$SKIFF_DIR/logs" "$SKIFF_DIR/pki"
rm -f "$SKIFF_DIR/vm-ready" "$SKIFF_DIR/vm-failed" "$SKIFF_DIR/vm-stop" \
	"$SKIFF_DIR/kubeconfig"
say "make run VM=1: booting the VM (its console: $console)"
setsid "$top/scripts/vm/run.sh" --timeout 0 --memory 4096 \
	--share "$SKIFF_DIR" --forward "$api_port:6443" --forward "$web_port:30080" \
	-- env NODES="$NODES" bash scripts/vm/cluster-guest.sh "$SKIFF_DIR" "$api_port" \
	> "$console" 2>&1 < /dev/null &
echo $! > "$SKIFF_DIR/vm.pid"

# If anything below fails, the VM goes too.
on_exit() {
	local status=$?

	if [ $status != 0 ]; then
		say "make run VM=1: failed; stopping the VM (its console: $console)" >&2
		"$top/scripts/stop.sh" > /dev/null 2>&1 || true
	fi
}
trap on_exit EXIT

# The guest's progress: run.sh's lines as they come on the console.
shown=0
show_progress() {
	local lines

	lines=$(grep -E '^(data plane|control plane|nodes|demo|make run):' \
		"$console" 2>/dev/null) || return 0
	tail -n +"$((shown + 1))" <<< "$lines"
	shown=$(wc -l <<< "$lines")
}
deadline=$((SECONDS + wait_s))
until [ -e "$SKIFF_DIR/vm-ready" ]; do
	show_progress
	[ -e "$SKIFF_DIR/vm-failed" ] && die "$(cat "$SKIFF_DIR/vm-failed")"
	vm_alive || die "the VM stopped; the end of its console:
$(tail -n 30 "$console")"
	[ $SECONDS -lt $deadline ] || die "the cluster was not up after $wait_s s"
	sleep 1
done
show_progress
say "certificates: $SKIFF_DIR/pki (admin kubeconfig: $SKIFF_DIR/kubeconfig, for https://127.0.0.1:$api_port)"

# What the user will do first, checked from here.
KUBECTL=$(command -v kubectl || echo /var/cache/skiff/kubectl-1.20/usr/bin/kubectl)
"$KUBECTL" --kubeconfig "$SKIFF_DIR/kubeconfig" --request-timeout=30s get nodes > /dev/null ||
	die "the apiserver does not answer at https://127.0.0.1:$api_port"
reply=""
for _ in $(seq 30); do
	reply=$(curl -sf --max-time 10 "http://127.0.0.1:$web_port/") && break
	sleep 1
done
[ -n "$reply" ] || die "the demo does not answer at http://127.0.0.1:$web_port/"
say "demo: http://127.0.0.1:$web_port/ answered from this machine: $reply"
trap - EXIT
print_next
