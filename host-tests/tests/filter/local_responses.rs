//! Redirect, direct response and fault abort: answered by the filter.

use host_tests::Action;
use serde_json::json;

use super::support::{plugin, policy, request_to};

fn local(config: serde_json::Value, path: &str) -> host_tests::LocalResponse {
    let mut plugin = plugin(&config);
    let outcome = request_to(&mut plugin, "shop.example", path, &[]);
    assert_ne!(
        outcome.action,
        Action::Continue,
        "a local response stops the request"
    );
    assert!(outcome.upstream.is_none(), "nothing goes upstream");
    outcome.local.expect("a local response")
}

#[test]
fn redirect_is_a_local_response_with_location() {
    let config = policy(json!({"http": [{
        "match": [{"uri": {"exact": "/old"}}],
        "redirect": {"uri": "/new", "redirectCode": 308}
    }]}));
    let response = local(config, "/old");
    assert_eq!(response.status, 308);
    let location = response
        .headers
        .iter()
        .find(|(k, _)| k == "location")
        .map(|(_, v)| v.as_str());
    assert_eq!(location, Some("http://shop.example/new"));
}

#[test]
fn direct_response_has_status_and_body() {
    let config = policy(json!({"http": [{
        "match": [{"uri": {"prefix": "/health"}}],
        "directResponse": {"status": 204, "body": {"string": "fine"}}
    }]}));
    let response = local(config, "/healthz");
    assert_eq!(response.status, 204);
    assert_eq!(response.body, b"fine");
}

#[test]
fn fault_abort_at_100_percent_answers_with_its_status() {
    let config = policy(json!({"http": [{
        "fault": {"abort": {"httpStatus": 503, "percentage": {"value": 100.0}}},
        "route": [{"destination": {"host": "reviews"}}]
    }]}));
    let response = local(config, "/any");
    assert_eq!(response.status, 503);
}

#[test]
fn fault_abort_at_0_percent_never_fires() {
    let config = policy(json!({"http": [{
        "fault": {"abort": {"httpStatus": 503, "percentage": {"value": 0.0}}},
        "route": [{"destination": {"host": "reviews", "subset": "v1"}}]
    }]}));
    let mut plugin = plugin(&config);
    for _ in 0..200 {
        let out = super::support::request(&mut plugin, "/any", &[]);
        assert!(out.local.is_none());
        assert_eq!(out.subset(), Some("v1"));
    }
}
