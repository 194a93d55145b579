//! One host per test process, the filter compiled once on it, and each
//! guest compiled once.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use host_tests::{Host, LoadedModule, Plugin, PluginOptions};

use crate::paths::{filter_wasm_path, guest_bytes};

/// The host every module of this process is compiled on.
pub fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| Host::new().expect("the host starts"))
}

/// The built filter, compiled once per test process.
pub fn filter_module() -> &'static LoadedModule {
    static MODULE: OnceLock<LoadedModule> = OnceLock::new();
    MODULE.get_or_init(|| {
        let path = filter_wasm_path();
        host()
            .load_file(&path)
            .unwrap_or_else(|e| panic!("cannot load the filter `{}`: {e}", path.display()))
    })
}

/// A guest of `host-tests/guests` (`make guests`), compiled once per test
/// process.
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

/// A plugin of `module` started with `options` that accepted its
/// configuration; fails the test with the plugin's logs otherwise.
#[track_caller]
pub fn configured(module: &LoadedModule, options: PluginOptions) -> Plugin {
    let plugin = Plugin::start(module, options).expect("the plugin starts");
    assert!(
        plugin.configured(),
        "configuration refused: {:?}",
        plugin.logs()
    );
    plugin
}
