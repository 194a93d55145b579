//! Envoy's router simulated around a guest: route selection by
//! `:authority` and path, re-selection after a header edit by an ABI 0.2.1
//! module, `xds.*` properties, rewrites, local answers and 404 `NR`.

use crate::abi_status::probes;
use crate::support::guest;
use host_tests::WasmResult::{NotFound, Ok};
use host_tests::{Action, HttpStream, Plugin, PluginOptions, RouteTable};
use serde_json::json;

const REVIEWS: &str = "outbound|9080||reviews.prod.svc.cluster.local";
const REVIEWS_V1: &str = "outbound|9080|v1|reviews.prod.svc.cluster.local";
const REVIEWS_V2: &str = "outbound|9080|v2|reviews.prod.svc.cluster.local";
const RATINGS: &str = "outbound|9080||ratings.prod.svc.cluster.local";

/// A sidecar's outbound table for port 9080, in Envoy's JSON shape.
fn table(with_star: bool) -> RouteTable {
    let mut vhosts = vec![
        json!({
            "name": "reviews.prod.svc.cluster.local:9080",
            "domains": ["reviews.prod.svc.cluster.local", "reviews", "reviews.prod.svc", "reviews.prod"],
            "routes": [
                {"name": "edited", "match": {"prefix": "/", "headers": [{"name": "x-probe-route", "exact": "edited"}]},
                 "route": {"cluster": REVIEWS_V1}},
                {"name": "legacy", "match": {"prefix": "/wpcatalog"},
                 "route": {"cluster": REVIEWS_V2, "prefix_rewrite": "/newcatalog", "timeout": "5s",
                           "retry_policy": {"retry_on": "5xx", "num_retries": 3}}},
                {"name": "exact", "match": {"path": "/exact"}, "route": {"cluster": REVIEWS}},
                {"name": "to-ratings", "match": {"prefix": "/ratings"}, "route": {"cluster": RATINGS}},
                {"name": "rewrite-host", "match": {"prefix": "/host"},
                 "route": {"cluster": REVIEWS, "host_rewrite_literal": "reviews-v2.internal"}},
                {"name": "split", "match": {"prefix": "/split"},
                 "route": {"weighted_clusters": {"clusters": [
                     {"name": REVIEWS_V1, "weight": 90}, {"name": REVIEWS_V2, "weight": 10}]}}},
                {"name": "moved", "match": {"path": "/old"}, "redirect": {"path_redirect": "/new"}},
                {"name": "gone", "match": {"path": "/gone"},
                 "direct_response": {"status": 410, "body": "gone"}}
            ]
        }),
        json!({"name": "wildcard", "domains": ["*.example.com"],
               "routes": [{"name": "wildcard", "match": {"prefix": "/"}, "route": {"cluster": "wildcard"}}]}),
        json!({"name": "api", "domains": ["api.example.com"],
               "routes": [{"name": "api", "match": {"prefix": "/"}, "route": {"cluster": "api"}}]}),
    ];
    if with_star {
        vhosts.push(json!({"name": "allow_any", "domains": ["*"],
            "routes": [{"name": "allow_any", "match": {"prefix": "/"}, "route": {"cluster": "PassthroughCluster"}}]}));
    }
    serde_json::from_value(json!({
        "name": "9080",
        "virtual_hosts": vhosts,
        "ignore_port_in_host_matching": true
    }))
    .expect("the table deserialises")
}

fn start(guest_name: &str, config: &str, table: RouteTable) -> Plugin {
    let plugin = Plugin::start(
        &guest(guest_name),
        PluginOptions {
            plugin_config: config.as_bytes().to_vec(),
            route_table: Some(table),
            ..PluginOptions::default()
        },
    )
    .expect("the guest starts with a route table");
    assert!(plugin.configured(), "{guest_name} configured");
    plugin
}

fn get(authority: &str, path: &str) -> Vec<(&'static str, String)> {
    vec![
        (":method", "GET".to_string()),
        (":scheme", "http".to_string()),
        (":path", path.to_string()),
        (":authority", authority.to_string()),
    ]
}

/// A new stream of `plugin` that sent the request headers of `path` to
/// `reviews` (end of stream).
fn to_reviews<'p>(plugin: &'p mut Plugin, path: &str) -> HttpStream<'p> {
    let mut stream = plugin.new_stream();
    stream.request_headers(&[(":path", path), (":authority", "reviews")], true);
    stream
}

