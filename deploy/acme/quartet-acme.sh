#!/bin/sh
# The ACME client's loop (compose.tls.yaml, service acme): one certificate for every name of
# QUARTET_SERVER_NAMES, by HTTP-01 through nginx (lego writes the token into the webroot volume, which
# nginx serves read-only at /.well-known/acme-challenge/). Until the first certificate is issued, a
# self-signed placeholder lets nginx start and serve the challenge. Then, every
# QUARTET_ACME_CHECK_SECONDS, lego renews when fewer than QUARTET_ACME_RENEW_DAYS remain
# (--no-random-sleep: the schedule starts when the container does, which spreads it already); nginx
# sees the file change and reloads itself (deploy/nginx/40-quartet-tls-reload.sh), so this
# container has no power over nginx at all.
set -eu

: "${QUARTET_ACME_EMAIL:?set QUARTET_ACME_EMAIL to the address the CA writes to about the certificate (docs/operations.md#automatic-https)}"
: "${QUARTET_SERVER_NAMES:?set QUARTET_SERVER_NAMES to the host names of the site}"
server="${QUARTET_ACME_SERVER:-https://acme-v02.api.letsencrypt.org/directory}"
state=/var/lib/quartet-acme
first="${QUARTET_SERVER_NAMES%% *}"
certificate="$state/certificates/$first.crt"

set -- --accept-tos --email "$QUARTET_ACME_EMAIL" --server "$server" --path "$state" \
  --key-type ec256 --http --http.webroot /var/www/acme
for name in $QUARTET_SERVER_NAMES; do set -- "$@" --domains "$name"; done

if [ ! -s "$certificate" ]; then
  echo "quartet-acme: no certificate yet; a self-signed placeholder for $first until the CA issues one"
  mkdir -p "$state/certificates"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=$first" \
    -keyout "$state/certificates/$first.key" -out "$certificate" 2>/dev/null
fi
# nginx reads one fixed path whatever the first name is.
ln -sfn "certificates/$first.crt" "$state/quartet.crt"
ln -sfn "certificates/$first.key" "$state/quartet.key"

# The CA will fetch the token through nginx: wait until nginx serves this webroot (by its service name
# on the edge network), so the first order is not a failed validation (the CA limits those).
probe=/var/www/acme/.well-known/acme-challenge/quartet-probe
echo "$$" >"$probe"
echo "quartet-acme: waiting for nginx to serve the challenge folder"
until [ "$(curl -fsS --max-time 5 http://nginx:8080/.well-known/acme-challenge/quartet-probe 2>/dev/null)" = "$$" ]; do
  sleep 2
done
rm -f "$probe"

while :; do
  # lego's metadata file exists once a certificate was issued: renew it; before that, obtain one.
  # A failure is tried again after QUARTET_ACME_RETRY_SECONDS (15 min: under the CA's limit of failed
  # validations an hour), and the certificate in place keeps serving.
  wait="${QUARTET_ACME_CHECK_SECONDS:-43200}"
  if [ -s "$state/certificates/$first.json" ]; then
    lego "$@" renew --days "${QUARTET_ACME_RENEW_DAYS:-30}" --no-random-sleep || wait=""
  else
    lego "$@" run || wait=""
  fi
  if [ -z "$wait" ]; then
    wait="${QUARTET_ACME_RETRY_SECONDS:-900}"
    echo "quartet-acme: the CA did not issue; next try in $wait s" >&2
  fi
  sleep "$wait"
done
