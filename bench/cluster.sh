#!/usr/bin/env bash
# bench/cluster.sh — restkit on PostgreSQL, one node and two nodes, against a plain
# net/http + pgx baseline (bench/pgbaseline), under wrk, on loopback, in one run.
# See "Scale-out on PostgreSQL" in bench/README.md.
#
#   bash bench/cluster.sh
#   ROUNDS=1 DURATION=5s bash bench/cluster.sh
#
# Environment (defaults in brackets): POSTGRES [$RESTKIT_TEST_POSTGRES, else
# postgres://postgres@127.0.0.1:5432/test?sslmode=disable] (the script makes two schemas
# there and drops them at exit), DURATION [10s, at least 3s] and WARMUP [2s] per run, CONNECTIONS [32]
# and THREADS [2] for wrk (two nodes: two wrk processes at once, each with half of
# both, one per node), ROUNDS [1] (medians), CARS [10000] seeded, MAX_CONNS [0: the
# default, max(4, CPUs)] of each server's PostgreSQL pool, OUT [bench/out].
set -euo pipefail

cd "$(dirname "$0")/.."
POSTGRES=${POSTGRES:-${RESTKIT_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-1}
CARS=${CARS:-10000}
MAX_CONNS=${MAX_CONNS:-0}
OUT=${OUT:-bench/out}
WORK=$OUT/cluster

. "$(dirname "$0")/lib.sh"
# A signal ends the script through exit, so the EXIT trap (lib.sh) stops the servers
# and drops the schemas.
trap 'exit 130' INT
trap 'exit 143' TERM

((THREADS >= 2 && THREADS % 2 == 0)) || die "THREADS must be even (two nodes get half each), not $THREADS"
((CONNECTIONS >= 2 && CONNECTIONS % 2 == 0)) || die "CONNECTIONS must be even, not $CONNECTIONS"
((CARS >= 4326)) || die "CARS must be at least 4326 (cars 4321 and 4326 are compared)"
command -v psql >/dev/null || die "psql is missing (apt-get install postgresql-client)"

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

rm -rf "$WORK"
mkdir -p "$WORK/data-a" "$WORK/data-b"

log "building"
go build -o "$WORK/restkit" ./cmd/restkit
go build -o "$WORK/pgbaseline" ./bench/pgbaseline
go build -o "$WORK/seed" ./bench/seed

# Two fresh schemas: restkit's (both nodes) and the baseline's (a copy of restkit's
# table after seeding, so each server writes to its own table).
psql_() { psql "$POSTGRES" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_ -c 'SELECT 1' >/dev/null || die "PostgreSQL does not answer at POSTGRES"
TAG=$$_$(date +%s)
RK_SCHEMA=bench_cluster_${TAG}
BL_SCHEMA=bench_cluster_${TAG}_base
ON_EXIT+=("psql_ -c 'DROP SCHEMA IF EXISTS $RK_SCHEMA CASCADE' -c 'DROP SCHEMA IF EXISTS $BL_SCHEMA CASCADE' 2>/dev/null && log 'dropped the schemas $RK_SCHEMA and $BL_SCHEMA'")
psql_ -c "CREATE SCHEMA $RK_SCHEMA" -c "CREATE SCHEMA $BL_SCHEMA"

url_with() { # schema application_name -> POSTGRES with search_path and application_name
	local sep='?'
	case $POSTGRES in *\?*) sep='&' ;; esac
	printf '%s%ssearch_path=%s&application_name=%s' "$POSTGRES" "$sep" "$1" "$2"
}
# Each server's connections carry their own application_name (for pg_stat_activity).
APP_A=bench-cluster-a-$$ APP_B=bench-cluster-b-$$ APP_BL=bench-cluster-base-$$

start_restkit() { # port datadir app log; sets PID
	local extra=()
	((MAX_CONNS == 0)) || extra+=(--postgres-max-conns "$MAX_CONNS")
	"$WORK/restkit" serve --addr "127.0.0.1:$1" --data "$2" --postgres "$(url_with "$RK_SCHEMA" "$3")" "${extra[@]}" 2>>"$4" &
	PID=$!
	PIDS+=("$PID")
	wait_healthy "http://127.0.0.1:$1" "$PID" 300
}

# 1. Node A migrates the schema; the cars go in through its POST; node B joins.
A_PORT=$("$WORK/seed" -freeport)
start_restkit "$A_PORT" "$WORK/data-a" "$APP_A" "$WORK/restkit-a.log"
A_PID=$PID A="http://127.0.0.1:$A_PORT"
log "seeding $CARS cars through restkit's POST"
"$WORK/seed" -url "$A" -n "$CARS"
B_PORT=$("$WORK/seed" -freeport)
start_restkit "$B_PORT" "$WORK/data-b" "$APP_B" "$WORK/restkit-b.log"
B_PID=$PID B="http://127.0.0.1:$B_PORT"

# 2. The baseline's table: restkit's, copied with its columns, collations and indexes.
psql_ -c "CREATE TABLE $BL_SCHEMA.cars (LIKE $RK_SCHEMA.cars INCLUDING ALL)" \
	-c "INSERT INTO $BL_SCHEMA.cars SELECT * FROM $RK_SCHEMA.cars" \
	-c "VACUUM ANALYZE $RK_SCHEMA.cars" -c "VACUUM ANALYZE $RK_SCHEMA.cars__history" -c "VACUUM ANALYZE $BL_SCHEMA.cars"
BL_PORT=$("$WORK/seed" -freeport)
bl_extra=()
((MAX_CONNS == 0)) || bl_extra+=(--max-conns "$MAX_CONNS")
"$WORK/pgbaseline" --addr "127.0.0.1:$BL_PORT" --postgres "$(url_with "$BL_SCHEMA" "$APP_BL")" "${bl_extra[@]}" 2>>"$WORK/pgbaseline.log" &
PID=$!
PIDS+=("$PID")
BL_PID=$PID BL="http://127.0.0.1:$BL_PORT"
wait_healthy "$BL" "$PID"

# All three must answer the same bytes and ETags, or the comparison means nothing.
body() { curl -fsS "$1" || die "GET $1 failed"; }
etag() { curl -fsS -D - -o /dev/null "$1" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p'; }
for id in 4321 4326; do # 4326 has no year
	ref=$(body "$BL/cars/$id") ref_tag=$(etag "$BL/cars/$id")
	for node in "$A" "$B"; do
		got=$(body "$node/cars/$id")
		[ "$got" = "$ref" ] || die "GET /cars/$id: restkit ($node) and the baseline differ:
restkit:  $got
baseline: $ref"
		[ "$(etag "$node/cars/$id")" = "$ref_tag" ] || die "the ETags of /cars/$id differ between $node and the baseline"
	done
done

# 3. Load.
to_ms() { # wrk duration (123.45us, 1.23ms, 1.02s, 2.00m) -> milliseconds
	awk -v d="$1" 'BEGIN {
		n = d + 0; u = d; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
		printf "%.2f", n }'
}
TICK_US=$((1000000 / $(getconf CLK_TCK)))
cpu_ticks() { # pids... -> "pid ticks" lines: each one's user + system CPU time so far, in clock ticks
	local pid
	for pid in "$@"; do
		awk -v p="$pid" '{print p, $14 + $15}' "/proc/$pid/stat" 2>/dev/null || true
	done
}
cpu_delta() { # before after (cpu_ticks outputs) -> the ticks spent in between, summed over the pids
	# (one only in after started in between: all its time counts)
	awk 'NR == FNR {b[$1] = $2; next} {t += $2 - (($1 in b) ? b[$1] : 0)} END {print t + 0}' "$1" "$2"
}
# The PostgreSQL port (the backends are found by the TCP connections the servers hold to it).
PGPORT=$(printf '%s' "$POSTGRES" | sed -nE 's#^postgres(ql)?://([^@/]*@)?(\[[^]]*\]|[^:/?]*)(:([0-9]+))?.*#\5#p')
PGPORT=${PGPORT:-5432}
backends() { # server pids... -> the pids of the PostgreSQL backends serving their connections
	# From the socket table, not from pg_stat_activity: a query needs a new connection,
	# which a loaded PostgreSQL can take seconds to open.
	ss -Htnp state established "( sport = :$PGPORT or dport = :$PGPORT )" 2>/dev/null | awk -v port="$PGPORT" -v want=" $* " '
		function portof(a) { sub(/.*:/, "", a); return a }
		function pidof(u) { if (match(u, /pid=[0-9]+/)) return substr(u, RSTART + 4, RLENGTH - 4); return "" }
		portof($3) == port {backend[portof($4)] = pidof($5); next}
		portof($4) == port {client[portof($3)] = pidof($5)}
		END {for (p in backend) if ((p in client) && index(want, " " client[p] " ")) print backend[p]}'
}
seconds() { # a wrk duration (10, 10s, 2m, 1h) -> seconds
	awk -v d="$1" 'BEGIN {n = d + 0; u = d; sub(/^[0-9.]+/, "", u); print n * (u == "m" ? 60 : u == "h" ? 3600 : 1)}'
}
DURATION_S=$(seconds "$DURATION")
awk -v d="$DURATION_S" 'BEGIN {exit !(d >= 3)}' || die "DURATION must be at least 3s, not $DURATION"

# measure: one warm-up and one measured run of wrk against one or two servers at once
# (one wrk process per server, each with THREADS/servers threads and
# CONNECTIONS/servers connections). Prints
# "req/s p50_ms p99_ms non2xx server_cpu_us/req postgres_cpu_us/req created lost": req/s
# summed over the wrk processes, p50 and p99 the worse of them; the CPU times summed
# over the server processes and over their PostgreSQL backends; created counts the 2xx
# responses of both runs (POSTs: the rows made), lost the backends that ended inside the
# CPU window (see below).
#
# The CPU time is taken over a window inside the measured run, from 1 s after its start
# to 0.5 s before its end, and divided by the requests wrk's rate puts in that window:
# when wrk stops, the requests it leaves in flight are cancelled, pgx closes the
# PostgreSQL connections that were serving them (their backends exit, and /proc loses
# their CPU time), and the pools open new ones in the next run.
# Raw output: $WORK/wrk-<name>-<config>-r<round>-<i>[-warmup].txt.
measure() { # name config "pid app url arg"... ; the scenario's script is $script, arg its argument
	local name=$1 config=$2
	shift 2
	local n=$# targets=("$@") t pid app url arg
	local opts=(-t$((THREADS / n)) -c$((CONNECTIONS / n)) -s "$script")
	local wpids=() spids=() i=0
	for t in "${targets[@]}"; do
		read -r pid app url arg <<<"$t"
		spids+=("$pid")
		i=$((i + 1))
		wrk "${opts[@]}" -d"$WARMUP" "$url" 0 "$arg" >"$WORK/wrk-$name-$config-r$round-$i-warmup.txt" &
		wpids+=($!)
	done
	wait "${wpids[@]}"
	i=0 wpids=()
	for t in "${targets[@]}"; do
		read -r pid app url arg <<<"$t"
		i=$((i + 1))
		wrk "${opts[@]}" -d"$DURATION" --latency "$url" 100000000 "$arg" >"$WORK/wrk-$name-$config-r$round-$i.txt" &
		wpids+=($!)
	done
	local snap=$WORK/cpu-$name-$config-r$round start t0 t1 late
	start=$(date +%s.%N)
	sleep 1
	t0=$(date +%s.%N)
	# shellcheck disable=SC2046 # pids are words
	cpu_ticks $(backends "${spids[@]}") >"$snap-postgres-0" && cpu_ticks "${spids[@]}" >"$snap-server-0"
	t0=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.6f", (a + b) / 2}')
	sleep "$(awk -v d="$DURATION_S" -v s="$start" -v t="$t0" 'BEGIN {x = s + d - 0.5 - t; print (x > 0) ? x : 0}')"
	t1=$(date +%s.%N)
	# shellcheck disable=SC2046
	cpu_ticks "${spids[@]}" >"$snap-server-1" && cpu_ticks $(backends "${spids[@]}") >"$snap-postgres-1"
	local t2
	t2=$(date +%s.%N)
	t1=$(awk -v a="$t1" -v b="$t2" 'BEGIN {printf "%.6f", (a + b) / 2}')
	# A machine too busy to take both snapshots well inside the run gets no CPU figures.
	late=$(awk -v d="$DURATION_S" -v s="$start" -v a="$t0" -v b="$t2" 'BEGIN {print (b > s + d - 0.1 || b - a < 1) ? 1 : 0}')
	wait "${wpids[@]}"
	local raw rps=0 p50=0 p99=0 non2xx=0 ok=0 v
	for raw in "$WORK/wrk-$name-$config-r$round-"*-warmup.txt; do
		ok=$((ok + $(awk '/requests in/ {r = $1} /Non-2xx or 3xx responses:/ {x = $NF} END {print r - x}' "$raw")))
	done
	for i in $(seq "$n"); do
		raw=$WORK/wrk-$name-$config-r$round-$i.txt
		ok=$((ok + $(awk '/requests in/ {r = $1} /Non-2xx or 3xx responses:/ {x = $NF} END {print r - x}' "$raw")))
		v=$(awk '/^Requests\/sec:/ {print $2}' "$raw")
		[ -n "$v" ] || die "could not read wrk's output: $raw"
		rps=$(awk -v a="$rps" -v b="$v" 'BEGIN {print a + b}')
		v=$(to_ms "$(awk '$1 == "50%" {print $2}' "$raw")")
		p50=$(awk -v a="$p50" -v b="$v" 'BEGIN {print (b > a) ? b : a}')
		v=$(to_ms "$(awk '$1 == "99%" {print $2}' "$raw")")
		p99=$(awk -v a="$p99" -v b="$v" 'BEGIN {print (b > a) ? b : a}')
		v=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$raw")
		[ -z "$v" ] || log "WARNING: $name on $config: $v non-2xx responses (see $raw)"
		non2xx=$((non2xx + ${v:-0}))
		v=$(awk '/Socket errors:/ {print}' "$raw")
		[ -z "$v" ] || log "WARNING: $name on $config: $v (see $raw)"
	done
	local s p lost
	s=$(cpu_delta "$snap-server-0" "$snap-server-1") p=$(cpu_delta "$snap-postgres-0" "$snap-postgres-1")
	if [ ! -s "$snap-postgres-0" ] && [ ! -s "$snap-postgres-1" ]; then
		log "WARNING: $name on $config: no PostgreSQL backends found in ss's socket table (is PostgreSQL on another machine?)"
		p=nan
	fi
	if [ "$late" = 1 ]; then
		log "WARNING: $name on $config: the CPU snapshots were late (a busy machine): no CPU figures"
		s=nan p=nan
	fi
	# Backends that ended inside the window (their connection closed after a cancelled
	# request, a wrk timeout) took their CPU time with them: the figure is then too low.
	lost=$(awk 'NR == FNR {a[$1] = 1; next} !($1 in a) {n++} END {print n + 0}' "$snap-postgres-1" "$snap-postgres-0")
	awk -v r="$rps" -v a="$p50" -v b="$p99" -v x="$non2xx" -v s="$s" -v p="$p" -v us="$TICK_US" -v w="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" -v ok="$ok" -v lost="$lost" \
		'BEGIN {n = r * w; f = "%.1f"
		c = ((s == "nan") ? "nan" : sprintf(f, s * us / n)) " " ((p == "nan") ? "nan" : sprintf(f, p * us / n))
		printf "%.0f %.2f %.2f %d %s %d %d\n", r, a, b, x, c, ok, lost}'
}

