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
start=$(date +%s)

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

# Which data: the glyph set unless --data says otherwise (or only --help);
# whether the command line sets the time itself.
data=glyphs
timed=0
prev=""
for a in "$@"; do
	case "$prev" in --data) data=$a ;; esac
	case "$a" in
	--data=*) data=${a#--data=} ;;
	-h|--help) data=none; timed=1 ;;
	--budget|--budget=*|--minutes|--minutes=*|--quick) timed=1 ;;
	esac
	prev=$a
done
if [ "$data" = glyphs ] && [ ! -f data/glyphs/train-images-idx3-ubyte.gz ]; then
	echo "demo.sh: making the glyph set in data/glyphs (once)"
	t0=$(date +%s)
	/usr/bin/python3 scripts/make-glyphs.py data/glyphs
	echo "demo.sh: glyph set made in $(($(date +%s) - t0)) s"
fi
# The whole job in at most 15 minutes: fden demo gets 14 minutes less what
# the build and the data took (at least 6).
if [ "$timed" = 0 ]; then
	spent=$(($(date +%s) - start))
	budget=$(awk -v s="$spent" 'BEGIN { b = (14 * 60 - s) / 60; if (b < 6) b = 6; printf "%.1f", b }')
	if [ "$spent" -gt 30 ]; then
		echo "demo.sh: build and data took $spent s; fden demo gets the $budget minutes left"
	fi
	exec "$fden" demo --budget "$budget" "$@"
fi
exec "$fden" demo "$@"
