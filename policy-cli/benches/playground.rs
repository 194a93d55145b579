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
use std::path::{Path, PathBuf};
use std::time::Instant;

use browser::{Browser, Server};
use serde_json::{Value, json};

const POLICY: &str = include_str!("../../manifests/policy/reviews.policy.yaml");
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
/// Batches (the best is reported, on both sides).
const ROUNDS: usize = 7;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

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
    let filter = size(&root().join("target/meshpolicy.wasm"));
    let gz = gzip_size(&wasm) + gzip_size(&glue) + gzip_size(&app);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (loads, dom, browser_batch, browser_json, browser_check) = runtime.block_on(async {
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
        let timed = b
            .client
            .execute(
                "const [policy, req, n, rounds] = arguments;
                 const c = new window.playgroundEngine.Compiled(policy);
                 let batch = Infinity, json = Infinity;
                 for (let r = 0; r < rounds; r++) {
                   let t = performance.now();
                   if (c.decideRepeatedly(req, n) !== n) throw new Error('not routed');
                   batch = Math.min(batch, performance.now() - t);
                   t = performance.now();
                   for (let i = 0; i < n / 10; i++) c.decide(req);
                   json = Math.min(json, performance.now() - t);
                 }
                 c.free();
                 const [istio, checks] = [arguments[4], arguments[5]];
                 let check = Infinity;
                 for (let r = 0; r < rounds; r++) {
                   const t = performance.now();
                   for (let i = 0; i < checks; i++) {
                     if (!JSON.parse(window.playgroundEngine.validate(istio)).ok) throw new Error('invalid');
                   }
                   check = Math.min(check, performance.now() - t);
                 }
                 return [batch, json, check];",
                vec![
                    json!(POLICY),
                    json!(request()),
                    json!(BATCH),
                    json!(ROUNDS),
                    json!(ISTIO),
                    json!(CHECKS),
                ],
            )
            .await
            .unwrap();
        b.close().await;
        drop(server);
        let ms = |v: &Value| v.as_f64().unwrap();
        (first, dom, ms(&timed[0]), ms(&timed[1]), ms(&timed[2]))
    });

    // The same two calls natively: the playground crate's own functions.
    let compiled = playground::Compiled::new(POLICY).unwrap();
    let req = request();
    let (mut native_batch, mut native_json) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        assert_eq!(compiled.decide_repeatedly(&req, BATCH), BATCH);
        native_batch = native_batch.min(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        for _ in 0..BATCH / 10 {
            std::hint::black_box(compiled.decide(std::hint::black_box(&req)));
        }
        native_json = native_json.min(t.elapsed().as_secs_f64() * 1e3);
    }
    // Istio YAML checked as the page checks it (parse, import, compile, lint).
    let mut native_check = f64::INFINITY;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        for _ in 0..CHECKS {
            let out: Value = serde_json::from_str(&playground::validate(ISTIO)).unwrap();
            assert_eq!(out["ok"], true, "{out}");
        }
        native_check = native_check.min(t.elapsed().as_secs_f64() * 1e3);
    }
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
    print!("{md}");
    let out = root().join("target/bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("60-playground.md"), md).unwrap();
    println!("wrote target/bench/60-playground.md");
}
