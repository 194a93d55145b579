use serde_json::{Value, json};

use super::*;
use crate::split_sim::{SplitInput, simulate};

const ARTICLE: &str = include_str!("../../manifests/policy/reviews.policy.yaml");

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// A TrafficPolicy of one virtual service `t` for `reviews` in `prod` with
/// these `http` rules (given at the list's indentation); the first rule is
/// on line 9.
fn policy_of_rules(rules: &str) -> String {
    let head = "\
apiVersion: meshpolicy.dev/v1alpha2
kind: TrafficPolicy
metadata: {name: t, namespace: prod}
spec:
  virtualServices:
  - name: t
    hosts: [reviews]
    http:
";
    format!("{head}{rules}")
}

/// JSON strings as `&str`.
fn strs<'a>(values: impl IntoIterator<Item = &'a Value>) -> Vec<&'a str> {
    values.into_iter().map(|s| s.as_str().unwrap()).collect()
}

/// The field path of each diagnostic of a playground answer.
fn diagnostic_paths(out: &Value) -> Vec<&str> {
    strs(
        out["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| &d["path"]),
    )
}

fn article_request() -> String {
    json!({ "method": "GET", "authority": "reviews:9080", "path": "/wpcatalog/books?id=1",
            "sourceNamespace": "prod" })
    .to_string()
}

/// Explains the article's request on `policy`, which must rewrite it and
/// route it to v2; the whole answer, for more checks.
fn explain_article_request(policy: &str) -> Value {
    let out = parse(&explain(policy, &article_request()));
    assert_eq!(out["ok"], true, "{out}");
    let d = &out["decision"];
    assert_eq!(d["path"], "/newcatalog/books?id=1");
    assert_eq!(d["destination"]["host"], "reviews.prod.svc.cluster.local");
    assert_eq!(d["destination"]["subset"], "v2");
    out
}

#[test]
fn the_article_request_is_rewritten_and_routed_to_v2() {
    let out = explain_article_request(ARTICLE);
    assert_eq!(out["decision"]["rule"]["name"], "legacy-catalog");
    assert_eq!(out["trace"]["rules"][0]["matched"], true);
    let count = &out["metrics"][0];
    assert_eq!(count["name"], "meshpolicy_requests_total");
    let labels = strs(count["labels"].as_array().unwrap());
    assert!(labels.contains(&"policy_rule"), "{labels:?}");
    assert!(!labels.contains(&"source_app"), "REMOVEd: {labels:?}");
}

#[test]
fn explain_gives_the_native_engines_decision_and_trace() {
    let doc: meshpolicy_engine::TrafficPolicy = {
        let file = meshpolicy_import::SourceFile::new("policy", ARTICLE);
        let docs = meshpolicy_import::parse_documents(&file).unwrap();
        meshpolicy_engine::from_value(docs[0].value.clone()).unwrap()
    };
    let policy = meshpolicy_engine::Policy::compile(&doc).unwrap();
    for (path, user) in [("/reviews/1", "7"), ("/consumercatalog", "8"), ("/x", "9")] {
        let headers = vec![
            (":authority".to_owned(), "reviews".to_owned()),
            (":path".to_owned(), path.to_owned()),
            (":method".to_owned(), "GET".to_owned()),
            (":scheme".to_owned(), "http".to_owned()),
            ("x-user-id".to_owned(), user.to_owned()),
        ];
        let source = meshpolicy_engine::SourceInfo {
            namespace: Some("prod".to_owned()),
            ..meshpolicy_engine::SourceInfo::default()
        };
        let req = meshpolicy_engine::Request {
            headers: &headers,
            source: &source,
            port: None,
            random: 0,
            virtual_host: None,
        };
        let (decision, trace) = policy.explain(&req);
        let input = json!({ "authority": "reviews", "path": path, "headers": [["X-User-Id", user]],
                    "sourceNamespace": "prod" });
        let out = parse(&explain(ARTICLE, &input.to_string()));
        assert_eq!(out["decision"], serde_json::to_value(&decision).unwrap());
        assert_eq!(out["trace"], serde_json::to_value(&trace).unwrap());
    }
}

#[test]
fn an_invalid_regex_is_reported_at_its_line_and_column() {
    let text = policy_of_rules(
        "    - name: bad
      match:
        - uri: {regex: \"/a[\"}
      route:
        - destination: {host: reviews}
",
    );
    let out = parse(&validate(&text));
    assert_eq!(out["ok"], false);
    let d = &out["diagnostics"][0];
    assert_eq!(
        d["path"], "spec.virtualServices[0].http[0].match[0].uri.regex",
        "{d}"
    );
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(11), Some(24))
    );
    assert!(d["message"].as_str().unwrap().contains("regex"), "{d}");
}

