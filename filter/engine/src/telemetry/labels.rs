//! Istio's standard request labels, computed from Envoy attributes, node
//! metadata and peer metadata the way Istio's stats filter computes them
//! (istio/proxy `source/extensions/filters/http/istio_stats/istio_stats.cc`,
//! `populatePeerInfo`), with `unknown` for what is absent.

use super::Mode;
use super::cel::{AttrType, Attributes, HeaderMap, Value, attributes::decode};
use crate::decision::{Decision, HeaderOp};

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
    /// Every field `unknown`: a proxy whose node metadata is not read yet.
    pub fn unknown() -> NodeInfo {
        let unknown = || UNKNOWN.to_string();
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

    /// Every field as a label value ([`super::sanitize`]d), once for all
    /// the requests of a VM.
    pub fn sanitized(&self) -> NodeInfo {
        let s = |v: &String| super::sanitize(v);
        NodeInfo {
            workload: s(&self.workload),
            namespace: s(&self.namespace),
            app: s(&self.app),
            version: s(&self.version),
            canonical_service: s(&self.canonical_service),
            canonical_revision: s(&self.canonical_revision),
            cluster: s(&self.cluster),
        }
    }

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

/// What the filter knows of a request once its request headers went
/// through: the decision's `policy_rule` and `policy_destination`, and
/// whether the request is gRPC when the filter saw its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decided<'a> {
    pub policy_rule: &'a str,
    pub policy_destination: &'a str,
    /// `request_protocol` as Istio's stats filter decides it: from the
    /// request headers when they pass through the filter chain (istio/proxy
    /// `source/extensions/filters/http/istio_stats/istio_stats.cc`,
    /// `decodeHeaders`: `is_grpc_`), not when the request is logged; see
    /// [`request_is_grpc`]. `None`: not known, and `content-type` is read
    /// at log time.
    pub grpc: Option<bool>,
}

impl<'a> Decided<'a> {
    /// What the filter knew of a request: its decision (`None`: the request
    /// headers never went through it, so the labels are `unknown` and
    /// `content-type` is read at log time) and `grpc_read` ([`read_grpc`]
    /// of the headers as read).
    pub fn of(decision: Option<&'a Decision>, grpc_read: Option<bool>) -> Self {
        match decision {
            Some(d) => Decided {
                policy_rule: &d.labels.policy_rule,
                policy_destination: &d.labels.policy_destination,
                grpc: Some(request_is_grpc(grpc_read, d)),
            },
            None => Decided::from((UNKNOWN, UNKNOWN)),
        }
    }
}

impl<'a> From<(&'a str, &'a str)> for Decided<'a> {
    /// The decision's two labels; `content-type` read at log time.
    fn from((policy_rule, policy_destination): (&'a str, &'a str)) -> Self {
        Decided {
            policy_rule,
            policy_destination,
            grpc: None,
        }
    }
}

/// Whether a `content-type` makes a request gRPC (`request_protocol`
/// `grpc`, and `grpc_response_status` reported).
fn grpc_content_type(value: &str) -> bool {
    value.starts_with("application/grpc")
}

/// The request's first `content-type` among `headers` as the filter read
/// them (Envoy hands header names over in lower case): `None` when absent,
/// else whether it is gRPC (for [`request_is_grpc`]).
pub fn read_grpc(headers: &[(String, String)]) -> Option<bool> {
    headers
        .iter()
        .find(|(name, _)| name == "content-type")
        .map(|(_, value)| grpc_content_type(value))
}

/// Whether the request is gRPC with its headers as the filter leaves them
/// (what a log-time `content-type` read answers unless a later filter
/// edits it): `read` ([`read_grpc`] of the headers as read), then the
/// `content-type` edits of `decision` in order, as [`Decision::apply`]
/// makes them (none when it answers locally): a set gives the first value,
/// an add gives one only when there was none (Envoy appends to an inline
/// header, and the host adds an entry after it: the first value's prefix
/// stays), a removal leaves none.
pub fn request_is_grpc(read: Option<bool>, decision: &Decision) -> bool {
    let mut first = read;
    if decision.local_response.is_none() {
        for op in &decision.request_headers {
            match op {
                HeaderOp::Set { name, value } if &**name == "content-type" => {
                    first = Some(grpc_content_type(value));
                }
                HeaderOp::Add { name, value } if &**name == "content-type" => {
                    first = first.or(Some(grpc_content_type(value)));
                }
                HeaderOp::Remove { name } if &**name == "content-type" => {
                    first = None;
                }
                _ => {}
            }
        }
    }
    first.unwrap_or(false)
}

