#!/usr/bin/env bash
# wait-for-db.sh: blocks until the compose stack's PostgreSQL accepts connections (pg_isready over
# TCP inside the postgres container), for at most --timeout seconds (default 60).
#
#   scripts/wait-for-db.sh [--prod] [--timeout SECONDS]
#
# --prod (or a stack last started with ./quartet up --prod) selects compose.yaml + compose.prod.yaml.
# shellcheck source-path=SCRIPTDIR/..
set -euo pipefail

QUARTET_ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${QUARTET_STATE_DIR:-$QUARTET_ROOT/.quartet}"
source "$QUARTET_ROOT/scripts/lib/compose.sh"

timeout=60
while (($# > 0)); do
  case "$1" in
    --prod) export QUARTET_PROD=1 ;;
    --timeout)
      timeout="${2:-}"
      shift
      [[ "$timeout" =~ ^[1-9][0-9]*$ ]] || die "--timeout takes a whole number of seconds"
      ;;
    *) die "unknown argument '$1' (usage: scripts/wait-for-db.sh [--prod] [--timeout SECONDS])" ;;
  esac
  shift
done
docker_reachable || die "no Docker engine answers (docker info failed)"
compose_wait_db "$timeout"
say "PostgreSQL accepts connections"
