//! `guest-probe` in its `abi` mode: the status and value Envoy answers for
//! every host call, from the callback where the answer is particular.
//! Expected values follow Envoy's `source/extensions/common/wasm/context.cc`
//! and proxy-wasm-cpp-host `src/exports.cc`.

use crate::support::{Probes, guest};
use host_tests::WasmResult::{BadArgument, CasMismatch, Empty, InvalidMemoryAccess, NotFound, Ok};
use host_tests::{Action, MetricKind, MetricValue, Plugin, PluginOptions};

pub fn start_probe(mode: &str) -> Plugin {
    let plugin = Plugin::start(
        &guest("probe"),
        PluginOptions {
            plugin_config: mode.as_bytes().to_vec(),
            vm_config: b"vm-conf".to_vec(),
            plugin_name: "probe-plugin".to_string(),
            vm_id: "probe-vm".to_string(),
            ..PluginOptions::default()
        },
    )
    .expect("guest-probe starts");
    assert!(
        plugin.configured(),
        "guest-probe configured in mode `{mode}`"
    );
    plugin
}

pub fn probes(plugin: &Plugin) -> Probes {
    Probes::from_logs(plugin.logs().iter())
}

/// Sends `request` through a new stream of `plugin`, which must let it
/// continue, and returns the probes logged so far.
pub fn probes_after(plugin: &mut Plugin, request: &[(&str, &str)]) -> Probes {
    let mut stream = plugin.new_stream();
    assert_eq!(stream.request_headers(request, true), Action::Continue);
    probes(plugin)
}

const REQUEST: &[(&str, &str)] = &[
    (":method", "GET"),
    (":path", "/p"),
    (":authority", "h"),
    ("x-probe", "a"),
    ("X-Probe", "b"),
    ("x-remove-me", "1"),
];

#[test]
fn root_context_sees_its_configuration_log_level_and_clock() {
    let plugin = start_probe("abi");
    let p = probes(&plugin);
    assert_eq!(
        p.get("on_context_create").status,
        1,
        "the root context is 1"
    );
    assert_eq!(p.value("on_context_create"), "0", "the root has no parent");
    p.expect("vm_configuration", Ok, "vm-conf");
    p.expect("plugin_configuration", Ok, "abi");
    let level = PluginOptions::default().log_level as u32;
    p.expect("get_log_level", Ok, &level.to_string());
    assert_eq!(p.status("current_time"), Ok);
    let now: u64 = p.value("current_time").parse().unwrap();
    assert!(
        now > 1_500_000_000_000_000_000,
        "a wall clock in ns, got {now}"
    );
    let names = p.names();
    let order: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| ["on_context_create", "on_vm_start", "on_configure"].contains(n))
        .collect();
    assert_eq!(order, ["on_context_create", "on_vm_start", "on_configure"]);
}

#[test]
fn metrics_follow_envoy_counters_gauges_and_histograms() {
    let plugin = start_probe("abi");
    let p = probes(&plugin);
    assert_eq!(p.status("define_counter"), Ok);
    // Envoy hands out a new id for the same name, bound to the same stat.
    assert_eq!(p.status("define_counter_again"), Ok);
    p.expect("counter_increment_3", Ok, "");
    p.expect("counter_increment_0", BadArgument, "");
    p.expect("counter_increment_negative", BadArgument, "");
    p.expect("counter_get", Ok, "3");
    p.expect("counter_record_10", Ok, "");
    p.expect("counter_get_after_record", Ok, "13");
    p.expect("gauge_record_7", Ok, "");
    p.expect("gauge_increment_negative", Ok, "");
    p.expect("gauge_get", Ok, "5");
    p.expect("histogram_record", Ok, "");
    p.expect("histogram_increment", BadArgument, "");
    p.expect("histogram_get", BadArgument, "");
    p.expect("define_bad_kind", BadArgument, "");
    p.expect("increment_unknown", NotFound, "");
    p.expect("get_unknown", NotFound, "");

    let find = |name: &str| {
        plugin
            .metric(name)
            .unwrap_or_else(|| panic!("no metric `{name}` in {:?}", plugin.metrics()))
    };
    assert_eq!(find("probe_counter").kind, MetricKind::Counter);
    assert_eq!(find("probe_counter").value, MetricValue::Counter(13));
    assert_eq!(find("probe_gauge").value, MetricValue::Gauge(5));
    assert_eq!(
        find("probe_histogram").value,
        MetricValue::Histogram(vec![42])
    );
}

