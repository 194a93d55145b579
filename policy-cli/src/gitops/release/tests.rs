use super::*;

const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn text(repository: &str, sha: &str, published: &str) -> String {
    format!("# a comment\n\nREPOSITORY={repository}\nSHA256={sha}\nPUBLISHED={published}\n")
}

#[test]
fn parses_the_three_keys_and_builds_the_pinned_url() {
    let release = Release::parse(&text("oci://r.io/a/b", SHA, "false"), "x.env").unwrap();
    assert_eq!(release.url(), format!("oci://r.io/a/b@sha256:{SHA}"));
    assert!(!release.published);
    assert!(
        Release::parse(&text("r.io:5000/a", SHA, "true"), "x.env")
            .unwrap()
            .published
    );
}

#[test]
fn bad_values_name_the_key() {
    let err = |t: &str| Release::parse(t, "x.env").unwrap_err().to_string();
    assert!(err(&text("r.io/a:tag", SHA, "false")).contains("`REPOSITORY=r.io/a:tag`"));
    assert!(err(&text("r.io/a", "abc", "false")).contains("`SHA256=abc`"));
    assert!(err(&text("r.io/a", SHA, "yes")).contains("`PUBLISHED=yes`"));
    assert!(err("REPOSITORY=r.io/a\nSHA256=x\n").contains("`PUBLISHED` is missing"));
    assert!(err("just words\n").contains("x.env:1: `just words`"));
}

#[test]
fn a_published_release_is_not_checked_against_the_build() {
    let missing = Path::new("/nonexistent/meshpolicy.wasm");
    let published = Release::parse(&text("r.io/a", SHA, "true"), "p.env").unwrap();
    assert_eq!(published.check_build("p.env", missing), Ok(()));
    let candidate = Release::parse(&text("r.io/a", SHA, "false"), "s.env").unwrap();
    assert!(matches!(
        candidate.check_build("s.env", missing),
        Err(ReleaseError::Wasm { .. })
    ));
}

#[test]
fn a_candidate_must_pin_the_build() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("m.wasm");
    std::fs::write(&wasm, b"\0asm\x01\0\0\0").unwrap();
    let built = built_digest(&wasm).unwrap();
    let good = Release::parse(&text("r.io/a", &built, "false"), "s.env").unwrap();
    assert_eq!(good.check_build("s.env", &wasm), Ok(()));
    let stale = Release::parse(&text("r.io/a", SHA, "false"), "s.env").unwrap();
    let message = stale.check_build("s.env", &wasm).unwrap_err().to_string();
    assert!(message.contains(&format!("gives `{built}`")), "{message}");
    assert!(message.contains("make manifests"), "{message}");
}
