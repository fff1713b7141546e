# shellcheck shell=bash
# Shared helpers for ./quartet: messages, process and port checks, waiting.
# Sourced by ./quartet, never executed on its own.

say() { printf 'quartet: %s\n' "$*"; }
warn() { printf 'quartet: warning: %s\n' "$*" >&2; }
die() {
  printf 'quartet: error: %s\n' "$*" >&2
  exit 1
}

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# rel PATH: PATH relative to the repository root, for messages.
rel() { printf '%s' "${1#"$QUARTET_ROOT"/}"; }

# port_in_use PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_alive PID: the process exists and is not a zombie waiting to be reaped.
pid_alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  stat="$(cat "/proc/$1/stat" 2>/dev/null || true)"
  stat="${stat##*) }"
  [[ "${stat:0:1}" != Z ]]
}

# live_pid FILE PATTERN: prints the pid stored in FILE when that process is
# alive and its command line contains PATTERN (guards against reused pids).
live_pid() {
  local file="$1" pattern="$2" pid cmd
  [[ -r "$file" ]] || return 1
  pid="$(head -n 1 "$file" 2>/dev/null || true)"
  pid="${pid//[[:space:]]/}"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  pid_alive "$pid" || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  [[ "$cmd" == *"$pattern"* ]] || return 1
  printf '%s\n' "$pid"
}

# wait_until SECONDS COMMAND...: retries COMMAND every half second until it
# succeeds (returns 0) or SECONDS have passed (returns 1).
wait_until() {
  local limit="$1" deadline
  shift
  deadline=$((SECONDS + limit))
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  "$@" >/dev/null 2>&1
}

# wait_pid_gone PID SECONDS: waits for PID to exit; returns 1 on timeout.
wait_pid_gone() {
  local pid="$1" limit="$2" deadline
  deadline=$((SECONDS + limit))
  while pid_alive "$pid"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# stop_pid NAME PID: SIGTERM, wait up to 10 s, then SIGKILL.
stop_pid() {
  local name="$1" pid="$2"
  kill -TERM "$pid" 2>/dev/null || return 0
  if ! wait_pid_gone "$pid" 10; then
    warn "$name (pid $pid) did not stop within 10 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 5 || die "could not stop $name (pid $pid)"
  fi
}

# show_tail FILE LINES: prints the last LINES lines of FILE to stderr.
show_tail() {
  local file="$1" lines="$2"
  [[ -r "$file" ]] || return 0
  printf 'quartet: --- last %s lines of %s ---\n' "$lines" "$(rel "$file")" >&2
  tail -n "$lines" "$file" >&2 || true
  printf 'quartet: ---\n' >&2
}

# free_port: a TCP port nothing listens on, below the kernel's ephemeral range
# (32768 and up), so a busy client's outgoing connections cannot take it meanwhile.
free_port() {
  local port
  for port in $(shuf -i 20000-32000 -n 100); do
    port_in_use "$port" || {
      printf '%s\n' "$port"
      return 0
    }
  done
  die "no free port found"
}
