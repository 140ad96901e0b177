#!/usr/bin/env bash
# Benchmark of issue #10: starts its own redis-server, portal-sim, the gateway and refproxy (the floor
# of a SCIM read, tools/refproxy), runs the scenarios of docs/performance.md and writes the
# results table to stdout and to docs/bench-latest.md. Every target is a ratio or a difference between
# runs made here, one after the other, on this machine: absolute figures drift on shared machines.
#
# CPU pinning (taskset), the same for every process compared: the server under test (the gateway or
# refproxy) alone on CPU $SERVER_CPU; portal-sim, Redis and the load generator (wrk or scim-loadgen)
# on CPU $CLIENT_CPU. A direct run (the load straight to portal-sim) leaves CPU $SERVER_CPU idle.
#
#   scripts/bench.sh [--quick] [--bin-dir DIR] [--out FILE] [--profile]
#
# --quick runs every scenario at a small size (to check the script, not to measure); --profile also
# takes a CPU profile of the gateway's warm GET with the Go benchmark of cmd/scim-gateway and prints
# the top of it. Needs wrk (installed with apt-get when missing), redis-server, curl and go.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVER_CPU=0
CLIENT_CPU=1
GET_USERS=1000         # users read by the closed-loop GET runs
CONNECTIONS=32         # closed-loop connections of the three GET runs
GET_ROUNDS=3           # rounds of the three closed-loop GET runs
GET_SECONDS=5          # length of each closed-loop run of a round (after a 3 s warm-up of each)
OPEN_RATE=50           # open-loop GETs per second
OPEN_REQUESTS=1000     # open-loop GETs per run
OPEN_USERS=200         # users the open-loop runs read
CYCLE_USERS=10000      # users of each initial cycle
CYCLE_CONCURRENCY=16   # its loadgen concurrency
MEM_CONNECTIONS=500    # connections of the memory run
MEM_SECONDS=15
PORTAL_MS=20           # portal latency of the latency and cycle targets
BIN_DIR=""
OUT="$REPO_ROOT/docs/bench-latest.md"
PROFILE=0

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick)
      GET_USERS=200 GET_ROUNDS=1 GET_SECONDS=3 OPEN_REQUESTS=200 OPEN_USERS=50 CYCLE_USERS=500 MEM_SECONDS=4
      shift ;;
    --bin-dir) BIN_DIR="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --profile) PROFILE=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

WORK="$(mktemp -d /tmp/scimgw-bench.XXXXXX)"
finish() { cleanup; log "logs and reports kept in $WORK"; }
trap finish EXIT
trap 'exit 130' INT TERM

if ! command -v wrk >/dev/null; then
  log "installing wrk"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null || die "could not install wrk"
fi
for cmd in redis-server redis-cli curl ss go taskset wrk; do
  command -v "$cmd" >/dev/null || die "$cmd is required"
done
(($(nproc) >= 2)) || die "needs two CPUs for the pinning (nproc = $(nproc))"
if [[ -z "$BIN_DIR" ]]; then
  BIN_DIR="$WORK/bin"
  WITH_REFPROXY=1 build_binaries "$BIN_DIR"
fi
[[ -x "$BIN_DIR/refproxy" ]] || die "$BIN_DIR/refproxy is missing"

# Load generators run through on_client (lib.sh); servers are started with taskset directly, which
# exec's them, so that the pid start_proc records is the server's own.

free_port REDIS_PORT
free_port SIM_PORT
free_port GW_PORT
free_port ADMIN_PORT
free_port REF_PORT
SIM_URL="http://127.0.0.1:$SIM_PORT"
PORTAL_URL="$SIM_URL/portal"
GW_URL="http://127.0.0.1:$GW_PORT"
REF_URL="http://127.0.0.1:$REF_PORT"
STATIC_TOKEN="bench-static-token-0123456789"
SCIM_TOKEN="bench-scim-token-0123456789"

# Redis gets its own server here, so its own CPU pinning: with the portal, off the server's CPU.
start_pinned_backends

cat >"$WORK/gateway.yaml" <<EOF
server:
  listen: "127.0.0.1:$GW_PORT"
  tokens:
    - {name: bench, value: "$SCIM_TOKEN"}
admin:
  listen: "127.0.0.1:$ADMIN_PORT"
store:
  redis:
    url: "redis://127.0.0.1:$REDIS_PORT/0"
    keyPrefix: "bench:"
