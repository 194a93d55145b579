//! `guest-telemetry-floor`: the least a routing filter with request metrics
//! can do per request. It reads every request header in one call (as
//! `guest-floor`), sets two request headers (a rewritten `:path` and a
//! decision header), and in `on_log` records the four request metrics with
//! ids defined once at configure: one counter increment and three histogram
//! records. Nothing else: no property read, no label, no clock. The filter
//! benchmark measures meshpolicy with telemetry as a ratio to this.

use std::cell::Cell;
use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, MetricType};

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(TelemetryFloorRoot { ids: Rc::new(Cell::new(None)) })
    });
}}

/// The four metric ids: requests_total (counter), then the duration,
/// request size and response size histograms.
type Ids = [u32; 4];

struct TelemetryFloorRoot {
    ids: Rc<Cell<Option<Ids>>>,
}

impl Context for TelemetryFloorRoot {}

impl RootContext for TelemetryFloorRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let define = |kind, name| hostcalls::define_metric(kind, name).ok();
        let ids = (|| {
            Some([
                define(MetricType::Counter, "floor_requests_total")?,
                define(MetricType::Histogram, "floor_request_duration_milliseconds")?,
                define(MetricType::Histogram, "floor_request_bytes")?,
                define(MetricType::Histogram, "floor_response_bytes")?,
            ])
        })();
        self.ids.set(ids);
        ids.is_some()
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(TelemetryFloor {
            ids: self.ids.clone(),
            request_bytes: 0,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct TelemetryFloor {
    ids: Rc<Cell<Option<Ids>>>,
    request_bytes: u64,
}

impl Context for TelemetryFloor {}

impl HttpContext for TelemetryFloor {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let headers = self.get_http_request_headers();
        self.request_bytes = headers
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum();
        self.set_http_request_header(":path", Some("/newcatalog"));
        self.set_http_request_header(
            "x-meshpolicy-route",
            Some("reviews.prod.svc.cluster.local/v2"),
        );
        Action::Continue
    }

    fn on_log(&mut self) {
        let Some([count, duration, request, response]) = self.ids.get() else {
            return;
        };
        let _ = hostcalls::increment_metric(count, 1);
        let _ = hostcalls::record_metric(duration, 1);
        let _ = hostcalls::record_metric(request, self.request_bytes);
        let _ = hostcalls::record_metric(response, 0);
    }
}
