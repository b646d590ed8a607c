#!/usr/bin/env bash
# bench/paging.sh — deep keyset paging at 1,000,000 rows: restkit's page 1 against the
# page 500,000 rows further by cursor, filtered and sorted by an indexed field, and both
# against the plain baseline running the same SQL (bench/plain/keyset.go), under wrk on
# loopback. See bench/README.md, "Deep paging at 1M rows".
#
#   bash bench/paging.sh
#
# Environment (defaults in brackets): DURATION [10s] and WARMUP [2s] per run,
# CONNECTIONS [32], THREADS [2] for wrk, ROUNDS [1] (medians over rounds), CARS [1000000]
# seeded, DEEP [500000] rows of the filtered, sorted list before the deep page (a
# multiple of 100), SORT [year] (year or color), YEAR_GTE [1995] (the filter
# year[gte]), OUT [bench/out].
#
# The seeded database (bench/seedmany) and the deep cursor are cached in
# $OUT/paging-cache/ and reused while SEED_VERSION, CARS, SORT, YEAR_GTE and DEEP are
# unchanged and the cursor still reaches the same page as the baseline.
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-1}
CARS=${CARS:-1000000}
DEEP=${DEEP:-500000}
SORT=${SORT:-year}
YEAR_GTE=${YEAR_GTE:-1995}
OUT=${OUT:-bench/out}
WORK=$OUT/paging-work
SEED_VERSION=1 # bump when bench/seedmany's data changes
CACHE=$OUT/paging-cache/v$SEED_VERSION-$CARS

. "$(dirname "$0")/lib.sh"

case $SORT in year | color) ;; *) die "SORT must be year or color, not $SORT" ;; esac
[ $((DEEP % 100)) = 0 ] || die "DEEP must be a multiple of 100"

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

rm -rf "$WORK" "$OUT"/wrk-paging-*.txt
mkdir -p "$WORK/restkit-data" "$WORK/baseline-data"

log "building"
go build -o "$WORK/restkit" ./cmd/restkit
go build -o "$WORK/baseline" ./bench/baseline
go build -o "$WORK/seed" ./bench/seed
go build -o "$WORK/seedmany" ./bench/seedmany
go build -o "$WORK/pagingsql" ./bench/pagingsql

# 1. The database: seeded once by bench/seedmany (restkit's own Open + Migrate, then bulk
# SQL), cached, and copied for each server.
if [ ! -f "$CACHE/restkit.db" ]; then
	log "seeding $CARS cars into $CACHE (bench/seedmany)"
	# Other seed versions or sizes are stale: keep one database of this size.
	rm -rf "$OUT/paging-cache"/v*-"$CARS" "$CACHE.tmp"
	mkdir -p "$CACHE.tmp"
	"$WORK/seedmany" -db "$CACHE.tmp/restkit.db" -n "$CARS"
	rm -f "$CACHE.tmp"/restkit.db-wal "$CACHE.tmp"/restkit.db-shm
	mv "$CACHE.tmp" "$CACHE"
else
	log "using the seeded database in $CACHE"
fi
cp "$CACHE/restkit.db" "$WORK/restkit-data/"
cp "$CACHE/restkit.db" "$WORK/baseline-data/"
[ ! -f "$CACHE/cursor.key" ] || cp "$CACHE/cursor.key" "$WORK/restkit-data/"

# 2. Serve both.
RK_PORT=$("$WORK/seed" -freeport)
"$WORK/restkit" serve --addr "127.0.0.1:$RK_PORT" --data "$WORK/restkit-data" 2>>"$WORK/restkit.log" &
RK_PID=$!
PIDS+=("$RK_PID")
RK="http://127.0.0.1:$RK_PORT"
wait_healthy "$RK" "$RK_PID" 300
BL_PORT=$("$WORK/seed" -freeport)
"$WORK/baseline" --addr "127.0.0.1:$BL_PORT" --db "$WORK/baseline-data/restkit.db" 2>>"$WORK/baseline.log" &
BL_PID=$!
PIDS+=("$BL_PID")
BL="http://127.0.0.1:$BL_PORT"
wait_healthy "$BL" "$BL_PID" 300

