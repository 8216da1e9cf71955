# Per-epoll NAPI busy polling in Rust for Linux 6.12: entry points.
#
#   make run        build the Rust kernel, boot it under QEMU, run the demo
#   make test       build both variants, boot each, run KUnit and selftests
#   make test-debug the same on KASAN/UBSAN/lockdep/kmemleak and KCSAN
#                   builds of the Rust kernel, with the long fuzzer run
#   make bench      boot the Rust and the C kernel alternately (5 rounds),
#                   benchmark both, write results/bench/ and the README table
#   make bench-servers memcached and redis-server under load in vng guests
#                   per busy-poll mode, both kernels: results/servers/
#   make patch      the upstream patch series in .cache/patches/ (cover
#                   letter, 18 patches), checkpatch --strict on each
#   make patch-check apply the series patch by patch, build after each
#   make kunit      the KUnit suite through tools/testing/kunit/kunit.py
#   make vng CMD=.. boot the Rust kernel with virtme-ng (host root shared),
#                   run CMD in it as root (VARIANT=c: the C kernel)
#   make vng-build  what a kernel developer does: vng --build --config
#                   .config.fragment in the patched tree (defconfig-based)
#   make rustdoc    HTML docs of the kernel crate and of our Rust code
#   make lint       rustfmtcheck, clippy (CLIPPY=1 flags), cargo fmt/clippy
#
# Each target names the script in scripts/ebp/ that does the work.
# Generated files live in .cache/ (EBP_CACHE=dir to move it).

VARIANT ?= rust
SCRIPTS := scripts/ebp
CACHE := $(or $(EBP_CACHE),$(CURDIR)/.cache)
T = @start=$$(date +%s); echo "==> make $@: $(1)";
DONE = ; rc=$$?; echo "==> make $@: done in $$(( $$(date +%s) - start ))s"; exit $$rc

.PHONY: all deps source kernel image-path initramfs run test test-debug bench bench-servers kunit patch patch-check vng vng-build \
	rustdoc lint clean distclean help

all: help

help:
	@sed -n 's/^#   //p' Makefile

deps:
	$(call T,install missing tools) $(SCRIPTS)/deps.sh $(DONE)

source: deps
	$(call T,make the patched source tree) $(SCRIPTS)/overlay.sh $(DONE)

kernel: deps
	$(call T,build the $(VARIANT) kernel) $(SCRIPTS)/kernel.sh $(VARIANT) $(DONE)

# Prints the absolute path of the VARIANT's bzImage (use with make -s).
image-path:
	@echo $(CACHE)/build/$(VARIANT)/arch/x86/boot/bzImage

initramfs: deps
	$(call T,build the guest userspace) $(SCRIPTS)/initramfs.sh $(DONE)

run: deps
	$(call T,boot the Rust kernel and run the demo) \
	$(SCRIPTS)/kernel.sh rust && $(SCRIPTS)/initramfs.sh && $(SCRIPTS)/run.sh $(DONE)

# test.sh prints its own timing: its last line must be "N passed, M failed".
test: deps
	@$(SCRIPTS)/test.sh

# Cold: two more kernel builds (9-12 min each), then a 4-6 min boot each (TCG).
test-debug: deps
	@$(SCRIPTS)/test-debug.sh

# Warm: about 20 boots of 12-25 s.  BENCH_ROUNDS, BENCH_TRIPS, BENCH_CALLS
# size it (scripts/ebp/bench.sh).
bench: deps
	@$(SCRIPTS)/bench.sh

# Warm: 15-20 min under TCG (two vng boots of 6-9 min).  SERVERS, PATHS,
# MODES, LOADS narrow it; BENCH_SERVERS_SMOKE=1 is a 3-4 min check
# (scripts/ebp/bench-servers.sh).
bench-servers: deps
	@$(SCRIPTS)/bench-servers.sh

# kunit.py builds its own kernel from fs/eventpoll_busy_poll/.kunitconfig.
kunit: deps
	@$(SCRIPTS)/kunit.sh

# CMD (one shell command line, from the environment as make passes it) runs
# in this directory inside the guest.
vng: deps
	@$(SCRIPTS)/vng.sh "$$CMD"

# Cold: a defconfig kernel with Rust, much bigger than ours (see README).
vng-build: deps
	@$(SCRIPTS)/vng-build.sh

rustdoc: deps
	$(call T,document the Rust code) $(SCRIPTS)/rustdoc.sh $(DONE)

lint: deps
	$(call T,lint the Rust code) $(SCRIPTS)/lint.sh $(DONE)

# scripts/ebp/series/ as git format-patch files; SIGNOFF="Name <mail>"
# (default: git config user.name/user.email).
patch: deps
	$(call T,write the patch series and checkpatch it) $(SCRIPTS)/patch.sh $(DONE)

# Cold: one kernel build, then an incremental one per patch, and the C
# variant at the last patch (about 20 min on 2 cores).
patch-check: deps
	$(call T,build the series patch by patch) $(SCRIPTS)/patch-check.sh $(DONE)

clean:
	rm -rf $(CACHE)/build $(CACHE)/initramfs $(CACHE)/logs $(CACHE)/cargo

distclean:
	rm -rf $(CACHE)
