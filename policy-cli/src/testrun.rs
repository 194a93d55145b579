//! Runs test cases on the filter and compares what Envoy would do with what
//! the case expects.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use host_tests::{MetricValue, Plugin};

use crate::diagnostic::Diagnostic;
use crate::request::RequestSpec;
use crate::routes::{Service, route_table};
use crate::testfile::{Case, Expect, MetricExpect, NodeMeta, PeerMeta, SubsetExpect, TestFile};
use crate::wasm::{Filter, Outcome, header, send};

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub name: String,
    pub passed: bool,
    /// A unified diff of the checked fields (`-expected`, `+actual`) when failed.
    pub diff: String,
    pub duration: Duration,
}

/// What the last case sent, for coverage: the request as the filter saw it
/// and the decision key that reached the upstream.
#[derive(Debug, Clone)]
pub struct Sent {
    pub headers: Vec<(String, String)>,
    pub source: meshpolicy_engine::SourceInfo,
    pub port: u16,
    /// The decision header's value upstream (`None`: answered locally or
    /// nothing decided).
    pub key: Option<String>,
    /// The virtual host Envoy's router selected, which the filter decides by.
    pub virtual_host: Option<String>,
}

/// One checked field: its expected and actual value as text.
struct Check {
    field: String,
    expected: String,
    actual: String,
}

/// Plugins by the node and peer metadata they were started with and the
/// listener port (its route table): one VM per distinct proxy, reused across
/// cases (as Envoy reuses one per worker).
pub struct Runner<'a> {
    filter: &'a Filter,
    policy_json: &'a str,
    decision_header: &'a str,
    /// The rendered VirtualServices of the policy, which Envoy's router
    /// simulation runs after the filter.
    virtual_services: &'a [serde_json::Value],
    /// Keyed by node, peer, port and the registry (as JSON).
    plugins: HashMap<(NodeMeta, PeerMeta, u16, String), Plugin>,
    last: Option<Sent>,
}