# 3. The pages. restkit: GET /cars?year[gte]=Y&sort=F&limit=20, and the page after row
# DEEP by the cursor a client gets by following rel="next" (limit=100). The baseline:
# GET /keyset/cars with the sort values of row DEEP as its cursor.
RK_QUERY="year%5Bgte%5D=$YEAR_GTE&sort=$SORT"
RK_PAGE1="/cars?$RK_QUERY&limit=20"
BL_PAGE1="/keyset/cars?year_gte=$YEAR_GTE&sort=$SORT&limit=20"
read -r AFTER_V AFTER_ID < <("$WORK/pagingsql" -db "$WORK/baseline-data/restkit.db" -sort "$SORT" -year-gte "$YEAR_GTE" -nth "$DEEP")
BL_DEEP="/keyset/cars?year_gte=$YEAR_GTE&sort=$SORT&after_$SORT=$AFTER_V&after_id=$AFTER_ID&limit=20"

# Both must answer the same bytes, or the comparison means nothing.
differs() { # restkit-path baseline-path: succeeds when the bodies differ (or a GET fails)
	curl -fsS -o "$WORK/a.json" "$RK$1" 2>/dev/null || return 0
	curl -fsS -o "$WORK/b.json" "$BL$2" 2>/dev/null || return 0
	! cmp -s "$WORK/a.json" "$WORK/b.json"
}
DEEP_FILE=$CACHE/deep-$SORT-$YEAR_GTE-$DEEP.path
RK_DEEP=
if [ -f "$DEEP_FILE" ] && [ -f "$CACHE/cursor.key" ]; then
	RK_DEEP=$(cat "$DEEP_FILE")
	if differs "$RK_DEEP" "$BL_DEEP"; then
		log "the cached cursor no longer reaches row $DEEP (cursor format changed?): walking again"
		RK_DEEP=
	else
		log "using the cached cursor to row $DEEP ($DEEP_FILE)"
	fi
fi
if [ -z "$RK_DEEP" ]; then
	log "walking restkit's rel=\"next\" links to row $DEEP of ?$RK_QUERY ($((DEEP / 100)) requests of 100)"
	t0=$(date +%s)
	RK_DEEP=$("$WORK/seed" -url "$RK" -query "$RK_QUERY" -cursor-at "$DEEP" -limit 20)
	log "walked in $(($(date +%s) - t0)) s"
	printf '%s\n' "$RK_DEEP" >"$DEEP_FILE"
	cp "$WORK/restkit-data/cursor.key" "$CACHE/cursor.key"
fi
if differs "$RK_PAGE1" "$BL_PAGE1"; then
	die "page 1: restkit and the baseline differ:
restkit:  $(head -c 300 "$WORK/a.json")
baseline: $(head -c 300 "$WORK/b.json")"
fi
if differs "$RK_DEEP" "$BL_DEEP"; then
	die "the deep page: restkit and the baseline differ:
restkit:  $(head -c 300 "$WORK/a.json")
baseline: $(head -c 300 "$WORK/b.json")"
fi
log "both servers answer the same bytes for page 1 and for the page after row $DEEP ($SORT $AFTER_V, id $AFTER_ID)"

# 4. The SQL alone, before any load: plans and costs with modernc's SQLite (the engine
# both servers run), then EXPLAIN QUERY PLAN and VM steps from the sqlite3 CLI.
log "explaining the SQL"
DB=$WORK/baseline-data/restkit.db
"$WORK/pagingsql" -db "$DB" -sort "$SORT" -year-gte "$YEAR_GTE" -after "$AFTER_V" -after-id "$AFTER_ID" -explain >"$WORK/sql.txt"
cli_explain() {
	if ! command -v sqlite3 >/dev/null; then
		echo "(the sqlite3 CLI is not installed: apt-get install sqlite3)"
		return
	fi
	local v=$AFTER_V page1 deep
	[ "$SORT" = year ] || v="'$AFTER_V'"
	page1=$("$WORK/pagingsql" -sort "$SORT" -sql page1)
	deep=$("$WORK/pagingsql" -sort "$SORT" -sql deep)
	echo "sqlite3 CLI $(sqlite3 --version | cut -d' ' -f1) on $DB (parameters bound with .parameter set):"
	steps() { # label sql values...: EXPLAIN QUERY PLAN, then the VM steps of one run
		local label=$1 q=$2 i=0 binds=
		shift 2
		for x in "$@"; do
			i=$((i + 1))
			binds+=".parameter set ?$i $x"$'\n'
		done
		echo
		echo "$label: $q"
		sqlite3 -readonly "$DB" <<-EOF 2>&1 | sed -n -e 's/^/  /' -e '/QUERY PLAN\|--\|Virtual Machine Steps/p'
			.parameter init
			$binds
			EXPLAIN QUERY PLAN $q;
			.stats on
			SELECT count(*) FROM ($q);
		EOF
	}
	steps "page 1" "$page1" "$YEAR_GTE" 21
	steps "deep page" "$deep" "$YEAR_GTE" "$v" "$v" "$v" "$AFTER_ID" 21
	echo
	echo "(EXPLAIN QUERY PLAN names the index and the column it seeks on, not the bound it starts from;"
	echo " the VM steps, counted for the SELECT only, show how many index entries each query walks)"
}
cli_explain >"$WORK/cli.txt"

