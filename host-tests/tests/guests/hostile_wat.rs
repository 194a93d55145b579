//! Hostile modules written in WAT, one per probe of issue 15 ("the host can
//! be exhausted by a module"): each ends in a clear error (a trap naming the
//! host call and the limit, so a failed VM) or in dropped, counted log lines,
//! never in an abort, an allocation the size of the hostile request or an
//! unbounded run. The budgets are `Limits::max_copy_bytes`,
//! `max_log_bytes`, `max_shared_bytes` and the fuel per event.

use host_tests::{Action, Limits, LoadedModule, Plugin, PluginOptions};

const REQUEST: &[(&str, &str)] = &[(":method", "GET"), (":path", "/p"), (":authority", "h")];

/// 64 MiB in wasm pages.
const PAGES_64_MIB: u32 = 1024;

/// A proxy-wasm module (ABI 0.2.1) whose `proxy_on_request_headers` runs
/// `body` (which leaves nothing on the stack) after growing memory to
/// `pages` more pages; `imports` and `extra` are spliced in.
fn module(imports: &str, pages: u32, body: &str, extra: &str) -> LoadedModule {
    let wat = format!(
        r#"(module
  {imports}
  (memory (export "memory") 2)
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (local $i i32)
    (drop (memory.grow (i32.const {pages})))
    {body}
    (i32.const 0))
  {extra}
)"#
    );
    let bytes = wat::parse_str(&wat).unwrap_or_else(|e| panic!("{e}\n{wat}"));
    crate::support::host()
        .load_bytes(&bytes)
        .unwrap_or_else(|e| panic!("the WAT guest does not load: {e}"))
}

fn start(module: &LoadedModule, limits: Limits) -> Plugin {
    let plugin = Plugin::start(
        module,
        PluginOptions {
            limits,
            ..PluginOptions::default()
        },
    )
    .expect("the WAT guest starts");
    assert!(plugin.configured());
    plugin
}

/// Sends one request; the hostile callback must fail the VM with a host
/// limit naming `call`, and the stream gets fail-closed's 503.
#[track_caller]
fn assert_fails_on_host_limit(plugin: &mut Plugin, call: &str) {
    {
        let mut stream = plugin.new_stream();
        let action = stream.request_headers(REQUEST, true);
        assert!(action.is_stop(), "a failed VM stops the stream: {action:?}");
        assert_eq!(stream.local_response().map(|r| r.status), Some(503));
    }
    let failure = plugin.failure().expect("the VM failed").to_string();
    assert!(
        failure.contains(&format!("host limit: `{call}`")),
        "the trap names the host call and the limit: {failure}"
    );
}

/// Repeats `instr` (which may use `$i`, 0-based) `n` times.
fn repeat(n: u32, instr: &str) -> String {
    format!(
        "(local.set $i (i32.const 0))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (i32.const {n})))
      {instr}
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))"
    )
}

const LOG: &str = r#"(import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))"#;

#[test]
fn proxy_log_of_64_mib_40_times_traps_before_copying() {
    // The probe put 2.6 GB on the host; the first call now traps.
    let m = module(
        LOG,
        PAGES_64_MIB,
        &repeat(
            40,
            "(drop (call $log (i32.const 2) (i32.const 0) (i32.const 67108864)))",
        ),
        "",
    );
    let mut plugin = start(&m, Limits::default());
    assert_fails_on_host_limit(&mut plugin, "proxy_log");
    assert!(
        plugin.log_bytes() < 1 << 20,
        "nothing of the 64 MiB lines was kept: {}",
        plugin.log_bytes()
    );
}

#[test]
fn log_lines_past_the_log_budget_are_dropped_and_counted() {
    // 40 lines of 1 MiB under a 4 MiB log budget: 4 kept, 36 dropped.
    let limits = Limits {
        max_log_bytes: 4 << 20,
        ..Limits::default()
    };
    let m = module(
        LOG,
        PAGES_64_MIB,
        &repeat(
            40,
            "(drop (call $log (i32.const 2) (i32.const 0) (i32.const 1048576)))",
        ),
        "",
    );
    let mut plugin = start(&m, limits);
    let action = plugin.new_stream().request_headers(REQUEST, true);
    assert_eq!(action, Action::Continue);
    assert!(!plugin.is_failed(), "{:?}", plugin.failure());
    assert_eq!(plugin.logs().len(), 4);
    assert_eq!(plugin.dropped_logs(), 36);
    assert!(plugin.log_bytes() <= 4 << 20);
}

#[test]
fn fd_write_with_40_iovecs_over_one_64_mib_region_traps_without_allocating() {
    // The probe allocated 5.3 GB and aborted the process. The iovec array
    // sits at 65536 (page 1): 40 entries of (0, 64 MiB).
    let imports = r#"(import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))"#;
    let body = format!(
        "{}
    (drop (call $fd_write (i32.const 1) (i32.const 65536) (i32.const 40) (i32.const 70000)))",
        repeat(
            40,
            "(i32.store (i32.add (i32.const 65536) (i32.mul (local.get $i) (i32.const 8))) (i32.const 0))
      (i32.store (i32.add (i32.const 65540) (i32.mul (local.get $i) (i32.const 8))) (i32.const 67108864))"
        )
    );
    let m = module(imports, PAGES_64_MIB, &body, "");
    let mut plugin = start(&m, Limits::default());
    assert_fails_on_host_limit(&mut plugin, "fd_write");
    assert!(plugin.logs().is_empty());
}

