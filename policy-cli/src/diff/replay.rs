//! Recorded requests through both policies: Envoy's JSON access log as
//! Istio writes it (`meshConfig.accessLogEncoding: JSON`), or meshpolicy's
//! minimal JSON lines (docs/cli.md). Each line decides once on each side
//! with the same randomness, so an unchanged split moves nobody.

use std::collections::BTreeMap;
use std::io::BufRead;

use serde::{Deserialize, Serialize};

use super::classes::Probe;
use super::outcome::{Outcome, Side};
use crate::testrun::authority_port;

/// One line: the fields of Istio's JSON access log that shape a request,
/// or the minimal format (`headers`, `sourceNamespace`, `sourceLabels`,
/// `port`). Other fields are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReplayLine {
    pub method: Option<String>,
    pub path: Option<String>,
    pub authority: Option<String>,
    pub scheme: Option<String>,
    pub headers: BTreeMap<String, String>,
    #[serde(rename = "sourceNamespace")]
    pub source_namespace: Option<String>,
    #[serde(rename = "sourceLabels")]
    pub source_labels: BTreeMap<String, String>,
    pub port: Option<u32>,
    // Istio's access log: the headers it records, and the address the
    // client dialled (its port is the destination port).
    pub user_agent: Option<String>,
    pub x_forwarded_for: Option<String>,
    pub request_id: Option<String>,
    pub downstream_local_address: Option<String>,
}

/// Parses one line into a request; the error says which field is wrong.
pub fn parse_line(text: &str) -> Result<Probe, String> {
    let line: ReplayLine = serde_json::from_str(text).map_err(|e| {
        let e = e.to_string();
        format!(
            "not a JSON access log line: {}",
            e.split(" at line").next().unwrap_or(&e)
        )
    })?;
    let path = line.path.filter(|p| !p.is_empty()).ok_or("no `path`")?;
    if !path.starts_with('/') {
        return Err(format!("`path` {path:?} does not start with `/`"));
    }
    let authority = line
        .authority
        .filter(|a| !a.is_empty())
        .ok_or("no `authority`")?;
    let mut probe = Probe::new(line.method.as_deref().unwrap_or("GET"), &authority, &path);
    if let Some(scheme) = line.scheme {
        probe.scheme = scheme;
    }
    for (k, v) in line.headers {
        probe.headers.insert(k.to_ascii_lowercase(), v);
    }
    for (name, value) in [
        ("user-agent", line.user_agent),
        ("x-forwarded-for", line.x_forwarded_for),
        ("x-request-id", line.request_id),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            probe.headers.entry(name.to_owned()).or_insert(v);
        }
    }
    probe.source_namespace = line.source_namespace;
    probe.source_labels = line.source_labels;
    probe.destination_port = line
        .port
        .or_else(|| authority_port(line.downstream_local_address.as_deref()?).map(u32::from));
    Ok(probe)
}

/// Counts of one (before → after) change, with the first lines that show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayChange {
    pub before: String,
    pub after: String,
    pub requests: usize,
    /// `line N: request` for the first few.
    pub examples: Vec<String>,
}

/// What a replay found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Replay {
    pub lines: usize,
    pub replayed: usize,
    pub unchanged: usize,
    pub changes: Vec<ReplayChange>,
    /// Lines that are not requests: how many, and the first few reasons.
    pub skipped: usize,
    pub skipped_examples: Vec<String>,
}

const EXAMPLES: usize = 3;

/// The randomness of line `n` (1-based), the same on both sides.
pub fn random_of(n: usize) -> u64 {
    (n as u64)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .rotate_left(17)
}

/// Replays every line of `reader`; `namespace` is the recording proxy's,
/// for lines that do not say; `progress` is told each line's bytes.
pub fn replay(
    old: &Side,
    new: &Side,
    reader: impl BufRead,
    namespace: Option<&str>,
    mut progress: impl FnMut(u64),
) -> std::io::Result<Replay> {
    let mut out = Replay::default();
    let mut changes: BTreeMap<(String, String), ReplayChange> = BTreeMap::new();
    for (i, line) in reader.split(b'\n').enumerate() {
        let bytes = line?;
        progress(bytes.len() as u64 + 1);
        let n = i + 1;
        let parsed = match std::str::from_utf8(&bytes) {
            Ok(t) if t.trim().is_empty() => continue,
            Ok(t) => parse_line(t.trim()),
            Err(_) => Err("not UTF-8 text".to_owned()),
        };
        out.lines += 1;
        let probe = match parsed {
            Ok(mut p) => {
                if p.source_namespace.is_none() {
                    p.source_namespace = namespace.map(str::to_owned);
                }
                p
            }
            Err(e) => {
                out.skipped += 1;
                if out.skipped_examples.len() < EXAMPLES {
                    out.skipped_examples.push(format!("line {n}: {e}"));
                }
                continue;
            }
        };
        out.replayed += 1;
        let random = random_of(n);
        let before = Outcome::of(&old.decide(&probe, random));
        let after = Outcome::of(&new.decide(&probe, random));
        if before == after {
            out.unchanged += 1;
            continue;
        }
        let key = (before.target(), after.target());
        let change = changes.entry(key.clone()).or_insert_with(|| ReplayChange {
            before: key.0,
            after: key.1,
            requests: 0,
            examples: Vec::new(),
        });
        change.requests += 1;
        if change.examples.len() < EXAMPLES {
            change
                .examples
                .push(format!("line {n}: {} → {before} ⇒ {after}", probe.line()));
        }
    }
    let mut list: Vec<ReplayChange> = changes.into_values().collect();
    list.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.before.cmp(&b.before)));
    out.changes = list;
    Ok(out)
}