upstream:
  baseURL: "$PORTAL_URL"
  auth: {type: bearer, token: "$STATIC_TOKEN"}
  maxInFlight: 256
logging:
  level: warn
EOF
start_proc gateway "$WORK/gateway.log" taskset -c "$SERVER_CPU" "$BIN_DIR/scim-gateway" serve --drain-delay 0s --config "$WORK/gateway.yaml"
start_proc refproxy "$WORK/refproxy.log" taskset -c "$SERVER_CPU" "$BIN_DIR/refproxy" --listen "127.0.0.1:$REF_PORT" \
  --portal "$PORTAL_URL" --portal-token "$STATIC_TOKEN" --redis "127.0.0.1:$REDIS_PORT" --key-prefix refproxy: \
  --token "$SCIM_TOKEN"
wait_http "http://127.0.0.1:$ADMIN_PORT/readyz" 30 "$PID_gateway" "$WORK/gateway.log"
for _ in $(seq 1 100); do
  [[ "$(curl -s -o /dev/null -w '%{http_code}' "$REF_URL/scim/v2/Users/0")" == 401 ]] && break
  sleep 0.1
done
[[ "$(curl -s -o /dev/null -w '%{http_code}' "$REF_URL/scim/v2/Users/0")" == 401 ]] ||
  die "refproxy did not start: $(tail -n 5 "$WORK/refproxy.log")"
GW_PID=$PID_gateway
[[ "$(readlink "/proc/$GW_PID/exe")" == "$BIN_DIR/scim-gateway" ]] || die "pid $GW_PID is not the gateway"

loadgen() { on_client "$BIN_DIR/scim-loadgen" "$@"; }
gw_loadgen() { loadgen --base-url "$GW_URL/scim/v2" --token "$SCIM_TOKEN" --sim-url "$SIM_URL" "$@"; }
direct_loadgen() { loadgen --direct --base-url "$PORTAL_URL" --token "$STATIC_TOKEN" --sim-url "$SIM_URL" "$@"; }
latency() { sim_faults "$SIM_URL" "{\"latencyMs\":$1}"; }

# op_col FILE OP COLUMN prints a column of an operation's row of a loadgen text report (the last
# such row): 9 p50, 10 p95, 11 p99, 8 req/s.
op_col() { awk -v op="$2" -v c="$3" '$1 == op && $2 ~ /^[0-9]+$/ { v = $c } END { print v }' "$1"; }
users_per_s() { sed -n 's/^phase initial: .* users\/s=\([0-9.]*\).*/\1/p' "$1"; }
calls_per() { sed -n "s/^  portal calls per $2: \([0-9.]*\).*/\1/p" "$1" | tail -1; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
verdict() { awk "BEGIN { exit !($1) }" && echo met || echo MISSED; }

# --- The users of the GET runs: created straight in the portal, mapped for refproxy, warmed in the
# gateway (one GET per id).
latency 0
seed_users "$GET_USERS" bget
mv "$WORK/paths.txt" "$WORK/paths-gateway.txt"
cp "$WORK/paths-gateway.txt" "$WORK/paths-refproxy.txt"
awk '{ print "/portal/api/usersync/v1/users(" $1 ")" }' "$WORK/ids.txt" >"$WORK/paths-direct.txt"
awk '{ print "SET refproxy:" $2 " " $1 }' "$WORK/ids.txt" | redis-cli -p "$REDIS_PORT" >/dev/null
gw_loadgen --scenario get --users "$GET_USERS" --requests "$GET_USERS" --concurrency 16 --prefix bget >"$WORK/warm.txt"
answers_ok "$WORK/warm.txt" || die "warming the gateway failed: $(tail -1 "$WORK/warm.txt")"

# wrk_run NAME URL PATHS TOKEN CONNECTIONS SECONDS runs wrk on the client CPU and writes its output to
# $WORK/wrk-NAME.txt; it fails when any answer was not 2xx.
wrk_run() {
  local name="$1" url="$2" paths="$3" token="$4" conns="$5" secs="$6"
  BENCH_PATHS="$paths" BENCH_TOKEN="$token" on_client wrk -t2 -c"$conns" -d"${secs}s" --latency --timeout 10s \
    -s "$REPO_ROOT/scripts/wrk-paths.lua" "$url" >"$WORK/wrk-$name.txt" 2>&1 || die "wrk $name failed: $(cat "$WORK/wrk-$name.txt")"
  if grep -q -E 'Non-2xx|Socket errors' "$WORK/wrk-$name.txt"; then
    die "wrk $name: errors: $(grep -E 'Non-2xx|Socket errors' "$WORK/wrk-$name.txt")"
  fi
}
wrk_rps() { awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk-$1.txt"; }
# wrk_pct NAME PCT prints a latency percentile (50%, 99%) in ms.
wrk_pct() {
  awk -v p="$2" '$1 == p { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.2f", v }' "$WORK/wrk-$1.txt"
}

# --- 1. GET /Users/{id}, warm, closed loop, portal at 0 ms: $GET_ROUNDS rounds of gateway, refproxy,
# direct, so that a slow spell of the machine hits the three alike; each ratio is the median of the
# rounds' ratios.
log "closed-loop GETs: $CONNECTIONS connections, $GET_ROUNDS rounds of ${GET_SECONDS}s each"
url_of() { case "$1" in gateway) echo "$GW_URL" ;; refproxy) echo "$REF_URL" ;; direct) echo "$SIM_URL" ;; esac; }
token_of() { if [[ "$1" == direct ]]; then echo "$STATIC_TOKEN"; else echo "$SCIM_TOKEN"; fi; }
for target in gateway refproxy direct; do
  wrk_run "$target-warmup" "$(url_of $target)" "$WORK/paths-$target.txt" "$(token_of $target)" "$CONNECTIONS" 3
