#!/bin/sh
# ThreadSanitizer build and run of the concurrency suite (api-threads):
# many threads on one model must race on nothing.
#   scripts/tsan.sh [meson test arguments]   (default: api-threads)
# Environment: TSAN_BUILD_DIR (build-tsan).
set -eu
cd "$(dirname "$0")/.."
d=${TSAN_BUILD_DIR:-build-tsan}
if [ -f "$d/build.ninja" ]; then
	meson configure "$d" -Db_sanitize=thread -Db_lundef=false >/dev/null
else
	meson setup "$d" -Dbuildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false \
		-Dtests=enabled -Ddocs=disabled
fi
ninja -C "$d"
[ $# -eq 0 ] && set -- api-threads
exec meson test -C "$d" --setup tsan --print-errorlogs "$@"
