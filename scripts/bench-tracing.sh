#!/usr/bin/env bash
# What OpenTelemetry tracing costs a warm GET /Users/{id} (issue #17), measured as scripts/bench.sh
# measures the gateway: real processes, wrk in a closed loop, CPU pinning, alternating rounds, medians.
#
# Three gateway processes of the same binary, identical but for tracing: off; on with
# OTEL_TRACES_SAMPLER=parentbased_traceidratio and OTEL_TRACES_SAMPLER_ARG=0.1 (10%); on with
# parentbased_always_on (100%). The traced ones export over OTLP/HTTP (OTEL_EXPORTER_OTLP_ENDPOINT) to
# an otlpsink each (tools/otlpsink: a separate process that decodes and counts the spans). Only one
# gateway is under load at a time; the rounds alternate off, 10%, 100%, off, ... so that a slow spell of
# the machine falls on all three alike.
#
# CPU pinning: the three gateways on CPU $SERVER_CPU (the idle ones do next to nothing); portal-sim,
# Redis, the two otlpsinks and wrk on CPU $CLIENT_CPU. Besides req/s, each run reads the gateway
# process's CPU time (/proc/PID/stat utime+stime) and reports CPU per GET, which does not depend on
# whether the gateway's CPU or the client CPU is the bottleneck.
#
#   scripts/bench-tracing.sh [--rounds N] [--seconds S] [--bin-dir DIR] [--quick] [--perf]
#
# --perf also samples each gateway with `perf record -g` during one more run each and
# prints the top of `perf report` (the gateway's symbols; needs perf and perf_event_paranoid <= 2).
# Needs wrk, redis-server, curl and go. Writes the table to stdout.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVER_CPU=0
CLIENT_CPU=1
USERS=1000
CONNECTIONS=32
ROUNDS=7
SECONDS_PER_RUN=8
BIN_DIR=""
PERF=0
MODES=(off 10pct 100pct)

while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --seconds) SECONDS_PER_RUN="$2"; shift 2 ;;
    --bin-dir) BIN_DIR="$2"; shift 2 ;;
    --perf) PERF=1; shift ;;
    --quick) ROUNDS=1 SECONDS_PER_RUN=2 USERS=200; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-tracing.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

WORK="$(mktemp -d /tmp/scimgw-bench-tracing.XXXXXX)"
finish() { cleanup; log "logs kept in $WORK"; }
trap finish EXIT
trap 'exit 130' INT TERM

for cmd in redis-server redis-cli curl ss go taskset wrk; do
  command -v "$cmd" >/dev/null || die "$cmd is required"
done
(($(nproc) >= 2)) || die "needs two CPUs for the pinning (nproc = $(nproc))"
if [[ -z "$BIN_DIR" ]]; then
  BIN_DIR="$WORK/bin"
  build_binaries "$BIN_DIR"
fi
[[ -x "$BIN_DIR/otlpsink" ]] || (cd "$REPO_ROOT" && go build -o "$BIN_DIR/otlpsink" ./tools/otlpsink) || die "otlpsink build failed"


free_port REDIS_PORT
free_port SIM_PORT
SIM_URL="http://127.0.0.1:$SIM_PORT"
PORTAL_URL="$SIM_URL/portal"
STATIC_TOKEN="bench-static-token-0123456789"
SCIM_TOKEN="bench-scim-token-0123456789"

start_pinned_backends

for mode in 10pct 100pct; do
  free_port port
  printf -v "SINK_$mode" '%s' "http://127.0.0.1:$port"
  start_proc "sink_$mode" "$WORK/otlpsink-$mode.log" taskset -c "$CLIENT_CPU" "$BIN_DIR/otlpsink" --listen "127.0.0.1:$port"
  sink_pid="PID_sink_$mode"
  wait_http "http://127.0.0.1:$port/stats" 30 "${!sink_pid}" "$WORK/otlpsink-$mode.log"
done

# start_gateway MODE ENV... starts the gateway of MODE with the environment ENV (VAR=value ...).
start_gateway() {
  local mode="$1" port admin
  shift
  free_port port
  free_port admin
  printf -v "URL_$mode" '%s' "http://127.0.0.1:$port"
  cat >"$WORK/gateway-$mode.yaml" <<EOF
server:
  listen: "127.0.0.1:$port"
  tokens:
    - {name: bench, value: "$SCIM_TOKEN"}
admin:
  listen: "127.0.0.1:$admin"
store:
  redis:
    url: "redis://127.0.0.1:$REDIS_PORT/0"
    keyPrefix: "bench-$mode:"
upstream:
  baseURL: "$PORTAL_URL"
  auth: {type: bearer, token: "$STATIC_TOKEN"}
  maxInFlight: 256
logging:
  level: warn
EOF
  start_proc "gw_$mode" "$WORK/gateway-$mode.log" env "$@" taskset -c "$SERVER_CPU" "$BIN_DIR/scim-gateway" serve \
    --drain-delay 0s --config "$WORK/gateway-$mode.yaml"
  local pid_var="PID_gw_$mode"
  wait_http "http://127.0.0.1:$admin/readyz" 30 "${!pid_var}" "$WORK/gateway-$mode.log"
  # env and taskset exec, so the recorded pid is the gateway's own.
  [[ "$(readlink "/proc/${!pid_var}/exe")" == "$BIN_DIR/scim-gateway" ]] || die "pid ${!pid_var} is not the gateway"
}
start_gateway off OTEL_SDK_DISABLED=true
start_gateway 10pct OTEL_EXPORTER_OTLP_ENDPOINT="$SINK_10pct" OTEL_TRACES_SAMPLER=parentbased_traceidratio \
  OTEL_TRACES_SAMPLER_ARG=0.1
