# SPDX-License-Identifier: GPL-2.0
#
# skiff: the two commands are `make run` and `make check` (see README.md).
# Both install what is missing first (scripts/install-deps.sh).
#
#   make            build skiff.ko and every userspace program
#   make kmod       build skiff.ko only, against KDIR
#   make userspace  build the programs into build/bin
#   make check      every test suite, one summary line each
#   make run        start a local cluster (NODES=N nodes, default 3)
#   make stop       tear it down
#   make deps       install missing Debian packages
#
# V=1 shows every command.

ifeq ($(V),1)
Q :=
else
Q := @
MAKEFLAGS += --no-print-directory
endif

TOP := $(CURDIR)
BUILD := $(TOP)/build
BIN := $(BUILD)/bin
OBJ := $(BUILD)/obj

# The kernel skiff.ko is built for: the running one when it has a build
# tree, else Debian's (see scripts/kernel-release.sh). Evaluated when used,
# so that `make check` can install the headers first.
KVER ?= $(shell $(TOP)/scripts/kernel-release.sh)
KDIR ?= /lib/modules/$(KVER)/build

CC ?= cc
PKGS := libnl-3.0 libnl-genl-3.0 libnl-route-3.0 jansson libnftnl libmnl libnetfilter_conntrack \
	libmicrohttpd sqlite3 libcurl gnutls yaml-0.1
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS)) -lm

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE
CFLAGS += -I$(TOP)/include/uapi -I$(TOP)/userspace/lib
CFLAGS += -I$(TOP)/userspace/store -I$(TOP)/userspace/api
CFLAGS += -I$(TOP)/userspace/client -I$(TOP)/userspace/node
CFLAGS += -DSKIFF_VERSION='"$(shell cat $(TOP)/VERSION)"'
CFLAGS += -MMD -MP

