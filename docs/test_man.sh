#!/bin/sh
# fden(1) keeps in step with the program: every command `fden --help`
# lists has a section, and every option each `fden COMMAND --help` prints
# appears in that section or in the shared DATA OPTIONS and OPTIONS
# sections of docs/fden.1.
#   test_man.sh FDEN_PROGRAM FDEN_1
set -eu
fden=$1 man=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The page's text with roff's escaped hyphens and font changes removed.
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$man" >"$tmp/man"
missing=""
cmds=$("$fden" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }')
[ -n "$cmds" ] || { echo "FAIL: no commands in 'fden --help'"; exit 1; }
n=0
for c in $cmds; do
	grep -q "fden $c" "$tmp/man" || missing="$missing
  command $c"
	"$fden" "$c" --help >"$tmp/help"
	# the command's own section, then the shared ones
	awk -v c="$c" '/^\.S[SH] / { on = index($0, ".SS \"fden " c " ") == 1 ||
					    $0 == ".SS \"fden " c "\"" } on' "$tmp/man" >"$tmp/sect"
	[ -s "$tmp/sect" ] || missing="$missing
  section .SS \"fden $c ...\""
	awk '/^\.S[SH] / { on = $0 ~ /^\.SH "?(DATA OPTIONS|OPTIONS)"?$/ } on' "$tmp/man" >>"$tmp/sect"
	# shellcheck disable=SC2013 # one option name per word
	for o in $(grep -oE '^  (-h, )?--(\[no-\])?[a-z][a-z0-9-]*' "$tmp/help" |
		sed -e 's/^ *//' -e 's/^-h, //' -e 's/\[no-\]//'); do
		n=$((n + 1))
		grep -qE -- "$o([^a-z0-9-]|\$)" "$tmp/sect" || missing="$missing
  $c $o"
	done
done
if [ -n "$missing" ]; then
	echo "FAIL: not in $man:$missing"
	exit 1
fi
echo "ok: $(echo "$cmds" | wc -w) commands and $n options documented"