start_gateway 100pct OTEL_EXPORTER_OTLP_ENDPOINT="$SINK_100pct" OTEL_TRACES_SAMPLER=parentbased_always_on

# --- The users: created straight in the portal, then read once through each gateway (warm).
log "creating $USERS users"
on_client "$BIN_DIR/scim-loadgen" --direct --base-url "$PORTAL_URL" --token "$STATIC_TOKEN" --sim-url "$SIM_URL" \
  --scenario initial --users "$USERS" --concurrency 16 --prefix bget >"$WORK/seed.txt"
grep -q '^answers:.* errors=0 .* network_errors=0 ' "$WORK/seed.txt" || die "seeding failed: $(tail -1 "$WORK/seed.txt")"
: >"$WORK/ids.txt"
for ((skip = 0; skip < USERS; skip += 500)); do
  curl -fsS -H "Authorization: Bearer $STATIC_TOKEN" "$PORTAL_URL/api/usersync/v1/users?\$top=500&\$skip=$skip" |
    grep -o '"guidUser":"[^"]*"' | sed 's/"guidUser":"\([^"]*\)"/\1/' >>"$WORK/ids.txt"
done
[[ "$(wc -l <"$WORK/ids.txt")" == "$USERS" ]] || die "read $(wc -l <"$WORK/ids.txt") user ids, want $USERS"
awk '{ print "/scim/v2/Users/" $1 }' "$WORK/ids.txt" >"$WORK/paths.txt"
for mode in "${MODES[@]}"; do
  url="URL_$mode"
  on_client "$BIN_DIR/scim-loadgen" --base-url "${!url}/scim/v2" --token "$SCIM_TOKEN" --sim-url "$SIM_URL" \
    --scenario get --users "$USERS" --requests "$USERS" --concurrency 16 --prefix bget >"$WORK/warm-$mode.txt"
  answers_ok "$WORK/warm-$mode.txt" || die "warming $mode failed: $(tail -1 "$WORK/warm-$mode.txt")"
done

# cpu_ticks PID prints the process's utime+stime in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

