//! Shared by every guest test: the built guest modules (the test kit's,
//! compiled once per test binary) and a reader for `guest-probe`'s
//! `probe <name> <status> <value>` log lines.

use host_tests::{LogEntry, MetricValue, Plugin, WasmResult};

pub use test_kit::{guest, guest_bytes, host};

/// Asserts that the guest defined the counter `name` and that it is `value`.
#[track_caller]
pub fn assert_counter(plugin: &Plugin, name: &str, value: u64) {
    let metric = plugin
        .metric(name)
        .unwrap_or_else(|| panic!("no counter `{name}` in {:?}", plugin.metrics()));
    assert_eq!(metric.value, MetricValue::Counter(value), "{name}");
}

/// One `probe <name> <status> <value>` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub name: String,
    pub status: u32,
    pub value: String,
}

/// Every probe the guest logged, in order.
#[derive(Debug, Clone)]
pub struct Probes(pub Vec<Probe>);

impl Probes {
    pub fn from_logs<'a>(logs: impl IntoIterator<Item = &'a LogEntry>) -> Probes {
        Probes(
            logs.into_iter()
                .filter_map(|entry| {
                    let rest = entry.message.strip_prefix("probe ")?;
                    let mut parts = rest.splitn(3, ' ');
                    let name = parts.next()?.to_string();
                    let status = parts.next()?.parse().ok()?;
                    let value = parts.next().unwrap_or("").to_string();
                    Some(Probe {
                        name,
                        status,
                        value,
                    })
                })
                .collect(),
        )
    }

    /// The last probe of that name; fails listing what the guest did log.
    pub fn get(&self, name: &str) -> &Probe {
        self.0
            .iter()
            .rev()
            .find(|p| p.name == name)
            .unwrap_or_else(|| {
                let seen: Vec<&str> = self.0.iter().map(|p| p.name.as_str()).collect();
                panic!("the guest logged no probe `{name}`; it logged {seen:?}")
            })
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|p| p.name == name)
    }

    /// The status of the last probe of that name, as a `WasmResult`.
    pub fn status(&self, name: &str) -> WasmResult {
        let probe = self.get(name);
        WasmResult::from_code(probe.status)
            .unwrap_or_else(|| panic!("probe `{name}`: {} is not a status", probe.status))
    }

    pub fn value(&self, name: &str) -> &str {
        &self.get(name).value
    }

    /// Asserts a probe's status and value.
    #[track_caller]
    pub fn expect(&self, name: &str, status: WasmResult, value: &str) {
        let probe = self.get(name);
        assert_eq!(
            (WasmResult::from_code(probe.status), probe.value.as_str()),
            (Some(status), value),
            "probe `{name}`"
        );
    }

    /// The names of the probes, in order (for lifecycle assertions).
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|p| p.name.as_str()).collect()
    }
}
