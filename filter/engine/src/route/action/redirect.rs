//! `redirect` (SPEC §2.3): compiled (Istio's checks: a target, a 3xx
//! code, an http/https scheme, a valid path and authority) and answered by
//! the filter with the `location` Envoy builds (default 301, query kept
//! unless the new path has its own, ports as Envoy).

use crate::decide::Notes;
use crate::decision::{Decision, LocalResponse};
use crate::error::lazy::field;
use crate::error::{Errors, LazyPath, PolicyErrorKind};
use crate::http_syntax;
use crate::model;
use crate::route::view::View;

/// A compiled `redirect`.
#[derive(Debug)]
pub(crate) struct RedirectAction {
    pub(crate) code: u32,
    pub(crate) uri: Option<Box<str>>,
    pub(crate) authority: Option<Box<str>>,
    pub(crate) scheme: Option<Box<str>>,
    pub(crate) port: Option<u32>,
}

/// Compile `redirect` at `path`.
pub(crate) fn compile(
    r: &model::Redirect,
    path: &LazyPath<'_>,
    errors: &mut Errors,
) -> RedirectAction {
    if r.uri.is_none() && r.authority.is_none() && r.port.is_none() && r.scheme.is_none() {
        errors.push(path, PolicyErrorKind::EmptyRedirect);
    }
    let code = r.redirect_code.unwrap_or(301);
    if ![301, 302, 303, 307, 308].contains(&code) {
        errors.push(
            &field(path, "redirectCode"),
            PolicyErrorKind::InvalidRedirectCode { code },
        );
    }
    if let Some(s) = &r.scheme
        && s != "http"
        && s != "https"
    {
        errors.push(
            &field(path, "scheme"),
            PolicyErrorKind::InvalidRedirectScheme,
        );
    }
    if let Some(p) = r.port
        && !(1..=65535).contains(&p)
    {
        errors.push(
            &field(path, "port"),
            PolicyErrorKind::PortOutOfRange { port: p },
        );
    }
    if let Some(e) = r
        .uri
        .as_deref()
        .and_then(|u| http_syntax::redirect_path_error("redirect uri", u))
    {
        errors.push(
            &field(path, "uri"),
            PolicyErrorKind::InvalidPath { error: e },
        );
    }
    if let Some(e) = r
        .authority
        .as_deref()
        .and_then(http_syntax::authority_error)
    {
        errors.push(
            &field(path, "authority"),
            PolicyErrorKind::InvalidAuthority { error: e },
        );
    }
    RedirectAction {
        code,
        uri: r.uri.as_deref().map(Into::into),
        authority: r.authority.as_deref().map(Into::into),
        scheme: r.scheme.as_deref().map(Into::into),
        port: r.port,
    }
}

// === impl RedirectAction ===

impl RedirectAction {
    /// Answer the request with the redirect.
    pub(crate) fn act(&self, view: &View<'_, '_>, d: &mut Decision, note: &mut Notes<'_>) {
        let location = redirect_location(self, view);
        note.add(|| format!("redirect {} to `{location}`", self.code));
        d.local_response = Some(LocalResponse {
            status: self.code,
            headers: vec![("location".to_owned(), location)],
            body: String::new(),
        });
    }
}

fn redirect_location(r: &RedirectAction, view: &View<'_, '_>) -> String {
    let req = view.req;
    let scheme = r
        .scheme
        .as_deref()
        .or_else(|| req.first_header(":scheme"))
        .unwrap_or("http");
    let mut authority = r
        .authority
        .as_deref()
        .or_else(|| req.first_header(":authority"))
        .unwrap_or("")
        .to_owned();
    if let Some(port) = r.port {
        authority = format!("{}:{port}", crate::hosts::strip_port(&authority));
    }
    let path = match r.uri.as_deref() {
        // Envoy's path_redirect: the request's query is kept unless the new
        // path has its own.
        Some(uri) if uri.contains('?') => uri.to_owned(),
        Some(uri) => format!("{uri}{}", view.query),
        None => view.path.to_owned(),
    };
    format!("{scheme}://{authority}{path}")
}
