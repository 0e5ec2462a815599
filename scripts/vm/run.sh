#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh [OPTIONS] [--] COMMAND [ARGS...]
#
# Boots Debian's kernel under qemu with the host's root shared read-only
# over 9p, loads skiff.ko, runs COMMAND (from the top of the checkout) in
# the VM, streams the console and exits with COMMAND's status. The run fails
# when the kernel warned, oopsed or was tainted by anything but an
# out-of-tree module, and when the guest hangs past the timeout (it is then
# killed, never left running).
#
# Options:
#   --timeout SEC     kill the VM after SEC seconds (default 600); exit 124;
#                     0: no deadline (make run VM=1's cluster)
#   --module PATH     the module to load first (default: skiff.ko of this
#                     checkout); --no-module loads none
#   --kver RELEASE    kernel to boot (default: scripts/kernel-release.sh)
#   --kernel-dir DIR  boot a kernel built by scripts/debug-kernel/build.sh
#                     (DIR is what it prints) with its modules
#   --kmemleak        after COMMAND, unload skiff.ko and fail on any leak
#   --append ARGS     more kernel command line
#                     kmemleak reports from the run (a kernel with kmemleak)
#   --memory MB       guest memory (default 2048)
#   --cpus N          guest CPUs (default: the host's, at most 4)
#   --icount          the guest's clock counts instructions: 1 ns per
#                     instruction executed, idle time skipped (qemu -icount
#                     shift=0,sleep=off), so times measured in the guest
#                     are work done, not the host's load; one CPU (qemu
#                     hangs bringing up a second one under -icount here)
#   --share DIR       DIR of the host, writable, at the same path in the
#                     guest (over the read-only root); repeatable
#   --forward H:G     a network card (qemu's user networking, the guest at
#                     10.0.2.15) and host TCP port 127.0.0.1:H forwarded to
#                     the guest's port G; repeatable. Without it the VM has
#                     no network card.
#
# Exit status: COMMAND's, or 1 when the kernel reported trouble, 124 on
# timeout, 125 when the guest never reported a result (boot failure, panic).

set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
timeout=600
module=$top/skiff.ko
kver=""
memory=2048
kernel_dir=""
kmemleak=""
icount=""
cpus_set=""
append=""
shares=()
forwards=""
cpus=$(nproc)
[ "$cpus" -gt 4 ] && cpus=4
accel=(-accel tcg,thread=multi)

usage() {
	sed -n '3,39p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) timeout=${2:?}; shift 2 ;;
	--module) module=${2:?}; shift 2 ;;
	--no-module) module=""; shift ;;
	--kver) kver=${2:?}; shift 2 ;;
	--kernel-dir) kernel_dir=${2:?}; shift 2 ;;
	--kmemleak) kmemleak=1; shift ;;
	--append) append=${2:?}; shift 2 ;;
	--memory) memory=${2:?}; shift 2 ;;
	--cpus) cpus=${2:?}; cpus_set=1; shift 2 ;;
	--icount)
		accel=(-accel tcg,thread=single -icount shift=0,sleep=off,align=off)
		icount=1; shift ;;
	--share)
		[ -d "${2:?}" ] || { echo "run.sh: --share $2: not a folder" >&2; exit 2; }
		shares+=("$(realpath "$2")"); shift 2 ;;
	--forward)
		[[ "${2:?}" =~ ^[0-9]{1,5}:[0-9]{1,5}$ ]] ||
			{ echo "run.sh: --forward $2: want HOSTPORT:GUESTPORT" >&2; exit 2; }
		forwards+=",hostfwd=tcp:127.0.0.1:${2%%:*}-:${2#*:}"; shift 2 ;;
	--) shift; break ;;
	-h|--help) usage ;;
	-*) echo "run.sh: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || usage
case "$timeout$memory$cpus" in
*[!0-9]*) echo "run.sh: --timeout, --memory and --cpus take whole numbers" >&2; exit 2 ;;
esac
if [ -n "$icount" ] && [ "$cpus_set" ] && [ "$cpus" != 1 ]; then
	echo "run.sh: --icount runs one CPU, not $cpus" >&2
	exit 2
fi
[ -z "$icount" ] || cpus=1

