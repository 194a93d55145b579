//! Applying a decision to the stream through the host.

use meshpolicy_engine::{Decision, HeaderOp, LocalResponse};
use proxy_wasm::traits::HttpContext;

/// Which header map an edit goes to.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    Request,
    Response,
}

/// `:path` and the request header edits of `decision`.
///
/// Every edit makes Envoy clear the route cache (ABI 0.2.1), so the router
/// matches routes again on the edited headers: that is how the decision
/// header reaches the rendered VirtualService. `decision.authority` is not
/// written: the route of the decision key rewrites the Host upstream.
pub fn request_edits(ctx: &dyn HttpContext, headers: &[(String, String)], decision: &Decision) {
    if let Some(path) = &decision.path {
        ctx.set_http_request_header(":path", Some(path));
    }
    let mut touched: Vec<&str> = Vec::new();
    for op in &decision.request_headers {
        // A removal of a header the request does not carry, and that no
        // earlier edit added, is a host call for nothing: skip it.
        if let HeaderOp::Remove { name } = op {
            let present = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
            if !present && !touched.iter().any(|t| t.eq_ignore_ascii_case(name)) {
                continue;
            }
        }
        apply_op(ctx, Side::Request, op);
        if let HeaderOp::Set { name, .. } | HeaderOp::Add { name, .. } = op {
            touched.push(name);
        }
    }
}

/// Applies header edits in order.
pub fn header_ops(ctx: &dyn HttpContext, side: Side, ops: &[HeaderOp]) {
    for op in ops {
        apply_op(ctx, side, op);
    }
}

fn apply_op(ctx: &dyn HttpContext, side: Side, op: &HeaderOp) {
    match (side, op) {
        (Side::Request, HeaderOp::Set { name, value }) => {
            ctx.set_http_request_header(name, Some(value))
        }
        (Side::Request, HeaderOp::Add { name, value }) => ctx.add_http_request_header(name, value),
        (Side::Request, HeaderOp::Remove { name }) => ctx.remove_http_request_header(name),
        (Side::Response, HeaderOp::Set { name, value }) => {
            ctx.set_http_response_header(name, Some(value))
        }
        (Side::Response, HeaderOp::Add { name, value }) => {
            ctx.add_http_response_header(name, value)
        }
        (Side::Response, HeaderOp::Remove { name }) => ctx.remove_http_response_header(name),
    }
}

/// Answers the request from the filter (redirect, directResponse, abort).
pub fn send_local_response(ctx: &dyn HttpContext, response: &LocalResponse) {
    let headers: Vec<(&str, &str)> = response
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let body = (!response.body.is_empty()).then_some(response.body.as_bytes());
    ctx.send_http_response(response.status, headers, body);
}
