//! What the image tests (`package.rs`, `push.rs`) share: the built filter,
//! running `policy-cli package`, and skopeo as the independent client.
//! Included with `#[path]`: a file directly under `tests/` would be a test
//! crate of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::cargo_bin_cmd;

/// The built filter: `$MESHPOLICY_WASM` or `target/meshpolicy.wasm`.
pub fn filter_wasm() -> PathBuf {
    let path = std::env::var_os("MESHPOLICY_WASM").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/meshpolicy.wasm"),
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "{} is missing: run `make build` (it builds target/meshpolicy.wasm) or set MESHPOLICY_WASM",
        path.display()
    );
    path
}

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
