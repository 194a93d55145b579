//! The `spec.telemetry` section: Istio Telemetry `metrics` semantics applied
//! to meshpolicy's own metrics (SPEC §2.4).
//!
//! At configure time [`compile`] validates the section and resolves its
//! overrides into one label plan per (reporter mode, metric). Per request,
//! [`CompiledTelemetry::evaluate`] computes the standard labels and the
//! UPSERT expressions once, and [`CompiledTelemetry::stat_name`] gives each
//! enabled metric its stat name with the labels encoded for Envoy's tag
//! extraction (docs/telemetry.md).

/// The CEL subset of `tagOverrides` values: its own crate, re-exported here
/// so `telemetry::cel::…` paths keep working.
pub use meshpolicy_cel as cel;
mod compile;
pub(crate) use compile::ISTIO_METRICS;
mod labels;
mod memo;
pub mod model;
mod peer;
mod stats;

use std::collections::{HashMap, HashSet};

pub use compile::DEFAULT_PREFIX;
pub use labels::{
    Decided, NodeInfo, STANDARD_LABELS, mode as reporter_mode, read_grpc, request_is_grpc,
    response_flags, standard as standard_labels, standard_into as standard_labels_into,
};
pub use peer::PeerAttributes;
pub use stats::{Fallbacks, MAX_STATS, StatRecorder, StatSink, metric_value};

use crate::error::{Errors, PolicyErrors};
use cel::{Attributes, Program};

/// Which side of the connection reports (Istio `WorkloadMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Outbound: `reporter="source"`.
    Client = 0,
    /// Inbound: `reporter="destination"`.
    Server = 1,
}

/// meshpolicy's four request metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    RequestCount = 0,
    RequestDuration = 1,
    RequestSize = 2,
    ResponseSize = 3,
}

impl Metric {
    pub const ALL: [Metric; 4] = [
        Metric::RequestCount,
        Metric::RequestDuration,
        Metric::RequestSize,
        Metric::ResponseSize,
    ];

    /// The name after the prefix.
    pub fn name(self) -> &'static str {
        match self {
            Metric::RequestCount => "requests_total",
            Metric::RequestDuration => "request_duration_milliseconds",
            Metric::RequestSize => "request_bytes",
            Metric::ResponseSize => "response_bytes",
        }
    }

    /// The Istio selector that picks it.
    pub fn selector(self) -> &'static str {
        match self {
            Metric::RequestCount => "REQUEST_COUNT",
            Metric::RequestDuration => "REQUEST_DURATION",
            Metric::RequestSize => "REQUEST_SIZE",
            Metric::ResponseSize => "RESPONSE_SIZE",
        }
    }

    /// Counter (false) or histogram (true).
    pub fn is_histogram(self) -> bool {
        self != Metric::RequestCount
    }
}

/// The validated telemetry section.
#[derive(Debug, Clone)]
pub struct CompiledTelemetry {
    prefix: String,
    /// `[mode][metric]`, `None` when disabled.
    plans: [[Option<Plan>; 4]; 2],
    programs: Vec<Program>,
    /// `[mode]`: the enabled metrics grouped by identical label plan, as bit
    /// masks over `Metric as usize`, in the order of their first metric.
    groups: [Vec<u8>; 2],
    /// `[mode]`: the standard labels some enabled metric carries, bit `i`
    /// for `STANDARD_LABELS[i]`; the others are neither computed nor read.
    needed: [u32; 2],
    /// Unique to one compilation (shared by its clones, which have the same
    /// plans): label keys ([`Self::write_label_key`]) of different
    /// compilations must not be confused.
    id: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    labels: Vec<LabelPlan>,
    /// Indices into `labels` in stat-name order (shortest name first).
    name_order: Vec<usize>,
}