#[test]
fn shared_data_and_queues_answer_like_envoy() {
    let plugin = start_probe("abi");
    let p = probes(&plugin);
    p.expect("shared_get_missing", NotFound, "<none>");
    p.expect("shared_set", Ok, "");
    p.expect("shared_get", Ok, "v1");
    p.expect("shared_set_stale_cas", CasMismatch, "");
    p.expect("shared_set_cas", Ok, "");
    p.expect("shared_get_after_cas", Ok, "v2 true");

    p.expect("queue_register", Ok, "");
    p.expect("queue_register_again", Ok, "true");
    p.expect("queue_resolve_missing", NotFound, "");
    p.expect("queue_resolve_own", Ok, "true");
    p.expect("queue_dequeue_empty", Empty, "<none>");
    p.expect("queue_enqueue", Ok, "");
    p.expect("queue_dequeue", Ok, "m1");
    p.expect("queue_enqueue_unknown", NotFound, "");
    p.expect("queue_dequeue_unknown", NotFound, "<none>");
}

#[test]
fn root_context_calls_without_a_stream() {
    let plugin = start_probe("abi");
    let p = probes(&plugin);
    p.expect("property_missing", NotFound, "<none>");
    p.expect("property_plugin_name", Ok, "probe-plugin");
    // Envoy keeps set properties in the stream's filter state: none on the root.
    p.expect("set_property_root", NotFound, "");
    p.expect("foreign_missing", NotFound, "<none>");
    p.expect("done_outside_on_done", NotFound, "");
    p.expect("set_effective_context_unknown", BadArgument, "");
    p.expect("set_effective_context_root", Ok, "");
    p.expect("set_tick_period", Ok, "0");
    p.expect("request_header_in_configure", BadArgument, "<none>");
    p.expect("http_call_without_method", BadArgument, "0");
}

#[test]
fn request_headers_statuses_values_and_edits() {
    let mut plugin = start_probe("abi");
    let mut stream = plugin.new_stream();
    assert_eq!(stream.request_headers(REQUEST, true), Action::Continue);
    let upstream = stream.request_headers_seen_upstream().expect("forwarded");
    let clears = stream.route_cache_clears();
    let p = probes(&plugin);
    assert_eq!(p.value("on_request_headers"), "6 1");
    p.expect(
        "request_pairs",
        Ok,
        ":method=GET;:path=/p;:authority=h;x-probe=a;x-probe=b;x-remove-me=1",
    );
    // Envoy's getHeaderMapSize is the map's byte size (keys plus values).
    let bytes: usize = REQUEST.iter().map(|(k, v)| k.len() + v.len()).sum();
    p.expect("request_size", Ok, &bytes.to_string());
    p.expect("get_missing", NotFound, "<none>");
    p.expect("get_mixed_case", Ok, "a");
    p.expect("response_header_in_request", BadArgument, "<none>");
    // Envoy's getHeaderMapPairs reads a missing map as empty (no error).
    p.expect("response_pairs_in_request", Ok, "<none>");
    p.expect("add_response_in_request", BadArgument, "");
    p.expect("trailers_size_in_request", BadArgument, "0");
    p.expect("add", Ok, "");
    p.expect("add_second", Ok, "");
    p.expect("get_added", Ok, "1");
    p.expect("replace", Ok, "");
    p.expect("replace_absent", Ok, "");
    p.expect("remove", Ok, "");
    p.expect("remove_absent", Ok, "");
    p.expect("get_removed", NotFound, "<none>");
    // No body yet: Envoy's buffer wrapper is empty, not missing.
    p.expect("request_body_in_headers", Ok, "<none>");
    p.expect("set_property", Ok, "");
    p.expect("get_set_property", Ok, "pv");
    p.expect("property_request_path", Ok, "/p");

    let mut expected = vec![
        (":method", "GET"),
        (":path", "/p"),
        (":authority", "h"),
        ("x-added", "1"),
        ("x-added", "2"),
        ("x-probe", "replaced"),
        ("x-new", "fresh"),
    ];
    let mut seen: Vec<(&str, &str)> = upstream
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    expected.sort();
    seen.sort();
    assert_eq!(seen, expected, "the headers sent upstream");
    assert_eq!(
        clears, 6,
        "each add, replace and remove clears the route cache"
    );
}

