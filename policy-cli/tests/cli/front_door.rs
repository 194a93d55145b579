//! Issue 15 item 6 (the CLI's front door), one test per probe: a trap while
//! the filter starts or configures is reported as a trap with its message,
//! an empty test file is an error, and YAML budget breaches read as
//! sentences (no debug structs).

use std::path::Path;

use crate::Stream::{Stderr, Stdout};
use crate::{POLICY, TESTS, arg, run, scratch_file, validate_plain, wasm};

/// A policy whose `!!binary` name decodes to bytes that are not UTF-8.
const BINARY_NAME: &str = "apiVersion: meshpolicy.dev/v1alpha2\nkind: TrafficPolicy\nmetadata: {name: !!binary //79, namespace: prod}\nspec: {}\n";

/// A proxy-wasm module whose `export` runs `unreachable`.
fn trapping_module(dir: &Path, export: &str) -> String {
    let body = |name: &str, ret: &str| {
        if name == export {
            "unreachable".to_owned()
        } else {
            ret.to_owned()
        }
    };
    let wat = format!(
        r#"(module
  (memory (export "memory") 2)
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "_initialize") {})
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) {})
  (func (export "proxy_on_configure") (param i32 i32) (result i32) {}))"#,
        body("_initialize", ""),
        body("proxy_on_vm_start", "(i32.const 1)"),
        body("proxy_on_configure", "(i32.const 1)"),
    );
    let path = dir.join(format!("{export}.wasm"));
    std::fs::write(&path, wat::parse_str(&wat).unwrap()).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn a_trap_while_starting_or_configuring_is_reported_as_a_trap_with_its_message() {
    let dir = tempfile::tempdir().unwrap();
    for (export, phase) in [
        (
            "_initialize",
            "while starting (`_initialize`, `main` or `proxy_on_vm_start`)",
        ),
        (
            "proxy_on_vm_start",
            "while starting (`_initialize`, `main` or `proxy_on_vm_start`)",
        ),
        ("proxy_on_configure", "in `proxy_on_configure`"),
    ] {
        let module = trapping_module(dir.path(), export);
        let r = run(&[
            "test",
            POLICY,
            TESTS,
            "--wasm",
            &module,
            "--error-format",
            "plain",
        ]);
        // a trap is not a refusal
        r.exits(2)
            .has(
                Stderr,
                &format!("trapped {phase}: wasm trap: wasm `unreachable` instruction executed"),
            )
            .lacks(Stderr, "refused the policy");
    }
}

#[test]
fn an_empty_test_file_is_an_error() {
    let (_dir, empty) = scratch_file("empty.yaml", "# no cases yet\n");
    let wasm = wasm();
    run(&[
        "test",
        POLICY,
        arg(&empty),
        "--wasm",
        arg(&wasm),
        "--error-format",
        "plain",
    ])
    .exits(2)
    .has(Stderr, "has no test cases")
    .lacks(Stdout, "0 cases");
}

#[test]
fn yaml_nested_too_deep_is_a_sentence_not_depth_debug_struct() {
    let (_dir, file) = scratch_file(
        "deep.yaml",
        format!("{}1{}", "[".repeat(65), "]".repeat(65)),
    );
    validate_plain(&file)
        .exits(1)
        .has(
            Stderr,
            "the YAML nests mappings and sequences more than 32 levels deep",
        )
        .lacks(Stderr, "Depth {");
}

#[test]
fn a_yaml_alias_bomb_is_a_sentence_not_alias_anchor_ratio_debug_struct() {
    let mut yaml = String::from("a: &a [x]\nb: [");
    yaml.push_str(&vec!["*a"; 200].join(", "));
    yaml.push_str("]\n");
    let (_dir, file) = scratch_file("bomb.yaml", yaml);
    validate_plain(&file)
        .exits(1)
        .has(
            Stderr,
            "uses 200 aliases for 1 anchor(s), more than 10 per anchor",
        )
        .lacks(Stderr, "AliasAnchorRatio");
}

/// `render` read its policy with its own YAML call: no size limit for
/// stdin or devices, no parser budget, and the parser's debug structs and
/// option names in its messages (`budget breached: Nodes { nodes: 250001 }`,
/// "set ignore_binary_tag_for_string in Options"). It now reads through the
/// same front door as `validate`.
#[test]
fn render_prints_no_parser_debug_struct_or_library_option_and_keeps_the_yaml_budget() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.yaml");
    let mut yaml = String::from("a0: &a0 [x, y]\n");
    for i in 1..12 {
        let prev = format!("*a{}", i - 1);
        yaml.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            [prev.as_str(); 9].join(", ")
        ));
    }
    std::fs::write(&bomb, yaml).unwrap();
    let binary = dir.path().join("binary.yaml");
    std::fs::write(&binary, BINARY_NAME).unwrap();
    for (file, says) in [
        (&bomb, "invalid YAML: the YAML"),
        (&binary, "decodes to bytes that are not UTF-8 text"),
    ] {
        let r = run(&["render", arg(file), "--image", "oci://r/f:1"]);
        r.exits(2).has(Stderr, says);
        for library in ["Nodes {", "AliasAnchorRatio", "budget breached", "Options"] {
            r.lacks(Stderr, library);
        }
    }
    run(&["render", "/dev/zero", "--image", "oci://r/f:1"])
        .exits(2)
        .has(Stderr, "16777216");
}

/// `validate` says the same of a `!!binary` value that is not UTF-8.
#[test]
fn a_binary_yaml_value_that_is_not_utf8_is_a_sentence_not_the_parsers_option_name() {
    let (_dir, file) = scratch_file("binary.yaml", BINARY_NAME);
    validate_plain(&file)
        .exits(1)
        .has(Stderr, "not UTF-8 text")
        .lacks(Stderr, "ignore_binary_tag_for_string");
}
