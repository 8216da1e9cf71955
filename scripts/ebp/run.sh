#!/usr/bin/env bash
# `make run`: boot the Rust kernel, run the demo in the guest, show what it
# printed, and exit with its status.
. "$(dirname "$0")/common.sh"

log=$EBP_CACHE/logs/run-rust.log
"$EBP_ROOT/scripts/ebp/boot.sh" rust demo "$log" || exit 1

# The demo's own output, as the guest printed it.
echo
sed -n '/^EBP-BEGIN demo/,/^EBP-END demo/{/^EBP-/d;p}' "$log" | tr -d '\r'
rc=$(sed -n 's/^EBP-END demo rc=\([0-9]*\).*/\1/p' "$log")
echo
if grep -Eq 'Oops:|BUG:|WARNING:|Kernel panic' "$log"; then
	echo "error: the kernel reported a problem: see $log" >&2
	exit 1
fi
echo "(Linux $(cat "$EBP_CACHE/build/rust/include/config/kernel.release") with the overlay; whole console: $log)"
exit "${rc:-1}"
