#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Job controller against a real apiserver, with hollow nodes playing
# the kubelet:
#
#   skiff-apiserver <-- skiff-controller-manager (job [, gc])
#          ^
#          '------- skiff-hollow-nodes "node" (runs pods bound to it)
#
# Pods are bound in the template (spec.nodeName). They finish through the
# annotation hollow.skiff.dev/exit, in the template (every pod) or set by
# the test on one pod. Kubernetes' back-off (10 s, doubling) is not scaled
# down: cases that fail pods keep to one back-off.

source "$(dirname "$0")/../lib-controllers.sh"

JOBS=/apis/batch/v1/namespaces/default/jobs
PODS=/api/v1/namespaces/default/pods

# job NAME COMPLETIONS PARALLELISM BACKOFF_LIMIT [EXIT] [RESTART_POLICY]
job() {
	jq -nc --arg n "$1" --argjson c "$2" --argjson p "$3" --argjson b "$4" \
		--arg e "${5:-}" --arg r "${6:-Never}" '{
		apiVersion: "batch/v1", kind: "Job", metadata: {name: $n},
		spec: {completions: $c, parallelism: $p, backoffLimit: $b,
		       template: {metadata: {annotations:
				(if $e == "" then {} else {"hollow.skiff.dev/exit": $e} end)},
			spec: {nodeName: "node", restartPolicy: $r,
			       containers: [{name: "c", image: "busybox"}]}}}}'
}

job_pods() { # job_pods NAME JQ_FILTER: names of the Job's pods that pass
	api GET "$PODS?labelSelector=batch.kubernetes.io%2Fjob-name%3D$1"
	jq -r "[.items[] | select($2) | .metadata.name] | sort | .[]" <<< "$OUT"
}

running_pods() {
	job_pods "$1" '.status.phase == "Running" and .metadata.deletionTimestamp == null'
}

setup() {
	cluster_start
	hollow_start node
	cm_start --controllers "${1:-job}"
}

has_cond() { # jq: the Job in OUT has condition TYPE True with REASON
	echo "[.status.conditions[]? | select(.type == \"$1\" and .status == \"True\" and .reason == \"$2\")] | length == 1"
}

test_completions_and_parallelism() {
	setup
	api_expect 201 POST "$JOBS" "$(job work 3 2 6)"
	wait_json 20 "$JOBS/work" '.status.active == 2 and .status.ready == 2'
	check_match "$(jget .status.startTime)" "^20[0-9-]+T" "startTime"
	local pods p
	pods=$(running_pods work)
	check_eq "$(wc -l <<< "$pods")" 2 "parallelism 2"
	check_match "$(head -n 1 <<< "$pods")" "^work-[a-z0-9]{5}$" "pod name"
	api_expect 200 GET "$PODS/$(head -n 1 <<< "$pods")"
	check_eq "$(jget '.metadata.labels["batch.kubernetes.io/job-name"]')" work "job-name label"
	api GET "$JOBS/work"
	local uid
	uid=$(jget .metadata.uid)
	api_expect 200 GET "$PODS/$(head -n 1 <<< "$pods")"
	check_eq "$(jget '.metadata.labels["batch.kubernetes.io/controller-uid"]')" "$uid" "controller-uid label"
	check_eq "$(jget '.metadata.ownerReferences[0] | "\(.kind) \(.name) \(.controller) \(.blockOwnerDeletion)"')" \
		"Job work true true" "owner"
	check_eq "$(jget '.metadata.finalizers | join(",")')" batch.kubernetes.io/job-tracking "tracking finalizer"
	# One succeeds: one more starts (3 - 1 left, parallelism 2).
	p=$(head -n 1 <<< "$pods")
	mark_pod default "$p" exit 0
	wait_json 20 "$JOBS/work" '.status.succeeded == 1 and .status.active == 2 and .status.ready == 2'
	api_expect 200 GET "$PODS/$p"
	check_eq "$(jget '.metadata.finalizers // [] | length')" 0 "a counted pod is released"
	# Two more succeed: 3 of 3, the Job completes.
	for p in $(running_pods work); do
		mark_pod default "$p" exit 0
	done
	wait_json 20 "$JOBS/work" "$(has_cond Complete CompletionsReached)"
	check_eq "$(jget '"\(.status.succeeded) \(.status.failed) \(.status.active)"')" "3 0 0" "counts"
	check_eq "$(jget "$(has_cond SuccessCriteriaMet CompletionsReached)")" true "SuccessCriteriaMet"
	check_match "$(jget .status.completionTime)" "^20[0-9-]+T" "completionTime"
	check_eq "$(job_pods work true | wc -l)" 3 "three pods made"
	k wait --for=condition=complete --timeout=5s job/work > /dev/null
}

test_parallelism_down_is_no_failure() {
	setup
	api_expect 201 POST "$JOBS" "$(job wide 4 3 0)"
	wait_json 20 "$JOBS/wide" '.status.active == 3'
	api_expect 200 PATCH "$JOBS/wide" '{"spec":{"parallelism":1}}' application/merge-patch+json
	wait_json 20 "$JOBS/wide" '.status.active == 1'
	wait_for 20 eval '[ "$(job_pods wide true | wc -l)" = 1 ]' || fail "surplus pods stay: $(job_pods wide true)"
	api_expect 200 GET "$JOBS/wide"
	check_eq "$(jget '.status.failed')" 0 "deleted surplus is no failure (backoffLimit 0)"
	check_eq "$(jget '[.status.conditions[]?] | length')" 0 "no condition"
}

