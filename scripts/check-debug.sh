#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-debug.sh [--planted]
#
# make check-debug: the kernel module's selftests on a debug kernel (KASAN,
# kmemleak, lockdep and PROVE_RCU, UBSAN, DEBUG_ATOMIC_SLEEP, DEBUG_LIST,
# netdev/netns refcount trackers). Builds the kernel once
# (scripts/debug-kernel/build.sh, cached outside the checkout), builds
# skiff.ko against it in build/kmod-debug, runs selftests/kmod and
# selftests/dataplane in the VM on it, unloads the module, scans for leaks,
# and fails on any report of the kernel, printing it.
#
# --planted builds the module with the use-after-free planted in
# kmod/peer.c (SKIFF_PLANT_UAF=y) and runs only the test that deletes a
# peer: the run must fail with the KASAN report shown. It proves the check
# can fail; it is not part of make check-debug.
#
# Environment: SKIFF_DEBUG_TESTS overrides the test files (relative to the
# top of the checkout), e.g. SKIFF_DEBUG_TESTS=selftests/kmod/netlink.sh.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
planted=""
case "${1:-}" in
--planted) planted=1 ;;
"") ;;
*) echo "usage: check-debug.sh [--planted]" >&2; exit 2 ;;
esac

kernel_dir=$("$top/scripts/debug-kernel/build.sh")
release=$(cat "$kernel_dir/release")

out=$top/build/kmod-debug${planted:+-planted}
mkdir -p "$out"
cp -rp "$top/Kbuild" "$top/VERSION" "$top/kmod" "$top/include" "$out/"
echo "check-debug: building skiff.ko for $release in ${out#$top/}"
make -C "$kernel_dir/linux" M="$out" V=0 ${planted:+SKIFF_PLANT_UAF=y} modules

tests=${SKIFF_DEBUG_TESTS:-selftests/kmod/*.sh selftests/dataplane/*.sh}
[ -z "$planted" ] || tests=selftests/dataplane/monitor.sh
# shellcheck disable=SC2086 # $tests is a list of globs
# SKIFF_TIME_SCALE: this kernel is many times slower than Debian's (KASAN,
# lockdep, under the emulator), so the tests' hang guards grow 5 times.
# script(1) gives prove a terminal, so that each test's line shows as it
# ends (a file takes minutes on this kernel) rather than all at the end.
# pci=noacpi: evaluating the PCI routing table in ACPI's interpreter takes
# over a minute of timeouts on this kernel under the emulator.
# kasan_multi_shot: KASAN otherwise reports only the first bad access of a
# boot and nothing after it. no5lvl: with 5-level paging (qemu's -cpu max
# has LA57) this kernel reports wild-memory-access in early boot, from an
# interrupt taken in identify_cpu(), thousands of times; without
# multi-shot that one boot report silenced KASAN for the whole run (the
# planted use-after-free went unreported). 4-level paging boots clean.
exec "$top/scripts/vm/run.sh" --kernel-dir "$kernel_dir" --kmemleak \
	--append "pci=noacpi no5lvl kasan_multi_shot" \
	--module "$out/skiff.ko" --memory 4096 --timeout 5400 \
	-- env SKIFF_BACKEND=kmod SKIFF_KO="$out/skiff.ko" SKIFF_TIME_SCALE=5 \
	script -qefc "prove $(echo $tests)" /dev/null
