//! What the image tests (`package`, `push`) share: the built filter,
//! running `policy-cli package`, and skopeo as the independent client.

use std::path::Path;
use std::process::{Command, Output};

use assert_cmd::cargo::cargo_bin_cmd;

/// The built filter (the test kit's: fails naming `make build`).
pub use test_kit::filter_wasm_path as filter_wasm;

/// The trimmed stdout of a command that must have succeeded (its stderr
/// otherwise).
pub fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .trim()
        .to_owned()
}

/// `policy-cli package [flags] -o dir wasm`; the printed manifest digest.
pub fn package(wasm: &Path, dir: &Path, flags: &[&str]) -> String {
    let output = cargo_bin_cmd!("policy-cli")
        .arg("package")
        .args(flags)
        .arg("-o")
        .arg(dir)
        .arg(wasm)
        .output()
        .unwrap();
    succeeded(&output)
}

/// skopeo's stdout; it must succeed.
pub fn skopeo(args: &[&str]) -> Vec<u8> {
    let output = Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo is missing: run `make setup` (installs the Debian package)");
    assert!(
        output.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}
