//! The compiled policy and the per-request decision (SPEC §2.1, §2.2).

use std::borrow::Cow;
use std::sync::Arc;

use std::ops::Range;

use crate::decision::{
    Decision, DecisionLabels, Destination, HeaderOp, LocalResponse, MatchedRule, SelectedHost,
};
use crate::hosts::{Found, HostEntry, HostName, HostTable};
use crate::index::RuleIndex;
use crate::request::{Request, cookie, query_param};
use crate::rewrite::{PathRewrite, rewrite_path};
use crate::route::r#match::{CompiledMatch, Matched, implicit_prefix};
use crate::route::view::View;
use crate::router::RouterOptions;
use crate::split::{Weighted, fault_fires, mix64, pick_random, pick_sticky};
use crate::telemetry::CompiledTelemetry;
use crate::trace::{RuleTrace, Trace};
use crate::warning::Warning;

/// A validated, compiled policy: build it once, decide per request.
#[derive(Debug)]
pub struct Policy {
    /// Every rule of every virtual service, in document order.
    pub(crate) rules: Vec<CompiledRule>,
    pub(crate) services: Vec<CompiledVs>,
    /// The merged rule lists, one per distinct set of virtual services.
    pub(crate) groups: Vec<HostGroup>,
    pub(crate) hosts: HostTable,
    /// `istioctl analyze`-style findings that do not refuse the policy.
    pub(crate) warnings: Vec<Warning>,
    /// Whether any match entry has a `port` (computed once at compile).
    pub(crate) uses_port: bool,
    pub(crate) decision_header: Arc<str>,
    pub(crate) telemetry: CompiledTelemetry,
    pub(crate) unknown: Arc<str>,
}

/// One virtual service: its hosts and its rules (a range of `Policy::rules`).
#[derive(Debug)]
pub(crate) struct CompiledVs {
    pub(crate) name: Arc<str>,
    pub(crate) hosts: Vec<HostName>,
    pub(crate) rules: Range<usize>,
    /// `exportTo`, carried to the rendered VirtualService.
    pub(crate) export_to: Option<Vec<String>>,
    /// Some rule matches every request (merged last with others).
    pub(crate) catch_all: bool,
}

/// The rules that govern one or more hosts: the rules of its virtual
/// services in merge order, indexed by path.
#[derive(Debug)]
pub(crate) struct HostGroup {
    pub(crate) services: Vec<usize>,
    /// Indices into `Policy::rules`, in evaluation order.
    pub(crate) rules: Vec<u32>,
    /// Candidates by path; its ids are positions in `rules`.
    pub(crate) index: RuleIndex,
}

impl HostGroup {
    pub(crate) fn new(
        services: &[usize],
        all: &[CompiledVs],
        keys: &[Option<Vec<crate::index::Key<'_>>>],
    ) -> Self {
        let mut list = Vec::new();
        let mut index = RuleIndex::default();
        for vs in services.iter().filter_map(|&v| all.get(v)) {
            for r in vs.rules.clone() {
                let (Ok(id), Ok(pos)) = (u32::try_from(r), u32::try_from(list.len())) else {
                    continue;
                };
                let rule_keys = keys
                    .get(r)
                    .and_then(Option::as_deref)
                    .filter(|k| !k.is_empty());
                index.add(pos, rule_keys);
                list.push(id);
            }
        }
        HostGroup {
            services: services.to_vec(),
            rules: list,
            index,
        }
    }
}

#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub(crate) name: Arc<str>,
    /// Its virtual service (index in `spec.virtualServices`) and its index
    /// in that virtual service's `http`.
    pub(crate) vs_index: usize,
    pub(crate) index: usize,
    /// Empty: the rule matches every request.
    pub(crate) matches: Vec<CompiledMatch>,
    pub(crate) rewrite_path: Option<PathRewrite>,
    pub(crate) rewrite_authority: Option<Arc<str>>,
    pub(crate) fault: Option<FaultAbort>,
    pub(crate) request_ops: Vec<HeaderOp>,
    pub(crate) response_ops: Vec<HeaderOp>,
    pub(crate) action: Action,
    /// What Envoy's router enforces for the rule; never read by `decide`.
    pub(crate) router: Option<Arc<RouterOptions>>,
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
    /// `sticky.generate`: the cookie set for a key drawn when it is missing.
    pub(crate) generate: Option<GeneratedCookie>,
}

