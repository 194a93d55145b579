//! Which sticky keys a change moves: for every rule with `sticky`, on either
//! side, the same keys decide on both policies, and every key whose
//! destination changes is counted (from → to). A key that leaves a
//! destination whose weight rose is what a canary step must never do.

use std::collections::{BTreeMap, BTreeSet};

use meshpolicy_engine::TrafficPolicy;
use meshpolicy_engine::model::{HttpRule, Sticky};
use serde::Serialize;

use super::classes::{Probe, probes_for_rule};
use super::outcome::{Outcome, Side};

/// The keys of one sticky split, before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StickyReport {
    /// `<virtual service>/<rule>` as the side that has it names it.
    pub rule: String,
    /// The request the keys were added to.
    pub request: String,
    /// Where the key travels: `header x-user-id`, `cookie user`, `query u`.
    pub key: String,
    pub keys: usize,
    /// Share of the keys per destination, before and after.
    pub before: BTreeMap<String, f64>,
    pub after: BTreeMap<String, f64>,
    /// Keys that changed destination: (from, to) → count.
    pub moves: Vec<Move>,
    pub moved: usize,
    /// Keys that left a destination whose weight rose: must be 0.
    pub moved_back: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Move {
    pub from: String,
    pub to: String,
    pub keys: usize,
}

fn key_place(sticky: &Sticky) -> Option<(&'static str, &str)> {
    if let Some(h) = &sticky.header {
        return Some(("header", h));
    }
    if let Some(c) = &sticky.cookie {
        return Some(("cookie", c));
    }
    sticky.query_param.as_deref().map(|q| ("query", q))
}

fn with_key(probe: &Probe, place: (&str, &str), key: &str) -> Probe {
    let mut p = probe.clone();
    match place {
        ("header", name) => {
            p.headers.insert(name.to_ascii_lowercase(), key.to_owned());
        }
        ("cookie", name) => {
            let cookie = match p.headers.get("cookie") {
                Some(c) => format!("{c}; {name}={key}"),
                None => format!("{name}={key}"),
            };
            p.headers.insert("cookie".to_owned(), cookie);
        }
        (_, name) => {
            let sep = if p.path.contains('?') { '&' } else { '?' };
            p.path = format!("{}{sep}{name}={key}", p.path);
        }
    }
    p
}

/// The sticky rules of a policy: (rule, the request that reaches it).
fn sticky_rules(doc: &TrafficPolicy) -> Vec<(&HttpRule, &Sticky, Probe)> {
    let mut out = Vec::new();
    for vs in &doc.spec.virtual_services {
        for rule in &vs.http {
            if let Some(sticky) = &rule.sticky
                && let Some(probe) = probes_for_rule(vs, rule, doc).into_iter().next()
            {
                out.push((rule, sticky, probe));
            }
        }
    }
    out
}

/// Every sticky split of either side, `keys` keys each (`user-0`, …).
pub fn sticky_moves(old: &Side, new: &Side, keys: usize) -> Vec<StickyReport> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for side in [old, new] {
        for (_, sticky, probe) in sticky_rules(&side.doc) {
            let Some(place) = key_place(sticky) else {
                continue;
            };
            if !seen.insert((probe.clone(), place.0, place.1.to_owned())) {
                continue;
            }
            if let Some(report) = one_split(old, new, &probe, place, keys) {
                out.push(report);
            }
        }
    }
    out
}

fn one_split(
    old: &Side,
    new: &Side,
    probe: &Probe,
    place: (&str, &str),
    keys: usize,
) -> Option<StickyReport> {
    let mut before: BTreeMap<String, usize> = BTreeMap::new();
    let mut after: BTreeMap<String, usize> = BTreeMap::new();
    let mut moves: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut weight_before: BTreeMap<String, f64> = BTreeMap::new();
    let mut weight_after: BTreeMap<String, f64> = BTreeMap::new();
    let mut rule = None;
    for i in 0..keys {
        let p = with_key(probe, place, &format!("user-{i}"));
        let (a, b) = (old.decide(&p, 0), new.decide(&p, 0));
        if rule.is_none() {
            rule = a
                .rule
                .as_ref()
                .or(b.rule.as_ref())
                .map(|r| format!("{}/{}", r.virtual_service, r.name));
        }
        let (from, to) = (Outcome::of(&a).target(), Outcome::of(&b).target());
        if let Some(w) = old.weight_share(&a) {
            weight_before.insert(from.clone(), w);
        }
        if let Some(w) = new.weight_share(&b) {
            weight_after.insert(to.clone(), w);
        }
        *before.entry(from.clone()).or_default() += 1;
        *after.entry(to.clone()).or_default() += 1;
        if from != to {
            *moves.entry((from, to)).or_default() += 1;
        }
    }
    let rose = |dest: &str| {
        let was = weight_before.get(dest).copied().unwrap_or(0.0);
        let is = weight_after.get(dest).copied().unwrap_or(0.0);
        is > was
    };
    let moved = moves.values().sum();
    let moved_back = moves
        .iter()
        .filter(|((from, _), _)| rose(from))
        .map(|(_, n)| n)
        .sum();
    let share = |m: BTreeMap<String, usize>| {
        m.into_iter()
            .map(|(k, n)| (k, n as f64 / keys.max(1) as f64))
            .collect()
    };
    Some(StickyReport {
        rule: rule?,
        request: probe.line(),
        key: format!("{} {}", place.0, place.1),
        keys,
        before: share(before),
        after: share(after),
        moves: moves
            .into_iter()
            .map(|((from, to), keys)| Move { from, to, keys })
            .collect(),
        moved,
        moved_back,
    })
}