/// Sends one GET through a pass-through guest; returns (cluster, upstream
/// `:path`, upstream Host, route name).
fn land(
    plugin: &mut Plugin,
    authority: &str,
    path: &str,
) -> (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
) {
    let headers = get(authority, path);
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut stream = plugin.new_stream();
    assert_eq!(stream.request_headers(&pairs, true), Action::Continue);
    let upstream_path = stream
        .request_headers_seen_upstream()
        .and_then(|h| h.into_iter().find(|(k, _)| k == ":path").map(|(_, v)| v));
    (
        stream.upstream_cluster(),
        upstream_path,
        stream.upstream_host(),
        stream.route_name(),
    )
}

#[test]
fn exact_domain_wins_over_a_wildcard_and_star_takes_any_other_host() {
    let mut plugin = start("floor", "", table(true));
    assert_eq!(
        land(&mut plugin, "api.example.com", "/").0.as_deref(),
        Some("api")
    );
    assert_eq!(
        land(&mut plugin, "WEB.example.com:8080", "/").0.as_deref(),
        Some("wildcard")
    );
    assert_eq!(
        land(&mut plugin, "elsewhere.org", "/").0.as_deref(),
        Some("PassthroughCluster")
    );
}

#[test]
fn a_short_name_with_its_port_selects_the_service_and_the_prefix_rewrite_keeps_the_query() {
    let mut plugin = start("floor", "", table(true));
    let (cluster, path, host, route) = land(&mut plugin, "reviews:9080", "/wpcatalog/books?id=1");
    assert_eq!(cluster.as_deref(), Some(REVIEWS_V2));
    assert_eq!(path.as_deref(), Some("/newcatalog/books?id=1"));
    assert_eq!(
        host.as_deref(),
        Some("reviews:9080"),
        "Envoy keeps the Host"
    );
    assert_eq!(route.as_deref(), Some("legacy"));
}

#[test]
fn the_route_options_are_carried_for_the_test_to_read() {
    let mut plugin = start("floor", "", table(true));
    let stream = to_reviews(&mut plugin, "/wpcatalog");
    let route = stream.selected_route().expect("a route");
    let action = route.route.expect("a route action");
    assert_eq!(action.timeout.as_deref(), Some("5s"));
    assert_eq!(
        action.retry_policy,
        Some(json!({"retry_on": "5xx", "num_retries": 3}))
    );
}

#[test]
fn path_matching_ignores_the_query_string() {
    let mut plugin = start("floor", "", table(true));
    let (cluster, path, _, route) = land(&mut plugin, "reviews", "/exact?x=/y");
    assert_eq!(
        (cluster.as_deref(), route.as_deref()),
        (Some(REVIEWS), Some("exact"))
    );
    assert_eq!(path.as_deref(), Some("/exact?x=/y"));
}

#[test]
fn a_route_to_another_host_lands_on_that_hosts_cluster() {
    let mut plugin = start("floor", "", table(true));
    let (cluster, _, host, _) = land(&mut plugin, "reviews.prod.svc.cluster.local", "/ratings/1");
    assert_eq!(cluster.as_deref(), Some(RATINGS));
    assert_eq!(host.as_deref(), Some("reviews.prod.svc.cluster.local"));
}

#[test]
fn an_authority_rewrite_changes_the_host_sent_upstream_but_not_the_route() {
    let mut plugin = start("floor", "", table(true));
    let stream = to_reviews(&mut plugin, "/host/a");
    assert_eq!(
        stream.upstream_host().as_deref(),
        Some("reviews-v2.internal")
    );
    assert_eq!(stream.upstream_cluster().as_deref(), Some(REVIEWS));
    assert_eq!(stream.route_name().as_deref(), Some("rewrite-host"));
    assert_eq!(
        stream.virtual_host_name().as_deref(),
        Some("reviews.prod.svc.cluster.local:9080")
    );
}

#[test]
fn a_header_edit_by_an_abi_0_2_1_module_reselects_the_route() {
    let mut plugin = start("probe", "route", table(true));
    let mut stream = plugin.new_stream();
    let action = stream.request_headers(
        &[
            (":method", "GET"),
            (":path", "/wpcatalog/x"),
            (":authority", "reviews:9080"),
        ],
        true,
    );
    assert_eq!(action, Action::Continue);
    assert_eq!(stream.route_cache_clears(), 1);
    assert_eq!(stream.upstream_cluster().as_deref(), Some(REVIEWS_V1));
    assert_eq!(stream.route_name().as_deref(), Some("edited"));
    stream.response_headers(&[(":status", "200")], true);
    let p = probes(&plugin);
    p.expect("route_before_route_name", Ok, "legacy");
    p.expect("route_before_cluster_name", Ok, REVIEWS_V2);
    p.expect("route_edit", Ok, "");
    // Envoy's clearRouteCache leaves the stream info as it was until the
    // route is resolved again (envoyproxy/envoy#20157).
    p.expect("route_after_route_name", Ok, "legacy");
    p.expect("route_after_cluster_name", Ok, REVIEWS_V2);
    // The router resolved it again from the edited headers.
    p.expect("route_response_route_name", Ok, "edited");
    p.expect("route_response_cluster_name", Ok, REVIEWS_V1);
    p.expect(
        "route_response_virtual_host_name",
        Ok,
        "reviews.prod.svc.cluster.local:9080",
    );
}

