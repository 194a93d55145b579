//! The filter's request metrics (SPEC §2.4): the engine decides the labels,
//! this module reads what they need from Envoy and talks to its stats.
//!
//! # Interface (called from `lib.rs`)
//!
//! * [`Metrics::new`] once per configure, in the root context, after the
//!   policy compiled, with this proxy's node labels (node.rs reads node
//!   metadata once per configure). Keep it in the state the root shares
//!   with its streams (`Rc<RefCell<Metrics>>`): it caches the metric id of
//!   every stat name it defined (each distinct label set is defined once,
//!   never per request) and the `maxValues` state.
//! * [`StreamMetrics`], one per HTTP stream: call
//!   [`StreamMetrics::request_body`] / [`StreamMetrics::response_body`] with
//!   the callback's `body_size`, and [`StreamMetrics::log`] in `on_log` with
//!   the policy in effect and the decision's labels (`policy_rule`,
//!   `policy_destination`; `unknown` when there was no decision).
//!
//! Host calls cost more than anything the filter computes, so a request
//! makes only the ones its labels and values need: none at all when every
//! metric is disabled; with metrics, the listener direction, one read of
//! the peer's metadata (the whole Struct, proto.rs), the attributes the
//! enabled labels need, the duration and sizes, and one call per metric.
//!
//! Everything it reads goes through raw host calls that treat any status but
//! OK as "absent": the SDK's wrappers panic (trap) on a status they do not
//! expect, and a metric must never cost a request.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;

use meshpolicy_engine::telemetry::cel::{Attributes, HeaderMap};
use meshpolicy_engine::telemetry::{
    self, CapState, CompiledTelemetry, Metric, Mode, NodeInfo, RequestLabels,
};

/// The most distinct stat names one VM defines; past it new label sets are
/// not recorded (and logged once), a last guard against cardinality.
const MAX_STATS: usize = 10_000;

/// Per-VM metric state.
#[derive(Debug)]
pub struct Metrics {
    node: NodeInfo,
    registry: Registry,
    /// Label key ([`CompiledTelemetry::write_label_key`] after the
    /// telemetry id, mode and plan group) -> the metric ids of the group's
    /// stat names, by `Metric as usize`. Only complete groups are kept. A
    /// request hashes one key of its label values instead of four ~1 KB
    /// stat names (those are built only when a label set is first seen).
    /// Valid for `node` only: it is replaced together with it.
    by_key: HashMap<Vec<u8>, [Option<u32>; 4], foldhash::fast::FixedState>,
    caps: CapState,
    /// Buffers reused by every request.
    req: RequestLabels,
    key: Vec<u8>,
}

/// Every stat name this VM defined.
#[derive(Debug, Default)]
struct Registry {
    /// stat name -> metric id.
    ids: HashMap<String, u32, foldhash::fast::FixedState>,
    full_logged: bool,
}

impl Metrics {
    /// The metric state for a proxy whose node labels are `node`.
    pub fn new(node: NodeInfo) -> Self {
        Metrics {
            node,
            registry: Registry::default(),
            by_key: HashMap::default(),
            caps: CapState::default(),
            req: RequestLabels::default(),
            key: Vec::new(),
        }
    }
}

impl Registry {
    fn id(&mut self, name: String, histogram: bool) -> Option<u32> {
        if let Some(id) = self.ids.get(&name) {
            return Some(*id);
        }
        if self.ids.len() >= MAX_STATS {
            if !self.full_logged {
                self.full_logged = true;
                log::warn!(
                    "meshpolicy: {MAX_STATS} metric label sets defined; new label sets are not recorded"
                );
            }
            return None;
        }
        let id = host::define_metric(if histogram { 2 } else { 0 }, &name)?;
        self.ids.insert(name, id);
        Some(id)
    }
}

/// What one stream measures along the way.
#[derive(Debug, Default)]
pub struct StreamMetrics {
    request_body: u64,
    response_body: u64,
}

impl StreamMetrics {
    pub fn request_body(&mut self, body_size: usize) {
        self.request_body = self.request_body.saturating_add(body_size as u64);
    }