#[test]
fn a_yaml_syntax_error_has_its_line() {
    let out = parse(&validate("spec:\n  http: [\n"));
    let d = &out["diagnostics"][0];
    assert_eq!(d["code"], "yaml-syntax");
    assert!(d["line"].as_u64().is_some_and(|l| l >= 2), "{d}");
}

#[test]
fn every_problem_comes_at_once_with_its_place() {
    let text = "\
apiVersion: meshpolicy.dev/v1alpha2
kind: TrafficPolicy
spec:
  virtualServices:
  - name: t
    hosts: [a.example.com]
    http:
    - route: [{destination: {host: a.example.com}, weight: 0}, {destination: {host: b.example.com}, weight: 0}]
      bogus: 1
";
    let out = parse(&validate(text));
    let paths = diagnostic_paths(&out);
    assert!(
        paths.contains(&"spec.virtualServices[0].http[0].bogus"),
        "{paths:?}"
    );
    let bogus = out["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == "spec.virtualServices[0].http[0].bogus")
        .unwrap();
    assert_eq!(bogus["line"], 9);
}

/// The article's Istio YAML: the rewrite's VirtualService, then the
/// canary's DestinationRule and VirtualService (the same host: merged).
const ISTIO: &str = concat!(
    include_str!("../../../shared/examples/istio/reviews-route.virtualservice.yaml"),
    "---\n",
    include_str!("../../../shared/examples/istio/reviews-canary.yaml"),
);

#[test]
fn the_articles_istio_yaml_is_imported_and_decides() {
    let out = explain_article_request(ISTIO);
    // the imported policy is shown as `policy-cli import` writes it
    let imported = out["imported"].as_str().unwrap();
    assert!(imported.contains("kind: TrafficPolicy"), "{imported}");
    assert!(imported.contains("/newcatalog"), "{imported}");
    // the DestinationRule and the canary have no namespace (a note each),
    // and two VirtualServices for one host are merged (the engine's warning)
    let diags = out["diagnostics"].as_array().unwrap();
    let of = |code: &str| {
        diags
            .iter()
            .filter(|d| d["code"] == code)
            .collect::<Vec<_>>()
    };
    let inferred = of("inferred-namespace");
    assert!(!inferred.is_empty(), "{diags:?}");
    assert!(
        inferred.iter().all(|d| d["severity"] == "note"),
        "{inferred:?}"
    );
    let merged = of("merged-virtual-services");
    assert_eq!(merged.len(), 1, "{diags:?}");
    assert_eq!(merged[0]["severity"], "warning");
    assert!(merged[0]["line"].as_u64().is_some(), "{:?}", merged[0]);
    assert!(diags.iter().all(|d| d["severity"] != "error"), "{diags:?}");
}

#[test]
fn an_istio_error_is_placed_in_the_istio_document() {
    let text = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: prod}
spec:
  hosts: [reviews]
  http:
    - match:
        - uri:
            regex: \"/a[\"
      route:
        - destination: {host: reviews}
";
    let out = parse(&validate(text));
    assert_eq!(out["ok"], false, "{out}");
    let d = &out["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(9), Some(20)),
        "{d}"
    );
    assert_eq!(d["path"], "spec.http[0].match[0].uri.regex", "{d}");
    assert!(d["message"].as_str().unwrap().contains("regex"), "{d}");
    // a field meshpolicy does not carry over is an error at its key, as in the CLI
    let out = parse(&validate(
        &text.replace("  http:\n", "  gateways: [mesh, edge]\n  http:\n"),
    ));
    assert_eq!(out["ok"], false, "{out}");
    let d = &out["diagnostics"][0];
    assert_eq!(d["code"], "unsupported-field", "{d}");
    assert_eq!(d["path"], "spec.gateways[1]", "{d}");
    assert_eq!(d["line"], 6, "{d}");
    assert!(d["help"].as_str().unwrap().contains("mesh"), "{d}");
}

