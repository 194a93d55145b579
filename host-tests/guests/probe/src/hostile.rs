//! Hostile modes: a module that traps, spins, grows memory without end or
//! hands the host pointers outside its memory. The host must survive all.

use crate::abi;
use crate::calls::record;

/// An address far past any memory this module will have.
const OUT_OF_BOUNDS: usize = 0xFFFF_FF00;

pub fn request_headers(mode: &str) -> u32 {
    match mode {
        "trap" => core::arch::wasm32::unreachable(),
        "loop" => spin(),
        "grow" => grow(),
        "huge-alloc" => huge_alloc(),
        "oob" => out_of_bounds(),
        _ => {
            record("unknown_mode", 0, mode);
            0
        }
    }
}

fn spin() -> u32 {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
        if std::hint::black_box(n) == u64::MAX {
            return 0;
        }
    }
}

/// Grows linear memory 1 MiB at a time until the host refuses, then goes on.
fn grow() -> u32 {
    let mut grown_pages = 0usize;
    loop {
        let previous = core::arch::wasm32::memory_grow(0, 16);
        if previous == usize::MAX {
            break;
        }
        grown_pages += 16;
    }
    let total = core::arch::wasm32::memory_size(0);
    record("grow_refused", 0, &format!("{grown_pages} {total}"));
    0
}

/// Asks the allocator for more than the host allows: Rust aborts (a trap).
fn huge_alloc() -> u32 {
    let v: Vec<u8> = vec![1; 1 << 31];
    record("huge_alloc", 0, &v.len().to_string());
    0
}

fn out_of_bounds() -> u32 {
    // SAFETY (all below): the pointers are deliberately invalid; the host
    // must check them against linear memory and answer with a status.
    let status = unsafe { abi::proxy_log(abi::LOG_INFO, OUT_OF_BOUNDS as *const u8, 64) };
    record("oob_log", status, "");
    // A header that exists, so the host gets as far as writing the answer.
    let key = ":path";
    let status = unsafe {
        abi::proxy_get_header_map_value(
            abi::REQUEST_HEADERS,
            key.as_ptr(),
            key.len(),
            OUT_OF_BOUNDS as *mut *mut u8,
            OUT_OF_BOUNDS as *mut usize,
        )
    };
    record("oob_return_pointers", status, "");
    let status = unsafe {
        abi::proxy_add_header_map_value(
            abi::REQUEST_HEADERS,
            OUT_OF_BOUNDS as *const u8,
            16,
            key.as_ptr(),
            1,
        )
    };
    record("oob_key", status, "");
    let status = unsafe {
        abi::proxy_set_header_map_pairs(abi::REQUEST_HEADERS, key.as_ptr(), usize::MAX >> 1)
    };
    record("oob_pairs_size", status, "");
    let garbage = [0xFFu8; 12];
    let status = unsafe {
        abi::proxy_set_header_map_pairs(abi::REQUEST_HEADERS, garbage.as_ptr(), garbage.len())
    };
    record("garbage_pairs", status, "");
    let mut size = 0;
    let status = unsafe { abi::proxy_get_header_map_size(abi::REQUEST_HEADERS, &mut size) };
    record("after_oob_size", status, &size.to_string());
    0
}
