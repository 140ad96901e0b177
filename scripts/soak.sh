#!/usr/bin/env bash
# Fault soak (issue #10): Entra's initial cycle (users, then groups with members) through the gateway
# while portal-sim answers 5% 503s, 2% 429s, 1% slow commits longer than the gateway's upstream
# timeout, drops 1% of connections and issues 5-second OAuth tokens, and the soak's own Redis is
# restarted (empty) half way through the users. Afterwards:
#   - the portal holds exactly the generated users, groups and memberships, with the right attributes,
#     nothing missing and nothing extra (scim-loadgen --verify, with portal-sim's static token);
#   - every error the gateway answered was a 429 or a 503 with Retry-After, and every request got an
#     answer (scim-loadgen's "answers:" line);
#   - the gateway is still up and ready.
# Exits 0 when all hold, 1 on any violation, 2 on bad arguments. Takes well under five minutes at the
# default size on a two-core machine. See docs/performance.md.
#
#   scripts/soak.sh [--users 300] [--groups 10] [--members 20] [--concurrency 8] [--seed 1]
#                   [--bin-dir DIR] [--keep]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

USERS=300
GROUPS_N=10
MEMBERS=20
CONCURRENCY=8
SEED=1
BIN_DIR=""
KEEP=0
# The gateway's upstream.timeout, and a slow commit comfortably longer than it.
UPSTREAM_TIMEOUT_MS=1000
SLOW_COMMIT_MS=1500

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  cat <<EOF
Flags:
  --users N         generated users (default $USERS)
  --groups N        generated groups (default $GROUPS_N)
  --members N       members of each group, at most --users (default $MEMBERS)
  --concurrency N   loadgen requests in flight (default $CONCURRENCY)
  --seed N          seed of the generated users and of portal-sim's fault draws (default $SEED)
  --bin-dir DIR     use the binaries already built in DIR instead of building them
  --keep            keep the work folder (logs, config, reports) even when the soak passes
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --users) USERS="$2"; shift 2 ;;
    --groups) GROUPS_N="$2"; shift 2 ;;
    --members) MEMBERS="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --bin-dir) BIN_DIR="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "soak.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$USERS" "$GROUPS_N" "$MEMBERS" "$CONCURRENCY" "$SEED"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "soak.sh: $n is not a number" >&2; exit 2; }
done
((USERS >= 1 && MEMBERS <= USERS && CONCURRENCY >= 1)) || { echo "soak.sh: need --users >= 1, --members <= --users, --concurrency >= 1" >&2; exit 2; }

WORK="$(mktemp -d /tmp/scimgw-soak.XXXXXX)"
RESULT=1
finish() {
  cleanup
  if [[ "$RESULT" == 0 && "$KEEP" == 0 ]]; then
    rm -rf "$WORK"
  else
    log "work folder kept: $WORK"
  fi
}
trap finish EXIT
trap 'exit 130' INT TERM

for cmd in redis-server redis-cli curl ss go; do
  command -v "$cmd" >/dev/null || die "$cmd is required"
done
if [[ -z "$BIN_DIR" ]]; then
  BIN_DIR="$WORK/bin"
  build_binaries "$BIN_DIR"
fi

free_port REDIS_PORT
free_port SIM_PORT
free_port GW_PORT
free_port ADMIN_PORT
SIM_URL="http://127.0.0.1:$SIM_PORT"
GW_URL="http://127.0.0.1:$GW_PORT"
STATIC_TOKEN="soak-static-$RANDOM$RANDOM-0123456789"
SCIM_TOKEN="soak-scim-$RANDOM$RANDOM-0123456789"
CLIENT_SECRET="soak-secret-$RANDOM$RANDOM-0123456789"
PREFIX="soak$SEED"

