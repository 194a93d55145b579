#!/usr/bin/env bash
# Removes exports a module never needs, and the code only they reach
# (`wasm-metadce`: every other export is a root). `make build` runs it on the
# filter before `wasm-opt`, for the proxy-wasm SDK's callbacks of calls the
# filter never makes (gRPC calls, http calls, shared queues, foreign
# functions): Envoy runs a callback only for a call the plugin made, and
# proxy-wasm-cpp-host skips a callback the module does not export
# (`ContextBase::onGrpcReceive` and the others test the function first).
# Fails when a named export is missing, so an SDK that renames one is noticed.
# Usage: drop-exports.sh IN.wasm OUT.wasm EXPORT... (wasm-metadce flags, such as
# -g or --enable-*, go in METADCE_FLAGS)
set -euo pipefail
in=$1 out=$2
shift 2
exports=$(wasm-dis "$in" | sed -n 's/^ (export "\([^"]*\)".*/\1/p')
for drop in "$@"; do
  if ! grep -qxF "$drop" <<<"$exports"; then
    echo "error: $in exports no \`$drop\` (exports: $(tr '\n' ' ' <<<"$exports"))" >&2
    exit 1
  fi
done
graph=$(mktemp)
trap 'rm -f "$graph"' EXIT
# One root node per kept export (wasm-metadce removes an export no root reaches).
{
  echo "["
  n=0
  while read -r name; do
    if printf '%s\n' "$@" | grep -qxF "$name"; then continue; fi
    [ $n -gt 0 ] && echo ","
    n=$((n + 1))
    printf '  { "name": "keep%d", "root": true, "export": "%s" }' "$n" "$name"
  done <<<"$exports"
  echo
  echo "]"
} >"$graph"
# wasm-metadce prints the graph nodes it found unused: the dropped exports.
# shellcheck disable=SC2086 # METADCE_FLAGS is a list of flags
wasm-metadce ${METADCE_FLAGS:-} -f "$graph" "$in" -o "$out" >/dev/null
