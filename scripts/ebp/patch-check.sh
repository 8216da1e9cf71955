#!/usr/bin/env bash
# `make patch-check`: every patch of the series builds on its own.
#
# Writes the series (patch.sh), then applies it with git am, patch by
# patch, to a worktree of the base (.cache/patch/check) and builds a
# bzImage after each: x86_64 tinyconfig + .config.fragment with
# CONFIG_EPOLL_BUSY_POLL_RUST=y (the fragment is merged again after each
# patch, since options appear along the series), O=.cache/build/patch-rust,
# incremental from one patch to the next.  Then the last patch once more
# with CONFIG_EPOLL_BUSY_POLL_RUST=n (O=.cache/build/patch-c).  Before
# the Rust patch the option does not exist, so those builds are the C code.
# A failed build, a warning in our files (eventpoll, busy_poll, net/core)
# or our option not taking the asked value fails the check and names the
# patch.  Builds run under
# nice -n 10.  Cold: one full kernel build per variant.
. "$(dirname "$0")/common.sh"

# git am commits: any identity will do, the trees are what is compared.
export GIT_COMMITTER_NAME="ebp patch-check" GIT_COMMITTER_EMAIL=patch-check@localhost

"$EBP_ROOT/scripts/ebp/patch.sh" >/dev/null ||
	die "make patch failed: run it for the details"
repo=$EBP_CACHE/patch/linux
wt=$EBP_CACHE/patch/check
series=$EBP_CACHE/patches
mapfile -t patches < <(find "$series" -name '0*.patch' ! -name '0000-*' | sort)
n=${#patches[@]}
want=$(git -C "$repo" rev-parse 'series^{tree}')

# The worktree, at the base; files the series touches get new mtimes, so
# make rebuilds what they feed.
if [ ! -e "$wt/.git" ]; then
	rm -rf "$wt"
	git -C "$repo" worktree prune
	git -C "$repo" worktree add -q --detach "$wt" base
fi
git -C "$wt" am --abort >/dev/null 2>&1 || true
git -C "$wt" checkout -q -f --detach base
git -C "$wt" clean -fdq

# configure VARIANT OUT: tinyconfig once, then the fragment with our
# option set for VARIANT merged on top and olddefconfig.
configure() {
	local value=$1 out=$2 fragment=$2/ebp.fragment
	mkdir -p "$out"
	{
		grep -v '^CONFIG_EPOLL_BUSY_POLL_RUST' "$EBP_ROOT/.config.fragment"
		echo "CONFIG_EPOLL_BUSY_POLL_RUST=$value"
		[ "$value" = n ] || echo CONFIG_EPOLL_BUSY_POLL_RUST_KUNIT_TEST=y
	} >"$fragment"
	[ -f "$out/.config" ] || make -s -C "$wt" O="$out" LLVM="$LLVM" tinyconfig >/dev/null
	(cd "$out" && "$wt/scripts/kconfig/merge_config.sh" -m -O "$out" .config "$fragment" >/dev/null 2>&1)
	make -s -C "$wt" O="$out" LLVM="$LLVM" olddefconfig >/dev/null
}

# build LABEL VALUE OUT: configure and build; says what failed.
times=()
build() {
	local label=$1 value=$2 out=$3 start=$(date +%s) opt rc=0 warnings
	configure "$value" "$out"
	# Our options, where the tree has them, must have the asked value.
	for opt in EPOLL_BUSY_POLL_RUST EPOLL_BUSY_POLL_RUST_KUNIT_TEST; do
		[ "$value" = y ] || [ "$opt" = EPOLL_BUSY_POLL_RUST ] || continue
		grep -qs "^config $opt\$" "$wt/fs/eventpoll_busy_poll/Kconfig" || continue
		if [ "$value" = y ]; then
			grep -qx "CONFIG_$opt=y" "$out/.config" || rc=1
		else
			! grep -q "^CONFIG_$opt=" "$out/.config" || rc=1
		fi
		[ "$rc" = 0 ] || { echo "FAIL $label: CONFIG_$opt is not $value in $out/.config"; return 1; }
	done
	nice -n 10 make -C "$wt" O="$out" LLVM="$LLVM" -j"$(nproc)" bzImage >"$out/build.log" 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		grep -E 'error|Error' -A3 "$out/build.log" | head -30 | sed 's/^/    /'
		echo "FAIL $label: the build failed after $(($(date +%s) - start)) s (log: $out/build.log)"
		return 1
	fi
	# A warning in our files: a C one starts with the file's path, a Rust
	# one names it on a "-->" line just after.  (Not just any line near
	# one: clang's frame-size warning on fs/select.c is followed by
	# "CC fs/eventpoll.o".)
	warnings=$(grep -E -A3 '(^|: )warning' "$out/build.log" |
		grep -E -B3 '^[^ :]*(eventpoll|busy_poll|net/core/)[^ :]*:[0-9]+(:[0-9]+)?: warning|^ *--> [^ ]*(eventpoll|busy_poll)' || true)
	if [ -n "$warnings" ]; then
		echo "$warnings" | sed 's/^/    /'
		echo "FAIL $label: warnings in our files (log: $out/build.log)"
		return 1
	fi
	times+=("$(printf '%-72s %4d s' "$label" $(($(date +%s) - start)))")
	echo "PASS $label: built in $(($(date +%s) - start)) s"
}

step "applying and building $n patches one by one in $wt (O=$EBP_CACHE/build/patch-rust)"
begin=$(date +%s)
k=0
for p in "${patches[@]}"; do
	k=$((k + 1))
	name=$(basename "$p" .patch)
	git -C "$wt" am -q "$p" ||
		die "patch $k/$n ($name) does not apply: see 'git -C $wt am --show-current-patch=diff'"
	build "patch $k/$n $name [rust]" y "$EBP_CACHE/build/patch-rust" ||
		die "patch $k/$n ($name) does not build with CONFIG_EPOLL_BUSY_POLL_RUST=y"
done
build "patch $n/$n $name [c]" n "$EBP_CACHE/build/patch-c" ||
	die "patch $n/$n ($name) does not build with CONFIG_EPOLL_BUSY_POLL_RUST=n"
tree=$(git -C "$wt" rev-parse 'HEAD^{tree}')
[ "$tree" = "$want" ] ||
	die "the applied series differs from the one make patch committed"
printf '%s\n' "${times[@]}"
step "all $n patches build (rust after each, c at the last) in $(($(date +%s) - begin)) s"
