use super::*;

#[test]
fn split_query_splits_at_the_first_question_mark() {
    assert_eq!(split_query("/a?b?c"), ("/a", "?b?c"));
    assert_eq!(split_query("/a"), ("/a", ""));
}

#[test]
fn query_param_takes_the_first_raw_value() {
    assert_eq!(query_param("?a=1&b=2&a=3", "a"), Some("1"));
    assert_eq!(query_param("a=1&flag", "flag"), Some(""));
    assert_eq!(
        query_param("?a=%31", "a"),
        Some("%31"),
        "no percent-decoding"
    );
    assert_eq!(
        query_param("?a=1#frag&b=2", "b"),
        None,
        "the fragment is not the query"
    );
    assert_eq!(query_param("", "a"), None);
}

#[test]
fn first_query_values_agree_with_query_param() {
    for query in [
        "?a=1&b=2&a=3",
        "a=1&flag",
        "?a=%31",
        "?a=1#frag&b=2",
        "",
        "?&&=x&a",
        "?a==b",
    ] {
        let all = first_query_values(query);
        for name in ["a", "b", "flag", "", "frag", "c"] {
            assert_eq!(
                all.get(name).copied(),
                query_param(query, name),
                "{query:?} {name:?}"
            );
        }
    }
}

#[test]
fn cookie_finds_a_named_cookie() {
    assert_eq!(cookie("a=1; session=xyz; b=2", "session"), Some("xyz"));
    assert_eq!(cookie("session=\"q\"", "session"), Some("q"));
    assert_eq!(cookie("sessionx=1", "session"), None);
}

#[test]
fn header_joins_repeated_values_and_ignores_case() {
    let headers = vec![
        ("x-a".to_owned(), "1".to_owned()),
        ("X-A".to_owned(), "2".to_owned()),
    ];
    let source = SourceInfo::default();
    let req = Request {
        headers: &headers,
        source: &source,
        port: None,
        random: 0,
        virtual_host: None,
    };
    assert_eq!(req.header("x-a").as_deref(), Some("1,2"));
    assert_eq!(req.first_header("x-a"), Some("1"));
    assert_eq!(req.path(), "");
}
