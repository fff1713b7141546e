# shellcheck shell=bash
# Swarm mode of ./quartet: deploy/swarm/quartet.stack.yaml on a Swarm manager, the engine that
# `docker` answers (DOCKER_HOST or the local socket). Bash and the Docker CLI only, as compose mode;
# sourced after compose.sh, whose say/die, settings and secret checks it shares. The runbook is
# docs/operations.md#docker-swarm, the reasons docs/decisions/0030-docker-swarm.md.

SWARM_FILE="$QUARTET_ROOT/deploy/swarm/quartet.stack.yaml"
# Swarm refuses an empty secret, so smtp_password (empty when the relay needs no login) is one only
# with QUARTET_SMTP_USERNAME set, from a second file.
SWARM_SMTP_FILE="$QUARTET_ROOT/deploy/swarm/smtp-login.stack.yaml"
SWARM_SECRETS=(db_password db_owner_password db_app_password redis_password redis_backup_password backup_passphrase session_secret jwt_secret admin_password_hash)

swarm_stack() { printf '%s\n' "${QUARTET_STACK:-quartet}"; }

# swarm_settings: `docker stack deploy` reads variables from the environment only, so the env file's
# NAME=value lines (QUARTET_ENV_FILE, else .env.production) are exported unless already set.
swarm_settings() {
  local file="${QUARTET_ENV_FILE:-$QUARTET_ROOT/.env.production}" line name
  [[ -r "$file" ]] || return 0
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ "$line" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || continue
    name="${line%%=*}"
    [[ -n "${!name+set}" ]] || export "$name=${line#*=}"
  done <"$file"
}

# swarm_check: a manager answers, a node holds the data, the secrets and the host names are there.
swarm_check() {
  local dir name
  [[ "$(timeout 20 docker info -f '{{.Swarm.LocalNodeState}}/{{.Swarm.ControlAvailable}}' 2>/dev/null)" == active/true ]] ||
    die "the Docker engine here is no Swarm manager (docker swarm init on it, or DOCKER_HOST naming a manager)"
  [[ -n "$(docker node ls -q --filter node.label=quartet.data=true)" ]] ||
    die "no node has the label quartet.data=true, so PostgreSQL and Redis have nowhere to run; label the node that keeps their volumes: docker node update --label-add quartet.data=true NODE"
  dir="$(compose_secrets_dir)"
  for name in "${SWARM_SECRETS[@]}"; do
    [[ -s "$dir/$name" ]] || die "the secret $dir/$name is missing or empty; make it with scripts/generate-secrets.sh"
  done
  if [[ -n "${QUARTET_SMTP_USERNAME:-}" && ! -s "$dir/smtp_password" ]]; then
    die "QUARTET_SMTP_USERNAME is set, and the secret $dir/smtp_password (the relay's password) is missing or empty; make it with QUARTET_SMTP_PASSWORD_FILE=<file> scripts/generate-secrets.sh --force smtp_password"
  fi
  compose_refuse_development_secrets "$dir"
  compose_backup_encryption >/dev/null
  db_connections_fit "${QUARTET_BACKEND_REPLICAS:-2}" "${QUARTET_DB_MAX_CONNECTIONS:-100}"
  export QUARTET_SECRETS_DIR="$dir"
  compose_server_names
  [[ -n "${QUARTET_SERVER_NAMES:-}" ]] || die "QUARTET_SERVER_NAMES is not set and QUARTET_PUBLIC_URL names no host; set either (see .env.production.example)"
}

# swarm_wait SECONDS SERVICE...: each service runs as many tasks as it wants, all on the spec's image
# and running (for a service with a healthcheck: healthy), and no update is under way. A rollback or
# a paused update ends the wait.
swarm_wait() {
  local limit="$1" svc want image running update pending
  local deadline=$((SECONDS + limit))
  shift
  while :; do
    pending=()
    for svc in "$@"; do
      svc="$(swarm_stack)_$svc"
      want="$(docker service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' "$svc")" || die "no service $svc"
      image="$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$svc")"
      running="$(docker service ps --filter desired-state=running --format '{{.CurrentState}}|{{.Image}}' "$svc" |
        awk -F'|' -v image="$image" '$1 ~ /^Running/ && $2 == image' | wc -l)"
      update="$(docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "$svc")"
      case "$update" in
        rollback_* | paused) die "$svc: update $update: $(docker service inspect -f '{{.UpdateStatus.Message}}' "$svc")" ;;
      esac
      [[ "$running" == "$want" && "$update" != updating ]] || pending+=("$svc ($running/$want on $image${update:+, $update})")
    done
    ((${#pending[@]} == 0)) && return 0
    ((SECONDS < deadline)) || die "not converged within $limit s: ${pending[*]}; see docker service ps"
    sleep 2
  done
}

# swarm_migrate: one task of the migrate service (declared with no task), awaited, then none again.
swarm_migrate() {
  local svc before task state deadline
  svc="$(swarm_stack)_migrate"
  mapfile -t before < <(docker service ps -q "$svc")
  say "running migrate ($svc, $(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$svc"))"
  docker service scale --detach "$svc=1" >/dev/null || die "scaling $svc to one task failed"
  deadline=$((SECONDS + 300))
  while :; do
    task="$(docker service ps -q "$svc" | grep -vxF -f <(printf '%s\n' "${before[@]}") | head -n 1)" || :
    state="$([[ -n "$task" ]] && docker inspect -f '{{.Status.State}}' "$task")" || state=""
    case "$state" in
      complete) break ;;
      failed | rejected | shutdown | orphaned | remove)
        docker service logs --raw --tail 5 "$svc" >&2 || :
        docker service scale --detach "$svc=0" >/dev/null || :
        die "migrate ended $state: $(docker inspect -f '{{.Status.Err}}' "$task"); its last lines are above"
        ;;
    esac
    ((SECONDS < deadline)) || die "migrate did not complete within 300 s (task ${task:-not started}: ${state:-no state}); see docker service logs $svc"
    sleep 1
  done
  docker service scale --detach "$svc=0" >/dev/null || die "scaling $svc back to no task failed"
  say "migrations done: the schema is current"
}

