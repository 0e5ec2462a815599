#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dataplane-vm.sh: the data plane benchmark, run in the test VM with skiff.ko
# loaded (scripts/bench/dataplane.sh boots it; `make bench-dataplane`). Three
# setups, one after the other, each on a fresh topology:
#
#   kmod      skiff-dp -b kmod: skiff.ko's overlay and services
#   nft       skiff-dp -b nft: Linux vxlan + kube-proxy nftables-mode services
#   ipt       Linux vxlan (skiff-dp -b nft dev) + services as kube-proxy's
#             iptables mode lays them out, written as nftables rules (no
#             iptables binary here): one linear chain with a rule per
#             service, a chain per service splitting at random over a chain
#             per backend (see gen_ipt below), loaded with `nft -f`.
#
#   pod1 10.244.1.2 (client)                     pod2a 10.244.2.2  pod2b 10.244.2.3
#          │ veth (mtu 1450)                    (connrate servers, iperf3 server)
#   node1  10.244.1.1, skiff0 10.244.1.0/32      node2 br0 10.244.2.1, skiff0 10.244.2.0/32
#          u1 192.168.77.1/24 ─────── underlay veth ─────── u2 192.168.77.2/24
#
# Services live on node1 (where the client's packets are DNATed). N services,
# 2 backends each; the measured one, 10.100.0.10:80 -> pod2a, pod2b :8080,
# sits in the middle of the list (the average place in a linear chain); the
# others point at addresses no packet goes to.
#
# Measured per setup: single-stream TCP throughput pod1 -> pod2a (iperf3;
# kmod and nft only: ipt has the same overlay as nft), then for each N: the
# time to program N services from none, to add one and remove one service
# with N present, and new TCP connections/s from pod1 through the service.
#
# Prints progress lines "bench: ..." and, at the end, the results as
# markdown between the lines "==== skiff-bench results begin ====" and
# "==== skiff-bench results end ====", then each figure as a line "KEY
# VALUE" between "==== skiff-bench figures begin ====" and "... end ===="
# (the guest cannot write the checkout: the host picks them out of the
# console). Knobs (environment):
#
#   BENCH_SETUPS     setups to run (default "kmod nft ipt")
#   BENCH_PROG_NS    N for programming and updates (default "1000 10000 30000 100000")
#   BENCH_RATE_NS    N for connections/s (default "1 1000 10000 30000")
#   BENCH_DURATION   seconds per connections/s sample (default 5)
#   BENCH_SAMPLES    samples per connections/s point, median kept (default 3)
#   BENCH_PARALLEL   connections in flight (default 8)
#   BENCH_UPDATES    add+remove pairs per N, median kept (default 5)
#   BENCH_IPERF      iperf3 seconds (default 10)
#   BENCH_TIMEOUT    seconds any one programming step may take (default 600)
#   BENCH_KMOD_ONLY_NS  N of BENCH_PROG_NS run for kmod alone (default none):
#                    sizes too slow to program for the others under TCG

SELF=$(realpath "$0")
TOP=$(cd "$(dirname "$SELF")/../.." && pwd)
export PATH=$TOP/build/bin:$TOP/build/bench:$PATH

SETUPS=${BENCH_SETUPS:-kmod nft ipt}
PROG_NS=${BENCH_PROG_NS:-1000 10000 30000 100000}
RATE_NS=${BENCH_RATE_NS:-1 1000 10000 30000}
DURATION=${BENCH_DURATION:-5}
SAMPLES=${BENCH_SAMPLES:-3}
PARALLEL=${BENCH_PARALLEL:-8}
UPDATES=${BENCH_UPDATES:-5}
IPERF=${BENCH_IPERF:-10}
STEP_TIMEOUT=${BENCH_TIMEOUT:-600}
KMOD_ONLY_NS=${BENCH_KMOD_ONLY_NS:-}

VIP=10.100.0.10
ADD_VIP=10.111.0.1
CLUSTER_CIDR=10.244.0.0/16
WORK=${BENCH_WORK:-/tmp/skiff-bench}

# ---- helpers run inside a node's namespace ---------------------------------
#
# `ip netns exec` costs a mount namespace and a remount of /sys: the timed
# commands run in a loop inside the namespace, so that only they are timed.

