//! The worst request against an ordinary one (issue 15 item 1), written to
//! `target/bench/35-worst-case.md`: 100 rules each matching `authorization`
//! with a regex (the probe) and a catch-all; the ordinary request
//! has no `authorization`, the worst one the longest a default Envoy lets
//! through (about 60 KiB: its limit on request headers), which every regex
//! scans to the end. Figures: criterion's time for the request-headers
//! callback, and the fuel (wasm instructions) it spent on the host.
//!
//! Run with `cargo bench -p host-tests --bench worst_case` (after `make build`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use criterion::{BenchmarkId, Criterion};
use host_tests::{Host, Plugin, PluginOptions};
use serde_json::{Value, json};
use std::hint::black_box;
use std::time::{Duration, Instant};

#[path = "support/common.rs"]
mod common;
use common::{RESPONSE, estimate, filter_bytes, request, target_dir};

const COMMAND: &str = "cargo bench -p host-tests --bench worst_case";
const RULES: usize = 100;

fn policy() -> Value {
    let mut http: Vec<Value> = (0..RULES)
        .map(|i| {
            json!({
                "name": format!("bearer-{i}"),
                "match": [{"headers": {"authorization": {"regex": format!("Bearer [A-Za-z0-9._-]+\\.t{i}")}}}],
                "route": [{"destination": {"host": "a", "subset": "v1"}}]
            })
        })
        .collect();
    http.push(json!({"name": "rest", "route": [{"destination": {"host": "a", "subset": "v2"}}]}));
    json!({
        "apiVersion": "meshpolicy.dev/v1alpha2",
        "kind": "TrafficPolicy",
        "metadata": {"name": "worst", "namespace": "prod"},
        "spec": {
            "virtualServices": [{"name": "worst", "hosts": ["*"], "http": http}],
            "subsets": {"a.prod.svc.cluster.local": {"v1": {"version": "v1"}, "v2": {"version": "v2"}}}
        }
    })
}

fn token(len: usize) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
    let mut t = String::from("Bearer ");
    t.extend((0..len).map(|i| char::from(alphabet[i * 7 % alphabet.len()])));
    t.push_str(".x");
    t
}

const ORDINARY: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":authority", "reviews:9080"),
    (":path", "/"),
];

/// Times the request-headers callback alone; returns the fuel of the last.
fn headers_only(plugin: &mut Plugin, headers: &[(&str, &str)], iters: u64) -> (Duration, u64) {
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

fn main() {
    let criterion_dir = target_dir().join("criterion");
    let mut c = Criterion::default()
        .output_directory(&criterion_dir)
        .configure_from_args();
    let host = Host::new().expect("the host starts");
    let filter = host
        .load_bytes(&filter_bytes())
        .expect("meshpolicy.wasm loads");
    let mut plugin = test_kit::configured(
        &filter,
        PluginOptions {
            plugin_config: serde_json::to_vec(&policy()).unwrap(),
            ..PluginOptions::default()
        },
    );
    let long = token(60 * 1024 - 200);
    let mut worst = ORDINARY.to_vec();
    worst.push(("authorization", long.as_str()));

    // One full request first (warms the filter's caches).
    request(&mut plugin, ORDINARY);
    let (_, ordinary_fuel) = headers_only(&mut plugin, ORDINARY, 1);
    let (_, worst_fuel) = headers_only(&mut plugin, &worst, 1);
    let mut group = c.benchmark_group("worst-case");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(10);
    group.bench_function(BenchmarkId::from_parameter("ordinary"), |b| {
        b.iter_custom(|iters| headers_only(&mut plugin, ORDINARY, iters).0)
    });
    group.bench_function(BenchmarkId::from_parameter("worst"), |b| {
        b.iter_custom(|iters| headers_only(&mut plugin, &worst, iters).0)
    });
    group.finish();
    c.final_summary();

    let budget = meshpolicy_engine::limits::REQUEST_FUEL;
    let callback = host_tests::Limits::default().fuel_per_call;
    let (ordinary_ns, _) = estimate(&criterion_dir, "worst-case", "ordinary");
    let (worst_ns, _) = estimate(&criterion_dir, "worst-case", "worst");
    let md = format!(
        "## The worst request against an ordinary one\n\n\
         Command: `{COMMAND}` (criterion medians; fuel is wasm instructions on the host). \
         {RULES} rules each match `authorization` with a regex (`Bearer [A-Za-z0-9._-]+\\.tN`), \
         then a catch-all; the worst request carries a {} KiB token no rule matches \
         (Envoy's default limit on request headers is 60 KiB), the ordinary one none. \
         The request-headers callback alone is timed.\n\n\
         | request | time | fuel | ratio to ordinary (time, fuel) |\n|---|---|---|---|\n\
         | ordinary | {:.1} µs | {ordinary_fuel} | 1x |\n\
         | worst | {:.2} ms | {worst_fuel} | {:.0}x, {:.0}x |\n\n\
         Budget: the worst request within `REQUEST_FUEL` = {budget} instructions \
         ({:.0}% of a callback's {callback} fuel): {worst_fuel} is {:.0}% of it, {}. \
         `host-tests/tests/filter/worst_case.rs` checks it on every `make test`, with the \
         same 60 KiB through `MAX_RULES` header rules (one header sent 95 times) and \
         query rules (a 60 KiB query).\n",
        long.len() / 1024,
        ordinary_ns / 1e3,
        worst_ns / 1e6,
        worst_ns / ordinary_ns,
        worst_fuel as f64 / ordinary_fuel.max(1) as f64,
        budget as f64 * 100.0 / callback as f64,
        worst_fuel as f64 * 100.0 / budget as f64,
        if worst_fuel <= budget {
            "met"
        } else {
            "**missed**"
        },
    );
    let out = target_dir().join("bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("35-worst-case.md"), &md).unwrap();
    println!("{md}");
}
