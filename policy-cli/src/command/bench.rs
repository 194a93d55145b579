//! `policy-cli bench POLICY`: requests per second and per-request cost of the
//! real `.wasm` on the host for a request mix generated from the policy,
//! beside the same mix decided by the native engine (the baseline).

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use meshpolicy_engine::model::{HttpRule, StringMatch};
use meshpolicy_engine::{Request, TrafficPolicy};
use serde::Serialize;

use crate::ExitCode;
use crate::command::explain::Output;
use crate::input::{DiagArgs, load_policy, usage_error};
use crate::request::RequestSpec;
use crate::testfile::{NodeMeta, PeerMeta};
use crate::wasm::{Filter, send, wasm_path};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The policy (a TrafficPolicy, or Istio YAML that imports into one).
    #[arg(value_name = "POLICY")]
    pub policy: PathBuf,
    /// How many requests to send through the filter.
    #[arg(short = 'n', long, default_value_t = 20_000)]
    pub requests: usize,
    /// The filter to run (default `$MESHPOLICY_WASM`, else target/meshpolicy.wasm).
    #[arg(long, value_name = "PATH")]
    pub wasm: Option<PathBuf>,
    /// `human` or `json`.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
    #[command(flatten)]
    pub diag: DiagArgs,
}

#[derive(Debug, Serialize)]
struct Figures {
    requests: usize,
    distinct_requests: usize,
    /// Instantiating the module and configuring the policy.
    plugin_start_us: f64,
    wasm_requests_per_second: f64,
    wasm_us_per_request: f64,
    engine_requests_per_second: f64,
    engine_us_per_request: f64,
    /// wasm cost / engine cost.
    ratio: f64,
}

/// A few requests per rule (a path its matches accept, and one they do
/// not), each with a sticky key, so every rule and the fall-through are hit.
fn request_mix(doc: &TrafficPolicy) -> Vec<RequestSpec> {
    // (authority, path): each virtual service's rules on its first host
    let mut paths = vec![
        ("unknown.example:80".to_owned(), "/".to_owned()),
        (
            "unknown.example:80".to_owned(),
            "/no/rule/matches/this".to_owned(),
        ),
    ];
    for vs in &doc.spec.virtual_services {
        let namespace = vs
            .namespace
            .as_deref()
            .or(doc.metadata.namespace.as_deref());
        let host = vs.hosts.first().map_or_else(String::new, |h| {
            let h = h
                .strip_prefix("*")
                .map_or(h.clone(), |rest| format!("any{rest}"));
            meshpolicy_engine::resolve_host(&h, namespace)
        });
        let authority = format!("{host}:9080");
        paths.push((authority.clone(), "/no/rule/matches/this".to_owned()));
        for rule in &vs.http {
            paths.extend(rule_paths(rule).into_iter().map(|p| (authority.clone(), p)));
        }
    }
    let mut mix = Vec::new();
    for (i, (authority, path)) in paths.iter().enumerate() {
        for user in 0..8 {
            mix.push(RequestSpec {
                method: if i % 2 == 0 { "GET" } else { "POST" }.to_owned(),
                path: path.clone(),
                authority: Some(authority.clone()),
                headers: vec![
                    ("x-user-id".to_owned(), (user * 7919 + i).to_string()),
                    ("user-agent".to_owned(), "policy-cli-bench".to_owned()),
                    ("cookie".to_owned(), format!("session={user}")),
                ],
                ..RequestSpec::default()
            });
        }
    }
    mix
}

fn rule_paths(rule: &HttpRule) -> Vec<String> {
    let mut out = Vec::new();
    for entry in rule.match_.iter().flatten() {
        match &entry.uri {
            Some(StringMatch {
                prefix: Some(p), ..
            }) => {
                out.push(format!("{}/item?id=1", p.trim_end_matches('/')));
                out.push(p.clone());
            }
            Some(StringMatch { exact: Some(e), .. }) => out.push(e.clone()),
            _ => {}
        }
    }
    out.retain(|p| p.starts_with('/'));
    out
}

pub fn run(args: BenchArgs) -> ExitCode {
    let format = args.diag.error_format;
    let filter = match wasm_path(args.wasm.as_deref()).and_then(|p| Filter::load(&p)) {
        Ok(f) => f,
        Err(d) => return usage_error(d, format),
    };
    let loaded = match load_policy(&args.policy, format) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let node = NodeMeta {
        namespace: Some("prod".to_owned()),
        labels: [("app".to_owned(), "productpage".to_owned())].into(),
        port: Some(9080),
        ..NodeMeta::default()
    };
    let start = Instant::now();
    let mut plugin = match filter.plugin(&loaded.json, &node, &PeerMeta::default(), None) {
        Ok(p) => p,
        Err(d) => return usage_error(d, format),
    };
    let plugin_start = start.elapsed();
    let mix = request_mix(&loaded.doc);
    let n = args.requests.max(1);

    let bar = ProgressBar::new(n as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {bar:40} {pos}/{len} requests through the filter ({per_sec})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    for i in 0..n {
        if let Some(req) = mix.get(i % mix.len()) {
            send(&mut plugin, req, 200);
        }
        if i % 256 == 0 {
            bar.set_position(i as u64);
        }
    }
    let wasm = started.elapsed();
    bar.finish_and_clear();
    if let Some(f) = plugin.failure() {
        return usage_error(
            crate::diagnostic::Diagnostic::error(
                "filter-trapped",
                format!("the filter trapped during the run: {f}"),
            ),
            format,
        );
    }

    // the baseline: the same requests decided natively
    let source = node.source_info();
    let wire: Vec<Vec<(String, String)>> = mix.iter().map(RequestSpec::wire_headers).collect();
    let started = Instant::now();
    let mut sink = 0usize;
    for i in 0..n {
        if let Some(headers) = wire.get(i % wire.len()) {
            let d = loaded.policy.decide(&Request {
                headers,
                source: &source,
                port: Some(9080),
                random: i as u64,
                virtual_host: None,
            });
            sink = sink.wrapping_add(d.request_headers.len());
        }
    }
    let engine = started.elapsed().max(Duration::from_nanos(1));
    std::hint::black_box(sink);

    let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    let rps = |d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    let figures = Figures {
        requests: n,
        distinct_requests: mix.len(),
        plugin_start_us: plugin_start.as_secs_f64() * 1e6,
        wasm_requests_per_second: rps(wasm),
        wasm_us_per_request: per(wasm),
        engine_requests_per_second: rps(engine),
        engine_us_per_request: per(engine),
        ratio: wasm.as_secs_f64() / engine.as_secs_f64(),
    };
    let text = match args.output {
        Output::Json => serde_json::to_string_pretty(&figures).unwrap_or_default() + "\n",
        Output::Human => format!(
            "{} requests ({} distinct) through {}\n\
             \n  {:<28}{:>14}{:>16}\n  {:<28}{:>14.0}{:>16.2}\n  {:<28}{:>14.0}{:>16.2}\n\
             \n  the filter costs {:.1}x the native engine per request (headers, response, log, metrics)\n  \
             starting the plugin (instantiate + configure): {:.0} µs\n",
            n,
            mix.len(),
            filter.path.display(),
            "",
            "requests/s",
            "µs/request",
            "filter .wasm on the host",
            figures.wasm_requests_per_second,
            figures.wasm_us_per_request,
            "engine, native (baseline)",
            figures.engine_requests_per_second,
            figures.engine_us_per_request,
            figures.ratio,
            figures.plugin_start_us,
        ),
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    ExitCode::Ok
}
