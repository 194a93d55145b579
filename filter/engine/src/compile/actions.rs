//! Validate and compile what a rule does: route, redirect, directResponse,
//! fault, rewrite, header operations, sticky. Messages follow Istio's
//! (pkg/config/validation/validation.go) where Istio has one.

use std::sync::Arc;

use crate::decision::{Destination, HeaderOp};
use crate::error::{Errors, FieldPath, PolicyErrorKind, field, item, key};
use crate::hosts::resolve;
use crate::http_syntax;
use crate::limits::{MAX_BODY_BYTES, MAX_DESTINATIONS, MAX_HEADER_VALUE_BYTES, MAX_TOTAL_WEIGHT};
use crate::model::{self, HeaderOperations, Headers, RouteDestination};
use crate::policy::{FaultAbort, GeneratedCookie, RedirectAction, Route, RouteDest, StickyKey};
use crate::regex::{Anchoring, compile_regex};
use crate::rewrite::{PathRewrite, convert_replacement};
use crate::route::r#match::check_len;
use crate::split::{Weighted, fnv1a64, percent_to_ppm};

use super::{check_header_name, is_dns1123_label};

/// Header edits of one level, in Envoy's order: removes, then sets, then adds
/// (envoy source/common/router/header_parser.cc `HeaderParser::evaluateHeaders`).
pub(super) struct Ops {
    pub(super) request: Vec<HeaderOp>,
    pub(super) response: Vec<HeaderOp>,
}

