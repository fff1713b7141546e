#!/usr/bin/env bash
# generate-secrets.sh: the production secrets compose.prod.yaml mounts, one file each in
# docker/secrets/ (or --dir, or QUARTET_SECRETS_DIR from the environment or .env.production).
#
#   scripts/generate-secrets.sh [--force] [--dir DIR] [NAME...]
#
#   db_password          32 random bytes, base64 without / + =   (PostgreSQL superuser "quartet")
#   db_owner_password    32 random bytes, base64 without / + =   (the schema owner "quartet_owner")
#   db_app_password      32 random bytes, base64 without / + =   (the service's role "quartet_app")
#   redis_password       32 random bytes, base64 without / + =
#   redis_backup_password  32 random bytes, base64 without / + =   (the backup service's Redis user)
#   backup_passphrase    32 random bytes, base64 without / + =   (encrypts the backups when
#                        QUARTET_BACKUP_ENCRYPTION=on; keep a copy off the machine)
#   session_secret       32 random bytes, hex
#   jwt_secret           64 random bytes, base64
#   admin_password_hash  the hash of the first admin's password, which is asked for twice and never
#                        stored; without a terminal it is read from the file named by
#                        QUARTET_ADMIN_PASSWORD_FILE, else from standard input (one line)
#   smtp_password        the SMTP relay's password, copied from the file named by
#                        QUARTET_SMTP_PASSWORD_FILE; empty without it (the relay needs no login)
#
# An existing secret is kept unless --force is given (with NAMEs, only those are made or replaced).
# The directory is mode 700; each file is mode 640, owned by the caller and by the group
# QUARTET_SECRETS_GID (default 10001), which compose.prod.yaml adds to the services that read
# secrets: compose mounts a secret file with the host file's owner and mode, and the services run
# as their own non-root users. The hash comes from the backend image's hash-password command
# (QUARTET_BACKEND_IMAGE, default quartet-backend:local; built when missing), or from dotnet when
# no Docker engine answers.
set -euo pipefail

ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ALL=(db_password db_owner_password db_app_password redis_password redis_backup_password backup_passphrase session_secret jwt_secret admin_password_hash smtp_password)

