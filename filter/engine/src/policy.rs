//! The compiled policy and the per-request decision (SPEC §2.1, §2.2).

use std::borrow::Cow;
use std::sync::Arc;

use crate::decision::{
    Decision, DecisionLabels, Destination, HeaderOp, LocalResponse, MatchedRule,
};
use crate::index::RuleIndex;
use crate::matcher::{CompiledMatch, Matched, View, implicit_prefix};
use crate::request::{Request, cookie, query_param};
use crate::rewrite::{PathRewrite, rewrite_path};
use crate::split::{Weighted, fault_fires, pick_random, pick_sticky};
use crate::telemetry::CompiledTelemetry;
use crate::trace::{RuleTrace, Trace};

/// A validated, compiled policy: build it once, decide per request.
#[derive(Debug)]
pub struct Policy {
    pub(crate) rules: Vec<CompiledRule>,
    pub(crate) index: RuleIndex,
    /// Whether any match entry has a `port` (computed once at compile).
    pub(crate) uses_port: bool,
    pub(crate) decision_header: Arc<str>,
    pub(crate) telemetry: CompiledTelemetry,
    pub(crate) unknown: Arc<str>,
}

#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub(crate) name: Arc<str>,
    /// Empty: the rule matches every request.
    pub(crate) matches: Vec<CompiledMatch>,
    pub(crate) rewrite_path: Option<PathRewrite>,
    pub(crate) rewrite_authority: Option<Arc<str>>,
    pub(crate) fault: Option<FaultAbort>,
    pub(crate) request_ops: Vec<HeaderOp>,
    pub(crate) response_ops: Vec<HeaderOp>,
    pub(crate) action: Action,
}

#[derive(Debug)]
pub(crate) struct FaultAbort {
    pub(crate) status: u32,
    /// Parts per million of requests aborted.
    pub(crate) ppm: u32,
}

#[derive(Debug)]
pub(crate) enum Action {
    Route(Route),
    Redirect(RedirectAction),
    Direct { status: u32, body: Arc<str> },
}

#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) dests: Vec<RouteDest>,
    pub(crate) weights: Vec<Weighted>,
    pub(crate) total: u64,
    pub(crate) sticky: Option<StickyKey>,
}

#[derive(Debug)]
pub(crate) struct RouteDest {
    pub(crate) dest: Destination,
    /// `host/subset`, the `policy_destination` label.
    pub(crate) label: Arc<str>,
    pub(crate) request_ops: Vec<HeaderOp>,
    pub(crate) response_ops: Vec<HeaderOp>,
}

#[derive(Debug)]
pub(crate) enum StickyKey {
    Header(Box<str>),
    Cookie(Box<str>),
    QueryParam(Box<str>),
}

#[derive(Debug)]
pub(crate) struct RedirectAction {
    pub(crate) code: u32,
    pub(crate) uri: Option<Box<str>>,
    pub(crate) authority: Option<Box<str>>,
    pub(crate) scheme: Option<Box<str>>,
    pub(crate) port: Option<u32>,
}

/// Envoy's body for a fault-filter abort.
const FAULT_ABORT_BODY: &str = "fault filter abort";

impl CompiledRule {
    /// The first entry that matches, in entry order.
    fn eval(&self, view: &View<'_, '_>) -> Option<Matched> {
        if self.matches.is_empty() {
            return Some(implicit_prefix(view.path));
        }
        self.matches.iter().find_map(|m| m.eval(view).ok())
    }
}

impl Policy {
    /// The request header that carries the chosen subset
    /// (`spec.settings.decisionHeader`, default `x-meshpolicy-subset`).
    /// `decide` always emits a `Remove` of it first, so a client cannot
    /// pick its own subset, and a `Set` when a subset is chosen.
    pub fn decision_header(&self) -> &str {
        &self.decision_header
    }

