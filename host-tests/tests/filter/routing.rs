//! The article's rewrite and route, the canary split, stickiness, and the
//! decision header a client cannot forge.

use host_tests::Plugin;
use serde_json::json;

use super::support::{article_policy, plugin, policy, request};

#[test]
fn article_rewrite_keeps_the_rest_of_the_path_and_the_query_and_routes_to_v2() {
    let mut plugin = plugin(&article_policy());
    let out = request(&mut plugin, "/wpcatalog/books?id=1", &[]);
    assert_eq!(out.path(), "/newcatalog/books?id=1");
    assert_eq!(out.subset(), Some("v2"));
    assert!(
        out.route_cache_clears > 0,
        "header edits must clear the route cache"
    );

    let out = request(&mut plugin, "/consumercatalog", &[]);
    assert_eq!(out.path(), "/newcatalog");
    assert_eq!(out.subset(), Some("v2"));

    // Envoy's prefix match has no segment boundary.
    let out = request(&mut plugin, "/wpcatalogue", &[]);
    assert_eq!(out.path(), "/newcatalogue");
}

#[test]
fn article_prefix_is_case_sensitive() {
    let mut plugin = plugin(&article_policy());
    let out = request(&mut plugin, "/WPCATALOG", &[]);
    assert_eq!(out.path(), "/WPCATALOG", "no rewrite");
    // The request falls through to the canary rule: v1 or v2, never rewritten.
    assert!(matches!(out.subset(), Some("v1" | "v2")));
}

#[test]
fn canary_split_of_10000_requests_is_90_10_within_2_points() {
    let mut plugin = plugin(&article_policy());
    let n = 10_000;
    let mut v2 = 0;
    for i in 0..n {
        let out = request(&mut plugin, &format!("/reviews/{i}"), &[]);
        match out.subset() {
            Some("v2") => v2 += 1,
            Some("v1") => {}
            other => panic!("unexpected subset {other:?}"),
        }
    }
    let share = f64::from(v2) * 100.0 / f64::from(n);
    assert!(
        (8.0..=12.0).contains(&share),
        "v2 got {share:.2}% of requests"
    );
}

#[test]
fn sticky_split_sends_a_key_to_the_same_subset_in_every_vm() {
    let mut config = article_policy();
    config["spec"]["virtualServices"][0]["http"][1]["sticky"] = json!({"header": "x-user-id"});
    let mut first = plugin(&config);
    let mut second = plugin(&config);
    let mut seen = std::collections::BTreeSet::new();
    for user in 0..200 {
        let id = user.to_string();
        let want = request(&mut first, "/reviews", &[("x-user-id", &id)])
            .subset()
            .map(str::to_owned);
        for _ in 0..3 {
            let again = request(&mut first, "/reviews", &[("x-user-id", &id)]);
            assert_eq!(
                again.subset().map(str::to_owned),
                want,
                "user {id}, same VM"
            );
        }
        let other_vm = request(&mut second, "/reviews", &[("x-user-id", &id)]);
        assert_eq!(
            other_vm.subset().map(str::to_owned),
            want,
            "user {id}, other VM"
        );
        seen.insert(want);
    }
    assert_eq!(seen.len(), 2, "200 users must reach both subsets: {seen:?}");
}

#[test]
fn client_supplied_decision_header_is_removed() {
    let config = policy(json!({
        "http": [
            {"name": "api", "match": [{"uri": {"prefix": "/api"}}],
             "route": [{"destination": {"host": "reviews", "subset": "v1"}}]}
        ]
    }));
    let mut plugin = plugin(&config);
    let forged = [
        ("x-meshpolicy-route", "reviews.prod.svc.cluster.local/v2"),
        ("x-meshpolicy-route", "evil.prod.svc.cluster.local"),
    ];

    let out = request(&mut plugin, "/api/x", &forged);
    assert_eq!(
        out.values("x-meshpolicy-route"),
        vec!["reviews.prod.svc.cluster.local/v1"]
    );

    // No rule matches: the request goes on without any decision header.
    let out = request(&mut plugin, "/other", &forged);
    assert!(
        out.values("x-meshpolicy-route").is_empty(),
        "{:?}",
        out.upstream
    );
}

