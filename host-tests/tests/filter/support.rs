//! One compiled filter module shared by every test, and small helpers.

use host_tests::{Plugin, PluginOptions, Properties};
use serde_json::Value;

/// The built filter compiled once, its path, the article's policy
/// (`manifests/policy/reviews.policy.yaml`) and a policy document around a
/// `spec`: the test kit's.
pub use test_kit::{
    article_policy, filter_module as module, filter_wasm_path as wasm_path, policy,
};

pub fn options(config: &Value) -> PluginOptions {
    PluginOptions {
        plugin_config: serde_json::to_vec(config).unwrap(),
        // the client (the productpage sidecar) runs in `prod`, where the
        // short name `reviews` resolves
        properties: Properties::new().with_node_metadata(host_tests::NodeMetadata {
            namespace: Some("prod".into()),
            ..Default::default()
        }),
        ..PluginOptions::default()
    }
}

/// A started plugin that accepted `config`.
pub fn plugin(config: &Value) -> Plugin {
    test_kit::configured(module(), options(config))
}

/// What one request looks like upstream: the request headers after the filter.
pub struct Outcome {
    pub action: host_tests::Action,
    pub upstream: Option<Vec<(String, String)>>,
    pub local: Option<host_tests::LocalResponse>,
    pub route_cache_clears: u32,
}

impl Outcome {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.values(name).first().copied()
    }

    pub fn values(&self, name: &str) -> Vec<&str> {
        self.upstream
            .as_ref()
            .expect("request forwarded upstream")
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn path(&self) -> &str {
        self.header(":path").expect(":path upstream")
    }

    /// The decision header's key (`<fqdn>[/<subset>][:<port>][@<authority>]`).
    pub fn key(&self) -> Option<&str> {
        self.header("x-meshpolicy-route")
    }

    /// The subset named by the decision key.
    pub fn subset(&self) -> Option<&str> {
        let key = self.key()?;
        let key = key.split('@').next().unwrap_or(key);
        let (_, rest) = key.split_once('/')?;
        Some(rest.split(':').next().unwrap_or(rest))
    }
}

/// Sends `GET path` to `reviews:9080` with `extra` headers through a new
/// stream of `plugin`.
pub fn request(plugin: &mut Plugin, path: &str, extra: &[(&str, &str)]) -> Outcome {
    request_to(plugin, "reviews:9080", path, extra)
}

/// Sends `GET path` to `authority` with `extra` headers through a new
/// stream of `plugin`.
pub fn request_to(
    plugin: &mut Plugin,
    authority: &str,
    path: &str,
    extra: &[(&str, &str)],
) -> Outcome {
    let mut headers = vec![
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", authority),
        (":path", path),
    ];
    headers.extend_from_slice(extra);
    let mut stream = plugin.new_stream();
    let action = stream.request_headers(&headers, true);
    let outcome = Outcome {
        action,
        upstream: stream.request_headers_seen_upstream(),
        local: stream.local_response(),
        route_cache_clears: stream.route_cache_clears(),
    };
    stream.complete();
    outcome
}
