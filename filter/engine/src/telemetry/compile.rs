//! Validation of `spec.telemetry` and the resolution of its overrides into
//! one label plan per (reporter mode, metric), computed once at configure.
//!
//! Semantics are Istio's `mergeMetrics` (istio/istio
//! `pilot/pkg/model/telemetry.go`): overrides apply in order, later ones
//! winning per tag; `ALL_METRICS` with `disabled: true` turns a mode off
//! until a later override for that mode turns it back on; the labels of a
//! metric are the standard ones with REMOVEd tags dropped and UPSERTs over a
//! standard tag replacing it in place, then new tags appended in name order
//! (istio/proxy `source/extensions/filters/http/istio_stats/istio_stats.cc`,
//! `overrideTags`). Validation messages are Istio's (the Telemetry CRD's
//! `x-kubernetes-validations` and `pkg/config/validation`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::cel::Program;
use super::labels::STANDARD_LABELS;
use super::model::{Metrics, MetricsOverrides, TagOverride};
use super::{CompiledTelemetry, LabelPlan, LabelSource, Metric, Mode, Plan};
use crate::error::{Errors, FieldPath, PolicyErrorKind, field, item, key};

/// The default metric name prefix.
pub const DEFAULT_PREFIX: &str = "meshpolicy_";

/// Istio's metric selectors (telemetry.istio.io `MetricSelector.IstioMetric`).
pub(crate) const ISTIO_METRICS: &[&str] = &[
    "ALL_METRICS",
    "REQUEST_COUNT",
    "REQUEST_DURATION",
    "REQUEST_SIZE",
    "RESPONSE_SIZE",
    "TCP_OPENED_CONNECTIONS",
    "TCP_CLOSED_CONNECTIONS",
    "TCP_SENT_BYTES",
    "TCP_RECEIVED_BYTES",
    "GRPC_REQUEST_MESSAGES",
    "GRPC_RESPONSE_MESSAGES",
];

#[derive(Clone)]
struct Resolved {
    /// The override's `maxValues`, with the compiled value.
    program: usize,
    max_values: Option<u32>,
}

#[derive(Clone, Default)]
struct MetricState<'d> {
    disabled: Option<bool>,
    /// tag -> its entry in `overrides` (the map type of the compile walk's
    /// name checks: one copy of its code in the filter).
    tags: BTreeMap<&'d str, usize>,
    /// The last override of each tag: None (REMOVE) or Some (UPSERT).
    overrides: Vec<Option<Resolved>>,
}

