//! Matchers built from Envoy's JSON (`RouteMatch`, `HeaderMatcher`,
//! `QueryParameterMatcher`), as a route table gives them.

use serde_json::{Value, json};

use super::*;

fn headers(pairs: &[(&str, &str)]) -> crate::header_list::Headers {
    crate::header_list::bytes(pairs)
}

fn header_matcher(h: Value) -> HeaderMatcher {
    serde_json::from_value(h).unwrap()
}

/// The path matcher of the `RouteMatch` `m`, which must build.
fn path(m: Value) -> PathMatcher {
    PathMatcher::build("m", &serde_json::from_value(m).unwrap()).unwrap()
}

/// The header matcher `h`, which must build.
fn header_data(h: Value) -> HeaderData {
    HeaderData::build("h", &header_matcher(h)).unwrap()
}

/// The query parameter matcher `q`, which must build.
fn query(q: Value) -> QueryData {
    QueryData::build("q", &serde_json::from_value(q).unwrap()).unwrap()
}

#[test]
fn prefix_ignores_the_query_string_and_has_no_segment_boundary() {
    let m = path(json!({"prefix": "/search?q="}));
    assert!(!m.matches("/search?q=x"));
    let m = path(json!({"prefix": "/wpcatalog"}));
    assert!(m.matches("/wpcatalogue?x=1"));
    assert!(!m.matches("/WPcatalog"));
}

#[test]
fn exact_and_regex_see_the_path_without_query_and_regex_is_a_full_match() {
    let exact = path(json!({"path": "/a", "case_sensitive": false}));
    assert!(exact.matches("/A?b=1"));
    assert!(!exact.matches("/a/b"));
    let re = path(json!({"safe_regex": "/r/[0-9]+"}));
    assert!(re.matches("/r/12?x=y"));
    assert!(!re.matches("/r/12/x"));
}

#[test]
fn path_separated_prefix_needs_a_segment_boundary() {
    let m = path(json!({"path_separated_prefix": "/api"}));
    assert!(m.matches("/api"));
    assert!(m.matches("/api/v1"));
    assert!(m.matches("/api?x"));
    assert!(!m.matches("/apis"));
}

#[test]
fn several_values_of_a_header_are_joined_with_commas() {
    let m = header_data(json!({"name": "x-v", "exact": "a,b"}));
    assert!(m.matches(&headers(&[("x-v", "a"), ("x-v", "b")])));
    assert!(!m.matches(&headers(&[("x-v", "a")])));
}

#[test]
fn a_missing_header_fails_value_matchers_even_inverted_unless_treated_as_empty() {
    let mut inverted = json!({"name": "x-v", "exact": "x", "invert_match": true});
    let m = header_data(inverted.clone());
    assert!(!m.matches(&[]));
    assert!(m.matches(&headers(&[("x-v", "y")])));
    inverted["treat_missing_header_as_empty"] = json!(true);
    let m = header_data(inverted);
    assert!(m.matches(&[]));
}

#[test]
fn present_matchers_follow_envoy() {
    let present = header_data(json!({"name": "x-v"}));
    assert!(present.matches(&headers(&[("x-v", "")])));
    assert!(!present.matches(&[]));
    let absent = header_data(json!({"name": "x-v", "present": false}));
    assert!(absent.matches(&[]));
    let inverted = header_data(json!({"name": "x-v", "invert_match": true}));
    assert!(inverted.matches(&[]));
    assert!(!inverted.matches(&headers(&[("x-v", "1")])));
}

#[test]
fn pseudo_headers_match_like_any_other() {
    let m = header_data(json!({"name": ":method", "prefix": "GE"}));
    assert!(m.matches(&headers(&[(":method", "GET")])));
}

#[test]
fn query_parameters_use_the_first_value_undecoded() {
    let q = query(json!({"name": "id", "exact": "a%20b"}));
    assert!(q.matches("/p?id=a%20b&id=c"));
    assert!(!q.matches("/p?id=c&id=a%20b"));
    let present = query(json!({"name": "flag"}));
    assert!(present.matches("/p?flag"));
    assert!(!present.matches("/p"));
}

#[test]
fn bad_matchers_are_errors_naming_the_field() {
    let bad_regex = header_matcher(json!({"name": "x", "safe_regex": "("}));
    let err =
        HeaderData::build("virtual_hosts[0].routes[1].match.headers[0]", &bad_regex).unwrap_err();
    assert!(
        err.starts_with("virtual_hosts[0].routes[1].match.headers[0].safe_regex"),
        "{err}"
    );
    let two_matchers = header_matcher(json!({"name": "x", "exact": "a", "prefix": "b"}));
    let err = HeaderData::build("h", &two_matchers).unwrap_err();
    assert!(err.contains("at most one"), "{err}");
}
