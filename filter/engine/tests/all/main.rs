//! The engine's integration tests: one binary, a module per topic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod actions;
mod allocations;
mod envoy_syntax;
mod examples;
mod hosts;
mod matching;
mod properties;
mod router;
mod split;
mod support;
mod validation;
