#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# report.sh: `make bench-report`, and the last step of `make bench`. Builds
# one report, Documentation/benchmarks/report.md with PNG plots beside it
# (gnuplot), from the figures each benchmark wrote to build/bench/NAME.json
# (format: scripts/bench/lib.sh): the machines and kernels the runs were
# made on, skiff against each baseline as a ratio, each target met or not,
# and a plot of each comparison and of each chart a bench names.
#
# A ratio is only ever taken between two figures of one file, that is of
# one run: the files of different benches may come from different days,
# and the report says when each ran. A figure a run did not measure is
# shown as missing; a bench whose file is absent is named as missing.
#
# Knobs (environment): BENCH_DIR (where the JSON files are; build/bench),
# BENCH_REPORT_DIR (where the report goes; Documentation/benchmarks).
# Exit status: 0 when the report was written, 1 when there was nothing to
# report from or gnuplot failed.

set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
in=${BENCH_DIR:-$top/build/bench}
out=${BENCH_REPORT_DIR:-$top/Documentation/benchmarks}
benches=(dataplane apiserver scheduler node)

if ! command -v gnuplot > /dev/null; then
	echo "bench-report: gnuplot is missing (Debian package gnuplot-nox; make deps)" >&2
	exit 1
fi

present=()
missing=()
for b in "${benches[@]}"; do
	if jq -e '.figures' "$in/$b.json" > /dev/null 2>&1; then
		present+=("$b")
	else
		missing+=("$b")
	fi
done
for b in "${missing[@]}"; do
	echo "bench-report: no figures of bench-$b (${in#"$top"/}/$b.json): run make bench-$b" >&2
