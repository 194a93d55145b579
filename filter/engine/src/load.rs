//! The typed load of a policy text. A clean document (what `validate`
//! accepts, what the filter is normally given) is read straight from its
//! JSON into the model, without the `serde_json::Value`, the byte count of
//! its re-serialisation and the schema walk that the full path
//! (`crate::typed`) needs to report every error at once: those cost about
//! half of configuring 5,000 prefix rules.
//!
//! The fast path returns a model only when the full path would accept the
//! text with no error and read the same model; otherwise it answers `None`
//! and the caller runs the full path, which reports exactly what it always
//! did. What proves it, check by check (the full path's errors on the left):
//! - unknown and unsupported fields: the model refuses them
//!   (`deny_unknown_fields`), so the typed read fails;
//! - a wrong type or a number out of range: the typed read fails too, except
//!   where serde is more lenient than the walk: `null` for an optional field
//!   (refused here when the text has a `null` at all, [`scan`]), a struct
//!   given as a list (serde reads it field by field: refused when the text
//!   has more lists than the model holds, [`Shape`]), and the maps carried
//!   as written (`tls`, `tcp`, `trafficPolicy`, `workloadSelector`), which
//!   hold any JSON value in the model (checked to be maps, [`Shape`]);
//! - a document past [`MAX_POLICY_BYTES`] once re-serialised: white space
//!   and escapes only shrink in the compact form and an integer keeps its
//!   digits, so only a number written another way (`1e1`, `-0`, past `u64`)
//!   can grow, by at most [`NUMBER_GROWTH`] bytes: refused unless the text
//!   plus that growth fits.

use serde_json::Value;

use crate::TrafficPolicy;
use crate::limits::MAX_POLICY_BYTES;
use crate::model::{CorsPolicy, Headers, HttpRule, VirtualService};

/// The most bytes a number token can gain when serde_json writes it back
/// (its longest form, `-2.2250738585072014e-308`, is 24 bytes; a token is
/// at least one).
const NUMBER_GROWTH: usize = 24;

/// The model of a clean `json`, or `None` when the full path must decide.
/// The caller has refused a text past [`MAX_POLICY_BYTES`].
pub(crate) fn clean(json: &str) -> Option<TrafficPolicy> {
    let text = scan(json)?;
    let bound = json
        .len()
        .checked_add(text.growing_numbers.checked_mul(NUMBER_GROWTH)?)?;
    if bound > MAX_POLICY_BYTES {
        return None;
    }
    let doc: TrafficPolicy = serde_json::from_str(json).ok()?;
    let shape = Shape::of(&doc)?;
    (shape.lists == text.lists).then_some(doc)
}

/// What the text holds outside its strings.
#[derive(Debug, PartialEq, Eq)]
struct Text {
    /// `[`: lists (the model's, or structs given as lists).
    lists: usize,
    /// Number tokens that may be written back longer (anything but a plain
    /// unsigned integer of at most 19 digits, which serde_json keeps as a
    /// `u64` and writes back digit for digit).
    growing_numbers: usize,
}

/// One pass over the text outside its strings; `None` when it has a `null`
/// (or anything else starting with `n`, which is not JSON anyway).
fn scan(json: &str) -> Option<Text> {
    let bytes = json.as_bytes();
    let mut text = Text {
        lists: 0,
        growing_numbers: 0,
    };
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        at += 1;
        match b {
            b'"' => {
                // to the closing quote; an escape skips the byte after `\`
                while let Some(&c) = bytes.get(at) {
                    at += 1;
                    match c {
                        b'"' => break,
                        b'\\' => at += 1,
                        _ => {}
                    }
                }
            }
            b'[' => text.lists += 1,
            b'n' => return None,
            b'0'..=b'9' | b'-' => {
                let start = at - 1;
                while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = bytes.get(at) {
                    at += 1;
                }
                let plain = b != b'-'
                    && at - start <= 19
                    && bytes
                        .get(start..at)
                        .is_some_and(|t| t.iter().all(u8::is_ascii_digit));
                if !plain {
                    text.growing_numbers += 1;
                }
            }
            _ => {}
        }
    }
    Some(text)
}

/// What the typed model holds that the text scan can be checked against.
struct Shape {
    /// Lists the model read: each optional list present, each other list
    /// not empty (an empty one may have been absent), and every list inside
    /// the maps carried as written.
    lists: usize,
}

impl Shape {
    /// `None` when a map carried as written is not a map.
    fn of(doc: &TrafficPolicy) -> Option<Shape> {
        let spec = &doc.spec;
        let mut lists = nonempty(&spec.virtual_services) + nonempty(&spec.telemetry);
        for vs in &spec.virtual_services {
            lists += virtual_service(vs)?;
        }
        for metrics in &spec.telemetry {
            lists += nonempty(&metrics.providers) + nonempty(&metrics.overrides);
        }
        for dr in spec.destination_rules.values() {
            lists += usize::from(dr.export_to.is_some());
            lists += any_map(dr.traffic_policy.as_ref())? + any_map(dr.workload_selector.as_ref())?;
            for subset in dr.subsets.values() {
                lists += any_map(subset.traffic_policy.as_ref())?;
            }
        }
        Some(Shape { lists })
    }
}

fn virtual_service(vs: &VirtualService) -> Option<usize> {
    let mut lists = nonempty(&vs.hosts) + nonempty(&vs.http) + usize::from(vs.export_to.is_some());
    for routes in [&vs.tls, &vs.tcp].into_iter().flatten() {
        lists += 1;
        for route in routes {
            lists += any_map(Some(route))?;
        }
    }
    for rule in &vs.http {
        lists += http_rule(rule);
    }
    Some(lists)
}

fn http_rule(rule: &HttpRule) -> usize {
    let mut lists = usize::from(rule.match_.is_some()) + usize::from(rule.mirrors.is_some());
    lists += headers(rule.headers.as_ref());
    if let Some(route) = &rule.route {
        lists += 1;
        lists += route
            .iter()
            .map(|rd| headers(rd.headers.as_ref()))
            .sum::<usize>();
    }
    lists + rule.cors_policy.as_ref().map_or(0, cors)
}

fn headers(headers: Option<&Headers>) -> usize {
    headers.map_or(0, |h| {
        [&h.request, &h.response]
            .into_iter()
            .flatten()
            .map(|ops| nonempty(&ops.remove))
            .sum()
    })
}

fn cors(cors: &CorsPolicy) -> usize {
    usize::from(cors.allow_origins.is_some())
        + [
            &cors.allow_origin,
            &cors.allow_methods,
            &cors.allow_headers,
            &cors.expose_headers,
        ]
        .into_iter()
        .filter(|list| list.is_some())
        .count()
}

fn nonempty<T>(list: &[T]) -> usize {
    usize::from(!list.is_empty())
}

/// The lists inside a map carried as written; `None` when it is not a map.
fn any_map(value: Option<&Value>) -> Option<usize> {
    match value {
        None => Some(0),
        Some(Value::Object(map)) => Some(map.values().map(lists_in).sum()),
        Some(_) => None,
    }
}

fn lists_in(value: &Value) -> usize {
    match value {
        Value::Array(list) => 1 + list.iter().map(lists_in).sum::<usize>(),
        Value::Object(map) => map.values().map(lists_in).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests;
