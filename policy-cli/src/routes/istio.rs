//! One VirtualService, read from its JSON form, and its `http` routes
//! translated into Envoy routes as istio `route.go` does
//! (`BuildHTTPRoutesForVirtualService`, `sourceMatchHTTP`, `translateRoute`,
//! `applyHTTPRouteDestination`, `processDestination`,
//! `processWeightedDestination`, `ApplyRedirect`, `ApplyDirectResponse`,
//! `TranslateRouteMatch`, `translateHeaderMatch`, `translateQueryParamMatch`,
//! `TranslateHeadersOperations`, `GetDestinationCluster`, `IsCatchAllRoute`).

use host_tests::{
    ClusterWeight, DirectResponseAction, HeaderMatcher, HeaderValueOption, QueryParameterMatcher,
    RedirectAction, RegexRewrite, Route, RouteAction, RouteMatch, WeightedClusters,
};
use serde_json::{Map, Value, json};

use super::{Client, Ignored};

/// A VirtualService the translation cannot read, with the document and the
/// field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("virtual service `{name}` (document {doc}): `{field}`: {reason}")]
#[diagnostic(code(routes::invalid_virtual_service))]
pub struct RoutesError {
    /// 0-based index among the documents given.
    pub doc: usize,
    pub name: String,
    pub field: String,
    pub reason: String,
}

/// A VirtualService as the translation needs it.
#[derive(Debug, Clone)]
pub(super) struct VirtualService {
    doc: usize,
    pub name: String,
    pub namespace: String,
    /// `hosts`, short names resolved in the virtual service's namespace.
    pub hosts: Vec<String>,
    /// `gateways` is empty or names `mesh`.
    pub for_sidecars: bool,
    http: Vec<Value>,
    cluster_domain: String,
}

/// Istio's default `HTTPRetry` for outbound routes (mesh
/// `defaultHttpRetryPolicy` unset), as Envoy's `retry_policy`
/// (`retry.ConvertPolicy` / `DefaultPolicy`).
pub(super) fn default_retry_policy() -> Value {
    json!({
        "retry_on": "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
        "num_retries": 2,
        "retry_host_predicate": [{"name": "envoy.retry_host_predicates.previous_hosts"}],
        "host_selection_retry_max_attempts": 5
    })
}