median() { # numbers... -> their median (nan: no number)
	printf '%s\n' "$@" | awk '$1 != "nan"' | sort -g | awk '{a[NR] = $1} END {
		if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

CONFIGS=(baseline node1 node2)
declare -A RPS P50 P99 SCPU PCPU NON2XX CREATED LOST
i=0
for round in $(seq "$ROUNDS"); do
	for scenario in get post; do
		# The scripts' argument (after the phase, see run.sh): get.lua's is the number of
		# cars; post.lua's a "round", which picks a range of ids of its own. The baseline
		# writes to its own table; restkit's one-node run takes round r, the two nodes
		# ROUNDS+2r-1 and ROUNDS+2r: no id is posted twice.
		case $scenario in
		get) script=bench/lua/get.lua ;;
		post) script=bench/lua/post.lua ;;
		esac
		arg() { if [ "$scenario" = get ]; then echo "$CARS"; else echo "$1"; fi; }
		# Rotate who goes first, so no configuration always meets a cooler or warmer machine.
		for k in 0 1 2; do
			config=${CONFIGS[$(((i + k) % 3))]}
			log "round $round/$ROUNDS, $scenario: $config ($WARMUP warm-up, $DURATION measured, $CONNECTIONS connections)"
			case $config in
			baseline) out=$(measure "$scenario" "$config" "$BL_PID $APP_BL $BL/cars $(arg "$round")") ;;
			node1) out=$(measure "$scenario" "$config" "$A_PID $APP_A $A/cars $(arg "$round")") ;;
			node2) out=$(measure "$scenario" "$config" "$A_PID $APP_A $A/cars $(arg $((ROUNDS + 2 * round - 1)))" \
				"$B_PID $APP_B $B/cars $(arg $((ROUNDS + 2 * round)))") ;;
			esac
			read -r rps p50 p99 non2xx scpu pcpu ok lost <<<"$out"
			LOST[$scenario-$config]=$((${LOST[$scenario-$config]:-0} + lost))
			[ "$scenario" = get ] || CREATED[$config]=$((${CREATED[$config]:-0} + ok))
			key=$scenario-$config
			RPS[$key]+=" $rps" P50[$key]+=" $p50" P99[$key]+=" $p99" SCPU[$key]+=" $scpu" PCPU[$key]+=" $pcpu"
			NON2XX[$key]=$((${NON2XX[$key]:-0} + non2xx))
		done
		i=$((i + 1))
	done
