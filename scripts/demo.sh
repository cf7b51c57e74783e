#!/bin/sh
# The main job end to end: install what is missing (build + demo packages),
# make a release build, and run `fden demo` (Fashion-MNIST from the Debian
# package dataset-fashion-mnist: fit an autoencoder on five classes, train
# FDEN on its latents, evaluate few-shot on the five unseen classes, write
# translation grids). Outputs go to out/demo unless --out DIR is given.
#   scripts/demo.sh [fden demo options...]     (see: scripts/demo.sh --help)
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
exec "$fden" demo "$@"
