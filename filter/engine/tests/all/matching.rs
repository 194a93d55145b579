//! SPEC §2.1: matching, one test per semantic.

use serde_json::json;

use crate::support::{Req, rule_of, rules};

fn uri_rule(m: serde_json::Value) -> meshpolicy_engine::Policy {
    rules(json!([{"match": [m], "route": [{"destination": {"host": "a"}}]}]))
}

#[test]
fn uri_prefix_matches_raw_path_without_segment_boundary() {
    let p = uri_rule(json!({"uri": {"prefix": "/wpcatalog"}}));
    assert_eq!(rule_of(&Req::get("/wpcatalog").decide(&p)), Some(0));
    assert_eq!(rule_of(&Req::get("/wpcatalogue").decide(&p)), Some(0));
    assert_eq!(rule_of(&Req::get("/wpcatalog/x").decide(&p)), Some(0));
    assert_eq!(rule_of(&Req::get("/wpcatalo").decide(&p)), None);
    assert_eq!(rule_of(&Req::get("/x/wpcatalog").decide(&p)), None);
}

#[test]
fn uri_prefix_ignores_the_query_string_as_envoy() {
    // Envoy's PathMatcher compares the path without the query for prefix too,
    // so a prefix containing `?` never matches.
    let p = uri_rule(json!({"uri": {"prefix": "/search?q="}}));
    assert_eq!(rule_of(&Req::get("/search?q=rust").decide(&p)), None);
    assert_eq!(rule_of(&Req::get("/search").decide(&p)), None);
    let p = uri_rule(json!({"uri": {"prefix": "/search"}}));
    assert_eq!(rule_of(&Req::get("/search?q=rust").decide(&p)), Some(0));
    let p = uri_rule(json!({"uri": {"prefix": "/search/"}}));
    assert_eq!(rule_of(&Req::get("/search?x=/").decide(&p)), None);
}

#[test]
fn uri_exact_ignores_the_query_string() {
    let p = uri_rule(json!({"uri": {"exact": "/books"}}));
    assert_eq!(rule_of(&Req::get("/books").decide(&p)), Some(0));
    assert_eq!(rule_of(&Req::get("/books?id=1").decide(&p)), Some(0));
    assert_eq!(rule_of(&Req::get("/books/").decide(&p)), None);
    assert_eq!(rule_of(&Req::get("/book").decide(&p)), None);
}

#[test]
fn uri_regex_is_a_full_match_without_the_query_string() {
    let p = uri_rule(json!({"uri": {"regex": "/books/[0-9]+"}}));
    assert_eq!(rule_of(&Req::get("/books/12").decide(&p)), Some(0));
    assert_eq!(rule_of(&Req::get("/books/12?x=1").decide(&p)), Some(0));
    assert_eq!(
        rule_of(&Req::get("/books/12/reviews").decide(&p)),
        None,
        "not a search"
    );
    assert_eq!(
        rule_of(&Req::get("/v1/books/12").decide(&p)),
        None,
        "anchored at the start"
    );
}

#[test]
fn ignore_uri_case_applies_to_exact_and_prefix() {
    let p = uri_rule(json!({"uri": {"prefix": "/WP"}, "ignoreUriCase": true}));
    assert_eq!(rule_of(&Req::get("/wpcatalog").decide(&p)), Some(0));
    let p = uri_rule(json!({"uri": {"exact": "/Books"}, "ignoreUriCase": true}));
    assert_eq!(rule_of(&Req::get("/BOOKS?x").decide(&p)), Some(0));
    let p = uri_rule(json!({"uri": {"exact": "/Books"}}));
    assert_eq!(rule_of(&Req::get("/BOOKS").decide(&p)), None);
}

#[test]
fn ignore_uri_case_does_not_apply_to_regex() {
    let p = uri_rule(json!({"uri": {"regex": "/books"}, "ignoreUriCase": true}));
    assert_eq!(rule_of(&Req::get("/books").decide(&p)), Some(0));
    assert_eq!(rule_of(&Req::get("/BOOKS").decide(&p)), None);
}

