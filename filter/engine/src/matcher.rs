//! Compiled match entries and their evaluation (SPEC §2.1, Istio/Envoy
//! semantics). Evaluation never allocates except for a regex on a header
//! that arrives several times (values joined with `,` as Envoy's header
//! matcher sees them) and for the request's query parameters, parsed once
//! when a rule first asks for one.

use regex::bytes::Regex;

use std::cell::OnceCell;
use std::collections::BTreeMap;

use crate::request::{Request, first_query_values, query_param, split_query};

/// One request, with `:path` split once.
pub(crate) struct View<'r, 'a> {
    pub(crate) req: &'r Request<'a>,
    /// `:path` as sent.
    pub(crate) path: &'a str,
    /// `:path` without the query string.
    pub(crate) path_only: &'a str,
    /// The query string with its `?` (or empty).
    pub(crate) query: &'a str,
    /// The first value of each query parameter, parsed once per request:
    /// looking one up per rule scanned the whole query each time (a 60 KiB
    /// query through 5,000 query rules ran the filter out of fuel).
    params: OnceCell<BTreeMap<&'a str, &'a str>>,
}

impl<'r, 'a> View<'r, 'a> {
    pub(crate) fn new(req: &'r Request<'a>) -> Self {
        let path = req.path();
        let (path_only, query) = split_query(path);
        Self {
            req,
            path,
            path_only,
            query,
            params: OnceCell::new(),
        }
    }

    /// The first value of query parameter `name` (see [`query_param`]).
    pub(crate) fn query_param(&self, name: &str) -> Option<&'a str> {
        self.params
            .get_or_init(|| first_query_values(self.query))
            .get(name)
            .copied()
    }
}

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
fn unanchor(s: &str) -> &str {
    s.strip_prefix("^(?:")
        .and_then(|s| s.strip_suffix(")$"))
        .unwrap_or(s)
}

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

/// The first condition of an entry that failed, for the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Miss {
    Uri,
    Scheme,
    Method,
    Authority,
    Header(usize),
    WithoutHeader(usize),
    QueryParam(usize),
    Port,
    SourceLabel(usize),
    SourceNamespace,
}

/// One `match[i]` entry: every set condition must hold.
#[derive(Debug, Default)]
pub(crate) struct CompiledMatch {
    pub(crate) uri: Option<UriMatch>,
    pub(crate) scheme: Option<ValueMatch>,
    pub(crate) method: Option<ValueMatch>,
    pub(crate) authority: Option<ValueMatch>,
    /// Lower-case names.
    pub(crate) headers: Vec<(Box<str>, ValueMatch)>,
    pub(crate) without_headers: Vec<(Box<str>, ValueMatch)>,
    pub(crate) query_params: Vec<(Box<str>, ValueMatch)>,
    pub(crate) port: Option<u32>,
    pub(crate) source_labels: Vec<(Box<str>, Box<str>)>,
    pub(crate) source_namespace: Option<Box<str>>,
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

/// The prefix Envoy's route gets when the entry has no `uri`: `/`.
pub(crate) fn implicit_prefix(path: &str) -> Matched {
    Matched::Prefix(usize::from(path.starts_with('/')))
}

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

impl CompiledMatch {
    /// Evaluate the entry; on a miss, say which condition failed first.
    pub(crate) fn eval(&self, view: &View<'_, '_>) -> Result<Matched, Miss> {
        let req = view.req;
        let matched = match &self.uri {
            Some(uri) => uri.eval(view).ok_or(Miss::Uri)?,
            None => implicit_prefix(view.path),
        };
        let pseudo = |m: &Option<ValueMatch>, name: &str, miss: Miss| match m {
            Some(m) => match req.first_header(name) {
                Some(v) if m.matches(v) => Ok(()),
                _ => Err(miss),
            },
            None => Ok(()),
        };
        pseudo(&self.scheme, ":scheme", Miss::Scheme)?;
        pseudo(&self.method, ":method", Miss::Method)?;
        pseudo(&self.authority, ":authority", Miss::Authority)?;
        for (i, (name, m)) in self.headers.iter().enumerate() {
            if m.matches_header(req, name) != Some(true) {
                return Err(Miss::Header(i));
            }
        }
        for (i, (name, m)) in self.without_headers.iter().enumerate() {
            // Istio sets invert_match and treat_missing_header_as_empty; a
            // presence matcher (`{}` or regex `*`) means "header absent".
            let hit = match (m.matches_header(req, name), m) {
                (None, ValueMatch::Present) => false,
                (None, m) => m.matches(""),
                (Some(hit), _) => hit,
            };
            if hit {
                return Err(Miss::WithoutHeader(i));
            }
        }
        for (i, (name, m)) in self.query_params.iter().enumerate() {
            match view.query_param(name) {
                Some(v) if m.matches(v) => {}
                _ => return Err(Miss::QueryParam(i)),
            }
        }
        if let Some(port) = self.port
            && req.port != Some(port)
        {
            return Err(Miss::Port);
        }
        for (i, (k, v)) in self.source_labels.iter().enumerate() {
            if req.source.labels.get(&**k).map(String::as_str) != Some(&**v) {
                return Err(Miss::SourceLabel(i));
            }
        }
        if let Some(ns) = &self.source_namespace
            && req.source.namespace.as_deref() != Some(&**ns)
        {
            return Err(Miss::SourceNamespace);
        }
        Ok(matched)
    }

