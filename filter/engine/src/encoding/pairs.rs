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
    // Valid UTF-8 (nearly every header) is copied as it is; only the rest
    // goes through the slower lossy conversion.
    fn set(dst: &mut String, b: &[u8]) {
        dst.clear();
        match std::str::from_utf8(b) {
            Ok(s) => dst.push_str(s),
            Err(_) => dst.push_str(&String::from_utf8_lossy(b)),
        }
    }
    let Some(count) = checked_count(bytes) else {
        pairs.clear();
        return false;
    };
    let mut sizes_at = 4usize;
    let mut data_at = 4usize.saturating_add(count.saturating_mul(8));
    // The keys and values checked as UTF-8 in one pass: one validation of
    // the whole text is far cheaper in wasm than one per string (a short
    // string never reaches the word-at-a-time path). A string that is not
    // a whole slice of it (invalid UTF-8 somewhere, or a malformed map) is
    // checked on its own, as before.
    let text = bytes
        .get(data_at..)
        .and_then(|data| std::str::from_utf8(data).ok());
    let base = data_at;
    let fill = |dst: &mut String, b: &[u8], start: usize| {
        let piece = start
            .checked_sub(base)
            .and_then(|from| text?.get(from..from.checked_add(b.len())?));
        match piece {
            Some(s) => {
                dst.clear();
                dst.push_str(s);
            }
            None => set(dst, b),
        }
    };
    pairs.truncate(count);
    pairs.reserve(count.saturating_sub(pairs.len()));
    for i in 0..count {
        let pair = (|| {
            let key_len = read_u32(bytes, sizes_at)? as usize;
            let value_len = read_u32(bytes, sizes_at.checked_add(4)?)? as usize;
            sizes_at = sizes_at.checked_add(8)?;
            let key_at = data_at;
            let key = take(bytes, &mut data_at, key_len)?;
            let value_at = data_at;
            let value = take(bytes, &mut data_at, value_len)?;
            Some((key, key_at, value, value_at))
        })();
        let Some((key, key_at, value, value_at)) = pair else {
            pairs.clear();
            return false;
        };
        match pairs.get_mut(i) {
            Some((k, v)) => {
                fill(k, key, key_at);
                fill(v, value, value_at);
            }
            None => {
                let (mut k, mut v) = (String::new(), String::new());
                fill(&mut k, key, key_at);
                fill(&mut v, value, value_at);
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