now_us() {
	echo "${EPOCHREALTIME/./}"
}

# median: of the numbers on stdin
median() {
	sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "fail"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# _time_cmd COMMAND...: runs it once, prints its wall time in ms or "fail".
_time_cmd() {
	local t0 t1

	t0=$(now_us)
	"$@" > /dev/null || { echo fail; return 0; }
	t1=$(now_us)
	echo "$(( (t1 - t0) / 1000 )).$(printf '%03d' $(( (t1 - t0) % 1000 )))"
}

# _updates SETUP REPS: adds and removes one service REPS times; prints the
# median add and remove times in ms. kmod, nft: the library call alone
# (bench/svctime); ipt: `nft -f` less what `nft -f` of nothing takes (the
# process start), as $NFT_BASE_MS.
_updates() {
	local setup=$1 reps=$2 i t0 t1 t2 adds="" dels="" handle

	if [ "$setup" != ipt ]; then
		svctime -b "$setup" update "$reps" $ADD_VIP || echo "fail fail"
		return
	fi
	for i in $(seq "$reps"); do
		t0=$(now_us)
		nft -f "$WORK/ipt-add.nft" || { echo "fail fail"; return; }
		t1=$(now_us)
		# The rule in "services" came right after svc-add's last one (nft
		# -e would say, but at the price of reading the whole ruleset); a
		# wrong handle fails the deletion.
		handle=$(nft -a list chain ip kp svc-add |
			sed -n 's/.*jump sep-add-1 # handle \([0-9]*\)$/\1/p')
		[ -n "$handle" ] || { echo "fail fail"; return; }
		sed "s/@HANDLE@/$((handle + 1))/" "$WORK/ipt-del.nft" > "$WORK/ipt-del-now.nft"
		t2=$(now_us)
		nft -f "$WORK/ipt-del-now.nft" || { echo "fail fail"; return; }
		adds+="$((t1 - t0))"$'\n'
		dels+="$(($(now_us) - t2))"$'\n'
	done
	echo "$(printf '%s' "$adds" | median | net_ms)" \
		"$(printf '%s' "$dels" | median | net_ms)"
}

# net_ms: microseconds on stdin to ms, less the process start $NFT_BASE_MS.
net_ms() {
	awk -v base="${NFT_BASE_MS:-0}" '{ v = $1 / 1000 - base; if (v < 0) v = 0; printf "%.1f", v }'
}

# _nft_base REPS: the median ms of `nft -f` of an empty file.
_nft_base() {
	local i t0 ts=""

	for i in $(seq "$1"); do
		t0=$(now_us)
		nft -f "$WORK/empty.nft"
		ts+="$(($(now_us) - t0))"$'\n'
	done
	printf '%s' "$ts" | median | awk '{ printf "%.1f", $1 / 1000 }'
}

case "${1:-}" in
_time_cmd|_updates|_nft_base)
	cmd=$1
	shift
	"$cmd" "$@"
	exit
	;;
esac

# ---- the topology -----------------------------------------------------------

NSS=()
PIDS=()

log() {
	echo "bench: $*"
}

teardown() {
	local p ns

	for p in "${PIDS[@]}"; do
		kill "$p" 2> /dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2> /dev/null
	done
	PIDS=()
	for ns in "${NSS[@]}"; do
		ip netns del "$ns" 2> /dev/null
	done
	NSS=()
}
trap teardown EXIT

mkns() {
	ip netns add "$1" && NSS+=("$1") && ip -n "$1" link set lo up
}

in_ns() {
	local ns=$1

	shift
	ip netns exec "$ns" "$@"
}

spawn() {
	local ns=$1

	shift
	ip netns exec "$ns" "$@" > /dev/null 2>&1 &
	PIDS+=($!)
}

