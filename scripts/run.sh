#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: start a local skiff cluster. The control plane and the node
# agent are not written yet, so for now this says what was built, what the
# machine can do with it, and what is still missing.

top=$(cd "$(dirname "$0")/.." && pwd)
kver=$("$top/scripts/kernel-release.sh") || exit 1

echo "skiff $(cat "$top/VERSION")"
echo
echo "Built:"
echo "  skiff.ko              for Linux $kver ($top/skiff.ko)"
echo "  build/bin/skiff-dp    data plane tool"
echo
if [ -e /proc/modules ] && [ "$(uname -r)" = "$kver" ]; then
	echo "This kernel loads modules: insmod skiff.ko, then build/bin/skiff-dp info."
else
	echo "This kernel ($(uname -r)) cannot load skiff.ko; try it in the test VM:"
	echo "  scripts/vm/run.sh -- build/bin/skiff-dp info"
fi
echo
echo "Not there yet, so no cluster was started:"
echo "  - skiff-apiserver, skiff-scheduler, skiff-controller-manager (control plane)"
echo "  - skiff-node (kubelet, proxy, overlay) and the data plane behind skiff-dp"
echo "  - skiffctl, certificates, the demo Deployment"
echo "make check runs every test that exists today."
