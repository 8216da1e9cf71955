#!/usr/bin/env bash
# `make test`: for each variant (VARIANTS, default "rust c"), build the
# kernel, boot it with the test job and judge the console (results.py).
# Ends with the line "N passed, M failed[, K skipped]" (each skip says why
# above it); exits non-zero on any failure.
. "$(dirname "$0")/common.sh"

variants=${VARIANTS:-rust c}
passed=0 failed=0 skipped=0
begin=$(date +%s)
step "make test: KUnit, selftest and demo on the $variants kernels"
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
	fi
	# A variant that could not be built or judged counts as one failure.
	read -r p f s 2>/dev/null <"$counts" || { p=0 f=1 s=0; echo "FAIL [$variant] build or judge step"; }
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	printf '    %s variant tested in %ds\n' "$variant" $(($(date +%s) - start)) >&2
done
step "make test: done in $(($(date +%s) - begin))s"
if [ "$skipped" = 0 ]; then
	echo "$passed passed, $failed failed"
else
	echo "$passed passed, $failed failed, $skipped skipped"
fi
[ "$failed" = 0 ]
