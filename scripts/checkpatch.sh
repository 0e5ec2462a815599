#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# checkpatch.sh [ARGS...]: the kernel's scripts/checkpatch.pl, taken from
# Debian's linux-source-6.1 package (the source of the kernel under test)
# and kept in a cache outside the checkout, extracted again only when the
# package changes.

set -eu

tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1)
[ -n "$tarball" ] || { echo "checkpatch.sh: no /usr/src/linux-source-*.tar.xz (install linux-source-6.1)" >&2; exit 1; }

name=$(basename "$tarball" .tar.xz)
version=$(dpkg-query -W -f='${Version}' "$name" 2>/dev/null || stat -c %Y "$tarball")
cache=${SKIFF_CACHE:-/var/cache/skiff}/checkpatch-$name-$version

if [ ! -x "$cache/scripts/checkpatch.pl" ]; then
	mkdir -p "$cache.tmp"
	tar -xJf "$tarball" -C "$cache.tmp" --strip-components=1 \
		"$name/scripts/checkpatch.pl" "$name/scripts/spelling.txt" \
		"$name/scripts/const_structs.checkpatch"
	rm -rf "$cache"
	mv "$cache.tmp" "$cache"
fi

exec perl "$cache/scripts/checkpatch.pl" "$@"
