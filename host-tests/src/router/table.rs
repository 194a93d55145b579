//! The route table a test hands the host: a subset of Envoy's
//! `RouteConfiguration` (`envoy.config.route.v3`), with Envoy's field names
//! in snake_case, deserialisable from JSON or YAML. Regexes are plain
//! strings (Envoy's `safe_regex.regex`); a direct response body is a plain
//! string (Envoy's `body.inline_string`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Envoy's `RouteConfiguration`: the virtual hosts of one listener.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteTable {
    /// The route configuration's name (Istio names an outbound one after
    /// its port, e.g. `"9080"`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub virtual_hosts: Vec<VirtualHost>,
    /// Envoy's `ignore_port_in_host_matching`: the port of `:authority` is
    /// ignored when a virtual host is looked up (Istio sets it on sidecar
    /// outbound routes).
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_port_in_host_matching: bool,
}

/// Envoy's `VirtualHost`: domains (exact, `*.suffix`, `prefix*` or `*`)
/// and ordered routes, the first match wins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualHost {
    pub name: String,
    pub domains: Vec<String>,
    #[serde(default)]
    pub routes: Vec<Route>,
}

/// Envoy's `Route`: a match and exactly one of `route`, `redirect`,
/// `direct_response`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(rename = "match")]
    pub matcher: RouteMatch,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<RedirectAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_response: Option<DirectResponseAction>,
    /// Request headers the router adds (Envoy's `request_headers_to_add`),
    /// applied after the filter chain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_headers_to_add: Vec<HeaderValueOption>,
    /// Request headers the router removes (`request_headers_to_remove`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_headers_to_remove: Vec<String>,
    /// Response header edits, carried for the test to read back
    /// (`response_headers_to_add` / `_remove`; not applied by the host).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_headers_to_add: Vec<HeaderValueOption>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_headers_to_remove: Vec<String>,
    /// Per-filter configuration carried as data (Istio puts `fault` and
    /// `cors` policies here), keyed by filter name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub typed_per_filter_config: BTreeMap<String, serde_json::Value>,
}

/// Envoy's `RouteMatch`: one path specifier (none means `prefix: "/"`),
/// header and query parameter matchers, all ANDed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// RE2 syntax, matched against the whole path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_separated_prefix: Option<String>,
    /// Applies to `prefix`, `path` and `path_separated_prefix` (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_sensitive: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderMatcher>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query_parameters: Vec<QueryParameterMatcher>,
}

/// Envoy's `HeaderMatcher` (its `string_match` flattened): at most one of
/// `exact`, `prefix`, `suffix`, `contains`, `safe_regex`, `present`; none
/// means "present". Pseudo-headers (`:method`, `:authority`, ...) match too.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderMatcher {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_regex: Option<String>,
    /// `string_match.ignore_case` (not for `safe_regex`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_case: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub invert_match: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub treat_missing_header_as_empty: bool,
}

/// Envoy's `QueryParameterMatcher` (`string_match` flattened), or
/// `present`; none means "present".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryParameterMatcher {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_regex: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_case: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
}

/// Envoy's `RouteAction`: a cluster or weighted clusters, rewrites applied
/// by the router after the filter chain, and options carried as data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteAction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weighted_clusters: Option<WeightedClusters>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_rewrite_literal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_rewrite: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex_rewrite: Option<RegexRewrite>,
    /// Carried: Envoy's route timeout as a duration string (`"10s"`, `"0s"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Carried: Envoy's `retry_policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<serde_json::Value>,
    /// Carried: Envoy's `request_mirror_policies`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_mirror_policies: Vec<serde_json::Value>,
}

/// Envoy's `WeightedCluster`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightedClusters {
    pub clusters: Vec<ClusterWeight>,
}

/// One cluster of a weighted split; its own `host_rewrite_literal` wins
/// over the route's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterWeight {
    pub name: String,
    pub weight: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_rewrite_literal: Option<String>,
}

/// Envoy's `RegexMatchAndSubstitute`: `\1`-style groups, every match
/// of the path (without the query) replaced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexRewrite {
    pub pattern: String,
    pub substitution: String,
}

/// Envoy's `RedirectAction`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectAction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme_redirect: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub https_redirect: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_redirect: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_redirect: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_redirect: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_rewrite: Option<String>,
    /// 301 (Envoy's default `MOVED_PERMANENTLY`), 302, 303, 307 or 308.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_code: Option<u32>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub strip_query: bool,
}

/// Envoy's `DirectResponseAction`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectResponseAction {
    pub status: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// Envoy's `HeaderValueOption` flattened: `append: false` overwrites.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderValueOption {
    pub key: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub append: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}
