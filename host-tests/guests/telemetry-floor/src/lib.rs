//! `guest-telemetry-floor`: the least a routing filter with request metrics
//! can do per request. It reads every request header in one call (as
//! `guest-floor`), sets two request headers (a rewritten `:path` and a
//! decision header), and in `on_log` records the four request metrics with
//! ids defined once at configure: one counter increment and three histogram
//! records. Nothing else: no property read, no label, no clock. The filter
//! benchmark measures meshpolicy with telemetry as a ratio to this.
//!
//! Configured with `reads`, it is the reads floor: the same, plus every
//! other host call meshpolicy makes for a routed request with Istio's
//! standard labels, in meshpolicy's order, and nothing computed from the
//! answers: `xds.virtual_host_name` in request headers (routing is scoped
//! by host); in `on_log` the peer's metadata whole (`upstream_peer`), the
//! two certificate SANs, `xds.cluster_name` (and `:authority` when there is
//! no cluster), `:status`, `response.flags`, `request.duration` and both
//! sizes, the duration and sizes being the values it records. These reads
//! use the ABI directly with paths joined once, as the filter does
//! (`filter/wasm/src/host.rs`), so the floor pays no SDK path building.
//! `host-tests/tests/filter/cost.rs` checks that it makes exactly
//! meshpolicy's host calls.

use std::cell::Cell;
use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, MetricType};

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(TelemetryFloorRoot { setup: Rc::new(Cell::new(None)) })
    });
}}

type OutPtr = *mut *mut u8;
type OutLen = *mut usize;

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn proxy_get_property(path: *const u8, path_len: usize, d: OutPtr, s: OutLen) -> u32;
    fn proxy_get_header_map_value(map: u32, k: *const u8, kl: usize, d: OutPtr, s: OutLen) -> u32;
}

/// A call that answers a buffer the host allocated through the guest's
/// allocator (the SDK's `proxy_on_memory_allocate`), freed when the `Vec`
/// drops; `None` for any status but OK (0).
fn answer(call: impl FnOnce(OutPtr, OutLen) -> u32) -> Option<Vec<u8>> {
    let (mut data, mut size): (*mut u8, usize) = (std::ptr::null_mut(), 0);
    if call(&mut data, &mut size) != 0 {
        return None;
    }
    // SAFETY: on OK the host handed over `size` bytes it allocated at
    // `data` with the guest's allocator (or nothing, when empty).
    Some(if data.is_null() || size == 0 {
        Vec::new()
    } else {
        unsafe { Vec::from_raw_parts(data, size, size) }
    })
}

/// A property by its path, segments joined by NUL.
fn property(path: &[u8]) -> Option<Vec<u8>> {
    // SAFETY: the path and the out-parameters are live for the call.
    answer(|d, s| unsafe { proxy_get_property(path.as_ptr(), path.len(), d, s) })
}

/// A header of the request (0) or response (2) headers.
fn header(map: u32, name: &str) -> Option<Vec<u8>> {
    // SAFETY: the name and the out-parameters are live for the call.
    answer(|d, s| unsafe { proxy_get_header_map_value(map, name.as_ptr(), name.len(), d, s) })
}

/// An integer property (Envoy serializes them as 8 little-endian bytes).
fn int(path: &[u8]) -> u64 {
    property(path)
        .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
        .map_or(0, u64::from_le_bytes)
}

/// The four metric ids (requests_total, a counter, then the duration,
/// request size and response size histograms) and whether this is the
/// reads floor.
#[derive(Clone, Copy)]
struct Setup {
    ids: [u32; 4],
    reads: bool,
}

struct TelemetryFloorRoot {
    setup: Rc<Cell<Option<Setup>>>,
}

impl Context for TelemetryFloorRoot {}

impl RootContext for TelemetryFloorRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let reads = self.get_plugin_configuration().as_deref() == Some(b"reads");
        let define = |kind, name| hostcalls::define_metric(kind, name).ok();
        let ids = (|| {
            Some([
                define(MetricType::Counter, "floor_requests_total")?,
                define(MetricType::Histogram, "floor_request_duration_milliseconds")?,
                define(MetricType::Histogram, "floor_request_bytes")?,
                define(MetricType::Histogram, "floor_response_bytes")?,
            ])
        })();
        self.setup.set(ids.map(|ids| Setup { ids, reads }));
        ids.is_some()
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(TelemetryFloor {
            setup: self.setup.clone(),
            request_bytes: 0,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct TelemetryFloor {
    setup: Rc<Cell<Option<Setup>>>,
    request_bytes: u64,
}

impl Context for TelemetryFloor {}

impl HttpContext for TelemetryFloor {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let headers = self.get_http_request_headers();
        self.request_bytes = headers
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum();
        if self.setup.get().is_some_and(|s| s.reads) {
            std::hint::black_box(property(b"xds\0virtual_host_name"));
        }
        self.set_http_request_header(":path", Some("/newcatalog"));
        self.set_http_request_header(
            "x-meshpolicy-route",
            Some("reviews.prod.svc.cluster.local/v2"),
        );
        Action::Continue
    }

    fn on_log(&mut self) {
        let Some(Setup { ids, reads }) = self.setup.get() else {
            return;
        };
        let [count, duration, request, response] = ids;
        let (millis, request_bytes, response_bytes) = if reads {
            std::hint::black_box(property(b"upstream_peer"));
            std::hint::black_box(property(b"upstream\0uri_san_peer_certificate"));
            std::hint::black_box(property(b"upstream\0uri_san_local_certificate"));
            if std::hint::black_box(property(b"xds\0cluster_name")).is_none() {
                std::hint::black_box(header(0, ":authority"));
            }
            std::hint::black_box(header(2, ":status"));
            std::hint::black_box(property(b"response\0flags"));
            (
                int(b"request\0duration") / 1_000_000,
                int(b"request\0total_size"),
                int(b"response\0total_size"),
            )
        } else {
            (1, self.request_bytes, 0)
        };
        let _ = hostcalls::increment_metric(count, 1);
        let _ = hostcalls::record_metric(duration, millis);
        let _ = hostcalls::record_metric(request, request_bytes);
        let _ = hostcalls::record_metric(response, response_bytes);
    }
}
