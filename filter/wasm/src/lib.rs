//! meshpolicy's proxy-wasm filter: the glue between Envoy and the engine.
//!
//! `on_configure` parses and compiles the plugin configuration once (a bad
//! one is logged error by error and refused, and the last good policy stays
//! active); each request reads all its headers with one host call, asks the
//! engine for a decision and applies it as SPEC §2.4 says: `:path`, header
//! edits (the first of which removes any client-supplied decision header),
//! the decision header naming the destination, or a local response. It never
//! writes `:authority`: Envoy would select another virtual host.

mod apply;
mod metrics;
mod node;
mod pairs;
mod proto;
mod random;

use std::cell::RefCell;
use std::rc::Rc;

use meshpolicy_engine::{Policy, Request, SourceInfo};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

use crate::random::Random;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::new()) });
}}

/// What the root context shares with its streams.
struct Shared {
    /// The last policy that compiled; `None` until one does.
    policy: RefCell<Option<Rc<Policy>>>,
    /// This proxy's workload, from node metadata read once per configure.
    source: RefCell<Rc<SourceInfo>>,
    random: Random,
    /// Metric ids defined so far and the `maxValues` state (metrics.rs).
    metrics: RefCell<metrics::Metrics>,
}

struct Root {
    shared: Rc<Shared>,
}

impl Root {
    fn new() -> Self {
        Self {
            shared: Rc::new(Shared {
                policy: RefCell::new(None),
                source: RefCell::new(Rc::new(SourceInfo::default())),
                random: Random::from_host(),
                metrics: RefCell::new(metrics::Metrics::new(node::unknown_node())),
            }),
        }
    }
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        let text = match std::str::from_utf8(&config) {
            Ok(text) => text,
            Err(err) => {
                log::error!("meshpolicy: plugin configuration is not UTF-8: {err}");
                return self.refuse();
            }
        };
        match Policy::from_json(text) {
            Ok(policy) => {
                for warning in policy.warnings() {
                    log::warn!("meshpolicy: {warning}");
                }
                log::info!(
                    "meshpolicy: policy active with {} rule(s) in {} virtual service(s)",
                    policy.rule_count(),
                    policy.virtual_service_count()
                );
                // One host call for everything node metadata gives.
                let node = node::NodeMetadata::read();
                *self.shared.source.borrow_mut() = Rc::new(node.source_info());
                *self.shared.policy.borrow_mut() = Some(Rc::new(policy));
                *self.shared.metrics.borrow_mut() = metrics::Metrics::new(node.node_info());
                true
            }
            Err(errors) => {
                for error in &errors.errors {
                    log::error!("meshpolicy: invalid policy: {error}");
                }
                self.refuse()
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream {
            policy: self.shared.policy.borrow().clone(),
            source: self.shared.source.borrow().clone(),
            shared: self.shared.clone(),
            response_ops: Vec::new(),
            metrics: metrics::StreamMetrics::default(),
            labels: None,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

impl Root {
    /// Refuses a configuration: Envoy rejects it, and on a reconfigure the
    /// policy already active stays active.
    fn refuse(&self) -> bool {
        if self.shared.policy.borrow().is_some() {
            log::warn!("meshpolicy: configuration refused; the last good policy stays active");
        }
        false
    }
}

/// One HTTP request through the filter.
struct Stream {
    /// The policy in effect when the stream started (`None`: pass through).
    policy: Option<Rc<Policy>>,
    source: Rc<SourceInfo>,
    shared: Rc<Shared>,
    /// Response header edits decided on the request path.
    response_ops: Vec<meshpolicy_engine::HeaderOp>,
    /// What the request metrics measure along the stream (metrics.rs).
    metrics: metrics::StreamMetrics,
    /// The decision's `policy_rule` / `policy_destination` labels.
    labels: Option<meshpolicy_engine::DecisionLabels>,
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(policy) = self.policy.clone() else {
            return Action::Continue;
        };
        let headers = pairs::request_headers();
        let virtual_host = node::virtual_host_name();
        let request = Request {
            headers: &headers,
            source: &self.source,
            port: if policy.uses_port() {
                node::destination_port(&headers)
            } else {
                None
            },
            random: self.shared.random.next_u64(),
            virtual_host: virtual_host.as_deref(),
        };
        let decision = policy.decide(&request);
        self.labels = Some(decision.labels.clone());
        if let Some(reason) = &decision.rewrite_rejected {
            log::warn!("meshpolicy: rewrite refused, answered 400: {reason}");
        }
        if let Some(response) = &decision.local_response {
            apply::send_local_response(self, response);
            return Action::Pause;
        }
        apply::request_edits(self, &headers, &decision);
        self.response_ops = decision.response_headers;
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        apply::header_ops(self, apply::Side::Response, &self.response_ops);
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, _end_of_stream: bool) -> Action {
        self.metrics.request_body(body_size);
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, _end_of_stream: bool) -> Action {
        self.metrics.response_body(body_size);
        Action::Continue
    }

    fn on_log(&mut self) {
        let Some(policy) = &self.policy else {
            return;
        };
        let Ok(mut shared) = self.shared.metrics.try_borrow_mut() else {
            return;
        };
        let (rule, destination) = match &self.labels {
            Some(l) => (l.policy_rule.as_ref(), l.policy_destination.as_ref()),
            None => ("unknown", "unknown"),
        };
        self.metrics
            .log(&mut shared, policy.telemetry(), rule, destination);
    }
}
