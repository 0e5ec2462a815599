#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# skiff-apiserver's API as a client sees it, over raw HTTP (curl): the
# Kubernetes paths and shapes, every verb, selectors, paging, watch,
# optimistic concurrency, deletion with finalizers, and a Status with the
# right code for every bad request, after which nothing has changed.
#
#   curl ──HTTP──▶ skiff-apiserver (127.0.0.1:free port) ──▶ $API_DIR/store
#                                                          or etcd (api-etcd.sh)

source "$(dirname "$0")/../lib-apiserver.sh"

NS=/api/v1/namespaces/default
CM=$NS/configmaps
DEPLOY=/apis/apps/v1/namespaces/default/deployments

cm() { # cm NAME [LABELS_JSON [DATA_JSON]]
	printf '{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"%s","labels":%s},"data":%s}' \
		"$1" "${2:-{\}}" "${3:-{\"k\":\"v\"\}}"
}

deployment() { # deployment NAME IMAGE
	cat <<-EOF2
	{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"$1"},
	 "spec":{"replicas":2,"selector":{"matchLabels":{"app":"$1"}},
	  "template":{"metadata":{"labels":{"app":"$1"}},
	   "spec":{"containers":[{"name":"web","image":"$2"}]}}}}
	EOF2
}

# The number of configmaps in default: what a rejected request must not change.
cm_count() {
	api GET "$CM"
	jget '.items | length'
}

test_discovery() {
	api_expect 200 GET /api
	check_eq "$(jget '.versions[0]')" v1 "/api versions"
	api_expect 200 GET /api/v1
	check_eq "$(jget '.resources[] | select(.name=="pods") | .shortNames[0]')" po "pods short name"
	check_eq "$(jget '.resources[] | select(.name=="pods") | .categories[0]')" all "pods category"
	check_eq "$(jget '[.resources[] | select(.name=="pods/binding")] | length')" 1 "pods/binding listed"
	api_expect 200 GET /apis
	check_eq "$(jget '[.groups[].name] | sort | join(",")')" "apps,batch,coordination.k8s.io" "groups"
	api_expect 200 GET /apis/apps/v1
	check_eq "$(jget '.resources[] | select(.name=="deployments/scale") | .kind')" Scale "scale kind"
	check_eq "$(jget '.resources[] | select(.name=="deployments/scale") | .group')" autoscaling "scale group"
	check_eq "$(jget '.resources[] | select(.name=="deployments") | .shortNames[0]')" deploy "deploy short name"
	api_expect 200 GET /version
	check_eq "$(jget .major)" 1 "version major"
	api_expect 200 GET /healthz
	check_eq "$OUT" ok "healthz"
	api_expect 404 GET /apis/nope/v1
	check_eq "$(jget .kind)/$(jget .reason)" Status/NotFound "unknown group"
	api_expect 404 GET /api/v1/widgets
	api_expect 404 GET /api/v1/namespaces/default/pods/a/b/c
	api_expect 404 GET /api/v1/namespaces/default/nodes
}

test_first_namespaces() {
	api_expect 200 GET /api/v1/namespaces
	check_eq "$(jget '[.items[].metadata.name] | sort | join(",")')" \
		"default,kube-node-lease,kube-public,kube-system" "namespaces"
	check_eq "$(jget '.items[0].status.phase')" Active "phase"
	check_match "$(jget .metadata.resourceVersion)" '^[0-9]+$' "list resourceVersion"
}

test_create_get() {
	api_expect 201 POST "$CM" "$(cm one '{"app":"a"}')"
	check_match "$(jget .metadata.uid)" '^[0-9a-f-]{36}$' "uid"
	check_match "$(jget .metadata.creationTimestamp)" '^[0-9-]+T[0-9:]+Z$' "creationTimestamp"
	check_eq "$(jget .metadata.namespace)" default "namespace defaulted"
	local rv uid

	rv=$(jget .metadata.resourceVersion)
	uid=$(jget .metadata.uid)
	api_expect 200 GET "$CM/one"
	check_eq "$(jget .metadata.resourceVersion)" "$rv" "resourceVersion read back"
	check_eq "$(jget .metadata.uid)" "$uid" "uid read back"
	check_eq "$(jget .data.k)" v "data read back"
	api_expect 404 GET "$CM/nothing"
	check_eq "$(jget .reason)" NotFound "reason"
	check_eq "$(jget .message)" 'configmaps "nothing" not found' "message"
	check_eq "$(jget .details.name)" nothing "details name"
}