impl<'a> Runner<'a> {
    pub fn new(
        filter: &'a Filter,
        policy_json: &'a str,
        decision_header: &'a str,
        virtual_services: &'a [serde_json::Value],
    ) -> Runner<'a> {
        Runner {
            filter,
            policy_json,
            decision_header,
            virtual_services,
            plugins: HashMap::new(),
            last: None,
        }
    }

    /// Envoy's route table of listener `port` for the proxy `node`.
    fn route_table(
        &self,
        services: &[Service],
        node: &NodeMeta,
        port: u16,
    ) -> Result<host_tests::RouteTable, Diagnostic> {
        route_table(
            self.virtual_services,
            services,
            node.namespace.as_deref(),
            port,
        )
        .map_err(|e| {
            Diagnostic::error(
                "routes",
                format!("cannot build the route table of port {port}: {e}"),
            )
        })
    }

    fn plugin(
        &mut self,
        node: &NodeMeta,
        peer: &PeerMeta,
        port: u16,
        services: &[Service],
    ) -> Result<&mut Plugin, Diagnostic> {
        let registry = serde_json::to_string(services).unwrap_or_default();
        let key = (node.clone(), peer.clone(), port, registry);
        // a VM that trapped fails every later request: start a fresh one
        if self.plugins.get(&key).is_some_and(Plugin::is_failed) {
            self.plugins.remove(&key);
        }
        if !self.plugins.contains_key(&key) {
            let table = self.route_table(services, node, port)?;
            let plugin = self
                .filter
                .plugin(self.policy_json, node, peer, Some(table))?;
            self.plugins.insert(key.clone(), plugin);
        }
        self.plugins
            .get_mut(&key)
            .ok_or_else(|| Diagnostic::error("internal", "plugin vanished"))
    }

    /// `expect.shares` / `step`: many keys on plugins of their own.
    #[allow(clippy::too_many_arguments)]
    fn canary(
        &self,
        file: &TestFile,
        case: &Case,
        node: &NodeMeta,
        peer: &PeerMeta,
        request: &RequestSpec,
        status: u32,
        port: u16,
    ) -> Result<Vec<Check>, Diagnostic> {
        let table = self.route_table(&file.services, node, port)?;
        let setup = crate::canary::Setup {
            filter: self.filter,
            policy_json: self.policy_json,
            node,
            peer,
            table,
            request,
            status,
            port,
        };
        let compared = crate::canary::checks(&setup, case.step.as_ref(), &case.expect)?;
        Ok(compared
            .into_iter()
            .map(|(field, expected, actual)| Check {
                field,
                expected,
                actual,
            })
            .collect())
    }

    /// What the last case run sent.
    pub fn last_sent(&self) -> Option<&Sent> {
        self.last.as_ref()
    }

    /// Runs one case of `file`. An error is a failure to start the filter.
    pub fn run(&mut self, file: &TestFile, case: &Case) -> Result<CaseResult, Diagnostic> {
        let started = Instant::now();
        let node = case.node.as_ref().unwrap_or(&file.node);
        let peer = case.peer.as_ref().unwrap_or(&file.peer);
        let status = case.upstream_status.or(file.upstream_status).unwrap_or(200);
        let decision_header = self.decision_header;
        let mut request = case.request.clone();
        let has_host = request
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("host"));
        if request.authority.is_none() && !has_host {
            request.authority.clone_from(&file.authority);
        }
        // the listener: the port in `:authority`, else the node's
        // destination port, else 80
        let port = authority_port(&request.authority())
            .or(node.port.and_then(|p| u16::try_from(p).ok()))
            .unwrap_or(80);
        let plugin = self.plugin(node, peer, port, &file.services)?;
        let before = (!case.expect.metrics.is_empty()).then(|| metric_counts(plugin));
        let outcome = send(plugin, &request, status);
        let after = before.as_ref().map(|_| metric_counts(plugin));
        let mut checks = compare(&case.expect, &outcome, decision_header);
        if let Some(not) = &case.expect.not {
            checks.push(negated(&compare(not, &outcome, decision_header)));
        }
        let e = &case.expect;
        if e.shares.is_some() || e.moved.is_some() || e.moved_back.is_some() || case.step.is_some()
        {
            checks.extend(self.canary(file, case, node, peer, &request, status, port)?);
        }
        router_checks(&case.expect, &outcome, &mut checks);
        if let (Some(before), Some(after)) = (&before, &after) {
            checks.extend(
                case.expect
                    .metrics
                    .iter()
                    .map(|m| metric_check(m, before, after)),
            );
        }
        if let Some(failure) = &outcome.failure {
            checks.push(Check {
                field: "filter".to_owned(),
                expected: "no trap".to_owned(),
                actual: format!("vm failed: {failure}"),
            });
        }
        let passed = checks.iter().all(|c| c.expected == c.actual);
        self.last = Some(Sent {
            headers: request.wire_headers(),
            source: node.source_info(),
            port,
            key: outcome.upstream_header(decision_header),
            virtual_host: outcome.virtual_host.clone(),
        });
        Ok(CaseResult {
            name: case.name.clone(),
            passed,
            diff: if passed { String::new() } else { diff(&checks) },
            duration: started.elapsed(),
        })
    }
}

/// `expect.not`: passes when at least one of the checks fails.
fn negated(checks: &[Check]) -> Check {
    let fields: Vec<&str> = checks.iter().map(|c| c.field.as_str()).collect();
    let expected = format!("not all of {}", fields.join(", "));
    let held = checks.iter().all(|c| c.expected == c.actual);
    Check {
        field: "not".to_owned(),
        actual: if held && !checks.is_empty() {
            let got: Vec<String> = checks
                .iter()
                .map(|c| format!("{} = {}", c.field, c.actual))
                .collect();
            format!("all hold: {}", got.join(", "))
        } else {
            expected.clone()
        },
        expected,
    }
}

fn shown(value: Option<&str>) -> String {
    match value {
        Some(v) => format!("{v:?}"),
        None => "(absent)".to_owned(),
    }
}

/// What happened instead of forwarding, for fields that need the request upstream.
fn not_forwarded(outcome: &Outcome) -> String {
    match &outcome.local {
        Some((status, _, _)) => format!("(not forwarded: local response {status})"),
        None => "(not forwarded)".to_owned(),
    }
}

/// The port in `host:port` (the engine's rule), as a listener port.
pub fn authority_port(authority: &str) -> Option<u16> {
    meshpolicy_engine::port::authority_port(authority).and_then(|p| u16::try_from(p).ok())
}

