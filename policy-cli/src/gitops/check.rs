//! The WasmPlugin rules its JSON schema cannot express (the CRD states some
//! as CEL `x-kubernetes-validations`, which JSON Schema validators skip):
//! the url scheme, the sha256 pin and its agreement with a digest in the url,
//! the `vmConfig.env` rules, one way of selecting workloads, and an explicit
//! `failStrategy`. Used on rendered output and on what kustomize renders.

use std::collections::BTreeSet;

use serde_json::Value;

use super::oci::is_sha256_hex;
use super::render::url_digest;

const SCHEMES: [&str; 4] = ["oci://", "https://", "http://", "file://"];

/// Every problem of one WasmPlugin document, each `field: reason`.
pub fn wasm_plugin_problems(doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let spec = doc.get("spec").unwrap_or(&Value::Null);
    let url = spec.get("url").and_then(Value::as_str);
    match url {
        None => problems.push("spec.url: missing or not a string".to_owned()),
        Some(url) => {
            if !SCHEMES
                .iter()
                .any(|s| url.starts_with(s) && url.len() > s.len())
            {
                problems.push(format!(
                    "spec.url: `{url}` must start with oci://, https://, http:// or file://"
                ));
            }
        }
    }
    match spec.get("sha256") {
        Some(Value::String(sha)) if is_sha256_hex(sha) => {
            if let Some(in_url) = url.and_then(url_digest)
                && in_url != sha
            {
                problems.push(format!(
                    "spec.sha256: `{sha}` differs from the digest `{in_url}` in spec.url"
                ));
            }
        }
        Some(Value::String(sha)) => problems.push(format!(
            "spec.sha256: `{sha}` must be 64 lowercase hex digits"
        )),
        Some(other) => problems.push(format!(
            "spec.sha256: must be a string, found `{other}` (quote it so YAML keeps it a string)"
        )),
        None => problems.push("spec.sha256: missing, the module is not pinned".to_owned()),
    }
    let selections = ["selector", "targetRef", "targetRefs"]
        .into_iter()
        .filter(|key| spec.get(key).is_some())
        .collect::<Vec<_>>();
    if selections.len() > 1 {
        problems.push(format!(
            "spec: only one of selector, targetRef, targetRefs may be set, found {}",
            selections.join(", ")
        ));
    }
    if spec.get("failStrategy").and_then(Value::as_str).is_none() {
        problems.push("spec.failStrategy: must be set explicitly".to_owned());
    }
    if !spec.get("pluginConfig").is_some_and(Value::is_object) {
        problems.push("spec.pluginConfig: must be an object (the policy)".to_owned());
    }
    let env = spec
        .get("vmConfig")
        .and_then(|vm| vm.get("env"))
        .and_then(Value::as_array);
    let mut names = BTreeSet::new();
    for (i, var) in env.into_iter().flatten().enumerate() {
        let path = format!("spec.vmConfig.env[{i}]");
        match var.get("name").and_then(Value::as_str) {
            Some(name) if !name.is_empty() => {
                if !names.insert(name) {
                    problems.push(format!("{path}.name: `{name}` is set twice"));
                }
            }
            _ => problems.push(format!("{path}.name: missing or empty")),
        }
        let from_host = var.get("valueFrom").and_then(Value::as_str) == Some("HOST");
        if from_host && var.get("value").is_some() {
            problems.push(format!(
                "{path}.value: may only be set when valueFrom is INLINE"
            ));
        }
    }
    problems
}

/// Every problem of one TrafficExtension document: the same module rules as
/// a WasmPlugin's, on `spec.wasm`, plus the CRD's `wasm` xor `lua`.
pub fn traffic_extension_problems(doc: &Value) -> Vec<String> {
    let spec = doc.get("spec").unwrap_or(&Value::Null);
    let Some(wasm) = spec.get("wasm").and_then(Value::as_object) else {
        return vec!["spec.wasm: missing, the filter needs a Wasm module".to_owned()];
    };
    let mut problems = Vec::new();
    if spec.get("lua").is_some() {
        problems.push("spec: exactly one of wasm or lua may be set".to_owned());
    }
    // The module's settings as a WasmPlugin carries them, beside the workload selection.
    let mut view = wasm.clone();
    for key in ["selector", "targetRef", "targetRefs"] {
        if let Some(value) = spec.get(key) {
            view.insert(key.to_owned(), value.clone());
        }
    }
    let view = serde_json::json!({ "spec": view });
    problems.extend(wasm_plugin_problems(&view).into_iter().map(|problem| {
        match problem.strip_prefix("spec.") {
            Some(rest) if !rest.starts_with("selector") && !rest.starts_with("targetRef") => {
                format!("spec.wasm.{rest}")
            }
            _ => problem,
        }
    }));
    problems
}

#[cfg(test)]
mod tests;