start_redis redis "$REDIS_PORT" "$WORK/redis.log"
# The faults are on from the start, so that every OAuth token the gateway gets lives 5 seconds.
start_proc sim "$WORK/portal-sim.log" "$BIN_DIR/portal-sim" --listen "127.0.0.1:$SIM_PORT" \
  --client-id scim-gateway --client-secret "$CLIENT_SECRET" --static-token "$STATIC_TOKEN" --seed "$SEED" \
  --error-rate 0.05 --rate-limit-rate 0.02 --retry-after-seconds 1 --slow-commit-rate 0.01 \
  --slow-commit-ms "$SLOW_COMMIT_MS" --token-ttl-seconds 5 --drop-rate 0.01
wait_http "$SIM_URL/_sim/stats" 30 "$PID_sim" "$WORK/portal-sim.log"

cat >"$WORK/gateway.yaml" <<EOF
server:
  listen: "127.0.0.1:$GW_PORT"
  tokens:
    - {name: soak, value: "$SCIM_TOKEN"}
admin:
  listen: "127.0.0.1:$ADMIN_PORT"
store:
  redis:
    url: "redis://127.0.0.1:$REDIS_PORT/0"
    keyPrefix: "soak:"
upstream:
  baseURL: "$SIM_URL/portal"
  auth:
    type: oauth2
    clientID: scim-gateway
    clientSecret: "$CLIENT_SECRET"
  timeout: ${UPSTREAM_TIMEOUT_MS}ms
logging:
  level: warn
EOF
start_proc gateway "$WORK/gateway.log" "$BIN_DIR/scim-gateway" serve --drain-delay 0s --config "$WORK/gateway.yaml"
wait_http "http://127.0.0.1:$ADMIN_PORT/readyz" 30 "$PID_gateway" "$WORK/gateway.log"

log "soak: $USERS users, $GROUPS_N groups of $MEMBERS members, concurrency $CONCURRENCY, seed $SEED; work folder $WORK"

START=$(date +%s.%N)
start_proc loadgen "$WORK/loadgen.txt" "$BIN_DIR/scim-loadgen" --base-url "$GW_URL/scim/v2" --token "$SCIM_TOKEN" \
  --scenario initial --users "$USERS" --groups "$GROUPS_N" --members-per-group "$MEMBERS" \
  --concurrency "$CONCURRENCY" --prefix "$PREFIX" --seed "$SEED" --max-retries 30 --retry-delay 200ms \
  --json "$WORK/loadgen.json"

# Restart Redis once the portal has served about half of the user calls (two per user at best).
HALF=$((USERS * 3 / 2))
RESTARTED=0
while kill -0 "$PID_loadgen" 2>/dev/null; do
  total=$(curl -fsS --max-time 2 "$SIM_URL/_sim/stats" 2>/dev/null | grep -o '"total":[0-9]*' | cut -d: -f2 || true)
  if [[ "$RESTARTED" == 0 && "${total:-0}" -ge "$HALF" ]]; then
    log "restarting Redis after $total portal calls"
    stop_pid "$PID_redis"
    sleep 1
    start_redis redis "$REDIS_PORT" "$WORK/redis-2.log"
    RESTARTED=1
  fi
  sleep 0.2
done
LOADGEN_RC=0
wait "$PID_loadgen" || LOADGEN_RC=$?
END=$(date +%s.%N)
DURATION=$(awk -v a="$START" -v b="$END" 'BEGIN { printf "%.1f", b - a }')

VIOLATIONS=()
[[ "$LOADGEN_RC" == 0 ]] || VIOLATIONS+=("scim-loadgen exited $LOADGEN_RC")
[[ "$RESTARTED" == 1 ]] || VIOLATIONS+=("Redis was not restarted during the cycle (it ended before $HALF portal calls)")

cat "$WORK/loadgen.txt"
ANSWERS=$(grep '^answers:' "$WORK/loadgen.txt" || true)
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$ANSWERS"; }
if [[ -z "$ANSWERS" ]]; then
  VIOLATIONS+=("no answers line in the loadgen report")
