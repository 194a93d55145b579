//! Many documents (TrafficPolicies and Istio resources) into one
//! TrafficPolicy, remembering where every piece came from so that the
//! engine's field paths point back into the files the user wrote.

mod istio;

use std::collections::BTreeMap;

use meshpolicy_engine::{Policy, PolicyErrors, TrafficPolicy};
use serde_json::{Map, Value, json};

use crate::diagnostic::Diagnostic;
use crate::resource::{self, Kind, POLICY_API_VERSION, POLICY_KIND};
use crate::source::{Document, FieldPath, Seg};

/// A piece of the merged policy at `policy` came from `at` in `docs[doc]`.
#[derive(Debug, Clone)]
pub struct Origin {
    pub policy: FieldPath,
    pub doc: usize,
    pub at: FieldPath,
}

/// The merged policy document (as JSON) and where its pieces came from.
#[derive(Debug, Clone)]
pub struct Merged {
    pub docs: Vec<Document>,
    pub value: Value,
    pub origins: Vec<Origin>,
    /// Things the user should know that are not errors (skipped resources,
    /// reordered VirtualServices).
    pub notes: Vec<Diagnostic>,
}

/// One source of rules, kept together in its own order.
struct Unit {
    doc: usize,
    rules: Vec<istio::ImportedRule>,
    hosts: Vec<String>,
}

