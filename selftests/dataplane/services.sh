#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Services, on either data plane backend (SKIFF_BACKEND=kmod in the VM,
# nft on the host): ClusterIP over TCP and UDP, weights, backend removal,
# rejection without backends, NodePort, hairpin, ClientIP affinity,
# externalTrafficPolicy Local (clients keep their address), counters,
# validation. Each backend pod answers every connection with its
# own name, so the client sees which backend it reached.
#
#   pod1 10.244.1.2 (client)  pod1b 10.244.1.3     pod2a 10.244.2.2  pod2b 10.244.2.3
#          └──────── br0 10.244.1.1 ┘                    └── br0 10.244.2.1 ┘
#   node1  skiff0 10.244.1.0/32                  node2  skiff0 10.244.2.0/32
#          u1 192.168.77.1/24 ─────── underlay ─────── u2 192.168.77.2/24
#                                     │
#                          outside 192.168.77.100 (NodePort client)
#
# Every node programs the same services; the cluster CIDR is 10.244.0.0/16.

source "$(dirname "$0")/../lib.sh"

BACKEND=${SKIFF_BACKEND:-kmod}
VIP=10.96.0.10

dp() {
	local ns=$1

	shift
	ip netns exec "$ns" skiff-dp -b "$BACKEND" "$@"
}

# add_pod NODE_NUM NAME ADDR: a pod namespace on node NODE_NUM's bridge,
# answering on TCP and UDP port 8080 with NAME.
add_pod() {
	local n=$1 name=$2 addr=$3 node pod

	node=$(eval echo "\$node$n")
	ns_create pod
	eval "$name=\$pod"
	ip link add eth0 netns "$pod" type veth peer name "v$name" netns "$node"
	ip -n "$node" link set "v$name" master br0 up
	ip -n "$node" link set "v$name" type bridge_slave hairpin on
	ip -n "$pod" addr add "$addr/24" dev eth0
	ip -n "$pod" link set eth0 up
	ip -n "$pod" route add default via "10.244.$n.1"
	ns_spawn "$pod" socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:"echo $name"
	ns_spawn "$pod" socat UDP-LISTEN:8080,fork,reuseaddr SYSTEM:"echo $name"
	# Port 8081 keeps the connection open: long-lived flows.
	ns_spawn "$pod" socat TCP-LISTEN:8081,fork,reuseaddr SYSTEM:"echo $name; cat"
}

setup_cluster() {
	local n node b

	# A pod answered by a backend on its own bridge gets the reply
	# bridged, not routed: conntrack must see it to translate it back,
	# as kube-proxy requires too.
	modprobe br_netfilter 2> /dev/null || true

	ns_create node1
	ns_create node2
	ns_create outside
	ip link add u1 netns "$node1" type veth peer name u2 netns "$node2"
	ip netns exec "$node1" ip link add ubr type bridge
	ip -n "$node1" link set u1 master ubr
	ip -n "$node1" addr add 192.168.77.1/24 dev ubr
	ip link add o0 netns "$outside" type veth peer name uo netns "$node1"
	ip -n "$node1" link set uo master ubr up
	ip -n "$outside" addr add 192.168.77.100/24 dev o0
	ip -n "$outside" link set o0 up
	ip -n "$node1" link set ubr up
	ip -n "$node1" link set u1 up
	ip -n "$node2" addr add 192.168.77.2/24 dev u2
	ip -n "$node2" link set u2 up
	for n in 1 2; do
		node=$(eval echo "\$node$n")
		ip netns exec "$node" sysctl -qw net.ipv4.ip_forward=1
		ip netns exec "$node" sysctl -qw net.bridge.bridge-nf-call-iptables=1
		ip -n "$node" link add br0 type bridge
		ip -n "$node" addr add 10.244.$n.1/24 dev br0
		ip -n "$node" link set br0 up
		dp "$node" dev add skiff0
		ip -n "$node" addr add 10.244.$n.0/32 dev skiff0
		ip -n "$node" link set skiff0 up
		dp "$node" cluster-cidr 10.244.0.0/16
	done
	dp "$node1" peer add skiff0 10.244.2.0/24 remote 192.168.77.2 \
		mac "$(dp "$node2" -j dev show skiff0 | jq -r '.[0].vtep_mac')"
	dp "$node2" peer add skiff0 10.244.1.0/24 remote 192.168.77.1 \
		mac "$(dp "$node1" -j dev show skiff0 | jq -r '.[0].vtep_mac')"
	add_pod 1 pod1 10.244.1.2
	add_pod 1 pod1b 10.244.1.3
	add_pod 2 pod2a 10.244.2.2
	add_pod 2 pod2b 10.244.2.3
	wait_for 10 answers "$pod1" 10.244.2.2 8080 || fail "pods not up"
	wait_for 10 answers "$pod1" 10.244.1.3 8080 || fail "pods not up"
	wait_for 10 answers "$pod1" 10.244.2.3 8080 || fail "pods not up"
}

