#!/usr/bin/env bash
# Runs govulncheck on the module (./..., from the repository root) against the Go vulnerability
# database, built locally from its source: the golang.org/x/vulndb module, which the Go module proxy
# serves, while the database's own host (and so govulncheck's default -db) may be out of reach.
# tools/mkvulndb turns the module's data/osv entries into the layout `govulncheck -db file://DIR`
# reads.
#
# usage: scripts/vulncheck.sh              check the module; exits with govulncheck's status:
#                                          0 when no vulnerability affects code we call,
#                                          3 when one does (listed on stdout), 1 on any error.
#                                          The advisories listed in .vulnignore (one "ID reason" a
#                                          line) are left out of the database, printed with their
#                                          reasons before the scan, and scanned for again on their
#                                          own afterwards, which says for each whether it still
#                                          reaches our code; this second scan does not change the
#                                          status unless it cannot complete (1). An id of
#                                          .vulnignore that is not in the data is warned about.
#        scripts/vulncheck.sh --no-ignore  the same check with nothing ignored: the full report
#        scripts/vulncheck.sh --self-test  prove the check can fail: run govulncheck against two
#                                          made-up databases (tools/mkvulndb/testdata/selftest),
#                                          one listing echo.New and Echo.ServeHTTP as vulnerable in
#                                          our echo/v4 version (must report it, exit 3), one listing
#                                          only an old version and a function we do not call (must
#                                          exit 0); exits 0 when both hold, 1 otherwise.
#                                          .vulnignore is not used.
#
# Environment:
#   VULNDB_VERSION  the golang.org/x/vulndb version to use (default "latest", which asks the proxy
#                   each run); a pinned version needs no network once it is in the module cache.
#
# Nothing is skipped quietly: when the proxy cannot serve govulncheck or the vulnerability data, the
# script says so and exits 1. It writes only to a temporary folder, removed on exit, and the Go
# caches.
set -euo pipefail

# GOVULNCHECK_VERSION is the govulncheck release used; raise it deliberately.
GOVULNCHECK_VERSION=v1.9.0

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELFTEST_DIR="$REPO_ROOT/tools/mkvulndb/testdata/selftest"
# IGNORE_LIST is the ignore list, relative to REPO_ROOT (so that messages name it so).
IGNORE_LIST=.vulnignore
USAGE="usage: scripts/vulncheck.sh [--no-ignore | --self-test]"

say() { printf 'vulncheck: %s\n' "$*"; }
fail() {
  printf 'vulncheck: FAILED: %s\n' "$*" >&2
  exit 1
}

mode=check
use_ignore=1
case "${1:-}" in
  "") ;;
  --no-ignore) use_ignore=0 ;;
  --self-test) mode=selftest ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  *) fail "unknown argument $1 ($USAGE)" ;;
