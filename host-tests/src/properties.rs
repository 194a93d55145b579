//! The property tree a test fills, read by the guest with
//! `proxy_get_property`, encoded the way Envoy encodes CEL values
//! (envoy `source/extensions/common/wasm/context.cc`, `serializeValue`):
//! strings and bytes raw, integers as 8 bytes little-endian, doubles as
//! 8-byte IEEE, bools as 1 byte, durations and timestamps as int64
//! nanoseconds, maps and lists as proxy-wasm pairs (a list's items are the
//! keys, values empty). Struct-valued properties such as `node.metadata`
//! are maps, as CEL unwraps `google.protobuf.Struct`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::encoding::serialize_pairs_bytes;

/// One value in the property tree.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    /// A string or bytes: handed over raw.
    Bytes(Vec<u8>),
    Int(i64),
    Uint(u64),
    Double(f64),
    Bool(bool),
    Duration(Duration),
    Timestamp(SystemTime),
    /// A map in insertion order (header maps keep header order).
    Map(Vec<(String, PropertyValue)>),
    List(Vec<PropertyValue>),
    /// A `google.protobuf.Struct` kept in filter state as a CelState of type
    /// Protobuf, as Istio keeps peer metadata (`upstream_peer`,
    /// `downstream_peer`; istio/proxy `peerInfoPrototype`). Envoy hands a
    /// read of the whole value over as the serialized message (envoy
    /// `source/extensions/filters/common/expr/cel_state.cc`,
    /// `CelState::exprValue` with `last`, which `Context::getProperty` sets
    /// when the path ends at it) and walks its fields as a map when the path
    /// goes on (`upstream_peer.workload`).
    Struct(Vec<(String, PropertyValue)>),
}

impl PropertyValue {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Self {
        PropertyValue::Bytes(s.into().into_bytes())
    }

    /// A map of strings, in the given order.
    pub fn string_map<K: Into<String>, V: Into<String>>(
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        PropertyValue::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.into(), PropertyValue::string(v)))
                .collect(),
        )
    }

    /// Envoy's binary encoding of this value.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            PropertyValue::Bytes(b) => b.clone(),
            PropertyValue::Int(i) => i.to_le_bytes().to_vec(),
            PropertyValue::Uint(u) => u.to_le_bytes().to_vec(),
            PropertyValue::Double(d) => d.to_le_bytes().to_vec(),
            PropertyValue::Bool(b) => vec![u8::from(*b)],
            PropertyValue::Duration(d) => duration_nanos(*d).to_le_bytes().to_vec(),
            PropertyValue::Timestamp(t) => timestamp_nanos(*t).to_le_bytes().to_vec(),
            PropertyValue::Map(entries) => {
                let pairs: Vec<(Vec<u8>, Vec<u8>)> = entries
                    .iter()
                    .map(|(k, v)| (k.as_bytes().to_vec(), v.encode()))
                    .collect();
                serialize_pairs_bytes(&pairs)
            }
            PropertyValue::List(items) => {
                let pairs: Vec<(Vec<u8>, Vec<u8>)> =
                    items.iter().map(|v| (v.encode(), Vec::new())).collect();
                serialize_pairs_bytes(&pairs)
            }
            PropertyValue::Struct(fields) => proto_struct(fields),
        }
    }

    /// One step of Envoy's path traversal (`Context::getProperty`): a map
    /// key, or a list index in decimal.
    pub(crate) fn child(&self, part: &[u8]) -> Option<&PropertyValue> {
        match self {
            PropertyValue::Map(entries) | PropertyValue::Struct(entries) => entries
                .iter()
                .find(|(k, _)| k.as_bytes() == part)
                .map(|(_, v)| v),
            PropertyValue::List(items) => {
                let idx: usize = std::str::from_utf8(part).ok()?.parse().ok()?;
                items.get(idx)
            }
            _ => None,
        }
    }
}