impl Plan {
    pub(crate) fn new(labels: Vec<LabelPlan>) -> Plan {
        let key = |i: usize| {
            let name = labels.get(i).map_or("", |l| l.name.as_str());
            (name.len(), name)
        };
        // A stable binary insertion sort (a few dozen labels, once per
        // configure): the order a stable sort gives, without a sort's code.
        let mut name_order: Vec<usize> = Vec::with_capacity(labels.len());
        for i in 0..labels.len() {
            let at = name_order.partition_point(|&j| key(j) <= key(i));
            name_order.insert(at, i);
        }
        Plan { labels, name_order }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LabelPlan {
    name: String,
    source: LabelSource,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LabelSource {
    /// Index into [`STANDARD_LABELS`].
    Standard(usize),
    Expr {
        program: usize,
        max_values: Option<u32>,
    },
}

/// Label values of one request, before the per-metric plans pick them.
/// Reusable: [`CompiledTelemetry::evaluate_into`] overwrites it in place.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestLabels {
    /// Sanitized, in [`STANDARD_LABELS`] order.
    standard: Vec<String>,
    /// One per UPSERT expression, printed and sanitized; `unknown` when it failed.
    exprs: Vec<String>,
}

/// Validates and compiles a telemetry section on its own (the policy calls
/// this through [`Policy::compile`](crate::Policy)); `path` errors start at
/// `spec.telemetry` and `spec.settings.metricPrefix`.
pub fn compile(
    entries: &[model::Metrics],
    metric_prefix: Option<&str>,
) -> Result<CompiledTelemetry, PolicyErrors> {
    let mut errors = Errors::default();
    let t = compile::compile(entries, metric_prefix, &mut errors);
    errors.into_result().map(|()| t)
}

/// Like [`compile`], collecting errors into the policy's list.
pub(crate) fn compile_into(
    entries: &[model::Metrics],
    metric_prefix: Option<&str>,
    errors: &mut Errors,
) -> CompiledTelemetry {
    compile::compile(entries, metric_prefix, errors)
}

impl Default for CompiledTelemetry {
    fn default() -> Self {
        let mut errors = Errors::default();
        compile::compile(&[], None, &mut errors)
    }
}

impl CompiledTelemetry {
    /// The metric name prefix (`meshpolicy_` unless `spec.settings.metricPrefix`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn plan(&self, mode: Mode, metric: Metric) -> Option<&Plan> {
        self.plans
            .get(mode as usize)?
            .get(metric as usize)?
            .as_ref()
    }

    /// Whether `metric` is reported in `mode` (not `disabled`).
    pub fn enabled(&self, mode: Mode, metric: Metric) -> bool {
        self.plan(mode, metric).is_some()
    }

    /// The label names of `metric` in `mode`, in order (`None` when disabled).
    pub fn label_names(&self, mode: Mode, metric: Metric) -> Option<Vec<&str>> {
        Some(
            self.plan(mode, metric)?
                .labels
                .iter()
                .map(|l| l.name.as_str())
                .collect(),
        )
    }

    /// Every label name any metric may carry (for the proxy's tag extraction).
    pub fn all_label_names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for plan in self.plans.iter().flatten().flatten() {
            for l in &plan.labels {
                if !out.contains(&l.name.as_str()) {
                    out.push(&l.name);
                }
            }
        }
        out
    }

    /// Computes the standard labels and evaluates every UPSERT expression
    /// once for a request. A failing expression gives `unknown`, as in Istio.
    pub fn evaluate(
        &self,
        mode: Mode,
        node: &NodeInfo,
        attrs: &dyn Attributes,
        policy_rule: &str,
        policy_destination: &str,
    ) -> RequestLabels {
        let mut out = RequestLabels::default();
        self.evaluate_into(mode, node, attrs, policy_rule, policy_destination, &mut out);
        out
    }

    /// [`Self::evaluate`] into `out`, reusing its buffers.
    pub fn evaluate_into(
        &self,
        mode: Mode,
        node: &NodeInfo,
        attrs: &dyn Attributes,
        policy_rule: &str,
        policy_destination: &str,
        out: &mut RequestLabels,
    ) {
        let decided = Decided::from((policy_rule, policy_destination));
        self.evaluate_labels(mode, node, attrs, decided, 0, out);
    }

