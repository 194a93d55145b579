//! SPEC §2.2: actions, one test per semantic.

use std::sync::Arc;

use meshpolicy_engine::HeaderOp;
use serde_json::json;

use crate::support::{Req, rules, subset_of};

fn rewrite(m: serde_json::Value, rw: serde_json::Value) -> meshpolicy_engine::Policy {
    rules(json!([{"match": [m], "rewrite": rw, "route": [{"destination": {"host": "a"}}]}]))
}

/// A rule matching `m` with rewrite `rw` gives each request path of
/// `cases` the path paired with it.
fn assert_rewrites(m: serde_json::Value, rw: serde_json::Value, cases: &[(&str, &str)]) {
    let p = rewrite(m, rw);
    for (path, want) in cases {
        assert_eq!(
            Req::get(path).decide(&p).path.as_deref(),
            Some(*want),
            "{path}"
        );
    }
}

#[test]
fn prefix_rewrite_replaces_the_matched_prefix_and_keeps_the_rest_and_query() {
    assert_rewrites(
        json!({"uri": {"prefix": "/wpcatalog"}}),
        json!({"uri": "/newcatalog"}),
        &[
            ("/wpcatalog/books?id=1", "/newcatalog/books?id=1"),
            ("/wpcatalogue", "/newcatalogue"),
        ],
    );
}

#[test]
fn prefix_rewrite_with_ignore_uri_case_replaces_as_many_bytes_as_matched() {
    assert_rewrites(
        json!({"uri": {"prefix": "/old"}, "ignoreUriCase": true}),
        json!({"uri": "/new"}),
        &[("/OLD/x", "/new/x")],
    );
}

#[test]
fn exact_rewrite_replaces_the_whole_path_keeping_the_query() {
    assert_rewrites(
        json!({"uri": {"exact": "/books"}}),
        json!({"uri": "/v2/books"}),
        &[("/books?id=1", "/v2/books?id=1")],
    );
}

#[test]
fn regex_match_rewrite_replaces_the_whole_path_keeping_the_query() {
    assert_rewrites(
        json!({"uri": {"regex": "/books/[0-9]+"}}),
        json!({"uri": "/book"}),
        &[("/books/12?x=1", "/book?x=1")],
    );
}

#[test]
fn rewrite_without_uri_match_replaces_the_implicit_slash_prefix() {
    // Envoy gives a route without a uri match the prefix `/`.
    let p = rules(json!([{"rewrite": {"uri": "/v2/"}, "route": [{"destination": {"host": "a"}}]}]));
    assert_eq!(
        Req::get("/books").decide(&p).path.as_deref(),
        Some("/v2/books")
    );
}

#[test]
fn uri_regex_rewrite_replaces_every_match_with_capture_groups() {
    // every match in the path, the query untouched
    assert_rewrites(
        json!({"uri": {"prefix": "/"}}),
        json!({"uriRegexRewrite": {"match": "/v([0-9])/", "rewrite": "/version-\\1/"}}),
        &[("/v1/a/v2/b?q=/v3/", "/version-1/a/version-2/b?q=/v3/")],
    );
    assert_rewrites(
        json!({"uri": {"prefix": "/"}}),
        json!({"uriRegexRewrite": {"match": "^/service/([^/]+)(/.*)$", "rewrite": "\\2/instance/\\1"}}),
        &[("/service/foo/v1/api", "/v1/api/instance/foo")],
    );
}

#[test]
fn uri_regex_rewrite_keeps_a_literal_dollar() {
    assert_rewrites(
        json!({"uri": {"prefix": "/"}}),
        json!({"uriRegexRewrite": {"match": "/a", "rewrite": "/$1"}}),
        &[("/a", "/$1")],
    );
}

#[test]
fn authority_rewrite_sets_the_authority() {
    let p = rewrite(
        json!({"uri": {"prefix": "/"}}),
        json!({"authority": "ratings.prod"}),
    );
    let d = Req::get("/x").decide(&p);
    assert_eq!(d.authority.as_deref(), Some("ratings.prod"));
    assert_eq!(d.path, None, "authority only");
}