#[test]
fn header_match_exact_prefix_regex_and_presence() {
    let p = uri_rule(json!({"headers": {
        "x-exact": {"exact": "a"},
        "x-prefix": {"prefix": "pre"},
        "x-regex": {"regex": "[0-9]+"},
        "x-present": {}
    }}));
    let ok = Req::get("/")
        .header("x-exact", "a")
        .header("x-prefix", "prefix")
        .header("x-regex", "123")
        .header("x-present", "");
    assert_eq!(rule_of(&ok.decide(&p)), Some(0));
    assert_eq!(rule_of(&ok.clone().set("x-exact", "ab").decide(&p)), None);
    assert_eq!(
        rule_of(&ok.clone().set("x-prefix", "xpre").decide(&p)),
        None
    );
    assert_eq!(
        rule_of(&ok.clone().set("x-regex", "12a").decide(&p)),
        None,
        "regex is a full match"
    );
    let mut missing = ok.clone();
    missing.headers.retain(|(n, _)| n != "x-present");
    assert_eq!(rule_of(&missing.decide(&p)), None);
}

#[test]
fn header_names_are_case_insensitive() {
    let p = uri_rule(json!({"headers": {"X-User": {"exact": "Bob"}}}));
    assert_eq!(
        rule_of(&Req::get("/").header("x-user", "Bob").decide(&p)),
        Some(0)
    );
    assert_eq!(
        rule_of(&Req::get("/").header("x-user", "bob").decide(&p)),
        None,
        "values are case-sensitive"
    );
}

#[test]
fn header_match_sees_repeated_headers_joined_with_commas() {
    let p = uri_rule(json!({"headers": {"x-a": {"exact": "1,2"}}}));
    assert_eq!(
        rule_of(
            &Req::get("/")
                .header("x-a", "1")
                .header("x-a", "2")
                .decide(&p)
        ),
        Some(0)
    );
}

#[test]
fn without_headers_treats_a_missing_header_as_empty() {
    let p = uri_rule(json!({"withoutHeaders": {"x-canary": {"exact": "yes"}}}));
    assert_eq!(
        rule_of(&Req::get("/").decide(&p)),
        Some(0),
        "missing = empty, not `yes`"
    );
    assert_eq!(
        rule_of(&Req::get("/").header("x-canary", "no").decide(&p)),
        Some(0)
    );
    assert_eq!(
        rule_of(&Req::get("/").header("x-canary", "yes").decide(&p)),
        None
    );
    // A regex that matches the empty value excludes requests without the header.
    let p = uri_rule(json!({"withoutHeaders": {"x-canary": {"regex": ".*"}}}));
    assert_eq!(rule_of(&Req::get("/").decide(&p)), None);
}

#[test]
fn without_headers_presence_means_the_header_is_absent() {
    for m in [json!({}), json!({"regex": "*"})] {
        let p = uri_rule(json!({"withoutHeaders": {"x-debug": m}}));
        assert_eq!(rule_of(&Req::get("/").decide(&p)), Some(0));
        assert_eq!(
            rule_of(&Req::get("/").header("x-debug", "").decide(&p)),
            None
        );
    }
}

#[test]
fn query_params_match_exact_prefix_regex_and_presence() {
    let p = uri_rule(
        json!({"queryParams": {"id": {"regex": "[0-9]+"}, "debug": {}, "v": {"prefix": "2"}}}),
    );
    assert_eq!(
        rule_of(&Req::get("/b?id=12&debug&v=2.1").decide(&p)),
        Some(0)
    );
    assert_eq!(
        rule_of(&Req::get("/b?id=12&v=2.1").decide(&p)),
        None,
        "debug absent"
    );
    assert_eq!(rule_of(&Req::get("/b?id=x&debug&v=2").decide(&p)), None);
    assert_eq!(rule_of(&Req::get("/b?id=1&debug=&v=3").decide(&p)), None);
    let p = uri_rule(json!({"queryParams": {"id": {"exact": "1"}}}));
    assert_eq!(rule_of(&Req::get("/b?x=2&id=1").decide(&p)), Some(0));
    assert_eq!(
        rule_of(&Req::get("/b?id=1&id=2").decide(&p)),
        Some(0),
        "first value counts"
    );
    assert_eq!(rule_of(&Req::get("/b?id=2&id=1").decide(&p)), None);
}

#[test]
fn method_scheme_and_authority_match() {
    let p = uri_rule(json!({
        "method": {"exact": "POST"},
        "scheme": {"exact": "https"},
        "authority": {"prefix": "reviews"}
    }));
    let ok = Req::new("POST", "/").set(":scheme", "https");
    assert_eq!(rule_of(&ok.decide(&p)), Some(0));
    assert_eq!(
        rule_of(&Req::new("GET", "/").set(":scheme", "https").decide(&p)),
        None
    );
    assert_eq!(
        rule_of(&Req::new("POST", "/").decide(&p)),
        None,
        "scheme http"
    );
    assert_eq!(rule_of(&ok.set(":authority", "ratings").decide(&p)), None);
}

