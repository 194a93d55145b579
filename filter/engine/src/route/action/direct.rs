//! `directResponse` (SPEC §2.3): compiled (status in 200..=599, body within
//! `MAX_BODY_BYTES`) and answered by the filter as a local response.

use std::sync::Arc;

use crate::decide::Notes;
use crate::decision::{Decision, LocalResponse};
use crate::error::lazy::field;
use crate::error::{Errors, LazyPath, PolicyErrorKind};
use crate::limits::MAX_BODY_BYTES;
use crate::model;

/// Compile `directResponse` at `path`: (status, body).
pub(crate) fn compile(
    d: &model::DirectResponse,
    path: &LazyPath<'_>,
    errors: &mut Errors,
) -> (u32, Arc<str>) {
    http_status(d.status, &field(path, "status"), errors);
    let body = d
        .body
        .as_ref()
        .and_then(|b| b.string.as_deref())
        .unwrap_or("");
    if body.len() >= MAX_BODY_BYTES {
        errors.push(
            &field(&field(path, "body"), "string"),
            PolicyErrorKind::BodyTooLarge,
        );
    }
    (d.status, Arc::from(body))
}

/// A status the filter may answer with (also `fault.abort.httpStatus`).
pub(crate) fn http_status(status: u32, path: &LazyPath<'_>, errors: &mut Errors) {
    if !(200..=599).contains(&status) {
        errors.push(path, PolicyErrorKind::InvalidHttpStatus { status });
    }
}

/// Answer the request with `status` and `body`.
pub(crate) fn act(status: u32, body: &str, d: &mut Decision, note: &mut Notes<'_>) {
    note.add(|| format!("directResponse: status {status}"));
    d.local_response = Some(local(status, body));
}

/// A local response as Envoy builds it: a `text/plain` body when there is one.
pub(crate) fn local(status: u32, body: &str) -> LocalResponse {
    let headers = if body.is_empty() {
        Vec::new()
    } else {
        vec![("content-type".to_owned(), "text/plain".to_owned())]
    };
    LocalResponse {
        status,
        headers,
        body: body.to_owned(),
    }
}