# setup_topology OVERLAY_BACKEND
setup_topology() {
	local b=$1 n node mac1 mac2

	mkns bn1 && mkns bn2 && mkns bpod1 && mkns bpod2a && mkns bpod2b || return 1
	ip link add u1 netns bn1 type veth peer name u2 netns bn2
	ip -n bn1 addr add 192.168.77.1/24 dev u1
	ip -n bn2 addr add 192.168.77.2/24 dev u2
	ip -n bn1 link set u1 up
	ip -n bn2 link set u2 up

	ip link add eth0 netns bpod1 mtu 1450 type veth peer name vpod1 netns bn1 mtu 1450
	ip -n bpod1 addr add 10.244.1.2/24 dev eth0
	ip -n bpod1 link set eth0 up
	ip -n bpod1 route add default via 10.244.1.1
	ip -n bn1 addr add 10.244.1.1/24 dev vpod1
	ip -n bn1 link set vpod1 up
	in_ns bpod1 sysctl -qw net.ipv4.ip_local_port_range="1024 65000"

	ip -n bn2 link add br0 mtu 1450 type bridge
	ip -n bn2 addr add 10.244.2.1/24 dev br0
	ip -n bn2 link set br0 up
	for n in a b; do
		ip link add eth0 netns "bpod2$n" mtu 1450 type veth peer name "vpod2$n" \
			netns bn2 mtu 1450
		ip -n bn2 link set "vpod2$n" master br0 up
		ip -n "bpod2$n" link set eth0 up
		ip -n "bpod2$n" route add 10.244.2.0/24 dev eth0 2> /dev/null
	done
	ip -n bpod2a addr add 10.244.2.2/24 dev eth0
	ip -n bpod2b addr add 10.244.2.3/24 dev eth0
	ip -n bpod2a route add default via 10.244.2.1
	ip -n bpod2b route add default via 10.244.2.1

	for n in 1 2; do
		node=bn$n
		in_ns $node sysctl -qw net.ipv4.ip_forward=1
		# Connections of one step must not pile up in conntrack into
		# the next: all setups alike.
		in_ns $node sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=2 2> /dev/null
		in_ns $node skiff-dp -b "$b" dev add skiff0 || return 1
		ip -n $node addr add 10.244.$n.0/32 dev skiff0
		ip -n $node link set skiff0 up
	done
	mac1=$(in_ns bn1 skiff-dp -b "$b" -j dev show skiff0 | jq -r '.[0].vtep_mac')
	mac2=$(in_ns bn2 skiff-dp -b "$b" -j dev show skiff0 | jq -r '.[0].vtep_mac')
	in_ns bn1 skiff-dp -b "$b" peer add skiff0 10.244.2.0/24 remote 192.168.77.2 mac "$mac2" &&
	in_ns bn2 skiff-dp -b "$b" peer add skiff0 10.244.1.0/24 remote 192.168.77.1 mac "$mac1" ||
		return 1

	spawn bpod2a connrate server -p 8080
	spawn bpod2b connrate server -p 8080
	spawn bpod2a iperf3 -s -p 5201
	wait_ok 20 in_ns bpod1 connrate client -d 1 10.244.2.2:8080 &&
	wait_ok 20 in_ns bpod1 connrate client -d 1 10.244.2.3:8080
}

# wait_ok SECONDS COMMAND...: retries COMMAND until it succeeds.
wait_ok() {
	local deadline=$((SECONDS + $1))

	shift
	until "$@" > /dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# ---- service tables ----------------------------------------------------------

# The services of a table of N: VIP, backend 1, backend 2, one line each,
# the measured one in the middle.
gen_list() {
	awk -v n="$1" -v vip="$VIP" 'BEGIN {
		mid = int(n / 2)
		for (i = 0; i < n; i++) {
			if (i == mid) {
				print vip, "10.244.2.2", "10.244.2.3"
				continue
			}
			b = int(i / 250) % 250; c = i % 250 + 1
			printf "10.%d.%d.%d 10.245.%d.%d 10.246.%d.%d\n",
				96 + int(i / 62500), b, c, b, c, b, c
		}
	}'
}

