//! `match[].headers` and `match[].withoutHeaders` (SPEC §2.2): names
//! case-insensitive, several values joined with `,`; `withoutHeaders`
//! inverts and treats a missing header as empty. Compiled, evaluated,
//! explained on a miss.

use std::collections::BTreeMap;

use crate::compile::check_header_name;
use crate::error::lazy::key;
use crate::error::{Errors, LazyPath};
use crate::model::StringMatch;
use crate::request::Request;

use super::Miss;
use super::value::{ValueMatch, shown, value_match};

/// Compile `headers` (or, with `without`, `withoutHeaders`) at `path`:
/// lower-case names with their matchers.
pub(super) fn compile(
    map: &BTreeMap<String, StringMatch>,
    path: &LazyPath<'_>,
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

/// `headers`: every one must be present and match.
pub(super) fn eval(list: &[(Box<str>, ValueMatch)], req: &Request<'_>) -> Result<(), Miss> {
    for (i, (name, m)) in list.iter().enumerate() {
        if m.matches_header(req, name) != Some(true) {
            return Err(Miss::Header(i));
        }
    }
    Ok(())
}

/// `withoutHeaders`: none may match.
pub(super) fn eval_without(list: &[(Box<str>, ValueMatch)], req: &Request<'_>) -> Result<(), Miss> {
    for (i, (name, m)) in list.iter().enumerate() {
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
    Ok(())
}

/// Why `headers[i]` did not match.
pub(super) fn explain_miss(list: &[(Box<str>, ValueMatch)], i: usize, req: &Request<'_>) -> String {
    match list.get(i) {
        Some((name, m)) => format!(
            "header `{name}` {} does not match {}",
            m.describe(),
            shown(req.header(name).as_deref())
        ),
        None => "header".to_owned(),
    }
}

/// Why `withoutHeaders[i]` refused the request.
pub(super) fn explain_without(
    list: &[(Box<str>, ValueMatch)],
    i: usize,
    req: &Request<'_>,
) -> String {
    match list.get(i) {
        Some((name, m)) => format!(
            "withoutHeaders `{name}` {} matches {}",
            m.describe(),
            shown(req.header(name).as_deref())
        ),
        None => "withoutHeaders".to_owned(),
    }
}
