#!/bin/sh
# Fails when a C source or header of the tree is not as clang-format-14
# formats it with the top-level .clang-format (the tree's own style: tabs
# 8 wide, Linux braces, line breaks left where they are). Prints each file
# and the lines clang-format would change.
#   scripts/check-format.sh [SOURCE_ROOT]        check every tracked file
#   scripts/check-format.sh --fix [SOURCE_ROOT]  format them in place
# Files listed in scripts/format-exclude.txt (one glob a line) are skipped.
# Exits 77 (meson's "skipped") without clang-format-14 or git.
set -u
fix=0
if [ "${1:-}" = --fix ]; then
	fix=1
	shift
fi
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 1
cf=$(command -v clang-format-14 || true)
if [ -z "$cf" ] || ! command -v git >/dev/null 2>&1 || ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo "SKIP: needs clang-format-14 and a git checkout"
	exit 77
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
bad=0 n=0
for f in $(git ls-files '*.c' '*.h'); do
	[ -f "$f" ] || continue
	skip=0
	while read -r pat; do
		case "$pat" in '' | '#'*) continue ;; esac
		# shellcheck disable=SC2254 # the pattern is a glob on purpose
		case "$f" in $pat) skip=1 ;; esac
	done <scripts/format-exclude.txt
	[ $skip -eq 1 ] && continue
	n=$((n + 1))
	if [ $fix -eq 1 ]; then
		"$cf" -i --style=file "$f"
		continue
	fi
	"$cf" --style=file "$f" >"$tmp"
	if ! cmp -s "$f" "$tmp"; then
		echo "not formatted: $f"
		diff -u "$f" "$tmp" | sed -n '3,$p' | head -20 | sed 's/^/    /'
		bad=$((bad + 1))
	fi
done
if [ $fix -eq 1 ]; then
	echo "formatted $n files"
	exit 0
fi
if [ $bad -ne 0 ]; then
	echo "FAIL: $bad of $n files differ from clang-format-14 (scripts/check-format.sh --fix)"
	exit 1
fi
echo "ok: $n files formatted"
