//! meshpolicy's filter `.wasm` on the host: the decisions Envoy would act on.
//!
//! Needs `target/meshpolicy.wasm` (`make build`), or `$MESHPOLICY_WASM`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod filter {
    pub mod config;
    pub mod cost;
    pub mod differential;
    pub mod differential_generated;
    pub mod envoy_syntax;
    pub mod header_bytes;
    pub mod limits;
    pub mod local_responses;
    pub mod routing;
    pub mod support;
    pub mod worst_case;
}