done
ROUNDS_REF=() ROUNDS_DIRECT=() ROUND_LINES=()
for round in $(seq 1 "$GET_ROUNDS"); do
  for target in gateway refproxy direct; do
    wrk_run "$target-$round" "$(url_of $target)" "$WORK/paths-$target.txt" "$(token_of $target)" "$CONNECTIONS" "$GET_SECONDS"
  done
  g=$(wrk_rps "gateway-$round") r=$(wrk_rps "refproxy-$round") d=$(wrk_rps "direct-$round")
  ROUNDS_REF+=("$(calc "$g / $r" 3)")
  ROUNDS_DIRECT+=("$(calc "$g / $d" 3)")
  ROUND_LINES+=("round $round: gateway $g, refproxy $r, direct $d req/s")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
median_rps() { local t="$1" v=(); for round in $(seq 1 "$GET_ROUNDS"); do v+=("$(wrk_rps "$t-$round")"); done; median "${v[@]}"; }
RPS_GW=$(median_rps gateway)
RPS_REF=$(median_rps refproxy)
RPS_DIRECT=$(median_rps direct)
RATIO_REF=$(calc "$(median "${ROUNDS_REF[@]}")")
RATIO_DIRECT=$(calc "$(median "${ROUNDS_DIRECT[@]}")")

# --- 2. Latency the gateway adds: open loop at $OPEN_RATE/s, portal at $PORTAL_MS ms. The gateway's
# run and the direct one go at the same time, so that both see the same machine.
log "open-loop GETs: $OPEN_REQUESTS at $OPEN_RATE/s, gateway and direct at once, portal at $PORTAL_MS ms"
latency "$PORTAL_MS"
gw_loadgen --scenario get --users "$OPEN_USERS" --requests "$OPEN_REQUESTS" --rate "$OPEN_RATE" --prefix bget \
  --json "$WORK/open-gateway.json" >"$WORK/open-gateway.txt" &
OPEN_GW=$!
PIDS+=("$OPEN_GW")
direct_loadgen --scenario get --users "$OPEN_USERS" --requests "$OPEN_REQUESTS" --rate "$OPEN_RATE" --prefix bget \
  --json "$WORK/open-direct.json" >"$WORK/open-direct.txt" || die "the direct open-loop run failed"
wait "$OPEN_GW" || die "the gateway's open-loop run failed"
answers_ok "$WORK/open-gateway.txt" && answers_ok "$WORK/open-direct.txt" || die "open-loop runs had errors"
P50_GW=$(op_col "$WORK/open-gateway.txt" get 9)
P99_GW=$(op_col "$WORK/open-gateway.txt" get 11)
P50_DIRECT=$(op_col "$WORK/open-direct.txt" get 9)
P99_DIRECT=$(op_col "$WORK/open-direct.txt" get 11)
ADD_P50=$(calc "$P50_GW - $P50_DIRECT")
ADD_P99=$(calc "$P99_GW - $P99_DIRECT")

