#!/usr/bin/env bash
# run-migrations.sh: applies pending database migrations to the compose stack: waits for
# PostgreSQL, then runs the backend image's migrate command once, as the one-shot service
# "migrate" (the owner role, db_password; it also keeps the app role and the first admin current).
#
#   scripts/run-migrations.sh [--prod]
#
# --prod (or a stack last started with ./quartet up --prod) selects compose.yaml + compose.prod.yaml.
# The exit status is migrate's: 0 when the schema is current.
# shellcheck source-path=SCRIPTDIR/..
set -euo pipefail

QUARTET_ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${QUARTET_STATE_DIR:-$QUARTET_ROOT/.quartet}"
LOG_DIR="$STATE_DIR/logs"
source "$QUARTET_ROOT/scripts/lib/common.sh"
source "$QUARTET_ROOT/scripts/lib/compose.sh"

args=()
while (($# > 0)); do
  case "$1" in
    --prod)
      export QUARTET_PROD=1
      args+=(--prod)
      ;;
    -h | --help)
      awk 'NR > 1 && /^#/ && !/shellcheck/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *) die "unknown argument '$1' (usage: scripts/run-migrations.sh [--prod])" ;;
  esac
  shift
done

"$QUARTET_ROOT/scripts/wait-for-db.sh" "${args[@]}"
say "running migrate (project $(compose_project))"
rc=0
compose run --rm --no-deps -T migrate </dev/null || rc=$?
((rc == 0)) || die "migrate exited with $rc; its output is above"
say "migrations done: the schema is current"