# 5. Load: page 1 and the deep page on each server; alternate who goes first.
to_ms() { # wrk duration (123.45us, 1.23ms, 1.02s, 2.00m) -> milliseconds
	awk -v d="$1" 'BEGIN {
		n = d + 0; u = d; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
		printf "%.3f", n }'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

load() { # name server pid url; prints "req/s p50_ms p99_ms non2xx cpu_us_per_request"
	local name=$1 server=$2 pid=$3 url=$4
	local opts=(-t"$THREADS" -c"$CONNECTIONS" --timeout 10s)
	wrk "${opts[@]}" -d"$WARMUP" "$url" >/dev/null
	local raw=$OUT/wrk-paging-$name-$server-r$round.txt t0 t1
	t0=$(cpu_ticks "$pid")
	wrk "${opts[@]}" -d"$DURATION" --latency "$url" >"$raw"
	t1=$(cpu_ticks "$pid")
	local rps p50 p99 non2xx errs requests
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$raw")
	p50=$(awk '$1 == "50%" {print $2}' "$raw")
	p99=$(awk '$1 == "99%" {print $2}' "$raw")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$raw")
	errs=$(awk '/Socket errors:/ {print}' "$raw")
	requests=$(awk '/requests in/ {print $1}' "$raw")
	[ -n "$rps" ] && [ -n "$p50" ] && [ -n "$p99" ] || die "could not read wrk's output: $raw"
	[ -z "$non2xx" ] || log "WARNING: $name on $server: $non2xx non-2xx responses (see $raw)"
	[ -z "$errs" ] || log "WARNING: $name on $server: $errs"
	printf '%s %s %s %s %s\n' "$rps" "$(to_ms "$p50")" "$(to_ms "$p99")" "${non2xx:-0}" \
		"$(awk -v t=$((t1 - t0)) -v us="$TICK_US" -v n="$requests" 'BEGIN {printf "%.1f", t * us / n}')"
}

median() {
	printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

declare -A RPS P50 P99 NON2XX CPU
i=0
for round in $(seq "$ROUNDS"); do
	for page in page1 deep; do
		if ((i % 2 == 0)); then order="baseline restkit"; else order="restkit baseline"; fi
		i=$((i + 1))
		for server in $order; do
			log "round $round/$ROUNDS, $page: $server ($WARMUP warm-up, $DURATION measured, $CONNECTIONS connections)"
			case $server-$page in
			restkit-page1) url=$RK$RK_PAGE1 pid=$RK_PID ;;
			restkit-deep) url=$RK$RK_DEEP pid=$RK_PID ;;
			baseline-page1) url=$BL$BL_PAGE1 pid=$BL_PID ;;
			baseline-deep) url=$BL$BL_DEEP pid=$BL_PID ;;
			esac
			read -r rps p50 p99 non2xx cpu <<<"$(load "$page" "$server" "$pid" "$url")"
			RPS[$server-$page]+=" $rps"
			P50[$server-$page]+=" $p50"
			P99[$server-$page]+=" $p99"
			CPU[$server-$page]+=" $cpu"
			NON2XX[$server-$page]=$((${NON2XX[$server-$page]:-0} + non2xx))
		done
	done
done

