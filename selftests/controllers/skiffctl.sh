#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# skiffctl's cluster commands against a real control plane, side by side
# with kubectl 1.32 where both do the same thing:
#
#   skiffctl / kubectl --> skiff-apiserver <-- skiff-controller-manager
#                                ^    ^        (replicaset, deployment,
#                                |    |         daemonset, endpoints)
#                                |    '------- skiff-scheduler
#                                '------------ skiff-hollow-nodes n-0, n-1
#                                              (run the pods bound to them)
#
# skiffctl reads the same kubeconfig as kubectl ($KUBECONFIG: the
# apiserver on loopback HTTP). Tables are compared byte for byte with
# kubectl's (again while an AGE ticks over), JSON and YAML as data. Every
# refusal is checked to change nothing.

source "$(dirname "$0")/../lib-controllers.sh"

D=/apis/apps/v1/namespaces/default/deployments
PODS=/api/v1/namespaces/default/pods
NODES=/api/v1/nodes
REV=deployment.kubernetes.io/revision
HOLD=hollow.skiff.dev/ready
COMPLETE='.status.observedGeneration == .metadata.generation and
	.status.updatedReplicas == .spec.replicas and .status.replicas == .spec.replicas and
	.status.availableReplicas == .spec.replicas'

setup() {
	cluster_start
	hollow_start n --nodes 2
	cm_start --controllers replicaset,deployment,daemonset,endpoints
	sched_start
}

# web.yaml: a Deployment of 2 behind a Service, a ConfigMap and a Secret.
manifests() {
	cat > "$API_DIR/web.yaml" <<-'EOF'
	apiVersion: apps/v1
	kind: Deployment
	metadata:
	  name: web
	  labels: {app: web, tier: front}
	spec:
	  replicas: 2
	  selector:
	    matchLabels: {app: web}
	  template:
	    metadata:
	      labels: {app: web}
	    spec:
	      containers:
	      - name: c
	        image: busybox:1
	        ports:
	        - containerPort: 80
	---
	apiVersion: v1
	kind: Service
	metadata:
	  name: web
	spec:
	  selector: {app: web}
	  ports:
	  - port: 80
	---
	apiVersion: v1
	kind: ConfigMap
	metadata:
	  name: conf
	data:
	  greeting: hello
	---
	apiVersion: v1
	kind: Secret
	metadata:
	  name: token
	stringData:
	  key: s3cret
	EOF
}

# ctl ARGS...: skiffctl; its output in OUT, its exit status in RC.
ctl() {
	RC=0
	OUT=$(skiffctl "$@" 2>&1) || RC=$?
}

# refused WANT_REGEX ARGS...: skiffctl exits 1 saying WANT.
refused() {
	local want=$1

	shift
	ctl "$@"
	check_eq "$RC" 1 "exit status of skiffctl $*"
	check_match "$OUT" "$want" "skiffctl $*"
}

# same ARGS...: skiffctl and kubectl print the same (stdout and stderr)
# and exit alike. An AGE may tick between the two: compared again then.
same_once() {
	local rc1=0 rc2=0

	OURS=$(skiffctl "$@" 2>&1) || rc1=$?
	THEIRS=$(k "$@" 2>&1) || rc2=$?
	[ "$OURS" = "$THEIRS" ] && [ "$rc1" = "$rc2" ]
}

same() {
	wait_for 5 same_once "$@" ||
		fail "skiffctl $* differs from kubectl:
$(diff <(echo "$OURS") <(echo "$THEIRS"))"
}

# YAML as JSON with sorted keys, to compare data.
yaml_json() {
	python3 -c 'import json, sys, yaml
print(json.dumps(yaml.safe_load(sys.stdin), sort_keys=True, default=str))'
}

wait_web() {
	wait_json 30 "$D/web" "$COMPLETE"
}

