# The ACME client of the opt-in automatic HTTPS (compose.tls.yaml): Debian's lego, run on a schedule
# by deploy/acme/quartet-acme.sh. Build from the repository root:
#   docker build -f deploy/docker/acme.Dockerfile -t quartet-acme .
# The base image is a build argument so CI can use its local stand-in; the default is the official image.
ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${DEBIAN_IMAGE}
# openssl makes the placeholder certificate nginx starts with before the first one is issued; curl
# asks nginx whether it serves the challenge folder before the first order.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl lego openssl \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
# nginx's uid and gid (101): lego writes every file it keeps mode 600, and nginx reads the
# certificate and key from the shared volume. The folders exist in the image, owned by that user,
# so the named volumes mounted on them start out owned by it too.
RUN mkdir -p /var/lib/quartet-acme /var/www/acme/.well-known/acme-challenge \
 && chown -R 101:101 /var/lib/quartet-acme /var/www/acme
COPY deploy/acme/quartet-acme.sh /usr/local/bin/quartet-acme
USER 101:101
ENTRYPOINT ["/usr/local/bin/quartet-acme"]