# Secrets: data is base64; stringData is folded into it and not stored.
test_secret_data_and_string_data() {
	local S=/api/v1/namespaces/default/secrets

	api_expect 201 POST "$S" '{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s1"},"data":{"a":"YQ=="},"stringData":{"b":"hello","a":"x"}}'
	check_eq "$(jget .type)" Opaque "default type"
	check_eq "$(jget '.data.b')" aGVsbG8= "stringData encoded"
	check_eq "$(jget '.data.a')" eA== "stringData wins over data"
	check_eq "$(jget 'has("stringData")')" false "stringData not kept"
	api_expect 200 GET "$S/s1"
	check_eq "$(jget 'has("stringData")')" false "stringData not stored"
	api_expect 200 PATCH "$S/s1" '{"stringData":{"c":"more"}}' application/merge-patch+json
	check_eq "$(jget '.data.c')" bW9yZQ== "stringData folded on update"
	check_eq "$(jget '.data.b')" aGVsbG8= "other keys kept"
	api_expect 422 POST "$S" '{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s2"},"data":{"a":"not base64!"}}'
	check_match "$(jget .message)" 'not base64' "bad base64 refused"
	api_expect 422 POST "$S" '{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s2"},"stringData":{"a":1}}'
	api_expect 404 GET "$S/s2"
	api_expect 422 PATCH "$S/s1" '{"data":{"a":"%%%"}}' application/merge-patch+json
	api_expect 200 GET "$S/s1"
	check_eq "$(jget '.data.a')" eA== "a refused update changed nothing"
	# A ConfigMap's data stays strings on update too.
	api_expect 201 POST "$CM" "$(cm strings)"
	api_expect 422 PATCH "$CM/strings" '{"data":{"a":1}}' application/merge-patch+json
}

test_create_conflicts_and_rejections() {
	local before big

	api_expect 201 POST "$CM" "$(cm dup)"
	before=$(cm_count)
	api_expect 409 POST "$CM" "$(cm dup)"
	check_eq "$(jget .reason)" AlreadyExists "duplicate"
	api_expect 404 POST /api/v1/namespaces/nowhere/configmaps "$(cm x)"
	check_eq "$(jget .message)" 'namespaces "nowhere" not found' "missing namespace"
	api_expect 400 POST "$CM" '{"kind":"ConfigMap",'
	check_eq "$(jget .reason)" BadRequest "truncated JSON"
	api_expect 400 POST "$CM" '[1,2]'
	api_expect 400 POST "$CM" '{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s"}}'
	check_match "$(jget .message)" "takes v1 ConfigMap" "wrong kind"
	api_expect 400 POST "$CM" '{"metadata":{"name":"nokind"}}'
	api_expect 400 POST "$CM" '{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x","namespace":"kube-system"}}'
	check_match "$(jget .message)" "does not match the namespace" "namespace mismatch"
	api_expect 422 POST "$CM" "$(cm Bad_Name)"
	check_eq "$(jget .reason)" Invalid "bad name"
	check_match "$(jget .message)" "RFC 1123" "bad name message"
	api_expect 422 POST "$CM" '{"kind":"ConfigMap","apiVersion":"v1","metadata":{}}'
	check_match "$(jget .message)" "name or generateName is required" "no name"
	api_expect 422 POST "$CM" "$(cm x '{"a":1}')"
	api_expect 422 POST "$CM" "$(cm x '{"-bad":"v"}')"
	api_expect 422 POST "$CM" "$(cm x '{}' '{"k":1}')"
	api_expect 400 POST "$CM" '{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x","resourceVersion":"5"}}'
	api_expect 415 POST "$CM" 'kind: ConfigMap' application/yaml
	check_eq "$(jget .reason)" UnsupportedMediaType "yaml"
	big=$API_DIR/big.json
	head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' a | sed 's/^/{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"big"},"data":{"k":"/; s/$/"}}/' > "$big"
	api_expect 413 POST "$CM" "@$big"
	check_eq "$(jget .reason)" RequestEntityTooLarge "too large"
	api_expect 405 POST "$CM/dup"
	check_eq "$(cm_count)" "$before" "nothing created by bad requests"
}

test_generate_name() {
	api_expect 201 POST "$CM" '{"kind":"ConfigMap","apiVersion":"v1","metadata":{"generateName":"gen-"}}'
	check_match "$(jget .metadata.name)" '^gen-[a-z0-9]{5}$' "generated name"
}

test_update_optimistic_concurrency() {
	local rv obj

	api_expect 201 POST "$CM" "$(cm occ)"
	rv=$(jget .metadata.resourceVersion)
	obj=$(jq -c '.data.k = "v2"' <<< "$OUT")
	api_expect 200 PUT "$CM/occ" "$obj"
	check_eq "$(jget .data.k)" v2 "updated"
	[ "$(jget .metadata.resourceVersion)" -gt "$rv" ] || fail "resourceVersion did not grow"
	# The same object again names the old resourceVersion: a conflict.
	api_expect 409 PUT "$CM/occ" "$(jq -c '.data.k = "v3"' <<< "$obj")"
	check_eq "$(jget .reason)" Conflict "stale update"
	check_match "$(jget .message)" "the object has been modified" "conflict message"
	api_expect 200 GET "$CM/occ"
	check_eq "$(jget .data.k)" v2 "stale update changed nothing"
	# Without resourceVersion an update is unconditional.
	api_expect 200 PUT "$CM/occ" "$(jq -c '.data.k = "v4" | del(.metadata.resourceVersion)' <<< "$OUT")"
	rv=$(jget .metadata.resourceVersion)
	# Writing the same object again changes nothing, not even the version.
	obj=$OUT
	api_expect 200 PUT "$CM/occ" "$obj"
	check_eq "$(jget .metadata.resourceVersion)" "$rv" "no-op update"
	api_expect 400 PUT "$CM/occ" "$(jq -c '.metadata.name = "other"' <<< "$obj")"
	api_expect 409 PUT "$CM/occ" "$(jq -c '.metadata.uid = "00000000-0000-4000-8000-000000000000"' <<< "$obj")"
	api_expect 404 PUT "$CM/absent" "$(cm absent)"
	api_expect 400 PUT "$CM/occ" "$(jq -c '.metadata.resourceVersion = "abc"' <<< "$obj")"
}

