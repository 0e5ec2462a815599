#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The overlay, on either data plane backend: SKIFF_BACKEND=kmod (skiff.ko,
# in the test VM) or SKIFF_BACKEND=nft (Linux vxlan, flannel's way; runs on
# the host too). Two nodes on an underlay, a pod on each, pod-to-pod
# traffic across the overlay.
#
#   pod1 (10.244.1.2/24)                           pod2 (10.244.2.2/24)
#     │ veth                                           │ veth
#   node1: 10.244.1.1/24, skiff0 10.244.1.0/32    node2: 10.244.2.1/24, skiff0 10.244.2.0/32
#     │ u1 192.168.77.1/24 ─────── underlay ─────── u2 192.168.77.2/24
#   peer 10.244.2.0/24 → 192.168.77.2             peer 10.244.1.0/24 → 192.168.77.1

source "$(dirname "$0")/../lib.sh"

BACKEND=${SKIFF_BACKEND:-kmod}
DP="skiff-dp -b $BACKEND"

# setup_nodes [BACKEND1 [BACKEND2]]: builds the topology above; the two
# nodes may run different backends (interoperability).
setup_nodes() {
	local b1=${1:-$BACKEND} b2=${2:-$BACKEND} i

	ns_create node1
	ns_create node2
	ns_create pod1
	ns_create pod2
	ip link add u1 netns "$node1" type veth peer name u2 netns "$node2"
	ip -n "$node1" addr add 192.168.77.1/24 dev u1
	ip -n "$node2" addr add 192.168.77.2/24 dev u2
	ip -n "$node1" link set u1 up
	ip -n "$node2" link set u2 up
	for i in 1 2; do
		local node=node$i pod=pod$i b=b$i
		ip link add p0 netns "${!pod}" type veth peer name pod netns "${!node}"
		ip -n "${!pod}" addr add 10.244.$i.2/24 dev p0
		ip -n "${!pod}" link set p0 up
		ip -n "${!pod}" route add default via 10.244.$i.1
		ip -n "${!node}" addr add 10.244.$i.1/24 dev pod
		ip -n "${!node}" link set pod up
		ip netns exec "${!node}" sysctl -qw net.ipv4.ip_forward=1
		ip netns exec "${!node}" skiff-dp -b "${!b}" dev add skiff0
		ip -n "${!node}" addr add 10.244.$i.0/32 dev skiff0
		ip -n "${!node}" link set skiff0 up
	done
	ip netns exec "$node1" skiff-dp -b "$b1" peer add skiff0 10.244.2.0/24 \
		remote 192.168.77.2 mac "$(vtep_mac "$node2" "$b2")"
	ip netns exec "$node2" skiff-dp -b "$b2" peer add skiff0 10.244.1.0/24 \
		remote 192.168.77.1 mac "$(vtep_mac "$node1" "$b1")"
}

# vtep_mac NS BACKEND: the MAC remote nodes must send to.
vtep_mac() {
	ip netns exec "$1" skiff-dp -b "$2" -j dev show skiff0 | jq -r '.[0].vtep_mac'
}

ping_ok() {
	ip netns exec "$1" busybox ping -c 1 -W 2 "$2" > /dev/null
}

# tcp_transfer FROM_NS TO_NS TO_ADDR BYTES: sends BYTES of random data over
# TCP and checks they arrive intact.
tcp_transfer() {
	local src=$1 dst=$2 addr=$3 bytes=$4 data=/tmp/skiff-tcp-$$

	head -c "$bytes" /dev/urandom > "$data.in"
	rm -f "$data.out"
	ip netns exec "$dst" timeout 120 socat -u TCP-LISTEN:5001,reuseaddr \
		CREATE:"$data.out" &
	wait_for 20 listening "$dst" 5001 || fail "listener did not start"
	ip netns exec "$src" timeout 120 socat -u FILE:"$data.in" TCP:"$addr":5001
	wait $!
	check_eq "$(sha1sum < "$data.out")" "$(sha1sum < "$data.in")" \
		"data received over TCP"
	rm -f "$data.in" "$data.out"
}

listening() {
	[ -n "$(ip netns exec "$1" ss -Htln "sport = :$2")" ]
}

listening_udp() {
	[ -n "$(ip netns exec "$1" ss -Huln "sport = :$2")" ]
}

