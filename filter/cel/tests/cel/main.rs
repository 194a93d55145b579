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

#[test]
fn istio_examples_evaluate() {
    assert_eq!(run("request.headers['x-tenant']").unwrap(), "acme");
    assert_eq!(run("request.host").unwrap(), "reviews.prod:9080");
    assert_eq!(run("string(destination.port)").unwrap(), "9080");
    assert_eq!(run("upstream_peer.labels['app']").unwrap(), "ratings");
}

#[test]
fn header_keys_are_case_insensitive_and_select_form_works() {
    assert_eq!(run("request.headers['X-Tenant']").unwrap(), "acme");
    assert_eq!(
        run("has(request.headers.x_missing) ? 'y' : 'n'").unwrap(),
        "n"
    );
    assert_eq!(run("'x-tenant' in request.headers").unwrap(), "true");
    assert!(run("request.headers.x_tenant").is_err());
    assert_eq!(run("upstream_peer.labels.app").unwrap(), "ratings");
}

#[test]
fn conditionals_and_has() {
    assert_eq!(
        run("has(request.host) ? request.host : 'none'").unwrap(),
        "reviews.prod:9080"
    );
    assert_eq!(run("has(request.scheme) ? 'x' : 'none'").unwrap(), "none");
    assert_eq!(
        run("request.headers['x-tenant'] == 'acme' ? 'gold' : 'std'").unwrap(),
        "gold"
    );
    assert_eq!(
        run("request.headers[':path'].startsWith('/api') && destination.port > 80").unwrap(),
        "true"
    );
}

#[test]
fn operators_follow_cel() {
    assert_eq!(run("1 + 2 * 3").unwrap(), "7");
    assert_eq!(run("(1 + 2) * 3").unwrap(), "9");
    assert_eq!(run("-9223372036854775808").unwrap(), i64::MIN.to_string());
    assert_eq!(run("'a' + 'b'").unwrap(), "ab");
    assert_eq!(run("1 == 1u").unwrap(), "true");
    assert_eq!(run("1 == 'a'").unwrap(), "false");
    assert_eq!(run("size('héllo')").unwrap(), "5");
    assert_eq!(run("'AbC'.lowerAscii()").unwrap(), "abc");
    assert_eq!(run("int('42') + 1").unwrap(), "43");
    assert_eq!(run("true ? 1 : 2").unwrap(), "1");
    assert_eq!(run("!false").unwrap(), "true");
}

#[test]
fn runtime_errors_are_errors() {
    assert!(run("request.headers['x-none']").is_err());
    assert!(run("request.scheme").is_err());
    assert!(run("1 / 0").is_err());
    assert!(run("9223372036854775807 + 1").is_err());
    assert!(run("1 + 'a'").is_err());
    assert!(run("destination.port ? 'a' : 'b'").is_err());
}

#[test]
fn logical_operators_absorb_errors_like_cel() {
    assert_eq!(run("true || request.scheme == 'x'").unwrap(), "true");
    assert_eq!(run("request.scheme == 'x' || true").unwrap(), "true");
    assert_eq!(run("request.scheme == 'x' && false").unwrap(), "false");
    assert!(run("request.scheme == 'x' && true").is_err());
}

#[test]
fn syntax_errors_name_the_column() {
    assert_eq!(
        compile_err("request.headers['x'"),
        "syntax error at column 20: expected `]`, found end of expression"
    );
    assert_eq!(
        compile_err("request..host"),
        "syntax error at column 9: expected a field name after `.`, found `.`"
    );
    assert_eq!(
        compile_err("'abc"),
        "syntax error at column 1: unterminated string literal"
    );
    assert_eq!(
        compile_err("1 +"),
        "syntax error at column 4: unexpected end of expression"
    );
    assert_eq!(
        compile_err("a # b"),
        "syntax error at column 3: unexpected character `#`"
    );
    assert_eq!(
        compile_err("9223372036854775808"),
        "syntax error at column 1: integer literal out of range"
    );
}

#[test]
fn unknown_names_are_rejected() {
    assert_eq!(
        compile_err("foo"),
        "invalid expression at column 1: undeclared reference to `foo`"
    );
    assert_eq!(
        compile_err("request.nope"),
        "invalid expression at column 9: `request.nope` is not an Envoy attribute meshpolicy can read"
    );
    assert_eq!(
        compile_err("request.host['a']"),
        "invalid expression at column 13: `request.host` is not a map and cannot be indexed"
    );
    assert_eq!(
        compile_err("has(request.headers['a'])"),
        "invalid expression at column 1: invalid argument to has() macro"
    );
    assert_eq!(
        compile_err("frobnicate(1)"),
        "invalid expression at column 1: undeclared reference to function `frobnicate`"
    );
}

#[test]
fn outside_the_subset_is_named() {
    assert_eq!(
        compile_err("[1, 2]"),
        "unsupported at column 1: list literals are outside meshpolicy's CEL subset (see docs/telemetry.md)"
    );
    assert_eq!(
        compile_err("{'a': 1}"),
        "unsupported at column 1: map literals are outside meshpolicy's CEL subset (see docs/telemetry.md)"
    );
    assert!(
        compile_err("request.host.matches('a')")
            .starts_with("unsupported at column 14: calls to the function `matches`")
    );
    assert_eq!(
        compile_err("timestamp('2020-01-01T00:00:00Z')"),
        "unsupported at column 1: calls to the function `timestamp` are outside meshpolicy's CEL subset (see docs/telemetry.md)"
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
