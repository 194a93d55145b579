//! Plain data types a test reads back from the host.

use std::time::Duration;

/// What a stream callback told Envoy, after Envoy's conversions
/// (proxy-wasm-cpp-host `src/context.cc`, `convertVmCallResultTo*Status`):
/// `StopIteration` on headers becomes `StopAllIterationAndWatermark`, any
/// result after `send_local_response` becomes the strongest stop, and values
/// out of range are clamped the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Iteration continues: the data goes on to the next filter.
    Continue,
    /// Trailers only: stop until `continue_stream`.
    StopIteration,
    /// Headers: stop everything and buffer.
    StopAllIterationAndBuffer,
    /// Headers: stop everything (what a Rust SDK `Action::Pause` on headers becomes).
    StopAllIterationAndWatermark,
    /// Body: stop and buffer the body (a Rust SDK `Action::Pause` on a body).
    StopIterationAndBuffer,
    /// Body: stop with watermark buffering.
    StopIterationAndWatermark,
    /// Body: stop without buffering.
    StopIterationNoBuffer,
    /// The callback was not called: the stream is held by an earlier pause
    /// (the event is queued and delivered on `continue_stream`), or it ended
    /// (local response, reset), or the filter never saw this stream.
    NotDelivered,
}

impl Action {
    /// True for every stop (not for `Continue` nor `NotDelivered`).
    pub fn is_stop(self) -> bool {
        !matches!(self, Action::Continue | Action::NotDelivered)
    }
}

/// A guest callback, as recorded in [`crate::HttpStream::actions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Callback {
    RequestHeaders,
    RequestBody,
    RequestTrailers,
    ResponseHeaders,
    ResponseBody,
    ResponseTrailers,
}

/// Envoy's log levels, numbered as the ABI numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
    Critical = 5,
}

impl Level {
    pub(crate) fn from_abi(level: u32) -> Option<Level> {
        Some(match level {
            0 => Level::Trace,
            1 => Level::Debug,
            2 => Level::Info,
            3 => Level::Warn,
            4 => Level::Error,
            5 => Level::Critical,
            _ => return None,
        })
    }
}

/// One log line written by the guest (`proxy_log`, or `fd_write` to
/// stdout = info / stderr = error), with the context that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub level: Level,
    pub message: String,
    /// The context id current when the line was written (the root context is 1).
    pub context_id: u32,
}

/// A local response sent by the filter (`proxy_send_local_response`) or by
/// the host on a failed VM under fail-closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalResponse {
    pub status: u32,
    /// Response code details, e.g. `wasm_fail_stream`.
    pub details: String,
    /// The additional headers, keys lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The gRPC status argument (`u32::MAX` = none, as the SDK passes `-1`).
    pub grpc_status: u32,
}

/// Envoy's three stat kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

/// A metric's value: counters and gauges hold a number, histograms every
/// recorded sample in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricValue {
    Counter(u64),
    Gauge(u64),
    Histogram(Vec<u64>),
}

/// A metric the guest defined, by the exact name it passed to
/// `proxy_define_metric` (Envoy stores it under that stat name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    pub name: String,
    pub kind: MetricKind,
    pub value: MetricValue,
}

/// An outgoing `proxy_http_call` waiting for the test to answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCallRequest {
    pub token: u32,
    /// The cluster name (the first argument, "upstream" in the Rust SDK).
    pub upstream: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
    pub timeout: Duration,
    /// The context that made the call.
    pub context_id: u32,
}

/// The answer a test gives to an http call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpCallResponse {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
}

impl HttpCallResponse {
    /// A response with `:status` and a body.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        HttpCallResponse {
            headers: vec![(":status".to_string(), status.to_string())],
            body: body.into(),
            trailers: Vec::new(),
        }
    }
}

/// Limits that keep a hostile module from hurting the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest linear memory, in bytes (Envoy: 1 GiB).
    pub max_memory_bytes: usize,
    /// Wasm fuel (roughly instructions) per event the host delivers (a
    /// stream callback, a tick, an http call answer, a configure); what the
    /// guest chains from it (a `continue_stream`, a local reply through its
    /// own response callbacks, `on_queue_ready` after its own enqueue) spends
    /// what is left, so re-queueing cannot multiply it. Running out traps
    /// like any other trap and fails the VM.
    pub fuel_per_call: u64,
    /// Most ticks fired by one `advance_clock`.
    pub max_ticks_per_advance: u32,
    /// Most bytes one host call copies out of guest memory, and most bytes
    /// one header map or body may hold; past it the call traps with
    /// `host limit: ...` (see the table in `budget.rs`).
    pub max_copy_bytes: usize,
    /// Most bytes of log lines a plugin keeps; later lines are dropped and
    /// counted ([`crate::Plugin::dropped_logs`]).
    pub max_log_bytes: usize,
    /// Most bytes of shared data and queued items (plus 64 bytes per entry)
    /// a [`crate::SharedStore`] holds; a set or enqueue past it traps.
    pub max_shared_bytes: usize,
    /// Envoy's `max_request_headers_kb` (default 60) in bytes: request
    /// headers larger than this (keys plus values) get Envoy's 431 and never
    /// reach the filter.
    pub max_request_headers_bytes: usize,
    /// Envoy's `max_headers_count` (default 100): more request headers get
    /// Envoy's 431 and never reach the filter.
    pub max_request_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_memory_bytes: 1 << 30,
            fuel_per_call: 2_000_000_000,
            max_ticks_per_advance: 100_000,
            max_copy_bytes: crate::budget::DEFAULT_MAX_COPY_BYTES,
            max_log_bytes: crate::budget::DEFAULT_MAX_LOG_BYTES,
            max_shared_bytes: crate::budget::DEFAULT_MAX_SHARED_BYTES,
            max_request_headers_bytes: 60 * 1024,
            max_request_headers: 100,
        }
    }
}
