//! Recording the request metrics through a [`StatSink`]: which stat names a
//! request's labels make, the metric id of each (defined once per label
//! set, never per request), the registry cap and the `maxValues` state. The
//! filter's sink is Envoy's stats through host calls; tests use a fake.
//!
//! One [`StatRecorder`] per VM, made again at every configure: it holds
//! what depends only on the node and the listener (the reporter mode, read
//! once) and the caches, so a request pays for its own labels only.

use std::collections::HashMap;

use super::cel::{AttrType, Attributes, HeaderMap, Value, attributes::decode};
use super::memo::{Memo, Replay, Walk};
use super::peer::PeerAttributes;
use super::{CapState, CompiledTelemetry, Decided, Metric, Mode, NodeInfo, RequestLabels};

/// Where metrics go: Envoy's stats (`proxy_define_metric`,
/// `proxy_increment_metric`, `proxy_record_metric`) in the filter.
pub trait StatSink {
    /// Defines a counter (`histogram` false) or a histogram named `name`:
    /// its id, or `None` when the proxy refuses.
    fn define_metric(&mut self, histogram: bool, name: &str) -> Option<u32>;
    fn increment(&mut self, id: u32, by: i64);
    fn record(&mut self, id: u32, value: u64);
    /// A warning for the proxy's log (a cap reached; each said once).
    fn warn(&mut self, message: &str);
}

/// What a metric's value needs beyond attributes when Envoy has no
/// attribute for it (the filter's host; fakes in tests).
pub trait Fallbacks {
    /// Nanoseconds on the proxy's clock.
    fn now_nanos(&self) -> Option<u64>;
    /// A header map as `proxy_get_header_map_pairs` serializes it.
    fn header_pairs(&self, map: HeaderMap) -> Option<Vec<u8>>;
}

/// The bytes of a header map's names and values (what Envoy's header
/// `byteSize` counts).
fn header_bytes(fallbacks: &dyn Fallbacks, map: HeaderMap) -> Option<u64> {
    let bytes = fallbacks.header_pairs(map)?;
    let entries = crate::encoding::pairs::decode_raw(&bytes)?;
    Some(
        entries
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum(),
    )
}

/// The value `metric` records for a finished request (not called for
/// [`Metric::RequestCount`], which counts 1):
/// * duration: Envoy's `request.duration` (nanoseconds), else the time
///   since `request.time` on the proxy's clock, in whole milliseconds as
///   Istio records it (the clock is read only then);
/// * sizes: Envoy's `request.total_size` / `response.total_size` (headers
///   and body), else the headers' bytes plus `bodies` (request, response:
///   the body bytes the filter's body callbacks counted).
pub fn metric_value(
    metric: Metric,
    attrs: &dyn Attributes,
    fallbacks: &dyn Fallbacks,
    bodies: [u64; 2],
) -> u64 {
    // Paths joined as `proxy_get_property` takes them: read on every request.
    let int = |joined: &[u8]| match decode(AttrType::Int, &attrs.property_joined(joined)?)? {
        Value::Int(i) => Some(i),
        _ => None,
    };
    let size = |total: &[u8], map: HeaderMap, body: u64| match int(total) {
        Some(n) => u64::try_from(n).unwrap_or(0),
        None => header_bytes(fallbacks, map)
            .unwrap_or(0)
            .saturating_add(body),
    };
    let [request_body, response_body] = bodies;
    match metric {
        Metric::RequestCount => 1,
        Metric::RequestDuration => match int(b"request\0duration") {
            Some(d) => u64::try_from(d).unwrap_or(0) / 1_000_000,
            None => match (
                int(b"request\0time").and_then(|s| u64::try_from(s).ok()),
                fallbacks.now_nanos(),
            ) {
                (Some(start), Some(now)) => now.saturating_sub(start) / 1_000_000,
                _ => 0,
            },
        },
        Metric::RequestSize => size(b"request\0total_size", HeaderMap::Request, request_body),
        Metric::ResponseSize => size(b"response\0total_size", HeaderMap::Response, response_body),
    }
}

/// The most distinct stat names one VM defines; past it new label sets are
/// not recorded (and a warning says so once), a last guard against
/// cardinality.
pub const MAX_STATS: usize = 10_000;

