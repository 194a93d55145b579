//! What the benchmarks (`host.rs`, `telemetry.rs`) share: where the target
//! directory and the built filter are, one request through the filter, and
//! reading criterion's estimates back. Included with `#[path]`: a file
//! directly under `benches/` would be a benchmark of its own.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use host_tests::Plugin;

/// The upstream's answer in every benchmarked request.
pub const RESPONSE: &[(&str, &str)] = &[(":status", "200"), ("content-type", "text/plain")];

pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target"),
    }
}

/// The bytes of `path`, or a panic naming the `make` target that builds it.
pub fn read(path: &Path, make: &str) -> Vec<u8> {
    std::fs::read(path)
        .unwrap_or_else(|e| panic!("cannot read `{}` ({e}): run `make {make}`", path.display()))
}

/// The built filter: `$MESHPOLICY_WASM` or `target/meshpolicy.wasm`.
pub fn filter_bytes() -> Vec<u8> {
    let path = match std::env::var_os("MESHPOLICY_WASM") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => target_dir().join("meshpolicy.wasm"),
    };
    read(&path, "build")
}

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
