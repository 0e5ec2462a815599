#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# apiserver.sh: `make bench-apiserver`. Runs bench/apibench against
# build/bin/skiff-apiserver on this host: first on the embedded store (a
# fresh --data-dir under /tmp), then on an etcd started here on loopback
# when etcd is installed (Debian package etcd-server) and the apiserver
# can use it; keeps the progress in build/bench/apiserver.log (the servers'
# logs in build/bench/apiserver-logs/), writes its figures to
# build/bench/apiserver.json (see scripts/bench/lib.sh) and rewrites
# the "API server" section of Documentation/benchmarks.md (between its
# markers; appended when missing), leaving the rest of the page alone.
#
# Knobs (environment): BENCH_STARTS (7), BENCH_CONNS (16,64), BENCH_WRITES
# (3000,7000: one create run per pair; together the 10,000 pods that are
# listed), BENCH_WATCHERS (1000), BENCH_CLIENT_THREADS (2: the threads that
# read the watches), BENCH_EVENTS (200), BENCH_RATE (20
# writes/s), BENCH_THREADS (64: one more create run with --threads 64, for
# comparison; empty skips it), BENCH_ETCD (1; 0 skips etcd), BENCH_TIMEOUT
# (300 s per apibench run), BENCH_APISERVER (another binary to measure).
#
# Not a test: no figure fails it. Exit status: 0 when the section was
# written from a complete run on the embedded store, 1 otherwise.

set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
source "$top/scripts/bench/lib.sh"
bin=${BENCH_APISERVER:-$top/build/bin/skiff-apiserver}
bench=$top/build/bench/apibench
log=$top/build/bench/apiserver.log
doc=$top/Documentation/benchmarks.md
begin='<!-- bench-apiserver begin -->'
end='<!-- bench-apiserver end -->'

starts=${BENCH_STARTS:-7}
conns=${BENCH_CONNS:-16,64}
writes=${BENCH_WRITES:-3000,7000}
watchers=${BENCH_WATCHERS:-1000}
client_threads=${BENCH_CLIENT_THREADS:-2}
events=${BENCH_EVENTS:-200}
rate=${BENCH_RATE:-20}
use_etcd=${BENCH_ETCD:-1}
limit=${BENCH_TIMEOUT:-300}
threads=${BENCH_THREADS-64}

for f in "$bin" "$bench"; do
	if [ ! -x "$f" ]; then
		echo "bench: $f is missing (make userspace build/bench/apibench)" >&2
		exit 1
	fi
done