test_generation_and_status() {
	local obj

	api_expect 201 POST "$DEPLOY" "$(deployment gen nginx:1)"
	check_eq "$(jget .metadata.generation)" 1 "generation at create"
	check_eq "$(jget .spec.strategy.type)" RollingUpdate "strategy defaulted"
	check_eq "$(jget .spec.template.spec.restartPolicy)" Always "restartPolicy defaulted"
	# Labels are metadata: generation stays.
	obj=$(jq -c '.metadata.labels = {"x":"y"}' <<< "$OUT")
	api_expect 200 PUT "$DEPLOY/gen" "$obj"
	check_eq "$(jget .metadata.generation)" 1 "generation after a label change"
	# Status cannot change through the main resource...
	obj=$(jq -c '.spec.replicas = 3 | .status = {"replicas": 9}' <<< "$OUT")
	api_expect 200 PUT "$DEPLOY/gen" "$obj"
	check_eq "$(jget .metadata.generation)" 2 "generation after a spec change"
	check_eq "$(jget .status.replicas)" null "status ignored on the main resource"
	# ...only through status, which changes nothing else.
	obj=$(jq -c '.status = {"replicas": 3, "observedGeneration": 2} | .spec.replicas = 7' <<< "$OUT")
	api_expect 200 PUT "$DEPLOY/gen/status" "$obj"
	check_eq "$(jget .status.replicas)" 3 "status written"
	check_eq "$(jget .spec.replicas)" 3 "spec ignored on status"
	api_expect 200 PATCH "$DEPLOY/gen/status" '{"status":{"readyReplicas":2}}' application/merge-patch+json
	check_eq "$(jget .status.readyReplicas)" 2 "status patched"
	obj=$OUT
	api_expect 422 POST "$DEPLOY" "$(deployment nosel nginx | jq -c '.spec.selector = {}')"
	api_expect 422 POST "$DEPLOY" "$(deployment mismatch nginx | jq -c '.spec.template.metadata.labels.app = "other"')"
	check_match "$(jget .message)" "does not match template" "selector mismatch"
	api_expect 422 POST "$DEPLOY" "$(deployment noimage nginx | jq -c 'del(.spec.template.spec.containers[0].image)')"
	check_match "$(jget .message)" "image: Required value" "no image"
	api_expect 422 PUT "$DEPLOY/gen" "$(jq -c '.spec.selector.matchLabels.app = "x" | .spec.template.metadata.labels.app = "x"' <<< "$obj")"
	check_match "$(jget .message)" "immutable" "selector immutable"
}

test_patch_formats() {
	api_expect 201 POST "$CM" "$(cm patched '{"a":"1"}' '{"k":"v","drop":"x"}')"
	api_expect 200 PATCH "$CM/patched" '{"data":{"k":"merged","drop":null}}' application/merge-patch+json
	check_eq "$(jget '.data | keys | join(",")')" k "merge patch deletes with null"
	check_eq "$(jget .data.k)" merged "merge patch sets"
	api_expect 200 PATCH "$CM/patched" '[{"op":"add","path":"/data/j","value":"p"},{"op":"test","path":"/data/k","value":"merged"}]' application/json-patch+json
	check_eq "$(jget .data.j)" p "json patch"
	api_expect 422 PATCH "$CM/patched" '[{"op":"test","path":"/data/k","value":"nope"}]' application/json-patch+json
	api_expect 200 GET "$CM/patched"
	check_eq "$(jget .data.j)" p "failed json patch changed nothing"
	api_expect 201 POST "$DEPLOY" "$(deployment smp nginx:1 | jq -c '.spec.template.spec.containers += [{"name":"side","image":"busybox"}]')"
	api_expect 200 PATCH "$DEPLOY/smp" '{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"}],"containers":[{"name":"web","image":"nginx:2"},{"name":"side","$patch":"delete"}]}}}}' application/strategic-merge-patch+json
	check_eq "$(jget '[.spec.template.spec.containers[] | .name + "=" + .image] | join(",")')" "web=nginx:2" "strategic merge patch"
	check_eq "$(jget .metadata.generation)" 2 "patch bumps generation"
	api_expect 415 PATCH "$CM/patched" '{}' application/json
	api_expect 400 PATCH "$CM/patched" '[]' application/merge-patch+json
	api_expect 400 PATCH "$CM/patched" '{' application/merge-patch+json
	api_expect 400 PATCH "$CM/patched" '{"kind":"Secret"}' application/merge-patch+json
	api_expect 409 PATCH "$CM/patched" '{"metadata":{"resourceVersion":"1"}}' application/merge-patch+json
	api_expect 404 PATCH "$CM/nothing" '{}' application/merge-patch+json
	# Patches without a resourceVersion do not conflict with each other,
	# however many race (each round of compare-and-swap has one winner).
	api_expect 201 POST "$CM" "$(cm racing)"
	local i codes
	codes=$(for i in $(seq 1 40); do
		curl -s -o /dev/null -w '%{http_code}\n' -X PATCH \
			-H 'Content-Type: application/merge-patch+json' \
			--data-binary "{\"data\":{\"k$i\":\"v\"}}" "$API$CM/racing" &
	done; wait)
	check_eq "$(sort -u <<< "$codes" | tr '\n' ' ')" "200 " "concurrent patches"
	api_expect 200 GET "$CM/racing"
	check_eq "$(jget '.data | length')" 41 "every patch applied"
}

