# shellcheck shell=bash
# ./quartet test: test suites. Each suite is a function suite_<name> that adds
# to the PASSED/FAILED/SKIPPED counters; QUARTET_SUITES lists them in order.
# Suites never touch the dev stack (.quartet/pg, its ports).

QUARTET_SUITES=(shell backend compose web e2e)

PASSED=0
FAILED=0
SKIPPED=0

# count PASSED FAILED SKIPPED: adds to the totals.
count() {
  PASSED=$((PASSED + $1))
  FAILED=$((FAILED + $2))
  SKIPPED=$((SKIPPED + $3))
}

# Suite "shell": shellcheck over every shell script; one test.
suite_shell() {
  local files=(quartet .ci/run) extra=()
  mapfile -t extra < <(find scripts -type f -name '*.sh' 2>/dev/null | sort)
  files+=("${extra[@]}")
  say "shellcheck ${files[*]}"
  if shellcheck -x "${files[@]}"; then
    say "shell: passed"
    count 1 0 0
  else
    say "shell: FAILED"
    count 0 1 0
  fi
}

# The backend tests keep their servers' data in $TMPDIR/quartet-tests/<pid>-...;
# a folder whose test process is gone is left over from an aborted run.
clean_stale_test_dirs() {
  local base="${TMPDIR:-/tmp}/quartet-tests" dir pid
  [[ -d "$base" ]] || return 0
  for dir in "$base"/*/; do
    [[ -d "$dir" ]] || continue
    dir="${dir%/}"
    pid="${dir##*/}"
    pid="${pid%%-*}"
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    pid_alive "$pid" && continue
    say "removing stale test folder $dir"
    rm -rf -- "$dir" || warn "could not remove $dir"
  done
}

# Suite "backend": dotnet test over the solution; counts come from the
# per-assembly summary lines, e.g.
#   Passed!  - Failed:     0, Passed:    42, Skipped:     0, Total:    42, ...
suite_backend() {
  local log="$LOG_DIR/test-backend.log" rc=0 line key
  local p=0 f=0 s=0 found=0
  local re='(Passed|Failed|Skipped)![[:space:]]+-[[:space:]]+Failed:[[:space:]]*([0-9]+),[[:space:]]*Passed:[[:space:]]*([0-9]+),[[:space:]]*Skipped:[[:space:]]*([0-9]+)'
  local re_summary='Test summary:[[:space:]]*total:[[:space:]]*([0-9]+),[[:space:]]*failed:[[:space:]]*([0-9]+),[[:space:]]*succeeded:[[:space:]]*([0-9]+),[[:space:]]*skipped:[[:space:]]*([0-9]+)'
  local -A seen=()

  clean_stale_test_dirs
  say "dotnet test Quartet.slnx (log: $(rel "$log"))"
  # No lingering build servers: they would outlive the run.
  MSBUILDDISABLENODEREUSE=1 UseSharedCompilation=false \
    dotnet test Quartet.slnx -c Release --nologo --logger "console;verbosity=minimal" \
    </dev/null 2>&1 | tee "$log" || rc=$?

  while IFS= read -r line; do
    line="$(printf '%s' "$line" | sed -E 's/\x1b\[[0-9;]*[A-Za-z]//g')"
    if [[ "$line" =~ $re ]]; then
      # One summary per test assembly; the line ends with its name.
      key="${line##* - }"
      [[ -n "${seen[$key]:-}" ]] && continue
      seen[$key]=1
      f=$((f + BASH_REMATCH[2]))
      p=$((p + BASH_REMATCH[3]))
      s=$((s + BASH_REMATCH[4]))
      found=1
    fi
  done < <(grep -E '(Passed|Failed|Skipped)!' "$log" || true)

  if ((found == 0)); then
    # Terminal-logger style summary, should the output use it.
    while IFS= read -r line; do
      if [[ "$line" =~ $re_summary ]]; then
        f=$((f + BASH_REMATCH[2]))
        p=$((p + BASH_REMATCH[3]))
        s=$((s + BASH_REMATCH[4]))
        found=1
      fi
    done < <(grep -E 'Test summary:' "$log" || true)
  fi

  if ((rc != 0 && f == 0)); then
    say "backend: dotnet test exited with $rc and reported no failed test; counting 1 failure"
    f=1
  fi
  say "backend: $p passed, $f failed, $s skipped"
  count "$p" "$f" "$s"
}

# test_environment: packages and the variables the backend test harness reads.
test_environment() {
  ensure_packages postgres redis shellcheck nginx envsubst jq
  ensure_dotnet
  mkdir -p "$LOG_DIR"
  # For the backend test harness, which starts its own servers on free ports.
  QUARTET_PG_BIN="$(pg_bindir)"
  QUARTET_REDIS_SERVER="$(command -v redis-server)"
  export QUARTET_PG_BIN QUARTET_REDIS_SERVER
}

# ./quartet openapi: rewrites docs/openapi.json from the live document (the
# drift test then passes); commit the result with the API change.
cmd_openapi() {
  test_environment
  say "refreshing docs/openapi.json from GET /api/openapi.json"
  QUARTET_UPDATE_OPENAPI=1 MSBUILDDISABLENODEREUSE=1 UseSharedCompilation=false \
    dotnet test Quartet.slnx -c Release --nologo --filter "FullyQualifiedName~OpenApiDocumentTests" </dev/null ||
    die "could not refresh docs/openapi.json"
  say "docs/openapi.json is current"
}

# json_count FILE JQ_EXPR: a number from a runner's JSON report, 0 when absent.
json_count() { jq -r "$2 // 0" "$1" 2>/dev/null || printf '0\n'; }

