//! `match[].queryParams` (SPEC §2.2): a repeated parameter uses its first
//! value, undecoded. Compiled, evaluated, explained on a miss.

use std::collections::BTreeMap;

use crate::error::lazy::key;
use crate::error::{Errors, LazyPath, PolicyErrorKind};
use crate::model::StringMatch;
use crate::request::query_param;
use crate::route::view::View;

use super::Miss;
use super::value::{ValueMatch, shown, value_match};

/// Compile `queryParams` at `path`.
pub(super) fn compile(
    map: &BTreeMap<String, StringMatch>,
    path: &LazyPath<'_>,
    errors: &mut Errors,
) -> Vec<(Box<str>, ValueMatch)> {
    let mut out = Vec::new();
    for (name, sm) in map {
        let p = key(path, name);
        if name.is_empty() {
            errors.push(&p, PolicyErrorKind::EmptyQueryParamName);
        }
        if let Some(vm) = value_match(Some(sm), &p, errors) {
            out.push((name.as_str().into(), vm));
        }
    }
    out
}

/// Every parameter must be present and its first value match.
pub(super) fn eval(list: &[(Box<str>, ValueMatch)], view: &View<'_, '_>) -> Result<(), Miss> {
    for (i, (name, m)) in list.iter().enumerate() {
        match view.query_param(name) {
            Some(v) if m.matches(v) => {}
            _ => return Err(Miss::QueryParam(i)),
        }
    }
    Ok(())
}

/// Why `queryParams[i]` did not match.
pub(super) fn explain_miss(
    list: &[(Box<str>, ValueMatch)],
    i: usize,
    view: &View<'_, '_>,
) -> String {
    match list.get(i) {
        Some((name, m)) => format!(
            "query parameter `{name}` {} does not match {}",
            m.describe(),
            shown(query_param(view.query, name))
        ),
        None => "queryParams".to_owned(),
    }
}