# kube-proxy's iptables mode, in nftables words (what iptables-nft would
# load, less the xtables compatibility): KUBE-SERVICES is a list of one rule
# per service, matched in order; KUBE-SVC-* marks clients from outside the
# cluster for masquerade and picks a backend with probability 1/(backends
# left) per rule (`-m statistic --mode random`); KUBE-SEP-* marks hairpin
# traffic and DNATs.
gen_ipt() {
	awk -v cidr="$CLUSTER_CIDR" '
	BEGIN {
		print "table ip kp {"
		print "\tchain prerouting { type nat hook prerouting priority -100; policy accept; jump services; }"
		print "\tchain output { type nat hook output priority -100; policy accept; jump services; }"
		print "\tchain postrouting { type nat hook postrouting priority 100; policy accept;"
		print "\t\tmeta mark & 0x4000 == 0 return; meta mark set mark ^ 0x4000; masquerade fully-random; }"
		print "\tchain mark-masq { meta mark set mark | 0x4000; }"
	}
	{
		vip[NR] = $1
		for (k = 0; k < 2; k++)
			printf "\tchain sep-%d-%d { ip saddr %s jump mark-masq; meta l4proto tcp dnat to %s:8080; }\n",
				NR, k, $(k + 2), $(k + 2)
		printf "\tchain svc-%d { ip saddr != %s jump mark-masq; numgen random mod 2 == 0 jump sep-%d-0; jump sep-%d-1; }\n",
			NR, cidr, NR, NR
	}
	END {
		print "\tchain services {"
		for (i = 1; i <= NR; i++)
			printf "\t\tip daddr %s tcp dport 80 jump svc-%d\n", vip[i], i
		print "\t}"
		print "}"
	}'
}

# What kube-proxy's iptables mode adds for one new service, incrementally;
# and what takes it away (the rule by its handle, learnt when adding).
gen_ipt_update() {
	local c=$CLUSTER_CIDR k b

	{
		for k in 0 1; do
			b=10.24$((5 + k)).255.1
			echo "add chain ip kp sep-add-$k"
			echo "add rule ip kp sep-add-$k ip saddr $b jump mark-masq"
			echo "add rule ip kp sep-add-$k meta l4proto tcp dnat to $b:8080"
		done
		echo "add chain ip kp svc-add"
		echo "add rule ip kp svc-add ip saddr != $c jump mark-masq"
		echo "add rule ip kp svc-add numgen random mod 2 == 0 jump sep-add-0"
		echo "add rule ip kp svc-add jump sep-add-1"
		echo "add rule ip kp services ip daddr $ADD_VIP tcp dport 80 jump svc-add"
	} > "$WORK/ipt-add.nft"
	{
		echo "delete rule ip kp services handle @HANDLE@"
		for k in svc-add sep-add-0 sep-add-1; do
			echo "flush chain ip kp $k"
			echo "delete chain ip kp $k"
		done
	} > "$WORK/ipt-del.nft"
}

gen_tables() {
	local n

	mkdir -p "$WORK"
	: > "$WORK/empty.list"
	: > "$WORK/empty.nft"
	for n in $(printf '%s\n' $PROG_NS $RATE_NS | sort -nu); do
		gen_list "$n" > "$WORK/list-$n"
		gen_ipt < "$WORK/list-$n" > "$WORK/ipt-$n.nft"
	done
	gen_ipt_update
}

# flush SETUP: no service left on node1 (not timed).
flush() {
	case $1 in
	ipt) in_ns bn1 nft delete table ip kp 2> /dev/null; true ;;
	*) in_ns bn1 timeout "$STEP_TIMEOUT" svctime -b "$1" sync "$WORK/empty.list" > /dev/null ;;
	esac
}

# program SETUP N: prints the time (ms) to program N services from none.
# kmod, nft: the library call (one netlink request, one nf_tables batch);
# ipt: `nft -f` of the whole table less the process start.
program() {
	local t

	case $1 in
	ipt)
		t=$(in_ns bn1 "$SELF" _time_cmd timeout "$STEP_TIMEOUT" nft -f "$WORK/ipt-$2.nft")
		[ "$t" = fail ] && { echo fail; return; }
		awk -v t="$t" -v base="${NFT_BASE_MS:-0}" 'BEGIN { v = t - base; if (v < 0) v = 0; printf "%.1f\n", v }'
		;;
	*) in_ns bn1 timeout "$STEP_TIMEOUT" svctime -b "$1" sync "$WORK/list-$2" || echo fail ;;
	esac
}

