#!/bin/sh
# fden.sym -> a header with `#define FDEN_SYM_<name> 1` per exported name, so
# the API suite tests each call from the moment it is exported.
set -eu
{
	echo "/* Generated from libfden/fden.sym by tests/api/gen_syms.sh. */"
	sed -e 's@/\*.*\*/@@g' -e '/\/\*/,/\*\//d' "$1" |
		sed -n 's/^[[:space:]]*\(fden_[A-Za-z0-9_]*\);.*/#define FDEN_SYM_\1 1/p'
} >"$2"