test_dev_add_defaults() {
	local ns out

	ns_create ns
	ip netns exec "$ns" $DP dev add skiff0
	out=$(ip netns exec "$ns" $DP -j dev show skiff0)
	check_eq "$(jq -r '.[0].vni' <<< "$out")" 1 "default VNI (flannel's)"
	check_eq "$(jq -r '.[0].port' <<< "$out")" 8472 "default port (flannel's)"
	check_eq "$(jq -r '.[0].mtu' <<< "$out")" 1450 "default MTU"
	check_eq "$(jq -r '.[0].peers' <<< "$out")" 0 "no peers"
	check_eq "$(ip -n "$ns" -j link show skiff0 | jq -r '.[0].mtu')" 1450 "MTU on the link"
}

test_dev_add_options() {
	local ns out

	ns_create ns
	ip netns exec "$ns" $DP dev add ov1 vni 4096 port 4789 mtu 1400 \
		local 192.168.9.9 vtep-mac 02:11:22:33:44:55
	out=$(ip netns exec "$ns" $DP -j dev show ov1)
	check_eq "$(jq -c '.[0] | [.vni, .port, .mtu, .local, .vtep_mac]' <<< "$out")" \
		'[4096,4789,1400,"192.168.9.9","02:11:22:33:44:55"]' "settings kept"
	out=$(ip netns exec "$ns" $DP dev show)
	check_match "$out" "^ov1: vni 4096 port 4789 mtu 1400 vtep-mac 02:11:22:33:44:55 local 192.168.9.9 peers 0$" "human output"
	ip netns exec "$ns" $DP dev del ov1
	[ -z "$(ip netns exec "$ns" $DP -j dev show | jq -r '.[]')" ] || fail "still listed"
	! ip -n "$ns" link show ov1 2> /dev/null || fail "link still there"
}

test_peer_add_show_del() {
	local ns out

	ns_create ns
	ip netns exec "$ns" $DP dev add skiff0
	ip -n "$ns" link set skiff0 up
	ip netns exec "$ns" $DP peer add skiff0 10.244.7.0/24 remote 192.168.77.7 \
		mac 02:00:00:00:00:07
	out=$(ip netns exec "$ns" $DP -j peer show skiff0)
	check_eq "$(jq -c '.[] | [.prefix, .prefix_len, .remote, .mac]' <<< "$out")" \
		'["10.244.7.0",24,"192.168.77.7","02:00:00:00:00:07"]' "peer listed"
	check_eq "$(ip netns exec "$ns" $DP -j dev show skiff0 | jq '.[0].peers')" 1 "peer count"
	ip netns exec "$ns" $DP peer add skiff0 10.244.7.0/24 remote 192.168.77.8 \
		mac 02:00:00:00:00:08 replace
	out=$(ip netns exec "$ns" $DP -j peer show skiff0)
	check_eq "$(jq -c '[.[] | .remote]' <<< "$out")" '["192.168.77.8"]' "replaced"
	ip netns exec "$ns" $DP peer del skiff0 10.244.7.0/24
	check_eq "$(ip netns exec "$ns" $DP -j peer show skiff0 | jq length)" 0 "deleted"
}

test_pod_to_pod_ping() {
	setup_nodes
	wait_for 20 ping_ok "$pod1" 10.244.2.2 || fail "pod1 -> pod2"
	ping_ok "$pod2" 10.244.1.2 || fail "pod2 -> pod1"
	ping_ok "$node1" 10.244.2.2 || fail "node1 -> pod2"
}

test_pod_to_pod_tcp() {
	setup_nodes
	wait_for 20 ping_ok "$pod1" 10.244.2.2 || fail "no path"
	tcp_transfer "$pod1" "$pod2" 10.244.2.2 3000000
	tcp_transfer "$pod2" "$pod1" 10.244.1.2 3000000
}

test_pod_to_pod_udp() {
	local got

	setup_nodes
	wait_for 20 ping_ok "$pod1" 10.244.2.2 || fail "no path"
	ip netns exec "$pod2" timeout 10 socat -u UDP-RECVFROM:5002 \
		CREATE:/tmp/skiff-udp-$$ &
	wait_for 20 listening_udp "$pod2" 5002 || fail "listener did not start"
	echo "hello over udp" | ip netns exec "$pod1" socat -u - UDP:10.244.2.2:5002
	wait $!
	got=$(cat /tmp/skiff-udp-$$)
	rm -f /tmp/skiff-udp-$$
	check_eq "$got" "hello over udp" "datagram received"
}

