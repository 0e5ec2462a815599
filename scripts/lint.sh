#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Static checks, as TAP: the kernel's checkpatch.pl --strict on the module
# and the uapi header; checkpatch on userspace C (kernel style, as
# wireguard-tools and iproute2 follow, less the rules that name kernel-only
# types and macros); a W=1 build of skiff.ko with sparse (C=2) that must
# print no warning.

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

n=0
failed=0
report() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

echo "TAP version 13"
echo "1..3"

out=$(scripts/checkpatch.sh --no-tree --strict --terse --show-types -f \
	kmod/*.[ch] include/uapi/linux/skiff.h 2>&1)
problems=$(grep -v 'total: 0 errors, 0 warnings, 0 checks' <<< "$out")
[ -z "$problems" ] || sed 's/^/# /' <<< "$problems"
report "$([ -z "$problems" ]; echo $?)" "checkpatch --strict: kmod/ and include/uapi"

out=$(scripts/checkpatch.sh --no-tree --strict --terse --show-types \
	--ignore PREFER_KERNEL_TYPES,CAMELCASE,PREFER_DEFINED_ATTRIBUTE_MACRO \
	-f userspace/*/*.[ch] selftests/tools/*.c bench/*.c 2>&1)
problems=$(grep -v 'total: 0 errors, 0 warnings, 0 checks' <<< "$out")
[ -z "$problems" ] || sed 's/^/# /' <<< "$problems"
report "$([ -z "$problems" ]; echo $?)" "checkpatch --strict: userspace C"

# A copy of the sources, so this build does not replace the real skiff.ko.
kver=$(scripts/kernel-release.sh) || exit 1
copy=build/kmod-lint
rm -rf "$copy"
mkdir -p "$copy"
cp -rp Kbuild VERSION kmod include "$copy/"
out=$(make -C "/lib/modules/$kver/build" M="$top/$copy" W=1 C=2 CHECK=sparse \
	CONFIG_DEBUG_INFO_BTF_MODULES= SKIFF_TEST_TRIGGERS=y modules 2>&1)
status=$?
problems=$(grep -Ei 'warning|error' <<< "$out")
[ -z "$problems" ] && [ "$status" = 0 ] || sed 's/^/# /' <<< "$out"
report "$([ -z "$problems" ] && [ "$status" = 0 ]; echo $?)" \
	"skiff.ko builds with W=1 and sparse without a warning"

[ "$failed" = 0 ]