    /// [`Self::evaluate_into`] without sanitizing the standard labels (the
    /// UPSERT expressions are, as `maxValues` counts sanitized values): for
    /// [`Self::write_raw_label_key`]; [`Self::sanitize_standard`] makes them
    /// what [`Self::evaluate_into`] gives.
    pub(crate) fn evaluate_unsanitized(
        &self,
        mode: Mode,
        node: &NodeInfo,
        attrs: &dyn Attributes,
        decided: Decided<'_>,
        out: &mut RequestLabels,
    ) {
        self.evaluate_labels(mode, node, attrs, decided, u32::MAX, out);
    }

    /// Sanitizes the standard labels of `req` (see [`Self::evaluate_unsanitized`]).
    pub(crate) fn sanitize_standard(req: &mut RequestLabels) {
        req.standard.iter_mut().for_each(sanitize_in_place);
    }

    /// The labels of a request; the standard labels whose bit is set in
    /// `safe` are left as they are (sanitized already, or to be later).
    fn evaluate_labels(
        &self,
        mode: Mode,
        node: &NodeInfo,
        attrs: &dyn Attributes,
        decided: Decided<'_>,
        safe: u32,
        out: &mut RequestLabels,
    ) {
        labels::standard_decided(
            mode,
            node,
            attrs,
            decided,
            self.needed.get(mode as usize).copied().unwrap_or(u32::MAX),
            &mut out.standard,
        );
        for (i, value) in out.standard.iter_mut().enumerate() {
            if i >= 32 || (safe >> i) & 1 == 0 {
                sanitize_in_place(value);
            }
        }
        out.exprs.resize_with(self.programs.len(), String::new);
        for (p, slot) in self.programs.iter().zip(out.exprs.iter_mut()) {
            slot.clear();
            match p.eval(attrs) {
                Ok(cel::Value::Str(s)) => slot.push_str(&s),
                Ok(v) => slot.push_str(&v.to_label()),
                Err(_) => slot.push_str("unknown"),
            }
            sanitize_in_place(slot);
        }
    }

    /// Whether some label is an UPSERT expression.
    pub(crate) fn has_programs(&self) -> bool {
        !self.programs.is_empty()
    }

    /// Unique to this compilation and its clones.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The enabled metrics of `mode` grouped by identical label plan: bit
    /// masks over `Metric as usize` (bit 0 = [`Metric::RequestCount`]), in
    /// the order of their first metric. Metrics of one group have the same
    /// label values for a request, so one label key
    /// ([`Self::write_label_key`]) identifies all their stat names.
    pub fn plan_groups(&self, mode: Mode) -> &[u8] {
        self.groups.get(mode as usize).map_or(&[], Vec::as_slice)
    }

    /// Appends the label values of `metric` in `mode` for a request (capped
    /// by `maxValues`, exactly as [`Self::stat_name`] puts them) to `key`,
    /// each followed by `;` (a sanitized value never contains one): with the
    /// mode, the plan group and [`Self::id`], a cheap key for the stat name,
    /// much shorter than it, for requests evaluated with one [`NodeInfo`]:
    /// the values that depend only on the mode and the node are left out.
    /// Does nothing when `metric` is disabled.
    pub fn write_label_key(
        &self,
        mode: Mode,
        metric: Metric,
        req: &RequestLabels,
        caps: &mut CapState,
        key: &mut Vec<u8>,
    ) {
        self.label_key(mode, metric, req, caps, key, false);
    }

    /// [`Self::write_label_key`] for standard labels that may not be
    /// sanitized yet ([`Self::evaluate_unsanitized`]): each value is
    /// prefixed with its length instead of followed by `;`, so no value can
    /// run into the next. The recorder keys a request's label set before
    /// sanitizing, which only a label set seen for the first time needs.
    pub(crate) fn write_raw_label_key(
        &self,
        mode: Mode,
        metric: Metric,
        req: &RequestLabels,
        caps: &mut CapState,
        key: &mut Vec<u8>,
    ) {
        self.label_key(mode, metric, req, caps, key, true);
    }

