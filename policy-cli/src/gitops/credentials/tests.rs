use super::*;

fn config(json: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, json).unwrap();
    (dir, path)
}

#[test]
fn reads_base64_auth_for_the_registry_with_or_without_scheme() {
    // base64("alice:s3cr:et") — a password may contain a colon.
    let (_dir, path) = config(
        r#"{"auths": {"https://127.0.0.1:5056/v1/": {"auth": "YWxpY2U6czNjcjpldA=="}, "other.io": {"auth": "eDp5"}}}"#,
    );
    let found = from_config(&path, "127.0.0.1:5056").unwrap().unwrap();
    assert_eq!(found.username, "alice");
    assert_eq!(found.password, "s3cr:et");
    assert_eq!(found.basic(), "Basic YWxpY2U6czNjcjpldA==");
    assert_eq!(from_config(&path, "ghcr.io").unwrap(), None);
}

#[test]
fn reads_username_and_password_fields() {
    let (_dir, path) = config(r#"{"auths": {"r.io": {"username": "u", "password": "p"}}}"#);
    let found = from_config(&path, "r.io").unwrap().unwrap();
    assert_eq!(
        (found.username.as_str(), found.password.as_str()),
        ("u", "p")
    );
}

#[test]
fn bad_files_and_helpers_are_errors_naming_the_place() {
    let (_dir, path) = config(r#"{"auths": {"r.io": {"auth": "not base64!"}}}"#);
    assert!(matches!(
        from_config(&path, "r.io"),
        Err(CredentialsError::Auth { key, .. }) if key == "r.io"
    ));
    let (_dir, path) = config(r#"{"credsStore": "desktop"}"#);
    let err = from_config(&path, "r.io").unwrap_err().to_string();
    assert!(
        err.contains("`desktop`") && err.contains("--password-stdin"),
        "{err}"
    );
    let (_dir, path) = config("{");
    assert!(matches!(
        from_config(&path, "r.io"),
        Err(CredentialsError::Json { .. })
    ));
}

#[test]
fn password_from_stdin_drops_the_newline_and_refuses_empty() {
    let found = Credentials::from_stdin("bob", &b"pw\n"[..]).unwrap();
    assert_eq!(found.password, "pw");
    assert!(Credentials::from_stdin("bob", &b"\n"[..]).is_err());
    assert!(!format!("{found:?}").contains("pw\""), "{found:?}");
}
