//! Limits on policies, chosen so a policy cannot make the filter slow or
//! large; the CLI and the filter enforce the same ones.

/// Largest policy document (bytes of JSON): the text the filter receives,
/// and the compact JSON of a document the CLI parsed from YAML (after its
/// aliases are expanded), which is what Istio hands the filter. Configuring
/// costs the `.wasm` up to ~850 instructions per byte of dense rules, so
/// this bounds `on_configure` (see [`CONFIGURE_FUEL`]); a Kubernetes object
/// (the WasmPlugin that carries the policy) cannot exceed ~1.5 MiB anyway.
pub const MAX_POLICY_BYTES: usize = 512 * 1024;
/// Most rules over all virtual services (~29,000 instructions each to
/// configure on the `.wasm`, `tests/filter/limits.rs`, 2026-11-30).
pub const MAX_RULES: usize = 5_000;
/// Most entries in one rule's `match`.
pub const MAX_MATCHES_PER_RULE: usize = 256;
/// Most destinations in one rule's `route`.
pub const MAX_DESTINATIONS: usize = 256;
/// Longest string pattern or regex in a match or rewrite (bytes).
pub const MAX_PATTERN_BYTES: usize = 4096;
/// Longest header name in a match or header operation (bytes).
pub const MAX_HEADER_NAME_BYTES: usize = 256;
/// Longest header value set or added by a policy (bytes).
pub const MAX_HEADER_VALUE_BYTES: usize = 8192;
/// Largest `directResponse.body.string` (bytes; Istio rejects 1 MB and more).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Compiled size limit of one regex (bytes), also the lazy DFA's cache limit.
pub const REGEX_SIZE_LIMIT: usize = 100 * 1024;
/// Most regexes in a policy's rules (`match` regexes and `uriRegexRewrite`):
/// the worst request (60 KiB of headers, Envoy's default limit) makes each
/// scan one 60 KiB value, so this bounds the work of one request (see
/// `cost.rs`).
pub const MAX_REGEXES: usize = 100;
/// Most regexes in a whole policy, over all its virtual services: each is
/// compiled at configure time (see `cost.rs`).
pub const MAX_POLICY_REGEXES: usize = 100;
/// What compiling the costliest regex the limits allow costs on the
/// `.wasm`, in wasm instructions (fuel), as measured by `host-tests`
/// (`[0-9A-Za-z_-]{982}`, the longest that fits [`REGEX_SIZE_LIMIT`]:
/// about 5.1e6).
pub const REGEX_COMPILE_FUEL: u64 = 8_000_000;
/// The stated bound of one `on_configure` of a policy at the limits (the
/// densest [`MAX_POLICY_BYTES`] with [`MAX_POLICY_REGEXES`] of the
/// costliest regexes), in wasm instructions: 80% of the fuel a host gives
/// one callback (2e9), checked on the `.wasm` by `host-tests`
/// (`tests/filter/limits.rs`).
pub const CONFIGURE_FUEL: u64 = 1_400_000_000;
/// The stated bound of one request's `on_request_headers` on the `.wasm`,
/// in wasm instructions (fuel): 10% of the fuel a host gives one callback
/// (2e9). The worst request the limits allow (60 KiB of headers through
/// [`MAX_REGEXES`] regexes, or through [`MAX_RULES`] header or query
/// rules) stays under it, checked by `host-tests`
/// (`tests/filter/worst_case.rs`) and reported by `make bench`.
pub const REQUEST_FUEL: u64 = 200_000_000;
/// Deepest nesting of groups and repetitions in one regex.
pub const REGEX_NEST_LIMIT: u32 = 64;
/// Largest sum of weights in one rule's `route` (keeps `random % Σw` unbiased enough).
pub const MAX_TOTAL_WEIGHT: u64 = 1_000_000;

/// The one error for a policy past [`MAX_POLICY_BYTES`], whoever measures it.
pub(crate) fn policy_too_large(bytes: usize) -> crate::PolicyError {
    crate::PolicyError::new(
        crate::FieldPath::root(),
        crate::PolicyErrorKind::PolicyTooLarge {
            bytes,
            limit: MAX_POLICY_BYTES,
        },
    )
}

/// Refuses a parsed document whose compact JSON encoding is larger than
/// [`MAX_POLICY_BYTES`] (a YAML document's aliases expanded): `validate`
/// refuses what the filter would.
pub(crate) fn check_policy_bytes(
    value: &serde_json::Value,
    errors: &mut crate::error::Errors,
) -> bool {
    let mut counter = Counter(0);
    if serde_json::to_writer(&mut counter, value).is_err() || counter.0 <= MAX_POLICY_BYTES {
        return true;
    }
    errors.list.push(policy_too_large(counter.0));
    false
}

/// Counts the bytes written, keeping none.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