# rate: new connections/s from pod1 through the measured service, median
# of the samples.
rate() {
	local i samples=""

	wait_ok 10 in_ns bpod1 connrate client -d 1 $VIP:80 || { echo fail; return; }
	# Warm up (caches, conntrack, the emulator's translated code): not kept.
	in_ns bpod1 connrate client -q -d 2 -c "$PARALLEL" $VIP:80 > /dev/null
	for i in $(seq "$SAMPLES"); do
		samples+="$(in_ns bpod1 connrate client -q -d "$DURATION" -c "$PARALLEL" \
			$VIP:80 || echo 0)"$'\n'
	done
	# Every sample in the log (stdout is the figure): a spread shows there.
	log "conn/s samples: ${samples//$'\n'/ }" >&2
	printf '%s' "$samples" | median
}

throughput() {
	local out

	out=$(in_ns bpod1 iperf3 -c 10.244.2.2 -p 5201 -t "$IPERF" -J 2> /dev/null) ||
		{ echo fail; return; }
	jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100' <<< "$out"
}

# ---- the run ----------------------------------------------------------------

declare -A R	# R[what,setup,N] = number or "fail" / "-"

run_setup() {
	local s=$1 overlay=nft n t p

	[ "$s" = kmod ] && overlay=kmod
	log "$s: topology (overlay: $overlay)"
	if ! setup_topology $overlay; then
		log "$s: topology failed"
		teardown
		return
	fi
	[ "$s" != ipt ] && in_ns bn1 skiff-dp -b "$s" cluster-cidr $CLUSTER_CIDR
	if [ "$s" = ipt ]; then
		NFT_BASE_MS=$(in_ns bn1 "$SELF" _nft_base "$UPDATES")
		export NFT_BASE_MS
		R[nftbase]=$NFT_BASE_MS
		log "ipt: nft -f of nothing takes $NFT_BASE_MS ms (subtracted)"
	fi
	if [ "$s" != ipt ]; then
		R[tput,$s]=$(throughput)
		log "$s: throughput ${R[tput,$s]} Gbit/s"
	fi
	for n in $(printf '%s\n' $PROG_NS $RATE_NS | sort -nu); do
		if [ "$s" != kmod ] && grep -qw -- "$n" <<< "$KMOD_ONLY_NS"; then
			continue
		fi
		flush "$s" || log "$s: flush failed"
		t=$(program "$s" "$n")
		[ -n "$t" ] || t=fail
		R[prog,$s,$n]=$t
		log "$s: N=$n program $t ms"
		if [ "$t" = fail ]; then
			# A table that cannot be programmed: no point in going bigger.
			break
		fi
		if grep -qw -- "$n" <<< "$PROG_NS"; then
			# Not < <(...): the guest's /dev has no /dev/fd.
			read -r R[add,$s,$n] R[del,$s,$n] <<< "$(in_ns bn1 "$SELF" _updates "$s" "$UPDATES")"
			log "$s: N=$n add ${R[add,$s,$n]} ms, remove ${R[del,$s,$n]} ms"
		fi
		if grep -qw -- "$n" <<< "$RATE_NS"; then
			p=$(rate)
			R[rate,$s,$n]=$p
			log "$s: N=$n $p conn/s"
		fi
	done
	flush "$s" > /dev/null 2>&1
	teardown
}

# ---- the report ---------------------------------------------------------------

val() {
	echo "${R[$1]:--}"
}

# ratio A B: A/B to 2 decimals, one more for each decade below 0.1 down to
# 5 (kmod's 0.028 ms against nft's 16 ms reads 0.0018, not 0.00), or "-".
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) print "-"
		else if (a / b >= 0.1 || a + 0 == 0) printf "%.2f\n", a / b
		else if (a / b >= 0.01) printf "%.3f\n", a / b
		else if (a / b >= 0.001) printf "%.4f\n", a / b
		else printf "%.5f\n", a / b }'
}

# fmt_ms MS: ms below 10 s, else seconds; 3 decimals below 1 ms (the
# updates kmod makes in 0.03 ms would read 0.0)
fmt_ms() {
	awk -v v="$1" 'BEGIN {
		if (v !~ /^[0-9.]+$/) print v
		else if (v >= 10000) printf "%.1f s\n", v / 1000
		else if (v >= 100) printf "%.0f ms\n", v
		else if (v >= 1 || v + 0 == 0) printf "%.1f ms\n", v
		else printf "%.3f ms\n", v }'
}

