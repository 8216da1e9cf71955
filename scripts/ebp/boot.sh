#!/usr/bin/env bash
# boot.sh VARIANT JOB LOG: boot the VARIANT kernel with the initramfs, run JOB
# (demo, test, replay or probe) in the guest, save the whole serial console
# in LOG.  EBP_APPEND adds to the kernel command line.
# Exits 0 when the guest finished its job and powered off, 1 otherwise.
#
# KVM is used when /dev/kvm works (probed once, verdict cached in
# .cache/accel); EBP_ACCEL=kvm|tcg overrides the probe.  EBP_ACCEL=icount
# is TCG with -icount shift=0: one CPU thread, and the guest's clock counts
# one nanosecond per instruction executed (make bench counts with it).
# EBP_IMAGE=bzImage boots that kernel instead of the VARIANT's build (to
# compare with a kernel kept from before a change).  EBP_VIRTIO=1 gives
# the guest two virtio-net ports joined by a QEMU hub, as vng --network
# loop does, and the test job then runs epoll_bp_virtio too.
. "$(dirname "$0")/common.sh"

variant=$1 job=$2 log=$3
image=${EBP_IMAGE:-$EBP_CACHE/build/$variant/arch/x86/boot/bzImage}
initrd=$EBP_CACHE/initramfs/initramfs.cpio.gz
timeout=${EBP_BOOT_TIMEOUT:-300}
[ -f "$image" ] || die "$image missing: run 'make kernel VARIANT=$variant'"
[ -f "$initrd" ] || die "$initrd missing: run 'make initramfs'"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: run 'make deps'"

# qemu_boot ACCEL SECONDS LOG: one boot, console to LOG.  A guest that
# printed EBP-DONE but did not power off within 10 s is stopped.
qemu_boot() {
	local accel=(-accel tcg,thread=multi -cpu max) pid waited=0 net=() append=
	if [ -n "${EBP_VIRTIO:-}" ]; then
		net=(-netdev hubport,id=p0,hubid=0 -device virtio-net-pci,netdev=p0
			-netdev hubport,id=p1,hubid=0 -device virtio-net-pci,netdev=p1)
		append=" ebp.virtio=1"
	fi
	[ "$1" = kvm ] && accel=(-accel kvm -cpu host)
	[ "$1" = icount ] && accel=(-accel tcg -icount shift=0,sleep=on -cpu max)
	timeout -k 5 "$2" qemu-system-x86_64 "${accel[@]}" \
		-m 1G -smp 2 -nographic -no-reboot "${net[@]}" \
		-kernel "$image" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 ebp.job=$job ebp.accel=$1 ${EBP_APPEND:-}$append" \
		</dev/null >"$3" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		if grep -q '^EBP-DONE' "$3" 2>/dev/null; then
			waited=$((waited + 1))
			if [ "$waited" -gt 10 ]; then
				echo "    the guest did not power off: stopping QEMU" >&2
				kill "$pid" 2>/dev/null
			fi
		fi
	done
	wait "$pid" 2>/dev/null
}

accel=${EBP_ACCEL:-}
if [ -z "$accel" ]; then
	accel=$(cat "$EBP_CACHE/accel" 2>/dev/null || true)
	if [ -z "$accel" ]; then
		accel=tcg
		if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
			step "probing KVM (a nested guest may hang; 30 s at most, once)"
			probe_log=$(mktemp)
			# A QEMU that crashes here is a verdict, not news: keep
			# the shell's report of it off the screen.
			if (job=probe qemu_boot kvm 30 "$probe_log") 2>/dev/null &&
				grep -q EBP-DONE "$probe_log"; then
				accel=kvm
			fi
			rm -f "$probe_log"
			[ "$accel" = kvm ] || echo "    KVM does not boot a guest here: using TCG" >&2
		fi
		echo "$accel" >"$EBP_CACHE/accel"
	fi
fi

mkdir -p "$(dirname "$log")"
step "booting the $variant kernel under QEMU ($accel), job '$job' (console: $log)"
start=$(date +%s)
qemu_boot "$accel" "$timeout" "$log" || true
# QEMU 7.2's multi-threaded TCG can let one vCPU run a stale translation of
# kernel text another vCPU has just patched, with text_poke_bp()'s int3 still
# in it: the kernel then dies with "Oops: int3".  Seen twice in sched_clock_cpu()
# (late_initcall marking sched_clock stable) and once in ep_free() while
# epoll_bp_race flipped ep_busy_poll_used, never under KVM or -icount (one
# CPU thread).  Its mark: the oops's Code: line shows the trapping int3
# already gone (the byte before <..> is not cc).  Before userspace none of
# our tests has run; after it, the job runs again whole.  Either way: boot
# once more, keep the first console, and say so.  A crash that comes back is
# a failure, and so is an int3 that is still in the text.
stale_int3() {
	local trap
	[ "$accel" = tcg ] || return 1
	# The byte before the <..> marker of the oops's Code: line.
	trap=$(grep -a -A20 'Oops: int3' "$log" | grep -a -m1 '^Code: ' |
		grep -aoE '[0-9a-f]{2} <[0-9a-f]{2}>' | cut -c1-2)
	[ -n "$trap" ] && [ "$trap" != cc ]
}
if stale_int3; then
	mv "$log" "$log.int3"
	where="before userspace"
	grep -aq EBP-GUEST-UP "$log.int3" && where="during the job (it runs again whole)"
	echo "    warning: the kernel died of a stale int3 $where (a multi-threaded TCG race; console: $log.int3): booting again" >&2
	qemu_boot "$accel" "$timeout" "$log" || true
fi
elapsed=$(($(date +%s) - start))
if ! grep -q '^EBP-DONE' "$log"; then
	tail -20 "$log" | sed 's/^/    | /' >&2
	if grep -q EBP-GUEST-UP "$log"; then
		echo "error: the guest did not finish its job within ${timeout}s (EBP_BOOT_TIMEOUT)" >&2
	else
		echo "error: the guest did not reach userspace in ${elapsed}s: see $log" >&2
	fi
	exit 1
fi
printf '    guest ran and powered off in %ds\n' "$elapsed" >&2