/// Merges documents into one TrafficPolicy. `name` overrides
/// `metadata.name`; otherwise the first TrafficPolicy's or VirtualService's
/// name is used.
pub fn merge(docs: Vec<Document>, name: Option<&str>) -> Result<Merged, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    let mut origins = Vec::new();
    let mut units = Vec::new();
    let mut subsets: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut telemetry = Vec::new();
    let mut settings: Option<(Value, usize)> = None;

    for (d, doc) in docs.iter().enumerate() {
        let kind = match resource::classify(doc) {
            Ok(kind) => kind,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        match kind {
            Kind::Security => notes.push(doc.diag(
                Diagnostic::note(
                    "skipped-resource",
                    format!(
                        "skipped {} `{}`: not a routing resource, Istio enforces it as it is",
                        doc.kind().unwrap_or_default(),
                        doc.name()
                    ),
                ),
                &FieldPath::default().key("kind"),
            )),
            Kind::VirtualService => {
                let (hosts, rules) = istio::virtual_service(doc, &mut errors);
                units.push(Unit {
                    doc: d,
                    rules,
                    hosts,
                });
            }
            Kind::DestinationRule => {
                if let Some((host, list)) = istio::destination_rule(doc, &mut errors) {
                    let entry = subsets.entry(host.clone()).or_default();
                    origins.push(Origin {
                        policy: FieldPath::default().key("spec").key("subsets").key(&host),
                        doc: d,
                        at: FieldPath::default().key("spec").key("host"),
                    });
                    for (subset, labels, at) in list {
                        if entry.contains_key(&subset) {
                            errors.push(doc.diag(
                                Diagnostic::error(
                                    "duplicate-subset",
                                    format!("subset `{subset}` of host `{host}` is defined twice"),
                                ),
                                &at,
                            ));
                            continue;
                        }
                        origins.push(Origin {
                            policy: FieldPath::default()
                                .key("spec")
                                .key("subsets")
                                .key(&host)
                                .key(&subset),
                            doc: d,
                            at,
                        });
                        entry.insert(subset, labels);
                    }
                }
            }
            Kind::Telemetry => {
                for (metrics, at) in istio::telemetry(doc, &mut errors) {
                    telemetry.push((metrics, d, at));
                }
            }
            Kind::TrafficPolicy => {
                policy_document(
                    doc,
                    d,
                    &mut units,
                    &mut subsets,
                    &mut telemetry,
                    &mut settings,
                    &mut origins,
                    &mut errors,
                );
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    order_units(&mut units, &docs, &mut notes);
    let mut http = Vec::new();
    let mut used_names: BTreeMap<String, usize> = BTreeMap::new();
    for unit in &units {
        let doc = docs.get(unit.doc);
        let is_policy = doc.and_then(Document::kind) == Some(POLICY_KIND);
        let count = unit.rules.len();
        for (j, rule) in unit.rules.iter().enumerate() {
            let mut value = rule.value.clone();
            if let (Some(obj), false, Some(doc)) = (value.as_object_mut(), is_policy, doc)
                && !obj.contains_key("name")
            {
                let base = if count == 1 {
                    doc.name()
                } else {
                    format!("{}-{j}", doc.name())
                };
                let n = used_names.entry(base.clone()).or_insert(0);
                *n += 1;
                let generated = if *n == 1 { base } else { format!("{base}-{n}") };
                // keep the generated name first, as a human would write it
                let mut named = Map::new();
                named.insert("name".to_owned(), Value::String(generated));
                named.extend(std::mem::take(obj));
                *obj = named;
            }
            origins.push(Origin {
                policy: FieldPath::default()
                    .key("spec")
                    .key("http")
                    .index(http.len()),
                doc: unit.doc,
                at: rule.at.clone(),
            });
            http.push(value);
        }
    }
    for (k, (_, d, at)) in telemetry.iter().enumerate() {
        origins.push(Origin {
            policy: FieldPath::default().key("spec").key("telemetry").index(k),
            doc: *d,
            at: at.clone(),
        });
    }

    let first_named = |kind: Kind| {
        docs.iter()
            .find(|d| resource::classify(d).ok() == Some(kind))
            .map(Document::name)
    };
    let name = name
        .map(str::to_owned)
        .or_else(|| first_named(Kind::TrafficPolicy))
        .or_else(|| first_named(Kind::VirtualService))
        .unwrap_or_else(|| "imported".to_owned());
    let mut spec = Map::new();
    if !http.is_empty() {
        spec.insert("http".to_owned(), Value::Array(http));
    }
    if !subsets.is_empty() {
        spec.insert(
            "subsets".to_owned(),
            Value::Object(
                subsets
                    .into_iter()
                    .map(|(h, s)| (h, Value::Object(s)))
                    .collect(),
            ),
        );
    }
    if let Some((s, _)) = settings {
        spec.insert("settings".to_owned(), s);
    }
    if !telemetry.is_empty() {
        spec.insert(
            "telemetry".to_owned(),
            Value::Array(telemetry.into_iter().map(|(m, _, _)| m).collect()),
        );
    }
    // a TrafficPolicy's metadata is kept whole (namespace, labels, annotations)
    let mut metadata = docs
        .iter()
        .find(|d| resource::classify(d).ok() == Some(Kind::TrafficPolicy))
        .and_then(|d| d.value.get("metadata").and_then(Value::as_object).cloned())
        .unwrap_or_default();
    metadata.insert("name".to_owned(), Value::String(name));
    let value = json!({
        "apiVersion": POLICY_API_VERSION,
        "kind": POLICY_KIND,
        "metadata": Value::Object(metadata),
        "spec": Value::Object(spec),
    });
    Ok(Merged {
        docs,
        value,
        origins,
        notes,
    })
}

/// Takes a TrafficPolicy document as it is.
#[allow(clippy::too_many_arguments)]
fn policy_document(
    doc: &Document,
    d: usize,
    units: &mut Vec<Unit>,
    subsets: &mut BTreeMap<String, Map<String, Value>>,
    telemetry: &mut Vec<(Value, usize, FieldPath)>,
    settings: &mut Option<(Value, usize)>,
    origins: &mut Vec<Origin>,
    errors: &mut Vec<Diagnostic>,
) {
    let spec_path = FieldPath::default().key("spec");
    // the policy is rebuilt from its parts below; check the document as a
    // whole first so that nothing (an unknown field, a wrong type) is lost
    if let Err(schema) = meshpolicy_engine::from_value(doc.value.clone()) {
        errors.extend(schema.errors.into_iter().map(|e| {
            let path = if e.path == "document" {
                String::new()
            } else {
                e.path
            };
            doc.diag_at_text(Diagnostic::error(code_of(&e.message), e.message), &path)
        }));
        return;
    }
    let spec = doc.value.get("spec");
    origins.push(Origin {
        policy: FieldPath::default(),
        doc: d,
        at: FieldPath::default(),
    });
    let rules = spec
        .and_then(|s| s.get("http"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(j, r)| istio::ImportedRule {
            value: r.clone(),
            at: spec_path.key("http").index(j),
            catch_all: r.get("match").is_none_or(Value::is_null),
        })
        .collect();
    units.push(Unit {
        doc: d,
        rules,
        hosts: Vec::new(),
    });
    if let Some(Value::Object(hosts)) = spec.and_then(|s| s.get("subsets")) {
        for (host, by_name) in hosts {
            let entry = subsets.entry(host.clone()).or_default();
            let host_path = spec_path.key("subsets").key(host);
            origins.push(Origin {
                policy: host_path.clone(),
                doc: d,
                at: host_path.clone(),
            });
            for (subset, labels) in by_name.as_object().into_iter().flatten() {
                if entry.insert(subset.clone(), labels.clone()).is_some() {
                    errors.push(doc.diag(
                        Diagnostic::error(
                            "duplicate-subset",
                            format!("subset `{subset}` of host `{host}` is defined twice"),
                        ),
                        &host_path.key(subset),
                    ));
                }
            }
        }
    }
    for (i, m) in spec
        .and_then(|s| s.get("telemetry"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        telemetry.push((m.clone(), d, spec_path.key("telemetry").index(i)));
    }
    if let Some(s) = spec.and_then(|s| s.get("settings")) {
        let at = spec_path.key("settings");
        match settings {
            Some((prev, _)) if prev != s => errors.push(doc.diag(
                Diagnostic::error(
                    "conflicting-settings",
                    "`spec.settings` differs from an earlier policy's",
                ),
                &at,
            )),
            Some(_) => {}
            None => {
                *settings = Some((s.clone(), d));
                origins.push(Origin {
                    policy: at.clone(),
                    doc: d,
                    at,
                });
            }
        }
    }
}

/// meshpolicy matches rules in order whatever the request's host, so rules of
/// VirtualServices for different hosts are merged with catch-alls last: a
/// VirtualService whose rule matches everything would otherwise hide every
/// rule after it. The order inside each source stays as written.
fn order_units(units: &mut [Unit], docs: &[Document], notes: &mut Vec<Diagnostic>) {
    let has_catch_all = |u: &Unit| u.rules.iter().any(|r| r.catch_all);
    let before: Vec<usize> = units.iter().map(|u| u.doc).collect();
    units.sort_by_key(has_catch_all); // stable: input order otherwise
    let moved = units.iter().map(|u| u.doc).collect::<Vec<_>>() != before;
    if !moved {
        return;
    }
    for unit in units.iter().filter(|u| has_catch_all(u)) {
        if let Some(doc) = docs.get(unit.doc) {
            let hosts = if unit.hosts.is_empty() {
                String::new()
            } else {
                format!(
                    " (hosts {})",
                    unit.hosts
                        .iter()
                        .map(|h| format!("`{h}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            notes.push(doc.diag(
                Diagnostic::note(
                    "reordered-rules",
                    format!(
                        "rules of {} `{}`{hosts} placed after the others: they include a catch-all, and a policy's rules apply to every host in order",
                        doc.kind().unwrap_or_default(),
                        doc.name()
                    ),
                ),
                &FieldPath::default().key("spec").key("http"),
            ));
        }
    }
}

// === impl Merged ===

impl Merged {
    /// The document and path a field path of the merged policy came from.
    pub fn origin_of(&self, policy_path: &FieldPath) -> Option<(&Document, FieldPath)> {
        let origin = self
            .origins
            .iter()
            .filter(|o| policy_path.0.starts_with(&o.policy.0))
            .max_by_key(|o| o.policy.0.len())?;
        let rest = policy_path
            .0
            .get(origin.policy.0.len()..)
            .unwrap_or_default();
        let mut at = origin.at.clone();
        at.0.extend(rest.iter().cloned());
        Some((self.docs.get(origin.doc)?, at))
    }

    /// A diagnostic about a field of the merged policy, pointed at the file
    /// and field the user wrote.
    pub fn diag_at(&self, diag: Diagnostic, policy_path: &str) -> Diagnostic {
        let parsed = if policy_path == "document" {
            FieldPath::default()
        } else {
            FieldPath::parse(policy_path)
        };
        match self.origin_of(&parsed) {
            Some((doc, at)) => doc.diag(diag, &at),
            None => diag.at_path(policy_path),
        }
    }

    fn engine_errors(&self, errors: PolicyErrors) -> Vec<Diagnostic> {
        errors
            .errors
            .into_iter()
            .map(|e| self.diag_at(Diagnostic::error(code_of(&e.message), e.message), &e.path))
            .collect()
    }

    /// Checks the merged document with the engine: schema, then compile.
    pub fn check(&self) -> Result<(TrafficPolicy, Policy), Vec<Diagnostic>> {
        let doc =
            meshpolicy_engine::from_value(self.value.clone()).map_err(|e| self.engine_errors(e))?;
        let policy = Policy::compile(&doc).map_err(|e| self.engine_errors(e))?;
        Ok((doc, policy))
    }

    /// Whether a field path of the merged policy is a rule's (`spec.http[i]…`).
    pub fn rule_index(path: &FieldPath) -> Option<usize> {
        match path.0.as_slice() {
            [Seg::Key(s), Seg::Key(h), Seg::Index(i), ..] if s == "spec" && h == "http" => Some(*i),
            _ => None,
        }
    }
}

/// A stable name for the kind of an engine error, from its message.
fn code_of(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.starts_with("unknown field") {
        "unknown-field"
    } else if m.contains("regex") {
        "invalid-regex"
    } else if m.contains("weight") {
        "invalid-weights"
    } else if m.contains("duplicate") || m.contains("defined twice") {
        "duplicate"
    } else if m.contains("expected") || m.contains("must be") {
        "wrong-type"
    } else {
        "invalid-policy"
    }
}

#[cfg(test)]
mod tests;
