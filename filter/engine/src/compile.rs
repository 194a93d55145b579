//! `TrafficPolicy` -> `Policy`: validate everything (every error at once,
//! each with its field path) and compile regexes and the rule index once.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::lazy::{field, item, key};
use crate::error::{Errors, FieldPath, LazyPath, PolicyErrorKind, PolicyErrors};
use crate::hosts::{HostName, HostTable, parse_host, vs_path};
use crate::limits::{MAX_HEADER_NAME_BYTES, MAX_RULES};
use crate::model::{TrafficPolicy, VirtualService};
use crate::policy::{CompiledVs, HostGroup, Policy};
use crate::route::rule::{Action, CompiledRule};
use crate::warning::{Warning, WarningKind};

/// The `apiVersion` and `kind` of a policy document.
pub const API_VERSION: &str = "meshpolicy.dev/v1alpha2";
/// The first version, whose rules applied to every host (refused with help).
pub const API_VERSION_V1: &str = "meshpolicy.dev/v1alpha1";
pub const KIND: &str = "TrafficPolicy";
/// Default `spec.settings.decisionHeader`.
pub const DEFAULT_DECISION_HEADER: &str = "x-meshpolicy-route";
/// Default `spec.settings.metricPrefix`.
pub const DEFAULT_METRIC_PREFIX: &str = "meshpolicy_";

pub(crate) fn compile(doc: &TrafficPolicy) -> Result<Policy, PolicyErrors> {
    let mut errors = Errors::default();
    // An empty apiVersion/kind is accepted (a bare pluginConfig); a wrong one is not.
    if doc.api_version == API_VERSION_V1 {
        errors.push(
            &FieldPath::fields(&["apiVersion"]),
            PolicyErrorKind::ApiVersionV1,
        );
    } else if !doc.api_version.is_empty() && doc.api_version != API_VERSION {
        errors.push(
            &FieldPath::fields(&["apiVersion"]),
            PolicyErrorKind::UnsupportedApiVersion {
                found: doc.api_version.clone(),
            },
        );
    }
    if !doc.kind.is_empty() && doc.kind != KIND {
        errors.push(
            &FieldPath::fields(&["kind"]),
            PolicyErrorKind::UnsupportedKind {
                found: doc.kind.clone(),
            },
        );
    }
    let spec = &doc.spec;
    let settings = spec.settings.clone().unwrap_or_default();
    let decision_header = settings
        .decision_header
        .as_deref()
        .unwrap_or(DEFAULT_DECISION_HEADER)
        .to_ascii_lowercase();
    if settings.decision_header.is_some() {
        let p = &FieldPath::fields(&["spec", "settings", "decisionHeader"]);
        check_header_name(&decision_header, &LazyPath::from(p), &mut errors);
        if decision_header.starts_with(':') || decision_header == "host" {
            errors.push(
                p,
                PolicyErrorKind::ReservedDecisionHeader {
                    name: decision_header.clone(),
                },
            );
        }
    }
    // `spec.telemetry` and `spec.settings.metricPrefix` belong to the telemetry module.
    let telemetry = crate::telemetry::compile_into(
        &spec.telemetry,
        settings.metric_prefix.as_deref(),
        &mut errors,
    );
    check_subsets(&spec.subsets, &mut errors);
    crate::router::compile::destination_rules(&spec.destination_rules, &spec.subsets, &mut errors);
    let mut warnings = Vec::new();

    let mut rules = Vec::new();
    let mut keys = Vec::new();
    let mut services = Vec::with_capacity(spec.virtual_services.len());
    let total_rules: usize = spec.virtual_services.iter().map(|vs| vs.http.len()).sum();
    if total_rules > MAX_RULES {
        errors.push(
            &FieldPath::fields(&["spec", "virtualServices"]),
            PolicyErrorKind::TooManyRules {
                count: total_rules,
                limit: MAX_RULES,
            },
        );
    }
    let default_ns = doc.metadata.namespace.as_deref();
    let mut vs_names: BTreeMap<&str, usize> = BTreeMap::new();
    // past a regex bound nothing is compiled: compiling is what costs
    crate::cost::check_all_regexes(&spec.virtual_services, &mut errors)?;
    for (v, vs) in spec.virtual_services.iter().enumerate() {
        let vs_at = vs_path(v);
        let vp = LazyPath::from(&vs_at);
        let namespace = vs.namespace.as_deref().or(default_ns);
        check_vs_identity(vs, v, &vp, &mut vs_names, &mut errors);
        let hosts = vs_hosts(vs, namespace, &vp, &mut errors);
        if let Some(list) = &vs.export_to {
            crate::router::compile::export_to(list, &field(&vp, "exportTo"), &mut errors);
        }
        // only the selected host's rules run on a request: the regex bound
        // holds per virtual service
        let first = rules.len();
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let http = field(&vp, "http");
        for (i, rule) in vs.http.iter().enumerate() {
            let path = item(&http, i);
            if let Some(name) = rule.name.as_deref()
                && let Some(first) = names.insert(name, i)
            {
                errors.push(
                    &field(&path, "name"),
                    PolicyErrorKind::DuplicateRuleName {
                        name: name.to_owned(),
                        also: item(&http, first).to_path(),
                    },
                );
                names.insert(name, first);
            }
            let scope = crate::route::rule::RuleScope {
                vs: &vs.name,
                vs_index: v,
                namespace,
            };
            let (compiled, rule_keys) = crate::route::rule::compile_rule(
                rule,
                i,
                &scope,
                &path,
                &decision_header,
                &mut errors,
                &mut warnings,
            );
            rules.push(compiled);
            keys.push(rule_keys);
        }
        services.push(CompiledVs {
            name: Arc::from(vs.name.as_str()),
            hosts,
            rules: first..rules.len(),
            export_to: vs.export_to.clone(),
            catch_all: vs
                .http
                .iter()
                .any(|r| r.match_.as_ref().is_none_or(Vec::is_empty)),
        });
    }
    check_key_collisions(&rules, &mut errors);
    let (groups, hosts) = group_hosts(&services, &keys, &mut errors, &mut warnings);
    errors.into_result()?;
    crate::lint::lint(doc, &mut warnings);
    let uses_port = rules
        .iter()
        .any(|rule| rule.matches.iter().any(|m| m.port.is_some()));
    Ok(Policy {
        rules,
        services,
        groups,
        hosts,
        uses_port,
        decision_header: Arc::from(decision_header),
        telemetry,
        unknown: Arc::from("unknown"),
        warnings,
    })
}

