//! `policy-cli diff --requests`: 100,000 recorded requests replayed through
//! two policies (the article's canary at 90/10 and at 80/20), end to end
//! (process start, both policies loaded, the request classes and sticky
//! keys compared, every line parsed and decided twice), against the same
//! command replaying 1 line as the baseline. Goal (issue 14): 100,000
//! requests in under 5 s. Writes `target/bench/55-diff.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "common/wall.rs"]
mod wall;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use test_kit::root;
use wall::{RUNS, median_wall, policy_cli, succeeded};

const LINES: usize = 100_000;
const GOAL: Duration = Duration::from_secs(5);

/// An access log of `n` lines, half in Istio's JSON access-log shape, half
/// in the minimal format with a sticky key.
fn log(path: &Path, n: usize) {
    let paths = [
        "/wpcatalog/books?id=1",
        "/consumercatalog",
        "/reviews/1",
        "/",
    ];
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        let p = paths[i % paths.len()];
        if i % 2 == 0 {
            writeln!(
                out,
                r#"{{"start_time":"2026-11-30T05:00:00.000Z","method":"GET","path":"{p}","protocol":"HTTP/1.1","response_code":200,"authority":"reviews:9080","user_agent":"curl/8","downstream_local_address":"10.0.0.7:9080"}}"#
            )
            .unwrap();
        } else {
            writeln!(
                out,
                r#"{{"method":"GET","path":"{p}","authority":"reviews:9080","headers":{{"x-user-id":"{}"}}}}"#,
                i % 5_000
            )
            .unwrap();
        }
    }
}

fn time_replay(old: &Path, new: &Path, requests: &Path) -> Duration {
    median_wall(
        policy_cli()
            .arg("diff")
            .args([old, new])
            .arg("--requests")
            .arg(requests)
            .args(["--source-namespace", "prod"])
            .args(["--output", "json"]),
        |out| succeeded("policy-cli diff --requests", out),
    )
}

fn main() {
    let root = root();
    let dir = root.join("target/bench/diff");
    std::fs::create_dir_all(&dir).unwrap();
    let old = root.join("manifests/policy/reviews.policy.yaml");
    let new = dir.join("canary-20.yaml");
    let text = std::fs::read_to_string(&old).unwrap();
    let step = text
        .replace("weight: 90}", "weight: 80}")
        .replace("subset: v2}, weight: 10}", "subset: v2}, weight: 20}");
    assert_ne!(text, step, "the article's canary weights moved");
    std::fs::write(&new, step).unwrap();
    let (big, one) = (dir.join("access-100k.log"), dir.join("access-1.log"));
    log(&big, LINES);
    log(&one, 1);

    let base = time_replay(&old, &new, &one);
    let full = time_replay(&old, &new, &big);
    let per = full.saturating_sub(base).as_secs_f64() / LINES as f64;
    let met = if full < GOAL { "met" } else { "missed" };
    let mut md = String::new();
    let _ = writeln!(md, "## policy-cli diff: replay of recorded requests\n");
    let _ = writeln!(
        md,
        "`cargo bench -p policy-cli --bench diff`: `policy-cli diff` of the article's policy \
         against its canary at 80/20, end to end (median of {RUNS} runs), replaying a \
         generated access log; the baseline replays 1 line (process start, both policies, \
         request classes, 10,000 sticky keys).\n"
    );
    let _ = writeln!(md, "| run | median wall time | ratio to baseline | goal |");
    let _ = writeln!(md, "|---|---:|---:|---|");
    let _ = writeln!(
        md,
        "| replay 1 line (baseline) | {:.3} s | 1.00x | |",
        base.as_secs_f64()
    );
    let _ = writeln!(
        md,
        "| replay {LINES} lines | {:.3} s | {:.2}x | < 5 s: {met} |",
        full.as_secs_f64(),
        full.as_secs_f64() / base.as_secs_f64()
    );
    let _ = writeln!(md, "\nPer replayed line (both sides): {:.2} µs.", per * 1e6);
    std::fs::write(root.join("target/bench/55-diff.md"), &md).unwrap();
    print!("{md}");
}
