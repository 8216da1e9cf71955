#!/usr/bin/env bash
# `make test-debug`: the whole test job (test.sh) on debug builds of the
# Rust kernel, with the long form of the reliability tests:
#   kasan  KASAN + UBSAN + lockdep + DEBUG_ATOMIC_SLEEP + kmemleak
#   kcsan  KCSAN (+ lockdep + DEBUG_ATOMIC_SLEEP)
# Any sanitizer, lockdep or kmemleak report fails the run and is printed
# whole by results.py.  Ends with "N passed, M failed[, K skipped]".
#   DEBUG_VARIANTS  which of them (default "kasan kcsan")
#   FUZZ_SECS       fuzzer run time per binary, 64- and 32-bit (default 60)
#   STRESS_ROUNDS   rounds of 10,000 instances (default 5)
. "$(dirname "$0")/common.sh"

fuzz=${FUZZ_SECS:-60} stress=${STRESS_ROUNDS:-5}
step "make test-debug: fuzzer ${fuzz}s per binary, $stress stress rounds; each boot takes 4-6 min under TCG"
# ebp.debug tells the guest it runs on a (slow) debug kernel.
# rcupdate.rcu_cpu_stall_suppress_at_boot: under TCG the kasan kernel's
# initcalls can see a 26 s (6502-jiffy) "stall" while stop_machine()
# switches the clocksource to the refined TSC, before init starts and
# before any test runs (seen on two idle-host boots).  Stall warnings stay
# on from init on, where the tests run.
# EBP_VIRTIO: two virtio-net ports, for epoll_bp_virtio (IRQ suspension,
# and a device removed while an instance suspends its NAPI).
VARIANTS=${DEBUG_VARIANTS:-kasan kcsan} EBP_BOOT_TIMEOUT=${EBP_BOOT_TIMEOUT:-3600} EBP_VIRTIO=1 \
	EBP_APPEND="ebp.debug=yes ebp.fuzz=$fuzz ebp.stress=$stress rcupdate.rcu_cpu_stall_suppress_at_boot=1 ${EBP_APPEND:-}" \
	exec "$EBP_ROOT/scripts/ebp/test.sh"