is_num() {
	[[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]
}

# both SO_FAR A OP B: SO_FAR and (A OP B): 1, 0, or x when unknown.
both() {
	if ! is_num "$2" || ! is_num "$4"; then
		[ "$1" = 0 ] && echo 0 || echo x
		return
	fi
	awk -v s="$1" -v a="$2" -v op="$3" -v b="$4" 'BEGIN {
		r = (op == ">=") ? a >= b : (op == "<=") ? a <= b : a < b
		print (s == 0 || !r) ? 0 : (s == 1) ? 1 : "x" }'
}

# verdict COND: "met" / "not met" / "unknown"
verdict() {
	case $1 in
	1) echo "**met**" ;;
	0) echo "**not met**" ;;
	*) echo "unknown (a measurement failed)" ;;
	esac
}

report() {
	local n k a b c best worst flat faster upd tput prog

	echo "### New TCP connections/s through a ClusterIP"
	echo
	echo "Client pod on node1, the service's 2 backend pods on node2 (across the"
	echo "overlay), $PARALLEL connections in flight, median of $SAMPLES samples of ${DURATION} s."
	echo "Higher is better."
	echo
	echo "| services | kmod | nft | iptables-style | kmod/nft | kmod/iptables-style | kmod vs kmod at 1 |"
	echo "|---:|---:|---:|---:|---:|---:|---:|"
	for n in $RATE_NS; do
		a=$(val rate,kmod,$n) b=$(val rate,nft,$n) c=$(val rate,ipt,$n)
		echo "| $n | $a | $b | $c | $(ratio "$a" "$b") | $(ratio "$a" "$c") | $(ratio "$a" "$(val rate,kmod,1)") |"
	done
	echo
	echo "### Programming N services (from none, 2 backends each)"
	echo
	echo "kmod, nft: the library call that makes the table, as a node agent makes"
	echo "it (\`skiff_dp_service_sync\`: one netlink request for kmod, one nf_tables"
	echo "batch for nft; bench/svctime); iptables-style: \`nft -f FILE\` less the"
	echo "$(fmt_ms "$(val nftbase)") an \`nft -f\` of nothing takes. Lower is better (a ratio"
	echo "below 1: kmod is faster)."
	echo
	echo "| services | kmod | nft | iptables-style | kmod/nft | kmod/iptables-style |"
	echo "|---:|---:|---:|---:|---:|---:|"
	for n in $PROG_NS; do
		a=$(val prog,kmod,$n) b=$(val prog,nft,$n) c=$(val prog,ipt,$n)
		echo "| $n | $(fmt_ms "$a") | $(fmt_ms "$b") | $(fmt_ms "$c") | $(ratio "$a" "$b") | $(ratio "$a" "$c") |"
	done
	echo
	echo "### Adding / removing one service with N present"
	echo
	echo "Median of $UPDATES. kmod, nft: the library calls \`skiff_dp_service_set\` /"
	echo "\`skiff_dp_service_del\` on an open data plane (bench/svctime): what a node"
	echo "agent pays per change; iptables-style: \`nft -f\` of the new service's chains"
	echo "and its rule in the service chain / of their deletion (the rule by handle),"
	echo "less the process start as above. Lower is better."
	echo
	echo "| services | kmod add | nft add | iptables-style add | kmod remove | nft remove | iptables-style remove | kmod/nft add, remove | kmod/iptables-style add, remove |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for n in $PROG_NS; do
		echo "| $n | $(fmt_ms "$(val add,kmod,$n)") | $(fmt_ms "$(val add,nft,$n)") | $(fmt_ms "$(val add,ipt,$n)") |" \
			"$(fmt_ms "$(val del,kmod,$n)") | $(fmt_ms "$(val del,nft,$n)") | $(fmt_ms "$(val del,ipt,$n)") |" \
			"$(ratio "$(val add,kmod,$n)" "$(val add,nft,$n)"), $(ratio "$(val del,kmod,$n)" "$(val del,nft,$n)") |" \
			"$(ratio "$(val add,kmod,$n)" "$(val add,ipt,$n)"), $(ratio "$(val del,kmod,$n)" "$(val del,ipt,$n)") |"
	done
	echo
	echo "For scale: starting a process (\`skiff-dp help\`: exec and dynamic linking,"
	echo "nothing done) takes $(fmt_ms "$(val exec)") here."
	echo
	echo "### Single-stream TCP throughput, pod to pod across nodes"
	echo
	echo "iperf3, ${IPERF} s, pod1 -> pod2a, no service in the path."
	echo
	echo "| overlay | Gbit/s |"
	echo "|---|---:|"
	echo "| kmod (skiff.ko) | $(val tput,kmod) |"
	echo "| Linux vxlan | $(val tput,nft) |"
	echo "| kmod/vxlan | $(ratio "$(val tput,kmod)" "$(val tput,nft)") |"
	echo

	# Targets: 1 met, 0 not, anything else unknown.
	best="" worst="" flat=1
	for n in $RATE_NS; do
		a=$(val rate,kmod,$n)
		is_num "$a" || { flat=x; break; }
		best=$(awk -v a="$a" -v b="${best:-$a}" 'BEGIN { print (a > b) ? a : b }')
		worst=$(awk -v a="$a" -v b="${worst:-$a}" 'BEGIN { print (a < b) ? a : b }')
	done
	[ "$flat" = 1 ] && flat=$(awk -v a="$worst" -v b="$best" 'BEGIN { print (a >= 0.9 * b) ? 1 : 0 }')

	faster=1
	for n in $RATE_NS; do
		faster=$(both "$faster" "$(val rate,kmod,$n)" ">=" "$(val rate,nft,$n)")
	done
	for n in $PROG_NS; do
		# A size nft does not run (BENCH_KMOD_ONLY_NS) compares nothing.
		grep -qw -- "$n" <<< "$KMOD_ONLY_NS" && continue
		for k in prog add del; do
			faster=$(both "$faster" "$(val $k,kmod,$n)" "<=" "$(val $k,nft,$n)")
		done
	done
	faster=$(both "$faster" "$(val tput,kmod)" ">=" "$(val tput,nft)")
	tput=$(both 1 "$(val tput,kmod)" ">=" "$(val tput,nft)")
	upd=$(both 1 "$(val add,kmod,100000)" "<" 10)
	upd=$(both "$upd" "$(val del,kmod,100000)" "<" 10)
	prog=$(both 1 "$(val prog,kmod,100000)" "<" 1000)

	echo "### Targets"
	echo
	echo "| target | measured | verdict |"
	echo "|---|---|---|"
	echo "| kmod connections/s flat within 10% from 1 to 30k services | lowest $worst, highest $best conn/s ($(ratio "$worst" "$best")) | $(verdict "$flat") |"
	echo "| kmod at least as fast as nft everywhere (every row above) | see the kmod/nft columns | $(verdict "$faster") |"
	echo "| 100k services programmed in well under a second (kmod) | $(fmt_ms "$(val prog,kmod,100000)") | $(verdict "$prog") |"
	echo "| one-service update with 100k present under 10 ms (kmod) | add $(fmt_ms "$(val add,kmod,100000)"), remove $(fmt_ms "$(val del,kmod,100000)") | $(verdict "$upd") |"
	echo "| overlay throughput at least Linux vxlan's | $(ratio "$(val tput,kmod)" "$(val tput,nft)") of it | $(verdict "$tput") |"
}

main() {
	local s t

	log "kernel $(uname -r), $(nproc) CPUs, setups: $SETUPS"
	# Room for the connections of the rate steps.
	sysctl -qw net.netfilter.nf_conntrack_max=524288 2> /dev/null
	modprobe -q nft_numgen nft_nat nft_masq nft_chain_nat nft_ct 2> /dev/null
	for t in 1 2 3; do
		skiff-dp help > /dev/null
	done
	R[exec]=$(for t in 1 2 3 4 5; do _time_cmd skiff-dp help; done | median)

	gen_tables
	for s in $SETUPS; do
		run_setup "$s"
	done
	echo "==== skiff-bench results begin ===="
	report
	echo "==== skiff-bench results end ===="
	# The same figures as KEY VALUE lines, for build/bench/dataplane.json.
	echo "==== skiff-bench figures begin ===="
	for t in "${!R[@]}"; do
		echo "$t ${R[$t]}"
	done
	echo "==== skiff-bench figures end ===="
}

main