    fn label_key(
        &self,
        mode: Mode,
        metric: Metric,
        req: &RequestLabels,
        caps: &mut CapState,
        key: &mut Vec<u8>,
        raw: bool,
    ) {
        let Some(plan) = self.plan(mode, metric) else {
            return;
        };
        let node_only = labels::node_only(mode);
        for i in &plan.name_order {
            let Some(l) = plan.labels.get(*i) else {
                continue;
            };
            if let LabelSource::Standard(s) = l.source
                && s < 32
                && node_only & (1 << s) != 0
            {
                continue;
            }
            let value = self.value(l, req, caps).as_bytes();
            if raw {
                let len = u32::try_from(value.len()).unwrap_or(u32::MAX);
                key.extend_from_slice(&len.to_le_bytes());
                key.extend_from_slice(value);
            } else {
                key.extend_from_slice(value);
                key.push(b';');
            }
        }
    }

    /// One planned label's value for a request, capped by `maxValues`.
    fn value<'r>(&self, l: &LabelPlan, req: &'r RequestLabels, caps: &mut CapState) -> &'r str {
        match l.source {
            LabelSource::Standard(i) => req.standard.get(i).map_or("unknown", String::as_str),
            LabelSource::Expr {
                program,
                max_values,
            } => {
                let v = req.exprs.get(program).map_or("unknown", String::as_str);
                match max_values {
                    Some(max) => caps.admit(&l.name, v, max),
                    None => v,
                }
            }
        }
    }

    /// The labels of `metric` in `mode` for a request, in label order
    /// (`None` when disabled), sanitized and capped by `maxValues`.
    pub fn labels(
        &self,
        mode: Mode,
        metric: Metric,
        req: &RequestLabels,
        caps: &mut CapState,
    ) -> Option<Vec<(&str, String)>> {
        let plan = self.plan(mode, metric)?;
        Some(
            plan.labels
                .iter()
                .map(|l| (l.name.as_str(), self.value(l, req, caps).to_string()))
                .collect(),
        )
    }

    /// The stat name of `metric` in `mode` for a request (`None` when
    /// disabled): the labels in Istio's tagged form
    /// `name=.=value;.;…;.;<prefix><metric>` (proxy-wasm-cpp-sdk
    /// `proxy_wasm_api.h` `MetricBase::prefixWithFields`, with Istio's
    /// separators). Envoy's tag extractors for Istio's `extraStatTags`
    /// (`(<name>=\.=(.*?);\.;)`) turn each segment into a label. Segments
    /// are ordered shortest name first so that a name that is the suffix of
    /// another (`app`, `source_app`) is always matched at its own segment.
    pub fn stat_name(
        &self,
        mode: Mode,
        metric: Metric,
        req: &RequestLabels,
        caps: &mut CapState,
    ) -> Option<String> {
        let plan = self.plan(mode, metric)?;
        let mut out = String::with_capacity(1024);
        for i in &plan.name_order {
            let Some(l) = plan.labels.get(*i) else {
                continue;
            };
            out.push_str(&l.name);
            out.push_str("=.=");
            out.push_str(self.value(l, req, caps));
            out.push_str(";.;");
        }
        out.push_str(&self.prefix);
        out.push_str(metric.name());
        Some(out)
    }

    /// [`Self::stat_name`] of all four metrics (`None` for a disabled one),
    /// building the label part once for metrics that share a label plan
    /// (the usual case: overrides on `ALL_METRICS`).
    pub fn stat_names(
        &self,
        mode: Mode,
        req: &RequestLabels,
        caps: &mut CapState,
    ) -> [Option<String>; 4] {
        let mut out: [Option<String>; 4] = Default::default();
        let mut last: Option<(&Plan, String)> = None;
        for (slot, metric) in out.iter_mut().zip(Metric::ALL) {
            let Some(plan) = self.plan(mode, metric) else {
                continue;
            };
            let labels = match &last {
                Some((p, labels)) if *p == plan => labels.clone(),
                _ => {
                    let mut labels = self.stat_name(mode, metric, req, caps).unwrap_or_default();
                    labels.truncate(
                        labels
                            .len()
                            .saturating_sub(self.prefix.len() + metric.name().len()),
                    );
                    last = Some((plan, labels.clone()));
                    labels
                }
            };
            let mut name = labels;
            name.push_str(&self.prefix);
            name.push_str(metric.name());
            *slot = Some(name);
        }
        out
    }

    /// [`Self::stat_name`] for explicit labels (tools and tests).
    pub fn encode_stat_name(&self, metric: Metric, labels: &[(&str, String)]) -> String {
        let mut sorted: Vec<&(&str, String)> = labels.iter().collect();
        sorted.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then(a.0.cmp(b.0)));
        let mut out = String::with_capacity(1024);
        for (name, value) in sorted {
            out.push_str(name);
            out.push_str("=.=");
            out.push_str(value);
            out.push_str(";.;");
        }
        out.push_str(&self.prefix);
        out.push_str(metric.name());
        out
    }
}