work=$(mktemp -d /tmp/skiff-apibench.XXXXXX) || exit 1
etcd_pid=
run_pid=
logs=$top/build/bench/apiserver-logs
cleanup() {
	# timeout passes the signal on to apibench, which stops its server.
	if [ -n "$run_pid" ]; then
		kill "$run_pid" 2>/dev/null
		wait "$run_pid" 2>/dev/null
	fi
	if [ -n "$etcd_pid" ]; then
		kill "$etcd_pid" 2>/dev/null
		wait "$etcd_pid" 2>/dev/null
	fi
	# The servers' own words, for a run that went wrong.
	rm -rf "$logs"
	mkdir -p "$logs"
	(cd "$work" && find . -name '*.log' -exec cp --parents {} "$logs" \;)
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir -p "$(dirname "$log")"
: > "$log"
say() {
	echo "bench: $*" | tee -a "$log" >&2
}

# A thousand watches need as many descriptors in apibench and the server.
ulimit -n "$(ulimit -Hn)" 2>/dev/null

# What else ran: the machine is shared, and the figures move with it.
others() {
	echo "load average $(cut -d' ' -f1-3 /proc/loadavg)," \
	     "$(pgrep -c qemu-system) qemu-system process(es)"
}
load_before=$(others)
bench_json_begin
started=$(date -u '+%Y-%m-%d %H:%M UTC')

# run NAME ARGS...: apibench with its KEY VALUE lines in $work/NAME.out.
run() {
	local name=$1 rc
	shift
	say "$name: $bench $*"
	timeout "$limit" "$bench" "$@" > "$work/$name.out" 2> >(tee -a "$log" >&2) &
	run_pid=$!
	wait "$run_pid"
	rc=$?
	run_pid=
	sed "s/^/bench: $name: /" "$work/$name.out" >> "$log"
	return "$rc"
}

common=(-c "$conns" -n "$writes" -W "$watchers" -T "$client_threads"
	-e "$events" -r "$rate")
run embedded -d "$work/embedded" -k "$starts" "${common[@]}" -- "$bin"
embedded_rc=$?
[ "$embedded_rc" = 0 ] || say "embedded: apibench exit $embedded_rc"
# Not the default, for comparison: as many HTTP threads as connections
# (a request holds its thread until its write is durable).
last_conns=${conns##*,}
last_writes=${writes##*,}
if [ -n "$threads" ]; then
	run threads -d "$work/threads" -p write -c "$last_conns" \
		-n "$last_writes" -- "$bin" --threads "$threads" ||
		say "threads: apibench exit $?"
fi

etcd_note=
etcd_version=
if [ "$use_etcd" = 0 ]; then
	etcd_note="not run (BENCH_ETCD=0)"
elif ! command -v etcd > /dev/null; then
	etcd_note="not run: etcd is not installed (Debian package etcd-server)"
else
	etcd_version=$(etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p')
	client=$("$bench" -P)
	peer=$("$bench" -P)
	etcd --name bench --data-dir "$work/etcd" \
		--listen-client-urls "http://127.0.0.1:$client" \
		--advertise-client-urls "http://127.0.0.1:$client" \
		--listen-peer-urls "http://127.0.0.1:$peer" \
		--initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "bench=http://127.0.0.1:$peer" \
		> "$work/etcd.log" 2>&1 &
	etcd_pid=$!
	for _ in $(seq 100); do
		curl -s --noproxy '*' "http://127.0.0.1:$client/health" 2>/dev/null |
			grep -q '"health":"true"' && break
		sleep 0.1
	done
	if ! curl -s --noproxy '*' "http://127.0.0.1:$client/health" |
	     grep -q '"health":"true"'; then
		etcd_note="not run: etcd did not start ($(tail -n 1 "$work/etcd.log"))"
	else
		say "etcd $etcd_version on 127.0.0.1:$client (pid $etcd_pid)"
		run etcd -d "$work/etcd-run" -N -x "$etcd_pid" -k 3 \
			"${common[@]}" -- "$bin" --etcd-servers "http://127.0.0.1:$client"
		rc=$?
		if [ "$rc" = 3 ]; then
			etcd_note="not run: the apiserver does not start on etcd: $(sed -n 's/^skip //p' "$work/etcd.out")"
		elif [ "$rc" != 0 ]; then
			etcd_note="incomplete: apibench exit $rc (see build/bench/apiserver.log)"
		fi
	fi
	[ -z "$etcd_note" ] || say "etcd: $etcd_note"
fi
load_after=$(others)

# ---- the section ---------------------------------------------------------

# v STORE KEY: a figure, or "-".
v() {
	local x
	x=$(awk -v k="$2" '$1 == k { print $2; exit }' "$work/$1.out" 2>/dev/null)
	echo "${x:--}"
}
# mb KB: megabytes, one decimal.
mb() {
	[ "$1" = - ] && { echo -; return; }
	awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'
}
# mb_bytes BYTES: megabytes, one decimal.
mb_bytes() {
	[ "$1" = - ] && { echo -; return; }
	awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1048576 }'
}
# thousands N: 12345 -> 12,345.
thousands() {
	[ "$1" = - ] && { echo -; return; }
	printf "%s" "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'
}
# met VALUE OP LIMIT: yes, **no**, or - (not measured).
met() {
	[ "$1" = - ] && { echo -; return; }
	awk -v x="$1" -v op="$2" -v t="$3" 'BEGIN {
		ok = op == "<=" ? x + 0 <= t + 0 : x + 0 >= t + 0
		print ok ? "yes" : "**no**"
	}'
}

IFS=, read -r -a conn_list <<< "$conns"
IFS=, read -r -a write_list <<< "$writes"

rows() {
	local store=$1 label=$2 c e i n r p50 p99 target verdict
	for i in "${!conn_list[@]}"; do
		c=${conn_list[$i]}
		n=${write_list[$i]}
		r=$(v "$store" "write.$c.rate")
		if [ "$store" = embedded ]; then
			target="≥ 5,000/s"
			verdict=$(met "$r" ">=" 5000)
		else
			target="- (the target is the embedded store's)"
			verdict=-
		fi
		e=$(v "$store" "write.$c.errors")
		case $e in
		0 | -) e= ;;
		*) e=" ($e failed)" ;;
		esac
		echo "| durable writes/s, $label, $c connections ($(thousands "$n") pod creates) | $(thousands "$r")/s$e | $target | $verdict |"
		p50=$(v "$store" "write.$c.p50_ms")
		p99=$(v "$store" "write.$c.p99_ms")
		echo "| write latency p50 / p99, $label, $c connections | $p50 / $p99 ms | p99 ≤ 100 ms | $(met "$p99" "<=" 100) |"
	done
	p50=$(v "$store" watch.send_p50_ms)
	p99=$(v "$store" watch.send_p99_ms)
	echo "| watch event delivery to $(thousands "$watchers") watchers, p50 / p99, from just before the write is sent, $label | $p50 / $p99 ms | p99 ≤ 50 ms | $(met "$p99" "<=" 50) |"
	p50=$(v "$store" watch.ack_p50_ms)
	p99=$(v "$store" watch.ack_p99_ms)
	echo "| the same from the write's acknowledgment, $label | $p50 / $p99 ms | (p99 ≤ 50 ms) | $(met "$p99" "<=" 50) |"
	echo "| list of $(thousands "$(v "$store" list.items)") pods, one GET, $label | $(v "$store" list.full_ms) ms ($(mb_bytes "$(v "$store" list.bytes)")) | - | - |"
	echo "| the same in limit=500 pages ($(v "$store" list.pages) pages), total, $label | $(v "$store" list.paged_ms) ms (client parsing: $(v "$store" list.paged_parse_ms) ms) | - | - |"
}