esac
[[ $# -le 1 ]] || fail "too many arguments ($USAGE)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/vulncheck.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# install_govulncheck builds govulncheck into $WORK/bin. It is installed rather than `go run`, whose
# own exit status is 1 whatever the program's: the status (3 = vulnerabilities found) must come
# through. On a warm cache this is a link step.
install_govulncheck() {
  (cd "$WORK" && GOWORK=off GOBIN="$WORK/bin" go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION") ||
    fail "cannot build golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION (module proxy: $(go env GOPROXY))"
}

# build_db OSV_DIR OUT_DIR [MODIFIED [IGNORE_LIST]] builds a database with tools/mkvulndb, leaving
# out the entries of IGNORE_LIST (a path relative to REPO_ROOT) when given. What mkvulndb prints on
# stdout (one "mkvulndb: IGNORED ID (FILE:LINE): REASON" line per entry left out, then a summary) is
# also kept in OUT_DIR.log; its warnings (stale ignore rules) go to stderr.
build_db() {
  local args=(-osv "$1" -out "$2")
  [[ -n "${3:-}" ]] && args+=(-modified "$3")
  [[ -n "${4:-}" ]] && args+=(-ignore "$4")
  (cd "$REPO_ROOT" && go run ./tools/mkvulndb "${args[@]}") | tee "$2.log" ||
    fail "tools/mkvulndb could not build the database from $1"
  [[ -s "$2/index/modules.json" ]] || fail "tools/mkvulndb wrote no index to $2"
}

# run_govulncheck DB_DIR [ARGS...] runs govulncheck on ./... from the repository root against DB_DIR
# and sets GOVULNCHECK_STATUS.
run_govulncheck() {
  local db="$1"
  shift
  GOVULNCHECK_STATUS=0
  (cd "$REPO_ROOT" && "$WORK/bin/govulncheck" -db "file://$db" "$@" ./...) || GOVULNCHECK_STATUS=$?
}

# json_field NAME FILE prints the string value of "NAME" in the JSON FILE (go's indented output, one
# field a line; the values read here hold no quotes).
json_field() {
  sed -n "s/^[[:space:]]*\"$1\": *\"\([^\"]*\)\".*/\1/p" "$2" | head -n 1
}

# fetch_vulndb sets VULNDB_DIR, VULNDB_RESOLVED and VULNDB_TIME from golang.org/x/vulndb@$VULNDB_VERSION,
# downloaded through the module proxy (or found in the module cache) from a throwaway module so that
# the repository's go.mod is neither read nor touched.
fetch_vulndb() {
  local want="${VULNDB_VERSION:-latest}" mod="$WORK/fetch" out="$WORK/vulndb.json"
  mkdir -p "$mod"
  printf 'module vulncheck.invalid\n\ngo 1.26\n' >"$mod/go.mod"
  if ! (cd "$mod" && GOWORK=off GOFLAGS=-mod=mod go mod download -json "golang.org/x/vulndb@$want") >"$out"; then
    cat "$out" >&2
    fail "cannot download golang.org/x/vulndb@$want (module proxy: $(go env GOPROXY)); no vulnerability data, no check"
  fi
  VULNDB_DIR="$(json_field Dir "$out")"
  VULNDB_RESOLVED="$(json_field Version "$out")"
  local info
  info="$(json_field Info "$out")"
  VULNDB_TIME="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info" 2>/dev/null || true)"
  [[ -d "$VULNDB_DIR/data/osv" ]] || fail "golang.org/x/vulndb@$VULNDB_RESOLVED has no data/osv folder at ${VULNDB_DIR:-(no Dir)}"
  [[ -n "$VULNDB_TIME" ]] || fail "no commit time for golang.org/x/vulndb@$VULNDB_RESOLVED in ${info:-(no Info file)}"
}

# rule_line CHAR prints a line of 72 CHARs.
rule_line() {
  local line
  printf -v line '%72s' ''
  say "${line// /$1}"
}

# check_ignored DB_LOG OSV_DIR MODIFIED scans for the entries that the database built with DB_LOG as
# its log left out, against a database of those entries alone, and says for each whether it still
# reaches our code. It sets IGNORED_IDS (space-separated) and exits 1 when the scan cannot complete.
check_ignored() {
  local log="$1" osv="$2" modified="$3" dir="$WORK/ignored-osv" out="$WORK/ignored.out" id
  IGNORED_IDS="$(sed -n 's/^mkvulndb: IGNORED \([^ ]*\) .*/\1/p' "$log" | tr '\n' ' ')"
  IGNORED_IDS="${IGNORED_IDS% }"
  [[ -n "$IGNORED_IDS" ]] || return 0
  mkdir -p "$dir"
  for id in $IGNORED_IDS; do
    cp "$osv/$id.json" "$dir/" || fail "cannot copy the ignored entry $id"
  done
  build_db "$dir" "$WORK/ignored-db" "$modified" >/dev/null
  run_govulncheck "$WORK/ignored-db" >"$out" 2>&1
  case "$GOVULNCHECK_STATUS" in
    0 | 3) ;;
    *)
      sed 's/^/    /' "$out"
      fail "the scan for the ignored advisories exited $GOVULNCHECK_STATUS: it could not complete (see above)"
      ;;
  esac
  rule_line '-'
  say "Ignored advisories, scanned for on their own (full report: scripts/vulncheck.sh --no-ignore):"
  for id in $IGNORED_IDS; do
    if grep -qE "^Vulnerability #[0-9]+: $id\$" "$out"; then
      say "  $id: still reaches our code; ignored per $IGNORE_LIST"
    else
      say "  $id: no longer reaches our code: remove it from $IGNORE_LIST"
    fi
  done
  rule_line '-'
}

