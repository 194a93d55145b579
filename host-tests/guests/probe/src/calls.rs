//! Thin wrappers over the raw imports that return the status as a number
//! together with whatever the host handed back, and `record`, which logs one
//! probe result as `probe <name> <status> <value>` for the test to read.

use crate::abi;
use std::ptr::null_mut;

/// Logs `probe <name> <status> <value>` at info level.
pub fn record(name: &str, status: u32, value: &str) {
    log(&format!("probe {name} {status} {value}"));
}

pub fn log(message: &str) -> u32 {
    // SAFETY: the pointer and length describe a live string.
    unsafe { abi::proxy_log(abi::LOG_INFO, message.as_ptr(), message.len()) }
}

/// Takes ownership of a buffer the host allocated through `malloc`.
fn take(data: *mut u8, size: usize) -> Option<Vec<u8>> {
    if data.is_null() {
        return None;
    }
    // SAFETY: the host allocated `size` bytes with our `malloc`, which hands
    // out `Vec<u8>` allocations of exactly that capacity.
    Some(unsafe { Vec::from_raw_parts(data, size, size) })
}

/// Shows bytes for the log: lossy UTF-8, NUL bytes as `|`.
pub fn show(bytes: &Option<Vec<u8>>) -> String {
    match bytes {
        None => "<none>".to_string(),
        Some(b) => String::from_utf8_lossy(b).replace('\0', "|"),
    }
}

/// Decodes a serialized header map (u32 count, u32 sizes, NUL-terminated
/// strings) into `k=v;k=v`, or `<bad>` when it does not parse.
pub fn show_pairs(bytes: &Option<Vec<u8>>) -> String {
    let Some(b) = bytes else {
        return "<none>".to_string();
    };
    decode_pairs(b).unwrap_or_else(|| "<bad>".to_string())
}

fn read_u32(b: &[u8], at: usize) -> Option<usize> {
    let raw: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(raw) as usize)
}

fn decode_pairs(b: &[u8]) -> Option<String> {
    let count = read_u32(b, 0)?;
    let mut sizes = Vec::new();
    for i in 0..count {
        sizes.push((read_u32(b, 4 + i * 8)?, read_u32(b, 8 + i * 8)?));
    }
    let mut at = 4 + count * 8;
    let mut out = Vec::new();
    for (k, v) in sizes {
        let key = String::from_utf8_lossy(b.get(at..at + k)?).into_owned();
        at += k + 1;
        let value = String::from_utf8_lossy(b.get(at..at + v)?).into_owned();
        at += v + 1;
        out.push(format!("{key}={value}"));
    }
    Some(out.join(";"))
}

/// Serializes pairs the way the ABI expects them.
pub fn encode_pairs(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

pub fn get_header(map: u32, key: &str) -> (u32, Option<Vec<u8>>) {
    let (mut data, mut size) = (null_mut(), 0);
    // SAFETY: valid key slice and out-pointers to locals.
    let s = unsafe {
        abi::proxy_get_header_map_value(map, key.as_ptr(), key.len(), &mut data, &mut size)
    };
    (s, take(data, size))
}

pub fn get_pairs(map: u32) -> (u32, Option<Vec<u8>>) {
    let (mut data, mut size) = (null_mut(), 0);
    // SAFETY: out-pointers to locals.
    let s = unsafe { abi::proxy_get_header_map_pairs(map, &mut data, &mut size) };
    (s, take(data, size))
}

pub fn set_pairs(map: u32, pairs: &[(&str, &str)]) -> u32 {
    let bytes = encode_pairs(pairs);
    // SAFETY: valid slice.
    unsafe { abi::proxy_set_header_map_pairs(map, bytes.as_ptr(), bytes.len()) }
}

pub fn map_size(map: u32) -> (u32, usize) {
    let mut size = 0;
    // SAFETY: out-pointer to a local.
    let s = unsafe { abi::proxy_get_header_map_size(map, &mut size) };
    (s, size)
}

pub fn add_header(map: u32, key: &str, value: &str) -> u32 {
    // SAFETY: valid slices.
    unsafe {
        abi::proxy_add_header_map_value(map, key.as_ptr(), key.len(), value.as_ptr(), value.len())
    }
}

pub fn replace_header(map: u32, key: &str, value: &str) -> u32 {
    // SAFETY: valid slices.
    unsafe {
        abi::proxy_replace_header_map_value(
            map,
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
        )
    }
}

pub fn remove_header(map: u32, key: &str) -> u32 {
    // SAFETY: valid slice.
    unsafe { abi::proxy_remove_header_map_value(map, key.as_ptr(), key.len()) }
}

pub fn get_buffer(kind: u32, start: usize, max: usize) -> (u32, Option<Vec<u8>>) {
    let (mut data, mut size) = (null_mut(), 0);
    // SAFETY: out-pointers to locals.
    let s = unsafe { abi::proxy_get_buffer_bytes(kind, start, max, &mut data, &mut size) };
    (s, take(data, size))
}

pub fn set_buffer(kind: u32, start: usize, size: usize, value: &[u8]) -> u32 {
    // SAFETY: valid slice.
    unsafe { abi::proxy_set_buffer_bytes(kind, start, size, value.as_ptr(), value.len()) }
}

/// A property path: segments joined by NUL, as the SDK serializes it.
fn path(segments: &[&str]) -> Vec<u8> {
    segments.join("\0").into_bytes()
}

pub fn get_property(segments: &[&str]) -> (u32, Option<Vec<u8>>) {
    let p = path(segments);
    let (mut data, mut size) = (null_mut(), 0);
    // SAFETY: valid slice and out-pointers to locals.
    let s = unsafe { abi::proxy_get_property(p.as_ptr(), p.len(), &mut data, &mut size) };
    (s, take(data, size))
}

pub fn set_property(segments: &[&str], value: &[u8]) -> u32 {
    let p = path(segments);
    // SAFETY: valid slices.
    unsafe { abi::proxy_set_property(p.as_ptr(), p.len(), value.as_ptr(), value.len()) }
}

pub fn get_shared(key: &str) -> (u32, Option<Vec<u8>>, u32) {
    let (mut data, mut size, mut cas) = (null_mut(), 0, 0);
    // SAFETY: valid slice and out-pointers to locals.
    let s = unsafe {
        abi::proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas)
    };
    (s, take(data, size), cas)
}