else
  [[ "$(field errors_without_retry_after)" == 0 ]] || VIOLATIONS+=("$(field errors_without_retry_after) gateway errors without Retry-After")
  [[ "$(field network_errors)" == 0 ]] || VIOLATIONS+=("$(field network_errors) requests got no answer from the gateway")
  [[ "$(field expected_conflicts)" == 0 ]] || VIOLATIONS+=("$(field expected_conflicts) creates answered 409 (a retried create must get 201)")
  statuses=$(field error_statuses | tr -d '{}' | tr ',' '\n' | cut -d: -f1 | grep -v -E '^(429|503)?$' | tr '\n' ' ' || true)
  [[ -z "$statuses" ]] || VIOLATIONS+=("gateway error statuses other than 429 and 503: $statuses")
fi
# Failed or abandoned objects show in the report's ok column; the portal check below catches them
# too, but the loadgen's own count says which operation lost them.
if awk '/^  [a-z_]+ +[0-9]/ && ($6 != 0 || $7 != 0) { bad = 1 } END { exit !bad }' "$WORK/loadgen.txt"; then
  VIOLATIONS+=("scim-loadgen gave up on some objects (failed or abandoned column)")
fi

# The faults did happen: portal-sim's counters, read before the verification adds calls of its own.
STATS=$(curl -fsS "$SIM_URL/_sim/stats")
PORTAL_CALLS=$(grep -o '"total":[0-9]*' <<<"$STATS" | cut -d: -f2)
DROPS=$(sim_count "$STATS" 'status":0,')
UNAVAILABLE=$(sim_count "$STATS" 'status":503,')
LIMITED=$(sim_count "$STATS" 'status":429,')
TOKENS=$(sim_count "$STATS" 'route":"/oauth2/server/token","status":200,')
((DROPS > 0 && UNAVAILABLE > 0 && LIMITED > 0)) || VIOLATIONS+=("portal-sim injected too few faults: $DROPS drops, $UNAVAILABLE 503s, $LIMITED 429s")
# The gateway renews a token half way through its life: a cycle longer than 3 s needs a second one.
if awk -v d="$DURATION" 'BEGIN { exit !(d >= 3) }' && ((TOKENS < 2)); then
  VIOLATIONS+=("the gateway got $TOKENS OAuth token(s) in ${DURATION}s: no 5-second token was renewed")
fi

# The portal, read without faults.
sim_faults "$SIM_URL" '{"errorRate":0,"rateLimitRate":0,"slowCommitRate":0,"dropRate":0}'
if ! "$BIN_DIR/scim-loadgen" --verify --base-url "$SIM_URL/portal" --token "$STATIC_TOKEN" --users "$USERS" \
  --groups "$GROUPS_N" --members-per-group "$MEMBERS" --prefix "$PREFIX" --seed "$SEED" \
  --json "$WORK/verify.json" >"$WORK/verify.txt" 2>&1; then
  VIOLATIONS+=("the portal does not hold exactly the generated objects (the verify report above)")
fi
cat "$WORK/verify.txt"

curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$ADMIN_PORT/readyz" || VIOLATIONS+=("the gateway is not ready after the soak")
kill -0 "$PID_gateway" 2>/dev/null || VIOLATIONS+=("the gateway process died")

echo
echo "soak: users=$USERS groups=$GROUPS_N members=$MEMBERS concurrency=$CONCURRENCY seed=$SEED duration=${DURATION}s redis_restarted=$RESTARTED"
echo "soak: portal calls=$PORTAL_CALLS dropped=$DROPS 503=$UNAVAILABLE 429=$LIMITED oauth_tokens=$TOKENS"
if [[ ${#VIOLATIONS[@]} -gt 0 ]]; then
  for v in "${VIOLATIONS[@]}"; do echo "soak: VIOLATION: $v"; done
  echo "soak: gateway log tail:"
  tail -n 20 "$WORK/gateway.log" | cut -c1-600
  echo "soak: FAIL"
  exit 1
fi
RESULT=0
echo "soak: PASS"
