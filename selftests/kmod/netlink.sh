#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every validation rule of the skiff generic netlink family, from below the
# tools: requests built attribute by attribute (skiff-nltest raw), each
# rejection checked for its errno, its extack message and that it changed
# nothing. Runs in the test VM with skiff.ko loaded.
#
#   skiff-nltest raw CMD TYPE HEX ──genl──▶ skiff.ko ──▶ "error: ...: extack"

source "$(dirname "$0")/../lib.sh"

# Commands and attributes, as in include/uapi/linux/skiff.h.
CMD_INFO_GET=1 CMD_DEV_NEW=2 CMD_DEV_DEL=3 CMD_DEV_GET=4
CMD_PEER_NEW=5 CMD_PEER_DEL=6 CMD_PEER_GET=7
A_DEV=2 A_PEER=3 A_REPLACE=4
NESTED=32768
DEV_IFINDEX=1 DEV_IFNAME=2 DEV_VNI=3 DEV_PORT=4 DEV_MTU=5 DEV_LOCAL4=6
DEV_VTEP_MAC=7 DEV_PEERS=8
PEER_IFINDEX=1 PEER_PREFIX4=2 PEER_PREFIX_LEN=3 PEER_REMOTE4=4
PEER_REMOTE_MAC=5 PEER_TX_PACKETS=6
CMD_SERVICE_SET=8 CMD_SERVICE_DEL=9 CMD_CONFIG_SET=11
A_SERVICE=5 A_CONFIG=6
SVC_VIP4=1 SVC_PORT=2 SVC_PROTO=3 SVC_AFFINITY=4 SVC_BACKEND=5 SVC_PACKETS=6
SVC_FLAGS=9 SVC_F_LOCAL=1
BE_ADDR4=1 BE_PORT=2 BE_WEIGHT=3 BE_PACKETS=4 BE_BYTES=5
CFG_CIDR4=1 CFG_LEN=2

