//! Istio resources to policy pieces: VirtualService `http` rules,
//! DestinationRule `subsets`, Telemetry `metrics`. Every field meshpolicy
//! cannot enforce in a filter is an error at its place, never dropped.

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

const ROUTER: &str = "Envoy's router enforces it after the filter chain; keep it in an Istio \
                      VirtualService beside the companion one";

const VS_SPEC: &[Unsupported] = &[
    un(
        "tcp",
        "meshpolicy is an HTTP filter; keep TCP routes in an Istio VirtualService",
    ),
    un(
        "tls",
        "meshpolicy is an HTTP filter; keep TLS routes in an Istio VirtualService",
    ),
    un(
        "exportTo",
        "the WasmPlugin's selector decides where a policy applies",
    ),
];

const HTTP_ROUTE: &[Unsupported] = &[
    un("timeout", ROUTER),
    un("retries", ROUTER),
    un("mirror", ROUTER),
    un("mirrors", ROUTER),
    un("mirrorPercentage", ROUTER),
    un("mirrorPercent", ROUTER),
    un(
        "corsPolicy",
        "Envoy's CORS filter runs before meshpolicy; keep it in an Istio VirtualService",
    ),
    un(
        "delegate",
        "a policy is one ordered rule list; inline the delegate's rules",
    ),
];

const HTTP_MATCH: &[Unsupported] = &[un(
    "statPrefix",
    "meshpolicy labels its own metrics with `policy_rule` instead",
)];

const DR_SPEC: &[Unsupported] = &[
    un(
        "trafficPolicy",
        "load balancing, connection pools, outlier detection and TLS are cluster \
                         settings; keep them in an Istio DestinationRule",
    ),
    un(
        "exportTo",
        "the WasmPlugin's selector decides where a policy applies",
    ),
    un(
        "workloadSelector",
        "the WasmPlugin's selector decides where a policy applies",
    ),
];

const DR_SUBSET: &[Unsupported] = &[un(
    "trafficPolicy",
    "per-subset cluster settings belong in an Istio DestinationRule",
)];

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
                        format!("meshpolicy runs in sidecars and cannot route for gateway {g}"),
                    )
                    .with_help("only `mesh` is accepted in `gateways`"),
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

/// A VirtualService's `hosts` and its `http` rules.
pub fn virtual_service(
    doc: &Document,
    errors: &mut Vec<Diagnostic>,
) -> (Vec<String>, Vec<ImportedRule>) {
    let root = FieldPath::default().key("spec");
    let Some(spec) = spec(doc, errors) else {
        return (Vec::new(), Vec::new());
    };
    let spec_value = Value::Object(spec.clone());
    reject(doc, &spec_value, &root, VS_SPEC, errors);
    reject_gateways(doc, &spec_value, &root, errors);
    let hosts = list(doc, spec, "hosts", &root, errors)
        .iter()
        .filter_map(|h| h.as_str().map(str::to_owned))
        .collect();
    let mut rules = Vec::new();
    for (j, rule) in list(doc, spec, "http", &root, errors).iter().enumerate() {
        let at = root.key("http").index(j);
        reject(doc, rule, &at, HTTP_ROUTE, errors);
        if let Some(fault) = rule.get("fault") {
            reject(
                doc,
                fault,
                &at.key("fault"),
                &[un(
                    "delay",
                    "meshpolicy answers faults with a local response and cannot hold a request",
                )],
                errors,
            );
        }
        if let Some(redirect) = rule.get("redirect") {
            reject(
                doc,
                redirect,
                &at.key("redirect"),
                &[un("derivePort", "set `port` explicitly")],
                errors,
            );
        }
        let matches = rule
            .get("match")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (m, entry) in matches.iter().enumerate() {
            let mp = at.key("match").index(m);
            reject(doc, entry, &mp, HTTP_MATCH, errors);
            reject_gateways(doc, entry, &mp, errors);
        }
        let mut value = rule.clone();
        if let Some(obj) = value.as_object_mut() {
            // gateways: [mesh] is what a sidecar policy means anyway
            for entry in obj
                .get_mut("match")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(e) = entry.as_object_mut() {
                    e.remove("gateways");
                }
            }
        }
        rules.push(ImportedRule { value });
    }
    (hosts, rules)
}

/// One DestinationRule subset: name, labels, and where the labels are.
pub type Subset = (String, Value, FieldPath);

/// A DestinationRule's host and its subsets.
pub fn destination_rule(
    doc: &Document,
    errors: &mut Vec<Diagnostic>,
) -> Option<(String, Vec<Subset>)> {
    let root = FieldPath::default().key("spec");
    let spec = spec(doc, errors)?;
    reject(doc, &Value::Object(spec.clone()), &root, DR_SPEC, errors);
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
        reject(doc, subset, &at, DR_SUBSET, errors);
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
        subsets.push((name.to_owned(), labels, at.key("labels")));
    }
    Some((host.to_owned(), subsets))
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
