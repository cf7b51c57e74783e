#!/bin/sh
# The few-shot job on the printed-glyph set (hundreds of character classes,
# made from Debian's fonts by scripts/make-glyphs.py): install what is
# missing (build + demo packages: python3-pil, the fonts), make a release
# build through scripts/demo.sh, generate data/glyphs once, then run `fden demo`
# on it: autoencoder on the training classes, FDEN on its latents, few-shot
# evaluation on the unseen classes, translation grids. Outputs: out/glyphs.
#   scripts/glyphs.sh [fden demo options...]   (e.g. --budget, see fden(1))
# Environment: BUILD_DIR (build), NO_INSTALL=1 to skip apt.
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
data=data/glyphs

if [ "${NO_INSTALL:-0}" != 1 ]; then
	./scripts/install-deps.sh --demo # python3-pil and the fonts, for the generator
fi

if [ ! -f "$data/train-images-idx3-ubyte.gz" ]; then
	/usr/bin/python3 scripts/make-glyphs.py "$data"
fi
# Labels are global: training classes are [0, n_train), so the first test
# class id is the number of "train" rows in classes.tsv.
split=1106
if [ -f "$data/classes.tsv" ]; then
	split=$(awk -F '\t' 'NR > 1 && $7 == "train" { n++ } END { print n + 0 }' "$data/classes.tsv")
fi
if [ "$split" -le 0 ]; then
	echo "glyphs.sh: no training classes in $data/classes.tsv" >&2
	exit 1
fi
# demo.sh builds (release) and runs `fden demo`; packages are in place already
NO_INSTALL=1 exec ./scripts/demo.sh --data "$data" --split "$split" --out out/glyphs "$@"
