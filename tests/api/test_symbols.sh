#!/bin/sh
# ABI check: the dynamic symbols libfden.so defines must be exactly the names
# in libfden/fden.sym, all versioned FDEN_*, nothing else (no fd_*, no BLIS);
# the version script's nodes are sorted; the SONAME is libfden.so.<major>;
# the library needs nothing but BLIS, zlib and libc/libm at run time.
#   test_symbols.sh LIBFDEN_SO FDEN_SYM SO_MAJOR [NM] [READELF]
set -eu
so=$1 sym=$2 major=$3 NM=${4:-nm} READELF=${5:-readelf}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# Names in the version script: identifiers ended by ';' outside comments,
# except the 'local: *;' wildcard.
sed -e 's@/\*.*\*/@@g' -e '/\/\*/,/\*\//d' "$sym" |
	grep -oE '^[[:space:]]*[A-Za-z_][A-Za-z0-9_]*;' | tr -d ' \t;' |
	LC_ALL=C sort >"$tmp/script"
# Defined dynamic symbols; drop the version-node definitions (type A).
"$NM" -D --defined-only "$so" | awk '$2 != "A" { print $3 }' >"$tmp/raw"
sed 's/@.*//' "$tmp/raw" | LC_ALL=C sort -u >"$tmp/lib"

if ! cmp -s "$tmp/script" "$tmp/lib"; then
	echo "FAIL: exported symbols differ from $sym"
	echo "  in fden.sym but not exported (not implemented or not FDEN_EXPORT):"
	LC_ALL=C comm -23 "$tmp/script" "$tmp/lib" | sed 's/^/    /'
	echo "  exported but not in fden.sym (a leak, or a missing fden.sym entry):"
	LC_ALL=C comm -13 "$tmp/script" "$tmp/lib" | sed 's/^/    /'
	fail=1
fi
bad=$(grep -vE '^fden_[a-z0-9_]+$' "$tmp/lib" || true)
if [ -n "$bad" ]; then
	echo "FAIL: exported names outside the fden_ namespace:"; echo "$bad" | sed 's/^/    /'
	fail=1
fi
unver=$(grep -vE '@@?FDEN_[0-9]+_[0-9]+$' "$tmp/raw" || true)
if [ -n "$unver" ]; then
	echo "FAIL: exported without an FDEN_x_y version node:"; echo "$unver" | sed 's/^/    /'
	fail=1
fi
# Each node's global list must be sorted (C locale).
awk '/^[A-Z0-9_]+ *\{/ { node = $1; prev = ""; next }
     /^[ \t]*(global|local):/ { prev = ""; next }
     /^[ \t]*fden_[A-Za-z0-9_]*;/ { s = $1; sub(/;.*/, "", s)
	if (prev != "" && s < prev) { printf "FAIL: %s: %s listed after %s (keep nodes sorted)\n", node, s, prev; bad = 1 }
	prev = s }
     END { exit bad }' "$sym" || fail=1

soname=$("$READELF" -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" != "libfden.so.$major" ]; then
	echo "FAIL: SONAME is '$soname', expected libfden.so.$major"
	fail=1
fi

# Runtime dependencies: BLIS, zlib and the C library only (plus a
# sanitizer's runtime in sanitizer builds).
needed=$("$READELF" -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
extra=$(echo "$needed" | grep -vE '^(libblis|libz|libm|libc|libpthread|libgomp|libdl|ld-linux[^.]*|libasan|libubsan|libtsan|liblsan|libstdc\+\+|libgcc_s)\.so' || true)
if [ -n "$extra" ]; then
	echo "FAIL: unexpected runtime dependencies:"; echo "$extra" | sed 's/^/    /'
	fail=1
fi

n=$(wc -l <"$tmp/lib")
[ $fail -eq 0 ] && echo "ok: $n exported symbols match $sym; SONAME $soname; needs $(echo "$needed" | tr "\n" " ")"
exit $fail