#[test]
fn re_queueing_from_on_queue_ready_cannot_multiply_the_fuel() {
    // Each `on_queue_ready` burns about 3 million instructions and
    // enqueues again. Fuel per event is 20 million: refilled per callback,
    // the host ran 10,000 rounds (about 3e10 instructions, 1,500 times the
    // budget); now the chain spends the request's fuel and fails the VM.
    let imports = r#"
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_register_shared_queue" (func $register (param i32 i32 i32) (result i32)))
  (import "env" "proxy_enqueue_shared_queue" (func $enqueue (param i32 i32 i32) (result i32)))"#;
    let body = r#"(drop (call $register (i32.const 0) (i32.const 1) (i32.const 100)))
    (drop (call $enqueue (i32.load (i32.const 100)) (i32.const 0) (i32.const 1)))"#;
    let extra = r#"(func (export "proxy_on_queue_ready") (param $ctx i32) (param $token i32)
    (local $n i32)
    (drop (call $log (i32.const 2) (i32.const 0) (i32.const 1)))
    (local.set $n (i32.const 1000000))
    (loop $burn
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $burn (local.get $n)))
    (drop (call $enqueue (local.get $token) (i32.const 0) (i32.const 1))))"#;
    let m = module(imports, 0, body, extra);
    let limits = Limits {
        fuel_per_call: 20_000_000,
        ..Limits::default()
    };
    let mut plugin = start(&m, limits);
    plugin.new_stream().request_headers(REQUEST, true);
    let failure = plugin.failure().expect("the chain ran out of fuel");
    assert!(failure.contains("fuel"), "{failure}");
    assert_eq!(
        plugin.fuel_spent(),
        20_000_000,
        "the event spent all its fuel"
    );
    let rounds = plugin.logs().len();
    assert!(
        (1..=20).contains(&rounds),
        "on_queue_ready ran {rounds} times on one event's fuel"
    );
}

#[test]
fn shared_data_past_the_store_budget_traps() {
    let imports = r#"(import "env" "proxy_set_shared_data" (func $set (param i32 i32 i32 i32 i32) (result i32)))"#;
    // Keys are the 4 bytes at $i * 4 in page 1; each value is 16 MiB.
    let body = repeat(
        100,
        "(i32.store (i32.add (i32.const 65536) (i32.mul (local.get $i) (i32.const 4))) (local.get $i))
      (drop (call $set (i32.add (i32.const 65536) (i32.mul (local.get $i) (i32.const 4))) (i32.const 4) (i32.const 0) (i32.const 16777000) (i32.const 0)))",
    );
    let m = module(imports, PAGES_64_MIB, &body, "");
    let mut plugin = start(&m, Limits::default());
    assert_fails_on_host_limit(&mut plugin, "proxy_set_shared_data");
    let held = plugin.shared_store().bytes();
    assert!(held <= 64 << 20, "the store kept {held} bytes");
    assert!(held > 32 << 20, "values up to the budget were kept: {held}");
}

#[test]
fn queued_items_past_the_store_budget_trap() {
    let imports = r#"
  (import "env" "proxy_register_shared_queue" (func $register (param i32 i32 i32) (result i32)))
  (import "env" "proxy_enqueue_shared_queue" (func $enqueue (param i32 i32 i32) (result i32)))"#;
    let body = format!(
        "(drop (call $register (i32.const 0) (i32.const 1) (i32.const 100)))
    {}",
        repeat(
            100,
            "(drop (call $enqueue (i32.load (i32.const 100)) (i32.const 0) (i32.const 8388608)))"
        )
    );
    let m = module(imports, PAGES_64_MIB, &body, "");
    let mut plugin = start(&m, Limits::default());
    assert_fails_on_host_limit(&mut plugin, "proxy_enqueue_shared_queue");
    assert!(plugin.shared_store().bytes() <= 64 << 20);
}

#[test]
fn a_64_mib_local_response_body_traps() {
    let imports = r#"(import "env" "proxy_send_local_response" (func $reply (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))"#;
    let body = "(drop (call $reply (i32.const 200) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 67108864) (i32.const 0) (i32.const 0) (i32.const -1)))";
    let m = module(imports, PAGES_64_MIB, body, "");
    let mut plugin = start(&m, Limits::default());
    assert_fails_on_host_limit(&mut plugin, "proxy_send_local_response");
}

#[test]
fn header_values_growing_a_map_past_the_limit_trap() {
    let imports = r#"(import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))"#;
    // 100 values of 1 MiB under the key `x` (byte 0 of memory is 0, so
    // the key is one NUL byte; the host keeps it lower-cased).
    let body = repeat(
        100,
        "(drop (call $add (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1048576)))",
    );
    let m = module(imports, 32, &body, "");
    let mut plugin = start(&m, Limits::default());
    assert_fails_on_host_limit(&mut plugin, "proxy_add_header_map_value");
}

