//! `policy-cli import-tests`: istio-config-validator suites run on the .wasm.

use std::path::Path;

use crate::Stream::{Stderr, Stdout};
use crate::{POLICY, Run, arg, run, run_wasm, scratch_file};

const ICV: &str = "testdata/icv/reviews_test.yml";

/// `import-tests SUITE --namespace prod -o OUT`.
fn import_into(suite: &str, out: &Path) -> Run {
    run(&["import-tests", suite, "--namespace", "prod", "-o", arg(out)])
}

#[test]
fn an_imported_istio_config_validator_suite_passes_against_the_article_policy() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reviews.tests.yaml");
    // The rewrite is configuration in the validator: said, not dropped silently.
    import_into(ICV, &out)
        .exits(0)
        .has(Stderr, "compares the rule's `rewrite` as configuration")
        .has(Stderr, "reviews_test.yml:15:5");
    let tests = std::fs::read_to_string(&out).unwrap();
    // 2 uris x 2 methods + 2 uris + 1 = 7 cases.
    assert_eq!(tests.matches("- name:").count(), 7, "{tests}");
    run_wasm(&["test", POLICY, arg(&out)])
        .exits(0)
        .has(Stdout, "7 passed; 0 failed");
}

#[test]
fn want_match_false_fails_when_the_request_does_go_there() {
    let (dir, icv) = scratch_file(
        "wrong_test.yml",
        "testCases:\n  - description: legacy never reaches v2 (it does)\n    wantMatch: false\n    request: {authority: [reviews.prod.svc.cluster.local], method: [GET], uri: [/wpcatalog]}\n    route: [{destination: {host: reviews, subset: v2}}]\n",
    );
    let out = dir.path().join("wrong.tests.yaml");
    import_into(arg(&icv), &out).exits(0);
    run_wasm(&["test", POLICY, arg(&out)])
        .exits(1)
        .has(Stdout, "all hold: destination.host");
}

#[test]
fn a_delegate_or_a_split_across_hosts_is_refused_at_its_line() {
    let (_dir, icv) = scratch_file(
        "bad_test.yml",
        "testCases:\n  - description: delegated\n    wantMatch: true\n    request: {authority: [a], method: [GET], uri: [/]}\n    delegate: {name: other}\n  - description: two hosts\n    wantMatch: true\n    request: {authority: [a], method: [GET], uri: [/]}\n    route: [{destination: {host: a}, weight: 50}, {destination: {host: b}, weight: 50}]\n",
    );
    let r = run(&["import-tests", arg(&icv), "--error-format", "plain"]);
    r.exits(1)
        .has(Stderr, "bad_test.yml:5:5: error: testCases[0].delegate")
        .has(Stderr, "testCases[1].route");
    assert!(r.stdout.is_empty());
}
