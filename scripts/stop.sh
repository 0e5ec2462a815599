#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make stop`: tears down what `make run` (scripts/run.sh) started, and
# leaves no process, network namespace, mount or link behind. The
# certificates and kubeconfigs in .skiff/ stay for the next run (the CA with
# them); the logs stay until the next run replaces them; the store, the
# nodes' state and the images go.
#
# Safe to run twice, and on what a failed `make run` left half made.

set -u

top=$(cd "$(dirname "$0")/.." && pwd)
SKIFF_DIR=${SKIFF_DIR:-$top/.skiff}
RUN=$SKIFF_DIR/run
export PATH=$top/build/bin:$PATH

[ "$(id -u)" = 0 ] || { echo "make stop: must run as root" >&2; exit 1; }

# make run VM=1 (scripts/vm/cluster.sh): the guest tears its cluster down
# when asked (scripts/vm/cluster-guest.sh), then the VM powers off; one
# that does not within 2 minutes is killed with its harness.
if [ -s "$SKIFF_DIR/vm.pid" ]; then
	pid=$(cat "$SKIFF_DIR/vm.pid")
	if kill -0 "$pid" 2>/dev/null; then
		touch "$SKIFF_DIR/vm-stop"
		for _ in $(seq 1200); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -TERM "$pid" 2>/dev/null; then
			echo "make stop: the VM did not power off within 2 minutes: killed"
			for _ in $(seq 100); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
		fi
		echo "make stop: the VM is gone (its console: $SKIFF_DIR/logs/vm.log)"
	fi
	rm -f "$SKIFF_DIR/vm.pid" "$SKIFF_DIR/vm-ready" "$SKIFF_DIR/vm-failed" \
		"$SKIFF_DIR/vm-stop"
	[ -d "$RUN" ] || exit 0
fi

if [ ! -d "$RUN" ]; then
	echo "make stop: no cluster runs (nothing in $RUN)"
	exit 0
fi

# stop NAME: SIGTERM, then SIGKILL after 10 s.
stop() {
	local pidfile=$RUN/$1.pid pid

	[ -s "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	if kill -TERM "$pid" 2>/dev/null; then
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null && echo "make stop: $1 killed after 10 s"
	fi
	rm -f "$pidfile"
}

# Node agents first, so that none reports its pods gone to a control plane
# that then replaces them; then each node's containers, mounts and pod
# namespaces (skiff-node reset), then the control plane.
nodes=$(cat "$RUN/nodes" 2>/dev/null)
for name in $nodes; do
	stop "node-$name"
done
for name in $nodes; do
	[ -d "$SKIFF_DIR/nodes/$name" ] &&
		skiff-node reset --root-dir "$SKIFF_DIR/nodes/$name"
done
stop scheduler
stop controller-manager
stop apiserver

for ns in $(cat "$RUN/netns" 2>/dev/null); do
	ip netns del "$ns" 2>/dev/null
done
for name in $nodes; do
	ip link del "ul-$name" 2>/dev/null
done
bridge=$(cat "$RUN/bridge" 2>/dev/null)
[ -n "$bridge" ] && ip link del "$bridge" 2>/dev/null
if [ -e "$RUN/loaded-skiff.ko" ]; then
	rmmod skiff || echo "make stop: skiff.ko stays loaded (rmmod failed)"
fi

# Anything still mounted under .skiff (a reset that could not finish) is
# said, not hidden: removing the files under a mount would be wrong.
left=$(awk -v d="$SKIFF_DIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts)
if [ -n "$left" ]; then
	echo "make stop: still mounted, left in place:" >&2
	echo "$left" >&2
	exit 1
fi
rm -rf "$RUN" "$SKIFF_DIR/data" "$SKIFF_DIR/nodes" "$SKIFF_DIR/images"
echo "make stop: the cluster is gone (certificates stay in $SKIFF_DIR/pki)"
