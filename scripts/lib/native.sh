# shellcheck shell=bash
# Native mode: PostgreSQL, Redis and the backend run as local processes with
# their state under .quartet/. Entry points: native_up, native_down,
# native_status, native_migrate.

# ---------------------------------------------------------------- state dirs

prepare_state_dirs() {
  mkdir -p "$STATE_DIR" "$RUN_DIR" "$LOG_DIR" "$APP_DIR" "$REDIS_DIR" "$SECRETS_DIR"
  chmod 755 "$STATE_DIR" "$RUN_DIR" "$LOG_DIR" "$APP_DIR"
  chmod 700 "$REDIS_DIR" "$SECRETS_DIR"
}

# ---------------------------------------------------------------- postgres

# PostgreSQL refuses to run as root: as root, its tools run as "postgres".
pg_user() {
  if is_root; then printf 'postgres\n'; else id -un; fi
}

as_pg() {
  if is_root; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_tool() {
  local bindir
  bindir="$(pg_bindir)"
  [[ -n "$bindir" ]] || die "PostgreSQL binaries not found (install postgresql)"
  printf '%s/%s\n' "$bindir" "$1"
}

# pg_prepare_user: as root, make sure the postgres system user exists and can
# reach the state directory.
pg_prepare_user() {
  is_root || return 0
  if ! id -u postgres >/dev/null 2>&1; then
    say "creating system user postgres"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin postgres || die "could not create system user postgres"
  fi
  if ! runuser -u postgres -- test -x "$STATE_DIR"; then
    die "user postgres cannot reach $STATE_DIR; make every parent directory traversable (chmod o+x) or move the checkout"
  fi
}

pg_running() {
  [[ -f "$PG_DATA/PG_VERSION" ]] || return 1
  as_pg "$(pg_tool pg_ctl)" status -D "$PG_DATA" >/dev/null 2>&1
}

pg_pid() {
  live_pid "$PG_DATA/postmaster.pid" postgres
}

pg_ready() {
  "$(pg_tool pg_isready)" -q -h 127.0.0.1 -p "$QUARTET_PG_PORT" -t 2
}

# Unix sockets have a path limit of about 107 bytes; beyond it, TCP only.
pg_socket_dir() {
  local dir="$RUN_DIR/pg"
  if ((${#dir} + 20 > 107)); then
    printf '\n'
  else
    printf '%s\n' "$dir"
  fi
}

pg_init() {
  [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
  if [[ -d "$PG_DATA" ]]; then
    rmdir "$PG_DATA" 2>/dev/null ||
      die "$(rel "$PG_DATA") exists but holds no cluster; remove it and retry"
  fi
  local user pwfile locale="C" rc=0
  user="$(pg_user)"
  mkdir -p "$PG_DIR"
  chmod 700 "$PG_DIR"
  is_root && chown "$user:" "$PG_DIR"
  if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then
    locale="C.UTF-8"
  fi
  pwfile="$(umask 077 && mktemp "$RUN_DIR/pg-pwfile.XXXXXX")"
  cat "$SECRETS_DIR/db_password" >"$pwfile"
  is_root && chown "$user:" "$pwfile"
  say "initializing PostgreSQL cluster in $(rel "$PG_DATA") (user quartet, locale $locale)"
  as_pg "$(pg_tool initdb)" -D "$PG_DATA" -U quartet --pwfile="$pwfile" \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 \
    -E UTF8 --locale="$locale" >"$LOG_DIR/initdb.log" 2>&1 || rc=$?
  rm -f "$pwfile"
  if ((rc != 0)); then
    show_tail "$LOG_DIR/initdb.log" 20
    die "initdb failed; see $(rel "$LOG_DIR/initdb.log")"
  fi
}

pg_start() {
  local user sock opts log="$LOG_DIR/postgres.log"
  user="$(pg_user)"
  if port_in_use "$QUARTET_PG_PORT"; then
    die "port $QUARTET_PG_PORT is already in use by another process; set QUARTET_PG_PORT to a free port"
  fi
  touch "$log"
  chmod 640 "$log"
  sock="$(pg_socket_dir)"
  if [[ -n "$sock" ]]; then
    mkdir -p "$sock"
    chmod 700 "$sock"
  fi
  if is_root; then
    chown "$user:" "$log"
    [[ -n "$sock" ]] && chown "$user:" "$sock"
  fi
  # pg_ctl hands -o to a shell: single-quote the socket path.
  # 200 connections: room for the backend's pool (50), a second backend or the Node.js service
  # that ./quartet bench starts beside it, migrate and psql.
  opts="-p $QUARTET_PG_PORT -k '${sock//\'/\'\\\'\'}' -c listen_addresses=127.0.0.1 -c max_connections=200"
  say "starting PostgreSQL on 127.0.0.1:$QUARTET_PG_PORT"
  if ! as_pg "$(pg_tool pg_ctl)" -D "$PG_DATA" -l "$log" -o "$opts" -W start >/dev/null; then
    show_tail "$log" 20
    die "pg_ctl start failed; see $(rel "$log")"
  fi
  if ! wait_until 30 pg_ready; then
    show_tail "$log" 20
    die "PostgreSQL did not accept connections on port $QUARTET_PG_PORT within 30 s; see $(rel "$log")"
  fi
}

pg_ensure_database() {
  local exists
  exists="$(PGPASSWORD="$(<"$SECRETS_DIR/db_password")" "$(pg_tool psql)" -X -q -t -A \
    -h 127.0.0.1 -p "$QUARTET_PG_PORT" -U quartet -d postgres \
    -c "SELECT 1 FROM pg_database WHERE datname = 'quartet'")" ||
    die "cannot connect to PostgreSQL as quartet (does $(rel "$SECRETS_DIR/db_password") match the cluster?)"
  if [[ "$exists" != 1 ]]; then
    say "creating database quartet"
    PGPASSWORD="$(<"$SECRETS_DIR/db_password")" "$(pg_tool createdb)" \
      -h 127.0.0.1 -p "$QUARTET_PG_PORT" -U quartet -O quartet quartet ||
      die "createdb quartet failed"
  fi
}

pg_up() {
  pg_init
  if pg_running; then
    say "PostgreSQL already running (pid $(pg_pid || echo '?'))"
    pg_ready || wait_until 30 pg_ready ||
      die "PostgreSQL is running but not answering on port $QUARTET_PG_PORT; see $(rel "$LOG_DIR/postgres.log")"
  else
    pg_start
  fi
  pg_ensure_database
}

pg_stop() {
  local pid
  [[ -f "$PG_DATA/PG_VERSION" ]] || return 0
  if ! pid="$(pg_pid)"; then
    say "PostgreSQL not running"
    return 0
  fi
  say "stopping PostgreSQL (pid $pid)"
  if [[ -n "$(pg_bindir)" ]]; then
    as_pg "$(pg_tool pg_ctl)" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null ||
      die "pg_ctl stop failed; see $(rel "$LOG_DIR/postgres.log")"
  else
    # SIGINT is PostgreSQL's fast shutdown.
    kill -INT "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 60 || die "PostgreSQL (pid $pid) did not stop"
  fi
}

# ---------------------------------------------------------------- redis

redis_pidfile() { printf '%s/redis.pid\n' "$RUN_DIR"; }

redis_pid() { live_pid "$(redis_pidfile)" redis-server; }

redis_cli() {
  REDISCLI_AUTH="$(<"$SECRETS_DIR/redis_password")" \
    redis-cli -h 127.0.0.1 -p "$QUARTET_REDIS_PORT" --no-auth-warning "$@"
}

redis_ping() { [[ "$(redis_cli ping 2>/dev/null)" == PONG ]]; }

# Redis config values in double quotes, with \ and " escaped.
redis_quote() {
  local v="${1//\\/\\\\}"
  printf '"%s"' "${v//\"/\\\"}"
}

redis_write_config() {
  local conf="$REDIS_DIR/redis.conf" tmp
  tmp="$(umask 077 && mktemp "$REDIS_DIR/.redis.conf.XXXXXX")"
  {
    printf '# Written by ./quartet on every start; edits are lost.\n'
    printf 'bind 127.0.0.1\n'
    printf 'port %s\n' "$QUARTET_REDIS_PORT"
    printf 'protected-mode yes\n'
    printf 'daemonize yes\n'
    printf 'supervised no\n'
    printf 'pidfile %s\n' "$(redis_quote "$(redis_pidfile)")"
    printf 'logfile %s\n' "$(redis_quote "$LOG_DIR/redis.log")"
    printf 'dir %s\n' "$(redis_quote "$REDIS_DIR")"
    printf 'requirepass %s\n' "$(redis_quote "$(<"$SECRETS_DIR/redis_password")")"
    printf 'appendonly yes\n'
    printf 'appendfsync everysec\n'
  } >"$tmp"
  chmod 600 "$tmp"
  mv -f "$tmp" "$conf"
}

redis_up() {
  local pid
  if pid="$(redis_pid)"; then
    say "Redis already running (pid $pid)"
    wait_until 10 redis_ping ||
      die "Redis is running but does not answer PING with the current password; see $(rel "$LOG_DIR/redis.log")"
    return 0
  fi
  if port_in_use "$QUARTET_REDIS_PORT"; then
    die "port $QUARTET_REDIS_PORT is already in use by another process; set QUARTET_REDIS_PORT to a free port"
  fi
  redis_write_config
  say "starting Redis on 127.0.0.1:$QUARTET_REDIS_PORT"
  redis-server "$REDIS_DIR/redis.conf" >/dev/null 2>&1 </dev/null || {
    show_tail "$LOG_DIR/redis.log" 20
    die "redis-server failed to start; see $(rel "$LOG_DIR/redis.log")"
  }
  if ! wait_until 30 redis_ping; then
    show_tail "$LOG_DIR/redis.log" 20
    die "Redis did not answer PING on port $QUARTET_REDIS_PORT within 30 s; see $(rel "$LOG_DIR/redis.log")"
  fi
}

redis_stop() {
  local pid
  if ! pid="$(redis_pid)"; then
    say "Redis not running"
    rm -f "$(redis_pidfile)"
    return 0
  fi
  say "stopping Redis (pid $pid)"
  if command -v redis-cli >/dev/null 2>&1 && [[ -r "$SECRETS_DIR/redis_password" ]]; then
    redis_cli shutdown >/dev/null 2>&1 || true
  fi
  if ! wait_pid_gone "$pid" 10; then
    stop_pid Redis "$pid"
  fi
  rm -f "$(redis_pidfile)"
}

# ---------------------------------------------------------------- backend

backend_pidfile() { printf '%s/backend.pid\n' "$RUN_DIR"; }

backend_pid() { live_pid "$(backend_pidfile)" Quartet.Api.dll; }

backend_url() { printf 'http://127.0.0.1:%s\n' "$QUARTET_BACKEND_PORT"; }

# The environment of the backend and migrate processes, and only theirs.
backend_env() {
  BACKEND_ENV=(
    ASPNETCORE_ENVIRONMENT=Development
    "Proxy__TrustedNetworks=127.0.0.1/32,::1/128"
    "ASPNETCORE_URLS=$(backend_url)"
    Database__Host=127.0.0.1
    "Database__Port=$QUARTET_PG_PORT"
    Database__Name=quartet
    Database__Username=quartet_app
    Database__OwnerUsername=quartet
    "Redis__Endpoint=127.0.0.1:$QUARTET_REDIS_PORT"
    "DB_PASSWORD_FILE=$SECRETS_DIR/db_password"
    "DB_APP_PASSWORD_FILE=$SECRETS_DIR/db_app_password"
    "REDIS_PASSWORD_FILE=$SECRETS_DIR/redis_password"
    "SESSION_SECRET_FILE=$SECRETS_DIR/session_secret"
    "JWT_SECRET_FILE=$SECRETS_DIR/jwt_secret"
    "ADMIN_PASSWORD_HASH_FILE=$SECRETS_DIR/admin_password_hash"
    "ADMIN_EMAIL=$ADMIN_EMAIL"
  )
}

# Files whose change calls for a new publish.
backend_sources() {
  local p
  for p in src db/migrations Directory.Build.props Directory.Packages.props global.json; do
    [[ -e "$QUARTET_ROOT/$p" ]] && printf '%s\n' "$QUARTET_ROOT/$p"
  done
  return 0
}

backend_publish_needed() {
  [[ -f "$APP_DLL" && -f "$APP_STAMP" ]] || return 0
  local changed srcs=()
  mapfile -t srcs < <(backend_sources)
  ((${#srcs[@]} > 0)) || return 1
  changed="$(find "${srcs[@]}" \( -name bin -o -name obj \) -prune -o \
    -type f -newer "$APP_STAMP" -print -quit 2>/dev/null || true)"
  [[ -n "$changed" ]]
}

backend_publish() {
  local log="$LOG_DIR/publish.log" stamp
  say "publishing the backend to $(rel "$APP_DIR") (log: $(rel "$log"))"
  stamp="$(mktemp "$APP_DIR/.stamp.XXXXXX")"
  # For this machine's runtime, so the code is precompiled (ReadyToRun): a faster start.
  if ! dotnet publish "$QUARTET_ROOT/src/Quartet.Api/Quartet.Api.csproj" -c Release -r "$(dotnet_rid)" \
    -o "$APP_DIR" --nologo --disable-build-servers >"$log" 2>&1 </dev/null; then
    rm -f "$stamp"
    if grep -q ': error ' "$log"; then
      grep ': error ' "$log" | sed -E 's/ \[[^]]*\]$//' | sort -u | head -n 20 >&2
    else
      tail -n 20 "$log" >&2
    fi
    die "dotnet publish failed; see $(rel "$log")"
  fi
  mv -f "$stamp" "$APP_STAMP"
}

# ensure_published: publishes when the output is missing or older than the
# sources, unless the running backend uses that output.
ensure_published() {
  backend_publish_needed || return 0
  if [[ -f "$APP_DLL" ]] && backend_pid >/dev/null; then
    warn "sources changed but the backend is running; './quartet down && ./quartet up' rebuilds it"
    return 0
  fi
  backend_publish
}

backend_migrate() {
  local log="$LOG_DIR/migrate.log" out rc=0 line
  backend_env
  say "running database migrations (log: $(rel "$log"))"
  out="$(mktemp)"
  (cd "$APP_DIR" && env "${BACKEND_ENV[@]}" dotnet "$APP_DLL" migrate) \
    </dev/null >"$out" 2>&1 || rc=$?
  {
    printf '==== %s migrate (exit %s) ====\n' "$(date -Is)" "$rc"
    cat "$out"
  } >>"$log"
  if ((rc != 0)); then
    rm -f "$out"
    show_tail "$log" 20
    die "migrations failed (exit $rc); see $(rel "$log")"
  fi
  # The backend logs JSON lines: show their messages.
  while IFS= read -r line; do
    say "migrate: $line"
  done < <(sed -n 's/.*"Message":"\([^"]*\)".*/\1/p' "$out")
  rm -f "$out"
}

backend_ready() {
  curl -fsS -o /dev/null --max-time 2 "$(backend_url)/health/ready"
}

backend_start() {
  local log="$LOG_DIR/backend.log" pidfile pid="" started deadline
  pidfile="$(backend_pidfile)"
  if port_in_use "$QUARTET_BACKEND_PORT"; then
    die "port $QUARTET_BACKEND_PORT is already in use by another process; set QUARTET_BACKEND_PORT to a free port"
  fi
  backend_env
  rm -f "$pidfile"
  printf '==== %s quartet: backend start ====\n' "$(date -Is)" >>"$log"
  say "starting the backend on $(backend_url) (log: $(rel "$log"))"
  # A new session, detached from this terminal and not a child of this
  # script; the inner shell records its own pid, then becomes the backend.
  (
    (
      cd "$APP_DIR" || exit 1
      # shellcheck disable=SC2016 # expanded by the inner shell
      exec setsid nohup env "${BACKEND_ENV[@]}" \
        bash -c 'printf "%s\n" "$$" >"$0"; exec "$@"' "$pidfile" dotnet "$APP_DLL"
    ) </dev/null >>"$log" 2>&1 &
  )

  started=$SECONDS
  deadline=$((started + 60))
  while ((SECONDS < deadline)); do
    if [[ -z "$pid" ]]; then
      pid="$(head -n 1 "$pidfile" 2>/dev/null || true)"
      [[ "$pid" =~ ^[0-9]+$ ]] || pid=""
      if [[ -z "$pid" ]] && ((SECONDS - started > 10)); then
        show_tail "$log" 20
        die "the backend did not start; see $(rel "$log")"
      fi
    fi
    if [[ -n "$pid" ]] && ! pid_alive "$pid"; then
      show_tail "$log" 20
      rm -f "$pidfile"
      die "the backend exited during startup; see $(rel "$log")"
    fi
    if [[ -n "$pid" ]] && backend_ready 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  show_tail "$log" 20
  [[ -n "$pid" ]] && stop_pid backend "$pid"
  rm -f "$pidfile"
  die "the backend did not answer $(backend_url)/health/ready within 60 s; see $(rel "$log")"
}

backend_up() {
  local pid
  if pid="$(backend_pid)"; then
    say "backend already running (pid $pid)"
    wait_until 30 backend_ready ||
      die "the backend is running but $(backend_url)/health/ready does not answer; see $(rel "$LOG_DIR/backend.log")"
    return 0
  fi
  backend_migrate
  backend_start
}

backend_stop() {
  local pid
  if ! pid="$(backend_pid)"; then
    say "backend not running"
    rm -f "$(backend_pidfile)"
    return 0
  fi
  say "stopping the backend (pid $pid)"
  stop_pid backend "$pid"
  rm -f "$(backend_pidfile)"
}

# ---------------------------------------------------------------- commands

native_deps() {
  ensure_packages postgres redis curl nginx envsubst
  ensure_dotnet
  prepare_state_dirs
  pg_prepare_user
}

native_up() {
  native_deps
  ensure_published
  ensure_secrets
  pg_up
  redis_up
  backend_up
  web_build
  nginx_up
  say "dev admin: $ADMIN_EMAIL, password in $(rel "$SECRETS_DIR/admin_password")"
  say "ready at $(public_url)"
}

native_down() {
  nginx_stop
  backend_stop
  redis_stop
  pg_stop
  say "stopped (data kept in $(rel "$STATE_DIR"))"
}

native_migrate() {
  native_deps
  ensure_published
  ensure_secrets
  pg_up
  redis_up
  backend_migrate
  say "migrations done"
}

native_status() {
  local pid
  if pid="$(nginx_pid)"; then
    printf '%-9s running (pid %s, port %s)\n' nginx "$pid" "$QUARTET_HTTP_PORT"
  else
    printf '%-9s stopped (port %s)\n' nginx "$QUARTET_HTTP_PORT"
  fi
  if pid="$(backend_pid)"; then
    printf '%-9s running (pid %s, port %s)\n' backend "$pid" "$QUARTET_BACKEND_PORT"
  else
    printf '%-9s stopped (port %s)\n' backend "$QUARTET_BACKEND_PORT"
  fi
  if pid="$(pg_pid)"; then
    printf '%-9s running (pid %s, port %s)\n' postgres "$pid" "$QUARTET_PG_PORT"
  else
    printf '%-9s stopped (port %s)\n' postgres "$QUARTET_PG_PORT"
  fi
  if pid="$(redis_pid)"; then
    printf '%-9s running (pid %s, port %s)\n' redis "$pid" "$QUARTET_REDIS_PORT"
  else
    printf '%-9s stopped (port %s)\n' redis "$QUARTET_REDIS_PORT"
  fi
}
