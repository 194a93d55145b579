//! Every host call the filter makes (proxy-wasm ABI 0.2.1, proxy-wasm/spec
//! `abi-versions/v0.2.1`), each behind a safe wrapper with one status
//! policy: anything but OK is "absent" (`None`, or nothing done), never a
//! trap. The SDK's own wrappers panic, which is a trap under
//! `panic = "abort"`, on any status they do not expect, so the filter uses
//! the SDK only for its dispatcher (the `proxy_on_*` exports) and makes no
//! host call through it.
//!
//! [`Host`] is the host as the engine's traits see it: [`Attributes`] for
//! the metric labels, [`StatSink`] for Envoy's stats, [`Fallbacks`] for
//! metric values; [`HeaderEdits`] is a header map as a [`HeaderSink`].

use std::borrow::Cow;

use meshpolicy_engine::encoding::{self, pairs};
use meshpolicy_engine::telemetry::cel::{Attributes, HeaderMap};
use meshpolicy_engine::telemetry::{Fallbacks, StatSink};
use meshpolicy_engine::{HeaderSink, LocalResponse};

// Pointer and out-parameter types of the imports.
type Ptr = *const u8;
type OutPtr = *mut *mut u8;
type OutLen = *mut usize;

#[link(wasm_import_module = "env")]
#[allow(clippy::too_many_arguments)]
unsafe extern "C" {
    fn proxy_log(level: u32, message: Ptr, message_len: usize) -> u32;
    fn proxy_get_buffer_bytes(kind: u32, start: usize, max: usize, d: OutPtr, s: OutLen) -> u32;
    fn proxy_get_property(path: Ptr, path_len: usize, d: OutPtr, s: OutLen) -> u32;
    fn proxy_get_header_map_pairs(map: u32, d: OutPtr, s: OutLen) -> u32;
    fn proxy_get_header_map_value(map: u32, k: Ptr, kl: usize, d: OutPtr, s: OutLen) -> u32;
    fn proxy_replace_header_map_value(map: u32, k: Ptr, kl: usize, v: Ptr, vl: usize) -> u32;
    fn proxy_add_header_map_value(map: u32, k: Ptr, kl: usize, v: Ptr, vl: usize) -> u32;
    fn proxy_remove_header_map_value(map: u32, k: Ptr, kl: usize) -> u32;
    fn proxy_send_local_response(
        status: u32,
        details: Ptr,
        details_len: usize,
        body: Ptr,
        body_len: usize,
        headers: Ptr,
        headers_len: usize,
        grpc_status: i32,
    ) -> u32;
    fn proxy_get_current_time_nanoseconds(time: *mut u64) -> u32;
    fn proxy_define_metric(kind: u32, name: Ptr, name_len: usize, id: *mut u32) -> u32;
    fn proxy_increment_metric(id: u32, offset: i64) -> u32;
    fn proxy_record_metric(id: u32, value: u64) -> u32;
}

const OK: u32 = 0;
/// `BufferType::PluginConfiguration`.
const PLUGIN_CONFIGURATION: u32 = 7;

/// A call that returns a buffer through its two out-parameters. On OK the
/// host allocated it through the guest's allocator (the SDK's
/// `proxy_on_memory_allocate`, a boxed slice of exactly `size` bytes), so
/// it is ours to own and free; any other status is `None`.
fn read(call: impl FnOnce(OutPtr, OutLen) -> u32) -> Option<Vec<u8>> {
    let (mut data, mut size): (*mut u8, usize) = (std::ptr::null_mut(), 0);
    if call(&mut data, &mut size) != OK {
        return None;
    }
    if data.is_null() || size == 0 {
        return Some(Vec::new());
    }
    // SAFETY: see above.
    Some(unsafe { Vec::from_raw_parts(data, size, size) })
}

fn map_type(map: HeaderMap) -> u32 {
    match map {
        HeaderMap::Request => 0,
        HeaderMap::Response => 2,
        HeaderMap::ResponseTrailers => 3,
    }
}

pub fn plugin_configuration() -> Option<Vec<u8>> {
    // SAFETY: the out-parameters point at live locals (`read`).
    read(|d, s| unsafe { proxy_get_buffer_bytes(PLUGIN_CONFIGURATION, 0, usize::MAX, d, s) })
}

/// A property (Envoy's path encoding: segments joined by NUL).
pub fn property(path: &[&str]) -> Option<Vec<u8>> {
    encoding::with_property_path(path, property_joined)
}

/// A property by its path already joined (segments separated by NUL, as
/// `proxy_get_property` takes it): a path known in advance is not joined
/// per request.
pub fn property_joined(p: &[u8]) -> Option<Vec<u8>> {
    // SAFETY: the path is live for the call; out-parameters as in `read`.
    read(|d, s| unsafe { proxy_get_property(p.as_ptr(), p.len(), d, s) })
}

/// A whole header map in one call, decoded into `pairs` without trapping
/// on invalid UTF-8 (reusing the strings `pairs` holds: `pairs::decode_into`);
/// empty when the host cannot give it. Returns the serialized map's size.
pub fn headers_into(map: HeaderMap, pairs: &mut Vec<(String, String)>) -> usize {
    match header_pairs(map) {
        Some(bytes) => {
            pairs::decode_into(&bytes, pairs);
            bytes.len()
        }
        None => {
            pairs.clear();
            0
        }
    }
}

