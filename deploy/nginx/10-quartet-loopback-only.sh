#!/bin/sh
# Run by the nginx image's entrypoint before the configuration is rendered. The development stack
# (compose.yaml alone) runs on the public development secrets, so its one published port must stay on
# this machine: with QUARTET_LOOPBACK_ONLY=true (compose.yaml; compose.prod.yaml sets false), a
# QUARTET_PUBLIC_ADDRESS that is not a loopback address stops nginx with one line.
set -eu

if [ "${QUARTET_LOOPBACK_ONLY:-false}" = true ]; then
  case "${QUARTET_PUBLIC_ADDRESS:-127.0.0.1}" in
    127.* | ::1 | "[::1]" | localhost) ;;
    *)
      echo "quartet: QUARTET_PUBLIC_ADDRESS=${QUARTET_PUBLIC_ADDRESS} refused: the development stack uses the public development secrets and is published on loopback only; serve the network with the production stack (./quartet up --prod, secrets from scripts/generate-secrets.sh)" >&2
      exit 1
      ;;
  esac
fi