/// The protobuf encoding of a `google.protobuf.Struct` (`fields` = 1, a
/// map of string to `google.protobuf.Value`), fields in the given order.
fn proto_struct(fields: &[(String, PropertyValue)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in fields {
        let mut entry = Vec::new();
        proto_bytes(&mut entry, 1, key.as_bytes());
        proto_bytes(&mut entry, 2, &proto_value(value));
        proto_bytes(&mut out, 1, &entry);
    }
    out
}

/// A `google.protobuf.Value`: `number_value` = 2, `string_value` = 3,
/// `bool_value` = 4, `struct_value` = 5, `list_value` = 6.
fn proto_value(value: &PropertyValue) -> Vec<u8> {
    let mut out = Vec::new();
    let number = |out: &mut Vec<u8>, n: f64| {
        out.push(2 << 3 | 1);
        out.extend_from_slice(&n.to_le_bytes());
    };
    match value {
        PropertyValue::Bytes(b) => proto_bytes(&mut out, 3, b),
        PropertyValue::Int(i) => number(&mut out, *i as f64),
        PropertyValue::Uint(u) => number(&mut out, *u as f64),
        PropertyValue::Double(d) => number(&mut out, *d),
        PropertyValue::Duration(d) => number(&mut out, duration_nanos(*d) as f64),
        PropertyValue::Timestamp(t) => number(&mut out, timestamp_nanos(*t) as f64),
        PropertyValue::Bool(b) => {
            out.push(4 << 3);
            out.push(u8::from(*b));
        }
        PropertyValue::Map(fields) | PropertyValue::Struct(fields) => {
            proto_bytes(&mut out, 5, &proto_struct(fields));
        }
        PropertyValue::List(items) => {
            let mut list = Vec::new();
            for item in items {
                proto_bytes(&mut list, 1, &proto_value(item));
            }
            proto_bytes(&mut out, 6, &list);
        }
    }
    out
}

/// A length-delimited protobuf field.
fn proto_bytes(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    out.push(field << 3 | 2);
    let mut n = bytes.len();
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(bytes);
}

fn duration_nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn timestamp_nanos(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => duration_nanos(d),
        Err(e) => duration_nanos(e.duration()).saturating_neg(),
    }
}

impl From<&str> for PropertyValue {
    fn from(s: &str) -> Self {
        PropertyValue::string(s)
    }
}
impl From<String> for PropertyValue {
    fn from(s: String) -> Self {
        PropertyValue::Bytes(s.into_bytes())
    }
}
impl From<Vec<u8>> for PropertyValue {
    fn from(b: Vec<u8>) -> Self {
        PropertyValue::Bytes(b)
    }
}
impl From<i64> for PropertyValue {
    fn from(i: i64) -> Self {
        PropertyValue::Int(i)
    }
}
impl From<u64> for PropertyValue {
    fn from(u: u64) -> Self {
        PropertyValue::Uint(u)
    }
}
impl From<f64> for PropertyValue {
    fn from(d: f64) -> Self {
        PropertyValue::Double(d)
    }
}
impl From<bool> for PropertyValue {
    fn from(b: bool) -> Self {
        PropertyValue::Bool(b)
    }
}
impl From<Duration> for PropertyValue {
    fn from(d: Duration) -> Self {
        PropertyValue::Duration(d)
    }
}
impl From<SystemTime> for PropertyValue {
    fn from(t: SystemTime) -> Self {
        PropertyValue::Timestamp(t)
    }
}

/// The properties of a plugin: a tree of top-level names (`node`, `xds`,
/// `source`, `destination`, `connection`, `request`, `upstream_peer`, ...).
///
/// `request.*` and `response.*` attributes that Envoy derives from the
/// stream (`request.path`, `request.url_path`, `request.host`,
/// `request.method`, `request.scheme`, `request.headers`, `request.id`,
/// `request.useragent`, `request.referer`, `request.query`,
/// `response.code`, `response.headers`, `response.trailers`) are computed
/// from the stream by the host unless the test sets them here.
/// `plugin_name`, `plugin_root_id` and `plugin_vm_id` come from
/// [`crate::PluginOptions`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Properties {
    pub(crate) root: Vec<(String, PropertyValue)>,
}

impl Properties {
    pub fn new() -> Self {
        Properties::default()
    }

    /// Sets the value at a dotted path (`destination.port`), creating maps
    /// on the way. Use [`Properties::with_path`] when a key contains a dot.
    pub fn with(self, dotted: &str, value: impl Into<PropertyValue>) -> Self {
        let parts: Vec<&str> = dotted.split('.').collect();
        self.with_path(&parts, value)
    }

    /// Sets the value at a path given part by part.
    pub fn with_path(mut self, path: &[&str], value: impl Into<PropertyValue>) -> Self {
        self.set_path(path, value.into());
        self
    }

    /// Sets the value at a path given part by part (in place).
    pub fn set_path(&mut self, path: &[&str], value: PropertyValue) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        set_in(&mut self.root, first, rest, value);
    }

    /// Istio's node metadata under `node.metadata` (and `node.id`,
    /// `node.cluster` when given).
    pub fn with_node_metadata(mut self, node: NodeMetadata) -> Self {
        if let Some(id) = &node.id {
            self.set_path(&["node", "id"], PropertyValue::string(id.as_str()));
        }
        if let Some(cluster) = &node.cluster {
            self.set_path(
                &["node", "cluster"],
                PropertyValue::string(cluster.as_str()),
            );
        }
        self.set_path(&["node", "metadata"], node.to_value());
        self
    }

    /// Istio's peer metadata of the upstream (`upstream_peer`).
    pub fn with_upstream_peer(mut self, peer: PeerMetadata) -> Self {
        self.set_path(&["upstream_peer"], peer.to_value());
        self
    }

    /// Istio's peer metadata of the downstream (`downstream_peer`).
    pub fn with_downstream_peer(mut self, peer: PeerMetadata) -> Self {
        self.set_path(&["downstream_peer"], peer.to_value());
        self
    }

    /// The value at a path, walking maps and lists like Envoy.
    pub fn get(&self, path: &[&[u8]]) -> Option<&PropertyValue> {
        let (first, rest) = path.split_first()?;
        let mut value = self
            .root
            .iter()
            .find(|(k, _)| k.as_bytes() == *first)
            .map(|(_, v)| v)?;
        for part in rest {
            value = value.child(part)?;
        }
        Some(value)
    }

    /// Whether a top-level name was set by the test.
    pub(crate) fn has_top(&self, name: &[u8]) -> bool {
        self.root.iter().any(|(k, _)| k.as_bytes() == name)
    }
}

