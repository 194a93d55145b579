#!/usr/bin/env bash
# `make fuzz`: every cargo-fuzz target for SECONDS each, on the stable
# toolchain (RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its unstable flags; no
# sanitizer, so no nightly std), then the differential check of PAIRS
# generated (policy, request) pairs; writes the runs per target to OUT, the
# "Fuzzing: runs per target" section `make bench` puts into BENCHMARKS.md.
# A crash, a leak past libFuzzer's memory limit or a run slower than
# TIMEOUT seconds (a hang) fails the target and this script.
# Usage: fuzz.sh SECONDS PAIRS OUT TARGET...
set -euo pipefail
seconds=$1 pairs=$2 out=$3
shift 3
timeout=${FUZZ_TIMEOUT:-20}
logs=target/fuzz-logs
mkdir -p "$logs" "$(dirname "$out")"

declare -A what=(
  [configure]="any bytes as the plugin configuration; the fast path for a clean text answers what the full path answers (model and every error)"
  [configure_structured]="\`arbitrary\` policies past JSON syntax (rules with hostile paths, regexes, rewrites, authorities, header values), checked fast path against full path, then requests"
  [decide]="arbitrary requests through a policy with every matcher and action"
  [cel]="any \`tagOverrides\` expression, raw or built from grammar pieces, parsed and evaluated against arbitrary properties and headers: never a panic"
  [host_modules]="\`wasm-smith\` modules exporting every proxy-wasm callback, importing only the host's functions with their signatures (\`Host::imports_wat\`), driven through start, configure, streams with arbitrary header bytes, bodies, ticks, http call answers and queues: the host ends every run in a result or a failed VM with its reason, within fuel (5e6 per event) and memory (64 MiB) budgets"
)

# Inputs a target needs past libFuzzer's small start: a wasm-smith module
# worth running takes a few KiB of input.
declare -A args=(
  [host_modules]="-max_len=8192 -len_control=0"
)

# 1234567 -> 1,234,567
grouped() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

rows=""
for target in "$@"; do
  log="$logs/$target.log"
  echo "== fuzz $target for ${seconds}s"
  if ! (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none -O "$target" -- \
    -max_total_time="$seconds" -timeout="$timeout" ${args[$target]:-}) > "$log" 2>&1; then
    tail -40 "$log" >&2
    echo "error: fuzz target $target failed, see $log" >&2
    exit 1
  fi
  grep -E '^Done' "$log" || true
  runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 in \2 s/p' "$log" | tail -1)
  if [ -z "$runs" ]; then
    echo "error: fuzz target $target reported no run count, see $log" >&2
    exit 1
  fi
  count=${runs%% in *}
  rows+="| \`$target\` | ${what[$target]:-} | $(grouped "$count") | ${runs#* in } |"$'\n'
done

echo "== differential check: $pairs generated (policy, request) pairs"
MESHPOLICY_DIFFERENTIAL_PAIRS=$pairs cargo test --test filter differential_generated -- --nocapture \
  2>&1 | tee "$logs/differential.log"
compared=$(sed -n 's/^\([0-9]*\) (policy, request) pairs decided alike.*/\1/p' "$logs/differential.log" | tail -1)
if [ -z "$compared" ]; then
  echo "error: the differential check reported no pair count, see $logs/differential.log" >&2
  exit 1
fi

{
  echo "## Fuzzing: runs per target"
  echo
  echo "\`make fuzz FUZZ_SECONDS=$seconds\` (cargo-fuzz $(cargo fuzz --version 2>/dev/null | awk '{print $2}') on stable Rust with \`RUSTC_BOOTSTRAP=1\`, no sanitizer, \`-O\`, \`-timeout=$timeout\`; $(nproc) shared cores), no crash, no hang:"
  echo
  echo "| target | what it feeds | runs | in |"
  echo "|---|---|---:|---:|"
  printf '%s' "$rows"
  echo
  echo "Then \`MESHPOLICY_DIFFERENTIAL_PAIRS=$pairs cargo test --test filter differential_generated\` (part of \`make fuzz\`): $(grouped "$compared") generated (policy, request) pairs decided alike by the native engine and the \`.wasm\` on the host (2,000 pairs in \`make test\`)."
} > "$out"
echo "wrote $out"