# run NAME MODE SECONDS: wrk against MODE's gateway; records req/s, requests and the gateway's CPU.
run() {
  local name="$1" mode="$2" secs="$3" url="URL_$2" pid_var="PID_gw_$2" t0 t1
  t0=$(cpu_ticks "${!pid_var}")
  BENCH_PATHS="$WORK/paths.txt" BENCH_TOKEN="$SCIM_TOKEN" on_client wrk -t2 -c"$CONNECTIONS" -d"${secs}s" --latency \
    --timeout 10s -s "$REPO_ROOT/scripts/wrk-paths.lua" "${!url}" >"$WORK/wrk-$name.txt" 2>&1 || die "wrk $name failed: $(cat "$WORK/wrk-$name.txt")"
  t1=$(cpu_ticks "${!pid_var}")
  if grep -q -E 'Non-2xx|Socket errors' "$WORK/wrk-$name.txt"; then
    die "wrk $name: errors: $(grep -E 'Non-2xx|Socket errors' "$WORK/wrk-$name.txt")"
  fi
  echo "$((t1 - t0))" >"$WORK/cpu-$name.txt"
}
rps() { awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk-$1.txt"; }
requests() { awk '/requests in/ { print $1 }' "$WORK/wrk-$1.txt"; }
# cpu_us NAME prints the gateway's CPU per GET of a run in microseconds.
cpu_us() { awk -v t="$(cat "$WORK/cpu-$1.txt")" -v n="$(requests "$1")" -v hz="$TICK" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }'; }
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
sink_stat() { local u="SINK_$1"; curl -fsS "${!u}/stats" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }

log "warm-up: 3 s per gateway"
for mode in "${MODES[@]}"; do run "warmup-$mode" "$mode" 3; done
sleep 3 # the batch span processor exports every 2 s: let the warm-up's spans land before counting
declare -A ROOTS0 SPANS0
for mode in 10pct 100pct; do ROOTS0[$mode]=$(sink_stat "$mode" rootSpans) SPANS0[$mode]=$(sink_stat "$mode" spans); done

log "$ROUNDS rounds of off, 10%, 100%, ${SECONDS_PER_RUN}s each, $CONNECTIONS connections"
declare -A RATIOS CPURATIOS
for round in $(seq 1 "$ROUNDS"); do
  line="round $round:"
  for mode in "${MODES[@]}"; do
    run "$mode-$round" "$mode" "$SECONDS_PER_RUN"
    line+=" $mode $(rps "$mode-$round") req/s $(cpu_us "$mode-$round") us CPU/GET;"
  done
  for mode in 10pct 100pct; do
    RATIOS[$mode]+=" $(calc "$(rps "$mode-$round") / $(rps "off-$round")" 4)"
    CPURATIOS[$mode]+=" $(calc "$(cpu_us "$mode-$round") / $(cpu_us "off-$round")" 4)"
  done
  log "$line"
done
sleep 3

MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs ($MODEL), $(uname -sr), $(go version | cut -d' ' -f3)."
echo "Commit: $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$REPO_ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')."
echo "Pinning: the gateways on CPU $SERVER_CPU; portal-sim, Redis, the otlpsinks and wrk on CPU $CLIENT_CPU."
echo "$ROUNDS rounds of ${SECONDS_PER_RUN}s runs, $CONNECTIONS connections, warm GET /Users/{id} over $USERS users, portal at 0 ms."
echo
echo "| tracing | req/s per round | median req/s | gateway CPU per GET, median (us) | req/s vs off (median of rounds) | CPU per GET vs off (median of rounds) | spans received |"
echo "|---|---|---|---|---|---|---|"
for mode in "${MODES[@]}"; do
  r=() c=() n=0
  for round in $(seq 1 "$ROUNDS"); do
    r+=("$(rps "$mode-$round")") c+=("$(cpu_us "$mode-$round")")
    n=$((n + $(requests "$mode-$round")))
  done
  if [[ "$mode" == off ]]; then
    vs="-" cvs="-" spans="(off)"
  else
    # shellcheck disable=SC2086
    vs="$(calc "($(median ${RATIOS[$mode]}) - 1) * 100" 1)%"
    # shellcheck disable=SC2086
    cvs="$(calc "($(median ${CPURATIOS[$mode]}) - 1) * 100" 1)%"
    roots=$(($(sink_stat "$mode" rootSpans) - ROOTS0[$mode]))
    spans=$(($(sink_stat "$mode" spans) - SPANS0[$mode]))
    spans="$spans spans, $roots traces for $n GETs ($(calc "100 * $roots / $n" 1)% sampled)"
  fi
  echo "| $mode | ${r[*]} | $(median "${r[@]}") | $(median "${c[@]}") | $vs | $cvs | $spans |"
done
echo
echo "Per-round ratios to off: 10% req/s${RATIOS[10pct]}, CPU${CPURATIOS[10pct]}; 100% req/s${RATIOS[100pct]}, CPU${CPURATIOS[100pct]}."
echo "Client CPU ($CLIENT_CPU) and gateway CPU ($SERVER_CPU) busy during the last off run: gateway $(calc "$(cat "$WORK/cpu-off-$ROUNDS.txt") / $TICK / $SECONDS_PER_RUN * 100" 0)% of a CPU."

if ((PERF)); then
  command -v perf >/dev/null || die "--perf needs perf"
  for mode in "${MODES[@]}"; do
    pid_var="PID_gw_$mode"
    log "perf record of the $mode gateway during a ${SECONDS_PER_RUN}s run"
    perf record -F 2999 -g -o "$WORK/perf-$mode.data" -p "${!pid_var}" -- sleep "$SECONDS_PER_RUN" 2>"$WORK/perf-$mode.log" &
    perf_pid=$!
    run "perf-$mode" "$mode" "$SECONDS_PER_RUN"
    wait "$perf_pid" || die "perf record failed: $(cat "$WORK/perf-$mode.log")"
    echo
    echo "perf report of the $mode gateway ($(rps "perf-$mode") req/s), children (cumulative) by symbol:"
    echo '```'
    perf report -i "$WORK/perf-$mode.data" --children --stdio --percent-limit 0.3 -g none 2>/dev/null >"$WORK/perf-$mode.txt" || true
    grep -E '^ +[0-9]' "$WORK/perf-$mode.txt" | grep -v kernel | sed -n '1,25p'
    echo "# the tracing path: OpenTelemetry, telemetry/, the gateway's and the portal client's tracing"
    grep -E '^ +[0-9]' "$WORK/perf-$mode.txt" | grep -E 'otel|telemetry|[Tt]rac|[Ss]pan' | sed -n '1,40p'
    echo '```'
  done
fi
