//! Istio's `StringMatch` (`exact`, `prefix`, `regex`, `{}` for "present"):
//! the value matcher every header-like condition shares, compiled from the
//! model with its errors, evaluated on a value or on a header's joined
//! values, and described for explain.

use regex::bytes::Regex;

use crate::error::lazy::field;
use crate::error::{Errors, LazyPath, PolicyErrorKind};
use crate::limits::MAX_PATTERN_BYTES;
use crate::model::StringMatch;
use crate::regex::{Anchoring, compile_regex};

/// A value matcher for headers, query parameters, method, scheme, authority.
#[derive(Debug)]
pub(crate) enum ValueMatch {
    /// `{}`: the value is present.
    Present,
    Exact(Box<str>),
    Prefix(Box<str>),
    /// Anchored: must match the whole value.
    Regex(Regex),
}

// === impl ValueMatch ===

impl ValueMatch {
    pub(crate) fn matches(&self, value: &str) -> bool {
        match self {
            ValueMatch::Present => true,
            ValueMatch::Exact(e) => value == &**e,
            ValueMatch::Prefix(p) => value.starts_with(&**p),
            ValueMatch::Regex(r) => r.is_match(value.as_bytes()),
        }
    }

    /// Whether a header's values, joined with `,` as Envoy's matcher sees
    /// them, match; `None` when the request has no such header. `Present`,
    /// `Exact` and `Prefix` compare the values in place, so the work is
    /// bounded by the pattern, not by the header: a client may send 60 KiB
    /// of one header (95 values, say), and every rule that matches it
    /// looks at it (joining it per rule ran `on_request_headers` out of
    /// fuel through 5,000 rules). A regex needs the joined text, and a
    /// policy has at most `MAX_REGEXES` of them.
    pub(crate) fn matches_header(&self, req: &crate::Request<'_>, name: &str) -> Option<bool> {
        let mut values = req.header_values(name).peekable();
        values.peek()?;
        Some(match self {
            ValueMatch::Present => true,
            ValueMatch::Exact(e) => joined_starts_with(values, e, true),
            ValueMatch::Prefix(p) => joined_starts_with(values, p, false),
            ValueMatch::Regex(r) => req
                .header(name)
                .is_some_and(|joined| r.is_match(joined.as_bytes())),
        })
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            ValueMatch::Present => "is present".to_owned(),
            ValueMatch::Exact(e) => format!("exact `{e}`"),
            ValueMatch::Prefix(p) => format!("prefix `{p}`"),
            ValueMatch::Regex(r) => format!("regex `{}`", unanchor(r.as_str())),
        }
    }
}

/// Whether `values` joined with `,` start with `pattern` (equal it, when
/// `whole`), comparing at most `pattern.len()` bytes and never joining.
fn joined_starts_with<'v>(
    values: impl Iterator<Item = &'v str>,
    pattern: &str,
    whole: bool,
) -> bool {
    let mut rest = pattern.as_bytes();
    for (i, value) in values.enumerate() {
        if i > 0 {
            if rest.is_empty() {
                return !whole;
            }
            match rest.split_first() {
                Some((b',', after)) => rest = after,
                _ => return false,
            }
        }
        let value = value.as_bytes();
        if !whole && value.len() >= rest.len() {
            return value.starts_with(rest);
        }
        match rest.strip_prefix(value) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    rest.is_empty()
}

/// The user's pattern inside `^(?:...)$`.
pub(super) fn unanchor(s: &str) -> &str {
    s.strip_prefix("^(?:")
        .and_then(|s| s.strip_suffix(")$"))
        .unwrap_or(s)
}

/// What a request had, for a miss's explanation.
pub(super) fn shown(v: Option<&str>) -> String {
    match v {
        Some(v) => format!("`{v}`"),
        None => "nothing".to_owned(),
    }
}

// === compile ===

pub(super) enum Pattern<'a> {
    Present,
    Exact(&'a str),
    Prefix(&'a str),
    Regex(&'a str),
}

/// At most one of exact/prefix/regex; none = present.
pub(super) fn one_of<'a>(
    sm: &'a StringMatch,
    path: &LazyPath<'_>,
    errors: &mut Errors,
) -> Option<Pattern<'a>> {
    let set = [sm.exact.is_some(), sm.prefix.is_some(), sm.regex.is_some()];
    if set.iter().filter(|s| **s).count() > 1 {
        errors.push(path, PolicyErrorKind::SeveralStringMatches);
        return None;
    }
    Some(if let Some(v) = &sm.exact {
        Pattern::Exact(v)
    } else if let Some(v) = &sm.prefix {
        Pattern::Prefix(v)
    } else if let Some(v) = &sm.regex {
        Pattern::Regex(v)
    } else {
        Pattern::Present
    })
}

pub(super) fn value_match(
    sm: Option<&StringMatch>,
    path: &LazyPath<'_>,
    errors: &mut Errors,
) -> Option<ValueMatch> {
    Some(match one_of(sm?, path, errors)? {
        Pattern::Present => ValueMatch::Present,
        Pattern::Exact(v) => {
            check_len(v, &field(path, "exact"), errors);
            ValueMatch::Exact(v.into())
        }
        Pattern::Prefix(v) => {
            check_len(v, &field(path, "prefix"), errors);
            ValueMatch::Prefix(v.into())
        }
        Pattern::Regex(v) => ValueMatch::Regex(regex(v, &field(path, "regex"), errors)?),
    })
}

pub(crate) fn check_len(v: &str, path: &LazyPath<'_>, errors: &mut Errors) {
    if v.len() > MAX_PATTERN_BYTES {
        errors.push(
            path,
            PolicyErrorKind::PatternTooLong {
                len: v.len(),
                limit: MAX_PATTERN_BYTES,
            },
        );
    }
}

/// Compile a full-match regex, reporting at `path`.
pub(super) fn regex(pattern: &str, path: &LazyPath<'_>, errors: &mut Errors) -> Option<Regex> {
    if pattern.len() > MAX_PATTERN_BYTES {
        check_len(pattern, path, errors);
        return None;
    }
    match compile_regex(pattern, Anchoring::Full) {
        Ok(r) => Some(r),
        Err(e) => {
            errors.push(
                path,
                PolicyErrorKind::InvalidRegex {
                    pattern: pattern.to_owned(),
                    reason: e,
                },
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::joined_starts_with;

    /// The in-place comparison agrees with comparing the joined text.
    #[test]
    fn joined_comparison_equals_comparing_the_joined_values() {
        let lists: [&[&str]; 6] = [
            &["a"],
            &["a", "b"],
            &["ab", "c"],
            &["", ""],
            &["a,b"],
            &["x", "y", "z"],
        ];
        let patterns = [
            "", "a", "a,", "a,b", "ab", "ab,c", ",", "a,b,", "x,y,z", "x,y", "a,b,c",
        ];
        for values in lists {
            let joined = values.join(",");
            for pattern in patterns {
                assert_eq!(
                    joined_starts_with(values.iter().copied(), pattern, true),
                    joined == pattern,
                    "{values:?} exact {pattern:?}"
                );
                assert_eq!(
                    joined_starts_with(values.iter().copied(), pattern, false),
                    joined.starts_with(pattern),
                    "{values:?} prefix {pattern:?}"
                );
            }
        }
    }
}
