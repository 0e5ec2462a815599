#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers of the skiff selftests, in the manner of the kernel's
# tools/testing/selftests/net/lib.sh: TAP/KTAP output, one function per
# case, network namespaces that are always cleaned up, and waits that poll
# instead of sleeping for a fixed time.
#
# A test script sources this file, defines test_* functions, then:
#
#	run_tests test_one test_two ...
#
# A case passes when its function returns 0, is skipped on $ksft_skip and
# fails otherwise. A case runs in a subshell under `set -e`, so the first
# failing command fails it; its output is shown as TAP diagnostics ("# ...").

ksft_skip=4

SKIFF_TOP=${SKIFF_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
SKIFF_BIN=$SKIFF_TOP/build/bin
SKIFF_TOOLS=$SKIFF_TOP/build/selftests
SKIFF_KO=${SKIFF_KO:-$SKIFF_TOP/skiff.ko}
export PATH=$SKIFF_BIN:$SKIFF_TOOLS:$PATH

# Namespaces made by ns_create and processes started by ns_spawn, ended on
# exit whatever happened.
SKIFF_NETNS=()
SKIFF_PIDS=()

cleanup_netns() {
	local ns pid

	for pid in "${SKIFF_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${SKIFF_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	SKIFF_PIDS=()
	for ns in "${SKIFF_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	SKIFF_NETNS=()
}
trap cleanup_netns EXIT

# ns_create VAR: makes a namespace with a unique name, loopback up, and
# stores its name in VAR.
ns_create() {
	local -n __ns=$1
	local name

	name=skiff-$$-$RANDOM-${#SKIFF_NETNS[@]}
	ip netns add "$name" || return 1
	SKIFF_NETNS+=("$name")
	ip -n "$name" link set lo up
	__ns=$name
}

# ns_spawn NS COMMAND...: runs COMMAND in the background in namespace NS
# until the case ends.
ns_spawn() {
	local ns=$1

	shift
	ip netns exec "$ns" "$@" > /dev/null 2>&1 &
	SKIFF_PIDS+=($!)
}

# ns_delete NAME: deletes a namespace made by ns_create before exit.
ns_delete() {
	local i

	ip netns del "$1" || return 1
	for i in "${!SKIFF_NETNS[@]}"; do
		[ "${SKIFF_NETNS[i]}" != "$1" ] || unset 'SKIFF_NETNS[i]'
	done
}

# skiff_insmod: loads $SKIFF_KO after the modules it depends on.
skiff_insmod() {
	local dep

	for dep in $(modinfo -F depends "$SKIFF_KO" | tr ',' ' '); do
		modprobe "$dep" || return 1
	done
	insmod "$SKIFF_KO"
}

# fail MESSAGE: says why a case fails and fails it.
fail() {
	echo "FAIL: $*"
	return 1
}

# check_eq GOT WANT WHAT
check_eq() {
	if [ "$1" != "$2" ]; then
		fail "$3: got '$1', want '$2'"
	fi
}

# check_match TEXT REGEX WHAT
check_match() {
	if ! grep -Eq -- "$2" <<< "$1"; then
		fail "$3: '$1' does not match /$2/"
	fi
}

# A slow kernel (the debug kernel under the emulator) sets SKIFF_TIME_SCALE:
# every wait_for limit, and every timeout a test writes as $(t N), grows by
# that factor. Such limits guard against hangs; they never measure.
SKIFF_TIME_SCALE=${SKIFF_TIME_SCALE:-1}

# t SECONDS: SECONDS scaled for this kernel.
t() {
	echo $(($1 * SKIFF_TIME_SCALE))
}

# wait_for TIMEOUT_S COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1 * SKIFF_TIME_SCALE))

	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# capture_start NS SECONDS OUT TCPDUMP_ARGS...: runs tcpdump in NS for at
# most SECONDS, its decoded packets in OUT, and returns once it captures
# (not after a guessed sleep: the emulator may take seconds to start it).
# capture_wait then waits for it to end (its -c count, or SECONDS).
capture_start() {
	local ns=$1 secs=$2 out=$3

	shift 3
	ip netns exec "$ns" timeout "$secs" tcpdump -l -nn "$@" > "$out" 2> "$out.err" &
	SKIFF_CAPTURE=$!
	wait_for 20 grep -q "listening on" "$out.err" || fail "tcpdump did not start"
}

capture_wait() {
	wait "$SKIFF_CAPTURE" || true
}

# Runs when a case ends: the file's own case_cleanup, if it has one, then
# the namespaces and processes the case made.
case_exit() {
	if declare -F case_cleanup > /dev/null; then
		case_cleanup || true
	fi
	cleanup_netns
}

# run_tests CASE...: runs each case function and prints TAP. With
# SKIFF_ONLY=REGEX set, only the cases whose name matches it (debugging).
run_tests() {
	local n=0 failed=0 case out rc

	if [ -n "${SKIFF_ONLY:-}" ]; then
		set -- $(printf '%s\n' "$@" | grep -E -- "$SKIFF_ONLY")
	fi

	echo "TAP version 13"
	echo "1..$#"
	for case in "$@"; do
		n=$((n + 1))
		out=$( (trap case_exit EXIT; set -e; "$case") 2>&1 )
		rc=$?
		if [ -n "$out" ] && { [ "$rc" != 0 ] || [ -n "${VERBOSE:-}" ]; }; then
			sed 's/^/# /' <<< "$out"
		fi
		case $rc in
		0) echo "ok $n ${case#test_}" ;;
		"$ksft_skip") echo "ok $n ${case#test_} # SKIP $(tail -n 1 <<< "$out")" ;;
		*) echo "not ok $n ${case#test_}"; failed=$((failed + 1)) ;;
		esac
	done
	[ "$failed" = 0 ]
}