moddir=/lib/modules
if [ -n "$kernel_dir" ]; then
	kernel_dir=$(realpath -e "$kernel_dir") && [ -s "$kernel_dir/release" ] ||
		{ echo "run.sh: $kernel_dir is not a built kernel" >&2; exit 125; }
	kver=$(cat "$kernel_dir/release")
	kernel=$kernel_dir/linux/arch/x86/boot/bzImage
	moddir=$kernel_dir/root/lib/modules
else
	[ -n "$kver" ] || kver=$("$top/scripts/kernel-release.sh") || exit 125
	kernel=/boot/vmlinuz-$kver
fi
if [ -n "$module" ]; then
	module=$(realpath -e "$module" 2>/dev/null) ||
		{ echo "run.sh: module not found; run make first" >&2; exit 125; }
	modver=$(modinfo -F vermagic "$module" | cut -d' ' -f1)
	if [ "$modver" != "$kver" ]; then
		echo "run.sh: $module is built for $modver, not $kver" >&2
		exit 125
	fi
fi

# The initramfs depends on the kernel's modules and on init/mkinitramfs.sh.
initramfs=$top/build/vm/initramfs-$kver.cpio.gz
if [ ! -e "$initramfs" ] || [ "$top/scripts/vm/init" -nt "$initramfs" ] ||
   [ "$top/scripts/vm/mkinitramfs.sh" -nt "$initramfs" ] ||
   [ "$moddir/$kver/modules.dep" -nt "$initramfs" ]; then
	"$top/scripts/vm/mkinitramfs.sh" "$kver" "$initramfs" "$moddir" || exit 125
fi

job=$(mktemp -d /tmp/skiff-vm.XXXXXX)
qemu_pid=""
cleanup() {
	[ -n "$qemu_pid" ] && kill -KILL "$qemu_pid" 2>/dev/null
	rm -rf "$job"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# readonly=on: the guest cannot write to the host, only to the job folder
# and the --share folders.
share() {
	printf -- '-virtfs local,path=%s,mount_tag=%s,security_model=none,multidevs=remap%s' \
		"$1" "$2" "$3"
}

echo "$top" > "$job/top"
echo "$module" > "$job/module"
# The guest sees the host's /lib/modules; another kernel brings its own.
[ "$moddir" = /lib/modules ] || echo "$moddir" > "$job/moddir"
[ -z "$kmemleak" ] || touch "$job/kmemleak"
# init mounts each share (tag, then the path) and guest.sh brings up the
# network card when there is one.
nic=(-nic none)
if [ -n "$forwards" ]; then
	nic=(-nic "user,model=virtio-net-pci$forwards")
	touch "$job/net"
fi
share_args=()
for i in "${!shares[@]}"; do
	echo "share$i ${shares[$i]}" >> "$job/shares"
	# shellcheck disable=SC2207 # two words, and paths without blanks
	share_args+=($(share "${shares[$i]}" "share$i" ""))
done
{
	printf 'cd %q || exit 125\n' "$top"
	printf '%q ' "$@"
	printf '\n'
} > "$job/cmd"

# The firmware clears the screen with terminal escapes: keep logs readable.
strip_terminal_codes() {
	sed -u -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g'
}

qemu-system-x86_64 \
	"${accel[@]}" -cpu max -smp "$cpus" -m "$memory" \
	-nographic -no-reboot "${nic[@]}" \
	-kernel "$kernel" -initrd "$initramfs" \
	-append "console=ttyS0 quiet panic=-1 sysrq_always_enabled=1 $append" \
	$(share / hostroot ,readonly=on) \
	$(share "$top" skifftop ,readonly=on) \
	$(share "$job" job "") \
	"${share_args[@]}" \
	< /dev/null > >(strip_terminal_codes) &
qemu_pid=$!

# Kill the VM at the deadline; the watcher goes away with qemu.
[ "$timeout" = 0 ] && timeout=infinity
(
	sleep "$timeout" & sleep_pid=$!
	trap 'kill $sleep_pid 2>/dev/null; exit 0' TERM
	wait $sleep_pid
	echo "run.sh: VM timed out after $timeout s: killed" >&2
	kill -KILL "$qemu_pid" 2>/dev/null
	touch "$job/timed-out"
) &
watcher=$!

wait "$qemu_pid"
qemu_pid=""
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null

if [ -e "$job/timed-out" ]; then
	exit 124
fi
if [ ! -s "$job/rc" ]; then
	echo "run.sh: the guest reported no result (boot failure or kernel panic)" >&2
	exit 125
fi
exit "$(cat "$job/rc")"