# set_service ARGS...: the same service on both nodes.
set_service() {
	dp "$node1" service set "$@"
	dp "$node2" service set "$@"
}

answers() {
	[ -n "$(ask "$1" "$2" "$3")" ]
}

# ask NS ADDR PORT: the name of the pod that answered a TCP connection.
# The connect timeout outlasts two retransmitted SYNs (1 s, then 2 s): on
# the debug kernel a connection takes about 3 s, and one lost SYN there
# must not count as a lost flow.
ask() {
	ip netns exec "$1" socat -T "$(t 2)" - TCP:"$2":"$3",connect-timeout="$(t 4)" \
		< /dev/null 2> /dev/null
}

# ask_udp NS ADDR PORT [LINE [ADDRESS_OPTIONS]]: the name of the pod that
# answered a UDP datagram. socat ends a UDP exchange -t seconds after its
# input ends, answered or not (0.5 s by default); the debug kernel under
# the emulator takes longer than that for the round trip, so -t grows
# with the time scale. An answer later than that (a loaded machine) reads
# as none: up to three tries, from the same address and port, so a flow
# stuck on a backend stays stuck and shows.
ask_udp() {
	local try out

	for try in 1 2 3; do
		out=$(echo "${4:-hi}" | ip netns exec "$1" socat -T "$(t 2)" \
			-t "$(t 5)e-1" - UDP:"$2":"$3"${5:+,$5} 2> /dev/null)
		[ -z "$out" ] || break
	done
	echo "$out"
}

# spread NS TIMES ADDR PORT [udp]: who answered, counted, one line each.
spread() {
	local i

	for i in $(seq "$2"); do
		if [ "${5:-tcp}" = udp ]; then
			ask_udp "$1" "$3" "$4"
		else
			ask "$1" "$3" "$4"
		fi
	done | sort | uniq -c
}

# check_reached_all OUT N: spread's OUT has all three backend pods, and N
# answers in all.
check_reached_all() {
	check_match "$1" "pod1b" "local backend reached"
	check_match "$1" "pod2a" "remote backend reached"
	check_match "$1" "pod2b" "other remote backend reached"
	[ "$(awk '{ n += $1 } END { print n }' <<< "$1")" = "$2" ] || fail "lost connections"
}

test_clusterip_tcp_spreads_over_backends() {
	local out

	setup_cluster
	set_service $VIP:80/tcp backend 10.244.1.3:8080 backend 10.244.2.2:8080 \
		backend 10.244.2.3:8080
	out=$(spread "$pod1" 30 $VIP 80)
	echo "$out"
	check_reached_all "$out" 30
}

test_clusterip_udp_spreads_over_backends() {
	local out

	setup_cluster
	set_service $VIP:53/udp backend 10.244.1.3:8080 backend 10.244.2.2:8080
	out=$(spread "$pod1" 20 $VIP 53 udp)
	echo "$out"
	check_match "$out" "pod1b" "local backend reached"
	check_match "$out" "pod2a" "remote backend reached"
}

test_reply_comes_from_the_vip() {
	setup_cluster
	set_service $VIP:80/tcp backend 10.244.2.2:8081
	ns_spawn "$pod1" socat -T 10 TCP:$VIP:80 SYSTEM:'sleep 5'
	wait_for 20 established "$pod1" $VIP 80 || fail "no connection seen from $VIP:80"
}

