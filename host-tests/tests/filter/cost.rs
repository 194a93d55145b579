//! What a request costs the filter in host calls, and what its memory does
//! over many requests (issue 11). Counts and sizes, not times: they are the
//! same on every machine, so they are asserted; times are in `make bench`.

use host_tests::{HostCalls, LoadedModule, Plugin, PluginOptions, Properties, PropertyValue};
use serde_json::{Value, json};

use super::support::{article_policy, module};

/// The article's policy with `telemetry`.
fn policy(telemetry: Value) -> Value {
    let mut policy = article_policy();
    policy["spec"]["telemetry"] = telemetry;
    policy
}

/// The article's Telemetry (shared/examples/istio/telemetry-tag-overrides.yaml).
fn article_telemetry() -> Value {
    json!([{"overrides": [{"match": {"metric": "ALL_METRICS"}, "tagOverrides": {
        "source_app": {"operation": "REMOVE"}, "destination_app": {"operation": "REMOVE"}}}]}])
}

fn metrics_off() -> Value {
    json!([{"overrides": [{"disabled": true}]}])
}

use test_kit::{productpage_node as node, reviews_v2_peer as peer};

/// An outbound sidecar (`xds.listener_direction` 2) with `properties`
/// added, counting host calls from the start.
fn start_with(config: &Value, properties: Properties) -> Plugin {
    start_module(module(), serde_json::to_vec(config).unwrap(), properties)
}

fn start_module(module: &LoadedModule, config: Vec<u8>, properties: Properties) -> Plugin {
    test_kit::configured(
        module,
        PluginOptions {
            plugin_config: config,
            properties: properties.with("xds.listener_direction", 2_i64),
            count_host_calls: true,
            ..PluginOptions::default()
        },
    )
}

/// The outbound sidecar `productpage-v1` calling `reviews-v2`.
fn sidecar() -> Properties {
    Properties::new()
        .with_node_metadata(node())
        .with_upstream_peer(peer())
}

fn start(config: &Value) -> Plugin {
    start_with(config, sidecar())
}

/// One full request (the rewrite rule matches), its host calls counted.
fn request(plugin: &mut Plugin) -> HostCalls {
    plugin.take_host_calls();
    let mut stream = plugin.new_stream();
    stream.request_headers(
        &[
            (":method", "GET"),
            (":path", "/wpcatalog/item/42?color=red"),
            (":authority", "reviews.prod.svc.cluster.local"),
            (":scheme", "http"),
            ("x-user-id", "7"),
        ],
        true,
    );
    stream.response_headers(&[(":status", "200"), ("content-type", "text/plain")], true);
    stream.complete();
    plugin.take_host_calls()
}

/// What every routed request costs: the request headers in one call, the
/// virtual host Envoy selected, then `:path` and the decision header.
const ROUTING: u64 = 4;

#[test]
fn node_metadata_is_read_once_per_configure_with_one_call() {
    let mut plugin = start(&policy(article_telemetry()));
    let calls = plugin.host_calls();
    let node_reads: Vec<&String> = calls
        .properties()
        .iter()
        .filter(|p| p.starts_with("node"))
        .collect();
    assert_eq!(node_reads, ["node.metadata"], "{calls}");
    assert!(plugin.reconfigure(serde_json::to_vec(&policy(metrics_off())).unwrap()));
    let calls = plugin.take_host_calls();
    assert_eq!(calls.property_reads("node.metadata"), 2, "{calls}");
    assert_eq!(
        calls
            .properties()
            .iter()
            .filter(|p| p.starts_with("node"))
            .count(),
        2,
        "{calls}"
    );
}

#[test]
fn with_every_metric_disabled_a_request_makes_no_metric_host_call() {
    let mut plugin = start(&policy(metrics_off()));
    for _ in 0..2 {
        let calls = request(&mut plugin);
        assert_eq!(calls.total(), ROUTING, "{calls}");
        assert_eq!(calls.count("proxy_get_current_time_nanoseconds"), 0);
        assert_eq!(calls.property_reads("xds.listener_direction"), 0);
        assert_eq!(calls.properties(), ["xds.virtual_host_name"], "{calls}");
    }
    assert!(plugin.metrics().is_empty());
}

