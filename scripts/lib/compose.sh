# shellcheck shell=bash
# Compose mode and the compose test suite.
#  - compose_up, compose_down, compose_status, compose_logs, compose_migrate: ./quartet with a Docker
#    engine, over compose.yaml (development) or compose.yaml + compose.prod.yaml (--prod).
#  - suite_compose: builds CI's stand-in images (ci/images/), then starts the development and the
#    production files for real and checks them.
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

# ---------------------------------------------------------------- CI's stand-in images

# No image registry is reachable in CI, so the images the compose files start from are built here
# (ci/images/<name>/Dockerfile) and tagged quartet-ci/<name>:<hash of their inputs>; a tag that
# exists is reused.

CI_IMAGE_REPO="quartet-ci"

# ci_digest [STRING...]: 12 hex digits of SHA-256 over the strings given.
ci_digest() { printf '%s\n' "$@" | sha256sum | cut -c1-12; }

# ci_dir_digest NAME: a digest of ci/images/NAME (paths, modes and contents).
ci_dir_digest() {
  (
    cd "$QUARTET_ROOT/ci/images/$1" || exit 1
    find . -type f -printf '%p %m\n' | LC_ALL=C sort
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  ) | sha256sum | cut -c1-12
}

ci_image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# ci_forget_old NAME KEEP: removes the other tags of quartet-ci/NAME (older inputs).
ci_forget_old() {
  local ref
  while IFS= read -r ref; do
    [[ -n "$ref" && "$ref" != "$2" ]] || continue
    docker image rm "$ref" >/dev/null 2>&1 || true
  done < <(docker image ls --format '{{.Repository}}:{{.Tag}}' "$CI_IMAGE_REPO/$1" 2>/dev/null)
}

# ci_build NAME TAG BUILD_ARGS_STRING -- TAR_ARGS...: builds ci/images/NAME into TAG. The build
# context is a tar stream of the directory plus whatever TAR_ARGS add from the host (the SDK, ...),
# so nothing from the host is copied into the checkout.
ci_build() {
  local name="$1" tag="$2" log="$LOG_DIR/ci-image-$1.log" build_args=() started=$SECONDS
  shift 2
  while (($# > 0)) && [[ "$1" != -- ]]; do
    build_args+=(--build-arg "$1")
    shift
  done
  shift
  say "building stand-in image $tag (log: $(rel "$log"))"
  if ! tar -cf - -C "$QUARTET_ROOT/ci/images/$name" . "$@" |
    DOCKER_BUILDKIT=0 docker build --force-rm --label "quartet.ci.stand-in=$name" \
      "${build_args[@]}" -t "$tag" - >"$log" 2>&1; then
    show_tail "$log" 25
    die "building the stand-in image $name failed; see $(rel "$log")"
  fi
  say "built $tag in $((SECONDS - started)) s"
  ci_forget_old "$name" "$tag"
}

# ci_debian_mirror: the Debian archive this host installs from (its deb822 .sources or
# sources.list entry for the bookworm suite).
ci_debian_mirror() {
  local file uri=""
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -r "$file" ]] || continue
    uri="$(awk '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[Tt]ypes:/) { sub(/^[^:]*:[ \t]*/, "", line); types = line }
          else if (line ~ /^URIs:/) { sub(/^[^:]*:[ \t]*/, "", line); uris = line }
          else if (line ~ /^Suites:/) { sub(/^[^:]*:[ \t]*/, "", line); suites = " " line " " }
          else if (line ~ /^Enabled:/) { sub(/^[^:]*:[ \t]*/, "", line); enabled = line }
        }
        if (enabled != "no" && types ~ /(^| )deb( |$)/ && suites ~ / bookworm /) {
          split(uris, u, " "); print u[1]; exit
        }
      }' "$file")"
    [[ -n "$uri" ]] && break
  done
  if [[ -z "$uri" ]]; then
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [[ -r "$file" ]] || continue
      uri="$(awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) == "bookworm") { print $i; exit } }' "$file")"
      [[ -n "$uri" ]] && break
    done
  fi
  [[ -n "$uri" ]] || die "no Debian bookworm archive found in /etc/apt/sources.list*; debootstrap needs one"
  printf '%s\n' "$uri"
}

# ci_rootfs_image: a minimal Debian bookworm root (debootstrap), imported as the image CI_ROOTFS.
ci_rootfs_image() {
  local mirror tag dir log="$LOG_DIR/ci-debootstrap.log" started=$SECONDS
  mirror="$(ci_debian_mirror)"
  tag="$CI_IMAGE_REPO/rootfs:$(ci_digest bookworm minbase "$mirror")"
  if ! ci_image_exists "$tag"; then
    dir="$(mktemp -d "${TMPDIR:-/tmp}/quartet-rootfs.XXXXXX")"
    say "debootstrap --variant=minbase bookworm from $mirror (log: $(rel "$log"))"
    if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$log" 2>&1 </dev/null; then
      rm -rf -- "$dir"
      show_tail "$log" 20
      die "debootstrap failed; see $(rel "$log")"
    fi
    rm -rf -- "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    say "importing the root as $tag"
    if ! tar -C "$dir" -c . | docker import - "$tag" >>"$log" 2>&1; then
      rm -rf -- "$dir"
      die "docker import of the Debian root failed; see $(rel "$log")"
    fi
    rm -rf -- "$dir"
    say "made $tag in $((SECONDS - started)) s"
    ci_forget_old rootfs "$tag"
  fi
  CI_ROOTFS="$tag"
}

