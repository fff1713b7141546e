#!/bin/sh
# Entrypoint of the redis stand-in, as the official image's: options alone mean redis-server;
# started as root, it hands /data to redis and runs as redis.
set -eu

case "$1" in
  -* | *.conf) set -- redis-server "$@" ;;
esac

if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups -- "$0" "$@"
fi

# Files Redis writes are for its own user only.
if [ "$(umask)" = 0022 ]; then
  umask 0077
fi

exec "$@"
