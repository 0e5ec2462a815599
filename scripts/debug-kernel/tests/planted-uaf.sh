#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-debug must be able to fail: skiff.ko built with the planted
# use-after-free (SKIFF_PLANT_UAF=y, kmod/peer.c) fails the run on the
# debug kernel, with KASAN's report in the output.

top=$(cd "$(dirname "$0")/../../.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "TAP version 13"
echo "1..1"
"$top/scripts/check-debug.sh" --planted > "$log" 2>&1
rc=$?
if [ "$rc" != 0 ] &&
   grep -q "BUG: KASAN: .*use-after-free in skiff_peer_del" "$log"; then
	echo "ok 1 planted use-after-free fails the run with KASAN's report"
	grep -E "BUG: KASAN|Read of size|skiff_peer_del" "$log" | head -n 5 | sed 's/^/# /'
else
	echo "not ok 1 planted use-after-free fails the run with KASAN's report"
	echo "# check-debug.sh --planted exited with $rc; its output:"
	sed 's/^/# /' "$log" | tail -n 80
fi