emb=embedded
idle=$(v $emb rss.idle_kb)
table=$(
	echo "| figure | result | target | met? |"
	echo "|---|---:|---|---|"
	rows embedded "embedded store"
	echo "| resident memory (VmRSS) idle after start, embedded store | $(mb "$idle") | ≤ 20 MB | $(met "$idle" "<=" 20480) |"
	echo "| VmRSS with 10,000 pods stored (after the lists), embedded store | $(mb "$(v $emb rss.list_kb)") (peak, VmHWM: $(mb "$(v $emb hwm.list_kb)")) | - | - |"
	echo "| VmRSS with the $(thousands "$watchers") watches open, embedded store | $(mb "$(v $emb rss.watch_kb)") | - | - |"
	if [ -n "$threads" ]; then
		r=$(v threads "write.$last_conns.rate")
		echo "| for comparison: durable writes/s, embedded, $last_conns connections, \`--threads $threads\` (not the default 4) | $(thousands "$r")/s, p50 / p99 $(v threads "write.$last_conns.p50_ms") / $(v threads "write.$last_conns.p99_ms") ms | ≥ 5,000/s | $(met "$r" ">=" 5000) |"
	fi
	echo "| start to first answered request, fresh data dir, best / median of $(v $emb start.fresh.runs) | $(v $emb start.fresh.best_ms) / $(v $emb start.fresh.median_ms) ms | ≤ 100 ms (median) | $(met "$(v $emb start.fresh.median_ms)" "<=" 100) |"
	echo "| start to first answered request, existing data dir, best / median of $(v $emb start.restart.runs) | $(v $emb start.restart.best_ms) / $(v $emb start.restart.median_ms) ms | ≤ 100 ms (median) | $(met "$(v $emb start.restart.median_ms)" "<=" 100) |"
	if [ -z "$etcd_note" ]; then
		rows etcd "etcd"
		echo "| VmRSS idle after start / with 10,000 pods, etcd store | $(mb "$(v etcd rss.idle_kb)") / $(mb "$(v etcd rss.list_kb)") (peak $(mb "$(v etcd hwm.list_kb)")) | - | - |"
		echo "| start to first answered request, etcd store, best / median of $(v etcd start.restart.runs) | $(v etcd start.restart.best_ms) / $(v etcd start.restart.median_ms) ms | - | - |"
	else
		echo "| everything on etcd | $etcd_note | - | - |"
	fi
)

cpu_rows() {
	local store=$1 label=$2 c
	for c in "${conn_list[@]}"; do
		echo "| $label: creates, $c connections | $(v "$store" "write.$c.client_cpu_pct")% | $(v "$store" "write.$c.server_cpu_pct")% | $(v "$store" "write.$c.extra_cpu_pct" | sed 's/[0-9]$/&%/') |"
	done
	echo "| $label: watch, $(thousands "$watchers") streams, $rate writes/s | $(v "$store" watch.client_cpu_pct)% | $(v "$store" watch.server_cpu_pct)% | $(v "$store" watch.extra_cpu_pct | sed 's/[0-9]$/&%/') |"
}
cpu=$(
	echo "| phase | apibench (client) | skiff-apiserver | etcd |"
	echo "|---|---:|---:|---:|"
	cpu_rows embedded "embedded"
	[ -z "$threads" ] ||
		echo "| embedded, --threads $threads: creates, $last_conns connections | $(v threads "write.$last_conns.client_cpu_pct")% | $(v threads "write.$last_conns.server_cpu_pct")% | - |"
	[ -n "$etcd_note" ] || cpu_rows etcd "etcd"
)

