//! The CEL subset from the outside: what it accepts, what it rejects and
//! why, and that compiling and evaluating never panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use meshpolicy_cel::{EvalError, Program};
use test_kit::FakeAttributes;

fn attrs() -> FakeAttributes {
    FakeAttributes::default()
        .with_str("request.host", "reviews.prod:9080")
        .with_int("destination.port", 9080)
        .with_str("upstream_peer.labels.app", "ratings")
        .with_header("x-tenant", "acme")
        .with_header(":path", "/api/v1")
}

fn run(src: &str) -> Result<String, EvalError> {
    let p = Program::compile(src).unwrap_or_else(|e| panic!("`{src}`: {e}"));
    let a = attrs();
    p.eval(&a).map(|v| v.to_label())
}

fn compile_err(src: &str) -> String {
    match Program::compile(src) {
        Ok(_) => panic!("`{src}` compiled"),
        Err(e) => e.to_string(),
    }
}

/// Each expression evaluates to its label.
fn assert_evaluates(cases: &[(&str, &str)]) {
    for (src, want) in cases {
        assert_eq!(run(src).unwrap(), *want, "`{src}`");
    }
}

/// Each expression compiles and fails to evaluate.
fn assert_eval_fails(srcs: &[&str]) {
    for src in srcs {
        assert!(run(src).is_err(), "`{src}` evaluated");
    }
}

/// Each expression is refused with this message.
fn assert_compile_errors(cases: &[(&str, &str)]) {
    for (src, want) in cases {
        assert_eq!(compile_err(src), *want, "`{src}`");
    }
}

#[test]
fn istio_examples_evaluate() {
    assert_evaluates(&[
        ("request.headers['x-tenant']", "acme"),
        ("request.host", "reviews.prod:9080"),
        ("string(destination.port)", "9080"),
        ("upstream_peer.labels['app']", "ratings"),
    ]);
}

#[test]
fn header_keys_are_case_insensitive_and_select_form_works() {
    assert_evaluates(&[
        ("request.headers['X-Tenant']", "acme"),
        ("has(request.headers.x_missing) ? 'y' : 'n'", "n"),
        ("'x-tenant' in request.headers", "true"),
        ("upstream_peer.labels.app", "ratings"),
    ]);
    assert_eval_fails(&["request.headers.x_tenant"]);
}

#[test]
fn conditionals_and_has() {
    assert_evaluates(&[
        (
            "has(request.host) ? request.host : 'none'",
            "reviews.prod:9080",
        ),
        ("has(request.scheme) ? 'x' : 'none'", "none"),
        (
            "request.headers['x-tenant'] == 'acme' ? 'gold' : 'std'",
            "gold",
        ),
        (
            "request.headers[':path'].startsWith('/api') && destination.port > 80",
            "true",
        ),
    ]);
}

#[test]
fn operators_follow_cel() {
    let min = i64::MIN.to_string();
    assert_evaluates(&[
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("-9223372036854775808", &min),
        ("'a' + 'b'", "ab"),
        ("1 == 1u", "true"),
        ("1 == 'a'", "false"),
        ("size('héllo')", "5"),
        ("'AbC'.lowerAscii()", "abc"),
        ("int('42') + 1", "43"),
        ("true ? 1 : 2", "1"),
        ("!false", "true"),
    ]);
}

#[test]
fn string_literals_unescape_unless_raw() {
    assert_evaluates(&[
        ("'a\\tb'", "a\tb"),
        ("\"a\\\\b\"", "a\\b"),
        ("r'a\\tb'", "a\\tb"),
        ("R\"a\\\"", "a\\"),
    ]);
    assert_compile_errors(&[(
        "r'abc",
        "syntax error at column 1: unterminated string literal",
    )]);
    assert!(compile_err("'''a'''").contains("triple-quoted strings"));
}

#[test]
fn runtime_errors_are_errors() {
    assert_eval_fails(&[
        "request.headers['x-none']",
        "request.scheme",
        "1 / 0",
        "9223372036854775807 + 1",
        "1 + 'a'",
        "destination.port ? 'a' : 'b'",
    ]);
}

#[test]
fn logical_operators_absorb_errors_like_cel() {
    assert_evaluates(&[
        ("true || request.scheme == 'x'", "true"),
        ("request.scheme == 'x' || true", "true"),
        ("request.scheme == 'x' && false", "false"),
    ]);
    assert_eval_fails(&["request.scheme == 'x' && true"]);
}

