//! Which virtual service governs a request (SPEC §2.1), named after each rule.

use meshpolicy_engine::{Policy, WarningKind};
use serde_json::{Value, json};

use crate::support::{Req, destination, errors, policy};

fn vs(name: &str, hosts: &[&str], http: Value) -> Value {
    json!({"name": name, "hosts": hosts, "http": http})
}

fn to(host: &str) -> Value {
    json!([{"route": [{"destination": {"host": host}}]}])
}

fn doc(services: Vec<Value>) -> Policy {
    policy(
        json!({"apiVersion": "meshpolicy.dev/v1alpha2", "kind": "TrafficPolicy",
        "metadata": {"name": "p", "namespace": "prod"},
        "spec": {"virtualServices": services}}),
    )
}

fn dest(p: &Policy, authority: &str, ns: Option<&str>) -> Option<String> {
    let d = Req::get("/x")
        .set(":authority", authority)
        .source(&[], ns)
        .decide(p);
    d.destination.map(|d| d.host.to_string())
}

#[test]
fn a_request_for_another_host_is_untouched_but_for_the_decision_header() {
    let p = doc(vec![vs(
        "reviews",
        &["reviews"],
        json!([
        {"match": [{"uri": {"prefix": "/wpcatalog"}}], "rewrite": {"uri": "/newcatalog"},
         "route": [{"destination": {"host": "reviews", "subset": "v2"}}]}]),
    )]);
    let d = Req::get("/wpcatalog/x")
        .set(":authority", "ratings.prod.svc.cluster.local:9080")
        .header("x-meshpolicy-route", "reviews.prod.svc.cluster.local/v2")
        .decide(&p);
    assert_eq!(d.host, None);
    assert_eq!(d.rule, None);
    assert_eq!(d.path, None);
    assert_eq!(d.destination, None);
    assert_eq!(
        d.request_headers,
        vec![meshpolicy_engine::HeaderOp::Remove {
            name: "x-meshpolicy-route".into()
        }]
    );
    let d = Req::get("/wpcatalog/x")
        .set(":authority", "reviews:9080")
        .decide(&p);
    assert_eq!(d.path.as_deref(), Some("/newcatalog/x"));
}

#[test]
fn the_short_name_matches_only_from_the_hosts_namespace() {
    let p = doc(vec![vs(
        "reviews",
        &["reviews.prod.svc.cluster.local"],
        to("reviews"),
    )]);
    assert!(dest(&p, "reviews:9080", Some("prod")).is_some());
    assert_eq!(dest(&p, "reviews:9080", Some("default")), None);
    assert_eq!(dest(&p, "reviews", None), None);
}

#[test]
fn name_namespace_svc_and_trailing_dot_forms_match() {
    let p = doc(vec![vs("reviews", &["reviews"], to("reviews"))]);
    for authority in [
        "reviews.prod",
        "reviews.prod:9080",
        "reviews.prod.svc",
        "reviews.prod.svc.cluster.local",
        "Reviews.Prod.Svc.Cluster.Local:9080",
        "reviews.prod.svc.cluster.local.",
        "reviews.prod.svc.cluster.local.:9080",
    ] {
        assert_eq!(
            dest(&p, authority, Some("default")).as_deref(),
            Some("reviews.prod.svc.cluster.local"),
            "{authority}"
        );
    }
    assert_eq!(dest(&p, "reviews.other", Some("default")), None);
}

#[test]
fn a_wildcard_host_loses_to_an_exact_one_and_the_longest_suffix_wins() {
    let p = doc(vec![
        vs("wide", &["*.example.com"], to("wide.example.com")),
        vs("narrow", &["*.api.example.com"], to("narrow.example.com")),
        vs("exact", &["v1.api.example.com"], to("exact.example.com")),
        vs("all", &["*"], to("all.example.com")),
    ]);
    for (authority, host) in [
        ("v1.api.example.com", "exact.example.com"),
        ("v2.api.example.com:443", "narrow.example.com"),
        ("www.example.com", "wide.example.com"),
        ("example.org", "all.example.com"),
    ] {
        assert_eq!(
            dest(&p, authority, None).as_deref(),
            Some(host),
            "{authority}"
        );
    }
}

#[test]
fn the_virtual_host_envoy_selected_decides_when_given() {
    let p = doc(vec![
        vs("reviews", &["reviews"], to("reviews")),
        vs("web", &["*.example.com"], to("web.example.com")),
    ]);
    let req = Req::get("/").set(":authority", "something-else");
    let mut r = req.request();
    r.virtual_host = Some("reviews.prod.svc.cluster.local:9080");
    assert_eq!(
        p.decide(&r).destination.unwrap().host.as_ref(),
        "reviews.prod.svc.cluster.local"
    );
    r.virtual_host = Some("*.example.com:80");
    assert_eq!(
        p.decide(&r).destination.unwrap().host.as_ref(),
        "web.example.com"
    );
    r.virtual_host = Some("allow_any");
    assert_eq!(p.decide(&r).host, None);
    // explain agrees with decide
    let (d, trace) = p.explain(&r);
    assert_eq!(d, p.decide(&r));
    assert!(trace.host.unwrap().contains("allow_any"));
}

#[test]
fn no_rule_matching_leaves_the_404_to_envoys_router() {
    let p = doc(vec![vs(
        "reviews",
        &["reviews"],
        json!([
        {"match": [{"uri": {"prefix": "/only"}}], "route": [{"destination": {"host": "reviews"}}]}]),
    )]);
    let d = Req::get("/other").decide(&p);
    assert_eq!(
        d.host.as_ref().map(|h| h.host.as_ref()),
        Some("reviews.prod.svc.cluster.local")
    );
    assert_eq!(d.rule, None);
    assert_eq!(d.local_response, None);
    let (_, trace) = Req::get("/other").request_explain(&p);
    assert!(
        trace.actions.iter().any(|a| a.contains("404")),
        "{:?}",
        trace.actions
    );
}

