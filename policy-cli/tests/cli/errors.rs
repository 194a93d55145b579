//! The error output for every kind of bad input, in both text formats.

use std::path::Path;

use crate::Stream::Stderr;
use crate::{arg, run, scratch_file, snap, validate_plain};

/// Each file in testdata/bad is one kind of bad input.
const BAD: &[(&str, i32)] = &[
    ("broken-yaml", 1),
    ("unknown-field", 1),
    ("wrong-type", 1),
    ("invalid-regex", 1),
    ("missing-subset", 0),
    ("duplicate-rule-names", 1),
    ("empty-match", 1),
    ("zero-weights", 1),
    ("unknown-kind", 1),
    ("wrong-api-version", 1),
    ("unsupported-istio-field", 1),
    ("unreachable-rule", 0),
];

#[test]
fn every_kind_of_bad_input_is_reported_with_place_path_and_reason() {
    for (name, code) in BAD {
        let file = format!("testdata/bad/{name}.yaml");
        let plain = run(&["validate", "--error-format", "plain", &file]);
        assert_eq!(plain.code, *code, "{name}: {}", plain.stderr);
        // file:line:col, then the field path, then the reason, on one line
        let first = plain.stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("{file}:")),
            "{name}: no file:line:col in {first:?}"
        );
        let human = run(&["validate", &file]);
        assert_eq!(human.code, *code);
        assert!(
            human.stderr.contains(&format!("[{file}:")),
            "{name}: no snippet header"
        );
        snap!(
            format!("bad-{name}"),
            format!("{}\n{}", plain.snapshot(), human.snapshot())
        );
    }
}

#[test]
fn an_unreadable_file_is_an_input_error() {
    let r = validate_plain(Path::new("testdata/bad/does-not-exist.yaml"));
    r.exits(2);
    assert_eq!(
        r.stderr,
        "error: cannot read `testdata/bad/does-not-exist.yaml`: no such file or directory\n"
    );
    let dir = tempfile::tempdir().unwrap();
    validate_plain(dir.path())
        .exits(2)
        .has(Stderr, "has no .yaml or .yml files");
}

#[test]
fn a_file_that_is_not_utf8_is_an_input_error() {
    let (_dir, path) = scratch_file("binary.yaml", [0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a]);
    validate_plain(&path)
        .exits(2)
        .has(Stderr, "is not UTF-8 text");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["validate"]).code, 2);
    assert_eq!(run(&["frobnicate"]).code, 2);
    assert_eq!(
        run(&["validate", "--error-format", "xml", "x.yaml"]).code,
        2
    );
}

#[test]
fn files_without_documents_are_an_error() {
    let (_dir, path) = scratch_file("empty.yaml", "# nothing here\n---\n");
    let r = validate_plain(&path);
    r.exits(1);
    assert_eq!(
        r.stderr,
        "error: the files hold no YAML documents: nothing to validate\n"
    );
    run(&["import", arg(&path)]).exits(1);
}

#[test]
fn a_typo_at_the_top_of_a_policy_is_not_dropped() {
    let (_dir, path) = scratch_file(
        "typo.yaml",
        "apiVersion: meshpolicy.dev/v1alpha2\nkind: TrafficPolicy\nmetadata: {name: x}\nspec:\n  htp: []\n",
    );
    for cmd in ["validate", "import"] {
        let r = run(&[cmd, "--error-format", "plain", arg(&path)]);
        assert_eq!(r.code, 1, "{cmd}");
        assert!(
            r.stderr
                .contains(":5:3: error: spec.htp: unknown field `htp`"),
            "{cmd}: {}",
            r.stderr
        );
    }
}
