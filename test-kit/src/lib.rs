//! meshpolicy's test kit: what every test crate needs once, in one place.
//!
//! A dev-dependency only (`publish = false`). Tests, benchmarks and fuzz
//! harnesses use it instead of their own copies:
//!
//! * [`filter_wasm_path`] / [`filter_wasm`]: the built filter
//!   (`target/meshpolicy.wasm` or `$MESHPOLICY_WASM`); missing, the test
//!   fails naming `make build`;
//! * [`filter_module`]: that filter compiled once per test process, on one
//!   shared [`host`]; [`configured`]: a plugin that accepted its
//!   configuration;
//! * [`guest`] / [`guest_path`] / [`guest_bytes`]: the host's test guests
//!   (`make guests`);
//! * [`article_policy`]: the article's policy, read from
//!   `manifests/policy/reviews.policy.yaml`; [`policy`] (a document around
//!   a `spec`), [`rules_then_catch_all`], [`bearer_rules`] and
//!   [`bearer_token`] (the worst-case probe);
//! * [`FakeAttributes`]: CEL attributes from maps (telemetry, CEL);
//! * [`Req`]: a request builder for the engine; [`article_properties`]:
//!   the article's client sidecar and upstream peer for the host;
//! * [`bench`]: what the host's benchmarks share.
//!
//! Its functions panic with a message that says what to run: failing the
//! test clearly is their whole job.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

mod attributes;
pub mod bench;
mod module;
mod paths;
mod policy;
mod request;
mod sidecar;

pub use attributes::FakeAttributes;
pub use module::{configured, filter_module, guest, host};
pub use paths::{filter_wasm, filter_wasm_path, guest_bytes, guest_path, root, target_dir};
pub use policy::{
    ARTICLE_POLICY, article_policy, article_policy_yaml, bearer_rules, bearer_token,
    every_field_policy, policy, rules_then_catch_all,
};
pub use request::Req;
pub use sidecar::{article_properties, productpage_node, reviews_v2_peer};

#[cfg(test)]
mod tests;
