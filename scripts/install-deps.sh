#!/bin/sh
# Install the Debian 12 packages libfden needs, and only those missing.
#   scripts/install-deps.sh            build: compiler, meson, BLIS, zlib, Check
#   scripts/install-deps.sh --tests    + valgrind, clang/libFuzzer, doxygen, Python/Rust binding tests,
#                                      chromium (report screenshot), tmux (progress on a terminal),
#                                      clang-format-14 (the format check)
#   scripts/install-deps.sh --demo     + the demo's data set and Python imaging
#   scripts/install-deps.sh --bench    + PyTorch (reference benchmarks)
#   scripts/install-deps.sh --all      everything above
# Options combine. Reruns are quick: dpkg is asked first, apt only when
# something is missing. Runs apt-get as root, or through sudo.
set -eu

BUILD="meson ninja-build pkg-config gcc g++ libblis-dev zlib1g-dev check"
TESTS="valgrind clang libclang-rt-14-dev doxygen python3 python3-numpy python3-setuptools python3-wheel python3-venv python3-pip python3-sklearn chromium tmux clang-format-14"
# Rust: Debian's cargo/rustc only when no cargo is on PATH (rustup installs
# in ~/.cargo/bin are used as they are).
RUST="cargo rustc"
# --- demo list: extend here (fonts for the figure and image grids) ---
DEMO="dataset-fashion-mnist python3-pil python3-numpy python3-matplotlib python3-sklearn fonts-dejavu-core fonts-dejavu-extra fonts-freefont-ttf fonts-liberation2 fonts-noto-core python3-fonttools"
# --- end of demo list ---
BENCH="python3-torch"

want="$BUILD"
for arg in "$@"; do
	case "$arg" in
	--tests) want="$want $TESTS"; tests=1 ;;
	--demo) want="$want $DEMO" ;;
	--bench) want="$want $BENCH" ;;
	--all) want="$want $TESTS $DEMO $BENCH"; tests=1 ;;
	-h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "install-deps.sh: unknown option $arg" >&2; exit 2 ;;
	esac
done
if [ "${tests:-0}" = 1 ]; then
	PATH="$PATH:$HOME/.cargo/bin"
	command -v cargo >/dev/null 2>&1 || want="$want $RUST"
fi

missing=""
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi

echo "install-deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "install-deps: need root or sudo to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y --no-install-recommends $missing
