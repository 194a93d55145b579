//! The filter's request metrics on the host, read back the way Prometheus
//! scrapes Envoy's `/stats/prometheus` with the proxy settings of
//! docs/telemetry.md (Istio `extraStatTags` for every label; Istio's stats
//! inclusion list, which always keeps the `wasm` prefix).
//!
//! Needs `target/meshpolicy.wasm` (`make build`), or `$MESHPOLICY_WASM`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use host_tests::prometheus::{StatsConfig, render};
use host_tests::{Plugin, PluginOptions};
use meshpolicy_engine::telemetry::STANDARD_LABELS;
use serde_json::{Value, json};

use test_kit::{article_properties, filter_module as module};

/// The article's routing policy with `telemetry`.
fn policy(telemetry: Value) -> Value {
    json!({
        "apiVersion": "meshpolicy.dev/v1alpha2",
        "kind": "TrafficPolicy",
        "metadata": {"name": "reviews", "namespace": "prod"},
        "spec": {
            "virtualServices": [{"name": "reviews", "hosts": ["*"], "http": [
                {
                    "name": "legacy-catalog",
                    "match": [{"uri": {"prefix": "/wpcatalog"}}],
                    "rewrite": {"uri": "/newcatalog"},
                    "route": [{"destination": {"host": "reviews.prod.svc.cluster.local", "subset": "v2"}}]
                },
                {"name": "reviews-v1", "route": [{"destination": {"host": "reviews", "subset": "v1"}}]}
            ]}],
            "subsets": {"reviews.prod.svc.cluster.local": {"v1": {"version": "v1"}, "v2": {"version": "v2"}}},
            "telemetry": telemetry
        }
    })
}

/// /work/shared/examples/istio/telemetry-tag-overrides.yaml, `spec.metrics`
/// as it is (the policy's `telemetry` takes Istio's `metrics` entries).
fn article_telemetry() -> Value {
    json!([{
        "providers": [{"name": "prometheus"}],
        "overrides": [{
            "match": {"metric": "ALL_METRICS"},
            "tagOverrides": {
                "source_app": {"operation": "REMOVE"},
                "destination_app": {"operation": "REMOVE"}
            }
        }]
    }])
}

/// A sidecar `productpage-v1` in `prod`; `direction` 1 = inbound, 2 = outbound.
fn start(config: &Value, direction: i64) -> Plugin {
    let properties = article_properties(direction);
    test_kit::configured(
        module(),
        PluginOptions {
            plugin_config: serde_json::to_vec(config).unwrap(),
            properties,
            ..PluginOptions::default()
        },
    )
}

/// One request through the filter: headers, optional body, a 200 response
/// after `millis` on the clock, then on_log.
fn request(plugin: &mut Plugin, path: &str, extra: &[(&str, &str)], body: &[u8], millis: u64) {
    let mut headers = vec![
        (":method", "GET"),
        (":path", path),
        (":authority", "reviews:9080"),
        (":scheme", "http"),
    ];
    headers.extend_from_slice(extra);
    let mut stream = plugin.new_stream();
    stream.request_headers(&headers, body.is_empty());
    if !body.is_empty() {
        stream.request_body(body, true);
    }
    stream.plugin().advance_clock(Duration::from_millis(millis));
    stream.response_headers(&[(":status", "200"), ("content-length", "5")], false);
    stream.response_body(b"hello", true);
    stream.complete();
}

/// Envoy's `/stats/prometheus` under the proxy settings of docs/telemetry.md.
fn scrape(plugin: &Plugin, extra_tags: &[&str]) -> String {
    let mut tags: Vec<&str> = STANDARD_LABELS.to_vec();
    tags.extend_from_slice(extra_tags);
    let cfg = StatsConfig::new()
        .with_istio_extra_stat_tags(&tags)
        .unwrap()
        // Istio's bootstrap always includes the `wasm` prefix (pkg/bootstrap/config.go).
        .with_inclusion_regex(r"wasm.*")
        .unwrap();
    render(plugin.metrics(), &cfg)
}

