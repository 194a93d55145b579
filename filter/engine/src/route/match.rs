//! `match`: one compiled `match[i]` entry, every set condition of which
//! must hold (SPEC §2.2, Istio/Envoy semantics). This file is the
//! orchestrator: the order conditions are compiled, evaluated and explained
//! in; each Istio field has its own file beside it with its compile, its
//! evaluation and its explain-a-miss text.
//!
//! Evaluation never allocates except for a regex on a header that arrives
//! several times (values joined with `,` as Envoy's header matcher sees
//! them) and for the request's query parameters, parsed once when a rule
//! first asks for one.

mod headers;
mod port;
mod pseudo;
mod query;
mod source;
mod uri;
mod value;

pub(crate) use uri::{Matched, UriMatch, implicit_prefix};
pub(crate) use value::{ValueMatch, check_len};

use crate::error::lazy::{field, item};
use crate::error::{Errors, LazyPath, PolicyErrorKind};
use crate::index::Key;
use crate::limits::MAX_MATCHES_PER_RULE;
use crate::model::MatchRequest;
use crate::route::view::View;

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

// === compile ===

/// Compile `match` of one rule; returns the entries and, when every entry
/// has an exact or prefix `uri`, the index keys.
pub(crate) fn compile_matches<'m>(
    entries: &'m [MatchRequest],
    path: &LazyPath<'_>,
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
    path: &LazyPath<'_>,
    errors: &mut Errors,
) -> (CompiledMatch, Option<Key<'m>>) {
    if is_empty(m) {
        errors.push(path, PolicyErrorKind::EmptyMatch);
    }
    let ignore_case = m.ignore_uri_case.unwrap_or(false);
    let (uri, index_key) = match &m.uri {
        Some(sm) => uri::compile(sm, ignore_case, &field(path, "uri"), errors),
        None => (None, None),
    };
    let c = CompiledMatch {
        uri,
        scheme: pseudo::compile(m.scheme.as_ref(), &field(path, "scheme"), errors),
        method: pseudo::compile(m.method.as_ref(), &field(path, "method"), errors),
        authority: pseudo::compile(m.authority.as_ref(), &field(path, "authority"), errors),
        headers: headers::compile(&m.headers, &field(path, "headers"), false, errors),
        without_headers: headers::compile(
            &m.without_headers,
            &field(path, "withoutHeaders"),
            true,
            errors,
        ),
        query_params: query::compile(&m.query_params, &field(path, "queryParams"), errors),
        port: port::compile(m.port, &field(path, "port"), errors),
        source_labels: source::compile_labels(
            &m.source_labels,
            &field(path, "sourceLabels"),
            errors,
        ),
        source_namespace: source::compile_namespace(
            m.source_namespace.as_ref(),
            &field(path, "sourceNamespace"),
            errors,
        ),
    };
    (c, index_key)
}

// === impl CompiledMatch ===

impl CompiledMatch {
    /// Evaluate the entry; on a miss, say which condition failed first.
    pub(crate) fn eval(&self, view: &View<'_, '_>) -> Result<Matched, Miss> {
        let req = view.req;
        let matched = match &self.uri {
            Some(uri) => uri.eval(view).ok_or(Miss::Uri)?,
            None => implicit_prefix(view.path),
        };
        let pseudo = |m: &Option<ValueMatch>, name: &str, miss: Miss| {
            if pseudo::eval(m.as_ref(), req, name) {
                Ok(())
            } else {
                Err(miss)
            }
        };
        pseudo(&self.scheme, ":scheme", Miss::Scheme)?;
        pseudo(&self.method, ":method", Miss::Method)?;
        pseudo(&self.authority, ":authority", Miss::Authority)?;
        headers::eval(&self.headers, req)?;
        headers::eval_without(&self.without_headers, req)?;
        query::eval(&self.query_params, view)?;
        if !port::eval(self.port, req) {
            return Err(Miss::Port);
        }
        source::eval_labels(&self.source_labels, req)?;
        if !source::eval_namespace(self.source_namespace.as_deref(), req) {
            return Err(Miss::SourceNamespace);
        }
        Ok(matched)
    }

    /// A one-line reason for a miss, naming the condition and what the request had.
    pub(crate) fn explain_miss(&self, miss: Miss, view: &View<'_, '_>) -> String {
        let req = view.req;
        match miss {
            Miss::Uri => uri::explain_miss(self.uri.as_ref(), view),
            Miss::Scheme => pseudo::explain_miss("scheme", self.scheme.as_ref(), req, ":scheme"),
            Miss::Method => pseudo::explain_miss("method", self.method.as_ref(), req, ":method"),
            Miss::Authority => {
                pseudo::explain_miss("authority", self.authority.as_ref(), req, ":authority")
            }
            Miss::Header(i) => headers::explain_miss(&self.headers, i, req),
            Miss::WithoutHeader(i) => headers::explain_without(&self.without_headers, i, req),
            Miss::QueryParam(i) => query::explain_miss(&self.query_params, i, view),
            Miss::Port => port::explain_miss(self.port, req),
            Miss::SourceLabel(i) => source::explain_label(&self.source_labels, i, req),
            Miss::SourceNamespace => {
                source::explain_namespace(self.source_namespace.as_deref(), req)
            }
        }
    }
}
