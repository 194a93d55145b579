//! The host's test guests (`host-tests/guests/*`, built by `make guests`)
//! run on the host, and the tests assert the answers Envoy would give.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "guests/abi_status.rs"]
mod abi_status;
#[path = "guests/header_bytes.rs"]
mod header_bytes;
#[path = "guests/hostile.rs"]
mod hostile;
#[path = "guests/hostile_wat.rs"]
mod hostile_wat;
#[path = "guests/lifecycle.rs"]
mod lifecycle;
#[path = "guests/loading.rs"]
mod loading;
#[path = "guests/router.rs"]
mod router;
#[path = "guests/streams.rs"]
mod streams;
#[path = "guests/support.rs"]
mod support;
#[path = "guests/wasi.rs"]
mod wasi;
