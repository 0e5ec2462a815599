#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tests of the VM harness itself (scripts/vm/run.sh), run on the host: a
# harness that passes everything proves nothing, so each case boots the VM
# and makes it fail in one way, then checks the harness said so.
#
#   host: this script ──▶ run.sh ──qemu──▶ guest: command, dmesg/taint check
#                           │                         │
#                           └──── exit status ◀───────┘

source "$(dirname "$0")/../../../selftests/lib.sh"

RUN=$SKIFF_TOP/scripts/vm/run.sh
TRIGGERS_KO=$SKIFF_TOP/build/kmod-triggers/skiff.ko

test_exit_status_is_the_commands() {
	local out rc=0

	out=$("$RUN" -- sh -c 'echo from-guest; exit 3' 2>&1) || rc=$?
	check_eq "$rc" 3 "exit status"
	check_match "$out" "from-guest" "console streamed"
}

test_failing_test_fails_the_run() {
	local out rc=0

	# A TAP test with one failing case, under prove as make check runs it.
	out=$("$RUN" -- prove build/vm-harness-failing.sh 2>&1) || rc=$?
	check_eq "$rc" 1 "exit status"
	check_match "$out" "Failed 1/2 subtests" "prove saw the failure"
}

test_default_module_has_no_triggers() {
	local rc=0

	"$RUN" -- test ! -e /sys/kernel/debug/skiff > /dev/null 2>&1 || rc=$?
	check_eq "$rc" 0 "debugfs triggers absent from the default build"
}

test_kernel_warning_fails_the_run() {
	local out rc=0

	[ -e "$TRIGGERS_KO" ] || fail "$TRIGGERS_KO missing: make kmod-triggers"
	out=$("$RUN" --module "$TRIGGERS_KO" -- \
		sh -c 'echo 1 > /sys/kernel/debug/skiff/trigger_warn' 2>&1) || rc=$?
	check_eq "$rc" 1 "exit status of a run whose command passed but the kernel warned"
	check_match "$out" "skiff-vm: command exited with 0" "the command itself passed"
	check_match "$out" "kernel reported trouble" "harness says why"
	check_match "$out" "dmesg: .*WARNING: .*test_triggers" "the warning is shown"
}

test_hung_guest_is_killed() {
	local out rc=0 start=$SECONDS before

	# Other VMs of the machine may be running: count, do not look for none.
	before=$(pgrep -fc "qemu-system-x86_64.*skiff-vm" || true)
	out=$("$RUN" --timeout 20 -- sleep 1000 2>&1) || rc=$?
	check_eq "$rc" 124 "exit status"
	check_match "$out" "timed out after 20 s" "harness says why"
	[ $((SECONDS - start)) -lt 60 ] || fail "took $((SECONDS - start)) s"
	[ "$(pgrep -fc "qemu-system-x86_64.*skiff-vm")" -le "$before" ] ||
		fail "qemu left running"
}

test_bad_arguments_are_refused() {
	local out rc=0

	out=$("$RUN" --timeout soon -- true 2>&1) || rc=$?
	check_eq "$rc" 2 "--timeout soon"
	check_match "$out" "whole numbers" "message"
	rc=0
	out=$("$RUN" --bogus -- true 2>&1) || rc=$?
	check_eq "$rc" 2 "--bogus"
	check_match "$out" "unknown option --bogus" "message"
	rc=0
	out=$("$RUN" --module /nonexistent.ko -- true 2>&1) || rc=$?
	check_eq "$rc" 125 "missing module"
	check_match "$out" "module not found" "message"
	rc=0
	out=$("$RUN" --share /nonexistent -- true 2>&1) || rc=$?
	check_eq "$rc" 2 "--share of no folder"
	check_match "$out" "--share /nonexistent: not a folder" "message"
	rc=0
	out=$("$RUN" --icount --cpus 2 -- true 2>&1) || rc=$?
	check_eq "$rc" 2 "--icount with two CPUs"
	check_match "$out" "--icount runs one CPU, not 2" "message"
	rc=0
	out=$("$RUN" --forward 6443 -- true 2>&1) || rc=$?
	check_eq "$rc" 2 "--forward without the guest's port"
	check_match "$out" "--forward 6443: want HOSTPORT:GUESTPORT" "message"
}

# make run VM=1's plumbing: a writable folder of the host at its own path,
# and a network card at qemu's fixed guest address.
test_share_and_network_card() {
	local dir out rc=0

	dir=$(mktemp -d /tmp/skiff-vm-share.XXXXXX)
	out=$("$RUN" --share "$dir" --forward 1:1 -- \
		sh -c "echo written-by-guest > $dir/file; ip -4 -o addr show eth0" 2>&1) || rc=$?
	check_eq "$rc" 0 "exit status: $out"
	check_eq "$(cat "$dir/file")" written-by-guest "the guest's file, on the host"
	check_match "$out" "eth0 +inet 10\.0\.2\.15/24" "the guest's address"
	rm -rf "$dir"
}

# make bench-dataplane's clock: one CPU, and guest time that counts
# instructions and skips idle time, so a minute's sleep in the guest is
# over long before a minute of the host's has passed.
test_icount_counts_work_not_wall_time() {
	local out rc=0 start=$SECONDS

	out=$("$RUN" --icount -- sh -c 'echo "cpus=$(nproc)"; sleep 60; echo slept' 2>&1) || rc=$?
	check_eq "$rc" 0 "exit status: $out"
	check_match "$out" "cpus=1" "one CPU"
	check_match "$out" "slept" "the sleep ended"
	[ $((SECONDS - start)) -lt 60 ] ||
		fail "60 s of guest sleep took $((SECONDS - start)) s of the host's"
}

mkdir -p "$SKIFF_TOP/build"
cat > "$SKIFF_TOP/build/vm-harness-failing.sh" <<'TEST'
#!/bin/sh
echo 1..2
echo ok 1 - passes
echo not ok 2 - fails on purpose
TEST
chmod +x "$SKIFF_TOP/build/vm-harness-failing.sh"

run_tests \
	test_bad_arguments_are_refused \
	test_exit_status_is_the_commands \
	test_share_and_network_card \
	test_icount_counts_work_not_wall_time \
	test_failing_test_fails_the_run \
	test_default_module_has_no_triggers \
	test_kernel_warning_fails_the_run \
	test_hung_guest_is_killed
