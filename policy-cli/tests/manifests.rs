#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The GitOps tree in `manifests/`: every document `kubectl kustomize`
//! renders from each overlay (and the ArgoCD applications) validates against
//! the CRD schemas in `../shared/schemas/json` (relative to the project
//! root), WasmPlugins obey the rules a schema cannot express, kinds without a
//! schema get structural checks, and the ordering and sync settings hold.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use policy_cli::gitops::check::wasm_plugin_problems;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn schemas() -> PathBuf {
    let dir = root().join("../shared/schemas/json");
    assert!(
        dir.is_dir(),
        "{} is missing: the CRD schemas live next to the project, in shared/schemas/json",
        dir.display()
    );
    dir
}

fn kustomize(dir: &Path) -> Vec<Value> {
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl is missing (it provides `kubectl kustomize`)");
    assert!(
        output.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    serde_saphyr::from_multiple::<Value>(&text).unwrap()
}

fn overlays() -> Vec<(String, Vec<Value>)> {
    let dir = root().join("manifests/overlays");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["production", "staging"]);
    names
        .into_iter()
        .map(|name| {
            let docs = kustomize(&dir.join(&name));
            (name, docs)
        })
        .collect()
}

fn str_at<'a>(doc: &'a Value, pointer: &str) -> &'a str {
    doc.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} is not a string in {doc}"))
}

fn find<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

/// The schema of `doc`'s apiVersion and kind, if the shared tree has its group.
fn schema_for(doc: &Value) -> Option<PathBuf> {
    let api_version = str_at(doc, "/apiVersion");
    let (group, version) = api_version.split_once('/')?;
    let group_dir = schemas().join(group);
    if !group_dir.is_dir() {
        return None;
    }
    let kind = str_at(doc, "/kind").to_lowercase();
    let path = group_dir.join(format!("{kind}_{version}.json"));
    assert!(
        path.is_file(),
        "no schema for {api_version} {kind}: {} is missing",
        path.display()
    );
    Some(path)
}

/// Validates every document: schema where one exists, structure otherwise.
/// Returns how many were schema-validated.
fn validate_all(label: &str, docs: &[Value]) -> usize {
    let mut cache: BTreeMap<PathBuf, jsonschema::Validator> = BTreeMap::new();
    let mut validated = 0;
    for doc in docs {
        let name = format!("{label}: {} {}", doc["kind"], doc["metadata"]["name"]);
        // Structure every Kubernetes object needs.
        for pointer in ["/apiVersion", "/kind", "/metadata/name"] {
            assert!(
                !str_at(doc, pointer).is_empty(),
                "{name}: {pointer} is empty"
            );
        }
        match schema_for(doc) {
            Some(path) => {
                let validator = cache.entry(path.clone()).or_insert_with(|| {
                    let schema: Value =
                        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                    jsonschema::validator_for(&schema).unwrap()
                });
                let errors: Vec<String> = validator
                    .iter_errors(doc)
                    .map(|e| format!("{} at {}", e, e.instance_path()))
                    .collect();
                assert!(
                    errors.is_empty(),
                    "{name} fails {}:\n{}",
                    path.display(),
                    errors.join("\n")
                );
                validated += 1;
            }
            None => structural_checks(&name, doc),
        }
        if doc["kind"] == "WasmPlugin" {
            assert_eq!(wasm_plugin_problems(doc), Vec::<String>::new(), "{name}");
        }
    }
    validated
}

