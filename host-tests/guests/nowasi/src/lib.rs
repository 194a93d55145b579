//! `guest-nowasi`: built for `wasm32-unknown-unknown`, so the module imports
//! nothing from WASI; the host must load and run it all the same. It stamps
//! each request with the host's clock and counts requests in a metric.
//! On this target the SDK exports its allocator as `malloc` (not
//! `proxy_on_memory_allocate`), so this guest also checks that the host
//! allocates its answers through `malloc`.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};
use std::time::UNIX_EPOCH;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(NoWasiRoot { counter: 0 }) });
}}

struct NoWasiRoot {
    counter: u32,
}

impl Context for NoWasiRoot {}

impl RootContext for NoWasiRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        match hostcalls::define_metric(MetricType::Counter, "nowasi_requests") {
            Ok(id) => {
                self.counter = id;
                true
            }
            Err(_) => false,
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(NoWasi {
            counter: self.counter,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct NoWasi {
    counter: u32,
}

impl Context for NoWasi {}

impl HttpContext for NoWasi {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let seconds = self
            .get_current_time()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.set_http_request_header("x-nowasi-time", Some(&seconds.to_string()));
        let _ = hostcalls::increment_metric(self.counter, 1);
        Action::Continue
    }
}
