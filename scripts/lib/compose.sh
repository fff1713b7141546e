# shellcheck shell=bash
# Compose mode: compose_up, compose_down, compose_status, compose_logs, compose_migrate are ./quartet
# with a Docker engine, over compose.yaml (development) or compose.yaml + compose.prod.yaml (--prod).
# The compose tests (tests/Quartet.Deploy.Tests) start both through ./quartet up [--prod].
# Sourced by ./quartet (after common.sh and deps.sh) and by scripts/*.sh; defines functions only.

# ---------------------------------------------------------------- engine and CLI

COMPOSE_CMD=()

# docker_reachable: a Docker engine answers, within a bound (a stuck socket must not hang ./quartet).
docker_reachable() {
  command -v docker >/dev/null 2>&1 || return 1
  timeout 20 docker info >/dev/null 2>&1
}

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

# detect_mode: QUARTET_MODE when set, else compose when an engine and a compose CLI are there.
detect_mode() {
  case "${QUARTET_MODE:-}" in
    native | compose) printf '%s\n' "$QUARTET_MODE" ;;
    "")
      if docker_reachable && compose_detect; then
        printf 'compose\n'
      else
        printf 'native\n'
      fi
      ;;
    *) die "QUARTET_MODE must be native or compose, not '$QUARTET_MODE'" ;;
  esac
}

# ---------------------------------------------------------------- compose mode

# The flavour of the last `up` (dev or prod), so down/status/logs/migrate use the same files.
compose_flavor_file() { printf '%s/compose-flavor\n' "$STATE_DIR"; }

# COMPOSE_FLAVOR: dev or prod; --prod (QUARTET_PROD=1) wins, else what the last up used.
compose_flavor() {
  if [[ "${QUARTET_PROD:-0}" == 1 ]]; then
    printf 'prod\n'
  elif [[ -r "$(compose_flavor_file)" ]] && [[ "$(<"$(compose_flavor_file)")" == prod ]]; then
    printf 'prod\n'
  else
    printf 'dev\n'
  fi
}

# compose_env_file: QUARTET_ENV_FILE when set; for production, .env.production when it exists.
compose_env_file() {
  if [[ -n "${QUARTET_ENV_FILE:-}" ]]; then
    printf '%s\n' "$QUARTET_ENV_FILE"
  elif [[ "$(compose_flavor)" == prod && -f "$QUARTET_ROOT/.env.production" ]]; then
    printf '%s\n' "$QUARTET_ROOT/.env.production"
  fi
  return 0
}

# compose_project [FLAVOR]: QUARTET_COMPOSE_PROJECT, else quartet for production and quartet-dev
# for development, so the two never share a volume (their database passwords differ).
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

# compose_setting NAME [DEFAULT]: NAME from the environment, else from the env file compose reads
# (compose_env_file), else DEFAULT; as compose itself resolves it.
compose_setting() {
  local name="$1" default="${2:-}" file line
  if [[ -n "${!name:-}" ]]; then
    printf '%s\n' "${!name}"
    return 0
  fi
  file="$(compose_env_file)"
  if [[ -n "$file" && -r "$file" ]]; then
    line="$(grep -E "^[[:space:]]*$name=" "$file" | tail -n 1 || true)"
    if [[ -n "$line" ]]; then
      printf '%s\n' "${line#*=}"
      return 0
    fi
  fi
  printf '%s\n' "$default"
}

# compose [ARGS...]: the compose CLI on the files of the current flavour.
compose() {
  compose_detect || die "no compose CLI: install docker-compose (apt-get install docker-compose) or the compose plugin"
  local args=(-p "$(compose_project)" -f "$QUARTET_ROOT/compose.yaml") env_file
  [[ "$(compose_flavor)" == prod ]] && args+=(-f "$QUARTET_ROOT/compose.prod.yaml")
  env_file="$(compose_env_file)"
  [[ -n "$env_file" ]] && args+=(--env-file "$env_file")
  "${COMPOSE_CMD[@]}" "${args[@]}" "$@"
}

compose_public_url() {
  local port
  port="$(compose_setting QUARTET_PUBLIC_PORT 80)"
  if [[ "$port" == 80 ]]; then
    printf 'http://127.0.0.1/\n'
  else
    printf 'http://127.0.0.1:%s/\n' "$port"
  fi
}

# compose_containers [PROJECT]: ids of the project's containers (running or not).
compose_containers() {
  docker ps -aq --filter "label=com.docker.compose.project=${1:-$(compose_project)}"
}

# compose_container SERVICE: the id of the service's (first) container.
compose_container() {
  docker ps -aq --filter "label=com.docker.compose.project=$(compose_project)" \
    --filter "label=com.docker.compose.service=$1" | head -n 1
}

