//! Many documents (TrafficPolicies and Istio resources) into one
//! TrafficPolicy, remembering where every piece came from so that the
//! engine's field paths point back into the files the user wrote.

mod istio;

use std::collections::BTreeMap;

use meshpolicy_engine::{Policy, PolicyErrors, TrafficPolicy};
use serde_json::{Map, Value, json};

use crate::diagnostic::Diagnostic;
use crate::resource::{self, Kind, POLICY_API_VERSION, POLICY_KIND};
use crate::source::{Document, FieldPath, PathSegment};

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

/// One virtual service of the merged policy and where it came from.
struct Unit {
    doc: usize,
    /// The virtual service (name, namespace, hosts, http) as JSON.
    value: Value,
    /// Where it is in its document: the document root for a VirtualService
    /// (`metadata.name`, `spec.hosts`, `spec.http`), or
    /// `spec.virtualServices[v]` of a TrafficPolicy.
    at: FieldPath,
    /// A VirtualService resource: `spec` holds its hosts and rules.
    istio: bool,
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
    // FQDN -> a DestinationRule's cluster settings (`spec.destinationRules`)
    let mut destination_rules: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut telemetry = Vec::new();
    let mut settings: Option<(Value, usize)> = None;

    // Istio resources without a namespace live where they are applied; the
    // namespace their inputs' FQDN hosts name is the best guess (said in a note).
    let input_ns = fqdn_namespace(&docs);
    let namespace_of = |doc: &Document, notes: &mut Vec<Diagnostic>| -> Option<String> {
        if let Some(ns) = doc_namespace(doc) {
            return Some(ns);
        }
        // else what kubectl does without `-n`: the `default` namespace
        let (ns, why) = match &input_ns {
            Some(ns) => (ns.clone(), "the namespace the inputs' FQDN hosts name"),
            None => (
                "default".to_owned(),
                "where kubectl applies it without `-n`",
            ),
        };
        notes.push(doc.diag(
            Diagnostic::note(
                "inferred-namespace",
                format!(
                    "{} has no namespace: taken as `{ns}`, {why} (set `metadata.namespace` to choose)",
                    doc.title()
                ),
            ),
            &FieldPath::default().key("metadata"),
        ));
        Some(ns)
    };
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
                        "skipped {}: not a routing resource, Istio enforces it as it is",
                        doc.title()
                    ),
                ),
                &FieldPath::default().key("kind"),
            )),
            Kind::VirtualService => {
                let (hosts, rules, carried) = istio::virtual_service(doc, &mut errors);
                let mut vs = Map::new();
                vs.insert("name".to_owned(), Value::String(doc.name()));
                if let Some(ns) = namespace_of(doc, &mut notes) {
                    vs.insert("namespace".to_owned(), Value::String(ns));
                }
                vs.insert(
                    "hosts".to_owned(),
                    Value::Array(hosts.into_iter().map(Value::String).collect()),
                );
                vs.insert(
                    "http".to_owned(),
                    Value::Array(rules.into_iter().map(|r| r.value).collect()),
                );
                for (field, value) in carried {
                    vs.insert(field.to_owned(), value);
                }
                units.push(Unit {
                    doc: d,
                    value: Value::Object(vs),
                    at: FieldPath::default(),
                    istio: true,
                });
            }
            Kind::DestinationRule => {
                if let Some(dr) = istio::destination_rule(doc, &mut errors) {
                    let (host, list) = (dr.host, dr.subsets);
                    // subsets are keyed by FQDN: a short host resolves in the
                    // DestinationRule's namespace, as Istio does
                    let host = if host.contains('.') {
                        host
                    } else {
                        match namespace_of(doc, &mut notes) {
                            Some(ns) => meshpolicy_engine::resolve_host(&host, Some(&ns)),
                            None => host,
                        }
                    };
                    let entry = subsets.entry(host.clone()).or_default();
                    origins.push(Origin {
                        policy: FieldPath::default().key("spec").key("subsets").key(&host),
                        doc: d,
                        at: FieldPath::default().key("spec").key("host"),
                    });
                    for (subset, labels, at) in list {
                        if entry.contains_key(&subset) {
                            errors.push(doc.diag(subset_defined_twice(&subset, &host), &at));
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
                    let carried = dr.settings.into_iter().map(|c| (None, c));
                    let subset_policies = dr.subset_policies.into_iter().map(|c| (Some(()), c));
                    for (per_subset, (name, value, at)) in carried.chain(subset_policies) {
                        let base = FieldPath::default()
                            .key("spec")
                            .key("destinationRules")
                            .key(&host);
                        let entry = destination_rules.entry(host.clone()).or_default();
                        let (slot, policy) = match per_subset {
                            None => (entry, base.key(&name)),
                            Some(()) => {
                                let subsets = entry
                                    .entry("subsets")
                                    .or_insert_with(|| Value::Object(Map::new()));
                                let Some(subsets) = subsets.as_object_mut() else {
                                    continue;
                                };
                                let one = subsets
                                    .entry(name.clone())
                                    .or_insert_with(|| Value::Object(Map::new()));
                                let Some(one) = one.as_object_mut() else {
                                    continue;
                                };
                                (one, base.key("subsets").key(&name).key("trafficPolicy"))
                            }
                        };
                        let field = if per_subset.is_some() {
                            "trafficPolicy".to_owned()
                        } else {
                            name.clone()
                        };
                        if slot.contains_key(&field) {
                            errors.push(doc.diag(
                                Diagnostic::error(
                                    "duplicate",
                                    format!("`{name}` of the DestinationRule for host `{host}` is defined twice"),
                                ),
                                &at,
                            ));
                            continue;
                        }
                        slot.insert(field, value);
                        origins.push(Origin { policy, doc: d, at });
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
                    &mut destination_rules,
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

    let mut virtual_services = Vec::new();
    for unit in units {
        let v = virtual_services.len();
        let policy = FieldPath::default()
            .key("spec")
            .key("virtualServices")
            .index(v);
        if unit.istio {
            // a VirtualService: name from metadata, hosts and rules from spec
            for (field, at) in [
                ("name", FieldPath::default().key("metadata").key("name")),
                (
                    "namespace",
                    FieldPath::default().key("metadata").key("namespace"),
                ),
                ("hosts", FieldPath::default().key("spec").key("hosts")),
                ("http", FieldPath::default().key("spec").key("http")),
                ("tls", FieldPath::default().key("spec").key("tls")),
                ("tcp", FieldPath::default().key("spec").key("tcp")),
                ("exportTo", FieldPath::default().key("spec").key("exportTo")),
            ] {
                origins.push(Origin {
                    policy: policy.key(field),
                    doc: unit.doc,
                    at,
                });
            }
            origins.push(Origin {
                policy: policy.clone(),
                doc: unit.doc,
                at: FieldPath::default().key("spec"),
            });
        } else {
            origins.push(Origin {
                policy,
                doc: unit.doc,
                at: unit.at,
            });
        }
        virtual_services.push(unit.value);
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
    if !virtual_services.is_empty() {
        spec.insert("virtualServices".to_owned(), Value::Array(virtual_services));
    }
    if !subsets.is_empty() {
        spec.insert("subsets".to_owned(), by_host(subsets));
    }
    if !destination_rules.is_empty() {
        spec.insert("destinationRules".to_owned(), by_host(destination_rules));
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
    // the namespace of the first virtual service, where its rules live
    let vs_namespace = spec
        .get("virtualServices")
        .and_then(|v| v.get(0))
        .and_then(|v| v.get("namespace"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    if !metadata.contains_key("namespace")
        && let Some(ns) = vs_namespace
            .or(input_ns)
            .or_else(|| docs.iter().find_map(doc_namespace))
    {
        metadata.insert("namespace".to_owned(), Value::String(ns));
    }
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
    destination_rules: &mut BTreeMap<String, Map<String, Value>>,
    telemetry: &mut Vec<(Value, usize, FieldPath)>,
    settings: &mut Option<(Value, usize)>,
    origins: &mut Vec<Origin>,
    errors: &mut Vec<Diagnostic>,
) {
    let spec_path = FieldPath::default().key("spec");
    // the policy is rebuilt from its parts below; check the document as a
    // whole first so that nothing (an unknown field, a wrong type) is lost
    if let Err(schema) = meshpolicy_engine::from_value(doc.value.clone()) {
        errors.extend(
            schema
                .errors
                .into_iter()
                .map(|e| doc.diag(Diagnostic::from_engine(&e), &e.path)),
        );
        return;
    }
    let spec = doc.value.get("spec");
    origins.push(Origin {
        policy: FieldPath::default(),
        doc: d,
        at: FieldPath::default(),
    });
    let policy_ns = doc_namespace(doc);
    for (v, vs) in list(spec, "virtualServices").iter().enumerate() {
        let mut value = vs.clone();
        // keep the namespace its short hosts resolve in once merged
        if let (Some(obj), Some(ns)) = (value.as_object_mut(), &policy_ns)
            && !obj.contains_key("namespace")
        {
            obj.insert("namespace".to_owned(), Value::String(ns.clone()));
        }
        units.push(Unit {
            doc: d,
            value,
            at: spec_path.key("virtualServices").index(v),
            istio: false,
        });
    }
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
                    errors
                        .push(doc.diag(subset_defined_twice(subset, host), &host_path.key(subset)));
                }
            }
        }
    }
    if let Some(Value::Object(hosts)) = spec.and_then(|s| s.get("destinationRules")) {
        for (host, settings) in hosts {
            let at = spec_path.key("destinationRules").key(host);
            if destination_rules.contains_key(host) {
                errors.push(doc.diag(
                    Diagnostic::error(
                        "duplicate",
                        format!("the DestinationRule settings of host `{host}` are defined twice"),
                    ),
                    &at,
                ));
                continue;
            }
            destination_rules.insert(
                host.clone(),
                settings.as_object().cloned().unwrap_or_default(),
            );
            origins.push(Origin {
                policy: at.clone(),
                doc: d,
                at,
            });
        }
    }
    for (i, m) in list(spec, "telemetry").iter().enumerate() {
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

/// The error for a subset a host has twice.
fn subset_defined_twice(subset: &str, host: &str) -> Diagnostic {
    Diagnostic::error(
        "duplicate-subset",
        format!("subset `{subset}` of host `{host}` is defined twice"),
    )
}

/// The list at `key` of a TrafficPolicy's `spec` (none: empty).
fn list<'a>(spec: Option<&'a Value>, key: &str) -> &'a [Value] {
    spec.and_then(|s| s.get(key))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// A map by FQDN as the policy's JSON (`spec.subsets`, `spec.destinationRules`).
fn by_host(map: BTreeMap<String, Map<String, Value>>) -> Value {
    Value::Object(
        map.into_iter()
            .map(|(h, s)| (h, Value::Object(s)))
            .collect(),
    )
}

/// The namespace of a document: `metadata.namespace`, else the one its
/// FQDN hosts name (`reviews.prod.svc.cluster.local` -> `prod`) when they
/// all name one.
fn doc_namespace(doc: &Document) -> Option<String> {
    if let Some(ns) = doc
        .value
        .get("metadata")
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
    {
        return Some(ns.to_owned());
    }
    fqdn_namespace(std::slice::from_ref(doc))
}

/// The one namespace the FQDN hosts of `docs` name, if they name exactly one.
fn fqdn_namespace(docs: &[Document]) -> Option<String> {
    let mut found: Option<String> = None;
    let mut all_one = true;
    for doc in docs {
        visit_hosts(&doc.value, &mut |host| {
            if let Some(ns) = host
                .strip_suffix(".svc.cluster.local")
                .and_then(|rest| rest.rsplit_once('.'))
                .map(|(_, ns)| ns)
            {
                match &found {
                    None => found = Some(ns.to_owned()),
                    Some(f) if f != ns => all_one = false,
                    Some(_) => {}
                }
            }
        });
    }
    found.filter(|_| all_one)
}

/// Every `host`/`hosts` string in a document.
fn visit_hosts(value: &Value, f: &mut impl FnMut(&str)) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("host", Value::String(h)) => f(h),
                    ("hosts", Value::Array(list)) => {
                        list.iter().filter_map(Value::as_str).for_each(&mut *f)
                    }
                    _ => visit_hosts(v, f),
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|v| visit_hosts(v, f)),
        _ => {}
    }
}

// === impl Merged ===

impl Merged {
    /// The document and path a field path of the merged policy came from.
    pub fn origin_of(&self, policy_path: &FieldPath) -> Option<(&Document, FieldPath)> {
        let origin = self
            .origins
            .iter()
            .filter(|o| policy_path.starts_with(&o.policy))
            .max_by_key(|o| o.policy.segments().len())?;
        let rest = policy_path
            .segments()
            .get(origin.policy.segments().len()..)
            .unwrap_or_default();
        let mut at = origin.at.clone();
        at.extend(rest.iter().cloned());
        Some((self.docs.get(origin.doc)?, at))
    }

    /// A diagnostic about a field of the merged policy, pointed at the file
    /// and field the user wrote.
    pub fn diag_at(&self, diag: Diagnostic, policy_path: &FieldPath) -> Diagnostic {
        match self.origin_of(policy_path) {
            Some((doc, at)) => doc.diag(diag, &at),
            None => diag.at_path(policy_path.to_string()),
        }
    }

    fn engine_errors(&self, errors: PolicyErrors) -> Vec<Diagnostic> {
        errors
            .errors
            .iter()
            .map(|e| self.diag_at(Diagnostic::from_engine(e), &e.path))
            .collect()
    }

    /// The engine's warnings about the merged policy (`Policy::warnings`),
    /// each with its typed code and help, pointed at the file and field the
    /// user wrote.
    pub fn warnings(&self, policy: &Policy) -> Vec<Diagnostic> {
        policy
            .warnings()
            .iter()
            .map(|w| self.diag_at(Diagnostic::from_engine_warning(w), &w.path))
            .collect()
    }

    /// Checks the merged document with the engine: schema, then compile.
    pub fn check(&self) -> Result<(TrafficPolicy, Policy), Vec<Diagnostic>> {
        let doc =
            meshpolicy_engine::from_value(self.value.clone()).map_err(|e| self.engine_errors(e))?;
        let policy = Policy::compile(&doc).map_err(|e| self.engine_errors(e))?;
        Ok((doc, policy))
    }

    /// Whether a field path of the merged policy is a rule's
    /// (`spec.virtualServices[v].http[i]…`): (v, i).
    pub fn rule_index(path: &FieldPath) -> Option<(usize, usize)> {
        match path.segments() {
            [
                spec,
                vs,
                PathSegment::Index(v),
                http,
                PathSegment::Index(i),
                ..,
            ] if spec.name() == Some("spec")
                && vs.name() == Some("virtualServices")
                && http.name() == Some("http") =>
            {
                Some((*v, *i))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