# 6. The report.
{
	printf 'deep keyset paging — %s, commit %s%s, %s, %d CPUs\n' "$(date -u +%Y-%m-%dT%H:%MZ)" \
		"$(git rev-parse --short HEAD)" "$(git diff --quiet HEAD -- . 2>/dev/null || echo '+dirty')" \
		"$(go env GOVERSION)" "$(nproc)"
	printf '%s cars; list ?year[gte]=%s&sort=%s&limit=20 (%s rows match); deep page = after row %s (%s %s, id %s)\n' \
		"$CARS" "$YEAR_GTE" "$SORT" "$(sqlite3 -readonly "$DB" "SELECT count(*) FROM cars WHERE year >= $YEAR_GTE" 2>/dev/null || echo '?')" \
		"$DEEP" "$SORT" "$AFTER_V" "$AFTER_ID"
	printf 'wrk -t%s -c%s -d%s (after %s warm-up), %s round(s), medians; loopback\n' "$THREADS" "$CONNECTIONS" "$DURATION" "$WARMUP" "$ROUNDS"
	printf 'load average: %s at the start, %s at the end\n\n' "$LOAD_START" "$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
	printf '  restkit  page 1: GET %s\n' "$RK_PAGE1"
	printf '  restkit  deep:   GET %s\n' "$RK_DEEP"
	printf '  baseline page 1: GET %s\n' "$BL_PAGE1"
	printf '  baseline deep:   GET %s\n\n' "$BL_DEEP"
	printf '%-9s %-7s %10s %11s %11s %14s\n' server page 'r/s' 'p50' 'p99' 'CPU µs/req'
	for server in restkit baseline; do
		for page in page1 deep; do
			# shellcheck disable=SC2086 # word splitting of the per-round lists is meant
			printf '%-9s %-7s %10.0f %8.2f ms %8.2f ms %14.1f\n' "$server" "$([ $page = page1 ] && echo 'page 1' || echo deep)" \
				"$(median ${RPS[$server-$page]})" "$(median ${P50[$server-$page]})" "$(median ${P99[$server-$page]})" "$(median ${CPU[$server-$page]})"
		done
	done
	# shellcheck disable=SC2086
	{
		rk1=$(median ${P50[restkit-page1]}) rkd=$(median ${P50[restkit-deep]})
		bl1=$(median ${P50[baseline-page1]}) bld=$(median ${P50[baseline-deep]})
		rkr=$(median ${RPS[restkit-deep]}) blr=$(median ${RPS[baseline-deep]})
		rk1r=$(median ${RPS[restkit-page1]}) bl1r=$(median ${RPS[baseline-page1]})
	}
	depth=$(awk -v a="$rkd" -v b="$rk1" 'BEGIN {printf "%.2f", a / b}')
	vsbase=$(awk -v a="$rkr" -v b="$blr" 'BEGIN {printf "%.2f", a / b}')
	printf '\nrestkit deep p50 / restkit page-1 p50   = %6sx   target <= 1.5: %s\n' "$depth" \
		"$(awk -v x="$depth" 'BEGIN {print (x <= 1.5) ? "ok" : "MISSED"}')"
	printf 'restkit deep r/s / baseline deep r/s    = %6sx   target >= 0.8: %s\n' "$vsbase" \
		"$(awk -v x="$vsbase" 'BEGIN {print (x >= 0.8) ? "ok" : "MISSED"}')"
	printf 'baseline deep p50 / baseline page-1 p50 = %6sx   (the same SQL without restkit)\n' \
		"$(awk -v a="$bld" -v b="$bl1" 'BEGIN {printf "%.2f", a / b}')"
	printf 'restkit page-1 r/s / baseline page-1 r/s = %5sx\n' "$(awk -v a="$rk1r" -v b="$bl1r" 'BEGIN {printf "%.2f", a / b}')"
	for k in "${!NON2XX[@]}"; do
		[ "${NON2XX[$k]}" = 0 ] || printf 'WARNING: %s had %s non-2xx responses\n' "$k" "${NON2XX[$k]}"
	done
	printf '\np50 and p99 are under load (%s connections), so p50 is about connections / throughput.\n' "$CONNECTIONS"
	printf 'Raw wrk output: %s/wrk-paging-*.txt\n' "$OUT"
	printf '\n---- the SQL alone ----\n'
	cat "$WORK/sql.txt"
	printf '\n---- sqlite3 CLI ----\n'
	cat "$WORK/cli.txt"
} | tee "$OUT/paging.txt"
