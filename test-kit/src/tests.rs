use meshpolicy_cel::Program;
use meshpolicy_engine::Policy;

use super::*;

#[test]
fn guests_are_where_make_guests_puts_them() {
    let probe = guest_path("telemetry-floor");
    assert!(
        probe.ends_with("wasm32-wasip1/release/guest_telemetry_floor.wasm"),
        "{}",
        probe.display()
    );
    let nowasi = guest_path("nowasi");
    assert!(
        nowasi.ends_with("wasm32-unknown-unknown/release/guest_nowasi.wasm"),
        "{}",
        nowasi.display()
    );
}

#[test]
fn a_missing_guest_fails_naming_make_guests() {
    let message = std::panic::catch_unwind(|| guest_bytes("no-such-guest"))
        .err()
        .and_then(|e| e.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(message.contains("run `make guests`"), "{message}");
}

#[test]
fn the_article_policy_is_the_manifests_one_and_compiles() {
    let doc = article_policy();
    assert_eq!(doc["kind"], "TrafficPolicy");
    assert_eq!(doc["metadata"]["name"], "reviews");
    let policy = Policy::from_value(doc).unwrap();
    assert_eq!(policy.rule_count(), 2);
}

#[test]
fn fake_attributes_answer_cel_like_envoy() {
    let attrs = FakeAttributes::default()
        .with_str("request.host", "reviews:9080")
        .with_int("destination.port", 9080)
        .with_header("x-tenant", "acme")
        .with_response_header("x-cache", "hit");
    let eval = |src: &str| {
        Program::compile(src)
            .unwrap()
            .eval(&attrs)
            .map(|v| v.to_label())
            .unwrap()
    };
    assert_eq!(eval("request.host"), "reviews:9080");
    assert_eq!(eval("string(destination.port + 1)"), "9081");
    assert_eq!(eval("request.headers['x-tenant']"), "acme");
    assert_eq!(eval("response.headers['x-cache']"), "hit");
    assert_eq!(eval("'x-cache' in request.headers"), "false");
}

#[test]
fn the_request_builder_starts_from_the_articles_client() {
    let req = Req::get("/reviews/1").header("X-User-Id", "7");
    let request = req.request();
    assert_eq!(request.source.namespace.as_deref(), Some("prod"));
    assert_eq!(request.port, Some(9080));
    assert!(
        request
            .headers
            .contains(&("x-user-id".to_string(), "7".to_string()))
    );
}
