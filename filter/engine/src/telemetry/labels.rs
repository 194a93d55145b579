//! Istio's standard request labels, computed from Envoy attributes, node
//! metadata and peer metadata the way Istio's stats filter computes them
//! (istio/proxy `source/extensions/filters/http/istio_stats/istio_stats.cc`,
//! `populatePeerInfo`), with `unknown` for what is absent.

use std::borrow::Cow;

use super::Mode;
use super::cel::{AttrType, Attributes, HeaderMap, Value, attributes::decode};

/// The standard labels in Istio's order, then meshpolicy's two.
pub const STANDARD_LABELS: [&str; 27] = [
    "reporter",
    "source_workload",
    "source_workload_namespace",
    "source_principal",
    "source_app",
    "source_version",
    "source_canonical_service",
    "source_canonical_revision",
    "source_cluster",
    "destination_workload",
    "destination_workload_namespace",
    "destination_principal",
    "destination_app",
    "destination_version",
    "destination_service",
    "destination_service_name",
    "destination_service_namespace",
    "destination_canonical_service",
    "destination_canonical_revision",
    "destination_cluster",
    "request_protocol",
    "response_code",
    "grpc_response_status",
    "response_flags",
    "connection_security_policy",
    "policy_rule",
    "policy_destination",
];

const UNKNOWN: &str = "unknown";

/// What this proxy knows about itself (node metadata), read once per VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub workload: String,
    pub namespace: String,
    pub app: String,
    pub version: String,
    pub canonical_service: String,
    pub canonical_revision: String,
    pub cluster: String,
}

impl NodeInfo {
    /// Reads `node.metadata` (`WORKLOAD_NAME`, `NAMESPACE`, `CLUSTER_ID`,
    /// `LABELS`) through `attrs`.
    pub fn read(attrs: &dyn Attributes) -> NodeInfo {
        let meta = |path: &[&str]| {
            let mut full = vec!["node", "metadata"];
            full.extend_from_slice(path);
            string(attrs, &full).unwrap_or_else(|| UNKNOWN.to_string())
        };
        NodeInfo {
            workload: meta(&["WORKLOAD_NAME"]),
            namespace: meta(&["NAMESPACE"]),
            app: meta(&["LABELS", "app"]),
            version: meta(&["LABELS", "version"]),
            canonical_service: meta(&["LABELS", "service.istio.io/canonical-name"]),
            canonical_revision: meta(&["LABELS", "service.istio.io/canonical-revision"]),
            cluster: meta(&["CLUSTER_ID"]),
        }
    }
}

fn string(attrs: &dyn Attributes, path: &[&str]) -> Option<String> {
    let bytes = attrs.property(path)?;
    match decode(AttrType::String, &bytes)? {
        Value::Str(s) if !s.is_empty() => Some(s.into_owned()),
        _ => None,
    }
}

fn int(attrs: &dyn Attributes, path: &[&str]) -> Option<i64> {
    match decode(AttrType::Int, &attrs.property(path)?)? {
        Value::Int(i) => Some(i),
        _ => None,
    }
}

/// The reporter mode of the listener (`xds.listener_direction`: 1 inbound =
/// SERVER, 2 outbound = CLIENT; Istio's stats filter defaults to client).
pub fn mode(attrs: &dyn Attributes) -> Mode {
    match int(attrs, &["xds", "listener_direction"]) {
        Some(1) => Mode::Server,
        _ => Mode::Client,
    }
}

/// The namespace in a SPIFFE principal `<domain>/ns/<ns>/sa/<sa>`.
fn san_namespace(principal: &str) -> Option<&str> {
    let rest = principal.split_once("/ns/")?.1;
    Some(rest.split('/').next().unwrap_or(rest)).filter(|s| !s.is_empty())
}

