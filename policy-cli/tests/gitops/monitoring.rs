//! The monitoring in `manifests/monitoring`, checked by the real tool:
//! `promtool check rules` on the PrometheusRule as kustomize renders it, and
//! `promtool test rules` with a firing and a quiet case for every alert, on
//! series shaped like the proxy's scrape: the filter's metrics carry the
//! label set the host's Prometheus rendering gives them
//! (`host_tests::prometheus`, docs/telemetry.md: Istio's standard labels in
//! `extraStatTags` order, then `policy_rule`, `policy_destination`), plus the
//! `namespace` and `pod` the PodMonitor adds. The dashboard's queries parse
//! (promtool) and name only metrics and labels those series have.
//!
//! promtool is Debian's `prometheus` package (`make setup`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use meshpolicy_engine::telemetry::STANDARD_LABELS;
use serde_json::{Value, json};

use crate::tree;
use tree::{kustomize, root, run};

const PROMTOOL: &str = "Debian's `prometheus` package (promtool)";

fn monitoring() -> Vec<Value> {
    kustomize(&root().join("manifests/monitoring"))
}

fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("manifests/monitoring renders no {kind}"))
}

/// The PrometheusRule's groups as a Prometheus rule file (JSON is YAML).
fn write_rules(dir: &Path, groups: &Value) -> String {
    let path = dir.join("rules.yaml");
    std::fs::write(&path, json!({ "groups": groups }).to_string()).unwrap();
    path.display().to_string()
}

fn promtool(args: &[&str]) -> (bool, String) {
    let output = run("promtool", args, PROMTOOL);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

// === series ===

/// `name{k="v",…}` with the labels in the given order.
fn series(name: &str, labels: &[(&str, &str)]) -> String {
    let labels = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect::<Vec<_>>()
        .join(",");
    format!("{name}{{{labels}}}")
}

/// The labels Prometheus adds when the PodMonitor scrapes `pod`.
fn scrape_labels<'a>(namespace: &'a str, pod: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("namespace", namespace),
        ("pod", pod),
        ("job", "envoy-stats"),
        ("instance", "10.0.0.7:15020"),
    ]
}

/// The filter's labels as the host renders them: every standard label, the
/// policy's two among them, in `extraStatTags` order.
fn filter_labels() -> Vec<(&'static str, &'static str)> {
    STANDARD_LABELS
        .iter()
        .map(|label| {
            let value = match *label {
                "reporter" => "source",
                "source_workload" => "productpage-v1",
                "destination_workload" => "reviews-v2",
                "request_protocol" => "http",
                "response_code" => "200",
                "response_flags" => "-",
                "policy_rule" => "reviews-canary",
                "policy_destination" => "reviews.prod.svc.cluster.local/v2",
                _ => "unknown",
            };
            (*label, value)
        })
        .collect()
}

fn filter_requests(namespace: &str, pod: &str) -> String {
    let mut labels = filter_labels();
    labels.extend(scrape_labels(namespace, pod));
    series("meshpolicy_requests_total", &labels)
}

fn istio_requests(namespace: &str, pod: &str) -> String {
    let mut labels = vec![
        ("reporter", "source"),
        ("source_workload", "productpage-v1"),
        ("destination_service", "reviews.prod.svc.cluster.local"),
        ("response_code", "200"),
        ("response_flags", "-"),
    ];
    labels.extend(scrape_labels(namespace, pod));
    series("istio_requests_total", &labels)
}

fn agent(metric: &str, namespace: &str, pod: &str, result: &str) -> String {
    let mut labels = scrape_labels(namespace, pod);
    labels.push(("result", result));
    series(&format!("istio_agent_{metric}"), &labels)
}

/// Envoy's ECDS `config_fail` for the TrafficExtension Istio 1.30 makes of a
/// WasmPlugin (resource `extensions.istio.io/trafficextension/<ns>.<name>`).
fn ecds_config_fail(namespace: &str, pod: &str, plugin: &str) -> String {
    let name = format!(
        "envoy_extension_config_discovery_http_filter_extensions_istio_io_trafficextension_{namespace}_{}_config_fail",
        plugin.replace('-', "_")
    );
    series(&name, &scrape_labels(namespace, pod))
}