# established NS ADDR PORT: NS has a TCP connection to ADDR:PORT.
established() {
	[ -n "$(ip netns exec "$1" ss -Htn state established dst "$2" dport = ":$3")" ]
}

test_weights_share_connections() {
	local out heavy

	setup_cluster
	set_service $VIP:80/tcp backend 10.244.2.2:8080@4 backend 10.244.2.3:8080@1
	out=$(spread "$pod1" 60 $VIP 80)
	echo "$out"
	heavy=$(awk '$2 == "pod2a" { print $1 }' <<< "$out")
	# Expected 48 of 60; below 36 is vanishingly unlikely by chance.
	[ "${heavy:-0}" -ge 36 ] || fail "weight 4 backend got ${heavy:-0} of 60"
}

# Nine backends of equal weight: past the sets that rendezvous hashing
# serves (up to eight), so Maglev's table chooses. Three pods, three ports.
test_nine_backends_spread() {
	local out pod port args=()

	setup_cluster
	for pod in pod1b pod2a pod2b; do
		for port in 8082 8083; do
			ns_spawn "${!pod}" socat TCP-LISTEN:$port,fork,reuseaddr \
				SYSTEM:"echo $pod"
		done
	done
	for pod in 10.244.1.3 10.244.2.2 10.244.2.3; do
		for port in 8080 8082 8083; do
			args+=(backend $pod:$port)
			wait_for 10 answers "$pod1" $pod $port || fail "$pod:$port not up"
		done
	done
	set_service $VIP:80/tcp "${args[@]}"
	out=$(spread "$pod1" 36 $VIP 80)
	echo "$out"
	check_reached_all "$out" 36
}

# long_flow NS ADDR PORT FLAG OUT: in the background, opens a TCP
# connection, records the first line the backend sends ("first=NAME"),
# waits for file FLAG, sends a line and records whether it came back
# ("echo=...") or the connection broke ("broken").
long_flow() {
	ns_spawn "$1" bash -c '
		exec 3<>/dev/tcp/$0/$1 || exit 1
		read -r -t "$4" first <&3 && echo "first=$first" > "$3"
		while [ ! -e "$2" ]; do sleep 0.1; done
		echo ping >&3 2> /dev/null
		if read -r -t "$4" line <&3 && [ -n "$line" ]; then
			echo "echo=$line" >> "$3"
		else
			echo broken >> "$3"
		fi' "$2" "$3" "$4" "$5" "$(t 5)"
}

test_removed_backend_loses_flows_others_keep_theirs() {
	local out tmp=/tmp/skiff-flow-$$

	setup_cluster
	rm -f $tmp.*
	set_service $VIP:53/udp backend 10.244.2.2:8080
	# One UDP "flow" from a fixed source port, as a stuck DNS client is.
	out=$(ask_udp "$pod1" $VIP 53 a sourceport=5353,reuseaddr)
	check_eq "$out" pod2a "before: the only backend"
	# Long-lived TCP connections: to a backend that stays, to one that goes.
	set_service $VIP:80/tcp backend 10.244.2.3:8081
	set_service $VIP:81/tcp backend 10.244.1.3:8081
	long_flow "$pod1" $VIP 80 $tmp.go $tmp.kept
	long_flow "$pod1" $VIP 81 $tmp.go $tmp.gone
	wait_for 20 grep -qs first= $tmp.kept || fail "no connection to port 80"
	wait_for 20 grep -qs first= $tmp.gone || fail "no connection to port 81"

	set_service $VIP:80/tcp backend 10.244.2.3:8081 backend 10.244.1.3:8081
	set_service $VIP:81/tcp backend 10.244.2.2:8081
	set_service $VIP:53/udp backend 10.244.2.3:8080
	out=$(ask_udp "$pod1" $VIP 53 b sourceport=5353,reuseaddr)
	check_eq "$out" pod2b "after: the same UDP flow reaches the new backend at once"

	touch $tmp.go
	wait_for 10 grep -qs "echo=\|broken" $tmp.kept || fail "port 80 flow hung"
	wait_for 10 grep -qs "echo=\|broken" $tmp.gone || fail "port 81 flow hung"
	check_eq "$(cat $tmp.kept)" "$(printf 'first=pod2b\necho=ping')" \
		"the kept backend's connection goes on"
	check_eq "$(cat $tmp.gone)" "$(printf 'first=pod1b\nbroken')" \
		"the removed backend's connection is cut"
	rm -f $tmp.*
}

