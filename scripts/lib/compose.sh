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

# compose_env_file: the production settings, when there are any.
compose_env_file() {
  local file="${QUARTET_ENV_FILE:-$QUARTET_ROOT/.env.production}"
  [[ -f "$file" ]] && printf '%s\n' "$file"
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

# compose [ARGS...]: the compose CLI on the files of the current flavour.
compose() {
  compose_detect || die "no compose CLI: install docker-compose (apt-get install docker-compose) or the compose plugin"
  local args=(-p "$(compose_project)" -f "$QUARTET_ROOT/compose.yaml") env_file
  if [[ "$(compose_flavor)" == prod ]]; then
    args+=(-f "$QUARTET_ROOT/compose.prod.yaml")
    env_file="$(compose_env_file)"
    [[ -n "$env_file" ]] && args+=(--env-file "$env_file")
  fi
  "${COMPOSE_CMD[@]}" "${args[@]}" "$@"
}

compose_public_url() { printf 'http://127.0.0.1:%s/\n' "${QUARTET_PUBLIC_PORT:-80}"; }

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
  local dir="${QUARTET_SECRETS_DIR:-$QUARTET_ROOT/docker/secrets}" name missing=()
  for name in db_password db_app_password redis_password session_secret jwt_secret admin_password_hash; do
    [[ -s "$dir/$name" ]] || missing+=("$name")
  done
  ((${#missing[@]} == 0)) && return 0
  say "missing production secrets (${missing[*]}); running scripts/generate-secrets.sh"
  QUARTET_SECRETS_DIR="$dir" "$QUARTET_ROOT/scripts/generate-secrets.sh" ||
    die "scripts/generate-secrets.sh failed; production secrets are missing"
}

compose_up() {
  local flavor other log="$LOG_DIR/compose-build.log"
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
    say "dev admin: admin@quartet.localhost, password dev-insecure-admin-password"
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