# --- 3. Resident memory with $MEM_CONNECTIONS connections, portal at 0 ms.
log "memory: $MEM_CONNECTIONS connections for ${MEM_SECONDS}s"
latency 0
RSS_BEFORE=$(rss_kib "$GW_PID" VmRSS)
PEAK_RSS=0
BENCH_PATHS="$WORK/paths-gateway.txt" BENCH_TOKEN="$SCIM_TOKEN" taskset -c "$CLIENT_CPU" wrk -t2 -c"$MEM_CONNECTIONS" \
  -d"${MEM_SECONDS}s" --timeout 10s -s "$REPO_ROOT/scripts/wrk-paths.lua" "$GW_URL" >"$WORK/wrk-memory.txt" 2>&1 &
MEM_WRK=$!
PIDS+=("$MEM_WRK")
while kill -0 "$MEM_WRK" 2>/dev/null; do
  rss=$(rss_kib "$GW_PID" VmRSS)
  ((rss > PEAK_RSS)) && PEAK_RSS=$rss
  sleep 0.25
done
wait "$MEM_WRK" || die "wrk memory run failed: $(cat "$WORK/wrk-memory.txt")"
grep -q -E 'Non-2xx|Socket errors' "$WORK/wrk-memory.txt" && log "memory run: $(grep -E 'Non-2xx|Socket errors' "$WORK/wrk-memory.txt")"
HWM=$(rss_kib "$GW_PID" VmHWM)
RPS_MEM=$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk-memory.txt")
MIB_PEAK=$(calc "$PEAK_RSS / 1024" 1)
MIB_HWM=$(calc "$HWM / 1024" 1)
MIB_BEFORE=$(calc "$RSS_BEFORE / 1024" 1)

# --- 4. Initial cycles of $CYCLE_USERS users at concurrency $CYCLE_CONCURRENCY, each on an empty
# portal and an empty Redis, at $PORTAL_MS ms and at 0 ms.
cycle() { # cycle NAME MS gateway|direct
  curl -fsS -o /dev/null -X POST "$SIM_URL/_sim/reset"
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  latency "$2"
  log "initial cycle: $CYCLE_USERS users via $3, portal at $2 ms"
  local run=gw_loadgen
  [[ "$3" == direct ]] && run=direct_loadgen
  "$run" --scenario initial --users "$CYCLE_USERS" --concurrency "$CYCLE_CONCURRENCY" --prefix "c$1" \
    --json "$WORK/cycle-$1.json" >"$WORK/cycle-$1.txt"
  answers_ok "$WORK/cycle-$1.txt" || die "cycle $1 had errors: $(tail -1 "$WORK/cycle-$1.txt")"
}
cycle gw20 "$PORTAL_MS" gateway
cycle direct20 "$PORTAL_MS" direct
cycle gw0 0 gateway
cycle direct0 0 direct
UPS_GW20=$(users_per_s "$WORK/cycle-gw20.txt")
UPS_DIRECT20=$(users_per_s "$WORK/cycle-direct20.txt")
UPS_GW0=$(users_per_s "$WORK/cycle-gw0.txt")
UPS_DIRECT0=$(users_per_s "$WORK/cycle-direct0.txt")
FLOOR20=$(calc "0.9 * $CYCLE_CONCURRENCY / (2 * $PORTAL_MS / 1000)" 0)
CALLS_USER=$(calc "$(calls_per "$WORK/cycle-gw20.txt" filter) + $(calls_per "$WORK/cycle-gw20.txt" create)")
HWM_END=$(calc "$(rss_kib "$GW_PID" VmHWM) / 1024" 1)

