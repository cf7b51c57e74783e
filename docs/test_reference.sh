#!/bin/sh
# The API reference is complete: Doxygen (EXTRACT_ALL = NO, so an
# undocumented member is a warning; WARN_NO_PARAMDOC, so is an undocumented
# parameter or return value; WARN_AS_ERROR, so any warning fails the run)
# reports nothing; every exported declaration of the public headers has a
# doc comment right above it that carries @since, @return unless it returns
# void, and its thread safety ("Thread safety" or "Thread-safe"); the main
# page links every page of docs/ (its {#anchor} is @ref'd).
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
  echo "WARN_IF_UNDOCUMENTED = YES"
  echo "EXTRACT_ALL = NO"
  echo "WARN_AS_ERROR = FAIL_ON_WARNINGS"
  echo "QUIET = YES"
} >"$tmp/Doxyfile"
if ! "$doxygen" "$tmp/Doxyfile" >"$tmp/out" 2>&1; then
	echo "FAIL: doxygen failed:"; cat "$tmp/out" "$tmp/warnings.log" 2>/dev/null | sed 's/^/    /'
	fail=1
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
			decl = $0
			sub(/\(.*/, "")
			if (end != NR - 1 || doc !~ /@since/)
				print FILENAME ":" NR ": " $NF " has no doc comment with @since"
			else if (decl !~ /^FDEN_EXPORT (FDEN_WUR )?void / && doc !~ /@return/)
				print FILENAME ":" NR ": " $NF " does not say what it returns (@return)"
			else if (doc !~ /[Tt]hread[ -]safe/)
				print FILENAME ":" NR ": " $NF " does not state its thread safety"
		}
		END { print "count " n + 0 }' "$1")
	echo "$out" | grep -v '^count ' || true
	if echo "$out" | grep -qv '^count '; then fail=1; fi
	n=$((n + $(echo "$out" | sed -n 's/^count //p')))
	shift
done
echo "ok: $n exported declarations checked for @since, @return, thread safety"
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