done
# Every 201 is a row: a cheap check that nothing was lost. A few more rows than 201s are
# requests still in flight when wrk stopped (at most CONNECTIONS per run).
rk_rows=$(($(psql_ -At -c "SELECT count(*) FROM $RK_SCHEMA.cars") - CARS))
bl_rows=$(($(psql_ -At -c "SELECT count(*) FROM $BL_SCHEMA.cars") - CARS))
rk_201=$((CREATED[node1] + CREATED[node2])) bl_201=${CREATED[baseline]}
((rk_rows >= rk_201 && bl_rows >= bl_201)) || log "WARNING: fewer rows than 201 responses: restkit $rk_rows < $rk_201 or baseline $bl_rows < $bl_201"

# 4. The table.
{
	printf 'restkit on PostgreSQL, 1 and 2 nodes, vs a net/http + pgx baseline — %s, commit %s%s, %s, %d CPUs\n' \
		"$(date -u +%Y-%m-%dT%H:%MZ)" "$(git rev-parse --short HEAD)" "$(git diff --quiet HEAD -- . 2>/dev/null || echo '+dirty')" \
		"$(go env GOVERSION)" "$(nproc)"
	printf '%s; pool of %s connections per server\n' "$(psql_ -At -c 'SELECT version()' | cut -d, -f1)" \
		"$( ((MAX_CONNS > 0)) && echo "$MAX_CONNS" || echo "max(4, CPUs)")"
	printf 'wrk -t%s -c%s -d%s (after %s warm-up); 2 nodes: two wrk -t%s -c%s at once, one per node; %s round(s), medians; %s cars\n' \
		"$THREADS" "$CONNECTIONS" "$DURATION" "$WARMUP" $((THREADS / 2)) $((CONNECTIONS / 2)) "$ROUNDS" "$CARS"
	printf 'load average: %s at the start, %s at the end\n\n' "$LOAD_START" "$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
	printf '%-10s %-16s %9s %9s %9s %11s %12s   %s\n' scenario server 'r/s' 'p50 ms' 'p99 ms' 'vs pgx' 'vs 1 node' 'CPU µs/req: server  postgres  sum'
	for scenario in get post; do
		# shellcheck disable=SC2086 # word splitting of the per-round lists is meant
		bl=$(median ${RPS[$scenario-baseline]}) one=$(median ${RPS[$scenario-node1]})
		for config in "${CONFIGS[@]}"; do
			key=$scenario-$config
			# shellcheck disable=SC2086
			rps=$(median ${RPS[$key]}) p50=$(median ${P50[$key]}) p99=$(median ${P99[$key]})
			# shellcheck disable=SC2086
			scpu=$(median ${SCPU[$key]}) pcpu=$(median ${PCPU[$key]})
			case $config in
			baseline) label="pgx baseline" vs_bl="" vs_one="" ;;
			node1) label="restkit 1 node" vs_bl=$(awk -v a="$rps" -v b="$bl" 'BEGIN {printf "%.2fx", a / b}') vs_one="" ;;
			node2) label="restkit 2 nodes" vs_bl=$(awk -v a="$rps" -v b="$bl" 'BEGIN {printf "%.2fx", a / b}') \
				vs_one=$(awk -v a="$rps" -v b="$one" 'BEGIN {printf "%.2fx", a / b}') ;;
			esac
			case $scenario in get) s="GET by id" ;; post) s="POST" ;; esac
			mark=' '
			[ "${LOST[$key]}" = 0 ] || mark='*'
			printf '%-10s %-16s %9.0f %9.2f %9.2f %11s %12s   %18.1f %9.1f%s %5.1f%s\n' "$s" "$label" "$rps" "$p50" "$p99" \
				"$vs_bl" "$vs_one" "$scpu" "$pcpu" "$mark" "$(awk -v a="$scpu" -v b="$pcpu" 'BEGIN {print (a == "nan" || b == "nan") ? "nan" : a + b}')" "$mark"
		done
	done
	for k in "${!LOST[@]}"; do
		[ "${LOST[$k]}" = 0 ] || printf '* %s: %s PostgreSQL connection(s) closed inside the CPU window (cancelled requests: wrk timeouts), so its postgres CPU may be too low\n' \
			"$k" "${LOST[$k]}"
	done
	for k in "${!NON2XX[@]}"; do
		[ "${NON2XX[$k]}" = 0 ] || printf 'WARNING: %s had %s non-2xx responses\n' "$k" "${NON2XX[$k]}"
	done
	printf '\nPOSTs answered 201 (warm-ups included) and rows added: restkit %s and %s, baseline %s and %s\n' \
		"$rk_201" "$rk_rows" "$bl_201" "$bl_rows"
	printf 'vs pgx = restkit r/s / baseline r/s; vs 1 node = two nodes r/s / one node r/s. 2 nodes: r/s summed over both wrk\n'
	printf 'processes, p50/p99 the worse of the two. CPU µs/req: user+system time (/proc) of the server process(es) and of\n'
	printf 'their PostgreSQL backends in a window of the measured run, per request at wrk'"'"'s rate. Raw wrk output: %s/wrk-*.txt\n' "$WORK"
} | tee "$OUT/cluster.txt"
