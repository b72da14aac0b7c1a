#!/usr/bin/env bash
# Deploy a new openmanager binary with health-checked rollback.
#
#   deploy/deploy.sh NEW_BINARY INSTALL_ROOT
#
# Installs NEW_BINARY as INSTALL_ROOT/releases/<stamp>/openmanager, points INSTALL_ROOT/current at
# it atomically, restarts the server and polls http://127.0.0.1:$PORT/api/health until it answers
# or HEALTH_TIMEOUT seconds pass. On failure `current` goes back to the previous release, the
# previous server is restarted and the script exits non-zero. The newest KEEP_RELEASES (5) stay.
#
# Restart without downtime where a server is running: it gets SIGUSR2, starts the binary now at its
# path (INSTALL_ROOT/current/openmanager, the new release), hands its listening socket over once the
# new process is ready and exits; if the new one does not become ready, the old one keeps serving
# and this script switches `current` back. With systemd (see `openmanager install --binary
# INSTALL_ROOT/current/openmanager`) that is `systemctl reload` (ExecReload sends SIGUSR2), and the
# new main pid, or the "hand-over failed" status, says how it went; a unit without ExecReload is
# restarted. With DEPLOY_LOCAL=1 this script runs the server itself (pid in INSTALL_ROOT/openmanager.pid,
# output in INSTALL_ROOT/openmanager.log, data in $OPENMANAGER_DATA_DIR or INSTALL_ROOT/data), for
# hosts without systemd and for tests: it starts the server, or signals the running one and reads
# the outcome from its log and from the data directory's lock file (which names the serving pid).
#
# Environment: PORT (10000), HEALTH_TIMEOUT (30), STOP_TIMEOUT (20), KEEP_RELEASES (5),
# DEPLOY_LOCAL, SERVICE (openmanager).
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 NEW_BINARY INSTALL_ROOT" >&2
  exit 2
fi
new_binary=$1
root=$2
PORT=${PORT:-10000}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-30}
STOP_TIMEOUT=${STOP_TIMEOUT:-20}
KEEP_RELEASES=${KEEP_RELEASES:-5}
SERVICE=${SERVICE:-openmanager}
DEPLOY_LOCAL=${DEPLOY_LOCAL:-0}
pidfile="$root/openmanager.pid"
logfile="$root/openmanager.log"
# Set when a hand-over failed and the previous server is still serving: rollback only switches back.
kept_old=0

log() { echo "deploy: $*" >&2; }

if [[ ! -f $new_binary ]]; then
  log "no such file: $new_binary"
  exit 2
fi

if [[ $DEPLOY_LOCAL != 1 ]]; then
  if ! command -v systemctl >/dev/null || ! systemctl cat "$SERVICE.service" >/dev/null 2>&1; then
    log "systemd does not manage $SERVICE.service; run 'openmanager install' first or set DEPLOY_LOCAL=1"
    exit 2
  fi
fi

mkdir -p "$root/releases"
# Nanoseconds: two deploys within a second still get distinct, chronologically sorted names.
stamp=$(date -u +%Y%m%dT%H%M%S.%NZ)
release="releases/$stamp"
mkdir "$root/$release"
install -m 0755 "$new_binary" "$root/$release/openmanager"

previous=""
if [[ -L $root/current ]]; then
  previous=$(readlink "$root/current")
fi

# Atomic switch: a new symlink under a temporary name, renamed over `current` (rename(2) replaces
# it in one step, so `current` never dangles or disappears). Targets are relative to the root, so
# the tree can be moved.
switch_to() {
  ln -sfn "$1" "$root/current.tmp.$$"
  mv -T "$root/current.tmp.$$" "$root/current"
}