/// The cookie `sticky.generate` sets: `<name>=<key><attributes>`.
#[derive(Debug)]
pub(crate) struct GeneratedCookie {
    pub(crate) name: Arc<str>,
    /// `; Path=/; Max-Age=…; HttpOnly; SameSite=Lax`.
    pub(crate) attributes: Arc<str>,
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
    /// At most how many request header edits a decision of this rule has:
    /// the decision header's removal, the destination's, the rule's, and the
    /// decision header's set (one allocation per decision).
    fn request_edits(&self) -> usize {
        let dest = match &self.action {
            Action::Route(route) => route
                .dests
                .iter()
                .map(|d| d.request_ops.len())
                .max()
                .unwrap_or(0),
            Action::Redirect(_) | Action::Direct { .. } => 0,
        };
        dest + self.request_ops.len() + 2
    }

    /// The first entry that matches, in entry order.
    fn eval(&self, view: &View<'_, '_>) -> Option<Matched> {
        if self.matches.is_empty() {
            return Some(implicit_prefix(view.path));
        }
        self.matches.iter().find_map(|m| m.eval(view).ok())
    }
}

impl Policy {
    /// The request header that carries the chosen destination's key
    /// (`spec.settings.decisionHeader`, default `x-meshpolicy-route`).
    /// `decide` always emits a `Remove` of it first, so a client cannot
    /// pick its own destination, and a `Set` when a destination is chosen.
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

    /// Number of rules, over all virtual services.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Number of virtual services.
    pub fn virtual_service_count(&self) -> usize {
        self.services.len()
    }

    /// Findings that do not refuse the policy (several virtual services
    /// merged for one host, `perTryTimeout` longer than `timeout`, …), each
    /// with a typed kind: the CLI prints them, the filter logs them.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The router-enforced options (timeout, retries, mirrors, CORS,
    /// fault delay) of rule `index` of virtual service `virtual_service`
    /// (indices as in `MatchedRule`): what Envoy applies on the route of
    /// the rule's decision keys.
    pub fn router_options(&self, virtual_service: usize, index: usize) -> Option<&RouterOptions> {
        let vs = self.services.get(virtual_service)?;
        let rule = self.rules.get(vs.rules.start.checked_add(index)?)?;
        if rule.vs_index != virtual_service || rule.index != index {
            return None;
        }
        rule.router.as_deref()
    }

    /// Which host of the policy covers the request: by the virtual host
    /// Envoy selected when the proxy names it, else by `:authority`.
    fn select(&self, view: &View<'_, '_>) -> Option<(&HostEntry, Found)> {
        if self.hosts.is_empty() {
            return None;
        }
        let req = view.req;
        if let Some(vh) = req.virtual_host {
            return self
                .hosts
                .find_virtual_host(vh)
                .map(|e| (e, Found::VirtualHost));
        }
        let authority = req.first_header(":authority").unwrap_or("");
        self.hosts.find(authority, req.source.namespace.as_deref())
    }