    /// A one-line reason for a miss, naming the condition and what the request had.
    pub(crate) fn explain_miss(&self, miss: Miss, view: &View<'_, '_>) -> String {
        let req = view.req;
        let shown = |v: Option<&str>| match v {
            Some(v) => format!("`{v}`"),
            None => "nothing".to_owned(),
        };
        let value =
            |m: &Option<ValueMatch>| m.as_ref().map(ValueMatch::describe).unwrap_or_default();
        match miss {
            Miss::Uri => {
                let uri = self
                    .uri
                    .as_ref()
                    .map(UriMatch::describe)
                    .unwrap_or_default();
                format!("{uri} does not match path `{}`", view.path)
            }
            Miss::Scheme => format!(
                "scheme {} does not match {}",
                value(&self.scheme),
                shown(req.first_header(":scheme"))
            ),
            Miss::Method => format!(
                "method {} does not match {}",
                value(&self.method),
                shown(req.first_header(":method"))
            ),
            Miss::Authority => format!(
                "authority {} does not match {}",
                value(&self.authority),
                shown(req.first_header(":authority"))
            ),
            Miss::Header(i) => match self.headers.get(i) {
                Some((name, m)) => format!(
                    "header `{name}` {} does not match {}",
                    m.describe(),
                    shown(req.header(name).as_deref())
                ),
                None => "header".to_owned(),
            },
            Miss::WithoutHeader(i) => match self.without_headers.get(i) {
                Some((name, m)) => format!(
                    "withoutHeaders `{name}` {} matches {}",
                    m.describe(),
                    shown(req.header(name).as_deref())
                ),
                None => "withoutHeaders".to_owned(),
            },
            Miss::QueryParam(i) => match self.query_params.get(i) {
                Some((name, m)) => format!(
                    "query parameter `{name}` {} does not match {}",
                    m.describe(),
                    shown(query_param(view.query, name))
                ),
                None => "queryParams".to_owned(),
            },
            Miss::Port => format!(
                "port {} does not match {}",
                self.port.unwrap_or_default(),
                req.port
                    .map_or_else(|| "nothing".to_owned(), |p| p.to_string())
            ),
            Miss::SourceLabel(i) => match self.source_labels.get(i) {
                Some((k, v)) => format!(
                    "sourceLabels `{k}={v}` does not match {}",
                    shown(req.source.labels.get(&**k).map(String::as_str))
                ),
                None => "sourceLabels".to_owned(),
            },
            Miss::SourceNamespace => format!(
                "sourceNamespace `{}` does not match {}",
                self.source_namespace.as_deref().unwrap_or_default(),
                shown(req.source.namespace.as_deref())
            ),
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
