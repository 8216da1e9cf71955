#!/usr/bin/env bash
# `make vng CMD="..."`: boot a kernel with virtme-ng, which shares the host's
# root filesystem with the guest (read-only, with a writable overlay on top),
# run CMD there as root in this directory, and exit with CMD's status.
#
#   vng.sh CMD              the VARIANT kernel (rust unless VARIANT=c), built
#                           by kernel.sh if it is not up to date
#   VNG_IMAGE=bzImage ...   any other kernel, e.g. one `vng --build` made
#   VNG_OPTS="--network loop" ...
#                           more vng options, split at blanks (none by
#                           default), e.g. two virtio-net ports joined by a
#                           hub inside QEMU for epoll_bp_virtio
#   vng.sh --install        only install virtme-ng
#
# virtme-ng comes from PyPI into a venv under the cache.  KVM is used when
# the probe in boot.sh found it working, else TCG (--disable-kvm).
. "$(dirname "$0")/common.sh"

VNG_VERSION=1.42
venv=$EBP_CACHE/vng-venv
cmd=${1:?usage: vng.sh CMD (a shell command line to run in the guest)}

if ! "$venv/bin/vng" --version 2>/dev/null | grep -qx "virtme-ng $VNG_VERSION"; then
	step "installing virtme-ng $VNG_VERSION from PyPI into $venv"
	rm -rf "$venv"
	"$SYSTEM_PYTHON" -m venv "$venv" ||
		die "could not make a venv: apt-get install python3-venv (make deps)"
	timed "pip install virtme-ng" "$venv/bin/pip" install --quiet "virtme-ng==$VNG_VERSION" ||
		die "pip could not install virtme-ng $VNG_VERSION: is PyPI reachable?"
fi
[ "$cmd" != --install ] || exit 0

variant=${VARIANT:-rust}
image=${VNG_IMAGE:-}
if [ -z "$image" ]; then
	"$EBP_ROOT/scripts/ebp/kernel.sh" "$variant"
	image=$EBP_CACHE/build/$variant/arch/x86/boot/bzImage
fi
[ -f "$image" ] || die "$image missing: build it first (make kernel, or vng --build)"

# The accelerator boot.sh settled on (it probes KVM once and caches it).
if [ ! -s "$EBP_CACHE/accel" ]; then
	"$EBP_ROOT/scripts/ebp/initramfs.sh"
	"$EBP_ROOT/scripts/ebp/boot.sh" "$variant" probe "$EBP_CACHE/logs/probe-$variant.log" >/dev/null ||
		die "the QEMU probe boot failed: see $EBP_CACHE/logs/probe-$variant.log"
fi
accel=$(cat "$EBP_CACHE/accel")
args=(--run "$image" --user root --cpus 2 --memory 1G)
[ "$accel" = kvm ] || args+=(--disable-kvm)
read -r -a opts <<<"${VNG_OPTS:-}"
args+=("${opts[@]}")

step "running '$cmd' under virtme-ng ($accel, ${image#"$EBP_ROOT"/}${VNG_OPTS:+, $VNG_OPTS})"
start=$(date +%s) rc=0
cd "$EBP_ROOT"
# vng runs its helpers (virtme-run, ...) from PATH.
export PATH=$venv/bin:$PATH
# The guest says EBP-VNG-UP on stderr before CMD starts; it is kept out of
# the output and tells a guest that never ran CMD (see run_vng's caller).
up=EBP-VNG-UP
errs=$(mktemp)
trap 'rm -f "$errs"' EXIT
# run_vng: one boot.  A guest that cannot power off (no ACPI) would leave vng
# waiting forever.  Its QEMU reopens stdout and stderr by path
# (/proc/self/fd/N), which truncates them when they are files (a CI log):
# give it pipes instead.
run_vng() {
	rc=0
	{ timeout -k 10 "${VNG_TIMEOUT:-600}" "$venv/bin/vng" "${args[@]}" \
		--exec "echo $up >&2; $cmd" </dev/null 2>&1 >&3 3>&- |
		tee "$errs" | { grep --line-buffered -vx "$up" || true; } >&2; } 3>&1 | cat || rc=$?
}
run_vng
# Multi-threaded TCG can crash the kernel before userspace (a stale int3 of
# kernel text patching: see boot.sh).  CMD has not run then: boot once more.
if [ "$rc" != 0 ] && [ "$accel" != kvm ] && ! grep -qx "$up" "$errs"; then
	echo "    warning: the guest died before running '$cmd' (exit status $rc after $(($(date +%s) - start))s): booting again" >&2
	run_vng
fi
printf '    vng: exit status %d after %ds\n' "$rc" $(($(date +%s) - start)) >&2
[ "$rc" != 124 ] || echo "error: vng did not return within ${VNG_TIMEOUT:-600}s (VNG_TIMEOUT)" >&2
exit "$rc"