# ci_dotnet_root: the directory of the host's dotnet (holding dotnet, sdk/, shared/).
ci_dotnet_root() {
  local dir
  dir="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  [[ -d "$dir/sdk" && -d "$dir/shared/Microsoft.AspNetCore.App" ]] ||
    die "the host's .NET at $dir has no sdk/ or ASP.NET Core runtime; the .NET stand-ins need both"
  printf '%s\n' "$dir"
}

# ci_node_ok: the host's node is 20.19 or newer (the web build's minimum).
ci_node_ok() {
  local v major minor
  v="$(node --version 2>/dev/null || true)"
  v="${v#v}"
  major="${v%%.*}"
  minor="${v#*.}"
  minor="${minor%%.*}"
  [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] || return 1
  ((major > 20 || (major == 20 && minor >= 19)))
}

# ci_stand_ins: builds what is missing and exports the variables the compose files read.
ci_stand_ins() {
  local rootfs base tag dotnet_root node_bin npm_dir sdk_versions runtimes ca=/etc/ssl/certs/ca-certificates.crt
  local name parts
  mkdir -p "$LOG_DIR"
  [[ -r "$ca" ]] || die "$ca is missing (install ca-certificates); the stand-ins trust the host's CA bundle"

  ci_rootfs_image
  rootfs="$CI_ROOTFS"
  base="$CI_IMAGE_REPO/base:$(ci_digest "$(ci_dir_digest base)" "$rootfs" "$(sha256sum <"$ca")")"
  ci_image_exists "$base" || ci_build base "$base" "ROOTFS_IMAGE=$rootfs" -- -C "$(dirname "$ca")" "$(basename "$ca")"

  for name in postgres redis nginx-unprivileged; do
    tag="$CI_IMAGE_REPO/$name:$(ci_digest "$(ci_dir_digest "$name")" "$base")"
    ci_image_exists "$tag" || ci_build "$name" "$tag" "BASE_IMAGE=$base" --
    case "$name" in
      postgres) QUARTET_POSTGRES_IMAGE="$tag" ;;
      redis) QUARTET_REDIS_IMAGE="$tag" ;;
      nginx-unprivileged) QUARTET_NGINX_IMAGE="$tag" ;;
    esac
  done

  ensure_dotnet
  dotnet_root="$(ci_dotnet_root)"
  sdk_versions="$(dotnet --list-sdks | tr '\n' ' ')"
  runtimes="$(dotnet --list-runtimes | tr '\n' ' ')"
  tag="$CI_IMAGE_REPO/dotnet-sdk:$(ci_digest "$(ci_dir_digest dotnet-sdk)" "$base" "$dotnet_root" "$sdk_versions" "$runtimes")"
  ci_image_exists "$tag" || ci_build dotnet-sdk "$tag" "BASE_IMAGE=$base" "DOTNET_DIR=$(basename "$dotnet_root")" -- \
    -C "$(dirname "$dotnet_root")" "$(basename "$dotnet_root")"
  QUARTET_DOTNET_SDK_IMAGE="$tag"

  tag="$CI_IMAGE_REPO/aspnet:$(ci_digest "$(ci_dir_digest aspnet)" "$base" "$dotnet_root" "$runtimes")"
  if ! ci_image_exists "$tag"; then
    name="$(basename "$dotnet_root")"
    parts=("$name/dotnet" "$name/host" "$name/shared/Microsoft.NETCore.App" "$name/shared/Microsoft.AspNetCore.App")
    [[ -f "$dotnet_root/LICENSE.txt" ]] && parts+=("$name/LICENSE.txt")
    [[ -f "$dotnet_root/ThirdPartyNotices.txt" ]] && parts+=("$name/ThirdPartyNotices.txt")
    ci_build aspnet "$tag" "BASE_IMAGE=$base" "DOTNET_DIR=$name" -- -C "$(dirname "$dotnet_root")" "${parts[@]}"
  fi
  QUARTET_DOTNET_RUNTIME_IMAGE="$tag"

  ci_node_ok || die "the node stand-in copies the host's Node.js, which must be 20.19 or newer (found: $(node --version 2>/dev/null || printf none))"
  node_bin="$(readlink -f "$(command -v node)")"
  npm_dir="$(npm root -g 2>/dev/null)/npm"
  [[ -f "$npm_dir/bin/npm-cli.js" ]] || die "npm not found next to the host's node ($npm_dir); the node stand-in needs it"
  tag="$CI_IMAGE_REPO/node:$(ci_digest "$(ci_dir_digest node)" "$base" "$(node --version)" "$(npm --version 2>/dev/null)")"
  ci_image_exists "$tag" || ci_build node "$tag" "BASE_IMAGE=$base" "NODE_BIN=$(basename "$node_bin")" "NPM_DIR=npm" -- \
    -C "$(dirname "$node_bin")" "$(basename "$node_bin")" -C "$(dirname "$npm_dir")" npm
  QUARTET_NODE_IMAGE="$tag"

  export QUARTET_POSTGRES_IMAGE QUARTET_REDIS_IMAGE QUARTET_NGINX_IMAGE QUARTET_DOTNET_SDK_IMAGE \
    QUARTET_DOTNET_RUNTIME_IMAGE QUARTET_NODE_IMAGE
}

