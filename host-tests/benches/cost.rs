//! Per-request cost near the floor, memory and start-up (issue 11), written
//! to `target/bench/32-cost.md`.
//!
//! (a) A full request (request headers, response headers, on_log, on_done,
//!     on_delete) through four modules, measured in interleaved rounds so
//!     that a noisy machine slows every variant of a round alike: the header
//!     floor (`guest-floor`: reads the request headers), the telemetry floor
//!     (`guest-telemetry-floor`: also sets two request headers and records
//!     the four metrics with ids defined once), the reads floor
//!     (`guest-telemetry-floor` configured with `reads`: also every other host call
//!     meshpolicy makes for Istio's labels, nothing computed from the
//!     answers), meshpolicy with the article's policy and its Telemetry, and
//!     the same with every metric disabled. Each ratio is the median over
//!     rounds of the round's ratio.
//!     Host calls per request are counted on a separate plugin, and the
//!     fuel (wasm instructions) each group of callbacks spends: a measure
//!     of guest work that does not depend on the machine.
//!     With `COST_BEFORE_WASM=<path>` two more variants run the same
//!     policies on that module (an earlier build), in the same rounds, so a
//!     change is measured before and after in one run.
//! (b) Linear memory after configure and after 10,000 requests, start-up
//!     (`Plugin::start`: instantiate, `_initialize`, root context, vm start
//!     and configure) and configure alone (`proxy_on_configure` again), for
//!     the article's policy and for 1,000 and 5,000 (`MAX_RULES`) prefix rules; and the
//!     leak check: memory after 100,000 more requests.
//!
//! Run with `cargo bench -p host-tests --bench cost` (after `make build guests`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::LazyLock;
use std::time::Instant;

use host_tests::{Host, LoadedModule, Plugin, PluginOptions, Properties};
use meshpolicy_engine::limits::MAX_RULES;
use serde_json::{Value, json};

use test_kit::bench::{RESPONSE, human, request, sidecar_request, verdict, write_section};
use test_kit::{filter_wasm as filter_bytes, guest_bytes};

const COMMAND: &str = "cargo bench -p host-tests --bench cost";
const ROUNDS: usize = 41;
const BATCH: u32 = 1000;

/// A typical mesh request: pseudo-headers plus what a sidecar adds.
static REQUEST: LazyLock<Vec<(&str, &str)>> = LazyLock::new(sidecar_request);

/// The article's policy (SPEC §2, `manifests/policy/`) with `telemetry`.
fn article(telemetry: Value) -> Value {
    let mut policy = test_kit::article_policy();
    policy["spec"]["telemetry"] = telemetry;
    policy
}

/// The article's Telemetry (shared/examples/istio/telemetry-tag-overrides.yaml).
fn article_telemetry() -> Value {
    test_kit::article_policy()["spec"]["telemetry"].clone()
}

fn metrics_off() -> Value {
    json!([{"overrides": [{"disabled": true}]}])
}

/// `n` prefix rules `/svc{i}/`, each to one of ten subsets that the policy
/// defines (a policy without warnings: an undefined subset per rule would
/// measure `n` warnings built and logged, not configure); the article's
/// Telemetry. No `name`: `MAX_RULES` of them fit `MAX_POLICY_BYTES`.
fn prefix_rules(n: usize) -> Value {
    const SUBSETS: usize = 10;
    let http: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "match": [{"uri": {"prefix": format!("/svc{i}/")}}],
                "route": [{"destination": {"host": "svc", "subset": format!("v{}", i % SUBSETS)}}]
            })
        })
        .collect();
    let subsets: serde_json::Map<String, Value> = (0..SUBSETS)
        .map(|i| (format!("v{i}"), json!({"version": format!("v{i}")})))
        .collect();
    test_kit::policy(json!({
        "http": http,
        "subsets": {"svc.prod.svc.cluster.local": subsets},
        "telemetry": article_telemetry(),
    }))
}

