#!/usr/bin/env bash
# `make bench`: boot the Rust and the C kernel alternately, BENCH_ROUNDS
# times each (default 5), with the same QEMU settings, run the benchmark
# (tools/testing/selftests/net/epoll_bp_bench.c) and write the report:
# results/bench/README.md (the tables), latency-cdf.svg, ratios.svg and
# data.json (every boot's numbers).  BENCH_OUT=dir writes it elsewhere.
#
# Each round boots each kernel twice, Rust first:
#   icount  TCG with -icount shift=0: the guest clock counts instructions,
#           so the per-call costs come out as instructions per call
#   wall    the usual accelerator (KVM where it works, else multi-threaded
#           TCG): nanoseconds per call, and the netdevsim round trips
# BENCH_CALLS (calls per repetition, default 20000) and BENCH_TRIPS (round
# trips per mode, default 10000) size one boot.
. "$(dirname "$0")/common.sh"

rounds=${BENCH_ROUNDS:-5}
calls=${BENCH_CALLS:-20000}
trips=${BENCH_TRIPS:-10000}
out=${BENCH_OUT:-$EBP_ROOT/results/bench}
logs=$EBP_CACHE/logs/bench
begin=$(date +%s)

[ "$rounds" -ge 1 ] 2>/dev/null || die "BENCH_ROUNDS=$rounds: give a number of rounds, 1 or more"
"$EBP_ROOT/scripts/ebp/deps.sh" bench
for variant in rust c; do
	"$EBP_ROOT/scripts/ebp/kernel.sh" "$variant" ||
		die "the $variant kernel did not build: see the errors above"
done
"$EBP_ROOT/scripts/ebp/initramfs.sh"

rm -rf "$logs"
mkdir -p "$logs"
# One boot whose numbers are not used: the first wall boot of a run came
# out slower on every call (host caches, clocks), which would always
# count against the kernel booted first.
step "warm-up boot (not measured)"
EBP_APPEND="ebp.bench=micro,$calls,$trips,0" \
	"$EBP_ROOT/scripts/ebp/boot.sh" c bench "$logs/warmup.log" ||
	die "the warm-up boot failed: see $logs/warmup.log"
failed=0
for round in $(seq "$rounds"); do
	for kind in icount wall; do
		for variant in rust c; do
			step "round $round/$rounds: $variant kernel, $kind boot ($(($(date +%s) - begin))s so far)"
			if [ "$kind" = icount ]; then
				accel=icount what=micro
			else
				accel=${EBP_ACCEL:-} what=all
			fi
			# The round number seeds the order of the latency modes
			# in each block: the same for both kernels of a round.
			EBP_ACCEL=$accel EBP_APPEND="ebp.bench=$what,$calls,$trips,$round" \
				"$EBP_ROOT/scripts/ebp/boot.sh" "$variant" bench \
				"$logs/$kind-$variant-$round.log" || failed=$((failed + 1))
		done
	done
done

step "writing the report to $out"
mkdir -p "$out"
"$SYSTEM_PYTHON" "$EBP_ROOT/scripts/ebp/bench_report.py" --logs "$logs" --rounds "$rounds" \
	--build "$EBP_CACHE/build" --out "$out" --readme "$EBP_ROOT/README.md" \
	--accel "${EBP_ACCEL:-$(cat "$EBP_CACHE/accel" 2>/dev/null || echo tcg)}" ||
	die "the report could not be made: see $logs"
step "make bench: done in $(($(date +%s) - begin))s"
[ "$failed" = 0 ] || die "$failed boots failed: their consoles are in $logs"
