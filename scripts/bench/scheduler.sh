#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scheduler.sh: `make bench-scheduler`. Kubemark-style: a fresh
# skiff-apiserver (embedded store under /tmp), hollow nodes
# (build/selftests/skiff-hollow-nodes: Node objects and heartbeats, no
# containers) and skiff-scheduler, all on this host; bench/schedbench then
# creates pods and times their binding. Runs, each on a fresh cluster:
#
#	BENCH_PODS pods onto each of BENCH_NODES node counts;
#	one Deployment of BENCH_REPLICAS replicas with the controller manager
#	running too, timed from its creation to its last pod bound.
#
# Knobs (environment): BENCH_NODES (1000,5000), BENCH_PODS (10000),
# BENCH_REPLICAS (1000), BENCH_TIMEOUT (600 s per run).
#
# Progress in build/bench/scheduler.log, the daemons' logs in
# build/bench/scheduler-logs/; writes its figures to
# build/bench/scheduler.json (see scripts/bench/lib.sh) and rewrites the
# "Scheduler" section of
# Documentation/benchmarks.md between its markers (appended when missing).
# Not a test: no figure fails it. Exit status 0 when every run finished.

set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
source "$top/scripts/bench/lib.sh"
bin=$top/build/bin
bench=$top/build/bench/schedbench
hollow=$top/build/selftests/skiff-hollow-nodes
log=$top/build/bench/scheduler.log
logs=$top/build/bench/scheduler-logs
doc=$top/Documentation/benchmarks.md
begin='<!-- bench-scheduler begin -->'
end='<!-- bench-scheduler end -->'

node_counts=${BENCH_NODES:-1000,5000}
pods=${BENCH_PODS:-10000}
replicas=${BENCH_REPLICAS:-1000}
limit=${BENCH_TIMEOUT:-600}

for f in "$bin/skiff-apiserver" "$bin/skiff-scheduler" \
	"$bin/skiff-controller-manager" "$bench" "$hollow"; do
	if [ ! -x "$f" ]; then
		echo "bench: $f is missing (make userspace $bench)" >&2
		exit 1
	fi
done

work=$(mktemp -d /tmp/skiff-schedbench.XXXXXX) || exit 1
pids=()
stop_all() {
	local pid

	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null
	done
	pids=()
}
cleanup() {
	stop_all
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$logs"
: > "$log"

say() {
	echo "bench: $*" | tee -a "$log" >&2
}

# cluster NAME NODES [cm]: a fresh apiserver, NODES hollow nodes and the
# scheduler (and the controller manager); sets API.
cluster() {
	local name=$1 nodes=$2 i

	stop_all
	rm -rf "$work/store"
	"$bin/skiff-apiserver" --listen 127.0.0.1:0 --data-dir "$work/store" \
		> "$logs/$name-apiserver.log" 2>&1 &
	pids+=($!)
	for i in $(seq 100); do
		grep -qs "serving on" "$logs/$name-apiserver.log" && break
		sleep 0.1
	done
	API=$(sed -n 's/.*serving on \(http:[^,]*\),.*/\1/p' "$logs/$name-apiserver.log")
	[ -n "$API" ] || { say "apiserver did not start"; return 1; }
	"$hollow" --server "$API" --nodes "$nodes" --prefix hollow --heartbeat 10s \
		> "$logs/$name-hollow.log" 2>&1 &
	pids+=($!)
	for i in $(seq 1200); do
		grep -qs "up$" "$logs/$name-hollow.log" && break
		sleep 0.1
	done
	grep -qs "up$" "$logs/$name-hollow.log" || { say "hollow nodes did not start"; return 1; }
	"$bin/skiff-scheduler" --server "$API" --leader-elect=false \
		> "$logs/$name-scheduler.log" 2>&1 &
	pids+=($!)
	SCHED_PID=$!
	if [ "${3:-}" = cm ]; then
		"$bin/skiff-controller-manager" --server "$API" --leader-elect=false \
			> "$logs/$name-cm.log" 2>&1 &
		pids+=($!)
	fi
}

# cpu_s PID: user + system seconds the process has used.
cpu_s() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$1/stat"
}

rss_mb() {
	awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"
}

