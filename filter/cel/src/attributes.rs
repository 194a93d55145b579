//! The Envoy attributes an expression may read, with their types, and the
//! [`Attributes`] trait through which the filter (property and header host
//! calls) or the CLI (a request description) supplies them.
//!
//! The vocabulary is Envoy's (envoy `docs/root/intro/arch_overview/advanced/attributes.rst`);
//! the binary encodings [`decode`] reads are the ones Envoy's wasm
//! `get_property` writes (envoy `source/extensions/common/wasm/context.cc`,
//! `serializeValue`): strings as raw bytes, integers as 8 little-endian
//! bytes, booleans as one byte.

use std::borrow::Cow;

/// The type of an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Int,
    UInt,
    Bool,
    /// A header map, only readable by key (`request.headers['x-tenant']`).
    Headers(HeaderMap),
    /// A string-to-string map (`upstream_peer.labels['app']`).
    StringMap,
}

/// Which header map a `Headers` attribute reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderMap {
    Request,
    Response,
    ResponseTrailers,
}

/// A value an expression computes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Double(f64),
    Str(Cow<'a, str>),
}

impl Value<'_> {
    /// The label text Istio prints for a value (envoy
    /// `source/extensions/filters/common/expr/evaluator.cc`, `print`).
    pub fn to_label(&self) -> String {
        match self {
            Value::Null => "null".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::Double(d) => d.to_string(),
            Value::Str(s) => s.to_string(),
        }
    }

    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::UInt(_) => "uint",
            Value::Double(_) => "double",
            Value::Str(_) => "string",
        }
    }
}

/// Where expressions read Envoy's attributes from.
///
/// `path` is the attribute path as Envoy's `get_property` takes it, e.g.
/// `["request", "host"]`, `["destination", "port"]`,
/// `["upstream_peer", "labels", "app"]`; the implementation returns the raw
/// bytes Envoy would return (see [`decode`]) or `None` when absent.
pub trait Attributes {
    fn property(&self, path: &[&str]) -> Option<Cow<'_, [u8]>>;
    /// A header by lower-case name, `None` when absent.
    fn header(&self, map: HeaderMap, name: &str) -> Option<Cow<'_, str>>;
    /// [`Self::property`] for a path already joined the way
    /// `proxy_get_property` takes it (segments separated by NUL), for a
    /// reader that makes the same reads on every request and keeps their
    /// paths joined: a host that reads by joined path answers it without
    /// joining again. By default the segments are split out and
    /// [`Self::property`] is asked.
    fn property_joined(&self, joined: &[u8]) -> Option<Cow<'_, [u8]>> {
        let text = std::str::from_utf8(joined).ok()?;
        let segments: Vec<&str> = text.split('\0').collect();
        self.property(&segments)
    }
    /// [`Self::header`]'s value as the bytes the host gave, for a reader
    /// that only compares them (a host answers without checking UTF-8).
    /// By default [`Self::header`]'s text.
    fn header_bytes(&self, map: HeaderMap, name: &str) -> Option<Cow<'_, [u8]>> {
        self.header(map, name).map(|v| match v {
            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        })
    }
}

/// Decodes the bytes Envoy's `get_property` returns for an attribute of type `ty`.
pub fn decode(ty: AttrType, bytes: &[u8]) -> Option<Value<'static>> {
    let int8 = || -> Option<[u8; 8]> { bytes.try_into().ok() };
    match ty {
        AttrType::String | AttrType::Headers(_) | AttrType::StringMap => Some(Value::Str(
            Cow::Owned(String::from_utf8_lossy(bytes).into_owned()),
        )),
        AttrType::Int => int8().map(|b| Value::Int(i64::from_le_bytes(b))),
        AttrType::UInt => int8().map(|b| Value::UInt(u64::from_le_bytes(b))),
        AttrType::Bool => bytes.first().map(|b| Value::Bool(*b != 0)),
    }
}

use AttrType::{Bool, Int, StringMap, UInt};
const S: AttrType = AttrType::String;

/// Envoy's attribute vocabulary (the part that has a scalar or map value),
/// plus Istio's peer metadata objects (istio/proxy
/// `extensions/common/metadata_object.h`).
pub(crate) const ATTRIBUTES: &[(&str, &[(&str, AttrType)])] = &[
    (
        "request",
        &[
            ("path", S),
            ("url_path", S),
            ("host", S),
            ("scheme", S),
            ("method", S),
            ("headers", AttrType::Headers(HeaderMap::Request)),
            ("referer", S),
            ("useragent", S),
            ("id", S),
            ("protocol", S),
            ("query", S),
            ("size", Int),
            ("total_size", Int),
        ],
    ),
    (
        "response",
        &[
            ("code", Int),
            ("code_details", S),
            ("flags", Int),
            ("grpc_status", Int),
            ("headers", AttrType::Headers(HeaderMap::Response)),
            ("trailers", AttrType::Headers(HeaderMap::ResponseTrailers)),
            ("size", Int),
            ("total_size", Int),
        ],
    ),
    ("source", &[("address", S), ("port", Int)]),
    ("destination", &[("address", S), ("port", Int)]),
    (
        "connection",
        &[
            ("id", UInt),
            ("mtls", Bool),
            ("requested_server_name", S),
            ("termination_details", S),
        ],
    ),
    (
        "upstream",
        &[
            ("address", S),
            ("port", Int),
            ("local_address", S),
            ("transport_failure_reason", S),
        ],
    ),
    (
        "xds",
        &[
            ("cluster_name", S),
            ("route_name", S),
            ("listener_direction", Int),
            ("filter_chain_name", S),
            ("virtual_host_name", S),
        ],
    ),
    ("upstream_peer", PEER),
    ("downstream_peer", PEER),
];

/// The TLS fields Envoy has for both ends of a request: of the downstream
/// connection under `connection`, of the upstream one under `upstream`.
const TLS: &[(&str, AttrType)] = &[
    ("tls_version", S),
    ("subject_local_certificate", S),
    ("subject_peer_certificate", S),
    ("dns_san_local_certificate", S),
    ("dns_san_peer_certificate", S),
    ("uri_san_local_certificate", S),
    ("uri_san_peer_certificate", S),
    ("sha256_peer_certificate_digest", S),
];

/// The roots that have the [`TLS`] fields besides their own.
const TLS_ROOTS: &[&str] = &["connection", "upstream"];

const PEER: &[(&str, AttrType)] = &[
    ("namespace", S),
    ("cluster", S),
    ("service", S),
    ("revision", S),
    ("app", S),
    ("version", S),
    ("workload", S),
    ("type", S),
    ("name", S),
    ("identity", S),
    ("labels", StringMap),
];

/// The fields of `root` with their types, its own first (none when `root`
/// is not one).
pub(crate) fn fields(root: &str) -> impl Iterator<Item = &'static (&'static str, AttrType)> {
    let own = ATTRIBUTES
        .iter()
        .filter(move |(r, _)| *r == root)
        .flat_map(|(_, fields)| fields.iter());
    let tls: &[(&str, AttrType)] = if TLS_ROOTS.contains(&root) { TLS } else { &[] };
    own.chain(tls.iter())
}

/// The type of `root.field`, `None` when Envoy has no such attribute.
pub(crate) fn lookup(root: &str, field: &str) -> Option<AttrType> {
    fields(root).find(|(f, _)| *f == field).map(|(_, t)| *t)
}

pub(crate) fn is_root(name: &str) -> bool {
    ATTRIBUTES.iter().any(|(r, _)| *r == name)
}
