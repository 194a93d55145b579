//! meshpolicy's filter `.wasm` on the host: the decisions Envoy would act on.
//!
//! Needs `target/meshpolicy.wasm` (`make build`), or `$MESHPOLICY_WASM`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod config;
mod cost;
mod differential;
mod differential_generated;
mod envoy_syntax;
mod header_bytes;
mod limits;
mod local_responses;
mod routing;
mod support;
mod worst_case;
