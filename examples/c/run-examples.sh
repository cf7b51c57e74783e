#!/bin/sh
# Run the C examples end to end in a temporary directory (a meson test):
#   run-examples.sh DISENTANGLE TRAIN_HOST MIX FIXTURE   (the four executables)
set -eu
[ $# -eq 4 ] || { echo "usage: $0 disentangle train_host mix fixture" >&2; exit 2; }
disentangle=$1 train_host=$2 mix=$3 fixture=$4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
is_npy() { [ "$(head -c 6 "$1" | tail -c 5)" = "NUMPY" ] || fail "$1 is not .npy"; }

"$fixture" "$dir" 40
for f in images.idx labels.idx invnet.fdn model.fden; do
	[ -s "$dir/$f" ] || fail "fixture did not write $f"
done

"$disentangle" "$dir/model.fden" "$dir/invnet.fdn" "$dir/images.idx" "$dir/f" 50
is_npy "$dir/f-ide.npy"
is_npy "$dir/f-sty.npy"
# 50 rows x 16 float32 + header: at least 3200 bytes each
[ "$(wc -c < "$dir/f-ide.npy")" -ge 3200 ] || fail "f-ide.npy too small"

"$mix" "$dir/model.fden" "$dir/invnet.fdn" "$dir/images.idx" 0 250 "$dir/mix.pgm"
[ "$(head -c 2 "$dir/mix.pgm")" = "P5" ] || fail "mix.pgm is not a PGM"
# 3 rows x 7 tiles of 8x8 with 1-pixel gaps: 63 x 27 + header
[ "$(wc -c < "$dir/mix.pgm")" -ge $((63 * 27)) ] || fail "mix.pgm too small"

# errors reach the user with the library's detail
if "$disentangle" "$dir/missing.fden" "$dir/invnet.fdn" "$dir/images.idx" "$dir/g" 2> "$dir/err"; then
	fail "disentangle accepted a missing model"
fi
grep -q "missing.fden" "$dir/err" || fail "no detail in: $(cat "$dir/err")"

"$train_host" 200 "$dir/host.fden" "$dir/host-z.npy" | tee "$dir/train.log"
[ -s "$dir/host.fden" ] || fail "train_host did not save"
is_npy "$dir/host-z.npy"
grep -q "after training" "$dir/train.log" || fail "train_host printed no evaluation"
echo "C examples: OK"
