#!/usr/bin/env bash
# A throwaway OCI registry on loopback for the push tests (Debian's
# `docker-registry`, the CNCF distribution registry).
#
#   scripts/registry.sh start   install if missing, start on 127.0.0.1:$REGISTRY_PORT
#                               with a fresh storage dir, wait until /v2/ answers,
#                               print the address (host:port) on stdout
#   scripts/registry.sh stop    stop the registry this script started
#   scripts/registry.sh addr    print the address if the registry answers, else fail
#
# `make test` runs `start` and passes the address to the tests as MESHPOLICY_REGISTRY.
# A registry already started by this script and still answering is reused.
set -euo pipefail

cd "$(dirname "$0")/.."
PORT="${REGISTRY_PORT:-5055}"
ADDR="127.0.0.1:$PORT"
STATE="${REGISTRY_STATE:-target/registry}"
PIDFILE="$STATE/registry.pid"

log() { echo "registry.sh: $*" >&2; }

answers() { curl -fsS -o /dev/null --max-time 2 "http://$ADDR/v2/" 2>/dev/null; }

install() {
  command -v docker-registry >/dev/null && command -v skopeo >/dev/null && command -v curl >/dev/null && return
  log "installing docker-registry and skopeo (Debian packages)"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq docker-registry skopeo curl >/dev/null
}

start() {
  install
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && answers; then
    log "reusing the registry at $ADDR (pid $(cat "$PIDFILE"))"
    echo "$ADDR"
    return
  fi
  if answers; then
    log "error: something else already answers on $ADDR; set REGISTRY_PORT to a free port"
    exit 1
  fi
  mkdir -p "$STATE"
  local storage
  storage="$(mktemp -d "${TMPDIR:-/tmp}/meshpolicy-registry.XXXXXX")"
  cat > "$STATE/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $storage
  delete:
    enabled: true
http:
  addr: $ADDR
EOF
  # setsid: the registry outlives this script and make's shell.
  setsid docker-registry serve "$STATE/config.yml" > "$STATE/registry.log" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 100); do
    if answers; then
      log "started docker-registry on $ADDR (pid $(cat "$PIDFILE"), storage $storage)"
      echo "$ADDR"
      return
    fi
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      log "error: docker-registry exited; its log:"; cat "$STATE/registry.log" >&2; exit 1
    fi
    sleep 0.1
  done
  log "error: docker-registry did not answer on http://$ADDR/v2/ within 10 s; its log:"
  cat "$STATE/registry.log" >&2
  exit 1
}

stop() {
  if [ -f "$PIDFILE" ]; then
    kill "$(cat "$PIDFILE")" 2>/dev/null || true
    rm -f "$PIDFILE"
    log "stopped the registry on $ADDR"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  addr) answers && echo "$ADDR" ;;
  *) echo "usage: $0 start|stop|addr" >&2; exit 2 ;;
esac
