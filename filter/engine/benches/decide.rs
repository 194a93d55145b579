//! `decide` speed: the article's policy, and 10 to 5,000 (`MAX_RULES`) prefix rules where
//! the matching rule is the last one (the index must keep that near-flat).
//! Writes target/bench/20-engine.md (the benchmark contract, see Makefile).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use meshpolicy_engine::{Policy, Request, SourceInfo};
use serde_json::json;

const GROUP: &str = "engine-decide";
const COMMAND: &str = "cargo bench -p meshpolicy-engine --bench decide";
const RULE_COUNTS: [usize; 4] = [10, 100, 1_000, meshpolicy_engine::limits::MAX_RULES];
const HOST_COUNTS: [usize; 3] = [1, 100, 1_000];

use test_kit::target_dir as workspace_target;

fn headers(path: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut h = vec![
        (":method".to_owned(), "GET".to_owned()),
        (":scheme".to_owned(), "http".to_owned()),
        (":authority".to_owned(), "reviews:9080".to_owned()),
        (":path".to_owned(), path.to_owned()),
        ("user-agent".to_owned(), "bench".to_owned()),
        ("accept".to_owned(), "*/*".to_owned()),
    ];
    h.extend(
        extra
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    h
}

/// The article's policy (`manifests/policy/reviews.policy.yaml`).
fn article() -> Policy {
    Policy::from_value(test_kit::article_policy()).unwrap()
}

/// `n` prefix rules `/svc{i}/`, each routing to its own subset.
fn prefix_rules(n: usize) -> Policy {
    let http: Vec<_> = (0..n)
        .map(|i| {
            // no `name`: MAX_RULES of them fit MAX_POLICY_BYTES
            json!({
                "match": [{"uri": {"prefix": format!("/svc{i}/")}}],
                "route": [{"destination": {"host": "svc", "subset": format!("v{i}")}}]
            })
        })
        .collect();
    Policy::from_value(json!({"metadata": {"namespace": "prod"},
        "spec": {"virtualServices": [{"name": "svc", "hosts": ["*"], "http": http}]}}))
    .unwrap()
}

/// `n` virtual services, each for its own host `svc{i}` with two rules.
fn hosts(n: usize) -> Policy {
    let services: Vec<_> = (0..n)
        .map(|i| {
            json!({
                "name": format!("svc{i}"),
                "hosts": [format!("svc{i}")],
                "http": [
                    {"match": [{"uri": {"prefix": "/admin"}}], "directResponse": {"status": 403}},
                    {"route": [{"destination": {"host": format!("svc{i}"), "subset": "v1"}}]}
                ]
            })
        })
        .collect();
    Policy::from_value(json!({"metadata": {"namespace": "prod"},
        "spec": {"virtualServices": services}}))
    .unwrap()
}

struct Case {
    id: String,
    label: String,
}

/// A request of the bench's client with `headers`.
fn request<'a>(headers: &'a [(String, String)], source: &'a SourceInfo) -> Request<'a> {
    Request {
        headers,
        source,
        port: Some(9080),
        random: 7,
        virtual_host: None,
    }
}

/// Benchmarks `decide` of `req` on `p` as `id`, and lists it in the report
/// as `label`.
fn bench_decide(
    group: &mut BenchmarkGroup<'_, WallTime>,
    cases: &mut Vec<Case>,
    p: &Policy,
    req: &Request<'_>,
    id: String,
    label: String,
) {
    group.bench_function(&id, |b| b.iter(|| black_box(p).decide(black_box(req))));
    cases.push(Case { id, label });
}

fn main() {
    let mut c = Criterion::default()
        .output_directory(&workspace_target().join("criterion"))
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
        .configure_from_args();
    let source = SourceInfo {
        namespace: Some("prod".into()),
        ..SourceInfo::default()
    };
    let mut cases = Vec::new();
    let mut group = c.benchmark_group(GROUP);

    let p = article();
    let rewrite = headers("/wpcatalog/books?id=1", &[]);
    let sticky = headers("/reviews/1", &[("x-user-id", "user-42")]);
    for (id, label, h) in [
        (
            "article-rewrite",
            "article policy: `/wpcatalog/books?id=1` (prefix rewrite to v2)",
            &rewrite,
        ),
        (
            "article-sticky",
            "article policy: `/reviews/1` with `x-user-id` (sticky 90/10 split)",
            &sticky,
        ),
    ] {
        let req = request(h, &source);
        assert!(p.decide(&req).destination.is_some(), "{id} must route");
        bench_decide(
            &mut group,
            &mut cases,
            &p,
            &req,
            id.to_owned(),
            label.to_owned(),
        );
    }

    for n in RULE_COUNTS {
        let p = prefix_rules(n);
        let h = headers(&format!("/svc{}/items?page=2", n - 1), &[]);
        let req = request(&h, &source);
        let d = p.decide(&req);
        assert_eq!(
            d.rule.as_ref().map(|r| r.index),
            Some(n - 1),
            "the last rule must match"
        );
        bench_decide(
            &mut group,
            &mut cases,
            &p,
            &req,
            format!("prefix-rules-{n}"),
            format!("{n} prefix rules, the last one matches"),
        );
    }
    for n in HOST_COUNTS {
        let p = hosts(n);
        let mut h = headers("/items?page=2", &[]);
        h[2].1 = format!("svc{}.prod:9080", n - 1);
        let req = request(&h, &source);
        let d = p.decide(&req);
        assert_eq!(
            d.destination.as_ref().map(|d| d.host.to_string()),
            Some(format!("svc{}.prod.svc.cluster.local", n - 1)),
            "the last host must be selected"
        );
        bench_decide(
            &mut group,
            &mut cases,
            &p,
            &req,
            format!("hosts-{n}"),
            format!(
                "{n} hosts (a virtual service each), the last host requested by `name.namespace`"
            ),
        );
    }
    group.finish();
    c.final_summary();
    write_report(&cases);
}

/// Mean time in ns from criterion's estimates of one benchmark.
fn mean_ns(id: &str) -> f64 {
    let path = workspace_target()
        .join("criterion")
        .join(GROUP)
        .join(id)
        .join("new/estimates.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["mean"]["point_estimate"].as_f64().unwrap()
}

fn write_report(cases: &[Case]) {
    // `cargo bench -- <filter>` may skip some; report only complete runs.
    let Some(base) = cases
        .iter()
        .find(|c| c.id == "prefix-rules-10")
        .map(|c| mean_ns(&c.id))
    else {
        return;
    };
    let mut md = String::new();
    writeln!(md, "## Engine: `decide` per request\n").unwrap();
    writeln!(
        md,
        "Command: `{COMMAND}` (criterion, mean of 50 samples; native, release).\n"
    )
    .unwrap();
    writeln!(
        md,
        "Baseline: 10 prefix rules with the last one matching, measured in the same run.\n"
    )
    .unwrap();
    writeln!(md, "| case | mean | ratio to 10 rules |").unwrap();
    writeln!(md, "|---|---:|---:|").unwrap();
    let mut worst = 0.0f64;
    let host_base = cases
        .iter()
        .find(|c| c.id == "hosts-1")
        .map(|c| mean_ns(&c.id));
    let mut worst_hosts = 0.0f64;
    for case in cases {
        let ns = mean_ns(&case.id);
        let ratio = ns / base;
        if case.id.starts_with("prefix-rules-") {
            worst = worst.max(ratio);
        }
        if let (true, Some(hb)) = (case.id.starts_with("hosts-"), host_base) {
            worst_hosts = worst_hosts.max(ns / hb);
            writeln!(
                md,
                "| {} | {:.0} ns | {ratio:.2}x ({:.2}x 1 host) |",
                case.label,
                ns,
                ns / hb
            )
            .unwrap();
            continue;
        }
        writeln!(md, "| {} | {:.0} ns | {ratio:.2}x |", case.label, ns).unwrap();
    }
    let verdict = if worst <= 3.0 { "met" } else { "NOT met" };
    writeln!(
        md,
        "\nGoal: 5,000 rules (MAX_RULES) cost at most 3x what 10 rules cost: {verdict} (worst ratio {worst:.2}x). \
         Exact and prefix `uri` matches are looked up in byte tries, so the cost follows the path length, not the rule count.\n"
    )
    .unwrap();
    let verdict = if worst_hosts <= 3.0 { "met" } else { "NOT met" };
    writeln!(
        md,
        "Goal: 1,000 hosts cost at most 3x what 1 host costs: {verdict} (worst ratio {worst_hosts:.2}x). \
         Exact host names are looked up in a hash map (wildcards by suffix), so the cost does not follow the host count.\n"
    )
    .unwrap();
    let dir = workspace_target().join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("20-engine.md"), md).unwrap();
}
