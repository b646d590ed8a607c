# Shared by the bench scripts (source it after `set -euo pipefail`): logging, the
# processes a script starts (stopped when it exits), and waiting for a server's /healthz.

log() { printf '== %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# Processes this script started, stopped on exit; then the commands in ON_EXIT run, in
# order (to drop what the script made elsewhere, a database schema say).
PIDS=()
ON_EXIT=()
cleanup() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	for cmd in "${ON_EXIT[@]}"; do
		eval "$cmd" || true
	done
}
trap cleanup EXIT

wait_healthy() { # url pid [tries of 0.1 s, default 100]
	for _ in $(seq "${3:-100}"); do
		kill -0 "$2" 2>/dev/null || die "the server for $1 exited; see the logs in $WORK"
		curl -fsS -o /dev/null "$1/healthz" 2>/dev/null && return 0
		sleep 0.1
	done
	die "$1 did not become healthy"
}