    pub fn response_body(&mut self, body_size: usize) {
        self.response_body = self.response_body.saturating_add(body_size as u64);
    }

    /// Records the four metrics for the finished request.
    pub fn log(
        &self,
        metrics: &mut Metrics,
        telemetry: &CompiledTelemetry,
        policy_rule: &str,
        policy_destination: &str,
    ) {
        // Every metric disabled: no host call at all (not even the
        // listener direction).
        if telemetry.plan_groups(Mode::Client).is_empty()
            && telemetry.plan_groups(Mode::Server).is_empty()
        {
            return;
        }
        let attrs = LogAttributes::default();
        let mode = telemetry::reporter_mode(&attrs);
        let groups = telemetry.plan_groups(mode);
        if groups.is_empty() {
            return;
        }
        let Metrics {
            node,
            registry,
            by_key,
            caps,
            req,
            key,
        } = metrics;
        telemetry.evaluate_into(mode, node, &attrs, policy_rule, policy_destination, req);
        let mut ids: [Option<u32>; 4] = [None; 4];
        for &mask in groups {
            let in_group = |m: Metric| mask & (1 << m as usize) != 0;
            let Some(first) = Metric::ALL.into_iter().find(|m| in_group(*m)) else {
                continue;
            };
            key.clear();
            key.extend_from_slice(&telemetry.id().to_le_bytes());
            key.extend_from_slice(&[mode as u8, mask]);
            telemetry.write_label_key(mode, first, req, caps, key);
            let group_ids = match by_key.get(key.as_slice()) {
                Some(cached) => *cached,
                None => {
                    // First time this label set is seen: build the stat names.
                    let mut fresh: [Option<u32>; 4] = [None; 4];
                    for (metric, slot) in Metric::ALL.into_iter().zip(fresh.iter_mut()) {
                        if in_group(metric) {
                            *slot = telemetry
                                .stat_name(mode, metric, req, caps)
                                .and_then(|name| registry.id(name, metric.is_histogram()));
                        }
                    }
                    let complete = Metric::ALL
                        .into_iter()
                        .zip(fresh)
                        .all(|(m, id)| !in_group(m) || id.is_some());
                    if complete {
                        by_key.insert(key.clone(), fresh);
                    }
                    fresh
                }
            };
            for (metric, (slot, id)) in Metric::ALL.into_iter().zip(ids.iter_mut().zip(group_ids)) {
                if in_group(metric) {
                    *slot = id;
                }
            }
        }
        for (metric, id) in Metric::ALL.into_iter().zip(ids) {
            let Some(id) = id else {
                continue;
            };
            match metric {
                Metric::RequestCount => host::increment_metric(id, 1),
                Metric::RequestDuration => host::record_metric(id, self.duration_ms()),
                Metric::RequestSize => host::record_metric(
                    id,
                    self.size(
                        &["request", "total_size"],
                        HeaderMap::Request,
                        self.request_body,
                    ),
                ),
                Metric::ResponseSize => host::record_metric(
                    id,
                    self.size(
                        &["response", "total_size"],
                        HeaderMap::Response,
                        self.response_body,
                    ),
                ),
            }
        }
        for tag in metrics.caps.take_newly_capped() {
            log::warn!(
                "meshpolicy: tag `{tag}` reached its maxValues; further new values are reported as `other`"
            );
        }
    }

    /// Envoy's `request.duration` (nanoseconds), else the time since
    /// `request.time` (the request's start) on the host's clock, in whole
    /// milliseconds as Istio records it. The fallback reads the clock only
    /// when it is needed, never on the request path.
    fn duration_ms(&self) -> u64 {
        if let Some(d) = host::property(&["request", "duration"]).and_then(|b| int8(&b)) {
            return u64::try_from(d).unwrap_or(0) / 1_000_000;
        }
        let start = host::property(&["request", "time"]).and_then(|b| int8(&b));
        match (start.and_then(|s| u64::try_from(s).ok()), host::now_nanos()) {
            (Some(start), Some(now)) => now.saturating_sub(start) / 1_000_000,
            _ => 0,
        }
    }

