//! meshpolicy's proxy-wasm filter: the glue between Envoy and the engine.
//!
//! `on_configure` parses and compiles the plugin configuration once (a bad
//! one is logged error by error and refused, and the last good policy stays
//! active) and reads what depends only on the proxy: node metadata (one
//! host call) and, when a metric is enabled, the listener's direction. Each
//! request reads all its headers with one host call, asks the engine for a
//! decision and applies it with `Decision::apply` onto the request headers
//! (SPEC §2.4: `:path`, header edits, the decision header naming the
//! destination, or a local response); `on_log` records the metrics through
//! the engine's `StatRecorder`. Every host call is in `host.rs`.

mod host;

use std::cell::RefCell;
use std::hash::{BuildHasher, RandomState};
use std::rc::Rc;

use meshpolicy_engine::node::NodeMetadata;
use meshpolicy_engine::random::Random;
use meshpolicy_engine::telemetry::cel::HeaderMap;
use meshpolicy_engine::telemetry::{self, Decided, Mode, NodeInfo, StatRecorder, metric_value};
use meshpolicy_engine::{Decision, Policy, Request, SourceInfo, port};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType};

use crate::host::{HeaderEdits, Host};

static LOG: host::HostLog = host::HostLog;

proxy_wasm::main! {{
    let _ = log::set_logger(&LOG);
    log::set_max_level(log::LevelFilter::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::new()) });
}}

/// What a configure produced: the policy and the proxy's own workload
/// (node metadata, read once per configure).
struct Active {
    policy: Policy,
    source: SourceInfo,
}

/// What the root context shares with its streams.
struct Shared {
    /// From the last configuration that compiled; `None` until one does.
    active: RefCell<Option<Rc<Active>>>,
    random: Random,
    /// The reporter mode, metric ids and `maxValues` state of this VM.
    stats: RefCell<StatRecorder>,
    /// The request headers of the last request, kept for their buffers:
    /// the next request decodes into them instead of allocating two
    /// strings per header (a VM runs one callback at a time).
    headers: RefCell<Vec<(String, String)>>,
}

/// A request whose serialized headers are larger gives its buffers back
/// instead of keeping them for the next request: memory kept per VM stays
/// small whatever one request carried.
const KEEP_HEADERS_BYTES: usize = 8 * 1024;

struct Root(Rc<Shared>);

impl Root {
    /// No host call before configure: Envoy hands node metadata over with
    /// the configuration. The seed comes from the host (WASI `random_get`,
    /// through std's `RandomState`).
    fn new() -> Self {
        Root(Rc::new(Shared {
            active: RefCell::new(None),
            random: Random::with_seed(RandomState::new().hash_one(0x6d65_7368_706f_6c69_u64)),
            stats: RefCell::new(StatRecorder::with_mode(NodeInfo::unknown(), Mode::Client)),
            headers: RefCell::new(Vec::new()),
        }))
    }

    /// Refuses a configuration: Envoy rejects it, and on a reconfigure the
    /// policy already active stays active.
    fn refuse(&self) -> bool {
        if self.0.active.borrow().is_some() {
            log::warn!("meshpolicy: configuration refused; the last good policy stays active");
        }
        false
    }
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let config = host::plugin_configuration().unwrap_or_default();
        let text = match std::str::from_utf8(&config) {
            Ok(text) => text,
            Err(err) => {
                log::error!("meshpolicy: plugin configuration is not UTF-8: {err}");
                return self.refuse();
            }
        };
        let policy = match Policy::from_json(text) {
            Ok(policy) => policy,
            Err(errors) => {
                for error in &errors.errors {
                    log::error!("meshpolicy: invalid policy: {error}");
                }
                return self.refuse();
            }
        };
        for warning in policy.warnings() {
            log::warn!("meshpolicy: {warning}");
        }
        log::info!(
            "meshpolicy: policy active with {} rule(s) in {} virtual service(s)",
            policy.rule_count(),
            policy.virtual_service_count()
        );
        let node = NodeMetadata::read(&Host);
        *self.0.stats.borrow_mut() = StatRecorder::new(node.node_info(), policy.telemetry(), &Host);
        let source = node.source_info();
        *self.0.active.borrow_mut() = Some(Rc::new(Active { policy, source }));
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream {
            active: self.0.active.borrow().clone(),
            shared: self.0.clone(),
            decision: None,
            grpc_read: None,
            bodies: [0, 0],
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// One HTTP request through the filter.
struct Stream {
    /// In effect when the stream started (`None`: pass through).
    active: Option<Rc<Active>>,
    shared: Rc<Shared>,
    /// What the engine decided on the request path.
    decision: Option<Decision>,
    /// The request's `content-type` as read: whether it is gRPC
    /// (`telemetry::read_grpc`).
    grpc_read: Option<bool>,
    /// Request and response body bytes seen (for the size metrics when
    /// Envoy has no total size).
    bodies: [u64; 2],
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(active) = self.active.clone() else {
            return Action::Continue;
        };
        let mut headers = self.shared.headers.take();
        let size = host::headers_into(HeaderMap::Request, &mut headers);
        // The virtual host Envoy's router selected; without it the engine
        // selects by `:authority`.
        let virtual_host = host::property_joined(b"xds\0virtual_host_name")
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .filter(|name| !name.is_empty());
        let port = active.policy.uses_port().then(|| {
            let property = host::property_joined(b"destination\0port");
            port::of_request(property.as_deref(), &headers)
        });
        // Decided in place: a decision is large, and moving it costs.
        let decision = self.decision.insert(active.policy.decide(&Request {
            headers: &headers,
            source: &active.source,
            port: port.flatten(),
            random: self.shared.random.next_u64(),
            virtual_host: virtual_host.as_deref(),
        }));
        if let Some(reason) = &decision.rewrite_rejected {
            log::warn!("meshpolicy: rewrite refused, answered 400: {reason}");
        }
        let request = &mut HeaderEdits::new(HeaderMap::Request, Some(&headers));
        let local = decision.apply(request).map(host::send_local_response);
        let stats = self.shared.stats.try_borrow();
        if stats.is_ok_and(|s| s.records(active.policy.telemetry())) {
            self.grpc_read = telemetry::read_grpc(&headers);
        }
        if size <= KEEP_HEADERS_BYTES {
            *self.shared.headers.borrow_mut() = headers;
        }
        local.map_or(Action::Continue, |()| Action::Pause)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Some(decision) = &self.decision {
            decision.apply_response(&mut HeaderEdits::new(HeaderMap::Response, None));
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, _end_of_stream: bool) -> Action {
        self.bodies[0] = self.bodies[0].saturating_add(body_size as u64);
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, _end_of_stream: bool) -> Action {
        self.bodies[1] = self.bodies[1].saturating_add(body_size as u64);
        Action::Continue
    }

    fn on_log(&mut self) {
        let (Some(active), Ok(mut stats)) = (&self.active, self.shared.stats.try_borrow_mut())
        else {
            return;
        };
        // With every metric disabled, no host call at all.
        let telemetry = active.policy.telemetry();
        if !stats.records(telemetry) {
            return;
        }
        // gRPC or not as the request headers passed (`Decided::grpc`).
        let decided = Decided::of(self.decision.as_ref(), self.grpc_read);
        let value = |metric| metric_value(metric, &Host, &Host, self.bodies);
        stats.record(telemetry, &Host, decided, &mut Host, value);
    }
}