#[test]
fn a_rewrite_that_would_make_an_invalid_path_is_refused() {
    // `\1` may capture nothing, leaving a path without its leading `/`.
    let p = rewrite(
        json!({"uri": {"prefix": "/"}}),
        json!({"uriRegexRewrite": {"match": "^/x(.*)$", "rewrite": "\\1"}}),
    );
    let d = Req::get("/xabc").decide(&p);
    assert_eq!(d.path, None);
    assert!(
        d.rewrite_rejected
            .as_deref()
            .unwrap()
            .contains("does not start with `/`")
    );
    assert_eq!(Req::get("/x/abc").decide(&p).path.as_deref(), Some("/abc"));
    // A control character that came in percent-free cannot survive either.
    let p = rewrite(json!({"uri": {"prefix": "/a"}}), json!({"uri": "/b"}));
    let d = Req::get("/a\u{7f}").decide(&p);
    assert_eq!(d.path, None);
    assert!(
        d.rewrite_rejected
            .as_deref()
            .unwrap()
            .contains("DEL (0x7f)")
    );
}

fn set(n: &str, v: &str) -> HeaderOp {
    HeaderOp::Set {
        name: Arc::from(n),
        value: Arc::from(v),
    }
}
fn add(n: &str, v: &str) -> HeaderOp {
    HeaderOp::Add {
        name: Arc::from(n),
        value: Arc::from(v),
    }
}
fn remove(n: &str) -> HeaderOp {
    HeaderOp::Remove { name: Arc::from(n) }
}

#[test]
fn header_set_add_remove_at_rule_and_destination_level() {
    let p = rules(json!([{
        "headers": {
            "request": {"set": {"X-Rule": "r"}, "add": {"x-add": "1"}, "remove": ["x-secret"]},
            "response": {"set": {"x-served-by": "rule"}}
        },
        "route": [{
            "destination": {"host": "reviews", "subset": "v2"},
            "headers": {"request": {"set": {"x-dest": "d"}}, "response": {"remove": ["server"]}}
        }]
    }]));
    let d = Req::get("/").decide(&p);
    assert_eq!(
        d.request_headers,
        vec![
            remove("x-meshpolicy-route"),
            set("x-dest", "d"),
            remove("x-secret"),
            set("x-rule", "r"),
            add("x-add", "1"),
            set("x-meshpolicy-route", "reviews.prod.svc.cluster.local/v2"),
        ]
    );
    assert_eq!(
        d.response_headers,
        vec![remove("server"), set("x-served-by", "rule")]
    );
}

#[test]
fn the_client_decision_header_is_always_removed_and_the_destination_key_set() {
    let p = rules(json!([
        {"match": [{"uri": {"prefix": "/v2"}}], "route": [{"destination": {"host": "reviews", "subset": "v2"}}]},
        {"match": [{"uri": {"prefix": "/plain"}}], "route": [{"destination": {"host": "reviews"}}]}
    ]));
    assert_eq!(p.decision_header(), "x-meshpolicy-route");
    let d = Req::get("/v2")
        .header("x-meshpolicy-route", "v1")
        .decide(&p);
    assert_eq!(
        d.request_headers,
        vec![
            remove("x-meshpolicy-route"),
            set("x-meshpolicy-route", "reviews.prod.svc.cluster.local/v2")
        ]
    );
    // a destination without a subset is named whole too (SPEC §2.4)
    assert_eq!(
        Req::get("/plain").decide(&p).request_headers,
        vec![
            remove("x-meshpolicy-route"),
            set("x-meshpolicy-route", "reviews.prod.svc.cluster.local")
        ]
    );
    assert_eq!(
        Req::get("/none").decide(&p).request_headers,
        vec![remove("x-meshpolicy-route")]
    );
}

#[test]
fn the_decision_header_name_comes_from_settings() {
    let p = crate::support::policy(json!({"metadata": {"namespace": "prod"}, "spec": {
        "settings": {"decisionHeader": "X-Route-Subset"},
        "virtualServices": [{"name": "vs", "hosts": ["*"],
            "http": [{"route": [{"destination": {"host": "r", "subset": "v1"}}]}]}]
    }}));
    assert_eq!(p.decision_header(), "x-route-subset");
    let d = Req::get("/").decide(&p);
    assert_eq!(
        d.request_headers,
        vec![
            remove("x-route-subset"),
            set("x-route-subset", "r.prod.svc.cluster.local/v1")
        ]
    );
}

