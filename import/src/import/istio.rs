//! Istio resources to policy pieces: VirtualService `http` rules (with the
//! fields Envoy's router enforces) and its `tcp`/`tls`/`exportTo`,
//! DestinationRule `subsets` and cluster settings, Telemetry `metrics`.
//! Every field meshpolicy cannot carry is an error at its place, never
//! dropped: the engine's schema walk refuses what a policy cannot hold (the
//! same refusal from Istio YAML and from a policy); this module refuses only
//! what exists in the Istio resource alone (a gateway's VirtualService, a
//! Telemetry's selectors).

use serde_json::{Map, Value};

use crate::diagnostic::Diagnostic;
use crate::source::{Document, FieldPath};

/// A field meshpolicy does not carry over, and why.
struct Unsupported {
    field: &'static str,
    why: &'static str,
}

const fn un(field: &'static str, why: &'static str) -> Unsupported {
    Unsupported { field, why }
}

const TELEMETRY_SPEC: &[Unsupported] = &[
    un(
        "selector",
        "the WasmPlugin's selector decides which workloads the policy labels",
    ),
    un(
        "targetRef",
        "the WasmPlugin's selector decides which workloads the policy labels",
    ),
    un(
        "targetRefs",
        "the WasmPlugin's selector decides which workloads the policy labels",
    ),
    un(
        "tracing",
        "meshpolicy controls request metrics only; keep tracing in an Istio Telemetry",
    ),
    un(
        "accessLogging",
        "meshpolicy controls request metrics only; keep access logging in an Istio Telemetry",
    ),
];

/// Reports every field of `table` present in the object at `path`.
fn reject(
    doc: &Document,
    value: &Value,
    path: &FieldPath,
    table: &[Unsupported],
    errors: &mut Vec<Diagnostic>,
) {
    let Some(obj) = value.as_object() else { return };
    for u in table {
        if obj.contains_key(u.field) {
            errors.push(
                doc.diag(
                    Diagnostic::error(
                        "unsupported-field",
                        format!("meshpolicy cannot enforce `{}` in a filter", u.field),
                    )
                    .with_help(u.why),
                    &path.key(u.field),
                ),
            );
        }
    }
}

/// `gateways` other than `mesh` route traffic at a gateway, not in a sidecar.
fn reject_gateways(doc: &Document, value: &Value, path: &FieldPath, errors: &mut Vec<Diagnostic>) {
    let Some(gateways) = value.get("gateways").and_then(Value::as_array) else {
        return;
    };
    for (i, g) in gateways.iter().enumerate() {
        if g.as_str() != Some("mesh") {
            errors.push(
                doc.diag(
                    Diagnostic::error(
                        "unsupported-field",
                        format!("meshpolicy cannot route for gateway {g}: the filter runs on sidecars"),
                    )
                    .with_help("only `mesh` is accepted in `gateways`; keep gateway routes in an Istio VirtualService of their own"),
                    &path.key("gateways").index(i),
                ),
            );
        }
    }
}

fn spec<'a>(doc: &'a Document, errors: &mut Vec<Diagnostic>) -> Option<&'a Map<String, Value>> {
    match doc.value.get("spec") {
        Some(Value::Object(spec)) => Some(spec),
        Some(_) => {
            errors.push(doc.diag(
                Diagnostic::error("wrong-type", "`spec` must be a mapping"),
                &FieldPath::default().key("spec"),
            ));
            None
        }
        None => {
            errors.push(doc.diag(
                Diagnostic::error(
                    "missing-field",
                    format!(
                        "{} `{}` has no `spec`",
                        doc.kind().unwrap_or("resource"),
                        doc.name()
                    ),
                ),
                &FieldPath::default(),
            ));
            None
        }
    }
}

/// A list field of `obj` at `path`: absent is empty, another type is an error.
fn list<'a>(
    doc: &Document,
    obj: &'a Map<String, Value>,
    field: &str,
    path: &FieldPath,
    errors: &mut Vec<Diagnostic>,
) -> &'a [Value] {
    match obj.get(field) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) => items,
        Some(_) => {
            errors.push(doc.diag(
                Diagnostic::error("wrong-type", format!("`{field}` must be a list")),
                &path.key(field),
            ));
            &[]
        }
    }
}

/// One `http` rule of a VirtualService, as it goes into the policy.
#[derive(Debug, Clone)]
pub struct ImportedRule {
    pub value: Value,
}

/// Sections of a VirtualService carried as written into the policy's
/// virtual service (Envoy enforces them without the filter), in Istio's order.
pub const VS_CARRIED: [&str; 3] = ["tls", "tcp", "exportTo"];

