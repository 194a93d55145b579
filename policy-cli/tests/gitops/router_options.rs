//! Issue 16: a real VirtualService and DestinationRule import whole. The
//! router-enforced fields ride along onto the routes that serve their rule,
//! `tcp`/`tls`/`exportTo` and the DestinationRule's traffic policies onto
//! the rendered resources, which validate against Istio's CRD schemas; and
//! the router simulation applies each rule's own timeout.

use std::path::Path;

use serde_json::{Value, json};

use crate::tree;
use tree::{filter_wasm, policy_cli, root};

const INPUT: &str = "policy-cli/testdata/import/router-options.yaml";
const SHA: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What `policy-cli args…` prints; it must succeed.
fn stdout(args: &[&str]) -> String {
    tree::stdout(&policy_cli().args(args).assert().success())
}

/// Import, then render the imported policy: the rendered documents.
fn imported_and_rendered(dir: &Path) -> (String, Vec<Value>) {
    let policy = dir.join("policy.yaml");
    let policy = policy.to_str().unwrap();
    stdout(&["import", INPUT, "-o", policy]);
    let text = stdout(&[
        "render",
        policy,
        "--image",
        "oci://ghcr.io/meshpolicy/meshpolicy-filter:0.1.0",
        "--sha256",
        SHA,
    ]);
    let docs = serde_saphyr::from_multiple(&text).unwrap();
    (text, docs)
}

fn schema(kind: &str) -> jsonschema::Validator {
    let path = root().join(format!(
        "../shared/schemas/json/networking.istio.io/{kind}_v1.json"
    ));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: the CRD schemas live next to the project, in shared/schemas/json",
            path.display()
        )
    });
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn route<'a>(vs: &'a Value, name_prefix: &str, nth: usize) -> &'a Value {
    vs["spec"]["http"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"].as_str().unwrap_or("").starts_with(name_prefix))
        .nth(nth)
        .unwrap_or_else(|| panic!("no route {name_prefix}[{nth}] in {vs:#}"))
}

#[test]
fn a_real_virtual_service_and_destination_rule_import_and_render_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (text, docs) = imported_and_rendered(dir.path());
    // golden: the VirtualService and DestinationRule as rendered
    let resources = text
        .split("\n---\n")
        .filter(|d| !d.contains("kind: WasmPlugin"))
        .collect::<Vec<_>>()
        .join("\n---\n");
    insta::with_settings!({snapshot_path => "../../testdata/snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("render-router-options", resources);
    });

    let vs: Vec<&Value> = docs
        .iter()
        .filter(|d| d["kind"] == "VirtualService")
        .collect();
    let dr: Vec<&Value> = docs
        .iter()
        .filter(|d| d["kind"] == "DestinationRule")
        .collect();
    assert_eq!((vs.len(), dr.len()), (1, 1));
    let (vs, dr) = (vs[0], dr[0]);
    for (doc, validator) in [
        (vs, schema("virtualservice")),
        (dr, schema("destinationrule")),
    ] {
        let errors: Vec<String> = validator
            .iter_errors(doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}:\n{}", doc["kind"], errors.join("\n"));
    }

    // the decision-key routes: one per (destination, options), each with its rule's options
    let canary_key = route(vs, "decision reviews.prod.svc.cluster.local/v2#", 0);
    assert_eq!(canary_key["timeout"], "2s");
    assert_eq!(
        canary_key["retries"],
        json!({"attempts": 3, "perTryTimeout": "500ms", "retryOn": "5xx,reset,503",
            "retryRemoteLocalities": true, "retryIgnorePreviousHosts": true, "backoff": "25ms"})
    );
    assert_eq!(
        canary_key["mirror"],
        json!({"host": "reviews.prod.svc.cluster.local", "subset": "v2", "port": {"number": 9080}})
    );
    assert_eq!(canary_key["mirrorPercentage"], json!({"value": 25.0}));
    assert_eq!(canary_key["corsPolicy"]["unmatchedPreflights"], "IGNORE");
    assert_eq!(
        canary_key["corsPolicy"]["allowOrigins"][1]["regex"],
        "https://.*\\.shop\\.example"
    );
    assert!(canary_key.get("fault").is_none());
    let shadow_key = route(vs, "decision reviews.prod.svc.cluster.local/v1#", 0);
    assert_eq!(
        shadow_key["mirrors"],
        json!([{"destination": {"host": "ratings.prod.svc.cluster.local"}, "percentage": {"value": 10.0}},
               {"destination": {"host": "reviews.prod.svc.cluster.local", "subset": "v1"}}])
    );
    assert_eq!(
        shadow_key["fault"],
        json!({"delay": {"fixedDelay": "100ms", "percentage": {"value": 1.5}}})
    );
    assert!(shadow_key.get("timeout").is_none());
    let default_key = route(vs, "decision reviews.prod.svc.cluster.local/v1#", 1);
    assert_eq!(default_key["timeout"], "5s");
    assert!(default_key.get("mirrors").is_none());
    // the native rules keep theirs too
    assert_eq!(route(vs, "canary", 0)["timeout"], "2s");
    assert_eq!(
        route(vs, "shadowed", 0)["fault"]["delay"]["fixedDelay"],
        "100ms"
    );
    assert_eq!(route(vs, "default", 0)["timeout"], "5s");
    // non-HTTP sections and exportTo, verbatim
    assert_eq!(vs["spec"]["tcp"][0]["match"], json!([{"port": 9000}]));
    assert_eq!(
        vs["spec"]["tls"][0]["match"][0]["sniHosts"],
        json!(["reviews.prod.svc.cluster.local"])
    );
    assert_eq!(vs["spec"]["exportTo"], json!(["."]));
    // the DestinationRule's traffic policies, top level and per subset
    assert_eq!(
        dr["spec"]["trafficPolicy"]["tls"],
        json!({"mode": "ISTIO_MUTUAL"})
    );
    assert_eq!(
        dr["spec"]["trafficPolicy"]["connectionPool"]["tcp"]["maxConnections"],
        100
    );
    assert_eq!(dr["spec"]["exportTo"], json!(["."]));
    let subsets = dr["spec"]["subsets"].as_array().unwrap();
    assert_eq!(subsets[0]["name"], "v1");
    assert!(subsets[0].get("trafficPolicy").is_none());
    assert_eq!(
        subsets[1]["trafficPolicy"],
        json!({"loadBalancer": {"simple": "LEAST_REQUEST"}})
    );
}

