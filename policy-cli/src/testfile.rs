//! The test-file format (SPEC §3): cases with a request, the proxy's node
//! and peer metadata, and what Envoy should do after the filter.
//!
//! ```yaml
//! node: {namespace: prod, labels: {app: productpage}}   # defaults for every case
//! cases:
//!   - name: legacy catalog goes to v2
//!     request: {method: GET, path: /wpcatalog/x, headers: {x-user-id: "7"}}
//!     expect:
//!       path: /newcatalog/x
//!       subset: v2
//!       headers: {x-meshpolicy-subset: v2, x-debug: null}   # null: absent
//!       metrics:
//!         - {name: meshpolicy_requests_total, labels: {policy_rule: legacy-catalog}, value: 1}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::request::RequestSpec;
use crate::source::{Document, FieldPath};

/// A whole test file (one YAML document).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestFile {
    /// Node metadata for every case that sets none.
    #[serde(default)]
    pub node: NodeMeta,
    #[serde(default)]
    pub peer: PeerMeta,
    /// Status the upstream answers forwarded requests with (default 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_status: Option<u32>,
    /// `:authority` of every case whose request names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// The mesh's services (the registry): each gets Istio's default route,
    /// and the policy's hosts their rendered VirtualServices; any other host
    /// goes to `PassthroughCluster`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<crate::routes::Service>,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub request: RequestSpec,
    /// Overrides the file's node metadata for this case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeMeta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<PeerMeta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_status: Option<u32>,
    /// A canary step: the rule's weights before and after
    /// (`{from: {v2: 20}, to: {v2: 30}}`), checked by `expect.moved`,
    /// `expect.movedBack` and `expect.shares` (on the `to` weights).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<crate::canary::Step>,
    #[serde(default)]
    pub expect: Expect,
}

/// The proxy's node metadata (`node.metadata`) and the destination port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeMeta {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Envoy's `destination.port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istio_version: Option<String>,
}

impl NodeMeta {
    /// What the engine reads from node metadata.
    pub fn source_info(&self) -> meshpolicy_engine::SourceInfo {
        meshpolicy_engine::SourceInfo {
            labels: self.labels.clone(),
            namespace: self.namespace.clone(),
        }
    }
}

/// Istio's peer metadata on each side of the proxy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PeerMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Peer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downstream: Option<Peer>,
}

/// One side's peer metadata: the host library's type, deserialized as is.
pub use host_tests::PeerMetadata as Peer;

/// What should happen; every field is optional and only what is given is
/// checked.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    /// What must NOT all hold (istio-config-validator's `wantMatch: false`):
    /// the case passes when at least one of these checks fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<Expect>>,
    /// Share of `keys` requests (generated sticky keys) per destination
    /// subset (or host): `{v1: 0.8, v2: 0.2}`, within `tolerance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares: Option<BTreeMap<String, f64>>,
    /// How far a share (or `moved`) may be off (default 0.01).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// Requests (keys) for `shares` and a `step` (default 10,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<usize>,
    /// With a `step`: the share of keys that change destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved: Option<f64>,
    /// With a `step`: keys that leave a destination whose weight rose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_back: Option<usize>,
    /// `:path` as the upstream sees it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `:authority` as the upstream sees it (after the route's host rewrite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// The upstream cluster Envoy's router picks
    /// (`outbound|9080|v2|reviews.prod.svc.cluster.local`, `PassthroughCluster`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The destination of that cluster; only the fields given are checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<DestinationExpect>,
    /// The subset of that cluster; `null` for none; a list for "one of"
    /// (an unsticky weighted split is random per request).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub subset: Option<SubsetExpect>,
    /// Request headers the upstream sees; `null` means absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Option<String>>,
    /// Response headers the client sees; `null` means absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_headers: BTreeMap<String, Option<String>>,
    /// The filter answers itself (redirect, directResponse, fault abort).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_response: Option<LocalExpect>,
    /// Metrics the request changes (counter increase, histogram samples).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricExpect>,
    /// The timeout of the route Envoy's router used (`2s`; `0s`: none),
    /// compared as durations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Its retry policy; only the fields given are checked; `null`: retries
    /// disabled (`attempts: 0`). A route without `retries` has Istio's
    /// default (2 attempts).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub retries: Option<Option<RetriesExpect>>,
    /// The one cluster it mirrors to; `null`: none.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub mirror: Option<Option<String>>,
    /// Every cluster it mirrors to, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirrors: Option<Vec<String>>,
    /// The fault filter's `fixedDelay` on it; `null`: no delay.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub delay: Option<Option<String>>,
    /// The CORS filter's policy on it (Istio's `corsPolicy`, compared
    /// whole); `null`: none.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub cors_policy: Option<Option<serde_json::Value>>,
}

/// A route's retry policy in Istio's terms.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetriesExpect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// Compared as a duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_try_timeout: Option<String>,
    /// Envoy's `retry_on` as the route has it (Istio moves status codes to
    /// `retriable_status_codes` and adds `retriable-status-codes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_on: Option<String>,
}

/// A destination as Istio names it; `subset: null` means none.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DestinationExpect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub subset: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum SubsetExpect {
    Null(()),
    One(String),
    OneOf(Vec<String>),
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalExpect {
    pub status: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// `null` means absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Option<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricExpect {
    /// The metric's name with its prefix (`meshpolicy_requests_total`).
    pub name: String,
    /// Labels it must carry; `null` means the label must be absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, Option<String>>,
    /// Counter increase, or number of histogram samples, during the case
    /// (summed over every label set that matches); default 1.
    #[serde(default = "one")]
    pub value: u64,
}

/// A field that is present is `Some` even when it is `null` (serde maps a
/// `null` to `None` for an `Option` otherwise).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

fn one() -> u64 {
    1
}

/// A test file read and typed; errors point at the field in the file.
pub fn parse(doc: &Document) -> Result<TestFile, Diagnostic> {
    let file: TestFile = doc.typed()?;
    if file.cases.is_empty() {
        return Err(doc.diag(
            Diagnostic::error(
                "empty-tests",
                "a test file needs at least one case in `cases`",
            ),
            &FieldPath::default().key("cases"),
        ));
    }
    for (i, case) in file.cases.iter().enumerate() {
        if !case.request.path.starts_with('/') {
            return Err(doc.diag(
                Diagnostic::error(
                    "wrong-type",
                    format!("path `{}` must start with `/`", case.request.path),
                ),
                &FieldPath::default()
                    .key("cases")
                    .index(i)
                    .key("request")
                    .key("path"),
            ));
        }
    }
    Ok(file)
}
