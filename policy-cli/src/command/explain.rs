//! `policy-cli explain POLICY --request 'GET /wpcatalog/x?y=1' -H 'x-user-id: 7'`:
//! the engine's trace of one decision (each rule and why it did or did not
//! match, the rewrite, the destination and why, headers set, metric labels);
//! `--wasm` also runs the request on the filter and compares.

use std::io::Write;
use std::path::PathBuf;

use meshpolicy_engine::{
    Decision, HeaderList, HeaderOp, HeaderSink, Request, RouterOptions, Trace, port,
};
use serde::Serialize;

use crate::ExitCode;
use crate::diagnostic::Diagnostic;
use crate::input::{DiagArgs, LoadedPolicy, load_policy, usage_error};
use crate::request::RequestSpec;
use crate::routes::{Service, route_table};
use crate::testfile::{NodeMeta, PeerMeta};
use crate::wasm::{Filter, Outcome, header, send, wasm_path};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    #[default]
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The policy (a TrafficPolicy, or Istio YAML that imports into one).
    #[arg(value_name = "POLICY")]
    pub policy: PathBuf,
    /// The request line: `METHOD /path?query` (or just `/path` for a GET).
    #[arg(short, long, value_name = "'METHOD /path'")]
    pub request: String,
    /// A request header, `name: value`; repeat for more.
    #[arg(short = 'H', long = "header", value_name = "'name: value'")]
    pub headers: Vec<String>,
    /// `:authority` (default: the `host` header, else `localhost`).
    #[arg(long)]
    pub authority: Option<String>,
    /// A label of this proxy's workload (node metadata), `key=value`; repeat for more.
    #[arg(long = "source-label", value_name = "KEY=VALUE")]
    pub source_labels: Vec<String>,
    /// This proxy's namespace (node metadata).
    #[arg(long)]
    pub source_namespace: Option<String>,
    /// The destination port.
    #[arg(long)]
    pub port: Option<u32>,
    /// The randomness the filter would draw for an unsticky split or a fault
    /// percentage; fixed so that the answer is reproducible.
    #[arg(long, default_value_t = 0)]
    pub random: u64,
    /// Also run the request on this filter `.wasm` (or `$MESHPOLICY_WASM`,
    /// or target/meshpolicy.wasm when given without a value) and compare.
    #[arg(long, value_name = "PATH", num_args = 0..=1)]
    pub wasm: Option<Option<PathBuf>>,
    /// `human` or `json`.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
    #[command(flatten)]
    pub diag: DiagArgs,
}

/// What `--output json` prints.
#[derive(Serialize)]
struct Report<'a> {
    request: &'a RequestSpec,
    decision: &'a Decision,
    trace: &'a Trace,
    /// What Envoy's router and filters apply on the route of the chosen
    /// destination's key: the matched rule's timeout, retries, mirrors,
    /// CORS policy, fault delay (Istio's field names) and their hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    router: Option<&'a RouterOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wasm: Option<WasmReport>,
}

#[derive(Serialize)]
struct WasmReport {
    path: String,
    /// The filter did what the engine decided.
    agrees: bool,
    differences: Vec<String>,
    /// `:path` / `:authority` / decision header upstream, or the local status.
    upstream_path: Option<String>,
    upstream_authority: Option<String>,
    key: Option<String>,
    /// The cluster Envoy's router picked, and its route (the rendered routes).
    cluster: Option<String>,
    route: Option<String>,
    /// What the router applies on that route (Envoy's names): `timeout`,
    /// `retry_policy`, `request_mirror_policies`, and the fault and CORS
    /// filters' per-route configuration.
    timeout: Option<String>,
    retry_policy: Option<serde_json::Value>,
    request_mirror_policies: Vec<serde_json::Value>,
    typed_per_filter_config: std::collections::BTreeMap<String, serde_json::Value>,
    local_status: Option<u32>,
}

