#!/usr/bin/env bash
# bench/callgrind.sh — instructions per request of the in-process benchmarks
# (inproc_test.go, expand_test.go), counted by valgrind's callgrind: the same for the
# same binary and inputs whatever else the machine is doing, so two commits can be
# compared on a busy box where wrk's r/s and even CPU time move by ±20 %.
#
#   bash bench/callgrind.sh                                  # the default set below
#   bash bench/callgrind.sh GetByID/baseline GetByID/restkit # named benchmarks
#   N=2000 bash bench/callgrind.sh Expand/handjoin
#
# Each benchmark runs twice under callgrind, with -benchtime 10x and (N+10)x; the
# difference of the two totals divided by N is what N requests cost, seeding and
# start-up cancelled out. It counts every thread (GC workers included), but not the
# kernel: a system call is the instructions that make it. N (5000) should span many
# GC cycles, or one cycle more or less moves the figure. Slow: 2–4 minutes per
# benchmark (the seeding of 10,000 cars runs under valgrind twice). Results go to
# OUT/callgrind.txt (bench/out).
set -euo pipefail
cd "$(dirname "$0")"
N=${N:-5000}
OUT=${OUT:-out}
mkdir -p "$OUT/callgrind"
if ! command -v valgrind >/dev/null; then
	echo "installing valgrind" >&2
	apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
fi
BENCHES=("$@")
if [ ${#BENCHES[@]} -eq 0 ]; then
	BENCHES=(GetByID/baseline GetByID/restkit DeepPage/baseline DeepPage/restkit Expand/restkit-plain Expand/restkit-expand Expand/handjoin)
fi
go test -c -o "$OUT/callgrind/bench.test" .
total() { # benchmark count -> instructions
	local log="$OUT/callgrind/$(echo "$1" | tr / _).$2.log"
	# Go's asynchronous preemption signals trip callgrind (an assertion in its signal
	# handling); without them the program runs the same code.
	GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		"$OUT/callgrind/bench.test" -test.run '^$' -test.bench "^Benchmark${1%%/*}\$/^${1#*/}\$" \
		-test.benchtime "${2}x" -test.cpu 1 >"$log" 2>&1
	# A run that did not finish (valgrind older than the CPU: an instruction it cannot
	# decode, such as the RDTSCP the runtime may use) counts nothing worth printing.
	if ! grep -q '^PASS' "$log"; then
		echo "callgrind.sh: $1 ($2 runs) did not finish under valgrind; see $log" >&2
		grep -m1 -i 'unrecognised instruction\|SIGILL\|FAIL' "$log" >&2 || true
		exit 1
	fi
	grep -o 'refs: *[0-9,]*' "$log" | tr -dc 0-9
}
commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
for b in "${BENCHES[@]}"; do
	a=$(total "$b" 10)
	c=$(total "$b" $((N + 10)))
	printf '%-24s %10d instructions/request   (commit %s, N=%d)\n' "$b" $(((c - a) / N)) "$commit" "$N" | tee -a "$OUT/callgrind.txt"
done
