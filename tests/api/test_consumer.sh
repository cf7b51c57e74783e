#!/bin/sh
# Install the build into a temporary DESTDIR, then build consumer.c with
# nothing but `pkg-config fden` (shared, and --static against libfden.a)
# and run both against the installed tree.
#   test_consumer.sh MESON BUILD_ROOT CONSUMER_C "CC"
set -eu
MESON=$1 build=$2 src=$3 CC=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

if ! "$MESON" install -C "$build" --no-rebuild --destdir "$dest" >"$tmp/install.log" 2>&1; then
	echo "FAIL: meson install"; cat "$tmp/install.log"; exit 1
fi
pc=$(find "$dest" -name fden.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: no fden.pc installed"; exit 1; }
so=$(find "$dest" -name 'libfden.so.*' -type f | head -n 1)
[ -n "$so" ] || { echo "FAIL: no libfden.so installed"; exit 1; }
libdir=$(dirname "$so")
PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
PKG_CONFIG_SYSROOT_DIR="$dest"
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
pkg-config --exists --print-errors fden
cflags=$(pkg-config --cflags fden)
libs=$(pkg-config --libs fden)
slibs=$(pkg-config --static --libs fden)
echo "cflags: $cflags"
echo "libs: $libs"
echo "static libs: $slibs"
case "$cflags $libs" in
*"$dest"*) ;;
*) echo "FAIL: pkg-config flags do not point into the DESTDIR"; exit 1 ;;
esac

# Shared: must resolve libfden.so from the DESTDIR at run time.
# shellcheck disable=SC2086
$CC $cflags "$src" -o "$tmp/consumer" $libs
LD_LIBRARY_PATH="$libdir" ldd "$tmp/consumer" >"$tmp/ldd"
grep -q "libfden.so.[0-9]* => $libdir/" "$tmp/ldd" || {
	echo "FAIL: consumer does not load the installed libfden:"; cat "$tmp/ldd"; exit 1; }
LD_LIBRARY_PATH="$libdir" "$tmp/consumer"

# Static libfden with the private flags (BLIS, zlib, libm, pthread).
if [ -f "$libdir/libfden.a" ]; then
	slibs_a=$(echo " $slibs " | sed 's/ -lfden / -l:libfden.a /')
	# shellcheck disable=SC2086
	$CC $cflags "$src" -o "$tmp/consumer-static" $slibs_a
	if ldd "$tmp/consumer-static" | grep -q libfden; then
		echo "FAIL: static consumer still needs libfden.so"; exit 1
	fi
	"$tmp/consumer-static"
else
	echo "FAIL: no libfden.a installed"; exit 1
fi
echo "ok: shared and static pkg-config consumers built and ran"
