#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: a local skiff cluster on this machine, left running.
#
#   this machine's network namespace
#   +------------------------------------------------------------------+
#   | skiff-apiserver (https://192.168.77.1:6443, embedded store)       |
#   | skiff-controller-manager   skiff-scheduler    kubectl, skiffctl   |
#   |                     skiff-ul (bridge) 192.168.77.1/24             |
#   +--------+----------------------+----------------------+-----------+
#            | veth                 | veth                 | veth
#   +--------+--------+    +--------+--------+    +--------+--------+
#   | netns skiff-1   |    | netns skiff-2   |    | netns skiff-3   |
#   | node1 .77.11    |    | node2 .77.12    |    | node3 .77.13    |
#   | skiff-node      |    | skiff-node      |    | skiff-node      |
#   | pods (netns)    |    | pods (netns)    |    | pods (netns)    |
#   +-----------------+    +-----------------+    +-----------------+
#
# Everything lives in .skiff/ of the checkout: pki/ (the cluster CA and
# every component's certificate), kubeconfig (the admin's), etc/ (the
# components' kubeconfigs), data/ (the apiserver's store), nodes/ (each
# node agent's root directory), images/, logs/ (one file per component),
# run/ (pid files and what `make stop` must undo). Nodes are network
# namespaces on one kernel, as in the node tests (selftests/lib-node.sh);
# their agents are started with nsenter --net, not `ip netns exec`, so that
# the mounts they make for pods stay in the machine's mount namespace.
#
# Environment: NODES (default 3, 1-9). For tests, which run a cluster of
# their own beside the user's: SKIFF_DIR (instead of .skiff),
# SKIFF_NETNS_PREFIX (instead of skiff-), SKIFF_CM_ARGS and SKIFF_NODE_ARGS
# (more arguments for the controller manager and the node agents, such as
# shorter node timeouts and heartbeats to match). `make stop`
# (scripts/stop.sh, which reads the same SKIFF_DIR) tears it all down.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
SKIFF_DIR=${SKIFF_DIR:-$top/.skiff}
PKI=$SKIFF_DIR/pki
RUN=$SKIFF_DIR/run
LOGS=$SKIFF_DIR/logs
export PATH=$top/build/bin:$PATH

NODES=${NODES:-3}
UNDERLAY_NET=192.168.77
UNDERLAY_IP=$UNDERLAY_NET.1
UNDERLAY_BRIDGE=skiff-ul
API_URL=https://$UNDERLAY_IP:6443
DEMO=$top/Documentation/examples/web.yaml

say() {
	printf '%s\n' "$*"
}

die() {
	printf 'make run: %s\n' "$*" >&2
	exit 1
}

node_name() {
	echo "node$1"
}

node_ip() {
	echo "$UNDERLAY_NET.$((10 + $1))"
}

node_netns() {
	echo "${SKIFF_NETNS_PREFIX:-skiff-}$1"
}

alive() {
	[ -s "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null
}

kubectl_path() {
	if command -v kubectl > /dev/null; then
		command -v kubectl
	elif [ -x /var/cache/skiff/kubectl-1.20/usr/bin/kubectl ]; then
		echo /var/cache/skiff/kubectl-1.20/usr/bin/kubectl
	else
		return 1
	fi
}

k() {
	"$KUBECTL" --kubeconfig "$SKIFF_DIR/kubeconfig" "$@"
}

# start NAME CMD...: CMD in a session of its own (it outlives make), its
# output in logs/NAME.log, its pid in run/NAME.pid.
start() {
	local name=$1

	shift
	setsid "$@" > "$LOGS/$name.log" 2>&1 < /dev/null &
	echo $! > "$RUN/$name.pid"
}

# wait_until SECONDS WHAT CMD...: polls CMD; on time out shows WHAT's log.
wait_until() {
	local deadline=$((SECONDS + $1)) what=$2

	shift 2
	until "$@" > /dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ]; then
			say "make run: $what did not come up in time; its log:" >&2
			tail -n 20 "$LOGS/$what.log" >&2 || true
			return 1
		fi
		sleep 0.2
	done
}

