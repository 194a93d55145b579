//! Warnings in the spirit of `istioctl analyze` on a policy the engine
//! accepted: things that are valid but almost certainly not what was meant.

use std::collections::HashMap;

use meshpolicy_engine::TrafficPolicy;
use meshpolicy_engine::model::{HttpRule, MatchRequest, StringMatch};

use crate::diagnostic::Diagnostic;
use crate::import::Merged;

/// The pseudo-headers Envoy hands a filter in the request header map.
const VISIBLE_PSEUDO_HEADERS: [&str; 4] = [":authority", ":method", ":path", ":scheme"];

/// Every warning for `policy`, located through `merged`'s origins.
pub fn lint(policy: &TrafficPolicy, merged: &Merged) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let default_ns = policy.metadata.namespace.as_deref();
    for (v, vs) in policy.spec.virtual_services.iter().enumerate() {
        let at = VsAt {
            base: format!("spec.virtualServices[{v}]"),
            namespace: vs.namespace.as_deref().or(default_ns),
        };
        unreachable_rules(&vs.http, &at, merged, &mut out);
        undefined_subsets(policy, &vs.http, &at, merged, &mut out);
        lone_zero_weights(&vs.http, &at, merged, &mut out);
        invisible_headers(&vs.http, &at, merged, &mut out);
    }
    out
}

/// The engine's warnings (merged virtual services, router options Istio
/// would warn about), each with its typed code, located through `merged`'s
/// origins.
pub fn engine_warnings(policy: &meshpolicy_engine::Policy, merged: &Merged) -> Vec<Diagnostic> {
    policy
        .warnings()
        .iter()
        .map(|w| {
            merged.diag_at(
                Diagnostic::warning(w.kind.code(), w.message.clone()).with_help(w.kind.help()),
                &w.path,
            )
        })
        .collect()
}

/// Where a virtual service's rules are: its field path and the namespace
/// its short hosts resolve in.
struct VsAt<'a> {
    base: String,
    namespace: Option<&'a str>,
}

fn rule_name(rule: &HttpRule, i: usize) -> String {
    rule.name.clone().unwrap_or_else(|| format!("http[{i}]"))
}

/// An entry that holds for every request: `:path` always starts with `/`.
fn matches_everything(m: &MatchRequest) -> bool {
    let only_uri = MatchRequest {
        uri: m.uri.clone(),
        ignore_uri_case: m.ignore_uri_case,
        ..MatchRequest::default()
    };
    if *m != only_uri {
        return false;
    }
    match &m.uri {
        Some(StringMatch {
            prefix: Some(p),
            exact: None,
            regex: None,
        }) => p == "/",
        Some(StringMatch {
            regex: Some(r),
            exact: None,
            prefix: None,
        }) => r == ".*" || r == "/.*",
        _ => false,
    }
}

fn catches_everything(rule: &HttpRule) -> bool {
    match &rule.match_ {
        None => true,
        Some(entries) => entries.iter().any(matches_everything),
    }
}

/// IST0130/IST0131-like: a rule after a catch-all, or a match entry equal to
/// an earlier rule's, can never be chosen (first match wins).
fn unreachable_rules(
    rules: &[HttpRule],
    at: &VsAt<'_>,
    merged: &Merged,
    out: &mut Vec<Diagnostic>,
) {
    let mut catch_all: Option<usize> = None;
    // Each entry of the rules before, as JSON, with the first rule that has
    // it: one lookup per entry keeps this linear (comparing every entry with
    // every earlier rule's took 45 s for 250 rules of 180 entries).
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, rule) in rules.iter().enumerate() {
        if let Some(k) = catch_all {
            let earlier = rules.get(k).map(|r| rule_name(r, k)).unwrap_or_default();
            out.push(
                merged.diag_at(
                    Diagnostic::warning(
                        "unreachable-rule",
                        format!(
                            "rule `{}` can never match: rule `{earlier}` before it matches every request",
                            rule_name(rule, i)
                        ),
                    )
                    .with_help("move the catch-all rule last, or give it a `match`"),
                    &format!("{}.http[{i}]", at.base),
                ),
            );
            continue;
        }
        let keys: Vec<Option<String>> = rule
            .match_
            .iter()
            .flatten()
            .map(|entry| serde_json::to_string(entry).ok())
            .collect();
        for (m, key) in keys.iter().enumerate() {
            let earlier = key
                .as_ref()
                .and_then(|key| seen.get(key))
                .and_then(|&k| Some((k, rules.get(k)?)));
            if let Some((k, r)) = earlier {
                out.push(merged.diag_at(
                    Diagnostic::warning(
                        "ineffective-match",
                        format!(
                            "match[{m}] of rule `{}` can never be used: rule `{}` before it has the same match",
                            rule_name(rule, i),
                            rule_name(r, k)
                        ),
                    ),
                    &format!("{}.http[{i}].match[{m}]", at.base),
                ));
            }
        }
        for key in keys.into_iter().flatten() {
            seen.entry(key).or_insert(i);
        }
        if catches_everything(rule) {
            catch_all = Some(i);
        }
    }
}