fn parse_args(args: &ExplainArgs) -> Result<(RequestSpec, NodeMeta), Diagnostic> {
    let bad = |m: String| Diagnostic::error("bad-request", m);
    let mut req = RequestSpec::parse_line(&args.request).map_err(bad)?;
    for h in &args.headers {
        req.headers.push(RequestSpec::parse_header(h).map_err(bad)?);
    }
    req.authority = args.authority.clone();
    let mut node = NodeMeta {
        namespace: args.source_namespace.clone(),
        port: args.port,
        ..NodeMeta::default()
    };
    for l in &args.source_labels {
        let (k, v) = l
            .split_once('=')
            .ok_or_else(|| bad(format!("source label `{l}` is not `key=value`")))?;
        node.labels.insert(k.to_owned(), v.to_owned());
    }
    Ok((req, node))
}

pub fn run(args: ExplainArgs) -> ExitCode {
    let format = args.diag.error_format;
    let (req, node) = match parse_args(&args) {
        Ok(parsed) => parsed,
        Err(d) => return usage_error(d, format),
    };
    let filter = match &args.wasm {
        None => None,
        Some(p) => match wasm_path(p.as_deref()).and_then(|p| Filter::load(&p)) {
            Ok(f) => Some(f),
            Err(d) => return usage_error(d, format),
        },
    };
    let loaded = match load_policy(&args.policy, format) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let headers = req.wire_headers();
    let source = node.source_info();
    let port = port::request_port(node.port, Some(&req.authority()));
    let request = Request {
        headers: &headers,
        source: &source,
        port,
        random: args.random,
        virtual_host: None,
    };
    let (decision, trace) = loaded.policy.explain(&request);
    let router = decision
        .destination
        .as_ref()
        .and(decision.rule.as_ref())
        .and_then(|r| {
            loaded
                .policy
                .router_options(r.virtual_service_index, r.index)
        });

    let wasm = match &filter {
        None => None,
        Some(filter) => match explain_routes(&loaded, &node, &req)
            .and_then(|table| filter.plugin(&loaded.json, &node, &PeerMeta::default(), Some(table)))
        {
            Ok(mut plugin) => {
                let outcome = send(&mut plugin, &req, 200);
                Some(compare(
                    &loaded,
                    &decision,
                    &req,
                    &outcome,
                    &filter.path.display().to_string(),
                ))
            }
            Err(d) => return usage_error(d, format),
        },
    };
    let text = match args.output {
        Output::Json => {
            let report = Report {
                request: &req,
                decision: &decision,
                trace: &trace,
                router,
                wasm,
            };
            let agrees = report.wasm.as_ref().is_none_or(|w| w.agrees);
            let json = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
            let _ = std::io::stdout().write_all(json.as_bytes());
            return if agrees {
                ExitCode::Ok
            } else {
                ExitCode::Failure
            };
        }
        Output::Human => human(
            &req,
            &decision,
            &trace,
            router,
            wasm.as_ref(),
            loaded.policy.decision_header(),
        ),
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    if wasm.is_some_and(|w| !w.agrees) {
        ExitCode::Failure
    } else {
        ExitCode::Ok
    }
}

/// The route table Envoy would have after the filter: the policy's rendered
/// VirtualServices, each exact host of the policy a service on the
/// request's port (explain has no registry), anything else passthrough.
fn explain_routes(
    loaded: &LoadedPolicy,
    node: &NodeMeta,
    req: &RequestSpec,
) -> Result<host_tests::RouteTable, Diagnostic> {
    let port = crate::testrun::authority_port(&req.authority())
        .or(node.port.and_then(|p| u16::try_from(p).ok()))
        .unwrap_or(80);
    let rendered = crate::gitops::render::rendered_virtual_services(&loaded.doc, &loaded.policy)
        .map_err(|e| {
            Diagnostic::error("render", format!("cannot render the policy's routes: {e}"))
        })?;
    let services: Vec<Service> = loaded
        .policy
        .host_plans()
        .into_iter()
        .filter(|p| !p.host.contains('*'))
        .map(|p| Service::new(&p.host, [port]))
        .collect();
    route_table(&rendered, &services, node.namespace.as_deref(), port).map_err(|e| {
        Diagnostic::error(
            "routes",
            format!("cannot build the route table of port {port}: {e}"),
        )
    })
}

/// The filter's outcome against what Envoy does with the engine's
/// decision (`Decision::apply` onto the request's header list, then the
/// router's Host rewrite; `apply_response` onto the upstream's answer):
/// the local response, every request header the upstream sees and every
/// response header the client sees.
fn compare(
    loaded: &LoadedPolicy,
    decision: &Decision,
    req: &RequestSpec,
    outcome: &Outcome,
    path: &str,
) -> WasmReport {
    let header = loaded.policy.decision_header();
    let mut differences = Vec::new();
    let key = outcome.upstream_header(header);
    let local_status = outcome.local.as_ref().map(|(s, _, _)| *s);
    let mut want = HeaderList(req.wire_headers());
    let want_local = decision.apply(&mut want).map(|l| l.status);
    if want_local != local_status {
        differences.push(format!(
            "local response: engine {}, filter {}",
            opt(want_local),
            opt(local_status)
        ));
    }
    // an unsticky split draws its own randomness in the filter: only the
    // path is the engine's to compare
    let random_split = decision.rule.as_ref().is_some_and(|r| {
        loaded
            .doc
            .spec
            .virtual_services
            .get(r.virtual_service_index)
            .and_then(|vs| vs.http.get(r.index))
            .is_some_and(|rule| {
                rule.sticky.is_none() && rule.route.as_ref().is_some_and(|d| d.len() > 1)
            })
    });
    if let (Some(got), None) = (&outcome.upstream, want_local) {
        if let Some(authority) = &decision.authority {
            want.set(":authority", authority);
        }
        let names: &[&str] = if random_split { &[":path"] } else { &[] };
        differences.extend(header_differences("request header", &want.0, got, names));
        if !random_split && let Some(got) = &outcome.downstream {
            let mut want = HeaderList(vec![(":status".to_owned(), "200".to_owned())]);
            decision.apply_response(&mut want);
            differences.extend(header_differences("response header", &want.0, got, &[]));
        }
    }
    if let Some(f) = &outcome.failure {
        differences.push(format!("the filter trapped: {f}"));
    }
    let action = outcome.route.as_ref().and_then(|r| r.route.as_ref());
    WasmReport {
        timeout: action.and_then(|a| a.timeout.clone()),
        retry_policy: action.and_then(|a| a.retry_policy.clone()),
        request_mirror_policies: action
            .map(|a| a.request_mirror_policies.clone())
            .unwrap_or_default(),
        typed_per_filter_config: outcome
            .route
            .as_ref()
            .map(|r| r.typed_per_filter_config.clone())
            .unwrap_or_default(),
        path: path.to_owned(),
        agrees: differences.is_empty(),
        differences,
        upstream_path: outcome.upstream_header(":path"),
        upstream_authority: outcome.upstream_header(":authority"),
        key,
        cluster: outcome.cluster.clone(),
        route: outcome.route_name.clone(),
        local_status,
    }
}

/// `what` `name`: engine `a`, filter `b`, for every header whose values
/// differ (only `only`'s names when given), in the engine's order.
fn header_differences(
    what: &str,
    want: &[(String, String)],
    got: &[(String, String)],
    only: &[&str],
) -> Vec<String> {
    let mut names: Vec<&str> = want.iter().chain(got).map(|(k, _)| k.as_str()).collect();
    let mut seen = std::collections::BTreeSet::new();
    names.retain(|n| seen.insert(n.to_ascii_lowercase()) && (only.is_empty() || only.contains(n)));
    names
        .into_iter()
        .filter_map(|name| {
            let (w, g) = (header(want, name), header(got, name));
            (w != g).then(|| format!("{what} {name}: engine {}, filter {}", opt(w), opt(g)))
        })
        .collect()
}

/// The options of the route the router used, for people.
fn router_text(w: &WasmReport) -> String {
    let mut parts = vec![format!(
        "timeout {}",
        w.timeout.as_deref().unwrap_or("(none)")
    )];
    parts.push(match &w.retry_policy {
        None => "no retries".to_owned(),
        Some(p) => {
            let mut s = format!(
                "retries {}",
                p.get("num_retries")
                    .map_or("?".to_owned(), |n| n.to_string())
            );
            if let Some(t) = p.get("per_try_timeout").and_then(serde_json::Value::as_str) {
                s.push_str(&format!(", perTryTimeout {t}"));
            }
            if let Some(on) = p.get("retry_on").and_then(serde_json::Value::as_str) {
                s.push_str(&format!(" on {on}"));
            }
            s
        }
    });
    for m in &w.request_mirror_policies {
        parts.push(format!(
            "mirror {} ({}%)",
            m.get("cluster")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("?"),
            m.get("runtime_fraction")
                .map_or("100".to_owned(), |p| p.to_string())
        ));
    }
    if let Some(d) = w
        .typed_per_filter_config
        .get("envoy.filters.http.fault")
        .and_then(|f| f.pointer("/delay/fixedDelay"))
        .and_then(serde_json::Value::as_str)
    {
        parts.push(format!("fault delay {d}"));
    }
    if w.typed_per_filter_config
        .contains_key("envoy.filters.http.cors")
    {
        parts.push("corsPolicy".to_owned());
    }
    parts.join("; ")
}

/// A value or `none`, for people.
fn opt<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "none".to_owned(), |v| format!("`{v}`"))
}

