#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build.sh [-q]
#
# Builds the debug kernel make check-debug boots, from Debian's
# linux-source-6.1 package: defconfig + kvm_guest.config + net.config (what
# the selftests need, built in) + debug.config (KASAN, kmemleak, lockdep,
# UBSAN, ...). The build is cached under /var/cache/skiff/debug-kernel/KEY,
# KEY hashing the fragments, this script and the source package's version:
# it is rebuilt only when one of them changes. About 30 minutes on 2 cores
# the first time.
#
# Prints the cache folder on stdout; it holds:
#   linux/                    the configured, built tree (build skiff.ko with
#                             make -C DIR/linux M=...)
#   linux/arch/x86/boot/bzImage
#   root/lib/modules/RELEASE  modules_install of the tree
#   release                   the kernel release (uname -r)

set -eu
set -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
tarball=/usr/src/linux-source-6.1.tar.xz
cache_top=${SKIFF_CACHE:-/var/cache/skiff}/debug-kernel
fragments="$here/net.config $here/debug.config"
quiet=""
[ "${1:-}" = -q ] && quiet=1

say() { [ -n "$quiet" ] || echo "debug-kernel: $*" >&2; }
die() { echo "debug-kernel: $*" >&2; exit 1; }

[ -r "$tarball" ] || die "$tarball missing: run scripts/install-deps.sh"
version=$(dpkg-query -W -f '${Version}' linux-source-6.1) ||
	die "linux-source-6.1 is not installed: run scripts/install-deps.sh"
key=$( { echo "$version"; cat $fragments "$0"; } | sha256sum | cut -c1-16)
cache=$cache_top/$key
tree=$cache/linux

mkdir -p "$cache_top"
exec 9> "$cache_top/lock"
flock 9

if [ -e "$cache/done" ]; then
	echo "$cache"
	exit 0
fi

# Older builds are stale by definition: one debug tree is 5+ GB.
for old in "$cache_top"/*/; do
	[ "$old" = "$cache/" ] || rm -rf "$old"
done

rm -rf "$cache"
mkdir -p "$cache"
say "building in $cache (linux-source-6.1 $version); about 30 minutes"
say "extracting $tarball"
tar -xJf "$tarball" -C "$cache"
mv "$cache/linux-source-6.1" "$tree"

log=$cache/build.log
say "configuring (log: $log)"
configure() {
	make -C "$tree" defconfig kvm_guest.config &&
	"$tree/scripts/kconfig/merge_config.sh" -m -O "$tree" "$tree/.config" $fragments &&
	make -C "$tree" olddefconfig
}
configure > "$log" 2>&1 || { tail -20 "$log" >&2; die "configuring failed; see $log"; }

# A fragment line Kconfig dropped (a dependency missing, a name wrong)
# would quietly test a kernel without what it asks for: refuse.
bad=""
for frag in $fragments; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=n)
			opt=${line%%=*}
			grep -qE "^$opt=" "$tree/.config" && bad="$bad $line"
			;;
		CONFIG_*=*)
			grep -qxF "$line" "$tree/.config" || bad="$bad $line"
			;;
		esac
	done < "$frag"
done
[ -z "$bad" ] || die "the configuration did not take:$bad"

say "compiling with -j$(nproc)"
make -C "$tree" -j"$(nproc)" bzImage modules >> "$log" 2>&1 ||
	{ tail -30 "$log" >&2; die "kernel build failed; see $log"; }
make -C "$tree" modules_install INSTALL_MOD_PATH="$cache/root" \
	INSTALL_MOD_STRIP=1 >> "$log" 2>&1
make -C "$tree" -s kernelrelease > "$cache/release"
depmod -b "$cache/root" "$(cat "$cache/release")"
touch "$cache/done"
say "built $(cat "$cache/release")"
echo "$cache"
