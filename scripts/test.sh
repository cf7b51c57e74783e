#!/bin/sh
# Build libfden and run every test, as CI does (.ci/run calls this).
#   1. install missing Debian packages (scripts/install-deps.sh --tests)
#   2. release build (-Dwerror=true: a compiler warning fails it) + `meson
#      test` (all suites, the format check included)
#   3. ASan+UBSan build + `meson test` (all suites)
#   4. ThreadSanitizer build + the concurrency suite (scripts/tsan.sh)
#   5. Python, Rust and C++ binding tests, if their entry scripts exist,
#      against a `meson install --destdir` tree of the release build
#   6. a bounded libFuzzer run, if fuzz/run.sh exists
# Prints a summary; exits non-zero if any step failed.
#
# Options: --no-install --no-asan --no-tsan --no-bindings --no-fuzz --valgrind (adds
# `meson test --setup valgrind` on the release build; slow)
# Environment: BUILD_DIR (build), ASAN_BUILD_DIR (build-asan), TSAN_BUILD_DIR
# (build-tsan), FUZZ_BUILD_DIR (build-fuzz), FUZZ_ARG (fuzz/run.sh: seconds per harness, or -runs=N; 60),
# MESON_TEST_ARGS (extra `meson test` arguments, e.g. --num-processes 2).
# shellcheck disable=SC2086 # MESON_TEST_ARGS splits into words
set -u
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
FUZZ_ARG=${FUZZ_ARG:-60}
MESON_TEST_ARGS=${MESON_TEST_ARGS:-}
install=1 asan=1 tsan=1 bindings=1 fuzz=1 valgrind=0
for a in "$@"; do
	case "$a" in
	--no-install) install=0 ;;
	--no-asan) asan=0 ;;
	--no-tsan) tsan=0 ;;
	--no-bindings) bindings=0 ;;
	--no-fuzz) fuzz=0 ;;
	--valgrind) valgrind=1 ;;
	-h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "test.sh: unknown option $a" >&2; exit 2 ;;
	esac
done
PATH="$PATH:$HOME/.cargo/bin"
export PATH

summary=""
counts=""
failed=0
n_pass=0 # tests passed and failed over every step, for the closing line
n_fail=0
start=$(date +%s)
meson_step=0
step() { # name status
	if [ "$2" -eq 0 ]; then r=ok; elif [ "$2" -eq 77 ]; then r=skipped; else r=FAILED; failed=1; fi
	# a step that is not a meson run counts as one test (bindings, tsan, fuzz)
	if [ $meson_step -eq 0 ] && [ "$2" -ne 77 ]; then
		case "$1" in
		*build*|install-deps|"meson install"*) [ "$2" -eq 0 ] || n_fail=$((n_fail + 1)) ;;
		*) if [ "$2" -eq 0 ]; then n_pass=$((n_pass + 1)); else n_fail=$((n_fail + 1)); fi ;;
		esac
	fi
	summary="$summary
  $(printf '%-34s' "$1") $r"
	echo "=== $1: $r"
}
banner() { echo; echo "=== $*"; }
# Run `meson test -C DIR ARGS...` as step NAME; keep meson's counts.
mtest() { # name dir args...
	n=$1 d=$2; shift 2
	meson test -C "$d" --print-errorlogs "$@"
	r=$?
	log="$d/meson-logs/testlog.txt"
	[ "${MESON_TEST_SETUP:-}" != "" ] && log="$d/meson-logs/testlog-$MESON_TEST_SETUP.txt"
	if [ -f "$log" ]; then
		counts="$counts
  $(printf '%-34s' "$n:") $(grep -E '^(Ok|Fail|Skipped|Timeout):' "$log" | tr -s ' ' | tr '\n' ' ')"
		ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
		bad=$(sed -n 's/^\(Fail\|Timeout\|Unexpected Pass\): *\([0-9]*\).*/\2/p' "$log" |
			awk '{ s += $1 } END { print s + 0 }')
		n_pass=$((n_pass + ${ok:-0}))
		n_fail=$((n_fail + ${bad:-0}))
	fi
	meson_step=1
	step "$n" $r
	meson_step=0
}

# meson setup, or reconfigure an existing directory with the same options.
setup() { # dir options...
	d=$1; shift
	if [ -f "$d/build.ninja" ]; then
		meson configure "$d" "$@" >/dev/null
	else
		meson setup "$d" "$@"
	fi
}

if [ $install -eq 1 ]; then
	banner "install-deps"
	./scripts/install-deps.sh --tests; step "install-deps" $?
fi

