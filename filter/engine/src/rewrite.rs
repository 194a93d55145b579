//! Path rewriting (SPEC §2.2): `rewrite.uri` and `rewrite.uriRegexRewrite`,
//! with the guarantee that a rewritten `:path` is valid.

use regex::bytes::Regex;

use crate::request::split_query;
use crate::route::r#match::Matched;

/// A compiled `rewrite`.
#[derive(Debug)]
pub(crate) enum PathRewrite {
    /// `rewrite.uri`: replaces the matched prefix (prefix match) or the whole
    /// path (exact, regex); the query string is kept.
    Uri(Box<str>),
    /// `rewrite.uriRegexRewrite`: every match in the path (query excluded)
    /// replaced; `replacement` is in the regex crate's `${1}` syntax.
    Regex { regex: Regex, replacement: Box<str> },
}

/// Rewrite `path` (as sent, query included). `Err` says why the result was
/// refused (it would not be a valid `:path`).
pub(crate) fn rewrite_path(
    rw: &PathRewrite,
    path: &str,
    matched: Matched,
) -> Result<String, String> {
    let out = match rw {
        PathRewrite::Uri(new) => match matched {
            Matched::Prefix(len) => {
                let rest = path.get(len..).unwrap_or("");
                let mut s = String::with_capacity(new.len() + rest.len());
                s.push_str(new);
                s.push_str(rest);
                s
            }
            Matched::Whole => {
                let (_, query) = split_query(path);
                let mut s = String::with_capacity(new.len() + query.len());
                s.push_str(new);
                s.push_str(query);
                s
            }
        },
        PathRewrite::Regex { regex, replacement } => {
            let (only, query) = split_query(path);
            let replaced = regex.replace_all(only.as_bytes(), replacement.as_bytes());
            let mut bytes = replaced.into_owned();
            bytes.extend_from_slice(query.as_bytes());
            String::from_utf8(bytes).map_err(|_| "rewritten path is not valid UTF-8".to_owned())?
        }
    };
    check_path(&out)?;
    Ok(out)
}

/// A rewritten `:path` must be one Envoy accepts (`http_syntax`): a broken
/// path must never leave the filter.
pub(crate) fn check_path(path: &str) -> Result<(), String> {
    crate::http_syntax::path_error("rewritten path", path).map_or(Ok(()), |e| Err(e.to_string()))
}

/// Why a `uriRegexRewrite.rewrite` is not a replacement meshpolicy reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplacementError {
    #[error("invalid escape `\\{0}` in rewrite, only `\\0`..`\\9` and `\\\\` are allowed")]
    Escape(char),
    #[error("rewrite ends with a lone `\\`")]
    TrailingBackslash,
}

/// Convert Istio's RE2 rewrite (`\1`, `\\`) into the regex crate's syntax
/// (`${1}`, literal `$` as `$$`). Returns the highest group referenced.
pub(crate) fn convert_replacement(istio: &str) -> Result<(String, usize), ReplacementError> {
    let mut out = String::with_capacity(istio.len() + 8);
    let mut max_group = 0;
    let mut chars = istio.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(d @ '0'..='9') => {
                    let n = d.to_digit(10).unwrap_or(0) as usize;
                    max_group = max_group.max(n);
                    out.push_str("${");
                    out.push(d);
                    out.push('}');
                }
                Some('\\') => out.push('\\'),
                Some(other) => return Err(ReplacementError::Escape(other)),
                None => return Err(ReplacementError::TrailingBackslash),
            },
            '$' => out.push_str("$$"),
            other => out.push(other),
        }
    }
    Ok((out, max_group))
}

#[cfg(test)]
mod tests;