/// The standard label values for one request, in [`STANDARD_LABELS`] order.
pub fn standard(
    mode: Mode,
    node: &NodeInfo,
    attrs: &dyn Attributes,
    policy_rule: &str,
    policy_destination: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    standard_into(
        mode,
        node,
        attrs,
        policy_rule,
        policy_destination,
        u32::MAX,
        &mut out,
    );
    out
}

/// Where the peer's and the proxy's own workload labels go: the `source_*`
/// and the `destination_*` slots of [`STANDARD_LABELS`] (workload,
/// namespace, principal, app, version, canonical service, canonical
/// revision, cluster), swapped by the reporter mode.
const SOURCE_SLOTS: [usize; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
const DESTINATION_SLOTS: [usize; 8] = [9, 10, 11, 12, 13, 17, 18, 19];
const DESTINATION_WORKLOAD_NAMESPACE: usize = 10;
const DESTINATION_SERVICE: usize = 14;
const DESTINATION_SERVICE_NAME: usize = 15;
const DESTINATION_SERVICE_NAMESPACE: usize = 16;
const REQUEST_PROTOCOL: usize = 20;
const RESPONSE_CODE: usize = 21;
const GRPC_RESPONSE_STATUS: usize = 22;
const RESPONSE_FLAGS: usize = 23;
const CONNECTION_SECURITY_POLICY: usize = 24;

/// The standard labels whose value depends only on the mode and the
/// [`NodeInfo`] (bit `i` for `STANDARD_LABELS[i]`): the reporter and the
/// proxy's own workload side but its principal.
pub(crate) fn node_only(mode: Mode) -> u32 {
    let local = if mode == Mode::Server {
        DESTINATION_SLOTS
    } else {
        SOURCE_SLOTS
    };
    let [
        workload,
        ns,
        _principal,
        app,
        version,
        service,
        revision,
        cluster,
    ] = local;
    let mut mask = (1 << 0)
        | (1 << workload)
        | (1 << ns)
        | (1 << app)
        | (1 << version)
        | (1 << service)
        | (1 << revision)
        | (1 << cluster);
    if mode == Mode::Server {
        mask |= 1 << DESTINATION_SERVICE_NAMESPACE;
    }
    mask
}

/// [`standard`] into `out`, reusing its strings (one request's labels are
/// built without allocating once the buffers have grown). Only the labels
/// whose bit is set in `needed` (bit `i` for `STANDARD_LABELS[i]`) are
/// computed, and only the attributes they depend on are read; the others
/// are left empty.
pub fn standard_into(
    mode: Mode,
    node: &NodeInfo,
    attrs: &dyn Attributes,
    policy_rule: &str,
    policy_destination: &str,
    needed: u32,
    out: &mut Vec<String>,
) {
    let decided = Decided::from((policy_rule, policy_destination));
    standard_decided(mode, node, attrs, decided, needed, out);
}

/// [`standard_into`] for a request the filter decided: `request_protocol`
/// from [`Decided::grpc`] when known (then `content-type` is not read).
pub(crate) fn standard_decided(
    mode: Mode,
    node: &NodeInfo,
    attrs: &dyn Attributes,
    decided: Decided<'_>,
    needed: u32,
    out: &mut Vec<String>,
) {
    let Decided {
        policy_rule,
        policy_destination,
        grpc,
    } = decided;
    out.resize_with(STANDARD_LABELS.len(), String::new);
    out.iter_mut().for_each(String::clear);
    // `destination_service_namespace` is a copy of `destination_workload_namespace`.
    let needed = if needed & (1 << DESTINATION_SERVICE_NAMESPACE) != 0 {
        needed | (1 << DESTINATION_WORKLOAD_NAMESPACE)
    } else {
        needed
    };
    let need = |slot: usize| slot < 32 && needed & (1 << slot) != 0;
    let server = mode == Mode::Server;
    let peer_root = if server {
        "downstream_peer"
    } else {
        "upstream_peer"
    };
    let tls_root = if server { "connection" } else { "upstream" };
    let (peer_slots, local_slots) = if server {
        (SOURCE_SLOTS, DESTINATION_SLOTS)
    } else {
        (DESTINATION_SLOTS, SOURCE_SLOTS)
    };
    let [
        p_workload,
        p_ns,
        p_principal,
        p_app,
        p_version,
        p_service,
        p_revision,
        p_cluster,
    ] = peer_slots;
    let [
        l_workload,
        l_ns,
        l_principal,
        l_app,
        l_version,
        l_service,
        l_revision,
        l_cluster,
    ] = local_slots;

    // The peer's side: a field into its slot, or `default` (nothing at all
    // when no plan needs the slot).
    let peer = |f: &str, slot: usize, default: &str, out: &mut Vec<String>| {
        if need(slot) && !read_str(attrs, &[peer_root, f], slot, out) {
            set(out, slot, default);
        }
    };
    peer("workload", p_workload, UNKNOWN, out);
    let security_needed = server && need(CONNECTION_SECURITY_POLICY);
    let peer_san = (need(p_principal) || need(p_ns) || security_needed)
        && read_str(
            attrs,
            &[tls_root, "uri_san_peer_certificate"],
            p_principal,
            out,
        );
    let san_ns = out
        .get(p_principal)
        .filter(|_| peer_san)
        .and_then(|p| san_namespace(p))
        .map(str::to_string);
    match san_ns {
        Some(ns) => {
            set(out, p_ns, &ns);
        }
        None => peer("namespace", p_ns, UNKNOWN, out),
    }
    or_default(peer_san, p_principal, UNKNOWN, out);
    peer("app", p_app, UNKNOWN, out);
    peer("version", p_version, UNKNOWN, out);
    peer("service", p_service, UNKNOWN, out);
    peer("revision", p_revision, "latest", out);
    peer("cluster", p_cluster, UNKNOWN, out);

    // The proxy's own side.
    set(out, l_workload, &node.workload);
    set(out, l_ns, &node.namespace);
    let local_san = (need(l_principal) || security_needed)
        && read_str(
            attrs,
            &[tls_root, "uri_san_local_certificate"],
            l_principal,
            out,
        );
    or_default(local_san, l_principal, UNKNOWN, out);
    set(out, l_app, &node.app);
    set(out, l_version, &node.version);
    set(out, l_service, &node.canonical_service);
    set(out, l_revision, &node.canonical_revision);
    set(out, l_cluster, &node.cluster);
    let dst_ns = out
        .get(DESTINATION_WORKLOAD_NAMESPACE)
        .cloned()
        .unwrap_or_default();
    set(out, DESTINATION_SERVICE_NAMESPACE, &dst_ns);

    // Destination service: the host of an Istio outbound cluster name
    // (`outbound|9080|v1|reviews.prod.svc.cluster.local`), else the Host
    // header (Istio's host-header fallback).
    let service_needed = need(DESTINATION_SERVICE) || need(DESTINATION_SERVICE_NAME);
    let cluster = service_needed
        .then(|| attrs.property(&["xds", "cluster_name"]))
        .flatten();
    let cluster = cluster.as_deref().map(String::from_utf8_lossy);
    let cluster_host = cluster.as_deref().and_then(|c| {
        let mut parts = c.split('|');
        match (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) {
            (Some(_), Some(_), Some(_), Some(host), None) if !host.is_empty() => Some(host),
            _ => None,
        }
    });

    if !service_needed {
    } else if let Some(h) = cluster_host {
        set(out, DESTINATION_SERVICE, h);
        set(
            out,
            DESTINATION_SERVICE_NAME,
            h.split('.').next().unwrap_or(h),
        );
    } else {
        let host_header = attrs.header(HeaderMap::Request, ":authority");
        let service = match host_header.as_deref() {
            Some(h) if !h.is_empty() => h,
            _ if server => node.canonical_service.as_str(),
            _ => UNKNOWN,
        };
        set(out, DESTINATION_SERVICE, service);
        set(out, DESTINATION_SERVICE_NAME, service);
    }

    let grpc = (need(REQUEST_PROTOCOL) || need(GRPC_RESPONSE_STATUS))
        && grpc.unwrap_or_else(|| {
            attrs
                .header(HeaderMap::Request, "content-type")
                .is_some_and(|c| grpc_content_type(&c))
        });
    set(out, 0, if server { "destination" } else { "source" });
    set(out, REQUEST_PROTOCOL, if grpc { "grpc" } else { "http" });
    // The `:status` the client got, else Envoy's `response.code` (a reset
    // stream has no response headers); `0` when there is neither, as Istio.

    if !need(RESPONSE_CODE) {
    } else if let Some(status) = attrs.header(HeaderMap::Response, ":status") {
        set(out, 21, &status);
    } else {
        set_int(out, 21, int(attrs, &["response", "code"]).unwrap_or(0));
    }

    if grpc && need(GRPC_RESPONSE_STATUS) {
        if let Some(c) = int(attrs, &["response", "grpc_status"]) {
            set_int(out, 22, c);
        } else if let Some(s) = attrs
            .header(HeaderMap::ResponseTrailers, "grpc-status")
            .or_else(|| attrs.header(HeaderMap::Response, "grpc-status"))
        {
            set(out, 22, &s);
        }
    }

    match need(RESPONSE_FLAGS)
        .then(|| int(attrs, &["response", "flags"]))
        .flatten()
    {
        Some(bits) => {
            if let Some(slot) = out.get_mut(23) {
                write_response_flags(bits, slot);
            }
        }
        None => {
            set(out, 23, "-");
        }
    }
    let security = match mode {
        Mode::Server if peer_san && local_san => "mutual_tls",
        Mode::Server => "none",
        Mode::Client => UNKNOWN,
    };
    set(out, 24, security);
    set(out, 25, policy_rule);
    set(out, 26, policy_destination);
}

/// Appends `value` to label `slot`; returns true.
fn set(out: &mut [String], slot: usize, value: &str) -> bool {
    if let Some(s) = out.get_mut(slot) {
        s.push_str(value);
    }
    true
}

fn set_int(out: &mut [String], slot: usize, value: i64) {
    if let Some(s) = out.get_mut(slot) {
        use std::fmt::Write;
        let _ = write!(s, "{value}");
    }
}

/// Sets label `slot` to `default` unless `present`.
fn or_default(present: bool, slot: usize, default: &str, out: &mut [String]) {
    if !present {
        set(out, slot, default);
    }
}

/// Writes a non-empty string property into label `slot` (which is empty);
/// false when absent or empty.
fn read_str(attrs: &dyn Attributes, path: &[&str], slot: usize, out: &mut [String]) -> bool {
    let Some(bytes) = attrs.property(path) else {
        return false;
    };
    if bytes.is_empty() {
        return false;
    }
    set(out, slot, &String::from_utf8_lossy(&bytes))
}

/// Envoy's response flags bitmask (`response.flags`) as its short string,
/// comma-separated in bit order, `-` for none, as Istio's wasm extensions
/// print it (istio/proxy `extensions/common/util.cc`, `parseResponseFlag`;
/// bit values from envoy `envoy/stream_info/stream_info.h`). Bits past
/// `DnsResolutionFailed` are not printed.
pub fn response_flags(bits: i64) -> String {
    let mut out = String::new();
    write_response_flags(bits, &mut out);
    out
}

/// [`response_flags`] appended to `out`.
fn write_response_flags(bits: i64, out: &mut String) {
    const FLAGS: [&str; 27] = [
        "LH", "UH", "UT", "LR", "UR", "UF", "UC", "UO", "NR", "DI", "FI", "RL", "UAEX", "RLSE",
        "DC", "URX", "SI", "IH", "DPE", "UMSDR", "RFCF", "NFCF", "DT", "UPE", "NC", "OM", "DF",
    ];
    let start = out.len();
    for (i, name) in FLAGS.iter().enumerate() {
        if bits & (1_i64 << i) != 0 {
            if out.len() > start {
                out.push(',');
            }
            out.push_str(name);
        }
    }
    if out.len() == start {
        out.push('-');
    }
}