/// `outbound|<port>|<subset>|<fqdn>` as (fqdn, subset, port).
pub fn parse_cluster(cluster: &str) -> Option<(&str, Option<&str>, Option<u16>)> {
    let mut parts = cluster.split('|');
    let (Some("outbound"), Some(port), Some(subset), Some(host), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    Some((
        host,
        (!subset.is_empty()).then_some(subset),
        port.parse().ok(),
    ))
}

fn compare(expect: &Expect, outcome: &Outcome, decision_header: &str) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut upstream = |field: String, name: &str, expected: String| {
        let actual = match &outcome.upstream {
            None => not_forwarded(outcome),
            Some(_) => shown(outcome.upstream_header(name).as_deref()),
        };
        checks.push(Check {
            field,
            expected,
            actual,
        });
    };
    if let Some(path) = &expect.path {
        upstream("path".to_owned(), ":path", shown(Some(path)));
    }
    if let Some(authority) = &expect.authority {
        upstream("authority".to_owned(), ":authority", shown(Some(authority)));
    }
    for (name, value) in &expect.headers {
        upstream(format!("headers.{name}"), name, shown(value.as_deref()));
    }
    let routed = |outcome: &Outcome| match (&outcome.cluster, &outcome.local) {
        (Some(c), _) => shown(Some(c)),
        (None, Some((status, _, _))) => match &outcome.response_flag {
            Some(flag) => format!("(not routed: {status} {flag})"),
            None => format!("(not forwarded: local response {status})"),
        },
        (None, None) => "(no cluster)".to_owned(),
    };
    if let Some(cluster) = &expect.cluster {
        checks.push(Check {
            field: "cluster".to_owned(),
            expected: shown(Some(cluster)),
            actual: routed(outcome),
        });
    }
    let parsed = outcome.cluster.as_deref().and_then(parse_cluster);
    if let Some(want) = &expect.destination {
        let mut fields: Vec<(&str, String, String)> = Vec::new();
        if let Some(host) = &want.host {
            fields.push((
                "host",
                shown(Some(host)),
                parsed.map_or_else(|| routed(outcome), |(h, _, _)| shown(Some(h))),
            ));
        }
        if let Some(subset) = &want.subset {
            fields.push((
                "subset",
                shown(subset.as_deref()),
                parsed.map_or_else(|| routed(outcome), |(_, s, _)| shown(s)),
            ));
        }
        if let Some(port) = want.port {
            fields.push((
                "port",
                port.to_string(),
                parsed.map_or_else(
                    || routed(outcome),
                    |(_, _, p)| p.map_or("(none)".to_owned(), |p| p.to_string()),
                ),
            ));
        }
        for (name, expected, actual) in fields {
            checks.push(Check {
                field: format!("destination.{name}"),
                expected,
                actual,
            });
        }
    }
    if let Some(subset) = &expect.subset {
        // the subset of the cluster Envoy's router picked
        let got = match &outcome.cluster {
            Some(_) => parsed.and_then(|(_, s, _)| s).map(str::to_owned),
            None => outcome.upstream_header(decision_header),
        };
        let expected = match subset {
            SubsetExpect::Null(()) => shown(None),
            SubsetExpect::One(s) => shown(Some(s)),
            SubsetExpect::OneOf(list) => match &got {
                Some(g) if list.contains(g) => shown(Some(g)),
                _ => format!("one of {}", list.join(", ")),
            },
        };
        let actual = match &outcome.upstream {
            None => not_forwarded(outcome),
            Some(_) => shown(got.as_deref()),
        };
        checks.push(Check {
            field: "subset".to_owned(),
            expected,
            actual,
        });
    }
    let response_headers: Option<&[(String, String)]> = match (&outcome.local, &outcome.downstream)
    {
        (_, Some(h)) => Some(h),
        (Some((_, h, _)), None) => Some(h),
        (None, None) => None,
    };
    for (name, value) in &expect.response_headers {
        let actual = match response_headers {
            Some(h) => shown(header(h, name).as_deref()),
            None => "(no response)".to_owned(),
        };
        checks.push(Check {
            field: format!("responseHeaders.{name}"),
            expected: shown(value.as_deref()),
            actual,
        });
    }
    match (&expect.local_response, &outcome.local) {
        (Some(want), Some((status, headers, body))) => {
            checks.push(Check {
                field: "localResponse.status".to_owned(),
                expected: want.status.to_string(),
                actual: status.to_string(),
            });
            if let Some(b) = &want.body {
                checks.push(Check {
                    field: "localResponse.body".to_owned(),
                    expected: format!("{b:?}"),
                    actual: format!("{body:?}"),
                });
            }
            for (name, value) in &want.headers {
                checks.push(Check {
                    field: format!("localResponse.headers.{name}"),
                    expected: shown(value.as_deref()),
                    actual: shown(header(headers, name).as_deref()),
                });
            }
        }
        (Some(want), None) => checks.push(Check {
            field: "localResponse.status".to_owned(),
            expected: want.status.to_string(),
            actual: "(none: the request was forwarded)".to_owned(),
        }),
        (None, _) => {}
    }
    checks
}