# ---------------------------------------------------------------- suite "compose"

# Both compose files started for real, on CI's stand-ins, as the project quartet-ci on a free
# loopback port and a free subnet, so a developer's stack is never touched. One line and one test
# per check; everything the suite creates (containers, networks, volumes, secrets) is removed at
# the end, also when a check fails. The built images stay as build cache.

CI_PROJECT="quartet-ci"
CI_PASSED=0
CI_FAILED=0
CI_DOCKERD_PID=""
CI_DIR=""
CI_LOG=""
CI_LAST=""

# ci_check NAME FUNCTION [ARGS...]: one test, one line. FUNCTION returns 0, or sets CHECK_DETAIL
# and fails. CI_LAST is pass or fail; ci_check itself always succeeds, so a failed check never
# ends the run.
ci_check() {
  local name="$1"
  shift
  CHECK_DETAIL=""
  printf '==== %s check: %s\n' "$(date -u +%H:%M:%S)" "$name" >>"$CI_LOG"
  if "$@" >>"$CI_LOG" 2>&1; then
    say "compose: pass  $name"
    CI_PASSED=$((CI_PASSED + 1))
    CI_LAST=pass
  else
    say "compose: FAIL  $name${CHECK_DETAIL:+: $CHECK_DETAIL}"
    CI_FAILED=$((CI_FAILED + 1))
    CI_LAST=fail
  fi
  return 0
}

fail() {
  CHECK_DETAIL="$*"
  return 1
}

# ci_compose ARGS...: the compose CLI on the CI project; CI_FLAVOR selects the files. The empty env
# file keeps a developer's .env out of the run.
ci_compose() {
  local files=(-f "$QUARTET_ROOT/compose.yaml")
  [[ "${CI_FLAVOR:-dev}" == prod ]] && files+=(-f "$QUARTET_ROOT/compose.prod.yaml")
  timeout 900 "${COMPOSE_CMD[@]}" -p "$CI_PROJECT" --env-file "$CI_DIR/empty.env" "${files[@]}" "$@" </dev/null
}

ci_url() { printf 'http://127.0.0.1:%s%s' "$QUARTET_PUBLIC_PORT" "$1"; }

# ci_free_port: an unused loopback port in 20000-32767, below the kernel's range for ephemeral
# ports, so no outgoing connection (or test server bound to port 0) takes it meanwhile.
ci_free_port() {
  local port tries=0
  while ((tries < 200)); do
    port=$((20000 + RANDOM % 12768))
    if ! port_in_use "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
    tries=$((tries + 1))
  done
  return 1
}

# ci_free_subnet: a /24 in 172.16.0.0/16 (outside Docker's default pools) that no network uses.
ci_free_subnet() {
  local used n networks=()
  mapfile -t networks < <(docker network ls -q)
  used="$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' "${networks[@]}" 2>/dev/null | tr '\n' ' ')"
  for ((n = 201; n < 255; n++)); do
    [[ " $used " == *" 172.16.$n.0/24 "* ]] && continue
    printf '172.16.%s.0/24\n' "$n"
    return 0
  done
  return 1
}

# ci_ensure_dockerd: a reachable engine; starts dockerd (logging to .quartet/logs/dockerd.log)
# when none runs, and remembers to stop it at the end.
ci_ensure_dockerd() {
  docker_reachable && return 0
  command -v dockerd >/dev/null 2>&1 || return 1
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  say "starting dockerd (log: $(rel "$LOG_DIR/dockerd.log"))"
  printf '==== %s quartet: dockerd start ====\n' "$(date -Is)" >>"$LOG_DIR/dockerd.log"
  setsid dockerd >>"$LOG_DIR/dockerd.log" 2>&1 </dev/null &
  CI_DOCKERD_PID=$!
  printf '%s\n' "$CI_DOCKERD_PID" >"$RUN_DIR/dockerd.pid"
  if ! wait_until 60 docker info; then
    show_tail "$LOG_DIR/dockerd.log" 20
    return 1
  fi
}

ci_stop_dockerd() {
  [[ -n "$CI_DOCKERD_PID" ]] || return 0
  if pid_alive "$CI_DOCKERD_PID"; then
    say "stopping the dockerd this suite started (pid $CI_DOCKERD_PID)"
    kill -TERM "$CI_DOCKERD_PID" 2>/dev/null || true
    wait_pid_gone "$CI_DOCKERD_PID" 30 || {
      warn "dockerd (pid $CI_DOCKERD_PID) did not stop within 30 s; sending SIGKILL"
      kill -KILL "$CI_DOCKERD_PID" 2>/dev/null || true
    }
  fi
  rm -f "$RUN_DIR/dockerd.pid"
  CI_DOCKERD_PID=""
}