    /// Envoy's `*.total_size` (headers and body), else the headers' bytes
    /// plus the body bytes counted through the body callbacks.
    fn size(&self, path: &[&str], map: HeaderMap, body: u64) -> u64 {
        if let Some(n) = host::property(path).and_then(|b| int8(&b)) {
            return u64::try_from(n).unwrap_or(0);
        }
        let headers = host::header_map_size(map).unwrap_or(0);
        headers.saturating_add(body)
    }
}

fn int8(bytes: &[u8]) -> Option<i64> {
    <[u8; 8]>::try_from(bytes).ok().map(i64::from_le_bytes)
}

/// Attributes read from Envoy through the host for one `on_log`; each
/// peer's metadata is read whole, once, and its fields answered from it.
#[derive(Default)]
struct LogAttributes {
    upstream_peer: OnceCell<Peer>,
    downstream_peer: OnceCell<Peer>,
}

/// A peer's metadata as one read of `upstream_peer` / `downstream_peer`
/// gave it.
enum Peer {
    /// Envoy has none: every field is absent too.
    Absent,
    /// The Struct's fields; `None` for a value that is not a string.
    Fields(Vec<(Vec<u8>, Option<Vec<u8>>)>),
    /// Not a Struct (an older proxy's encoding): fields are read one by one.
    Opaque,
}

impl Peer {
    fn read(root: &str) -> Peer {
        let Some(bytes) = host::property(&[root]) else {
            return Peer::Absent;
        };
        match crate::proto::struct_fields(&bytes) {
            Some(fields) => Peer::Fields(
                fields
                    .into_iter()
                    .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
                    .collect(),
            ),
            None => Peer::Opaque,
        }
    }
}

impl LogAttributes {
    /// A peer field from the peer's one read: `Some(answer)`, or `None`
    /// when the host must be asked.
    fn peer_field(&self, root: &str, field: &str) -> Option<Option<&[u8]>> {
        let cell = match root {
            "upstream_peer" => &self.upstream_peer,
            "downstream_peer" => &self.downstream_peer,
            _ => return None,
        };
        match cell.get_or_init(|| Peer::read(root)) {
            Peer::Absent => Some(None),
            Peer::Opaque => None,
            Peer::Fields(fields) => match fields.iter().find(|(k, _)| k == field.as_bytes()) {
                None => Some(None),
                Some((_, Some(value))) => Some(Some(value.as_slice())),
                Some((_, None)) => None,
            },
        }
    }
}

impl Attributes for LogAttributes {
    fn property(&self, path: &[&str]) -> Option<Cow<'_, [u8]>> {
        if let [root, field] = path
            && let Some(answer) = self.peer_field(root, field)
        {
            return answer.map(Cow::Borrowed);
        }
        host::property(path).map(Cow::Owned)
    }

    fn header(&self, map: HeaderMap, name: &str) -> Option<Cow<'_, str>> {
        host::header(map, name).map(|b| match String::from_utf8(b) {
            Ok(s) => Cow::Owned(s),
            Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        })
    }
}

/// Raw host calls (proxy-wasm ABI 0.2.1, proxy-wasm/spec `abi-versions/v0.2.1`).
pub(crate) mod host {
    use meshpolicy_engine::telemetry::cel::HeaderMap;

    #[link(wasm_import_module = "env")]
    unsafe extern "C" {
        fn proxy_get_property(
            path_data: *const u8,
            path_size: usize,
            return_value_data: *mut *mut u8,
            return_value_size: *mut usize,
        ) -> u32;
        fn proxy_get_header_map_value(
            map_type: u32,
            key_data: *const u8,
            key_size: usize,
            return_value_data: *mut *mut u8,
            return_value_size: *mut usize,
        ) -> u32;
        fn proxy_get_header_map_pairs(
            map_type: u32,
            return_map_data: *mut *mut u8,
            return_map_size: *mut usize,
        ) -> u32;
        fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
        fn proxy_define_metric(
            metric_type: u32,
            name_data: *const u8,
            name_size: usize,
            return_id: *mut u32,
        ) -> u32;
        fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
        fn proxy_record_metric(metric_id: u32, value: u64) -> u32;
    }

