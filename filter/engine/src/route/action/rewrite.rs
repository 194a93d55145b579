//! `rewrite` (SPEC §2.3): `rewrite.uri` and `rewrite.uriRegexRewrite`, with
//! the guarantee that a rewritten `:path` is valid, and `rewrite.authority`
//! (the Host sent upstream, applied by the rendered route). Compiled with
//! Istio's checks, applied to the decision, explained.

use std::sync::Arc;

use regex::bytes::Regex;

use crate::decide::Notes;
use crate::decision::Decision;
use crate::error::lazy::field;
use crate::error::{Errors, LazyPath, PolicyErrorKind};
use crate::http_syntax;
use crate::model;
use crate::regex::{Anchoring, compile_regex};
use crate::request::split_query;
use crate::route::r#match::{Matched, check_len};
use crate::route::view::View;

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

/// `rewrite`: (path rewrite, authority).
pub(crate) fn compile(
    r: &model::Rewrite,
    path: &LazyPath<'_>,
    errors: &mut Errors,
) -> (Option<PathRewrite>, Option<Arc<str>>) {
    if r.uri.is_some() && r.uri_regex_rewrite.is_some() {
        errors.push(path, PolicyErrorKind::BothUriRewrites);
        return (None, None);
    }
    if r.uri.is_none() && r.uri_regex_rewrite.is_none() && r.authority.is_none() {
        errors.push(path, PolicyErrorKind::EmptyRewrite);
        return (None, None);
    }
    let mut out = None;
    if let Some(uri) = &r.uri {
        let p = field(path, "uri");
        check_len(uri, &p, errors);
        if let Some(e) = http_syntax::path_error("rewrite uri", uri).filter(|_| !uri.is_empty()) {
            errors.push(&p, PolicyErrorKind::InvalidPath { error: e });
        }
        out = Some(PathRewrite::Uri(uri.as_str().into()));
    }
    if let Some(rr) = &r.uri_regex_rewrite {
        let p = field(path, "uriRegexRewrite");
        if rr.match_.is_empty() || rr.rewrite.is_empty() {
            errors.push(&p, PolicyErrorKind::IncompleteRegexRewrite);
        } else {
            check_len(&rr.match_, &field(&p, "match"), errors);
            let compiled = compile_regex(&rr.match_, Anchoring::Search)
                .map_err(|e| {
                    errors.push(
                        &field(&p, "match"),
                        PolicyErrorKind::InvalidRegex {
                            pattern: rr.match_.clone(),
                            reason: e,
                        },
                    )
                })
                .ok();
            if let Some(e) = http_syntax::rewrite_literal_error(&rr.rewrite) {
                errors.push(
                    &field(&p, "rewrite"),
                    PolicyErrorKind::InvalidPath { error: e },
                );
            }
            let replacement = convert_replacement(&rr.rewrite)
                .map_err(|e| {
                    errors.push(
                        &field(&p, "rewrite"),
                        PolicyErrorKind::InvalidReplacement { error: e },
                    )
                })
                .ok();
            if let (Some(regex), Some((replacement, max_group))) = (compiled, replacement) {
                let groups = regex.captures_len().saturating_sub(1);
                if max_group > groups {
                    errors.push(
                        &field(&p, "rewrite"),
                        PolicyErrorKind::MissingRegexGroup {
                            group: max_group,
                            groups,
                        },
                    );
                } else {
                    out = Some(PathRewrite::Regex {
                        regex,
                        replacement: replacement.into(),
                    });
                }
            }
        }
    }
    let authority = r
        .authority
        .as_deref()
        .and_then(|a| match http_syntax::authority_error(a) {
            Some(e) => {
                errors.push(
                    &field(path, "authority"),
                    PolicyErrorKind::InvalidAuthority { error: e },
                );
                None
            }
            None => Some(Arc::from(a)),
        });
    (out, authority)
}

/// Apply the rule's `rewrite` to a routed decision: the path first, then
/// the authority. `false` when the rewritten path was refused: `d` is then
/// Envoy's local `400` and nothing else applies.
pub(crate) fn act(
    path: Option<&PathRewrite>,
    authority: Option<&Arc<str>>,
    view: &View<'_, '_>,
    matched: Matched,
    d: &mut Decision,
    note: &mut Notes<'_>,
    unknown: &Arc<str>,
) -> bool {
    if let Some(rw) = path {
        match rewrite_path(rw, view.path, matched) {
            Ok(p) => {
                note.add(|| format!("rewrite path `{}` to `{p}`", view.path));
                d.path = Some(p);
            }
            Err(why) => {
                note.add(|| format!("rewrite refused, answered 400: {why}"));
                http_syntax::refuse_rewrite(d, why, unknown);
                return false;
            }
        }
    }
    if let Some(a) = authority {
        note.add(|| {
            format!("authority `{a}` sent upstream (the rendered route of the key rewrites it)")
        });
        d.authority = Some(a.clone());
    }
    true
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
    // The common case in one word-at-a-time scan; a path it does not pass
    // gets `http_syntax`'s answer and message.
    if path.starts_with('/') && crate::request::bytes::all_path_bytes(path.as_bytes()) {
        return Ok(());
    }
    http_syntax::path_error("rewritten path", path).map_or(Ok(()), |e| Err(e.to_string()))
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
