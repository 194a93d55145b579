//! What Envoy's router filter does with the selected route once the
//! filter chain lets the request headers through (`Router::Filter::decodeHeaders`,
//! envoy `source/common/router/router.cc`): a 404 `route_not_found` (flag
//! `NR`) without a route, a direct response or redirect answered locally
//! (`direct_response`), else the route's `finalizeRequestHeaders`: header
//! edits, the host rewrite, then the path rewrite.

use super::matchers::path_without_query;
use super::select::{Action, CompiledRoute, PathRewrite, Selection, header, strip_port};
use crate::abi::insert_header as insert;
use crate::header_list::Headers;
use crate::types::LocalResponse;

/// Response code details of Envoy's router replies.
pub(crate) const ROUTE_NOT_FOUND: &str = "route_not_found";
pub(crate) const DIRECT_RESPONSE: &str = "direct_response";

/// The router's verdict for the request headers as the filter left them.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Forward upstream with these headers.
    Forward(Headers),
    /// Answer locally; the response flag when there is one (`NR`).
    Local(LocalResponse, Option<&'static str>),
}

pub(crate) fn decide(route: Option<(&Selection, &CompiledRoute)>, mut headers: Headers) -> Verdict {
    let Some((selection, route)) = route else {
        return Verdict::Local(
            local(404, ROUTE_NOT_FOUND, Vec::new(), String::new()),
            Some("NR"),
        );
    };
    match &route.action {
        Action::Direct { status, body } => Verdict::Local(
            local(*status, DIRECT_RESPONSE, Vec::new(), body.clone()),
            None,
        ),
        Action::Redirect(redirect) => {
            if let Some(prefix) = &redirect.prefix_rewrite {
                rewrite_prefix(&mut headers, route, prefix);
            }
            let location = new_uri(redirect, &headers);
            let status = redirect.response_code.unwrap_or(301);
            Verdict::Local(
                local(
                    status,
                    DIRECT_RESPONSE,
                    vec![("location".to_string(), location)],
                    String::new(),
                ),
                None,
            )
        }
        Action::Route { rewrite, .. } => {
            for name in &route.headers_to_remove {
                headers.retain(|(k, _)| k.as_slice() != name.as_bytes());
            }
            for add in &route.headers_to_add {
                let key = add.key.to_ascii_lowercase().into_bytes();
                if !add.append {
                    headers.retain(|(k, _)| *k != key);
                }
                insert(&mut headers, key, add.value.clone().into_bytes());
            }
            if let Some(host) = &selection.host_rewrite {
                set(&mut headers, ":authority", host.clone());
            }
            match rewrite {
                PathRewrite::None => {}
                PathRewrite::Prefix(prefix) => rewrite_prefix(&mut headers, route, prefix),
                PathRewrite::Regex(re, substitution) => {
                    if let Some(path) = header(&headers, ":path").map(|p| p.into_owned()) {
                        let just = path_without_query(&path);
                        let rest = path.get(just.len()..).unwrap_or("");
                        let replaced = re.replace_all(just.as_bytes(), substitution.as_bytes());
                        let new = format!("{}{rest}", String::from_utf8_lossy(&replaced));
                        set(&mut headers, ":path", new);
                    }
                }
            }
            Verdict::Forward(headers)
        }
    }
}

fn local(
    status: u32,
    details: &str,
    headers: Vec<(String, String)>,
    body: String,
) -> LocalResponse {
    LocalResponse {
        status,
        details: details.to_string(),
        headers,
        body: body.into_bytes(),
        grpc_status: u32::MAX,
    }
}

fn set(headers: &mut Headers, name: &str, value: String) {
    match headers
        .iter_mut()
        .find(|(k, _)| k.as_slice() == name.as_bytes())
    {
        Some(slot) => slot.1 = value.into_bytes(),
        None => insert(headers, name.as_bytes().to_vec(), value.into_bytes()),
    }
}

/// `currentUrlPathAfterRewriteWithMatchedPath`: the matched part of the
/// path (the configured prefix, or the whole path of a regex match) is
/// replaced; the query string stays.
fn rewrite_prefix(headers: &mut Headers, route: &CompiledRoute, prefix: &str) {
    let Some(path) = header(headers, ":path").map(|p| p.into_owned()) else {
        return;
    };
    let matched = route.path.matched_len(&path).min(path.len());
    let rest = path.get(matched..).unwrap_or("");
    let new = format!("{prefix}{rest}");
    set(headers, ":path", new);
}

/// `Http::Utility::newUri` with `processRequestHost`.
fn new_uri(r: &super::table::RedirectAction, headers: &[crate::header_list::Header]) -> String {
    let forwarded_proto = header(headers, "x-forwarded-proto");
    let request_scheme_header = header(headers, ":scheme");
    let request_scheme = forwarded_proto
        .as_deref()
        .or(request_scheme_header.as_deref())
        .unwrap_or("http");
    let scheme = match &r.scheme_redirect {
        Some(s) if !s.is_empty() => s.as_str(),
        _ if r.https_redirect => "https",
        _ => request_scheme_header.as_deref().unwrap_or("http"),
    };
    let port = r.port_redirect.map(|p| format!(":{p}")).unwrap_or_default();
    let host = match &r.host_redirect {
        Some(h) if !h.is_empty() => h.clone(),
        _ => {
            let request_host = header(headers, ":authority").unwrap_or_default();
            let request_host = request_host.as_ref();
            let bare = strip_port(request_host);
            let request_port = request_host.get(bare.len()..).unwrap_or("");
            let mut remove = !port.is_empty();
            if scheme != request_scheme {
                remove |= request_scheme == "https" && request_port == ":443";
                remove |= request_scheme == "http" && request_port == ":80";
            }
            if remove && !request_port.is_empty() {
                bare.to_string()
            } else {
                request_host.to_string()
            }
        }
    };
    let current = header(headers, ":path").unwrap_or(std::borrow::Cow::Borrowed("/"));
    let current = current.as_ref();
    let redirect_has_query = r.path_redirect.as_deref().is_some_and(|p| p.contains('?'));
    let mut path = match r.path_redirect.as_deref() {
        Some(p) if !p.is_empty() => {
            if redirect_has_query {
                p.to_string()
            } else {
                let query = current.find('?').and_then(|i| current.get(i..));
                format!("{p}{}", query.unwrap_or(""))
            }
        }
        _ => current.to_string(),
    };
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    if !redirect_has_query
        && r.strip_query
        && let Some(i) = path.find('?')
    {
        path.truncate(i);
    }
    format!("{scheme}://{host}{port}{path}")
}
