#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# skiff.ko skeleton: loading, the generic netlink family and its strict
# validation, per-namespace state, unloading. Runs in the test VM (the
# harness loads skiff.ko first): scripts/vm/run.sh -- prove selftests/kmod/module.sh
#
#   init netns                   ns1                      ns2
#   skiff-dp info ──genl──▶ skiff.ko state  ◀──genl── skiff-dp info ...
#                          (one per netns: cookie and generation differ)

source "$(dirname "$0")/../lib.sh"

SKIFF_CMD_INFO_GET=1
SKIFF_A_INFO=1

module_loaded() {
	[ -d /sys/module/skiff ] && skiff-dp info > /dev/null 2>&1
}

family_gone() {
	local out

	! out=$(skiff-dp info 2>&1) || return 1
	grep -q 'skiff.ko is not loaded' <<< "$out"
}

load() {
	skiff_insmod
	wait_for 5 module_loaded
}

unload() {
	rmmod skiff
	wait_for 5 family_gone
}

test_module_is_loaded() {
	[ -d /sys/module/skiff ] || fail "skiff.ko is not loaded"
	check_eq "$(cat /sys/module/skiff/version)" "$(cat "$SKIFF_TOP/VERSION")" \
		"module version"
}

test_info_answers() {
	local out ns

	out=$(skiff-dp -j info)
	check_eq "$(jq -r .version <<< "$out")" "$(cat "$SKIFF_TOP/VERSION")" "version"
	check_eq "$(jq -r .genl_version <<< "$out")" 1 "genl version"
	check_eq "$(jq -r .netns_cookie <<< "$out")" "$(skiff-nltest netns-cookie)" \
		"netns cookie is the one of the asking socket's namespace"
	ns_create ns
	check_eq "$(ip netns exec "$ns" skiff-dp -j info | jq -r .generation)" 0 \
		"generation of an unconfigured netns"
	ip netns exec "$ns" skiff-dp dev add skiff0
	check_eq "$(ip netns exec "$ns" skiff-dp -j info | jq -r .generation)" 1 \
		"generation after a change"
	out=$(skiff-dp info)
	check_match "$out" "^skiff.ko $(cat "$SKIFF_TOP/VERSION")\$" "human output"
}

test_info_needs_no_privilege() {
	local out

	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		--bounding-set=-all skiff-dp -j info)
	check_eq "$(jq -r .genl_version <<< "$out")" 1 "info as nobody"
}

test_reply_only_attribute_rejected() {
	local out

	! out=$(skiff-nltest raw $SKIFF_CMD_INFO_GET $SKIFF_A_INFO "") ||
		fail "request with SKIFF_A_INFO accepted: $out"
	# genlmsghdr (4) after nlmsghdr (16): the first attribute is at 20.
	check_eq "$out" \
		"error: Invalid argument: SKIFF_A_INFO is filled in by the kernel, not by requests [offset 20]" \
		"extack"
}

test_unknown_attribute_rejected() {
	local out

	! out=$(skiff-nltest raw $SKIFF_CMD_INFO_GET 99 01020304) ||
		fail "request with attribute 99 accepted: $out"
	check_eq "$out" "error: Invalid argument: Unknown attribute type [offset 20]" \
		"extack"
}

test_bad_attribute_after_good_header_points_at_it() {
	local out

	# Attribute 0 is never valid; the second one is blamed, at 20 + 8.
	! out=$(skiff-nltest raw $SKIFF_CMD_INFO_GET 98 00000000 99 "") ||
		fail "accepted: $out"
	check_match "$out" "^error: Invalid argument: .+ \[offset 20\]$" "first bad attribute is blamed"
}

test_unknown_command_rejected() {
	local out

	! out=$(skiff-nltest raw 200) || fail "command 200 accepted: $out"
	check_match "$out" "^error: (Operation not supported|Not supported)" "unknown command"
}

test_rejections_change_nothing() {
	local before after

	before=$(skiff-dp -j info)
	skiff-nltest raw $SKIFF_CMD_INFO_GET $SKIFF_A_INFO "" > /dev/null || true
	skiff-nltest raw $SKIFF_CMD_INFO_GET 99 "" > /dev/null || true
	after=$(skiff-dp -j info)
	check_eq "$after" "$before" "info after rejected requests"
}

test_family_is_per_netns() {
	local ns1 ns2 c0 c1 c2

	ns_create ns1
	ns_create ns2
	c0=$(skiff-dp -j info | jq -r .netns_cookie)
	c1=$(ip netns exec "$ns1" skiff-dp -j info | jq -r .netns_cookie)
	c2=$(ip netns exec "$ns2" skiff-dp -j info | jq -r .netns_cookie)
	check_eq "$c1" "$(ip netns exec "$ns1" skiff-nltest netns-cookie)" "ns1 answered by its own state"
	check_eq "$c2" "$(ip netns exec "$ns2" skiff-nltest netns-cookie)" "ns2 answered by its own state"
	[ "$c0" != "$c1" ] && [ "$c1" != "$c2" ] && [ "$c0" != "$c2" ] ||
		fail "cookies not distinct: $c0 $c1 $c2"
}

test_netns_churn() {
	local i ns

	for i in $(seq 20); do
		ns_create ns
		ip netns exec "$ns" skiff-dp info > /dev/null
		ns_delete "$ns"
	done
	skiff-dp info > /dev/null
}

test_unload_removes_family() {
	unload
	[ ! -d /sys/module/skiff ] || fail "/sys/module/skiff still there"
	load
}

test_unload_with_live_netns() {
	local ns

	ns_create ns
	ip netns exec "$ns" skiff-dp info > /dev/null
	unload
	ip netns exec "$ns" skiff-dp info > /dev/null 2>&1 && fail "answered after unload"
	load
	ip netns exec "$ns" skiff-dp info > /dev/null
}

test_load_unload_20_times() {
	local i

	for i in $(seq 20); do
		unload || fail "unload $i"
		load || fail "load $i"
	done
	skiff-dp info > /dev/null
}

run_tests \
	test_module_is_loaded \
	test_info_answers \
	test_info_needs_no_privilege \
	test_reply_only_attribute_rejected \
	test_unknown_attribute_rejected \
	test_bad_attribute_after_good_header_points_at_it \
	test_unknown_command_rejected \
	test_rejections_change_nothing \
	test_family_is_per_netns \
	test_netns_churn \
	test_unload_removes_family \
	test_unload_with_live_netns \
	test_load_unload_20_times
