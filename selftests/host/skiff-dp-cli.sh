#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# skiff-dp's command line on the host, where skiff.ko is not loaded: bad
# arguments get a clear message and exit status 2, and a missing module is
# said plainly (exit status 1). Nothing here needs the VM.

source "$(dirname "$0")/../lib.sh"

# run_dp VAR_OUT VAR_RC ARGS...: runs skiff-dp, keeping output and status.
run_dp() {
	local -n __out=$1 __rc=$2

	shift 2
	__rc=0
	__out=$(skiff-dp "$@" 2>&1) || __rc=$?
}

test_help_lists_commands() {
	local out rc

	run_dp out rc help
	check_eq "$rc" 0 "exit status"
	check_match "$out" "^  info$" "info listed"
	check_match "$out" "^  service set VIP:PORT" "service listed"
	check_match "$out" "^  service set VIP:PORT/tcp\|udp \[affinity SECONDS\] \[local\]" \
		"local listed"
	run_dp out rc --help
	check_eq "$rc" 0 "--help exit status"
}

test_no_command_is_a_usage_error() {
	local out rc

	run_dp out rc
	check_eq "$rc" 2 "exit status"
	check_match "$out" "^Usage: skiff-dp" "usage shown"
}

test_unknown_command_is_refused() {
	local out rc

	run_dp out rc frobnicate
	check_eq "$rc" 2 "exit status"
	check_match "$out" "unknown command 'frobnicate'" "message"
}

test_unknown_option_is_refused() {
	local out rc

	run_dp out rc --frobnicate info
	check_eq "$rc" 2 "exit status"
	check_match "$out" "unrecognized option '--frobnicate'" "message"
}

test_extra_argument_is_refused() {
	local out rc

	run_dp out rc info extra
	check_eq "$rc" 2 "exit status"
	check_match "$out" "info: unexpected argument 'extra'" "message"
	run_dp out rc help extra
	check_eq "$rc" 2 "help exit status"
}

test_missing_module_is_said_plainly() {
	local out rc

	if [ -d /sys/module/skiff ]; then
		echo "skiff.ko is loaded on this host"
		return "$ksft_skip"
	fi
	run_dp out rc info
	check_eq "$rc" 1 "exit status"
	check_eq "$out" \
		"skiff-dp: No such file or directory: skiff.ko is not loaded (generic netlink family \"skiff\" not found)" \
		"message"
}

test_service_local_is_parsed() {
	local out rc json

	# The nft backend in a private network namespace: a real round trip.
	out=$(unshare --net bash -c '
		skiff-dp -b nft service set 0.0.0.0:30080/tcp local backend 10.244.1.2:80 &&
		skiff-dp -b nft service set 10.96.0.10:80/tcp affinity 30 local &&
		skiff-dp -b nft service set 10.96.0.11:80/tcp backend 10.244.1.2:80 &&
		skiff-dp -b nft -j service show && echo "#" &&
		skiff-dp -b nft service show' 2>&1) || fail "refused: $out"
	json=${out%%$'\n#\n'*}
	out=${out#*$'\n#\n'}
	check_eq "$(jq -c '[.[] | [.port, .affinity_timeout, .local]]' <<< "$json")" \
		"[[30080,0,true],[80,30,true],[80,0,false]]" "-j shows local"
	check_match "$out" "^0.0.0.0:30080/tcp \(nodeport\) local packets" "table shows local"
	check_match "$out" "^10.96.0.10:80/tcp affinity 30 local packets" "with affinity"
	check_match "$out" "^10.96.0.11:80/tcp packets" "not local"

	run_dp out rc service set 10.96.0.10:80/tcp lokal backend 10.244.1.2:80
	check_eq "$rc" 2 "bad token exit status"
	check_match "$out" "service set: unknown argument 'lokal'" "bad token message"
	run_dp out rc service set 10.96.0.10:80/tcp local true
	check_eq "$rc" 2 "local takes no value"
	check_match "$out" "service set: unknown argument 'true'" "value message"
	out=$(printf 'service 0.0.0.0:30080/tcp local\nservice 0.0.0.0:30081/tcp locall\n' |
		skiff-dp apply - 2>&1) && fail "bad apply line accepted"
	check_match "$out" "apply: -:2: unknown argument 'locall'" "apply line refused"
}

test_nltest_refuses_bad_arguments() {
	local rc=0

	skiff-nltest raw 1 99 > /dev/null 2>&1 || rc=$?
	check_eq "$rc" 2 "attribute without payload"
	rc=0
	skiff-nltest raw 1 99 zz > /dev/null 2>&1 || rc=$?
	check_eq "$rc" 2 "payload not hex"
	rc=0
	skiff-nltest raw 256 > /dev/null 2>&1 || rc=$?
	check_eq "$rc" 2 "command out of range"
}

run_tests \
	test_help_lists_commands \
	test_no_command_is_a_usage_error \
	test_unknown_command_is_refused \
	test_unknown_option_is_refused \
	test_extra_argument_is_refused \
	test_missing_module_is_said_plainly \
	test_service_local_is_parsed \
	test_nltest_refuses_bad_arguments
