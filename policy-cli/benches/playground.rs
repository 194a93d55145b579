//! The playground's figures (issue 13): the size of what the page loads,
//! the time from load to the first decision in headless Chromium, and a
//! decide in the browser against the same function natively. Writes
//! `target/bench/60-playground.md`; `make bench` gathers it into
//! BENCHMARKS.md. Needs `make setup` and `make playground`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// the bench uses part of the test support: the rest is dead code here
#[allow(dead_code)]
#[path = "../tests/support/browser.rs"]
mod browser;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use browser::{Browser, Server};
use serde_json::{Value, json};

/// The article's Istio YAML, as the page's Istio test pastes it.
const ISTIO: &str = concat!(
    include_str!("../../../shared/examples/istio/reviews-route.virtualservice.yaml"),
    "---\n",
    include_str!("../../../shared/examples/istio/reviews-canary.yaml"),
);
/// Validations (parse, import, check, lint) per timed batch.
const CHECKS: u32 = 200;
/// Page loads measured (the median is reported).
const LOADS: usize = 7;
/// Decisions per timed batch.
const BATCH: u32 = 20_000;
/// Rounds, browser and native alternating (the best is reported, on both sides).
const ROUNDS: usize = 7;

use test_kit::root;

fn size(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; build the page first: `make playground`",
                path.display()
            )
        })
        .len()
}

fn gzip_size(path: &Path) -> usize {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&std::fs::read(path).unwrap()).unwrap();
    z.finish().unwrap().len()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The article's request, in the page's JSON form, from a client in the
/// service's namespace (where the short host `reviews` is the service's).
fn request() -> String {
    json!({ "method": "GET", "authority": "reviews:9080", "path": "/wpcatalog/books?id=1",
            "headers": [["x-user-id", "7"]], "sourceNamespace": "prod" })
    .to_string()
}