swarm_stack_deploy() {
  local files=(-c "$SWARM_FILE")
  [[ -z "${QUARTET_SMTP_USERNAME:-}" ]] || files+=(-c "$SWARM_SMTP_FILE")
  say "docker stack deploy $(swarm_stack) (deploy/swarm/quartet.stack.yaml${QUARTET_SMTP_USERNAME:+ and smtp-login.stack.yaml})"
  # No registry is asked for a digest: the images are on the nodes, or the nodes pull them.
  docker stack deploy --prune --resolve-image never "${files[@]}" "$(swarm_stack)" </dev/null || die "docker stack deploy failed"
}

# swarm_backup_container: the running container of the backup service's task, on the engine `docker`
# answers. The task runs on the quartet.data=true node: on a swarm of several nodes, DOCKER_HOST names
# that node's engine (a manager lists the task, but only its own node's engine runs `docker exec`).
swarm_backup_container() {
  local svc id task
  svc="$(swarm_stack)_backup"
  docker service inspect "$svc" >/dev/null 2>&1 || die "no service $svc; deploy the stack with ./quartet swarm deploy"
  id="$(docker ps -q --filter "label=com.docker.swarm.service.name=$svc" --filter status=running | head -n 1)"
  if [[ -z "$id" ]]; then
    task="$(docker service ps --filter desired-state=running --format '{{.Node}}: {{.CurrentState}}' "$svc" | head -n 1)" || :
    die "no running container of $svc on this engine (its task: ${task:-none}); run the command with DOCKER_HOST naming the engine of the node that runs it, the quartet.data=true node"
  fi
  printf '%s\n' "$id"
}

# swarm_backup_tool ARGS...: quartet-backup in the backup task's container (backup, list [--verify]).
swarm_backup_tool() {
  local id
  id="$(swarm_backup_container)" || return 1
  docker exec "$id" quartet-backup "$@" </dev/null
}

# swarm_deploy: a backup of the stack it is about to change, then the migrations before a new backend
# serves. A new stack has no database yet, so it is deployed first and migrated once PostgreSQL and
# Redis run; an existing one is migrated on the new image first (migrations are expand-only, decision
# 0029), then rolled, start-first.
swarm_deploy() {
  local started=$SECONDS image backup="$1"
  swarm_settings
  swarm_check
  image="${QUARTET_BACKEND_IMAGE:-quartet-backend:local}"
  if docker service inspect "$(swarm_stack)_migrate" >/dev/null 2>&1; then
    if ((backup == 1)); then
      say "backing up before the deploy (./quartet swarm backup)"
      swarm_backup_tool backup || die "the backup before the deploy failed; fix it, or deploy with --no-backup"
    fi
    docker service update --quiet --detach --no-resolve-image --image "$image" "$(swarm_stack)_migrate" >/dev/null ||
      die "setting migrate's image to $image failed"
    swarm_migrate
    swarm_stack_deploy
  else
    say "a new stack: nothing to back up yet"
    swarm_stack_deploy
    swarm_wait 300 postgres redis redis-cache
    swarm_migrate
  fi
  swarm_wait 600 postgres redis redis-cache backup backend nginx
  say "deployed stack $(swarm_stack) in $((SECONDS - started)) s: $(docker service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' "$(swarm_stack)_backend") backend replicas on $image"
}

swarm_command() {
  local cmd="${1:-}"
  (($# == 0)) || shift
  command -v docker >/dev/null 2>&1 || die "swarm needs the Docker CLI"
  case "$cmd" in
    deploy)
      case "$*" in
        "") swarm_deploy 1 ;;
        --no-backup) swarm_deploy 0 ;;
        *) die "swarm deploy: unknown arguments '$*' (only --no-backup; settings: docs/configuration.md)" ;;
      esac
      ;;
    migrate) swarm_settings && swarm_check && swarm_migrate ;;
    status) docker stack services "$(swarm_stack)" ;;
    backup)
      (($# == 0)) || die "swarm backup takes no arguments"
      swarm_backup_tool backup
      ;;
    backups)
      [[ "$*" == "" || "$*" == --verify ]] || die "swarm backups: unknown argument '$1' (only --verify)"
      swarm_backup_tool list "$@"
      ;;
    *) die "swarm: unknown command '${cmd}' (deploy, migrate, status, backup or backups)" ;;
  esac
}
