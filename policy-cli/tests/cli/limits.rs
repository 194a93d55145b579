//! Issue 15 item 2: `validate` accepts exactly what the filter accepts.
//! For every limit of the engine (`meshpolicy_engine::limits`), a policy at
//! the limit passes `validate` and configures on the `.wasm`, and one just
//! past it is refused by both with the same errors (the filter logs
//! `meshpolicy: invalid policy: <path>: <message>`).

use host_tests::{Host, Plugin, PluginOptions};
use meshpolicy_engine::limits::{
    MAX_DESTINATIONS, MAX_HEADER_NAME_BYTES, MAX_HEADER_VALUE_BYTES, MAX_MATCHES_PER_RULE,
    MAX_PATTERN_BYTES, MAX_POLICY_BYTES, MAX_POLICY_REGEXES, MAX_REGEXES, MAX_RULES,
    MAX_TOTAL_WEIGHT,
};
use serde_json::{Value, json};

use crate::{arg, run, wasm};

fn route() -> Value {
    json!([{"destination": {"host": "a.prod.svc.cluster.local"}}])
}

/// A policy of `vs` virtual services (hosts h0, h1, …) with these rules
/// each; with their namespace, as the CLI writes what it sends the filter.
fn policy(vs: usize, rules: impl Fn(usize) -> Vec<Value>) -> Value {
    let services: Vec<Value> = (0..vs)
        .map(|v| json!({"name": format!("vs-{v}"), "namespace": "prod", "hosts": [format!("h{v}.prod.svc.cluster.local")], "http": rules(v)}))
        .collect();
    json!({"apiVersion": "meshpolicy.dev/v1alpha2", "kind": "TrafficPolicy",
        "metadata": {"name": "limits", "namespace": "prod"},
        "spec": {"virtualServices": services}})
}

fn one_rule(rule: Value) -> Value {
    policy(1, |_| vec![rule.clone()])
}

/// Compact rules, so that [`MAX_RULES`] of them fit [`MAX_POLICY_BYTES`].
fn rules(n: usize) -> Value {
    policy(1, |_| {
        (0..n)
            .map(|i| json!({"match": [{"uri": {"prefix": format!("/p{i}/")}}], "route": [{"destination": {"host": "a"}}]}))
            .collect()
    })
}

fn regexes(n: usize) -> Value {
    policy(n.div_ceil(MAX_REGEXES), |v| {
        (0..MAX_REGEXES.min(n - v * MAX_REGEXES))
            .map(|i| json!({"match": [{"uri": {"regex": format!("/{i}/[a-z]+")}}], "route": route()}))
            .collect()
    })
}

/// Exactly `bytes` bytes as compact JSON.
fn sized(bytes: usize) -> Value {
    let value = "v".repeat(MAX_HEADER_VALUE_BYTES);
    let rule = |i: usize| {
        json!({"match": [{"uri": {"prefix": format!("/p{i}/")}}],
            "headers": {"request": {"set": {"x-big": value}}}, "route": route()})
    };
    let per_rule = serde_json::to_string(&rule(99_999)).unwrap().len() + 1;
    let n = (bytes - 400) / per_rule;
    let mut doc = policy(1, |_| (0..n).map(rule).collect());
    let len = serde_json::to_string(&doc).unwrap().len();
    let pad = bytes - len - r#","annotations":{"pad":""}"#.len();
    doc["metadata"]["annotations"] = json!({"pad": "p".repeat(pad)});
    assert_eq!(serde_json::to_string(&doc).unwrap().len(), bytes);
    doc
}

fn matches(n: usize) -> Value {
    let entries: Vec<Value> = (0..n)
        .map(|i| json!({"uri": {"prefix": format!("/m{i}")}}))
        .collect();
    one_rule(json!({"match": entries, "route": route()}))
}

fn destinations(n: usize) -> Value {
    let dests: Vec<Value> = (0..n)
        .map(|i| json!({"destination": {"host": format!("d{i}.prod.svc.cluster.local")}, "weight": 1}))
        .collect();
    one_rule(json!({"route": dests}))
}

fn pattern(n: usize) -> Value {
    one_rule(
        json!({"match": [{"uri": {"prefix": format!("/{}", "p".repeat(n - 1))}}], "route": route()}),
    )
}

