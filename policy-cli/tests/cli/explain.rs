//! `policy-cli explain`.

use assert_cmd::Command;

use crate::Stream::Stdout;
use crate::{ISTIO, POLICY, Run, cli, run, run_with, snap, with_wasm};

/// `explain POLICY --request REQUEST --authority AUTHORITY`, then `extra`.
fn explain(cmd: Command, policy: &str, request: &str, authority: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "explain",
        policy,
        "--request",
        request,
        "--authority",
        authority,
    ];
    args.extend_from_slice(extra);
    run_with(cmd, &args)
}

#[test]
fn explains_the_legacy_catalog_rewrite() {
    let r = explain(
        cli(),
        POLICY,
        "GET /wpcatalog/x?y=1",
        "reviews:9080",
        &["--source-namespace", "prod", "-H", "x-user-id: 7"],
    );
    r.exits(0);
    snap!("explain-legacy", r.snapshot());
}

#[test]
fn explains_a_miss_then_the_canary_split_as_json() {
    let v = explain(
        cli(),
        POLICY,
        "GET /reviews/1",
        "reviews.prod.svc.cluster.local:9080",
        &["-H", "x-user-id: 8", "--output", "json"],
    )
    .exits(0)
    .json();
    assert_eq!(
        v["decision"]["host"]["host"],
        "reviews.prod.svc.cluster.local"
    );
    assert_eq!(
        v["decision"]["host"]["virtual_services"][0],
        "reviews-route"
    );
    assert_eq!(v["decision"]["rule"]["name"], "reviews-canary");
    assert_eq!(v["decision"]["destination"]["subset"], "v2");
    assert_eq!(
        v["decision"]["destination"]["key"],
        "reviews.prod.svc.cluster.local/v2"
    );
    assert_eq!(v["trace"]["rules"][0]["matched"], false);
    assert_eq!(v["trace"]["rules"][1]["matched"], true);
    assert_eq!(
        v["decision"]["labels"]["policy_destination"],
        "reviews.prod.svc.cluster.local/v2"
    );
}

#[test]
fn explains_that_another_host_is_not_the_policys_and_lands_on_its_own_cluster() {
    let r = explain(
        with_wasm(),
        POLICY,
        "GET /wpcatalog/books?id=1",
        "ratings.prod.svc.cluster.local:9080",
        &["--wasm", "--output", "json"],
    );
    let v = r.exits(0).json();
    assert!(v["decision"]["host"].is_null(), "{}", r.stdout);
    assert!(v["decision"]["path"].is_null());
    assert!(
        v["trace"]["host"]
            .as_str()
            .unwrap()
            .contains("not covered by any virtual service"),
        "{}",
        r.stdout
    );
    assert_eq!(v["wasm"]["upstream_path"], "/wpcatalog/books?id=1");
    assert_eq!(v["wasm"]["cluster"], "PassthroughCluster");
}

#[test]
fn wasm_flag_shows_the_filter_agrees() {
    for request in [
        "GET /wpcatalog/x",
        "GET /reviews/1",
        "POST /consumercatalog?a=b",
    ] {
        let r = explain(
            with_wasm(),
            POLICY,
            request,
            "reviews:9080",
            &[
                "--source-namespace",
                "prod",
                "-H",
                "x-user-id: 9",
                "--wasm",
                "--output",
                "json",
            ],
        );
        let v = r.exits(0).json();
        assert_eq!(v["wasm"]["agrees"], true, "{request}: {}", r.stdout);
        // the router simulation lands it on the decided destination's cluster
        let dest = &v["decision"]["destination"];
        let cluster = format!(
            "outbound|9080|{}|{}",
            dest["subset"].as_str().unwrap_or(""),
            dest["host"].as_str().unwrap()
        );
        assert_eq!(
            v["wasm"]["cluster"],
            cluster.as_str(),
            "{request}: {}",
            r.stdout
        );
    }
    // Istio YAML explains as the policy it imports into
    explain(
        with_wasm(),
        ISTIO,
        "GET /wpcatalog",
        "reviews.prod.svc.cluster.local",
        &["--wasm"],
    )
    .exits(0)
    .has(Stdout, "same result as the engine");
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
    r.exits(2);
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
    r.exits(2);
    assert_eq!(r.stderr, "error: header `novalue` is not `name: value`\n");
}

const OPTIONS: &str = "testdata/routing/options.policy.yaml";

/// Issue 16: explain names what Envoy's router applies on the chosen
/// route, from the engine (the rule's options) and, with `--wasm`, from the
/// router simulation (the route it used).
#[test]
fn explain_names_the_timeout_retries_and_mirror_of_the_chosen_route() {
    let v = explain(
        with_wasm(),
        OPTIONS,
        "GET /products",
        "reviews:9080",
        &[
            "-H",
            "x-canary: 1",
            "--source-namespace",
            "prod",
            "--wasm",
            "--output",
            "json",
        ],
    )
    .exits(0)
    .json();
    assert_eq!(v["router"]["timeout"], "2s");
    assert_eq!(v["router"]["retries"]["attempts"], 3);
    assert_eq!(v["router"]["mirror"]["subset"], "v2");
    let key = v["decision"]["destination"]["key"].as_str().unwrap();
    assert_eq!(
        key,
        format!(
            "reviews.prod.svc.cluster.local/v1#{}",
            v["router"]["hash"].as_str().unwrap()
        )
    );
    let w = &v["wasm"];
    assert_eq!(
        w["cluster"],
        "outbound|9080|v1|reviews.prod.svc.cluster.local"
    );
    assert_eq!(w["route"], format!("decision {key}"));
    assert_eq!(w["timeout"], "2s");
    assert_eq!(w["retry_policy"]["num_retries"], 3);
    assert_eq!(w["retry_policy"]["per_try_timeout"], "500ms");
    assert_eq!(
        w["request_mirror_policies"][0]["cluster"],
        "outbound|9080|v2|reviews.prod.svc.cluster.local"
    );
    // and for people
    explain(
        cli(),
        OPTIONS,
        "GET /reports/2024",
        "reviews:9080",
        &["--source-namespace", "prod"],
    )
    .exits(0)
    .has(
        Stdout,
        "router applies   timeout 10s; retries 1, perTryTimeout 10s (key suffix #",
    );
}
