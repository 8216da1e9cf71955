#!/usr/bin/env bash
# `make test-debug`: the whole test job on debug builds of the Rust kernel,
# with the long form of the reliability tests:
#   kasan  KASAN + UBSAN + lockdep + DEBUG_ATOMIC_SLEEP + kmemleak
#   kcsan  KCSAN (+ lockdep + DEBUG_ATOMIC_SLEEP)
# Any sanitizer, lockdep or kmemleak report fails the run and is printed
# whole by results.py.  Ends with "N passed, M failed[, K skipped]".
#   DEBUG_VARIANTS  which of them (default "kasan kcsan")
#   FUZZ_SECS       fuzzer run time per binary, 64- and 32-bit (default 60)
#   STRESS_ROUNDS   rounds of 10,000 instances (default 5)
. "$(dirname "$0")/common.sh"

variants=${DEBUG_VARIANTS:-kasan kcsan}
fuzz=${FUZZ_SECS:-60} stress=${STRESS_ROUNDS:-5}
passed=0 failed=0 skipped=0
begin=$(date +%s)

step "make test-debug: the test job on the $variants kernels (fuzzer ${fuzz}s, $stress stress rounds)"
"$EBP_ROOT/scripts/ebp/initramfs.sh"
for variant in $variants; do
	start=$(date +%s)
	counts=$EBP_CACHE/logs/counts-$variant
	log=$EBP_CACHE/logs/test-$variant.log
	rm -f "$counts"
	if "$EBP_ROOT/scripts/ebp/kernel.sh" "$variant"; then
		step "booting the $variant kernel with the test job (TCG: 4-6 min; log: $log)"
		EBP_BOOT_TIMEOUT=${EBP_BOOT_TIMEOUT:-3600} \
			EBP_APPEND="ebp.debug=$variant ebp.fuzz=$fuzz ebp.stress=$stress" \
			"$EBP_ROOT/scripts/ebp/boot.sh" "$variant" test "$log" || true
		[ -f "$log" ] || : >"$log"
		python3 "$EBP_ROOT/scripts/ebp/results.py" --variant "$variant" \
			--log "$log" --system-map "$EBP_CACHE/build/$variant/System.map" \
			--kunit-dir "$EBP_CACHE/src/linux/tools/testing/kunit" \
			--counts "$counts" || true
		# For the README: what the fuzzer did.
		grep -h '# fuzzed' "$log" | sed "s/^/    [$variant] /" >&2 || true
	fi
	read -r p f s 2>/dev/null <"$counts" || { p=0 f=1 s=0; echo "FAIL [$variant] build or judge step"; }
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	printf '    %s variant tested in %ds\n' "$variant" $(($(date +%s) - start)) >&2
done

step "make test-debug: done in $(($(date +%s) - begin))s"
if [ "$skipped" = 0 ]; then
	echo "$passed passed, $failed failed"
else
	echo "$passed passed, $failed failed, $skipped skipped"
fi
[ "$failed" = 0 ]