test_get_as_kubectl() {
	setup
	manifests
	k apply -f "$API_DIR/web.yaml" > /dev/null
	api_expect 201 POST /apis/apps/v1/namespaces/default/daemonsets '{"apiVersion":"apps/v1",
		"kind":"DaemonSet","metadata":{"name":"agent"},"spec":{"selector":{"matchLabels":
		{"app":"agent"}},"template":{"metadata":{"labels":{"app":"agent"}},"spec":
		{"containers":[{"name":"a","image":"busybox:1"}]}}}}'
	wait_web
	wait_json 30 /apis/apps/v1/namespaces/default/daemonsets/agent '.status.numberReady == 2'
	wait_json 30 /api/v1/namespaces/default/endpoints/web '.subsets[0].addresses | length == 2'
	local kind
	for kind in pods po nodes svc endpoints deploy rs ds sts jobs ns cm secrets leases ev; do
		same get "$kind"
	done
	same get pods -o wide
	same get deployments -o wide
	same get nodes -o wide
	same get pods -A
	same get leases -A
	same get pods -l app=web
	same get pods -l 'app in (agent)' --no-headers
	same get pods --field-selector spec.nodeName=n-1 -o wide
	same get deploy web
	same get deploy/web svc/web cm/conf
	same get deploy,svc
	same get sts,deploy
	same get sts,jobs
	same get all
	same get all -A
	same get deploy web -o name
	same get pods -o name
	same get jobs
	same get jobs -A
	same get pods -n kube-system
	same get deploy web nope
	same get deploy nope
	check_eq "$(skiffctl get deploy web -o json | jq -S .)" \
		"$(k get deploy web -o json | jq -S .)" "get -o json"
	check_eq "$(skiffctl get pods -o json | jq -S .)" "$(k get pods -o json | jq -S .)" \
		"list -o json"
	check_eq "$(skiffctl get cm conf -o yaml | yaml_json)" \
		"$(k get cm conf -o yaml | yaml_json)" "get -o yaml"
	check_eq "$(skiffctl get svc -o yaml | yaml_json)" "$(k get svc -o yaml | yaml_json)" \
		"list -o yaml"
	# Its words for kinds: any case, singular, Kind, with the group.
	check_eq "$(skiffctl get Deployment.apps -o name)" deployment.apps/web "Kind.group"
	check_eq "$(skiffctl get DEPLOY -o name)" deployment.apps/web "short name, upper case"
	# The kubeconfig's: --kubeconfig, the first file of $KUBECONFIG that exists.
	check_eq "$(KUBECONFIG=/nonexistent:$KUBECONFIG skiffctl get deploy -o name)" \
		deployment.apps/web "KUBECONFIG list"
	check_eq "$(KUBECONFIG=/nonexistent skiffctl --kubeconfig "$KUBECONFIG" get deploy \
		-o name)" deployment.apps/web "--kubeconfig"
	check_eq "$(KUBECONFIG=/nonexistent skiffctl get deploy -o name --kubeconfig \
		"$KUBECONFIG")" deployment.apps/web "--kubeconfig after the command"
}

test_get_refusals() {
	cluster_start
	refused "unknown kind 'widgets'" get widgets
	refused "-o 'table': wide, json, yaml or name" get pods -o table
	refused "unknown option '--bogus'" get pods --bogus
	refused "option '-n' needs a value" get pods -n
	refused "KIND missing" get
	refused "cannot be retrieved by name across all namespaces" get pods web -A
	refused "selectors cannot be used with names" get pods web -l app=web
	refused "'pods/': KIND/NAME" get pods/
	refused "a NAME has no '/'" get pods web/x
	refused "KIND\[,KIND...\]" get pods,,svc
	refused '^Error from server \(NotFound\): namespaces "nope" not found$' get ns nope
	refused "Error from server \(BadRequest\)" get pods -l 'app in (('
	refused "kubeconfig: /nonexistent: No such file or directory" \
		--kubeconfig /nonexistent get pods
	KUBECONFIG=/nonexistent refused "no kubeconfig" get pods
	# An apiserver that is not there: libcurl's words, as kubectl's.
	sed "s|$API|http://127.0.0.1:1|" "$KUBECONFIG" > "$API_DIR/gone.conf"
	refused "^Unable to connect to the server: .*(refused|connect)" \
		--kubeconfig "$API_DIR/gone.conf" get pods
	printf 'apiVersion: v1\nclusters: [' > "$API_DIR/bad.conf"
	refused "bad.conf" --kubeconfig "$API_DIR/bad.conf" get pods
}

