//! The ONE place policy regexes are compiled (SPEC §2.1), so the CLI and the
//! filter accept exactly the same patterns whatever regex features cargo
//! unifies: byte regexes, Unicode off, bounded size and nesting.

use regex::bytes::{Regex, RegexBuilder};

use crate::limits::{REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT};

/// How a pattern is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchoring {
    /// The pattern must match the whole value (Istio/Envoy `safe_regex` match).
    Full,
    /// The pattern may match anywhere (`uriRegexRewrite.match`, replaced everywhere).
    Search,
}

/// Compile a policy regex (RE2 syntax as far as the `regex` crate accepts it).
/// The error is one lowercase line without the pattern (callers name it).
pub fn compile_regex(pattern: &str, anchoring: Anchoring) -> Result<Regex, String> {
    let anchored;
    let source = match anchoring {
        Anchoring::Full => {
            anchored = format!("^(?:{pattern})$");
            anchored.as_str()
        }
        Anchoring::Search => pattern,
    };
    RegexBuilder::new(source)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => {
                format!("regex is too big once compiled (limit {limit} bytes)")
            }
            other => {
                // The regex crate's syntax errors are multi-line with a caret
                // diagram; keep the last line, which says what is wrong.
                let text = other.to_string();
                let reason = text
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("invalid")
                    .trim()
                    .trim_start_matches("error: ")
                    .to_owned();
                format!("invalid regex: {reason}")
            }
        })
}
