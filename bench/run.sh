#!/usr/bin/env bash
# bench/run.sh — restkit against a plain net/http + database/sql baseline, under wrk,
# on loopback, on the same 10,000 cars. See bench/README.md.
#
#   bash bench/run.sh
#
# Environment (defaults in brackets): DURATION [10s] and WARMUP [2s] per run,
# CONNECTIONS [32], THREADS [2] for wrk, ROUNDS [1] (each round runs every scenario on
# both servers; the table shows medians), CARS [10000] seeded, DEEP [9000] rows before
# the deep page (a multiple of 100), OUT [bench/out], SCENARIOS ["get page post postd put
# patch"]: a subset, in that order (the writes come last, so the GETs read unchanged data).
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-1}
CARS=${CARS:-10000}
DEEP=${DEEP:-9000}
OUT=${OUT:-bench/out}
SCENARIOS=${SCENARIOS:-get page post postd put patch}
WORK=$OUT/work

. "$(dirname "$0")/lib.sh"

# wrk: install it when missing (Debian/Ubuntu).
if ! command -v wrk >/dev/null; then
	log "installing wrk"
	SUDO=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || die "wrk is missing: install it (apt-get install wrk)"
		SUDO=sudo
	fi
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq wrk >/dev/null
fi

LOAD_START=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
if awk -v l="$LOAD_START" -v n="$(nproc)" 'BEGIN {exit !(l + 0 > n / 2)}'; then
	log "WARNING: load average $LOAD_START on $(nproc) CPUs: other work shares the CPUs, expect noise"
fi

rm -rf "$WORK" "$OUT"/wrk-*.txt
mkdir -p "$WORK/restkit-data" "$WORK/baseline-data"

log "building"
go build -o "$WORK/restkit" ./cmd/restkit
go build -o "$WORK/baseline" ./bench/baseline
go build -o "$WORK/seed" ./bench/seed

start_restkit() { # port; sets PID
	"$WORK/restkit" serve --addr "127.0.0.1:$1" --data "$WORK/restkit-data" 2>>"$WORK/restkit.log" &
	PID=$!
	PIDS+=("$PID")
	wait_healthy "http://127.0.0.1:$1" "$PID"
}

stop() { # pid: SIGTERM, then wait, so the store closes and checkpoints its WAL
	kill -TERM "$1"
	wait "$1" || die "a server exited with an error; see $WORK/*.log"
}

# 1. Seed through restkit's own POST, stop it, copy its database for the baseline.
log "seeding $CARS cars through restkit"
SEED_PORT=$("$WORK/seed" -freeport)
start_restkit "$SEED_PORT"
"$WORK/seed" -url "http://127.0.0.1:$SEED_PORT" -n "$CARS"
stop "$PID"
cp "$WORK"/restkit-data/restkit.db* "$WORK/baseline-data/"

# 2. Serve both.
RK_PORT=$("$WORK/seed" -freeport)
start_restkit "$RK_PORT"
RK_PID=$PID
RK="http://127.0.0.1:$RK_PORT"
BL_PORT=$("$WORK/seed" -freeport)
"$WORK/baseline" --addr "127.0.0.1:$BL_PORT" --db "$WORK/baseline-data/restkit.db" 2>>"$WORK/baseline.log" &
PID=$!
PIDS+=("$PID")
BL_PID=$PID
BL="http://127.0.0.1:$BL_PORT"
wait_healthy "$BL" "$PID"

# 3. The deep page: restkit's by following rel="next" cursors, the baseline's by after=.
RK_PAGE=$("$WORK/seed" -url "$RK" -cursor-at "$DEEP" -limit 20)
BL_PAGE="/cars?after=$DEEP&limit=20"

# Both must answer the same bytes, or the comparison means nothing.
same() { # what restkit-path baseline-path
	local a b
	a=$(curl -fsS "$RK$2") || die "GET $RK$2 failed"
	b=$(curl -fsS "$BL$3") || die "GET $BL$3 failed"
	[ "$a" = "$b" ] || die "$1: restkit and the baseline differ:
restkit:  ${a:0:300}
baseline: ${b:0:300}"
}
same "GET by id" /cars/4321 /cars/4321
same "GET by id (no year)" /cars/4326 /cars/4326
same "deep page" "$RK_PAGE" "$BL_PAGE"
etag() { curl -fsS -D - -o /dev/null "$1" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p'; }
[ "$(etag "$RK/cars/4321")" = "$(etag "$BL/cars/4321")" ] || die "the ETags of /cars/4321 differ"

# 4. Load. One run: warm up, then measure with --latency; print "rps p99_ms non2xx".
to_ms() { # wrk duration (123.45us, 1.23ms, 1.02s, 2.00m) -> milliseconds
	awk -v d="$1" 'BEGIN {
		n = d + 0; u = d; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
		printf "%.2f", n }'
}
cpu_ticks() { # pid -> user + system CPU time so far, in clock ticks
	awk '{print $14 + $15}' "/proc/$1/stat"
}
TICK_US=$((1000000 / $(getconf CLK_TCK)))

