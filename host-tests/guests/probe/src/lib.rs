//! `guest-probe`: a proxy-wasm module written against the raw ABI that calls
//! host functions from every callback and logs what the host answered
//! (`probe <name> <status> <value>`), so the tests can assert Envoy's status
//! codes. The plugin configuration picks a mode:
//!
//! * `abi` (or empty): status and value probes in every callback;
//! * `wasi`: the WASI preview1 subset, probed from `proxy_on_configure`;
//! * `pause`: request headers pause; the next tick continues the stream
//!   through `proxy_set_effective_context` + `proxy_continue_stream`;
//! * `pause-local`: request headers pause; the next tick sends a local reply;
//! * `local`: request headers send a local reply and return Continue;
//! * `close`: request headers close the stream (`proxy_close_stream`);
//! * `route`: request headers read `xds.*` route properties, replace the
//!   header `x-probe-route`, read them again; response headers read them
//!   once more;
//! * `http-call`: request headers dispatch an http call and pause; the
//!   response continues the stream;
//! * `trap`, `loop`, `grow`, `oob`, `huge-alloc`: hostile behaviour in
//!   request headers.

mod abi;
mod calls;
mod hostile;
mod probes;
mod route;
mod wasi;

use calls::record;
use std::cell::{Cell, RefCell};

thread_local! {
    static MODE: RefCell<String> = const { RefCell::new(String::new()) };
    /// The stream context that paused, for the tick to resume.
    static PAUSED: Cell<u32> = const { Cell::new(0) };
}

fn mode() -> String {
    MODE.with(|m| m.borrow().clone())
}

fn mode_is(name: &str) -> bool {
    MODE.with(|m| m.borrow().as_str() == name)
}

/// The `abi` mode (the default): probes in every callback.
fn probing() -> bool {
    mode_is("abi") || mode_is("")
}

/// Exports the body and the trailers callbacks of one direction, each
/// logged as `on_<dir>_body` / `on_<dir>_trailers` and then probed in the
/// `abi` mode. A macro, as a function cannot define exports.
macro_rules! body_and_trailers {
    ($dir:literal, $body:ident => $probe_body:path, $trailers:ident => $probe_trailers:path) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn $body(context_id: u32, size: usize, end_of_stream: u32) -> u32 {
            let name = concat!("on_", $dir, "_body");
            record(name, context_id, &format!("{size} {end_of_stream}"));
            if probing() {
                return $probe_body(size, end_of_stream != 0);
            }
            0
        }

        #[unsafe(no_mangle)]
        pub extern "C" fn $trailers(context_id: u32, trailers: usize) -> u32 {
            let name = concat!("on_", $dir, "_trailers");
            record(name, context_id, &trailers.to_string());
            if probing() {
                $probe_trailers();
            }
            0
        }
    };
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_abi_version_0_2_1() {}