test_list_selectors_and_pages() {
	local i rv names token

	for i in 1 2 3 4 5; do
		api_expect 201 POST /api/v1/namespaces/kube-public/configmaps \
			"$(cm "sel-$i" "{\"tier\":\"t$((i % 2))\",\"n\":\"$i\"}")"
	done
	local L=/api/v1/namespaces/kube-public/configmaps
	api_expect 200 GET "$L?labelSelector=tier%3Dt1"
	check_eq "$(jget '[.items[].metadata.name] | join(",")')" "sel-1,sel-3,sel-5" "tier=t1"
	api_expect 200 GET "$L?labelSelector=tier!%3Dt1,n"
	check_eq "$(jget '[.items[].metadata.name] | join(",")')" "sel-2,sel-4" "tier!=t1,n"
	api_expect 200 GET "$L?labelSelector=n+in+(1,4)"
	check_eq "$(jget '[.items[].metadata.name] | join(",")')" "sel-1,sel-4" "in"
	api_expect 200 GET "$L?labelSelector=n+notin+(1,4),!missing"
	check_eq "$(jget '[.items[].metadata.name] | join(",")')" "sel-2,sel-3,sel-5" "notin"
	api_expect 200 GET "$L?fieldSelector=metadata.name%3Dsel-2"
	check_eq "$(jget '[.items[].metadata.name] | join(",")')" "sel-2" "field selector"
	api_expect 400 GET "$L?fieldSelector=spec.nothing%3Dx"
	check_match "$(jget .message)" "spec.nothing" "unsupported field"
	api_expect 400 GET "$L?labelSelector=n+in+(1"
	api_expect 400 GET "$L?labelSelector=-n%3D1"
	api_expect 400 GET "$L?limit=abc"
	api_expect 400 GET "$L?limit=2&continue=zz"
	# Pages of two, consistent with the first page's resourceVersion.
	api_expect 200 GET "$L?limit=2"
	names=$(jget '[.items[].metadata.name] | join(",")')
	rv=$(jget .metadata.resourceVersion)
	token=$(jget .metadata.continue)
	api_expect 201 POST /api/v1/namespaces/kube-public/configmaps "$(cm sel-0)"
	api_expect 200 GET "$L?limit=2&continue=$token"
	names="$names,$(jget '[.items[].metadata.name] | join(",")')"
	check_eq "$(jget .metadata.resourceVersion)" "$rv" "second page at the first's version"
	token=$(jget .metadata.continue)
	api_expect 200 GET "$L?limit=2&continue=$token"
	names="$names,$(jget '[.items[].metadata.name] | join(",")')"
	check_eq "$(jget '.metadata.continue // "none"')" none "last page"
	check_eq "$names" "sel-1,sel-2,sel-3,sel-4,sel-5" "pages"
	# A selector with a limit still fills its page.
	api_expect 200 GET "$L?labelSelector=tier%3Dt1&limit=2"
	check_eq "$(jget '.items | length')" 2 "filtered page is full"
	# Across namespaces.
	api_expect 200 GET "/api/v1/configmaps?labelSelector=tier%3Dt0"
	check_eq "$(jget '.items | length')" 2 "all namespaces"
}

# watch_start FILE QUERY: a watch on default's configmaps into FILE.
watch_start() {
	curl -sN "$API$CM?watch=1&$2" > "$1" &
	WATCH_PID=$!
}

events() {
	jq -r 'select(.type) | .type + " " + (.object.metadata.name // "") ' < "$1" 2>/dev/null | tr '\n' ' '
}

