//! The worst request against an ordinary one (issue 15 item 1), written to
//! `target/bench/35-worst-case.md`: 100 rules each matching `authorization`
//! with a regex (the probe) and a catch-all; the ordinary request
//! has no `authorization`, the worst one the longest a default Envoy lets
//! through (about 60 KiB: its limit on request headers), which every regex
//! scans to the end. Figures: criterion's time for the request-headers
//! callback, and the fuel (wasm instructions) it spent on the host.
//!
//! Run with `cargo bench -p host-tests --bench worst_case` (after `make build`).

use anyhow::Context;
use criterion::BenchmarkId;
use host_tests::{Host, PluginOptions};
use std::time::Duration;
use test_kit::{bearer_rules, bearer_token};

use test_kit::bench::{criterion, estimate, headers_only, request, verdict, write_section};
use test_kit::filter_wasm as filter_bytes;

const COMMAND: &str = "cargo bench -p host-tests --bench worst_case";
const RULES: usize = 100;

const ORDINARY: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":authority", "reviews:9080"),
    (":path", "/"),
];

fn main() -> anyhow::Result<()> {
    let (mut c, criterion_dir) = criterion();
    let host = Host::new().context("the host starts")?;
    let filter = host
        .load_bytes(&filter_bytes())
        .context("meshpolicy.wasm loads")?;
    let mut plugin = test_kit::configured(
        &filter,
        PluginOptions {
            plugin_config: serde_json::to_vec(&bearer_rules(RULES))?,
            ..PluginOptions::default()
        },
    );
    let long = bearer_token(60 * 1024 - 200);
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
        verdict(worst_fuel <= budget),
    );
    write_section("35-worst-case.md", &md);
    Ok(())
}