# load: one warm-up and one measured wrk run against a server; prints
# "req/s p99_ms non2xx cpu_us_per_request", the last being the server's own CPU time
# (user + system, from /proc) over the measured run divided by its requests: unlike
# req/s it hardly moves when something else competes for the CPUs.
load() { # name server pid url [script [args...]]; leaves the raw output in $OUT/wrk-name-server-rROUND.txt
	local name=$1 server=$2 pid=$3 url=$4 script=${5:-}
	shift 4
	shift $(($# > 0 ? 1 : 0))
	local opts=(-t"$THREADS" -c"$CONNECTIONS")
	[ -z "$script" ] || opts+=(-s "$script")
	# wrk hands the arguments after the URL to the script's init(); the first is the
	# id base, different for the warm-up and the measured run (see post.lua).
	wrk "${opts[@]}" -d"$WARMUP" "$url" 0 "$@" >/dev/null
	local raw=$OUT/wrk-$name-$server-r$round.txt
	local t0 t1
	t0=$(cpu_ticks "$pid")
	wrk "${opts[@]}" -d"$DURATION" --latency "$url" 100000000 "$@" >"$raw"
	t1=$(cpu_ticks "$pid")
	local rps p99 non2xx errs requests
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$raw")
	p99=$(awk '$1 == "99%" {print $2}' "$raw")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$raw")
	errs=$(awk '/Socket errors:/ {print}' "$raw")
	requests=$(awk '/requests in/ {print $1}' "$raw")
	[ -n "$rps" ] && [ -n "$p99" ] || die "could not read wrk's output: $raw"
	[ -z "$non2xx" ] || log "WARNING: $name on $server: $non2xx non-2xx responses (see $raw)"
	[ -z "$errs" ] || log "WARNING: $name on $server: $errs"
	printf '%s %s %s %s\n' "$rps" "$(to_ms "$p99")" "${non2xx:-0}" \
		"$(awk -v t=$((t1 - t0)) -v us="$TICK_US" -v n="$requests" 'BEGIN {printf "%.1f", t * us / n}')"
}

median() { # numbers... -> their median
	printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

declare -A RPS P99 NON2XX CPU
i=0
for round in $(seq "$ROUNDS"); do
	for scenario in $SCENARIOS; do
		case $scenario in
		get) rk_url=$RK bl_url=$BL args=(bench/lua/get.lua "$CARS") ;;
		page) rk_url=$RK$RK_PAGE bl_url=$BL$BL_PAGE args=() ;; # one static request, no script
		post) rk_url=$RK/cars bl_url=$BL/cars args=(bench/lua/post.lua "$round") ;;
		# the same restkit POST against the baseline's durable one (row + history row in
		# one transaction); ids of rounds of their own, as both POSTs fill one baseline table
		postd) rk_url=$RK/cars bl_url=$BL/durable/cars args=(bench/lua/post.lua "$((round + 100))") ;;
		put) rk_url=$RK bl_url=$BL args=(bench/lua/put.lua "$CARS" PUT) ;;
		patch) rk_url=$RK bl_url=$BL args=(bench/lua/put.lua "$CARS" PATCH) ;;
		*) die "unknown scenario $scenario (SCENARIOS: get page post postd put patch)" ;;
		esac
		# Alternate who goes first, so neither always meets a cooler or warmer machine.
		if ((i % 2 == 0)); then order="baseline restkit"; else order="restkit baseline"; fi
		i=$((i + 1))
		for server in $order; do
			log "round $round/$ROUNDS, $scenario: $server ($WARMUP warm-up, $DURATION measured, $CONNECTIONS connections)"
			if [ "$server" = baseline ]; then url=$bl_url pid=$BL_PID; else url=$rk_url pid=$RK_PID; fi
			out=$(load "$scenario" "$server" "$pid" "$url" "${args[@]}")
			read -r rps p99 non2xx cpu <<<"$out"
			RPS[$scenario-$server]+=" $rps"
			CPU[$scenario-$server]+=" $cpu"
			P99[$scenario-$server]+=" $p99"
			NON2XX[$scenario-$server]=$((${NON2XX[$scenario-$server]:-0} + non2xx))
		done
	done