#[test]
fn xds_properties_are_not_found_when_no_virtual_host_matches() {
    let mut plugin = start("probe", "route", table(false));
    let mut stream = plugin.new_stream();
    stream.request_headers(&[(":path", "/"), (":authority", "unknown.org")], true);
    assert_eq!(stream.local_response().map(|l| l.status), Some(404));
    let p = probes(&plugin);
    p.expect("route_before_virtual_host_name", NotFound, "<none>");
    p.expect("route_before_route_name", NotFound, "<none>");
    p.expect("route_before_cluster_name", NotFound, "<none>");
}

#[test]
fn no_route_is_a_404_nr_that_the_filters_response_callbacks_see() {
    let mut plugin = start("sdk", "", table(true));
    let mut stream = plugin.new_stream();
    stream.request_headers(&[(":path", "/nomatch"), (":authority", "reviews")], false);
    let local = stream.local_response().expect("the router answered");
    assert_eq!(
        (local.status, local.details.as_str()),
        (404, "route_not_found")
    );
    assert_eq!(stream.response_flag(), Some("NR"));
    assert!(stream.request_headers_seen_upstream().is_none());
    assert_eq!(stream.upstream_cluster(), None);
    let downstream = stream.response_headers_seen_downstream().expect("a reply");
    assert!(
        downstream.contains(&("x-sdk-response".to_string(), "404".to_string())),
        "the filter's on_response_headers ran on the router's reply: {downstream:?}"
    );
    assert_eq!(stream.request_body(b"late", true), Action::NotDelivered);
}

#[test]
fn direct_responses_and_redirects_are_answered_by_the_router() {
    let mut plugin = start("floor", "", table(true));
    let mut stream = plugin.new_stream();
    stream.request_headers(
        &[
            (":scheme", "http"),
            (":path", "/old?q=1"),
            (":authority", "reviews:9080"),
        ],
        true,
    );
    let local = stream.local_response().expect("a redirect");
    assert_eq!(
        (local.status, local.details.as_str()),
        (301, "direct_response")
    );
    assert_eq!(
        local.headers,
        vec![(
            "location".to_string(),
            "http://reviews:9080/new?q=1".to_string()
        )]
    );
    let stream = to_reviews(&mut plugin, "/gone");
    let local = stream.local_response().expect("a direct response");
    assert_eq!((local.status, local.body.as_slice()), (410, &b"gone"[..]));
    assert_eq!(stream.response_flag(), None);
}

#[test]
fn weighted_clusters_pick_from_the_streams_random_draw() {
    let mut plugin = start("floor", "", table(true));
    for (draw, cluster) in [
        (5, REVIEWS_V1),
        (95, REVIEWS_V2),
        (189, REVIEWS_V1),
        (199, REVIEWS_V2),
    ] {
        let mut stream = plugin.new_stream();
        stream.set_route_random(draw);
        stream.request_headers(&[(":path", "/split"), (":authority", "reviews")], true);
        assert_eq!(
            stream.upstream_cluster().as_deref(),
            Some(cluster),
            "draw {draw}"
        );
    }
    // Unseeded streams draw from the plugin's seeded generator and say so.
    let stream = to_reviews(&mut plugin, "/split");
    let draw = stream.route_random().expect("a draw");
    let expected = if draw % 100 < 90 {
        REVIEWS_V1
    } else {
        REVIEWS_V2
    };
    assert_eq!(stream.upstream_cluster().as_deref(), Some(expected));
}

#[test]
fn an_invalid_route_table_is_an_error_naming_the_field() {
    let mut bad = table(true);
    bad.virtual_hosts[0].routes[1].matcher.safe_regex = Some("(".into());
    let err = Plugin::start(
        &guest("floor"),
        PluginOptions {
            route_table: Some(bad),
            ..PluginOptions::default()
        },
    )
    .expect_err("the table is refused");
    assert!(
        err.to_string()
            .contains("virtual_hosts[0].routes[1].match.safe_regex: invalid regex"),
        "{err}"
    );
}
