#!/bin/sh
# Run the Python binding tests (unittest) against a built libfden.
#
# Which library is tested (first match):
#   FDEN_LIBRARY=/path/to/libfden.so     that file
#   FDEN_DESTDIR=/tmp/stage              a `meson install --destdir` tree: the
#                                        libfden.so found under it
#   FDEN_BUILD_DIR=/path/to/build        a meson build dir (default: <repo>/build)
# FDEN_CLI=/path/to/fden: the tool for the estimator-vs-fden-train test
# (default: the build dir's or the destdir's fden).
# FDEN_STRICT=1 (the default here) turns tests of functions the library does
# not export into failures instead of skips. PYTHON defaults to /usr/bin/python3
# (Debian's, with python3-numpy).
# Usage: examples/python/run-tests.sh [unittest args...]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}

if [ -z "${FDEN_LIBRARY:-}" ] && [ -n "${FDEN_DESTDIR:-}" ]; then
	FDEN_LIBRARY=$(find "$FDEN_DESTDIR" -name 'libfden.so' \( -type f -o -type l \) | head -n 1)
	[ -n "$FDEN_LIBRARY" ] || { echo "no libfden.so under $FDEN_DESTDIR" >&2; exit 1; }
	export FDEN_LIBRARY
fi
if [ -z "${FDEN_LIBRARY:-}" ]; then
	FDEN_BUILD_DIR=${FDEN_BUILD_DIR:-$root/build}
	[ -e "$FDEN_BUILD_DIR/libfden/libfden.so" ] || {
		echo "no $FDEN_BUILD_DIR/libfden/libfden.so: build first or set FDEN_BUILD_DIR" >&2
		exit 1; }
	export FDEN_LIBRARY="$FDEN_BUILD_DIR/libfden/libfden.so"
fi
# FDEN_CLI: the fden tool of the same build, for the test that the
# estimator trains fden train's model (skipped when not found)
if [ -z "${FDEN_CLI:-}" ]; then
	if [ -n "${FDEN_BUILD_DIR:-}" ] && [ -x "$FDEN_BUILD_DIR/examples/fden/fden" ]; then
		FDEN_CLI="$FDEN_BUILD_DIR/examples/fden/fden"
	elif [ -n "${FDEN_DESTDIR:-}" ]; then
		FDEN_CLI=$(find "$FDEN_DESTDIR" -path '*/bin/fden' -type f | head -n 1)
	fi
fi
[ -z "${FDEN_CLI:-}" ] || export FDEN_CLI
export FDEN_STRICT=${FDEN_STRICT:-1}
echo "python tests against $FDEN_LIBRARY"
cd "$here"
exec "$PYTHON" -B -m unittest discover -s tests -t . "$@"
