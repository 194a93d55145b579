//! `wasm-smith` modules with proxy-wasm exports, run on the host (issue 15
//! item 8): whatever a module does, the host never panics, aborts or hangs;
//! loading ends in a module or a clear error, and every event in a result
//! or a failed VM with its reason, within the fuel and memory budgets.
//!
//! The generated modules export every callback Envoy calls, with the
//! signatures the host expects (`EXPORTS`), and import only host
//! functions, with the signatures the host gives them
//! (`Host::imports_wat`, the host's own linker), so most runs get past
//! linking into the callbacks, where hostile host calls happen.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use host_tests::{AbiVersion, Host, HttpCallResponse, Limits, Plugin, PluginOptions, Properties};
use libfuzzer_sys::fuzz_target;

/// The exports a proxy-wasm module may have, with their signatures.
const EXPORTS: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "_initialize"))
  (func (export "malloc") (param i32) (result i32) unreachable)
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) unreachable)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) unreachable)
  (func (export "proxy_on_configure") (param i32 i32) (result i32) unreachable)
  (func (export "proxy_on_tick") (param i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) unreachable)
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32) unreachable)
  (func (export "proxy_on_request_trailers") (param i32 i32) (result i32) unreachable)
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) unreachable)
  (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32) unreachable)
  (func (export "proxy_on_response_trailers") (param i32 i32) (result i32) unreachable)
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_done") (param i32) (result i32) unreachable)
  (func (export "proxy_on_delete") (param i32))
  (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32))
  (func (export "proxy_on_queue_ready") (param i32 i32))
)"#;

/// The budgets of a run: small, so that a run is quick, and checked after
/// every event.
const LIMITS: Limits = Limits {
    max_memory_bytes: 64 << 20,
    fuel_per_call: 5_000_000,
    max_ticks_per_advance: 20,
    max_copy_bytes: 1 << 20,
    max_log_bytes: 1 << 20,
    max_shared_bytes: 1 << 20,
    max_request_headers_bytes: 60 * 1024,
    max_request_headers: 100,
};

struct Fixed {
    host: Host,
    imports: Vec<u8>,
    exports: Vec<u8>,
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| {
        let host = Host::without_disk_cache().expect("the host starts");
        let imports = host
            .imports_wat(AbiVersion::V0_2_1)
            .expect("the host lists its imports");
        Fixed {
            imports: wat::parse_str(&imports).expect("the imports module parses"),
            exports: wat::parse_str(EXPORTS).expect("the exports module parses"),
            host,
        }
    })
}

fn config(u: &mut Unstructured<'_>, fixed: &Fixed) -> arbitrary::Result<wasm_smith::Config> {
    let mut c = wasm_smith::Config::default();
    c.available_imports = Some(fixed.imports.clone());
    c.exports = Some(fixed.exports.clone());
    c.max_imports = u.int_in_range(0..=60)?;
    c.max_funcs = u.int_in_range(0..=30)?;
    c.max_instructions = u.int_in_range(1..=400)?;
    c.max_memories = 1;
    c.max_memory32_bytes = LIMITS.max_memory_bytes as u64;
    c.max_data_segments = 8;
    c.disallow_traps = u.arbitrary()?;
    // What the host's wasmtime (no `gc`, no `threads`) compiles.
    c.gc_enabled = false;
    c.exceptions_enabled = false;
    c.threads_enabled = false;
    c.shared_everything_threads_enabled = false;
    c.memory64_enabled = false;
    c.wide_arithmetic_enabled = false;
    c.custom_page_sizes_enabled = false;
    c.custom_descriptors_enabled = false;
    c.compact_imports_enabled = false;
    c.acquire_release_atomics_enabled = false;
    c.multibyte_array_access_enabled = false;
    Ok(c)
}

/// One thing Envoy (or a test) does to the plugin.
#[derive(Arbitrary, Debug)]
enum Event {
    Request {
        path: String,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        end: bool,
    },
    RequestBody(Vec<u8>, bool),
    RequestTrailers(Vec<(Vec<u8>, Vec<u8>)>),
    Response(Vec<(Vec<u8>, Vec<u8>)>, bool),
    ResponseBody(Vec<u8>, bool),
    Complete,
    Tick(u16),
    AnswerCall(Vec<u8>),
    FailCall,
    Enqueue(String, Vec<u8>),
    Reconfigure(Vec<u8>),
}