    /// Takes ownership of a buffer the host allocated through the guest's
    /// allocator (the SDK's `proxy_on_memory_allocate`, a boxed slice of
    /// exactly `size` bytes).
    fn owned(status: u32, data: *mut u8, size: usize) -> Option<Vec<u8>> {
        if status != 0 {
            return None;
        }
        if data.is_null() || size == 0 {
            return Some(Vec::new());
        }
        // SAFETY: see above; on OK the buffer is ours to own and free.
        Some(unsafe { Vec::from_raw_parts(data, size, size) })
    }

    fn map_type(map: HeaderMap) -> u32 {
        match map {
            HeaderMap::Request => 0,
            HeaderMap::Response => 2,
            HeaderMap::ResponseTrailers => 3,
        }
    }

    /// A property (path segments joined by NUL, as the SDK sends them).
    pub fn property(path: &[&str]) -> Option<Vec<u8>> {
        // Joined on the stack: every label read used to allocate its path.
        let mut buf = [0u8; 128];
        let mut len = 0;
        for (i, seg) in path.iter().enumerate() {
            if i > 0 {
                let Some(b) = buf.get_mut(len) else {
                    return property_joined(path.join("\0").as_bytes());
                };
                *b = 0;
                len += 1;
            }
            let Some(dst) = buf.get_mut(len..len + seg.len()) else {
                return property_joined(path.join("\0").as_bytes());
            };
            dst.copy_from_slice(seg.as_bytes());
            len += seg.len();
        }
        property_joined(buf.get(..len).unwrap_or_default())
    }

    fn property_joined(joined: &[u8]) -> Option<Vec<u8>> {
        let mut data: *mut u8 = std::ptr::null_mut();
        let mut size: usize = 0;
        // SAFETY: the path buffer is live for the call; the out-parameters
        // point at live locals.
        let status =
            unsafe { proxy_get_property(joined.as_ptr(), joined.len(), &mut data, &mut size) };
        owned(status, data, size)
    }

    pub fn header(map: HeaderMap, name: &str) -> Option<Vec<u8>> {
        let mut data: *mut u8 = std::ptr::null_mut();
        let mut size: usize = 0;
        // SAFETY: as in `property`.
        let status = unsafe {
            proxy_get_header_map_value(
                map_type(map),
                name.as_ptr(),
                name.len(),
                &mut data,
                &mut size,
            )
        };
        owned(status, data, size)
    }

    /// The bytes of a header map's names and values (Envoy's approximate
    /// header size counts the same).
    pub fn header_map_size(map: HeaderMap) -> Option<u64> {
        let mut data: *mut u8 = std::ptr::null_mut();
        let mut size: usize = 0;
        // SAFETY: as in `property`.
        let status = unsafe { proxy_get_header_map_pairs(map_type(map), &mut data, &mut size) };
        let bytes = owned(status, data, size)?;
        let pairs = crate::pairs::decode(&bytes)?;
        Some(pairs.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum())
    }

    pub fn now_nanos() -> Option<u64> {
        let mut t: u64 = 0;
        // SAFETY: the out-parameter points at a live local.
        let status = unsafe { proxy_get_current_time_nanoseconds(&mut t) };
        (status == 0).then_some(t)
    }

    /// 0 = counter, 2 = histogram.
    pub fn define_metric(kind: u32, name: &str) -> Option<u32> {
        let mut id: u32 = 0;
        // SAFETY: the name buffer is live for the call; the out-parameter
        // points at a live local.
        let status = unsafe { proxy_define_metric(kind, name.as_ptr(), name.len(), &mut id) };
        (status == 0).then_some(id)
    }

    pub fn increment_metric(id: u32, by: i64) {
        // SAFETY: plain values.
        let _ = unsafe { proxy_increment_metric(id, by) };
    }

    pub fn record_metric(id: u32, value: u64) {
        // SAFETY: plain values.
        let _ = unsafe { proxy_record_metric(id, value) };
    }
}