    fn selected(&self, entry: &HostEntry, how: Found) -> SelectedHost {
        let services = self
            .groups
            .get(entry.group as usize)
            .map(|g| {
                g.services
                    .iter()
                    .filter_map(|&v| self.services.get(v))
                    .map(|vs| vs.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        SelectedHost {
            host: entry.name.clone(),
            virtual_services: services,
            how: how.describe(),
        }
    }

    /// Decide what to do with `req` (the fast path: indexed, no trace).
    pub fn decide(&self, req: &Request<'_>) -> Decision {
        let view = View::new(req);
        let Some((entry, how)) = self.select(&view) else {
            return self.act(&view, None, None, None);
        };
        let Some(group) = self.groups.get(entry.group as usize) else {
            return self.act(&view, None, None, None);
        };
        let mut best: Option<(usize, Matched)> = None;
        group
            .index
            .candidates(view.path_only, view.path_only.len(), |list| {
                for &pos in list {
                    let pos = pos as usize;
                    if best.is_some_and(|(b, _)| pos >= b) {
                        break;
                    }
                    let rule = group
                        .rules
                        .get(pos)
                        .and_then(|&r| self.rules.get(r as usize));
                    if let Some(m) = rule.and_then(|rule| rule.eval(&view)) {
                        best = Some((pos, m));
                        break;
                    }
                }
            });
        let found = best.and_then(|(pos, m)| Some((*group.rules.get(pos)? as usize, m)));
        self.act(&view, Some(self.selected(entry, how)), found, None)
    }

    /// Decide with a trace of the host selection and every rule tried
    /// (linear, in rule order).
    pub fn explain(&self, req: &Request<'_>) -> (Decision, Trace) {
        let view = View::new(req);
        let mut trace = Trace::default();
        let authority = req.first_header(":authority").unwrap_or("");
        let Some((entry, how)) = self.select(&view) else {
            trace.host = Some(match req.virtual_host {
                Some(vh) => format!(
                    "virtual host `{vh}` (xds.virtual_host_name) is not one of the policy's hosts: the request goes on untouched"
                ),
                None => format!(
                    "host `{}` is not covered by any virtual service: the request goes on untouched",
                    crate::hosts::strip_port(authority)
                ),
            });
            let decision = self.act(&view, None, None, Some(&mut trace.actions));
            return (decision, trace);
        };
        let selected = self.selected(entry, how);
        trace.host = Some(format!(
            "host `{}` matched `{}` ({}): virtual service {}",
            match req.virtual_host {
                Some(vh) => vh,
                None => crate::hosts::strip_port(authority),
            },
            selected.host,
            selected.how,
            selected
                .virtual_services
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(" then "),
        ));
        let mut found = None;
        let order = self
            .groups
            .get(entry.group as usize)
            .map(|g| g.rules.as_slice())
            .unwrap_or_default();
        for &r in order {
            let Some(rule) = self.rules.get(r as usize) else {
                continue;
            };
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
                virtual_service: self
                    .services
                    .get(rule.vs_index)
                    .map(|vs| vs.name.to_string())
                    .unwrap_or_default(),
                index: rule.index,
                name: rule.name.to_string(),
                matched: hit.is_some(),
                reasons,
            });
            if let Some(kind) = hit {
                found = Some((r as usize, kind));
                break;
            }
        }
        if found.is_none() {
            trace.actions.push(
                "no rule matched: Envoy's router answers 404 (route not found, NR)".to_owned(),
            );
        }
        let decision = self.act(&view, Some(selected), found, Some(&mut trace.actions));
        // what Envoy's router applies on the key's route (kept out of `act`:
        // the filter never explains, so its build carries none of this)
        if decision.destination.is_some()
            && let Some(o) = decision
                .rule
                .as_ref()
                .and_then(|r| self.router_options(r.virtual_service_index, r.index))
        {
            trace.actions.push(format!(
                "Envoy applies on the key's route: {}",
                o.describe().join("; ")
            ));
        }
        (decision, trace)
    }

    /// Build the decision for the matched rule (if any).
    fn act(
        &self,
        view: &View<'_, '_>,
        host: Option<SelectedHost>,
        found: Option<(usize, Matched)>,
        notes: Option<&mut Vec<String>>,
    ) -> Decision {
        let mut note = Notes(notes);
        let rule = found.and_then(|(index, _)| self.rules.get(index));
        let mut request_headers = Vec::with_capacity(rule.map_or(1, CompiledRule::request_edits));
        request_headers.push(HeaderOp::Remove {
            name: self.decision_header.clone(),
        });
        let mut d = Decision {
            host,
            rule: None,
            path: None,
            authority: None,
            request_headers,
            response_headers: Vec::new(),
            destination: None,
            local_response: None,
            rewrite_rejected: None,
            labels: DecisionLabels {
                policy_rule: self.unknown.clone(),
                policy_destination: self.unknown.clone(),
            },
        };
        let (Some((_, matched)), Some(rule)) = (found, rule) else {
            return d;
        };
        d.rule = Some(MatchedRule {
            virtual_service: self
                .services
                .get(rule.vs_index)
                .map(|vs| vs.name.clone())
                .unwrap_or_else(|| self.unknown.clone()),
            virtual_service_index: rule.vs_index,
            index: rule.index,
            name: rule.name.clone(),
        });
        d.labels.policy_rule = rule.name.clone();
        let req = view.req;

        if let Some(fault) = &rule.fault {
            if fault_fires(fault.ppm, req.random) {
                note.add(|| {
                    format!(
                        "fault.abort fired ({} ppm): status {}",
                        fault.ppm, fault.status
                    )
                });
                d.local_response = Some(local(fault.status, FAULT_ABORT_BODY));
                return d;
            }
            note.add(|| format!("fault.abort did not fire ({} ppm)", fault.ppm));
        }

        match &rule.action {
            Action::Direct { status, body } => {
                note.add(|| format!("directResponse: status {status}"));
                d.local_response = Some(local(*status, body));
            }
            Action::Redirect(r) => {
                let location = redirect_location(r, view);
                note.add(|| format!("redirect {} to `{location}`", r.code));
                d.local_response = Some(LocalResponse {
                    status: r.code,
                    headers: vec![("location".to_owned(), location)],
                    body: String::new(),
                });
            }
            Action::Route(route) => {
                let (chosen, drawn) = choose(route, view, &mut note);
                if let (Some(key), Some(cookie)) = (drawn, &route.generate) {
                    note.add(|| format!("set cookie `{}` to the drawn key", cookie.name));
                    d.response_headers.push(HeaderOp::Add {
                        name: Arc::from("set-cookie"),
                        value: Arc::from(format!("{}={key}{}", cookie.name, cookie.attributes)),
                    });
                }
                if let Some(rd) = route.dests.get(chosen) {
                    d.destination = Some(rd.dest.clone());
                    d.labels.policy_destination = rd.label.clone();
                    note.add(|| format!("destination `{}` (route[{chosen}])", rd.label));
                    d.request_headers.extend(rd.request_ops.iter().cloned());
                    d.response_headers.extend(rd.response_ops.iter().cloned());
                }
                if let Some(rw) = &rule.rewrite_path {
                    match rewrite_path(rw, view.path, matched) {
                        Ok(p) => {
                            note.add(|| format!("rewrite path `{}` to `{p}`", view.path));
                            d.path = Some(p);
                        }
                        Err(why) => {
                            note.add(|| format!("rewrite refused, answered 400: {why}"));
                            crate::http_syntax::refuse_rewrite(&mut d, why, &self.unknown);
                            return d;
                        }
                    }
                }
                if let Some(a) = &rule.rewrite_authority {
                    note.add(|| format!(
                        "authority `{a}` sent upstream (the rendered route of the key rewrites it)"
                    ));
                    d.authority = Some(a.clone());
                }
            }
        }
        d.request_headers.extend(rule.request_ops.iter().cloned());
        d.response_headers.extend(rule.response_ops.iter().cloned());
        if let Some(key) = d.destination.as_ref().map(|x| x.key.clone()) {
            note.add(|| format!("set `{}: {key}`", self.decision_header));
            d.request_headers.push(HeaderOp::Set {
                name: self.decision_header.clone(),
                value: key,
            });
        }
        d
    }
}

/// The trace lines of `explain`; `decide` passes none, and then no line is
/// ever formatted (the fast path pays for nothing it does not return).
struct Notes<'n>(Option<&'n mut Vec<String>>);

impl Notes<'_> {
    fn add(&mut self, line: impl FnOnce() -> String) {
        if let Some(lines) = self.0.as_deref_mut() {
            lines.push(line());
        }
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

/// Pick a destination: sticky when the key is present; else, with
/// `sticky.generate`, by a key drawn from the request's randomness (returned
/// so the response can set it); else random.
fn choose(route: &Route, view: &View<'_, '_>, note: &mut Notes<'_>) -> (usize, Option<String>) {
    if route.dests.len() <= 1 && route.generate.is_none() {
        return (0, None);
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

/// A key for a user without one: 16 hex digits from the request's
/// randomness (mixed, so that it does not follow the split's `random % Σw`).
fn drawn_key(random: u64) -> String {
    format!("{:016x}", mix64(random ^ 0x7374_6963_6b79_6b65))
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
