//! Canary steps as tests: `expect.shares` sends `keys` requests with
//! generated sticky keys (`user-0`, `user-1`, … in the rule's sticky header,
//! cookie or query parameter; for a split without `sticky` the same request
//! `keys` times, and the filter draws) through the `.wasm` and Envoy's
//! router, and compares each destination's share of them. A case's
//! `step: {from: {v2: 20}, to: {v2: 30}}` runs the same keys through the
//! policy with the rule's weights set as `from` and as `to` (destinations
//! not named share the rest of 100 in their current proportion) and counts
//! the keys that change destination (`expect.moved`, a share) and those that
//! leave a destination whose weight rose (`expect.movedBack`: 0 for a split
//! that only ever moves keys toward the canary).

use std::collections::BTreeMap;

use meshpolicy_engine::{Policy, Request};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::request::RequestSpec;
use crate::testfile::{Expect, NodeMeta, PeerMeta};
use crate::testrun::parse_cluster;
use crate::wasm::{Filter, send};

/// `step: {from: {v2: 20}, to: {v2: 30}}`: weights by subset (or host).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub from: BTreeMap<String, u32>,
    pub to: BTreeMap<String, u32>,
}

/// Keys sent when a case does not say.
pub const DEFAULT_KEYS: usize = 10_000;
/// Share tolerance when a case does not say.
pub const DEFAULT_TOLERANCE: f64 = 0.01;
/// At most this many keys per case (each is a request on the `.wasm`).
pub const MAX_KEYS: usize = 1_000_000;

/// Everything a canary check needs to start plugins like the case's own.
pub struct Setup<'a> {
    pub filter: &'a Filter,
    pub policy_json: &'a str,
    pub node: &'a NodeMeta,
    pub peer: &'a PeerMeta,
    pub table: host_tests::RouteTable,
    pub request: &'a RequestSpec,
    pub status: u32,
    pub port: u16,
}

/// One compared value: (field, expected, actual).
pub type Compared = (String, String, String);

/// The rule the case's request reaches, and where its sticky key travels.
struct Split {
    virtual_service: usize,
    rule: usize,
    key: Option<(String, String)>,
}

fn split_of(setup: &Setup<'_>, doc: &Value) -> Result<Split, Diagnostic> {
    let policy = Policy::from_json(setup.policy_json)
        .map_err(|e| Diagnostic::error("internal", format!("the policy does not compile: {e}")))?;
    let headers = setup.request.wire_headers();
    let source = setup.node.source_info();
    let decision = policy.decide(&Request {
        headers: &headers,
        source: &source,
        port: Some(u32::from(setup.port)),
        random: 0,
        virtual_host: None,
    });
    let rule = decision.rule.ok_or_else(|| {
        Diagnostic::error(
            "bad-test",
            "`shares`/`step` need a request that a rule with a `route` decides; no rule matched it",
        )
    })?;
    let sticky = doc
        .pointer(&format!(
            "/spec/virtualServices/{}/http/{}/sticky",
            rule.virtual_service_index, rule.index
        ))
        .and_then(Value::as_object);
    let key = sticky.and_then(|s| {
        ["header", "cookie", "queryParam"].iter().find_map(|k| {
            s.get(*k)
                .and_then(Value::as_str)
                .map(|v| ((*k).to_owned(), v.to_owned()))
        })
    });
    Ok(Split {
        virtual_service: rule.virtual_service_index,
        rule: rule.index,
        key,
    })
}

fn with_key(req: &RequestSpec, key: &Option<(String, String)>, value: &str) -> RequestSpec {
    let mut r = req.clone();
    match key.as_ref().map(|(k, n)| (k.as_str(), n.as_str())) {
        Some(("header", name)) => r
            .headers
            .push((name.to_ascii_lowercase(), value.to_owned())),
        Some(("cookie", name)) => r
            .headers
            .push(("cookie".to_owned(), format!("{name}={value}"))),
        Some((_, name)) => {
            let sep = if r.path.contains('?') { '&' } else { '?' };
            r.path = format!("{}{sep}{name}={value}", r.path);
        }
        None => {}
    }
    r
}

/// Where one request landed: the subset of the cluster, else its host, or
/// how it was not routed.
fn landed(setup: &Setup<'_>, plugin: &mut host_tests::Plugin, req: &RequestSpec) -> String {
    let outcome = send(plugin, req, setup.status);
    match (&outcome.cluster, &outcome.local) {
        (Some(cluster), _) => match parse_cluster(cluster) {
            Some((host, subset, _)) => subset.unwrap_or(host).to_owned(),
            None => cluster.clone(),
        },
        (None, Some((status, _, _))) => format!("(local {status})"),
        (None, None) => "(not routed)".to_owned(),
    }
}

