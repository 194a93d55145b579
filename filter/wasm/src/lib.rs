//! meshpolicy's proxy-wasm filter. See docs/ARCHITECTURE.md.
