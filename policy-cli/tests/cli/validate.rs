//! `policy-cli validate`.

use std::path::Path;

use crate::Stream::Stderr;
use crate::{ISTIO, POLICY, arg, run, scratch_file, snap, validate_plain};

#[test]
fn the_articles_istio_yaml_and_policy_are_valid() {
    let r = run(&["validate", ISTIO, POLICY]);
    r.exits(0);
    snap!("validate-article", r.snapshot());
}

#[test]
fn a_virtual_service_without_its_destination_rule_warns_about_the_subset() {
    let vs = format!("{ISTIO}/reviews-route.virtualservice.yaml");
    let r = validate_plain(Path::new(&vs));
    r.exits(0);
    assert_eq!(
        r.stderr,
        format!(
            "{vs}:21:21: warning: spec.http[0].route[0].destination.subset: subset `v2` of host \
             `reviews.prod.svc.cluster.local` is not defined by any DestinationRule or `spec.subsets` entry\n"
        )
    );
    run(&[
        "validate",
        "--deny-warnings",
        "--error-format",
        "plain",
        &vs,
    ])
    .exits(1);
    // with the DestinationRule beside it, the short host name `reviews` defines v2
    let both = run(&[
        "validate",
        "--error-format",
        "plain",
        &vs,
        &format!("{ISTIO}/reviews-canary.yaml"),
    ]);
    // both VirtualServices name reviews.prod.svc.cluster.local: merged, and said
    both.exits(0).lacks(Stderr, "undefined").has(
        Stderr,
        "rules are merged in this order: `reviews-route`, `reviews`",
    );
}

#[test]
fn json_lists_every_diagnostic_on_stdout() {
    let r = run(&[
        "validate",
        "--error-format",
        "json",
        "testdata/bad/invalid-regex.yaml",
        "testdata/bad/missing-subset.yaml",
    ]);
    let report = r.exits(1).json();
    assert_eq!(report["errors"], 1);
    assert_eq!(report["warnings"], 1);
    let first = &report["diagnostics"][0];
    assert_eq!(first["file"], "testdata/bad/invalid-regex.yaml");
    assert_eq!(first["line"], 11);
    assert_eq!(first["column"], 28);
    assert_eq!(
        first["path"],
        "spec.virtualServices[0].http[0].match[0].uri.regex"
    );
    assert_eq!(first["code"], "invalid-regex");
    assert_eq!(
        first["snippet"],
        "            - uri: {regex: \"/items/([0-9]+\"}"
    );
    snap!("validate-json", r.stdout);
}

#[test]
fn every_error_of_a_file_is_reported_at_once() {
    let (_dir, path) = scratch_file(
        "two.yaml",
        "apiVersion: meshpolicy.dev/v1alpha2\nkind: TrafficPolicy\nmetadata: {name: t, namespace: prod}\nspec:\n  virtualServices:\n  - name: t\n    hosts: [a]\n    http:\n    - match: [{uri: {regex: \"(\"}}]\n      route: [{destination: {host: a}}]\n    - match: [{uri: {regex: \"[\"}}]\n      route: [{destination: {host: b}}]\n",
    );
    let r = validate_plain(&path);
    r.exits(1);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stderr);
    assert!(
        lines[0].contains(":9:")
            && lines[0].contains("spec.virtualServices[0].http[0].match[0].uri.regex")
    );
    assert!(
        lines[1].contains(":11:")
            && lines[1].contains("spec.virtualServices[0].http[1].match[0].uri.regex")
    );
}

/// Issue 16: the engine's typed warnings reach `validate` with their code,
/// pointed at the Istio file the user wrote.
#[test]
fn a_per_try_timeout_longer_than_the_timeout_is_a_warning() {
    let r = run(&[
        "validate",
        "--error-format",
        "json",
        "testdata/bad/per-try-timeout.yaml",
    ]);
    let report = r.exits(0).json();
    assert_eq!(report["warnings"], 1, "{}", r.stdout);
    let w = &report["diagnostics"][0];
    assert_eq!(w["code"], "per-try-timeout-exceeds-timeout");
    assert_eq!(w["path"], "spec.http[0].retries.perTryTimeout");
    assert_eq!(w["line"], 10);
    run(&[
        "validate",
        "--deny-warnings",
        "testdata/bad/per-try-timeout.yaml",
    ])
    .exits(1);
}

#[test]
fn json_codes_come_from_the_engines_kinds_not_the_messages_words() {
    // both were guessed from their words once: `invalid-regex` ("…URI or
    // UriRegexRewrite") and `wrong-type` ("maxValues must be at least 1")
    let policy = "\
apiVersion: meshpolicy.dev/v1alpha2
kind: TrafficPolicy
metadata: {name: t, namespace: prod}
spec:
  virtualServices:
    - name: vs
      hosts: [reviews]
      http:
        - rewrite: {uri: /a, uriRegexRewrite: {match: a, rewrite: /b}}
          route: [{destination: {host: reviews}}]
  telemetry:
    - overrides:
        - tagOverrides:
            x: {operation: UPSERT, value: request.host, maxValues: 0}
";
    let (_dir, file) = scratch_file("codes.yaml", policy);
    let report = run(&["validate", "--error-format", "json", arg(&file)])
        .exits(1)
        .json();
    let found: Vec<(&str, &str, &str, u64)> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap(),
                d["path"].as_str().unwrap(),
                d["message"].as_str().unwrap(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "invalid-policy",
                "spec.telemetry[0].overrides[0].tagOverrides.x.maxValues",
                "maxValues must be at least 1",
                14
            ),
            (
                "invalid-policy",
                "spec.virtualServices[0].http[0].rewrite",
                "rewrite may only contain one of URI or UriRegexRewrite",
                9
            ),
        ]
    );
}
