#!/bin/sh
# Run by the nginx image's entrypoint when compose.tls.yaml mounts it: starts a watcher beside nginx
# that reloads it (nginx -s reload: new workers take new connections, old ones finish theirs) when
# the ACME client has written a new certificate. Nothing outside this container can signal nginx.
# The new files are tested first (nginx -t), so a half-written pair waits for the next look.
set -eu

certificate="${QUARTET_TLS_CERTIFICATE:?}"
every="${QUARTET_TLS_RELOAD_CHECK_SECONDS:-60}"
seen=/tmp/quartet-tls-seen
touch -r "$certificate" "$seen"
(
  # shellcheck disable=SC3013 # -nt: dash's and busybox's test, the shells of both nginx images
  while sleep "$every"; do
    if [ "$certificate" -nt "$seen" ] && nginx -t -q 2>/dev/null; then
      touch -r "$certificate" "$seen"
      echo "quartet: the certificate changed; reloading nginx" >&2
      nginx -s reload
    fi
  done
) &
