# shellcheck shell=bash
# Development secrets in .quartet/secrets/: created once, never overwritten.
# Values are random; files are mode 600 with no trailing newline.

rand_base64() { head -c "$1" /dev/urandom | base64 -w 0; }
rand_hex() { head -c "$1" /dev/urandom | od -A n -v -t x1 | tr -d ' \n'; }

rand_password() {
  local s=""
  while ((${#s} < 20)); do
    s+="$(head -c 48 /dev/urandom | base64 -w 0 | tr -dc 'A-Za-z0-9')"
  done
  printf '%s' "${s:0:20}"
}

# write_secret NAME VALUE: writes the file atomically with mode 600.
write_secret() {
  local file="$SECRETS_DIR/$1" tmp
  tmp="$(umask 077 && mktemp "$SECRETS_DIR/.$1.XXXXXX")"
  printf '%s' "$2" >"$tmp"
  chmod 600 "$tmp"
  mv -f "$tmp" "$file"
}

# ensure_secrets: creates the missing development secrets. The admin password
# hash comes from the published backend (hash-password reads stdin).
ensure_secrets() {
  local name created=()
  mkdir -p "$SECRETS_DIR"
  chmod 700 "$SECRETS_DIR"

  for name in db_password db_app_password redis_password session_secret jwt_secret admin_password; do
    [[ -s "$SECRETS_DIR/$name" ]] && continue
    if [[ -e "$SECRETS_DIR/$name" ]]; then
      warn "$(rel "$SECRETS_DIR/$name") is empty; generating a new value"
    fi
    if [[ "$name" == db_password && -f "$PG_DATA/PG_VERSION" ]]; then
      warn "db_password is new but $(rel "$PG_DATA") already exists: the database keeps its old password"
    fi
    case "$name" in
      db_password | db_app_password | redis_password) write_secret "$name" "$(rand_base64 32)" ;;
      session_secret) write_secret "$name" "$(rand_hex 32)" ;;
      jwt_secret) write_secret "$name" "$(rand_base64 64)" ;;
      admin_password) write_secret "$name" "$(rand_password)" ;;
    esac
    created+=("$name")
  done

  local hash_file="$SECRETS_DIR/admin_password_hash"
  if [[ ! -s "$hash_file" || "$SECRETS_DIR/admin_password" -nt "$hash_file" ]]; then
    [[ -f "$APP_DLL" ]] || die "cannot hash the admin password: $(rel "$APP_DLL") is missing"
    local pw hash
    pw="$(<"$SECRETS_DIR/admin_password")"
    if ! hash="$(printf '%s' "$pw" | (cd "$APP_DIR" && dotnet "$APP_DLL" hash-password))"; then
      die "'dotnet $(rel "$APP_DLL") hash-password' failed; cannot create admin_password_hash"
    fi
    [[ -n "$hash" ]] || die "'hash-password' printed nothing; cannot create admin_password_hash"
    [[ "$hash" != *$'\n'* ]] || die "'hash-password' printed more than one line; expected only the hash"
    write_secret admin_password_hash "$hash"
    created+=(admin_password_hash)
  fi

  if ((${#created[@]} > 0)); then
    say "created development secrets in $(rel "$SECRETS_DIR"): ${created[*]}"
  fi
}
