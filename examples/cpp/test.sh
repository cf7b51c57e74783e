#!/bin/sh
# Build the C++17 consumer against a `meson install --destdir` tree using
# pkg-config only, and run it.
#
#   FDEN_DESTDIR=/tmp/stage          an existing destdir install, or
#   FDEN_BUILD_DIR=/path/to/build    a meson build dir (default: <repo>/build),
#                                    installed into a temporary destdir first
#   CXX (default c++)
# Usage: examples/cpp/test.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -z "${FDEN_DESTDIR:-}" ]; then
	FDEN_BUILD_DIR=${FDEN_BUILD_DIR:-$root/build}
	[ -d "$FDEN_BUILD_DIR" ] || { echo "no build dir $FDEN_BUILD_DIR: set FDEN_BUILD_DIR or FDEN_DESTDIR" >&2; exit 1; }
	meson install -C "$FDEN_BUILD_DIR" --destdir "$tmp/stage" --no-rebuild --quiet >/dev/null
	FDEN_DESTDIR=$tmp/stage
fi
FDEN_DESTDIR=$(cd "$FDEN_DESTDIR" && pwd)
pc=$(find "$FDEN_DESTDIR" -name fden.pc | head -n 1)
[ -n "$pc" ] || { echo "no fden.pc under $FDEN_DESTDIR" >&2; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")"
export PKG_CONFIG_SYSROOT_DIR="$FDEN_DESTDIR"

flags="$(pkg-config --cflags fden) $(pkg-config --libs fden)"
echo "c++ -std=c++17 main.cpp $flags"
# shellcheck disable=SC2086
${CXX:-c++} -std=c++17 -Wall -Wextra -Werror -o "$tmp/fden-cpp" "$here/main.cpp" $flags

libdir=$(dirname "$(find "$FDEN_DESTDIR" -name 'libfden.so*' | head -n 1)")
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/fden-cpp" "$tmp"
