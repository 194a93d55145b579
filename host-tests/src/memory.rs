//! Bounds-checked access to guest memory and allocation through the guest's
//! allocator. Every pointer from the guest is untrusted: a bad one gives
//! `INVALID_MEMORY_ACCESS`, never a host panic.

use wasmtime::Caller;

use crate::state::{HostState, Restriction};
use crate::status::WasmResult;

/// The guest bytes at `ptr..ptr+len`, if in bounds.
pub(crate) fn slice(mem: &[u8], ptr: i32, len: i32) -> Option<&[u8]> {
    let start = ptr as u32 as usize;
    let end = start.checked_add(len as u32 as usize)?;
    mem.get(start..end)
}

/// Writes bytes at `ptr`, if in bounds.
pub(crate) fn write(mem: &mut [u8], ptr: i32, bytes: &[u8]) -> bool {
    let start = ptr as u32 as usize;
    let Some(end) = start.checked_add(bytes.len()) else {
        return false;
    };
    match mem.get_mut(start..end) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            true
        }
        None => false,
    }
}

pub(crate) fn write_u32(mem: &mut [u8], ptr: i32, value: u32) -> bool {
    write(mem, ptr, &value.to_le_bytes())
}

pub(crate) fn write_u64(mem: &mut [u8], ptr: i32, value: u64) -> bool {
    write(mem, ptr, &value.to_le_bytes())
}

/// The guest memory and the host state together.
pub(crate) fn parts<'a>(
    caller: &'a mut Caller<'_, HostState>,
) -> (&'a mut [u8], &'a mut HostState) {
    match caller.data().memory {
        Some(memory) => memory.data_and_store_mut(caller),
        None => (&mut [], caller.data_mut()),
    }
}

/// Allocates `size` bytes with the guest's allocator (`malloc`, else
/// `proxy_on_memory_allocate`), restricting host calls meanwhile as
/// proxy-wasm-cpp-host does. `Ok(None)` when the allocator returns 0 or
/// an out-of-bounds block; `Err` when it traps.
pub(crate) fn alloc(
    caller: &mut Caller<'_, HostState>,
    size: usize,
) -> wasmtime::Result<Option<i32>> {
    let Some(malloc) = caller.data().malloc.clone() else {
        return Ok(None);
    };
    let Ok(size32) = i32::try_from(size) else {
        return Ok(None);
    };
    let saved = caller.data().restriction;
    caller.data_mut().restriction = Restriction::Allocate;
    let result = malloc.call(&mut *caller, size32);
    caller.data_mut().restriction = saved;
    let ptr = result?;
    if ptr == 0 {
        return Ok(None);
    }
    let (mem, _) = parts(caller);
    Ok(slice(mem, ptr, size32).map(|_| ptr))
}

/// Envoy's `copyToPointerSize`: hands `data` to the guest in a fresh
/// allocation and writes its address and size at `ptr_ptr` / `size_ptr`.
/// Empty data is address 0, size 0, without allocating.
pub(crate) fn copy_out(
    caller: &mut Caller<'_, HostState>,
    data: &[u8],
    ptr_ptr: i32,
    size_ptr: i32,
) -> wasmtime::Result<WasmResult> {
    let mut addr = 0;
    if !data.is_empty() {
        match alloc(caller, data.len())? {
            Some(p) => addr = p,
            None => return Ok(WasmResult::InvalidMemoryAccess),
        }
    }
    let (mem, _) = parts(caller);
    if !data.is_empty() && !write(mem, addr, data) {
        return Ok(WasmResult::InvalidMemoryAccess);
    }
    let size = u32::try_from(data.len()).unwrap_or(u32::MAX);
    if !write_u32(mem, ptr_ptr, addr as u32) || !write_u32(mem, size_ptr, size) {
        return Ok(WasmResult::InvalidMemoryAccess);
    }
    Ok(WasmResult::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_bounds_checked() {
        let mem = [1u8, 2, 3, 4];
        assert_eq!(slice(&mem, 1, 2), Some(&[2u8, 3][..]));
        assert_eq!(slice(&mem, 4, 0), Some(&[][..]));
        assert_eq!(slice(&mem, 3, 2), None);
        assert_eq!(slice(&mem, -1, 1), None);
        assert_eq!(slice(&mem, 1, -1), None);
        assert_eq!(slice(&mem, i32::MAX, i32::MAX), None);
    }

    #[test]
    fn writes_are_bounds_checked() {
        let mut mem = [0u8; 8];
        assert!(write_u32(&mut mem, 4, 0x0403_0201));
        assert_eq!(mem, [0, 0, 0, 0, 1, 2, 3, 4]);
        assert!(!write_u32(&mut mem, 5, 1));
        assert!(!write_u64(&mut mem, 1, 1));
        assert!(write_u64(&mut mem, 0, u64::MAX));
        assert!(!write(&mut mem, -4, &[1]));
    }
}