fn lines_of<'a>(text: &'a str, metric: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(metric) && !l.starts_with("# "))
        .collect()
}

#[test]
fn the_articles_telemetry_removes_app_labels_from_every_metric() {
    let mut plugin = start(&policy(article_telemetry()), 2);
    request(&mut plugin, "/wpcatalog/1", &[], b"", 3);
    request(&mut plugin, "/wpcatalog/2", &[], b"", 3);
    let text = scrape(&plugin, &[]);
    for metric in [
        "meshpolicy_requests_total",
        "meshpolicy_request_duration_milliseconds",
        "meshpolicy_request_bytes",
        "meshpolicy_response_bytes",
    ] {
        let lines = lines_of(&text, metric);
        assert!(!lines.is_empty(), "no {metric} in:\n{text}");
        for line in lines {
            assert!(
                !line.contains("source_app=") && !line.contains("destination_app="),
                "{line}"
            );
            assert!(line.contains("source_version=\"v1\""), "{line}");
        }
    }
    assert!(
        text.contains(concat!(
            "meshpolicy_requests_total{reporter=\"source\",source_workload=\"productpage-v1\",",
            "source_workload_namespace=\"prod\",source_principal=\"unknown\",source_version=\"v1\",",
            "source_canonical_service=\"unknown\",source_canonical_revision=\"unknown\",source_cluster=\"Kubernetes\",",
            "destination_workload=\"reviews-v2\",destination_workload_namespace=\"prod\",destination_principal=\"unknown\",",
            "destination_version=\"v2\",destination_service=\"reviews:9080\",destination_service_name=\"reviews:9080\",",
            "destination_service_namespace=\"prod\",destination_canonical_service=\"unknown\",",
            "destination_canonical_revision=\"latest\",destination_cluster=\"unknown\",request_protocol=\"http\",",
            "response_code=\"200\",grpc_response_status=\"\",response_flags=\"-\",connection_security_policy=\"unknown\",",
            "policy_rule=\"legacy-catalog\",policy_destination=\"reviews.prod.svc.cluster.local/v2\"} 2\n"
        )),
        "{text}"
    );
}

#[test]
fn without_telemetry_policy_every_standard_label_is_there() {
    let mut plugin = start(&policy(json!([])), 2);
    request(&mut plugin, "/other", &[], b"", 1);
    let text = scrape(&plugin, &[]);
    let line = lines_of(&text, "meshpolicy_requests_total{")[0];
    for label in STANDARD_LABELS {
        assert!(
            line.contains(&format!("{label}=\"")),
            "{label} missing in {line}"
        );
    }
    assert!(
        line.contains("source_app=\"productpage\",")
            && line.contains("destination_app=\"reviews\",")
    );
    assert!(line.contains(
        "policy_rule=\"reviews-v1\",policy_destination=\"reviews.prod.svc.cluster.local/v1\"} 1"
    ));
}

#[test]
fn an_upsert_takes_its_value_from_a_request_header() {
    let telemetry = json!([{"overrides": [{"match": {"metric": "REQUEST_COUNT"}, "tagOverrides": {
        "tenant": {"value": "request.headers['x-tenant']"},
        "destination_service": {"value": "'x-tenant' in request.headers ? request.host : 'anonymous'"}
    }}]}]);
    let mut plugin = start(&policy(telemetry), 2);
    request(&mut plugin, "/a", &[("x-tenant", "acme")], b"", 1);
    request(&mut plugin, "/a", &[("x-tenant", "acme")], b"", 1);
    request(&mut plugin, "/a", &[], b"", 1);
    let text = scrape(&plugin, &["tenant"]);
    let counts = lines_of(&text, "meshpolicy_requests_total{");
    assert_eq!(counts.len(), 2, "{text}");
    assert!(
        counts
            .iter()
            .any(|l| l.contains("destination_service=\"reviews:9080\"")
                && l.ends_with("tenant=\"acme\"} 2")),
        "{text}"
    );
    // A failing expression gives `unknown`, as Istio does.
    assert!(
        counts
            .iter()
            .any(|l| l.contains("destination_service=\"anonymous\"")
                && l.ends_with("tenant=\"unknown\"} 1")),
        "{text}"
    );
    // Only REQUEST_COUNT was selected.
    for l in lines_of(&text, "meshpolicy_request_bytes_count") {
        assert!(!l.contains("tenant="), "{l}");
    }
}

