#!/bin/sh
# Entrypoint of the nginx stand-in, as the official image's: when the command is nginx, go through
# /docker-entrypoint.d/ in order first: source each executable *.envsh (so it can export variables
# for the templates) and run each *.sh (here: template rendering).
set -eu

if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
  for script in /docker-entrypoint.d/*; do
    [ -f "$script" ] || continue
    case "$script" in
      *.envsh)
        if [ -x "$script" ]; then
          echo "$0: sourcing $script"
          # shellcheck source=/dev/null # whichever script an image adds
          . "$script"
        fi
        ;;
      *.sh)
        echo "$0: running $script"
        "$script"
        ;;
    esac
  done
  echo "$0: configuration complete; ready for start up"
fi

exec "$@"