// === expected alerts ===

/// `{{ $labels.x }}` expanded the way Prometheus expands the annotations.
fn expand(template: &str, labels: &BTreeMap<String, String>) -> String {
    let mut out = template.to_owned();
    for (key, value) in labels {
        out = out.replace(&format!("{{{{ $labels.{key} }}}}"), value);
    }
    assert!(!out.contains("{{"), "unexpanded template in `{out}`");
    out
}

struct Alerts {
    rules: BTreeMap<String, Value>,
}

impl Alerts {
    fn new(groups: &Value) -> Self {
        let rules = groups
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap().clone())
            .filter_map(|r| Some((r["alert"].as_str()?.to_owned(), r)))
            .collect();
        Self { rules }
    }

    /// One expected alert of `name` whose own labels are `labels`.
    fn expect(&self, name: &str, labels: &[(&str, &str)]) -> Value {
        let rule = &self.rules[name];
        let mut all: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        for (key, value) in rule["labels"].as_object().unwrap() {
            all.insert(key.clone(), value.as_str().unwrap().to_owned());
        }
        let annotations: BTreeMap<String, String> = rule["annotations"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), expand(v.as_str().unwrap(), &all)))
            .collect();
        json!({ "exp_labels": all, "exp_annotations": annotations })
    }
}

/// One promtool test group: series, then (time, alert, expected alerts).
fn group(series: &[(String, &str)], checks: Vec<(&str, &str, Vec<Value>)>) -> Value {
    json!({
        "interval": "1m",
        "input_series": series
            .iter()
            .map(|(s, values)| json!({"series": s, "values": values}))
            .collect::<Vec<_>>(),
        "alert_rule_test": checks
            .into_iter()
            .map(|(at, alert, exp)| json!({"eval_time": at, "alertname": alert, "exp_alerts": exp}))
            .collect::<Vec<_>>(),
    })
}

const FETCH: &str = "MeshpolicyModuleFetchFailed";
const CONFIG: &str = "MeshpolicyConfigRejected";
const FILTER: &str = "MeshpolicyFilterFailed";

