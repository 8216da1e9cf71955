#!/usr/bin/env bash
# `make rustdoc`: HTML documentation of the Rust code of the patch.
#
# The kernel's own `make rustdoc` documents the crates in rust/ (core,
# macros, kernel: our rust/ changes are there).  It does not document Rust
# objects elsewhere in the tree, such as fs/eventpoll_busy_poll.rs, so this
# script runs rustdoc on that crate too, with the very flags its object was
# compiled with (the command kbuild saved in fs/.eventpoll_busy_poll.o.cmd),
# private items included, into the same output directory, so the two link
# to each other and share one search index.  Any rustdoc warning fails.
#
#   rustdoc.sh          the kernel's crates, then ours (the Rust build)
#   rustdoc.sh --ours   ours only (seconds; make test checks it this way)
. "$(dirname "$0")/common.sh"

src=$EBP_CACHE/src/linux
out=$EBP_CACHE/build/rust
html=$out/Documentation/output/rust/rustdoc
"$EBP_ROOT/scripts/ebp/kernel.sh" rust

if [ "${1:-}" != --ours ]; then
	step "documenting the kernel's crates (make rustdoc in the Rust build)"
	timed "make rustdoc" make -s -C "$src" O="$out" LLVM="$LLVM" rustdoc ||
		die "the kernel's make rustdoc failed: see the errors above"
fi

step "documenting fs/eventpoll_busy_poll.rs"
# rustdoc takes the object's rustc flags as they are.
rust_object_flags "$out"
# No page of an earlier run may stand in for one this run did not make.
rm -rf "$html/eventpoll_busy_poll" "$html/src/eventpoll_busy_poll"
mkdir -p "$html"
warnings=$EBP_CACHE/logs/rustdoc-warnings.txt
mkdir -p "$(dirname "$warnings")"
# Like kbuild (the top Makefile exports it): -Z flags on a stable rustdoc.
(cd "$out" && RUSTC_BOOTSTRAP=1 rustdoc "${OBJECT_FLAGS[@]}" -Zunstable-options --document-private-items \
	--generate-link-to-definition --output "$html") 2>"$warnings" || {
	cat "$warnings" >&2
	die "rustdoc failed on fs/eventpoll_busy_poll.rs: see the errors above"
}
if [ -s "$warnings" ]; then
	cat "$warnings" >&2
	die "rustdoc warned about fs/eventpoll_busy_poll.rs: fix the doc comments above"
fi
echo "$html/eventpoll_busy_poll/index.html"
