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
	test_nltest_refuses_bad_arguments
