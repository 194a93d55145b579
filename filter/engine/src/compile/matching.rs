//! Validate and compile `match` entries.

use crate::error::{Errors, FieldPath, PolicyErrorKind, field, item, key};
use crate::index::Key;
use crate::limits::{MAX_MATCHES_PER_RULE, MAX_PATTERN_BYTES};
use crate::matcher::{CompiledMatch, UriMatch, ValueMatch};
use crate::model::{MatchRequest, StringMatch};
use crate::regex::{Anchoring, compile_regex};

use super::{check_header_name, is_dns1123_label};

/// Compile `match` of one rule; returns the entries and, when every entry
/// has an exact or prefix `uri`, the index keys.
pub(super) fn compile_matches<'m>(
    entries: &'m [MatchRequest],
    path: &FieldPath,
    errors: &mut Errors,
) -> (Vec<CompiledMatch>, Option<Vec<Key<'m>>>) {
    if entries.len() > MAX_MATCHES_PER_RULE {
        errors.push(
            path,
            PolicyErrorKind::TooManyMatches {
                count: entries.len(),
                limit: MAX_MATCHES_PER_RULE,
            },
        );
    }
    let mut out = Vec::with_capacity(entries.len());
    let mut keys = Some(Vec::with_capacity(entries.len()));
    for (j, m) in entries.iter().enumerate() {
        let p = item(path, j);
        let (compiled, k) = compile_entry(m, &p, errors);
        out.push(compiled);
        match (k, keys.as_mut()) {
            (Some(k), Some(list)) => list.push(k),
            _ => keys = None,
        }
    }
    (out, keys)
}

fn is_empty(m: &MatchRequest) -> bool {
    m.uri.is_none()
        && m.scheme.is_none()
        && m.method.is_none()
        && m.authority.is_none()
        && m.headers.is_empty()
        && m.without_headers.is_empty()
        && m.query_params.is_empty()
        && m.port.is_none()
        && m.source_labels.is_empty()
        && m.source_namespace.is_none()
}

fn compile_entry<'m>(
    m: &'m MatchRequest,
    path: &FieldPath,
    errors: &mut Errors,
) -> (CompiledMatch, Option<Key<'m>>) {
    let mut c = CompiledMatch::default();
    if is_empty(m) {
        errors.push(path, PolicyErrorKind::EmptyMatch);
    }
    let ignore_case = m.ignore_uri_case.unwrap_or(false);
    let mut index_key = None;
    if let Some(uri) = &m.uri {
        let p = field(path, "uri");
        match one_of(uri, &p, errors) {
            Some(Pattern::Exact(v)) => {
                check_len(v, &field(&p, "exact"), errors);
                index_key = Some(Key::Exact {
                    value: v,
                    ignore_case,
                });
                c.uri = Some(UriMatch::Exact {
                    value: v.into(),
                    ignore_case,
                });
            }
            Some(Pattern::Prefix(v)) => {
                check_len(v, &field(&p, "prefix"), errors);
                index_key = Some(Key::Prefix {
                    value: v,
                    ignore_case,
                });
                c.uri = Some(UriMatch::Prefix {
                    value: v.into(),
                    ignore_case,
                });
            }
            Some(Pattern::Regex(v)) => {
                // `ignoreUriCase` does not apply to regex (Envoy ignores
                // case_sensitive for safe_regex path matches).
                if let Some(r) = regex(v, &field(&p, "regex"), errors) {
                    c.uri = Some(UriMatch::Regex(r));
                }
            }
            Some(Pattern::Present) => errors.push(&p, PolicyErrorKind::EmptyUriMatch),
            None => {}
        }
    }
    c.scheme = value_match(m.scheme.as_ref(), &field(path, "scheme"), errors);
    c.method = value_match(m.method.as_ref(), &field(path, "method"), errors);
    c.authority = value_match(m.authority.as_ref(), &field(path, "authority"), errors);
    c.headers = header_matches(&m.headers, &field(path, "headers"), false, errors);
    c.without_headers = header_matches(
        &m.without_headers,
        &field(path, "withoutHeaders"),
        true,
        errors,
    );
    let qp = field(path, "queryParams");
    for (name, sm) in &m.query_params {
        let p = key(&qp, name);
        if name.is_empty() {
            errors.push(&p, PolicyErrorKind::EmptyQueryParamName);
        }
        if let Some(vm) = value_match(Some(sm), &p, errors) {
            c.query_params.push((name.as_str().into(), vm));
        }
    }
    if let Some(port) = m.port {
        if !(1..=65535).contains(&port) {
            errors.push(
                &field(path, "port"),
                PolicyErrorKind::PortOutOfRange { port },
            );
        }
        c.port = Some(port);
    }
    let sl = field(path, "sourceLabels");
    for (k, v) in &m.source_labels {
        if k.is_empty() {
            errors.push(&key(&sl, k), PolicyErrorKind::EmptyLabelKey);
        }
        c.source_labels.push((k.as_str().into(), v.as_str().into()));
    }
    if let Some(ns) = &m.source_namespace {
        if !is_dns1123_label(ns) {
            errors.push(
                &field(path, "sourceNamespace"),
                PolicyErrorKind::InvalidSourceNamespace {
                    namespace: ns.clone(),
                },
            );
        }
        c.source_namespace = Some(ns.as_str().into());
    }
    (c, index_key)
}

pub(super) enum Pattern<'a> {
    Present,
    Exact(&'a str),
    Prefix(&'a str),
    Regex(&'a str),
}

/// At most one of exact/prefix/regex; none = present.
pub(super) fn one_of<'a>(
    sm: &'a StringMatch,
    path: &FieldPath,
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

fn value_match(
    sm: Option<&StringMatch>,
    path: &FieldPath,
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

fn header_matches(
    map: &std::collections::BTreeMap<String, StringMatch>,
    path: &FieldPath,
    without: bool,
    errors: &mut Errors,
) -> Vec<(Box<str>, ValueMatch)> {
    let mut out = Vec::with_capacity(map.len());
    for (name, sm) in map {
        let p = key(path, name);
        check_header_name(name, &p, errors);
        // Istio: in withoutHeaders, regex `*` is not RE2; it means "present".
        let presence_star = without
            && sm.regex.as_deref() == Some("*")
            && sm.exact.is_none()
            && sm.prefix.is_none();
        let vm = if presence_star {
            Some(ValueMatch::Present)
        } else {
            value_match(Some(sm), &p, errors)
        };
        if let Some(vm) = vm {
            out.push((name.to_ascii_lowercase().into_boxed_str(), vm));
        }
    }
    out
}

pub(super) fn check_len(v: &str, path: &FieldPath, errors: &mut Errors) {
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
fn regex(pattern: &str, path: &FieldPath, errors: &mut Errors) -> Option<regex::bytes::Regex> {
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