test_watch() {
	local rv w=$API_DIR/watch1 w2=$API_DIR/watch2 w3=$API_DIR/watch3

	api_expect 201 POST "$CM" "$(cm w-a '{"w":"1"}')"
	rv=$(jget .metadata.resourceVersion)
	watch_start "$w" "resourceVersion=$rv&labelSelector=w"
	local p1=$WATCH_PID
	watch_start "$w2" "labelSelector=w&timeoutSeconds=30"
	local p2=$WATCH_PID
	wait_for 10 grep -q "ADDED" "$w2" || fail "no initial ADDED"
	api_expect 201 POST "$CM" "$(cm w-b '{"w":"1"}')"
	api_expect 200 PATCH "$CM/w-a" '{"data":{"k":"x"}}' application/merge-patch+json
	# Losing its label moves w-b out of the selection: DELETED for watchers.
	api_expect 200 PATCH "$CM/w-b" '{"metadata":{"labels":{"w":null}}}' application/merge-patch+json
	api_expect 200 DELETE "$CM/w-a"
	api_expect 201 POST "$CM" "$(cm w-other)"
	wait_for 10 grep -q '"DELETED".*"w-a"' "$w" || fail "no DELETED in $(events "$w")"
	wait_for 10 grep -q '"DELETED".*"w-a"' "$w2" || fail "no DELETED in $(events "$w2")"
	kill "$p1" "$p2"
	check_eq "$(events "$w")" "ADDED w-b MODIFIED w-a DELETED w-b DELETED w-a " "events from a version"
	check_eq "$(events "$w2")" "ADDED w-a ADDED w-b MODIFIED w-a DELETED w-b DELETED w-a " "events from now"
	# A watch of one object by name, with bookmarks allowed, ends at its timeout.
	timeout 20 curl -sN "$API$CM/w-other?watch=1&timeoutSeconds=2&allowWatchBookmarks=true" > "$w3"
	check_eq "$(events "$w3")" "ADDED w-other " "watch by name"
	api_expect 400 GET "$CM?watch=1&resourceVersion=abc"
	api_expect 400 GET "$CM?watch=1&labelSelector=a+in+(b"
}

# catch_ups FROM: skiff_watch_catch_ups_total{from="FROM"} of /metrics.
catch_ups() {
	api GET /metrics
	sed -n "s/^skiff_watch_catch_ups_total{from=\"$1\"} //p" <<< "$OUT"
}

# changes FILE: the "k" of each MODIFIED configmap in a watch's output.
changes() {
	jq -r 'select(.type == "MODIFIED") | .object.data.k' < "$1" | tr '\n' ' '
}

# The server keeps the last 16 writes for watches (apiserver_start below):
# a watch from a version they cover starts from them, an older one from
# the store's history; either way a watcher sees every write after it.
test_watch_from_cache_or_store() {
	local i rv0 rv17 cache store w=$API_DIR/watch-c

	api_expect 201 POST "$CM" "$(cm wc)"
	rv0=$(jget .metadata.resourceVersion)
	for i in $(seq 1 20); do
		api_expect 200 PATCH "$CM/wc" "{\"data\":{\"k\":\"$i\"}}" \
			application/merge-patch+json
		if [ "$i" = 17 ]; then
			rv17=$(jget .metadata.resourceVersion)
		fi
	done
	cache=$(catch_ups cache)
	store=$(catch_ups store)
	timeout 20 curl -sN "$API$CM?watch=1&resourceVersion=$rv0&timeoutSeconds=1" > "$w"
	check_eq "$(changes "$w")" "$(seq -s ' ' 1 20) " "the writes after 20 writes ago"
	check_eq "$(catch_ups store)" "$((store + 1))" "caught up from the store"
	timeout 20 curl -sN "$API$CM?watch=1&resourceVersion=$rv17&timeoutSeconds=1" > "$w"
	check_eq "$(changes "$w")" "18 19 20 " "the writes after 3 writes ago"
	check_eq "$(catch_ups cache)" "$((cache + 1))" "caught up from the cache"
	check_eq "$(catch_ups store)" "$((store + 1))" "not from the store"
}

test_watch_too_old_is_gone() {
	local i

	# The server keeps 50 revisions of history (apiserver_start below).
	api_expect 201 POST "$CM" "$(cm old)"
	for i in $(seq 1 80); do
		api PATCH "$CM/old" "{\"data\":{\"k\":\"$i\"}}" application/merge-patch+json
	done
	api GET /metrics
	local compacted
	compacted=$(sed -n 's/^skiff_store_compacted_revision //p' <<< "$OUT")
	[ "$compacted" -gt 1 ] || fail "nothing compacted after 80 writes"
	api_expect 410 GET "$CM?watch=1&resourceVersion=1"
	check_eq "$(jget .reason)" Expired "reason"
}

test_scale_subresource() {
	api_expect 201 POST "$DEPLOY" "$(deployment scaled nginx)"
	api_expect 200 GET "$DEPLOY/scaled/scale"
	check_eq "$(jget .kind)/$(jget .apiVersion)" Scale/autoscaling/v1 "scale kind"
	check_eq "$(jget .spec.replicas)" 2 "replicas"
	check_eq "$(jget .status.selector)" app=scaled "selector"
	api_expect 200 PATCH "$DEPLOY/scaled/scale" '{"spec":{"replicas":5}}' application/merge-patch+json
	check_eq "$(jget .spec.replicas)" 5 "scaled"
	api_expect 200 GET "$DEPLOY/scaled"
	check_eq "$(jget .spec.replicas)" 5 "deployment replicas"
	api_expect 422 PATCH "$DEPLOY/scaled/scale" '{"spec":{"replicas":-1}}' application/merge-patch+json
	api_expect 404 GET "$CM/x/scale"
}

