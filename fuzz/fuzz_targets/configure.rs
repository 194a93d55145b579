//! Any bytes as the plugin configuration: the engine returns a policy or
//! errors, never panics (the filter calls this in `on_configure`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(errors) = meshpolicy_engine::Policy::from_json(text) {
            assert!(!errors.errors.is_empty(), "an error result lists its errors");
        }
    }
});
