//! `policy-cli import-tests`: istio-config-validator suites run on the .wasm.

use crate::{POLICY, cli, run, run_with, wasm};

const ICV: &str = "testdata/icv/reviews_test.yml";

fn with_wasm() -> assert_cmd::Command {
    let mut cmd = cli();
    cmd.env("MESHPOLICY_WASM", wasm());
    cmd
}

#[test]
fn an_imported_istio_config_validator_suite_passes_against_the_article_policy() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reviews.tests.yaml");
    let r = run(&[
        "import-tests",
        ICV,
        "--namespace",
        "prod",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The rewrite is configuration in the validator: said, not dropped silently.
    assert!(
        r.stderr
            .contains("compares the rule's `rewrite` as configuration"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("reviews_test.yml:15:5"), "{}", r.stderr);
    let tests = std::fs::read_to_string(&out).unwrap();
    // 2 uris x 2 methods + 2 uris + 1 = 7 cases.
    assert_eq!(tests.matches("- name:").count(), 7, "{tests}");
    let t = run_with(with_wasm(), &["test", POLICY, out.to_str().unwrap()]);
    assert_eq!(t.code, 0, "{}\n{}", t.stdout, t.stderr);
    assert!(t.stdout.contains("7 passed; 0 failed"), "{}", t.stdout);
}

#[test]
fn want_match_false_fails_when_the_request_does_go_there() {
    let dir = tempfile::tempdir().unwrap();
    let icv = dir.path().join("wrong_test.yml");
    std::fs::write(
        &icv,
        "testCases:\n  - description: legacy never reaches v2 (it does)\n    wantMatch: false\n    request: {authority: [reviews.prod.svc.cluster.local], method: [GET], uri: [/wpcatalog]}\n    route: [{destination: {host: reviews, subset: v2}}]\n",
    )
    .unwrap();
    let out = dir.path().join("wrong.tests.yaml");
    let r = run(&[
        "import-tests",
        icv.to_str().unwrap(),
        "--namespace",
        "prod",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let t = run_with(with_wasm(), &["test", POLICY, out.to_str().unwrap()]);
    assert_eq!(t.code, 1, "{}", t.stdout);
    assert!(
        t.stdout.contains("all hold: destination.host"),
        "{}",
        t.stdout
    );
}

#[test]
fn a_delegate_or_a_split_across_hosts_is_refused_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let icv = dir.path().join("bad_test.yml");
    std::fs::write(
        &icv,
        "testCases:\n  - description: delegated\n    wantMatch: true\n    request: {authority: [a], method: [GET], uri: [/]}\n    delegate: {name: other}\n  - description: two hosts\n    wantMatch: true\n    request: {authority: [a], method: [GET], uri: [/]}\n    route: [{destination: {host: a}, weight: 50}, {destination: {host: b}, weight: 50}]\n",
    )
    .unwrap();
    let r = run(&[
        "import-tests",
        icv.to_str().unwrap(),
        "--error-format",
        "plain",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("bad_test.yml:5:5: error: testCases[0].delegate"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("testCases[1].route"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}