pod() { # pod NAME
	printf '{"kind":"Pod","apiVersion":"v1","metadata":{"name":"%s"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}' "$1"
}

test_pod_binding_and_graceful_delete() {
	local P=$NS/pods

	api_expect 201 POST "$P" "$(pod bound)"
	check_eq "$(jget .status.phase)" Pending "phase"
	api_expect 201 POST "$P/bound/binding" '{"kind":"Binding","apiVersion":"v1","metadata":{"name":"bound"},"target":{"kind":"Node","name":"node-1"}}'
	api_expect 200 GET "$P/bound"
	check_eq "$(jget .spec.nodeName)" node-1 "bound"
	check_eq "$(jget '.status.conditions[] | select(.type=="PodScheduled") | .status')" True "PodScheduled"
	api_expect 409 POST "$P/bound/binding" '{"kind":"Binding","apiVersion":"v1","metadata":{"name":"bound"},"target":{"kind":"Node","name":"node-2"}}'
	api_expect 422 POST "$P/bound/binding" '{"kind":"Binding","apiVersion":"v1","metadata":{"name":"bound"},"target":{}}'
	api_expect 422 PATCH "$P/bound" '{"spec":{"nodeName":"node-3"}}' application/merge-patch+json
	api_expect 200 PATCH "$P/bound" '{"spec":{"containers":[{"name":"c","image":"busybox:2"}]}}' application/strategic-merge-patch+json
	api_expect 422 PATCH "$P/bound" '{"spec":{"restartPolicy":"Never"}}' application/merge-patch+json
	# A pod on a node waits for its kubelet: deletionTimestamp, then grace 0.
	api_expect 200 DELETE "$P/bound"
	check_match "$(jget .metadata.deletionTimestamp)" 'T' "deletionTimestamp"
	check_eq "$(jget .metadata.deletionGracePeriodSeconds)" 30 "grace period"
	api_expect 200 GET "$P/bound"
	# Its kubelet reports status while the containers stop: the pod stays.
	api_expect 200 PATCH "$P/bound/status" '{"status":{"phase":"Running"}}' \
		application/merge-patch+json
	api_expect 200 GET "$P/bound"
	api_expect 200 DELETE "$P/bound" '{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0}'
	api_expect 404 GET "$P/bound"
	# A pod no node runs goes at once.
	api_expect 201 POST "$P" "$(pod unbound)"
	api_expect 200 DELETE "$P/unbound"
	api_expect 404 GET "$P/unbound"
	api_expect 422 POST "$P" '{"kind":"Pod","apiVersion":"v1","metadata":{"name":"empty"},"spec":{"containers":[]}}'
	api_expect 422 POST "$P" '{"kind":"Pod","apiVersion":"v1","metadata":{"name":"dup"},"spec":{"containers":[{"name":"a","image":"x"},{"name":"a","image":"y"}]}}'
}

test_delete_finalizers_and_preconditions() {
	local uid

	api_expect 201 POST "$CM" "$(cm fin | jq -c '.metadata.finalizers = ["example.com/hold"]')"
	uid=$(jget .metadata.uid)
	api_expect 409 DELETE "$CM/fin" '{"preconditions":{"uid":"00000000-0000-4000-8000-000000000000"}}'
	api_expect 200 DELETE "$CM/fin"
	check_match "$(jget .metadata.deletionTimestamp)" T "held by its finalizer"
	api_expect 200 GET "$CM/fin"
	api_expect 200 PATCH "$CM/fin" '{"metadata":{"finalizers":null}}' application/merge-patch+json
	api_expect 404 GET "$CM/fin"
	api_expect 201 POST "$CM" "$(cm fg)"
	api_expect 200 DELETE "$CM/fg" '{"propagationPolicy":"Foreground"}'
	check_eq "$(jget '.metadata.finalizers | join(",")')" foregroundDeletion "foreground"
	api_expect 201 POST "$CM" "$(cm orphan)"
	api_expect 200 DELETE "$CM/orphan?propagationPolicy=Orphan"
	check_eq "$(jget '.metadata.finalizers | join(",")')" orphan "orphan"
	api_expect 201 POST "$CM" "$(cm bg)"
	api_expect 422 DELETE "$CM/bg" '{"propagationPolicy":"Sideways"}'
	api_expect 400 DELETE "$CM/bg" 'not json'
	api_expect 200 GET "$CM/bg"
	api_expect 200 DELETE "$CM/bg" "{\"preconditions\":{\"uid\":\"$(jget .metadata.uid)\"}}"
	api_expect 404 DELETE "$CM/bg"
	[ -n "$uid" ]
}

test_delete_collection() {
	local L=/api/v1/namespaces/kube-node-lease/configmaps i

	for i in 1 2 3; do
		api_expect 201 POST "$L" "$(cm "dc-$i" "{\"g\":\"$((i % 2))\"}")"
	done
	api_expect 200 DELETE "$L?labelSelector=g%3D1"
	check_eq "$(jget '.items | length')" 2 "deleted"
	api_expect 200 GET "$L"
	check_eq "$(jget '[.items[].metadata.name] | join(",")')" dc-2 "left"
}