/// The most label keys the recorder caches.
const MAX_KEYS: usize = 4 * MAX_STATS;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Per-VM metric state.
#[derive(Debug)]
pub struct StatRecorder {
    node: NodeInfo,
    mode: Mode,
    /// stat name -> metric id, for every stat name this VM defined.
    ids: FastMap<String, u32>,
    full_warned: bool,
    /// Label key ([`CompiledTelemetry::write_raw_label_key`] after the
    /// telemetry id, mode and plan group) -> the metric ids of the group's
    /// stat names, by `Metric as usize`. Only complete groups are kept. A
    /// request hashes one key of its label values instead of four ~1 KB
    /// stat names (those are built only when a label set is first seen).
    by_key: FastMap<Vec<u8>, [Option<u32>; 4]>,
    caps: CapState,
    /// Buffers reused by every request: its labels as evaluated (standard
    /// labels unsanitized, enough to key them), their sanitized copy for a
    /// label set seen for the first time, and the key.
    req: RequestLabels,
    clean: RequestLabels,
    /// Whether `clean` holds this request's labels.
    clean_ready: bool,
    key: Vec<u8>,
    /// Label sets by the reads that produced them, for the telemetry of
    /// id `memo_for` (the first one recorded without UPSERT expressions).
    memo: Memo,
    memo_for: Option<u64>,
    decision_key: Vec<u8>,
}

impl StatRecorder {
    /// The state for a proxy whose node is `node`, recording `telemetry`.
    /// The reporter mode (`xds.listener_direction`, a property of the
    /// listener the plugin is configured on) is read through `attrs` once,
    /// here, and only when some metric is enabled.
    pub fn new(node: NodeInfo, telemetry: &CompiledTelemetry, attrs: &dyn Attributes) -> Self {
        let mode = if telemetry.plan_groups(Mode::Client).is_empty()
            && telemetry.plan_groups(Mode::Server).is_empty()
        {
            Mode::Client
        } else {
            super::reporter_mode(attrs)
        };
        StatRecorder::with_mode(node, mode)
    }

    /// The state for `node` in a known reporter mode.
    pub fn with_mode(node: NodeInfo, mode: Mode) -> Self {
        StatRecorder {
            node: node.sanitized(),
            mode,
            ids: FastMap::default(),
            full_warned: false,
            by_key: FastMap::default(),
            caps: CapState::default(),
            req: RequestLabels::default(),
            clean: RequestLabels::default(),
            clean_ready: false,
            key: Vec::new(),
            memo: Memo::default(),
            memo_for: None,
            decision_key: Vec::new(),
        }
    }

    /// The reporter mode of this VM's listener.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether a request records anything at all with `telemetry`: when not,
    /// [`Self::record`] reads nothing and calls nothing.
    pub fn records(&self, telemetry: &CompiledTelemetry) -> bool {
        !telemetry.plan_groups(self.mode).is_empty()
    }

