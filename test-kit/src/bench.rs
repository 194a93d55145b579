//! What the host's benchmarks share: the requests they send, one request
//! through the filter, the request-headers callback timed alone,
//! criterion's set-up and its estimates read back, and the markdown
//! sections they write for BENCHMARKS.md.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::Criterion;
use host_tests::Plugin;

/// The upstream's answer in every benchmarked request.
pub const RESPONSE: &[(&str, &str)] = &[(":status", "200"), ("content-type", "text/plain")];

use crate::paths::target_dir;

/// A typical mesh request to the article's `reviews`: the pseudo-headers
/// and what a client sends, then `extra` (what a sidecar adds).
pub fn mesh_request(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut headers = vec![
        (":method", "GET"),
        (":path", "/wpcatalog/item/42?color=red"),
        (":authority", "reviews.prod.svc.cluster.local"),
        (":scheme", "http"),
        ("user-agent", "curl/8.5.0"),
        ("accept", "*/*"),
    ];
    headers.extend_from_slice(extra);
    headers
}

/// [`mesh_request`] with what the sidecar adds in the host and cost
/// benchmarks (10 headers).
pub fn sidecar_request() -> Vec<(&'static str, &'static str)> {
    mesh_request(&[
        ("x-user-id", "7"),
        ("x-request-id", "5c1f6a2e-8a3b-4c61-9d7e-0b2f8f1e9a10"),
        ("x-forwarded-proto", "http"),
        ("x-envoy-attempt-count", "1"),
    ])
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
    let point = |k: &str| {
        json.get(k)
            .and_then(|e| e.get("point_estimate"))
            .and_then(serde_json::Value::as_f64)
            .unwrap_or_else(|| panic!("no `{k}.point_estimate` in `{}`", path.display()))
    };
    (point("median"), point("mean"))
}

/// Times the request-headers callback alone over `iters` requests (the
/// rest of each request runs outside the measurement); returns the total
/// and the fuel the last callback spent.
pub fn headers_only(plugin: &mut Plugin, headers: &[(&str, &str)], iters: u64) -> (Duration, u64) {
    let mut total = Duration::ZERO;
    let mut fuel = 0;
    for _ in 0..iters {
        let mut stream = plugin.new_stream();
        let started = Instant::now();
        black_box(stream.request_headers(headers, true));
        total += started.elapsed();
        fuel = stream.plugin().fuel_spent();
        stream.response_headers(RESPONSE, true);
        stream.complete();
    }
    assert!(!plugin.is_failed(), "{:?}", plugin.failure());
    (total, fuel)
}

/// Criterion writing under `target/criterion`, and that directory (where
/// [`estimate`] reads back).
pub fn criterion() -> (Criterion, PathBuf) {
    let criterion_dir = target_dir().join("criterion");
    let c = Criterion::default()
        .output_directory(&criterion_dir)
        .configure_from_args();
    (c, criterion_dir)
}

/// Writes a markdown section of BENCHMARKS.md to `target/bench/<file>`
/// (`make bench` joins them) and prints it.
pub fn write_section(file: &str, md: &str) {
    let out = target_dir().join("bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join(file), md).unwrap();
    println!("{md}");
}

/// A duration in ns, in the unit that reads best.
pub fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Whether a goal was met, as the tables say it.
pub fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}
