//! A plugin: one instance of a module with its root context, driven
//! through the lifecycle Envoy drives it through (proxy-wasm-cpp-host
//! `src/wasm.cc` `startVm`, `src/context.cc` `onStart`/`onConfigure`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasmtime::{Store, StoreLimitsBuilder, TypedFunc, WasmParams, WasmResults};

mod events;

use crate::error::Error;
use crate::module::LoadedModule;
use crate::properties::Properties;
use crate::state::{
    Clock, HostState, Metrics, ROOT_CONTEXT_ID, Restriction, SharedStore, StreamState,
};
use crate::stream::HttpStream;
use crate::types::{Level, Limits, LogEntry, Metric};

/// How to start a plugin. `Default` gives an empty configuration, fail-closed,
/// log level info, a fixed start time, and Envoy-like limits.
#[derive(Debug, Clone)]
pub struct PluginOptions {
    /// Handed to `proxy_on_vm_start` (`vm_config.configuration`).
    pub vm_config: Vec<u8>,
    /// Handed to `proxy_on_configure` (Istio's `pluginConfig` as JSON).
    pub plugin_config: Vec<u8>,
    pub root_id: String,
    pub vm_id: String,
    pub plugin_name: String,
    /// Envoy's `fail_open`: after a VM failure, streams pass untouched
    /// instead of getting a 503.
    pub fail_open: bool,
    pub properties: Properties,
    /// The realtime clock at start (it moves only with `advance_clock`).
    pub start_time: SystemTime,
    /// What `proxy_get_log_level` returns.
    pub log_level: Level,
    pub limits: Limits,
    /// WASI environment variables (Envoy's `vm_config.environment_variables`).
    pub envs: Vec<(String, String)>,
    /// Seed of `random_get`.
    pub random_seed: u64,
    /// Shared data and queues; share one store between plugins to model
    /// Envoy's process-wide shared data.
    pub shared: SharedStore,
    /// Clusters an http call may target; `None` accepts any.
    pub clusters: Option<Vec<String>>,
    /// Envoy's route table for the stream's listener: with one, the host
    /// simulates Envoy's router (route selection, `xds.*` properties, 404
    /// `NR`, rewrites); without one, requests pass as before.
    pub route_table: Option<crate::router::RouteTable>,
    /// Count the guest's host calls from the start
    /// ([`Plugin::host_calls`]); off by default, so benchmarks pay nothing.
    pub count_host_calls: bool,
}

impl Default for PluginOptions {
    fn default() -> Self {
        PluginOptions {
            vm_config: Vec::new(),
            plugin_config: Vec::new(),
            root_id: String::new(),
            vm_id: String::new(),
            plugin_name: String::new(),
            fail_open: false,
            properties: Properties::new(),
            start_time: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            log_level: Level::Info,
            limits: Limits::default(),
            envs: Vec::new(),
            random_seed: 0x9E37_79B9_7F4A_7C15,
            shared: SharedStore::new(),
            clusters: None,
            route_table: None,
            count_host_calls: false,
        }
    }
}

type F1 = TypedFunc<i32, ()>;
type F2 = TypedFunc<(i32, i32), ()>;
type F1R = TypedFunc<i32, i32>;
type F2R = TypedFunc<(i32, i32), i32>;
type F3R = TypedFunc<(i32, i32, i32), i32>;
type F5 = TypedFunc<(i32, i32, i32, i32, i32), ()>;

/// The guest's callbacks, looked up once.
#[derive(Default)]
pub(crate) struct Exports {
    pub on_context_create: Option<F2>,
    pub on_vm_start: Option<F2R>,
    pub on_configure: Option<F2R>,
    pub on_tick: Option<F1>,
    pub on_request_headers: Option<F3R>,
    pub on_request_body: Option<F3R>,
    pub on_request_trailers: Option<F2R>,
    pub on_response_headers: Option<F3R>,
    pub on_response_body: Option<F3R>,
    pub on_response_trailers: Option<F2R>,
    pub on_log: Option<F1>,
    pub on_done: Option<F1R>,
    pub on_delete: Option<F1>,
    pub on_http_call_response: Option<F5>,
    pub on_queue_ready: Option<F2>,
}

/// A running plugin: a fresh instance, root context started and configured.
pub struct Plugin {
    pub(crate) store: Store<HostState>,
    pub(crate) exports: Arc<Exports>,
    pub(crate) fail_open: bool,
    pub(crate) failure: Option<String>,
    vm_started: bool,
    configured: bool,
    next_context_id: u32,
    next_tick: Option<Duration>,
    pub(crate) limits: Limits,
    root_deleted: bool,
    /// The host is running what the guest chained from an event
    /// ([`Plugin::run_after`]): guest calls spend the event's fuel.
    chained: bool,
    /// Fuel the last event spent so far (its call plus what it chained).
    fuel_spent: u64,
    /// Fuel every guest call spent since the plugin started.
    fuel_total: u64,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("vm_started", &self.vm_started)
            .field("configured", &self.configured)
            .field("failure", &self.failure)
            .finish()
    }
}

