#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Second stage of the test VM, PID 1 in a chroot of the host's root (see
# init). Loads skiff.ko if asked, runs the job's command from the checkout,
# then judges the kernel: any warning, oops or new taint other than
# out-of-tree (O) or unsigned (E) fails the run. The result goes to the
# job folder for the host (run.sh) to read, and the VM powers off.

job=/tmp/skiff-job
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TERM=dumb LANG=C.UTF-8
export SKIFF_TOP
SKIFF_TOP=$(cat "$job/top")
SKIFF_VM=1
export SKIFF_VM

finish() {
	echo "$1" > "$job/rc"
	sync
	echo "skiff-vm: result $1"
	echo o > /proc/sysrq-trigger
	sleep 30
}
# PID 1 must never exit: that would panic the kernel before we report.
trap 'finish 125' EXIT

# Taint bits that are not a problem: O (out-of-tree, 4096), E (unsigned, 8192).
TAINT_ALLOWED=$((4096 | 8192))
# What a kernel prints when something is wrong, whatever the subsystem.
KERNEL_TROUBLE='WARNING:|BUG:|Oops|Call Trace:|general protection fault|kernel BUG|UBSAN:|KASAN:|unreferenced object|refcount_t:|INFO: task .* blocked|INFO: rcu|possible (recursive|circular) locking|suspicious RCU usage|list_(add|del) corruption'

hostname skiff-vm
# devtmpfs has no /dev/fd: bash's <(...) needs it.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
ip link set lo up
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# Containers (runc, for the node agent's tests) need cgroups: the unified
# hierarchy, as systemd mounts it on Debian.
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
# ... with every controller delegated below the root, as systemd does, so
# that containers get memory and CPU limits.
for c in $(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null); do
	echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
done
# A kernel built for the tests brings its modules (run.sh --kernel-dir).
if [ -s "$job/moddir" ]; then
	mount --bind "$(cat "$job/moddir")" /lib/modules ||
		echo "skiff-vm: cannot mount $(cat "$job/moddir") on /lib/modules"
fi
kmemleak=/sys/kernel/debug/kmemleak
if [ -e "$job/kmemleak" ]; then
	if [ -w "$kmemleak" ]; then
		# What the kernel leaked while booting is not ours to judge.
		echo clear > "$kmemleak"
	else
		echo "skiff-vm: kmemleak asked for, but this kernel has none"
		finish 1
	fi
fi
# run.sh --forward: qemu's user network, whose fixed addresses need no DHCP.
if [ -e "$job/net" ]; then
	modprobe virtio_net 2>/dev/null
	ip link set eth0 up &&
		ip addr add 10.0.2.15/24 dev eth0 &&
		ip route add default via 10.0.2.2 ||
		echo "skiff-vm: cannot bring up eth0"
fi
echo "skiff-vm: kernel $(uname -r) up in $(cut -d' ' -f1 /proc/uptime) s"

dmesg_start=$(dmesg | wc -l)
taint_start=$(cat /proc/sys/kernel/tainted)
# A KASAN report while booting is not the module's, but KASAN reports only
# once unless booted with kasan_multi_shot: it would be blind for the run.
if dmesg | grep -q "BUG: KASAN" &&
   ! grep -qw kasan_multi_shot /proc/cmdline; then
	echo "skiff-vm: FAIL: KASAN reported while booting, and would report nothing more:"
	dmesg | grep -A 12 -m 1 "BUG: KASAN" | sed 's/^/skiff-vm: dmesg: /'
	finish 1
fi

rc=0
ko=$(cat "$job/module" 2>/dev/null)
if [ -n "$ko" ]; then
	# insmod does not resolve dependencies: load them from /lib/modules.
	for dep in $(modinfo -F depends "$ko" | tr ',' ' '); do
		modprobe "$dep" || echo "skiff-vm: modprobe $dep failed"
	done
	if ! insmod "$ko"; then
		echo "skiff-vm: insmod $ko failed"
		rc=1
	fi
fi

if [ "$rc" = 0 ]; then
	cd "$SKIFF_TOP" || exit
	bash "$job/cmd" < /dev/null
	rc=$?
	echo "skiff-vm: command exited with $rc"
fi

# Leaks: unload the module so that everything it still held is freed or
# leaked for good, then scan. kmemleak reports objects unreferenced for 5 s
# or more; the second scan confirms what the first found.
if [ -e "$job/kmemleak" ]; then
	if [ -d /sys/module/skiff ] && ! rmmod skiff; then
		echo "skiff-vm: cannot unload skiff.ko after the tests"
		rc=1
	fi
	sleep 5
	echo scan > "$kmemleak"
	sleep 5
	echo scan > "$kmemleak"
	leaks=$(cat "$kmemleak")
	if [ -n "$leaks" ]; then
		echo "skiff-vm: FAIL: kmemleak found leaks:"
		echo "$leaks" | sed 's/^/skiff-vm: kmemleak: /'
		[ "$rc" = 0 ] && rc=1
	else
		echo "skiff-vm: kmemleak: no leaks"
	fi
fi

trouble=$(dmesg | tail -n +"$((dmesg_start + 1))" | grep -E "$KERNEL_TROUBLE")
taint=$(cat /proc/sys/kernel/tainted)
new_taint=$(( (taint & ~taint_start) & ~TAINT_ALLOWED ))
if [ -n "$trouble" ] || [ "$new_taint" != 0 ]; then
	echo "skiff-vm: FAIL: the kernel reported trouble (taint $taint, new $new_taint):"
	dmesg | tail -n +"$((dmesg_start + 1))" | sed 's/^/skiff-vm: dmesg: /'
	[ "$rc" = 0 ] && rc=1
fi

trap - EXIT
finish "$rc"