pub(super) fn header_ops(
    h: Option<&Headers>,
    path: &FieldPath,
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
    path: &FieldPath,
    decision_header: &str,
    errors: &mut Errors,
) -> Vec<HeaderOp> {
    let mut out = Vec::with_capacity(o.remove.len() + o.set.len() + o.add.len());
    let name_ok = |name: &str, p: &FieldPath, errors: &mut Errors| -> bool {
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

pub(super) fn header_value_ok(value: &str, path: &FieldPath, errors: &mut Errors) -> bool {
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

/// `route` and `sticky`.
/// Where a rule's destinations are resolved: the virtual service's
/// namespace for short hosts, and the rule's `rewrite.authority`, part of
/// each destination's decision key.
pub(super) struct RouteScope<'a> {
    pub(super) namespace: Option<&'a str>,
    pub(super) authority: Option<&'a str>,
    /// The rule's router options hash (`crate::router::RouterOptions::hash`).
    pub(super) options: Option<&'a str>,
}

pub(super) fn route(
    list: &[RouteDestination],
    sticky: Option<&model::Sticky>,
    scope: &RouteScope<'_>,
    path: &FieldPath,
    rule_path: &FieldPath,
    decision_header: &str,
    errors: &mut Errors,
) -> Route {
    if list.len() > MAX_DESTINATIONS {
        errors.push(
            path,
            PolicyErrorKind::TooManyDestinations {
                count: list.len(),
                limit: MAX_DESTINATIONS,
            },
        );
    }
    let mut dests = Vec::with_capacity(list.len());
    let mut weights = Vec::with_capacity(list.len());
    let mut total: u64 = 0;
    for (i, rd) in list.iter().enumerate() {
        let p = item(path, i);
        let Some(d) = &rd.destination else {
            errors.push(&p, PolicyErrorKind::MissingDestination);
            continue;
        };
        let dp = field(&p, "destination");
        check_destination(d, &dp, errors);
        let port = d.port.as_ref().map(|p| p.number);
        // A single destination without a weight takes all traffic (Istio's 100).
        let weight = rd.weight.unwrap_or(if list.len() == 1 { 100 } else { 0 });
        total = total.saturating_add(u64::from(weight));
        // Istio resolves a short destination host in the virtual service's
        // namespace; without one it stays as written.
        let fqdn = resolve(&d.host, scope.namespace).unwrap_or_else(|| d.host.clone());
        let label = match &d.subset {
            Some(s) => format!("{fqdn}/{s}"),
            None => fqdn.clone(),
        };
        let key = decision_key(&label, port, scope.authority, scope.options);
        let ops = header_ops(
            rd.headers.as_ref(),
            &field(&p, "headers"),
            decision_header,
            errors,
        );
        weights.push(Weighted {
            weight,
            seed: fnv1a64(label.as_bytes()),
        });
        dests.push(RouteDest {
            dest: Destination {
                index: i,
                host: Arc::from(fqdn.as_str()),
                subset: d.subset.as_deref().map(Arc::from),
                port,
                key: Arc::from(key),
            },
            label: Arc::from(label),
            request_ops: ops.request,
            response_ops: ops.response,
        });
    }
    if list.len() > 1 && total == 0 {
        errors.push(path, PolicyErrorKind::ZeroTotalWeight);
    }
    if total > MAX_TOTAL_WEIGHT {
        errors.push(
            path,
            PolicyErrorKind::TotalWeightTooLarge {
                total,
                limit: MAX_TOTAL_WEIGHT,
            },
        );
    }
    let sticky_path = field(rule_path, "sticky");
    let generate = sticky.and_then(|s| generated_cookie(s, &sticky_path, errors));
    let sticky = sticky.and_then(|s| sticky_key(s, &sticky_path, errors));
    Route {
        dests,
        weights,
        total,
        sticky,
        generate,
    }
}

/// istio validation.go `validateDestination`: a host that is not `*`, a
/// DNS-1123 subset, a port in 1..65535.
pub(super) fn check_destination(d: &model::Destination, dp: &FieldPath, errors: &mut Errors) {
    if d.host.is_empty() {
        errors.push(&field(dp, "host"), PolicyErrorKind::EmptyDestinationHost);
    } else if d.host == "*" {
        errors.push(&field(dp, "host"), PolicyErrorKind::WildcardDestinationHost);
    }
    if let Some(subset) = &d.subset {
        if subset.is_empty() {
            errors.push(&field(dp, "subset"), PolicyErrorKind::EmptySubsetName);
        } else if !is_dns1123_label(subset) {
            errors.push(
                &field(dp, "subset"),
                PolicyErrorKind::InvalidSubsetName {
                    name: subset.clone(),
                },
            );
        }
    }
    if let Some(n) = d.port.as_ref().map(|p| p.number)
        && !(1..=65535).contains(&n)
    {
        errors.push(
            &field(&field(dp, "port"), "number"),
            PolicyErrorKind::PortOutOfRange { port: n },
        );
    }
}

/// The decision header's value for a destination (SPEC §2.4): readable,
/// unique per (host, subset, port, authority rewrite, router options), a
/// pure function of them so it is stable across renders:
/// `<fqdn>[/<subset>][:<port>][@<authority>][#<options hash>]`.
pub(crate) fn decision_key(
    label: &str,
    port: Option<u32>,
    authority: Option<&str>,
    options: Option<&str>,
) -> String {
    let mut key = label.to_owned();
    if let Some(port) = port {
        key.push(':');
        key.push_str(&port.to_string());
    }
    if let Some(authority) = authority {
        key.push('@');
        key.push_str(authority);
    }
    if let Some(hash) = options {
        key.push('#');
        key.push_str(hash);
    }
    key
}

/// `sticky.generate`: only with `cookie`; `ttl` a duration of whole
/// seconds (`Max-Age`), absent or zero for a session cookie.
fn generated_cookie(
    s: &model::Sticky,
    path: &FieldPath,
    errors: &mut Errors,
) -> Option<GeneratedCookie> {
    let g = s.generate.as_ref()?;
    let gp = field(path, "generate");
    let Some(name) = &s.cookie else {
        errors.push(&gp, PolicyErrorKind::GenerateWithoutCookie);
        return None;
    };
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
    {
        errors.push(
            &field(path, "cookie"),
            PolicyErrorKind::InvalidCookieName { name: name.clone() },
        );
        return None;
    }
    let mut attributes = String::from("; Path=/");
    if let Some(ttl) = &g.ttl {
        match crate::router::parse_duration(ttl) {
            Ok(ns) => {
                let secs = ns / 1_000_000_000;
                if secs > 0 {
                    attributes.push_str(&format!("; Max-Age={secs}"));
                }
            }
            Err(why) => {
                errors.push(
                    &field(&gp, "ttl"),
                    PolicyErrorKind::InvalidDuration { error: why },
                );
                return None;
            }
        }
    }
    attributes.push_str("; HttpOnly; SameSite=Lax");
    Some(GeneratedCookie {
        name: Arc::from(name.as_str()),
        attributes: Arc::from(attributes),
    })
}

fn sticky_key(s: &model::Sticky, path: &FieldPath, errors: &mut Errors) -> Option<StickyKey> {
    let set = [&s.header, &s.cookie, &s.query_param];
    if set.iter().filter(|v| v.is_some()).count() != 1 {
        errors.push(path, PolicyErrorKind::StickyKeyCount);
        return None;
    }
    let (name, which) = if let Some(h) = &s.header {
        check_header_name(h, &field(path, "header"), errors);
        (h, 0)
    } else if let Some(c) = &s.cookie {
        (c, 1)
    } else {
        (s.query_param.as_ref()?, 2)
    };
    if name.is_empty() {
        errors.push(path, PolicyErrorKind::EmptyStickyKey);
        return None;
    }
    Some(match which {
        0 => StickyKey::Header(name.to_ascii_lowercase().into()),
        1 => StickyKey::Cookie(name.as_str().into()),
        _ => StickyKey::QueryParam(name.as_str().into()),
    })
}

pub(super) fn redirect(
    r: &model::Redirect,
    path: &FieldPath,
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

pub(super) fn http_status(status: u32, path: &FieldPath, errors: &mut Errors) {
    if !(200..=599).contains(&status) {
        errors.push(path, PolicyErrorKind::InvalidHttpStatus { status });
    }
}

pub(super) fn direct_response(
    d: &model::DirectResponse,
    path: &FieldPath,
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

/// `fault.abort` (the filter answers it); `fault.delay` is a router option.
pub(super) fn fault(f: &model::Fault, path: &FieldPath, errors: &mut Errors) -> Option<FaultAbort> {
    let Some(abort) = &f.abort else {
        if f.delay.is_none() {
            errors.push(path, PolicyErrorKind::EmptyFault);
        }
        return None;
    };
    let ap = field(path, "abort");
    let Some(status) = abort.http_status else {
        errors.push(&ap, PolicyErrorKind::AbortWithoutStatus);
        return None;
    };
    http_status(status, &field(&ap, "httpStatus"), errors);
    // No `percentage`: Istio translates the abort with a 0% fraction, so it
    // never fires (pilot route.go `translateFault`).
    let percent = abort.percentage.as_ref().map_or(0.0, |p| p.value);
    if !(0.0..=100.0).contains(&percent) {
        errors.push(
            &field(&field(&ap, "percentage"), "value"),
            PolicyErrorKind::PercentOutOfRange {
                value: percent.to_string(),
            },
        );
    }
    Some(FaultAbort {
        status,
        ppm: percent_to_ppm(percent.clamp(0.0, 100.0)),
    })
}

/// `rewrite`: (path rewrite, authority).
pub(super) fn rewrite(
    r: &model::Rewrite,
    path: &FieldPath,
    errors: &mut Errors,
) -> (Option<PathRewrite>, Option<Arc<str>>) {
    if r.uri.is_some() && r.uri_regex_rewrite.is_some() {
        errors.push(path, PolicyErrorKind::BothUriRewrites);
        return (None, None);
    }
    if r.uri.is_none() && r.uri_regex_rewrite.is_none() && r.authority.is_none() {
        errors.push(path, PolicyErrorKind::EmptyRewrite);
        return (None, None);
    }
    let mut out = None;
    if let Some(uri) = &r.uri {
        let p = field(path, "uri");
        check_len(uri, &p, errors);
        if let Some(e) = http_syntax::path_error("rewrite uri", uri).filter(|_| !uri.is_empty()) {
            errors.push(&p, PolicyErrorKind::InvalidPath { error: e });
        }
        out = Some(PathRewrite::Uri(uri.as_str().into()));
    }
    if let Some(rr) = &r.uri_regex_rewrite {
        let p = field(path, "uriRegexRewrite");
        if rr.match_.is_empty() || rr.rewrite.is_empty() {
            errors.push(&p, PolicyErrorKind::IncompleteRegexRewrite);
        } else {
            check_len(&rr.match_, &field(&p, "match"), errors);
            let compiled = compile_regex(&rr.match_, Anchoring::Search)
                .map_err(|e| {
                    errors.push(
                        &field(&p, "match"),
                        PolicyErrorKind::InvalidRegex {
                            pattern: rr.match_.clone(),
                            reason: e,
                        },
                    )
                })
                .ok();
            if let Some(e) = http_syntax::rewrite_literal_error(&rr.rewrite) {
                errors.push(
                    &field(&p, "rewrite"),
                    PolicyErrorKind::InvalidPath { error: e },
                );
            }
            let replacement = convert_replacement(&rr.rewrite)
                .map_err(|e| {
                    errors.push(
                        &field(&p, "rewrite"),
                        PolicyErrorKind::InvalidReplacement { error: e },
                    )
                })
                .ok();
            if let (Some(regex), Some((replacement, max_group))) = (compiled, replacement) {
                let groups = regex.captures_len().saturating_sub(1);
                if max_group > groups {
                    errors.push(
                        &field(&p, "rewrite"),
                        PolicyErrorKind::MissingRegexGroup {
                            group: max_group,
                            groups,
                        },
                    );
                } else {
                    out = Some(PathRewrite::Regex {
                        regex,
                        replacement: replacement.into(),
                    });
                }
            }
        }
    }
    let authority = r
        .authority
        .as_deref()
        .and_then(|a| match http_syntax::authority_error(a) {
            Some(e) => {
                errors.push(
                    &field(path, "authority"),
                    PolicyErrorKind::InvalidAuthority { error: e },
                );
                None
            }
            None => Some(Arc::from(a)),
        });
    (out, authority)
}
