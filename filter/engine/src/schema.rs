//! The document's shape, walked over a `serde_json::Value` before typed
//! deserialisation, so that every unknown field and every type error is
//! reported at once with its path. Written by hand because serde stops at
//! the first error, and `#[serde(flatten)]` catch-alls would break the field
//! paths of `serde_path_to_error`. Must list exactly the fields of
//! `crate::model` and `crate::telemetry::model` (a test round-trips a
//! document that uses every field through both, and another compares each
//! table with the fields serde reads).
//!
//! The model refuses unknown fields, so the walk also strips what it reports
//! (unknown and unsupported fields, wherever serde would have read past
//! them): the typed read then yields the model that ignoring them would
//! have, and the semantic errors are reported beside the walk's.

use serde_json::Value;

use crate::error::{Errors, FieldPath, PathSegment, PolicyErrorKind};

/// What a field holds.
pub(crate) enum Kind {
    Str,
    U32,
    Bool,
    Number,
    Obj(&'static [Field]),
    List(&'static Kind),
    Map(&'static Kind),
    /// A map carried as written (Istio fields Envoy enforces without the
    /// filter: `tcp`/`tls` routes, a DestinationRule's `trafficPolicy`).
    AnyMap,
    /// A field of the Istio resource that meshpolicy does not implement.
    Unsupported(&'static str),
}

pub(crate) struct Field {
    name: &'static str,
    kind: Kind,
}

const fn f(name: &'static str, kind: Kind) -> Field {
    Field { name, kind }
}

static STRING_MATCH: &[Field] = &[
    f("exact", Kind::Str),
    f("prefix", Kind::Str),
    f("regex", Kind::Str),
];
static STRING_MAP: Kind = Kind::Map(&Kind::Str);

static MATCH_REQUEST: &[Field] = &[
    f("name", Kind::Str),
    f("uri", Kind::Obj(STRING_MATCH)),
    f("scheme", Kind::Obj(STRING_MATCH)),
    f("method", Kind::Obj(STRING_MATCH)),
    f("authority", Kind::Obj(STRING_MATCH)),
    f("headers", Kind::Map(&Kind::Obj(STRING_MATCH))),
    f("withoutHeaders", Kind::Map(&Kind::Obj(STRING_MATCH))),
    f("queryParams", Kind::Map(&Kind::Obj(STRING_MATCH))),
    f("ignoreUriCase", Kind::Bool),
    f("port", Kind::U32),
    f("sourceLabels", Kind::Map(&Kind::Str)),
    f("sourceNamespace", Kind::Str),
    f(
        "gateways",
        Kind::Unsupported("a filter in the sidecar sees no gateway"),
    ),
    f(
        "statPrefix",
        Kind::Unsupported("meshpolicy emits its own metrics"),
    ),
];

static HEADER_OPERATIONS: &[Field] = &[
    f("set", Kind::Map(&Kind::Str)),
    f("add", Kind::Map(&Kind::Str)),
    f("remove", Kind::List(&Kind::Str)),
];
static HEADERS: &[Field] = &[
    f("request", Kind::Obj(HEADER_OPERATIONS)),
    f("response", Kind::Obj(HEADER_OPERATIONS)),
];

static PORT_SELECTOR: &[Field] = &[f("number", Kind::U32)];
static DESTINATION: &[Field] = &[
    f("host", Kind::Str),
    f("subset", Kind::Str),
    f("port", Kind::Obj(PORT_SELECTOR)),
];
static ROUTE_DESTINATION: &[Field] = &[
    f("destination", Kind::Obj(DESTINATION)),
    f("weight", Kind::U32),
    f("headers", Kind::Obj(HEADERS)),
];

static REGEX_REWRITE: &[Field] = &[f("match", Kind::Str), f("rewrite", Kind::Str)];
static REWRITE: &[Field] = &[
    f("uri", Kind::Str),
    f("uriRegexRewrite", Kind::Obj(REGEX_REWRITE)),
    f("authority", Kind::Str),
];

static REDIRECT: &[Field] = &[
    f("uri", Kind::Str),
    f("authority", Kind::Str),
    f("port", Kind::U32),
    f("scheme", Kind::Str),
    f("redirectCode", Kind::U32),
    f("derivePort", Kind::Unsupported("set `port` instead")),
];
static BODY: &[Field] = &[
    f("string", Kind::Str),
    f("bytes", Kind::Unsupported("use `string`")),
];
static DIRECT_RESPONSE: &[Field] = &[f("status", Kind::U32), f("body", Kind::Obj(BODY))];

static PERCENT: &[Field] = &[f("value", Kind::Number)];
static ABORT: &[Field] = &[
    f("httpStatus", Kind::U32),
    f("percentage", Kind::Obj(PERCENT)),
    f("grpcStatus", Kind::Unsupported("use `httpStatus`")),
    f("http2Error", Kind::Unsupported("use `httpStatus`")),
];
static DELAY: &[Field] = &[
    f("fixedDelay", Kind::Str),
    f("percentage", Kind::Obj(PERCENT)),
    f("percent", Kind::U32),
    f(
        "exponentialDelay",
        Kind::Unsupported("Istio does not support it yet: use `fixedDelay`"),
    ),
];
static FAULT: &[Field] = &[f("delay", Kind::Obj(DELAY)), f("abort", Kind::Obj(ABORT))];

static RETRIES: &[Field] = &[
    f("attempts", Kind::U32),
    f("perTryTimeout", Kind::Str),
    f("retryOn", Kind::Str),
    f("retryRemoteLocalities", Kind::Bool),
    f("retryIgnorePreviousHosts", Kind::Bool),
    f("backoff", Kind::Str),
];
static MIRROR_POLICY: &[Field] = &[
    f("destination", Kind::Obj(DESTINATION)),
    f("percentage", Kind::Obj(PERCENT)),
];
static CORS_POLICY: &[Field] = &[
    f("allowOrigins", Kind::List(&Kind::Obj(STRING_MATCH))),
    f("allowOrigin", Kind::List(&Kind::Str)),
    f("allowMethods", Kind::List(&Kind::Str)),
    f("allowHeaders", Kind::List(&Kind::Str)),
    f("exposeHeaders", Kind::List(&Kind::Str)),
    f("maxAge", Kind::Str),
    f("allowCredentials", Kind::Bool),
    f("unmatchedPreflights", Kind::Str),
];

static STICKY: &[Field] = &[
    f("header", Kind::Str),
    f("cookie", Kind::Str),
    f("queryParam", Kind::Str),
    f("generate", Kind::Obj(GENERATE_COOKIE)),
];

static GENERATE_COOKIE: &[Field] = &[f("ttl", Kind::Str)];

static HTTP_RULE: &[Field] = &[
    f("name", Kind::Str),
    f("match", Kind::List(&Kind::Obj(MATCH_REQUEST))),
    f("route", Kind::List(&Kind::Obj(ROUTE_DESTINATION))),
    f("redirect", Kind::Obj(REDIRECT)),
    f("directResponse", Kind::Obj(DIRECT_RESPONSE)),
    f("rewrite", Kind::Obj(REWRITE)),
    f("fault", Kind::Obj(FAULT)),
    f("headers", Kind::Obj(HEADERS)),
    f("sticky", Kind::Obj(STICKY)),
    f(
        "delegate",
        Kind::Unsupported("delegation is resolved by Istio, not in a filter"),
    ),
    f("timeout", Kind::Str),
    f("retries", Kind::Obj(RETRIES)),
    f("mirror", Kind::Obj(DESTINATION)),
    f("mirrors", Kind::List(&Kind::Obj(MIRROR_POLICY))),
    f("mirrorPercentage", Kind::Obj(PERCENT)),
    f("mirrorPercent", Kind::U32),
    f(
        "mirror_percent",
        Kind::Unsupported("write `mirrorPercentage` (or the deprecated `mirrorPercent`)"),
    ),
    f("corsPolicy", Kind::Obj(CORS_POLICY)),
];

static VIRTUAL_SERVICE: &[Field] = &[
    f("name", Kind::Str),
    f("namespace", Kind::Str),
    f("hosts", Kind::List(&Kind::Str)),
    f("http", Kind::List(&Kind::Obj(HTTP_RULE))),
    f("tls", Kind::List(&Kind::AnyMap)),
    f("tcp", Kind::List(&Kind::AnyMap)),
    f("exportTo", Kind::List(&Kind::Str)),
];

/// A v1alpha1 document's top-level rule list, and how to move it.
pub(crate) const V1_HTTP: &str = "rules belong to a virtual service since meshpolicy.dev/v1alpha2: \
     move `spec.http` to `spec.virtualServices[0].http`, name the virtual service \
     (`name`) and list the hosts its rules serve (`hosts`)";

static SETTINGS: &[Field] = &[f("decisionHeader", Kind::Str), f("metricPrefix", Kind::Str)];

static PROVIDER_REF: &[Field] = &[f("name", Kind::Str)];
static METRIC_SELECTOR: &[Field] = &[
    f("metric", Kind::Str),
    f("customMetric", Kind::Str),
    f("mode", Kind::Str),
];
static TAG_OVERRIDE: &[Field] = &[
    f("operation", Kind::Str),
    f("value", Kind::Str),
    f("maxValues", Kind::U32),
];
static METRICS_OVERRIDES: &[Field] = &[
    f("match", Kind::Obj(METRIC_SELECTOR)),
    f("disabled", Kind::Bool),
    f("tagOverrides", Kind::Map(&Kind::Obj(TAG_OVERRIDE))),
];
static METRICS: &[Field] = &[
    f("providers", Kind::List(&Kind::Obj(PROVIDER_REF))),
    f("overrides", Kind::List(&Kind::Obj(METRICS_OVERRIDES))),
    f("reportingInterval", Kind::Str),
];

static SUBSET_OPTIONS: &[Field] = &[f("trafficPolicy", Kind::AnyMap)];
static DESTINATION_RULE: &[Field] = &[
    f("trafficPolicy", Kind::AnyMap),
    f("exportTo", Kind::List(&Kind::Str)),
    f("workloadSelector", Kind::AnyMap),
    f("subsets", Kind::Map(&Kind::Obj(SUBSET_OPTIONS))),
];

static SPEC: &[Field] = &[
    f("virtualServices", Kind::List(&Kind::Obj(VIRTUAL_SERVICE))),
    f("http", Kind::Unsupported(V1_HTTP)),
    f("subsets", Kind::Map(&Kind::Map(&STRING_MAP))),
    f("settings", Kind::Obj(SETTINGS)),
    f("telemetry", Kind::List(&Kind::Obj(METRICS))),
    f("destinationRules", Kind::Map(&Kind::Obj(DESTINATION_RULE))),
];
static METADATA: &[Field] = &[
    f("name", Kind::Str),
    f("namespace", Kind::Str),
    f("labels", Kind::Map(&Kind::Str)),
    f("annotations", Kind::Map(&Kind::Str)),
];
static TRAFFIC_POLICY: &[Field] = &[
    f("apiVersion", Kind::Str),
    f("kind", Kind::Str),
    f("metadata", Kind::Obj(METADATA)),
    f("spec", Kind::Obj(SPEC)),
];

/// Check `doc` against the `TrafficPolicy` shape, one error per problem,
/// and strip the fields the model does not have.
pub(crate) fn check(doc: &mut Value, errors: &mut Errors) {
    walk(
        doc,
        &Kind::Obj(TRAFFIC_POLICY),
        &mut FieldPath::root(),
        "",
        errors,
    );
}

/// `path` is where `value` is, `name` the field that holds it; the path
/// grows and shrinks in place, and is cloned only into an error.
fn walk(
    value: &mut Value,
    kind: &Kind,
    path: &mut FieldPath,
    name: &'static str,
    errors: &mut Errors,
) {
    match (kind, value) {
        (Kind::Unsupported(hint), _) => {
            errors.push(path, PolicyErrorKind::UnsupportedField { name, hint });
        }
        (_, Value::Null) => errors.push(
            path,
            PolicyErrorKind::Null {
                expected: expected(kind),
            },
        ),
        (Kind::Str, Value::String(_))
        | (Kind::AnyMap, Value::Object(_))
        | (Kind::Bool, Value::Bool(_))
        | (Kind::Number, Value::Number(_)) => {}
        (Kind::U32, Value::Number(n)) => {
            if n.as_u64().is_none_or(|v| u32::try_from(v).is_err()) {
                errors.push(
                    path,
                    PolicyErrorKind::OutOfRange {
                        value: n.to_string(),
                        expected: expected(kind),
                    },
                );
            }
        }
        (Kind::Obj(fields), Value::Object(map)) => {
            // in key order; a field the model lacks is reported and dropped
            // (the map is rebuilt, not `retain`ed: no removal code for it)
            for (key, mut child) in std::mem::take(map) {
                let keep = match fields.iter().find(|fd| fd.name == key) {
                    Some(fd) => {
                        path.push(PathSegment::Field(fd.name));
                        walk(&mut child, &fd.kind, path, fd.name, errors);
                        path.pop();
                        !matches!(fd.kind, Kind::Unsupported(_))
                    }
                    None => {
                        errors.push(
                            &path.key(key.as_str()),
                            PolicyErrorKind::UnknownField {
                                name: key.clone(),
                                expected: names(fields),
                            },
                        );
                        false
                    }
                };
                if keep {
                    map.insert(key, child);
                }
            }
        }
        (Kind::List(inner), Value::Array(list)) => {
            for (i, child) in list.iter_mut().enumerate() {
                path.push(PathSegment::Index(i));
                walk(child, inner, path, name, errors);
                path.pop();
            }
        }
        (Kind::Map(inner), Value::Object(map)) => {
            for (key, child) in map.iter_mut() {
                path.push(PathSegment::Key(key.clone()));
                walk(child, inner, path, name, errors);
                path.pop();
            }
        }
        (_, other) => {
            errors.push(
                path,
                PolicyErrorKind::WrongType {
                    found: describe(other),
                    expected: expected(kind),
                },
            );
            strip(other, kind);
        }
    }
}

/// Drops, without a report, the fields the model lacks from a value the
/// walk reported as the wrong type but serde reads anyway: a struct given as
/// a list, read element by element in the model's field order.
fn strip(value: &mut Value, kind: &Kind) {
    match (kind, value) {
        (Kind::Obj(fields), Value::Object(map)) => {
            for (key, mut child) in std::mem::take(map) {
                if let Some(fd) = fields.iter().find(|fd| fd.name == key)
                    && !matches!(fd.kind, Kind::Unsupported(_))
                {
                    strip(&mut child, &fd.kind);
                    map.insert(key, child);
                }
            }
        }
        (Kind::Obj(fields), Value::Array(list)) => {
            for (child, fd) in list.iter_mut().zip(model_order(fields)) {
                strip(child, &fd.kind);
            }
        }
        (Kind::List(inner), Value::Array(list)) => {
            for child in list {
                strip(child, inner);
            }
        }
        (Kind::Map(inner), Value::Object(map)) => {
            for child in map.values_mut() {
                strip(child, inner);
            }
        }
        _ => {}
    }
}

/// The fields of a table that the model has, in the model's declaration
/// order (the order serde reads a struct given as a list, which a test
/// checks is the table's).
fn model_order(fields: &'static [Field]) -> impl Iterator<Item = &'static Field> {
    fields
        .iter()
        .filter(|fd| !matches!(fd.kind, Kind::Unsupported(_)))
}

fn names(fields: &[Field]) -> String {
    let list: Vec<String> = fields
        .iter()
        .filter(|fd| !matches!(fd.kind, Kind::Unsupported(_)))
        .map(|fd| format!("`{}`", fd.name))
        .collect();
    list.join(", ")
}

fn expected(kind: &Kind) -> &'static str {
    match kind {
        Kind::Str => "a string",
        Kind::U32 => "an unsigned 32-bit integer",
        Kind::Bool => "a boolean",
        Kind::Number => "a number",
        Kind::Obj(_) | Kind::Map(_) | Kind::AnyMap => "a map",
        Kind::List(_) => "a list",
        Kind::Unsupported(_) => "nothing",
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) => format!("number `{n}`"),
        Value::String(s) => format!("string `{s}`"),
        Value::Array(_) => "list".to_owned(),
        Value::Object(_) => "map".to_owned(),
    }
}

#[cfg(test)]
mod tests;