#[test]
fn bodies_trailers_and_response_edits_in_their_callbacks() {
    let mut plugin = start_probe("abi");
    let mut stream = plugin.new_stream();
    assert_eq!(stream.request_headers(REQUEST, false), Action::Continue);
    assert_eq!(
        stream.request_body(b"hello ", false),
        Action::StopIterationAndBuffer
    );
    assert_eq!(stream.request_body(b"world", true), Action::Continue);
    assert_eq!(
        stream.request_trailers(&[("grpc-status", "0")]),
        Action::Continue
    );
    assert_eq!(stream.request_body_seen_upstream(), b"REPLACED");
    let trailers = stream
        .request_trailers_seen_upstream()
        .expect("trailers forwarded");
    assert!(trailers.contains(&("x-trailer-added".to_string(), "t".to_string())));

    assert_eq!(
        stream.response_headers(&[(":status", "200"), ("x-probe-set-pairs", "1")], false),
        Action::Continue
    );
    let downstream = stream
        .response_headers_seen_downstream()
        .expect("forwarded");
    assert_eq!(
        downstream,
        vec![
            (":status".to_string(), "202".to_string()),
            ("x-all".to_string(), "new".to_string())
        ]
    );
    assert_eq!(
        stream.response_body(b"the secret", false),
        Action::StopIterationAndBuffer
    );
    assert_eq!(stream.response_body(b"", true), Action::Continue);
    assert_eq!(
        stream.response_body_seen_downstream(),
        b"pre-the secret-post"
    );
    assert_eq!(stream.response_trailers(&[("x-t", "1")]), Action::Continue);
    stream.complete();

    let p = probes(&plugin);
    p.expect("request_body", Ok, "hello world");
    p.expect("request_body_slice", Ok, "llo");
    p.expect("request_header_in_body", BadArgument, "<none>");
    p.expect("request_body_replace", Ok, "");
    p.expect("request_body_after", Ok, "REPLACED");
    p.expect("request_trailers_size", Ok, "12");
    p.expect("request_trailers_pairs", Ok, "grpc-status=0");
    p.expect("request_trailers_add", Ok, "");
    p.expect("response_status", Ok, "200");
    p.expect("request_header_in_response", BadArgument, "<none>");
    p.expect("response_add", Ok, "");
    p.expect("response_set_pairs", Ok, "");
    p.expect("response_pairs", Ok, ":status=202;x-all=new");
    p.expect("response_body", Ok, "the secret");
    p.expect("response_body_prepend", Ok, "");
    p.expect("response_body_append", Ok, "");
    p.expect("response_body_middle", BadArgument, "");
    p.expect("response_body_after", Ok, "pre-the secret-post");
    p.expect("response_trailers_size", Ok, "4");
    p.expect("response_trailers_pairs", Ok, "x-t=1");
    // on_log reads Envoy's access-log maps, read-only.
    p.expect("log_request_header", Ok, "/p");
    p.expect("log_response_header", Ok, "202");
    p.expect("log_add_request_header", BadArgument, "");

    let stream_id = p.get("on_request_headers").status;
    let lifecycle: Vec<&str> =
        p.0.iter()
            .filter(|x| x.name.starts_with("on_") && x.status == stream_id)
            .map(|x| x.name.as_str())
            .collect();
    assert_eq!(
        lifecycle,
        [
            "on_context_create",
            "on_request_headers",
            "on_request_body",
            "on_request_body",
            "on_request_trailers",
            "on_response_headers",
            "on_response_body",
            "on_response_body",
            "on_response_trailers",
            "on_log",
            "on_done",
            "on_delete"
        ]
    );
    assert!(
        p.0.iter()
            .any(|x| x.name == "on_context_create" && x.status == stream_id && x.value == "1")
    );
}

