//! Everything the host knows about one VM, kept in the wasmtime `Store`
//! (never in globals), reached by host functions through `Caller::data_mut`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use wasmtime::{Memory, StoreLimits, TypedFunc};

use crate::header_list::Headers;
use crate::properties::Properties;
use crate::types::{
    Action, Callback, HttpCallRequest, HttpCallResponse, Level, Limits, LocalResponse, LogEntry,
    Metric, MetricKind, MetricValue,
};

/// The root context's id: Envoy allocates context ids from 1, the root
/// context of the first plugin first.
pub(crate) const ROOT_CONTEXT_ID: u32 = 1;

/// How many completed streams a plugin keeps for read-back (memory stays
/// flat however many requests a benchmark sends).
pub(crate) const KEPT_COMPLETED_STREAMS: usize = 256;

/// Most log lines a plugin keeps (`Plugin::take_logs` makes room).
pub(crate) const MAX_LOG_ENTRIES: usize = 1_000_000;

/// Most samples a histogram keeps; later samples are counted only.
pub(crate) const MAX_HISTOGRAM_SAMPLES: usize = 1_000_000;

/// Which host calls the guest may make right now. proxy-wasm-cpp-host
/// restricts them while `_initialize`/`main` run (`WasmBase::startVm`,
/// `src/wasm.cc`) and while the host calls the guest's allocator
/// (`WasmBase::allocMemory`, `include/proxy-wasm/wasm.h`); a forbidden call
/// traps with `restricted_callback`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Restriction {
    None,
    Initialize,
    Allocate,
}

/// A stream direction: request (decoding) or response (encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    Request,
    Response,
}

/// What a paused direction holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    Headers,
    Body,
    Trailers,
}

/// An event that arrived while the filter held its direction at headers;
/// Envoy delivers it after `continue_stream`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Queued {
    Body(Vec<u8>, bool),
    Trailers(Headers),
}

/// The answer to an http call while `on_http_call_response` reads it.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallResponse {
    pub headers: Headers,
    pub body: Vec<u8>,
    pub trailers: Headers,
}

impl From<HttpCallResponse> for CallResponse {
    fn from(r: HttpCallResponse) -> Self {
        CallResponse {
            headers: crate::header_list::bytes(&r.headers),
            body: r.body,
            trailers: crate::header_list::bytes(&r.trailers),
        }
    }
}

/// One direction of an HTTP stream.
#[derive(Debug, Default)]
pub(crate) struct DirState {
    /// The live header map (keys lower-cased), as the filter edits it.
    pub headers: Headers,
    /// Envoy's `request_headers_` / `response_headers_` is set (writable).
    pub headers_avail: bool,
    /// Headers arrived at all (for `on_log`).
    pub headers_started: bool,
    /// The body buffer the filter sees in the current body callback.
    pub body: Vec<u8>,
    pub body_avail: bool,
    /// The current body callback carries `end_of_stream`.
    pub body_eos: bool,
    /// The last body callback asked Envoy to buffer.
    pub buffering: bool,
    pub trailers: Headers,
    pub trailers_avail: bool,
    pub trailers_started: bool,
    /// What the filter holds, if it paused this direction.
    pub held: Option<Held>,
    /// The held event carried `end_of_stream`.
    pub held_eos: bool,
    /// Events waiting for the pause to end.
    pub queued: VecDeque<Queued>,
    /// What went past the filter: upstream for the request, downstream for
    /// the response.
    pub seen_headers: Option<Headers>,
    pub seen_body: Vec<u8>,
    pub seen_trailers: Option<Headers>,
    /// `end_of_stream` went past the filter.
    pub seen_end: bool,
    /// Number of `continue_stream` calls that resumed this direction.
    pub resumed: u32,
}