test_namespace_lifecycle() {
	api_expect 201 POST /api/v1/namespaces '{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"doomed"}}'
	check_eq "$(jget .status.phase)" Active "phase"
	check_eq "$(jget '.spec.finalizers | join(",")')" kubernetes "finalizer"
	api_expect 201 POST /api/v1/namespaces/doomed/configmaps "$(cm inside)"
	api_expect 200 DELETE /api/v1/namespaces/doomed
	check_eq "$(jget .status.phase)" Terminating "terminating"
	api_expect 403 POST /api/v1/namespaces/doomed/configmaps "$(cm late)"
	check_match "$(jget .message)" "being terminated" "no new content"
	api_expect 200 PUT /api/v1/namespaces/doomed/finalize '{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"doomed"},"spec":{"finalizers":[]}}'
	api_expect 404 GET /api/v1/namespaces/doomed
	api_expect 422 POST /api/v1/namespaces '{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"a.b"}}'
}

test_table_output() {
	local accept='Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json'
	local out

	api_expect 201 POST "$NS/pods" "$(pod tabled)"
	out=$(curl -sS -H "$accept" "$API$NS/pods")
	check_eq "$(jq -r '[.columnDefinitions[] | select(.priority == 0) | .name] | join(",")' <<< "$out")" \
		"Name,Ready,Status,Restarts,Age" "pod columns"
	check_eq "$(jq -r '.rows[] | select(.cells[0] == "tabled") | .cells[1:3] | join(" ")' <<< "$out")" \
		"0/1 Pending" "pod row"
	check_eq "$(jq -r '.rows[0].object.kind' <<< "$out")" PartialObjectMetadata "row object"
	out=$(curl -sS -H "$accept" "$API$NS/pods/tabled")
	check_eq "$(jq -r '.kind + " " + (.rows | length | tostring)' <<< "$out")" "Table 1" "one object"
}

svc() { # svc NAME TYPE PORTS_JSON [EXTRA_SPEC_JSON]
	jq -nc --arg n "$1" --arg t "$2" --argjson p "$3" --argjson x "${4:-{\}}" \
		'{kind:"Service",apiVersion:"v1",metadata:{name:$n},spec:({type:$t,selector:{app:$n},ports:$p} + $x)}'
}

