# Shared helpers for the build driver.  Sourced, never executed.
# shellcheck shell=bash

set -euo pipefail

EBP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Everything generated lives under the cache: the pristine tree, the build
# trees, the initramfs and logs.  Override with EBP_CACHE=dir.
EBP_CACHE=${EBP_CACHE:-$EBP_ROOT/.cache}
export LLVM=${LLVM:--19}

# The system's python3, where apt's python3-* modules (docutils, matplotlib)
# live; another python3 first in PATH (pyenv, a venv) does not see them.
SYSTEM_PYTHON=/usr/bin/python3
[ -x "$SYSTEM_PYTHON" ] || SYSTEM_PYTHON=python3

step() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# base_version TREE: the kernel version of a source tree ("6.12.118"), as
# its Makefile says; read wherever the base is shown or compared, never
# written down (Debian serves only the newest 6.12 point release).
base_version() { make -s -C "$1" kernelversion 2>/dev/null; }

# timed LABEL CMD...: run CMD, then say how long it took.
timed() {
	local label=$1 start rc=0
	shift
	start=$(date +%s)
	"$@" || rc=$?
	printf '    %s: %ds\n' "$label" $(($(date +%s) - start)) >&2
	return "$rc"
}

# rust_object_flags BUILD: the flags kbuild compiled fs/eventpoll_busy_poll.o
# with in BUILD, for another tool that takes rustc's flags (rustdoc,
# clippy-driver); run it from BUILD.  From the saved command in
# fs/.eventpoll_busy_poll.o.cmd, split as the shell would (it has quoted
# arguments), minus the environment assignment, rustc itself and what only
# makes the object (dep-info, output paths).  Sets the array OBJECT_FLAGS.
rust_object_flags() {
	local cmdfile=$1/fs/.eventpoll_busy_poll.o.cmd arg seen=
	[ -f "$cmdfile" ] ||
		die "$cmdfile missing: is CONFIG_EPOLL_BUSY_POLL_RUST=y in $1/.config?"
	eval "set -- $(sed -n 's/^savedcmd_[^=]*:= //p' "$cmdfile")"
	OBJECT_FLAGS=()
	for arg; do
		case "$arg" in
		rustc) seen=1 ;;
		RUST_MODFILE=* | --emit=* | --out-dir | fs/ | -Zbinary_dep_depinfo*) ;;
		*) OBJECT_FLAGS+=("$arg") ;;
		esac
	done
	[ -n "$seen" ] || die "unexpected compile command in $cmdfile"
}