/// What each kind without a shared schema must have to be useful.
fn structural_checks(name: &str, doc: &Value) {
    match str_at(doc, "/kind") {
        "ConfigMap" => {
            let data = doc["data"]
                .as_object()
                .unwrap_or_else(|| panic!("{name}: no data"));
            for (key, value) in data {
                let text = value
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: data.{key} is not a string"));
                if key.ends_with(".json") {
                    let dashboard: Value = serde_json::from_str(text)
                        .unwrap_or_else(|e| panic!("{name}: data.{key} is not JSON: {e}"));
                    assert!(
                        !dashboard["panels"].as_array().unwrap().is_empty(),
                        "{name}: the dashboard has no panels"
                    );
                }
            }
        }
        "PodMonitor" => {
            assert_eq!(
                str_at(doc, "/apiVersion"),
                "monitoring.coreos.com/v1",
                "{name}"
            );
            let endpoint = &doc["spec"]["podMetricsEndpoints"][0];
            assert_eq!(endpoint["path"], "/stats/prometheus", "{name}");
            let relabel = serde_json::to_string(&endpoint["relabelings"]).unwrap();
            assert!(
                relabel.contains(":15020"),
                "{name}: does not scrape port 15020"
            );
        }
        "PrometheusRule" => {
            assert_eq!(
                str_at(doc, "/apiVersion"),
                "monitoring.coreos.com/v1",
                "{name}"
            );
            let rules: Vec<&Value> = doc["spec"]["groups"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|g| g["rules"].as_array().unwrap())
                .collect();
            assert!(!rules.is_empty(), "{name}: no rules");
            for rule in &rules {
                assert!(
                    !str_at(rule, "/alert").is_empty(),
                    "{name}: a rule has no alert name"
                );
                assert!(
                    !str_at(rule, "/expr").trim().is_empty(),
                    "{name}: a rule has no expr"
                );
            }
            let exprs = rules.iter().map(|r| str_at(r, "/expr")).collect::<String>();
            for stat in [
                "istio_agent_wasm_remote_fetch_count",
                "config_fail",
                "envoy_wasm_envoy_wasm_runtime_",
            ] {
                assert!(exprs.contains(stat), "{name}: no alert reads `{stat}`");
            }
        }
        other => panic!(
            "{name}: kind {other} has no schema in shared/schemas/json and no structural check here"
        ),
    }
}

#[test]
fn every_overlay_document_validates() {
    for (overlay, docs) in overlays() {
        let validated = validate_all(&overlay, &docs);
        // WasmPlugin, VirtualService, DestinationRule, PeerAuthentication, Telemetry.
        assert_eq!(validated, 5, "{overlay}");
        assert_eq!(docs.len(), 8, "{overlay}");
        for doc in &docs {
            assert_eq!(
                doc["metadata"]["namespace"],
                overlay.as_str(),
                "{}",
                doc["metadata"]["name"]
            );
        }
    }
}

#[test]
fn kustomize_keeps_sha256_a_64_character_string() {
    for (overlay, docs) in overlays() {
        let plugin = find(&docs, "WasmPlugin")[0];
        let sha = plugin["spec"]["sha256"]
            .as_str()
            .unwrap_or_else(|| panic!("{overlay}: sha256 became {}", plugin["spec"]["sha256"]));
        assert_eq!(sha.len(), 64, "{overlay}");
    }
}

#[test]
fn overlays_differ_in_selector_fail_strategy_and_tag() {
    let overlays = overlays();
    let plugin = |i: usize| find(&overlays[i].1, "WasmPlugin")[0].clone();
    let (production, staging) = (plugin(0), plugin(1));
    assert_eq!(production["spec"]["failStrategy"], "FAIL_CLOSE");
    assert_eq!(staging["spec"]["failStrategy"], "FAIL_OPEN");
    assert_ne!(production["spec"]["selector"], staging["spec"]["selector"]);
    assert!(production["spec"]["selector"]["matchLabels"].is_object());
    assert!(staging["spec"]["selector"]["matchLabels"].is_object());
    let tag = |p: &Value| {
        str_at(p, "/spec/url")
            .rsplit_once(':')
            .unwrap()
            .1
            .to_owned()
    };
    assert_ne!(tag(&production), tag(&staging));
}

#[test]
fn resources_sync_in_dependency_order() {
    for (overlay, docs) in overlays() {
        let wave = |kind: &str| -> i64 {
            let doc = find(&docs, kind)[0];
            str_at(doc, "/metadata/annotations/argocd.argoproj.io~1sync-wave")
                .parse()
                .unwrap()
        };
        assert!(
            wave("DestinationRule") < wave("VirtualService"),
            "{overlay}"
        );
        assert!(wave("VirtualService") < wave("WasmPlugin"), "{overlay}");
        for doc in docs
            .iter()
            .filter(|d| str_at(d, "/apiVersion").contains("istio.io"))
        {
            assert_eq!(
                doc.pointer("/metadata/annotations/argocd.argoproj.io~1sync-options"),
                Some(&Value::from("SkipDryRunOnMissingResource=true")),
                "{overlay}: {} {}",
                doc["kind"],
                doc["metadata"]["name"]
            );
        }
    }
}

