//! `policy-cli push` to a real registry on loopback (`scripts/registry.sh
//! start`, which `make test` runs and whose address it passes as
//! `MESHPOLICY_REGISTRY`), read back with an independent client (skopeo).

use std::io::Read as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use assert_cmd::cargo::cargo_bin_cmd;
use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

use crate::support as image;
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

/// The built filter packaged into a fresh layout: the layout and its
/// manifest digest.
fn packaged() -> (TempDir, String) {
    let layout = tempfile::tempdir().unwrap();
    let digest = image::package(&filter_wasm(), layout.path(), &[]);
    (layout, digest)
}

/// `registry/meshpolicy/<unique>:v1`: one repository per push, as the
/// registry races when tests push the same blobs to one repository at once
/// ("invalid checksum digest format").
fn fresh_reference(registry: &str, prefix: &str) -> String {
    format!("{registry}/meshpolicy/{}:v1", unique_tag(prefix))
}

/// `policy-cli push LAYOUT REFERENCE`.
fn push(layout: &Path, reference: &str) -> assert_cmd::Command {
    let mut cmd = cargo_bin_cmd!("policy-cli");
    cmd.arg("push").arg(layout).arg(reference);
    cmd
}

#[test]
fn pushed_image_reads_back_with_the_same_digest_and_module() {
    let registry = registry();
    let (layout, digest) = packaged();
    let reference = fresh_reference(&registry, "push");

    assert_eq!(succeeded(&mut push(layout.path(), &reference)), digest);

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
    assert_eq!(module, std::fs::read(filter_wasm()).unwrap());
}

#[test]
fn second_push_skips_the_blobs_the_registry_has() {
    let registry = registry();
    let (layout, _) = packaged();
    let repository = unique_tag("skip");
    let push_tag = |tag: &str| {
        push(
            layout.path(),
            &format!("{registry}/meshpolicy/{repository}:{tag}"),
        )
    };
    succeeded(&mut push_tag(&unique_tag("a")));
    push_tag(&unique_tag("b"))
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "0 blobs uploaded, 2 already present",
        ));
}

#[test]
fn a_reference_with_another_digest_is_refused() {
    let registry = registry();
    let (layout, _) = packaged();
    let wrong = format!(
        "{registry}/meshpolicy/{}@sha256:{}",
        unique_tag("wrong"),
        "0".repeat(64)
    );
    push(layout.path(), &wrong)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("but the layout's manifest is"));
}

#[test]
fn an_unreachable_registry_is_a_failure_naming_the_url() {
    let (layout, _) = packaged();
    // Port 9 (discard) on loopback: nothing listens there in the test setup.
    push(layout.path(), "127.0.0.1:9/meshpolicy/filter:x")
        .assert()
        .code(1)
        // The first request asks `/v2/` which authentication it wants.
        .stderr(predicates::str::contains(
            "cannot reach `http://127.0.0.1:9/v2/`",
        ));
}

// === a registry with htpasswd auth (`scripts/registry.sh start-auth`) ===

/// The address of the registry with auth (`MESHPOLICY_REGISTRY_AUTH`) and
/// its `user:password` (`target/registry-auth/credentials`).
fn registry_with_auth() -> (String, String, String) {
    let addr = std::env::var("MESHPOLICY_REGISTRY_AUTH").unwrap_or_else(|_| {
        panic!(
            "MESHPOLICY_REGISTRY_AUTH is unset: start the registry with auth with \
             `scripts/registry.sh start-auth` and export the address it prints (`make test` does both)"
        )
    });
    let path = std::env::var_os("MESHPOLICY_REGISTRY_AUTH_CREDENTIALS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/registry-auth/credentials"),
        std::path::PathBuf::from,
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: `scripts/registry.sh start-auth` writes the credentials there",
            path.display()
        )
    });
    let (user, password) = text.trim().split_once(':').unwrap();
    (addr, user.to_owned(), password.to_owned())
}

fn push_cmd(layout: &Path, reference: &str) -> assert_cmd::Command {
    let mut cmd = push(layout, reference);
    // No credentials from the machine's own docker config.
    cmd.env("DOCKER_CONFIG", "/nonexistent").env_remove("HOME");
    cmd
}

#[test]
fn a_registry_with_auth_refuses_an_anonymous_push() {
    let (registry, _, _) = registry_with_auth();
    let (layout, _) = packaged();
    let reference = fresh_reference(&registry, "anon");
    push_cmd(layout.path(), &reference)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("requires credentials"))
        .stderr(predicates::str::contains("--password-stdin"));
}

#[test]
fn push_with_username_and_password_stdin() {
    let (registry, user, password) = registry_with_auth();
    let (layout, digest) = packaged();
    let reference = fresh_reference(&registry, "stdin");
    let pushed = succeeded(
        push_cmd(layout.path(), &reference)
            .args(["--username", &user, "--password-stdin"])
            .write_stdin(format!("{password}\n")),
    );
    assert_eq!(pushed, digest);
    // skopeo reads it back with the same credentials, and not without them.
    let creds = format!("{user}:{password}");
    let raw = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        "--creds",
        &creds,
        &format!("docker://{reference}"),
    ]);
    assert_eq!(hex::encode(Sha256::digest(&raw)), digest);
    let anonymous = std::process::Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw", "--no-creds"])
        .arg(format!("docker://{reference}"))
        .output()
        .expect("skopeo is missing: run `make setup` (installs the Debian package)");
    assert!(
        !anonymous.status.success(),
        "the registry served the image without credentials"
    );
}

#[test]
fn push_with_a_docker_config_json() {
    use base64::Engine as _;
    let (registry, user, password) = registry_with_auth();
    let (layout, digest) = packaged();
    let config = tempfile::tempdir().unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(
        config.path().join("config.json"),
        serde_json::json!({"auths": {registry.clone(): {"auth": auth}}}).to_string(),
    )
    .unwrap();
    // `--registry-config FILE`.
    let reference = fresh_reference(&registry, "config");
    let pushed = succeeded(
        push_cmd(layout.path(), &reference)
            .arg("--registry-config")
            .arg(config.path().join("config.json")),
    );
    assert_eq!(pushed, digest);
    // `$DOCKER_CONFIG/config.json`, as docker and skopeo read it.
    let reference = fresh_reference(&registry, "env");
    let pushed = succeeded(push_cmd(layout.path(), &reference).env("DOCKER_CONFIG", config.path()));
    assert_eq!(pushed, digest);
    let raw = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        "--authfile",
        &config.path().join("config.json").display().to_string(),
        &format!("docker://{reference}"),
    ]);
    assert_eq!(hex::encode(Sha256::digest(&raw)), digest);
}

#[test]
fn a_wrong_password_is_rejected_naming_the_user() {
    let (registry, user, _) = registry_with_auth();
    let (layout, _) = packaged();
    let reference = fresh_reference(&registry, "wrong");
    push_cmd(layout.path(), &reference)
        .args(["--username", &user, "--password-stdin"])
        .write_stdin("not-the-password\n")
        .assert()
        .code(1)
        .stderr(predicates::str::contains(format!(
            "rejected the credentials of `{user}`"
        )));
}
