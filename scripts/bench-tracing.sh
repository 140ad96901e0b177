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
#   scripts/bench-tracing.sh [--rounds N] [--seconds S] [--bin-dir DIR] [--modes "off 10pct 100pct"] [--together] [--env MODE=VAR=value]... [--quick] [--perf]
#   scripts/bench-tracing.sh --instructions N [--modes ...] [--bin-dir DIR]
#
# --instructions N counts instead of timing: each gateway in turn runs under valgrind's callgrind, is
# warmed, is counted idle for 5 s, then serves N warm GETs by id (curl, 8 in parallel) and is counted
# until 3 s after the last (the batch span processor's next export), less the idle rate times that
# window. It reports the user-space instructions the gateway executed per GET: a count the machine's
# other load does not move, where req/s on a shared machine moves by several percent from run to run
# (what is left to chance: when the collector runs, which GETs are sampled; N = 5000 keeps it within
# about half a percent). It counts no kernel time (the syscalls of the network I/O, the same in every
# mode), so the relative overheads it shows are larger than those of the CPU time. Needs valgrind
# (callgrind_control); runs the gateway with GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off, without which
# callgrind stops on the Go runtime's preemption signals and on RDTSCP, an instruction valgrind 3.19
# does not know. About 1 to 2 minutes per mode for N = 5000.
#
# --modes picks the gateways: off, and NNpct for tracing on at NN% (0pct: tracing on, nothing sampled,
# which is what every request pays once tracing is on; 100pct: parentbased_always_on). The first mode is
# the one the others are compared with. A mode may carry a suffix, so that one variant can run twice
# ("off off_b 10pct": an A/A pair, two identical gateways, shows what the method itself reads as a
# difference). Odd rounds run the modes in the order given, even rounds in reverse, so that the place
# in a round favours none.
#
# --env MODE=VAR=value adds VAR=value to the environment of MODE's gateway (repeatable): a variant of
# the runtime's or the SDK's settings, e.g. --modes "off 10pct 10pct_gc" --env 10pct_gc=GOGC=200.
#
# --together runs every mode's gateway under load at the same time, all on CPU $SERVER_CPU (one wrk
# each, with $CONNECTIONS connections, on the client CPU), instead of one after the other. This
# machine's speed drifts by tens of percent from one minute to the next (CPU per GET of the same
# gateway 140 to 230 us within a few minutes); run at once, the gateways share every slow and fast
# spell, and the ratio of their CPU per GET (the inverse of the ratio of what each would serve alone at
# full CPU) holds still where req/s of successive runs does not. The gateways share the CPU by the
# scheduler's fairness, so their req/s are not comparable; their CPU per GET is.
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
INSTRUCTIONS=0
TOGETHER=0
declare -A EXTRA_ENV
MODES=(off 10pct 100pct)

while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --seconds) SECONDS_PER_RUN="$2"; shift 2 ;;
    --bin-dir) BIN_DIR="$2"; shift 2 ;;
    --perf) PERF=1; shift ;;
    --instructions) INSTRUCTIONS="$2"; shift 2 ;;
    --modes) read -r -a MODES <<<"$2"; shift 2 ;;
    --together) TOGETHER=1; shift ;;
    --env) [[ "$2" == *=*=* ]] || die "--env $2: want MODE=VAR=value"; EXTRA_ENV["${2%%=*}"]+=" ${2#*=}"; shift 2 ;;
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

calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
# kind MODE prints the variant of MODE without its suffix: off or NNpct.
kind() { echo "${1%%_*}"; }
TRACED=()
for mode in "${MODES[@]}"; do
  [[ "$mode" =~ ^(off|([0-9]+)pct)(_[a-z0-9]+)?$ ]] || die "mode $mode: want off or NNpct, with an optional _suffix"
  [[ "${BASH_REMATCH[1]}" == off ]] && continue
  ((BASH_REMATCH[2] <= 100)) || die "mode $mode: at most 100pct"
  TRACED+=("$mode")
done
BASE="${MODES[0]}"
for mode in "${!EXTRA_ENV[@]}"; do
  [[ " ${MODES[*]} " == *" $mode "* ]] || die "--env for $mode, which is not among the modes (${MODES[*]})"
done