# Messages go to standard error, so $(...) captures only values.
say() { printf 'generate-secrets: %s\n' "$*" >&2; }
die() {
  printf 'generate-secrets: error: %s\n' "$*" >&2
  exit 1
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

# setting NAME DEFAULT: NAME from the environment, else from .env.production (or the file named by
# QUARTET_ENV_FILE) as compose reads it, else DEFAULT.
setting() {
  local file="${QUARTET_ENV_FILE:-$ROOT/.env.production}" line
  if [[ -n "${!1:-}" ]]; then
    printf '%s\n' "${!1}"
    return 0
  fi
  if [[ -r "$file" ]]; then
    line="$(grep -E "^[[:space:]]*$1=" "$file" | tail -n 1 || true)"
    if [[ -n "$line" ]]; then
      printf '%s\n' "${line#*=}"
      return 0
    fi
  fi
  printf '%s\n' "$2"
}

force=0
dir="$(setting QUARTET_SECRETS_DIR ./docker/secrets)"
[[ "$dir" == /* ]] || dir="$ROOT/${dir#./}"
gid="$(setting QUARTET_SECRETS_GID 10001)"
names=()
while (($# > 0)); do
  case "$1" in
    --force) force=1 ;;
    --dir)
      (($# > 1)) || die "--dir needs a directory"
      dir="$2"
      shift
      ;;
    --dir=*) dir="${1#--dir=}" ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *)
      [[ " ${ALL[*]} " == *" $1 "* ]] || die "unknown secret '$1' (secrets: ${ALL[*]})"
      names+=("$1")
      ;;
  esac
  shift
done
((${#names[@]} > 0)) || names=("${ALL[@]}")
[[ "$gid" =~ ^[0-9]+$ ]] || die "QUARTET_SECRETS_GID must be a numeric group id, not '$gid'"
command -v openssl >/dev/null 2>&1 || die "openssl is missing (apt-get install openssl)"

# random VALUE_KIND: a new value, with no trailing newline.
random() {
  case "$1" in
    password) openssl rand -base64 32 | tr -d '/+=\n' ;;
    hex32) openssl rand -hex 32 | tr -d '\n' ;;
    base64_64) openssl rand -base64 64 | tr -d '\n' ;;
  esac
}

# install_secret NAME VALUE: written atomically, mode 640, group $gid.
install_secret() {
  local tmp
  tmp="$(umask 077 && mktemp "$dir/.$1.XXXXXX")"
  printf '%s' "$2" >"$tmp"
  if ! chgrp "$gid" "$tmp" 2>/dev/null; then
    rm -f "$tmp"
    die "cannot give $1 to group $gid: run as root, or set QUARTET_SECRETS_GID to a group you are in"
  fi
  chmod 640 "$tmp"
  mv -f "$tmp" "$dir/$1"
}

# read_admin_password: into ADMIN_PASSWORD, from a file, a terminal (twice, no echo) or stdin.
read_admin_password() {
  local again=""
  if [[ -n "${QUARTET_ADMIN_PASSWORD_FILE:-}" ]]; then
    [[ -r "$QUARTET_ADMIN_PASSWORD_FILE" ]] || die "QUARTET_ADMIN_PASSWORD_FILE names $QUARTET_ADMIN_PASSWORD_FILE, which cannot be read"
    IFS= read -r ADMIN_PASSWORD <"$QUARTET_ADMIN_PASSWORD_FILE" || [[ -n "${ADMIN_PASSWORD:-}" ]] ||
      die "$QUARTET_ADMIN_PASSWORD_FILE is empty"
    say "admin password read from QUARTET_ADMIN_PASSWORD_FILE"
  elif [[ -t 0 ]]; then
    IFS= read -r -s -p "Admin password (12 to 128 characters): " ADMIN_PASSWORD
    printf '\n' >&2
    IFS= read -r -s -p "Admin password again: " again
    printf '\n' >&2
    [[ "$ADMIN_PASSWORD" == "$again" ]] || die "the two passwords differ; nothing was written for admin_password_hash"
  else
    IFS= read -r ADMIN_PASSWORD || [[ -n "${ADMIN_PASSWORD:-}" ]] || die "no admin password on standard input"
    say "admin password read from standard input"
  fi
  ADMIN_PASSWORD="${ADMIN_PASSWORD%$'\r'}"
  ((${#ADMIN_PASSWORD} >= 12 && ${#ADMIN_PASSWORD} <= 128)) ||
    die "the admin password must be 12 to 128 characters long"
}

# backend_image: the image that runs hash-password; built from the checkout when missing.
backend_image() {
  local image args=()
  image="$(setting QUARTET_BACKEND_IMAGE quartet-backend:local)"
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    [[ -n "${QUARTET_DOTNET_SDK_IMAGE:-}" ]] && args+=(--build-arg "DOTNET_SDK_IMAGE=$QUARTET_DOTNET_SDK_IMAGE")
    [[ -n "${QUARTET_DOTNET_RUNTIME_IMAGE:-}" ]] && args+=(--build-arg "DOTNET_RUNTIME_IMAGE=$QUARTET_DOTNET_RUNTIME_IMAGE")
    say "building $image to hash the admin password (docker build -f deploy/docker/backend.Dockerfile)"
    docker build -q "${args[@]}" -f "$ROOT/deploy/docker/backend.Dockerfile" -t "$image" "$ROOT" >/dev/null ||
      die "building $image failed; run: docker build -f deploy/docker/backend.Dockerfile -t $image ."
  fi
  printf '%s\n' "$image"
}

# hash_password: ADMIN_PASSWORD on stdin of the backend's hash-password; the hash on stdout.
hash_password() {
  local image dll="$ROOT/.quartet/app/Quartet.Api.dll"
  if command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; then
    # Called where errexit does not apply: every failure is checked.
    image="$(backend_image)" && [[ -n "$image" ]] || return 1
    say "hashing the admin password with $image (docker run --rm -i --network none)"
    printf '%s\n' "$ADMIN_PASSWORD" | docker run --rm -i --network none "$image" hash-password
  elif command -v dotnet >/dev/null 2>&1 && [[ -f "$dll" ]]; then
    say "hashing the admin password with dotnet $dll"
    printf '%s\n' "$ADMIN_PASSWORD" | (cd "$(dirname "$dll")" && dotnet "$dll" hash-password)
  elif command -v dotnet >/dev/null 2>&1; then
    say "hashing the admin password with dotnet run (src/Quartet.Api)"
    printf '%s\n' "$ADMIN_PASSWORD" |
      dotnet run --project "$ROOT/src/Quartet.Api/Quartet.Api.csproj" -c Release -v quiet -- hash-password
  else
    die "no Docker engine and no dotnet: cannot run hash-password to make admin_password_hash"
  fi
}

mkdir -p "$dir"
chmod 700 "$dir"
say "secrets directory $dir (mode 700; files mode 640, group $gid)"

created=()
for name in "${names[@]}"; do
  # An empty smtp_password is a choice (no SMTP login), so it is kept like any other.
  if [[ (-s "$dir/$name" || ("$name" == smtp_password && -e "$dir/$name")) && "$force" == 0 ]]; then
    # Keep it, but repair its group and mode.
    chgrp "$gid" "$dir/$name" 2>/dev/null || die "cannot give $name to group $gid: run as root, or set QUARTET_SECRETS_GID to a group you are in"
    chmod 640 "$dir/$name"
    say "kept $name (it exists; --force $name replaces it)"
    continue
  fi
  case "$name" in
    db_password | db_owner_password | db_app_password | redis_password | redis_backup_password | backup_passphrase) value="$(random password)" ;;
    session_secret) value="$(random hex32)" ;;
    jwt_secret) value="$(random base64_64)" ;;
    smtp_password)
      value=""
      if [[ -n "${QUARTET_SMTP_PASSWORD_FILE:-}" ]]; then
        [[ -r "$QUARTET_SMTP_PASSWORD_FILE" ]] || die "QUARTET_SMTP_PASSWORD_FILE names $QUARTET_SMTP_PASSWORD_FILE, which cannot be read"
        IFS= read -r value <"$QUARTET_SMTP_PASSWORD_FILE" || [[ -n "$value" ]] || die "$QUARTET_SMTP_PASSWORD_FILE is empty"
      fi
      ;;
    admin_password_hash)
      read_admin_password
      value="$(hash_password)" || die "hash-password failed; nothing was written for admin_password_hash"
      unset ADMIN_PASSWORD
      value="${value%$'\n'}"
      [[ -n "$value" && "$value" != *$'\n'* ]] || die "hash-password did not print exactly one line"
      ;;
  esac
  install_secret "$name" "$value"
  unset value
  created+=("$name")
  say "created $name"
done

if [[ " ${created[*]} " == *" db_password "* ]]; then
  say "note: PostgreSQL takes db_password only when its data volume is new; for an existing database see docs/operations.md (rotating secrets)"
fi
if [[ " ${created[*]} " == *" backup_passphrase "* ]]; then
  say "note: backup_passphrase encrypts the backups when QUARTET_BACKUP_ENCRYPTION=on: keep a copy off this machine, apart from the backups; without it they cannot be read"
fi
say "done: ${#created[@]} created, $((${#names[@]} - ${#created[@]})) kept"
