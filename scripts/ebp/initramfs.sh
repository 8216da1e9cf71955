#!/usr/bin/env bash
# Build the guest userspace and pack it as a gzip'd cpio initramfs:
# busybox, /init (guest-init.sh), the Rust demo (tools/epoll_busy_poll) and
# the base tree's epoll_busy_poll selftest, all static.
. "$(dirname "$0")/common.sh"

src=$EBP_CACHE/src/linux
[ -d "$src" ] || "$EBP_ROOT/scripts/ebp/overlay.sh"
out=$EBP_CACHE/initramfs
root=$out/root
mkdir -p "$out"

step "building the demo (tools/epoll_busy_poll, static)"
target=x86_64-unknown-linux-gnu
RUSTFLAGS="-C target-feature=+crt-static" timed "cargo build" \
	cargo build --quiet --release --locked --target "$target" \
	--manifest-path "$EBP_ROOT/tools/epoll_busy_poll/Cargo.toml" \
	--target-dir "$EBP_CACHE/cargo" ||
	die "building the demo failed: see the cargo errors above"

step "building the selftest tools/testing/selftests/net/epoll_busy_poll.c (static)"
selftests=$src/tools/testing/selftests
gcc -static -O2 -Wall -I"$selftests" -o "$out/epoll_busy_poll" \
	"$selftests/net/epoll_busy_poll.c" -lcap ||
	die "building the selftest failed: is libcap-dev installed? (make deps)"

step "packing $out/initramfs.cpio.gz"
busybox=$(command -v busybox) || die "busybox not found: apt-get install busybox-static"
! ldd "$busybox" >/dev/null 2>&1 ||
	die "$busybox is dynamically linked: apt-get install busybox-static"
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp}
install -m 755 "$busybox" "$root/bin/busybox"
install -m 755 "$EBP_ROOT/scripts/ebp/guest-init.sh" "$root/init"
install -m 755 "$EBP_CACHE/cargo/$target/release/epoll-bp-demo" "$root/bin/"
install -m 755 "$out/epoll_busy_poll" "$root/bin/"
(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -9 >"$out/initramfs.cpio.gz.new")
mv "$out/initramfs.cpio.gz.new" "$out/initramfs.cpio.gz"
printf '    initramfs: %s KiB\n' $(($(stat -c %s "$out/initramfs.cpio.gz") / 1024)) >&2
