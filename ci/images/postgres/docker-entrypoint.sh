#!/usr/bin/env bash
# Entrypoint of the postgres stand-in: the part of the official image's behaviour Quartet uses.
#  - POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (required on the first start), POSTGRES_USER
#    (default postgres), POSTGRES_DB (default: the user's name);
#  - started as root: prepares the directories, then runs as postgres; started as any other user
#    (compose.prod.yaml): runs as that user;
#  - an empty $PGDATA gets initdb, TCP access with scram-sha-256, trust on the local socket, and the
#    database, made through a server listening on the socket only (so pg_isready over TCP answers
#    only once the real server runs).
set -Eeuo pipefail

log() { printf 'postgres-entrypoint: %s\n' "$*" >&2; }

# file_env VAR [DEFAULT]: VAR from itself or from the file named by VAR_FILE (not both).
file_env() {
  local var="$1" file_var="${1}_FILE" default="${2:-}" value
  if [[ -n "${!var:-}" && -n "${!file_var:-}" ]]; then
    log "error: both $var and $file_var are set (they are exclusive)"
    exit 1
  fi
  value="$default"
  if [[ -n "${!var:-}" ]]; then
    value="${!var}"
  elif [[ -n "${!file_var:-}" ]]; then
    value="$(<"${!file_var}")"
  fi
  export "$var=$value"
  unset "$file_var"
}

if [[ "${1:0:1}" == - ]]; then
  set -- postgres "$@"
fi

if [[ "$1" != postgres ]]; then
  exec "$@"
fi

file_env POSTGRES_PASSWORD
file_env POSTGRES_USER postgres
file_env POSTGRES_DB "$POSTGRES_USER"

if [[ "$(id -u)" == 0 ]]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- "${BASH_SOURCE[0]}" "$@"
fi

mkdir -p "$PGDATA"
chmod 700 "$PGDATA" 2>/dev/null || :

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  if [[ -z "$POSTGRES_PASSWORD" ]]; then
    log "error: the database is not initialized and POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) is not set"
    exit 1
  fi
  log "initializing $PGDATA (superuser $POSTGRES_USER)"
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 \
    -D "$PGDATA" >/dev/null
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [[ "$POSTGRES_DB" != postgres ]]; then
    log "creating database $POSTGRES_DB"
    psql -v ON_ERROR_STOP=1 -q --username "$POSTGRES_USER" --dbname postgres \
      --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  log "initialization done"
fi

unset POSTGRES_PASSWORD
exec "$@"
