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

fn query_param(name: &str) -> QueryParameterMatcher {
    QueryParameterMatcher {
        name: name.into(),
        ..QueryParameterMatcher::default()
    }
}

/// The path matcher of `m`, which must build.
fn path(m: RouteMatch) -> PathMatcher {
    PathMatcher::build("m", &m).unwrap()
}

/// The header matcher `h`, which must build.
fn header_data(h: HeaderMatcher) -> HeaderData {
    HeaderData::build("h", &h).unwrap()
}

/// The query parameter matcher `q`, which must build.
fn query(q: QueryParameterMatcher) -> QueryData {
    QueryData::build("q", &q).unwrap()
}

#[test]
fn prefix_ignores_the_query_string_and_has_no_segment_boundary() {
    let m = path(RouteMatch {
        prefix: Some("/search?q=".into()),
        ..RouteMatch::default()
    });
    assert!(!m.matches("/search?q=x"));
    let m = path(RouteMatch {
        prefix: Some("/wpcatalog".into()),
        ..RouteMatch::default()
    });
    assert!(m.matches("/wpcatalogue?x=1"));
    assert!(!m.matches("/WPcatalog"));
}

#[test]
fn exact_and_regex_see_the_path_without_query_and_regex_is_a_full_match() {
    let exact = path(RouteMatch {
        path: Some("/a".into()),
        case_sensitive: Some(false),
        ..RouteMatch::default()
    });
    assert!(exact.matches("/A?b=1"));
    assert!(!exact.matches("/a/b"));
    let re = path(RouteMatch {
        safe_regex: Some("/r/[0-9]+".into()),
        ..RouteMatch::default()
    });
    assert!(re.matches("/r/12?x=y"));
    assert!(!re.matches("/r/12/x"));
}

#[test]
fn path_separated_prefix_needs_a_segment_boundary() {
    let m = path(RouteMatch {
        path_separated_prefix: Some("/api".into()),
        ..RouteMatch::default()
    });
    assert!(m.matches("/api"));
    assert!(m.matches("/api/v1"));
    assert!(m.matches("/api?x"));
    assert!(!m.matches("/apis"));
}

#[test]
fn several_values_of_a_header_are_joined_with_commas() {
    let m = header_data(HeaderMatcher {
        exact: Some("a,b".into()),
        ..header("x-v")
    });
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
    let m = header_data(inverted.clone());
    assert!(!m.matches(&[]));
    assert!(m.matches(&headers(&[("x-v", "y")])));
    let m = header_data(HeaderMatcher {
        treat_missing_header_as_empty: true,
        ..inverted
    });
    assert!(m.matches(&[]));
}

#[test]
fn present_matchers_follow_envoy() {
    let present = header_data(header("x-v"));
    assert!(present.matches(&headers(&[("x-v", "")])));
    assert!(!present.matches(&[]));
    let absent = header_data(HeaderMatcher {
        present: Some(false),
        ..header("x-v")
    });
    assert!(absent.matches(&[]));
    let inverted = header_data(HeaderMatcher {
        invert_match: true,
        ..header("x-v")
    });
    assert!(inverted.matches(&[]));
    assert!(!inverted.matches(&headers(&[("x-v", "1")])));
}

#[test]
fn pseudo_headers_match_like_any_other() {
    let m = header_data(HeaderMatcher {
        prefix: Some("GE".into()),
        ..header(":method")
    });
    assert!(m.matches(&headers(&[(":method", "GET")])));
}

#[test]
fn query_parameters_use_the_first_value_undecoded() {
    let q = query(QueryParameterMatcher {
        exact: Some("a%20b".into()),
        ..query_param("id")
    });
    assert!(q.matches("/p?id=a%20b&id=c"));
    assert!(!q.matches("/p?id=c&id=a%20b"));
    let present = query(query_param("flag"));
    assert!(present.matches("/p?flag"));
    assert!(!present.matches("/p"));
}

#[test]
fn bad_matchers_are_errors_naming_the_field() {
    let bad_regex = HeaderMatcher {
        safe_regex: Some("(".into()),
        ..header("x")
    };
    let err =
        HeaderData::build("virtual_hosts[0].routes[1].match.headers[0]", &bad_regex).unwrap_err();
    assert!(
        err.starts_with("virtual_hosts[0].routes[1].match.headers[0].safe_regex"),
        "{err}"
    );
    let two_matchers = HeaderMatcher {
        exact: Some("a".into()),
        prefix: Some("b".into()),
        ..header("x")
    };
    let err = HeaderData::build("h", &two_matchers).unwrap_err();
    assert!(err.contains("at most one"), "{err}");
}