test_no_backend_rejects_tcp() {
	local out start

	setup_cluster
	set_service $VIP:80/tcp
	start=$SECONDS
	out=$(ip netns exec "$pod1" socat -T "$(t 5)" - TCP:$VIP:80,connect-timeout="$(t 5)" 2>&1 < /dev/null) &&
		fail "connected to a service without backends"
	check_match "$out" "Connection refused" "refused (TCP RST), not timed out"
	[ $((SECONDS - start)) -lt "$(t 4)" ] || fail "took $((SECONDS - start)) s: dropped, not rejected"
}

test_no_backend_rejects_udp() {
	local out

	setup_cluster
	set_service $VIP:53/udp
	out=$(echo x | ip netns exec "$pod1" socat -T "$(t 3)" - UDP:$VIP:53 2>&1) &&
		[ -n "$out" ] && ! grep -q refused <<< "$out" && fail "answered: $out"
	check_match "$out" "Connection refused" "ICMP port unreachable"
}

test_nodeport_from_outside() {
	local out

	setup_cluster
	set_service 0.0.0.0:30080/tcp backend 10.244.2.2:8080
	ip -n "$outside" route add 10.244.0.0/16 via 192.168.77.1
	out=$(ask "$outside" 192.168.77.1 30080)
	check_eq "$out" pod2a "NodePort on node1 reaches a pod on node2"
	out=$(ask "$outside" 192.168.77.2 30080)
	check_eq "$out" pod2a "NodePort on node2"
}

# peer_server POD ADDR: pod namespace POD (address ADDR) answers TCP port
# 8082 with the address the connection came from, as the backend sees it
# (masqueraded or not).
peer_server() {
	ns_spawn "$1" socat TCP-LISTEN:8082,fork,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR'
	wait_for 10 answers "$pod1" "$2" 8082 || fail "peer address server on $2 not up"
}

test_nodeport_local_keeps_client_address() {
	setup_cluster
	peer_server "$pod1b" 10.244.1.3
	# Local: the backend is on the node the client reaches.
	set_service 0.0.0.0:30082/tcp local backend 10.244.1.3:8082
	check_eq "$(dp "$node1" -j service show | jq -c '.[0] | [.port, .local]')" \
		"[30082,true]" "shown as local"
	check_eq "$(ask "$outside" 192.168.77.1 30082)" 192.168.77.100 \
		"with local: the backend sees the outside client's own address"
	set_service 0.0.0.0:30082/tcp backend 10.244.1.3:8082
	check_eq "$(dp "$node1" -j service show | jq -c '.[0] | [.port, .local]')" \
		"[30082,false]" "local cleared"
	check_eq "$(ask "$outside" 192.168.77.1 30082)" 10.244.1.1 \
		"without local: masqueraded to the node's address"
}

test_local_hairpin_still_masqueraded() {
	setup_cluster
	peer_server "$pod1b" 10.244.1.3
	set_service 0.0.0.0:30082/tcp local backend 10.244.1.3:8082
	set_service $VIP:82/tcp local backend 10.244.1.3:8082
	check_eq "$(ask "$pod1b" $VIP 82)" 10.244.1.1 \
		"a pod reaching itself through a local service is masqueraded"
	check_eq "$(ask "$pod1b" 192.168.77.1 30082)" 10.244.1.1 \
		"a pod reaching itself through a local NodePort is masqueraded"
	check_eq "$(ask "$pod1" 192.168.77.1 30082)" 10.244.1.2 \
		"another pod keeps its address on a local NodePort"
}

