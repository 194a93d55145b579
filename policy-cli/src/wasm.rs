//! The built filter `.wasm` on the host: find it, load it (compiled once,
//! cached on disk), start a plugin with a policy and node metadata, and send
//! a request through it the way Envoy would.

use std::path::{Path, PathBuf};

use host_tests::{Host, LoadedModule, NodeMetadata, Plugin, PluginOptions, Properties};

use crate::diagnostic::Diagnostic;
use crate::request::RequestSpec;
use crate::testfile::{NodeMeta, PeerMeta};

/// Where `make build` writes the filter.
pub const DEFAULT_WASM: &str = "target/meshpolicy.wasm";

/// `--wasm PATH`, else `$MESHPOLICY_WASM`, else `target/meshpolicy.wasm`;
/// a missing file is an error that says how to build it.
pub fn wasm_path(flag: Option<&Path>) -> Result<PathBuf, Diagnostic> {
    let (path, from) = match (flag, std::env::var_os("MESHPOLICY_WASM")) {
        (Some(p), _) => (p.to_path_buf(), "--wasm"),
        (None, Some(p)) if !p.is_empty() => (PathBuf::from(p), "$MESHPOLICY_WASM"),
        _ => (PathBuf::from(DEFAULT_WASM), "the default location"),
    };
    if path.is_file() {
        return Ok(path);
    }
    Err(Diagnostic::error(
        "missing-wasm",
        format!("the filter `{}` ({from}) does not exist", path.display()),
    )
    .with_help(
        "run `make build` in the project root to build target/meshpolicy.wasm, or pass --wasm PATH",
    ))
}

/// A loaded filter module.
pub struct Filter {
    module: LoadedModule,
    pub path: PathBuf,
}

impl Filter {
    pub fn load(path: &Path) -> Result<Filter, Diagnostic> {
        let host = Host::new().map_err(|e| host_error(path, &e))?;
        let module = host.load_file(path).map_err(|e| host_error(path, &e))?;
        Ok(Filter {
            module,
            path: path.to_path_buf(),
        })
    }

    /// A fresh plugin configured with `policy_json`; a refused configuration
    /// is an error carrying the filter's own log lines.
    pub fn plugin(
        &self,
        policy_json: &str,
        node: &NodeMeta,
        peer: &PeerMeta,
        route_table: Option<host_tests::RouteTable>,
    ) -> Result<Plugin, Diagnostic> {
        let mut properties = Properties::new().with_node_metadata(node_metadata(node));
        if let Some(port) = node.port {
            properties = properties.with("destination.port", i64::from(port));
        }
        if let Some(up) = &peer.upstream {
            properties = properties.with_upstream_peer(up.clone());
        }
        if let Some(down) = &peer.downstream {
            properties = properties.with_downstream_peer(down.clone());
        }
        let plugin = Plugin::start(
            &self.module,
            PluginOptions {
                plugin_config: policy_json.as_bytes().to_vec(),
                plugin_name: "meshpolicy".to_owned(),
                root_id: "meshpolicy".to_owned(),
                properties,
                route_table,
                ..PluginOptions::default()
            },
        )
        .map_err(|e| host_error(&self.path, &e))?;
        if let Some(failure) = plugin.failure() {
            return Err(trapped(&self.path, plugin.vm_started(), failure));
        }
        if !plugin.configured() {
            let logs: Vec<String> = plugin.logs().iter().map(|l| l.message.clone()).collect();
            return Err(Diagnostic::error(
                "filter-refused",
                format!("the filter `{}` refused the policy", self.path.display()),
            )
            .with_help(if logs.is_empty() {
                "the filter logged nothing".to_owned()
            } else {
                logs.join("; ")
            }));
        }
        Ok(plugin)
    }
}

/// A trap while the filter started or took its configuration: the VM is
/// failed (Envoy would fail every request of it), which is not a refusal.
fn trapped(path: &Path, vm_started: bool, failure: &str) -> Diagnostic {
    let phase = if vm_started {
        "in `proxy_on_configure`"
    } else {
        "while starting (`_initialize`, `main` or `proxy_on_vm_start`)"
    };
    Diagnostic::error(
        "filter-trapped",
        format!(
            "the filter `{}` trapped {phase}: {}",
            path.display(),
            trap_reason(failure)
        ),
    )
    .with_help(format!(
        "a trap fails the VM: Envoy would fail every request it handles; the host reported: {}",
        failure
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" | ")
    ))
}

