# shellcheck shell=bash
# Compose mode of ./quartet, and what scripts/wait-for-db.sh and run-migrations.sh share with it.
# Plain bash and the Docker CLI only, so a host with Docker and no .NET SDK runs the whole stack.
# Sourced, never executed; defines functions and reads QUARTET_ROOT and STATE_DIR.

say() { printf 'quartet: %s\n' "$*"; }
warn() { printf 'quartet: warning: %s\n' "$*" >&2; }
die() {
  printf 'quartet: error: %s\n' "$*" >&2
  exit 1
}

COMPOSE_CMD=()

# docker_reachable: an engine answers, within a bound (a stuck socket must not hang ./quartet).
docker_reachable() { command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; }

# compose_detect: COMPOSE_CMD becomes `docker compose` (v2) or `docker-compose` (v1).
compose_detect() {
  ((${#COMPOSE_CMD[@]} == 0)) || return 0
  if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    COMPOSE_CMD=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE_CMD=(docker-compose)
  else
    return 1
  fi
}

# compose_flavor: prod with --prod (QUARTET_PROD=1) or when the last up was --prod, else dev.
compose_flavor() {
  if [[ "${QUARTET_PROD:-0}" == 1 ]] || [[ "$(cat "$STATE_DIR/compose-flavor" 2>/dev/null)" == prod ]]; then
    printf 'prod\n'
  else
    printf 'dev\n'
  fi
}

# compose_env_file: QUARTET_ENV_FILE, else .env.production for production when it exists.
compose_env_file() {
  if [[ -n "${QUARTET_ENV_FILE:-}" ]]; then
    printf '%s\n' "$QUARTET_ENV_FILE"
  elif [[ "$(compose_flavor)" == prod && -f "$QUARTET_ROOT/.env.production" ]]; then
    printf '%s\n' "$QUARTET_ROOT/.env.production"
  fi
}

# compose_project [FLAVOR]: QUARTET_COMPOSE_PROJECT, else quartet (prod) or quartet-dev, so the two
# never share a volume (their database passwords differ).
compose_project() {
  local flavor="${1:-$(compose_flavor)}"
  if [[ -n "${QUARTET_COMPOSE_PROJECT:-}" ]]; then
    printf '%s\n' "$QUARTET_COMPOSE_PROJECT"
  elif [[ "$flavor" == prod ]]; then
    printf 'quartet\n'
  else
    printf 'quartet-dev\n'
  fi
}

# compose_setting NAME DEFAULT: NAME from the environment, else from the env file compose reads.
compose_setting() {
  local file line
  if [[ -n "${!1:-}" ]]; then
    printf '%s\n' "${!1}"
    return 0
  fi
  file="$(compose_env_file)"
  if [[ -n "$file" && -r "$file" ]] && line="$(grep -E "^[[:space:]]*$1=" "$file" | tail -n 1)"; then
    printf '%s\n' "${line#*=}"
  else
    printf '%s\n' "$2"
  fi
}

# compose_backup_encryption: on or off (QUARTET_BACKUP_ENCRYPTION, decision 0031); anything else stops.
compose_backup_encryption() {
  local value
  value="$(compose_setting QUARTET_BACKUP_ENCRYPTION off)"
  case "${value,,}" in
    off | '') printf 'off\n' ;;
    on) printf 'on\n' ;;
    *) die "QUARTET_BACKUP_ENCRYPTION must be on or off, not '$value'" ;;
  esac
}