# compose_wait_healthy SECONDS SERVICE...: every service's container runs and is healthy.
compose_wait_healthy() {
  local limit="$1" deadline svc id state pending
  shift
  deadline=$((SECONDS + limit))
  while :; do
    pending=()
    for svc in "$@"; do
      id="$(compose_container "$svc")"
      state=""
      [[ -n "$id" ]] && state="$(docker inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id" 2>/dev/null || true)"
      [[ "$state" == running/healthy ]] || pending+=("$svc${state:+ ($state)}")
    done
    ((${#pending[@]} == 0)) && return 0
    if ((SECONDS >= deadline)); then
      COMPOSE_UNHEALTHY="${pending[*]}"
      return 1
    fi
    sleep 1
  done
}

# compose_prepare_secrets: production secrets exist (scripts/generate-secrets.sh makes the missing
# ones; it asks for the admin password on a terminal).
compose_prepare_secrets() {
  local dir name missing=()
  dir="$(compose_setting QUARTET_SECRETS_DIR ./docker/secrets)"
  [[ "$dir" == /* ]] || dir="$QUARTET_ROOT/${dir#./}"
  for name in db_password db_app_password redis_password session_secret jwt_secret admin_password_hash; do
    [[ -s "$dir/$name" ]] || missing+=("$name")
  done
  ((${#missing[@]} == 0)) && return 0
  say "missing production secrets (${missing[*]}); running scripts/generate-secrets.sh"
  QUARTET_SECRETS_DIR="$dir" QUARTET_SECRETS_GID="$(compose_setting QUARTET_SECRETS_GID 10001)" \
    QUARTET_BACKEND_IMAGE="$(compose_setting QUARTET_BACKEND_IMAGE quartet-backend:local)" \
    "$QUARTET_ROOT/scripts/generate-secrets.sh" ||
    die "scripts/generate-secrets.sh failed; production secrets are missing"
}

compose_up() {
  local flavor other log
  docker_reachable || die "no Docker engine answers (docker info failed); start it, or use QUARTET_MODE=native"
  mkdir -p "$STATE_DIR" "$LOG_DIR"
  flavor=dev
  [[ "${QUARTET_PROD:-0}" == 1 ]] && flavor=prod
  other=prod
  [[ "$flavor" == prod ]] && other=dev
  if [[ "$(compose_project "$other")" != "$(compose_project "$flavor")" ]] &&
    [[ -n "$(docker ps -q --filter "label=com.docker.compose.project=$(compose_project "$other")")" ]]; then
    die "the $other stack (project $(compose_project "$other")) is running; stop it first with ./quartet down"
  fi
  printf '%s\n' "$flavor" >"$(compose_flavor_file)"
  log="$LOG_DIR/compose-build-$(compose_project).log"
  say "compose mode ($flavor): building the images (log: $(rel "$log"))"
  if ! compose build >"$log" 2>&1 </dev/null; then
    show_tail "$log" 30
    die "building the images failed; see $(rel "$log")"
  fi
  [[ "$flavor" == prod ]] && compose_prepare_secrets
  say "starting the stack (project $(compose_project))"
  compose up -d --remove-orphans </dev/null || die "docker compose up failed; see ./quartet logs"
  if ! compose_wait_healthy 180 postgres redis backend nginx; then
    compose ps >&2 || true
    die "not healthy within 180 s: ${COMPOSE_UNHEALTHY:-?}; see ./quartet logs"
  fi
  if [[ "$flavor" == dev ]]; then
    say "dev admin: ${ADMIN_EMAIL:-admin@quartet.localhost}, password dev-insecure-admin-password"
  fi
  say "ready at $(compose_public_url)"
}

compose_down() {
  docker_reachable || die "no Docker engine answers (docker info failed)"
  say "stopping the stack (project $(compose_project); volumes are kept)"
  compose down --remove-orphans </dev/null || die "docker compose down failed"
}

compose_status() {
  docker_reachable || die "no Docker engine answers (docker info failed)"
  compose ps
}

compose_logs() {
  local follow=0 arg services=()
  for arg in "$@"; do
    case "$arg" in
      -f | --follow) follow=1 ;;
      nginx | backend | migrate | postgres | redis) services+=("$arg") ;;
      *) die "logs: unknown argument '$arg' (expected nginx, backend, migrate, postgres, redis or -f)" ;;
    esac
  done
  if ((follow)); then
    compose logs --tail=100 -f "${services[@]}"
  else
    compose logs --tail=100 "${services[@]}"
  fi
}

compose_migrate() {
  local args=()
  [[ "$(compose_flavor)" == prod ]] && args+=(--prod)
  "$QUARTET_ROOT/scripts/run-migrations.sh" "${args[@]}"
}
