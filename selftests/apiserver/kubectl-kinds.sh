#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every kind the apiserver serves, through kubectl 1.32 and 1.20 as a user
# drives it: create -f, apply -f twice with a change (then once more:
# unchanged), get (-o json, -o wide, -l, -A), describe, scale where the
# kind scales, get -w, delete. Midway the apiserver restarts, and every
# object made before is still there.
#
#   kubectl 1.32 / 1.20 ──HTTP──▶ skiff-apiserver ──▶ sqlite (restarted midway)

source "$(dirname "$0")/../lib-apiserver.sh"

# manifest KIND NAME REV: the object, REV 1 or 2 (2 is the change).
manifest() {
	local kind=$1 n=$2 rev=$3 image=busybox:$3 ip=10.0.0.$3

	cat <<-EOF2
	metadata:
	  name: $n
	  labels: {skiff-test: $n, rev: "$rev"}
	EOF2
	case $kind in
	Namespace) echo "apiVersion: v1" ;;
	Node) printf 'apiVersion: v1\nspec: {podCIDR: 10.244.%s.0/24}\n' "$rev" ;;
	Pod) printf 'apiVersion: v1\nspec:\n  containers: [{name: c, image: %s}]\n' "$image" ;;
	Service) printf 'apiVersion: v1\nspec:\n  selector: {app: %s}\n  ports: [{port: 80, targetPort: 808%s}]\n' "$n" "$rev" ;;
	Endpoints) printf 'apiVersion: v1\nsubsets: [{addresses: [{ip: %s}], ports: [{port: 80}]}]\n' "$ip" ;;
	ConfigMap) printf 'apiVersion: v1\ndata: {a: "%s"}\n' "$rev" ;;
	Secret) printf 'apiVersion: v1\ntype: Opaque\ndata: {a: %s}\n' "$(printf '%s' "$rev" | base64)" ;;
	Deployment|ReplicaSet|StatefulSet|DaemonSet)
		printf 'apiVersion: apps/v1\nspec:\n'
		[ "$kind" = DaemonSet ] || printf '  replicas: 1\n'
		[ "$kind" != StatefulSet ] || printf '  serviceName: %s\n' "$n"
		printf '  selector: {matchLabels: {app: %s}}\n' "$n"
		printf '  template:\n    metadata: {labels: {app: %s}}\n' "$n"
		printf '    spec: {containers: [{name: c, image: %s}]}\n' "$image" ;;
	Job) printf 'apiVersion: batch/v1\nspec:\n  parallelism: %s\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: busybox}]\n' "$rev" ;;
	Lease) printf 'apiVersion: coordination.k8s.io/v1\nspec: {holderIdentity: holder-%s}\n' "$rev" ;;
	Event) printf 'apiVersion: v1\ninvolvedObject: {kind: Pod, name: p, namespace: default}\nreason: Test\nmessage: "event %s"\ntype: Normal\n' "$rev" ;;
	esac
	echo "kind: $kind"
}

# What the change shows in -o json, per kind.
changed() {
	case $1 in
	Namespace|Node) jq -r '.metadata.labels.rev' ;;
	Pod) jq -r '.spec.containers[0].image | ltrimstr("busybox:")' ;;
	Service) jq -r '.spec.ports[0].targetPort | tostring | ltrimstr("808")' ;;
	Endpoints) jq -r '.subsets[0].addresses[0].ip | ltrimstr("10.0.0.")' ;;
	ConfigMap) jq -r .data.a ;;
	Secret) jq -r .data.a | base64 -d ;;
	Deployment|ReplicaSet|StatefulSet|DaemonSet)
		jq -r '.spec.template.spec.containers[0].image | ltrimstr("busybox:")' ;;
	Job) jq -r .spec.parallelism ;;
	Lease) jq -r '.spec.holderIdentity | ltrimstr("holder-")' ;;
	Event) jq -r '.message | ltrimstr("event ")' ;;
	esac
}

lower() {
	tr '[:upper:]' '[:lower:]' <<< "$1"
}

# kind_name KIND: how kubectl names it in its messages (deployment.apps).
kind_name() {
	case $1 in
	Deployment|ReplicaSet|StatefulSet|DaemonSet) echo "$(lower "$1").apps" ;;
	Job) echo job.batch ;;
	Lease) echo lease.coordination.k8s.io ;;
	*) lower "$1" ;;
	esac
}