    /// Records the metrics of one finished request: its labels from `attrs`
    /// (Envoy's attributes as the proxy answers them; peer metadata is read
    /// whole, [`PeerAttributes`]) and what the filter decided (`policy_rule`,
    /// `policy_destination`, and whether the request is gRPC when known: a
    /// [`Decided`], or the two labels), each enabled metric's value from
    /// `value` (asked only for metrics that record).
    pub fn record<'d>(
        &mut self,
        telemetry: &CompiledTelemetry,
        attrs: &dyn Attributes,
        decided: impl Into<Decided<'d>>,
        sink: &mut impl StatSink,
        mut value: impl FnMut(Metric) -> u64,
    ) {
        let groups = telemetry.plan_groups(self.mode);
        if groups.is_empty() {
            return;
        }
        let decided = decided.into();
        let ids = if self.memoises(telemetry) {
            // The tree's root: what the labels depend on besides its reads.
            self.decision_key.clear();
            self.decision_key
                .extend_from_slice(decided.policy_rule.as_bytes());
            self.decision_key.push(0);
            self.decision_key
                .extend_from_slice(decided.policy_destination.as_bytes());
            self.decision_key.push(match decided.grpc {
                None => 0,
                Some(false) => 1,
                Some(true) => 2,
            });
            match self.memo.walk(&self.decision_key, attrs) {
                Walk::Hit(ids) => ids,
                Walk::Miss(reads) => {
                    let replay = Replay::new(attrs, reads);
                    let ids = self.label_ids(telemetry, &replay, decided, sink);
                    let complete = groups.iter().fold(0u8, |all, mask| all | mask).eq(&ids
                        .iter()
                        .enumerate()
                        .fold(0u8, |all, (i, id)| all | (u8::from(id.is_some()) << i)));
                    if let (true, Some(reads)) = (complete, replay.into_reads()) {
                        self.memo.insert(&self.decision_key, &reads, ids);
                    }
                    ids
                }
            }
        } else {
            self.label_ids(telemetry, attrs, decided, sink)
        };
        for (metric, id) in Metric::ALL.into_iter().zip(ids) {
            let Some(id) = id else {
                continue;
            };
            match metric {
                Metric::RequestCount => sink.increment(id, 1),
                _ => sink.record(id, value(metric)),
            }
        }
        for tag in self.caps.take_newly_capped() {
            sink.warn(&format!(
                "meshpolicy: tag `{tag}` reached its maxValues; further new values are reported as `other`"
            ));
        }
    }

    /// Whether label sets of `telemetry` are memoised by their reads
    /// ([`Memo`]): without UPSERT expressions, for one telemetry at a time.
    fn memoises(&mut self, telemetry: &CompiledTelemetry) -> bool {
        if telemetry.has_programs() {
            return false;
        }
        *self.memo_for.get_or_insert(telemetry.id()) == telemetry.id()
    }

    /// The metric ids of a request's label set, its labels evaluated.
    fn label_ids(
        &mut self,
        telemetry: &CompiledTelemetry,
        attrs: &dyn Attributes,
        decided: Decided<'_>,
        sink: &mut impl StatSink,
    ) -> [Option<u32>; 4] {
        let attrs = PeerAttributes::new(attrs);
        let mode = self.mode;
        telemetry.evaluate_unsanitized(mode, &self.node, &attrs, decided, &mut self.req);
        self.clean_ready = false;
        let mut ids: [Option<u32>; 4] = [None; 4];
        for &mask in telemetry.plan_groups(mode) {
            let group_ids = self.group_ids(telemetry, mask, sink);
            for (i, (slot, id)) in ids.iter_mut().zip(group_ids).enumerate() {
                if mask & (1 << i) != 0 {
                    *slot = id;
                }
            }
        }
        ids
    }

    /// The metric ids of one plan group (`mask` over `Metric as usize`) for
    /// the request in `self.req`: from the label-key cache, else defined.
    fn group_ids(
        &mut self,
        telemetry: &CompiledTelemetry,
        mask: u8,
        sink: &mut impl StatSink,
    ) -> [Option<u32>; 4] {
        let mode = self.mode;
        let in_group = |m: Metric| mask & (1 << m as usize) != 0;
        let Some(first) = Metric::ALL.into_iter().find(|m| in_group(*m)) else {
            return [None; 4];
        };
        self.key.clear();
        self.key.extend_from_slice(&telemetry.id().to_le_bytes());
        self.key.extend_from_slice(&[mode as u8, mask]);
        telemetry.write_raw_label_key(mode, first, &self.req, &mut self.caps, &mut self.key);
        if let Some(cached) = self.by_key.get(self.key.as_slice()) {
            return *cached;
        }
        // First time this label set is seen: build the stat names, from
        // the sanitized labels.
        if !self.clean_ready {
            self.clean.clone_from(&self.req);
            CompiledTelemetry::sanitize_standard(&mut self.clean);
            self.clean_ready = true;
        }
        let mut fresh: [Option<u32>; 4] = [None; 4];
        for (metric, slot) in Metric::ALL.into_iter().zip(fresh.iter_mut()) {
            if in_group(metric) {
                *slot = telemetry
                    .stat_name(mode, metric, &self.clean, &mut self.caps)
                    .and_then(|name| self.id(name, metric.is_histogram(), sink));
            }
        }
        let complete = Metric::ALL
            .into_iter()
            .zip(fresh)
            .all(|(m, id)| !in_group(m) || id.is_some());
        // Keys are of unsanitized values, so several may name one label set
        // (values that differ in what sanitizing replaces or cuts): the
        // cache is bounded on its own, past which misses rebuild the names.
        if complete && self.by_key.len() < MAX_KEYS {
            self.by_key.insert(self.key.clone(), fresh);
        }
        fresh
    }

    /// The id of stat `name`, defined on first use, within [`MAX_STATS`].
    fn id(&mut self, name: String, histogram: bool, sink: &mut impl StatSink) -> Option<u32> {
        if let Some(id) = self.ids.get(&name) {
            return Some(*id);
        }
        if self.ids.len() >= MAX_STATS {
            if !self.full_warned {
                self.full_warned = true;
                sink.warn(&format!(
                    "meshpolicy: {MAX_STATS} metric label sets defined; new label sets are not recorded"
                ));
            }
            return None;
        }
        let id = sink.define_metric(histogram, &name)?;
        self.ids.insert(name, id);
        Some(id)
    }
}

#[cfg(test)]
mod tests;
