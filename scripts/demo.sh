#!/bin/sh
# The main job end to end: install what is missing (build + demo packages),
# make a release build, make the printed-glyph set (scripts/make-glyphs.py,
# once, into data/glyphs: 1106 training classes, 369 unseen) and run
# `fden demo`: fit the host network, train FDEN on its latents, evaluate
# few-shot on the unseen classes against the strongest raw-latent baseline,
# write the grids, the training curves, the t-SNE figure and report.html.
# Outputs go to out/demo unless --out DIR is given.
#   scripts/demo.sh [fden demo options...]     (see: scripts/demo.sh --help)
#   scripts/demo.sh --quick                    (a first look in 3 minutes)
#   scripts/demo.sh --data fashion             (Fashion-MNIST: 5 training classes)
# Environment: BUILD_DIR (build), NO_INSTALL=1 to skip apt.
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

if [ "${NO_INSTALL:-0}" != 1 ]; then
	./scripts/install-deps.sh --demo
fi
if [ -f "$BUILD_DIR/build.ninja" ]; then
	meson configure "$BUILD_DIR" -Dbuildtype=release >/dev/null
else
	meson setup "$BUILD_DIR" -Dbuildtype=release
fi
ninja -C "$BUILD_DIR"
fden="$BUILD_DIR/examples/fden/fden"
if [ ! -x "$fden" ]; then
	echo "demo.sh: $fden was not built" >&2
	exit 1
fi

# Which data: the glyph set unless --data says otherwise (or only --help).
data=glyphs
prev=""
for a in "$@"; do
	case "$prev" in --data) data=$a ;; esac
	case "$a" in --data=*) data=${a#--data=} ;; -h|--help) data=none ;; esac
	prev=$a
done
if [ "$data" = glyphs ] && [ ! -f data/glyphs/train-images-idx3-ubyte.gz ]; then
	echo "demo.sh: making the glyph set in data/glyphs (once)"
	t0=$(date +%s)
	/usr/bin/python3 scripts/make-glyphs.py data/glyphs
	echo "demo.sh: glyph set made in $(($(date +%s) - t0)) s"
fi
exec "$fden" demo "$@"