/// Every alert's firing and quiet cases.
fn alert_tests(alerts: &Alerts) -> Vec<Value> {
    let fetch =
        |pod: &str, result: &str| agent("wasm_remote_fetch_count", "production", pod, result);
    let convert =
        |pod: &str, result: &str| agent("wasm_config_conversion_count", "production", pod, result);
    fn at(pod: &'static str, result: &'static str) -> Vec<(&'static str, &'static str)> {
        vec![
            ("namespace", "production"),
            ("pod", pod),
            ("result", result),
        ]
    }
    vec![
        // A counter born at 1 (the pod's first fetch failed) fires at once,
        // for the 10 minutes its series is new; an old, flat one does not.
        group(
            &[(fetch("p1", "download_failure"), "1x30")],
            vec![
                (
                    "3m",
                    FETCH,
                    vec![alerts.expect(FETCH, &at("p1", "download_failure"))],
                ),
                ("25m", FETCH, vec![]),
                ("3m", CONFIG, vec![]),
            ],
        ),
        // A failure after successes: the counter moves from 0.
        group(
            &[
                (fetch("p2", "success"), "1x30"),
                (fetch("p2", "checksum_mismatched"), "0x10 1x20"),
            ],
            vec![
                ("5m", FETCH, vec![]),
                (
                    "15m",
                    FETCH,
                    vec![alerts.expect(FETCH, &at("p2", "checksum_mismatched"))],
                ),
                ("28m", FETCH, vec![]),
            ],
        ),
        // Healthy sidecars: fetches succeed, conversions succeed or have no
        // remote module (`no_remote_load` is not a failure).
        group(
            &[
                (fetch("p3", "success"), "1+1x30"),
                (convert("p3", "success"), "1+1x30"),
                (convert("p3", "no_remote_load"), "1+1x30"),
            ],
            vec![
                ("5m", FETCH, vec![]),
                ("20m", FETCH, vec![]),
                ("5m", CONFIG, vec![]),
                ("20m", CONFIG, vec![]),
            ],
        ),
        // A conversion failure is a rejected config; a conversion that failed
        // because the fetch failed is the fetch alert's, not this one's.
        group(
            &[
                (convert("p4", "unmarshal_failure"), "1x30"),
                (convert("p5", "fetch_failure"), "1x30"),
                (fetch("p5", "download_failure"), "1x30"),
            ],
            vec![
                (
                    "3m",
                    CONFIG,
                    vec![alerts.expect(CONFIG, &at("p4", "unmarshal_failure"))],
                ),
                (
                    "3m",
                    FETCH,
                    vec![alerts.expect(FETCH, &at("p5", "download_failure"))],
                ),
                ("25m", CONFIG, vec![]),
            ],
        ),
        // Envoy rejects meshpolicy's ECDS update; another plugin's rejection
        // is not meshpolicy's alert.
        group(
            &[
                (
                    ecds_config_fail("production", "p6", "meshpolicy-reviews"),
                    "0x5 1x25",
                ),
                (
                    ecds_config_fail("production", "p7", "other-team-plugin"),
                    "0x5 1x25",
                ),
            ],
            vec![
                ("3m", CONFIG, vec![]),
                (
                    "9m",
                    CONFIG,
                    vec![alerts.expect(CONFIG, &[("namespace", "production"), ("pod", "p6")])],
                ),
                ("28m", CONFIG, vec![]),
            ],
        ),
        // The filter traps at 10m in p8: Istio keeps counting its requests,
        // the filter's counter stops (its series stays). p9 is healthy, p10
        // has no filter (not selected), p11 went idle.
        group(
            &[
                (istio_requests("production", "p8"), "0+10x60"),
                (filter_requests("production", "p8"), "0+10x10 100x50"),
                (istio_requests("production", "p9"), "0+10x60"),
                (filter_requests("production", "p9"), "0+10x60"),
                (istio_requests("staging", "p10"), "0+10x60"),
                (istio_requests("staging", "p11"), "0+10x10 100x50"),
                (filter_requests("staging", "p11"), "0+10x10 100x50"),
            ],
            vec![
                ("12m", FILTER, vec![]),
                (
                    "25m",
                    FILTER,
                    vec![alerts.expect(FILTER, &[("namespace", "production"), ("pod", "p8")])],
                ),
                // Still firing long after: the alert does not clear itself.
                (
                    "60m",
                    FILTER,
                    vec![alerts.expect(FILTER, &[("namespace", "production"), ("pod", "p8")])],
                ),
                ("25m", FETCH, vec![]),
                ("25m", CONFIG, vec![]),
            ],
        ),
    ]
}

fn run_tests(dir: &Path, groups: &Value, tests: Vec<Value>) -> (bool, String) {
    let rules = write_rules(dir, groups);
    let file = dir.join("alerts.test.yaml");
    let text = json!({
        "rule_files": [rules],
        "evaluation_interval": "1m",
        "tests": tests,
    });
    std::fs::write(&file, text.to_string()).unwrap();
    promtool(&["test", "rules", &file.display().to_string()])
}

#[test]
fn promtool_accepts_the_rules() {
    let docs = monitoring();
    let rule = find(&docs, "PrometheusRule");
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(dir.path(), &rule["spec"]["groups"]);
    let (ok, text) = promtool(&["check", "rules", &rules]);
    assert!(ok, "promtool check rules:\n{text}");
    assert!(text.contains("SUCCESS"), "{text}");
}

