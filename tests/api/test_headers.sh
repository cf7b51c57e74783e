#!/bin/sh
# The public headers compile on their own and together, warning-free, as
# strict C99 and C11 and as C++17, with each compiler found (the build's,
# plus gcc/g++ and clang/clang++ when installed).
#   test_headers.sh SRC_INCLUDE BUILD_INCLUDE "CC" ["CXX"]
set -eu
src=$1 bld=$2 CC=$3 CXX=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0

# The test program uses a little of each header.
cat >"$tmp/all.c" <<'C'
#include <fden/fden.h>
#include <string.h>
static int use(void)
{
	struct fden_model *m = NULL;
	struct fden_invnet_ops ops;
	memset(&ops, 0, sizeof ops);
	ops.struct_size = sizeof ops;
	ops.version = FDEN_INVNET_OPS_VERSION;
	(void)m;
	return FDEN_VERSION_NUMBER > 0 && FDEN_E_UNSUPPORTED < 0 && FDEN_P_SEED > 0 ? 0 : 1;
}
int main(void)
{
	return use();
}
C
cp "$tmp/all.c" "$tmp/all.cpp"

compile() { # compiler std file...
	c=$1 std=$2; shift 2
	for f in "$@"; do
		n=$((n + 1))
		# shellcheck disable=SC2086
		if ! $c -std=$std -pedantic -Wall -Wextra -Werror $extra \
			-I"$src" -I"$bld" -fsyntax-only $lang "$f" >"$tmp/log" 2>&1; then
			echo "FAIL: $c -std=$std $(basename "$f")"; sed 's/^/    /' "$tmp/log"
			fail=1
		fi
	done
}

# One translation unit per header, to prove each is self-contained.
for h in "$src"/fden/*.h; do
	b=$(basename "$h" .h)
	printf '#include <fden/%s.h>\n' "$b" >"$tmp/h_$b.c"
	printf '#include <fden/%s.h>\n' "$b" >"$tmp/h_$b.cpp"
done

ccs="$CC"
for c in gcc clang; do
	command -v $c >/dev/null 2>&1 && ccs="$ccs
$c"
done
cxxs="$CXX"
for c in g++ clang++; do
	command -v $c >/dev/null 2>&1 && cxxs="$cxxs
$c"
done

IFS='
'
for c in $(echo "$ccs" | awk 'NF && !seen[$0]++'); do
	IFS=' '
	extra="-Wstrict-prototypes -Wmissing-prototypes -Wshadow" lang="-x c"
	compile "$c" c99 "$tmp"/*.c
	compile "$c" c11 "$tmp/all.c"
	IFS='
'
done
for c in $(echo "$cxxs" | awk 'NF && !seen[$0]++'); do
	IFS=' '
	extra="-Wshadow -Wold-style-cast" lang="-x c++"
	compile "$c" c++17 "$tmp"/*.cpp
	IFS='
'
done
[ $fail -eq 0 ] && echo "ok: $n header compilations clean"
exit $fail
