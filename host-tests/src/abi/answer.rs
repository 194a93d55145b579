//! What a `proxy_*` host function answers: a status for the guest, reached
//! early with `?` from any check (`Stop::Status`), or a trap (`Stop::Trap`:
//! a host budget exceeded, the guest's allocator trapping). One place turns
//! both into what the guest sees, so every ABI module checks its arguments
//! the same way.

use crate::memory::{slice, write_u32, write_u64};
use crate::status::WasmResult;

/// Why a host function stopped before its end.
pub(crate) enum Stop {
    /// The status the guest receives.
    Status(WasmResult),
    /// A trap: the guest's call fails.
    Trap(wasmtime::Error),
}

impl From<WasmResult> for Stop {
    fn from(status: WasmResult) -> Self {
        Stop::Status(status)
    }
}

impl From<wasmtime::Error> for Stop {
    fn from(error: wasmtime::Error) -> Self {
        Stop::Trap(error)
    }
}

/// A host function's answer: `Ok` and `Err(Stop::Status)` are both the
/// status the guest receives.
pub(crate) type Answer = Result<WasmResult, Stop>;

/// What a registered host function returns, as the `i32` the guest
/// receives, or a trap (`register!` calls it).
pub(crate) trait Outcome {
    fn into_abi(self) -> wasmtime::Result<i32>;
}

impl<T: Into<i32>> Outcome for wasmtime::Result<T> {
    fn into_abi(self) -> wasmtime::Result<i32> {
        self.map(Into::into)
    }
}

impl Outcome for Answer {
    fn into_abi(self) -> wasmtime::Result<i32> {
        match self {
            Ok(status) | Err(Stop::Status(status)) => Ok(i32::from(status)),
            Err(Stop::Trap(error)) => Err(error),
        }
    }
}

/// The guest bytes at `ptr..ptr+len`, or `INVALID_MEMORY_ACCESS`.
pub(crate) fn guest(mem: &[u8], ptr: i32, len: i32) -> Result<&[u8], Stop> {
    slice(mem, ptr, len).ok_or(Stop::Status(WasmResult::InvalidMemoryAccess))
}

/// Writes `value` at `ptr`, or `INVALID_MEMORY_ACCESS`.
pub(crate) fn put_u32(mem: &mut [u8], ptr: i32, value: u32) -> Result<(), Stop> {
    write_u32(mem, ptr, value)
        .then_some(())
        .ok_or(Stop::Status(WasmResult::InvalidMemoryAccess))
}

/// Writes `value` at `ptr`, or `INVALID_MEMORY_ACCESS`.
pub(crate) fn put_u64(mem: &mut [u8], ptr: i32, value: u64) -> Result<(), Stop> {
    write_u64(mem, ptr, value)
        .then_some(())
        .ok_or(Stop::Status(WasmResult::InvalidMemoryAccess))
}

/// An enum argument (a map, buffer or stream type) up to `max`, or
/// `BAD_ARGUMENT`.
pub(crate) fn enum_arg(value: i32, max: u32) -> Result<u32, Stop> {
    let value = value as u32;
    if value > max {
        return Err(Stop::Status(WasmResult::BadArgument));
    }
    Ok(value)
}
