//! Limits on policies, chosen so a policy cannot make the filter slow or
//! large; the CLI and the filter enforce the same ones.

/// Largest policy document accepted by `from_json` (bytes).
pub const MAX_POLICY_BYTES: usize = 8 * 1024 * 1024;
/// Most rules in `spec.http`.
pub const MAX_RULES: usize = 20_000;
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
/// Deepest nesting of groups and repetitions in one regex.
pub const REGEX_NEST_LIMIT: u32 = 64;
/// Largest sum of weights in one rule's `route` (keeps `random % Σw` unbiased enough).
pub const MAX_TOTAL_WEIGHT: u64 = 1_000_000;