# Running, and not a zombie (a server whose parent is gone is reaped by init, or in some containers
# by nobody).
running() {
  local stat
  [[ -r /proc/$1/stat ]] && read -r stat <"/proc/$1/stat" 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

pid_alive() {
  [[ -f $pidfile ]] && running "$(cat "$pidfile")"
}

stop_local() {
  if ! pid_alive; then
    rm -f "$pidfile"
    return 0
  fi
  local pid deadline
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while running "$pid"; do
    if ((SECONDS >= deadline)); then
      log "pid $pid did not stop within ${STOP_TIMEOUT}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  rm -f "$pidfile"
}

export OPENMANAGER_DATA_DIR="${OPENMANAGER_DATA_DIR:-$root/data}"

start_local() {
  # setsid: the server outlives this script and is not hit by signals sent to its process group.
  setsid "$root/current/openmanager" serve --port "$PORT" </dev/null >>"$logfile" 2>&1 &
  echo $! >"$pidfile"
}

# SIGUSR2 to the running server; succeeds once it has handed over and exited. Fails (kept_old=1)
# when it logs that the hand-over failed: it is still serving the previous release.
handover_local() {
  local old mark deadline holder
  old=$(cat "$pidfile")
  mark=$(stat -c %s "$logfile" 2>/dev/null || echo 0)
  log "handing over from pid $old"
  kill -USR2 "$old"
  # The server's own bounds: handover_timeout_ms (30 s) to get the new one ready, then the drain.
  deadline=$((SECONDS + HEALTH_TIMEOUT + STOP_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! running "$old"; then
      # The lock file names the server using the data directory: the new process.
      holder=$(head -n 1 "$OPENMANAGER_DATA_DIR/openmanager.lock" 2>/dev/null || true)
      if [[ $holder =~ ^[0-9]+$ ]] && running "$holder"; then
        echo "$holder" >"$pidfile"
        log "pid $holder took over"
        return 0
      fi
      log "pid $old exited without a successor (see $logfile)"
      return 1
    fi
    if tail -c "+$((mark + 1))" "$logfile" 2>/dev/null | grep -q "hand-over failed"; then
      log "the new release did not become ready; pid $old keeps serving (see $logfile)"
      kept_old=1
      return 1
    fi
    sleep 0.1
  done
  log "pid $old neither handed over nor gave up within $((HEALTH_TIMEOUT + STOP_TIMEOUT))s"
  return 1
}

# `systemctl reload` (SIGUSR2 through ExecReload): succeeds once systemd names a new main pid; fails
# (kept_old=1) when the old process reports the hand-over failed in its status line.
reload_systemd() {
  local old before main status deadline
  old=$(systemctl show -p MainPID --value "$SERVICE")
  before=$(systemctl show -p StatusText --value "$SERVICE")
  systemctl reload "$SERVICE"
  deadline=$((SECONDS + HEALTH_TIMEOUT + STOP_TIMEOUT))
  while ((SECONDS < deadline)); do
    main=$(systemctl show -p MainPID --value "$SERVICE")
    if [[ $main != "$old" && $main != 0 ]]; then
      log "pid $main took over from pid $old"
      return 0
    fi
    status=$(systemctl show -p StatusText --value "$SERVICE")
    if [[ $status != "$before" && $status == "hand-over failed"* ]]; then
      log "the new release did not become ready; pid $old keeps serving: $status"
      kept_old=1
      return 1
    fi
    sleep 0.2
  done
  log "no hand-over within $((HEALTH_TIMEOUT + STOP_TIMEOUT))s (journalctl -u $SERVICE)"
  return 1
}

# Runs what `current` points at: a hand-over when a server is running, else a (re)start.
restart() {
  if [[ $DEPLOY_LOCAL == 1 ]]; then
    if pid_alive; then
      handover_local
    else
      rm -f "$pidfile"
      start_local
    fi
  elif systemctl is-active --quiet "$SERVICE" && [[ $(systemctl show -p CanReload --value "$SERVICE") == yes ]]; then
    reload_systemd
  else
    systemctl restart "$SERVICE"
  fi
}

health_ok() {
  if command -v curl >/dev/null; then
    curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$PORT/api/health" 2>/dev/null
  else
    # A minimal image without curl: one HTTP/1.0 request through bash's /dev/tcp.
    # shellcheck disable=SC2016 # $1 expands in the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
      printf "GET /api/health HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3 &&
      head -n 1 <&3 | grep -q " 2[0-9][0-9] "' _ "$PORT" 2>/dev/null
  fi
}

# Healthy once /api/health answers 2xx; fails early if a locally started server already died.
wait_healthy() {
  local deadline=$((SECONDS + HEALTH_TIMEOUT))
  while ((SECONDS < deadline)); do
    if health_ok; then
      return 0
    fi
    if [[ $DEPLOY_LOCAL == 1 ]] && ! pid_alive; then
      log "the server exited during start-up (see $root/openmanager.log)"
      return 1
    fi
    sleep 0.2
  done
  log "no healthy answer on port $PORT within ${HEALTH_TIMEOUT}s"
  return 1
}

prune_releases() {
  local current_target all=() i
  current_target=$(readlink "$root/current" || true)
  # Glob order is lexicographic, and the stamps sort chronologically.
  for i in "$root"/releases/*/; do
    all+=("${i%/}")
  done
  local excess=$((${#all[@]} - KEEP_RELEASES))
  for ((i = 0; i < excess; i++)); do
    if [[ ${all[i]} != "$root/$current_target" ]]; then
      rm -rf -- "${all[i]}"
    fi
  done
}

log "installing $release"
switch_to "$release"
if restart && wait_healthy; then
  log "$release is healthy on port $PORT"
  prune_releases
  exit 0
fi

log "rolling back"
if [[ -n $previous ]]; then
  switch_to "$previous"
  # A failed hand-over left the previous server serving (and it starts `current` on its next
  # SIGUSR2, the previous release again): nothing to restart. Otherwise the new release runs but is
  # not healthy: do not trust it to hand over, restart the previous one.
  if ((kept_old)); then
    :
  elif [[ $DEPLOY_LOCAL == 1 ]]; then
    stop_local
    start_local
  else
    systemctl restart "$SERVICE"
  fi
  if wait_healthy; then
    log "rolled back to $previous"
  else
    log "the previous release $previous is not healthy either"
  fi
else
  # First deploy: nothing to go back to; leave nothing running from the broken release.
  [[ $DEPLOY_LOCAL == 1 ]] && stop_local
  rm -f "$root/current"
fi
rm -rf -- "${root:?}/$release"
exit 1