#[test]
fn source_labels_source_namespace_and_port_come_from_the_request() {
    let p = uri_rule(
        json!({"sourceLabels": {"app": "productpage"}, "sourceNamespace": "prod", "port": 9080}),
    );
    let ok = Req::get("/").source(&[("app", "productpage"), ("version", "v1")], Some("prod"));
    assert_eq!(rule_of(&ok.decide(&p)), Some(0));
    assert_eq!(rule_of(&ok.clone().port(Some(8080)).decide(&p)), None);
    assert_eq!(rule_of(&ok.clone().port(None).decide(&p)), None);
    assert_eq!(
        rule_of(
            &Req::get("/")
                .source(&[("app", "ratings")], Some("prod"))
                .decide(&p)
        ),
        None
    );
    assert_eq!(
        rule_of(
            &Req::get("/")
                .source(&[("app", "productpage")], Some("dev"))
                .decide(&p)
        ),
        None
    );
    assert_eq!(
        rule_of(
            &Req::get("/")
                .source(&[("app", "productpage")], None)
                .decide(&p)
        ),
        None
    );
}

#[test]
fn match_entries_are_or_and_fields_in_one_entry_are_and() {
    let p = rules(json!([{
        "match": [
            {"uri": {"prefix": "/a"}, "headers": {"x": {"exact": "1"}}},
            {"uri": {"prefix": "/b"}}
        ],
        "route": [{"destination": {"host": "a"}}]
    }]));
    assert_eq!(
        rule_of(&Req::get("/a").header("x", "1").decide(&p)),
        Some(0)
    );
    assert_eq!(rule_of(&Req::get("/a").decide(&p)), None);
    assert_eq!(rule_of(&Req::get("/b").decide(&p)), Some(0));
}

#[test]
fn a_rule_without_match_matches_everything() {
    let p = rules(json!([{"route": [{"destination": {"host": "a"}}]}]));
    for path in ["/", "/x?y", "", "*"] {
        assert_eq!(rule_of(&Req::get(path).decide(&p)), Some(0), "{path}");
    }
}

#[test]
fn the_first_matching_rule_wins() {
    let p = rules(json!([
        {"match": [{"uri": {"prefix": "/api/v2"}}], "route": [{"destination": {"host": "v2"}}]},
        {"match": [{"uri": {"regex": "/api/.*"}}], "route": [{"destination": {"host": "regex"}}]},
        {"match": [{"uri": {"prefix": "/api"}}], "route": [{"destination": {"host": "api"}}]},
        {"route": [{"destination": {"host": "default"}}]}
    ]));
    let host = |path: &str| {
        Req::get(path)
            .decide(&p)
            .destination
            .unwrap()
            .host
            .to_string()
    };
    assert_eq!(host("/api/v2/x"), "v2.prod.svc.cluster.local");
    assert_eq!(host("/api/v1"), "regex.prod.svc.cluster.local");
    assert_eq!(host("/apix"), "api.prod.svc.cluster.local");
    assert_eq!(host("/other"), "default.prod.svc.cluster.local");
}

#[test]
fn explain_says_why_each_rule_did_not_match() {
    let p = rules(json!([
        {"name": "a", "match": [{"uri": {"prefix": "/a"}}, {"headers": {"x-user": {"exact": "7"}}}], "route": [{"destination": {"host": "a"}}]},
        {"name": "b", "route": [{"destination": {"host": "b"}}]}
    ]));
    let t = Req::get("/b").header("x-user", "8").explain(&p);
    assert_eq!(t.rules.len(), 2);
    assert!(!t.rules[0].matched);
    assert_eq!(
        t.rules[0].reasons[0],
        "match[0]: uri.prefix `/a` does not match path `/b`"
    );
    assert_eq!(
        t.rules[0].reasons[1],
        "match[1]: header `x-user` exact `7` does not match `8`"
    );
    assert!(t.rules[1].matched);
    assert!(
        t.actions
            .iter()
            .any(|a| a.contains("destination `b.prod.svc.cluster.local`")),
        "{:?}",
        t.actions
    );
}
