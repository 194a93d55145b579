#!/usr/bin/env bash
# A throwaway OCI registry on loopback for the push tests (Debian's
# `docker-registry`, the CNCF distribution registry).
#
#   scripts/registry.sh start        install if missing, start on 127.0.0.1:$REGISTRY_PORT
#                                    with a fresh storage dir, wait until /v2/ answers,
#                                    print the address (host:port) on stdout
#   scripts/registry.sh start-auth   the same with htpasswd (Basic) auth on
#                                    127.0.0.1:$REGISTRY_AUTH_PORT; a fresh user and
#                                    random password are written as `user:password`
#                                    to target/registry-auth/credentials
#   scripts/registry.sh stop|stop-auth   stop the registry this script started
#   scripts/registry.sh addr|addr-auth   print the address if it answers, else fail
#
# `make test` starts both and passes the addresses to the tests as
# MESHPOLICY_REGISTRY and MESHPOLICY_REGISTRY_AUTH. A registry already started
# by this script and still answering is reused.
set -euo pipefail

cd "$(dirname "$0")/.."
case "${1:-}" in
  *-auth)
    AUTH=1
    PORT="${REGISTRY_AUTH_PORT:-5056}"
    STATE="${REGISTRY_AUTH_STATE:-target/registry-auth}"
    ;;
  *)
    AUTH=
    PORT="${REGISTRY_PORT:-5055}"
    STATE="${REGISTRY_STATE:-target/registry}"
    ;;
esac
ADDR="127.0.0.1:$PORT"
PIDFILE="$STATE/registry.pid"

log() { echo "registry.sh: $*" >&2; }

# Any answer from /v2/ the registry gives when it is up (401 with auth).
answers() {
  local code
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 "http://$ADDR/v2/" 2>/dev/null) || return 1
  [ "$code" = 200 ] || { [ -n "$AUTH" ] && [ "$code" = 401 ]; }
}

install() {
  command -v docker-registry >/dev/null && command -v skopeo >/dev/null && command -v curl >/dev/null \
    && command -v htpasswd >/dev/null && return
  log "installing docker-registry, skopeo, curl and htpasswd (Debian packages)"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq docker-registry skopeo curl apache2-utils >/dev/null
}

# The config's auth section: htpasswd with a fresh bcrypt entry and password.
auth_config() {
  [ -n "$AUTH" ] || return 0
  local password
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  htpasswd -Bbn meshpolicy "$password" > "$STATE/htpasswd"
  printf 'meshpolicy:%s\n' "$password" > "$STATE/credentials"
  chmod 600 "$STATE/credentials"
  printf 'auth:\n  htpasswd:\n    realm: meshpolicy-test\n    path: %s\n' "$(cd "$STATE" && pwd)/htpasswd"
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
  local auth storage
  auth="$(auth_config)"
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
$auth
EOF
  # setsid: the registry outlives this script and make's shell. The registry
  # reads every REGISTRY_* variable as a config override (REGISTRY_AUTH_PORT
  # would become `auth.port`): it starts without this script's ones.
  local unset=()
  for name in $(compgen -e | grep '^REGISTRY_' || true); do unset+=(-u "$name"); done
  setsid env "${unset[@]}" docker-registry serve "$STATE/config.yml" > "$STATE/registry.log" 2>&1 < /dev/null &
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
  start|start-auth) start ;;
  stop|stop-auth) stop ;;
  addr|addr-auth) answers && echo "$ADDR" ;;
  *) echo "usage: $0 start|stop|addr|start-auth|stop-auth|addr-auth" >&2; exit 2 ;;
esac
