#!/usr/bin/env bash
# Prints the BENCHMARKS.md section on the filter's size.
# Usage: size-report.sh RAW.wasm OPT.wasm NAMES.wasm BUDGET
#   RAW: the cargo build, OPT: the shipped module (after wasm-opt),
#   NAMES: the same build and wasm-opt with the name section kept (for twiggy),
#   BUDGET: the Makefile's WASM_BUDGET.
set -euo pipefail
raw=$1 opt=$2 names=$3 budget=$4
raw_b=$(stat -c %s "$raw"); opt_b=$(stat -c %s "$opt")
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
floor=target/wasm32-wasip1/release/guest_floor.wasm
tfloor=target/wasm32-wasip1/release/guest_telemetry_floor.wasm
goal=524288
cat <<MD
## Size of the filter

Command: \`make build\` (profile \`wasm\`: \`opt-level = "s"\`, LTO, one codegen unit,
\`panic = "abort"\`, stripped, cargo's crates.io path remapped out of panic locations; then
\`scripts/drop-exports.sh\`, which removes the SDK's callbacks for calls the filter never makes, and
\`wasm-opt -Oz --converge\`), sizes read with \`stat\` by \`scripts/size-report.sh\`.

| module | bytes | size | ratio to meshpolicy |
|---|---:|---:|---:|
| meshpolicy filter, \`$opt\` (shipped) | $opt_b | $(kib "$opt_b") | 1.00 |
| meshpolicy filter before wasm-opt | $raw_b | $(kib "$raw_b") | $(ratio "$raw_b" "$opt_b") |
MD
for g in "$floor:header floor guest (proxy-wasm SDK, reads headers)" "$tfloor:telemetry floor guest (SDK; headers, two set, four metrics)"; do
  f=${g%%:*} what=${g#*:}
  if [ -f "$f" ]; then
    b=$(stat -c %s "$f")
    echo "| $what, built in this run | $b | $(kib "$b") | $(ratio "$b" "$opt_b") |"
  fi
done
cat <<MD
| proxy-wasm Rust SDK \`http_headers\` example (reference, about 147 KB) | 147000 | 143.6 KiB | $(ratio 147000 "$opt_b") |
| Kuadrant wasm-shim HEAD with LTO (reference, 4.56 MB, measured 2026-11-24 for issue 11) | 4560000 | 4453.1 KiB | $(ratio 4560000 "$opt_b") |

| goal | measured | verdict |
|---|---:|---|
MD
if [ "$opt_b" -le "$goal" ]; then verdict=met; else verdict="**missed** by $((opt_b - goal)) bytes ($(kib $((opt_b - goal))))"; fi
echo "| the shipped module at most 512 KiB (issue 11) | $(kib "$opt_b") | $verdict |"
if [ "$opt_b" -le "$budget" ]; then verdict=met; else verdict="**missed**"; fi
echo "| within the Makefile's \`WASM_BUDGET\` ($budget bytes, $(kib "$budget")), which \`make build\` enforces | $(kib "$opt_b") | $verdict |"

names_b=$(stat -c %s "$names")
top=$(twiggy top --format csv "$names")
if ! grep -q 'function names' <<<"$top"; then
  echo "error: $names has no name section (run wasm-opt with -g)" >&2
  exit 1
fi
cat <<MD

Where the bytes go: \`twiggy top\` (twiggy $(twiggy --version | awk '{print $2}')) of \`$names\`, the same build and
\`wasm-opt\` run with the name section kept (\`-g\`; $names_b bytes with it): the ten largest items of the
shipped code and data, shallow sizes (a function's own bytes: LTO inlines most of the regex
compiler into \`compile_regex\` and the policy's deserialization and compilation into
\`on_configure\`; \`.rodata\` segments are strings and tables):

| # | item | bytes | share of the shipped module |
|---:|---|---:|---:|
MD
# twiggy's CSV: Name,ShallowSize,ShallowSizePercent,RetainedSize,RetainedSizePercent
# (names may hold commas). The name section's subsections are not shipped.
tail -n +2 <<<"$top" \
  | awk -F, -v total="$opt_b" '
      { size = $(NF-3); name = $0; sub(/,[^,]*,[^,]*,[^,]*,[^,]*$/, "", name)
        gsub(/^"|"$/, "", name); gsub(/""/, "\"", name); sub(/::h[0-9a-f]+$/, "", name) }
      name ~ /subsection/ { next }
      n < 10 { n++; gsub(/\|/, "\\|", name); printf "| %d | `%s` | %d | %.1f%% |\n", n, name, size, 100 * size / total }'
cat <<MD

The same items grouped by crate: the ten largest groups. A function counts for the crate that
defines it, whatever its type parameters (serde's \`Option<T>\` deserializer is \`serde_core\`'s for
every policy type), a trait method for its \`Self\` type's crate (\`<&mut serde_json::de::Deserializer<R>
as serde_core::de::Deserializer>\` is \`serde_json\`), or for the trait's when \`Self\` is a primitive or a
parameter (\`<f64 as Display>::fmt\` and \`<&T as Debug>::fmt\` are \`core\`'s); functions binaryen merged
(\`byn\$mgfn-shared\$\`) are demangled first; the name section is not counted:

| # | crate | bytes | share of the shipped module |
|---:|---|---:|---:|
MD
# Each item to its group, then the groups by size (ties by name, so the table is stable).
tail -n +2 <<<"$top" \
  | awk -F, '
      # The crate of a Rust path: its first segment, or past " as " when Self has no path.
      function crate_of(s,   i) {
        while (1) {
          while (sub(/^([<&(\[*]|mut |const |dyn |impl )/, "", s)) {}
          if (match(s, /^[A-Za-z_][A-Za-z0-9_]*(\[[0-9a-f]+\])?::/)) {
            s = substr(s, 1, RLENGTH); sub(/(\[[0-9a-f]+\])?::$/, "", s); return s
          }
          i = index(s, " as ")
          if (i == 0) return ""
          s = substr(s, i + 4)
        }
      }
      # A legacy-mangled path (_ZN<length><segment>...E) back to a::b::c.
      function demangle(s,   out, n, seg) {
        s = substr(s, 4); out = ""
        while (match(s, /^[0-9]+/)) {
          n = substr(s, 1, RLENGTH) + 0; seg = substr(s, RLENGTH + 1, n); s = substr(s, RLENGTH + 1 + n)
          sub(/^_\$/, "$", seg)
          gsub(/\$LT\$/, "<", seg); gsub(/\$GT\$/, ">", seg); gsub(/\$RF\$/, "\\&", seg)
          gsub(/\$u20\$/, " ", seg); gsub(/\$C\$/, ",", seg); gsub(/\.\./, "::", seg)
          out = out (out == "" ? "" : "::") seg
        }
        return out
      }
      function group_of(name,   c, n) {
        while (sub(/^byn\$mgfn-shared\$/, "", name)) {}
        if (name ~ /^_ZN[0-9]/) return crate_of(demangle(name))
        # v0 mangling: the first crate root, C[s<disambiguator>_]<length><name>
        if (name ~ /^_R/ && match(name, /C(s[0-9A-Za-z]*_)?[0-9]+/)) {
          c = substr(name, RSTART, RLENGTH); sub(/^C(s[0-9A-Za-z]*_)?/, "", c); n = c + 0
          return substr(name, RSTART + RLENGTH, n)
        }
        if (name ~ /^data segment /) return "data segments (`.rodata`: strings, tables)"
        if (name ~ /^proxy_on_|^proxy_abi_version/) return "proxy_wasm"
        c = crate_of(name)
        if (c != "") return c
        if (name ~ /^_*[a-z][a-z0-9_]*$/) return "wasi-libc and compiler builtins (malloc, `mem*`, 128-bit arithmetic)"
        return "module structure (exports, tables, section headers)"
      }
      { size = $(NF-3); name = $0; sub(/,[^,]*,[^,]*,[^,]*,[^,]*$/, "", name)
        gsub(/^"|"$/, "", name); gsub(/""/, "\"", name)
        if (name !~ /subsection/) printf "%d\t%s\n", size, group_of(name) }' \
  | awk -F'\t' '{ bytes[$2] += $1 } END { for (g in bytes) printf "%d\t%s\n", bytes[g], g }' \
  | sort -t$'\t' -k1,1nr -k2,2 \
  | awk -F'\t' -v total="$opt_b" '
      n < 10 { n++; g = ($2 ~ /[ (]/) ? $2 : "`" $2 "`"
               printf "| %d | %s | %d | %.1f%% |\n", n, g, $1, 100 * $1 / total; next }
      { rest += $1; others++ }
      END { if (others) printf "| | the other %d groups | %d | %.1f%% |\n", others, rest, 100 * rest / total }'
cat <<MD

Speed against size, measured 2026-11-30 for issue 11 on one tree (the article's request with metrics
disabled; fuel is wasm instructions on the host, per request-headers callback and per configure of
1,000 prefix rules): \`opt-level = "z"\` 785,716 bytes, 29,907 and 135,673 per rule; \`"s"\` 887,114
bytes (+13%), 25,053 (-16%) and 109,745 (-19%); \`3\` (with \`wasm-opt -O3\`) 1,142,121 bytes (+45%),
22,742 (-24%) and 99,215 (-27%), no faster than \`"s"\` in CPU time per full request within the
noise. Kept \`"s"\`: speed comes before size, and \`3\` buys a few percent for a quarter more bytes.
Tried for size earlier the same day: \`wasm-opt -Oz\` with \`--converge\`,
\`-O4 -Oz\`, \`--gufa -Oz\`, and \`-Os\` (at most 0.8 KB smaller, \`-Os\` 12 KB larger): kept
\`--converge\` and \`--strip-producers\`. LTO, one codegen unit and \`panic = "abort"\` were already on.
Removed later that day, each measured alone with \`cargo bench -p host-tests --bench cost\` (fuel per
request unchanged: 15,597 request headers, 5,805 log and end): the SDK's exports for gRPC and http
call responses, shared queues, foreign functions and ticks, which Envoy never runs for this filter
(18,206 bytes); the stable sorts of two configure-only orders, now a stable partition and a binary
insertion sort giving the same order (12,474 bytes; configure of the article's policy 743,371 to
642,224 fuel); three map types of configure-only checks, now the \`BTreeMap<&str, usize>\` the
compile walk already has (7,210 bytes); the schema walk's \`retain\` on JSON objects, now a rebuild
in key order (5,661 bytes: no map removal code); a clone of the whole rule to resolve its mirror
hosts, now a copy of the router fields alone (7,742 bytes); the registry's path in panic locations
(3,040 bytes).
Tried and dropped:
\`opt-level = "z"\` for \`regex-syntax\` alone (389 bytes larger under fat LTO, and per-request fuel
moved), \`wasm-opt\` \`--dae-optimizing\` and \`--merge-similar-functions\` (0 and +110 bytes), the
\`{:?}\` of a merged host's \`exportTo\` (at most 545 bytes: not worth its own escaping code), not
cloning each metric's telemetry state at configure (1,025 bytes, but 46 more fuel per request end:
the heap after configure differs); \`-Zlocation-detail=none\` would save 18.6 KB more but is an
unstable flag (and changes panic messages).
The code left is the policy engine, serde's
deserializers for the policy document, the regex parser and compiler with the lazy DFA (kept:
exactness and bounded matching come first), and the CEL subset; the 512 KiB goal would need one of
them gone.
MD
