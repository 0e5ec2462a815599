#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh KVER OUTPUT [MODDIR]
#
# Builds the test VM's initramfs: static busybox, the modules that mount the
# host's root over virtio-9p (in dependency order, from modules.dep; none
# that the kernel has built in) and scripts/vm/init. Everything else comes
# from the host root once mounted. MODDIR holds KVER's modules (default
# /lib/modules).

set -eu

kver=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
moddir=${3:-/lib/modules}/$kver

[ -x /bin/busybox ] || { echo "mkinitramfs: /bin/busybox missing (busybox-static)" >&2; exit 1; }
file /bin/busybox 2>/dev/null | grep -q 'dynamically linked' &&
	{ echo "mkinitramfs: /bin/busybox is not static (install busybox-static)" >&2; exit 1; }
[ -e "$moddir/modules.dep" ] || { echo "mkinitramfs: no $moddir/modules.dep" >&2; exit 1; }

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/bin" "$staging/modules" "$staging/proc" "$staging/sys" \
	"$staging/dev" "$staging/newroot"
cp /bin/busybox "$staging/bin/busybox"
ln -s busybox "$staging/bin/sh"
cp "$here/init" "$staging/init"
chmod 755 "$staging/init"

# Prints the modules.dep path of module $1, after those of its dependencies.
order=""
add_module() {
	local path dep name
	grep -qE "(^|/)$1\.ko\$" "$moddir/modules.builtin" 2>/dev/null && return
	path=$(grep -E "(^|/)$1\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | cut -d: -f1)
	[ -n "$path" ] || { echo "mkinitramfs: module $1 not in $moddir" >&2; exit 1; }
	for dep in $(grep -E "^$path:" "$moddir/modules.dep" | cut -d: -f2); do
		name=$(basename "$dep" | sed 's/\.ko.*//')
		case " $order " in *" $name "*) ;; *) add_module "$name" ;; esac
	done
	case " $order " in *" $1 "*) return ;; esac
	order="$order $1"
	case "$path" in
	*.ko) cp "$moddir/$path" "$staging/modules/$1.ko" ;;
	*.ko.xz) xz -dc "$moddir/$path" > "$staging/modules/$1.ko" ;;
	*.ko.zst) zstd -qdc "$moddir/$path" > "$staging/modules/$1.ko" ;;
	*.ko.gz) gzip -dc "$moddir/$path" > "$staging/modules/$1.ko" ;;
	esac
}

for m in virtio_pci 9pnet_virtio 9p; do
	add_module "$m"
done
echo "$order" | tr ' ' '\n' | sed '/^$/d' > "$staging/modules/order"

mkdir -p "$(dirname "$out")"
(cd "$staging" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
