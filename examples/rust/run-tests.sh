#!/bin/sh
# Build and test the Rust crate (cargo test --offline) against an installed libfden,
# linked through `pkg-config --libs fden` as a consumer would.
#
# Which library (first match):
#   FDEN_DESTDIR=/tmp/stage          a `meson install --destdir` tree (its fden.pc is
#                                    used with PKG_CONFIG_SYSROOT_DIR=$FDEN_DESTDIR)
#   FDEN_BUILD_DIR=/path/to/build    a meson build dir (default: <repo>/build); it is
#                                    installed into a temporary destdir first
# CARGO_TARGET_DIR defaults to $FDEN_BUILD_DIR/rust-target when FDEN_BUILD_DIR is set,
# else examples/rust/target (gitignored). cargo is looked up in PATH, then ~/.cargo/bin.
# docs/guide-rust.md's program must be examples/quickstart.rs verbatim.
# Then every program in examples/ runs (`cargo run --offline --example NAME`);
# each checks what it prints and fails with a non-zero exit.
# Usage: examples/rust/run-tests.sh [cargo test args...]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=
cleanup() { [ -z "$tmp" ] || rm -rf "$tmp"; }
trap cleanup EXIT

if [ -z "${FDEN_DESTDIR:-}" ]; then
	FDEN_BUILD_DIR=${FDEN_BUILD_DIR:-$root/build}
	[ -d "$FDEN_BUILD_DIR" ] || { echo "no build dir $FDEN_BUILD_DIR: set FDEN_BUILD_DIR or FDEN_DESTDIR" >&2; exit 1; }
	tmp=$(mktemp -d)
	meson install -C "$FDEN_BUILD_DIR" --destdir "$tmp/stage" --no-rebuild --quiet >/dev/null
	FDEN_DESTDIR=$tmp/stage
fi
FDEN_DESTDIR=$(cd "$FDEN_DESTDIR" && pwd)
pc=$(find "$FDEN_DESTDIR" -name fden.pc | head -n 1)
[ -n "$pc" ] || { echo "no fden.pc under $FDEN_DESTDIR" >&2; exit 1; }
lib=$(find "$FDEN_DESTDIR" -name 'libfden.so*' | head -n 1)
export PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_SYSROOT_DIR="$FDEN_DESTDIR"
export LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -z "${CARGO_TARGET_DIR:-}" ] && [ -n "${FDEN_BUILD_DIR:-}" ]; then
	CARGO_TARGET_DIR=$FDEN_BUILD_DIR/rust-target
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
command -v cargo >/dev/null 2>&1 || PATH="$PATH:$HOME/.cargo/bin"
unset FDEN_LIB_DIR
echo "rust tests: pkg-config --libs fden = $(pkg-config --libs fden)"
cd "$here"
# the Rust guide's program is examples/quickstart.rs, as it is
awk '$0 == "```rust" { on = 1; next } /^```$/ { on = 0 } on' "$root/docs/guide-rust.md" |
	diff -u examples/quickstart.rs - ||
	{ echo "docs/guide-rust.md's program differs from examples/quickstart.rs" >&2; exit 1; }
cargo test --offline "$@"
for ex in examples/*.rs; do
	name=$(basename "$ex" .rs)
	echo "=== cargo run --offline --example $name"
	cargo run --offline --quiet --example "$name"
done