/// Validates `spec.telemetry` and `spec.settings.metricPrefix` and resolves
/// the overrides. Errors go to `errors` with their field paths; the result
/// is only meaningful when no error was added.
pub(crate) fn compile(
    entries: &[Metrics],
    prefix: Option<&str>,
    errors: &mut Errors,
) -> CompiledTelemetry {
    let prefix = prefix.unwrap_or(DEFAULT_PREFIX);
    let prefix_ok = prefix
        .bytes()
        .enumerate()
        .all(|(i, b)| b.is_ascii_alphabetic() || b == b'_' || (i > 0 && b.is_ascii_digit()));
    if !prefix_ok {
        errors.push(
            &FieldPath::fields(&["spec", "settings", "metricPrefix"]),
            PolicyErrorKind::InvalidMetricPrefix {
                prefix: prefix.to_owned(),
            },
        );
    }

    let mut programs: Vec<Program> = Vec::new();
    // [mode][metric]
    let mut state: [[MetricState; 4]; 2] = Default::default();
    let mut all_disabled = [false; 2];

    for (i, entry) in entries.iter().enumerate() {
        let path = item(&FieldPath::fields(&["spec", "telemetry"]), i);
        let mut ours = entry.providers.is_empty();
        for (k, p) in entry.providers.iter().enumerate() {
            if p.name.is_empty() {
                errors.push(
                    &field(&item(&field(&path, "providers"), k), "name"),
                    PolicyErrorKind::EmptyProviderName,
                );
            }
            ours |= p.name == "prometheus";
        }
        for (j, o) in entry.overrides.iter().enumerate() {
            let opath = item(&field(&path, "overrides"), j);
            let selected = selector(o, &opath, errors);
            let tags = tag_overrides(o, &opath, &mut programs, errors);
            let Some((metrics, modes)) = selected else {
                continue;
            };
            if !ours {
                continue;
            }
            let is_all = o.match_.as_ref().is_none_or(|m| {
                m.custom_metric.is_none() && m.metric.as_deref().is_none_or(|x| x == "ALL_METRICS")
            });
            for mode in modes {
                let m = mode as usize;
                if is_all && o.disabled == Some(true) {
                    if let Some(flag) = all_disabled.get_mut(m) {
                        *flag = true;
                    }
                    continue;
                }
                if let Some(flag) = all_disabled.get_mut(m) {
                    *flag = false;
                }
                for metric in &metrics {
                    let Some(st) = state.get_mut(m).and_then(|s| s.get_mut(*metric as usize))
                    else {
                        continue;
                    };
                    if o.disabled.is_some() {
                        st.disabled = o.disabled;
                    }
                    for &(name, ref t) in &tags {
                        match st.tags.get(name).and_then(|&i| st.overrides.get_mut(i)) {
                            Some(last) => *last = t.clone(),
                            None => {
                                st.tags.insert(name, st.overrides.len());
                                st.overrides.push(t.clone());
                            }
                        }
                    }
                }
            }
        }
    }

    let mut plans: [[Option<Plan>; 4]; 2] = Default::default();
    for mode in [Mode::Client, Mode::Server] {
        for metric in Metric::ALL {
            let st = state
                .get(mode as usize)
                .and_then(|s| s.get(metric as usize))
                .cloned()
                .unwrap_or_default();
            let off = all_disabled.get(mode as usize).copied().unwrap_or(false)
                || st.disabled == Some(true);
            if off {
                continue;
            }
            if let Some(slot) = plans
                .get_mut(mode as usize)
                .and_then(|p| p.get_mut(metric as usize))
            {
                *slot = Some(plan(&st));
            }
        }
    }
    let groups = [Mode::Client, Mode::Server].map(|mode| {
        let row = plans.get(mode as usize);
        let plan = |m: usize| row.and_then(|r| r.get(m)).and_then(Option::as_ref);
        let mut masks: Vec<u8> = Vec::new();
        let mut grouped = 0u8;
        for m in 0..Metric::ALL.len() {
            let Some(p) = plan(m) else { continue };
            if grouped & (1 << m) != 0 {
                continue;
            }
            let mask = (m..Metric::ALL.len())
                .filter(|&o| plan(o) == Some(p))
                .fold(0u8, |acc, o| acc | (1 << o));
            grouped |= mask;
            masks.push(mask);
        }
        masks
    });
    let needed = [Mode::Client, Mode::Server].map(|mode| {
        plans
            .get(mode as usize)
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|p| &p.labels)
            .fold(0u32, |acc, l| match l.source {
                LabelSource::Standard(i) if i < 32 => acc | (1 << i),
                _ => acc,
            })
    });
    CompiledTelemetry {
        prefix: prefix.to_string(),
        plans,
        programs,
        groups,
        needed,
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
    }
}

/// The next [`CompiledTelemetry`] id.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn plan(st: &MetricState<'_>) -> Plan {
    let mut labels = Vec::new();
    let last = |i: &usize| st.overrides.get(*i);
    for (idx, name) in STANDARD_LABELS.iter().enumerate() {
        match st.tags.get(*name).and_then(last) {
            Some(None) => {}
            Some(Some(r)) => labels.push(LabelPlan {
                name: (*name).to_string(),
                source: LabelSource::Expr {
                    program: r.program,
                    max_values: r.max_values,
                },
            }),
            None => labels.push(LabelPlan {
                name: (*name).to_string(),
                source: LabelSource::Standard(idx),
            }),
        }
    }
    // New tags, in name order (BTreeMap).
    for (name, i) in &st.tags {
        if let Some(Some(r)) = last(i)
            && !STANDARD_LABELS.contains(name)
        {
            labels.push(LabelPlan {
                name: (*name).to_owned(),
                source: LabelSource::Expr {
                    program: r.program,
                    max_values: r.max_values,
                },
            });
        }
    }
    Plan::new(labels)
}