/// One HTTP stream context.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    pub request: DirState,
    pub response: DirState,
    pub local_response: Option<LocalResponse>,
    pub route_cache_clears: u32,
    pub actions: Vec<(Callback, Action)>,
    /// `on_log` is running: maps are read-only, Envoy's access-log maps.
    pub in_log: bool,
    /// Values written with `proxy_set_property` (Envoy's filter state).
    pub filter_state: Vec<(Vec<u8>, Vec<u8>)>,
    /// `on_context_create` was called for it.
    pub created: bool,
    /// The host already failed this stream (fail-closed).
    pub stream_failed: bool,
    /// `on_done`/`on_delete` ran.
    pub completed: bool,
    /// `proxy_close_stream` reset it (or Envoy's codec did).
    pub reset: bool,
    /// Envoy's codec refused the request before any filter: the response
    /// code details of its answer (`crate::codec`).
    pub refused: Option<String>,
    /// The filter is seeing its own local reply.
    pub in_local_reply: bool,
    /// The clocks when the request headers arrived (`request.time`).
    pub started: Option<(SystemTime, Duration)>,
    /// Envoy's route resolution for this stream (with a route table).
    pub route: crate::router::RouteState,
    /// Body bytes received from the downstream / the upstream.
    pub request_bytes: u64,
    pub response_bytes: u64,
}

impl StreamState {
    pub fn dir(&self, dir: Dir) -> &DirState {
        match dir {
            Dir::Request => &self.request,
            Dir::Response => &self.response,
        }
    }
    pub fn dir_mut(&mut self, dir: Dir) -> &mut DirState {
        match dir {
            Dir::Request => &mut self.request,
            Dir::Response => &mut self.response,
        }
    }
    /// The stream can no longer reach the filter.
    pub fn ended(&self) -> bool {
        (self.local_response.is_some() && !self.in_local_reply) || self.reset || self.completed
    }
}

/// What the host does after the current VM call returns (Envoy defers
/// these: `addAfterVmCallAction`).
#[derive(Debug, Clone)]
pub(crate) enum After {
    Continue(u32, Dir),
    LocalReply(u32, LocalResponse),
    Reset(u32),
    /// `proxy_done` from a root context that was waiting: delete it.
    DeleteRoot,
    QueueReady(u32, u32),
}

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub entries: Vec<Metric>,
    /// id -> index into `entries`.
    pub by_id: HashMap<u32, usize>,
    /// Envoy hands out ids per kind: kind | 4 * n (`WasmBase::next*MetricId`).
    pub next_id: [u32; 3],
}

impl Metrics {
    pub fn define(&mut self, kind: MetricKind, name: &str) -> u32 {
        let k = kind_index(kind);
        let next = self.next_id.get(k as usize).copied().unwrap_or(0);
        let id = next.wrapping_add(4) | k;
        if let Some(slot) = self.next_id.get_mut(k as usize) {
            *slot = id & !3;
        }
        // Envoy's stats scope returns the same stat for the same name.
        let idx = match self
            .entries
            .iter()
            .position(|m| m.name == name && m.kind == kind)
        {
            Some(i) => i,
            None => {
                self.entries.push(Metric {
                    name: name.to_string(),
                    kind,
                    value: match kind {
                        MetricKind::Counter => MetricValue::Counter(0),
                        MetricKind::Gauge => MetricValue::Gauge(0),
                        MetricKind::Histogram => MetricValue::Histogram(Vec::new()),
                    },
                });
                self.entries.len() - 1
            }
        };
        self.by_id.insert(id, idx);
        id
    }

    pub fn get_mut(&mut self, id: u32) -> Option<&mut Metric> {
        let idx = *self.by_id.get(&id)?;
        self.entries.get_mut(idx)
    }
}

pub(crate) fn kind_index(kind: MetricKind) -> u32 {
    match kind {
        MetricKind::Counter => 0,
        MetricKind::Gauge => 1,
        MetricKind::Histogram => 2,
    }
}

/// Shared data and shared queues. Envoy keeps them per process, keyed by
/// VM id; pass the same [`SharedStore`] to several plugins to share them.
#[derive(Debug, Default)]
pub struct SharedStoreInner {
    pub(crate) data: HashMap<(String, Vec<u8>), (Vec<u8>, u32)>,
    pub(crate) next_cas: u32,
    /// token -> queue
    pub(crate) queues: HashMap<u32, SharedQueue>,
    pub(crate) next_token: u32,
    /// Bytes held by `data` and the queues' items, as `crate::budget`
    /// counts them.
    pub(crate) bytes: usize,
}

#[derive(Debug, Default)]
pub(crate) struct SharedQueue {
    pub vm_id: String,
    pub name: Vec<u8>,
    pub context_id: u32,
    pub items: VecDeque<Vec<u8>>,
}

/// A handle to shared data and queues, shareable between plugins.
#[derive(Debug, Clone, Default)]
pub struct SharedStore(pub(crate) Arc<Mutex<SharedStoreInner>>);

