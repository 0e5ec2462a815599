#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Prints the release of the kernel skiff.ko is built for and tested on.
#
# The running kernel when it has its build tree and an image to boot; else
# the newest Debian kernel that has both (the machines here run a kernel that
# cannot load modules, so the module is built for Debian's and tested in a VM).

set -eu

has_all() {
	[ -e "/lib/modules/$1/build/Makefile" ] && [ -e "/boot/vmlinuz-$1" ]
}

running=$(uname -r)
if has_all "$running"; then
	echo "$running"
	exit 0
fi

for dir in $(ls -d /lib/modules/*/ 2>/dev/null | sort -rV); do
	release=$(basename "$dir")
	if has_all "$release"; then
		echo "$release"
		exit 0
	fi
done

echo "kernel-release: no kernel with both /lib/modules/RELEASE/build and" \
	"/boot/vmlinuz-RELEASE; run scripts/install-deps.sh" >&2
exit 1