fn op_text(op: &HeaderOp) -> String {
    match op {
        HeaderOp::Set { name, value } => format!("set {name}: {value}"),
        HeaderOp::Add { name, value } => format!("add {name}: {value}"),
        HeaderOp::Remove { name } => format!("remove {name}"),
    }
}

fn human(
    req: &RequestSpec,
    d: &Decision,
    trace: &Trace,
    router: Option<&RouterOptions>,
    wasm: Option<&WasmReport>,
    header: &str,
) -> String {
    let mut out = format!(
        "request  {} {} (authority {})\n",
        req.method,
        req.path,
        req.authority()
    );
    for (k, v) in &req.headers {
        out.push_str(&format!("         {k}: {v}\n"));
    }
    out.push_str("\nhost\n");
    if let Some(h) = &trace.host {
        out.push_str(&format!("  {h}\n"));
    }
    out.push_str("\nrules\n");
    for r in &trace.rules {
        let mark = if r.matched { "✓" } else { "✗" };
        out.push_str(&format!(
            "  {mark} {} ({}.http[{}])\n",
            r.name, r.virtual_service, r.index
        ));
        for reason in &r.reasons {
            out.push_str(&format!("      {reason}\n"));
        }
    }
    if trace.rules.is_empty() {
        out.push_str("  (no rule was tried)\n");
    }
    if !trace.actions.is_empty() {
        out.push_str("\nactions\n");
        for a in &trace.actions {
            out.push_str(&format!("  {a}\n"));
        }
    }
    out.push_str("\ndecision\n");
    let row = |k: &str, v: String| format!("  {k:<17}{v}\n");
    out.push_str(&row(
        "virtual service",
        d.host.as_ref().map_or(
            "(none: the policy does not cover this host)".to_owned(),
            |h| {
                format!(
                    "{} for host {}",
                    h.virtual_services
                        .iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(" then "),
                    h.host
                )
            },
        ),
    ));
    out.push_str(&row(
        "rule",
        d.rule.as_ref().map_or(
            if d.host.is_some() {
                "(none: Envoy answers 404 NR)".to_owned()
            } else {
                "(none: passed through)".to_owned()
            },
            |r| r.name.to_string(),
        ),
    ));
    out.push_str(&row(
        "path",
        d.path.clone().unwrap_or_else(|| "(unchanged)".to_owned()),
    ));
    out.push_str(&row(
        "authority",
        d.authority
            .as_deref()
            .map_or("(unchanged)".to_owned(), |a| {
                format!("{a} (sent upstream by the key's route)")
            }),
    ));
    out.push_str(&row(
        "destination",
        d.destination.as_ref().map_or("(none)".to_owned(), |dest| {
            let subset = dest
                .subset
                .as_deref()
                .map_or(String::new(), |s| format!(" subset {s}"));
            format!(
                "{}{subset} (route[{}]; {header}: {})",
                dest.host, dest.index, dest.key
            )
        }),
    ));
    let ops = |ops: &[HeaderOp]| {
        if ops.is_empty() {
            "(none)".to_owned()
        } else {
            ops.iter().map(op_text).collect::<Vec<_>>().join("; ")
        }
    };
    if let Some(o) = router {
        out.push_str(&row(
            "router applies",
            format!("{} (key suffix #{})", o.describe().join("; "), o.hash),
        ));
    }
    out.push_str(&row("request headers", ops(&d.request_headers)));
    out.push_str(&row("response headers", ops(&d.response_headers)));
    if let Some(l) = &d.local_response {
        out.push_str(&row("local response", format!("{} {:?}", l.status, l.body)));
        for (k, v) in &l.headers {
            out.push_str(&row("", format!("{k}: {v}")));
        }
    }
    if let Some(why) = &d.rewrite_rejected {
        out.push_str(&row("rewrite refused", why.clone()));
    }
    out.push_str(&row(
        "metric labels",
        format!(
            "policy_rule={} policy_destination={}",
            d.labels.policy_rule, d.labels.policy_destination
        ),
    ));
    if let Some(w) = wasm {
        out.push_str(&format!("\nfilter ({})\n", w.path));
        if w.agrees {
            out.push_str("  same result as the engine");
            let shown = match (&w.local_status, &w.upstream_path) {
                (Some(s), _) => format!(": local response {s}"),
                (None, Some(p)) => format!(
                    ": upstream {p}, {header}: {}\n  router: cluster {}{}, Host sent upstream {}",
                    w.key.as_deref().unwrap_or("(none)"),
                    w.cluster.as_deref().unwrap_or("(none)"),
                    w.route
                        .as_deref()
                        .map_or(String::new(), |r| format!(" (route `{r}`)")),
                    w.upstream_authority.as_deref().unwrap_or("(none)")
                ),
                (None, None) => String::new(),
            };
            out.push_str(&format!("{shown}\n"));
            if w.local_status.is_none() && w.cluster.is_some() {
                out.push_str(&format!("  router applies: {}\n", router_text(w)));
            }
        } else {
            out.push_str("  DIFFERS from the engine:\n");
            for diff in &w.differences {
                out.push_str(&format!("    {diff}\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::header_differences;

    fn list(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn header_differences_name_each_header_that_differs() {
        let want = list(&[
            (":path", "/new"),
            ("x-a", "1"),
            ("x-a", "2"),
            ("x-gone", "g"),
        ]);
        let got = list(&[(":path", "/new"), ("X-A", "1,2"), ("x-extra", "e")]);
        assert_eq!(
            header_differences("request header", &want, &got, &[]),
            [
                "request header x-gone: engine `g`, filter none",
                "request header x-extra: engine none, filter `e`"
            ]
        );
        // Only the names asked for.
        assert!(header_differences("request header", &want, &got, &[":path"]).is_empty());
        assert!(header_differences("response header", &want, &want, &[]).is_empty());
    }
}