#[test]
fn argocd_applications_validate_and_order_istio_first() {
    let docs = kustomize(&root().join("manifests/argocd"));
    assert_eq!(validate_all("argocd", &docs), docs.len());
    let wave = |name: &str| -> i64 {
        let app = docs.iter().find(|d| d["metadata"]["name"] == name).unwrap();
        str_at(app, "/metadata/annotations/argocd.argoproj.io~1sync-wave")
            .parse()
            .unwrap()
    };
    assert!(wave("istio-base") < wave("istio-system"));
    for env in ["staging", "production"] {
        let name = format!("meshpolicy-{env}");
        assert!(wave("istio-system") < wave(&name));
        let app = docs
            .iter()
            .find(|d| d["metadata"]["name"] == name.as_str())
            .unwrap();
        assert_eq!(
            str_at(app, "/spec/source/path"),
            format!("manifests/overlays/{env}")
        );
        assert_eq!(app["spec"]["syncPolicy"]["automated"]["prune"], true);
        assert_eq!(app["spec"]["syncPolicy"]["automated"]["selfHeal"], true);
        let options = serde_json::to_string(&app["spec"]["syncPolicy"]["syncOptions"]).unwrap();
        assert!(
            options.contains("SkipDryRunOnMissingResource=true"),
            "{name}"
        );
        // The path the application syncs exists and renders.
        assert!(!kustomize(&root().join(str_at(app, "/spec/source/path"))).is_empty());
    }
    let root_app: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(root().join("manifests/argocd/root.application.yaml")).unwrap(),
    )
    .unwrap();
    validate_all("argocd root", &[root_app]);
}

#[test]
fn argocd_cm_has_the_health_checks() {
    let text = std::fs::read_to_string(root().join("manifests/argocd/argocd-cm.yaml")).unwrap();
    let cm: Value = serde_saphyr::from_str(&text).unwrap();
    structural_checks("argocd-cm", &cm);
    assert_eq!(cm["metadata"]["name"], "argocd-cm");
    for kind in ["extensions.istio.io_WasmPlugin", "argoproj.io_Application"] {
        let lua = str_at(&cm, &format!("/data/resource.customizations.health.{kind}"));
        assert!(lua.contains("return hs"), "{kind}: {lua}");
        assert!(lua.contains("obj.status"), "{kind}");
    }
}

#[test]
fn schema_validation_catches_a_bad_document() {
    let (_, docs) = overlays().remove(0);
    let mut plugin = find(&docs, "WasmPlugin")[0].clone();
    plugin["spec"]["failStrategy"] = Value::from("SOMETIMES");
    plugin["spec"]["sha256"] = Value::from("not-hex");
    let path = schema_for(&plugin).unwrap();
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&plugin)
        .map(|e| e.instance_path().to_string())
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors.contains(&"/spec/failStrategy".to_owned()),
        "{errors:?}"
    );
    assert!(errors.contains(&"/spec/sha256".to_owned()), "{errors:?}");
}

#[test]
fn proxy_settings_keep_the_filters_metrics_and_labels() {
    use meshpolicy_engine::telemetry::{self, Metric, STANDARD_LABELS};
    let docs = kustomize(&root().join("manifests/argocd"));
    let istiod = docs
        .iter()
        .find(|d| d["metadata"]["name"] == "istio-system")
        .unwrap();
    let proxy = &istiod["spec"]["source"]["helm"]["valuesObject"]["meshConfig"]["defaultConfig"];
    let tags: Vec<&str> = proxy["extraStatTags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for label in STANDARD_LABELS
        .iter()
        .chain(&["policy_rule", "policy_destination"])
    {
        assert!(tags.contains(label), "extraStatTags lacks `{label}`");
    }
    // Envoy's stats matcher full-matches the stat name the filter defines.
    let regexes: Vec<_> = proxy["proxyStatsMatcher"]["inclusionRegexps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            meshpolicy_engine::compile_regex(
                r.as_str().unwrap(),
                meshpolicy_engine::Anchoring::Full,
            )
            .unwrap()
        })
        .collect();
    let compiled = telemetry::compile(&[], None).unwrap();
    let labels = vec![
        ("policy_rule", "legacy-catalog".to_owned()),
        ("reporter", "source".to_owned()),
    ];
    for metric in Metric::ALL {
        let name = format!("wasmcustom.{}", compiled.encode_stat_name(metric, &labels));
        assert!(
            regexes.iter().any(|r| r.is_match(name.as_bytes())),
            "no inclusion regex keeps `{name}`"
        );
    }
    for stat in [
        "wasm.envoy.wasm.runtime.v8.active",
        "extension_config_discovery.http_filter.meshpolicy.config_fail",
    ] {
        assert!(
            regexes.iter().any(|r| r.is_match(stat.as_bytes())),
            "`{stat}` is dropped"
        );
    }
}
