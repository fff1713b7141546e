# shellcheck shell=bash
# ./quartet bench: the project's own load benchmark, through nginx, with wrk.
# Figures are printed, never asserted: a shared machine is too noisy for that.
# Ratios are taken within one run, against GET /health/live of the same run.

BENCH_NOTES=200
BENCH_SEARCH_WORD="quartz"

bench_usage() {
  cat <<EOF2
usage: ./quartet bench [--url URL] [--json FILE] [--smoke] [--compare-node] [--ab KEY=VALUE [--rounds N]]
  --url URL        load this Quartet (default: the native stack, started if needed)
  --json FILE      also write the figures to FILE as JSON
  --smoke          a few seconds in all, to check the benchmark itself works
  --compare-node   also load the Node.js (Fastify) service in bench/node-fastify on
                   the same data, behind the same nginx template, and print the ratios
  --seconds N      measure each scenario for N seconds (default 15; warm-up N/3)
  --ab KEY=VALUE   compare the running backend (A) with a second one whose environment
                   adds KEY=VALUE (B), alternating rounds (--rounds, default 3)
EOF2
}

# bench_request METHOD PATH [curl args...]: prints the body; fails on a non-2xx.
bench_request() {
  local method="$1" path="$2"
  shift 2
  curl -fsS -X "$method" -b "$BENCH_JAR" -c "$BENCH_JAR" -H 'Content-Type: application/json' \
    "$@" "$BENCH_URL$path"
}

# bench_setup: a fresh user with 200 notes; writes the note ids to $BENCH_DIR/ids.
bench_setup() {
  local email password i word words=(alpha bravo charlie delta echo foxtrot golf hotel india juliet)
  email="bench-$(date +%s)-$RANDOM@example.com"
  password="bench-$(head -c 12 /dev/urandom | od -A n -t x1 | tr -d ' \n')"
  bench_request POST /api/auth/register -d "{\"email\":\"$email\",\"password\":\"$password\"}" >/dev/null ||
    die "bench: could not register a user at $BENCH_URL"
  BENCH_CSRF="$(bench_request POST /api/auth/login -d "{\"email\":\"$email\",\"password\":\"$password\"}" | jq -r .csrfToken)"
  [[ -n "$BENCH_CSRF" && "$BENCH_CSRF" != null ]] || die "bench: could not log in at $BENCH_URL"
  BENCH_COOKIE="$(awk '$6 ~ /quartet_session$/ { print $6 "=" $7 }' "$BENCH_JAR" | tail -n 1)"
  [[ -n "$BENCH_COOKIE" ]] || die "bench: the login set no session cookie (is $BENCH_URL https-only?)"
  : >"$BENCH_DIR/ids"
  for ((i = 0; i < BENCH_NOTES; i++)); do
    word="${words[i % ${#words[@]}]}"
    # Every fifth note mentions the search word, in its title or its body.
    local extra=""
    ((i % 5 == 0)) && extra=" $BENCH_SEARCH_WORD"
    bench_request POST /api/notes -H "X-CSRF-Token: $BENCH_CSRF" \
      -d "{\"title\":\"Note $i $word$extra\",\"body\":\"Body of note $i about $word and more words for the index.$extra\",\"tags\":[\"$word\",\"bench\"]}" |
      jq -r .id >>"$BENCH_DIR/ids" || die "bench: could not create note $i"
  done
  say "bench: user $email with $BENCH_NOTES notes"
}

# bench_wrk NAME URL_PATH [METHOD] [IDS]: warm-up then the measured run; the
# measured figures land in $BENCH_DIR/NAME.json.
bench_wrk() {
  local name="$1" path="$2" method="${3:-GET}" ids="${4:-}" phase seconds report
  for phase in warmup measure; do
    seconds="$BENCH_WARMUP"
    report="$BENCH_DIR/$name.warmup.json"
    if [[ "$phase" == measure ]]; then
      seconds="$BENCH_DURATION"
      report="$BENCH_DIR/$name.json"
    fi
    BENCH_COOKIE="$BENCH_COOKIE" BENCH_CSRF="$BENCH_CSRF" BENCH_IDS="$ids" BENCH_METHOD="$method" BENCH_REPORT="$report" \
      wrk -t "$BENCH_THREADS" -c "$BENCH_CONNECTIONS" -d "${seconds}s" --timeout 5s \
      -s "$QUARTET_ROOT/bench/wrk/scenario.lua" "$BENCH_TARGET$path" >"$BENCH_DIR/$name.$phase.txt" 2>&1 ||
      die "bench: wrk failed on $name; see $BENCH_DIR/$name.$phase.txt"
  done
}