LIB_SRCS := $(wildcard userspace/lib/*.c userspace/store/*.c userspace/api/*.c \
	userspace/client/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(OBJ)/%.o)
LIB := $(BUILD)/libskiff.a

PROGS := $(BIN)/skiff-dp $(BIN)/skiff-apiserver $(BIN)/skiff-scheduler \
	$(BIN)/skiff-controller-manager $(BIN)/skiff-node $(BIN)/skiff-shim $(BIN)/skiffctl
UNIT_TESTS := $(patsubst userspace/tests/%.c,$(BUILD)/tests/%,\
		$(filter-out userspace/tests/tap.c,$(wildcard userspace/tests/*.c)))
SELFTEST_TOOLS := $(BUILD)/selftests/skiff-nltest $(BUILD)/selftests/skiff-hollow-nodes

.SECONDARY:

.PHONY: all kmod kmod-triggers userspace deps check run stop clean \
	check-unit check-cli check-lint check-api check-controllers check-node check-e2e check-nft check-vm \
	check-node-vm check-ha-vm check-harness

all: kmod userspace

deps:
	$(Q)$(TOP)/scripts/install-deps.sh

# ---- kernel module -------------------------------------------------------

# Kbuild is quiet unless V=1 by itself. BTF for modules needs a vmlinux the
# headers package does not ship, so it is switched off rather than warned of.
KBUILD_ARGS = -C $(KDIR) V=$(if $(V),$(V),0) CONFIG_DEBUG_INFO_BTF_MODULES=

kmod:
	$(Q)$(MAKE) $(KBUILD_ARGS) M=$(TOP) modules

# A second build of the module with test-only triggers, in a copy of the
# sources so that it never replaces the real skiff.ko.
TRIGGERS_DIR := $(BUILD)/kmod-triggers
kmod-triggers:
	$(Q)mkdir -p $(TRIGGERS_DIR)
	$(Q)cp -rp Kbuild VERSION kmod include $(TRIGGERS_DIR)/
	$(Q)$(MAKE) $(KBUILD_ARGS) M=$(TRIGGERS_DIR) SKIFF_TEST_TRIGGERS=y modules

# ---- userspace -----------------------------------------------------------

userspace: $(PROGS) $(UNIT_TESTS) $(SELFTEST_TOOLS)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	$(if $(Q),@echo "  AR      $(notdir $@)")
	$(Q)rm -f $@ && ar rcs $@ $^

DP_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(wildcard userspace/dp/*.c))

$(BIN)/skiff-dp: $(DP_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $(notdir $@)")
	$(Q)$(CC) -o $@ $^ $(PKG_LIBS)

APISERVER_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(wildcard userspace/apiserver/*.c))

$(BIN)/skiff-apiserver: $(APISERVER_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $(notdir $@)")
	$(Q)$(CC) -o $@ $^ $(PKG_LIBS) -lpthread

SCHEDULER_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(wildcard userspace/scheduler/*.c))

$(BIN)/skiff-scheduler: $(SCHEDULER_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $(notdir $@)")
	$(Q)$(CC) -o $@ $^ $(PKG_LIBS)

CTL_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(wildcard userspace/ctl/*.c))

$(BIN)/skiffctl: $(CTL_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $(notdir $@)")
	$(Q)$(CC) -o $@ $^ $(PKG_LIBS)

CM_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(wildcard userspace/controller-manager/*.c))

$(BIN)/skiff-controller-manager: $(CM_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $(notdir $@)")
	$(Q)$(CC) -o $@ $^ $(PKG_LIBS)

# skiff-node is every .c of userspace/node but the shim, which is its own
# small program (one per container, outliving agent restarts).
NODE_OBJS := $(patsubst %.c,$(OBJ)/%.o,\
	$(filter-out userspace/node/shim.c,$(wildcard userspace/node/*.c)))

NODE_LIB := $(BUILD)/libskiff-node.a

$(NODE_LIB): $(filter-out $(OBJ)/userspace/node/main.o,$(NODE_OBJS))
	$(if $(Q),@echo "  AR      $(notdir $@)")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN)/skiff-node: $(OBJ)/userspace/node/main.o $(NODE_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $(notdir $@)")
	$(Q)$(CC) -o $@ $^ $(PKG_LIBS)

# Unit tests of the node agent's parts are named node_*.c.
$(BUILD)/tests/node_%: $(OBJ)/userspace/tests/node_%.o $(OBJ)/userspace/tests/tap.o \
		$(NODE_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      tests/$(notdir $@)")
	$(Q)$(CC) -o $@ $^ $(PKG_LIBS)

$(BIN)/skiff-shim: $(OBJ)/userspace/node/shim.o
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $(notdir $@)")
	$(Q)$(CC) -o $@ $^

$(BUILD)/tests/%: $(OBJ)/userspace/tests/%.o $(OBJ)/userspace/tests/tap.o $(LIB)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      tests/$(notdir $@)")
	$(Q)$(CC) -o $@ $^ $(PKG_LIBS)

$(BUILD)/selftests/%: $(OBJ)/selftests/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      selftests/$(notdir $@)")
	$(Q)$(CC) -o $@ $^ $(PKG_LIBS)

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

# ---- tests ---------------------------------------------------------------

# Each suite appends "suite: N passed, M failed" to $(SUMMARY); check prints
# them all at the end and fails if any suite failed.
SUMMARY := $(BUILD)/check-summary
SUITE = $(TOP)/scripts/run-suite.sh $(SUMMARY)

check:
	$(Q)$(TOP)/scripts/install-deps.sh
	$(Q)$(MAKE) all kmod-triggers
	$(Q)rm -f $(SUMMARY)
	$(Q)status=0; \
	for suite in check-unit check-cli check-lint check-api check-controllers check-node check-e2e check-nft check-vm check-node-vm check-ha-vm check-harness; do \
		$(MAKE) $$suite || status=1; \
	done; \
	echo; echo "==== summary"; cat $(SUMMARY); \
	awk '{ p += $$2; f += $$4 } END { printf "total: %d passed, %d failed\n", p, f }' \
		$(SUMMARY); \
	exit $$status

check-unit: userspace
	$(Q)$(SUITE) unit prove --exec '' $(UNIT_TESTS)

check-cli: userspace
	$(Q)$(SUITE) cli prove selftests/host/*.sh

check-lint:
	$(Q)$(SUITE) lint prove scripts/lint.sh

# The apiserver on the host: raw HTTP, and kubectl 1.32 and 1.20.
check-api: userspace
	$(Q)$(SUITE) apiserver prove selftests/apiserver/*.sh

# The scheduler and the controller manager against a real apiserver, with
# hollow nodes playing the kubelet.
check-controllers: userspace
	$(Q)$(SUITE) controllers prove selftests/controllers/*.sh

# The node agent in a cluster of network namespaces, on the nft backend.
check-node: userspace
	$(Q)SKIFF_BACKEND=nft $(SUITE) node prove selftests/node/*.sh

# The cluster of `make run`, driven by kubectl, then `make stop`; HA on
# etcd; `make run VM=1` from the host (it boots the VM: skiff.ko is needed).
check-e2e: all
	$(Q)$(SUITE) e2e prove selftests/e2e/*.sh

# The data plane tests run on both backends: nft on the host, kmod in the VM.
check-nft: userspace
	$(Q)SKIFF_BACKEND=nft $(SUITE) dataplane-nft prove selftests/dataplane/*.sh

check-vm: all
	$(Q)$(SUITE) selftests-vm $(TOP)/scripts/vm/run.sh --timeout 2400 \
		-- env SKIFF_BACKEND=kmod prove selftests/kmod/*.sh selftests/dataplane/*.sh

# The node agent's suite and the cluster of `make run` again, on skiff.ko
# (about 8 + N minutes).
check-node-vm: all
	$(Q)$(SUITE) node-vm $(TOP)/scripts/vm/run.sh --timeout 2400 \
		-- env SKIFF_BACKEND=kmod prove selftests/node/*.sh selftests/e2e/cluster.sh

# HA (two masters on etcd, leaders killed) on skiff.ko, about 5 minutes. Its
# leases grow with the time scale: under emulation 4 s leases change hands.
check-ha-vm: all
	$(Q)$(SUITE) ha-vm $(TOP)/scripts/vm/run.sh --timeout 1200 \
		-- env SKIFF_BACKEND=kmod SKIFF_TIME_SCALE=3 prove selftests/e2e/ha.sh

check-harness: all kmod-triggers
	$(Q)$(SUITE) vm-harness prove scripts/vm/tests/*.sh

# The kmod selftests on a debug kernel (KASAN, kmemleak, lockdep, UBSAN):
# not part of check (the kernel takes ~30 min to build the first time, the
# run about as long). Run it for every change under kmod/ (Documentation/
# testing.md). The second suite proves it can fail: a planted use-after-free
# must be caught.
DEBUG_SUMMARY := $(BUILD)/check-debug-summary
.PHONY: check-debug
check-debug:
	$(Q)$(TOP)/scripts/install-deps.sh
	$(Q)$(MAKE) userspace
	$(Q)rm -f $(DEBUG_SUMMARY)
	$(Q)status=0; \
	$(TOP)/scripts/run-suite.sh $(DEBUG_SUMMARY) selftests-debug \
		$(TOP)/scripts/check-debug.sh || status=1; \
	$(TOP)/scripts/run-suite.sh $(DEBUG_SUMMARY) debug-planted \
		prove scripts/debug-kernel/tests/*.sh || status=1; \
	echo; echo "==== summary"; cat $(DEBUG_SUMMARY); exit $$status

# Benchmarks: not part of check. bench-dataplane runs scripts/bench/ in the
# VM, bench-apiserver, bench-scheduler and bench-node on the host (each its
# own section of the page); all write Documentation/benchmarks.md (see that page).
.PHONY: bench-dataplane bench-apiserver bench-scheduler bench-node
bench-dataplane: all $(BUILD)/bench/connrate $(BUILD)/bench/svctime
	$(Q)$(TOP)/scripts/bench/dataplane.sh

bench-apiserver: userspace $(BUILD)/bench/apibench
	$(Q)$(TOP)/scripts/bench/apiserver.sh

bench-scheduler: userspace $(BUILD)/bench/schedbench
	$(Q)$(TOP)/scripts/bench/scheduler.sh

bench-node: userspace $(BUILD)/bench/nodebench
	$(Q)$(TOP)/scripts/bench/node.sh

# make bench: every benchmark, one at a time (they measure time), then the
# report (Documentation/benchmarks/report.md and its plots); a bench that
# fails does not stop the others, but fails the whole.
.PHONY: bench bench-report
bench:
	$(Q)rc=0; for b in dataplane apiserver scheduler node; do \
		$(MAKE) bench-$$b || rc=1; \
	done; $(MAKE) bench-report && exit $$rc

bench-report:
	$(Q)$(TOP)/scripts/bench/report.sh

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      bench/$(notdir $@)")
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

# make run [NODES=N]: a local cluster, left running; make stop ends it.
# make run VM=1: the same cluster in the test VM on skiff.ko (scripts/vm/cluster.sh).
run:
	$(Q)$(TOP)/scripts/install-deps.sh
	$(Q)$(MAKE) all
	$(Q)NODES=$(or $(NODES),3) $(TOP)/scripts/$(if $(VM),vm/cluster.sh,run.sh)

stop:
	$(Q)$(TOP)/scripts/stop.sh

clean:
	$(Q)if [ -e $(KDIR)/Makefile ]; then $(MAKE) $(KBUILD_ARGS) M=$(TOP) clean; fi
	$(Q)rm -rf $(BUILD)
