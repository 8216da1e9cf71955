#!/usr/bin/env bash
# `make kunit`: run the Rust KUnit suite the way a kernel developer does,
# with tools/testing/kunit/kunit.py in the patched tree and the suite's
# own fs/eventpoll_busy_poll/.kunitconfig.  kunit.py configures and builds
# its own kernel (in .cache/build/kunit), boots it under QEMU and parses the
# KTAP; its exit status is ours.  KUNIT_ARGS adds kunit.py options.
. "$(dirname "$0")/common.sh"

"$EBP_ROOT/scripts/ebp/overlay.sh"
src=$EBP_CACHE/src/linux
cmd=(./tools/testing/kunit/kunit.py run
	--kunitconfig=fs/eventpoll_busy_poll/.kunitconfig
	--arch=x86_64 --make_options "LLVM=$LLVM"
	--build_dir="$EBP_CACHE/build/kunit" --jobs="$(nproc)" --timeout=900)
# shellcheck disable=SC2206 # KUNIT_ARGS is a list of options
cmd+=(${KUNIT_ARGS:-})
step "kunit.py in $src (cold: a kernel build of about 10 min)"
echo "    \$ ${cmd[*]}" >&2
cd "$src"
timed "kunit.py" "${cmd[@]}" ||
	die "kunit.py failed: its output above names the failing case or the build error"