# Suite "web": the SPA's own checks. Each step that is not a test runner
# (install, API client up to date, type-checked build) counts as one test.
suite_web() {
  local log="$LOG_DIR/test-web.log" report="$WEB_DIR/test-results/vitest.json" p f
  ensure_packages npm jq
  : >"$log"
  say "web: npm ci, check:api, build, vitest (log: $(rel "$log"))"
  if ! (cd "$WEB_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund) </dev/null >>"$log" 2>&1; then
    show_tail "$log" 20
    say "web: npm ci FAILED"
    count 0 1 0
    return 0
  fi
  local step
  for step in check:api build; do
    if (cd "$WEB_DIR" && npm run "$step") </dev/null >>"$log" 2>&1; then
      say "web: $step passed"
      count 1 0 0
    else
      show_tail "$log" 20
      say "web: $step FAILED"
      count 0 1 0
    fi
  done
  touch "$WEB_DIR/dist/$WEB_STAMP_NAME" 2>/dev/null || true
  rm -f "$report"
  (cd "$WEB_DIR" && npm test) </dev/null 2>&1 | tee -a "$log" | grep -E 'Test Files|Tests ' || true
  p="$(json_count "$report" .numPassedTests)"
  f="$(json_count "$report" .numFailedTests)"
  if [[ ! -f "$report" ]]; then
    say "web: vitest wrote no report; counting 1 failure"
    f=1
  fi
  say "web: vitest $p passed, $f failed"
  count "$p" "$f" 0
}

# Suite "e2e": Playwright in Debian's Chromium against a whole private stack
# (nginx, backend, PostgreSQL, Redis) started by ./quartet up on free ports with
# its own state folder, as a user would run it, then ./quartet bench --smoke on
# the same stack; stopped and removed afterwards.
suite_e2e() {
  local log="$LOG_DIR/test-e2e.log" report="$WEB_DIR/test-results/e2e.json" state p f flaky skipped rc=0
  ensure_packages chromium npm jq
  state="$(mktemp -d "${TMPDIR:-/tmp}/quartet-e2e.XXXXXX")"
  chmod 755 "$state" # PostgreSQL and nginx run as their own users
  local -a env=(QUARTET_MODE=native "QUARTET_STATE_DIR=$state" "QUARTET_HTTP_PORT=$(free_port)" "QUARTET_BACKEND_PORT=$(free_port)"
    "QUARTET_PG_PORT=$(free_port)" "QUARTET_REDIS_PORT=$(free_port)" "ADMIN_EMAIL=admin@e2e.quartet.localhost")
  : >"$log"
  say "e2e: starting a private stack in $state (log: $(rel "$log"))"
  if ! env "${env[@]}" "$QUARTET_ROOT/quartet" up </dev/null >>"$log" 2>&1; then
    show_tail "$log" 30
    say "e2e: the stack did not start; counting 1 failure"
    env "${env[@]}" "$QUARTET_ROOT/quartet" down </dev/null >>"$log" 2>&1 || true
    rm -rf -- "$state"
    count 0 1 0
    return 0
  fi
  rm -f "$report"
  local url
  url="$(printf '%s\n' "${env[@]}" | sed -n 's/^QUARTET_HTTP_PORT=/http:\/\/127.0.0.1:/p')"
  (cd "$WEB_DIR" && QUARTET_E2E_URL="$url" QUARTET_E2E_ADMIN_EMAIL=admin@e2e.quartet.localhost \
    QUARTET_E2E_ADMIN_PASSWORD_FILE="$state/secrets/admin_password" npm run e2e) </dev/null 2>&1 | tee -a "$log" |
    grep -E '^\s+[0-9]+ (passed|failed|flaky|skipped)' || rc=$?
  # The benchmark in smoke mode, on the same private stack, so it keeps working: one test.
  local bench_ok=0
  if env "${env[@]}" "$QUARTET_ROOT/quartet" bench --smoke --url "$url" </dev/null >"$state/bench.log" 2>&1 &&
    grep -q '^targets (this run):' "$state/bench.log" && grep -q '^backend start -> /health/ready 200: [0-9]' "$state/bench.log"; then
    bench_ok=1
    say "e2e: bench --smoke passed"
  else
    cat "$state/bench.log" >>"$log"
    show_tail "$state/bench.log" 20
    say "e2e: bench --smoke FAILED"
  fi
  env "${env[@]}" "$QUARTET_ROOT/quartet" down </dev/null >>"$log" 2>&1 || warn "e2e: the private stack did not stop cleanly"
  rm -rf -- "$state"
  p="$(json_count "$report" .stats.expected)"
  f="$(json_count "$report" .stats.unexpected)"
  flaky="$(json_count "$report" .stats.flaky)"
  skipped="$(json_count "$report" .stats.skipped)"
  if [[ ! -f "$report" ]]; then
    say "e2e: Playwright wrote no report; counting 1 failure"
    f=1
  fi
  # A test that passed only on a retry is not a pass.
  say "e2e: $p passed, $((f + flaky)) failed, $skipped skipped"
  count "$p" "$((f + flaky))" "$skipped"
  count "$bench_ok" "$((1 - bench_ok))" 0
}

cmd_test() {
  local suite suites=("$@")
  ((${#suites[@]} > 0)) || suites=("${QUARTET_SUITES[@]}")
  for suite in "${suites[@]}"; do
    declare -F "suite_$suite" >/dev/null ||
      die "unknown test suite '$suite' (suites: ${QUARTET_SUITES[*]})"
  done

  test_environment

  for suite in "${suites[@]}"; do
    say "suite $suite"
    "suite_$suite"
  done

  local totals="$PASSED passed, $FAILED failed"
  ((SKIPPED > 0)) && totals+=", $SKIPPED skipped"
  printf '%s\n' "$totals"
  ((FAILED == 0))
}