/// The cause of a wasmtime error as the host prints it (`{e:?}`: the
/// message, a wasm backtrace, then `Caused by:` lines): the last cause.
pub fn trap_reason(failure: &str) -> String {
    let lines: Vec<&str> = failure
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let after_cause = lines
        .iter()
        .position(|l| *l == "Caused by:")
        .and_then(|i| lines.get(i + 1..))
        .and_then(|rest| rest.last());
    let reason = after_cause
        .or(lines.first())
        .copied()
        .unwrap_or("unknown trap");
    // `0: wasm trap: …` in numbered cause lists
    match reason.split_once(": ") {
        Some((n, rest)) if n.bytes().all(|b| b.is_ascii_digit()) => rest.to_owned(),
        _ => reason.to_owned(),
    }
}

fn host_error(path: &Path, e: &host_tests::Error) -> Diagnostic {
    Diagnostic::error("wasm-load", format!("cannot run `{}`: {e}", path.display()))
        .with_help("rebuild it with `make build`")
}

fn node_metadata(node: &NodeMeta) -> NodeMetadata {
    NodeMetadata {
        namespace: node.namespace.clone(),
        labels: node.labels.clone(),
        name: node.name.clone(),
        workload_name: node.workload_name.clone(),
        cluster_id: node.cluster_id.clone(),
        service_account: node.service_account.clone(),
        mesh_id: node.mesh_id.clone(),
        istio_version: node.istio_version.clone(),
        ..NodeMetadata::default()
    }
}

/// A local response: status, headers, body.
pub type LocalReply = (u32, Vec<(String, String)>, String);

/// What Envoy would do with one request after the filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The request headers the upstream sees (`None`: answered locally).
    pub upstream: Option<Vec<(String, String)>>,
    /// The filter's local response (status, headers, body).
    pub local: Option<LocalReply>,
    /// The response headers the client sees.
    pub downstream: Option<Vec<(String, String)>>,
    /// The VM failed (a trap) while handling the request.
    pub failure: Option<String>,
    /// The upstream cluster Envoy's router picked (with a route table).
    pub cluster: Option<String>,
    /// The router's response flag (`NR` when no route matched).
    pub response_flag: Option<String>,
    /// The route the router used.
    pub route_name: Option<String>,
    /// The virtual host the router selected (what `xds.virtual_host_name`
    /// told the filter).
    pub virtual_host: Option<String>,
    /// That route as the table has it, with what Envoy's router and
    /// filters enforce on it (timeout, retry policy, mirrors, fault, CORS).
    pub route: Option<host_tests::Route>,
}

impl Outcome {
    pub fn upstream_header(&self, name: &str) -> Option<String> {
        header(self.upstream.as_deref()?, name)
    }
}

/// The value of `name` in a header list; several values joined with `,`.
pub fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// Sends one request through the plugin: request headers (and body), then
/// an upstream response with `status` when the request was forwarded, then
/// the end of the stream (access log, metrics).
pub fn send(plugin: &mut Plugin, req: &RequestSpec, upstream_status: u32) -> Outcome {
    let wire = req.wire_headers();
    let pairs: Vec<(&str, &str)> = wire.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut stream = plugin.new_stream();
    stream.request_headers(&pairs, req.body.is_none());
    if let Some(body) = &req.body {
        stream.request_body(body.as_bytes(), true);
    }
    let mut outcome = Outcome {
        upstream: stream.request_headers_seen_upstream(),
        local: stream.local_response().map(|l| {
            (
                l.status,
                l.headers,
                String::from_utf8_lossy(&l.body).into_owned(),
            )
        }),
        ..Outcome::default()
    };
    outcome.cluster = stream.upstream_cluster();
    outcome.response_flag = stream.response_flag().map(str::to_owned);
    outcome.route_name = stream.route_name();
    outcome.virtual_host = stream.virtual_host_name();
    outcome.route = stream.selected_route();
    if outcome.local.is_none() && outcome.upstream.is_some() {
        let status = upstream_status.to_string();
        stream.response_headers(&[(":status", status.as_str())], true);
    }
    outcome.downstream = stream.response_headers_seen_downstream();
    stream.complete();
    outcome.failure = plugin.failure().map(str::to_owned);
    outcome
}