/// The standard label values for one request, in [`STANDARD_LABELS`] order.
pub fn standard(
    mode: Mode,
    node: &NodeInfo,
    attrs: &dyn Attributes,
    policy_rule: &str,
    policy_destination: &str,
) -> Vec<String> {
    let peer_root = if mode == Mode::Server {
        "downstream_peer"
    } else {
        "upstream_peer"
    };
    let peer = |f: &str| string(attrs, &[peer_root, f]);
    let (tls_root, _) = if mode == Mode::Server {
        ("connection", ())
    } else {
        ("upstream", ())
    };
    let peer_san = string(attrs, &[tls_root, "uri_san_peer_certificate"]);
    let local_san = string(attrs, &[tls_root, "uri_san_local_certificate"]);
    let peer_ns = peer_san
        .as_deref()
        .and_then(san_namespace)
        .map(str::to_string)
        .or_else(|| peer("namespace"));
    let or_unknown = |v: Option<String>| v.unwrap_or_else(|| UNKNOWN.to_string());

    // Destination service: the host of an Istio outbound cluster name
    // (`outbound|9080|v1|reviews.prod.svc.cluster.local`), else the Host
    // header (Istio's host-header fallback).
    let cluster_host = string(attrs, &["xds", "cluster_name"]).and_then(|c| {
        let parts: Vec<&str> = c.split('|').collect();
        match parts.as_slice() {
            [_, _, _, host] if !host.is_empty() => Some((*host).to_string()),
            _ => None,
        }
    });
    let host_header = attrs
        .header(HeaderMap::Request, ":authority")
        .map(Cow::into_owned);
    let (service, service_name) = match (cluster_host, host_header) {
        (Some(h), _) => {
            let short = h.split('.').next().unwrap_or(&h).to_string();
            (h, short)
        }
        (None, Some(h)) if !h.is_empty() => (h.clone(), h),
        _ if mode == Mode::Server => (
            node.canonical_service.clone(),
            node.canonical_service.clone(),
        ),
        _ => (UNKNOWN.to_string(), UNKNOWN.to_string()),
    };

    let grpc = attrs
        .header(HeaderMap::Request, "content-type")
        .is_some_and(|c| c.starts_with("application/grpc"));
    // The `:status` the client got, else Envoy's `response.code` (a reset
    // stream has no response headers); `0` when there is neither, as Istio.
    let response_code = attrs
        .header(HeaderMap::Response, ":status")
        .map(Cow::into_owned)
        .or_else(|| int(attrs, &["response", "code"]).map(|c| c.to_string()))
        .unwrap_or_else(|| "0".to_string());
    let grpc_status = if grpc {
        int(attrs, &["response", "grpc_status"])
            .map(|c| c.to_string())
            .or_else(|| {
                attrs
                    .header(HeaderMap::ResponseTrailers, "grpc-status")
                    .map(Cow::into_owned)
            })
            .or_else(|| {
                attrs
                    .header(HeaderMap::Response, "grpc-status")
                    .map(Cow::into_owned)
            })
            .unwrap_or_default()
    } else {
        String::new()
    };
    let flags = int(attrs, &["response", "flags"]).map_or_else(|| "-".to_string(), response_flags);
    let security = match mode {
        Mode::Server if peer_san.is_some() && local_san.is_some() => "mutual_tls",
        Mode::Server => "none",
        Mode::Client => UNKNOWN,
    };

    let (src, dst): ([String; 8], [String; 5]) = match mode {
        Mode::Server => (
            [
                or_unknown(peer("workload")),
                or_unknown(peer_ns.clone()),
                or_unknown(peer_san.clone()),
                or_unknown(peer("app")),
                or_unknown(peer("version")),
                or_unknown(peer("service")),
                peer("revision").unwrap_or_else(|| "latest".to_string()),
                or_unknown(peer("cluster")),
            ],
            [
                node.workload.clone(),
                node.namespace.clone(),
                or_unknown(local_san.clone()),
                node.app.clone(),
                node.version.clone(),
            ],
        ),
        Mode::Client => (
            [
                node.workload.clone(),
                node.namespace.clone(),
                or_unknown(local_san.clone()),
                node.app.clone(),
                node.version.clone(),
                node.canonical_service.clone(),
                node.canonical_revision.clone(),
                node.cluster.clone(),
            ],
            [
                or_unknown(peer("workload")),
                or_unknown(peer_ns.clone()),
                or_unknown(peer_san.clone()),
                or_unknown(peer("app")),
                or_unknown(peer("version")),
            ],
        ),
    };
    let (dst_ns, dst_canon, dst_rev, dst_cluster) = match mode {
        Mode::Server => (
            node.namespace.clone(),
            node.canonical_service.clone(),
            node.canonical_revision.clone(),
            node.cluster.clone(),
        ),
        Mode::Client => (
            or_unknown(peer_ns),
            or_unknown(peer("service")),
            peer("revision").unwrap_or_else(|| "latest".to_string()),
            or_unknown(peer("cluster")),
        ),
    };
    let reporter = if mode == Mode::Server {
        "destination"
    } else {
        "source"
    };
    let mut out = Vec::with_capacity(STANDARD_LABELS.len());
    out.push(reporter.to_string());
    out.extend(src);
    out.extend(dst);
    out.extend([
        service,
        service_name,
        dst_ns,
        dst_canon,
        dst_rev,
        dst_cluster,
    ]);
    out.push(if grpc { "grpc" } else { "http" }.to_string());
    out.extend([response_code, grpc_status, flags, security.to_string()]);
    out.push(policy_rule.to_string());
    out.push(policy_destination.to_string());
    out
}

/// Envoy's response flags bitmask (`response.flags`) as its short string,
/// comma-separated in bit order, `-` for none, as Istio's wasm extensions
/// print it (istio/proxy `extensions/common/util.cc`, `parseResponseFlag`;
/// bit values from envoy `envoy/stream_info/stream_info.h`). Bits past
/// `DnsResolutionFailed` are not printed.
pub fn response_flags(bits: i64) -> String {
    const FLAGS: [&str; 27] = [
        "LH", "UH", "UT", "LR", "UR", "UF", "UC", "UO", "NR", "DI", "FI", "RL", "UAEX", "RLSE",
        "DC", "URX", "SI", "IH", "DPE", "UMSDR", "RFCF", "NFCF", "DT", "UPE", "NC", "OM", "DF",
    ];
    let names: Vec<&str> = FLAGS
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1_i64 << i) != 0)
        .map(|(_, n)| *n)
        .collect();
    if names.is_empty() {
        "-".to_string()
    } else {
        names.join(",")
    }
}
