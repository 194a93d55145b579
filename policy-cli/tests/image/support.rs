//! What the image tests (`package`, `push`) share: the built filter,
//! running `policy-cli package`, and skopeo as the independent client.

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::cargo_bin_cmd;

/// The built filter (the test kit's: fails naming `make build`).
pub use test_kit::filter_wasm_path as filter_wasm;

/// Runs `cmd`, which must succeed (a failure shows its output); its
/// trimmed stdout.
pub fn succeeded(cmd: &mut assert_cmd::Command) -> String {
    let assert = cmd.assert().success();
    String::from_utf8(assert.get_output().stdout.clone())
        .unwrap()
        .trim()
        .to_owned()
}

/// `policy-cli package [flags] -o dir wasm`; the printed manifest digest.
pub fn package(wasm: &Path, dir: &Path, flags: &[&str]) -> String {
    succeeded(
        cargo_bin_cmd!("policy-cli")
            .arg("package")
            .args(flags)
            .arg("-o")
            .arg(dir)
            .arg(wasm),
    )
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