done
if [ ${#present[@]} = 0 ]; then
	echo "bench-report: nothing to report" >&2
	exit 1
fi

work=$(mktemp -d /tmp/skiff-bench-report.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
rm -f "$out"/*.png "$out/report.md"

# All present files as one array, each entry its file's object.
for b in "${present[@]}"; do
	cat "$in/$b.json"
done | jq -s . > "$work/all.json"

# jq helpers shared by the queries below: a figure as a person reads it,
# skiff's advantage (above 1: skiff is better), and file names.
defs='
def fmt: if . == null then "missing"
	elif (. | fabs) >= 100 then (. | round | tostring)
	elif (. | fabs) >= 10 then ((. * 10 | round) / 10 | tostring)
	elif (. | fabs) >= 1 then ((. * 100 | round) / 100 | tostring)
	elif (. | fabs) >= 0.01 then ((. * 1000 | round) / 1000 | tostring)
	else ((. * 100000 | round) / 100000 | tostring) end;
def fmtu($u): if . == null then "missing" elif $u == "" then fmt
	elif ($u | test("^/")) then fmt + $u else fmt + " " + $u end;
def ratio($a; $b): if $a == null or $b == null or $b == 0 then null
	else $a / $b end;
def advantage($f; $b): if $f.better == "lower" then ratio($b.value; $f.value)
	else ratio($f.value; $b.value) end;
def slug: ascii_downcase | gsub("[^a-z0-9]+"; "-") | ltrimstr("-") | rtrimstr("-");
def cell: tostring | gsub("\\|"; "\\|");
'

# ---- plots ----

# plot_chart BENCH CHART: a clustered bar chart of the figures of CHART,
# x categories and series in the order the bench gave them.
plot_chart() {
	local bench=$1 chart=$2 base png n unit scale

	base=$bench-$(jq -rn --arg c "$chart" "$defs"' $c | slug')
	png=$out/$base.png
	jq -r --arg b "$bench" --arg c "$chart" '
		[.[] | select(.bench == $b) | .figures[] | select(.plot.chart == $c)] as $f
		| ($f | map(.plot.series) | reduce .[] as $s ([]; if index([$s]) then . else . + [$s] end)) as $ser
		| ($f | map(.plot.x) | reduce .[] as $s ([]; if index([$s]) then . else . + [$s] end)) as $xs
		| (["x"] + $ser | join("\t")),
		  ($xs[] as $x | [$x] + [$ser[] as $s
			| ([$f[] | select(.plot.x == $x and .plot.series == $s) | .value][0]
			   | if . == null then "?" else tostring end)] | join("\t"))' \
		"$work/all.json" > "$work/$base.tsv"
	n=$(head -n 1 "$work/$base.tsv" | awk -F'\t' '{ print NF }')
	unit=$(jq -r --arg b "$bench" --arg c "$chart" \
		'[.[] | select(.bench == $b) | .figures[] | select(.plot.chart == $c) | .unit][0]' \
		"$work/all.json")
	# A logarithmic axis when the bars span more than a factor of 30.
	scale=$(awk -F'\t' 'NR > 1 { for (i = 2; i <= NF; i++) if ($i != "?" && $i > 0) {
			if (!lo || $i < lo) lo = $i; if ($i > hi) hi = $i } }
		END { print (lo && hi / lo > 30) ? "log" : "linear" }' "$work/$base.tsv")
	{
		echo 'set terminal pngcairo size 900,480 noenhanced font "sans,10"'
		echo "set output '$png'"
		echo "set title \"$chart ($bench)\""
		echo 'set datafile separator "\t"'
		echo 'set datafile missing "?"'
		echo 'set style data histograms'
		echo 'set style histogram clustered gap 1'
		echo 'set style fill solid 0.85 border -1'
		echo 'set key outside right top'
		echo 'set grid ytics'
		echo 'set xtics nomirror rotate by -20'
		echo "set ylabel \"$unit\""
		if [ "$scale" = log ]; then
			echo 'set logscale y'
			echo "set ylabel \"$unit (log scale)\""
		else
			echo 'set yrange [0:*]'
		fi
		echo "plot for [i=2:$n] '$work/$base.tsv' using i:xtic(1) title columnheader(i)"
	} > "$work/$base.gp"
	if ! gnuplot "$work/$base.gp" 2> "$work/$base.err"; then
		echo "bench-report: gnuplot failed on $chart:" >&2
		cat "$work/$base.err" >&2
		return 1
	fi
	echo "![$chart]($base.png)"
	awk -F'\t' 'NR == 1 { for (i = 2; i <= NF; i++) s[i] = $i; next }
		{ for (i = 2; i <= NF; i++) if ($i == "?") m = m (m ? ", " : "") $1 " " s[i] }
		END { if (m) print "\nNo value (not measured or not run), so no bar: " m "." }' \
		"$work/$base.tsv"
}

# plot_comparisons BENCH: one horizontal bar per comparison of BENCH,
# skiff's advantage on a log axis (right of 1: skiff better).
plot_comparisons() {
	local bench=$1 base=$1-vs-baseline n h

	jq -r --arg b "$bench" "$defs"'
		.[] | select(.bench == $b) | .figures[] | . as $f | .baselines[]
		| advantage($f; .) as $a | select($a != null and $a > 0)
		| [$f.name + "  vs  " + (.name | split(": ")[0] | split(", ")[-1]), $a,
		   (if $a >= 1 then 2 else 7 end)] | @tsv' \
		"$work/all.json" > "$work/$base.tsv"
	n=$(wc -l < "$work/$base.tsv")
	[ "$n" -gt 0 ] || return 0
	h=$((120 + 22 * n))
	{
		echo "set terminal pngcairo size 1100,$h noenhanced font \"sans,9\""
		echo "set output '$out/$base.png'"
		echo "set title \"skiff vs baseline ($bench): advantage, ×; right of 1: skiff better\""
		echo 'set datafile separator "\t"'
		echo 'set logscale x'
		echo 'set grid xtics'
		echo "set yrange [$n - 0.4:-0.6]"
		echo 'set ytics nomirror'
		echo 'set style fill solid 0.85 border -1'
		echo 'set arrow from 1, graph 0 to 1, graph 1 nohead lw 2'
		echo "plot '$work/$base.tsv' using (\$2):0:(\$2 < 1 ? \$2 : 1):(\$2 > 1 ? \$2 : 1):(\$0 - 0.35):(\$0 + 0.35):3:ytic(1) with boxxyerror lc variable notitle"
	} > "$work/$base.gp"
	if ! gnuplot "$work/$base.gp" 2> "$work/$base.err"; then
		echo "bench-report: gnuplot failed on the comparisons of $bench:" >&2
		cat "$work/$base.err" >&2
		return 1
	fi
	echo "![skiff vs baseline, $bench]($base.png)"
}

# ---- the page ----

status=0
{
	echo "# Benchmark report"
	echo
	echo "Generated by \`make bench\` / \`make bench-report\` (\`scripts/bench/report.sh\`)"
	echo "on $(date -u '+%Y-%m-%d %H:%M UTC') from \`${in#"$top"/}/*.json\`; do not edit"
	echo "by hand. Each bench's own page section, with how every figure is measured,"
	echo "is in [../benchmarks.md](../benchmarks.md). Ratios compare figures of one run"
	echo "of one bench only; the benches may have run at different times (see below)."
	if [ ${#missing[@]} -gt 0 ]; then
		echo
		echo "**Missing:** no figures of $(printf 'bench-%s, ' "${missing[@]}" |
			sed 's/, $//') (their JSON files are absent: run \`make bench-NAME\`)."
	fi
	echo
	echo "## Machine and runs"
	echo
	echo "| bench | date (UTC) | complete | nproc | CPU | memory | kernel | VM kernel | Debian | git commit |"
	echo "|---|---|---|---:|---|---:|---|---|---|---|"
	jq -r "$defs"'.[] | .run as $r | $r.host as $h
		| "| \(.bench) | \($r.started | sub("T"; " ") | sub("Z"; "")) | \(if $r.complete then "yes" else "**no**" end) | \($h.nproc) | \($h.cpu | cell) | \(($h.memory_kb / 1048576 * 10 | round) / 10) GiB | \($h.kernel) | \(if $r.guest_kernel then $r.guest_kernel + " (qemu TCG, instruction clock)" else "-" end) | \($h.debian) | \($h.git_commit[0:12])\(if $h.git_dirty then " (uncommitted changes)" else "" end) |"' \
		"$work/all.json"
	echo
	echo "Commands:"
	echo
	jq -r '.[] | "- \(.bench): `\(.run.command)`"' "$work/all.json"
	notes=$(jq -r '.[] | select(.run.etcd_note? // "" | length > 0)
		| "- \(.bench): etcd \(.run.etcd_note)"' "$work/all.json")
	[ -z "$notes" ] || printf '\n%s\n' "$notes"
	echo
	echo "## skiff vs baseline: ratio"
	echo
	echo "Each row compares a skiff figure with the same figure of a baseline measured"
	echo "in the same run: **ratio** is skiff's value over the baseline's; **advantage**"
	echo "turns it so that above 1 means skiff is better (for times, the baseline's over"
	echo "skiff's)."
	echo
	echo "| bench | figure | skiff | baseline | baseline value | ratio | advantage |"
	echo "|---|---|---:|---|---:|---:|---|"
	jq -r "$defs"'.[] | .bench as $b | .figures[] | . as $f | .baselines[]
		| advantage($f; .) as $a
		| "| \($b) | \($f.name | cell) | \($f.value | fmtu($f.unit)) | \(.name | cell) | \(.value | fmtu($f.unit)) | \(ratio($f.value; .value) | fmt) | \(if $a == null then "missing" elif $a >= 1 then "\($a | fmt)× better" else "**\($a | fmt)× (worse)**" end) |"' \
		"$work/all.json"
	echo
	echo "## Targets"
	echo
	echo "| bench | figure | measured | target | met? |"
	echo "|---|---|---:|---|---|"
	jq -r "$defs"'.[] | .bench as $b | .figures[] | select(.target != null) | . as $f
		| "| \($b) | \(.name | cell) | \(.value | fmtu($f.unit)) | \(.target.op) \(.target.value | fmtu($f.unit)) | \(if .target.met == null then "missing" elif .target.met then "yes" else "**no**" end) |"' \
		"$work/all.json"
	echo
	echo "## Plots"
	for b in "${present[@]}"; do
		echo
		echo "### $b"
		echo
		plot_comparisons "$b" || status=1
		jq -r --arg b "$b" '.[] | select(.bench == $b) | [.figures[] | .plot.chart // empty]
			| reduce .[] as $c ([]; if index([$c]) then . else . + [$c] end) | .[]' \
			"$work/all.json" |
		while read -r chart; do
			echo
			plot_chart "$b" "$chart" || exit 1
		done || status=1
	done
	echo
	echo "## Every figure"
	echo
	echo "| bench | figure | value |"
	echo "|---|---|---:|"
	jq -r "$defs"'.[] | .bench as $b | .figures[] | . as $f
		| "| \($b) | \(.name | cell) | \(.value | fmtu($f.unit)) |"' "$work/all.json"
} > "$work/report.md"
mv "$work/report.md" "$out/report.md"
echo "bench-report: wrote ${out#"$top"/}/report.md and $(find "$out" -name '*.png' | wc -l) plots" \
	"from ${present[*]}"
exit $status
