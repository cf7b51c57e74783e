#!/bin/sh
# The API reference is complete: Doxygen (with WARN_NO_PARAMDOC) reports no
# undocumented parameter or other warning; every exported declaration of the
# public headers has a doc comment right above it that carries @since; the
# main page links every page of docs/ (its {#anchor} is @ref'd).
#   test_reference.sh DOXYGEN DOXYFILE MAINPAGE.md HEADER.h... -- PAGE.md...
set -eu
doxygen=$1 doxyfile=$2 main=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

{ cat "$doxyfile"
  echo "OUTPUT_DIRECTORY = $tmp"
  echo "WARN_LOGFILE = $tmp/warnings.log"
  echo "WARN_NO_PARAMDOC = YES"
  echo "QUIET = YES"
} >"$tmp/Doxyfile"
if ! "$doxygen" "$tmp/Doxyfile" >"$tmp/out" 2>&1; then
	echo "FAIL: doxygen failed:"; sed 's/^/    /' "$tmp/out"; fail=1
elif [ -s "$tmp/warnings.log" ]; then
	echo "FAIL: doxygen warnings:"; sed 's/^/    /' "$tmp/warnings.log"; fail=1
else
	echo "ok: doxygen, no warnings"
fi

n=0
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	out=$(awk '
		/\/\*\*/ { doc = ""; open = 1 }
		open { doc = doc $0 "\n"; if ($0 ~ /\*\//) { open = 0; end = NR } ; next }
		/^FDEN_EXPORT/ {
			n++
			if (end != NR - 1 || doc !~ /@since/) {
				sub(/\(.*/, ""); print FILENAME ":" NR ": " $NF " has no doc comment with @since"
			}
		}
		END { print "count " n + 0 }' "$1")
	echo "$out" | grep -v '^count ' || true
	if echo "$out" | grep -qv '^count '; then fail=1; fi
	n=$((n + $(echo "$out" | sed -n 's/^count //p')))
	shift
done
echo "ok: $n exported declarations checked for @since"
[ $# -gt 0 ] && shift

for page in "$@"; do
	anchor=$(sed -n '1s/.*{#\([A-Za-z0-9_]*\)}.*/\1/p' "$page")
	if [ -z "$anchor" ]; then
		echo "FAIL: $page: no {#anchor} on its title line"; fail=1
	elif ! grep -q "@ref $anchor\\b" "$main"; then
		echo "FAIL: $(basename "$main") does not link $page (@ref $anchor)"; fail=1
	fi
done
[ $fail -ne 0 ] || echo "ok: the main page links all $# pages"
exit $fail