/// What Envoy's router and filters apply on the route it used: timeout,
/// retry policy, mirrors, fault delay, CORS policy.
fn router_checks(expect: &Expect, outcome: &Outcome, checks: &mut Vec<Check>) {
    let route = outcome.route.as_ref();
    let action = route.and_then(|r| r.route.as_ref());
    let none = || match (&outcome.local, &outcome.response_flag) {
        (Some((status, _, _)), Some(flag)) => format!("(not routed: {status} {flag})"),
        (Some((status, _, _)), None) => format!("(not forwarded: local response {status})"),
        _ => "(no route)".to_owned(),
    };
    let mut push = |field: &str, expected: String, actual: String| {
        checks.push(Check {
            field: field.to_owned(),
            expected,
            actual,
        });
    };
    if let Some(want) = &expect.timeout {
        let actual = match action {
            None => none(),
            Some(a) => same_duration(want, a.timeout.as_deref().unwrap_or("0s")),
        };
        push("timeout", want.clone(), actual);
    }
    if let Some(want) = &expect.retries {
        let policy = action.and_then(|a| a.retry_policy.as_ref());
        match want {
            None => push(
                "retries",
                "(none)".to_owned(),
                match (action, policy) {
                    (None, _) => none(),
                    (Some(_), None) => "(none)".to_owned(),
                    (Some(_), Some(p)) => p.to_string(),
                },
            ),
            Some(want) => {
                let field = |name: &str| match (action, policy) {
                    (None, _) => none(),
                    (Some(_), None) => "(no retry policy)".to_owned(),
                    (Some(_), Some(p)) => match p.get(name) {
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(v) => v.to_string(),
                        None => "(absent)".to_owned(),
                    },
                };
                if let Some(n) = want.attempts {
                    push("retries.attempts", n.to_string(), field("num_retries"));
                }
                if let Some(t) = &want.per_try_timeout {
                    let got = field("per_try_timeout");
                    push("retries.perTryTimeout", t.clone(), same_duration(t, &got));
                }
                if let Some(on) = &want.retry_on {
                    push("retries.retryOn", on.clone(), field("retry_on"));
                }
            }
        }
    }
    let mirrors: Option<Vec<String>> = action.map(|a| {
        a.request_mirror_policies
            .iter()
            .filter_map(|m| m.get("cluster").and_then(serde_json::Value::as_str))
            .map(str::to_owned)
            .collect()
    });
    if let Some(want) = &expect.mirror {
        let actual = match &mirrors {
            None => none(),
            Some(list) if list.len() > 1 => format!("several: {}", list.join(", ")),
            Some(list) => shown(list.first().map(String::as_str)),
        };
        push("mirror", shown(want.as_deref()), actual);
    }
    if let Some(want) = &expect.mirrors {
        push(
            "mirrors",
            format!("{want:?}"),
            mirrors.map_or_else(none, |m| format!("{m:?}")),
        );
    }
    let per_filter = |name: &str| route.and_then(|r| r.typed_per_filter_config.get(name));
    if let Some(want) = &expect.delay {
        let got = per_filter("envoy.filters.http.fault")
            .and_then(|f| f.pointer("/delay/fixedDelay"))
            .and_then(serde_json::Value::as_str);
        let actual = match (route, got, want) {
            (None, _, _) => none(),
            (Some(_), Some(g), Some(w)) => shown(Some(&same_duration(w, g))),
            (Some(_), g, _) => shown(g),
        };
        push("delay", shown(want.as_deref()), actual);
    }
    if let Some(want) = &expect.cors_policy {
        let got = per_filter("envoy.filters.http.cors");
        let text = |v: Option<&serde_json::Value>| v.map_or("(none)".to_owned(), |v| v.to_string());
        let actual = if route.is_none() { none() } else { text(got) };
        push("corsPolicy", text(want.as_ref()), actual);
    }
}

