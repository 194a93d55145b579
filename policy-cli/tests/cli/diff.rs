//! `policy-cli diff`: request classes, sticky moves, replay, `--git`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use meshpolicy_engine::{Policy, Request, SourceInfo};
use policy_cli::diagnostic::ErrorFormat;
use serde_json::Value;

use crate::Stream::{Stderr, Stdout};
use crate::{POLICY, arg, crate_dir, run, snap};

fn article() -> String {
    std::fs::read_to_string(crate_dir().join(POLICY)).unwrap()
}

/// The article's policy with `from` replaced by `to` (which must occur).
fn variant(dir: &Path, name: &str, from: &str, to: &str) -> PathBuf {
    let text = article();
    assert!(text.contains(from), "the article's policy has no {from:?}");
    let path = dir.join(name);
    std::fs::write(&path, text.replace(from, to)).unwrap();
    path
}

fn json(args: &[&str]) -> (i32, Value) {
    let out = run(args);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    (out.code, serde_json::from_str(&out.stdout).unwrap())
}

const CANARY_10: &str =
    "weight: 90}\n            - {destination: {host: reviews, subset: v2}, weight: 10}";
const CANARY_20: &str =
    "weight: 80}\n            - {destination: {host: reviews, subset: v2}, weight: 20}";

#[test]
fn the_same_policy_changes_nothing() {
    let out = run(&["diff", POLICY, POLICY, "--fail-on-change"]);
    out.exits(0).has(Stdout, "none changes its decision");
    out.has(Stdout, "no key moves");
}

#[test]
fn moving_a_rule_before_another_reports_the_shadowed_requests() {
    let dir = tempfile::tempdir().unwrap();
    // Old: /wpcatalog/v1 first (to v1), then the article's legacy rule.
    let specific = "        - name: wp-v1\n          match: [{uri: {prefix: /wpcatalog/v1}}]\n          route: [{destination: {host: reviews, subset: v1}}]\n";
    let text = article();
    let at = text.find("        - name: legacy-catalog").unwrap();
    let end = text.find("        - name: reviews-canary").unwrap();
    let (head, legacy, tail) = (&text[..at], &text[at..end], &text[end..]);
    let old = dir.path().join("old.yaml");
    std::fs::write(&old, format!("{head}{specific}{legacy}{tail}")).unwrap();
    let new = dir.path().join("new.yaml");
    std::fs::write(&new, format!("{head}{legacy}{specific}{tail}")).unwrap();

    let (code, report) = json(&["diff", arg(&old), arg(&new), "--output", "json"]);
    assert_eq!(code, 0);
    let changes = report["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{report:#}");
    let change = &changes[0];
    assert_eq!(change["before"][0]["rule"], "reviews-route/wp-v1");
    assert_eq!(
        change["before"][0]["destination"],
        "reviews.prod.svc.cluster.local/v1"
    );
    assert_eq!(change["after"][0]["rule"], "reviews-route/legacy-catalog");
    assert_eq!(
        change["after"][0]["destination"],
        "reviews.prod.svc.cluster.local/v2"
    );
    let paths: Vec<&str> = change["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"/wpcatalog/v1"), "{paths:?}");
    // The shadowed rule's neighbours that it never matched do not change.
    assert!(!paths.contains(&"/wpcatalog/v"), "{paths:?}");
    assert!(
        paths.iter().all(|p| p.starts_with("/wpcatalog/v1")),
        "{paths:?}"
    );

    let failing = run(&["diff", arg(&old), arg(&new), "--fail-on-change"]);
    failing.exits(1);
}

#[test]
fn raising_a_canary_weight_moves_keys_only_toward_it() {
    let dir = tempfile::tempdir().unwrap();
    let new = variant(dir.path(), "new.yaml", CANARY_10, CANARY_20);
    let (code, report) = json(&["diff", POLICY, arg(&new), "--output", "json"]);
    assert_eq!(code, 0);
    let sticky = &report["sticky"][0];
    assert_eq!(sticky["rule"], "reviews-route/reviews-canary");
    assert_eq!(sticky["keys"], 10_000);
    let moved = sticky["moved"].as_u64().unwrap();
    // 10% of the keys should move: rendezvous hashing moves 1/9 of v1's 90%.
    assert!((900..=1_100).contains(&moved), "moved {moved}");
    assert_eq!(sticky["movedBack"], 0);
    let moves = sticky["moves"].as_array().unwrap();
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert_eq!(moves[0]["from"], "reviews.prod.svc.cluster.local/v1");
    assert_eq!(moves[0]["to"], "reviews.prod.svc.cluster.local/v2");
    // Without a key the split is random: the class shows the new shares.
    let change = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["before"].as_array().unwrap().len() == 2)
        .expect("the keyless canary request changes its shares");
    assert_eq!(change["before"][0]["share"], 0.9);
    assert_eq!(change["after"][0]["share"], 0.8);
    assert_eq!(change["after"][1]["share"], 0.2);

    let human = run(&["diff", POLICY, arg(&new)]);
    snap!("diff_canary_step", human.stdout.replace(arg(&new), "NEW"));
    let markdown = run(&["diff", POLICY, arg(&new), "--output", "markdown"]);
    snap!(
        "diff_canary_step_markdown",
        markdown.stdout.replace(arg(&new), "NEW")
    );
}

