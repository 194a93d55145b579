//! What `decide` returns: what to do with a request, never how (no
//! proxy-wasm types). Strings that come from the policy are `Arc<str>`
//! clones, so a decision allocates only what it computes (a rewritten path,
//! a redirect location) and its own vectors.

use std::sync::Arc;

use serde::Serialize;

/// The rule that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchedRule {
    /// The virtual service the rule belongs to (its `name`).
    pub virtual_service: Arc<str>,
    /// Index of that virtual service in `spec.virtualServices`.
    pub virtual_service_index: usize,
    /// Index in the virtual service's `http`.
    pub index: usize,
    /// The rule's `name`, or `<virtual service>.http[i]` when it has none.
    pub name: Arc<str>,
}

/// The policy host that covers the request (SPEC §2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelectedHost {
    /// As Istio names it: an FQDN, `*.suffix` or `*`.
    pub host: Arc<str>,
    /// The virtual services whose rules apply to it, in merge order.
    pub virtual_services: Vec<Arc<str>>,
    /// Why the request's host matched (`exact host`, `short name, …`).
    pub how: &'static str,
}

/// The chosen destination of a `route`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Destination {
    /// Index in the rule's `route`.
    pub index: usize,
    /// The destination host, resolved to an FQDN as Istio does.
    pub host: Arc<str>,
    pub subset: Option<Arc<str>>,
    pub port: Option<u32>,
    /// The decision header's value that routes to this destination
    /// (`<fqdn>[/<subset>][:<port>][@<authority>]`).
    pub key: Arc<str>,
}

/// A header edit, applied in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum HeaderOp {
    /// Replace every value of `name` with `value`.
    Set { name: Arc<str>, value: Arc<str> },
    /// Append a value (keeps existing ones).
    Add { name: Arc<str>, value: Arc<str> },
    /// Remove every value of `name`.
    Remove { name: Arc<str> },
}

/// A response the filter sends itself (redirect, directResponse, fault abort).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalResponse {
    pub status: u32,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The labels meshpolicy adds to its request metrics (SPEC §2.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionLabels {
    /// `policy_rule`: the rule's name, `unknown` when no rule matched.
    pub policy_rule: Arc<str>,
    /// `policy_destination`: `fqdn/subset` (or `fqdn`), `unknown` without a route.
    pub policy_destination: Arc<str>,
}

/// What to do with one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The policy host that covers the request; `None`: the policy does not
    /// govern it and it goes on untouched (but for the decision header).
    pub host: Option<SelectedHost>,
    /// `None` with a host: no rule matched, Envoy's router answers 404 (NR).
    pub rule: Option<MatchedRule>,
    /// New `:path` (query string kept) when rewritten.
    pub path: Option<String>,
    /// The Host sent upstream when the rule rewrites it. The filter never
    /// writes `:authority` (Envoy would select another virtual host): the
    /// rendered route of the destination's key rewrites it.
    pub authority: Option<Arc<str>>,
    /// Request header edits, in order: remove any client-supplied decision
    /// header first, then the destination's edits, then the rule's, then set
    /// the decision header to the chosen destination's key. Envoy's order: with
    /// `most_specific_header_mutations_wins` false (the default) the weighted
    /// cluster's parser runs before the route's, so the rule level wins
    /// (envoy source/common/router/config_impl.cc `getRequestHeaderParsers`);
    /// within a level removes, then sets, then adds
    /// (source/common/router/header_parser.cc `HeaderParser::evaluateHeaders`).
    pub request_headers: Vec<HeaderOp>,
    /// Response header edits (destination's, then the rule's).
    pub response_headers: Vec<HeaderOp>,
    pub destination: Option<Destination>,
    pub local_response: Option<LocalResponse>,
    /// Why a rewrite was not applied (it would have made a `:path` Envoy
    /// refuses); the filter logs it and answers the local `400` in
    /// `local_response`, as Envoy answers a request line it cannot accept:
    /// the request never reaches the destination with a broken or
    /// unrewritten path.
    pub rewrite_rejected: Option<String>,
    pub labels: DecisionLabels,
}
