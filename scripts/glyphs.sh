#!/bin/sh
# The few-shot job on the printed-glyph set, into out/glyphs: the same as
# scripts/demo.sh (which runs the glyph set by default), kept for the
# commands that name it. Any `fden demo` option passes through.
#   scripts/glyphs.sh [fden demo options...]   (e.g. --quick, --budget 15)
# Environment: BUILD_DIR (build), NO_INSTALL=1 to skip apt.
set -eu
cd "$(dirname "$0")/.."
exec ./scripts/demo.sh --data glyphs --out out/glyphs "$@"
