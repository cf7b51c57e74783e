#!/bin/sh
# The guides' commands are the test: for each guide, the program in its
# ```c, ```cpp or ```python block is written to the file its first line
# names ("/* NAME.c: ...", "// NAME.cpp: ...", "# NAME.py: ..."), and every
# line of its ```sh blocks runs as written, in that directory, against the
# build installed with `meson install --destdir` into a temporary tree: the
# only help is the environment a user of that prefix has (PKG_CONFIG_PATH
# for the multiarch libdir, as the README says, PKG_CONFIG_SYSROOT_DIR for
# the destdir, LD_LIBRARY_PATH standing in for ldconfig). No flag is added
# to a guide's command. ```console blocks (building and installing the
# library itself) are shown, not run: the destdir install stands in.
# Programs are compiled with the guide's own command, then rebuilt with
# -Wall -Wextra -Werror added to catch warnings. A guide whose commands
# read Fashion-MNIST is only compiled when dataset-fashion-mnist is
# missing. The source tree's examples/ is copied next to the program (as
# in a fresh clone) for commands that name it.
#   test_guides.sh BUILD_DIR GUIDE.md...
set -eu
build=$(cd "$1" && pwd)
shift
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

stage=$tmp/stage
if ! meson install -C "$build" --destdir "$stage" --no-rebuild --quiet >"$tmp/install.log" 2>&1; then
	echo "FAIL: meson install --destdir:"; sed 's/^/    /' "$tmp/install.log"; exit 1
fi
pc=$(find "$stage" -name fden.pc | head -n 1)
so=$(find "$stage" -name 'libfden.so.*' -type f | head -n 1)
[ -n "$pc" ] && [ -n "$so" ] || { echo "FAIL: no fden.pc or libfden.so under $stage"; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$stage
LD_LIBRARY_PATH=$(dirname "$so")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR LD_LIBRARY_PATH
echo "installed into $stage; PKG_CONFIG_PATH=$PKG_CONFIG_PATH"

# The README's PKG_CONFIG_PATH for another prefix: its libdir command, run
# for this build's prefix and build directory, names where fden.pc went.
prefix=$(meson introspect "$build" --buildoptions |
	python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
readme_cmd=$(awk '/^libdir=\/opt\/fden/ { on = 1 } on { print } on && !/\\$/ && !/\|$/ { exit }' "$root/README.md")
[ -n "$readme_cmd" ] || { echo "FAIL: README.md has no libdir=/opt/fden/... command"; exit 1; }
readme_libdir=$(cd "$root" && echo "$readme_cmd" | sed -e "s@/opt/fden@$prefix@" -e "s@introspect build@introspect $build@" |
	sh -c 'eval "$(cat)"; echo "$libdir"')
if [ ! -f "$stage$readme_libdir/pkgconfig/fden.pc" ]; then
	echo "FAIL: README's libdir gives $readme_libdir, but fden.pc is at ${pc#"$stage"}"; exit 1
fi
echo "README's PKG_CONFIG_PATH for prefix $prefix: $readme_libdir/pkgconfig (fden.pc there)"

for md in "$@"; do
	name=$(basename "$md" .md)
	work=$tmp/$name
	mkdir -p "$work"
	cp -R "$root/examples" "$work/examples"
	lang= file=
	for l in c cpp python; do
		awk -v l="$l" '$0 == "```" l { on = 1; next } /^```$/ { on = 0 } on' "$md" >"$tmp/prog"
		[ -s "$tmp/prog" ] || continue
		lang=$l
		file=$(head -n 1 "$tmp/prog" | sed -n 's@^\(/\*\|//\|#\) *\([A-Za-z0-9_.-]*\.[a-z]*\):.*@\2@p')
		break
	done
	if [ -z "$lang" ] || [ -z "$file" ]; then
		echo "FAIL: $md: no program whose first line names its file"; fail=1; continue
	fi
	cp "$tmp/prog" "$work/$file"
	awk '$0 == "```sh" { on = 1; next } /^```$/ { on = 0 } on && !/^[ \t]*(#|$)/' "$md" >"$tmp/cmds"
	if [ ! -s "$tmp/cmds" ]; then
		echo "FAIL: $md: no \`\`\`sh commands"; fail=1; continue
	fi
	run_them=1
	if grep -q fashion "$work/$file" && [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
		run_them=0
	fi
	ok=1
	while IFS= read -r cmd; do
		case $cmd in
		./*|*python*|*pip*) [ $run_them -eq 1 ] || { echo "$name: not run (no Fashion-MNIST): $cmd"; continue; } ;;
		esac
		echo "$name\$ $cmd"
		if ! (cd "$work" && sh -euc "$cmd") >"$tmp/out" 2>&1; then
			echo "FAIL: $name: '$cmd' failed:"; sed 's/^/    /' "$tmp/out"; ok=0; break
		fi
		sed 's/^/    /' "$tmp/out"
	done <"$tmp/cmds"
	[ $ok -eq 1 ] || { fail=1; continue; }
	# warnings: the guide's compile command again, stricter
	cc_cmd=$(grep -E '^(cc|c\+\+) ' "$tmp/cmds" | head -n 1 || true)
	if [ -n "$cc_cmd" ]; then
		strict=$(echo "$cc_cmd" | sed -E 's/^(cc|c\+\+) /\1 -Wall -Wextra -Werror /; s/ -o [^ ]+//')
		if ! (cd "$work" && sh -euc "$strict -o strict.out") >"$tmp/out" 2>&1; then
			echo "FAIL: $name: warnings:"; sed 's/^/    /' "$tmp/out"; fail=1
		fi
	fi
done
exit $fail