# Little-endian integers, network-order addresses, strings: as hex.
u8() { printf '%02x' "$1"; }
u16() { printf '%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)); }
u32() { printf '%02x%02x%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) \
	$(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
ip4() { local IFS=.; printf '%02x%02x%02x%02x' $1; }
str() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; printf '00'; }
mac() { tr -d ':' <<< "$1"; }

# nla TYPE HEX: one attribute, header and padding included.
nla() {
	local data=$2 out

	out=$(u16 $((${#data} / 2 + 4)))$(u16 "$1")$data
	while [ $((${#out} % 8)) != 0 ]; do
		out=${out}00
	done
	printf '%s' "$out"
}

# dev_nest ATTR...: SKIFF_A_DEV with these attributes, for skiff-nltest.
dev_nest() { printf '%s %s' $((A_DEV | NESTED)) "$(IFS=; echo "$*")"; }
peer_nest() { printf '%s %s' $((A_PEER | NESTED)) "$(IFS=; echo "$*")"; }
svc_nest() { printf '%s %s' $((A_SERVICE | NESTED)) "$(IFS=; echo "$*")"; }
cfg_nest() { printf '%s %s' $((A_CONFIG | NESTED)) "$(IFS=; echo "$*")"; }
# backend ATTR...: one SKIFF_SERVICE_A_BACKEND nest, as hex.
backend() { nla $((SVC_BACKEND | NESTED)) "$(IFS=; echo "$*")"; }

# expect_reject WANT_REGEX CMD ARGS...: the request fails as WANT_REGEX says,
# and the namespace's state (devices, peers, generation) is as it was.
expect_reject() {
	local want=$1 before after out

	shift
	before=$(state)
	# shellcheck disable=SC2046
	if out=$(skiff-nltest raw "$@"); then
		fail "accepted: $*"
	fi
	after=$(state)
	check_match "$out" "$want" "rejection"
	check_eq "$after" "$before" "state after the rejected request"
}

# What a rejected request must leave as it was. Raw JSON, no jq: under a
# debug kernel in the emulator every process counts.
state() {
	skiff-dp -j info
	skiff-dp -j dev show
	skiff-dp -j service show
	ip -o link show | grep -c skiff || true
}

ifindex() { cat "/sys/class/net/$1/ifindex"; }

setup_dev() {
	cleanup_dev
	skiff-dp dev add skiff0
	ip link set skiff0 up
	IFX=$(ifindex skiff0)
}

cleanup_dev() {
	ip link del skiff0 2> /dev/null || true
	ip link del skiff1 2> /dev/null || true
}

test_dev_new_accepts_a_well_formed_request() {
	local out

	out=$(skiff-nltest raw $CMD_DEV_NEW $(dev_nest "$(nla $DEV_IFNAME "$(str skiff1)")" \
		"$(nla $DEV_VNI "$(u32 16777215)")" "$(nla $DEV_PORT "$(u16 65535)")" \
		"$(nla $DEV_MTU "$(u32 68)")"))
	check_eq "$out" ok "boundary values accepted"
	check_eq "$(skiff-dp -j dev show skiff1 | jq -c '.[0] | [.vni, .port, .mtu]')" \
		"[16777215,65535,68]" "as created"
	cleanup_dev
}

test_dev_new_needs_its_nest() {
	expect_reject "^error: Invalid argument: missing SKIFF_A_DEV" $CMD_DEV_NEW
}

test_dev_new_needs_a_name() {
	expect_reject "^error: Invalid argument: missing SKIFF_DEV_A_IFNAME \[missing $DEV_IFNAME\]$" \
		$CMD_DEV_NEW $(dev_nest "$(nla $DEV_VNI "$(u32 5)")")
}

test_dev_new_nest_needs_nested_flag() {
	expect_reject "^error: Invalid argument: NLA_F_NESTED is missing" \
		$CMD_DEV_NEW $A_DEV "$(nla $DEV_IFNAME "$(str skiff1)")"
}

test_dev_new_vni_range() {
	expect_reject "^error: Numerical result out of range: integer out of range \[offset 36\]" \
		$CMD_DEV_NEW $(dev_nest "$(nla $DEV_IFNAME "$(str skiff1)")" \
		"$(nla $DEV_VNI "$(u32 16777216)")")
}

test_dev_new_port_range() {
	expect_reject "^error: Numerical result out of range: integer out of range" \
		$CMD_DEV_NEW $(dev_nest "$(nla $DEV_IFNAME "$(str skiff1)")" \
		"$(nla $DEV_PORT "$(u16 0)")")
}

test_dev_new_mtu_range() {
	expect_reject "^error: Numerical result out of range: integer out of range" \
		$CMD_DEV_NEW $(dev_nest "$(nla $DEV_IFNAME "$(str skiff1)")" \
		"$(nla $DEV_MTU "$(u32 67)")")
	expect_reject "^error: Numerical result out of range: integer out of range" \
		$CMD_DEV_NEW $(dev_nest "$(nla $DEV_IFNAME "$(str skiff1)")" \
		"$(nla $DEV_MTU "$(u32 65486)")")
}

test_dev_new_bad_names() {
	local name

	for name in a/b "a b" "sk%d" . ..; do
		expect_reject "^error: Invalid argument: invalid interface name \[offset 24\]$" \
			$CMD_DEV_NEW $(dev_nest "$(nla $DEV_IFNAME "$(str "$name")")")
	done
	expect_reject "^error: Invalid argument: Attribute failed policy validation" \
		$CMD_DEV_NEW $(dev_nest "$(nla $DEV_IFNAME "$(str skiff-name-too-long)")")
}

test_dev_new_wrong_attribute_size() {
	expect_reject "^error: Invalid argument: .*\[offset 36\]" \
		$CMD_DEV_NEW $(dev_nest "$(nla $DEV_IFNAME "$(str skiff1)")" \
		"$(nla $DEV_VNI "$(u16 5)")")
}

test_dev_new_vtep_mac() {
	expect_reject "^error: Invalid argument: VTEP MAC must be a unicast address \[offset 36\]$" \
		$CMD_DEV_NEW $(dev_nest "$(nla $DEV_IFNAME "$(str skiff1)")" \
		"$(nla $DEV_VTEP_MAC "$(mac 01:00:5e:00:00:01)")")
	expect_reject "^error: Numerical result out of range: binary attribute size out of range \[offset 36\]$" \
		$CMD_DEV_NEW $(dev_nest "$(nla $DEV_IFNAME "$(str skiff1)")" \
		"$(nla $DEV_VTEP_MAC "0211223344")")
}

test_dev_new_local_address() {
	local a

	for a in 224.0.0.1 0.0.0.0 255.255.255.255; do
		expect_reject "^error: Invalid argument: local address must be unicast \[offset 36\]$" \
			$CMD_DEV_NEW $(dev_nest "$(nla $DEV_IFNAME "$(str skiff1)")" \
			"$(nla $DEV_LOCAL4 "$(ip4 $a)")")
	done
}

test_dev_new_read_only_attributes() {
	expect_reject "^error: Invalid argument: the kernel picks the ifindex" \
		$CMD_DEV_NEW $(dev_nest "$(nla $DEV_IFNAME "$(str skiff1)")" \
		"$(nla $DEV_IFINDEX "$(u32 7)")")
	expect_reject "^error: Invalid argument: SKIFF_DEV_A_PEERS is filled in by the kernel" \
		$CMD_DEV_NEW $(dev_nest "$(nla $DEV_IFNAME "$(str skiff1)")" \
		"$(nla $DEV_PEERS "$(u32 7)")")
}

test_dev_new_name_taken() {
	expect_reject "^error: File exists: an interface with this name exists$" \
		$CMD_DEV_NEW $(dev_nest "$(nla $DEV_IFNAME "$(str lo)")")
}

test_dev_new_port_taken() {
	setup_dev
	expect_reject "^error: Address already in use: UDP port in use in this network namespace$" \
		$CMD_DEV_NEW $(dev_nest "$(nla $DEV_IFNAME "$(str skiff1)")")
	cleanup_dev
}

test_rtnetlink_cannot_create() {
	local out

	! out=$(ip link add skiff1 type skiff 2>&1) || fail "ip link add accepted"
	check_match "$out" "skiff devices are created over the skiff generic netlink family" \
		"message"
	! ip link show skiff1 2> /dev/null || fail "device created"
}

test_dev_del_selects_one_device() {
	setup_dev
	expect_reject "^error: Invalid argument: name the device by SKIFF_DEV_A_IFINDEX or SKIFF_DEV_A_IFNAME" \
		$CMD_DEV_DEL $((A_DEV | NESTED)) ""
	expect_reject "^error: Invalid argument: give SKIFF_DEV_A_IFINDEX or SKIFF_DEV_A_IFNAME, not both" \
		$CMD_DEV_DEL $(dev_nest "$(nla $DEV_IFINDEX "$(u32 "$IFX")")" \
		"$(nla $DEV_IFNAME "$(str skiff0)")")
	expect_reject "^error: No such device: no such interface$" \
		$CMD_DEV_DEL $(dev_nest "$(nla $DEV_IFNAME "$(str nothere)")")
	expect_reject "^error: Invalid argument: interface is not a skiff device$" \
		$CMD_DEV_DEL $(dev_nest "$(nla $DEV_IFNAME "$(str lo)")")
	expect_reject "^error: Invalid argument: .*Unknown attribute type" \
		$CMD_DEV_DEL $(dev_nest "$(nla $DEV_IFNAME "$(str skiff0)")" \
		"$(nla 99 "")")
	cleanup_dev
}

# A peer as skiff-nltest arguments; $1.. override fields as KEY=HEX.
peer_args() {
	printf '%s' "$(peer_nest "$@")"
}

test_peer_new_validation() {
	local pfx len rem

	setup_dev
	pfx=$(nla $PEER_PREFIX4 "$(ip4 10.244.5.0)")
	len=$(nla $PEER_PREFIX_LEN "$(u8 24)")
	rem=$(nla $PEER_REMOTE4 "$(ip4 192.168.77.5)")
	ifx=$(nla $PEER_IFINDEX "$(u32 "$IFX")")

	expect_reject "^error: Invalid argument: missing SKIFF_A_PEER" $CMD_PEER_NEW
	expect_reject "missing SKIFF_PEER_A_IFINDEX .*\[missing $PEER_IFINDEX\]$" \
		$CMD_PEER_NEW $(peer_args "$pfx" "$len" "$rem")
	expect_reject "missing SKIFF_PEER_A_PREFIX4 .*\[missing $PEER_PREFIX4\]$" \
		$CMD_PEER_NEW $(peer_args "$ifx" "$len" "$rem")
	expect_reject "missing SKIFF_PEER_A_PREFIX_LEN .*\[missing $PEER_PREFIX_LEN\]$" \
		$CMD_PEER_NEW $(peer_args "$ifx" "$pfx" "$rem")
	expect_reject "missing SKIFF_PEER_A_REMOTE4 .*\[missing $PEER_REMOTE4\]$" \
		$CMD_PEER_NEW $(peer_args "$ifx" "$pfx" "$len")
	expect_reject "^error: Numerical result out of range: integer out of range" \
		$CMD_PEER_NEW $(peer_args "$ifx" "$pfx" "$(nla $PEER_PREFIX_LEN "$(u8 0)")" "$rem")
	expect_reject "^error: Numerical result out of range: integer out of range" \
		$CMD_PEER_NEW $(peer_args "$ifx" "$pfx" "$(nla $PEER_PREFIX_LEN "$(u8 33)")" "$rem")
	expect_reject "^error: Invalid argument: prefix has host bits set \[offset" \
		$CMD_PEER_NEW $(peer_args "$ifx" "$(nla $PEER_PREFIX4 "$(ip4 10.244.5.1)")" "$len" "$rem")
	for a in 224.0.0.1 127.0.0.1 0.0.0.0 255.255.255.255; do
		expect_reject "^error: Invalid argument: remote must be a unicast underlay address \[offset" \
			$CMD_PEER_NEW $(peer_args "$ifx" "$pfx" "$len" "$(nla $PEER_REMOTE4 "$(ip4 $a)")")
	done
	expect_reject "^error: Invalid argument: remote MAC must be a unicast address" \
		$CMD_PEER_NEW $(peer_args "$ifx" "$pfx" "$len" "$rem" \
		"$(nla $PEER_REMOTE_MAC "$(mac ff:ff:ff:ff:ff:ff)")")
	expect_reject "^error: Invalid argument: counters are filled in by the kernel" \
		$CMD_PEER_NEW $(peer_args "$ifx" "$pfx" "$len" "$rem" \
		"$(nla $PEER_TX_PACKETS "$(u32 1)$(u32 0)")")
	expect_reject "^error: Invalid argument: interface is not a skiff device" \
		$CMD_PEER_NEW $(peer_args "$(nla $PEER_IFINDEX "$(u32 1)")" "$pfx" "$len" "$rem")
	expect_reject "^error: No such device: no such interface" \
		$CMD_PEER_NEW $(peer_args "$(nla $PEER_IFINDEX "$(u32 99999)")" "$pfx" "$len" "$rem")

	check_eq "$(skiff-nltest raw $CMD_PEER_NEW $(peer_args "$ifx" "$pfx" "$len" "$rem"))" ok "valid peer"
	expect_reject "^error: File exists: a peer with this prefix exists \(use replace\)$" \
		$CMD_PEER_NEW $(peer_args "$ifx" "$pfx" "$len" "$rem")
	check_eq "$(skiff-nltest raw $CMD_PEER_NEW $(peer_args "$ifx" "$pfx" "$len" "$rem") $A_REPLACE "")" \
		ok "replace"
	cleanup_dev
}

test_peer_del_validation() {
	local pfx len ifx

	setup_dev
	pfx=$(nla $PEER_PREFIX4 "$(ip4 10.244.5.0)")
	len=$(nla $PEER_PREFIX_LEN "$(u8 24)")
	ifx=$(nla $PEER_IFINDEX "$(u32 "$IFX")")
	expect_reject "^error: No such file or directory: no peer with this prefix$" \
		$CMD_PEER_DEL $(peer_args "$ifx" "$pfx" "$len")
	expect_reject "^error: Invalid argument: a peer is deleted by its prefix alone" \
		$CMD_PEER_DEL $(peer_args "$ifx" "$pfx" "$len" "$(nla $PEER_REMOTE4 "$(ip4 192.168.77.5)")")
	expect_reject "^error: Invalid argument: Unsupported attribute \[offset 48\]$" \
		$CMD_PEER_DEL $(peer_args "$ifx" "$pfx" "$len") $A_REPLACE ""
	cleanup_dev
}

test_peer_dump_needs_device() {
	local out

	! out=$(skiff-nltest raw $CMD_PEER_GET 2>&1) || true
	# A dump is sent as a plain request by skiff-nltest: the doit-less
	# command answers "not supported"; skiff-dp sends real dumps.
	check_match "$out" "^error: " "rejected"
	! out=$(skiff-dp peer show lo 2>&1) || fail "peer show lo accepted"
	check_match "$out" "interface is not a skiff device" "message"
}

# The parts of a valid service: 10.96.0.10:80/tcp -> 10.244.1.2:8080.
svc_parts() {
	VIP=$(nla $SVC_VIP4 "$(ip4 10.96.0.10)")
	PORT=$(nla $SVC_PORT "$(u16 80)")
	TCP=$(nla $SVC_PROTO "$(u8 6)")
	BADDR=$(nla $BE_ADDR4 "$(ip4 10.244.1.2)")
	BPORT=$(nla $BE_PORT "$(u16 8080)")
	B1=$(backend "$BADDR" "$BPORT")
}

test_service_set_validation() {
	local many

	svc_parts
	expect_reject "^error: Invalid argument: missing SKIFF_A_SERVICE \[missing $A_SERVICE\]$" $CMD_SERVICE_SET
	expect_reject "missing SKIFF_SERVICE_A_VIP4 .*\[missing $SVC_VIP4\]$" \
		$CMD_SERVICE_SET $(svc_nest "$PORT" "$TCP")
	expect_reject "missing SKIFF_SERVICE_A_PORT .*\[missing $SVC_PORT\]$" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$TCP")
	expect_reject "missing SKIFF_SERVICE_A_PROTO .*\[missing $SVC_PROTO\]$" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT")
	expect_reject "^error: Numerical result out of range: integer out of range \[offset" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$(nla $SVC_PORT "$(u16 0)")" "$TCP")
	expect_reject "^error: Invalid argument: protocol must be TCP or UDP \[offset" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$(nla $SVC_PROTO "$(u8 132)")")
	for a in 224.0.0.1 127.0.0.1 255.255.255.255; do
		expect_reject "^error: Invalid argument: virtual IP must be unicast \(0.0.0.0 for a NodePort\) \[offset" \
			$CMD_SERVICE_SET $(svc_nest "$(nla $SVC_VIP4 "$(ip4 $a)")" "$PORT" "$TCP")
	done
	expect_reject "^error: Numerical result out of range: integer out of range \[offset" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" "$(nla $SVC_AFFINITY "$(u32 86401)")")
	expect_reject "^error: Invalid argument: counters are filled in by the kernel \[offset" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" "$(nla $SVC_PACKETS "$(u32 1)$(u32 0)")")
	expect_reject "^error: Invalid argument: NLA_F_NESTED is missing \[offset" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" "$(nla $SVC_BACKEND "$BADDR$BPORT")")
	expect_reject "missing SKIFF_BACKEND_A_ADDR4 .*\[missing $BE_ADDR4\]$" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" "$(backend "$BPORT")")
	expect_reject "missing SKIFF_BACKEND_A_PORT .*\[missing $BE_PORT\]$" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" "$(backend "$BADDR")")
	expect_reject "^error: Numerical result out of range: integer out of range \[offset" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" \
		"$(backend "$BADDR" "$(nla $BE_PORT "$(u16 0)")")")
	expect_reject "^error: Numerical result out of range: integer out of range \[offset" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" \
		"$(backend "$BADDR" "$BPORT" "$(nla $BE_WEIGHT "$(u16 0)")")")
	for a in 0.0.0.0 224.0.0.1 255.255.255.255; do
		expect_reject "^error: Invalid argument: backend address must be unicast \[offset" \
			$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" \
			"$(backend "$(nla $BE_ADDR4 "$(ip4 $a)")" "$BPORT")")
	done
	expect_reject "^error: Invalid argument: counters are filled in by the kernel \[offset" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" \
		"$(backend "$BADDR" "$BPORT" "$(nla $BE_BYTES "$(u32 1)$(u32 0)")")")
	expect_reject "^error: Invalid argument: duplicate backend \[offset" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" "$B1" "$B1")
	# 1025 backends, 10.X.Y.1:8080, in one go: per-backend subshells
	# would take minutes under the emulator.
	many=$(awk -v bport="$BPORT" -v type="$(u16 $((SVC_BACKEND | NESTED)))" 'BEGIN {
		for (i = 1; i <= 1025; i++)
			printf "1400%s08000100%02x%02x%02x01%s", type, 10,
				100 + int(i / 250), i % 250, bport }')
	expect_reject "^error: Invalid argument: at most 1024 backends \[offset" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" "$many")
	expect_reject "^error: Invalid argument: service listed twice in one request \[offset" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" "$B1") $(svc_nest "$VIP" "$PORT" "$TCP")
	expect_reject "^error: Invalid argument: Unknown attribute type \[offset" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" "$(nla 30 "$(u32 1)")")
	# Flags: a bit outside SKIFF_SERVICE_F_ALL is refused, not ignored.
	expect_reject "^error: Invalid argument: reserved bit set \[offset 48\]$" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" "$(nla $SVC_FLAGS "$(u32 2)")")
	expect_reject "^error: Invalid argument: reserved bit set \[offset" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" \
		"$(nla $SVC_FLAGS "$(u32 $((SVC_F_LOCAL | 0x80000000)))")")
	expect_reject "^error: Invalid argument: .*\[offset 48\]" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" "$(nla $SVC_FLAGS "$(u16 1)")")
	# One bad service among good ones: none of them is applied.
	expect_reject "^error: Invalid argument: protocol must be TCP or UDP" \
		$CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" "$B1") \
		$(svc_nest "$VIP" "$(nla $SVC_PORT "$(u16 81)")" "$(nla $SVC_PROTO "$(u8 1)")")

	check_eq "$(skiff-nltest raw $CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" "$B1"))" ok "valid service"
	check_eq "$(skiff-dp -j service show | jq -c '.[] | [.vip, .port, .backends[0].addr, .local]')" \
		'["10.96.0.10",80,"10.244.1.2",false]' "applied"
	check_eq "$(skiff-nltest raw $CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" \
		"$(nla $SVC_FLAGS "$(u32 $SVC_F_LOCAL)")" "$B1"))" ok "SKIFF_SERVICE_F_LOCAL"
	check_eq "$(skiff-dp -j service show | jq -c '.[] | [.port, .local]')" \
		'[80,true]' "local dumped back"
	check_eq "$(skiff-nltest raw $CMD_SERVICE_SET $A_REPLACE "")" ok "an empty whole-table replace"
	check_eq "$(skiff-dp -j service show | jq length)" 0 "emptied"
}

test_service_del_validation() {
	svc_parts
	skiff-nltest raw $CMD_SERVICE_SET $(svc_nest "$VIP" "$PORT" "$TCP" "$B1") > /dev/null
	expect_reject "^error: Invalid argument: missing SKIFF_A_SERVICE \[missing $A_SERVICE\]$" $CMD_SERVICE_DEL
	expect_reject "missing SKIFF_SERVICE_A_PROTO .*\[missing $SVC_PROTO\]$" \
		$CMD_SERVICE_DEL $(svc_nest "$VIP" "$PORT")
	expect_reject "^error: Invalid argument: a service is deleted by its key alone \[offset" \
		$CMD_SERVICE_DEL $(svc_nest "$VIP" "$PORT" "$TCP" "$B1")
	expect_reject "^error: Invalid argument: a service is deleted by its key alone \[offset" \
		$CMD_SERVICE_DEL $(svc_nest "$VIP" "$PORT" "$TCP" "$(nla $SVC_AFFINITY "$(u32 5)")")
	expect_reject "^error: Invalid argument: a service is deleted by its key alone \[offset" \
		$CMD_SERVICE_DEL $(svc_nest "$VIP" "$PORT" "$TCP" "$(nla $SVC_FLAGS "$(u32 1)")")
	expect_reject "^error: No such file or directory: no such service$" \
		$CMD_SERVICE_DEL $(svc_nest "$VIP" "$(nla $SVC_PORT "$(u16 81)")" "$TCP")
	expect_reject "^error: Invalid argument: Unsupported attribute \[offset" \
		$CMD_SERVICE_DEL $(svc_nest "$VIP" "$PORT" "$TCP") $A_REPLACE ""
	check_eq "$(skiff-nltest raw $CMD_SERVICE_DEL $(svc_nest "$VIP" "$PORT" "$TCP"))" ok "deleted"
}

test_config_set_validation() {
	local cidr len

	cidr=$(nla $CFG_CIDR4 "$(ip4 10.244.0.0)")
	len=$(nla $CFG_LEN "$(u8 16)")
	expect_reject "^error: Invalid argument: missing SKIFF_A_CONFIG \[missing $A_CONFIG\]$" $CMD_CONFIG_SET
	expect_reject "missing SKIFF_CONFIG_A_CLUSTER_CIDR4 .*\[missing $CFG_CIDR4\]$" \
		$CMD_CONFIG_SET $(cfg_nest "$len")
	expect_reject "missing SKIFF_CONFIG_A_CLUSTER_CIDR_LEN .*\[missing $CFG_LEN\]$" \
		$CMD_CONFIG_SET $(cfg_nest "$cidr")
	expect_reject "^error: Numerical result out of range: integer out of range \[offset" \
		$CMD_CONFIG_SET $(cfg_nest "$cidr" "$(nla $CFG_LEN "$(u8 33)")")
	expect_reject "^error: Invalid argument: cluster CIDR has host bits set \[offset" \
		$CMD_CONFIG_SET $(cfg_nest "$(nla $CFG_CIDR4 "$(ip4 10.244.1.0)")" "$len")
	check_eq "$(skiff-nltest raw $CMD_CONFIG_SET $(cfg_nest "$cidr" "$len"))" ok "valid"
}

test_writes_need_cap_net_admin() {
	local out

	! out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		--bounding-set=-all skiff-dp dev add skiff1 2>&1) || fail "nobody created a device"
	check_match "$out" "Operation not permitted" "message"
	! ip link show skiff1 2> /dev/null || fail "device created"
}

test_writes_allowed_to_owner_of_user_namespace() {
	local out

	# An unprivileged user owning a user and network namespace is admin
	# there (GENL_UNS_ADMIN_PERM), as for other netdev families.
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
		unshare --user --map-root-user --net \
		bash -c 'skiff-dp dev add skiff1 && skiff-dp -j dev show' 2>&1) ||
		fail "refused: $out"
	check_eq "$(jq -r '.[0].name' <<< "$out")" skiff1 "created in the user's netns"
}

case_cleanup() {
	cleanup_dev
}

run_tests \
	test_dev_new_accepts_a_well_formed_request \
	test_dev_new_needs_its_nest \
	test_dev_new_needs_a_name \
	test_dev_new_nest_needs_nested_flag \
	test_dev_new_vni_range \
	test_dev_new_port_range \
	test_dev_new_mtu_range \
	test_dev_new_bad_names \
	test_dev_new_wrong_attribute_size \
	test_dev_new_vtep_mac \
	test_dev_new_local_address \
	test_dev_new_read_only_attributes \
	test_dev_new_name_taken \
	test_dev_new_port_taken \
	test_rtnetlink_cannot_create \
	test_dev_del_selects_one_device \
	test_peer_new_validation \
	test_peer_del_validation \
	test_peer_dump_needs_device \
	test_service_set_validation \
	test_service_del_validation \
	test_config_set_validation \
	test_writes_need_cap_net_admin \
	test_writes_allowed_to_owner_of_user_namespace
