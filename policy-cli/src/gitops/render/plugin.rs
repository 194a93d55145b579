//! The resource that runs the filter: Istio's `WasmPlugin`
//! (`extensions.istio.io/v1alpha1`, the default) or, for Istio 1.30 and
//! later, a `TrafficExtension` (`extensions.istio.io/v1alpha1`, the same
//! settings with the module's under `spec.wasm`). Both carry the policy as
//! `pluginConfig` and pin the module by `sha256`.

use super::Node;
use super::{RenderInput, metadata, resource_name, string_map};

/// Which Istio kind runs the filter (`render --kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PluginKind {
    /// `WasmPlugin`: every supported Istio release.
    #[default]
    #[value(name = "WasmPlugin")]
    WasmPlugin,
    /// `TrafficExtension`: Istio 1.30 and later.
    #[value(name = "TrafficExtension")]
    TrafficExtension,
}

impl PluginKind {
    pub fn kind(self) -> &'static str {
        match self {
            PluginKind::WasmPlugin => "WasmPlugin",
            PluginKind::TrafficExtension => "TrafficExtension",
        }
    }

    /// The rendered file that holds the resource.
    pub fn file_name(self) -> &'static str {
        match self {
            PluginKind::WasmPlugin => WASM_PLUGIN_FILE,
            PluginKind::TrafficExtension => TRAFFIC_EXTENSION_FILE,
        }
    }
}

pub const WASM_PLUGIN_FILE: &str = "wasmplugin.yaml";
pub const TRAFFIC_EXTENSION_FILE: &str = "trafficextension.yaml";

/// How the filter's resource is rendered, beyond the image and the policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginOptions {
    pub kind: PluginKind,
    /// The Secret (docker config) in the resource's namespace that the
    /// istio-agent uses to pull a private `oci://` image.
    pub image_pull_secret: Option<String>,
}

/// The WasmPlugin or TrafficExtension of `input`.
pub(super) fn resource(input: &RenderInput<'_>) -> Node {
    let name = resource_name(&input.doc.metadata.name, None);
    let spec = match input.plugin.kind {
        PluginKind::WasmPlugin => {
            let spec = pin(input, selector(input, Node::map()));
            let spec = placement(spec).with("type", Node::str("HTTP"));
            config(input, with_match(spec))
        }
        PluginKind::TrafficExtension => {
            let wasm = pin(input, Node::map()).with("type", Node::str("HTTP"));
            with_match(placement(selector(input, Node::map()))).with_comment(
                &["The module and its policy (TrafficExtension keeps them under `wasm`)."],
                "wasm",
                config(input, wasm),
            )
        }
    };
    Node::map()
        .with("apiVersion", Node::str("extensions.istio.io/v1alpha1"))
        .with("kind", Node::str(input.plugin.kind.kind()))
        .with("metadata", metadata(input, name, "3"))
        .with("spec", spec)
}

/// `selector`, when the render names workloads.
fn selector(input: &RenderInput<'_>, node: Node) -> Node {
    if input.selector.is_empty() {
        return node;
    }
    node.with_comment(
        &["The client workloads whose outbound requests the policy decides."],
        "selector",
        Node::map().with("matchLabels", string_map(&input.selector)),
    )
}

/// Where in the chain: `phase`, `priority`.
fn placement(node: Node) -> Node {
    node.with_comment(
        &[
            "AUTHN runs the filter first in the chain, so every later filter and",
            "Istio's own stats see the rewritten path and the routed destination.",
        ],
        "phase",
        Node::str("AUTHN"),
    )
    .with_comment(
        &["Higher runs first within the phase; room is left on both sides."],
        "priority",
        Node::Number("10".to_owned()),
    )
}

/// Which traffic: the caller's side.
fn with_match(node: Node) -> Node {
    node.with_comment(
        &[
            "CLIENT: the caller's sidecar picks the route, so the filter must edit",
            "the request on its way out, before Envoy re-matches routes.",
        ],
        "match",
        Node::Seq(vec![Node::map().with("mode", Node::str("CLIENT"))]),
    )
}

/// The module and its pin: `url`, `sha256`, `imagePullPolicy`, `imagePullSecret`.
fn pin(input: &RenderInput<'_>, node: Node) -> Node {
    let node = node
        .with_comment(
            &[
                "Pinned: Istio refuses a module whose digest differs (for oci:// the",
                "manifest digest that `policy-cli package` prints). Always quoted.",
            ],
            "url",
            Node::Quoted(input.image.url.clone()),
        )
        .with("sha256", Node::Quoted(input.image.sha256.clone()))
        .with_comment(
            &["The digest pins the bytes, so a cached module is always the right one."],
            "imagePullPolicy",
            Node::str("IfNotPresent"),
        );
    match &input.plugin.image_pull_secret {
        Some(secret) => node.with_comment(
            &["A docker config Secret in this namespace: the registry's credentials."],
            "imagePullSecret",
            Node::Quoted(secret.clone()),
        ),
        None => node,
    }
}

/// What the module does on failure, and its policy.
fn config(input: &RenderInput<'_>, node: Node) -> Node {
    let plugin_config = serde_json::to_value(input.doc).unwrap_or(serde_json::Value::Null);
    node.with_comment(
        &[
            "FAIL_CLOSE: if the module cannot load, requests fail (503) rather than",
            "bypass the filter, which would also let a client pick its own subset",
            "through the decision header. Overlays may choose FAIL_OPEN.",
        ],
        "failStrategy",
        Node::str("FAIL_CLOSE"),
    )
    .with_comment(
        &["The policy itself, as the filter reads it in proxy_on_configure."],
        "pluginConfig",
        Node::from(&plugin_config),
    )
}