#[test]
fn lowering_a_canary_weight_is_caught_moving_keys_back() {
    let dir = tempfile::tempdir().unwrap();
    let old = variant(dir.path(), "old.yaml", CANARY_10, CANARY_20);
    // Swap which subset gets the larger weight: v2 rises, and keys leave it.
    let new = variant(
        dir.path(),
        "new.yaml",
        CANARY_10,
        "weight: 10}\n            - {destination: {host: reviews, subset: v2}, weight: 90}",
    );
    let (_, report) = json(&["diff", arg(&old), arg(&new), "--output", "json"]);
    let sticky = &report["sticky"][0];
    assert!(sticky["moved"].as_u64().unwrap() > 0);
    // v2 rose from 20% to 90%: no key may leave it.
    assert_eq!(sticky["movedBack"], 0, "{sticky:#}");
    // The reverse step (v2 falls, v1 rises) is fine too; a reshuffle is not:
    // rename a subset's seed by changing the host spelling and keys scatter.
    let scattered = variant(
        dir.path(),
        "scattered.yaml",
        "{destination: {host: reviews, subset: v2}, weight: 10}",
        "{destination: {host: reviews, subset: v3}, weight: 10}",
    );
    let (_, report) = json(&["diff", POLICY, arg(&scattered), "--output", "json"]);
    let sticky = &report["sticky"][0];
    assert_eq!(
        sticky["moves"][0]["to"],
        "reviews.prod.svc.cluster.local/v3"
    );
    assert_eq!(sticky["movedBack"], 0);
}

#[test]
fn diff_against_a_git_revision() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.yaml");
    std::fs::write(&file, article()).unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir.path())
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", "policy.yaml"]);
    git(&["commit", "-q", "-m", "article"]);
    std::fs::write(&file, article().replace(CANARY_10, CANARY_20)).unwrap();
    let (code, report) = json(&["diff", "--git", "HEAD", arg(&file), "--output", "json"]);
    assert_eq!(code, 0);
    assert!(
        report["old"]
            .as_str()
            .unwrap()
            .ends_with("policy.yaml@HEAD")
    );
    assert!(report["sticky"][0]["moved"].as_u64().unwrap() > 0);

    let missing = run(&["diff", "--git", "no-such-rev", arg(&file)]);
    missing.exits(2).has(Stderr, "no-such-rev");
}

#[test]
fn diff_needs_two_files_or_a_revision() {
    let out = run(&["diff", POLICY]);
    out.exits(2).has(Stderr, "OLD NEW");
}

