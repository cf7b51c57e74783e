#!/bin/sh
# Headers vs version script: every name in libfden/fden.sym is declared
# FDEN_EXPORT in include/fden/*.h, and every FDEN_EXPORT declaration is in
# fden.sym (a declared call the library does not export fails at the user's
# link time). With the symbols test this ties headers, fden.sym and
# libfden.so together.
#   test_declared.sh FDEN_SYM INCLUDE_DIR
set -eu
sym=$1 inc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sed -e 's@/\*.*\*/@@g' -e '/\/\*/,/\*\//d' "$sym" |
	grep -oE '^[[:space:]]*fden_[A-Za-z0-9_]*;' | tr -d ' \t;' |
	LC_ALL=C sort -u >"$tmp/script"
# Flatten the headers, then take the identifier before the '(' that follows
# each FDEN_EXPORT (the #define of FDEN_EXPORT itself yields nothing).
cat "$inc"/*.h | tr '\n\t' '  ' | grep -oE 'FDEN_EXPORT[^;(]*\(' |
	grep -oE 'fden_[A-Za-z0-9_]+ *\($' | tr -d ' (' | LC_ALL=C sort -u >"$tmp/decl"

undeclared=$(LC_ALL=C comm -23 "$tmp/script" "$tmp/decl")
missing=$(LC_ALL=C comm -13 "$tmp/script" "$tmp/decl")
if [ -n "$undeclared" ]; then
	echo "FAIL: in fden.sym but not declared FDEN_EXPORT in $inc:"
	echo "$undeclared" | sed 's/^/    /'
	exit 1
fi
nd=$(wc -l <"$tmp/decl")
ns=$(wc -l <"$tmp/script")
if [ -n "$missing" ]; then
	echo "FAIL: $ns of $nd declared functions in fden.sym; missing:"
	echo "$missing" | sed 's/^/    /'
	exit 1
fi
echo "ok: all $nd declared functions are exported"
