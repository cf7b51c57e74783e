#!/bin/sh
# The guides' programs work: each ```c block of the given Markdown files is
# compiled warning-free against the build tree and run (guide-c.md needs
# Fashion-MNIST from dataset-fashion-mnist; it is only compiled without it).
#   test_guides.sh "CC" SRC_INCLUDE BUILD_INCLUDE LIBDIR GUIDE.md...
set -eu
CC=$1 inc=$2 binc=$3 libdir=$4
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for md in "$@"; do
	name=$(basename "$md" .md)
	awk '/^```c$/ { on = 1; next } /^```$/ { on = 0 } on' "$md" >"$tmp/$name.c"
	if [ ! -s "$tmp/$name.c" ]; then
		echo "FAIL: $md has no C program"; fail=1; continue
	fi
	# shellcheck disable=SC2086
	if ! $CC -std=c11 -Wall -Wextra -Werror -I"$inc" -I"$binc" "$tmp/$name.c" -o "$tmp/$name" \
		-L"$libdir" -lfden -lm -Wl,-rpath,"$libdir" >"$tmp/log" 2>&1; then
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
	if (cd "$tmp" && "./$name" "$@") >"$tmp/out" 2>&1; then
		echo "$name: ran"; sed 's/^/    /' "$tmp/out"
	else
		echo "FAIL: $name failed:"; sed 's/^/    /' "$tmp/out"; fail=1
	fi
done
exit $fail
