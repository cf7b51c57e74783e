#!/bin/sh
# Same bits as a previous build: trains fixed data with both disentanglers
# (same_bits.c: each step's statistics, dL/dz and the saved model, in hex)
# against this tree's library and against the library of REF (default
# main), and fails on any difference. For refactors of the training path,
# which must not change a bit.
# Usage: tests/tools/same_bits.sh [REF [BUILD_DIR]]   (BUILD_DIR: this
# tree's meson build, default build; REF is built in /tmp).
set -eu
ref=${1:-main}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-$src/build}
tmp=$(mktemp -d /tmp/fden-same-bits.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

git -C "$src" archive "$ref" | tar -x -C "$tmp" --one-top-level=old
(cd "$tmp/old" && meson setup -Dtests=disabled -Ddocs=disabled build >/dev/null &&
	ninja -C build -j2 libfden/libfden_internal.a >/dev/null)
ninja -C "$build" -j2 libfden/libfden_internal.a >/dev/null

libs="$(pkg-config --libs blis 2>/dev/null || echo -lblis) -lz"
for side in old new; do
	if [ $side = old ]; then root=$tmp/old; b=$tmp/old/build; else root=$src; b=$build; fi
	cc -std=c11 -O2 -I"$root/include" -I"$b/include" "$src/tests/tools/same_bits.c" \
		"$b/libfden/libfden_internal.a" $libs -lm -lpthread -o "$tmp/same_bits_$side"
	"$tmp/same_bits_$side" "$tmp/model_$side.fden" >"$tmp/$side.txt"
done
if cmp -s "$tmp/old.txt" "$tmp/new.txt"; then
	echo "same bits as $ref ($(git -C "$src" rev-parse --short "$ref")): $(wc -l <"$tmp/new.txt") lines"
	cat "$tmp/new.txt" | grep -E ' (model|grad) '
else
	echo "DIFFERENT from $ref:"
	diff "$tmp/old.txt" "$tmp/new.txt" | head -40
	exit 1
fi
