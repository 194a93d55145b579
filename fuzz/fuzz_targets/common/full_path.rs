//! The configure fast path (a clean text read straight into the model,
//! `filter/engine/src/load.rs`) must answer exactly what the full path
//! (`Value`, byte count, schema walk, typed read) answers for the same text.

use meshpolicy_engine::limits::MAX_POLICY_BYTES;

/// Panics when `from_json` (which takes the fast path when it can) and
/// `from_value` over the parsed text (always the full path) disagree on the
/// model or on any error.
pub fn assert_same_as_full_path(text: &str) {
    if text.len() > MAX_POLICY_BYTES {
        return; // `from_json` refuses the text's length before any path
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return; // a syntax error: no full path to compare with
    };
    let fast = meshpolicy_engine::from_json(text);
    let full = meshpolicy_engine::from_value(value);
    assert_eq!(fast, full, "fast and full path disagree on {text}");
}