/// The policy with the rule's weights set by subset (or host) name.
fn reweighted(
    doc: &Value,
    split: &Split,
    weights: &BTreeMap<String, u32>,
) -> Result<(String, BTreeMap<String, f64>), Diagnostic> {
    let mut doc = doc.clone();
    let route = doc
        .pointer_mut(&format!(
            "/spec/virtualServices/{}/http/{}/route",
            split.virtual_service, split.rule
        ))
        .and_then(Value::as_array_mut)
        .ok_or_else(|| Diagnostic::error("bad-test", "`step` needs a rule with a `route`"))?;
    let name_of = |d: &Value| {
        let dest = d.get("destination");
        dest.and_then(|d| d.get("subset"))
            .or_else(|| dest.and_then(|d| d.get("host")))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let names: Vec<String> = route.iter().map(name_of).collect();
    for n in weights.keys() {
        if !names.contains(n) {
            return Err(Diagnostic::error(
                "bad-test",
                format!(
                    "`step` names `{n}`, which is not a destination of the rule (it has {})",
                    names.join(", ")
                ),
            ));
        }
    }
    let named: u32 = weights.values().sum();
    let rest = 100u32.saturating_sub(named);
    let others: Vec<usize> = (0..route.len())
        .filter(|i| names.get(*i).is_some_and(|n| !weights.contains_key(n)))
        .collect();
    let current = |d: &Value| d.get("weight").and_then(Value::as_u64).unwrap_or(0);
    let other_total: u64 = others
        .iter()
        .filter_map(|i| route.get(*i))
        .map(current)
        .sum();
    // The rest shared in proportion (largest remainder, so it sums exactly).
    let mut given: Vec<(usize, u64, f64)> = others
        .iter()
        .filter_map(|&i| route.get(i).map(|d| (i, current(d))))
        .map(|(i, w)| {
            let exact = if other_total == 0 {
                f64::from(rest) / others.len().max(1) as f64
            } else {
                f64::from(rest) * w as f64 / other_total as f64
            };
            (i, exact.floor() as u64, exact - exact.floor())
        })
        .collect();
    let mut left = u64::from(rest).saturating_sub(given.iter().map(|g| g.1).sum());
    given.sort_by(|a, b| b.2.total_cmp(&a.2));
    for g in given.iter_mut() {
        if left == 0 {
            break;
        }
        g.1 += 1;
        left -= 1;
    }
    for (i, d) in route.iter_mut().enumerate() {
        let w = match names.get(i).and_then(|n| weights.get(n)) {
            Some(w) => u64::from(*w),
            None => given.iter().find(|g| g.0 == i).map_or(0, |g| g.1),
        };
        if let Some(obj) = d.as_object_mut() {
            obj.insert("weight".to_owned(), Value::from(w));
        }
    }
    let total: u64 = route.iter().map(current).sum();
    let shares = route
        .iter()
        .map(|d| (name_of(d), current(d) as f64 / total.max(1) as f64))
        .collect();
    let json = serde_json::to_string(&doc)
        .map_err(|e| Diagnostic::error("internal", format!("cannot encode the policy: {e}")))?;
    Ok((json, shares))
}

fn start(setup: &Setup<'_>, json: &str) -> Result<host_tests::Plugin, Diagnostic> {
    setup
        .filter
        .plugin(json, setup.node, setup.peer, Some(setup.table.clone()))
}

fn count(list: &[String]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for l in list {
        *m.entry(l.clone()).or_default() += 1;
    }
    m
}

/// The checks of `expect.shares`, `expect.moved` and `expect.movedBack`.
pub fn checks(
    setup: &Setup<'_>,
    step: Option<&Step>,
    expect: &Expect,
) -> Result<Vec<Compared>, Diagnostic> {
    let keys = expect.keys.unwrap_or(DEFAULT_KEYS);
    if keys == 0 || keys > MAX_KEYS {
        return Err(Diagnostic::error(
            "bad-test",
            format!("`keys` must be from 1 to {MAX_KEYS}, not {keys}"),
        ));
    }
    let tolerance = expect.tolerance.unwrap_or(DEFAULT_TOLERANCE);
    let doc: Value = serde_json::from_str(setup.policy_json)
        .map_err(|e| Diagnostic::error("internal", format!("the policy is not JSON: {e}")))?;
    let split = split_of(setup, &doc)?;
    let requests: Vec<RequestSpec> = (0..keys)
        .map(|i| with_key(setup.request, &split.key, &format!("user-{i}")))
        .collect();
    let run = |json: &str| -> Result<Vec<String>, Diagnostic> {
        let mut plugin = start(setup, json)?;
        Ok(requests
            .iter()
            .map(|r| landed(setup, &mut plugin, r))
            .collect())
    };
    let mut out = Vec::new();
    let after = match step {
        None => run(setup.policy_json)?,
        Some(step) => {
            let (from_json, from_w) = reweighted(&doc, &split, &step.from)?;
            let (to_json, to_w) = reweighted(&doc, &split, &step.to)?;
            let before = run(&from_json)?;
            let after = run(&to_json)?;
            let moved = before.iter().zip(&after).filter(|(a, b)| a != b).count();
            let rose = |d: &str| {
                to_w.get(d).copied().unwrap_or(0.0) > from_w.get(d).copied().unwrap_or(0.0)
            };
            let moved_back = before
                .iter()
                .zip(&after)
                .filter(|(a, b)| a != b && rose(a))
                .count();
            if let Some(want) = expect.moved_back {
                out.push((
                    "movedBack".to_owned(),
                    want.to_string(),
                    moved_back.to_string(),
                ));
            }
            if let Some(want) = expect.moved {
                let got = moved as f64 / keys as f64;
                out.push(within("moved", want, got, tolerance));
            }
            after
        }
    };
    if let Some(shares) = &expect.shares {
        let counts = count(&after);
        for (name, want) in shares {
            let got = counts.get(name).copied().unwrap_or(0) as f64 / keys as f64;
            out.push(within(&format!("shares.{name}"), *want, got, tolerance));
        }
        for (name, n) in &counts {
            if !shares.contains_key(name) {
                out.push((
                    format!("shares.{name}"),
                    "(not expected)".to_owned(),
                    format!("{:.4}", *n as f64 / keys as f64),
                ));
            }
        }
    }
    Ok(out)
}

/// Equal when `got` is within `tolerance` of `want`.
fn within(field: &str, want: f64, got: f64, tolerance: f64) -> Compared {
    let expected = format!("{want} ± {tolerance}");
    let actual = if (got - want).abs() <= tolerance {
        expected.clone()
    } else {
        format!("{got:.4}")
    };
    (field.to_owned(), expected, actual)
}
