#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# node.sh: `make bench-node`. The node agent's benchmark (issue 6): a
# cluster as selftests/lib-node.sh builds it (apiserver, controller
# manager and scheduler on an underlay bridge in a network namespace of
# this script's own, one node "a" as a further namespace with skiff-node
# on the nft data plane, busybox built from the host as the image), then
# bench/nodebench:
#
#	pod startup, BENCH_PODS pods (busybox `sleep 100000`): all created
#	at once with spec.nodeName set; BENCH_RATE a second with
#	spec.nodeName set; BENCH_RATE a second through the scheduler. Each
#	round deletes its pods and waits until they are gone. Then
#	BENCH_SLOW_PODS (100) one a second: a pod's own cost, no queue; the
#	issue's "100 pods on one node" at a rate the node keeps up with, as
#	Kubernetes measures its pod startup SLO (pods created at a rate).
#	the runtime alone: BENCH_PODS containers of the same image started by
#	runc with nothing else in the way, the burst round's floor.
#	endpoint changes: BENCH_SERVICES selector-less Services with their
#	Endpoints, BENCH_CHANGES patches of one Endpoints' addresses, each
#	timed until the node's data plane holds the new backends.
#	the baseline: the same single-service changes as one service_set and
#	as a resync of the whole table, with BENCH_SERVICES and ten times as
#	many services, in a namespace of nodebench's own.
#
# Knobs (environment): BENCH_PODS (100), BENCH_RATE (10), BENCH_SLOW_PODS
# (100), BENCH_SERVICES (100), BENCH_CHANGES (200), BENCH_TIMEOUT (120 s per
# round).
#
# Progress in build/bench/node.log, the daemons' logs in
# build/bench/node-logs/; writes its figures to build/bench/node.json
# (see scripts/bench/lib.sh) and rewrites the "Node agent" section of
# Documentation/benchmarks.md between its markers (appended when missing).
# Not a test: no figure fails it. Exit status 0 when every round finished.
# Whatever happens, the node's containers, mounts and namespaces go at
# exit (skiff-node reset, as the selftests do).

top=$(cd "$(dirname "$0")/../.." && pwd)
bench=$top/build/bench/nodebench
for f in "$top"/build/bin/skiff-{apiserver,controller-manager,scheduler,node,shim} "$bench"; do
	if [ ! -x "$f" ]; then
		echo "bench: $f is missing (make userspace $bench)" >&2
		exit 1
	fi
done

# Re-runs this script under `unshare --net` (the underlay) and builds the
# busybox image; its exit trap stops the apiserver and removes namespaces.
source "$top/selftests/lib-node.sh"
source "$top/scripts/bench/lib.sh"

log=$top/build/bench/node.log
logs=$top/build/bench/node-logs
doc=$top/Documentation/benchmarks.md
begin='<!-- bench-node begin -->'
end='<!-- bench-node end -->'

pods=${BENCH_PODS:-100}
rate=${BENCH_RATE:-10}
services=${BENCH_SERVICES:-100}
changes=${BENCH_CHANGES:-200}
limit=${BENCH_TIMEOUT:-120}
slow_pods=${BENCH_SLOW_PODS:-100}

mkdir -p "$logs"
: > "$log"