test_describe() {
	setup
	manifests
	skiffctl apply -f "$API_DIR/web.yaml" > /dev/null
	wait_web
	wait_json 30 /api/v1/namespaces/default/endpoints/web '.subsets[0].addresses | length == 2'
	local pod
	pod=$(skiffctl get pods -l app=web -o name | head -n 1)
	pod=${pod#pod/}
	ctl describe pod "$pod"
	check_eq "$RC" 0 "describe pod"
	check_match "$OUT" "^Name: +$pod$" "pod name"
	check_match "$OUT" "^Node: +n-[01]/" "pod node"
	check_match "$OUT" "^Status: +Running$" "pod status"
	check_match "$OUT" "^Controlled By: +ReplicaSet/web-" "pod owner"
	check_match "$OUT" "^    Image: +busybox:1$" "container image"
	check_match "$OUT" "^    Port: +80/(TCP)?$" "container port"
	check_match "$OUT" "^  Ready +True$" "Ready condition"
	check_match "$OUT" "^QoS Class: +BestEffort$" "QoS"

	ctl describe deployment web
	check_match "$OUT" "^Replicas: +2 desired \| 2 updated \| 2 total \| 2 available \| 0 unavailable$" \
		"deployment replicas"
	check_match "$OUT" "^  Available +True +MinimumReplicasAvailable$" "deployment condition"
	check_match "$OUT" "^NewReplicaSet: +web-[a-z0-9]+ \(2/2 replicas created\)$" "new RS"
	check_match "$OUT" "^  Normal +ScalingReplicaSet +[0-9]+s +deployment-controller +Scaled up replica set web-[a-z0-9]+ (from 0 )?to 2" \
		"deployment events"
	# Laid out as kubectl lays out the same lines.
	check_eq "$(grep -E '^(Name|Namespace|Labels|Selector|Replicas|StrategyType|MinReadySeconds|RollingUpdateStrategy|  Labels|    Image|    Port):' <<< "$OUT")" \
		"$(k describe deployment web | grep -E '^(Name|Namespace|Labels|Selector|Replicas|StrategyType|MinReadySeconds|RollingUpdateStrategy|  Labels|    Image|    Port):')" \
		"deployment lines as kubectl's"

	ctl describe svc web
	check_match "$OUT" "^Selector: +app=web$" "service selector"
	check_match "$OUT" "^Endpoints: +[0-9.]+:80,[0-9.]+:80$" "service endpoints"
	check_match "$OUT" "^TargetPort: +80/TCP$" "service target port"
	check_match "$OUT" "^Events: +<none>$" "no events"

	ctl describe node n-0
	check_match "$OUT" "^Unschedulable: +false$" "node unschedulable"
	check_match "$OUT" "^  Ready +True " "node condition"
	check_match "$OUT" "^Non-terminated Pods: +\([0-9]+ in total\)$" "node pods"

	# A pod no node takes: the scheduler's Warning, in its Events.
	api_expect 201 POST "$PODS" '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"stuck"},
		"spec":{"nodeSelector":{"disk":"none"},"containers":[{"name":"c","image":"x"}]}}'
	wait_for 20 eval 'skiffctl describe pod stuck | grep -q FailedScheduling' ||
		fail "no FailedScheduling event: $(skiffctl describe pod stuck)"
	ctl describe pod stuck
	check_match "$OUT" "^  Warning +FailedScheduling +[0-9]+s.* +default-scheduler +0/2 nodes are available" \
		"scheduler event"
	check_match "$OUT" "^Node: +<none>$" "unscheduled"
	check_match "$OUT" "^Node-Selectors: +disk=none$" "node selector"
	ctl describe cm conf
	check_match "$OUT" "^Data:$" "another kind: its fields"
	check_match "$OUT" "^  greeting: hello$" "another kind: data"
	ctl describe pods -l app=web
	check_eq "$(grep -c '^Name:' <<< "$OUT")" 2 "describe of a kind: each object"

	refused '^Error from server \(NotFound\): pods "nope" not found$' describe pod nope
	refused "unknown kind 'gadget'" describe gadget x
	refused "unknown option '-o'" describe pod stuck -o json
}

