//! Envoy's encodings of what the filter reads through the proxy-wasm ABI,
//! decoded bounds-checked and without panics: serialized maps (header maps
//! and map-valued properties) and the protobuf `Struct` of peer metadata.
//! Pure byte decoding, so the filter, the CLI and tests share it.

pub mod pairs;
pub mod protobuf;

/// Calls `f` with a property path as `proxy_get_property` takes it (the
/// segments joined by NUL), joined on the stack when short: the filter
/// reads properties on every request.
pub fn with_property_path<R>(path: &[&str], f: impl FnOnce(&[u8]) -> R) -> R {
    let mut buf = [0u8; 128];
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
        let long = "k".repeat(200);
        let joined = with_property_path(&["node", &long], <[u8]>::to_vec);
        assert_eq!(joined, [b"node\0".as_slice(), long.as_bytes()].concat());
    }
}
