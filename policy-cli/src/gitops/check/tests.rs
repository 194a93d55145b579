use serde_json::json;

use super::*;

fn plugin(spec: Value) -> Value {
    json!({"apiVersion": "extensions.istio.io/v1alpha1", "kind": "WasmPlugin", "spec": spec})
}

fn good() -> Value {
    json!({
        "url": "oci://ghcr.io/a/b:1",
        "sha256": "a".repeat(64),
        "failStrategy": "FAIL_CLOSE",
        "pluginConfig": {},
    })
}

#[test]
fn a_pinned_plugin_passes() {
    assert_eq!(wasm_plugin_problems(&plugin(good())), Vec::<String>::new());
}

#[test]
fn reports_every_problem() {
    let spec = json!({
        "url": "ftp://x",
        "sha256": 1e64,
        "selector": {}, "targetRef": {"kind": "Service", "name": "x"},
        "vmConfig": {"env": [
            {"name": "A", "value": "1"},
            {"name": "A", "valueFrom": "HOST", "value": "2"},
            {"name": ""},
        ]},
    });
    let problems = wasm_plugin_problems(&plugin(spec));
    assert_eq!(
        problems,
        vec![
            "spec.url: `ftp://x` must start with oci://, https://, http:// or file://",
            "spec.sha256: must be a string, found `1e+64` (quote it so YAML keeps it a string)",
            "spec: only one of selector, targetRef, targetRefs may be set, found selector, targetRef",
            "spec.failStrategy: must be set explicitly",
            "spec.pluginConfig: must be an object (the policy)",
            "spec.vmConfig.env[1].name: `A` is set twice",
            "spec.vmConfig.env[1].value: may only be set when valueFrom is INLINE",
            "spec.vmConfig.env[2].name: missing or empty",
        ]
    );
}

#[test]
fn digest_in_url_must_agree() {
    let mut spec = good();
    spec["url"] = json!(format!("oci://ghcr.io/a/b@sha256:{}", "b".repeat(64)));
    assert_eq!(
        wasm_plugin_problems(&plugin(spec)),
        vec![format!(
            "spec.sha256: `{}` differs from the digest `{}` in spec.url",
            "a".repeat(64),
            "b".repeat(64)
        )]
    );
}

#[test]
fn uppercase_or_short_sha_is_rejected() {
    for sha in ["A".repeat(64), "a".repeat(40)] {
        let mut spec = good();
        spec["sha256"] = json!(sha);
        assert_eq!(wasm_plugin_problems(&plugin(spec)).len(), 1);
    }
    let mut spec = good();
    spec.as_object_mut().unwrap().remove("sha256");
    assert_eq!(
        wasm_plugin_problems(&plugin(spec)),
        vec!["spec.sha256: missing, the module is not pinned"]
    );
}

#[test]
fn traffic_extension_rules_apply_to_spec_wasm() {
    let good = serde_json::json!({
        "spec": {
            "selector": {"matchLabels": {"app": "productpage"}},
            "wasm": {
                "url": format!("oci://r.io/f@sha256:{}", "ab".repeat(32)),
                "sha256": "ab".repeat(32),
                "failStrategy": "FAIL_CLOSE",
                "pluginConfig": {"kind": "TrafficPolicy"}
            }
        }
    });
    assert_eq!(traffic_extension_problems(&good), Vec::<String>::new());
    let mut bad = good.clone();
    bad["spec"]["wasm"]["sha256"] = serde_json::json!("cd".repeat(32));
    bad["spec"]["lua"] = serde_json::json!({"inlineCode": "x"});
    bad["spec"]["targetRefs"] = serde_json::json!([]);
    let problems = traffic_extension_problems(&bad);
    assert!(
        problems.iter().any(|p| p.starts_with("spec.wasm.sha256:")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("wasm or lua")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("only one of selector")),
        "{problems:?}"
    );
    assert_eq!(
        traffic_extension_problems(&serde_json::json!({"spec": {}})),
        vec!["spec.wasm: missing, the filter needs a Wasm module".to_owned()]
    );
}
