//! `policy-cli render`: golden bytes, determinism, `--check` on the
//! committed tree and on drift, and refusal of invalid input.

use std::path::{Path, PathBuf};

use policy_cli::gitops::check::wasm_plugin_problems;
use policy_cli::gitops::release::built_digest;
use serde_json::Value;

use crate::tree;
use tree::{filter_wasm, kustomize, policy_cli, root, stdout};

const POLICY: &str = "manifests/policy/reviews.policy.yaml";
const IMAGE: &str = "ghcr.io/meshpolicy/meshpolicy-filter:0.1.0";
// Digits and one `e`: unquoted, YAML would read this as a float.
const SHA: &str = "1234567890123456789012345678901234567890123456789012345678901e10";

/// Staging's pin, what `make manifests` renders the base with.
const STAGING: &str = "manifests/overlays/staging/release.env";

fn render(extra: &[&str]) -> assert_cmd::assert::Assert {
    policy_cli()
        .args(["render", POLICY, "--image", IMAGE, "--sha256", SHA])
        .args(extra)
        .assert()
}

#[test]
fn golden_render_of_the_article_policy() {
    let out = render(&["--selector", "app=productpage"]).success();
    insta::with_settings!({snapshot_path => "../../testdata/gitops/snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("reviews_render", stdout(&out));
    });
}

#[test]
fn two_renders_are_byte_for_byte_equal() {
    let a = stdout(&render(&[]).success());
    let b = stdout(&render(&[]).success());
    assert_eq!(a, b);
}

#[test]
fn rendered_documents_parse_and_pin_the_module() {
    let text = stdout(&render(&[]).success());
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["WasmPlugin", "VirtualService", "DestinationRule"]);
    let plugin = &docs[0];
    assert_eq!(wasm_plugin_problems(plugin), Vec::<String>::new());
    // The float-looking digest stayed a string, quoted in the text.
    assert_eq!(plugin["spec"]["sha256"], SHA);
    assert!(text.contains(&format!("sha256: \"{SHA}\"")));
    assert!(text.contains(&format!("url: \"oci://{IMAGE}\"")));
    // pluginConfig is the policy the engine reads from the file.
    let policy: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(root().join(POLICY)).unwrap()).unwrap();
    let expected = meshpolicy_engine::from_value(policy).unwrap();
    let config = serde_json::to_string(&plugin["spec"]["pluginConfig"]).unwrap();
    assert_eq!(meshpolicy_engine::from_json(&config).unwrap(), expected);
}

#[test]
fn check_passes_on_the_committed_tree() {
    policy_cli()
        .args(["render", POLICY, "--release", STAGING, "--wasm"])
        .arg(filter_wasm())
        .args(["--check", "manifests/base/rendered"])
        .assert()
        .code(0)
        .stderr(predicates::str::contains("matches a fresh render"));
}

fn release_env(dir: &Path, sha: &str, published: bool) -> PathBuf {
    let path = dir.join("release.env");
    std::fs::write(
        &path,
        format!("REPOSITORY=oci://r.io/meshpolicy/f\nSHA256={sha}\nPUBLISHED={published}\n"),
    )
    .unwrap();
    path
}

#[test]
fn a_pin_that_is_not_the_build_fails_unless_published() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = filter_wasm();
    let built = built_digest(&wasm).unwrap();
    let stale = "0".repeat(64);
    assert_ne!(built, stale);
    let run = |env: &Path| {
        policy_cli()
            .args(["render", POLICY, "--release"])
            .arg(env)
            .arg("--wasm")
            .arg(&wasm)
            .assert()
    };
    run(&release_env(dir.path(), &stale, false))
        .code(1)
        .stderr(predicates::str::contains(format!("gives `{built}`")))
        .stderr(predicates::str::contains("run `make manifests`"));
    let out = run(&release_env(dir.path(), &stale, true)).success();
    assert!(stdout(&out).contains(&format!("url: \"oci://r.io/meshpolicy/f@sha256:{stale}\"")));
    run(&release_env(dir.path(), &built, false)).success();
    // A bad release file is a usage error naming the key.
    std::fs::write(
        dir.path().join("release.env"),
        "REPOSITORY=r.io/f\nSHA256=xyz\nPUBLISHED=false\n",
    )
    .unwrap();
    run(&dir.path().join("release.env"))
        .code(2)
        .stderr(predicates::str::contains("`SHA256=xyz`"));
}