#[test]
fn syntax_errors_name_the_column() {
    assert_compile_errors(&[
        (
            "request.headers['x'",
            "syntax error at column 20: expected `]`, found end of expression",
        ),
        (
            "request..host",
            "syntax error at column 9: expected a field name after `.`, found `.`",
        ),
        (
            "'abc",
            "syntax error at column 1: unterminated string literal",
        ),
        (
            "1 +",
            "syntax error at column 4: unexpected end of expression",
        ),
        (
            "a # b",
            "syntax error at column 3: unexpected character `#`",
        ),
        (
            "9223372036854775808",
            "syntax error at column 1: integer literal out of range",
        ),
    ]);
}

#[test]
fn unknown_names_are_rejected() {
    assert_compile_errors(&[
        (
            "foo",
            "invalid expression at column 1: undeclared reference to `foo`",
        ),
        (
            "request.nope",
            "invalid expression at column 9: `request.nope` is not an Envoy attribute meshpolicy can read",
        ),
        (
            "request.host['a']",
            "invalid expression at column 13: `request.host` is not a map and cannot be indexed",
        ),
        (
            "has(request.headers['a'])",
            "invalid expression at column 1: invalid argument to has() macro",
        ),
        (
            "frobnicate(1)",
            "invalid expression at column 1: undeclared reference to function `frobnicate`",
        ),
    ]);
}

#[test]
fn tls_fields_are_attributes_of_both_ends_only() {
    for root in ["connection", "upstream"] {
        for field in ["tls_version", "sha256_peer_certificate_digest"] {
            let src = format!("{root}.{field}");
            assert!(Program::compile(&src).is_ok(), "{src}");
        }
    }
    for src in [
        "connection.mtls",
        "connection.termination_details",
        "upstream.local_address",
    ] {
        assert!(Program::compile(src).is_ok(), "{src}");
    }
    assert_compile_errors(&[(
        "request.tls_version",
        "invalid expression at column 9: `request.tls_version` is not an Envoy attribute meshpolicy can read",
    )]);
}

#[test]
fn outside_the_subset_is_named() {
    assert_compile_errors(&[
        (
            "[1, 2]",
            "unsupported at column 1: list literals are outside meshpolicy's CEL subset (see docs/telemetry.md)",
        ),
        (
            "{'a': 1}",
            "unsupported at column 1: map literals are outside meshpolicy's CEL subset (see docs/telemetry.md)",
        ),
        (
            "timestamp('2020-01-01T00:00:00Z')",
            "unsupported at column 1: calls to the function `timestamp` are outside meshpolicy's CEL subset (see docs/telemetry.md)",
        ),
    ]);
    assert!(
        compile_err("request.host.matches('a')")
            .starts_with("unsupported at column 14: calls to the function `matches`")
    );
    assert!(compile_err("b'abc'").contains("bytes literals"));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}1{}", "(".repeat(400), ")".repeat(400));
    assert!(compile_err(&deep).contains("nested deeper"));
    let nots = format!("{}true", "!".repeat(1000));
    assert!(compile_err(&nots).contains("nested deeper"));
    let long = "1 + ".repeat(300) + "1";
    assert!(compile_err(&long).contains("longer than"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// Compiling never panics, whatever the input; what compiles evaluates
    /// without panicking.
    #[test]
    fn compile_and_eval_are_total(src in "[a-z_.'\"\\[\\]()!?:<>=&|+*/%, 0-9u-]{0,60}") {
        if let Ok(p) = Program::compile(&src) {
            let a = attrs();
            let _ = p.eval(&a);
        }
    }

    /// Expressions built from the grammar's pieces compile or fail cleanly.
    #[test]
    fn grammar_pieces_are_total(parts in proptest::collection::vec(proptest::sample::select(vec![
        "request.host", "request.headers['x-tenant']", "destination.port", "1", "-1", "2u",
        "'a'", "true", "null", "+", "-", "*", "/", "%", "==", "<", "&&", "||", "!", "?", ":",
        "(", ")", "has(", "string(", "size(", ".startsWith(", ",", "in", "[", "]",
    ]), 0..24)) {
        let src = parts.join(" ");
        if let Ok(p) = Program::compile(&src) {
            let a = attrs();
            let _ = p.eval(&a);
        }
    }
}