# bench_scenarios PREFIX: the four read scenarios against $BENCH_TARGET. The
# create scenario runs once, last of all (bench_create), because it adds
# thousands of notes to the user the read scenarios read.
bench_scenarios() {
  local prefix="$1"
  bench_wrk "${prefix}health" /health/live
  bench_wrk "${prefix}list" "/api/notes?limit=20"
  bench_wrk "${prefix}get" /api/notes/ GET "$BENCH_DIR/ids"
  bench_wrk "${prefix}search" "/api/notes?limit=20&q=$BENCH_SEARCH_WORD"
}

bench_create() { bench_wrk create /api/notes POST; }

# The backend's resident memory, native mode only.
bench_rss_mb() {
  local pid
  pid="$(backend_pid 2>/dev/null)" || {
    printf 'null\n'
    return 0
  }
  awk '/^VmRSS:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$pid/status"
}

# Start -> ready: a second backend process on a spare port, same settings and
# schema, timed from its spawn to the first 200 from /health/ready.
bench_start_to_ready_ms() {
  local port start now pid rc=1 deadline
  port="$(free_port)"
  backend_env
  start="$(date +%s%N)"
  (cd "$APP_DIR" && exec env "${BACKEND_ENV[@]}" "ASPNETCORE_URLS=http://127.0.0.1:$port" dotnet "$APP_DLL") \
    >"$BENCH_DIR/start.log" 2>&1 &
  pid=$!
  deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/health/ready" 2>/dev/null; then
      rc=0
      break
    fi
    sleep 0.01
  done
  now="$(date +%s%N)"
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if ((rc != 0)); then
    printf 'null\n'
  else
    printf '%s\n' "$(((now - start) / 1000000))"
  fi
}

bench_field() { jq -r ".$2" "$BENCH_DIR/$1.json"; }

bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }

bench_verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
  if (v == "null" || v == "n/a" || v == "") { print "n/a"; exit }
  ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0); print ok ? "met" : "MISSED" }'; }