#[test]
fn max_values_reports_further_values_as_other_and_logs_once() {
    let telemetry = json!([{"overrides": [{"tagOverrides": {
        "tenant": {"value": "request.headers['x-tenant']", "maxValues": 2}
    }}]}]);
    let mut plugin = start(&policy(telemetry), 2);
    for tenant in ["a", "b", "c", "d", "a", "e"] {
        request(&mut plugin, "/", &[("x-tenant", tenant)], b"", 1);
    }
    let text = scrape(&plugin, &["tenant"]);
    let counts = lines_of(&text, "meshpolicy_requests_total{");
    let count_of = |t: &str| {
        counts
            .iter()
            .find(|l| l.contains(&format!("tenant=\"{t}\"")))
            .map(|l| l.rsplit(' ').next().unwrap().to_string())
    };
    assert_eq!(count_of("a").as_deref(), Some("2"));
    assert_eq!(count_of("b").as_deref(), Some("1"));
    assert_eq!(count_of("other").as_deref(), Some("3"));
    assert_eq!(count_of("c"), None);
    assert_eq!(counts.len(), 3);
    let warnings = plugin
        .logs()
        .iter()
        .filter(|l| l.message.contains("tag `tenant` reached its maxValues"))
        .count();
    assert_eq!(warnings, 1, "{:?}", plugin.logs());
}

#[test]
fn mode_selects_client_or_server_reporting() {
    let telemetry = json!([{"overrides": [
        {"match": {"metric": "REQUEST_COUNT", "mode": "SERVER"}, "disabled": true},
        {"match": {"mode": "CLIENT"}, "tagOverrides": {"side": {"value": "'client'"}}}
    ]}]);
    // Outbound (CLIENT): the counter is there, with the CLIENT-only tag.
    let mut outbound = start(&policy(telemetry.clone()), 2);
    request(&mut outbound, "/", &[], b"", 1);
    let text = scrape(&outbound, &["side"]);
    let line = lines_of(&text, "meshpolicy_requests_total{")[0];
    assert!(
        line.starts_with("meshpolicy_requests_total{reporter=\"source\","),
        "{line}"
    );
    assert!(line.ends_with("side=\"client\"} 1"), "{line}");

    // Inbound (SERVER): no counter at all, histograms without the tag.
    let mut inbound = start(&policy(telemetry), 1);
    request(&mut inbound, "/", &[], b"", 1);
    let text = scrape(&inbound, &["side"]);
    assert!(
        lines_of(&text, "meshpolicy_requests_total").is_empty(),
        "{text}"
    );
    let dur = lines_of(&text, "meshpolicy_request_duration_milliseconds_count")[0];
    assert!(
        dur.contains("reporter=\"destination\"") && !dur.contains("side="),
        "{dur}"
    );
    assert!(dur.contains("destination_app=\"productpage\""), "{dur}");
}

#[test]
fn a_disabled_metric_is_never_defined() {
    let telemetry = json!([{"overrides": [
        {"match": {"metric": "REQUEST_SIZE"}, "disabled": true},
        {"match": {"metric": "RESPONSE_SIZE", "mode": "CLIENT"}, "disabled": true}
    ]}]);
    let mut plugin = start(&policy(telemetry), 2);
    request(&mut plugin, "/", &[], b"body", 1);
    let names: Vec<&str> = plugin.metrics().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| !n.ends_with("meshpolicy_request_bytes")
                && !n.ends_with("meshpolicy_response_bytes")),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.ends_with(";.;meshpolicy_requests_total"))
    );
}

