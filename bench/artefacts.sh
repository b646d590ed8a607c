#!/usr/bin/env bash
# bench/artefacts.sh — upload and download of one big file (1 GiB) through restkit's
# artefact repository on loopback, against references measured in the same run:
#
#   download: curl GET from restkit  vs  curl GET of the same file from nginx (sendfile)
#   upload:   curl PUT to restkit    vs  sha256sum of the file (what hashing alone costs)
#
# and restkit's peak RSS (VmHWM) in each phase. See bench/README.md, "Artefact transfers".
#
#   bash bench/artefacts.sh
#
# Environment (defaults in brackets): SIZE [1GiB] (any `head -c` size), ROUNDS [3]
# (medians), CACHE [auto]: warm (every file read once, untimed, so all runs read from the
# page cache), cold (page cache dropped before every timed run: needs root and a writable
# /proc/sys/vm/drop_caches), both, or auto (both when the cache can be dropped, else
# warm); OUT [bench/out].
set -euo pipefail

cd "$(dirname "$0")/.."
SIZE=${SIZE:-1GiB}
ROUNDS=${ROUNDS:-3}
CACHE=${CACHE:-auto}
OUT=${OUT:-bench/out}
WORK=$OUT/artefacts
RSS_LIMIT_MIB=64

. "$(dirname "$0")/lib.sh"

# Tools: nginx and curl from Debian's packages when missing.
missing=()
command -v curl >/dev/null || missing+=(curl)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	SUDO=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || die "missing ${missing[*]}: install with apt-get install ${missing[*]}"
		SUDO=sudo
	fi
	$SUDO apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# Can the page cache be dropped?
can_drop() { sync && { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; }
case $CACHE in
auto) if can_drop; then CACHE=both; else CACHE=warm; fi ;;
cold | both) can_drop || die "CACHE=$CACHE: cannot write /proc/sys/vm/drop_caches (not root, or read-only /proc); use CACHE=warm" ;;
warm) ;;
*) die "CACHE must be warm, cold, both or auto, not $CACHE" ;;
esac
if [ "$CACHE" = both ]; then MODES=(warm cold); else MODES=("$CACHE"); fi

LOAD_START=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
if awk -v l="$LOAD_START" -v n="$(nproc)" 'BEGIN {exit !(l + 0 > n / 2)}'; then
	log "WARNING: load average $LOAD_START on $(nproc) CPUs: other work shares the CPUs, expect noise"
fi