# ci_cleanup: the project's containers, networks and volumes, the CI secrets, the engine if ours.
ci_cleanup() {
  # The development files name every container, network and volume the production ones do.
  if ((${#COMPOSE_CMD[@]} > 0)) && [[ -d "$CI_DIR" ]] && docker_reachable; then
    CI_FLAVOR=dev ci_compose down -v --remove-orphans --timeout 10 >>"$CI_LOG" 2>&1 || true
  fi
  [[ -n "$CI_DIR" ]] && rm -rf -- "$CI_DIR"
  ci_stop_dockerd
}

# ci_id SERVICE: the service's container in the CI project.
ci_id() {
  docker ps -aq --filter "label=com.docker.compose.project=$CI_PROJECT" \
    --filter "label=com.docker.compose.service=$1" | head -n 1
}

# ci_ns RFC3339: nanoseconds since the epoch.
ci_ns() { date -d "$1" +%s%N; }

# ---- checks

# check_build: the backend and web images build (on the stand-ins).
check_build() {
  ci_compose build || fail "docker compose build failed (log: $(rel "$CI_LOG"))"
}

# check_up FLAVOR: ./quartet up (compose mode) on the CI project, then every service healthy. The
# port is chosen right before, so nothing takes it meanwhile.
check_up() {
  local flavor="$1" rc=0 prod=0
  [[ "$flavor" == prod ]] && prod=1
  QUARTET_PUBLIC_PORT="$(ci_free_port)" || fail "no free port" || return 1
  export QUARTET_PUBLIC_PORT
  printf 'published port %s\n' "$QUARTET_PUBLIC_PORT"
  CI_T0="$(date +%s)"
  (
    # The flavour file of this run, not the developer's.
    # shellcheck disable=SC2030
    STATE_DIR="$CI_DIR/state"
    mkdir -p "$STATE_DIR"
    QUARTET_PROD="$prod" compose_up
  ) || rc=$?
  ((rc == 0)) || fail "./quartet up$( ((prod)) && printf ' --prod') exited with $rc (log: $(rel "$CI_LOG"))"
}

# check_order: postgres and redis healthy before migrate started; migrate exited 0 before the
# backend started; the backend healthy before nginx started.
check_order() {
  local events migrate backend nginx pg_ok redis_ok backend_ok nginx_start m_start m_end m_code b_start
  migrate="$(ci_id migrate)"
  backend="$(ci_id backend)"
  nginx="$(ci_id nginx)"
  m_code="$(docker inspect -f '{{.State.ExitCode}}' "$migrate")"
  [[ "$m_code" == 0 ]] || fail "migrate exited with $m_code" || return 1
  m_start="$(ci_ns "$(docker inspect -f '{{.State.StartedAt}}' "$migrate")")"
  m_end="$(ci_ns "$(docker inspect -f '{{.State.FinishedAt}}' "$migrate")")"
  b_start="$(ci_ns "$(docker inspect -f '{{.State.StartedAt}}' "$backend")")"
  ((m_end <= b_start)) || fail "backend started before migrate finished" || return 1
  events="$(timeout 30 docker events --since "$CI_T0" --until "$(date +%s)" \
    --filter "label=com.docker.compose.project=$CI_PROJECT" --filter type=container \
    --format '{{.TimeNano}} {{index .Actor.Attributes "com.docker.compose.service"}} {{.Status}}')"
  printf '%s\n' "$events"
  pg_ok="$(awk '$2 == "postgres" && $3 == "health_status:" && $4 == "healthy" { print $1; exit }' <<<"$events")"
  redis_ok="$(awk '$2 == "redis" && $3 == "health_status:" && $4 == "healthy" { print $1; exit }' <<<"$events")"
  backend_ok="$(awk '$2 == "backend" && $3 == "health_status:" && $4 == "healthy" { print $1; exit }' <<<"$events")"
  nginx_start="$(awk '$2 == "nginx" && $3 == "start" { print $1; exit }' <<<"$events")"
  [[ -n "$pg_ok" && -n "$redis_ok" && -n "$backend_ok" && -n "$nginx_start" ]] ||
    fail "docker events lack a healthy or start event" || return 1
  ((pg_ok <= m_start && redis_ok <= m_start)) || fail "migrate started before postgres and redis were healthy" || return 1
  ((backend_ok <= nginx_start)) || fail "nginx started before the backend was healthy" || return 1
}

# check_app FLAVOR: register, log in and create a note through the published port.
check_app() {
  local flavor="$1" out headers body code name
  CI_EMAIL="ci-$flavor-$RANDOM$RANDOM@example.test"
  CI_PASSWORD="ci-password-$RANDOM-$RANDOM"
  out="$CI_DIR/http"
  code="$(curl -sS --max-time 15 -o "$out.body" -w '%{http_code}' -X POST "$(ci_url /api/auth/register)" \
    -H 'Content-Type: application/json' -d "{\"email\":\"$CI_EMAIL\",\"password\":\"$CI_PASSWORD\"}")" || true
  [[ "$code" == 201 ]] || fail "register answered $code: $(head -c 200 "$out.body" 2>/dev/null)" || return 1
  code="$(curl -sS --max-time 15 -D "$out.headers" -o "$out.body" -w '%{http_code}' -X POST "$(ci_url /api/auth/login)" \
    -H 'Content-Type: application/json' -d "{\"email\":\"$CI_EMAIL\",\"password\":\"$CI_PASSWORD\"}")" || true
  [[ "$code" == 200 ]] || fail "login answered $code" || return 1
  headers="$(tr -d '\r' <"$out.headers")"
  body="$(<"$out.body")"
  name=quartet_session
  [[ "$flavor" == prod ]] && name=__Host-quartet_session
  CI_COOKIE="$(sed -n "s/^[Ss]et-[Cc]ookie: \($name=[^;]*\);.*/\1/p" <<<"$headers" | head -n 1)"
  [[ -n "$CI_COOKIE" ]] || fail "login set no $name cookie" || return 1
  if [[ "$flavor" == prod ]] && ! grep -qi "^set-cookie: $name=.*; secure" <<<"$headers"; then
    fail "the production session cookie is not Secure"
    return 1
  fi
  CI_CSRF="$(sed -n 's/.*"csrfToken":"\([^"]*\)".*/\1/p' <<<"$body")"
  [[ -n "$CI_CSRF" ]] || fail "login returned no csrfToken" || return 1
  # Secure cookies are not sent by curl over http, so the cookie goes back by hand.
  code="$(curl -sS --max-time 15 -o "$out.body" -w '%{http_code}' -X POST "$(ci_url /api/notes)" \
    -H "Cookie: $CI_COOKIE" -H "X-CSRF-Token: $CI_CSRF" -H 'Content-Type: application/json' \
    -d '{"title":"compose check","body":"written through nginx","tags":["ci"]}')" || true
  [[ "$code" == 201 ]] || fail "creating a note answered $code: $(head -c 200 "$out.body" 2>/dev/null)" || return 1
  CI_NOTE_ID="$(sed -n 's/^{"id":"\([^"]*\)".*/\1/p' "$out.body")"
  [[ -n "$CI_NOTE_ID" ]] || fail "the created note has no id" || return 1
  code="$(curl -sS --max-time 15 -o "$out.body" -w '%{http_code}' "$(ci_url "/api/notes/$CI_NOTE_ID")" -H "Cookie: $CI_COOKIE")" || true
  [[ "$code" == 200 ]] || fail "reading the note back answered $code" || return 1
  code="$(curl -sS --max-time 15 -o "$out.body" -w '%{http_code}' "$(ci_url /)")" || true
  [[ "$code" == 200 ]] && grep -qi '<html' "$out.body" || fail "GET / answered $code without the SPA" || return 1
}

# check_ports: nginx publishes one port, on the loopback address asked for; nothing else publishes.
check_ports() {
  local id svc bindings bad=()
  for id in $(docker ps -aq --filter "label=com.docker.compose.project=$CI_PROJECT"); do
    svc="$(docker inspect -f '{{index .Config.Labels "com.docker.compose.service"}}' "$id")"
    bindings="$(docker inspect -f '{{range $p, $b := .HostConfig.PortBindings}}{{range $b}}{{.HostIp}}:{{.HostPort}}->{{$p}} {{end}}{{end}}' "$id")"
    bindings="${bindings% }"
    printf '%s: %s\n' "$svc" "${bindings:-none}"
    if [[ "$svc" == nginx ]]; then
      [[ "$bindings" == "127.0.0.1:$QUARTET_PUBLIC_PORT->8080/tcp" ]] || bad+=("nginx publishes '$bindings'")
    elif [[ -n "$bindings" ]]; then
      bad+=("$svc publishes $bindings")
    fi
  done
  ((${#bad[@]} == 0)) || fail "${bad[*]}"
}

# ci_connects CONTAINER HOST PORT: a TCP connection from inside CONTAINER succeeds (bash's
# /dev/tcp, or nc where there is no bash, as in the Alpine images).
ci_connects() {
  # shellcheck disable=SC2016 # expanded inside the container
  timeout 20 docker exec "$1" sh -c '
    if command -v bash >/dev/null 2>&1; then
      exec timeout 5 bash -c "exec 3<>/dev/tcp/$0/$1" 2>/dev/null
    else
      exec nc -w 5 "$0" "$1" </dev/null >/dev/null 2>&1
    fi' "$2" "$3"
}

# check_isolated SERVICE PORT: nginx reaches SERVICE neither by name nor by its address, while the
# backend (the positive control) does.
check_isolated() {
  local svc="$1" port="$2" nginx backend target ip
  nginx="$(ci_id nginx)"
  backend="$(ci_id backend)"
  target="$(ci_id "$svc")"
  ip="$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$target" | awk '{ print $1 }')"
  [[ -n "$ip" ]] || fail "$svc has no address" || return 1
  ci_connects "$backend" "$svc" "$port" || fail "control failed: the backend cannot reach $svc:$port" || return 1
  ! ci_connects "$nginx" "$svc" "$port" || fail "nginx reached $svc:$port by name" || return 1
  ! ci_connects "$nginx" "$ip" "$port" || fail "nginx reached $svc at $ip:$port" || return 1
}

# check_hardened: what compose.prod.yaml promises, as the engine applied it.
check_hardened() {
  local id svc line bad=()
  for id in $(docker ps -aq --filter "label=com.docker.compose.project=$CI_PROJECT"); do
    line="$(docker inspect -f '{{index .Config.Labels "com.docker.compose.service"}} user={{.Config.User}} ro={{.HostConfig.ReadonlyRootfs}} capdrop={{.HostConfig.CapDrop}} capadd={{if .HostConfig.CapAdd}}{{.HostConfig.CapAdd}}{{else}}[]{{end}} sec={{.HostConfig.SecurityOpt}} mem={{.HostConfig.Memory}} cpus={{.HostConfig.NanoCpus}} pids={{.HostConfig.PidsLimit}} log={{.HostConfig.LogConfig.Type}}/{{index .HostConfig.LogConfig.Config "max-size"}}/{{index .HostConfig.LogConfig.Config "max-file"}} restart={{.HostConfig.RestartPolicy.Name}}' "$id")"
    printf '%s\n' "$line"
    svc="${line%% *}"
    [[ "$line" == *" user= "* || "$line" == *" user=root "* || "$line" == *" user=0 "* || "$line" == *" user=0:"* ]] && bad+=("$svc: no non-root user")
    [[ "$line" == *" ro=true "* ]] || bad+=("$svc: root filesystem writable")
    [[ "$line" == *" capdrop=[ALL] "* ]] || bad+=("$svc: capabilities not dropped")
    [[ "$line" == *" capadd=[] "* ]] || bad+=("$svc: capabilities added")
    [[ "$line" == *"no-new-privileges:true"* ]] || bad+=("$svc: no no-new-privileges")
    [[ "$line" =~ \ mem=[1-9] ]] || bad+=("$svc: no memory limit")
    [[ "$line" =~ \ cpus=[1-9] ]] || bad+=("$svc: no CPU limit")
    [[ "$line" =~ \ pids=[1-9] ]] || bad+=("$svc: no PID limit")
    [[ "$line" =~ \ log=json-file/[0-9]+[kmg]/[0-9]+ ]] || bad+=("$svc: no log rotation")
    if [[ "$svc" == migrate ]]; then
      [[ "$line" == *" restart=no"* ]] || bad+=("migrate: restarts")
    else
      [[ "$line" == *" restart=unless-stopped"* ]] || bad+=("$svc: restart policy is not unless-stopped")
    fi
  done
  ((${#bad[@]} == 0)) || fail "${bad[*]}"
}

# check_no_secret_in_inspect: no secret value (nor the admin password) in docker inspect of any
# container, and no secret-named variable in any environment.
check_no_secret_in_inspect() {
  local id file value json bad=()
  for id in $(docker ps -aq --filter "label=com.docker.compose.project=$CI_PROJECT"); do
    json="$(docker inspect "$id")"
    for file in "$CI_DIR"/secrets/* "$CI_DIR/admin_password"; do
      value="$(<"$file")"
      [[ -n "$value" ]] || continue
      if [[ "$json" == *"$value"* ]]; then
        bad+=("$(basename "$file") in $(docker inspect -f '{{.Name}}' "$id")")
      fi
    done
    if docker inspect -f '{{join .Config.Env "\n"}}' "$id" | grep -Eiq '^(DB_PASSWORD|DB_APP_PASSWORD|REDIS_PASSWORD|SESSION_SECRET|JWT_SECRET|ADMIN_PASSWORD_HASH|POSTGRES_PASSWORD|REDISCLI_AUTH)='; then
      bad+=("a secret variable in $(docker inspect -f '{{.Name}}' "$id")")
    fi
  done
  ((${#bad[@]} == 0)) || fail "${bad[*]}"
}

# check_no_root: no process in any running container has uid 0.
check_no_root() {
  local id procs bad=()
  for id in $(docker ps -q --filter "label=com.docker.compose.project=$CI_PROJECT"); do
    procs="$(docker top "$id" -eo uid,pid,comm)"
    printf '%s\n%s\n' "$(docker inspect -f '{{.Name}}' "$id")" "$procs"
    if awk 'NR > 1 && $1 == "0" { found = 1 } END { exit !found }' <<<"$procs"; then
      bad+=("$(docker inspect -f '{{.Name}}' "$id")")
    fi
  done
  ((${#bad[@]} == 0)) || fail "root processes in ${bad[*]}"
}

ci_me_ok() {
  [[ "$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$(ci_url /api/auth/me)" -H "Cookie: $CI_COOKIE")" == 200 ]]
}

# check_persistence: down, up: the user logs in again, the note is there, the session still works.
check_persistence() {
  local code
  ci_compose down --timeout 20 || fail "down failed" || return 1
  ci_compose up -d || fail "up after down failed" || return 1
  compose_wait_healthy 180 postgres redis backend nginx || fail "not healthy again: $COMPOSE_UNHEALTHY" || return 1
  code="$(curl -sS --max-time 15 -o /dev/null -w '%{http_code}' -X POST "$(ci_url /api/auth/login)" \
    -H 'Content-Type: application/json' -d "{\"email\":\"$CI_EMAIL\",\"password\":\"$CI_PASSWORD\"}")" || true
  [[ "$code" == 200 ]] || fail "the user cannot log in after down and up ($code)" || return 1
  code="$(curl -sS --max-time 15 -o /dev/null -w '%{http_code}' "$(ci_url "/api/notes/$CI_NOTE_ID")" -H "Cookie: $CI_COOKIE")" || true
  [[ "$code" == 200 ]] || fail "the note or the session is gone after down and up ($code)" || return 1
}

# check_backend_kill: kill -9 of the backend's process; the restart policy brings the same
# container back, healthy, and the session cookie still works.
check_backend_kill() {
  local id pid before after deadline
  id="$(ci_id backend)"
  pid="$(docker inspect -f '{{.State.Pid}}' "$id")"
  before="$(docker inspect -f '{{.RestartCount}}' "$id")"
  [[ "$pid" =~ ^[1-9][0-9]*$ ]] || fail "no backend process" || return 1
  kill -KILL "$pid" || fail "kill -9 $pid failed" || return 1
  deadline=$((SECONDS + 120))
  while :; do
    after="$(docker inspect -f '{{.RestartCount}} {{.State.Status}} {{.State.Health.Status}}' "$id" 2>/dev/null || true)"
    [[ "$after" == *" running healthy" && "${after%% *}" -gt "$before" ]] && break
    ((SECONDS < deadline)) || fail "not restarted and healthy within 120 s ($after)" || return 1
    sleep 1
  done
  wait_until 20 ci_me_ok || fail "the session cookie no longer works after the restart" || return 1
}

# check_redis_restart: the session survives a Redis restart (AOF).
check_redis_restart() {
  sleep 1.5 # appendfsync everysec: the session written at login is on disk after a second.
  timeout 60 docker restart -t 10 "$(ci_id redis)" >/dev/null || fail "docker restart redis failed" || return 1
  compose_wait_healthy 60 redis || fail "redis not healthy again within 60 s" || return 1
  wait_until 30 ci_me_ok || fail "the session is gone after the Redis restart" || return 1
}

# check_down_v: down -v leaves no container, network or volume of the project.
check_down_v() {
  local left
  ci_compose down -v --remove-orphans --timeout 20 || fail "down -v failed" || return 1
  left="$(docker ps -aq --filter "label=com.docker.compose.project=$CI_PROJECT")"
  left+="$(docker network ls -q --filter "label=com.docker.compose.project=$CI_PROJECT")"
  left+="$(docker volume ls -q --filter "label=com.docker.compose.project=$CI_PROJECT")"
  [[ -z "$left" ]] || fail "left behind: $left"
}

# check_secrets: generate-secrets.sh makes all six (mode 640, group QUARTET_SECRETS_GID) without
# a terminal, and a second run keeps every value.
check_secrets() {
  local before after f
  printf 'ci-admin-%s%s\n' "$RANDOM" "$RANDOM" >"$CI_DIR/admin_password"
  QUARTET_ADMIN_PASSWORD_FILE="$CI_DIR/admin_password" "$QUARTET_ROOT/scripts/generate-secrets.sh" </dev/null ||
    fail "generate-secrets.sh failed" || return 1
  for f in db_password db_app_password redis_password session_secret jwt_secret admin_password_hash; do
    [[ -s "$QUARTET_SECRETS_DIR/$f" ]] || fail "$f missing" || return 1
    [[ "$(stat -c '%a %g' "$QUARTET_SECRETS_DIR/$f")" == "640 ${QUARTET_SECRETS_GID:-10001}" ]] ||
      fail "$f has mode/group $(stat -c '%a %g' "$QUARTET_SECRETS_DIR/$f")" || return 1
  done
  before="$(cat "$QUARTET_SECRETS_DIR"/*)"
  "$QUARTET_ROOT/scripts/generate-secrets.sh" </dev/null || fail "a second run failed" || return 1
  after="$(cat "$QUARTET_SECRETS_DIR"/*)"
  [[ "$before" == "$after" ]] || fail "a second run without --force changed a secret"
}

# ci_round FLAVOR: up and every check of that flavour, then down -v. Stops at a failed up.
ci_round() {
  local flavor="$1" p="$1:" flag=""
  CI_FLAVOR="$flavor"
  [[ "$flavor" == prod ]] && flag=" --prod"
  if [[ "$flavor" == dev ]]; then
    ci_check "the backend and web images build (deploy/docker/*.Dockerfile)" check_build
    [[ "$CI_LAST" == pass ]] || return 0
  fi
  ci_check "$p up, every service healthy (./quartet up$flag)" check_up "$flavor"
  [[ "$CI_LAST" == pass ]] || return 0
  ci_check "$p order: postgres+redis healthy -> migrate exit 0 -> backend healthy -> nginx" check_order
  ci_check "$p register, log in, create a note through nginx" check_app "$flavor"
  ci_check "$p only nginx publishes a port" check_ports
  ci_check "$p nginx cannot reach postgres:5432" check_isolated postgres 5432
  ci_check "$p nginx cannot reach redis:6379" check_isolated redis 6379
  if [[ "$flavor" == prod ]]; then
    ci_check "$p non-root, read-only, no capabilities, no-new-privileges, limits, log rotation" check_hardened
    ci_check "$p no secret value in docker inspect" check_no_secret_in_inspect
    ci_check "$p no process runs as root" check_no_root
    ci_check "$p down then up keeps the user, the note and the session" check_persistence
    ci_check "$p kill -9 of the backend: restarted, healthy, session still works" check_backend_kill
    ci_check "$p Redis restart: the session still works (AOF)" check_redis_restart
  fi
  ci_check "$p down -v removes containers, networks and volumes" check_down_v
}

suite_compose() {
  local started=$SECONDS images="" rc=0 stand_ins=()
  CI_PASSED=0
  CI_FAILED=0
  mkdir -p "$LOG_DIR"
  CI_LOG="$LOG_DIR/test-compose.log"
  : >"$CI_LOG"
  say "compose: log in $(rel "$CI_LOG")"

  # Prerequisites; a failure here is one failed test, and the other suites still run.
  if ! (
    missing=()
    command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
    command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
    command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
  ); then
    say "compose: FAIL  install docker.io, docker-compose and debootstrap"
    count 0 1 0
    return 0
  fi
  compose_detect || true

  # shellcheck disable=SC2031 # the subshell in check_up changes its own copy only
  CI_DIR="$STATE_DIR/ci"
  rm -rf -- "$CI_DIR"
  mkdir -p "$CI_DIR/secrets"
  : >"$CI_DIR/empty.env"
  trap 'ci_cleanup' EXIT
  trap 'ci_cleanup; trap - EXIT; exit 130' INT TERM

  ci_check "a Docker engine answers (dockerd started when none runs)" ci_ensure_dockerd
  if [[ "$CI_LAST" != pass ]]; then
    rc=1
  else
    say "compose: building or reusing the stand-in images (log: $(rel "$CI_LOG"))"
    if ! images="$(
      ci_stand_ins >>"$CI_LOG" 2>&1
      printf '%s\n' "$QUARTET_POSTGRES_IMAGE" "$QUARTET_REDIS_IMAGE" "$QUARTET_NGINX_IMAGE" \
        "$QUARTET_DOTNET_SDK_IMAGE" "$QUARTET_DOTNET_RUNTIME_IMAGE" "$QUARTET_NODE_IMAGE"
    )"; then
      say "compose: FAIL  stand-in images (ci/images) build"
      CI_FAILED=$((CI_FAILED + 1))
      show_tail "$CI_LOG" 15
      rc=1
    else
      mapfile -t stand_ins <<<"$images"
      QUARTET_POSTGRES_IMAGE="${stand_ins[0]}"
      QUARTET_REDIS_IMAGE="${stand_ins[1]}"
      QUARTET_NGINX_IMAGE="${stand_ins[2]}"
      QUARTET_DOTNET_SDK_IMAGE="${stand_ins[3]}"
      QUARTET_DOTNET_RUNTIME_IMAGE="${stand_ins[4]}"
      QUARTET_NODE_IMAGE="${stand_ins[5]}"
      export QUARTET_POSTGRES_IMAGE QUARTET_REDIS_IMAGE QUARTET_NGINX_IMAGE QUARTET_DOTNET_SDK_IMAGE \
        QUARTET_DOTNET_RUNTIME_IMAGE QUARTET_NODE_IMAGE
      say "compose: pass  stand-in images (ci/images) build"
      CI_PASSED=$((CI_PASSED + 1))
    fi
  fi

  if ((rc == 0)); then
    QUARTET_COMPOSE_PROJECT="$CI_PROJECT"
    QUARTET_PUBLIC_ADDRESS=127.0.0.1
    QUARTET_PUBLIC_PORT="$(ci_free_port)"
    QUARTET_FRONTEND_SUBNET="$(ci_free_subnet)"
    QUARTET_BACKEND_IMAGE="$CI_IMAGE_REPO/backend:latest"
    QUARTET_WEB_IMAGE="$CI_IMAGE_REPO/web:latest"
    QUARTET_SECRETS_DIR="$CI_DIR/secrets"
    QUARTET_ENV_FILE="$CI_DIR/empty.env"
    ADMIN_EMAIL="admin@quartet.localhost"
    export QUARTET_COMPOSE_PROJECT QUARTET_PUBLIC_ADDRESS QUARTET_PUBLIC_PORT QUARTET_FRONTEND_SUBNET \
      QUARTET_BACKEND_IMAGE QUARTET_WEB_IMAGE QUARTET_SECRETS_DIR QUARTET_ENV_FILE ADMIN_EMAIL
    unset QUARTET_SECRETS_GID
    say "compose: project $CI_PROJECT on a free loopback port, frontend subnet $QUARTET_FRONTEND_SUBNET"
    ci_round dev
    ci_check "generate-secrets.sh: six secrets, mode 640, kept on a second run" check_secrets
    if [[ "$CI_LAST" == pass ]]; then
      ci_round prod
    fi
  fi

  ci_cleanup
  trap - EXIT INT TERM
  say "compose: $CI_PASSED passed, $CI_FAILED failed in $((SECONDS - started)) s"
  count "$CI_PASSED" "$CI_FAILED" 0
}
