#!/usr/bin/env bash
# `make patch`: the overlay as an upstream-style patch series.
#
# scripts/ebp/series/ defines it: NN-name.txt is patch NN, its "Files:"
# lines (globs allowed) name the files it brings in, in their final form,
# and the rest is its commit message.  A file an earlier patch brought in
# and a later one changes: the later patch's part of it is NN-name.diff,
# which is taken back off the final file (patch -R) to get the earlier
# state; scripts/ebp/series_diffs.py writes the .diff files, and a patch
# that only changes files of earlier patches has an empty "Files:" line.
# 00-cover-letter.txt is the cover letter (subject, blank line,
# body).  In it and in the messages @BASE@ stands for the base, "v6.12.118"
# say, read from the pristine tree, and counts are read from the code, not
# typed: @EXPORTS@ the functions fs/eventpoll_busy_poll.rs exports to C
# (#[export]), @KUNIT_CASES@ the #[test] functions of its KUnit suite;
# excluded.txt lists the overlay files left out, each with why.
#
# Makes the commits in a throwaway git repository of the pristine tree
# (.cache/patch/linux, base commit "Linux <version>"), writes them with git
# format-patch into .cache/patches/ as a posting: "[RFC PATCH k/n]"
# subjects, a base-commit: trailer, and To:/Cc: from
# scripts/get_maintainer.pl run on the patches in that repository
# (maintainers in To:, reviewers and lists in Cc:; the list is also in
# .cache/patch/get_maintainer.txt).  Checks: every overlay file in
# exactly one patch, the states between patches consistent, the final tree
# equal to the overlay, the patch files applying to the base in order, a
# Signed-off-by and a clean scripts/checkpatch.pl --strict (0 errors, 0
# warnings; long lines in ynl-gen's output are shown but not counted) on
# every patch, the .diff files up to date with the overlay,
# the subjects, the base-commit: trailer, a changelog entry for this
# version in the cover letter, and the linux-fsdevel, netdev and
# rust-for-linux lists on every patch.  One
# PASS/FAIL line per check; --counts FILE writes "PASSED FAILED 0" for
# test.sh.  Exits non-zero on any failure.
#
# SIGNOFF="Name <mail>" signs the patches; the default is git config
# user.name/user.email, else a placeholder.  SERIES_PREFIX (default
# "RFC PATCH") and SERIES_VERSION (default 1; 2 gives "[RFC PATCH v2 k/n]")
# name the posting; the cover letter's changelog must have a paragraph
# for it, starting "RFC v1:" (or "v2:" without RFC).
. "$(dirname "$0")/common.sh"

counts=
[ "${1:-}" = --counts ] && counts=$2

series=$EBP_ROOT/scripts/ebp/series
work=$EBP_CACHE/patch
repo=$work/linux
out=$EBP_CACHE/patches
placeholder="Your Name <you@example.org>"
prefix=${SERIES_PREFIX:-RFC PATCH}
reroll=${SERIES_VERSION:-1}
[[ "$reroll" =~ ^[1-9][0-9]*$ ]] || die "SERIES_VERSION='$reroll' is not a number"
# What the changelog calls this version: "RFC v1", "v2".
label=v$reroll
[[ "$prefix" != *RFC* ]] || label="RFC $label"
# The lists the series must reach, whatever MAINTAINERS says.
lists=(linux-fsdevel@vger.kernel.org netdev@vger.kernel.org rust-for-linux@vger.kernel.org)
if [ -z "${SIGNOFF:-}" ]; then
	name=$(git -C "$EBP_ROOT" config user.name || true)
	mail=$(git -C "$EBP_ROOT" config user.email || true)
	SIGNOFF=$placeholder
	[ -z "$name" ] || [ -z "$mail" ] || SIGNOFF="$name <$mail>"
fi
[[ "$SIGNOFF" =~ ^([^<]+[^<\ ])\ \<([^>]+@[^>]+)\>$ ]] ||
	die "SIGNOFF='$SIGNOFF' is not 'Name <mail>'"
export GIT_AUTHOR_NAME=${BASH_REMATCH[1]} GIT_AUTHOR_EMAIL=${BASH_REMATCH[2]}
export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
# The date of this repository's last commit: the same tree makes the same
# series, byte for byte.
export GIT_AUTHOR_DATE GIT_COMMITTER_DATE
GIT_AUTHOR_DATE=$(git -C "$EBP_ROOT" log -1 --format=%cI)
GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE

passed=0 failed=0
# check NAME OK [WHY]: one assertion.
check() {
	if [ "$2" = 0 ]; then
		echo "PASS [host] series: $1"
		passed=$((passed + 1))
	else
		echo "FAIL [host] series: $1${3:+: $3}"
		failed=$((failed + 1))
	fi
}
finish() {
	[ -z "$counts" ] || echo "$passed $failed 0" >"$counts"
	[ "$failed" = 0 ]
}

pristine=$("$EBP_ROOT/scripts/ebp/source.sh")
"$EBP_ROOT/scripts/ebp/overlay.sh"
src=$EBP_CACHE/src/linux
# The overlay files that go into the series: all but the excluded ones.
declare -A excluded=()
while read -r f _; do
	excluded[$f]=1
done < <(grep -v '^#' "$series/excluded.txt")
overlay=() stale=()
while IFS= read -r f; do
	[ -n "${excluded[$f]:-}" ] || overlay+=("$f")
done <"$EBP_CACHE/src/overlay.list"
for f in "${!excluded[@]}"; do
	grep -qxF "$f" "$EBP_CACHE/src/overlay.list" || stale+=("$f")
done
version=$(base_version "$pristine")
# fill: the series' text on stdin with its @NAME@ placeholders filled in.
exports=$(grep -c '^#\[export\]' "$src/fs/eventpoll_busy_poll.rs" || true)
kunit_cases=$(grep -cE '^[[:space:]]*#\[test\]' "$src/fs/eventpoll_busy_poll/kunit.rs" || true)
fill() {
	sed -e "s/@BASE@/v$version/g" -e "s/@EXPORTS@/$exports/g" -e "s/@KUNIT_CASES@/$kunit_cases/g"
}

# The base: the pristine tree as one commit, made once per point release
# (a minute or two).
if [ "$(git -C "$repo" log -1 --format=%s base 2>/dev/null)" != "Linux $version" ]; then
	step "making the base repository $repo (Linux $version, once)"
	rm -rf "$repo"
	mkdir -p "$repo"
	cp -a "$pristine/." "$repo/"
	rm -f "$repo/.ebp-unpacked"
	git -C "$repo" init -q
	git -C "$repo" add -A -f
	git -C "$repo" -c core.autocrlf=false commit -q -m "Linux $version"
	git -C "$repo" tag base
fi