/// An outbound sidecar `productpage-v1` calling `reviews-v2`.
fn properties() -> Properties {
    test_kit::article_properties(2)
}

fn start(module: &LoadedModule, config: &[u8], count: bool) -> Plugin {
    test_kit::configured(
        module,
        PluginOptions {
            plugin_config: config.to_vec(),
            properties: properties(),
            count_host_calls: count,
            ..PluginOptions::default()
        },
    )
}

/// Fuel (wasm instructions) of one request whose label set is already
/// defined: request headers (with the context's creation), response
/// headers, and the end (on_log, on_done, on_delete).
fn fuel(module: &LoadedModule, config: &[u8]) -> [u64; 3] {
    let mut plugin = start(module, config, false);
    request(&mut plugin, &REQUEST);
    let t0 = plugin.fuel_total();
    let mut stream = plugin.new_stream();
    stream.request_headers(&REQUEST, true);
    let t1 = stream.plugin().fuel_total();
    stream.response_headers(RESPONSE, true);
    let t2 = stream.plugin().fuel_total();
    stream.complete();
    let t3 = plugin.fuel_total();
    [t1 - t0, t2 - t1, t3 - t2]
}

struct Variant {
    label: &'static str,
    module: LoadedModule,
    config: Vec<u8>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn mib(bytes: usize) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// (a): medians per variant (ns per request), median ratios to the three
/// floors (variants 0, 1 and 2) per variant, host calls per request.
fn per_request(variants: &[Variant]) -> (Vec<f64>, Vec<[f64; 3]>, Vec<u64>) {
    let mut plugins: Vec<Plugin> = variants
        .iter()
        .map(|v| start(&v.module, &v.config, false))
        .collect();
    let calls: Vec<u64> = variants
        .iter()
        .map(|v| {
            let mut p = start(&v.module, &v.config, true);
            request(&mut p, &REQUEST); // defines the metrics of the label set
            p.take_host_calls();
            request(&mut p, &REQUEST);
            p.take_host_calls().total()
        })
        .collect();
    // Warm-up: a round that is not kept.
    for p in &mut plugins {
        for _ in 0..BATCH {
            request(p, &REQUEST);
        }
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for round in 0..ROUNDS {
        // Rotate the order so no variant always runs first.
        for k in 0..plugins.len() {
            let i = (round + k) % plugins.len();
            let p = &mut plugins[i];
            let started = Instant::now();
            for _ in 0..BATCH {
                request(p, &REQUEST);
            }
            times[i].push(started.elapsed().as_nanos() as f64 / f64::from(BATCH));
        }
    }
    let ratio = |i: usize, base: usize| -> f64 {
        median(
            times[i]
                .iter()
                .zip(&times[base])
                .map(|(a, b)| a / b)
                .collect(),
        )
    };
    let ratios = (0..variants.len())
        .map(|i| [ratio(i, 0), ratio(i, 1), ratio(i, 2)])
        .collect();
    (times.into_iter().map(median).collect(), ratios, calls)
}

struct Startup {
    label: String,
    start_ns: f64,
    configure_ns: f64,
    /// Fuel (wasm instructions) of one configure: the same on any machine.
    configure_fuel: u64,
    after_configure: usize,
    after_10k: usize,
    after_110k: Option<usize>,
}

/// (b) for one policy; `path` is a request path its rules route.
fn startup(
    module: &LoadedModule,
    label: String,
    config: &[u8],
    path: &str,
    runs: usize,
    leak_check: bool,
) -> Startup {
    let mut starts = Vec::new();
    let mut after_configure = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let plugin = start(module, config, false);
        starts.push(started.elapsed().as_nanos() as f64);
        after_configure = plugin.memory_bytes();
    }
    let mut plugin = start(module, config, false);
    let mut configures = Vec::new();
    let mut configure_fuel = 0;
    for _ in 0..runs {
        let fuel_before = plugin.fuel_total();
        let started = Instant::now();
        assert!(plugin.reconfigure(config.to_vec()));
        configures.push(started.elapsed().as_nanos() as f64);
        configure_fuel = plugin.fuel_total() - fuel_before;
    }
    let mut plugin_requests = start(module, config, false);
    let mut req: Vec<(&str, &str)> = REQUEST.to_vec();
    req[1] = (":path", path);
    for _ in 0..10_000 {
        request(&mut plugin_requests, &req);
    }
    let after_10k = plugin_requests.memory_bytes();
    let after_110k = leak_check.then(|| {
        for _ in 0..100_000 {
            request(&mut plugin_requests, &req);
        }
        plugin_requests.memory_bytes()
    });
    drop(plugin);
    Startup {
        label,
        start_ns: median(starts),
        configure_ns: median(configures),
        configure_fuel,
        after_configure,
        after_10k,
        after_110k,
    }
}

fn main() {
    let host = Host::new().expect("the host starts");
    let load = |guest: &str| {
        host.load_bytes(&guest_bytes(guest))
            .unwrap_or_else(|e| panic!("guest `{guest}` loads: {e}"))
    };
    let filter_bytes = filter_bytes();
    let filter = || {
        host.load_bytes(&filter_bytes)
            .expect("meshpolicy.wasm loads")
    };
    let to_vec = |v: &Value| serde_json::to_vec(v).unwrap();
    let variants = vec![
        Variant {
            label: "header floor (`guest-floor`: reads the request headers)",
            module: load("floor"),
            config: Vec::new(),
        },
        Variant {
            label: "telemetry floor (`guest-telemetry-floor`: reads the headers, sets two, records the four metrics by precomputed id)",
            module: load("telemetry-floor"),
            config: Vec::new(),
        },
        Variant {
            label: "reads floor (`guest-telemetry-floor` configured with `reads`: the telemetry floor plus the other 11 host calls meshpolicy makes, answers unused)",
            module: load("telemetry-floor"),
            config: b"reads".to_vec(),
        },
        Variant {
            label: "meshpolicy, the article's policy and its Telemetry",
            module: filter(),
            config: to_vec(&article(article_telemetry())),
        },
        Variant {
            label: "meshpolicy, the article's policy, every metric disabled",
            module: filter(),
            config: to_vec(&article(metrics_off())),
        },
    ];
    let mut variants = variants;
    let before = std::env::var_os("COST_BEFORE_WASM").filter(|p| !p.is_empty());
    if let Some(path) = &before {
        let bytes = std::fs::read(path)
            .unwrap_or_else(|e| panic!("COST_BEFORE_WASM={}: {e}", path.to_string_lossy()));
        let module = || host.load_bytes(&bytes).expect("the earlier module loads");
        variants.push(Variant {
            label: "before (`COST_BEFORE_WASM`), the article's policy and its Telemetry",
            module: module(),
            config: to_vec(&article(article_telemetry())),
        });
        variants.push(Variant {
            label: "before (`COST_BEFORE_WASM`), every metric disabled",
            module: module(),
            config: to_vec(&article(metrics_off())),
        });
    }
    let (times, ratios, calls) = per_request(&variants);
    let fuels: Vec<[u64; 3]> = variants
        .iter()
        .map(|v| fuel(&v.module, &v.config))
        .collect();
    let mut md = format!(
        "## Per-request cost against the floors (issue 11)\n\n\
         Command: `{COMMAND}` ({ROUNDS} interleaved rounds of {BATCH} requests per module, \
         after a warm-up round; medians; one core). A request is request headers (10 headers, \
         the article's rewrite rule matches), response headers, then on_log, on_done and \
         on_delete, on a fresh stream of a started plugin (an outbound sidecar, peer metadata \
         present). A ratio is the median over rounds of the ratio within a round. Host calls \
         are counted on another plugin, for a request whose label set is already defined.\n\n\
         The floors and meshpolicy get the same request and response and record the same \
         metric kinds (a counter and three histograms). The sidecar has no route table and no \
         mTLS: meshpolicy's on_log finds no `xds.cluster_name` and reads `:authority` for \
         `destination_service` (a routed request in a sidecar has its cluster, so one read \
         fewer), and its two certificate reads answer absent (with mTLS they answer the SANs).\n\n\
         The reads floor makes exactly meshpolicy's host calls for this request, in its order \
         (`host-tests/tests/filter/cost.rs` checks it): the telemetry floor's, plus \
         `xds.virtual_host_name` in request headers and, in on_log, the peer's metadata whole, \
         the two certificate SANs, `xds.cluster_name`, `:authority`, `:status`, \
         `response.flags`, `request.duration` and both sizes, with nothing computed from the \
         answers (the duration and sizes are recorded). What meshpolicy costs over it is its \
         own work: deciding, and building Istio's labels.\n\n\
         Fuel is wasm instructions (the host's fuel; `memory.copy` and `memory.fill` also \
         cost a unit per byte) per group of callbacks of one such \
         request: request headers (with the stream context's creation), response headers, \
         and the end (on_log, on_done, on_delete).\n\n\
         | module | per request | host calls | ratio to the header floor | ratio to the telemetry floor | ratio to the reads floor | fuel: request headers | response headers | log and end |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    for (i, v) in variants.iter().enumerate() {
        let [rq, rs, end] = fuels[i];
        md.push_str(&format!(
            "| {} | {} | {} | {:.2}x | {:.2}x | {:.2}x | {rq} | {rs} | {end} |\n",
            v.label,
            human(times[i]),
            calls[i],
            ratios[i][0],
            ratios[i][1],
            ratios[i][2]
        ));
    }
    let [tele_header, tele_tele, tele_reads] = ratios[3];
    let [off_header, _, _] = ratios[4];
    let reads_tele = ratios[2][1];
    md.push_str(&format!(
        "\n| goal | measured | verdict |\n|---|---:|---|\n\
         | the article's policy with its Telemetry at most 2.0x the header floor | {tele_header:.2}x | {} |\n\
         | the article's policy with its Telemetry at most 1.3x the telemetry floor | {tele_tele:.2}x | {} |\n\
         | every metric disabled at most 1.6x the header floor | {off_header:.2}x | {} |\n\
         \n\
         What the host calls alone cost: the reads floor (the telemetry floor plus the 11 host \
         calls, no other work) is {reads_tele:.2}x the telemetry floor, so those calls alone take \
         {:.2}x of it{}. meshpolicy, which also decides and builds Istio's labels, is \
         {tele_reads:.2}x the reads floor.\n",
        verdict(tele_header <= 2.0),
        verdict(tele_tele <= 1.3),
        verdict(off_header <= 1.6),
        reads_tele - 1.0,
        if reads_tele > 1.3 {
            ", more than the 0.30x the 1.3x goal leaves for everything beyond the telemetry floor"
        } else {
            ""
        },
    ));
    md.push_str(
        "\nReferences, not measured in this run: figures from issue 11, measured on this host \
         on 2026-11-24 (the shipped module was then 594,356 bytes) with the same request:\n\n\
         | peer | per request, ratio to the header floor | module size |\n|---|---:|---:|\n\
         | meshpolicy then, the article's policy and Telemetry | 4.4x | 594,356 bytes |\n\
         | meshpolicy then, every metric disabled | 2.2x | |\n\
         | proxy-wasm Rust SDK `http_headers` example | 3.4x | about 147 KB |\n\
         | Kuadrant wasm-shim (HEAD, a path predicate and one header action) | 30-38x | 4.56 MB with LTO |\n",
    );

    // (a) first, on its own: (b) takes longer and can fail on its own.
    println!("{md}");

    // (b) memory and start-up.
    let module = filter();
    let article_config = to_vec(&article(article_telemetry()));
    let rows = vec![
        startup(
            &module,
            "the article's policy and its Telemetry".into(),
            &article_config,
            "/wpcatalog/item/42?color=red",
            40,
            true,
        ),
        startup(
            &module,
            "1,000 prefix rules".into(),
            &to_vec(&prefix_rules(1_000)),
            "/svc999/x",
            20,
            false,
        ),
        startup(
            &module,
            "5,000 prefix rules (`MAX_RULES`)".into(),
            &to_vec(&prefix_rules(MAX_RULES)),
            "/svc4999/x",
            10,
            false,
        ),
    ];
    md.push_str(&format!(
        "\n## Memory and start-up (issue 11)\n\n\
         Command: `{COMMAND}` (medians; one core). Start is `Plugin::start`: instantiate the \
         compiled module, `_initialize`, the root context, `proxy_on_vm_start` and \
         `proxy_on_configure`; configure is `proxy_on_configure` again with the same policy \
         (parse, validate, compile), with its fuel (wasm instructions, the same on any machine); \
         instantiate is their difference. Linear memory is the \
         guest's memory size (wasm memory only grows): after configure on a fresh plugin, \
         and after 10,000 requests its rules route (the last rule for the prefix rules). \
         The prefix rules each match a path prefix and route to one of ten defined subsets, \
         so the policy has no warnings.\n\n\
         | policy | start | configure | configure fuel | instantiate | memory after configure | after 10,000 requests |\n\
         |---|---:|---:|---:|---:|---:|---:|\n"
    ));
    for r in &rows {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} ({} bytes) | {} |\n",
            r.label,
            human(r.start_ns),
            human(r.configure_ns),
            r.configure_fuel,
            human((r.start_ns - r.configure_ns).max(0.0)),
            mib(r.after_configure),
            r.after_configure,
            mib(r.after_10k),
        ));
    }
    let (article_row, k1, k5) = (&rows[0], &rows[1], &rows[2]);
    let per_rule = |r: &Startup, n: f64| {
        (r.after_configure as f64 - article_row.after_configure as f64).max(0.0) / n
    };
    let (per_1k, per_5k) = (per_rule(k1, 1_000.0), per_rule(k5, MAX_RULES as f64));
    // issue 11's goal is 50 ms for 10,000 rules, set before MAX_RULES became
    // 5,000: the same goal per rule
    let per_rule_ns = k5.configure_ns / MAX_RULES as f64;
    let leak = article_row.after_110k.unwrap_or(usize::MAX);
    md.push_str(&format!(
        "\n| goal | measured | verdict |\n|---|---:|---|\n\
         | configure of 5,000 rules (`MAX_RULES`) under 25 ms (issue 11: 10,000 under 50 ms, 5 µs per rule) | {} ({} per rule; {} fuel per rule) | {} |\n\
         | memory after configure under 4 MiB for the article's policy | {} | {} |\n\
         | memory grows at most linearly with rules (bytes per rule over the article's, at 5,000 rules at most 1.5x that at 1,000) | {per_5k:.0} B/rule at 5,000, {per_1k:.0} B/rule at 1,000 | {} |\n\
         | no growth across 100,000 requests (after 10,000 warm-up requests) | {} → {} | {} |\n",
        human(k5.configure_ns),
        human(per_rule_ns),
        k5.configure_fuel / MAX_RULES as u64,
        verdict(per_rule_ns < 5e3),
        mib(article_row.after_configure),
        verdict(article_row.after_configure < 4 << 20),
        verdict(per_5k <= 1.5 * per_1k.max(1.0)),
        article_row.after_10k,
        leak,
        verdict(leak == article_row.after_10k),
    ));
    md.push_str(
        "\nThe leak check is also a test (`host-tests/tests/filter/cost.rs`), with the host \
         calls per request.\n",
    );
    write_section("32-cost.md", &md);
}
