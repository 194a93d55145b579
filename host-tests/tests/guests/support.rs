//! Shared by every guest test: the built guest modules (compiled once per
//! test binary) and a reader for `guest-probe`'s `probe <name> <status>
//! <value>` log lines.

use host_tests::{Host, LoadedModule, LogEntry, WasmResult};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// The workspace's target directory (`$CARGO_TARGET_DIR` when set).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target"),
    }
}

/// Where `make guests` puts a guest: `guest-<name>` becomes
/// `guest_<name>.wasm`; `nowasi` is the one built for `wasm32-unknown-unknown`.
pub fn guest_path(name: &str) -> PathBuf {
    let triple = if name == "nowasi" {
        "wasm32-unknown-unknown"
    } else {
        "wasm32-wasip1"
    };
    target_dir()
        .join(triple)
        .join("release")
        .join(format!("guest_{}.wasm", name.replace('-', "_")))
}

pub fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| Host::new().expect("the host starts"))
}

/// A guest's bytes; fails the test with what to run when it is not built.
pub fn guest_bytes(name: &str) -> Vec<u8> {
    let path = guest_path(name);
    match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => panic!(
            "guest `{name}` is not built at `{}` ({e}): run `make guests`",
            path.display()
        ),
    }
}

/// A guest, compiled once per test binary.
pub fn guest(name: &str) -> LoadedModule {
    static MODULES: OnceLock<Mutex<HashMap<String, LoadedModule>>> = OnceLock::new();
    let modules = MODULES.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(module) = modules.lock().unwrap().get(name) {
        return module.clone();
    }
    let module = host()
        .load_bytes(&guest_bytes(name))
        .unwrap_or_else(|e| panic!("guest `{name}` does not load: {e}"));
    modules
        .lock()
        .unwrap()
        .insert(name.to_string(), module.clone());
    module
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
