#!/usr/bin/env bash
# `make lint`: the linters a reviewer runs on the Rust code, in the patched
# tree with the Rust build:
#   - `make LLVM=-19 rustfmtcheck` (the kernel's rustfmt check, whole tree);
#   - clippy on fs/eventpoll_busy_poll.rs as a CLIPPY=1 build runs it: the
#     object's saved compile command (fs/.eventpoll_busy_poll.o.cmd) with
#     clippy-driver for rustc, writing into a scratch directory so the
#     build's own object stays as it is; the kernel's .clippy.toml, with its
#     msrv set from scripts/min-tool-version.sh, so clippy's MSRV lints
#     reject library APIs newer than the oldest rustc the kernel supports;
#   - msrv_syntax.py on our Rust files: syntax newer than that rustc (such
#     as `&raw mut`), which clippy does not check and this rustc accepts;
#   - cargo fmt --check and cargo clippy -D warnings on tools/epoll_busy_poll.
# Any warning fails.  One PASS/FAIL line per linter; --counts FILE writes
# "PASSED FAILED 0" for test.sh.  checkpatch runs on the series (make patch).
. "$(dirname "$0")/common.sh"

counts=
[ "${1:-}" = --counts ] && counts=$2
src=$EBP_CACHE/src/linux
out=$EBP_CACHE/build/rust
crate=$EBP_ROOT/tools/epoll_busy_poll
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
passed=0 failed=0

# lint NAME CMD...: run CMD; it passes if it exits 0 and prints nothing
# that looks like a warning or an error.
lint() {
	local name=$1 rc=0
	shift
	"$@" >"$scratch/out" 2>&1 || rc=$?
	if [ "$rc" = 0 ] && ! grep -Eq '^(warning|error)(\[|:)|^Diff in' "$scratch/out"; then
		passed=$((passed + 1))
		echo "PASS [host] lint: $name"
	else
		failed=$((failed + 1))
		echo "FAIL [host] lint: $name (exit status $rc)"
		sed 's/^/    | /' "$scratch/out" | head -40
	fi
}

"$EBP_ROOT/scripts/ebp/kernel.sh" rust
step "linting the Rust code"

lint "make LLVM=$LLVM rustfmtcheck" make -s -C "$src" O="$out" LLVM="$LLVM" rustfmtcheck

# clippy_object: clippy-driver with the object's rustc flags, writing only
# metadata, into the scratch dir.
# The oldest rustc this kernel supports, and clippy's configuration for it.
min_rustc=$("$src/scripts/min-tool-version.sh" rustc)
mkdir -p "$scratch/clippy"
sed '/^msrv *=/d' "$src/.clippy.toml" >"$scratch/clippy/.clippy.toml"
echo "msrv = \"$min_rustc\"" >>"$scratch/clippy/.clippy.toml"

rust_object_flags "$out"
clippy_object() {
	(cd "$out" && CLIPPY_CONF_DIR="$scratch/clippy" RUSTC_BOOTSTRAP=1 \
		clippy-driver "${OBJECT_FLAGS[@]}" --emit=metadata --out-dir "$scratch")
}
lint "clippy on fs/eventpoll_busy_poll.rs (CLIPPY=1 flags, msrv $min_rustc)" clippy_object

# Our Rust: the implementation, its KUnit suite, the kernel-crate
# abstractions it added and the backported macros (kunit.rs is patched
# upstream code with our additions).
ours=("$src"/fs/eventpoll_busy_poll.rs "$src"/fs/eventpoll_busy_poll/*.rs
	"$src"/rust/kernel/{capability,jump_label,kunit,net/busy_poll}.rs
	"$src"/rust/macros/{export,kunit}.rs)
lint "no syntax newer than rustc $min_rustc (msrv_syntax.py)" \
	"$SYSTEM_PYTHON" "$EBP_ROOT/scripts/ebp/msrv_syntax.py" --min "$min_rustc" \
	"${ours[@]}"

cargo_crate() {
	cargo "$1" --quiet --manifest-path "$crate/Cargo.toml" "${@:2}"
}
lint "cargo fmt --check (tools/epoll_busy_poll)" cargo_crate fmt --check
lint "cargo clippy -D warnings (tools/epoll_busy_poll)" \
	cargo_crate clippy --locked --all-targets --target-dir "$EBP_CACHE/cargo-clippy" -- -D warnings

[ -z "$counts" ] || echo "$passed $failed 0" >"$counts"
echo "lint: $passed passed, $failed failed"
[ "$failed" = 0 ]
