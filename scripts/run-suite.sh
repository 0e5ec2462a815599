#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run-suite.sh SUMMARY NAME COMMAND...
#
# Runs one test suite whose output ends with prove's report, streams it and
# keeps it in build/logs/NAME.log, then appends "NAME: P passed, F failed" to
# SUMMARY. A suite that exits non-zero fails even when every TAP line passed
# (a kernel warning caught after the tests, a crashed VM): that is said too.

set -u

summary=$1
name=$2
shift 2

logdir=$(dirname "$summary")/logs
mkdir -p "$logdir"
log=$logdir/$name.log

echo "==== $name: $*"
status_file=$(mktemp)
{ "$@" 2>&1; echo $? > "$status_file"; } | tee "$log"
status=$(cat "$status_file")
rm -f "$status_file"

# prove: "Files=2, Tests=14, ..." and, per failing file, "... Failed: N)".
# The VM console ends lines with CR.
total=$(tr -d '\r' < "$log" | sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' | tail -n 1)
failed=$(tr -d '\r' < "$log" | sed -n 's/.*Tests: [0-9]* Failed: \([0-9]*\)).*/\1/p' |
	awk '{ n += $1 } END { print n + 0 }')
total=${total:-0}
passed=$((total - failed))

line="$name: $passed passed, $failed failed"
if [ "$status" != 0 ]; then
	if [ "$failed" = 0 ]; then
		line="$name: $passed passed, 1 failed"
	fi
	line="$line   (exit status $status, see build/logs/$name.log)"
elif [ "$total" = 0 ]; then
	line="$name: 0 passed, 1 failed   (ran no test, see build/logs/$name.log)"
	status=1
fi
echo "$line" >> "$summary"
exit "$status"
