//! The compiled policy: its virtual services, the merged rule lists per
//! host and what it exposes about itself. Deciding is `decide.rs`; one rule
//! is `route/rule.rs`, its matchers and actions `route/match/`,
//! `route/action/`.

use std::ops::Range;
use std::sync::Arc;

use crate::hosts::{HostName, HostTable};
use crate::index::RuleIndex;
use crate::route::rule::CompiledRule;
use crate::router::RouterOptions;
use crate::telemetry::CompiledTelemetry;
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
}