#[test]
fn with_the_articles_telemetry_a_request_pays_for_what_it_records() {
    let mut plugin = start(&policy(article_telemetry()));
    // The first request of a label set also defines its four metrics.
    let first = request(&mut plugin);
    assert_eq!(first.count("proxy_define_metric"), 4, "{first}");
    let calls = request(&mut plugin);
    assert_eq!(calls.count("proxy_define_metric"), 0, "{calls}");
    assert_eq!(calls.count("proxy_increment_metric"), 1, "{calls}");
    assert_eq!(calls.count("proxy_record_metric"), 3, "{calls}");
    assert_eq!(
        calls.count("proxy_get_current_time_nanoseconds"),
        0,
        "{calls}"
    );
    // The peer's metadata in one read of the whole Struct, never field by field.
    assert_eq!(calls.property_reads("upstream_peer"), 1, "{calls}");
    assert!(
        !calls
            .properties()
            .iter()
            .any(|p| p.starts_with("upstream_peer.") || p.starts_with("node")),
        "{calls}"
    );
    // Every property is read at most once per request.
    let mut seen = calls.properties().to_vec();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), calls.properties().len(), "{calls}");
    // The listener's direction is read once, at configure, not per request.
    assert_eq!(calls.property_reads("xds.listener_direction"), 0, "{calls}");
    // Routing, then on_log: the peer, the two certificates, the cluster
    // (absent without a route table, so `:authority` too), `:status`, the
    // response flags, the duration and both sizes, and the four metric
    // calls. Not `content-type`: gRPC or not is known from the request
    // headers (`telemetry::Decided::grpc`).
    assert_eq!(calls.total(), ROUTING + 14, "{calls}");
    assert_eq!(plugin.metrics().len(), 4);
}

/// The cost bench's third floor (`guest-telemetry-floor` configured with
/// `reads`) is only a floor for
/// meshpolicy if it makes the very host calls meshpolicy makes: the same
/// functions as often, the same properties in the same order.
#[test]
fn the_reads_floor_makes_exactly_the_host_calls_of_meshpolicy() {
    let mut filter = start(&policy(article_telemetry()));
    let reads_floor = test_kit::guest("telemetry-floor");
    let mut floor = start_module(&reads_floor, b"reads".to_vec(), sidecar());
    // meshpolicy defines a label set's four metrics on its first request,
    // the floor at configure: compare the requests after that.
    request(&mut filter);
    request(&mut floor);
    for _ in 0..2 {
        let expected = request(&mut filter);
        let calls = request(&mut floor);
        assert_eq!(
            calls, expected,
            "reads floor: {calls}\nmeshpolicy: {expected}"
        );
    }
    assert_eq!(floor.metrics().len(), 4);
}

#[test]
fn peer_metadata_read_whole_or_field_by_field_gives_the_same_labels() {
    // A proxy whose `upstream_peer` is not a Struct when read whole (a map
    // of fields): the filter falls back to reading field by field.
    let PropertyValue::Struct(fields) = peer().to_value() else {
        panic!("peer metadata is a Struct");
    };
    let opaque = Properties::new()
        .with_node_metadata(node())
        .with("upstream_peer", PropertyValue::Map(fields));
    let mut whole = start(&policy(article_telemetry()));
    let mut by_field = start_with(&policy(article_telemetry()), opaque);
    request(&mut whole);
    let calls = request(&mut by_field);
    assert!(
        calls.property_reads("upstream_peer.workload") == 1,
        "{calls}"
    );
    let names =
        |p: &Plugin| -> Vec<String> { p.metrics().iter().map(|m| m.name.clone()).collect() };
    assert_eq!(names(&whole), names(&by_field));
    assert!(
        names(&whole)[0].contains("destination_workload=.=reviews-v2;.;"),
        "{:?}",
        names(&whole)
    );
}

#[test]
fn linear_memory_stays_flat_across_100000_requests() {
    let mut plugin = start(&policy(article_telemetry()));
    let after_configure = plugin.memory_bytes();
    assert!(
        after_configure < 4 << 20,
        "{after_configure} bytes after configure"
    );
    for _ in 0..10_000 {
        request(&mut plugin);
    }
    let warm = plugin.memory_bytes();
    for _ in 0..100_000 {
        request(&mut plugin);
    }
    assert_eq!(
        plugin.memory_bytes(),
        warm,
        "linear memory grew over 100,000 requests (after configure: {after_configure})"
    );
}

/// `make build` checks the shipped module with `scripts/check-size.sh`
/// against the Makefile's `WASM_BUDGET`: the module is within it, and the
/// same check fails one byte below the module's size.
#[test]
fn the_build_fails_past_the_size_budget() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let run = |cmd: &mut std::process::Command| {
        cmd.current_dir(&root)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?} (needs make and bash): {e}"))
    };
    let budget = run(std::process::Command::new("make").args(["-s", "wasm-budget"]));
    assert!(budget.status.success(), "{budget:?}");
    let budget: u64 = String::from_utf8_lossy(&budget.stdout)
        .trim()
        .parse()
        .expect("`make wasm-budget` prints a number");
    let wasm = super::support::wasm_path();
    let size = std::fs::metadata(&wasm)
        .unwrap_or_else(|e| panic!("{}: {e}; run `make build`", wasm.display()))
        .len();
    let check = |budget: u64| {
        run(std::process::Command::new("scripts/check-size.sh")
            .arg(&wasm)
            .arg(budget.to_string()))
    };
    let within = check(budget);
    assert!(
        within.status.success(),
        "{} is {size} bytes, over the Makefile's budget of {budget}: {within:?}",
        wasm.display()
    );
    let past = check(size - 1);
    assert_eq!(past.status.code(), Some(1), "{past:?}");
    assert!(
        String::from_utf8_lossy(&past.stderr).contains("over the budget"),
        "{past:?}"
    );
}
