//! Host benchmarks (issue 3 item 7), written to `target/bench/30-host.md`:
//!
//! (a) one full request (headers, response headers, on_log/on_done/on_delete)
//!     through meshpolicy's filter, as a ratio to `guest-floor` (reads the
//!     request headers once and continues) measured in the same run;
//! (b) requests per second through the host (one core), from (a);
//! (c) the first load of a module (a cold compile) against a load from the
//!     on-disk compiled-module cache.
//!
//! Run with `cargo bench -p host-tests --bench host` (after `make build
//! guests`). Criterion measures; this program then reads criterion's
//! estimates back and writes the markdown section.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use criterion::{BenchmarkId, Criterion};
use host_tests::{Host, LoadedModule, ModuleSource, Plugin, PluginOptions};
use std::time::Duration;

use test_kit::bench::{
    criterion, estimate, headers_only, human, request, sidecar_request, verdict, write_section,
};
use test_kit::{filter_wasm as filter_bytes, guest_bytes};

const COMMAND: &str = "cargo bench -p host-tests --bench host";

/// The policy of SPEC §2 (the seed article's reviews routes), as the JSON
/// Istio hands to `proxy_on_configure`.
const POLICY: &str = r#"{
  "apiVersion": "meshpolicy.dev/v1alpha2",
  "kind": "TrafficPolicy",
  "metadata": {"name": "reviews", "namespace": "prod"},
  "spec": {
    "virtualServices": [{"name": "reviews-route", "hosts": ["*"], "http": [
      {"name": "legacy-catalog",
       "match": [{"uri": {"prefix": "/wpcatalog"}}, {"uri": {"prefix": "/consumercatalog"}}],
       "rewrite": {"uri": "/newcatalog"},
       "route": [{"destination": {"host": "reviews.prod.svc.cluster.local", "subset": "v2"}}]},
      {"name": "reviews-canary",
       "route": [{"destination": {"host": "reviews", "subset": "v1"}, "weight": 90},
                 {"destination": {"host": "reviews", "subset": "v2"}, "weight": 10}],
       "sticky": {"header": "x-user-id"}}
    ]}],
    "subsets": {"reviews.prod.svc.cluster.local": {"v1": {"version": "v1"}, "v2": {"version": "v2"}}}
  }
}"#;

fn floor_bytes() -> Vec<u8> {
    guest_bytes("floor")
}

fn start(module: &LoadedModule, config: &str) -> Plugin {
    test_kit::configured(
        module,
        PluginOptions {
            plugin_config: config.as_bytes().to_vec(),
            ..PluginOptions::default()
        },
    )
}

/// The module's bytes with a custom section appended: the same code under a
/// new sha256, so no cache (in memory or on disk) knows it.
fn variant(bytes: &[u8], n: u64) -> Vec<u8> {
    let name = b"bench";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.extend_from_slice(&n.to_le_bytes());
    let mut out = bytes.to_vec();
    out.push(0); // custom section id
    out.push(payload.len() as u8); // LEB128 of a size below 128
    out.extend_from_slice(&payload);
    out
}

fn bench_requests(c: &mut Criterion, floor: &LoadedModule, filter: &LoadedModule) {
    let request_headers = sidecar_request();
    let req = request_headers.as_slice();
    let mut group = c.benchmark_group("request");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    let mut floor_plugin = start(floor, "");
    group.bench_function(BenchmarkId::from_parameter("floor"), |b| {
        b.iter(|| request(&mut floor_plugin, req))
    });
    let mut filter_plugin = start(filter, POLICY);
    group.bench_function(BenchmarkId::from_parameter("meshpolicy"), |b| {
        b.iter(|| request(&mut filter_plugin, req))
    });
    group.finish();

    // The decision alone: only the request-headers callback is timed, the
    // rest of each request runs outside the measurement.
    let mut group = c.benchmark_group("request-headers");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.bench_function(BenchmarkId::from_parameter("floor"), |b| {
        b.iter_custom(|iters| headers_only(&mut floor_plugin, req, iters).0)
    });
    group.bench_function(BenchmarkId::from_parameter("meshpolicy"), |b| {
        b.iter_custom(|iters| headers_only(&mut filter_plugin, req, iters).0)
    });
    group.finish();
}

