//! Stream control and context calls: `proxy_continue_stream`,
//! `proxy_close_stream`, `proxy_send_local_response`,
//! `proxy_set_effective_context`, `proxy_done`,
//! `proxy_call_foreign_function`, `proxy_get_status`. Envoy defers
//! continuing and local replies until the VM call returns
//! (`Context::continueStream`, `Context::sendLocalResponse` in envoy
//! `source/extensions/common/wasm/context.cc`).

use wasmtime::Caller;

use super::answer::{Answer, enum_arg, guest, put_u32};
use super::{Registry, register};
use crate::encoding::deserialize_pairs;
use crate::memory::{copy_out, parts};
use crate::module::AbiVersion;
use crate::state::{After, Dir, HostState, ROOT_CONTEXT_ID};
use crate::status::WasmResult;
use crate::types::LocalResponse;

pub(super) fn register(reg: &mut Registry, _abi: AbiVersion) -> wasmtime::Result<()> {
    // Both 0.2.0 and 0.2.1 have continue_stream / close_stream.
    register!(reg, "env", "proxy_continue_stream", continue_stream, (t: i32));
    register!(reg, "env", "proxy_close_stream", close_stream, (t: i32));
    register!(reg, "env", "proxy_send_local_response", send_local_response,
        (code: i32, dp: i32, ds: i32, bp: i32, bs: i32, hp: i32, hs: i32, grpc: i32));
    register!(reg, "env", "proxy_set_effective_context", set_effective_context, (id: i32));
    register!(reg, "env", "proxy_done", done, ());
    register!(reg, "env", "proxy_call_foreign_function", call_foreign_function,
        (np: i32, ns: i32, ap: i32, as_: i32, rp: i32, rsp: i32));
    register!(reg, "env", "proxy_get_status", get_status, (cp: i32, vpp: i32, vsp: i32));
    Ok(())
}

/// `WasmStreamType::MAX` (Upstream).
const STREAM_TYPE_MAX: u32 = 3;

fn continue_stream(caller: &mut Caller<'_, HostState>, t: i32) -> Answer {
    let t = enum_arg(t, STREAM_TYPE_MAX)?;
    let dir = match t {
        0 => Dir::Request,
        1 => Dir::Response,
        // Downstream: nothing to continue on an HTTP stream.
        2 => return Ok(WasmResult::Ok),
        _ => return Ok(WasmResult::Unimplemented),
    };
    let state = caller.data_mut();
    let ctx = state.context();
    if let Some(stream) = state.streams.get_mut(&ctx) {
        // Envoy drops its pointers to the request maps on any continue.
        stream.request.headers_avail = false;
        stream.request.body_avail = false;
        stream.request.trailers_avail = false;
        state.after.push(After::Continue(ctx, dir));
    }
    Ok(WasmResult::Ok)
}

fn close_stream(caller: &mut Caller<'_, HostState>, t: i32) -> Answer {
    let t = enum_arg(t, STREAM_TYPE_MAX)?;
    // Envoy defers the reset until the VM call returns.
    let state = caller.data_mut();
    let ctx = state.context();
    if t <= 1 && state.streams.contains_key(&ctx) {
        state.after.push(After::Reset(ctx));
    }
    Ok(WasmResult::Ok)
}

#[allow(clippy::too_many_arguments)]
fn send_local_response(
    caller: &mut Caller<'_, HostState>,
    code: i32,
    dp: i32,
    ds: i32,
    bp: i32,
    bs: i32,
    hp: i32,
    hs: i32,
    grpc: i32,
) -> Answer {
    let (mem, state) = parts(caller);
    let (details, body, headers) = (
        guest(mem, dp, ds)?,
        guest(mem, bp, bs)?,
        guest(mem, hp, hs)?,
    );
    let bytes = [details.len(), body.len(), headers.len()]
        .iter()
        .fold(0usize, |sum, n| sum.saturating_add(*n));
    crate::budget::copy(state, "proxy_send_local_response", bytes)?;
    let headers = deserialize_pairs(headers)
        .into_iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(&k).to_ascii_lowercase(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect();
    let response = LocalResponse {
        status: code as u32,
        // Envoy replaces whitespace in details (`StringUtil::replaceAllEmptySpace`).
        details: String::from_utf8_lossy(details)
            .chars()
            .map(|c| if c.is_whitespace() { '_' } else { c })
            .collect(),
        headers,
        body: body.to_vec(),
        grpc_status: grpc as u32,
    };
    let ctx = state.context();
    if state.streams.contains_key(&ctx) {
        state.after.push(After::LocalReply(ctx, response));
    }
    state.stop_next_iteration = true;
    Ok(WasmResult::Ok)
}

fn set_effective_context(
    caller: &mut Caller<'_, HostState>,
    id: i32,
) -> wasmtime::Result<WasmResult> {
    let id = id as u32;
    let state = caller.data_mut();
    if id == ROOT_CONTEXT_ID || state.streams.contains_key(&id) {
        state.effective_context = id;
        Ok(WasmResult::Ok)
    } else {
        Ok(WasmResult::BadArgument)
    }
}

/// cpp-host `WasmBase::done`: only a root context whose `on_done`
/// returned false may call it; it is then deleted after the call.
fn done(caller: &mut Caller<'_, HostState>) -> wasmtime::Result<WasmResult> {
    let state = caller.data_mut();
    if state.context() != ROOT_CONTEXT_ID || !state.root_done_pending {
        return Ok(WasmResult::NotFound);
    }
    state.root_done_pending = false;
    state.after.push(After::DeleteRoot);
    Ok(WasmResult::Ok)
}

/// No foreign functions are registered in this host.
fn call_foreign_function(
    caller: &mut Caller<'_, HostState>,
    np: i32,
    ns: i32,
    ap: i32,
    as_: i32,
    _rp: i32,
    _rsp: i32,
) -> Answer {
    let (mem, _) = parts(caller);
    guest(mem, np, ns)?;
    guest(mem, ap, as_)?;
    Ok(WasmResult::NotFound)
}

fn get_status(caller: &mut Caller<'_, HostState>, cp: i32, vpp: i32, vsp: i32) -> Answer {
    let (mem, state) = parts(caller);
    let (code, message) = state.status.clone();
    put_u32(mem, cp, code)?;
    Ok(copy_out(caller, &message, vpp, vsp)?)
}