#[test]
fn merged_virtual_services_keep_document_order_with_catch_alls_last_and_warn() {
    let p = doc(vec![
        vs("canary", &["reviews"], to("canary")),
        vs(
            "legacy",
            &["reviews.prod.svc.cluster.local"],
            json!([
            {"match": [{"uri": {"prefix": "/wpcatalog"}}], "route": [{"destination": {"host": "legacy"}}]}]),
        ),
        vs(
            "extra",
            &["reviews"],
            json!([
            {"match": [{"uri": {"prefix": "/extra"}}], "route": [{"destination": {"host": "extra"}}]}]),
        ),
    ]);
    for (path, host) in [
        ("/wpcatalog/x", "legacy.prod.svc.cluster.local"),
        ("/extra", "extra.prod.svc.cluster.local"),
        ("/other", "canary.prod.svc.cluster.local"),
    ] {
        assert_eq!(&*destination(&p, path).host, host, "{path}");
    }
    let d = Req::get("/x").decide(&p);
    let names: Vec<&str> = d
        .host
        .as_ref()
        .unwrap()
        .virtual_services
        .iter()
        .map(|s| s.as_ref())
        .collect();
    assert_eq!(names, ["legacy", "extra", "canary"]);
    let warnings: Vec<_> = p.warnings().iter().map(|w| (w.kind, &*w.message)).collect();
    assert!(
        matches!(&warnings[..], [(WarningKind::MergedVirtualServices, message)]
            if message.contains("`legacy`, `extra`, `canary`")),
        "one warning naming the services in order: {warnings:?}"
    );
}

#[test]
fn a_client_sent_decision_header_is_removed_before_any_other_edit() {
    let p = doc(vec![vs("reviews", &["reviews"], to("reviews"))]);
    let d = Req::get("/")
        .header("x-meshpolicy-route", "evil.prod.svc.cluster.local")
        .decide(&p);
    assert_eq!(
        d.request_headers,
        vec![
            meshpolicy_engine::HeaderOp::Remove {
                name: "x-meshpolicy-route".into()
            },
            meshpolicy_engine::HeaderOp::Set {
                name: "x-meshpolicy-route".into(),
                value: "reviews.prod.svc.cluster.local".into()
            },
        ]
    );
}

#[test]
fn destination_keys_are_unique_per_host_subset_port_and_authority() {
    let p = doc(vec![vs(
        "r",
        &["reviews"],
        json!([
            {"match": [{"uri": {"prefix": "/a"}}], "route": [{"destination": {"host": "reviews", "subset": "v1", "port": {"number": 9080}}}]},
            {"match": [{"uri": {"prefix": "/b"}}], "rewrite": {"authority": "reviews.internal"},
             "route": [{"destination": {"host": "reviews", "subset": "v1"}}]},
            {"route": [{"destination": {"host": "status.other.svc.cluster.local"}}]}
        ]),
    )]);
    for (path, key, authority) in [
        ("/a", "reviews.prod.svc.cluster.local/v1:9080", None),
        (
            "/b",
            "reviews.prod.svc.cluster.local/v1@reviews.internal",
            Some("reviews.internal"),
        ),
        ("/c", "status.other.svc.cluster.local", None),
    ] {
        let d = Req::get(path).decide(&p);
        assert_eq!(
            d.destination.map(|d| d.key.to_string()).as_deref(),
            Some(key)
        );
        assert_eq!(d.authority.as_deref(), authority, "{path}");
    }
}

#[test]
fn hosts_are_validated_as_istio_does() {
    let e = errors(
        json!({"metadata": {"namespace": "prod"}, "spec": {"virtualServices": [
            {"name": "a", "hosts": [], "http": to("x")},
            {"name": "b", "hosts": ["", "a.*.com", "reviews", "reviews.prod.svc.cluster.local"], "http": to("x")},
            {"name": "b", "hosts": ["x"], "http": to("x")},
            {"name": "Bad_Name", "hosts": ["y"], "http": to("x")}
        ]}}),
    );
    assert_eq!(
        e.paths(),
        [
            "spec.virtualServices[0].hosts",
            "spec.virtualServices[1].hosts[0]",
            "spec.virtualServices[1].hosts[1]",
            "spec.virtualServices[1].hosts[3]",
            "spec.virtualServices[2].name",
            "spec.virtualServices[3].name",
        ]
    );
}

#[test]
fn a_v1_document_is_refused_with_help_to_move_its_rules() {
    let e = errors(
        json!({"apiVersion": "meshpolicy.dev/v1alpha1", "kind": "TrafficPolicy",
        "spec": {"http": to("x")}}),
    );
    assert_eq!(e.paths(), ["spec.http", "apiVersion"]);
    assert!(
        e.errors
            .iter()
            .all(|e| e.message().contains("spec.virtualServices[0].http")),
        "{e}"
    );
}

#[test]
fn a_short_host_without_a_namespace_is_an_error() {
    let e = errors(
        json!({"spec": {"virtualServices": [{"name": "a", "hosts": ["reviews"], "http": to("x")}]}}),
    );
    assert_eq!(e.paths(), ["spec.virtualServices[0].hosts[0]"]);
}

#[test]
fn subsets_are_keyed_by_fqdn() {
    let e = errors(json!({"metadata": {"namespace": "prod"}, "spec": {
        "subsets": {"reviews": {"v1": {"version": "v1"}}},
        "virtualServices": [{"name": "a", "hosts": ["reviews"], "http": to("x")}]}}));
    assert_eq!(e.paths(), ["spec.subsets.reviews"]);
}
