#!/usr/bin/env bash
# Configure and build one kernel variant out of tree:
#   kernel.sh rust   CONFIG_EPOLL_BUSY_POLL_RUST=y (the default variant)
#   kernel.sh c      the in-tree C implementation, from the same tree
#   kernel.sh kasan  Rust, plus kernel/configs/epoll_busy_poll_kasan.config
#   kernel.sh kcsan  Rust, plus kernel/configs/epoll_busy_poll_kcsan.config
# The config is tinyconfig plus .config.fragment; it is redone only when the
# fragment changes.  Prints nothing on stdout; the bzImage path is
# .cache/build/VARIANT/arch/x86/boot/bzImage (`make -s image-path`).
. "$(dirname "$0")/common.sh"

variant=${1:-rust}
# The variant's own lines replace the fragment's: the C variant has no
# Rust implementation, so none of its options either.  The debug variants
# are the Rust kernel with a sanitizer fragment on top.
extra=/dev/null
case "$variant" in
rust) drop='^CONFIG_EPOLL_BUSY_POLL_RUST=' own=CONFIG_EPOLL_BUSY_POLL_RUST=y ;;
c) drop='^CONFIG_EPOLL_BUSY_POLL_RUST' own=CONFIG_EPOLL_BUSY_POLL_RUST=n ;;
kasan | kcsan)
	drop='^CONFIG_EPOLL_BUSY_POLL_RUST=' own=CONFIG_EPOLL_BUSY_POLL_RUST=y
	extra=$EBP_ROOT/kernel/configs/epoll_busy_poll_$variant.config
	;;
*) die "unknown VARIANT=$variant: use rust, c, kasan or kcsan" ;;
esac

"$EBP_ROOT/scripts/ebp/overlay.sh"
src=$EBP_CACHE/src/linux
out=$EBP_CACHE/build/$variant
mkdir -p "$out"
kmake() { make -C "$src" O="$out" LLVM="$LLVM" "$@"; }

fragment=$out/ebp.fragment
{
	grep -v "$drop" "$EBP_ROOT/.config.fragment"
	echo "$own"
	cat "$extra"
} >"$fragment.new"
stamp=$( (cat "$fragment.new"; cat "$EBP_CACHE/src/pristine") | sha256sum | cut -c1-16)
if [ "$(cat "$out/ebp.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -f "$out/.config" ]; then
	step "configuring $variant kernel: tinyconfig + .config.fragment$([ "$extra" = /dev/null ] || echo " + ${extra#"$EBP_ROOT"/}")"
	kmake -s rustavailable >/dev/null ||
		die "Rust is not usable for this kernel: run 'make deps', then 'make -C $src LLVM=$LLVM rustavailable' for why"
	kmake -s tinyconfig >/dev/null
	mv "$fragment.new" "$fragment"
	(cd "$out" && "$src/scripts/kconfig/merge_config.sh" -m -O "$out" .config "$fragment" >/dev/null)
	kmake -s olddefconfig >/dev/null
	# merge_config only warns; an option that did not stick is an error.
	missing=$(grep -E '^CONFIG_[A-Z0-9_]+=' "$fragment" | while IFS= read -r line; do
		opt=${line%%=*} val=${line#*=}
		if [ "$val" = n ]; then
			if grep -q "^$opt=" "$out/.config"; then echo "$line"; fi
		elif ! grep -qx "$line" "$out/.config"; then
			echo "$line"
		fi
	done)
	[ -z "$missing" ] || die "options not set in $out/.config (missing dependencies?): $missing"
	echo "$stamp" >"$out/ebp.stamp"
else
	rm -f "$fragment.new"
fi

step "building $variant kernel in $out (cold: about 8 min on 2 cores; log: $out/build.log)"
start=$(date +%s)
set +e
kmake -j"$(nproc)" bzImage >"$out/build.log" 2>&1 &
pid=$!
ticks=0
while kill -0 "$pid" 2>/dev/null; do
	sleep 1
	ticks=$((ticks + 1))
	if [ $((ticks % 20)) = 0 ] && kill -0 "$pid" 2>/dev/null; then
		printf '    ... %ds, %s build steps\n' $(($(date +%s) - start)) "$(grep -c '^  ' "$out/build.log")" >&2
	fi
done
wait "$pid"
rc=$?
set -e
if [ "$rc" != 0 ]; then
	grep -E 'error|Error' -A3 "$out/build.log" | head -40 >&2
	die "$variant kernel build failed: see $out/build.log"
fi
# Warnings in our files (upstream ones are left to upstream).
grep -E -A6 '(^|: )warning' "$out/build.log" | grep -E -B3 -A3 'eventpoll|busy_poll' >&2 || true
printf '    %s kernel built in %ds: %s\n' "$variant" $(($(date +%s) - start)) "$out/arch/x86/boot/bzImage" >&2
