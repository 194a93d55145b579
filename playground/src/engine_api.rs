//! Every call from the playground into the engine (`meshpolicy-engine`) and
//! the import (`meshpolicy-import`, policy-cli's own), in one module: when
//! their APIs change, this is the file to adapt.
//! The rest of the crate sees only the types defined here and serialises
//! the engine's decision and trace as they are, so the page shows whatever
//! fields a decision carries.

use std::collections::BTreeMap;

use meshpolicy_engine::telemetry::{Metric, Mode};
use meshpolicy_engine::{API_VERSION, Policy, Request, SourceInfo};
use meshpolicy_import::resource::{self, Kind};
use meshpolicy_import::{SourceFile, merge, parse_documents};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::diagnostic::Diagnostic;

/// The engine this page runs: its crate version and the policy apiVersion
/// it reads. A share link carries it; opening a link made by another
/// version shows a notice.
pub fn engine_version() -> String {
    // The playground is versioned with the workspace, like the engine.
    format!("{} {API_VERSION}", env!("CARGO_PKG_VERSION"))
}

/// The name diagnostics give the editor's text.
const TEXT_NAME: &str = "policy";

/// A validated, compiled policy.
#[derive(Debug)]
pub struct CompiledPolicy {
    policy: Policy,
}

/// The policy text checked as `policy-cli validate` checks it.
#[derive(Debug)]
pub struct Checked {
    /// The compiled policy, when the text has no error.
    pub policy: Option<CompiledPolicy>,
    /// Every error, warning and note (the import's and the engine's),
    /// each placed at its line:column.
    pub diagnostics: Vec<Diagnostic>,
    /// The TrafficPolicy the text's Istio resources imported into, as
    /// `policy-cli import` writes it; `None` for a TrafficPolicy alone.
    pub imported: Option<String>,
}

/// Parse, import, check and compile the policy text: TrafficPolicies and
/// Istio YAML (VirtualService, DestinationRule, Telemetry), in any number of
/// documents, merged as `policy-cli` merges them (`meshpolicy-import`, the
/// same code), then the warnings `policy-cli validate` gives.
pub fn check(text: &str) -> Checked {
    let failed = |diagnostics: Vec<Diagnostic>| Checked {
        policy: None,
        diagnostics,
        imported: None,
    };
    let limit = meshpolicy_engine::limits::MAX_POLICY_BYTES;
    if text.len() > limit {
        return failed(vec![Diagnostic::error(
            "policy-too-large",
            format!("the policy is {} bytes, the limit is {limit}", text.len()),
        )]);
    }
    let docs = match parse_documents(&SourceFile::new(TEXT_NAME, text)) {
        Ok(docs) => docs,
        Err(e) => return failed(vec![e]),
    };
    if docs.is_empty() {
        return failed(vec![Diagnostic::error(
            "no-policy",
            "the text holds no YAML document: paste a TrafficPolicy or Istio YAML",
        )]);
    }
    let istio = docs
        .iter()
        .any(|d| resource::classify(d).ok() != Some(Kind::TrafficPolicy));
    let merged = match merge(docs, None) {
        Ok(merged) => merged,
        Err(errors) => return failed(errors),
    };
    let mut diagnostics = merged.notes.clone();
    match merged.check() {
        Err(errors) => {
            diagnostics.extend(errors);
            failed(diagnostics)
        }
        Ok((doc, policy)) => {
            diagnostics.extend(merged.warnings(&policy));
            let imported = if istio {
                serde_saphyr::to_string(&doc).ok()
            } else {
                None
            };
            Checked {
                policy: Some(CompiledPolicy { policy }),
                diagnostics,
                imported,
            }
        }
    }
}

/// The compiled policy, or every finding when the text has an error.
pub fn compile(text: &str) -> Result<CompiledPolicy, Vec<Diagnostic>> {
    let checked = check(text);
    checked.policy.ok_or(checked.diagnostics)
}