    /// Prefix of the filter's metric names (default `meshpolicy_`).
    pub fn metric_prefix(&self) -> &str {
        self.telemetry.prefix()
    }

    /// The compiled `spec.telemetry` section (metric label plans).
    pub fn telemetry(&self) -> &CompiledTelemetry {
        &self.telemetry
    }

    /// Whether any match entry has a `port`: the filter reads the
    /// destination port (a host call) only then.
    pub fn uses_port(&self) -> bool {
        self.uses_port
    }

    /// Number of rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Decide what to do with `req` (the fast path: indexed, no trace).
    pub fn decide(&self, req: &Request<'_>) -> Decision {
        let view = View::new(req);
        let mut best: Option<(usize, Matched)> = None;
        self.index
            .candidates(view.path, view.path_only.len(), |list| {
                for &r in list {
                    let r = r as usize;
                    if best.is_some_and(|(b, _)| r >= b) {
                        break;
                    }
                    if let Some(m) = self.rules.get(r).and_then(|rule| rule.eval(&view)) {
                        best = Some((r, m));
                        break;
                    }
                }
            });
        self.act(&view, best, None)
    }

    /// Decide with a trace of every rule tried (linear, in rule order).
    pub fn explain(&self, req: &Request<'_>) -> (Decision, Trace) {
        let view = View::new(req);
        let mut trace = Trace::default();
        let mut found = None;
        for (i, rule) in self.rules.iter().enumerate() {
            let mut reasons = Vec::new();
            let mut hit = None;
            if rule.matches.is_empty() {
                hit = Some(implicit_prefix(view.path));
                reasons.push("no `match`: matches every request".to_owned());
            } else {
                for (j, m) in rule.matches.iter().enumerate() {
                    match m.eval(&view) {
                        Ok(kind) => {
                            hit = Some(kind);
                            reasons.push(format!("match[{j}] matched"));
                            break;
                        }
                        Err(miss) => {
                            reasons.push(format!("match[{j}]: {}", m.explain_miss(miss, &view)))
                        }
                    }
                }
            }
            trace.rules.push(RuleTrace {
                index: i,
                name: rule.name.to_string(),
                matched: hit.is_some(),
                reasons,
            });
            if let Some(kind) = hit {
                found = Some((i, kind));
                break;
            }
        }
        if found.is_none() {
            trace
                .actions
                .push("no rule matched: the request goes on unchanged".to_owned());
        }
        let decision = self.act(&view, found, Some(&mut trace.actions));
        (decision, trace)
    }

