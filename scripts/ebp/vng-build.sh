#!/usr/bin/env bash
# `make vng-build`: build the patched kernel the way a kernel developer with
# virtme-ng would, then boot it with vng and check it.  In the patched tree:
#
#   vng --build --config .config.fragment O=.cache/build/vng LLVM=-19
#
# vng configures x86_64 defconfig plus its own options plus our fragment
# (Rust, the Rust busy poll, KUnit), then builds bzImage and modules.  That
# is a much bigger kernel than make kernel's tinyconfig one: cold, expect
# 30-60 min on 2 cores.  The check boots it with vng.sh and runs the
# upstream selftest; the guest must be the Rust kernel (kallsyms).
. "$(dirname "$0")/common.sh"

src=$EBP_CACHE/src/linux
out=$EBP_CACHE/build/vng
venv=$EBP_CACHE/vng-venv
"$EBP_ROOT/scripts/ebp/overlay.sh"
"$EBP_ROOT/scripts/ebp/vng.sh" --install
export PATH=$venv/bin:$PATH

# vng keeps an existing .config: start over when the fragment changed.
if ! cmp -s "$EBP_ROOT/.config.fragment" "$out/ebp.fragment" 2>/dev/null; then
	rm -rf "$out"
	mkdir -p "$out"
	cp "$EBP_ROOT/.config.fragment" "$out/ebp.fragment"
fi
step "vng --build --config .config.fragment O=$out LLVM=$LLVM (in $src; log: $out/vng-build.log)"
start=$(date +%s)
(cd "$src" && vng --build --verbose --config "$EBP_ROOT/.config.fragment" O="$out" LLVM="$LLVM") \
	>"$out/vng-build.log" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
	sleep 60
	printf '    ... %ds, %s\n' $(($(date +%s) - start)) "$(tail -1 "$out/vng-build.log" | cut -c1-100)" >&2
done
wait "$pid" || {
	tail -30 "$out/vng-build.log" >&2
	die "vng --build failed after $(($(date +%s) - start))s: see $out/vng-build.log"
}
printf '    built in %ds\n' $(($(date +%s) - start)) >&2
for opt in CONFIG_RUST=y CONFIG_EPOLL_BUSY_POLL_RUST=y CONFIG_9P_FS=y; do
	grep -qx "$opt" "$out/.config" || die "$opt did not make it into $out/.config"
done

selftest=$EBP_CACHE/initramfs/bin/epoll_busy_poll
[ -x "$selftest" ] || "$EBP_ROOT/scripts/ebp/initramfs.sh"
VNG_IMAGE=$out/arch/x86/boot/bzImage "$EBP_ROOT/scripts/ebp/vng.sh" \
	"grep -c ' ep_busy_poll_set_params\$' /proc/kallsyms && $selftest"
