//! `match[].scheme`, `match[].method`, `match[].authority` (SPEC §2.2):
//! value matchers on the pseudo-headers `:scheme`, `:method` and the raw
//! `:authority` (port included); compiled, evaluated, explained on a miss.

use crate::error::{Errors, LazyPath};
use crate::model::StringMatch;
use crate::request::Request;

use super::value::{ValueMatch, shown, value_match};

/// Compile one of `scheme`, `method`, `authority` at `path`.
pub(super) fn compile(
    sm: Option<&StringMatch>,
    path: &LazyPath<'_>,
    errors: &mut Errors,
) -> Option<ValueMatch> {
    value_match(sm, path, errors)
}

/// Whether the first value of pseudo-header `name` matches (an unset
/// condition always holds).
pub(super) fn eval(m: Option<&ValueMatch>, req: &Request<'_>, name: &str) -> bool {
    match m {
        Some(m) => matches!(req.first_header(name), Some(v) if m.matches(v)),
        None => true,
    }
}

/// Why `what` (`scheme`, `method`, `authority`) did not match `name`.
pub(super) fn explain_miss(
    what: &str,
    m: Option<&ValueMatch>,
    req: &Request<'_>,
    name: &str,
) -> String {
    format!(
        "{what} {} does not match {}",
        m.map(ValueMatch::describe).unwrap_or_default(),
        shown(req.first_header(name))
    )
}