test_hairpin() {
	local out

	setup_cluster
	set_service $VIP:80/tcp backend 10.244.2.2:8080
	out=$(ask "$pod2a" $VIP 80)
	check_eq "$out" pod2a "a pod reaches itself through its service"
}

test_client_ip_affinity() {
	local out

	setup_cluster
	set_service $VIP:80/tcp affinity 60 backend 10.244.1.3:8080 \
		backend 10.244.2.2:8080 backend 10.244.2.3:8080
	out=$(spread "$pod1" 15 $VIP 80)
	echo "$out"
	check_eq "$(wc -l <<< "$out")" 1 "one backend for one client"
}

test_service_delete() {
	setup_cluster
	set_service $VIP:80/tcp backend 10.244.2.2:8080
	check_eq "$(ask "$pod1" $VIP 80)" pod2a "before"
	dp "$node1" service del $VIP:80/tcp
	[ -z "$(ask "$pod1" $VIP 80)" ] || fail "still answered after delete"
	check_eq "$(dp "$node1" -j service show | jq length)" 0 "listed"
}

test_show_and_counters() {
	local out

	setup_cluster
	set_service $VIP:80/tcp affinity 30 backend 10.244.2.2:8080@3 backend 10.244.2.3:8080
	spread "$pod1" 5 $VIP 80 > /dev/null
	out=$(dp "$node1" -j service show)
	check_eq "$(jq -c '.[0] | [.vip, .port, .proto, .affinity_timeout]' <<< "$out")" \
		"[\"$VIP\",80,\"tcp\",30]" "service"
	check_eq "$(jq -c '[.[0].backends[] | [.addr, .port, .weight]]' <<< "$out")" \
		'[["10.244.2.2",8080,3],["10.244.2.3",8080,1]]' "backends"
	[ "$(jq '.[0].packets' <<< "$out")" -ge 5 ] || fail "service packets: $out"
	[ "$(jq '[.[0].backends[].packets] | add' <<< "$out")" -ge 5 ] || fail "backend packets: $out"
}

# expect_refused WANT ARGS...: skiff-dp refuses the service and changes
# nothing.
expect_refused() {
	local want=$1 out before

	shift
	before=$(dp "$node" -j service show)
	! out=$(dp "$node" service "$@" 2>&1) || fail "accepted: $*"
	check_match "$out" "$want" "message"
	check_eq "$(dp "$node" -j service show)" "$before" "nothing changed"
}

test_validation() {
	local node

	ns_create node
	dp "$node" service set $VIP:80/tcp backend 10.244.2.2:8080
	expect_refused "virtual IP must be unicast" set 224.0.0.1:80/tcp
	expect_refused "virtual IP must be unicast" set 127.0.0.1:80/tcp
	expect_refused "unknown protocol 'sctp'" set $VIP:80/sctp
	expect_refused "invalid service" set $VIP:0/tcp
	expect_refused "backend address must be unicast" set $VIP:80/tcp backend 0.0.0.0:80
	expect_refused "backend address must be unicast" set $VIP:80/tcp backend 255.255.255.255:80
	expect_refused "duplicate backend" set $VIP:80/tcp backend 10.1.1.1:80 backend 10.1.1.1:80
	expect_refused "affinity must be 0..86400" set $VIP:80/tcp affinity 86401
	expect_refused "unknown argument 'lokal'" set $VIP:80/tcp lokal
	expect_refused "unknown argument 'yes'" set $VIP:80/tcp local yes
	expect_refused "invalid backend" set $VIP:80/tcp backend 10.1.1.1:80@0
	expect_refused "No such file or directory: no such service" del 10.96.0.11:80/tcp
	expect_refused "No such file or directory: no such service" del $VIP:80/udp
}

test_many_backends() {
	local node args=() i

	ns_create node
	for i in $(seq 1024); do
		args+=(backend "10.$((i / 250 + 100)).$((i % 250)).1:80")
	done
	dp "$node" service set $VIP:80/tcp "${args[@]}"
	check_eq "$(dp "$node" -j service show | jq '.[0].backends | length')" 1024 "1024 backends"
	args+=(backend 10.200.0.1:80)
	! dp "$node" service set $VIP:80/tcp "${args[@]}" 2> /dev/null || fail "1025 accepted"
}