fn export<P: WasmParams, R: WasmResults>(
    instance: &wasmtime::Instance,
    store: &mut Store<HostState>,
    name: &str,
) -> Result<Option<TypedFunc<P, R>>, Error> {
    if instance.get_func(&mut *store, name).is_none() {
        return Ok(None);
    }
    instance
        .get_typed_func::<P, R>(&mut *store, name)
        .map(Some)
        .map_err(|_| Error::ExportSignature(name.to_string()))
}

/// The host's state for a new VM: everything in `options`, nothing run yet.
pub(crate) fn host_state(
    options: PluginOptions,
    router: Option<Arc<crate::router::CompiledTable>>,
) -> HostState {
    let limits = StoreLimitsBuilder::new()
        .memory_size(options.limits.max_memory_bytes)
        .table_elements(1 << 20)
        .instances(1)
        .build();
    HostState {
        memory: None,
        malloc: None,
        restriction: Restriction::Initialize,
        current_context: ROOT_CONTEXT_ID,
        effective_context: 0,
        vm_config: options.vm_config,
        plugin_config: options.plugin_config,
        configuring: false,
        plugin_name: options.plugin_name,
        root_id: options.root_id,
        vm_id: options.vm_id,
        logs: Vec::new(),
        log_bytes: 0,
        dropped_logs: 0,
        budget: options.limits,
        log_level: options.log_level,
        metrics: Metrics::default(),
        properties: options.properties,
        streams: HashMap::new(),
        completed: Default::default(),
        pending_calls: Vec::new(),
        next_call_token: 1,
        call_response: None,
        status: (0, Vec::new()),
        shared: options.shared,
        tick_period: None,
        tick_reset: false,
        clock: Clock {
            realtime: options.start_time,
            monotonic: Duration::ZERO,
        },
        limits,
        stop_next_iteration: false,
        after: Vec::new(),
        envs: options.envs,
        rng: options.random_seed.max(1),
        clusters: options.clusters,
        root_done_pending: false,
        router,
        host_calls: options
            .count_host_calls
            .then(crate::calls::HostCalls::default),
    }
}