#[test]
fn every_alert_fires_on_its_failure_and_only_there() {
    let docs = monitoring();
    let groups = &find(&docs, "PrometheusRule")["spec"]["groups"];
    let alerts = Alerts::new(groups);
    let tests = alert_tests(&alerts);
    // Every alert has a case where it fires and one where it stays quiet.
    let mut fires = BTreeSet::new();
    let mut quiet = BTreeSet::new();
    for test in &tests {
        for check in test["alert_rule_test"].as_array().unwrap() {
            let name = check["alertname"].as_str().unwrap().to_owned();
            if check["exp_alerts"].as_array().unwrap().is_empty() {
                quiet.insert(name);
            } else {
                fires.insert(name);
            }
        }
    }
    let all: BTreeSet<String> = alerts.rules.keys().cloned().collect();
    assert_eq!(fires, all, "alerts without a firing case");
    assert_eq!(quiet, all, "alerts without a quiet case");
    let dir = tempfile::tempdir().unwrap();
    let (ok, text) = run_tests(dir.path(), groups, tests);
    assert!(ok, "promtool test rules:\n{text}");
}

#[test]
fn the_tests_catch_an_alert_that_misses_a_counter_born_at_one() {
    // The fetch alert as it was (`increase()` only): promtool must fail it.
    let docs = monitoring();
    let mut groups = find(&docs, "PrometheusRule")["spec"]["groups"].clone();
    let rules = groups[0]["rules"].as_array_mut().unwrap();
    let fetch = rules.iter_mut().find(|r| r["alert"] == FETCH).unwrap();
    fetch["expr"] = json!(
        "sum by (namespace, pod, result) (increase(istio_agent_wasm_remote_fetch_count{result!=\"success\"}[10m])) > 0"
    );
    let alerts = Alerts::new(&groups);
    let dir = tempfile::tempdir().unwrap();
    let (ok, text) = run_tests(dir.path(), &groups, alert_tests(&alerts));
    assert!(
        !ok,
        "promtool passed a fetch alert blind to a first failure:\n{text}"
    );
    assert!(text.contains(FETCH), "{text}");
}

// === dashboard ===

