#!/usr/bin/env bash
# wait-for-db.sh: blocks until the compose stack's PostgreSQL accepts connections (pg_isready over
# TCP inside the postgres container), for at most --timeout seconds (default 60).
#
#   scripts/wait-for-db.sh [--prod] [--timeout SECONDS]
#
# --prod (or a stack last started with ./quartet up --prod) selects compose.yaml + compose.prod.yaml.
# Exit status 0 when PostgreSQL answers, 1 when it did not within the time.
# shellcheck source-path=SCRIPTDIR/..
set -euo pipefail

QUARTET_ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${QUARTET_STATE_DIR:-$QUARTET_ROOT/.quartet}"
LOG_DIR="$STATE_DIR/logs"
source "$QUARTET_ROOT/scripts/lib/common.sh"
source "$QUARTET_ROOT/scripts/lib/compose.sh"

timeout_s=60
while (($# > 0)); do
  case "$1" in
    --prod) export QUARTET_PROD=1 ;;
    --timeout)
      if (($# < 2)) || ! [[ "$2" =~ ^[0-9]+$ ]]; then
        die "--timeout needs a number of seconds"
      fi
      timeout_s="$2"
      shift
      ;;
    -h | --help)
      awk 'NR > 1 && /^#/ && !/shellcheck/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *) die "unknown argument '$1' (usage: scripts/wait-for-db.sh [--prod] [--timeout SECONDS])" ;;
  esac
  shift
done

docker_reachable || die "no Docker engine answers (docker info failed)"

pg_answers() {
  compose exec -T postgres pg_isready -q -h 127.0.0.1 -U quartet -d quartet </dev/null
}

say "waiting up to ${timeout_s} s for PostgreSQL (project $(compose_project))"
if wait_until "$timeout_s" pg_answers; then
  say "PostgreSQL accepts connections"
else
  die "PostgreSQL did not accept connections within ${timeout_s} s (is the stack up? ./quartet status)"
fi