print_next() {
	local kc=$SKIFF_DIR/kubeconfig

	local kubectl=kubectl

	command -v kubectl > /dev/null || kubectl=$KUBECTL
	say ""
	say "The cluster runs: $(wc -l < "$RUN/nodes") nodes, data plane $(cat "$RUN/dataplane")."
	say "Next:"
	say "  export KUBECONFIG=$kc"
	say "  $kubectl get pods -A -o wide"
	say "  $kubectl get nodes,services,deployments"
	say "  curl http://$(node_ip 1):30080/   # the demo, through its NodePort"
	say "  $top/build/bin/skiffctl certs show $PKI/admin.crt"
	say "Logs of every component: $LOGS"
	say "Tear it all down: make stop"
}

[ "$(id -u)" = 0 ] || die "must run as root (it makes network namespaces and mounts)"
case $NODES in
[1-9]) ;;
*) die "NODES=$NODES: want 1 to 9" ;;
esac
KUBECTL=$(kubectl_path) || die "no kubectl: install kubectl or run make deps"

if alive apiserver; then
	say "A cluster is already running (make stop ends it)."
	print_next
	exit 0
fi
if [ -d "$RUN" ]; then
	say "make run: cleaning up what a previous run left"
	"$top/scripts/stop.sh" > /dev/null
fi
mkdir -p "$PKI" "$RUN" "$LOGS" "$SKIFF_DIR/etc" "$SKIFF_DIR/nodes" "$SKIFF_DIR/images"

# If anything below fails, nothing half-made stays behind.
on_exit() {
	local status=$?

	if [ $status != 0 ]; then
		say "make run: failed; tearing down (logs stay in $LOGS)" >&2
		"$top/scripts/stop.sh" > /dev/null 2>&1 || true
	fi
}
trap on_exit EXIT

# skiff.ko after the modules it needs (vxlan's UDP tunnel, conntrack...).
load_skiff_ko() {
	local dep

	for dep in $(modinfo -F depends "$top/skiff.ko" | tr ',' ' '); do
		modprobe "$dep" || return 1
	done
	insmod "$top/skiff.ko"
}

# ---- data plane: skiff.ko where this kernel loads it, nftables otherwise
# (skiff-node --dataplane auto picks the module when it is loaded).
kver=$("$top/scripts/kernel-release.sh")
if [ -d /sys/module/skiff ]; then
	dataplane=kmod why="skiff.ko is loaded"
elif [ "$(uname -r)" != "$kver" ]; then
	dataplane=nftables
	why="skiff.ko is built for Linux $kver, this kernel is $(uname -r); make check-node-vm runs the nodes on skiff.ko in the test VM"
elif err=$(load_skiff_ko 2>&1); then
	touch "$RUN/loaded-skiff.ko"
	dataplane=kmod why="skiff.ko loaded"
else
	dataplane=nftables why="insmod skiff.ko: $err"
fi
echo "$dataplane" > "$RUN/dataplane"
say "data plane: $dataplane ($why)"

# ---- certificates and kubeconfigs (kept across runs, like the CA)
[ -e "$PKI/ca.crt" ] || skiffctl certs init --dir "$PKI" > /dev/null
issue() {
	local file=$1

	shift
	[ -e "$PKI/$file.crt" ] || skiffctl certs issue --dir "$PKI" "$@" > /dev/null
}
issue apiserver apiserver --san "$UNDERLAY_IP"
issue admin admin
issue scheduler scheduler
issue controller-manager controller-manager
for i in $(seq "$NODES"); do
	issue "node-$(node_name "$i")" node "$(node_name "$i")" --san "$(node_ip "$i")"
done
kubeconfig() {
	skiffctl certs kubeconfig --dir "$PKI" "$1" --server "$API_URL" --out "$2" > /dev/null
}
kubeconfig admin "$SKIFF_DIR/kubeconfig"
kubeconfig scheduler "$SKIFF_DIR/etc/scheduler.conf"
kubeconfig controller-manager "$SKIFF_DIR/etc/controller-manager.conf"
for i in $(seq "$NODES"); do
	kubeconfig "node-$(node_name "$i")" "$SKIFF_DIR/etc/$(node_name "$i").conf"
done
say "certificates: $PKI (admin kubeconfig: $SKIFF_DIR/kubeconfig)"