impl VirtualService {
    pub(super) fn parse(
        doc: usize,
        v: &Value,
        default_namespace: &str,
        cluster_domain: &str,
    ) -> Result<VirtualService, RoutesError> {
        let name = v
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let err = |field: &str, reason: String| RoutesError {
            doc,
            name: name.clone(),
            field: field.to_string(),
            reason,
        };
        let api = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind != "VirtualService" || !api.starts_with("networking.istio.io/") {
            return Err(err(
                "kind",
                format!("`{api}` `{kind}` is not an Istio VirtualService"),
            ));
        }
        let namespace = v
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(default_namespace)
            .to_string();
        let spec = v
            .get("spec")
            .and_then(Value::as_object)
            .ok_or_else(|| err("spec", "a VirtualService needs a `spec` mapping".into()))?;
        let mut vs = VirtualService {
            doc,
            name: name.clone(),
            namespace,
            hosts: Vec::new(),
            for_sidecars: true,
            http: Vec::new(),
            cluster_domain: cluster_domain.to_string(),
        };
        let hosts = strings(spec.get("hosts"), "spec.hosts").map_err(|r| err("spec.hosts", r))?;
        if hosts.is_empty() {
            return Err(err(
                "spec.hosts",
                "a VirtualService needs at least one host".into(),
            ));
        }
        for (i, h) in hosts.iter().enumerate() {
            if h.is_empty() {
                return Err(err(
                    &format!("spec.hosts[{i}]"),
                    "a host may not be empty".into(),
                ));
            }
            let fqdn = vs.fqdn(h);
            vs.hosts.push(fqdn);
        }
        let gateways =
            strings(spec.get("gateways"), "spec.gateways").map_err(|r| err("spec.gateways", r))?;
        vs.for_sidecars = gateways.is_empty() || gateways.iter().any(|g| g == "mesh");
        vs.http = match spec.get("http") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(_) => return Err(err("spec.http", "expected a list".into())),
        };
        Ok(vs)
    }

    /// `v` as a mapping, else an error at `field`.
    fn mapping<'v>(
        &self,
        v: &'v Value,
        field: &str,
    ) -> Result<&'v Map<String, Value>, RoutesError> {
        v.as_object()
            .ok_or_else(|| self.err(field, "expected a mapping"))
    }

    fn err(&self, field: &str, reason: impl Into<String>) -> RoutesError {
        RoutesError {
            doc: self.doc,
            name: self.name.clone(),
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    pub(super) fn ignored(&self, host: &str, reason: &str) -> Ignored {
        Ignored {
            virtual_service: self.name.clone(),
            namespace: self.namespace.clone(),
            host: host.to_string(),
            reason: reason.to_string(),
        }
    }

    /// `ResolveShortnameToFQDN`: a name without a dot is
    /// `name.<namespace>.svc.<domain>`; anything else stays as written.
    fn fqdn(&self, host: &str) -> String {
        if host == "*" || host.contains('.') || host.contains(':') {
            host.to_string()
        } else {
            format!("{host}.{}.svc.{}", self.namespace, self.cluster_domain)
        }
    }

    /// `BuildHTTPRoutesForVirtualService` for a sidecar on `port`: one
    /// route per match entry, in order, none after a catch-all.
    pub(super) fn routes(&self, port: u16, client: &Client) -> Result<Vec<Route>, RoutesError> {
        let mut out = Vec::new();
        for (hi, http) in self.http.iter().enumerate() {
            let field = format!("spec.http[{hi}]");
            let http = self.mapping(http, &field)?;
            let matches = match http.get("match") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a.clone(),
                Some(_) => return Err(self.err(&format!("{field}.match"), "expected a list")),
            };
            let mut catchall = false;
            if matches.is_empty() {
                if let Some(r) = self.translate(&field, http, None, port, client)? {
                    out.push(r);
                }
                catchall = true;
            } else {
                for (mi, m) in matches.iter().enumerate() {
                    let mfield = format!("{field}.match[{mi}]");
                    let m = self.mapping(m, &mfield)?;
                    if let Some(r) =
                        self.translate(&field, http, Some((mfield.as_str(), m)), port, client)?
                    {
                        let is_catchall = is_catch_all(&r);
                        out.push(r);
                        if is_catchall {
                            catchall = true;
                            break;
                        }
                    }
                }
            }
            if catchall {
                break;
            }
        }
        Ok(out)
    }

    /// `translateRoute`: `None` when the entry's `port`, `gateways`,
    /// `sourceLabels` or `sourceNamespace` exclude this client and port.
    fn translate(
        &self,
        field: &str,
        http: &Map<String, Value>,
        m: Option<(&str, &Map<String, Value>)>,
        port: u16,
        client: &Client,
    ) -> Result<Option<Route>, RoutesError> {
        if let Some((mfield, m)) = m {
            if let Some(p) = m.get("port") {
                let p = p
                    .as_u64()
                    .ok_or_else(|| self.err(&format!("{mfield}.port"), "expected a port number"))?;
                if p != 0 && p != u64::from(port) {
                    return Ok(None);
                }
            }
            if !self.source_matches(mfield, m, client)? {
                return Ok(None);
            }
        }
        let http_name = http.get("name").and_then(Value::as_str).unwrap_or("");
        let name = match m.and_then(|(_, m)| m.get("name")).and_then(Value::as_str) {
            Some(mn) if !mn.is_empty() => format!("{http_name}.{mn}"),
            _ => http_name.to_string(),
        };
        let matcher = match m {
            Some((mfield, m)) => self.route_match(mfield, m)?,
            None => RouteMatch {
                prefix: Some("/".to_string()),
                ..RouteMatch::default()
            },
        };
        let mut route = Route {
            name,
            matcher,
            ..Route::default()
        };
        let mut authority = String::new();
        if let Some(h) = http.get("headers") {
            authority = self.header_operations(&format!("{field}.headers"), h, &mut route)?;
        }
        if let Some(redirect) = http.get("redirect") {
            route.redirect = Some(self.redirect(&format!("{field}.redirect"), redirect, port)?);
        } else if let Some(direct) = http.get("directResponse") {
            route.direct_response =
                Some(self.direct_response(&format!("{field}.directResponse"), direct)?);
        } else {
            route.route = Some(self.route_action(field, http, authority, port)?);
        }
        for (key, filter) in [
            ("fault", "envoy.filters.http.fault"),
            ("corsPolicy", "envoy.filters.http.cors"),
        ] {
            if let Some(v) = http.get(key) {
                route
                    .typed_per_filter_config
                    .insert(filter.to_string(), v.clone());
            }
        }
        Ok(Some(route))
    }

    /// `sourceMatchHTTP` for a sidecar: `gateways` must name `mesh`;
    /// `sourceLabels` must be a subset of the client's labels and
    /// `sourceNamespace` its namespace.
    fn source_matches(
        &self,
        field: &str,
        m: &Map<String, Value>,
        client: &Client,
    ) -> Result<bool, RoutesError> {
        let gateways = strings(m.get("gateways"), "gateways")
            .map_err(|r| self.err(&format!("{field}.gateways"), r))?;
        if !gateways.is_empty() {
            return Ok(gateways.iter().any(|g| g == "mesh"));
        }
        if let Some(labels) = m.get("sourceLabels") {
            let labels = self.mapping(labels, &format!("{field}.sourceLabels"))?;
            for (k, v) in labels {
                if client.labels.get(k).map(String::as_str) != v.as_str() {
                    return Ok(false);
                }
            }
        }
        Ok(match m.get("sourceNamespace").and_then(Value::as_str) {
            Some(ns) if !ns.is_empty() => client.namespace.as_deref() == Some(ns),
            _ => true,
        })
    }

    /// `TranslateRouteMatch`.
    fn route_match(&self, field: &str, m: &Map<String, Value>) -> Result<RouteMatch, RoutesError> {
        const KNOWN: &[&str] = &[
            "name",
            "uri",
            "scheme",
            "method",
            "authority",
            "headers",
            "withoutHeaders",
            "queryParams",
            "ignoreUriCase",
            "port",
            "sourceLabels",
            "sourceNamespace",
            "gateways",
            "statPrefix",
        ];
        if let Some(unknown) = m.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(self.err(
                &format!("{field}.{unknown}"),
                "not a field of an Istio HTTPMatchRequest",
            ));
        }
        let mut out = RouteMatch {
            prefix: Some("/".to_string()),
            ..RouteMatch::default()
        };
        for (key, invert) in [("headers", false), ("withoutHeaders", true)] {
            let Some(headers) = m.get(key) else {
                continue;
            };
            let headers = self.mapping(headers, &format!("{field}.{key}"))?;
            for (name, sm) in headers {
                let hfield = format!("{field}.{key}.{name}");
                if name.starts_with("@request.auth.claims") {
                    return Err(self.err(
                        &hfield,
                        "JWT claim matches need Envoy's dynamic metadata, which the route simulation does not have",
                    ));
                }
                let mut h = header_matcher(name, self.string_match(&hfield, sm)?);
                if invert {
                    h.invert_match = true;
                    // `treat_missing_header_as_empty` conflicts with `present_match`.
                    h.treat_missing_header_as_empty = h.present.is_none();
                }
                out.headers.push(h);
            }
        }
        out.headers.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(uri) = m.get("uri") {
            let ufield = format!("{field}.uri");
            match self.string_match(&ufield, uri)? {
                Some(StringMatch::Exact(p)) => {
                    out.prefix = None;
                    out.path = Some(p);
                }
                Some(StringMatch::Prefix(p)) => out.prefix = Some(p),
                Some(StringMatch::Regex(r)) => {
                    out.prefix = None;
                    out.safe_regex = Some(r);
                }
                None => {}
            }
        }
        let ignore_case = match m.get("ignoreUriCase") {
            None => false,
            Some(v) => v.as_bool().ok_or_else(|| {
                self.err(&format!("{field}.ignoreUriCase"), "expected true or false")
            })?,
        };
        out.case_sensitive = Some(!ignore_case);
        for (key, header) in [
            ("method", ":method"),
            ("authority", ":authority"),
            ("scheme", ":scheme"),
        ] {
            if let Some(sm) = m.get(key) {
                let sm = self.string_match(&format!("{field}.{key}"), sm)?;
                out.headers.push(header_matcher(header, sm));
            }
        }
        if let Some(params) = m.get("queryParams") {
            let params = self.mapping(params, &format!("{field}.queryParams"))?;
            for (name, sm) in params {
                let sm = self.string_match(&format!("{field}.queryParams.{name}"), sm)?;
                out.query_parameters.push(query_parameter_matcher(name, sm));
            }
        }
        Ok(out)
    }

    /// An Istio `StringMatch`; `None` for `{}` and for the regex `*`
    /// (`canBeConvertedToPresentMatch`).
    fn string_match(&self, field: &str, v: &Value) -> Result<Option<StringMatch>, RoutesError> {
        let m = v.as_object().ok_or_else(|| {
            self.err(
                field,
                "expected a mapping with `exact`, `prefix` or `regex`",
            )
        })?;
        let mut found = Vec::new();
        for (key, value) in m {
            let s = value
                .as_str()
                .ok_or_else(|| self.err(&format!("{field}.{key}"), "expected a string"))?
                .to_string();
            found.push(match key.as_str() {
                "exact" => StringMatch::Exact(s),
                "prefix" => StringMatch::Prefix(s),
                "regex" => StringMatch::Regex(s),
                other => {
                    return Err(self.err(
                        &format!("{field}.{other}"),
                        "a StringMatch has `exact`, `prefix` or `regex`",
                    ));
                }
            });
        }
        if found.len() > 1 {
            return Err(self.err(field, "set only one of `exact`, `prefix`, `regex`"));
        }
        Ok(match found.pop() {
            Some(StringMatch::Regex(r)) if r == "*" => None,
            other => other,
        })
    }

    /// `TranslateHeadersOperations`: request `set` (overwrite) and `add`
    /// (append), `remove`; `:authority`/`host` become the host rewrite.
    /// Returns the authority.
    fn header_operations(
        &self,
        field: &str,
        v: &Value,
        route: &mut Route,
    ) -> Result<String, RoutesError> {
        let mut authority = String::new();
        for dir in ["request", "response"] {
            let Some(ops) = v.get(dir) else {
                continue;
            };
            let dfield = format!("{field}.{dir}");
            let mut to_add = Vec::new();
            for (op, append) in [("set", false), ("add", true)] {
                let Some(map) = ops.get(op) else {
                    continue;
                };
                let map = self.mapping(map, &format!("{dfield}.{op}"))?;
                for (k, val) in map {
                    let val = val.as_str().ok_or_else(|| {
                        self.err(&format!("{dfield}.{op}.{k}"), "expected a string")
                    })?;
                    if k.eq_ignore_ascii_case(":authority") || k.eq_ignore_ascii_case("host") {
                        if dir == "request" && (authority.is_empty() || !append) {
                            authority = val.to_string();
                        }
                        continue;
                    }
                    if k.starts_with(':') {
                        continue;
                    }
                    to_add.push(HeaderValueOption {
                        key: k.to_ascii_lowercase(),
                        value: val.to_string(),
                        append,
                    });
                }
            }
            let remove: Vec<String> = strings(ops.get("remove"), "remove")
                .map_err(|r| self.err(&format!("{dfield}.remove"), r))?
                .into_iter()
                .filter(|k| !k.starts_with(':') && !k.eq_ignore_ascii_case("host"))
                .collect();
            if dir == "request" {
                route.request_headers_to_add.extend(to_add);
                route.request_headers_to_remove.extend(remove);
            } else {
                route.response_headers_to_add.extend(to_add);
                route.response_headers_to_remove.extend(remove);
            }
        }
        Ok(authority)
    }

    /// `applyHTTPRouteDestination`.
    fn route_action(
        &self,
        field: &str,
        http: &Map<String, Value>,
        mut authority: String,
        port: u16,
    ) -> Result<RouteAction, RoutesError> {
        let mut action = RouteAction {
            timeout: Some(
                http.get("timeout")
                    .and_then(Value::as_str)
                    .unwrap_or("0s")
                    .to_string(),
            ),
            ..RouteAction::default()
        };
        if let Some(rewrite) = http.get("rewrite") {
            let rfield = format!("{field}.rewrite");
            if let Some(re) = rewrite.get("uriRegexRewrite") {
                let get = |k: &str| {
                    re.get(k)
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .ok_or_else(|| {
                            self.err(
                                &format!("{rfield}.uriRegexRewrite.{k}"),
                                "expected a string",
                            )
                        })
                };
                action.regex_rewrite = Some(RegexRewrite {
                    pattern: get("match")?,
                    substitution: get("rewrite")?,
                });
            } else if let Some(uri) = rewrite.get("uri").and_then(Value::as_str)
                && !uri.is_empty()
            {
                action.prefix_rewrite = Some(uri.to_string());
            }
            if let Some(a) = rewrite.get("authority").and_then(Value::as_str)
                && !a.is_empty()
            {
                authority = a.to_string();
            }
        }
        if !authority.is_empty() {
            action.host_rewrite_literal = Some(authority);
        }
        // `TranslateRequestMirrorPolicy` / `MirrorPercent`: `mirrorPercentage`,
        // else the deprecated `mirrorPercent`, else 100; 0 mirrors nothing.
        if let Some(mirror) = http.get("mirror") {
            let percent = http
                .get("mirrorPercentage")
                .and_then(|p| p.get("value"))
                .and_then(Value::as_f64)
                .or_else(|| http.get("mirrorPercent").and_then(Value::as_f64))
                .unwrap_or(100.0);
            let cluster = self.cluster(&format!("{field}.mirror"), mirror, port)?;
            if percent > 0.0 {
                action
                    .request_mirror_policies
                    .push(json!({"cluster": cluster, "runtime_fraction": percent}));
            }
        }
        if let Some(Value::Array(mirrors)) = http.get("mirrors") {
            for (i, m) in mirrors.iter().enumerate() {
                let mfield = format!("{field}.mirrors[{i}]");
                let dest = m
                    .get("destination")
                    .ok_or_else(|| self.err(&format!("{mfield}.destination"), "missing"))?;
                let cluster = self.cluster(&format!("{mfield}.destination"), dest, port)?;
                let percent = m
                    .get("percentage")
                    .and_then(|p| p.get("value"))
                    .and_then(Value::as_f64)
                    .unwrap_or(100.0);
                if percent > 0.0 {
                    action
                        .request_mirror_policies
                        .push(json!({"cluster": cluster, "runtime_fraction": percent}));
                }
            }
        }
        action.retry_policy = match http.get("retries") {
            Some(r) => retry_policy(r),
            None => Some(default_retry_policy()),
        };
        let destinations = match http.get("route") {
            Some(Value::Array(a)) if !a.is_empty() => a,
            _ => {
                return Err(self.err(
                    field,
                    "an http route needs `route`, `redirect` or `directResponse`",
                ));
            }
        };
        if let [only] = destinations.as_slice() {
            let dfield = format!("{field}.route[0]");
            let dest = only
                .get("destination")
                .ok_or_else(|| self.err(&format!("{dfield}.destination"), "missing"))?;
            action.cluster = Some(self.cluster(&format!("{dfield}.destination"), dest, port)?);
            if action.host_rewrite_literal.is_none() {
                action.host_rewrite_literal = destination_authority(only);
            }
        } else {
            let mut clusters = Vec::new();
            for (i, d) in destinations.iter().enumerate() {
                let dfield = format!("{field}.route[{i}]");
                let weight = d.get("weight").and_then(Value::as_u64).unwrap_or(0);
                if weight == 0 {
                    continue;
                }
                let dest = d
                    .get("destination")
                    .ok_or_else(|| self.err(&format!("{dfield}.destination"), "missing"))?;
                clusters.push(ClusterWeight {
                    name: self.cluster(&format!("{dfield}.destination"), dest, port)?,
                    weight: u32::try_from(weight).map_err(|_| {
                        self.err(&format!("{dfield}.weight"), "a weight is at most 2^32-1")
                    })?,
                    host_rewrite_literal: destination_authority(d),
                });
            }
            if clusters.is_empty() {
                return Err(self.err(
                    &format!("{field}.route"),
                    "several destinations need a weight above 0",
                ));
            }
            action.weighted_clusters = Some(WeightedClusters { clusters });
        }
        Ok(action)
    }

    /// `GetDestinationCluster`: `outbound|<port>|<subset>|<fqdn>`, the port
    /// being the destination's, else the listener's (a registry service
    /// on this listener has exactly this port).
    fn cluster(&self, field: &str, dest: &Value, port: u16) -> Result<String, RoutesError> {
        let host = dest
            .get("host")
            .and_then(Value::as_str)
            .filter(|h| !h.is_empty())
            .ok_or_else(|| self.err(&format!("{field}.host"), "a destination needs a host"))?;
        let subset = dest.get("subset").and_then(Value::as_str).unwrap_or("");
        let port = match dest.pointer("/port/number") {
            Some(p) => p.as_u64().ok_or_else(|| {
                self.err(&format!("{field}.port.number"), "expected a port number")
            })?,
            None => u64::from(port),
        };
        Ok(format!("outbound|{port}|{subset}|{}", self.fqdn(host)))
    }

    /// `ApplyRedirect` for a sidecar (no TLS).
    fn redirect(&self, field: &str, v: &Value, port: u16) -> Result<RedirectAction, RoutesError> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let code = v.get("redirectCode").and_then(Value::as_u64).unwrap_or(301);
        if ![301, 302, 303, 307, 308].contains(&code) {
            return Err(self.err(
                &format!("{field}.redirectCode"),
                format!("{code} is not one of 301, 302, 303, 307, 308"),
            ));
        }
        let scheme = text("scheme").filter(|s| !s.is_empty());
        let mut port_redirect = match (v.get("port"), v.get("derivePort").and_then(Value::as_str)) {
            (Some(p), _) => Some(
                p.as_u64()
                    .and_then(|p| u32::try_from(p).ok())
                    .ok_or_else(|| self.err(&format!("{field}.port"), "expected a port number"))?,
            ),
            (None, Some("FROM_REQUEST_PORT")) => Some(u32::from(port)),
            _ => None,
        };
        let effective = scheme.as_deref().unwrap_or("http");
        if (port_redirect == Some(80) && effective == "http")
            || (port_redirect == Some(443) && effective == "https")
        {
            port_redirect = None;
        }
        Ok(RedirectAction {
            scheme_redirect: scheme,
            host_redirect: text("authority").filter(|s| !s.is_empty()),
            path_redirect: text("uri").filter(|s| !s.is_empty()),
            port_redirect,
            response_code: u32::try_from(code).ok(),
            ..RedirectAction::default()
        })
    }

    /// `ApplyDirectResponse`.
    fn direct_response(&self, field: &str, v: &Value) -> Result<DirectResponseAction, RoutesError> {
        let status = v
            .get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u32::try_from(s).ok())
            .ok_or_else(|| self.err(&format!("{field}.status"), "expected an HTTP status"))?;
        let body = match v.get("body") {
            None => None,
            Some(b) => match (b.get("string"), b.get("bytes")) {
                (Some(Value::String(s)), None) => Some(s.clone()),
                (None, Some(_)) => {
                    return Err(self.err(
                        &format!("{field}.body.bytes"),
                        "a binary body is not supported by the route simulation; use `body.string`",
                    ));
                }
                _ => {
                    return Err(self.err(
                        &format!("{field}.body"),
                        "expected one of `string` or `bytes`",
                    ));
                }
            },
        };
        Ok(DirectResponseAction { status, body })
    }
}