#[test]
fn redirect_answers_with_location_and_code() {
    let p = rules(json!([
        {"match": [{"uri": {"prefix": "/old"}}], "redirect": {"uri": "/new", "authority": "example.com", "redirectCode": 308}},
        {"match": [{"uri": {"prefix": "/secure"}}], "redirect": {"scheme": "https", "port": 8443}},
        {"match": [{"uri": {"prefix": "/q"}}], "redirect": {"uri": "/r?fixed=1"}}
    ]));
    let d = Req::get("/old/x?a=1").decide(&p);
    let lr = d.local_response.unwrap();
    assert_eq!(lr.status, 308);
    assert_eq!(
        lr.headers,
        vec![(
            "location".to_owned(),
            "http://example.com/new?a=1".to_owned()
        )]
    );
    let lr = Req::get("/secure/x").decide(&p).local_response.unwrap();
    assert_eq!(lr.status, 301, "Istio's default");
    assert_eq!(lr.headers[0].1, "https://reviews:8443/secure/x");
    let lr = Req::get("/q?a=1").decide(&p).local_response.unwrap();
    assert_eq!(
        lr.headers[0].1, "http://reviews:9080/r?fixed=1",
        "a query in the redirect uri replaces the request's"
    );
}

#[test]
fn direct_response_answers_with_status_and_body() {
    let p = rules(
        json!([{"directResponse": {"status": 503, "body": {"string": "down for maintenance"}}}]),
    );
    let d = Req::get("/").decide(&p);
    let lr = d.local_response.unwrap();
    assert_eq!((lr.status, lr.body.as_str()), (503, "down for maintenance"));
    assert_eq!(
        lr.headers,
        vec![("content-type".to_owned(), "text/plain".to_owned())]
    );
    assert_eq!(d.destination, None);
}

#[test]
fn fault_abort_fires_for_its_percentage_of_requests() {
    let p = |pct: f64| {
        rules(
            json!([{"fault": {"abort": {"httpStatus": 418, "percentage": {"value": pct}}},
            "route": [{"destination": {"host": "a", "subset": "v1"}}]}]),
        )
    };
    let count = |policy: &meshpolicy_engine::Policy| {
        let mut rng = crate::support::Rng(7);
        (0..20_000)
            .filter(|_| {
                let d = Req::get("/").random(rng.next_u64()).decide(policy);
                match d.local_response {
                    Some(lr) => {
                        assert_eq!((lr.status, lr.body.as_str()), (418, "fault filter abort"));
                        assert_eq!(d.destination, None);
                        true
                    }
                    None => {
                        assert_eq!(subset_of(&d).as_deref(), Some("v1"));
                        false
                    }
                }
            })
            .count()
    };
    assert_eq!(count(&p(0.0)), 0);
    assert_eq!(count(&p(100.0)), 20_000);
    let quarter = count(&p(25.0));
    assert!(
        (4_600..=5_400).contains(&quarter),
        "25% of 20000 aborted, got {quarter}"
    );
}

#[test]
fn abort_without_percentage_never_fires_as_in_istio() {
    // Istio translates an abort without `percentage` with a 0% fraction.
    let p = rules(
        json!([{"fault": {"abort": {"httpStatus": 503}}, "route": [{"destination": {"host": "a"}}]}]),
    );
    let mut rng = crate::support::Rng(7);
    for _ in 0..10_000 {
        let d = Req::get("/").random(rng.next_u64()).decide(&p);
        assert_eq!(d.local_response, None);
        assert!(d.destination.is_some());
    }
}

#[test]
fn decision_carries_metric_labels() {
    let p = rules(json!([
        {"name": "canary", "match": [{"uri": {"prefix": "/r"}}], "route": [{"destination": {"host": "reviews", "subset": "v2"}}]},
        {"directResponse": {"status": 404}}
    ]));
    let d = Req::get("/r").decide(&p);
    assert_eq!(&*d.labels.policy_rule, "canary");
    assert_eq!(
        &*d.labels.policy_destination,
        "reviews.prod.svc.cluster.local/v2"
    );
    let d = Req::get("/x").decide(&p);
    assert_eq!(
        &*d.labels.policy_rule, "vs.http[1]",
        "unnamed rules are named by position"
    );
    assert_eq!(&*d.labels.policy_destination, "unknown");
}
