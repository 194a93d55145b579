//! `route` (SPEC §2.3): destinations `{host, subset, port}` with relative
//! weights, each with its decision key and header edits; compiled with
//! Istio's checks, then one destination chosen per request (`split`, with
//! `sticky`) and written into the decision.

use std::sync::Arc;

use crate::compile::is_dns1123_label;
use crate::decide::Notes;
use crate::decision::{Decision, Destination, HeaderOp};
use crate::error::lazy::{field, item};
use crate::error::{Errors, LazyPath, PolicyErrorKind};
use crate::hosts::resolve;
use crate::limits::{MAX_DESTINATIONS, MAX_TOTAL_WEIGHT};
use crate::model::{self, RouteDestination};
use crate::route::view::View;

use super::header_ops;
use super::split::{Weighted, fnv1a64, pick_random, pick_sticky};
use super::sticky::{GeneratedCookie, StickyKey, drawn_key, generated_cookie, sticky_key};

/// A compiled `route`: its destinations and how one is chosen.
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) dests: Vec<RouteDest>,
    pub(crate) weights: Vec<Weighted>,
    pub(crate) total: u64,
    pub(crate) sticky: Option<StickyKey>,
    /// `sticky.generate`: the cookie set for a key drawn when it is missing.
    pub(crate) generate: Option<GeneratedCookie>,
}

/// One compiled `route[i]`.
#[derive(Debug)]
pub(crate) struct RouteDest {
    pub(crate) dest: Destination,
    /// `host/subset`, the `policy_destination` label.
    pub(crate) label: Arc<str>,
    pub(crate) request_ops: Vec<HeaderOp>,
    pub(crate) response_ops: Vec<HeaderOp>,
}

/// Where a rule's destinations are resolved: the virtual service's
/// namespace for short hosts, and the rule's `rewrite.authority`, part of
/// each destination's decision key.
pub(crate) struct RouteScope<'a> {
    pub(crate) namespace: Option<&'a str>,
    pub(crate) authority: Option<&'a str>,
    /// The rule's router options hash (`crate::router::RouterOptions::hash`).
    pub(crate) options: Option<&'a str>,
}

/// Compile `route` (and the rule's `sticky`) at `path`.
pub(crate) fn compile(
    list: &[RouteDestination],
    sticky: Option<&model::Sticky>,
    scope: &RouteScope<'_>,
    path: &LazyPath<'_>,
    rule_path: &LazyPath<'_>,
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
        let label: Arc<str> = match &d.subset {
            Some(s) => Arc::from([fqdn.as_str(), "/", s].concat()),
            None => Arc::from(fqdn.as_str()),
        };
        // the key is the label itself unless the destination has more
        let key = if port.is_none() && scope.authority.is_none() && scope.options.is_none() {
            Arc::clone(&label)
        } else {
            Arc::from(decision_key(&label, port, scope.authority, scope.options))
        };
        let ops = header_ops::compile(
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
                key,
            },
            label,
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
pub(crate) fn check_destination(d: &model::Destination, dp: &LazyPath<'_>, errors: &mut Errors) {
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

// === impl Route ===

impl Route {
    /// Choose the destination and write it, its header edits and a drawn
    /// sticky cookie into the decision.
    pub(crate) fn act(&self, view: &View<'_, '_>, d: &mut Decision, note: &mut Notes<'_>) {
        let (chosen, drawn) = choose(self, view, note);
        if let (Some(key), Some(cookie)) = (drawn, &self.generate) {
            cookie.act(&key, d, note);
        }
        if let Some(rd) = self.dests.get(chosen) {
            d.destination = Some(rd.dest.clone());
            d.labels.policy_destination = rd.label.clone();
            note.add(|| format!("destination `{}` (route[{chosen}])", rd.label));
            d.request_headers.extend(rd.request_ops.iter().cloned());
            d.response_headers.extend(rd.response_ops.iter().cloned());
        }
    }
}

/// Pick a destination: sticky when the key is present; else, with
/// `sticky.generate`, by a key drawn from the request's randomness (returned
/// so the response can set it); else random.
fn choose(route: &Route, view: &View<'_, '_>, note: &mut Notes<'_>) -> (usize, Option<String>) {
    if route.dests.len() <= 1 && route.generate.is_none() {
        return (0, None);
    }
    let req = view.req;
    if let Some(sticky) = &route.sticky {
        match sticky.find(view) {
            Some(key) => {
                let i = pick_sticky(&route.weights, &key);
                note.add(|| {
                    format!(
                        "sticky split on {}: key `{key}` picked route[{i}]",
                        sticky.describe()
                    )
                });
                return (i, None);
            }
            None if route.generate.is_some() => {
                let key = drawn_key(req.random);
                let i = pick_sticky(&route.weights, &key);
                note.add(|| {
                    format!(
                        "sticky key {} missing: drew key `{key}`, which picked route[{i}]",
                        sticky.describe()
                    )
                });
                return (i, Some(key));
            }
            None => note.add(|| format!("sticky key {} missing: random split", sticky.describe())),
        }
    }
    let i = pick_random(&route.weights, route.total, req.random);
    note.add(|| format!("weighted split: random % {} picked route[{i}]", route.total));
    (i, None)
}