fn set_in(map: &mut Vec<(String, PropertyValue)>, key: &str, rest: &[&str], value: PropertyValue) {
    let pos = map.iter().position(|(k, _)| k == key);
    let Some((next, tail)) = rest.split_first() else {
        match pos.and_then(|p| map.get_mut(p)) {
            Some(slot) => slot.1 = value,
            None => map.push((key.to_string(), value)),
        }
        return;
    };
    let idx = match pos {
        Some(p) => p,
        None => {
            map.push((key.to_string(), PropertyValue::Map(Vec::new())));
            map.len() - 1
        }
    };
    if let Some(slot) = map.get_mut(idx) {
        if !matches!(slot.1, PropertyValue::Map(_) | PropertyValue::Struct(_)) {
            slot.1 = PropertyValue::Map(Vec::new());
        }
        if let PropertyValue::Map(inner) | PropertyValue::Struct(inner) = &mut slot.1 {
            set_in(inner, next, tail, value);
        }
    }
}

/// Istio's proxy node metadata (the `metadata` Struct of Envoy's `Node`).
/// Fields left `None` are absent, as when istiod does not set them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeMetadata {
    /// `node.id`, e.g. `sidecar~10.1.2.3~web-6d4.prod~prod.svc.cluster.local`.
    pub id: Option<String>,
    /// `node.cluster`, e.g. `web.prod`.
    pub cluster: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub workload_name: Option<String>,
    pub cluster_id: Option<String>,
    pub istio_version: Option<String>,
    pub mesh_id: Option<String>,
    pub service_account: Option<String>,
    pub owner: Option<String>,
    /// `LABELS`, a Struct of strings.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Any other key under `node.metadata`.
    pub extra: Vec<(String, PropertyValue)>,
}

impl NodeMetadata {
    /// The value of `node.metadata`.
    pub fn to_value(&self) -> PropertyValue {
        let mut m = Vec::new();
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                m.push((k.to_string(), PropertyValue::string(v.as_str())));
            }
        };
        put("NAME", &self.name);
        put("NAMESPACE", &self.namespace);
        put("WORKLOAD_NAME", &self.workload_name);
        put("CLUSTER_ID", &self.cluster_id);
        put("ISTIO_VERSION", &self.istio_version);
        put("MESH_ID", &self.mesh_id);
        put("SERVICE_ACCOUNT", &self.service_account);
        put("OWNER", &self.owner);
        if !self.labels.is_empty() {
            m.push((
                "LABELS".to_string(),
                PropertyValue::string_map(self.labels.clone()),
            ));
        }
        m.extend(self.extra.iter().cloned());
        PropertyValue::Map(m)
    }
}

/// Istio's peer metadata as the `peer_metadata` filter exposes it to CEL
/// (`upstream_peer` / `downstream_peer`, istio/proxy
/// `extensions/common/metadata_object.h` field names). Deserializable so a
/// test file can state it directly (`policy-cli`'s `peer.upstream`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PeerMetadata {
    pub namespace: Option<String>,
    pub cluster: Option<String>,
    pub service: Option<String>,
    pub revision: Option<String>,
    pub app: Option<String>,
    pub version: Option<String>,
    pub workload: Option<String>,
    /// `deployment`, `pod`, `cronjob`, `job`, ...
    pub workload_type: Option<String>,
    pub name: Option<String>,
    pub identity: Option<String>,
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

impl PeerMetadata {
    /// The value of `upstream_peer` / `downstream_peer`: a Struct in a
    /// CelState, as Istio's peer metadata filters keep it.
    pub fn to_value(&self) -> PropertyValue {
        let mut m = Vec::new();
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                m.push((k.to_string(), PropertyValue::string(v.as_str())));
            }
        };
        put("namespace", &self.namespace);
        put("cluster", &self.cluster);
        put("service", &self.service);
        put("revision", &self.revision);
        put("app", &self.app);
        put("version", &self.version);
        put("workload", &self.workload);
        put("type", &self.workload_type);
        put("name", &self.name);
        put("identity", &self.identity);
        if !self.labels.is_empty() {
            m.push((
                "labels".to_string(),
                PropertyValue::string_map(self.labels.clone()),
            ));
        }
        PropertyValue::Struct(m)
    }
}

#[cfg(test)]
mod tests;