/// A request as the page's form describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestInput {
    #[serde(default = "default_method")]
    pub method: String,
    /// `:authority` (default `localhost`).
    #[serde(default)]
    pub authority: Option<String>,
    pub path: String,
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// Headers in order, names in any case; a name may repeat.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The proxy's own workload labels (node metadata `LABELS`).
    #[serde(default)]
    pub source_labels: BTreeMap<String, String>,
    /// The proxy's namespace (node metadata `NAMESPACE`).
    #[serde(default)]
    pub source_namespace: Option<String>,
    /// The destination port (default: the port in `:authority`).
    #[serde(default)]
    pub port: Option<u32>,
    /// The randomness the filter draws for an unsticky split or a fault.
    #[serde(default)]
    pub random: u64,
}

fn default_method() -> String {
    "GET".to_owned()
}

fn default_scheme() -> String {
    "http".to_owned()
}

impl RequestInput {
    /// Every problem of the request, each naming its field.
    pub fn check(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let mut bad = |path: &str, message: String| {
            let mut d = Diagnostic::error("bad-request", message);
            d.path = Some(path.to_owned());
            out.push(d);
        };
        if self.method.is_empty() || !self.method.bytes().all(|b| b.is_ascii_alphabetic()) {
            bad(
                "request.method",
                format!("method `{}` is not a word", self.method),
            );
        }
        if !self.path.starts_with('/') {
            bad(
                "request.path",
                format!("path `{}` must start with `/`", self.path),
            );
        }
        for (i, (name, _)) in self.headers.iter().enumerate() {
            if name.trim().is_empty() || (name.contains(':') && !name.starts_with(':')) {
                bad(
                    &format!("request.headers[{i}]"),
                    format!("header name `{name}` is not a header name"),
                );
            }
        }
        out
    }

    fn authority(&self) -> String {
        self.authority
            .clone()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "localhost".to_owned())
    }

    /// The header map Envoy hands the filter: pseudo-headers first, names
    /// lower-cased, a `host` header folded into `:authority`.
    pub fn wire_headers(&self) -> Vec<(String, String)> {
        let mut out = vec![
            (":authority".to_owned(), self.authority()),
            (":path".to_owned(), self.path.clone()),
            (":method".to_owned(), self.method.to_ascii_uppercase()),
            (":scheme".to_owned(), self.scheme.clone()),
        ];
        out.extend(
            self.headers
                .iter()
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.clone()))
                .filter(|(k, _)| k != "host"),
        );
        out
    }

    /// The destination port: explicit, else the one in `:authority`.
    fn port(&self) -> Option<u32> {
        self.port.or_else(|| {
            let authority = self.authority();
            let (_, port) = authority.rsplit_once(':')?;
            port.parse().ok()
        })
    }

    fn source(&self) -> SourceInfo {
        SourceInfo {
            labels: self.source_labels.clone(),
            namespace: self.source_namespace.clone().filter(|n| !n.is_empty()),
        }
    }
}

/// One of meshpolicy's request metrics as this policy's telemetry shapes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricLabels {
    /// The full name (`meshpolicy_requests_total`).
    pub name: String,
    /// The label names, in order (Istio's standard ones after overrides,
    /// then `policy_rule`, `policy_destination`); empty when disabled.
    pub labels: Vec<String>,
    pub enabled: bool,
}

/// What the engine says about one request: the decision, the rule-by-rule
/// trace, and the metrics with their labels (sidecar outbound, CLIENT mode).
/// Decision and trace are JSON text in the engine's own field order.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub decision: String,
    pub trace: String,
    pub metrics: Vec<MetricLabels>,
}

impl CompiledPolicy {
    /// The engine's decision with its trace (`Policy::explain`).
    pub fn explain(&self, input: &RequestInput) -> Outcome {
        let (decision, trace) = with_request(input, |request| self.policy.explain(request));
        Outcome {
            decision: to_json(&decision),
            trace: to_json(&trace),
            metrics: self.metrics(),
        }
    }

