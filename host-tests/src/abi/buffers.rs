//! Buffers (`proxy_get_buffer_status`, `proxy_get_buffer_bytes`,
//! `proxy_set_buffer_bytes`), as Envoy's `Context::getBuffer` and
//! `Buffer::copyFrom` (envoy `source/extensions/common/wasm/context.cc`)
//! and proxy-wasm-cpp-host `src/exports.cc`.

use wasmtime::Caller;

use super::answer::{Answer, enum_arg, guest, put_u32};
use super::{Registry, register};
use crate::memory::{copy_out, parts};
use crate::state::HostState;
use crate::status::WasmResult;

pub(super) fn register(reg: &mut Registry) -> wasmtime::Result<()> {
    register!(reg, "env", "proxy_get_buffer_status", get_status, (t: i32, lp: i32, fp: i32));
    register!(reg, "env", "proxy_get_buffer_bytes", get_bytes, (t: i32, start: i32, len: i32, pp: i32, sp: i32));
    register!(reg, "env", "proxy_set_buffer_bytes", set_bytes, (t: i32, start: i32, len: i32, dp: i32, ds: i32));
    Ok(())
}

/// `WasmBufferType::MAX` (CallData).
const BUFFER_TYPE_MAX: u32 = 8;

enum Buf<'a> {
    /// Envoy's getBuffer returned nullptr.
    Missing,
    /// A buffer the guest may read only (or an absent body: empty).
    ReadOnly(&'a [u8]),
    /// A body buffer the guest may edit.
    Mutable(&'a mut Vec<u8>),
}

fn buffer(state: &mut HostState, t: u32) -> Buf<'_> {
    match t {
        0 | 1 => {
            let Some(stream) = state.stream_mut() else {
                return Buf::ReadOnly(&[]);
            };
            let dir = if t == 0 {
                &mut stream.request
            } else {
                &mut stream.response
            };
            if dir.body_avail {
                Buf::Mutable(&mut dir.body)
            } else {
                Buf::ReadOnly(&[])
            }
        }
        4 => match &state.call_response {
            Some(r) => Buf::ReadOnly(&r.body),
            None => Buf::Missing,
        },
        6 => Buf::ReadOnly(&state.vm_config),
        7 => {
            if state.configuring {
                Buf::ReadOnly(&state.plugin_config)
            } else {
                Buf::Missing
            }
        }
        // network data, gRPC receive buffer, call data: empty here.
        _ => Buf::ReadOnly(&[]),
    }
}

fn get_status(caller: &mut Caller<'_, HostState>, t: i32, lp: i32, fp: i32) -> Answer {
    let t = enum_arg(t, BUFFER_TYPE_MAX)?;
    let (mem, state) = parts(caller);
    let len = match buffer(state, t) {
        Buf::Missing => return Ok(WasmResult::NotFound),
        Buf::ReadOnly(b) => b.len(),
        Buf::Mutable(b) => b.len(),
    };
    put_u32(mem, lp, u32::try_from(len).unwrap_or(u32::MAX))?;
    put_u32(mem, fp, 0)?;
    Ok(WasmResult::Ok)
}

fn get_bytes(
    caller: &mut Caller<'_, HostState>,
    t: i32,
    start: i32,
    len: i32,
    pp: i32,
    sp: i32,
) -> Answer {
    let t = enum_arg(t, BUFFER_TYPE_MAX)?;
    let data: &[u8] = match buffer(caller.data_mut(), t) {
        Buf::Missing => return Ok(WasmResult::NotFound),
        Buf::ReadOnly(b) => b,
        Buf::Mutable(b) => b,
    };
    // Clamp to the buffer, as cpp-host does ("don't overread").
    let start = start as u32 as usize;
    let len = len as u32 as usize;
    let chunk = if start > data.len() {
        Vec::new()
    } else {
        let end = start.saturating_add(len).min(data.len());
        data.get(start..end).map(<[u8]>::to_vec).unwrap_or_default()
    };
    Ok(copy_out(caller, &chunk, pp, sp)?)
}

fn set_bytes(
    caller: &mut Caller<'_, HostState>,
    t: i32,
    start: i32,
    len: i32,
    dp: i32,
    ds: i32,
) -> Answer {
    let t = enum_arg(t, BUFFER_TYPE_MAX)?;
    let (mem, state) = parts(caller);
    let call = "proxy_set_buffer_bytes";
    let limit = state.budget.max_copy_bytes;
    crate::budget::copy(state, call, ds as u32 as usize)?;
    let body = match buffer(state, t) {
        Buf::Missing => return Ok(WasmResult::NotFound),
        Buf::ReadOnly(_) => {
            // Still check the guest's pointer first, as cpp-host does.
            guest(mem, dp, ds)?;
            return Ok(WasmResult::BadArgument);
        }
        Buf::Mutable(b) => b,
    };
    let data = guest(mem, dp, ds)?;
    // Host-side bound on a body the guest grows (`crate::budget`).
    crate::budget::held(limit, call, "a body", body.len().saturating_add(data.len()))?;
    let (start, len) = (start as u32 as usize, len as u32 as usize);
    Ok(splice(body, start, len, data))
}

/// Envoy's `Buffer::copyFrom` on a body: prepend (start 0, length 0),
/// replace everything (start 0, length >= size), append (start >= size);
/// anything else is `BAD_ARGUMENT`.
pub(crate) fn splice(body: &mut Vec<u8>, start: usize, len: usize, data: &[u8]) -> WasmResult {
    if start == 0 {
        if len == 0 {
            body.splice(0..0, data.iter().copied());
            WasmResult::Ok
        } else if len >= body.len() {
            body.clear();
            body.extend_from_slice(data);
            WasmResult::Ok
        } else {
            WasmResult::BadArgument
        }
    } else if start >= body.len() {
        body.extend_from_slice(data);
        WasmResult::Ok
    } else {
        WasmResult::BadArgument
    }
}

#[cfg(test)]
mod tests {
    use super::splice;
    use crate::status::WasmResult;

    #[test]
    fn copy_from_follows_envoy() {
        let mut b = b"body".to_vec();
        assert_eq!(splice(&mut b, 0, 0, b">"), WasmResult::Ok);
        assert_eq!(b, b">body");
        assert_eq!(splice(&mut b, 5, 0, b"<"), WasmResult::Ok);
        assert_eq!(b, b">body<");
        assert_eq!(splice(&mut b, 0, 6, b"new"), WasmResult::Ok);
        assert_eq!(b, b"new");
        assert_eq!(splice(&mut b, 1, 1, b"x"), WasmResult::BadArgument);
        assert_eq!(splice(&mut b, 0, 2, b"x"), WasmResult::BadArgument);
        assert_eq!(b, b"new");
    }
}