# compose ARGS...: the compose CLI on the files of the current flavour.
compose() {
  compose_detect || die "no compose CLI: install the compose plugin or docker-compose"
  local args=(-p "$(compose_project)" -f "$QUARTET_ROOT/compose.yaml") env_file
  if [[ "$(compose_flavor)" == prod ]]; then
    args+=(-f "$QUARTET_ROOT/compose.prod.yaml")
    compose_server_names
    # Opt-in automatic HTTPS (compose.tls.yaml).
    case "$(compose_setting QUARTET_TLS '')" in
      acme) args+=(-f "$QUARTET_ROOT/compose.tls.yaml") ;;
      ?*) die "QUARTET_TLS must be acme or empty, not '$(compose_setting QUARTET_TLS '')'" ;;
    esac
    compose_backup_encryption >/dev/null
  fi
  env_file="$(compose_env_file)"
  [[ -n "$env_file" ]] && args+=(--env-file "$env_file")
  QUARTET_BACKUP_VOLUME="$(compose_setting QUARTET_BACKUP_VOLUME "$(compose_project)-backups")" && export QUARTET_BACKUP_VOLUME
  "${COMPOSE_CMD[@]}" "${args[@]}" "$@"
}

# compose_wait_healthy SECONDS SERVICE...: each service's container runs and is healthy.
compose_wait_healthy() {
  local deadline=$((SECONDS + $1)) svc id state pending
  shift
  while :; do
    pending=()
    for svc in "$@"; do
      id="$(docker ps -aq --filter "label=com.docker.compose.project=$(compose_project)" --filter "label=com.docker.compose.service=$svc" | head -n 1)"
      state="$([[ -n "$id" ]] && docker inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id" 2>/dev/null)" || state=""
      [[ "$state" == running/healthy ]] || pending+=("$svc${state:+ ($state)}")
    done
    ((${#pending[@]} == 0)) && return 0
    ((SECONDS < deadline)) || die "not healthy within the time: ${pending[*]}; see ./quartet logs"
    sleep 1
  done
}

# is_loopback ADDRESS: 127.0.0.0/8, ::1 or localhost.
is_loopback() { [[ "$1" =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ || "$1" == ::1 || "$1" == "[::1]" || "$1" == localhost ]]; }

# compose_server_names: production serves QUARTET_SERVER_NAMES, by default the host of
# QUARTET_PUBLIC_URL (compose.prod.yaml requires the variable, so every production command sets it).
compose_server_names() {
  local url host
  [[ -z "$(compose_setting QUARTET_SERVER_NAMES '')" ]] || return 0
  url="$(compose_setting QUARTET_PUBLIC_URL '')"
  [[ "$url" == http://* || "$url" == https://* ]] || return 0
  host="${url#*://}"
  host="${host%%/*}"
  host="${host##*@}"
  if [[ "$host" == \[* ]]; then host="${host%%]*}]"; else host="${host%%:*}"; fi
  [[ -n "$host" ]] && export QUARTET_SERVER_NAMES="$host"
  return 0
}

# compose_guard FLAVOR: settings refused before anything is built or started. The development stack
# runs on the public development secrets, so it is published on loopback only (nginx's entrypoint
# refuses it too, for compose run by hand).
# db_connections_fit REPLICAS MAX: every replica's pool, one more replica's while a deploy rolls
# (start-first), and 10 for migrate, backups and an operator fit in PostgreSQL's MAX connections;
# past them, requests fail with 503.
db_connections_fit() {
  local replicas="$1" max="$2" pool
  pool="$(compose_setting QUARTET_DB_POOL_SIZE 20)"
  [[ "$replicas$pool$max" =~ ^[0-9]+$ && "$replicas" -gt 0 && "$pool" -gt 0 ]] ||
    die "QUARTET_BACKEND_REPLICAS ($replicas), QUARTET_DB_POOL_SIZE ($pool) and QUARTET_DB_MAX_CONNECTIONS ($max) must be whole numbers above 0"
  (((replicas + 1) * pool + 10 <= max)) ||
    die "$((replicas + 1)) × QUARTET_DB_POOL_SIZE=$pool + 10 connections exceed PostgreSQL's $max (QUARTET_BACKEND_REPLICAS=$replicas, one more while a deploy rolls): lower QUARTET_DB_POOL_SIZE, or raise QUARTET_DB_MAX_CONNECTIONS (production)"
}

compose_guard() {
  local address max=100
  address="$(compose_setting QUARTET_PUBLIC_ADDRESS 127.0.0.1)"
  [[ "$1" == dev ]] || max="$(compose_setting QUARTET_DB_MAX_CONNECTIONS 100)"
  db_connections_fit "$(compose_setting QUARTET_BACKEND_REPLICAS 1)" "$max"
  if [[ "$1" == dev ]] && ! is_loopback "$address"; then
    die "QUARTET_PUBLIC_ADDRESS=$address refused: the development stack uses the public development secrets and is published on loopback only; serve the network with ./quartet up --prod (secrets from scripts/generate-secrets.sh)"
  fi
  if [[ "$1" == prod ]]; then
    compose_refuse_development_secrets "$(compose_secrets_dir)"
    [[ -n "$(compose_setting QUARTET_SERVER_NAMES '')" ]] ||
      die "QUARTET_SERVER_NAMES is not set and QUARTET_PUBLIC_URL names no host; set either in .env.production (see .env.production.example)"
    say "serving the host names: $(compose_setting QUARTET_SERVER_NAMES '') (QUARTET_SERVER_NAMES; any other Host gets 421)"
  fi
}

compose_up() {
  local flavor=dev other=prod log
  docker_reachable || die "no Docker engine answers (docker info failed); start it, or use QUARTET_MODE=native"
  [[ "${QUARTET_PROD:-0}" == 1 ]] && flavor=prod other=dev
  [[ "$flavor" == prod ]] && compose_server_names
  compose_guard "$flavor"
  if [[ "$(compose_project "$other")" != "$(compose_project "$flavor")" ]] &&
    [[ -n "$(docker ps -q --filter "label=com.docker.compose.project=$(compose_project "$other")")" ]]; then
    die "the $other stack (project $(compose_project "$other")) is running; stop it first with ./quartet down"
  fi
  mkdir -p "$STATE_DIR/logs"
  printf '%s\n' "$flavor" >"$STATE_DIR/compose-flavor"
  log="$STATE_DIR/logs/compose-build-$(compose_project).log"
  say "compose mode ($flavor): building the images (log: $log)"
  if ! compose build >"$log" 2>&1 </dev/null; then
    tail -n 30 "$log" >&2
    die "building the images failed; see $log"
  fi
  [[ "$flavor" == prod ]] && compose_prepare_secrets
  # The backups outlive the project's volumes (decision 0021).
  [[ "$flavor" == dev ]] || docker volume create "$(compose_setting QUARTET_BACKUP_VOLUME "$(compose_project)-backups")" >/dev/null
  say "starting the stack (project $(compose_project))"
  if ! compose up -d --remove-orphans </dev/null; then
    # A refused secret or setting is migrate's last line.
    compose logs --no-log-prefix --tail 3 migrate </dev/null >&2 || :
    die "compose up failed; see ./quartet logs"
  fi
  compose_wait_healthy 180 postgres redis backend nginx
  if [[ "$flavor" == dev ]]; then
    compose_wait_healthy 60 maildev
    say "dev admin: $(compose_setting ADMIN_EMAIL admin@quartet.localhost), password dev-insecure-admin-password"
    say "mail inbox at http://127.0.0.1:$(compose_setting QUARTET_MAIL_PORT 1080)/ (every mail the app sends lands here)"
  fi
  local port
  port="$(compose_setting QUARTET_PUBLIC_PORT 80)"
  say "ready at http://127.0.0.1$([[ "$port" == 80 ]] || printf ':%s' "$port")/"
}

# compose_secrets_dir: the production secrets' folder, absolute.
compose_secrets_dir() {
  local dir
  dir="$(compose_setting QUARTET_SECRETS_DIR ./docker/secrets)"
  [[ "$dir" == /* ]] || dir="$QUARTET_ROOT/${dir#./}"
  printf '%s\n' "$dir"
}

# compose_prepare_secrets: production secrets exist (generate-secrets.sh makes the missing ones).
compose_prepare_secrets() {
  local dir name missing=()
  dir="$(compose_secrets_dir)"
  for name in db_password db_owner_password db_app_password redis_password redis_backup_password session_secret jwt_secret admin_password_hash backup_passphrase; do
    [[ -s "$dir/$name" ]] || missing+=("$name")
  done
  # A new passphrase cannot read backups encrypted with the lost one, and would be taken for it.
  if [[ " ${missing[*]} " == *" backup_passphrase "* && "$(compose_backup_encryption)" == on ]] &&
    docker volume inspect "$(compose_setting QUARTET_BACKUP_VOLUME "$(compose_project)-backups")" >/dev/null 2>&1; then
    die "QUARTET_BACKUP_ENCRYPTION=on, the backups volume exists and the secret $dir/backup_passphrase is missing: put the copy kept off this machine there (a new one could not read the backups)"
  fi
  # Empty is valid: the relay needs no login.
  [[ -e "$dir/smtp_password" ]] || missing+=(smtp_password)
  if ((${#missing[@]} > 0)); then
    say "missing production secrets (${missing[*]}); running scripts/generate-secrets.sh"
    QUARTET_SECRETS_DIR="$dir" QUARTET_SECRETS_GID="$(compose_setting QUARTET_SECRETS_GID 10001)" \
      QUARTET_BACKEND_IMAGE="$(compose_setting QUARTET_BACKEND_IMAGE quartet-backend:local)" \
      "$QUARTET_ROOT/scripts/generate-secrets.sh" || die "scripts/generate-secrets.sh failed; production secrets are missing"
  fi
  compose_refuse_development_secrets "$dir"
}

# compose_refuse_development_secrets DIR: production never runs on a published development value (the
# backend refuses them too, and any hash of the development admin password, when migrate runs).
compose_refuse_development_secrets() {
  local name published="$QUARTET_ROOT/deploy/docker/development-secrets"
  for name in db_password db_owner_password db_app_password redis_password session_secret jwt_secret admin_password_hash; do
    if [[ -r "$1/$name" && -r "$published/$name" && "$(<"$1/$name")" == "$(<"$published/$name")" ]]; then
      die "Secret '$name' in $1 is the published development value; make a new one with scripts/generate-secrets.sh --force $name"
    fi
  done
}

compose_down() {
  docker_reachable || die "no Docker engine answers (docker info failed)"
  say "stopping the stack (project $(compose_project); volumes are kept)"
  compose down --remove-orphans </dev/null || die "compose down failed"
}

compose_status() {
  docker_reachable || die "no Docker engine answers (docker info failed)"
  compose ps
}

compose_logs() {
  local arg follow=() services=()
  for arg in "$@"; do
    case "$arg" in
      -f | --follow) follow=(-f) ;;
      nginx | backend | migrate | postgres | redis | acme) services+=("$arg") ;;
      *) die "logs: unknown argument '$arg' (expected nginx, backend, migrate, postgres, redis, acme or -f)" ;;
    esac
  done
  compose logs --tail=100 "${follow[@]}" "${services[@]}"
}

# Backups (production): the backup container's tool does the work (decision 0021). restore --force
# stops the stack first; restore then loads PostgreSQL's and Redis's data and starts the stack again.
compose_backup() { [[ "$(compose_flavor)" == prod ]] || die "backups are part of the production stack (./quartet up --prod)"; compose exec -T backup quartet-backup backup "$@" </dev/null; }
compose_backups() { [[ "$(compose_flavor)" == prod ]] || die "backups are part of the production stack (./quartet up --prod)"; compose exec -T backup quartet-backup list "$@" </dev/null; }
compose_drill() {
  [[ "$(compose_flavor)" == prod ]] || die "drills are part of the production stack (./quartet up --prod)"
  (($# == 0)) || die "drill: unknown argument '$1'"
  compose exec -T backup quartet-backup drill </dev/null
}
compose_restore() {
  [[ "$(compose_flavor)" == prod ]] || die "backups are part of the production stack (./quartet up --prod)"
  [[ " $* " != *" --force "* ]] || compose stop </dev/null
  { compose run --rm -T restore restore "$@" && compose run --rm -T restore-redis; } </dev/null || die "restore failed; its output is above"
  compose up -d </dev/null && compose_wait_healthy 300 postgres redis backend nginx
}

# compose_wait_db SECONDS: PostgreSQL in the stack accepts connections (pg_isready over TCP).
compose_wait_db() {
  local deadline=$((SECONDS + $1))
  say "waiting for PostgreSQL (project $(compose_project), at most $1 s)"
  until compose exec -T postgres pg_isready -q -h 127.0.0.1 -p 5432 </dev/null >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "PostgreSQL did not accept connections within $1 s; see ./quartet logs postgres"
    sleep 1
  done
}

# compose_migrate: the one-shot migrate service, once, after PostgreSQL answers.
compose_migrate() {
  docker_reachable || die "no Docker engine answers (docker info failed)"
  compose_wait_db 60
  say "running migrate (project $(compose_project))"
  compose run --rm --no-deps -T migrate </dev/null || die "migrate failed; its output is above"
  say "migrations done: the schema is current"
}

# compose_backend_ids: the running backend replicas' container ids.
compose_backend_ids() {
  docker ps -q --no-trunc --filter "label=com.docker.compose.project=$(compose_project)" --filter label=com.docker.compose.service=backend
}

# deploy_backup: deploy's first step, a backup of the stack it is about to change.
deploy_backup() {
  say "backing up before the deploy (./quartet backup)"
  "$QUARTET_ROOT/quartet" backup || die "the backup before the deploy failed; fix it, or deploy with --no-backup"
}

# compose_deploy [--no-backup]: a backup, the new backend image, its migrations, then each replica
# replaced by one on the new image, one at a time. The new one is healthy before the old one gets
# SIGTERM: it stops accepting (nginx sends to the others), finishes what it holds, and is removed.
compose_deploy() {
  local arg backup=1 old seen id new started=$SECONDS deadline max=""
  for arg in "$@"; do
    [[ "$arg" == --no-backup ]] || die "deploy: unknown argument '$arg' (only --no-backup)"
    backup=0
  done
  docker_reachable || die "no Docker engine answers (docker info failed)"
  mapfile -t old < <(compose_backend_ids)
  ((${#old[@]} > 0)) || die "no backend runs in project $(compose_project); start the stack with ./quartet up"
  [[ "$(compose_flavor)" == prod ]] && max="$(compose_setting QUARTET_DB_MAX_CONNECTIONS 100)"
  db_connections_fit "${#old[@]}" "${max:-100}"
  ((backup == 0)) || deploy_backup
  say "building the backend image"
  compose build backend </dev/null >"$STATE_DIR/deploy-build.log" 2>&1 || die "building the backend image failed; see $STATE_DIR/deploy-build.log"
  compose_migrate
  seen=("${old[@]}")
  for id in "${old[@]}"; do
    compose up -d --no-deps --no-recreate --scale "backend=$((${#old[@]} + 1))" backend </dev/null || die "starting a new backend replica failed"
    new="$(compose_backend_ids | grep -vxF -f <(printf '%s\n' "${seen[@]}") | head -n 1)" || die "compose started no new backend replica"
    seen+=("$new")
    deadline=$((SECONDS + 180))
    until [[ "$(docker inspect -f '{{.State.Health.Status}}' "$new" 2>/dev/null)" == healthy ]]; do
      ((SECONDS < deadline)) || die "the new replica ${new:0:12} is not healthy within 180 s; the old ones still serve (docker logs ${new:0:12})"
      sleep 1
    done
    say "replica ${new:0:12} healthy; stopping ${id:0:12}"
    docker stop -t 30 "$id" >/dev/null || die "stopping the old replica ${id:0:12} failed"
    docker rm "$id" >/dev/null
  done
  say "deployed: ${#old[@]} backend replicas on the new image in $((SECONDS - started)) s"
}