cmd_bench() {
  local url="" json="" smoke=0 compare=0 ab="" rounds=3 seconds=""
  while (($# > 0)); do
    case "$1" in
      --url) url="${2:?--url needs a URL}"; shift 2 ;;
      --json) json="${2:?--json needs a file}"; shift 2 ;;
      --smoke) smoke=1; shift ;;
      --compare-node) compare=1; shift ;;
      --ab) ab="${2:?--ab needs KEY=VALUE}"; shift 2 ;;
      --rounds) rounds="${2:?--rounds needs a number}"; shift 2 ;;
      --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
      -h | --help) bench_usage; return 0 ;;
      *) die "bench: unknown argument '$1' (see ./quartet bench --help)" ;;
    esac
  done
  ensure_packages wrk jq curl
  if [[ -z "$url" ]]; then
    run_mode up
    url="$(public_url)"
  fi
  BENCH_URL="${url%/}"
  BENCH_TARGET="$BENCH_URL"
  BENCH_DIR="$(mktemp -d)"
  chmod 755 "$BENCH_DIR" # the second nginx (--compare-node) runs unprivileged
  BENCH_JAR="$BENCH_DIR/cookies"
  # shellcheck disable=SC2064 # expand now: the folder is this run's
  trap "rm -rf '$BENCH_DIR'" EXIT
  if ((smoke)); then
    BENCH_WARMUP=1 BENCH_DURATION=2 BENCH_CONNECTIONS=8 BENCH_THREADS=2 BENCH_NOTES=20
  else
    BENCH_WARMUP=5 BENCH_DURATION=15 BENCH_CONNECTIONS=64 BENCH_THREADS=2
  fi
  if [[ -n "$seconds" ]]; then
    [[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "bench: --seconds takes a whole number"
    BENCH_DURATION="$seconds"
    BENCH_WARMUP=$(((seconds + 2) / 3))
  fi

  say "bench: $BENCH_URL, $BENCH_CONNECTIONS connections, ${BENCH_WARMUP}s warm-up + ${BENCH_DURATION}s measured per scenario"
  bench_setup
  if [[ -n "$ab" ]]; then
    [[ "$ab" == *=* ]] || die "bench: --ab takes KEY=VALUE"
    [[ -n "$(backend_pid 2>/dev/null || true)" ]] || die "bench: --ab needs the native stack"
    bench_ab "$ab" "$rounds"
    return 0
  fi
  bench_scenarios ""
  if ((compare)); then
    bench_node_up
    BENCH_TARGET="$BENCH_NODE_URL"
    bench_scenarios "node-"
    BENCH_TARGET="$BENCH_URL"
    bench_node_down
  fi
  bench_create
  local rss ready="null" name
  rss="$(bench_rss_mb)"
  if [[ "$rss" != null ]]; then
    ready="$(bench_start_to_ready_ms)"
  fi

  local health_rps
  health_rps="$(bench_field health rps)"
  printf '\n%-8s %10s %10s %10s %8s %8s\n' scenario "req/s" "p50 ms" "p99 ms" non-2xx "x live"
  for name in health list get search create; do
    printf '%-8s %10s %10s %10s %8s %8s\n' "$name" "$(bench_field "$name" rps)" "$(bench_field "$name" p50_ms)" \
      "$(bench_field "$name" p99_ms)" "$(($(bench_field "$name" non2xx) + $(bench_field "$name" socket_errors)))" \
      "$(bench_ratio "$(bench_field "$name" rps)" "$health_rps")"
  done
  if ((compare)); then
    local node_health
    node_health="$(bench_field node-health rps)"
    for name in health list get search; do
      printf '%-8s %10s %10s %10s %8s %8s\n' "node-$name" "$(bench_field "node-$name" rps)" "$(bench_field "node-$name" p50_ms)" \
        "$(bench_field "node-$name" p99_ms)" "$(($(bench_field "node-$name" non2xx) + $(bench_field "node-$name" socket_errors)))" \
        "$(bench_ratio "$(bench_field "node-$name" rps)" "$node_health")"
    done
  fi
  printf '\nbackend resident memory after the load: %s MB\n' "$rss"
  printf 'backend start -> /health/ready 200: %s ms\n' "$ready"

  printf '\ntargets (this run):\n'
  printf '  list >= 0.5x live: %s (%s)\n' "$(bench_ratio "$(bench_field list rps)" "$health_rps")" "$(bench_verdict "$(bench_ratio "$(bench_field list rps)" "$health_rps")" '>=' 0.5)"
  printf '  get >= 0.5x live: %s (%s)\n' "$(bench_ratio "$(bench_field get rps)" "$health_rps")" "$(bench_verdict "$(bench_ratio "$(bench_field get rps)" "$health_rps")" '>=' 0.5)"
  printf '  search >= 0.15x live: %s (%s)\n' "$(bench_ratio "$(bench_field search rps)" "$health_rps")" "$(bench_verdict "$(bench_ratio "$(bench_field search rps)" "$health_rps")" '>=' 0.15)"
  printf '  create >= 0.15x live: %s (%s)\n' "$(bench_ratio "$(bench_field create rps)" "$health_rps")" "$(bench_verdict "$(bench_ratio "$(bench_field create rps)" "$health_rps")" '>=' 0.15)"
  for name in health list get search; do
    printf '  %s p99 <= 4x p50: %s (%s)\n' "$name" "$(bench_ratio "$(bench_field "$name" p99_ms)" "$(bench_field "$name" p50_ms)")" \
      "$(bench_verdict "$(bench_ratio "$(bench_field "$name" p99_ms)" "$(bench_field "$name" p50_ms)")" '<=' 4)"
  done
  printf '  resident memory <= 150 MB: %s\n' "$(bench_verdict "$rss" '<=' 150)"
  printf '  start -> ready <= 500 ms: %s\n' "$(bench_verdict "$ready" '<=' 500)"
  if ((compare)); then
    for name in list get; do
      printf '  %s >= 2x Node.js: %s (%s)\n' "$name" "$(bench_ratio "$(bench_field "$name" rps)" "$(bench_field "node-$name" rps)")" \
        "$(bench_verdict "$(bench_ratio "$(bench_field "$name" rps)" "$(bench_field "node-$name" rps)")" '>=' 2)"
    done
  fi

  if [[ -n "$json" ]]; then
    local names=(health list get search create)
    ((compare)) && names+=(node-health node-list node-get node-search)
    {
      printf '{"url":"%s","commit":"%s","connections":%s,"seconds":%s,"rss_mb":%s,"start_to_ready_ms":%s,"scenarios":{' \
        "$BENCH_URL" "$(git -C "$QUARTET_ROOT" rev-parse --short HEAD 2>/dev/null || printf unknown)" \
        "$BENCH_CONNECTIONS" "$BENCH_DURATION" "$rss" "$ready"
      local first=1
      for name in "${names[@]}"; do
        ((first)) || printf ','
        first=0
        printf '"%s":%s' "$name" "$(tr -d '\n' <"$BENCH_DIR/$name.json")"
      done
      printf '}}\n'
    } | jq . >"$json"
    say "bench: figures written to $json"
  fi
}

# bench_nginx_for NAME PORT: a second nginx from the same template in front of
# 127.0.0.1:PORT; sets BENCH_NGINX_URL. Stopped by bench_nginx_stop NAME.
bench_nginx_for() {
  local name="$1" port="$2" nginx_port conf_dir="$BENCH_DIR/nginx-$1"
  nginx_port="$(free_port)"
  mkdir -p "$conf_dir/tmp" "$conf_dir/logs"
  # shellcheck disable=SC2016 # envsubst: only these variables, nginx's own stay
  QUARTET_BACKEND="127.0.0.1:$port" QUARTET_LISTEN="127.0.0.1:$nginx_port" QUARTET_WEB_ROOT="$WEB_DIR/dist" \
    QUARTET_ACCESS_LOG="$conf_dir/logs/access.log" \
    envsubst '${QUARTET_BACKEND} ${QUARTET_LISTEN} ${QUARTET_WEB_ROOT} ${QUARTET_ACCESS_LOG}' \
    <"$QUARTET_ROOT/deploy/nginx/default.conf.template" >"$conf_dir/quartet.conf"
  sed -e "s|$NGINX_DIR|$conf_dir|g" "$NGINX_DIR/nginx.conf" >"$conf_dir/nginx.conf"
  if is_root; then chown -R www-data:www-data "$conf_dir"; fi
  as_nginx_user nginx -p "$conf_dir" -c "$conf_dir/nginx.conf" </dev/null || die "bench: a second nginx ($name) did not start"
  BENCH_NGINX_URL="http://127.0.0.1:$nginx_port"
}

bench_nginx_stop() {
  local conf="$BENCH_DIR/nginx-$1/nginx.conf"
  [[ -f "$conf" ]] && as_nginx_user nginx -p "$(dirname "$conf")" -c "$conf" -s quit 2>/dev/null
  return 0
}

# A/B: a second backend with one setting changed (KEY=VALUE, as an environment
# variable: Logging__LogLevel__Quartet.Request=Warning, DOTNET_gcServer=0, ...),
# behind its own nginx; rounds alternate A and B so the machine's noise falls on both.
bench_ab() {
  local setting="$1" rounds="$2" port pid round name side
  port="$(free_port)"
  backend_env
  (cd "$APP_DIR" && exec env "${BACKEND_ENV[@]}" "ASPNETCORE_URLS=http://127.0.0.1:$port" "$setting" dotnet "$APP_DLL") \
    >"$BENCH_DIR/b.log" 2>&1 &
  pid=$!
  wait_until 30 curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" || die "bench: backend B did not start; see $BENCH_DIR/b.log"
  bench_nginx_for b "$port"
  local a_url="$BENCH_URL" b_url="$BENCH_NGINX_URL"
  for ((round = 1; round <= rounds; round++)); do
    for side in a b; do
      BENCH_TARGET="$a_url"
      [[ "$side" == b ]] && BENCH_TARGET="$b_url"
      bench_wrk "$side-health-$round" /health/live
      bench_wrk "$side-list-$round" "/api/notes?limit=20"
      bench_wrk "$side-get-$round" /api/notes/ GET "$BENCH_DIR/ids"
      bench_wrk "$side-search-$round" "/api/notes?limit=20&q=$BENCH_SEARCH_WORD"
    done
  done
  BENCH_TARGET="$BENCH_URL"
  local rss_b
  rss_b="$(awk '/^VmRSS:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$pid/status")"
  bench_nginx_stop b
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true

  printf '\nA/B over %s rounds; B = A with %s\n' "$rounds" "$setting"
  printf '%-8s %10s %10s %8s %10s %10s\n' scenario "A req/s" "B req/s" "B/A" "A p99 ms" "B p99 ms"
  for name in health list get search; do
    local a_rps b_rps a_p99 b_p99
    a_rps="$(cat "$BENCH_DIR"/a-"$name"-*.json | jq -s 'map(.rps) | add / length | . * 10 | round / 10')"
    b_rps="$(cat "$BENCH_DIR"/b-"$name"-*.json | jq -s 'map(.rps) | add / length | . * 10 | round / 10')"
    a_p99="$(cat "$BENCH_DIR"/a-"$name"-*.json | jq -s 'map(.p99_ms) | add / length | . * 100 | round / 100')"
    b_p99="$(cat "$BENCH_DIR"/b-"$name"-*.json | jq -s 'map(.p99_ms) | add / length | . * 100 | round / 100')"
    printf '%-8s %10s %10s %8s %10s %10s\n' "$name" "$a_rps" "$b_rps" "$(bench_ratio "$b_rps" "$a_rps")" "$a_p99" "$b_p99"
  done
  printf 'resident memory after the load: A %s MB, B %s MB\n' "$(bench_rss_mb)" "$rss_b"
}