#[test]
fn http_calls_never_answered_stop_at_the_pending_limit() {
    let imports = r#"(import "env" "proxy_http_call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))"#;
    // A pairs buffer at 2048 with :path, :method and :authority.
    let pairs = {
        let p = host_tests::pairs::serialize_pairs(&[
            (":path", "/"),
            (":method", "GET"),
            (":authority", "a"),
        ]);
        p.iter().map(|b| format!("\\{b:02x}")).collect::<String>()
    };
    let extra = format!(r#"(data (i32.const 2048) "{pairs}")"#);
    let len = host_tests::pairs::serialize_pairs(&[
        (":path", "/"),
        (":method", "GET"),
        (":authority", "a"),
    ])
    .len();
    let body = repeat(
        20_000,
        &format!(
            "(drop (call $call (i32.const 0) (i32.const 1) (i32.const 2048) (i32.const {len}) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const 100)))"
        ),
    );
    let m = module(imports, 0, &body, &extra);
    let mut plugin = start(&m, Limits::default());
    assert_fails_on_host_limit(&mut plugin, "proxy_http_call");
}

/// A module that logs `request_headers` when it sees request headers.
fn observer() -> LoadedModule {
    module(
        LOG,
        0,
        r#"(drop (call $log (i32.const 2) (i32.const 4096) (i32.const 15)))"#,
        r#"(data (i32.const 4096) "request_headers")"#,
    )
}

#[track_caller]
fn assert_refused(headers: &[(&str, &str)], details: &str, status: Option<u32>) {
    let mut plugin = start(&observer(), Limits::default());
    {
        let mut stream = plugin.new_stream();
        assert_eq!(stream.request_headers(headers, true), Action::NotDelivered);
        assert_eq!(stream.refused_by_codec().as_deref(), Some(details));
        assert_eq!(stream.local_response().map(|r| r.status), status);
        assert!(stream.request_headers_seen_upstream().is_none());
        if status.is_some() {
            let seen = stream.response_headers_seen_downstream().expect("answered");
            assert!(seen.contains(&(":status".to_string(), "400".to_string())));
            assert_eq!(stream.response_body_seen_downstream(), b"Bad Request");
        } else {
            assert!(stream.was_reset());
        }
    }
    assert!(plugin.logs().is_empty(), "the filter never saw the request");
}

#[test]
fn cr_lf_and_control_characters_in_header_values_get_envoys_400() {
    for bad in ["a\r\nx-injected: 1", "a\nb", "a\u{1}b", "a\u{7f}b"] {
        let mut headers = REQUEST.to_vec();
        headers.push(("x-user", bad));
        assert_refused(&headers, "http1.invalid_characters", Some(400));
    }
}

#[test]
fn nul_in_the_path_gets_envoys_400() {
    let headers = [(":method", "GET"), (":path", "/a\0b"), (":authority", "h")];
    assert_refused(&headers, "http1.codec_error", Some(400));
}

#[test]
fn two_path_headers_reset_the_stream() {
    for (pseudo, second) in [
        (":path", "/other"),
        (":method", "POST"),
        (":authority", "evil"),
    ] {
        let mut headers = REQUEST.to_vec();
        headers.push((pseudo, second));
        assert_refused(&headers, "http2.invalid.header.field", None);
    }
}

#[test]
fn a_valid_request_still_reaches_the_filter() {
    let mut plugin = start(&observer(), Limits::default());
    let mut headers = REQUEST.to_vec();
    headers.push(("x-tab", "a\tb"));
    let action = plugin.new_stream().request_headers(&headers, true);
    assert_eq!(action, Action::Continue);
    assert_eq!(plugin.logs().len(), 1);
}

#[test]
fn request_headers_over_envoys_default_limits_get_431() {
    let big = "a".repeat(61 * 1024);
    let mut headers = REQUEST.to_vec();
    headers.push(("authorization", big.as_str()));
    assert_refused_with(
        &headers,
        "http1.headers_too_large",
        431,
        b"Request Header Fields Too Large",
    );
    let names: Vec<String> = (0..100).map(|i| format!("x-h{i}")).collect();
    let mut many = REQUEST.to_vec();
    many.extend(names.iter().map(|n| (n.as_str(), "v")));
    assert_refused_with(
        &many,
        "http1.too_many_headers",
        431,
        b"Request Header Fields Too Large",
    );
}

#[track_caller]
fn assert_refused_with(headers: &[(&str, &str)], details: &str, status: u32, body: &[u8]) {
    let mut plugin = start(&observer(), Limits::default());
    {
        let mut stream = plugin.new_stream();
        assert_eq!(stream.request_headers(headers, true), Action::NotDelivered);
        assert_eq!(stream.refused_by_codec().as_deref(), Some(details));
        assert_eq!(stream.local_response().map(|r| r.status), Some(status));
        assert_eq!(stream.response_body_seen_downstream(), body);
    }
    assert!(plugin.logs().is_empty(), "the filter never saw the request");
}
