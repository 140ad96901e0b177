# Helpers shared by scripts/bench.sh and scripts/soak.sh: sourced, not run.
#
# Every process a script starts goes through start_proc, which records its pid; cleanup (installed as
# an EXIT trap by the caller) ends exactly those pids, and nothing else. Ports are taken from the
# unused ephemeral range and checked free before use; nothing here listens on 6379.

# The repository root.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# PIDS holds the pids of the processes started by start_proc, in order.
PIDS=()

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# free_port NAME sets the variable NAME to a TCP port that no socket on this machine uses, below the
# kernel's ephemeral range so that no outgoing connection takes it meanwhile. (A variable, not
# output: the ports handed out are remembered in USED_PORTS, which a $(...) subshell would lose.)
free_port() {
  local name="$1" p lo
  lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  ((lo > 21000)) || lo=61000 # an unusual range: fall back to the ports above it
  for _ in $(seq 1 200); do
    if ((lo == 61000)); then p=$((61000 + RANDOM % 4000)); else p=$((20000 + RANDOM % (lo - 20000))); fi
    [[ " ${USED_PORTS:-} " == *" $p "* ]] && continue # handed out earlier in this run
    if ! ss -Htan "( sport = :$p )" | grep -q .; then
      USED_PORTS="${USED_PORTS:-} $p"
      printf -v "$name" '%s' "$p"
      return 0
    fi
  done
  die "no free port found"
}

# build_binaries DIR builds scim-gateway, portal-sim and scim-loadgen into DIR, and refproxy (the
# benchmark floor, tools/refproxy) too when WITH_REFPROXY=1.
build_binaries() {
  local dir="$1"
  mkdir -p "$dir"
  log "building binaries into $dir"
  (cd "$REPO_ROOT" && go build -o "$dir/scim-gateway" ./cmd/scim-gateway &&
    go build -o "$dir/portal-sim" ./cmd/portal-sim &&
    go build -o "$dir/scim-loadgen" ./cmd/scim-loadgen) || die "go build failed"
  if [[ "${WITH_REFPROXY:-0}" == 1 ]]; then
    (cd "$REPO_ROOT" && go build -o "$dir/refproxy" ./tools/refproxy) || die "refproxy build failed"
  fi
}

# start_proc NAME LOGFILE CMD... starts CMD in the background with its output in LOGFILE and
# records its pid in PIDS and in the variable PID_<NAME>.
start_proc() {
  local name="$1" logfile="$2"
  shift 2
  "$@" >"$logfile" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  printf -v "PID_$name" '%s' "$pid"
}

# stop_pid PID stops one process started by start_proc: SIGTERM, then SIGKILL after 10 s.
stop_pid() {
  local pid="$1"
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# cleanup stops every process started by start_proc, newest first.
cleanup() {
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    stop_pid "${PIDS[$i]}"
  done
  PIDS=()
}

# wait_http URL [SECONDS [PID LOGFILE]] waits until URL answers 2xx (default 30 s); with PID, it
# stops waiting as soon as that process has exited, and shows LOGFILE.
wait_http() {
  local url="$1" secs="${2:-30}" pid="${3:-}" logfile="${4:-}"
  for _ in $(seq 1 $((secs * 10))); do
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      die "the process serving $url exited: $(tail -n 5 "$logfile" 2>/dev/null)"
    fi
    sleep 0.1
  done
  die "$url did not answer within ${secs}s"
}

# wait_redis PORT waits until the redis-server on PORT answers PING.
wait_redis() {
  for _ in $(seq 1 100); do
    [[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == PONG ]] && return 0
    sleep 0.1
  done
  die "redis-server on port $1 did not start"
}

# start_redis NAME PORT LOGFILE starts a redis-server of the script's own, keeping nothing on disk.
start_redis() {
  local name="$1" port="$2" logfile="$3"
  [[ "$port" != 6379 ]] || die "refusing to start a redis-server on 6379"
  start_proc "$name" "$logfile" redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
    --daemonize no --dir "$(dirname "$logfile")"
  wait_redis "$port"
}

# on_client runs a command pinned to the client CPU ($CLIENT_CPU), off the server under test's CPU.
on_client() { taskset -c "$CLIENT_CPU" "$@"; }

# answers_ok FILE succeeds when scim-loadgen's report in FILE counts no error and no network error.
answers_ok() { grep -q '^answers:.* errors=0 .* network_errors=0 ' "$1"; }

# start_pinned_backends starts the benchmarks' own redis-server on $REDIS_PORT and portal-sim on
# $SIM_PORT (static token $STATIC_TOKEN), both pinned to CPU $CLIENT_CPU, off the server under test's
# CPU, and waits for both to answer. Logs go to $WORK.
start_pinned_backends() {
  [[ "$REDIS_PORT" != 6379 ]] || die "refusing port 6379"
  start_proc redis "$WORK/redis.log" taskset -c "$CLIENT_CPU" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
    --save "" --appendonly no --dir "$WORK"
  wait_redis "$REDIS_PORT"
  start_proc sim "$WORK/portal-sim.log" taskset -c "$CLIENT_CPU" "$BIN_DIR/portal-sim" --listen "127.0.0.1:$SIM_PORT" \
    --static-token "$STATIC_TOKEN" --seed 1
  wait_http "http://127.0.0.1:$SIM_PORT/_sim/stats" 30 "$PID_sim" "$WORK/portal-sim.log"
}

# seed_users N PREFIX creates N users straight in portal-sim (at $PORTAL_URL, token $STATIC_TOKEN) and
# writes "idUser guidUser" per user to $WORK/ids.txt and their GET-by-id paths to $WORK/paths.txt.
seed_users() {
  local users="$1" prefix="$2" skip
  log "creating $users users"
  on_client "$BIN_DIR/scim-loadgen" --direct --base-url "$PORTAL_URL" --token "$STATIC_TOKEN" --sim-url "$SIM_URL" \
    --scenario initial --users "$users" --concurrency 16 --prefix "$prefix" >"$WORK/seed.txt"
  answers_ok "$WORK/seed.txt" || die "seeding users failed: $(tail -1 "$WORK/seed.txt")"
  : >"$WORK/ids.txt"
  for ((skip = 0; skip < users; skip += 500)); do
    curl -fsS -H "Authorization: Bearer $STATIC_TOKEN" "$PORTAL_URL/api/usersync/v1/users?\$top=500&\$skip=$skip" |
      grep -o '"idUser":[0-9]*,"guidUser":"[^"]*"' | sed 's/"idUser":\([0-9]*\),"guidUser":"\([^"]*\)"/\1 \2/' >>"$WORK/ids.txt"
  done
  [[ "$(wc -l <"$WORK/ids.txt")" == "$users" ]] || die "read $(wc -l <"$WORK/ids.txt") user ids, want $users"
  awk '{ print "/scim/v2/Users/" $2 }' "$WORK/ids.txt" >"$WORK/paths.txt"
}

# sim_faults URL JSON sets portal-sim's faults (PUT /_sim/faults).
sim_faults() {
  curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/json' --data "$2" "$1/_sim/faults" ||
    die "could not set portal-sim faults: $2"
}

# sim_count STATS PATTERN sums the counts of the entries of a /_sim/stats answer that contain
# PATTERN (a fixed string, e.g. 'status":503,').
sim_count() {
  grep -o '{[^{}]*}' <<<"$1" | grep -F -- "$2" | sed -n 's/.*"count":\([0-9]*\).*/\1/p' | awk '{ n += $1 } END { print n + 0 }'
}

# rss_kib PID FIELD prints a field (VmRSS, VmHWM) of /proc/PID/status in KiB.
rss_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