done

# 5. The table.
{
	printf 'restkit vs baseline — %s, commit %s%s, %s, %d CPUs\n' "$(date -u +%Y-%m-%dT%H:%MZ)" \
		"$(git rev-parse --short HEAD)" "$(git diff --quiet HEAD -- . 2>/dev/null || echo '+dirty')" \
		"$(go env GOVERSION)" "$(nproc)"
	printf 'wrk -t%s -c%s -d%s (after %s warm-up), %s round(s), medians; loopback, %s cars, deep page after row %s\n' \
		"$THREADS" "$CONNECTIONS" "$DURATION" "$WARMUP" "$ROUNDS" "$CARS" "$DEEP"
	printf 'load average: %s at the start, %s at the end\n\n' "$LOAD_START" "$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
	printf '%-12s %12s %12s %7s %10s %9s %13s %12s   %s\n' scenario 'baseline r/s' 'restkit r/s' ratio spread target 'baseline p99' 'restkit p99' \
		'server CPU µs/req: baseline restkit ratio'
	for scenario in $SCENARIOS; do
		# shellcheck disable=SC2086 # word splitting of the per-round lists is meant
		b_rps=$(median ${RPS[$scenario-baseline]}) b_p99=$(median ${P99[$scenario-baseline]})
		# shellcheck disable=SC2086
		r_rps=$(median ${RPS[$scenario-restkit]}) r_p99=$(median ${P99[$scenario-restkit]})
		# shellcheck disable=SC2086
		b_cpu=$(median ${CPU[$scenario-baseline]}) r_cpu=$(median ${CPU[$scenario-restkit]})
		ratio=$(awk -v r="$r_rps" -v b="$b_rps" 'BEGIN {printf "%.2f", r / b}')
		# the spread: the lowest and highest of the rounds' own ratios
		spread=$(awk -v r="${RPS[$scenario-restkit]}" -v b="${RPS[$scenario-baseline]}" 'BEGIN {
			n = split(r, rr, " "); split(b, bb, " "); lo = 1e9; hi = 0
			for (i = 1; i <= n; i++) { x = rr[i] / bb[i]; if (x < lo) lo = x; if (x > hi) hi = x }
			printf "%.2f-%.2f", lo, hi }')
		cpu_ratio=$(awk -v r="$r_cpu" -v b="$b_cpu" 'BEGIN {printf "%.2f", b / r}')
		case $scenario in
		get) label="GET by id" min=0.9 ;;
		page) label="deep page" min=0.8 ;;
		post) label="POST" min=0.8 ;;
		postd) label="POST durab." min=1.0 ;;
		put) label="PUT durab." min=1.0 ;;
		patch) label="PATCH durab." min=1.0 ;;
		esac
		target=$(awk -v x="$ratio" -v m="$min" 'BEGIN {print (x >= m) ? "ok " m : "BELOW " m}')
		printf '%-12s %12.0f %12.0f %6sx %10s %9s %10.2f ms %9.2f ms   %26.1f %7.1f %5sx\n' "$label" "$b_rps" "$r_rps" "$ratio" "$spread" "$target" \
			"$b_p99" "$r_p99" "$b_cpu" "$r_cpu" "$cpu_ratio"
	done
	for k in "${!NON2XX[@]}"; do
		[ "${NON2XX[$k]}" = 0 ] || printf 'WARNING: %s had %s non-2xx responses\n' "$k" "${NON2XX[$k]}"
	done
	printf '\nratio = restkit r/s / baseline r/s; the CPU ratio = baseline CPU/req / restkit CPU/req (same sense: 1.00 is parity,\n'
	printf 'below 1 restkit costs more), which other load on the machine disturbs far less than r/s.\n'
	printf 'targets (issue 17): GET by id >= 0.9x, deep page >= 0.8x, POST >= 0.8x the bare one-INSERT baseline; POST, PUT and\n'
	printf 'PATCH (durab.) >= 1.0x the baseline doing the same durable work per request (row + history row, one transaction).\n'
	printf 'Raw wrk output: %s/wrk-*.txt\n' "$OUT"
} | tee "$OUT/results.txt"