test_apply() {
	setup
	manifests
	ctl apply -f "$API_DIR/web.yaml"
	check_eq "$OUT" "deployment.apps/web created
service/web created
configmap/conf created
secret/token created" "first apply"
	ctl apply -f "$API_DIR/web.yaml"
	check_eq "$OUT" "deployment.apps/web unchanged
service/web unchanged
configmap/conf unchanged
secret/token unchanged" "second apply"
	# kubectl takes skiffctl's record as its own, and the other way round.
	# (kubectl finds a Secret's stringData changed each time: the server
	# keeps it as data. skiffctl compares what the server stores.)
	check_eq "$(k apply -f "$API_DIR/web.yaml" | grep -v ^secret/)" \
		"deployment.apps/web unchanged
service/web unchanged
configmap/conf unchanged" "kubectl apply after skiffctl apply"
	check_eq "$(skiffctl apply -f "$API_DIR/web.yaml" | awk '{print $2}' | uniq -c | awk '{print $1, $2}')" \
		"4 unchanged" "skiffctl apply after kubectl apply"

	# Changed: a label removed, the image changed, data added.
	sed -i 's/labels: {app: web, tier: front}/labels: {app: web}/; s/busybox:1/busybox:2/;
		s/greeting: hello/greeting: hi\n  more: "2"/' "$API_DIR/web.yaml"
	k annotate deployment web note=kept > /dev/null
	ctl apply -f "$API_DIR/web.yaml"
	check_eq "$RC" 0 "third apply"
	check_eq "$OUT" "deployment.apps/web configured
service/web unchanged
configmap/conf configured
secret/token unchanged" "third apply"
	api_expect 200 GET "$D/web"
	check_eq "$(jq -c '.metadata.labels' <<< "$OUT")" '{"app":"web"}' "label removed"
	check_eq "$(jget .metadata.annotations.note)" kept "what others set stays"
	check_eq "$(jget '.spec.template.spec.containers[0].image')" busybox:2 "image"
	check_eq "$(jget '.spec.template.spec.containers[0].imagePullPolicy')" IfNotPresent \
		"the server's defaults stay"
	api_expect 200 GET /api/v1/namespaces/default/configmaps/conf
	check_eq "$(jq -c .data <<< "$OUT")" '{"greeting":"hi","more":"2"}' "configmap data"
	wait_web
	check_eq "$(k apply -f "$API_DIR/web.yaml" | grep -v ^secret/ | awk '{print $2}' | uniq -c |
		awk '{print $1, $2}')" "3 unchanged" "kubectl apply after the change"

	# Scaled by someone: apply puts the manifest's replicas back.
	k scale deployment web --replicas=3 > /dev/null
	ctl apply -f "$API_DIR/web.yaml"
	check_match "$OUT" "deployment.apps/web configured" "drift corrected"
	api_expect 200 GET "$D/web"
	check_eq "$(jget .spec.replicas)" 2 "replicas back"

	# Standard input, a directory, JSON, a List, -n.
	kubectl create namespace other --dry-run=client -o json > "$API_DIR/ns.json"
	check_eq "$(skiffctl apply -f - < "$API_DIR/ns.json")" "namespace/other created" "stdin"
	mkdir "$API_DIR/dir"
	printf '{"apiVersion":"v1","kind":"List","items":[%s,%s]}' \
		'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}' \
		'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}' \
		> "$API_DIR/dir/1.json"
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n' > "$API_DIR/dir/2.yaml"
	echo "not a manifest" > "$API_DIR/dir/README"
	check_eq "$(skiffctl apply -n other -f "$API_DIR/dir")" "configmap/a created
configmap/b created
configmap/c created" "directory"
	check_eq "$(k get cm -n other -o name | grep -v kube-root-ca | sort | tr '\n' ' ')" \
		"configmap/a configmap/b configmap/c " "in -n other"
}

