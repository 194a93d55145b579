//! `policy-cli test` of 10,000 generated cases, end to end (process start,
//! policy load, module load from the compiled cache, every case on the
//! `.wasm`), against the same command with 1 case as the baseline; and
//! `policy-cli bench` (the filter per request against the native engine).
//! Writes `target/bench/50-cli.md`; `make bench` gathers it into BENCHMARKS.md.
//!
//! The expectations of the generated cases come from the native engine, so
//! the run is also a differential test of the filter against the engine: a
//! single failing case fails the benchmark.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "common/wall.rs"]
mod wall;

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use meshpolicy_engine::Request;
use policy_cli::diagnostic::ErrorFormat;
use policy_cli::input::load_policy;
use policy_cli::request::RequestSpec;
use test_kit::root;
use wall::{RUNS, median_wall, ms, policy_cli, succeeded};

const CASES: usize = 10_000;
const BUDGET: Duration = Duration::from_secs(2);

/// A test file of `n` cases over the article's policy, expectations from the engine.
fn generate(policy: &Path, n: usize) -> String {
    let loaded = load_policy(policy, ErrorFormat::Plain).expect("the article policy loads");
    let node = policy_cli::testfile::NodeMeta {
        namespace: Some("prod".into()),
        labels: [("app".to_owned(), "productpage".to_owned())].into(),
        port: Some(9080),
        ..Default::default()
    };
    let source = node.source_info();
    let paths = [
        "/wpcatalog/item?id=",
        "/consumercatalog/",
        "/wpcatalogue",
        "/reviews/",
        "/",
        "/ratings/",
    ];
    let mut out = String::from(
        "node: {namespace: prod, labels: {app: productpage}, port: 9080}\nauthority: reviews:9080\nservices:\n  - {fqdn: reviews.prod.svc.cluster.local, ports: [9080]}\ncases:\n",
    );
    for i in 0..n {
        let path = format!("{}{i}", paths[i % paths.len()]);
        let user = (i * 7919 % 1000).to_string();
        let req = RequestSpec {
            path: path.clone(),
            authority: Some("reviews:9080".into()),
            headers: vec![("x-user-id".into(), user.clone())],
            ..RequestSpec::parse_line("/").unwrap()
        };
        let headers = req.wire_headers();
        let d = loaded.policy.decide(&Request {
            headers: &headers,
            source: &source,
            port: Some(9080),
            random: 0,
            virtual_host: None,
        });
        let want_path = d.path.clone().unwrap_or(path.clone());
        let subset = d
            .destination
            .as_ref()
            .and_then(|d| d.subset.as_deref())
            .unwrap_or("~")
            .to_owned();
        let _ = write!(
            out,
            "  - name: case {i}\n    request: {{path: \"{path}\", headers: {{x-user-id: \"{user}\"}}}}\n    expect: {{path: \"{want_path}\", subset: {subset}}}\n"
        );
    }
    out
}

/// Median wall time of `policy-cli test` on `tests`.
fn time_test(policy: &Path, tests: &Path, wasm: &Path) -> Duration {
    let what = format!("policy-cli test on {}", tests.display());
    median_wall(
        policy_cli()
            .args(["test", "-q", "--wasm"])
            .arg(wasm)
            .arg(policy)
            .arg(tests),
        |out| succeeded(&what, out),
    )
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter we do not use
    let root = root();
    let wasm = test_kit::filter_wasm_path();
    let policy = root.join("manifests/policy/reviews.policy.yaml");
    let dir = root.join("target/bench/cli");
    std::fs::create_dir_all(&dir).unwrap();
    let many = dir.join("generated-10000.tests.yaml");
    let one = dir.join("generated-1.tests.yaml");
    std::fs::write(&many, generate(&policy, CASES)).unwrap();
    std::fs::write(&one, generate(&policy, 1)).unwrap();

    // warm the compiled-module cache, as a developer's second run would be
    time_test(&policy, &one, &wasm);
    let base = time_test(&policy, &one, &wasm);
    let full = time_test(&policy, &many, &wasm);
    let per_case = full.saturating_sub(base).as_secs_f64() * 1e6 / (CASES - 1) as f64;

    let bench = policy_cli()
        .args(["bench", "-n", "50000", "--output", "json", "--wasm"])
        .arg(&wasm)
        .arg(&policy)
        .output()
        .unwrap();
    succeeded("policy-cli bench", &bench);
    let b: serde_json::Value = serde_json::from_slice(&bench.stdout).unwrap();
    let f = |k: &str| b[k].as_f64().unwrap_or(0.0);

    let mut md = String::new();
    let _ = writeln!(md, "## policy-cli: test and bench on the real .wasm\n");
    let _ = writeln!(
        md,
        "Command: `cargo bench -p policy-cli --bench cli` (release build; median of {RUNS} runs, after one warm-up run that fills the compiled-module cache).\n"
    );
    let _ = writeln!(md, "| run | median wall time | ratio to baseline |");
    let _ = writeln!(md, "|---|---:|---:|");
    let _ = writeln!(
        md,
        "| `policy-cli test -q` of 1 case (baseline: process, policy, module load) | {:.1} ms | 1.00 |",
        ms(base)
    );
    let _ = writeln!(
        md,
        "| `policy-cli test -q` of {CASES} generated cases | {:.1} ms | {:.2} |",
        ms(full),
        full.as_secs_f64() / base.as_secs_f64()
    );
    let _ = writeln!(
        md,
        "\nEach case costs about {per_case:.1} µs on top of the baseline. Budget for {CASES} cases: {} s, {}.\n",
        BUDGET.as_secs(),
        if full <= BUDGET { "met" } else { "NOT met" }
    );
    let _ = writeln!(
        md,
        "`policy-cli bench manifests/policy/reviews.policy.yaml -n 50000` (full request through the filter: headers, response, log, metrics):\n"
    );
    let _ = writeln!(md, "| path | requests/s | µs/request | ratio to baseline |");
    let _ = writeln!(md, "|---|---:|---:|---:|");
    let _ = writeln!(
        md,
        "| native engine `decide` (baseline) | {:.0} | {:.2} | 1.00 |",
        f("engine_requests_per_second"),
        f("engine_us_per_request")
    );
    let _ = writeln!(
        md,
        "| filter `.wasm` on the host | {:.0} | {:.2} | {:.1} |",
        f("wasm_requests_per_second"),
        f("wasm_us_per_request"),
        f("ratio")
    );
    let out = root.join("target/bench/50-cli.md");
    std::fs::write(&out, &md).unwrap();
    print!("{md}");
    println!("wrote {}", out.display());
}