test_wire_format_is_vxlan() {
	local cap=/tmp/skiff-cap-$$ out

	setup_nodes
	wait_for 20 ping_ok "$pod1" 10.244.2.2 || fail "no path"
	capture_start "$node2" 30 "$cap" -T vxlan -c 2 -i u2 udp port 8472
	ping_ok "$pod1" 10.244.2.2
	capture_wait
	out=$(cat "$cap")
	rm -f "$cap" "$cap.err"
	check_match "$out" "192.168.77.1.[0-9]+ > 192.168.77.2.8472: VXLAN, flags \[I\] \(0x08\), vni 1" "outer frame"
	check_match "$out" "10.244.1.2 > 10.244.2.2: ICMP echo request" "inner packet"
}

test_peer_counters() {
	local out

	[ "$BACKEND" = kmod ] || { echo "only skiff.ko counts per peer"; return "$ksft_skip"; }
	setup_nodes
	wait_for 20 ping_ok "$pod1" 10.244.2.2 || fail "no path"
	out=$(ip netns exec "$node1" $DP -j peer show skiff0)
	[ "$(jq '.[0].tx_packets' <<< "$out")" -ge 1 ] || fail "tx_packets: $out"
	[ "$(jq '.[0].tx_bytes' <<< "$out")" -ge 84 ] || fail "tx_bytes: $out"
}

test_no_peer_is_unreachable() {
	local out

	setup_nodes
	ip -n "$pod1" route add 10.245.0.0/16 via 10.244.1.1
	ip -n "$node1" route add 10.245.0.0/16 dev skiff0
	out=$(ip netns exec "$pod1" busybox ping -c 1 -W 2 10.245.0.5 2>&1) &&
		fail "reached an address no peer has"
	true
}

# node1 on skiff.ko, node2 on Linux's vxlan driver set up as flannel does.
test_interop_with_linux_vxlan() {
	local cap=/tmp/skiff-cap-$$ out

	[ "$BACKEND" = kmod ] || { echo "needs skiff.ko on one node"; return "$ksft_skip"; }
	setup_nodes kmod nft
	check_eq "$(ip -n "$node2" -d -j link show skiff0 | jq -r '.[0].linkinfo.info_kind')" \
		vxlan "node2 runs Linux vxlan"
	capture_start "$node2" 30 "$cap" -T vxlan -c 4 -i u2 udp port 8472
	wait_for 20 ping_ok "$pod1" 10.244.2.2 || fail "skiff.ko -> vxlan"
	ping_ok "$pod2" 10.244.1.2 || fail "vxlan -> skiff.ko"
	capture_wait
	out=$(cat "$cap")
	rm -f "$cap" "$cap.err"
	check_match "$out" "192.168.77.1.[0-9]+ > 192.168.77.2.8472: VXLAN, flags \[I\] \(0x08\), vni 1" "skiff.ko's frames"
	check_match "$out" "192.168.77.2.[0-9]+ > 192.168.77.1.8472: VXLAN, flags \[I\] \(0x08\), vni 1" "vxlan's frames"
	tcp_transfer "$pod1" "$pod2" 10.244.2.2 3000000
	tcp_transfer "$pod2" "$pod1" 10.244.1.2 3000000
}

# The underlay narrower than the overlay expects: TCP still gets through,
# never stalling on packets dropped in silence. skiff.ko tells the sender
# (DF set) with ICMP "fragmentation needed", so the pod learns the path
# MTU and no outer packet is fragmented; Linux vxlan (nft) fragments the
# outer packet instead (its default: outer DF unset), and a forwarding
# node does not pass the learnt MTU on to the pod.
test_pmtu_frag_needed() {
	local mtu

	setup_nodes
	ip -n "$node1" link set u1 mtu 1300
	ip -n "$node2" link set u2 mtu 1300
	wait_for 20 ping_ok "$pod1" 10.244.2.2 || fail "no path"
	tcp_transfer "$pod1" "$pod2" 10.244.2.2 1000000
	[ "$BACKEND" = kmod ] || return 0
	# 1300 less the VXLAN overhead (outer IPv4 20, UDP 8, VXLAN 8,
	# inner Ethernet 14).
	mtu=$(ip -n "$pod1" route get 10.244.2.2 | sed -n 's/.* mtu \([0-9]*\).*/\1/p')
	check_eq "$mtu" 1250 "path MTU pod1 learnt"
}