# ---- the underlay
ip link add "$UNDERLAY_BRIDGE" type bridge
echo "$UNDERLAY_BRIDGE" > "$RUN/bridge"
ip addr add "$UNDERLAY_IP/24" dev "$UNDERLAY_BRIDGE"
ip link set "$UNDERLAY_BRIDGE" up

# ---- control plane
start apiserver skiff-apiserver --listen "$UNDERLAY_IP:6443" --data-dir "$SKIFF_DIR/data" \
	--tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
	--client-ca-file "$PKI/ca.crt" \
	--kubelet-client-certificate "$PKI/apiserver.crt" \
	--kubelet-client-key "$PKI/apiserver.key" \
	--kubelet-certificate-authority "$PKI/ca.crt"
wait_until 30 apiserver grep -q "serving on" "$LOGS/apiserver.log"
# shellcheck disable=SC2086 # SKIFF_CM_ARGS is a list of arguments
start controller-manager skiff-controller-manager \
	--kubeconfig "$SKIFF_DIR/etc/controller-manager.conf" ${SKIFF_CM_ARGS:-}
start scheduler skiff-scheduler --kubeconfig "$SKIFF_DIR/etc/scheduler.conf"
say "control plane: $API_URL"

# ---- nodes
skiff-node image build-from-host --image-dir "$SKIFF_DIR/images" busybox /bin/busybox \
	> "$LOGS/image.log" 2>&1 || die "cannot build the busybox image: $(cat "$LOGS/image.log")"
for i in $(seq "$NODES"); do
	name=$(node_name "$i")
	ns=$(node_netns "$i")
	ip netns add "$ns"
	echo "$ns" >> "$RUN/netns"
	ip link add "ul-$name" type veth peer name eth0 netns "$ns"
	ip link set "ul-$name" master "$UNDERLAY_BRIDGE" up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$(node_ip "$i")/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via "$UNDERLAY_IP"
	echo "$name" >> "$RUN/nodes"
	# shellcheck disable=SC2086 # SKIFF_NODE_ARGS is a list of arguments
	start "node-$name" nsenter --net="/run/netns/$ns" \
		skiff-node --kubeconfig "$SKIFF_DIR/etc/$name.conf" --node-name "$name" \
		--node-ip "$(node_ip "$i")" --root-dir "$SKIFF_DIR/nodes/$name" \
		--image-dir "$SKIFF_DIR/images" --dataplane auto ${SKIFF_NODE_ARGS:-}
done
for i in $(seq "$NODES"); do
	name=$(node_name "$i")
	wait_until 60 "node-$name" k wait --for=condition=Ready "node/$name" --timeout=1s
done
say "nodes: $(k get nodes -o name | tr '\n' ' ')"

# ---- the demo: 3 web servers behind a Service, asked from another node
k apply -f "$DEMO" > /dev/null
k rollout status deployment/web --timeout=120s > /dev/null ||
	die "the demo Deployment did not become available: $(k get pods -o wide)"
k run client --image=busybox --restart=Never --command -- sleep 1000000 > /dev/null
k wait --for=condition=Ready pod/client --timeout=60s > /dev/null ||
	die "the client pod did not start: $(k get pod client -o wide)"
client_node=$(k get pod client -o jsonpath='{.spec.nodeName}')
client_uid=$(k get pod client -o jsonpath='{.metadata.uid}')
vip=$(k get service web -o jsonpath='{.spec.clusterIP}')
# Ask the ClusterIP until a web pod on a node other than the client's
# answers (the Service spreads connections; with one node there is none).
answered=""
for _ in $(seq 60); do
	# (timeout, not wget -T: Debian's busybox 1.35 wget crashes on -T.)
	reply=$(nsenter --net="$SKIFF_DIR/nodes/$client_node/pods/$client_uid/netns" \
		timeout 3 busybox wget -qO- "http://$vip/" 2>/dev/null) || { sleep 0.2; continue; }
	pod=${reply##* }
	node=$(k get pod "$pod" -o jsonpath='{.spec.nodeName}' 2>/dev/null) || continue
	if [ "$node" != "$client_node" ] || [ "$NODES" = 1 ]; then
		answered="$pod on $node"
		break
	fi
done
[ -n "$answered" ] || die "the demo Service at $vip never answered the client on $client_node"
say "demo: the client pod on $client_node asked http://$vip/ (Service web) and $answered answered"

trap - EXIT
print_next
