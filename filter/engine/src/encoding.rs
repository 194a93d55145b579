//! Envoy's encodings of what the filter reads through the proxy-wasm ABI,
//! decoded bounds-checked and without panics: serialized maps (header maps
//! and map-valued properties) and the protobuf `Struct` of peer metadata.
//! Pure byte decoding, so the filter, the CLI and tests share it.

pub mod pairs;
pub mod protobuf;