pub fn set_shared(key: &str, value: &str, cas: u32) -> u32 {
    // SAFETY: valid slices.
    unsafe { abi::proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas) }
}

pub fn register_queue(name: &str) -> (u32, u32) {
    let mut id = 0;
    // SAFETY: valid slice and out-pointer to a local.
    let s = unsafe { abi::proxy_register_shared_queue(name.as_ptr(), name.len(), &mut id) };
    (s, id)
}

pub fn resolve_queue(vm_id: &str, name: &str) -> (u32, u32) {
    let mut id = 0;
    // SAFETY: valid slices and out-pointer to a local.
    let s = unsafe {
        abi::proxy_resolve_shared_queue(
            vm_id.as_ptr(),
            vm_id.len(),
            name.as_ptr(),
            name.len(),
            &mut id,
        )
    };
    (s, id)
}

pub fn enqueue(id: u32, value: &str) -> u32 {
    // SAFETY: valid slice.
    unsafe { abi::proxy_enqueue_shared_queue(id, value.as_ptr(), value.len()) }
}

pub fn dequeue(id: u32) -> (u32, Option<Vec<u8>>) {
    let (mut data, mut size) = (null_mut(), 0);
    // SAFETY: out-pointers to locals.
    let s = unsafe { abi::proxy_dequeue_shared_queue(id, &mut data, &mut size) };
    (s, take(data, size))
}

pub fn define_metric(kind: u32, name: &str) -> (u32, u32) {
    let mut id = 0;
    // SAFETY: valid slice and out-pointer to a local.
    let s = unsafe { abi::proxy_define_metric(kind, name.as_ptr(), name.len(), &mut id) };
    (s, id)
}

pub fn get_metric(id: u32) -> (u32, u64) {
    let mut value = 0;
    // SAFETY: out-pointer to a local.
    let s = unsafe { abi::proxy_get_metric(id, &mut value) };
    (s, value)
}

pub fn send_local_response(
    status: u32,
    details: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> u32 {
    let h = encode_pairs(headers);
    // SAFETY: valid slices.
    unsafe {
        abi::proxy_send_local_response(
            status,
            details.as_ptr(),
            details.len(),
            body.as_ptr(),
            body.len(),
            h.as_ptr(),
            h.len(),
            -1,
        )
    }
}

pub fn http_call(
    upstream: &str,
    headers: &[(&str, &str)],
    body: &str,
    timeout_ms: u32,
) -> (u32, u32) {
    let h = encode_pairs(headers);
    let t = encode_pairs(&[]);
    let mut token = 0;
    // SAFETY: valid slices and out-pointer to a local.
    let s = unsafe {
        abi::proxy_http_call(
            upstream.as_ptr(),
            upstream.len(),
            h.as_ptr(),
            h.len(),
            body.as_ptr(),
            body.len(),
            t.as_ptr(),
            t.len(),
            timeout_ms,
            &mut token,
        )
    };
    (s, token)
}

pub fn foreign(name: &str, args: &[u8]) -> (u32, Option<Vec<u8>>) {
    let (mut data, mut size) = (null_mut(), 0);
    // SAFETY: valid slices and out-pointers to locals.
    let s = unsafe {
        abi::proxy_call_foreign_function(
            name.as_ptr(),
            name.len(),
            args.as_ptr(),
            args.len(),
            &mut data,
            &mut size,
        )
    };
    (s, take(data, size))
}

pub fn get_status() -> (u32, u32, Option<Vec<u8>>) {
    let (mut code, mut data, mut size) = (0, null_mut(), 0);
    // SAFETY: out-pointers to locals.
    let s = unsafe { abi::proxy_get_status(&mut code, &mut data, &mut size) };
    (s, code, take(data, size))
}