fn header_value(n: usize) -> Value {
    one_rule(json!({"headers": {"request": {"set": {"x-a": "v".repeat(n)}}}, "route": route()}))
}

fn header_name(n: usize) -> Value {
    one_rule(json!({"headers": {"request": {"set": {"x".repeat(n): "v"}}}, "route": route()}))
}

fn weight(total: u64) -> Value {
    one_rule(json!({"route": [
        {"destination": {"host": "a.prod.svc.cluster.local", "subset": "v1"}, "weight": total - 1},
        {"destination": {"host": "a.prod.svc.cluster.local", "subset": "v2"}, "weight": 1}
    ]}))
}

/// (limit, the largest policy it allows, the smallest it refuses).
fn cases() -> Vec<(&'static str, Value, Value)> {
    vec![
        ("MAX_RULES", rules(MAX_RULES), rules(MAX_RULES + 1)),
        (
            "MAX_POLICY_BYTES",
            sized(MAX_POLICY_BYTES),
            sized(MAX_POLICY_BYTES + 1),
        ),
        (
            "MAX_REGEXES",
            regexes(MAX_REGEXES),
            policy(1, |_| {
                (0..=MAX_REGEXES)
                .map(|i| json!({"match": [{"uri": {"regex": format!("/{i}/[a-z]+")}}], "route": route()}))
                .collect()
            }),
        ),
        (
            "MAX_POLICY_REGEXES",
            regexes(MAX_POLICY_REGEXES),
            regexes(MAX_POLICY_REGEXES + 1),
        ),
        (
            "MAX_MATCHES_PER_RULE",
            matches(MAX_MATCHES_PER_RULE),
            matches(MAX_MATCHES_PER_RULE + 1),
        ),
        (
            "MAX_DESTINATIONS",
            destinations(MAX_DESTINATIONS),
            destinations(MAX_DESTINATIONS + 1),
        ),
        (
            "MAX_PATTERN_BYTES",
            pattern(MAX_PATTERN_BYTES),
            pattern(MAX_PATTERN_BYTES + 1),
        ),
        (
            "MAX_HEADER_VALUE_BYTES",
            header_value(MAX_HEADER_VALUE_BYTES),
            header_value(MAX_HEADER_VALUE_BYTES + 1),
        ),
        (
            "MAX_HEADER_NAME_BYTES",
            header_name(MAX_HEADER_NAME_BYTES),
            header_name(MAX_HEADER_NAME_BYTES + 1),
        ),
        // MAX_BODY_BYTES (Istio's 1 MB) is past MAX_POLICY_BYTES: the
        // policy's size refuses a larger body first
        (
            "MAX_TOTAL_WEIGHT",
            weight(MAX_TOTAL_WEIGHT),
            weight(MAX_TOTAL_WEIGHT + 1),
        ),
    ]
}

/// `validate`'s errors as `path: message` (exit code, errors).
fn validate(dir: &std::path::Path, name: &str, yaml: &str) -> (i32, Vec<String>) {
    let file = dir.join(name);
    std::fs::write(&file, yaml).unwrap();
    let r = run(&["validate", "--error-format", "json", arg(&file)]);
    let report: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{name}: no JSON report ({e}): {}", r.stderr));
    let errors = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        // the CLI gives document-level errors no field path; the filter
        // logs them under `document`
        .map(|d| {
            let path = d["path"].as_str().unwrap_or("document");
            format!("{path}: {}", d["message"].as_str().unwrap())
        })
        .collect();
    (r.code, errors)
}

/// The filter's errors for `json` (configured, errors as `path: message`).
fn filter(module: &host_tests::LoadedModule, json: &str) -> (bool, Vec<String>) {
    let plugin = Plugin::start(
        module,
        PluginOptions {
            plugin_config: json.as_bytes().to_vec(),
            ..PluginOptions::default()
        },
    )
    .unwrap();
    assert!(!plugin.is_failed(), "trapped: {:?}", plugin.failure());
    let errors = plugin
        .logs()
        .iter()
        .filter_map(|l| l.message.strip_prefix("meshpolicy: invalid policy: "))
        .map(str::to_owned)
        .collect();
    (plugin.configured(), errors)
}

