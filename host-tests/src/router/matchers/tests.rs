use super::*;

fn headers(pairs: &[(&str, &str)]) -> crate::header_list::Headers {
    crate::header_list::bytes(pairs)
}

fn header(name: &str) -> HeaderMatcher {
    HeaderMatcher {
        name: name.into(),
        ..HeaderMatcher::default()
    }
}

#[test]
fn prefix_ignores_the_query_string_and_has_no_segment_boundary() {
    let m = PathMatcher::build(
        "m",
        &RouteMatch {
            prefix: Some("/search?q=".into()),
            ..RouteMatch::default()
        },
    )
    .unwrap();
    assert!(!m.matches("/search?q=x"));
    let m = PathMatcher::build(
        "m",
        &RouteMatch {
            prefix: Some("/wpcatalog".into()),
            ..RouteMatch::default()
        },
    )
    .unwrap();
    assert!(m.matches("/wpcatalogue?x=1"));
    assert!(!m.matches("/WPcatalog"));
}

#[test]
fn exact_and_regex_see_the_path_without_query_and_regex_is_a_full_match() {
    let exact = PathMatcher::build(
        "m",
        &RouteMatch {
            path: Some("/a".into()),
            case_sensitive: Some(false),
            ..RouteMatch::default()
        },
    )
    .unwrap();
    assert!(exact.matches("/A?b=1"));
    assert!(!exact.matches("/a/b"));
    let re = PathMatcher::build(
        "m",
        &RouteMatch {
            safe_regex: Some("/r/[0-9]+".into()),
            ..RouteMatch::default()
        },
    )
    .unwrap();
    assert!(re.matches("/r/12?x=y"));
    assert!(!re.matches("/r/12/x"));
}

#[test]
fn path_separated_prefix_needs_a_segment_boundary() {
    let m = PathMatcher::build(
        "m",
        &RouteMatch {
            path_separated_prefix: Some("/api".into()),
            ..RouteMatch::default()
        },
    )
    .unwrap();
    assert!(m.matches("/api"));
    assert!(m.matches("/api/v1"));
    assert!(m.matches("/api?x"));
    assert!(!m.matches("/apis"));
}

#[test]
fn several_values_of_a_header_are_joined_with_commas() {
    let m = HeaderData::build(
        "h",
        &HeaderMatcher {
            exact: Some("a,b".into()),
            ..header("x-v")
        },
    )
    .unwrap();
    assert!(m.matches(&headers(&[("x-v", "a"), ("x-v", "b")])));
    assert!(!m.matches(&headers(&[("x-v", "a")])));
}

#[test]
fn a_missing_header_fails_value_matchers_even_inverted_unless_treated_as_empty() {
    let inverted = HeaderMatcher {
        exact: Some("x".into()),
        invert_match: true,
        ..header("x-v")
    };
    let m = HeaderData::build("h", &inverted).unwrap();
    assert!(!m.matches(&[]));
    assert!(m.matches(&headers(&[("x-v", "y")])));
    let m = HeaderData::build(
        "h",
        &HeaderMatcher {
            treat_missing_header_as_empty: true,
            ..inverted
        },
    )
    .unwrap();
    assert!(m.matches(&[]));
}

#[test]
fn present_matchers_follow_envoy() {
    let present = HeaderData::build("h", &header("x-v")).unwrap();
    assert!(present.matches(&headers(&[("x-v", "")])));
    assert!(!present.matches(&[]));
    let absent = HeaderData::build(
        "h",
        &HeaderMatcher {
            present: Some(false),
            ..header("x-v")
        },
    )
    .unwrap();
    assert!(absent.matches(&[]));
    let inverted = HeaderData::build(
        "h",
        &HeaderMatcher {
            invert_match: true,
            ..header("x-v")
        },
    )
    .unwrap();
    assert!(inverted.matches(&[]));
    assert!(!inverted.matches(&headers(&[("x-v", "1")])));
}

#[test]
fn pseudo_headers_match_like_any_other() {
    let m = HeaderData::build(
        "h",
        &HeaderMatcher {
            prefix: Some("GE".into()),
            ..header(":method")
        },
    )
    .unwrap();
    assert!(m.matches(&headers(&[(":method", "GET")])));
}

#[test]
fn query_parameters_use_the_first_value_undecoded() {
    let q = QueryData::build(
        "q",
        &QueryParameterMatcher {
            name: "id".into(),
            exact: Some("a%20b".into()),
            ..QueryParameterMatcher::default()
        },
    )
    .unwrap();
    assert!(q.matches("/p?id=a%20b&id=c"));
    assert!(!q.matches("/p?id=c&id=a%20b"));
    let present = QueryData::build(
        "q",
        &QueryParameterMatcher {
            name: "flag".into(),
            ..QueryParameterMatcher::default()
        },
    )
    .unwrap();
    assert!(present.matches("/p?flag"));
    assert!(!present.matches("/p"));
}

#[test]
fn bad_matchers_are_errors_naming_the_field() {
    let err = HeaderData::build(
        "virtual_hosts[0].routes[1].match.headers[0]",
        &HeaderMatcher {
            safe_regex: Some("(".into()),
            ..header("x")
        },
    )
    .unwrap_err();
    assert!(
        err.starts_with("virtual_hosts[0].routes[1].match.headers[0].safe_regex"),
        "{err}"
    );
    let err = HeaderData::build(
        "h",
        &HeaderMatcher {
            exact: Some("a".into()),
            prefix: Some("b".into()),
            ..header("x")
        },
    )
    .unwrap_err();
    assert!(err.contains("at most one"), "{err}");
}