fn header_pairs(map: HeaderMap) -> Option<Vec<u8>> {
    // SAFETY: out-parameters as in `read`.
    read(|d, s| unsafe { proxy_get_header_map_pairs(map_type(map), d, s) })
}

pub fn header(map: HeaderMap, name: &str) -> Option<Vec<u8>> {
    let key = name.as_bytes();
    // SAFETY: the key is live for the call; out-parameters as in `read`.
    read(|d, s| unsafe { proxy_get_header_map_value(map_type(map), key.as_ptr(), key.len(), d, s) })
}

/// Answers the request from the filter (redirect, directResponse, abort).
pub fn send_local_response(response: &LocalResponse) {
    let headers = pairs::encode(&response.headers);
    // No body is a null pointer, as the SDK sends it.
    let body = match response.body.as_bytes() {
        [] => std::ptr::null(),
        bytes => bytes.as_ptr(),
    };
    // SAFETY: every buffer is live for the call.
    let _ = unsafe {
        proxy_send_local_response(
            response.status,
            std::ptr::null(),
            0,
            body,
            response.body.len(),
            headers.as_ptr(),
            headers.len(),
            -1,
        )
    };
}

/// The host's log as the `log` crate's logger.
pub struct HostLog;

impl log::Log for HostLog {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        // proxy-wasm's levels (trace 0 to error 4) are `log`'s reversed.
        let level = 5 - record.level() as u32;
        let message = record.args().to_string();
        // SAFETY: the message is live for the call.
        let _ = unsafe { proxy_log(level, message.as_ptr(), message.len()) };
    }

    fn flush(&self) {}
}

/// The host through the engine's traits.
pub struct Host;

impl Attributes for Host {
    fn property(&self, path: &[&str]) -> Option<Cow<'_, [u8]>> {
        property(path).map(Cow::Owned)
    }

    fn property_joined(&self, joined: &[u8]) -> Option<Cow<'_, [u8]>> {
        property_joined(joined).map(Cow::Owned)
    }

    fn header_bytes(&self, map: HeaderMap, name: &str) -> Option<Cow<'_, [u8]>> {
        header(map, name).map(Cow::Owned)
    }

    fn header(&self, map: HeaderMap, name: &str) -> Option<Cow<'_, str>> {
        let lossy =
            |e: std::string::FromUtf8Error| String::from_utf8_lossy(e.as_bytes()).into_owned();
        header(map, name).map(|b| Cow::Owned(String::from_utf8(b).unwrap_or_else(lossy)))
    }
}

impl StatSink for Host {
    fn define_metric(&mut self, histogram: bool, name: &str) -> Option<u32> {
        let kind = if histogram { 2 } else { 0 }; // counter 0, histogram 2
        let mut id: u32 = 0;
        // SAFETY: the name is live for the call; the out-parameter is a local.
        let status = unsafe { proxy_define_metric(kind, name.as_ptr(), name.len(), &mut id) };
        (status == OK).then_some(id)
    }

    fn increment(&mut self, id: u32, by: i64) {
        // SAFETY: plain values.
        let _ = unsafe { proxy_increment_metric(id, by) };
    }

    fn record(&mut self, id: u32, value: u64) {
        // SAFETY: plain values.
        let _ = unsafe { proxy_record_metric(id, value) };
    }

    fn warn(&mut self, message: &str) {
        log::warn!("{message}");
    }
}

impl Fallbacks for Host {
    fn now_nanos(&self) -> Option<u64> {
        let mut t: u64 = 0;
        // SAFETY: the out-parameter points at a live local.
        let status = unsafe { proxy_get_current_time_nanoseconds(&mut t) };
        (status == OK).then_some(t)
    }

    fn header_pairs(&self, map: HeaderMap) -> Option<Vec<u8>> {
        header_pairs(map)
    }
}

/// A header map the filter edits through host calls.
pub struct HeaderEdits<'a> {
    map: u32,
    /// The map as read before the edits, when it was (the request's).
    read: Option<&'a [(String, String)]>,
}

impl<'a> HeaderEdits<'a> {
    pub fn new(map: HeaderMap, read: Option<&'a [(String, String)]>) -> Self {
        let map = map_type(map);
        HeaderEdits { map, read }
    }
}

impl HeaderSink for HeaderEdits<'_> {
    fn set(&mut self, name: &str, value: &str) {
        let (k, v) = (name.as_bytes(), value.as_bytes());
        // SAFETY: both buffers are live for the call.
        let _ = unsafe {
            proxy_replace_header_map_value(self.map, k.as_ptr(), k.len(), v.as_ptr(), v.len())
        };
    }

    fn add(&mut self, name: &str, value: &str) {
        let (k, v) = (name.as_bytes(), value.as_bytes());
        // SAFETY: both buffers are live for the call.
        let _ = unsafe {
            proxy_add_header_map_value(self.map, k.as_ptr(), k.len(), v.as_ptr(), v.len())
        };
    }

    fn remove(&mut self, name: &str) {
        // SAFETY: the name is live for the call.
        let _ = unsafe { proxy_remove_header_map_value(self.map, name.as_ptr(), name.len()) };
    }

    fn held(&self, name: &str) -> bool {
        self.read
            .is_none_or(|read| read.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)))
    }
}
