//! `match[].sourceLabels` and `match[].sourceNamespace` (SPEC §2.2): the
//! calling workload, from the proxy's node metadata. Compiled, evaluated,
//! explained on a miss.

use std::collections::BTreeMap;

use crate::compile::is_dns1123_label;
use crate::error::lazy::key;
use crate::error::{Errors, LazyPath, PolicyErrorKind};
use crate::request::Request;

use super::Miss;
use super::value::shown;

/// Compile `sourceLabels` at `path`.
pub(super) fn compile_labels(
    labels: &BTreeMap<String, String>,
    path: &LazyPath<'_>,
    errors: &mut Errors,
) -> Vec<(Box<str>, Box<str>)> {
    let mut out = Vec::new();
    for (k, v) in labels {
        if k.is_empty() {
            errors.push(&key(path, k), PolicyErrorKind::EmptyLabelKey);
        }
        out.push((k.as_str().into(), v.as_str().into()));
    }
    out
}

/// Compile `sourceNamespace` at `path`.
pub(super) fn compile_namespace(
    ns: Option<&String>,
    path: &LazyPath<'_>,
    errors: &mut Errors,
) -> Option<Box<str>> {
    let ns = ns?;
    if !is_dns1123_label(ns) {
        errors.push(
            path,
            PolicyErrorKind::InvalidSourceNamespace {
                namespace: ns.clone(),
            },
        );
    }
    Some(ns.as_str().into())
}

/// Every label must equal the source's.
pub(super) fn eval_labels(labels: &[(Box<str>, Box<str>)], req: &Request<'_>) -> Result<(), Miss> {
    for (i, (k, v)) in labels.iter().enumerate() {
        if req.source.labels.get(&**k).map(String::as_str) != Some(&**v) {
            return Err(Miss::SourceLabel(i));
        }
    }
    Ok(())
}

/// Whether the source's namespace is `ns` (an unset condition always holds).
pub(super) fn eval_namespace(ns: Option<&str>, req: &Request<'_>) -> bool {
    ns.is_none_or(|ns| req.source.namespace.as_deref() == Some(ns))
}

/// Why `sourceLabels[i]` did not match.
pub(super) fn explain_label(
    labels: &[(Box<str>, Box<str>)],
    i: usize,
    req: &Request<'_>,
) -> String {
    match labels.get(i) {
        Some((k, v)) => format!(
            "sourceLabels `{k}={v}` does not match {}",
            shown(req.source.labels.get(&**k).map(String::as_str))
        ),
        None => "sourceLabels".to_owned(),
    }
}

/// Why `sourceNamespace` did not match.
pub(super) fn explain_namespace(ns: Option<&str>, req: &Request<'_>) -> String {
    format!(
        "sourceNamespace `{}` does not match {}",
        ns.unwrap_or_default(),
        shown(req.source.namespace.as_deref())
    )
}
