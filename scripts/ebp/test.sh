#!/usr/bin/env bash
# `make test`: for each variant (VARIANTS, default "rust c"), build the
# kernel, boot it with the test job and judge the console (results.py);
# then compare the differential ioctl streams of the two (diff_compare.py),
# and run the demo and the upstream selftest on the Rust kernel, and
# epoll_bp_virtio on both, under virtme-ng (vng.sh; judged by
# vng_results.py), and make bench-servers' smoke run on both.
# `make test-debug` runs it on the debug variants (test-debug.sh).
# Ends with the line "N passed, M failed[, K skipped]" (each skip says why
# above it); exits non-zero on any failure.
. "$(dirname "$0")/common.sh"

variants=${VARIANTS:-rust c}
passed=0 failed=0 skipped=0
begin=$(date +%s)

# add_counts FILE LABEL: add a judge's "PASSED FAILED SKIPPED"; a missing
# file (nothing was judged) counts as one failure named LABEL.
add_counts() {
	local p f s
	read -r p f s 2>/dev/null <"$1" || { p=0 f=1 s=0; echo "FAIL $2"; }
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

step "make test: KUnit, selftest and demo on the $variants kernels"
# The benchmark report's arithmetic, on made-up consoles (no kernel).
mkdir -p "$EBP_CACHE/logs"
rm -f "$EBP_CACHE/logs/counts-host"
PYTHONDONTWRITEBYTECODE=1 python3 "$EBP_ROOT/scripts/ebp/test_bench_report.py" \
	--counts "$EBP_CACHE/logs/counts-host" || true
add_counts "$EBP_CACHE/logs/counts-host" "[host] bench_report checks"
# make bench-servers' report and judging, on made-up cells (no kernel).
rm -f "$EBP_CACHE/logs/counts-servers-report"
PYTHONDONTWRITEBYTECODE=1 "$SYSTEM_PYTHON" "$EBP_ROOT/scripts/ebp/test_servers_report.py" \
	--counts "$EBP_CACHE/logs/counts-servers-report" || true
add_counts "$EBP_CACHE/logs/counts-servers-report" "[host] servers_report checks"
# overlay.sh against a base that moved (offsets logged, no backup or
# reject file in the tree, fuzz refused): Debian's 6.12.y moves under us.
rm -f "$EBP_CACHE/logs/counts-overlay"
"$EBP_ROOT/scripts/ebp/test_overlay.sh" --counts "$EBP_CACHE/logs/counts-overlay" || true
add_counts "$EBP_CACHE/logs/counts-overlay" "[host] overlay checks"
# Documentation/: valid reStructuredText (apt's python3-docutils, from
# make deps), linked from its index.
"$EBP_ROOT/scripts/ebp/overlay.sh"
base=$(base_version "$EBP_CACHE/src/linux")
step "the base: Linux $base"
rm -f "$EBP_CACHE/logs/counts-docs"
PYTHONDONTWRITEBYTECODE=1 "$SYSTEM_PYTHON" "$EBP_ROOT/scripts/ebp/check_docs.py" --repo "$EBP_ROOT" \
	--tree "$EBP_CACHE/src/linux" --counts "$EBP_CACHE/logs/counts-docs" || true
add_counts "$EBP_CACHE/logs/counts-docs" "[host] documentation checks"
# The patch series (make patch): it regenerates, covers the overlay, its
# last tree is the overlay, each patch is signed off and checkpatch-clean.
rm -f "$EBP_CACHE/logs/counts-series"
"$EBP_ROOT/scripts/ebp/patch.sh" --counts "$EBP_CACHE/logs/counts-series" \
	>"$EBP_CACHE/logs/patch.log" 2>&1 || true
grep -E '^(PASS|FAIL|error:) ' "$EBP_CACHE/logs/patch.log" || true
grep -q '^FAIL ' "$EBP_CACHE/logs/patch.log" && echo "    (make patch's output: $EBP_CACHE/logs/patch.log)"
add_counts "$EBP_CACHE/logs/counts-series" "[host] patch series checks"
"$EBP_ROOT/scripts/ebp/initramfs.sh"
for variant in $variants; do
	start=$(date +%s)
	step "testing the $variant variant"
	counts=$EBP_CACHE/logs/counts-$variant
	log=$EBP_CACHE/logs/test-$variant.log
	rm -f "$counts"
	if "$EBP_ROOT/scripts/ebp/kernel.sh" "$variant"; then
		"$EBP_ROOT/scripts/ebp/boot.sh" "$variant" test "$log" || true
		[ -f "$log" ] || : >"$log"
		python3 "$EBP_ROOT/scripts/ebp/results.py" --variant "$variant" \
			--log "$log" --system-map "$EBP_CACHE/build/$variant/System.map" \
			--kunit-dir "$EBP_CACHE/src/linux/tools/testing/kunit" \
			--counts "$counts" || true
		# What the fuzzer did, for the README's record.
		grep -ah '# fuzzed' "$log" | tr -d '\r' | sed "s/^/    [$variant] /" >&2 || true
	fi
	add_counts "$counts" "[$variant] build or judge step"
	printf '    %s variant tested in %ds\n' "$variant" $(($(date +%s) - start)) >&2
done
# The differential stream must have the same outcomes on both kernels.
if [[ " $variants " == *" rust "* && " $variants " == *" c "* ]]; then
	counts=$EBP_CACHE/logs/counts-diff replay=$EBP_CACHE/logs/replay
	rm -f "$counts" "$replay"
	python3 "$EBP_ROOT/scripts/ebp/diff_compare.py" --counts "$counts" --replay "$replay" \
		--rust "$EBP_CACHE/logs/test-rust.log" --c "$EBP_CACHE/logs/test-c.log" || true
	if [ -s "$replay" ]; then
		read -r bits seed calls <"$replay"
		step "replaying $bits-bit seed $seed up to call $calls on both kernels, call by call"
		for v in rust c; do
			EBP_APPEND="ebp.replay=$bits,$seed,$calls" \
				"$EBP_ROOT/scripts/ebp/boot.sh" "$v" replay "$EBP_CACHE/logs/replay-$v.log" || true
		done
		python3 "$EBP_ROOT/scripts/ebp/diff_compare.py" --calls \
			--rust "$EBP_CACHE/logs/replay-rust.log" --c "$EBP_CACHE/logs/replay-c.log" || true
	fi
	add_counts "$counts" "[rust=c] differential comparison"
elif [[ " $variants " == *" rust "* || " $variants " == *" c "* ]]; then
	echo "note: the Rust/C differential needs VARIANTS with both rust and c"
fi

# rustdoc of our crate (make rustdoc's part that the kernel's does not do):
# no warning, and a page with its docs for each item a reader looks for.
if [[ " $variants " == *" rust "* ]]; then
	counts=$EBP_CACHE/logs/counts-rustdoc rc=0
	rm -f "$counts"
	"$EBP_ROOT/scripts/ebp/rustdoc.sh" --ours >/dev/null || rc=$?
	python3 "$EBP_ROOT/scripts/ebp/check_rustdoc.py" --rc "$rc" \
		--html "$EBP_CACHE/build/rust/Documentation/output/rust/rustdoc" --counts "$counts" || true
	add_counts "$counts" "[host] rustdoc checks"
fi

# The linters of make lint: rustfmtcheck, clippy as CLIPPY=1 runs it, and
# cargo fmt/clippy on the userspace crate; any warning fails.
if [[ " $variants " == *" rust "* ]]; then
	rm -f "$EBP_CACHE/logs/counts-lint"
	"$EBP_ROOT/scripts/ebp/lint.sh" --counts "$EBP_CACHE/logs/counts-lint" || true
	add_counts "$EBP_CACHE/logs/counts-lint" "[host] lint checks"
fi

# virtme-ng: the Rust kernel booted as kernel developers boot theirs, on the
# host's root filesystem; the demo and the upstream selftest run there from
# the host's paths.  The guest has two virtio-net ports joined by a hub in
# QEMU (--network loop) for epoll_bp_virtio, IRQ suspension on a device that
# masks its interrupt; the C kernel gets a boot for that test alone.
vng_uname() {
	echo "$(cat "$EBP_CACHE/build/$1/include/config/kernel.release") $(sed -n \
		's/.*UTS_VERSION "\(.*\)"/\1/p' "$EBP_CACHE/build/$1/include/generated/utsversion.h")"
}
if [[ " $variants " == *" rust "* ]]; then
	step "running the demo, the upstream selftest and epoll_bp_virtio under virtme-ng"
	counts=$EBP_CACHE/logs/counts-vng log=$EBP_CACHE/logs/test-vng.log rc=0
	rm -f "$counts"
	VNG_OPTS="--network loop" "$EBP_ROOT/scripts/ebp/vng.sh" "sh $EBP_ROOT/scripts/ebp/vng-guest.sh \
		--virtio $EBP_CACHE/initramfs/bin/epoll_bp_virtio \
		$EBP_CACHE/cargo/x86_64-unknown-linux-gnu/release/epoll-bp-demo \
		$EBP_CACHE/initramfs/bin/epoll_busy_poll $EBP_CACHE/src/linux" >"$log" || rc=$?
	PYTHONDONTWRITEBYTECODE=1 python3 "$EBP_ROOT/scripts/ebp/vng_results.py" --log "$log" --rc "$rc" \
		--uname "$(vng_uname rust)" \
		--kunit-dir "$EBP_CACHE/src/linux/tools/testing/kunit" --counts "$counts" || true
	add_counts "$counts" "[vng] virtme-ng run"
fi
if [[ " $variants " == *" c "* ]]; then
	step "running epoll_bp_virtio on the C kernel under virtme-ng"
	counts=$EBP_CACHE/logs/counts-vng-c log=$EBP_CACHE/logs/test-vng-c.log rc=0
	rm -f "$counts"
	VARIANT=c VNG_OPTS="--network loop" "$EBP_ROOT/scripts/ebp/vng.sh" \
		"sh $EBP_ROOT/scripts/ebp/vng-guest.sh --virtio $EBP_CACHE/initramfs/bin/epoll_bp_virtio - -" \
		>"$log" || rc=$?
	PYTHONDONTWRITEBYTECODE=1 python3 "$EBP_ROOT/scripts/ebp/vng_results.py" --log "$log" --rc "$rc" \
		--variant c --uname "$(vng_uname c)" \
		--kunit-dir "$EBP_CACHE/src/linux/tools/testing/kunit" --counts "$counts" || true
	add_counts "$counts" "[vng-c] virtme-ng run"
fi

# Real servers: unmodified memcached and redis-server, each mode of make
# bench-servers switched live with epoll-bp at one light load, on both
# kernels (its smoke run): each answers every request, the settings read
# back, and the fdinfo counters move as the mode says.
if [[ " $variants " == *" rust "* && " $variants " == *" c "* ]]; then
	step "make bench-servers' smoke run: memcached and redis-server on both kernels"
	counts=$EBP_CACHE/logs/servers-smoke/counts log=$EBP_CACHE/logs/servers-smoke.log
	rm -f "$counts"
	BENCH_SERVERS_SMOKE=1 BENCH_SERVERS_BUILD=0 "$EBP_ROOT/scripts/ebp/bench-servers.sh" \
		>"$log" 2>&1 || true
	grep -E '^(PASS|FAIL) ' "$log" || echo "    (no verdicts: see $log)"
	add_counts "$counts" "[servers] smoke run"
fi

step "make test: done in $(($(date +%s) - begin))s on Linux $base and the overlay"
if [ "$skipped" = 0 ]; then
	echo "$passed passed, $failed failed"
else
	echo "$passed passed, $failed failed, $skipped skipped"
fi
[ "$failed" = 0 ]