#[test]
fn each_label_set_is_defined_once() {
    let mut plugin = start(&policy(json!([])), 2);
    for _ in 0..20 {
        request(&mut plugin, "/", &[], b"", 1);
    }
    assert_eq!(plugin.metrics().len(), 4);
    let text = scrape(&plugin, &[]);
    assert!(lines_of(&text, "meshpolicy_requests_total{")[0].ends_with("} 20"));
}

#[test]
fn histograms_fill_envoys_buckets() {
    let mut plugin = start(&policy(article_telemetry()), 2);
    request(&mut plugin, "/", &[], &[b'x'; 300], 30);
    request(&mut plugin, "/", &[], &[b'x'; 300], 700);
    let text = scrape(&plugin, &[]);
    let le = |metric: &str, le: &str| -> String {
        let line = text
            .lines()
            .find(|l| {
                l.starts_with(&format!("{metric}_bucket{{"))
                    && l.contains(&format!("le=\"{le}\"}}"))
            })
            .unwrap_or_else(|| panic!("no {metric} le={le} in\n{text}"));
        line.rsplit(' ').next().unwrap().to_string()
    };
    let d = "meshpolicy_request_duration_milliseconds";
    assert_eq!(le(d, "25"), "0");
    assert_eq!(le(d, "50"), "1"); // 30 ms: circllhist bin [30, 31)
    assert_eq!(le(d, "500"), "1");
    assert_eq!(le(d, "1000"), "2"); // 700 ms: bin [700, 710)
    assert_eq!(le(d, "+Inf"), "2");
    assert!(text.contains(&format!("{d}_sum{{")), "{text}");
    // Request bytes: headers (names and values) plus the 300-byte body.
    let r = "meshpolicy_request_bytes";
    assert_eq!(le(r, "250"), "0");
    assert_eq!(le(r, "500"), "2");
    // Response bytes: `:status`, content-length and the 5-byte body.
    let s = "meshpolicy_response_bytes";
    assert_eq!(le(s, "25"), "0");
    assert_eq!(le(s, "50"), "2");
    assert!(text.contains("# TYPE meshpolicy_request_duration_milliseconds histogram\n"));
}

#[test]
fn a_custom_prefix_names_the_metrics() {
    let mut config = policy(json!([]));
    config["spec"]["settings"] = json!({"metricPrefix": "mesh_"});
    let mut plugin = start(&config, 2);
    request(&mut plugin, "/", &[], b"", 1);
    assert!(plugin.metrics().iter().all(|m| m.name.contains(";.;mesh_")));
}

#[test]
fn invalid_telemetry_is_rejected_with_field_paths() {
    let telemetry = json!([{"overrides": [
        {"tagOverrides": {"source_app": {"operation": "REMOVE", "value": "'x'"}}},
        {"tagOverrides": {"tenant": {"operation": "UPSERT"}}},
        {"tagOverrides": {"team": {"value": "request.headers['x-team'"}}}
    ]}]);
    let plugin = Plugin::start(
        module(),
        PluginOptions {
            plugin_config: serde_json::to_vec(&policy(telemetry)).unwrap(),
            ..PluginOptions::default()
        },
    )
    .unwrap();
    assert!(!plugin.configured());
    let logs: Vec<&str> = plugin.logs().iter().map(|l| l.message.as_str()).collect();
    for expected in [
        "spec.telemetry[0].overrides[0].tagOverrides.source_app.value: value must not be set when operation is REMOVE",
        "spec.telemetry[0].overrides[1].tagOverrides.tenant.value: value must be set when operation is UPSERT",
        "spec.telemetry[0].overrides[2].tagOverrides.team.value: invalid CEL expression `request.headers['x-team'`: syntax error at column 25: expected `]`, found end of expression",
    ] {
        assert!(
            logs.iter().any(|l| l.contains(expected)),
            "missing `{expected}` in {logs:#?}"
        );
    }
}