check() {
  local started=$SECONDS ignore=""
  install_govulncheck
  fetch_vulndb
  say "govulncheck $GOVULNCHECK_VERSION; vulnerability data golang.org/x/vulndb $VULNDB_RESOLVED, committed $VULNDB_TIME"
  if ((!use_ignore)); then
    say "--no-ignore: $IGNORE_LIST is not used, every advisory is checked"
  elif [[ -f "$REPO_ROOT/$IGNORE_LIST" ]]; then
    ignore="$IGNORE_LIST"
  else
    say "no $IGNORE_LIST: every advisory is checked"
  fi
  build_db "$VULNDB_DIR/data/osv" "$WORK/db" "$VULNDB_TIME" "$ignore" >/dev/null

  IGNORED_IDS=""
  if [[ -n "$ignore" ]]; then
    local ignored
    ignored="$(sed -n 's/^mkvulndb: IGNORED \([^ ]*\) ([^)]*): \(.*\)/\1: \2/p' "$WORK/db.log")"
    rule_line '='
    if [[ -n "$ignored" ]]; then
      say "IGNORED per $IGNORE_LIST: NOT checked by the scan below, but scanned for on their own after it:"
      while IFS= read -r line; do
        say "  $line"
      done <<<"$ignored"
    else
      say "$IGNORE_LIST ignores no advisory of the data"
    fi
    rule_line '='
  fi
  grep -v '^mkvulndb: IGNORED ' "$WORK/db.log" || true

  run_govulncheck "$WORK/db"
  local status=$GOVULNCHECK_STATUS
  [[ -z "$ignore" ]] || check_ignored "$WORK/db.log" "$VULNDB_DIR/data/osv" "$VULNDB_TIME"
  local apart=""
  [[ -z "$IGNORED_IDS" ]] || apart=", apart from the ones ignored per $IGNORE_LIST: ${IGNORED_IDS// /, }"
  case "$status" in
    0) say "OK: no known vulnerability reaches our code$apart (data as of $VULNDB_TIME, $((SECONDS - started))s)" ;;
    3) say "FAILED: govulncheck found vulnerabilities our code reaches (listed above; data as of $VULNDB_TIME)" ;;
    *) say "FAILED: govulncheck exited $status: it could not complete the scan (see above)" ;;
  esac
  exit "$status"
}

# expect_scan NAME WANT_STATUS MUST_HAVE MUST_NOT_HAVE builds the self-test database NAME, scans
# against it and checks the exit status and output; it prints one PASS or FAIL line and returns 1 on
# failure. An empty pattern checks nothing.
expect_scan() {
  local name="$1" want="$2" must="$3" mustnot="$4" db="$WORK/selftest-$1" out="$WORK/selftest-$1.out"
  build_db "$SELFTEST_DIR/$name" "$db" >/dev/null
  run_govulncheck "$db" >"$out" 2>&1
  local problems=()
  [[ "$GOVULNCHECK_STATUS" == "$want" ]] || problems+=("exit status $GOVULNCHECK_STATUS, want $want")
  [[ -z "$must" ]] || grep -qE -- "$must" "$out" || problems+=("output lacks /$must/")
  [[ -z "$mustnot" ]] || ! grep -qE -- "$mustnot" "$out" || problems+=("output has /$mustnot/")
  if ((${#problems[@]} == 0)); then
    say "self-test PASS: $name database: govulncheck exited $GOVULNCHECK_STATUS as expected"
    return 0
  fi
  local joined
  joined="$(printf '%s; ' "${problems[@]}")"
  say "self-test FAIL: $name database: ${joined%; }; govulncheck printed:"
  sed 's/^/    /' "$out"
  return 1
}

selftest() {
  install_govulncheck
  say "self-test with govulncheck $GOVULNCHECK_VERSION and the made-up databases in ${SELFTEST_DIR#"$REPO_ROOT/"}"
  local failed=0
  # GO-9999-0001 lists echo.New and Echo.ServeHTTP below v999.0.0: gateway.New calls echo.New.
  expect_scan affected 3 'Vulnerability #1: GO-9999-0001' 'Vulnerability #2' || failed=1
  # GO-9999-0002 is fixed below our echo/v4 version; GO-9999-0003 is a function we do not call.
  expect_scan unaffected 0 'Your code is affected by 0 vulnerabilities' 'Vulnerability #' || failed=1
  if ((failed)); then
    say "self-test FAILED"
    exit 1
  fi
  say "self-test PASSED: the check reports a vulnerability our code reaches and passes one it does not"
}

case "$mode" in
  check) check ;;
  selftest) selftest ;;
esac