/// An Istio `StringMatch` that is not "present".
#[derive(Debug, Clone, PartialEq, Eq)]
enum StringMatch {
    Exact(String),
    Prefix(String),
    Regex(String),
}

/// `translateHeaderMatch`.
fn header_matcher(name: &str, sm: Option<StringMatch>) -> HeaderMatcher {
    let mut h = HeaderMatcher {
        name: name.to_ascii_lowercase(),
        ..HeaderMatcher::default()
    };
    match sm {
        None => h.present = Some(true),
        Some(StringMatch::Exact(v)) => h.exact = Some(v),
        Some(StringMatch::Prefix(v)) => h.prefix = Some(v),
        Some(StringMatch::Regex(v)) => h.safe_regex = Some(v),
    }
    h
}

/// `translateQueryParamMatch`: the string match a header gets, on a query
/// parameter named as written.
fn query_parameter_matcher(name: &str, sm: Option<StringMatch>) -> QueryParameterMatcher {
    let h = header_matcher(name, sm);
    QueryParameterMatcher {
        name: name.to_owned(),
        exact: h.exact,
        prefix: h.prefix,
        safe_regex: h.safe_regex,
        present: h.present,
        ..QueryParameterMatcher::default()
    }
}

/// `IsCatchAllRoute`: prefix `/` (or regex `*`) and no header or query
/// parameter matcher.
fn is_catch_all(r: &Route) -> bool {
    let m = &r.matcher;
    let path = m.prefix.as_deref() == Some("/")
        || m.path_separated_prefix.as_deref() == Some("/")
        || m.safe_regex.as_deref() == Some("*");
    path && m.headers.is_empty() && m.query_parameters.is_empty()
}