#[test]
fn kind_and_pull_secret_flags() {
    let out = render(&[
        "--kind",
        "TrafficExtension",
        "--image-pull-secret",
        "ghcr-pull",
    ])
    .success();
    let text = stdout(&out);
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    assert_eq!(docs[0]["kind"], "TrafficExtension");
    assert_eq!(docs[0]["spec"]["wasm"]["sha256"], SHA);
    assert_eq!(docs[0]["spec"]["wasm"]["imagePullSecret"], "ghcr-pull");
    assert!(text.contains(&format!("sha256: \"{SHA}\"")));
    render(&["--kind", "Lua"])
        .code(2)
        .stderr(predicates::str::contains("WasmPlugin"));
}

#[test]
fn check_shows_drift_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "wasmplugin.yaml",
        "virtualservices.yaml",
        "destinationrules.yaml",
    ] {
        let text =
            std::fs::read_to_string(root().join("manifests/base/rendered").join(name)).unwrap();
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let plugin = dir.path().join("wasmplugin.yaml");
    let edited = std::fs::read_to_string(&plugin)
        .unwrap()
        .replace("failStrategy: FAIL_CLOSE", "failStrategy: FAIL_OPEN");
    std::fs::write(&plugin, edited).unwrap();
    std::fs::remove_file(dir.path().join("destinationrules.yaml")).unwrap();
    let out = policy_cli()
        .args(["render", POLICY, "--release", STAGING, "--check"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(predicates::str::contains("2 file(s)"))
        .stderr(predicates::str::contains("run `make manifests`"));
    let diff = stdout(&out);
    assert!(diff.contains("-  failStrategy: FAIL_OPEN"), "{diff}");
    assert!(diff.contains("+  failStrategy: FAIL_CLOSE"), "{diff}");
    assert!(diff.contains("+kind: DestinationRule"), "{diff}");
}

#[test]
fn an_invalid_policy_renders_nothing() {
    let out = policy_cli()
        .args([
            "render",
            "policy-cli/testdata/gitops/invalid.policy.yaml",
            "--image",
            IMAGE,
            "--sha256",
            SHA,
        ])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "is not a valid policy, nothing rendered",
        ))
        .stderr(predicates::str::contains(
            "spec.virtualServices[0].http[0].match[0].uri.regex",
        ))
        .stderr(predicates::str::contains("spec.virtualServices[0].http[1]"));
    assert!(out.get_output().stdout.is_empty());
}

#[test]
fn bad_pins_are_usage_errors() {
    render(&[]).success();
    for (pins, says) in [
        (
            &["--image", IMAGE, "--sha256", "ABC"][..],
            "`--sha256 ABC` must be 64 lowercase hex digits",
        ),
        (&["--image", IMAGE], "`--sha256` is required"),
        (&["--image", "ftp://x/y", "--sha256", SHA], "scheme must be"),
    ] {
        policy_cli()
            .args(["render", POLICY])
            .args(pins)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(says));
    }
}

#[test]
fn kustomize_round_trip_keeps_a_number_like_sha256_a_string() {
    let dir = tempfile::tempdir().unwrap();
    render(&["-o", dir.path().to_str().unwrap()]).success();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources: [wasmplugin.yaml]\nnamespace: roundtrip\n\
         patches:\n  - target: {kind: WasmPlugin}\n    patch: |-\n      \
         - {op: replace, path: /spec/failStrategy, value: FAIL_OPEN}\n",
    )
    .unwrap();
    let docs = kustomize(dir.path());
    let plugin = &docs[0];
    assert_eq!(plugin["metadata"]["namespace"], "roundtrip");
    assert_eq!(plugin["spec"]["failStrategy"], "FAIL_OPEN");
    assert_eq!(
        plugin["spec"]["sha256"].as_str(),
        Some(SHA),
        "{}",
        plugin["spec"]["sha256"]
    );
}