/// IST0101-like: a route to a subset that no DestinationRule (or
/// `spec.subsets` entry) defines; Envoy would answer 503 (no healthy upstream).
fn undefined_subsets(
    policy: &TrafficPolicy,
    rules: &[HttpRule],
    at: &VsAt<'_>,
    merged: &Merged,
    out: &mut Vec<Diagnostic>,
) {
    for (i, rule) in rules.iter().enumerate() {
        for (d, route) in rule.route.iter().flatten().enumerate() {
            let Some(dest) = &route.destination else {
                continue;
            };
            let Some(subset) = &dest.subset else { continue };
            let fqdn = meshpolicy_engine::resolve_host(&dest.host, at.namespace);
            let defined = policy
                .spec
                .subsets
                .get(&fqdn)
                .is_some_and(|subsets| subsets.contains_key(subset));
            if !defined {
                out.push(
                    merged.diag_at(
                        Diagnostic::warning(
                            "undefined-subset",
                            format!(
                                "subset `{subset}` of host `{}` is not defined by any DestinationRule or `spec.subsets` entry",
                                dest.host
                            ),
                        )
                        .with_help("add the DestinationRule that defines it to the files you pass, or a `spec.subsets` entry"),
                        &format!("{}.http[{i}].route[{d}].destination.subset", at.base),
                    ),
                );
            }
        }
    }
}

/// A weight of 0 on the only destination is ignored: it gets every request.
fn lone_zero_weights(
    rules: &[HttpRule],
    at: &VsAt<'_>,
    merged: &Merged,
    out: &mut Vec<Diagnostic>,
) {
    for (i, rule) in rules.iter().enumerate() {
        if let Some([only]) = rule.route.as_deref()
            && only.weight == Some(0)
        {
            out.push(merged.diag_at(
                Diagnostic::warning(
                    "zero-weight",
                    "weights sum to 0 but this is the only destination: it still receives every request",
                )
                .with_help("remove the weight, or add the destination that should get the traffic"),
                &format!("{}.http[{i}].route[0].weight", at.base),
            ));
        }
    }
}

/// A header match on a pseudo-header the filter never sees (or on `host`,
/// which Envoy turns into `:authority`) can never hold.
fn invisible_headers(
    rules: &[HttpRule],
    at: &VsAt<'_>,
    merged: &Merged,
    out: &mut Vec<Diagnostic>,
) {
    for (i, rule) in rules.iter().enumerate() {
        for (m, entry) in rule.match_.iter().flatten().enumerate() {
            for (field, map) in [
                ("headers", &entry.headers),
                ("withoutHeaders", &entry.without_headers),
            ] {
                for name in map.keys() {
                    let lower = name.to_ascii_lowercase();
                    let reason = if lower == "host" {
                        "Envoy turns `host` into `:authority`; match on `authority` instead"
                    } else if lower.starts_with(':')
                        && !VISIBLE_PSEUDO_HEADERS.contains(&lower.as_str())
                    {
                        "the filter sees only the :authority, :method, :path and :scheme pseudo-headers"
                    } else {
                        continue;
                    };
                    out.push(
                        merged.diag_at(
                            Diagnostic::warning(
                                "invisible-header",
                                format!("header `{name}` is never in the request the filter sees"),
                            )
                            .with_help(reason),
                            &format!(
                                "{}.http[{i}].match[{m}].{field}[{}]",
                                at.base,
                                serde_json::Value::from(name.as_str())
                            ),
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