# --- The table.
MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
TABLE="$WORK/table.md"
{
  echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs ($MODEL), $(uname -sr), $(go version | cut -d' ' -f3)."
  echo "Pinning: gateway and refproxy on CPU $SERVER_CPU; portal-sim, Redis, wrk and scim-loadgen on CPU $CLIENT_CPU."
  echo "Commit: $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$REPO_ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')."
  echo
  echo "| target | measured | goal | result |"
  echo "|---|---|---|---|"
  echo "| GET /Users/{id} warm, closed loop, $CONNECTIONS connections, portal 0 ms: gateway / refproxy (median of $GET_ROUNDS rounds) | $RPS_GW / $RPS_REF req/s, ratio **$RATIO_REF** | >= 0.6 | $(verdict "$RATIO_REF >= 0.6") |"
  echo "| same, gateway / direct portal-sim reads | $RPS_GW / $RPS_DIRECT req/s, ratio **$RATIO_DIRECT** | report | - |"
  echo "| latency added, open loop $OPEN_RATE req/s each, gateway and direct at once, portal $PORTAL_MS ms: p50 | $P50_GW - $P50_DIRECT ms = **$ADD_P50 ms** | <= 1 ms | $(verdict "$ADD_P50 <= 1") |"
  echo "| same: p99 | $P99_GW - $P99_DIRECT ms = **$ADD_P99 ms** | <= 3 ms | $(verdict "$ADD_P99 <= 3") |"
  echo "| initial cycle, $CYCLE_USERS users, concurrency $CYCLE_CONCURRENCY, portal $PORTAL_MS ms | **$UPS_GW20 users/s** (direct $UPS_DIRECT20; $CALLS_USER portal calls per user) | >= $FLOOR20 users/s | $(verdict "$UPS_GW20 >= $FLOOR20") |"
  echo "| same, portal 0 ms | **$UPS_GW0 users/s** (direct $UPS_DIRECT0) | report | - |"
  echo "| resident memory, $MEM_CONNECTIONS connections ($RPS_MEM req/s) | peak VmRSS **$MIB_PEAK MiB** (before $MIB_BEFORE MiB), VmHWM $MIB_HWM MiB | < 100 MiB | $(verdict "$MIB_HWM < 100") |"
  echo
  echo "Closed-loop rounds (wrk): $(IFS=';'; echo "${ROUND_LINES[*]}" | sed 's/;/; /g'). Latency of the last round (ms):" \
    "gateway p50 $(wrk_pct "gateway-$GET_ROUNDS" 50%) p99 $(wrk_pct "gateway-$GET_ROUNDS" 99%);" \
    "refproxy p50 $(wrk_pct "refproxy-$GET_ROUNDS" 50%) p99 $(wrk_pct "refproxy-$GET_ROUNDS" 99%);" \
    "direct p50 $(wrk_pct "direct-$GET_ROUNDS" 50%) p99 $(wrk_pct "direct-$GET_ROUNDS" 99%)."
  echo "Gateway VmHWM after the initial cycles: $HWM_END MiB."
} >"$TABLE"

if ((PROFILE)); then
  log "profiling the warm GET (go test -bench in cmd/scim-gateway)"
  bench='BenchmarkRead/op=getByID/cache=warm/store=memory/portal=0ms'
  {
    echo
    echo "CPU profile of \`go test -bench '$bench' -benchtime 20000x -cpuprofile\` (cmd/scim-gateway; the"
    echo "profile covers the whole test binary: portal-sim in process, the seeding and the cold warm-up GETs"
    echo "beside the timed warm GETs)."
    echo
    if (cd "$REPO_ROOT" && go test -run XXX -bench "$bench" -benchtime 20000x -cpuprofile "$WORK/cpu.out" \
      -o "$WORK/gateway.test" ./cmd/scim-gateway/ >"$WORK/profile-bench.txt" 2>&1); then
      echo '```'
      grep -E '^Benchmark' "$WORK/profile-bench.txt"
      echo "# go tool pprof -top -nodecount 15 (by flat time)"
      go tool pprof -top -nodecount 15 "$WORK/gateway.test" "$WORK/cpu.out" 2>/dev/null | sed -n '/flat%/,$p'
      echo "# go tool pprof -top -cum: the gateway's own functions (cumulative)"
      go tool pprof -top -cum -nodecount 600 "$WORK/gateway.test" "$WORK/cpu.out" 2>/dev/null |
        grep -E 'scim-gateway/(gateway|translator|upstream)' | grep -v -E 'portalsim|\.func[0-9]|-fm' | head -25
      echo '```'
    else
      echo "(the benchmark did not run: see $WORK/profile-bench.txt)"
    fi
  } >>"$TABLE"
fi

cat "$TABLE"
if [[ -n "$OUT" ]]; then
  {
    echo "# Latest benchmark run"
    echo
    echo "Written by \`scripts/bench.sh\`; what each line measures is in [performance.md](performance.md)."
    echo
    cat "$TABLE"
  } >"$OUT"
  log "table written to $OUT"
fi