# The work directory: the file is kept between runs when its size is right (making it
# is not timed, but takes a few seconds); restkit's data and nginx's files are not.
mkdir -p "$WORK/www"
rm -rf "$WORK/restkit-data" "$WORK/nginx" "$WORK"/*.log "$WORK"/*.json
mkdir -p "$WORK/nginx/tmp"
FILE=$WORK/www/big.bin
want=$(head -c "$SIZE" /dev/zero | wc -c) || die "SIZE=$SIZE is not a size head -c understands"
if [ "$(stat -c %s "$FILE" 2>/dev/null || echo 0)" != "$want" ]; then
	log "making a $SIZE file of random bytes"
	head -c "$SIZE" /dev/urandom >"$FILE.tmp"
	mv "$FILE.tmp" "$FILE"
fi
BYTES=$(stat -c %s "$FILE")
[ "$BYTES" -gt 0 ] || die "SIZE=$SIZE gives an empty file"

log "building restkit"
CGO_ENABLED=0 go build -o "$WORK/restkit" ./cmd/restkit
go build -o "$WORK/seed" ./bench/seed # for -freeport

# nginx: one process (no master, no daemon), its own prefix, config, pid, logs and
# temp paths under $WORK/nginx, serving $WORK/www with sendfile and tcp_nopush (as in
# Debian's stock nginx.conf).
NG_PORT=$("$WORK/seed" -freeport)
NGX=$(realpath "$WORK/nginx")
cat >"$NGX/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 64; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	default_type application/octet-stream;
	client_body_temp_path $NGX/tmp/body;
	proxy_temp_path $NGX/tmp/proxy;
	fastcgi_temp_path $NGX/tmp/fastcgi;
	uwsgi_temp_path $NGX/tmp/uwsgi;
	scgi_temp_path $NGX/tmp/scgi;
	server {
		listen 127.0.0.1:$NG_PORT;
		root $(realpath "$WORK/www");
	}
}
EOF
"$NGINX" -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log" &
NG_PID=$!
PIDS+=("$NG_PID")
NG=http://127.0.0.1:$NG_PORT
for _ in $(seq 100); do
	kill -0 "$NG_PID" 2>/dev/null || die "nginx exited; see $NGX/error.log"
	curl -fsS -o /dev/null -r 0-0 "$NG/big.bin" 2>/dev/null && break
	sleep 0.1
done
curl -fsS -o /dev/null -r 0-0 "$NG/big.bin" || die "nginx does not serve big.bin; see $NGX/error.log"

RK_PORT=$("$WORK/seed" -freeport)
RK=http://127.0.0.1:$RK_PORT
start_restkit() { # sets RK_PID
	"$WORK/restkit" serve --addr "127.0.0.1:$RK_PORT" --data "$WORK/restkit-data" 2>>"$WORK/restkit.log" &
	RK_PID=$!
	PIDS+=("$RK_PID")
	wait_healthy "$RK" "$RK_PID"
}
stop_restkit() {
	kill -TERM "$RK_PID"
	wait "$RK_PID" || die "restkit exited with an error; see $WORK/restkit.log"
}
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK_S=$(awk -v t="$(getconf CLK_TCK)" 'BEGIN {print 1 / t}')

# prepare MODE: before a timed run, drop the page cache (cold) or do nothing (warm,
# where every file was read once beforehand).
prepare() { if [ "$1" = cold ]; then can_drop || die "dropping the page cache failed"; fi; }
# timed CMD...: runs it (in this shell), sets T to the wall seconds.
timed() {
	local t0=$EPOCHREALTIME t1
	"$@"
	t1=$EPOCHREALTIME
	T=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}')
}
rate() { awk -v n="$BYTES" -v s="$1" 'BEGIN {printf "%.0f", n / s / 1e6}'; } # seconds -> MB/s
median() {
	printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

log "hashing the file once (untimed)"
SUM=$(sha256sum "$FILE" | cut -d' ' -f1)

run_sha256sum() { [ "$(sha256sum "$FILE" | cut -d' ' -f1)" = "$SUM" ] || die "sha256sum changed its mind"; }
run_openssl() { openssl dgst -sha256 -r "$FILE" >/dev/null; }
UP_ID=0
run_upload() {
	UP_ID=$((UP_ID + 1))
	local code
	code=$(curl -sS -o "$WORK/put.json" -w '%{http_code}' -T "$FILE" "$RK/artefacts/bench/big-$UP_ID.bin")
	[ "$code" = 201 ] || [ "$code" = 200 ] || die "upload: HTTP $code: $(head -c 300 "$WORK/put.json")"
	grep -q "\"sha256\":\"$SUM\"" "$WORK/put.json" || die "upload: restkit stored another digest: $(head -c 300 "$WORK/put.json")"
}
run_download() { # url
	local got
	got=$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' "$1")
	[ "$got" = "200 $BYTES" ] || die "download of $1: got '$got', want '200 $BYTES'"
}

declare -A SECS CPU
sample() { # key pid-or-"" cmd...: one timed run; appends seconds (and the pid's CPU seconds)
	local key=$1 pid=$2 c0 c1 s
	shift 2
	[ -z "$pid" ] || c0=$(cpu_ticks "$pid")
	timed "$@"
	s=$T
	SECS[$key]+=" $s"
	if [ -n "$pid" ]; then
		c1=$(cpu_ticks "$pid")
		CPU[$key]+=" $(awk -v t=$((c1 - c0)) -v k="$TICK_S" 'BEGIN {printf "%.2f", t * k}')"
	fi
	log "  $key: $(rate "$s") MB/s (${s}s)"
}

# Each round runs every cache mode in turn, and the order of restkit and its reference
# alternates from one pair to the next, so a burst of other work on the machine does not
# land on one side or one mode only.
pair_order() { # a b: sets ORDER to "a b" or "b a", alternating from call to call
	if ((PAIR % 2 == 0)); then ORDER="$1 $2"; else ORDER="$2 $1"; fi
	PAIR=$((PAIR + 1))
}
PAIR=0

# 1. Uploads, on a fresh restkit, so its VmHWM is the upload phase's alone.
log "upload phase: $ROUNDS round(s) of (${MODES[*]}), $BYTES bytes"
start_restkit
HWM_IDLE=$(hwm_kib "$RK_PID")
for round in $(seq "$ROUNDS"); do
	for mode in "${MODES[@]}"; do
		[ "$mode" = cold ] || cat "$FILE" >/dev/null # (re)warm after a cold run's drop
		pair_order sha256sum upload
		for op in $ORDER; do
			prepare "$mode"
			if [ "$op" = upload ]; then
				sample "upload-$mode" "$RK_PID" run_upload
			else
				sample "sha256sum-$mode" "" run_sha256sum
			fi
		done
		if [ "$mode" = warm ] && command -v openssl >/dev/null; then
			sample "openssl-$mode" "" run_openssl
		fi
	done
done
HWM_UP=$(hwm_kib "$RK_PID")
stop_restkit

# 2. Downloads of the stored artefact, on a restarted restkit (same data).
log "download phase: $ROUNDS round(s) of (${MODES[*]}), restkit and nginx alternating"
start_restkit
DL=$RK/artefacts/bench/big-1.bin
# Once, untimed: check that restkit's bytes are the file's.
[ "$(curl -fsS "$DL" | sha256sum | cut -d' ' -f1)" = "$SUM" ] || die "restkit's download differs from the file"
for round in $(seq "$ROUNDS"); do
	for mode in "${MODES[@]}"; do
		if [ "$mode" = warm ]; then # read both through their server, untimed
			run_download "$DL"
			run_download "$NG/big.bin"
		fi
		pair_order restkit nginx
		for server in $ORDER; do
			prepare "$mode"
			if [ "$server" = restkit ]; then
				sample "download-restkit-$mode" "$RK_PID" run_download "$DL"
			else
				sample "download-nginx-$mode" "$NG_PID" run_download "$NG/big.bin"
			fi
		done
	done
done
HWM_DL=$(hwm_kib "$RK_PID")
stop_restkit

# 3. The table.
med_rate() { # key -> MB/s of the median time
	# shellcheck disable=SC2086 # the per-round lists are meant to split
	rate "$(median ${SECS[$1]})"
}
med_cpu() { # key -> CPU seconds per GiB of the server, or - when not measured
	[ -n "${CPU[$1]:-}" ] || { echo -; return; }
	# shellcheck disable=SC2086
	awk -v c="$(median ${CPU[$1]})" -v n="$BYTES" 'BEGIN {printf "%.2f", c * 1073741824 / n}'
}
row() { # label restkit-key ref-key target
	local r f ratio ok
	r=$(med_rate "$2") f=$(med_rate "$3")
	ratio=$(awk -v r="$r" -v f="$f" 'BEGIN {printf "%.2f", r / f}')
	if [ "$4" = - ]; then ok=-; else ok=$(awk -v x="$ratio" -v t="$4" 'BEGIN {print (x >= t) ? "ok" : "BELOW"}'); fi
	printf '%-36s %12s %14s %6sx %7s %6s %11s %9s\n' "$1" "$r" "$f" "$ratio" "$4" "$ok" "$(med_cpu "$2")" "$(med_cpu "$3")"
}
rss_row() { # label kib
	local mib ok
	mib=$(awk -v k="$2" 'BEGIN {printf "%.1f", k / 1024}')
	ok=$(awk -v m="$mib" -v l="$RSS_LIMIT_MIB" 'BEGIN {print (m <= l) ? "ok" : "ABOVE"}')
	printf '%-36s %8s MiB   (limit %d MiB) %s\n' "$1" "$mib" "$RSS_LIMIT_MIB" "$ok"
}
{
	printf 'restkit artefact transfers — %s, commit %s%s, %s, %d CPUs, nginx %s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" \
		"$(git rev-parse --short HEAD)" "$(git diff --quiet HEAD -- . 2>/dev/null || echo '+dirty')" \
		"$(go env GOVERSION)" "$(nproc)" "$("$NGINX" -v 2>&1 | sed 's|.*nginx/||')"
	printf 'one %d-byte file over loopback with curl, %s round(s) per row, medians; page cache: %s\n' "$BYTES" "$ROUNDS" "${MODES[*]}"
	printf 'load average: %s at the start, %s at the end\n\n' "$LOAD_START" "$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
	printf '%-36s %12s %14s %7s %7s %6s %21s\n' operation 'restkit MB/s' 'reference MB/s' ratio target '' 'server CPU s/GiB:'
	printf '%-36s %12s %14s %7s %7s %6s %11s %9s\n' '' '' '' '' '' '' restkit reference
	for mode in "${MODES[@]}"; do
		row "download ($mode) vs nginx" "download-restkit-$mode" "download-nginx-$mode" 0.9
	done
	for mode in "${MODES[@]}"; do
		row "upload ($mode) vs sha256sum" "upload-$mode" "sha256sum-$mode" 0.7
	done
	if [ -n "${SECS[openssl-warm]:-}" ]; then
		row "upload (warm) vs openssl dgst -sha256" upload-warm openssl-warm -
	fi
	echo
	rss_row "restkit peak RSS, idle after start" "$HWM_IDLE"
	rss_row "restkit peak RSS, upload phase" "$HWM_UP"
	rss_row "restkit peak RSS, download phase" "$HWM_DL"
	printf '\nMB/s = 10^6 bytes/s of the median wall time (curl start to end; an upload ends after restkit has\n'
	printf 'hashed, fsynced and recorded the file). warm: every file read once beforehand; cold: page cache\n'
	printf 'dropped before each timed run. server CPU: user+system time of the restkit or nginx process\n'
	printf 'during the run, per GiB (sha256sum is not a server). Peak RSS is VmHWM; restkit restarts\n'
	printf 'between the upload and the download phase.\n'
	printf 'targets: download >= 0.9x nginx, upload >= 0.7x sha256sum, peak RSS <= %d MiB.\n' "$RSS_LIMIT_MIB"
	printf 'per-run times (s):\n'
	for k in $(printf '%s\n' "${!SECS[@]}" | sort); do
		printf '  %-26s%s\n' "$k" "${SECS[$k]}"
	done
} | tee "$OUT/artefacts.txt"
