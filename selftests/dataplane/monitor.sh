#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# skiff-dp monitor, on either backend (SKIFF_BACKEND=kmod in the test VM,
# nft on the host): every change to devices, peers and services shows up,
# in order, as the command that makes it.
#
#   ns: skiff0 (overlay device)        skiff-dp monitor dump > out
#       peers and services changed by skiff-dp; the monitor reports them

source "$(dirname "$0")/../lib.sh"

BACKEND=${SKIFF_BACKEND:-kmod}
DP="skiff-dp -b $BACKEND"
OUT=""

case_cleanup() {
	[ -z "$OUT" ] || rm -f "$OUT"
	OUT=""
}

# start_monitor NS [-j]: starts "skiff-dp monitor dump" in NS and waits
# until it has printed the device skiff0 (it then listens).
start_monitor() {
	OUT=$(mktemp)
	ip netns exec "$1" $DP $2 monitor dump > "$OUT" 2>&1 &
	SKIFF_PIDS+=($!)
	wait_for 10 grep -q skiff0 "$OUT" || fail "monitor printed no device"
}

# has_line LINE: the monitor has printed LINE (exactly).
has_line() {
	grep -qxF -- "$1" "$OUT"
}

# expect LINE...: waits for each LINE, then checks they came in this order.
expect() {
	local line prev=0 n

	for line in "$@"; do
		wait_for 10 has_line "$line" || { cat "$OUT"; fail "no '$line'"; return; }
		n=$(grep -nxF -- "$line" "$OUT" | tail -n 1 | cut -d: -f1)
		[ "$n" -gt "$prev" ] || { cat "$OUT"; fail "'$line' out of order"; return; }
		prev=$n
	done
}

setup() {
	ns_create ns
	ip netns exec "$ns" $DP dev add skiff0 vni 7 vtep-mac 02:00:00:00:07:00
	ip -n "$ns" link set skiff0 up
}

test_monitor_shows_every_change() {
	setup
	start_monitor "$ns"
	expect "dev add skiff0 vni 7 port 8472 mtu 1450 vtep-mac 02:00:00:00:07:00"

	ip netns exec "$ns" $DP peer add skiff0 10.244.2.0/24 remote 192.168.77.2 \
		mac 02:00:00:00:00:02
	expect "peer add skiff0 10.244.2.0/24 remote 192.168.77.2 mac 02:00:00:00:00:02"
	ip netns exec "$ns" $DP service set 10.96.0.10:53/udp \
		backend 10.244.2.5:53 backend 10.244.2.4:53@3
	expect "service set 10.96.0.10:53/udp backend 10.244.2.4:53@3 backend 10.244.2.5:53"
	ip netns exec "$ns" $DP service set 10.96.0.10:53/udp affinity 60 \
		backend 10.244.2.4:53
	expect "service set 10.96.0.10:53/udp affinity 60 backend 10.244.2.4:53"
	ip netns exec "$ns" $DP peer add skiff0 10.244.2.0/24 remote 192.168.77.3 \
		mac 02:00:00:00:00:03 replace
	expect "peer add skiff0 10.244.2.0/24 remote 192.168.77.3 mac 02:00:00:00:00:03"
	ip netns exec "$ns" $DP service del 10.96.0.10:53/udp
	ip netns exec "$ns" $DP peer del skiff0 10.244.2.0/24
	ip netns exec "$ns" $DP dev del skiff0
	expect "service del 10.96.0.10:53/udp" "peer del skiff0 10.244.2.0/24" \
		"dev del skiff0"
}

# A whole-table apply is reported as what it changed, nothing more.
test_monitor_apply_reports_the_difference() {
	local file

	setup
	ip netns exec "$ns" $DP service set 10.96.0.1:80/tcp backend 10.244.1.2:80
	ip netns exec "$ns" $DP service set 10.96.0.2:80/tcp backend 10.244.1.3:80
	start_monitor "$ns"
	expect "service set 10.96.0.1:80/tcp backend 10.244.1.2:80" \
		"service set 10.96.0.2:80/tcp backend 10.244.1.3:80"
	file=$(mktemp)
	printf '%s\n' "service 10.96.0.2:80/tcp backend 10.244.1.3:80" \
		"service 10.96.0.3:443/tcp backend 10.244.1.4:443" > "$file"
	ip netns exec "$ns" $DP apply "$file"
	rm -f "$file"
	expect "service del 10.96.0.1:80/tcp" \
		"service set 10.96.0.3:443/tcp backend 10.244.1.4:443"
	[ "$(grep -c 10.96.0.2 "$OUT")" = 1 ] || { cat "$OUT"; fail "unchanged service reported"; }
}

test_monitor_json() {
	local line

	setup
	start_monitor "$ns" -j
	ip netns exec "$ns" $DP service set 0.0.0.0:30080/tcp backend 10.244.1.2:80@2
	wait_for 10 grep -q 30080 "$OUT" || fail "no event"
	line=$(grep 30080 "$OUT")
	check_eq "$(jq -c '[.event, .service.vip, .service.port, .service.proto,
		[.service.backends[] | [.addr, .port, .weight]]]' <<< "$line")" \
		'["set","0.0.0.0",30080,"tcp",[["10.244.1.2",80,2]]]' "JSON event"
	check_eq "$(head -n 1 "$OUT" | jq -c '[.event, .dev.name, .dev.vni]')" \
		'["add","skiff0",7]' "JSON dump"
}

test_monitor_rejects_bad_arguments() {
	local out rc=0

	out=$($DP monitor now 2>&1) || rc=$?
	check_eq "$rc" 2 "exit status"
	check_match "$out" "monitor: unexpected argument 'now'" "message"
}

run_tests \
	test_monitor_shows_every_change \
	test_monitor_apply_reports_the_difference \
	test_monitor_json \
	test_monitor_rejects_bad_arguments
