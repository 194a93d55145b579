//! The filter as an OCI image: `policy-cli package` and `policy-cli push`,
//! checked with an independent client (skopeo) and a real registry.
//! One binary, a module per topic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod package;
mod push;
mod support;
