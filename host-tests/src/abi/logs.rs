//! Logging and time: `proxy_log`, `proxy_get_log_level` (ABI 0.2.1 only),
//! `proxy_get_current_time_nanoseconds`, `proxy_set_tick_period_milliseconds`
//! (proxy-wasm-cpp-host `src/exports.cc`).

use std::time::{Duration, UNIX_EPOCH};

use wasmtime::Caller;

use super::answer::{Answer, guest, put_u32, put_u64};
use super::{Registry, register};
use crate::memory::parts;
use crate::module::AbiVersion;
use crate::state::HostState;
use crate::status::WasmResult;
use crate::types::Level;

pub(super) fn register(reg: &mut Registry, abi: AbiVersion) -> wasmtime::Result<()> {
    register!(reg, "env", "proxy_log", log, (level: i32, p: i32, s: i32));
    if abi == AbiVersion::V0_2_1 {
        register!(reg, "env", "proxy_get_log_level", get_log_level, (rp: i32));
    }
    register!(reg, "env", "proxy_get_current_time_nanoseconds", now, (rp: i32));
    register!(reg, "env", "proxy_set_tick_period_milliseconds", set_tick_period, (ms: i32));
    Ok(())
}

fn log(caller: &mut Caller<'_, HostState>, level: i32, p: i32, s: i32) -> Answer {
    let level = Level::from_abi(level as u32).ok_or(WasmResult::BadArgument)?;
    let (mem, state) = parts(caller);
    let message = guest(mem, p, s)?;
    crate::budget::copy(state, "proxy_log", message.len())?;
    let message = String::from_utf8_lossy(message).into_owned();
    state.log(level, message);
    Ok(WasmResult::Ok)
}

fn get_log_level(caller: &mut Caller<'_, HostState>, rp: i32) -> Answer {
    let (mem, state) = parts(caller);
    put_u32(mem, rp, state.log_level as u32)?;
    Ok(WasmResult::Ok)
}

pub(crate) fn realtime_nanos(state: &HostState) -> u64 {
    state
        .clock
        .realtime
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn now(caller: &mut Caller<'_, HostState>, rp: i32) -> Answer {
    let (mem, state) = parts(caller);
    put_u64(mem, rp, realtime_nanos(state))?;
    Ok(WasmResult::Ok)
}

/// One tick period per VM, on the root context; 0 stops the ticks.
fn set_tick_period(caller: &mut Caller<'_, HostState>, ms: i32) -> wasmtime::Result<WasmResult> {
    let state = caller.data_mut();
    let ms = ms as u32;
    state.tick_period = (ms > 0).then(|| Duration::from_millis(u64::from(ms)));
    state.tick_reset = true;
    Ok(WasmResult::Ok)
}
