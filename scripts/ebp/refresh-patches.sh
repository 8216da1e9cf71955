#!/usr/bin/env bash
# Refresh the overlay's FILE.patch files against the current base (the
# pristine tree of source.sh), so that none needs an offset there.
#
#   scripts/ebp/refresh-patches.sh [FILE.patch ...]   (default: all of them)
#
# Each patch is applied to a copy of its pristine file as overlay.sh applies
# it (offsets allowed, no fuzz), and written anew as `diff -u` of the
# pristine file and the result, with the a/ b/ labels the overlay uses.  A
# patch that needs fuzz is not touched: its hunks must be merged by hand.
# The content after patching is the same before and after a refresh; only
# line numbers (and nothing else) change, which `git diff` shows.
. "$(dirname "$0")/common.sh"

pristine=$("$EBP_ROOT/scripts/ebp/source.sh")
version=$(base_version "$pristine")
cd "$EBP_ROOT"
if [ $# = 0 ]; then
	mapfile -t patches < <(find fs net rust include Documentation tools/include tools/testing \
		MAINTAINERS.patch -type f -name '*.patch' | sort)
else
	patches=("$@")
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
refreshed=0 failed=0
for f in "${patches[@]}"; do
	target=${f%.patch}
	[ -f "$pristine/$target" ] || die "$f patches $target, which is not in Linux $version"
	rm -rf "$work/a" && mkdir -p "$work/a"
	install -D -m 644 "$pristine/$target" "$work/a/$target"
	if ! out=$(patch -p1 -F0 --no-backup-if-mismatch --reject-file=- -d "$work/a" <"$f" 2>&1); then
		echo "$f: needs fuzz or does not apply to Linux $version; merge it by hand:" >&2
		printf '%s\n' "$out" | sed 's/^/    /' >&2
		failed=$((failed + 1))
		continue
	fi
	# diff exits 1 when the files differ, which is the point.
	diff -u --label "a/$target" --label "b/$target" "$pristine/$target" "$work/a/$target" \
		>"$work/new.patch" && die "$f changes nothing in Linux $version"
	if ! cmp -s "$work/new.patch" "$f"; then
		cp "$work/new.patch" "$f"
		echo "refreshed $f against Linux $version"
		refreshed=$((refreshed + 1))
	fi
done
step "${#patches[@]} patches: $refreshed refreshed, $failed need a hand merge (Linux $version)"
[ "$failed" = 0 ]