test_apply_whole_table() {
	local node f=/tmp/skiff-apply-$$ out

	ns_create node
	dp "$node" service set 10.96.9.9:80/tcp backend 10.244.9.9:80
	cat > $f <<-END
	# the whole table
	service $VIP:80/tcp backend 10.244.2.2:8080 backend 10.244.2.3:8080@2
	service $VIP:53/udp affinity 60 backend 10.244.2.2:8080

	service 0.0.0.0:30080/tcp local
	END
	dp "$node" apply $f
	out=$(dp "$node" -j service show)
	check_eq "$(jq -c '[.[] | "\(.vip):\(.port)/\(.proto)"] | sort' <<< "$out")" \
		'["0.0.0.0:30080/tcp","10.96.0.10:53/udp","10.96.0.10:80/tcp"]' \
		"exactly the file's services"
	check_eq "$(jq -c '.[] | select(.port == 80) | [.backends[].weight]' <<< "$out")" \
		"[1,2]" "weights"
	check_eq "$(jq -c '[.[] | select(.local) | .port]' <<< "$out")" "[30080]" "local"
	echo "service $VIP:80/tcp backend 10.244.2.3:8080" > $f
	dp "$node" apply $f
	check_eq "$(dp "$node" -j service show | jq -c '[.[] | [.port, (.backends | length)]]')" \
		"[[80,1]]" "second apply replaces the table"

	printf 'service %s:81/tcp\nservice %s:82/tcp backend 10.1.1.1:0\n' $VIP $VIP > $f
	! out=$(dp "$node" apply $f 2>&1) || fail "bad file applied"
	check_match "$out" "apply: $f:2: invalid backend '10.1.1.1:0'" "line number given"
	check_eq "$(dp "$node" -j service show | jq -c '[.[] | .port]')" "[80]" \
		"nothing changed by a bad file"
	printf 'service %s:81/tcp\nservice %s:81/tcp\n' $VIP $VIP > $f
	! out=$(dp "$node" apply $f 2>&1) || fail "duplicate applied"
	check_match "$out" "service listed twice" "duplicate refused"
	: > $f
	dp "$node" apply $f
	check_eq "$(dp "$node" -j service show | jq length)" 0 "an empty file empties the table"
	rm -f $f
}

# Last: skiff.ko goes away under Service and overlay traffic, and comes
# back. The harness fails the run on any warning the kernel printed.
test_unload_under_traffic() {
	[ "$BACKEND" = kmod ] || { echo "skiff.ko only"; return "$ksft_skip"; }
	setup_cluster
	set_service $VIP:80/tcp backend 10.244.2.2:8080 backend 10.244.1.3:8080
	set_service $VIP:53/udp backend 10.244.2.3:8080
	ns_spawn "$pod1" bash -c "while :; do socat -T 1 - TCP:$VIP:80 < /dev/null; done"
	ns_spawn "$pod1" bash -c "while :; do echo x | socat -T 1 - UDP:$VIP:53; done"
	ns_spawn "$pod1" busybox ping -i 0.01 10.244.2.2
	sleep 2
	rmmod skiff
	! ip -n "$node1" link show skiff0 2> /dev/null || fail "device left behind"
	sleep 1
	skiff_insmod
	skiff-dp info > /dev/null
}

run_tests \
	test_clusterip_tcp_spreads_over_backends \
	test_clusterip_udp_spreads_over_backends \
	test_reply_comes_from_the_vip \
	test_weights_share_connections \
	test_nine_backends_spread \
	test_removed_backend_loses_flows_others_keep_theirs \
	test_no_backend_rejects_tcp \
	test_no_backend_rejects_udp \
	test_nodeport_from_outside \
	test_hairpin \
	test_nodeport_local_keeps_client_address \
	test_local_hairpin_still_masqueraded \
	test_client_ip_affinity \
	test_service_delete \
	test_show_and_counters \
	test_validation \
	test_many_backends \
	test_apply_whole_table \
	test_unload_under_traffic
