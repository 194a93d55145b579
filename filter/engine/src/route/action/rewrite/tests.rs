use super::*;

#[test]
fn istio_groups_become_regex_crate_groups() {
    assert_eq!(
        convert_replacement("/\\1/x/\\2").unwrap(),
        ("/${1}/x/${2}".to_owned(), 2)
    );
    assert_eq!(
        convert_replacement("/a\\\\b").unwrap(),
        ("/a\\b".to_owned(), 0)
    );
    assert_eq!(convert_replacement("/$1").unwrap(), ("/$$1".to_owned(), 0));
    assert!(convert_replacement("/\\n").is_err());
    assert!(convert_replacement("/x\\").is_err());
}

#[test]
fn check_path_wants_a_slash_and_no_control_characters() {
    assert!(check_path("/ok?x=1").is_ok());
    assert!(check_path("nope").is_err());
    assert!(check_path("").is_err());
    assert!(check_path("/a\r\nx: y").is_err());
    assert!(check_path("/a\u{0}").is_err());
}

#[test]
fn prefix_rewrite_keeps_the_rest_and_whole_rewrite_keeps_the_query() {
    let rw = PathRewrite::Uri("/new".into());
    assert_eq!(
        rewrite_path(&rw, "/old/x?q", Matched::Prefix(4)).unwrap(),
        "/new/x?q"
    );
    assert_eq!(
        rewrite_path(&rw, "/old/x?q", Matched::Whole).unwrap(),
        "/new?q"
    );
}
