//! An Envoy-faithful proxy-wasm host on wasmtime. See docs/ARCHITECTURE.md.
