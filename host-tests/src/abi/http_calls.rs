//! Outgoing calls: `proxy_http_call` (answered by the test through
//! `Plugin::respond_http_call`), and the gRPC calls, which this host does
//! not support. Envoy behaviour from `Context::httpCall` (envoy
//! `source/extensions/common/wasm/context.cc`) and `http_call` in
//! proxy-wasm-cpp-host `src/exports.cc`.

use std::time::Duration;

use wasmtime::Caller;

use super::answer::{Answer, guest, put_u32};
use super::{Registry, register, register_fixed};
use crate::budget::MAX_PENDING_CALLS;
use crate::encoding::deserialize_pairs;
use crate::memory::parts;
use crate::state::{HostState, ROOT_CONTEXT_ID};
use crate::status::WasmResult;
use crate::types::HttpCallRequest;

pub(super) fn register(reg: &mut Registry) -> wasmtime::Result<()> {
    register!(reg, "env", "proxy_http_call", http_call,
        (up: i32, us: i32, hp: i32, hs: i32, bp: i32, bs: i32, tp: i32, ts: i32, timeout: i32, tokp: i32));
    // No gRPC clusters in this host: Envoy answers INTERNAL_FAILURE when it
    // cannot start a call; as no call ever starts, every token is unknown.
    register_fixed(reg, "proxy_grpc_call", 12, WasmResult::InternalFailure)?;
    register_fixed(reg, "proxy_grpc_stream", 9, WasmResult::InternalFailure)?;
    register_fixed(reg, "proxy_grpc_cancel", 1, WasmResult::NotFound)?;
    register_fixed(reg, "proxy_grpc_close", 1, WasmResult::NotFound)?;
    register_fixed(reg, "proxy_grpc_send", 4, WasmResult::NotFound)?;
    Ok(())
}

fn to_strings(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(&k).to_ascii_lowercase(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn http_call(
    caller: &mut Caller<'_, HostState>,
    up: i32,
    us: i32,
    hp: i32,
    hs: i32,
    bp: i32,
    bs: i32,
    tp: i32,
    ts: i32,
    timeout: i32,
    tokp: i32,
) -> Answer {
    let (mem, state) = parts(caller);
    let upstream = guest(mem, up, us)?;
    let headers = guest(mem, hp, hs)?;
    let body = guest(mem, bp, bs)?;
    let trailers = guest(mem, tp, ts)?;
    let call = "proxy_http_call";
    let bytes = [upstream.len(), headers.len(), body.len(), trailers.len()]
        .iter()
        .fold(0usize, |sum, n| sum.saturating_add(*n));
    crate::budget::copy(state, call, bytes)?;
    let pending = state.pending_calls.len();
    crate::budget::count(call, "pending http calls", pending, MAX_PENDING_CALLS)?;
    let upstream = String::from_utf8_lossy(upstream).into_owned();
    let headers = to_strings(deserialize_pairs(headers));
    let trailers = to_strings(deserialize_pairs(trailers));
    let body = body.to_vec();
    // cpp-host writes the token first to check the pointer.
    put_u32(mem, tokp, 0)?;
    if let Some(clusters) = &state.clusters
        && !clusters.contains(&upstream)
    {
        return Ok(WasmResult::BadArgument);
    }
    let has = |name: &str| headers.iter().any(|(k, _)| k == name);
    if !has(":path") || !has(":method") || !has(":authority") {
        return Ok(WasmResult::BadArgument);
    }
    let token = state.next_call_token;
    state.next_call_token = state.next_call_token.wrapping_add(1).max(1);
    state.pending_calls.push(HttpCallRequest {
        token,
        upstream,
        headers,
        body,
        trailers,
        timeout: Duration::from_millis(u64::from(timeout as u32)),
        // The response goes to the root context (cpp-host `http_call`
        // uses `root_context()`).
        context_id: ROOT_CONTEXT_ID,
    });
    put_u32(mem, tokp, token)?;
    Ok(WasmResult::Ok)
}
