//! `match[].uri` and `ignoreUriCase` (SPEC §2.2): exact, prefix (no segment
//! boundary) or regex (whole path) on `:path` without its query string;
//! compiled with its index key, evaluated, explained on a miss.

use regex::bytes::Regex;

use crate::error::lazy::field;
use crate::error::{Errors, LazyPath, PolicyErrorKind};
use crate::index::Key;
use crate::model::StringMatch;
use crate::route::view::View;

use super::value::{Pattern, check_len, one_of, regex, unanchor};

/// `uri` matcher.
#[derive(Debug)]
pub(crate) enum UriMatch {
    /// Path without the query string equals `value`.
    Exact { value: Box<str>, ignore_case: bool },
    /// The path without the query string starts with `value`, no segment
    /// boundary (Envoy's `PathMatcher` strips the query for prefix too).
    Prefix { value: Box<str>, ignore_case: bool },
    /// Path without the query string fully matches (case-sensitive always).
    Regex(Regex),
}

/// How an entry matched, which decides how `rewrite.uri` applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Matched {
    /// A prefix of this many bytes of `:path` matched: rewrite replaces it.
    Prefix(usize),
    /// Exact or regex: rewrite replaces the whole path (query kept).
    Whole,
}

/// The prefix Envoy's route gets when the entry has no `uri`: `/`.
pub(crate) fn implicit_prefix(path: &str) -> Matched {
    Matched::Prefix(usize::from(path.starts_with('/')))
}

fn starts_with(hay: &str, prefix: &str, ignore_case: bool) -> bool {
    if ignore_case {
        hay.len() >= prefix.len()
            && hay
                .as_bytes()
                .iter()
                .zip(prefix.as_bytes())
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
    } else {
        hay.starts_with(prefix)
    }
}

/// Compile `uri` at `path` (`…match[j].uri`); an exact or prefix `uri` also
/// gives the rule index its key.
pub(super) fn compile<'m>(
    uri: &'m StringMatch,
    ignore_case: bool,
    p: &LazyPath<'_>,
    errors: &mut Errors,
) -> (Option<UriMatch>, Option<Key<'m>>) {
    match one_of(uri, p, errors) {
        Some(Pattern::Exact(v)) => {
            check_len(v, &field(p, "exact"), errors);
            (
                Some(UriMatch::Exact {
                    value: v.into(),
                    ignore_case,
                }),
                Some(Key::Exact {
                    value: v,
                    ignore_case,
                }),
            )
        }
        Some(Pattern::Prefix(v)) => {
            check_len(v, &field(p, "prefix"), errors);
            (
                Some(UriMatch::Prefix {
                    value: v.into(),
                    ignore_case,
                }),
                Some(Key::Prefix {
                    value: v,
                    ignore_case,
                }),
            )
        }
        Some(Pattern::Regex(v)) => {
            // `ignoreUriCase` does not apply to regex (Envoy ignores
            // case_sensitive for safe_regex path matches).
            (
                regex(v, &field(p, "regex"), errors).map(UriMatch::Regex),
                None,
            )
        }
        Some(Pattern::Present) => {
            errors.push(p, PolicyErrorKind::EmptyUriMatch);
            (None, None)
        }
        None => (None, None),
    }
}

// === impl UriMatch ===

impl UriMatch {
    pub(crate) fn eval(&self, view: &View<'_, '_>) -> Option<Matched> {
        match self {
            UriMatch::Exact { value, ignore_case } => {
                let hit = if *ignore_case {
                    view.path_only.eq_ignore_ascii_case(value)
                } else {
                    view.path_only == &**value
                };
                hit.then_some(Matched::Whole)
            }
            UriMatch::Prefix { value, ignore_case } => {
                starts_with(view.path_only, value, *ignore_case)
                    .then_some(Matched::Prefix(value.len()))
            }
            UriMatch::Regex(r) => r
                .is_match(view.path_only.as_bytes())
                .then_some(Matched::Whole),
        }
    }

    pub(crate) fn describe(&self) -> String {
        let case = |ic: &bool| if *ic { " (ignoreUriCase)" } else { "" };
        match self {
            UriMatch::Exact { value, ignore_case } => {
                format!("uri.exact `{value}`{}", case(ignore_case))
            }
            UriMatch::Prefix { value, ignore_case } => {
                format!("uri.prefix `{value}`{}", case(ignore_case))
            }
            UriMatch::Regex(r) => format!("uri.regex `{}`", unanchor(r.as_str())),
        }
    }
}

/// Why `uri` did not match the request's path.
pub(super) fn explain_miss(uri: Option<&UriMatch>, view: &View<'_, '_>) -> String {
    let uri = uri.map(UriMatch::describe).unwrap_or_default();
    format!("{uri} does not match path `{}`", view.path)
}