#[test]
fn importing_the_output_again_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.yaml");
    stdout(&["import", INPUT, "-o", first.to_str().unwrap()]);
    let again = stdout(&["import", first.to_str().unwrap()]);
    assert_eq!(again, std::fs::read_to_string(&first).unwrap());
}

/// Two rules send `reviews` to v1 with different timeouts: two keys, two
/// routes, and the router simulation applies each rule's timeout.
#[test]
fn each_rule_keeps_its_own_timeout_in_the_router_simulation() {
    let policy = "policy-cli/testdata/routing/options.policy.yaml";
    let test = |tests: &str| {
        policy_cli()
            .env("MESHPOLICY_WASM", filter_wasm())
            .args(["test", policy, tests])
            .assert()
    };
    test("policy-cli/testdata/routing/options.tests.yaml")
        .success()
        .stdout(predicates::str::contains(
            "test result: ok. 3 passed; 0 failed",
        ));

    // swap the two timeouts in the expectations: both cases fail on `timeout`
    let dir = tempfile::tempdir().unwrap();
    let swapped =
        std::fs::read_to_string(root().join("policy-cli/testdata/routing/options.tests.yaml"))
            .unwrap()
            .replace("timeout: 10s", "timeout: TEN")
            .replace("timeout: 2s", "timeout: 10s")
            .replace("timeout: TEN", "timeout: 2s");
    let tests = dir.path().join("swapped.tests.yaml");
    std::fs::write(&tests, swapped).unwrap();
    test(tests.to_str().unwrap())
        .code(1)
        .stdout(predicates::str::contains("-timeout: 2s\n    +timeout: 10s"))
        .stdout(predicates::str::contains("-timeout: 10s\n    +timeout: 2s"))
        .stdout(predicates::str::contains(
            "test result: FAILED. 1 passed; 2 failed",
        ));

    // the rendered routes: two keys for v1 with their own timeouts
    let rendered = stdout(&[
        "render",
        policy,
        "--image",
        "oci://r.io/f:1",
        "--sha256",
        SHA,
    ]);
    let docs: Vec<Value> = serde_saphyr::from_multiple(&rendered).unwrap();
    let vs = docs.iter().find(|d| d["kind"] == "VirtualService").unwrap();
    let keys: Vec<(&str, &Value)> = vs["spec"]["http"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| {
            Some((
                r["name"].as_str()?.strip_prefix("decision ")?,
                &r["timeout"],
            ))
        })
        .collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert_eq!(keys[0].1, "10s");
    assert_eq!(keys[1].1, "2s");
    assert_ne!(keys[0].0, keys[1].0);
    assert!(
        keys.iter()
            .all(|(k, _)| k.starts_with("reviews.prod.svc.cluster.local/v1#"))
    );
}