# The Node.js comparison: bench/node-fastify on the same PostgreSQL, Redis and
# session secret (so the benchmark's session works there too), behind a second
# nginx rendered from the same template. Native mode only.
bench_node_up() {
  local dir="$QUARTET_ROOT/bench/node-fastify" node_port
  [[ -n "$(backend_pid 2>/dev/null || true)" ]] || die "bench: --compare-node needs the native stack (./quartet up without Docker)"
  ensure_packages npm
  if [[ ! -d "$dir/node_modules" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    say "bench: installing the Node.js service's packages"
    (cd "$dir" && npm ci --no-audit --no-fund) </dev/null >"$BENCH_DIR/npm.log" 2>&1 || die "bench: npm ci failed in bench/node-fastify"
  fi
  node_port="$(free_port)"
  (cd "$dir" && exec env PORT="$node_port" PGHOST=127.0.0.1 PGPORT="$QUARTET_PG_PORT" PGDATABASE=quartet PGUSER=quartet_app \
    PGPASSWORD_FILE="$SECRETS_DIR/db_app_password" REDIS_ENDPOINT="127.0.0.1:$QUARTET_REDIS_PORT" \
    REDIS_PASSWORD_FILE="$SECRETS_DIR/redis_password" SESSION_SECRET_FILE="$SECRETS_DIR/session_secret" \
    node server.js) >"$BENCH_DIR/node.log" 2>&1 &
  BENCH_NODE_PID=$!
  wait_until 20 curl -fsS -o /dev/null "http://127.0.0.1:$node_port/health/live" ||
    die "bench: the Node.js service did not start; see $BENCH_DIR/node.log"

  bench_nginx_for node "$node_port"
  BENCH_NODE_URL="$BENCH_NGINX_URL"
  say "bench: Node.js service (pid $BENCH_NODE_PID) behind nginx at $BENCH_NODE_URL"
}

bench_node_down() {
  bench_nginx_stop node
  if [[ -n "${BENCH_NODE_PID:-}" ]]; then
    kill -TERM "$BENCH_NODE_PID" 2>/dev/null || true
    wait "$BENCH_NODE_PID" 2>/dev/null || true
  fi
}