/// The host allocates the buffers it hands back through this export.
#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
    let mut buf: Vec<u8> = Vec::with_capacity(size);
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    ptr
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_context_create(context_id: u32, parent_id: u32) {
    record("on_context_create", context_id, &parent_id.to_string());
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_vm_start(context_id: u32, vm_config_size: usize) -> u32 {
    record("on_vm_start", context_id, &vm_config_size.to_string());
    probes::vm_start(vm_config_size);
    1
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_configure(context_id: u32, config_size: usize) -> u32 {
    record("on_configure", context_id, &config_size.to_string());
    let (status, config) = calls::get_buffer(abi::PLUGIN_CONFIGURATION, 0, config_size);
    record("plugin_configuration", status, &calls::show(&config));
    let config = String::from_utf8_lossy(&config.unwrap_or_default())
        .trim()
        .to_string();
    if config == "reject" {
        return 0;
    }
    MODE.with(|m| *m.borrow_mut() = config);
    match mode().as_str() {
        "" | "abi" => probes::configure(context_id),
        "wasi" => wasi::probe(),
        "pause" | "pause-local" => {
            // SAFETY: plain value argument.
            let status = unsafe { abi::proxy_set_tick_period_milliseconds(10) };
            record("set_tick_period", status, "10");
        }
        _ => {}
    }
    1
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_tick(context_id: u32) {
    record("on_tick", context_id, "");
    let paused = PAUSED.with(|p| p.replace(0));
    if paused == 0 {
        return;
    }
    // SAFETY: plain value arguments.
    let status = unsafe { abi::proxy_set_effective_context(paused) };
    record("set_effective_context", status, &paused.to_string());
    if mode_is("pause-local") {
        let status =
            calls::send_local_response(429, "probe_deferred", "slow down", &[("retry-after", "1")]);
        record("deferred_local_response", status, "");
    } else {
        // SAFETY: plain value argument.
        let status = unsafe { abi::proxy_continue_stream(abi::STREAM_REQUEST) };
        record("deferred_continue", status, "");
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_request_headers(
    context_id: u32,
    headers: usize,
    end_of_stream: u32,
) -> u32 {
    record(
        "on_request_headers",
        context_id,
        &format!("{headers} {end_of_stream}"),
    );
    match mode().as_str() {
        "" | "abi" => probes::request_headers(),
        "pause" | "pause-local" => {
            PAUSED.with(|p| p.set(context_id));
            1
        }
        "local" => {
            let status = calls::send_local_response(
                403,
                "probe_denied",
                "denied",
                &[("X-Probe-Reason", "mode")],
            );
            record("local_response", status, "");
            0
        }
        "http-call" => {
            let (status, token) = calls::http_call(
                "auth-cluster",
                &[
                    (":method", "GET"),
                    (":path", "/check"),
                    (":authority", "auth"),
                ],
                "ping",
                500,
            );
            record("http_call", status, &token.to_string());
            PAUSED.with(|p| p.set(context_id));
            1
        }
        "route" => route::request_headers(),
        "close" => {
            // SAFETY: plain value argument.
            let status = unsafe { abi::proxy_close_stream(abi::STREAM_RESPONSE) };
            record("close_stream", status, "");
            0
        }
        other => hostile::request_headers(other),
    }
}

body_and_trailers!(
    "request",
    proxy_on_request_body => probes::request_body,
    proxy_on_request_trailers => probes::request_trailers
);

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_response_headers(
    context_id: u32,
    headers: usize,
    end_of_stream: u32,
) -> u32 {
    record(
        "on_response_headers",
        context_id,
        &format!("{headers} {end_of_stream}"),
    );
    if probing() {
        return probes::response_headers();
    }
    if mode_is("route") {
        route::properties("route_response");
    }
    0
}

body_and_trailers!(
    "response",
    proxy_on_response_body => probes::response_body,
    proxy_on_response_trailers => probes::response_trailers
);

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_http_call_response(
    context_id: u32,
    token: u32,
    headers: usize,
    body_size: usize,
    trailers: usize,
) {
    record(
        "on_http_call_response",
        context_id,
        &format!("{token} {headers} {body_size} {trailers}"),
    );
    let (status, pairs) = calls::get_pairs(abi::HTTP_CALL_RESPONSE_HEADERS);
    record("call_response_headers", status, &calls::show_pairs(&pairs));
    let (status, body) = calls::get_buffer(abi::HTTP_CALL_RESPONSE_BODY, 0, body_size);
    record("call_response_body", status, &calls::show(&body));
    let (status, code, message) = calls::get_status();
    record(
        "get_status",
        status,
        &format!("{code} {}", calls::show(&message)),
    );
    // The response arrives on the root context (cpp-host `http_call` uses the
    // root context): act on the stream that made the call.
    let paused = PAUSED.with(|p| p.replace(0));
    // SAFETY: plain value arguments.
    let status = unsafe { abi::proxy_set_effective_context(paused) };
    record("effective_context_after_call", status, &paused.to_string());
    // SAFETY: plain value argument.
    let status = unsafe { abi::proxy_continue_stream(abi::STREAM_REQUEST) };
    record("continue_after_call", status, "");
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_queue_ready(context_id: u32, queue_id: u32) {
    record("on_queue_ready", context_id, &queue_id.to_string());
    let (status, value) = calls::dequeue(queue_id);
    record("dequeue_on_ready", status, &calls::show(&value));
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_log(context_id: u32) {
    record("on_log", context_id, "");
    if probing() {
        probes::on_log();
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_done(context_id: u32) -> u32 {
    record("on_done", context_id, "");
    1
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_delete(context_id: u32) {
    record("on_delete", context_id, "");
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_foreign_function(context_id: u32, function_id: u32, args_size: usize) {
    record(
        "on_foreign_function",
        context_id,
        &format!("{function_id} {args_size}"),
    );
}