/// The metrics and modes an override selects; `None` when invalid.
fn selector(
    o: &MetricsOverrides,
    opath: &FieldPath,
    errors: &mut Errors,
) -> Option<(Vec<Metric>, Vec<Mode>)> {
    let mpath = field(opath, "match");
    let Some(m) = &o.match_ else {
        return Some((Metric::ALL.to_vec(), vec![Mode::Client, Mode::Server]));
    };
    let mut ok = true;
    let metrics = match (&m.metric, &m.custom_metric) {
        (Some(_), Some(_)) => {
            errors.push(&mpath, PolicyErrorKind::MetricAndCustomMetric);
            ok = false;
            Vec::new()
        }
        (None, Some(c)) if c.is_empty() => {
            errors.push(
                &field(&mpath, "customMetric"),
                PolicyErrorKind::EmptyCustomMetric,
            );
            ok = false;
            Vec::new()
        }
        (None, Some(c)) => match Metric::ALL.iter().find(|x| x.name() == c) {
            Some(x) => vec![*x],
            None => {
                errors.push(
                    &field(&mpath, "customMetric"),
                    PolicyErrorKind::UnknownCustomMetric { name: c.clone() },
                );
                ok = false;
                Vec::new()
            }
        },
        (Some(x), None) if !ISTIO_METRICS.contains(&x.as_str()) => {
            errors.push(
                &field(&mpath, "metric"),
                PolicyErrorKind::UnknownMetric { name: x.clone() },
            );
            ok = false;
            Vec::new()
        }
        (Some(x), None) if x == "ALL_METRICS" => Metric::ALL.to_vec(),
        // TCP and gRPC message metrics are valid Istio but meshpolicy emits none.
        (Some(x), None) => Metric::ALL
            .iter()
            .copied()
            .filter(|m| m.selector() == x)
            .collect(),
        (None, None) => Metric::ALL.to_vec(),
    };
    let modes = match m.mode.as_deref() {
        None | Some("CLIENT_AND_SERVER") => vec![Mode::Client, Mode::Server],
        Some("CLIENT") => vec![Mode::Client],
        Some("SERVER") => vec![Mode::Server],
        Some(other) => {
            errors.push(
                &field(&mpath, "mode"),
                PolicyErrorKind::UnknownMode {
                    mode: other.to_owned(),
                },
            );
            ok = false;
            Vec::new()
        }
    };
    ok.then_some((metrics, modes))
}

fn tag_overrides<'d>(
    o: &'d MetricsOverrides,
    opath: &FieldPath,
    programs: &mut Vec<Program>,
    errors: &mut Errors,
) -> Vec<(&'d str, Option<Resolved>)> {
    let tpath = field(opath, "tagOverrides");
    let mut out = Vec::new();
    for (name, t) in &o.tag_overrides {
        let path = key(&tpath, name);
        let valid_name = name
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_alphabetic() || b == b'_' || (i > 0 && b.is_ascii_digit()));
        if name.is_empty() || !valid_name {
            errors.push(
                &path,
                PolicyErrorKind::InvalidTagName { name: name.clone() },
            );
            continue;
        }
        if let Some(r) = tag_override(t, &path, programs, errors) {
            out.push((name.as_str(), r));
        }
    }
    out
}

/// `Some(None)` for REMOVE, `Some(Some(..))` for UPSERT, `None` when invalid.
fn tag_override(
    t: &TagOverride,
    path: &FieldPath,
    programs: &mut Vec<Program>,
    errors: &mut Errors,
) -> Option<Option<Resolved>> {
    let vpath = field(path, "value");
    let value = t.value.as_deref();
    let max_ok = match t.max_values {
        Some(0) => {
            errors.push(&field(path, "maxValues"), PolicyErrorKind::ZeroMaxValues);
            false
        }
        _ => true,
    };
    match t.operation.as_deref() {
        Some("REMOVE") => {
            let mut ok = max_ok;
            if value.is_some() {
                errors.push(&vpath, PolicyErrorKind::ValueWithRemove);
                ok = false;
            }
            if t.max_values.is_some() {
                errors.push(
                    &field(path, "maxValues"),
                    PolicyErrorKind::MaxValuesWithRemove,
                );
                ok = false;
            }
            ok.then_some(None)
        }
        None | Some("UPSERT") => {
            let Some(src) = value.filter(|v| !v.is_empty()) else {
                errors.push(&vpath, PolicyErrorKind::MissingUpsertValue);
                return None;
            };
            let program = match Program::compile(src) {
                Ok(p) => p,
                Err(e) => {
                    errors.push(
                        &vpath,
                        PolicyErrorKind::InvalidCel {
                            expression: src.to_owned(),
                            reason: e.to_string(),
                        },
                    );
                    return None;
                }
            };
            if !max_ok {
                return None;
            }
            // Identical expressions share one evaluation per request.
            let idx = match programs.iter().position(|p| p.source() == src) {
                Some(i) => i,
                None => {
                    programs.push(program);
                    programs.len() - 1
                }
            };
            Some(Some(Resolved {
                program: idx,
                max_values: t.max_values,
            }))
        }
        Some(other) => {
            errors.push(
                &field(path, "operation"),
                PolicyErrorKind::UnknownOperation {
                    operation: other.to_owned(),
                },
            );
            None
        }
    }
}