for mode in "${TRACED[@]}"; do
  free_port port
  printf -v "SINK_$mode" '%s' "http://127.0.0.1:$port"
  start_proc "sink_$mode" "$WORK/otlpsink-$mode.log" taskset -c "$CLIENT_CPU" "$BIN_DIR/otlpsink" --listen "127.0.0.1:$port"
  sink_pid="PID_sink_$mode"
  wait_http "http://127.0.0.1:$port/stats" 30 "${!sink_pid}" "$WORK/otlpsink-$mode.log"
done

# mode_env MODE sets the array MODE_ENV to the environment of MODE's gateway (VAR=value ...).
mode_env() {
  local sink="SINK_$1"
  case "$(kind "$1")" in
  off) MODE_ENV=(OTEL_SDK_DISABLED=true) ;;
  100pct) MODE_ENV=(OTEL_EXPORTER_OTLP_ENDPOINT="${!sink}" OTEL_TRACES_SAMPLER=parentbased_always_on) ;;
  *) MODE_ENV=(OTEL_EXPORTER_OTLP_ENDPOINT="${!sink}" OTEL_TRACES_SAMPLER=parentbased_traceidratio
    OTEL_TRACES_SAMPLER_ARG="$(calc "$(kind "$1" | tr -d pct) / 100" 2)") ;;
  esac
  local extra
  # shellcheck disable=SC2206 # VAR=value words, split on the spaces --env put between them
  [[ -z "${EXTRA_ENV[$1]:-}" ]] || { extra=(${EXTRA_ENV[$1]}); MODE_ENV+=("${extra[@]}"); }
}

