//! Envoy's encodings of what the filter reads through the proxy-wasm ABI,
//! decoded bounds-checked and without panics: serialized maps (header maps
//! and map-valued properties) and the protobuf `Struct` of peer metadata.
//! Pure byte decoding, so the filter, the CLI and tests share it.

pub mod pairs;
pub mod protobuf;

/// Calls `f` with a property path as `proxy_get_property` takes it (the
/// segments joined by NUL): one segment as it is, more joined on the stack
/// when short, in the smallest of a few zeroed buffers that holds them
/// (the filter reads properties on every request, and wasmtime charges a
/// unit of fuel per byte a `memory.fill` writes: a 128-byte buffer for a
/// 16-byte path cost 128).
pub fn with_property_path<R>(path: &[&str], f: impl FnOnce(&[u8]) -> R) -> R {
    if let [one] = path {
        return f(one.as_bytes());
    }
    let len = path
        .iter()
        .map(|s| s.len())
        .sum::<usize>()
        .saturating_add(path.len().saturating_sub(1));
    match len {
        0..=16 => joined::<16, R>(path, f),
        17..=32 => joined::<32, R>(path, f),
        33..=64 => joined::<64, R>(path, f),
        _ => joined::<128, R>(path, f),
    }
}

/// [`with_property_path`] in a buffer of `N` bytes, or on the heap when the
/// path does not fit.
fn joined<const N: usize, R>(path: &[&str], f: impl FnOnce(&[u8]) -> R) -> R {
    let mut buf = [0u8; N];
    let mut len = 0;
    for (i, segment) in path.iter().enumerate() {
        let sep = usize::from(i > 0);
        let Some(dst) = buf.get_mut(len..len + sep + segment.len()) else {
            return f(path.join("\0").as_bytes());
        };
        let (nul, rest) = dst.split_at_mut(sep);
        nul.fill(0);
        rest.copy_from_slice(segment.as_bytes());
        len += sep + segment.len();
    }
    f(buf.get(..len).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::with_property_path;

    #[test]
    fn property_paths_are_joined_by_nul_short_or_long() {
        assert_eq!(
            with_property_path(&["xds", "cluster_name"], <[u8]>::to_vec),
            b"xds\0cluster_name"
        );
        assert_eq!(
            with_property_path(&["plugin_name"], <[u8]>::to_vec),
            b"plugin_name"
        );
        // every buffer size, and the edges between them
        for total in [3_usize, 16, 17, 32, 33, 64, 65, 128, 129] {
            let tail = "t".repeat(total - 2);
            let joined = with_property_path(&["a", &tail], <[u8]>::to_vec);
            assert_eq!(joined, [b"a\0".as_slice(), tail.as_bytes()].concat());
        }
        assert_eq!(with_property_path(&[], <[u8]>::to_vec), b"");
        let long = "k".repeat(200);
        let joined = with_property_path(&["node", &long], <[u8]>::to_vec);
        assert_eq!(joined, [b"node\0".as_slice(), long.as_bytes()].concat());
    }
}
