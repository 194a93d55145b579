#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `policy-cli push` to a real registry on loopback (`scripts/registry.sh
//! start`, which `make test` runs and whose address it passes as
//! `MESHPOLICY_REGISTRY`), read back with an independent client (skopeo).

use std::io::Read as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use assert_cmd::cargo::cargo_bin_cmd;
use sha2::{Digest as _, Sha256};

#[path = "support/image.rs"]
mod image;
use image::{filter_wasm, skopeo, succeeded};

/// The registry's `host:port`, checked to answer the distribution API.
fn registry() -> String {
    let addr = std::env::var("MESHPOLICY_REGISTRY").unwrap_or_else(|_| {
        panic!(
            "MESHPOLICY_REGISTRY is unset: start a registry with `scripts/registry.sh start` \
             and export the address it prints (`make test` does both)"
        )
    });
    let url = format!("http://{addr}/v2/");
    match ureq::get(&url).call() {
        Ok(response) => assert_eq!(response.status().as_u16(), 200, "{url}"),
        Err(err) => {
            panic!("the registry at {url} does not answer ({err}): run `scripts/registry.sh start`")
        }
    }
    addr
}

fn unique_tag(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn package(wasm: &Path, dir: &Path) -> String {
    image::package(wasm, dir, &[])
}

#[test]
fn pushed_image_reads_back_with_the_same_digest_and_module() {
    let registry = registry();
    let wasm = filter_wasm();
    let layout = tempfile::tempdir().unwrap();
    let digest = package(&wasm, layout.path());
    // One repository per test: the registry races when tests push the same
    // blobs to one repository at once ("invalid checksum digest format").
    let reference = format!("{registry}/meshpolicy/{}:v1", unique_tag("push"));

    let output = cargo_bin_cmd!("policy-cli")
        .args(["push"])
        .arg(layout.path())
        .arg(&reference)
        .output()
        .unwrap();
    assert_eq!(succeeded(&output), digest);

    // The registry serves the very manifest bytes whose digest we pin.
    let raw = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{reference}"),
    ]);
    assert_eq!(hex::encode(Sha256::digest(&raw)), digest);

    // Copy it out with skopeo and find the same module in the layer, where
    // Istio's fetcher looks for it.
    let copy = tempfile::tempdir().unwrap();
    let destination = format!("oci:{}:copy", copy.path().display());
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        "--preserve-digests",
        &format!("docker://{reference}"),
        &destination,
    ]);
    let manifest: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let layer_digest = manifest["layers"][0]["digest"].as_str().unwrap();
    let layer = std::fs::read(
        copy.path()
            .join("blobs/sha256")
            .join(layer_digest.strip_prefix("sha256:").unwrap()),
    )
    .unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&layer[..]));
    let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(entry.path().unwrap().to_str(), Some("plugin.wasm"));
    let mut module = Vec::new();
    entry.read_to_end(&mut module).unwrap();
    assert_eq!(module, std::fs::read(&wasm).unwrap());
}

#[test]
fn second_push_skips_the_blobs_the_registry_has() {
    let registry = registry();
    let layout = tempfile::tempdir().unwrap();
    package(&filter_wasm(), layout.path());
    let repository = unique_tag("skip");
    let push = |tag: &str| {
        cargo_bin_cmd!("policy-cli")
            .arg("push")
            .arg(layout.path())
            .arg(format!("{registry}/meshpolicy/{repository}:{tag}"))
            .output()
            .unwrap()
    };
    let first = push(&unique_tag("a"));
    succeeded(&first);
    let second = push(&unique_tag("b"));
    assert!(second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("0 blobs uploaded, 2 already present"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
}

#[test]
fn a_reference_with_another_digest_is_refused() {
    let registry = registry();
    let layout = tempfile::tempdir().unwrap();
    package(&filter_wasm(), layout.path());
    let wrong = format!(
        "{registry}/meshpolicy/{}@sha256:{}",
        unique_tag("wrong"),
        "0".repeat(64)
    );
    cargo_bin_cmd!("policy-cli")
        .arg("push")
        .arg(layout.path())
        .arg(&wrong)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("but the layout's manifest is"));
}

#[test]
fn an_unreachable_registry_is_a_failure_naming_the_url() {
    let layout = tempfile::tempdir().unwrap();
    package(&filter_wasm(), layout.path());
    // Port 9 (discard) on loopback: nothing listens there in the test setup.
    cargo_bin_cmd!("policy-cli")
        .arg("push")
        .arg(layout.path())
        .arg("127.0.0.1:9/meshpolicy/filter:x")
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "cannot reach `http://127.0.0.1:9/v2/meshpolicy/filter/blobs/",
        ));
}
