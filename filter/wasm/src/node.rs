//! What the filter reads from Envoy's properties: the proxy's own workload
//! (node metadata) and the destination port.

use std::collections::BTreeMap;

use meshpolicy_engine::SourceInfo;
use proxy_wasm::hostcalls;
use proxy_wasm::types::Bytes;

use crate::pairs;

/// This proxy's workload from node metadata: `LABELS` (a map, serialized as
/// pairs) and `NAMESPACE` (a string). Istio evaluates `sourceLabels` and
/// `sourceNamespace` against the same node metadata when it builds config.
pub fn source_info() -> SourceInfo {
    let labels = property(vec!["node", "metadata", "LABELS"])
        .map(|bytes| pairs::property_map(&bytes))
        .unwrap_or_default()
        .into_iter()
        .collect::<BTreeMap<_, _>>();
    let namespace = property(vec!["node", "metadata", "NAMESPACE"])
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|ns| !ns.is_empty());
    SourceInfo { labels, namespace }
}

/// The destination port: Envoy's `destination.port` property (an int64,
/// little-endian), else the port in `:authority`.
pub fn destination_port(headers: &[(String, String)]) -> Option<u32> {
    if let Some(bytes) = property(vec!["destination", "port"])
        && let Ok(raw) = <[u8; 8]>::try_from(bytes.as_slice())
        && let Ok(port) = u32::try_from(i64::from_le_bytes(raw))
    {
        return Some(port);
    }
    let authority = headers
        .iter()
        .find(|(name, _)| name == ":authority")
        .map(|(_, value)| value.as_str())?;
    authority_port(authority)
}

/// The virtual host Envoy's router selected for the request
/// (`xds.virtual_host_name`): Istio names a sidecar's outbound virtual hosts
/// `<host>:<port>`. Absent when the proxy does not expose it (or no route
/// was selected); the engine then selects by `:authority`.
pub fn virtual_host_name() -> Option<String> {
    property(vec!["xds", "virtual_host_name"])
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|name| !name.is_empty())
}

/// A property's value; absent when the host has none or cannot serialize it.
///
/// Not the SDK's `Context::get_property`: it unwraps the host's answer, so
/// Envoy's SERIALIZATION_FAILURE (a value it cannot encode) would trap the VM.
fn property(path: Vec<&str>) -> Option<Bytes> {
    hostcalls::get_property(path).ok().flatten()
}

/// The port of an authority (`host:port`, `[v6]:port`), if it names one.
pub fn authority_port(authority: &str) -> Option<u32> {
    let (host, port) = authority.rsplit_once(':')?;
    if host.starts_with('[') && !host.ends_with(']') {
        return None; // a bare IPv6 address, no port
    }
    port.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::authority_port;

    #[test]
    fn ports_from_authorities() {
        assert_eq!(authority_port("reviews:9080"), Some(9080));
        assert_eq!(authority_port("reviews"), None);
        assert_eq!(authority_port("[::1]:8443"), Some(8443));
        assert_eq!(authority_port("[::1]"), None);
        assert_eq!(authority_port("host:notaport"), None);
    }
}
