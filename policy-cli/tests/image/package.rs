//! `policy-cli package`: a reproducible image layout of the real filter,
//! checked with an independent client (skopeo).

use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;
use sha2::{Digest as _, Sha256};

use crate::support as image;
use image::{filter_wasm, skopeo};

fn package(wasm: &Path, dir: &Path) -> String {
    image::package(wasm, dir, &["--tag", "v1"])
}

/// Every file under `dir`, relative path and bytes, sorted.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap().display().to_string();
                files.push((relative, std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn two_runs_give_identical_bytes_and_digest() {
    let wasm = filter_wasm();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let digest_a = package(&wasm, a.path());
    let digest_b = package(&wasm, b.path());
    assert_eq!(digest_a, digest_b);
    let (tree_a, tree_b) = (tree(a.path()), tree(b.path()));
    assert_eq!(tree_a, tree_b);
    // oci-layout, index.json, and three blobs: config, layer, manifest.
    assert_eq!(
        tree_a.len(),
        5,
        "{:?}",
        tree_a.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
}

#[test]
fn printed_digest_is_the_manifest_digest_skopeo_sees() {
    let wasm = filter_wasm();
    let dir = tempfile::tempdir().unwrap();
    let digest = package(&wasm, dir.path());
    assert_eq!(digest.len(), 64, "{digest}");
    // The printed value names the manifest blob (what Istio compares for oci://).
    let manifest = std::fs::read(dir.path().join("blobs/sha256").join(&digest)).unwrap();
    assert_eq!(hex::encode(Sha256::digest(&manifest)), digest);
    let raw = skopeo(&[
        "inspect",
        "--raw",
        &format!("oci:{}:v1", dir.path().display()),
    ]);
    assert_eq!(hex::encode(Sha256::digest(&raw)), digest);
    let manifest: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    assert_eq!(
        manifest["annotations"]["module.wasm.image/variant"],
        "compat"
    );
}

#[test]
fn a_file_that_is_not_wasm_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let not_wasm = dir.path().join("policy.yaml");
    std::fs::write(&not_wasm, "kind: TrafficPolicy\n").unwrap();
    cargo_bin_cmd!("policy-cli")
        .args(["package", "-o"])
        .arg(dir.path().join("out"))
        .arg(&not_wasm)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is not a wasm module"));
}