# GSO: the overlay device takes TCP segments larger than its MTU from the
# local stack and segments them after encapsulation, and they arrive whole.
test_gso_through_the_overlay() {
	local cap=/tmp/skiff-gso-$$ out

	setup_nodes
	wait_for 20 ping_ok "$node1" 10.244.2.2 || fail "no path"
	capture_start "$node1" 60 "$cap" -c 200 -i skiff0 tcp and dst port 5001
	tcp_transfer "$node1" "$pod2" 10.244.2.2 3000000
	kill "$SKIFF_CAPTURE" 2> /dev/null || true
	capture_wait
	out=$(cat "$cap")
	rm -f "$cap" "$cap.err"
	# tcpdump prints "length N" of the TCP payload: above the MTU (1450)
	# only for a GSO packet handed to the device whole.
	grep -Eo 'length [0-9]+' <<< "$out" | awk '$2 > 1450 { big = 1 } END { exit !big }' ||
		fail "no segment above the MTU reached skiff0: $(tail -n 3 <<< "$out")"
}

# max_length FILE: the largest "length N" in tcpdump's output FILE, which
# for VXLAN (port 8472, decoded) is the inner TCP segment's payload.
max_length() {
	grep -Eo 'length [0-9]+' "$1" | awk '$2 > max { max = $2 } END { print max + 0 }'
}

# GRO: node1 sends each TCP segment in its own VXLAN datagram within the
# underlay MTU (segmentation offloads off on u1). On node2 they are merged
# on receive twice over: by u2's GRO (on: veth then runs NAPI), which
# hands VXLAN datagrams to the tunnel socket's gro_receive, and by the
# overlay device's own GRO cells. Merged packets, above the overlay MTU,
# show on u2 and on skiff0 though none crossed the underlay.
test_gro_through_the_overlay() {
	local cap=/tmp/skiff-gro-$$ pids=() sent received skiff0

	setup_nodes
	ip netns exec "$node1" ethtool -K u1 tso off gso off \
		tx-udp_tnl-segmentation off > /dev/null
	ip netns exec "$node2" ethtool -K u2 gro on
	wait_for 20 ping_ok "$pod1" 10.244.2.2 || fail "no path"
	capture_start "$node1" 60 "$cap.sent" -c 400 -Q out -i u1 udp and dst port 8472
	pids+=("$SKIFF_CAPTURE")
	capture_start "$node2" 60 "$cap.received" -c 200 -Q in -i u2 udp and dst port 8472
	pids+=("$SKIFF_CAPTURE")
	capture_start "$node2" 60 "$cap.skiff0" -c 200 -i skiff0 tcp and dst port 5001
	pids+=("$SKIFF_CAPTURE")
	tcp_transfer "$pod1" "$pod2" 10.244.2.2 3000000
	kill "${pids[@]}" 2> /dev/null || true
	wait "${pids[@]}" || true
	sent=$(max_length "$cap.sent")
	received=$(max_length "$cap.received")
	skiff0=$(max_length "$cap.skiff0")
	rm -f "$cap".*
	echo "largest TCP payload: sent $sent, received on u2 $received, on skiff0 $skiff0"
	[ "$sent" -gt 0 ] && [ "$sent" -le 1450 ] ||
		fail "node1 sent segments of up to $sent bytes, not within the MTU"
	[ "$received" -gt 1450 ] || fail "u2's GRO merged no VXLAN datagrams"
	[ "$skiff0" -gt 1450 ] || fail "no merged segment reached node2's skiff0"
}

test_netns_delete_with_traffic() {
	setup_nodes
	wait_for 20 ping_ok "$pod1" 10.244.2.2 || fail "no path"
	ip netns exec "$pod1" busybox ping -q -i 0.01 -w 3 10.244.2.2 > /dev/null 2>&1 &
	sleep 1
	ns_delete "$node2"
	ns_delete "$node1"
	wait || true
}

run_tests \
	test_dev_add_defaults \
	test_dev_add_options \
	test_peer_add_show_del \
	test_pod_to_pod_ping \
	test_pod_to_pod_tcp \
	test_pod_to_pod_udp \
	test_wire_format_is_vxlan \
	test_peer_counters \
	test_no_peer_is_unreachable \
	test_interop_with_linux_vxlan \
	test_pmtu_frag_needed \
	test_gso_through_the_overlay \
	test_gro_through_the_overlay \
	test_netns_delete_with_traffic