# start_gateway MODE [WRAPPER...] starts the gateway of MODE, pinned to $SERVER_CPU, run by WRAPPER
# (e.g. valgrind) when one is given, and waits until it is ready.
start_gateway() {
  local mode="$1" port admin
  shift
  mode_env "$mode"
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
  start_proc "gw_$mode" "$WORK/gateway-$mode.log" env "${MODE_ENV[@]}" taskset -c "$SERVER_CPU" "$@" \
    "$BIN_DIR/scim-gateway" serve --drain-delay 0s --config "$WORK/gateway-$mode.yaml"
  local pid_var="PID_gw_$mode"
  wait_http "http://127.0.0.1:$admin/readyz" "$(($# ? 300 : 30))" "${!pid_var}" "$WORK/gateway-$mode.log"
  # env, taskset and valgrind exec, so the recorded pid is the gateway's own.
  (($#)) || [[ "$(readlink "/proc/${!pid_var}/exe")" == "$BIN_DIR/scim-gateway" ]] || die "pid ${!pid_var} is not the gateway"
}

# warm MODE reads every user once through MODE's gateway (id mappings cached, connections open).
warm() {
  local url="URL_$1"
  on_client "$BIN_DIR/scim-loadgen" --base-url "${!url}/scim/v2" --token "$SCIM_TOKEN" --sim-url "$SIM_URL" \
    --scenario get --users "$USERS" --requests "$USERS" --concurrency 16 --prefix bget >"$WORK/warm-$1.txt"
  answers_ok "$WORK/warm-$1.txt" || die "warming $1 failed: $(tail -1 "$WORK/warm-$1.txt")"
}
sink_stat() { local u="SINK_$1"; curl -fsS "${!u}/stats" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }

# get_user_calls prints how many GETs of a user by id portal-sim answered 200 (the route template has
# braces, which sim_count's entry pattern cannot hold).
get_user_calls() {
  curl -fsS "$SIM_URL/_sim/stats" | grep -o '"GET","route":"/api/usersync/v1/users({idUser})","status":200,"count":[0-9]*' |
    sed 's/.*://' | awk '{ n += $1 } END { print n + 0 }'
}

# instructions runs the --instructions measurement (see the top) and prints its table.
instructions() {
  command -v valgrind >/dev/null && command -v callgrind_control >/dev/null || die "--instructions needs valgrind"
  local mode pid pid_var n ir raw idle t0 t1 base="" roots0=0 roots1=0 spans0=0 spans1=0 sampled rows=()
  for mode in "${MODES[@]}"; do
    log "$mode: the gateway under callgrind"
    start_gateway "$mode" env GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off valgrind --tool=callgrind \
      --callgrind-out-file="$WORK/callgrind-$mode.out"
    pid_var="PID_gw_$mode" && pid="${!pid_var}"
    warm "$mode"
    sleep 3 # the warm-up's spans exported (the batch span processor exports every 2 s)
    # What the gateway does while idle (its timers, the Go runtime's background work) is counted over
    # 5 s, and that rate times the measured window's length taken off the window's count: under
    # callgrind a GET takes some 20 ms, so the idle work would otherwise weigh in per GET.
    callgrind_control -z "$pid" >/dev/null || die "callgrind_control -z $pid failed"
    sleep 5
    callgrind_control -d "$pid" >/dev/null || die "callgrind_control -d $pid failed" # dumps part 1, zeroes
    t0=$(date +%s.%N)
    local calls0 calls1 url="URL_$mode"
    calls0=$(get_user_calls)
    if [[ "$(kind "$mode")" != off ]]; then roots0=$(sink_stat "$mode" rootSpans) spans0=$(sink_stat "$mode" spans); fi
    # curl, 8 in parallel over kept-alive connections: an exact number of GETs, where wrk runs for a time.
    awk -v n="$INSTRUCTIONS" -v base="${!url}" '{ p[NR] = $0 } END { for (i = 0; i < n; i++) print "url = \"" base p[i % NR + 1] "\"\noutput = \"/dev/null\"" }' \
      "$WORK/paths.txt" >"$WORK/curl-$mode.cfg"
    on_client curl -sS --no-progress-meter --parallel --parallel-max 8 -H "Authorization: Bearer $SCIM_TOKEN" \
      -w '%{http_code}\n' -K "$WORK/curl-$mode.cfg" >"$WORK/curl-$mode.txt" 2>"$WORK/curl-$mode.err" ||
      die "curl failed: $(tail -3 "$WORK/curl-$mode.err")"
    [[ "$(grep -c '^200$' "$WORK/curl-$mode.txt")" == "$INSTRUCTIONS" ]] || die "$mode: not every GET answered 200: $(sort "$WORK/curl-$mode.txt" | uniq -c)"
    sleep 3 # their spans exported too
    callgrind_control -d "$pid" >/dev/null || die "callgrind_control -d $pid failed" # part 2
    t1=$(date +%s.%N)
    calls1=$(get_user_calls)
    if [[ "$(kind "$mode")" != off ]]; then roots1=$(sink_stat "$mode" rootSpans) spans1=$(sink_stat "$mode" spans); fi
    stop_pid "$pid"
    n=$((calls1 - calls0))
    ((n >= INSTRUCTIONS)) || die "$mode: $n getUser calls reached the portal, want at least $INSTRUCTIONS"
    idle=$(awk '/^totals:/ { print $2 }' "$WORK/callgrind-$mode.out.1")
    raw=$(awk '/^totals:/ { print $2 }' "$WORK/callgrind-$mode.out.2")
    [[ -n "$idle" && -n "$raw" ]] || die "$mode: no totals in the callgrind dumps"
    ir=$(calc "$raw - $idle / 5 * ($t1 - $t0)" 0)
    [[ -n "$base" ]] || base=$(calc "$ir / $n" 0)
    sampled="-"
    [[ "$(kind "$mode")" == off ]] || sampled="$((roots1 - roots0)) traces, $((spans1 - spans0)) spans ($(calc "100 * ($roots1 - $roots0) / $n" 1)%)"
    rows+=("| $mode | $n | $(calc "$raw / 1e6" 1) | $(calc "($raw - $ir) / 1e6" 1) | $(calc "$ir / $n" 0) | $(calc "($ir / $n / $base - 1) * 100" 1)% | $sampled |")
    log "${rows[-1]}"
  done
  echo "Instructions (callgrind, user space) of the gateway per warm GET /Users/{id}: run of $(date -u '+%Y-%m-%d %H:%M UTC'),"
  echo "commit $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$REPO_ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)'), $(go version | cut -d' ' -f3), 8 connections, $USERS users."
  echo
  echo "| tracing | GETs | instructions in the window (millions) | of which idle work (millions) | instructions per GET, idle work taken off | vs ${MODES[0]} | sampled |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  exit 0
}

seed_users "$USERS" bget
if ((INSTRUCTIONS)); then instructions; fi
for mode in "${MODES[@]}"; do start_gateway "$mode"; done
for mode in "${MODES[@]}"; do warm "$mode"; done

# proc_counts PID prints the process's utime, stime (clock ticks) and minor page faults.
proc_counts() { awk '{ print $14, $15, $10 }' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

# run NAME MODE SECONDS: wrk against MODE's gateway; records req/s, requests and the gateway's CPU.
run() {
  local name="$1" mode="$2" secs="$3" url="URL_$2" pid_var="PID_gw_$2" c0 c1
  read -r -a c0 <<<"$(proc_counts "${!pid_var}")"
  BENCH_PATHS="$WORK/paths.txt" BENCH_TOKEN="$SCIM_TOKEN" on_client wrk -t2 -c"$CONNECTIONS" -d"${secs}s" --latency \
    --timeout 10s -s "$REPO_ROOT/scripts/wrk-paths.lua" "${!url}" >"$WORK/wrk-$name.txt" 2>&1 || die "wrk $name failed: $(cat "$WORK/wrk-$name.txt")"
  read -r -a c1 <<<"$(proc_counts "${!pid_var}")"
  if grep -q -E 'Non-2xx|Socket errors' "$WORK/wrk-$name.txt"; then
    die "wrk $name: errors: $(grep -E 'Non-2xx|Socket errors' "$WORK/wrk-$name.txt")"
  fi
  echo "$((c1[0] - c0[0] + c1[1] - c0[1])) $((c1[0] - c0[0])) $((c1[1] - c0[1])) $((c1[2] - c0[2]))" >"$WORK/cpu-$name.txt"
}
rps() { awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk-$1.txt"; }
requests() { awk '/requests in/ { print $1 }' "$WORK/wrk-$1.txt"; }
# cpu_us NAME [FIELD] prints the gateway's CPU per GET of a run in microseconds: user and system
# (FIELD 1, the default), user (2) or system (3); FIELD 4 prints its minor page faults per GET.
cpu_us() {
  awk -v f="${2:-1}" -v n="$(requests "$1")" -v hz="$TICK" '{ if (f == 4) printf "%.3f", $4 / n; else printf "%.1f", $f / hz * 1e6 / n }' "$WORK/cpu-$1.txt"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# median_ci RATIO... prints the distribution-free 95% confidence interval of the median of the ratios
# as percentages off 1 ("-6.1% to -3.2%"): the k-th smallest and k-th largest value, k = n/2 - 0.98 sqrt(n)
# rounded down (the normal approximation of the binomial; "-" for fewer than 6 rounds).
median_ci() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    k = int(NR / 2 - 0.98 * sqrt(NR)); if (k < 1) { print "-"; exit }
    printf "%+.1f%% to %+.1f%%", (v[k] - 1) * 100, (v[NR - k + 1] - 1) * 100 }'
}
log "warm-up: 3 s per gateway"
for mode in "${MODES[@]}"; do run "warmup-$mode" "$mode" 3; done
sleep 3 # the batch span processor exports every 2 s: let the warm-up's spans land before counting
declare -A ROOTS0 SPANS0
for mode in "${TRACED[@]}"; do ROOTS0[$mode]=$(sink_stat "$mode" rootSpans) SPANS0[$mode]=$(sink_stat "$mode" spans); done

log "$ROUNDS rounds of ${MODES[*]}, ${SECONDS_PER_RUN}s each, $CONNECTIONS connections$( ((TOGETHER)) && echo ", all at once")"
declare -A RATIOS CPURATIOS
for round in $(seq 1 "$ROUNDS"); do
  line="round $round:"
  order=("${MODES[@]}")
  if ((round % 2 == 0)); then
    order=()
    for ((i = ${#MODES[@]} - 1; i >= 0; i--)); do order+=("${MODES[$i]}"); done
  fi
  if ((TOGETHER)); then
    pids=()
    for mode in "${order[@]}"; do
      run "$mode-$round" "$mode" "$SECONDS_PER_RUN" &
      pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || die "round $round: a run failed"; done
  fi
  for mode in "${order[@]}"; do
    ((TOGETHER)) || run "$mode-$round" "$mode" "$SECONDS_PER_RUN"
    line+=" $mode $(rps "$mode-$round") req/s $(cpu_us "$mode-$round") us CPU/GET;"
  done
  for mode in "${MODES[@]:1}"; do
    RATIOS[$mode]+=" $(calc "$(rps "$mode-$round") / $(rps "$BASE-$round")" 4)"
    CPURATIOS[$mode]+=" $(calc "$(cpu_us "$mode-$round") / $(cpu_us "$BASE-$round")" 4)"
  done
  log "$line"
done
sleep 3

MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs ($MODEL), $(uname -sr), $(go version | cut -d' ' -f3)."
echo "Commit: $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$REPO_ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')."
echo "Pinning: the gateways on CPU $SERVER_CPU; portal-sim, Redis, the otlpsinks and wrk on CPU $CLIENT_CPU."
echo "$ROUNDS rounds of ${SECONDS_PER_RUN}s runs, $CONNECTIONS connections, warm GET /Users/{id} over $USERS users, portal at 0 ms$( ((TOGETHER)) && echo "; the gateways under load all at once, sharing CPU $SERVER_CPU (compare CPU per GET, not req/s)")."
echo
echo "| tracing | req/s per round | median req/s | gateway CPU per GET, median (us) | req/s vs $BASE (median of rounds) | 95% CI | CPU per GET vs $BASE (median of rounds) | 95% CI | spans received |"
echo "|---|---|---|---|---|---|---|---|---|"
for mode in "${MODES[@]}"; do
  r=() c=() n=0
  for round in $(seq 1 "$ROUNDS"); do
    r+=("$(rps "$mode-$round")") c+=("$(cpu_us "$mode-$round")")
    n=$((n + $(requests "$mode-$round")))
  done
  vs="-" ci="-" cvs="-" cci="-" spans="(off)"
  if [[ "$mode" != "$BASE" ]]; then
    # shellcheck disable=SC2086
    vs="$(calc "($(median ${RATIOS[$mode]}) - 1) * 100" 1)%"
    # shellcheck disable=SC2086
    ci="$(median_ci ${RATIOS[$mode]})"
    # shellcheck disable=SC2086
    cvs="$(calc "($(median ${CPURATIOS[$mode]}) - 1) * 100" 1)%"
    # shellcheck disable=SC2086
    cci="$(median_ci ${CPURATIOS[$mode]})"
  fi
  if [[ "$(kind "$mode")" != off ]]; then
    roots=$(($(sink_stat "$mode" rootSpans) - ROOTS0[$mode]))
    spans=$(($(sink_stat "$mode" spans) - SPANS0[$mode]))
    spans="$spans spans, $roots traces for $n GETs ($(calc "100 * $roots / $n" 1)% sampled)"
  fi
  echo "| $mode | ${r[*]} | $(median "${r[@]}") | $(median "${c[@]}") | $vs | $ci | $cvs | $cci | $spans |"
done
echo
line="Per-round ratios to $BASE:"
for mode in "${MODES[@]:1}"; do line+=" $mode req/s${RATIOS[$mode]}, CPU${CPURATIOS[$mode]};"; done
echo "${line%;}."
echo
echo "Where the gateway's CPU per GET goes, medians of the rounds:"
echo
echo "| tracing | user (us) | system (us) | minor page faults per GET |"
echo "|---|---|---|---|"
for mode in "${MODES[@]}"; do
  u=() s=() f=()
  for round in $(seq 1 "$ROUNDS"); do
    u+=("$(cpu_us "$mode-$round" 2)") s+=("$(cpu_us "$mode-$round" 3)") f+=("$(cpu_us "$mode-$round" 4)")
  done
  echo "| $mode | $(median "${u[@]}") | $(median "${s[@]}") | $(median "${f[@]}") |"
done
echo
if ((TOGETHER)); then
  ticks=0
  for mode in "${MODES[@]}"; do ticks=$((ticks + $(cut -d' ' -f1 "$WORK/cpu-$mode-$ROUNDS.txt"))); done
  echo "Gateways' CPU ($SERVER_CPU) busy during the last round, all together: $(calc "$ticks / $TICK / $SECONDS_PER_RUN * 100" 0)% of a CPU."
else
  echo "Gateway CPU ($SERVER_CPU) busy during the last $BASE run: $(calc "$(cut -d' ' -f1 "$WORK/cpu-$BASE-$ROUNDS.txt") / $TICK / $SECONDS_PER_RUN * 100" 0)% of a CPU."
fi

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
