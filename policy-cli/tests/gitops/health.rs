//! The ArgoCD health checks in `manifests/argocd/argocd-cm.yaml`, executed
//! under Lua 5.1 (ArgoCD runs them in gopher-lua, a Lua 5.1) with `obj` set
//! the way ArgoCD sets it, on WasmPlugin objects as an Istio 1.30 cluster
//! holds them: the rendered plugin as the API server returns it (defaults,
//! `metadata.generation`), with the analysis messages and `observedGeneration`
//! istiod writes when analysis is on, with a stale `Reconciled` condition from
//! an older Istio, broken ones, and other teams' plugins.

use mlua::{Lua, LuaSerdeExt as _, Value as LuaValue};
use serde_json::{Value, json};

use crate::tree;
use tree::{kustomize, root};

fn health_check(kind: &str) -> String {
    let text = std::fs::read_to_string(root().join("manifests/argocd/argocd-cm.yaml")).unwrap();
    let cm: Value = serde_saphyr::from_str(&text).unwrap();
    cm["data"][format!("resource.customizations.health.{kind}")]
        .as_str()
        .unwrap_or_else(|| panic!("argocd-cm.yaml has no health check for {kind}"))
        .to_owned()
}

/// Runs the check on `obj`: (status, message).
fn assess(script: &str, obj: &Value) -> (String, String) {
    let lua = Lua::new();
    let version: String = lua.globals().get("_VERSION").unwrap();
    assert_eq!(
        version, "Lua 5.1",
        "the checks must run under ArgoCD's Lua version"
    );
    lua.globals()
        .set("obj", lua.to_value(obj).unwrap())
        .unwrap();
    // ArgoCD runs the script as a function body: `return` gives the result.
    let result: LuaValue = lua
        .load(script)
        .set_name("health check")
        .eval()
        .unwrap_or_else(|e| panic!("the health check fails on {obj}: {e}"));
    let table = match result {
        LuaValue::Table(table) => table,
        other => panic!("the health check returned {other:?}, not a table"),
    };
    let status: String = table.get("status").unwrap();
    let message: String = table.get("message").unwrap_or_default();
    (status, message)
}

/// The rendered production WasmPlugin as the API server returns it.
fn served_plugin() -> Value {
    let docs = kustomize(&root().join("manifests/overlays/production"));
    let mut plugin = docs
        .into_iter()
        .find(|d| d["kind"] == "WasmPlugin")
        .unwrap();
    let metadata = plugin["metadata"].as_object_mut().unwrap();
    metadata.insert("generation".to_owned(), json!(2));
    metadata.insert("resourceVersion".to_owned(), json!("48213"));
    metadata.insert(
        "uid".to_owned(),
        json!("6f1c3c5e-2d1a-4f0e-9b7a-0c1e2d3f4a5b"),
    );
    metadata.insert(
        "creationTimestamp".to_owned(),
        json!("2026-11-30T01:02:03Z"),
    );
    plugin
}

/// The object that holds `pointer`'s last key, and that key.
fn parent_of<'a>(
    plugin: &'a mut Value,
    pointer: &'a str,
) -> (&'a mut serde_json::Map<String, Value>, &'a str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let object = plugin.pointer_mut(parent).unwrap().as_object_mut().unwrap();
    (object, key)
}

fn with(mut plugin: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = parent_of(&mut plugin, pointer);
    parent.insert(key.to_owned(), value);
    plugin
}

fn without(mut plugin: Value, pointer: &str) -> Value {
    let (parent, key) = parent_of(&mut plugin, pointer);
    parent.remove(key);
    plugin
}

