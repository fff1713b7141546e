#!/bin/sh
# redis-start.sh: starts Redis in a container as Quartet's state or cache instance (decision 0015).
#
#   redis-start.sh state|cache MAXMEMORY
#
#   state  sessions, tokens and counters: append-only file, fsync every second, noeviction
#   cache  the notes read cache only: nothing on disk, allkeys-lru
#
# The configuration reaches redis-server on its standard input, so the password is in no command line,
# no environment and no file but the secret: the `default` user is off, and the user `quartet` logs in
# with /run/secrets/redis_password (kept here as its SHA-256), may touch keys under `quartet:` only
# (the backend's Redis__KeyPrefix), no pub/sub channel, and runs the commands in quartet.acl beside
# this script. `default` keeps every right while off (no login as it, with or without a password):
# Redis 7.0 replays the append-only file's MULTI/EXEC blocks (each script's writes) as the default
# user and drops those it may not run, so with `-@all` every session would be lost at a restart.
# POSIX sh, without pipefail: the official image has no bash.
set -eu

say() { printf 'redis-start: %s\n' "$*" >&2; }

if [ "$#" -ne 2 ]; then
  say "usage: redis-start.sh state|cache MAXMEMORY"
  exit 2
fi
role="$1"
maxmemory="$2"
here="$(cd "$(dirname "$0")" && pwd)"
case "$role" in
  state)
    persistence="appendonly yes
appendfsync everysec"
    policy=noeviction
    ;;
  cache)
    persistence='appendonly no
save ""'
    policy=allkeys-lru
    ;;
  *)
    say "the first argument is state or cache, not '$role'"
    exit 2
    ;;
esac
case "$maxmemory" in
  '' | *[!0-9kmgbKMGB]*)
    say "MAXMEMORY must be a size such as 256mb, not '$maxmemory'"
    exit 2
    ;;
esac
if [ ! -s /run/secrets/redis_password ]; then
  say "the redis_password secret is missing or empty"
  exit 1
fi

hash="$(tr -d '\r\n' </run/secrets/redis_password | sha256sum | cut -d ' ' -f 1)"
rules="$(grep -v '^#' "$here/quartet.acl" | tr '\n' ' ')"
# Production's backup service: a user that may only snapshot (no key, no channel), when its secret is given.
backup_user=""
if [ "$role" = state ] && [ -s /run/secrets/redis_backup_password ]; then
  backup_user="user quartet-backup on #$(tr -d '\r\n' </run/secrets/redis_backup_password | sha256sum | cut -d ' ' -f 1) resetkeys resetchannels -@all +auth +hello +ping +sync"
fi
say "starting the $role instance: maxmemory $maxmemory, $policy, user quartet on keys quartet:*"
exec redis-server - <<EOF
$persistence
maxmemory $maxmemory
maxmemory-policy $policy
user default off resetpass ~* &* +@all
user quartet on #$hash resetkeys ~quartet:* resetchannels $rules
$backup_user
EOF
