# shellcheck shell=bash
# System packages and the .NET SDK: find them, install what is missing.
# Installing needs root and apt-get; otherwise one line says what to install.

APT_UPDATED=0

apt_update_once() {
  ((APT_UPDATED == 0)) || return 0
  say "apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null ||
    die "apt-get update failed"
  APT_UPDATED=1
}

# apt_install PACKAGE...: installs the packages (root only).
apt_install() {
  if ! is_root; then
    die "missing packages: $*; install them as root (apt-get install -y $*) and retry"
  fi
  command -v apt-get >/dev/null 2>&1 ||
    die "missing packages: $*; install them and retry (apt-get not found)"
  apt_update_once
  say "installing $*"
  local log
  log="$(mktemp)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "$@" >"$log" 2>&1; then
    tail -n 20 "$log" >&2 || true
    rm -f "$log"
    die "apt-get install $* failed"
  fi
  rm -f "$log"
}

# pg_bindir: the newest PostgreSQL server bin directory (holding initdb),
# or nothing. QUARTET_PG_BIN, when set, wins.
pg_bindir() {
  local d best=""
  if [[ -n "${QUARTET_PG_BIN:-}" && -x "${QUARTET_PG_BIN}/initdb" ]]; then
    printf '%s\n' "$QUARTET_PG_BIN"
    return 0
  fi
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/initdb" ]] || continue
    if [[ -z "$best" ]] || [[ "$(printf '%s\n%s\n' "$best" "$d" | sort -V | tail -n 1)" == "$d" ]]; then
      best="$d"
    fi
  done
  if [[ -z "$best" ]] && command -v pg_config >/dev/null 2>&1; then
    d="$(pg_config --bindir 2>/dev/null || true)"
    [[ -n "$d" && -x "$d/initdb" ]] && best="$d"
  fi
  [[ -n "$best" ]] && printf '%s\n' "$best"
  return 0
}

# ensure_packages NAME...: NAME is postgres, redis, or a command whose Debian
# package has the same name (curl, shellcheck).
ensure_packages() {
  local want missing=()
  for want in "$@"; do
    case "$want" in
      postgres)
        [[ -n "$(pg_bindir)" ]] || missing+=(postgresql)
        ;;
      redis)
        if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
          missing+=(redis-server redis-tools)
        fi
        ;;
      nginx) command -v nginx >/dev/null 2>&1 || missing+=(nginx-light) ;;
      envsubst) command -v envsubst >/dev/null 2>&1 || missing+=(gettext-base) ;;
      chromium) [[ -x /usr/bin/chromium ]] || missing+=(chromium) ;;
      *)
        command -v "$want" >/dev/null 2>&1 || missing+=("$want")
        ;;
    esac
  done
  if ((${#missing[@]} > 0)); then
    apt_install "${missing[@]}"
  fi
  if [[ " $* " == *" postgres "* ]] && [[ -z "$(pg_bindir)" ]]; then
    die "postgresql is installed but no initdb was found under /usr/lib/postgresql/*/bin"
  fi
  return 0
}

# dotnet_rid: the .NET runtime identifier of this machine (linux-x64, linux-arm64).
dotnet_rid() {
  case "$(uname -m)" in
    x86_64) printf 'linux-x64\n' ;;
    aarch64 | arm64) printf 'linux-arm64\n' ;;
    *) printf 'linux-%s\n' "$(uname -m)" ;;
  esac
}

dotnet_has_sdk10() {
  command -v dotnet >/dev/null 2>&1 && dotnet --list-sdks 2>/dev/null | grep -q '^10\.'
}

# ensure_dotnet: a .NET 10 SDK on PATH. Debian 12 does not package one, so a
# machine without it gets one line saying what to install.
ensure_dotnet() {
  local d
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
  if ! command -v dotnet >/dev/null 2>&1; then
    for d in "${DOTNET_ROOT:-}" "${HOME:-}/.dotnet" /usr/share/dotnet /usr/lib/dotnet; do
      if [[ -n "$d" && -x "$d/dotnet" ]]; then
        export PATH="$d:$PATH"
        break
      fi
    done
  fi
  dotnet_has_sdk10 ||
    die "missing: the .NET 10 SDK (dotnet); install it from Microsoft's packages for Debian 12 and retry"
}
