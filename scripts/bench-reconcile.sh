#!/usr/bin/env bash
# Benchmark of issue #16: time and peak memory of `scim-gateway reconcile` against a portal-sim of
# USERS users (100,000 by default) and a Redis holding the gateway's entries for each of them (id
# mapping, userName and externalId lookups, create record: four keys a user). Starts its own
# redis-server and portal-sim on free ports, seeds them with tools/reconcileseed, and runs reconcile
# under /usr/bin/time -v twice:
#   1. clean: the store knows every user (exit 0, no finding);
#   2. drift: an empty key prefix, so every user without an externalKey (one in ten) is unmanaged
#      (exit 1, USERS/10 findings): the memory the findings themselves take.
# Prints a table of wall time, peak RSS and findings.
#
#   scripts/bench-reconcile.sh [--users N] [--bin-dir DIR]
#
# Needs redis-server, redis-cli, curl, ss, go and /usr/bin/time (GNU time).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

USERS=100000
BIN_DIR=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --users) USERS="$2"; shift 2 ;;
    --bin-dir) BIN_DIR="$2"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-reconcile.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) is needed for the peak memory"
for cmd in redis-server redis-cli curl ss go; do command -v "$cmd" >/dev/null || die "$cmd is needed"; done

WORK="$(mktemp -d /tmp/scimgw-bench-reconcile.XXXXXX)"
finish() { cleanup; log "logs kept in $WORK"; }
trap finish EXIT
trap 'exit 130' INT TERM

BIN_DIR="${BIN_DIR:-$WORK/bin}"
mkdir -p "$BIN_DIR"
log "building binaries into $BIN_DIR"
(cd "$REPO_ROOT" && go build -o "$BIN_DIR/scim-gateway" ./cmd/scim-gateway &&
  go build -o "$BIN_DIR/portal-sim" ./cmd/portal-sim &&
  go build -o "$BIN_DIR/reconcileseed" ./tools/reconcileseed) || die "go build failed"

TOKEN=bench-static-token
free_port REDIS_PORT
free_port PORTAL_PORT
start_redis redis "$REDIS_PORT" "$WORK/redis.log"
start_proc portal "$WORK/portal-sim.log" "$BIN_DIR/portal-sim" --listen "127.0.0.1:$PORTAL_PORT" --static-token "$TOKEN" --seed 1
wait_http "http://127.0.0.1:$PORTAL_PORT/_sim/stats" 30 "$PID_portal" "$WORK/portal-sim.log"

log "seeding $USERS users into portal-sim and their entries into Redis"
seed_start=$(date +%s.%N)
"$BIN_DIR/reconcileseed" --portal "http://127.0.0.1:$PORTAL_PORT/portal" --token "$TOKEN" \
  --redis "redis://127.0.0.1:$REDIS_PORT/0" --prefix "bench:" --users "$USERS" --concurrency 16 2>"$WORK/seed.log" ||
  die "seeding failed: $(tail -n 3 "$WORK/seed.log")"
log "seeded in $(echo "$(date +%s.%N) - $seed_start" | bc)s; Redis holds $(redis-cli -p "$REDIS_PORT" dbsize) keys"

# config PREFIX writes the reconcile configuration for a key prefix.
config() {
  cat >"$WORK/config-$1.yaml" <<YAML
server:
  tokens: [{name: bench, value: bench-scim-token-0123456789}]
store:
  redis:
    url: redis://127.0.0.1:$REDIS_PORT/0
    keyPrefix: "$1"
upstream:
  baseURL: http://127.0.0.1:$PORTAL_PORT/portal
  auth: {type: bearer, token: $TOKEN}
YAML
  echo "$WORK/config-$1.yaml"
}

ROWS=()
# measure NAME PREFIX WANT_EXIT runs reconcile once under GNU time and records a row.
measure() {
  local name="$1" prefix="$2" want="$3" code=0
  log "run $name"
  /usr/bin/time -v -o "$WORK/time-$name.txt" "$BIN_DIR/scim-gateway" reconcile --config "$(config "$prefix")" \
    --format json >"$WORK/report-$name.json" 2>"$WORK/stderr-$name.txt" || code=$?
  [[ "$code" == "$want" ]] || die "run $name exited $code, want $want: $(cat "$WORK/stderr-$name.txt")"
  local wall rss findings users
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$WORK/time-$name.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$WORK/time-$name.txt")
  findings=$(grep -o '"findings": [0-9]*' "$WORK/report-$name.json" | tail -n 1 | grep -o '[0-9]*$')
  users=$(grep -o '"portalUsers": [0-9]*' "$WORK/report-$name.json" | grep -o '[0-9]*$')
  ROWS+=("| $name | $users | $wall | $rss MiB | $findings | $code |")
}
measure clean "bench:" 0
measure drift "empty:" 1

echo
echo "reconcile of $USERS portal-sim users, $(redis-cli -p "$REDIS_PORT" dbsize) Redis keys ($(nproc) CPUs, $(date -u +%Y-%m-%d))"
echo
echo "| run | portal users | wall time (m:ss) | peak RSS | findings | exit |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