watch_detail() {
	local store=$1
	echo "$(thousands "$(v "$store" watch.deliveries)") deliveries," \
	     "$(v "$store" watch.missing) missing;" \
	     "the patch itself: p50 $(v "$store" watch.write_p50_ms) ms," \
	     "p99 $(v "$store" watch.write_p99_ms) ms; first to last" \
	     "watcher of one event: p50 $(v "$store" watch.spread_p50_ms) ms," \
	     "max $(v "$store" watch.spread_max_ms) ms; apibench's CPU per" \
	     "delivery $(v "$store" watch.client_us_per_delivery) µs;" \
	     "$(v "$store" watch.open_ms) ms to open the streams"
}

cmd="BENCH_THREADS=$threads BENCH_CLIENT_THREADS=$client_threads BENCH_STARTS=$starts BENCH_CONNS=$conns BENCH_WRITES=$writes BENCH_WATCHERS=$watchers BENCH_EVENTS=$events BENCH_RATE=$rate make bench-apiserver"
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
section=$(cat <<EOF
$begin
# API server benchmarks

Generated by \`make bench-apiserver\` (\`scripts/bench/apiserver.sh\`, load
generator \`bench/apibench.c\`); do not edit by hand, run it again. Unlike
the data plane figures above these run on the host, not under TCG.

- Date: $started
- Host: \`nproc\` $(nproc), $cpu_model, kernel $(uname -r); the client
  (apibench), skiff-apiserver (default --threads 64)$([ -z "$etcd_note" ] && echo " and etcd $etcd_version") share these cores
- Other load: before, $load_before; after, $load_after
- Command: \`$cmd\`

## Results

$table

Where the CPU went (% of one core, over each phase; the machine has $(nproc)):

$cpu

Watch details: embedded store: $(watch_detail embedded).$([ -z "$etcd_note" ] && echo " etcd: $(watch_detail etcd).")

## How each figure is measured

apibench starts skiff-apiserver itself (\`--listen\` on a free loopback
port, \`--data-dir\` a fresh directory under /tmp; for etcd
\`--etcd-servers\` to an etcd started by the script on loopback with a
fresh data directory) and drives the connections with libcurl's multi
interface on epoll, from one thread (the watch streams: from
$client_threads threads, the writer from another); times are
CLOCK_MONOTONIC.

- **Durable writes/s**: POST /api/v1/namespaces/default/pods of a minimal
  Pod (one container, name and image), each over one of N keep-alive
  connections, a new one as soon as one is answered (201, acknowledged
  after the store's fsync or etcd's commit); creates / wall time from the
  first request to the last answer. Latency: from handing the request to
  libcurl to its answer. The two runs make the 10,000 pods listed below.
- **Watch delivery**: ${watchers} \`?watch=1&resourceVersion=RV\` streams
  on default/configmaps (RV from a list), each on its own connection; once
  all are open and have seen a warm-up event, one client patches
  (merge patch of \`data.seq\`) 10 configmaps in turn, $rate per second,
  $events times, one patch in flight. For every event and watcher, the
  time from just before the patch was handed to libcurl to the arrival of
  the event's line (noted as the socket is read; parsing waits until no
  socket is ready); also from the patch's acknowledgment, which the
  server sends after queueing the event to the watchers, so that figure
  can be negative. The first is the one judged: it bounds the delivery
  latency from above and includes the write.
- **Lists**: GET of all pods in one response, and in limit=500 pages with
  continue tokens (the total includes apibench parsing each page for its
  token, shown apart); the median of 3 of each.
- **Memory**: VmRSS from /proc/PID/status: 1 s after the first answer,
  after the lists, and with the watches open.
- **Start**: fork() to the first 200 from GET /healthz, polled without
  pause from the process that forked (a new connection each try);
  $starts starts into fresh data directories, then $starts on the last one's.
- **CPU**: user + system time of each process over a phase
  (getrusage, /proc/PID/stat); 100% is one core.
$end
EOF
)

bench_write_section "$doc" "$begin" "$end" "$section"
say "wrote the API server section of ${doc#"$top"/}"

# ---- the figures, for the report (make bench-report) -----------------------

# kb2mb KB: megabytes, or "-".
kb2mb() {
	awk -v k="$1" 'BEGIN { if (k ~ /^[0-9.]+$/) printf "%.1f", k / 1024; else print "-" }'
}
# afig KEY VALUE_EMBEDDED VALUE_ETCD UNIT NAME BETTER CHART X: one figure of
# each store, the embedded one compared with etcd's; $T is the embedded
# store's target, $TE etcd's (OP:LIMIT, may be empty).
afig() {
	local key=$1 unit=$4 name=$5 better=$6 chart=$7 x=$8

	bench_fig "embedded.$key" "$2" "$unit" "$name, embedded store" better="$better" \
		base="etcd.$key" target="${T:-}" chart="$chart" series="embedded store" x="$x"
	bench_fig "etcd.$key" "$3" "$unit" "$name, etcd" better="$better" \
		target="${TE:-}" chart="$chart" series=etcd x="$x"
}
# afig_v KEY UNIT NAME BETTER CHART X: afig of apibench's KEY.
afig_v() {
	local key=$1

	shift
	afig "$key" "$(v embedded "$key")" "$(v etcd "$key")" "$@"
}
for c in "${conn_list[@]}"; do
	T=">=:5000" afig_v "write.$c.rate" "/s" "durable writes/s, $c connections" higher \
		"Durable writes/s" "$c connections"
	afig_v "write.$c.p50_ms" ms "write latency p50, $c connections" lower \
		"Write latency" "p50, $c conns"
	T="<=:100" TE="<=:100" afig_v "write.$c.p99_ms" ms "write latency p99, $c connections" \
		lower "Write latency" "p99, $c conns"
done
if [ -n "$threads" ]; then
	bench_fig "threads.write.$last_conns.rate" "$(v threads "write.$last_conns.rate")" /s \
		"durable writes/s, $last_conns connections, --threads $threads, embedded store" \
		better=higher target=">=:5000" chart="Durable writes/s" \
		series="embedded, --threads $threads" x="$last_conns connections"
fi
afig_v watch.send_p50_ms ms "watch event delivery to $watchers watchers p50" lower \
	"Watch event delivery to $watchers watchers" p50
T="<=:50" TE="<=:50" afig_v watch.send_p99_ms ms \
	"watch event delivery to $watchers watchers p99" lower \
	"Watch event delivery to $watchers watchers" p99
afig_v list.full_ms ms "list of all pods, one GET" lower "List of all pods" "one GET"
afig_v list.paged_ms ms "list of all pods in limit=500 pages" lower "List of all pods" \
	"limit=500 pages"
T="<=:20" afig rss.idle_mb "$(kb2mb "$(v embedded rss.idle_kb)")" \
	"$(kb2mb "$(v etcd rss.idle_kb)")" MB "skiff-apiserver resident memory idle after start" lower \
	"Resident memory (VmRSS)" "idle"
afig rss.list_mb "$(kb2mb "$(v embedded rss.list_kb)")" "$(kb2mb "$(v etcd rss.list_kb)")" \
	MB "skiff-apiserver resident memory with all pods stored" lower "Resident memory (VmRSS)" "pods stored"
afig rss.watch_mb "$(kb2mb "$(v embedded rss.watch_kb)")" \
	"$(kb2mb "$(v etcd rss.watch_kb)")" MB "skiff-apiserver resident memory with $watchers watches open" \
	lower "Resident memory (VmRSS)" "$watchers watches"
bench_fig embedded.start.fresh.median_ms "$(v embedded start.fresh.median_ms)" ms \
	"start to first answered request, fresh data dir, median, embedded store" \
	better=lower target="<=:100" chart="Start to first answered request" \
	series="embedded store" x="fresh data dir"
T="<=:100" afig_v start.restart.median_ms ms \
	"start to first answered request, existing data, median" lower \
	"Start to first answered request" "existing data"

# raw FILE: apibench's KEY VALUE lines as an object.
raw() {
	jq -nR '[inputs | split(" ") | { key: .[0], value: (.[1:] | join(" ")
		| (tonumber? // .)) }] | from_entries' < "$1" 2>/dev/null || echo null
}
extra=$(jq -cn --arg etcd "$etcd_version" --arg note "$etcd_note" --arg before "$load_before" \
	--arg after "$load_after" \
	'{ etcd_version: $etcd, etcd_note: $note, load_before: $before, load_after: $after }')
raws=$(for s in embedded threads etcd; do
	[ -f "$work/$s.out" ] && jq -cn --arg s "$s" --argjson r "$(raw "$work/$s.out")" '{ ($s): $r }'
done | jq -cs 'add // {}')
json=$top/build/bench/apiserver.json
complete=false
[ "$embedded_rc" = 0 ] && complete=true
bench_json_write "$json" apiserver "$complete" "$cmd" "$extra" "$raws"
say "wrote ${json#"$top"/}"
[ "$embedded_rc" = 0 ]