# The server hands out ClusterIPs from 10.99.0.0/29 (6 addresses) and node
# ports from 30000-30003 (apiserver_start below): small, to fill them.
test_service_addresses() {
	local S=$NS/services ip np1 np2

	api_expect 201 POST "$S" "$(svc s1 ClusterIP '[{"port":80}]')"
	ip=$(jget .spec.clusterIP)
	check_match "$ip" '^10\.99\.0\.[1-6]$' "ClusterIP in range"
	check_eq "$(jget '.spec.clusterIPs | join(",")')" "$ip" "clusterIPs"
	check_eq "$(jget '.spec.ports[0].targetPort')" 80 "targetPort defaulted"
	check_eq "$(jget '.spec.ports[0].nodePort // "none"')" none "no node port"
	api_expect 422 POST "$S" "$(svc s2 ClusterIP '[{"port":80}]' "{\"clusterIP\":\"$ip\"}")"
	check_match "$(jget .message)" "provided IP is already allocated" "taken IP"
	api_expect 422 POST "$S" "$(svc s2 ClusterIP '[{"port":80}]' '{"clusterIP":"10.1.1.1"}')"
	check_match "$(jget .message)" "not in the valid range" "IP out of range"
	api_expect 422 POST "$S" "$(svc s2 ClusterIP '[{"port":80,"nodePort":30001}]')"
	check_match "$(jget .message)" "may not be used when .type. is 'ClusterIP'" "nodePort on ClusterIP"
	api_expect 201 POST "$S" "$(svc np NodePort '[{"name":"a","port":80},{"name":"b","port":81}]')"
	np1=$(jget '.spec.ports[0].nodePort')
	np2=$(jget '.spec.ports[1].nodePort')
	check_match "$np1 $np2" '^3000[0-3] 3000[0-3]$' "node ports in range"
	[ "$np1" != "$np2" ] || fail "the same node port twice"
	api_expect 422 POST "$S" "$(svc np2 NodePort "[{\"port\":80,\"nodePort\":$np1}]")"
	check_match "$(jget .message)" "provided port is already allocated" "taken port"
	api_expect 422 POST "$S" "$(svc np2 NodePort '[{"port":80,"nodePort":31000}]')"
	check_match "$(jget .message)" "valid ports is 30000-30003" "port out of range"
	# A second apply without nodePort keeps the ports held.
	api_expect 200 PATCH "$S/np" '{"spec":{"ports":[{"name":"a","port":80},{"name":"b","port":81}]}}' application/merge-patch+json
	check_eq "$(jget '.spec.ports[0].nodePort') $(jget '.spec.ports[1].nodePort')" "$np1 $np2" "node ports kept"
	# Leaving NodePort gives the ports back: another Service takes one.
	api_expect 200 PATCH "$S/np" '{"spec":{"type":"ClusterIP","ports":[{"name":"a","port":80}]}}' application/merge-patch+json
	check_eq "$(jget '.spec.ports[0].nodePort // "none"')" none "node port dropped"
	api_expect 201 POST "$S" "$(svc np3 NodePort "[{\"port\":80,\"nodePort\":$np2}]")"
	# A deleted Service's IP is free again.
	api_expect 200 DELETE "$S/s1"
	api_expect 201 POST "$S" "$(svc s1again ClusterIP '[{"port":80}]' "{\"clusterIP\":\"$ip\"}")"
	api_expect 201 POST "$S" "$(svc headless ClusterIP '[{"port":80}]' '{"clusterIP":"None"}')"
	check_eq "$(jget .spec.clusterIP)" None "headless"
	# 6 addresses: s1again, np, np3 hold three; three more fit, not four.
	api_expect 201 POST "$S" "$(svc f1 ClusterIP '[{"port":80}]')"
	api_expect 201 POST "$S" "$(svc f2 ClusterIP '[{"port":80}]')"
	api_expect 201 POST "$S" "$(svc f3 ClusterIP '[{"port":80}]')"
	api_expect 422 POST "$S" "$(svc f4 ClusterIP '[{"port":80}]')"
	check_match "$(jget .message)" "range is full" "full"
	api_expect 404 GET "$S/f4"
	# Held addresses survive a restart.
	apiserver_restart
	api_expect 422 POST "$S" "$(svc s2 ClusterIP '[{"port":80}]' "{\"clusterIP\":\"$ip\"}")"
	api_expect 200 DELETE "$S/f1"
	api_expect 201 POST "$S" "$(svc f4 ClusterIP '[{"port":80}]')"
	api_expect 422 POST "$S" "$(svc bad LoadBalancer '[{"port":80}]')"
	api_expect 422 POST "$S" "$(svc bad ClusterIP '[{"port":0}]')"
}

test_metrics() {
	api_expect 200 GET /metrics
	check_match "$OUT" '^apiserver_request_total\{verb="GET"\} [0-9]+' "request counter"
	check_match "$OUT" '^skiff_store_revision [0-9]+' "revision"
}

# storm_writer ID: creates configmaps until the server goes away (or, if
# it never saw it go, until the test says stop), logging each one the
# server acknowledged (201).
storm_writer() {
	local i=0 code

	while [ ! -e "$API_DIR/storm-stop" ]; do
		code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
			-H 'Content-Type: application/json' \
			--data-binary "$(cm "storm-$1-$i")" \
			"$API/api/v1/namespaces/kube-system/configmaps") || break
		[ "$code" = 201 ] || break
		echo "storm-$1-$i" >> "$API_DIR/acked"
		i=$((i + 1))
	done
}

acked_count() {
	[ "$(wc -l < "$API_DIR/acked")" -ge "$1" ]
}

test_acknowledged_writes_survive_kill() {
	local w pids=() missing

	: > "$API_DIR/acked"
	rm -f "$API_DIR/storm-stop"
	for w in 1 2 3 4 5 6 7 8; do
		storm_writer "$w" &
		pids+=($!)
	done
	wait_for 60 acked_count 200 || fail "the storm did not start"
	apiserver_restart --kill
	# A writer whose requests all fell before the kill or after the
	# restart would write to the new server forever.
	touch "$API_DIR/storm-stop"
	wait "${pids[@]}" || true
	api_expect 200 GET /api/v1/namespaces/kube-system/configmaps
	missing=$(comm -23 <(sort "$API_DIR/acked") \
		<(jget '.items[].metadata.name' | sort))
	[ -z "$missing" ] || fail "acknowledged, then lost: $missing"
	echo "$(wc -l < "$API_DIR/acked") acknowledged writes, all there"
	api_expect 200 GET /api/v1/namespaces/default
}

# SKIFF_API_STORE=etcd: the same suite on etcd (api-etcd.sh).
if [ "${SKIFF_API_STORE:-sqlite}" = etcd ]; then
	if ! command -v etcd > /dev/null; then
		echo "1..0 # SKIP etcd is not installed (scripts/install-deps.sh)"
		exit 0
	fi
	etcd_start
fi
apiserver_start --history 50 --default-watch-cache-size 16 \
	--service-cluster-ip-range 10.99.0.0/29 \
	--service-node-port-range 30000-30003
run_tests test_discovery test_first_namespaces test_create_get \
	test_create_conflicts_and_rejections test_generate_name \
	test_update_optimistic_concurrency test_generation_and_status \
	test_patch_formats test_list_selectors_and_pages test_watch \
	test_watch_from_cache_or_store test_watch_too_old_is_gone test_scale_subresource \
	test_pod_binding_and_graceful_delete test_secret_data_and_string_data \
	test_delete_finalizers_and_preconditions test_delete_collection \
	test_namespace_lifecycle test_table_output test_service_addresses \
	test_metrics \
	test_acknowledged_writes_survive_kill
