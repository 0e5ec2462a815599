#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# skiff-apiserver's start: one line when it serves, and a clear message and
# a non-zero exit when it cannot (bad flags, port taken, data directory
# unusable, corrupt or in use), having changed nothing.

source "$(dirname "$0")/../lib-apiserver.sh"

# Each case that starts a server stops it.
case_cleanup() {
	if [ -s "$API_DIR/pid" ]; then
		kill "$(cat "$API_DIR/pid")" 2>/dev/null || true
		rm -f "$API_DIR/pid"
	fi
}

# run_apiserver VAR_OUT VAR_RC ARGS...: runs it to its exit (at most 10 s).
run_apiserver() {
	local -n __out=$1 __rc=$2

	shift 2
	__rc=0
	__out=$(timeout 10 skiff-apiserver "$@" 2>&1) || __rc=$?
}

test_ready_line() {
	apiserver_start
	check_match "$(cat "$API_DIR/apiserver.log")" \
		'^skiff-apiserver: serving on http://127\.0\.0\.1:[0-9]+, store sqlite:.* at revision [0-9]+$' \
		"ready line"
	api_expect 200 GET /healthz
}

test_bad_flags() {
	local out rc

	run_apiserver out rc --listen foo
	check_eq "$rc" 2 "--listen foo"
	check_match "$out" "'foo' is not ADDR:PORT" "message"
	run_apiserver out rc --listen 127.0.0.1:70000
	check_eq "$rc" 2 "port out of range"
	run_apiserver out rc --data-dir /x --etcd-servers http://127.0.0.1:1
	check_eq "$rc" 2 "two stores"
	check_match "$out" "one store or the other" "message"
	run_apiserver out rc --history 0
	check_eq "$rc" 2 "--history 0"
	run_apiserver out rc --threads many
	check_eq "$rc" 2 "--threads many"
	run_apiserver out rc --default-watch-cache-size -1
	check_eq "$rc" 2 "--default-watch-cache-size -1"
	check_match "$out" "'-1' is not in 0\.\.1000000" "message"
	run_apiserver out rc --default-watch-cache-size 1000001
	check_eq "$rc" 2 "--default-watch-cache-size 1000001"
	run_apiserver out rc --default-watch-cache-size 8k
	check_eq "$rc" 2 "--default-watch-cache-size 8k"
	run_apiserver out rc --service-cluster-ip-range 10.0.0.0/40
	check_eq "$rc" 2 "bad CIDR"
	run_apiserver out rc --service-node-port-range 5-1
	check_eq "$rc" 2 "bad port range"
	run_apiserver out rc --bogus
	check_eq "$rc" 2 "unknown flag"
	check_match "$out" "^Usage: skiff-apiserver" "usage"
	run_apiserver out rc extra
	check_eq "$rc" 2 "extra argument"
}

test_port_taken() {
	local out rc

	apiserver_start
	run_apiserver out rc --listen "127.0.0.1:$API_PORT" --data-dir "$API_DIR/other"
	check_eq "$rc" 1 "exit status"
	check_match "$out" "cannot listen on 127.0.0.1:$API_PORT" "message"
}

test_data_dir_unusable() {
	local out rc

	touch "$API_DIR/file"
	run_apiserver out rc --listen 127.0.0.1:0 --data-dir "$API_DIR/file"
	check_eq "$rc" 1 "a file as data dir"
	check_match "$out" "store sqlite:$API_DIR/file: " "message names the store"
	mkdir "$API_DIR/corrupt"
	head -c 8192 /dev/urandom > "$API_DIR/corrupt/skiff.db"
	cp "$API_DIR/corrupt/skiff.db" "$API_DIR/before"
	run_apiserver out rc --listen 127.0.0.1:0 --data-dir "$API_DIR/corrupt"
	check_eq "$rc" 1 "a corrupt database"
	check_match "$out" "store sqlite:$API_DIR/corrupt: " "message"
	cmp -s "$API_DIR/corrupt/skiff.db" "$API_DIR/before" || fail "the corrupt file was changed"
}

test_data_dir_in_use() {
	local out rc

	apiserver_start
	run_apiserver out rc --listen 127.0.0.1:0 --data-dir "$API_DIR/store"
	check_eq "$rc" 1 "exit status"
	check_match "$out" "store sqlite:$API_DIR/store: " "message"
	api_expect 200 GET /healthz
}

test_etcd_unreachable() {
	local out rc

	run_apiserver out rc --listen 127.0.0.1:0 --etcd-servers http://127.0.0.1:1
	check_eq "$rc" 1 "exit status"
	check_match "$out" "store etcd:http://127.0.0.1:1: " "message"
}

run_tests test_ready_line test_bad_flags test_port_taken \
	test_data_dir_unusable test_data_dir_in_use test_etcd_unreachable