#[test]
fn envoys_size_and_duration_attributes_are_used_when_present() {
    let mut plugin = start(&policy(article_telemetry()), 2);
    plugin.properties_mut().set_path(
        &["request", "total_size"],
        host_tests::PropertyValue::Int(4000),
    );
    plugin.properties_mut().set_path(
        &["response", "total_size"],
        host_tests::PropertyValue::Int(70000),
    );
    plugin.properties_mut().set_path(
        &["request", "duration"],
        host_tests::PropertyValue::Int(2_000_000_000),
    );
    request(&mut plugin, "/", &[], b"", 1);
    let text = scrape(&plugin, &[]);
    let sum = |metric: &str| {
        let line = lines_of(&text, &format!("{metric}_sum{{"))[0];
        line.rsplit(' ').next().unwrap().to_string()
    };
    // circllhist midpoints: 4000 -> [4000, 4100), 70000 -> [70000, 71000), 2000 ms -> [2000, 2100)
    assert_eq!(sum("meshpolicy_request_bytes"), "4050");
    assert_eq!(sum("meshpolicy_response_bytes"), "70500");
    assert_eq!(sum("meshpolicy_request_duration_milliseconds"), "2050");
}

/// `request_protocol` is decided from the request headers as the filter
/// leaves them, as Istio's stats filter decides it when the headers pass
/// (istio/proxy `source/extensions/filters/http/istio_stats/istio_stats.cc`,
/// `decodeHeaders`: `is_grpc_`): a gRPC `content-type`, or one the policy
/// sets, gives `grpc`, and `content-type` is not read again at log time.
#[test]
fn grpc_is_decided_from_the_request_headers_without_a_read_at_log_time() {
    let mut plain = policy(article_telemetry());
    plain["spec"]["virtualServices"][0]["http"][1]["headers"] =
        json!({"request": {"set": {"content-type": "application/grpc"}}});
    let mut plugin = test_kit::configured(
        module(),
        PluginOptions {
            plugin_config: serde_json::to_vec(&plain).unwrap(),
            properties: article_properties(2),
            count_host_calls: true,
            ..PluginOptions::default()
        },
    );
    let grpc = [("content-type", "application/grpc")];
    request(&mut plugin, "/wpcatalog/1", &grpc, b"", 1);
    plugin.take_host_calls();
    request(
        &mut plugin,
        "/wpcatalog/2",
        &[("content-type", "text/plain")],
        b"",
        1,
    );
    // Of the request's headers, on_log reads only `:authority` (no cluster
    // without a route table); of the response's, `:status`.
    let calls = plugin.take_host_calls();
    assert_eq!(calls.count("proxy_get_header_map_value"), 2, "{calls}");
    // The second rule sets a gRPC `content-type`.
    request(
        &mut plugin,
        "/other",
        &[("content-type", "text/plain")],
        b"",
        1,
    );
    let text = scrape(&plugin, &[]);
    let counts = lines_of(&text, "meshpolicy_requests_total{");
    let count = |rule: &str, protocol: &str| {
        counts
            .iter()
            .filter(|l| {
                l.contains(&format!("request_protocol=\"{protocol}\""))
                    && l.contains(&format!("policy_rule=\"{rule}\""))
            })
            .count()
    };
    assert_eq!(count("legacy-catalog", "grpc"), 1, "{text}");
    assert_eq!(count("legacy-catalog", "http"), 1, "{text}");
    assert_eq!(count("reviews-v1", "grpc"), 1, "{text}");
    assert_eq!(counts.len(), 3, "{text}");
}
