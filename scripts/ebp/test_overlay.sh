#!/usr/bin/env bash
# Host check of overlay.sh against a base that moved, as Debian's
# linux-source-6.12 does with each point release:
#  - a copy of the base with three lines inserted above the first hunk of
#    every file a FILE.patch changes: the overlay applies, each patch's
#    offset is logged, and the tree holds exactly the overlay's files
#    (no .orig backup, no .rej reject, nothing else new);
#  - a copy whose context line of one hunk differs: the overlay is refused
#    (no fuzz), naming the patch and the base version.
# The copies are hard links of the pristine tree; each changed file is
# replaced, never written through its link.  One PASS/FAIL line per check;
# --counts FILE writes "PASSED FAILED 0" for test.sh.
. "$(dirname "$0")/common.sh"

counts=
[ "${1:-}" = --counts ] && counts=$2

pristine=$("$EBP_ROOT/scripts/ebp/source.sh")
version=$(base_version "$pristine")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0 failed=0
check() {
	if [ "$2" = 0 ]; then
		echo "PASS [host] overlay: $1"
		passed=$((passed + 1))
	else
		echo "FAIL [host] overlay: $1${3:+: $3}"
		failed=$((failed + 1))
	fi
}

cd "$EBP_ROOT"
mapfile -t patches < <(find fs net rust include Documentation tools/include tools/testing \
	MAINTAINERS.patch -type f -name '*.patch' | sort)
# What the tree must hold: the overlay's new files and the files its
# patches change, at their kernel paths, and the top-level Kconfig.
expected=$(
	find fs net rust include Documentation tools/include tools/testing MAINTAINERS.patch \
		-type f | sed 's/\.patch$//'
	echo fs/eventpoll_busy_poll/Kconfig
)
expected=$(sort <<<"$expected")
new_files=$(comm -23 <(echo "$expected") <(cd "$pristine" && find . -type f | sed 's|^\./||' | sort))

# first_hunk PATCH: the line of the base where its first hunk starts.
first_hunk() { sed -n 's/^@@ -\([0-9]*\).*/\1/p' "$1" | head -1; }

# A base moved by three lines above each patch's first hunk.
step "overlay check: Linux $version with lines inserted above a hunk of ${#patches[@]} patched files"
cp -al "$pristine" "$work/moved"
for f in "${patches[@]}"; do
	target=${f%.patch}
	awk -v at="$(first_hunk "$f")" 'NR == at { for (i = 0; i < 3; i++) print "ebp overlay check: an inserted line" } { print }' \
		"$pristine/$target" >"$work/file"
	mv "$work/file" "$work/moved/$target"
done
rc=0
KERNEL_SRC=$work/moved EBP_CACHE=$work/cache-moved "$EBP_ROOT/scripts/ebp/overlay.sh" \
	>"$work/moved.log" 2>&1 || rc=$?
check "applies to a base moved by 3 lines above a hunk of every patch" "$rc" "$(tail -3 "$work/moved.log" | tr '\n' ' ')"
missing=()
for f in "${patches[@]}"; do
	grep -q "^==> $f: [0-9]* hunk(s) at an offset in Linux $version" "$work/moved.log" || missing+=("$f")
done
check "each patch's offset is logged with the base version (${#patches[@]} patches)" "${#missing[@]}" "not logged: ${missing[*]}"
tree=$work/cache-moved/src/linux
extra=$(comm -13 <(cd "$work/moved" && find . -type f | sed 's|^\./||' | sort) \
	<(cd "$tree" 2>/dev/null && find . -type f | sed 's|^\./||' | sort))
ok=0
[ "$extra" = "$new_files" ] || ok=1
check "the tree's new files are the overlay's, no more (no .orig, no .rej)" "$ok" \
	"$(comm -3 <(echo "$new_files") <(echo "$extra") | tr -d '\t' | tr '\n' ' ')"
ok=0
[ "$(sort "$work/cache-moved/src/overlay.list" 2>/dev/null)" = "$expected" ] || ok=1
check "the manifest lists exactly the overlay's $(wc -l <<<"$expected") files" "$ok" \
	"$(comm -3 <(echo "$expected") <(sort "$work/cache-moved/src/overlay.list" 2>/dev/null) | tr -d '\t' | tr '\n' ' ')"
bad=()
for f in "${patches[@]}"; do
	[ "$(grep -c '^ebp overlay check: an inserted line$' "$tree/${f%.patch}" 2>/dev/null)" = 3 ] ||
		bad+=("${f%.patch}")
done
check "each patched file keeps the moved base's inserted lines" "${#bad[@]}" "${bad[*]}"

# A base where the first context line of one hunk differs: fuzz.
victim=fs/eventpoll.c.patch
at=$(first_hunk "$victim")
cp -al "$pristine" "$work/fuzzed"
awk -v at="$at" 'NR == at { print $0 " /* changed */"; next } { print }' \
	"$pristine/${victim%.patch}" >"$work/file"
mv "$work/file" "$work/fuzzed/${victim%.patch}"
rc=0
KERNEL_SRC=$work/fuzzed EBP_CACHE=$work/cache-fuzzed "$EBP_ROOT/scripts/ebp/overlay.sh" \
	>"$work/fuzzed.log" 2>&1 || rc=$?
ok=0
[ "$rc" != 0 ] && grep -q "^error: $victim does not apply .*Linux $version" "$work/fuzzed.log" || ok=1
check "a hunk that needs fuzz is refused, naming $victim and Linux $version" "$ok" \
	"exit $rc: $(tail -2 "$work/fuzzed.log" | tr '\n' ' ')"

# The pristine tree is untouched by all of this.
ok=0
for f in "${patches[@]}"; do
	grep -q '^ebp overlay check' "$pristine/${f%.patch}" && ok=1
done
grep -q 'changed \*/$' "$pristine/${victim%.patch}" && ok=1
check "the pristine tree is left as it was" "$ok"

[ -z "$counts" ] || echo "$passed $failed 0" >"$counts"
[ "$failed" = 0 ]
