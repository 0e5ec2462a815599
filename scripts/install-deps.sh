#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Installs what skiff needs to build, run and test on Debian bookworm.
# Idempotent: a package that is already installed is not touched, and when
# nothing is missing the script installs nothing and says so.
#
# Used by `make run`, `make check` and `make deps`; set SKIFF_NO_INSTALL=1 to
# only report what is missing.

set -eu

# One line per purpose, so that a reader sees why each package is here.
PACKAGES="
build-essential pkg-config
libnl-3-dev libnl-genl-3-dev libnl-route-3-dev
libmnl-dev libnftnl-dev libnetfilter-conntrack-dev
libjansson-dev libmicrohttpd-dev libcurl4-gnutls-dev libgnutls28-dev libsqlite3-dev libyaml-dev
linux-image-amd64 linux-headers-amd64 linux-source-6.1 sparse
flex bison bc libelf-dev libssl-dev
qemu-system-x86 busybox-static cpio kmod
iproute2 ethtool nftables runc crun tcpdump iperf3 socat
perl xz-utils jq file procps openssl gnuplot-nox
"
# etcd for the etcd store's tests: build/tests/store_etcd and
# selftests/apiserver/ha.sh start their own on loopback.
PACKAGES="$PACKAGES etcd-server"

# kubectl 1.20 (Debian's kubernetes-client) for the apiserver tests, which
# check both it and the kubectl 1.32 in /usr/bin. Installing the package
# would replace /usr/bin/kubectl, so it is unpacked into a folder instead.
KUBECTL_DIR=/var/cache/skiff/kubectl-1.20
KUBECTL_PKG=kubernetes-client

install_private_kubectl() {
	local tmp

	[ -x "$KUBECTL_DIR/usr/bin/kubectl" ] && return 0
	if [ "${SKIFF_NO_INSTALL:-0}" = 1 ] || [ "$(id -u)" != 0 ]; then
		echo "deps: missing: $KUBECTL_PKG (unpacked in $KUBECTL_DIR)"
		return 1
	fi
	tmp=$(mktemp -d)
	# apt-get download writes into the current folder, as user _apt.
	chmod 755 "$tmp"
	if ! (cd "$tmp" && { apt-get download -qq "$KUBECTL_PKG" ||
	      { apt-get update -qq && apt-get download -qq "$KUBECTL_PKG"; }; }); then
		rm -rf "$tmp"
		echo "deps: cannot download $KUBECTL_PKG" >&2
		return 1
	fi
	mkdir -p "$KUBECTL_DIR.new"
	dpkg-deb -x "$tmp"/"$KUBECTL_PKG"_*.deb "$KUBECTL_DIR.new"
	rm -rf "$tmp" "$KUBECTL_DIR"
	mv "$KUBECTL_DIR.new" "$KUBECTL_DIR"
	echo "deps: unpacked $KUBECTL_PKG into $KUBECTL_DIR"
}

missing=""
for pkg in $PACKAGES; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
	case "$status" in
	ii*) ;;
	*) missing="$missing $pkg" ;;
	esac
done

if [ -z "$missing" ]; then
	install_private_kubectl
	echo "deps: all packages present"
	exit 0
fi

echo "deps: missing:$missing"
if [ "${SKIFF_NO_INSTALL:-0}" = 1 ]; then
	install_private_kubectl || true
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: run as root (or install the packages above by hand)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# An update is needed on a fresh machine whose package lists are empty or old;
# retry once because mirrors occasionally answer with a transient error.
apt-get update -qq || apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
echo "deps: installed:$missing"
install_private_kubectl
