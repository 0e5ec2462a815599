#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The API suite (api.sh) with the apiserver's store in etcd, started on
# loopback by the test: both stores answer the same suite.

SKIFF_API_STORE=etcd exec bash "$(dirname "$0")/api.sh"
