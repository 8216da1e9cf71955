#!/usr/bin/env bash
# Make the patched source tree: the pristine tree plus this repository's
# overlay.  Both kernel variants build out of tree (O=) from this one tree.
#
# The overlay is every file under fs/ net/ rust/ include/ Documentation/
# tools/include/ and tools/testing/, and MAINTAINERS.patch: a FILE.patch is
# a unified diff against the pristine FILE, anything else is a new file at
# its kernel path.  The top-level Kconfig
# becomes fs/eventpoll_busy_poll/Kconfig.  Only files whose content changed
# are written, so an incremental build rebuilds only what was edited.
#
# The base moves (Debian serves only the newest 6.12.y), so a patch may
# meet its file a few lines away from where it was made: such offsets are
# accepted and logged.  Fuzz is not: a hunk whose context lines differ is
# refused, with the patch and the base named.  Nothing but the overlay's
# own files reaches the tree (no .orig backups, no .rej rejects).
. "$(dirname "$0")/common.sh"

pristine=$("$EBP_ROOT/scripts/ebp/source.sh")
version=$(base_version "$pristine")
src=$EBP_CACHE/src/linux
manifest=$EBP_CACHE/src/overlay.list
# A new point release unpacked at the same path is another base.
base_id="$pristine $version $(cat "$pristine/.ebp-unpacked" 2>/dev/null || true)"

if [ "$(cat "$EBP_CACHE/src/pristine" 2>/dev/null)" != "$base_id" ]; then
	step "linking the source tree $src to $pristine (Linux $version)"
	rm -rf "$EBP_CACHE/src"
	mkdir -p "$EBP_CACHE/src"
	# Hard links cost no space; every write below replaces a file instead
	# of writing through the link, so the pristine tree stays pristine.
	cp -al "$pristine" "$src" 2>/dev/null || cp -a "$pristine" "$src"
	echo "$base_id" >"$EBP_CACHE/src/pristine"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

cd "$EBP_ROOT"
install -D -m 644 Kconfig "$stage/fs/eventpoll_busy_poll/Kconfig"
while IFS= read -r f; do
	case "$f" in
	*.patch)
		target=${f%.patch}
		[ -f "$pristine/$target" ] || die "$f patches $target, which is not in $pristine"
		install -D -m 644 "$pristine/$target" "$stage/$target"
		if ! out=$(patch -p1 -F0 --no-backup-if-mismatch --reject-file=- \
			-d "$stage" <"$f" 2>&1); then
			printf '%s\n' "$out" | grep -v '^patching file' | sed 's/^/    /' >&2
			die "$f does not apply to $target of Linux $version without fuzz: refresh it against that base (scripts/ebp/refresh-patches.sh) and review the result"
		fi
		# "Hunk #2 succeeded at 120 (offset 8 lines)."
		if grep -q 'offset' <<<"$out"; then
			step "$f: $(grep -c 'offset' <<<"$out") hunk(s) at an offset in Linux $version (scripts/ebp/refresh-patches.sh refreshes it)"
			grep 'offset' <<<"$out" | sed 's/^/    /' >&2
		fi
		;;
	*) install -D -m 644 "$f" "$stage/$f" ;;
	esac
done < <(find fs net rust include Documentation tools/include tools/testing MAINTAINERS.patch -type f 2>/dev/null | sort)

changed=0
(cd "$stage" && find . -type f | sed 's|^\./||' | sort) >"$stage.list"
while IFS= read -r f; do
	if ! cmp -s "$stage/$f" "$src/$f"; then
		mkdir -p "$(dirname "$src/$f")"
		cp --remove-destination "$stage/$f" "$src/$f"
		changed=$((changed + 1))
	fi
done <"$stage.list"

# Files the overlay no longer has go back to pristine (or away).
if [ -f "$manifest" ]; then
	comm -23 "$manifest" "$stage.list" | while IFS= read -r f; do
		if [ -f "$pristine/$f" ]; then
			cp --remove-destination "$pristine/$f" "$src/$f"
		else
			rm -f "$src/$f"
		fi
	done
fi
mv "$stage.list" "$manifest"
step "source tree $src: Linux $version, $(wc -l <"$manifest") overlay files, $changed updated"
