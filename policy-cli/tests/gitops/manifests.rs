//! The GitOps tree in `manifests/`: every document `kubectl kustomize`
//! renders from each overlay, the monitoring and the ArgoCD applications
//! validates against the CRD schemas in `../shared/schemas/json` (relative
//! to the project root), WasmPlugins and TrafficExtensions obey the rules a
//! schema cannot express, kinds without a schema get structural checks, the
//! ordering and sync settings hold, Istio's charts are pinned consistently,
//! each overlay pins its own digest (staging's is the build's), and the
//! promotion command moves staging's digest to production.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::assert::OutputAssertExt as _;

use policy_cli::gitops::check::{traffic_extension_problems, wasm_plugin_problems};
use policy_cli::gitops::release::Release;
use serde_json::Value;

use crate::tree;
use tree::{filter_wasm, kustomize, policy_cli, root};

fn schemas() -> PathBuf {
    let dir = root().join("../shared/schemas/json");
    assert!(
        dir.is_dir(),
        "{} is missing: the CRD schemas live next to the project, in shared/schemas/json",
        dir.display()
    );
    dir
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
        if doc["kind"] == "TrafficExtension" {
            assert_eq!(
                traffic_extension_problems(doc),
                Vec::<String>::new(),
                "{name}"
            );
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
                "istio_agent_wasm_config_conversion_count",
                "config_fail",
                "meshpolicy_requests_total",
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
        // WasmPlugin, VirtualServices, DestinationRules, PeerAuthentication,
        // Telemetry: every one has a schema.
        let validated = validate_all(&overlay, &docs);
        assert_eq!(validated, docs.len(), "{overlay}");
        for kind in ["WasmPlugin", "VirtualService", "DestinationRule"] {
            assert!(!find(&docs, kind).is_empty(), "{overlay} has no {kind}");
        }
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
fn overlays_differ_in_selector_and_fail_strategy() {
    let overlays = overlays();
    let plugin = |i: usize| find(&overlays[i].1, "WasmPlugin")[0].clone();
    let (production, staging) = (plugin(0), plugin(1));
    assert_eq!(production["spec"]["failStrategy"], "FAIL_CLOSE");
    assert_eq!(staging["spec"]["failStrategy"], "FAIL_OPEN");
    assert_ne!(production["spec"]["selector"], staging["spec"]["selector"]);
    assert!(production["spec"]["selector"]["matchLabels"].is_object());
    assert!(staging["spec"]["selector"]["matchLabels"].is_object());
}

fn release_of(overlay: &str) -> (PathBuf, Release) {
    let path = root()
        .join("manifests/overlays")
        .join(overlay)
        .join("release.env");
    let release = Release::read(&path).unwrap_or_else(|e| panic!("{e}"));
    (path, release)
}

#[test]
fn each_overlay_pins_the_digest_of_its_release_env() {
    for (overlay, docs) in overlays() {
        let (_, release) = release_of(&overlay);
        let plugin = find(&docs, "WasmPlugin")[0];
        assert_eq!(str_at(plugin, "/spec/url"), release.url(), "{overlay}");
        assert_eq!(str_at(plugin, "/spec/sha256"), release.sha256, "{overlay}");
        // The ConfigMap that carried the pin is kustomize's only.
        assert!(find(&docs, "ConfigMap").is_empty(), "{overlay}");
    }
}

#[test]
fn staging_pins_the_build_and_production_a_published_release() {
    let wasm = filter_wasm();
    let (path, staging) = release_of("staging");
    assert!(!staging.published, "staging must run this commit's build");
    staging
        .check_build(&path.display().to_string(), &wasm)
        .unwrap_or_else(|e| panic!("{e}"));
    let (path, production) = release_of("production");
    assert!(
        production.published,
        "{}: production pins what was promoted, declared PUBLISHED=true",
        path.display()
    );
    production
        .check_build(&path.display().to_string(), &wasm)
        .unwrap();
}

/// A copy of the kustomize tree (base and overlays) to change in a test.
fn copy_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(root().join("manifests"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

fn set_sha(path: &Path, sha: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text
        .lines()
        .map(|l| {
            if l.starts_with("SHA256=") {
                format!("SHA256={sha}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(path, text + "\n").unwrap();
}

#[test]
fn staging_runs_a_candidate_until_it_is_promoted() {
    let tree = copy_tree();
    let overlays = tree.path().join("manifests/overlays");
    let sha_of = |overlay: &str| {
        let docs = kustomize(&overlays.join(overlay));
        str_at(find(&docs, "WasmPlugin")[0], "/spec/sha256").to_owned()
    };
    let candidate = "c".repeat(64);
    let promoted = "a".repeat(64);
    set_sha(&overlays.join("production/release.env"), &promoted);
    set_sha(&overlays.join("staging/release.env"), &candidate);
    // Staging runs the candidate, production stays on what was promoted.
    assert_eq!(sha_of("staging"), candidate);
    assert_eq!(sha_of("production"), promoted);
    // The promotion command writes production's pin from staging's.
    let promote = || {
        Command::new(root().join("scripts/promote.sh"))
            .env("MESHPOLICY_OVERLAYS", &overlays)
            .assert()
            .success()
    };
    promote();
    assert_eq!(sha_of("production"), candidate);
    assert_eq!(sha_of("staging"), candidate);
    let production = Release::read(&overlays.join("production/release.env")).unwrap();
    assert!(production.published);
    // Promoting again changes nothing and says so.
    promote().stderr(predicates::str::contains("already"));
}

#[test]
fn a_traffic_extension_tree_validates_and_takes_the_overlay_pins() {
    let tree = copy_tree();
    let manifests = tree.path().join("manifests");
    let rendered = manifests.join("base/rendered");
    let staging = root().join("manifests/overlays/staging/release.env");
    policy_cli()
        .args([
            "render",
            "manifests/policy/reviews.policy.yaml",
            "--release",
        ])
        .arg(&staging)
        .args([
            "--kind",
            "TrafficExtension",
            "--image-pull-secret",
            "ghcr-pull",
            "-o",
        ])
        .arg(&rendered)
        .assert()
        .success();
    std::fs::remove_file(rendered.join("wasmplugin.yaml")).unwrap();
    let kustomization = manifests.join("base/kustomization.yaml");
    let text = std::fs::read_to_string(&kustomization)
        .unwrap()
        .replace("rendered/wasmplugin.yaml", "rendered/trafficextension.yaml");
    std::fs::write(&kustomization, text).unwrap();
    for overlay in ["staging", "production"] {
        let dir = manifests.join("overlays").join(overlay);
        // The overlays patch the WasmPlugin's fail strategy and selector by
        // name; for a TrafficExtension those patches are dropped here.
        let text = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
        let text = text.split("patches:").next().unwrap().to_owned();
        std::fs::write(dir.join("kustomization.yaml"), text).unwrap();
        let docs = kustomize(&dir);
        validate_all(overlay, &docs);
        let (_, release) = release_of(overlay);
        let extension = find(&docs, "TrafficExtension")[0];
        assert_eq!(str_at(extension, "/spec/wasm/url"), release.url());
        assert_eq!(str_at(extension, "/spec/wasm/sha256"), release.sha256);
        assert_eq!(str_at(extension, "/spec/wasm/imagePullSecret"), "ghcr-pull");
        assert!(find(&docs, "WasmPlugin").is_empty());
    }
}

#[test]
fn namespace_wide_mesh_policies_are_not_named_default() {
    for (overlay, docs) in overlays() {
        for kind in ["PeerAuthentication", "Telemetry"] {
            for doc in find(&docs, kind) {
                assert_ne!(doc["metadata"]["name"], "default", "{overlay}: {kind}");
            }
        }
    }
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
        // Monitoring comes last: a missing Prometheus Operator never blocks the policy.
        assert!(wave(&name) < wave("meshpolicy-monitoring"));
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
        assert!(options.contains("CreateNamespace=true"), "{name}");
        assert_eq!(
            app["spec"]["syncPolicy"]["managedNamespaceMetadata"]["labels"]["istio-injection"],
            "enabled",
            "{name}: the namespace ArgoCD creates needs sidecars"
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

/// The Istio release the CRD schemas come from: `../shared/schemas/istio/<version>`.
fn schema_istio_version() -> String {
    let dir = root().join("../shared/schemas/istio");
    let versions: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(versions.len(), 1, "{versions:?}");
    versions[0].clone()
}

#[test]
fn istio_comes_from_its_released_charts_at_one_pinned_version() {
    let docs = kustomize(&root().join("manifests/argocd"));
    let app = |name: &str| docs.iter().find(|d| d["metadata"]["name"] == name).unwrap();
    let version = schema_istio_version();
    for (name, chart) in [("istio-base", "base"), ("istio-system", "istiod")] {
        let source = &app(name)["spec"]["source"];
        assert_eq!(
            source["repoURL"], "https://istio-release.storage.googleapis.com/charts",
            "{name}: Istio's released Helm charts, not its git tree"
        );
        assert_eq!(source["chart"], chart, "{name}");
        assert!(source.get("path").is_none(), "{name}");
        assert_eq!(str_at(source, "/targetRevision"), version, "{name}");
        let values = &source["helm"]["valuesObject"];
        assert_eq!(
            values["base"]["validationFailurePolicy"], "Fail",
            "{name}: istiod flips `Ignore` to `Fail`, self-heal would fight it"
        );
        let spec = &app(name)["spec"];
        let options = serde_json::to_string(&spec["syncPolicy"]["syncOptions"]).unwrap();
        assert!(options.contains("RespectIgnoreDifferences=true"), "{name}");
        let ignored = serde_json::to_string(&spec["ignoreDifferences"]).unwrap();
        assert!(ignored.contains("ValidatingWebhookConfiguration"), "{name}");
        assert!(
            ignored.contains(".webhooks[]?.clientConfig.caBundle"),
            "{name}"
        );
    }
    let values = &app("istio-system")["spec"]["source"]["helm"]["valuesObject"]["global"];
    assert_eq!(values["hub"], "docker.io/istio");
    // The images are the chart's release: tag == chart version.
    assert_eq!(str_at(values, "/tag"), version);
    let ignored = serde_json::to_string(&app("istio-system")["spec"]["ignoreDifferences"]).unwrap();
    assert!(ignored.contains("MutatingWebhookConfiguration"));
}

#[test]
fn monitoring_documents_validate() {
    let docs = kustomize(&root().join("manifests/monitoring"));
    assert_eq!(validate_all("monitoring", &docs), 0);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
}

/// The health checks themselves run under Lua 5.1 in gitops/health.rs; here
/// the ConfigMap is the one ArgoCD reads, with exactly those two checks.
#[test]
fn argocd_cm_has_the_health_checks() {
    let text = std::fs::read_to_string(root().join("manifests/argocd/argocd-cm.yaml")).unwrap();
    let cm: Value = serde_saphyr::from_str(&text).unwrap();
    structural_checks("argocd-cm", &cm);
    assert_eq!(cm["metadata"]["name"], "argocd-cm");
    assert_eq!(cm["metadata"]["namespace"], "argocd");
    let keys: Vec<&String> = cm["data"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "resource.customizations.health.argoproj.io_Application",
            "resource.customizations.health.extensions.istio.io_WasmPlugin",
        ]
    );
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