/// `actual` shown as `expected` when both are the same duration (`2s` and
/// `2000ms`), else as it is.
fn same_duration(expected: &str, actual: &str) -> String {
    let parse = meshpolicy_engine::router::parse_duration;
    match (parse(expected), parse(actual)) {
        (Ok(a), Ok(b)) if a == b => expected.to_owned(),
        _ => actual.to_owned(),
    }
}

/// A stat name in Istio's tagged form `k=.=v;.;…;.;name` as (name, labels).
pub fn parse_stat_name(stat: &str) -> (&str, BTreeMap<&str, &str>) {
    let mut labels = BTreeMap::new();
    let mut rest = stat;
    while let Some(end) = rest.find(";.;") {
        let (segment, tail) = rest.split_at(end);
        match segment.split_once("=.=") {
            Some((k, v)) => {
                labels.insert(k, v);
            }
            None => break,
        }
        rest = tail.get(3..).unwrap_or_default();
    }
    (rest, labels)
}

/// Per stat name: counter value, or number of histogram samples.
fn metric_counts(plugin: &Plugin) -> HashMap<String, u64> {
    plugin
        .metrics()
        .iter()
        .map(|m| {
            let n = match &m.value {
                MetricValue::Counter(v) | MetricValue::Gauge(v) => *v,
                MetricValue::Histogram(samples) => samples.len() as u64,
            };
            (m.name.clone(), n)
        })
        .collect()
}

fn metric_check(
    want: &MetricExpect,
    before: &HashMap<String, u64>,
    after: &HashMap<String, u64>,
) -> Check {
    let mut total = 0u64;
    for (stat, value) in after {
        let (name, labels) = parse_stat_name(stat);
        if name != want.name {
            continue;
        }
        let fits = want
            .labels
            .iter()
            .all(|(k, v)| labels.get(k.as_str()).copied() == v.as_deref());
        if fits {
            total += value.saturating_sub(before.get(stat).copied().unwrap_or(0));
        }
    }
    let labels: Vec<String> = want
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("(absent)")))
        .collect();
    Check {
        field: format!("metrics.{}{{{}}}", want.name, labels.join(",")),
        expected: want.value.to_string(),
        actual: total.to_string(),
    }
}

/// `-expected` / `+actual` lines for every checked field, unchanged ones as context.
fn diff(checks: &[Check]) -> String {
    let expected: String = checks
        .iter()
        .map(|c| format!("{}: {}\n", c.field, c.expected))
        .collect();
    let actual: String = checks
        .iter()
        .map(|c| format!("{}: {}\n", c.field, c.actual))
        .collect();
    let mut out = String::new();
    let text = similar::TextDiff::from_lines(&expected, &actual);
    let _ = write!(
        out,
        "{}",
        text.unified_diff()
            .context_radius(3)
            .header("expected", "actual")
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_names_parse_into_name_and_labels() {
        let (name, labels) =
            parse_stat_name("app=.=x;.;policy_rule=.=legacy;.;meshpolicy_requests_total");
        assert_eq!(name, "meshpolicy_requests_total");
        assert_eq!(labels.get("app"), Some(&"x"));
        assert_eq!(labels.get("policy_rule"), Some(&"legacy"));
        assert_eq!(parse_stat_name("plain").0, "plain");
    }

    #[test]
    fn diff_shows_expected_and_actual() {
        let d = diff(&[
            Check {
                field: "path".into(),
                expected: "\"/a\"".into(),
                actual: "\"/b\"".into(),
            },
            Check {
                field: "subset".into(),
                expected: "\"v2\"".into(),
                actual: "\"v2\"".into(),
            },
        ]);
        assert!(d.contains("-path: \"/a\""), "{d}");
        assert!(d.contains("+path: \"/b\""), "{d}");
        assert!(d.contains(" subset: \"v2\""), "{d}");
    }
}
