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
//! # Properties
//!
//! [`Properties`] is a tree the test fills (`.with("destination.port",
//! 8080_i64)`, [`Properties::with_node_metadata`],
//! [`Properties::with_upstream_peer`], `xds.*`, `connection.mtls`,
//! `source.address`, `listener_direction`, ...). The guest reads it with
//! Envoy's path traversal and encodings (see [`PropertyValue::encode`]).
//! `request.*` / `response.*` attributes Envoy derives from the stream
//! (path, url_path, host, method, scheme, headers, id, query, time,
//! duration once complete, size, total_size, protocol, response code,
//! code_details, size, total_size) are derived by the host unless set.
//! `plugin_name`, `plugin_root_id`, `plugin_vm_id` come from
//! [`PluginOptions`]; values written with `proxy_set_property` read back by
//! name on the same stream. The top-level `node` alone is a map here
//! (Envoy serializes the `Node` protobuf); its fields read as in Envoy.
//!
//! # Fidelity notes (where a choice was made)
//!
//! Behaviour follows proxy-wasm-cpp-host (`src/exports.cc`, `src/context.cc`,
//! `src/wasm.cc`) and Envoy (`source/extensions/common/wasm/context.cc`);
//! each module cites the file it follows.
//!
//! * Header maps follow Envoy's `Context::getMap` / `getConstMap`: the
//!   request headers are writable in `on_request_headers` and while that
//!   callback's stop holds; once the stream continues they are gone:
//!   get/add/replace/remove/set_pairs/size answer `BAD_ARGUMENT`, while
//!   `get_pairs` answers `OK` with an empty map. In `on_log` the request
//!   headers, response headers and response trailers are read-only (a
//!   missing one is `NOT_FOUND`). Trailers can be added in the last body
//!   callback. `get_header_map_size` is the byte size, not the count.
//! * An empty map or buffer is handed over as address 0, size 0 (cpp-host
//!   `copyToPointerSize`); a bad pointer is `INVALID_MEMORY_ACCESS`, checked
//!   only where cpp-host touches it (a `NOT_FOUND` lookup writes nothing).
//! * Every write to the request headers counts one route cache clear
//!   (ABI <= 0.2.1, as Envoy's `onHeadersModified`).
//! * `send_local_response`, `continue_stream` and `close_stream` take effect
//!   after the VM call returns (Envoy defers them); a local response turns
//!   the callback's result into a stop. A local reply sent in the request
//!   phase runs through the filter's own response callbacks, as Envoy
//!   encodes it through the filter chain; [`HttpStream::local_response`]
//!   has it, and [`HttpStream::response_headers_seen_downstream`] shows what
//!   the client got.
//! * Events that arrive while the filter holds a direction at its headers
//!   are queued and delivered on `continue_stream` ([`Action::NotDelivered`]
//!   is returned meanwhile). After a body stop that buffers, the next body
//!   callback sees the whole buffered body.
//! * `proxy_http_call` answers (`on_http_call_response`) go to the root
//!   context, as cpp-host's `http_call` uses `root_context()`; SDKs route
//!   them by token. Tokens start at 1. Clusters are accepted unless
//!   [`PluginOptions::clusters`] lists them.
//! * A trap (including running out of fuel, or `restricted_callback` for a
//!   forbidden call during `_initialize` or inside the allocator) marks the
//!   VM failed: later callbacks are not called; under fail-closed a stream
//!   gets a local 503 with details `wasm_fail_stream` (not shown to the
//!   filter), under fail-open it passes untouched. [`Plugin::failure`] has
//!   the trap.
//! * Metrics keep the exact names the guest defined (Envoy's stat names;
//!   rendering them as Prometheus is `prometheus.rs`'s job); ids carry the
//!   kind in their low bits as in Envoy; gauges saturate at 0.
//! * All guest logs are recorded whatever the log level (a million at
//!   most, see [`Plugin::dropped_logs`]); `proxy_get_log_level` returns
//!   [`PluginOptions::log_level`].
//! * Clocks only move with [`Plugin::advance_clock`], which fires
//!   `proxy_on_tick` once per elapsed period. `random_get` is seeded
//!   ([`PluginOptions::random_seed`]) so runs repeat.
//! * gRPC calls are not supported (they return `INTERNAL_FAILURE`, as Envoy
//!   does when it cannot start a call); no foreign functions exist
//!   (`NOT_FOUND`).
//! * With [`PluginOptions::route_table`] the host simulates Envoy's router
//!   (module `router`, following envoy `config_impl.cc`, `router.cc`,
//!   `conn_manager_impl.cc`): virtual hosts by the lower-cased `:authority`
//!   (its port ignored only with `ignore_port_in_host_matching`, which
//!   Istio sets on sidecar outbound routes), exact domains, then `*.suffix`
//!   and `prefix*` longest first, then `*`; the first matching route wins;
//!   path matchers see the path without query and fragment; several values
//!   of a header are joined with `,`; a query parameter's first value is
//!   matched undecoded. The route is resolved before the filter runs; an
//!   edit of the request headers clears the cache but not the stream info,
//!   so `xds.*` keep the old answer until the router resolves the route
//!   again (envoyproxy/envoy#20157); a missing `:authority` finds no
//!   virtual host unless `*` is the only one. The router answers 404
//!   `route_not_found` (flag `NR`, via the filter's response callbacks),
//!   direct responses and redirects (`direct_response`), else applies the
//!   route's request header edits, host rewrite and path rewrite to the
//!   headers sent upstream. Weighted clusters pick `random % total` with
//!   the stream's random value ([`HttpStream::set_route_random`], else drawn
//!   from the seeded generator). Not simulated: cluster existence (every
//!   named cluster exists), the router's own `x-envoy-*` headers, response
//!   header edits, retries, timeouts, mirrors and per-filter configs (they
//!   are carried for the test to read, [`HttpStream::selected_route`]).
//! * Request headers Envoy's codec refuses never reach the filter: a
//!   control character, CR, LF or NUL in a value gets Envoy's `400`, more
//!   than 60 KiB or 100 request headers (Envoy's defaults,
//!   [`Limits::max_request_headers_bytes`]) its `431`, a pseudo-header
//!   sent twice a reset (`codec.rs`,
//!   [`HttpStream::refused_by_codec`]).
//! * Host-side bounds no Envoy has, so a hostile guest cannot exhaust the
//!   host (`budget.rs` has the table): one host call copies at most
//!   [`Limits::max_copy_bytes`] out of guest memory and a header map or
//!   body holds at most that (past it the call traps), logs keep
//!   [`Limits::max_log_bytes`] (later lines are dropped and counted),
//!   shared data and queues hold [`Limits::max_shared_bytes`], histograms
//!   keep 1M samples, a plugin keeps its last 256 completed streams for
//!   read-back. Fuel is given per event the host delivers, and what the
//!   guest chains from it (continues, local replies, queue notifications)
//!   spends the rest, so re-queueing from `on_queue_ready` cannot
//!   multiply it.

mod abi;
mod budget;
mod calls;
mod codec;
mod encoding;
mod error;
mod flow;
mod header_list;
mod memory;
mod module;
mod plugin;
mod properties;
mod router;
mod state;
mod status;
mod stream;
mod types;
mod wasi;

/// `/stats/prometheus` rendering of a plugin's metrics (Envoy's tag extraction).
pub mod prometheus;

pub use calls::HostCalls;
pub use error::Error;
pub use module::{AbiVersion, Host, LoadedModule, ModuleSource};
pub use plugin::{Plugin, PluginOptions};
pub use properties::{NodeMetadata, PeerMetadata, Properties, PropertyValue};
pub use router::{
    ClusterWeight, DirectResponseAction, HeaderMatcher, HeaderValueOption, QueryParameterMatcher,
    RedirectAction, RegexRewrite, Route, RouteAction, RouteMatch, RouteTable, VirtualHost,
    WeightedClusters,
};
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
