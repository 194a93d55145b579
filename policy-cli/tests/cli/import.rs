//! `policy-cli import`.

use crate::Stream::{Stderr, Stdout};
use crate::{ISTIO, arg, run, scratch_file, snap};

#[test]
fn the_articles_istio_yaml_imports_into_one_policy() {
    let r = run(&["import", ISTIO]);
    // PeerAuthentication is skipped with a note, not an error
    r.exits(0)
        .has(Stderr, "note: skipped PeerAuthentication `default`");
    snap!("import-article", r.snapshot());
}

#[test]
fn every_example_file_imports_on_its_own() {
    for entry in std::fs::read_dir(crate::crate_dir().join(ISTIO)).unwrap() {
        let path = entry.unwrap().path();
        let r = run(&["import", path.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}: {}", path.display(), r.stderr);
    }
}

#[test]
fn importing_the_output_again_is_stable() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.yaml");
    let second = dir.path().join("second.yaml");
    assert_eq!(
        run(&["import", ISTIO, "-o", first.to_str().unwrap()]).code,
        0
    );
    let r = run(&["import", arg(&first), "-o", arg(&second)]);
    // a policy imports as itself: no notes, only the warning that its two
    // virtual services for reviews.prod.svc.cluster.local are merged
    r.exits(0).lacks(Stderr, "note");
    assert_eq!(
        r.stderr.matches("merged-virtual-services").count(),
        1,
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&first).unwrap(),
        std::fs::read_to_string(&second).unwrap()
    );
    // and the hand-written article policy validates like the imported one
    assert_eq!(run(&["validate", first.to_str().unwrap()]).code, 0);
}

#[test]
fn fields_meshpolicy_cannot_enforce_are_errors_not_dropped() {
    let r = run(&["import", "testdata/bad/unsupported-istio-field.yaml"]);
    r.exits(1);
    assert_eq!(
        r.stdout, "",
        "nothing is written when a field would be lost"
    );
    snap!("import-unsupported", r.snapshot());
}

#[test]
fn name_flag_sets_the_policy_name() {
    run(&[
        "import",
        "--name",
        "shop",
        &format!("{ISTIO}/reviews-canary.yaml"),
    ])
    .exits(0)
    .has(Stdout, "name: shop\n");
}

#[test]
fn a_policys_metadata_survives_import() {
    let (_dir, path) = scratch_file(
        "p.yaml",
        "apiVersion: meshpolicy.dev/v1alpha2\nkind: TrafficPolicy\nmetadata: {name: x, namespace: prod, labels: {team: a}}\nspec: {}\n",
    );
    let r = run(&["import", arg(&path)]);
    r.exits(0)
        .has(Stdout, "namespace: prod\n")
        .has(Stdout, "team: a\n");
    assert!(r.stdout.ends_with('\n'));
}
