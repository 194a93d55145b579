//! meshpolicy's proxy-wasm filter. See docs/ARCHITECTURE.md.

mod pairs;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Info);
}}
