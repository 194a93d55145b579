//! `match[].port` (SPEC §2.2): the destination port of the request (the
//! port rule itself is `crate::port`). Compiled, evaluated, explained.

use crate::error::{Errors, LazyPath, PolicyErrorKind};
use crate::request::Request;

/// Check `port` at `path` (1..=65535); kept even when out of range (the
/// error refuses the policy).
pub(super) fn compile(port: Option<u32>, path: &LazyPath<'_>, errors: &mut Errors) -> Option<u32> {
    let port = port?;
    if !(1..=65535).contains(&port) {
        errors.push(path, PolicyErrorKind::PortOutOfRange { port });
    }
    Some(port)
}

/// Whether the request's port is `port` (an unset condition always holds).
pub(super) fn eval(port: Option<u32>, req: &Request<'_>) -> bool {
    port.is_none_or(|port| req.port == Some(port))
}

/// Why `port` did not match.
pub(super) fn explain_miss(port: Option<u32>, req: &Request<'_>) -> String {
    format!(
        "port {} does not match {}",
        port.unwrap_or_default(),
        req.port
            .map_or_else(|| "nothing".to_owned(), |p| p.to_string())
    )
}