#[test]
fn wasm_plugins_as_istio_1_30_writes_them() {
    let script = health_check("extensions.istio.io_WasmPlugin");
    let plugin = served_plugin();
    let sha = plugin["spec"]["sha256"].as_str().unwrap().to_owned();

    // 1. No status at all: Istio's default (no analysis) writes none.
    let (status, message) = assess(&script, &plugin);
    assert_eq!(status, "Healthy", "{message}");
    assert!(message.contains(&sha[..12]), "{message}");
    assert!(
        message.contains("not visible here"),
        "the check must not claim the module loaded: {message}"
    );

    // 2. Analysis on: observedGeneration and a WARNING message.
    let analysed = with(
        plugin.clone(),
        "/status",
        json!({
            "observedGeneration": "2",
            "validationMessages": [{
                "documentationUrl": "https://istio.io/v1.30/docs/reference/config/analysis/ist0118/",
                "level": "WARNING",
                "type": {"code": "IST0118", "name": "PortNameIsNotUnderNamingConvention"}
            }]
        }),
    );
    let (status, message) = assess(&script, &analysed);
    assert_eq!(status, "Healthy", "{message}");
    assert!(message.contains("1 analysis warning"), "{message}");

    // 3. An ERROR from analysis is shown.
    let error = with(
        plugin.clone(),
        "/status",
        json!({
            "observedGeneration": 2,
            "validationMessages": [{
                "level": "ERROR",
                "type": {"code": "IST0101", "name": "ReferencedResourceNotFound"}
            }]
        }),
    );
    let (status, message) = assess(&script, &error);
    assert_eq!(status, "Degraded");
    assert!(message.starts_with("IST0101 (ERROR)"), "{message}");

    // 4. A `Reconciled=False` condition left by an Istio before 1.23 is not
    //    evidence of anything on 1.30: the check does not read it.
    let stale = with(
        plugin.clone(),
        "/status",
        json!({"conditions": [{"type": "Reconciled", "status": "False", "message": "old"}]}),
    );
    assert_eq!(assess(&script, &stale).0, "Healthy");

    // 5. A url that names another digest than sha256.
    let url = plugin["spec"]["url"]
        .as_str()
        .unwrap()
        .replace(&sha, &"f".repeat(64));
    let (status, message) = assess(&script, &with(plugin.clone(), "/spec/url", json!(url)));
    assert_eq!(status, "Degraded");
    assert!(message.contains("another digest"), "{message}");

    // 6. Not pinned, or pinned with something that is not a digest.
    let (status, message) = assess(&script, &without(plugin.clone(), "/spec/sha256"));
    assert_eq!(status, "Degraded");
    assert!(message.contains("not pinned"), "{message}");
    let upper = with(plugin.clone(), "/spec/sha256", json!(sha.to_uppercase()));
    assert_eq!(assess(&script, &upper).0, "Degraded");

    // 7. No policy.
    let (status, message) = assess(&script, &without(plugin.clone(), "/spec/pluginConfig"));
    assert_eq!(status, "Degraded");
    assert!(message.contains("pluginConfig"), "{message}");
}

#[test]
fn other_teams_plugins_are_not_assessed() {
    let script = health_check("extensions.istio.io_WasmPlugin");
    // Pinned only by a digest in the url, no sha256: fine for Istio, and
    // none of meshpolicy's business.
    let theirs = json!({
        "apiVersion": "extensions.istio.io/v1alpha1",
        "kind": "WasmPlugin",
        "metadata": {"name": "ratelimit", "namespace": "payments", "generation": 1,
                     "labels": {"app.kubernetes.io/part-of": "payments"}},
        "spec": {"url": format!("oci://ghcr.io/payments/ratelimit@sha256:{}", "e".repeat(64)),
                 "phase": "AUTHZ"}
    });
    let (status, message) = assess(&script, &theirs);
    assert_eq!(status, "Healthy");
    assert!(message.contains("not assessed"), "{message}");
    let unlabelled = without(theirs, "/metadata/labels");
    assert_eq!(assess(&script, &unlabelled).0, "Healthy");
}

#[test]
fn applications_report_their_own_health() {
    let script = health_check("argoproj.io_Application");
    let app = |health: Value| json!({"kind": "Application", "status": {"health": health}});
    assert_eq!(
        assess(&script, &app(json!({"status": "Degraded", "message": "x"}))),
        ("Degraded".to_owned(), "x".to_owned())
    );
    assert_eq!(
        assess(&script, &app(json!({"status": "Healthy"}))).0,
        "Healthy"
    );
    assert_eq!(
        assess(&script, &json!({"kind": "Application"})).0,
        "Progressing"
    );
}