rows=""
raws=()
status=0
bench_json_begin
IFS=, read -r -a counts <<< "$node_counts"
for n in "${counts[@]}"; do
	say "$pods pods onto $n nodes"
	if ! cluster "nodes-$n" "$n"; then
		status=1
		continue
	fi
	out=$(timeout $((limit + 30)) "$bench" --server "$API" --pods "$pods" \
		--timeout "$limit" 2>> "$log")
	if [ -z "$out" ]; then
		say "run did not finish"
		status=1
		continue
	fi
	say "$out"
	raws+=("$(jq -c --argjson n "$n" '{ nodes: $n } + .' <<< "$out")")
	rows+="| $n | $pods | $(jq -r .pods_per_s <<< "$out") | $(jq -r .p50_ms <<< "$out") | $(jq -r .p99_ms <<< "$out") | $(cpu_s "$SCHED_PID") s | $(rss_mb "$SCHED_PID") MB |"$'\n'
done

say "one Deployment of $replicas replicas, with the controller manager"
deploy="not measured"
if cluster deployment 100 cm; then
	out=$(timeout $((limit + 30)) "$bench" --server "$API" --deployment "$replicas" \
		--timeout "$limit" 2>> "$log")
	if [ -n "$out" ]; then
		say "$out"
		raws+=("$(jq -c '{ deployment: . }' <<< "$out")")
		deploy="$(jq -r .seconds <<< "$out") s"
	else
		status=1
	fi
else
	status=1
fi
stop_all

verdict() { # verdict PODS_PER_S: against the target of 1,000 at 5k nodes
	awk -v x="$1" 'BEGIN { print (x >= 1000) ? "met" : "not met" }'
}
at5k=$(awk -F'|' '$2 + 0 == 5000 { gsub(/ /, "", $4); print $4 }' <<< "$rows")

section=$(cat <<EOF
$begin
# Scheduler benchmarks

\`make bench-scheduler\` ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r)):
skiff-apiserver (embedded store), hollow nodes and skiff-scheduler on one
host; bench/schedbench creates the pods (64 creations in flight) and
watches them bound. The hollow nodes renew their Leases every 10 s as
kubelets do (500 writes/s at 5,000 nodes, on the same apiserver); a run
starts once every node has its Lease.

| nodes | pods | pods/s | p50 latency ms | p99 latency ms | scheduler CPU | scheduler RSS |
|------:|-----:|-------:|---------------:|---------------:|--------------:|--------------:|
${rows%$'\n'}

- **Target**: at least 1,000 pods/s at 5,000 nodes on 2 cores:
  ${at5k:-?} pods/s, $(verdict "${at5k:-0}").
- **Deployment of $replicas replicas** (controller manager and scheduler),
  from its creation to its last pod bound: $deploy.
- **Latency** is from the moment a pod's creation is sent to the watch
  event that shows it bound; pods are created faster than they are bound,
  so it includes the time they queue. pods/s is from the first creation to
  the last binding. All processes share the same 2 cores: the apiserver
  writes every creation and every binding (fsync'd, group commit).
$end
EOF
)

bench_write_section "$doc" "$begin" "$end" "$section"
say "wrote the Scheduler section of ${doc#"$top"/}"

# The figures, for the report (make bench-report): no baseline here; the
# target is the 5,000-node run's.
for n in "${counts[@]}"; do
	r=$(printf '%s\n' "${raws[@]}" | jq -c --argjson n "$n" 'select(.nodes == $n)' 2>/dev/null)
	[ -n "$r" ] || r='{}'
	t=""
	[ "$n" = 5000 ] && t=">=:1000"
	bench_fig "nodes.$n.pods_per_s" "$(jq -r '.pods_per_s // "-"' <<< "$r")" pods/s \
		"pods bound/s, $pods pods onto $n nodes" better=higher target="$t" \
		chart="Scheduler throughput by node count" series="pods/s" x="$n nodes"
	bench_fig "nodes.$n.p50_ms" "$(jq -r '.p50_ms // "-"' <<< "$r")" ms \
		"binding latency p50, $n nodes" better=lower chart="Binding latency by node count" \
		series=p50 x="$n nodes"
	bench_fig "nodes.$n.p99_ms" "$(jq -r '.p99_ms // "-"' <<< "$r")" ms \
		"binding latency p99, $n nodes" better=lower chart="Binding latency by node count" \
		series=p99 x="$n nodes"
done
bench_fig deployment.seconds "${deploy% s}" s \
	"Deployment of $replicas replicas, creation to last pod bound" better=lower
json=$top/build/bench/scheduler.json
complete=false
[ "$status" = 0 ] && complete=true
bench_json_write "$json" scheduler "$complete" \
	"BENCH_NODES=$node_counts BENCH_PODS=$pods BENCH_REPLICAS=$replicas make bench-scheduler" \
	"{}" "$(printf '%s\n' "${raws[@]}" | jq -cs .)"
say "wrote ${json#"$top"/}"
exit $status
