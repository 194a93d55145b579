//! Any bytes as the plugin configuration: the engine returns a policy or
//! errors, never panics (the filter calls this in `on_configure`), and its
//! fast path for a clean text answers what the full path answers.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common/full_path.rs"]
mod full_path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        full_path::assert_same_as_full_path(text);
        if let Err(errors) = meshpolicy_engine::Policy::from_json(text) {
            assert!(!errors.errors.is_empty(), "an error result lists its errors");
        }
    }
});
