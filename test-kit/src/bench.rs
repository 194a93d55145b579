//! What the benchmarks share: the built modules (from the test kit), one
//! request through the filter, and reading criterion's estimates back.
//! Included with `#[path]`: a file directly under `benches/` would be a
//! benchmark of its own.

use std::hint::black_box;
use std::path::Path;

use host_tests::Plugin;

/// The upstream's answer in every benchmarked request.
pub const RESPONSE: &[(&str, &str)] = &[(":status", "200"), ("content-type", "text/plain")];

/// The built filter, the host's guests and the target directory: the
/// test kit's (each fails naming the `make` target that builds it).
#[allow(unused_imports)] // not every benchmark loads a guest
pub use test_kit::{filter_wasm as filter_bytes, guest_bytes, target_dir};

/// One request through the whole lifecycle: `request` headers, the
/// RESPONSE headers, then on_log/on_done/on_delete.
pub fn request(plugin: &mut Plugin, request: &[(&str, &str)]) {
    let mut stream = plugin.new_stream();
    black_box(stream.request_headers(request, true));
    black_box(stream.response_headers(RESPONSE, true));
    stream.complete();
}

/// Criterion's median and mean (ns) for `group/id`.
pub fn estimate(criterion_dir: &Path, group: &str, id: &str) -> (f64, f64) {
    let path = criterion_dir
        .join(group)
        .join(id)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("criterion wrote no `{}`: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let point = |k: &str| json[k]["point_estimate"].as_f64().unwrap();
    (point("median"), point("mean"))
}
