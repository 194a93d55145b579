//! Warnings in the spirit of `istioctl analyze` on a policy that compiled:
//! valid, but almost certainly not what was meant. Computed once at
//! configure time beside the errors (never on the request path), so the CLI
//! prints and the filter logs the same list (`Policy::warnings`).

use std::collections::HashMap;
use std::hash::BuildHasher;

use crate::error::{FieldPath, field, item, key};
use crate::hosts::{resolve, vs_path};
use crate::model::{HttpRule, MatchRequest, StringMatch, TrafficPolicy};
use crate::warning::{Warning, WarningKind};

/// The pseudo-headers Envoy hands a filter in the request header map.
const VISIBLE_PSEUDO_HEADERS: [&str; 4] = [":authority", ":method", ":path", ":scheme"];

/// Appends every warning about `doc`'s rules to `out`.
pub(crate) fn lint(doc: &TrafficPolicy, out: &mut Vec<Warning>) {
    let default_ns = doc.metadata.namespace.as_deref();
    for (v, vs) in doc.spec.virtual_services.iter().enumerate() {
        let http = field(&vs_path(v), "http");
        let namespace = vs.namespace.as_deref().or(default_ns);
        unreachable_rules(&vs.http, &http, out);
        undefined_subsets(doc, &vs.http, &http, namespace, out);
        lone_zero_weights(&vs.http, &http, out);
        invisible_headers(&vs.http, &http, out);
    }
}

fn rule_name(rule: &HttpRule, i: usize) -> String {
    rule.name.clone().unwrap_or_else(|| format!("http[{i}]"))
}

/// An entry that holds for every request: `:path` always starts with `/`.
fn matches_everything(m: &MatchRequest) -> bool {
    // nothing but `uri` (and `ignoreUriCase`): every field named, so a new
    // one cannot be forgotten
    let MatchRequest {
        name: None,
        uri,
        scheme: None,
        method: None,
        authority: None,
        headers,
        without_headers,
        query_params,
        ignore_uri_case: _,
        port: None,
        source_labels,
        source_namespace: None,
    } = m
    else {
        return false;
    };
    if !(headers.is_empty()
        && without_headers.is_empty()
        && query_params.is_empty()
        && source_labels.is_empty())
    {
        return false;
    }
    match uri {
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
fn unreachable_rules(rules: &[HttpRule], http: &FieldPath, out: &mut Vec<Warning>) {
    let mut catch_all: Option<usize> = None;
    // Each entry of the rules before, with the first rule that has it: one
    // lookup per entry keeps this linear (comparing every entry with every
    // earlier rule's took 45 s for 250 rules of 180 entries). foldhash, not
    // SipHash: hashing the entries was a fifth of configuring 5,000 prefix
    // rules. Seeded from std's random keys (foldhash's own `RandomState`
    // has only addresses to seed from without std, the same on every wasm
    // VM), so no policy can be written to make its entries collide.
    let seed = std::hash::RandomState::new().hash_one(rules.len());
    let entries: usize = rules
        .iter()
        .map(|r| r.match_.as_ref().map_or(0, Vec::len))
        .sum();
    let mut seen: HashMap<&MatchRequest, usize, foldhash::fast::FixedState> =
        HashMap::with_capacity_and_hasher(entries, foldhash::fast::FixedState::with_seed(seed));
    for (i, rule) in rules.iter().enumerate() {
        if let Some(k) = catch_all {
            let earlier = rules.get(k).map(|r| rule_name(r, k)).unwrap_or_default();
            out.push(Warning::new(
                WarningKind::UnreachableRule,
                item(http, i),
                format!(
                    "rule `{}` can never match: rule `{earlier}` before it matches every request",
                    rule_name(rule, i)
                ),
            ));
            continue;
        }
        let entries = rule.match_.as_deref().unwrap_or_default();
        for (m, entry) in entries.iter().enumerate() {
            let earlier = seen.get(entry).and_then(|&k| Some((k, rules.get(k)?)));
            if let Some((k, r)) = earlier {
                out.push(Warning::new(
                    WarningKind::IneffectiveMatch,
                    item(&field(&item(http, i), "match"), m),
                    format!(
                        "match[{m}] of rule `{}` can never be used: rule `{}` before it has the same match",
                        rule_name(rule, i),
                        rule_name(r, k)
                    ),
                ));
            }
        }
        for entry in entries {
            seen.entry(entry).or_insert(i);
        }
        if catches_everything(rule) {
            catch_all = Some(i);
        }
    }
}

/// IST0101-like: a route to a subset that no `spec.subsets` entry (no
/// DestinationRule) defines; Envoy would answer 503 (no healthy upstream).
fn undefined_subsets(
    doc: &TrafficPolicy,
    rules: &[HttpRule],
    http: &FieldPath,
    namespace: Option<&str>,
    out: &mut Vec<Warning>,
) {
    // the host resolved last: rules often route to the same one
    let mut last: Option<(&str, String)> = None;
    for (i, rule) in rules.iter().enumerate() {
        for (d, route) in rule.route.iter().flatten().enumerate() {
            let Some(dest) = &route.destination else {
                continue;
            };
            let Some(subset) = &dest.subset else { continue };
            if last.as_ref().is_none_or(|(host, _)| *host != dest.host) {
                let fqdn = resolve(&dest.host, namespace).unwrap_or_else(|| dest.host.clone());
                last = Some((dest.host.as_str(), fqdn));
            }
            let Some((_, fqdn)) = &last else { continue };
            let defined = doc
                .spec
                .subsets
                .get(fqdn.as_str())
                .is_some_and(|subsets| subsets.contains_key(subset));
            if !defined {
                let route_path = item(&field(&item(http, i), "route"), d);
                out.push(Warning::new(
                    WarningKind::UndefinedSubset,
                    field(&field(&route_path, "destination"), "subset"),
                    format!(
                        "subset `{subset}` of host `{}` is not defined by any DestinationRule or `spec.subsets` entry",
                        dest.host
                    ),
                ));
            }
        }
    }
}

/// A weight of 0 on the only destination is ignored: it gets every request.
fn lone_zero_weights(rules: &[HttpRule], http: &FieldPath, out: &mut Vec<Warning>) {
    for (i, rule) in rules.iter().enumerate() {
        if let Some([only]) = rule.route.as_deref()
            && only.weight == Some(0)
        {
            out.push(Warning::new(
                WarningKind::ZeroWeight,
                field(&item(&field(&item(http, i), "route"), 0), "weight"),
                "weights sum to 0 but this is the only destination: it still receives every request",
            ));
        }
    }
}

/// A header match on a pseudo-header the filter never sees (or on `host`,
/// which Envoy turns into `:authority`) can never hold.
fn invisible_headers(rules: &[HttpRule], http: &FieldPath, out: &mut Vec<Warning>) {
    for (i, rule) in rules.iter().enumerate() {
        for (m, entry) in rule.match_.iter().flatten().enumerate() {
            for (name, map) in [
                ("headers", &entry.headers),
                ("withoutHeaders", &entry.without_headers),
            ] {
                for header in map.keys() {
                    let lower = header.to_ascii_lowercase();
                    let invisible = lower == "host"
                        || (lower.starts_with(':')
                            && !VISIBLE_PSEUDO_HEADERS.contains(&lower.as_str()));
                    if invisible {
                        let entry_path = item(&field(&item(http, i), "match"), m);
                        out.push(Warning::new(
                            WarningKind::InvisibleHeader,
                            key(&field(&entry_path, name), header),
                            format!("header `{header}` is never in the request the filter sees"),
                        ));
                    }
                }
            }
        }
    }
}
