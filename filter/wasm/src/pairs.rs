//! Reading header maps and map-valued properties without the SDK's panics.
//!
//! The proxy-wasm SDK's `get_http_request_headers` decodes values with
//! `String::from_utf8(..).unwrap()`: one header value with a byte above 0x7f
//! (which Envoy lets through) would trap the VM and fail every later request.
//! So the adapter asks the host for the serialized map once and decodes it
//! here, bounds-checked, replacing invalid UTF-8 instead of trapping.

use proxy_wasm::types::MapType;

/// Decodes proxy-wasm's serialized map format: a u32 count, then a u32 key
/// length and a u32 value length per pair, then each key and value followed
/// by a NUL byte (spec: proxy-wasm/spec abi-versions/v0.2.1 "Serialized maps").
/// Returns `None` when the bytes are not a well-formed map.
pub fn decode(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    Some(
        decode_raw(bytes)?
            .into_iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect(),
    )
}

/// [`decode`] without copying or UTF-8 conversion: the keys and values as
/// they are in `bytes` (a value may itself be a serialized map, as in a
/// whole `node.metadata`).
pub fn decode_raw(bytes: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let count = read_u32(bytes, 0)? as usize;
    // Every pair takes at least 8 bytes of sizes and 2 NULs: reject counts the
    // buffer cannot hold before allocating for them.
    if count > bytes.len() / 10 {
        return None;
    }
    let mut sizes_at = 4usize;
    let mut data_at = 4usize.checked_add(count.checked_mul(8)?)?;
    let mut pairs = Vec::with_capacity(count);
    for _ in 0..count {
        let key_len = read_u32(bytes, sizes_at)? as usize;
        let value_len = read_u32(bytes, sizes_at + 4)? as usize;
        sizes_at += 8;
        let key = take(bytes, &mut data_at, key_len)?;
        let value = take(bytes, &mut data_at, value_len)?;
        pairs.push((key, value));
    }
    Some(pairs)
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let raw: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(raw))
}

/// Takes `len` bytes at `*at` and skips the NUL that follows them.
fn take<'a>(bytes: &'a [u8], at: &mut usize, len: usize) -> Option<&'a [u8]> {
    let end = at.checked_add(len)?;
    let slice = bytes.get(*at..end)?;
    *at = end.checked_add(1)?;
    Some(slice)
}

// The same import the SDK declares; declared again here so that the reply is
// decoded by `decode` instead of the SDK's panicking decoder.
#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn proxy_get_header_map_pairs(
        map_type: u32,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> u32;
}

/// All request headers with one host call, lower-case names as Envoy gives them.
/// A map the host cannot give (any status but OK) or cannot decode reads as
/// empty rather than trapping.
pub fn request_headers() -> Vec<(String, String)> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: the host writes a pointer and a size into the two out-parameters,
    // which point at live locals.
    let status = unsafe {
        proxy_get_header_map_pairs(MapType::HttpRequestHeaders as u32, &mut data, &mut size)
    };
    if status != 0 || data.is_null() {
        return Vec::new();
    }
    // SAFETY: on OK the host allocated `size` bytes through the guest's
    // `proxy_on_memory_allocate`, which the SDK implements as a boxed slice of
    // exactly `size` bytes, so the buffer is ours to own and free as a Vec.
    let bytes = unsafe { Vec::from_raw_parts(data, size, size) };
    decode(&bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests;
