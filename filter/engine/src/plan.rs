//! What Envoy's router must know about a policy, per host (SPEC §2.4): the
//! rules that govern each host in merge order and every decision key its
//! rules can set, with the destination the key routes to. `policy-cli
//! render` turns it into the one VirtualService Istio's sidecars use per host.

use serde::Serialize;

use crate::policy::Policy;
use crate::route::rule::Action;
use crate::router::RouterOptions;

/// One host of the policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostPlan {
    /// As Istio names it: an FQDN, `*.suffix` or `*`.
    pub host: String,
    /// The virtual services whose rules govern it, in merge order
    /// (indices in `spec.virtualServices`).
    pub virtual_services: Vec<usize>,
    /// Its rules in evaluation order: (virtual service index, rule index).
    pub rules: Vec<(usize, usize)>,
    /// Every decision key its rules can set, in first-use order.
    pub keys: Vec<KeyRoute>,
}

/// A decision key and the destination Envoy routes it to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyRoute {
    pub key: String,
    /// FQDN.
    pub host: String,
    pub subset: Option<String>,
    pub port: Option<u32>,
    /// The Host sent upstream (the rule's `rewrite.authority`).
    pub authority: Option<String>,
    /// The first rule that sets it: (virtual service index, rule index).
    pub rule: (usize, usize),
    /// What Envoy's router applies on the key's route (the rule's timeout,
    /// retries, mirrors, CORS, fault delay): part of the key.
    pub options: Option<RouterOptions>,
}

impl Policy {
    /// Per host of the policy (sorted by host), its rules and decision keys.
    pub fn host_plans(&self) -> Vec<HostPlan> {
        let mut plans: Vec<HostPlan> = Vec::new();
        for vs in &self.services {
            for host in &vs.hosts {
                let name = host.as_istio();
                if plans.iter().any(|p| p.host == name) {
                    continue;
                }
                let Some(entry) = self.hosts.entry_of(host) else {
                    continue;
                };
                let Some(group) = self.groups.get(entry.group as usize) else {
                    continue;
                };
                let mut plan = HostPlan {
                    host: name,
                    virtual_services: group.services.clone(),
                    rules: Vec::new(),
                    keys: Vec::new(),
                };
                for &r in &group.rules {
                    let Some(rule) = self.rules.get(r as usize) else {
                        continue;
                    };
                    let at = (rule.vs_index, rule.index);
                    plan.rules.push(at);
                    let Action::Route(route) = &rule.action else {
                        continue;
                    };
                    for rd in &route.dests {
                        let d = &rd.dest;
                        if plan.keys.iter().any(|k| *k.key == *d.key) {
                            continue;
                        }
                        plan.keys.push(KeyRoute {
                            key: d.key.to_string(),
                            host: d.host.to_string(),
                            subset: d.subset.as_deref().map(str::to_owned),
                            port: d.port,
                            authority: rule.rewrite_authority.as_deref().map(str::to_owned),
                            rule: at,
                            options: rule.router.as_deref().cloned(),
                        });
                    }
                }
                plans.push(plan);
            }
        }
        plans.sort_by(|a, b| a.host.cmp(&b.host));
        plans
    }
}

/// Resolves a host as Istio does for a resource in `namespace`: a name
/// without a dot is a service of that namespace (`reviews` ->
/// `reviews.<namespace>.svc.cluster.local`); anything else stays as written.
pub fn resolve_host(host: &str, namespace: Option<&str>) -> String {
    crate::hosts::resolve(host, namespace).unwrap_or_else(|| host.to_owned())
}
