//! `policy-cli explain`.

use crate::{ISTIO, POLICY, cli, run, run_with, snap, wasm};

#[test]
fn explains_the_legacy_catalog_rewrite() {
    let r = run(&[
        "explain",
        POLICY,
        "--request",
        "GET /wpcatalog/x?y=1",
        "-H",
        "x-user-id: 7",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    snap!("explain-legacy", r.snapshot());
}

#[test]
fn explains_a_miss_then_the_canary_split_as_json() {
    let r = run(&[
        "explain",
        POLICY,
        "--request",
        "GET /reviews/1",
        "-H",
        "x-user-id: 4",
        "--output",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["decision"]["rule"]["name"], "reviews-canary");
    assert_eq!(v["decision"]["destination"]["subset"], "v2");
    assert_eq!(v["trace"]["rules"][0]["matched"], false);
    assert_eq!(v["trace"]["rules"][1]["matched"], true);
    assert_eq!(v["decision"]["labels"]["policy_destination"], "reviews/v2");
}

#[test]
fn wasm_flag_shows_the_filter_agrees() {
    let mut cmd = cli();
    cmd.env("MESHPOLICY_WASM", wasm());
    for request in [
        "GET /wpcatalog/x",
        "GET /reviews/1",
        "POST /consumercatalog?a=b",
    ] {
        let r = run_with(
            {
                let mut c = cli();
                c.env("MESHPOLICY_WASM", wasm());
                c
            },
            &[
                "explain",
                POLICY,
                "--request",
                request,
                "-H",
                "x-user-id: 9",
                "--wasm",
                "--output",
                "json",
            ],
        );
        assert_eq!(r.code, 0, "{request}: {}", r.stdout);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["wasm"]["agrees"], true, "{request}: {}", r.stdout);
    }
    // Istio YAML explains as the policy it imports into
    let r = run_with(
        cmd,
        &["explain", ISTIO, "--request", "GET /wpcatalog", "--wasm"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("same result as the engine"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_bad_request_line_is_a_usage_error() {
    let r = run(&[
        "explain",
        "--error-format",
        "plain",
        POLICY,
        "--request",
        "GET wpcatalog",
    ]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr, "error: path `wpcatalog` must start with `/`\n");
    let r = run(&[
        "explain",
        "--error-format",
        "plain",
        POLICY,
        "--request",
        "/",
        "-H",
        "novalue",
    ]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr, "error: header `novalue` is not `name: value`\n");
}
