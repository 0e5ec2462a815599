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

# ---- the figures, machine-readably ------------------------------------------
#
# Besides its section, every benchmark writes build/bench/NAME.json, which
# scripts/bench/report.sh (`make bench-report`) turns into the one report
# with plots. One file is one run, so that a ratio never mixes runs:
#
#	{ "bench": NAME, "format": 1,
#	  "run": { "started", "finished" (UTC, ISO 8601), "complete" (bool),
#		   "command", "host": { "nproc", "cpu", "memory_kb", "kernel",
#		   "debian", "git_commit", "git_dirty" }, and what the bench adds
#		   (e.g. "guest_kernel") },
#	  "figures": [ { "id", "name", "value" (number, or null when not
#		   measured), "unit", "better" ("higher"/"lower"/null),
#		   "baselines": [ { "id", "name", "value" } ] (what skiff is
#		   compared with, measured in the same run),
#		   "target": { "op" (">=" or "<="), "value", "met" (bool, or
#		   null when not measured) } or null,
#		   "plot": { "chart", "series", "x" } or null (which bar of
#		   which chart of the report it is) } ],
#	  "raw": what the bench's own program printed, as it printed it }

# bench_json_begin: starts collecting figures for this run.
bench_json_begin() {
	BENCH_FIGS=$(mktemp /tmp/skiff-bench-figs.XXXXXX) || return 1
	BENCH_STARTED=$(date -u '+%Y-%m-%dT%H:%M:%SZ')
}

# bench_fig ID VALUE UNIT NAME [KEY=VALUE...]: one figure. VALUE that is not
# a number ("-", "fail", empty) is recorded as not measured. Keys: better=
# higher|lower, base=ID[,ID...] (baseline figures of this run, by id),
# target=OP:LIMIT (OP >= or <=, LIMIT in UNIT), chart=, series=, x= (its
# place in the report's plots).
bench_fig() {
	local id=$1 value=$2 unit=$3 name=$4 kv better="" base="" target="" chart="" \
		series="" x=""

	shift 4
	for kv in "$@"; do
		case $kv in
		better=*) better=${kv#*=} ;;
		base=*) base=${kv#*=} ;;
		target=*) target=${kv#*=} ;;
		chart=*) chart=${kv#*=} ;;
		series=*) series=${kv#*=} ;;
		x=*) x=${kv#*=} ;;
		esac
	done
	[ -n "${BENCH_FIGS:-}" ] || return 0
	jq -cn --arg id "$id" --arg v "$value" --arg unit "$unit" --arg name "$name" \
		--arg better "$better" --arg base "$base" --arg target "$target" \
		--arg chart "$chart" --arg series "$series" --arg x "$x" '
		def num: if test("^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$")
			then tonumber else null end;
		{ id: $id, name: $name, value: ($v | num), unit: $unit,
		  better: (if $better == "" then null else $better end),
		  base: ($base | split(",") | map(select(. != ""))),
		  target: (if $target == "" then null else
			{ op: ($target | split(":")[0]),
			  value: ($target | split(":")[1] | num) } end),
		  plot: (if $chart == "" then null else
			{ chart: $chart, series: $series, x: $x } end) }' \
		>> "$BENCH_FIGS"
}

# bench_host_json: the machine this runs on, as a JSON object.
bench_host_json() {
	local top commit dirty=false

	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	commit=$(git -C "$top" rev-parse HEAD 2>/dev/null)
	[ -z "$(git -C "$top" status --porcelain --untracked-files=no 2>/dev/null)" ] ||
		dirty=true
	jq -cn --argjson nproc "$(nproc)" \
		--arg cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
		--argjson mem "$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)" \
		--arg kernel "$(uname -r)" --arg debian "$(cat /etc/debian_version 2>/dev/null)" \
		--arg commit "$commit" --argjson dirty "$dirty" \
		'{ nproc: $nproc, cpu: $cpu, memory_kb: $mem, kernel: $kernel,
		   debian: $debian, git_commit: $commit, git_dirty: $dirty }'
}

# bench_json_write FILE NAME COMPLETE COMMAND [RUN_EXTRA_JSON [RAW_JSON]]:
# writes the collected figures as FILE (COMPLETE: true or false), baselines
# resolved by id and targets judged.
bench_json_write() {
	local file=$1 name=$2 complete=$3 command=$4 extra=${5:-"{}"} raw=${6:-null}

	[ -n "${BENCH_FIGS:-}" ] || return 0
	mkdir -p "$(dirname "$file")"
	jq -s --arg bench "$name" --arg started "$BENCH_STARTED" \
		--arg finished "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" \
		--argjson complete "$complete" --arg command "$command" \
		--argjson host "$(bench_host_json)" --argjson extra "$extra" \
		--argjson raw "$raw" '
		(map({ key: .id, value: . }) | from_entries) as $by_id
		| { bench: $bench, format: 1,
		    run: ({ started: $started, finished: $finished,
			    complete: $complete, command: $command,
			    host: $host } + $extra),
		    figures: map(. as $f
			| ($f + { baselines: [$f.base[] | $by_id[.]
				  | select(. != null)
				  | { id, name, value }] })
			| del(.base)
			| .target |= (if . == null then null else
				. + { met: (if $f.value == null or .value == null
					then null
					elif .op == ">=" then $f.value >= .value
					else $f.value <= .value end) } end)),
		    raw: $raw }' "$BENCH_FIGS" > "$file.tmp" && mv "$file.tmp" "$file"
	rm -f "$BENCH_FIGS"
	BENCH_FIGS=
}
