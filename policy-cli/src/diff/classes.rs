//! Request classes: from the match predicates of both policies, one
//! representative request per case a rule can tell apart (each path sample
//! and its neighbours, each header/query value present, absent or wrong,
//! each method, port, source), plus every pair of match entries of one host
//! combined, so that a reordering shows the requests one rule shadows.

use std::collections::{BTreeMap, BTreeSet};

use meshpolicy_engine::model::{HttpRule, MatchRequest, StringMatch, VirtualService};
use meshpolicy_engine::{TrafficPolicy, resolve_host};
use serde::Serialize;

use super::regex_sample;
use crate::testrun::authority_port;

/// One request of a class.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    pub method: String,
    pub authority: String,
    /// `:path`, query included.
    pub path: String,
    pub scheme: String,
    /// Headers other than pseudo-headers, lower-case names, sorted.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_namespace: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub source_labels: BTreeMap<String, String>,
    /// The destination port, when it differs from the one in `authority`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_port: Option<u32>,
    /// Query parameters, appended to `path` in order.
    #[serde(skip)]
    query: BTreeMap<String, String>,
}

impl Probe {
    pub fn new(method: &str, authority: &str, path: &str) -> Probe {
        Probe {
            method: method.to_owned(),
            authority: authority.to_owned(),
            path: path.to_owned(),
            scheme: "http".to_owned(),
            headers: BTreeMap::new(),
            source_namespace: None,
            source_labels: BTreeMap::new(),
            destination_port: None,
            query: BTreeMap::new(),
        }
    }

    /// The header list Envoy hands the filter.
    pub fn wire_headers(&self) -> Vec<(String, String)> {
        let mut out = vec![
            (":authority".to_owned(), self.authority.clone()),
            (":path".to_owned(), self.path.clone()),
            (":method".to_owned(), self.method.clone()),
            (":scheme".to_owned(), self.scheme.clone()),
        ];
        out.extend(self.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }

    /// The destination port: explicit, else the one in `:authority`.
    pub fn port(&self) -> Option<u32> {
        self.destination_port
            .or_else(|| authority_port(&self.authority).map(u32::from))
    }

    /// `METHOD authority/path` and the headers, for reports.
    pub fn line(&self) -> String {
        let mut line = format!("{} {}{}", self.method, self.authority, self.path);
        for (k, v) in &self.headers {
            line.push_str(&format!(" [{k}: {v}]"));
        }
        if let Some(ns) = &self.source_namespace {
            line.push_str(&format!(" (from namespace {ns})"));
        }
        for (k, v) in &self.source_labels {
            line.push_str(&format!(" (from {k}={v})"));
        }
        line
    }

    fn with_path(&self, path: &str) -> Probe {
        let mut p = self.clone();
        p.set_path(path);
        p
    }

    /// Sets the path part, keeping the query parameters.
    fn set_path(&mut self, path: &str) {
        self.path = path.to_owned();
        self.append_query();
    }

    fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }

    fn set_query(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(v) => self.query.insert(name.to_owned(), v.to_owned()),
            None => self.query.remove(name),
        };
        self.path = self.path_only().to_owned();
        self.append_query();
    }

    fn append_query(&mut self) {
        if self.query.is_empty() {
            return;
        }
        let q: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let sep = if self.path.contains('?') { '&' } else { '?' };
        self.path = format!("{}{sep}{}", self.path, q.join("&"));
    }

    /// Adds what `other` sets and `self` leaves alone (another header, a
    /// query parameter, a method or source), so that both entries can match.
    fn combined(&self, other: &Probe, base: &Probe) -> Probe {
        let mut p = self.clone();
        if p.path == base.path && other.path != base.path {
            p.path = other.path_only().to_owned();
            p.append_query();
        }
        if p.method == base.method {
            p.method = other.method.clone();
        }
        if p.scheme == base.scheme {
            p.scheme = other.scheme.clone();
        }
        for (k, v) in &other.headers {
            p.headers.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (k, v) in &other.query {
            if !p.query.contains_key(k) {
                p.set_query(k, Some(v));
            }
        }
        if p.source_namespace.is_none() {
            p.source_namespace = other.source_namespace.clone();
        }
        for (k, v) in &other.source_labels {
            p.source_labels
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        if p.destination_port.is_none() {
            p.destination_port = other.destination_port;
        }
        p
    }
}

/// Pairs of entries per host beyond which only single entries are probed.
const MAX_PAIRWISE_ENTRIES: usize = 150;
/// Samples kept per string match.
const SAMPLES: usize = 3;

/// Values that match a string match, and neighbours that (mostly) do not.
fn samples(m: &StringMatch) -> (Vec<String>, Vec<String>) {
    if let Some(e) = &m.exact {
        let mut miss = vec![format!("{e}x")];
        if let Some((i, _)) = e.char_indices().last() {
            miss.push(e.get(..i).unwrap_or("").to_owned());
        }
        return (vec![e.clone()], miss);
    }
    if let Some(p) = &m.prefix {
        let mut miss = Vec::new();
        if let Some((i, _)) = p.char_indices().last() {
            miss.push(p.get(..i).unwrap_or("").to_owned());
        }
        let sep = if p.ends_with('/') { "" } else { "/" };
        return (vec![p.clone(), format!("{p}x"), format!("{p}{sep}x")], miss);
    }
    if let Some(r) = &m.regex {
        let hits = regex_sample::samples(r, SAMPLES);
        let miss = hits
            .first()
            .map(|h| vec![format!("{h}~")])
            .unwrap_or_default();
        return (hits, miss);
    }
    // `{}`: present with any value.
    (vec!["meshpolicy-diff".to_owned()], Vec::new())
}

fn path_like(s: &str) -> bool {
    s.starts_with('/')
}

/// The request that satisfies a match entry (its first sample of each
/// condition), and its neighbours: one condition changed at a time.
fn entry_probes(entry: &MatchRequest, base: &Probe) -> (Probe, Vec<Probe>) {
    let mut sat = base.clone();
    let mut near = Vec::new();
    let mut path_hits = Vec::new();
    let mut path_misses = Vec::new();
    if let Some(uri) = &entry.uri {
        let (hits, misses) = samples(uri);
        path_hits = hits.into_iter().filter(|p| path_like(p)).collect();
        path_misses = misses.into_iter().filter(|p| path_like(p)).collect();
        if entry.ignore_uri_case == Some(true) {
            let upper: Vec<String> = path_hits.iter().map(|p| p.to_uppercase()).collect();
            path_hits.extend(upper);
        }
        if let Some(first) = path_hits.first() {
            sat.set_path(first);
        }
    }
    if let Some(m) = &entry.method {
        let (hits, misses) = samples(m);
        if let Some(h) = hits.first() {
            sat.method = h.clone();
        }
        for other in misses
            .iter()
            .chain(["GET".to_owned(), "POST".to_owned()].iter())
        {
            if !other.is_empty() {
                let mut p = sat.clone();
                p.method = other.clone();
                near.push(p);
            }
        }
    }
    if let Some(m) = &entry.scheme {
        if let Some(h) = samples(m).0.first() {
            sat.scheme = h.clone();
        }
        for other in ["http", "https"] {
            let mut p = sat.clone();
            p.scheme = other.to_owned();
            near.push(p);
        }
    }
    if let Some(m) = &entry.authority {
        for h in samples(m).0 {
            let mut p = sat.clone();
            p.authority = h;
            near.push(p);
        }
    }
    for (name, m) in &entry.headers {
        let name = name.to_ascii_lowercase();
        let (hits, misses) = samples(m);
        if let Some(h) = hits.first() {
            sat.headers.insert(name.clone(), h.clone());
        }
        for v in hits.iter().skip(1).chain(&misses) {
            let mut p = sat.clone();
            p.headers.insert(name.clone(), v.clone());
            near.push(p);
        }
        let mut absent = sat.clone();
        absent.headers.remove(&name);
        near.push(absent);
    }
    for (name, m) in &entry.without_headers {
        let name = name.to_ascii_lowercase();
        let (hits, misses) = samples(m);
        // Satisfied by a value the match refuses; absence counts as "".
        let refused = misses
            .first()
            .cloned()
            .unwrap_or_else(|| "meshpolicy-diff-other".to_owned());
        sat.headers.insert(name.clone(), refused);
        for v in hits {
            let mut p = sat.clone();
            p.headers.insert(name.clone(), v);
            near.push(p);
        }
        let mut absent = sat.clone();
        absent.headers.remove(&name);
        near.push(absent);
    }
    for (name, m) in &entry.query_params {
        let (hits, misses) = samples(m);
        if let Some(h) = hits.first() {
            sat.set_query(name, Some(h));
        }
        for v in hits.iter().skip(1).chain(&misses) {
            let mut p = sat.clone();
            p.set_query(name, Some(v));
            near.push(p);
        }
        let mut absent = sat.clone();
        absent.set_query(name, None);
        near.push(absent);
    }
    if let Some(port) = entry.port {
        sat.destination_port = Some(port);
        let mut other = sat.clone();
        other.destination_port = Some(port.wrapping_add(1));
        near.push(other);
    }
    if let Some(ns) = &entry.source_namespace {
        sat.source_namespace = Some(ns.clone());
        let mut other = sat.clone();
        other.source_namespace = Some(format!("{ns}-other"));
        near.push(other);
    }
    if !entry.source_labels.is_empty() {
        sat.source_labels = entry.source_labels.clone();
        let mut other = sat.clone();
        other.source_labels.clear();
        near.push(other);
    }
    // Path samples and neighbours, with every other condition satisfied.
    for p in path_hits.iter().skip(1).chain(&path_misses) {
        near.push(sat.with_path(p));
    }
    (sat, near)
}

/// The authorities a request can use to reach a virtual service's hosts.
fn authorities(vs: &VirtualService, doc: &TrafficPolicy) -> Vec<String> {
    let ns = vs
        .namespace
        .as_deref()
        .or(doc.metadata.namespace.as_deref());
    vs.hosts
        .iter()
        .map(|h| {
            let fqdn = resolve_host(h, ns);
            match fqdn.strip_prefix('*') {
                Some("") => "meshpolicy-diff.invalid".to_owned(),
                Some(suffix) => format!("meshpolicy-diff{suffix}"),
                None => fqdn,
            }
        })
        .collect()
}

/// Every request class of the policies' hosts, deduplicated and sorted.
pub fn probes(docs: &[&TrafficPolicy]) -> Vec<Probe> {
    // The match entries of every rule, per authority, from every side.
    let mut entries: BTreeMap<String, Vec<&MatchRequest>> = BTreeMap::new();
    for doc in docs {
        for vs in &doc.spec.virtual_services {
            for authority in authorities(vs, doc) {
                let list = entries.entry(authority).or_default();
                for rule in &vs.http {
                    list.extend(rule.match_.iter().flatten());
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    for (authority, list) in &entries {
        let base = Probe::new("GET", authority, "/");
        out.insert(base.clone());
        let mut sats = Vec::new();
        for entry in list {
            let (sat, near) = entry_probes(entry, &base);
            out.extend(near);
            out.insert(sat.clone());
            sats.push(sat);
        }
        if sats.len() <= MAX_PAIRWISE_ENTRIES {
            for (i, a) in sats.iter().enumerate() {
                for b in sats.iter().skip(i + 1) {
                    out.insert(a.combined(b, &base));
                    out.insert(b.combined(a, &base));
                }
            }
        }
    }
    out.into_iter().collect()
}

/// Requests that reach `rule` when nothing before it matches: the one that
/// satisfies each of its match entries (the bare request when it has none),
/// at the virtual service's first host.
pub fn probes_for_rule(vs: &VirtualService, rule: &HttpRule, doc: &TrafficPolicy) -> Vec<Probe> {
    let Some(authority) = authorities(vs, doc).into_iter().next() else {
        return Vec::new();
    };
    let base = Probe::new("GET", &authority, "/");
    match &rule.match_ {
        None => vec![base],
        Some(entries) => entries.iter().map(|e| entry_probes(e, &base).0).collect(),
    }
}
