#!/usr/bin/env bash
# Build the guest userspace and pack it as a gzip'd cpio initramfs:
# busybox, /init (guest-init.sh), the Rust demo and the epoll-bp command
# (tools/epoll_busy_poll) and the selftests, all static.  /etc/ebp-tests
# lists the test programs in the order the test job runs them:
# "NAME PROGRAM [ARGS...]", one a line.
. "$(dirname "$0")/common.sh"

src=$EBP_CACHE/src/linux
[ -d "$src" ] || "$EBP_ROOT/scripts/ebp/overlay.sh"
out=$EBP_CACHE/initramfs
root=$out/root
mkdir -p "$out"
# One build at a time: two at once would interleave their test lists.
exec 9>"$out/.lock"
flock 9

step "building the demo (tools/epoll_busy_poll, static)"
target=x86_64-unknown-linux-gnu
RUSTFLAGS="-C target-feature=+crt-static" timed "cargo build" \
	cargo build --quiet --release --locked --target "$target" \
	--manifest-path "$EBP_ROOT/tools/epoll_busy_poll/Cargo.toml" \
	--target-dir "$EBP_CACHE/cargo" ||
	die "building the demo failed: see the cargo errors above"

selftests=$src/tools/testing/selftests
mkdir -p "$out/bin"
: >"$out/ebp-tests"
# build NAME SOURCE [CFLAGS...]: build one test program static.
build() {
	local name=$1 source=$selftests/$2
	shift 2
	gcc -static -O2 -Wall -Wno-unused-variable -I"$selftests" \
		-o "$out/bin/$name" "$source" -pthread "$@" ||
		die "building $source failed: are gcc-multilib, libc6-dev-i386 and libcap-dev installed? (make deps)"
}
# selftest NAME SOURCE [CFLAGS...]: build a kselftest and list it.
selftest() {
	build "$@"
	echo "selftest:$1 /bin/$1" >>"$out/ebp-tests"
}
step "building the selftests (static; _32 ones with -m32)"
# From the base tree.
selftest epoll_busy_poll net/epoll_busy_poll.c -lcap
selftest epoll_wakeup_test filesystems/epoll/epoll_wakeup_test.c
# Ours.
selftest epoll_bp_abi net/epoll_bp_abi.c
selftest epoll_bp_abi_32 net/epoll_bp_abi.c -m32
selftest epoll_bp_priv net/epoll_bp_priv.c
selftest epoll_bp_priv_32 net/epoll_bp_priv.c -m32
selftest epoll_bp_race net/epoll_bp_race.c
selftest epoll_bp_napi net/epoll_bp_napi.c
selftest epoll_bp_netlink net/epoll_bp_netlink.c
selftest epoll_bp_suspend net/epoll_bp_suspend.c
selftest epoll_bp_signal net/epoll_bp_signal.c
# The epoll-bp command against a running server (needs /bin/epoll-bp).
selftest epoll_bp_cli net/epoll_bp_cli.c
# Reliability: usercopy faults, leaks, and the fuzzer (KTAP of its own;
# ebp.fuzz=SECS and ebp.stress=ROUNDS on the kernel command line size them).
selftest epoll_bp_fault net/epoll_bp_fault.c
selftest epoll_bp_fault_32 net/epoll_bp_fault.c -m32
selftest epoll_bp_stress net/epoll_bp_stress.c
selftest epoll_bp_fuzz net/epoll_bp_fuzz.c
selftest epoll_bp_fuzz_32 net/epoll_bp_fuzz.c -m32
# IRQ suspension on virtio-net: it needs the two ports of vng --network
# loop, so test.sh runs it under virtme-ng (vng-guest.sh), not in our own
# boots (which have no virtio-net: it would skip).
build epoll_bp_virtio net/epoll_bp_virtio.c
# The differential stream: 8 seeds x 35000 ioctls, and the net stream
# (seeds from 1000: ioctls, napi-set/get, port restarts and epoll_wait on
# netdevsim sockets) 4 seeds x 5000 calls; 64- and 32-bit.  The host
# compares their digests between the Rust and the C kernel.
diff_args="-s 1 -s 2 -s 3 -s 4 -s 5 -s 6 -s 7 -s 8 -n 35000 -s 1001 -s 1002 -s 1003 -s 1004 -N 5000"
build epoll_bp_diff net/epoll_bp_diff.c
build epoll_bp_diff_32 net/epoll_bp_diff.c -m32
echo "diff:64 /bin/epoll_bp_diff $diff_args" >>"$out/ebp-tests"
echo "diff:32 /bin/epoll_bp_diff_32 $diff_args" >>"$out/ebp-tests"
# The benchmark make bench runs (scripts/ebp/bench.sh); make test runs it
# small, for its own checks: every timed call returns what it should, and
# the netdevsim round trips of every mode come back.
build epoll_bp_bench net/epoll_bp_bench.c
echo "bench:smoke /bin/epoll_bp_bench -i 200 -r 1 -n 100" >>"$out/ebp-tests"

step "packing $out/initramfs.cpio.gz"
busybox=$(command -v busybox) || die "busybox not found: apt-get install busybox-static"
! ldd "$busybox" >/dev/null 2>&1 ||
	die "$busybox is dynamically linked: apt-get install busybox-static"
rm -rf "$root"
mkdir -p "$root"/{bin,dev,etc,proc,sys,tmp}
install -m 755 "$busybox" "$root/bin/busybox"
install -m 755 "$EBP_ROOT/scripts/ebp/guest-init.sh" "$root/init"
install -m 755 "$EBP_CACHE/cargo/$target/release/epoll-bp-demo" \
	"$EBP_CACHE/cargo/$target/release/epoll-bp" "$root/bin/"
install -m 755 "$out"/bin/* "$root/bin/"
install -m 644 "$out/ebp-tests" "$root/etc/ebp-tests"
(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -9 >"$out/initramfs.cpio.gz.new")
mv "$out/initramfs.cpio.gz.new" "$out/initramfs.cpio.gz"
printf '    initramfs: %s KiB\n' $(($(stat -c %s "$out/initramfs.cpio.gz") / 1024)) >&2
