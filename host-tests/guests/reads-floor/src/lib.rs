//! `guest-reads-floor`: the telemetry floor (`guest-telemetry-floor`) plus
//! every host call that meshpolicy makes for a routed request with Istio's
//! standard labels, in the same order, and nothing computed from the
//! answers: the least any filter can spend that routes by virtual host and
//! records the four request metrics with the labels Istio's stats filter
//! gives them.
//!
//! - request headers: every header in one call, `xds.virtual_host_name`
//!   (routing is scoped by host), then two header edits;
//! - `on_log`: the peer's metadata whole (`upstream_peer`), the two
//!   certificate SANs, `xds.cluster_name` (and `:authority` when there is
//!   no cluster), `:status`, `response.flags`, `request.duration`, both
//!   sizes, then one counter increment and three histogram records with
//!   ids defined once at configure.
//!
//! The request headers are read and edited as the telemetry floor does
//! (through the SDK), so this floor is that one plus the reads. The reads
//! use the ABI directly, with paths joined once, as the filter does
//! (`filter/wasm/src/host.rs`), so the floor pays no SDK path building;
//! their answers are freed unread, except the duration and sizes, which
//! are the recorded values. `host-tests/tests/filter/cost.rs` checks that this
//! guest makes exactly meshpolicy's host calls; the cost bench measures
//! meshpolicy against it.

use std::cell::Cell;
use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType};

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(ReadsFloorRoot { ids: Rc::new(Cell::new(None)) })
    });
}}

type OutPtr = *mut *mut u8;
type OutLen = *mut usize;

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn proxy_get_property(path: *const u8, path_len: usize, d: OutPtr, s: OutLen) -> u32;
    fn proxy_get_header_map_value(map: u32, k: *const u8, kl: usize, d: OutPtr, s: OutLen) -> u32;
    fn proxy_define_metric(kind: u32, name: *const u8, name_len: usize, id: *mut u32) -> u32;
    fn proxy_increment_metric(id: u32, offset: i64) -> u32;
    fn proxy_record_metric(id: u32, value: u64) -> u32;
}

const OK: u32 = 0;
const REQUEST_HEADERS: u32 = 0;
const RESPONSE_HEADERS: u32 = 2;
const COUNTER: u32 = 0;
const HISTOGRAM: u32 = 2;

/// A call that answers a buffer the host allocated through the guest's
/// allocator (the SDK's `proxy_on_memory_allocate`): owned, and freed when
/// the `Vec` drops. `None` for any status but OK.
fn read(call: impl FnOnce(OutPtr, OutLen) -> u32) -> Option<Vec<u8>> {
    let (mut data, mut size): (*mut u8, usize) = (std::ptr::null_mut(), 0);
    if call(&mut data, &mut size) != OK {
        return None;
    }
    if data.is_null() || size == 0 {
        return Some(Vec::new());
    }
    // SAFETY: on OK the host allocated exactly `size` bytes at `data` with
    // the guest's allocator and handed them over.
    Some(unsafe { Vec::from_raw_parts(data, size, size) })
}

/// A property by its path, segments joined by NUL.
fn property(path: &[u8]) -> Option<Vec<u8>> {
    // SAFETY: the path is live for the call; the out-parameters as in `read`.
    read(|d, s| unsafe { proxy_get_property(path.as_ptr(), path.len(), d, s) })
}

fn header(map: u32, name: &str) -> Option<Vec<u8>> {
    // SAFETY: the name is live for the call; the out-parameters as in `read`.
    read(|d, s| unsafe { proxy_get_header_map_value(map, name.as_ptr(), name.len(), d, s) })
}

/// An integer property (Envoy serializes them as 8 little-endian bytes).
fn int(path: &[u8]) -> u64 {
    property(path)
        .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
        .map_or(0, u64::from_le_bytes)
}

/// The four metric ids: requests_total (counter), then the duration,
/// request size and response size histograms.
type Ids = [u32; 4];

struct ReadsFloorRoot {
    ids: Rc<Cell<Option<Ids>>>,
}

impl Context for ReadsFloorRoot {}

impl RootContext for ReadsFloorRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let define = |kind: u32, name: &str| {
            let mut id = 0;
            // SAFETY: the name and the out-parameter are live for the call.
            let status = unsafe { proxy_define_metric(kind, name.as_ptr(), name.len(), &mut id) };
            (status == OK).then_some(id)
        };
        let ids = (|| {
            Some([
                define(COUNTER, "reads_floor_requests_total")?,
                define(HISTOGRAM, "reads_floor_request_duration_milliseconds")?,
                define(HISTOGRAM, "reads_floor_request_bytes")?,
                define(HISTOGRAM, "reads_floor_response_bytes")?,
            ])
        })();
        self.ids.set(ids);
        ids.is_some()
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(ReadsFloor {
            ids: self.ids.clone(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct ReadsFloor {
    ids: Rc<Cell<Option<Ids>>>,
}

impl Context for ReadsFloor {}

impl HttpContext for ReadsFloor {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // As the telemetry floor: every header in one call, decoded by the
        // SDK; then the virtual host, as meshpolicy reads it.
        std::hint::black_box(self.get_http_request_headers());
        std::hint::black_box(property(b"xds\0virtual_host_name"));
        self.set_http_request_header(":path", Some("/newcatalog"));
        self.set_http_request_header(
            "x-meshpolicy-route",
            Some("reviews.prod.svc.cluster.local/v2"),
        );
        Action::Continue
    }

    fn on_log(&mut self) {
        let Some([count, duration, request, response]) = self.ids.get() else {
            return;
        };
        std::hint::black_box(property(b"upstream_peer"));
        std::hint::black_box(property(b"upstream\0uri_san_peer_certificate"));
        std::hint::black_box(property(b"upstream\0uri_san_local_certificate"));
        if std::hint::black_box(property(b"xds\0cluster_name")).is_none() {
            std::hint::black_box(header(REQUEST_HEADERS, ":authority"));
        }
        std::hint::black_box(header(RESPONSE_HEADERS, ":status"));
        std::hint::black_box(property(b"response\0flags"));
        let nanos = int(b"request\0duration");
        let request_bytes = int(b"request\0total_size");
        let response_bytes = int(b"response\0total_size");
        // SAFETY: plain integer arguments.
        unsafe {
            let _ = proxy_increment_metric(count, 1);
            let _ = proxy_record_metric(duration, nanos / 1_000_000);
            let _ = proxy_record_metric(request, request_bytes);
            let _ = proxy_record_metric(response, response_bytes);
        }
    }
}