/// The metrics the scrape has, each with the labels its series carry.
fn known_metrics() -> BTreeMap<String, BTreeSet<String>> {
    let scrape: BTreeSet<String> = ["namespace", "pod", "job", "instance"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut filter = scrape.clone();
    filter.extend(filter_labels().into_iter().map(|(k, _)| k.to_owned()));
    let mut metrics = BTreeMap::new();
    metrics.insert("meshpolicy_requests_total".to_owned(), filter.clone());
    for histogram in [
        "meshpolicy_request_duration_milliseconds",
        "meshpolicy_request_bytes",
        "meshpolicy_response_bytes",
    ] {
        for suffix in ["_bucket", "_sum", "_count"] {
            let mut labels = filter.clone();
            if suffix == "_bucket" {
                labels.insert("le".to_owned());
            }
            metrics.insert(format!("{histogram}{suffix}"), labels);
        }
    }
    // Istio's own metrics have the standard labels but not the policy's.
    let mut istio = scrape.clone();
    istio.extend(
        STANDARD_LABELS
            .iter()
            .filter(|l| !l.starts_with("policy_"))
            .map(|l| (*l).to_owned()),
    );
    metrics.insert("istio_requests_total".to_owned(), istio);
    let mut agent = scrape;
    agent.insert("result".to_owned());
    metrics.insert(
        "istio_agent_wasm_remote_fetch_count".to_owned(),
        agent.clone(),
    );
    metrics.insert("istio_agent_wasm_config_conversion_count".to_owned(), agent);
    metrics
}

/// Metric names (a name before `{`) and label names (matchers, `by (…)`,
/// `{{label}}` in the legend) of one query.
fn names_in(expr: &str, legend: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let metric = regex::Regex::new(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{").unwrap();
    let matcher =
        regex::Regex::new(r#"[{,][ \n]*([a-zA-Z_][a-zA-Z0-9_]*)[ \n]*(=~|!~|!=|=)[ \n]*""#)
            .unwrap();
    let by = regex::Regex::new(r"(?-u:\b)(?:by|on|without)[ \n]*\(([^)]*)\)").unwrap();
    let legend_label = regex::Regex::new(r"\{\{ *([a-zA-Z_][a-zA-Z0-9_]*) *\}\}").unwrap();
    let metrics = metric
        .captures_iter(expr)
        .map(|c| c[1].to_owned())
        .collect();
    let mut labels: BTreeSet<String> = matcher
        .captures_iter(expr)
        .map(|c| c[1].to_owned())
        .collect();
    for c in by.captures_iter(expr) {
        labels.extend(
            c[1].split(',')
                .map(|l| l.trim().to_owned())
                .filter(|l| !l.is_empty()),
        );
    }
    labels.extend(legend_label.captures_iter(legend).map(|c| c[1].to_owned()));
    (metrics, labels)
}

/// Grafana's variables replaced by what they stand for in PromQL.
fn substitute(expr: &str) -> String {
    expr.replace("$__rate_interval", "5m")
        .replace("$namespace", ".*")
}

#[test]
fn every_dashboard_query_parses_and_names_what_the_proxy_exports() {
    let docs = monitoring();
    let config_map = find(&docs, "ConfigMap");
    let dashboard: Value =
        serde_json::from_str(config_map["data"]["meshpolicy.json"].as_str().unwrap()).unwrap();
    let known = known_metrics();
    let mut records = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        let title = panel["title"].as_str().unwrap();
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "panel `{title}` has no query");
        for target in targets {
            let expr = target["expr"].as_str().unwrap();
            let legend = target["legendFormat"].as_str().unwrap_or_default();
            let (metrics, labels) = names_in(expr, legend);
            assert!(
                !metrics.is_empty(),
                "panel `{title}` names no metric: {expr}"
            );
            let mut allowed = BTreeSet::new();
            for metric in &metrics {
                let labels = known.get(metric).unwrap_or_else(|| {
                    panic!("panel `{title}`: no series `{metric}` in the scrape")
                });
                allowed.extend(labels.iter().cloned());
            }
            for label in &labels {
                assert!(
                    allowed.contains(label),
                    "panel `{title}`: label `{label}` is not on {metrics:?}"
                );
            }
            records.push(json!({
                "record": format!("dashboard:panel_{}", records.len()),
                "expr": substitute(expr),
            }));
        }
    }
    // The variable's query too.
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        if let Some(query) = variable["query"].as_str()
            && let Some(inner) = query.strip_prefix("label_values(")
        {
            let (metric, label) = inner.trim_end_matches(')').split_once(',').unwrap();
            assert!(known[metric.trim()].contains(label.trim()), "{query}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(
        dir.path(),
        &json!([{ "name": "dashboard", "rules": records }]),
    );
    let (ok, text) = promtool(&["check", "rules", &rules]);
    assert!(ok, "a dashboard query does not parse:\n{text}");
}

#[test]
fn the_dashboard_check_catches_a_label_the_filter_does_not_have() {
    let (metrics, labels) = names_in(
        "sum by (route) (rate(meshpolicy_requests_total{namespace=~\".*\"}[5m]))",
        "",
    );
    let known = known_metrics();
    assert_eq!(
        metrics,
        BTreeSet::from(["meshpolicy_requests_total".to_owned()])
    );
    assert!(labels.contains("route") && !known["meshpolicy_requests_total"].contains("route"));
}

#[test]
fn monitoring_is_rendered_once_with_the_release_label() {
    let docs = monitoring();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    for doc in &docs {
        assert_eq!(
            doc["metadata"]["namespace"], "monitoring",
            "{}",
            doc["kind"]
        );
        assert!(
            doc["metadata"]["labels"]["release"].is_string(),
            "{} has no `release` label for the operator's selectors",
            doc["kind"]
        );
    }
    for kind in ["PodMonitor", "PrometheusRule"] {
        assert_eq!(
            find(&docs, kind)["metadata"]["annotations"]["argocd.argoproj.io/sync-options"],
            "SkipDryRunOnMissingResource=true",
            "{kind}"
        );
    }
    // The overlays carry no monitoring: one dashboard uid, each alert once.
    for overlay in ["staging", "production"] {
        let overlay_docs = kustomize(&root().join("manifests/overlays").join(overlay));
        for doc in &overlay_docs {
            assert!(
                !["PodMonitor", "PrometheusRule", "ConfigMap"]
                    .contains(&doc["kind"].as_str().unwrap()),
                "{overlay} renders {}",
                doc["kind"]
            );
        }
    }
}
