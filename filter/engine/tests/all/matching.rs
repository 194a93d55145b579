//! SPEC §2.1: matching, one test per semantic.

use serde_json::json;

use crate::support::{Req, destination, rule_of, rules};

fn uri_rule(m: serde_json::Value) -> meshpolicy_engine::Policy {
    rules(json!([{"match": [m], "route": [{"destination": {"host": "a"}}]}]))
}

/// For each `(path, matches)`: whether `GET path` matches the policy's rule 0.
fn assert_matches(p: &meshpolicy_engine::Policy, cases: &[(&str, bool)]) {
    for (path, matches) in cases {
        assert_eq!(
            rule_of(&Req::get(path).decide(p)),
            matches.then_some(0),
            "{path}"
        );
    }
}

#[test]
fn uri_prefix_matches_raw_path_without_segment_boundary() {
    let p = uri_rule(json!({"uri": {"prefix": "/wpcatalog"}}));
    assert_matches(
        &p,
        &[
            ("/wpcatalog", true),
            ("/wpcatalogue", true),
            ("/wpcatalog/x", true),
            ("/wpcatalo", false),
            ("/x/wpcatalog", false),
        ],
    );
}

#[test]
fn uri_prefix_ignores_the_query_string_as_envoy() {
    // Envoy's PathMatcher compares the path without the query for prefix too,
    // so a prefix containing `?` never matches.
    let p = uri_rule(json!({"uri": {"prefix": "/search?q="}}));
    assert_matches(&p, &[("/search?q=rust", false), ("/search", false)]);
    let p = uri_rule(json!({"uri": {"prefix": "/search"}}));
    assert_matches(&p, &[("/search?q=rust", true)]);
    let p = uri_rule(json!({"uri": {"prefix": "/search/"}}));
    assert_matches(&p, &[("/search?x=/", false)]);
}

#[test]
fn uri_exact_ignores_the_query_string() {
    let p = uri_rule(json!({"uri": {"exact": "/books"}}));
    assert_matches(
        &p,
        &[
            ("/books", true),
            ("/books?id=1", true),
            ("/books/", false),
            ("/book", false),
        ],
    );
}

#[test]
fn uri_regex_is_a_full_match_without_the_query_string() {
    let p = uri_rule(json!({"uri": {"regex": "/books/[0-9]+"}}));
    assert_matches(
        &p,
        &[
            ("/books/12", true),
            ("/books/12?x=1", true),
            // not a search
            ("/books/12/reviews", false),
            // anchored at the start
            ("/v1/books/12", false),
        ],
    );
}

#[test]
fn ignore_uri_case_applies_to_exact_and_prefix() {
    let p = uri_rule(json!({"uri": {"prefix": "/WP"}, "ignoreUriCase": true}));
    assert_matches(&p, &[("/wpcatalog", true)]);
    let p = uri_rule(json!({"uri": {"exact": "/Books"}, "ignoreUriCase": true}));
    assert_matches(&p, &[("/BOOKS?x", true)]);
    let p = uri_rule(json!({"uri": {"exact": "/Books"}}));
    assert_matches(&p, &[("/BOOKS", false)]);
}

#[test]
fn ignore_uri_case_does_not_apply_to_regex() {
    let p = uri_rule(json!({"uri": {"regex": "/books"}, "ignoreUriCase": true}));
    assert_matches(&p, &[("/books", true), ("/BOOKS", false)]);
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
    assert_matches(
        &p,
        &[
            ("/b?id=12&debug&v=2.1", true),
            // debug absent
            ("/b?id=12&v=2.1", false),
            ("/b?id=x&debug&v=2", false),
            ("/b?id=1&debug=&v=3", false),
        ],
    );
    let p = uri_rule(json!({"queryParams": {"id": {"exact": "1"}}}));
    assert_matches(
        &p,
        &[
            ("/b?x=2&id=1", true),
            // the first value counts
            ("/b?id=1&id=2", true),
            ("/b?id=2&id=1", false),
        ],
    );
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
    for (app, namespace) in [
        ("ratings", Some("prod")),
        ("productpage", Some("dev")),
        ("productpage", None),
    ] {
        let req = Req::get("/").source(&[("app", app)], namespace);
        assert_eq!(rule_of(&req.decide(&p)), None, "{app} in {namespace:?}");
    }
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
    assert_matches(&p, &[("/", true), ("/x?y", true), ("", true), ("*", true)]);
}

#[test]
fn the_first_matching_rule_wins() {
    let p = rules(json!([
        {"match": [{"uri": {"prefix": "/api/v2"}}], "route": [{"destination": {"host": "v2"}}]},
        {"match": [{"uri": {"regex": "/api/.*"}}], "route": [{"destination": {"host": "regex"}}]},
        {"match": [{"uri": {"prefix": "/api"}}], "route": [{"destination": {"host": "api"}}]},
        {"route": [{"destination": {"host": "default"}}]}
    ]));
    for (path, host) in [
        ("/api/v2/x", "v2.prod.svc.cluster.local"),
        ("/api/v1", "regex.prod.svc.cluster.local"),
        ("/apix", "api.prod.svc.cluster.local"),
        ("/other", "default.prod.svc.cluster.local"),
    ] {
        assert_eq!(&*destination(&p, path).host, host, "{path}");
    }
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
