#!/bin/sh
# The guides' programs work: each guide's ```c blocks (or ```cpp, or
# ```python blocks) are put together into one program, compiled
# warning-free against the build tree and run (guide-c.md needs
# Fashion-MNIST from dataset-fashion-mnist; it is only compiled without it).
# C++ guides use examples/cpp/fden.hpp and $CXX (default c++); Python guides
# run with $PYTHON (default /usr/bin/python3) and the package in
# examples/python, against LIBDIR/libfden.so. A missing C++ compiler or
# NumPy skips that guide with a message.
#   test_guides.sh "CC" SRC_INCLUDE BUILD_INCLUDE LIBDIR GUIDE.md...
set -eu
CC=$1 inc=$2 binc=$3 libdir=$4
shift 4
root=$(cd "$inc/.." && pwd)
CXX=${CXX:-c++}
PYTHON=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for md in "$@"; do
	name=$(basename "$md" .md)
	lang=
	for l in c cpp python; do
		awk -v l="$l" '$0 == "```" l { on = 1; next } /^```$/ { on = 0 } on' "$md" >"$tmp/$name.$l"
		if [ -s "$tmp/$name.$l" ]; then lang=$l; break; fi
	done
	if [ -z "$lang" ]; then
		echo "FAIL: $md has no C, C++ or Python program"; fail=1; continue
	fi
	src="$tmp/$name.$lang"
	run="./$name"
	case $lang in
	c)
		# shellcheck disable=SC2086
		set -- $CC -std=c11 -Wall -Wextra -Werror -I"$inc" -I"$binc" "$src" -o "$tmp/$name" \
			-L"$libdir" -lfden -lm -Wl,-rpath,"$libdir" ;;
	cpp)
		if ! command -v "$CXX" >/dev/null 2>&1; then
			echo "$name: no C++ compiler ($CXX), skipped"; continue
		fi
		set -- "$CXX" -std=c++17 -Wall -Wextra -Werror -I"$root/examples/cpp" -I"$inc" -I"$binc" \
			"$src" -o "$tmp/$name" -L"$libdir" -lfden -Wl,-rpath,"$libdir" ;;
	python)
		if ! "$PYTHON" -c 'import numpy' >/dev/null 2>&1; then
			echo "$name: no NumPy for $PYTHON, skipped"; continue
		fi
		set -- true
		run="env FDEN_LIBRARY=$libdir/libfden.so PYTHONPATH=$root/examples/python $PYTHON -B $src" ;;
	esac
	if ! "$@" >"$tmp/log" 2>&1; then
		echo "FAIL: $name does not compile:"; sed 's/^/    /' "$tmp/log"; fail=1; continue
	fi
	case $name in
	guide-c)
		if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
			echo "$name: compiled (no Fashion-MNIST, not run)"; continue
		fi
		set -- 30 "$tmp/model.fden" ;;
	*) set -- ;;
	esac
	# shellcheck disable=SC2086
	if (cd "$tmp" && $run "$@") >"$tmp/out" 2>&1; then
		echo "$name: ran"; sed 's/^/    /' "$tmp/out"
	else
		echo "FAIL: $name failed:"; sed 's/^/    /' "$tmp/out"; fail=1
	fi
done
exit $fail