#[test]
fn header_edits_reach_the_upstream_and_the_downstream() {
    let config = policy(json!({
        "http": [{
            "name": "edits",
            "headers": {
                "request": {"set": {"x-set": "rule"}, "add": {"x-add": "a"}, "remove": ["x-drop"]},
                "response": {"set": {"x-served-by": "meshpolicy"}}
            },
            "route": [{"destination": {"host": "reviews", "subset": "v1"},
                       "headers": {"request": {"set": {"x-dest": "v1"}}}}]
        }]
    }));
    let mut plugin = plugin(&config);
    let mut stream = plugin.new_stream();
    stream.request_headers(
        &[
            (":method", "GET"),
            (":path", "/"),
            (":authority", "reviews"),
            ("x-drop", "1"),
            ("x-add", "0"),
        ],
        true,
    );
    let upstream = stream.request_headers_seen_upstream().unwrap();
    let get = |name: &str| -> Vec<&str> {
        upstream
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(get("x-set"), vec!["rule"]);
    assert_eq!(get("x-add"), vec!["0", "a"]);
    assert!(get("x-drop").is_empty());
    assert_eq!(get("x-dest"), vec!["v1"]);
    stream.response_headers(&[(":status", "200")], true);
    let downstream = stream.response_headers_seen_downstream().unwrap();
    assert!(
        downstream
            .iter()
            .any(|(k, v)| k == "x-served-by" && v == "meshpolicy")
    );
}

#[test]
fn port_match_reads_the_destination_port_else_the_authority() {
    let config = policy(json!({"http": [
        {"name": "port", "match": [{"port": 9080}],
         "route": [{"destination": {"host": "reviews", "subset": "v1"}}]}
    ]}));
    // No `destination.port` property: the port in `:authority` (reviews:9080) counts.
    let mut by_authority = plugin(&config);
    assert_eq!(request(&mut by_authority, "/", &[]).subset(), Some("v1"));

    // Envoy's `destination.port` wins over the authority.
    let mut opts = super::support::options(&config);
    opts.properties = host_tests::Properties::new().with("destination.port", 8080_i64);
    let mut by_property = host_tests::Plugin::start(super::support::module(), opts).unwrap();
    assert!(by_property.configured());
    assert_eq!(request(&mut by_property, "/", &[]).subset(), None);
}

#[test]
fn source_labels_and_namespace_come_from_node_metadata() {
    let config = policy(json!({"http": [
        {"name": "from-web", "match": [{"sourceLabels": {"app": "web"}, "sourceNamespace": "prod"}],
         "route": [{"destination": {"host": "reviews", "subset": "v2"}}]},
        {"name": "rest", "route": [{"destination": {"host": "reviews", "subset": "v1"}}]}
    ]}));
    let start = |namespace: &str, app: &str| {
        let mut opts = super::support::options(&config);
        opts.properties =
            host_tests::Properties::new().with_node_metadata(host_tests::NodeMetadata {
                namespace: Some(namespace.into()),
                labels: [("app".to_string(), app.to_string())].into(),
                ..Default::default()
            });
        let plugin = host_tests::Plugin::start(super::support::module(), opts).unwrap();
        assert!(plugin.configured());
        plugin
    };
    assert_eq!(
        request(&mut start("prod", "web"), "/", &[]).subset(),
        Some("v2")
    );
    assert_eq!(
        request(&mut start("staging", "web"), "/", &[]).subset(),
        Some("v1")
    );
    assert_eq!(
        request(&mut start("prod", "api"), "/", &[]).subset(),
        Some("v1")
    );
}

/// One request and its 200 response: (decision key upstream, `set-cookie`
/// headers the client sees).
fn request_and_response(
    plugin: &mut Plugin,
    cookie: Option<&str>,
) -> (Option<String>, Vec<String>) {
    let mut headers = vec![
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "reviews:9080"),
        (":path", "/reviews/1"),
    ];
    if let Some(c) = cookie {
        headers.push(("cookie", c));
    }
    let mut stream = plugin.new_stream();
    stream.request_headers(&headers, true);
    let key = stream
        .request_headers_seen_upstream()
        .and_then(|h| h.into_iter().find(|(k, _)| k == "x-meshpolicy-route"))
        .map(|(_, v)| v);
    stream.response_headers(&[(":status", "200")], true);
    let cookies = stream
        .response_headers_seen_downstream()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v)
        .collect();
    stream.complete();
    (key, cookies)
}

#[test]
fn a_generated_cookie_keeps_a_user_on_one_destination_on_the_wasm() {
    let mut config = article_policy();
    config["spec"]["virtualServices"][0]["http"][1]["sticky"] =
        json!({"cookie": "reviews-canary", "generate": {"ttl": "1h"}});
    let mut p = plugin(&config);
    let mut keys = std::collections::BTreeSet::new();
    for _ in 0..100 {
        let (first, cookies) = request_and_response(&mut p, None);
        let [set] = cookies.as_slice() else {
            panic!("one set-cookie expected, got {cookies:?}");
        };
        assert!(
            set.starts_with("reviews-canary=")
                && set.ends_with("; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"),
            "{set}"
        );
        let pair = set.split(';').next().unwrap().to_owned();
        // The browser sends it back: the same destination, no new cookie.
        for _ in 0..3 {
            let (again, cookies) = request_and_response(&mut p, Some(&pair));
            assert_eq!(again, first, "{pair}");
            assert!(cookies.is_empty(), "{cookies:?}");
        }
        keys.insert(first);
    }
    // Drawn keys spread over the split (90/10): both destinations get users.
    assert_eq!(keys.len(), 2, "{keys:?}");
}