impl Plugin {
    /// Instantiates the module and runs `_initialize` (or `_start`),
    /// `proxy_on_context_create` for the root context, `proxy_on_vm_start`
    /// and `proxy_on_configure`. A guest that traps or returns false is not
    /// an `Err`: see [`Plugin::vm_started`], [`Plugin::configured`],
    /// [`Plugin::is_failed`].
    pub fn start(module: &LoadedModule, options: PluginOptions) -> Result<Plugin, Error> {
        let inner = &module.inner;
        let router = options
            .route_table
            .as_ref()
            .map(crate::router::compile)
            .transpose()?;
        let (fail_open, host_limits) = (options.fail_open, options.limits);
        let state = host_state(options, router);
        let mut store = Store::new(&inner.engine, state);
        store.limiter(|s| &mut s.limits);
        store
            .set_fuel(host_limits.fuel_per_call)
            .map_err(|e| Error::Instantiate(e.to_string()))?;
        let instance = inner
            .pre
            .instantiate(&mut store)
            .map_err(|e| Error::Instantiate(format!("{e:#}")))?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or(Error::MissingMemory)?;
        let malloc = match export::<i32, i32>(&instance, &mut store, "malloc")? {
            Some(f) => f,
            None => export::<i32, i32>(&instance, &mut store, "proxy_on_memory_allocate")?
                .ok_or(Error::MissingAllocator)?,
        };
        store.data_mut().memory = Some(memory);
        store.data_mut().malloc = Some(malloc);
        let s = &mut store;
        let exports = Exports {
            on_context_create: export(&instance, s, "proxy_on_context_create")?,
            on_vm_start: export(&instance, s, "proxy_on_vm_start")?,
            on_configure: export(&instance, s, "proxy_on_configure")?,
            on_tick: export(&instance, s, "proxy_on_tick")?,
            on_request_headers: export(&instance, s, "proxy_on_request_headers")?,
            on_request_body: export(&instance, s, "proxy_on_request_body")?,
            on_request_trailers: export(&instance, s, "proxy_on_request_trailers")?,
            on_response_headers: export(&instance, s, "proxy_on_response_headers")?,
            on_response_body: export(&instance, s, "proxy_on_response_body")?,
            on_response_trailers: export(&instance, s, "proxy_on_response_trailers")?,
            on_log: export(&instance, s, "proxy_on_log")?,
            on_done: export(&instance, s, "proxy_on_done")?,
            on_delete: export(&instance, s, "proxy_on_delete")?,
            on_http_call_response: export(&instance, s, "proxy_on_http_call_response")?,
            on_queue_ready: export(&instance, s, "proxy_on_queue_ready")?,
        };
        let initialize: Option<TypedFunc<(), ()>> = export(&instance, s, "_initialize")?;
        let main: Option<TypedFunc<(i32, i32), i32>> = export(&instance, s, "main")?;
        let main_void: Option<TypedFunc<(), i32>> = export(&instance, s, "__main_void")?;
        let start: Option<TypedFunc<(), ()>> = export(&instance, s, "_start")?;

        let mut plugin = Plugin {
            store,
            exports: Arc::new(exports),
            fail_open,
            failure: None,
            vm_started: false,
            configured: false,
            next_context_id: ROOT_CONTEXT_ID + 1,
            next_tick: None,
            limits: host_limits,
            root_deleted: false,
            chained: false,
            fuel_spent: 0,
            fuel_total: 0,
        };
        // WASI reactor (`_initialize`, then `main` if any) or command
        // (`_start`), with host calls restricted (cpp-host `startVm`).
        if let Some(init) = initialize {
            plugin.call(ROOT_CONTEXT_ID, &init, ());
            if let Some(main) = main {
                plugin.call(ROOT_CONTEXT_ID, &main, (0, 0));
            } else if let Some(main_void) = main_void {
                plugin.call(ROOT_CONTEXT_ID, &main_void, ());
            }
        } else if let Some(start) = start {
            plugin.call(ROOT_CONTEXT_ID, &start, ());
        }
        let ex = Arc::clone(&plugin.exports);
        plugin.store.data_mut().restriction = Restriction::None;

        if let Some(f) = ex.on_context_create.as_ref() {
            plugin.call(ROOT_CONTEXT_ID, f, (ROOT_CONTEXT_ID as i32, 0));
        }
        let vm_config_len = plugin.store.data().vm_config.len() as i32;
        plugin.vm_started = match ex.on_vm_start.as_ref() {
            Some(f) => plugin
                .call(ROOT_CONTEXT_ID, f, (ROOT_CONTEXT_ID as i32, vm_config_len))
                .is_some_and(|r| r != 0),
            None => plugin.failure.is_none(),
        };
        plugin.run_after();
        if plugin.vm_started {
            plugin.configured = plugin.configure();
        }
        Ok(plugin)
    }

    fn configure(&mut self) -> bool {
        if self.failure.is_some() {
            return false;
        }
        let ex = Arc::clone(&self.exports);
        let Some(f) = ex.on_configure.as_ref() else {
            return true;
        };
        let len = self.store.data().plugin_config.len() as i32;
        self.store.data_mut().configuring = true;
        let result = self.call(ROOT_CONTEXT_ID, f, (ROOT_CONTEXT_ID as i32, len));
        self.store.data_mut().configuring = false;
        self.run_after();
        result.is_some_and(|r| r != 0)
    }