/// A destination's `headers.request.set/add` authority (`processDestination`).
fn destination_authority(d: &Value) -> Option<String> {
    let req = d.get("headers")?.get("request")?;
    ["set", "add"].iter().find_map(|op| {
        req.get(op)?.as_object()?.iter().find_map(|(k, v)| {
            (k.eq_ignore_ascii_case(":authority") || k.eq_ignore_ascii_case("host"))
                .then(|| v.as_str().map(str::to_string))
                .flatten()
        })
    })
}

/// Istio's `HTTPRetry` as Envoy's retry policy (pilot
/// `route/retry/retry.go` `ConvertPolicy`, `parseRetryOn`), carried as data:
/// attempts 0 disables retries (no policy); otherwise the default policy
/// with `num_retries`, `retry_on` (status codes moved to
/// `retriable_status_codes`, adding `retriable-status-codes`),
/// `per_try_timeout`, remote localities, previous hosts and back-off.
fn retry_policy(r: &Value) -> Option<Value> {
    let attempts = r.get("attempts").and_then(Value::as_u64).unwrap_or(0);
    if attempts == 0 {
        return None;
    }
    let mut out = default_retry_policy();
    let obj = out.as_object_mut()?;
    obj.insert("num_retries".to_owned(), json!(attempts));
    if let Some(on) = r
        .get("retryOn")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        let mut names = Vec::new();
        let mut codes = Vec::new();
        for part in on.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.parse::<u32>() {
                Ok(code) => codes.push(code),
                Err(_) => names.push(part),
            }
        }
        let mut retry_on = names.join(",");
        if !codes.is_empty() && !retry_on.contains("retriable-status-codes") {
            if !retry_on.is_empty() {
                retry_on.push(',');
            }
            retry_on.push_str("retriable-status-codes");
        }
        obj.insert("retry_on".to_owned(), json!(retry_on));
        if !codes.is_empty() {
            obj.insert("retriable_status_codes".to_owned(), json!(codes));
        }
    }
    if let Some(t) = r.get("perTryTimeout") {
        obj.insert("per_try_timeout".to_owned(), t.clone());
    }
    if r.get("retryRemoteLocalities").and_then(Value::as_bool) == Some(true) {
        obj.insert(
            "retry_priority".to_owned(),
            json!({"name": "envoy.retry_priorities.previous_priorities"}),
        );
    }
    if r.get("retryIgnorePreviousHosts").and_then(Value::as_bool) == Some(false) {
        obj.remove("retry_host_predicate");
    }
    if let Some(b) = r.get("backoff") {
        obj.insert("retry_back_off".to_owned(), json!({"base_interval": b}));
    }
    Some(out)
}

/// A list of strings at `field`; absent or null is empty.
fn strings(v: Option<&Value>, field: &str) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("`{field}` must be a list of strings"))
            })
            .collect(),
        Some(_) => Err(format!("`{field}` must be a list of strings")),
    }
}
