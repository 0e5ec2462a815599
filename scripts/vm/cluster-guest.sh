#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# cluster-guest.sh HOST_DIR API_PORT: the guest's side of
# `make run VM=1` (scripts/vm/cluster.sh starts the VM with it). Runs
# scripts/run.sh, the same cluster as on the host, on skiff.ko, which the VM
# harness loaded; makes it reachable from the host through qemu's forwarded
# ports; says it is ready; and when the host asks, stops it with
# scripts/stop.sh, after which the VM powers off.
#
#   host 127.0.0.1:API_PORT ──qemu──▶ guest eth0 10.0.2.15:6443
#        ──DNAT──▶ skiff-apiserver 192.168.77.1:6443
#   host 127.0.0.1:PORT ──qemu──▶ 10.0.2.15:30080
#        ──DNAT, masquerade──▶ node1 192.168.77.11:30080 (the demo's NodePort)
#
# HOST_DIR is the host's .skiff, shared writable (run.sh --share). The
# cluster itself lives in the guest's memory (/tmp/skiff: overlayfs wants
# an upper layer that 9p is not), except what the host needs: pki/ and
# logs/ are links to HOST_DIR's, and HOST_DIR/kubeconfig is the admin's
# for the host. HOST_DIR/vm-ready says the cluster is up (or vm-failed that
# it is not); the host asks for the end with HOST_DIR/vm-stop.

set -u

host_dir=${1:?}
api_port=${2:?}
top=$(cd "$(dirname "$0")/../.." && pwd)
guest_dir=/tmp/skiff
export PATH=$top/build/bin:$PATH

mkdir -p "$guest_dir" "$host_dir/pki" "$host_dir/logs"
ln -sfn "$host_dir/pki" "$guest_dir/pki"
ln -sfn "$host_dir/logs" "$guest_dir/logs"

# The guest's own addresses, kept out of the cluster's tables.
sysctl -qw net.ipv4.ip_forward=1
nft -f - <<EOF
table ip skiff-vm {
	chain prerouting {
		type nat hook prerouting priority dstnat;
		iifname "eth0" tcp dport 6443 dnat to 192.168.77.1:6443
		iifname "eth0" tcp dport 30080 dnat to 192.168.77.11:30080
	}
	chain postrouting {
		type nat hook postrouting priority srcnat;
		iifname "eth0" oifname "skiff-ul" masquerade
	}
}
EOF

if SKIFF_DIR=$guest_dir "$top/scripts/run.sh"; then
	# The host reaches the apiserver on its forwarded loopback port (the
	# apiserver's certificate names 127.0.0.1), and the files by the
	# share's path, which is theirs on the host too.
	skiffctl certs kubeconfig --dir "$host_dir/pki" admin \
		--server "https://127.0.0.1:$api_port" --out "$host_dir/kubeconfig" > /dev/null
	cp "$guest_dir/run/dataplane" "$host_dir/vm-ready"
	echo "vm: the cluster is up; make stop ends it"
	until [ -e "$host_dir/vm-stop" ]; do
		sleep 1
	done
	echo "vm: make stop asked for the end"
	rc=0
else
	echo "scripts/run.sh failed in the VM; see the console above" > "$host_dir/vm-failed"
	rc=1
fi
SKIFF_DIR=$guest_dir "$top/scripts/stop.sh" || rc=1
nft delete table ip skiff-vm
exit "$rc"
