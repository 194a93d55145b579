//! The proxy-wasm pairs format (header maps, maps and lists of property
//! values): `u32` count, then per pair `u32` key size and `u32` value size,
//! then per pair the key, a NUL, the value, a NUL; all integers
//! little-endian. Written by hand: it is the ABI's own format, no crate
//! implements it.

/// Largest pairs buffer the host parses (proxy-wasm-cpp-host
/// `include/proxy-wasm/limits.h`, `PROXY_WASM_HOST_PAIRS_MAX_BYTES`).
pub const PAIRS_MAX_BYTES: usize = 1024 * 1024;
/// Most pairs the host parses (`PROXY_WASM_HOST_PAIRS_MAX_COUNT`).
pub const PAIRS_MAX_COUNT: usize = 1024;

/// Serializes string pairs.
pub fn serialize_pairs<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Vec<u8> {
    let size = 4 + pairs
        .iter()
        .map(|(k, v)| 8 + k.as_ref().len() + v.as_ref().len() + 2)
        .sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&u32_of(pairs.len()).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&u32_of(k.as_ref().len()).to_le_bytes());
        out.extend_from_slice(&u32_of(v.as_ref().len()).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_ref());
        out.push(0);
        out.extend_from_slice(v.as_ref());
        out.push(0);
    }
    out
}

/// Serializes byte pairs (same format).
pub(crate) fn serialize_pairs_bytes(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    serialize_pairs(pairs)
}

fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Parses a pairs buffer the way proxy-wasm-cpp-host `src/pairs_util.cc`
/// (`PairsUtil::toPairs`) does: anything malformed or over the limits gives
/// no pairs at all.
pub fn deserialize_pairs(buf: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    parse(buf).unwrap_or_default()
}

fn parse(buf: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    if buf.len() > PAIRS_MAX_BYTES {
        return None;
    }
    let mut pos = 0usize;
    let count = read_u32(buf, &mut pos)? as usize;
    if count > PAIRS_MAX_COUNT {
        return None;
    }
    let mut sizes = Vec::with_capacity(count);
    for _ in 0..count {
        let k = read_u32(buf, &mut pos)? as usize;
        let v = read_u32(buf, &mut pos)? as usize;
        sizes.push((k, v));
    }
    let mut pairs = Vec::with_capacity(count);
    for (k, v) in sizes {
        let key = take(buf, &mut pos, k)?.to_vec();
        if take(buf, &mut pos, 1)? != [0] {
            return None;
        }
        let value = take(buf, &mut pos, v)?.to_vec();
        if take(buf, &mut pos, 1)? != [0] {
            return None;
        }
        pairs.push((key, value));
    }
    Some(pairs)
}

fn read_u32(buf: &[u8], pos: &mut usize) -> Option<u32> {
    let bytes = take(buf, pos, 4)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

fn take<'a>(buf: &'a [u8], pos: &mut usize, n: usize) -> Option<&'a [u8]> {
    let end = pos.checked_add(n)?;
    let slice = buf.get(*pos..end)?;
    *pos = end;
    Some(slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_abi() {
        let buf = serialize_pairs(&[("a", "bc")]);
        assert_eq!(
            buf,
            [1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, b'a', 0, b'b', b'c', 0]
        );
    }

    #[test]
    fn empty_map_is_just_a_zero_count() {
        let empty: [(&str, &str); 0] = [];
        assert_eq!(serialize_pairs(&empty), [0, 0, 0, 0]);
        assert!(deserialize_pairs(&[0, 0, 0, 0]).is_empty());
    }

    #[test]
    fn round_trip() {
        let pairs = vec![
            (b":path".to_vec(), b"/x".to_vec()),
            (b"k".to_vec(), Vec::new()),
        ];
        assert_eq!(deserialize_pairs(&serialize_pairs(&pairs)), pairs);
    }

    #[test]
    fn malformed_gives_nothing() {
        let mut buf = serialize_pairs(&[("a", "b")]);
        buf.pop();
        assert!(deserialize_pairs(&buf).is_empty());
        let mut bad_nul = serialize_pairs(&[("a", "b")]);
        if let Some(b) = bad_nul.get_mut(13) {
            *b = 1;
        }
        assert!(deserialize_pairs(&bad_nul).is_empty());
        assert!(deserialize_pairs(&[0xff, 0xff, 0xff, 0xff]).is_empty());
        assert!(deserialize_pairs(&[1, 0]).is_empty());
    }

    #[test]
    fn too_many_pairs_gives_nothing() {
        let many: Vec<(String, String)> = (0..=PAIRS_MAX_COUNT)
            .map(|i| (i.to_string(), String::new()))
            .collect();
        assert!(deserialize_pairs(&serialize_pairs(&many)).is_empty());
    }
}
