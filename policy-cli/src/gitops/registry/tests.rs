use super::parse_challenge;

#[test]
fn challenges_parse_into_scheme_and_parameters() {
    let (scheme, params) = parse_challenge(
        r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull""#,
    );
    assert_eq!(scheme, "Bearer");
    assert_eq!(
        params,
        [
            ("realm".to_owned(), "https://ghcr.io/token".to_owned()),
            ("service".to_owned(), "ghcr.io".to_owned()),
            ("scope".to_owned(), "repository:a/b:pull".to_owned()),
        ]
    );
    let (scheme, params) = parse_challenge(r#"Basic realm="Registry Realm""#);
    assert_eq!(scheme, "Basic");
    assert_eq!(params, [("realm".to_owned(), "Registry Realm".to_owned())]);
}