test_apply_refusals() {
	cluster_start
	local f=$API_DIR/m.yaml before
	before=$(skiffctl get cm -A -o name)
	# A good document first: nothing is sent while any is bad.
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\n---\n' > "$f"
	cp "$f" "$f.good"
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: 1\n' >> "$f"
	refused "error parsing .*m.yaml: line 10, column 2: did not find expected key" apply -f "$f"
	cp "$f.good" "$f"
	printf 'apiVersion: v1\nkind: Gizmo\nmetadata:\n  name: x\n' >> "$f"
	refused 'document 2: no matches for kind "Gizmo" in version "v1"' apply -f "$f"
	cp "$f.good" "$f"
	printf 'apiVersion: apps/v2\nkind: Deployment\nmetadata:\n  name: x\n' >> "$f"
	refused 'no matches for kind "Deployment" in version "apps/v2"' apply -f "$f"
	cp "$f.good" "$f"
	printf 'kind: ConfigMap\nmetadata:\n  name: x\n' >> "$f"
	refused "document 2: apiVersion not set" apply -f "$f"
	cp "$f.good" "$f"
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {a: b}\n' >> "$f"
	refused "document 2: ConfigMap: metadata.name is required" apply -f "$f"
	cp "$f.good" "$f"
	printf -- '- just\n- a list\n' >> "$f"
	refused "document 2: not an object" apply -f "$f"
	cp "$f.good" "$f"
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: kube-system\n' \
		>> "$f"
	refused "the namespace from the provided object \"kube-system\" does not match the namespace \"default\"" \
		apply -n default -f "$f"
	refused "m.yaml.missing: No such file or directory" apply -f "$f.missing" -f "$f.good"
	refused "-f FILE is required" apply
	refused "unexpected argument 'extra'" apply -f "$f.good" extra
	refused "unknown option '--prune'" apply --prune -f "$f.good"
	refused "unknown option '--timeout'" apply --timeout 1s -f "$f.good"
	refused "no objects passed to apply" apply -f /dev/null
	: | refused "no objects passed to apply" apply -f -
	mkdir "$API_DIR/empty"
	refused "empty: no \*.yaml" apply -f "$API_DIR/empty"
	check_eq "$(skiffctl get cm -A -o name)" "$before" "nothing applied"
	# What the server refuses, in kubectl's words.
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n' > "$f"
	refused '^The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"' \
		apply -f "$f"
	check_eq "$OUT" "$(k apply -f "$f" 2>&1)" "as kubectl says it"
	check_eq "$(skiffctl get cm -A -o name)" "$before" "nothing applied"
	# A server's refusal stops only its object; it is said last.
	cat "$f" "$f.good" > "$f.mixed"
	sed -i '4a ---' "$f.mixed"
	ctl apply -f "$f.mixed"
	check_eq "$RC" 1 "one refused of two"
	check_match "$(head -n 1 <<< "$OUT")" '^configmap/good created$' "the other applied"
	check_match "$(tail -n 1 <<< "$OUT")" '^The ConfigMap "Bad_Name" is invalid' "refusal last"
}

test_delete() {
	setup
	manifests
	skiffctl apply -f "$API_DIR/web.yaml" > /dev/null
	wait_web
	local pod
	pod=$(skiffctl get pods -l app=web -o name | head -n 1)
	# Waits until it is gone: the hollow kubelet finishes the deletion.
	ctl delete "$pod"
	check_eq "$OUT" "pod \"${pod#pod/}\" deleted" "delete pod"
	api_expect 404 GET "$PODS/${pod#pod/}"
	ctl delete cm conf nope
	check_eq "$RC" 1 "one of two missing"
	check_eq "$OUT" "configmap \"conf\" deleted
Error from server (NotFound): configmaps \"nope\" not found" "delete, NotFound as kubectl"
	api_expect 404 GET /api/v1/namespaces/default/configmaps/conf
	ctl delete cm nope --ignore-not-found
	check_eq "$RC/$OUT" "0/" "--ignore-not-found"
	ctl delete -f "$API_DIR/web.yaml"
	check_eq "$RC" 1 "delete -f with one gone"
	check_eq "$OUT" "deployment.apps \"web\" deleted
service \"web\" deleted
secret \"token\" deleted
Error from server (NotFound): error when deleting \"$API_DIR/web.yaml\": configmaps \"conf\" not found" \
		"delete -f, errors last as kubectl"
	check_eq "$(k delete -f "$API_DIR/web.yaml" 2>&1 | sed 's/^/k: /')" \
		"$(sed 's/^/k: /' <<< "Error from server (NotFound): error when deleting \"$API_DIR/web.yaml\": deployments.apps \"web\" not found
Error from server (NotFound): error when deleting \"$API_DIR/web.yaml\": services \"web\" not found
Error from server (NotFound): error when deleting \"$API_DIR/web.yaml\": configmaps \"conf\" not found
Error from server (NotFound): error when deleting \"$API_DIR/web.yaml\": secrets \"token\" not found")" \
		"kubectl sees them gone, same words"
	api_expect 404 GET "$D/web"
	refused "resource\(s\) were provided, but no name was specified" delete pods
	refused "KIND NAME or -f FILE, not both" delete cm x -f "$API_DIR/web.yaml"
	refused "KIND NAME... or -f FILE" delete
	refused "unknown kind 'frob'" delete frob/x
	refused "grace-period 'soon'" delete pod x --grace-period soon
	refused "--timeout 'later'" delete pod x --timeout later
}

