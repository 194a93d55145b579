//! proxy-wasm's serialized maps: a header map as `proxy_get_header_map_pairs`
//! gives it, and a map-valued property (`node.metadata`) as Envoy's
//! `serializeValue` gives it.
//!
//! The proxy-wasm SDK's `get_http_request_headers` decodes values with
//! `String::from_utf8(..).unwrap()`: one header value with a byte above 0x7f
//! (which Envoy lets through) would trap the VM and fail every later request.
//! So the filter asks the host for the serialized map once and decodes it
//! here, bounds-checked, replacing invalid UTF-8 instead of trapping.

/// Decodes proxy-wasm's serialized map format: a u32 count, then a u32 key
/// length and a u32 value length per pair, then each key and value followed
/// by a NUL byte (spec: proxy-wasm/spec abi-versions/v0.2.1 "Serialized maps").
/// Returns `None` when the bytes are not a well-formed map.
pub fn decode(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    decode_into(bytes, &mut pairs).then_some(pairs)
}

/// [`decode`] into `pairs`, reusing the strings it already holds (their
/// buffers) for the pairs in order, so a caller that decodes a map per
/// request keeps one set of buffers instead of allocating and freeing two
/// strings per header (issue 11). Afterwards `pairs` holds exactly the
/// decoded map, as [`decode`] returns it; on a malformed map it is empty
/// and the result is `false`.
pub fn decode_into(bytes: &[u8], pairs: &mut Vec<(String, String)>) -> bool {
    let Some(count) = checked_count(bytes) else {
        pairs.clear();
        return false;
    };
    let data_at = 4usize.saturating_add(count.saturating_mul(8));
    // Nearly every map is valid UTF-8 throughout: its text is checked in
    // one pass (far cheaper in wasm than a check per string, as a short
    // string never reaches the word-at-a-time path) and each string is a
    // slice of it. Any other map, or one whose strings are not whole
    // slices of its text, is decoded string by string.
    if let (Some(sizes), Some(text)) = (
        bytes.get(4..data_at),
        bytes
            .get(data_at..)
            .and_then(|d| std::str::from_utf8(d).ok()),
    ) && decode_text(sizes, text, count, pairs)
    {
        return true;
    }
    decode_each(bytes, count, pairs)
}

/// [`decode_into`] of a map whose keys and values are in `text` (valid
/// UTF-8), their sizes in `sizes`; `false` (and `pairs` unspecified) when
/// a string is not a whole slice of `text` or the map is malformed.
fn decode_text(sizes: &[u8], text: &str, count: usize, pairs: &mut Vec<(String, String)>) -> bool {
    let set = |dst: &mut String, s: &str| {
        dst.clear();
        dst.push_str(s);
    };
    pairs.truncate(count);
    pairs.reserve(count.saturating_sub(pairs.len()));
    let mut at = 0usize;
    for (i, size) in sizes.chunks_exact(8).enumerate() {
        let [k0, k1, k2, k3, v0, v1, v2, v3] = <[u8; 8]>::try_from(size).unwrap_or_default();
        let key_len = u32::from_le_bytes([k0, k1, k2, k3]) as usize;
        let value_len = u32::from_le_bytes([v0, v1, v2, v3]) as usize;
        // Each string is followed by a NUL (skipped, as `take` does).
        let mut next = |len: usize| {
            let end = at.checked_add(len)?;
            let s = text.get(at..end)?;
            at = end.checked_add(1)?;
            Some(s)
        };
        let (Some(key), Some(value)) = (next(key_len), next(value_len)) else {
            return false;
        };
        match pairs.get_mut(i) {
            Some((k, v)) => {
                set(k, key);
                set(v, value);
            }
            None => pairs.push((key.to_owned(), value.to_owned())),
        }
    }
    true
}

/// [`decode_into`] string by string: valid UTF-8 is copied as it is, the
/// rest replaced.
fn decode_each(bytes: &[u8], count: usize, pairs: &mut Vec<(String, String)>) -> bool {
    fn set(dst: &mut String, b: &[u8]) {
        dst.clear();
        match std::str::from_utf8(b) {
            Ok(s) => dst.push_str(s),
            Err(_) => dst.push_str(&String::from_utf8_lossy(b)),
        }
    }
    let mut sizes_at = 4usize;
    let mut data_at = 4usize.saturating_add(count.saturating_mul(8));
    pairs.truncate(count);
    pairs.reserve(count.saturating_sub(pairs.len()));
    for i in 0..count {
        let pair = (|| {
            let key_len = read_u32(bytes, sizes_at)? as usize;
            let value_len = read_u32(bytes, sizes_at.checked_add(4)?)? as usize;
            sizes_at = sizes_at.checked_add(8)?;
            let key = take(bytes, &mut data_at, key_len)?;
            let value = take(bytes, &mut data_at, value_len)?;
            Some((key, value))
        })();
        let Some((key, value)) = pair else {
            pairs.clear();
            return false;
        };
        match pairs.get_mut(i) {
            Some((k, v)) => {
                set(k, key);
                set(v, value);
            }
            None => {
                let (mut k, mut v) = (String::new(), String::new());
                set(&mut k, key);
                set(&mut v, value);
                pairs.push((k, v));
            }
        }
    }
    true
}

/// The pair count of a serialized map, when the buffer can hold that many
/// pairs (every pair takes at least 8 bytes of sizes and 2 NULs): counts
/// the buffer cannot hold are refused before anything is allocated for
/// them. An empty buffer is an empty map.
fn checked_count(bytes: &[u8]) -> Option<usize> {
    if bytes.is_empty() {
        return Some(0);
    }
    let count = read_u32(bytes, 0)? as usize;
    (count <= bytes.len() / 10).then_some(count)
}

/// [`decode`] without copying or UTF-8 conversion: the keys and values as
/// they are in `bytes` (a value may itself be a serialized map, as in a
/// whole `node.metadata`).
pub fn decode_raw(bytes: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let count = checked_count(bytes)?;
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

/// Encodes pairs in the same format (what `proxy_send_local_response`
/// takes for its headers).
pub fn encode(pairs: &[(String, String)]) -> Vec<u8> {
    let size = pairs
        .iter()
        .map(|(k, v)| k.len() + v.len() + 10)
        .sum::<usize>()
        + 4;
    let mut out = Vec::with_capacity(size);
    let len = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    out.extend_from_slice(&len(pairs.len()));
    for (k, v) in pairs {
        out.extend_from_slice(&len(k.len()));
        out.extend_from_slice(&len(v.len()));
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
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

#[cfg(test)]
mod tests;
