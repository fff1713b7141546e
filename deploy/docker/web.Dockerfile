# The front door: the SPA built from web/ and served by unprivileged nginx, which also proxies /api/
# and /health/ to the backend. Build from the repository root:
#   docker build -f deploy/docker/web.Dockerfile -t quartet-web .
# The base images are build arguments so CI can use local stand-ins; the defaults are the official images.
ARG NODE_IMAGE=node:22-bookworm-slim
ARG NGINX_IMAGE=nginxinc/nginx-unprivileged:1.27-alpine

FROM ${NODE_IMAGE} AS build
ENV npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
WORKDIR /web
# Dependencies from the lock file alone, so that layer is reused until it changes.
COPY web/package.json web/package-lock.json ./
RUN npm ci
COPY web/ ./
RUN npm run build

FROM ${NGINX_IMAGE}
COPY --from=build /web/dist /usr/share/quartet/web
# The one nginx template (shared with ./quartet's native mode). The image's entrypoint renders
# /etc/nginx/templates/*.template into /etc/nginx/conf.d with envsubst, replacing only variables that
# are defined; the filter narrows that to QUARTET_*, so nginx's own $variables are never touched.
COPY deploy/nginx/default.conf.template /etc/nginx/templates/default.conf.template
# Sourced by the entrypoint before rendering (mode 755 from the repository): QUARTET_TRUSTED_PROXIES
# becomes the set_real_ip_from lines of QUARTET_REAL_IP_FROM. Both default to none.
COPY deploy/nginx/15-quartet-real-ip.envsh /docker-entrypoint.d/15-quartet-real-ip.envsh
# Refuses a development stack published beyond loopback (compose.yaml sets QUARTET_LOOPBACK_ONLY);
# executable in the repository, and COPY keeps the mode.
COPY deploy/nginx/10-quartet-loopback-only.sh /docker-entrypoint.d/10-quartet-loopback-only.sh
ENV NGINX_ENVSUBST_FILTER=^QUARTET_ \
    QUARTET_SERVER_NAMES="localhost 127.0.0.1" \
    QUARTET_BACKEND=backend:8080 \
    QUARTET_PROXY_TO=quartet_backend \
    QUARTET_RESOLVER=127.0.0.11 \
    QUARTET_LISTEN=8080 \
    QUARTET_WEB_ROOT=/usr/share/quartet/web \
    QUARTET_ACCESS_LOG=/dev/stdout \
    QUARTET_TRUSTED_PROXIES= \
    QUARTET_REAL_IP_FROM=
EXPOSE 8080
# nginx itself answers, with the SPA's index.html from disk (wget is busybox's in the Alpine image),
# asked by the first of its server names: any other Host gets 421.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["sh", "-c", "wget -q -O /dev/null --header \"Host: ${QUARTET_SERVER_NAMES%% *}\" http://127.0.0.1:8080/"]