# Deployment NAME's pods of the template being rolled out are held not
# Ready until released.
release() {
	local pod

	api GET "$PODS?labelSelector=app%3Dweb"
	for pod in $(jq -r '.items[] | select(.metadata.deletionTimestamp == null and
			.metadata.annotations["'$HOLD'"] == "false") | .metadata.name' <<< "$OUT"); do
		mark_pod default "$pod" ready true || true
	done
}

test_rollout_status() {
	setup
	manifests
	skiffctl apply -f "$API_DIR/web.yaml" > /dev/null
	ctl rollout status deployment/web --timeout 30s
	check_eq "$RC" 0 "first rollout"
	check_match "$OUT" 'deployment "web" successfully rolled out$' "done"
	# A new template whose pods start not Ready: the rollout is held.
	api_expect 200 PATCH "$D/web" '{"spec":{"replicas":3,"template":{"metadata":{"annotations":
		{"'$HOLD'":"false"}},"spec":{"containers":[{"name":"c","image":"busybox:2"}]}}}}' \
		application/merge-patch+json
	ctl rollout status deploy/web --timeout 2s
	check_eq "$RC" 1 "held rollout, timeout"
	check_match "$OUT" "Waiting for deployment \"web\" rollout to finish: " "kubectl's messages"
	check_match "$OUT" "error: timed out waiting for the condition$" "timeout"
	# Released one by one while skiffctl waits: it sees them through.
	(skiffctl rollout status deployment web --timeout 30s > "$API_DIR/rollout.out" 2>&1
	 echo $? > "$API_DIR/rollout.rc") &
	local i
	for i in 1 2 3 4 5 6; do
		release
		[ -s "$API_DIR/rollout.rc" ] && break
		sleep 0.5
	done
	wait_for 30 eval '[ -s "$API_DIR/rollout.rc" ]' || fail "rollout status did not return"
	check_eq "$(cat "$API_DIR/rollout.rc")" 0 "released rollout"
	OUT=$(cat "$API_DIR/rollout.out")
	check_match "$OUT" "^Waiting for deployment \"web\" rollout to finish: [0-9] (out of 3 new replicas have been updated|of 3 updated replicas are available|old replicas are pending termination)\.\.\.$" \
		"progress lines"
	check_eq "$(tail -n 1 <<< "$OUT")" 'deployment "web" successfully rolled out' "last line"
	check_eq "$(grep -c . <<< "$OUT")" "$(grep . <<< "$OUT" | uniq | grep -c .)" \
		"each message once"
	check_eq "$(k rollout status deployment/web --timeout 5s)" \
		"$(skiffctl rollout status deployment/web --timeout 5s)" "done, as kubectl says"
	# On a terminal: one live line, redrawn.
	OUT=$(script -qec "$SKIFF_BIN/skiffctl rollout status deployment/web" /dev/null)
	check_match "$OUT" $'\r\e\\[K\\[#{20}\\] 3/3 updated, 3/3 available' "progress bar"
	check_match "$OUT" 'deployment "web" successfully rolled out' "bar, then done"
	api_expect 200 PATCH "$D/web" '{"spec":{"template":{"spec":{"containers":[{"name":"c",
		"image":"busybox:3"}]}}}}' application/merge-patch+json
	OUT=$(script -qec "$SKIFF_BIN/skiffctl rollout status deployment/web --timeout 2s" \
		/dev/null) || true
	check_match "$OUT" $'\\[#*-+\\] [0-2]/3 updated, [0-9]/3 available' "bar in progress"
	release

	# Past its progress deadline: exit 1, as kubectl.
	api_expect 201 POST "$D" '{"apiVersion":"apps/v1","kind":"Deployment","metadata":
		{"name":"slow"},"spec":{"progressDeadlineSeconds":1,"selector":{"matchLabels":
		{"app":"slow"}},"template":{"metadata":{"labels":{"app":"slow"},"annotations":
		{"'$HOLD'":"false"}},"spec":{"containers":[{"name":"c","image":"busybox:1"}]}}}}'
	ctl rollout status deployment/slow --timeout 30s
	check_eq "$RC" 1 "progress deadline"
	check_match "$OUT" 'error: deployment "slow" exceeded its progress deadline$' "deadline"

	# A DaemonSet whose pods never become Ready: held where kubectl
	# holds it, and said as kubectl says it.
	api_expect 201 POST /apis/apps/v1/namespaces/default/daemonsets '{"apiVersion":"apps/v1",
		"kind":"DaemonSet","metadata":{"name":"agent"},"spec":{"selector":{"matchLabels":
		{"app":"agent"}},"template":{"metadata":{"labels":{"app":"agent"},"annotations":
		{"'$HOLD'":"false"}},"spec":{"containers":[{"name":"a","image":"busybox:1"}]}}}}'
	wait_json 30 /apis/apps/v1/namespaces/default/daemonsets/agent \
		'.status.updatedNumberScheduled == 2 and .status.observedGeneration == 1'
	ctl rollout status ds/agent --timeout 2s
	check_eq "$RC" 1 "held daemon set, timeout"
	check_match "$OUT" '^Waiting for daemon set "agent" rollout to finish: 0 of 2 updated pods are available\.\.\.$' \
		"daemon set held"
	rollout_as_kubectl daemonset/agent "held"
	refused "job: no rollout to follow" rollout status job/agent
	refused "pods: no rollout to follow" rollout status pods agent
	refused "TYPE/NAME missing" rollout status
	refused "NAME missing" rollout status deployment
	refused "unexpected argument 'x'" rollout status deployment/web x
	refused "unknown command 'undo'" rollout undo deployment/web
	refused "--timeout 'forever'" rollout status deployment/web --timeout forever
	refused '^Error from server \(NotFound\): deployments.apps "nope" not found$' \
		rollout status deployment/nope
}