/// A VirtualService's `hosts`, its `http` rules and its carried sections.
pub fn virtual_service(
    doc: &Document,
    errors: &mut Vec<Diagnostic>,
) -> (Vec<String>, Vec<ImportedRule>, Vec<(&'static str, Value)>) {
    let root = FieldPath::default().key("spec");
    let Some(spec) = spec(doc, errors) else {
        return (Vec::new(), Vec::new(), Vec::new());
    };
    let spec_value = Value::Object(spec.clone());
    let carried = VS_CARRIED
        .iter()
        .filter_map(|&k| spec.get(k).map(|v| (k, v.clone())))
        .collect();
    reject_gateways(doc, &spec_value, &root, errors);
    let hosts = list(doc, spec, "hosts", &root, errors)
        .iter()
        .filter_map(|h| h.as_str().map(str::to_owned))
        .collect();
    let mut rules = Vec::new();
    for rule in list(doc, spec, "http", &root, errors).iter() {
        let mut value = rule.clone();
        if let Some(obj) = value.as_object_mut() {
            // `gateways: [mesh]` in a match is what a sidecar policy means
            // anyway; any other gateway is left for the engine to refuse
            for entry in obj
                .get_mut("match")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(e) = entry.as_object_mut() {
                    let only_mesh = e
                        .get("gateways")
                        .and_then(Value::as_array)
                        .is_some_and(|g| g.iter().all(|g| g.as_str() == Some("mesh")));
                    if only_mesh {
                        e.remove("gateways");
                    }
                }
            }
        }
        rules.push(ImportedRule { value });
    }
    (hosts, rules, carried)
}

/// One DestinationRule subset: name, labels, and where the labels are.
pub type Subset = (String, Value, FieldPath);

/// A DestinationRule field carried as written: its name (or the subset's),
/// the value, and where it is.
pub type Carried = (String, Value, FieldPath);

/// What a DestinationRule gives the policy.
pub struct ImportedDestinationRule {
    pub host: String,
    pub subsets: Vec<Subset>,
    /// `trafficPolicy`, `exportTo`, `workloadSelector`.
    pub settings: Vec<Carried>,
    /// Per subset name, its `trafficPolicy`.
    pub subset_policies: Vec<Carried>,
}

/// A DestinationRule's host, its subsets and its cluster settings.
pub fn destination_rule(
    doc: &Document,
    errors: &mut Vec<Diagnostic>,
) -> Option<ImportedDestinationRule> {
    let root = FieldPath::default().key("spec");
    let spec = spec(doc, errors)?;
    let settings = ["trafficPolicy", "exportTo", "workloadSelector"]
        .iter()
        .filter_map(|&k| spec.get(k).map(|v| (k.to_owned(), v.clone(), root.key(k))))
        .collect();
    let mut subset_policies = Vec::new();
    let Some(host) = spec.get("host").and_then(Value::as_str) else {
        errors.push(doc.diag(
            Diagnostic::error("missing-field", "a DestinationRule needs `spec.host`"),
            &root,
        ));
        return None;
    };
    let mut subsets = Vec::new();
    for (i, subset) in list(doc, spec, "subsets", &root, errors).iter().enumerate() {
        let at = root.key("subsets").index(i);
        let Some(name) = subset.get("name").and_then(Value::as_str) else {
            errors.push(doc.diag(
                Diagnostic::error("missing-field", "a subset needs a `name`"),
                &at,
            ));
            continue;
        };
        let labels = subset
            .get("labels")
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()));
        if let Some(policy) = subset.get("trafficPolicy") {
            subset_policies.push((name.to_owned(), policy.clone(), at.key("trafficPolicy")));
        }
        subsets.push((name.to_owned(), labels, at.key("labels")));
    }
    Some(ImportedDestinationRule {
        host: host.to_owned(),
        subsets,
        settings,
        subset_policies,
    })
}

/// A Telemetry's `metrics` entries and where each came from.
pub fn telemetry(doc: &Document, errors: &mut Vec<Diagnostic>) -> Vec<(Value, FieldPath)> {
    let root = FieldPath::default().key("spec");
    let Some(spec) = spec(doc, errors) else {
        return Vec::new();
    };
    reject(
        doc,
        &Value::Object(spec.clone()),
        &root,
        TELEMETRY_SPEC,
        errors,
    );
    list(doc, spec, "metrics", &root, errors)
        .iter()
        .enumerate()
        .map(|(i, m)| (m.clone(), root.key("metrics").index(i)))
        .collect()
}