#[test]
fn an_empty_map_has_size_zero_and_no_pairs() {
    let mut plugin = start_probe("abi");
    let mut stream = plugin.new_stream();
    stream.request_headers(REQUEST, false);
    stream.request_trailers(&[]);
    let p = probes(&plugin);
    p.expect("request_trailers_size", Ok, "0");
    // cpp-host answers an empty map with a null pointer and size 0.
    p.expect("request_trailers_pairs", Ok, "<none>");
}

#[test]
fn out_of_bounds_pointers_get_an_error_status_not_a_crash() {
    let mut plugin = start_probe("oob");
    let p = probes_after(&mut plugin, REQUEST);
    p.expect("oob_log", InvalidMemoryAccess, "");
    p.expect("oob_return_pointers", InvalidMemoryAccess, "");
    p.expect("oob_key", InvalidMemoryAccess, "");
    p.expect("oob_pairs_size", InvalidMemoryAccess, "");
    assert!(
        !plugin.is_failed(),
        "bad pointers fail the call, not the vm"
    );
}

/// Configures only if every gRPC call answers as Envoy does without a gRPC
/// cluster: starting a call or a stream is `INTERNAL_FAILURE` (10), every
/// token is unknown, `NOT_FOUND` (1).
const GRPC_GUEST: &str = r#"(module
  (import "env" "proxy_grpc_call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_grpc_stream" (func $stream (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_grpc_cancel" (func $cancel (param i32) (result i32)))
  (import "env" "proxy_grpc_close" (func $close (param i32) (result i32)))
  (import "env" "proxy_grpc_send" (func $send (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (i32.and
      (i32.and
        (i32.eq (call $call (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 4)
                            (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 100) (i32.const 16))
                (i32.const 10))
        (i32.eq (call $stream (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 4)
                              (i32.const 0) (i32.const 0) (i32.const 16))
                (i32.const 10)))
      (i32.and
        (i32.and
          (i32.eq (call $cancel (i32.const 1)) (i32.const 1))
          (i32.eq (call $close (i32.const 1)) (i32.const 1)))
        (i32.eq (call $send (i32.const 1) (i32.const 0) (i32.const 4) (i32.const 0)) (i32.const 1))))))"#;

#[test]
fn grpc_calls_answer_like_envoy_without_a_grpc_cluster() {
    let bytes = wat::parse_str(GRPC_GUEST).expect("valid WAT");
    let module = crate::support::host().load_bytes(&bytes).expect("loads");
    let options = PluginOptions {
        count_host_calls: true,
        ..PluginOptions::default()
    };
    let mut plugin = Plugin::start(&module, options).expect("starts");
    assert!(
        plugin.configured(),
        "a gRPC call answered otherwise: {:?}",
        plugin.logs()
    );
    assert!(!plugin.is_failed(), "{:?}", plugin.failure());
    let calls = plugin.take_host_calls();
    for name in [
        "proxy_grpc_call",
        "proxy_grpc_stream",
        "proxy_grpc_cancel",
        "proxy_grpc_close",
        "proxy_grpc_send",
    ] {
        assert_eq!(calls.count(name), 1, "{name} counted once: {calls}");
    }
}
