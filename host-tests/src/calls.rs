//! Host-call counts: how many times the guest called each host function
//! (ABI and WASI) and which properties it read. Tests assert them per
//! request; a count is exact on any machine, unlike a time.
//!
//! Counting is off unless [`PluginOptions::count_host_calls`]
//! (crate::PluginOptions) asks for it, so benchmarks pay nothing for it.

use std::collections::BTreeMap;

use wasmtime::Caller;

use crate::state::HostState;

/// The host calls a plugin's guest made since counting started (or since
/// [`Plugin::take_host_calls`](crate::Plugin::take_host_calls)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostCalls {
    by_name: BTreeMap<&'static str, u64>,
    /// Paths read with `proxy_get_property`, segments joined by `.`, in order.
    properties: Vec<String>,
}

impl HostCalls {
    /// Every host call, ABI and WASI.
    pub fn total(&self) -> u64 {
        self.by_name.values().sum()
    }

    /// Calls of one host function (`proxy_get_property`, `random_get`, ...).
    pub fn count(&self, name: &str) -> u64 {
        self.by_name.get(name).copied().unwrap_or(0)
    }

    /// Calls per host function, by name.
    pub fn by_name(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.by_name.iter().map(|(k, v)| (*k, *v))
    }

    /// The property paths read, in order (`node.metadata`, `upstream_peer`, ...).
    pub fn properties(&self) -> &[String] {
        &self.properties
    }

    /// How many times `path` (segments joined by `.`) was read.
    pub fn property_reads(&self, path: &str) -> usize {
        self.properties.iter().filter(|p| *p == path).count()
    }

    fn record(&mut self, name: &'static str) {
        *self.by_name.entry(name).or_insert(0) += 1;
    }
}

impl std::fmt::Display for HostCalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} host calls:", self.total())?;
        for (name, n) in &self.by_name {
            write!(f, " {name}={n}")?;
        }
        write!(f, "; properties read: {}", self.properties.join(", "))
    }
}

/// Counts one call of `name` when the plugin counts.
pub(crate) fn record(caller: &mut Caller<'_, HostState>, name: &'static str) {
    if let Some(calls) = caller.data_mut().host_calls.as_mut() {
        calls.record(name);
    }
}

/// Notes a property read (its NUL-separated path) when the plugin counts.
pub(crate) fn property(state: &mut HostState, path: &[u8]) {
    if let Some(calls) = state.host_calls.as_mut() {
        let trimmed = path.strip_suffix(&[0]).unwrap_or(path);
        let dotted: Vec<u8> = trimmed
            .iter()
            .map(|b| if *b == 0 { b'.' } else { *b })
            .collect();
        calls
            .properties
            .push(String::from_utf8_lossy(&dotted).into_owned());
    }
}
