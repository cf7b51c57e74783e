#!/bin/sh
# One command: build libfden (release) and print the benchmark table,
# libfden vs PyTorch vs the BLIS sgemm peak (issue 6).
#   bench/run.sh [run.py options: --quick, --json FILE, --dims 512, ...]
# BUILD=<dir> picks the build directory (default build-release).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build-release}
case $build in /*) ;; *) build=$top/$build ;; esac
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$top" --buildtype=release -Db_ndebug=true >/dev/null
fi
meson compile -C "$build" bench_fden >/dev/null
exec /usr/bin/python3 "$top/bench/run.py" --build "$build" "$@"
