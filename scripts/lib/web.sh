# shellcheck shell=bash
# The front door in native mode: the SPA built from web/ and nginx serving it
# and proxying /api/ and /health/ to the backend, from the same template the
# container uses (deploy/nginx/default.conf.template).

public_url() { printf 'http://127.0.0.1:%s\n' "$QUARTET_HTTP_PORT"; }

WEB_STAMP_NAME=".quartet-built"

# web_build: npm ci when the lock file changed, vite build when sources changed.
web_build() {
  local dist="$WEB_DIR/dist" log="$LOG_DIR/web-build.log" changed
  if [[ ! -f "$WEB_DIR/package.json" ]]; then
    warn "web/ has no package.json; nginx serves an empty page"
    mkdir -p "$dist"
    [[ -f "$dist/index.html" ]] || printf '<!doctype html><title>Quartet</title><p>The web UI is not built.</p>\n' >"$dist/index.html"
    return 0
  fi
  ensure_packages npm
  if [[ ! -d "$WEB_DIR/node_modules" || "$WEB_DIR/package-lock.json" -nt "$WEB_DIR/node_modules/.package-lock.json" ]]; then
    say "installing the web UI's packages (log: $(rel "$log"))"
    (cd "$WEB_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund) </dev/null >"$log" 2>&1 ||
      {
        show_tail "$log" 20
        die "npm ci failed; see $(rel "$log")"
      }
  fi
  changed=""
  if [[ -f "$dist/$WEB_STAMP_NAME" ]]; then
    changed="$(find "$WEB_DIR/src" "$WEB_DIR/index.html" "$WEB_DIR/package.json" "$WEB_DIR/vite.config.ts" \
      "$QUARTET_ROOT/docs/openapi.json" -newer "$dist/$WEB_STAMP_NAME" -print -quit 2>/dev/null || true)"
  fi
  if [[ ! -f "$dist/$WEB_STAMP_NAME" || -n "$changed" ]]; then
    say "building the web UI into $(rel "$dist") (log: $(rel "$log"))"
    (cd "$WEB_DIR" && npm run build) </dev/null >>"$log" 2>&1 ||
      {
        show_tail "$log" 20
        die "the web UI build failed; see $(rel "$log")"
      }
    touch "$dist/$WEB_STAMP_NAME"
  fi
}

# nginx runs unprivileged: as the invoking user, or as www-data when that is root.
nginx_user() {
  if is_root; then printf 'www-data\n'; else id -un; fi
}

as_nginx_user() {
  if is_root; then
    setpriv --reuid=www-data --regid=www-data --clear-groups -- "$@"
  else
    "$@"
  fi
}

nginx_pid() { live_pid "$NGINX_DIR/nginx.pid" nginx; }

# nginx_render: the shared template with native values, inside a small nginx.conf.
nginx_render() {
  local conf="$NGINX_DIR/nginx.conf" web_root="$WEB_DIR/dist"
  mkdir -p "$NGINX_DIR/tmp" "$NGINX_DIR/logs"
  # envsubst replaces only the variables named, so nginx's own $variables stay as they are.
  # shellcheck disable=SC2016
  QUARTET_BACKEND="127.0.0.1:$QUARTET_BACKEND_PORT" QUARTET_LISTEN="127.0.0.1:$QUARTET_HTTP_PORT" \
    QUARTET_WEB_ROOT="$web_root" QUARTET_ACCESS_LOG="$NGINX_DIR/logs/access.log" \
    envsubst '${QUARTET_BACKEND} ${QUARTET_LISTEN} ${QUARTET_WEB_ROOT} ${QUARTET_ACCESS_LOG}' \
    <"$QUARTET_ROOT/deploy/nginx/default.conf.template" >"$NGINX_DIR/quartet.conf"
  cat >"$conf" <<CONF
# Written by ./quartet up; the server itself is deploy/nginx/default.conf.template.
worker_processes 1;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/logs/error.log warn;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $NGINX_DIR/tmp/body;
  proxy_temp_path $NGINX_DIR/tmp/proxy;
  fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
  uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
  scgi_temp_path $NGINX_DIR/tmp/scgi;
  include $NGINX_DIR/quartet.conf;
}
CONF
  if is_root; then
    chown -R www-data:www-data "$NGINX_DIR"
  fi
}

nginx_up() {
  local pid log="$NGINX_DIR/logs/error.log"
  nginx_render
  if pid="$(nginx_pid)"; then
    say "nginx already running (pid $pid); reloading its configuration"
    as_nginx_user nginx -q -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -s reload ||
      die "nginx could not reload; see $(rel "$log")"
    return 0
  fi
  if port_in_use "$QUARTET_HTTP_PORT"; then
    die "port $QUARTET_HTTP_PORT is already in use by another process; set QUARTET_HTTP_PORT to a free port"
  fi
  as_nginx_user nginx -q -t -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" 2>&1 | sed 's/^/quartet: nginx: /' >&2 || true
  say "starting nginx on $(public_url) as $(nginx_user) (log: $(rel "$NGINX_DIR/logs"))"
  as_nginx_user nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" </dev/null ||
    die "nginx did not start; see $(rel "$log")"
  wait_until 15 curl -fsS -o /dev/null --max-time 2 "$(public_url)/health/ready" ||
    die "nginx started but $(public_url)/health/ready does not answer; see $(rel "$log")"
}

nginx_stop() {
  local pid
  if ! pid="$(nginx_pid)"; then
    say "nginx not running"
    return 0
  fi
  say "stopping nginx (pid $pid)"
  stop_pid nginx "$pid"
}
