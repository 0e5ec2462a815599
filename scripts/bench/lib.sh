#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What the benchmark scripts share: Documentation/benchmarks.md holds one
# section per benchmark, each between its own markers, and each run
# rewrites its section alone.

# bench_write_section DOC BEGIN END TEXT: TEXT (which starts with BEGIN and
# ends with END) replaces what is between the markers in DOC, or is
# appended when DOC has no such section yet.
bench_write_section() {
	local doc=$1 begin=$2 end=$3 text=$4 tmp

	if [ -f "$doc" ] && grep -qF -- "$begin" "$doc"; then
		tmp=$(mktemp) || return 1
		printf '%s\n' "$text" > "$tmp.section"
		awk -v b="$begin" -v e="$end" -v f="$tmp.section" '
			$0 == b { while ((getline line < f) > 0) print line; skip = 1; next }
			$0 == e { skip = 0; next }
			!skip { print }' "$doc" > "$tmp" && cat "$tmp" > "$doc"
		rm -f "$tmp" "$tmp.section"
	else
		[ -s "$doc" ] && echo >> "$doc"
		printf '%s\n' "$text" >> "$doc"
	fi
}