impl SharedStore {
    pub fn new() -> Self {
        SharedStore::default()
    }
    /// The store locked for a host call, or `INTERNAL_FAILURE` when a
    /// panic elsewhere poisoned it.
    pub(crate) fn lock(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, SharedStoreInner>, crate::status::WasmResult> {
        self.0
            .lock()
            .map_err(|_| crate::status::WasmResult::InternalFailure)
    }

    /// The value and CAS of a shared data key of a VM.
    pub fn get(&self, vm_id: &str, key: &[u8]) -> Option<(Vec<u8>, u32)> {
        let inner = self.0.lock().ok()?;
        inner.data.get(&(vm_id.to_string(), key.to_vec())).cloned()
    }
    /// Sets a shared data key of a VM (a new CAS), as another VM would.
    pub fn set(&self, vm_id: &str, key: &[u8], value: &[u8]) {
        if let Ok(mut inner) = self.0.lock() {
            let cas = inner.next_cas.max(1);
            inner.next_cas = cas.wrapping_add(1).max(1);
            let bytes = crate::budget::entry_bytes(&[key.len(), value.len()]);
            let old = inner
                .data
                .insert((vm_id.to_string(), key.to_vec()), (value.to_vec(), cas))
                .map_or(0, |(old, _)| {
                    crate::budget::entry_bytes(&[key.len(), old.len()])
                });
            inner.bytes = inner.bytes.saturating_sub(old).saturating_add(bytes);
        }
    }

    /// Bytes of shared data and queued items held now, as
    /// [`crate::Limits::max_shared_bytes`] counts them (64 bytes per entry
    /// on top of its keys and values).
    pub fn bytes(&self) -> usize {
        self.0.lock().map_or(0, |inner| inner.bytes)
    }

    /// The items waiting in a queue of a VM.
    pub fn queue_items(&self, vm_id: &str, name: &str) -> Vec<Vec<u8>> {
        let Ok(inner) = self.0.lock() else {
            return Vec::new();
        };
        inner
            .queues
            .values()
            .find(|q| q.vm_id == vm_id && q.name == name.as_bytes())
            .map(|q| q.items.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// The clock the guest sees. Time moves only when the test advances it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    pub realtime: SystemTime,
    pub monotonic: Duration,
}

/// The store's data.
pub(crate) struct HostState {
    pub memory: Option<Memory>,
    pub malloc: Option<TypedFunc<i32, i32>>,
    pub restriction: Restriction,
    pub current_context: u32,
    pub effective_context: u32,
    pub vm_config: Vec<u8>,
    pub plugin_config: Vec<u8>,
    /// `proxy_on_configure` is running (Envoy's `temp_plugin_` is set).
    pub configuring: bool,
    pub plugin_name: String,
    pub root_id: String,
    pub vm_id: String,
    pub logs: Vec<LogEntry>,
    /// Bytes of the kept log lines (bounded by `budget.max_log_bytes`).
    pub log_bytes: usize,
    pub dropped_logs: u64,
    /// The host-side bounds of this plugin (`crate::budget`).
    pub budget: Limits,
    pub log_level: Level,
    pub metrics: Metrics,
    pub properties: Properties,
    pub streams: HashMap<u32, StreamState>,
    /// Completed streams, oldest first; the oldest are dropped past
    /// [`KEPT_COMPLETED_STREAMS`].
    pub completed: VecDeque<u32>,
    pub pending_calls: Vec<HttpCallRequest>,
    pub next_call_token: u32,
    /// The response being delivered in `on_http_call_response`.
    pub call_response: Option<CallResponse>,
    /// `proxy_get_status` (code, message) of the root context.
    pub status: (u32, Vec<u8>),
    pub shared: SharedStore,
    pub tick_period: Option<Duration>,
    /// The guest changed the tick period since the host last looked.
    pub tick_reset: bool,
    pub clock: Clock,
    pub limits: StoreLimits,
    pub stop_next_iteration: bool,
    pub after: Vec<After>,
    pub envs: Vec<(String, String)>,
    pub rng: u64,
    pub clusters: Option<Vec<String>>,
    /// The root context returned false from `on_done` and owes `proxy_done`.
    pub root_done_pending: bool,
    /// The route table Envoy's router simulation uses, if any.
    pub router: Option<std::sync::Arc<crate::router::CompiledTable>>,
    /// Host calls counted so far, when the plugin counts them.
    pub host_calls: Option<crate::calls::HostCalls>,
}

impl HostState {
    /// The context a host call acts on (`contextOrEffectiveContext`).
    pub fn context(&self) -> u32 {
        if self.effective_context != 0
            && (self.effective_context == ROOT_CONTEXT_ID
                || self.streams.contains_key(&self.effective_context))
        {
            self.effective_context
        } else {
            self.current_context
        }
    }

    pub fn stream_mut(&mut self) -> Option<&mut StreamState> {
        let id = self.context();
        self.streams.get_mut(&id)
    }

    pub fn stream(&self) -> Option<&StreamState> {
        self.streams.get(&self.context())
    }

    pub fn log(&mut self, level: Level, message: String) {
        let context_id = self.context();
        let bytes = self.log_bytes.saturating_add(message.len());
        if self.logs.len() >= MAX_LOG_ENTRIES || bytes > self.budget.max_log_bytes {
            // Host-side bound: a guest logging in a loop keeps the host's
            // memory flat; the count of dropped lines is kept.
            self.dropped_logs += 1;
            return;
        }
        self.log_bytes = bytes;
        self.logs.push(LogEntry {
            level,
            message,
            context_id,
        });
    }

    /// xorshift64*: deterministic randomness for `random_get`, seeded per
    /// plugin, so tests are reproducible.
    pub fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
impl HostState {
    /// A state with no instance behind it, for unit tests of host calls'
    /// logic.
    pub fn for_tests() -> HostState {
        HostState {
            memory: None,
            malloc: None,
            restriction: Restriction::None,
            current_context: ROOT_CONTEXT_ID,
            effective_context: 0,
            vm_config: Vec::new(),
            plugin_config: Vec::new(),
            configuring: false,
            plugin_name: "p".into(),
            root_id: "r".into(),
            vm_id: "v".into(),
            logs: Vec::new(),
            log_bytes: 0,
            dropped_logs: 0,
            budget: Limits::default(),
            log_level: Level::Info,
            metrics: Metrics::default(),
            properties: Properties::new(),
            streams: HashMap::new(),
            completed: VecDeque::new(),
            pending_calls: Vec::new(),
            next_call_token: 1,
            call_response: None,
            status: (0, Vec::new()),
            shared: SharedStore::new(),
            tick_period: None,
            tick_reset: false,
            clock: Clock {
                realtime: SystemTime::UNIX_EPOCH,
                monotonic: Duration::ZERO,
            },
            limits: Default::default(),
            stop_next_iteration: false,
            after: Vec::new(),
            envs: Vec::new(),
            rng: 1,
            clusters: None,
            root_done_pending: false,
            router: None,
            host_calls: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_can_cross_threads() {
        fn send<T: Send>() {}
        fn sync<T: Send + Sync>() {}
        send::<crate::Plugin>();
        sync::<crate::LoadedModule>();
        sync::<crate::Host>();
        sync::<SharedStore>();
    }

    #[test]
    fn shared_data_cas_starts_at_one_and_changes_on_every_set() {
        let store = SharedStore::new();
        store.set("vm", b"k", b"1");
        let (v, cas1) = store.get("vm", b"k").unwrap();
        assert_eq!((v.as_slice(), cas1), (&b"1"[..], 1));
        store.set("vm", b"k", b"2");
        let (_, cas2) = store.get("vm", b"k").unwrap();
        assert_ne!(cas1, cas2);
        assert_eq!(store.get("other-vm", b"k"), None);
    }

    #[test]
    fn metric_ids_follow_envoys_scheme() {
        let mut m = Metrics::default();
        let c1 = m.define(MetricKind::Counter, "a");
        let g1 = m.define(MetricKind::Gauge, "b");
        let h1 = m.define(MetricKind::Histogram, "c");
        let c2 = m.define(MetricKind::Counter, "d");
        assert_eq!((c1, g1, h1, c2), (4, 5, 6, 8));
        assert_eq!(c1 & 3, 0);
        assert_eq!(g1 & 3, 1);
        assert_eq!(h1 & 3, 2);
        // the same name twice is the same stat under a new id
        let c3 = m.define(MetricKind::Counter, "a");
        assert_ne!(c3, c1);
        assert_eq!(m.entries.len(), 4);
    }
}
