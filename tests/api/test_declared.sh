#!/bin/sh
# Headers vs version script: every name in libfden/fden.sym is declared
# FDEN_EXPORT in include/fden/*.h (else FAIL), and every FDEN_EXPORT
# declaration is in fden.sym (else SKIP, exit 77, listing what is not
# implemented yet).
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
	echo "SKIP: $ns of $nd declared functions exported; not in fden.sym yet:"
	echo "$missing" | sed 's/^/    /'
	exit 77
fi
echo "ok: all $nd declared functions are exported"