/// The longest label value kept, in bytes; longer values are cut.
pub const MAX_LABEL_VALUE_LEN: usize = 128;

/// Makes a label value safe inside a stat name and in Prometheus text:
/// Envoy prints tag values unescaped (envoy `source/server/admin/prometheus_stats.cc`,
/// `formattedTags`), and `;` or `=` would break the tag-extraction regexes,
/// so every character outside `[A-Za-z0-9._/:@+~%*,!-]` becomes `_`.
pub fn sanitize(value: &str) -> String {
    value
        .chars()
        .take(MAX_LABEL_VALUE_LEN)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._/:@+~%*,!-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The bytes [`sanitize`] keeps as they are (`[A-Za-z0-9._/:@+~%*,!-]`),
/// bit `b` for byte `b` below 64, then bit `b - 64` for the rest of ASCII:
/// a shift and a test per byte, as the check runs over label values.
const SAFE_BYTES: [u64; 2] = {
    let mut masks = [0u64; 2];
    let mut b = 0u8;
    while b < 128 {
        let punct = matches!(
            b,
            b'.' | b'_' | b'/' | b':' | b'@' | b'+' | b'~' | b'%' | b'*' | b',' | b'!' | b'-'
        );
        if b.is_ascii_alphanumeric() || punct {
            if b < 64 {
                masks[0] |= 1 << b;
            } else {
                masks[1] |= 1 << (b - 64);
            }
        }
        b += 1;
    }
    masks
};

/// Whether [`sanitize`] keeps a byte as it is.
fn safe_byte(b: u8) -> bool {
    match b {
        0..64 => (SAFE_BYTES[0] >> b) & 1 == 1,
        64..128 => (SAFE_BYTES[1] >> (b - 64)) & 1 == 1,
        _ => false,
    }
}

/// [`sanitize`] in place, without a copy when the value is already safe.
fn sanitize_in_place(value: &mut String) {
    let safe = value.len() <= MAX_LABEL_VALUE_LEN && value.bytes().all(safe_byte);
    if !safe {
        *value = sanitize(value);
    }
}

/// The `maxValues` state of one VM: the values seen per tag.
#[derive(Debug, Default)]
pub struct CapState {
    seen: HashMap<String, HashSet<String>>,
    capped: HashSet<String>,
    newly_capped: Vec<String>,
}

impl CapState {
    /// `value` if it was seen before or the tag has room, else `other`.
    fn admit<'v>(&mut self, tag: &str, value: &'v str, max: u32) -> &'v str {
        if !self.seen.contains_key(tag) {
            self.seen.insert(tag.to_string(), HashSet::new());
        }
        let Some(set) = self.seen.get_mut(tag) else {
            return value;
        };
        if set.contains(value) {
            return value;
        }
        if set.len() < max as usize {
            set.insert(value.to_string());
            return value;
        }
        if !self.capped.contains(tag) {
            self.capped.insert(tag.to_string());
            self.newly_capped.push(tag.to_string());
        }
        "other"
    }

    /// Tags whose cap was reached since the last call (each reported once,
    /// so the filter logs it once).
    pub fn take_newly_capped(&mut self) -> Vec<String> {
        std::mem::take(&mut self.newly_capped)
    }
}

#[cfg(test)]
mod tests;