# The series definition: subjects, messages, files, diffs.
mapfile -t texts < <(find "$series" -name '[0-9][0-9]-*.txt' ! -name '00-*' | sort)
n=${#texts[@]}
[ "$n" -gt 0 ] || die "no patches in $series"
declare -A owner=()
uncovered=() unmatched=() twice=()
for k in $(seq 1 "$n"); do
	text=${texts[k - 1]}
	pats=$(sed -n '/^$/q; s/^Files: *//p' "$text")
	[ -n "$pats" ] || [ -f "${text%.txt}.diff" ] ||
		die "${text#"$EBP_ROOT"/}: no Files: lines and no .diff"
	set -f # the patterns are globs over the overlay, not over this directory
	for pat in $pats; do
		hit=0
		for f in "${overlay[@]}"; do
			# shellcheck disable=SC2053 # $pat is a glob
			[[ $f == $pat ]] || continue
			hit=1
			if [ -n "${owner[$f]:-}" ]; then
				twice+=("$f")
			else
				owner[$f]=$k
			fi
		done
		[ "$hit" = 1 ] || unmatched+=("$(basename "$text"): $pat")
	done
	set +f
done
for f in "${overlay[@]}"; do
	[ -n "${owner[$f]:-}" ] || uncovered+=("$f")
done
check "every file of excluded.txt is in the overlay" "${#stale[@]}" "not in the overlay: ${stale[*]}"
check "every overlay file is in a patch (${#overlay[@]} files, ${#excluded[@]} excluded)" "${#uncovered[@]}" "not in any Files: line: ${uncovered[*]}"
check "no file is brought in by two patches" "${#twice[@]}" "${twice[*]}"
check "every Files: pattern matches an overlay file" "${#unmatched[@]}" "${unmatched[*]}"
ok=0
mkdir -p "$work"
EBP_CACHE=$EBP_CACHE "$SYSTEM_PYTHON" "$EBP_ROOT/scripts/ebp/series_diffs.py" --check --no-overlay \
	>"$work/series_diffs.log" 2>&1 || ok=1
check "the .diff files are those scripts/ebp/series_diffs.py makes of the overlay" "$ok" \
	"$(grep -v '^[0-9][0-9]-.*: [0-9]* lines:' "$work/series_diffs.log" | tr '\n' ' ')"

# The tree after each patch, from the last back to the base: patch k's
# diff comes off, its files go back to pristine (or away).
states=$(mktemp -d)
trap 'rm -rf "$states"' EXIT
mkdir "$states/$n"
for f in "${overlay[@]}"; do install -D -m 644 "$src/$f" "$states/$n/$f"; done
bad=()
for k in $(seq "$n" -1 1); do
	cp -a "$states/$k" "$states/$((k - 1))"
	d=${texts[k - 1]%.txt}.diff
	if [ -f "$d" ]; then
		if ! patch -R -s -p1 -F0 --no-backup-if-mismatch -d "$states/$((k - 1))" <"$d" >/dev/null; then
			bad+=("$(basename "$d") does not come off the tree after patch $k")
		fi
		# Only files that an earlier patch brought in.
		for f in $(sed -n 's|^+++ b/||p' "$d" | cut -f1); do
			[ "${owner[$f]:-99}" -lt "$k" ] || bad+=("$(basename "$d") changes $f, which no earlier patch brings in")
		done
	fi
	for f in "${overlay[@]}"; do
		[ "${owner[$f]:-}" = "$k" ] || continue
		if [ -f "$pristine/$f" ]; then
			cp "$pristine/$f" "$states/$((k - 1))/$f"
		else
			rm -f "$states/$((k - 1))/$f"
		fi
	done
done
for f in "${overlay[@]}"; do
	if [ -f "$pristine/$f" ]; then
		cmp -s "$pristine/$f" "$states/0/$f" || bad+=("$f is not pristine before patch 1")
	elif [ -e "$states/0/$f" ]; then
		bad+=("$f exists before patch 1")
	fi
done
check "the diffs come off in order and leave the base pristine" "${#bad[@]}" "${bad[*]}"

# One commit per patch.
step "committing $n patches in $repo as $SIGNOFF"
git -C "$repo" checkout -q -f -B series base
git -C "$repo" clean -fdxq
empty=()
for k in $(seq 1 "$n"); do
	for f in "${overlay[@]}"; do
		if [ -f "$states/$k/$f" ]; then
			if ! cmp -s "$states/$k/$f" "$repo/$f"; then
				mkdir -p "$(dirname "$repo/$f")"
				cp "$states/$k/$f" "$repo/$f"
			fi
		else
			rm -f "$repo/$f"
		fi
	done
	git -C "$repo" add -A -f .
	# The sign-off joins a trailer block the message ends with (Fixes:).
	sep='\n'
	tail -1 "${texts[k - 1]}" | grep -qE '^[A-Z][A-Za-z-]*: ' && sep=
	{
		sed '1,/^$/d' "${texts[k - 1]}" | fill
		printf "${sep}Signed-off-by: %s\n" "$SIGNOFF"
	} >"$states/msg"
	git -C "$repo" diff --cached --quiet && empty+=("$(basename "${texts[k - 1]}")")
	git -C "$repo" commit -q --allow-empty --cleanup=strip -F "$states/msg"
done
check "every patch changes something" "${#empty[@]}" "empty: ${empty[*]}"

# The last commit is the overlay, no more, no less.
diffs=()
for f in "${overlay[@]}"; do
	cmp -s "$repo/$f" "$src/$f" || diffs+=("$f")
done
want=$(for f in "${overlay[@]}"; do cmp -s "$pristine/$f" "$src/$f" || echo "$f"; done | sort)
have=$(git -C "$repo" diff --name-only base HEAD | sort)
[ "$want" = "$have" ] || diffs+=("changed files: $(comm -3 <(echo "$want") <(echo "$have") | tr -d '\t' | tr '\n' ' ')")
check "the series' final tree equals the overlaid tree" "${#diffs[@]}" "${diffs[*]}"

# Who gets the series: scripts/get_maintainer.pl on its patches (not the
# cover letter, whose prose would match keywords), with the MAINTAINERS of
# the series' last tree.  Maintainers and supporters go in To:, everyone
# else (reviewers, lists) in Cc:; the sender and the placeholder
# maintainer of our entry are left out.
rm -rf "$states/gm"
git -C "$repo" format-patch -q -o "$states/gm" base..series
recipients=$work/get_maintainer.txt
ok=0
(cd "$repo" && ./scripts/get_maintainer.pl --no-git --no-git-fallback --rolestats \
	"$states"/gm/*.patch) >"$recipients" 2>"$states/gm.err" || ok=1
to=() cc=()
while IFS= read -r line; do
	# "Name <mail> (role:ENTRY)" or "list@host (open list:ENTRY)"; an
	# entry's name may have parentheses of its own.
	if [[ "$line" == *"<"*">"* ]]; then addr="${line%%>*}>"; else addr=${line%% *}; fi
	role=${line#"$addr"} role=${role# (}
	case "$addr" in "" | "$SIGNOFF" | "$placeholder") continue ;; esac
	case "$role" in
	maintainer* | supporter* | "odd fixer"*) to+=("--to=$addr") ;;
	*) cc+=("--cc=$addr") ;;
	esac
done <"$recipients"
[ "${#to[@]}" -gt 0 ] || ok=1
check "get_maintainer.pl names the recipients: ${#to[@]} To:, ${#cc[@]} Cc:" "$ok" \
	"$(head -c 300 "$states/gm.err")"

# The series, with the cover letter from the branch description.
rm -rf "$out"
version_opt=()
[ "$reroll" = 1 ] || version_opt=(-v "$reroll")
git -C "$repo" config branch.series.description "$(fill <"$series/00-cover-letter.txt")"
left=$(cat "$series"/*.txt | fill | grep -oE '@[A-Z_]+@' | sort -u | tr '\n' ' ' || true)
ok=0
[ -z "$left" ] && [ "${exports:-0}" != 0 ] && [ "${kunit_cases:-0}" != 0 ] || ok=1
check "every placeholder in the letters is filled (base, counts from the code)" "$ok" \
	"left: ${left:-none}; exports ${exports:-?}, KUnit cases ${kunit_cases:-?}"
git -C "$repo" format-patch -q --cover-letter --cover-from-description=subject \
	--subject-prefix="$prefix" "${version_opt[@]}" --base=base "${to[@]}" "${cc[@]}" \
	-o "$out" base..series
mapfile -t patches < <(find "$out" -name '*.patch' ! -name '*0000-*' | sort)
cover=$(find "$out" -name '*0000-cover-letter.patch')
check "$n patches and a cover letter written" $((${#patches[@]} != n || ${#cover} == 0)) "${#patches[@]} patches"
ok=0
grep -q '\*\*\*' "$cover" && ok=1
check "the cover letter has no *** placeholders ***" "$ok"

# The posting: subjects, base, changelog, recipients.
tag=$prefix
[ "$reroll" = 1 ] || tag="$prefix v$reroll"
bad=()
k=0
for p in "$cover" "${patches[@]}"; do
	want=$(printf '[%s %0*d/%d] ' "$tag" "${#n}" "$k" "$n")
	subject=$(sed -n 's/^Subject: //p' "$p" | head -1)
	[ "${subject:0:${#want}}" = "$want" ] || bad+=("$(basename "$p"): $subject")
	k=$((k + 1))
done
check "subjects are [$tag k/$n]" "${#bad[@]}" "${bad[*]}"
ok=0
grep -qx "base-commit: $(git -C "$repo" rev-parse base)" "$cover" || ok=1
check "the cover letter names its base (base-commit: Linux $version)" "$ok"
ok=0
# Not grep -q: with pipefail, sed's SIGPIPE when grep -q stops reading
# early (over 4 KiB of cover letter after the heading) would fail it.
sed -n '/^Changelog$/,$p' "$cover" | grep "^$label: " >/dev/null || ok=1
check "the cover letter's Changelog has a \"$label:\" entry" "$ok" \
	"add a Changelog section with a paragraph starting \"$label: \" to 00-cover-letter.txt"
bad=()
for p in "$cover" "${patches[@]}"; do
	# The mail headers, folded lines joined.
	headers=$(sed '/^$/q' "$p" | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n[ \t]\+/ /g')
	for l in "${lists[@]}"; do
		grep -qE "^(To|Cc):.*$l" <<<"$headers" || bad+=("$(basename "$p") lacks $l")
	done
done
check "every patch and the cover letter go to ${lists[*]%%@*}" "${#bad[@]}" "${bad[*]}"

# The files themselves apply to the base, in order, to the same tree.
index=$states/index
GIT_INDEX_FILE=$index git -C "$repo" read-tree base
applied=0
for p in "${patches[@]}"; do
	GIT_INDEX_FILE=$index git -C "$repo" apply --cached "$p" || break
	applied=$((applied + 1))
done
tree=$(GIT_INDEX_FILE=$index git -C "$repo" write-tree)
ok=0
[ "$applied" = "$n" ] && [ "$tree" = "$(git -C "$repo" rev-parse 'HEAD^{tree}')" ] || ok=1
check "the patch files apply to the base in order and give the final tree" "$ok" "$applied of $n applied"

# checkpatch --strict, from the tree, on each patch.
mkdir -p "$work/checkpatch"
printf '%-60s %6s %8s %6s\n' patch errors warnings checks
for p in "${patches[@]}"; do
	name=$(basename "$p")
	log=$work/checkpatch/${name%.patch}.log
	# checkpatch runs scripts/spdxcheck.py with the python3 in PATH, which
	# needs apt's python3-ply and python3-git.
	# UNKNOWN_COMMIT_ID: the base repository is one commit without
	# history, so no Fixes: commit can be found in it (the ID and subject
	# were checked against mainline by hand).
	(cd "$repo" && PATH=$(dirname "$SYSTEM_PYTHON"):$PATH ./scripts/checkpatch.pl --strict --show-types \
		--ignore UNKNOWN_COMMIT_ID "$p") >"$log" 2>&1 || true
	e='' w='' c=''
	read -r e w c < <(sed -n 's/^total: \([0-9]*\) errors, \([0-9]*\) warnings, \([0-9]*\) checks.*/\1 \2 \3/p' "$log") || true
	# Long lines in the files that tools/net/ynl/ynl-gen-c.py writes (they
	# say "YNL-GEN") are the generator's, as in mainline, and a hand edit
	# would be undone by ynl-regen.sh: shown, not counted.
	generated=()
	while IFS= read -r f; do
		grep -q 'YNL-GEN' "$repo/$f" 2>/dev/null && generated+=("$f")
	done < <(grep -A1 '^WARNING:LONG_LINE:' "$log" | sed -n 's/^#[0-9]*: FILE: \([^:]*\):.*/\1/p')
	[ -z "$w" ] || w=$((w - ${#generated[@]}))
	# FILE_PATH_CHANGES asks whether MAINTAINERS needs updating for an
	# added file; where every file the patch adds already has a maintainer
	# by an existing entry (get_maintainer.pl), it does not: shown, not
	# counted.
	covered=''
	if grep -q '^WARNING:FILE_PATH_CHANGES:' "$log"; then
		covered=yes
		while IFS= read -r f; do
			(cd "$repo" && ./scripts/get_maintainer.pl --no-git --no-git-fallback -f "$f" 2>/dev/null) |
				grep -E '\((maintainer|supporter):' | grep -qv 'THE REST' || covered=''
		done < <(awk '/^new file mode/ { new = 1; next } new && /^\+\+\+ b\// { print substr($2, 3); new = 0 }' "$p")
		[ -z "$covered" ] || [ -z "$w" ] || w=$((w - 1))
	fi
	printf '%-60s %6s %8s %6s\n' "${name:0:60}" "${e:-?}" "${w:-?}" "${c:-?}"
	[ "${#generated[@]}" = 0 ] ||
		echo "    not counted: ${#generated[@]} long line(s) of ynl-gen output in ${generated[*]}"
	[ -z "$covered" ] ||
		echo "    not counted: FILE_PATH_CHANGES, every file it adds is in a MAINTAINERS entry already"
	[ "${c:-0}" = 0 ] || grep -A1 '^CHECK:' "$log" | grep -v '^--$' | sed 's/^/    /'
	# A Python traceback: spdxcheck.py did not run, so neither did its checks.
	grep -q "^Traceback" "$log" && e=$((${e:-0} + 1))
	[ "${e:-1}${w:-1}" = 00 ] || sed 's/^/    /' "$log"
	check "checkpatch --strict $name: 0 errors, 0 warnings" $((${e:-1} + ${w:-1})) "${e:-?} errors, ${w:-?} warnings"
	ok=0
	grep -qxF "Signed-off-by: $SIGNOFF" "$p" || ok=1
	check "$name is signed off" "$ok"
done
rm -f "$repo"/.checkpatch-camelcase.*

step "series: $out ($n patches and the cover letter; checkpatch logs in $work/checkpatch; recipients in $recipients)"
echo "$passed passed, $failed failed"
finish
