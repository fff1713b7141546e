#!/bin/sh
# pgbackrest for PostgreSQL's archive_command in the compose and Swarm stacks (decision 0031): with
# QUARTET_BACKUP_ENCRYPTION=on, the repository's cipher and its passphrase, read from the
# backup_passphrase secret for this one command, so the passphrase is in no configuration file and
# not in PostgreSQL's own environment. Any other value runs pgbackrest as it is.
set -eu
case "${QUARTET_BACKUP_ENCRYPTION:-off}" in
  on | ON | On)
    secret=/run/secrets/backup_passphrase
    if [ ! -s "$secret" ]; then
      echo "quartet-pgbackrest: QUARTET_BACKUP_ENCRYPTION=on and the backup_passphrase secret ($secret) is missing or empty" >&2
      exit 1
    fi
    PGBACKREST_REPO1_CIPHER_TYPE=aes-256-cbc
    PGBACKREST_REPO1_CIPHER_PASS="$(cat "$secret")"
    export PGBACKREST_REPO1_CIPHER_TYPE PGBACKREST_REPO1_CIPHER_PASS
    ;;
esac
exec pgbackrest "$@"
