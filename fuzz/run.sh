#!/bin/sh
# Run the libFuzzer harnesses for a bounded time or number of inputs.
#   fuzz/run.sh [SECONDS | -runs=N] [ckpt idx npy invnet model]  (default: 60 s each, all five)
# Harnesses come from $FDEN_FUZZ_BUILD (default: build-fuzz/fuzz next to this
# directory; build them with CC=clang meson setup build-fuzz -Dfuzz=enabled
# -Dtests=disabled && ninja -C build-fuzz). Seeds are read from
# fuzz/corpus/NAME and never modified; new inputs, logs and any crash-*,
# leak-*, timeout-* or oom-* file go to $FDEN_FUZZ_WORK/NAME (default: a
# temporary directory, removed when nothing was found). For a run of hours:
#   FDEN_FUZZ_WORK=$HOME/fden-fuzz fuzz/run.sh 14400 ckpt
# Prints the executions of each harness; exits 1 on a finding.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${FDEN_FUZZ_BUILD:-$here/../build-fuzz/fuzz}
limit=${1:-60}
[ $# -gt 0 ] && shift
case $limit in
-runs=[0-9]*) budget=$limit ;;
*[!0-9]* | '') echo "usage: $0 [SECONDS | -runs=N] [ckpt idx npy invnet model]" >&2; exit 2 ;;
*) budget=-max_total_time=$limit ;;
esac
names=${*:-ckpt idx npy invnet model}
keep=${FDEN_FUZZ_WORK:+1}
work=${FDEN_FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/fden-fuzz.XXXXXX")}
status=0
for n in $names; do
	exe=$build/fuzz_$n
	if [ ! -x "$exe" ]; then
		echo "$n: $exe not built" >&2
		exit 2
	fi
	mkdir -p "$work/$n"
	"$exe" "$budget" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$work/$n/" \
		"$work/$n" "$here/corpus/$n" >"$work/$n.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$n.log" | tail -n 1)
	secs=$(sed -n 's/^stat::total_run_time_s\{0,1\}: *//p;s/^stat::.*time.*: *//p' "$work/$n.log" | head -n 1)
	if [ $rc -ne 0 ]; then
		status=1
		keep=1
		echo "$n: FINDING after ${execs:-?} executions (exit $rc); see $work/$n.log"
		grep -E 'ERROR|SUMMARY|runtime error' "$work/$n.log" | head -n 5
	else
		echo "$n: ${execs:-?} executions, no finding"
	fi
done
if [ -z "$keep" ]; then
	rm -rf "$work"
else
	echo "work directory: $work"
fi
exit $status
