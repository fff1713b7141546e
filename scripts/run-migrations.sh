#!/usr/bin/env bash
# run-migrations.sh: applies pending database migrations to the compose stack: waits for
# PostgreSQL, then runs the backend image's migrate command once, as the one-shot service
# "migrate" (the owner role, db_password; it also keeps the app role and the first admin current).
#
#   scripts/run-migrations.sh [--prod]
#
# The exit status is migrate's: 0 when the schema is current.
# shellcheck source-path=SCRIPTDIR/..
set -euo pipefail

QUARTET_ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${QUARTET_STATE_DIR:-$QUARTET_ROOT/.quartet}"
source "$QUARTET_ROOT/scripts/lib/compose.sh"

case "${1:-}" in
  --prod) export QUARTET_PROD=1 ;;
  "") ;;
  *) die "unknown argument '$1' (usage: scripts/run-migrations.sh [--prod])" ;;
esac
compose_migrate
