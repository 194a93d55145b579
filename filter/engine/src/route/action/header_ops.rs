//! `headers.request` / `headers.response` (`set`, `add`, `remove`) at rule
//! and destination level (SPEC §2.3): compiled into ordered `HeaderOp`s,
//! which the decision carries (`Decision::apply` performs them).

use std::sync::Arc;

use crate::compile::check_header_name;
use crate::decision::HeaderOp;
use crate::error::lazy::{field, item, key};
use crate::error::{Errors, LazyPath, PolicyErrorKind};
use crate::http_syntax;
use crate::limits::MAX_HEADER_VALUE_BYTES;
use crate::model::{HeaderOperations, Headers};

/// Header edits of one level, in Envoy's order: removes, then sets, then adds
/// (envoy source/common/router/header_parser.cc `HeaderParser::evaluateHeaders`).
pub(crate) struct Ops {
    pub(crate) request: Vec<HeaderOp>,
    pub(crate) response: Vec<HeaderOp>,
}

/// Compile `headers` at `path`; `decision_header` may not be edited.
pub(crate) fn compile(
    h: Option<&Headers>,
    path: &LazyPath<'_>,
    decision_header: &str,
    errors: &mut Errors,
) -> Ops {
    let mut ops = Ops {
        request: Vec::new(),
        response: Vec::new(),
    };
    if let Some(h) = h {
        if let Some(req) = &h.request {
            ops.request = operations(req, &field(path, "request"), decision_header, errors);
        }
        if let Some(resp) = &h.response {
            ops.response = operations(resp, &field(path, "response"), "", errors);
        }
    }
    ops
}

fn operations(
    o: &HeaderOperations,
    path: &LazyPath<'_>,
    decision_header: &str,
    errors: &mut Errors,
) -> Vec<HeaderOp> {
    let mut out = Vec::with_capacity(o.remove.len() + o.set.len() + o.add.len());
    let name_ok = |name: &str, p: &LazyPath<'_>, errors: &mut Errors| -> bool {
        let before = errors.list.len();
        check_header_name(name, p, errors);
        if name.starts_with(':') || name.eq_ignore_ascii_case("host") {
            errors.push(
                p,
                PolicyErrorKind::PseudoHeaderEdit {
                    name: name.to_owned(),
                },
            );
        } else if !decision_header.is_empty() && name.eq_ignore_ascii_case(decision_header) {
            errors.push(
                p,
                PolicyErrorKind::DecisionHeaderEdit {
                    name: name.to_owned(),
                },
            );
        }
        errors.list.len() == before
    };
    let remove = field(path, "remove");
    for (i, name) in o.remove.iter().enumerate() {
        if name_ok(name, &item(&remove, i), errors) {
            out.push(HeaderOp::Remove { name: lower(name) });
        }
    }
    for (verb, map) in [("set", &o.set), ("add", &o.add)] {
        let base = field(path, verb);
        for (name, value) in map {
            let p = key(&base, name);
            let ok = name_ok(name, &p, errors) & header_value_ok(value, &p, errors);
            if ok {
                let (name, value) = (lower(name), Arc::from(value.as_str()));
                out.push(if verb == "set" {
                    HeaderOp::Set { name, value }
                } else {
                    HeaderOp::Add { name, value }
                });
            }
        }
    }
    out
}

fn lower(name: &str) -> Arc<str> {
    Arc::from(name.to_ascii_lowercase())
}

pub(super) fn header_value_ok(value: &str, path: &LazyPath<'_>, errors: &mut Errors) -> bool {
    if value.len() > MAX_HEADER_VALUE_BYTES {
        errors.push(
            path,
            PolicyErrorKind::HeaderValueTooLong {
                len: value.len(),
                limit: MAX_HEADER_VALUE_BYTES,
            },
        );
        return false;
    }
    if let Some(e) = http_syntax::header_value_error(value) {
        errors.push(path, PolicyErrorKind::InvalidHeaderValue { error: e });
        return false;
    }
    true
}