/// A virtual service's `name` and `namespace`: Kubernetes names, the name
/// unique in the policy (it names the rendered VirtualServices).
fn check_vs_identity<'d>(
    vs: &'d VirtualService,
    v: usize,
    vp: &LazyPath<'_>,
    seen: &mut BTreeMap<&'d str, usize>,
    errors: &mut Errors,
) {
    if !is_dns1123_subdomain(&vs.name) {
        errors.push(
            &field(vp, "name"),
            PolicyErrorKind::InvalidVirtualServiceName {
                name: vs.name.clone(),
            },
        );
    } else if let Some(first) = seen.insert(vs.name.as_str(), v) {
        errors.push(
            &field(vp, "name"),
            PolicyErrorKind::DuplicateVirtualServiceName {
                name: vs.name.clone(),
                also: vs_path(first),
            },
        );
    }
    if let Some(ns) = &vs.namespace
        && !is_dns1123_label(ns)
    {
        errors.push(
            &field(vp, "namespace"),
            PolicyErrorKind::InvalidNamespace {
                namespace: ns.clone(),
            },
        );
    }
}

/// Istio's host validation: at least one host, each valid, none twice.
fn vs_hosts(
    vs: &VirtualService,
    namespace: Option<&str>,
    vp: &LazyPath<'_>,
    errors: &mut Errors,
) -> Vec<HostName> {
    let hp = field(vp, "hosts");
    if vs.hosts.is_empty() {
        errors.push(&hp, PolicyErrorKind::NoHosts);
    }
    let mut hosts: Vec<HostName> = Vec::with_capacity(vs.hosts.len());
    for (h, raw) in vs.hosts.iter().enumerate() {
        let p = item(&hp, h);
        let Some(host) = parse_host(raw, namespace, &p, errors) else {
            continue;
        };
        if hosts.contains(&host) {
            errors.push(
                &p,
                PolicyErrorKind::DuplicateHost {
                    raw: raw.clone(),
                    host: host.as_istio().to_string(),
                },
            );
            continue;
        }
        hosts.push(host);
    }
    hosts
}