/// `doc` through `validate` as YAML and through the filter as JSON:
/// (validate's exit code and errors, whether the filter configured and its
/// errors).
fn both(
    module: &host_tests::LoadedModule,
    dir: &std::path::Path,
    name: &str,
    doc: &Value,
) -> ((i32, Vec<String>), (bool, Vec<String>)) {
    let from_validate = validate(dir, name, &serde_saphyr::to_string(doc).unwrap());
    let from_filter = filter(module, &serde_json::to_string(doc).unwrap());
    (from_validate, from_filter)
}

#[test]
fn validate_and_the_filter_accept_and_refuse_the_same_policies_with_the_same_errors() {
    let module = Host::new().unwrap().load_file(wasm()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (limit, at, past) in cases() {
        let ((code, errors), (configured, filter_errors)) =
            both(&module, dir.path(), "at.yaml", &at);
        assert_eq!(
            (code, &errors),
            (0, &vec![]),
            "{limit}: validate refused the largest policy"
        );
        assert!(
            configured,
            "{limit}: the filter refused the largest policy: {filter_errors:?}"
        );

        let ((code, from_validate), (configured, from_filter)) =
            both(&module, dir.path(), "past.yaml", &past);
        assert_eq!(code, 1, "{limit}: validate accepted one past the limit");
        assert!(
            !configured,
            "{limit}: the filter accepted one past the limit"
        );
        assert!(!from_validate.is_empty(), "{limit}");
        assert_eq!(
            from_validate, from_filter,
            "{limit}: validate and the filter refuse with different errors"
        );
    }
}

/// `doc`, which `validate` (exit code 1) and the filter must both refuse
/// with the same errors: those errors.
fn refused_by_both(name: &str, doc: &Value) -> Vec<String> {
    let module = Host::new().unwrap().load_file(wasm()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ((code, from_validate), (_, from_filter)) = both(&module, dir.path(), name, doc);
    assert_eq!(code, 1, "{name}: validate accepted it");
    assert_eq!(from_validate, from_filter, "{name}");
    from_validate
}

/// Asserts that `errors` is the one error of a policy past
/// [`MAX_POLICY_BYTES`], whose size starts with `size`.
fn assert_too_big(errors: &[String], size: &str) {
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(&format!("document: policy is {size}"))
            && errors[0].ends_with(&format!("bytes as JSON, the limit is {MAX_POLICY_BYTES}")),
        "{errors:?}"
    );
}

#[test]
fn an_8_8_mb_policy_is_refused_by_validate_as_by_the_filter() {
    // The issue's probe: it passed validate; the filter refused it (8 MiB).
    let errors = refused_by_both("big.yaml", &sized(8_800_000));
    assert_eq!(
        errors,
        vec![format!(
            "document: policy is 8800000 bytes as JSON, the limit is {MAX_POLICY_BYTES}"
        )]
    );
}

#[test]
fn yaml_anchors_expanding_past_the_policy_limit_are_refused() {
    // The issue's probe: 2.4 MB of YAML with anchors became 19 MB of policy.
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from(
        "apiVersion: meshpolicy.dev/v1alpha2\nkind: TrafficPolicy\nmetadata:\n  name: bomb\n  namespace: prod\n  annotations:\n",
    );
    yaml.push_str(&format!("    a0: &big \"{}\"\n", "x".repeat(2_300_000)));
    for i in 1..9 {
        yaml.push_str(&format!("    a{i}: *big\n"));
    }
    yaml.push_str("spec: {}\n");
    assert!(yaml.len() < 2_400_000);
    let (code, errors) = validate(dir.path(), "anchors.yaml", &yaml);
    assert_eq!(code, 1);
    assert_too_big(&errors, "20700");
}

#[test]
fn a_20000_rule_policy_is_refused_as_by_the_filter_not_by_the_yaml_node_budget() {
    // The issue's probe: the YAML node budget (250,000) refused 20,000-rule
    // policies the filter accepted; the limits are now one set (MAX_RULES
    // is 5,000 and such a policy is past MAX_POLICY_BYTES): both refuse
    // it with the same error.
    let errors = refused_by_both("rules.yaml", &rules(20_000));
    // 20,000 rules are also past the size limit, checked first by both
    assert_too_big(&errors, "");
}