# Daemons, then every node's containers and mounts (case_cleanup), then
# the apiserver's directory and the namespaces; the logs are kept.
bench_cleanup() {
	case_cleanup || true
	cp "$API_DIR"/*.log "$logs/" 2>/dev/null || true
	apiserver_cleanup
	cleanup_netns
}
trap bench_cleanup EXIT

say() {
	echo "bench: $*" | tee -a "$log" >&2
}

# cpu_s PID: user + system seconds the process has used.
cpu_s() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" \
		2>/dev/null || echo 0
}

# How often the node lifecycle controller found node a silent (no Lease
# renewal within the grace period).
silent_count() {
	grep -c "node a: silent" "$API_DIR/cm.log" 2>/dev/null
}

node_pid() {
	cat "$API_DIR/node-a.pid"
}

# pods_round NAME ARGS...: one round of nodebench pods; its JSON in
# $API_DIR/NAME.json, with the CPU the agent and the apiserver used.
pods_round() {
	local name=$1 out agent0 api0

	shift
	say "pods: $name"
	silent0=$(silent_count)
	agent0=$(cpu_s "$(node_pid)")
	api0=$(cpu_s "$(cat "$API_DIR/pid")")
	out=$(timeout $((3 * limit)) "$bench" pods --kubeconfig "$KUBECONFIG" --node a --pods "$pods" \
		--root-dir "$NODE_ROOTS/a" --timeout "$limit" "$@" 2>> "$log")
	rc=$?
	if [ -z "$out" ]; then
		say "$name did not finish"
		echo '{}' > "$API_DIR/$name.json"
		return 1
	fi
	out=$(jq -c --argjson a "$(awk -v x="$(cpu_s "$(node_pid)")" -v y="$agent0" 'BEGIN { print x - y }')" \
		--argjson s "$(awk -v x="$(cpu_s "$(cat "$API_DIR/pid")")" -v y="$api0" 'BEGIN { print x - y }')" \
		--argjson q "$(($(silent_count) - silent0))" \
		'. + {agent_cpu_s: $a, apiserver_cpu_s: $s, node_unknown: $q}' <<< "$out")
	say "$out"
	echo "$out" > "$API_DIR/$name.json"
	return $rc
}

# busy_ms: the CPU time every process of the machine has used so far, in
# milliseconds (/proc/stat: user, nice, system, irq, softirq, steal).
busy_ms() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" {
		printf "%.0f", ($2 + $3 + $4 + $7 + $8 + $9) * 1000 / hz }' /proc/stat
}

# runtime_floor: the baseline of the burst round, what the OCI runtime
# alone takes to start $pods containers with nothing else in the way: the
# image's rootfs as it is (read-only, no overlay), the pods' command, runc's
# default namespaces (a new network namespace each, as every pod gets one),
# `runc run -d` as many at a time as the machine has CPUs, under a runc
# root of its own. No agent, no apiserver, no status: no node agent on this
# machine can start that many containers faster. Its JSON on stdout:
# containers started, wall time until the last `run -d` returned, and the
# CPU the whole machine used meanwhile, per container.
runtime_floor() {
	local dir=$API_DIR/runtime-floor i cpu0 cpu1 t0 t1 started

	mkdir -p "$dir/bundles" || return 1
	runc spec --bundle "$dir" || return 1
	jq --arg rootfs "$NODE_IMAGES/busybox/latest/rootfs" \
		'.process.terminal = false | .process.args = ["sleep", "100000"]
		 | .root = { path: $rootfs, readonly: true }' \
		"$dir/config.json" > "$dir/template.json" || return 1
	for ((i = 1; i <= pods; i++)); do
		mkdir -p "$dir/bundles/$i"
		cp "$dir/template.json" "$dir/bundles/$i/config.json"
	done
	sync
	cpu0=$(busy_ms)
	t0=$EPOCHREALTIME
	# xargs gives each runc /dev/null as its standard input.
	seq "$pods" | xargs -P "$(nproc)" -I{} \
		runc --root "$dir/state" run -d --bundle "$dir/bundles/{}" floor-{} \
		> /dev/null 2>> "$log"
	t1=$EPOCHREALTIME
	cpu1=$(busy_ms)
	started=$(runc --root "$dir/state" list -q 2>/dev/null | wc -l)
	for ((i = 1; i <= pods; i++)); do
		runc --root "$dir/state" delete -f "floor-$i" 2>/dev/null
	done
	rm -rf "$dir"
	jq -cn --argjson n "$started" --argjson p "$(nproc)" \
		--argjson s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" \
		--argjson c "$(awk -v c=$((cpu1 - cpu0)) -v n="$started" \
			'BEGIN { printf "%.1f", n ? c / n : -1 }')" \
		'{ containers: $n, parallel: $p, all_started_s: $s, cpu_ms_per_container: $c }'
}

status=0
start=$SECONDS
bench_json_begin
load0=$(cut -d' ' -f1-3 /proc/loadavg)
say "cluster: apiserver, controller manager, scheduler; node a on nft"
# The node lifecycle's Kubernetes defaults, not the selftests' short ones:
# a busy agent that misses heartbeats for 6 s must not lose its pods here.
node_cluster_start --node-monitor-grace-period 40s --pod-eviction-timeout 5m || exit 1
node_start a || exit 1
wait_json 30 /api/v1/nodes/a \
	'(.status.conditions[] | select(.type == "Ready") | .status) == "True"' || exit 1

pods_round burst || status=1
pods_round paced --rate "$rate" || status=1
pods_round sched --rate "$rate" --scheduler || status=1
pods_round slow --rate 1 --pods "$slow_pods" || status=1

say "runtime alone: $pods containers, runc run -d, $(nproc) at a time"
floor=$(runtime_floor)
[ -n "$floor" ] || { status=1; floor='{}'; }
say "$floor"

say "endpoints: $services services, $changes changes"
ep=$(in_node a timeout $((3 * limit)) "$bench" endpoints --kubeconfig "$KUBECONFIG" --dataplane nft \
	--services "$services" --changes "$changes" --timeout "$limit" 2>> "$log")
[ -n "$ep" ] || { status=1; ep='{}'; }
say "$ep"

say "baseline: one service_set against a resync of the whole table"
base=""
for n in "$services" $((10 * services)); do
	out=$(timeout "$limit" "$bench" resync --dataplane nft --services "$n" \
		--changes "$changes" 2>> "$log")
	[ -n "$out" ] || { status=1; continue; }
	say "$out"
	base+="$out"$'\n'
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
say "done in $((SECONDS - start)) s; load average $load0 at the start, $load1 at the end"

# ---- the section ----

f() { # f FILE JQ: a figure of a round, "-" when missing
	jq -r "($2) // \"-\"" "$API_DIR/$1.json" 2>/dev/null || echo -
}
ms() { # ms MS: milliseconds as a person reads them
	awk -v x="$1" 'BEGIN { if (x == "-" || x < 0) print "-";
		else if (x >= 1000) printf "%.2f s", x / 1000;
		else if (x >= 100) printf "%.0f ms", x; else printf "%.1f ms", x }'
}
pod_row() { # pod_row NAME LABEL
	echo "| $2 | $(f "$1" .running)/$(f "$1" .pods) | $(ms "$(f "$1" .p50_ms)") |" \
		"$(ms "$(f "$1" .p90_ms)") | $(ms "$(f "$1" .p99_ms)") | $(ms "$(f "$1" .max_ms)") |" \
		"$(f "$1" .all_running_s) s | $(f "$1" .delete_s) s | $(f "$1" .agent_cpu_s) s |" \
		"$(f "$1" .apiserver_cpu_s) s | $(f "$1" .heartbeat_gap_s) s | $(f "$1" .node_unknown) |"
}
stage_row() { # stage_row NAME LABEL [-]: p50 (p99) of each stage's end
	local s row="| $2 |" per

	per=$(ms "$(f "$1" .agent_span_ms_per_pod)")
	[ "${3:-}" != - ] || per=-

	for s in bound agent sandbox bundle shim runc running; do
		row+=" $(ms "$(f "$1" ".stages.${s}[0]")") ($(ms "$(f "$1" ".stages.${s}[1]")")) |"
	done
	echo "$row $per |"
}
verdict() { # verdict VALUE LIMIT
	awk -v x="$1" -v l="$2" 'BEGIN { if (x == "-") print "not measured";
		else print (x + 0 <= l) ? "met" : "not met" }'
}
fl() { # fl JQ: a figure of the runtime alone
	jq -r "($1) // \"-\"" <<< "$floor" 2>/dev/null || echo -
}
e() { # e JQ: a figure of the endpoints run
	jq -r "($1) // \"-\"" <<< "$ep" 2>/dev/null || echo -
}
base_rows=""
while read -r line; do
	[ -n "$line" ] || continue
	base_rows+="| $(jq -r .services <<< "$line") |"
	base_rows+=" $(ms "$(jq -r .set_p50_ms <<< "$line")") / $(ms "$(jq -r .set_p99_ms <<< "$line")") |"
	base_rows+=" $(ms "$(jq -r .sync_p50_ms <<< "$line")") / $(ms "$(jq -r .sync_p99_ms <<< "$line")") |"
	base_rows+=" $(jq -r '(.sync_p50_ms / .set_p50_ms * 10 | round) / 10' <<< "$line") |"
	base_rows+=" $(ms "$(jq -r .list_p50_ms <<< "$line")") |"$'\n'
done <<< "$base"

runc_version=$(runc --version 2>/dev/null | head -n 1)
burst_vs_floor=$(awk -v a="$(f burst .all_running_s)" -v b="$(fl .all_started_s)" \
	'BEGIN { if (a ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-" }')

section=$(cat <<EOF
$begin
# Node agent benchmarks

\`make bench-node\` ($(date -u +%Y-%m-%d), $(nproc) cores, kernel $(uname -r),
${runc_version:-runc}; BENCH_PODS=$pods BENCH_RATE=$rate BENCH_SERVICES=$services
BENCH_CHANGES=$changes BENCH_SLOW_PODS=$slow_pods): the cluster of the node selftests
(selftests/lib-node.sh) on this host: skiff-apiserver (embedded store),
controller manager and scheduler on an underlay bridge, one node as a
network namespace with skiff-node on the **nft** data plane and runc, and
busybox built from the host as its image. bench/nodebench drives it; the
run took $((SECONDS - start)) s. Every process shares the same $(nproc) cores (the
apiserver fsyncs each write), and the machine was shared with other work:
load average $load0 when the run started, $load1 when it ended (1, 5, 15
min). Figures are noisy; compare them within one run.

## Pod startup

busybox \`sleep 100000\`, one container, no volumes, no probes. Latency is
from the moment the create is sent to the watch event that shows the pod
Running with \`containerStatuses[0].state.running\`. The first two rounds
set \`spec.nodeName\`, so the scheduler is not in the path; the third
leaves the pod to the scheduler; the last, $slow_pods pods one a second, is what a
pod costs when none waits for another. **All running after**: from the first
create to the last pod Running. Agent and apiserver CPU are what each
used during the round (creations, startup and deletion). **Longest
heartbeat gap**: the longest time between two renewals of the node's Lease
(every 1 s) seen by the watch during the round: how long the agent's event
loop went without turning. **Node Unknown**: how often the controller
manager found the node silent for its grace period (40 s, Kubernetes'
default; the selftests use 6 s) during the round.

| round | running | p50 | p90 | p99 | max | all running after | deleted in | agent CPU | apiserver CPU | longest heartbeat gap | node Unknown |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
$(pod_row burst "$pods at once, nodeName set")
$(pod_row paced "$rate/s, nodeName set")
$(pod_row sched "$rate/s, through the scheduler")
$(pod_row slow "1/s, nodeName set")

Where the time goes: p50 (p99) of the moment each step ended, from the
create: **bound**, the watch shows \`spec.nodeName\` (the create's own
event when it is set; the scheduler's binding otherwise); then from the
modification times of the agent's files of each pod
(\`ROOT/pods/UID/...\`): **agent** took the pod up (\`pod.json\`),
**sandbox** (netns, veth, address; \`etc/hostname\`), **bundle** (rootfs
overlay, \`config.json\`), **shim** started (\`shim.pid\`), **runc**
\`run -d\` returned (\`started\`), **running** seen by the watch (the
status patch written and delivered). File times come from the kernel's
coarse clock: a few milliseconds of grain. **Per pod**: from the first pod
taken up to the last shim started, divided by the pods: what each pod
costs the agent when its steps run one after the other (when pods come
faster than that; not shown for the 1/s round, where the pace sets it).

| round | bound | agent | sandbox | bundle | shim | runc | running | per pod |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
$(stage_row burst "$pods at once")
$(stage_row paced "$rate/s")
$(stage_row sched "$rate/s, scheduler")
$(stage_row slow "1/s" -)

Baseline, **the runtime alone**: $(fl .containers) containers of the same image
and command started by runc with nothing else in the way: \`runc run -d\`,
$(fl .parallel) at a time (as many as the machine has CPUs), each with the image's
rootfs as it is (read-only, no overlay) and runc's default namespaces (a
new network namespace each, as every pod gets one); no agent, apiserver or
status in the path. The last \`run -d\` returned after **$(fl .all_started_s) s**; the
whole machine used $(ms "$(fl .cpu_ms_per_container)") of CPU per container meanwhile
(runc is two Go processes per container: \`runc run\`, and \`runc init\`, which
becomes the container). No node agent on this machine can have $pods pods
Running sooner: the first round's "all running after" is $burst_vs_floor times it.

## Endpoints change to data plane programmed

$services Services without a selector (ClusterIP, port 80), each with an
Endpoints object of 2 addresses written by nodebench; $changes times, one
Endpoints object (a different one each time) gains or loses a third address
(a merge patch). Timed from the moment the patch is sent until the node's
data plane lists the new backend set: nodebench runs in the node's network
namespace, opens the data plane and listens on its change notifications
(the nf_tables and rtnetlink groups skiff_dp_monitor uses); on each it
lists the services (a slow poll backs it up). **notified** is when the
notification that preceded the right list arrived: nf_tables sends it when
the proxy's transaction commits, so this is when the change took effect
(to within one list); **listed** adds nodebench's own dump of the table
that confirmed it (p50 $(ms "$(e .list_p50_ms)"), p99 $(ms "$(e .list_p99_ms)") with $services services), an
upper bound.
$(e .lost) of $(e .changes) changes were not programmed within 5 s. Setting
up the $services Services and Endpoints one by one took $(e .initial_s) s
until all were programmed.

| backend | services | changes | | p50 | p90 | p99 | max |
|---|---:|---:|---|---:|---:|---:|---:|
| nft | $services | $(e .programmed) | notified | $(ms "$(e .notified_p50_ms)") | $(ms "$(e .notified_p90_ms)") | $(ms "$(e .notified_p99_ms)") | $(ms "$(e .notified_max_ms)") |
| nft | $services | $(e .programmed) | listed | $(ms "$(e .p50_ms)") | $(ms "$(e .p90_ms)") | $(ms "$(e .p99_ms)") | $(ms "$(e .max_ms)") |

Baseline, the data plane alone (nodebench resync, a network namespace of
its own, nft): the same one-service change ($changes times) made as the
proxy makes it (one \`skiff_dp_service_set\`) and as a proxy that resyncs
the whole table on every change would (\`skiff_dp_service_sync\` of every
service: what \`skiff-dp apply\` and the proxy's resync after a 410 do; it
reads the table and commits only the difference, so it is cheaper than an
iptables-restore of everything). p50 / p99, and the ratio of the p50s.

| services | service_set | full resync | resync/set | list |
|---:|---:|---:|---:|---:|
${base_rows%$'\n'}

## Targets

| target | round | measured | |
|---|---|---:|---|
| pod startup p99 <= 1 s (the Kubernetes SLO is 5 s) | $pods at once | $(ms "$(f burst .p99_ms)") | $(verdict "$(f burst .p99_ms)" 1000) |
| | $rate/s | $(ms "$(f paced .p99_ms)") | $(verdict "$(f paced .p99_ms)" 1000) |
| | $rate/s, through the scheduler | $(ms "$(f sched .p99_ms)") | $(verdict "$(f sched .p99_ms)" 1000) |
| | $slow_pods at 1/s | $(ms "$(f slow .p99_ms)") | $(verdict "$(f slow .p99_ms)" 1000) |
| endpoints change to programmed p99 <= 50 ms | listed | $(ms "$(e .p99_ms)") | $(verdict "$(e .p99_ms)" 50) |
| | notified | $(ms "$(e .notified_p99_ms)") | $(verdict "$(e .notified_p99_ms)" 50) |
$(awk -v b="$(fl .all_started_s)" -v n="$pods" -v c="$(nproc)" 'BEGIN {
	if (b ~ /^[0-9.]+$/ && b > 1)
		printf "\nThe first round cannot meet the target on this machine: runc alone takes %.2f s\nto start %d containers on its %d CPUs (the baseline above).\n", b, n, c }')
$end
EOF
)

bench_write_section "$doc" "$begin" "$end" "$section"
say "wrote the Node agent section of ${doc#"$top"/}"

# ---- the figures, for the report (make bench-report) ----

pos() { # pos X: X when a number >= 0 (nodebench says -1 for none), else "-"
	awk -v x="$1" 'BEGIN { print (x ~ /^[0-9.]+$/) ? x : "-" }'
}
rounds=(burst "$pods at once" paced "$rate/s" sched "$rate/s, scheduler" slow "1/s")
for ((i = 0; i < ${#rounds[@]}; i += 2)); do
	r=${rounds[i]}
	label=${rounds[i + 1]}
	for p in p50 p90 p99 max; do
		t=""
		[ "$p" = p99 ] && t="<=:1000"
		bench_fig "pods.$r.${p}_ms" "$(pos "$(f "$r" ".${p}_ms")")" ms \
			"pod startup $p, $label" better=lower target="$t" \
			chart="Pod startup latency by round" series="$p" x="$label"
	done
	vs=""
	[ "$r" = burst ] && vs=runtime.all_started_s
	bench_fig "pods.$r.all_running_s" "$(pos "$(f "$r" .all_running_s)")" s \
		"pod startup, $label: first create to all Running" better=lower base="$vs"
done
bench_fig runtime.all_started_s "$(pos "$(fl .all_started_s)")" s \
	"the runtime alone: $pods containers started, runc run -d, $(nproc) at a time" better=lower
bench_fig runtime.cpu_ms_per_container "$(pos "$(fl .cpu_ms_per_container)")" ms \
	"the runtime alone: CPU per container started (whole machine)" better=lower
for p in p50 p90 p99 max; do
	t=""
	[ "$p" = p99 ] && t="<=:50"
	bench_fig "endpoints.notified.${p}_ms" "$(pos "$(e ".notified_${p}_ms")")" ms \
		"endpoints change to programmed (notified) $p, $services services" \
		better=lower target="$t" chart="Endpoints change to data plane programmed" \
		series=notified x="$p"
	bench_fig "endpoints.listed.${p}_ms" "$(pos "$(e ".${p}_ms")")" ms \
		"endpoints change to programmed (listed) $p, $services services" \
		better=lower target="$t" chart="Endpoints change to data plane programmed" \
		series=listed x="$p"
done
# The baseline: a proxy that resyncs the whole table on every change.
while read -r line; do
	[ -n "$line" ] || continue
	n=$(jq -r .services <<< "$line")
	for p in p50 p99; do
		bench_fig "resync.$n.set_${p}_ms" "$(jq -r ".set_${p}_ms" <<< "$line")" ms \
			"one service change as one service_set, $p, $n services (nft)" \
			better=lower base="resync.$n.sync_${p}_ms" \
			chart="One service change: service_set vs a full resync" \
			series="service_set $p" x="$n services"
		bench_fig "resync.$n.sync_${p}_ms" "$(jq -r ".sync_${p}_ms" <<< "$line")" ms \
			"one service change as a full resync, $p, $n services (nft)" \
			better=lower chart="One service change: service_set vs a full resync" \
			series="full resync $p" x="$n services"
	done
done <<< "$base"
raws=$(for r in burst paced sched slow; do
	jq -c --arg r "$r" '{ ($r): . }' "$API_DIR/$r.json" 2>/dev/null
done; jq -c '{ endpoints: . }' <<< "$ep" 2>/dev/null
printf '%s' "$base" | jq -cs '{ resync: . }')
json=$top/build/bench/node.json
complete=false
[ "$status" = 0 ] && complete=true
bench_json_write "$json" node "$complete" \
	"BENCH_PODS=$pods BENCH_RATE=$rate BENCH_SERVICES=$services BENCH_CHANGES=$changes BENCH_SLOW_PODS=$slow_pods make bench-node" \
	"$(jq -cn --arg runc "$runc_version" --arg l0 "$load0" --arg l1 "$load1" \
		'{ runc: $runc, load_before: $l0, load_after: $l1 }')" \
	"$(jq -cs 'add // {}' <<< "$raws")"
say "wrote ${json#"$top"/}"
exit $status