namespaced() {
	[ "$1" != Namespace ] && [ "$1" != Node ]
}

# The sequence a user runs on one kind. Objects are named after the kind
# and the kubectl version, so both versions' objects live side by side.
kind_case() {
	local kind=$1 n out json kn
	n=$(lower "$kind")-$KVER
	kn=$(kind_name "$kind")

	out=$(manifest "$kind" "$n" 1 | k create -f - 2>&1)
	check_eq "$out" "$kn/$n created" "create -f"
	out=$(manifest "$kind" "$n" 2 | k apply -f - 2>&1)
	check_match "$out" "^$kn/$n configured$" "apply with a change"
	out=$(manifest "$kind" "$n" 2 | k apply -f - 2>&1)
	check_eq "$out" "$kn/$n unchanged" "apply again"
	json=$(k get "$kind" "$n" -o json)
	check_eq "$(changed "$kind" <<< "$json")" 2 "the change"
	check_eq "$(jq -r .metadata.labels.rev <<< "$json")" 2 "label changed"
	out=$(k get "$kind" -l "skiff-test=$n" -o wide)
	if [ "$kind" = Event ]; then
		# Events are listed by what they are about; NAME comes last.
		check_match "$out" "pod/p .*event 2 .* $n$" "get -l -o wide"
	else
		check_match "$out" "^$n " "get -l -o wide"
	fi
	if namespaced "$kind"; then
		out=$(k get "$kind" -A -l "skiff-test=$n")
		check_match "$out" "^default +" "get -A"
	fi
	out=$(k describe "$kind" "$n" 2>&1)
	check_match "$out" "^Name: +$n$" "describe"
	case $kind in
	Deployment|ReplicaSet|StatefulSet)
		out=$(k scale "$kind" "$n" --replicas=3)
		check_eq "$out" "$kn/$n scaled" "scale"
		check_eq "$(k get "$kind" "$n" -o jsonpath='{.spec.replicas}')" 3 "replicas" ;;
	esac
	timeout 30 "${KUBECTL:-kubectl}" --cache-dir "$API_DIR/kube-cache" \
		get "$kind" "$n" -w --request-timeout=20s > "$API_DIR/w-$n" 2>&1 &
	local row="^$n "

	[ "$kind" != Event ] || row="event 2"
	wait_for 20 grep -q "$row" "$API_DIR/w-$n" || fail "get -w: $(cat "$API_DIR/w-$n")"
	kill $! 2>/dev/null || true
	echo "$KVER $kind $n" >> "$API_DIR/made"
}

test_restart_keeps_everything() {
	local kver kind n

	apiserver_restart
	grep -q "^$KVER " "$API_DIR/made" || fail "nothing was made before the restart"
	while read -r kver kind n; do
		[ "$kver" = "$KVER" ] || continue
		k get "$kind" "$n" > /dev/null || fail "$kind $n lost in the restart"
	done < "$API_DIR/made"
}

delete_case() {
	local kind=$1 n out
	n=$(lower "$kind")-$KVER

	if [ "$kind" = Namespace ]; then
		# Emptied and finalized by the namespace controller (not part
		# of this test): until then it is Terminating.
		out=$(k delete "$kind" "$n" --wait=false 2>&1)
		check_eq "$out" "namespace \"$n\" deleted" "delete"
		check_eq "$(k get ns "$n" -o jsonpath='{.status.phase}')" Terminating "terminating"
		return 0
	fi
	out=$(k delete "$kind" "$n" 2>&1)
	check_eq "$out" "$(kind_name "$kind") \"$n\" deleted" "delete"
	! out=$(k get "$kind" "$n" 2>&1) || fail "still there: $out"
	check_match "$out" "NotFound" "gone"
}

KINDS=(Namespace Node Pod Service Endpoints ConfigMap Secret Deployment
	ReplicaSet StatefulSet DaemonSet Job Lease Event)
cases=()
for kind in "${KINDS[@]}"; do
	eval "test_$(lower "$kind")() { kind_case $kind; }"
	cases+=("test_$(lower "$kind")")
done
cases+=(test_restart_keeps_everything)
for kind in "${KINDS[@]}"; do
	eval "test_delete_$(lower "$kind")() { delete_case $kind; }"
	cases+=("test_delete_$(lower "$kind")")
done

apiserver_start
run_kubectl_tests "${cases[@]}"
