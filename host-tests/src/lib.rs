//! An Envoy-faithful proxy-wasm host on wasmtime, for testing filters offline.
//!
//! It runs any proxy-wasm module (ABI 0.2.0 / 0.2.1) the way Envoy's
//! proxy-wasm-cpp-host does, so the very `.wasm` that ships to the mesh is the
//! one under test. See `docs/ARCHITECTURE.md` for where it sits.
//!
//! # The three objects
//!
//! * [`Host`] compiles a module once. Compiled code is cached in-process (so
//!   every test in one binary shares it) and on disk, keyed by the sha256 of
//!   the module bytes (`$HOST_TESTS_CACHE`, else `<workspace>/target/host-tests-cache`).
//! * [`Plugin`] is a fresh instance with its root context created, the VM
//!   started (`proxy_on_vm_start` with the VM configuration) and configured
//!   (`proxy_on_configure` with the plugin configuration). A configure that
//!   returns false is reported by [`Plugin::configured`], not as an `Err`.
//! * [`HttpStream`] drives one HTTP stream through the callbacks and reports
//!   what Envoy would do: the [`Action`] per callback, the headers and bodies
//!   the upstream / downstream would see, the local response, the number of
//!   route cache clears.
//!
//! ```no_run
//! use host_tests::{Host, Plugin, PluginOptions, Properties, Action};
//!
//! # fn main() -> Result<(), host_tests::Error> {
//! let host = Host::new()?;
//! let module = host.load_file("target/meshpolicy.wasm")?;
//! let mut plugin = Plugin::start(
//!     &module,
//!     PluginOptions {
//!         plugin_config: br#"{"spec":{}}"#.to_vec(),
//!         properties: Properties::new()
//!             .with_node_metadata(host_tests::NodeMetadata {
//!                 namespace: Some("prod".into()),
//!                 labels: [("app".to_string(), "web".to_string())].into(),
//!                 ..Default::default()
//!             })
//!             .with("destination.port", 8080_i64),
//!         ..PluginOptions::default()
//!     },
//! )?;
//! assert!(plugin.configured());
//!
//! let mut stream = plugin.new_stream();
//! let action = stream.request_headers(
//!     &[(":method", "GET"), (":path", "/wpcatalog"), (":authority", "reviews")],
//!     true,
//! );
//! assert_eq!(action, Action::Continue);
//! let upstream = stream.request_headers_seen_upstream().expect("forwarded");
//! assert!(upstream.iter().any(|(k, _)| k == ":path"));
//! stream.response_headers(&[(":status", "200")], true);
//! stream.complete(); // on_log, on_done, on_delete
//! drop(stream);
//!
//! for metric in plugin.metrics() {
//!     println!("{} {:?} {:?}", metric.name, metric.kind, metric.value);
//! }
//! for log in plugin.logs() {
//!     println!("{:?} {}", log.level, log.message);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Fidelity notes (where a choice was made)
//!
//! * Header maps follow Envoy's `Context::getMap`: the request headers are
//!   writable in `on_request_headers` and while that callback's pause holds;
//!   after the stream continues they are gone (`BAD_ARGUMENT`), except
//!   read-only in `on_log`. Same for the other maps.
//! * Every write to the request headers (`add`, `replace`, `remove`,
//!   `set_pairs`) counts one route cache clear (ABI <= 0.2.1, as Envoy).
//! * `send_local_response` and `continue_stream` take effect after the VM
//!   call returns (Envoy defers both); a local response overrides `Continue`.
//! * A trap marks the VM failed: later callbacks are not called; under
//!   fail-closed a stream gets a local 503 with details `wasm_fail_stream`,
//!   under fail-open it passes untouched.
//! * All guest logs are recorded whatever the log level; `proxy_get_log_level`
//!   returns [`PluginOptions::log_level`].
//! * gRPC calls are not supported (they return `INTERNAL_FAILURE`, as Envoy
//!   does when it cannot start a call).

mod abi;
mod encoding;
mod error;
mod flow;
mod memory;
mod module;
mod plugin;
mod properties;
mod state;
mod status;
mod stream;
mod types;
mod wasi;

/// `/stats/prometheus` rendering of a plugin's metrics (Envoy's tag extraction).
pub mod prometheus;

pub use error::Error;
pub use module::{AbiVersion, Host, LoadedModule, ModuleSource};
pub use plugin::{Plugin, PluginOptions};
pub use properties::{NodeMetadata, PeerMetadata, Properties, PropertyValue};
pub use state::SharedStore;
pub use status::WasmResult;
pub use stream::HttpStream;
pub use types::{
    Action, Callback, HttpCallRequest, HttpCallResponse, Level, Limits, LocalResponse, LogEntry,
    Metric, MetricKind, MetricValue,
};

/// Serialization of header pairs in the proxy-wasm wire format (`u32` count,
/// `u32` sizes, NUL-terminated keys and values), and the parsing Envoy does.
pub mod pairs {
    pub use crate::encoding::{deserialize_pairs, serialize_pairs};
}