test_backoff_limit_exceeded() {
	setup
	api_expect 201 POST "$JOBS" "$(job fail 1 1 1 1)"
	wait_json 20 "$JOBS/fail" '.status.failed == 1'
	# The retry waits Kubernetes' first back-off, 10 s.
	wait_json 30 "$JOBS/fail" "$(has_cond Failed BackoffLimitExceeded)"
	check_eq "$(jget '"\(.status.failed) \(.status.succeeded) \(.status.active)"')" "2 0 0" "counts"
	check_eq "$(jget "$(has_cond FailureTarget BackoffLimitExceeded)")" true "FailureTarget"
	check_eq "$(jget '.status.completionTime // "none"')" none "no completionTime"
	check_eq "$(jget '.status.conditions[] | select(.type == "Failed") | .message')" \
		"Job has reached the specified backoff limit" "message"
	api GET "$PODS?labelSelector=batch.kubernetes.io%2Fjob-name%3Dfail"
	local gap
	gap=$(jq '[.items[].metadata.creationTimestamp | fromdate] | sort | .[1] - .[0]' <<< "$OUT")
	[ "$gap" -ge 9 ] || fail "retry after $gap s, not after the 10 s back-off"
	wait_json 20 "/api/v1/namespaces/default/events" \
		'[.items[] | select(.reason == "BackoffLimitExceeded" and .involvedObject.name == "fail")] | length == 1'
}

test_on_failure_retries_then_succeeds() {
	setup
	api_expect 201 POST "$JOBS" "$(job retry 1 1 3 "" OnFailure)"
	wait_json 20 "$JOBS/retry" '.status.ready == 1'
	local first
	first=$(running_pods retry)
	mark_pod default "$first" exit 1
	wait_json 20 "$JOBS/retry" '.status.failed == 1'
	wait_for 30 eval '[ -n "$(running_pods retry)" ]' || fail "no retry"
	mark_pod default "$(running_pods retry)" exit 0
	wait_json 20 "$JOBS/retry" "$(has_cond Complete CompletionsReached)"
	check_eq "$(jget '"\(.status.failed) \(.status.succeeded)"')" "1 1" "counts"
}

test_active_deadline() {
	setup
	api_expect 201 POST "$JOBS" "$(job slow 2 2 6 | jq -c '.spec.activeDeadlineSeconds = 2')"
	wait_json 20 "$JOBS/slow" '.status.active == 2'
	wait_json 20 "$JOBS/slow" "$(has_cond Failed DeadlineExceeded)"
	check_eq "$(jget '"\(.status.active) \(.status.failed) \(.status.succeeded)"')" "0 2 0" \
		"running pods killed count as failed"
	wait_for 20 eval '[ -z "$(job_pods slow true)" ]' || fail "pods stay: $(job_pods slow true)"
}

test_counted_once_when_pods_go() {
	setup
	api_expect 201 POST "$JOBS" "$(job twice 2 1 6)"
	wait_json 20 "$JOBS/twice" '.status.ready == 1'
	local first
	first=$(running_pods twice)
	mark_pod default "$first" exit 0
	wait_json 20 "$JOBS/twice" '.status.succeeded == 1 and .status.ready == 1'
	# A finished pod deleted by hand stays counted.
	api_expect 200 DELETE "$PODS/$first"
	wait_for 20 eval '! api GET "$PODS/$first" || [ "$CODE" = 404 ]' || fail "$first stays"
	# A restarted controller manager counts nothing again.
	daemon_stop cm
	cm_start --controllers job
	mark_pod default "$(running_pods twice)" exit 0
	wait_json 20 "$JOBS/twice" "$(has_cond Complete CompletionsReached)"
	check_eq "$(jget '"\(.status.succeeded) \(.status.failed)"')" "2 0" "counts"
}

test_ttl_after_finished() {
	setup job,gc
	api_expect 201 POST "$JOBS" "$(job brief 2 2 6 0 | jq -c '.spec.ttlSecondsAfterFinished = 1')"
	wait_json 20 "$JOBS/brief" '.status.succeeded == 2'
	wait_for 20 eval 'api GET "$JOBS/brief"; [ "$CODE" = 404 ]' || fail "job stays: $OUT"
	wait_for 20 eval '[ -z "$(job_pods brief true)" ]' || fail "pods stay: $(job_pods brief true)"
}

test_deleted_job_releases_pods() {
	setup job,gc
	api_expect 201 POST "$JOBS" "$(job gone 2 2 6)"
	wait_json 20 "$JOBS/gone" '.status.active == 2'
	api_expect 200 DELETE "$JOBS/gone" '{"propagationPolicy":"Background"}'
	wait_for 20 eval '[ -z "$(job_pods gone true)" ]' || fail "pods stay: $(job_pods gone true)"
}

test_zero_completions() {
	setup
	api_expect 201 POST "$JOBS" "$(job none 0 1 6)"
	wait_json 20 "$JOBS/none" "$(has_cond Complete CompletionsReached)"
	check_eq "$(job_pods none true | wc -w)" 0 "no pod"
}

run_tests test_completions_and_parallelism test_parallelism_down_is_no_failure \
	test_backoff_limit_exceeded test_on_failure_retries_then_succeeds \
	test_active_deadline test_counted_once_when_pods_go test_ttl_after_finished \
	test_deleted_job_releases_pods test_zero_completions
