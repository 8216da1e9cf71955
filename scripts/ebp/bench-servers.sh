#!/usr/bin/env bash
# `make bench-servers`: unmodified Debian memcached and redis-server under
# open-loop load (epoll-bp-load) inside virtme-ng guests, per busy-poll
# mode switched live with epoll-bp, on the Rust and the C kernel; writes
# results/servers/ (README.md, plots, data.json) from the guests' raw
# output in results/servers/raw/VARIANT-ROUND.txt.
#
# Each boot (vng --network loop, 2 CPUs) runs servers-guest.sh, which does
# every server x path x load x mode cell; the kernels alternate rust, c,
# rust, c... for BENCH_SERVERS_ROUNDS rounds (default 1).  The first boot
# finds each server's capacity per path (a short ramp); the later ones are
# given it, so every boot offers the same rates.  Knobs:
#   SERVERS="memcached redis"  PATHS="virtio nsim"
#   LOADS="light medium high"  (default: all three on every path)
#   MODES="none sysctl epoll epoll-both prefer-defer suspend busy"
#   BENCH_SERVERS_WARMUP=1 BENCH_SERVERS_DURATION=2  seconds per cell
#   BENCH_SERVERS_SMOKE=1   a quick check instead: every server answers
#                           under every mode at one light load, 2 s each,
#                           on virtio only unless PATHS says otherwise;
#                           judged (servers_report.py --check), not plotted
#   BENCH_SERVERS_OUT=dir   write there instead of results/servers
#   BENCH_SERVERS_BUILD=0   boot the kernels as they are (no kernel.sh)
. "$(dirname "$0")/common.sh"

rounds=${BENCH_SERVERS_ROUNDS:-1}
smoke=${BENCH_SERVERS_SMOKE:-0}
out=${BENCH_SERVERS_OUT:-$EBP_ROOT/results/servers}
warmup=${BENCH_SERVERS_WARMUP:-1}
duration=${BENCH_SERVERS_DURATION:-2}
paths=${PATHS:-virtio nsim}
if [ "$smoke" = 1 ]; then
	out=${BENCH_SERVERS_OUT:-$EBP_CACHE/logs/servers-smoke}
	paths=${PATHS:-virtio} warmup=0.5 duration=1.5
fi
bin=$EBP_CACHE/cargo/x86_64-unknown-linux-gnu/release
begin=$(date +%s)

[ "$rounds" -ge 1 ] 2>/dev/null || die "BENCH_SERVERS_ROUNDS=$rounds: give a number of rounds, 1 or more"
"$EBP_ROOT/scripts/ebp/deps.sh" servers
if [ "${BENCH_SERVERS_BUILD:-1}" != 0 ]; then
	for variant in rust c; do
		"$EBP_ROOT/scripts/ebp/kernel.sh" "$variant" ||
			die "the $variant kernel did not build: see the errors above"
	done
fi
step "building the userspace (epoll-bp, epoll-bp-load)"
timed "initramfs.sh" "$EBP_ROOT/scripts/ebp/initramfs.sh" ||
	die "the userspace did not build: see the errors above"
"$EBP_ROOT/scripts/ebp/vng.sh" --install

rm -rf "$out/raw"
mkdir -p "$out/raw"
# What the guest runs: the settings go on its command line (vng passes no
# environment through).
guest_cmd="BIN=$bin SMOKE=$smoke WARMUP=$warmup DURATION=$duration PATHS='$paths'"
for knob in SERVERS MODES LOADS; do
	[ -z "${!knob:-}" ] || guest_cmd="$guest_cmd $knob='${!knob}'"
done
guest_cmd="$guest_cmd bash $EBP_ROOT/scripts/ebp/servers-guest.sh"

failed=0 capacities=
for round in $(seq "$rounds"); do
	for variant in rust c; do
		raw=$out/raw/$variant-$round.txt
		step "round $round/$rounds: $variant kernel ($(($(date +%s) - begin))s so far); raw output: ${raw#"$EBP_ROOT"/}"
		start=$(date +%s)
		# The cells' JSON lines go to the raw file only; the rest shows.
		{
			echo "EBP-SERVERS-HOST load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
			# shellcheck disable=SC2016 # quoted for the guest's shell
			VARIANT=$variant VNG_IMAGE=$EBP_CACHE/build/$variant/arch/x86/boot/bzImage \
				VNG_OPTS="--network loop" VNG_TIMEOUT=${VNG_TIMEOUT:-1800} \
				"$EBP_ROOT/scripts/ebp/vng.sh" "${capacities:+CAPACITIES='$capacities' }$guest_cmd" 2>&1
			echo $? >"$raw.rc"
			echo "EBP-SERVERS-HOST load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
		} | tr -d '\r' | tee "$raw" | grep --line-buffered -v '^EBP-SERVERS-CELL ' || true
		rc=$(cat "$raw.rc" 2>/dev/null || echo 1)
		rm -f "$raw.rc"
		if [ "$rc" != 0 ] || ! grep -q '^EBP-SERVERS-DONE ' "$raw"; then
			echo "    the $variant boot failed or did not finish (vng exit status $rc): see $raw" >&2
			failed=$((failed + 1))
		fi
		printf '    %s round %d: %d cells in %ds\n' "$variant" "$round" \
			"$(grep -c '^EBP-SERVERS-CELL ' "$raw")" $(($(date +%s) - start)) >&2
		# The capacities the first boot found, for the others.
		[ -n "$capacities" ] || capacities=$(sed -n \
			's/^EBP-SERVERS-INFO capacity \([a-z]*\) \([a-z]*\) \([0-9]*\)$/\1:\2:\3/p' "$raw" | xargs)
	done
done

if [ "$smoke" = 1 ]; then
	step "judging the smoke run"
	"$SYSTEM_PYTHON" "$EBP_ROOT/scripts/ebp/servers_report.py" --raw "$out/raw" --check \
		--counts "$out/counts" || failed=$((failed + 1))
else
	step "writing the report to ${out#"$EBP_ROOT"/}"
	"$SYSTEM_PYTHON" "$EBP_ROOT/scripts/ebp/servers_report.py" --raw "$out/raw" --out "$out" ||
		die "the report could not be made from $out/raw: see the errors above"
fi
step "make bench-servers: done in $(($(date +%s) - begin))s"
[ "$failed" = 0 ] || die "$failed boots or checks failed: see the FAILED lines in $out/raw; narrow the run (SERVERS, PATHS, MODES, LOADS) to repeat one part"
