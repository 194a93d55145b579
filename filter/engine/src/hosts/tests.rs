use super::*;

fn find(t: &HostTable, h: &str, ns: Option<&str>) -> Option<(u32, Found)> {
    t.find(h, ns).map(|(e, how)| (e.group, how))
}

fn table(hosts: &[(&str, u32)]) -> HostTable {
    let mut t = HostTable::default();
    let mut errors = Errors::default();
    for (h, g) in hosts {
        let name = parse_host(
            h,
            Some("prod"),
            &crate::FieldPath::root().key("h"),
            &mut errors,
        )
        .unwrap();
        t.insert(&name, Arc::from(*h), *g);
    }
    assert!(errors.list.is_empty(), "{:?}", errors.list);
    t
}

#[test]
fn short_name_resolves_in_the_virtual_service_namespace() {
    let t = table(&[("reviews", 1)]);
    assert_eq!(
        find(&t, "reviews.prod.svc.cluster.local", None),
        Some((1, Found::Exact))
    );
}

#[test]
fn bare_short_name_only_from_the_hosts_namespace() {
    let t = table(&[("reviews.prod.svc.cluster.local", 1)]);
    assert_eq!(
        find(&t, "reviews:9080", Some("prod")),
        Some((1, Found::ShortName))
    );
    assert_eq!(find(&t, "reviews:9080", Some("default")), None);
    assert_eq!(find(&t, "reviews", None), None);
}

#[test]
fn namespace_and_trailing_dot_forms_match() {
    let t = table(&[("reviews.prod.svc.cluster.local", 1)]);
    for h in [
        "reviews.prod",
        "reviews.prod.svc",
        "reviews.prod.svc.cluster",
        "REVIEWS.prod:9080",
        "reviews.prod.svc.cluster.local.",
        "reviews.prod.svc.cluster.local.:9080",
    ] {
        assert!(find(&t, h, Some("default")).is_some(), "{h}");
    }
    assert_eq!(find(&t, "reviews.prod.", Some("prod")), None);
    // a proxy without a namespace shares no DNS domain: only the FQDN
    assert_eq!(find(&t, "reviews.prod", None), None);
    assert!(find(&t, "reviews.prod.svc.cluster.local", None).is_some());
    assert_eq!(find(&t, "ratings.prod", Some("prod")), None);
}

#[test]
fn exact_host_beats_wildcard_and_longest_suffix_wins() {
    let t = table(&[
        ("*.example.com", 1),
        ("*.a.example.com", 2),
        ("b.a.example.com", 3),
        ("*", 4),
    ]);
    assert_eq!(find(&t, "b.a.example.com", None), Some((3, Found::Exact)));
    assert_eq!(find(&t, "c.a.example.com", None), Some((2, Found::Suffix)));
    assert_eq!(find(&t, "c.example.com", None), Some((1, Found::Suffix)));
    assert_eq!(find(&t, "example.com", None), Some((4, Found::Any)));
}

#[test]
fn invalid_hosts_are_refused() {
    let mut errors = Errors::default();
    for h in ["", "a.*.com", "*foo.com", "foo*", "a b"] {
        assert!(
            parse_host(
                h,
                Some("prod"),
                &crate::FieldPath::root().key("h"),
                &mut errors
            )
            .is_none(),
            "{h}"
        );
    }
    assert_eq!(errors.list.len(), 5);
    assert!(
        parse_host(
            "reviews",
            None,
            &crate::FieldPath::root().key("h"),
            &mut errors
        )
        .is_none()
    );
}

#[test]
fn virtual_host_names_select_their_group() {
    let t = table(&[("reviews", 1), ("*.example.com", 2)]);
    assert_eq!(
        t.find_virtual_host("reviews.prod.svc.cluster.local:9080")
            .map(|e| e.group),
        Some(1)
    );
    assert_eq!(
        t.find_virtual_host("*.example.com:80").map(|e| e.group),
        Some(2)
    );
    assert_eq!(t.find_virtual_host("allow_any").map(|e| e.group), None);
}
