//! This proxy's own workload from Envoy's node metadata, read with one
//! host call per configure: what `sourceLabels` / `sourceNamespace` match
//! ([`SourceInfo`]) and what the metric labels need ([`NodeInfo`]).
//!
//! `node.metadata` is the `google.protobuf.Struct` of Envoy's `Node`; CEL
//! sees it as a map, and Envoy's `serializeValue` (envoy
//! `source/extensions/common/wasm/context.cc`) hands a whole map over as
//! proxy-wasm pairs, each value serialized the same way (`LABELS`, a map,
//! as pairs in turn). A map holding a value Envoy cannot serialize (a null)
//! fails as a whole: then every field is read on its own.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::SourceInfo;
use crate::encoding::pairs;
use crate::telemetry::NodeInfo;
use crate::telemetry::cel::{Attributes, HeaderMap};

/// `node.metadata` as one read gave it, over the attributes to ask when
/// that read failed.
pub struct NodeMetadata<'a> {
    /// The whole map's bytes; `None` when the whole read failed.
    whole: Option<Vec<u8>>,
    host: &'a dyn Attributes,
}

impl<'a> NodeMetadata<'a> {
    /// One `node.metadata` read through `host`.
    pub fn read(host: &'a dyn Attributes) -> Self {
        let whole = host
            .property(&["node", "metadata"])
            .filter(|b| pairs::decode_raw(b).is_some())
            .map(Cow::into_owned);
        NodeMetadata { whole, host }
    }

    /// A value of the map: `Some(None)` when the key is absent, `None` when
    /// the whole read failed (ask the host).
    fn field(&self, key: &str) -> Option<Option<&[u8]>> {
        let entries = pairs::decode_raw(self.whole.as_deref()?)?;
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
        // Inserted one by one, not `collect`ed: the same map (a repeated key
        // keeps its last value either way) without the sort that `collect`
        // brings into the filter (about 4 KB).
        let mut labels = BTreeMap::new();
        for (key, value) in self
            .property(&["node", "metadata", "LABELS"])
            .as_deref()
            .and_then(pairs::decode)
            .unwrap_or_default()
        {
            labels.insert(key, value);
        }
        let namespace = self
            .property(&["node", "metadata", "NAMESPACE"])
            .and_then(|bytes| String::from_utf8(bytes.into_owned()).ok())
            .filter(|ns| !ns.is_empty());
        SourceInfo { labels, namespace }
    }

    /// What the metric labels need of the node.
    pub fn node_info(&self) -> NodeInfo {
        NodeInfo::read(self)
    }
}

impl Attributes for NodeMetadata<'_> {
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
                _ => self.host.property(path),
            };
        }
        self.host.property(path)
    }

    fn header(&self, _map: HeaderMap, _name: &str) -> Option<Cow<'_, str>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::NodeMetadata;

    use crate::test_support::{Host, encode_pairs as encode};

    #[test]
    fn one_read_gives_the_source_and_the_node_labels() {
        let labels = encode(&[(b"app", b"productpage"), (b"version", b"v1")]);
        let whole = encode(&[
            (b"NAMESPACE", b"prod"),
            (b"WORKLOAD_NAME", b"productpage-v1"),
            (b"LABELS", &labels),
        ]);
        let host = Host {
            props: vec![("node.metadata", whole)],
            reads: RefCell::new(Vec::new()),
        };
        let node = NodeMetadata::read(&host);
        let source = node.source_info();
        assert_eq!(source.namespace.as_deref(), Some("prod"));
        assert_eq!(
            source.labels.get("app").map(String::as_str),
            Some("productpage")
        );
        let info = node.node_info();
        assert_eq!(
            (
                info.workload.as_str(),
                info.app.as_str(),
                info.cluster.as_str()
            ),
            ("productpage-v1", "productpage", "unknown")
        );
        assert_eq!(*host.reads.borrow(), ["node.metadata"]);
    }

    #[test]
    fn a_label_given_twice_keeps_its_last_value() {
        let labels = encode(&[(b"app", b"old"), (b"version", b"v1"), (b"app", b"new")]);
        let whole = encode(&[(b"LABELS", &labels)]);
        let host = Host {
            props: vec![("node.metadata", whole)],
            reads: RefCell::new(Vec::new()),
        };
        let labels = NodeMetadata::read(&host).source_info().labels;
        let entries: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(entries, [("app", "new"), ("version", "v1")]);
    }

    #[test]
    fn a_failed_whole_read_falls_back_to_field_reads() {
        let host = Host {
            props: vec![("node.metadata.NAMESPACE", b"prod".to_vec())],
            reads: RefCell::new(Vec::new()),
        };
        let node = NodeMetadata::read(&host);
        assert_eq!(node.source_info().namespace.as_deref(), Some("prod"));
        assert!(
            host.reads
                .borrow()
                .contains(&"node.metadata.NAMESPACE".to_owned())
        );
    }
}