fn main() {
    // `cargo bench` passes `--bench`; this harness takes no options.
    let dir = root().join("target/playground");
    let wasm = dir.join("pkg/playground_bg.wasm");
    let glue = dir.join("pkg/playground.js");
    let app = dir.join("app.js");
    let (wasm_b, glue_b, app_b) = (size(&wasm), size(&glue), size(&app));
    let total = wasm_b + glue_b + app_b;
    let filter = size(&test_kit::filter_wasm_path());
    let gz = gzip_size(&wasm) + gzip_size(&glue) + gzip_size(&app);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Browser and native rounds alternate, so a load change on the machine
    // hits both sides of each ratio alike; the best round of each is kept.
    let policy = test_kit::article_policy_yaml();
    let compiled = playground::Compiled::new(&policy).unwrap();
    let req = request();
    let mut browser = [f64::INFINITY; 3];
    let mut native = [f64::INFINITY; 3];
    let (loads, dom) = runtime.block_on(async {
        let server = Server::start(env!("CARGO_BIN_EXE_policy-cli"));
        let b = Browser::start().await;
        let (mut first, mut dom) = (Vec::new(), Vec::new());
        for _ in 0..LOADS {
            b.client.goto("about:blank").await.unwrap();
            b.open(&server.url).await;
            let t = b
                .client
                .execute(
                    "const n = performance.getEntriesByType('navigation')[0];
                     return [window.playgroundReady.firstDecisionMs, n.domContentLoadedEventEnd];",
                    Vec::new(),
                )
                .await
                .unwrap();
            first.push(t[0].as_f64().unwrap());
            dom.push(t[1].as_f64().unwrap());
        }
        b.client
            .execute(
                "window.benchCompiled = new window.playgroundEngine.Compiled(arguments[0]);",
                vec![json!(policy)],
            )
            .await
            .unwrap();
        for _ in 0..ROUNDS {
            // one browser round: the engine's decide, the page API's, Istio YAML validated
            let timed = b
                .client
                .execute(
                    "const [req, n, istio, checks] = arguments;
                     const c = window.benchCompiled;
                     let t = performance.now();
                     if (c.decideRepeatedly(req, n) !== n) throw new Error('not routed');
                     const batch = performance.now() - t;
                     t = performance.now();
                     for (let i = 0; i < n / 10; i++) c.decide(req);
                     const json = performance.now() - t;
                     t = performance.now();
                     for (let i = 0; i < checks; i++) {
                       if (!JSON.parse(window.playgroundEngine.validate(istio)).ok) throw new Error('invalid');
                     }
                     return [batch, json, performance.now() - t];",
                    vec![json!(req), json!(BATCH), json!(ISTIO), json!(CHECKS)],
                )
                .await
                .unwrap();
            for (best, v) in browser.iter_mut().zip(timed.as_array().unwrap()) {
                *best = best.min(v.as_f64().unwrap());
            }
            // the same round natively: the playground crate's own functions
            let t = Instant::now();
            assert_eq!(compiled.decide_repeatedly(&req, BATCH), BATCH);
            native[0] = native[0].min(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            for _ in 0..BATCH / 10 {
                std::hint::black_box(compiled.decide(std::hint::black_box(&req)));
            }
            native[1] = native[1].min(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            for _ in 0..CHECKS {
                let out: Value = serde_json::from_str(&playground::validate(ISTIO)).unwrap();
                assert_eq!(out["ok"], true, "{out}");
            }
            native[2] = native[2].min(t.elapsed().as_secs_f64() * 1e3);
        }
        b.close().await;
        drop(server);
        (first, dom)
    });
    let [browser_batch, browser_json, browser_check] = browser;
    let [native_batch, native_json, native_check] = native;
    let per = |ms: f64, n: u32| ms * 1e6 / f64::from(n);
    let (bb, nb) = (per(browser_batch, BATCH), per(native_batch, BATCH));
    let (bj, nj) = (per(browser_json, BATCH / 10), per(native_json, BATCH / 10));
    let (first, dom) = (median(loads), median(dom));

    let mut md = String::new();
    writeln!(
        md,
        "## Playground: page size, load, decide in the browser\n"
    )
    .unwrap();
    writeln!(
        md,
        "Command: `make playground`, then `cargo bench -p policy-cli --bench playground` (release build). The page served by `policy-cli playground`, in headless Debian Chromium through chromedriver; the article's policy (`manifests/policy/reviews.policy.yaml`) and request (`GET /wpcatalog/books?id=1`, authority `reviews:9080`); the native side is the playground crate's own functions in the same run.\n"
    )
    .unwrap();
    writeln!(md, "| figure | value | baseline (same run) | ratio |").unwrap();
    writeln!(md, "|---|---|---|---|").unwrap();
    writeln!(
        md,
        "| page `.wasm` + JS, before compression (budget 1.5 MiB = 1,572,864 B) | {total} B (wasm {wasm_b}, wasm-bindgen glue {glue_b}, app.js {app_b}) | the filter `target/meshpolicy.wasm`: {filter} B | {:.2} |",
        total as f64 / filter as f64
    )
    .unwrap();
    writeln!(
        md,
        "| the same, gzip -9 (what a server would send) | {gz} B | before compression: {total} B | {:.2} |",
        gz as f64 / total as f64
    )
    .unwrap();
    writeln!(
        md,
        "| load to first decision (navigation start to the first decision shown; median of {LOADS}) | {first:.1} ms | DOMContentLoaded of the same loads: {dom:.1} ms | {:.2} |",
        first / dom
    )
    .unwrap();
    writeln!(
        md,
        "| engine decide in the browser (`Policy::decide`, best of {ROUNDS} × {BATCH}) | {bb:.0} ns | the same function natively: {nb:.0} ns | {:.2} |",
        bb / nb
    )
    .unwrap();
    writeln!(
        md,
        "| page API decide (JSON request in, JSON decision out, across the JS/wasm boundary) | {bj:.0} ns | the same function natively: {nj:.0} ns | {:.2} |",
        bj / nj
    )
    .unwrap();
    let (bc, nc) = (
        per(browser_check, CHECKS) / 1e3,
        per(native_check, CHECKS) / 1e3,
    );
    writeln!(
        md,
        "| validate the article's Istio YAML (parse, import, compile, lint; JSON out; best of {ROUNDS} × {CHECKS}) | {bc:.0} µs | the same function natively: {nc:.0} µs | {:.2} |",
        bc / nc
    )
    .unwrap();
    writeln!(
        md,
        "\nBudget: `make playground` fails when the page's `.wasm` + JS passes `PLAYGROUND_BUDGET` (1.5 MiB); this page uses {:.0}% of it.",
        total as f64 * 100.0 / 1_572_864.0
    )
    .unwrap();
    print!("{md}");
    let out = root().join("target/bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("60-playground.md"), md).unwrap();
    println!("wrote target/bench/60-playground.md");
}