# pods_on NODE: the live pods on NODE, "ns/name" sorted.
pods_on() {
	api GET "/api/v1/pods?fieldSelector=spec.nodeName%3D$1"
	jq -r '[.items[] | select(.metadata.deletionTimestamp == null) |
		.metadata.name] | sort | join(" ")' <<< "$OUT"
}

test_node_cordon_drain() {
	setup
	api_expect 201 POST /apis/apps/v1/namespaces/default/daemonsets '{"apiVersion":"apps/v1",
		"kind":"DaemonSet","metadata":{"name":"agent"},"spec":{"selector":{"matchLabels":
		{"app":"agent"}},"template":{"metadata":{"labels":{"app":"agent"}},"spec":
		{"containers":[{"name":"a","image":"busybox:1"}]}}}}'
	api_expect 201 POST "$D" '{"apiVersion":"apps/v1","kind":"Deployment","metadata":
		{"name":"web"},"spec":{"replicas":4,"selector":{"matchLabels":{"app":"web"}},
		"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c",
		"image":"busybox:1"}]}}}}'
	api_expect 201 POST "$PODS" '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bare"},
		"spec":{"nodeName":"n-0","containers":[{"name":"c","image":"busybox:1"}]}}'
	wait_web
	wait_json 30 /apis/apps/v1/namespaces/default/daemonsets/agent '.status.numberReady == 2'

	ctl node cordon n-1
	check_eq "$RC/$OUT" "0/node/n-1 cordoned" "cordon"
	check_eq "$(skiffctl node cordon n-1)" "node/n-1 already cordoned" "cordon again"
	api_expect 200 GET "$NODES/n-1"
	check_eq "$(jget .spec.unschedulable)" true "unschedulable"
	same get nodes
	check_match "$(k get node n-1 --no-headers)" "Ready,SchedulingDisabled" "kubectl sees it"
	check_eq "$(skiffctl node uncordon n-1)" "node/n-1 uncordoned" "uncordon"
	check_eq "$(skiffctl node uncordon n-1)" "node/n-1 already uncordoned" "uncordon again"
	api_expect 200 GET "$NODES/n-1"
	check_eq "$(jget '.spec.unschedulable // "unset"')" unset "schedulable"

	# A pod no controller would bring back: refused, nothing changed.
	local before
	before=$(pods_on n-0)
	refused "cannot delete Pods that declare no controller \(use --force to override\): default/bare" \
		node drain n-0
	api_expect 200 GET "$NODES/n-0"
	check_eq "$(jget '.spec.unschedulable // "unset"')" unset "refused drain: not cordoned"
	check_eq "$(pods_on n-0)" "$before" "refused drain: pods stay"

	ctl node drain n-0 --force --grace-period 0 --timeout 30s
	check_eq "$RC" 0 "drain: $OUT"
	check_match "$OUT" "^node/n-0 cordoned$" "drain cordons"
	check_match "$OUT" "^Warning: ignoring DaemonSet-managed Pods: default/agent-" "DS pods stay"
	check_match "$OUT" "^deleting pod default/bare$" "bare pod"
	check_match "$OUT" "^pod/bare deleted$" "bare pod gone"
	check_eq "$(tail -n 1 <<< "$OUT")" "node/n-0 drained" "drained"
	check_match "$(pods_on n-0)" "^agent-[a-z0-9]+$" "only the DaemonSet's pod left"
	wait_web
	check_eq "$(pods_on n-1 | tr ' ' '\n' | grep -c '^web-')" 4 "web moved to n-1"

	# A pod that does not go (a finalizer holds it): --timeout, exit 1.
	skiffctl node uncordon n-0 > /dev/null
	api_expect 201 POST "$PODS" '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"held",
		"finalizers":["skiff.test/hold"]},"spec":{"nodeName":"n-0","containers":[{"name":"c",
		"image":"busybox:1"}]}}'
	wait_json 20 "$PODS/held" '.status.phase == "Running"'
	refused 'unable to drain node "n-0": timed out after 2s waiting for 1 pod\(s\) to go: default/held' \
		node drain n-0 --force --timeout 2s
	api_expect 200 PATCH "$PODS/held" '{"metadata":{"finalizers":null}}' \
		application/merge-patch+json

	refused '^Error from server \(NotFound\): nodes "n-9" not found$' node drain n-9
	refused '^Error from server \(NotFound\): nodes "n-9" not found$' node cordon n-9
	refused "unknown option '--force'" node cordon n-0 --force
	refused "NAME missing" node drain
	refused "unexpected argument 'n-1'" node cordon n-0 n-1
	refused "unknown command 'taint'" node taint n-0
	refused "grace-period '-1'" node drain n-0 --grace-period -1
}