/// Hosts -> groups of virtual services (several naming one host are merged:
/// in document order, those with a catch-all rule last), each group with its
/// merged rule list and index; a warning per merged host (and an error
/// when the merged ones export the host's VirtualService differently: the
/// rendered one has a single `exportTo`).
fn group_hosts(
    services: &[CompiledVs],
    keys: &[Option<Vec<crate::index::Key<'_>>>],
    errors: &mut Errors,
    warnings: &mut Vec<Warning>,
) -> (Vec<HostGroup>, HostTable) {
    let mut by_host: BTreeMap<&HostName, Vec<usize>> = BTreeMap::new();
    for (v, vs) in services.iter().enumerate() {
        for host in &vs.hosts {
            by_host.entry(host).or_default().push(v);
        }
    }
    let mut groups: Vec<HostGroup> = Vec::new();
    let mut group_of: BTreeMap<Vec<usize>, u32> = BTreeMap::new();
    let mut table = HostTable::default();
    for (host, list) in by_host {
        // Document order, catch-alls after the others: a stable partition
        // (what a stable sort by the flag gives, without a sort's code).
        let (mut list, catch_alls): (Vec<usize>, Vec<usize>) = list
            .into_iter()
            .partition(|&v| !services.get(v).is_some_and(|s| s.catch_all));
        list.extend(catch_alls);
        if list.len() > 1 {
            let names: Vec<String> = list
                .iter()
                .filter_map(|&v| services.get(v))
                .map(|s| format!("`{}`", s.name))
                .collect();
            let exports: Vec<(usize, &Option<Vec<String>>)> = list
                .iter()
                .filter_map(|&v| services.get(v).map(|s| (v, &s.export_to)))
                .collect();
            if let Some(((_, first), (v, other))) = exports
                .first()
                .and_then(|f| exports.iter().find(|e| e.1 != f.1).map(|o| (f, o)))
            {
                errors.push(
                    &vs_path(*v).field("exportTo"),
                    PolicyErrorKind::MergedExportToDiffers {
                        host: host.as_istio().to_string(),
                        first: format!("{first:?}"),
                        other: format!("{other:?}"),
                    },
                );
            }
            warnings.push(Warning::new(
                WarningKind::MergedVirtualServices,
                vs_path(list.first().copied().unwrap_or(0)),
                format!(
                    "host `{}` is named by {} virtual services; their rules are merged in this order: {} (Istio's sidecars would keep only the oldest)",
                    host.as_istio(),
                    list.len(),
                    names.join(", ")
                ),
            ));
        }
        let id = match group_of.get(&list) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(groups.len()).unwrap_or(u32::MAX);
                groups.push(HostGroup::new(&list, services, keys));
                group_of.insert(list.clone(), id);
                id
            }
        };
        table.insert(host, Arc::from(host.as_istio()), id);
    }
    (groups, table)
}

/// Two different option sets whose 8-hex hashes collide would share a
/// decision key (and so a route): refuse rather than route wrongly.
fn check_key_collisions(rules: &[CompiledRule], errors: &mut Errors) {
    fn canonical(rule: &CompiledRule) -> &str {
        rule.router.as_ref().map_or("", |o| o.canonical.as_str())
    }
    // decision key -> the rule that first routes to it (its index in
    // `rules`: the map type of the walk's name checks, one copy of its code)
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (r, rule) in rules.iter().enumerate() {
        let Action::Route(route) = &rule.action else {
            continue;
        };
        for rd in &route.dests {
            let Some(first) = seen.get(&*rd.dest.key).and_then(|&f| rules.get(f)) else {
                seen.insert(&rd.dest.key, r);
                continue;
            };
            if canonical(first) != canonical(rule) {
                errors.push(
                    &vs_path(rule.vs_index).field("http").index(rule.index),
                    PolicyErrorKind::DecisionKeyCollision {
                        key: rd.dest.key.to_string(),
                        also: vs_path(first.vs_index).field("http").index(first.index),
                    },
                );
            }
        }
    }
}

fn check_subsets(
    subsets: &BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    errors: &mut Errors,
) {
    let root = FieldPath::fields(&["spec", "subsets"]);
    let root = LazyPath::from(&root);
    for (host, by_name) in subsets {
        let hp = key(&root, host);
        if host.is_empty() {
            errors.push(&hp, PolicyErrorKind::EmptyHost);
        } else if !host.contains('.') {
            errors.push(
                &hp,
                PolicyErrorKind::SubsetHostNotFqdn { host: host.clone() },
            );
        }
        for name in by_name.keys() {
            if !is_dns1123_label(name) {
                errors.push(
                    &key(&hp, name),
                    PolicyErrorKind::InvalidSubsetName { name: name.clone() },
                );
            }
        }
    }
}

/// RFC 7230 token, at most `MAX_HEADER_NAME_BYTES`; pseudo-headers allowed
/// (callers decide where they are not).
pub(crate) fn check_header_name(name: &str, path: &LazyPath<'_>, errors: &mut Errors) {
    let body = name.strip_prefix(':').unwrap_or(name);
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if body.is_empty() || !body.bytes().all(token) {
        errors.push(
            path,
            PolicyErrorKind::InvalidHeaderName {
                name: name.to_owned(),
            },
        );
    } else if name.len() > MAX_HEADER_NAME_BYTES {
        errors.push(
            path,
            PolicyErrorKind::HeaderNameTooLong {
                len: name.len(),
                limit: MAX_HEADER_NAME_BYTES,
            },
        );
    }
}

/// Kubernetes DNS-1123 subdomain: dot-separated labels, at most 253.
pub(crate) fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

/// Kubernetes DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63.
pub(crate) fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 63
        && b.first().is_some_and(alnum)
        && b.last().is_some_and(alnum)
        && b.iter().all(|c| alnum(c) || *c == b'-')
}

#[cfg(test)]
mod tests;
