use super::*;

#[test]
fn parses_registry_repository_and_tag() {
    let r = Reference::parse("127.0.0.1:5000/meshpolicy/filter:v1.2").unwrap();
    assert_eq!(r.registry, "127.0.0.1:5000");
    assert_eq!(r.repository, "meshpolicy/filter");
    assert_eq!(r.tag.as_deref(), Some("v1.2"));
    assert_eq!(r.digest, None);
    assert!(r.is_loopback());
    assert_eq!(r.to_string(), "127.0.0.1:5000/meshpolicy/filter:v1.2");
}

#[test]
fn accepts_the_oci_scheme_and_a_digest() {
    let digest = format!("sha256:{}", "0".repeat(64));
    let r = Reference::parse(&format!("oci://ghcr.io/a/b@{digest}")).unwrap();
    assert_eq!(r.registry, "ghcr.io");
    assert_eq!(r.repository, "a/b");
    assert_eq!(r.tag, None);
    assert_eq!(r.digest.as_deref(), Some(digest.as_str()));
    assert!(!r.is_loopback());
}

#[test]
fn rejects_bad_references() {
    for (input, reason) in [
        ("filter", "expected `registry/repository[:tag]`"),
        ("ghcr.io/Upper/case", "repository components"),
        ("ghcr.io/a:-bad", "a tag is"),
        ("ghcr.io/a@md5:00", "must start with `sha256:`"),
        ("ghcr.io/a@sha256:00", "64 lowercase hex"),
    ] {
        let err = Reference::parse(input).unwrap_err();
        assert!(err.to_string().contains(reason), "{input}: {err}");
        assert!(err.to_string().contains(&format!("`{input}`")), "{err}");
    }
}

#[test]
fn localhost_is_loopback() {
    assert!(Reference::parse("localhost:5000/a").unwrap().is_loopback());
    assert!(
        !Reference::parse("registry.example:5000/a")
            .unwrap()
            .is_loopback()
    );
}
