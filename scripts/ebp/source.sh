#!/usr/bin/env bash
# Unpack the pristine Linux 6.12 tree once into the cache.
#
# KERNEL_SRC=path uses an existing 6.12.y tree instead of Debian's
# linux-source-6.12; it is read, never written.  Prints the pristine tree's
# path on stdout.
. "$(dirname "$0")/common.sh"

if [ -n "${KERNEL_SRC:-}" ]; then
	[ -f "$KERNEL_SRC/fs/eventpoll.c" ] ||
		die "KERNEL_SRC=$KERNEL_SRC does not look like a kernel tree (no fs/eventpoll.c)"
	pristine=$(cd "$KERNEL_SRC" && pwd)
else
	tarball=/usr/src/linux-source-6.12.tar.xz
	[ -f "$tarball" ] || die "$tarball missing: run 'make deps' (apt-get install linux-source-6.12)"
	pristine=$EBP_CACHE/pristine/linux-source-6.12
	# The tarball's size and time: an upgraded linux-source-6.12 (a new
	# point release) is unpacked anew.
	stamp=$(stat -c '%s %Y' "$tarball")
	if [ "$(cat "$pristine/.ebp-unpacked" 2>/dev/null)" != "$stamp" ]; then
		step "unpacking $tarball (once per point release, about a minute)"
		rm -rf "$EBP_CACHE/pristine"
		mkdir -p "$EBP_CACHE/pristine"
		timed "unpack" tar -C "$EBP_CACHE/pristine" -xf "$tarball"
		echo "$stamp" >"$pristine/.ebp-unpacked"
	fi
fi

version=$(base_version "$pristine" || true)
case "$version" in
6.12*) ;;
*) die "$pristine is Linux '$version', not 6.12.y: point KERNEL_SRC at a 6.12 tree" ;;
esac
echo "$pristine"