fn bench_loads(c: &mut Criterion, bytes: &[u8]) {
    let cache = tempfile::tempdir().expect("a temporary cache directory");
    // Seed the disk cache once to learn the artifact's file name suffix
    // (wasmtime's compatibility hash); then, for each measured load, put
    // the artifact under the name of a fresh variant. The load then misses
    // the in-process cache and takes the disk path, which is what a new
    // test process does.
    let seeded = Host::with_cache_dir(cache.path())
        .unwrap()
        .load_bytes(&variant(bytes, u64::MAX))
        .unwrap();
    assert_eq!(seeded.source(), ModuleSource::Compiled);
    let artifact = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .expect("the host wrote a compiled artifact");
    let file_name = artifact.file_name().unwrap().to_str().unwrap().to_string();
    let suffix = file_name
        .split_once('-')
        .map(|(_, rest)| rest.to_string())
        .expect("artifact named <sha256>-<hash>.cwasm");
    let compiled = std::fs::read(&artifact).unwrap();

    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(6));
    let mut n = 0u64;
    let cold = Host::without_disk_cache().unwrap();
    group.bench_function(BenchmarkId::from_parameter("cold-compile"), |b| {
        b.iter_batched(
            || {
                n += 1;
                variant(bytes, n)
            },
            |v| {
                let module = cold.load_bytes(&v).unwrap();
                assert_eq!(module.source(), ModuleSource::Compiled);
                module
            },
            criterion::BatchSize::SmallInput,
        )
    });
    let warm = Host::with_cache_dir(cache.path()).unwrap();
    group.bench_function(BenchmarkId::from_parameter("disk-cache"), |b| {
        b.iter_batched(
            || {
                n += 1;
                let v = variant(bytes, n);
                let sha = sha256_hex(&v);
                std::fs::write(cache.path().join(format!("{sha}-{suffix}")), &compiled).unwrap();
                v
            },
            |v| {
                let module = warm.load_bytes(&v).unwrap();
                assert_eq!(module.source(), ModuleSource::DiskCache);
                module
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn main() {
    let (mut c, criterion_dir) = criterion();
    let host = Host::new().expect("the host starts");
    let floor = host.load_bytes(&floor_bytes()).expect("guest-floor loads");
    let filter_bytes = filter_bytes();
    let filter = host
        .load_bytes(&filter_bytes)
        .expect("meshpolicy.wasm loads");
    bench_requests(&mut c, &floor, &filter);
    bench_loads(&mut c, &filter_bytes);
    c.final_summary();

    let (floor_ns, floor_mean) = estimate(&criterion_dir, "request", "floor");
    let (filter_ns, filter_mean) = estimate(&criterion_dir, "request", "meshpolicy");
    let (floor_headers, _) = estimate(&criterion_dir, "request-headers", "floor");
    let (filter_headers, _) = estimate(&criterion_dir, "request-headers", "meshpolicy");
    let (cold_ns, _) = estimate(&criterion_dir, "load", "cold-compile");
    let (disk_ns, _) = estimate(&criterion_dir, "load", "disk-cache");
    let ratio = filter_ns / floor_ns;
    let speedup = cold_ns / disk_ns;
    let md = format!(
        "## Host: requests and module loads\n\n\
         Command: `{COMMAND}` (criterion; medians, means in brackets; one core).\n\
         A request is request headers (10 headers), response headers, then on_log, \
         on_done and on_delete, on a fresh stream context of a started plugin. \
         The floor is `guest-floor`, which reads the request headers once and continues.\n\n\
         | measure | value | baseline | ratio | goal |\n|---|---|---|---|---|\n\
         | request through meshpolicy (SPEC §2 policy, rewrite match) | {} ({}) | floor {} ({}) | {ratio:.2}x | at most 2x: {} |\n\
         | the request-headers callback alone (the decision) | {} | floor {} | {:.2}x | |\n\
         | requests per second through meshpolicy | {:.0} | floor {:.0} | {:.2} | |\n\
         | module load from the disk cache ({} KiB filter) | {} | cold compile {} | {speedup:.0}x faster | at least 50x: {} |\n",
        human(filter_ns),
        human(filter_mean),
        human(floor_ns),
        human(floor_mean),
        verdict(ratio <= 2.0),
        human(filter_headers),
        human(floor_headers),
        filter_headers / floor_headers,
        1e9 / filter_ns,
        1e9 / floor_ns,
        floor_ns / filter_ns,
        filter_bytes.len() / 1024,
        human(disk_ns),
        human(cold_ns),
        verdict(speedup >= 50.0),
    );
    write_section("30-host.md", &md);
}