test_image() {
	local dir=$API_DIR/images
	ctl image --image-dir "$dir" build-from-host tools:1 /bin/busybox
	check_eq "$RC/$OUT" "0/Built image: tools:1" "build-from-host"
	check_eq "$(skiffctl image --image-dir "$dir" list)" "tools:1" "list"
	check_eq "$(skiff-node image --image-dir "$dir" list)" "tools:1" "the node's own store"
	tar -C "$dir/tools/1/rootfs" -cf "$API_DIR/root.tar" .
	ctl image --image-dir "$dir" import other "$API_DIR/root.tar"
	check_eq "$RC/$OUT" "0/Loaded image: other" "import"
	check_eq "$(skiffctl image list --image-dir "$dir" | sort | tr '\n' ' ')" \
		"other:latest tools:1 " "list after import"
	check_eq "$(skiffctl image --image-dir "$dir" rm other)" "Deleted: other" "rm"
	refused "image nope not found" image --image-dir "$dir" rm nope
	refused "missing operands" image --image-dir "$dir" import only-ref
	refused "unknown command \"push\"" image --image-dir "$dir" push x
	refused "import, build-from-host, list or rm" image
	check_eq "$(skiffctl image --image-dir "$dir" list)" "tools:1" "refusals changed nothing"
}

# Over HTTPS with client certificates (the kubeconfig of `make run`).
test_tls() {
	API_TLS=1
	cluster_start
	check_match "$(jq -r '.clusters[0].cluster.server' < <(yaml_json < "$KUBECONFIG"))" \
		'^https://' "an https kubeconfig"
	same get ns
	same get ns default -o wide
	check_eq "$(skiffctl get ns default -o name)" namespace/default "-o name"
	# A user the policy grants nothing: 403, in kubectl's words.
	skiffctl certs issue --dir "$API_PKI" user jane > /dev/null
	api_kubeconfig user-jane "$API_DIR/jane.conf"
	refused '^Error from server \(Forbidden\): namespaces is forbidden: User "jane" cannot list' \
		--kubeconfig "$API_DIR/jane.conf" get ns
	same --kubeconfig "$API_DIR/jane.conf" get ns
	# A server whose certificate the CA did not sign: refused, said.
	skiffctl certs init --dir "$API_DIR/other" > /dev/null
	sed "s|certificate-authority: .*|certificate-authority: \"$API_DIR/other/ca.crt\"|" \
		"$KUBECONFIG" > "$API_DIR/wrong-ca.conf"
	refused "^Unable to connect to the server: .*(certificate|issuer|verif)" \
		--kubeconfig "$API_DIR/wrong-ca.conf" get ns
}

run_tests test_get_as_kubectl test_get_refusals test_describe test_apply test_apply_refusals \
	test_delete test_rollout_status test_node_cordon_drain test_image test_tls