# --- release build and the whole suite ------------------------------------
banner "release build ($BUILD_DIR)"
if setup "$BUILD_DIR" -Dbuildtype=release -Dtests=enabled -Dwerror=true && ninja -C "$BUILD_DIR"; then
	step "release build" 0
	banner "meson test ($BUILD_DIR)"
	mtest "meson test (release)" "$BUILD_DIR" $MESON_TEST_ARGS
	if [ $valgrind -eq 1 ]; then
		banner "meson test --setup valgrind ($BUILD_DIR)"
		MESON_TEST_SETUP=valgrind mtest "meson test (valgrind)" "$BUILD_DIR" --setup valgrind \
			$MESON_TEST_ARGS
	fi
	release_ok=1
else
	step "release build" 1
	release_ok=0
fi

# --- AddressSanitizer + UndefinedBehaviorSanitizer ------------------------
if [ $asan -eq 1 ]; then
	banner "ASan+UBSan build ($ASAN_BUILD_DIR)"
	if setup "$ASAN_BUILD_DIR" -Dbuildtype=debugoptimized -Dtests=enabled -Ddocs=disabled \
		-Db_sanitize=address,undefined -Db_lundef=false && ninja -C "$ASAN_BUILD_DIR"; then
		step "asan build" 0
		banner "meson test ($ASAN_BUILD_DIR)"
		# The 'asan' setup (tests/meson.build): every UBSan finding and leak is fatal.
		MESON_TEST_SETUP=asan mtest "meson test (asan+ubsan)" "$ASAN_BUILD_DIR" --setup asan \
			$MESON_TEST_ARGS
	else
		step "asan build" 1
	fi
fi

# --- ThreadSanitizer: many threads on one model -------------------------
if [ $tsan -eq 1 ]; then
	banner "ThreadSanitizer (${TSAN_BUILD_DIR:-build-tsan})"
	./scripts/tsan.sh api-threads; step "tsan (api-threads)" $?
fi

# --- language bindings against an installed tree -------------------------
if [ $bindings -eq 1 ] && [ $release_ok -eq 1 ]; then
	dest="$root/$BUILD_DIR/destdir"
	rm -rf "$dest"
	if meson install -C "$BUILD_DIR" --no-rebuild --destdir "$dest" >"$BUILD_DIR/destdir-install.log" 2>&1; then
		pc=$(find "$dest" -name fden.pc | head -n 1)
		so=$(find "$dest" -name 'libfden.so.*' -type f | head -n 1)
		FDEN_BUILD_DIR="$root/$BUILD_DIR"
		FDEN_DESTDIR="$dest"
		FDEN_LIBRARY="$root/$BUILD_DIR/libfden/libfden.so"
		PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
		PKG_CONFIG_SYSROOT_DIR="$dest"
		LD_LIBRARY_PATH="$(dirname "$so")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
		export FDEN_BUILD_DIR FDEN_DESTDIR FDEN_LIBRARY PKG_CONFIG_PATH \
			PKG_CONFIG_SYSROOT_DIR LD_LIBRARY_PATH
		for t in examples/python/run-tests.sh examples/rust/run-tests.sh examples/cpp/test.sh; do
			[ -f "$t" ] || continue
			banner "$t"
			sh "$t"; step "$t" $?
		done
		unset FDEN_LIBRARY PKG_CONFIG_SYSROOT_DIR
	else
		cat "$BUILD_DIR/destdir-install.log"
		step "meson install --destdir" 1
	fi
fi

# --- bounded fuzzing -----------------------------------------------------
if [ $fuzz -eq 1 ] && [ -f fuzz/run.sh ]; then
	banner "libFuzzer build ($FUZZ_BUILD_DIR)"
	if (CC=clang; export CC; setup "$FUZZ_BUILD_DIR" -Dfuzz=enabled -Dtests=disabled \
		-Ddocs=disabled) && ninja -C "$FUZZ_BUILD_DIR"; then
		banner "fuzz/run.sh $FUZZ_ARG"
		FDEN_FUZZ_BUILD="$root/$FUZZ_BUILD_DIR/fuzz" sh fuzz/run.sh "$FUZZ_ARG"
		step "fuzz (bounded: $FUZZ_ARG)" $?
	else
		step "fuzz build" 1
	fi
fi

end=$(date +%s)
echo
echo "=== summary ($((end - start)) s)$summary"
[ -n "$counts" ] && echo "=== meson's counts$counts"
echo "TOTAL: $n_pass passed, $n_fail failed"
if [ $failed -ne 0 ]; then
	echo "RESULT: FAILED"
	exit 1
fi
echo "RESULT: all passed"
