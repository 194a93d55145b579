#!/usr/bin/env bash
# Prints the BENCHMARKS.md section on the filter's size. Usage: size-report.sh RAW.wasm OPT.wasm
set -euo pipefail
raw=$1 opt=$2
raw_b=$(stat -c %s "$raw"); opt_b=$(stat -c %s "$opt")
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
floor=target/wasm32-wasip1/release/guest_floor.wasm
cat <<MD
## Size of the filter

Command: \`make build\` (profile \`wasm\`: \`opt-level = "z"\`, LTO, one codegen unit,
\`panic = "abort"\`, stripped; then \`wasm-opt -Oz\`), sizes read with \`stat\` by
\`scripts/size-report.sh\`.

| module | bytes | size | ratio to meshpolicy |
|---|---:|---:|---:|
| meshpolicy filter, \`$opt\` (shipped) | $opt_b | $(kib "$opt_b") | 1.00 |
| meshpolicy filter before wasm-opt | $raw_b | $(kib "$raw_b") | $(ratio "$raw_b" "$opt_b") |
MD
if [ -f "$floor" ]; then
  fb=$(stat -c %s "$floor")
  echo "| host floor guest (proxy-wasm SDK, reads headers; built in this run) | $fb | $(kib "$fb") | $(ratio "$fb" "$opt_b") |"
fi
cat <<MD
| proxy-wasm Rust SDK \`http_headers\` example (reference, about 147 KB) | 147000 | 143.6 KiB | $(ratio 147000 "$opt_b") |
| Kuadrant wasm-shim with LTO (reference, about 3.4 MB) | 3400000 | 3320.3 KiB | $(ratio 3400000 "$opt_b") |

Budget: \`make build\` fails when the shipped module passes the budget in the Makefile (\`WASM_BUDGET\`).
MD