    /// Build the decision for the matched rule (if any).
    fn act(
        &self,
        view: &View<'_, '_>,
        found: Option<(usize, Matched)>,
        mut notes: Option<&mut Vec<String>>,
    ) -> Decision {
        let mut note = |s: String| {
            if let Some(n) = notes.as_deref_mut() {
                n.push(s);
            }
        };
        let mut d = Decision {
            rule: None,
            path: None,
            authority: None,
            request_headers: vec![HeaderOp::Remove {
                name: self.decision_header.clone(),
            }],
            response_headers: Vec::new(),
            destination: None,
            local_response: None,
            rewrite_rejected: None,
            labels: DecisionLabels {
                policy_rule: self.unknown.clone(),
                policy_destination: self.unknown.clone(),
            },
        };
        let Some((index, matched)) = found else {
            return d;
        };
        let Some(rule) = self.rules.get(index) else {
            return d;
        };
        d.rule = Some(MatchedRule {
            index,
            name: rule.name.clone(),
        });
        d.labels.policy_rule = rule.name.clone();
        let req = view.req;

        if let Some(fault) = &rule.fault {
            if fault_fires(fault.ppm, req.random) {
                note(format!(
                    "fault.abort fired ({} ppm): status {}",
                    fault.ppm, fault.status
                ));
                d.local_response = Some(local(fault.status, FAULT_ABORT_BODY));
                return d;
            }
            note(format!("fault.abort did not fire ({} ppm)", fault.ppm));
        }

        match &rule.action {
            Action::Direct { status, body } => {
                note(format!("directResponse: status {status}"));
                d.local_response = Some(local(*status, body));
            }
            Action::Redirect(r) => {
                let location = redirect_location(r, view);
                note(format!("redirect {} to `{location}`", r.code));
                d.local_response = Some(LocalResponse {
                    status: r.code,
                    headers: vec![("location".to_owned(), location)],
                    body: String::new(),
                });
            }
            Action::Route(route) => {
                let chosen = choose(route, view, &mut note);
                if let Some(rd) = route.dests.get(chosen) {
                    d.destination = Some(rd.dest.clone());
                    d.labels.policy_destination = rd.label.clone();
                    note(format!("destination `{}` (route[{chosen}])", rd.label));
                    d.request_headers.extend(rd.request_ops.iter().cloned());
                    d.response_headers.extend(rd.response_ops.iter().cloned());
                }
                if let Some(rw) = &rule.rewrite_path {
                    match rewrite_path(rw, view.path, matched) {
                        Ok(p) => {
                            note(format!("rewrite path `{}` to `{p}`", view.path));
                            d.path = Some(p);
                        }
                        Err(why) => {
                            note(format!("rewrite refused, path left unchanged: {why}"));
                            d.rewrite_rejected = Some(why);
                        }
                    }
                }
                if let Some(a) = &rule.rewrite_authority {
                    note(format!("rewrite authority to `{a}`"));
                    d.authority = Some(a.clone());
                }
            }
        }
        d.request_headers.extend(rule.request_ops.iter().cloned());
        d.response_headers.extend(rule.response_ops.iter().cloned());
        if let Some(subset) = d.destination.as_ref().and_then(|x| x.subset.clone()) {
            note(format!("set `{}: {subset}`", self.decision_header));
            d.request_headers.push(HeaderOp::Set {
                name: self.decision_header.clone(),
                value: subset,
            });
        }
        d
    }
}

fn local(status: u32, body: &str) -> LocalResponse {
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

/// Pick a destination: sticky when the key is present, else random.
fn choose(route: &Route, view: &View<'_, '_>, note: &mut impl FnMut(String)) -> usize {
    if route.dests.len() <= 1 {
        return 0;
    }
    let req = view.req;
    if let Some(sticky) = &route.sticky {
        let key: Option<Cow<'_, str>> = match sticky {
            StickyKey::Header(name) => req.header(name),
            StickyKey::Cookie(name) => req
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
                .find_map(|(_, v)| cookie(v, name))
                .map(Cow::Borrowed),
            StickyKey::QueryParam(name) => query_param(view.query, name).map(Cow::Borrowed),
        };
        match key {
            Some(key) => {
                let i = pick_sticky(&route.weights, &key);
                note(format!(
                    "sticky split on {}: key `{key}` picked route[{i}]",
                    sticky.describe()
                ));
                return i;
            }
            None => note(format!(
                "sticky key {} missing: random split",
                sticky.describe()
            )),
        }
    }
    let i = pick_random(&route.weights, route.total, req.random);
    note(format!(
        "weighted split: random % {} picked route[{i}]",
        route.total
    ));
    i
}

impl StickyKey {
    fn describe(&self) -> String {
        match self {
            StickyKey::Header(n) => format!("header `{n}`"),
            StickyKey::Cookie(n) => format!("cookie `{n}`"),
            StickyKey::QueryParam(n) => format!("query parameter `{n}`"),
        }
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
        authority = format!("{}:{port}", strip_port(&authority));
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

/// `host:port` -> `host` (IPv6 `[::1]:80` -> `[::1]`).
fn strip_port(authority: &str) -> &str {
    match authority.rfind(':') {
        Some(i) if !authority.get(i..).unwrap_or("").contains(']') => {
            authority.get(..i).unwrap_or(authority)
        }
        _ => authority,
    }
}
