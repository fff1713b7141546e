#!/bin/sh
# Entrypoint of the nginx stand-in, as the official image's: when the command is nginx, run the
# scripts in /docker-entrypoint.d/ first (here: template rendering).
set -eu

if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
  for script in /docker-entrypoint.d/*.sh; do
    [ -f "$script" ] || continue
    echo "$0: running $script"
    "$script"
  done
  echo "$0: configuration complete; ready for start up"
fi

exec "$@"
