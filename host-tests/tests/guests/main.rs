//! The host's test guests (`host-tests/guests/*`, built by `make guests`)
//! run on the host, and the tests assert the answers Envoy would give.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod abi_status;
mod header_bytes;
mod hostile;
mod hostile_wat;
mod lifecycle;
mod loading;
mod router;
mod streams;
mod support;
mod wasi;