#[test]
fn a_lint_warning_keeps_the_policy_valid() {
    // a rule after a catch-all can never match (`policy-cli validate` warns)
    let text = policy_of_rules(
        "    - name: all
      route: [{destination: {host: reviews}}]
    - name: never
      match: [{uri: {prefix: /x}}]
      route: [{destination: {host: reviews}}]
",
    );
    let out = parse(&validate(&text));
    assert_eq!(out["ok"], true, "{out}");
    let d = &out["diagnostics"][0];
    assert_eq!(d["severity"], "warning", "{d}");
    assert_eq!(d["line"], 11, "{d}");
    assert!(out["imported"].is_null());
}

#[test]
fn other_kinds_and_empty_text_are_refused() {
    let out = parse(&validate("apiVersion: v1\nkind: ConfigMap\n"));
    assert_eq!(out["diagnostics"][0]["code"], "unknown-kind");
    assert_eq!(out["diagnostics"][0]["line"], 2);
    let out = parse(&validate("# nothing\n"));
    assert_eq!(out["diagnostics"][0]["code"], "no-policy");
}

#[test]
fn a_bad_request_names_its_field() {
    let out = parse(&explain(ARTICLE, r#"{"method": "G T", "path": "x"}"#));
    let paths = diagnostic_paths(&out);
    assert_eq!(paths, ["request.method", "request.path"]);
    let out = parse(&explain(ARTICLE, r#"{"path": "/", "colour": 1}"#));
    assert!(
        out["diagnostics"][0]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
}

fn canary(v1: u32, v2: u32) -> Vec<engine_api::SplitDestination> {
    ["v1", "v2"]
        .iter()
        .zip([v1, v2])
        .map(|(subset, weight)| engine_api::SplitDestination {
            host: "reviews.prod.svc.cluster.local".to_owned(),
            subset: Some((*subset).to_owned()),
            weight,
        })
        .collect()
}

#[test]
fn raising_the_canary_only_moves_keys_toward_it() {
    let report = simulate(&SplitInput {
        destinations: canary(90, 10),
        new_weights: Some(vec![75, 25]),
        keys: 10_000,
    })
    .unwrap();
    assert_eq!(report.left_raised, 0);
    assert!(report.moved > 1000, "{}", report.moved);
    assert!(
        report
            .moves
            .iter()
            .all(|m| m.from == "reviews.prod.svc.cluster.local/v1"
                && m.to == "reviews.prod.svc.cluster.local/v2"),
        "{:?}",
        report.moves
    );
    let before = &report.before;
    assert!((before[1].share - 0.10).abs() < 0.02, "{before:?}");
    let after = report.after.unwrap();
    assert!((after[1].share - 0.25).abs() < 0.02, "{after:?}");
    assert_eq!(after[0].keys + after[1].keys, 10_000);
}

#[test]
fn the_simulator_places_keys_as_the_policy_does() {
    // The article's canary: user 7's subset in the simulator is the one the
    // policy's own sticky split picks.
    let report = simulate(&SplitInput {
        destinations: canary(90, 10),
        new_weights: None,
        keys: 50,
    })
    .unwrap();
    let on_v2 = report.before[1].keys;
    let mut routed_v2 = 0;
    for user in 1..=50 {
        let input = json!({ "path": "/reviews/1", "authority": "reviews.prod.svc.cluster.local",
            "headers": [["x-user-id", user.to_string()]] });
        let out = parse(&explain(ARTICLE, &input.to_string()));
        if out["decision"]["destination"]["subset"] == "v2" {
            routed_v2 += 1;
        }
    }
    assert_eq!(on_v2, routed_v2);
}

#[test]
fn simulator_errors_name_their_field() {
    let out = parse(&simulate_split(
        &json!({ "destinations": [
            {"host": "a", "weight": 0}, {"host": "b", "weight": 0}], "keys": 0 })
        .to_string(),
    ));
    assert_eq!(out["diagnostics"][0]["path"], "keys");
    let out = parse(&simulate_split(
        &json!({ "destinations": [
            {"host": "a", "weight": 0}, {"host": "b", "weight": 0}], "keys": 5 })
        .to_string(),
    ));
    let path = out["diagnostics"][0]["path"].as_str().unwrap();
    assert!(path.starts_with("destinations"), "{path}");
}

#[test]
fn compiled_decides_like_explain() {
    let compiled = Compiled::new(ARTICLE).unwrap();
    let fast = parse(&compiled.decide(&article_request()));
    let slow = parse(&explain(ARTICLE, &article_request()));
    assert_eq!(fast, slow["decision"]);
    assert_eq!(compiled.decide_repeatedly(&article_request(), 3), 3);
    assert!(Compiled::new("kind: X\n").is_err());
    assert!(engine_version().contains("meshpolicy.dev/"));
}