    /// The engine's fast-path decision (`Policy::decide`), as JSON.
    pub fn decide(&self, input: &RequestInput) -> String {
        to_json(&with_request(input, |request| self.policy.decide(request)))
    }

    /// The fast path `n` times on one request (the benchmark's inner loop,
    /// the same in the browser and natively); returns how many routed.
    pub fn decide_repeatedly(&self, input: &RequestInput, n: u32) -> u32 {
        with_request(input, |request| {
            (0..n)
                .filter(|_| self.policy.decide(request).destination.is_some())
                .fold(0u32, |routed, _| routed.saturating_add(1))
        })
    }

    fn metrics(&self) -> Vec<MetricLabels> {
        let telemetry = self.policy.telemetry();
        Metric::ALL
            .iter()
            .map(|&metric| {
                let labels = telemetry.label_names(Mode::Client, metric);
                MetricLabels {
                    name: format!("{}{}", self.policy.metric_prefix(), metric.name()),
                    enabled: labels.is_some(),
                    labels: labels
                        .unwrap_or_default()
                        .into_iter()
                        .map(str::to_owned)
                        .collect(),
                }
            })
            .collect()
    }
}

/// Runs `f` on the engine's view of `input`.
fn with_request<R>(input: &RequestInput, f: impl FnOnce(&Request<'_>) -> R) -> R {
    let headers = input.wire_headers();
    let source = input.source();
    f(&Request {
        headers: &headers,
        source: &source,
        port: input.port(),
        random: input.random,
        virtual_host: None,
    })
}

/// The engine's types serialise without failing (plain structs of strings
/// and numbers); `null` stands for the impossible.
fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// One destination of the sticky-split simulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SplitDestination {
    pub host: String,
    #[serde(default)]
    pub subset: Option<String>,
    pub weight: u32,
}

/// The sticky header the simulator's policy keys on.
const SIM_HEADER: &str = "x-split-key";

/// Where the engine's sticky split sends each key, as the index of the
/// destination: the filter's own code path (a one-rule policy with these
/// destinations and `sticky.header`, decided once per key), not a copy of
/// the hash. Errors name the simulator's fields (`destinations[1].weight`).
pub fn sticky_assignments(
    dests: &[SplitDestination],
    keys: &[String],
) -> Result<Vec<Option<usize>>, Vec<Diagnostic>> {
    let route: Vec<Value> = dests
        .iter()
        .map(|d| {
            let destination = match d.subset.as_deref().filter(|s| !s.is_empty()) {
                Some(subset) => json!({ "host": d.host, "subset": subset }),
                None => json!({ "host": d.host }),
            };
            json!({ "destination": destination, "weight": d.weight })
        })
        .collect();
    // one virtual service for every host, in a namespace where short
    // destination hosts resolve
    let doc = json!({
        "metadata": { "namespace": "default" },
        "spec": { "virtualServices": [{ "name": "split", "hosts": ["*"],
            "http": [{ "name": "split", "route": route, "sticky": { "header": SIM_HEADER } }] }] }
    });
    let policy = Policy::from_value(doc).map_err(|e| {
        e.errors
            .into_iter()
            .map(|e| {
                let path = e.path.to_string().replacen(
                    "spec.virtualServices[0].http[0].route",
                    "destinations",
                    1,
                );
                let mut d = Diagnostic::error("bad-split", e.message());
                d.path = Some(path);
                d
            })
            .collect::<Vec<_>>()
    })?;
    let source = SourceInfo::default();
    let mut headers = vec![
        (":path".to_owned(), "/".to_owned()),
        (SIM_HEADER.to_owned(), String::new()),
    ];
    Ok(keys
        .iter()
        .map(|key| {
            if let Some(slot) = headers.get_mut(1) {
                slot.1.clone_from(key);
            }
            let decision = policy.decide(&Request {
                headers: &headers,
                source: &source,
                port: None,
                random: 0,
                virtual_host: None,
            });
            decision.destination.map(|d| d.index)
        })
        .collect())
}