/// The budgets hold after every event, and a failed VM says why.
fn check(plugin: &Plugin) {
    assert!(
        plugin.fuel_spent() <= LIMITS.fuel_per_call,
        "fuel past the budget"
    );
    assert!(
        plugin.memory_bytes() <= LIMITS.max_memory_bytes,
        "guest memory past the budget: {}",
        plugin.memory_bytes()
    );
    assert!(
        plugin.log_bytes() <= LIMITS.max_log_bytes,
        "log bytes past the budget: {}",
        plugin.log_bytes()
    );
    if let Some(why) = plugin.failure() {
        assert!(!why.trim().is_empty(), "a failed VM without a reason");
    }
}

fn drive(plugin: &mut Plugin, events: Vec<Event>) {
    let mut stream_id = None;
    for event in events {
        let id = match stream_id {
            Some(id) => id,
            None => {
                let id = plugin.new_stream().id();
                stream_id = Some(id);
                id
            }
        };
        match event {
            Event::Tick(ms) => {
                plugin.advance_clock(Duration::from_millis(u64::from(ms)));
            }
            Event::AnswerCall(body) => {
                if let Some(token) = plugin.http_calls().first().map(|c| c.token) {
                    plugin.respond_http_call(token, HttpCallResponse::new(200, body));
                }
            }
            Event::FailCall => {
                if let Some(token) = plugin.http_calls().first().map(|c| c.token) {
                    plugin.fail_http_call(token);
                }
            }
            Event::Enqueue(name, item) => {
                plugin.enqueue_shared_queue(&name, item);
            }
            Event::Reconfigure(config) => {
                plugin.reconfigure(config);
            }
            other => {
                let Some(mut stream) = plugin.stream(id) else {
                    stream_id = None;
                    continue;
                };
                match other {
                    Event::Request { path, headers, end } => {
                        let mut all = vec![
                            (b":method".to_vec(), b"GET".to_vec()),
                            (b":path".to_vec(), path.into_bytes()),
                            (b":authority".to_vec(), b"fuzz".to_vec()),
                        ];
                        all.extend(headers);
                        stream.request_headers_bytes(&all, end);
                    }
                    Event::RequestBody(chunk, end) => {
                        stream.request_body(&chunk, end);
                    }
                    Event::RequestTrailers(trailers) => {
                        stream.request_trailers_bytes(&trailers);
                    }
                    Event::Response(headers, end) => {
                        let mut all = vec![(b":status".to_vec(), b"200".to_vec())];
                        all.extend(headers);
                        stream.response_headers_bytes(&all, end);
                    }
                    Event::ResponseBody(chunk, end) => {
                        stream.response_body(&chunk, end);
                    }
                    _ => {
                        stream.complete();
                        stream_id = None;
                    }
                }
            }
        }
        check(plugin);
    }
}

fn run(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let fixed = fixed();
    let config = config(u, fixed)?;
    let module = wasm_smith::Module::new(config, u)?;
    let bytes = module.to_bytes();
    let loaded = match fixed.host.load_bytes(&bytes) {
        Ok(loaded) => loaded,
        Err(e) => {
            assert!(
                !e.to_string().trim().is_empty(),
                "an error without a message"
            );
            return Ok(());
        }
    };
    let options = PluginOptions {
        plugin_config: u.arbitrary()?,
        vm_config: u.arbitrary()?,
        limits: LIMITS,
        fail_open: u.arbitrary()?,
        properties: Properties::new().with("destination.port", 9080_i64),
        ..PluginOptions::default()
    };
    let mut plugin = match Plugin::start(&loaded, options) {
        Ok(plugin) => plugin,
        Err(e) => {
            assert!(
                !e.to_string().trim().is_empty(),
                "an error without a message"
            );
            return Ok(());
        }
    };
    check(&plugin);
    let events: Vec<Event> = u.arbitrary()?;
    drive(&mut plugin, events.into_iter().take(32).collect());
    plugin.shutdown();
    check(&plugin);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = run(&mut u);
});