/// One generated access-log line: (method, authority, path, headers).
type Line = (
    &'static str,
    &'static str,
    String,
    Vec<(&'static str, String)>,
);

fn generated_log(n: usize) -> Vec<Line> {
    let paths = [
        "/wpcatalog/books?id=1",
        "/consumercatalog",
        "/reviews/1",
        "/",
    ];
    let authorities = [
        "reviews:9080",
        "reviews.prod.svc.cluster.local:9080",
        "ratings:9080",
    ];
    (0..n)
        .map(|i| {
            let path = paths[i % paths.len()].to_owned();
            let authority = authorities[(i / 4) % authorities.len()];
            let mut headers = vec![("user-agent", "curl/8".to_owned())];
            if i % 3 != 0 {
                headers.push(("x-user-id", format!("{}", i % 5_000)));
            }
            ("GET", authority, path, headers)
        })
        .collect()
}

#[test]
fn a_replayed_access_log_counts_what_the_engine_decides_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let new = variant(dir.path(), "new.yaml", CANARY_10, CANARY_20);
    let log = dir.path().join("access.log");
    let lines = generated_log(100_000);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
    for (i, (method, authority, path, headers)) in lines.iter().enumerate() {
        let line = if i % 2 == 0 {
            // Istio's JSON access log: user_agent is its own field; the sticky
            // key is not logged by default, so these lines carry none.
            serde_json::json!({
                "start_time": "2026-11-30T05:00:00.000Z", "method": method, "path": path,
                "protocol": "HTTP/1.1", "response_code": 200, "authority": authority,
                "user_agent": "curl/8", "upstream_cluster": "outbound|9080||reviews.prod.svc.cluster.local",
                "downstream_local_address": "10.0.0.7:9080"
            })
        } else {
            let headers: BTreeMap<&str, &str> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            serde_json::json!({"method": method, "path": path, "authority": authority, "headers": headers})
        };
        writeln!(file, "{line}").unwrap();
    }
    writeln!(file, "not json").unwrap();
    file.flush().unwrap();
    drop(file);

    let (_, report) = json(&[
        "diff",
        POLICY,
        arg(&new),
        "--requests",
        arg(&log),
        "--source-namespace",
        "prod",
        "--output",
        "json",
    ]);
    let replay = &report["replay"];
    assert_eq!(replay["lines"], 100_001);
    assert_eq!(replay["replayed"], 100_000);
    assert_eq!(replay["skipped"], 1);

    // The oracle: each line decided by the engine directly.
    let compile = |path: &Path| {
        let loaded = policy_cli::input::load_policy(path, ErrorFormat::Human).unwrap();
        Policy::from_json(&loaded.json).unwrap()
    };
    let (old_p, new_p) = (compile(&crate_dir().join(POLICY)), compile(&new));
    // The recording proxy runs in `prod`: `reviews:9080` is its short name.
    let source = SourceInfo {
        namespace: Some("prod".to_owned()),
        ..SourceInfo::default()
    };
    let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut unchanged = 0;
    for (i, (method, authority, path, headers)) in lines.iter().enumerate() {
        let mut wire = vec![
            (":authority".to_owned(), authority.to_string()),
            (":path".to_owned(), path.clone()),
            (":method".to_owned(), method.to_string()),
            (":scheme".to_owned(), "http".to_owned()),
        ];
        let carried = if i % 2 == 0 {
            &headers[..1]
        } else {
            &headers[..]
        };
        wire.extend(carried.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let request = Request {
            headers: &wire,
            source: &source,
            port: Some(9080),
            random: policy_cli::diff::random_of(i + 1),
            virtual_host: None,
        };
        let (a, b) = (old_p.decide(&request), new_p.decide(&request));
        let key = |d: &meshpolicy_engine::Decision| {
            d.destination
                .as_ref()
                .map(|d| d.key.to_string())
                .unwrap_or_else(|| "untouched (no virtual service)".to_owned())
        };
        if a == b {
            unchanged += 1;
        } else {
            *expected.entry((key(&a), key(&b))).or_default() += 1;
        }
    }
    let got: BTreeMap<(String, String), u64> = replay["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                (
                    c["before"].as_str().unwrap().to_owned(),
                    c["after"].as_str().unwrap().to_owned(),
                ),
                c["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    assert_eq!(replay["unchanged"], unchanged);
    assert!(
        !expected.is_empty(),
        "the canary step changes some requests"
    );
}
