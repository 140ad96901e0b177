#!/usr/bin/env bash
# Resident memory of the gateway under large translated values (issue #13, item 1): starts its own
# portal-sim and gateway (in-process cache, default translation-log settings), creates one user, then
# sends N PATCHes (default 1,100) each replacing its `title` with a value of SIZE bytes (default
# 1,000,000: just under the default 1 MiB body limit), alternating two values so that every PATCH
# changes the title. Prints VmRSS and VmHWM of the gateway process (/proc/<pid>/status) before, right
# after and 20 s after the run, and the bytes the gateway wrote to stdout.
#
#   scripts/translog-memory.sh [--requests N] [--size BYTES] [--max-value-bytes N] [--bin-dir DIR] [--settle SECONDS]
#
# --max-value-bytes sets logging.translation.maxValueBytes (default: the gateway's, 1024); at its largest
# (65536) each record is about 131 KB and the ring's bufferBytes (8 MiB) is what bounds the memory.
# Needs curl, ss and go. Figures are in docs/performance.md; this is a measurement, not a test.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REQUESTS=1100
SIZE=1000000
SETTLE=20
BIN_DIR=""
MAX_VALUE_BYTES=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --requests) REQUESTS="$2"; shift 2 ;;
    --size) SIZE="$2"; shift 2 ;;
    --bin-dir) BIN_DIR="$2"; shift 2 ;;
    --settle) SETTLE="$2"; shift 2 ;;
    --max-value-bytes) MAX_VALUE_BYTES="$2"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "translog-memory.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

WORK="$(mktemp -d /tmp/scimgw-translog-mem.XXXXXX)"
finish() { cleanup; rm -rf "$WORK"; }
trap finish EXIT
trap 'exit 130' INT TERM

if [[ -z "$BIN_DIR" ]]; then
  BIN_DIR="$WORK/bin"
  build_binaries "$BIN_DIR"
fi

free_port SIM_PORT
free_port GW_PORT
free_port ADMIN_PORT
SIM_URL="http://127.0.0.1:$SIM_PORT"
GW_URL="http://127.0.0.1:$GW_PORT/scim/v2"
SCIM_TOKEN="mem-scim-$RANDOM$RANDOM-0123456789"
CLIENT_SECRET="mem-secret-$RANDOM$RANDOM-0123456789"

start_proc sim "$WORK/portal-sim.log" "$BIN_DIR/portal-sim" --listen "127.0.0.1:$SIM_PORT" \
  --client-id scim-gateway --client-secret "$CLIENT_SECRET"
wait_http "$SIM_URL/_sim/stats" 30 "$PID_sim" "$WORK/portal-sim.log"

cat >"$WORK/gateway.yaml" <<EOF
server:
  listen: "127.0.0.1:$GW_PORT"
  tokens:
    - {name: mem, value: "$SCIM_TOKEN"}
admin:
  listen: "127.0.0.1:$ADMIN_PORT"
upstream:
  baseURL: "$SIM_URL/portal"
  auth:
    type: oauth2
    clientID: scim-gateway
    clientSecret: "$CLIENT_SECRET"
EOF
if [[ -n "$MAX_VALUE_BYTES" ]]; then
  printf 'logging:\n  translation:\n    maxValueBytes: %s\n' "$MAX_VALUE_BYTES" >>"$WORK/gateway.yaml"
fi
start_proc gateway "$WORK/gateway.log" "$BIN_DIR/scim-gateway" serve --drain-delay 0s --config "$WORK/gateway.yaml"
wait_http "http://127.0.0.1:$ADMIN_PORT/readyz" 30 "$PID_gateway" "$WORK/gateway.log"

scim() { curl -sS -o "$WORK/answer" -w '%{http_code}' -H "Authorization: Bearer $SCIM_TOKEN" \
  -H 'Content-Type: application/scim+json' "$@"; }

status=$(scim -X POST --data '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"mem@contoso.com","active":true}' "$GW_URL/Users")
[[ "$status" == 201 ]] || die "create answered $status: $(cat "$WORK/answer")"
ID=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$WORK/answer")

for v in a b; do
  { printf '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"'
    head -c "$SIZE" /dev/zero | tr '\0' "$v"
    printf '"}]}'; } >"$WORK/patch-$v.json"
done

report() { echo "$1: VmRSS $(($(rss_kib "$PID_gateway" VmRSS) / 1024)) MiB, VmHWM $(($(rss_kib "$PID_gateway" VmHWM) / 1024)) MiB, stdout $(($(stat -c %s "$WORK/gateway.log") / 1024 / 1024)) MiB"; }
report "before"
for ((i = 0; i < REQUESTS; i++)); do
  v=a; ((i % 2)) && v=b
  status=$(scim -X PATCH --data-binary "@$WORK/patch-$v.json" "$GW_URL/Users/$ID")
  [[ "$status" == 204 ]] || die "PATCH $i answered $status: $(head -c 300 "$WORK/answer")"
done
report "after $REQUESTS PATCHes of a $SIZE-byte title"
sleep "$SETTLE"
report "${SETTLE} s later"