    /// Calls the guest as context `ctx`, with fuel refilled unless the call
    /// is chained from an event (then it spends what the event left).
    /// `None` when the VM has failed (now or before).
    pub(crate) fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        ctx: u32,
        f: &TypedFunc<P, R>,
        args: P,
    ) -> Option<R> {
        if self.failure.is_some() {
            return None;
        }
        let saved = {
            let st = self.store.data_mut();
            let saved = (st.current_context, st.effective_context);
            st.current_context = ctx;
            st.effective_context = 0;
            st.stop_next_iteration = false;
            saved
        };
        if !self.chained
            && let Err(e) = self.store.set_fuel(self.limits.fuel_per_call)
        {
            self.failure = Some(format!("cannot set fuel: {e}"));
            return None;
        }
        let result = f.call(&mut self.store, args);
        let left = self.store.get_fuel().unwrap_or(0);
        let before = if self.chained { self.fuel_spent } else { 0 };
        self.fuel_spent = self.limits.fuel_per_call.saturating_sub(left);
        self.fuel_total = self
            .fuel_total
            .saturating_add(self.fuel_spent.saturating_sub(before));
        let st = self.store.data_mut();
        st.current_context = saved.0;
        st.effective_context = saved.1;
        match result {
            Ok(r) => Some(r),
            Err(e) => {
                self.failure = Some(format!("{e:?}"));
                None
            }
        }
    }

    /// The VM started (`proxy_on_vm_start` returned true).
    pub fn vm_started(&self) -> bool {
        self.vm_started
    }

    /// The last configure (`proxy_on_configure`) returned true.
    pub fn configured(&self) -> bool {
        self.configured
    }

    /// Calls `proxy_on_configure` again with a new plugin configuration, as
    /// Envoy does on a config update. Returns what the guest returned
    /// (false when the VM has failed).
    pub fn reconfigure(&mut self, plugin_config: impl Into<Vec<u8>>) -> bool {
        self.store.data_mut().plugin_config = plugin_config.into();
        self.configured = self.configure();
        self.configured
    }

    /// Fuel (wasm instructions, roughly) the last event spent: the last
    /// callback the host delivered plus what it chained (continues, local
    /// replies, queue notifications). At most [`Limits::fuel_per_call`].
    pub fn fuel_spent(&self) -> u64 {
        self.fuel_spent
    }

    /// Fuel every guest call spent since the plugin started (a stable
    /// measure of guest work: the difference across a request is what all
    /// its callbacks cost, whatever the machine's speed).
    pub fn fuel_total(&self) -> u64 {
        self.fuel_total
    }

    /// A trap failed the VM.
    pub fn is_failed(&self) -> bool {
        self.failure.is_some()
    }

    /// Why the VM failed: the trap with its wasm backtrace.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Every log line the guest wrote, in order.
    pub fn logs(&self) -> &[LogEntry] {
        &self.store.data().logs
    }

    /// Log lines dropped because the plugin already kept a million lines
    /// or [`Limits::max_log_bytes`].
    pub fn dropped_logs(&self) -> u64 {
        self.store.data().dropped_logs
    }

    /// Takes the log lines written so far.
    pub fn take_logs(&mut self) -> Vec<LogEntry> {
        self.store.data_mut().log_bytes = 0;
        std::mem::take(&mut self.store.data_mut().logs)
    }

    /// Bytes of the log lines kept now (at most [`Limits::max_log_bytes`]).
    pub fn log_bytes(&self) -> usize {
        self.store.data().log_bytes
    }

    /// Every metric the guest defined, in definition order.
    pub fn metrics(&self) -> &[Metric] {
        &self.store.data().metrics.entries
    }

    /// A metric by its exact name.
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics().iter().find(|m| m.name == name)
    }

    /// The host calls counted since the start or the last
    /// [`Plugin::take_host_calls`] (empty unless
    /// [`PluginOptions::count_host_calls`]).
    pub fn host_calls(&self) -> crate::calls::HostCalls {
        self.store.data().host_calls.clone().unwrap_or_default()
    }

    /// Takes the host calls counted so far and counts from zero again
    /// (counting starts now if it was off).
    pub fn take_host_calls(&mut self) -> crate::calls::HostCalls {
        self.store
            .data_mut()
            .host_calls
            .replace(crate::calls::HostCalls::default())
            .unwrap_or_default()
    }

    /// The size of the guest's linear memory, in bytes (wasm memory only
    /// grows: this is its high-water mark).
    pub fn memory_bytes(&self) -> usize {
        self.store
            .data()
            .memory
            .map_or(0, |m| m.data_size(&self.store))
    }

    /// The properties the guest reads; tests may change them between streams.
    pub fn properties_mut(&mut self) -> &mut Properties {
        &mut self.store.data_mut().properties
    }

    /// The shared data and queues of this plugin.
    pub fn shared_store(&self) -> &SharedStore {
        &self.store.data().shared
    }

    /// A new HTTP stream (a new context id; the guest hears of it at the
    /// first request headers, as in Envoy).
    pub fn new_stream(&mut self) -> HttpStream<'_> {
        let id = self.next_context_id;
        self.next_context_id += 1;
        self.store
            .data_mut()
            .streams
            .insert(id, StreamState::default());
        HttpStream::new(self, id)
    }

    /// An existing stream by its context id.
    pub fn stream(&mut self, id: u32) -> Option<HttpStream<'_>> {
        if self.store.data().streams.contains_key(&id) {
            Some(HttpStream::new(self, id))
        } else {
            None
        }
    }

    /// Runs what the guest asked for during the last VM call: continues,
    /// local replies, queue notifications.
    pub(crate) fn run_after(&mut self) {
        // Each action can call the guest again, which can queue more: those
        // calls spend the fuel the event left (so a guest re-queueing from
        // `on_queue_ready` runs out of it), and the bound on rounds keeps a
        // guest that chains without spending fuel from hanging the host.
        let outer = std::mem::replace(&mut self.chained, true);
        for _ in 0..10_000 {
            let actions = std::mem::take(&mut self.store.data_mut().after);
            if actions.is_empty() {
                break;
            }
            for action in actions {
                self.apply(action);
            }
        }
        self.chained = outer;
    }
}
