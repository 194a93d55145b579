//! Outgoing calls: `proxy_http_call` (answered by the test through
//! `Plugin::respond_http_call`), and the gRPC calls, which this host does
//! not support. Envoy behaviour from `Context::httpCall` (envoy
//! `source/extensions/common/wasm/context.cc`) and `http_call` in
//! proxy-wasm-cpp-host `src/exports.cc`.

use std::time::Duration;

use wasmtime::Caller;

use super::{Registry, register};
use crate::budget::MAX_PENDING_CALLS;
use crate::encoding::deserialize_pairs;
use crate::memory::{parts, slice, write_u32};
use crate::state::{HostState, ROOT_CONTEXT_ID};
use crate::status::WasmResult;
use crate::types::HttpCallRequest;

pub(super) fn register(reg: &mut Registry) -> wasmtime::Result<()> {
    register!(reg, "env", "proxy_http_call", http_call,
        (up: i32, us: i32, hp: i32, hs: i32, bp: i32, bs: i32, tp: i32, ts: i32, timeout: i32, tokp: i32));
    register!(reg, "env", "proxy_grpc_call", grpc_call,
        (a: i32, b: i32, c: i32, d: i32, e: i32, f: i32, g: i32, h: i32, i: i32, j: i32, k: i32, l: i32));
    register!(reg, "env", "proxy_grpc_stream", grpc_stream,
        (a: i32, b: i32, c: i32, d: i32, e: i32, f: i32, g: i32, h: i32, i: i32));
    register!(reg, "env", "proxy_grpc_cancel", grpc_token, (token: i32));
    register!(reg, "env", "proxy_grpc_close", grpc_token, (token: i32));
    register!(reg, "env", "proxy_grpc_send", grpc_send, (token: i32, p: i32, s: i32, eos: i32));
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
) -> wasmtime::Result<WasmResult> {
    let (mem, state) = parts(caller);
    let (Some(upstream), Some(headers), Some(body), Some(trailers)) = (
        slice(mem, up, us),
        slice(mem, hp, hs),
        slice(mem, bp, bs),
        slice(mem, tp, ts),
    ) else {
        return Ok(WasmResult::InvalidMemoryAccess);
    };
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
    if !write_u32(mem, tokp, 0) {
        return Ok(WasmResult::InvalidMemoryAccess);
    }
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
    if !write_u32(mem, tokp, token) {
        return Ok(WasmResult::InvalidMemoryAccess);
    }
    Ok(WasmResult::Ok)
}

#[allow(clippy::too_many_arguments)]
fn grpc_call(
    _caller: &mut Caller<'_, HostState>,
    _a: i32,
    _b: i32,
    _c: i32,
    _d: i32,
    _e: i32,
    _f: i32,
    _g: i32,
    _h: i32,
    _i: i32,
    _j: i32,
    _k: i32,
    _l: i32,
) -> wasmtime::Result<WasmResult> {
    // No gRPC clusters in this host: Envoy answers INTERNAL_FAILURE when
    // it cannot start a call.
    Ok(WasmResult::InternalFailure)
}

#[allow(clippy::too_many_arguments)]
fn grpc_stream(
    _caller: &mut Caller<'_, HostState>,
    _a: i32,
    _b: i32,
    _c: i32,
    _d: i32,
    _e: i32,
    _f: i32,
    _g: i32,
    _h: i32,
    _i: i32,
) -> wasmtime::Result<WasmResult> {
    Ok(WasmResult::InternalFailure)
}

/// No gRPC call ever starts, so every token is unknown.
fn grpc_token(_caller: &mut Caller<'_, HostState>, _token: i32) -> wasmtime::Result<WasmResult> {
    Ok(WasmResult::NotFound)
}

fn grpc_send(
    _caller: &mut Caller<'_, HostState>,
    _token: i32,
    _p: i32,
    _s: i32,
    _eos: i32,
) -> wasmtime::Result<WasmResult> {
    Ok(WasmResult::NotFound)
}
