//! What the filter reads from Envoy's properties: the proxy's own workload
//! (node metadata, once per configure) and, per request, the virtual host
//! and the destination port.

use std::borrow::Cow;
use std::collections::BTreeMap;

use meshpolicy_engine::SourceInfo;
use meshpolicy_engine::telemetry::NodeInfo;
use meshpolicy_engine::telemetry::cel::{Attributes, HeaderMap};

use crate::metrics::host;
use crate::pairs;

/// This proxy's node metadata, read with one host call.
///
/// `node.metadata` is the `google.protobuf.Struct` of Envoy's `Node`; CEL
/// sees it as a map, and Envoy's `serializeValue` (envoy
/// `source/extensions/common/wasm/context.cc`) hands a whole map over as
/// proxy-wasm pairs, each value serialized the same way (`LABELS`, a map,
/// as pairs in turn). A map holding a value Envoy cannot serialize (a
/// null) fails as a whole: then every field is read on its own, as before.
pub struct NodeMetadata {
    /// The whole map's bytes; `None` when the whole read failed.
    whole: Option<Vec<u8>>,
}

impl NodeMetadata {
    /// One `node.metadata` read.
    pub fn read() -> NodeMetadata {
        let whole =
            host::property(&["node", "metadata"]).filter(|b| pairs::decode_raw(b).is_some());
        NodeMetadata { whole }
    }

    /// A value of the map: `Some(None)` when the key is absent, `None` when
    /// the whole read failed (ask the host).
    fn field(&self, key: &str) -> Option<Option<&[u8]>> {
        let whole = self.whole.as_deref()?;
        let entries = pairs::decode_raw(whole)?;
        Some(
            entries
                .into_iter()
                .find(|(k, _)| *k == key.as_bytes())
                .map(|(_, v)| v),
        )
    }

    /// This proxy's workload for matching: `LABELS` (a map) and
    /// `NAMESPACE` (a string). Istio evaluates `sourceLabels` and
    /// `sourceNamespace` against the same node metadata when it builds config.
    pub fn source_info(&self) -> SourceInfo {
        let labels_bytes = self.property(&["node", "metadata", "LABELS"]);
        let labels = labels_bytes
            .as_deref()
            .and_then(pairs::decode)
            .unwrap_or_default()
            .into_iter()
            .collect::<BTreeMap<_, _>>();
        let namespace = self
            .property(&["node", "metadata", "NAMESPACE"])
            .and_then(|bytes| String::from_utf8(bytes.into_owned()).ok())
            .filter(|ns| !ns.is_empty());
        SourceInfo { labels, namespace }
    }

    /// What the metric labels need of the node (the engine reads it
    /// through [`Attributes`], answered here from the one read).
    pub fn node_info(&self) -> NodeInfo {
        NodeInfo::read(self)
    }
}

impl Attributes for NodeMetadata {
    fn property(&self, path: &[&str]) -> Option<Cow<'_, [u8]>> {
        if let ["node", "metadata", key, rest @ ..] = path
            && let Some(value) = self.field(key)
        {
            let value = value?;
            return match rest {
                [] => Some(Cow::Borrowed(value)),
                [inner] => pairs::decode_raw(value)?
                    .into_iter()
                    .find(|(k, _)| *k == inner.as_bytes())
                    .map(|(_, v)| Cow::Borrowed(v)),
                _ => host::property(path).map(Cow::Owned),
            };
        }
        host::property(path).map(Cow::Owned)
    }

    fn header(&self, _map: HeaderMap, _name: &str) -> Option<Cow<'_, str>> {
        None
    }
}

/// Node labels before any configuration: no host call (the root context
/// is created before Envoy hands over a configuration; node metadata is
/// read at configure).
pub fn unknown_node() -> NodeInfo {
    let unknown = || "unknown".to_string();
    NodeInfo {
        workload: unknown(),
        namespace: unknown(),
        app: unknown(),
        version: unknown(),
        canonical_service: unknown(),
        canonical_revision: unknown(),
        cluster: unknown(),
    }
}

/// The destination port: Envoy's `destination.port` property (an int64,
/// little-endian), else the port in `:authority`.
pub fn destination_port(headers: &[(String, String)]) -> Option<u32> {
    if let Some(bytes) = host::property(&["destination", "port"])
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
    host::property(&["xds", "virtual_host_name"])
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|name| !name.is_empty())
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
