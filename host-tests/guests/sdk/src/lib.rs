//! `guest-sdk`: a filter written with the proxy-wasm Rust SDK that walks the
//! whole context lifecycle and logs each step as `sdk <event> <detail>`.
//! The SDK panics (traps) on any status it does not expect, so merely
//! running this guest checks the host answers as Envoy does.
//!
//! The plugin configuration is `key=value` words: `tick=<ms>` sets a tick
//! period; each tick enqueues the tick number on the `sdk-ticks` queue.
//! The request header `x-sdk` picks what a request does:
//! `call` (an http call to `auth-cluster`; a 200 resumes the request, else
//! 403), `deny` (a local 401), `shared` (a CAS increment of shared data),
//! `pause` (pauses; the next tick resumes it), anything else continues.

mod http;

use log::info;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, LogLevel, MetricType};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|context_id| -> Box<dyn RootContext> {
        Box::new(SdkRoot { context_id, ..SdkRoot::default() })
    });
}}

/// Streams paused until the next tick (`x-sdk: pause`).
pub type Paused = Rc<RefCell<Vec<u32>>>;

#[derive(Default)]
struct SdkRoot {
    context_id: u32,
    requests: u32,
    queue: u32,
    ticks: u64,
    paused: Paused,
}

impl Context for SdkRoot {}

impl RootContext for SdkRoot {
    fn on_vm_start(&mut self, _size: usize) -> bool {
        let config = self.get_vm_configuration().unwrap_or_default();
        info!(
            "sdk vm_start {} {}",
            self.context_id,
            String::from_utf8_lossy(&config)
        );
        true
    }

    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        let config = String::from_utf8_lossy(&config).into_owned();
        info!("sdk configure {config}");
        for word in config.split_whitespace() {
            if let Some(ms) = word.strip_prefix("tick=").and_then(|v| v.parse().ok()) {
                self.set_tick_period(Duration::from_millis(ms));
            }
            if word == "reject" {
                return false;
            }
        }
        let (Ok(requests), Ok(queue)) = (
            hostcalls::define_metric(MetricType::Counter, "sdk_requests_total"),
            hostcalls::register_shared_queue("sdk-ticks"),
        ) else {
            return false;
        };
        self.requests = requests;
        self.queue = queue;
        true
    }

    fn on_tick(&mut self) {
        self.ticks += 1;
        let now = self.get_current_time();
        let nanos = now
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        info!("sdk tick {} {nanos}", self.ticks);
        let _ =
            hostcalls::enqueue_shared_queue(self.queue, Some(self.ticks.to_string().as_bytes()));
        let paused: Vec<u32> = self.paused.borrow_mut().drain(..).collect();
        for context_id in paused {
            let _ = hostcalls::set_effective_context(context_id);
            let _ = hostcalls::resume_http_request();
            info!("sdk resumed {context_id}");
        }
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        while let Ok(Some(item)) = hostcalls::dequeue_shared_queue(queue_id) {
            info!("sdk queue {}", String::from_utf8_lossy(&item));
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(http::SdkHttp::new(
            context_id,
            self.requests,
            self.paused.clone(),
        )))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
